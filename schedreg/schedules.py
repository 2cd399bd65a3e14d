"""Pure schedules: functions of the integer step, no torch.

A :data:`Schedule` maps the number of ``scheduler.step()`` calls made so far to a
*multiplier* of a param group's base lr. Schedules are small frozen dataclasses, so
they compare, hash, pickle, and evaluate any step in O(1): resuming or previewing is a
lookup, never a replay.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class Schedule(Protocol):
    """A multiplier as a function of the step (0 = before the first ``step()``)."""

    def __call__(self, step: int) -> float: ...


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


@dataclass(frozen=True)
class Constant:
    """The same value at every step."""

    value: float

    def __call__(self, step: int) -> float:
        return self.value


@dataclass(frozen=True)
class PolyDecay:
    """DeepLab's poly decay, ``(1 - step / total) ** power``, floored at ``floor``.

    The step is clamped to ``total``, so the value holds after the end instead of
    failing on a negative base.

    >>> PolyDecay(total=10, power=1.0, floor=0.25)(5)
    0.5
    >>> PolyDecay(total=10, power=1.0, floor=0.25)(9)
    0.25
    """

    total: int
    power: float
    floor: float = 0.0

    def __call__(self, step: int) -> float:
        value = (1.0 - min(step, self.total) / self.total) ** self.power
        return self.floor if value < self.floor else value
