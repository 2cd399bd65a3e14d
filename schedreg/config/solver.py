"""The solver node: its keys, their types, defaults and docs (:class:`SolverConfig`, the one
declaration), the groups they fall in, and what identifies a schedule (its fingerprint)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from schedreg.config.units import Units
from schedreg.errors import ConfigError
from schedreg.schedules.clock import Clock
from schedreg.schedules.cooldown import Branch
from schedreg.schedules.ramp import BatchRamp

DETECTRON2_OTHER_KEYS = ("amp",)
"""detectron2 SOLVER keys schedreg does not use; accepted and kept as-is."""

CLIP_DEFAULTS: dict[str, Any] = {"enabled": False, "clip_type": "value", "clip_value": 1.0, "norm_type": 2.0}
"""detectron2's ``SOLVER.CLIP_GRADIENTS`` defaults."""


@dataclass(frozen=True)
class GroupRule:
    """One entry of ``solver.param_groups``: which parameters, and what they override.

    A parameter joins the first rule it matches: every pattern in ``params`` (a glob over
    the full parameter name, or ``re:`` and a regex searched in it) and every class name in
    ``module_types`` of its module (``norm`` stands for every normalisation layer) must
    allow it; an empty list allows all.
    """

    name: str
    path: str
    params: tuple[str, ...] = ()
    module_types: tuple[str, ...] = ()
    lr_factor: float | None = None
    lr: float | None = None
    weight_decay: float | None = None
    optional: bool = False
    schedule: SolverConfig | None = None


def key(default: Any, doc: str, *, factory: Callable[[], Any] | None = None) -> Any:
    """A solver key's field: its default and its one-line doc (the README table's)."""
    if factory is not None:
        return field(default_factory=factory, metadata={"doc": doc})
    return field(default=default, metadata={"doc": doc})


@dataclass(frozen=True)
class SolverConfig:
    """A validated solver node: the one declaration of the solver keys, their types,
    defaults and docs. Python validation reads it, Hydra's schema
    (:mod:`schedreg.config.schema`) and the README's table are made from it.

    Defaults are detectron2's ``_C.SOLVER`` defaults. A key in :data:`UNSET_BY_DEFAULT`
    left out (or ``null``) is unset: the chosen scheduler's default replaces the value here
    (detectron2's schedules warm up for 1000 iterations, transformers' from 0), and it
    fills no torch or timm argument."""

    lr_scheduler_name: str = key("WarmupMultiStepLR", "the registered schedule to build")
    base_lr: float = key(0.001, "the optimizer's lr (each group's base lr)")
    base_lr_end: float = key(0.0, "where a cosine ends; torch's eta_min, timm's lr_min")
    max_iter: int = key(40000, "the run's length in steps; torch's T_max/total_iters, timm's t_initial")
    steps: tuple[int, ...] = key((30000,), "milestones, in steps; torch's milestones, timm's decay_t")
    gamma: float = key(0.1, "the factor per milestone; torch's gamma, timm's decay_rate")
    num_decays: int = key(3, "WarmupStepWithFixedGammaLR's number of decays")
    warmup_factor: float = key(0.001, "where warmup starts, times the lr (solver.warmup.factor)")
    warmup_iters: int = key(0, "warmup's length in steps (1000 for detectron2's schedules)")
    warmup_method: str = key("linear", "warmup's shape: none, constant, linear, exponential, cosine")
    rescale_interval: bool = key(False, "detectron2's: squeeze the main curve into the steps after warmup")
    poly_lr_power: float = key(0.9, "WarmupPolyLR's power")
    poly_lr_constant_ending: float = key(0.0, "WarmupPolyLR's floor")
    args: Mapping[str, Any] = key(None, "the scheduler's own arguments, by its names", factory=dict)
    optimizer: str = key("SGD", "the torch.optim class build_optimizer makes")
    optimizer_args: Mapping[str, Any] = key(None, "the optimizer's other arguments", factory=dict)
    momentum: float = key(0.9, "SGD's momentum")
    nesterov: bool = key(False, "SGD's nesterov")
    weight_decay: float = key(0.0001, "weight decay")
    weight_decay_norm: float | None = key(0.0, "weight decay of norm layers (null: weight_decay)")
    weight_decay_bias: float | None = key(None, "weight decay of biases (null: weight_decay)")
    bias_lr_factor: float = key(1.0, "biases train at base_lr times this")
    clip_gradients: Mapping[str, Any] = key(
        None, "detectron2's gradient clipping node", factory=lambda: dict(CLIP_DEFAULTS)
    )
    param_groups: tuple[GroupRule, ...] = key((), "rules: which parameters get which lr, decay, schedule")
    param_schedules: Mapping[str, SolverConfig] = key(
        None, "schedules of other group keys (momentum, betas[0], weight_decay)", factory=dict
    )
    lr_as_tensor: bool = key(False, "keep each group's lr a Tensor (compiled optimizers)")
    on_resume_change: str = key(
        "error", "a checkpoint of another schedule: error, reschedule (override) or use_checkpoint"
    )
    advance_on: str = key("step", "step: every scheduler.step() advances; update: only after an update")
    cooldown: Branch | None = key(  # noqa: RUF009 (a frozen dataclass, or None)
        None, "a cooldown from any step: start, length, shape (linear, cosine, 1-sqrt), to or to_lr"
    )
    ims_per_batch: int = key(16, "detectron2's global batch size")
    reference_world_size: int = key(0, "the world size the schedule was written for (0: off)")
    checkpoint_period: int = key(5000, "detectron2's checkpoint period, in steps")
    interval: str = key("iter", "what plain durations count: iter or epoch")
    iters_per_epoch: int | None = key(None, "iterations per epoch, to convert epochs exactly")
    tokens_per_step: int | None = key(
        None, "tokens one step consumes (the global batch), for durations in tok"
    )
    samples_per_step: int | None = key(
        None, "samples one step consumes (the global batch), for durations in sp"
    )
    clock: str = key("step", "what the schedule counts: step, tokens or samples (step(tokens=...))")
    tokens_per_sample: int | None = key(None, "tokens in one sample (the sequence length)")
    batch_size_schedule: BatchRamp | None = key(  # noqa: RUF009 (a frozen dataclass, or None)
        None, "a batch-size ramp, '0:768 250B:1536' (threshold:size); needs clock tokens or samples"
    )
    batch_size_rescale: str = key("none", "the lr at each batch size of the ramp: none, linear or sqrt")
    other: Mapping[str, Any] = field(default_factory=dict)
    explicit: frozenset[str] = frozenset()
    prefix: str = "solver"
    upper: bool = False
    spelled: Mapping[str, str] = field(default_factory=dict)
    peer: str = ""
    """The library whose config this node was read from (``deepspeed``), whose names it
    resolves among; empty for schedreg's own."""
    units_keys: tuple[str, ...] = ()
    """The paths of ``interval`` and ``iters_per_epoch`` where a nested node's are set (its
    root's); empty for a root, whose own they are."""

    def path(self, key: str) -> str:
        """``key``'s full path as the user wrote it: ``solver.steps``, ``SOLVER.STEPS`` or
        ``solver.warmup.method``."""
        if self.spelled.get(key) == "":  # a peer's node holds these keys itself (composer's arguments)
            return self.prefix
        return f"{self.prefix}.{self.spelled.get(key) or (key.upper() if self.upper else key)}"

    @property
    def units(self) -> Units:
        """How this node's durations were read (and what one ``scheduler.step()`` is)."""
        interval_key, per_epoch_key = self.units_keys or (self.path("interval"), self.path("iters_per_epoch"))
        return Units(
            self.interval,
            self.iters_per_epoch,
            interval_key,
            per_epoch_key,
            tokens_per_step=self.tokens_per_step,
            samples_per_step=self.samples_per_step,
            clock=self.clock,
            tokens_per_sample=self.tokens_per_sample,
            ramped=self.batch_size_schedule is not None,
        )

    @property
    def stepping(self) -> Clock:
        """How far a ``scheduler.step()`` moves this (resolved) node's schedule: one step, or
        on a token or sample clock what the update consumed (:class:`Clock`)."""
        ramp = self.batch_size_schedule
        units = self.units
        return Clock(self.clock, units.per_step, ramp, self.tokens_per_sample, units.batch)

    def with_defaults(self, defaults: Mapping[str, Any]) -> SolverConfig:
        """A copy where ``defaults`` replace the values of keys the user did not set."""
        unset = {k: v for k, v in defaults.items() if k not in self.explicit}
        return dataclasses.replace(self, **unset) if unset else self


SCHEDULE_KEYS = (
    "lr_scheduler_name",
    "base_lr",
    "base_lr_end",
    "max_iter",
    "steps",
    "gamma",
    "num_decays",
    "warmup_factor",
    "warmup_iters",
    "warmup_method",
    "rescale_interval",
    "poly_lr_power",
    "poly_lr_constant_ending",
    "args",
)
"""The keys that shape one schedule: a param-group rule or ``param_schedules`` entry may set them."""
OPTIMIZER_KEYS = (
    "optimizer",
    "optimizer_args",
    "momentum",
    "nesterov",
    "weight_decay",
    "weight_decay_norm",
    "weight_decay_bias",
    "bias_lr_factor",
    "clip_gradients",
    "param_groups",
    "param_schedules",
    "lr_as_tensor",
)
"""The keys that shape the optimizer and its param groups."""
RUN_KEYS = (
    "interval",
    "iters_per_epoch",
    "tokens_per_step",
    "samples_per_step",
    "clock",
    "tokens_per_sample",
    "batch_size_schedule",
    "batch_size_rescale",
    "ims_per_batch",
    "reference_world_size",
    "checkpoint_period",
    "on_resume_change",
    "advance_on",
    "cooldown",
)
"""How the run steps the scheduler, detectron2's keys for the batch and world size the
schedule was written for, and a cooldown branched off the run."""
UNSET_BY_DEFAULT = (
    "max_iter",
    "steps",
    "gamma",
    "base_lr_end",
    "warmup_iters",
    "warmup_method",
    "warmup_factor",
    "interval",
    "iters_per_epoch",
)
"""Keys whose default depends on the scheduler, or that fill another library's arguments
(``steps`` -> torch's ``milestones``) only when set. Left out or ``null``, they are unset on
every route (a dict, a yacs node, Hydra's schema): the chosen scheduler's default applies
(:attr:`Entry.defaults <schedreg.registry.Entry.defaults>`), else :class:`SolverConfig`'s."""
DURATION_KEYS = ("max_iter", "steps", "warmup_iters", "checkpoint_period")
"""Solver keys in scheduler steps, which also take units (:mod:`schedreg.units`)."""
RULE_KEYS = ("name", "params", "module_types", "lr_factor", "lr", "weight_decay", "optional")


def schedule_identity(solver: SolverConfig) -> tuple[Any, ...]:
    """What makes two solver nodes the same schedule."""
    return tuple(repr(getattr(solver, k)) for k in SCHEDULE_KEYS)


def fingerprint(solver: SolverConfig) -> dict[str, str]:
    """The resolved schedule, key by key, as plain strings: saved with a scheduler's state so
    that resuming under a changed schedule is noticed. Besides the schedule's keys it holds
    what else sets the groups' lrs (``bias_lr_factor``: a bias group's base lr is saved in
    the state, so a new factor would be silently dropped). Values are reprs as written: the
    guard compares what they spell, so ``1`` and ``1.0`` or another key order are equal."""
    out = {k: repr(getattr(solver, k)) for k in SCHEDULE_KEYS}
    out["bias_lr_factor"] = repr(solver.bias_lr_factor)
    out["param_groups"] = repr(
        [
            (
                r.name,
                r.params,
                r.module_types,
                r.lr_factor,
                r.lr,
                r.weight_decay,
                r.schedule and schedule_identity(r.schedule),
            )
            for r in solver.param_groups
        ]
    )
    out["param_schedules"] = repr({k: schedule_identity(v) for k, v in solver.param_schedules.items()})
    out["step_unit"] = solver.units.step_unit
    out["clock"] = solver.clock
    out["batch_size_schedule"] = repr(solver.batch_size_schedule)
    out["batch_size_rescale"] = solver.batch_size_rescale
    out["cooldown"] = repr(solver.cooldown)
    out["cooldown_start"] = repr(solver.cooldown and solver.cooldown.start)
    return out


WARMUP_NODE_KEYS = ("method", "factor")
"""Keys of the nested spelling ``warmup: {method, factor}`` of ``warmup_method``/``warmup_factor``
(the length stays the flat ``warmup_iters``)."""


def reject_args(solver: SolverConfig) -> None:
    """For schedules configured by solver keys only, where ``args`` would be ignored."""
    if solver.args:
        raise ConfigError(
            f"{solver.path('args')} is not read by {solver.lr_scheduler_name}, got {dict(solver.args)}; "
            "set its solver keys instead"
        )
