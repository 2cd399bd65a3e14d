"""The tests' shared way to watch a schedule: the lr of a one-group optimizer, step by step;
a two-group optimizer; and transformers' cosine with warmup, the formula several tests expect."""

from __future__ import annotations

import math
from typing import Any

import torch

import schedreg


def lrs(solver: dict[str, Any], steps: int, base_lr: float = 0.1) -> list[float]:
    """The lr before the first step, then after each of ``steps`` steps."""
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=base_lr)
    scheduler = schedreg.build_lr_scheduler({"solver": solver}, optimizer)
    out = [optimizer.param_groups[0]["lr"]]
    for _ in range(steps):
        optimizer.step()
        scheduler.step()
        out.append(optimizer.param_groups[0]["lr"])
    return out


LRS = (0.1, 0.03)
"""The lrs of :func:`sgd`'s two groups."""


def sgd() -> torch.optim.Optimizer:
    """An SGD with two param groups, at :data:`LRS`."""
    groups = [{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": lr} for lr in LRS]
    return torch.optim.SGD(groups, lr=LRS[0])


def hf_cosine(t: int, warmup: int, total: int) -> float:
    """transformers' get_cosine_schedule_with_warmup multiplier at step ``t``."""
    if t < warmup:
        return t / max(1, warmup)
    progress = (t - warmup) / max(1, total - warmup)
    return max(0.0, 0.5 * (1.0 + math.cos(math.pi * 0.5 * 2.0 * progress)))
