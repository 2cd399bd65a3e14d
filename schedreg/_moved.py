"""The import paths of modules that moved in schedreg 0.2, kept for one release.

``import schedreg.warmup`` (say) still works, and so do ``from schedreg.warmup import *`` and
``python -m schedreg.cli``: each old path gives a module that hands every name on to where it
now lives, with a DeprecationWarning naming the new path. Two classes were folded into
:class:`~schedreg.schedules.warmup.Warmup`; their old names build the same schedule.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import warnings
from types import CodeType, ModuleType
from typing import Any

MOVED: dict[str, tuple[str, ...]] = {
    "schedreg.adapter": ("schedreg.adapters", "schedreg.adapters.groups", "schedreg.adapters.guards"),
    "schedreg.warmup": ("schedreg.schedules.warmup",),
    "schedreg.fractional": ("schedreg.schedules.detectron2",),
    "schedreg.transformers_schedules": ("schedreg.schedules.transformers",),
    "schedreg.timm_schedules": ("schedreg.schedules.timm",),
    "schedreg.units": ("schedreg.config.units",),
    "schedreg.schema": ("schedreg.config.schema",),
    "schedreg.signature": ("schedreg.config.signature",),
    "schedreg.scaling": ("schedreg.config.scaling",),
    "schedreg.cli": ("schedreg.integrations.cli",),
    "schedreg.preview": ("schedreg.integrations.preview",),
    "schedreg.lightning": ("schedreg.integrations.lightning",),
    "schedreg.optimizers": ("schedreg.integrations.optimizers",),
    "schedreg.param_groups": ("schedreg.integrations.param_groups",),
}
"""Old module path -> the new modules that hold its names (the first is its new home)."""


def warmup_factor(method: str, factor: float, iters: int) -> Any:
    """``schedreg.warmup.WarmupFactor(method, factor, iters)`` of 0.1: the multiplier alone."""
    from schedreg.schedules.core import Constant
    from schedreg.schedules.warmup import Warmup

    return Warmup(Constant(1.0), method, factor, iters)


def fractional_warmup(main: Any, method: str, factor: float, length: float, rescale: bool = False) -> Any:
    """``schedreg.fractional.Warmup`` of 0.1: detectron2's anchored warmup on fractions."""
    from schedreg.schedules.detectron2 import WHERE_EPSILON
    from schedreg.schedules.warmup import Warmup

    return Warmup(main, method, factor, length, anchored=True, rescale=rescale, margin=WHERE_EPSILON)


FOLDED = {
    ("schedreg.warmup", "WarmupFactor"): warmup_factor,
    ("schedreg.fractional", "Warmup"): fractional_warmup,
}
"""Old names of classes folded into ``Warmup``: what builds the same schedule now."""


def _public(module: ModuleType) -> list[str]:
    return list(getattr(module, "__all__", [n for n in vars(module) if not n.startswith("_")]))


class MovedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds the old paths of :data:`MOVED`; each loads as a forwarding module."""

    def find_spec(
        self, fullname: str, path: Any, target: Any = None
    ) -> importlib.machinery.ModuleSpec | None:
        return importlib.machinery.ModuleSpec(fullname, self) if fullname in MOVED else None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return None  # the default module

    def exec_module(self, module: ModuleType) -> None:
        old = module.__name__
        new = [importlib.import_module(name) for name in MOVED[old]]
        warnings.warn(
            f"{old} moved to {MOVED[old][0]}; the old path goes away in the next release",
            DeprecationWarning,
            stacklevel=2,
        )

        def forward(name: str) -> Any:
            if (old, name) in FOLDED:
                return FOLDED[old, name]
            for target in new:
                if hasattr(target, name):
                    return getattr(target, name)
            raise AttributeError(f"module {old!r} (now {MOVED[old][0]}) has no attribute {name!r}")

        module.__getattr__ = forward  # type: ignore[method-assign]
        module.__dict__["__all__"] = list(dict.fromkeys(n for target in new for n in _public(target)))
        module.__doc__ = f"Deprecated: moved to :mod:`{MOVED[old][0]}`."

    def get_code(self, fullname: str) -> CodeType | None:
        """The new module's code, so that ``python -m`` runs an old path as the new one."""
        warnings.warn(f"{fullname} moved to {MOVED[fullname][0]}", DeprecationWarning, stacklevel=2)
        new = MOVED[fullname][0]
        spec = importlib.util.find_spec(new)
        loader = spec.loader if spec is not None else None
        return loader.get_code(new) if isinstance(loader, importlib.abc.InspectLoader) else None


def install() -> None:
    """Put the finder on ``sys.meta_path`` (once)."""
    if not any(isinstance(finder, MovedModules) for finder in sys.meta_path):
        sys.meta_path.append(MovedModules())
