"""timm's stepping protocol on timm's names: a timm training loop runs unchanged.

timm calls ``step(epoch, metric)`` after each epoch and ``step_update(num_updates, metric)``
after each update, with absolute counts; ``t_in_epochs`` (timm's default: True) says which
one moves the lr. schedreg's ``step()`` with no argument still moves one step. Expected
values are timm's formulas, written here.
"""

from __future__ import annotations

import bisect
import math

import pytest
import torch

import schedreg
from schedreg import ConfigError

BASE = 0.1


def build(name: str, num_groups: int = 1, **args):
    groups = [{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": BASE} for _ in range(num_groups)]
    optimizer = torch.optim.SGD(groups, lr=BASE)
    cfg = {"solver": {"lr_scheduler_name": name, "args": args}}
    return optimizer, schedreg.build_lr_scheduler(cfg, optimizer)


def lr(optimizer) -> float:
    return optimizer.param_groups[0]["lr"]


def cosine(t: float, t_initial: float, lr_min: float = 0.0) -> float:
    return lr_min + 0.5 * (BASE - lr_min) * (1 + math.cos(math.pi * t / t_initial))


def test_step_with_an_epoch_sets_that_epochs_lr_whatever_came_before():
    optimizer, scheduler = build("CosineLRScheduler", t_initial=100, lr_min=0.001)
    for epoch in (50, 10, 100, 37):  # absolute, in any order, as timm's step(epoch) is
        scheduler.step(epoch)
        assert lr(optimizer) == pytest.approx(cosine(epoch, 100, 0.001), rel=1e-12)


def test_step_update_moves_the_lr_only_when_t_is_not_in_epochs():
    optimizer, per_epoch = build("StepLRScheduler", decay_t=10, decay_rate=0.5)
    per_epoch.step_update(25)
    assert lr(optimizer) == BASE  # t_in_epochs (timm's default): updates do not count
    per_epoch.step(25)
    assert lr(optimizer) == pytest.approx(BASE * 0.5**2, rel=1e-12)

    optimizer, per_update = build("StepLRScheduler", decay_t=10, decay_rate=0.5, t_in_epochs=False)
    per_update.step(3)
    assert lr(optimizer) == BASE  # epochs do not count
    per_update.step_update(35)
    assert lr(optimizer) == pytest.approx(BASE * 0.5**3, rel=1e-12)


def test_step_without_an_argument_still_moves_one_step():
    optimizer, scheduler = build("MultiStepLRScheduler", decay_t=[3], decay_rate=0.5)
    seen = []
    for _ in range(5):
        seen.append(lr(optimizer))
        optimizer.step()
        scheduler.step()
    # timm 1.0's MultiStepLRScheduler: bisect_right(decay_t, t + 1) decays, one step early
    assert seen == [BASE * 0.5 ** bisect.bisect_right([3], t + 1) for t in range(5)]


@pytest.mark.parametrize(
    ("name", "args", "cycles", "length"),
    [
        ("CosineLRScheduler", {"t_initial": 100}, 1, 100),
        ("CosineLRScheduler", {"t_initial": 100, "warmup_t": 10, "warmup_prefix": True}, 1, 110),
        ("CosineLRScheduler", {"t_initial": 10, "cycle_mul": 2.0, "cycle_limit": 3}, 0, 10 + 20 + 40),
        ("TanhLRScheduler", {"t_initial": 30, "cycle_limit": 2}, 0, 60),
        ("PolyLRScheduler", {"t_initial": 10, "cycle_mul": 1.5}, 2, math.floor(10 * (1.5**2 - 1) / 0.5)),
    ],
)
def test_get_cycle_length_is_timms(name, args, cycles, length):
    assert build(name, **args)[1].get_cycle_length(cycles) == length


def test_a_warmup_prefix_reaches_the_base_lr_at_the_first_epoch_after_warmup():
    optimizer, scheduler = build("StepLRScheduler", decay_t=10, warmup_t=5, warmup_lr_init=0.001)
    assert lr(optimizer) == 0.001
    for epoch in range(1, 5):
        scheduler.step(epoch)
        assert lr(optimizer) == pytest.approx(0.001 + epoch * (BASE - 0.001) / 5, rel=1e-12)
    scheduler.step(5)
    assert lr(optimizer) == BASE


def test_a_state_saved_after_epoch_steps_loads_and_saves_the_same():
    optimizer, scheduler = build("CosineLRScheduler", t_initial=100)
    for epoch in range(5):
        scheduler.step(epoch)
    state = scheduler.state_dict()
    optimizer2, scheduler2 = build("CosineLRScheduler", t_initial=100)
    scheduler2.load_state_dict(state)
    assert scheduler2.state_dict() == state and lr(optimizer2) == lr(optimizer)


def test_noise_drawn_through_step_epoch_is_the_same_on_every_run():
    def run() -> list[float]:
        optimizer, scheduler = build("TanhLRScheduler", t_initial=100, noise_range_t=[10, 50], noise_pct=0.5)
        out = []
        for epoch in range(60):
            scheduler.step(epoch)
            out.append(lr(optimizer))
        return out

    first = run()
    assert first == run() and first[20] != build("TanhLRScheduler", t_initial=100)[1].schedule.lr(20, BASE)


def test_every_group_follows_the_epoch():
    optimizer, scheduler = build("PolyLRScheduler", num_groups=3, t_initial=100, power=1.0)
    scheduler.step(40)
    assert [g["lr"] for g in optimizer.param_groups] == [pytest.approx(BASE * 0.6, rel=1e-12)] * 3


@pytest.mark.parametrize("bad", [-1, 2.5, True])
def test_a_bad_epoch_is_a_config_error_naming_the_schedule(bad):
    _, scheduler = build("CosineLRScheduler", t_initial=100)
    with pytest.raises(
        ConfigError, match=r"solver\.lr_scheduler_name='CosineLRScheduler'.*epoch must be an integer"
    ):
        scheduler.step(bad)


PLATEAU = {"warmup_t": 2, "warmup_lr_init": 0.01, "patience_t": 0, "decay_rate": 0.5, "mode": "min"}
"""Warmup 0.01 -> 0.1 over epochs 1-2, then halve at every epoch the metric does not improve."""
EXPECTED = [0.01 + 1 * (BASE - 0.01) / 2, BASE, BASE, BASE * 0.5, BASE * 0.25]


@pytest.mark.parametrize(
    "call",
    [
        lambda s, epoch, m: s.step(epoch, m),  # timm's train.py
        lambda s, epoch, m: s.step(epoch, metric=m),  # timm's keyword form
        lambda s, epoch, m: s.step(m),  # schedreg's and torch's plateau form: the next epoch
        lambda s, epoch, m: s.step(metric=m),
    ],
)
def test_the_plateau_scheduler_takes_timms_step_epoch_metric_and_the_plateau_form(call):
    optimizer, scheduler = build("PlateauLRScheduler", **PLATEAU)
    seen = []
    for epoch in range(1, 6):
        call(scheduler, epoch, 1.0)
        seen.append(lr(optimizer))
    assert seen == pytest.approx(EXPECTED, rel=1e-12)


def test_the_plateau_schedulers_epoch_is_absolute_and_an_epoch_without_a_metric_leaves_it_alone():
    optimizer, scheduler = build("PlateauLRScheduler", **PLATEAU)
    scheduler.step(2, None)  # timm's form, no metric: the warmup's end, no plateau step
    assert lr(optimizer) == BASE
    scheduler.step(7, metric=1.0)
    scheduler.step(8, metric=1.0)
    assert lr(optimizer) == BASE * 0.5
    with pytest.raises(ConfigError, match="epoch must be an integer >= 0"):
        scheduler.step(-3, metric=1.0)


def test_step_zero_writes_timms_value_at_zero_where_the_constructor_wrote_the_base_lr():
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    scheduler = schedreg.build_lr_scheduler(
        {"solver": {"lr_scheduler_name": "TanhLRScheduler", "args": {"t_initial": 10}}}, opt
    )
    assert opt.param_groups[0]["lr"] == 0.1  # what timm's constructor leaves
    scheduler.step(0)
    lb, tr = -7.0, 0.0  # timm's default lower bound; t = 0
    assert opt.param_groups[0]["lr"] == 0.0 + 0.5 * (0.1 - 0.0) * (1 - math.tanh(lb * (1.0 - tr) + 3.0 * tr))
    scheduler.step(1)
    tr = 1 / 10
    assert opt.param_groups[0]["lr"] == 0.5 * 0.1 * (1 - math.tanh(lb * (1.0 - tr) + 3.0 * tr))
