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
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from schedreg.config.units import INTERVALS, Units, arguments
from schedreg.errors import ConfigError, suggest
from schedreg.schedules.warmup import WARMUP_METHODS

DETECTRON2_OTHER_KEYS = ("amp",)
"""detectron2 SOLVER keys schedreg does not use; accepted and kept as-is."""

CLIP_DEFAULTS: dict[str, Any] = {"enabled": False, "clip_type": "value", "clip_value": 1.0, "norm_type": 2.0}
"""detectron2's ``SOLVER.CLIP_GRADIENTS`` defaults."""


@dataclass(frozen=True)
class GroupRule:
    """One entry of ``solver.param_groups``: which parameters, and what they override.

    A parameter joins the first rule it matches: every pattern in ``params`` (a glob over
    the full parameter name, or ``re:`` and a regex searched in it) and every class name in
    ``module_types`` of its module (``norm`` stands for every normalisation layer) must
    allow it; an empty list allows all.
    """

    name: str
    path: str
    params: tuple[str, ...] = ()
    module_types: tuple[str, ...] = ()
    lr_factor: float | None = None
    lr: float | None = None
    weight_decay: float | None = None
    optional: bool = False
    schedule: SolverConfig | None = None


def key(default: Any, doc: str, *, factory: Callable[[], Any] | None = None) -> Any:
    """A solver key's field: its default and its one-line doc (the README table's)."""
    if factory is not None:
        return field(default_factory=factory, metadata={"doc": doc})
    return field(default=default, metadata={"doc": doc})


@dataclass(frozen=True)
class SolverConfig:
    """A validated solver node: the one declaration of the solver keys, their types,
    defaults and docs. Python validation reads it, Hydra's schema
    (:mod:`schedreg.config.schema`) and the README's table are made from it.

    Defaults are detectron2's ``_C.SOLVER`` defaults. A key in :data:`UNSET_BY_DEFAULT`
    left out (or ``null``) is unset: the chosen scheduler's default replaces the value here
    (detectron2's schedules warm up for 1000 iterations, transformers' from 0), and it
    fills no torch or timm argument."""

    lr_scheduler_name: str = key("WarmupMultiStepLR", "the registered schedule to build")
    base_lr: float = key(0.001, "the optimizer's lr (each group's base lr)")
    base_lr_end: float = key(0.0, "where a cosine ends; torch's eta_min, timm's lr_min")
    max_iter: int = key(40000, "the run's length in steps; torch's T_max/total_iters, timm's t_initial")
    steps: tuple[int, ...] = key((30000,), "milestones, in steps; torch's milestones, timm's decay_t")
    gamma: float = key(0.1, "the factor per milestone; torch's gamma, timm's decay_rate")
    num_decays: int = key(3, "WarmupStepWithFixedGammaLR's number of decays")
    warmup_factor: float = key(0.001, "where warmup starts, times the lr (solver.warmup.factor)")
    warmup_iters: int = key(0, "warmup's length in steps (1000 for detectron2's schedules)")
    warmup_method: str = key("linear", "warmup's shape: none, constant, linear, exponential, cosine")
    rescale_interval: bool = key(False, "detectron2's: squeeze the main curve into the steps after warmup")
    poly_lr_power: float = key(0.9, "WarmupPolyLR's power")
    poly_lr_constant_ending: float = key(0.0, "WarmupPolyLR's floor")
    args: Mapping[str, Any] = key(None, "the scheduler's own arguments, by its names", factory=dict)
    optimizer: str = key("SGD", "the torch.optim class build_optimizer makes")
    optimizer_args: Mapping[str, Any] = key(None, "the optimizer's other arguments", factory=dict)
    momentum: float = key(0.9, "SGD's momentum")
    nesterov: bool = key(False, "SGD's nesterov")
    weight_decay: float = key(0.0001, "weight decay")
    weight_decay_norm: float | None = key(0.0, "weight decay of norm layers (null: weight_decay)")
    weight_decay_bias: float | None = key(None, "weight decay of biases (null: weight_decay)")
    bias_lr_factor: float = key(1.0, "biases train at base_lr times this")
    clip_gradients: Mapping[str, Any] = key(
        None, "detectron2's gradient clipping node", factory=lambda: dict(CLIP_DEFAULTS)
    )
    param_groups: tuple[GroupRule, ...] = key((), "rules: which parameters get which lr, decay, schedule")
    param_schedules: Mapping[str, SolverConfig] = key(
        None, "schedules of other group keys (momentum, betas[0], weight_decay)", factory=dict
    )
    lr_as_tensor: bool = key(False, "keep each group's lr a Tensor (compiled optimizers)")
    on_resume_change: str = key("error", "a checkpoint of another schedule: error or reschedule")
    ims_per_batch: int = key(16, "detectron2's global batch size")
    reference_world_size: int = key(0, "the world size the schedule was written for (0: off)")
    checkpoint_period: int = key(5000, "detectron2's checkpoint period, in steps")
    interval: str = key("iter", "what plain durations count: iter or epoch")
    iters_per_epoch: int | None = key(None, "iterations per epoch, to convert epochs exactly")
    other: Mapping[str, Any] = field(default_factory=dict)
    explicit: frozenset[str] = frozenset()
    prefix: str = "solver"
    upper: bool = False
    spelled: Mapping[str, str] = field(default_factory=dict)

    def path(self, key: str) -> str:
        """``key``'s full path as the user wrote it: ``solver.steps``, ``SOLVER.STEPS`` or
        ``solver.warmup.method``."""
        return f"{self.prefix}.{self.spelled.get(key) or (key.upper() if self.upper else key)}"

    @property
    def units(self) -> Units:
        """How this node's durations were read (and what one ``scheduler.step()`` is)."""
        return Units(self.interval, self.iters_per_epoch, self.path("interval"), self.path("iters_per_epoch"))

    def with_defaults(self, defaults: Mapping[str, Any]) -> SolverConfig:
        """A copy where ``defaults`` replace the values of keys the user did not set."""
        unset = {k: v for k, v in defaults.items() if k not in self.explicit}
        return dataclasses.replace(self, **unset) if unset else self


SCHEDULE_KEYS = (
    "lr_scheduler_name",
    "base_lr",
    "base_lr_end",
    "max_iter",
    "steps",
    "gamma",
    "num_decays",
    "warmup_factor",
    "warmup_iters",
    "warmup_method",
    "rescale_interval",
    "poly_lr_power",
    "poly_lr_constant_ending",
    "args",
)
"""The keys that shape one schedule: a param-group rule or ``param_schedules`` entry may set them."""
OPTIMIZER_KEYS = (
    "optimizer",
    "optimizer_args",
    "momentum",
    "nesterov",
    "weight_decay",
    "weight_decay_norm",
    "weight_decay_bias",
    "bias_lr_factor",
    "clip_gradients",
    "param_groups",
    "param_schedules",
    "lr_as_tensor",
)
"""The keys that shape the optimizer and its param groups."""
RUN_KEYS = (
    "interval",
    "iters_per_epoch",
    "ims_per_batch",
    "reference_world_size",
    "checkpoint_period",
    "on_resume_change",
)
"""How the run steps the scheduler, and detectron2's keys for the batch and world size the
schedule was written for."""
UNSET_BY_DEFAULT = (
    "max_iter",
    "steps",
    "gamma",
    "base_lr_end",
    "warmup_iters",
    "warmup_method",
    "warmup_factor",
    "interval",
    "iters_per_epoch",
)
"""Keys whose default depends on the scheduler, or that fill another library's arguments
(``steps`` -> torch's ``milestones``) only when set. Left out or ``null``, they are unset on
every route (a dict, a yacs node, Hydra's schema): the chosen scheduler's default applies
(:attr:`Entry.defaults <schedreg.registry.Entry.defaults>`), else :class:`SolverConfig`'s."""
DURATION_KEYS = ("max_iter", "steps", "warmup_iters", "checkpoint_period")
"""Solver keys in scheduler steps, which also take units (:mod:`schedreg.units`)."""
RULE_KEYS = ("name", "params", "module_types", "lr_factor", "lr", "weight_decay", "optional")


def schedule_identity(solver: SolverConfig) -> tuple[Any, ...]:
    """What makes two solver nodes the same schedule."""
    return tuple(repr(getattr(solver, k)) for k in SCHEDULE_KEYS)


def fingerprint(solver: SolverConfig) -> dict[str, str]:
    """The resolved schedule, key by key, as plain strings: saved with a scheduler's state so
    that resuming under a changed schedule is noticed."""
    out = {k: repr(getattr(solver, k)) for k in SCHEDULE_KEYS}
    out["param_groups"] = repr(
        [
            (
                r.name,
                r.params,
                r.module_types,
                r.lr_factor,
                r.lr,
                r.weight_decay,
                r.schedule and schedule_identity(r.schedule),
            )
            for r in solver.param_groups
        ]
    )
    out["param_schedules"] = repr({k: schedule_identity(v) for k, v in solver.param_schedules.items()})
    out["step_unit"] = solver.units.step_unit
    return out


WARMUP_NODE_KEYS = ("method", "factor")
"""Keys of the nested spelling ``warmup: {method, factor}`` of ``warmup_method``/``warmup_factor``
(the length stays the flat ``warmup_iters``)."""


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
        if value is None:
            continue  # unset
        if any(str(k).lower() == key for k in flat):
            raise ConfigError(f"{path('warmup')}.{sub} and {path(key)} both set the same thing; keep one")
        flat[key], spelled[key] = value, f"warmup.{sub}"
    return flat, spelled


def _plain(value: Any) -> Any:
    """``value`` as plain dicts, lists and scalars (resolving OmegaConf interpolations)."""
    if type(value).__module__.startswith("omegaconf"):
        from omegaconf import OmegaConf
        from omegaconf.errors import OmegaConfBaseException

        try:
            return OmegaConf.to_container(value, resolve=True)
        except OmegaConfBaseException as exc:
            raise ConfigError(f"the config could not be resolved: {exc}") from exc
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


def _finite(v: float) -> bool:
    try:
        return math.isfinite(v)
    except OverflowError:  # an int too large for a float
        return False


def _number(
    path: str, v: Any, *, low: float = -math.inf, high: float = math.inf, low_open: bool = False
) -> float:
    if not (_is_int(v) or isinstance(v, float)) or not _finite(v):
        raise ConfigError(f"{path} must be a finite number, got {v!r}")
    if v < low or v > high or (low_open and v == low):
        bound = f"{'(' if low_open else '['}{low}, {high}]"
        raise ConfigError(f"{path} must be in {bound}, got {v!r}")
    return float(v)


MAX_COUNT = 2**53
"""The largest step or count a config may give: beyond it, floats cannot count one by one."""


def _integer(path: str, v: Any, *, low: int) -> int:
    if not _is_int(v) or v < low:
        raise ConfigError(f"{path} must be an integer >= {low}, got {v!r}")
    if v > MAX_COUNT:
        raise ConfigError(f"{path} must be at most 2**53 ({MAX_COUNT}), got {v!r}")
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
        return lambda v: _flag(path(key), v)

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
        "optimizer": string("optimizer"),
        "optimizer_args": mapping("optimizer_args"),
        "momentum": lambda v: _number(path("momentum"), v, low=0.0),
        "nesterov": boolean("nesterov"),
        "weight_decay": lambda v: _number(path("weight_decay"), v, low=0.0),
        "weight_decay_norm": lambda v: None if v is None else _number(path("weight_decay_norm"), v, low=0.0),
        "weight_decay_bias": lambda v: None if v is None else _number(path("weight_decay_bias"), v, low=0.0),
        "bias_lr_factor": lambda v: _number(path("bias_lr_factor"), v, low=0.0, low_open=True),
        "clip_gradients": lambda v: _clip_gradients(path("clip_gradients"), v),
        "lr_as_tensor": boolean("lr_as_tensor"),
        "on_resume_change": choice("on_resume_change", ("error", "reschedule")),
        "ims_per_batch": lambda v: _integer(path("ims_per_batch"), v, low=1),
        "reference_world_size": lambda v: _integer(path("reference_world_size"), v, low=0),
        "checkpoint_period": lambda v: _integer(path("checkpoint_period"), v, low=1),
        "interval": choice("interval", INTERVALS),
        "iters_per_epoch": lambda v: None if v is None else _integer(path("iters_per_epoch"), v, low=1),
    }


def _clip_gradients(path: str, v: Any) -> dict[str, Any]:
    """detectron2's ``CLIP_GRADIENTS`` node (any key case), checked, on its defaults."""
    if not isinstance(v, Mapping):
        raise ConfigError(f"{path} must be a mapping with keys {', '.join(CLIP_DEFAULTS)}, got {v!r}")
    out = dict(CLIP_DEFAULTS)
    for raw, value in v.items():
        key = str(raw).lower()
        if key not in CLIP_DEFAULTS:
            raise ConfigError(f"unknown key {path}.{raw} (allowed: {', '.join(CLIP_DEFAULTS)})")
        out[key] = value
    _flag(f"{path}.enabled", out["enabled"])
    if out["clip_type"] not in ("value", "norm"):
        raise ConfigError(f"{path}.clip_type must be one of value, norm; got {out['clip_type']!r}")
    out["clip_value"] = _number(f"{path}.clip_value", out["clip_value"], low=0.0, low_open=True)
    out["norm_type"] = _number(f"{path}.norm_type", out["norm_type"], low=0.0, low_open=True)
    return out


def _names(path: str, v: Any) -> tuple[str, ...]:
    """A string or a list of strings, as a tuple."""
    items = [v] if isinstance(v, str) else v
    if not isinstance(items, (list, tuple)) or not all(isinstance(x, str) and x for x in items):
        raise ConfigError(f"{path} must be a string or a list of strings, got {v!r}")
    return tuple(items)


def _entries(path: str, v: Any, what: str) -> list[tuple[str, Any]]:
    """(name, node) pairs from a mapping keyed by name or a list of nodes with a ``name``."""
    if isinstance(v, Mapping):
        return [(str(k), node) for k, node in v.items()]
    if isinstance(v, (list, tuple)):
        out = []
        for i, node in enumerate(v):
            if not isinstance(node, Mapping) or not isinstance(node.get("name"), str):
                raise ConfigError(f"{path}[{i}] must be a mapping with a 'name', got {node!r}")
            out.append((node["name"], {k: x for k, x in node.items() if k != "name"}))
        return out
    raise ConfigError(f"{path} must be a mapping of {what} by name (or a list of them), got {v!r}")


def _without_groups(solver: SolverConfig) -> SolverConfig:
    """``solver`` as the parent of a rule or param schedule: no rules or schedules of its own."""
    return dataclasses.replace(solver, param_groups=(), param_schedules={})


def _schedule_part(node: Mapping[str, Any], prefix: str, parent: SolverConfig) -> SolverConfig | None:
    """The solver a rule's schedule keys describe (inheriting ``parent``), or None if it sets none.

    A rule that names another scheduler does not inherit the solver's ``args``.
    """
    keys = {k: v for k, v in node.items() if k in (*SCHEDULE_KEYS, "warmup", "param_schedules")}
    if not keys:
        return None
    base = _without_groups(parent)
    if "lr_scheduler_name" in keys:
        base = dataclasses.replace(base, args={}, explicit=base.explicit - {"args"})
    return solver_config({"solver": keys}, prefix=prefix, inherit=base)


def _lowered(node: Mapping[str, Any], where: str) -> dict[str, Any]:
    """``node`` with lower-case keys (a key given twice in two cases is an error)."""
    out: dict[str, Any] = {}
    for key, value in node.items():
        low = str(key).lower()
        if low in out:
            raise ConfigError(f"{where}.{key} repeats {low!r} (keys are case-insensitive)")
        out[low] = value
    return out


def _rules(solver: SolverConfig, raw: Any) -> tuple[GroupRule, ...]:
    path = solver.path("param_groups")
    rules, seen = [], set()
    for name, node in _entries(path, raw, "rules"):
        where = f"{path}.{name}"
        if name in seen:
            raise ConfigError(f"{path} has two rules named {name!r}")
        seen.add(name)
        if not isinstance(node, Mapping):
            raise ConfigError(f"{where} must be a mapping, got {node!r}")
        node = _lowered(node, where)
        for key in node:
            if key == "name":
                raise ConfigError(f"{where}.name: a rule's name is its key in {path}; remove it")
            if key not in (*RULE_KEYS, *SCHEDULE_KEYS, "warmup", "param_schedules"):
                hint = suggest(str(key), [*RULE_KEYS, *SCHEDULE_KEYS], n=1)
                did_you_mean = f"; did you mean {where}.{hint[0]}?" if hint else ""
                raise ConfigError(f"unknown key {where}.{key}{did_you_mean}")
        if "lr" in node and "lr_factor" in node:
            raise ConfigError(f"{where} sets both lr and lr_factor; keep one")
        if not ("params" in node or "module_types" in node):
            raise ConfigError(f"{where} must select parameters with params and/or module_types")
        rules.append(
            GroupRule(
                name=name,
                path=where,
                params=_names(f"{where}.params", node.get("params", [])),
                module_types=_names(f"{where}.module_types", node.get("module_types", [])),
                lr_factor=_optional_number(f"{where}.lr_factor", node.get("lr_factor")),
                lr=_optional_number(f"{where}.lr", node.get("lr"), low_open=True),
                weight_decay=_optional_number(
                    f"{where}.weight_decay", node.get("weight_decay"), low_open=False
                ),
                optional=_flag(f"{where}.optional", node.get("optional", False)),
                schedule=_schedule_part(node, where, solver),
            )
        )
    return tuple(rules)


def _flag(path: str, v: Any) -> bool:
    if not isinstance(v, bool):
        raise ConfigError(f"{path} must be true or false, got {v!r}")
    return v


def _optional_number(path: str, v: Any, low_open: bool = True) -> float | None:
    return None if v is None else _number(path, v, low=0.0, low_open=low_open)


def _param_schedules(solver: SolverConfig, raw: Any) -> dict[str, SolverConfig]:
    path = solver.path("param_schedules")
    parent = dataclasses.replace(_without_groups(solver), warmup_iters=0, args={})
    parent = dataclasses.replace(
        parent, explicit=(parent.explicit - {"args", "lr_scheduler_name"}) | {"warmup_iters"}
    )
    out = {}
    for key, node in _entries(path, raw, "schedules"):
        if key == "lr":
            raise ConfigError(f"{path}.lr: the lr's schedule is the solver's own; set it there")
        reserved = key.startswith("initial_") or key in ("params", "name")
        if reserved or not re.fullmatch(r"[A-Za-z_]\w*(\[\d+\])?", key):
            raise ConfigError(
                f"{path}.{key}: not a numeric param-group key (like momentum, betas[0], weight_decay)"
            )
        out[key] = solver_config({"solver": node}, prefix=f"{path}.{key}", inherit=parent, schedule_only=True)
    return out


def solver_config(
    cfg: Any, *, prefix: str | None = None, inherit: SolverConfig | None = None, schedule_only: bool = False
) -> SolverConfig:
    """Normalise and validate the solver node of ``cfg``.

    Args:
        cfg: a config holding ``SOLVER``/``solver``, or the solver node itself.
        prefix: the node's path for messages (default: where it was found).
        inherit: values for keys the node does not set (used for nested schedulers).
        schedule_only: refuse keys that do not shape a schedule (in a nested scheduler or a
            ``param_schedules`` entry, where they would be ignored).
    """
    node, found = find_solver(cfg)
    if isinstance(node, SolverConfig):
        return node
    items = _plain(node)
    if not isinstance(items, Mapping):
        raise ConfigError(f"{prefix or found} must be a mapping of solver keys, got {items!r}")
    upper = bool(items) and all(isinstance(k, str) and k.isupper() for k in items)
    base = inherit or SolverConfig()
    probe = dataclasses.replace(base, prefix=prefix or found, upper=upper, spelled={})
    items, spelled = _flatten_warmup(items, probe.path)
    probe = dataclasses.replace(probe, spelled=spelled)
    checks = _checks(probe.path)

    values: dict[str, Any] = {}
    durations: dict[str, Any] = {}
    other: dict[str, Any] = {}
    nested: dict[str, Any] = {}
    for raw_key, value in items.items():
        key = str(raw_key).lower()
        if key in values or key in durations or key in other or key in nested:
            raise ConfigError(f"{probe.prefix}.{raw_key} repeats {key!r} (keys are case-insensitive)")
        if schedule_only and key not in SCHEDULE_KEYS:
            raise ConfigError(
                f"{probe.path(key)} does not apply here; only schedule keys do ({', '.join(SCHEDULE_KEYS)})"
            )
        if value is None and key in UNSET_BY_DEFAULT:
            continue  # null is unset, as if the key were left out
        if key in DURATION_KEYS:
            durations[key] = value
        elif key in checks:
            values[key] = checks[key](value)
        elif key in ("param_groups", "param_schedules"):
            nested[key] = value
        elif key in DETECTRON2_OTHER_KEYS or upper:
            # yacs already checked a detectron2 CfgNode's keys against its project's defaults.
            other[key] = value
        else:
            allowed = [*SCHEDULE_KEYS, *OPTIMIZER_KEYS, *RUN_KEYS]
            hint = suggest(key, allowed, n=1)
            did_you_mean = f"; did you mean {probe.path(hint[0])!r}?" if hint else ""
            raise ConfigError(
                f"unknown key {probe.path(key)!r}{did_you_mean} (allowed: {', '.join(allowed)})"
            )
    values.update(_in_steps(dataclasses.replace(probe, **values), durations, values, checks))
    solver = dataclasses.replace(
        probe, **values, other={**base.other, **other}, explicit=base.explicit | frozenset(values)
    )
    if "param_groups" in nested:
        rules = _rules(solver, nested["param_groups"] or {})
        solver = dataclasses.replace(solver, param_groups=rules, explicit=solver.explicit | {"param_groups"})
    if "param_schedules" in nested:
        schedules = _param_schedules(solver, nested["param_schedules"] or {})
        solver = dataclasses.replace(
            solver, param_schedules=schedules, explicit=solver.explicit | {"param_schedules"}
        )
    return solver


def _in_steps(
    node: SolverConfig,
    durations: dict[str, Any],
    values: dict[str, Any],
    checks: dict[str, Callable[[Any], Any]],
) -> dict[str, Any]:
    """The node's durations and ``args`` resolved to scheduler steps, checked.

    ``args.t_in_epochs`` (timm's spelling of the interval) sets ``interval`` if it is unset.
    """
    resolved: dict[str, Any] = {}
    alias = node.args.get("t_in_epochs") if "args" in values else None
    if isinstance(alias, bool):
        interval = "epoch" if alias else "iter"
        if "interval" in node.explicit | values.keys() and node.interval != interval:
            raise ConfigError(
                f"{node.path('args')}.t_in_epochs={alias} contradicts "
                f"{node.path('interval')}={node.interval!r}"
            )
        node = dataclasses.replace(node, interval=interval)
        resolved["interval"] = interval
    units = node.units
    if "max_iter" in durations:
        resolved["max_iter"] = checks["max_iter"](units.steps(node.path("max_iter"), durations["max_iter"]))
    max_iter = resolved.get("max_iter", node.max_iter)
    for key in ("steps", "warmup_iters", "checkpoint_period"):
        if key not in durations:
            continue
        raw, path = durations[key], node.path(key)
        if key == "steps" and isinstance(raw, (list, tuple)):
            raw = [units.steps(f"{path}[{i}]", v, max_iter) for i, v in enumerate(raw)]
        else:
            raw = units.steps(path, raw, max_iter)
        resolved[key] = checks[key](raw)
    if "args" in values:
        resolved["args"] = arguments(units, node.path("args"), dict(node.args), max_iter)
    return resolved


def reject_args(solver: SolverConfig) -> None:
    """For schedules configured by solver keys only, where ``args`` would be ignored."""
    if solver.args:
        raise ConfigError(
            f"{solver.path('args')} is not read by {solver.lr_scheduler_name}, got {dict(solver.args)}; "
            "set its solver keys instead"
        )
