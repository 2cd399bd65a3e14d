"""torch's own schedulers, built from config: identical lrs, derived args, warmup, errors."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
import torch
import torch.optim.lr_scheduler as lr_scheduler

import schedreg
from schedreg import SCHEDULERS, ConfigError, build_lr_scheduler

try:  # `python -m pytest` from the repo root
    from tests import lambdas
except ModuleNotFoundError:  # plain `pytest`: tests/ itself is on sys.path
    import lambdas  # type: ignore[no-redef]

LAMBDAS = lambdas.__name__
GROUP_LRS = (0.1, 0.02)
N_STEPS = 60


def make_optimizer() -> torch.optim.Optimizer:
    """Two param groups with different lrs; momentum so CyclicLR/OneCycleLR can cycle it."""
    params = [torch.nn.Parameter(torch.zeros(3)) for _ in GROUP_LRS]
    groups = [{"params": [p], "lr": lr} for p, lr in zip(params, GROUP_LRS, strict=True)]
    return torch.optim.SGD(groups, lr=GROUP_LRS[0], momentum=0.9)


def plateau_metric(i: int) -> float:
    """Improves for 8 steps, then plateaus, so ReduceLROnPlateau reduces repeatedly."""
    return 1.0 / (1 + min(i, 8))


def lrs_of(optimizer: torch.optim.Optimizer) -> tuple[float, ...]:
    return tuple(float(group["lr"]) for group in optimizer.param_groups)


def trajectory(
    scheduler: Any, optimizer: torch.optim.Optimizer, n: int = N_STEPS, plateau: bool = False
) -> list[tuple[float, ...]]:
    """The lrs after 0, 1, ..., n calls of ``scheduler.step()``."""
    out = [lrs_of(optimizer)]
    for i in range(n):
        optimizer.step()
        if plateau:
            scheduler.step(plateau_metric(i))
        else:
            scheduler.step()
        out.append(lrs_of(optimizer))
    return out


def assert_same_lrs(actual: list[tuple[float, ...]], expected: list[tuple[float, ...]]) -> None:
    assert len(actual) == len(expected)
    for step, (a, e) in enumerate(zip(actual, expected, strict=True)):
        assert a == e, f"lrs differ after {step} steps: schedreg {a} != torch {e}"


def build(solver: dict[str, Any]) -> tuple[Any, torch.optim.Optimizer]:
    optimizer = make_optimizer()
    return build_lr_scheduler({"solver": solver}, optimizer), optimizer


def reference(make: Callable[[torch.optim.Optimizer], Any]) -> tuple[Any, torch.optim.Optimizer]:
    optimizer = make_optimizer()
    return make(optimizer), optimizer


def fn(name: str) -> Callable[[int], float]:
    return getattr(lambdas, name)


# --- registration --------------------------------------------------------------------


def test_every_public_torch_scheduler_class_is_registered() -> None:
    public = set(lr_scheduler.__all__) - {"LRScheduler"}
    assert public, "torch.optim.lr_scheduler.__all__ lists no schedulers"
    assert all(issubclass(getattr(lr_scheduler, name), lr_scheduler.LRScheduler) for name in public)
    missing = public - set(SCHEDULERS)
    assert not missing, f"torch schedulers not registered: {sorted(missing)}"


def test_config_error_is_a_value_error() -> None:
    assert issubclass(ConfigError, ValueError)


# --- same lrs as torch, for every class -----------------------------------------------

# id -> (solver node, hand-built torch scheduler on an optimizer, stepped with a metric?)
EQUIVALENT: dict[str, tuple[dict[str, Any], Callable[[torch.optim.Optimizer], Any], bool]] = {
    "LambdaLR-one-path": (
        {"lr_scheduler_name": "LambdaLR", "args": {"lr_lambda": f"{LAMBDAS}.halve_every_10"}},
        lambda o: lr_scheduler.LambdaLR(o, fn("halve_every_10")),
        False,
    ),
    "LambdaLR-path-per-group": (
        {
            "lr_scheduler_name": "LambdaLR",
            "args": {"lr_lambda": [f"{LAMBDAS}.halve_every_10", f"{LAMBDAS}:inverse_sqrt"]},
        },
        lambda o: lr_scheduler.LambdaLR(o, [fn("halve_every_10"), fn("inverse_sqrt")]),
        False,
    ),
    "MultiplicativeLR": (
        {"lr_scheduler_name": "MultiplicativeLR", "args": {"lr_lambda": f"{LAMBDAS}.shrink_slowly"}},
        lambda o: lr_scheduler.MultiplicativeLR(o, fn("shrink_slowly")),
        False,
    ),
    "StepLR": (
        {"lr_scheduler_name": "StepLR", "args": {"step_size": 7, "gamma": 0.5}},
        lambda o: lr_scheduler.StepLR(o, step_size=7, gamma=0.5),
        False,
    ),
    "MultiStepLR": (
        {"lr_scheduler_name": "MultiStepLR", "args": {"milestones": [10, 25, 40], "gamma": 0.3}},
        lambda o: lr_scheduler.MultiStepLR(o, milestones=[10, 25, 40], gamma=0.3),
        False,
    ),
    "ConstantLR": (
        {"lr_scheduler_name": "ConstantLR", "args": {"factor": 0.25, "total_iters": 12}},
        lambda o: lr_scheduler.ConstantLR(o, factor=0.25, total_iters=12),
        False,
    ),
    "LinearLR": (
        {
            "lr_scheduler_name": "LinearLR",
            "args": {"start_factor": 0.1, "end_factor": 0.9, "total_iters": 30},
        },
        lambda o: lr_scheduler.LinearLR(o, start_factor=0.1, end_factor=0.9, total_iters=30),
        False,
    ),
    "ExponentialLR": (
        {"lr_scheduler_name": "ExponentialLR", "args": {"gamma": 0.95}},
        lambda o: lr_scheduler.ExponentialLR(o, gamma=0.95),
        False,
    ),
    "PolynomialLR": (
        {"lr_scheduler_name": "PolynomialLR", "args": {"total_iters": 40, "power": 2.0}},
        lambda o: lr_scheduler.PolynomialLR(o, total_iters=40, power=2.0),
        False,
    ),
    "CosineAnnealingLR": (
        {"lr_scheduler_name": "CosineAnnealingLR", "args": {"T_max": 25, "eta_min": 0.001}},
        lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=25, eta_min=0.001),
        False,
    ),
    "ChainedScheduler": (
        {
            "lr_scheduler_name": "ChainedScheduler",
            "args": {
                "schedulers": [
                    {"lr_scheduler_name": "ConstantLR", "args": {"factor": 0.5, "total_iters": 5}},
                    {"lr_scheduler_name": "ExponentialLR", "args": {"gamma": 0.9}},
                ]
            },
        },
        lambda o: lr_scheduler.ChainedScheduler(
            [lr_scheduler.ConstantLR(o, factor=0.5, total_iters=5), lr_scheduler.ExponentialLR(o, gamma=0.9)],
            optimizer=o,
        ),
        False,
    ),
    "SequentialLR": (
        {
            "lr_scheduler_name": "SequentialLR",
            "args": {
                "schedulers": [
                    {"lr_scheduler_name": "LinearLR", "args": {"start_factor": 0.1, "total_iters": 10}},
                    {"lr_scheduler_name": "CosineAnnealingLR", "args": {"T_max": 50}},
                ],
                "milestones": [10],
            },
        },
        lambda o: lr_scheduler.SequentialLR(
            o,
            [
                lr_scheduler.LinearLR(o, start_factor=0.1, total_iters=10),
                lr_scheduler.CosineAnnealingLR(o, 50),
            ],
            milestones=[10],
        ),
        False,
    ),
    "ReduceLROnPlateau": (
        {"lr_scheduler_name": "ReduceLROnPlateau", "args": {"factor": 0.5, "patience": 3}},
        lambda o: lr_scheduler.ReduceLROnPlateau(o, factor=0.5, patience=3),
        True,
    ),
    "CyclicLR-triangular2": (
        {
            "lr_scheduler_name": "CyclicLR",
            "args": {"base_lr": [0.001, 0.0002], "step_size_up": 10, "mode": "triangular2"},
        },
        lambda o: lr_scheduler.CyclicLR(
            o, base_lr=[0.001, 0.0002], max_lr=list(GROUP_LRS), step_size_up=10, mode="triangular2"
        ),
        False,
    ),
    "CyclicLR-exp_range": (
        {
            "lr_scheduler_name": "CyclicLR",
            "args": {
                "base_lr": 0.001,
                "step_size_up": 6,
                "step_size_down": 9,
                "mode": "exp_range",
                "gamma": 0.97,
            },
        },
        lambda o: lr_scheduler.CyclicLR(
            o,
            base_lr=0.001,
            max_lr=list(GROUP_LRS),
            step_size_up=6,
            step_size_down=9,
            mode="exp_range",
            gamma=0.97,
        ),
        False,
    ),
    "OneCycleLR": (
        # one step more than the trajectory: torch defines OneCycleLR's lr for steps < total_steps
        {"lr_scheduler_name": "OneCycleLR", "args": {"total_steps": N_STEPS + 1, "pct_start": 0.25}},
        lambda o: lr_scheduler.OneCycleLR(o, max_lr=list(GROUP_LRS), total_steps=N_STEPS + 1, pct_start=0.25),
        False,
    ),
    "OneCycleLR-epochs": (
        {
            "lr_scheduler_name": "OneCycleLR",
            "args": {"epochs": 6, "steps_per_epoch": 11, "anneal_strategy": "linear", "three_phase": True},
        },
        lambda o: lr_scheduler.OneCycleLR(
            o,
            max_lr=list(GROUP_LRS),
            epochs=6,
            steps_per_epoch=11,
            anneal_strategy="linear",
            three_phase=True,
        ),
        False,
    ),
    "CosineAnnealingWarmRestarts": (
        {
            "lr_scheduler_name": "CosineAnnealingWarmRestarts",
            "args": {"T_0": 10, "T_mult": 2, "eta_min": 1e-4},
        },
        lambda o: lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=10, T_mult=2, eta_min=1e-4),
        False,
    ),
}


def test_equivalence_table_covers_every_torch_scheduler() -> None:
    covered = {solver["lr_scheduler_name"] for solver, _, _ in EQUIVALENT.values()}
    assert covered == set(lr_scheduler.__all__) - {"LRScheduler"}


@pytest.mark.parametrize("case", list(EQUIVALENT))
def test_torch_scheduler_from_config_gives_exactly_torchs_lrs(case: str) -> None:
    solver, make, plateau = EQUIVALENT[case]
    scheduler, optimizer = build(solver)
    ref, ref_optimizer = reference(make)
    assert isinstance(scheduler, lr_scheduler.LRScheduler)
    expected = trajectory(ref, ref_optimizer, plateau=plateau)
    assert_same_lrs(trajectory(scheduler, optimizer, plateau=plateau), expected)
    assert len(set(expected)) >= 2, "the reference schedule should actually change the lr"
    assert scheduler.get_last_lr() == list(expected[-1])


def test_reduce_lr_on_plateau_case_actually_reduces() -> None:
    scheduler, optimizer = build(EQUIVALENT["ReduceLROnPlateau"][0])
    lrs = trajectory(scheduler, optimizer, plateau=True)
    assert lrs[-1][0] < GROUP_LRS[0] / 8
    assert lrs[-1][1] < GROUP_LRS[1] / 8


def test_cyclic_lr_cycles_momentum_like_torch() -> None:
    scheduler, optimizer = build(EQUIVALENT["CyclicLR-triangular2"][0])
    ref, ref_optimizer = reference(EQUIVALENT["CyclicLR-triangular2"][1])
    for _ in range(15):
        optimizer.step()
        scheduler.step()
        ref_optimizer.step()
        ref.step()
        got = [g["momentum"] for g in optimizer.param_groups]
        assert got == [g["momentum"] for g in ref_optimizer.param_groups]


# --- arguments derived from common solver keys ----------------------------------------


def assert_same_as(solver: dict[str, Any], make: Callable[[torch.optim.Optimizer], Any]) -> Any:
    scheduler, optimizer = build(solver)
    ref, ref_optimizer = reference(make)
    assert_same_lrs(trajectory(scheduler, optimizer), trajectory(ref, ref_optimizer))
    return scheduler


def test_multistep_milestones_and_gamma_come_from_solver_steps_and_gamma() -> None:
    scheduler = assert_same_as(
        {"lr_scheduler_name": "MultiStepLR", "steps": [10, 30], "gamma": 0.5},
        lambda o: lr_scheduler.MultiStepLR(o, milestones=[10, 30], gamma=0.5),
    )
    assert scheduler.gamma == 0.5
    assert sorted(scheduler.milestones) == [10, 30]


def test_cosine_t_max_comes_from_max_iter_and_eta_min_from_base_lr_end() -> None:
    scheduler = assert_same_as(
        {"lr_scheduler_name": "CosineAnnealingLR", "max_iter": 50, "base_lr_end": 0.001},
        lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=50, eta_min=0.001),
    )
    assert scheduler.T_max == 50
    assert scheduler.eta_min == 0.001


def test_polynomial_total_iters_comes_from_max_iter() -> None:
    scheduler = assert_same_as(
        {"lr_scheduler_name": "PolynomialLR", "max_iter": 45, "args": {"power": 1.5}},
        lambda o: lr_scheduler.PolynomialLR(o, total_iters=45, power=1.5),
    )
    assert scheduler.total_iters == 45


def test_exponential_gamma_comes_from_solver_gamma() -> None:
    assert_same_as(
        {"lr_scheduler_name": "ExponentialLR", "gamma": 0.93},
        lambda o: lr_scheduler.ExponentialLR(o, gamma=0.93),
    )


def test_one_cycle_total_steps_comes_from_max_iter_and_max_lr_from_group_lrs() -> None:
    scheduler = assert_same_as(
        {"lr_scheduler_name": "OneCycleLR", "max_iter": N_STEPS + 1},
        lambda o: lr_scheduler.OneCycleLR(o, max_lr=list(GROUP_LRS), total_steps=N_STEPS + 1),
    )
    assert scheduler.total_steps == N_STEPS + 1
    assert [g["max_lr"] for g in scheduler.optimizer.param_groups] == list(GROUP_LRS)


def test_cyclic_lr_max_lr_defaults_to_each_group_lr() -> None:
    scheduler, optimizer = build(
        {"lr_scheduler_name": "CyclicLR", "args": {"base_lr": 0.0, "step_size_up": 5}}
    )
    assert scheduler.max_lrs == list(GROUP_LRS)
    lrs = trajectory(scheduler, optimizer, n=5)
    assert lrs[0] == (0.0, 0.0)
    assert lrs[5] == pytest.approx(GROUP_LRS, rel=1e-12)


def test_explicit_args_win_over_derived_ones() -> None:
    assert_same_as(
        {"lr_scheduler_name": "MultiStepLR", "steps": [10], "gamma": 0.5, "args": {"milestones": [5, 20]}},
        lambda o: lr_scheduler.MultiStepLR(o, milestones=[5, 20], gamma=0.5),
    )
    assert_same_as(
        {"lr_scheduler_name": "MultiStepLR", "steps": [10], "gamma": 0.5, "args": {"gamma": 0.2}},
        lambda o: lr_scheduler.MultiStepLR(o, milestones=[10], gamma=0.2),
    )
    assert_same_as(
        {
            "lr_scheduler_name": "CosineAnnealingLR",
            "max_iter": 100,
            "base_lr_end": 0.001,
            "args": {"T_max": 20, "eta_min": 0.0005},
        },
        lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=20, eta_min=0.0005),
    )
    assert_same_as(
        {"lr_scheduler_name": "PolynomialLR", "max_iter": 100, "args": {"total_iters": 30}},
        lambda o: lr_scheduler.PolynomialLR(o, total_iters=30),
    )
    assert_same_as(
        {
            "lr_scheduler_name": "OneCycleLR",
            "max_iter": 30,
            "args": {"total_steps": N_STEPS + 1, "max_lr": 0.5},
        },
        lambda o: lr_scheduler.OneCycleLR(o, max_lr=0.5, total_steps=N_STEPS + 1),
    )


def test_one_cycle_epochs_replace_total_steps_derived_from_max_iter() -> None:
    assert_same_as(
        {"lr_scheduler_name": "OneCycleLR", "max_iter": 10, "args": {"epochs": 7, "steps_per_epoch": 10}},
        lambda o: lr_scheduler.OneCycleLR(o, max_lr=list(GROUP_LRS), epochs=7, steps_per_epoch=10),
    )


@pytest.mark.parametrize("strategy", ["cos", "linear"])
def test_one_cycle_holds_its_last_lr_from_total_steps_on_where_torch_extrapolates_or_raises(strategy) -> None:
    total = 20
    scheduler, optimizer = build(
        {"lr_scheduler_name": "OneCycleLR", "max_iter": total, "args": {"anneal_strategy": strategy}}
    )
    ref, ref_optimizer = reference(
        lambda o: lr_scheduler.OneCycleLR(
            o, max_lr=list(GROUP_LRS), total_steps=total, anneal_strategy=strategy
        )
    )
    lrs = trajectory(scheduler, optimizer, n=total + 5)
    assert lrs[:total] == trajectory(ref, ref_optimizer, n=total - 1)
    assert lrs[total - 1 :] == [lrs[total - 1]] * (len(lrs) - total + 1) and min(lrs[-1]) > 0


def test_common_keys_are_not_derived_where_torch_means_something_else() -> None:
    # SequentialLR's milestones are where children switch, not solver.steps
    with pytest.raises(ConfigError, match=r"solver\.args\.milestones is required by SequentialLR"):
        build(
            {
                "lr_scheduler_name": "SequentialLR",
                "steps": [10],
                "args": {
                    "schedulers": [{"lr_scheduler_name": "ConstantLR"}, {"lr_scheduler_name": "ConstantLR"}]
                },
            }
        )
    # CyclicLR's gamma is exp_range's per-iteration decay, not solver.gamma
    scheduler, _ = build(
        {"lr_scheduler_name": "CyclicLR", "gamma": 0.5, "args": {"base_lr": 0.001, "mode": "exp_range"}}
    )
    assert scheduler.gamma == 1.0


def test_derived_args_are_only_taken_from_keys_the_user_set() -> None:
    # solver.max_iter defaults to 40000; CosineAnnealingLR must not silently use it
    with pytest.raises(ConfigError, match=r"solver\.args\.T_max is required .*solver\.max_iter"):
        build({"lr_scheduler_name": "CosineAnnealingLR"})
    scheduler, _ = build({"lr_scheduler_name": "PolynomialLR"})
    assert scheduler.total_iters == 5  # torch's default, not solver.max_iter's


def test_nested_children_inherit_common_keys_from_the_outer_solver() -> None:
    assert_same_as(
        {
            "lr_scheduler_name": "SequentialLR",
            "max_iter": 40,
            "base_lr_end": 0.001,
            "args": {
                "schedulers": [
                    {"lr_scheduler_name": "LinearLR", "args": {"start_factor": 0.2, "total_iters": 10}},
                    {"lr_scheduler_name": "CosineAnnealingLR"},
                ],
                "milestones": [10],
            },
        },
        lambda o: lr_scheduler.SequentialLR(
            o,
            [
                lr_scheduler.LinearLR(o, start_factor=0.2, total_iters=10),
                lr_scheduler.CosineAnnealingLR(o, T_max=40, eta_min=0.001),
            ],
            milestones=[10],
        ),
    )


# --- multiplicative warmup on torch's schedulers --------------------------------------

WARMUP_ITERS = 15
WARMUP_FACTOR = 0.01


def warmup_factor_at(method: str, i: int, w: int = WARMUP_ITERS, f: float = WARMUP_FACTOR) -> float:
    """The warmup multiplier, in closed form (deliberately not schedreg's code)."""
    if i >= w or method == "none":
        return 1.0
    if method == "linear":
        return f * (1 - i / w) + i / w
    if method == "constant":
        return f
    if method == "exponential":
        return f ** (1 - i / w)
    if method == "cosine":
        return f + (1 - f) * (1 - math.cos(math.pi * i / w)) / 2
    raise AssertionError(method)


WARMED: dict[str, tuple[dict[str, Any], Callable[[torch.optim.Optimizer], Any], bool]] = {
    "CosineAnnealingLR": (
        {"lr_scheduler_name": "CosineAnnealingLR", "args": {"T_max": 40, "eta_min": 0.001}},
        lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=40, eta_min=0.001),
        False,
    ),
    "ReduceLROnPlateau": (
        {"lr_scheduler_name": "ReduceLROnPlateau", "args": {"factor": 0.5, "patience": 2}},
        lambda o: lr_scheduler.ReduceLROnPlateau(o, factor=0.5, patience=2),
        True,
    ),
    "StepLR": (
        {"lr_scheduler_name": "StepLR", "args": {"step_size": 4, "gamma": 0.7}},
        lambda o: lr_scheduler.StepLR(o, step_size=4, gamma=0.7),
        False,
    ),
}


@pytest.mark.parametrize("method", ["linear", "constant", "exponential", "cosine", "none"])
@pytest.mark.parametrize("name", list(WARMED))
def test_warmup_multiplies_torchs_lr_by_the_warmup_factor(name: str, method: str) -> None:
    solver, make, plateau = WARMED[name]
    solver = {
        **solver,
        "warmup_iters": WARMUP_ITERS,
        "warmup_factor": WARMUP_FACTOR,
        "warmup_method": method,
    }
    scheduler, optimizer = build(solver)
    ref, ref_optimizer = reference(make)
    actual = trajectory(scheduler, optimizer, plateau=plateau)
    plain = trajectory(ref, ref_optimizer, plateau=plateau)
    for i, (got, torch_lrs) in enumerate(zip(actual, plain, strict=True)):
        expected = tuple(lr * warmup_factor_at(method, i) for lr in torch_lrs)
        assert got == pytest.approx(expected, rel=1e-12, abs=0), f"step {i}: {got} != {expected}"
        if i >= WARMUP_ITERS or method == "none":
            assert got == torch_lrs, f"step {i}: after warmup the lrs must be torch's exactly"
    if name == "ReduceLROnPlateau":
        assert plain[-1][0] < plain[WARMUP_ITERS][0], "the plateau should reduce the lr after warmup"


def test_warmup_starts_at_warmup_factor_times_the_group_lrs() -> None:
    _, optimizer = build(
        {"lr_scheduler_name": "StepLR", "args": {"step_size": 100}, "warmup_iters": 10, "warmup_factor": 0.1}
    )
    assert lrs_of(optimizer) == pytest.approx([0.1 * lr for lr in GROUP_LRS], rel=1e-12)


def test_torch_builtins_have_no_warmup_by_default() -> None:
    scheduler, optimizer = build({"lr_scheduler_name": "StepLR", "args": {"step_size": 100}})
    assert isinstance(scheduler, schedreg.ScaledLR)
    assert lrs_of(optimizer) == GROUP_LRS


def test_warmup_on_sequential_lr_scales_the_whole_sequence() -> None:
    solver, make, _ = EQUIVALENT["SequentialLR"]
    scheduler, optimizer = build(
        {**solver, "warmup_iters": 8, "warmup_method": "linear", "warmup_factor": 0.2}
    )
    ref, ref_optimizer = reference(make)
    for i, (got, torch_lrs) in enumerate(
        zip(trajectory(scheduler, optimizer), trajectory(ref, ref_optimizer), strict=True)
    ):
        expected = tuple(lr * warmup_factor_at("linear", i, w=8, f=0.2) for lr in torch_lrs)
        assert got == pytest.approx(expected, rel=1e-12, abs=0), f"step {i}"


def test_warmup_longer_than_max_iter_is_rejected() -> None:
    with pytest.raises(ConfigError, match=r"solver\.warmup_iters must be smaller than solver\.max_iter"):
        build({"lr_scheduler_name": "CosineAnnealingLR", "max_iter": 10, "warmup_iters": 10})


# --- errors ---------------------------------------------------------------------------


def test_unknown_argument_names_the_key_and_lists_allowed_parameters() -> None:
    with pytest.raises(ConfigError, match=r"solver\.args\.stepsize .*StepLR.*allowed: step_size, gamma"):
        build({"lr_scheduler_name": "StepLR", "args": {"step_size": 5, "stepsize": 3}})


def test_constructor_internals_are_not_arguments() -> None:
    with pytest.raises(ConfigError, match=r"solver\.args\.optimizer"):
        build({"lr_scheduler_name": "StepLR", "args": {"step_size": 5, "optimizer": "SGD"}})


def test_missing_required_argument_names_the_key() -> None:
    with pytest.raises(ConfigError, match=r"solver\.args\.step_size is required by StepLR"):
        build({"lr_scheduler_name": "StepLR"})
    with pytest.raises(ConfigError, match=r"solver\.args\.lr_lambda is required by LambdaLR"):
        build({"lr_scheduler_name": "LambdaLR"})


def test_missing_argument_in_upper_case_config_uses_upper_case_path() -> None:
    optimizer = make_optimizer()
    with pytest.raises(ConfigError, match=r"SOLVER\.ARGS\.step_size is required"):
        build_lr_scheduler({"SOLVER": {"LR_SCHEDULER_NAME": "StepLR", "ARGS": {}}}, optimizer)


@pytest.mark.parametrize(
    ("args", "pattern"),
    [
        ({"step_size": "abc"}, r"solver\.args\.step_size must be an integer, or a string like .*got 'abc'"),
        ({"step_size": 2.5}, r"solver\.args\.step_size must be int, got 2\.5"),
        ({"step_size": 2.5}, r"solver\.args\.step_size must be int, got 2\.5"),
        ({"step_size": True}, r"solver\.args\.step_size must be int, got True"),
        ({"step_size": 5, "gamma": "0.5"}, r"solver\.args\.gamma must be float, got '0\.5'"),
    ],
)
def test_wrong_argument_type_names_the_key(args: dict[str, Any], pattern: str) -> None:
    with pytest.raises(ConfigError, match=pattern):
        build({"lr_scheduler_name": "StepLR", "args": args})


def test_wrong_literal_value_names_the_key() -> None:
    with pytest.raises(ConfigError, match=r"solver\.args\.mode must be Literal\['min', 'max'\], got 'up'"):
        build({"lr_scheduler_name": "ReduceLROnPlateau", "args": {"mode": "up"}})


def test_value_torch_rejects_is_a_config_error_naming_the_args() -> None:
    with pytest.raises(ConfigError, match=r"solver\.args: LinearLR rejected .*start_factor"):
        build({"lr_scheduler_name": "LinearLR", "args": {"start_factor": 2.0}})
    with pytest.raises(ConfigError, match=r"solver\.args: OneCycleLR rejected .*pct_start"):
        build({"lr_scheduler_name": "OneCycleLR", "args": {"total_steps": 10, "pct_start": 1.5}})


@pytest.mark.parametrize(
    ("name", "args", "message"),
    [
        ("StepLR", {"step_size": 7, "gamma": -0.5}, r"solver\.args\.gamma must be >= 0, got -0\.5"),
        ("StepLR", {"step_size": 0}, r"solver\.args\.step_size must be > 0, got 0"),
        ("CyclicLR", {"base_lr": -0.01}, r"solver\.args\.base_lr must be >= 0, got -0\.01"),
        ("CyclicLR", {"base_lr": [0.01, -0.01]}, r"solver\.args\.base_lr must be >= 0"),
        ("ConstantLR", {"factor": 0.0}, r"solver\.args\.factor must be > 0, got 0\.0"),
        ("ReduceLROnPlateau", {"factor": -0.5}, r"solver\.args\.factor must be >= 0, got -0\.5"),
        ("OneCycleLR", {"total_steps": 0}, r"solver\.args\.total_steps must be > 0, got 0"),
    ],
)
def test_values_torch_accepts_but_turns_into_a_negative_lr_or_a_crash_are_refused(
    name, args, message
) -> None:
    with pytest.raises(ConfigError, match=message):
        build({"lr_scheduler_name": name, "args": args})


@pytest.mark.parametrize(
    "path",
    [f"{LAMBDAS}.no_such_function", "no_such_module_xyz.fn", "halve_every_10", f"{LAMBDAS}.LAMBDAS_NOT_HERE"],
)
def test_bad_lr_lambda_path_names_the_key(path: str) -> None:
    with pytest.raises(ConfigError, match=r"solver\.args\.lr_lambda must be an importable function path"):
        build({"lr_scheduler_name": "LambdaLR", "args": {"lr_lambda": path}})


def test_lr_lambda_path_to_a_non_function_is_rejected() -> None:
    with pytest.raises(ConfigError, match=r"solver\.args\.lr_lambda .*not callable"):
        build({"lr_scheduler_name": "LambdaLR", "args": {"lr_lambda": f"{LAMBDAS}.__name__"}})


def test_lr_lambda_that_is_not_a_string_is_rejected() -> None:
    with pytest.raises(
        ConfigError, match=r"solver\.args\.lr_lambda should be a function: a dotted import path"
    ):
        build({"lr_scheduler_name": "LambdaLR", "args": {"lr_lambda": 3}})


def test_nested_scheduler_with_warmup_iters_is_rejected() -> None:
    with pytest.raises(ConfigError, match=r"solver\.args\.schedulers\[1\]\.warmup_iters must be 0"):
        build(
            {
                "lr_scheduler_name": "SequentialLR",
                "args": {
                    "schedulers": [
                        {"lr_scheduler_name": "ConstantLR"},
                        {"lr_scheduler_name": "ExponentialLR", "warmup_iters": 5, "args": {"gamma": 0.9}},
                    ],
                    "milestones": [5],
                },
            }
        )


def test_nested_child_errors_name_the_child_path() -> None:
    with pytest.raises(ConfigError, match=r"solver\.args\.schedulers\[0\]\.args\.step_size is required"):
        build(
            {
                "lr_scheduler_name": "ChainedScheduler",
                "args": {"schedulers": [{"lr_scheduler_name": "StepLR"}]},
            }
        )
    with pytest.raises(ConfigError, match=r"solver\.args\.schedulers\[0\]\.lr_scheduler_name"):
        build(
            {"lr_scheduler_name": "ChainedScheduler", "args": {"schedulers": [{"lr_scheduler_name": "Nope"}]}}
        )


def test_empty_schedulers_list_is_rejected() -> None:
    with pytest.raises(ConfigError, match=r"solver\.args\.schedulers must be a non-empty list"):
        build({"lr_scheduler_name": "ChainedScheduler", "args": {"schedulers": []}})


@pytest.mark.parametrize("parent", ["SequentialLR", "ChainedScheduler"])
def test_reduce_lr_on_plateau_inside_a_composite_is_rejected(parent: str) -> None:
    args: dict[str, Any] = {
        "schedulers": [
            {"lr_scheduler_name": "ConstantLR"},
            {"lr_scheduler_name": "ReduceLROnPlateau"},
        ]
    }
    if parent == "SequentialLR":
        args["milestones"] = [5]
    with pytest.raises(ConfigError, match=rf"solver\.args.*{parent}.*ReduceLROnPlateau"):
        build({"lr_scheduler_name": parent, "args": args})


def test_unknown_scheduler_name_suggests_the_registered_one() -> None:
    with pytest.raises(ConfigError, match=r"solver\.lr_scheduler_name.*'CosineAnnealingLR'"):
        build({"lr_scheduler_name": "CosineAnealingLR"})


def test_a_negative_tensor_lr_is_refused_like_a_float_one():
    optimizer = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=torch.tensor(0.1))
    scheduler = schedreg.build_lr_scheduler(
        {
            "solver": {
                "lr_scheduler_name": "LambdaLR",
                "args": {"lr_lambda": f"{LAMBDAS}.negative_after_start"},
            }
        },
        optimizer,
    )
    with pytest.raises(schedreg.ConfigError, match=r"LambdaLR' produced lr tensor\(-0\.0500\) at step 1"):
        scheduler.step()
