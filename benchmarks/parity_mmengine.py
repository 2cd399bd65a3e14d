"""Parity study: schedreg's mmengine dialect against mmengine's own param schedulers.

    python benchmarks/parity_mmengine.py --source PATH/mmengine/optim/scheduler [--json out.json]

mmengine is not a schedreg dependency: this loads its ``param_scheduler.py``,
``lr_scheduler.py`` and ``momentum_scheduler.py`` alone (from a checkout or an installed
package), with stand-ins for what they import from the rest of mmengine (``print_log``, the
``PARAM_SCHEDULERS`` registry, ``BaseOptimWrapper`` for an isinstance check). For each config
(``param_scheduler``, ``train_cfg``, ``iters_per_epoch``) it builds the list as mmengine's
Runner does (each window's default ``end`` from ``train_cfg``, ``convert_to_iter_based`` with
``epoch_length = len(train_dataloader)``) and steps it as the ``ParamSchedulerHook`` does
(after each iteration the ``by_epoch=False`` schedulers, after each epoch's last iteration
the ``by_epoch=True`` ones, in list order), beside ``schedreg.build_lr_scheduler(cfg)``
stepped once per iteration. Both run over an SGD (momentum 0.9, weight decay 1e-4; an AdamW
where momentum is ``betas[0]``) with two param groups, and the report is the largest relative
difference of any scheduled value (lr, momentum, weight decay) of any group at any iteration.
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
import types
import warnings
from typing import Any

import torch
from parity import compare, finish, load_source

import schedreg

LRS = (0.1, 0.03)
PACKAGE = "mmengine.optim.scheduler"
FILES = ("param_scheduler", "lr_scheduler", "momentum_scheduler")
Case = tuple[str, dict[str, Any], str]
CASES: list[Case] = [
    (
        "detection",
        {
            "param_scheduler": [
                {"type": "LinearLR", "start_factor": 0.001, "by_epoch": False, "begin": 0, "end": 50},
                {"type": "MultiStepLR", "by_epoch": True, "milestones": [8, 11], "gamma": 0.1},
            ],
            "train_cfg": {"by_epoch": True, "max_epochs": 12},
            "iters_per_epoch": 25,
        },
        "SGD",
    ),
    (
        "warmup+cosine iter",
        {
            "param_scheduler": [
                {"type": "LinearLR", "start_factor": 0.001, "by_epoch": False, "end": 10},
                {"type": "CosineAnnealingLR", "T_max": 12, "eta_min": 1e-5, "convert_to_iter_based": True},
            ],
            "train_cfg": {"by_epoch": True, "max_epochs": 12},
            "iters_per_epoch": 25,
        },
        "SGD",
    ),
    (
        "iter loop",
        {
            "param_scheduler": [
                {"type": "LinearLR", "start_factor": 0.01, "by_epoch": False, "end": 20},
                {"type": "CosineAnnealingLR", "eta_min_ratio": 0.01, "by_epoch": False, "begin": 20},
            ],
            "train_cfg": {"type": "IterBasedTrainLoop", "by_epoch": False, "max_iters": 200},
        },
        "SGD",
    ),
    (
        "poly",
        {
            "param_scheduler": [
                {"type": "PolyLR", "eta_min": 1e-4, "power": 0.9, "by_epoch": False, "end": 100}
            ],
            "train_cfg": {"by_epoch": True, "max_epochs": 11},
            "iters_per_epoch": 10,
        },
        "SGD",
    ),
    (
        "exponential",
        {
            "param_scheduler": [{"type": "ExponentialLR", "gamma": 0.9}],
            "train_cfg": {"by_epoch": True, "max_epochs": 6},
            "iters_per_epoch": 5,
        },
        "SGD",
    ),
    (
        "step converted",
        {
            "param_scheduler": [
                {"type": "StepLR", "step_size": 2, "gamma": 0.5, "convert_to_iter_based": True}
            ],
            "train_cfg": {"by_epoch": True, "max_epochs": 6},
            "iters_per_epoch": 5,
        },
        "SGD",
    ),
    (
        "constant",
        {
            "param_scheduler": [{"type": "ConstantLR", "factor": 0.5, "by_epoch": False, "end": 7}],
            "train_cfg": {"by_epoch": True, "max_epochs": 3},
            "iters_per_epoch": 5,
        },
        "SGD",
    ),
    (
        "one cycle",
        {
            "param_scheduler": [
                {"type": "OneCycleLR", "eta_max": 0.2, "three_phase": True, "by_epoch": False, "begin": 10},
            ],
            "train_cfg": {"by_epoch": True, "max_epochs": 8},
            "iters_per_epoch": 10,
        },
        "SGD",
    ),
    (
        "cosine restart",
        {
            "param_scheduler": [
                {
                    "type": "CosineRestartLR",
                    "periods": [10, 20],
                    "restart_weights": [1, 0.5],
                    "eta_min": 1e-5,
                    "by_epoch": False,
                }
            ],
            "train_cfg": {"by_epoch": True, "max_epochs": 4},
            "iters_per_epoch": 10,
        },
        "SGD",
    ),
    (
        "cosine + momentum",
        {
            "param_scheduler": [
                {"type": "CosineAnnealingLR", "T_max": 4, "eta_min_ratio": 0.01},
                {"type": "CosineAnnealingMomentum", "T_max": 4, "eta_min": 0.85},
            ],
            "train_cfg": {"by_epoch": True, "max_epochs": 5},
            "iters_per_epoch": 3,
        },
        "SGD",
    ),
    (
        "AdamW betas[0]",
        {
            "param_scheduler": [
                {"type": "LinearMomentum", "start_factor": 0.9, "by_epoch": False, "end": 5},
                {"type": "StepMomentum", "step_size": 2, "gamma": 0.9},
                {"type": "PolyLR", "power": 2.0, "eta_min": 0.001},
            ],
            "train_cfg": {"by_epoch": True, "max_epochs": 6},
            "iters_per_epoch": 4,
        },
        "AdamW",
    ),
    (
        "weight decay",
        {
            "param_scheduler": [
                {
                    "type": "LinearParamScheduler",
                    "param_name": "weight_decay",
                    "start_factor": 0.1,
                    "by_epoch": False,
                    "end": 20,
                },
                {
                    "type": "CosineAnnealingParamScheduler",
                    "param_name": "weight_decay",
                    "begin": 2,
                    "T_max": 3,
                },
                {"type": "MultiStepLR", "milestones": [2, 4], "gamma": 0.5},
            ],
            "train_cfg": {"by_epoch": True, "max_epochs": 6},
            "iters_per_epoch": 10,
        },
        "SGD",
    ),
]


class Registry:
    """A stand-in for mmengine's registry: ``register_module`` and ``get`` by name."""

    def __init__(self) -> None:
        self.classes: dict[str, type] = {}

    def register_module(self, name: str | None = None, force: bool = False, module: Any = None) -> Any:
        def register(cls: type) -> type:
            self.classes[name or cls.__name__] = cls
            return cls

        return register

    def get(self, key: str) -> type | None:
        return self.classes.get(key)


class BaseOptimWrapper:
    """A stand-in: mmengine's schedulers only ask ``isinstance(optimizer, BaseOptimWrapper)``."""


def load(folder: str) -> Registry:
    """mmengine's three scheduler files as ``mmengine.optim.scheduler.*``; their registry."""
    registry = Registry()
    stubs = {
        "mmengine": {},
        "mmengine.logging": {"print_log": lambda msg, logger=None, level=None: None},
        "mmengine.registry": {"PARAM_SCHEDULERS": registry},
        "mmengine.optim": {"BaseOptimWrapper": BaseOptimWrapper},
        PACKAGE: {},
    }
    sys.modules[PACKAGE] = types.ModuleType(PACKAGE)
    sys.modules[PACKAGE].__path__ = [folder]  # type: ignore[attr-defined]
    for file in FILES:
        name = f"{PACKAGE}.{file}"
        sys.modules[name] = types.ModuleType(name)  # placeholder while it loads
        sys.modules[name] = load_source(os.path.join(folder, f"{file}.py"), name, stubs)
        stubs = {}
    return registry


def build(registry: Registry, spec: dict[str, Any], opt: Any, per_epoch: int, epochs: int, iters: int) -> Any:
    """One scheduler as ``Runner._build_param_scheduler`` and ``build_scheduler_from_cfg`` do."""
    args = copy.deepcopy(spec)
    args.setdefault("end", epochs if args.get("by_epoch", True) else iters)
    convert = args.pop("convert_to_iter_based", False)
    cls = registry.get(args.pop("type"))
    assert cls is not None
    if convert:
        return cls.build_iter_from_epoch(optimizer=opt, epoch_length=per_epoch, **args)
    return cls(optimizer=opt, **args)


def optimizer(kind: str) -> torch.optim.Optimizer:
    groups = [{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": lr} for lr in LRS]
    if kind == "AdamW":
        return torch.optim.AdamW(groups, lr=LRS[0], betas=(0.9, 0.999), weight_decay=1e-4)
    return torch.optim.SGD(groups, lr=LRS[0], momentum=0.9, weight_decay=1e-4)


def values(opt: torch.optim.Optimizer) -> list[float]:
    """Every group's lr, momentum (``betas[0]`` for AdamW) and weight decay."""
    out = []
    for g in opt.param_groups:
        out += [
            float(g["lr"]),
            float(g["betas"][0] if "betas" in g else g["momentum"]),
            float(g["weight_decay"]),
        ]
    return out


def theirs(registry: Registry, cfg: dict[str, Any], kind: str, steps: int) -> list[list[float]]:
    """mmengine's Runner: build the list, then step it as the ParamSchedulerHook does."""
    opt, train = optimizer(kind), dict(cfg["train_cfg"])
    per_epoch = cfg.get("iters_per_epoch", 1)
    by_epoch = train.get("by_epoch", True)
    epochs = train["max_epochs"] if by_epoch else 1  # IterBasedTrainLoop counts one epoch
    iters = epochs * per_epoch if by_epoch else train["max_iters"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        schedulers = [build(registry, s, opt, per_epoch, epochs, iters) for s in cfg["param_scheduler"]]
        out = []
        for it in range(steps):
            out.append(values(opt))
            opt.step()
            for s in schedulers:
                if not s.by_epoch:
                    s.step()
            if by_epoch and (it + 1) % per_epoch == 0:
                for s in schedulers:
                    if s.by_epoch:
                        s.step()
    return out


def ours(cfg: dict[str, Any], kind: str, steps: int) -> list[list[float]]:
    opt = optimizer(kind)
    scheduler = schedreg.build_lr_scheduler(copy.deepcopy(cfg), opt)
    out = []
    for _ in range(steps):
        out.append(values(opt))
        opt.step()
        scheduler.step()
    return out


def length(cfg: dict[str, Any]) -> int:
    train = cfg["train_cfg"]
    if train.get("by_epoch", True):
        return train["max_epochs"] * cfg["iters_per_epoch"]
    return train["max_iters"]


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", required=True, help="mmengine's mmengine/optim/scheduler folder")
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    registry = load(args.source)
    worst = {}
    for name, cfg, kind in CASES:
        steps = length(cfg)
        shown = {"param_scheduler": [s["type"] for s in cfg["param_scheduler"]], "optimizer": kind}
        worst[name] = compare(name, shown, ours(cfg, kind, steps), theirs(registry, cfg, kind, steps))
    return finish(worst, f"{len(CASES)} cases x 2 groups x (lr, momentum, weight_decay)", args.json)


if __name__ == "__main__":
    main()
