"""What a scheduler checks besides its schedule, as one collaborator given at construction.

:class:`Guards` holds the run's checks and their state; every scheduler of schedreg calls it
at the same points (its first ``step()``, each write, ``state_dict``/``load_state_dict``):

* **resume** -- the schedule's fingerprint travels with the state; a state saved under a
  different schedule is refused, listing what differs, or rescheduled from the saved step
  (``on_resume_change: reschedule``); a state over another number of param groups is refused;
* **epochs** -- a schedule declared in epochs stepped past its end warns once (the mark of
  stepping a per-epoch schedule every iteration);
* **step order** -- torch's warning for ``scheduler.step()`` before the first
  ``optimizer.step()``, except when AMP's GradScaler skipped that step (pytorch#44511);
* **outside writes** -- a group's lr changed outside the scheduler is reported once (it is
  overwritten at the next step).
"""

from __future__ import annotations

import operator
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch.optim import Optimizer

from schedreg.adapters.groups import GroupView
from schedreg.errors import ConfigError

FINGERPRINT_DEFAULTS = {"step_unit": "iter"}
"""Fingerprint keys that older checkpoints lack, with the value they implied."""

_LR = operator.itemgetter("lr")


@dataclass
class Guards:
    """The checks of one scheduler (the factory fills them from the config; a scheduler
    built by hand gets the order and outside-write checks only).

    Attributes:
        fingerprint: the resolved schedule, key by key (None: resume is not checked).
        on_resume_change: ``"error"`` or ``"reschedule"``.
        epochs: the schedule's length in epochs, when it is stepped once per epoch.
        epoch_keys: the keys the epoch warning names.
    """

    fingerprint: dict[str, str] | None = None
    on_resume_change: str = "error"
    epochs: int | None = None
    epoch_keys: tuple[str, str] = ("solver.max_iter", "solver.iters_per_epoch")
    warned_outside: bool = False

    # --- resume ------------------------------------------------------------------------

    def stamp(self, state: dict[str, Any], optimizer: Optimizer) -> dict[str, Any]:
        """``state`` with the fingerprint and the number of param groups it covers."""
        if self.fingerprint is None:
            return state
        return {**state, "fingerprint": dict(self.fingerprint), "param_groups": len(optimizer.param_groups)}

    def rescheduled(self, state: dict[str, Any], optimizer: Optimizer) -> bool:
        """Whether ``state`` was saved under another schedule and is to be rescheduled.

        A state saved over another number of param groups is refused either way: which
        saved group is which would be a guess (torch's optimizers refuse it too).
        """
        saved_groups, groups = state.get("param_groups"), len(optimizer.param_groups)
        if saved_groups is not None and saved_groups != groups:
            raise other_groups(saved_groups, groups)
        saved, now = state.get("fingerprint"), self.fingerprint
        if saved is None or now is None:
            return False
        saved = {**FINGERPRINT_DEFAULTS, **saved}
        if saved == now:
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


def require(state: dict[str, Any], keys: tuple[str, ...], owner: str) -> None:
    """Refuse a state saved by another kind of scheduler (the config changed in between)."""
    missing = [k for k in keys if k not in state]
    if missing:
        raise ConfigError(
            f"this state was not saved by a {owner} (it lacks {', '.join(missing)}): was the schedule's "
            "config (its name, param_groups or param_schedules) changed since the checkpoint?"
        )


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
