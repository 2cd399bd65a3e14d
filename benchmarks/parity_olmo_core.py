"""Parity study: schedreg's token clock and batch-size ramp against OLMo-core's schedulers.

    python benchmarks/parity_olmo_core.py --source PATH [--json out.json]

PATH is an OLMo-core checkout's ``src`` folder (or its ``src/olmo_core/optim/scheduler.py``).
OLMo-core is not a schedreg dependency: this loads ``olmo_core/optim/scheduler.py`` alone,
unmodified, with stand-ins for what it imports from its package (``Config``, ``Registrable``,
``StrEnum``, ``OLMoConfigurationError``, the two field names). Where the ``src`` folder is
given, ``olmo_core/train/common.py`` (``Duration``) and
``olmo_core/train/callbacks/batch_size_scheduler.py`` (``BatchSizeSchedulerCallback``) are
loaded the same way, so the batch-size ramp and its lr rescale are OLMo-core's own code; with
only ``scheduler.py`` the ramp cases are skipped.

OLMo-core's side runs as its ``Trainer._fit_epoch`` does (trainer.py, checked at commit
fa6c5014c9f6e9ee789da2d9c20d5126fee8df0d): the callback's ``pre_load_batch`` (batch size and
``initial_lr`` rescale), the data loader counting the batch, ``global_step`` and
``global_train_tokens_seen`` advanced by the batch, then ``optim_step``: ``scheduler.set_lr``
on each group with ``current = global_train_tokens_seen`` (the batch just loaded included) and
``t_max = max_tokens``, then ``optim.step()``; until ``max_duration`` (tokens) is due. The data
loader is a stand-in reproducing ``DataLoaderBase.global_batch_size``'s setter
(data_loader.py:115-140; sizes in tokens, as OLMo-core's text loaders count them) and its
``batches_processed`` count (data_loader.py:189-190).

schedreg's side is the matching config on ``clock: tokens``, stepped three ways:

- ``after``: schedreg's own loop, ``optimizer.step(); scheduler.step(tokens=n)`` (the lr of the
  update trained at position p is the schedule at p);
- ``before``: ``scheduler.step(tokens=n)`` before ``optimizer.step()``, the batch counted
  before its update as OLMo-core's trainer counts it, the rescale schedreg's
  ``batch_size_rescale: sqrt``;
- ``before+hand``: as ``before``, with ``batch_size_rescale: none`` and the rescale done as
  OLMo-core's callback does it, ``scheduler.base_lrs`` times ``sqrt(new / current)`` when the
  batch size changes.

Each case compares every update's lr of both param groups and its batch size (samples), then
the number of updates; the largest relative difference is reported.
"""

from __future__ import annotations

import argparse
import enum
import json
import math
import os
import sys
import types
import warnings
from typing import Any

import torch
from parity import compare, finish, load_source, package

import schedreg

LRS = (0.1, 0.03)
SEQ = 4  # tokens per sample
MAX_TOKENS = 1000
WARMUP = 100
RAMP = ((0, 2), (200, 4), (600, 8))  # (threshold in tokens, batch size in samples)
RAMP_AT_OLMO_SWITCH = ((0, 2), (208, 4), (600, 8))
"""The same ramp with the thresholds where OLMo-core's callback actually switches: it raises
the batch size only once ``batches_processed`` is a multiple of the factor
(batch_size_scheduler.py:140-146), i.e. at the first batch boundary at or past the threshold
where the tokens seen are a multiple of the new batch (200 -> 208 here; 600 -> 608, where the
16-token batches arrive anyway)."""
FIXED = ((0, 2),)  # no ramp: 2 samples (8 tokens) a batch, 125 updates


class StrEnum(str, enum.Enum):
    """olmo_core/config.py:39-50."""

    def __str__(self) -> str:
        return self.value


class Registrable:
    """dataclass_extensions' ``Registrable``, as far as ``@Scheduler.register(name)`` uses it."""

    @classmethod
    def register(cls, name: str) -> Any:
        return lambda subclass: subclass


class Config:
    """olmo_core/config.py's ``Config`` base, of which a scheduler uses nothing."""


class OLMoConfigurationError(Exception):
    pass


class SkipStepAdamW(torch.optim.AdamW):
    pass


class TransformerTrainModule:
    """What the callback and ``set_lr`` read of OLMo-core's train module."""

    def __init__(self, optim: torch.optim.Optimizer, scheduler: Any) -> None:
        self.optim, self.scheduler = optim, scheduler


class Callback:
    """olmo_core/train/callbacks/callback.py's base, as far as the callback reads it."""

    trainer: Any = None


def find(source: str) -> tuple[str, str | None]:
    """``scheduler.py`` and the ``olmo_core`` folder under ``source`` (None: only the file)."""
    if os.path.isfile(source):
        root = os.path.dirname(os.path.dirname(os.path.abspath(source)))
        return source, root if os.path.isfile(os.path.join(root, "train", "common.py")) else None
    for root in (os.path.join(source, "olmo_core"), os.path.join(source, "src", "olmo_core"), source):
        if os.path.isfile(os.path.join(root, "optim", "scheduler.py")):
            return os.path.join(root, "optim", "scheduler.py"), root
    raise SystemExit(f"no olmo_core/optim/scheduler.py under {source}")


def load(source: str) -> tuple[types.ModuleType, types.ModuleType | None, type | None]:
    """OLMo-core's scheduler module, and where found its ``train.common`` module and
    ``BatchSizeSchedulerCallback``, each loaded alone and unmodified."""
    path, root = find(source)
    package("olmo_core")
    package("olmo_core.config", Config=Config, Registrable=Registrable, StrEnum=StrEnum)
    package("olmo_core.exceptions", OLMoConfigurationError=OLMoConfigurationError)
    fields = {"LR_FIELD": "lr", "INITIAL_LR_FIELD": "initial_lr"}  # olmo_core/optim/config.py:39-40
    package("olmo_core.optim", SkipStepAdamW=SkipStepAdamW, **fields)
    package("olmo_core.optim.config", **fields)
    scheduler = load_source(path, "olmo_core.optim.scheduler", {})
    sys.modules["olmo_core.optim.scheduler"] = scheduler
    if root is None:
        return scheduler, None, None
    package("olmo_core.data")
    package("olmo_core.data.utils", get_labels=None)
    package("olmo_core.utils", format_float=None, format_int=None, format_timedelta=None)
    package("olmo_core.train")
    common = load_source(os.path.join(root, "train", "common.py"), "olmo_core.train.common", {})
    sys.modules["olmo_core.train.common"] = common
    package(
        "olmo_core.train.train_module",
        TransformerTrainModule=TransformerTrainModule,
        TransformerPipelineTrainModule=type("TransformerPipelineTrainModule", (), {}),
    )
    package("olmo_core.train.callbacks")
    package("olmo_core.train.callbacks.callback", Callback=Callback)
    package("olmo_core.train.callbacks.speed_monitor", SpeedMonitorCallback=type("SpeedMonitor", (), {}))
    callback = load_source(
        os.path.join(root, "train", "callbacks", "batch_size_scheduler.py"),
        "olmo_core.train.callbacks.batch_size_scheduler",
        {},
    )
    return scheduler, common, callback.BatchSizeSchedulerCallback


class DataLoader:
    """OLMo-core's ``DataLoaderBase``: its ``global_batch_size`` (tokens) and its setter's
    ``batches_processed`` bookkeeping, data_loader.py:111-140."""

    def __init__(self, global_batch_size: int) -> None:
        self._global_batch_size, self.batches_processed = global_batch_size, 0

    @property
    def global_batch_size(self) -> int:
        return self._global_batch_size

    @global_batch_size.setter
    def global_batch_size(self, new: int) -> None:
        if new > self._global_batch_size:
            ratio = new // self._global_batch_size
            if new % self._global_batch_size or self.batches_processed % ratio:
                raise RuntimeError("OLMo-core's data loader refuses this change")
            self.batches_processed //= ratio
        elif new < self._global_batch_size:
            self.batches_processed *= self._global_batch_size // new
        self._global_batch_size = new


class Trainer:
    """What ``set_lr`` and the callback read of OLMo-core's ``Trainer``, a run in tokens."""

    def __init__(self, common: Any, module: TransformerTrainModule, batch_tokens: int) -> None:
        self.train_module, self.data_loader = module, DataLoader(batch_tokens)
        self.global_step = self.global_train_tokens_seen = 0
        self.epoch, self.callbacks = 1, {}
        self.max_tokens, self.max_steps = MAX_TOKENS, None
        self.max_duration = common.Duration.tokens(MAX_TOKENS) if common else None


def adamw() -> torch.optim.Optimizer:
    """Two groups, each at its own lr (the callback rescales only Adam's)."""
    groups = [{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": lr} for lr in LRS]
    return torch.optim.AdamW(groups, lr=LRS[0])


def theirs(modules: tuple[Any, Any, Any], cls: str, params: dict[str, Any], ramp: tuple) -> tuple[list, int]:
    """Each update's lrs and batch size (samples) under OLMo-core's scheduler ``cls(**params)``
    (units tokens) and, for a ramp, its ``BatchSizeSchedulerCallback``, run as its trainer does;
    and the tokens seen at the end (past ``MAX_TOKENS`` where the last batch overshoots)."""
    scheduler_module, common, callback_cls = modules
    scheduler = getattr(scheduler_module, cls)(units="tokens", **params)
    opt = adamw()
    trainer = Trainer(common, TransformerTrainModule(opt, scheduler), ramp[0][1] * SEQ)
    callback = None
    if len(ramp) > 1:
        callback = callback_cls(
            batch_sizes=[size * SEQ for _, size in ramp],
            schedule=[common.Duration.tokens(threshold) for threshold, _ in ramp],
        )
        callback.trainer = trainer
        callback.post_attach()
    rows = []
    while trainer.global_train_tokens_seen < MAX_TOKENS:  # trainer.py:434, Duration.due in tokens
        if callback is not None:
            callback.pre_load_batch()  # trainer.py:1447-1448
        trainer.data_loader.batches_processed += 1  # data_loader.py:189-190
        size = trainer.data_loader.global_batch_size
        trainer.global_step += 1  # trainer.py:1479-1483
        trainer.global_train_tokens_seen += size
        for group in opt.param_groups:  # train_module.py:526-528
            scheduler.set_lr(group, trainer)
        rows.append([*(float(g["lr"]) for g in opt.param_groups), size / SEQ])
        opt.step()  # train_module.py:532
    return rows, trainer.global_train_tokens_seen


def ours(solver: dict[str, Any], ramp: tuple, mode: str) -> list[list[float]]:
    """Each update's lrs and batch size under schedreg's config ``solver``, stepped ``mode``."""
    ramp_key = {"batch_size_schedule": " ".join(f"{t}:{s}" for t, s in ramp)} if len(ramp) > 1 else {}
    rescale = {"batch_size_rescale": "sqrt"} if ramp_key and mode != "before+hand" else {}
    cfg = {
        "clock": "tokens",
        "tokens_per_sample": SEQ,
        "max_iter": MAX_TOKENS,
        "warmup_iters": WARMUP,
        **ramp_key,
        **rescale,
        **solver,
    }
    if not ramp_key:
        cfg["tokens_per_step"] = ramp[0][1] * SEQ
    opt = adamw()
    scheduler = schedreg.build_lr_scheduler({"solver": cfg}, opt)
    rows, current = [], ramp[0][1]
    while scheduler.last_epoch < MAX_TOKENS:
        size = scheduler.batch_size
        if mode == "after":
            rows.append([*(float(g["lr"]) for g in opt.param_groups), float(size)])
            opt.step()
            scheduler.step(tokens=size * SEQ)
            continue
        if mode == "before+hand" and size != current:  # batch_size_scheduler.py:155-192
            scheduler.base_lrs = [base * math.sqrt(size / current) for base in scheduler.base_lrs]
            current = size
        scheduler.step(tokens=size * SEQ)
        rows.append([*(float(g["lr"]) for g in opt.param_groups), float(size)])
        opt.step()
    return rows


def side_by_side(name: str, kwargs: dict[str, Any], ours_rows: list, theirs_run: tuple[list, int]) -> float:
    """``compare`` over the updates both runs make within ``MAX_TOKENS``, then their number of
    updates. A last batch that overshoots ``MAX_TOKENS`` is left out (OLMo-core then evaluates
    its scheduler at ``current > t_max``): :func:`overshoot` shows it."""
    theirs_rows, seen = theirs_run
    n = min(len(ours_rows), len(theirs_rows)) - (seen > MAX_TOKENS)
    return compare(name, kwargs, [*ours_rows[:n], [len(ours_rows)]], [*theirs_rows[:n], [len(theirs_rows)]])


def overshoot(modules: tuple[Any, Any, Any], pairs: list) -> None:
    """The last update of the ramp run, whose batch ends past ``MAX_TOKENS``: OLMo-core's lrs at
    ``current > t_max`` beside schedreg's at the same position (stepped ``before``)."""
    for cls, params, solver in pairs:
        rows, seen = theirs(modules, cls, params, RAMP)
        mine = ours(solver, RAMP_AT_OLMO_SWITCH, "before+hand")[-1]
        print(
            f"{cls:<28} {json.dumps(params):<64} at {seen} tokens: "
            f"OLMo-core {rows[-1][:2]}, schedreg {mine[:2]}"
        )


W = {"warmup": WARMUP}
PAIRS: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("CosWithWarmup", {**W, "alpha_f": 0.0}, {"lr_scheduler_name": "cosine"}),
    (
        "CosWithWarmup",
        {**W, "alpha_f": 0.1},
        {"lr_scheduler_name": "cosine_with_min_lr", "args": {"min_lr_rate": 0.1}},
    ),
    (
        "CosWithWarmup",
        {"warmup_fraction": 0.1, "alpha_f": 0.0},
        {"lr_scheduler_name": "cosine", "warmup_iters": "10%"},
    ),
    ("LinearWithWarmup", {**W, "alpha_f": 0.0}, {"lr_scheduler_name": "linear"}),
    (
        "LinearWithWarmup",
        {**W, "alpha_f": 0.1},
        {"lr_scheduler_name": "polynomial", "args": {"lr_end": 0.1 * LRS[0], "power": 1.0}},
    ),
    ("ConstantWithWarmup", W, {"lr_scheduler_name": "constant_with_warmup"}),
    (
        "WSD",
        {**W, "decay": 200, "decay_fraction": None},
        {
            "lr_scheduler_name": "warmup_stable_decay",
            "args": {"num_decay_steps": 200, "decay_type": "linear"},
        },
    ),
    (
        "WSD",
        {**W, "decay_fraction": 0.2},
        {"lr_scheduler_name": "constant_with_warmup", "cooldown": {"start": 800, "length": 200}},
    ),
    (
        "CosWithWarmupAndLinearDecay",
        {**W, "alpha_f": 0.0, "decay": 200, "decay_fraction": None},
        {"lr_scheduler_name": "cosine", "cooldown": {"start": 800, "length": 200}},
    ),
    ("InvSqrtWithWarmup", {**W, "alpha_f": 0.0}, {"lr_scheduler_name": "inverse_sqrt"}),
]
"""(OLMo-core's class, its keywords, schedreg's solver keys): the configs that agree."""

MISMATCHES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    (
        "CosWithWarmup",
        {**W, "alpha_f": 0.0, "warmup_min_lr": 0.01},
        {"lr_scheduler_name": "cosine", "warmup": {"factor": 0.1}},
    ),
    ("InvSqrtWithWarmup", {**W, "alpha_f": 0.1}, {"lr_scheduler_name": "inverse_sqrt"}),
    ("HalfCosWithWarmup", {**W, "alpha_f": 0.0}, {"lr_scheduler_name": "cosine"}),
]
"""Closest configs to OLMo-core's that schedreg cannot match: see the report."""

RUNS: list[tuple[str, tuple, tuple, str]] = [
    ("fixed batch, before", FIXED, FIXED, "before"),
    ("fixed batch, after", FIXED, FIXED, "after"),
    ("ramp, before+hand, at OLMo's switch", RAMP, RAMP_AT_OLMO_SWITCH, "before+hand"),
    ("ramp, before+hand", RAMP, RAMP, "before+hand"),
    ("ramp, before, sqrt", RAMP, RAMP_AT_OLMO_SWITCH, "before"),
    ("ramp, after, sqrt", RAMP, RAMP_AT_OLMO_SWITCH, "after"),
]
"""(label, OLMo-core's ramp, schedreg's ramp, how schedreg is stepped)."""


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", required=True, help="OLMo-core's src folder, or its optim/scheduler.py")
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    modules = load(args.source)
    warnings.simplefilter("ignore")  # torch's step-order warning (the 'before' loops)
    worst: dict[str, float] = {}
    runs = [run for run in RUNS if modules[2] is not None or len(run[1]) == 1]
    for section, pairs in (("match", PAIRS), ("mismatch", MISMATCHES)):
        print(f"== {section}: {len(pairs)} OLMo-core schedulers (units tokens) x {len(runs)} runs")
        for cls, params, solver in pairs:
            for label, olmo_ramp, our_ramp, mode in runs:
                name = f"{section} {cls} {params} | {label}"
                worst[name] = side_by_side(
                    f"{cls} | {label}",
                    {**params, "schedreg": solver},
                    ours(solver, our_ramp, mode),
                    theirs(modules, cls, params, olmo_ramp),
                )
    if modules[2] is not None:
        print(f"== the last update, past max_tokens={MAX_TOKENS} (left out above)")
        overshoot(modules, PAIRS)
    for label, *_ in runs:
        values = [v for k, v in worst.items() if k.startswith("match") and k.endswith(label)]
        print(f"worst over the {len(PAIRS)} matching pairs, {label}: {max(values):.3g}")
    what = f"{len(PAIRS) + len(MISMATCHES)} schedulers x {len(runs)} runs x (2 lrs, batch size) per update"
    return finish(worst, what, args.json)


if __name__ == "__main__":
    main()
