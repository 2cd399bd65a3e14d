"""Every scheduler class in ``torch.optim.lr_scheduler``, registered under its class name.

The classes are discovered from the module, so one that a future torch adds appears by
itself. Constructor arguments come from ``solver.args`` by torch's parameter names; a
parameter that ``solver.args`` leaves out is taken from a common solver key that the user
set, where the meaning is the same (:data:`DERIVED`). ``lr_lambda`` takes a dotted import
path (``"pkg.module.fn"`` or ``"pkg.module:fn"``, or a list of them), ``schedulers`` (of
``SequentialLR``/``ChainedScheduler``) a list of solver nodes.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch.optim.lr_scheduler as torch_schedulers
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

from schedreg.config import SolverConfig, solver_config
from schedreg.errors import ConfigError
from schedreg.factory import build_from_solver
from schedreg.registry import SCHEDULERS

NOT_ARGUMENTS = ("optimizer", "last_epoch", "verbose")


DERIVED: dict[str, tuple[str, Callable[[SolverConfig, Optimizer], Any]]] = {
    "milestones": ("steps", lambda s, o: list(s.steps)),
    "gamma": ("gamma", lambda s, o: s.gamma),
    "T_max": ("max_iter", lambda s, o: s.max_iter),
    "total_iters": ("max_iter", lambda s, o: s.max_iter),
    "total_steps": ("max_iter", lambda s, o: s.max_iter),
    "eta_min": ("base_lr_end", lambda s, o: s.base_lr_end),
}
"""torch parameter -> (the solver key it follows, how to read it)."""

MEANS_SOMETHING_ELSE = {
    ("SequentialLR", "milestones"),  # where children switch, not lr decays
    ("CyclicLR", "gamma"),  # exp_range's per-iteration decay
}


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


# --- checking argument values against torch's (string) annotations -------------------


def _split_top(text: str) -> list[str]:
    """``text`` split at the ``|`` signs outside brackets."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += (ch == "[") - (ch == "]")
        if ch == "|" and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    return [*parts, text[start:].strip()]


SCALARS: dict[str, Callable[[Any], bool]] = {
    "None": lambda v: v is None,
    "bool": lambda v: isinstance(v, bool),
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "float": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "str": lambda v: isinstance(v, str),
}
SEQUENCES = ("list", "Sequence", "Iterable")


def matches(value: Any, annotation: str) -> bool:
    """Whether ``value`` fits a simple annotation string.

    Reads ``'int | None'``, ``'list[float]'`` and ``"Literal['min', 'max']"``; a type it
    cannot read (``Callable[...]``, a class) accepts anything.

    >>> matches(3, "float | list[float]"), matches("x", "int"), matches("max", "Literal['min', 'max']")
    (True, False, True)
    """
    for option in _split_top(annotation):
        head, _, inner = option.partition("[")
        inner = inner[:-1]
        if option in SCALARS:
            fits = SCALARS[option](value)
        elif head == "Literal":
            fits = value in ast.literal_eval(f"[{inner}]")
        elif head in SEQUENCES:
            fits = isinstance(value, (list, tuple)) and all(matches(v, inner) for v in value)
        else:
            fits = True
        if fits:
            return True
    return False


# --- building ------------------------------------------------------------------------


def import_function(path: str, key: str) -> Callable[..., Any]:
    """The function at dotted ``path`` (``pkg.mod.fn`` or ``pkg.mod:fn``)."""
    module_name, sep, attr = path.partition(":") if ":" in path else path.rpartition(".")
    try:
        fn, reason = getattr(importlib.import_module(module_name), attr), "not callable"
    except (ImportError, AttributeError, ValueError) as exc:
        fn, reason = None, str(exc)
    if not sep or not callable(fn):
        raise ConfigError(
            f"{key} must be an importable function path like 'pkg.module.fn', got {path!r} ({reason})"
        )
    return fn


def _children(solver: SolverConfig, nodes: Any, optimizer: Optimizer) -> list[LRScheduler]:
    key = f"{solver.path('args')}.schedulers"
    if not isinstance(nodes, list) or not nodes:
        raise ConfigError(f"{key} must be a non-empty list of solver nodes, got {nodes!r}")
    own = {"lr_scheduler_name", "args", "warmup_iters"}
    parent = dataclasses.replace(
        solver, args={}, lr_scheduler_name=SolverConfig.lr_scheduler_name, explicit=solver.explicit - own
    )
    return [
        build_from_solver(solver_config(node, prefix=f"{key}[{i}]", inherit=parent), optimizer, nested=True)
        for i, node in enumerate(nodes)
    ]


def _convert(solver: SolverConfig, name: str, value: Any, optimizer: Optimizer) -> Any:
    key = f"{solver.path('args')}.{name}"
    if name == "lr_lambda":
        paths = value if isinstance(value, list) else [value]
        if not all(isinstance(p, str) for p in paths):
            raise ConfigError(f"{key} must be a dotted function path or a list of them, got {value!r}")
        fns = [import_function(p, key) for p in paths]
        return fns if isinstance(value, list) else fns[0]
    if name == "schedulers":
        return _children(solver, value, optimizer)
    return value


@dataclass(frozen=True)
class TorchBuilder:
    """Builds one torch scheduler class from ``solver.args`` and the common keys."""

    cls: type[LRScheduler]

    def parameters(self) -> dict[str, inspect.Parameter]:
        """The constructor's parameters that a config may set."""
        params = inspect.signature(self.cls).parameters
        return {n: p for n, p in params.items() if n not in NOT_ARGUMENTS}

    def arguments(self, solver: SolverConfig, optimizer: Optimizer) -> dict[str, Any]:
        """The constructor's keyword arguments, validated."""
        params = self.parameters()
        args = dict(solver.args)
        for name in args:
            if name not in params:
                raise ConfigError(
                    f"unknown argument {solver.path('args')}.{name} for {self.cls.__name__}; "
                    f"allowed: {', '.join(params)}"
                )
        for name, (key, read) in DERIVED.items():
            wanted = name in params and name not in args and key in solver.explicit
            if wanted and (self.cls.__name__, name) not in MEANS_SOMETHING_ELSE:
                args[name] = read(solver, optimizer)
        if "max_lr" in params and "max_lr" not in args:
            # the peak lr: each group's own lr, so the groups keep their ratios
            args["max_lr"] = [float(g.get("initial_lr", g["lr"])) for g in optimizer.param_groups]
        if "epochs" in solver.args and "total_steps" not in solver.args:
            args.pop("total_steps", None)  # OneCycleLR: epochs * steps_per_epoch instead
        for name, param in params.items():
            if name not in args and param.default is inspect.Parameter.empty:
                source = f" (or set {solver.path(DERIVED[name][0])})" if name in DERIVED else ""
                raise ConfigError(f"{solver.path('args')}.{name} is required by {self.cls.__name__}{source}")
            annotation = param.annotation
            if name in args and isinstance(annotation, str) and not matches(args[name], annotation):
                raise ConfigError(f"{solver.path('args')}.{name} must be {annotation}, got {args[name]!r}")
        return {name: _convert(solver, name, value, optimizer) for name, value in args.items()}

    def __call__(self, solver: SolverConfig, optimizer: Optimizer) -> LRScheduler:
        args = self.arguments(solver, optimizer)
        try:
            return self.cls(optimizer=optimizer, **args)
        except (TypeError, ValueError, ArithmeticError) as exc:
            raise ConfigError(
                f"{solver.path('args')}: {self.cls.__name__} rejected {dict(solver.args)}: {exc}"
            ) from exc


def register_all() -> None:
    """Register every discovered torch scheduler under its class name."""
    for name, cls in discover().items():
        SCHEDULERS.register(name)(TorchBuilder(cls))


register_all()
