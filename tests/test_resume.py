"""Checkpoint and resume: every registered scheduler continues exactly after a restart."""

from __future__ import annotations

import io
import itertools
import pickle
from typing import Any

import pytest
import torch

from schedreg import SCHEDULERS, build_lr_scheduler

try:  # `python -m pytest` from the repo root
    from tests import lambdas
except ModuleNotFoundError:  # plain `pytest`: tests/ itself is on sys.path
    import lambdas  # type: ignore[no-redef]

LAMBDAS = lambdas.__name__
GROUP_LRS = (0.1, 0.02)
TOTAL = 40
WARMUP = 5
STOPS = (0, 3, 7, 23)  # 3 is inside the warmup of every case that has one

# One sample config per registered name. Every new registration needs a case here.
CASES: dict[str, dict[str, Any]] = {
    "WarmupMultiStepLR": {"max_iter": TOTAL, "steps": [10, 25], "gamma": 0.5, "warmup_iters": WARMUP},
    "WarmupCosineLR": {
        "max_iter": TOTAL,
        "base_lr": 0.1,
        "base_lr_end": 0.001,
        "warmup_iters": WARMUP,
        "warmup_factor": 0.01,
    },
    "WarmupStepWithFixedGammaLR": {
        "max_iter": TOTAL,
        "num_decays": 3,
        "gamma": 0.5,
        "warmup_iters": WARMUP,
        "warmup_method": "cosine",
    },
    "WarmupPolyLR": {
        "max_iter": TOTAL,
        "poly_lr_power": 0.9,
        "warmup_iters": WARMUP,
        "warmup_method": "exponential",
        "warmup_factor": 0.01,
    },
    "constant": {"warmup_iters": WARMUP, "warmup_method": "cosine"},
    "constant_with_warmup": {"warmup_iters": WARMUP},
    "linear": {"max_iter": TOTAL, "warmup_iters": WARMUP},
    "cosine": {"max_iter": TOTAL, "warmup_iters": WARMUP, "args": {"num_cycles": 1.5}},
    "cosine_with_restarts": {"max_iter": TOTAL, "warmup_iters": WARMUP, "args": {"num_cycles": 3}},
    "polynomial": {"max_iter": TOTAL, "warmup_iters": WARMUP, "args": {"lr_end": 1e-4, "power": 2.0}},
    "inverse_sqrt": {"warmup_iters": WARMUP},
    "cosine_with_min_lr": {"max_iter": TOTAL, "warmup_iters": WARMUP, "args": {"min_lr_rate": 0.1}},
    "warmup_stable_decay": {"max_iter": TOTAL, "warmup_iters": WARMUP, "args": {"num_decay_steps": 15}},
    "reduce_lr_on_plateau": {"warmup_iters": WARMUP, "args": {"patience": 1, "factor": 0.5}},
    "deepspeed.WarmupLR": {"warmup_iters": WARMUP, "args": {"warmup_max_lr": 0.05}},
    "deepspeed.WarmupDecayLR": {"max_iter": TOTAL, "warmup_iters": WARMUP, "args": {"warmup_type": "linear"}},
    "deepspeed.WarmupCosineLR": {"max_iter": TOTAL, "warmup_iters": WARMUP, "args": {"cos_min_ratio": 0.1}},
    "deepspeed.LRRangeTest": {"args": {"lr_range_test_min_lr": 0.01, "lr_range_test_step_size": 7}},
    **{
        f"nemo.{name}": {
            "max_iter": TOTAL,
            "warmup_iters": 0 if name.startswith("T5") else WARMUP,
            "args": args,
        }
        for name, args in {
            "WarmupPolicy": {},
            "WarmupHoldPolicy": {"hold_steps": 5},
            "CosineAnnealing": {"min_lr": 0.001, "constant_steps": 4},
            "WarmupAnnealing": {"min_lr": 0.001},
            "SquareAnnealing": {},
            "SquareRootAnnealing": {},
            "InverseSquareRootAnnealing": {},
            "T5InverseSquareRootAnnealing": {"constant_steps": 4},
            "NoamAnnealing": {"d_model": 4},
            "NoamHoldAnnealing": {"hold_steps": 3},
            "PolynomialDecayAnnealing": {"power": 2.0, "cycle": True},
            "PolynomialHoldDecayAnnealing": {"hold_steps": 5},
            "WarmupHoldAnnealLinear": {"hold_ratio": 0.2},
            "WarmupHoldAnnealOneMinusSquareRoot": {"hold_steps": 5, "min_lr": 0.001},
        }.items()
    },
    "megatron.OptimizerParamScheduler": {
        "max_iter": TOTAL,
        "warmup_iters": WARMUP,
        "args": {"lr_decay_style": "cosine", "init_lr": 0.001, "min_lr": 0.001},
    },
    "deepspeed.OneCycle": {
        "args": {
            "cycle_min_lr": 0.01,
            "cycle_max_lr": 0.1,
            "cycle_first_step_size": 8,
            "decay_lr_rate": 0.5,
            "decay_step_size": 4,
        },
    },
    **{
        f"composer.{name}": {"max_iter": TOTAL, "warmup_iters": WARMUP, "args": args}
        for name, args in {
            "StepScheduler": {"step_size": "7ba", "gamma": 0.5},
            "MultiStepScheduler": {"milestones": ["10ba", "25ba"], "gamma": 0.3},
            "ConstantScheduler": {"alpha": 0.5, "t_max": "0.3dur"},
            "LinearScheduler": {"alpha_i": 0.9, "alpha_f": 0.1},
            "ExponentialScheduler": {"gamma": 0.9, "decay_period": "3ba"},
            "CosineAnnealingScheduler": {"alpha_f": 0.05, "trainer_lag": True},
            "CosineAnnealingWarmRestartsScheduler": {"t_0": "6ba", "t_mult": 1.5, "alpha_f": 0.01},
            "PolynomialScheduler": {"power": 2.0, "alpha_f": 0.02},
            "MultiStepWithWarmupScheduler": {"milestones": ["12ba", "30ba"], "gamma": 0.5},
            "ConstantWithWarmupScheduler": {"alpha": 0.8},
            "LinearWithWarmupScheduler": {"alpha_f": 0.1, "trainer_lag": True},
            "CosineAnnealingWithWarmupScheduler": {"alpha_f": 0.1},
            "PolynomialWithWarmupScheduler": {
                **{"t_warmup": "20sp", "max_duration": "160sp", "samples_per_batch": 4},
                **{"power": 1.5, "alpha_f": 0.05},
            },
            "InverseSquareRootWithWarmupScheduler": {
                "t_scale": "5ba",
                "t_cooldown": "10ba",
                "alpha_f_decay": 0.1,
            },
        }.items()
    },
    "mmengine.param_scheduler": {
        "max_iter": TOTAL,
        "iters_per_epoch": 10,
        "args": {
            "max_epochs": 4,
            "param_scheduler": [
                {"type": "LinearLR", "start_factor": 0.1, "by_epoch": False, "end": WARMUP},
                {"type": "CosineAnnealingLR", "eta_min_ratio": 0.01, "by_epoch": True},
                {"type": "StepMomentum", "step_size": 15, "gamma": 0.9, "by_epoch": False},
            ],
        },
    },
    "Interpolate": {
        "warmup_iters": WARMUP,
        "args": {"points": [[0, 1.0], [12, 0.4], [30, 0.8]], "shape": "cosine"},
    },
    "LambdaLR": {
        "warmup_iters": WARMUP,
        "args": {"lr_lambda": [f"{LAMBDAS}.halve_every_10", f"{LAMBDAS}.inverse_sqrt"]},
    },
    "MultiplicativeLR": {
        "warmup_iters": WARMUP,
        "warmup_method": "constant",
        "warmup_factor": 0.1,
        "args": {"lr_lambda": f"{LAMBDAS}.shrink_slowly"},
    },
    "StepLR": {"warmup_iters": WARMUP, "args": {"step_size": 7, "gamma": 0.5}},
    "MultiStepLR": {"steps": [10, 20], "gamma": 0.3, "warmup_iters": WARMUP},
    "ConstantLR": {"args": {"factor": 0.5, "total_iters": 12}},
    "LinearLR": {"warmup_iters": WARMUP, "args": {"start_factor": 0.2, "total_iters": 20}},
    "ExponentialLR": {"warmup_iters": WARMUP, "warmup_method": "cosine", "args": {"gamma": 0.95}},
    "SequentialLR": {
        "max_iter": TOTAL,
        "warmup_iters": WARMUP,
        "args": {
            "schedulers": [
                {"lr_scheduler_name": "LinearLR", "args": {"start_factor": 0.2, "total_iters": 10}},
                {"lr_scheduler_name": "CosineAnnealingLR"},
            ],
            "milestones": [10],
        },
    },
    "PolynomialLR": {"max_iter": TOTAL, "warmup_iters": WARMUP, "args": {"power": 2.0}},
    "CosineAnnealingLR": {"max_iter": TOTAL, "base_lr_end": 0.001, "warmup_iters": WARMUP},
    "ChainedScheduler": {
        "warmup_iters": WARMUP,
        "args": {
            "schedulers": [
                {"lr_scheduler_name": "ConstantLR", "args": {"factor": 0.5, "total_iters": 9}},
                {"lr_scheduler_name": "ExponentialLR", "args": {"gamma": 0.9}},
            ]
        },
    },
    "ReduceLROnPlateau": {
        "warmup_iters": WARMUP,
        "args": {"factor": 0.5, "patience": 2, "cooldown": 1},
    },
    "CyclicLR": {
        "warmup_iters": WARMUP,
        "args": {"base_lr": 0.001, "step_size_up": 6, "mode": "exp_range", "gamma": 0.97},
    },
    "CosineAnnealingWarmRestarts": {"warmup_iters": WARMUP, "args": {"T_0": 5, "T_mult": 2, "eta_min": 1e-4}},
    "OneCycleLR": {"max_iter": TOTAL, "args": {"pct_start": 0.25}},
    "SWALR": {
        "warmup_iters": WARMUP,
        "args": {"swa_lr": 0.01, "anneal_epochs": 6, "anneal_strategy": "linear"},
    },
    "CosineLRScheduler": {
        "warmup_iters": WARMUP,
        "args": {"t_initial": 12, "warmup_lr_init": 1e-4, "cycle_mul": 1.5, "cycle_limit": 3},
    },
    "TanhLRScheduler": {"max_iter": TOTAL, "warmup_iters": WARMUP, "args": {"warmup_lr_init": 1e-3}},
    "PolyLRScheduler": {"args": {"t_initial": 15, "power": 2.0, "cycle_limit": 2, "cycle_decay": 0.5}},
    "StepLRScheduler": {"args": {"decay_t": 8, "decay_rate": 0.5, "noise_range_t": [6, 30]}},
    "MultiStepLRScheduler": {"steps": [10, 25], "gamma": 0.3, "warmup_iters": WARMUP},
    "PlateauLRScheduler": {
        "warmup_iters": WARMUP,
        "args": {"patience_t": 1, "mode": "min", "noise_range_t": [9, 30], "noise_pct": 0.2},
    },
}

# More shapes worth resuming, beyond one per name.
VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "WarmupCosineLR-rescale_interval": (
        "WarmupCosineLR",
        {"max_iter": TOTAL, "warmup_iters": WARMUP, "rescale_interval": True},
    ),
    "WarmupMultiStepLR-no-warmup": (
        "WarmupMultiStepLR",
        {"max_iter": TOTAL, "steps": [4, 30], "warmup_method": "none"},
    ),
    "CyclicLR-triangular2": (
        "CyclicLR",
        {"args": {"base_lr": [0.001, 0.0005], "step_size_up": 4, "mode": "triangular2"}},
    ),
    "OneCycleLR-warmup": ("OneCycleLR", {"max_iter": TOTAL, "warmup_iters": WARMUP}),
    "megatron-WSD-in-samples": (
        "megatron.OptimizerParamScheduler",
        {
            "max_iter": TOTAL,
            "warmup_iters": WARMUP,
            "args": {
                "lr_decay_style": "WSD",
                "wsd_decay_steps": 60,  # samples: the last 15 iterations
                "lr_wsd_decay_style": "minus_sqrt",
                "increment": 4,
                "start_wd": 0.0,
                "end_wd": 0.1,
                "wd_incr_style": "cosine",
            },
        },
    ),
    "megatron-inverse-square-root": (
        "megatron.OptimizerParamScheduler",
        {
            "max_iter": 30,
            "warmup_iters": WARMUP,
            "args": {"lr_decay_style": "inverse-square-root", "min_lr": 0.001},
        },
    ),
    "ReduceLROnPlateau-max-mode": (
        "ReduceLROnPlateau",
        {"args": {"mode": "max", "factor": 0.7, "patience": 1, "threshold_mode": "abs"}},
    ),
}

ALL_CASES: dict[str, tuple[str, dict[str, Any]]] = {
    **{name: (name, solver) for name, solver in CASES.items()},
    **VARIANTS,
}


def make_optimizer() -> torch.optim.Optimizer:
    params = [torch.nn.Parameter(torch.zeros(3)) for _ in GROUP_LRS]
    groups = [{"params": [p], "lr": lr} for p, lr in zip(params, GROUP_LRS, strict=True)]
    return torch.optim.SGD(groups, lr=GROUP_LRS[0], momentum=0.9)


def build(case: str) -> tuple[Any, torch.optim.Optimizer]:
    name, solver = ALL_CASES[case]
    optimizer = make_optimizer()
    return build_lr_scheduler({"solver": {"lr_scheduler_name": name, **solver}}, optimizer), optimizer


def plateau_metric(i: int) -> float:
    """Improves for 6 steps, then plateaus (and rises slightly, for mode='max')."""
    return 1.0 / (1 + min(i, 6))


def lrs_of(optimizer: torch.optim.Optimizer) -> tuple[float, ...]:
    return tuple(float(group["lr"]) for group in optimizer.param_groups)


def advance(case: str, scheduler: Any, optimizer: torch.optim.Optimizer, i: int) -> None:
    """Iteration ``i``: the optimizer steps, then the scheduler."""
    optimizer.step()
    if getattr(scheduler, "takes_metric", False):  # ReduceLROnPlateau, under either name
        scheduler.step(plateau_metric(i))
    else:
        scheduler.step()


def uninterrupted(case: str, total: int = TOTAL) -> list[tuple[float, ...]]:
    scheduler, optimizer = build(case)
    lrs = [lrs_of(optimizer)]
    for i in range(total):
        advance(case, scheduler, optimizer, i)
        lrs.append(lrs_of(optimizer))
    return lrs


def continue_and_compare(
    case: str, scheduler: Any, optimizer: torch.optim.Optimizer, start: int, expected: list[tuple[float, ...]]
) -> None:
    assert lrs_of(optimizer) == expected[start], (
        f"right after restoring at step {start}: {lrs_of(optimizer)} != {expected[start]}"
    )
    for i in range(start, TOTAL):
        advance(case, scheduler, optimizer, i)
        assert lrs_of(optimizer) == expected[i + 1], (
            f"resumed at {start}, after {i + 1} steps: {lrs_of(optimizer)} != {expected[i + 1]}"
        )


def test_every_registered_scheduler_has_a_resume_case() -> None:
    assert set(CASES) == set(SCHEDULERS)


def test_each_case_changes_the_lr() -> None:
    for case in ALL_CASES:
        assert len(set(uninterrupted(case))) > 1, case


@pytest.mark.parametrize("k", STOPS)
@pytest.mark.parametrize("case", list(ALL_CASES))
def test_state_dict_resume_continues_exactly(case: str, k: int) -> None:
    expected = uninterrupted(case)

    scheduler, optimizer = build(case)
    for i in range(k):
        advance(case, scheduler, optimizer, i)
    assert lrs_of(optimizer) == expected[k]
    buffer = io.BytesIO()
    torch.save(scheduler.state_dict(), buffer)
    buffer.seek(0)
    state = torch.load(buffer, weights_only=True)

    fresh, fresh_optimizer = build(case)  # new params, same initial lrs
    fresh.load_state_dict(state)
    assert list(fresh.get_last_lr()) == list(expected[k])
    continue_and_compare(case, fresh, fresh_optimizer, k, expected)


@pytest.mark.parametrize("k", [3, 23])
@pytest.mark.parametrize("case", list(ALL_CASES))
def test_checkpoint_of_optimizer_and_scheduler_together_continues_exactly(case: str, k: int) -> None:
    """The usual flow: build both, load the optimizer's state, then the scheduler's."""
    expected = uninterrupted(case)

    scheduler, optimizer = build(case)
    for i in range(k):
        advance(case, scheduler, optimizer, i)
    buffer = io.BytesIO()
    torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()}, buffer)
    buffer.seek(0)
    checkpoint = torch.load(buffer, weights_only=True)

    fresh, fresh_optimizer = build(case)
    fresh_optimizer.load_state_dict(checkpoint["optimizer"])
    fresh.load_state_dict(checkpoint["scheduler"])
    continue_and_compare(case, fresh, fresh_optimizer, k, expected)


# An unpickled optimizer's step() is no longer torch's wrapped one, so a child of SequentialLR that
# takes its first step after unpickling warns about it (torch's behaviour, harmless here).
@pytest.mark.filterwarnings("ignore:Seems like `optimizer.step\\(\\)` has been overridden")
@pytest.mark.parametrize("k", [3, 7])
@pytest.mark.parametrize("case", list(ALL_CASES))
def test_pickled_optimizer_and_scheduler_continue_exactly(case: str, k: int) -> None:
    expected = uninterrupted(case)

    scheduler, optimizer = build(case)
    for i in range(k):
        advance(case, scheduler, optimizer, i)
    restored = pickle.loads(pickle.dumps({"optimizer": optimizer, "scheduler": scheduler}))
    assert restored["scheduler"].optimizer is restored["optimizer"]
    continue_and_compare(case, restored["scheduler"], restored["optimizer"], k, expected)


def test_loading_state_does_not_depend_on_the_fresh_schedulers_own_progress() -> None:
    """Loading step 7's state into a scheduler that already ran 20 steps gives step 7's lrs."""
    expected = uninterrupted("SequentialLR")
    scheduler, optimizer = build("SequentialLR")
    for i in range(7):
        advance("SequentialLR", scheduler, optimizer, i)
    state = scheduler.state_dict()
    other, other_optimizer = build("SequentialLR")
    for i in range(20):
        advance("SequentialLR", other, other_optimizer, i)
    other.load_state_dict(state)
    continue_and_compare("SequentialLR", other, other_optimizer, 7, expected)


# --- past max_iter ---------------------------------------------------------------------

DETECTRON2 = ("WarmupMultiStepLR", "WarmupCosineLR", "WarmupStepWithFixedGammaLR", "WarmupPolyLR")
SHORT = 20


@pytest.mark.parametrize("name", DETECTRON2)
def test_detectron2_schedules_hold_the_final_value_past_max_iter(name: str) -> None:
    solver = {
        **CASES[name],
        "lr_scheduler_name": name,
        "max_iter": SHORT,
        "steps": [8, 15],
        "poly_lr_constant_ending": 0.05,
    }
    optimizer = make_optimizer()
    scheduler = build_lr_scheduler({"solver": solver}, optimizer)
    lrs = [lrs_of(optimizer)]
    for _ in range(3 * SHORT):
        optimizer.step()
        scheduler.step()  # no exception past max_iter
        lrs.append(lrs_of(optimizer))
    final = lrs[SHORT]
    assert all(lr == final for lr in lrs[SHORT:]), f"{name} moves after max_iter: {lrs[SHORT:]}"
    after_warmup = lrs[WARMUP:]
    for a, b in itertools.pairwise(after_warmup):
        assert b[0] <= a[0] and b[1] <= a[1], f"{name} rises after warmup: {a} -> {b}"
    assert final[0] < GROUP_LRS[0]


def test_detectron2_cosine_ends_at_base_lr_end_and_stays() -> None:
    optimizer = make_optimizer()
    scheduler = build_lr_scheduler(
        {
            "solver": {
                "lr_scheduler_name": "WarmupCosineLR",
                "max_iter": SHORT,
                "base_lr": 0.1,
                "base_lr_end": 0.001,
                "warmup_iters": WARMUP,
            }
        },
        optimizer,
    )
    for step in range(1, 3 * SHORT + 1):
        optimizer.step()
        scheduler.step()
        if step >= SHORT:
            assert lrs_of(optimizer) == pytest.approx([lr * 0.01 for lr in GROUP_LRS], rel=1e-9)
