"""Other libraries' scheduler configs, read as a solver node: the peer's node as its users
write it, with the peer's key names kept for messages.

* DeepSpeed: a ds_config holding ``"scheduler": {"type": ..., "params": {...}}``, or that
  node itself. ``type`` is one of DeepSpeed's names (``WarmupLR``, ``WarmupDecayLR``,
  ``WarmupCosineLR``, ``LRRangeTest``, ``OneCycle``: read as schedreg's ``deepspeed.*``) or,
  as in DeepSpeed, a torch scheduler's; ``params`` are its arguments.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from schedreg.errors import ConfigError

DEEPSPEED_NAMES = ("WarmupLR", "WarmupDecayLR", "WarmupCosineLR", "LRRangeTest", "OneCycle")
"""DeepSpeed's own schedules (its ``VALID_LR_SCHEDULES``), registered as ``deepspeed.<name>``."""


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
        return deepspeed(scheduler, "scheduler")
    if _is_deepspeed(cfg):
        return deepspeed(cfg, "scheduler")
    return None


def _is_deepspeed(node: Any) -> bool:
    keys = set(node) if isinstance(node, Mapping) else set()
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
