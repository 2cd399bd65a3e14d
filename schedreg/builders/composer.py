"""composer's scheduler classes, qualified (``composer.CosineAnnealingWithWarmupScheduler``),
with their arguments as ``solver.args`` and composer's time strings: ``"100ba"``, ``"2ep"``,
``"0.1dur"``, ``"3e4tok"``, ``"1000sp"``.

Besides the class's arguments, ``args`` holds what composer reads off its Trainer's state:
``max_duration`` (a time string, or a number of epochs), ``samples_per_batch`` and
``tokens_per_batch`` (for times in ``sp`` and ``tok``), and ``trainer_lag`` (true: composer's
Trainer's numbers, one batch late). An epoch is ``solver.iters_per_epoch`` batches (composer's
dataloader length). ``solver.max_iter`` and ``solver.warmup_iters`` fill ``max_duration`` and
``t_warmup`` (in batches) where ``args`` leaves them out.

llm-foundry's ``scheduler: {name: cosine_with_warmup, ...}`` reads as these names:
:mod:`schedreg.config.dialects`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from schedreg.config.checks import MAX_COUNT
from schedreg.config.composer_time import parse_time
from schedreg.config.solver import SolverConfig
from schedreg.errors import ConfigError
from schedreg.registry import register_scheduler
from schedreg.schedules import composer

REQUIRED = object()
ARGUMENTS: dict[str, dict[str, Any]] = {
    "StepScheduler": {"step_size": REQUIRED, "gamma": 0.1},
    "MultiStepScheduler": {"milestones": REQUIRED, "gamma": 0.1},
    "ConstantScheduler": {"alpha": 1.0, "t_max": "1dur"},
    "LinearScheduler": {"alpha_i": 1.0, "alpha_f": 0.0, "t_max": "1dur"},
    "ExponentialScheduler": {"gamma": REQUIRED, "decay_period": "1ep"},
    "CosineAnnealingScheduler": {"t_max": "1dur", "alpha_f": 0.0},
    "CosineAnnealingWarmRestartsScheduler": {"t_0": REQUIRED, "t_mult": 1.0, "alpha_f": 0.0},
    "PolynomialScheduler": {"power": REQUIRED, "t_max": "1dur", "alpha_f": 0.0},
    "MultiStepWithWarmupScheduler": {"t_warmup": REQUIRED, "milestones": REQUIRED, "gamma": 0.1},
    "ConstantWithWarmupScheduler": {"t_warmup": REQUIRED, "alpha": 1.0, "t_max": "1dur"},
    "LinearWithWarmupScheduler": {"t_warmup": REQUIRED, "alpha_i": 1.0, "alpha_f": 0.0, "t_max": "1dur"},
    "CosineAnnealingWithWarmupScheduler": {"t_warmup": REQUIRED, "t_max": "1dur", "alpha_f": 0.0},
    "PolynomialWithWarmupScheduler": {"t_warmup": REQUIRED, "power": 2.0, "t_max": "1dur", "alpha_f": 0.0},
    "InverseSquareRootWithWarmupScheduler": {
        **{"t_warmup": REQUIRED, "t_scale": REQUIRED, "t_cooldown": REQUIRED, "t_max": "1dur"},
        **{"alpha_f_decay": 0.0, "alpha_f_cooldown": 0.0},
    },
}
"""Each class's arguments and their defaults, as composer's ``__init__`` has them."""
STATE = {"max_duration": None, "samples_per_batch": None, "tokens_per_batch": None, "trainer_lag": False}
"""What composer's Trainer state gives the scheduler, as ``args`` keys."""
TIMES = ("t_max", "t_warmup", "step_size", "decay_period", "t_0", "t_scale", "t_cooldown")
WARMUP_DURATION_CHECKED = (
    "ConstantWithWarmupScheduler",
    "LinearWithWarmupScheduler",
    "CosineAnnealingWithWarmupScheduler",
    "PolynomialWithWarmupScheduler",
)
"""The classes that refuse a ``t_max`` shorter than ``max_duration``."""


@dataclass(frozen=True)
class Clock:
    """What composer's state converts times with: ``max_duration`` and the dataloader's length."""

    max_duration: tuple[float, str] | None
    iters_per_epoch: int | None
    path: str

    def convert(self, key: str, raw: tuple[float, str]) -> composer.Time:
        """composer's ``_convert_time`` (without a scale-schedule ratio): ``dur`` in
        ``max_duration``'s unit, epochs in batches."""
        value, unit = raw
        if unit == "dur":
            if self.max_duration is None:
                raise ConfigError(f"{self.path}.{key} is a fraction of max_duration, which is not set")
            total, total_unit = self.max_duration
            if total_unit == "ep":
                return int(value * self._epoch(key) * total), "ba"
            return int(value * total), total_unit
        if unit == "ep":
            return int(value * self._epoch(key) * 1.0), "ba"
        return int(value), unit

    def _epoch(self, key: str) -> int:
        if self.iters_per_epoch is None:
            raise ConfigError(
                f"{self.path}.{key} counts epochs: set iters_per_epoch (composer's dataloader length)"
            )
        return self.iters_per_epoch


@dataclass(frozen=True)
class ComposerBuilder:
    """composer's ``name`` from ``solver.args``, times converted and checked where composer
    would raise, divide by 0 or loop forever mid-run."""

    name: str

    def __call__(self, solver: SolverConfig) -> composer.ComposerSchedule:
        return build(self.name, solver)

    @property
    def about(self) -> str:
        """What the schedule is, in one line (``schedreg list``)."""
        return f"composer's {self.name}: {ABOUT[self.name]} (of each group's lr; t in its time's unit)"


ABOUT = {
    "StepScheduler": "gamma ** floor(t / step_size)",
    "MultiStepScheduler": "gamma ** (the milestones passed)",
    "ConstantScheduler": "alpha until t_max, then 1",
    "LinearScheduler": "alpha_i to alpha_f linearly over t_max",
    "ExponentialScheduler": "gamma ** (t / decay_period)",
    "CosineAnnealingScheduler": "a cosine from 1 to alpha_f over t_max",
    "CosineAnnealingWarmRestartsScheduler": "cosines from 1 to alpha_f, t_0 long, each t_mult times the last",
    "PolynomialScheduler": "alpha_f + (1 - alpha_f) (1 - t / t_max) ** power",
    "MultiStepWithWarmupScheduler": "t / t_warmup, then gamma ** (the milestones passed)",
    "ConstantWithWarmupScheduler": "t / t_warmup up to alpha, then alpha",
    "LinearWithWarmupScheduler": "t / t_warmup up to alpha_i, then linearly to alpha_f at t_max",
    "CosineAnnealingWithWarmupScheduler": "t / t_warmup, then a cosine to alpha_f at t_max",
    "PolynomialWithWarmupScheduler": "t / t_warmup, then (1 - tau) ** power down to alpha_f at t_max",
    "InverseSquareRootWithWarmupScheduler": (
        "llm-foundry's: t / t_warmup, an inverse square root of t_scale, a linear cooldown over t_cooldown"
    ),
}
"""Each class in one line."""


def build(name: str, solver: SolverConfig) -> composer.ComposerSchedule:
    path, given = solver.path("args"), dict(solver.args)
    for key in ("warmup_method", "warmup_factor"):
        if key in solver.explicit and "t_warmup" in ARGUMENTS[name]:
            raise ConfigError(
                f"{solver.path(key)}: {solver.lr_scheduler_name} warms up composer's own way, "
                "t / t_warmup from 0; choose solver/warmup=own"
            )
    # composer's warmup classes take scale_warmup; llm-foundry's InverseSquareRootWithWarmupScheduler does not
    scales_warmup = "t_warmup" in ARGUMENTS[name] and name != "InverseSquareRootWithWarmupScheduler"
    allowed = {**ARGUMENTS[name], **STATE, **({"scale_warmup": False} if scales_warmup else {})}
    unknown = sorted(set(given) - set(allowed))
    if unknown:
        raise ConfigError(
            f"unknown argument {path}.{unknown[0]} for composer's {name}; allowed: {', '.join(allowed)}"
        )
    if "max_duration" not in given and "max_iter" in solver.explicit:
        given["max_duration"] = f"{solver.max_iter}ba"
    if "t_warmup" in allowed and "t_warmup" not in given and "warmup_iters" in solver.explicit:
        given["t_warmup"] = f"{solver.warmup_iters}ba"
    args = {**allowed, **given}
    missing = [k for k, v in args.items() if v is REQUIRED]
    if missing:
        raise ConfigError(f"{path}.{missing[0]} is required by composer's {name}")
    clock = Clock(_max_duration(path, args["max_duration"]), solver.iters_per_epoch, path)
    per_batch = {"ba": 1, "sp": args["samples_per_batch"], "tok": args["tokens_per_batch"]}
    for arg, key in (("max_duration", "max_iter"), ("t_warmup", "warmup_iters")):
        if key in solver.explicit and arg in solver.args:  # both set: they must say the same
            time = clock.max_duration if arg == "max_duration" else parse_time(f"{path}.{arg}", args[arg])
            value, unit = clock.convert(arg, time) if time is not None else (None, "ba")
            if value != getattr(solver, key) * (per_batch[unit] or 0):
                raise ConfigError(
                    f"{path}.{arg}={solver.args[arg]!r} and {solver.path(key)}={getattr(solver, key)} "
                    "both set it, differently; keep one"
                )
    raw = {k: parse_time(f"{path}.{k}", args[k]) for k in TIMES if k in args}
    fields: dict[str, Any] = {k: clock.convert(k, v) for k, v in raw.items()}
    if "milestones" in args:
        fields["milestones"] = _milestones(path, args["milestones"], clock)
    for key in (
        "alpha",
        "alpha_i",
        "alpha_f",
        "gamma",
        "power",
        "t_mult",
        "alpha_f_decay",
        "alpha_f_cooldown",
    ):
        if key in args:
            fields[key] = _number(f"{path}.{key}", args[key], positive=key == "t_mult")
    for key in ("samples_per_batch", "tokens_per_batch"):
        if args[key] is not None:
            fields[key] = _count(f"{path}.{key}", args[key])
    if not isinstance(args["trainer_lag"], bool) or not isinstance(args.get("scale_warmup", False), bool):
        raise ConfigError(f"{path}.trainer_lag and scale_warmup must be true or false")
    fields["lag"] = int(args["trainer_lag"])
    schedule = composer.ComposerSchedule(name, **fields)
    _check(schedule, path, raw, clock, args)
    return schedule


def _max_duration(path: str, value: Any) -> tuple[float, str] | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):  # composer's Trainer reads a number as epochs
        value = f"{value}ep"
    number, unit = parse_time(f"{path}.max_duration", value)
    if unit == "dur":
        raise ConfigError(
            f"{path}.max_duration={value!r} must be in ba, ep, sp or tok, not a fraction of itself"
        )
    return number, unit


def _milestones(path: str, value: Any, clock: Clock) -> tuple[composer.Time, ...]:
    if not isinstance(value, (list, tuple)):
        raise ConfigError(f"{path}.milestones must be a list of time strings, got {value!r}")
    return tuple(
        clock.convert(f"milestones[{i}]", parse_time(f"{path}.milestones[{i}]", v))
        for i, v in enumerate(value)
    )


def _number(path: str, value: Any, positive: bool) -> float:
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not number or not 0 <= value < math.inf or (positive and value == 0):
        raise ConfigError(f"{path} must be a finite number {'>' if positive else '>='} 0, got {value!r}")
    return float(value)


def _count(path: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_COUNT:
        raise ConfigError(f"{path} must be an integer >= 1, got {value!r}")
    return value


def _check(
    s: composer.ComposerSchedule,
    path: str,
    raw: dict[str, tuple[float, str]],
    clock: Clock,
    args: dict[str, Any],
) -> None:
    """What composer raises mid-run (or divides by 0 at), refused now."""
    times = {f.name: getattr(s, f.name) for f in dataclasses.fields(s) if f.name in raw}
    units = {unit for _, unit in (*times.values(), *s.milestones)}
    for unit, key in (("sp", "samples_per_batch"), ("tok", "tokens_per_batch")):
        if unit in units and args[key] is None:
            raise ConfigError(
                f"{path}: a time in {unit} needs {path}.{key} (llm-foundry: global_train_batch_size"
                f"{', times max_seq_len' if unit == 'tok' else ''}), to count them per batch"
            )
    if "t_warmup" in times and "t_max" in times and s.t_warmup[1] != s.t_max[1]:
        raise ConfigError(
            f"{path}: t_warmup {args['t_warmup']!r} and t_max {args['t_max']!r} must be in the same unit "
            f"(after conversion: {s.t_warmup[1]} and {s.t_max[1]}; composer refuses it)"
        )
    for key in ("t_max", "step_size", "decay_period", "t_0", "t_scale"):
        divides = not (key == "t_max" and ("t_warmup" in times or s.name == "ConstantScheduler"))
        if key in times and times[key][0] == 0 and divides:
            raise ConfigError(f"{path}.{key} must be above 0 (composer divides by it), got {args[key]!r}")
    if s.name in WARMUP_DURATION_CHECKED:
        _t_max_covers_run(path, s.t_max, clock, args["t_max"])
    if s.name == "InverseSquareRootWithWarmupScheduler":
        _inverse_sqrt(s, path, raw, clock)
    if s.name == "CosineAnnealingWarmRestartsScheduler" and s.t_mult < 1:
        if clock.max_duration is None:  # int(t_mult * length) shrinks to 0 at some step
            raise ConfigError(
                f"{path}.t_mult={s.t_mult} below 1 needs {path}.max_duration (the cycles shrink to 0)"
            )
        end = clock.convert("max_duration", clock.max_duration)
        try:
            s.alpha_at(math.ceil(end[0] / s.clock(1, end[1])))
        except ValueError:
            raise ConfigError(
                f"{path}.t_mult={s.t_mult}: the cycles shrink to length 0 before max_duration "
                "(composer raises)"
            ) from None


def _t_max_covers_run(path: str, t_max: tuple[float, str], clock: Clock, spelled: Any) -> None:
    """composer's ``_raise_if_max_duration_exceeds_t_max``, on the converted ``t_max`` (``0.5dur``
    is half of max_duration) and ``max_duration`` as written."""
    if clock.max_duration is None:
        return
    (value, unit), (total, total_unit) = t_max, clock.max_duration
    per_epoch = clock.iters_per_epoch
    if unit == total_unit:
        short = value < total
    elif unit == "ba" and total_unit == "ep" and per_epoch is not None:
        short = value < total * per_epoch
    elif unit == "ep" and total_unit == "ba" and per_epoch is not None:
        short = value * per_epoch < total
    else:
        return
    if short:
        raise ConfigError(
            f"{path}.t_max={spelled!r} must be at least max_duration "
            "(composer refuses a schedule that ends early)"
        )


def _inverse_sqrt(
    s: composer.ComposerSchedule, path: str, raw: dict[str, tuple[float, str]], clock: Clock
) -> None:
    """llm-foundry's checks: no ``dur`` in the warmup, scale or cooldown, each in
    ``max_duration``'s unit, and a cooldown that does not end above the decay's floor."""
    if s.alpha_f_decay < s.alpha_f_cooldown:
        raise ConfigError(
            f"{path}: alpha_f_decay={s.alpha_f_decay} must be >= alpha_f_cooldown={s.alpha_f_cooldown}"
        )
    total_unit = clock.max_duration[1] if clock.max_duration else None
    for key in ("t_warmup", "t_scale", "t_cooldown"):
        unit = raw[key][1]
        if unit == "dur":
            raise ConfigError(f"{path}.{key} cannot be in dur (llm-foundry refuses it)")
        if total_unit is not None and unit != total_unit:
            raise ConfigError(f"{path}.{key} must be in max_duration's unit {total_unit}, got {unit}")
    units = {s.t_warmup[1], s.t_scale[1], s.t_cooldown[1], s.t_max[1]}
    if len(units) > 1:  # composer subtracts them (it raises on times in different units)
        raise ConfigError(
            f"{path}: t_warmup, t_scale, t_cooldown and t_max must be in one unit, got {sorted(units)}"
        )


def register_all() -> None:
    """Register each of composer's classes as ``composer.<name>``; the warmup ones warm up
    their own way (``t_warmup``), the others take schedreg's warmup on top."""
    for name in composer.SHAPES:
        register_scheduler(f"composer.{name}", own_warmup="t_warmup" in ARGUMENTS[name])(
            ComposerBuilder(name)
        )


register_all()
