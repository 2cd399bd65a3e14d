"""A cooldown branched off any schedule at any step: the "anytime" schedule of
warmup-stable-decay training (Hägele et al. 2024, arXiv 2405.18392), where a run trains at
its main schedule with no fixed end, and a decay can start from any checkpoint.

From ``start`` on, the value falls from ``v0``, the main schedule's value at ``start``, to
``low`` over ``length`` steps, then stays at ``low``::

    value(t) = low + (v0 - low) * fall(min(1, (t - start) / length))

with ``fall(p)`` = ``1 - p`` (linear), ``(1 + cos(pi p)) / 2`` (cosine) or ``1 - sqrt(p)``
(1-sqrt). ``low`` is ``to * v0`` (a fraction of the value it starts from), or an absolute lr.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from schedreg.schedules.core import LrSchedule, Schedule

SHAPES = ("linear", "cosine", "1-sqrt")


def fall(shape: str, p: float) -> float:
    """How much of the way down is still left at ``p`` in [0, 1] of the cooldown.

    >>> [fall(s, 0.25) for s in SHAPES]
    [0.75, 0.8535533905932737, 0.5]
    """
    if shape == "linear":
        return 1.0 - p
    if shape == "cosine":
        return (1.0 + math.cos(math.pi * p)) / 2.0
    return 1.0 - math.sqrt(p)


@dataclass(frozen=True)
class Branch:
    """Where and how a cooldown leaves the main schedule."""

    start: int
    length: int
    shape: str = "linear"
    to: float = 0.0
    to_lr: float | None = None

    def value(self, step: int, v0: float, low: float) -> float:
        """The cooled value at ``step >= start``, from ``v0`` down to ``low``."""
        p = min(1.0, (step - self.start) / self.length) if self.length else 1.0
        return low + (v0 - low) * fall(self.shape, p)


@dataclass(frozen=True)
class Cooldown:
    """A multiplier schedule, ``main`` until ``branch.start``, then cooled to ``branch.to``
    of its value there.

    >>> from schedreg.schedules.core import Constant
    >>> c = Cooldown(Constant(1.0), Branch(start=10, length=4, to=0.5))
    >>> [c(t) for t in (9, 10, 12, 14, 20)]
    [1.0, 1.0, 0.75, 0.5, 0.5]
    """

    main: Schedule
    branch: Branch

    def __call__(self, step: int) -> float:
        if step < self.branch.start:
            return self.main(step)
        v0 = self.main(self.branch.start)
        return self.branch.value(step, v0, v0 * self.branch.to)


@dataclass(frozen=True)
class LrCooldown:
    """An lr schedule (absolute lrs), ``main`` until ``branch.start``, then cooled to
    ``branch.to_lr`` (an lr), or ``branch.to`` of its value there.

    >>> class Flat:
    ...     def lr(self, step, base_lr):
    ...         return base_lr
    >>> c = LrCooldown(Flat(), Branch(start=10, length=4, to_lr=0.001))
    >>> round(c.lr(12, base_lr=0.1), 6), c.lr(14, base_lr=0.1)
    (0.0505, 0.001)
    """

    main: LrSchedule
    branch: Branch

    def lr(self, step: int, base_lr: float) -> float:
        if step < self.branch.start:
            return self.main.lr(step, base_lr)
        v0 = self.main.lr(self.branch.start, base_lr)
        low = self.branch.to_lr if self.branch.to_lr is not None else v0 * self.branch.to
        return self.branch.value(step, v0, low)
