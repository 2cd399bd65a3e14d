"""A peer's scheduler config, read as a solver node."""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class PeerNode:
    """A peer's scheduler config as a solver node.

    Attributes:
        node: the solver node, in schedreg's keys.
        path: where the peer's node is (``scheduler``), for messages.
        spelled: schedreg key -> the peer's key it came from (``args`` -> ``params``).
        peer: the library.
    """

    node: dict[str, Any]
    path: str
    spelled: Mapping[str, str] = field(default_factory=dict)
    peer: str = ""


def whole_number(v: Any) -> bool:
    """An integer (a numpy one too), not a bool."""
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)
