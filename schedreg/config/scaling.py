"""detectron2's linear scaling rule for a different number of workers.

A schedule written for ``reference_world_size`` workers, run on ``world_size``: the lr
scales with the world size, and ``max_iter``, ``steps``, ``warmup_iters`` and
``checkpoint_period`` scale inversely (rounded as detectron2 rounds: Python's ``round``,
halves to even). As in detectron2, ``base_lr_end`` is not scaled. A schedule stepped once
per epoch (``interval: epoch`` without ``iters_per_epoch``) keeps its durations: an epoch
is the same data on any number of workers.
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

from schedreg.config.parse import solver_config
from schedreg.config.solver import SolverConfig
from schedreg.errors import ConfigError


def scale_to_world_size(cfg: Any, world_size: int) -> SolverConfig:
    """The solver node rescaled from ``reference_world_size`` to ``world_size`` workers.

    Unchanged when ``reference_world_size`` is 0 (off) or already ``world_size``.

    >>> s = scale_to_world_size({"solver": {"reference_world_size": 8, "ims_per_batch": 16,
    ...     "base_lr": 0.02, "max_iter": 90000, "steps": [60000, 80000], "warmup_iters": 1000}}, 16)
    >>> s.ims_per_batch, s.base_lr, s.max_iter, s.steps, s.warmup_iters, s.reference_world_size
    (32, 0.04, 45000, (30000, 40000), 500, 16)
    """
    solver = solver_config(cfg)
    reference = solver.reference_world_size
    if isinstance(world_size, bool) or not isinstance(world_size, int) or world_size < 1:
        raise ConfigError(f"world_size must be a positive integer, got {world_size!r}")
    if reference in (0, world_size):
        return solver
    if solver.ims_per_batch % reference:
        raise ConfigError(
            f"{solver.path('ims_per_batch')} ({solver.ims_per_batch}) must be divisible by "
            f"{solver.path('reference_world_size')} ({reference})"
        )
    scale = world_size / reference
    scaled = dataclasses.replace(
        solver,
        ims_per_batch=round(solver.ims_per_batch * scale),
        base_lr=solver.base_lr * scale,
        reference_world_size=world_size,
    )
    if solver.units.step_unit == "epoch":
        return scaled  # an epoch is the same data on any number of workers
    scaled = dataclasses.replace(
        scaled,
        max_iter=round(solver.max_iter / scale),
        warmup_iters=round(solver.warmup_iters / scale),
        steps=tuple(round(s / scale) for s in solver.steps),
        checkpoint_period=round(solver.checkpoint_period / scale),
        iters_per_epoch=None if solver.iters_per_epoch is None else round(solver.iters_per_epoch / scale),
    )
    if scaled.max_iter < 1 or any(a >= b for a, b in itertools.pairwise((0, *scaled.steps))):
        raise ConfigError(
            f"{solver.path('max_iter')} and {solver.path('steps')} are too short to scale by 1/{scale:g} "
            f"for {world_size} workers: got max_iter {scaled.max_iter}, steps {list(scaled.steps)}"
        )
    return scaled
