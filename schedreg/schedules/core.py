"""Pure schedules: functions of the integer step, no torch.

A :data:`Schedule` maps the number of ``scheduler.step()`` calls made so far to a
*multiplier* of a param group's base lr. Schedules are small frozen dataclasses, so
they compare, hash, pickle, and evaluate any step in O(1): resuming or previewing is a
lookup, never a replay.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable


class Schedule(Protocol):
    """A multiplier as a function of the step (0 = before the first ``step()``).

    A schedule may also have ``curve(steps)``: its values at an ascending float64 Tensor
    of integer steps at once, for previews (:func:`curve_of`).
    """

    def __call__(self, step: int, /) -> float: ...


def curve_of(schedule: Any, times: Any) -> Any:
    """``schedule``'s values at an ascending float64 Tensor of ``times`` (steps, or
    detectron2's fractions of training): its own vectorized ``curve`` where it has one,
    else one call per time (a whole number passed as an ``int``)."""
    if hasattr(schedule, "curve"):
        return schedule.curve(times)
    return times.new_tensor([float(schedule(int(t) if t.is_integer() else t)) for t in times.tolist()])


@runtime_checkable
class LrSchedule(Protocol):
    """The lr itself as a function of the step and a param group's base lr: for schedules
    with absolute lrs in them (timm's ``lr_min``, ``warmup_lr_init``)."""

    def lr(self, step: int, base_lr: float) -> float: ...


@dataclass(frozen=True)
class Product:
    """Pointwise product of schedules: ``a(step) * b(step) * ...``.

    >>> Product((Constant(0.5), Constant(4.0)))(7)
    2.0
    """

    factors: tuple[Schedule, ...]

    def __call__(self, step: int) -> float:
        value = 1.0
        for factor in self.factors:
            value *= factor(step)
        return value

    def curve(self, steps: Any) -> Any:
        value = steps.new_ones(steps.shape)
        for factor in self.factors:
            value = value * curve_of(factor, steps)
        return value


@dataclass(frozen=True)
class Constant:
    """The same value at every step."""

    value: float

    def __call__(self, step: int) -> float:
        return self.value

    def curve(self, steps: Any) -> Any:
        return steps.new_full(steps.shape, self.value)


@dataclass(frozen=True)
class Multiplied:
    """A multiplier as an lr: ``base_lr * schedule(step)``, as its scheduler writes it.

    >>> Multiplied(Constant(0.5)).lr(3, base_lr=0.2)
    0.1
    """

    schedule: Schedule

    def lr(self, step: int, base_lr: float) -> float:
        return base_lr * self.schedule(step)
