"""``build_optimizer`` and the ``OPTIMIZERS`` registry.

Every ``torch.optim.Optimizer`` class is registered under its name, built on
:func:`~schedreg.param_groups.build_param_groups` with ``solver.optimizer_args`` by
torch's parameter names. Left out, ``lr``, ``weight_decay``, ``momentum`` and
``nesterov`` follow the solver keys (detectron2's SGD: 0.9 momentum, 1e-4 decay).
``solver.clip_gradients`` is detectron2's per-parameter clipping, run before each step.
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass
from typing import Any

import torch

from schedreg.config.parse import solver_config
from schedreg.config.signature import construct, keyword_arguments, settable_parameters
from schedreg.config.solver import SolverConfig
from schedreg.integrations.param_groups import build_param_groups
from schedreg.registry import Registry

OPTIMIZERS: Registry[Any] = Registry(
    "optimizer", load=lambda: importlib.import_module("schedreg.integrations.optimizers")
)
"""Optimizer builders: ``fn(solver, param_groups) -> torch.optim.Optimizer``."""

FOLLOWS = {"lr": "base_lr", "weight_decay": "weight_decay", "momentum": "momentum", "nesterov": "nesterov"}
"""optimizer parameter -> the solver key it follows when ``optimizer_args`` leaves it out."""


@dataclass(frozen=True)
class OptimizerBuilder:
    """Builds one torch optimizer class from ``solver.optimizer_args`` and the solver keys."""

    cls: type[torch.optim.Optimizer]

    def __call__(self, solver: SolverConfig, param_groups: list[dict[str, Any]]) -> torch.optim.Optimizer:
        params = settable_parameters(self.cls, ("params",))
        derived = {name: getattr(solver, key) for name, key in FOLLOWS.items()}
        hints = {name: solver.path(key) for name, key in FOLLOWS.items()}
        path = solver.path("optimizer_args")
        args = keyword_arguments(self.cls.__name__, params, solver.optimizer_args, derived, path, hints)
        return construct(self.cls, path, solver.optimizer_args, params=param_groups, **args)


@dataclass(frozen=True)
class GradientClipper:
    """detectron2's gradient clipping: each parameter's gradient, by value or by norm."""

    clip_type: str
    clip_value: float
    norm_type: float

    def __call__(self, optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        for group in optimizer.param_groups:
            for param in group["params"]:
                if self.clip_type == "value":
                    torch.nn.utils.clip_grad_value_(param, self.clip_value)
                else:
                    torch.nn.utils.clip_grad_norm_(param, self.clip_value, self.norm_type)


def build_optimizer(cfg: Any, model: torch.nn.Module) -> torch.optim.Optimizer:
    """The optimizer ``cfg`` describes, over ``model``'s param groups.

    With ``solver.clip_gradients.enabled`` a step pre-hook clips every gradient first
    (re-registered whenever the optimizer is built again, as on resume). With
    ``solver.lr_as_tensor`` each group's lr is a 0-d float64 tensor, which the schedulers
    update in place, so a ``torch.compile``d optimizer step does not recompile.
    """
    solver = solver_config(cfg)
    builder = OPTIMIZERS.entry(solver.optimizer, key=solver.path("optimizer")).builder
    groups = build_param_groups(solver, model)
    if solver.lr_as_tensor:  # updated in place by the schedulers: a compiled step never recompiles
        groups = [{**g, "lr": torch.tensor(g["lr"], dtype=torch.float64)} for g in groups]
    optimizer = builder(solver, groups)
    clip = solver.clip_gradients
    if clip["enabled"]:
        optimizer.register_step_pre_hook(
            GradientClipper(clip["clip_type"], clip["clip_value"], clip["norm_type"])
        )
    return optimizer


for _name, _cls in vars(torch.optim).items():
    if (
        inspect.isclass(_cls)
        and issubclass(_cls, torch.optim.Optimizer)
        and _cls is not torch.optim.Optimizer
    ):
        OPTIMIZERS.register(_name)(OptimizerBuilder(_cls))
