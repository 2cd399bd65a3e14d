"""Cost of one ``scheduler.step()``: schedreg against torch, as ratios in one process.

    python benchmarks/step_overhead.py [--steps N] [--groups G] [--json out.json]

Each pair steps an SGD optimizer's scheduler N times (optimizer.step is not timed) and
reports schedreg's time over torch's for the same schedule. Ratios, not seconds: the
machines are noisy, the ratio much less so.
"""

from __future__ import annotations

import argparse
import json
import math
import time
import warnings
from collections.abc import Callable

import torch

import schedreg


def optimizer(groups: int) -> torch.optim.Optimizer:
    params = [{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": 0.1 * (g + 1)} for g in range(groups)]
    return torch.optim.SGD(params, lr=0.1)


def seconds_per_step(make: Callable[[torch.optim.Optimizer], object], steps: int, groups: int) -> float:
    """Best of 3 runs of ``steps`` steps."""
    best = math.inf
    for _ in range(3):
        scheduler = make(optimizer(groups))
        start = time.perf_counter()
        for _ in range(steps):
            scheduler.step()
        best = min(best, time.perf_counter() - start)
    return best / steps


def pairs(steps: int) -> dict[str, tuple[Callable, Callable]]:
    """name -> (schedreg builder, torch baseline) for the same schedule."""
    cosine = {"lr_scheduler_name": "WarmupCosineLR", "max_iter": steps, "warmup_iters": 0}
    return {
        "WarmupCosineLR vs torch LambdaLR(cosine)": (
            lambda o: schedreg.build_lr_scheduler({"solver": cosine}, o),
            lambda o: torch.optim.lr_scheduler.LambdaLR(
                o, lambda i: 0.5 * (1 + math.cos(math.pi * i / steps))
            ),
        ),
        "CosineAnnealingLR+warmup vs bare torch": (
            lambda o: schedreg.build_lr_scheduler(
                {
                    "solver": {
                        "lr_scheduler_name": "CosineAnnealingLR",
                        "max_iter": steps,
                        "warmup_iters": steps // 10,
                    }
                },
                o,
            ),
            lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=steps),
        ),
    }


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=20000)
    parser.add_argument("--groups", type=int, default=4)
    parser.add_argument("--json", help="also write the ratios to this file")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", UserWarning)  # torch's "step() before optimizer.step()"
    ratios = {}
    print(f"{'pair':<45} {'schedreg/torch':>15}")
    for name, (ours, theirs) in pairs(args.steps).items():
        ratio = seconds_per_step(ours, args.steps, args.groups) / seconds_per_step(
            theirs, args.steps, args.groups
        )
        ratios[name] = ratio
        print(f"{name:<45} {ratio:>15.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"steps": args.steps, "groups": args.groups, "ratios": ratios}, f, indent=2)
    return ratios


if __name__ == "__main__":
    main()
