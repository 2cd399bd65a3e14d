"""schedreg: learning-rate schedules declared in config.

>>> import torch, schedreg
>>> opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
>>> sched = schedreg.build_lr_scheduler(
...     {"solver": {"lr_scheduler_name": "WarmupCosineLR", "max_iter": 100, "warmup_iters": 10}}, opt)
>>> opt.param_groups[0]["lr"]  # warmup_factor (0.001) * base lr
0.0001
"""

from schedreg import builders as _builders  # noqa: F401  (registers the built-in schedulers)
from schedreg.adapter import MultiplierLR, ScaledLR
from schedreg.config import SolverConfig, solver_config
from schedreg.errors import ConfigError
from schedreg.factory import build_lr_scheduler
from schedreg.registry import SCHEDULERS, Registry, register_scheduler
from schedreg.schedules import Schedule

__all__ = [
    "SCHEDULERS",
    "ConfigError",
    "MultiplierLR",
    "Registry",
    "ScaledLR",
    "Schedule",
    "SolverConfig",
    "build_lr_scheduler",
    "register_scheduler",
    "solver_config",
]
