"""A configured run's lrs, read at the steps worth reading: what ``schedreg show``, ``plot``
and ``export`` print, draw and write.

One of schedreg's own closed forms is evaluated in plain Python, without importing torch;
any other schedule through torch (:mod:`schedreg.integrations.preview`). A long run is read
at :data:`SAMPLES` evenly spaced steps and at its edges (warmup ends, milestones), so a
preview takes seconds whatever ``max_iter`` is.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from schedreg.builders.pure import pure_schedule
from schedreg.config.parse import solver_config
from schedreg.config.solver import SolverConfig
from schedreg.errors import ConfigError, failures_as_config_errors
from schedreg.integrations.limits import MAX_CURVE_STEPS, MAX_STEPPED_STEPS
from schedreg.schedules.core import LrSchedule

PLATEAU_SCENARIOS = ("never", "always")
"""What a plateau schedule's metric does in a preview: never improves (the lr is reduced
every ``patience + 1`` steps), or always improves (the lr is never reduced)."""

SAMPLES = 2000
"""Evenly spaced steps that ``show`` and ``plot`` read a longer run at, besides warmup ends,
milestones (found between samples by bisection) and the printed rows: a plot's width in
pixels, twice over."""

MAX_EDGES = 200
"""The most milestones a preview looks for: a long ``StepLR`` is a staircase of hundreds."""

MAX_EDGE_ROWS = 12
"""The most edges ``show`` prints rows around."""

CACHED_STEPS = 2**16
"""Steps whose lrs a preview keeps: the edges' bisection reads neighbouring steps again."""


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
        warmup_ends: the edges where a warmup ends.
        note: how the lrs were had, where not as the scheduler writes them (a plateau
            schedule's scenario, a closed form read instead of stepping).
    """

    solver: SolverConfig
    names: list[str]
    last: int
    lrs: Callable[[int], list[float]]
    samples: list[int]
    edges: list[int]
    warmup_ends: list[int]
    note: str | None

    def curves(self, steps: Sequence[int]) -> dict[str, list[float]]:
        """Each group's lrs at ``steps``."""
        rows = [self.lrs(step) for step in steps]
        return {name: [row[i] for row in rows] for i, name in enumerate(self.names)}


def preview(
    cfg: Any, num_steps: int | None = None, samples: int = SAMPLES, plateau: str = "never"
) -> Preview:
    """The run ``cfg`` configures, ``num_steps`` long (default ``max_iter``), per param group:
    ``default`` at ``solver.base_lr``, and one group per ``solver.param_groups`` rule at its
    lr and on its schedule.

    One of schedreg's own closed forms, alone, is evaluated in plain Python, without torch
    (:func:`~schedreg.builders.pure.pure_schedule`), as its scheduler writes it. Any other
    is previewed through torch: one group alone
    (:func:`~schedreg.integrations.preview.preview_scheduler`); with rules, the groups share
    one optimizer and scheduler, as in training (arguments may be per group). A long run is
    read at ``samples`` evenly spaced steps, not every step: its cost is bounded whatever
    ``max_iter`` says (:func:`~schedreg.integrations.preview.lrs_at`). A plateau schedule's
    metric ``never`` improves, or ``always`` does (:data:`PLATEAU_SCENARIOS`).
    """
    if plateau not in PLATEAU_SCENARIOS:
        raise ConfigError(f"plateau must be one of {', '.join(PLATEAU_SCENARIOS)}, got {plateau!r}")
    solver = solver_config(cfg)
    # an optimizer other than the default is looked up among torch's: the torch path checks it
    plain = not solver.param_groups and solver.optimizer == SolverConfig.optimizer
    pure = pure_schedule(solver) if plain else None
    at: Callable[[int], list[float]]
    if pure is not None:
        schedule, solver = pure
        names, note = ["default"], None
        last = solver.max_iter if num_steps is None else num_steps
        at = functools.partial(_lrs_at, float(solver.base_lr), schedule)
    else:
        names, solver, last, at, note = _torch_preview(solver, num_steps, plateau == "always")
    lrs = functools.lru_cache(maxsize=CACHED_STEPS)(at)
    spacing = max(1, (last + 1) // samples)
    steps = sorted({*range(0, last + 1, spacing), last})
    warmup_ends = sorted(e for e in _warmup_ends(solver) if 0 < e < last)
    ramp = solver.batch_size_schedule.thresholds if solver.batch_size_schedule is not None else ()
    found = _flat_ends(lrs, steps, len(names))
    edges = sorted({*warmup_ends, *(e for e in (*found, *ramp) if 0 < e < last)})  # a ramp's sizes change too
    return Preview(solver, names, last, lrs, steps, edges, warmup_ends, note)


def _lrs_at(base_lr: float, schedule: LrSchedule, step: int) -> list[float]:
    """The default group's lr at ``step``, as its scheduler writes it (an error in its formula
    a ConfigError, as the scheduler's would be)."""
    with failures_as_config_errors(f"the schedule failed at step {step}"):
        lr = schedule.lr(step, base_lr)
    if not 0.0 <= lr < math.inf:  # as the scheduler refuses it (NaN fails too)
        raise ConfigError(
            f"the schedule produced lr {lr!r} at step {step}; a learning rate must be "
            "finite and >= 0 -- check the schedule's settings"
        )
    return [lr]


def _torch_preview(
    solver: SolverConfig, num_steps: int | None, improving: bool
) -> tuple[list[str], SolverConfig, int, Callable[[int], list[float]], str | None]:
    """:func:`preview`'s groups, resolved solver, length, lrs and note, through torch; a
    plateau schedule's metric ``improving`` every step, or never."""
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
    at, note = lrs_at(scheduler, optimizer, last, key=solver.path("max_iter"), improving=improving)
    if getattr(scheduler, "takes_metric", False):
        scenario = "improves at every step" if improving else "never improves"
        note = "; ".join(filter(None, [note, f"plateau preview: the metric {scenario}"]))
    return names, solver, last, at, note


def simulate(cfg: Any, num_steps: int | None = None) -> tuple[SolverConfig, dict[str, list[float]]]:
    """The lr of every iteration ``0 .. num_steps - 1`` (default ``max_iter``) per param
    group, then the lr held after: :func:`preview`, read at every step."""
    run = preview(cfg, num_steps)
    if run.last >= MAX_CURVE_STEPS:
        raise ConfigError(
            f"{run.solver.path('max_iter')} must be below {MAX_CURVE_STEPS} to simulate every step, "
            f"got {run.last}; preview() reads a longer run at chosen steps"
        )
    return run.solver, run.curves(range(run.last + 1))


def scheduled_keys(solver: SolverConfig) -> list[str]:
    """The param-group keys besides the lr that the solver schedules (``param_schedules``,
    its own and its rules'), in order."""
    nodes = [solver, *(r.schedule for r in solver.param_groups if r.schedule is not None)]
    return list(dict.fromkeys(key for node in nodes for key in node.param_schedules))


def every_step(cfg: Any, plateau: str = "never") -> tuple[list[str], Iterator[list[float]], int]:
    """The columns, rows and row count of every iteration ``0 .. max_iter - 1``: each
    group's lr, then each scheduled key of each group (``default.momentum``), as the
    scheduler writes them. At most ``MAX_CURVE_STEPS`` rows; a schedule of other keys is
    stepped, at most ``MAX_STEPPED_STEPS``."""
    solver = solver_config(cfg)
    keys = scheduled_keys(solver)
    if solver.clock != "step":
        return _every_update(cfg, keys, plateau)
    if not keys:
        run = preview(cfg, plateau=plateau)
        _check_length(run.solver, run.last, MAX_CURVE_STEPS)
        return run.names, (run.lrs(step) for step in range(run.last)), run.last
    from schedreg.adapters.groups import group_value
    from schedreg.factory import resolve
    from schedreg.integrations.preview import stepping

    _, solver = resolve(solver)
    _check_length(solver, solver.max_iter, MAX_STEPPED_STEPS, f"stepped (it schedules {', '.join(keys)})")
    names, scheduler, optimizer = _grouped(solver)
    groups = optimizer.param_groups

    def rows() -> Iterator[list[float]]:
        for _ in stepping(scheduler, optimizer, solver.max_iter, plateau == "always"):
            lrs = [float(g["lr"]) for g in groups]
            yield lrs + [float(group_value(g, key)) for g in groups for key in keys]

    return [*names, *(f"{n}.{key}" for n in names for key in keys)], rows(), solver.max_iter


def _every_update(cfg: Any, keys: list[str], plateau: str) -> tuple[list[str], Iterator[list[Any]], int]:
    """On a token or sample clock, one row per update: its position (what was consumed
    before it), its batch size, then each group's lr, where the config gives each update's
    size (a ramp, or the size per step)."""
    run = preview(cfg, plateau=plateau)
    solver, clock = run.solver, run.solver.clock
    if keys:
        raise ConfigError(
            f"{solver.path('param_schedules')}: export on {solver.path('clock')}={clock!r} writes the lrs "
            "per update; other keys' schedules are written on the step clock only"
        )
    stepping = solver.stepping
    count = stepping.updates_to(run.last)
    if count is None:
        raise ConfigError(
            f"export on {solver.path('clock')}={clock!r} writes one row per update, and the config gives no "
            f"update's size: set a batch_size_schedule or {clock}_per_step"
        )
    _check_length(solver, count, MAX_CURVE_STEPS, f"({count} updates)")

    def rows() -> Iterator[list[Any]]:
        position = 0
        while position < run.last:
            yield [position, stepping.batch_size(position), *run.lrs(position)]
            position += stepping.expected(position) or 1  # not None: updates_to was not

    return [clock, "batch_size", *run.names], rows(), count


def _check_length(solver: SolverConfig, last: int, limit: int, how: str = "") -> None:
    if last > limit:
        how = f" {how}" if how else ""
        raise ConfigError(
            f"{solver.path('max_iter')} must be at most {limit} to write every step{how}, got {last}; "
            "show and plot read a longer run at sampled steps"
        )


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
