"""Edges of "null is unset" and of the one warmup mechanism, each found by a hostile hunt or a
review of the core's rebuild: a chosen option is never silently ignored or doubled."""

from __future__ import annotations

import math
import subprocess
import sys
import warnings

import pytest
import torch
from hydra import compose, initialize_config_module
from omegaconf import OmegaConf

import schedreg
from schedreg import ConfigError

BASE_LR = 0.1


def lrs(cfg, steps: int) -> list[float]:
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=BASE_LR)
    scheduler = schedreg.build_lr_scheduler(cfg, optimizer)
    out = []
    for _ in range(steps):
        out.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return out


def composed(*overrides: str):
    with initialize_config_module("schedreg.conf", version_base="1.3"):
        return compose("schedreg", overrides=[f"solver.base_lr={BASE_LR}", *overrides])


@pytest.mark.parametrize(
    ("option", "formula"),
    [("linear", lambda i, n: 1 - i / n), ("polynomial", lambda i, n: 1 - i / n)],
)
def test_an_option_that_decays_over_max_iter_runs_as_picked(option, formula):
    """Its length was an interpolation of max_iter, which is unset by default: torch's own
    total_iters (5) took over while the preview said 40000."""
    cfg = composed(f"solver={option}")
    values = lrs(cfg, 12)
    assert values == pytest.approx([BASE_LR * formula(i, 40000) for i in range(12)], rel=1e-12)
    assert lrs(composed(f"solver={option}", "solver.max_iter=10"), 12)[10] == 0.0


@pytest.mark.parametrize("child", ["WarmupCosineLR", "WarmupMultiStepLR"])
def test_a_detectron2_child_of_a_sequential_schedule_gets_no_warmup_of_its_own(child):
    """A nested scheduler's warmup is the outer one's: the child's hidden 1000-step default
    used to come back after warmup_iters was set to 0 for it."""
    cfg = {
        "lr_scheduler_name": "SequentialLR",
        "max_iter": 5000,
        "warmup_iters": 4,
        "args": {
            "milestones": [10],
            "schedulers": [
                {"lr_scheduler_name": "ConstantLR", "args": {"factor": 1.0, "total_iters": 1}},
                {"lr_scheduler_name": child, "steps": [3000]},
            ],
        },
    }
    values = lrs({"solver": cfg}, 12)
    warm = [BASE_LR * (0.001 * (1 - i / 4) + i / 4) for i in range(4)]
    assert values[:4] == pytest.approx(warm, rel=1e-12)
    assert values[4:10] == [BASE_LR] * 6
    assert values[10] == pytest.approx(BASE_LR, rel=1e-6)  # the child's first value: no warmup


def test_timm_refuses_a_warmup_none_that_its_own_warmup_t_contradicts():
    cfg = {"lr_scheduler_name": "CosineLRScheduler", "max_iter": 100, "warmup_method": "none"}
    with pytest.raises(
        ConfigError, match=r"solver\.warmup_method='none' contradicts solver\.args\.warmup_t=5"
    ):
        lrs({"solver": {**cfg, "args": {"warmup_t": 5}}}, 1)
    assert lrs({"solver": {**cfg, "warmup_iters": 5}}, 2) == [
        BASE_LR,
        pytest.approx(BASE_LR * (1 + math.cos(math.pi / 100)) / 2),
    ]


@pytest.mark.parametrize("name", ["CosineLRScheduler", "TanhLRScheduler", "PolyLRScheduler"])
def test_timm_refuses_a_warmup_that_outlasts_the_decay(name):
    with pytest.raises(ConfigError, match=r"warmup_t \(100, or the solver's warmup_iters\) must be below"):
        lrs({"solver": {"lr_scheduler_name": name, "max_iter": 100, "warmup_iters": 100}}, 1)
    prefixed = {
        "lr_scheduler_name": name,
        "max_iter": 100,
        "warmup_iters": 100,
        "args": {"warmup_prefix": True},
    }
    # a prefixed warmup comes before the whole decay (tanh's starts a hair below 1)
    assert lrs({"solver": prefixed}, 101)[100] == pytest.approx(BASE_LR, rel=1e-5)


def test_wsd_takes_its_own_min_lr_ratio_and_warms_up_from_it():
    no_warmup = lrs(composed("solver=wsd", "solver.max_iter=100", "solver.args.min_lr_ratio=0.1"), 100)
    assert no_warmup[0] == BASE_LR and no_warmup[-1] == pytest.approx(BASE_LR * (0.1 + 0.9 * (1 - 0.9**0.5)))
    warm = lrs(
        composed(
            "solver=wsd", "solver.max_iter=100", "solver.warmup_iters=10", "solver.args.min_lr_ratio=0.1"
        ),
        10,
    )
    assert warm == pytest.approx([BASE_LR * (i / 10 * 0.9 + 0.1) for i in range(10)], rel=1e-12)
    cosine = lrs(
        composed(
            "solver=wsd", "solver.max_iter=100", "solver.warmup_iters=10", "solver.args.warmup_type=cosine"
        ),
        10,
    )
    assert cosine == pytest.approx(
        [BASE_LR * 0.5 * (1 - math.cos(math.pi * i / 10)) for i in range(10)], abs=1e-15
    )
    chosen = composed(
        "solver=wsd",
        "solver/warmup=from_zero",
        "solver.max_iter=100",
        "solver.warmup_iters=10",
        "solver.args.min_lr_ratio=0.1",
    )  # a warmup from 0, not from min_lr_ratio: joined on, as on every schedule
    assert lrs(chosen, 10) == pytest.approx([BASE_LR * i / 10 for i in range(10)], rel=1e-12)


def test_null_beside_a_value_is_no_second_value():
    flat_null = {"lr_scheduler_name": "WarmupCosineLR", "max_iter": 100, "warmup_iters": 10}
    cfg = {
        **flat_null,
        "warmup": {"factor": 0.5},
        "warmup_factor": None,
        "param_schedules": {"momentum": None},
    }
    assert lrs({"solver": cfg}, 1) == [BASE_LR * 0.5]


def test_a_misspelled_key_in_an_upper_case_node_is_refused_not_ignored():
    cfg = OmegaConf.create("SOLVER:\n  LR_SCHEDULER_NAME: WarmupCosineLR\n  MAX_ITERS: 500\n")
    with pytest.raises(
        ConfigError, match=r"unknown key 'SOLVER\.MAX_ITERS'; did you mean 'SOLVER\.MAX_ITER'"
    ):
        schedreg.solver_config(cfg)
    other = OmegaConf.create("SOLVER:\n  BACKBONE_MULTIPLIER: 0.1\n  LR_SCHEDULER_NAME: WarmupCosineLR\n")
    assert schedreg.solver_config(other).other == {"backbone_multiplier": 0.1}  # another project's key


def test_old_paths_run_star_import_and_build_what_they_built():
    code = (
        "import warnings; warnings.simplefilter('ignore')\n"
        "from schedreg.lightning import *\n"
        "from schedreg.warmup import WarmupFactor\n"
        "from schedreg.config import GroupRule, fingerprint\n"
        "from schedreg.adapter import set_group_value, ScaledLR, Guards\n"
        "print(configure_optimizers.__module__, WarmupFactor('linear', 0.001, 1000)(500))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["schedreg.integrations.lightning", "0.5005"]
    listed = subprocess.run(
        [sys.executable, "-W", "default::DeprecationWarning", "-m", "schedreg.cli", "list"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "WarmupCosineLR" in listed.stdout and "moved to schedreg.integrations.cli" in listed.stderr


def test_the_old_fractional_warmup_name_builds_detectron2s_anchored_warmup():
    from schedreg.schedules.detectron2 import Cosine

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from schedreg.fractional import Warmup  # type: ignore[import-not-found]
    warmed = Warmup(Cosine(1.0, 0.0), "linear", 0.001, 0.1)
    assert warmed(0.0) == 0.001 and warmed(0.1 - 2e-6) == pytest.approx(Cosine(1.0, 0.0)(0.1), rel=1e-4)


def test_a_builder_that_takes_the_optimizer_still_schedules_another_group_key():
    """schedreg 0.1's documented builder signature, ``(solver, optimizer)``, in param_schedules:
    it gets an optimizer whose lr is 1, so what it reads relative to the lr is a multiplier."""
    cfg = {"lr_scheduler_name": "WarmupCosineLR", "max_iter": 100, "warmup_iters": 0}
    momentum = {"lr_scheduler_name": "polynomial", "args": {"lr_end": 0.5}}
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=BASE_LR, momentum=0.9)
    scheduler = schedreg.build_lr_scheduler(
        {"solver": {**cfg, "param_schedules": {"momentum": momentum}}}, optimizer
    )
    for _ in range(100):
        optimizer.step()
        scheduler.step()
    assert optimizer.param_groups[0]["momentum"] == pytest.approx(0.9 * 0.5, rel=1e-12)


def test_a_detectron2_node_with_every_key_warms_timm_up_from_its_factor():
    """A yacs CfgNode carries WARMUP_FACTOR (0.001) whether or not it was chosen: timm's
    warmup then starts at that fraction of the lr, in timm's arithmetic."""
    from yacs.config import CfgNode

    node = {"LR_SCHEDULER_NAME": "CosineLRScheduler", "MAX_ITER": 100, "WARMUP_ITERS": 10}
    node.update({"WARMUP_FACTOR": 0.001, "WARMUP_METHOD": "linear", "STEPS": (30000,), "GAMMA": 0.1})
    start = 0.001 * BASE_LR
    expected = [start + i * ((BASE_LR - start) / 10) for i in range(10)]
    assert lrs(CfgNode({"SOLVER": node}), 10) == expected
    with_init = CfgNode({"SOLVER": {**node, "ARGS": {"warmup_lr_init": 1e-6}}})
    assert lrs(with_init, 2)[0] == 1e-6  # timm's own argument wins over the solver key


@pytest.mark.parametrize(("method", "factor"), [("constant", 0.1), ("exponential", 0.001), ("linear", 0.001)])
def test_wsd_takes_any_warmup_joined_on_like_every_schedule(method, factor):
    cfg = {"lr_scheduler_name": "warmup_stable_decay", "max_iter": 100, "warmup_iters": 10}
    cfg.update(warmup_method=method, warmup_factor=factor, args={"num_decay_steps": 10})
    ramp = {
        "constant": lambda a: factor,
        "exponential": lambda a: factor ** (1 - a),
        "linear": lambda a: factor * (1 - a) + a,
    }[method]
    assert lrs({"solver": cfg}, 12) == pytest.approx(
        [BASE_LR * ramp(i / 10) for i in range(10)] + [BASE_LR, BASE_LR], rel=1e-12
    )
