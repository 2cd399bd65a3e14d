"""Other libraries' scheduler configs, read as a solver node: the peer's node as its users
write it, with the peer's key names kept for messages.

* DeepSpeed: a ds_config holding ``"scheduler": {"type": ..., "params": {...}}``, or that
  node itself. ``type`` is one of DeepSpeed's names (``WarmupLR``, ``WarmupDecayLR``,
  ``WarmupCosineLR``, ``LRRangeTest``, ``OneCycle``: read as schedreg's ``deepspeed.*``) or,
  as in DeepSpeed, a torch scheduler's; ``params`` are its arguments.
* NeMo: a model config holding ``optim: {sched: {name: ..., <keys>}}``, or the ``optim``
  node. ``name`` is one of NeMo's (read as ``nemo.*``) or a torch scheduler's; the other
  keys are its arguments, but Lightning's (``monitor``, ``reduce_on_plateau``, ``interval``,
  ``frequency``), which tell the training loop what to pass and when to step.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from schedreg.errors import ConfigError

DEEPSPEED_NAMES = ("WarmupLR", "WarmupDecayLR", "WarmupCosineLR", "LRRangeTest", "OneCycle")
"""DeepSpeed's own schedules (its ``VALID_LR_SCHEDULES``), registered as ``deepspeed.<name>``."""
NEMO_NAMES = (
    *("WarmupPolicy", "WarmupHoldPolicy", "CosineAnnealing", "WarmupAnnealing", "SquareAnnealing"),
    *("SquareRootAnnealing", "InverseSquareRootAnnealing", "T5InverseSquareRootAnnealing"),
    *("NoamAnnealing", "NoamHoldAnnealing", "PolynomialDecayAnnealing", "PolynomialHoldDecayAnnealing"),
    *("WarmupHoldAnnealLinear", "WarmupHoldAnnealOneMinusSquareRoot"),
)
"""NeMo's own schedules, registered as ``nemo.<name>``."""
NEMO_LIGHTNING_KEYS = ("monitor", "reduce_on_plateau", "interval", "frequency")
"""Keys of a NeMo ``sched`` node that Lightning reads, not the scheduler."""
NEMO_TRAINER_KEYS = ("t_max_epochs", "t_accumulate_grad_batches", "t_limit_train_batches", "t_num_workers")
"""Keys NeMo fills from the trainer to compute ``max_steps``."""


@dataclass(frozen=True)
class PeerNode:
    """A peer's scheduler config as a solver node.

    Attributes:
        node: the solver node, in schedreg's keys.
        path: where the peer's node is (``scheduler``), for messages.
        spelled: schedreg key -> the peer's key it came from (``args`` -> ``params``).
        peer: the library.
    """

    node: dict[str, Any]
    path: str
    spelled: Mapping[str, str] = field(default_factory=dict)
    peer: str = ""


def peer_node(cfg: Any, lookup: Any) -> PeerNode | None:
    """``cfg`` read as a peer's scheduler config, or None if it is none of theirs;
    ``lookup(node, key)`` reads a key of a mapping, an OmegaConf node or an object."""
    scheduler = lookup(cfg, "scheduler")
    if _is_deepspeed(scheduler):
        return deepspeed({k: lookup(scheduler, k) for k in scheduler}, "scheduler")
    if _is_deepspeed(cfg):
        return deepspeed({k: lookup(cfg, k) for k in cfg}, "scheduler")
    optim = lookup(cfg, "optim")
    for node in (optim, cfg):
        sched = lookup(node, "sched") if isinstance(node, Mapping) else None
        if isinstance(sched, Mapping) and "name" in sched:
            return nemo(sched, "optim")
    return None


def _is_deepspeed(node: Any) -> bool:
    keys = set(node) if isinstance(node, Mapping) or type(node).__module__.startswith("omegaconf") else set()
    return "type" in keys and keys <= {"type", "params"}


def deepspeed(node: Mapping[str, Any], path: str) -> PeerNode:
    """A ds_config ``scheduler`` node as a solver node: ``type`` -> ``lr_scheduler_name``
    (``deepspeed.<type>`` for DeepSpeed's own names), ``params`` -> ``args``, and
    ``params.total_num_steps`` -> ``max_iter`` (the run's length, for previews)."""
    kind, params = node["type"], node.get("params") or {}
    if not isinstance(kind, str) or not kind:
        raise ConfigError(f"{path}.type must be the name of a scheduler, got {kind!r}")
    if not isinstance(params, Mapping):
        raise ConfigError(f"{path}.params must be a mapping of the scheduler's arguments, got {params!r}")
    name = f"deepspeed.{kind}" if kind in DEEPSPEED_NAMES else kind
    solver: dict[str, Any] = {"lr_scheduler_name": name, "args": dict(params)}
    spelled = {"lr_scheduler_name": "type", "args": "params"}
    if "total_num_steps" in params:
        solver["max_iter"] = params["total_num_steps"]
        spelled["max_iter"] = "params.total_num_steps"
    return PeerNode(solver, path, spelled, "deepspeed")


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
