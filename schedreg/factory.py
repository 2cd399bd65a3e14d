"""``build_lr_scheduler``: config -> registry entry -> schedule (+ warmup) -> torch scheduler."""

from __future__ import annotations

import dataclasses
import functools
import warnings
from collections.abc import Mapping
from typing import Any, Literal, TypeVar, overload

import torch
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

from schedreg.adapters.grouped import GroupedLR, Lane
from schedreg.adapters.groups import check_base_lrs, python_lrs
from schedreg.adapters.guards import Guards
from schedreg.adapters.megatron import MegatronLR
from schedreg.adapters.mmengine import MmengineLR
from schedreg.adapters.multiplier import AbsoluteLR, MultiplierLambdaLR
from schedreg.adapters.scaled import ScaledLR, adopt
from schedreg.adapters.timm import TimmLR
from schedreg.builders.clock import rescaled
from schedreg.builders.cooldown import cooled
from schedreg.builders.pure import resolved, with_warmup
from schedreg.builders.schedule_free import is_schedule_free, own_warmup
from schedreg.builders.warmup import joined, routed_to_schedule_free, warmup_length
from schedreg.config.dialects import PeerNode
from schedreg.config.parse import find_solver, plain, saved_solver, solver_config
from schedreg.config.solver import SolverConfig, fingerprint, schedule_identity
from schedreg.errors import ConfigError
from schedreg.registry import SCHEDULERS, Entry
from schedreg.schedules.core import Constant, LrSchedule, Schedule
from schedreg.schedules.megatron import MegatronSchedule
from schedreg.schedules.mmengine import MmengineSchedule
from schedreg.schedules.timm import TimmSchedule


def build_lr_scheduler(cfg: Any, optimizer: Optimizer) -> LRScheduler:
    """Build the lr scheduler a config describes.

    Args:
        cfg: a config with a ``SOLVER`` (detectron2) or ``solver`` node, or that node
            itself; a ``DictConfig``, ``dict``, ``CfgNode`` or any attribute object.
        optimizer: the optimizer to schedule. Each param group keeps its own base lr
            (``initial_lr``); the schedule multiplies it.

    Returns:
        A :class:`~torch.optim.lr_scheduler.LRScheduler`: step it once per iteration, after
        ``optimizer.step()``. The lr used in iteration ``i`` is the one set after ``i``
        calls of ``step()``. With ``param_groups`` rules or ``param_schedules`` it is a
        :class:`~schedreg.adapters.GroupedLR`, which gives each group its own schedule.

    Raises:
        ConfigError: for any invalid value, naming the key.
    """
    config = solver_config(cfg)
    solver = routed_to_schedule_free(config, optimizer)
    warn_unreached_batches(solver)
    given = warmup_length(config) if solver is not config else 0  # to a schedule-free optimizer
    guards = run_guards(solver, given, saved_source(cfg))
    python_lrs(optimizer.param_groups)
    check_base_lrs(  # before any library's constructor reads them
        [g.get("initial_lr", g["lr"]) for g in optimizer.param_groups],
        f"{solver.path('lr_scheduler_name')}={solver.lr_scheduler_name!r}",
    )
    if not solver.param_groups and not solver.param_schedules:
        return checked_for_schedule_free(
            build_from_solver(solver, optimizer, guards=guards), solver, optimizer
        )
    check_rules_find_groups(solver, optimizer)
    return GroupedLR(
        optimizer,
        functools.partial(lane_key, solver),
        functools.partial(build_lane, solver),
        functools.partial(group_param_schedules, param_schedule_table(solver)),
        guards,
    )


def warn_unreached_batches(solver: SolverConfig) -> None:
    """Warn where a batch-size ramp's sizes start at or after the run's end (``max_iter``):
    never trained on, the mark of a threshold in another unit (samples for tokens)."""
    ramp = solver.batch_size_schedule
    late = [at for at in ramp.thresholds if at >= solver.max_iter] if ramp is not None else []
    if late:
        warnings.warn(
            f"{solver.path('batch_size_schedule')}: the batch sizes from {late[0]:,} {solver.clock} on are "
            f"never reached: {solver.path('max_iter')} is {solver.max_iter:,} {solver.clock}",
            UserWarning,
            stacklevel=3,
        )


def saved_source(cfg: Any) -> dict[str, Any] | None:
    """The solver node ``cfg`` holds, as plain data a checkpoint can carry (and
    ``torch.load(weights_only=True)`` read): None where it holds anything else (a function
    in ``args``), or is a validated :class:`SolverConfig`."""
    node, path = find_solver(cfg)
    if isinstance(node, SolverConfig):
        return None
    if isinstance(node, PeerNode):
        source = {
            "node": plain(node.node),
            "path": node.path,
            "spelled": dict(node.spelled),
            "peer": node.peer,
        }
    else:
        source = {"node": plain(node), "path": path, "spelled": {}, "peer": ""}
    return source if _plain_data(source) else None


def _plain_data(value: Any) -> bool:
    if isinstance(value, Mapping):
        return all(isinstance(k, str) and _plain_data(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return all(map(_plain_data, value))
    return value is None or isinstance(value, (str, int, float, bool))


def rebuilt(source: Mapping[str, Any], optimizer: Optimizer) -> LRScheduler:
    """The scheduler a checkpoint's saved solver node builds over ``optimizer``."""
    return build_lr_scheduler(saved_solver({"solver": source}), optimizer)


def checked_for_schedule_free(scheduler: Lane, solver: SolverConfig, optimizer: Optimizer) -> Lane:
    """``scheduler``, checked for a schedule-free optimizer, which averages its iterates with
    weights of the largest lr seen and is meant to run at a constant lr after its own warmup:
    a schedule that rises (a warmup of its own: timm's ``warmup_t``, DeepSpeed's) on top of the
    optimizer's is refused, and one that decays is warned of."""
    if not is_schedule_free(optimizer) or not getattr(scheduler, "has_closed_form", True):
        return scheduler
    steps = sorted({0, 1, 2, 5, *(round(solver.max_iter * f) for f in (0.01, 0.1, 0.5, 1.0))})
    lrs = [float(scheduler.lrs_at(step)[0]) for step in steps]
    peak = max(lrs)
    if lrs[0] < peak * (1 - 1e-9) and own_warmup(optimizer):
        raise ConfigError(
            f"{solver.path('lr_scheduler_name')}={solver.lr_scheduler_name!r} warms up itself, and so does "
            f"the schedule-free optimizer (warmup_steps={own_warmup(optimizer)}); keep one warmup"
        )
    if lrs[-1] < peak * (1 - 1e-9):
        warnings.warn(
            f"{solver.path('lr_scheduler_name')}={solver.lr_scheduler_name!r} decays the lr of a "
            f"schedule-free optimizer ({peak:g} to {lrs[-1]:g} by max_iter): it is meant to run at a "
            "constant lr after its warmup (solver=anytime, or constant_with_warmup); a decay changes the "
            "average it returns",
            UserWarning,
            stacklevel=3,
        )
    return scheduler


def check_rules_find_groups(solver: SolverConfig, optimizer: Optimizer) -> None:
    """Refuse a rule with a schedule of its own that no param group is named after (groups
    are matched to rules by ``name``): it would be silently unused."""
    names = {group.get("name") for group in optimizer.param_groups}
    for rule in solver.param_groups:
        own = rule.schedule is not None and (
            rule.schedule.explicit - {"lr", "lr_factor"} or rule.schedule.param_schedules
        )
        if own and rule.name not in names and not rule.optional:
            seen = ", ".join(sorted(repr(n) for n in names if n is not None)) or "none has a name"
            raise ConfigError(
                f"{rule.path} sets a schedule for the param groups named {rule.name!r}, but the optimizer "
                f"has no such group (names: {seen}); build the groups with schedreg.build_param_groups, give "
                "each group a 'name', or set optional: true"
            )


def run_guards(solver: SolverConfig, optimizer_warmup: int, source: dict[str, Any] | None) -> Guards:
    """The checks of the scheduler ``solver`` describes: its fingerprint (with the warmup it
    gave a schedule-free optimizer) and resume policy, the solver node ``source`` it was
    built from, its clock, and, for a schedule stepped once per epoch, its length in epochs."""
    epochs = None
    if solver.units.step_unit == "epoch" and "max_iter" in solver.explicit:
        rules = [rule.schedule.max_iter for rule in solver.param_groups if rule.schedule is not None]
        epochs = max([solver.max_iter, *rules])  # the longest schedule of any group
    return Guards(
        fingerprint={**fingerprint(resolve(solver)[1]), "optimizer_warmup": repr(optimizer_warmup)},
        on_resume_change=solver.on_resume_change,
        epochs=epochs,
        epoch_keys=(solver.path("max_iter"), solver.path("iters_per_epoch")),
        policy_key=solver.path("on_resume_change"),
        advance_on=solver.advance_on,
        clock=solver.stepping,
        source=source,
        rebuild=rebuilt,
    )


def resolve(solver: SolverConfig) -> tuple[Entry[Any], SolverConfig]:
    """The registry entry ``solver`` names, and ``solver`` with that entry's defaults."""
    entry = SCHEDULERS.entry(solver.lr_scheduler_name, key=solver.path("lr_scheduler_name"))
    return entry, resolved(entry, solver)


def _call(entry: Entry[Any], solver: SolverConfig, optimizer: Optimizer | None) -> Any:
    """The entry's builder, given what it takes (see :attr:`Entry.takes`); a builder that
    takes an optimizer gets ``optimizer``, or :func:`unit_optimizer` where there is none."""
    if optimizer is None and "optimizer" in entry.takes:
        optimizer = unit_optimizer()
    args = (solver, optimizer) if "optimizer" in entry.takes else (solver,)
    if "build_child" in entry.takes:
        return entry.builder(*args, build_child=build_child)
    return entry.builder(*args)


def build_child(solver: SolverConfig, optimizer: Optimizer) -> LRScheduler:
    """A child of ``SequentialLR``/``ChainedScheduler``: torch's scheduler as it is (its
    parent steps it), without warmup (the outer solver's warmup covers the whole run)."""
    if "warmup_iters" in solver.explicit and solver.warmup_iters:
        raise ConfigError(
            f"{solver.path('warmup_iters')} must be 0 in a nested scheduler, got "
            f"{solver.warmup_iters}: warmup applies to the whole schedule, set it on the outer solver"
        )
    no_warmup = dataclasses.replace(solver, warmup_iters=0, explicit=solver.explicit | {"warmup_iters"})
    return build_from_solver(no_warmup, optimizer, nested=True)


@overload
def build_from_solver(
    solver: SolverConfig,
    optimizer: Optimizer,
    *,
    nested: Literal[False] = False,
    guards: Guards | None = None,
) -> Lane: ...
@overload
def build_from_solver(
    solver: SolverConfig, optimizer: Optimizer, *, nested: bool, guards: Guards | None = None
) -> LRScheduler: ...
def build_from_solver(
    solver: SolverConfig, optimizer: Optimizer, *, nested: bool = False, guards: Guards | None = None
) -> LRScheduler:
    """Build from a validated solver node; ``nested`` returns torch's schedulers unwrapped."""
    entry, solver = resolve(solver)
    built = _call(entry, solver, optimizer)
    name = f"{solver.path('lr_scheduler_name')}={solver.lr_scheduler_name!r}"  # what error messages name
    if isinstance(built, LRScheduler):
        cooled(built, solver)  # refuses a cooldown: torch's schedulers step their own way
        if nested:
            return built
        make = functools.partial(_call, entry, solver)
        warmup = None if entry.own_warmup or not warmup_length(solver) else joined(Constant(1.0), solver)
        return ended(adopt(built, make, warmup, name, guards), solver)
    if isinstance(built, LrSchedule):
        if not entry.own_warmup and warmup_length(solver):
            raise ConfigError(
                f"{solver.path('warmup_iters')}: {name} gives absolute lrs, which a warmup cannot multiply; "
                "register it with own_warmup=True and warm up inside it, or set warmup_iters to 0"
            )
        identify(guards, built)
        built = cooled(rescaled(built, solver), solver)
        return ended(adapter_of(built)(optimizer, built, name, guards), solver)
    if callable(built):
        schedule = with_warmup(entry, built, solver)
        identify(guards, schedule)  # the main schedule: a cooldown is recorded on its own
        schedule = cooled(rescaled(schedule, solver), solver)
        if isinstance(schedule, LrSchedule):  # cooled to an absolute lr
            return ended(AbsoluteLR(optimizer, schedule, name, guards), solver)
        return ended(MultiplierLambdaLR(optimizer, schedule, name, guards), solver)
    raise TypeError(
        f"the builder registered as {solver.lr_scheduler_name!r} returned {type(built).__name__}; "
        "expected an LRScheduler or a schedule (a function of the step, or an LrSchedule of absolute lrs)"
    )


ADAPTERS: tuple[tuple[type, type[AbsoluteLR]], ...] = (
    (TimmSchedule, TimmLR),
    (MegatronSchedule, MegatronLR),
    (MmengineSchedule, MmengineLR),
)
"""The peers' own stepping protocols, by the schedule they drive; others step as :class:`AbsoluteLR`."""


def adapter_of(schedule: LrSchedule) -> type[AbsoluteLR]:
    """The scheduler class that steps ``schedule``."""
    return next((adapter for kind, adapter in ADAPTERS if isinstance(schedule, kind)), AbsoluteLR)


def identify(guards: Guards | None, schedule: Any) -> None:
    """Record in the fingerprint what a pure schedule was built to (its fields, defaults
    included), so that resuming under a config that spells the same schedule otherwise (an
    argument's default written out) is no change."""
    if guards is not None and guards.fingerprint is not None and dataclasses.is_dataclass(schedule):
        guards.fingerprint["schedule"] = repr(dataclasses.asdict(schedule))  # type: ignore[arg-type]


S = TypeVar("S", bound=LRScheduler)


def ended(scheduler: S, solver: SolverConfig) -> S:
    """``scheduler``, once its lrs at the run's end are in float's range (torch's
    ``ExponentialLR`` with ``gamma: 1.5``, a peer's ``gamma: 10``): refused at build, not at
    the step it overflows. Only where that end is one lookup: torch's closed forms at
    ``max_iter``, schedreg's at a ``max_iter`` the config sets (not mmengine's lists, which
    are replayed step by step and checked as they run)."""
    if isinstance(scheduler, ScaledLR):
        closed = scheduler.has_closed_form
    else:
        closed = "max_iter" in solver.explicit and not isinstance(
            getattr(scheduler, "schedule", None), MmengineSchedule
        )
    branch = solver.cooldown
    if closed and branch is not None and branch.to_lr is not None:  # a cooldown falls, never rises
        at_start = [float(lr) for lr in scheduler.lrs_at(branch.start)]  # type: ignore[attr-defined]
        above = [i for i, lr in enumerate(at_start) if branch.to_lr > lr]
        if above:
            raise ConfigError(
                f"{solver.path('cooldown')}.to_lr={branch.to_lr} is above param group {above[0]}'s lr at the "
                f"cooldown's start ({at_start[above[0]]:g}): a cooldown falls to it; use to (a fraction)"
            )
    if closed:
        try:
            scheduler.lrs_at(solver.max_iter)  # type: ignore[attr-defined]
        except ConfigError as exc:
            raise ConfigError(
                f"{solver.path('args')}: by {solver.path('max_iter')}={solver.max_iter} the lr leaves "
                f"float's range ({exc})"
            ) from exc
    return scheduler


def build_schedule(solver: SolverConfig) -> Schedule:
    """The pure schedule (with warmup) ``solver`` names; for group keys other than the lr."""
    entry, solver = resolve(solver)
    built = _call(entry, solver, None)
    if isinstance(built, (LRScheduler, LrSchedule)) or not callable(built):
        raise ConfigError(
            f"{solver.path('lr_scheduler_name')}: {solver.lr_scheduler_name} drives the lr only; a schedule "
            "of another param-group key needs a schedule that is a function of the step "
            "(detectron2's Warmup* schedules, Interpolate, or your own)"
        )
    return with_warmup(entry, built, solver)


def unit_optimizer() -> Optimizer:
    """What a builder that takes an optimizer gets for the schedule of a param-group key
    other than the lr: an optimizer whose lr is 1, so that what the builder reads relative to
    the lr (transformers' ``lr_end``, ``min_lr``) is a multiplier."""
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)


def group_solver(solver: SolverConfig, group: dict[str, Any]) -> SolverConfig:
    """The solver a param group follows: its rule's schedule (by ``name``), or ``solver``."""
    rule = next((r for r in solver.param_groups if r.name == group.get("name")), None)
    return rule.schedule if rule is not None and rule.schedule is not None else solver


def lane_key(solver: SolverConfig, group: dict[str, Any]) -> tuple[Any, ...]:
    """Groups with equal keys share one scheduler."""
    return schedule_identity(group_solver(solver, group))


def build_lane(solver: SolverConfig, group: dict[str, Any], view: Optimizer) -> Lane:
    """The scheduler of the groups in ``view``, which follow ``group``'s schedule."""
    return build_from_solver(group_solver(solver, group), view)


def param_schedule_table(solver: SolverConfig) -> dict[str | None, dict[str, Schedule]]:
    """Per rule name (None: groups no rule names), the schedules of keys other than the lr.

    A rule's own ``param_schedules`` replace the solver's key by key.
    """
    default = {key: build_schedule(node) for key, node in solver.param_schedules.items()}
    table: dict[str | None, dict[str, Schedule]] = {None: default}
    for rule in solver.param_groups:
        own = rule.schedule.param_schedules if rule.schedule is not None else {}
        table[rule.name] = {**default, **{key: build_schedule(node) for key, node in own.items()}}
    return table


def group_param_schedules(
    table: dict[str | None, dict[str, Schedule]], group: dict[str, Any]
) -> dict[str, Schedule]:
    """``group``'s row of :func:`param_schedule_table`."""
    return table.get(group.get("name"), table[None])
