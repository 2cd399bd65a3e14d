"""Warmup: its shapes, and :class:`Warmup`, which joins a warmup onto any schedule.

Every warmup in schedreg is one :class:`Warmup`, whose ramp is one call of
:func:`interpolate`: a move from a start value to an end value as ``alpha`` goes from 0 to 1.

=============== ===================================================
method          value at ``alpha``
=============== ===================================================
``constant``    ``start``
``linear``      ``end * alpha + start * (1 - alpha)``
``exponential`` ``start * (end / start) ** alpha`` (geometric)
``cosine``      ``start + (end - start) * (1 - cos(pi * alpha)) / 2``
=============== ===================================================

``none`` means no warmup at all (no :class:`Warmup` is built).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from schedreg.schedules.core import curve_of

WARMUP_METHODS = ("none", "constant", "linear", "exponential", "cosine")


def cos(x: Any) -> Any:
    """``math.cos`` of a float, or the element-wise cosine of a Tensor."""
    return math.cos(x) if isinstance(x, (int, float)) else x.cos()


def interpolate(method: str, start: Any, end: Any, alpha: Any) -> Any:
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
class Warmup:
    """``main`` with a warmup joined onto its start (optax's ``join_schedules`` of a ramp and
    ``main``). Time ``t`` is a step, or detectron2's fraction of training done.

    While ``t + margin <= length`` the value is the ramp; after that, ``main(t)``. The ramp
    is :func:`interpolate` of ``method`` at ``alpha = t / length``, in one of two forms:

    * multiplied (``anchored=False``): ``main(t) * interpolate(method, factor, 1, alpha)``
      -- the warmup of detectron2's ``LRMultiplier`` era, DeepLab, transformers, and the
      one schedreg puts on any schedule (torch's, yours);
    * anchored (``anchored=True``): ``interpolate(method, factor * main(0), main(length),
      alpha)`` -- detectron2's ``WarmupParamScheduler``, which ends on the main curve
      where warmup ends; with ``rescale`` it ends on ``main(0)`` and ``main`` is squeezed
      into the rest of the run (detectron2's ``rescale_interval``).

    The default ``margin`` of 1 makes the warmup cover the integer steps ``t < length``;
    detectron2 compares fractions with a margin of 1e-6.

    >>> ramp = Warmup(lambda t: 1.0, "linear", factor=0.001, length=1000)
    >>> ramp(0), ramp(500), ramp(1000)
    (0.001, 0.5005, 1.0)
    >>> half = Warmup(lambda t: 1.0 - t / 100, "linear", factor=0.0, length=10, anchored=True)
    >>> half(0), half(5), half(10)
    (0.0, 0.45, 0.9)
    """

    main: Callable[[Any], float]
    method: str
    factor: float
    length: float
    anchored: bool = False
    rescale: bool = False
    margin: float = 1.0

    def __call__(self, t: Any) -> float:
        if t + self.margin <= self.length:
            return self._ramp(t, self.main(t) if not self.anchored else 1.0)
        return self.main(self._main_time(t))

    @cached_property
    def _ends(self) -> tuple[float, float]:
        """Where the ramp starts and ends: ``(factor, 1)``, or the anchored ends (computed once)."""
        if not self.anchored:
            return self.factor, 1.0
        start = self.main(0.0)
        return self.factor * start, start if self.rescale else self.main(self.length)

    def _ramp(self, t: Any, scale: Any) -> Any:
        start, end = self._ends
        ramp = interpolate(self.method, start, end, t / self.length)
        return ramp if self.anchored else scale * ramp

    def _main_time(self, t: Any) -> Any:
        if not self.rescale:
            return t
        rest = 1.0 - self.length
        rest_start = (self.length + rest) - rest
        return (t - rest_start) / rest

    def curve(self, t: Any) -> Any:
        """The values at an ascending float64 Tensor of times, the warmup and the main part
        each in one vectorized pass."""
        import torch

        def after_warmup(i: int) -> bool:
            return not float(t[i]) + self.margin <= self.length

        n = bisect_right(range(len(t)), False, key=after_warmup)
        main = curve_of(self.main, self._main_time(t[n:]))
        if n == 0:
            return main
        scale = 1.0 if self.anchored else curve_of(self.main, t[:n])
        warm = torch.as_tensor(self._ramp(t[:n], scale), dtype=t.dtype).expand(n)
        return torch.cat((warm, main))
