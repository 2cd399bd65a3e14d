"""Param groups, as torch's schedulers see them: a view of some of an optimizer's groups,
reading and writing one group key (``lr``, ``momentum``, ``betas[0]``), and the check that
no lr written is negative or non-finite."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

import torch
from torch.optim import Optimizer

from schedreg.errors import ConfigError


class GroupView(Optimizer):
    """Some of an optimizer's param groups, as an optimizer a torch scheduler can drive.

    The groups are looked up in the parent on every access, so the view stays right after
    ``optimizer.load_state_dict`` (which replaces the group dicts).
    """

    def __init__(self, parent: Optimizer, indices: Sequence[int]) -> None:
        self.parent = parent
        self.indices = list(indices)
        self._opt_called = True  # the user steps the parent, never the view

    @property
    def param_groups(self) -> list[dict[str, Any]]:  # type: ignore[override]
        return [self.parent.param_groups[i] for i in self.indices]

    @property
    def defaults(self) -> dict[str, Any]:  # type: ignore[override]
        return self.parent.defaults

    @property
    def state(self) -> Any:  # type: ignore[override]
        return self.parent.state

    def step(self, closure: Any = None) -> None:  # type: ignore[override]
        raise RuntimeError("step the optimizer, not a GroupView of it")

    # torch's schedulers check that the optimizer's step is tracked (and wrap it if not):
    # the user steps the parent, whose step the scheduler of the whole optimizer tracks
    step._wrapped_by_lr_sched = True  # type: ignore[attr-defined]

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "step"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)


INDEXED_KEY = re.compile(r"(\w+)\[(\d+)\]")
"""A param-group key that indexes a tuple, like ``betas[0]``."""


def set_group_value(group: dict[str, Any], key: str, value: float | torch.Tensor) -> None:
    """Write ``group[key]`` (``key`` may index a tuple: ``betas[0]``), in place for Tensors."""
    indexed = "[" in key and INDEXED_KEY.fullmatch(key)
    if indexed:
        name, i = indexed[1], int(indexed[2])
        values = list(group[name])
        values[i] = value
        group[name] = type(group[name])(values)
    elif isinstance(group[key], torch.Tensor):
        group[key].fill_(float(value))
    else:
        group[key] = value


def group_value(group: dict[str, Any], key: str) -> Any:
    """``group[key]``; ``key`` may index a tuple (``betas[0]``)."""
    indexed = "[" in key and INDEXED_KEY.fullmatch(key)
    return group[indexed[1]][int(indexed[2])] if indexed else group[key]


def python_lrs(groups: Sequence[dict[str, Any]]) -> None:
    """Turn numpy scalars in the groups' ``lr`` and ``initial_lr`` into Python floats (equal
    values): the lrs written from them, and the states saved, would be numpy's, which
    ``torch.load(weights_only=True)`` refuses."""
    for group in groups:
        for key in ("lr", "initial_lr"):
            value = group.get(key)
            if type(value).__module__ == "numpy" and getattr(value, "ndim", None) == 0:
                group[key] = value.item()  # type: ignore[union-attr]


def initial_value(group: dict[str, Any], key: str) -> float | torch.Tensor:
    """``group[initial_<key>]``, recorded from the current value on first use (a Tensor is
    copied, so writing the value in place never moves its base)."""
    if f"initial_{key}" not in group:
        value = group_value(group, key)
        group[f"initial_{key}"] = value.clone() if isinstance(value, torch.Tensor) else value
    return group[f"initial_{key}"]


def base_lrs(optimizer: Optimizer) -> list[float | torch.Tensor]:
    """Each group's base lr, as torch keeps it (``initial_lr``)."""
    return [g.get("initial_lr", g["lr"]) for g in optimizer.param_groups]


def with_lr_scale(group: dict[str, Any], lr: float | torch.Tensor) -> float | torch.Tensor:
    """``lr`` times the group's ``lr_scale`` if it has one (timm's layer-wise lr decay)."""
    return lr * group["lr_scale"] if "lr_scale" in group else lr


def lr_values(groups: Sequence[dict[str, Any]]) -> list[float | torch.Tensor]:
    """Each group's lr as a value: a Tensor lr is copied, so that a list taken before a step
    does not change with it (torch's ``get_last_lr`` copies too)."""
    return [g["lr"].clone() if isinstance(g["lr"], torch.Tensor) else g["lr"] for g in groups]


def as_float(value: Any) -> float:
    """``value`` as a float, or NaN where it is none (an int past float's range, a string,
    a Tensor of several values): what a finite-and-non-negative check then refuses."""
    if isinstance(value, (bool, str, bytes)):  # float("0.1") would read a string
        return math.nan
    try:
        return float(value)
    except (OverflowError, TypeError, ValueError, RuntimeError):
        return math.nan


def short_repr(value: Any, limit: int = 60) -> str:
    """``repr(value)``, cut to ``limit`` characters (an int past float's range has hundreds
    of digits); a value whose ``repr`` raises (a Counter of Tensors) is named by its type."""
    try:
        text = repr(value)
    except Exception:
        return f"<a {type(value).__name__} that cannot be shown>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_base_lrs(bases: Sequence[float | torch.Tensor], owner: str, first: int = 0) -> None:
    """Refuse a base lr that is NaN, infinite or negative, naming its param group: the
    schedule multiplies it, so every lr after it would be too. ``first``: the index of the
    first group in ``bases``."""
    for index, base in enumerate(bases, start=first):
        if isinstance(base, torch.Tensor) and (not base.dtype.is_floating_point or base.requires_grad):
            raise ConfigError(
                f"{owner}: param group {index} has lr (initial_lr) {short_repr(base)}; a Tensor lr must "
                "be floating-point (an integer one truncates every lr written) and not require grad "
                "(it is written in place)"
            )
        if isinstance(base, torch.Tensor) and base.device.type != "cpu":
            continue  # reading a device tensor would sync
        if not 0.0 <= as_float(base) < math.inf:
            raise ConfigError(
                f"{owner}: param group {index} has lr (initial_lr) {short_repr(base)}; a base lr must be "
                "finite and >= 0 -- check the optimizer's lr, the group's lr, or what was written into "
                "base_lrs"
            )


def checked(value: float | torch.Tensor, step: int, owner: str, what: str = "lr multiplier") -> Any:
    """``value``, if it is a finite number >= 0 (a Tensor on an accelerator is not read:
    that would sync every step); else a ConfigError naming ``owner`` and ``step``."""
    if isinstance(value, torch.Tensor) and value.device.type != "cpu":
        return value  # reading a device tensor would sync every step
    if not (0.0 <= as_float(value) < math.inf):
        raise ConfigError(
            f"{owner} produced {what} {short_repr(value)} at step {step}; a learning rate must be finite "
            "and >= 0 -- check the schedule's settings"
        )
    return value
