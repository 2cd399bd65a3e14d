"""timm's stepping protocol on a closed-form scheduler, for timm's names.

A timm training loop calls ``step(epoch, metric)`` at the end of each epoch and
``step_update(num_updates, metric)`` after each update, with absolute counts; which of the
two moves the lr is timm's ``t_in_epochs`` (the epoch one by default). schedreg's own
``step()``, with no argument, still advances by one step, so both loops work.
"""

from __future__ import annotations

from typing import Any

import torch

from schedreg.adapters.groups import checked, with_lr_scale
from schedreg.adapters.multiplier import AbsoluteLR
from schedreg.errors import ConfigError
from schedreg.schedules.timm import TimmSchedule


class TimmLR(AbsoluteLR):
    """:class:`AbsoluteLR` over a timm schedule, stepped as timm's schedulers are."""

    schedule: TimmSchedule

    @property
    def t_in_epochs(self) -> bool:
        """Whether ``step(epoch)`` (True) or ``step_update(num_updates)`` moves the lr."""
        return self.schedule.t_in_epochs

    def step(self, epoch: int | None = None, metric: Any = None) -> None:  # type: ignore[override]
        """timm's ``step(epoch, metric=None)``: the lr of ``epoch``, if ``t_in_epochs``.
        With no argument, schedreg's: one step on."""
        if epoch is None:
            super().step()
        elif self.t_in_epochs:
            self._jump(epoch, "epoch")

    def step_update(self, num_updates: int, metric: Any = None) -> None:
        """timm's ``step_update(num_updates, metric=None)``: the lr of ``num_updates``, unless
        ``t_in_epochs``."""
        if not self.t_in_epochs:
            self._jump(num_updates, "num_updates")

    def get_cycle_length(self, cycles: int = 0) -> float:
        """timm's: how many steps ``cycles`` cycles take (0: all of ``cycle_limit``), with a
        prefixed warmup."""
        return self.schedule.cycle_length(cycles)

    def _jump(self, t: int, name: str) -> None:
        if isinstance(t, bool) or not isinstance(t, int) or t < 0:
            raise ConfigError(f"{self.name}: {name} must be an integer >= 0, got {t!r}")
        self._step_count += 1
        self._stepped_to_zero = t == 0
        self.seek(t)

    _stepped_to_zero = False
    """Whether timm's ``step(0)``/``step_update(0)`` was called: step 0 then holds timm's
    value at t = 0, not what its constructor wrote (they differ for ``TanhLRScheduler``
    without warmup, and with noise at 0)."""

    def lrs_at(self, step: int) -> list[float | torch.Tensor]:
        if step != 0 or not self._stepped_to_zero:
            return super().lrs_at(step)
        return [
            with_lr_scale(group, checked(self.schedule.timm_lr(0, float(base)), 0, self.name, "lr"))
            for group, base in zip(self.optimizer.param_groups, self.base_lrs, strict=True)
        ]
