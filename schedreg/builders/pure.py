"""A solver node's schedule without torch: the registry entry it names, resolved, and, for
schedreg's own closed forms, the multiplier itself, as plain Python.

``schedreg show`` and ``plot`` evaluate such a schedule directly (torch's import costs more
than the rest of the command); :mod:`schedreg.factory` resolves every entry the same way,
so the two read one config alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from schedreg.builders.builtin import source
from schedreg.builders.clock import clocked, rescaled
from schedreg.builders.cooldown import cooled
from schedreg.builders.warmup import joined
from schedreg.config.dialects import COMPOSER_NAMES, DEEPSPEED_NAMES, NEMO_NAMES
from schedreg.config.solver import SolverConfig
from schedreg.errors import ConfigError
from schedreg.registry import SCHEDULERS, Entry
from schedreg.schedules.core import LrSchedule, Multiplied, Schedule


def resolved(entry: Entry[Any], solver: SolverConfig) -> SolverConfig:
    """``solver`` with ``entry``'s defaults, refused where it asks what the entry cannot do,
    or where a peer's config names another library's schedule (DeepSpeed's ``type`` is one
    of DeepSpeed's names or a torch scheduler's, as in DeepSpeed)."""
    if solver.peer and source(entry.builder) not in PEER_NAMES[solver.peer]:
        raise ConfigError(
            f"{solver.path('lr_scheduler_name')}: {solver.peer} has no scheduler "
            f"{solver.lr_scheduler_name!r} (a {source(entry.builder)} name); it takes "
            f"{', '.join(PEER_SCHEDULES[solver.peer])}"
            f"{' or a torch scheduler' if 'torch' in PEER_NAMES[solver.peer] else ''}"
        )
    solver = clocked(entry, solver.with_defaults(entry.defaults))
    if solver.rescale_interval and not entry.own_warmup:
        raise ConfigError(
            f"{solver.path('rescale_interval')} is only supported by detectron2's schedules "
            "(WarmupMultiStepLR, WarmupCosineLR, WarmupStepWithFixedGammaLR), "
            f"not {solver.lr_scheduler_name!r}"
        )
    return solver


PEER_NAMES = {
    "deepspeed": ("deepspeed", "torch"),
    "nemo": ("nemo", "torch"),
    "megatron": ("megatron",),
    "composer": ("composer",),
    "mmengine": ("mmengine",),
}
"""Whose schedules a peer's config may name, by the source :func:`source` gives."""
PEER_SCHEDULES = {
    "deepspeed": DEEPSPEED_NAMES,
    "nemo": NEMO_NAMES,
    "megatron": ("OptimizerParamScheduler",),
    "composer": COMPOSER_NAMES,
    "mmengine": ("param_scheduler",),
}
"""Each peer's own names, for messages."""


def with_warmup(entry: Entry[Any], schedule: Schedule, solver: SolverConfig) -> Schedule:
    """``schedule`` with the solver's warmup joined on, unless the entry joins its own."""
    return schedule if entry.own_warmup else joined(schedule, solver)


@dataclass(frozen=True)
class LrOnly:
    """An optimizer as a pure builder reads it: its default lr (transformers' ``lr_end`` and
    ``min_lr`` are relative to it), and one param group at that lr."""

    lr: float

    @property
    def defaults(self) -> dict[str, float]:
        return {"lr": self.lr}

    @property
    def param_groups(self) -> list[dict[str, float]]:
        return [{"lr": self.lr}]


def pure_schedule(solver: SolverConfig) -> tuple[LrSchedule, SolverConfig] | None:
    """The lr ``solver`` describes, as a function of the step and a group's base lr (with
    its warmup), and ``solver`` resolved, if its scheduler is one of schedreg's own closed
    forms (detectron2's, transformers', DeepSpeed's, the shapes); None for any other
    (torch's, timm's, a plug-in's), which needs the factory. A builder that reads the
    optimizer's lr reads ``solver.base_lr``, as it would under
    :func:`~schedreg.build_optimizer`. Imports no torch.

    >>> from schedreg.config.parse import solver_config
    >>> lrs, _ = pure_schedule(solver_config({"lr_scheduler_name": "WarmupMultiStepLR",
    ...     "max_iter": 100, "steps": [50], "warmup_iters": 0}))
    >>> lrs.lr(49, base_lr=1.0), lrs.lr(50, base_lr=1.0)
    (1.0, 0.1)
    """
    entry = SCHEDULERS.light_entry(solver.lr_scheduler_name)
    if entry is None or "build_child" in entry.takes:
        return None
    solver = resolved(entry, solver)
    takes_optimizer = "optimizer" in entry.takes
    built = entry.builder(solver, LrOnly(solver.base_lr)) if takes_optimizer else entry.builder(solver)
    if isinstance(built, LrSchedule):  # else the factory refuses
        return (cooled(rescaled(built, solver), solver), solver) if entry.own_warmup else None
    if not callable(built):
        return None
    schedule = cooled(rescaled(with_warmup(entry, built, solver), solver), solver)
    return (schedule if isinstance(schedule, LrSchedule) else Multiplied(schedule)), solver
