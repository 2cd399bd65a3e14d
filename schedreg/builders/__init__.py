"""The built-in scheduler builders; importing this package registers them."""

from schedreg.builders import detectron2, torch_builtins  # noqa: F401
