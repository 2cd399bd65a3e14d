"""schedreg: learning-rate schedules declared in config.

>>> import torch, schedreg
>>> opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
>>> sched = schedreg.build_lr_scheduler(
...     {"solver": {"lr_scheduler_name": "WarmupCosineLR", "max_iter": 100, "warmup_iters": 10}}, opt)
>>> opt.param_groups[0]["lr"]  # warmup_factor (0.001) * base lr
0.0001

``import schedreg`` does not import torch: the torch layer loads on first use, so
Hydra can read schedreg's config groups in any app without paying for torch.
"""

import importlib
from typing import Any

from schedreg import _moved
from schedreg.builders import builtin
from schedreg.config.parse import saved_solver, solver_config
from schedreg.config.scaling import scale_to_world_size
from schedreg.config.solver import SolverConfig
from schedreg.errors import ConfigError
from schedreg.registry import SCHEDULERS, Registry, register_scheduler
from schedreg.schedules.core import Schedule

_moved.install()
builtin.preload(SCHEDULERS)  # the built-in builders, imported at the first lookup

_TORCH_LAYER = {
    "build_lr_scheduler": "schedreg.factory",
    "build_param_groups": "schedreg.integrations.param_groups",
    "build_optimizer": "schedreg.integrations.optimizers",
    "OPTIMIZERS": "schedreg.integrations.optimizers",
    "MultiplierLR": "schedreg.adapters.multiplier",
    "ScaledLR": "schedreg.adapters.scaled",
    "GroupedLR": "schedreg.adapters.grouped",
    "lr_curve": "schedreg.integrations.preview",
}


def __getattr__(name: str) -> Any:
    if name not in _TORCH_LAYER:
        raise AttributeError(f"module 'schedreg' has no attribute {name!r}")
    value = getattr(importlib.import_module(_TORCH_LAYER[name]), name)
    globals()[name] = value
    return value


__all__ = [
    "OPTIMIZERS",
    "SCHEDULERS",
    "ConfigError",
    "GroupedLR",
    "MultiplierLR",
    "Registry",
    "ScaledLR",
    "Schedule",
    "SolverConfig",
    "build_lr_scheduler",
    "build_optimizer",
    "build_param_groups",
    "lr_curve",
    "register_scheduler",
    "saved_solver",
    "scale_to_world_size",
    "solver_config",
]
