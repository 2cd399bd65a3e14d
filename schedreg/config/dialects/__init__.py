"""Other libraries' scheduler configs, read as a solver node: the peer's node as its users
write it, with the peer's key names kept for messages. One module per peer: DeepSpeed's
ds_config, NeMo's ``optim.sched``, composer's and llm-foundry's ``scheduler``, mmengine's
``param_scheduler``, Megatron-LM's arguments.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from schedreg.config.dialects.composer import COMPOSER_NAMES, COMPOSER_STATE, composer
from schedreg.config.dialects.deepspeed import DEEPSPEED_NAMES, deepspeed, is_deepspeed
from schedreg.config.dialects.megatron import (
    MEGATRON_ARG_MARKS,
    MEGATRON_KWARG_MARKS,
    megatron_args,
    megatron_kwargs,
)
from schedreg.config.dialects.mmengine import mmengine_node
from schedreg.config.dialects.nemo import NEMO_NAMES, nemo
from schedreg.config.dialects.node import PeerNode

__all__ = ["COMPOSER_NAMES", "DEEPSPEED_NAMES", "NEMO_NAMES", "PEERS", "PeerNode", "peer_node"]

PEERS = ("deepspeed", "nemo", "composer", "mmengine", "megatron")
"""The libraries whose configs are read (a :class:`PeerNode`'s ``peer``)."""


def peer_node(cfg: Any, lookup: Any) -> PeerNode | None:
    """``cfg`` read as a peer's scheduler config, or None if it is none of theirs;
    ``lookup(node, key)`` reads a key of a mapping, an OmegaConf node or an object."""
    scheduler = lookup(cfg, "scheduler")
    if is_deepspeed(scheduler):
        return deepspeed({k: lookup(scheduler, k) for k in scheduler}, "scheduler")
    if is_deepspeed(cfg):
        return deepspeed({k: lookup(cfg, k) for k in cfg}, "scheduler")
    if isinstance(scheduler, Mapping) and "name" in scheduler:
        return composer(scheduler, {k: lookup(cfg, k) for k in COMPOSER_STATE if _has_key(cfg, k)})
    if _has_key(cfg, "param_scheduler"):
        return mmengine_node({k: lookup(cfg, k) for k in ("param_scheduler", "train_cfg", "iters_per_epoch")})
    optim = lookup(cfg, "optim")
    for node in (optim, cfg):
        sched = lookup(node, "sched") if isinstance(node, Mapping) else None
        if isinstance(sched, Mapping) and "name" in sched:
            return nemo(sched, "optim")
    keys = _keys(cfg)
    if keys & MEGATRON_KWARG_MARKS:
        return megatron_kwargs({k: lookup(cfg, k) for k in keys})
    if keys & MEGATRON_ARG_MARKS:
        return megatron_args({k: lookup(cfg, k) for k in keys})
    return None


def _has_key(node: Any, key: str) -> bool:
    return key in _keys(node)


def _keys(node: Any) -> set[str]:
    """The keys of a mapping or OmegaConf node, or the attributes of a namespace."""
    if isinstance(node, Mapping) or type(node).__module__.startswith("omegaconf"):
        return {str(k) for k in node}
    if type(node).__name__ == "Namespace":
        return set(vars(node))
    return set()
