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
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.optim.lr_scheduler as torch_schedulers
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler
from torch.optim.swa_utils import SWALR

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
)
"""torch arguments that a negative value turns into a negative lr (torch does not refuse it)."""
POSITIVE = ("step_size", "T_max", "T_0", "total_steps", "step_size_up", "final_div_factor")
"""torch arguments that torch divides by (or takes a modulo of)."""
POSITIVE_FOR = {("ConstantLR", "factor")}
"""Arguments positive for one class only: ConstantLR divides by its factor when it ends."""


def _check_ranges(cls: type, args: dict[str, Any], path: str) -> None:
    """Refuse the values torch accepts but then turns into a negative lr or a crash."""
    for name, value in args.items():
        positive = name in POSITIVE or (cls.__name__, name) in POSITIVE_FOR
        if not (positive or name in NON_NEGATIVE):
            continue
        numbers = [v for v in (value if isinstance(value, (list, tuple)) else [value]) if _is_number(v)]
        if any(v < 0 or (positive and v == 0) for v in numbers):
            raise ConfigError(f"{path}.{name} must be {'> 0' if positive else '>= 0'}, got {value!r}")


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


def import_function(path: str, key: str) -> Callable[..., Any]:
    """The function at dotted ``path`` (``pkg.mod.fn`` or ``pkg.mod:fn``)."""
    module_name, sep, attr = path.partition(":") if ":" in path else path.rpartition(".")
    try:
        fn, reason = getattr(importlib.import_module(module_name), attr), "not callable"
    except (ImportError, AttributeError, ValueError, TypeError) as exc:
        fn, reason = None, str(exc)
    if not sep or not callable(fn):
        raise ConfigError(
            f"{key} must be an importable function path like 'pkg.module.fn', got {path!r} ({reason})"
        )
    return fn


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
    return [
        build_child(solver_config(node, prefix=f"{key}[{i}]", inherit=parent, schedule_only=True), optimizer)
        for i, node in enumerate(nodes)
    ]


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
            float(g.setdefault("initial_max_lr", g.get("initial_lr", g["lr"])))
            for g in optimizer.param_groups
        ]
        if "epochs" in solver.args:
            derived.pop("total_steps", None)  # OneCycleLR: epochs * steps_per_epoch instead
        hints = {name: solver.path(key) for name, (key, _) in DERIVED.items()}
        args = keyword_arguments(
            self.cls.__name__, self.parameters(), solver.args, derived, solver.path("args"), hints
        )
        _check_ranges(self.cls, args, solver.path("args"))
        return {name: _convert(solver, name, value, optimizer, build_child) for name, value in args.items()}

    def __call__(
        self, solver: SolverConfig, optimizer: Optimizer, build_child: BuildChild | None = None
    ) -> LRScheduler:
        """The torch scheduler over ``optimizer``; ``build_child`` builds the children of
        ``SequentialLR``/``ChainedScheduler`` (the factory passes it)."""
        args = self.arguments(solver, optimizer, build_child)
        return construct(self.cls, solver.path("args"), solver.args, optimizer=optimizer, **args)


def register_all() -> None:
    """Register every discovered torch scheduler under its class name, and ``SWALR`` (which
    lives in ``torch.optim.swa_utils``)."""
    for name, cls in {**discover(), "SWALR": SWALR}.items():
        SCHEDULERS.register(name)(TorchBuilder(cls))


register_all()
