"""Schedules made of pieces: DeepLab's poly decay, a table of steps, a curve through points."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from typing import Any

from schedreg.schedules.core import Schedule, curve_of
from schedreg.schedules.warmup import interpolate


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

    def curve(self, steps: Any) -> Any:
        value = (1.0 - steps.clamp(max=self.total) / self.total) ** self.power
        return value.where(value >= self.floor, self.floor)


@dataclass(frozen=True)
class Stepwise:
    """``head(step)`` before ``start``; from there, a table of the values ``head`` takes,
    which is constant between ``boundaries``: the same numbers, one bisect per step.

    Build it with :meth:`of`, which reads the table off ``head`` itself.

    >>> halving = Stepwise.of(lambda step: 0.5 ** (min(step, 30) // 10), start=0, stop=30)
    >>> halving.boundaries, halving.values, halving(25) == 0.25
    ((10, 20, 30), (1.0, 0.5, 0.25, 0.125), True)
    """

    head: Schedule
    start: int
    boundaries: tuple[int, ...]
    values: tuple[float, ...]

    @classmethod
    def of(cls, head: Schedule, start: int, stop: int) -> Stepwise:
        """The table of ``head``, which must be piecewise constant from ``start`` on (each
        value taken over one run of steps) and constant from ``stop`` on. Each run's end is
        found by a galloping binary search: O(log) evaluations per run."""
        boundaries, values = [], [head(start)]
        step = start
        while step < stop:
            low, width = step, 1  # head(low) == values[-1]; find the last such step
            while low + width <= stop and head(low + width) == values[-1]:
                low, width = low + width, width * 2
            high = min(low + width, stop + 1)  # head(high) differs (or high is past stop)
            while high - low > 1:
                middle = (low + high) // 2
                low, high = (middle, high) if head(middle) == values[-1] else (low, middle)
            if high > stop:
                break
            boundaries.append(high)
            values.append(head(high))
            step = high
        return cls(head, start, tuple(boundaries), tuple(values))

    def __call__(self, step: int) -> float:
        if step < self.start:
            return self.head(step)
        return self.values[bisect_right(self.boundaries, step)]

    def curve(self, steps: Any) -> Any:
        import torch

        table = steps.new_tensor(self.values)[
            torch.searchsorted(steps.new_tensor(self.boundaries), steps, right=True)
        ]
        return curve_of(self.head, steps).where(steps < self.start, table)


@dataclass(frozen=True)
class Interpolated:
    """Through ``(step, value)`` points, each segment shaped by ``shape`` (``linear``,
    ``cosine`` or ``exponential``, as in :func:`~schedreg.warmup.interpolate`); flat before
    the first point and after the last.

    >>> one_cycle_momentum = Interpolated(((0, 0.95), (30, 0.85), (100, 0.95)), "cosine")
    >>> [round(one_cycle_momentum(s), 12) for s in (0, 30, 65, 500)]
    [0.95, 0.85, 0.9, 0.95]
    """

    points: tuple[tuple[int, float], ...]
    shape: str = "linear"

    def __call__(self, step: int) -> float:
        steps = [s for s, _ in self.points]
        i = bisect_right(steps, step)
        if i == 0:
            return self.points[0][1]
        if i == len(self.points):
            return self.points[-1][1]
        (s0, v0), (s1, v1) = self.points[i - 1], self.points[i]
        return interpolate(self.shape, v0, v1, (step - s0) / (s1 - s0))

    def curve(self, steps: Any) -> Any:
        import torch

        xs = steps.new_tensor([s for s, _ in self.points])
        ys = steps.new_tensor([v for _, v in self.points])
        if len(self.points) == 1:
            return ys.expand(steps.shape).clone()
        i = torch.searchsorted(xs, steps, right=True)
        lo = (i - 1).clamp(0, len(self.points) - 2)
        alpha = (steps - xs[lo]) / (xs[lo + 1] - xs[lo])
        inside = interpolate(self.shape, ys[lo], ys[lo + 1], alpha)
        return inside.where(i > 0, ys[0]).where(i < len(self.points), ys[-1])
