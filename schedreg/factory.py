"""``build_lr_scheduler``: config -> registry entry -> schedule -> torch scheduler."""

from __future__ import annotations

import dataclasses
from typing import Any

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

from schedreg.adapter import MultiplierLR, ScaledLR
from schedreg.config import SolverConfig, solver_config, validate_warmup
from schedreg.errors import ConfigError
from schedreg.registry import SCHEDULERS, Entry
from schedreg.schedules import Constant, Product, Schedule
from schedreg.warmup import WarmupFactor


def build_lr_scheduler(cfg: Any, optimizer: Optimizer) -> LRScheduler:
    """Build the lr scheduler a config describes.

    Args:
        cfg: a config with a ``SOLVER`` (detectron2) or ``solver`` node, or that node
            itself; a ``DictConfig``, ``dict``, ``CfgNode`` or any attribute object.
        optimizer: the optimizer to schedule. Each param group keeps its own base lr
            (``initial_lr``); the schedule multiplies it.

    Returns:
        A :class:`~torch.optim.lr_scheduler.LRScheduler`: step it once per iteration, after
        ``optimizer.step()``. The lr used in iteration ``i`` is the one set after ``i``
        calls of ``step()``.

    Raises:
        ConfigError: for any invalid value, naming the key.
    """
    return build_from_solver(solver_config(cfg), optimizer)


def warmup_factor(solver: SolverConfig) -> WarmupFactor | None:
    """The multiplicative warmup that ``solver`` asks for, or None."""
    validate_warmup(solver)
    if solver.warmup_method == "none" or solver.warmup_iters == 0:
        return None
    return WarmupFactor(solver.warmup_method, solver.warmup_factor, solver.warmup_iters)


def resolve(solver: SolverConfig) -> tuple[Entry[Any], SolverConfig]:
    """The registry entry ``solver`` names, and ``solver`` with that entry's defaults."""
    entry = SCHEDULERS.entry(solver.lr_scheduler_name, key=solver.path("lr_scheduler_name"))
    return entry, solver.with_defaults(entry.defaults)


def build_from_solver(solver: SolverConfig, optimizer: Optimizer, *, nested: bool = False) -> LRScheduler:
    """Build from a validated solver node.

    ``nested`` builds a child of ``SequentialLR``/``ChainedScheduler``: no warmup (the
    outer scheduler owns it) and torch's schedulers unwrapped, as those parents expect.
    """
    entry, solver = resolve(solver)
    if nested:
        if "warmup_iters" in solver.explicit and solver.warmup_iters:
            raise ConfigError(
                f"{solver.path('warmup_iters')} must be 0 in a nested scheduler, got "
                f"{solver.warmup_iters}: warmup applies to the whole schedule, set it on the outer solver"
            )
        solver = dataclasses.replace(solver, warmup_iters=0)
    if solver.rescale_interval and not entry.own_warmup:
        raise ConfigError(
            f"{solver.path('rescale_interval')} is only supported by detectron2's schedules "
            "(WarmupMultiStepLR, WarmupCosineLR, WarmupStepWithFixedGammaLR), "
            f"not {solver.lr_scheduler_name!r}"
        )
    built = entry.builder(solver, optimizer)
    warmup = None if entry.own_warmup else warmup_factor(solver)
    name = solver.lr_scheduler_name
    if isinstance(built, LRScheduler):
        return built if nested else ScaledLR(built, warmup or Constant(1.0), name)
    if callable(built):
        schedule: Schedule = built if warmup is None else Product((built, warmup))
        return MultiplierLR(optimizer, schedule, name)
    raise TypeError(
        f"the builder registered as {name!r} returned {type(built).__name__}; "
        "expected an LRScheduler or a schedule (a function of the step)"
    )
