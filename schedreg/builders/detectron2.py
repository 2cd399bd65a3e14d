"""detectron2's schedules, numerically identical to ``detectron2.solver.build_lr_scheduler``.

Differences, all where detectron2 crashes or silently misbehaves:

* past ``max_iter`` the final value holds (detectron2 raises, or a cosine rises again);
* ``steps`` at or past ``max_iter`` are an error (detectron2 drops them with a log line,
  or raises deep inside fvcore for a step equal to ``max_iter``);
* ``warmup_iters >= max_iter`` is an error (detectron2's lr then *falls* during warmup);
* warmup methods ``exponential``, ``cosine`` and ``none`` are accepted too.
"""

from __future__ import annotations

from schedreg.builders.warmup import joined
from schedreg.config.solver import SolverConfig, reject_args
from schedreg.errors import ConfigError
from schedreg.registry import register_scheduler
from schedreg.schedules import detectron2 as fractional
from schedreg.schedules.core import Schedule
from schedreg.schedules.piecewise import PolyDecay, Stepwise

DETECTRON2_DEFAULTS = {"warmup_iters": 1000}
MAX_DECAYS = 10_000
"""More decays than this is not a step schedule (fvcore would tabulate every one)."""


def _with_warmup(main: fractional.FractionSchedule, solver: SolverConfig) -> Schedule:
    """detectron2's ``WarmupParamScheduler`` over ``max_iter`` steps: the warmup joined on
    the fraction of training, anchored to the main curve, with fvcore's tolerance."""
    reject_args(solver)
    warmed = joined(main, solver, anchored=True, margin=fractional.WHERE_EPSILON)
    return fractional.OverSteps(warmed, solver.max_iter)


@register_scheduler("WarmupMultiStepLR", defaults=DETECTRON2_DEFAULTS, own_warmup=True)
def warmup_multistep(solver: SolverConfig) -> Schedule:
    """lr = base_lr * gamma ** (number of ``steps`` passed), after warmup."""
    if "steps" not in solver.explicit and solver.clock != "step":
        raise ConfigError(
            f"{solver.path('steps')} is not set, and detectron2's default ({solver.steps[0]}) counts steps: "
            f"on {solver.path('clock')}={solver.clock!r} set the milestones in {solver.clock}"
        )
    late = [s for s in solver.steps if s >= solver.max_iter]
    if late:
        raise ConfigError(
            f"{solver.path('steps')} must all be smaller than {solver.path('max_iter')} "
            f"({solver.max_iter}), got {list(solver.steps)}"
        )
    try:
        values = tuple(solver.gamma**k for k in range(len(solver.steps) + 1))
    except OverflowError:
        values = (float("inf"),)
    if not values[-1] < float("inf"):
        raise ConfigError(
            f"{solver.path('gamma')} ** {len(solver.steps)} overflows, got gamma {solver.gamma}; "
            "gamma is the factor per milestone (0.1 divides the lr by 10)"
        )
    schedule = _with_warmup(fractional.MultiStep(values, solver.steps, solver.max_iter), solver)
    return Stepwise.of(schedule, start=solver.warmup_iters + 1, stop=solver.max_iter)


@register_scheduler("WarmupCosineLR", defaults=DETECTRON2_DEFAULTS, own_warmup=True)
def warmup_cosine(solver: SolverConfig) -> Schedule:
    """Half a cosine from base_lr to base_lr_end over ``max_iter``, after warmup."""
    end = solver.base_lr_end / solver.base_lr
    if end > 1.0:
        raise ConfigError(
            f"{solver.path('base_lr_end')} must be <= {solver.path('base_lr')} "
            f"({solver.base_lr}), got {solver.base_lr_end}"
        )
    return _with_warmup(fractional.Cosine(1.0, end), solver)


@register_scheduler("WarmupStepWithFixedGammaLR", defaults=DETECTRON2_DEFAULTS, own_warmup=True)
def warmup_step_with_fixed_gamma(solver: SolverConfig) -> Schedule:
    """``num_decays`` decays by ``gamma``, evenly spaced over ``max_iter``, after warmup."""
    if not solver.num_decays < min(solver.max_iter, MAX_DECAYS + 1):
        raise ConfigError(
            f"{solver.path('num_decays')} must be below {solver.path('max_iter')} ({solver.max_iter}) and at "
            f"most {MAX_DECAYS}, got {solver.num_decays}"
        )
    main = fractional.StepWithFixedGamma(1.0, solver.gamma, solver.num_decays)
    return Stepwise.of(_with_warmup(main, solver), start=solver.warmup_iters + 1, stop=solver.max_iter)


@register_scheduler("WarmupPolyLR", defaults=DETECTRON2_DEFAULTS)
def warmup_poly(solver: SolverConfig) -> Schedule:
    """DeepLab's poly decay, ``(1 - step / max_iter) ** poly_lr_power``.

    Floored at ``poly_lr_constant_ending``. Its warmup is the factory's multiplicative
    one, as in DeepLab's ``WarmupPolyLR``.
    """
    reject_args(solver)
    return PolyDecay(solver.max_iter, solver.poly_lr_power, solver.poly_lr_constant_ending)
