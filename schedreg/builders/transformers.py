"""The schedule names of ``transformers.get_scheduler``, by transformers' own names.

The warmup length is ``solver.warmup_iters`` (linear from 0, as transformers does, unless
the config picks another warmup method or factor), the total is ``solver.max_iter``, and
the other arguments go in ``solver.args`` under transformers' names. Like transformers,
``polynomial``'s ``lr_end`` and ``cosine_with_min_lr``'s ``min_lr`` are relative to the
optimizer's default lr. No torch is imported: these are pure schedules (transformers'
``reduce_lr_on_plateau`` is torch's class, registered with torch's).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from schedreg.builders.clock import default_length
from schedreg.builders.warmup import joined, warmup_length
from schedreg.config.signature import construct, keyword_arguments, settable_parameters
from schedreg.config.solver import SolverConfig, reject_args
from schedreg.errors import ConfigError
from schedreg.registry import register_scheduler
from schedreg.schedules import transformers as hf
from schedreg.schedules.core import Constant, Schedule

if TYPE_CHECKING:
    from torch.optim import Optimizer

FROM_ZERO = {"warmup_factor": 0.0}
"""transformers warms up linearly from 0."""
FROM_SOLVER = ("num_warmup_steps", "num_training_steps", "lr_init")


def _build(
    cls: type,
    solver: SolverConfig,
    fixed: Mapping[str, Any] | None = None,
    defaults: Mapping[str, Any] | None = None,
) -> Schedule:
    """``cls`` from ``solver.args`` (over ``defaults``), with the warmup and total from the
    solver keys and ``fixed`` values the user does not set."""
    path = solver.path("args")
    for name in FROM_SOLVER:
        if name in solver.args:
            key = {"num_warmup_steps": "warmup_iters", "num_training_steps": "max_iter"}.get(name, "base_lr")
            raise ConfigError(f"{path}.{name}: set {solver.path(key)} instead")
    params = settable_parameters(cls, (*FROM_SOLVER, "own_warmup"))
    args = keyword_arguments(cls.__name__, params, solver.args, defaults or {}, path, {})
    names = {f.name for f in dataclasses.fields(cls)}
    solved = {
        "num_warmup_steps": warmup_length(solver),
        "num_training_steps": solver.max_iter,
        **(fixed or {}),
    }
    return construct(cls, path, solver.args, **{k: v for k, v in solved.items() if k in names}, **args)


@register_scheduler("constant")
def constant(solver: SolverConfig) -> Schedule:
    """transformers' ``constant``: the optimizer's lr throughout."""
    return _constant(solver)


@register_scheduler("constant_with_warmup", defaults=FROM_ZERO)
def constant_with_warmup(solver: SolverConfig) -> Schedule:
    """transformers' ``constant_with_warmup``: linear warmup from 0, then the optimizer's lr."""
    return _constant(solver)


def _constant(solver: SolverConfig) -> Schedule:
    reject_args(solver)
    return Constant(1.0)


@register_scheduler("linear", defaults=FROM_ZERO)
def linear(solver: SolverConfig) -> Schedule:
    """transformers' ``linear``: warmup from 0, then linear decay to 0 at ``max_iter``."""
    return _build(hf.Linear, solver)


@register_scheduler("cosine", defaults=FROM_ZERO)
def cosine(solver: SolverConfig) -> Schedule:
    """transformers' ``cosine``: warmup from 0, then ``args.num_cycles`` cosine waves (0.5)."""
    if "min_lr_rate" in solver.args:
        raise ConfigError(f"{solver.path('args')}.min_lr_rate belongs to cosine_with_min_lr")
    return _build(hf.Cosine, solver)


@register_scheduler("cosine_with_restarts", defaults=FROM_ZERO)
def cosine_with_restarts(solver: SolverConfig) -> Schedule:
    """transformers' ``cosine_with_restarts``: ``args.num_cycles`` hard restarts (1)."""
    return _build(hf.CosineWithHardRestarts, solver)


@register_scheduler("polynomial", defaults=FROM_ZERO)
def polynomial(solver: SolverConfig, optimizer: Optimizer) -> Schedule:
    """transformers' ``polynomial``: decay to ``args.lr_end`` (1e-7) with ``args.power`` (1)."""
    lr_init = float(optimizer.defaults["lr"])
    lr_end = solver.args.get("lr_end", 1e-7)
    if isinstance(lr_end, (int, float)) and not lr_init > lr_end:
        raise ConfigError(
            f"{solver.path('args')}.lr_end must be below the optimizer's lr ({lr_init}), got {lr_end}"
        )
    return _build(hf.Polynomial, solver, fixed={"lr_init": lr_init})


@register_scheduler("inverse_sqrt", defaults=FROM_ZERO)
def inverse_sqrt(solver: SolverConfig) -> Schedule:
    """transformers' ``inverse_sqrt``: ``args.timescale`` defaults to the warmup (or 10000)."""
    timescale = warmup_length(solver) or default_length(solver, f"{solver.path('args')}.timescale", 10_000)
    return _build(hf.InverseSqrt, solver, defaults={"timescale": timescale})


@register_scheduler("cosine_with_min_lr", defaults=FROM_ZERO)
def cosine_with_min_lr(solver: SolverConfig, optimizer: Optimizer) -> Schedule:
    """transformers' ``cosine_with_min_lr``: half a cosine down to ``args.min_lr`` or
    ``args.min_lr_rate`` (one of them)."""
    args = dict(solver.args)
    if ("min_lr" in args) == ("min_lr_rate" in args):
        raise ConfigError(f"{solver.path('args')} must set exactly one of min_lr and min_lr_rate, got {args}")
    if "min_lr" in args:
        min_lr = args.pop("min_lr")
        if not isinstance(min_lr, (int, float)) or isinstance(min_lr, bool) or not 0 <= min_lr < math.inf:
            raise ConfigError(f"{solver.path('args')}.min_lr must be a finite number >= 0, got {min_lr!r}")
        lr = float(optimizer.defaults["lr"])
        if lr == 0 and min_lr > 0:
            raise ConfigError(
                f"{solver.path('args')}.min_lr is taken relative to the optimizer's lr, which is 0; "
                "set min_lr_rate instead"
            )
        args["min_lr_rate"] = min_lr / lr if lr else 0.0
    return _build(hf.Cosine, dataclasses.replace(solver, args=args))


@register_scheduler("warmup_stable_decay", own_warmup=True)
def warmup_stable_decay(solver: SolverConfig) -> Schedule:
    """transformers' ``warmup_stable_decay``: warmup, stable, then ``args.num_decay_steps`` of
    decay (a float in (0, 1]: that fraction of ``max_iter``); the stable stretch fills
    ``max_iter`` unless ``args.num_stable_steps`` is set.

    Its warmup is transformers' own, from ``args.min_lr_ratio`` shaped by ``args.warmup_type``,
    where the chosen warmup is that one (:func:`_wsd_warmup`); any other is joined on, as on
    every schedule."""
    args = dict(solver.args)
    path = solver.path("args")
    if "num_decay_steps" not in args:
        raise ConfigError(f"{path}.num_decay_steps is required by warmup_stable_decay")
    decay = args["num_decay_steps"]
    if isinstance(decay, float) and 0 < decay <= 1:  # a fraction of the run
        args["num_decay_steps"] = round(decay * solver.max_iter)
    own = _wsd_warmup(solver, args)
    if own is not None:
        args.update(own)
    for key in ("warmup_type", "decay_type"):
        if args.get(key, "linear") not in hf.SHAPES:
            raise ConfigError(f"{path}.{key} must be one of {', '.join(hf.SHAPES)}; got {args[key]!r}")
    warmup_iters = warmup_length(solver)
    for key in ("num_decay_steps", "num_stable_steps"):
        if key in args and (not isinstance(args[key], int) or isinstance(args[key], bool)):
            raise ConfigError(f"{path}.{key} must be an integer number of steps, got {args[key]!r}")
    if isinstance(args["num_decay_steps"], int):
        args.setdefault("num_stable_steps", solver.max_iter - warmup_iters - args["num_decay_steps"])
        if args["num_stable_steps"] < 0:
            raise ConfigError(
                f"{path}.num_decay_steps ({args['num_decay_steps']}) plus {solver.path('warmup_iters')} "
                f"({warmup_iters}) exceed {solver.path('max_iter')} ({solver.max_iter})"
            )
    schedule = _build(
        hf.WarmupStableDecay, dataclasses.replace(solver, args=args), {"own_warmup": own is not None}
    )
    return schedule if own is not None else joined(schedule, solver)


def _wsd_warmup(solver: SolverConfig, args: dict[str, Any]) -> dict[str, Any] | None:
    """The arguments of transformers' own warmup (``args.warmup_type`` from
    ``args.min_lr_ratio``) where the solver's warmup is that: a linear or cosine method
    starting where ``min_lr_ratio`` does (a factor left unset starts there). None for any
    other warmup: it is joined on from outside, as on every other schedule, over a flat start."""
    path, method = solver.path("args"), solver.warmup_method
    if method == "none" or solver.warmup_iters == 0:
        return {}  # no warmup
    floor = args.get("min_lr_ratio", 0.0)
    starts_there = "warmup_factor" not in solver.explicit or solver.warmup_factor == floor
    if method not in ("linear", "cosine") or not starts_there:
        if "warmup_type" in args:
            raise ConfigError(
                f"{solver.path('warmup_method')}={method!r}, {solver.path('warmup_factor')}="
                f"{solver.warmup_factor!r} contradicts {path}.warmup_type={args['warmup_type']!r} (which "
                f"warms up from {path}.min_lr_ratio); keep one of them"
            )
        return None
    if "warmup_method" not in solver.explicit:
        return {}
    if args.get("warmup_type", method) != method:
        raise ConfigError(
            f"{solver.path('warmup_method')}={method!r} contradicts {path}.warmup_type="
            f"{args['warmup_type']!r}; keep one of them"
        )
    return {"warmup_type": method}
