"""Reading a solver node: its keys and defaults (:mod:`.solver`), reading a node
(:mod:`.parse`), value checks (:mod:`.checks`), units (:mod:`.units`), argument checks
against a signature (:mod:`.signature`), the world-size rule (:mod:`.scaling`) and Hydra's
schema (:mod:`.schema`)."""

import importlib
import warnings
from typing import Any

from schedreg.config.parse import solver_config
from schedreg.config.solver import SolverConfig

__all__ = ["SolverConfig", "solver_config"]

_SPLIT_FROM = ("schedreg.config.solver", "schedreg.config.parse", "schedreg.config.checks")
"""Where the rest of schedreg 0.1's ``schedreg.config`` module now lives."""


def __getattr__(name: str) -> Any:
    for path in _SPLIT_FROM:
        module = importlib.import_module(path)
        if hasattr(module, name):
            warnings.warn(f"schedreg.config.{name} moved to {path}.{name}", DeprecationWarning, stacklevel=2)
            return getattr(module, name)
    raise AttributeError(f"module 'schedreg.config' has no attribute {name!r}")
