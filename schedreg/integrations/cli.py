"""The ``schedreg`` command: list schedulers, show or plot a configured schedule.

    schedreg list
    schedreg show [OVERRIDE ...]            e.g. solver=cosine solver.max_iter=1000
    schedreg plot [OVERRIDE ...] [-o lr.png] [--log]

Overrides are Hydra's, over schedreg's config groups (``solver=...``,
``solver/warmup=...``, ``solver.key=value``). A comma list (``solver=cosine,multistep``)
shows or plots each choice; ``plot`` overlays them in one figure. ``--config-dir`` and
``--config-name`` read your own Hydra app's primary config instead of schedreg's.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from schedreg.config.parse import solver_config
from schedreg.config.solver import SolverConfig
from schedreg.errors import ConfigError


def expand_sweeps(overrides: Sequence[str]) -> list[tuple[str, list[str]]]:
    """One (label, overrides) per combination of the comma lists in ``overrides``.

    The label names the swept choices only, e.g. ``solver=cosine solver/warmup=constant``.
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser

    choices = []
    for override in OverridesParser.create().parse_overrides(list(overrides)):
        if override.is_sweep_override():
            key = override.get_key_element()
            choices.append([(f"{key}={value}", True) for value in override.sweep_string_iterator()])
        else:
            assert override.input_line is not None  # the parser sets it (Hydra asserts the same)
            choices.append([(override.input_line, False)])
    return [
        (" ".join(o for o, swept in combo if swept), [o for o, _ in combo])
        for combo in itertools.product(*choices)
    ]


def compose(overrides: Sequence[str], config_dir: str | None, config_name: str) -> Any:
    """The config Hydra composes from schedreg's groups (or your app's) and ``overrides``."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir, initialize_config_module

    from schedreg.config.schema import register_schemas

    register_schemas()
    context: initialize_config_dir | initialize_config_module
    if config_dir:
        context = initialize_config_dir(str(Path(config_dir).resolve()), version_base="1.3")
    else:
        context = initialize_config_module("schedreg.conf", version_base="1.3")
    with context:
        return hydra_compose(config_name, overrides=list(overrides))


def simulate(cfg: Any, num_steps: int | None = None) -> tuple[SolverConfig, dict[str, list[float]]]:
    """The lr of every iteration, per param group: ``default`` at ``solver.base_lr``, and one
    group per ``solver.param_groups`` rule at its lr and on its schedule.

    Returns the solver node (with its scheduler's defaults) and, per group, ``num_steps + 1``
    lrs (default ``max_iter + 1``): iterations ``0 .. num_steps - 1``, then the lr held after.
    One group is previewed by :func:`~schedreg.preview.lr_curve`; with rules, the groups
    share one optimizer and scheduler, as in training (arguments may be per group).
    """
    from schedreg.factory import resolve
    from schedreg.integrations.preview import lr_curve

    _, solver = resolve(solver_config(cfg))
    count = (solver.max_iter if num_steps is None else num_steps) + 1
    if not solver.param_groups:
        return solver, {"default": lr_curve(solver, count, solver.base_lr).tolist()}
    return solver, _stepped(solver, count)


def _stepped(solver: SolverConfig, count: int) -> dict[str, list[float]]:
    """Each group's lr over ``count`` steps of the scheduler built for all the groups."""
    import torch

    from schedreg.factory import build_lr_scheduler
    from schedreg.integrations.optimizers import OPTIMIZERS
    from schedreg.integrations.preview import stepped_lrs

    groups: list[dict[str, Any]] = [{"name": "default", "lr": solver.base_lr}] + [
        {"name": r.name, "lr": r.lr if r.lr is not None else solver.base_lr * (r.lr_factor or 1.0)}
        for r in solver.param_groups
    ]
    params = [{"params": [torch.nn.Parameter(torch.zeros(1))], **g} for g in groups]
    optimizer = OPTIMIZERS.entry(solver.optimizer, key=solver.path("optimizer")).builder(solver, params)
    lrs = stepped_lrs(build_lr_scheduler(solver, optimizer), optimizer, count)
    return {group["name"]: curve for group, curve in zip(groups, lrs, strict=True)}


def edges(solver: SolverConfig, curves: dict[str, list[float]]) -> list[int]:
    """Where a schedule changes course: the end of each warmup, and each step where a flat
    stretch of lr ends (a milestone)."""
    marks = set()
    for node in (solver, *(r.schedule for r in solver.param_groups if r.schedule is not None)):
        if node.warmup_iters and node.warmup_method != "none":
            marks.add(node.warmup_iters)
    for lrs in curves.values():
        marks.update(i for i in range(2, len(lrs) - 1) if lrs[i - 2] == lrs[i - 1] != lrs[i])
    return sorted(marks)


def landmarks(solver: SolverConfig, curves: dict[str, list[float]], rows: int = 10) -> list[int]:
    """Steps worth printing: evenly spaced ones, and both sides of every edge."""
    count = len(next(iter(curves.values()))) - 1
    marks = {0, count - 1, *range(0, count, max(1, count // rows))}
    for edge in edges(solver, curves):
        marks.update({edge - 1, edge})
    return sorted(m for m in marks if 0 <= m < count)


def timeline(solver: SolverConfig) -> list[str]:
    """What one ``scheduler.step()`` is and how long the run is, then a warning for each
    sign that the schedule's unit and the training loop's may not match."""
    units, total = solver.units, solver.max_iter
    if units.step_unit == "epoch":
        return [
            f"stepped once per EPOCH: {total} epochs ({solver.path('interval')}: epoch)",
            f"warning: stepping it every iteration instead would run all {total} steps in the first {total} "
            f"iterations; set {solver.path('iters_per_epoch')} to convert it to iterations",
        ]
    per_epoch = units.iters_per_epoch
    if per_epoch is None:
        return [f"stepped once per iteration: {total} iterations"]
    lines = [
        f"stepped once per iteration: {total} iterations = {total / per_epoch:g} epochs of {per_epoch}"
        + (" (converted from epochs)" if units.interval == "epoch" else "")
    ]
    if units.interval == "iter" and total < per_epoch:
        lines.append(
            f"warning: {solver.path('max_iter')}={total} is less than one epoch "
            f"({solver.path('iters_per_epoch')}={per_epoch}); if it counts epochs, set "
            f"{solver.path('interval')}: epoch"
        )
    return lines


def warmup_line(solver: SolverConfig) -> str:
    """What warmup the schedule gets, in words: a chosen shape with no length is said too."""
    if solver.warmup_method == "none":
        return f"no warmup ({solver.path('warmup_method')} is none)"
    if not solver.warmup_iters:
        return f"no warmup ({solver.path('warmup_iters')} is 0)"
    start = (
        "the scheduler's own start"
        if "warmup_factor" not in solver.explicit
        else f"{solver.warmup_factor:g} x lr"
    )
    return f"warmup: {solver.warmup_method}, from {start}, over {solver.warmup_iters} steps"


def show(cfg: Any) -> None:
    """Print the composed solver node, the schedule's unit, and a table of each group's lr
    at landmark steps."""
    from omegaconf import OmegaConf

    solver, curves = simulate(cfg)
    node = cfg.get("solver", cfg) if OmegaConf.is_config(cfg) else cfg
    print(OmegaConf.to_yaml(node, resolve=True).rstrip() if OmegaConf.is_config(node) else node)
    print("\n".join(f"# {line}" for line in [*timeline(solver), warmup_line(solver)]))
    unit = "epoch" if solver.units.step_unit == "epoch" else "iteration"
    print(f"{unit:>10}" + "".join(f"  {name:>14}" for name in curves))
    for step in landmarks(solver, curves):
        print(f"{step:>10}" + "".join(f"  {lrs[step]:>14.8g}" for lrs in curves.values()))


def plot(runs: Sequence[tuple[str, Any]], output: str, log: bool = False) -> None:
    """Draw every run's lr curves (one per param group) into one figure at ``output``, with
    warmup ends and milestones marked (needs matplotlib)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 4.5))
    for label, cfg in runs:
        solver, curves = simulate(cfg)
        for name, lrs in curves.items():
            title = label or solver.lr_scheduler_name
            (line,) = ax.plot(
                range(len(lrs) - 1), lrs[:-1], label=title if len(curves) == 1 else f"{title}: {name}"
            )
        for edge in edges(solver, curves):
            ax.axvline(edge, color=line.get_color(), linestyle=":", linewidth=0.8)
    unit = "epoch" if solver.units.step_unit == "epoch" else "iteration"
    ax.set(xlabel=unit, ylabel="learning rate", yscale="log" if log else "linear")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(output, dpi=100)
    plt.close(fig)


def list_schedulers() -> Iterator[str]:
    """One line per registered scheduler: name, where it comes from, what it takes."""
    from schedreg.builders.torch_builtins import TorchBuilder
    from schedreg.registry import SCHEDULERS

    for name in sorted(SCHEDULERS):
        builder = SCHEDULERS.get(name)
        module = getattr(builder, "__module__", "") or ""
        if isinstance(builder, TorchBuilder):
            source, about = "torch", "args: " + ", ".join(builder.parameters())
        else:
            source = {
                "schedreg.builders.detectron2": "detectron2",
                "schedreg.builders.transformers": "transformers",
                "schedreg.builders.timm": "timm",
            }.get(module, "schedreg" if module.startswith("schedreg.") else f"third-party ({module})")
            about = (builder.__doc__ or "").strip().split("\n")[0]
        yield f"{name:<28} {source:<13} {about.replace('``', '')}"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``schedreg`` command."""
    parser = argparse.ArgumentParser(prog="schedreg", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", nargs="?", default="show", choices=["list", "show", "plot"])
    parser.add_argument(
        "overrides", nargs="*", help="Hydra overrides, e.g. solver=cosine solver.max_iter=1000"
    )
    parser.add_argument("-o", "--output", default="lr.png", help="image file for `plot` (default: lr.png)")
    parser.add_argument("--log", action="store_true", help="`plot` with a log-scale lr axis")
    parser.add_argument(
        "-m", "--multirun", action="store_true", help="accepted for Hydra habit; sweeps always expand"
    )
    parser.add_argument("--config-dir", help="your Hydra app's config directory")
    parser.add_argument(
        "--config-name", default="schedreg", help="primary config name (default: schedreg's own)"
    )
    args = parser.parse_args(argv)
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    try:
        if args.command == "list":
            print("\n".join(list_schedulers()))
            return 0
        runs = [
            (label, compose(o, args.config_dir, args.config_name))
            for label, o in expand_sweeps(args.overrides)
        ]
        if args.command == "show":
            for label, cfg in runs:
                if len(runs) > 1:
                    print(f"# {label or 'defaults'}")
                show(cfg)
        else:
            plot(runs, args.output, args.log)
            print(f"wrote {args.output}")
    except (ConfigError, HydraException, OmegaConfBaseException) as exc:
        cause = f"\n{exc.__cause__}" if exc.__cause__ else ""
        print(f"schedreg: error: {exc}{cause}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
