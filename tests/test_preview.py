"""``schedreg.lr_curve``: the whole curve at once equals what the scheduler writes."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from schedreg import ConfigError, build_lr_scheduler, lr_curve, solver_config
from schedreg.schedules import core, detectron2, piecewise, transformers, warmup

try:  # `python -m pytest` from the repo root
    from tests.test_resume import CASES
except ModuleNotFoundError:  # plain `pytest`: tests/ itself is on sys.path
    from test_resume import CASES  # type: ignore[no-redef]

STEPS, BASE_LR = 40, 0.3  # OneCycleLR's case runs 40 steps


def stepped(solver: dict[str, Any], num_steps: int, base_lr: float) -> list[float]:
    """The lrs of a group at ``base_lr`` in an optimizer made as build_optimizer makes it
    (its default lr is solver.base_lr, which some schedules read: polynomial's lr_end)."""
    group = {"params": [torch.nn.Parameter(torch.zeros(1))], "lr": base_lr}
    optimizer = torch.optim.SGD([group], lr=solver_config(solver).base_lr)
    scheduler = build_lr_scheduler({"solver": solver}, optimizer)
    optimizer._opt_called = True  # this test steps no optimizer
    lrs = []
    for _ in range(num_steps):
        lrs.append(float(optimizer.param_groups[0]["lr"]))
        scheduler.step(1.0) if getattr(scheduler, "takes_metric", False) else scheduler.step()
    return lrs


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_curve_of_every_registered_schedule_is_what_its_scheduler_writes(name):
    solver = {"lr_scheduler_name": name, **CASES[name]}
    if name == "LambdaLR":  # one function per group, and a curve is of one group
        solver["args"] = {"lr_lambda": solver["args"]["lr_lambda"][0]}
    curve = lr_curve({"solver": solver}, STEPS, base_lr=BASE_LR)
    assert curve.shape == (STEPS,) and curve.dtype == torch.float64
    assert curve.tolist() == pytest.approx(stepped(solver, STEPS, BASE_LR), rel=1e-15, abs=0)


VECTORIZED = [
    {"lr_scheduler_name": "WarmupMultiStepLR", "max_iter": 100, "steps": [30, 70], "warmup_iters": 10},
    {"lr_scheduler_name": "WarmupCosineLR", "max_iter": 100, "warmup_iters": 10, "rescale_interval": True},
    {
        "lr_scheduler_name": "WarmupStepWithFixedGammaLR",
        "max_iter": 100,
        "warmup_iters": 9,
        "warmup_method": "exponential",
    },
    {"lr_scheduler_name": "WarmupPolyLR", "max_iter": 100, "warmup_iters": 10, "warmup_method": "cosine"},
    {"lr_scheduler_name": "Interpolate", "args": {"points": [[0, 1.0], [40, 0.2]]}, "warmup_iters": 5},
    {"lr_scheduler_name": "linear", "max_iter": 100, "warmup_iters": 10},
    {"lr_scheduler_name": "cosine_with_min_lr", "max_iter": 100, "args": {"min_lr_rate": 0.1}},
]


@pytest.mark.parametrize("solver", VECTORIZED, ids=[s["lr_scheduler_name"] for s in VECTORIZED])
def test_closed_form_schedules_are_evaluated_without_a_call_per_step(solver, monkeypatch):
    calls = []
    for module in (core, detectron2, piecewise, transformers, warmup):
        for cls in vars(module).values():
            if isinstance(cls, type) and hasattr(cls, "curve"):
                scalar = cls.__call__
                monkeypatch.setattr(
                    cls, "__call__", lambda self, *a, _f=scalar: calls.append(1) or _f(self, *a)
                )
    short = lr_curve(solver, 120, BASE_LR)
    calls_for_short = len(calls)
    long = lr_curve(solver, 1200, BASE_LR)
    assert len(calls) == 2 * calls_for_short  # building and anchoring, not a call per step
    expected = stepped(solver, 1200, BASE_LR)
    assert (
        long.tolist() == pytest.approx(expected, rel=1e-15, abs=0) and short.tolist() == long[:120].tolist()
    )


def test_a_million_step_preview_is_one_vectorized_pass():
    solver = {"lr_scheduler_name": "WarmupCosineLR", "max_iter": 1_000_000, "warmup_iters": 1000}
    curve = lr_curve(solver, 1_000_000, base_lr=0.1)
    assert curve.shape == (1_000_000,)
    assert curve[0].item() == pytest.approx(0.1 * 0.001) and curve[-1].item() < 1e-12


@pytest.mark.parametrize(
    ("num_steps", "base_lr", "message"),
    [(-1, 1.0, "num_steps must be an integer >= 0"), (10, float("nan"), "base_lr must be a finite number")],
)
def test_bad_arguments_are_config_errors(num_steps, base_lr, message):
    with pytest.raises(ConfigError, match=message):
        lr_curve({"lr_scheduler_name": "WarmupCosineLR"}, num_steps, base_lr)
