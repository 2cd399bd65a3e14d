"""One config, one meaning: the same values give the same schedule on every route (a plain
dict, the dict merged into Hydra's schema, a Hydra composition, a yacs ``CfgNode``), and
every ``solver=`` option applies every ``solver/warmup=`` option as the README documents it,
or refuses it naming both."""

from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import Any

import pytest
import torch
from hydra import compose, initialize_config_dir, initialize_config_module
from omegaconf import OmegaConf
from yacs.config import CfgNode

import schedreg
from schedreg import SCHEDULERS, ConfigError
from schedreg.config.schema import SolverSchema, register_schemas

ROOT = Path(__file__).resolve().parents[1]
STEPS = 60
BASE_LR = 0.1

# A handful of keys per name: what a user of that name would write (or nothing at all).
ARGS: dict[str, dict[str, Any]] = {
    "StepLR": {"step_size": 10},
    "LambdaLR": {"lr_lambda": "tests.lambdas.halve_every_10"},
    "MultiplicativeLR": {"lr_lambda": "tests.lambdas.constant_099"},
    "CosineAnnealingWarmRestarts": {"T_0": 20},
    "CyclicLR": {"base_lr": 0.01, "step_size_up": 10},
    "SequentialLR": {
        "schedulers": [{"lr_scheduler_name": "ConstantLR"}, {"lr_scheduler_name": "ExponentialLR"}],
        "milestones": [10],
    },
    "ChainedScheduler": {"schedulers": [{"lr_scheduler_name": "ConstantLR"}]},
    "StepLRScheduler": {"decay_t": 10},
    "MultiStepLRScheduler": {"decay_t": [10, 30]},
    "warmup_stable_decay": {"num_decay_steps": 10},
    "cosine_with_min_lr": {"min_lr_rate": 0.1},
    "Interpolate": {"points": [[0, 1.0], [40, 0.2]]},
}
VARIANTS: list[dict[str, Any]] = [
    {},  # the name alone: every key left to its default
    {"max_iter": 200},
    {"max_iter": 200, "warmup_iters": 20},
    {"max_iter": 200, "steps": [50, 150], "gamma": 0.5, "base_lr_end": 0.001},
    {"max_iter": 200, "warmup_iters": 20, "warmup": {"method": "cosine", "factor": 0.01}},
]
CASES = [
    {"lr_scheduler_name": name, **variant, **({"args": ARGS[name]} if name in ARGS else {})}
    for name in sorted(SCHEDULERS)
    for variant in VARIANTS
]


def outcome(cfg: Any) -> tuple[str, Any]:
    """The lrs of ``STEPS`` steps (a metric for plateau schedules), or the ConfigError's message."""
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=BASE_LR, momentum=0.9)
    try:
        scheduler = schedreg.build_lr_scheduler(cfg, optimizer)
        lrs = []
        for _ in range(STEPS):
            lrs.append(float(optimizer.param_groups[0]["lr"]))
            optimizer.step()
            scheduler.step(*((1.0,) if getattr(scheduler, "takes_metric", False) else ()))
    except ConfigError as error:
        return "refused", str(error).lower().replace("warmup.", "warmup_")  # yacs: upper case, flat
    return "lrs", lrs


def schema_filled(values: dict[str, Any]) -> Any:
    return OmegaConf.merge(OmegaConf.structured(SolverSchema), values)


def hydra_composed(values: dict[str, Any], conf: Path) -> Any:
    overrides = []
    for key, value in values.items():
        if isinstance(value, dict):  # args, warmup: one override per entry
            overrides += [f"++solver.{key}.{k}={_text(v)}" for k, v in value.items()]
        else:
            overrides.append(f"solver.{key}={_text(value)}")
    with initialize_config_dir(str(conf), version_base="1.3"):
        return compose("app", overrides=overrides).solver


def _text(value: Any) -> str:
    """``value`` in Hydra's override grammar."""
    if isinstance(value, list):
        return "[" + ",".join(_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, str):
        return f"'{value}'"
    return repr(value)


def yacs_node(values: dict[str, Any]) -> CfgNode:
    """detectron2's spelling: upper-case keys, the warmup flat (``WARMUP_METHOD``)."""
    solver = {k.upper(): v for k, v in values.items() if k != "warmup"}
    solver.update({f"WARMUP_{k.upper()}": v for k, v in values.get("warmup", {}).items()})
    return CfgNode({"SOLVER": solver})


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A user's app whose solver node is schedreg's schema and nothing else."""
    register_schemas()
    conf = tmp_path_factory.mktemp("conf")
    (conf / "app.yaml").write_text("defaults:\n  - /schedreg/schema/solver@solver\n  - _self_\n")
    return conf


@pytest.mark.parametrize("values", CASES, ids=lambda v: f"{v['lr_scheduler_name']}-{sorted(v)}")
def test_a_dict_the_schema_hydra_and_yacs_give_the_same_schedule(values, app):
    plain = outcome({"solver": values})
    assert outcome(schema_filled(values)) == plain
    assert outcome(hydra_composed(values, app)) == plain
    assert outcome(yacs_node(values)) == plain


def test_detectron2s_default_warmup_holds_on_every_route(app):
    """The measured bug: the schema used to mark warmup_iters as set, and drop the warmup."""
    values = {"lr_scheduler_name": "WarmupCosineLR", "max_iter": 4000}
    for cfg in ({"solver": values}, schema_filled(values), hydra_composed(values, app)):
        kind, lrs = outcome(cfg)
        assert kind == "lrs" and lrs[0] == pytest.approx(BASE_LR * 0.001, rel=1e-12)


@pytest.mark.parametrize("name", ["MultiStepLR", "ExponentialLR"])
def test_torch_schedulers_need_their_arguments_on_every_route(name, app):
    values = {"lr_scheduler_name": name}
    outcomes = [outcome(c) for c in ({"solver": values}, schema_filled(values), hydra_composed(values, app))]
    assert all(kind == "refused" and "is required by" in text for kind, text in outcomes)


# ---- every solver= x solver/warmup= ---------------------------------------------------

SOLVERS = sorted(p.stem for p in (ROOT / "conf/solver").glob("*.yaml"))
WARMUPS = sorted(p.stem for p in (ROOT / "conf/solver/warmup").glob("*.yaml"))
ANCHORED = {"WarmupMultiStepLR", "WarmupCosineLR", "WarmupStepWithFixedGammaLR"}
"""detectron2's schedules: the warmup ends on the main curve."""
OWN = {n for n in SCHEDULERS if n.endswith("LRScheduler")}
"""timm's: a linear warmup of its own (to the base lr, not times the schedule), from
``warmup_lr_init`` or ``warmup_factor`` x lr; other shapes have no timm equivalent."""
WARMS_TO_DECAY = {"TanhLRScheduler"}
"""timm's tanh (without ``warmup_prefix``) warms up to the decay's value where warmup ends."""
PREFIXED = {"StepLRScheduler", "MultiStepLRScheduler"}
"""timm's step schedules default to ``warmup_prefix``: the decay starts counting after warmup."""
PEERS_OWN_WARMUP = {
    n for n in SCHEDULERS if n.startswith(("deepspeed.", "nemo.", "megatron.", "mmengine."))
} | {n for n in SCHEDULERS if n.startswith("composer.") and n.endswith("WithWarmupScheduler")}
"""DeepSpeed's, NeMo's, Megatron's and mmengine's: their own warmup (DeepSpeed's log or linear
one step late, NeMo's (s + 1) / (W + 1), Megatron's from lr_warmup_init, mmengine's a window of
its list), and composer's warmup classes (t / t_warmup from 0); no other
warmup option has an equivalent there, so each is refused (tests/test_deepspeed.py,
tests/test_nemo.py and tests/test_composer.py have their numbers)."""
TRANSFORMERS = {
    "linear",
    "cosine",
    "cosine_with_min_lr",
    "inverse_sqrt",
    "warmup_stable_decay",
    "constant_with_warmup",
}
"""transformers' names among the options: their default warmup starts from 0."""
LENGTH, MAX_ITER = 20, 200


@functools.cache
def composed_outcome(solver: str, warmup: str, *extra: str) -> tuple[str, Any]:
    """:func:`outcome` of :func:`composed` (cached: the references recur for every warmup)."""
    return outcome(composed(solver, warmup, *extra))


def composed(solver: str, warmup: str, *extra: str) -> Any:
    overrides = [f"solver={solver}", f"solver.max_iter={MAX_ITER}", f"solver.warmup_iters={LENGTH}"]
    overrides += ["solver.steps=[100]", f"solver/warmup={warmup}", f"solver.base_lr={BASE_LR}", *extra]
    with initialize_config_module("schedreg.conf", version_base="1.3"):
        return compose("schedreg", overrides=overrides)


def shape(method: str, start: float, end: float, alpha: float) -> float:
    """The README's warmup shapes, written out."""
    if method == "linear":
        return start + (end - start) * alpha
    if method == "constant":
        return start
    if method == "exponential":
        return start * (end / start) ** alpha
    return start + (end - start) * (1 - math.cos(math.pi * alpha)) / 2


@pytest.mark.parametrize("warmup", WARMUPS)
@pytest.mark.parametrize("solver", SOLVERS)
def test_every_warmup_option_is_applied_to_every_solver_option_or_refused_naming_both(solver, warmup):
    cfg = composed(solver, warmup)
    name, method, factor = cfg.solver.lr_scheduler_name, cfg.solver.warmup.method, cfg.solver.warmup.factor
    method = method or "linear"  # the own option: every scheduler's own shape here is linear
    kind, lrs = outcome(cfg)
    if name in PEERS_OWN_WARMUP:
        assert (kind == "lrs") == (warmup == "own"), f"{solver} with solver/warmup={warmup}: {lrs}"
        assert kind == "lrs" or (name.lower() in lrs and "warmup" in lrs)
        return
    if name in OWN and method not in ("linear", "none"):
        assert kind == "refused", f"{solver} should refuse a {method} warmup"
        assert name.lower() in lrs and "warmup" in lrs
        return
    assert kind == "lrs", lrs
    if method == "none":  # no warmup: the same as the solver with its warmup length set to 0
        assert lrs == composed_outcome(solver, warmup, "solver.warmup_iters=0")[1]
        return
    # the schedule the warmup joins: the same length, a warmup that multiplies by 1 (timm's
    # own warmup replaces the start of the run instead)
    reference = ("none",) if name in OWN else ("constant", "solver.warmup.factor=1.0")
    _, main = composed_outcome(solver, *reference)
    if factor is None:  # the scheduler's own start: timm's warmup_lr_init (0 here), else its default
        factor = 0.0 if name in OWN | TRANSFORMERS else 0.001
    for t in range(LENGTH):
        alpha = t / LENGTH
        if name in OWN:
            end = lrs[LENGTH] if name in WARMS_TO_DECAY else BASE_LR
            expected = shape(method, factor * BASE_LR, end, alpha)
        elif name in ANCHORED:
            _, plain = composed_outcome(solver, "none")
            expected = shape(method, factor * plain[0], plain[LENGTH], alpha)
        else:
            expected = main[t] * shape(method, factor, 1.0, alpha)
        assert lrs[t] == pytest.approx(expected, rel=1e-12, abs=1e-300), (t, lrs[:LENGTH])
    if "plateau" not in solver and name not in PREFIXED:  # these count from the end of warmup
        assert lrs[LENGTH:] == pytest.approx(main[LENGTH:], rel=1e-12, abs=0)
