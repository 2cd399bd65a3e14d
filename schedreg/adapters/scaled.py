"""Torch's own schedulers under schedreg: the object *is* an instance of torch's class.

:func:`adopt` turns a torch scheduler (``StepLR``, ``OneCycleLR``, ``SWALR``, a user's
``LRScheduler`` subclass) into an instance of a subclass of its own class that adds
schedreg's extras on top of torch's behaviour:

* a multiplier of the step (the warmup), written on top of torch's lr;
* param groups added to the optimizer later, each scheduled by a torch scheduler of its
  own brought to the current step;
* the run's checks (:class:`~schedreg.adapters.guards.Guards`): resume fingerprint, epochs,
  AMP-aware step order, never a negative or non-finite lr;
* ``OneCycleLR`` holds its final lr past ``total_steps`` instead of raising mid-run.

Without a warmup and added groups, ``step()`` is torch's own: two schedulers stepped back
to back on one optimizer chain exactly as torch's do, ``state_dict()`` holds torch's keys,
and the attributes (``T_max``, ``min_lrs``, ``base_lrs``) are torch's. schedreg's state
lives in a slot, outside the ``__dict__`` that torch's ``state_dict`` copies.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler, ReduceLROnPlateau

from schedreg.adapters.groups import (
    GroupView,
    as_float,
    base_lrs,
    check_base_lrs,
    checked,
    lr_values,
    python_lrs,
    set_group_value,
    short_repr,
)
from schedreg.adapters.guards import (
    MAX_STEP,
    Guards,
    check_kind,
    check_saved_groups,
    checked_state,
    saved_step,
    skipped_by_amp,
    track_optimizer_steps,
)
from schedreg.errors import ConfigError, config_error, failures_as_config_errors
from schedreg.schedules.core import Schedule

SCHEDREG_KEYS = (
    "fingerprint",
    "param_groups",
    "pending_groups",
    "schedule_step",
    "added_groups",
    "unscaled_lrs",
)
"""What :meth:`ScaledLR.state_dict` adds to torch's keys."""
TORCH_ARGUMENT_KEYS = ("args", "max_iter", "steps", "gamma", "base_lr_end")
"""Solver keys that reach a torch scheduler only as its constructor's arguments (``args``,
and the keys ``schedreg.builders.torch_builtins.DERIVED`` reads): a change of these alone is
no change of schedule where torch's state shows the same arguments (``T_max`` in ``args``
or from ``max_iter``)."""
NOT_SETTINGS = ("self", "optimizer", "last_epoch", "verbose")
"""Constructor parameters of torch's schedulers that are no setting of the schedule."""


def _at_end(scheduler: LRScheduler) -> bool:
    """Whether a scheduler of fixed length (``OneCycleLR``'s ``total_steps``) is at its
    last step, where torch raises on the next one."""
    total = getattr(scheduler, "total_steps", None)
    return total is not None and scheduler.last_epoch >= total - 1


def _start(scheduler: LRScheduler) -> int:
    """Where a freshly built torch scheduler stands: 0, or its ``last_epoch`` argument
    (torch's resume); ``ChainedScheduler`` keeps no count of its own."""
    return int(getattr(scheduler, "last_epoch", 0))


def _replay(scheduler: LRScheduler, step: int) -> None:
    """Bring a fresh torch scheduler to ``step`` by stepping it (a plateau one cannot be)."""
    if not isinstance(scheduler, ReduceLROnPlateau):
        for _ in range(step - _start(scheduler)):
            if not _at_end(scheduler):
                scheduler.step()


ROUNDING_FLOOR = 1e-15
"""The smallest negative lr taken as rounding error of zero, whatever the base lrs."""


def zero_if_rounding(lr: Any, optimizer: Optimizer) -> Any:
    """0.0 for a negative lr within rounding of zero (torch's recursive formulas land at
    -5e-19 instead of 0), judged against the largest base lr, or against 1e-15 when every
    base lr is tiny or 0 (a group of lr 0 still gets ``eta_min``, with its rounding);
    else ``lr`` as it is."""
    if not isinstance(lr, float) or lr >= 0.0:
        return lr
    scale = max((abs(as_float(b)) for b in base_lrs(optimizer)), default=0.0)
    return 0.0 if -max(1e-12 * scale, ROUNDING_FLOOR) <= lr else lr


@dataclass
class Extras:
    """schedreg's state beside torch's, in :attr:`ScaledLR._schedreg`.

    Attributes:
        schedule: the multiplier of the step (the warmup); None for none.
        make: builds a plain torch scheduler of the same config over a :class:`GroupView`
            (for groups added later, and to rebuild on resume).
        name: what to call the schedule in error messages.
        guards: the run's checks.
        step: the step the multiplier was taken at.
        multiplier: the multiplier last written.
        unscaled: torch's own lrs of the groups (before the multiplier), while it is not 1.
        covered: how many of the optimizer's groups torch's own machinery steps.
        added: the torch schedulers of groups added later, with their views.
    """

    schedule: Schedule | None
    make: Callable[[Optimizer], LRScheduler]
    name: str
    guards: Guards
    step: int = 0
    multiplier: float = 1.0
    unscaled: list[Any] | None = None
    covered: int = 0
    added: list[tuple[GroupView, LRScheduler]] = field(default_factory=list)


class ScaledLR(LRScheduler):
    """The base :func:`adopt` puts in front of a torch scheduler's class.

    ``isinstance(s, torch.optim.lr_scheduler.StepLR)`` holds, and so does every attribute
    and argument of torch's; ``step(*args)`` takes what torch's ``step`` takes (a metric for
    ``ReduceLROnPlateau``, torch's deprecated epoch). ``takes_metric`` says whether
    ``step`` wants a metric.
    """

    __slots__ = ("_schedreg",)
    _schedreg: Extras

    @property
    def takes_metric(self) -> bool:
        """Whether ``step`` wants a metric (``ReduceLROnPlateau``, or one like it)."""
        return isinstance(self, ReduceLROnPlateau) or bool(getattr(super(), "takes_metric", False))

    def step(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        """torch's step on torch's own lrs, then the multiplier on top. torch's deprecated
        ``step(epoch)`` takes a finite epoch only (torch would count steps from NaN)."""
        extras = self._schedreg
        guards = extras.guards
        if (
            guards.advance_on == "update"
            and getattr(self, "_step_count", 1) >= 1
            and guards.holds(self.optimizer)
        ):
            return
        if args or kwargs:  # the checks of torch's step(epoch); a plain step() skips them
            epoch = kwargs.get("epoch", args[0] if args and not self.takes_metric else None)
            if epoch is not None and not math.isfinite(as_float(epoch)):
                raise ConfigError(f"{extras.name}: step(epoch) takes a finite epoch, got {short_repr(epoch)}")
        if extras.unscaled is not None:
            self._unscale()
        if len(self.optimizer.param_groups) != extras.covered + len(extras.added):
            self._adopt_groups()
        self._torch_step(args, kwargs)
        for _, scheduler in extras.added:
            if not _at_end(scheduler):
                scheduler.step(*args, **kwargs)
        self._scale()
        extras.guards.check_epochs(extras.step)

    def _torch_step(self, args: tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None) -> None:
        """torch's own ``step`` over the groups it covers. At the first step, torch's
        step-order warning is spared when AMP's GradScaler skipped the optimizer's step."""
        extras, optimizer = self._schedreg, self.optimizer
        if _at_end(self):
            self.last_epoch += 1  # held at its final lr: torch would raise past total_steps
            self._step_count += 1
            extras.step = self.last_epoch
            return
        amp_skipped = getattr(self, "_step_count", None) == 1 and skipped_by_amp(optimizer)
        if amp_skipped:
            optimizer._opt_called = True  # type: ignore[attr-defined]
        if len(optimizer.param_groups) > extras.covered:  # torch's part: its own groups only
            _retarget(self, GroupView(optimizer, range(extras.covered)))
        try:
            super().step(*args, **(kwargs or {}))  # a user's lr_lambda may raise anything
        except (Exception, SystemExit) as exc:
            raise config_error(f"{extras.name} failed at step {extras.step + 1}", exc)  # noqa: B904 (its cause is set)
        finally:
            _retarget(self, optimizer)
            if amp_skipped:
                optimizer._opt_called = False  # type: ignore[attr-defined]
        extras.step = int(getattr(self, "last_epoch", extras.step + 1))

    def _adopt_groups(self) -> None:
        """Groups added since the last step get a torch scheduler of their own."""
        extras = self._schedreg
        if isinstance(self, ReduceLROnPlateau):
            extras.covered = len(self.optimizer.param_groups)  # torch's takes added groups itself
            return
        if getattr(self, "fixed_groups", False):
            raise ConfigError(
                f"{extras.name}: a param group was added to the optimizer after the scheduler was built, "
                "which this scheduler cannot schedule apart (its plateau reduces every group); build the "
                "optimizer with all its groups first"
            )
        known = extras.covered + sum(len(view.indices) for view, _ in extras.added)
        groups = self.optimizer.param_groups
        python_lrs(groups[known:])
        check_base_lrs([group["lr"] for group in groups[known:]], extras.name, first=known)
        for index in range(known, len(self.optimizer.param_groups)):
            view = GroupView(self.optimizer, [index])
            scheduler = extras.make(view)
            _replay(scheduler, extras.step)
            extras.added.append((view, scheduler))

    def _torch_lrs(self) -> list[tuple[dict[str, Any], Any]]:
        """Each group with the lr torch's schedulers left in it."""
        groups = self.optimizer.param_groups
        pairs = [(g, g["lr"]) for g in groups[: self._schedreg.covered]]
        for view, scheduler in self._schedreg.added:
            pairs.extend(zip(view.param_groups, scheduler.get_last_lr(), strict=True))
        return pairs

    def _unscale(self) -> None:
        """Hand torch back its own lrs (its recursive formulas read them). During a warmup an
        lr set from outside cannot be chained onto: it is reported, and overwritten."""
        extras = self._schedreg
        if extras.unscaled is not None:
            for group, lr in zip(self.optimizer.param_groups, extras.unscaled, strict=False):
                written = lr * extras.multiplier
                if not isinstance(lr, torch.Tensor) and group["lr"] != written:
                    extras.guards.outside_write(group, group["lr"], written)
                set_group_value(group, "lr", lr)
            extras.unscaled = None

    def _scale(self) -> None:
        """Check torch's lrs and multiply them by the schedule at the current step."""
        extras = self._schedreg
        if extras.schedule is None and not extras.added:
            for group in self.optimizer.param_groups:  # torch's own lrs: only checked
                lr = group["lr"]
                if lr.__class__ is not float or not 0.0 <= lr < math.inf:
                    self._check(group, lr)
            return
        multiplier = 1.0 if extras.schedule is None else extras.schedule(extras.step)
        checked(multiplier, extras.step, extras.name)
        unscaled = []
        for group, lr in self._torch_lrs():
            if lr.__class__ is float and 0.0 <= lr < math.inf:
                group["lr"] = lr * multiplier
            else:  # a Tensor lr (copied before it is written in place), or one to check
                lr = self._check(group, lr)
                lr = lr.clone() if isinstance(lr, torch.Tensor) else lr
                set_group_value(group, "lr", lr * multiplier)
            unscaled.append(lr)
        extras.unscaled = unscaled if multiplier != 1.0 else None
        self._last_lr = lr_values(self.optimizer.param_groups)
        extras.multiplier = multiplier

    def _check(self, group: dict[str, Any], lr: Any) -> Any:
        """``lr`` if it is finite and >= 0, or 0.0 for a rounding error below zero (written
        into ``group``); else a ConfigError."""
        value = zero_if_rounding(lr, self.optimizer)
        checked(value, self._schedreg.step, self._schedreg.name, "lr")
        if value is not lr:
            set_group_value(group, "lr", value)
            self._last_lr = lr_values(self.optimizer.param_groups)
        return value

    @property
    def has_closed_form(self) -> bool:
        """Whether torch's class computes any step's lrs directly (``_get_closed_form_lr``)."""
        form = getattr(type(self), "_get_closed_form_lr", None)
        return getattr(form, "__module__", "") == "torch.optim.lr_scheduler"

    def lrs_at(self, step: int) -> list[float | torch.Tensor]:
        """Every group's lr at ``step`` (computed, not written) by torch's closed form, times
        the warmup, checked as :meth:`step` checks what it writes; for a class that
        :attr:`has_closed_form`. It equals stepping up to rounding."""
        extras, saved = self._schedreg, self.last_epoch
        self.last_epoch = step
        try:
            with failures_as_config_errors(f"{extras.name} failed at step {step}"):  # gamma ** step overflows
                lrs = self._get_closed_form_lr()  # type: ignore[attr-defined]
                multiplier = (
                    1.0 if extras.schedule is None else checked(extras.schedule(step), step, extras.name)
                )
        finally:
            self.last_epoch = saved
        return [
            checked(zero_if_rounding(as_float(lr), self.optimizer), step, extras.name, "lr") * multiplier
            for lr in lrs
        ]

    def seek(self, step: int) -> None:
        """Bring this freshly built scheduler to ``step`` by replaying torch's steps."""
        self._unscale()
        if not isinstance(self, ReduceLROnPlateau):
            for _ in range(step - self._schedreg.step):
                self._torch_step()
        self._schedreg.step = step
        if isinstance(self, ReduceLROnPlateau):
            self.last_epoch = step  # counts steps as the others do: saved, it must match the step
        for _, scheduler in self._schedreg.added:
            _replay(scheduler, step)
        self._adopt_groups()
        self._scale()

    def state_dict(self) -> dict[str, Any]:
        """torch's state, with schedreg's fingerprint, added groups and unscaled lrs."""
        extras = self._schedreg
        state = {**super().state_dict(), "schedule_step": int(getattr(self, "last_epoch", extras.step))}
        if extras.added:
            state["added_groups"] = [
                {"groups": list(view.indices), "state": s.state_dict()} for view, s in extras.added
            ]
        if extras.unscaled is not None:
            state["unscaled_lrs"] = [float(lr) for lr in extras.unscaled]
        covered = extras.covered + sum(len(view.indices) for view, _ in extras.added)
        return extras.guards.stamp(state, covered, self.optimizer)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """torch's load, after the checks of the state (its values, its kind, its fingerprint);
        then the saved lrs are written into the groups, so that a resume without the
        optimizer's state is right too. torch's own state (no fingerprint) of the same class
        and settings loads: a drop-in user resuming a torch checkpoint."""
        owner = type(self).__name__
        state = checked_state(state_dict, owner)
        equivalent = TORCH_ARGUMENT_KEYS if self._same_arguments(state) else ()
        if self._schedreg.guards.checkpoint_schedule(state, self, equivalent):
            return
        extras = self._schedreg
        step = saved_step(state, owner) if "schedule_step" in state or "last_epoch" in state else None
        if extras.guards.rescheduled(state, self.optimizer, equivalent):
            self.seek(step or 0)
            return
        added = state.get("added_groups", [])
        covered = self._saved_coverage(state, [i for part in added for i in part["groups"]])
        if covered != extras.covered:  # torch's part covered fewer groups: rebuild it over those
            fresh = extras.make(GroupView(self.optimizer, range(covered)))
            self.__dict__.update({k: v for k, v in vars(fresh).items() if k != "optimizer"})
            _retarget(self, self.optimizer)
        own = super().state_dict()
        scheduled = self.optimizer.param_groups[: covered + len(added)]  # not those added since
        if "_last_lr" in own:  # schedreg's covers every group scheduled, the added ones too
            own["_last_lr"] = lr_values(scheduled)
        check_like(own, state, owner)  # the kind of each value first, then the settings' values
        check_settings(self, state, owner)
        _load_torch(own, super().load_state_dict, state, owner)
        extras.covered, extras.added = covered, []
        for part in added:
            view = GroupView(self.optimizer, part["groups"])
            scheduler = extras.make(view)
            _load_torch(
                scheduler.state_dict(), scheduler.load_state_dict, part["state"], type(scheduler).__name__
            )
            extras.added.append((view, scheduler))
        extras.step = extras.step if step is None else step
        extras.unscaled = state.get("unscaled_lrs")
        if extras.unscaled is None and extras.schedule is not None and extras.schedule(extras.step) != 1.0:
            raise ConfigError(
                f"the checkpoint's {owner} state lacks unscaled_lrs, which a state saved during the warmup "
                f"(step {extras.step}) holds; the checkpoint is damaged"
            )
        extras.multiplier = (
            1.0 if extras.unscaled is None or extras.schedule is None else extras.schedule(extras.step)
        )
        for group in self.optimizer.param_groups[len(scheduled) :]:  # added after the last step saved:
            if "initial_lr" in group:  # as they were added (this build wrote into them), to join next step
                set_group_value(group, "lr", group.pop("initial_lr"))
        last = getattr(self, "_last_lr", None)
        if last is not None and len(last) == len(scheduled):
            for group, lr in zip(scheduled, last, strict=True):
                set_group_value(group, "lr", lr)

    def _same_arguments(self, state: Mapping[str, Any]) -> bool:
        """Whether ``state`` holds every setting torch's constructor took, equal to this
        scheduler's (where torch keeps some under other names, it cannot tell: False)."""
        names = settings_of(type(self).__mro__[2])
        own = vars(self)
        return bool(names) and all(n in state and n in own and _equal(state[n], own[n]) for n in names)

    def _saved_coverage(self, state: Mapping[str, Any], added: list[int]) -> int:
        """How many groups torch's own state in ``state`` covers (its ``base_lrs``); the groups
        added later must follow them in order, and the unscaled lrs cover both."""
        has_lrs = "base_lrs" in state and not isinstance(self, ReduceLROnPlateau)
        stamped = state["param_groups"] - len(added) if isinstance(state.get("param_groups"), int) else None
        fallback = self._schedreg.covered if stamped is None else stamped  # a composite keeps no base_lrs
        covered = len(state["base_lrs"]) if has_lrs else added[0] if added else fallback
        if added != list(range(covered, covered + len(added))):
            raise ConfigError(
                f"the checkpoint's scheduler state is inconsistent: added_groups holds param groups {added}, "
                f"but torch's state covers {covered}, which groups added later follow in order "
                f"({list(range(covered, covered + len(added)))}); the checkpoint is damaged"
            )
        unscaled = state.get("unscaled_lrs")
        if unscaled is not None and len(unscaled) != covered + len(added):
            raise ConfigError(
                f"the checkpoint's scheduler state is inconsistent: {len(unscaled)} unscaled_lrs for "
                f"{covered + len(added)} scheduled param groups; the checkpoint is damaged"
            )
        saved_groups = state.get("param_groups")
        if saved_groups is not None and covered + len(added) != saved_groups:
            raise ConfigError(
                f"the checkpoint's scheduler state is inconsistent: it schedules {covered + len(added)} "
                f"param groups (base_lrs and added_groups), but was saved over {saved_groups}; the "
                "checkpoint is damaged"
            )
        check_saved_groups(self.optimizer, range(covered + len(added)))
        return covered

    def __reduce_ex__(self, protocol: Any) -> Any:
        """Pickle (and ``copy.deepcopy``) by torch's class, which is importable."""
        base = type(self).__mro__[2]
        return (_rebuild, (base, self.__dict__, self._schedreg))


def _as_saved(key: Any, fresh: Any, saved: Any) -> Any:
    """``fresh`` (a freshly built scheduler's ``key``) as a state saved by the same config
    holds it: torch's plateau extends its ``min_lrs`` to groups added later only when it
    next reduces, so a saved list may cover the first groups alone."""
    short = isinstance(fresh, list) and isinstance(saved, list) and len(saved) < len(fresh)
    return fresh[: len(saved)] if key == "min_lrs" and short else fresh


def _equal(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except (RuntimeError, TypeError, ValueError):  # Tensors of several values, say
        return False


LEGACY_KEYS = ("verbose", "anneal_func")
"""Keys older torch versions wrote (``OneCycleLR``'s ``anneal_func`` before 2.2), which
torch still loads."""


def _public(key: Any) -> bool:
    """A key of torch's state that is a setting or public state (``T_max``, ``base_lrs``),
    not an internal that torch versions add or drop (``_is_initial``, ``verbose``)."""
    return isinstance(key, str) and not key.startswith("_") and key not in (*SCHEDREG_KEYS, *LEGACY_KEYS)


def _load_torch(
    own: dict[str, Any], load: Callable[[dict[str, Any]], None], state: Mapping[str, Any], owner: str
) -> None:
    """torch's ``load`` of ``state`` (its keys but schedreg's), once ``state`` has the public
    keys ``own`` (the loading scheduler's state) has: a ``StepLR``'s ``step_size`` is refused
    by a ``CosineAnnealingLR``, which wants ``T_max``."""
    checked_state(state, owner)
    check_kind(state, owner, [k for k in own if _public(k)], ignored=[k for k in state if not _public(k)])
    check_like(own, state, owner)
    try:
        load({k: v for k, v in state.items() if k not in SCHEDREG_KEYS})
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        raise ConfigError(
            f"the checkpoint's {owner} state does not load into torch's {owner} ({exc!r}); the checkpoint "
            "is damaged"
        ) from exc


def settings_of(torch_class: type) -> list[str]:
    """The names of a torch scheduler class's constructor arguments (its settings), as its
    state keeps them."""
    params = inspect.signature(torch_class).parameters.values()
    return [
        p.name
        for p in params
        if p.name not in NOT_SETTINGS and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]


COUNTERS = {"cooldown_counter": 0, "num_bad_epochs": 0, "T_i": 1}
"""Counts in torch's states and their least values: ReduceLROnPlateau's, and the length of
CosineAnnealingWarmRestarts' current cycle (torch divides by it)."""


def check_settings(scheduler: LRScheduler, state: Mapping[str, Any], owner: str) -> None:
    """Refuse a state whose copy of a torch setting differs from the config's (torch's
    ``load_state_dict`` would silently run the saved one), the children's of a
    ``SequentialLR``/``ChainedScheduler`` too, or whose counter is negative."""
    own = vars(scheduler)
    torch_class = type(scheduler).__mro__[2] if isinstance(scheduler, ScaledLR) else type(scheduler)
    for name in [*settings_of(torch_class), *FIXED]:
        if (
            name in state
            and name in own
            and not callable(own[name])
            and not _equal(state[name], _as_saved(name, own[name], state[name]))
        ):
            raise ConfigError(
                f"the checkpoint's {owner} state has {name}={short_repr(state[name])} where the config gives "
                f"{short_repr(own[name])}; torch would run the saved one. Resume under the config the "
                "checkpoint was saved with, or set solver.on_resume_change: reschedule"
            )
    for name, least in COUNTERS.items():
        if name in state and isinstance(state[name], int) and state[name] < least:
            raise ConfigError(
                f"the checkpoint's {owner} state has {name}={state[name]}, a count below {least}"
            )
    children, saved = getattr(scheduler, "_schedulers", None), state.get("_schedulers")
    if isinstance(children, list) and isinstance(saved, list):
        for i, (child, part) in enumerate(zip(children, saved, strict=False)):
            if isinstance(part, Mapping):
                check_settings(child, part, f"{owner}._schedulers[{i}] ({type(child).__name__})")
    for name, inner in own.items():  # a scheduler kept inside (timm's plateau's torch plateau)
        if isinstance(inner, LRScheduler) and isinstance(state.get(name), Mapping):
            check_settings(inner, state[name], f"{owner}.{name} ({type(inner).__name__})")


def check_like(own: Mapping[str, Any], state: Mapping[str, Any], owner: str) -> None:
    """Refuse a saved torch state unlike ``own`` (a freshly built scheduler's) in kind."""
    if "_last_lr" in own and "_last_lr" not in state:
        raise ConfigError(
            f"the checkpoint's {owner} state lacks _last_lr (the lrs it wrote); the checkpoint is damaged"
        )
    groups = len(own.get("_last_lr") or own.get("lrs") or ())
    for key in own.keys() & state.keys() - set(SCHEDREG_KEYS):
        fresh = _as_saved(key, own[key], state[key])
        if fresh is None and key in LR_KEYS and isinstance(state[key], list):  # lrs kept only sometimes
            fresh = [0.0] * groups  # (timm's plateau's restore_lr): one per param group
        problem = _unlike(fresh, state[key], key in LR_KEYS, key)
        if problem:
            raise ConfigError(
                f"the checkpoint's {owner} state has {key}={short_repr(state[key])}, {problem}; the "
                "checkpoint is damaged, or from another config"
            )


FIXED = frozenset(
    {
        *("_schedule_phases", "_anneal_func_type", "use_beta1"),  # OneCycleLR's (and CyclicLR's use_beta1)
        *("total_size", "step_ratio", "max_lrs", "base_momentums", "max_momentums"),  # CyclicLR's
        *("min_lrs", "mode_worse", "default_min_lr"),  # ReduceLROnPlateau's
        "_milestones",  # SequentialLR's
    }
)
"""What torch derives once from its settings and its optimizer, and keeps under other names
(OneCycleLR's phases, CyclicLR's cycle size, the plateau's min_lrs, whether the optimizer
has betas): a saved value must equal the config's."""


LR_KEYS = frozenset({"_last_lr", "base_lrs", "min_lrs", "max_lrs", "unscaled_lrs", "restore_lr", "lrs"})
"""torch's state keys that hold lrs: each must be finite and >= 0."""


def _unlike(fresh: Any, saved: Any, lrs: bool = False, key: Any = None) -> str | None:
    """What makes ``saved`` unlike ``fresh`` (``key`` of a freshly built scheduler's state)
    in kind: a string for a number, a fraction or a huge number for a step or count, a list of
    another length, NaN, a Tensor of several values, a negative lr; None if they are alike.
    Values are not compared: a setting's value is the fingerprint's to judge, a state's is
    the run's."""
    if fresh is None and lrs and saved is not None:  # lrs kept only sometimes (timm's noise)
        return (
            _unlike([0.0] * len(saved), saved, lrs) if isinstance(saved, list) else "where lrs are expected"
        )
    if fresh is None or callable(fresh):
        return None
    if isinstance(fresh, bool):
        return None if isinstance(saved, bool) else "where a true/false is expected"
    if key in ("last_epoch", "_step_count", *COUNTERS) and (
        isinstance(saved, bool) or not isinstance(saved, int) or abs(saved) > MAX_STEP
    ):
        return "where an integer (at most 2**53) is expected"
    if isinstance(fresh, (int, float)):
        if isinstance(saved, bool) or not isinstance(saved, (int, float)):
            return "where a number is expected"
        value = as_float(saved)
        if value != value or (math.isfinite(as_float(fresh)) and not math.isfinite(value)):
            return "where a finite number is expected"
        return "where an lr >= 0 is expected" if lrs and saved < 0 else None
    if isinstance(fresh, str):
        return None if isinstance(saved, str) else "where a string is expected"
    if isinstance(fresh, torch.Tensor):
        alike = isinstance(saved, torch.Tensor) and saved.shape == fresh.shape
        return None if alike else f"where a Tensor of shape {tuple(fresh.shape)} is expected"
    if isinstance(fresh, Mapping):
        if not isinstance(saved, Mapping):
            return "where a mapping is expected"
        missing = sorted(map(str, fresh.keys() - saved.keys()))
        if missing:
            return f"which lacks {', '.join(missing)}"
        return next(
            (p for k in fresh.keys() & saved.keys() if (p := _unlike(fresh[k], saved[k], lrs, k))), None
        )
    if isinstance(fresh, (list, tuple)):
        if not isinstance(saved, (list, tuple)) or len(saved) != len(fresh):
            return f"where a list of {len(fresh)} is expected"
        return next((p for f, v in zip(fresh, saved, strict=True) if (p := _unlike(f, v, lrs))), None)
    return None


def _retarget(scheduler: LRScheduler, optimizer: Optimizer) -> None:
    """Point ``scheduler`` and the children of a ``SequentialLR``/``ChainedScheduler`` (which
    step the groups themselves) at ``optimizer``."""
    scheduler.optimizer = optimizer
    for child in getattr(scheduler, "_schedulers", ()):
        _retarget(child, optimizer)


def _rebuild(base: type[LRScheduler], state: dict[str, Any], extras: Extras) -> ScaledLR:
    scheduler: ScaledLR = object.__new__(scaled_class(base))
    scheduler.__dict__.update(state)
    scheduler._schedreg = extras
    return scheduler


_SCALED_CLASSES: dict[type, type[ScaledLR]] = {}


def scaled_class(base: type[LRScheduler]) -> type[ScaledLR]:
    """The subclass of ``base`` (a torch scheduler class) that :func:`adopt` gives; it
    bears ``base``'s names, so it prints, and reads in a traceback, as torch's class."""
    if base not in _SCALED_CLASSES:
        namespace = {"__slots__": (), "__module__": base.__module__, "__qualname__": base.__qualname__}
        _SCALED_CLASSES[base] = type(base.__name__, (ScaledLR, base), namespace)
    return _SCALED_CLASSES[base]


def adopt(
    scheduler: LRScheduler,
    make: Callable[[Optimizer], LRScheduler],
    schedule: Schedule | None = None,
    name: str = "schedule",
    guards: Guards | None = None,
) -> ScaledLR:
    """``scheduler``, as an instance of :func:`scaled_class` of its class, with the
    multiplier of its current step written on top.

    Args:
        scheduler: a torch scheduler just built (over the optimizer to schedule).
        make: builds the same torch scheduler over another optimizer (a view of groups
            added later).
        schedule: the multiplier (the warmup); none: 1.
        name: what to call the schedule in error messages.
        guards: the run's checks.
    """
    adopted = object.__new__(scaled_class(type(scheduler)))
    adopted.__dict__.update(scheduler.__dict__)
    adopted._schedreg = Extras(
        schedule=schedule,
        make=make,
        name=name,
        guards=guards or Guards(),
        step=_start(scheduler),
        covered=len(scheduler.optimizer.param_groups),
    )
    adopted._scale()
    track_optimizer_steps(scheduler.optimizer)  # for advance_on: update
    return adopted
