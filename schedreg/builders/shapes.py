"""schedreg's own schedule: a curve through points, for the lr or any other group key."""

from __future__ import annotations

import itertools
import math
from typing import Any

from schedreg.config.solver import SolverConfig
from schedreg.errors import ConfigError
from schedreg.registry import register_scheduler
from schedreg.schedules.core import Schedule
from schedreg.schedules.piecewise import Interpolated

SHAPES = ("linear", "cosine", "exponential")


def _points(path: str, raw: Any, shape: str) -> tuple[tuple[int, float], ...]:
    pairs = raw if isinstance(raw, (list, tuple)) else None
    if not pairs or not all(isinstance(p, (list, tuple)) and len(p) == 2 for p in pairs):
        raise ConfigError(f"{path} must be a non-empty list of [step, multiplier] pairs, got {raw!r}")
    points = []
    for i, (step, value) in enumerate(pairs):
        if not isinstance(step, int) or isinstance(step, bool) or step < 0:
            raise ConfigError(f"{path}[{i}] step must be an integer >= 0, got {step!r}")
        low = 0.0 if shape != "exponential" else math.ulp(0)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value < math.inf:
            raise ConfigError(f"{path}[{i}] multiplier must be a finite number >= {low}, got {value!r}")
        points.append((step, float(value)))
    if any(a[0] >= b[0] for a, b in itertools.pairwise(points)):
        raise ConfigError(f"{path} steps must be increasing, got {[p[0] for p in points]}")
    if shape == "exponential" and not all(b[1] / a[1] < math.inf for a, b in itertools.pairwise(points)):
        raise ConfigError(f"{path}: an exponential segment's ratio of multipliers overflows, got {raw!r}")
    return tuple(points)


@register_scheduler("Interpolate")
def interpolate_points(solver: SolverConfig) -> Schedule:
    """Through ``args.points`` ([step, multiplier] pairs), segments shaped by ``args.shape``.

    Flat before the first point and after the last. A one-cycle momentum, a cosine rise
    of weight decay, a hand-drawn lr: ``shape`` is ``linear`` (default), ``cosine`` or
    ``exponential``.
    """
    path = solver.path("args")
    unknown = set(solver.args) - {"points", "shape"}
    if unknown:
        raise ConfigError(
            f"unknown argument {path}.{sorted(unknown)[0]} for Interpolate; allowed: points, shape"
        )
    shape = solver.args.get("shape", "linear")
    if shape not in SHAPES:
        raise ConfigError(f"{path}.shape must be one of {', '.join(SHAPES)}; got {shape!r}")
    return Interpolated(_points(f"{path}.points", solver.args.get("points"), shape), shape)
