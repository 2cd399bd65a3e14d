"""mmengine's dialect: a ``param_scheduler`` list gives mmengine's numbers.

Expected values are mmengine's chained formulas, written here from its ``param_scheduler.py``
(each step turns the current value into the next; a window counts its steps from ``begin``;
iteration schedulers step after each iteration, epoch ones after each epoch's last). The parity
study (benchmarks/parity_mmengine.py) runs mmengine's own files against schedreg.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch
from omegaconf import OmegaConf

import schedreg
from schedreg import ConfigError
from schedreg.integrations.cli import compose

LRS = (0.1, 0.03)


def groups(*lrs: float) -> list[dict[str, Any]]:
    return [{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": lr} for lr in lrs or LRS]


def sgd(*lrs: float) -> torch.optim.Optimizer:
    return torch.optim.SGD(groups(*lrs), lr=0.1, momentum=0.9, weight_decay=1e-4)


def adamw() -> torch.optim.Optimizer:
    return torch.optim.AdamW(groups(), lr=0.1, betas=(0.9, 0.999), weight_decay=1e-4)


def cfg(specs: list[dict[str, Any]], per_epoch: int | None = 10, **train: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "param_scheduler": specs,
        "train_cfg": train or {"by_epoch": True, "max_epochs": 10},
    }
    if per_epoch is not None:
        out["iters_per_epoch"] = per_epoch
    return out


def run(
    config: Any, steps: int, optimizer: torch.optim.Optimizer | None = None, key: str = "lr"
) -> list[list[float]]:
    """Every group's ``key`` at iterations 0 .. steps - 1 (momentum: ``betas[0]`` for Adam)."""
    optimizer = optimizer or sgd()
    scheduler = schedreg.build_lr_scheduler(config, optimizer)
    out = []
    for _ in range(steps):
        out.append([float(g["betas"][0] if key == "betas[0]" else g[key]) for g in optimizer.param_groups])
        optimizer.step()
        scheduler.step()
    return out


def column(rows: list[list[float]], g: int = 0) -> list[float]:
    return [row[g] for row in rows]


def approx(values: list[float]) -> Any:
    return pytest.approx(values, rel=1e-12, abs=0)


def linear(base: float, n: int, sf: float, ef: float = 1.0) -> list[float]:
    """mmengine's LinearLR over [0, n): sf, then v *= 1 + (ef - sf) / (total * sf + (t - 1) * (ef - sf))."""
    total, v, out = n - 1, base * sf, [base * sf]
    for t in range(1, n):
        v *= 1.0 + (ef - sf) / (total * sf + (t - 1) * (ef - sf))
        out.append(v)
    return out


def cosine(base: float, v: float, t: int, period: float, low: float) -> float:
    """mmengine's CosineAnnealing's step t from v (t >= 1)."""
    if (t - 1 - period) % (2 * period) == 0:
        return v + (base - low) * (1 - math.cos(math.pi / period)) / 2
    return (1 + math.cos(math.pi * t / period)) / (1 + math.cos(math.pi * (t - 1) / period)) * (v - low) + low


def test_the_classic_detection_config_warms_up_by_iteration_and_drops_by_epoch():
    specs = [
        {"type": "LinearLR", "start_factor": 0.001, "by_epoch": False, "begin": 0, "end": 50},
        {"type": "MultiStepLR", "by_epoch": True, "milestones": [8, 11], "gamma": 0.1},
    ]
    got = run(cfg(specs, 25, by_epoch=True, max_epochs=12), 300)
    for g, base in enumerate(LRS):
        warm = linear(base, 50, 0.001)
        expected = []
        for s in range(300):
            if s < 50:
                expected.append(warm[s])
                continue
            epoch = s // 25
            expected.append(warm[-1] * 0.1 ** ((epoch >= 8) + (epoch >= 11)))
        assert column(got, g) == approx(expected)


def test_linear_lr_with_end_10_reaches_the_base_lr_at_iteration_9():
    got = run(cfg([{"type": "LinearLR", "start_factor": 0.25, "by_epoch": False, "end": 10}]), 15)
    for g, base in enumerate(LRS):
        assert column(got, g) == approx([*linear(base, 10, 0.25), *[linear(base, 10, 0.25)[-1]] * 5])
        assert got[9][g] == pytest.approx(base, rel=1e-12) and got[8][g] < base


def test_cosine_converted_to_iterations_anneals_each_iteration_over_t_max_epochs():
    per, low = 5, 1e-5
    specs = [
        {"type": "CosineAnnealingLR", "T_max": 4, "eta_min": low, "convert_to_iter_based": True, "end": 4}
    ]
    got = run(cfg(specs, per), 25)
    for g, base in enumerate(LRS):
        v, expected = base, [base]
        for t in range(1, 20):
            v = cosine(base, v, t, 4 * per, low)
            expected.append(v)
        assert column(got, g) == approx([*expected, *[expected[-1]] * 5])
        closed = [low + (base - low) * (1 + math.cos(math.pi * s / 20)) / 2 for s in range(20)]
        assert column(got, g)[:20] == pytest.approx(closed, rel=1e-9)


def test_eta_min_ratio_is_a_fraction_of_each_groups_own_lr():
    specs = [{"type": "CosineAnnealingLR", "eta_min_ratio": 0.01, "by_epoch": False, "end": 10}]
    got = run(cfg(specs), 12)
    for g, base in enumerate(LRS):
        v, expected = base, [base]
        for t in range(1, 10):
            v = cosine(base, v, t, 10, base * 0.01)
            expected.append(v)
        assert column(got, g)[:10] == approx(expected)


def test_poly_lr_decays_to_eta_min_by_its_chained_power_rule():
    low, power, n = 1e-4, 0.9, 20
    got = run(cfg([{"type": "PolyLR", "eta_min": low, "power": power, "by_epoch": False, "end": n}]), 25)
    for g, base in enumerate(LRS):
        v, expected = base, [base]
        for t in range(1, n):
            v = (v - low) * (1 - 1 / (n - 1 - t + 1)) ** power + low
            expected.append(v)
        assert column(got, g) == approx([*expected, *[expected[-1]] * 5])
        assert expected[-1] == pytest.approx(low, rel=1e-12)


def test_exponential_lr_by_epoch_multiplies_after_each_epoch():
    got = run(cfg([{"type": "ExponentialLR", "gamma": 0.9}], 5, by_epoch=True, max_epochs=6), 30)
    for g, base in enumerate(LRS):
        assert column(got, g) == approx([base * 0.9 ** (s // 5) for s in range(30)])


def test_step_lr_converted_to_iterations_steps_every_step_size_epochs():
    got = run(cfg([{"type": "StepLR", "step_size": 2, "gamma": 0.5, "convert_to_iter_based": True}], 5), 40)
    for g, base in enumerate(LRS):
        assert column(got, g) == approx([base * 0.5 ** (s // 10) for s in range(40)])


def test_constant_lr_scales_until_the_last_step_of_its_window():
    got = run(cfg([{"type": "ConstantLR", "factor": 0.5, "by_epoch": False, "end": 7}]), 10)
    for g, base in enumerate(LRS):
        assert column(got, g) == approx([base * 0.5] * 6 + [base * 0.5 * (1 / 0.5)] * 4)


def test_one_cycle_lr_rises_cosine_from_eta_max_over_div_factor_then_falls():
    peak, total, pct = 0.1, 40, 0.3
    got = run(
        cfg([{"type": "OneCycleLR", "eta_max": peak, "total_steps": total, "by_epoch": False, "end": 40}]), 40
    )
    start, low = peak / 25.0, peak / 25.0 / 1e4
    up = float(pct * total) - 1

    def expected(s: int) -> float:
        if s <= up:
            a, b, frac = start, peak, s / up
        else:
            a, b, frac = peak, low, (s - up) / (total - 1 - up)
        return b + (a - b) / 2.0 * (math.cos(math.pi * frac) + 1)

    for g in range(2):  # one eta_max for every group
        assert column(got, g) == approx([expected(s) for s in range(40)])


def test_cosine_restart_lr_restarts_at_each_period_with_its_weight():
    low = 1e-5
    specs = [
        {
            "type": "CosineRestartLR",
            "periods": [10, 20],
            "restart_weights": [1, 0.5],
            "eta_min": low,
            "by_epoch": False,
        }
    ]
    got = run(cfg(specs, 10, by_epoch=True, max_epochs=4), 35)
    for g, base in enumerate(LRS):
        expected, v = [], base
        for s in range(35):
            index, start = (0, 0) if s < 10 else ((1, 10) if s < 30 else (None, None))
            if index is None:
                expected.append(v)
                continue
            step, length = s - start, (10, 20)[index]
            if step == 0:
                v = base * (1, 0.5)[index]
            else:
                v = (1 + math.cos(math.pi * step / length)) / (
                    1 + math.cos(math.pi * (step - 1) / length)
                ) * (v - low) + low
            expected.append(v)
        assert column(got, g) == approx(expected)


def test_an_epoch_window_without_end_runs_to_train_cfg_max_epochs():
    specs = [{"type": "LinearLR", "start_factor": 0.5}]
    got = run(cfg(specs, 3, by_epoch=True, max_epochs=4), 12)
    for g, base in enumerate(LRS):
        per_epoch = linear(base, 4, 0.5)
        assert column(got, g) == approx([per_epoch[s // 3] for s in range(12)])


def test_momentum_schedulers_write_sgds_momentum_and_adamws_betas0():
    specs = [{"type": "LinearMomentum", "start_factor": 0.9, "by_epoch": False, "end": 5}]
    expected = linear(0.9, 5, 0.9)
    sgd_rows = run(cfg(specs), 8, sgd(), "momentum")
    adam_rows = run(cfg(specs), 8, adamw(), "betas[0]")
    for g in range(2):
        assert column(sgd_rows, g) == approx([*expected, *[expected[-1]] * 3])
        assert column(adam_rows, g) == column(sgd_rows, g)


def test_a_linear_param_scheduler_schedules_weight_decay():
    specs = [
        {
            "type": "LinearParamScheduler",
            "param_name": "weight_decay",
            "start_factor": 0.1,
            "by_epoch": False,
            "end": 20,
        }
    ]
    got = run(cfg(specs), 25, key="weight_decay")
    expected = linear(1e-4, 20, 0.1)
    for g in range(2):
        assert column(got, g) == approx([*expected, *[expected[-1]] * 5])
    assert column(run(cfg(specs), 25), 0) == [0.1] * 25  # the lr untouched


def test_two_groups_keep_their_lr_ratio():
    specs = [
        {"type": "LinearLR", "start_factor": 0.01, "by_epoch": False, "end": 10},
        {"type": "CosineAnnealingLR", "eta_min_ratio": 0.0, "by_epoch": False, "begin": 10},
    ]
    got = run(cfg(specs, None, type="IterBasedTrainLoop", by_epoch=False, max_iters=60), 60)
    assert [b / a for a, b in got] == pytest.approx([0.3] * 60, rel=1e-12)


def test_a_dict_and_an_omegaconf_config_from_yaml_give_the_same_lrs():
    text = """
param_scheduler:
  - {type: LinearLR, start_factor: 0.001, by_epoch: false, begin: 0, end: 20}
  - {type: MultiStepLR, by_epoch: true, milestones: [3, 5], gamma: 0.1}
train_cfg: {by_epoch: true, max_epochs: 6}
iters_per_epoch: 10
"""
    as_dict = OmegaConf.to_container(OmegaConf.create(text))
    assert run(OmegaConf.create(text), 60) == run(as_dict, 60)


def test_resuming_from_a_state_dict_mid_run_gives_the_uninterrupted_lrs():
    specs = [
        {"type": "LinearLR", "start_factor": 0.001, "by_epoch": False, "end": 15},
        {"type": "CosineAnnealingLR", "eta_min": 1e-4, "convert_to_iter_based": True, "begin": 1},
        {"type": "CosineAnnealingMomentum", "eta_min": 0.85, "by_epoch": False},
    ]
    config = cfg(specs, 10, by_epoch=True, max_epochs=6)
    whole = run(config, 60)
    optimizer = sgd()
    scheduler = schedreg.build_lr_scheduler(config, optimizer)
    for _ in range(23):
        optimizer.step()
        scheduler.step()
    state, opt_state = scheduler.state_dict(), optimizer.state_dict()
    resumed_opt = sgd()
    resumed_opt.load_state_dict(opt_state)
    resumed = schedreg.build_lr_scheduler(config, resumed_opt)
    resumed.load_state_dict(state)
    rest = []
    for _ in range(23, 60):
        rest.append([g["lr"] for g in resumed_opt.param_groups])
        resumed_opt.step()
        resumed.step()
    assert rest == whole[23:]


ITER_LOOP = {"type": "IterBasedTrainLoop", "by_epoch": False, "max_iters": 100}
BAD = [
    (cfg([{"type": "CosineLR"}]), r"param_scheduler\[0\]\.type must be one of mmengine's schedulers"),
    (cfg([{"type": "ReduceOnPlateauLR"}]), r"param_scheduler\[0\]\.type='ReduceOnPlateauLR'.*not supported"),
    (cfg([{"type": "LinearLR", "begin": 5, "end": 5}]), r"param_scheduler\[0\]: end=5 must be above begin=5"),
    (cfg([{"type": "LinearLR", "start_factor": 1.5}]), r"param_scheduler\[0\]\.start_factor must be"),
    (
        cfg([{"type": "CosineAnnealingLR", "eta_min": 0.0, "eta_min_ratio": 0.1}]),
        r"param_scheduler\[0\]: set eta_min or eta_min_ratio, not both",
    ),
    (
        cfg([{"type": "OneCycleLR", "eta_max": 0.1, "pct_start": 0}]),
        r"param_scheduler\[0\]\.pct_start must be a float",
    ),
    (
        cfg([{"type": "StepLR", "step_size": 2, "gamme": 0.5}]),
        r"unknown argument .*param_scheduler\[0\]\.gamme",
    ),
    (
        {"param_scheduler": [{"type": "StepLR", "step_size": 2}], "train_cfg": ITER_LOOP},
        r"param_scheduler\[0\]: an iteration-based train_cfg steps epoch schedulers once",
    ),
    (
        cfg(
            [{"type": "LinearLR", "by_epoch": False, "end": 5}, {"type": "StepLR", "step_size": 2}],
            None,
        ),
        r"param_scheduler\[1\] steps per epoch .*: set iters_per_epoch",
    ),
    (
        cfg([{"type": "MultiStepLR", "milestones": [8, 11]}], None),
        r"param_scheduler\[0\] steps per epoch .*: set iters_per_epoch",
    ),
    (
        {"param_scheduler": [{"type": "LinearLR", "by_epoch": False}]},
        r"param_scheduler\[0\]\.end is not set, and the run's length is unknown",
    ),
]


@pytest.mark.parametrize(
    ("config", "message"),
    BAD,
    ids=[
        "unknown type",
        "ReduceOnPlateauLR",
        "end <= begin",
        "start_factor > 1",
        "eta_min and eta_min_ratio",
        "int pct_start",
        "unknown argument",
        "epoch window in an iteration loop",
        "mixed windows, no iters_per_epoch",
        "epoch windows alone, no iters_per_epoch",
        "no end, no run length",
    ],
)
def test_a_bad_param_scheduler_is_one_config_error_naming_the_key(config, message):
    with pytest.raises(ConfigError, match=message):
        schedreg.build_lr_scheduler(config, sgd())


def test_the_hydra_option_composes_to_linear_warmup_then_cosine_by_iteration():
    config = compose(
        ["solver=mmengine_warmup_cosine", "solver.max_iter=40", "solver.warmup_iters=5"], None, "schedreg"
    )
    got = column(run(config, 45, sgd(0.1)))
    warm = linear(0.1, 5, 0.001)
    v, expected = 0.1, [0.1]
    for t in range(1, 35):
        v = cosine(0.1, v, t, 35, 0.0)
        expected.append(v)
    assert got[:5] == approx(warm) and got[5:40] == approx(expected)


def test_the_hydra_option_with_param_group_rules_scales_the_backbones_lr():
    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.backbone = torch.nn.Linear(2, 2)
            self.head = torch.nn.Linear(2, 2)

    config = compose(
        [
            "solver=mmengine_warmup_cosine",
            "solver.max_iter=40",
            "solver.warmup_iters=5",
            "solver/param_groups=backbone_0.1x",
        ],
        None,
        "schedreg",
    )
    optimizer = schedreg.build_optimizer(config, Net())
    rows = run(config, 45, optimizer)
    names = [g["name"] for g in optimizer.param_groups]
    backbone, default = names.index("backbone"), names.index("default")
    base = optimizer.param_groups[default]["initial_lr"]
    assert optimizer.param_groups[backbone]["initial_lr"] == pytest.approx(base * 0.1, rel=1e-12)
    assert [row[backbone] / row[default] for row in rows] == pytest.approx([0.1] * 45, rel=1e-12)


def test_the_hydra_option_refuses_a_solver_warmup():
    with pytest.raises(ConfigError, match=r"warmup.*solver/warmup=own"):
        config = compose(["solver=mmengine_warmup_cosine", "solver/warmup=linear"], None, "schedreg")
        schedreg.build_lr_scheduler(config, sgd())


def test_two_one_cycles_of_one_key_are_refused_since_mmengine_runs_both_on_the_last_ones_values():
    specs = [
        {"type": "OneCycleLR", "eta_max": 0.1, "total_steps": 40, "by_epoch": False, "end": 40},
        {"type": "OneCycleLR", "eta_max": 0.2, "by_epoch": False, "begin": 40, "end": 80},
    ]
    cfg = {"param_scheduler": specs, "train_cfg": {"by_epoch": False, "max_iters": 80}}
    with pytest.raises(schedreg.ConfigError, match="two OneCycle schedulers of one key"):
        schedreg.build_lr_scheduler(cfg, torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1))
