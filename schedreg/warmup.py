"""Warmup shapes, as pure functions.

Every warmup in schedreg is one call of :func:`interpolate`, which moves from a start
value to an end value as ``alpha`` goes from 0 to 1:

=============  ===================================================
method         value at ``alpha``
=============  ===================================================
``constant``   ``start``
``linear``     ``end * alpha + start * (1 - alpha)``
``exponential`` ``start * (end / start) ** alpha`` (geometric)
``cosine``     ``start + (end - start) * (1 - cos(pi * alpha)) / 2``
=============  ===================================================

``none`` means no warmup at all. :class:`WarmupFactor` is detectron2's multiplicative
warmup (``lr = main_lr(step) * factor(step)``), applied by the factory on top of any
schedule; detectron2's own schedules use the same shapes anchored to the main curve
(see :mod:`schedreg.fractional`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

WARMUP_METHODS = ("none", "constant", "linear", "exponential", "cosine")


def cos(x: Any) -> Any:
    """``math.cos`` of a float, or the element-wise cosine of a Tensor."""
    return math.cos(x) if isinstance(x, (int, float)) else x.cos()


def interpolate(method: str, start: float, end: float, alpha: Any) -> Any:
    """The warmup curve of ``method`` at ``alpha`` in [0, 1) (a float, or a Tensor of them).

    >>> interpolate("linear", 0.1, 1.0, 0.5)
    0.55
    >>> interpolate("exponential", 0.01, 1.0, 0.5)
    0.1
    """
    if method == "linear":
        return end * alpha + start * (1 - alpha)
    if method == "constant":
        return start
    if method == "exponential":
        return start * (end / start) ** alpha
    if method == "cosine":
        return start + (end - start) * (1 - cos(math.pi * alpha)) / 2
    raise ValueError(f"unknown warmup method {method!r}; allowed: {', '.join(WARMUP_METHODS)}")


@dataclass(frozen=True)
class WarmupFactor:
    """Multiplier that ramps from ``factor`` to 1 over ``iters`` steps, then stays 1.

    >>> ramp = WarmupFactor("linear", factor=0.001, iters=1000)
    >>> ramp(0), ramp(500), ramp(1000)
    (0.001, 0.5005, 1.0)
    """

    method: str
    factor: float
    iters: int

    def __call__(self, step: int) -> float:
        if self.method == "none" or step >= self.iters:
            return 1.0
        return interpolate(self.method, self.factor, 1.0, step / self.iters)

    def curve(self, steps: Any) -> Any:
        """The values at a float64 Tensor of steps."""
        if self.method == "none":
            return steps.new_ones(steps.shape)
        ramp = interpolate(self.method, self.factor, 1.0, steps / self.iters)
        if isinstance(ramp, float):  # the constant method
            ramp = steps.new_full(steps.shape, ramp)
        return ramp.where(steps < self.iters, 1.0)
