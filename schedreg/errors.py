"""The one exception type users see for a bad config, and the "did you mean" in its messages."""

from __future__ import annotations

import contextlib
import difflib
from collections.abc import Iterator


class ConfigError(ValueError):
    """A config value is invalid.

    The message always names the key path as the user wrote it (``solver.steps``
    or ``SOLVER.STEPS``), the offending value, and what is allowed.
    """


class ConfigTypeError(ConfigError, TypeError):
    """A config value is of the wrong kind (a number where a function is wanted): a
    :class:`ConfigError`, and the ``TypeError`` torch raises for the same mistake."""


@contextlib.contextmanager
def failures_as_config_errors(where: str) -> Iterator[None]:
    """Run a block that calls what a config named (a schedule, an ``lr_lambda``, torch's
    constructor on the config's values): any exception it raises but an interrupt becomes
    a ConfigError starting with ``where`` -- ``SystemExit`` too, since a config must not end
    the process; a ``TypeError`` becomes a :class:`ConfigTypeError`, which code catching
    torch's ``TypeError`` still catches."""
    try:
        yield
    except (Exception, SystemExit) as exc:
        raise config_error(where, exc)  # noqa: B904 (its cause is set)


def config_error(where: str, exc: BaseException) -> ConfigError:
    """``exc``, raised by what a config named, as the ConfigError
    :func:`failures_as_config_errors` raises (a ConfigError as it is; another with ``exc`` as
    its cause). For code run every step, which pays for the message only when it fails:
    ``except (Exception, SystemExit) as exc: raise config_error(f"...", exc)``."""
    if isinstance(exc, ConfigError):
        return exc
    error = (ConfigTypeError if isinstance(exc, TypeError) else ConfigError)(f"{where}: {exc!r}")
    error.__cause__ = exc
    return error


def suggest(name: str, names: list[str], n: int = 3) -> list[str]:
    """Registered names close to ``name``: case-insensitive substring matches first."""
    lowered = name.lower()
    score = {c: difflib.SequenceMatcher(None, lowered, c.lower()).ratio() for c in names}
    contains = sorted((c for c in names if lowered in c.lower()), key=score.__getitem__, reverse=True)
    close = [c for c in sorted(names, key=score.__getitem__, reverse=True) if score[c] >= 0.6]
    return list(dict.fromkeys(contains + close))[:n]
