"""``lr_lambda`` paths that a config may name but schedreg must refuse, or whose results it must.

Importing this module has no side effect: the tests that need one write their own module.
"""

from __future__ import annotations

import math
import os
import sys
from textwrap import dedent  # noqa: F401  (a standard-library Python function, through a user module)
from typing import Any

exit = sys.exit  # a builtin, reached through a user module
terminate = os._exit


class Schedule:
    """A class: calling it builds an object, it computes no multiplier."""

    def __init__(self, step: int) -> None:
        self.step = step


class Halving:
    """A callable object of a Python class: taken, as a function is."""

    def __call__(self, step: int) -> float:
        return 0.5 ** (step // 10)


halving = Halving()


def _private(step: int) -> float:
    return 1.0


def returns_string(step: int) -> Any:
    return "0.5"


def returns_none(step: int) -> Any:
    return None


def returns_nan(step: int) -> float:
    return math.nan


def returns_negative(step: int) -> float:
    return -0.5


def string_after_start(step: int) -> Any:
    return 1.0 if step == 0 else "0.5"


def raises_system_exit(step: int) -> float:
    raise SystemExit(0)


def raises_key_error(step: int) -> float:
    """Fails at step 3 with an exception no formula raises: still the config's failure."""
    if step >= 3:
        raise KeyError("boom")
    return 1.0


def recurses(step: int) -> float:
    return recurses(step)
