"""timm's schedules (``timm.scheduler``), as pure functions of the step and the base lr.

timm's floor (``lr_min``) and warmup start (``warmup_lr_init``) are absolute lrs, so these
give the lr itself (:class:`~schedreg.schedules.LrSchedule`), not a multiplier. Each evaluates the same
floating-point expressions as timm, in the same order, so the lrs match timm's own.

Step ``t`` here is timm's ``t``: the lr after ``step(t)`` (per epoch) or ``step_update(t)``
(per update). Step 0 is the lr timm's constructor sets (``warmup_lr_init``, or the base lr
without warmup), which is what a timm training loop uses before its first step.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Cycles:
    """timm's cycles: the first lasts ``t_initial``, each next ``cycle_mul`` times longer
    and peaking ``cycle_decay`` times lower; there are ``cycle_limit`` of them."""

    t_initial: float
    cycle_mul: float = 1.0
    cycle_decay: float = 1.0
    cycle_limit: int = 1

    def length(self, cycles: int = 0) -> float:
        """timm's ``get_cycle_length``: how long ``cycles`` cycles last (0: ``cycle_limit``).

        >>> Cycles(100).length(), Cycles(10, cycle_mul=2.0).length(3)
        (100, 70)
        """
        cycles = max(1, cycles or self.cycle_limit)
        if self.cycle_mul == 1.0:
            return self.t_initial * cycles
        return math.floor(-self.t_initial * (self.cycle_mul**cycles - 1) / (1 - self.cycle_mul))

    def locate(self, t: float) -> tuple[float, float, float] | None:
        """(the cycle ``t`` is in, the time into it, its length); None once every cycle,
        however many, is over (timm raises there: ``cycle_mul < 1`` sums to a finite time).

        >>> Cycles(10, cycle_mul=2.0).locate(25)
        (1, 15.0, 20.0)
        """
        if self.cycle_mul != 1:
            remaining = 1 - t / self.t_initial * (1 - self.cycle_mul)
            if remaining <= 0:
                return None
            i: float = math.floor(math.log(remaining, self.cycle_mul))
            t_i = self.cycle_mul**i * self.t_initial
            t_curr = t - (1 - self.cycle_mul**i) / (1 - self.cycle_mul) * self.t_initial
        else:
            i = t // self.t_initial
            t_i = self.t_initial
            t_curr = t - (self.t_initial * i)
        return i, t_curr, t_i


class Shape(Protocol):
    """One cycle's curve from ``lr_max`` down to ``lr_min``."""

    def __call__(self, lr_min: float, lr_max: float, t_curr: float, t_i: float) -> float: ...


@dataclass(frozen=True)
class CosineShape:
    """Half a cosine; ``k_decay`` bends its time axis (k-decay, arXiv:2004.05909)."""

    k_decay: float = 1.0

    def __call__(self, lr_min: float, lr_max: float, t_curr: float, t_i: float) -> float:
        k = self.k_decay
        return lr_min + 0.5 * (lr_max - lr_min) * (1 + math.cos(math.pi * t_curr**k / t_i**k))


@dataclass(frozen=True)
class TanhShape:
    """``1 - tanh`` over ``[lb, ub]`` (arXiv:1806.01593)."""

    lb: float = -7.0
    ub: float = 3.0

    def __call__(self, lr_min: float, lr_max: float, t_curr: float, t_i: float) -> float:
        tr = t_curr / t_i
        return lr_min + 0.5 * (lr_max - lr_min) * (1 - math.tanh(self.lb * (1.0 - tr) + self.ub * tr))


@dataclass(frozen=True)
class PolyShape:
    """``(1 - t**k / T**k) ** power``."""

    power: float = 0.5
    k_decay: float = 1.0

    def __call__(self, lr_min: float, lr_max: float, t_curr: float, t_i: float) -> float:
        k = self.k_decay
        return lr_min + (lr_max - lr_min) * (1 - t_curr**k / t_i**k) ** self.power


@dataclass(frozen=True)
class CyclicDecay:
    """A shape repeated over :class:`Cycles`, then ``lr_min``."""

    shape: Shape
    cycles: Cycles
    lr_min: float = 0.0

    def __call__(self, t: float, base_lr: float) -> float:
        located = self.cycles.locate(t)
        if located is None or located[0] >= self.cycles.cycle_limit:
            return self.lr_min
        i, t_curr, t_i = located
        return self.shape(self.lr_min, base_lr * self.cycles.cycle_decay**i, t_curr, t_i)


@dataclass(frozen=True)
class StepDecay:
    """``decay_rate`` every ``decay_t``."""

    decay_t: float
    decay_rate: float = 1.0

    def __call__(self, t: float, base_lr: float) -> float:
        return base_lr * (self.decay_rate ** (t // self.decay_t))


@dataclass(frozen=True)
class MultiStepDecay:
    """``decay_rate`` at each of ``decay_t``; like timm, it is in force from one step
    before the milestone (timm counts milestones ``<= t + 1``)."""

    decay_t: tuple[int, ...]
    decay_rate: float = 1.0

    def __call__(self, t: float, base_lr: float) -> float:
        return base_lr * (self.decay_rate ** bisect_right(self.decay_t, t + 1))


@dataclass(frozen=True)
class Noise:
    """timm's lr noise: ``lr * (1 + draw(t))`` while ``t`` is in ``range_t`` (``[start,
    end)``, or from a single start on). ``draw`` is a function of ``t`` alone, so a
    resumed run draws the same noise."""

    range_t: tuple[float, float] | float
    draw: Callable[[int], float]

    def applies(self, t: int) -> bool:
        if isinstance(self.range_t, tuple):
            return self.range_t[0] <= t < self.range_t[1]
        return t >= self.range_t


@dataclass(frozen=True)
class TimmSchedule:
    """timm's warmup, then ``decay(t, base_lr)``, then noise.

    The warmup is linear from ``warmup_lr_init`` to the base lr over ``warmup_t`` steps (to
    ``decay(warmup_t)`` when ``warmup_to_decay``, as timm's tanh does without a prefix);
    ``warmup_prefix`` starts the decay's clock after it. With ``warmup_factor`` it starts at
    that fraction of each group's base lr instead (schedreg's relative warmup start, in
    timm's arithmetic).
    """

    decay: Callable[[float, float], float]
    warmup_t: float = 0
    warmup_lr_init: float = 0.0
    warmup_prefix: bool = False
    warmup_to_decay: bool = False
    noise: Noise | None = None
    warmup_factor: float | None = None
    t_in_epochs: bool = True

    def cycle_length(self, cycles: int = 0) -> float:
        """timm's ``get_cycle_length``: the decay's cycles, plus a prefixed warmup."""
        if not isinstance(self.decay, CyclicDecay):
            raise TypeError(f"{type(self.decay).__name__} has no cycles")
        length = self.decay.cycles.length(cycles)
        return length + self.warmup_t if self.warmup_prefix else length

    def _start(self, base_lr: float) -> float:
        """Where the warmup starts."""
        return self.warmup_lr_init if self.warmup_factor is None else self.warmup_factor * base_lr

    def lr(self, step: int, base_lr: float) -> float:
        if step == 0:  # what timm's constructor writes
            return self._start(base_lr) if self.warmup_t else base_lr
        return self.timm_lr(step, base_lr)

    def timm_lr(self, step: int, base_lr: float) -> float:
        """timm's ``_get_lr(step)`` with its noise: what ``step(t)``/``step_update(t)`` write,
        at ``t = 0`` too (where timm's constructor wrote :meth:`lr`'s value instead)."""
        if step < self.warmup_t:
            start = self._start(base_lr)
            end = self.decay(self.warmup_t, base_lr) if self.warmup_to_decay else base_lr
            value = start + step * ((end - start) / self.warmup_t)
        else:
            value = self.decay(step - self.warmup_t if self.warmup_prefix else step, base_lr)
        if self.noise is not None and self.noise.applies(step):
            value = value + value * self.noise.draw(step)
        return value
