"""detectron2's schedules, as pure functions of the step.

detectron2 builds its schedules from fvcore ``ParamScheduler`` objects, which are
functions of the *fraction of training done*, ``where = step / max_iter``, and finds
milestones and warmup boundaries by comparing ``where`` plus a ``1e-6`` tolerance. To be
numerically identical to detectron2, these classes evaluate the very same floating-point
expressions, tolerance included; :class:`OverSteps` turns one of them into an ordinary
integer-step :class:`~schedreg.schedules.Schedule` and holds the final value once
``step`` passes ``max_iter`` (where detectron2 raises, or lets a cosine rise again).
"""

from __future__ import annotations

import functools
import math
from bisect import bisect_right
from dataclasses import dataclass
from typing import Any, Protocol

from schedreg.warmup import interpolate

WHERE_EPSILON = 1e-6
"""fvcore's tolerance on ``where``; kept only so milestones land where detectron2's do."""


class FractionSchedule(Protocol):
    """A value as a function of ``where``, the fraction of training done, in [0, 1]."""

    def __call__(self, where: float) -> float: ...


@dataclass(frozen=True)
class Cosine:
    """Half a cosine from ``start`` (where=0) to ``end`` (where=1)."""

    start: float
    end: float

    def __call__(self, where: float) -> float:
        return self.end + 0.5 * (self.start - self.end) * (1 + math.cos(math.pi * where))

    def curve(self, where: Any) -> Any:
        """The same expression on a Tensor, in place on one buffer (a preview of a million
        steps is bound by memory, not arithmetic)."""
        return (math.pi * where).cos_().add_(1).mul_(0.5 * (self.start - self.end)).add_(self.end)


@dataclass(frozen=True)
class MultiStep:
    """``values[k]`` between the k-th and (k+1)-th milestone (in steps of ``num_updates``)."""

    values: tuple[float, ...]
    milestones: tuple[int, ...]
    num_updates: int

    def __call__(self, where: float) -> float:
        step = int((where + WHERE_EPSILON) * self.num_updates)
        return self.values[bisect_right(self.milestones, step)]

    def curve(self, where: Any) -> Any:
        import torch

        step = ((where + WHERE_EPSILON) * self.num_updates).floor()
        index = torch.searchsorted(where.new_tensor(self.milestones), step, right=True)
        return where.new_tensor(self.values)[index]


@dataclass(frozen=True)
class StepWithFixedGamma:
    """``num_decays + 1`` equal pieces, each ``gamma`` times the previous one."""

    base: float
    gamma: float
    num_decays: int

    @functools.cached_property
    def values(self) -> tuple[float, ...]:
        """Each piece's value, by repeated multiplication as fvcore computes them."""
        values = [self.base]
        for _ in range(self.num_decays):
            values.append(values[-1] * self.gamma)
        return tuple(values)

    def __call__(self, where: float) -> float:
        return self.values[min(int((where + WHERE_EPSILON) * (self.num_decays + 1)), self.num_decays)]

    def curve(self, where: Any) -> Any:
        piece = ((where + WHERE_EPSILON) * (self.num_decays + 1)).floor().clamp(max=self.num_decays)
        return where.new_tensor(self.values)[piece.long()]


@dataclass(frozen=True)
class Warmup:
    """detectron2's ``WarmupParamScheduler``: a warmup stage, then the main schedule.

    The warmup covers ``where`` in [0, length] and moves (by :func:`interpolate`) from
    ``factor * main(0)`` to ``main(length)`` -- the main curve's value where warmup ends,
    which is not 1.0 for a cosine -- or to ``main(0)`` when ``rescale`` is set, in which
    case the main curve is squeezed into the rest of the run.
    """

    main: FractionSchedule
    method: str
    factor: float
    length: float
    rescale: bool = False

    def __call__(self, where: float) -> float:
        if where + WHERE_EPSILON <= self.length:
            return self._warm(where)
        return self.main(self._main_where(where))

    @functools.cached_property
    def _ends(self) -> tuple[float, float]:
        """Where the warmup starts and ends (computed once: they are constants)."""
        return self.factor * self.main(0.0), self.main(0.0) if self.rescale else self.main(self.length)

    def _warm(self, where: Any) -> Any:
        start, end = self._ends
        return interpolate(self.method, start, end, where / self.length)

    def _main_where(self, where: Any) -> Any:
        if not self.rescale:
            return where
        rest = 1.0 - self.length
        rest_start = (self.length + rest) - rest
        return (where - rest_start) / rest

    def curve(self, where: Any) -> Any:
        import torch

        def main_regime(i: int) -> bool:
            return not float(where[i]) + WHERE_EPSILON <= self.length

        n = bisect_right(range(len(where)), False, key=main_regime)  # ``where`` ascends
        main = curve_of_fraction(self.main, self._main_where(where[n:]))
        if n == 0:
            return main
        warm = torch.as_tensor(self._warm(where[:n]), dtype=where.dtype).expand(n)
        return torch.cat((warm, main))


@dataclass(frozen=True)
class OverSteps:
    """An integer-step schedule from a fraction schedule over ``total`` steps.

    Steps past ``total`` hold the value at ``total``.
    """

    schedule: FractionSchedule
    total: int

    def __call__(self, step: int) -> float:
        return self.schedule(min(step, self.total) / self.total)

    def curve(self, steps: Any) -> Any:
        return curve_of_fraction(self.schedule, steps.clamp(max=self.total).div_(self.total))


def curve_of_fraction(schedule: FractionSchedule, where: Any) -> Any:
    """``schedule`` at a Tensor of fractions: its ``curve`` if it has one, else one call
    per value."""
    if hasattr(schedule, "curve"):
        return schedule.curve(where)
    return where.new_tensor([float(schedule(w)) for w in where.tolist()])
