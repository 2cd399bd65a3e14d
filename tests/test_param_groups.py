"""build_param_groups and build_optimizer: detectron2's groups, rules, and errors."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import schedreg
from schedreg import ConfigError
from schedreg.integrations.optimizers import OPTIMIZERS, build_optimizer
from schedreg.integrations.param_groups import build_param_groups


class Net(nn.Module):
    """backbone (conv + BN + frozen conv), neck (LayerNorm), head (linear sharing a weight)."""

    def __init__(self):
        super().__init__()
        self.backbone = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Conv2d(4, 4, 1, bias=False))
        self.backbone[2].weight.requires_grad_(False)
        self.neck = nn.LayerNorm(4)
        self.head = nn.Linear(4, 4)
        self.tied = nn.Linear(4, 4, bias=False)
        self.tied.weight = self.head.weight  # shared: counted once, where first seen


def summary(groups):
    """(name, [param ids], settings) per group, params identified by their name in Net."""
    names = {id(p): n for n, p in Net_instance.named_parameters()}
    return [
        (
            g["name"],
            [names[id(p)] for p in g["params"]],
            {k: v for k, v in g.items() if k not in ("params", "name")},
        )
        for g in groups
    ]


Net_instance = Net()


def test_detectron2_defaults_give_detectron2s_groups_in_detectron2s_order():
    # detectron2: lr for all, weight_decay_norm (0.0) for BN and LayerNorm params, frozen and shared skipped
    groups = build_param_groups({"solver": {"base_lr": 0.02}}, Net_instance)
    assert summary(groups) == [
        ("default", ["backbone.0.weight", "backbone.0.bias", "head.weight", "head.bias"], {"lr": 0.02}),
        (
            "default",
            ["backbone.1.weight", "backbone.1.bias", "neck.weight", "neck.bias"],
            {"lr": 0.02, "weight_decay": 0.0},
        ),
    ]


def test_bias_lr_factor_and_weight_decay_bias_make_a_bias_group_as_detectron2():
    solver = {"base_lr": 0.02, "bias_lr_factor": 2.0, "weight_decay_bias": 0.0, "weight_decay_norm": None}
    groups = build_param_groups({"solver": solver}, Net_instance)
    assert summary(groups) == [
        ("default", ["backbone.0.weight", "backbone.1.weight", "neck.weight", "head.weight"], {"lr": 0.02}),
        (
            "default",
            ["backbone.0.bias", "backbone.1.bias", "neck.bias", "head.bias"],
            {"lr": 0.04, "weight_decay": 0.0},
        ),
    ]


def test_rules_move_parameters_first_match_wins_and_keep_detectron2_settings_underneath():
    rules = {
        "backbone_norm": {"params": "backbone.*", "module_types": "norm", "lr_factor": 0.1},
        "backbone": {"params": "backbone.*", "lr_factor": 0.1, "weight_decay": 0.0005},
        "head": {"params": ["re:^head\\.", "neck.*"], "lr": 0.5},
    }
    groups = build_param_groups({"solver": {"base_lr": 0.02, "param_groups": rules}}, Net_instance)
    assert summary(groups) == [
        ("backbone", ["backbone.0.weight", "backbone.0.bias"], {"lr": 0.02 * 0.1, "weight_decay": 0.0005}),
        ("backbone_norm", ["backbone.1.weight", "backbone.1.bias"], {"lr": 0.02 * 0.1, "weight_decay": 0.0}),
        ("head", ["neck.weight", "neck.bias"], {"lr": 0.5, "weight_decay": 0.0}),
        ("head", ["head.weight", "head.bias"], {"lr": 0.5}),
    ]


def test_every_trainable_parameter_lands_in_exactly_one_group():
    rules = {"a": {"params": "backbone.*"}, "b": {"module_types": ["Linear", "LayerNorm"]}}
    groups = build_param_groups({"solver": {"param_groups": rules}}, Net_instance)
    ids = [id(p) for g in groups for p in g["params"]]
    trainable = {id(p) for p in Net_instance.parameters() if p.requires_grad}
    assert len(ids) == len(set(ids)) == len(trainable) and set(ids) == trainable
    assert all(isinstance(g["name"], str) for g in groups)


def test_rules_also_accept_a_list_with_names():
    as_list = [{"name": "bb", "params": "backbone.*", "lr_factor": 0.5}]
    as_map = {"bb": {"params": "backbone.*", "lr_factor": 0.5}}
    a = build_param_groups({"solver": {"param_groups": as_list}}, Net_instance)
    b = build_param_groups({"solver": {"param_groups": as_map}}, Net_instance)
    assert summary(a) == summary(b)


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        (
            {"bakbone": {"params": "bakbone.*"}},
            r"solver\.param_groups\.bakbone matches no parameter of Net \(params=\['bakbone\.\*'\]",
        ),
        ({"x": {"params": "re:("}}, r"solver\.param_groups\.x\.params has an invalid regex"),
        (
            {"x": {"params": "a", "lr": 0.1, "lr_factor": 2}},
            r"solver\.param_groups\.x sets both lr and lr_factor",
        ),
        (
            {"x": {"lr": 0.1}},
            r"solver\.param_groups\.x must select parameters with params and/or module_types",
        ),
        (
            {"x": {"params": "a", "lr_factr": 2}},
            r"unknown key solver\.param_groups\.x\.lr_factr; did you mean",
        ),
        ({"x": {"params": 3}}, r"solver\.param_groups\.x\.params must be a string or a list of strings"),
        (
            {"x": {"params": "a", "warmup_iters": -1}},
            r"solver\.param_groups\.x\.warmup_iters must be an integer",
        ),
        ([{"params": "a"}], r"solver\.param_groups\[0\] must be a mapping with a 'name'"),
    ],
)
def test_bad_rules_are_config_errors_naming_the_rule(rules, message):
    with pytest.raises(ConfigError, match=message):
        build_param_groups({"solver": {"param_groups": rules}}, Net_instance)


def test_an_optional_rule_may_match_nothing():
    groups = build_param_groups(
        {"solver": {"param_groups": {"x": {"params": "nope.*", "optional": True}}}}, Net_instance
    )
    assert {g["name"] for g in groups} == {"default"}


def test_every_torch_optimizer_is_registered():
    import inspect

    expected = {
        n
        for n, c in vars(torch.optim).items()
        if inspect.isclass(c) and issubclass(c, torch.optim.Optimizer) and c is not torch.optim.Optimizer
    }
    assert expected <= set(OPTIMIZERS) and {"SGD", "Adam", "AdamW"} <= expected


def test_build_optimizer_is_detectron2s_sgd_by_default():
    optimizer = build_optimizer({"solver": {"base_lr": 0.02}}, Net_instance)
    assert type(optimizer) is torch.optim.SGD
    for group in optimizer.param_groups:
        assert (group["momentum"], group["nesterov"], group["lr"]) == (0.9, False, 0.02)
    assert [g["weight_decay"] for g in optimizer.param_groups] == [0.0001, 0.0]


def test_build_optimizer_takes_any_torch_optimizer_and_its_arguments():
    solver = {
        "optimizer": "AdamW",
        "base_lr": 0.001,
        "weight_decay": 0.05,
        "optimizer_args": {"betas": [0.9, 0.95]},
    }
    optimizer = build_optimizer({"solver": solver}, Net_instance)
    assert type(optimizer) is torch.optim.AdamW
    assert (
        optimizer.param_groups[0]["betas"] == (0.9, 0.95)
        and optimizer.param_groups[0]["weight_decay"] == 0.05
    )
    assert optimizer.param_groups[1]["weight_decay"] == 0.0  # norms, as detectron2


@pytest.mark.parametrize(
    ("solver", "message"),
    [
        ({"optimizer": "Adamw"}, r"unknown optimizer 'Adamw'; did you mean 'AdamW'"),
        (
            {"optimizer": "Adam", "optimizer_args": {"momentum": 0.9}},
            r"unknown argument solver\.optimizer_args\.momentum for Adam",
        ),
        (
            {"optimizer": "Adam", "optimizer_args": {"amsgrad": "yes"}},
            r"solver\.optimizer_args\.amsgrad must be bool",
        ),
        (
            {"base_lr": 0.1, "optimizer_args": {"lr": -1.0}},
            r"solver\.optimizer_args: SGD rejected \{'lr': -1\.0\}",
        ),
        (
            {"clip_gradients": {"enabled": True, "clip_type": "max"}},
            r"solver\.clip_gradients\.clip_type must be one of value, norm",
        ),
        ({"clip_gradients": {"enable": True}}, r"unknown key solver\.clip_gradients\.enable"),
    ],
)
def test_bad_optimizer_settings_are_config_errors(solver, message):
    with pytest.raises(ConfigError, match=message):
        build_optimizer({"solver": solver}, Net_instance)


@pytest.mark.parametrize("clip_type", ["value", "norm"])
def test_gradient_clipping_is_applied_before_each_step(clip_type):
    model = nn.Linear(3, 1, bias=False)
    solver = {
        "base_lr": 1.0,
        "momentum": 0.0,
        "weight_decay": 0.0,
        "clip_gradients": {"enabled": True, "clip_type": clip_type, "clip_value": 0.5},
    }
    optimizer = build_optimizer({"solver": solver}, model)
    before = model.weight.detach().clone()
    model.weight.grad = torch.tensor([[3.0, -4.0, 0.0]])
    optimizer.step()
    step = before - model.weight.detach()
    expected = torch.tensor([[0.5, -0.5, 0.0]]) if clip_type == "value" else torch.tensor([[0.3, -0.4, 0.0]])
    assert torch.allclose(step, expected, atol=1e-6)


def test_upper_case_detectron2_clip_gradients_node_is_read():
    cfg = {
        "SOLVER": {
            "BASE_LR": 1.0,
            "MOMENTUM": 0.0,
            "WEIGHT_DECAY": 0.0,
            "CLIP_GRADIENTS": {"ENABLED": True, "CLIP_TYPE": "value", "CLIP_VALUE": 0.25, "NORM_TYPE": 2.0},
        }
    }
    model = nn.Linear(1, 1, bias=False)
    optimizer = build_optimizer(cfg, model)
    model.weight.grad = torch.tensor([[10.0]])
    before = model.weight.item()
    optimizer.step()
    assert before - model.weight.item() == pytest.approx(0.25)


def test_public_names_are_exported():
    assert schedreg.build_param_groups is build_param_groups and schedreg.build_optimizer is build_optimizer
    assert schedreg.OPTIMIZERS is OPTIMIZERS
