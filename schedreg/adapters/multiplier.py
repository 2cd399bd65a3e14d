"""Closed-form schedulers: each group's lr is a function of the step and its base lr.

* :class:`MultiplierLR` -- ``lr = base_lr * schedule(step)`` (detectron2's ``LRMultiplier``),
  and :class:`MultiplierLambdaLR`, the same as a torch ``LambdaLR`` (what transformers'
  ``get_scheduler`` returns), with ``lr_lambdas``;
* :class:`AbsoluteLR` -- ``lr = schedule.lr(step, base_lr)``, for schedules with absolute
  lrs in them (timm's).

Their state is the step and the base lrs: a resume, or a jump to any step, is O(1).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR, LRScheduler

from schedreg.adapters.groups import (
    check_base_lrs,
    checked,
    initial_value,
    lr_values,
    python_lrs,
    set_group_value,
    with_lr_scale,
)
from schedreg.adapters.guards import (
    Guards,
    check_kind,
    check_saved_groups,
    checked_state,
    saved_step,
    track_optimizer_steps,
)
from schedreg.errors import ConfigError, config_error
from schedreg.schedules.core import LrSchedule, Schedule


class MultiplierLR(LRScheduler):
    """Sets each group's lr to ``base_lr * schedule(step)``.

    Args:
        optimizer: the optimizer whose groups are scheduled; each group's base lr is its
            ``initial_lr`` (set from ``lr`` on first use, as torch does), kept in
            ``base_lrs``: scale ``base_lrs[i]`` to rescale group ``i`` from the next step.
        schedule: the multiplier as a function of the step.
        name: what to call the schedule in error messages.
        guards: the run's checks (:class:`~schedreg.adapters.guards.Guards`).

    ``step()`` writes the lrs itself instead of going through torch's ``LRScheduler.step``
    (whose bookkeeping costs more than the schedule), so it is several times faster than
    torch's own schedulers with many param groups. A write to a group's ``lr`` from
    outside is overwritten at the next step, with a warning (once).
    """

    def __init__(
        self, optimizer: Optimizer, schedule: Schedule, name: str = "schedule", guards: Guards | None = None
    ) -> None:
        self.schedule = schedule
        self.name = name
        self.guards = guards or Guards()
        self._multiplier: float | None = None  # last written (None: nothing to check against)
        self._bases: list[float | torch.Tensor] = []  # base_lrs when last written
        self._tensor_lrs = False
        LRScheduler.__init__(self, optimizer)  # not a subclass's other bases' (LambdaLR's)
        track_optimizer_steps(optimizer)

    def get_lr(self) -> list[float | torch.Tensor]:
        self._adopt()
        return self.lrs_at(self.last_epoch)

    _get_closed_form_lr = get_lr

    def _multiplier_at(self, step: int) -> float:
        try:
            multiplier = self.schedule(step)
        except (Exception, SystemExit) as exc:  # an overflow, say
            raise config_error(f"{self.name} failed at step {step}", exc)  # noqa: B904 (its cause is set)
        if not 0.0 <= multiplier <= 1.7976931348623157e308:  # finite (the largest float; NaN fails)
            checked(multiplier, step, self.name)
        if multiplier > 1.0 and any(  # an lr past float's range (a peer's alpha of 1e308)
            not isinstance(b, torch.Tensor) and b * multiplier == math.inf for b in self.base_lrs
        ):
            checked(math.inf, step, self.name, "lr")
        return multiplier

    def lrs_at(self, step: int) -> list[float | torch.Tensor]:
        """Every group's lr at ``step`` (computed, not written)."""
        multiplier = self._multiplier_at(step)
        return [base_lr * multiplier for base_lr in self.base_lrs]

    def get_last_lr(self) -> list[float | torch.Tensor]:
        """The lrs of the groups, as last written (values: a Tensor lr is copied)."""
        return lr_values(self.optimizer.param_groups[: len(self.base_lrs)])

    def _adopt(self) -> None:
        """Groups added since the last step join the schedule at this one."""
        groups = self.optimizer.param_groups
        python_lrs(groups[len(self.base_lrs) :])
        for group in groups[len(self.base_lrs) :]:
            self.base_lrs.append(initial_value(group, "lr"))
        self._tensor_lrs = any(isinstance(group["lr"], torch.Tensor) for group in groups)

    def step(self, *args: Any, tokens: Any = None, samples: Any = None) -> None:  # type: ignore[override]
        """Advance one step; on a token or sample clock by what the update consumed
        (``tokens=``/``samples=``, else the batch the clock expects: see
        :mod:`~schedreg.schedules.clock`). No positional argument: torch's deprecated
        ``step(epoch)`` would silently jump, and a metric belongs to ``ReduceLROnPlateau``."""
        if args:
            raise TypeError(f"{self.name} is stepped with step(), got step{args!r}")
        initial = self._step_count == 0  # torch's constructor: to the position 0
        moved = (
            1 if initial else self.guards.moved(self.optimizer, self.last_epoch, self.name, tokens, samples)
        )
        if moved is None:
            return
        if self._step_count == 1:
            self.guards.check_order(self.optimizer)
        self._step_count += 1
        self.last_epoch += moved
        self._advance()
        if self.guards.epochs is not None:
            self.guards.check_epochs(self.last_epoch)

    def _advance(self) -> None:
        """Write the new step's lrs, checking first that each group still has the lr this
        scheduler wrote last (``base * previous multiplier``: no list to keep)."""
        groups, bases, previous = self.optimizer.param_groups, self.base_lrs, self._multiplier
        if previous is None or len(bases) != len(groups) or bases != self._bases:
            self._write()  # the first write, a group added, a base lr rescaled, or Tensor lrs
            return
        multiplier = self._multiplier_at(self.last_epoch)
        outside = None
        for group, base in zip(groups, bases):  # noqa: B905 (equal lengths, checked above)
            if group["lr"] != base * previous and outside is None:
                outside = (group, group["lr"], base * previous)
            group["lr"] = base * multiplier
        self._multiplier = multiplier
        if outside is not None:
            self.guards.outside_write(*outside)

    def _forget_written(self) -> None:
        """Have the next step write every group (not check what it wrote last)."""
        self._multiplier = None

    @property
    def batch_size(self) -> int | None:
        """The global batch size (samples) of the next update, as the config gives it: the
        batch-size ramp's at the current position, or the fixed size per step (None where
        the config does not say)."""
        return self.guards.clock.batch_size(self.last_epoch)

    def seek(self, step: int) -> None:
        """Jump to ``step`` (O(1)) and write its lrs."""
        self.last_epoch = step
        self._write()

    def _write(self) -> None:
        """Write the current step's lrs, adopting added groups; a Tensor lr in place."""
        self._adopt()
        check_base_lrs(self.base_lrs, self.name)
        multiplier = self._multiplier_at(self.last_epoch)
        for group, base in zip(self.optimizer.param_groups, self.base_lrs, strict=True):
            set_group_value(group, "lr", base * multiplier)
        self._multiplier = None if self._tensor_lrs else multiplier  # a Tensor lr is never read back
        self._bases = list(self.base_lrs)

    STATE_KEYS = ("last_epoch", "base_lrs")
    """What :meth:`state_dict` writes (besides the guards' stamp)."""

    def state_dict(self) -> dict[str, Any]:
        """The step and base lrs: numbers, and a Tensor base lr as a Tensor, so that a resume
        multiplies in the same precision (it loads with ``weights_only=True`` too)."""
        bases = [b.clone() if isinstance(b, torch.Tensor) else float(b) for b in self.base_lrs]
        state = {"last_epoch": self.last_epoch, "base_lrs": bases}
        return self.guards.stamp(state, len(self.base_lrs), self.optimizer)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the step and the base lrs, and write that step's lrs into the optimizer.
        Only a state of this kind loads: torch's ``StepLR`` has ``last_epoch`` and ``base_lrs``
        too, and its schedule would be silently dropped."""
        owner = type(self).__name__
        state = checked_state(state_dict, owner, self.STATE_KEYS)
        if self.guards.checkpoint_schedule(state, self):
            return
        if not self.guards.rescheduled(state, self.optimizer):
            check_kind(state, owner, self.STATE_KEYS)
            saved_lrs = state["base_lrs"]
            if "param_groups" not in state:  # a scheduler built by hand stamps no count
                check_saved_groups(self.optimizer, range(len(saved_lrs)))
            covered = state.get("param_groups", len(self.optimizer.param_groups))  # one lr per group
            if len(saved_lrs) != covered:
                raise ConfigError(
                    f"the checkpoint's scheduler state is inconsistent: {len(saved_lrs)} base_lrs for "
                    f"param_groups={covered}; the checkpoint is damaged"
                )
            check_saved_groups(self.optimizer, range(len(saved_lrs)))
            self.base_lrs = list(saved_lrs)
        self.last_epoch = saved_step(state, owner)
        # the groups it covers; one added after the last step saved joins at the next, as it would have
        for group, lr in zip(self.optimizer.param_groups, self.lrs_at(self.last_epoch)):  # noqa: B905
            set_group_value(group, "lr", lr)
        self._forget_written()  # the next step writes every group afresh
        self._write_others()
        self.guards.resume_held(state)

    def _write_others(self) -> None:
        """Write the group keys other than the lr that the scheduler itself schedules
        (Megatron's weight decay, mmengine's momentum): none here."""


class MultiplierLambdaLR(MultiplierLR, LambdaLR):
    """A :class:`MultiplierLR` that is also a torch ``LambdaLR``: ``lr_lambdas`` holds the
    schedule once per group, as ``LambdaLR(optimizer, schedule)`` would. Setting
    ``lr_lambdas`` (one callable per group, as torch takes them) schedules each group by its
    own from the next step; the same callable for every group keeps the fast shared path.
    """

    _lambdas: list[Schedule] | None = None

    @property
    def lr_lambdas(self) -> list[Schedule]:  # type: ignore[override]
        """The multiplier of each group's lr, as a function of the step."""
        if self._lambdas is not None:
            return list(self._lambdas)
        return [self.schedule] * len(self.optimizer.param_groups)

    @lr_lambdas.setter
    def lr_lambdas(self, lambdas: list[Schedule]) -> None:
        lambdas = list(lambdas)
        groups = len(self.optimizer.param_groups)
        if len(lambdas) != groups or not all(callable(fn) for fn in lambdas):
            raise ValueError(f"Expected {groups} callable lr_lambdas, but got {len(lambdas)}: {lambdas!r}")
        shared = all(fn is lambdas[0] for fn in lambdas)
        self.schedule, self._lambdas = (lambdas[0], None) if shared else (self.schedule, lambdas)
        self._multiplier = None  # the next step writes every group afresh

    def lrs_at(self, step: int) -> list[float | torch.Tensor]:
        if self._lambdas is None:
            return super().lrs_at(step)
        return [
            base * checked(fn(step), step, self.name)
            for base, fn in zip(self.base_lrs, self._lambdas, strict=True)
        ]

    def _write(self) -> None:
        """Per-group lambdas leave no shared multiplier, so every step comes here."""
        if self._lambdas is None:
            super()._write()
            return
        self._adopt()
        check_base_lrs(self.base_lrs, self.name)
        for group, lr in zip(self.optimizer.param_groups, self.lrs_at(self.last_epoch), strict=True):
            set_group_value(group, "lr", lr)
        self._multiplier = None  # no shared multiplier to check outside writes against
        self._bases = list(self.base_lrs)


class AbsoluteLR(MultiplierLR):
    """Sets each group's lr to ``schedule.lr(step, base_lr)``, times its ``lr_scale``.

    For schedules whose floor or warmup start are absolute lrs (timm's), which a multiplier
    of the base lr cannot express exactly.
    """

    schedule: LrSchedule  # type: ignore[assignment]
    _written: list[float | torch.Tensor] | None = None

    def __init__(
        self, optimizer: Optimizer, schedule: LrSchedule, name: str = "schedule", guards: Guards | None = None
    ) -> None:
        super().__init__(optimizer, schedule, name, guards)  # type: ignore[arg-type]

    def lrs_at(self, step: int) -> list[float | torch.Tensor]:
        try:
            return [
                with_lr_scale(group, checked(self.schedule.lr(step, float(base)), step, self.name, "lr"))
                for group, base in zip(
                    self.optimizer.param_groups[: len(self.base_lrs)], self.base_lrs, strict=True
                )
            ]
        except (Exception, SystemExit) as exc:  # an overflow, say
            raise config_error(f"{self.name} failed at step {step}", exc)  # noqa: B904 (its cause is set)

    def _forget_written(self) -> None:
        super()._forget_written()
        self._written = None

    def _advance(self) -> None:
        groups, written = self.optimizer.param_groups, self._written
        if written is None or len(written) != len(groups) or self.base_lrs != self._bases:
            self._write()
            return
        self.guards.check_outside(groups, written)
        lrs = self.lrs_at(self.last_epoch)
        for group, lr in zip(groups, lrs, strict=True):
            group["lr"] = lr
        self._written = lrs
        self._write_others()

    def _write(self) -> None:
        self._adopt()
        check_base_lrs(self.base_lrs, self.name)
        lrs = self.lrs_at(self.last_epoch)
        for group, lr in zip(self.optimizer.param_groups, lrs, strict=True):
            set_group_value(group, "lr", lr)
        self._written = None if self._tensor_lrs else lrs
        self._bases = list(self.base_lrs)
        self._write_others()
