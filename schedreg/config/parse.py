"""Reading a solver config: find the node, normalise key case, resolve units, fill
defaults, validate.

Accepted inputs are an OmegaConf ``DictConfig``, a nested ``dict``, or any object with
attributes (a detectron2/yacs ``CfgNode``, a ``SimpleNamespace``). The solver node is
``cfg.SOLVER`` (detectron2's upper-case keys), ``cfg.solver`` (the same names in lower
case), or ``cfg`` itself. A key left out and a key set to ``null`` mean the same. Every
problem is a :class:`~schedreg.errors.ConfigError` that names the key as the user spelled it.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Callable, Mapping
from typing import Any

from schedreg.config.checks import cooldown_branch, flag, names, optional_number, value_checks
from schedreg.config.dialects import PEERS, PeerNode, peer_node
from schedreg.config.ramp import batch_ramp
from schedreg.config.solver import (
    DETECTRON2_OTHER_KEYS,
    DURATION_KEYS,
    OPTIMIZER_KEYS,
    RULE_KEYS,
    RUN_KEYS,
    SCHEDULE_KEYS,
    UNSET_BY_DEFAULT,
    WARMUP_NODE_KEYS,
    GroupRule,
    SolverConfig,
)
from schedreg.config.units import arguments
from schedreg.errors import ConfigError, suggest


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
        if any(str(k).lower() == key and v is not None for k, v in flat.items()):
            raise ConfigError(f"{path('warmup')}.{sub} and {path(key)} both set the same thing; keep one")
        flat[key], spelled[key] = value, f"warmup.{sub}"
    return flat, spelled


def plain(value: Any) -> Any:
    """``value`` as plain dicts, lists and Python scalars (resolving OmegaConf interpolations)."""
    if type(value).__module__.startswith("omegaconf"):
        from omegaconf import OmegaConf
        from omegaconf.errors import OmegaConfBaseException

        try:
            return OmegaConf.to_container(value, resolve=True)
        except OmegaConfBaseException as exc:
            raise ConfigError(f"the config could not be resolved: {exc}") from exc
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if type(value).__name__ == "Tensor":
        return value  # a value torch takes as it is (an lr, a factor)
    if type(value).__module__ == "numpy" and hasattr(value, "tolist"):
        return value.tolist()  # a numpy scalar as Python's (a checkpoint keeps no numpy), an array as a list
    if hasattr(value, "__dict__") and not callable(value):
        return {k: plain(v) for k, v in vars(value).items() if not k.startswith("_")}
    return value


def _lookup(node: Any, key: str) -> Any:
    """``node[key]``, None where it has none; an OmegaConf value read plain, and one that
    cannot be (``???``, a broken interpolation) a ConfigError naming the key."""
    if type(node).__module__.startswith("omegaconf"):
        from omegaconf.errors import OmegaConfBaseException

        try:
            value = node[key] if key in node else None  # noqa: SIM401 -- .get hides ???
        except OmegaConfBaseException as exc:
            raise ConfigError(f"{key} could not be resolved: {error_text(exc)}") from exc
        return plain(value)
    if isinstance(node, Mapping):
        return node.get(key)
    return getattr(node, key, None)


def error_text(exc: BaseException) -> str:
    """An OmegaConf error's first line (its others describe the node)."""
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _has(node: Any, key: str) -> bool:
    """Whether ``node`` holds ``key`` (a null value included: ``solver: null`` is a solver
    node, refused as no mapping, not read as the root)."""
    if isinstance(node, Mapping) or type(node).__module__.startswith("omegaconf"):
        return key in node
    return hasattr(node, key) and not callable(getattr(node, key))


def find_solver(cfg: Any) -> tuple[Any, str]:
    """The solver node in ``cfg`` and its path: ``cfg.SOLVER``, ``cfg.solver``, a peer's
    scheduler config (a :class:`~schedreg.config.dialects.PeerNode`), or ``cfg``; a config
    with both a SOLVER and a solver is refused (one of them would be silently ignored)."""
    if isinstance(cfg, PeerNode):  # a node already read (a checkpoint's, see saved_solver)
        return cfg, cfg.path
    found = [(_lookup(cfg, key), key) for key in ("SOLVER", "solver") if _has(cfg, key)]
    if len(found) > 1:
        raise ConfigError(
            "the config has both a SOLVER and a solver node; keep one (schedreg reads one solver)"
        )
    if found:
        return found[0]
    peer = peer_node(cfg, _lookup)
    return (peer, peer.path) if peer is not None else (cfg, "solver")


def saved_solver(state: Mapping[str, Any]) -> PeerNode:
    """The solver node a scheduler's saved ``state`` was built from (its ``"solver"`` entry),
    as a config ``build_lr_scheduler`` takes: to rebuild a checkpoint's own schedule.

    >>> saved_solver({"solver": {"node": {"max_iter": 9}, "path": "solver", "spelled": {}, "peer": ""}}).node
    {'max_iter': 9}
    """
    source = state.get("solver") if isinstance(state, Mapping) else None
    fields = {"node": Mapping, "path": str, "spelled": Mapping, "peer": str}
    if (
        not isinstance(source, Mapping)
        or not all(isinstance(source.get(k), t) for k, t in fields.items())
        or source["peer"] not in ("", *PEERS)
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in source["spelled"].items())
    ):
        raise ConfigError(
            "this scheduler state holds no solver node to rebuild (saved by an older schedreg, or from a "
            f"config holding other objects than plain data); its 'solver' is {source!r:.120}"
        )
    return PeerNode(dict(source["node"]), source["path"], dict(source["spelled"]), source["peer"])


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


RESERVED_GROUP_NAME = "default"
"""The name ``build_param_groups`` gives the groups that no rule matches."""


def _rules(solver: SolverConfig, raw: Any) -> tuple[GroupRule, ...]:
    path = solver.path("param_groups")
    rules, seen = [], set()
    for name, node in _entries(path, raw, "rules"):
        where = f"{path}.{name}"
        if name in seen:
            raise ConfigError(f"{path} has two rules named {name!r}")
        if name == RESERVED_GROUP_NAME:
            raise ConfigError(
                f"{where}: {RESERVED_GROUP_NAME!r} is the name of the groups no rule matches; name the rule "
                "after what it selects (e.g. backbone, head, norm)"
            )
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
                params=names(f"{where}.params", node.get("params", [])),
                module_types=names(f"{where}.module_types", node.get("module_types", [])),
                lr_factor=optional_number(f"{where}.lr_factor", node.get("lr_factor")),
                lr=optional_number(f"{where}.lr", node.get("lr"), low_open=True),
                weight_decay=optional_number(
                    f"{where}.weight_decay", node.get("weight_decay"), low_open=False
                ),
                optional=flag(f"{where}.optional", node.get("optional", False)),
                schedule=_schedule_part(node, where, solver),
            )
        )
    return tuple(rules)


def _param_schedules(solver: SolverConfig, raw: Any) -> dict[str, SolverConfig]:
    path = solver.path("param_schedules")
    parent = dataclasses.replace(_without_groups(solver), warmup_iters=0, args={})
    parent = dataclasses.replace(
        parent, explicit=(parent.explicit - {"args", "lr_scheduler_name"}) | {"warmup_iters"}
    )
    out = {}
    for key, node in _entries(path, raw, "schedules"):
        if node is None:
            continue  # null: no schedule for this key
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
    peer = node if isinstance(node, PeerNode) else None
    items = plain(peer.node if peer is not None else node)
    if not isinstance(items, Mapping):
        raise ConfigError(f"{prefix or found} must be a mapping of solver keys, got {items!r}")
    upper = bool(items) and all(isinstance(k, str) and k.isupper() for k in items)
    base = inherit or SolverConfig()
    units_keys = base.units_keys
    if inherit is not None and not units_keys:  # a nested node's units are its root's
        units_keys = (inherit.path("interval"), inherit.path("iters_per_epoch"))
    probe = dataclasses.replace(base, prefix=prefix or found, upper=upper, spelled={}, units_keys=units_keys)
    items, spelled = _flatten_warmup(items, probe.path)
    if peer is not None:
        probe = dataclasses.replace(probe, peer=peer.peer)
        spelled = {**spelled, **peer.spelled}
    probe = dataclasses.replace(probe, spelled=spelled)
    checks = value_checks(probe.path)

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
        elif key in DETECTRON2_OTHER_KEYS or (upper and not _misspelled(key)):
            # an upper-case node is a detectron2 project's SOLVER: its own keys are kept as-is
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


def _misspelled(key: str) -> bool:
    """Whether ``key``, unknown, is one letter or so from a key schedreg reads
    (``MAX_ITERS``, ``WARMUP_ITER``): a typo, not another project's own key."""
    known = [*SCHEDULE_KEYS, *OPTIMIZER_KEYS, *RUN_KEYS]
    return any(difflib.SequenceMatcher(None, key, k).ratio() >= 0.85 for k in known)


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
    _check_clock(node)
    units = node.units
    if node.batch_size_schedule is not None and "batch_size_schedule" in values:
        resolved["batch_size_schedule"] = batch_ramp(
            node.path("batch_size_schedule"), node.batch_size_schedule, units
        )
    if "max_iter" in durations:
        resolved["max_iter"] = checks["max_iter"](units.steps(node.path("max_iter"), durations["max_iter"]))
    # a percentage is of the run's length as set; an unset one has no length to take it of
    max_iter = resolved.get("max_iter", node.max_iter if "max_iter" in node.explicit else None)
    for key in ("steps", "warmup_iters", "checkpoint_period"):
        if key not in durations:
            continue
        raw, path = durations[key], node.path(key)
        if key == "steps" and isinstance(raw, (list, tuple)):
            raw = [units.steps(f"{path}[{i}]", v, max_iter) for i, v in enumerate(raw)]
        else:
            raw = units.steps(path, raw, max_iter)
        resolved[key] = checks[key](raw)
    if isinstance(values.get("cooldown"), Mapping):
        raw, path = values["cooldown"], node.path("cooldown")
        start, length = (units.steps(f"{path}.{k}", raw.get(k), max_iter) for k in ("start", "length"))
        resolved["cooldown"] = cooldown_branch(path, raw, start, length)
    if "args" in values and not node.lr_scheduler_name.startswith(OWN_UNITS):
        resolved["args"] = arguments(units, node.path("args"), dict(node.args), max_iter)
    return resolved


def _check_clock(node: SolverConfig) -> None:
    """Refuse clock settings that contradict each other (one of them would be ignored)."""
    clock, ramp = node.clock, node.batch_size_schedule is not None
    if clock != "step" and node.interval == "epoch":
        raise ConfigError(
            f"{node.path('clock')}={clock!r} counts what was consumed, and {node.path('interval')}: epoch "
            "counts epochs; keep one"
        )
    fixed = [k for k in ("tokens_per_step", "samples_per_step") if getattr(node, k) is not None]
    if ramp and fixed:
        raise ConfigError(
            f"{node.path(fixed[0])} is fixed, but {node.path('batch_size_schedule')} changes what a step "
            "consumes; keep the ramp (the scheduler knows each step's batch from it)"
        )
    sizes = node.tokens_per_step, node.samples_per_step, node.tokens_per_sample
    if all(sizes) and sizes[0] != sizes[1] * sizes[2]:  # type: ignore[operator]
        raise ConfigError(
            f"{node.path('tokens_per_step')}={sizes[0]} is not {node.path('samples_per_step')}={sizes[1]} x "
            f"{node.path('tokens_per_sample')}={sizes[2]}; keep two of them"
        )
    if clock == "samples" and node.tokens_per_step and not node.samples_per_step:
        per_sample = node.tokens_per_sample
        if not per_sample or node.tokens_per_step % per_sample:
            raise ConfigError(
                f"{node.path('clock')}: samples, and {node.path('tokens_per_step')}={node.tokens_per_step} "
                f"is no whole number of samples ({node.path('tokens_per_sample')}={per_sample}); set "
                f"{node.path('samples_per_step')}"
            )
    if ramp and clock == "tokens" and node.tokens_per_sample is None:
        raise ConfigError(
            f"{node.path('batch_size_schedule')} gives batch sizes in samples, and {node.path('clock')} "
            f"is tokens: set {node.path('tokens_per_sample')} (the sequence length)"
        )
    if node.batch_size_rescale != "none" and not ramp:
        raise ConfigError(
            f"{node.path('batch_size_rescale')}={node.batch_size_rescale!r} rescales the lr at each batch "
            f"size of a ramp, and {node.path('batch_size_schedule')} is not set"
        )


OWN_UNITS = ("composer.",)
"""Schedules whose arguments carry their own units (composer's time strings, ``"2ep"``):
their builders convert them."""
