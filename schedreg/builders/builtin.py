"""schedreg's own builder modules, which ``import schedreg`` has the registry import at its
first lookup (before any installed plug-in's)."""

from typing import Any

from schedreg.registry import Registry

LIGHT = (
    "schedreg.builders.detectron2",
    "schedreg.builders.shapes",
    "schedreg.builders.transformers",
    "schedreg.builders.deepspeed",
    "schedreg.builders.nemo",
    "schedreg.builders.megatron",
    "schedreg.builders.composer",
    "schedreg.builders.mmengine",
)
"""Modules of pure schedules, importing no torch: ``schedreg show`` evaluates them alone."""

WITH_TORCH = ("schedreg.builders.timm", "schedreg.builders.torch_builtins")
"""Modules whose builders make torch schedulers."""


def preload(registry: Registry[Any]) -> None:
    """Have ``registry`` import these modules at its first lookup, the light ones marked,
    and name each builder's :func:`source` in its "did you mean"."""
    for module in (*LIGHT, *WITH_TORCH):
        registry.preload(module, light=module in LIGHT)
    registry.source = source


PEERS = {
    "schedreg.builders.detectron2": "detectron2",
    "schedreg.builders.transformers": "transformers",
    "schedreg.builders.timm": "timm",
    "schedreg.builders.torch_builtins": "torch",
    "schedreg.builders.deepspeed": "deepspeed",
    "schedreg.builders.nemo": "nemo",
    "schedreg.builders.megatron": "megatron",
    "schedreg.builders.composer": "composer",
    "schedreg.builders.mmengine": "mmengine",
}
"""The library whose names each built-in module registers."""


def source(builder: Any) -> str:
    """Where a registered builder comes from: a peer library's name, ``schedreg`` (its own
    shapes), or ``third-party (module)``."""
    module = getattr(builder, "__module__", "") or ""
    if module in PEERS:
        return PEERS[module]
    return "schedreg" if module.startswith("schedreg.") else f"third-party ({module})"
