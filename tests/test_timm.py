"""timm's schedulers by timm's names and arguments: lrs against timm's formulas, written here.

Step ``t`` is timm's ``step(t)``/``step_update(t)``; step 0 is what timm's constructor
sets (``warmup_lr_init``, or the base lr without warmup). Real timm is compared in
``benchmarks/parity_timm.py`` (bit-identical, results in ``benchmarks/results/``).
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import pytest
import torch

from schedreg import ConfigError, build_lr_scheduler

BASES = (0.1, 0.02)
INIT, FLOOR = 1e-4, 1e-5


def run(name: str, length: int, metrics: list[float] | None = None, **solver: Any) -> list[tuple[float, ...]]:
    """Each group's lr at t = 0 .. length - 1."""
    groups = [{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": lr} for lr in BASES]
    optimizer = torch.optim.SGD(groups, lr=BASES[0])
    scheduler = build_lr_scheduler({"solver": {"lr_scheduler_name": name, **solver}}, optimizer)
    out = [tuple(g["lr"] for g in optimizer.param_groups)]
    for t in range(1, length):
        optimizer.step()
        scheduler.step(metrics[t]) if metrics is not None else scheduler.step()
        out.append(tuple(g["lr"] for g in optimizer.param_groups))
    return out


def assert_table(actual: list[tuple[float, ...]], expected: list[tuple[float, ...]]) -> None:
    assert len(actual) == len(expected)
    for t, (got, want) in enumerate(zip(actual, expected, strict=True)):
        assert got == pytest.approx(want, rel=1e-12, abs=0), f"t={t}"


def warmup(t: int, base: float, length: int, end: float | None = None) -> float:
    """Linear from INIT at t=0 to ``end`` (the base lr) at t=length."""
    end = base if end is None else end
    return INIT + (end - INIT) * t / length


def half_cosine(fraction: float, top: float, floor: float = FLOOR) -> float:
    return floor + (top - floor) * (1 + math.cos(math.pi * fraction)) / 2


def test_cosine_warms_up_from_an_absolute_lr_then_decays_to_lr_min_and_stays():
    args = {"t_initial": 40, "warmup_t": 5, "warmup_lr_init": INIT, "lr_min": FLOOR}
    expected = [
        tuple(warmup(t, b, 5) if t < 5 else half_cosine(t / 40, b) if t < 40 else FLOOR for b in BASES)
        for t in range(50)
    ]
    assert_table(run("CosineLRScheduler", 50, args=args), expected)


def test_cosine_warmup_prefix_starts_the_decay_clock_after_warmup_and_k_decay_bends_it():
    k = 1.5
    args = {"t_initial": 40, "warmup_t": 5, "warmup_lr_init": INIT, "lr_min": FLOOR}
    args |= {"warmup_prefix": True, "k_decay": k}
    expected = [
        tuple(
            warmup(t, b, 5) if t < 5 else half_cosine((t - 5) ** k / 40**k, b) if t < 45 else FLOOR
            for b in BASES
        )
        for t in range(50)
    ]
    assert_table(run("CosineLRScheduler", 50, args=args), expected)


def test_cosine_cycles_grow_by_cycle_mul_peak_lower_by_cycle_decay_and_stop_at_cycle_limit():
    # cycles of 10, 20, 40 steps starting at 0, 10, 30; after 70 the floor
    starts, lengths = (0, 10, 30), (10, 20, 40)
    args = {"t_initial": 10, "cycle_mul": 2.0, "cycle_decay": 0.5, "cycle_limit": 3, "lr_min": FLOOR}

    def value(t: int, base: float) -> float:
        if t == 0:
            return base
        for i, (start, length) in enumerate(zip(starts, lengths, strict=True)):
            if start <= t < start + length:
                return half_cosine((t - start) / length, base * 0.5**i)
        return FLOOR

    expected = [tuple(value(t, b) for b in BASES) for t in range(80)]
    assert_table(run("CosineLRScheduler", 80, args=args), expected)


def test_cycles_that_shrink_to_a_finite_total_end_on_lr_min_instead_of_crashing():
    # cycle_mul 0.5: lengths 10, 5, 2.5, ... sum to 20; timm raises a math domain error from t=20
    args = {"t_initial": 10, "cycle_mul": 0.5, "cycle_limit": 1000, "lr_min": FLOOR}
    lrs = run("CosineLRScheduler", 30, args=args)
    assert lrs[5] == pytest.approx(tuple(half_cosine(0.5, b) for b in BASES), rel=1e-12)
    assert all(row == (FLOOR, FLOOR) for row in lrs[20:])


def test_tanh_without_prefix_warms_up_to_the_decays_value_at_warmup_end():
    lb, ub, total, length = -7.0, 3.0, 30, 4

    def decay(t: int, base: float) -> float:
        r = t / total
        return FLOOR + (base - FLOOR) * (1 - math.tanh(lb * (1 - r) + ub * r)) / 2

    args = {"t_initial": total, "warmup_t": length, "warmup_lr_init": INIT, "lr_min": FLOOR}
    expected = [
        tuple(
            warmup(t, b, length, decay(length, b)) if t < length else decay(t, b) if t < total else FLOOR
            for b in BASES
        )
        for t in range(35)
    ]
    assert_table(run("TanhLRScheduler", 35, args=args), expected)


def test_tanh_starts_at_the_base_lr_as_timms_constructor_sets_it():
    lrs = run("TanhLRScheduler", 2, args={"t_initial": 10})
    assert lrs[0] == BASES  # tanh's own value at 0 is 1 - 8e-7 of it


def test_poly_decays_with_power_and_k_decay_per_cycle():
    power, k, total = 2.0, 2.0, 20

    def value(t: int, base: float) -> float:
        if t == 0:
            return base
        i, t_in = divmod(t, total)
        if i >= 2:
            return FLOOR
        return FLOOR + (base * 0.5**i - FLOOR) * (1 - t_in**k / total**k) ** power

    args = {"t_initial": total, "power": power, "k_decay": k, "cycle_limit": 2, "cycle_decay": 0.5}
    expected = [tuple(value(t, b) for b in BASES) for t in range(45)]
    assert_table(run("PolyLRScheduler", 45, args={**args, "lr_min": FLOOR}), expected)


def test_step_decays_every_decay_t_after_a_prefixed_warmup():
    args = {"decay_t": 7, "decay_rate": 0.5, "warmup_t": 3, "warmup_lr_init": INIT}
    expected = [
        tuple(warmup(t, b, 3) if t < 3 else b * 0.5 ** ((t - 3) // 7) for b in BASES) for t in range(30)
    ]
    assert_table(run("StepLRScheduler", 30, args=args), expected)


def test_multistep_takes_each_decay_one_step_before_its_milestone_as_timm_does():
    milestones, rate = (10, 20), 0.3
    expected = [
        tuple(b if t == 0 else b * rate ** sum(m <= t + 1 for m in milestones) for b in BASES)
        for t in range(25)
    ]
    assert_table(run("MultiStepLRScheduler", 25, steps=list(milestones), gamma=rate), expected)


def timm_noise(seed: int, t: int, pct: float) -> float:
    """timm's draw: a standard normal from a generator seeded seed + t, redrawn until |n| < pct."""
    generator = torch.Generator()
    generator.manual_seed(seed + t)
    while True:
        n = torch.randn(1, generator=generator).item()
        if abs(n) < pct:
            return n


def test_noise_is_timms_seeded_draw_inside_the_range_and_the_same_on_every_run():
    args = {"decay_t": 100, "noise_range_t": [5, 15], "noise_pct": 0.3, "noise_seed": 7}
    lrs = run("StepLRScheduler", 20, args=args)
    expected = [
        tuple(b * (1 + timm_noise(7, t, 0.3)) if 5 <= t < 15 else b for b in BASES) for t in range(20)
    ]
    assert_table(lrs, expected)
    assert run("StepLRScheduler", 20, args=args) == lrs


def test_plateau_warms_up_then_halves_after_patience_bad_epochs():
    # a constant metric: the first epoch after warmup sets the best, then every
    # (patience + 1)-th epoch is one too many bad ones
    args = {"patience_t": 1, "decay_rate": 0.5, "mode": "min", "warmup_t": 3, "warmup_lr_init": INIT}
    metrics = [1.0] * 12
    halvings = [0, 0, 0, 0, 0, 0, 1, 1, 2, 2, 3, 3]  # epochs 4, 5 set best/bad; 6 reduces, ...
    expected = [
        tuple(warmup(t, b, 3) if t <= 3 else b * 0.5 ** halvings[t] for b in BASES) for t in range(12)
    ]
    assert_table(run("PlateauLRScheduler", 12, metrics, args=args), expected)


def test_solver_keys_fill_in_timm_arguments_that_args_leave_out():
    by_keys = run("CosineLRScheduler", 30, max_iter=25, warmup_iters=4, base_lr_end=FLOOR)
    by_args = run("CosineLRScheduler", 30, args={"t_initial": 25, "warmup_t": 4, "lr_min": FLOOR})
    assert by_keys == by_args
    assert run(
        "CosineLRScheduler", 30, max_iter=99, args={"t_initial": 25, "warmup_t": 4, "lr_min": FLOOR}
    ) == (by_args)


def test_a_groups_lr_scale_multiplies_its_lr_as_in_timm():
    groups = [{"params": [torch.nn.Parameter(torch.zeros(1))], "lr_scale": s} for s in (1.0, 0.25)]
    optimizer = torch.optim.SGD(groups, lr=0.1)
    build_lr_scheduler(
        {"lr_scheduler_name": "StepLRScheduler", "args": {"decay_t": 2, "decay_rate": 0.5}}, optimizer
    )
    assert [g["lr"] for g in optimizer.param_groups] == [0.1, 0.025]


@pytest.mark.parametrize(
    ("solver", "message"),
    [
        ({"args": {"t_inital": 10}}, "unknown argument solver.args.t_inital for CosineLRScheduler"),
        ({"args": {}}, "solver.args.t_initial is required by CosineLRScheduler (or set solver.max_iter)"),
        ({"args": {"t_initial": 0}}, "solver.args.t_initial must be > 0, got 0"),
        ({"args": {"t_initial": 10, "cycle_mul": 0}}, "solver.args.cycle_mul must be > 0"),
        ({"args": {"t_initial": 10, "lr_min": -1e-3}}, "solver.args.lr_min must be >= 0"),
        ({"args": {"t_initial": 10, "noise_range_t": [5], "noise_pct": 0}}, "noise_pct must be in [0.01, 1]"),
        ({"args": {"t_initial": 10, "noise_range_t": [9, 3]}}, "[start, end] with start < end"),
        ({"args": {"t_initial": [10]}}, "solver.args.t_initial must be int | float, got [10]"),
        (
            {"max_iter": 50, "warmup_iters": 5, "warmup_method": "cosine"},
            "warms up linearly from solver.args",
        ),
    ],
)
def test_bad_timm_arguments_are_config_errors_naming_the_key(solver, message):
    with pytest.raises(ConfigError) as info:
        run("CosineLRScheduler", 2, **solver)
    assert message in str(info.value)


def test_a_chosen_warmup_factor_starts_timms_warmup_at_that_fraction_of_each_groups_lr():
    """It was refused before schedreg 0.2; now it is applied, in timm's arithmetic."""
    got = run("CosineLRScheduler", 5, max_iter=50, warmup_iters=5, warmup_factor=0.1)
    expected = [tuple(0.1 * b + t * ((b - 0.1 * b) / 5) for b in BASES) for t in range(5)]
    assert got == expected


@pytest.mark.parametrize(
    ("name", "args", "message"),
    [
        ("TanhLRScheduler", {"t_initial": 10, "lb": 3.0, "ub": 3.0}, "solver.args.lb must be below"),
        ("MultiStepLRScheduler", {"decay_t": [30, 10]}, "solver.args.decay_t must be increasing"),
        ("StepLRScheduler", {"decay_t": 0}, "solver.args.decay_t must be > 0"),
        ("PlateauLRScheduler", {"decay_rate": 1.5}, "solver.args.decay_rate must be < 1"),
        ("PlateauLRScheduler", {"mode": "lowest"}, "solver.args.mode must be 'min' or 'max'"),
    ],
)
def test_bad_arguments_of_the_other_timm_schedulers_are_config_errors(name, args, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[")):
        run(name, 2, args=args)


def test_noise_std_is_accepted_but_warned_about_because_timm_ignores_it():
    args = {"t_initial": 10, "noise_range_t": 2}
    with pytest.warns(UserWarning, match="noise_std=0.5 has no effect"):
        noisy = run("CosineLRScheduler", 5, args={**args, "noise_std": 0.5})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert run("CosineLRScheduler", 5, args=args) == noisy


def test_an_lr_that_overflows_mid_run_is_a_config_error_naming_the_schedule():
    with pytest.raises(ConfigError, match=r"solver\.lr_scheduler_name='StepLRScheduler' failed at step 1024"):
        run("StepLRScheduler", 1100, args={"decay_t": 1, "decay_rate": 2.0})


def test_the_plateau_scheduler_updates_a_tensor_lr_in_place():
    lr = torch.tensor(0.1, dtype=torch.float64)
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)
    args = {"warmup_t": 2, "warmup_lr_init": INIT, "noise_range_t": 3, "patience_t": 0, "mode": "min"}
    scheduler = build_lr_scheduler({"lr_scheduler_name": "PlateauLRScheduler", "args": args}, optimizer)
    for _ in range(6):
        optimizer.step()
        scheduler.step(1.0)
    assert optimizer.param_groups[0]["lr"] is lr and float(lr) < 0.1
