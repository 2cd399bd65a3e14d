"""A schedule on a token or sample clock (``solver.clock``): which schedules may count
what was consumed, and the lr rescale of a batch-size ramp, joined on last.

On such a clock the scheduler's step is a token (a sample): every duration is in that unit.
schedreg's closed forms read their durations from the solver's keys, so they hold on it;
torch's, timm's, mmengine's, composer's, DeepSpeed's and NeMo's schedulers count their own
steps (or take their own lengths), and are refused rather than stepped wrongly.
"""

from __future__ import annotations

from typing import Any

from schedreg.builders.builtin import source
from schedreg.config.solver import DURATION_KEYS, SolverConfig
from schedreg.errors import ConfigError
from schedreg.registry import Entry
from schedreg.schedules.core import LrSchedule
from schedreg.schedules.megatron import MegatronSchedule
from schedreg.schedules.ramp import LrRescaled, Rescaled

ON_A_CLOCK = ("detectron2", "transformers", "schedreg", "megatron")
"""The sources (:func:`~schedreg.builders.builtin.source`) whose schedules take their
durations from the solver's keys, and so can count tokens or samples."""


def clocked(entry: Entry[Any], solver: SolverConfig) -> SolverConfig:
    """``solver`` (its entry's defaults filled), checked for its clock: on a token or sample
    clock the schedule must be one of :data:`ON_A_CLOCK`, the run's length must be set, and
    an entry's default duration (detectron2's 1000 warmup steps) is converted where a step's
    size is fixed, else refused: as tokens it would be a silent other schedule."""
    if solver.clock == "step":
        return solver
    name = f"{solver.path('lr_scheduler_name')}={solver.lr_scheduler_name!r}"
    if source(entry.builder) not in ON_A_CLOCK:
        raise ConfigError(
            f"{solver.path('clock')}={solver.clock!r}: {name} counts its own steps; a schedule on a token or "
            "sample clock is one of schedreg's closed forms (detectron2's, transformers', Megatron's, the "
            "shapes)"
        )
    if "max_iter" not in solver.explicit:
        raise ConfigError(
            f"{solver.path('max_iter')} is not set: on {solver.path('clock')}={solver.clock!r} the run's "
            f"length counts {solver.clock} (e.g. '300Btok')"
        )
    converted = {
        key: default_length(solver, solver.path(key), entry.defaults[key])
        for key in DURATION_KEYS
        if key not in solver.explicit and entry.defaults.get(key)
    }
    return solver.with_defaults(converted) if converted else solver


def default_length(solver: SolverConfig, path: str, steps: int) -> int:
    """A default length of ``steps`` steps on the solver's clock: times what one step
    consumes, where that is fixed; refused where it is not (under a ramp, or with no size
    per step set)."""
    size = solver.units.per_step
    if size is None:
        raise ConfigError(
            f"{path} is not set, and its default ({steps} steps) cannot be counted in {solver.clock} "
            f"({solver.path('clock')}): set it (e.g. '2e9tok')"
        )
    return steps * size


def rescaled(built: Any, solver: SolverConfig) -> Any:
    """``built`` (a multiplier schedule, or an lr schedule) times the ramp's lr rescale, if
    the solver asks for one."""
    ramp, rule = solver.batch_size_schedule, solver.batch_size_rescale
    if ramp is None or rule == "none":
        return built
    if isinstance(built, MegatronSchedule):
        raise ConfigError(
            f"{solver.path('batch_size_rescale')}: Megatron's scheduler writes its own lrs (Megatron has no "
            "rescale); set it to none"
        )
    return LrRescaled(built, ramp, rule) if isinstance(built, LrSchedule) else Rescaled(built, ramp, rule)
