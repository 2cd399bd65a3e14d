"""Schedule-free optimizers (the schedulefree package): the warmup goes to the optimizer's
own ``warmup_steps``, a warmup on both is refused, a decaying schedule on top is warned of.

The optimizer here is a stand-in with schedulefree's param-group keys and its warmup
``lr * (k + 1) / warmup_steps`` (schedulefree is not a dependency)."""

from __future__ import annotations

import warnings

import pytest
import torch

import schedreg
from schedreg import ConfigError


class ScheduleFreeLike(torch.optim.Optimizer):
    """schedulefree's AdamWScheduleFree's param groups, and its lr of step k."""

    def __init__(self, params, lr: float = 1e-3, warmup_steps: int | None = 0) -> None:
        defaults = {"lr": lr, "k": 0, "train_mode": True, "weight_sum": 0.0, "lr_max": -1.0}
        if warmup_steps is not None:  # RAdamScheduleFree has none
            defaults["warmup_steps"] = warmup_steps
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            k, warmup = group["k"], group.get("warmup_steps", 0)
            group["scheduled_lr"] = group["lr"] * ((k + 1) / warmup if k < warmup else 1.0)
            group["k"] = k + 1


def params() -> list[torch.nn.Parameter]:
    return [torch.nn.Parameter(torch.zeros(1))]


ANYTIME = {"solver": {"lr_scheduler_name": "constant_with_warmup", "max_iter": 100, "warmup_iters": 10}}


def test_the_solvers_warmup_goes_to_the_optimizers_own_and_the_schedule_stays_constant():
    optimizer = ScheduleFreeLike(params(), lr=0.01)
    scheduler = schedreg.build_lr_scheduler(ANYTIME, optimizer)
    assert optimizer.param_groups[0]["warmup_steps"] == 10
    used = []
    for _ in range(15):
        optimizer.step()
        used.append(optimizer.param_groups[0]["scheduled_lr"])
        scheduler.step()
        assert optimizer.param_groups[0]["lr"] == 0.01  # the schedule itself is flat
    assert used == pytest.approx([0.01 * min(1.0, (k + 1) / 10) for k in range(15)], rel=1e-12)


def test_a_warmup_on_both_the_optimizer_and_the_schedule_is_refused():
    refused = r"warms up itself \(warmup_steps=5: set by you.*\); keep one warmup"
    with pytest.raises(ConfigError, match=refused):
        schedreg.build_lr_scheduler(ANYTIME, ScheduleFreeLike(params(), warmup_steps=5))


def test_the_optimizers_own_warmup_alone_is_kept():
    optimizer = ScheduleFreeLike(params(), warmup_steps=5)
    no_warmup = {"solver": {**ANYTIME["solver"], "warmup_iters": 0}}
    schedreg.build_lr_scheduler(no_warmup, optimizer)
    assert optimizer.param_groups[0]["warmup_steps"] == 5


def test_a_warmup_for_an_optimizer_that_takes_none_is_refused():
    with pytest.raises(ConfigError, match="takes no warmup"):
        schedreg.build_lr_scheduler(ANYTIME, ScheduleFreeLike(params(), warmup_steps=None))


def test_a_warmup_shape_the_optimizer_cannot_take_is_refused():
    cfg = {
        "solver": {**ANYTIME["solver"], "lr_scheduler_name": "WarmupMultiStepLR", "warmup_method": "cosine"}
    }
    with pytest.raises(ConfigError, match=r"warms up linearly from 0 .* cannot be cosine"):
        schedreg.build_lr_scheduler(cfg, ScheduleFreeLike(params()))


def test_a_decaying_schedule_on_a_schedule_free_optimizer_is_warned_of_and_a_flat_one_is_not():
    cosine = {"solver": {"lr_scheduler_name": "cosine", "max_iter": 100, "warmup_iters": 0}}
    with pytest.warns(UserWarning, match="decays the lr of a schedule-free optimizer"):
        schedreg.build_lr_scheduler(cosine, ScheduleFreeLike(params()))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        schedreg.build_lr_scheduler(ANYTIME, ScheduleFreeLike(params()))


def test_an_ordinary_optimizer_keeps_the_solvers_warmup():
    optimizer = torch.optim.AdamW(params(), lr=0.01)
    schedreg.build_lr_scheduler(ANYTIME, optimizer)
    assert optimizer.param_groups[0]["lr"] == 0.0 and "warmup_steps" not in optimizer.param_groups[0]


def test_a_schedule_with_a_warmup_of_its_own_on_an_optimizer_with_one_is_refused():
    timm = {"solver": {"lr_scheduler_name": "CosineLRScheduler", "max_iter": 100}}
    timm["solver"]["args"] = {"t_initial": 100, "warmup_t": 3}
    with pytest.raises(ConfigError, match=r"warms up itself, and so does the schedule-free optimizer"):
        schedreg.build_lr_scheduler(timm, ScheduleFreeLike(params(), warmup_steps=5))
    deepspeed = {"solver": {"lr_scheduler_name": "deepspeed.WarmupLR", "max_iter": 100, "warmup_iters": 3}}
    with pytest.raises(ConfigError, match=r"warms up itself, and so does the schedule-free optimizer"):
        schedreg.build_lr_scheduler(deepspeed, ScheduleFreeLike(params()))


def test_an_epoch_warmup_without_iters_per_epoch_is_refused():
    cfg = {"solver": {**ANYTIME["solver"], "interval": "epoch", "max_iter": 10, "warmup_iters": 2}}
    with pytest.raises(ConfigError, match="counts epochs, but a schedule-free optimizer"):
        schedreg.build_lr_scheduler(cfg, ScheduleFreeLike(params()))


def test_a_schedule_per_group_on_a_schedule_free_optimizer_is_refused():
    cfg = {"solver": {**ANYTIME["solver"], "param_groups": {"head": {"params": ["*"], "warmup_iters": 7}}}}
    with pytest.raises(ConfigError, match="a schedule per group on a schedule-free optimizer"):
        schedreg.build_lr_scheduler(cfg, ScheduleFreeLike(params()))


def test_resuming_with_the_optimizers_state_loaded_first_keeps_the_warmup_it_was_given():
    first = ScheduleFreeLike(params(), lr=0.01)
    schedreg.build_lr_scheduler(ANYTIME, first)
    resumed = ScheduleFreeLike(params(), lr=0.01)
    resumed.load_state_dict(first.state_dict())  # warmup_steps=10, as schedreg gave it
    schedreg.build_lr_scheduler(ANYTIME, resumed)
    assert resumed.param_groups[0]["warmup_steps"] == 10


def test_resuming_under_another_warmup_is_refused_though_the_schedule_itself_is_flat():
    first_optimizer = ScheduleFreeLike(params(), lr=0.01)
    first = schedreg.build_lr_scheduler(ANYTIME, first_optimizer)
    first_optimizer.step()
    first.step()
    longer = {"solver": {**ANYTIME["solver"], "warmup_iters": 20}}
    resumed = schedreg.build_lr_scheduler(longer, ScheduleFreeLike(params(), lr=0.01))
    with pytest.raises(ConfigError, match="optimizer_warmup: 10 -> 20"):
        resumed.load_state_dict(first.state_dict())
