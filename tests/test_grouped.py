"""A schedule per param group, groups added mid-run, and schedules of momentum/weight decay.

Expected values are written from the formulas here, never read back from schedreg.
"""

from __future__ import annotations

import io
import math
import pickle

import pytest
import torch
from torch import nn

import schedreg
from schedreg import ConfigError

RTOL = 1e-12


def cosine(i: int, total: int, end: float = 0.0) -> float:
    return end + 0.5 * (1 - end) * (1 + math.cos(math.pi * i / total))


def d2_cosine_warmup(i: int, total: int, warm: int, factor: float) -> float:
    """detectron2's WarmupCosineLR multiplier: linear from factor to cos(warm/total), then cosine."""
    if i >= warm:
        return cosine(min(i, total), total)
    return factor + (cosine(warm, total) - factor) * i / warm


def multistep(i: int, steps: list[int], gamma: float) -> float:
    return gamma ** sum(i >= s for s in steps)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = nn.Sequential(nn.Linear(4, 8), nn.LayerNorm(8))
        self.head = nn.Linear(8, 2)


# The example, scaled down: backbone cosine with 200 warmup iters at 0.1x lr,
# head multi-step with no warmup.
SOLVER = {
    "lr_scheduler_name": "WarmupMultiStepLR",
    "base_lr": 0.1,
    "max_iter": 1000,
    "steps": [600, 800],
    "warmup_iters": 0,
    "param_groups": {
        "backbone": {
            "params": "backbone.*",
            "lr_factor": 0.1,
            "lr_scheduler_name": "WarmupCosineLR",
            "warmup_iters": 200,
        },
    },
}


def expected(name: str, i: int) -> float:
    if name == "backbone":
        return 0.01 * d2_cosine_warmup(i, 1000, 200, 0.001)
    return 0.1 * multistep(i, [600, 800], 0.1)


def build(solver=None, model=None):
    solver = solver or SOLVER
    model = model or Net()
    optimizer = schedreg.build_optimizer({"solver": solver}, model)
    return model, optimizer, schedreg.build_lr_scheduler({"solver": solver}, optimizer)


def run(optimizer, scheduler, steps: int) -> list[list[float]]:
    out = []
    for _ in range(steps):
        out.append([g["lr"] for g in optimizer.param_groups])
        optimizer.step()
        scheduler.step()
    return out


def test_each_group_follows_its_own_schedule():
    _, optimizer, scheduler = build()
    names = [g["name"] for g in optimizer.param_groups]
    assert sorted(set(names)) == ["backbone", "default"]
    lrs = run(optimizer, scheduler, 1001)
    for i in (0, 1, 199, 200, 599, 600, 799, 800, 999, 1000):
        for name, lr in zip(names, lrs[i], strict=True):
            assert lr == pytest.approx(expected(name, i), rel=RTOL, abs=0), (name, i)


def test_get_last_lr_lists_every_groups_lr():
    _, optimizer, scheduler = build()
    run(optimizer, scheduler, 250)
    assert scheduler.get_last_lr() == [g["lr"] for g in optimizer.param_groups]
    assert len(scheduler.get_last_lr()) == len(optimizer.param_groups) == 3  # backbone, its norm, head


def test_a_user_made_optimizer_with_named_groups_follows_the_rules():
    model = Net()
    optimizer = torch.optim.SGD(
        [
            {"params": model.backbone.parameters(), "lr": 0.01, "name": "backbone"},
            {"params": model.head.parameters(), "lr": 0.1},
        ],
        lr=0.1,
    )
    scheduler = schedreg.build_lr_scheduler({"solver": SOLVER}, optimizer)
    lrs = run(optimizer, scheduler, 700)
    for i in (0, 100, 300, 650):
        assert lrs[i][0] == pytest.approx(expected("backbone", i), rel=RTOL)
        assert lrs[i][1] == pytest.approx(expected("default", i), rel=RTOL)


def checkpoint(state) -> dict:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


@pytest.mark.parametrize("stop", [0, 150, 650])
def test_resume_with_per_group_schedules_is_exact(stop):
    _, optimizer, scheduler = build()
    reference = run(optimizer, scheduler, 1000)
    _, optimizer, scheduler = build()
    run(optimizer, scheduler, stop)
    state = checkpoint(scheduler.state_dict())
    _, fresh_optimizer, fresh = build()
    fresh.load_state_dict(state)
    assert run(fresh_optimizer, fresh, 1000 - stop) == reference[stop:]


def test_pickled_grouped_scheduler_continues_identically():
    _, optimizer, scheduler = build()
    run(optimizer, scheduler, 120)
    copy = pickle.loads(pickle.dumps({"o": optimizer, "s": scheduler}))
    assert run(copy["o"], copy["s"], 50) == run(optimizer, scheduler, 50)


# ---- groups added after the scheduler was built -------------------------------------


def add_group(optimizer, lr: float, name: str | None = None) -> None:
    group = {"params": [nn.Parameter(torch.zeros(3))], "lr": lr}
    if name:
        group["name"] = name
    optimizer.add_param_group(group)


@pytest.mark.parametrize(
    ("solver", "multiplier"),
    [
        (
            {"lr_scheduler_name": "WarmupCosineLR", "max_iter": 100, "warmup_iters": 0},
            lambda i: cosine(i, 100),
        ),
        ({"lr_scheduler_name": "CosineAnnealingLR", "args": {"T_max": 100}}, lambda i: cosine(i, 100)),
        (
            {"lr_scheduler_name": "StepLR", "args": {"step_size": 10, "gamma": 0.5}},
            lambda i: 0.5 ** (i // 10),
        ),
    ],
    ids=["closed-form", "torch-recursive", "torch-step"],
)
def test_a_group_added_midway_joins_the_schedule_at_the_next_step(solver, multiplier):
    optimizer = torch.optim.SGD([nn.Parameter(torch.zeros(2))], lr=0.1)
    scheduler = schedreg.build_lr_scheduler({"solver": solver}, optimizer)
    run(optimizer, scheduler, 30)
    add_group(optimizer, lr=0.02)  # unfreezing a backbone (transformers#20029)
    lrs = run(optimizer, scheduler, 40)
    for k, row in enumerate(lrs[1:], start=31):
        assert row[0] == pytest.approx(0.1 * multiplier(k), rel=1e-9)
        assert row[1] == pytest.approx(0.02 * multiplier(k), rel=1e-9), k


def test_an_added_group_follows_the_rule_its_name_matches_and_survives_resume():
    _, optimizer, scheduler = build()
    run(optimizer, scheduler, 300)
    add_group(optimizer, lr=0.004, name="backbone")
    add_group(optimizer, lr=0.05, name="extra")  # no rule: the default schedule
    lrs = run(optimizer, scheduler, 100)
    for k in (1, 50, 99):
        i = 300 + k
        assert lrs[k][3] == pytest.approx(0.004 * d2_cosine_warmup(i, 1000, 200, 0.001), rel=RTOL)
        assert lrs[k][4] == pytest.approx(0.05 * multistep(i, [600, 800], 0.1), rel=RTOL)
    state = checkpoint(scheduler.state_dict())
    reference = run(optimizer, scheduler, 500)

    _, fresh_optimizer, fresh = build()
    add_group(fresh_optimizer, lr=0.004, name="backbone")
    add_group(fresh_optimizer, lr=0.05, name="extra")
    fresh.load_state_dict(state)
    assert run(fresh_optimizer, fresh, 500) == reference


def test_loading_a_state_with_more_groups_than_the_optimizer_is_an_error():
    _, optimizer, scheduler = build()
    run(optimizer, scheduler, 10)
    add_group(optimizer, lr=0.05)
    run(optimizer, scheduler, 1)
    state = scheduler.state_dict()
    _, _, fresh = build()
    with pytest.raises(
        ConfigError, match="the saved scheduler state covers 4 param groups, but this optimizer has 3"
    ):
        fresh.load_state_dict(state)


# ---- schedules of other group keys ---------------------------------------------------

ONE_CYCLE_MOMENTUM = {
    "lr_scheduler_name": "Interpolate",
    "args": {"points": [[0, 1.0], [300, 0.85 / 0.95], [1000, 1.0]], "shape": "cosine"},
}


def one_cycle(i: int) -> float:
    lo = 0.85 / 0.95
    if i <= 300:
        return 1.0 + (lo - 1.0) * (1 - math.cos(math.pi * i / 300)) / 2
    return lo + (1.0 - lo) * (1 - math.cos(math.pi * min(i - 300, 700) / 700)) / 2


def test_momentum_and_weight_decay_follow_their_schedules_in_every_group():
    solver = {
        **SOLVER,
        "momentum": 0.95,
        "weight_decay": 0.04,
        "param_schedules": {
            "momentum": ONE_CYCLE_MOMENTUM,
            "weight_decay": {
                "lr_scheduler_name": "Interpolate",
                "args": {"points": [[0, 1.0], [1000, 10.0]], "shape": "cosine"},
            },
        },
    }
    _, optimizer, scheduler = build(solver)
    for i in range(1001):
        for group in optimizer.param_groups:
            assert group["momentum"] == pytest.approx(0.95 * one_cycle(i), rel=RTOL)
            base_wd = 0.0 if group is optimizer.param_groups[1] else 0.04  # the LayerNorm group
            assert group["weight_decay"] == pytest.approx(
                base_wd * (1 + 9 * (1 - math.cos(math.pi * i / 1000)) / 2), rel=RTOL
            )
            assert group["lr"] == pytest.approx(expected(group["name"], i), rel=RTOL)
        optimizer.step()
        scheduler.step()


def test_betas0_of_adam_can_follow_a_schedule_and_a_rule_can_override_it():
    solver = {
        "lr_scheduler_name": "WarmupCosineLR",
        "base_lr": 0.001,
        "max_iter": 1000,
        "warmup_iters": 0,
        "optimizer": "AdamW",
        "optimizer_args": {"betas": [0.95, 0.999]},
        "param_schedules": {"betas[0]": ONE_CYCLE_MOMENTUM},
        "param_groups": {
            "head": {
                "params": "head.*",
                "param_schedules": {
                    "betas[0]": {
                        "lr_scheduler_name": "Interpolate",
                        "args": {"points": [[0, 1.0], [1000, 0.5]]},
                    }
                },
            }
        },
    }
    _, optimizer, scheduler = build(solver)
    run(optimizer, scheduler, 400)
    head = next(g for g in optimizer.param_groups if g["name"] == "head")
    body = next(g for g in optimizer.param_groups if g["name"] == "default")
    assert body["betas"][0] == pytest.approx(0.95 * one_cycle(400), rel=RTOL) and body["betas"][1] == 0.999
    assert head["betas"][0] == pytest.approx(0.95 * (1 - 0.5 * 400 / 1000), rel=RTOL)
    assert isinstance(head["betas"], tuple)


def test_resume_restores_momentum_and_weight_decay_schedules():
    solver = {**SOLVER, "param_schedules": {"momentum": ONE_CYCLE_MOMENTUM}}
    _, optimizer, scheduler = build(solver)
    run(optimizer, scheduler, 333)
    state = checkpoint(scheduler.state_dict())
    _, fresh_optimizer, fresh = build(solver)
    fresh.load_state_dict(state)
    assert [g["momentum"] for g in fresh_optimizer.param_groups] == [
        g["momentum"] for g in optimizer.param_groups
    ]


@pytest.mark.parametrize(
    ("schedules", "message"),
    [
        (
            {"momentum": {"lr_scheduler_name": "CosineAnnealingLR", "args": {"T_max": 10}}},
            r"solver\.param_schedules\.momentum\.lr_scheduler_name: CosineAnnealingLR drives the lr only",
        ),
        (
            {"lr": {"lr_scheduler_name": "WarmupCosineLR"}},
            r"solver\.param_schedules\.lr: the lr's schedule is the solver's",
        ),
        (
            {"momentum": {"lr_scheduler_name": "Interpolate", "args": {"points": [[5, 1.0], [3, 0.5]]}}},
            r"solver\.param_schedules\.momentum\.args\.points steps must be increasing, got \[5, 3\]",
        ),
        (
            {"momentum": {"lr_scheduler_name": "Interpolate", "args": {"points": [[0, -1.0]]}}},
            r"param_schedules\.momentum\.args\.points\[0\] multiplier must be a finite number >= 0\.0",
        ),
        (
            {
                "momentum": {
                    "lr_scheduler_name": "Interpolate",
                    "args": {"points": [[0, 1]], "shap": "cosine"},
                }
            },
            r"unknown argument solver\.param_schedules\.momentum\.args\.shap for Interpolate",
        ),
        (
            {"momentum": {"lr_scheduler_name": "Interpolate"}},
            r"param_schedules\.momentum\.args\.points must be a non-empty list of \[step, multiplier\]",
        ),
    ],
)
def test_bad_param_schedules_are_config_errors(schedules, message):
    with pytest.raises(ConfigError, match=message):
        build({**SOLVER, "param_schedules": schedules})


# ---- regressions found in review ------------------------------------------------------


def test_a_metric_reaches_only_plateau_schedules_when_groups_mix_schedules():
    solver = {
        "lr_scheduler_name": "ReduceLROnPlateau",
        "base_lr": 0.1,
        "max_iter": 100,
        "param_groups": {
            "head": {"params": "head.*", "lr_scheduler_name": "WarmupCosineLR", "warmup_iters": 0}
        },
    }
    _, optimizer, scheduler = build(solver)
    head = [g for g in optimizer.param_groups if g["name"] == "head"]
    for i in range(1, 4):
        optimizer.step()
        scheduler.step(0.37)
        assert head[0]["lr"] == pytest.approx(0.1 * cosine(i, 100), rel=RTOL)


def test_a_closed_form_scheduler_refuses_an_epoch_argument():
    optimizer = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1)
    scheduler = schedreg.build_lr_scheduler(
        {"solver": {"max_iter": 10, "steps": [5], "warmup_iters": 0}}, optimizer
    )
    with pytest.raises(TypeError, match=r"stepped with step\(\)"):
        scheduler.step(3)


def test_a_group_added_midway_into_a_new_torch_lane_with_warmup_gets_the_full_lr_after_warmup():
    solver = {
        "lr_scheduler_name": "WarmupCosineLR",
        "max_iter": 60,
        "warmup_iters": 10,
        "base_lr": 0.1,
        "param_groups": {
            "late": {
                "params": "late*",
                "optional": True,
                "lr_scheduler_name": "ExponentialLR",
                "args": {"gamma": 0.97},
                "warmup_iters": 5,
            }
        },
    }
    optimizer = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1)
    scheduler = schedreg.build_lr_scheduler({"solver": solver}, optimizer)
    run(optimizer, scheduler, 8)
    add_group(optimizer, lr=0.05, name="late")
    lrs = run(optimizer, scheduler, 10)
    for k, row in enumerate(lrs[1:], start=9):
        assert row[1] == pytest.approx(0.05 * 0.97**k, rel=1e-12), k  # past its 5-step warmup


@pytest.mark.parametrize("grouped", [False, True])
def test_onecycle_resumes_with_its_peak_after_a_checkpoint_round_trip(grouped):
    solver = {
        "lr_scheduler_name": "OneCycleLR",
        "max_iter": 100,
        "base_lr": 0.05,
        "args": {"total_steps": 100},
    }
    if grouped:
        solver["param_groups"] = {"head": {"params": "head.*", "lr_factor": 10.0}}
    model, optimizer, scheduler = build(solver)
    reference = run(optimizer, scheduler, 80)
    model, optimizer, scheduler = build(solver, model)
    run(optimizer, scheduler, 40)
    saved = checkpoint({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()})
    _, fresh_optimizer, fresh = build(solver)  # canonical order: build both, then load both
    fresh_optimizer.load_state_dict(saved["optimizer"])
    fresh.load_state_dict(saved["scheduler"])
    assert run(fresh_optimizer, fresh, 40) == reference[40:]


def test_a_tensor_lr_group_added_later_follows_the_schedule():
    solver = {"lr_scheduler_name": "WarmupCosineLR", "max_iter": 100, "warmup_iters": 10}
    optimizer = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1)
    scheduler = schedreg.build_lr_scheduler({"solver": solver}, optimizer)
    run(optimizer, scheduler, 3)
    optimizer.add_param_group({"params": [nn.Parameter(torch.zeros(1))], "lr": torch.tensor(0.3)})
    for _ in range(4):
        optimizer.step()
        scheduler.step()
        assert float(optimizer.param_groups[1]["lr"]) == pytest.approx(
            3 * optimizer.param_groups[0]["lr"], rel=1e-6
        )


def test_a_rule_naming_another_scheduler_does_not_inherit_the_solvers_args():
    solver = {
        "lr_scheduler_name": "StepLR",
        "args": {"step_size": 30},
        "max_iter": 100,
        "param_groups": {"head": {"params": "head.*", "lr_scheduler_name": "CosineAnnealingLR"}},
    }
    _, optimizer, scheduler = build(solver)
    run(optimizer, scheduler, 50)
    head = next(g for g in optimizer.param_groups if g["name"] == "head")
    assert head["lr"] == pytest.approx(0.001 * cosine(50, 100), rel=1e-9)  # T_max follows max_iter


def test_param_schedules_get_no_hidden_warmup():
    solver = {**SOLVER, "param_schedules": {"momentum": {"lr_scheduler_name": "WarmupCosineLR"}}}
    _, optimizer, _ = build(solver)
    assert all(g["momentum"] == 0.9 for g in optimizer.param_groups)


@pytest.mark.parametrize(
    ("key", "optimizer_name", "message"),
    [
        (
            "momentum",
            "Adam",
            r"param_schedules\.momentum: param group 0 \(backbone\) has no numeric 'momentum'",
        ),
        (
            "betas[0]",
            "SGD",
            r"param_schedules\.betas\[0\]: param group 0 \(backbone\) has no numeric 'betas\[0\]'",
        ),
        ("nesterov", "SGD", r"has no numeric 'nesterov' to schedule \(got False\)"),
        ("initial_lr", "SGD", r"solver\.param_schedules\.initial_lr: not a numeric param-group key"),
        ("params", "SGD", r"solver\.param_schedules\.params: not a numeric param-group key"),
    ],
)
def test_param_schedules_of_keys_a_group_lacks_are_config_errors(key, optimizer_name, message):
    schedule = {"lr_scheduler_name": "Interpolate", "args": {"points": [[0, 1.0], [10, 0.5]]}}
    with pytest.raises(ConfigError, match=message):
        build({**SOLVER, "optimizer": optimizer_name, "param_schedules": {key: schedule}})


def test_loading_a_state_saved_by_another_kind_of_scheduler_is_an_error():
    optimizer = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1)
    plain = schedreg.build_lr_scheduler(
        {"solver": {"max_iter": 10, "steps": [5], "warmup_iters": 0}}, optimizer
    )
    _, _, grouped = build()
    with pytest.raises(ConfigError, match="this state was not saved by a GroupedLR"):
        grouped.load_state_dict(plain.state_dict())
