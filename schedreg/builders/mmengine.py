"""mmengine's ``param_scheduler`` list as ``mmengine.param_scheduler``: ``args.param_scheduler``
is the list as mmengine's users write it (``type``, ``begin``, ``end``, ``by_epoch``,
``convert_to_iter_based``, and each scheduler's arguments), ``args.max_epochs`` /
``args.max_iters`` the training loop's length (each window's default ``end``), and
``solver.iters_per_epoch`` the dataloader's length.

A config holding ``param_scheduler`` (and ``train_cfg``) reads as this name:
:mod:`schedreg.config.dialects`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from schedreg.config.checks import MAX_COUNT
from schedreg.config.solver import SolverConfig
from schedreg.errors import ConfigError
from schedreg.registry import register_scheduler
from schedreg.schedules import mmengine

NAME = "mmengine.param_scheduler"
ARGUMENTS: dict[str, tuple[str, ...]] = {
    "Step": ("step_size", "gamma"),
    "MultiStep": ("milestones", "gamma"),
    "Constant": ("factor",),
    "Exponential": ("gamma",),
    "CosineAnnealing": ("T_max", "eta_min", "eta_min_ratio"),
    "Linear": ("start_factor", "end_factor"),
    "Poly": ("eta_min", "power"),
    "OneCycle": (
        *("eta_max", "total_steps", "pct_start", "anneal_strategy", "div_factor", "final_div_factor"),
        "three_phase",
    ),
    "CosineRestart": ("periods", "restart_weights", "eta_min", "eta_min_ratio"),
}
COMMON = ("type", "begin", "end", "by_epoch", "convert_to_iter_based", "verbose", "last_step", "param_name")
SCALED = ("step_size", "milestones", "T_max", "total_steps", "periods")
"""The arguments ``convert_to_iter_based`` multiplies by the epoch's length, as mmengine does."""
SUFFIXES = {"ParamScheduler": None, "LR": "lr", "Momentum": "momentum"}


def kind_and_key(where: str, spec: Mapping[str, Any]) -> tuple[str, str]:
    """The scheduler ``type`` names, and the group key it schedules."""
    name = spec.get("type")
    for suffix, key in SUFFIXES.items():
        kind = name[: -len(suffix)] if isinstance(name, str) and name.endswith(suffix) else None
        if kind in ARGUMENTS and not (kind == "OneCycle" and suffix == "Momentum"):
            if key is None:
                key = spec.get("param_name")
                if not isinstance(key, str) or not key:
                    raise ConfigError(f"{where}.param_name must name the param-group key {name} schedules")
                if kind == "OneCycle" and key != "lr":
                    raise ConfigError(
                        f"{where}.param_name={key!r}: mmengine's OneCycle schedules the lr only"
                    )
            elif "param_name" in spec:
                raise ConfigError(
                    f"{where}.param_name: {name} schedules {key}; use {kind}ParamScheduler for another key"
                )
            return kind, key
    if isinstance(name, str) and name.startswith("ReduceOnPlateau"):
        raise ConfigError(
            f"{where}.type={name!r}: mmengine's plateau scheduler is not supported in a param_scheduler "
            "list yet; use solver=plateau, or torch's ReduceLROnPlateau"
        )
    names = [f"{k}{s}" for k in ARGUMENTS for s in SUFFIXES if not (k == "OneCycle" and s == "Momentum")]
    raise ConfigError(f"{where}.type must be one of mmengine's schedulers ({', '.join(names)}), got {name!r}")


@register_scheduler(NAME, own_warmup=True)
def param_scheduler(solver: SolverConfig) -> mmengine.MmengineSchedule:
    """mmengine's ``param_scheduler`` list: chained windows ``[begin, end)`` stepped per
    iteration or per epoch, as mmengine's Runner builds and steps them (the lr, momentum, or
    any ``param_name``)."""
    path = solver.path("args")
    for key in ("warmup_method", "warmup_factor"):
        if key in solver.explicit:
            raise ConfigError(
                f"{solver.path(key)}: {NAME} warms up with a window of its list (LinearLR); "
                "choose solver/warmup=own"
            )
    unknown = sorted(set(solver.args) - {"param_scheduler", "max_epochs", "max_iters"})
    if unknown:
        raise ConfigError(
            f"unknown argument {path}.{unknown[0]} for {NAME}; "
            "allowed: param_scheduler, max_epochs, max_iters"
        )
    specs = solver.args.get("param_scheduler")
    if isinstance(specs, Mapping):
        specs = [specs]
    if not isinstance(specs, (list, tuple)) or not specs:
        raise ConfigError(f"{path}.param_scheduler must be a list of mmengine scheduler dicts, got {specs!r}")
    per_epoch = solver.iters_per_epoch
    limits = {k: _whole(f"{path}.{k}", solver.args.get(k), 1) for k in ("max_epochs", "max_iters")}
    if "max_iter" in solver.explicit and limits["max_iters"] not in (None, solver.max_iter):
        raise ConfigError(
            f"{path}.max_iters={limits['max_iters']} and {solver.path('max_iter')}={solver.max_iter} "
            "both set the run's length, differently; keep one"
        )
    if "max_iter" in solver.explicit:
        limits["max_iters"] = solver.max_iter  # the run's length: an iteration window's default end
    if per_epoch is not None:  # the Runner's lengths, each from the other
        if limits["max_iters"] is None and limits["max_epochs"] is not None:
            limits["max_iters"] = limits["max_epochs"] * per_epoch
        if (
            limits["max_epochs"] is None
            and limits["max_iters"] is not None
            and not limits["max_iters"] % per_epoch
        ):
            limits["max_epochs"] = limits["max_iters"] // per_epoch
    windows, base = [], None
    for i, spec in enumerate(specs):
        where = f"{path}.param_scheduler[{i}]"
        if not isinstance(spec, Mapping):
            raise ConfigError(f"{where} must be a mapping with a type, got {spec!r}")
        window = _window(where, dict(spec), per_epoch, limits, base)
        if window.kind == "OneCycle":
            base = window.arg("eta_max", 0) / window.arg("div_factor", 25.0)  # mmengine rewrites initial_lr
        windows.append(window)
    _one_one_cycle(path, windows)
    schedule = mmengine.MmengineSchedule(tuple(windows), per_epoch or 1)
    if schedule.horizon > mmengine.MAX_REPLAY:
        raise ConfigError(
            f"{path}.param_scheduler runs to iteration {schedule.horizon}: mmengine's lists are replayed "
            f"step by step: schedreg takes them to {mmengine.MAX_REPLAY} iterations"
        )
    return schedule


def _one_one_cycle(path: str, windows: list[mmengine.Window]) -> None:
    """mmengine's OneCycle writes ``initial_``/``max_``/``min_<key>`` into the groups when
    built and reads them back when stepped, so every OneCycle of a key would run on the last
    one's values: refused, as a trap."""
    keys = [w.key for w in windows if w.kind == "OneCycle"]
    if len(keys) != len(set(keys)):
        raise ConfigError(
            f"{path}.param_scheduler has two OneCycle schedulers of one key: mmengine runs both on the last "
            "one's eta_max, div_factor and final_div_factor; keep one (or use CosineAnnealing windows)"
        )


def _whole(where: str, value: Any, least: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not least <= value <= MAX_COUNT:
        raise ConfigError(f"{where} must be an integer >= {least}, got {value!r}")
    return value


def _window(
    where: str, spec: dict[str, Any], per_epoch: int | None, limits: dict[str, int | None], base: float | None
) -> mmengine.Window:
    kind, key = kind_and_key(where, spec)
    allowed = (*COMMON, *ARGUMENTS[kind])
    unknown = sorted(set(spec) - set(allowed))
    if unknown:
        raise ConfigError(
            f"unknown argument {where}.{unknown[0]} for {spec['type']}; allowed: {', '.join(allowed)}"
        )
    if spec.get("last_step", -1) != -1:
        raise ConfigError(f"{where}.last_step must be -1 (a fresh start); resume by loading the state_dict")
    by_epoch = spec.get("by_epoch", True)
    convert = spec.get("convert_to_iter_based", False)
    if not isinstance(by_epoch, bool) or not isinstance(convert, bool):
        raise ConfigError(f"{where}.by_epoch and convert_to_iter_based must be true or false")
    if by_epoch and per_epoch is None:
        raise ConfigError(
            f"{where} steps per epoch (by_epoch is true, mmengine's default): set iters_per_epoch "
            "(mmengine's len(train_dataloader)), so that schedreg, stepped once per iteration, knows when "
            "an epoch ends"
        )
    default_end = limits["max_epochs"] if by_epoch else limits["max_iters"]
    if spec.get("end") is None and default_end is None:
        raise ConfigError(
            f"{where}.end is not set, and the run's length is unknown (mmengine's Runner takes it from "
            f"train_cfg): set end, or the train loop's max_epochs or max_iters"
        )
    begin = _whole(f"{where}.begin", spec.get("begin", 0), 0) or 0
    end = _whole(f"{where}.end", spec["end"] if spec.get("end") is not None else default_end, 1)
    if end is None:
        raise ConfigError(f"{where}.end must be set (an integer): the run's length is unknown")
    if end <= begin:
        raise ConfigError(f"{where}: end={end} must be above begin={begin} (mmengine refuses it)")
    args = {k: spec[k] for k in ARGUMENTS[kind] if k in spec}
    _check(where, kind, args)
    if convert:
        if not by_epoch:
            raise ConfigError(f"{where}: convert_to_iter_based converts an epoch schedule; by_epoch is false")
        if per_epoch is None:
            raise ConfigError(
                f"{where}.convert_to_iter_based needs iters_per_epoch (mmengine's len(train_dataloader))"
            )
        begin, end = int(begin * per_epoch), end if end == mmengine.INF else int(end * per_epoch)
        for name in SCALED:
            if args.get(name) is not None:
                value = args[name]
                args[name] = (
                    [v * per_epoch for v in value] if isinstance(value, (list, tuple)) else value * per_epoch
                )
        by_epoch = False
    frozen = tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in args.items()))
    window = mmengine.Window(kind, key, begin, end, by_epoch, frozen, base if key == "lr" else None)
    if kind == "OneCycle" and (window.arg("total_steps") or end - begin) < end - begin - 1:
        raise ConfigError(
            f"{where}.total_steps={window.arg('total_steps')} is shorter than [begin, end) (mmengine raises)"
        )
    return window


def _number(where: str, value: Any, low: float = 0.0, high: float = math.inf) -> float:
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not number or not low <= value <= high or not math.isfinite(value):
        raise ConfigError(f"{where} must be a finite number in [{low}, {high}], got {value!r}")
    return float(value)


def _check(where: str, kind: str, a: dict[str, Any]) -> None:
    """What mmengine asserts or raises, and what would divide by 0 or loop, refused now."""
    required = {
        "Step": "step_size",
        "MultiStep": "milestones",
        "Exponential": "gamma",
        "CosineRestart": "periods",
    }
    if kind in required and required[kind] not in a:
        raise ConfigError(f"{where}.{required[kind]} is required by mmengine's {kind} schedulers")
    for name in ("gamma", "power", "div_factor", "final_div_factor", "eta_max", "eta_min", "eta_min_ratio"):
        if name in a and (a[name] is not None or name not in ("eta_min", "eta_min_ratio")):
            _number(f"{where}.{name}", a[name])
    for name in ("div_factor", "final_div_factor"):
        if a.get(name) == 0:
            raise ConfigError(f"{where}.{name} must be above 0 (mmengine divides by it)")
    for name in ("factor", "start_factor", "end_factor"):
        if name in a:
            _number(f"{where}.{name}", a[name], 0.0, 1.0)  # mmengine: between 0 and 1
    if kind == "Constant" and a.get("factor", 1.0) == 0:
        raise ConfigError(f"{where}.factor must be above 0 (mmengine divides by it at the window's end)")
    if kind == "Linear" and a.get("start_factor", 1.0 / 3) == 0:
        raise ConfigError(f"{where}.start_factor must be above 0 (mmengine divides by it)")
    for name in ("step_size", "T_max", "total_steps"):
        if a.get(name) is not None:
            _whole(f"{where}.{name}", a[name], 1)
    for name in ("milestones", "periods"):
        if name in a and (not isinstance(a[name], (list, tuple)) or not a[name]):
            raise ConfigError(f"{where}.{name} must be a list of integers, got {a[name]!r}")
        for i, v in enumerate(a.get(name, ())):
            _whole(f"{where}.{name}[{i}]", v, 0 if name == "milestones" else 1)
    if (
        kind in ("CosineAnnealing", "CosineRestart")
        and a.get("eta_min") is not None
        and a.get("eta_min_ratio") is not None
    ):
        raise ConfigError(f"{where}: set eta_min or eta_min_ratio, not both (mmengine asserts it)")
    if kind == "CosineRestart":
        if a.get("eta_min") is None and a.get("eta_min_ratio") is None:
            raise ConfigError(f"{where}: CosineRestart needs eta_min or eta_min_ratio (mmengine asserts it)")
        weights = a.get("restart_weights", (1,))
        if not isinstance(weights, (list, tuple)) or len(weights) != len(a["periods"]):
            raise ConfigError(f"{where}.restart_weights must have one weight per period, got {weights!r}")
        for i, w in enumerate(weights):
            _number(f"{where}.restart_weights[{i}]", w)
    if kind == "OneCycle":
        pct = a.get("pct_start", 0.3)
        if not isinstance(pct, float) or not 0 <= pct <= 1:
            raise ConfigError(
                f"{where}.pct_start must be a float in [0, 1] (mmengine refuses an int), got {pct!r}"
            )
        if a.get("anneal_strategy", "cos") not in ("cos", "linear"):
            raise ConfigError(f"{where}.anneal_strategy must be cos or linear, got {a['anneal_strategy']!r}")
        if isinstance(a.get("eta_max"), (list, tuple)):
            raise ConfigError(f"{where}.eta_max: one lr per group is not supported; give one number")
