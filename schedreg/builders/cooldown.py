"""The cooldown a solver node branches off its schedule (``solver.cooldown``), joined on
after the warmup: the one place that applies it, for the factory and for previews alike."""

from __future__ import annotations

import dataclasses
from typing import Any

from schedreg.builders.warmup import warmup_length
from schedreg.config.solver import SolverConfig
from schedreg.errors import ConfigError
from schedreg.schedules.cooldown import Cooldown, LrCooldown
from schedreg.schedules.core import LrSchedule, Multiplied
from schedreg.schedules.megatron import MegatronSchedule
from schedreg.schedules.mmengine import MmengineSchedule
from schedreg.schedules.timm import TimmSchedule

OWN_STEPPING = (TimmSchedule, MmengineSchedule)
"""Schedules stepped by their peer's own protocol (timm's ``step_update``, mmengine's other
keys): a wrapper would hide it. Megatron's takes the cooldown inside (its weight decay and
per-group lrs stay its own)."""


def cooled(built: Any, solver: SolverConfig) -> Any:
    """``built`` (a multiplier schedule, or an :class:`LrSchedule` of absolute lrs) with the
    solver's cooldown, if it has one; refused where it cannot be applied exactly."""
    branch = solver.cooldown
    if branch is None:
        return built
    if isinstance(built, OWN_STEPPING) or not (callable(built) or isinstance(built, LrSchedule)):
        raise ConfigError(
            f"{solver.path('cooldown')}: a cooldown applies to schedreg's closed-form schedules "
            "(detectron2's, transformers', DeepSpeed's, NeMo's, composer's, Megatron's, the shapes), not to "
            f"{solver.lr_scheduler_name!r}"
        )
    if branch.start < warmup_length(solver):
        raise ConfigError(
            f"{solver.path('cooldown')}.start={branch.start} is inside the warmup "
            f"({solver.path('warmup_iters')}={solver.warmup_iters}): a cooldown branches off the schedule "
            "after it"
        )
    if isinstance(built, MegatronSchedule):
        return dataclasses.replace(built, cooldown=branch)
    if isinstance(built, LrSchedule):
        return LrCooldown(built, branch)
    return Cooldown(built, branch) if branch.to_lr is None else LrCooldown(Multiplied(built), branch)
