"""The whole lr curve of a configured schedule, at once, without an optimizer.

``lr_curve`` evaluates the schedule's closed form on every step in one vectorized pass:
a million steps take milliseconds, where stepping a scheduler takes seconds. Schedules
with no vectorized form (timm's, a third-party function) are evaluated step by step,
still without an optimizer; torch's own (recursive) schedulers are stepped.

Both are bounded, so that a typo in a step count is an error, never a hang or an
exhausted memory: :data:`MAX_CURVE_STEPS` steps in all, :data:`MAX_STEPPED_STEPS` one at
a time. :func:`lrs_at` reads a long run at chosen steps (``schedreg show``/``plot``).
"""

from __future__ import annotations

import collections
import dataclasses
import inspect
import math
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

from schedreg.adapters.grouped import GroupedLR
from schedreg.adapters.multiplier import AbsoluteLR, MultiplierLR
from schedreg.adapters.scaled import ScaledLR
from schedreg.config.parse import solver_config
from schedreg.errors import ConfigError
from schedreg.factory import build_from_solver
from schedreg.integrations.limits import MAX_CURVE_STEPS, MAX_STEPPED_STEPS
from schedreg.schedules.core import curve_of

LrsAt = Callable[[int], list[float]]
"""Every param group's lr at a step."""


def lr_curve(cfg: Any, num_steps: int, base_lr: float | None = None) -> torch.Tensor:
    """The lr at each iteration ``0 .. num_steps - 1`` of a param group whose base lr is
    ``base_lr`` (default: ``solver.base_lr``, the default group's), under the schedule
    ``cfg`` describes (its solver's own; rules for other param groups are not applied), in
    an optimizer whose default lr is ``solver.base_lr`` as :func:`~schedreg.build_optimizer`
    makes it. ``base_lr=1.0`` gives the multiplier.

    Equal to the lrs the scheduler writes, bit for bit except where torch's vectorized
    ``cos``/``pow`` round the last bit differently from Python's (1e-16 relative).
    A plateau schedule is previewed with a metric that never improves. At most
    :data:`MAX_CURVE_STEPS` steps, and :data:`MAX_STEPPED_STEPS` for a schedule evaluated
    one step at a time (torch's, timm's): more is a ConfigError, not a hang.

    >>> lr_curve({"lr_scheduler_name": "WarmupMultiStepLR", "max_iter": 6, "steps": [4],
    ...           "warmup_iters": 0}, 6, base_lr=0.1).tolist()
    [0.1, 0.1, 0.1, 0.1, 0.010000000000000002, 0.010000000000000002]
    """
    if isinstance(num_steps, bool) or not isinstance(num_steps, int) or num_steps < 0:
        raise ConfigError(f"num_steps must be an integer >= 0, got {num_steps!r}")
    if num_steps > MAX_CURVE_STEPS:
        raise ConfigError(
            f"num_steps must be at most {MAX_CURVE_STEPS} ({MAX_CURVE_STEPS * 8 // 10**6} MB of float64), "
            f"got {num_steps}; `schedreg show` and `schedreg plot` read a longer run at sampled steps"
        )
    if base_lr is None:
        base_lr = solver_config(cfg).base_lr
    if isinstance(base_lr, bool) or not isinstance(base_lr, (int, float)) or not 0 <= base_lr < math.inf:
        raise ConfigError(f"base_lr must be a finite number >= 0, got {base_lr!r}")
    scheduler, optimizer = preview_scheduler(cfg, base_lr)
    if isinstance(scheduler, MultiplierLR) and not isinstance(scheduler, AbsoluteLR):
        steps = torch.arange(num_steps, dtype=torch.float64)
        return curve_of(scheduler.schedule, steps).mul_(float(base_lr))  # curve_of's result is new
    if num_steps > MAX_STEPPED_STEPS:
        raise ConfigError(
            f"num_steps must be at most {MAX_STEPPED_STEPS} for {type(scheduler).__name__}, which is "
            f"evaluated one step at a time, got {num_steps}; `schedreg show` and `schedreg plot` read a "
            "longer run at sampled steps"
        )
    if isinstance(scheduler, AbsoluteLR):
        return torch.tensor([scheduler.lrs_at(step)[0] for step in range(num_steps)], dtype=torch.float64)
    return torch.tensor(stepped_lrs(scheduler, optimizer, num_steps)[0], dtype=torch.float64)


class PreviewSGD(Optimizer):
    """An SGD's param groups and defaults, without parameters or SGD's ``__init__`` (which
    imports torch's compiler, 2 s): what a torch scheduler reads and writes in a preview."""

    def __init__(self, lrs: list[float], lr: float) -> None:
        params = inspect.signature(torch.optim.SGD).parameters.values()
        defaults = {p.name: p.default for p in params if p.name != "params"}
        self.defaults = {**defaults, "lr": lr}
        self.param_groups = [{**self.defaults, "params": [], "lr": group_lr} for group_lr in lrs]
        self.state = collections.defaultdict(dict)
        for hooks in ("step", "state_dict", "load_state_dict"):  # what Optimizer's __init__ sets
            for when in ("pre", "post"):
                setattr(self, f"_optimizer_{hooks}_{when}_hooks", collections.OrderedDict())
        self._opt_called = True  # a preview steps no optimizer


def preview_scheduler(cfg: Any, base_lr: float) -> tuple[LRScheduler, Optimizer]:
    """The scheduler of ``cfg``'s own schedule over one param group at ``base_lr``, in an
    SGD whose default lr is ``solver.base_lr`` (schedules such as cosine_with_min_lr read
    their absolute values relative to it, as under :func:`~schedreg.build_optimizer`)."""
    solver = dataclasses.replace(solver_config(cfg), param_groups=(), param_schedules={})
    optimizer = PreviewSGD([float(base_lr)], solver.base_lr)
    return build_from_solver(solver, optimizer), optimizer


def stepping(
    scheduler: LRScheduler, optimizer: Optimizer, num_steps: int, improving: bool = False
) -> Iterator[int]:
    """Step ``scheduler`` ``num_steps`` times, yielding each iteration ``0 .. num_steps - 1``
    before its step (when the groups hold that iteration's values). A plateau scheduler's
    metric never improves, or, ``improving``, improves at every step. The optimizer itself
    is not stepped."""
    takes_metric = getattr(scheduler, "takes_metric", False)
    sign = -1.0 if _plateau_mode(scheduler) == "min" else 1.0
    optimizer._opt_called = True  # type: ignore[attr-defined]  # a preview steps no optimizer
    for step in range(num_steps):
        yield step
        metric = (sign * step if improving else 1.0,) if takes_metric else ()
        scheduler.step(*metric)


def stepped_lrs(
    scheduler: LRScheduler, optimizer: Optimizer, num_steps: int, improving: bool = False
) -> list[list[float]]:
    """Each group's lr at iterations ``0 .. num_steps - 1``, by :func:`stepping`."""
    lrs: list[list[float]] = [[] for _ in optimizer.param_groups]
    for _ in stepping(scheduler, optimizer, num_steps, improving):
        for out, group in zip(lrs, optimizer.param_groups, strict=True):
            out.append(float(group["lr"]))
    return lrs


def _plateau_mode(scheduler: Any) -> str:
    """Whether a plateau scheduler's metric improves going down (``min``) or up (``max``):
    torch's own, or the one inside (timm's plateau; a per-group scheduler's lanes)."""
    inner = [scheduler, getattr(scheduler, "plateau", None)]
    inner += [lane for *_, lane in getattr(scheduler, "lanes", ())]
    inner += [getattr(lane, "plateau", None) for *_, lane in getattr(scheduler, "lanes", ())]
    return next((m for s in inner if (m := getattr(s, "mode", None)) in ("min", "max")), "min")


def lrs_at(
    scheduler: LRScheduler, optimizer: Optimizer, last: int, key: str = "num_steps", improving: bool = False
) -> tuple[LrsAt, str | None]:
    """A function giving every group's lr at any step ``0 .. last`` of a fresh ``scheduler``
    over ``optimizer``, and a note where its values are not what stepping writes. A
    plateau scheduler's metric improves at every step if ``improving``, else never.

    schedreg's own schedulers compute any step exactly, in O(1). Others are stepped once
    through ``last``, up to :data:`MAX_STEPPED_STEPS`; past that, torch's schedulers that
    have a closed form (``StepLR``, ``MultiStepLR``, ``ExponentialLR``, ``CosineAnnealingLR``,
    ``LinearLR``, ``ConstantLR``, ``PolynomialLR``) are evaluated by it, equal to stepping up
    to rounding, and any other is a ConfigError naming ``key`` (the run's length).
    """
    lanes = (
        [(list(view.indices), lane) for _, view, lane in scheduler.lanes]
        if isinstance(scheduler, GroupedLR)
        else [(list(range(len(optimizer.param_groups))), scheduler)]
    )
    torch_lanes = sorted({type(lane).__name__ for _, lane in lanes if not isinstance(lane, MultiplierLR)})
    if torch_lanes and last <= MAX_STEPPED_STEPS:
        table = stepped_lrs(scheduler, optimizer, last + 1, improving)
        return (lambda step: [lrs[step] for lrs in table]), None
    parts: list[tuple[list[int], Callable[[int], list[Any]]]] = []
    for indices, lane in lanes:
        if not (isinstance(lane, MultiplierLR) or (isinstance(lane, ScaledLR) and lane.has_closed_form)):
            raise ConfigError(
                f"{key} must be at most {MAX_STEPPED_STEPS} to preview {type(lane).__name__}, which has "
                f"no closed form and is stepped one step at a time (about 10 s a million), got {last}"
            )
        parts.append((indices, lane.lrs_at))
    size = len(optimizer.param_groups)

    def at(step: int) -> list[float]:
        out = [0.0] * size
        for indices, lane_at in parts:
            for index, lr in zip(indices, lane_at(step), strict=True):
                out[index] = float(lr)
        return out

    note = None
    if torch_lanes:
        note = (
            f"{', '.join(torch_lanes)}: lrs by torch's closed form, equal to stepping up to rounding "
            f"(stepping {last} steps is past the {MAX_STEPPED_STEPS}-step limit)"
        )
    return at, note
