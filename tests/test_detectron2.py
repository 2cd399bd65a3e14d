"""detectron2's schedules: closed-form tables, and parity with detectron2's algorithm.

The parity reference re-states detectron2's ``build_lr_scheduler`` in a few lines on top
of fvcore's own ``ParamScheduler`` classes (what detectron2 itself runs), so it shares no
code with schedreg.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import pytest
import torch

import schedreg
from schedreg import ConfigError

RTOL = 1e-12


def make_optimizer(*lrs: float) -> torch.optim.Optimizer:
    groups = [{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": lr} for lr in lrs]
    return torch.optim.SGD(groups, lr=lrs[0])


def run(solver: dict, num_steps: int, *lrs: float) -> list[list[float]]:
    """lrs[i][g]: group g's lr in iteration i, for i in 0..num_steps."""
    optimizer = make_optimizer(*(lrs or (solver.get("base_lr", 1.0),)))
    scheduler = schedreg.build_lr_scheduler({"solver": solver}, optimizer)
    out = [[g["lr"] for g in optimizer.param_groups]]
    for _ in range(num_steps):
        optimizer.step()
        scheduler.step()
        out.append([g["lr"] for g in optimizer.param_groups])
    return out


def assert_close(actual: float, expected: float) -> None:
    assert actual == pytest.approx(expected, rel=RTOL, abs=0.0), (actual, expected)


# ---- closed-form tables -------------------------------------------------------------


def linear_ramp(start: float, end: float, i: int, iters: int) -> float:
    return start + (end - start) * i / iters


def test_multistep_matches_detectron2_unit_test_table():
    # detectron2 tests/test_scheduler.py::test_warmup_multistep, through the config path
    solver = dict(
        lr_scheduler_name="WarmupMultiStepLR",
        base_lr=5.0,
        max_iter=30,
        steps=[10, 15, 20],
        gamma=0.1,
        warmup_iters=5,
        warmup_factor=0.001,
    )
    lrs = [row[0] for row in run(solver, 30)]
    expected = [linear_ramp(0.005, 5.0, i, 5) for i in range(5)]
    expected += [5.0] * 5 + [0.5] * 5 + [5.0 * 0.1**2] * 5 + [5.0 * 0.1**3] * 11
    for i, (a, e) in enumerate(zip(lrs, expected, strict=True)):
        assert_close(a, e), i


@pytest.mark.parametrize("warmup_method", ["linear", "constant"])
def test_multistep_decays_exactly_at_each_milestone(warmup_method):
    steps, gamma, base = [300, 600, 800], 0.2, 0.02
    solver = dict(
        lr_scheduler_name="WarmupMultiStepLR",
        base_lr=base,
        max_iter=1000,
        steps=steps,
        gamma=gamma,
        warmup_iters=100,
        warmup_method=warmup_method,
        warmup_factor=0.01,
    )
    lrs = [row[0] for row in run(solver, 1000)]
    table = {
        0: base * 0.01,
        99: base * (0.01 * (1 - 99 / 100) + 99 / 100) if warmup_method == "linear" else base * 0.01,
        100: base,
        299: base,
        300: base * gamma,
        599: base * gamma,
        600: base * gamma**2,
        799: base * gamma**2,
        800: base * gamma**3,
        999: base * gamma**3,
        1000: base * gamma**3,
    }
    for step, expected in table.items():
        assert_close(lrs[step], expected)


def test_cosine_warmup_ramps_to_the_cosine_value_at_warmup_end():
    # detectron2 tests/test_scheduler.py::test_warmup_cosine: lr 5, 30 iters, 5 warmup
    solver = dict(
        lr_scheduler_name="WarmupCosineLR", base_lr=5.0, max_iter=30, warmup_iters=5, warmup_factor=0.001
    )
    lrs = [row[0] for row in run(solver, 30)]
    assert lrs[0] == 5.0 * 0.001
    cosine = [2.5 * (1 + math.cos(math.pi * i / 30)) for i in range(31)]
    for i in range(5):
        assert_close(lrs[i], linear_ramp(0.005, cosine[5], i, 5))
    for i in range(1, 5):  # not detectron2's legacy multiplicative warmup
        assert lrs[i] != pytest.approx(cosine[i] * (0.001 * (1 - i / 5) + i / 5))
    for i in range(5, 31):
        assert_close(lrs[i], cosine[i])


@pytest.mark.parametrize("base_lr_end", [0.0, 0.5])
def test_cosine_ends_at_base_lr_end_and_holds_there(base_lr_end):
    solver = dict(
        lr_scheduler_name="WarmupCosineLR",
        base_lr=5.0,
        base_lr_end=base_lr_end,
        max_iter=100,
        warmup_iters=10,
        warmup_factor=0.1,
    )
    lrs = [row[0] for row in run(solver, 130)]
    assert lrs[0] == 5.0 * 0.1
    assert lrs[100] == pytest.approx(base_lr_end, abs=1e-15)
    assert all(lr == lrs[100] for lr in lrs[100:])  # detectron2's cosine would rise again
    for i in range(10, 101):
        end_ratio = base_lr_end / 5.0
        assert_close(lrs[i], 5.0 * (end_ratio + 0.5 * (1 - end_ratio) * (1 + math.cos(math.pi * i / 100))))


def test_step_with_fixed_gamma_rescaled_matches_detectron2_table_and_holds_at_end():
    # detectron2 tests/test_scheduler.py::test_warmup_stepwithfixedgamma (which raises at step 30)
    solver = dict(
        lr_scheduler_name="WarmupStepWithFixedGammaLR",
        base_lr=5.0,
        max_iter=30,
        gamma=0.1,
        num_decays=4,
        warmup_iters=5,
        warmup_factor=0.001,
        rescale_interval=True,
    )
    lrs = [row[0] for row in run(solver, 35)]
    expected = [linear_ramp(0.005, 5.0, i, 5) for i in range(5)]
    for k in range(5):
        expected += [5.0 * 0.1**k] * 5
    for i in range(30):
        assert_close(lrs[i], expected[i])
    assert lrs[30:] == [lrs[29]] * 6


def test_step_with_fixed_gamma_splits_run_into_equal_pieces():
    solver = dict(
        lr_scheduler_name="WarmupStepWithFixedGammaLR",
        base_lr=1.0,
        max_iter=12,
        gamma=0.5,
        num_decays=3,
        warmup_iters=0,
    )
    lrs = [row[0] for row in run(solver, 12)]
    assert lrs[:12] == [1.0] * 3 + [0.5] * 3 + [0.25] * 3 + [0.125] * 3


@pytest.mark.parametrize("constant_ending", [0.0, 0.05])
def test_poly_is_deeplabs_multiplicative_warmup_times_poly(constant_ending):
    base, max_iter, power, warm, factor = 0.01, 200, 0.9, 20, 0.1
    solver = dict(
        lr_scheduler_name="WarmupPolyLR",
        base_lr=base,
        max_iter=max_iter,
        warmup_iters=warm,
        warmup_factor=factor,
        poly_lr_power=power,
        poly_lr_constant_ending=constant_ending,
    )
    lrs = [row[0] for row in run(solver, max_iter + 5)]
    for i in range(max_iter + 1):
        ramp = factor * (1 - i / warm) + i / warm if i < warm else 1.0
        poly = (1 - i / max_iter) ** power
        if i >= warm and poly < constant_ending:
            poly = constant_ending
        assert_close(lrs[i], base * ramp * poly)
    assert lrs[max_iter + 1 :] == [lrs[max_iter]] * 5


@pytest.mark.parametrize(
    ("method", "shape"),
    [
        ("exponential", lambda s, e, a: s * (e / s) ** a),
        ("cosine", lambda s, e, a: s + (e - s) * (1 - math.cos(math.pi * a)) / 2),
    ],
)
def test_extra_warmup_methods_anchor_to_the_main_curve(method, shape):
    solver = dict(
        lr_scheduler_name="WarmupCosineLR",
        base_lr=1.0,
        max_iter=50,
        warmup_iters=10,
        warmup_factor=0.01,
        warmup_method=method,
    )
    lrs = [row[0] for row in run(solver, 50)]
    end = 0.5 * (1 + math.cos(math.pi * 10 / 50))
    for i in range(10):
        assert_close(lrs[i], shape(0.01, end, i / 10))
    assert_close(lrs[10], end)


def test_warmup_method_none_means_no_warmup():
    lrs = [
        row[0]
        for row in run(
            dict(
                lr_scheduler_name="WarmupMultiStepLR",
                base_lr=1.0,
                max_iter=40,
                steps=[20],
                warmup_method="none",
            ),
            40,
        )
    ]
    assert lrs[:20] == [1.0] * 20


def test_every_group_keeps_its_ratio_to_the_first():
    solver = dict(lr_scheduler_name="WarmupCosineLR", base_lr=0.1, max_iter=40, warmup_iters=4)
    for row in run(solver, 45, 0.1, 0.02, 0.3):
        assert_close(row[1], row[0] * 0.2)
        assert_close(row[2], row[0] * 3.0)


def test_detectron2_defaults_apply_to_an_empty_config():
    """{} is detectron2's default: WarmupMultiStepLR, 40000 iters, decay at 30000, 1000 warmup."""
    optimizer = make_optimizer(0.001)
    scheduler = schedreg.build_lr_scheduler({}, optimizer)
    sched = scheduler.schedule
    table = {
        0: 0.001,
        500: 0.001 * (1 - 0.5) + 0.5,
        999: 0.001 * (1 - 0.999) + 0.999,
        1000: 1.0,
        29999: 1.0,
        30000: 0.1,
        39999: 0.1,
        40000: 0.1,
    }
    for step, expected in table.items():
        assert_close(sched(step), expected)


def test_yacs_cfgnode_with_detectron2_keys_builds_the_same_schedule():
    yacs = pytest.importorskip("yacs.config")
    cfg = yacs.CfgNode()
    cfg.SOLVER = yacs.CfgNode()
    cfg.SOLVER.LR_SCHEDULER_NAME = "WarmupMultiStepLR"
    cfg.SOLVER.BASE_LR = 5.0
    cfg.SOLVER.MAX_ITER = 30
    cfg.SOLVER.STEPS = (10, 15, 20)
    cfg.SOLVER.WARMUP_ITERS = 5
    cfg.SOLVER.IMS_PER_BATCH = 16  # not a schedule key: accepted
    cfg.SOLVER.CLIP_GRADIENTS = yacs.CfgNode({"ENABLED": False})
    optimizer = make_optimizer(5.0)
    scheduler = schedreg.build_lr_scheduler(cfg, optimizer)
    lower = dict(
        lr_scheduler_name="WarmupMultiStepLR", base_lr=5.0, max_iter=30, steps=[10, 15, 20], warmup_iters=5
    )
    reference = schedreg.build_lr_scheduler({"solver": lower}, make_optimizer(5.0))
    assert [scheduler.schedule(i) for i in range(31)] == [reference.schedule(i) for i in range(31)]


# ---- bad input ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("solver", "message"),
    [
        (
            dict(max_iter=1000, steps=[500, 1000]),
            r"solver\.steps must all be smaller than solver\.max_iter \(1000\), got \[500, 1000\]",
        ),
        (dict(max_iter=1000, steps=[500, 2000]), r"solver\.steps must all be smaller"),
        (dict(max_iter=1000, steps=[600, 300]), r"solver\.steps must be increasing, got \[600, 300\]"),
        (
            dict(max_iter=1000, steps=[500], warmup_iters=1000),
            r"solver\.warmup_iters must be smaller than solver\.max_iter \(1000\), got 1000",
        ),
        (
            dict(lr_scheduler_name="WarmupCosineLR", base_lr=0.1, base_lr_end=0.2),
            r"solver\.base_lr_end must be <= solver\.base_lr \(0\.1\), got 0\.2",
        ),
        (
            dict(warmup_method="exponential", warmup_factor=0.0, steps=[5], max_iter=10, warmup_iters=2),
            r"solver\.warmup_factor must be at least .* when solver\.warmup_method is exponential, got 0",
        ),
        (
            dict(warmup_method="linaer"),
            r"solver\.warmup_method must be one of none, constant, linear, exponential, cosine; got 'linaer'",
        ),
        (
            dict(lr_scheduler_name="StepLR", args={"step_size": 5}, rescale_interval=True),
            r"solver\.rescale_interval is only supported by detectron2",
        ),
    ],
)
def test_bad_detectron2_settings_name_the_key(solver, message):
    with pytest.raises(ConfigError, match=message):
        schedreg.build_lr_scheduler({"solver": solver}, make_optimizer(0.1))


@pytest.mark.parametrize(
    "name", ["WarmupMultiStepLR", "WarmupCosineLR", "WarmupStepWithFixedGammaLR", "WarmupPolyLR"]
)
def test_args_given_to_a_detectron2_schedule_are_an_error_not_ignored(name):
    solver = dict(lr_scheduler_name=name, max_iter=100, steps=[50], warmup_iters=10, args={"T_max": 5})
    with pytest.raises(ConfigError, match=rf"solver\.args is not read by {name}, got \{{'T_max': 5\}}"):
        schedreg.build_lr_scheduler({"solver": solver}, make_optimizer(0.1))


def test_upper_case_config_errors_use_upper_case_paths():
    with pytest.raises(ConfigError, match=r"SOLVER\.STEPS must be increasing"):
        schedreg.build_lr_scheduler({"SOLVER": {"STEPS": (600, 300)}}, make_optimizer(0.1))


# ---- parity with detectron2's algorithm on fvcore -----------------------------------


def detectron2_multipliers(s: dict, steps_to_check: Iterable[int]) -> list[float]:
    """detectron2.solver.build_lr_scheduler's multiplier, re-stated on fvcore's classes."""
    fv = pytest.importorskip("fvcore.common.param_scheduler")
    name, max_iter = s["lr_scheduler_name"], s["max_iter"]
    if name == "WarmupMultiStepLR":
        main = fv.MultiStepParamScheduler(
            values=[s["gamma"] ** k for k in range(len(s["steps"]) + 1)],
            milestones=list(s["steps"]),
            num_updates=max_iter,
        )
    elif name == "WarmupCosineLR":
        main = fv.CosineParamScheduler(1, s["base_lr_end"] / s["base_lr"])
    else:
        main = fv.StepWithFixedGammaParamScheduler(
            base_value=1.0, gamma=s["gamma"], num_decays=s["num_decays"], num_updates=max_iter
        )
    length = min(s["warmup_iters"] / max_iter, 1.0)
    start, rescale = s["warmup_factor"] * main(0.0), s["rescale_interval"]
    end = main(0.0) if rescale else main(length)
    warm = (
        fv.ConstantParamScheduler(start)
        if s["warmup_method"] == "constant"
        else fv.LinearParamScheduler(start, end)
    )
    composite = fv.CompositeParamScheduler(
        [warm, main],
        lengths=[length, 1 - length],
        interval_scaling=["rescaled", "rescaled" if rescale else "fixed"],
    )
    return [_or_none(composite, i / max_iter) for i in steps_to_check]


def _or_none(schedule, where: float) -> float | None:
    """None where fvcore raises (fixed gamma indexes past its last value near the end)."""
    try:
        return schedule(where)
    except IndexError:
        return None


PARITY_CASES = [
    dict(
        lr_scheduler_name=name,
        max_iter=max_iter,
        warmup_iters=warm,
        warmup_method=method,
        rescale_interval=rescale,
        steps=steps,
        gamma=0.3,
        num_decays=decays,
        base_lr=0.02,
        base_lr_end=end,
        warmup_factor=0.001,
    )
    for name in ("WarmupMultiStepLR", "WarmupCosineLR", "WarmupStepWithFixedGammaLR")
    for max_iter, warm, steps, decays in (
        (37, 5, [3, 20, 36], 2),
        (1000, 100, [50, 700], 3),
        (90000, 1000, [60000, 80000], 3),
        (90001, 0, [1, 89999], 5),
        (777, 776, [7], 7),
    )
    for method in ("linear", "constant")
    for rescale in (False, True)
    for end in (0.0, 0.002)
]


@pytest.mark.parametrize("case", PARITY_CASES, ids=lambda c: "-".join(str(v) for v in list(c.values())[:5]))
def test_schedule_equals_detectron2_at_every_iteration(case):
    every = range(case["max_iter"])  # detectron2 evaluates iterations 0..max_iter-1 (then crashes or not)
    expected = detectron2_multipliers(case, every)
    schedule = schedreg.build_lr_scheduler({"solver": case}, make_optimizer(0.02)).schedule
    for i, e in zip(every, expected, strict=True):
        a = schedule(i)
        assert a == pytest.approx(e, rel=RTOL, abs=0.0), (i, a, e)


@pytest.mark.parametrize("name", ["WarmupMultiStepLR", "WarmupCosineLR", "WarmupStepWithFixedGammaLR"])
@pytest.mark.parametrize("rescale", [False, True])
def test_schedule_equals_detectron2_around_every_boundary_beyond_a_million_iterations(name, rescale):
    """Above 1e6 iterations fvcore's 1e-6 tolerance moves boundaries; schedreg follows it."""
    case = dict(
        lr_scheduler_name=name,
        max_iter=2_500_000,
        warmup_iters=20_000,
        warmup_method="linear",
        rescale_interval=rescale,
        steps=[1_000_001, 2_000_000],
        gamma=0.1,
        num_decays=3,
        base_lr=0.1,
        base_lr_end=0.0,
        warmup_factor=0.001,
    )
    edges = [0, 20_000, 625_000, 1_000_001, 1_250_000, 1_875_000, 2_000_000, 2_499_999]
    probe = sorted({e + d for e in edges for d in range(-4, 5) if 0 <= e + d < 2_500_000})
    schedule = schedreg.build_lr_scheduler({"solver": case}, make_optimizer(0.1)).schedule
    for i, e in zip(probe, detectron2_multipliers(case, probe), strict=True):
        if e is None:  # detectron2 crashes here; schedreg holds the last piece
            assert name == "WarmupStepWithFixedGammaLR" and schedule(i) == pytest.approx(0.1**3, rel=RTOL)
        else:
            assert schedule(i) == pytest.approx(e, rel=RTOL, abs=0.0), i
