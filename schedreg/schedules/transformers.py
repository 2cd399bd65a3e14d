"""The schedules of ``transformers.get_scheduler``, as pure functions of the step.

Each evaluates the same floating-point expressions as transformers' lr lambdas, so the
lrs match transformers' own. The decay starts after ``num_warmup_steps``; before it
these return 1 and the factory's warmup (linear from 0, as transformers does) applies,
except :class:`WarmupStableDecay`, whose warmup shape is one of its own arguments.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

SHAPES = ("linear", "cosine", "1-sqrt")


def _within(name: str, value: float, low: float, high: float) -> None:
    """Refuse a parameter outside ``[low, high]`` (NaN included) when the schedule is made,
    not at the step where it would divide by 0 or give a negative lr."""
    if not low <= value <= high:
        raise ValueError(f"{name} must be in [{low}, {high}], got {value!r}")


MAX_CYCLES = 2.0**53
"""The most cosine cycles a schedule takes: past it the phase ``2*pi*num_cycles*progress``
holds no fraction of a cycle (and near float's max it overflows, so ``cos`` raises)."""


def _progress(step: Any, start: int, length: int) -> Any:
    return (step - start) / float(max(1, length))


@dataclass(frozen=True)
class Linear:
    """Linear decay from 1 to 0 between warmup's end and ``num_training_steps``."""

    num_warmup_steps: int
    num_training_steps: int

    def __call__(self, step: int) -> float:
        if step < self.num_warmup_steps:
            return 1.0
        left = float(self.num_training_steps - step)
        return max(0.0, left / float(max(1, self.num_training_steps - self.num_warmup_steps)))

    def curve(self, steps: Any) -> Any:
        left = self.num_training_steps - steps
        decay = (left / float(max(1, self.num_training_steps - self.num_warmup_steps))).clamp(min=0.0)
        return decay.where(steps >= self.num_warmup_steps, 1.0)


@dataclass(frozen=True)
class Cosine:
    """``num_cycles`` cosine waves after warmup (0.5: half a cosine to ``min_lr_rate``)."""

    num_warmup_steps: int
    num_training_steps: int
    num_cycles: float = 0.5
    min_lr_rate: float = 0.0

    def __post_init__(self) -> None:
        _within("min_lr_rate", self.min_lr_rate, 0.0, 1.0)  # above 1, the lr would rise over the base
        _within("num_cycles", self.num_cycles, -MAX_CYCLES, MAX_CYCLES)

    def __call__(self, step: int) -> float:
        if step < self.num_warmup_steps:
            return 1.0
        progress = _progress(step, self.num_warmup_steps, self.num_training_steps - self.num_warmup_steps)
        factor = 0.5 * (1.0 + math.cos(math.pi * float(self.num_cycles) * 2.0 * progress))
        return max(0.0, factor * (1 - self.min_lr_rate) + self.min_lr_rate)

    def curve(self, steps: Any) -> Any:
        progress = _progress(steps, self.num_warmup_steps, self.num_training_steps - self.num_warmup_steps)
        factor = 0.5 * (1.0 + (math.pi * float(self.num_cycles) * 2.0 * progress).cos())
        value = (factor * (1 - self.min_lr_rate) + self.min_lr_rate).clamp(min=0.0)
        return value.where(steps >= self.num_warmup_steps, 1.0)


@dataclass(frozen=True)
class CosineWithHardRestarts:
    """``num_cycles`` half cosines from 1 to 0 after warmup, each restarting at 1; then 0."""

    num_warmup_steps: int
    num_training_steps: int
    num_cycles: int = 1

    def __post_init__(self) -> None:
        _within("num_cycles", self.num_cycles, 0.0, MAX_CYCLES)

    def __call__(self, step: int) -> float:
        if step < self.num_warmup_steps:
            return 1.0
        progress = _progress(step, self.num_warmup_steps, self.num_training_steps - self.num_warmup_steps)
        if progress >= 1.0:
            return 0.0
        return max(0.0, 0.5 * (1.0 + math.cos(math.pi * ((float(self.num_cycles) * progress) % 1.0))))


@dataclass(frozen=True)
class Polynomial:
    """``(1 - end) * remaining ** power + end`` after warmup, ``end = lr_end / lr_init``."""

    num_warmup_steps: int
    num_training_steps: int
    lr_init: float
    lr_end: float = 1e-7
    power: float = 1.0

    def __post_init__(self) -> None:
        _within("power", self.power, 0.0, math.inf)  # a negative power divides by 0 at the end
        _within("lr_end", self.lr_end, 0.0, math.inf)

    def __call__(self, step: int) -> float:
        if step < self.num_warmup_steps:
            return 1.0
        if step > self.num_training_steps:
            return self.lr_end / self.lr_init
        lr_range = self.lr_init - self.lr_end
        decay_steps = self.num_training_steps - self.num_warmup_steps
        pct_remaining = 1 - (step - self.num_warmup_steps) / decay_steps
        return (lr_range * pct_remaining**self.power + self.lr_end) / self.lr_init


@dataclass(frozen=True)
class InverseSqrt:
    """``1 / sqrt((step + timescale - num_warmup_steps) / timescale)`` after warmup."""

    num_warmup_steps: int
    timescale: int

    def __post_init__(self) -> None:
        _within("timescale", self.timescale, 1, math.inf)  # the square root of a negative number

    def __call__(self, step: int) -> float:
        if step < self.num_warmup_steps:
            return 1.0
        return 1.0 / math.sqrt((step + self.timescale - self.num_warmup_steps) / self.timescale)


def _shape(kind: str, progress: float, rising: bool) -> float:
    if kind == "linear":
        return progress if rising else 1.0 - progress
    if kind == "cosine":
        return (
            0.5 * (1.0 - math.cos(math.pi * progress))
            if rising
            else 0.5 * (1.0 + math.cos(math.pi * progress))
        )
    return 1.0 - math.sqrt(1.0 - progress) if rising else 1.0 - math.sqrt(progress)


@dataclass(frozen=True)
class WarmupStableDecay:
    """Warmup (from ``min_lr_ratio``), a stable stretch at 1, a decay to ``min_lr_ratio``.

    Without ``own_warmup`` the warmup steps are 1 (flat), for a warmup joined on from outside.
    """

    num_warmup_steps: int
    num_stable_steps: int
    num_decay_steps: int
    warmup_type: str = "linear"
    decay_type: str = "cosine"
    min_lr_ratio: float = 0.0
    num_cycles: float = 0.5
    own_warmup: bool = True

    def __post_init__(self) -> None:
        _within("min_lr_ratio", self.min_lr_ratio, 0.0, 1.0)
        _within("num_decay_steps", self.num_decay_steps, 0, math.inf)
        _within("num_stable_steps", self.num_stable_steps, 0, math.inf)
        _within("num_cycles", self.num_cycles, -MAX_CYCLES, MAX_CYCLES)

    def __call__(self, step: int) -> float:
        floor = self.min_lr_ratio
        if step < self.num_warmup_steps and not self.own_warmup:
            return 1.0
        if step < self.num_warmup_steps:
            factor = _shape(self.warmup_type, float(step) / float(max(1, self.num_warmup_steps)), rising=True)
            return max(0.0, factor * (1.0 - floor) + floor)
        if step < self.num_warmup_steps + self.num_stable_steps:
            return 1.0
        if step < self.num_warmup_steps + self.num_stable_steps + self.num_decay_steps:
            progress = _progress(step, self.num_warmup_steps + self.num_stable_steps, self.num_decay_steps)
            if self.decay_type == "cosine":
                factor = 0.5 * (1.0 + math.cos(math.pi * float(self.num_cycles) * 2.0 * progress))
            else:
                factor = _shape(self.decay_type, progress, rising=False)
            return max(0.0, factor * (1.0 - floor) + floor)
        return floor
