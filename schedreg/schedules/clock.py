"""How far one ``scheduler.step()`` moves the schedule: one step, or, on a token or sample
clock (``solver.clock``), what that update consumed.

On a token clock a loop steps with ``scheduler.step(tokens=n)`` (the tokens the update
trained on, padding left out if it likes); a plain ``step()`` counts the batch the
scheduler expects: the ramp's size at the current position times ``tokens_per_sample``, or
the fixed ``tokens_per_step``. A sample clock is the same with ``samples=``. The position is
the scheduler's ``last_epoch``, so a resume restores it exactly.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Any

from schedreg.schedules.ramp import BatchRamp

MAX_POSITION = 2**53
"""Beyond it a float position loses whole tokens."""


@dataclass(frozen=True)
class Clock:
    """What one ``step()`` adds to the position.

    Attributes:
        unit: ``"step"``, ``"tokens"`` or ``"samples"``.
        per_step: what one step consumes in ``unit``, where that is fixed (None: not known).
        ramp: the batch-size ramp (sizes in samples, thresholds in ``unit``), if any.
        tokens_per_sample: the sequence length, to count samples on a token clock.
        batch: the global batch size in samples (without a ramp), where the config gives it.
    """

    unit: str = "step"
    per_step: int | None = 1
    ramp: BatchRamp | None = None
    tokens_per_sample: int | None = None
    batch: int | None = None

    def batch_size(self, position: int) -> int | None:
        """The global batch size (samples) the next update trains on, where the config says."""
        return self.ramp.size_at(position) if self.ramp is not None else self.batch

    def expected(self, position: int) -> int | None:
        """What a plain ``step()`` from ``position`` consumes, in ``unit``: the ramp's batch
        here (times ``tokens_per_sample`` on a token clock), or the fixed size per step
        (None where the config gives neither).

        >>> Clock("tokens", None, BatchRamp((0, 100), (2, 4)), tokens_per_sample=8).expected(100)
        32
        """
        if self.ramp is None:
            return self.per_step
        return self.ramp.size_at(position) * self._per_sample

    def updates_to(self, end: int) -> int | None:
        """How many plain ``step()`` calls take the run from 0 to ``end`` (None where a step's
        size is not known).

        >>> Clock("tokens", 64).updates_to(1000)
        16
        """
        if self.ramp is not None:
            return self.ramp.steps_to(end, self._per_sample)
        return -(-end // self.per_step) if self.per_step else None

    @property
    def _per_sample(self) -> int:
        """One sample in ``unit``: its tokens on a token clock (a ramp there needs them)."""
        return (self.tokens_per_sample or 1) if self.unit == "tokens" else 1

    def advance(self, position: int, owner: str, tokens: Any = None, samples: Any = None) -> int:
        """How far the step from ``position`` goes, given what the loop says it consumed."""
        if self.unit == "step":
            if tokens is not None or samples is not None:
                what = "tokens" if tokens is not None else "samples"
                raise TypeError(
                    f"{owner} counts steps, so step() takes no {what}=; set solver.clock: {what} to "
                    f"schedule by the {what} consumed"
                )
            return 1
        if tokens is not None and samples is not None:
            raise TypeError(f"{owner}.step() takes tokens= or samples=, not both")
        if tokens is None and samples is None:
            return self._checked(position, self._expected(position, owner), owner)
        if self.unit == "samples" and tokens is not None:
            raise TypeError(f"{owner} counts samples (solver.clock: samples): step it with samples=")
        given = _count(owner, "tokens", tokens) if tokens is not None else _count(owner, "samples", samples)
        if self.unit == "tokens" and samples is not None:
            if self.tokens_per_sample is None:
                raise TypeError(
                    f"{owner} counts tokens: step it with tokens=, or set solver.tokens_per_sample to count "
                    "samples"
                )
            given *= self.tokens_per_sample
        return self._checked(position, given, owner)

    def _checked(self, position: int, moved: int, owner: str) -> int:
        if position + moved > MAX_POSITION:
            raise ValueError(f"{owner}: the position would pass 2**53 {self.unit} ({position} + {moved})")
        return moved

    def _expected(self, position: int, owner: str) -> int:
        """What a plain ``step()`` consumed (:meth:`expected`), which the config must give."""
        expected = self.expected(position)
        if expected is None:
            per = "tokens_per_step" if self.unit == "tokens" else "samples_per_step"
            raise TypeError(
                f"{owner} counts {self.unit} (solver.clock), and how many one step consumes is not set: step "
                f"it with step({self.unit}=n), or set solver.{per}"
            )
        return expected


def _count(owner: str, name: str, value: Any) -> int:
    """``value`` as a whole count >= 0: an int, numpy's, or a one-element integer Tensor
    (``mask.sum()``; reading one on an accelerator waits for it), never a bool."""
    try:
        count = None if "bool" in str(getattr(value, "dtype", type(value))) else operator.index(value)
    except TypeError:
        count = None
    if count is None or count < 0:
        raise ValueError(f"{owner}.step({name}=...) takes a whole number >= 0, got {value!r}")
    return count
