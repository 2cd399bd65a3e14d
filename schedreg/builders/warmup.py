"""The warmup a solver node asks for, joined onto a schedule: the one place that reads
and checks ``warmup_iters``, ``warmup.method`` and ``warmup.factor``.

The factory joins it onto whatever a builder returns (a schedule of the step, or a torch
scheduler's lr); detectron2's builders join it onto their fraction-of-training schedules,
anchored to the main curve. Both are one :class:`~schedreg.schedules.warmup.Warmup`.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from schedreg.builders.schedule_free import give_warmup, is_schedule_free, own_warmup, takes_warmup
from schedreg.config.solver import SolverConfig
from schedreg.errors import ConfigError
from schedreg.schedules.warmup import Warmup

M = TypeVar("M", bound=Callable[[Any], float])
"""The main curve: a schedule of the step, or of detectron2's fraction of training."""


def warmup_length(solver: SolverConfig) -> int:
    """The warmup's length in steps (0: none), checked: it must end before training does,
    and the exponential shape needs a factor > 0."""
    if solver.warmup_method == "none" or solver.warmup_iters == 0:
        return 0
    if solver.warmup_iters >= solver.max_iter:
        raise ConfigError(
            f"{solver.path('warmup_iters')} must be smaller than {solver.path('max_iter')} "
            f"({solver.max_iter}), got {solver.warmup_iters}"
        )
    if solver.warmup_method == "exponential" and solver.warmup_factor < sys.float_info.min:
        raise ConfigError(
            f"{solver.path('warmup_factor')} must be at least {sys.float_info.min} (the smallest normal "
            f"float) when {solver.path('warmup_method')} is exponential, got {solver.warmup_factor}"
        )
    return solver.warmup_iters


def joined(main: M, solver: SolverConfig, *, anchored: bool = False, margin: float = 1.0) -> M | Warmup:
    """``main`` with ``solver``'s warmup joined on (``main`` itself when there is none).

    ``anchored`` joins detectron2's way, on ``main``'s fraction-of-training time
    (``margin`` is then fvcore's tolerance); else the warmup multiplies ``main``.
    """
    length = warmup_length(solver)
    if not length:
        return main
    if anchored:
        return Warmup(
            main,
            solver.warmup_method,
            solver.warmup_factor,
            length / solver.max_iter,
            anchored=True,
            rescale=solver.rescale_interval,
            margin=margin,
        )
    return Warmup(main, solver.warmup_method, solver.warmup_factor, length)


def routed_to_schedule_free(solver: SolverConfig, optimizer: Any) -> SolverConfig:
    """``solver`` for a schedule-free optimizer: its warmup given to the optimizer's own
    ``warmup_steps`` (where it averages with it) and taken off the schedule; a warmup on both,
    a warmup the optimizer cannot take (RAdamScheduleFree's), or a shape other than linear
    refused."""
    if not is_schedule_free(optimizer):
        return solver
    length, own = warmup_length(solver), own_warmup(optimizer)
    if length and solver.units.step_unit == "epoch":
        raise ConfigError(
            f"{solver.path('warmup_iters')}={length} counts epochs, but a schedule-free optimizer warms up "
            f"over its own updates; set {solver.path('iters_per_epoch')} to convert it"
        )
    if solver.param_groups and any(rule.schedule is not None for rule in solver.param_groups):
        raise ConfigError(
            f"{solver.path('param_groups')}: a schedule per group on a schedule-free optimizer is not "
            "supported (its warmup is the optimizer's, one for all groups); give the rules lrs, not schedules"
        )
    if length and own == length and all(g.get("warmup_steps") == length for g in optimizer.param_groups):
        # resumed: the optimizer's state holds the warmup it was given
        return dataclasses.replace(solver, warmup_iters=0, explicit=solver.explicit | {"warmup_iters"})
    if length and own:
        raise ConfigError(
            f"{solver.path('warmup_iters')}={length}: the schedule-free optimizer warms up itself "
            f"(warmup_steps={own}: set by you, or given by schedreg to a run resumed here with "
            f"warmup_iters={own}); keep one warmup: set {solver.path('warmup_iters')}: 0 (or {own} to resume "
            "that run), or the optimizer's warmup_steps to 0 (schedreg then gives it the solver's)"
        )
    if not length:
        return solver
    if not takes_warmup(optimizer):
        raise ConfigError(
            f"{solver.path('warmup_iters')}={length}: {type(optimizer).__name__} takes no warmup (it needs "
            "none); set it to 0"
        )
    if solver.warmup_method != "linear" or ("warmup_factor" in solver.explicit and solver.warmup_factor):
        raise ConfigError(
            f"{solver.path('warmup_method')}: a schedule-free optimizer warms up linearly from 0 "
            f"((k + 1) / warmup_steps); its warmup cannot be {solver.warmup_method} from "
            f"{solver.warmup_factor:g} x lr"
        )
    give_warmup(optimizer, length)
    return dataclasses.replace(solver, warmup_iters=0, explicit=solver.explicit | {"warmup_iters"})
