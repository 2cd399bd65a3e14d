"""Parity study: schedreg's timm-named schedulers against timm itself.

    pip install timm --no-deps   # only timm.scheduler is used; it needs torch alone
    python benchmarks/parity_timm.py [--json out.json]

For each scheduler and argument set, runs timm's scheduler the way timm's training loop
does (constructor, then ``step(t)``/``step_update(t)`` for t = 1, 2, ...) and schedreg's
(``step()`` once per t) side by side on three param groups (one with timm's ``lr_scale``)
and reports the largest relative difference of any lr at any step, and whether the two
are bit-identical. ``timm``'s package ``__init__`` imports torchvision; when that is
missing, ``timm.scheduler`` is loaded without it.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import sys
import types
from typing import Any

import torch
from parity import compare, finish

import schedreg

STEPS = 130


def timm_scheduler_module() -> types.ModuleType:
    """``timm.scheduler``, without running ``timm/__init__`` (which needs torchvision)."""
    try:
        return importlib.import_module("timm.scheduler")
    except ImportError:
        spec = importlib.util.find_spec("timm")
        if spec is None or not spec.submodule_search_locations:
            raise SystemExit("timm is not installed: pip install timm --no-deps") from None
        for name in [m for m in sys.modules if m == "timm" or m.startswith("timm.")]:
            del sys.modules[name]
        stub = types.ModuleType("timm")
        stub.__path__ = list(spec.submodule_search_locations)
        sys.modules["timm"] = stub
        return importlib.import_module("timm.scheduler")


COMMON = {"t_initial": 40, "warmup_t": 5, "warmup_lr_init": 1e-4, "lr_min": 1e-5}
CASES: list[tuple[str, dict[str, Any]]] = [
    ("CosineLRScheduler", {"t_initial": 100}),
    ("CosineLRScheduler", COMMON),
    ("CosineLRScheduler", {**COMMON, "warmup_prefix": True, "k_decay": 1.5}),
    ("CosineLRScheduler", {**COMMON, "cycle_limit": 3, "cycle_decay": 0.5}),
    ("CosineLRScheduler", {**COMMON, "cycle_mul": 2.0, "cycle_limit": 3, "cycle_decay": 0.7}),
    ("CosineLRScheduler", {**COMMON, "cycle_mul": 1.5, "cycle_limit": 4, "k_decay": 0.5}),
    ("CosineLRScheduler", {**COMMON, "noise_range_t": [10, 60], "noise_pct": 0.3, "noise_seed": 7}),
    ("CosineLRScheduler", {**COMMON, "noise_range_t": 20, "t_in_epochs": False}),
    ("TanhLRScheduler", {"t_initial": 100}),
    ("TanhLRScheduler", COMMON),
    ("TanhLRScheduler", {**COMMON, "warmup_prefix": True, "lb": -5.0, "ub": 4.0}),
    ("TanhLRScheduler", {**COMMON, "cycle_mul": 2.0, "cycle_limit": 3, "cycle_decay": 0.5}),
    ("PolyLRScheduler", {"t_initial": 100}),
    ("PolyLRScheduler", {**COMMON, "power": 2.0, "k_decay": 2.0}),
    ("PolyLRScheduler", {**COMMON, "cycle_limit": 3, "cycle_decay": 0.5, "warmup_prefix": True}),
    ("StepLRScheduler", {"decay_t": 30, "decay_rate": 0.5}),
    ("StepLRScheduler", {"decay_t": 25, "decay_rate": 0.1, "warmup_t": 5, "warmup_lr_init": 1e-4}),
    ("StepLRScheduler", {"decay_t": 25, "decay_rate": 0.1, "warmup_t": 5, "warmup_prefix": False}),
    ("StepLRScheduler", {"decay_t": 20, "decay_rate": 0.8, "noise_range_t": [0, 100], "noise_pct": 0.5}),
    ("MultiStepLRScheduler", {"decay_t": [30, 60, 90], "decay_rate": 0.1}),
    (
        "MultiStepLRScheduler",
        {"decay_t": [1, 30, 60], "decay_rate": 0.5, "warmup_t": 4, "warmup_lr_init": 1e-3},
    ),
    ("PlateauLRScheduler", {"patience_t": 2, "decay_rate": 0.5, "mode": "min"}),
    ("PlateauLRScheduler", {"patience_t": 3, "warmup_t": 5, "warmup_lr_init": 1e-4, "lr_min": 1e-3}),
    (
        "PlateauLRScheduler",
        {"patience_t": 1, "mode": "min", "noise_range_t": [10, 80], "noise_type": "uniform"},
    ),
]


def optimizer() -> torch.optim.Optimizer:
    params = [
        {"params": [torch.nn.Parameter(torch.zeros(1))]},
        {"params": [torch.nn.Parameter(torch.zeros(1))], "lr": 0.03},
        {"params": [torch.nn.Parameter(torch.zeros(1))], "lr_scale": 0.25},
    ]
    return torch.optim.SGD(params, lr=0.1)


def metric(t: int) -> float:
    """A loss that improves, stalls, improves again: the plateau scheduler has work to do."""
    return 1.0 / (1 + min(t, 20)) + (0.0 if t < 50 else -0.001 * min(t - 50, 10))


def timm_lrs(cls: type, kwargs: dict[str, Any]) -> list[list[float]]:
    opt = optimizer()
    scheduler = cls(opt, **kwargs)
    out = [[g["lr"] for g in opt.param_groups]]
    per_update = kwargs.get("t_in_epochs") is False
    for t in range(1, STEPS):
        if per_update:
            scheduler.step_update(t)
        else:
            scheduler.step(t, metric(t))
        out.append([g["lr"] for g in opt.param_groups])
    return out


def schedreg_lrs(name: str, kwargs: dict[str, Any]) -> list[list[float]]:
    opt = optimizer()
    scheduler = schedreg.build_lr_scheduler({"solver": {"lr_scheduler_name": name, "args": kwargs}}, opt)
    out = [[g["lr"] for g in opt.param_groups]]
    for t in range(1, STEPS):
        opt.step()
        scheduler.step(metric(t)) if getattr(scheduler, "takes_metric", False) else scheduler.step()
        out.append([g["lr"] for g in opt.param_groups])
    return out


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    timm = timm_scheduler_module()
    worst = {}
    for name, kwargs in CASES:
        theirs = timm_lrs(getattr(timm, name), kwargs)
        worst[f"{name} {json.dumps(kwargs)}"] = compare(name, kwargs, schedreg_lrs(name, kwargs), theirs)
    return finish(worst, f"{len(CASES)} cases x 3 groups x {STEPS} steps", args.json)


if __name__ == "__main__":
    main()
