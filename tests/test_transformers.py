"""transformers' schedule names: the same lrs as transformers' own lr lambdas.

The expected multipliers below are transformers' documented formulas, written out here
(transformers is not a dependency)."""

from __future__ import annotations

import math

import pytest
import torch

import schedreg
from schedreg import ConfigError

W, T, LR = 10, 100, 0.1  # warmup, total, optimizer default lr


def warm(step: int) -> float:
    return step / max(1, W)


def linear(s):
    return warm(s) if s < W else max(0.0, (T - s) / max(1, T - W))


def cosine(s, cycles=0.5, floor=0.0):
    if s < W:
        return warm(s)
    progress = (s - W) / max(1, T - W)
    return max(0.0, 0.5 * (1 + math.cos(math.pi * cycles * 2 * progress)) * (1 - floor) + floor)


def restarts(s, cycles=3):
    if s < W:
        return warm(s)
    progress = (s - W) / max(1, T - W)
    return 0.0 if progress >= 1 else max(0.0, 0.5 * (1 + math.cos(math.pi * ((cycles * progress) % 1.0))))


def polynomial(s, end=1e-4, power=2.0):
    if s < W:
        return warm(s)
    if s > T:
        return end / LR
    return ((LR - end) * (1 - (s - W) / (T - W)) ** power + end) / LR


def inverse_sqrt(s, timescale=W):
    return warm(s) if s < W else 1 / math.sqrt((s + timescale - W) / timescale)


def wsd(s, decay=30, warmup_type="cosine", decay_type="1-sqrt", floor=0.1):
    stable = T - W - decay
    if s < W:
        p = s / W
        f = {"linear": p, "cosine": 0.5 * (1 - math.cos(math.pi * p)), "1-sqrt": 1 - math.sqrt(1 - p)}[
            warmup_type
        ]
        return max(0.0, f * (1 - floor) + floor)
    if s < W + stable:
        return 1.0
    if s < W + stable + decay:
        p = (s - W - stable) / decay
        f = {"linear": 1 - p, "cosine": 0.5 * (1 + math.cos(math.pi * p)), "1-sqrt": 1 - math.sqrt(p)}[
            decay_type
        ]
        return max(0.0, f * (1 - floor) + floor)
    return floor


CASES = {
    "constant": ({}, lambda s: 1.0, 0),
    "constant_with_warmup": ({}, lambda s: warm(s) if s < W else 1.0, W),
    "linear": ({}, linear, W),
    "cosine": ({"num_cycles": 0.5}, cosine, W),
    "cosine-1.5-waves": ({"num_cycles": 1.5}, lambda s: cosine(s, 1.5), W),
    "cosine_with_restarts": ({"num_cycles": 3}, restarts, W),
    "polynomial": ({"lr_end": 1e-4, "power": 2.0}, polynomial, W),
    "inverse_sqrt": ({}, inverse_sqrt, W),
    "inverse_sqrt-timescale": ({"timescale": 25}, lambda s: inverse_sqrt(s, 25), W),
    "cosine_with_min_lr": ({"min_lr": 0.01}, lambda s: cosine(s, floor=0.01 / LR), W),
    "cosine_with_min_lr-rate": ({"min_lr_rate": 0.2}, lambda s: cosine(s, floor=0.2), W),
    "warmup_stable_decay": (
        {"num_decay_steps": 30, "warmup_type": "cosine", "decay_type": "1-sqrt", "min_lr_ratio": 0.1},
        wsd,
        W,
    ),
    "warmup_stable_decay-linear": (
        {"num_decay_steps": 30, "warmup_type": "linear", "decay_type": "linear", "min_lr_ratio": 0.1},
        lambda s: wsd(s, 30, "linear", "linear"),
        W,
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_lrs_match_transformers_formulas_for_every_group(case):
    args, multiplier, warmup = CASES[case]
    name = case.split("-")[0]
    optimizer = torch.optim.SGD(
        [
            {"params": [torch.nn.Parameter(torch.zeros(1))]},
            {"params": [torch.nn.Parameter(torch.zeros(1))], "lr": 0.03},
        ],
        lr=LR,
    )
    solver = {"lr_scheduler_name": name, "max_iter": T, "warmup_iters": warmup, "args": args}
    scheduler = schedreg.build_lr_scheduler({"solver": solver}, optimizer)
    for step in range(T + 20):
        expected = multiplier(step)
        assert optimizer.param_groups[0]["lr"] == pytest.approx(LR * expected, rel=1e-12, abs=1e-18), step
        assert optimizer.param_groups[1]["lr"] == pytest.approx(0.03 * expected, rel=1e-12, abs=1e-18), step
        optimizer.step()
        scheduler.step()


def test_another_warmup_method_replaces_transformers_linear_from_zero():
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=LR)
    solver = {
        "lr_scheduler_name": "linear",
        "max_iter": T,
        "warmup_iters": W,
        "warmup_method": "constant",
        "warmup_factor": 0.5,
    }
    schedreg.build_lr_scheduler({"solver": solver}, optimizer)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(LR * 0.5)


def test_reduce_lr_on_plateau_is_torchs_with_transformers_name():
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=LR)
    solver = {"lr_scheduler_name": "reduce_lr_on_plateau", "args": {"patience": 1, "factor": 0.5}}
    scheduler = schedreg.build_lr_scheduler({"solver": solver}, optimizer)
    for _ in range(4):
        optimizer.step()
        scheduler.step(1.0)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(LR * 0.5)


@pytest.mark.parametrize(
    ("name", "args", "message"),
    [
        (
            "cosine",
            {"num_cycle": 1},
            r"unknown argument solver\.args\.num_cycle for Cosine; allowed: num_cycles",
        ),
        (
            "cosine",
            {"num_warmup_steps": 5},
            r"solver\.args\.num_warmup_steps: set solver\.warmup_iters instead",
        ),
        (
            "linear",
            {"num_training_steps": 5},
            r"solver\.args\.num_training_steps: set solver\.max_iter instead",
        ),
        ("polynomial", {"lr_end": 1.0}, r"solver\.args\.lr_end must be below the optimizer's lr \(0\.1\)"),
        ("polynomial", {"power": "2"}, r"solver\.args\.power must be float"),
        ("cosine_with_min_lr", {}, r"must set exactly one of min_lr and min_lr_rate"),
        (
            "cosine_with_min_lr",
            {"min_lr": 0.1, "min_lr_rate": 0.1},
            r"must set exactly one of min_lr and min_lr_rate",
        ),
        ("warmup_stable_decay", {}, r"solver\.args\.num_decay_steps is required by warmup_stable_decay"),
        (
            "warmup_stable_decay",
            {"num_decay_steps": 95},
            r"num_decay_steps \(95\) plus solver\.warmup_iters \(10\)",
        ),
        (
            "warmup_stable_decay",
            {"num_decay_steps": 5, "decay_type": "cos"},
            r"decay_type must be one of linear",
        ),
        ("constant", {"x": 1}, r"solver\.args is not read by constant"),
    ],
)
def test_bad_transformers_arguments_are_config_errors(name, args, message):
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=LR)
    with pytest.raises(ConfigError, match=message):
        schedreg.build_lr_scheduler(
            {"solver": {"lr_scheduler_name": name, "max_iter": T, "warmup_iters": W, "args": args}}, optimizer
        )


def test_wsd_decay_length_may_be_a_fraction_of_max_iter():
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=LR)
    solver = {
        "lr_scheduler_name": "warmup_stable_decay",
        "max_iter": T,
        "warmup_iters": W,
        "args": {
            "num_decay_steps": 0.3,
            "warmup_type": "cosine",
            "decay_type": "1-sqrt",
            "min_lr_ratio": 0.1,
        },
    }
    scheduler = schedreg.build_lr_scheduler({"solver": solver}, optimizer)
    for step in range(T):
        assert optimizer.param_groups[0]["lr"] == pytest.approx(LR * wsd(step, 30), rel=1e-12)
        optimizer.step()
        scheduler.step()
