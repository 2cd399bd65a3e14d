"""What a scheduler checks besides its schedule, as one collaborator given at construction.

:class:`Guards` holds the run's checks and their state; every scheduler of schedreg calls it
at the same points (its first ``step()``, each write, ``state_dict``/``load_state_dict``):

* **resume** -- the schedule's fingerprint (and the solver node it was built from) travels
  with the state; a state saved under a different schedule is refused, listing what differs,
  rescheduled from the saved step (``on_resume_change: reschedule``), or rebuilt under the
  checkpoint's own schedule (``use_checkpoint``); a state over another number of param groups is refused;
  a state that is no dict, or whose keys hold values no scheduler writes, is refused where it
  enters (:func:`checked_state`), and so is one another kind of scheduler wrote (:func:`check_kind`);
* **epochs** -- a schedule declared in epochs stepped past its end warns once (the mark of
  stepping a per-epoch schedule every iteration);
* **step order** -- torch's warning for ``scheduler.step()`` before the first
  ``optimizer.step()``, except when AMP's GradScaler skipped that step (pytorch#44511);
* **outside writes** -- a group's lr changed outside the scheduler is reported once (it is
  overwritten at the next step).
"""

from __future__ import annotations

import ast
import copy
import math
import numbers
import operator
import warnings
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch.optim import Optimizer

from schedreg.adapters.groups import GroupView, as_float, short_repr
from schedreg.errors import ConfigError
from schedreg.schedules.clock import Clock

FINGERPRINT_DEFAULTS: dict[str, str | None] = {
    **{"step_unit": "iter", "bias_lr_factor": None, "schedule": None},
    **{"cooldown": "None", "cooldown_start": "None"},
    **{"clock": "step", "batch_size_schedule": "None", "batch_size_rescale": "none"},
    "optimizer_warmup": None,
}
"""Fingerprint keys that older checkpoints lack, with the value they implied (None: not
recorded then, so not compared: an old run may have used any value)."""

BEYOND_THE_SCHEDULE = (
    "bias_lr_factor",
    "param_groups",
    "param_schedules",
    "step_unit",
    "cooldown",
    "cooldown_start",
    "clock",
    "batch_size_schedule",
    "batch_size_rescale",
    "optimizer_warmup",
)
"""Fingerprint keys that shape more than a pure schedule's multiplier (the groups' base lrs,
the groups, other keys' schedules, what a step is, how far it goes): compared even where the
schedule built is the same."""

RESCHEDULE = ("reschedule", "override")
"""The resume policies where the config wins (``override`` is Megatron's name for it)."""
USE_CHECKPOINT = "use_checkpoint"
"""The resume policy where the checkpoint's schedule wins (Megatron's
``use_checkpoint_opt_param_scheduler``)."""

STAMP_KEYS = ("fingerprint", "param_groups", "pending_groups", "solver", "held")
"""What :meth:`Guards.stamp` adds to a scheduler's own state."""

_LR = operator.itemgetter("lr")


@dataclass
class Guards:
    """The checks of one scheduler (the factory fills them from the config; a scheduler
    built by hand gets the order and outside-write checks only).

    Attributes:
        fingerprint: the resolved schedule, key by key (None: resume is not checked).
        on_resume_change: ``"error"``, or ``"reschedule"`` (alias ``"override"``).
        epochs: the schedule's length in epochs, when it is stepped once per epoch.
        epoch_keys: the keys the epoch warning names.
        advance_on: ``"step"`` (every ``scheduler.step()`` advances) or ``"update"`` (only
            one after an optimizer update: an update AMP's GradScaler skipped, or the extra
            calls of a loop that steps per micro-batch or per process, leave it where it is).
        clock: how far a ``step()`` goes (:class:`~schedreg.schedules.clock.Clock`): one
            step, or the tokens or samples consumed.
        source: the solver node the scheduler was built from, as plain data (saved with the
            state, for ``use_checkpoint``); None where it holds other objects.
        rebuild: builds a scheduler from a saved ``source`` over an optimizer (the factory's).
        policy_key: where the config sets ``on_resume_change`` (a peer's own flag), for messages.
    """

    fingerprint: dict[str, str] | None = None
    on_resume_change: str = "error"
    epochs: int | None = None
    epoch_keys: tuple[str, str] = ("solver.max_iter", "solver.iters_per_epoch")
    warned_outside: bool = False
    advance_on: str = "step"
    updates_seen: int = 0
    held: int = 0
    clock: Clock = field(default_factory=Clock)
    source: dict[str, Any] | None = None
    rebuild: Callable[[Mapping[str, Any], Optimizer], Any] | None = None
    policy_key: str = "solver.on_resume_change"

    def moved(
        self, optimizer: Optimizer, position: int, owner: str, tokens: Any = None, samples: Any = None
    ) -> int | None:
        """How far this ``step()`` moves the schedule from ``position``: one step, or on a
        token or sample clock what the update consumed (:meth:`Clock.advance
        <schedreg.schedules.clock.Clock.advance>`), with what held calls counted since the last
        advance; None where it holds (:meth:`holds`). A plain step on the step clock asks
        neither the clock nor, without ``advance_on: update``, the optimizer: it runs every
        iteration of a training loop."""
        plain = tokens is None and samples is None
        moved = (
            1 if plain and self.clock.unit == "step" else self.clock.advance(position, owner, tokens, samples)
        )
        if self.advance_on != "update":
            return moved
        if self.holds(optimizer, 0 if plain else moved):
            return None
        held, self.held = self.held, 0
        return moved + held

    def holds(self, optimizer: Optimizer, counted: int = 0) -> bool:
        """Whether this ``step()`` is to leave the schedule where it is: ``advance_on:
        update``, and no optimizer update since the schedule last advanced. What a held call
        says it ``counted`` (the tokens of a micro-batch) waits for the next advance
        (:meth:`moved`)."""
        if self.advance_on != "update":
            return False
        updates = getattr(optimizer, "_schedreg_updates", 0)
        if updates == self.updates_seen:
            self.held += counted
            return True
        self.updates_seen = updates
        return False

    # --- resume ------------------------------------------------------------------------

    def check_held(self, state: Mapping[str, Any]) -> None:
        """Refuse a state holding counts of calls held between updates where this config
        holds none (the step clock, or ``advance_on: step``): they would be lost, or counted
        at a later update."""
        held = state.get("held", 0)
        if held and (self.clock.unit == "step" or self.advance_on != "update"):
            raise ConfigError(
                f"the checkpoint holds held={held}, what calls between two updates counted (advance_on: "
                f"update, on a token or sample clock); this config (clock {self.clock.unit}, advance_on "
                f"{self.advance_on}) would lose them: resume on the clock and advance_on it was saved with"
            )

    def resume_held(self, state: Mapping[str, Any]) -> None:
        """After a state loaded: what its held calls had counted, to add at the next update."""
        self.held = int(state.get("held", 0))

    def stamp(self, state: dict[str, Any], covered: int, optimizer: Optimizer) -> dict[str, Any]:
        """``state`` with the fingerprint, the number of param groups it covers, and how many
        more the optimizer held (added since the last step, they join at the next: a resume
        needs them too)."""
        if self.fingerprint is None:
            return state
        pending = len(optimizer.param_groups) - covered
        extra: dict[str, Any] = {"pending_groups": pending} if pending > 0 else {}
        if self.source is not None:
            extra["solver"] = copy.deepcopy(self.source)  # the caller's to change
        if self.held:
            extra["held"] = self.held  # a checkpoint between micro-batches: their tokens so far
        return {**state, "fingerprint": dict(self.fingerprint), "param_groups": covered, **extra}

    def rescheduled(
        self, state: Mapping[str, Any], optimizer: Optimizer, equivalent: Collection[str] = ()
    ) -> bool:
        """Whether ``state`` was saved under another schedule and is to be rescheduled (and
        the counts its held calls had made, restored).

        Values are compared as what they spell (:func:`canonical`), so a key order or ``1``
        for ``1.0`` is no change; a change of the keys in ``equivalent`` alone is none either
        (the caller found that they resolve to the same schedule), nor one of the schedule's
        keys where both built the same pure schedule (an argument's default written out). A
        state saved over another number of param groups is refused either way: which saved
        group is which would be a guess (torch's optimizers refuse it too).
        """
        self.check_held(state)
        saved_groups, groups = state.get("param_groups"), len(optimizer.param_groups)
        if saved_groups is not None and saved_groups + state.get("pending_groups", 0) != groups:
            raise other_groups(saved_groups + state.get("pending_groups", 0), groups)
        changed = self.changes(state, equivalent)
        if not changed:
            return False
        self.check_clock(state)
        if self.on_resume_change not in RESCHEDULE and _warmup_only(changed):
            raise ConfigError(
                f"the checkpoint's schedule-free optimizer was given another warmup ({changed}): its "
                "averaging has run with that one; resume with the warmup it was saved with "
                f"(solver.warmup_iters), or set {self.policy_key}: reschedule"
            )
        if self.on_resume_change not in RESCHEDULE:
            raise ConfigError(
                f"the checkpoint was saved under a different schedule ({changed}); set {self.policy_key}: "
                "reschedule to run the new schedule from the saved step, or use_checkpoint to run the "
                "checkpoint's"
            )
        warnings.warn(
            f"resuming under a changed schedule ({changed}): {self.policy_key} is "
            f"{self.on_resume_change}, so the new schedule runs from the saved step",
            UserWarning,
            stacklevel=3,
        )
        return True

    def changes(
        self, state: Mapping[str, Any], equivalent: Collection[str] = (), branches: bool = True
    ) -> str:
        """What differs between the schedule ``state`` was saved under and this one, in words
        (``steps: (600,) -> (500,)``); empty where nothing does (see :meth:`rescheduled`). A
        changed cooldown is a branch, no change, where ``branches`` (and :meth:`check_branch`
        allows it)."""
        saved, now = state.get("fingerprint"), self.fingerprint
        if saved is None or now is None or saved == now:
            return ""
        saved = {**FINGERPRINT_DEFAULTS, **saved}
        unknown = {key for key, value in saved.items() if value is None}  # older releases did not record it
        changed = [
            key
            for key in sorted((set(saved) | set(now)) - unknown)
            if canonical(saved.get(key)) != canonical(now.get(key))
        ]
        if saved.get("schedule") is not None and canonical(saved.get("schedule")) == canonical(
            now.get("schedule")
        ):
            changed = [
                key for key in changed if key in BEYOND_THE_SCHEDULE
            ]  # written otherwise, built the same
        if "cooldown" in changed and branches:
            self.check_branch(saved, now, saved_step(state, "the checkpoint"))
            changed = [key for key in changed if key not in ("cooldown", "cooldown_start")]
        if not changed or set(changed) <= set(equivalent):
            return ""
        said = [key for key in changed if key != "schedule"] or changed  # the keys say it shorter
        return "; ".join(f"{key}: {saved.get(key)} -> {now.get(key)}" for key in said)

    def checkpoint_schedule(
        self, state: Mapping[str, Any], scheduler: Any, equivalent: Collection[str] = ()
    ) -> bool:
        """Under ``use_checkpoint``, where ``state`` was saved under another schedule: load it
        into the scheduler the checkpoint's own solver node builds over the optimizer (its
        schedule, clock and checks) and make ``scheduler`` that one, keeping this run's resume
        policy; True where it did (the load is done). All or nothing: where the node is
        missing, does not build the checkpoint's fingerprint, needs another kind of scheduler,
        or the state does not load into it, the scheduler and the optimizer's groups are left
        as they were and a ConfigError says why."""
        if self.on_resume_change != USE_CHECKPOINT or self.rebuild is None:
            return False
        changed = self.changes(state, equivalent, branches=False)
        if not changed:
            return False
        source = state.get("solver")
        if source is None:
            raise ConfigError(
                f"{self.policy_key} is use_checkpoint, but the checkpoint holds no schedule to use (it was "
                f"saved by an older schedreg, or from a config holding other objects); its schedule differs "
                f"({changed}): resume under the config it was saved with, or set reschedule"
            )
        groups = scheduler.optimizer.param_groups
        kept = [_group_values(group) for group in groups]
        try:
            built = self._checkpoints(source, scheduler, state, changed)
        except BaseException:
            for group, values in zip(groups, kept, strict=True):
                _restore_group(group, values)
            raise
        guards = guards_of(built)
        guards.on_resume_change, guards.rebuild, guards.policy_key = (
            USE_CHECKPOINT,
            self.rebuild,
            self.policy_key,
        )
        warnings.warn(
            f"resuming under the checkpoint's schedule ({changed}): {self.policy_key} is use_checkpoint, so "
            "the config's changes are not used",
            UserWarning,
            stacklevel=3,
        )
        become(scheduler, built)
        return True

    def _checkpoints(self, source: Any, scheduler: Any, state: Mapping[str, Any], changed: str) -> Any:
        """The scheduler ``source`` builds over ``scheduler``'s optimizer, ``state`` loaded."""
        assert self.rebuild is not None
        try:
            built = self.rebuild(source, scheduler.optimizer)
        except ConfigError as exc:
            raise ConfigError(f"the checkpoint's own schedule does not build: {exc}") from exc
        if type(built) is not type(scheduler):
            raise ConfigError(
                f"the checkpoint's schedule is a {type(built).__name__}, this config's a "
                f"{type(scheduler).__name__} ({changed}): build the scheduler from the checkpoint's solver "
                "node, schedreg.build_lr_scheduler(schedreg.saved_solver(state), optimizer)"
            )
        guards = guards_of(built)
        mismatch = guards.changes(state, branches=False)
        if _warmup_only(mismatch):
            raise ConfigError(
                f"the checkpoint's schedule gives the optimizer another warmup than it was saved with "
                f"({mismatch}): it was saved with another optimizer (schedule-free or not); resume with "
                "that one"
            )
        if mismatch:
            raise ConfigError(
                "the checkpoint's solver node does not build the schedule its fingerprint records "
                f"({mismatch}): the checkpoint is damaged"
            )
        guards.on_resume_change = "error"  # the state is its own: nothing to reschedule
        built.load_state_dict(state)
        return built

    def check_clock(self, state: Mapping[str, Any]) -> None:
        """Refuse to reschedule a state saved on another clock: its position counts another
        unit (5 steps are not 5 tokens), whatever the policy."""
        saved = {**FINGERPRINT_DEFAULTS, **(state.get("fingerprint") or {})}.get("clock")
        now = (self.fingerprint or {}).get("clock")
        if saved is not None and now is not None and saved != now:
            raise ConfigError(
                f"the checkpoint's position counts {saved} (solver.clock), this config's {now}: its position "
                f"{saved_step(state, 'the checkpoint')} cannot be read as {now}; resume on its clock"
            )

    def check_branch(self, saved: Mapping[str, Any], now: Mapping[str, Any], step: int) -> None:
        """A changed cooldown is a deliberate branch of the run where neither the old nor the
        new one starts before the saved ``step``: the lrs already trained stay as they were."""
        starts = [canonical(saved.get("cooldown_start")), canonical(now.get("cooldown_start"))]
        early = [start for start in starts if isinstance(start, int) and start < step]
        if early and self.on_resume_change not in RESCHEDULE:
            raise ConfigError(
                f"the checkpoint's step is {step}, but the cooldown changed ({saved.get('cooldown')} -> "
                f"{now.get('cooldown')}) where one starts before it, at {early[0]}: the steps between "
                "already ran another schedule; start the new cooldown at or after the saved step, or set "
                "solver.on_resume_change: reschedule"
            )

    # --- epochs, step order, outside writes ---------------------------------------------

    def check_epochs(self, step: int) -> None:
        """Warn once, when ``step`` first passes the schedule's length in epochs."""
        if self.epochs is not None and step == self.epochs + 1:
            max_iter, iters_per_epoch = self.epoch_keys
            warnings.warn(
                f"scheduler.step() was called {step} times, past {max_iter}={self.epochs} epochs: this "
                f"schedule is stepped once per epoch. If you step it every iteration, set {iters_per_epoch} "
                "to convert it to iterations",
                stacklevel=3,
            )

    def check_order(self, optimizer: Optimizer) -> None:
        """torch's step-order warning, unless the optimizer stepped or AMP skipped its step."""
        if getattr(optimizer, "_opt_called", False) or skipped_by_amp(optimizer):
            return
        warnings.warn(
            "Detected call of `lr_scheduler.step()` before `optimizer.step()`. Call `optimizer.step()` "
            "first: this order skips the first value of the learning rate schedule. See "
            "https://pytorch.org/docs/stable/optim.html#how-to-adjust-learning-rate",
            UserWarning,
            stacklevel=3,
        )

    def check_outside(self, groups: list[dict[str, Any]], written: list[Any]) -> None:
        """Report (once) a group whose lr is no longer what was ``written`` last (Tensor lrs
        are not read back: on an accelerator that would sync)."""
        if self.warned_outside or not written or isinstance(written[0], torch.Tensor):
            return
        if list(map(_LR, groups)) != written:
            group, expected = next((g, w) for g, w in zip(groups, written, strict=False) if g["lr"] != w)
            self.outside_write(group, group["lr"], expected)

    def outside_write(self, group: dict[str, Any], value: Any, expected: Any) -> None:
        """Warn (once) that ``group``'s lr was set to ``value`` from outside."""
        if self.warned_outside:
            return
        self.warned_outside = True
        name = f" ({group['name']})" if "name" in group else ""
        warnings.warn(
            f"a param group's lr{name} was set to {value!r} outside the scheduler (it was {expected!r}); "
            "the scheduler sets every lr at each step(), so that change is overwritten. To rescale a "
            "group's schedule, scale its entry in scheduler.base_lrs",
            UserWarning,
            stacklevel=4,
        )


@dataclass(frozen=True)
class _KeptTensor:
    """A group's Tensor value (an lr kept a Tensor), and a copy of what it held."""

    tensor: torch.Tensor
    held: torch.Tensor


def _group_values(group: dict[str, Any]) -> dict[str, Any]:
    """A param group's values but its params (a Tensor value copied, to restore in place)."""
    return {
        k: _KeptTensor(v, v.clone()) if isinstance(v, torch.Tensor) else copy.copy(v)
        for k, v in group.items()
        if k != "params"
    }


def _restore_group(group: dict[str, Any], values: dict[str, Any]) -> None:
    """Put back what :func:`_group_values` kept: a Tensor in place, a key added since removed."""
    for key in [k for k in group if k != "params" and k not in values]:
        del group[key]
    for key, value in values.items():
        if isinstance(value, _KeptTensor):
            value.tensor.copy_(value.held)
            value = value.tensor
        group[key] = value


def _warmup_only(changed: str) -> bool:
    """Whether the change :meth:`Guards.changes` found is a schedule-free optimizer's warmup
    alone (and the solver's, which gave it)."""
    keys = {part.partition(":")[0] for part in changed.split("; ")} if changed else set()
    return "optimizer_warmup" in keys and keys <= {"optimizer_warmup", "warmup_iters"}


def guards_of(scheduler: Any) -> Guards:
    """A schedreg scheduler's :class:`Guards` (a :class:`ScaledLR
    <schedreg.adapters.scaled.ScaledLR>` keeps them among its extras)."""
    return scheduler.guards if hasattr(scheduler, "guards") else scheduler._schedreg.guards


def become(scheduler: Any, other: Any) -> None:
    """Give ``scheduler`` every attribute of ``other``, a scheduler of the same class."""
    scheduler.__dict__.clear()
    scheduler.__dict__.update(other.__dict__)
    for cls in type(other).__mro__:
        for slot in getattr(cls, "__slots__", ()):
            if hasattr(other, slot):
                setattr(scheduler, slot, getattr(other, slot))


def canonical(value: Any) -> Any:
    """A fingerprint value as it is compared: the repr read back (nested reprs too), so that
    dict key order, ``1`` against ``1.0`` and a list against a tuple make no difference;
    text that reads as no literal stays text, and a bool never equals a number."""
    if isinstance(value, str):
        try:
            parsed = ast.literal_eval(value)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            return value
        return value if parsed == value else canonical(parsed)
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, (list, tuple)):
        return tuple(map(canonical, value))
    if isinstance(value, dict):
        return {key: canonical(item) for key, item in value.items()}
    return value


# --- what a checkpoint's state may hold ------------------------------------------------


MAX_STEP = 2**53
"""The largest step or count a state may hold: past it, a float step loses whole steps."""


def _is_step(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and 0 <= int(value) <= MAX_STEP


def _is_torch_step(value: Any) -> bool:
    """A step as torch's states hold it: -1 before the first (a ``SequentialLR``'s later
    children), else a step."""
    return _is_step(value) or (isinstance(value, int) and not isinstance(value, bool) and value == -1)


def _is_lr(value: Any) -> bool:
    number = isinstance(value, (numbers.Real, torch.Tensor)) and not isinstance(value, bool)
    return number and 0.0 <= as_float(value) < math.inf  # a Tensor is read: a sync, once per load


def _is_lrs(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and all(map(_is_lr, value))


def _is_fingerprint(value: Any) -> bool:
    return isinstance(value, Mapping) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    )


def _is_part(value: Any) -> bool:
    if not isinstance(value, Mapping) or not isinstance(value.get("state"), Mapping):
        return False
    indices, names = value.get("groups"), value.get("names")
    if not isinstance(indices, (list, tuple)) or not indices or not all(map(_is_step, indices)):
        return False
    return names is None or (
        isinstance(names, (list, tuple))
        and len(names) == len(indices)
        and all(n is None or isinstance(n, str) for n in names)
    )


def _is_source(value: Any) -> bool:
    return (
        isinstance(value, Mapping)
        and isinstance(value.get("node"), Mapping)
        and isinstance(value.get("path"), str)
        and isinstance(value.get("spelled"), Mapping)
        and isinstance(value.get("peer"), str)
    )


def _is_parts(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and all(map(_is_part, value))


_PARTS = "a list of {'groups': [group index, ...], 'state': {...}}, the groups non-empty"
STATE_FIELDS: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "last_epoch": ("an integer step from -1 (torch's: not started yet) to 2**53", _is_torch_step),
    "schedule_step": ("an integer step from -1 (torch's: not started yet) to 2**53", _is_torch_step),
    "base_lrs": ("a list of lrs, each finite and >= 0", _is_lrs),
    "unscaled_lrs": ("a list of lrs, each finite and >= 0", _is_lrs),
    "param_groups": ("a number of param groups, an integer >= 0", _is_step),
    "held": ("the tokens (samples) counted since the last update, an integer >= 0", _is_step),
    "pending_groups": ("a number of param groups, an integer >= 0", _is_step),
    "fingerprint": ("a dict of strings (the schedule's settings, key by key)", _is_fingerprint),
    "lanes": (_PARTS, _is_parts),
    "added_groups": (_PARTS, _is_parts),
    "solver": (
        "the solver node it was built from: {'node': {...}, 'path': ..., 'spelled': {...}, 'peer': ...}",
        _is_source,
    ),
}
"""The keys schedreg's schedulers write (and torch's ``last_epoch``, ``base_lrs``): what each
must hold, and the check of it."""


def checked_state(state: Any, owner: str, required: tuple[str, ...] = ()) -> Mapping[str, Any]:
    """``state``, once it is a dict holding ``required`` and every key of
    :data:`STATE_FIELDS` it has holds what that key must: a damaged checkpoint is refused
    where it enters, naming the key, its value and what is allowed, before any of it is used."""
    if not isinstance(state, Mapping):
        raise ConfigError(
            f"{owner}.load_state_dict takes the dict that state_dict() returned; the checkpoint holds "
            f"{short_repr(state, 120)} ({type(state).__name__}) instead"
        )
    missing = [k for k in required if k not in state]
    if missing:
        raise ConfigError(
            f"this state was not saved by a {owner} (it lacks {', '.join(missing)}): was the schedule's "
            "config (its name, param_groups or param_schedules) changed since the checkpoint?"
        )
    for key, (expected, check) in STATE_FIELDS.items():
        if key in state and not check(state[key]):
            raise ConfigError(
                f"the checkpoint's scheduler state has {key}={short_repr(state[key], 120)}; {key} must be "
                f"{expected}: "
                f"the checkpoint is damaged, or was not saved by a {owner}"
            )
    return state


def check_kind(
    state: Mapping[str, Any], owner: str, writes: Collection[str], ignored: Collection[str] = ()
) -> None:
    """Refuse a state whose keys (but the stamp's and ``ignored``) are not exactly ``writes``:
    one saved by another kind of scheduler (torch's ``StepLR`` has ``step_size``, a
    ``CosineAnnealingLR`` ``T_max``), which would load what it shares and drop the rest."""
    keys = {k for k in state if k not in STAMP_KEYS and k not in ignored}
    extra, missing = sorted(keys - set(writes), key=str), sorted(set(writes) - keys)
    if extra or missing:
        has = f"it has {', '.join(map(str, extra))}" if extra else ""
        lacks = f"it lacks {', '.join(missing)}" if missing else ""
        raise ConfigError(
            f"this state was not saved by a {owner} like this one ({'; '.join(filter(None, (has, lacks)))}; "
            f"a {owner} writes {', '.join(sorted(writes))}): a checkpoint of another kind of scheduler "
            "cannot be resumed -- build the scheduler that saved it"
        )


def saved_step(state: Mapping[str, Any], owner: str) -> int:
    """The step a checked state was saved at: its ``schedule_step``, else its ``last_epoch``;
    where it holds both, they must agree (they count the same steps)."""
    steps = {k: state[k] for k in ("schedule_step", "last_epoch") if k in state}
    if not steps:
        raise ConfigError(f"this state was not saved by a {owner} (it lacks last_epoch): it holds no step")
    if len(set(steps.values())) > 1:
        raise ConfigError(
            f"the checkpoint's scheduler state is inconsistent: schedule_step={steps['schedule_step']} but "
            f"last_epoch={steps['last_epoch']}, where both count the steps taken; the checkpoint is damaged"
        )
    return int(next(iter(steps.values())))


def other_groups(saved: int, have: int) -> ConfigError:
    """The error for a state saved over ``saved`` param groups loaded over ``have``."""
    return ConfigError(
        f"the saved scheduler state covers {saved} param groups, but this optimizer has {have}; build "
        "the optimizer with the same param groups as the run that saved it"
    )


def check_saved_groups(optimizer: Optimizer, saved: Sequence[int]) -> None:
    """Refuse to load a state that schedules groups this optimizer does not have."""
    if saved and max(saved) >= len(optimizer.param_groups):
        raise other_groups(max(saved) + 1, len(optimizer.param_groups))


def _mark_stepped(optimizer: Optimizer, args: Any, kwargs: Any) -> None:
    optimizer._opt_called = True  # type: ignore[attr-defined]  # the flag torch's schedulers read
    optimizer._schedreg_updates = getattr(optimizer, "_schedreg_updates", 0) + 1  # type: ignore[attr-defined]


def track_optimizer_steps(optimizer: Optimizer) -> None:
    """Note on the optimizer when it steps (once per optimizer; pickling drops the hook).
    A :class:`GroupView` needs none: the scheduler of the whole optimizer checks."""
    if not isinstance(optimizer, GroupView) and not getattr(optimizer, "_schedreg_tracked", False):
        optimizer.register_step_post_hook(_mark_stepped)
        optimizer._schedreg_tracked = True  # type: ignore[attr-defined]


def skipped_by_amp(optimizer: Optimizer) -> bool:
    """Whether the optimizer holds a non-finite gradient: AMP's GradScaler skipped its step."""
    grads = [p.grad for g in optimizer.param_groups for p in g["params"] if p.grad is not None]
    return any(not bool(torch.isfinite(grad).all()) for grad in grads)
