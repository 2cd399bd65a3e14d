"""NeMo's model config: ``optim: {sched: {name: ..., <keys>}}``, or the ``optim`` node.
``name`` is one of NeMo's (read as ``nemo.*``) or a torch scheduler's; the other keys are its
arguments, but Lightning's (``monitor``, ``reduce_on_plateau``, ``interval``, ``frequency``),
which tell the training loop what to pass and when to step."""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Any

from schedreg.config.dialects.node import PeerNode
from schedreg.errors import ConfigError
from schedreg.schedules.nemo import SHAPES

NEMO_NAMES = SHAPES
"""NeMo's own schedules, registered as ``nemo.<name>``."""
NEMO_LIGHTNING_KEYS = ("monitor", "reduce_on_plateau", "interval", "frequency")
"""Keys of a NeMo ``sched`` node that Lightning reads, not the scheduler."""
NEMO_TRAINER_KEYS = ("t_max_epochs", "t_accumulate_grad_batches", "t_limit_train_batches", "t_num_workers")
"""Keys NeMo fills from the trainer to compute ``max_steps``."""


def nemo(sched: Mapping[str, Any], path: str) -> PeerNode:
    """A NeMo ``optim.sched`` node as a solver node: ``name`` -> ``lr_scheduler_name``
    (``nemo.<name>`` for NeMo's own names), its keys -> ``args``, ``max_steps`` ->
    ``max_iter`` (the run's length, for previews)."""
    name = sched["name"]
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{path}.sched.name must be the name of a scheduler, got {name!r}")
    trainer = [k for k in NEMO_TRAINER_KEYS if k in sched]
    if trainer:
        raise ConfigError(
            f"{path}.sched.{trainer[0]}: NeMo computes max_steps from the trainer's keys; set "
            f"{path}.sched.max_steps instead"
        )
    if sched.get("max_steps") == -1:
        raise ConfigError(
            f"{path}.sched.max_steps is -1, for which NeMo builds no scheduler; set the run's length"
        )
    args = {k: v for k, v in sched.items() if k != "name" and k not in NEMO_LIGHTNING_KEYS}
    if name not in NEMO_NAMES:  # NeMo reads max_steps as the run's length, and torch's classes take none
        steps = args.pop("max_steps", None)
        whole = isinstance(steps, numbers.Integral) and not isinstance(steps, bool) and int(steps) >= 0
        if steps is not None and not whole:
            raise ConfigError(
                f"{path}.sched.max_steps must be an integer >= 0 (the run's length), got {steps!r}"
            )
    solver: dict[str, Any] = {
        "lr_scheduler_name": f"nemo.{name}" if name in NEMO_NAMES else name,
        "args": args,
    }
    spelled = {"lr_scheduler_name": "sched.name", "args": "sched"}
    steps = sched.get("max_steps")
    if isinstance(steps, (int, float)) and not isinstance(steps, bool) and steps >= 1 and steps == int(steps):
        solver["max_iter"] = int(steps)  # the run's length, for previews (0 leaves it unset)
        spelled["max_iter"] = "sched.max_steps"
    return PeerNode(solver, path, spelled, "nemo")
