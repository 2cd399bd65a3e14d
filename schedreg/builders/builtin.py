"""schedreg's own builders, as the plug-in its ``pyproject.toml`` declares in the entry-point
group ``schedreg.schedulers``: importing this registers them (the registry does, at its first
lookup, before any other package's plug-ins)."""

from schedreg.builders import detectron2, shapes, timm, torch_builtins, transformers  # noqa: F401
