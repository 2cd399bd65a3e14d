"""mmengine's config: ``param_scheduler`` (a list of scheduler dicts, or one) beside
``train_cfg`` (``max_epochs`` or ``max_iters``: each window's default ``end``) and
``iters_per_epoch`` (mmengine's ``len(train_dataloader)``). Read as ``mmengine.param_scheduler``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from schedreg.config.dialects.node import PeerNode, whole_number
from schedreg.errors import ConfigError


def mmengine_node(cfg: Mapping[str, Any]) -> PeerNode:
    """An mmengine config's ``param_scheduler`` as a solver node: the list as
    ``args.param_scheduler``, ``train_cfg``'s length as ``args.max_epochs``/``max_iters``
    (an epoch loop's ``max_iters`` is its epochs times ``iters_per_epoch``, as mmengine's
    Runner counts), ``iters_per_epoch`` kept; ``max_iter`` the run's length (for previews)."""
    train = cfg.get("train_cfg") or {}
    if not isinstance(train, Mapping):
        raise ConfigError(f"train_cfg must be a mapping (mmengine's training loop), got {train!r}")
    per_epoch = cfg.get("iters_per_epoch")
    by_epoch = train.get("by_epoch", train.get("type", "EpochBasedTrainLoop") != "IterBasedTrainLoop")
    args: dict[str, Any] = {"param_scheduler": cfg["param_scheduler"]}
    if by_epoch and train.get("max_epochs") is not None:
        args["max_epochs"] = train["max_epochs"]
        if whole_number(per_epoch) and whole_number(train["max_epochs"]):
            args["max_iters"] = train["max_epochs"] * per_epoch
    elif not by_epoch and train.get("max_iters") is not None:
        args["max_iters"] = train["max_iters"]
        specs = (
            cfg["param_scheduler"] if isinstance(cfg["param_scheduler"], list) else [cfg["param_scheduler"]]
        )
        for i, spec in enumerate(specs):
            if (
                isinstance(spec, Mapping)
                and spec.get("by_epoch", True)
                and not spec.get("convert_to_iter_based")
            ):
                raise ConfigError(
                    f"param_scheduler[{i}]: an iteration-based train_cfg steps epoch schedulers once, "
                    "at the end "
                    "(mmengine's IterBasedTrainLoop); set by_epoch: false"
                )
    solver: dict[str, Any] = {"lr_scheduler_name": "mmengine.param_scheduler", "args": args}
    if per_epoch is not None:
        solver["iters_per_epoch"] = per_epoch
    if whole_number(args.get("max_iters")) and args["max_iters"] >= 1:
        solver["max_iter"] = args["max_iters"]
    return PeerNode(solver, "cfg", {"args": "", "lr_scheduler_name": "param_scheduler"}, "mmengine")
