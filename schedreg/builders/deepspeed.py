"""DeepSpeed's schedule names, qualified (``deepspeed.WarmupCosineLR`` is not detectron2's
``WarmupCosineLR``), with DeepSpeed's ``params`` as ``solver.args``.

A ds_config's ``scheduler: {type, params}`` node reads as these names (and, as in
DeepSpeed, any torch scheduler's): :mod:`schedreg.config.dialects`. The warmup is
DeepSpeed's own (``params.warmup_num_steps``, ``params.warmup_type``); ``solver.warmup_iters``
and ``solver.max_iter`` fill ``warmup_num_steps`` and ``total_num_steps`` where ``params``
leaves them out.
"""

from __future__ import annotations

import dataclasses
import inspect
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from schedreg.config.signature import construct, keyword_arguments, settable_parameters
from schedreg.config.solver import SolverConfig
from schedreg.errors import ConfigError
from schedreg.registry import register_scheduler
from schedreg.schedules import deepspeed as ds

if TYPE_CHECKING:
    from torch.optim import Optimizer

PREFIX = "deepspeed."
"""How schedreg qualifies DeepSpeed's names."""
FROM_SOLVER = {"warmup_num_steps": "warmup_iters", "total_num_steps": "max_iter"}
"""DeepSpeed argument -> the solver key that fills it in when ``params`` leaves it out."""


def _arguments(solver: SolverConfig, cls: type, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``solver.args`` by DeepSpeed's names for ``cls``'s fields (and ``extra`` ones the
    builder reads itself), over the solver keys the user set, checked."""
    path = solver.path("args")
    for key in ("warmup_method", "warmup_factor"):
        if key in solver.explicit:
            raise ConfigError(
                f"{solver.path(key)}: {solver.lr_scheduler_name} warms up DeepSpeed's own way, choose "
                f"solver/warmup=own and set {path}.warmup_type (log or linear) and {path}.warmup_min_lr "
                "(or warmup_min_ratio) instead"
            )
    if solver.args.get("last_batch_iteration", -1) != -1:
        raise ConfigError(
            f"{path}.last_batch_iteration must be -1 (a fresh start), got "
            f"{solver.args['last_batch_iteration']!r}; resume by loading the scheduler's state_dict"
        )
    for key in ("warmup_min_lr", "warmup_max_lr", "cycle_min_lr", "cycle_max_lr", "lr_range_test_min_lr"):
        if isinstance(solver.args.get(key), (list, tuple)):
            raise ConfigError(
                f"{path}.{key}: one lr per param group is not supported, got {solver.args[key]!r}; give it "
                "as one number, and other groups their own schedule with solver.param_groups rules"
            )
    params = {**settable_parameters(cls, ()), **(extra or {})}
    derived = {
        arg: getattr(solver, key)
        for arg, key in FROM_SOLVER.items()
        if key in solver.explicit and arg in params
    }
    hints = {arg: solver.path(key) for arg, key in FROM_SOLVER.items()}
    given = {k: v for k, v in solver.args.items() if k != "last_batch_iteration"}
    args = keyword_arguments(f"deepspeed.{cls.__name__}", params, given, derived, path, hints)
    if args.get("warmup_type", "log") not in ds.WARMUP_TYPES:
        raise ConfigError(
            f"{path}.warmup_type must be one of {', '.join(ds.WARMUP_TYPES)}, got {args['warmup_type']!r}"
        )
    return args


def _schedule(cls: type, solver: SolverConfig, **fixed: Any) -> Any:
    args = _arguments(solver, cls)
    return construct(cls, solver.path("args"), solver.args, **args, **fixed)


@register_scheduler(f"{PREFIX}WarmupLR", own_warmup=True)
def warmup_lr(solver: SolverConfig) -> ds.WarmupDecay:
    """DeepSpeed's ``WarmupLR``: from ``warmup_min_lr`` to ``warmup_max_lr`` (absolute lrs:
    the optimizer's lr is ignored, as in DeepSpeed), log or linear, then constant."""
    if "total_num_steps" in solver.args:
        raise ConfigError(f"{solver.path('args')}.total_num_steps belongs to deepspeed.WarmupDecayLR")
    args = _arguments(solver, ds.WarmupDecay)
    args.pop("total_num_steps", None)  # max_iter is the run's length, not a decay's
    return construct(ds.WarmupDecay, solver.path("args"), solver.args, **args)


@register_scheduler(f"{PREFIX}WarmupDecayLR", own_warmup=True)
def warmup_decay_lr(solver: SolverConfig) -> ds.WarmupDecay:
    """DeepSpeed's ``WarmupDecayLR``: ``WarmupLR``, then linear decay to 0 at ``total_num_steps``."""
    args = _arguments(solver, ds.WarmupDecay)
    if args.get("total_num_steps") is None:
        raise ConfigError(
            f"{solver.path('args')}.total_num_steps is required by deepspeed.WarmupDecayLR "
            f"(or set {solver.path('max_iter')})"
        )
    return construct(ds.WarmupDecay, solver.path("args"), solver.args, **args)


@register_scheduler(f"{PREFIX}WarmupCosineLR", own_warmup=True)
def warmup_cosine_lr(solver: SolverConfig) -> ds.WarmupCosine:
    """DeepSpeed's ``WarmupCosineLR``: a multiplier of each group's lr, from
    ``warmup_min_ratio`` up (log or linear), then a cosine to ``cos_min_ratio`` at
    ``total_num_steps``."""
    return _schedule(ds.WarmupCosine, solver)  # type: ignore[no-any-return]


@register_scheduler(f"{PREFIX}LRRangeTest", own_warmup=True)
def lr_range_test(solver: SolverConfig) -> ds.RangeTest:
    """DeepSpeed's ``LRRangeTest``: a rising lr from ``lr_range_test_min_lr``."""
    return _schedule(ds.RangeTest, solver)  # type: ignore[no-any-return]


MOMENTUM_ARGS = {
    name: inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation="Any")
    for name, default in (
        ("cycle_momentum", True),
        ("cycle_min_mom", 0.8),
        ("cycle_max_mom", 0.9),
        ("decay_mom_rate", 0.0),
        ("cycle_first_stair_count", 0),
        ("cycle_second_stair_count", None),
    )
}
"""OneCycle's arguments besides the lr's: read here, not by the lr's formula."""


@register_scheduler(f"{PREFIX}OneCycle", own_warmup=True)
def one_cycle(solver: SolverConfig, optimizer: Optimizer) -> ds.OneCycleLr:
    """DeepSpeed's ``OneCycle``: the lr up and down one cycle, then a decay. DeepSpeed
    cycles ``betas[0]`` too where the optimizer has betas; that is not supported yet."""
    args = _arguments(solver, ds.OneCycleLr, MOMENTUM_ARGS)
    path = solver.path("args")
    if args.pop("cycle_momentum", True) and "betas" in optimizer.defaults:
        raise ConfigError(
            f"{path}.cycle_momentum: DeepSpeed's OneCycle would cycle this optimizer's betas[0], which "
            "schedreg does not do yet; set cycle_momentum: false (an SGD's momentum is not cycled, as in "
            "DeepSpeed)"
        )
    stairs = {k: args.pop(k, None) for k in ("cycle_first_stair_count", "cycle_second_stair_count")}
    if any(stairs.values()):
        warnings.warn(
            f"{path}: {stairs} has no effect: DeepSpeed's OneCycle reads the stair counts but its lr "
            "does not use them, and schedreg matches DeepSpeed",
            stacklevel=3,
        )
    fields = {f.name for f in dataclasses.fields(ds.OneCycleLr)}
    return construct(ds.OneCycleLr, path, solver.args, **{k: v for k, v in args.items() if k in fields})
