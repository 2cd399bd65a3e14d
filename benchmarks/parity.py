"""What the parity studies share: comparing two lr tables and reporting the worst difference."""

from __future__ import annotations

import json
from typing import Any


def compare(name: str, kwargs: dict[str, Any], ours: list[list[float]], theirs: list[list[float]]) -> float:
    """The largest relative difference between two tables of lrs (step x group), printed."""
    pairs = [(a, b) for ra, rb in zip(ours, theirs, strict=True) for a, b in zip(ra, rb, strict=True)]
    diff = max(abs(a - b) / max(abs(b), 1e-300) for a, b in pairs)
    identical = "  (bit-identical)" if all(a == b for a, b in pairs) else ""
    print(f"{name:<22} {json.dumps(kwargs):<100} max rel diff {diff:.3g}{identical}")
    return diff


def finish(worst: dict[str, float], what: str, json_path: str | None) -> dict[str, float]:
    """Print the worst case over ``what`` and write every case's worst to ``json_path``."""
    print(f"worst over {what}: {max(worst.values()):.3g}")
    if json_path:
        with open(json_path, "w") as f:
            json.dump(worst, f, indent=2)
    return worst
