"""schedreg's own builders: importing this registers them (``import schedreg`` has the
registry do it at its first lookup, before any installed plug-in's)."""

from schedreg.builders import detectron2, shapes, timm, torch_builtins, transformers  # noqa: F401
