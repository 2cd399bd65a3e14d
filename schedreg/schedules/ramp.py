"""A batch-size ramp: the global batch size as a function of what the run has consumed
(tokens or samples), as Megatron-LM's ``step_batch_size_schedule`` and OLMo-core's
batch-size schedule declare it, and the lr rescale that may follow each change.

With thresholds ``t_0 = 0 < t_1 < ...`` and sizes ``b_0, b_1, ...``, the batch trained at
position ``p`` (what was consumed before it) has size ``b_i`` for the last ``t_i <= p``;
the lr multiplier of a rescale is ``1`` (none), ``b_i / b_0`` (linear) or
``sqrt(b_i / b_0)`` (sqrt): the config's lr is the lr at the first batch size.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass

from schedreg.schedules.core import LrSchedule, Schedule

RESCALES = ("none", "linear", "sqrt")


@dataclass(frozen=True)
class BatchRamp:
    """Batch sizes (in samples) from each threshold on (in the clock's unit).

    >>> ramp = BatchRamp(thresholds=(0, 1000, 3000), sizes=(8, 16, 32))
    >>> [ramp.size_at(p) for p in (0, 999, 1000, 2999, 3000, 10**9)]
    [8, 8, 16, 16, 32, 32]
    >>> ramp.factor(1500, "linear"), ramp.factor(3000, "sqrt")
    (2.0, 2.0)
    """

    thresholds: tuple[int, ...]
    sizes: tuple[int, ...]

    def size_at(self, position: int) -> int:
        """The batch size at ``position`` (the last threshold at or before it)."""
        return self.sizes[bisect.bisect_right(self.thresholds, position) - 1]

    def factor(self, position: int, rescale: str) -> float:
        """The lr multiplier at ``position`` for ``rescale`` (none, linear or sqrt)."""
        if rescale == "none":
            return 1.0
        ratio = self.size_at(position) / self.sizes[0]
        return ratio if rescale == "linear" else math.sqrt(ratio)

    def steps_to(self, end: int, per_sample: int = 1) -> int:
        """How many steps take the run from 0 to ``end`` consumed, each step consuming its
        batch (``size * per_sample``: tokens per sample, where the clock counts tokens);
        Megatron's ``update_train_iters``, segment by segment rather than step by step.

        >>> BatchRamp((0, 10), (4, 8)).steps_to(30)  # 4, 4, 4 (to 12, past 10), then 8, 8, 8
        6
        """
        steps = position = 0
        for i, size in enumerate(self.sizes):
            stop = min(end, self.thresholds[i + 1]) if i + 1 < len(self.sizes) else end
            if position >= stop:
                continue
            count = -(-(stop - position) // (size * per_sample))  # ceil: the last overshoots
            steps += count
            position += count * size * per_sample
        return steps


@dataclass(frozen=True)
class Rescaled:
    """A multiplier schedule times the ramp's rescale at each step.

    >>> from schedreg.schedules.core import Constant
    >>> r = Rescaled(Constant(0.5), BatchRamp((0, 10), (4, 16)), "sqrt")
    >>> r(9), r(10)
    (0.5, 1.0)
    """

    main: Schedule
    ramp: BatchRamp
    rescale: str

    def __call__(self, step: int) -> float:
        return self.main(step) * self.ramp.factor(step, self.rescale)


@dataclass(frozen=True)
class LrRescaled:
    """An lr schedule (absolute lrs) times the ramp's rescale at each step."""

    main: LrSchedule
    ramp: BatchRamp
    rescale: str

    def lr(self, step: int, base_lr: float) -> float:
        return self.main.lr(step, base_lr) * self.ramp.factor(step, self.rescale)
