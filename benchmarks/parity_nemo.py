"""Parity study: schedreg's NeMo dialect against NeMo's own schedulers.

    python benchmarks/parity_nemo.py --source PATH/nemo/core/optim/lr_scheduler.py [--json out.json]

NeMo is not a schedreg dependency, and installing it pulls in most of its stack: this loads
its ``lr_scheduler.py`` alone (from a checkout or an installed package), with stand-ins for
what it imports from NeMo (its config registry, logger and config versioning, which the
schedulers do not use). For each ``optim.sched`` node, steps NeMo's scheduler and
``schedreg.build_lr_scheduler({"optim": {"sched": ...}})`` side by side over two param
groups and reports the largest relative difference of any lr at any step.
"""

from __future__ import annotations

import argparse
import logging
import types
import warnings
from typing import Any

from parity import finish, load_source, side_by_side

T = 36
CASES: list[tuple[str, dict[str, Any]]] = [
    ("WarmupPolicy", {"warmup_steps": 5, "max_steps": 30}),
    ("WarmupHoldPolicy", {"warmup_steps": 5, "hold_steps": 7, "max_steps": 30}),
    ("CosineAnnealing", {"warmup_steps": 5, "max_steps": 30, "min_lr": 0.001}),
    ("CosineAnnealing", {"warmup_ratio": 0.1, "max_steps": 30, "min_lr": 0.001}),
    ("CosineAnnealing", {"warmup_steps": 5, "constant_steps": 6, "max_steps": 30, "min_lr": 0.001}),
    ("WarmupAnnealing", {"warmup_steps": 5, "max_steps": 30, "min_lr": 0.001}),
    ("SquareAnnealing", {"warmup_steps": 5, "max_steps": 30}),
    ("SquareRootAnnealing", {"warmup_steps": 5, "max_steps": 30}),
    ("InverseSquareRootAnnealing", {"warmup_steps": 5, "max_steps": 30}),
    ("T5InverseSquareRootAnnealing", {"constant_steps": 4, "max_steps": 30}),
    ("NoamAnnealing", {"d_model": 16, "warmup_steps": 5, "max_steps": 30, "min_lr": 1e-4}),
    ("NoamHoldAnnealing", {"warmup_steps": 5, "hold_steps": 4, "max_steps": 30, "min_lr": 1e-4}),
    ("PolynomialDecayAnnealing", {"warmup_steps": 5, "max_steps": 30, "power": 2.0, "min_lr": 0.001}),
    ("PolynomialDecayAnnealing", {"warmup_steps": 5, "max_steps": 30, "power": 2.0, "cycle": True}),
    ("PolynomialHoldDecayAnnealing", {"warmup_steps": 5, "hold_steps": 5, "max_steps": 30, "power": 2.0}),
    ("WarmupHoldAnnealLinear", {"warmup_steps": 5, "hold_steps": 5, "max_steps": 30, "min_lr": 0.001}),
    (
        "WarmupHoldAnnealOneMinusSquareRoot",
        {"warmup_steps": 5, "hold_ratio": 0.2, "max_steps": 30, "min_lr": 0.001},
    ),
]


def load(path: str) -> types.ModuleType:
    """NeMo's ``lr_scheduler.py`` as a module, what it imports from NeMo stood in for."""
    unused = lambda *args, **kwargs: None  # noqa: E731 -- NeMo's config registry, not read by the schedulers
    stubs = {
        "nemo": {},
        "nemo.core": {},
        "nemo.core.config": {
            "SchedulerParams": object,
            "get_scheduler_config": unused,
            "register_scheduler_params": unused,
        },
        "nemo.utils": {"logging": logging.getLogger("nemo")},
        "nemo.utils.model_utils": {"maybe_update_config_version": lambda cfg: cfg},
    }
    return load_source(path, "nemo_lr_scheduler", stubs)


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", required=True, help="NeMo's nemo/core/optim/lr_scheduler.py")
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    nemo = load(args.source)
    warnings.simplefilter("ignore", UserWarning)  # NeMo's get_lr warning
    worst = {}
    for name, params in CASES:
        cls, ours = getattr(nemo, name), {"optim": {"sched": {"name": name, **params}}}
        worst[f"{name} {params}"] = side_by_side(name, params, (0.1, 0.03), cls, ours, T)
    return finish(worst, f"{len(CASES)} cases x 2 groups x {T} steps", args.json)


if __name__ == "__main__":
    main()
