"""The whole lr curve of a configured schedule, at once, without an optimizer.

``lr_curve`` evaluates the schedule's closed form on every step in one vectorized pass:
a million steps take milliseconds, where stepping a scheduler takes seconds. Schedules
with no vectorized form (timm's, a third-party function) are evaluated step by step,
still without an optimizer; torch's own (recursive) schedulers are stepped.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import torch
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

from schedreg.adapters.multiplier import AbsoluteLR, MultiplierLR
from schedreg.config.parse import solver_config
from schedreg.errors import ConfigError
from schedreg.factory import build_from_solver
from schedreg.schedules.core import curve_of


def lr_curve(cfg: Any, num_steps: int, base_lr: float = 1.0) -> torch.Tensor:
    """The lr at each iteration ``0 .. num_steps - 1`` of a param group whose base lr is
    ``base_lr``, under the schedule ``cfg`` describes (its solver's own; rules for other
    param groups are not applied), in an optimizer whose default lr is ``solver.base_lr``
    as :func:`~schedreg.build_optimizer` makes it.

    Equal to the lrs the scheduler writes, bit for bit except where torch's vectorized
    ``cos``/``pow`` round the last bit differently from Python's (1e-16 relative).
    A plateau schedule is previewed with a metric that never improves.

    >>> lr_curve({"lr_scheduler_name": "WarmupMultiStepLR", "max_iter": 6, "steps": [4],
    ...           "warmup_iters": 0}, 6, base_lr=0.1).tolist()
    [0.1, 0.1, 0.1, 0.1, 0.010000000000000002, 0.010000000000000002]
    """
    if isinstance(num_steps, bool) or not isinstance(num_steps, int) or num_steps < 0:
        raise ConfigError(f"num_steps must be an integer >= 0, got {num_steps!r}")
    if isinstance(base_lr, bool) or not isinstance(base_lr, (int, float)) or not 0 <= base_lr < math.inf:
        raise ConfigError(f"base_lr must be a finite number >= 0, got {base_lr!r}")
    solver = dataclasses.replace(solver_config(cfg), param_groups=(), param_schedules={})
    # the optimizer's default lr is the solver's base_lr, as build_optimizer makes it (schedules
    # such as cosine_with_min_lr read their absolute values relative to it)
    group = {"params": [torch.nn.Parameter(torch.zeros(1))], "lr": float(base_lr)}
    optimizer = torch.optim.SGD([group], lr=solver.base_lr)
    scheduler = build_from_solver(solver, optimizer)
    steps = torch.arange(num_steps, dtype=torch.float64)
    if isinstance(scheduler, AbsoluteLR):
        return steps.new_tensor([scheduler.lrs_at(step)[0] for step in range(num_steps)])
    if isinstance(scheduler, MultiplierLR):
        return curve_of(scheduler.schedule, steps).mul_(float(base_lr))  # curve_of's result is new
    return steps.new_tensor(stepped_lrs(scheduler, optimizer, num_steps)[0])


def stepped_lrs(scheduler: LRScheduler, optimizer: Optimizer, num_steps: int) -> list[list[float]]:
    """Each group's lr at iterations ``0 .. num_steps - 1``, by stepping ``scheduler`` (a
    plateau one with a metric that never improves); the optimizer itself is not stepped."""
    lrs: list[list[float]] = [[] for _ in optimizer.param_groups]
    metric = (1.0,) if getattr(scheduler, "takes_metric", False) else ()
    optimizer._opt_called = True  # type: ignore[attr-defined]  # a preview steps no optimizer
    for _ in range(num_steps):
        for out, group in zip(lrs, optimizer.param_groups, strict=True):
            out.append(float(group["lr"]))
        scheduler.step(*metric)
    return lrs
