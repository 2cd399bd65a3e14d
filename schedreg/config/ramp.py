"""Reading a batch-size ramp (``solver.batch_size_schedule``): Megatron-LM's
``step_batch_size_schedule`` string, ``"0:768 250B:1536 500B:3072"``, or a list of
``[threshold, batch size]`` pairs.

A threshold is in the clock's unit (tokens or samples consumed, ``solver.clock``), or says
its own (``"250Btok"``, ``"60Msp"``); K/M/B/T multiply by a thousand to a trillion. As in
Megatron, a token threshold is rounded down to a whole sample where the sequence length
(``solver.tokens_per_sample``) is known, entries are sorted, and the first must be at 0.
Unlike Megatron, a fraction of a token, sample or batch is refused rather than truncated.
"""

from __future__ import annotations

import itertools
import re
from decimal import Decimal
from typing import Any

from schedreg.config.checks import MAX_COUNT, is_int
from schedreg.config.units import SCALES, Units
from schedreg.errors import ConfigError
from schedreg.schedules.ramp import BatchRamp

AMOUNT = re.compile(r"\s*([0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?|\.[0-9]+)\s*([KMBTkmbt]?)\s*(tok|sp)?\s*")
FORMS = "a string like '0:768 250B:1536 500B:3072' or a list of [threshold, batch size] pairs"


def _count(path: str, raw: Any, units_allowed: bool) -> tuple[int, str | None]:
    """A whole count with an optional K/M/B/T suffix (and unit), as an int and its unit."""
    if is_int(raw):
        amount, unit = raw, None
    else:
        match = AMOUNT.fullmatch(raw) if isinstance(raw, str) else None
        if match is None or (match[3] and not units_allowed):
            what = "a count like 250B, 60Msp or 2e9tok" if units_allowed else "a whole number of samples"
            raise ConfigError(f"{path} must be {what}, got {raw!r}")
        value = Decimal(match[1]) * SCALES[match[2].upper()]  # exact: "2.01K" is 2010
        if value > MAX_COUNT:
            raise ConfigError(f"{path} must be from 0 to 2**53, got {raw!r}")
        if value != value.to_integral_value():
            raise ConfigError(f"{path} must be a whole number, got {raw!r}")
        amount, unit = int(value), match[3]
    if not 0 <= amount <= MAX_COUNT:
        raise ConfigError(f"{path} must be from 0 to 2**53, got {raw!r}")
    return amount, unit


def _pairs(path: str, raw: Any) -> list[tuple[str, Any, Any]]:
    if isinstance(raw, str):
        entries = raw.replace(",", " ").split()
        if not all(entry.count(":") == 1 for entry in entries):
            raise ConfigError(f"{path} must be {FORMS}: each entry THRESHOLD:BATCH_SIZE, got {raw!r}")
        return [(f"{path}[{i}]", *entry.split(":", 1)) for i, entry in enumerate(entries)]  # type: ignore[misc]
    if isinstance(raw, (list, tuple)) and all(isinstance(p, (list, tuple)) and len(p) == 2 for p in raw):
        return [(f"{path}[{i}]", *pair) for i, pair in enumerate(raw)]
    raise ConfigError(f"{path} must be {FORMS}, got {raw!r}")


def _position(path: str, amount: int, unit: str | None, units: Units) -> int:
    """A threshold in the clock's unit."""
    per_sample = units.tokens_per_sample
    tokens = unit == "tok" or (unit is None and units.clock == "tokens")
    if not tokens:
        return amount if units.clock == "samples" else amount * _needed(path, per_sample)
    if units.clock == "samples":
        return amount // _needed(path, per_sample)  # Megatron's: down to a whole sample
    return amount - amount % per_sample if per_sample else amount


def _needed(path: str, per_sample: int | None) -> int:
    if per_sample is None:
        raise ConfigError(
            f"{path} mixes tokens and samples: set solver.tokens_per_sample (the sequence length)"
        )
    return per_sample


def batch_ramp(path: str, raw: Any, units: Units) -> BatchRamp:
    """The ramp ``raw`` declares, its thresholds in the clock's unit."""
    if units.clock == "step":
        raise ConfigError(
            f"{path}: a batch-size ramp changes what a step consumes, so the schedule must count what "
            "was consumed: set solver.clock: tokens (or samples)"
        )
    entries = []
    for where, threshold, size in _pairs(path, raw):
        amount, unit = _count(f"{where} threshold", threshold, units_allowed=True)
        batch, _ = _count(f"{where} batch size", size, units_allowed=False)
        if batch < 1:
            raise ConfigError(f"{where} batch size must be at least 1, got {size!r}")
        entries.append((_position(f"{where} threshold", amount, unit, units), batch, where))
    if not entries:
        raise ConfigError(f"{path} must have at least one entry, got {raw!r}")
    entries.sort(key=lambda entry: entry[0])
    if entries[0][0] != 0:
        raise ConfigError(f"{path}: the first threshold must be 0 (the run's start), got {entries[0][0]}")
    for (low, _, first), (high, _, second) in itertools.pairwise(entries):
        if low == high:
            raise ConfigError(f"{path}: {first} and {second} have the same threshold ({low} {units.clock})")
    return BatchRamp(tuple(e[0] for e in entries), tuple(e[1] for e in entries))
