"""timm's schedulers, by timm's class names and with timm's argument names in ``solver.args``.

``CosineLRScheduler``, ``TanhLRScheduler``, ``PolyLRScheduler`` (cycles, ``k_decay``),
``StepLRScheduler``, ``MultiStepLRScheduler`` and ``PlateauLRScheduler``, each with timm's
linear warmup from the absolute ``warmup_lr_init`` and timm's lr noise. A timm user's
arguments carry over unchanged and give timm's lrs: step ``t`` of the schedreg scheduler
is timm's ``step(t)``/``step_update(t)``. Where a solver key means the same as a timm
argument the config leaves out, it fills it in: ``max_iter`` -> ``t_initial``,
``warmup_iters`` -> ``warmup_t``, ``steps`` -> ``decay_t``, ``gamma`` -> ``decay_rate``,
``base_lr_end`` -> ``lr_min``.

Differences from timm, all where timm asserts, hangs or crashes: every bad value is a
ConfigError naming the key; ``noise_pct`` must be in [0.01, 1] (timm's rejection sampling
never ends at 0, and above 1 the lr can turn negative); past the end of cycles that
``cycle_mul < 1`` squeezes into a finite time the lr is ``lr_min`` (timm raises a math
domain error). Like timm, ``noise_std`` has no effect (a warning says so when it is set),
``PlateauLRScheduler``'s ``mode`` defaults to ``'max'``, and a group's ``lr_scale``
multiplies its lr (timm's layer-wise decay).
"""

from __future__ import annotations

import inspect
import itertools
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler, ReduceLROnPlateau

from schedreg.adapters.groups import as_float, check_base_lrs, lr_values, set_group_value, with_lr_scale
from schedreg.config.signature import keyword_arguments
from schedreg.config.solver import SolverConfig
from schedreg.errors import ConfigError
from schedreg.registry import register_scheduler
from schedreg.schedules import timm as tm

FROM_SOLVER = {
    "t_initial": "max_iter",
    "warmup_t": "warmup_iters",
    "decay_t": "steps",
    "decay_rate": "gamma",
    "lr_min": "base_lr_end",
}
"""timm argument -> the solver key that fills it in when ``solver.args`` leaves it out."""


@dataclass(frozen=True)
class TorchNoise:
    """timm's noise draw for step ``t``: torch's generator seeded ``seed + t``; a normal
    sample redrawn until inside ``±pct``, or uniform in ``[-pct, pct)``."""

    seed: int
    pct: float
    kind: str = "normal"

    def __call__(self, t: int) -> float:
        generator = torch.Generator()
        generator.manual_seed(self.seed + t)
        if self.kind == "normal":
            while True:
                noise = torch.randn(1, generator=generator).item()
                if abs(noise) < self.pct:
                    return noise
        return 2 * (torch.rand(1, generator=generator).item() - 0.5) * self.pct


# --- timm's constructor arguments (less the optimizer): name -> (annotation, default) -------

REQUIRED = inspect.Parameter.empty
WARMUP = {"warmup_t": ("int | float", 0), "warmup_lr_init": ("float", 0.0)}
NOISE = {
    "noise_range_t": ("list[float] | float | None", None),
    "noise_pct": ("float", 0.67),
    "noise_std": ("float", 1.0),
    "noise_seed": ("int", 42),
}
CYCLES = {
    "t_initial": ("int | float", REQUIRED),
    "lr_min": ("float", 0.0),
    "cycle_mul": ("float", 1.0),
    "cycle_decay": ("float", 1.0),
    "cycle_limit": ("int", 1),
    **WARMUP,
    "warmup_prefix": ("bool", False),
    "t_in_epochs": ("bool", True),
    **NOISE,
}
STEPS = {
    "decay_rate": ("float", 1.0),
    **WARMUP,
    "warmup_prefix": ("bool", True),
    "t_in_epochs": ("bool", True),
    **NOISE,
}
SIGNATURES: dict[str, dict[str, tuple[str, Any]]] = {
    "CosineLRScheduler": {**CYCLES, "k_decay": ("float", 1.0)},
    "TanhLRScheduler": {**CYCLES, "lb": ("float", -7.0), "ub": ("float", 3.0)},
    "PolyLRScheduler": {**CYCLES, "power": ("float", 0.5), "k_decay": ("float", 1.0)},
    "StepLRScheduler": {"decay_t": ("int | float", REQUIRED), **STEPS},
    "MultiStepLRScheduler": {"decay_t": ("list[int]", REQUIRED), **STEPS},
    "PlateauLRScheduler": {
        "decay_rate": ("float", 0.1),
        "patience_t": ("int", 10),
        "threshold": ("float", 1e-4),
        "cooldown_t": ("int", 0),
        **WARMUP,
        "lr_min": ("float", 0.0),
        "mode": ("str", "max"),
        **NOISE,
        "noise_type": ("str", "normal"),
        "noise_seed": ("int | None", None),
    },
}
"""The arguments each timm class takes, with timm's defaults."""


# --- checks -----------------------------------------------------------------------------


def _arguments(solver: SolverConfig) -> dict[str, Any]:
    """``solver.args`` by timm's names, over solver keys the user set, checked."""
    owner, path = solver.lr_scheduler_name, solver.path("args")
    params = {
        arg: inspect.Parameter(arg, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)
        for arg, (annotation, default) in SIGNATURES[owner].items()
    }
    derived = {
        arg: getattr(solver, key)
        for arg, key in FROM_SOLVER.items()
        if key in solver.explicit and arg in params
    }
    if "decay_t" in derived:
        derived["decay_t"] = list(derived["decay_t"])
    warmup = _warmup(solver, owner)
    derived.update({arg: value for arg, value in warmup.items() if arg in params})
    hints = {arg: solver.path(key) for arg, key in FROM_SOLVER.items()}
    given = keyword_arguments(owner, params, solver.args, derived, path, hints)
    args = {arg: p.default for arg, p in params.items() if p.default is not REQUIRED} | given
    _check(args, path)
    args["warmup_factor"] = warmup.get("warmup_factor")  # schedreg's relative start, or None
    if args["noise_std"] != 1.0:
        warnings.warn(
            f"{path}.noise_std={args['noise_std']} has no effect: timm ignores it (its noise is a standard "
            "normal redrawn until inside ±noise_pct), and schedreg matches timm",
            stacklevel=4,
        )
    return args


def _warmup(solver: SolverConfig, owner: str) -> dict[str, Any]:
    """timm's warmup from the solver's. timm warms up linearly only, from ``warmup_lr_init``
    (an absolute lr); a chosen ``warmup_factor`` starts it at that fraction of each group's lr
    instead, unless ``args.warmup_lr_init`` is given (timm's own argument wins, as every
    argument in ``args`` does over a solver key)."""
    method, factor = solver.warmup_method, solver.warmup_factor
    if method not in ("linear", "none"):
        raise ConfigError(
            f"{solver.path('warmup_method')}={method!r}: {owner} warms up linearly from "
            f"{solver.path('args')}.warmup_lr_init (or {solver.path('warmup_factor')} x lr) only; choose "
            "solver/warmup=linear, own, from_zero or none"
        )
    if method == "none":
        if solver.args.get("warmup_t", 0) != 0:
            raise ConfigError(
                f"{solver.path('warmup_method')}='none' contradicts {solver.path('args')}.warmup_t="
                f"{solver.args['warmup_t']!r}; keep one of them"
            )
        return {"warmup_t": 0}
    if "warmup_factor" not in solver.explicit or "warmup_lr_init" in solver.args:
        return {}
    return {"warmup_factor": factor}


def _check(args: dict[str, Any], path: str) -> None:
    """timm's assertions, and what would make NaN, a negative lr or a hang, as ConfigErrors."""

    def require(ok: bool, key: str, what: str) -> None:
        if not ok:
            raise ConfigError(f"{path}.{key} must be {what}, got {args[key]!r}")

    for key in ("t_initial", "cycle_mul", "k_decay"):
        if key in args:
            require(args[key] > 0, key, "> 0")
    at_least_zero = ("lr_min", "warmup_t", "warmup_lr_init", "cycle_decay", "cycle_limit", "decay_rate")
    for key in (*at_least_zero, "power", "patience_t", "cooldown_t"):
        if key in args:
            require(args[key] >= 0, key, ">= 0")
    if "t_initial" in args and not args["warmup_prefix"] and args["warmup_t"] >= args["t_initial"]:
        raise ConfigError(
            f"{path}.warmup_t ({args['warmup_t']}, or the solver's warmup_iters) must be below "
            f"{path}.t_initial ({args['t_initial']}) unless {path}.warmup_prefix is true: the decay "
            "would be over before warmup ends"
        )
    if "lb" in args and not args["lb"] < args["ub"]:
        raise ConfigError(f"{path}.lb must be below {path}.ub, got lb={args['lb']} ub={args['ub']}")
    if "decay_t" in args:
        decay_t = args["decay_t"]
        if isinstance(decay_t, list):
            require(all(d >= 0 for d in decay_t), "decay_t", "a list of steps >= 0")
            require(all(a < b for a, b in itertools.pairwise(decay_t)), "decay_t", "increasing")
        else:
            require(decay_t > 0, "decay_t", "> 0")
    if "mode" in args:
        require(args["mode"] in ("min", "max"), "mode", "'min' or 'max'")
    if "noise_type" in args:
        require(args["noise_type"] in ("normal", "uniform"), "noise_type", "'normal' or 'uniform'")
    require(0.01 <= args["noise_pct"] <= 1, "noise_pct", "in [0.01, 1]")
    seed = args["noise_seed"]
    require(seed is None or 0 <= seed < 2**62, "noise_seed", "an integer >= 0")
    window = args["noise_range_t"]
    if isinstance(window, list):
        require(len(window) in (1, 2), "noise_range_t", "a start, or a [start, end] pair")
        require(len(window) == 1 or window[0] < window[1], "noise_range_t", "[start, end] with start < end")


def _noise(args: dict[str, Any]) -> tm.Noise | None:
    window = args["noise_range_t"]
    if window is None:
        return None
    if isinstance(window, list):
        window = window[0] if len(window) == 1 else (window[0], window[1])
    seed = 42 if args["noise_seed"] is None else args["noise_seed"]
    return tm.Noise(window, TorchNoise(seed, args["noise_pct"], args.get("noise_type", "normal")))


def _schedule(args: dict[str, Any], decay: Callable[[float, float], float], **extra: Any) -> tm.TimmSchedule:
    return tm.TimmSchedule(
        decay,
        warmup_t=args["warmup_t"],
        warmup_lr_init=args["warmup_lr_init"],
        warmup_factor=args["warmup_factor"],
        warmup_prefix=args["warmup_prefix"],
        t_in_epochs=args["t_in_epochs"],
        noise=_noise(args),
        **extra,
    )


def _cycles(args: dict[str, Any]) -> tm.Cycles:
    return tm.Cycles(args["t_initial"], args["cycle_mul"], args["cycle_decay"], args["cycle_limit"])


# --- the registered builders ---------------------------------------------------------------


@register_scheduler("CosineLRScheduler", own_warmup=True)
def cosine(solver: SolverConfig) -> tm.TimmSchedule:
    """timm's ``CosineLRScheduler``."""
    args = _arguments(solver)
    shape = tm.CosineShape(args["k_decay"])
    return _schedule(args, tm.CyclicDecay(shape, _cycles(args), args["lr_min"]))


@register_scheduler("TanhLRScheduler", own_warmup=True)
def tanh(solver: SolverConfig) -> tm.TimmSchedule:
    """timm's ``TanhLRScheduler``: without ``warmup_prefix`` its warmup ends on the decay's value."""
    args = _arguments(solver)
    decay = tm.CyclicDecay(tm.TanhShape(args["lb"], args["ub"]), _cycles(args), args["lr_min"])
    return _schedule(args, decay, warmup_to_decay=not args["warmup_prefix"])


@register_scheduler("PolyLRScheduler", own_warmup=True)
def poly(solver: SolverConfig) -> tm.TimmSchedule:
    """timm's ``PolyLRScheduler``."""
    args = _arguments(solver)
    shape = tm.PolyShape(args["power"], args["k_decay"])
    return _schedule(args, tm.CyclicDecay(shape, _cycles(args), args["lr_min"]))


@register_scheduler("StepLRScheduler", own_warmup=True)
def step(solver: SolverConfig) -> tm.TimmSchedule:
    """timm's ``StepLRScheduler``."""
    args = _arguments(solver)
    return _schedule(args, tm.StepDecay(args["decay_t"], args["decay_rate"]))


@register_scheduler("MultiStepLRScheduler", own_warmup=True)
def multistep(solver: SolverConfig) -> tm.TimmSchedule:
    """timm's ``MultiStepLRScheduler`` (a milestone takes effect one step early, as in timm)."""
    args = _arguments(solver)
    return _schedule(args, tm.MultiStepDecay(tuple(args["decay_t"]), args["decay_rate"]))


@register_scheduler("PlateauLRScheduler", own_warmup=True)
def plateau(solver: SolverConfig, optimizer: Optimizer) -> TimmPlateauLR:
    """timm's ``PlateauLRScheduler``: ``step(metric)`` once per epoch."""
    args = _arguments(solver)
    if args["decay_rate"] >= 1:
        raise ConfigError(f"{solver.path('args')}.decay_rate must be < 1, got {args['decay_rate']}")
    reduce = {
        "patience": args["patience_t"],
        "factor": args["decay_rate"],
        "threshold": args["threshold"],
        "cooldown": args["cooldown_t"],
        "mode": args["mode"],
        "min_lr": args["lr_min"],
    }
    warmup = (args["warmup_t"], args["warmup_lr_init"], args["warmup_factor"])
    return TimmPlateauLR(optimizer, reduce, *warmup, _noise(args))


class TimmPlateauLR(LRScheduler):
    """timm's ``PlateauLRScheduler`` as a torch scheduler: warmup while ``t <= warmup_t``,
    then torch's ``ReduceLROnPlateau`` on the metric, then noise (taken off before the next
    step). ``step(metric)``; the factory wraps it, so resume and added groups work as for
    torch's own schedulers."""

    takes_metric = True
    fixed_groups = True
    """Its torch plateau reduces every group of the optimizer, one added later too, which a
    scheduler of that group's own would reduce again: a group added later is refused."""

    def __init__(
        self,
        optimizer: Optimizer,
        reduce: dict[str, Any],
        warmup_t: float,
        warmup_lr_init: float,
        warmup_factor: float | None,
        noise: tm.Noise | None,
    ) -> None:
        self.optimizer = optimizer
        self.base_lrs = [as_float(g.setdefault("initial_lr", g["lr"])) for g in optimizer.param_groups]
        check_base_lrs(self.base_lrs, "PlateauLRScheduler")
        for group, base in zip(optimizer.param_groups, self.base_lrs, strict=True):
            set_group_value(group, "lr", with_lr_scale(group, base))
        self.plateau = ReduceLROnPlateau(optimizer, **reduce)
        self.warmup_t = warmup_t
        self.warmup_lr_init = warmup_lr_init
        self.warmup_factor = warmup_factor
        self.noise = noise
        self.restore_lr: list[float] | None = None
        self.last_epoch = 0
        self._step_count = 1
        if warmup_t:
            self._warm(0)
        self._last_lr = lr_values(optimizer.param_groups)

    def _warm(self, t: int) -> None:
        length = self.warmup_t
        for group, base in zip(self.optimizer.param_groups, self.base_lrs, strict=True):
            start = self.warmup_lr_init if self.warmup_factor is None else self.warmup_factor * base
            set_group_value(group, "lr", with_lr_scale(group, start + t * ((base - start) / length)))

    def step(self, *args: Any, metric: float | None = None) -> None:  # type: ignore[override]
        """``step(metric)`` (schedreg's and torch's plateau form: the next epoch), or timm's
        ``step(epoch, metric)`` / ``step(epoch, metric=...)``: with a second argument or a
        keyword metric, the first is the epoch, an absolute count."""
        t, metric = self._epoch_and_metric(args, metric)
        if self.warmup_t and t <= self.warmup_t:  # timm writes warmup_lr_init at epoch 0 without one
            self._warm(t)
        else:
            if self.restore_lr is not None:
                for group, lr in zip(self.optimizer.param_groups, self.restore_lr, strict=True):
                    set_group_value(group, "lr", lr)
                self.restore_lr = None
            if metric is not None:
                self.plateau.step(metric)
            if self.noise is not None and self.noise.applies(t):
                noise = self.noise.draw(t)
                self.restore_lr = [float(g["lr"]) for g in self.optimizer.param_groups]
                for group, old in zip(self.optimizer.param_groups, self.restore_lr, strict=True):
                    set_group_value(group, "lr", old + old * noise)
        self.last_epoch = t
        self._last_lr = lr_values(self.optimizer.param_groups)

    def _epoch_and_metric(self, args: tuple[Any, ...], metric: float | None) -> tuple[int, float | None]:
        """The epoch this step is for, and its metric."""
        if len(args) > 2 or (len(args) == 2 and metric is not None):
            raise TypeError(f"step() takes (metric) or (epoch, metric), got {args!r} and metric={metric!r}")
        if len(args) < 2 and (metric is None or not args):  # step(), step(metric) or step(metric=...)
            return int(self.last_epoch) + 1, args[0] if args else metric
        epoch = args[0]
        if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
            raise ConfigError(f"PlateauLRScheduler: epoch must be an integer >= 0, got {epoch!r}")
        return epoch, args[1] if len(args) == 2 else metric

    def get_lr(self) -> list[float | torch.Tensor]:
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        return {
            "last_epoch": self.last_epoch,
            "plateau": self.plateau.state_dict(),
            "restore_lr": self.restore_lr,
            "lrs": [float(lr) for lr in self._last_lr],
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.last_epoch = int(state_dict["last_epoch"])
        self.plateau.load_state_dict(state_dict["plateau"])
        self.restore_lr = state_dict["restore_lr"]
        for group, lr in zip(self.optimizer.param_groups, state_dict["lrs"], strict=True):
            set_group_value(group, "lr", lr)
        self._last_lr = list(state_dict["lrs"])
