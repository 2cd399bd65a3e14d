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
        ({"max_iter": "abc"}, r"solver\.max_iter must be an integer, or a string like '90ep', .*got 'abc'"),
        ({"max_iter": 2.5}, r"solver\.max_iter must be an integer >= 1, got 2\.5"),
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
        ({"steps": [100, "x"]}, r"solver\.steps\[1\] must be an integer, or a string like .*got 'x'"),
        ({"steps": [100, 0]}, r"solver\.steps\[1\] must be an integer >= 1, got 0"),
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
        ("cosin", "cosine"),
        ("warmupcosin", "WarmupCosineLR"),
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
        ("linear", r"solver\.warmup must be a mapping with keys method, factor,"),
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


def test_one_upper_case_key_does_not_switch_off_the_unknown_key_check():
    with pytest.raises(ConfigError, match=r"unknown key 'solver\.warmup_itrs'"):
        solver_config({"solver": {"max_iter": 100, "warmup_itrs": 5, "AMP": {}}})


def test_rule_keys_are_case_insensitive():
    solver = solver_config({"SOLVER": {"PARAM_GROUPS": {"HEAD": {"PARAMS": "head.*", "LR_FACTOR": 10.0}}}})
    assert solver.param_groups[0].params == ("head.*",) and solver.param_groups[0].lr_factor == 10.0


@pytest.mark.parametrize(
    ("node", "message"),
    [
        (
            {
                "lr_scheduler_name": "SequentialLR",
                "args": {
                    "milestones": [5],
                    "schedulers": [
                        {"lr_scheduler_name": "ConstantLR", "momentum": 0.5},
                        {"lr_scheduler_name": "ExponentialLR", "args": {"gamma": 0.9}},
                    ],
                },
            },
            r"solver\.args\.schedulers\[0\]\.momentum does not apply here",
        ),
        (
            {"param_schedules": {"momentum": {"lr_scheduler_name": "WarmupCosineLR", "optimizer": "SGD"}}},
            r"solver\.param_schedules\.momentum\.optimizer does not apply here",
        ),
        (
            {"param_groups": {"head": {"params": "head.*", "name": "x"}}},
            r"solver\.param_groups\.head\.name: a rule's name is its key",
        ),
        ({"base_lr": 10**400}, r"solver\.base_lr must be a finite number"),
        ({"gamma": 1e300, "steps": [2, 3], "max_iter": 10}, r"solver\.gamma \*\* 2 overflows"),
        (
            {"lr_scheduler_name": "LambdaLR", "args": {"lr_lambda": "..x"}},
            r"solver\.args\.lr_lambda must be an importable",
        ),
    ],
)
def test_keys_that_would_be_ignored_or_overflow_are_config_errors(node, message):
    with pytest.raises(ConfigError, match=message):
        schedreg.build_lr_scheduler({"solver": node}, optimizer())


def test_an_unresolvable_interpolation_is_a_config_error():
    cfg = OmegaConf.create({"solver": {"max_iter": "${nope}"}})
    with pytest.raises(
        ConfigError, match="the config could not be resolved: Interpolation key 'nope' not found"
    ):
        schedreg.build_lr_scheduler(cfg, optimizer())
