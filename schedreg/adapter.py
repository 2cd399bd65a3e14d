"""The torch glue: apply a schedule to ``optimizer.param_groups``.

Two small :class:`~torch.optim.lr_scheduler.LRScheduler` subclasses, both following
the convention that the lr used in iteration ``i`` is the one set after ``i`` calls of
``step()``:

* :class:`MultiplierLR` -- ``lr = base_lr * schedule(step)`` for each group (detectron2's
  ``LRMultiplier``). Closed form: its state is the step and the base lrs.
* :class:`ScaledLR` -- ``lr = inner_lr * schedule(step)``, where ``inner_lr`` comes from a
  wrapped torch scheduler (used for warmup on torch's own schedulers). It keeps the inner
  scheduler's unscaled lrs and hands them back before each inner step, so the inner
  scheduler never sees the scaling, and restores them on resume, so even torch's recursive
  schedulers continue exactly with a freshly built optimizer.

Both refuse to write a negative or non-finite lr.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

from schedreg.errors import ConfigError
from schedreg.schedules import Schedule


def _set_lr(group: dict[str, Any], lr: float | torch.Tensor) -> None:
    """Write ``lr`` into a param group, in place when the group holds a Tensor lr."""
    if isinstance(group["lr"], torch.Tensor):
        group["lr"].fill_(float(lr))
    else:
        group["lr"] = lr


def _plain(values: list[Any]) -> list[float]:
    return [float(v) for v in values]


def _check_multiplier(value: float, step: int, owner: str) -> float:
    if not (0.0 <= value < math.inf):
        raise ConfigError(
            f"{owner} produced lr multiplier {value!r} at step {step}; "
            "a learning rate must be finite and >= 0 -- check the schedule's settings"
        )
    return value


class MultiplierLR(LRScheduler):
    """Sets each group's lr to ``base_lr * schedule(step)``.

    Args:
        optimizer: the optimizer whose groups are scheduled; each group's base lr is its
            ``initial_lr`` (set from ``lr`` on first use, as torch does).
        schedule: the multiplier as a function of the step.
        name: what to call the schedule in error messages.
    """

    def __init__(self, optimizer: Optimizer, schedule: Schedule, name: str = "schedule") -> None:
        self.schedule = schedule
        self.name = name
        super().__init__(optimizer)

    def get_lr(self) -> list[float | torch.Tensor]:
        multiplier = _check_multiplier(self.schedule(self.last_epoch), self.last_epoch, self.name)
        return [base_lr * multiplier for base_lr in self.base_lrs]

    _get_closed_form_lr = get_lr

    def state_dict(self) -> dict[str, Any]:
        """The step and base lrs, as plain numbers (loads with ``weights_only=True``)."""
        return {"last_epoch": self.last_epoch, "base_lrs": _plain(self.base_lrs)}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the step and write that step's lrs into the optimizer."""
        self.last_epoch = int(state_dict["last_epoch"])
        self.base_lrs = list(state_dict["base_lrs"])
        self._write(self.get_lr())

    def _write(self, lrs: list[float | torch.Tensor]) -> None:
        for group, lr in zip(self.optimizer.param_groups, lrs, strict=True):
            _set_lr(group, lr)
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]


class ScaledLR(LRScheduler):
    """Multiplies the lrs of a torch scheduler by ``schedule(step)``.

    ``step(*args)`` forwards its arguments to the inner scheduler, so a wrapped
    ``ReduceLROnPlateau`` is stepped with ``step(metric)`` as usual.

    The inner scheduler has already taken its initial step when it was built, so this
    class does not call ``LRScheduler.__init__`` (which would take another).
    """

    def __init__(self, inner: LRScheduler, schedule: Schedule, name: str = "schedule") -> None:
        self.inner = inner
        self.schedule = schedule
        self.name = name
        self.optimizer = inner.optimizer
        self.base_lrs = list(getattr(inner, "base_lrs", self._inner_lrs()))
        self.last_epoch = 0
        self._step_count = 1
        self._scale(write=True)

    def _inner_lrs(self) -> list[float | torch.Tensor]:
        return list(self.inner.get_last_lr())

    def _scale(self, *, write: bool = False) -> None:
        """Set each group's lr to the inner lr times the multiplier.

        The inner scheduler has just written its own lrs into the groups, so with a
        multiplier of 1 (after warmup) nothing needs writing unless ``write`` is set.
        """
        multiplier = _check_multiplier(self.schedule(self.last_epoch), self.last_epoch, self.name)
        for group, lr in zip(self.optimizer.param_groups, self._inner_lrs(), strict=True):
            if not isinstance(lr, torch.Tensor) and not (0.0 <= lr < math.inf):
                raise ConfigError(
                    f"{self.name} produced lr {lr!r} at step {self.last_epoch}; a learning "
                    "rate must be finite and >= 0 -- check solver.args"
                )
            if write or multiplier != 1.0:
                _set_lr(group, lr * multiplier)
        self._multiplier = multiplier
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def step(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        """Advance one step: step the inner scheduler on its own lrs, then scale."""
        if self._multiplier != 1.0:
            for group, lr in zip(self.optimizer.param_groups, self._inner_lrs(), strict=True):
                _set_lr(group, lr)
        try:
            self.inner.step(*args, **kwargs)
        except (ArithmeticError, ValueError) as exc:
            raise ConfigError(f"{self.name} failed at step {self.last_epoch + 1}: {exc}") from exc
        self.last_epoch += 1
        self._step_count += 1
        self._scale()

    def get_lr(self) -> list[float | torch.Tensor]:
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        """The step and the inner scheduler's own state."""
        return {"last_epoch": self.last_epoch, "inner": self.inner.state_dict()}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore both states and write that step's lrs into the optimizer."""
        self.inner.load_state_dict(state_dict["inner"])
        self.last_epoch = int(state_dict["last_epoch"])
        self._scale(write=True)
