"""What ``schedreg show``, ``plot`` and ``export`` make of a configured run
(:class:`~schedreg.integrations.sampled.Preview`): the keys that shape it, a terminal chart
and a table; a figure; every step's values as CSV or JSON."""

from __future__ import annotations

import csv
import dataclasses
import itertools
import json
import os
import sys
import textwrap
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from schedreg.config.parse import find_solver, plain
from schedreg.config.solver import SCHEDULE_KEYS, SolverConfig
from schedreg.integrations.sampled import MAX_EDGE_ROWS, MAX_EDGES, Preview, every_step, landmarks

FIGURES = (".png", ".svg", ".pdf")
"""``-o`` extensions written as a figure (needs matplotlib)."""
TABLES = (".csv", ".json")
"""``-o`` extensions written as every step's values: a header row (the step, then one column
per param group, then each scheduled key of each group), then one row per iteration."""

SHAPING_KEYS = (
    *SCHEDULE_KEYS,
    "interval",
    "iters_per_epoch",
    "param_groups",
    "param_schedules",
    "bias_lr_factor",
    "warmup",
)
"""Keys of a solver node that shape its lrs (``show`` prints those set; ``--full``, all)."""
ALWAYS_SHOWN = ("lr_scheduler_name", "base_lr", "max_iter")
WARMUP_KEYS = ("warmup_iters", "warmup_method", "warmup_factor", "warmup")

BLOCKS = " ▁▂▃▄▅▆▇█"
"""A chart column's eighths of a row, in Unicode block elements."""
ASCII_BLOCKS = " .:-=+*#@"
"""The same for a terminal that cannot print them."""
MAX_MARK_LABELS = 8
"""The most phase marks a figure draws and labels per run (a staircase of hundreds would
hide the curve); the figure says how many there are."""


class OutputError(Exception):
    """An ``-o`` that cannot be written (unknown extension, missing folder, no matplotlib):
    one line, status 2, as a mistake in the config is."""


def output_kind(output: str, command: str) -> str:
    """``figure`` or ``table``: what ``output``'s extension asks for; an OutputError for any
    other, or for a name that is no file."""
    target = Path(output)
    try:
        unusable = not output or target.name in ("", ".", "..") or (target.exists() and not target.is_file())
    except OSError as exc:  # a name too long for the file system
        raise OutputError(f"-o {output[:60]}...: {exc.strerror}") from exc
    if unusable:
        raise OutputError(f"-o {output!r}: give the name of a file to write, like lr.png or lr.csv")
    suffix = target.suffix.lower()
    allowed = TABLES if command == "export" else (*FIGURES, *TABLES)
    if suffix not in allowed:
        raise OutputError(
            f"-o {output}: {command} writes {', '.join(allowed)} "
            f"({'every step' if command == 'export' else 'a figure, or every step as data'}), "
            f"not {suffix or 'a name without an extension'}"
        )
    return "figure" if suffix in FIGURES else "table"


# --- show --------------------------------------------------------------------------------


def shaping(cfg: Any, solver: SolverConfig, full: bool = False) -> dict[str, Any]:
    """The solver node's keys that shape the lrs, as written (``full``: every key): the
    scheduler, base lr and length as resolved, and any other key set to a value that is not
    the default; warmup keys only where there is a warmup."""
    node, _ = find_solver(cfg)
    written = {str(k).lower(): v for k, v in plain(getattr(node, "node", node)).items()}  # a peer's too
    if full:
        return written
    defaults = {f.name: f.default for f in dataclasses.fields(SolverConfig)}
    warmed = solver.warmup_method != "none" and bool(solver.warmup_iters)
    out: dict[str, Any] = {key: getattr(solver, key) for key in ALWAYS_SHOWN}
    for key in SHAPING_KEYS:
        value = written.get(key)
        if isinstance(value, dict) and key == "warmup":  # the nested spelling: its keys that are set
            value = {k: v for k, v in value.items() if v is not None}
        if key in out or value in (None, {}, [], defaults.get(key)) or (key in WARMUP_KEYS and not warmed):
            continue
        out[key] = value
    if warmed:
        out["warmup_iters"] = solver.warmup_iters
    return out


def describe(solver: SolverConfig) -> list[str]:
    """What one ``scheduler.step()`` is, how long the run is, and its warmup, in words, then
    a warning for each sign that the schedule's unit and the training loop's may not match."""
    return [*timeline(solver), warmup_line(solver)]


def timeline(solver: SolverConfig) -> list[str]:
    """What one ``scheduler.step()`` is and how long the run is, then a warning for each
    sign that the schedule's unit and the training loop's may not match."""
    units, total = solver.units, solver.max_iter
    if solver.clock != "step":
        return clock_timeline(solver)
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


def clock_timeline(solver: SolverConfig) -> list[str]:
    """The run on a token or sample clock: its length, the steps it takes where that is
    known, and the batch-size ramp."""
    total, unit, ramp, clock = solver.max_iter, solver.clock, solver.batch_size_schedule, solver.stepping
    how = f"stepped by the {unit} each update consumed, step({unit}=n): {total:,} {unit}"
    updates = clock.updates_to(total)
    if updates is not None:
        how += f" = {updates:,} steps" + (f" of {clock.per_step:,}" if ramp is None else "")
    lines = [how]
    if ramp is not None:
        sizes = ", ".join(f"{size} from {at:,}" for at, size in zip(ramp.thresholds, ramp.sizes, strict=True))
        lines.append(f"batch size (samples): {sizes} {unit}; lr rescale: {solver.batch_size_rescale}")
    return lines


def counted(solver: SolverConfig) -> str:
    """What the schedule's durations count: steps, tokens or samples."""
    return "steps" if solver.clock == "step" else solver.clock


def step_word(solver: SolverConfig) -> str:
    """What the schedule's step counts, for axes and columns."""
    if solver.clock != "step":
        return solver.clock
    return "epoch" if solver.units.step_unit == "epoch" else "iteration"


def own_warmup(solver: SolverConfig) -> str | None:
    """A peer's own warmup, in words (None if the config has none of theirs)."""
    args, where = solver.args, solver.path("args")
    if "param_scheduler" in args:  # mmengine's: windows of its list
        return f"warmup: the windows of the list ({where}.param_scheduler)"
    for key in ("warmup_num_steps", "warmup_steps", "t_warmup"):  # DeepSpeed's, NeMo's, composer's
        if args.get(key):
            value = args[key]
            length = value if isinstance(value, str) else f"{value} steps"
            return f"warmup: the scheduler's own, over {length} ({where}.{key})"
    if args.get("lr_warmup_steps"):  # Megatron's, in samples where one step counts several
        increment = args.get("increment", 1)
        samples = f" ({args['lr_warmup_steps']:g} samples)" if increment != 1 else ""
        return f"warmup: the scheduler's own, over {args['lr_warmup_steps'] / increment:g} steps{samples}"
    return None


def warmup_line(solver: SolverConfig) -> str:
    """What warmup the schedule gets, in words: a chosen shape with no length is said too."""
    own = own_warmup(solver)
    if own is not None and "warmup_iters" not in solver.explicit:
        return own
    if solver.warmup_method == "none":
        return f"no warmup ({solver.path('warmup_method')} is none)"
    if not solver.warmup_iters:
        return f"no warmup ({solver.path('warmup_iters')} is 0)"
    if "warmup_method" not in solver.explicit and "warmup_type" in solver.args:
        shape = f"{solver.path('args')}.warmup_type: {solver.args['warmup_type'] or 'its default'}"
        return f"warmup: the scheduler's own ({shape}), over {solver.warmup_iters} {counted(solver)}"
    start = (
        "the scheduler's own start"
        if "warmup_factor" not in solver.explicit
        else f"{solver.warmup_factor:g} x lr"
    )
    return f"warmup: {solver.warmup_method}, from {start}, over {solver.warmup_iters} {counted(solver)}"


def show(cfg: Any, run: Preview, full: bool = False) -> list[str]:
    """The lines ``schedreg show`` prints: the keys that shape the schedule (``full``: the
    whole solver node), notes on its unit and warmup, a chart of each group's lr over the
    run, and a table of the lrs at landmark steps (both sides of each edge)."""
    from omegaconf import OmegaConf

    keys = shaping(cfg, run.solver, full)
    lines = OmegaConf.to_yaml(OmegaConf.create(_yaml_safe(keys))).rstrip().splitlines()
    if not full:
        lines.append("# (the keys that shape the lrs; --full prints the whole solver node)")
    notes = [*describe(run.solver), *([run.note] if run.note else [])]
    if len(run.edges) > MAX_EDGE_ROWS:
        found = f"{len(run.edges)}{' or more' if len(run.edges) >= MAX_EDGES else ''}"
        notes.append(f"{found} edges (warmup ends, milestones): rows at the first {MAX_EDGE_ROWS}")
    lines += [f"# {line}" for line in notes]
    lines += chart(run)
    unit, width = step_word(run.solver), max(10, len(str(run.last)))
    lines.append(f"{unit:>{width}}" + "".join(f"  {name:>14}" for name in run.names))
    for step in landmarks(run):
        lines.append(f"{step:>{width}}" + "".join(f"  {lr:>14.8g}" for lr in run.lrs(step)))
    return lines


def _yaml_safe(value: Any) -> Any:
    """``value`` with tuples as lists and other objects as their repr, for OmegaConf's YAML."""
    if isinstance(value, dict):
        return {str(k): _yaml_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_yaml_safe(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)


def chart(run: Preview, width: int = 60, height: int = 6, groups: int = 3) -> list[str]:
    """Each group's lr over the whole run (the first ``groups``), ``width`` columns of
    ``height`` rows, read at one step per column (so a milestone stays a drop)."""
    blocks = BLOCKS if _printable(BLOCKS) else ASCII_BLOCKS
    last = max(run.last - 1, 0)
    steps = [round(c * last / (width - 1)) for c in range(width)]
    lines = []
    for g, name in enumerate(run.names[:groups]):
        values = [run.lrs(step)[g] for step in steps]
        peak = max(values)
        levels = [round(v / peak * height * 8) if peak > 0 else 0 for v in values]
        title = f"lr of {name}" if len(run.names) > 1 else "lr"
        lines.append(f"# {title}, {counted(run.solver)[:-1]} 0 to {last}:")
        for row in range(height - 1, -1, -1):
            label = f"{peak:.3g}" if row == height - 1 else ("0" if row == 0 else "")
            cells = "".join(blocks[min(8, max(0, level - row * 8))] for level in levels)
            lines.append(f"{label:>9} |{cells}")
        lines.append(f"{'':>9} +{'-' * width}")
        lines.append(f"{'':>10}{0:<{width // 2}}{last:>{width - width // 2}}")
    return lines


def _printable(text: str) -> bool:
    encoding = getattr(sys.stdout, "encoding", None) or "ascii"
    try:
        text.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


# --- plot --------------------------------------------------------------------------------

LINE_STYLES = (("-", 2.4), ("--", 2.0), ("-.", 1.8), (":", 2.2))
"""Each curve's line style and width, in turn: curves that overlap stay visible."""


def title(solver: SolverConfig) -> str:
    """The schedule's name and key parameters, for a figure's title or a legend."""
    parts = [f"base_lr={solver.base_lr:g}", f"max_iter={solver.max_iter}"]
    if solver.warmup_method != "none" and solver.warmup_iters:
        parts.append(f"warmup={solver.warmup_method} {solver.warmup_iters}")
    parts += [f"{k}={_short(v)}" for k, v in solver.args.items() if k != "schedulers"]
    if "steps" in solver.explicit and solver.steps:
        parts.append(f"steps={_short(list(solver.steps))}")
    return textwrap.fill(f"{solver.lr_scheduler_name}: {', '.join(parts)}", 110)


def _short(value: Any) -> str:
    text = f"{value:g}" if isinstance(value, float) else str(value)
    return text if len(text) <= 24 else text[:21] + "..."


def phase(run: Preview, edge: int, group: int = 0) -> str:
    """What happens at ``edge``: a warmup ends, the lr steps (a milestone), or a flat
    stretch ends and the lr starts to move."""
    if edge in run.warmup_ends:
        return "warmup ends"
    ramp = run.solver.batch_size_schedule
    if ramp is not None and edge in ramp.thresholds:
        return f"batch {ramp.size_at(edge)}"
    after = run.lrs(min(edge + 1, run.last))[group]
    return "milestone" if after == run.lrs(edge)[group] else "decay starts"


def log_floor(values: Sequence[float]) -> float | None:
    """The bottom of a log axis: half the 1st percentile of the positive lrs, so that a
    curve's last steps approaching 0 (a cosine's 1e-12) do not stretch the axis over
    decades of nothing; None when there is no positive lr."""
    positive = sorted(v for v in values if v > 0)
    return positive[len(positive) // 100] / 2 if positive else None


def plot(runs: Sequence[tuple[str, Preview]], output: str, log: bool = False) -> str:
    """Draw every run's lr curves (one per param group) into one figure at ``output``: a
    title with the key parameters, a line style per curve, labelled phase marks (warmup
    ends, milestones, decay starts), and the preview's notes (a plateau's scenario) written
    on it. Needs matplotlib."""
    with warnings.catch_warnings():  # numpy's overflow in matplotlib's ticks near float's max
        warnings.simplefilter("ignore", RuntimeWarning)
        return _draw(runs, output, log)


def _draw(runs: Sequence[tuple[str, Preview]], output: str, log: bool) -> str:
    try:
        import matplotlib
    except ImportError as exc:
        raise OutputError(
            f"plot needs matplotlib, which is not installed ({exc}): pip install 'schedreg[plot]' "
            "(or pip install matplotlib), or write the lrs as data with -o lr.csv"
        ) from exc
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 5))
    styles = itertools.cycle(LINE_STYLES)
    drawn: list[float] = []
    notes: list[str] = []
    labelled: set[tuple[int, str]] = set()  # a mark several runs share is labelled once
    spacing = 0.03 * max(run.last for _, run in runs)  # labels closer than this would overlap
    try:
        for label, run in runs:
            steps = sorted({*run.samples, *run.edges, *(e - 1 for e in run.edges)} - {run.last})
            curves = run.curves(steps)
            for name, lrs in curves.items():
                style, width = next(styles)
                who = label or run.solver.lr_scheduler_name
                text = who if len(curves) == 1 else f"{who}: {name}"
                if len(runs) > 1:
                    text += f" ({run.solver.lr_scheduler_name})"
                (line,) = ax.plot(steps, lrs, linestyle=style, linewidth=width, label=text)
                drawn += lrs
            if len(run.edges) > MAX_MARK_LABELS:
                more = " or more" if len(run.edges) >= MAX_EDGES else ""
                notes.append(f"{who}: {len(run.edges)}{more} edges, the first {MAX_MARK_LABELS} marked")
            for edge in run.edges[:MAX_MARK_LABELS]:
                ax.axvline(edge, color=line.get_color(), linestyle=":", linewidth=0.8, alpha=0.8)
                mark = (edge, phase(run, edge))
                crowded = any(abs(edge - other) < spacing for other, _ in labelled)
                if mark not in labelled and not crowded:
                    labelled.add(mark)
                    ax.annotate(
                        f"{mark[1]} ({edge})",
                        xy=(edge, 0.98),
                        xycoords=("data", "axes fraction"),
                        rotation=90,
                        va="top",
                        ha="right",
                        fontsize=7,
                        color=line.get_color(),
                    )
            notes += [n for n in [run.note] if n and n not in notes]
        first = runs[0][1].solver
        if len(runs) == 1:
            ax.set_title(title(first), fontsize=10)
        else:
            ax.set_title(
                f"{len(runs)} schedules, base_lr={first.base_lr:g}, max_iter={first.max_iter}", fontsize=10
            )
        ax.set(xlabel=step_word(first), ylabel="learning rate")
        _draw_ramp(ax, first)
        floor = log_floor(drawn)
        if log and floor is None:
            notes.append("--log: no lr above 0 to draw on a log axis; drawn on a linear one")
        elif log and floor is not None:
            ax.set_yscale("log")
            if floor < max(drawn):
                ax.set_ylim(bottom=floor)
            if min(drawn) < floor:
                notes.append(f"lrs below {floor:.2g} (the last steps toward 0) are below the axis")
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
        if notes:
            fig.text(0.01, 0.01, "\n".join(notes), fontsize=7, va="bottom")
        try:
            fig.tight_layout(rect=(0, 0.03 * len(notes), 1, 1))
            fig.savefig(output, dpi=100)
        except OSError as exc:  # a missing folder, no permission
            raise OutputError(f"-o {output}: cannot write the plot: {exc}") from exc
        except (ValueError, OverflowError) as exc:  # lrs near float's max: matplotlib's ticks overflow
            raise OutputError(
                f"-o {output}: matplotlib cannot draw these lrs ({exc}); export them to .csv"
            ) from exc
    finally:
        plt.close(fig)
    return output


def _draw_ramp(ax: Any, solver: SolverConfig) -> None:
    """The batch-size ramp, as steps on a second axis."""
    ramp = solver.batch_size_schedule
    if ramp is None:
        return
    pairs = zip(ramp.thresholds, ramp.sizes, strict=True)
    inside = [(at, size) for at, size in pairs if at < solver.max_iter]
    xs = [at for at, _ in inside] + [solver.max_iter]
    sizes = [size for _, size in inside]
    twin = ax.twinx()
    twin.step(xs, [*sizes, sizes[-1]], where="post", color="gray", linewidth=1, alpha=0.7)
    twin.set_ylabel("batch size (samples)", color="gray")
    twin.set_ylim(bottom=0)


# --- export ------------------------------------------------------------------------------


def export(runs: Sequence[tuple[str, Any]], output: str | None, plateau: str = "never") -> str:
    """Write every step's values of every run (:func:`~schedreg.integrations.sampled.every_step`)
    to ``output`` as CSV or JSON (by its extension), or as CSV to stdout; return where. A
    sweep's columns are prefixed with each run's label; a shorter run's cells past its end
    are empty (``null`` in JSON). JSON holds one list per column, under the CSV's header."""
    columns = ["step"]
    parts: list[tuple[int, Iterator[list[float]]]] = []
    length = 0
    for label, cfg in runs:
        names, rows, count = every_step(cfg, plateau)
        columns += [f"{label}: {name}" if len(runs) > 1 else name for name in names]
        parts.append((len(names), rows))
        length = max(length, count)
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if repeated:
        raise OutputError(
            f"export: two columns would both be named {repeated[0]!r} (a sweep choice given twice, or a "
            "param group named 'step'); give each choice once and each group its own name"
        )
    table = _joined(parts, length)
    if output is None:
        csv.writer(sys.stdout, lineterminator="\n").writerows([columns, *table])
        return "stdout"
    target = Path(output)
    partial = target.with_name(f".{target.name}.partial")  # renamed once whole: a failed run leaves none
    try:
        with open(partial, "w", newline="", encoding="utf-8") as file:
            if target.suffix.lower() == ".json":
                values: dict[str, list[Any]] = {name: [] for name in columns}
                for row in table:
                    for name, value in zip(columns, row, strict=True):
                        values[name].append(value)
                json.dump(values, file)
            else:
                writer = csv.writer(file, lineterminator="\n")
                writer.writerow(columns)
                writer.writerows(table)
        os.replace(partial, target)
    except OSError as exc:
        raise OutputError(f"-o {output}: cannot write the table: {exc}") from exc
    finally:
        partial.unlink(missing_ok=True)
    return output


def _joined(parts: list[tuple[int, Iterator[list[float]]]], length: int) -> Iterator[list[Any]]:
    """One row per step ``0 .. length - 1``: the step, then each run's cells (``width`` of
    them), empty past the run's end."""
    for step in range(length):
        row: list[Any] = [step]
        for width, rows in parts:
            row += next(rows, [None] * width)
        yield row
