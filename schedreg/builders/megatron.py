"""Megatron-LM's ``OptimizerParamScheduler`` as ``megatron.OptimizerParamScheduler``, with
its keyword names as ``solver.args``: ``init_lr``, ``max_lr``, ``min_lr``,
``lr_warmup_steps``, ``lr_decay_steps``, ``lr_decay_style``, ``wsd_decay_steps``,
``lr_wsd_decay_style``, ``start_wd``, ``end_wd``, ``wd_incr_steps``, ``wd_incr_style``, and
``increment`` (what one ``step()`` adds to Megatron's count: 1, or the global batch size
where the lengths are in samples).

Megatron's own arguments (``lr_warmup_iters``, ``lr_decay_samples``, ...) read as these:
:mod:`schedreg.config.dialects`. ``solver.max_iter`` and ``solver.warmup_iters`` fill
``lr_decay_steps`` (and ``wd_incr_steps``) and ``lr_warmup_steps`` where ``args`` leaves them
out (times ``increment``: they count steps).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from schedreg.config.checks import MAX_COUNT
from schedreg.config.solver import SolverConfig
from schedreg.errors import ConfigError
from schedreg.registry import register_scheduler
from schedreg.schedules import megatron

if TYPE_CHECKING:
    from torch.optim import Optimizer

NAME = "megatron.OptimizerParamScheduler"
LRS = ("init_lr", "max_lr", "min_lr", "start_wd", "end_wd")
"""Keys that are lrs or weight decays: finite numbers >= 0."""
LENGTHS = ("lr_warmup_steps", "lr_decay_steps", "wsd_decay_steps", "wd_incr_steps")
"""Keys that count Megatron's steps: finite numbers >= 0 (a warmup fraction makes a float)."""
STYLES = {
    "lr_decay_style": megatron.DECAY_STYLES,
    "lr_wsd_decay_style": megatron.WSD_STYLES,
    "wd_incr_style": megatron.WD_STYLES,
}
RESUME_KEYS = ("use_checkpoint_opt_param_scheduler", "override_opt_param_scheduler")
KEYS = (*LRS, *LENGTHS, *STYLES, "increment", *RESUME_KEYS)
FROM_SOLVER = {"lr_decay_steps": "max_iter", "lr_warmup_steps": "warmup_iters", "wd_incr_steps": "max_iter"}


@register_scheduler(NAME, own_warmup=True)
def optimizer_param_scheduler(solver: SolverConfig, optimizer: Optimizer) -> megatron.MegatronSchedule:
    """Megatron's ``OptimizerParamScheduler``: a linear warmup from ``init_lr``, then
    constant, linear, cosine, inverse-square-root or WSD decay to ``min_lr`` at
    ``lr_decay_steps``; each group's peak is its own lr (or its ``max_lr`` key, as in
    Megatron), ``min_lr`` and ``init_lr`` absolute. With ``start_wd``/``end_wd`` it writes
    each group's weight decay too, times its ``wd_mult``."""
    path = solver.path("args")
    args = _checked(solver, path)
    if args.get("lr_decay_steps") is None:
        raise ConfigError(f"{path}.lr_decay_steps is required by {NAME} (or set {solver.path('max_iter')})")
    style = args.get("lr_decay_style", "linear")
    if args["lr_decay_steps"] <= 0:
        raise ConfigError(
            f"{path}.lr_decay_steps must be > 0 (Megatron asserts it), got {args['lr_decay_steps']}"
        )
    warmup = args.get("lr_warmup_steps", 0)
    if warmup >= args["lr_decay_steps"]:
        raise ConfigError(
            f"{path}.lr_warmup_steps={warmup} must be below lr_decay_steps={args['lr_decay_steps']} "
            "(Megatron asserts it)"
        )
    if style == "WSD" and args.get("wsd_decay_steps") is None:
        raise ConfigError(f"{path}.wsd_decay_steps is required by lr_decay_style WSD")
    if style == "WSD" and not 0 < args["wsd_decay_steps"] <= args["lr_decay_steps"]:
        raise ConfigError(
            f"{path}.wsd_decay_steps must be in (0, lr_decay_steps={args['lr_decay_steps']}], got "
            f"{args['wsd_decay_steps']}"
        )
    wd = _weight_decay(args, path)
    schedule = megatron.MegatronSchedule(
        lr_decay_steps=args["lr_decay_steps"],
        lr_decay_style=style,
        lr_warmup_steps=warmup,
        init_lr=float(args.get("init_lr", 0.0)),
        min_lr=float(args.get("min_lr", 0.0)),
        wsd_decay_steps=args.get("wsd_decay_steps"),
        lr_wsd_decay_style=args.get("lr_wsd_decay_style", "exponential" if style == "WSD" else None),
        increment=args.get("increment", 1),
        max_lr=None if args.get("max_lr") is None else float(args["max_lr"]),
        **wd,
    )
    _check_groups(schedule, args.get("max_lr"), optimizer, path)
    return schedule


def _checked(solver: SolverConfig, path: str) -> dict[str, Any]:
    """``solver.args`` over the solver keys the user set, each value checked."""
    for key in ("warmup_method", "warmup_factor"):
        if key in solver.explicit:
            raise ConfigError(
                f"{solver.path(key)}: {NAME} warms up Megatron's own way, linearly from {path}.init_lr "
                f"over {path}.lr_warmup_steps; choose solver/warmup=own"
            )
    unknown = sorted(set(solver.args) - set(KEYS))
    if unknown:
        raise ConfigError(f"unknown argument {path}.{unknown[0]} for {NAME}; allowed: {', '.join(KEYS)}")
    for key in RESUME_KEYS:
        if solver.args.get(key):
            raise ConfigError(
                f"{path}.{key}: schedreg's resume guard decides what a changed schedule does on resume; "
                f"set {solver.path('on_resume_change')} (error; reschedule: the config wins; use_checkpoint: "
                "the checkpoint wins) instead"
            )
    args = {k: v for k, v in solver.args.items() if k not in RESUME_KEYS}
    increment = args.get("increment", 1)
    if isinstance(increment, bool) or not isinstance(increment, int) or not 1 <= increment <= MAX_COUNT:
        raise ConfigError(f"{path}.increment must be an integer >= 1 (samples per step), got {increment!r}")
    if increment != 1 and solver.clock != "step":
        raise ConfigError(
            f"{path}.increment={increment}: on {solver.path('clock')}={solver.clock!r} the scheduler counts "
            "what each update consumed (step(increment=samples)), so its lengths are in that unit; drop it"
        )
    for arg, key in FROM_SOLVER.items():  # the solver's lengths count steps; Megatron's, increments
        if args.get(arg) is None and key in solver.explicit:
            args[arg] = getattr(solver, key) * increment
    if (
        "warmup_iters" in solver.explicit
        and args.get("lr_warmup_steps", 0) != solver.warmup_iters * increment
    ):
        raise ConfigError(
            f"{path}.lr_warmup_steps={args['lr_warmup_steps']} and {solver.path('warmup_iters')}="
            f"{solver.warmup_iters} (x increment {increment}) both set the warmup, differently; keep one"
        )
    run = solver.max_iter if "max_iter" in solver.explicit else None
    for key in LENGTHS:  # "20%", "2ep": of the run's steps, each ``increment`` of Megatron's
        if isinstance(args.get(key), str):
            args[key] = solver.units.steps(f"{path}.{key}", args[key], run) * increment
    for key in (*LRS, *LENGTHS):
        value = args.get(key)
        if value is None:
            args.pop(key, None)
            continue
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not number or not 0 <= value <= MAX_COUNT or not math.isfinite(value):
            raise ConfigError(f"{path}.{key} must be a finite number >= 0, got {value!r}")
    for key, allowed in STYLES.items():
        if key in args and args[key] not in allowed:
            raise ConfigError(f"{path}.{key} must be one of {', '.join(allowed)}, got {args[key]!r}")
    return args


def _weight_decay(args: dict[str, Any], path: str) -> dict[str, Any]:
    """The weight-decay fields: none where the config sets no weight decay (the groups keep
    their own), else Megatron's, checked as Megatron asserts them."""
    start, end, style = args.get("start_wd"), args.get("end_wd"), args.get("wd_incr_style", "constant")
    if start is None and end is None:
        if style != "constant":
            raise ConfigError(f"{path}.wd_incr_style={style!r} needs start_wd and end_wd")
        return {}
    if start is None or end is None:
        raise ConfigError(f"{path}: set both start_wd and end_wd (got {start!r} and {end!r})")
    if end < start:
        raise ConfigError(f"{path}.end_wd={end} must be >= start_wd={start} (Megatron asserts it)")
    if style == "constant" and start != end:
        raise ConfigError(f"{path}: wd_incr_style constant needs start_wd == end_wd, got {start} and {end}")
    steps = args.get("wd_incr_steps")
    if style != "constant" and not steps:
        raise ConfigError(f"{path}.wd_incr_steps must be > 0 for wd_incr_style {style!r}, got {steps!r}")
    return {
        "start_wd": float(start),
        "end_wd": float(end),
        "wd_incr_steps": steps or 0,
        "wd_incr_style": style,
    }


def _check_groups(
    schedule: megatron.MegatronSchedule, max_lr: float | None, optimizer: Optimizer, path: str
) -> None:
    """Megatron's peak is ``max_lr`` in every group without its own: a group built at another
    lr is refused (one of the two would be silently dropped), as is a peak below ``min_lr``
    or ``init_lr``."""
    for i, group in enumerate(optimizer.param_groups):
        own = "max_lr" in group
        peak = float(group["max_lr"] if own else group.get("initial_lr", group["lr"]))
        if max_lr is not None and not own and peak != max_lr:
            raise ConfigError(
                f"{path}.max_lr={max_lr} is Megatron's peak lr, but param group {i} has lr {peak}: build the "
                "optimizer at that lr, give the group its own peak as 'max_lr' (Megatron's group key), or "
                "leave max_lr out to peak at each group's lr"
            )
        low = float(group.get("min_lr", schedule.min_lr))
        if peak < low or peak < schedule.init_lr:
            raise ConfigError(
                f"{path}: param group {i}'s peak lr {peak} is below min_lr={low} or init_lr="
                f"{schedule.init_lr} (Megatron asserts min_lr <= max_lr and init_lr <= max_lr)"
            )
    _check_weight_decay(schedule, optimizer, path)


def _check_weight_decay(schedule: megatron.MegatronSchedule, optimizer: Optimizer, path: str) -> None:
    """A group's ``wd_mult`` means something only under a weight-decay schedule: without
    one, it would be silently ignored."""
    groups = optimizer.param_groups
    marked = [i for i, g in enumerate(groups) if g.get("wd_mult", 1.0) != 1.0]
    if marked and not schedule.schedules_weight_decay:
        raise ConfigError(
            f"{path}: param group {marked[0]} has wd_mult {groups[marked[0]]['wd_mult']}, but the config "
            "sets no weight decay for it to multiply; set Megatron's weight_decay (or start_wd/end_wd)"
        )
