"""composer's time strings (``"100ba"``, ``"2ep"``, ``"0.1dur"``, ``"3e4tok"``, ``"1000sp"``),
read as composer's ``Time.from_timestring`` reads them."""

from __future__ import annotations

import re
from typing import Any

from schedreg.config.checks import MAX_COUNT
from schedreg.errors import ConfigError

TIME_STRING = re.compile(r"^(.+)(iter|ep|ba|sp|tok|dur|sec)$", re.IGNORECASE)
TIME_FORMS = "a composer time string like '100ba', '2ep', '0.1dur', '3e4tok' or '1000sp'"


def parse_time(path: str, value: Any) -> tuple[float, str]:
    """A composer time string as (value, unit), checked as composer's ``Time`` does; wall
    clock times and composer's outer ``iter`` loop are refused (no scheduler uses them).

    >>> parse_time("t", "3e4tok"), parse_time("t", "0.1DUR")
    ((30000, 'tok'), (0.1, 'dur'))
    """
    match = TIME_STRING.match(value) if isinstance(value, str) else None
    if match is None:
        raise ConfigError(f"{path} must be {TIME_FORMS}, got {value!r}")
    try:
        number = float(match[1])
    except ValueError:
        raise ConfigError(f"{path} must be {TIME_FORMS}, got {value!r}") from None
    unit = match[2].lower()
    if unit in ("sec", "iter"):
        what = "wall-clock time" if unit == "sec" else "composer's outer iterations"
        raise ConfigError(
            f"{path}={value!r} is in {what}, which a scheduler does not take; use ba, ep, sp, tok or dur"
        )
    if not 0 <= number <= MAX_COUNT:
        raise ConfigError(f"{path} must be a finite duration >= 0, got {value!r}")
    if unit != "dur":
        if number != int(number):
            raise ConfigError(f"{path}={value!r}: {unit} takes a whole number (composer refuses a fraction)")
        return int(number), unit
    return number, unit
