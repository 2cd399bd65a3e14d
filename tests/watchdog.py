"""The property tests' guard against a hang: an example that runs past ``HANG_S`` fails."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from typing import Any

HANG_S = 5
"""One example (build and run) longer than this is a hang."""


class Hang(Exception):
    """An example ran past HANG_S."""


@contextlib.contextmanager
def watchdog(seconds: int = HANG_S) -> Iterator[None]:
    """Raise Hang in the test if the block runs longer than ``seconds`` (SIGALRM, main thread)."""

    def alarm(signum: int, frame: Any) -> None:
        raise Hang(f"no result after {seconds} s: a hang")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
