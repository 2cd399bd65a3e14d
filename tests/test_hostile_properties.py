"""Property tests of the hostile-input contract (the generalisation of tests/test_hostile_inputs.py).

For ANY config and optimizer, ``build_lr_scheduler`` either raises exactly ``ConfigError`` or
returns a scheduler that, stepped on, writes only finite lrs >= 0 into ``param_groups`` and
raises nothing but ``ConfigError``; ``load_state_dict`` of a corrupted state raises only
``ConfigError``, or loads a state that continues exactly as the original. One property per
class of hostile input, each over every registered name (``list(schedreg.SCHEDULERS)``):

1. hostile values (NaN, +-inf, -1, 0, 2**70, 10**400, subnormals, bools, strings, None, nested
   lists, one-element tensors) in ``solver.args`` (and in the solver keys a name reads);
2. hostile base lrs: groups whose lr is NaN, infinite, negative, 0 or huge, at build time or
   added mid-run;
3. corrupted checkpoints: a real state with a key deleted, a value replaced by NaN, None, a
   string, a negative number, a list or a dict, a list of the wrong length, or another
   scheduler's state swapped in; the oracle is the original scheduler stepped on (where the
   damage happens to leave a state another run could have saved -- a count at another step, a
   rescaled base lr -- finite lrs >= 0 suffice);
4. durations as unit strings (``"90ep"``, ``"10%"``, ``"500it"``), floats and junk, under every
   ``interval`` and ``iters_per_epoch``.

The oracles are written here (a finite, non-negative lr; the original scheduler's own next lrs);
argument names come from torch's own signatures, or are written here for the other schedules,
never read from schedreg. A bug found is pinned at the end by its minimal ``@example``
(``pytest.mark.xfail(strict=True)`` until fixed, a regression test after) and, while open, left
out of its property with ``assume`` so that the property keeps running on everything else.

Example counts come from the profiles in tests/conftest.py: ``ci`` (the default: 3 per test and
name, derandomized; 351 generated in all, about 10 s) or ``SCHEDREG_HYPOTHESIS_PROFILE=nightly``
(100 per test and name: 11,700 generated in all, about 80 s).
"""

from __future__ import annotations

import copy
import inspect
import io
import math
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import torch
from hypothesis import Phase, example, given, note, settings
from hypothesis import strategies as st

from schedreg import SCHEDULERS, ConfigError, build_lr_scheduler

try:  # `python -m pytest` from the repo root
    from tests import hostile_lambdas, lambdas
    from tests.test_resume import CASES
    from tests.watchdog import HANG_S, watchdog
except ModuleNotFoundError:  # plain `pytest`: tests/ itself is on sys.path
    import hostile_lambdas  # type: ignore[no-redef]
    import lambdas  # type: ignore[no-redef]
    from test_resume import CASES  # type: ignore[no-redef]
    from watchdog import HANG_S, watchdog  # type: ignore[no-redef]

pytestmark = [
    # a per-epoch schedule stepped past its end, an outside write, a resume warning: expected here
    pytest.mark.filterwarnings("ignore::UserWarning"),
    pytest.mark.filterwarnings("ignore::RuntimeWarning"),
    # libcst, imported by hypothesis to report a failure (an xfailed one included)
    pytest.mark.filterwarnings("ignore:mypy_extensions.TypedDict is deprecated:DeprecationWarning"),
]

NAMES = sorted(SCHEDULERS)
"""Every registered scheduler, read from the registry: a new registration is tested by itself."""
STEPS = 50
"""Scheduler steps per run."""
NAN, INF = math.nan, math.inf
MAX_FLOAT = sys.float_info.max


# --- argument names, from torch's own signatures and the README ---------------------------

TIMM_COMMON = [
    *("t_initial", "lr_min", "cycle_mul", "cycle_decay", "cycle_limit", "warmup_t", "warmup_lr_init"),
    *("warmup_prefix", "t_in_epochs", "noise_range_t", "noise_pct", "noise_std", "noise_seed"),
]
TIMM_STEP = [
    *("decay_t", "decay_rate", "warmup_t", "warmup_lr_init", "warmup_prefix", "t_in_epochs"),
    *("noise_range_t", "noise_pct", "noise_std", "noise_seed"),
]
NON_TORCH_ARGS: dict[str, list[str]] = {
    "Interpolate": ["points", "shape"],
    "CosineLRScheduler": [*TIMM_COMMON, "k_decay"],
    "TanhLRScheduler": [*TIMM_COMMON, "lb", "ub"],
    "PolyLRScheduler": [*TIMM_COMMON, "power", "k_decay"],
    "StepLRScheduler": TIMM_STEP,
    "MultiStepLRScheduler": TIMM_STEP,
    "PlateauLRScheduler": [
        *("decay_rate", "patience_t", "threshold", "cooldown_t", "warmup_t", "warmup_lr_init", "lr_min"),
        *("mode", "noise_range_t", "noise_pct", "noise_std", "noise_seed", "noise_type"),
    ],
    "cosine": ["num_cycles"],
    "cosine_with_restarts": ["num_cycles"],
    "polynomial": ["lr_end", "power"],
    "inverse_sqrt": ["timescale"],
    "cosine_with_min_lr": ["num_cycles", "min_lr", "min_lr_rate"],
    "warmup_stable_decay": [
        *("num_decay_steps", "num_stable_steps", "warmup_type", "decay_type", "min_lr_ratio", "num_cycles"),
    ],
}
"""The README's argument names of the schedules that are not torch classes."""

TORCH_ALIASES = {"reduce_lr_on_plateau": "ReduceLROnPlateau"}


def torch_class(name: str) -> type | None:
    name = TORCH_ALIASES.get(name, name)
    for module in (torch.optim.lr_scheduler, torch.optim.swa_utils):
        cls = getattr(module, name, None)
        if inspect.isclass(cls):
            return cls
    return None


def arg_names(name: str) -> list[str]:
    """A name's ``args``: torch's constructor parameters, the README's names, or its sample's."""
    cls = torch_class(name)
    if cls is not None:
        return [p for p in inspect.signature(cls).parameters if p not in ("optimizer", "verbose")]
    return NON_TORCH_ARGS.get(name, sorted(CASES.get(name, {}).get("args", {})))


SOLVER_NUMBERS = [
    *("max_iter", "steps", "gamma", "base_lr", "base_lr_end", "num_decays", "warmup_iters"),
    *("warmup_factor", "poly_lr_power", "poly_lr_constant_ending", "iters_per_epoch"),
]
"""Solver keys that hold numbers; what detectron2's names read instead of ``args``."""


def sample(name: str) -> dict[str, Any]:
    """A valid solver node for ``name``: its sample in test_resume.CASES (every name has one)."""
    return {"lr_scheduler_name": name, **copy.deepcopy(CASES.get(name, {}))}


# --- hostile values --------------------------------------------------------------------

SCALARS = st.sampled_from(
    [
        *(NAN, INF, -INF, -1, -1.0, -0.5, 0, 0.0, -0.0, 2**70, -(2**70), 10**400, 1e308, MAX_FLOAT),
        *(5e-324, -5e-324, 1e-310, 1e-300, True, False, None),
        *("", "abc", "1", "0.5", "nan", "inf", "-1", "1e400", "10ep", "10%", "5it"),
        *(0.5, 0.999, 1, 1.0, 2, 3, 10, 100),  # plausible, so that another key's check is reached
    ]
)
TENSORS: list[Callable[[], torch.Tensor]] = [
    lambda: torch.tensor(NAN),
    lambda: torch.tensor(INF),
    lambda: torch.tensor(-1.0),
    lambda: torch.tensor(0.0),
    lambda: torch.tensor(0.5),
    lambda: torch.tensor([0.5]),
    lambda: torch.tensor([[3]]),
    lambda: torch.tensor(5),
    lambda: torch.tensor(2**62),
    lambda: torch.tensor(True),
    lambda: torch.tensor([0.5, 0.1]),
    lambda: torch.tensor([]),
    lambda: torch.tensor(0.5, dtype=torch.float16),
    lambda: torch.tensor(1e-8, dtype=torch.float64),
]
TENSOR = st.sampled_from(TENSORS).map(lambda make: make())
"""A fresh tensor each time (a scheduler may keep, or change, what it is given)."""
ATOM = st.one_of(
    SCALARS,
    SCALARS,
    TENSOR,
    st.floats(),
    st.integers(-(2**80), 2**80),
    st.integers(-3, 200),
    st.text(max_size=3),
)
NESTED = st.one_of(
    st.sampled_from([[], [[]], [[1]], [1, [2]], [[NAN]], {}, {"a": 1}, [{"a": 1}], [None]]).map(
        copy.deepcopy
    ),
    st.lists(ATOM, max_size=4),
    st.lists(st.lists(ATOM, min_size=1, max_size=3), max_size=3),  # [[step, value], ...] for points
)
HOSTILE = st.one_of(ATOM, ATOM, NESTED)
"""A value of any wrong kind, for any key."""

LAMBDA_PATHS = [
    *(f"{lambdas.__name__}.{fn}" for fn in ("halve_every_10", "shrink")),
    *(f"{hostile_lambdas.__name__}.{fn}" for fn in ("returns_string", "returns_none", "returns_nan")),
    *(f"{hostile_lambdas.__name__}.{fn}" for fn in ("returns_negative", "string_after_start", "Schedule")),
    f"{hostile_lambdas.__name__}.halving",
]
"""``lr_lambda`` paths whose functions misbehave (none that ends the process)."""

METRICS = st.lists(
    st.one_of(st.floats(-10.0, 10.0), st.sampled_from([NAN, INF, -INF, 0.0])), min_size=1, max_size=8
).map(tuple)


# --- running ---------------------------------------------------------------------------


def make_optimizer(lrs: tuple[Any, ...] = (0.1, 0.02), named: bool = False) -> torch.optim.Optimizer:
    """SGD over one group per lr; each lr is written after construction (SGD refuses negatives)."""
    groups = [
        {"params": [torch.nn.Parameter(torch.zeros(2))], **({"name": f"g{i}"} if named else {})}
        for i in range(len(lrs))
    ]
    optimizer = torch.optim.SGD(groups, lr=0.1, momentum=0.9)
    for group, lr in zip(optimizer.param_groups, lrs, strict=True):
        group["lr"] = lr
    return optimizer


def as_float(lr: Any) -> float:
    """The value of an lr as written into a group (a number or a one-element Tensor); NaN if none."""
    if isinstance(lr, torch.Tensor):
        return float(lr.item()) if lr.numel() == 1 else NAN
    if isinstance(lr, (int, float)):
        try:
            return float(lr)
        except OverflowError:  # an int past float's range
            return INF
    return NAN


def lrs_of(optimizer: torch.optim.Optimizer) -> tuple[float, ...]:
    return tuple(as_float(group["lr"]) for group in optimizer.param_groups)


def unsafe(lrs: tuple[float, ...]) -> list[float]:
    """The lrs that are NaN, infinite or negative."""
    return [lr for lr in lrs if not (math.isfinite(lr) and lr >= 0.0)]


def step(scheduler: Any, metric: float) -> None:
    """One ``scheduler.step()``, with the metric if it takes one (a plateau schedule)."""
    if getattr(scheduler, "takes_metric", False):
        scheduler.step(metric)
    else:
        scheduler.step()


def node_of(solver: dict[str, Any]) -> dict[str, Any]:
    return {"solver": solver}


def run_safely(
    solver: dict[str, Any],
    optimizer: torch.optim.Optimizer,
    metrics: tuple[float, ...] = (1.0,),
    steps: int = STEPS,
    add_group_at: int | None = None,
    added_lr: Any = None,
    hang_s: int = HANG_S,
) -> str:
    """Build ``solver`` over ``optimizer`` and step it ``steps`` times, checking every lr after
    each step (a group added at step ``add_group_at`` with ``added_lr`` too). Only a
    ConfigError is caught: any other exception fails the test, with its traceback. Returns
    what happened, for ``note``."""
    with watchdog(hang_s):
        try:
            scheduler = build_lr_scheduler(node_of(solver), optimizer)
        except ConfigError as exc:
            return f"refused at build: {exc}"
        optimizer.step()  # torch checks it before the scheduler's first step (no gradients: a no-op)
        for i in range(steps):
            if i == add_group_at:
                optimizer.add_param_group({"params": [torch.nn.Parameter(torch.zeros(2))], "lr": 0.1})
                optimizer.param_groups[-1]["lr"] = added_lr
            try:
                step(scheduler, metrics[i % len(metrics)])
            except ConfigError as exc:
                return f"refused at step {i + 1}: {exc}"
            lrs = lrs_of(optimizer)
            assert not unsafe(lrs), f"after step {i + 1}, lrs {lrs}: every lr must be finite and >= 0"
    return f"ran {steps} steps safely"


ONLY_EXAMPLES = settings(phases=[Phase.explicit], database=None)
"""For the tests that pin a bug's minimal example: that example, nothing generated."""
UNUSED = st.none()
"""The strategy of an argument of such a test: never drawn, only the example runs."""


def found(value: Any, test: Callable[[Any], bool]) -> bool:
    """Whether ``value``, or anything nested in its lists and dicts, passes ``test``."""
    if test(value):
        return True
    if isinstance(value, dict):
        return any(found(v, test) for v in value.values())
    return isinstance(value, list) and any(found(v, test) for v in value)


# --- 1. hostile values in solver.args ----------------------------------------------------


@st.composite
def hostile_args_nodes(draw: Any, name: str) -> dict[str, Any]:
    """The name's valid sample with 1 to 3 of its arguments (or of the solver's numeric keys,
    for a name that reads no ``args``) replaced by hostile values."""
    node = sample(name)
    if draw(st.integers(0, 4)) == 0:  # the args the solver keys fill in (T_max from max_iter, ...)
        node.pop("args", None)
    names = arg_names(name)
    for _ in range(draw(st.integers(1, 3))):
        value = draw(HOSTILE)
        if names and draw(st.integers(0, 3)) > 0:
            key = draw(st.sampled_from(names))
            if key in ("lr_lambda", "scale_fn") and draw(st.booleans()):
                value = draw(st.sampled_from(LAMBDA_PATHS))
            node.setdefault("args", {})[key] = value
        else:
            node[draw(st.sampled_from(SOLVER_NUMBERS))] = value
    children = node.get("args", {}).get("schedulers")
    if isinstance(children, list) and children and draw(st.booleans()):  # a nested node's argument
        child = draw(st.sampled_from(range(len(children))))
        if isinstance(children[child], dict):
            child_names = arg_names(str(children[child].get("lr_scheduler_name"))) or ["gamma"]
            children[child].setdefault("args", {})[draw(st.sampled_from(child_names))] = draw(HOSTILE)
    return node


@pytest.mark.parametrize("name", NAMES)
@given(data=st.data(), metrics=METRICS)
def test_hostile_arguments_are_refused_with_config_error_or_run_with_finite_non_negative_lrs(
    name: str, data: st.DataObject, metrics: tuple[float, ...]
) -> None:
    """NaN, infinities, negatives, huge and tiny numbers, bools, strings, None, nested lists
    and tensors in ``solver.args``: a ConfigError (at build or at a step), or 50 steps of
    finite lrs >= 0 in every group; never another exception, never a hang."""
    solver = data.draw(hostile_args_nodes(name), label="solver")
    note(run_safely(solver, make_optimizer(), metrics))


# --- 2. hostile base lrs ------------------------------------------------------------------

HOSTILE_LRS = st.one_of(
    st.sampled_from(
        [
            *(NAN, INF, -INF, -0.5, -1e-300, -5e-324, -0.0, 0.0, 0, 5e-324, 1e-310),
            *(1e300, 1e308, MAX_FLOAT, 2**70, 10**400, True, 0.1, 1.0),
        ]
    ),
    st.sampled_from(
        [
            lambda: torch.tensor(NAN, dtype=torch.float64),
            lambda: torch.tensor(-0.5, dtype=torch.float64),
            lambda: torch.tensor(MAX_FLOAT, dtype=torch.float64),
            lambda: torch.tensor(0.1, dtype=torch.float64),
        ]
    ).map(lambda make: make()),
    st.floats(),
)
"""Group lrs: NaN, infinite, negative, zero, subnormal, huge (past float's range too), Tensors."""


@pytest.mark.parametrize("name", NAMES)
@given(
    lrs=st.lists(HOSTILE_LRS, min_size=1, max_size=3).map(tuple),
    add_group_at=st.one_of(st.none(), st.integers(0, 30)),
    added_lr=HOSTILE_LRS,
    metrics=METRICS,
)
def test_hostile_base_lrs_are_refused_with_config_error_or_scheduled_to_finite_non_negative_lrs(
    name: str, lrs: tuple[Any, ...], add_group_at: int | None, added_lr: Any, metrics: tuple[float, ...]
) -> None:
    """Groups whose lr is NaN, infinite, negative, 0 or huge, at build or added mid-run: a
    ConfigError, or every lr finite and >= 0 after every step (a group added mid-run from the
    step after it was added)."""
    check_base_lrs(name, lrs, add_group_at, added_lr, metrics)


def check_base_lrs(
    name: str, lrs: tuple[Any, ...], add_group_at: int | None, added_lr: Any, metrics: tuple[float, ...]
) -> None:
    solver = sample(name)
    if isinstance(solver.get("args", {}).get("lr_lambda"), list):  # one function per group
        solver["args"]["lr_lambda"] = solver["args"]["lr_lambda"][0]
    note(run_safely(solver, make_optimizer(lrs), metrics, add_group_at=add_group_at, added_lr=added_lr))


# --- 3. corrupted checkpoints ---------------------------------------------------------------

SOURCES: dict[str, dict[str, Any]] = {
    "WarmupCosineLR": {"lr_scheduler_name": "WarmupCosineLR", "max_iter": 40, "warmup_iters": 5},
    "StepLR": {"lr_scheduler_name": "StepLR", "warmup_iters": 5, "args": {"step_size": 7, "gamma": 0.5}},
    "ReduceLROnPlateau": {
        "lr_scheduler_name": "ReduceLROnPlateau",
        "args": {"factor": 0.5, "patience": 1, "cooldown": 1},
    },
    "SequentialLR": {
        "lr_scheduler_name": "SequentialLR",
        "max_iter": 40,
        "args": {
            "schedulers": [
                {"lr_scheduler_name": "LinearLR", "args": {"start_factor": 0.2, "total_iters": 10}},
                {"lr_scheduler_name": "CosineAnnealingLR"},
            ],
            "milestones": [10],
        },
    },
    "CosineLRScheduler": {
        "lr_scheduler_name": "CosineLRScheduler",
        "args": {"t_initial": 12, "warmup_t": 3, "warmup_lr_init": 1e-4, "cycle_limit": 3},
    },
    "GroupedLR": {  # a schedule per group: the README's param_groups rule with its own schedule
        "lr_scheduler_name": "WarmupMultiStepLR",
        "max_iter": 40,
        "steps": [20],
        "warmup_iters": 0,
        "param_groups": {"g1": {"params": "*", "lr_scheduler_name": "WarmupCosineLR", "warmup_iters": 3}},
    },
}
"""Schedulers whose real states are corrupted: closed form, torch's recursive, plateau and
nested, timm's, and a GroupedLR (groups named g0, g1)."""
RESUMED = 15
"""Steps compared after loading."""


def plateau_metric(i: int) -> float:
    """Improves for 6 steps, then plateaus: a plateau scheduler's lr moves within the run."""
    return 1.0 / (1 + min(i, 6))


def roundtrip(state: Any) -> Any:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


def original_run(source: str, stop: int) -> tuple[dict[str, Any], list[tuple[float, ...]]]:
    """The state of ``source`` after ``stop`` steps (saved and loaded as a checkpoint is), and
    the lrs it goes on with: right after the save, then after each of RESUMED more steps."""
    optimizer = make_optimizer(named=True)
    scheduler = build_lr_scheduler(node_of(SOURCES[source]), optimizer)
    optimizer.step()
    for i in range(stop):
        step(scheduler, plateau_metric(i))
    state = roundtrip(scheduler.state_dict())
    expected = [lrs_of(optimizer)]
    for i in range(stop, stop + RESUMED):
        step(scheduler, plateau_metric(i))
        expected.append(lrs_of(optimizer))
    return state, expected


CORRUPT = st.one_of(
    st.sampled_from(
        [
            *(NAN, INF, -INF, None, "", "abc", "5", -1, -0.5, -(2**70), 10**400, True),
            *([], [NAN], [-1.0], [1, 2, 3], ["a"], {}, {"a": 1}, {"last_epoch": 1}),
        ]
    ),
    st.sampled_from(TENSORS).map(lambda make: make()),
)
"""What a damaged checkpoint holds in place of a value."""


def paths(obj: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every key path into a nested state (dicts and lists), parents before children."""
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else ()
    for key, value in items:
        yield (*prefix, key)
        yield from paths(value, (*prefix, key))


def at(obj: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        obj = obj[key]
    return obj


COUNTS = {"last_epoch", "schedule_step", "num_bad_epochs", "cooldown_counter", "_step_count"}
LR_LISTS = {"base_lrs", "_last_lr", "unscaled_lrs"}
FLAGS = {"_is_initial", "_get_lr_called_within_step"}


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def another_valid_state(path: tuple[Any, ...], value: Any, original: Any) -> bool:
    """Whether ``value`` at ``path`` is a state a run could have saved, not a damaged one: a
    count at another step, a best metric, an lr a user rescaled (the README's ``base_lrs``).
    Loading it runs another schedule; that is no bug, so such a state is only held to the
    weaker oracle (a ConfigError, or finite lrs >= 0)."""
    names = [key for key in path if isinstance(key, str)]
    key, nested = names[-1], "_schedulers" in names
    if isinstance(path[-1], int) and key in LR_LISTS:  # one group's lr (a Tensor lr too)
        number = is_number(value) or (isinstance(value, torch.Tensor) and value.numel() == 1)
        return number and math.isfinite(as_float(value)) and as_float(value) >= 0
    if key in LR_LISTS:
        return (
            isinstance(value, list)
            and isinstance(original, list)
            and len(value) == len(original)
            and all(
                another_valid_state((*path, i), v, o)
                for i, (v, o) in enumerate(zip(value, original, strict=True))
            )
        )
    if key in COUNTS:
        return isinstance(value, int) and not isinstance(value, bool) and value >= (-1 if nested else 0)
    if key == "best":
        return is_number(value) and not math.isnan(as_float(value))
    return key in FLAGS and isinstance(value, bool)


class Damage:
    """One change to a state. Not a dataclass, so that hypothesis prints it short."""

    def __init__(self, how: str, path: tuple[Any, ...], value: Any = None) -> None:
        self.how, self.path, self.value = how, path, value

    def __repr__(self) -> str:
        value = "" if self.how == "delete" else f" = {self.value!r}"[:80]
        return f"{self.how} {'.'.join(map(str, self.path))}{value}"


@st.composite
def corrupted(draw: Any, state: dict[str, Any], source: str) -> tuple[dict[str, Any], list[Damage]]:
    """``state`` with one to three things damaged: a key deleted, a value replaced by a hostile
    one, a list of the wrong length, or another scheduler's state (or part of it) swapped in;
    and the damage done."""
    state = copy.deepcopy(state)
    other_name = draw(st.sampled_from(sorted(set(SOURCES) - {source})), label="other")
    other, _ = original_run(other_name, draw(st.integers(0, 5), label="other stop"))
    damage: list[Damage] = []
    for _ in range(draw(st.integers(1, 3))):
        how = draw(st.sampled_from(["delete", "replace", "replace", "resize", "swap_value", "swap_all"]))
        if how == "swap_all":
            state = copy.deepcopy(other)
            damage.append(Damage(how, (), other_name))
            continue
        candidates = list(paths(state))
        if how == "resize":
            candidates = [p for p in candidates if isinstance(at(state, p), list)]
        if not candidates:
            continue
        path = draw(st.sampled_from(candidates))
        parent, key = at(state, path[:-1]), path[-1]
        original = parent[key]
        if how == "delete":
            del parent[key]
        elif how == "replace":
            parent[key] = copy.deepcopy(draw(CORRUPT))  # a fresh one: later damage may nest in it
        elif how == "resize":
            resized = [original[:-1], [*original, *original[-1:]], [*original, 0.1], [], original * 2]
            parent[key] = copy.deepcopy(draw(st.sampled_from(resized)))
        elif isinstance(parent, dict) and key in other:  # swap_value: the other state's value of the key
            parent[key] = copy.deepcopy(other[key])
        else:
            parent[key] = copy.deepcopy(other)
        damage.append(Damage(how, path, None if how == "delete" else parent[key]))
    return state, damage


def check_corrupted_load(source: str, stop: int, state: dict[str, Any], exact: bool) -> str:
    """Load ``state`` into a fresh ``source`` scheduler: a ConfigError, or (``exact``) the lrs
    the original went on with, right after the load and after each step, or (not ``exact``: a
    valid state of another run) finite lrs >= 0. A ConfigError at a step ends the comparison:
    refused late, but no lr was wrong before it."""
    _, expected = original_run(source, stop)
    optimizer = make_optimizer(named=True)
    with watchdog():
        fresh = build_lr_scheduler(node_of(SOURCES[source]), optimizer)
        try:
            fresh.load_state_dict(state)
        except ConfigError as exc:
            return f"refused at load: {exc}"
        got = [lrs_of(optimizer)]
        optimizer.step()
        for i in range(stop, stop + RESUMED):
            try:
                step(fresh, plateau_metric(i))
            except ConfigError:
                got.append(())  # refused here: compare the lrs before
                break
            got.append(lrs_of(optimizer))
    for i, (lrs, want) in enumerate(zip(got, expected, strict=False)):  # got ends at a refusal
        if lrs == ():
            return f"loaded, refused at step {stop + i}"
        if exact:
            assert lrs == want, (
                f"loaded silently, then {i} steps on (step {stop + i}) the lrs are {lrs}, "
                f"not the original's {want}"
            )
        else:
            assert not unsafe(lrs), f"{i} steps after loading, lrs {lrs}: every lr must be finite and >= 0"
    return "loaded, and continues " + ("exactly" if exact else "safely")


@pytest.mark.parametrize("source", list(SOURCES))
@given(data=st.data(), stop=st.integers(0, 12))
def test_a_corrupted_checkpoint_is_refused_with_config_error_or_continues_exactly(
    source: str, data: st.DataObject, stop: int
) -> None:
    """A real state with keys deleted, values replaced by NaN, None, strings, negatives, lists
    or dicts, lists of the wrong length, or another scheduler's state swapped in: loading it
    raises a ConfigError, or the scheduler goes on with exactly the original's lrs (right
    after the load and after each step). Where the damage happens to be a state another run
    could have saved (a count at another step, a rescaled base lr), finite lrs >= 0 suffice."""
    state, _ = original_run(source, stop)
    damaged, damage = data.draw(corrupted(state, source), label="state")
    note(f"damage: {damage}")
    note(check_corrupted_load(source, stop, damaged, exact=not is_another_runs_state(state, damaged)))


MISSING = object()
"""What a key or list element deleted from a state holds, in ``changes``."""


def same(a: Any, b: Any) -> bool:
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        both = isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)
        return both and a.shape == b.shape and a.dtype == b.dtype and bool(torch.equal(a, b))
    return type(a) is type(b) and a == b


def changes(
    original: Any, damaged: Any, path: tuple[Any, ...] = ()
) -> Iterator[tuple[tuple[Any, ...], Any, Any]]:
    """Where ``damaged`` differs from ``original``: (path, old value, new value); a list of
    another length, or another kind of container, is one change."""
    if isinstance(original, dict) and isinstance(damaged, dict):
        for key in [*original, *(k for k in damaged if k not in original)]:
            yield from changes(original.get(key, MISSING), damaged.get(key, MISSING), (*path, key))
    elif isinstance(original, list) and isinstance(damaged, list) and len(original) == len(damaged):
        for i, (old, new) in enumerate(zip(original, damaged, strict=True)):
            yield from changes(old, new, (*path, i))
    elif not same(original, damaged):
        yield path, original, damaged


def is_another_runs_state(original: dict[str, Any], damaged: Any) -> bool:
    """Whether the damage, whatever it was, left a state another run could have saved: some
    change is a valid value of its key (a count at another step, a base lr rescaled with the
    README's knob), under the same fingerprint, one with fewer keys, or none (states saved by
    earlier versions). Its lrs differ from the original's with no bug, so it is held to the
    weaker oracle. A fingerprint with a value changed or added is another schedule: refused."""
    if not isinstance(damaged, dict):
        return False
    fingerprint = changes(original.get("fingerprint"), damaged.get("fingerprint", MISSING))
    if any(new is not MISSING for _, _, new in fingerprint):
        return False
    return any(
        new is not MISSING and another_valid_state(path, new, old)
        for path, old, new in changes(original, damaged)
    )


def check_deletions(source: str, stop: int, paths_deleted: list[tuple[Any, ...]]) -> None:
    """Delete ``paths_deleted`` (in order) from ``source``'s state after ``stop`` steps, load it,
    and hold the load to the property's oracle."""
    state, _ = original_run(source, stop)
    damaged = copy.deepcopy(state)
    for path in paths_deleted:
        del at(damaged, path[:-1])[path[-1]]
    note(check_corrupted_load(source, stop, damaged, exact=not is_another_runs_state(state, damaged)))


def check_one_damage(source: str, stop: int, how: str, path: tuple[Any, ...], value: Any) -> None:
    """Damage one thing in ``source``'s state after ``stop`` steps, load it, and hold the load to
    the property's oracle."""
    state, _ = original_run(source, stop)
    damaged = copy.deepcopy(state)
    parent, key = at(damaged, path[:-1]), path[-1]
    if how == "delete":
        del parent[key]
    else:
        parent[key] = value
    note(check_corrupted_load(source, stop, damaged, exact=not is_another_runs_state(state, damaged)))


# --- 4. unit strings and intervals -----------------------------------------------------------

DURATION_ARGS = {
    *("T_max", "T_0", "total_iters", "total_steps", "step_size", "step_size_up", "step_size_down"),
    *("milestones", "patience", "cooldown", "anneal_epochs", "timescale", "num_decay_steps"),
    *("num_stable_steps", "t_initial", "warmup_t", "decay_t", "noise_range_t", "patience_t", "cooldown_t"),
}
"""The README's duration arguments ("every duration argument ... is multiplied by it")."""
LIST_DURATIONS = {"steps", "milestones", "decay_t", "noise_range_t"}

UNITS = st.sampled_from(["ep", "it", "%"])
DURATION = st.one_of(
    st.sampled_from(
        [
            *("90ep", "10%", "500it", "1ep", "0ep", "0%", "100%", "150%", "0it", "1.5ep", "0.5it", "2.5%"),
            *(" 3ep ", "3 ep", "10EP", "ep", "%", "it", "-5ep", "1e3it", "nan%", "inf it", "10", ""),
            *("9" * 30 + "ep", "9" * 400 + "it", "1" + "0" * 308 + "%", "1" + "0" * 308 + "ep"),
            *(1.5, 90.0, 0.5, 1e-9, NAN, INF, -1.0, 0, -3, 10**30, 10**400, True, None),
        ]
    ),
    st.integers(1, 300),
    st.builds(lambda n, unit: f"{n}{unit}", st.integers(0, 400), st.sampled_from(["ep", "it", "%"])),
    st.builds(
        lambda x, unit: f"{x}{unit}", st.floats(0, 200, allow_nan=False), st.sampled_from(["ep", "it", "%"])
    ),
)
"""Durations: unit strings (valid, malformed, out of range, huge), floats, ints and junk."""
INTERVAL = st.sampled_from(["iter", "epoch", "epoch", "epochs", "", None, 1])
ITERS_PER_EPOCH = st.one_of(
    st.sampled_from([1, 7, 100, 0, -1, 2.5, 10**30, True, "10", None, NAN, "10ep"]), st.integers(1, 50)
)


@st.composite
def duration_nodes(draw: Any, name: str) -> dict[str, Any]:
    """The name's valid sample with durations rewritten in units, under an interval."""
    node = sample(name)
    if draw(st.booleans()):
        node["interval"] = draw(INTERVAL)
    if draw(st.integers(0, 2)) > 0:
        node["iters_per_epoch"] = draw(ITERS_PER_EPOCH)
    durations = [name for name in arg_names(name) if name in DURATION_ARGS]
    keys = ["max_iter", "steps", "warmup_iters", *(f"args.{d}" for d in durations)]
    if name == "Interpolate":
        keys.append("args.points")
    for key in draw(st.lists(st.sampled_from(keys), min_size=1, max_size=3, unique=True)):
        bare = key.removeprefix("args.")
        if bare == "points":
            steps = draw(st.lists(DURATION, min_size=1, max_size=3))
            value: Any = [[s, draw(st.floats(0.01, 2.0))] for s in steps]
        elif bare in LIST_DURATIONS and draw(st.integers(0, 3)) > 0:
            value = draw(st.lists(DURATION, max_size=3))
        else:
            value = draw(DURATION)
        if key.startswith("args."):
            node.setdefault("args", {})[bare] = value
        else:
            node[key] = value
    if draw(st.integers(0, 3)) == 0:  # the second group's own schedule, with its own durations
        node["param_groups"] = {"g1": {"params": "*", "warmup_iters": draw(DURATION)}}
        if draw(st.booleans()):
            node["param_groups"]["g1"]["max_iter"] = draw(DURATION)
    return node


@pytest.mark.parametrize("name", NAMES)
@given(data=st.data(), metrics=METRICS)
def test_durations_in_any_unit_and_interval_are_refused_with_config_error_or_run_safely(
    name: str, data: st.DataObject, metrics: tuple[float, ...]
) -> None:
    """``max_iter``, ``steps``, ``warmup_iters`` and duration arguments written as "90ep",
    "10%", "500it", floats or junk, under ``interval`` epoch or iter and any
    ``iters_per_epoch``: a ConfigError, or 50 steps of finite lrs >= 0; no hang."""
    solver = data.draw(duration_nodes(name), label="solver")
    note(run_safely(solver, make_optimizer(named=True), metrics))


# --- the minimal examples of the bugs the properties found ---------------------------------
# Each minimal example of a bug the properties found: a strict xfail (and left out of its
# property by ``assume``) while the bug is open; once fixed, the mark and the exclusion go
# and the example stays as a regression test.


@ONLY_EXAMPLES
@example(
    solver={"lr_scheduler_name": "CosineAnnealingLR", "args": {"T_max": 10, "eta_min": torch.tensor(False)}}
)
@given(solver=UNUSED)
def test_bug_a_bool_tensor_argument_is_refused_with_config_error(solver: dict[str, Any]) -> None:
    note(run_safely(solver, make_optimizer()))


@ONLY_EXAMPLES
@example(
    solver={
        "lr_scheduler_name": "warmup_stable_decay",
        "args": {"num_decay_steps": 15, "num_stable_steps": []},
    }
)
@given(solver=UNUSED)
def test_bug_a_list_for_num_stable_steps_is_refused_with_config_error(solver: dict[str, Any]) -> None:
    note(run_safely(solver, make_optimizer()))


@ONLY_EXAMPLES
@example(solver={"lr_scheduler_name": "SWALR", "args": {"swa_lr": 0.01, "last_epoch": torch.tensor([1, 2])}})
@given(solver=UNUSED)
def test_bug_a_many_element_tensor_for_last_epoch_is_refused_with_config_error(
    solver: dict[str, Any],
) -> None:
    note(run_safely(solver, make_optimizer()))


@ONLY_EXAMPLES
@example(solver={"lr_scheduler_name": "PolyLRScheduler", "args": {"t_initial": 10, "k_decay": 2**70}})
@given(solver=UNUSED)
def test_bug_a_huge_int_k_decay_is_refused_not_a_hang(solver: dict[str, Any]) -> None:
    note(run_safely(solver, make_optimizer(), hang_s=1))


@pytest.mark.parametrize(
    "name",
    # the three places that take float() of a group's lr: closed form, torch's, timm's plateau
    ["constant", "StepLR", "PlateauLRScheduler"],
)
@ONLY_EXAMPLES
@example(lrs=(10**400,), add_group_at=None, added_lr=None)
@given(lrs=UNUSED, add_group_at=UNUSED, added_lr=UNUSED)
def test_bug_a_base_lr_past_floats_range_is_refused_with_config_error(
    name: str, lrs: tuple[Any, ...], add_group_at: int | None, added_lr: Any
) -> None:
    check_base_lrs(name, lrs, add_group_at, added_lr, (1.0,))


DAMAGE = {"source": UNUSED, "stop": UNUSED, "how": UNUSED, "path": UNUSED}


@ONLY_EXAMPLES
@example(source="StepLR", stop=3, how="replace", path=("_last_lr", 0), value=10**400)
@given(**DAMAGE, value=UNUSED)
def test_bug_a_torch_state_holding_an_int_past_floats_range_is_refused_with_config_error(
    source: str, stop: int, how: str, path: tuple[Any, ...], value: Any
) -> None:
    check_one_damage(source, stop, how, path, value)


@ONLY_EXAMPLES
@example(source="WarmupCosineLR", stop=0, how="replace", path=("base_lrs", 0), value=10**400)
@given(**DAMAGE, value=UNUSED)
def test_bug_a_base_lr_past_floats_range_in_a_state_is_refused_with_config_error(
    source: str, stop: int, how: str, path: tuple[Any, ...], value: Any
) -> None:
    check_one_damage(source, stop, how, path, value)


@ONLY_EXAMPLES
@example(source="StepLR", stop=3, how="delete", path=("_last_lr",), value=None)
@given(**DAMAGE, value=UNUSED)
def test_bug_a_torch_state_without_last_lr_is_refused(
    source: str, stop: int, how: str, path: tuple[Any, ...], value: Any
) -> None:
    check_one_damage(source, stop, how, path, value)


@ONLY_EXAMPLES
@example(source="StepLR", stop=0, how="delete", path=("unscaled_lrs",), value=None)
@given(**DAMAGE, value=UNUSED)
def test_bug_a_warmup_state_without_unscaled_lrs_is_refused(
    source: str, stop: int, how: str, path: tuple[Any, ...], value: Any
) -> None:
    check_one_damage(source, stop, how, path, value)


@ONLY_EXAMPLES
@example(source="WarmupCosineLR", stop=0, how="delete", path=("base_lrs", 0), value=None)
@given(**DAMAGE, value=UNUSED)
def test_bug_base_lrs_of_the_wrong_length_are_refused(
    source: str, stop: int, how: str, path: tuple[Any, ...], value: Any
) -> None:
    check_one_damage(source, stop, how, path, value)


@ONLY_EXAMPLES
@example(source="StepLR", stop=7, how="delete", path=("base_lrs", 0), value=None)
@given(**DAMAGE, value=UNUSED)
def test_bug_torch_base_lrs_of_the_wrong_length_are_refused(
    source: str, stop: int, how: str, path: tuple[Any, ...], value: Any
) -> None:
    check_one_damage(source, stop, how, path, value)


@ONLY_EXAMPLES
@example(source="SequentialLR", stop=0, how="replace", path=("_schedulers", 0, "total_iters"), value=-1)
@given(**DAMAGE, value=UNUSED)
def test_bug_a_negative_argument_of_a_sequential_child_in_its_state_is_refused(
    source: str, stop: int, how: str, path: tuple[Any, ...], value: Any
) -> None:
    check_one_damage(source, stop, how, path, value)


@ONLY_EXAMPLES
@example(source="ReduceLROnPlateau", stop=0, how="replace", path=("best",), value=NAN)
@given(**DAMAGE, value=UNUSED)
def test_bug_a_plateau_state_with_best_nan_is_refused(
    source: str, stop: int, how: str, path: tuple[Any, ...], value: Any
) -> None:
    check_one_damage(source, stop, how, path, value)


@ONLY_EXAMPLES
@example(source="ReduceLROnPlateau", stop=9, how="replace", path=("cooldown_counter",), value=-1)
@given(**DAMAGE, value=UNUSED)
def test_bug_a_plateau_state_with_a_negative_cooldown_counter_is_refused(
    source: str, stop: int, how: str, path: tuple[Any, ...], value: Any
) -> None:
    check_one_damage(source, stop, how, path, value)


@ONLY_EXAMPLES
@example(source="GroupedLR", stop=3, how="delete", path=("lanes", 1), value=None)
@given(**DAMAGE, value=UNUSED)
def test_bug_a_grouped_state_missing_a_lane_is_refused(
    source: str, stop: int, how: str, path: tuple[Any, ...], value: Any
) -> None:
    check_one_damage(source, stop, how, path, value)


@ONLY_EXAMPLES
@example(source="GroupedLR", stop=0, how="replace", path=("lanes", 0, "names"), value=None)
@given(**DAMAGE, value=UNUSED)
def test_bug_a_grouped_state_whose_lane_names_are_not_a_list_is_refused_with_config_error(
    source: str, stop: int, how: str, path: tuple[Any, ...], value: Any
) -> None:
    check_one_damage(source, stop, how, path, value)


@pytest.mark.parametrize("name", ["cosine", "cosine_with_min_lr", "warmup_stable_decay"])
@ONLY_EXAMPLES
@example(args={"num_cycles": 1e308})
@given(args=UNUSED)
def test_bug_a_num_cycles_near_floats_max_is_refused_with_config_error(
    name: str, args: dict[str, Any]
) -> None:
    note(run_safely({**sample(name), "args": {**sample(name).get("args", {}), **args}}, make_optimizer()))


@pytest.mark.parametrize("name", ["PolynomialLR", "CosineAnnealingLR", "ExponentialLR", "MultiplicativeLR"])
@ONLY_EXAMPLES
@example(lrs=(0.1,), add_group_at=0, added_lr=10**400)
@given(lrs=UNUSED, add_group_at=UNUSED, added_lr=UNUSED)
def test_bug_a_group_added_with_an_lr_past_floats_range_is_refused_with_config_error(
    name: str, lrs: tuple[Any, ...], add_group_at: int | None, added_lr: Any
) -> None:
    check_base_lrs(name, lrs, add_group_at, added_lr, (1.0,))


@ONLY_EXAMPLES
@example(source="WarmupCosineLR", stop=3, paths_deleted=[("param_groups",), ("base_lrs", 0)])
@given(source=UNUSED, stop=UNUSED, paths_deleted=UNUSED)
def test_bug_base_lrs_of_the_wrong_length_without_a_group_count_are_refused(
    source: str, stop: int, paths_deleted: list[tuple[Any, ...]]
) -> None:
    check_deletions(source, stop, paths_deleted)
