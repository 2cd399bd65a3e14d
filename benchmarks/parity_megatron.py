"""Parity study: schedreg's Megatron-LM dialect against Megatron's own scheduler.

    python benchmarks/parity_megatron.py --source PATH/optimizer_param_scheduler.py \
        [--calculator PATH/num_microbatches_calculator.py] [--json out.json]

Megatron-LM is not a schedreg dependency, and installing it pulls in most of its stack: this
loads its ``megatron/core/optimizer_param_scheduler.py`` alone (from a checkout or an installed package),
with a stand-in for the one thing it imports from Megatron (``log_single_rank``). Each case
is Megatron's arguments (translated to the scheduler's keywords here as Megatron's
``get_optimizer_param_scheduler`` does: lengths in samples, iterations times the global
batch size) or the scheduler's own keywords. Both sides get the same optimizer, its groups
carrying ``max_lr``, ``min_lr`` and ``wd_mult`` as Megatron's optimizer builds them, and
are stepped as Megatron's ``train_step`` does: Megatron's ``step(increment=global batch
size)`` after each optimizer step, schedreg's ``step()`` (or ``step(increment=...)`` where
the case says so). With ``--calculator``, Megatron's step batch-size schedule too: its
``StepBatchsizeNumMicroBatchesCalculator`` gives each iteration's batch, on a sample clock.
Reports the largest relative difference of any group's lr or weight decay at any iteration.
"""

from __future__ import annotations

import argparse
import logging
import types
from typing import Any

import torch
from parity import compare, finish, load_source

import schedreg

T = 36
GBS = 4
BASE = {
    "lr": 0.1,
    "min_lr": 0.001,
    "weight_decay": 0.01,
    "train_iters": 30,
    "global_batch_size": GBS,
    "lr_warmup_iters": 4,
}
"""Megatron's arguments always hold ``weight_decay`` (0.01 by default), which its scheduler
writes into every group times its ``wd_mult``; schedreg writes it where the config sets it."""
KWARGS = {
    "init_lr": 0.0,
    "max_lr": 0.1,
    "min_lr": 0.001,
    "lr_warmup_steps": 5,
    "lr_decay_steps": 30,
    "lr_decay_style": "cosine",
    "start_wd": 0.02,
    "end_wd": 0.02,
    "wd_incr_steps": 30,
    "wd_incr_style": "constant",
}
TWO = {"lrs": (0.1, 0.03), "wd_mults": (1.0, 0.0)}
"""Two groups, the second at its own 'max_lr' and with no weight decay (Megatron's biases)."""

CASES: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = [
    ("args cosine", "args", {**BASE, "lr_decay_style": "cosine"}, TWO),
    ("args cosine increment", "args", {**BASE, "lr_decay_style": "cosine"}, {**TWO, "increment": True}),
    ("args linear", "args", {**BASE, "lr_decay_iters": 24}, TWO),
    ("args constant", "args", {**BASE, "lr_decay_style": "constant", "lr_warmup_init": 0.01}, TWO),
    ("args inv-sqrt", "args", {**BASE, "lr_decay_style": "inverse-square-root", "lr_decay_iters": 24}, TWO),
    *(
        (
            f"args WSD {style}",
            "args",
            {**BASE, "lr_decay_style": "WSD", "lr_wsd_decay_iters": 10, "lr_wsd_decay_style": style},
            TWO,
        )
        for style in ("exponential", "linear", "cosine", "minus_sqrt")
    ),
    ("args warmup fraction", "args", {**BASE, "lr_warmup_iters": 0, "lr_warmup_fraction": 0.15}, TWO),
    (
        "args samples",
        "args",
        {
            "lr": 0.1,
            "min_lr": 0.001,
            "weight_decay": 0.03,
            "train_samples": 120,
            "lr_decay_samples": 100,
            "lr_warmup_samples": 10,
            "global_batch_size": GBS,
            "lr_decay_style": "cosine",
        },
        TWO,
    ),
    (
        "args wd linear",
        "args",
        {
            **BASE,
            "lr_decay_style": "cosine",
            "weight_decay_incr_style": "linear",
            "start_weight_decay": 0.01,
            "end_weight_decay": 0.1,
        },
        {"lrs": (0.1, 0.03, 0.1), "wd_mults": (1.0, 0.5, 0.0)},
    ),
    (
        "args wd cosine",
        "args",
        {
            **BASE,
            "lr_decay_iters": 20,
            "weight_decay_incr_style": "cosine",
            "start_weight_decay": 0.0,
            "end_weight_decay": 0.05,
        },
        {**TWO, "min_lrs": (0.001, 0.0002)},
    ),
    ("kwargs cosine", "kwargs", KWARGS, TWO),
    (
        "kwargs WSD wd ramp",
        "kwargs",
        {
            **KWARGS,
            "init_lr": 0.005,
            "lr_decay_style": "WSD",
            "wsd_decay_steps": 12,
            "lr_wsd_decay_style": "cosine",
            "start_wd": 0.0,
            "end_wd": 0.1,
            "wd_incr_style": "cosine",
        },
        TWO,
    ),
]

MEGATRON_DEFAULTS = {
    "min_lr": 0.0,
    "lr_warmup_init": 0.0,
    "lr_warmup_fraction": None,
    "lr_warmup_iters": 0,
    "lr_warmup_samples": 0,
    "lr_decay_iters": None,
    "lr_decay_samples": None,
    "lr_decay_style": "linear",
    "lr_wsd_decay_style": "exponential",
    "lr_wsd_decay_iters": None,
    "lr_wsd_decay_samples": None,
    "weight_decay": 0.01,
    "weight_decay_incr_style": "constant",
    "start_weight_decay": None,
    "end_weight_decay": None,
    "train_iters": None,
    "train_samples": None,
}
"""Megatron's defaults for the arguments its scheduler reads (arguments.py, SchedulerConfig)."""


def translate(args: dict[str, Any]) -> dict[str, Any]:
    """Megatron's arguments as ``OptimizerParamScheduler``'s keywords, as Megatron's
    ``get_optimizer_param_scheduler`` computes them (constant batch size), after its argument
    validation sets the weight decay's ends."""
    a = types.SimpleNamespace(**{**MEGATRON_DEFAULTS, **args})
    if a.weight_decay_incr_style == "constant":
        a.start_weight_decay = a.end_weight_decay = a.weight_decay
    gbs = a.global_batch_size
    if a.train_iters:
        decay = (a.lr_decay_iters if a.lr_decay_iters is not None else a.train_iters) * gbs
        wd_incr_steps = a.train_iters * gbs
        wsd = a.lr_wsd_decay_iters * gbs if a.lr_wsd_decay_iters is not None else None
        warmup = a.lr_warmup_fraction * decay if a.lr_warmup_fraction is not None else a.lr_warmup_iters * gbs
    else:
        decay = a.lr_decay_samples if a.lr_decay_samples is not None else a.train_samples
        wd_incr_steps, wsd = a.train_samples, a.lr_wsd_decay_samples
        warmup = a.lr_warmup_fraction * decay if a.lr_warmup_fraction is not None else a.lr_warmup_samples
    return {
        "init_lr": a.lr_warmup_init,
        "max_lr": a.lr,
        "min_lr": a.min_lr,
        "lr_warmup_steps": warmup,
        "lr_decay_steps": decay,
        "lr_decay_style": a.lr_decay_style,
        "start_wd": a.start_weight_decay,
        "end_wd": a.end_weight_decay,
        "wd_incr_steps": wd_incr_steps,
        "wd_incr_style": a.weight_decay_incr_style,
        "use_checkpoint_opt_param_scheduler": False,
        "override_opt_param_scheduler": False,
        "wsd_decay_steps": wsd,
        "lr_wsd_decay_style": a.lr_wsd_decay_style,
    }


def optimizer(
    lrs: tuple[float, ...], wd_mults: tuple[float, ...], min_lrs: tuple[float, ...], wd: float
) -> Any:
    """An SGD whose groups carry what Megatron's optimizer gives each: its ``max_lr``,
    ``min_lr`` and ``wd_mult``, and the run's weight decay."""
    groups = [
        {
            "params": [torch.nn.Parameter(torch.zeros(1))],
            "lr": lr,
            "max_lr": lr,
            "min_lr": low,
            "wd_mult": mult,
        }
        for lr, mult, low in zip(lrs, wd_mults, min_lrs, strict=True)
    ]
    return torch.optim.SGD(groups, lr=lrs[0], weight_decay=wd, momentum=0.9)


def stepped(opt: torch.optim.Optimizer, step: Any, steps: int) -> list[list[float]]:
    """Every group's lr and weight decay at iterations ``0 .. steps - 1``, ``step()`` called
    after each optimizer step."""
    out = []
    for _ in range(steps):
        out.append([float(g[key]) for g in opt.param_groups for key in ("lr", "weight_decay")])
        opt.step()
        step()
    return out


def load(path: str) -> types.ModuleType:
    """Megatron's ``optimizer_param_scheduler.py`` as a module, its ``log_single_rank`` stood in for."""

    def log_single_rank(logger: logging.Logger, *args: Any, rank: int = 0, **kwargs: Any) -> None:
        logger.log(*args, **kwargs)

    stubs = {"megatron": {}, "megatron.core": {}, "megatron.core.utils": {"log_single_rank": log_single_rank}}
    return load_source(path, "megatron_optimizer_param_scheduler", stubs)


def side_by_side(cls: Any, name: str, form: str, params: dict[str, Any], groups: dict[str, Any]) -> float:
    kwargs = translate(params) if form == "args" else dict(params)
    increment = params.get("global_batch_size", 1)
    lrs, mults = groups["lrs"], groups["wd_mults"]
    min_lrs = groups.get("min_lrs", (kwargs["min_lr"],) * len(lrs))
    wd = kwargs["start_wd"]  # Megatron builds its optimizer at the run's weight decay
    theirs_opt, ours_opt = optimizer(lrs, mults, min_lrs, wd), optimizer(lrs, mults, min_lrs, wd)
    peer = cls(theirs_opt, **kwargs)
    ours = schedreg.build_lr_scheduler(params, ours_opt)
    step = (lambda: ours.step(increment=increment)) if groups.get("increment") else ours.step
    theirs = stepped(theirs_opt, lambda: peer.step(increment=increment), T)
    return compare(name, params, stepped(ours_opt, step, T), theirs)


RAMP_BASE = {
    "lr": 0.1,
    "min_lr": 0.001,
    "weight_decay": 0.01,
    "train_samples": 3000,
    "lr_warmup_samples": 300,
    "micro_batch_size": 1,
}
RAMPS: list[tuple[str, dict[str, Any]]] = [
    ("ramp tokens cosine", {"step_batch_size_schedule": "0:8 2K:16 3.5K:32", "seq_length": 4}),
    ("ramp tokens, floored", {"step_batch_size_schedule": "0:6 1001:12 2002:24", "seq_length": 7}),
    ("ramp samples WSD", {"step_batch_size_schedule": "0:10,700:20", "lr_decay_style": "WSD",
                          "lr_wsd_decay_samples": 900, "lr_wsd_decay_style": "minus_sqrt"}),
    ("ramp samples inv-sqrt", {"step_batch_size_schedule": "1K:24 0:12",
                               "lr_decay_style": "inverse-square-root", "lr_decay_samples": 2500}),
]  # fmt: skip
"""Megatron's sample-based runs with a step batch-size schedule (thresholds in tokens where
``seq_length`` is given)."""


def ramp_side_by_side(cls: Any, calculator: Any, name: str, params: dict[str, Any]) -> float:
    """Megatron's training loop with a batch-size ramp, as ``train`` runs it: the calculator
    updated at the consumed samples, the iteration trained at its batch size, the scheduler
    stepped by it; against schedreg's scheduler stepped the same way by its own
    ``batch_size``. Compares every iteration's lr, weight decay, batch size and
    ``num_steps``, and the iterations the run takes (Megatron's ``update_train_iters``)."""
    args = {**RAMP_BASE, "lr_decay_style": "cosine", **params}
    ramp = calculator(1, 1, False, 0, args["step_batch_size_schedule"], args.get("seq_length"))
    kwargs = translate({**args, "global_batch_size": 1})  # sample-based: lengths are samples
    theirs_opt, ours_opt = optimizer((0.1, 0.03), (1.0, 0.0), (0.001,) * 2, 0.01), None
    ours_opt = optimizer((0.1, 0.03), (1.0, 0.0), (0.001,) * 2, 0.01)
    peer = cls(theirs_opt, **kwargs)
    ours = schedreg.build_lr_scheduler(args, ours_opt)
    rows: tuple[list[list[float]], list[list[float]]] = ([], [])
    consumed = iterations = 0
    while consumed < args["train_samples"]:
        ramp.update(consumed, consistency_check=True)
        size = ramp.get_current_global_batch_size()
        for out, opt, sched, bs in (
            (rows[1], theirs_opt, peer, size),
            (rows[0], ours_opt, ours, ours.batch_size),
        ):
            values = [float(g[key]) for g in opt.param_groups for key in ("lr", "weight_decay")]
            out.append([*values, float(bs), float(sched.num_steps)])
            opt.step()
            sched.step(increment=bs)
        consumed += size
        iterations += 1
    steps = ours.guards.clock.ramp.steps_to(args["train_samples"])
    rows[0].append([float(steps)])
    rows[1].append([float(iterations)])
    return compare(name, params, rows[0], rows[1])


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--source", required=True, help="Megatron's megatron/core/optimizer_param_scheduler.py"
    )
    parser.add_argument(
        "--calculator", help="Megatron's megatron/core/num_microbatches_calculator.py: adds the ramps"
    )
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    cls = load(args.source).OptimizerParamScheduler
    worst = {}
    for name, form, params, groups in CASES:
        worst[f"{name} {params}"] = side_by_side(cls, name, form, params, groups)
    what = f"{len(CASES)} cases x 2-3 groups x (lr, weight decay) x {T} iterations"
    if args.calculator:
        calculator = load_source(
            args.calculator, "megatron_num_microbatches", {}
        ).StepBatchsizeNumMicroBatchesCalculator
        for name, params in RAMPS:
            worst[f"{name} {params}"] = ramp_side_by_side(cls, calculator, name, params)
        what += (
            f"; {len(RAMPS)} batch-size ramps x 2 groups x (lr, weight decay, batch size, num_steps) at "
            "every iteration, and the iteration count"
        )
    return finish(worst, what, args.json)


if __name__ == "__main__":
    main()
