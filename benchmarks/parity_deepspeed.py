"""Parity study: schedreg's DeepSpeed dialect against DeepSpeed's own schedulers.

    python benchmarks/parity_deepspeed.py --source PATH/deepspeed/runtime/lr_schedules.py [--json out.json]

DeepSpeed is not a schedreg dependency, and installing it builds extensions: this loads its
``lr_schedules.py`` alone (from a checkout or an installed package), with a stand-in for the
one thing it imports from DeepSpeed (a logger). For each ds_config ``scheduler`` node, steps
DeepSpeed's scheduler and ``schedreg.build_lr_scheduler(ds_config)`` side by side, as
DeepSpeed's engine does (one ``step()`` after each optimizer step), and reports the largest
relative difference of any lr at any step.

DeepSpeed's ``WarmupCosineLR`` writes 0 into the first param group only when it is built (a
one-element list zipped with the groups); schedreg gives every group 0 at iteration 0. Its
cases run over one group; the others over two.
"""

from __future__ import annotations

import argparse
import logging
import types
from typing import Any

import torch
from parity import finish, load_source, side_by_side

T = 120
LRS = (0.1, 0.03)
CASES: list[tuple[str, dict[str, Any]]] = [
    ("WarmupLR", {"warmup_min_lr": 0.001, "warmup_max_lr": 0.05, "warmup_num_steps": 30}),
    ("WarmupLR", {"warmup_max_lr": 0.05, "warmup_num_steps": 30, "warmup_type": "linear"}),
    ("WarmupLR", {"warmup_max_lr": 0.05, "warmup_num_steps": 1}),
    ("WarmupDecayLR", {"total_num_steps": 100, "warmup_max_lr": 0.05, "warmup_num_steps": 20}),
    (
        "WarmupDecayLR",
        {
            "total_num_steps": 100,
            "warmup_min_lr": 0.01,
            "warmup_max_lr": 0.05,
            "warmup_num_steps": 20,
            "warmup_type": "linear",
        },
    ),
    ("WarmupCosineLR", {"total_num_steps": 100, "warmup_num_steps": 20}),
    (
        "WarmupCosineLR",
        {
            "total_num_steps": 100,
            "warmup_num_steps": 20,
            "warmup_min_ratio": 0.1,
            "cos_min_ratio": 0.01,
            "warmup_type": "linear",
        },
    ),
    ("LRRangeTest", {"lr_range_test_min_lr": 0.001, "lr_range_test_step_size": 10}),
    (
        "LRRangeTest",
        {
            "lr_range_test_min_lr": 0.001,
            "lr_range_test_step_size": 10,
            "lr_range_test_step_rate": 0.5,
            "lr_range_test_staircase": True,
        },
    ),
    ("OneCycle", {"cycle_min_lr": 0.001, "cycle_max_lr": 0.05, "cycle_first_step_size": 30}),
    (
        "OneCycle",
        {
            "cycle_min_lr": 0.001,
            "cycle_max_lr": 0.05,
            "cycle_first_step_size": 20,
            "cycle_second_step_size": 40,
            "decay_lr_rate": 0.5,
            "decay_step_size": 10,
        },
    ),
    ("StepLR", {"step_size": 25, "gamma": 0.5}),  # DeepSpeed's fallback: torch's own class
]


def load(path: str) -> types.ModuleType:
    """DeepSpeed's ``lr_schedules.py`` as a module, its ``deepspeed.utils.logger`` stood in for."""
    stubs = {"deepspeed": {}, "deepspeed.utils": {"logger": logging.getLogger("deepspeed")}}
    return load_source(path, "deepspeed_lr_schedules", stubs)


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", required=True, help="DeepSpeed's deepspeed/runtime/lr_schedules.py")
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    deepspeed = load(args.source)
    worst = {}
    for name, params in CASES:
        lrs = LRS[:1] if name == "WarmupCosineLR" else LRS
        cls = getattr(deepspeed, name, None) or getattr(torch.optim.lr_scheduler, name)
        ours = {"scheduler": {"type": name, "params": params}}
        worst[f"{name} {params}"] = side_by_side(name, params, lrs, cls, ours, T)
    return finish(worst, f"{len(CASES)} cases x 1-2 groups x {T} steps", args.json)


if __name__ == "__main__":
    main()
