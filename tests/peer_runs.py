"""Stepping a scheduler built from a peer's config the way the peer's trainer does: one
``step()`` after each optimizer step, the lrs read before it."""

from __future__ import annotations

from typing import Any

import torch

import schedreg


def run(cfg: Any, steps: int, optimizer: torch.optim.Optimizer) -> list[list[float]]:
    """Every group's lr at iterations ``0 .. steps - 1`` under the scheduler ``cfg`` builds."""
    scheduler = schedreg.build_lr_scheduler(cfg, optimizer)
    out = []
    for _ in range(steps):
        out.append([g["lr"] for g in optimizer.param_groups])
        optimizer.step()
        scheduler.step()
    return out
