"""The built-in scheduler builders; importing this package registers them."""

from schedreg.builders import detectron2, shapes, timm, torch_builtins, transformers  # noqa: F401
