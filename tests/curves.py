"""The tests' shared way to watch a schedule: the lr of a one-group optimizer, step by step."""

from __future__ import annotations

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
