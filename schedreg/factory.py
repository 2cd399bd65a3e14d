"""``build_lr_scheduler``: config -> registry entry -> schedule -> torch scheduler."""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

from schedreg.adapter import AbsoluteLR, GroupedLR, GroupView, MultiplierLR, ScaledLR
from schedreg.config import SolverConfig, fingerprint, schedule_identity, solver_config, validate_warmup
from schedreg.errors import ConfigError
from schedreg.registry import SCHEDULERS, Entry
from schedreg.schedules import Constant, LrSchedule, Product, Schedule
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
        calls of ``step()``. With ``param_groups`` rules or ``param_schedules`` it is a
        :class:`~schedreg.adapter.GroupedLR`, which gives each group its own schedule.

    Raises:
        ConfigError: for any invalid value, naming the key.
    """
    solver = solver_config(cfg)
    if not solver.param_groups and not solver.param_schedules:
        scheduler: LRScheduler = build_from_solver(solver, optimizer)
    else:
        scheduler = GroupedLR(
            optimizer,
            functools.partial(lane_key, solver),
            functools.partial(build_lane, solver),
            functools.partial(group_param_schedules, param_schedule_table(solver)),
        )
    scheduler.fingerprint = fingerprint(resolve(solver)[1])
    scheduler.on_resume_change = solver.on_resume_change
    if solver.units.step_unit == "epoch" and "max_iter" in solver.explicit:
        rules = [rule.schedule.max_iter for rule in solver.param_groups if rule.schedule is not None]
        scheduler.epochs = max([solver.max_iter, *rules])  # the longest schedule of any group
        scheduler.epoch_keys = (solver.path("max_iter"), solver.path("iters_per_epoch"))
    return scheduler


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
    # torch's schedulers are built over a view, so groups added later get their own
    target = optimizer if nested else GroupView(optimizer, range(len(optimizer.param_groups)))
    built = entry.builder(solver, target)
    warmup = None if entry.own_warmup else warmup_factor(solver)
    name = f"{solver.path('lr_scheduler_name')}={solver.lr_scheduler_name!r}"  # what error messages name
    if isinstance(built, LRScheduler):
        make = functools.partial(entry.builder, solver)
        return built if nested else ScaledLR(built, make, warmup or Constant(1.0), name)
    if isinstance(built, LrSchedule):
        if warmup is not None:
            raise TypeError(f"{name} returns absolute lrs; register it with own_warmup=True")
        return AbsoluteLR(optimizer, built, name)
    if callable(built):
        schedule: Schedule = built if warmup is None else Product((built, warmup))
        return MultiplierLR(optimizer, schedule, name)
    raise TypeError(
        f"the builder registered as {solver.lr_scheduler_name!r} returned {type(built).__name__}; "
        "expected an LRScheduler or a schedule (a function of the step, or an LrSchedule of absolute lrs)"
    )


def build_schedule(solver: SolverConfig) -> Schedule:
    """The pure schedule (with warmup) ``solver`` names; for group keys other than the lr."""
    import torch

    entry, solver = resolve(solver)
    probe = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    built = entry.builder(solver, probe)
    if isinstance(built, LRScheduler) or not callable(built):
        raise ConfigError(
            f"{solver.path('lr_scheduler_name')}: {solver.lr_scheduler_name} drives the lr only; a schedule "
            "of another param-group key needs a schedule that is a function of the step "
            "(detectron2's Warmup* schedules, Interpolate, or your own)"
        )
    warmup = None if entry.own_warmup else warmup_factor(solver)
    return built if warmup is None else Product((built, warmup))


def group_solver(solver: SolverConfig, group: dict[str, Any]) -> SolverConfig:
    """The solver a param group follows: its rule's schedule (by ``name``), or ``solver``."""
    rule = next((r for r in solver.param_groups if r.name == group.get("name")), None)
    return rule.schedule if rule is not None and rule.schedule is not None else solver


def lane_key(solver: SolverConfig, group: dict[str, Any]) -> tuple[Any, ...]:
    """Groups with equal keys share one scheduler."""
    return schedule_identity(group_solver(solver, group))


def build_lane(solver: SolverConfig, group: dict[str, Any], view: Optimizer) -> LRScheduler:
    """The scheduler of the groups in ``view``, which follow ``group``'s schedule."""
    return build_from_solver(group_solver(solver, group), view)


def param_schedule_table(solver: SolverConfig) -> dict[str | None, dict[str, Schedule]]:
    """Per rule name (None: groups no rule names), the schedules of keys other than the lr.

    A rule's own ``param_schedules`` replace the solver's key by key.
    """
    default = {key: build_schedule(node) for key, node in solver.param_schedules.items()}
    table: dict[str | None, dict[str, Schedule]] = {None: default}
    for rule in solver.param_groups:
        own = rule.schedule.param_schedules if rule.schedule is not None else {}
        table[rule.name] = {**default, **{key: build_schedule(node) for key, node in own.items()}}
    return table


def group_param_schedules(
    table: dict[str | None, dict[str, Schedule]], group: dict[str, Any]
) -> dict[str, Schedule]:
    """``group``'s row of :func:`param_schedule_table`."""
    return table.get(group.get("name"), table[None])
