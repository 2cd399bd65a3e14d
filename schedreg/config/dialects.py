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

from schedreg.errors import ConfigError, suggest

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
    keys = _keys(cfg)
    if keys & MEGATRON_KWARG_MARKS:
        return megatron_kwargs({k: lookup(cfg, k) for k in keys})
    if keys & MEGATRON_ARG_MARKS:
        return megatron_args({k: lookup(cfg, k) for k in keys})
    return None


def _keys(node: Any) -> set[str]:
    """The keys of a mapping or OmegaConf node, or the attributes of a namespace."""
    if isinstance(node, Mapping) or type(node).__module__.startswith("omegaconf"):
        return {str(k) for k in node}
    if type(node).__name__ == "Namespace":
        return set(vars(node))
    return set()


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


MEGATRON_NAME = "megatron.OptimizerParamScheduler"
MEGATRON_KWARGS = (
    *("init_lr", "max_lr", "min_lr", "lr_warmup_steps", "lr_decay_steps", "lr_decay_style"),
    *("start_wd", "end_wd", "wd_incr_steps", "wd_incr_style", "wsd_decay_steps", "lr_wsd_decay_style"),
    *("use_checkpoint_opt_param_scheduler", "override_opt_param_scheduler", "increment"),
)
"""``OptimizerParamScheduler``'s keyword arguments (and schedreg's ``increment``)."""
MEGATRON_KWARG_MARKS = {"lr_warmup_steps", "lr_decay_steps", "wd_incr_style", "wsd_decay_steps", "max_lr"}
MEGATRON_ARGS = (
    *("lr", "min_lr", "lr_warmup_init", "lr_warmup_fraction", "lr_warmup_iters", "lr_warmup_samples"),
    *("lr_decay_iters", "lr_decay_samples", "lr_decay_style", "lr_wsd_decay_style", "lr_wsd_decay_iters"),
    *("lr_wsd_decay_samples", "weight_decay", "start_weight_decay", "end_weight_decay"),
    *("weight_decay_incr_style", "train_iters", "train_samples", "global_batch_size"),
    *("override_opt_param_scheduler", "use_checkpoint_opt_param_scheduler", "decoupled_lr", "decoupled_min_lr"),
)
"""Megatron's arguments that shape its scheduler (the others of a full namespace are ignored)."""
MEGATRON_ARG_MARKS = set(MEGATRON_ARGS) - {"lr", "min_lr", "weight_decay", "global_batch_size"}
MEGATRON_PREFIXES = ("lr_warmup", "lr_decay", "lr_wsd", "start_weight_decay", "end_weight_decay", "weight_decay_")
"""Megatron's scheduler arguments begin so: an unknown one is a misspelling, not ignored."""


def _unknown(keys: set[str], known: tuple[str, ...], path: str) -> None:
    for key in sorted(keys):
        if key not in known and key.startswith(MEGATRON_PREFIXES):
            hint = suggest(key, list(known), n=1)
            did_you_mean = f"; did you mean {path}.{hint[0]}?" if hint else ""
            raise ConfigError(f"unknown Megatron argument {path}.{key}{did_you_mean}")


def megatron_kwargs(node: Mapping[str, Any]) -> PeerNode:
    """``OptimizerParamScheduler``'s keyword arguments as a solver node (the lengths in the
    steps that ``step()`` counts)."""
    unknown = sorted(set(node) - set(MEGATRON_KWARGS))
    if unknown:
        raise ConfigError(
            f"unknown argument {unknown[0]} of Megatron's OptimizerParamScheduler; allowed: "
            f"{', '.join(MEGATRON_KWARGS)}"
        )
    args = {k: v for k, v in node.items() if v is not None}
    solver: dict[str, Any] = {"lr_scheduler_name": MEGATRON_NAME, "args": args}
    return PeerNode(solver, "megatron", {"args": "OptimizerParamScheduler"}, "megatron")


def megatron_args(node: Mapping[str, Any]) -> PeerNode:
    """Megatron's arguments as a solver node, translated as its ``get_optimizer_param_scheduler``
    does: lengths in samples (iterations times ``global_batch_size``, 1 if left out), the
    warmup a fraction of the decay's length if ``lr_warmup_fraction`` is set."""
    _unknown(set(node), MEGATRON_ARGS, "args")
    a = {k: v for k, v in node.items() if k in MEGATRON_ARGS and v is not None}
    for key in ("decoupled_lr", "decoupled_min_lr"):
        if key in a:
            raise ConfigError(
                f"args.{key}={a[key]!r}: give the groups it is for their own peak and floor as 'max_lr' and "
                "'min_lr' keys (Megatron's group keys) instead"
            )
    for key in ("train_iters", "train_samples", "lr_decay_iters", "lr_decay_samples", "lr_warmup_iters"):
        _whole(a, key, least=0)
    for key in ("lr_warmup_samples", "lr_wsd_decay_iters", "lr_wsd_decay_samples"):
        _whole(a, key, least=0)
    _whole(a, "global_batch_size", least=1)
    gbs = a.get("global_batch_size", 1)
    fraction = a.get("lr_warmup_fraction")
    if fraction is not None and (
        isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 <= fraction < 1
    ):
        raise ConfigError(f"args.lr_warmup_fraction must be a fraction in [0, 1), got {fraction!r}")
    if a.get("train_iters"):
        _only(a, "iteration", ("train_samples", "lr_decay_samples", "lr_warmup_samples", "lr_wsd_decay_samples"))
        decay = (a.get("lr_decay_iters") or a["train_iters"]) * gbs
        wd_steps = a["train_iters"] * gbs
        wsd = a["lr_wsd_decay_iters"] * gbs if "lr_wsd_decay_iters" in a else None
        count = a.get("lr_warmup_iters", 0) * gbs
        counted = "lr_warmup_iters"
    elif a.get("train_samples"):
        _only(a, "sample", ("lr_decay_iters", "lr_warmup_iters", "lr_wsd_decay_iters"))
        decay = a.get("lr_decay_samples") or a["train_samples"]
        wd_steps, wsd = a["train_samples"], a.get("lr_wsd_decay_samples")
        count, counted = a.get("lr_warmup_samples", 0), "lr_warmup_samples"
    else:
        raise ConfigError("args: set train_iters or train_samples (Megatron needs one to size its schedule)")
    if fraction is not None and count:
        raise ConfigError(f"args: set lr_warmup_fraction or {counted}, not both (got {fraction} and {a[counted]})")
    warmup = fraction * decay if fraction is not None else count
    args: dict[str, Any] = {
        "lr_decay_steps": decay,
        "lr_warmup_steps": warmup,
        "increment": gbs,
        "wd_incr_steps": wd_steps,
    }
    renamed = {"lr": "max_lr", "min_lr": "min_lr", "lr_warmup_init": "init_lr", "lr_decay_style": "lr_decay_style"}
    args.update({new: a[old] for old, new in renamed.items() if old in a})
    if "lr_wsd_decay_style" in a:
        args["lr_wsd_decay_style"] = a["lr_wsd_decay_style"]
    if wsd is not None:
        args["wsd_decay_steps"] = wsd
    if "lr" in a and "min_lr" in a and _number(a["lr"]) and _number(a["min_lr"]) and a["min_lr"] > a["lr"]:
        raise ConfigError(f"args.min_lr={a['min_lr']} must be <= args.lr={a['lr']} (Megatron asserts it)")
    args.update(_megatron_weight_decay(a))
    for key in ("override_opt_param_scheduler", "use_checkpoint_opt_param_scheduler"):
        if a.get(key):
            args[key] = a[key]
    solver: dict[str, Any] = {"lr_scheduler_name": MEGATRON_NAME, "args": args}
    if a.get("train_iters"):
        solver["max_iter"] = a["train_iters"]  # the run's length, for previews
    return PeerNode(solver, "megatron", {"args": "OptimizerParamScheduler", "max_iter": "train_iters"}, "megatron")


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _whole(a: Mapping[str, Any], key: str, least: int) -> None:
    v = a.get(key)
    if v is not None and (not isinstance(v, numbers.Integral) or isinstance(v, bool) or v < least):
        raise ConfigError(f"args.{key} must be an integer >= {least}, got {v!r}")


def _only(a: Mapping[str, Any], mode: str, others: tuple[str, ...]) -> None:
    """Megatron's check that an iteration-based run sets no sample-based length, and back."""
    for key in others:
        if a.get(key):
            raise ConfigError(f"args.{key}={a[key]!r} does not apply to {mode}-based training (Megatron asserts it)")


def _megatron_weight_decay(a: Mapping[str, Any]) -> dict[str, Any]:
    """Megatron's weight decay: ``constant`` writes ``weight_decay`` (``start_weight_decay``
    and ``end_weight_decay`` unset); the ramps need both ends. Nothing if no key is set."""
    style = a.get("weight_decay_incr_style", "constant")
    start, end = a.get("start_weight_decay"), a.get("end_weight_decay")
    if style == "constant":
        if start is not None or end is not None:
            raise ConfigError(
                "args.start_weight_decay/end_weight_decay apply to weight_decay_incr_style linear or cosine; "
                "with constant, set args.weight_decay"
            )
        if "weight_decay" not in a:
            return {}
        return {"start_wd": a["weight_decay"], "end_wd": a["weight_decay"], "wd_incr_style": "constant"}
    if start is None or end is None:
        raise ConfigError(f"args.weight_decay_incr_style={style!r} needs start_weight_decay and end_weight_decay")
    return {"start_wd": start, "end_wd": end, "wd_incr_style": style}
