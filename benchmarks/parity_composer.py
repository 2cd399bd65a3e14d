"""Parity study: schedreg's composer / llm-foundry dialect against their own schedulers.

    python benchmarks/parity_composer.py --source PATH [--json out.json]

PATH holds composer's and llm-foundry's sources (checkouts, or an environment's
site-packages): ``composer/optim/scheduler.py`` and ``llmfoundry/optim/scheduler.py`` are
found under it, directly or one folder down. Neither library is a schedreg dependency, and
both pull in a training stack: this loads composer's ``utils/string_enum.py``,
``core/serializable.py``, ``core/time.py`` and ``optim/scheduler.py``, llm-foundry's
``utils/warnings.py`` and ``optim/scheduler.py`` alone, unmodified, with stand-ins for the
packages around them; composer's ``State`` is stood in for by the three things a scheduler
reads (``timestamp``, ``max_duration``, ``dataloader_len``) and the optimizer
``compile_composer_scheduler`` wraps. llm-foundry's names are read off its
``llmfoundry/optim/__init__.py`` registrations.

For each case, composer's scheduler is compiled to its ``LambdaLR`` and stepped as composer
does it, the timestamp advanced by one batch (``global_train_batch_size`` samples, times
``max_seq_len`` tokens) and into the next epoch after ``iters_per_epoch`` batches; side by
side, ``schedreg.build_lr_scheduler`` of the same config (``scheduler`` beside
``max_duration`` and the rest) over two param groups, stepped once after each optimizer step.
Each case runs twice: ``trainer_lag: false`` against the scheduler's function (the clock
advanced, then ``step()``), ``trainer_lag: true`` against composer's Trainer's order
(``step()``, then the clock advanced: batch n at alpha(max(n - 1, 0))). Reported: the largest
relative difference of any lr at any step.
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import sys
import types
import warnings
from typing import Any

from parity import compare, finish, load_source, optimizer, package, stepped

import schedreg

T = 110
LRS = (0.1, 0.03)
EPOCHS = {"max_duration": "4ep", "iters_per_epoch": 25}
BATCHES = {"max_duration": "100ba"}
CASES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("StepScheduler", {"step_size": "1ep", "gamma": 0.5}, EPOCHS),
    ("MultiStepScheduler", {"milestones": ["10ba", "2ep", "35ba"], "gamma": 0.3}, EPOCHS),
    ("ConstantScheduler", {"alpha": 0.5, "t_max": "0.3dur"}, BATCHES),
    ("LinearScheduler", {"alpha_i": 0.9, "alpha_f": 0.2, "t_max": "40ba"}, BATCHES),
    ("ExponentialScheduler", {"gamma": 0.9}, {"max_duration": "4ep", "iters_per_epoch": 7}),
    ("CosineAnnealingScheduler", {"t_max": "0.5dur", "alpha_f": 0.05}, EPOCHS),
    ("CosineAnnealingWarmRestartsScheduler", {"t_0": "10ba", "alpha_f": 0.01}, BATCHES),
    ("CosineAnnealingWarmRestartsScheduler", {"t_0": "10ba", "t_mult": 1.5, "alpha_f": 0.01}, BATCHES),
    ("PolynomialScheduler", {"power": 0.5, "alpha_f": 0.02}, BATCHES),
    (
        "MultiStepWithWarmupScheduler",
        {"t_warmup": "5ba", "milestones": ["1ep", "60ba", "3ep"], "gamma": 0.3},
        EPOCHS,
    ),
    ("ConstantWithWarmupScheduler", {"t_warmup": "0.05dur", "alpha": 0.7}, BATCHES),
    ("LinearWithWarmupScheduler", {"t_warmup": "1ep", "alpha_i": 0.9, "alpha_f": 0.1}, EPOCHS),
    ("CosineAnnealingWithWarmupScheduler", {"t_warmup": "0.57dur", "alpha_f": 0.1}, EPOCHS),
    (
        "PolynomialWithWarmupScheduler",
        {"t_warmup": "80sp", "power": 2.0, "alpha_f": 0.05},
        {"max_duration": "800sp", "global_train_batch_size": 8},
    ),
    ("constant_with_warmup", {"t_warmup": "0.1dur"}, BATCHES),
    (
        "cosine_with_warmup",
        {"t_warmup": "3e4tok", "alpha_f": 0.1},
        {"max_duration": "409600tok", "global_train_batch_size": 8, "max_seq_len": 512},  # 100 batches
    ),
    ("linear_decay_with_warmup", {"t_warmup": "10BA", "alpha_f": 0.1}, {"max_duration": "100Ba"}),
    (
        "inv_sqrt_with_warmup",
        {"t_warmup": "10ba", "t_scale": "20ba", "t_cooldown": "30ba", "alpha_f_decay": 0.1},
        BATCHES,
    ),
]


def find(root: str, relative: str) -> str:
    """``root/relative`` or ``root/*/relative``: a file of a package under ``root``."""
    found = sorted(glob.glob(os.path.join(root, relative)) + glob.glob(os.path.join(root, "*", relative)))
    if not found:
        raise SystemExit(f"no {relative} under {root}")
    return found[0]


def module(folder: str, relative: str, name: str) -> types.ModuleType:
    """``folder/relative`` loaded unmodified as module ``name`` (in sys.modules, for the
    files that import it)."""
    loaded = load_source(os.path.join(folder, relative), name, {})
    sys.modules[name] = loaded
    return loaded


def load(root: str) -> tuple[types.ModuleType, types.ModuleType, dict[str, Any]]:
    """composer's ``time`` and ``scheduler`` modules, and every scheduler class by the names
    composer's classes and llm-foundry's registry go by."""
    composer = os.path.dirname(os.path.dirname(find(root, "composer/optim/scheduler.py")))
    foundry = os.path.dirname(os.path.dirname(find(root, "llmfoundry/optim/scheduler.py")))
    package("composer")
    package(
        "composer.utils",
        StringEnum=module(composer, "utils/string_enum.py", "composer.utils.string_enum").StringEnum,
    )
    package("composer.core")
    module(composer, "core/serializable.py", "composer.core.serializable")
    time = module(composer, "core/time.py", "composer.core.time")
    package("composer.core", State=State, Time=time.Time, TimeUnit=time.TimeUnit, Timestamp=time.Timestamp)
    scheduler = module(composer, "optim/scheduler.py", "composer.optim.scheduler")
    package("composer.optim", **{k: getattr(scheduler, k) for k in scheduler.__all__})
    package("llmfoundry")
    package("llmfoundry.utils", warnings=module(foundry, "utils/warnings.py", "llmfoundry.utils.warnings"))
    package("llmfoundry.optim")
    inverse_sqrt = module(foundry, "optim/scheduler.py", "llmfoundry.optim.scheduler")
    classes = {k: getattr(scheduler, k) for k in scheduler.__all__ if k.endswith("Scheduler")}
    classes.update({k: getattr(inverse_sqrt, k) for k in inverse_sqrt.__all__})
    with open(os.path.join(foundry, "optim", "__init__.py")) as f:
        registered = re.findall(r"schedulers\.register\(\s*'(\w+)',\s*func=(\w+)", f.read())
    classes.update({name: classes[cls] for name, cls in registered})
    return time, scheduler, classes


class State:
    """composer's ``State``, as far as a scheduler and ``compile_composer_scheduler`` read it."""

    def __init__(
        self, opt: Any, max_duration: Any, dataloader_len: int | None, time: types.ModuleType
    ) -> None:
        self.optimizers = [opt]
        if isinstance(max_duration, int):  # the Trainer's ensure_time(max_duration, TimeUnit.EPOCH)
            max_duration = time.Time(max_duration, time.TimeUnit.EPOCH)
        self.max_duration = (
            time.Time.from_timestring(max_duration) if isinstance(max_duration, str) else max_duration
        )
        self.dataloader_len = (
            None if dataloader_len is None else time.Time(dataloader_len, time.TimeUnit.BATCH)
        )
        self.timestamp = time.Timestamp()


def theirs(
    modules: tuple[types.ModuleType, types.ModuleType, dict[str, Any]],
    name: str,
    kwargs: dict[str, Any],
    state_keys: dict[str, Any],
    lag: bool,
) -> list[list[float]]:
    """Every group's lr at batches ``0 .. T - 1`` under composer's compiled scheduler."""
    time, scheduler, classes = modules
    opt = optimizer(*LRS)
    per_epoch = state_keys.get("iters_per_epoch")
    samples = state_keys.get("global_train_batch_size", 1)
    tokens = samples * state_keys.get("max_seq_len", 1)
    state = State(opt, state_keys["max_duration"], per_epoch, time)

    def advance() -> None:
        state.timestamp = state.timestamp.to_next_batch(samples=samples, tokens=tokens)
        if per_epoch is not None and int(state.timestamp.batch_in_epoch) == per_epoch:
            state.timestamp = state.timestamp.to_next_epoch()

    compiled = scheduler.compile_composer_scheduler(classes[name](**kwargs), state)  # alpha at batch 0
    out = []
    for _ in range(T):
        out.append([float(g["lr"]) for g in opt.param_groups])
        opt.step()
        if lag:  # composer's Trainer: step(), then the clock moves on
            compiled.step()
            advance()
        else:
            advance()
            compiled.step()
    return out


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--source", required=True, help="a folder holding composer's and llm-foundry's sources"
    )
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    modules = load(args.source)
    warnings.simplefilter("ignore")  # llm-foundry's ExperimentalWarning, torch's step-order warning
    worst = {}
    for name, kwargs, state_keys in CASES:
        for lag in (False, True):
            ours_cfg = {"scheduler": {"name": name, **kwargs}, **state_keys, "trainer_lag": lag}
            ours_opt = optimizer(*LRS)
            ours = stepped(ours_opt, schedreg.build_lr_scheduler(ours_cfg, ours_opt), T)
            shown = {**kwargs, **state_keys, "trainer_lag": lag}
            worst[f"{name} {shown}"] = compare(
                name, shown, ours, theirs(modules, name, kwargs, state_keys, lag)
            )
    return finish(worst, f"{len(CASES)} cases x 2 trainer_lag x 2 groups x {T} steps", args.json)


if __name__ == "__main__":
    main()
