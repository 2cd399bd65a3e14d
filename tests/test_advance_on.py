"""solver.advance_on: update -- the schedule advances once per optimizer update, however
often step() is called: an update AMP's GradScaler skips, the calls of a loop that steps per
micro-batch, or once per process (accelerate's AcceleratedScheduler), leave it in place."""

from __future__ import annotations

import math

import pytest
import torch

import schedreg

BASE, TOTAL = 0.1, 20


def cosine(step: int) -> float:  # transformers' cosine, no warmup
    return BASE * 0.5 * (1 + math.cos(math.pi * step / TOTAL))


def build(name: str = "cosine", advance_on: str = "update", **solver):
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param], lr=BASE)
    cfg = {
        "solver": {"lr_scheduler_name": name, "max_iter": TOTAL, "warmup_iters": 0, "advance_on": advance_on}
    }
    cfg["solver"].update(solver)
    return schedreg.build_lr_scheduler(cfg, optimizer), optimizer, param


@pytest.mark.parametrize("name", ["cosine", "CosineAnnealingLR"])
def test_stepping_per_micro_batch_advances_once_per_update(name):
    scheduler, optimizer, param = build(name, **({"args": {"eta_min": 0.0}} if name != "cosine" else {}))
    expected = cosine if name == "cosine" else (lambda s: BASE * 0.5 * (1 + math.cos(math.pi * s / TOTAL)))
    lrs = []
    for _ in range(10):
        for micro in range(4):  # accumulate 4 micro-batches; the loop steps the scheduler each time
            param.grad = torch.ones(1)
            if micro == 3:
                optimizer.step()
            scheduler.step()
        lrs.append(optimizer.param_groups[0]["lr"])
    assert lrs == pytest.approx([expected(u + 1) for u in range(10)], rel=1e-12)


def test_an_update_the_grad_scaler_skips_leaves_the_schedule_in_place():
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**4)
    scheduler, optimizer, param = build()
    lrs = []
    for i in range(6):
        optimizer.zero_grad()
        scaler.scale((param * 1.0).sum()).backward()
        if i == 2:
            param.grad.fill_(math.inf)  # an overflow at update 2: the scaler skips optimizer.step()
        scaler.step(optimizer)
        scaler.update()
        scheduler.step()
        lrs.append(optimizer.param_groups[0]["lr"])
    assert lrs == pytest.approx([cosine(1), cosine(2), cosine(2), cosine(3), cosine(4), cosine(5)], rel=1e-12)


def test_one_call_per_process_advances_once():
    scheduler, optimizer, param = build()
    for _ in range(3):
        param.grad = torch.ones(1)
        optimizer.step()
        for _process in range(8):  # accelerate steps a prepared scheduler num_processes times
            scheduler.step()
    assert optimizer.param_groups[0]["lr"] == pytest.approx(cosine(3), rel=1e-12)


def test_per_group_schedules_advance_once_per_update_too():
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([{"params": [param], "name": "head"}], lr=BASE)
    rules = {"head": {"params": ["*"], "lr_scheduler_name": "cosine"}}
    solver = {"lr_scheduler_name": "constant", "max_iter": TOTAL, "warmup_iters": 0, "advance_on": "update"}
    scheduler = schedreg.build_lr_scheduler({"solver": {**solver, "param_groups": rules}}, optimizer)
    for _ in range(3):
        param.grad = torch.ones(1)
        optimizer.step()
        scheduler.step()
        scheduler.step()
    assert optimizer.param_groups[0]["lr"] == pytest.approx(cosine(3), rel=1e-12)


def test_by_default_every_step_advances_as_in_torch():
    scheduler, optimizer, param = build(advance_on="step")
    param.grad = torch.ones(1)
    optimizer.step()
    for _ in range(4):
        scheduler.step()
    assert optimizer.param_groups[0]["lr"] == pytest.approx(cosine(4), rel=1e-12)


def test_a_bad_advance_on_is_refused_naming_it():
    with pytest.raises(schedreg.ConfigError, match=r"solver\.advance_on must be one of step, update"):
        build(advance_on="epoch")
