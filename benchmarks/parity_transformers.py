"""Parity study: schedreg's transformers-named schedules against transformers itself.

    python benchmarks/parity_transformers.py [--json out.json]

Needs ``transformers`` (not a schedreg dependency). For each schedule and argument set,
steps transformers' ``get_scheduler`` and schedreg side by side on two param groups and
reports the largest relative difference of any lr at any step.
"""

from __future__ import annotations

import argparse

import torch
from parity import compare, finish
from transformers import get_scheduler

import schedreg

W, T = 10, 100
CASES = [
    ("constant", {}),
    ("constant_with_warmup", {}),
    ("linear", {}),
    ("cosine", {"num_cycles": 0.5}),
    ("cosine", {"num_cycles": 1.5}),
    ("cosine_with_restarts", {"num_cycles": 3}),
    ("polynomial", {"lr_end": 1e-4, "power": 2.0}),
    ("inverse_sqrt", {}),
    ("cosine_with_min_lr", {"min_lr": 0.01}),
    ("cosine_with_min_lr", {"min_lr_rate": 0.2}),
    (
        "warmup_stable_decay",
        {"num_decay_steps": 30, "warmup_type": "cosine", "decay_type": "1-sqrt", "min_lr_ratio": 0.1},
    ),
    ("warmup_stable_decay", {"num_decay_steps": 30, "decay_type": "linear"}),
]


def optimizer() -> torch.optim.Optimizer:
    params = [
        {"params": [torch.nn.Parameter(torch.zeros(1))]},
        {"params": [torch.nn.Parameter(torch.zeros(1))], "lr": 0.03},
    ]
    return torch.optim.SGD(params, lr=0.1)


def lrs(opt: torch.optim.Optimizer, scheduler) -> list[list[float]]:
    out = []
    for _ in range(T + 20):
        out.append([g["lr"] for g in opt.param_groups])
        opt.step()
        scheduler.step()
    return out


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    worst = {}
    for name, kwargs in CASES:
        hf_opt = optimizer()
        warmup = 0 if name == "constant" else W
        hf = get_scheduler(
            name, hf_opt, num_warmup_steps=warmup, num_training_steps=T, scheduler_specific_kwargs=kwargs
        )
        ours_opt = optimizer()
        solver = {"lr_scheduler_name": name, "max_iter": T, "warmup_iters": warmup, "args": kwargs}
        ours = schedreg.build_lr_scheduler({"solver": solver}, ours_opt)
        worst[f"{name} {kwargs}"] = compare(name, kwargs, lrs(ours_opt, ours), lrs(hf_opt, hf))
    return finish(worst, f"{len(CASES)} cases x 2 groups x {T + 20} steps", args.json)


if __name__ == "__main__":
    main()
