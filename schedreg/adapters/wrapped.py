"""Torch's own schedulers under schedreg: :class:`ScaledLR` multiplies their lrs by a
schedule of the step (the warmup), and holds them where torch would go wrong."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler, ReduceLROnPlateau

from schedreg.adapters.groups import GroupView, base_lrs, checked, lr_values, set_group_value
from schedreg.adapters.guards import Guards, check_saved_groups, require, track_optimizer_steps
from schedreg.errors import ConfigError
from schedreg.schedules.core import Schedule


def _advance(inner: LRScheduler, *args: Any, **kwargs: Any) -> None:
    """Step a torch scheduler, except one with a fixed length (``OneCycleLR``'s
    ``total_steps``) at its last step: it holds its final lr there, as detectron2's
    schedules do, where torch would extrapolate (to a negative lr) or raise."""
    total = getattr(inner, "total_steps", None)
    if total is None or inner.last_epoch < total - 1:
        inner.step(*args, **kwargs)


def _start(inner: LRScheduler) -> int:
    """Where a freshly built torch scheduler starts: 0, or one past its ``last_epoch``
    argument (torch's resume); ``ChainedScheduler`` keeps no count of its own."""
    return int(getattr(inner, "last_epoch", 0))


def _replay(inner: LRScheduler, step: int) -> None:
    """Bring a fresh torch scheduler to ``step`` by stepping it (a plateau one cannot be)."""
    if not isinstance(inner, ReduceLROnPlateau):
        for _ in range(step - _start(inner)):
            _advance(inner)


def _zero_if_rounding(lr: float, base_lrs: list[Any]) -> float:
    """0.0 for a negative lr within rounding of zero (torch's recursive formulas land at
    -5e-19 instead of 0), judged against the largest base lr; else ``lr`` as it is, for
    :func:`_checked` to judge."""
    scale = max((abs(float(b)) for b in base_lrs), default=0.0)
    return 0.0 if -1e-12 * scale <= lr else lr


class ScaledLR(LRScheduler):
    """Multiplies the lrs of torch schedulers by ``schedule(step)``.

    Args:
        inner: the torch scheduler, built by ``make`` over a :class:`GroupView` of all the
            groups of the optimizer to schedule.
        make: builds the torch scheduler for an optimizer; called again for each group
            added later (and replayed to the current step), and on resume.
        schedule: the multiplier (the warmup).
        name: what to call the schedule in error messages.
        guards: the run's checks (:class:`~schedreg.adapters.guards.Guards`).

    ``step(*args)`` forwards its arguments, so a wrapped ``ReduceLROnPlateau`` is stepped
    with ``step(metric)`` as usual. The torch schedulers take their own initial step when
    built, so this class does not call ``LRScheduler.__init__`` (which would take another).
    """

    def __init__(
        self,
        inner: LRScheduler,
        make: Callable[[Optimizer], LRScheduler],
        schedule: Schedule,
        name: str,
        guards: Guards | None = None,
    ) -> None:
        if not isinstance(inner.optimizer, GroupView):
            raise TypeError("ScaledLR needs a torch scheduler built over a GroupView of the optimizer")
        self.optimizer = inner.optimizer.parent
        self.make = make
        self.schedule = schedule
        self.name = name
        self.guards = guards or Guards()
        self.last_epoch = _start(inner)  # 0, or torch's resume from its last_epoch argument
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
        return base_lrs(self.optimizer)

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
        multiplier = checked(self.schedule(self.last_epoch), self.last_epoch, self.name)
        for group, lr in self._pairs():
            value = _zero_if_rounding(lr, self.base_lrs) if isinstance(lr, float) and lr < 0.0 else lr
            checked(value, self.last_epoch, self.name, "lr")
            if write or multiplier != 1.0 or value is not lr:
                set_group_value(group, "lr", value * multiplier)
        self._last_lr = lr_values(self.optimizer.param_groups)

    def step(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        """Advance one step: step the torch schedulers on their own lrs, then scale."""
        if self._step_count == 1:
            self.guards.check_order(self.optimizer)
        groups = self.optimizer.param_groups
        self.guards.check_outside(groups[: len(self._last_lr)], self._last_lr)
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
        self.guards.check_epochs(self.last_epoch)

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
        return self.guards.stamp(
            {
                "last_epoch": self.last_epoch,
                "inners": [
                    {"groups": list(view.indices), "state": inner.state_dict()}
                    for view, inner in zip(self.views, self.inners, strict=True)
                ],
            },
            self.optimizer,
        )

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Rebuild the torch schedulers over the saved groups, load them, write the lrs."""
        require(state_dict, ("last_epoch", "inners"), type(self).__name__)
        if self.guards.rescheduled(state_dict, self.optimizer):
            self.seek(int(state_dict["last_epoch"]))
            return
        saved = state_dict["inners"]
        check_saved_groups(self.optimizer, [i for part in saved for i in part["groups"]])
        if [v.indices for v in self.views] != [part["groups"] for part in saved]:
            self.views = [GroupView(self.optimizer, part["groups"]) for part in saved]
            self.inners = [self.make(view) for view in self.views]
        for inner, part in zip(self.inners, saved, strict=True):
            inner.load_state_dict(part["state"])
        self.last_epoch = int(state_dict["last_epoch"])
        self._scale(write=True)
