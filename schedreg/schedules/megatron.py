"""Megatron-LM's ``OptimizerParamScheduler``, as functions of its step count.

Megatron counts ``num_steps`` in samples (an iteration adds the global batch size) and
computes each group's lr and weight decay from it in closed form. With ``W`` the warmup, ``D``
the decay length and ``r = (n - W) / (D - W)``::

    n <= W (W > 0):  init_lr + (max_lr - init_lr) * n / W
    constant:        max_lr (forever)
    n > D:           min_lr
    inverse-square-root: max(min_lr, max_lr * sqrt(max(W, 1)) / sqrt(max(n, 1)))
    else:            min_lr + coeff * (max_lr - min_lr), coeff = 1 - r (linear),
                     (cos(pi r) + 1) / 2 (cosine), or WSD's: 1 until D - wsd_decay_steps,
                     then by its own ratio w: 1 - w, (cos(pi w) + 1) / 2, 2 * 0.5**w - 1
                     (exponential) or 1 - sqrt(w) (minus_sqrt).

The weight decay rises from ``start_wd`` to ``end_wd`` over ``wd_incr_steps`` (linear, or
``(cos(pi (1 - r)) + 1) / 2``), then stays at ``end_wd``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from schedreg.schedules.cooldown import Branch

DECAY_STYLES = ("constant", "linear", "cosine", "inverse-square-root", "WSD")
WSD_STYLES = ("exponential", "linear", "cosine", "minus_sqrt")
WD_STYLES = ("constant", "linear", "cosine")


@dataclass(frozen=True)
class MegatronSchedule:
    """Megatron's lr (and weight decay) at scheduler step ``s``: Megatron's ``num_steps`` is
    ``s * increment`` (``increment``: the samples one step counts, the global batch size for
    Megatron's iteration arguments; 1 where its lengths are in steps).

    >>> s = MegatronSchedule(lr_decay_steps=10, lr_decay_style="cosine", lr_warmup_steps=2)
    >>> [round(s.lr(step, base_lr=1.0), 6) for step in (0, 1, 2, 6, 10, 11)]
    [0.0, 0.5, 1.0, 0.5, 0.0, 0.0]
    """

    lr_decay_steps: float
    lr_decay_style: str = "linear"
    lr_warmup_steps: float = 0
    init_lr: float = 0.0
    min_lr: float = 0.0
    wsd_decay_steps: float | None = None
    lr_wsd_decay_style: str | None = None
    increment: int = 1
    start_wd: float | None = None
    end_wd: float | None = None
    wd_incr_steps: float | None = None
    wd_incr_style: str = "constant"
    max_lr: float | None = None
    """The config's peak lr, which a Megatron checkpoint records (each group peaks at its own)."""
    cooldown: Branch | None = None
    """A cooldown branched off the schedule (``solver.cooldown``, in scheduler steps)."""

    @property
    def schedules_weight_decay(self) -> bool:
        """Whether the groups' weight decay is written (Megatron always writes it; schedreg
        where the config sets it)."""
        return self.start_wd is not None

    def lr(self, step: int, base_lr: float) -> float:
        """A group's lr at ``step``, its ``max_lr`` being ``base_lr``."""
        return self.megatron_lr(step * self.increment, base_lr, self.min_lr)

    def megatron_lr(self, n: int, max_lr: float, min_lr: float) -> float:
        """Megatron's ``get_lr`` at ``num_steps = n`` for a group with these lrs, cooled from
        the cooldown's start on, if there is one (from that lr to ``to`` of it, or ``to_lr``).

        >>> s = MegatronSchedule(100, "constant", cooldown=Branch(start=10, length=4, to=0.5))
        >>> [s.megatron_lr(n, 1.0, 0.0) for n in (9, 10, 12, 14)]
        [1.0, 1.0, 0.75, 0.5]
        """
        branch = self.cooldown
        if branch is None or n < branch.start * self.increment:
            return self._uncooled(n, max_lr, min_lr)
        v0 = self._uncooled(branch.start * self.increment, max_lr, min_lr)
        low = branch.to_lr if branch.to_lr is not None else v0 * branch.to
        return branch.value(n // self.increment, v0, low)

    def _uncooled(self, n: int, max_lr: float, min_lr: float) -> float:
        w, d = self.lr_warmup_steps, self.lr_decay_steps
        if w > 0 and n <= w:
            return self.init_lr + ((max_lr - self.init_lr) * float(n) / float(w))
        if self.lr_decay_style == "constant":
            return max_lr
        if n > d:
            return min_lr
        if self.lr_decay_style == "inverse-square-root":
            return max(min_lr, max_lr * max(w, 1) ** 0.5 / (max(n, 1) ** 0.5))
        ratio = float(n - w) / float(d - w)
        if self.lr_decay_style == "linear":
            coeff = 1.0 - ratio
        elif self.lr_decay_style == "cosine":
            coeff = 0.5 * (math.cos(math.pi * ratio) + 1.0)
        else:
            coeff = self._wsd(n)
        return min_lr + coeff * (max_lr - min_lr)

    def _wsd(self, n: int) -> float:
        length = self.wsd_decay_steps or 0
        start = self.lr_decay_steps - length
        if n <= start:
            return 1.0
        w = float(n - start) / float(length)
        style = self.lr_wsd_decay_style
        if style == "linear":
            return 1.0 - w
        if style == "cosine":
            return 0.5 * (math.cos(math.pi * w) + 1.0)
        if style == "exponential":
            return (2.0 * math.pow(0.5, w)) - 1.0
        return 1.0 - math.sqrt(w)  # minus_sqrt

    def weight_decay(self, step: int, start_wd: float, end_wd: float) -> float:
        """Megatron's ``get_wd`` at scheduler step ``step`` for a group with these ends
        (before its ``wd_mult``).

        >>> MegatronSchedule(10, start_wd=0.0, end_wd=0.1, wd_incr_steps=10,
        ...     wd_incr_style="linear").weight_decay(5, 0.0, 0.1)
        0.05
        """
        n, total = step * self.increment, self.wd_incr_steps or 0
        if n > total or self.wd_incr_style == "constant":
            return end_wd
        ratio = float(n) / float(total)
        cosine = 0.5 * (math.cos(math.pi * (1 - ratio)) + 1.0)
        coeff = ratio if self.wd_incr_style == "linear" else cosine
        return start_wd + coeff * (end_wd - start_wd)
