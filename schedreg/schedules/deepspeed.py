"""DeepSpeed's schedules (``deepspeed.runtime.lr_schedules``), as functions of the step.

DeepSpeed counts ``last_batch_iteration`` from -1: its constructor writes the value at -1,
and each ``step()`` adds 1. In schedreg's count (the lr of iteration ``s`` is the one set
after ``s`` steps) DeepSpeed's ``i`` is ``s - 1``, and so both iteration 0 and iteration 1
get the warmup's minimum (``log(0 + 1) = 0``): DeepSpeed's own repeat, kept.

``WarmupLR``, ``WarmupDecayLR``, ``LRRangeTest`` and ``OneCycle`` give absolute lrs (the
optimizer's lr is ignored, as in DeepSpeed); ``WarmupCosineLR`` multiplies it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

WARMUP_TYPES = ("log", "linear")


def _within(name: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise ValueError(f"{name} must be in [{low}, {high}], got {value!r}")


def warmup_fraction(i: int, steps: int, kind: str) -> float:
    """How far DeepSpeed's warmup is at its iteration ``i`` (``0 <= i < steps``):
    ``log(i + 1) / log(steps)`` for ``log``, ``i / steps`` for ``linear``; 0 before it starts.

    >>> warmup_fraction(0, 10, "log"), warmup_fraction(9, 10, "log"), warmup_fraction(5, 10, "linear")
    (0.0, 0.9999999999999999, 0.5)
    """
    if i < 0:
        return 0.0
    if kind == "log":
        return (1.0 / math.log(steps)) * math.log(i + 1)
    return i / steps


@dataclass(frozen=True)
class WarmupDecay:
    """``WarmupLR`` (no ``total_num_steps``) and ``WarmupDecayLR``: from ``warmup_min_lr`` to
    ``warmup_max_lr`` over ``warmup_num_steps`` (at least 2), then constant, or with a total,
    down linearly: ``max(0, (T - i) / max(1, T - N))`` of the way, to 0 at ``T``.

    >>> s = WarmupDecay(warmup_min_lr=0.0, warmup_max_lr=1.0, warmup_num_steps=4,
    ...                 warmup_type="linear", total_num_steps=8)
    >>> [s.lr(step, base_lr=123.0) for step in range(10)]
    [0.0, 0.0, 0.25, 0.5, 0.75, 1.0, 0.75, 0.5, 0.25, 0.0]
    """

    warmup_min_lr: float = 0.0
    warmup_max_lr: float = 0.001
    warmup_num_steps: int = 1000
    warmup_type: str = "log"
    total_num_steps: int | None = None

    def __post_init__(self) -> None:
        _within("warmup_min_lr", self.warmup_min_lr, 0.0, math.inf)
        _within("warmup_max_lr", self.warmup_max_lr, 0.0, math.inf)
        _within("warmup_num_steps", self.warmup_num_steps, 0, math.inf)
        if self.total_num_steps is not None:
            _within("total_num_steps", self.total_num_steps, 1, math.inf)

    @property
    def steps(self) -> int:
        return max(2, self.warmup_num_steps)

    def lr(self, step: int, base_lr: float) -> float:
        i = step - 1
        if i < self.steps:
            gamma = warmup_fraction(i, self.steps, self.warmup_type)
        elif self.total_num_steps is None:
            gamma = 1.0
        else:
            gamma = max(
                0.0, float(self.total_num_steps - i) / float(max(1.0, self.total_num_steps - self.steps))
            )
        return self.warmup_min_lr + (self.warmup_max_lr - self.warmup_min_lr) * gamma


@dataclass(frozen=True)
class WarmupCosine:
    """``WarmupCosineLR``: a multiplier of the optimizer's lr, from ``warmup_min_ratio`` up
    over ``warmup_num_steps``, then a cosine from 1 down to ``cos_min_ratio`` at
    ``total_num_steps``: ``cos_min_ratio + (1 - cos_min_ratio) * (1 + cos(pi * r)) / 2`` with
    ``r = (i - N + 1) / (T - N)``. Past ``T`` the cosine rises again, as DeepSpeed's does.
    At iteration 0 (DeepSpeed's ``i = -1``) the multiplier is 0.

    >>> s = WarmupCosine(total_num_steps=6, warmup_num_steps=2, warmup_type="linear",
    ...                  cos_min_ratio=0.0)
    >>> [round(s(step), 6) for step in range(8)]
    [0.0, 0.0, 0.5, 0.853553, 0.5, 0.146447, 0.0, 0.146447]
    """

    total_num_steps: int
    warmup_min_ratio: float = 0.0
    warmup_num_steps: int = 1000
    cos_min_ratio: float = 0.0001
    warmup_type: str = "log"

    def __post_init__(self) -> None:
        _within("warmup_min_ratio", self.warmup_min_ratio, 0.0, 1.0)
        _within("cos_min_ratio", self.cos_min_ratio, 0.0, 1.0)
        _within("warmup_num_steps", self.warmup_num_steps, 0, math.inf)
        # DeepSpeed divides by T - N (N at least 2) once the warmup is over
        _within("total_num_steps", self.total_num_steps, max(2, self.warmup_num_steps) + 1, math.inf)

    def __call__(self, step: int) -> float:
        i = step - 1
        steps = max(2, self.warmup_num_steps)
        if i < 0:
            return 0.0
        if i < steps:
            ratio = warmup_fraction(i, steps, self.warmup_type)
            return self.warmup_min_ratio + ratio * (1.0 - self.warmup_min_ratio)
        ratio = (1 + math.cos(math.pi * (i - steps + 1) / (self.total_num_steps - steps))) / 2
        return max(0.0, self.cos_min_ratio + (1.0 - self.cos_min_ratio) * ratio)


@dataclass(frozen=True)
class RangeTest:
    """``LRRangeTest``: ``lr_range_test_min_lr * (1 + rate * interval)``, the interval
    ``(i + 1) / step_size`` (floored with ``staircase``): a rising lr to find the largest
    that trains.

    >>> s = RangeTest(lr_range_test_min_lr=0.1, lr_range_test_step_size=2)
    >>> [s.lr(step, base_lr=9.0) for step in range(4)]
    [0.1, 0.15000000000000002, 0.2, 0.25]
    """

    lr_range_test_min_lr: float = 1e-3
    lr_range_test_step_size: int = 2000
    lr_range_test_step_rate: float = 1.0
    lr_range_test_staircase: bool = False

    def __post_init__(self) -> None:
        _within("lr_range_test_min_lr", self.lr_range_test_min_lr, 0.0, math.inf)
        _within("lr_range_test_step_size", self.lr_range_test_step_size, 1, math.inf)
        _within("lr_range_test_step_rate", self.lr_range_test_step_rate, 0.0, math.inf)

    def lr(self, step: int, base_lr: float) -> float:
        interval = float(max(step - 1, -1) + 1) / self.lr_range_test_step_size
        if self.lr_range_test_staircase:
            interval = math.floor(interval)
        return self.lr_range_test_min_lr * (1 + self.lr_range_test_step_rate * interval)


@dataclass(frozen=True)
class OneCycleLr:
    """``OneCycle``'s lr: up from ``cycle_min_lr`` to ``cycle_max_lr`` over
    ``cycle_first_step_size`` and down over ``cycle_second_step_size`` (default the same),
    then ``cycle_min_lr / (1 + decay_lr_rate * j / decay_step_size)`` ``j`` steps after
    the cycle (held at the minimum when either is 0).

    >>> s = OneCycleLr(cycle_min_lr=0.0, cycle_max_lr=1.0, cycle_first_step_size=2)
    >>> [s.lr(step, base_lr=5.0) for step in range(7)]
    [0.0, 0.5, 1.0, 0.5, 0.0, 0.0, 0.0]
    """

    cycle_min_lr: float
    cycle_max_lr: float
    decay_lr_rate: float = 0.0
    cycle_first_step_size: int = 2000
    cycle_second_step_size: int | None = None
    decay_step_size: int = 0

    def __post_init__(self) -> None:
        _within("cycle_min_lr", self.cycle_min_lr, 0.0, math.inf)
        _within("cycle_max_lr", self.cycle_max_lr, 0.0, math.inf)
        _within("decay_lr_rate", self.decay_lr_rate, 0.0, math.inf)
        _within("cycle_first_step_size", self.cycle_first_step_size, 1, math.inf)
        if self.cycle_second_step_size is not None:
            _within("cycle_second_step_size", self.cycle_second_step_size, 1, math.inf)
        _within("decay_step_size", self.decay_step_size, 0, math.inf)

    def lr(self, step: int, base_lr: float) -> float:
        first = float(self.cycle_first_step_size)
        second = first if self.cycle_second_step_size is None else float(self.cycle_second_step_size)
        total, i = first + second, step - 1
        if i < total:
            batch = i + 1
            x = 1.0 + batch / total - math.floor(1 + batch / total)
            ratio = first / total
            scale = x / ratio if x <= ratio else (x - 1) / (ratio - 1)
            return self.cycle_min_lr + (self.cycle_max_lr - self.cycle_min_lr) * scale
        if math.isclose(self.decay_step_size, 0) or math.isclose(self.decay_lr_rate, 0):
            return self.cycle_min_lr
        interval = (i - total + 1) / self.decay_step_size
        return self.cycle_min_lr / (1 + self.decay_lr_rate * interval)
