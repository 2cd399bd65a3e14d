"""composer's schedulers (``composer.optim.scheduler``) and llm-foundry's
``InverseSquareRootWithWarmupScheduler``, as multipliers of the step.

A composer scheduler is a pure function of the training clock: the multiplier ``alpha`` of
each group's lr, read off the timestamp in the unit of each of its times (batches, samples or
tokens). Here the clock is the scheduler step: after ``s`` steps the timestamp is ``s``
batches, ``s * samples_per_batch`` samples and ``s * tokens_per_batch`` tokens. The warmup
is ``t / t_warmup`` (from 0), and after it ``tau = (t - t_warmup) / (t_max - t_warmup)``,
clipped to 1.

composer's Trainer steps its scheduler before it advances the clock, so batch ``n`` trains
with ``alpha(max(n - 1, 0))``: ``lag=1`` gives those numbers; the default, ``lag=0``, the
function's own (batch ``n`` at ``alpha(n)``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

Time = tuple[int, str]
"""A converted time: a whole number of ``ba``, ``sp`` or ``tok``."""

SHAPES = (
    "StepScheduler",
    "MultiStepScheduler",
    "ConstantScheduler",
    "LinearScheduler",
    "ExponentialScheduler",
    "CosineAnnealingScheduler",
    "CosineAnnealingWarmRestartsScheduler",
    "PolynomialScheduler",
    "MultiStepWithWarmupScheduler",
    "ConstantWithWarmupScheduler",
    "LinearWithWarmupScheduler",
    "CosineAnnealingWithWarmupScheduler",
    "PolynomialWithWarmupScheduler",
    "InverseSquareRootWithWarmupScheduler",
)
"""composer's scheduler classes, and llm-foundry's one."""


def cosine_anneal(x: float, min_y: float) -> float:
    """composer's ``_cosine_anneal``: cos on [0, pi] stretched to [0, 1] -> [1, min_y]."""
    x = min(max(x, 0.0), 1.0)
    return min_y + (1.0 - min_y) * (1 + math.cos(x * math.pi)) / 2


@dataclass(frozen=True)
class ComposerSchedule:
    """One of :data:`SHAPES` with its times converted (``(value, unit)``).

    >>> s = ComposerSchedule("CosineAnnealingWithWarmupScheduler", t_warmup=(10, "ba"),
    ...     t_max=(100, "ba"), alpha_f=0.1)
    >>> [round(s(t), 6) for t in (0, 5, 10, 55, 100, 120)]
    [0.0, 0.5, 1.0, 0.55, 0.1, 0.1]
    """

    name: str
    t_max: Time = (1, "ba")
    t_warmup: Time = (0, "ba")
    alpha: float = 1.0
    alpha_i: float = 1.0
    alpha_f: float = 0.0
    gamma: float = 0.1
    power: float = 2.0
    step_size: Time = (1, "ba")
    milestones: tuple[Time, ...] = ()
    decay_period: Time = (1, "ba")
    t_0: Time = (1, "ba")
    t_mult: float = 1.0
    t_scale: Time = (1, "ba")
    t_cooldown: Time = (0, "ba")
    alpha_f_decay: float = 0.0
    alpha_f_cooldown: float = 0.0
    samples_per_batch: int = 1
    tokens_per_batch: int = 1
    lag: int = 0

    def clock(self, step: int, unit: str) -> int:
        """The timestamp after ``step`` steps, in ``unit``."""
        return step * {"ba": 1, "sp": self.samples_per_batch, "tok": self.tokens_per_batch}[unit]

    def __call__(self, step: int) -> float:
        return self.alpha_at(max(step - self.lag, 0))

    def alpha_at(self, step: int) -> float:
        """composer's multiplier when the clock reads ``step`` batches."""
        name = self.name
        if name.endswith("WithWarmupScheduler") and self.clock(step, self.t_warmup[1]) < self.t_warmup[0]:
            return self._warmup(step)
        if name in (
            "StepScheduler",
            "ExponentialScheduler",
            "MultiStepScheduler",
            "MultiStepWithWarmupScheduler",
        ):
            return self._decay(step)
        if name == "ConstantScheduler":
            return self.alpha if self.clock(step, self.t_max[1]) < self.t_max[0] else 1.0
        if name == "CosineAnnealingWarmRestartsScheduler":
            return self._restarts(step)
        if name == "InverseSquareRootWithWarmupScheduler":
            return self._inverse_sqrt(step)
        return self._annealed(step)

    def _warmup(self, step: int) -> float:
        value, unit = self.t_warmup
        frac = min(1.0, self.clock(step, unit) / value)
        target = {"LinearWithWarmupScheduler": self.alpha_i, "ConstantWithWarmupScheduler": self.alpha}
        return 0.0 + frac * (target.get(self.name, 1.0) - 0.0)

    def _tau(self, step: int) -> float:
        """The fraction of ``t_max`` elapsed (after the warmup, for the warmup schedulers)."""
        value, unit = self.t_max
        now = self.clock(step, unit)
        if not self.name.endswith("WithWarmupScheduler"):
            return now / value
        warm = self.t_warmup[0]
        return min(1.0, ((now - warm) / (value - warm)) if value > warm else 0.0)

    def _annealed(self, step: int) -> float:
        name, tau = self.name, self._tau(step)
        if name in ("LinearScheduler", "LinearWithWarmupScheduler", "ConstantWithWarmupScheduler"):
            start, end = (
                (self.alpha, self.alpha)
                if name == "ConstantWithWarmupScheduler"
                else (self.alpha_i, self.alpha_f)
            )
            return start + min(1.0, tau) * (end - start)
        if name in ("CosineAnnealingScheduler", "CosineAnnealingWithWarmupScheduler"):
            return cosine_anneal(tau, self.alpha_f)
        coeff = (1 - min(1.0, tau)) ** self.power  # Polynomial(WithWarmup)Scheduler
        return self.alpha_f + coeff * (1.0 - self.alpha_f)

    def _decay(self, step: int) -> float:
        if self.name == "StepScheduler":
            value, unit = self.step_size
            return self.gamma ** int(self.clock(step, unit) / value)
        if self.name == "ExponentialScheduler":
            value, unit = self.decay_period
            return self.gamma ** float(self.clock(step, unit) / value)
        factor = 1.0
        for value, unit in self.milestones:
            if self.clock(step, unit) >= value:
                factor *= self.gamma
        return factor

    def _restarts(self, step: int) -> float:
        value, unit = self.t_0
        now = self.clock(step, unit)
        if self.t_mult == 1.0:
            length, start = value, (now // value) * value
        else:
            length = end = value
            while end <= now:
                grown = int(self.t_mult * length)
                if grown == 0:
                    raise ValueError("composer's warm restarts decayed the cycle's length to 0")
                if grown == length:  # the length stays: the rest of composer's loop in one step
                    end += ((now - end) // length + 1) * length
                    break
                length = grown
                end += length
            start = end - length
        return cosine_anneal((now - start) / length, self.alpha_f)

    def _inverse_sqrt(self, step: int) -> float:
        unit = self.t_scale[1]
        now, scale, warm = self.clock(step, unit), self.t_scale[0], self.t_warmup[0]
        shift = scale - warm
        start = max(self.t_max[0] - self.t_cooldown[0], warm)
        if now < start:
            return self.alpha_f_decay + 1 / ((now + shift) / scale) ** 0.5 * (1.0 - self.alpha_f_decay)
        alpha_i = self.alpha_f_decay + 1 / ((start + shift) / scale) ** 0.5 * (1.0 - self.alpha_f_decay)
        if self.t_cooldown[0] == 0:
            return alpha_i
        frac = min(1.0, (now - start) / self.t_cooldown[0])
        return alpha_i + frac * (self.alpha_f_cooldown - alpha_i)
