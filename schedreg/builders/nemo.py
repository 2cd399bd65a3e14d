"""NeMo's schedule names, qualified (``nemo.CosineAnnealing``), with NeMo's ``sched``
keys as ``solver.args``: ``warmup_steps | warmup_ratio``, ``hold_steps | hold_ratio``,
``constant_steps | constant_ratio``, ``min_lr`` (an absolute lr), ``max_steps``, and per
schedule ``power``, ``cycle``, ``decay_rate``, ``d_model``.

An ``optim.sched`` node reads as these names (and NeMo's torch ones as torch's):
:mod:`schedreg.config.dialects`. ``solver.max_iter`` and ``solver.warmup_iters`` fill
``max_steps`` and ``warmup_steps`` where the node leaves them out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from schedreg.config.solver import SolverConfig
from schedreg.errors import ConfigError
from schedreg.registry import register_scheduler
from schedreg.schedules import nemo

if TYPE_CHECKING:
    from torch.optim import Optimizer

NONNEGATIVE = ("min_lr", "power", "decay_rate")
"""NeMo's real-valued keys, each a finite number >= 0."""
COUNTS = ("warmup_steps", "hold_steps", "constant_steps", "max_steps", "d_model")
RATIOS = ("warmup_ratio", "hold_ratio", "constant_ratio")
KEYS = {
    "all": {"warmup_steps", "warmup_ratio", "max_steps", "min_lr", "last_epoch"},
    "hold": {"hold_steps", "hold_ratio"},
    "CosineAnnealing": {"constant_steps", "constant_ratio"},
    "T5InverseSquareRootAnnealing": {"constant_steps", "constant_ratio"},
    "NoamAnnealing": {"d_model"},
    "NoamHoldAnnealing": {"decay_rate"},
    "PolynomialDecayAnnealing": {"power", "cycle"},
    "PolynomialHoldDecayAnnealing": {"power", "cycle"},
}
"""The ``sched`` keys each schedule takes (``hold``: the names in :data:`nemo.HOLDS`)."""


def allowed_keys(name: str) -> set[str]:
    return KEYS["all"] | (KEYS["hold"] if name in nemo.HOLDS else set()) | KEYS.get(name, set())


@dataclass(frozen=True)
class NemoBuilder:
    """One of NeMo's schedules from its ``sched`` keys (the lr relative to each group's,
    ``min_lr`` absolute, NeMo's warmup ``(s + 1) / (W + 1)``), checked where NeMo would fail
    or divide by 0 mid-run."""

    name: str

    def __call__(self, solver: SolverConfig, optimizer: Optimizer) -> nemo.NemoSchedule:
        return build(self.name, solver, optimizer)

    @property
    def about(self) -> str:
        """What the schedule is, in one line (``schedreg list``)."""
        return f"NeMo's {self.name}: {ABOUT[self.name]}; min_lr (absolute) past max_steps"


WARMUP = "warmup lr (s + 1) / (W + 1), then"
ABOUT = {
    "WarmupPolicy": f"{WARMUP} the lr",
    "WarmupHoldPolicy": f"{WARMUP} the lr, held",
    "CosineAnnealing": f"{WARMUP} a cosine to min_lr at max_steps (with constant_steps: Megatron's form)",
    "WarmupAnnealing": f"{WARMUP} linearly to min_lr at max_steps, on the first group's lr",
    "SquareAnnealing": f"{WARMUP} lr ((T - s) / T) ** 2, floored at min_lr",
    "SquareRootAnnealing": f"{WARMUP} lr sqrt((max_steps - s) / max_steps), floored at min_lr",
    "InverseSquareRootAnnealing": f"{WARMUP} lr / sqrt((s + 1) / (W + 1))",
    "T5InverseSquareRootAnnealing": "1 / sqrt(max(s, constant_steps)), whatever the lr",
    "NoamAnnealing": "lr d_model ** -0.5 min(s ** -0.5, s W ** -1.5)",
    "NoamHoldAnnealing": f"{WARMUP} held, then lr (W / (s - hold)) ** decay_rate",
    "PolynomialDecayAnnealing": f"{WARMUP} (lr - min_lr) (1 - s / T) ** power + min_lr",
    "PolynomialHoldDecayAnnealing": f"{WARMUP} held, then (lr - min_lr) (1 - s / T) ** power + min_lr",
    "WarmupHoldAnnealLinear": f"{WARMUP} held, then linearly to min_lr at max_steps (WSD)",
    "WarmupHoldAnnealOneMinusSquareRoot": f"{WARMUP} held, then lr (1 - sqrt(progress)) to min_lr (WSD)",
}
"""Each schedule in one line."""


def build(name: str, solver: SolverConfig, optimizer: Optimizer) -> nemo.NemoSchedule:
    """NeMo's ``name`` from ``solver.args``, resolved and checked."""
    path, args = solver.path("args"), dict(solver.args)
    for key in ("warmup_method", "warmup_factor"):
        if key in solver.explicit:
            raise ConfigError(
                f"{solver.path(key)}: {solver.lr_scheduler_name} warms up NeMo's own way, (s + 1) / (W + 1) "
                f"of each group's lr over {path}.warmup_steps; choose solver/warmup=own"
            )
    unknown = sorted(set(args) - allowed_keys(name))
    if unknown:
        raise ConfigError(
            f"{path}.{unknown[0]}: NeMo's {name} takes {', '.join(sorted(allowed_keys(name)))}, got {unknown}"
        )
    if args.pop("last_epoch", -1) not in (-1, None):
        raise ConfigError(f"{path}.last_epoch must be -1 (a fresh start); resume by loading the state_dict")
    if args.get("max_steps") is None and "max_iter" in solver.explicit:
        args["max_steps"] = solver.max_iter
    if (
        args.get("warmup_steps") is None
        and args.get("warmup_ratio") is None
        and "warmup_iters" in solver.explicit
    ):
        args["warmup_steps"] = solver.warmup_iters
    for key in COUNTS:
        value, least = args.get(key), 1 if key == "d_model" else 0
        if value is None:
            continue
        number = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        if not number or value != int(value) or value < least:
            raise ConfigError(f"{path}.{key} must be a whole number >= {least}, got {value!r}")
        args[key] = int(value)  # NeMo takes 20.0 as 20
    for key in NONNEGATIVE:
        value = args.get(key)
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if value is not None and (not number or not 0 <= value < math.inf):
            raise ConfigError(f"{path}.{key} must be a finite number >= 0, got {value!r}")
    if name == "NoamAnnealing" and args.get("d_model") is None:
        raise ConfigError(f"{path}.d_model is required by NeMo's NoamAnnealing (the model's width)")
    max_steps = args.get("max_steps")
    if name not in ("WarmupPolicy", "NoamAnnealing") and max_steps is None:
        raise ConfigError(f"{path}.max_steps is required by NeMo's {name} (or set {solver.path('max_iter')})")
    steps = {key[: -len("_ratio")] + "_steps": _steps(path, key, args, max_steps) for key in RATIOS}
    warmup, hold, constant = steps["warmup_steps"], steps["hold_steps"], steps["constant_steps"]
    hold = hold + warmup if (args.get("hold_steps") is not None or args.get("hold_ratio") is not None) else 0
    base_lrs = [float(g.get("initial_lr", g["lr"])) for g in optimizer.param_groups]
    schedule = nemo.NemoSchedule(
        name,
        max_steps,
        warmup,
        hold,
        constant,
        float(args.get("min_lr", 1e-5 if name == "SquareAnnealing" else 0.0)),
        base_lrs[0] if base_lrs else 0.0,
        float(args.get("power", 1.0)),
        bool(args.get("cycle", False)),
        float(args.get("decay_rate", 0.5)),
        int(args.get("d_model", 1)),
    )
    _check(schedule, path, base_lrs)
    return schedule


def _steps(path: str, ratio_key: str, args: dict[str, Any], max_steps: int | None) -> int:
    """``<x>_steps``, or ``int(<x>_ratio * max_steps)`` as NeMo resolves it; not both."""
    steps_key = ratio_key[: -len("_ratio")] + "_steps"
    steps, ratio = args.get(steps_key), args.get(ratio_key)
    if steps is not None and ratio is not None:
        raise ConfigError(f"{path}: set {steps_key} or {ratio_key}, not both (got {steps} and {ratio})")
    if ratio is None:
        return int(steps or 0)
    if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not 0 <= ratio <= 1:
        raise ConfigError(f"{path}.{ratio_key} must be a fraction in [0, 1], got {ratio!r}")
    if max_steps is None:
        raise ConfigError(f"{path}.{ratio_key} is a fraction of max_steps, which is not set")
    return int(ratio * max_steps)


def _check(s: nemo.NemoSchedule, path: str, base_lrs: list[float]) -> None:
    """What NeMo raises mid-run, or divides by 0 at, refused now."""
    m = s.max_steps
    first = s.warmup_steps + 1 if s.warmup_steps > 0 else 0  # the first step NeMo anneals at
    if s.name in nemo.HOLDS:
        first = max(first, s.hold_steps)
    spans = {
        "CosineAnnealing": (m or 0) - s.warmup_steps - (s.constant_steps if s.constant_steps else 0),
        "WarmupAnnealing": (m or 0) - s.warmup_steps,
        "SquareAnnealing": (m or 0) - s.warmup_steps,
        "PolynomialDecayAnnealing": (m or 0) - s.warmup_steps,
        "SquareRootAnnealing": m or 0,
        "PolynomialHoldDecayAnnealing": (m or 0) - max(s.warmup_steps, s.hold_steps),
        "WarmupHoldAnnealLinear": (m or 0) - s.hold_steps,
        "WarmupHoldAnnealOneMinusSquareRoot": (m or 0) - s.hold_steps,
    }
    megatron = s.name == "CosineAnnealing" and s.constant_steps > 0  # divides only over its decay
    if s.name in spans and spans[s.name] <= 0 and m is not None and first <= m and not megatron:
        raise ConfigError(f"{path}: NeMo's {s.name} would divide by 0 at step {first} (max_steps {m})")
    if megatron and base_lrs and base_lrs[0] <= s.min_lr:
        raise ConfigError(f"{path}.min_lr={s.min_lr} must be below the first group's lr (NeMo asserts it)")
    if s.name == "T5InverseSquareRootAnnealing" and s.warmup_steps:
        raise ConfigError(f"{path}: NeMo's T5InverseSquareRootAnnealing takes no warmup (NeMo raises)")
    if s.name in ("CosineAnnealing", "NoamAnnealing") and any(b < s.min_lr for b in base_lrs):
        raise ConfigError(
            f"{path}.min_lr={s.min_lr} is above a param group's lr {min(base_lrs)} (NeMo refuses)"
        )
    if s.name == "NoamHoldAnnealing" and not s.warmup_steps:
        raise ConfigError(f"{path}: NeMo's NoamHoldAnnealing needs warmup_steps > 0")
    if s.name == "T5InverseSquareRootAnnealing" and not s.constant_steps:
        raise ConfigError(f"{path}.constant_steps must be > 0 for NeMo's T5InverseSquareRootAnnealing")


def register_all() -> None:
    """Register each of NeMo's schedules as ``nemo.<name>``."""
    for name in nemo.SHAPES:
        register_scheduler(f"nemo.{name}", own_warmup=True)(NemoBuilder(name))


register_all()
