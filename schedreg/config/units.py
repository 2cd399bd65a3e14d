"""Durations in epochs, iterations or percent of the run, resolved once to scheduler steps.

A schedule's durations (``max_iter``, ``steps``, ``warmup_iters``, and duration
arguments such as ``T_max`` or timm's ``t_initial``) count calls of ``scheduler.step()``.
The config may write them in other units:

* ``solver.interval: epoch`` says plain numbers are epochs. With
  ``solver.iters_per_epoch`` the schedule is converted once to iterations (every duration
  times ``iters_per_epoch``, as mmengine's ``convert_to_iter_based``) and is stepped per
  iteration; without it, it is stepped once per epoch.
* a string with a unit: ``"90ep"``, ``"500it"``, ``"10%"`` (of ``max_iter``), whatever
  the interval; ``"300Btok"``, ``"60Msp"`` (tokens, samples; K/M/B/T suffixes).
* ``solver.clock: tokens`` (or ``samples``) says the scheduler's step *is* a token (a
  sample): it is stepped by what each update consumed (``step(tokens=...)``), plain numbers
  count tokens, ``tok`` and ``sp`` convert exactly (``sp`` times ``tokens_per_sample``), and
  ``it`` times what one step consumes, where that is fixed.

Resolution is exact integer arithmetic except for fractions (``"1.5ep"``, ``"10%"``),
which round to the nearest step (halves to even, as Python's ``round``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from schedreg.errors import ConfigError

INTERVALS = ("iter", "epoch")
CLOCKS = ("step", "tokens", "samples")
"""What the scheduler's step counts: calls of ``step()``, or tokens or samples consumed."""
UNIT_STRING = re.compile(
    r"\s*([0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?|\.[0-9]+)\s*([KMBT]?)\s*(ep|it|%|tok|sp)\s*"
)
FORMS = "an integer, or a string like '90ep', '500it', '10%', '300Btok' or '60Msp'"
SCALES = {"": 1, "K": 10**3, "M": 10**6, "B": 10**9, "T": 10**12}
"""The suffixes a count may take: thousands, millions, billions, trillions."""
MAX_AMOUNT = 2**53
"""The most tokens or samples a duration may count (past it, a float position loses units)."""


@dataclass(frozen=True)
class Units:
    """How to read durations: the interval plain numbers are in, and iterations per epoch."""

    interval: str = "iter"
    iters_per_epoch: int | None = None
    interval_key: str = "interval"
    iters_per_epoch_key: str = "iters_per_epoch"
    tokens_per_step: int | None = None
    samples_per_step: int | None = None
    clock: str = "step"
    tokens_per_sample: int | None = None
    ramped: bool = False
    """Whether a batch-size ramp makes what one step consumes change as the run goes."""

    @property
    def per_step(self) -> int | None:
        """What one ``step()`` consumes in the clock's unit, where that is fixed (1 for the
        step clock; None under a batch-size ramp, or where the config does not say)."""
        if self.clock == "step":
            return 1
        if self.ramped:
            return None
        tokens, samples, per_sample = self.tokens_per_step, self.samples_per_step, self.tokens_per_sample
        if self.clock == "tokens":
            return tokens or (samples * per_sample if samples and per_sample else None)
        if samples or not (tokens and per_sample) or tokens % per_sample:
            return samples
        return tokens // per_sample

    @property
    def batch(self) -> int | None:
        """The global batch size in samples the config gives (without a ramp): the samples
        per step, or the tokens per step in whole samples."""
        tokens, per_sample = self.tokens_per_step, self.tokens_per_sample
        if self.samples_per_step is not None or self.ramped:
            return self.samples_per_step
        return tokens // per_sample if tokens and per_sample and not tokens % per_sample else None

    @property
    def step_unit(self) -> str:
        """What one ``scheduler.step()`` is: ``"epoch"`` for an epoch schedule without
        ``iters_per_epoch``, else ``"iter"``."""
        return "epoch" if self.interval == "epoch" and self.iters_per_epoch is None else "iter"

    def steps(self, path: str, value: Any, max_iter: int | None = None) -> Any:
        """``value`` in scheduler steps; anything that is not a duration is returned as is,
        for the caller's own type check.

        >>> Units("epoch", 500).steps("solver.max_iter", 90)
        45000
        >>> [Units("iter", 500).steps("solver.steps", v, max_iter=45000) for v in ("30ep", "10%", "80it")]
        [15000, 4500, 80]
        >>> Units(tokens_per_step=4 * 2**20).steps("solver.max_iter", "300Btok")
        71526
        """
        if isinstance(value, bool):
            return value
        if isinstance(value, int):
            if self.interval == "epoch" and self.iters_per_epoch:
                return value * self.iters_per_epoch
            return value  # steps, or under a token (sample) clock tokens (samples)
        if not isinstance(value, str):
            return value
        match = UNIT_STRING.fullmatch(value)
        if match is None:
            raise ConfigError(f"{path} must be {FORMS}, got {value!r}")
        if match[2] and match[3] == "%":
            raise ConfigError(f"{path}={value!r}: a percentage takes no {match[2]} suffix")
        exact = Decimal(match[1]) * SCALES[match[2]]  # "2.01K" is 2010, not 2009.9999999999998
        try:
            if match[3] in ("tok", "sp"):
                return self._counted(path, value, exact, match[3])
            return self._resolve(path, value, float(exact), match[3], max_iter)
        except OverflowError as exc:  # an amount too large to count in
            raise ConfigError(f"{path}={value!r} is too large to count in steps") from exc

    def _counted(self, path: str, value: str, amount: Decimal, unit: str) -> int:
        """Tokens or samples, exactly: on a token (sample) clock in its unit, else in steps."""
        if amount > MAX_AMOUNT:
            raise ConfigError(
                f"{path}={value!r} is more than 2**53 {'tokens' if unit == 'tok' else 'samples'}"
            )
        if self.clock != "step":
            return self._on_clock(path, value, amount, unit)
        return self._consumed(path, value, amount, unit)

    def _resolve(self, path: str, value: str, amount: float, unit: str, max_iter: int | None) -> int:
        if unit == "%":
            if max_iter is None:
                raise ConfigError(
                    f"{path}={value!r} is a percentage of max_iter, which is not set (or is this key itself)"
                )
            if amount > 100:
                raise ConfigError(f"{path} must be at most 100% of max_iter, got {value!r}")
            return round(amount / 100 * max_iter)
        if self.clock != "step":
            return self._clock_steps(path, value, amount, unit)
        if unit == "it":
            if self.step_unit == "epoch":
                raise ConfigError(
                    f"{path}={value!r} counts iterations, but this schedule is stepped once per epoch "
                    f"({self.interval_key}: epoch, no {self.iters_per_epoch_key}); set "
                    f"{self.iters_per_epoch_key} to step it per iteration"
                )
            return _whole(path, value, amount)
        if self.step_unit == "epoch":
            return _whole(path, value, amount)
        if self.iters_per_epoch is None:
            raise ConfigError(
                f"{path}={value!r} counts epochs: set {self.iters_per_epoch_key} (iterations in one epoch) "
                f"to convert it, or {self.interval_key}: epoch to step the scheduler once per epoch"
            )
        return round(amount * self.iters_per_epoch)

    def _on_clock(self, path: str, value: str, amount: Decimal, unit: str) -> int:
        """Tokens or samples on a token (sample) clock: its own unit exactly, the other
        through ``tokens_per_sample`` (to the nearest sample)."""
        own = "tok" if self.clock == "tokens" else "sp"
        if unit == own:
            if amount != amount.to_integral_value():
                raise ConfigError(f"{path} must be a whole number of {self.clock}, got {value!r}")
            return int(amount)
        if self.tokens_per_sample is None:
            raise ConfigError(
                f"{path}={value!r} counts {'samples' if unit == 'sp' else 'tokens'}, and the scheduler "
                f"counts {self.clock}: set solver.tokens_per_sample (the sequence length) to convert it"
            )
        if unit == "sp":
            return round(amount * self.tokens_per_sample)
        samples = round(amount / self.tokens_per_sample)
        if amount and not samples:
            raise ConfigError(f"{path}={value!r} is under half a sample of {self.tokens_per_sample} tokens")
        return samples

    def _clock_steps(self, path: str, value: str, amount: float, unit: str) -> int:
        """Iterations on a token (sample) clock: times what one step consumes, where fixed."""
        if unit == "ep":
            raise ConfigError(
                f"{path}={value!r} counts epochs, but the scheduler counts {self.clock} (solver.clock): "
                f"write it in {'tok' if self.clock == 'tokens' else 'sp'}"
            )
        size = self.per_step
        if size is None:
            ramp = "a batch-size ramp changes what a step consumes"
            why = ramp if self.ramped else "no size per step is set"
            raise ConfigError(
                f"{path}={value!r} counts iterations, but the scheduler counts {self.clock} and {why}: "
                f"write it in {'tok' if self.clock == 'tokens' else 'sp'}"
            )
        return _whole(path, value, amount) * size

    def _consumed(self, path: str, value: str, amount: Decimal, unit: str) -> int:
        """Tokens or samples in steps: each step consumes ``tokens_per_step`` tokens (or
        ``samples_per_step`` samples, the global batch), the nearest whole step."""
        what = "tokens" if unit == "tok" else "samples"
        per_step = self.tokens_per_step if unit == "tok" else self.samples_per_step
        if per_step is None:
            raise ConfigError(
                f"{path}={value!r} counts {what}: set solver.{what}_per_step (what one scheduler step "
                "consumes) to convert it"
            )
        if self.step_unit == "epoch":
            raise ConfigError(f"{path}={value!r} counts {unit}, but this schedule is stepped once per epoch")
        steps = round(amount / per_step)
        if amount and not steps:
            raise ConfigError(f"{path}={value!r} is less than half a step of {per_step} {what}: 0 steps")
        return steps


def _whole(path: str, text: str, amount: float) -> int:
    if not math.isfinite(amount) or amount != int(amount):
        raise ConfigError(f"{path} must be a whole number of steps, got {text!r}")
    return int(amount)


DURATION_ARGS = frozenset(
    {
        # torch
        "T_max", "T_0", "total_iters", "total_steps", "step_size", "step_size_up", "step_size_down",
        "milestones", "patience", "cooldown", "anneal_epochs",
        # transformers
        "timescale", "num_decay_steps", "num_stable_steps",
        # timm
        "t_initial", "warmup_t", "decay_t", "noise_range_t", "patience_t", "cooldown_t",
    }
)  # fmt: skip
"""Scheduler arguments that count scheduler steps (a value, or a list of them)."""


def arguments(units: Units, path: str, args: dict[str, Any], max_iter: int | None) -> dict[str, Any]:
    """``args`` with their durations in scheduler steps (``points`` of ``Interpolate`` too:
    the step of each ``[step, value]`` pair).

    Plain numbers convert only when the schedule is converted from epochs; a float stays a
    float (timm's ``decay_t`` may be one). ``max_iter`` is None where the run's length was not
    set: a percentage of it is then refused.
    """
    out = dict(args)
    for name, value in args.items():
        key = f"{path}.{name}"
        if name in DURATION_ARGS:
            if isinstance(value, list):
                out[name] = [_argument(units, f"{key}[{i}]", v, max_iter) for i, v in enumerate(value)]
            else:
                out[name] = _argument(units, key, value, max_iter)
        elif name == "points" and isinstance(value, list):
            out[name] = [
                [_argument(units, f"{key}[{i}][0]", p[0], max_iter), *p[1:]]
                if isinstance(p, list) and p
                else p
                for i, p in enumerate(value)
            ]
    return out


FRACTION_ARGS = frozenset({"num_decay_steps"})
"""Duration arguments where a float in (0, 1] is a fraction of the run, not a duration
(transformers' ``warmup_stable_decay``): no unit to convert."""


def _argument(units: Units, path: str, value: Any, max_iter: int | None) -> Any:
    if type(value).__name__ == "Tensor":  # it would skip the conversion, and make the lrs Tensors
        raise ConfigError(f"{path} is a duration: {FORMS} (a float for timm's), got a Tensor {value!r}")
    if isinstance(value, float) and path.rpartition(".")[2] in FRACTION_ARGS and 0 < value <= 1:
        return value
    if isinstance(value, float) and units.interval == "epoch" and units.iters_per_epoch:
        return value * units.iters_per_epoch
    return units.steps(path, value, max_iter)
