"""Megatron-LM's arguments (an ``argparse.Namespace`` or a mapping: ``lr``, ``min_lr``,
``lr_warmup_iters``, ``lr_decay_samples``, ``lr_decay_style``, ...), translated into
``OptimizerParamScheduler``'s as Megatron's ``get_optimizer_param_scheduler`` does (its
lengths in samples: iterations times ``global_batch_size``); or that class's own keyword
arguments (``max_lr``, ``lr_warmup_steps``, ``lr_decay_steps``, ...). Read as
``megatron.OptimizerParamScheduler``."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any

from schedreg.config.dialects.node import PeerNode
from schedreg.errors import ConfigError, suggest
from schedreg.schedules.megatron import DECAY_STYLES

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
    *(
        "override_opt_param_scheduler",
        "use_checkpoint_opt_param_scheduler",
        "decoupled_lr",
        "decoupled_min_lr",
    ),
    *("step_batch_size_schedule", "rampup_batch_size", "decrease_batch_size_if_needed", "seq_length"),
)
"""Megatron's arguments that shape its scheduler (the others of a full namespace are ignored)."""
MEGATRON_ARG_MARKS = set(MEGATRON_ARGS) - {
    *("lr", "min_lr", "weight_decay", "global_batch_size", "seq_length", "decrease_batch_size_if_needed"),
}
MEGATRON_PREFIXES = (
    "lr_warmup",
    "lr_decay",
    "lr_wsd",
    "start_weight_decay",
    "end_weight_decay",
    "weight_decay_",
)
"""Megatron's scheduler arguments begin so: an unknown one is a misspelling, not ignored."""


def _unknown(keys: set[str], known: tuple[str, ...], path: str) -> None:
    for key in sorted(keys):
        if key not in known and key.startswith(MEGATRON_PREFIXES):
            hint = suggest(key, list(known), n=1)
            did_you_mean = f"; did you mean {path}.{hint[0]}?" if hint else ""
            raise ConfigError(f"unknown Megatron argument {path}.{key}{did_you_mean}")


def megatron_kwargs(node: Mapping[str, Any]) -> PeerNode:
    """``OptimizerParamScheduler``'s keyword arguments as a solver node (the lengths in the
    steps that ``step()`` counts); ``max_lr`` is also the optimizer's lr where schedreg builds it."""
    unknown = sorted(set(node) - set(MEGATRON_KWARGS))
    if unknown:
        raise ConfigError(
            f"unknown argument {unknown[0]} of Megatron's OptimizerParamScheduler; allowed: "
            f"{', '.join(MEGATRON_KWARGS)}"
        )
    args = {k: v for k, v in node.items() if v is not None}
    args.pop("override_opt_param_scheduler", None)
    args.pop("use_checkpoint_opt_param_scheduler", None)
    override = node.get("override_opt_param_scheduler") or False  # Megatron reads None as false
    use_checkpoint = node.get("use_checkpoint_opt_param_scheduler", True) or False  # the class's default
    policy = _resume_policy(override, use_checkpoint, "use_checkpoint_opt_param_scheduler" not in node)
    solver: dict[str, Any] = {"lr_scheduler_name": MEGATRON_NAME, "args": args, "on_resume_change": policy}
    spelled = {"args": "OptimizerParamScheduler", "base_lr": "OptimizerParamScheduler.max_lr"}
    spelled["on_resume_change"] = "OptimizerParamScheduler.use_checkpoint_opt_param_scheduler"
    if _lr(args.get("max_lr")):
        solver["base_lr"] = args["max_lr"]
    return PeerNode(solver, "megatron", spelled, "megatron")


def _resume_policy(override: Any, use_checkpoint: Any, by_default: bool = False) -> str:
    """schedreg's ``on_resume_change`` for Megatron's two flags: ``override`` (the arguments
    win), ``use_checkpoint`` (the checkpoint's values win), else ``error`` (Megatron asserts
    they are equal); both set is refused, as Megatron asserts."""
    for key, value in (
        ("override_opt_param_scheduler", override),
        ("use_checkpoint_opt_param_scheduler", use_checkpoint),
    ):
        if not isinstance(value, bool):
            raise ConfigError(f"{key} must be true or false, got {value!r}")
    if override and use_checkpoint:
        default = " (OptimizerParamScheduler's default: set it to false)" if by_default else ""
        raise ConfigError(
            f"override_opt_param_scheduler and use_checkpoint_opt_param_scheduler{default} are both set; "
            "Megatron refuses both (the arguments or the checkpoint win, not both)"
        )
    return "override" if override else "use_checkpoint" if use_checkpoint else "error"


def megatron_args(node: Mapping[str, Any]) -> PeerNode:
    """Megatron's arguments as a solver node, translated as its ``get_optimizer_param_scheduler``
    does: lengths in samples (iterations times ``global_batch_size``, 1 if left out), the
    warmup a fraction of the decay's length if ``lr_warmup_fraction`` is set; each value
    checked under Megatron's name, as Megatron asserts it."""
    _unknown(set(node), MEGATRON_ARGS, "args")
    ramp = _ramp(node)
    if node.get("global_batch_size") is None and node.get("micro_batch_size") is not None and not ramp:
        raise ConfigError(
            "args.global_batch_size is not set: Megatron makes it micro_batch_size x the data-parallel size, "
            "which schedreg cannot know; set it (each step counts that many samples)"
        )
    a = {k: v for k, v in node.items() if k in MEGATRON_ARGS and v is not None}
    for key in ("decoupled_lr", "decoupled_min_lr"):
        if key in a:
            raise ConfigError(
                f"args.{key}={a[key]!r}: give the groups it is for their own peak and floor as 'max_lr' and "
                "'min_lr' keys (Megatron's group keys) instead"
            )
    for key in ("lr", "min_lr", "lr_warmup_init", "weight_decay", "start_weight_decay", "end_weight_decay"):
        if key in a and not _lr(a[key]):
            raise ConfigError(f"args.{key} must be a finite number >= 0, got {a[key]!r}")
    for key in COUNTS:
        _whole(a, key, least=1 if key == "global_batch_size" else 0)
    fraction = a.get("lr_warmup_fraction")
    if fraction is not None and (not _lr(fraction) or not 0 <= fraction < 1):
        raise ConfigError(f"args.lr_warmup_fraction must be a fraction in [0, 1), got {fraction!r}")
    gbs = a.get("global_batch_size", 1)
    if a.get("train_iters"):
        _only(
            a, "iteration", ("train_samples", "lr_decay_samples", "lr_wsd_decay_samples"), "lr_warmup_samples"
        )
        unit, train, scale = "iters", a["train_iters"], gbs
    elif a.get("train_samples"):
        _only(a, "sample", ("train_iters", "lr_decay_iters", "lr_wsd_decay_iters"), "lr_warmup_iters")
        unit, train, scale = "samples", a["train_samples"], 1
    else:
        raise ConfigError("args: set train_iters or train_samples (Megatron needs one to size its schedule)")
    decay = a.get(f"lr_decay_{unit}", train)  # Megatron defaults it where it is None, not 0
    count = a.get(f"lr_warmup_{unit}", 0)
    if fraction is not None and count:
        raise ConfigError(
            f"args: set lr_warmup_fraction or lr_warmup_{unit}, not both (got {fraction} and {count})"
        )
    if decay == 0:
        raise ConfigError(f"args.lr_decay_{unit} must be > 0 (Megatron asserts it)")
    warmup = fraction * (decay * scale) if fraction is not None else count * scale  # Megatron's order
    if warmup >= decay * scale:
        given = "lr_warmup_fraction" if fraction is not None else f"lr_warmup_{unit}"
        raise ConfigError(
            f"args.{given}: the warmup must end before the decay's length lr_decay_{unit}={decay} "
            "(Megatron asserts it)"
        )
    style = a.get("lr_decay_style", "linear")
    if style not in DECAY_STYLES:
        raise ConfigError(f"args.lr_decay_style must be one of {', '.join(DECAY_STYLES)}, got {style!r}")
    wsd = a.get(f"lr_wsd_decay_{unit}")
    if style == "WSD" and not wsd:
        raise ConfigError(f"args.lr_wsd_decay_{unit} must be set (> 0) for lr_decay_style WSD")
    if "lr" in a and "min_lr" in a and a["min_lr"] > a["lr"]:
        raise ConfigError(f"args.min_lr={a['min_lr']} must be <= args.lr={a['lr']} (Megatron asserts it)")
    args: dict[str, Any] = {
        "lr_decay_steps": decay * scale,
        "lr_warmup_steps": warmup,
        "increment": gbs,
        "wd_incr_steps": train * scale,
    }
    renamed = {
        "lr": "max_lr",
        "min_lr": "min_lr",
        "lr_warmup_init": "init_lr",
        "lr_decay_style": "lr_decay_style",
    }
    args.update({new: a[old] for old, new in renamed.items() if old in a})
    if "lr_wsd_decay_style" in a:
        args["lr_wsd_decay_style"] = a["lr_wsd_decay_style"]
    if wsd is not None:
        args["wsd_decay_steps"] = wsd * scale
    args.update(_megatron_weight_decay(a))
    policy = _resume_policy(  # the arguments' defaults: Megatron asserts the checkpoint's are the same
        a.get("override_opt_param_scheduler", False), a.get("use_checkpoint_opt_param_scheduler", False)
    )
    solver: dict[str, Any] = {"lr_scheduler_name": MEGATRON_NAME, "args": args, "on_resume_change": policy}
    spelled = {"args": "OptimizerParamScheduler", "max_iter": "train_iters", "base_lr": "lr"}
    spelled["on_resume_change"] = "override_opt_param_scheduler"
    if "lr" in a:
        solver["base_lr"] = a["lr"]  # the optimizer's lr where schedreg builds it, and previews'
    if a.get("train_iters"):
        solver["max_iter"] = a["train_iters"]  # the run's length, for previews
    if ramp:
        solver.update(ramp, max_iter=a["train_samples"])  # on a sample clock, the run counts samples
        spelled.update(RAMP_SPELLED)
    return PeerNode(solver, "args", spelled, "megatron")


RAMP_SPELLED = {
    "batch_size_schedule": "step_batch_size_schedule",
    "tokens_per_sample": "seq_length",
    "clock": "step_batch_size_schedule",
    "max_iter": "train_samples",
}
"""Where the solver keys of a Megatron ramp come from, for messages."""


def _ramp(a: Mapping[str, Any]) -> dict[str, Any]:
    """The solver keys of Megatron's ``step_batch_size_schedule`` (none if unset): a sample
    clock (Megatron's scheduler counts samples, stepped by each iteration's batch), the
    ramp, its thresholds tokens where ``seq_length`` is given (as Megatron reads them)."""
    if a.get("rampup_batch_size") is not None:
        raise ConfigError(
            f"args.rampup_batch_size={a['rampup_batch_size']!r}: Megatron ignores it now (deprecated); its "
            "batch-size ramp is step_batch_size_schedule, e.g. '0:768 250B:1536'"
        )
    schedule = a.get("step_batch_size_schedule")
    if schedule is None:
        return {}
    refused = [
        ("global_batch_size", "the ramp gives the batch size"),
        ("decrease_batch_size_if_needed", "Megatron refuses it with a ramp"),
    ]
    for key, why in refused:
        if a.get(key):
            raise ConfigError(f"args.{key}={a[key]!r} and args.step_batch_size_schedule are both set: {why}")
    if not a.get("train_samples"):
        raise ConfigError(
            "args.step_batch_size_schedule: a ramp's run is counted in samples; set train_samples (and the "
            "lr lengths in samples), as Megatron's sample-based training does"
        )
    entries = schedule.replace(",", " ").split() if isinstance(schedule, str) else None
    if not entries or not all(entry.count(":") == 1 for entry in entries):
        raise ConfigError(
            f"args.step_batch_size_schedule must be Megatron's string of THRESHOLD:BATCH_SIZE entries, like "
            f"'0:768 250B:1536', got {schedule!r}"
        )
    out: dict[str, Any] = {"clock": "samples", "batch_size_schedule": schedule}
    seq = a.get("seq_length")
    if seq is not None:  # Megatron reads the thresholds as tokens
        out["tokens_per_sample"] = seq
        pairs = (entry.split(":") for entry in entries)
        out["batch_size_schedule"] = [[f"{threshold}tok", size] for threshold, size in pairs]
    return out


COUNTS = (
    *("train_iters", "train_samples", "lr_decay_iters", "lr_decay_samples", "lr_warmup_iters"),
    *("lr_warmup_samples", "lr_wsd_decay_iters", "lr_wsd_decay_samples", "global_batch_size"),
)


def _lr(v: Any) -> bool:
    """A finite real number >= 0 (numpy's too, not a bool)."""
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and 0 <= float(v) < math.inf


def _whole(a: Mapping[str, Any], key: str, least: int) -> None:
    v = a.get(key)
    if v is not None and (not isinstance(v, numbers.Integral) or isinstance(v, bool) or v < least):
        raise ConfigError(f"args.{key} must be an integer >= {least}, got {v!r}")


def _only(a: Mapping[str, Any], mode: str, unset: tuple[str, ...], zero: str) -> None:
    """Megatron's check that an iteration-based run sets no sample-based length, and back
    (``unset`` must be None, ``zero`` 0)."""
    wrong = [key for key in unset if key in a] + ([zero] if a.get(zero) else [])
    if wrong:
        raise ConfigError(
            f"args.{wrong[0]}={a[wrong[0]]!r} does not apply to {mode}-based training (Megatron asserts it)"
        )


def _megatron_weight_decay(a: Mapping[str, Any]) -> dict[str, Any]:
    """Megatron's weight decay: ``constant`` writes ``weight_decay`` (``start_weight_decay``
    and ``end_weight_decay`` unset, or equal to it, as Megatron's ``validate_args`` leaves
    them); the ramps need both ends. Nothing if no key is set."""
    style = a.get("weight_decay_incr_style", "constant")
    start, end = a.get("start_weight_decay"), a.get("end_weight_decay")
    if style == "constant":
        ends = {v for v in (start, end) if v is not None}
        if ends - {a.get("weight_decay")}:  # Megatron's validate_args sets both to weight_decay
            raise ConfigError(
                f"args.start_weight_decay/end_weight_decay ({start}, {end}) apply to weight_decay_incr_style "
                "linear or cosine; with constant, the weight decay is args.weight_decay "
                f"({a.get('weight_decay')})"
            )
        if "weight_decay" not in a:
            return {}
        return {"start_wd": a["weight_decay"], "end_wd": a["weight_decay"], "wd_incr_style": "constant"}
    if start is None or end is None:
        raise ConfigError(
            f"args.weight_decay_incr_style={style!r} needs start_weight_decay and end_weight_decay"
        )
    return {"start_wd": start, "end_wd": end, "wd_incr_style": style}
