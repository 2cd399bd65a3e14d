"""DeepSpeed's ds_config: ``"scheduler": {"type": ..., "params": {...}}``, or that node
itself. ``type`` is one of DeepSpeed's names (read as schedreg's ``deepspeed.*``) or, as in
DeepSpeed, a torch scheduler's; ``params`` are its arguments."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from schedreg.config.dialects.node import PeerNode
from schedreg.errors import ConfigError

DEEPSPEED_NAMES = ("WarmupLR", "WarmupDecayLR", "WarmupCosineLR", "LRRangeTest", "OneCycle")
"""DeepSpeed's own schedules (its ``VALID_LR_SCHEDULES``), registered as ``deepspeed.<name>``."""


def is_deepspeed(node: Any) -> bool:
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
