"""Importing this registers every built-in scheduler (the registry does, at its first lookup)."""

from schedreg.builders import detectron2, shapes, timm, torch_builtins, transformers  # noqa: F401
