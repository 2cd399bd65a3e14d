"""composer's and llm-foundry's config: ``scheduler: {name: ..., <arguments>}`` beside
``max_duration`` (and ``iters_per_epoch``, composer's dataloader length); ``name`` is one of
composer's classes (read as ``composer.*``) or llm-foundry's names for them
(``cosine_with_warmup``, ...). llm-foundry's ``global_train_batch_size`` and ``max_seq_len``
count samples and tokens per batch."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from schedreg.config.composer_time import parse_time
from schedreg.config.dialects.node import PeerNode, whole_number
from schedreg.errors import ConfigError, suggest
from schedreg.schedules.composer import SHAPES

COMPOSER_NAMES = SHAPES
"""composer's scheduler classes (and llm-foundry's one), registered as ``composer.<name>``."""
LLM_FOUNDRY_NAMES = {
    "constant_with_warmup": "ConstantWithWarmupScheduler",
    "cosine_with_warmup": "CosineAnnealingWithWarmupScheduler",
    "linear_decay_with_warmup": "LinearWithWarmupScheduler",
    "inv_sqrt_with_warmup": "InverseSquareRootWithWarmupScheduler",
}
"""llm-foundry's registry names for them."""
COMPOSER_STATE = ("max_duration", "iters_per_epoch", "global_train_batch_size", "max_seq_len", "trainer_lag")
"""The config's keys beside ``scheduler`` that composer's Trainer state gives a scheduler."""


def composer(node: Mapping[str, Any], state: Mapping[str, Any]) -> PeerNode:
    """A composer/llm-foundry ``scheduler`` node as a solver node: ``name`` ->
    ``lr_scheduler_name`` (``composer.<class>``), its arguments and the state's keys ->
    ``args``, ``iters_per_epoch`` kept, ``max_duration`` -> ``max_iter`` where it is in
    batches or epochs (the run's length, for previews). Read as it is, the config gives the
    numbers composer's Trainer gave it, one batch late (``trainer_lag: false`` beside
    ``scheduler``: the scheduler's own function)."""
    name = node["name"]
    if not isinstance(name, str) or not name:
        raise ConfigError(f"scheduler.name must be the name of a scheduler, got {name!r}")
    cls = LLM_FOUNDRY_NAMES.get(name, name)
    if cls not in COMPOSER_NAMES:
        hint = suggest(name, [*LLM_FOUNDRY_NAMES, *COMPOSER_NAMES], n=2)
        did_you_mean = f"; did you mean {' or '.join(repr(h) for h in hint)}?" if hint else ""
        raise ConfigError(
            f"scheduler.name: composer has no scheduler {name!r}{did_you_mean} (it takes "
            f"{', '.join(LLM_FOUNDRY_NAMES)} or one of its classes: {', '.join(COMPOSER_NAMES)})"
        )
    inside = sorted(set(node) & {"max_duration", "trainer_lag", "samples_per_batch", "tokens_per_batch"})
    if inside:
        raise ConfigError(
            f"scheduler.{inside[0]} is not an argument of composer's {cls} (composer refuses it); "
            "max_duration and trainer_lag go beside scheduler, the batch's size in global_train_batch_size"
        )
    args = {k: v for k, v in node.items() if k != "name"}
    if "max_duration" in state:
        args["max_duration"] = state["max_duration"]
    args["trainer_lag"] = state.get("trainer_lag", True)  # the numbers composer's Trainer gave this config
    batch, seq = state.get("global_train_batch_size"), state.get("max_seq_len")
    for key, value in (("global_train_batch_size", batch), ("max_seq_len", seq)):
        if value is not None and (not whole_number(value) or value < 1):
            raise ConfigError(f"{key} must be an integer >= 1, got {value!r}")
    if batch is not None:
        args["samples_per_batch"] = batch
    if batch is not None and seq is not None:
        args["tokens_per_batch"] = batch * seq
    solver: dict[str, Any] = {"lr_scheduler_name": f"composer.{cls}", "args": args}
    if state.get("iters_per_epoch") is not None:
        solver["iters_per_epoch"] = state["iters_per_epoch"]
    length = _batches(state.get("max_duration"), state.get("iters_per_epoch"))
    if length:
        solver["max_iter"] = length
    spelled = {"lr_scheduler_name": "name", "args": "", "max_iter": "max_duration"}
    return PeerNode(solver, "scheduler", spelled, "composer")


def _batches(duration: Any, per_epoch: Any) -> int | None:
    """composer's ``max_duration`` in batches, if it is in batches or epochs (None if not, or
    not a valid time: the builder says why)."""
    if whole_number(duration):
        duration = f"{duration}ep"
    try:
        value, unit = parse_time("max_duration", duration)
    except ConfigError:
        return None
    scale = {"ba": 1, "ep": per_epoch}.get(unit)
    if scale is None or not whole_number(scale):
        return None
    batches = int(value * scale)
    return batches if batches >= 1 else None
