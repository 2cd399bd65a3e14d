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

from schedreg.schedules.core import curve_of

WHERE_EPSILON = 1e-6
"""fvcore's tolerance on ``where``; kept only so milestones land where detectron2's do."""


class FractionSchedule(Protocol):
    """A value as a function of ``where``, the fraction of training done, in [0, 1]."""

    def __call__(self, where: float, /) -> float: ...


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
class OverSteps:
    """An integer-step schedule from a fraction schedule over ``total`` steps.

    Steps past ``total`` hold the value at ``total``.
    """

    schedule: FractionSchedule
    total: int

    def __call__(self, step: int) -> float:
        return self.schedule(min(step, self.total) / self.total)

    def curve(self, steps: Any) -> Any:
        return curve_of(self.schedule, steps.clamp(max=self.total).div_(self.total))
