"""How the schedulers behave around the training loop: the step-order warning (and AMP's
skipped steps), a group's lr written from outside, and ``base_lrs`` as the knob that
rescales a group's schedule (as in torch)."""

from __future__ import annotations

import warnings
from typing import Any

import pytest
import torch

from schedreg import build_lr_scheduler

SOLVERS = {
    "closed form": {
        "lr_scheduler_name": "WarmupMultiStepLR",
        "max_iter": 100,
        "steps": [50],
        "warmup_iters": 10,
    },
    "torch": {"lr_scheduler_name": "StepLR", "warmup_iters": 10, "args": {"step_size": 20}},
    "absolute (timm)": {"lr_scheduler_name": "CosineLRScheduler", "args": {"t_initial": 100, "warmup_t": 10}},
    "per group": {
        "lr_scheduler_name": "WarmupCosineLR",
        "max_iter": 100,
        "warmup_iters": 10,
        "param_groups": {"head": {"params": "1*", "warmup_iters": 0}},
    },
}


def setup(solver: dict[str, Any]) -> tuple[torch.nn.Module, torch.optim.Optimizer, Any]:
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Linear(2, 1))
    groups = [
        {"params": list(m.parameters()), "name": n} for n, m in zip(("backbone", "head"), model, strict=True)
    ]
    optimizer = torch.optim.SGD(groups, lr=0.1)
    return model, optimizer, build_lr_scheduler({"solver": solver}, optimizer)


@pytest.mark.parametrize("kind", SOLVERS)
def test_stepping_the_scheduler_before_the_optimizer_warns_as_torch_does(kind):
    scheduler = setup(SOLVERS[kind])[2]
    with pytest.warns(
        UserWarning, match=r"Detected call of `lr_scheduler.step\(\)` before `optimizer.step\(\)`"
    ):
        scheduler.step()


@pytest.mark.parametrize("kind", SOLVERS)
def test_the_right_order_does_not_warn(kind):
    model, optimizer, scheduler = setup(SOLVERS[kind])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(3):
            model(torch.ones(1, 2)).sum().backward()
            optimizer.step()
            scheduler.step()


@pytest.mark.parametrize("kind", SOLVERS)
def test_a_first_step_skipped_by_amps_grad_scaler_does_not_warn(kind):
    model, optimizer, scheduler = setup(SOLVERS[kind])
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**100)  # overflows: the first step is skipped
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scaler.scale(model(torch.ones(1, 2)).sum() * 1e30).backward()
        scaler.step(optimizer)
        scaler.update()
        assert not getattr(optimizer, "_opt_called", False)  # the optimizer really did not step
        scheduler.step()


@pytest.mark.parametrize("kind", SOLVERS)
def test_an_lr_written_from_outside_is_overwritten_at_the_next_step_with_one_warning(kind):
    _, optimizer, scheduler = setup(SOLVERS[kind])
    reference = setup(SOLVERS[kind])
    for _ in range(3):
        optimizer.step(), scheduler.step()
        reference[1].step(), reference[2].step()
    optimizer.param_groups[0]["lr"] = 123.0
    with pytest.warns(UserWarning, match=r"lr \(backbone\) was set to 123.0 outside the scheduler") as record:
        for _ in range(2):
            optimizer.param_groups[0]["lr"] = 123.0
            optimizer.step(), scheduler.step()
            reference[1].step(), reference[2].step()
    assert len([w for w in record if "outside the scheduler" in str(w.message)]) == 1
    assert [g["lr"] for g in optimizer.param_groups] == [g["lr"] for g in reference[1].param_groups]


def test_scaling_a_base_lr_rescales_that_groups_schedule_from_the_next_step_and_is_saved():
    solver = {"lr_scheduler_name": "WarmupCosineLR", "max_iter": 100, "warmup_iters": 0}
    _, optimizer, scheduler = setup(solver)
    for _ in range(10):
        optimizer.step(), scheduler.step()
    scheduler.base_lrs[1] *= 0.5
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        optimizer.step(), scheduler.step()
    _, reference, reference_scheduler = setup(solver)
    for _ in range(11):
        reference.step(), reference_scheduler.step()
    expected = reference.param_groups[0]["lr"]
    assert optimizer.param_groups[0]["lr"] == expected and optimizer.param_groups[1]["lr"] == expected / 2
    assert scheduler.state_dict()["base_lrs"] == [0.1, 0.05]
