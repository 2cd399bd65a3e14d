"""The import paths of modules that moved in schedreg 0.2, kept for one release.

``import schedreg.warmup`` (say) still works: it gives a module that hands every name on to
where it now lives, with a DeprecationWarning naming the new path.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import warnings
from types import ModuleType
from typing import Any

MOVED = {
    "schedreg.adapter": "schedreg.adapters",
    "schedreg.warmup": "schedreg.schedules.warmup",
    "schedreg.fractional": "schedreg.schedules.detectron2",
    "schedreg.transformers_schedules": "schedreg.schedules.transformers",
    "schedreg.timm_schedules": "schedreg.schedules.timm",
    "schedreg.units": "schedreg.config.units",
    "schedreg.schema": "schedreg.config.schema",
    "schedreg.signature": "schedreg.config.signature",
    "schedreg.scaling": "schedreg.config.scaling",
    "schedreg.cli": "schedreg.integrations.cli",
    "schedreg.preview": "schedreg.integrations.preview",
    "schedreg.lightning": "schedreg.integrations.lightning",
    "schedreg.optimizers": "schedreg.integrations.optimizers",
    "schedreg.param_groups": "schedreg.integrations.param_groups",
}
"""Old module path -> new one."""


class MovedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds the old paths of :data:`MOVED`; each loads as a forwarding module."""

    def find_spec(
        self, fullname: str, path: Any, target: Any = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in MOVED:
            return None
        return importlib.machinery.ModuleSpec(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return None  # the default module

    def exec_module(self, module: ModuleType) -> None:
        new = MOVED[module.__name__]
        warnings.warn(
            f"{module.__name__} moved to {new}; the old path goes away in the next release",
            DeprecationWarning,
            stacklevel=2,
        )

        def forward(name: str) -> Any:
            return getattr(importlib.import_module(new), name)

        module.__getattr__ = forward  # type: ignore[method-assign]
        module.__doc__ = f"Deprecated: moved to :mod:`{new}`."


def install() -> None:
    """Put the finder on ``sys.meta_path`` (once)."""
    if not any(isinstance(finder, MovedModules) for finder in sys.meta_path):
        sys.meta_path.append(MovedModules())
