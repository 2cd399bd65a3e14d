"""The ``schedreg`` command: list schedulers, show or plot a configured schedule.

    schedreg list
    schedreg show [OVERRIDE ...]            e.g. solver=cosine solver.max_iter=1000
    schedreg plot [OVERRIDE ...] [-o lr.png] [--log]

Overrides are Hydra's, over schedreg's config groups (``solver=...``,
``solver/warmup=...``, ``solver.key=value``). A comma list (``solver=cosine,multistep``)
shows or plots each choice; ``plot`` overlays them in one figure. ``--config-dir`` and
``--config-name`` read your own Hydra app's primary config instead of schedreg's.

A long run is read at :data:`SAMPLES` evenly spaced steps and at its edges, so ``show`` and
``plot`` take seconds whatever ``max_iter`` is (:class:`Preview`). A mistake in the command
line or the config is one ``schedreg: error:`` line and status 2 (:func:`error_line`).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import itertools
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from schedreg.builders.pure import pure_schedule
from schedreg.config.parse import solver_config
from schedreg.config.solver import SolverConfig
from schedreg.errors import ConfigError, suggest

COMMANDS = ("list", "show", "plot")


class UsageError(Exception):
    """A mistake on the command line that is no config value's: an argument argparse
    refuses, an unwritable ``-o``, a missing matplotlib. Reported as one line, like a
    :class:`ConfigError`."""


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors raised to :func:`main` (one line, status 2) instead of
    printed after the usage and exited on."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see schedreg --help)")


def expand_sweeps(overrides: Sequence[str]) -> list[tuple[str, list[str]]]:
    """One (label, overrides) per combination of the comma lists in ``overrides``.

    The label names the swept choices only, e.g. ``solver=cosine solver/warmup=constant``.
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import OverrideParseException

    choices = []
    parser = OverridesParser.create()
    for line in overrides:
        try:
            (override,) = parser.parse_overrides([line])
        except OverrideParseException as exc:  # Hydra names the override in some messages only
            if line in str(exc):
                raise
            raise ConfigError(f"override {line!r}: {error_line(exc)}") from exc
        if not override.key_or_group:
            raise ConfigError(
                f"override {override.input_line!r} has no key: write key=value, e.g. solver=cosine"
            )
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
        try:
            return hydra_compose(config_name, overrides=list(overrides))
        except ValueError as exc:  # Hydra's own, for a group given a non-name (solver=null)
            if isinstance(exc, ConfigError):
                raise
            culprits = [o for o in overrides if "=" in o and "." not in o.split("=", 1)[0]]
            raise ConfigError(f"{' '.join(culprits) or 'overrides'}: {exc}") from exc


SAMPLES = 2000
"""Evenly spaced steps that ``show`` and ``plot`` read a longer run at, besides warmup ends,
milestones (found between samples by bisection) and the printed rows: a plot's width in
pixels, twice over."""

MAX_EDGES = 200
"""The most milestones a preview looks for: a long ``StepLR`` is a staircase of hundreds."""

MAX_EDGE_ROWS = 12
"""The most edges ``show`` prints rows around."""


@dataclass(frozen=True)
class Preview:
    """A configured run's lrs, read at the steps worth reading.

    Attributes:
        solver: the solver node, with its scheduler's defaults.
        names: the param groups: ``default`` at ``solver.base_lr``, then one per rule.
        last: the run's length; the lr at ``last`` is the one held after it.
        lrs: every group's lr at a step ``0 .. last`` (cached).
        samples: evenly spaced steps ``0 .. last``, every step of a short run.
        edges: where the schedule changes course: warmup ends and milestones, ascending.
        note: how the lrs were had, where not as the scheduler writes them.
    """

    solver: SolverConfig
    names: list[str]
    last: int
    lrs: Callable[[int], list[float]]
    samples: list[int]
    edges: list[int]
    note: str | None

    def curves(self, steps: Sequence[int]) -> dict[str, list[float]]:
        """Each group's lrs at ``steps``."""
        rows = [self.lrs(step) for step in steps]
        return {name: [row[i] for row in rows] for i, name in enumerate(self.names)}


def preview(cfg: Any, num_steps: int | None = None, samples: int = SAMPLES) -> Preview:
    """The run ``cfg`` configures, ``num_steps`` long (default ``max_iter``), per param group:
    ``default`` at ``solver.base_lr``, and one group per ``solver.param_groups`` rule at its
    lr and on its schedule.

    One of schedreg's own closed forms, alone, is evaluated in plain Python, without torch
    (:func:`~schedreg.builders.pure.pure_schedule`): ``base_lr * schedule(step)``, as its
    scheduler writes it. Any other is previewed through torch: one group alone
    (:func:`~schedreg.integrations.preview.preview_scheduler`); with rules, the groups share
    one optimizer and scheduler, as in training (arguments may be per group). A long run is
    read at ``samples`` evenly spaced steps, not every step: its cost is bounded whatever
    ``max_iter`` says (:func:`~schedreg.integrations.preview.lrs_at`).
    """
    solver = solver_config(cfg)
    # an optimizer other than the default is looked up among torch's: the torch path checks it
    plain = not solver.param_groups and solver.optimizer == SolverConfig.optimizer
    pure = pure_schedule(solver) if plain else None
    at: Callable[[int], list[float]]
    if pure is not None:
        schedule, solver = pure
        names, note = ["default"], None
        last = solver.max_iter if num_steps is None else num_steps
        at = functools.partial(_scaled, float(solver.base_lr), schedule)
    else:
        names, solver, last, at, note = _torch_preview(solver, num_steps)
    lrs = functools.lru_cache(maxsize=None)(at)
    spacing = max(1, (last + 1) // samples)
    steps = sorted({*range(0, last + 1, spacing), last})
    edges = sorted(e for e in {*_warmup_ends(solver), *_flat_ends(lrs, steps, len(names))} if 0 < e < last)
    return Preview(solver, names, last, lrs, steps, edges, note)


def _scaled(base_lr: float, schedule: Callable[[int], float], step: int) -> list[float]:
    """The lr a schedule's scheduler writes at ``step``: ``base_lr * schedule(step)``."""
    return [base_lr * schedule(step)]


def _torch_preview(
    solver: SolverConfig, num_steps: int | None
) -> tuple[list[str], SolverConfig, int, Callable[[int], list[float]], str | None]:
    """:func:`preview`'s groups, resolved solver, length, lrs and note, through torch."""
    from schedreg.factory import resolve
    from schedreg.integrations.optimizers import OPTIMIZERS
    from schedreg.integrations.preview import lrs_at, preview_scheduler

    _, solver = resolve(solver)
    last = solver.max_iter if num_steps is None else num_steps
    if solver.param_groups:
        names, scheduler, optimizer = _grouped(solver)
    else:
        OPTIMIZERS.entry(solver.optimizer, key=solver.path("optimizer"))  # a typo is an error here too
        names, (scheduler, optimizer) = ["default"], preview_scheduler(solver, solver.base_lr)
    at, note = lrs_at(scheduler, optimizer, last, key=solver.path("max_iter"))
    return names, solver, last, at, note


def simulate(cfg: Any, num_steps: int | None = None) -> tuple[SolverConfig, dict[str, list[float]]]:
    """The lr of every iteration ``0 .. num_steps - 1`` (default ``max_iter``) per param
    group, then the lr held after: :func:`preview`, read at every step."""
    from schedreg.integrations.preview import MAX_CURVE_STEPS

    run = preview(cfg, num_steps)
    if run.last >= MAX_CURVE_STEPS:
        raise ConfigError(
            f"{run.solver.path('max_iter')} must be below {MAX_CURVE_STEPS} to simulate every step, "
            f"got {run.last}; preview() reads a longer run at chosen steps"
        )
    return run.solver, run.curves(range(run.last + 1))


def _grouped(solver: SolverConfig) -> tuple[list[str], Any, Any]:
    """Each group's name, and the scheduler built for all the groups over the optimizer."""
    import torch

    from schedreg.factory import build_lr_scheduler
    from schedreg.integrations.optimizers import OPTIMIZERS

    groups: list[dict[str, Any]] = [{"name": "default", "lr": solver.base_lr}] + [
        {"name": r.name, "lr": r.lr if r.lr is not None else solver.base_lr * (r.lr_factor or 1.0)}
        for r in solver.param_groups
    ]
    params = [{"params": [torch.nn.Parameter(torch.zeros(1))], **g} for g in groups]
    optimizer = OPTIMIZERS.entry(solver.optimizer, key=solver.path("optimizer")).builder(solver, params)
    return [g["name"] for g in groups], build_lr_scheduler(solver, optimizer), optimizer


def _warmup_ends(solver: SolverConfig) -> set[int]:
    """The step where each warmup (the solver's, a rule's own schedule's) ends."""
    nodes = (solver, *(r.schedule for r in solver.param_groups if r.schedule is not None))
    return {n.warmup_iters for n in nodes if n.warmup_iters and n.warmup_method != "none"}


def _flat_ends(lrs: Callable[[int], list[float]], steps: Sequence[int], groups: int) -> set[int]:
    """Each step where a flat stretch of some group's lr ends (a milestone), up to
    :data:`MAX_EDGES`. Between two samples, from a step where the lr is flat, bisection
    finds the first step it differs at, and the search goes on from there while the lr
    is flat again: a staircase is found step by step, whatever the samples' spacing; a
    flat stretch within a sloping one may be missed."""
    ends: set[int] = set()
    for a, b in itertools.pairwise(steps):
        for g in range(groups):
            start = a
            if a > 0 and lrs(a - 1)[g] == lrs(a)[g] != lrs(a + 1)[g]:  # the stretch ends just after a
                ends.add(a + 1)
                start = a + 1
            while start + 1 < b and len(ends) < MAX_EDGES:
                value = lrs(start)[g]
                if lrs(start + 1)[g] != value or lrs(b)[g] == value:
                    break
                lo, hi = start + 1, b  # lrs(lo) == value != lrs(hi)
                while hi - lo > 1:
                    mid = (lo + hi) // 2
                    lo, hi = (mid, hi) if lrs(mid)[g] == value else (lo, mid)
                ends.add(hi)
                start = hi
    return ends


def landmarks(run: Preview, rows: int = 10) -> list[int]:
    """Steps worth printing: evenly spaced ones, and both sides of the first
    :data:`MAX_EDGE_ROWS` edges."""
    count = run.last
    marks = {0, count - 1, *range(0, count, max(1, count // rows))}
    for edge in run.edges[:MAX_EDGE_ROWS]:
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

    run = preview(cfg)
    solver = run.solver
    node = cfg.get("solver", cfg) if OmegaConf.is_config(cfg) else cfg
    print(OmegaConf.to_yaml(node, resolve=True).rstrip() if OmegaConf.is_config(node) else node)
    notes = [*timeline(solver), warmup_line(solver), *([run.note] if run.note else [])]
    if len(run.edges) > MAX_EDGE_ROWS:
        found = f"{len(run.edges)}{' or more' if len(run.edges) >= MAX_EDGES else ''}"
        notes.append(f"{found} edges (warmup ends, milestones): rows at the first {MAX_EDGE_ROWS}")
    print("\n".join(f"# {line}" for line in notes))
    unit = "epoch" if solver.units.step_unit == "epoch" else "iteration"
    print(f"{unit:>10}" + "".join(f"  {name:>14}" for name in run.names))
    for step in landmarks(run):
        print(f"{step:>10}" + "".join(f"  {lr:>14.8g}" for lr in run.lrs(step)))


def plot(runs: Sequence[tuple[str, Any]], output: str, log: bool = False) -> str:
    """Draw every run's lr curves (one per param group) into one figure at ``output``, with
    warmup ends and milestones marked (needs matplotlib); return the file written (with
    matplotlib's ``.png`` added to a name with no suffix). A long run is drawn through its
    samples and both sides of every edge, so that a drop stays a drop."""
    target = Path(output)
    if not output or target.name in ("", ".", "..") or (target.exists() and not target.is_file()):
        raise UsageError(f"-o {output!r}: give the name of an image file to write, like lr.png")
    try:
        import matplotlib
    except ImportError as exc:
        raise UsageError(
            f"plot needs matplotlib, which is not installed ({exc}): pip install matplotlib"
        ) from exc
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 4.5))
    try:
        for label, cfg in runs:
            run = preview(cfg)
            steps = sorted({*run.samples, *run.edges, *(e - 1 for e in run.edges)} - {run.last})
            curves = run.curves(steps)
            for name, lrs in curves.items():
                title = label or run.solver.lr_scheduler_name
                (line,) = ax.plot(steps, lrs, label=title if len(curves) == 1 else f"{title}: {name}")
            for edge in run.edges:
                ax.axvline(edge, color=line.get_color(), linestyle=":", linewidth=0.8)
        unit = "epoch" if run.solver.units.step_unit == "epoch" else "iteration"
        ax.set(xlabel=unit, ylabel="learning rate", yscale="log" if log else "linear")
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
        fig.tight_layout()
        written = output if Path(output).suffix else f"{output}.{plt.rcParams['savefig.format']}"
        try:
            fig.savefig(written, dpi=100)
        except (OSError, ValueError) as exc:  # a missing folder, no permission, an unknown format
            raise UsageError(f"-o {output}: cannot write the plot: {exc}") from exc
    finally:
        plt.close(fig)
    return written


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


def error_line(exc: BaseException) -> str:
    """``exc``'s message, with its cause's, on one line: Hydra's and OmegaConf's span many
    (the options of a group, the config search path, the node's type), which reads as a
    traceback. A key missing from a schema gets the close names it has."""
    from omegaconf.errors import ConfigAttributeError, ConfigKeyError

    cause = exc.__cause__
    schema = getattr(cause, "object_type", None)
    typo = isinstance(cause, (ConfigAttributeError, ConfigKeyError)) and dataclasses.is_dataclass(schema)
    line = _one_line(str(exc), typo)
    if cause is not None and _one_line(str(cause), typo) not in line:
        line = _one_line(f"{exc}\n{cause}", typo)
    key = getattr(cause, "key", None)
    if typo and isinstance(schema, type) and isinstance(key, str):
        close = suggest(key, [f.name for f in dataclasses.fields(schema)])
        if close:
            line += f"; did you mean {' or '.join(repr(c) for c in close)}?"
    return line


def _one_line(text: str, typo: bool = False) -> str:
    """``text``'s lines joined, less Hydra's search path, docs link and OmegaConf's node
    details; the tab-indented items of a list (a group's options) joined by commas. The
    advice to add a key with ``+`` is left out for a ``typo`` (schedreg's schema takes none)."""
    line = ""
    for raw in text.splitlines():
        part = raw.strip()
        if part.startswith("Config search path:"):
            break
        if not part or part.startswith(("full_key:", "object_type=", "See https://hydra.cc")):
            continue
        if typo and part.startswith("To append to your config use"):
            continue
        if raw.startswith("\t"):
            line += (" " if line.endswith(":") else ", ") + part
        else:
            line += ("" if not line else " " if line.endswith((".", ":")) else "; ") + part
    return line


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``schedreg`` command: 0, or 2 with one ``schedreg: error:`` line
    on stderr for a mistake in the command line or the config (an unexpected exception is
    a bug, and keeps its traceback)."""
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    parser = _Parser(prog="schedreg", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", nargs="?", default="show", choices=COMMANDS)
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
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and "=" in argv[0] and not argv[0].startswith("-"):
        argv.insert(0, "show")  # `schedreg solver=cosine`: the command is optional
    try:
        args = parser.parse_intermixed_args(argv)  # overrides before or after the options
        if args.command == "list" and args.overrides:
            raise UsageError(f"list takes no overrides, got {' '.join(args.overrides)}")
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
            print(f"wrote {plot(runs, args.output, args.log)}")
    except (ConfigError, UsageError, HydraException, OmegaConfBaseException) as exc:
        print(f"schedreg: error: {error_line(exc)}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
