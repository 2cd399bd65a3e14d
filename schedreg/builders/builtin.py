"""schedreg's own builder modules, which ``import schedreg`` has the registry import at its
first lookup (before any installed plug-in's)."""

from typing import Any

from schedreg.registry import Registry

LIGHT = ("schedreg.builders.detectron2", "schedreg.builders.shapes", "schedreg.builders.transformers")
"""Modules of pure schedules, importing no torch: ``schedreg show`` evaluates them alone."""

WITH_TORCH = ("schedreg.builders.timm", "schedreg.builders.torch_builtins")
"""Modules whose builders make torch schedulers."""


def preload(registry: Registry[Any]) -> None:
    """Have ``registry`` import these modules at its first lookup, the light ones marked."""
    for module in (*LIGHT, *WITH_TORCH):
        registry.preload(module, light=module in LIGHT)
