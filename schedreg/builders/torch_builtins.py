"""Every scheduler class in ``torch.optim.lr_scheduler``, registered under its class name.

The classes are discovered from the module, so one that a future torch adds appears by
itself. Constructor arguments come from ``solver.args`` by torch's parameter names; a
parameter that ``solver.args`` leaves out is taken from a common solver key that the user
set, where the meaning is the same (:data:`DERIVED`). ``lr_lambda`` takes a dotted import
path (``"pkg.module.fn"`` or ``"pkg.module:fn"``, or a list of them), ``schedulers`` (of
``SequentialLR``/``ChainedScheduler``) a list of solver nodes.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import itertools
import sys
import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.optim.lr_scheduler as torch_schedulers
from torch.optim import Optimizer
from torch.optim.lr_scheduler import CosineAnnealingLR, LRScheduler
from torch.optim.swa_utils import SWALR

from schedreg.adapters.groups import as_float
from schedreg.config.parse import solver_config
from schedreg.config.signature import construct, keyword_arguments, settable_parameters
from schedreg.config.solver import SolverConfig
from schedreg.errors import ConfigError, ConfigTypeError
from schedreg.registry import SCHEDULERS

NOT_ARGUMENTS = ("optimizer", "verbose")
BuildChild = Callable[[SolverConfig, Optimizer], LRScheduler]
"""Builds a nested scheduler from a child solver node."""


DERIVED: dict[str, tuple[str, Callable[[SolverConfig, Optimizer], Any]]] = {
    "milestones": ("steps", lambda s, o: list(s.steps)),
    "gamma": ("gamma", lambda s, o: s.gamma),
    "T_max": ("max_iter", lambda s, o: s.max_iter),
    "total_iters": ("max_iter", lambda s, o: s.max_iter),
    "total_steps": ("max_iter", lambda s, o: s.max_iter),
    "eta_min": ("base_lr_end", lambda s, o: s.base_lr_end),
}
"""torch parameter -> (the solver key it follows, how to read it)."""

ANNOTATED_NARROWER = {
    ("CyclicLR", "base_momentum"): "float | list[float]",
    ("CyclicLR", "max_momentum"): "float | list[float]",
    ("SWALR", "swa_lr"): "float | list[float]",
}
"""Parameters that torch annotates narrower than it accepts (one value per group works)."""

MEANS_SOMETHING_ELSE = {
    ("SequentialLR", "milestones"),  # where children switch, not lr decays
    ("CyclicLR", "gamma"),  # exp_range's per-iteration decay
}


RATES_PER_STEP = {("ExponentialLR", "gamma"), ("MultiplicativeLR", "lr_lambda"), ("LambdaLR", "lr_lambda")}
"""Arguments that act once per ``step()``: converting an epoch schedule to iterations
(``interval: epoch`` with ``iters_per_epoch``) would apply them once per iteration."""

NON_NEGATIVE = (
    "swa_lr",
    "gamma",
    "eta_min",
    "base_lr",
    "max_lr",
    "min_lr",
    "factor",
    "end_factor",
    "power",
    "div_factor",
    "milestones",
    "patience",
    "cooldown",
    "eps",
    "threshold",
)
"""torch arguments that a negative value turns into a negative lr (torch does not refuse it)."""
POSITIVE = ("step_size", "T_max", "T_0", "total_steps", "step_size_up", "final_div_factor")
"""torch arguments that torch divides by (or takes a modulo of)."""
POSITIVE_FOR = {("ConstantLR", "factor"), ("LinearLR", "total_iters"), ("PolynomialLR", "total_iters")}
"""Arguments positive for one class only: ConstantLR divides by its factor when it ends,
LinearLR and PolynomialLR by their length."""
BELOW_ONE = {("ReduceLROnPlateau", "factor")}
"""Factors that must reduce (torch refuses >= 1 only after NaN has passed its check)."""
NOT_NESTABLE = ("SequentialLR", "ChainedScheduler", "ReduceLROnPlateau")
"""Children SequentialLR cannot switch to: torch fails only when the milestone comes."""


def _check_ranges(cls: type, args: dict[str, Any], path: str) -> None:
    """Refuse the values torch accepts but then turns into a negative lr or a crash."""
    for name, value in args.items():
        positive = name in POSITIVE or (cls.__name__, name) in POSITIVE_FOR
        if not (positive or name in NON_NEGATIVE):
            continue
        numbers = [v for v in (value if isinstance(value, (list, tuple)) else [value]) if _is_number(v)]
        if any(v < 0 or (positive and v == 0) for v in numbers):
            raise ConfigError(f"{path}.{name} must be {'> 0' if positive else '>= 0'}, got {value!r}")
    last_epoch = args.get("last_epoch", -1)
    if isinstance(last_epoch, bool) or not isinstance(last_epoch, int) or last_epoch < -1:
        raise ConfigError(
            f"{path}.last_epoch must be an integer >= -1 (torch's resume step), got {last_epoch!r}"
        )
    if cls.__name__ == "ConstantLR" and 0 < float(args.get("factor", 1.0)) < 1e-300:
        raise ConfigError(
            f"{path}.factor must be at least 1e-300 (torch divides by it), got {args['factor']!r}"
        )
    for name in args:
        if (cls.__name__, name) in BELOW_ONE and not 0 <= float(args[name]) < 1:
            raise ConfigError(f"{path}.{name} must be in [0, 1), got {args[name]!r}")
    milestones = args.get("milestones")
    increasing = isinstance(milestones, list) and all(a < b for a, b in itertools.pairwise([0, *milestones]))
    if cls.__name__ == "SequentialLR" and not increasing:
        raise ConfigError(f"{path}.milestones must be increasing and > 0, got {milestones!r}")


def _check_units(cls: type, args: dict[str, Any], solver: SolverConfig) -> None:
    """Refuse a per-step rate in an epoch schedule converted to iterations."""
    units = solver.units
    if units.interval != "epoch" or not units.iters_per_epoch:
        return
    for name in args:
        if (cls.__name__, name) in RATES_PER_STEP:
            raise ConfigError(
                f"{solver.path('args')}.{name} of {cls.__name__} acts once per step, and "
                f"{units.interval_key}: epoch with {units.iters_per_epoch_key}: {units.iters_per_epoch} "
                "steps "
                f"this schedule per iteration; write the rate per iteration with {units.interval_key}: iter, "
                f"or leave {units.iters_per_epoch_key} unset to step it once per epoch"
            )


def _is_number(value: Any) -> bool:
    """A number, or a one-element Tensor (torch takes both)."""
    plain = isinstance(value, (int, float)) and not isinstance(value, bool)
    return plain or (isinstance(value, torch.Tensor) and value.numel() == 1)


def discover() -> dict[str, type[LRScheduler]]:
    """The public scheduler classes defined in ``torch.optim.lr_scheduler``."""
    return {
        name: cls
        for name, cls in vars(torch_schedulers).items()
        if inspect.isclass(cls)
        and issubclass(cls, LRScheduler)
        and cls is not LRScheduler
        and not name.startswith("_")
        and cls.__module__ == torch_schedulers.__name__
    }


# --- building ------------------------------------------------------------------------


NOT_USER_PACKAGES = frozenset(sys.stdlib_module_names) | {"torch"}
"""Top-level packages whose names a config's function path may not take (see :func:`import_function`)."""


def import_function(path: str, key: str) -> Callable[..., Any]:
    """The function at dotted ``path`` (``pkg.mod.fn`` or ``pkg.mod:fn``), for ``key``.

    A config is code, as Hydra's ``_target_`` is: the path imports its module, whose
    top-level code runs. What schedreg takes, though, is only what a user writes as a
    schedule: a plain Python function, or a callable object of a Python class, defined in
    the user's own modules. Refused before anything is called (a ConfigError naming ``key``):
    a private name, and a module of the standard library or torch, from the path alone,
    before any import; then builtins and other non-Python functions (``os._exit``,
    ``math.exp``), classes, and names that a user module takes from the standard library
    or torch (``exit = sys.exit``, ``from shutil import rmtree``).
    """
    module_name, sep, attr = path.partition(":") if ":" in path else path.rpartition(".")
    names = [*module_name.split("."), attr]
    fn: Any = None
    reason: str | None
    cause: BaseException | None = None
    if not sep or not all(name.isidentifier() for name in names):
        reason = "not a dotted path of Python names"
    elif attr.startswith("_"):
        reason = f"{attr!r} is a private name, not callable from a config"
    elif names[0] in NOT_USER_PACKAGES:
        reason = f"{names[0]!r} is a module of {_owner(names[0])}, not imported"
    else:
        try:
            fn = getattr(importlib.import_module(module_name), attr)
            reason = _refusal(fn)
        except (Exception, SystemExit) as exc:  # the module's own code, run by the import, failed
            reason, cause = f"{type(exc).__name__}: {exc}", exc
    if reason is not None:
        raise ConfigError(
            f"{key} must be an importable function path like 'pkg.module.fn' (a Python function or "
            f"callable object of your own module), got {path!r} ({reason})"
        ) from cause
    return fn


def _owner(top: str) -> str:
    return "torch" if top == "torch" else "the standard library"


def _refusal(fn: Any) -> str | None:
    """Why ``fn`` is not a function that a user wrote; None if it is."""
    origin: str | None
    if inspect.isclass(fn):
        return "a class, not a function"
    if isinstance(fn, types.FunctionType):
        origin = fn.__module__
    elif isinstance(inspect.getattr_static(type(fn), "__call__", None), types.FunctionType):
        origin = type(fn).__module__  # a callable object: its class's __call__ is Python
    else:
        return f"a {type(fn).__name__}, {'not a Python function' if callable(fn) else 'not callable'}"
    top = (origin or "").partition(".")[0]
    if not top or top in NOT_USER_PACKAGES:
        return f"defined in {origin}, a module of {_owner(top)}"
    return None


def _children(
    solver: SolverConfig, nodes: Any, optimizer: Optimizer, build_child: BuildChild
) -> list[LRScheduler]:
    key = f"{solver.path('args')}.schedulers"
    if not isinstance(nodes, list) or not nodes:
        raise ConfigError(f"{key} must be a non-empty list of solver nodes, got {nodes!r}")
    own = {"lr_scheduler_name", "args", "warmup_iters"}
    parent = dataclasses.replace(
        solver, args={}, lr_scheduler_name=SolverConfig.lr_scheduler_name, explicit=solver.explicit - own
    )
    children = [
        solver_config(node, prefix=f"{key}[{i}]", inherit=parent, schedule_only=True)
        for i, node in enumerate(nodes)
    ]
    for child in children:
        if solver.lr_scheduler_name == "SequentialLR" and child.lr_scheduler_name in NOT_NESTABLE:
            raise ConfigError(
                f"{child.path('lr_scheduler_name')}: SequentialLR cannot switch to a "
                f"{child.lr_scheduler_name} (allowed: any scheduler but {', '.join(NOT_NESTABLE)})"
            )
    built = [build_child(child, optimizer) for child in children]
    if solver.lr_scheduler_name == "ChainedScheduler" and len(built) > 1:
        for child, scheduler in zip(children, built, strict=True):
            _check_chained_cosine(child, scheduler, solver.max_iter)
    return built


def _check_chained_cosine(child: SolverConfig, scheduler: LRScheduler, run_length: int) -> None:
    """Refuse a chained ``CosineAnnealingLR`` that can write a negative lr. torch's cosine is
    recursive, ``eta_min + (lr - eta_min) * ratio``; past ``T_max`` the ratio exceeds 1, so
    an lr that another member of the chain (or a group's own lr) put below ``eta_min`` is
    driven below 0. Alone, or with ``eta_min`` 0, or ending by ``max_iter``, it cannot be."""
    if not isinstance(scheduler, CosineAnnealingLR):
        return
    eta_min, t_max = as_float(scheduler.eta_min), scheduler.T_max
    if eta_min > 0 and t_max < run_length:
        raise ConfigError(
            f"{child.path('args')}: a CosineAnnealingLR with eta_min={scheduler.eta_min!r} and "
            f"T_max={t_max} in a ChainedScheduler runs past T_max (max_iter={run_length}), where "
            "torch's recursive formula drives an lr that the chain put below eta_min under 0. "
            "Allowed: eta_min 0, T_max >= max_iter, or the cosine as a SequentialLR child"
        )


def _convert(
    solver: SolverConfig, name: str, value: Any, optimizer: Optimizer, build_child: BuildChild | None
) -> Any:
    key = f"{solver.path('args')}.{name}"
    if name == "lr_lambda":
        paths = value if isinstance(value, list) else [value]
        if not all(isinstance(p, str) for p in paths):
            raise ConfigTypeError(
                f"{key} should be a function: a dotted import path like 'pkg.module.fn', or a list of "
                f"them (one per param group), got {value!r}"
            )
        fns = [import_function(p, key) for p in paths]
        return fns if isinstance(value, list) else fns[0]
    if name == "schedulers" and build_child is not None:
        return _children(solver, value, optimizer, build_child)
    return value


@dataclass(frozen=True)
class TorchBuilder:
    """Builds one torch scheduler class from ``solver.args`` and the common keys."""

    cls: type[LRScheduler]

    def parameters(self) -> dict[str, inspect.Parameter]:
        """The constructor's parameters that a config may set, annotated as torch takes them."""
        params = settable_parameters(self.cls, NOT_ARGUMENTS)
        return {
            name: p.replace(annotation=ANNOTATED_NARROWER.get((self.cls.__name__, name), p.annotation))
            for name, p in params.items()
        }

    def arguments(
        self, solver: SolverConfig, optimizer: Optimizer, build_child: BuildChild | None = None
    ) -> dict[str, Any]:
        """The constructor's keyword arguments, validated."""
        derived = {
            name: read(solver, optimizer)
            for name, (key, read) in DERIVED.items()
            if key in solver.explicit and (self.cls.__name__, name) not in MEANS_SOMETHING_ELSE
        }
        # the peak lr: each group's own lr, so the groups keep their ratios. Recorded on first
        # use, since OneCycleLR and CyclicLR overwrite the group's lr and initial_lr.
        derived["max_lr"] = [
            as_float(g.setdefault("initial_max_lr", g.get("initial_lr", g["lr"])))
            for g in optimizer.param_groups
        ]
        if "epochs" in solver.args:
            derived.pop("total_steps", None)  # OneCycleLR: epochs * steps_per_epoch instead
        hints = {name: solver.path(key) for name, (key, _) in DERIVED.items()}
        args = keyword_arguments(
            self.cls.__name__, self.parameters(), solver.args, derived, solver.path("args"), hints
        )
        _check_ranges(self.cls, args, solver.path("args"))
        _check_units(self.cls, args, solver)
        return {name: _convert(solver, name, value, optimizer, build_child) for name, value in args.items()}

    def __call__(
        self, solver: SolverConfig, optimizer: Optimizer, build_child: BuildChild | None = None
    ) -> LRScheduler:
        """The torch scheduler over ``optimizer``; ``build_child`` builds the children of
        ``SequentialLR``/``ChainedScheduler`` (the factory passes it)."""
        args = self.arguments(solver, optimizer, build_child)
        return construct(self.cls, solver.path("args"), solver.args, optimizer=optimizer, **args)


def register_all() -> None:
    """Register every discovered torch scheduler under its class name, ``SWALR`` (which
    lives in ``torch.optim.swa_utils``), and ``ReduceLROnPlateau`` under transformers' name
    for it, ``reduce_lr_on_plateau``."""
    for name, cls in {**discover(), "SWALR": SWALR}.items():
        SCHEDULERS.register(name)(TorchBuilder(cls))
    SCHEDULERS.register("reduce_lr_on_plateau")(TorchBuilder(torch_schedulers.ReduceLROnPlateau))


register_all()
