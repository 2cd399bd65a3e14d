"""Value checks for config keys: each returns the normalised value or raises a
:class:`~schedreg.errors.ConfigError` that names the key, the value and what is allowed."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from schedreg.config.solver import CLIP_DEFAULTS
from schedreg.config.units import CLOCKS, INTERVALS
from schedreg.errors import ConfigError
from schedreg.schedules.cooldown import SHAPES as COOLDOWN_SHAPES
from schedreg.schedules.cooldown import Branch
from schedreg.schedules.ramp import RESCALES
from schedreg.schedules.warmup import WARMUP_METHODS


def is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def finite(v: float) -> bool:
    try:
        return math.isfinite(v)
    except OverflowError:  # an int too large for a float
        return False


def number(
    path: str, v: Any, *, low: float = -math.inf, high: float = math.inf, low_open: bool = False
) -> float:
    if not (is_int(v) or isinstance(v, float)) or not finite(v):
        raise ConfigError(f"{path} must be a finite number, got {v!r}")
    if v < low or v > high or (low_open and v == low):
        bound = f"{'(' if low_open else '['}{low}, {high}]"
        raise ConfigError(f"{path} must be in {bound}, got {v!r}")
    return float(v)


MAX_COUNT = 2**53
"""The largest step or count a config may give: beyond it, floats cannot count one by one."""


def integer(path: str, v: Any, *, low: int) -> int:
    if not is_int(v) or v < low:
        raise ConfigError(f"{path} must be an integer >= {low}, got {v!r}")
    if v > MAX_COUNT:
        raise ConfigError(f"{path} must be at most 2**53 ({MAX_COUNT}), got {v!r}")
    return int(v)


def value_checks(path: Callable[[str], str]) -> dict[str, Callable[[Any], Any]]:
    def steps(v: Any) -> tuple[int, ...]:
        if isinstance(v, (str, bytes)) or not isinstance(v, Sequence):
            raise ConfigError(f"{path('steps')} must be a list of iteration numbers, got {v!r}")
        out = tuple(integer(f"{path('steps')}[{i}]", s, low=1) for i, s in enumerate(v))
        if any(a >= b for a, b in itertools.pairwise(out)):
            raise ConfigError(f"{path('steps')} must be increasing, got {list(out)}")
        return out

    def choice(key: str, allowed: Sequence[str]) -> Callable[[Any], str]:
        def check(v: Any) -> str:
            if v not in allowed:
                raise ConfigError(f"{path(key)} must be one of {', '.join(allowed)}; got {v!r}")
            return v

        return check

    def boolean(key: str) -> Callable[[Any], bool]:
        return lambda v: flag(path(key), v)

    def string(key: str) -> Callable[[Any], str]:
        def check(v: Any) -> str:
            if not isinstance(v, str) or not v:
                raise ConfigError(f"{path(key)} must be a non-empty string, got {v!r}")
            return v

        return check

    def mapping(key: str) -> Callable[[Any], Mapping[str, Any]]:
        def check(v: Any) -> Mapping[str, Any]:
            if v is None:
                return {}
            if not isinstance(v, Mapping):
                raise ConfigError(f"{path(key)} must be a mapping of argument names to values, got {v!r}")
            return {name: value for name, value in v.items() if value is not None}  # null: not given

        return check

    return {
        "lr_scheduler_name": string("lr_scheduler_name"),
        "base_lr": lambda v: number(path("base_lr"), v, low=0.0, low_open=True),
        "base_lr_end": lambda v: number(path("base_lr_end"), v, low=0.0),
        "max_iter": lambda v: integer(path("max_iter"), v, low=1),
        "steps": steps,
        "gamma": lambda v: number(path("gamma"), v, low=0.0, low_open=True),
        "num_decays": lambda v: integer(path("num_decays"), v, low=1),
        "warmup_factor": lambda v: number(path("warmup_factor"), v, low=0.0, high=1.0),
        "warmup_iters": lambda v: integer(path("warmup_iters"), v, low=0),
        "warmup_method": choice("warmup_method", WARMUP_METHODS),
        "rescale_interval": boolean("rescale_interval"),
        "poly_lr_power": lambda v: number(path("poly_lr_power"), v, low=0.0),
        "poly_lr_constant_ending": lambda v: number(path("poly_lr_constant_ending"), v, low=0.0, high=1.0),
        "args": mapping("args"),
        "optimizer": string("optimizer"),
        "optimizer_args": mapping("optimizer_args"),
        "momentum": lambda v: number(path("momentum"), v, low=0.0),
        "nesterov": boolean("nesterov"),
        "weight_decay": lambda v: number(path("weight_decay"), v, low=0.0),
        "weight_decay_norm": lambda v: None if v is None else number(path("weight_decay_norm"), v, low=0.0),
        "weight_decay_bias": lambda v: None if v is None else number(path("weight_decay_bias"), v, low=0.0),
        "bias_lr_factor": lambda v: number(path("bias_lr_factor"), v, low=0.0, low_open=True),
        "clip_gradients": lambda v: clip_gradients(path("clip_gradients"), v),
        "lr_as_tensor": boolean("lr_as_tensor"),
        "on_resume_change": choice("on_resume_change", ("error", "reschedule", "override", "use_checkpoint")),
        "cooldown": lambda v: cooldown_node(path("cooldown"), v),
        "advance_on": choice("advance_on", ("step", "update")),
        "ims_per_batch": lambda v: integer(path("ims_per_batch"), v, low=1),
        "reference_world_size": lambda v: integer(path("reference_world_size"), v, low=0),
        "checkpoint_period": lambda v: integer(path("checkpoint_period"), v, low=1),
        "interval": choice("interval", INTERVALS),
        "iters_per_epoch": lambda v: None if v is None else integer(path("iters_per_epoch"), v, low=1),
        "tokens_per_step": lambda v: None if v is None else integer(path("tokens_per_step"), v, low=1),
        "samples_per_step": lambda v: None if v is None else integer(path("samples_per_step"), v, low=1),
        "clock": choice("clock", CLOCKS),
        "tokens_per_sample": lambda v: None if v is None else integer(path("tokens_per_sample"), v, low=1),
        "batch_size_schedule": lambda v: v,  # read with the durations (its thresholds are on the clock)
        "batch_size_rescale": choice("batch_size_rescale", RESCALES),
    }


def clip_gradients(path: str, v: Any) -> dict[str, Any]:
    """detectron2's ``CLIP_GRADIENTS`` node (any key case), checked, on its defaults."""
    if not isinstance(v, Mapping):
        raise ConfigError(f"{path} must be a mapping with keys {', '.join(CLIP_DEFAULTS)}, got {v!r}")
    out = dict(CLIP_DEFAULTS)
    for raw, value in v.items():
        key = str(raw).lower()
        if key not in CLIP_DEFAULTS:
            raise ConfigError(f"unknown key {path}.{raw} (allowed: {', '.join(CLIP_DEFAULTS)})")
        out[key] = value
    flag(f"{path}.enabled", out["enabled"])
    if out["clip_type"] not in ("value", "norm"):
        raise ConfigError(f"{path}.clip_type must be one of value, norm; got {out['clip_type']!r}")
    out["clip_value"] = number(f"{path}.clip_value", out["clip_value"], low=0.0, low_open=True)
    out["norm_type"] = number(f"{path}.norm_type", out["norm_type"], low=0.0, low_open=True)
    return out


def names(path: str, v: Any) -> tuple[str, ...]:
    """A string or a list of strings, as a tuple."""
    items = [v] if isinstance(v, str) else v
    if not isinstance(items, (list, tuple)) or not all(isinstance(x, str) and x for x in items):
        raise ConfigError(f"{path} must be a string or a list of strings, got {v!r}")
    return tuple(items)


def flag(path: str, v: Any) -> bool:
    if not isinstance(v, bool):
        raise ConfigError(f"{path} must be true or false, got {v!r}")
    return v


def optional_number(path: str, v: Any, low_open: bool = True) -> float | None:
    return None if v is None else number(path, v, low=0.0, low_open=low_open)


COOLDOWN_KEYS = ("start", "length", "shape", "to", "to_lr")


def cooldown_node(path: str, v: Any) -> dict[str, Any] | None:
    """``solver.cooldown`` as given (its durations are resolved with the others): None, or a
    mapping of :data:`COOLDOWN_KEYS` whose ``start`` is set (unset: no cooldown)."""
    if v is None:
        return None
    if not isinstance(v, Mapping):
        raise ConfigError(f"{path} must be a mapping with keys {', '.join(COOLDOWN_KEYS)}, got {v!r}")
    node = {str(k): x for k, x in v.items() if x is not None}
    unknown = sorted(set(node) - set(COOLDOWN_KEYS))
    if unknown:
        raise ConfigError(f"unknown key {path}.{unknown[0]} (allowed: {', '.join(COOLDOWN_KEYS)})")
    if "start" not in node:
        if set(node) - {"shape", "to"}:
            raise ConfigError(f"{path}.start is not set: the cooldown's other keys would be ignored")
        return None
    return node


def cooldown_branch(path: str, node: Mapping[str, Any], start: Any, length: Any) -> Branch:
    """The cooldown ``node`` describes, its ``start`` and ``length`` already in steps."""
    shape = node.get("shape", "linear")
    if shape not in COOLDOWN_SHAPES:
        raise ConfigError(f"{path}.shape must be one of {', '.join(COOLDOWN_SHAPES)}; got {shape!r}")
    if "to" in node and "to_lr" in node:
        raise ConfigError(f"{path}: set to (a fraction of the lr at start) or to_lr (an lr), not both")
    if "length" not in node:
        raise ConfigError(f"{path}.length is required: how many steps the cooldown takes")
    return Branch(
        start=integer(f"{path}.start", start, low=0),
        length=integer(f"{path}.length", length, low=1),
        shape=shape,
        to=number(f"{path}.to", node.get("to", 0.0), low=0.0, high=1.0),
        to_lr=None if "to_lr" not in node else number(f"{path}.to_lr", node["to_lr"], low=0.0),
    )
