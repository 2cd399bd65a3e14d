"""Checking config values against a torch constructor's signature.

torch's schedulers and optimizers annotate their parameters with strings
(``'int | None'``, ``'list[float]'``, ``"Literal['min', 'max']"``); reading those lets a
wrong type in YAML fail with the key's name instead of deep inside torch.
"""

from __future__ import annotations

import ast
import inspect
import math
from collections.abc import Callable, Mapping
from typing import Any

from schedreg.errors import ConfigError, failures_as_config_errors


def _split_top(text: str, sep: str = "|") -> list[str]:
    """``text`` split at the ``sep`` signs outside brackets."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += (ch == "[") - (ch == "]")
        if ch == sep and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    return [*parts, text[start:].strip()]


def _scalar_tensor(v: Any) -> bool:
    """A one-element floating-point Tensor, which torch's constructors take where they
    annotate a number (an integer dtype would wrap around: an int8 ``2 ** 7`` is -128), and
    no leaf of autograd (the lrs made of it are written in place)."""
    tensor = type(v).__name__ == "Tensor"
    return tensor and v.numel() == 1 and v.dtype.is_floating_point and not v.requires_grad


SCALARS: dict[str, Callable[[Any], bool]] = {
    "None": lambda v: v is None,
    "bool": lambda v: isinstance(v, bool),
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "float": lambda v: (isinstance(v, (int, float)) and not isinstance(v, bool)) or _scalar_tensor(v),
    "str": lambda v: isinstance(v, str),
}
SEQUENCES = ("list", "tuple", "Sequence", "Iterable")


def matches(value: Any, annotation: str) -> bool:
    """Whether ``value`` fits a simple annotation string.

    Reads ``'int | None'``, ``'list[float]'`` and ``"Literal['min', 'max']"``; a type it
    cannot read (``Callable[...]``, a class) accepts anything.

    >>> matches(3, "float | list[float]"), matches("x", "int"), matches("max", "Literal['min', 'max']")
    (True, False, True)
    >>> matches([0.9, 0.99], "tuple[float | Tensor, float | Tensor]"), matches([0.9], "tuple[float, float]")
    (True, False)
    """
    for option in _split_top(annotation):
        head, _, inner = option.partition("[")
        inner = inner[:-1]
        if option in SCALARS:
            fits = SCALARS[option](value)
        elif head == "Literal":
            fits = value in ast.literal_eval(f"[{inner}]")
        elif head in SEQUENCES:
            fits = isinstance(value, (list, tuple)) and _items_match(value, _split_top(inner, ","))
        else:
            fits = True
        if fits:
            return True
    return False


def _items_match(value: list | tuple, items: list[str]) -> bool:
    """``list[X]``/``tuple[X, ...]``: every item fits X; ``tuple[X, Y]``: item by item."""
    if len(items) == 1 or items[1:] == ["..."]:
        return all(matches(v, items[0]) for v in value)
    return len(value) == len(items) and all(matches(v, a) for v, a in zip(value, items, strict=True))


def settable_parameters(cls: type, skip: tuple[str, ...]) -> dict[str, inspect.Parameter]:
    """``cls``'s constructor parameters, less those the caller supplies itself."""
    params = inspect.signature(cls).parameters
    return {n: p for n, p in params.items() if n not in skip and p.kind is not p.VAR_KEYWORD}


def keyword_arguments(
    owner: str,
    params: Mapping[str, inspect.Parameter],
    given: Mapping[str, Any],
    derived: Mapping[str, Any],
    path: str,
    hints: Mapping[str, str],
) -> dict[str, Any]:
    """The keyword arguments for ``owner``'s ``params``: ``given`` (the user's ``path``
    node) over ``derived`` ones, with unknown names, missing required ones and wrong types
    refused.

    ``hints`` names, per parameter, the solver key a missing required one could come from.
    """
    for name in given:
        if name not in params:
            raise ConfigError(f"unknown argument {path}.{name} for {owner}; allowed: {', '.join(params)}")
    args = {**{k: v for k, v in derived.items() if k in params}, **given}
    for name, param in params.items():
        if name not in args and param.default is inspect.Parameter.empty:
            hint = f" (or set {hints[name]})" if name in hints else ""
            raise ConfigError(f"{path}.{name} is required by {owner}{hint}")
        annotation = param.annotation
        if isinstance(annotation, type):  # some classes annotate with real types, not strings
            annotation = annotation.__name__
        if name in args and isinstance(annotation, str) and not matches(args[name], annotation):
            raise ConfigError(f"{path}.{name} must be {annotation}, got {args[name]!r}")
        if name in given and not all_finite(given[name]):
            raise ConfigError(
                f"{path}.{name} must be finite (no NaN or infinity, no integer past 2**53), "
                f"got {given[name]!r}"
            )
    return args


def all_finite(value: Any) -> bool:
    """Whether every number in ``value`` (a number, a one-element Tensor, or a list of them)
    is finite: no peer's argument means anything with NaN or infinity in it, and torch,
    timm and transformers accept them, to write NaN or 0 or never move the lr.

    >>> all_finite([1, 2.5]), all_finite(float("nan")), all_finite({"a": [float("inf")]})
    (True, False, False)
    """
    if isinstance(value, (bool, str)):
        return True
    if isinstance(value, (int, float)):
        return math.isfinite(value) if isinstance(value, float) else abs(value) <= 2**53
    if _scalar_tensor(value):
        return math.isfinite(float(value))
    if isinstance(value, Mapping):
        return all(all_finite(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return all(all_finite(v) for v in value)
    return True


def construct(cls: type, path: str, given: Mapping[str, Any], /, **kwargs: Any) -> Any:
    """``cls(**kwargs)``, with torch's own refusal of a value turned into a ConfigError."""
    with failures_as_config_errors(f"{path}: {cls.__name__} rejected {dict(given)}"):
        return cls(**kwargs)  # torch calls an lr_lambda here: it may raise anything
