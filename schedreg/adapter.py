"""The torch glue: apply schedules to ``optimizer.param_groups``.

Three :class:`~torch.optim.lr_scheduler.LRScheduler` subclasses, all following the
convention that the lr used in iteration ``i`` is the one set after ``i`` calls of
``step()``, all picking up a param group added to the optimizer after they were built
(it joins the schedule at the current step), and all refusing to write a negative or
non-finite value (a Tensor lr on an accelerator is not read back, which would sync each step):

* :class:`MultiplierLR` -- ``lr = base_lr * schedule(step)`` for each group (detectron2's
  ``LRMultiplier``). Closed form: its state is the step and the base lrs.
* :class:`ScaledLR` -- ``lr = inner_lr * schedule(step)``, where ``inner_lr`` comes from a
  torch scheduler (used for warmup on torch's own schedulers). It hands the torch
  scheduler back its own lrs before each of its steps, so it never sees the scaling, and
  restores them on resume, so even torch's recursive schedulers continue exactly with a
  freshly built optimizer.
* :class:`GroupedLR` -- several of those, each over some of the groups (a schedule per
  group), plus schedules of other group keys (``momentum``, ``weight_decay``, ...).

Each works on a :class:`GroupView` when it schedules only some groups.
"""

from __future__ import annotations

import math
import operator
import re
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler, ReduceLROnPlateau

from schedreg.errors import ConfigError
from schedreg.schedules import LrSchedule, Schedule


class GroupView(Optimizer):
    """Some of an optimizer's param groups, as an optimizer a torch scheduler can drive.

    The groups are looked up in the parent on every access, so the view stays right after
    ``optimizer.load_state_dict`` (which replaces the group dicts).
    """

    def __init__(self, parent: Optimizer, indices: Sequence[int]) -> None:
        self.parent = parent
        self.indices = list(indices)
        self._opt_called = True  # the user steps the parent, never the view

    @property
    def param_groups(self) -> list[dict[str, Any]]:  # type: ignore[override]
        return [self.parent.param_groups[i] for i in self.indices]

    @property
    def defaults(self) -> dict[str, Any]:  # type: ignore[override]
        return self.parent.defaults

    @property
    def state(self) -> Any:  # type: ignore[override]
        return self.parent.state

    def step(self, closure: Any = None) -> None:  # type: ignore[override]
        raise RuntimeError("step the optimizer, not a GroupView of it")

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "step"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)


INDEXED_KEY = re.compile(r"(\w+)\[(\d+)\]")
"""A param-group key that indexes a tuple, like ``betas[0]``."""


def set_group_value(group: dict[str, Any], key: str, value: float | torch.Tensor) -> None:
    """Write ``group[key]`` (``key`` may index a tuple: ``betas[0]``), in place for Tensors."""
    indexed = "[" in key and INDEXED_KEY.fullmatch(key)
    if indexed:
        name, i = indexed[1], int(indexed[2])
        values = list(group[name])
        values[i] = value
        group[name] = type(group[name])(values)
    elif isinstance(group[key], torch.Tensor):
        group[key].fill_(float(value))
    else:
        group[key] = value


def _get(group: dict[str, Any], key: str) -> Any:
    indexed = "[" in key and INDEXED_KEY.fullmatch(key)
    return group[indexed[1]][int(indexed[2])] if indexed else group[key]


def _initial(group: dict[str, Any], key: str) -> float | torch.Tensor:
    """``group[initial_<key>]``, recorded from the current value on first use (a Tensor is
    copied, so writing the value in place never moves its base)."""
    if f"initial_{key}" not in group:
        value = _get(group, key)
        group[f"initial_{key}"] = value.clone() if isinstance(value, torch.Tensor) else value
    return group[f"initial_{key}"]


def _checked(value: float | torch.Tensor, step: int, owner: str, what: str = "lr multiplier") -> Any:
    if isinstance(value, torch.Tensor):
        if value.device.type != "cpu":  # reading a device tensor would sync every step
            return value
        number = float(value)
    else:
        number = value
    if not (0.0 <= number < math.inf):
        raise ConfigError(
            f"{owner} produced {what} {value!r} at step {step}; a learning rate must be finite "
            "and >= 0 -- check the schedule's settings"
        )
    return value


def _require(state: dict[str, Any], keys: tuple[str, ...], owner: str) -> None:
    """Refuse a state saved by another kind of scheduler (the config changed in between)."""
    missing = [k for k in keys if k not in state]
    if missing:
        raise ConfigError(
            f"this state was not saved by a {owner} (it lacks {', '.join(missing)}): was the schedule's "
            "config (its name, param_groups or param_schedules) changed since the checkpoint?"
        )


FINGERPRINT_DEFAULTS = {"step_unit": "iter"}
"""Fingerprint keys that older checkpoints lack, with the value they implied."""


class ResumeGuard:
    """Mixed into the schedulers: the schedule's fingerprint travels with the state.

    Loading a state saved under a different schedule raises a ConfigError listing what
    differs, unless ``on_resume_change`` is ``"reschedule"``: then the new schedule continues
    from the saved step. The factory sets both attributes.
    """

    fingerprint: dict[str, str] | None = None
    on_resume_change: str = "error"

    def _stamped(self, state: dict[str, Any]) -> dict[str, Any]:
        if self.fingerprint is None:
            return state
        groups = len(self.optimizer.param_groups)  # type: ignore[attr-defined]
        return {**state, "fingerprint": dict(self.fingerprint), "param_groups": groups}

    def _rescheduled(self, state: dict[str, Any]) -> bool:
        """Whether ``state`` was saved under another schedule and is to be rescheduled.

        A state saved over another number of param groups is refused either way: which
        saved group is which would be a guess (torch's optimizers refuse it too).
        """
        saved_groups, groups = state.get("param_groups"), len(self.optimizer.param_groups)  # type: ignore[attr-defined]
        if saved_groups is not None and saved_groups != groups:
            raise _other_groups(saved_groups, groups)
        saved, now = state.get("fingerprint"), self.fingerprint
        if saved is not None:
            saved = {**FINGERPRINT_DEFAULTS, **saved}
        if saved is None or now is None or saved == now:
            return False
        diff = "; ".join(
            f"{key}: {saved.get(key)} -> {now.get(key)}"
            for key in sorted(set(saved) | set(now))
            if saved.get(key) != now.get(key)
        )
        if self.on_resume_change != "reschedule":
            raise ConfigError(
                f"the checkpoint was saved under a different schedule ({diff}); set "
                "solver.on_resume_change: reschedule to run the new schedule from the saved step"
            )
        return True


class EpochGuard:
    """Mixed into the schedulers: warns once when a schedule declared in epochs is stepped
    past its end, the mark of calling ``step()`` every iteration on a per-epoch schedule.
    The factory sets ``epochs`` (None: no check) and the keys to name."""

    epochs: int | None = None
    epoch_keys: tuple[str, str] = ("solver.max_iter", "solver.iters_per_epoch")

    def _check_epochs(self) -> None:
        step = self.last_epoch  # type: ignore[attr-defined]
        if self.epochs is not None and step == self.epochs + 1:
            max_iter, iters_per_epoch = self.epoch_keys
            warnings.warn(
                f"scheduler.step() was called {step} times, past {max_iter}={self.epochs} epochs: this "
                f"schedule is stepped once per epoch. If you step it every iteration, set {iters_per_epoch} "
                "to convert it to iterations",
                stacklevel=3,
            )


def _mark_stepped(optimizer: Optimizer, args: Any, kwargs: Any) -> None:
    optimizer._opt_called = True  # type: ignore[attr-defined]  # the flag torch's schedulers read


def track_optimizer_steps(optimizer: Optimizer) -> None:
    """Note on the optimizer when it steps (once per optimizer; pickling drops the hook).
    A :class:`GroupView` needs none: the scheduler of the whole optimizer checks."""
    if not isinstance(optimizer, GroupView) and not getattr(optimizer, "_schedreg_tracked", False):
        optimizer.register_step_post_hook(_mark_stepped)
        optimizer._schedreg_tracked = True  # type: ignore[attr-defined]


def _skipped_by_amp(optimizer: Optimizer) -> bool:
    """Whether the optimizer holds a non-finite gradient: AMP's GradScaler skipped its step."""
    grads = [p.grad for g in optimizer.param_groups for p in g["params"] if p.grad is not None]
    return any(not bool(torch.isfinite(grad).all()) for grad in grads)


class StepOrder:
    """Mixed into the schedulers: torch's warning for ``scheduler.step()`` called before
    the first ``optimizer.step()``, except when AMP's GradScaler skipped that step (its
    gradients are not finite), where torch's warning is spurious (pytorch#44511)."""

    optimizer: Optimizer

    def _check_order(self) -> None:
        if getattr(self.optimizer, "_opt_called", False) or _skipped_by_amp(self.optimizer):
            return
        warnings.warn(
            "Detected call of `lr_scheduler.step()` before `optimizer.step()`. Call `optimizer.step()` "
            "first: this order skips the first value of the learning rate schedule. See "
            "https://pytorch.org/docs/stable/optim.html#how-to-adjust-learning-rate",
            UserWarning,
            stacklevel=3,
        )


class OutsideWrites:
    """Mixed into the schedulers: a write to a group's ``lr`` from outside the scheduler is
    overwritten at the next step, and reported (once)."""

    _warned_outside = False

    def _check_outside(self, groups: list[dict[str, Any]], written: list[Any]) -> None:
        """Warn (once) if a group's lr is no longer what this scheduler wrote last (Tensor
        lrs are not read back: on an accelerator that would sync)."""
        if self._warned_outside or not written or isinstance(written[0], torch.Tensor):
            return
        if list(map(_LR, groups)) != written:
            group, expected = next((g, w) for g, w in zip(groups, written, strict=False) if g["lr"] != w)
            self._changed_outside(group, group["lr"], expected)

    def _changed_outside(self, group: dict[str, Any], value: Any, expected: Any) -> None:
        if self._warned_outside:
            return
        self._warned_outside = True
        name = f" ({group['name']})" if "name" in group else ""
        warnings.warn(
            f"a param group's lr{name} was set to {value!r} outside the scheduler (it was {expected!r}); "
            "the scheduler sets every lr at each step(), so that change is overwritten. To rescale a "
            "group's schedule, scale its entry in scheduler.base_lrs",
            UserWarning,
            stacklevel=4,
        )


_LR = operator.itemgetter("lr")


def _other_groups(saved: int, have: int) -> ConfigError:
    return ConfigError(
        f"the saved scheduler state covers {saved} param groups, but this optimizer has {have}; build "
        "the optimizer with the same param groups as the run that saved it"
    )


def _resolve(optimizer: Optimizer, saved: Sequence[int]) -> None:
    """Refuse to load a state that schedules groups this optimizer does not have."""
    if saved and max(saved) >= len(optimizer.param_groups):
        raise _other_groups(max(saved) + 1, len(optimizer.param_groups))


class MultiplierLR(ResumeGuard, EpochGuard, StepOrder, OutsideWrites, LRScheduler):
    """Sets each group's lr to ``base_lr * schedule(step)``.

    Args:
        optimizer: the optimizer whose groups are scheduled; each group's base lr is its
            ``initial_lr`` (set from ``lr`` on first use, as torch does), kept in
            ``base_lrs``: scale ``base_lrs[i]`` to rescale group ``i`` from the next step.
        schedule: the multiplier as a function of the step.
        name: what to call the schedule in error messages.

    ``step()`` writes the lrs itself instead of going through torch's ``LRScheduler.step``
    (whose bookkeeping costs more than the schedule), so it is several times faster than
    torch's own schedulers with many param groups. A write to a group's ``lr`` from
    outside is overwritten at the next step, with a warning (once).
    """

    def __init__(self, optimizer: Optimizer, schedule: Schedule, name: str = "schedule") -> None:
        self.schedule = schedule
        self.name = name
        self._multiplier: float | None = None  # last written (None: nothing to check against)
        self._bases: list[float | torch.Tensor] = []  # base_lrs when last written
        self._tensor_lrs = False
        super().__init__(optimizer)
        track_optimizer_steps(optimizer)

    def get_lr(self) -> list[float | torch.Tensor]:
        self._adopt()
        return self.lrs_at(self.last_epoch)

    _get_closed_form_lr = get_lr

    def _multiplier_at(self, step: int) -> float:
        try:
            multiplier = self.schedule(step)
        except ArithmeticError as exc:  # e.g. a float power that overflows
            raise ConfigError(f"{self.name} failed at step {step}: {exc}") from exc
        if not 0.0 <= multiplier <= 1.7976931348623157e308:  # finite (the largest float; NaN fails)
            _checked(multiplier, step, self.name)
        return multiplier

    def lrs_at(self, step: int) -> list[float | torch.Tensor]:
        """Every group's lr at ``step`` (computed, not written)."""
        multiplier = self._multiplier_at(step)
        return [base_lr * multiplier for base_lr in self.base_lrs]

    def get_last_lr(self) -> list[float | torch.Tensor]:
        """The lrs of the groups, as last written."""
        return [group["lr"] for group in self.optimizer.param_groups[: len(self.base_lrs)]]

    def _adopt(self) -> None:
        """Groups added since the last step join the schedule at this one."""
        groups = self.optimizer.param_groups
        for group in groups[len(self.base_lrs) :]:
            self.base_lrs.append(_initial(group, "lr"))
        self._tensor_lrs = any(isinstance(group["lr"], torch.Tensor) for group in groups)

    def step(self, *args: Any) -> None:  # type: ignore[override]
        """Advance one step. Takes no argument: torch's deprecated ``step(epoch)`` would
        silently jump, and a metric belongs to ``ReduceLROnPlateau``."""
        if args:
            raise TypeError(f"{self.name} is stepped with step(), got step{args!r}")
        if self._step_count == 1:
            self._check_order()
        self._step_count += 1
        self.last_epoch += 1
        self._advance()
        if self.epochs is not None:
            self._check_epochs()

    def _advance(self) -> None:
        """Write the new step's lrs, checking first that each group still has the lr this
        scheduler wrote last (``base * previous multiplier``: no list to keep)."""
        groups, bases, previous = self.optimizer.param_groups, self.base_lrs, self._multiplier
        if previous is None or len(bases) != len(groups) or bases != self._bases:
            self._write()  # the first write, a group added, a base lr rescaled, or Tensor lrs
            return
        multiplier = self._multiplier_at(self.last_epoch)
        outside = None
        for group, base in zip(groups, bases):  # noqa: B905 (equal lengths, checked above)
            if group["lr"] != base * previous and outside is None:
                outside = (group, group["lr"], base * previous)
            group["lr"] = base * multiplier
        self._multiplier = multiplier
        if outside is not None:
            self._changed_outside(*outside)

    def seek(self, step: int) -> None:
        """Jump to ``step`` (O(1)) and write its lrs."""
        self.last_epoch = step
        self._write()

    def _write(self) -> None:
        """Write the current step's lrs, adopting added groups; a Tensor lr in place."""
        self._adopt()
        multiplier = self._multiplier_at(self.last_epoch)
        for group, base in zip(self.optimizer.param_groups, self.base_lrs, strict=True):
            set_group_value(group, "lr", base * multiplier)
        self._multiplier = None if self._tensor_lrs else multiplier  # a Tensor lr is never read back
        self._bases = list(self.base_lrs)

    def state_dict(self) -> dict[str, Any]:
        """The step and base lrs, as plain numbers (loads with ``weights_only=True``)."""
        return self._stamped({"last_epoch": self.last_epoch, "base_lrs": [float(b) for b in self.base_lrs]})

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the step and the base lrs, and write that step's lrs into the optimizer."""
        _require(state_dict, ("last_epoch", "base_lrs"), type(self).__name__)
        if not self._rescheduled(state_dict):
            _resolve(self.optimizer, range(len(state_dict["base_lrs"])))
            self.base_lrs = list(state_dict["base_lrs"])
        self.seek(int(state_dict["last_epoch"]))


def with_lr_scale(group: dict[str, Any], lr: float) -> float:
    """``lr`` times the group's ``lr_scale`` if it has one (timm's layer-wise lr decay)."""
    return lr * group["lr_scale"] if "lr_scale" in group else lr


class AbsoluteLR(MultiplierLR):
    """Sets each group's lr to ``schedule.lr(step, base_lr)``, times its ``lr_scale``.

    For schedules whose floor or warmup start are absolute lrs (timm's), which a multiplier
    of the base lr cannot express exactly.
    """

    schedule: LrSchedule  # type: ignore[assignment]
    _written: list[float | torch.Tensor] | None = None

    def __init__(self, optimizer: Optimizer, schedule: LrSchedule, name: str = "schedule") -> None:
        super().__init__(optimizer, schedule, name)  # type: ignore[arg-type]

    def lrs_at(self, step: int) -> list[float | torch.Tensor]:
        try:
            return [
                with_lr_scale(group, _checked(self.schedule.lr(step, float(base)), step, self.name, "lr"))
                for group, base in zip(self.optimizer.param_groups, self.base_lrs, strict=True)
            ]
        except ArithmeticError as exc:  # e.g. a float power that overflows
            raise ConfigError(f"{self.name} failed at step {step}: {exc}") from exc

    def _advance(self) -> None:
        groups, written = self.optimizer.param_groups, self._written
        if written is None or len(written) != len(groups) or self.base_lrs != self._bases:
            self._write()
            return
        self._check_outside(groups, written)
        lrs = self.lrs_at(self.last_epoch)
        for group, lr in zip(groups, lrs, strict=True):
            group["lr"] = lr
        self._written = lrs

    def _write(self) -> None:
        self._adopt()
        lrs = self.lrs_at(self.last_epoch)
        for group, lr in zip(self.optimizer.param_groups, lrs, strict=True):
            set_group_value(group, "lr", lr)
        self._written = None if self._tensor_lrs else lrs
        self._bases = list(self.base_lrs)


def _base_lrs(optimizer: Optimizer) -> list[float | torch.Tensor]:
    """Each group's base lr, as torch keeps it (``initial_lr``)."""
    return [g.get("initial_lr", g["lr"]) for g in optimizer.param_groups]


def _advance(inner: LRScheduler, *args: Any, **kwargs: Any) -> None:
    """Step a torch scheduler, except one with a fixed length (``OneCycleLR``'s
    ``total_steps``) at its last step: it holds its final lr there, as detectron2's
    schedules do, where torch would extrapolate (to a negative lr) or raise."""
    total = getattr(inner, "total_steps", None)
    if total is None or inner.last_epoch < total - 1:
        inner.step(*args, **kwargs)


def _replay(inner: LRScheduler, steps: int) -> None:
    """Bring a fresh torch scheduler to ``steps`` by stepping it (a plateau one cannot be)."""
    if not isinstance(inner, ReduceLROnPlateau):
        for _ in range(steps):
            _advance(inner)


def _zero_if_rounding(lr: float, base_lrs: list[Any]) -> float:
    """0.0 for a negative lr within rounding of zero (torch's recursive formulas land at
    -5e-19 instead of 0), judged against the largest base lr; else ``lr`` as it is, for
    :func:`_checked` to judge."""
    scale = max((abs(float(b)) for b in base_lrs), default=0.0)
    return 0.0 if -1e-12 * scale <= lr else lr


class ScaledLR(ResumeGuard, EpochGuard, StepOrder, OutsideWrites, LRScheduler):
    """Multiplies the lrs of torch schedulers by ``schedule(step)``.

    Args:
        inner: the torch scheduler, built by ``make`` over a :class:`GroupView` of all the
            groups of the optimizer to schedule.
        make: builds the torch scheduler for an optimizer; called again for each group
            added later (and replayed to the current step), and on resume.
        schedule: the multiplier (the warmup).
        name: what to call the schedule in error messages.

    ``step(*args)`` forwards its arguments, so a wrapped ``ReduceLROnPlateau`` is stepped
    with ``step(metric)`` as usual. The torch schedulers take their own initial step when
    built, so this class does not call ``LRScheduler.__init__`` (which would take another).
    """

    def __init__(
        self, inner: LRScheduler, make: Callable[[Optimizer], LRScheduler], schedule: Schedule, name: str
    ) -> None:
        if not isinstance(inner.optimizer, GroupView):
            raise TypeError("ScaledLR needs a torch scheduler built over a GroupView of the optimizer")
        self.optimizer = inner.optimizer.parent
        self.make = make
        self.schedule = schedule
        self.name = name
        self.last_epoch = 0
        self._step_count = 1
        self.views = [inner.optimizer]
        self.inners = [inner]
        self._scale(write=True)
        track_optimizer_steps(self.optimizer)

    @property
    def inner(self) -> LRScheduler:
        """The torch scheduler of the groups there when this was built."""
        return self.inners[0]

    @property
    def base_lrs(self) -> list[float | torch.Tensor]:  # type: ignore[override]
        return _base_lrs(self.optimizer)

    @property
    def takes_metric(self) -> bool:
        """Whether ``step`` wants a metric (a wrapped ``ReduceLROnPlateau`` or the like)."""
        return isinstance(self.inner, ReduceLROnPlateau) or getattr(self.inner, "takes_metric", False)

    def _adopt(self) -> None:
        known = sum(len(v.indices) for v in self.views)
        for index in range(known, len(self.optimizer.param_groups)):
            view = GroupView(self.optimizer, [index])
            inner = self.make(view)
            _replay(inner, self.last_epoch)
            self.views.append(view)
            self.inners.append(inner)

    def _pairs(self) -> list[tuple[dict[str, Any], float | torch.Tensor]]:
        """Each group with its torch scheduler's own (unscaled) lr."""
        return [
            pair
            for view, inner in zip(self.views, self.inners, strict=True)
            for pair in zip(view.param_groups, inner.get_last_lr(), strict=True)
        ]

    def _scale(self, *, write: bool = False) -> None:
        """Set each group's lr to the torch lr times the multiplier.

        The torch schedulers have just written their own lrs into the groups, so with a
        multiplier of 1 (after warmup) nothing needs writing unless ``write`` is set.
        """
        multiplier = _checked(self.schedule(self.last_epoch), self.last_epoch, self.name)
        for group, lr in self._pairs():
            value = _zero_if_rounding(lr, self.base_lrs) if isinstance(lr, float) and lr < 0.0 else lr
            _checked(value, self.last_epoch, self.name, "lr")
            if write or multiplier != 1.0 or value is not lr:
                set_group_value(group, "lr", value * multiplier)
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def step(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        """Advance one step: step the torch schedulers on their own lrs, then scale."""
        if self._step_count == 1:
            self._check_order()
        groups = self.optimizer.param_groups
        self._check_outside(groups[: len(self._last_lr)], self._last_lr)
        self._adopt()
        self._unscale()
        try:
            for inner in self.inners:
                _advance(inner, *args, **kwargs)
        except (ArithmeticError, ValueError) as exc:
            raise ConfigError(f"{self.name} failed at step {self.last_epoch + 1}: {exc}") from exc
        self.last_epoch += 1
        self._step_count += 1
        self._scale()
        self._check_epochs()

    def _unscale(self) -> None:
        """Hand the torch schedulers back their own lrs (they read them when stepping)."""
        for group, lr in self._pairs():
            set_group_value(group, "lr", lr)

    def seek(self, step: int) -> None:
        """Bring this freshly built scheduler to ``step`` by replaying."""
        self._unscale()
        for inner in self.inners:
            _replay(inner, step)
        self.last_epoch = step
        self._scale(write=True)

    def get_lr(self) -> list[float | torch.Tensor]:
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        """The step, and each torch scheduler's groups and own state."""
        return self._stamped(
            {
                "last_epoch": self.last_epoch,
                "inners": [
                    {"groups": list(view.indices), "state": inner.state_dict()}
                    for view, inner in zip(self.views, self.inners, strict=True)
                ],
            }
        )

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Rebuild the torch schedulers over the saved groups, load them, write the lrs."""
        _require(state_dict, ("last_epoch", "inners"), type(self).__name__)
        if self._rescheduled(state_dict):
            self.seek(int(state_dict["last_epoch"]))
            return
        saved = state_dict["inners"]
        _resolve(self.optimizer, [i for part in saved for i in part["groups"]])
        if [v.indices for v in self.views] != [part["groups"] for part in saved]:
            self.views = [GroupView(self.optimizer, part["groups"]) for part in saved]
            self.inners = [self.make(view) for view in self.views]
        for inner, part in zip(self.inners, saved, strict=True):
            inner.load_state_dict(part["state"])
        self.last_epoch = int(state_dict["last_epoch"])
        self._scale(write=True)


class GroupedLR(ResumeGuard, EpochGuard, StepOrder, LRScheduler):
    """A scheduler per set of param groups sharing a schedule, stepped as one.

    Args:
        optimizer: the optimizer.
        lane_key: which schedule a group follows (equal keys share a scheduler).
        build_lane: builds the scheduler for a group's schedule over a :class:`GroupView`.
        param_schedules: ``(key, group) -> schedule or None`` for group keys other than the
            lr (``momentum``, ``betas[0]``, ``weight_decay``): ``value = initial * schedule``.

    A group added to the optimizer later joins the scheduler of its schedule (or a new
    one, brought to the current step) at the next ``step()``.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        lane_key: Callable[[dict[str, Any]], Any],
        build_lane: Callable[[dict[str, Any], Optimizer], LRScheduler],
        param_schedules: Callable[[dict[str, Any]], dict[str, Schedule]],
    ) -> None:
        self.optimizer = optimizer
        self.lane_key = lane_key
        self.build_lane = build_lane
        self.param_schedules = param_schedules
        self.last_epoch = 0
        self._step_count = 1
        partition: dict[Any, list[int]] = {}
        for index, group in enumerate(optimizer.param_groups):
            partition.setdefault(lane_key(group), []).append(index)
        self.lanes = [self._new_lane(indices) for indices in partition.values()]
        self._apply_param_schedules()
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]
        track_optimizer_steps(optimizer)

    @property
    def base_lrs(self) -> list[float | torch.Tensor]:  # type: ignore[override]
        return _base_lrs(self.optimizer)

    @property
    def takes_metric(self) -> bool:
        """Whether ``step`` wants a metric (some groups follow ``ReduceLROnPlateau``)."""
        return any(getattr(scheduler, "takes_metric", False) for _, _, scheduler in self.lanes)

    def _new_lane(self, indices: list[int]) -> tuple[Any, GroupView, LRScheduler]:
        view = GroupView(self.optimizer, indices)
        group = view.param_groups[0]
        return (self.lane_key(group), view, self.build_lane(group, view))

    def _adopt(self) -> None:
        known = sum(len(view.indices) for _, view, _ in self.lanes)
        for index in range(known, len(self.optimizer.param_groups)):
            key = self.lane_key(self.optimizer.param_groups[index])
            lane = next((lane for lane in self.lanes if lane[0] == key), None)
            if lane is not None:
                lane[1].indices.append(index)  # the lane picks it up at its next step
            else:
                self.lanes.append(self._new_lane([index]))
                self.lanes[-1][2].seek(self.last_epoch)

    def _apply_param_schedules(self) -> None:
        for index, group in enumerate(self.optimizer.param_groups):
            for key, schedule in self.param_schedules(group).items():
                try:
                    value = _get(group, key)
                except (KeyError, IndexError, TypeError):
                    value = None
                if isinstance(value, bool) or not isinstance(value, (int, float, torch.Tensor)):
                    raise ConfigError(
                        f"param_schedules.{key}: param group {index} ({group.get('name', 'unnamed')}) has no "
                        f"numeric {key!r} to schedule (got {value!r}); its keys: "
                        f"{', '.join(k for k in group if k != 'params')}"
                    )
                owner = f"param_schedules.{key}"
                multiplier = _checked(schedule(self.last_epoch), self.last_epoch, owner, "multiplier")
                set_group_value(group, key, _initial(group, key) * multiplier)

    def step(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        """Advance every group's schedule by one step; a metric goes to plateau schedules only."""
        if self._step_count == 1:
            self._check_order()
        self._adopt()
        for _, _, scheduler in self.lanes:
            if getattr(scheduler, "takes_metric", False):
                scheduler.step(*args, **kwargs)
            else:
                scheduler.step()
        self.last_epoch += 1
        self._step_count += 1
        self._apply_param_schedules()
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]
        self._check_epochs()

    def get_lr(self) -> list[float | torch.Tensor]:
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        """The step, and each scheduler's groups and state."""
        lanes = [{"groups": list(view.indices), "state": s.state_dict()} for _, view, s in self.lanes]
        return self._stamped({"last_epoch": self.last_epoch, "lanes": lanes})

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Rebuild the schedulers over the saved groups, load them, write every value."""
        _require(state_dict, ("last_epoch", "lanes"), type(self).__name__)
        if self._rescheduled(state_dict):
            self.last_epoch = int(state_dict["last_epoch"])
            for _, _, scheduler in self.lanes:
                scheduler.seek(self.last_epoch)
            self._apply_param_schedules()
            self._last_lr = [group["lr"] for group in self.optimizer.param_groups]
            return
        saved = state_dict["lanes"]
        _resolve(self.optimizer, [i for lane in saved for i in lane["groups"]])
        self.lanes = [self._new_lane(list(lane["groups"])) for lane in saved]
        for (_, _, scheduler), lane in zip(self.lanes, saved, strict=True):
            scheduler.load_state_dict(lane["state"])
        self.last_epoch = int(state_dict["last_epoch"])
        self._apply_param_schedules()
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]
