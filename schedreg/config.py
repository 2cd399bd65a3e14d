"""Reading a solver config: find the node, normalise key case, fill defaults, validate.

Accepted inputs are an OmegaConf ``DictConfig``, a nested ``dict``, or any object with
attributes (a detectron2/yacs ``CfgNode``, a ``SimpleNamespace``). The solver node is
``cfg.SOLVER`` (detectron2's upper-case keys), ``cfg.solver`` (the same names in lower
case), or ``cfg`` itself. Every problem is a :class:`~schedreg.errors.ConfigError` that
names the key as the user spelled it.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from schedreg.errors import ConfigError
from schedreg.registry import suggest
from schedreg.warmup import WARMUP_METHODS

DETECTRON2_OTHER_KEYS = (
    "momentum",
    "nesterov",
    "weight_decay",
    "weight_decay_norm",
    "weight_decay_bias",
    "bias_lr_factor",
    "checkpoint_period",
    "ims_per_batch",
    "reference_world_size",
    "clip_gradients",
    "amp",
)
"""detectron2 SOLVER keys that do not shape the lr schedule; accepted and kept as-is."""


@dataclass(frozen=True)
class SolverConfig:
    """A validated solver node. Defaults are detectron2's ``_C.SOLVER`` defaults, except
    ``warmup_iters``: 0 here, 1000 for detectron2's own schedules (a 1000-iteration warmup
    on an epoch-stepped torch scheduler is a trap)."""

    lr_scheduler_name: str = "WarmupMultiStepLR"
    base_lr: float = 0.001
    base_lr_end: float = 0.0
    max_iter: int = 40000
    steps: tuple[int, ...] = (30000,)
    gamma: float = 0.1
    num_decays: int = 3
    warmup_factor: float = 0.001
    warmup_iters: int = 0
    warmup_method: str = "linear"
    rescale_interval: bool = False
    poly_lr_power: float = 0.9
    poly_lr_constant_ending: float = 0.0
    args: Mapping[str, Any] = field(default_factory=dict)
    other: Mapping[str, Any] = field(default_factory=dict)
    explicit: frozenset[str] = frozenset()
    prefix: str = "solver"
    upper: bool = False
    spelled: Mapping[str, str] = field(default_factory=dict)

    def path(self, key: str) -> str:
        """``key``'s full path as the user wrote it: ``solver.steps``, ``SOLVER.STEPS`` or
        ``solver.warmup.method``."""
        return f"{self.prefix}.{self.spelled.get(key) or (key.upper() if self.upper else key)}"

    def with_defaults(self, defaults: Mapping[str, Any]) -> SolverConfig:
        """A copy where ``defaults`` replace the values of keys the user did not set."""
        unset = {k: v for k, v in defaults.items() if k not in self.explicit}
        return dataclasses.replace(self, **unset) if unset else self


SCHEDULE_KEYS = tuple(
    f.name
    for f in dataclasses.fields(SolverConfig)
    if f.name not in ("other", "explicit", "prefix", "upper", "spelled")
)
WARMUP_NODE_KEYS = ("method", "factor", "iters")
"""Keys of the nested spelling ``warmup: {method, factor, iters}`` of the ``warmup_*`` keys."""


def _flatten_warmup(
    items: Mapping[str, Any], path: Callable[[str], str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """``items`` with a nested ``warmup`` node spread into ``warmup_*`` keys, and how each was spelled."""
    flat = {k: v for k, v in items.items() if str(k).lower() != "warmup"}
    node = next((v for k, v in items.items() if str(k).lower() == "warmup"), None)
    if node is None:
        return flat, {}
    if not isinstance(node, Mapping):
        raise ConfigError(
            f"{path('warmup')} must be a mapping with keys {', '.join(WARMUP_NODE_KEYS)}, got {node!r}"
        )
    spelled = {}
    for sub, value in node.items():
        if sub not in WARMUP_NODE_KEYS:
            hint = suggest(str(sub), list(WARMUP_NODE_KEYS), n=1)
            did_you_mean = f"; did you mean {path('warmup')}.{hint[0]}?" if hint else ""
            raise ConfigError(
                f"unknown key {path('warmup')}.{sub}{did_you_mean} (allowed: {', '.join(WARMUP_NODE_KEYS)})"
            )
        key = f"warmup_{sub}"
        if any(str(k).lower() == key for k in flat):
            raise ConfigError(f"{path('warmup')}.{sub} and {path(key)} both set the same thing; keep one")
        flat[key], spelled[key] = value, f"warmup.{sub}"
    return flat, spelled


def _plain(value: Any) -> Any:
    """``value`` as plain dicts, lists and scalars (resolving OmegaConf interpolations)."""
    if type(value).__module__.startswith("omegaconf"):
        from omegaconf import OmegaConf

        return OmegaConf.to_container(value, resolve=True)
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "__dict__") and not callable(value):
        return {k: _plain(v) for k, v in vars(value).items() if not k.startswith("_")}
    return value


def _lookup(node: Any, key: str) -> Any:
    if isinstance(node, Mapping) or type(node).__module__.startswith("omegaconf"):
        return node.get(key)
    return getattr(node, key, None)


def find_solver(cfg: Any) -> tuple[Any, str]:
    """The solver node in ``cfg`` and its path: ``cfg.SOLVER``, ``cfg.solver`` or ``cfg``."""
    for key in ("SOLVER", "solver"):
        node = _lookup(cfg, key)
        if node is not None:
            return node, key
    return cfg, "solver"


# --- value checks: each returns the normalised value or raises ConfigError -----------


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _number(
    path: str, v: Any, *, low: float = -math.inf, high: float = math.inf, low_open: bool = False
) -> float:
    if not (_is_int(v) or isinstance(v, float)) or not math.isfinite(v):
        raise ConfigError(f"{path} must be a finite number, got {v!r}")
    if v < low or v > high or (low_open and v == low):
        bound = f"{'(' if low_open else '['}{low}, {high}]"
        raise ConfigError(f"{path} must be in {bound}, got {v!r}")
    return float(v)


def _integer(path: str, v: Any, *, low: int) -> int:
    if not _is_int(v) or v < low:
        raise ConfigError(f"{path} must be an integer >= {low}, got {v!r}")
    return int(v)


def _checks(path: Callable[[str], str]) -> dict[str, Callable[[Any], Any]]:
    def steps(v: Any) -> tuple[int, ...]:
        if isinstance(v, (str, bytes)) or not isinstance(v, Sequence):
            raise ConfigError(f"{path('steps')} must be a list of iteration numbers, got {v!r}")
        out = tuple(_integer(f"{path('steps')}[{i}]", s, low=1) for i, s in enumerate(v))
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
        def check(v: Any) -> bool:
            if not isinstance(v, bool):
                raise ConfigError(f"{path(key)} must be true or false, got {v!r}")
            return v

        return check

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
            return dict(v)

        return check

    return {
        "lr_scheduler_name": string("lr_scheduler_name"),
        "base_lr": lambda v: _number(path("base_lr"), v, low=0.0, low_open=True),
        "base_lr_end": lambda v: _number(path("base_lr_end"), v, low=0.0),
        "max_iter": lambda v: _integer(path("max_iter"), v, low=1),
        "steps": steps,
        "gamma": lambda v: _number(path("gamma"), v, low=0.0, low_open=True),
        "num_decays": lambda v: _integer(path("num_decays"), v, low=1),
        "warmup_factor": lambda v: _number(path("warmup_factor"), v, low=0.0, high=1.0),
        "warmup_iters": lambda v: _integer(path("warmup_iters"), v, low=0),
        "warmup_method": choice("warmup_method", WARMUP_METHODS),
        "rescale_interval": boolean("rescale_interval"),
        "poly_lr_power": lambda v: _number(path("poly_lr_power"), v, low=0.0),
        "poly_lr_constant_ending": lambda v: _number(path("poly_lr_constant_ending"), v, low=0.0, high=1.0),
        "args": mapping("args"),
    }


def solver_config(
    cfg: Any, *, prefix: str | None = None, inherit: SolverConfig | None = None
) -> SolverConfig:
    """Normalise and validate the solver node of ``cfg``.

    Args:
        cfg: a config holding ``SOLVER``/``solver``, or the solver node itself.
        prefix: the node's path for messages (default: where it was found).
        inherit: values for keys the node does not set (used for nested schedulers).
    """
    if isinstance(cfg, SolverConfig):
        return cfg
    node, found = find_solver(cfg)
    items = _plain(node)
    if not isinstance(items, Mapping):
        raise ConfigError(f"{prefix or found} must be a mapping of solver keys, got {items!r}")
    upper = any(isinstance(k, str) and k.isupper() for k in items)
    base = inherit or SolverConfig()
    probe = dataclasses.replace(base, prefix=prefix or found, upper=upper, spelled={})
    items, spelled = _flatten_warmup(items, probe.path)
    probe = dataclasses.replace(probe, spelled=spelled)
    checks = _checks(probe.path)

    values: dict[str, Any] = {}
    other: dict[str, Any] = {}
    for raw_key, value in items.items():
        key = str(raw_key).lower()
        if key in values or key in other:
            raise ConfigError(f"{probe.prefix}.{raw_key} repeats {key!r} (keys are case-insensitive)")
        if key in checks:
            values[key] = checks[key](value)
        elif key in DETECTRON2_OTHER_KEYS or upper:
            # yacs already checked a detectron2 CfgNode's keys against its project's defaults.
            other[key] = value
        else:
            hint = suggest(key, list(SCHEDULE_KEYS) + list(DETECTRON2_OTHER_KEYS), n=1)
            did_you_mean = f"; did you mean {probe.path(hint[0])!r}?" if hint else ""
            raise ConfigError(
                f"unknown key {probe.path(key)!r}{did_you_mean} (allowed: {', '.join(SCHEDULE_KEYS)})"
            )
    return dataclasses.replace(
        probe, **values, other={**base.other, **other}, explicit=base.explicit | frozenset(values)
    )


def validate_warmup(solver: SolverConfig) -> None:
    """Warmup must end before training does; the exponential shape needs a factor > 0."""
    if solver.warmup_method == "none" or solver.warmup_iters == 0:
        return
    if solver.warmup_iters >= solver.max_iter:
        raise ConfigError(
            f"{solver.path('warmup_iters')} must be smaller than {solver.path('max_iter')} "
            f"({solver.max_iter}), got {solver.warmup_iters}"
        )
    if solver.warmup_method == "exponential" and solver.warmup_factor == 0:
        raise ConfigError(
            f"{solver.path('warmup_factor')} must be > 0 when {solver.path('warmup_method')} "
            "is exponential, got 0"
        )
