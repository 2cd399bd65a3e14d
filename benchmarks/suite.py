"""schedreg's performance claims, measured as ratios against baselines run in the same process.

    python benchmarks/suite.py [--quick] [--json benchmarks/results/latest.json]

1. Step overhead: ``scheduler.step()`` of schedreg's WarmupMultiStepLR / WarmupCosineLR
   against torch's bare ``MultiStepLR``, torch's ``SequentialLR(LinearLR,
   CosineAnnealingLR)``, and the fvcore ``ParamScheduler`` + multiplier route detectron2
   uses, for 1, 10, 100 and 1000 param groups.
2. Preview: ``schedreg.lr_curve`` of a million steps against stepping torch's equivalent
   scheduler a million times.
3. Resume jump: loading a checkpoint at step 1e3 ... 1e7 and producing the next lr.
4. Import: ``import torch; import schedreg`` (and its torch layer) against ``import torch``,
   and which heavy modules ``import schedreg`` pulls in.
5. The command: ``schedreg show solver=cosine`` (a closed form, no torch) and a
   30,000,000-step ``solver=step`` preview (torch's closed form), whole processes, against
   ``python -c "import torch"``.

Times are the best of several interleaved repeats; only ratios are reported (the machines
are noisy, ratios much less so). Prints a table (ratio, target, pass/fail) and writes it,
with the machine it ran on, to the JSON file. ``--quick`` runs everything at a tiny size
(for the test suite: it checks that the script runs, not how fast).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

import torch
from fvcore.common.param_scheduler import (
    CompositeParamScheduler,
    LinearParamScheduler,
    MultiStepParamScheduler,
)

import schedreg

WARMUP_FACTOR = 0.001


def optimizer(groups: int) -> torch.optim.Optimizer:
    params = [{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": 0.1 * (g + 1)} for g in range(groups)]
    return torch.optim.SGD(params, lr=0.1)


def best_per_call(
    makers: dict[str, Callable[[], Callable[[], Any]]], calls: int, repeats: int
) -> dict[str, float]:
    """Seconds per call of each maker's function: best of ``repeats``, the makers interleaved."""
    best = dict.fromkeys(makers, math.inf)
    for _ in range(repeats):
        for name, make in makers.items():
            fn = make()
            start = time.perf_counter()
            for _ in range(calls):
                fn()
            best[name] = min(best[name], (time.perf_counter() - start) / calls)
    return best


# --- 1. step overhead -------------------------------------------------------------------


class FvcoreMultiplier(torch.optim.lr_scheduler.LRScheduler):
    """detectron2's ``LRMultiplier``: ``base_lr * fvcore_scheduler(step / max_iter)``."""

    def __init__(self, opt: torch.optim.Optimizer, multiplier: Any, max_iter: int) -> None:
        self.multiplier, self.max_iter = multiplier, max_iter
        super().__init__(opt)

    def get_lr(self) -> list[float]:
        value = self.multiplier(self.last_epoch / self.max_iter)
        return [base_lr * value for base_lr in self.base_lrs]


def step_makers(groups: int, total: int) -> dict[str, Callable[[], Callable[[], Any]]]:
    """The schedulers, each over a fresh optimizer; the timed steps are the first tenth of
    the run, whose first tenth is warmup (1% of the run, as detectron2's 1000 of 90000)."""
    warmup, steps = total // 100, [total * 6 // 10, total * 8 // 10]
    multistep = {"max_iter": total, "steps": steps, "warmup_iters": warmup, "warmup_factor": WARMUP_FACTOR}
    cosine = {"max_iter": total, "warmup_iters": warmup, "warmup_factor": WARMUP_FACTOR}
    fraction = warmup / total
    fvcore = CompositeParamScheduler(
        [
            LinearParamScheduler(WARMUP_FACTOR, 1.0),
            MultiStepParamScheduler([1.0, 0.1, 0.01], milestones=steps, num_updates=total),
        ],
        lengths=[fraction, 1 - fraction],
        interval_scaling=["rescaled", "fixed"],
    )

    def stepper(build: Callable[[torch.optim.Optimizer], Any]) -> Callable[[], Callable[[], Any]]:
        return lambda: build(optimizer(groups)).step

    lr = torch.optim.lr_scheduler
    return {
        "schedreg WarmupMultiStepLR": stepper(
            lambda o: schedreg.build_lr_scheduler({"lr_scheduler_name": "WarmupMultiStepLR", **multistep}, o)
        ),
        "schedreg WarmupCosineLR": stepper(
            lambda o: schedreg.build_lr_scheduler({"lr_scheduler_name": "WarmupCosineLR", **cosine}, o)
        ),
        "torch MultiStepLR (no warmup)": stepper(lambda o: lr.MultiStepLR(o, steps)),
        "torch MultiStepLR built by schedreg": stepper(
            lambda o: schedreg.build_lr_scheduler(
                {"lr_scheduler_name": "MultiStepLR", "warmup_iters": 0, "args": {"milestones": steps}}, o
            )
        ),
        "torch SequentialLR(LinearLR, CosineAnnealingLR)": stepper(
            lambda o: lr.SequentialLR(
                o,
                [lr.LinearLR(o, WARMUP_FACTOR, 1.0, warmup), lr.CosineAnnealingLR(o, total - warmup)],
                [warmup],
            )
        ),
        "fvcore ParamScheduler + multiplier (detectron2)": stepper(
            lambda o: FvcoreMultiplier(o, fvcore, total)
        ),
    }


def step_overhead(group_counts: list[int], calls: int, repeats: int) -> list[dict[str, Any]]:
    rows = []
    for groups in group_counts:
        count = max(calls // 10, calls // groups)  # enough calls per repeat to rise above timer noise
        per_call = best_per_call(step_makers(groups, 10 * count), count, repeats)
        ours_ms, ours_cos = per_call["schedreg WarmupMultiStepLR"], per_call["schedreg WarmupCosineLR"]
        targets = {1: {"torch": 2.0}, 100: {"torch": 5.0, "fvcore": 4.0}}.get(groups, {})
        comparisons = [
            ("WarmupMultiStepLR vs torch MultiStepLR", ours_ms, "torch MultiStepLR (no warmup)", "torch"),
            (
                "WarmupMultiStepLR vs fvcore route",
                ours_ms,
                "fvcore ParamScheduler + multiplier (detectron2)",
                "fvcore",
            ),
            (
                "WarmupCosineLR vs torch SequentialLR",
                ours_cos,
                "torch SequentialLR(LinearLR, CosineAnnealingLR)",
                None,
            ),
            (  # the cost of schedreg's checks on torch's own class (1: none)
                "torch MultiStepLR built by schedreg vs built by hand",
                per_call["torch MultiStepLR built by schedreg"],
                "torch MultiStepLR (no warmup)",
                None,
            ),
        ]
        for label, ours, baseline, target_key in comparisons:
            rows.append(
                row(
                    f"step, {groups} group{'s' * (groups > 1)}: {label}",
                    per_call[baseline] / ours,
                    targets.get(target_key) if target_key else None,
                    f"{ours * 1e6:.2f} us vs {per_call[baseline] * 1e6:.2f} us",
                )
            )
    return rows


# --- 2. preview ---------------------------------------------------------------------------


def preview(num_steps: int, repeats: int) -> list[dict[str, Any]]:
    warmup = num_steps // 100
    solver = {"lr_scheduler_name": "WarmupCosineLR", "max_iter": num_steps, "warmup_iters": warmup}

    def stepping() -> None:
        o = optimizer(1)
        lr = torch.optim.lr_scheduler
        s = lr.SequentialLR(
            o,
            [lr.LinearLR(o, WARMUP_FACTOR, 1.0, warmup), lr.CosineAnnealingLR(o, num_steps - warmup)],
            [warmup],
        )
        for _ in range(num_steps):
            s.step()

    per_call = best_per_call(
        {"lr_curve": lambda: lambda: schedreg.lr_curve(solver, num_steps, 0.1), "stepping": lambda: stepping},
        1,
        repeats,
    )
    detail = f"{num_steps} steps: {per_call['lr_curve'] * 1e3:.1f} ms vs {per_call['stepping'] * 1e3:.0f} ms"
    return [
        row("preview: lr_curve vs stepping torch", per_call["stepping"] / per_call["lr_curve"], 100.0, detail)
    ]


# --- 3. resume jump -------------------------------------------------------------------------


def resume_jump(stops: list[int], repeats: int) -> list[dict[str, Any]]:
    total = max(stops) * 2
    solver = {"lr_scheduler_name": "WarmupCosineLR", "max_iter": total, "warmup_iters": 1000}
    template = schedreg.build_lr_scheduler(solver, optimizer(4)).state_dict()

    def resume_at(stop: int) -> Callable[[], Callable[[], Any]]:
        def run() -> None:
            o = optimizer(4)
            scheduler = schedreg.build_lr_scheduler(solver, o)
            scheduler.load_state_dict({**template, "last_epoch": stop})
            o.step()
            scheduler.step()

        return lambda: run

    per_call = best_per_call({str(stop): resume_at(stop) for stop in stops}, 20, repeats)
    first, last = str(min(stops)), str(max(stops))
    flat = per_call[last] / per_call[first]
    detail = ", ".join(f"{int(s):.0e}: {per_call[s] * 1e6:.0f} us" for s in per_call)
    return [
        row(f"resume jump: time at step {last} over step {first} (flat = 1)", flat, None, detail, at_most=1.5)
    ]


# --- 4. import ------------------------------------------------------------------------------

HEAVY = ("hydra", "omegaconf", "matplotlib", "lightning", "fvcore", "pandas", "scipy")


def import_time(repeats: int) -> list[dict[str, Any]]:
    def timed(code: str) -> float:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        return time.perf_counter() - start

    ours_code = "import torch, schedreg; schedreg.build_lr_scheduler"
    best = {"torch": math.inf, "schedreg": math.inf}
    for _ in range(repeats):
        best["torch"] = min(best["torch"], timed("import torch"))
        best["schedreg"] = min(best["schedreg"], timed(ours_code))
    probe = (
        "import sys, torch, schedreg\n"
        "o = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)\n"
        "schedreg.build_lr_scheduler({'lr_scheduler_name': 'WarmupCosineLR'}, o)\n"
        f"print(','.join(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], check=True, capture_output=True, text=True
    ).stdout.strip()
    detail = f"{best['schedreg'] * 1e3:.0f} ms vs {best['torch'] * 1e3:.0f} ms"
    return [
        row(
            "import: torch + schedreg over torch alone",
            best["schedreg"] / best["torch"],
            None,
            detail,
            at_most=1.1,
        ),
        {
            "name": f"import: heavy modules loaded by building a scheduler ({', '.join(HEAVY)})",
            "measured": loaded or "none",
            "target": "none",
            "pass": not loaded,
            "detail": "",
        },
    ]


def command_time(repeats: int, max_iter: int) -> list[dict[str, Any]]:
    def timed(*argv: str) -> float:
        start = time.perf_counter()
        subprocess.run([sys.executable, *argv], check=True, stdout=subprocess.DEVNULL)
        return time.perf_counter() - start

    cli = ("-m", "schedreg.integrations.cli", "show")
    commands = {
        "torch": ("-c", "import torch"),
        "cosine": (*cli, "solver=cosine", f"solver.max_iter={max_iter}"),
        "step": (*cli, "solver=step", f"solver.max_iter={30 * max_iter}"),
    }
    best = dict.fromkeys(commands, math.inf)
    for _ in range(repeats):
        for name, argv in commands.items():
            best[name] = min(best[name], timed(*argv))
    ms = {name: f"{t * 1e3:.0f} ms" for name, t in best.items()}
    return [
        row(
            "command: schedreg show solver=cosine over import torch",
            best["cosine"] / best["torch"],
            None,
            f"{ms['cosine']} vs {ms['torch']}",
            at_most=0.5,
        ),
        row(
            f"command: schedreg show solver=step, {30 * max_iter} steps, over import torch",
            best["step"] / best["torch"],
            None,
            f"{ms['step']} vs {ms['torch']}",
            at_most=2.0,
        ),
    ]


# --- the table ------------------------------------------------------------------------------


def row(
    name: str, ratio: float, at_least: float | None, detail: str, at_most: float | None = None
) -> dict[str, Any]:
    target = f">= {at_least:g}x" if at_least else f"<= {at_most:g}x" if at_most else "(info)"
    passed = None if target == "(info)" else (ratio >= at_least if at_least else ratio <= at_most)
    return {"name": name, "measured": round(ratio, 2), "target": target, "pass": passed, "detail": detail}


def machine() -> dict[str, Any]:
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch.__version__,
    }


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks the script runs")
    parser.add_argument("--json", help="write the table and the machine to this file")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", UserWarning)  # the step-order warning: no optimizer steps here
    if args.quick:
        rows = [
            *step_overhead([1, 10], calls=200, repeats=1),
            *preview(2000, repeats=1),
            *resume_jump([1000, 100_000], repeats=1),
            *import_time(repeats=1),
            *command_time(repeats=1, max_iter=10_000),
        ]
    else:
        rows = [
            *step_overhead([1, 10, 100, 1000], calls=20000, repeats=7),
            *preview(1_000_000, repeats=3),
            *resume_jump([1000, 100_000, 10_000_000], repeats=7),
            *import_time(repeats=7),
            *command_time(repeats=5, max_iter=1_000_000),
        ]
    width = max(len(r["name"]) for r in rows)
    print(f"{'benchmark':<{width}}  {'ratio':>7}  {'target':>8}  result  detail")
    for r in rows:
        verdict = {True: "pass", False: "FAIL", None: "-"}[r["pass"]]
        print(f"{r['name']:<{width}}  {r['measured']!s:>7}  {r['target']:>8}  {verdict:<6}  {r['detail']}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"quick": args.quick, "machine": machine(), "rows": rows}, f, indent=2)
    return rows


if __name__ == "__main__":
    main()
