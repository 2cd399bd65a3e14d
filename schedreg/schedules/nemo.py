"""NeMo's schedules (``nemo.core.optim.lr_scheduler``), as functions of the step and a
group's base lr.

NeMo's schedulers are torch ``LRScheduler`` s whose ``get_lr`` is a closed form of
``last_epoch``: the lr of iteration ``s`` is the form at ``s``, as in schedreg. Their
``min_lr`` is an absolute lr. Common to all: a warmup ``base * (s + 1) / (W + 1)`` while
``s <= W`` (``W = warmup_steps``, or ``int(warmup_ratio * max_steps)``), and ``min_lr``
once ``s > max_steps``. ``hold_steps`` count from the warmup's end. Two of NeMo's forms read
the first group's lr for every group (``first_lr``); that is kept, as NeMo does it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

SHAPES = (
    "WarmupPolicy",
    "WarmupHoldPolicy",
    "CosineAnnealing",
    "WarmupAnnealing",
    "SquareAnnealing",
    "SquareRootAnnealing",
    "InverseSquareRootAnnealing",
    "T5InverseSquareRootAnnealing",
    "NoamAnnealing",
    "NoamHoldAnnealing",
    "PolynomialDecayAnnealing",
    "PolynomialHoldDecayAnnealing",
    "WarmupHoldAnnealLinear",
    "WarmupHoldAnnealOneMinusSquareRoot",
)
"""NeMo's schedule names (its ``AVAILABLE_SCHEDULERS`` less torch's own classes)."""

HOLDS = {"WarmupHoldPolicy", "NoamHoldAnnealing", "PolynomialHoldDecayAnnealing"} | {
    "WarmupHoldAnnealLinear",
    "WarmupHoldAnnealOneMinusSquareRoot",
}
"""The names built on NeMo's ``WarmupHoldPolicy`` (they take ``hold_steps``)."""


def _poly_decay(base: float, step: int, decay_steps: float, power: float, low: float, cycle: bool) -> float:
    if cycle:
        decay_steps *= 1.0 if step == 0 else math.ceil(step / decay_steps)
    else:
        step = min(step, int(decay_steps))
    return (base - low) * math.pow(1.0 - step / decay_steps, power) + low


@dataclass(frozen=True)
class NemoSchedule:
    """One of NeMo's :data:`SHAPES`, with its arguments resolved (``warmup_steps`` and
    ``hold_steps`` counted in steps; ``hold_steps`` from 0, as NeMo keeps it: warmup +
    hold).

    >>> s = NemoSchedule("CosineAnnealing", max_steps=10, warmup_steps=4, min_lr=0.0)
    >>> [round(s.lr(step, base_lr=1.0), 6) for step in (0, 4, 5, 7, 10, 11)]
    [0.2, 1.0, 0.933013, 0.5, 0.0, 0.0]
    """

    name: str
    max_steps: int | None
    warmup_steps: int = 0
    hold_steps: int = 0
    constant_steps: int = 0
    min_lr: float = 0.0
    first_lr: float = 0.0
    power: float = 1.0
    cycle: bool = False
    decay_rate: float = 0.5
    d_model: int = 1

    def lr(self, step: int, base_lr: float) -> float:
        """The lr of a group whose base lr is ``base_lr`` at ``step`` (NeMo's ``get_lr``)."""
        w, m = self.warmup_steps, self.max_steps
        if self.name == "NoamAnnealing":
            return self._noam(max(1, step), base_lr)
        if self.name == "T5InverseSquareRootAnnealing":
            if step <= self.constant_steps:
                return 1 / (self.constant_steps**0.5)
            return self.min_lr if m is not None and step > m else 1 / (step**0.5)
        if self.name == "CosineAnnealing":
            return self._cosine(step, base_lr)
        if step <= w and w > 0:
            return base_lr * ((step + 1) / (w + 1))
        if self.name in HOLDS and w <= step < self.hold_steps:
            return base_lr
        if m is not None and step > m:
            return self.min_lr
        return self._decay(step, base_lr)

    def _decay(self, step: int, base: float) -> float:
        name, w, m, h, low = self.name, self.warmup_steps, self.max_steps or 0, self.hold_steps, self.min_lr
        if name == "WarmupAnnealing":
            return low + (1 - (step - w) / (m - w)) * (self.first_lr - low)
        if name == "SquareAnnealing":
            return max(base * ((m - w - (step - w)) / (m - w)) ** 2, low)
        if name == "SquareRootAnnealing":
            return max(base * ((m - step) / m) ** 0.5, low)
        if name == "InverseSquareRootAnnealing":
            return base / ((step + 1) / (w + 1)) ** 0.5
        if name == "PolynomialDecayAnnealing":
            return _poly_decay(base, step - w, m - w, self.power, low, self.cycle)
        if name == "PolynomialHoldDecayAnnealing":
            return _poly_decay(base, step - h, m - max(w, h), self.power, low, self.cycle)
        if name == "NoamHoldAnnealing":
            hold = h - w if h > 0 else 0
            return max((base * max(1, w**self.decay_rate)) / max(1, (step - hold) ** self.decay_rate), low)
        if name == "WarmupHoldAnnealLinear":
            return base - (base - low) * ((step - h) / (m - h))
        if name == "WarmupHoldAnnealOneMinusSquareRoot":
            return max(low, base * (1 - ((step - h) / (m - h)) ** 0.5))
        return base  # WarmupPolicy, WarmupHoldPolicy: the base lr until max_steps

    def _cosine(self, step: int, base: float) -> float:
        """NeMo's ``CosineAnnealing`` (``WarmupAnnealHoldPolicy``): without ``constant_steps``,
        warmup then a cosine to ``min_lr`` at ``max_steps``; with them, Megatron's form on the
        first group's lr: a linear warmup ``lr * s / W``, a cosine over
        ``max_steps - W - constant_steps``, then ``min_lr``."""
        w, c, m, low = self.warmup_steps, self.constant_steps, self.max_steps or 0, self.min_lr
        decay = m - (c + w)
        if w > 0 and step <= w:
            return self._megatron(step) if c else base * ((step + 1) / (w + 1))
        if c > 0 and w + decay < step <= m:
            return self._megatron(step)
        if step > m:
            return low
        if not c:
            return (base - low) * (0.5 * (1 + math.cos(math.pi * (step - w) / (m - w)))) + low
        return self._megatron(step)

    def _megatron(self, step: int) -> float:
        w, low, decay = (
            self.warmup_steps,
            self.min_lr,
            (self.max_steps or 0) - (self.constant_steps + self.warmup_steps),
        )
        if w > 0 and step <= w:
            return self.first_lr * float(step) / float(w)
        if step > w + decay:
            return low
        coeff = 0.5 * (math.cos(math.pi * (float(step - w) / float(decay))) + 1.0)
        return low + coeff * (self.first_lr - low)

    def _noam(self, step: int, base: float) -> float:
        normalize = self.d_model ** (-0.5)
        if self.warmup_steps > 0:
            mult = normalize * min(step ** (-0.5), step * (self.warmup_steps ** (-1.5)))
        else:
            mult = normalize * step ** (-0.5)
        out = base * mult
        return max(out, self.min_lr) if step > self.warmup_steps else out
