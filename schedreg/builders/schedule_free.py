"""Schedule-free optimizers (the ``schedulefree`` package's ``AdamWScheduleFree``,
``SGDScheduleFree``, ``RAdamScheduleFree``), recognised by their param groups' keys.

They average their iterates with weights that grow with the largest lr seen (``lr_max``),
and warm up themselves (``warmup_steps``: ``lr * (k + 1) / warmup_steps``): a schedule on
top should be constant after the warmup, and the warmup should be theirs.
"""

from __future__ import annotations

from typing import Any

KEYS = ("train_mode", "weight_sum", "lr_max")
"""Keys every schedule-free param group carries."""


def is_schedule_free(optimizer: Any) -> bool:
    """Whether ``optimizer``'s groups are a schedule-free optimizer's."""
    groups = getattr(optimizer, "param_groups", [])
    return bool(groups) and all(all(key in group for key in KEYS) for group in groups)


def takes_warmup(optimizer: Any) -> bool:
    """Whether it has a warmup of its own to give (``RAdamScheduleFree`` needs none)."""
    return all("warmup_steps" in group for group in optimizer.param_groups)


def own_warmup(optimizer: Any) -> int:
    """The longest warmup its groups are set to (0: none)."""
    return max((int(group.get("warmup_steps", 0) or 0) for group in optimizer.param_groups), default=0)


def give_warmup(optimizer: Any, steps: int) -> None:
    """Have every group warm up over ``steps`` of the optimizer's own steps."""
    for group in optimizer.param_groups:
        group["warmup_steps"] = steps
