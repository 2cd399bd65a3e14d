"""The resume guard: a checkpoint saved under another schedule is refused, or rescheduled."""

from __future__ import annotations

import io

import pytest
import torch

import schedreg
from schedreg import ConfigError


def roundtrip(state: dict) -> dict:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


def saved_at(solver: dict, step: int, lr: float = 0.1) -> dict:
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)
    scheduler = schedreg.build_lr_scheduler({"solver": solver}, optimizer)
    for _ in range(step):
        optimizer.step()
        scheduler.step()
    return roundtrip(scheduler.state_dict())


def fresh(solver: dict, lr: float = 0.1):
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)
    return optimizer, schedreg.build_lr_scheduler({"solver": solver}, optimizer)


OLD = {"lr_scheduler_name": "WarmupMultiStepLR", "max_iter": 1000, "steps": [600], "warmup_iters": 0}
NEW = {**OLD, "steps": [500]}


def test_a_changed_schedule_is_refused_with_what_differs():
    state = saved_at(OLD, 300)
    _, scheduler = fresh(NEW)
    with pytest.raises(
        ConfigError, match=r"different schedule \(steps: \(600,\) -> \(500,\)\); set solver\.on_resume"
    ):
        scheduler.load_state_dict(state)


def test_an_unchanged_schedule_loads_silently():
    state = saved_at(OLD, 300)
    optimizer, scheduler = fresh(OLD)
    scheduler.load_state_dict(state)
    assert optimizer.param_groups[0]["lr"] == 0.1


def test_reschedule_runs_the_new_schedule_from_the_saved_step():
    state = saved_at(OLD, 300)
    optimizer, scheduler = fresh({**NEW, "on_resume_change": "reschedule"})
    scheduler.load_state_dict(state)
    lrs = []
    for _ in range(300):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert lrs[0] == 0.1 and lrs[199] == 0.1 and lrs[200] == pytest.approx(0.01)  # steps 300..; decay at 500


def test_reschedule_replays_a_torch_scheduler_to_the_saved_step():
    state = saved_at({"lr_scheduler_name": "StepLR", "args": {"step_size": 10, "gamma": 0.5}}, 25)
    optimizer, scheduler = fresh(
        {
            "lr_scheduler_name": "StepLR",
            "args": {"step_size": 7, "gamma": 0.5},
            "on_resume_change": "reschedule",
        }
    )
    scheduler.load_state_dict(state)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.1 * 0.5 ** (25 // 7))
    with pytest.raises(ConfigError, match=r"args: \{'step_size': 10, 'gamma': 0\.5\} -> \{'step_size': 7"):
        fresh({"lr_scheduler_name": "StepLR", "args": {"step_size": 7, "gamma": 0.5}})[1].load_state_dict(
            state
        )


def test_changed_param_group_rules_are_refused():
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Linear(2, 1))
    old = {**OLD, "param_groups": {"first": {"params": "0.*", "lr_factor": 0.1}}}
    new = {**OLD, "param_groups": {"first": {"params": "0.*", "lr_factor": 0.5}}}
    optimizer = schedreg.build_optimizer({"solver": old}, model)
    state = roundtrip(schedreg.build_lr_scheduler({"solver": old}, optimizer).state_dict())
    optimizer = schedreg.build_optimizer({"solver": new}, model)
    with pytest.raises(ConfigError, match=r"different schedule \(param_groups: "):
        schedreg.build_lr_scheduler({"solver": new}, optimizer).load_state_dict(state)


def test_resuming_on_a_different_world_size_is_refused():
    written = {**OLD, "reference_world_size": 8, "ims_per_batch": 16}
    state = saved_at(schedreg.scale_to_world_size({"solver": written}, 8), 100)
    _, scheduler = fresh(schedreg.scale_to_world_size({"solver": written}, 16))
    with pytest.raises(ConfigError, match=r"max_iter: 1000 -> 500"):
        scheduler.load_state_dict(state)


def test_a_checkpoint_from_before_the_step_unit_was_fingerprinted_still_loads():
    state = saved_at(OLD, 700)
    del state["fingerprint"]["step_unit"]  # as the previous release saved it
    optimizer, scheduler = fresh(OLD)
    scheduler.load_state_dict(state)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.01)


def test_a_state_saved_over_another_number_of_param_groups_is_refused():
    state = saved_at(OLD, 300)
    groups = [{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": 0.1} for _ in range(3)]
    scheduler = schedreg.build_lr_scheduler({"solver": OLD}, torch.optim.SGD(groups, lr=0.1))
    with pytest.raises(ConfigError, match="state covers 1 param groups, but this optimizer has 3"):
        scheduler.load_state_dict(state)


TIMM = {"lr_scheduler_name": "CosineLRScheduler", "args": {"t_initial": 100}}
POINTS = [[0, 1.0], [50, 0.1]]


@pytest.mark.parametrize(
    ("saved", "resumed"),
    [
        ({"lr_scheduler_name": "cosine", "max_iter": 100}, {"args": {"num_cycles": 0.5}}),
        (TIMM, {"args": {"t_initial": 100, "lr_min": 0.0}}),
        (
            {"lr_scheduler_name": "Interpolate", "args": {"points": POINTS}},
            {"args": {"points": POINTS, "shape": "linear"}},
        ),
    ],
)
def test_a_schedule_spelled_with_its_defaults_written_out_is_no_change_on_resume(saved, resumed):
    """The same pure schedule built from either spelling: the state loads, and a real change
    of the same key is still refused."""
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    scheduler = schedreg.build_lr_scheduler({"solver": saved}, optimizer)
    for _ in range(5):
        optimizer.step()
        scheduler.step()
    state = scheduler.state_dict()
    fresh_opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    fresh = schedreg.build_lr_scheduler({"solver": {**saved, **resumed}}, fresh_opt)
    fresh.load_state_dict(state)
    assert fresh.last_epoch == scheduler.last_epoch
    changed = {"cosine": {"num_cycles": 0.4}, "CosineLRScheduler": {"t_initial": 100, "lr_min": 0.01}}
    if saved["lr_scheduler_name"] in changed:
        other = {**saved, "args": changed[saved["lr_scheduler_name"]]}
        with pytest.raises(ConfigError, match=r"saved under a different schedule \(args: "):
            schedreg.build_lr_scheduler({"solver": other}, fresh_opt).load_state_dict(state)
