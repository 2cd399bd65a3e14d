"""Reading configs: every input form, key case, defaults, and errors that name the key."""

from __future__ import annotations

import types

import pytest
import torch
from omegaconf import OmegaConf

import schedreg
from schedreg import ConfigError, solver_config

SOLVER = {"lr_scheduler_name": "WarmupCosineLR", "max_iter": 500, "warmup_iters": 50, "base_lr": 0.1}


def optimizer() -> torch.optim.Optimizer:
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)


def curve(cfg) -> list[float]:
    scheduler = schedreg.build_lr_scheduler(cfg, optimizer())
    return [scheduler.schedule(i) for i in range(0, 501, 25)]


@pytest.mark.parametrize(
    "cfg",
    [
        {"solver": SOLVER},
        SOLVER,
        {"SOLVER": {k.upper(): v for k, v in SOLVER.items()}},
        OmegaConf.create({"solver": SOLVER}),
        OmegaConf.create({"solver": {**SOLVER, "max_iter": "${total}"}, "total": 500}),
        types.SimpleNamespace(solver=types.SimpleNamespace(**SOLVER)),
        types.SimpleNamespace(SOLVER=types.SimpleNamespace(**{k.upper(): v for k, v in SOLVER.items()})),
    ],
    ids=["dict", "solver-node", "upper-case", "DictConfig", "interpolation", "namespace", "namespace-upper"],
)
def test_every_config_form_gives_the_same_schedule(cfg):
    assert curve(cfg) == curve({"solver": SOLVER})


def test_missing_keys_take_detectron2_defaults():
    solver = solver_config({})
    assert (solver.lr_scheduler_name, solver.max_iter, solver.steps, solver.gamma) == (
        "WarmupMultiStepLR",
        40000,
        (30000,),
        0.1,
    )
    assert (solver.base_lr, solver.base_lr_end, solver.warmup_factor, solver.warmup_method) == (
        0.001,
        0.0,
        0.001,
        "linear",
    )
    assert solver.explicit == frozenset()


def test_explicit_keys_are_recorded_so_defaults_do_not_override_them():
    solver = solver_config({"solver": {"warmup_iters": 0, "max_iter": 10}})
    assert solver.explicit == {"warmup_iters", "max_iter"}
    assert solver.with_defaults({"warmup_iters": 1000, "gamma": 0.5}).warmup_iters == 0
    assert solver.with_defaults({"warmup_iters": 1000, "gamma": 0.5}).gamma == 0.5


def test_detectron2_names_default_to_1000_warmup_iters_torch_ones_to_none():
    d2 = schedreg.build_lr_scheduler({"solver": {"max_iter": 5000, "steps": [4000]}}, optimizer())
    assert d2.schedule(0) == pytest.approx(0.001) and d2.schedule(999) < 1.0 == d2.schedule(1000)
    opt = optimizer()
    schedreg.build_lr_scheduler(
        {"solver": {"lr_scheduler_name": "ExponentialLR", "args": {"gamma": 0.5}}}, opt
    )
    assert opt.param_groups[0]["lr"] == 0.1


@pytest.mark.parametrize(
    ("solver", "message"),
    [
        ({"warmup_itrs": 5}, r"unknown key 'solver\.warmup_itrs'; did you mean 'solver\.warmup_iters'\?"),
        ({"max_iter": "abc"}, r"solver\.max_iter must be an integer >= 1, got 'abc'"),
        ({"max_iter": 0}, r"solver\.max_iter must be an integer >= 1, got 0"),
        ({"max_iter": True}, r"solver\.max_iter must be an integer >= 1, got True"),
        ({"warmup_iters": -1}, r"solver\.warmup_iters must be an integer >= 0, got -1"),
        ({"warmup_iters": 2.5}, r"solver\.warmup_iters must be an integer >= 0, got 2\.5"),
        ({"base_lr": -0.1}, r"solver\.base_lr must be in \(0\.0, inf\], got -0\.1"),
        ({"base_lr": float("nan")}, r"solver\.base_lr must be a finite number, got nan"),
        ({"base_lr_end": -1e-3}, r"solver\.base_lr_end must be in \[0\.0, inf\], got -0\.001"),
        ({"gamma": 0}, r"solver\.gamma must be in \(0\.0, inf\], got 0"),
        ({"gamma": float("inf")}, r"solver\.gamma must be a finite number, got inf"),
        ({"warmup_factor": 1.5}, r"solver\.warmup_factor must be in \[0\.0, 1\.0\], got 1\.5"),
        ({"steps": 100}, r"solver\.steps must be a list of iteration numbers, got 100"),
        ({"steps": [100, "x"]}, r"solver\.steps\[1\] must be an integer >= 1, got 'x'"),
        ({"steps": [0, 10]}, r"solver\.steps\[0\] must be an integer >= 1, got 0"),
        ({"steps": [300, 300]}, r"solver\.steps must be increasing, got \[300, 300\]"),
        ({"rescale_interval": "yes"}, r"solver\.rescale_interval must be true or false, got 'yes'"),
        ({"args": [1, 2]}, r"solver\.args must be a mapping"),
        ({"lr_scheduler_name": ""}, r"solver\.lr_scheduler_name must be a non-empty string"),
        ({"steps": [1], "STEPS": [2]}, r"solver\.STEPS repeats 'steps'"),
    ],
)
def test_bad_values_raise_config_error_naming_key_value_and_allowed(solver, message):
    with pytest.raises(ConfigError, match=message):
        schedreg.build_lr_scheduler({"solver": solver}, optimizer())


def test_config_error_is_a_value_error():
    assert issubclass(ConfigError, ValueError)


@pytest.mark.parametrize(
    ("name", "suggestion"),
    [
        ("cosin", "WarmupCosineLR"),
        ("warmupmultisteplr", "WarmupMultiStepLR"),
        ("StepLr", "StepLR"),
        ("OneCycle", "OneCycleLR"),
    ],
)
def test_unknown_scheduler_suggests_the_closest_names(name, suggestion):
    with pytest.raises(ConfigError, match=rf"unknown scheduler '{name}'; did you mean '{suggestion}'"):
        schedreg.build_lr_scheduler({"solver": {"lr_scheduler_name": name}}, optimizer())


def test_detectron2_project_keys_in_an_upper_case_node_are_kept_not_rejected():
    solver = solver_config({"SOLVER": {"BACKBONE_MULTIPLIER": 0.1, "MAX_ITER": 10, "STEPS": [5]}})
    assert solver.other == {"backbone_multiplier": 0.1}


def test_nested_warmup_node_is_the_same_as_flat_detectron2_names():
    nested = {**SOLVER, "warmup": {"method": "constant", "factor": 0.1}}
    flat = {**SOLVER, "warmup_method": "constant", "warmup_factor": 0.1}
    assert curve({"solver": nested}) == curve({"solver": flat})


@pytest.mark.parametrize(
    ("warmup", "message"),
    [
        ({"metod": "linear"}, r"unknown key solver\.warmup\.metod; did you mean solver\.warmup\.method\?"),
        ({"method": "linaer"}, r"solver\.warmup\.method must be one of none, constant, linear"),
        ({"factor": 2.0}, r"solver\.warmup\.factor must be in \[0\.0, 1\.0\], got 2\.0"),
        ("linear", r"solver\.warmup must be a mapping with keys method, factor, iters"),
    ],
)
def test_nested_warmup_errors_use_the_nested_path(warmup, message):
    with pytest.raises(ConfigError, match=message):
        schedreg.build_lr_scheduler({"solver": {**SOLVER, "warmup": warmup}}, optimizer())


def test_nested_and_flat_spelling_of_one_key_together_is_an_error():
    with pytest.raises(ConfigError, match=r"solver\.warmup\.method and solver\.warmup_method both set"):
        schedreg.build_lr_scheduler(
            {"solver": {**SOLVER, "warmup": {"method": "linear"}, "warmup_method": "constant"}}, optimizer()
        )
