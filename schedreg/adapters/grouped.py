"""A schedule per param group: :class:`GroupedLR` steps one scheduler per set of groups
that share a schedule, and schedules group keys other than the lr."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from typing import Any

import torch
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

from schedreg.adapters.groups import (
    GroupView,
    base_lrs,
    checked,
    group_value,
    initial_value,
    lr_values,
    set_group_value,
)
from schedreg.adapters.guards import (
    Guards,
    check_kind,
    check_saved_groups,
    checked_state,
    saved_step,
    track_optimizer_steps,
)
from schedreg.adapters.multiplier import MultiplierLR
from schedreg.adapters.scaled import ScaledLR
from schedreg.errors import ConfigError
from schedreg.schedules.core import Schedule

Lane = MultiplierLR | ScaledLR
"""A lane's scheduler: one of schedreg's own, which can jump to a step (``seek``)."""


def _check_group_value(owner: str, key: str, value: Any, step: int) -> None:
    """Refuse a scheduled value the optimizer cannot take: not finite (torch's step
    overflows), or a beta outside [0, 1) (Adam divides by ``1 - beta ** t``)."""
    if isinstance(value, torch.Tensor) and value.device.type != "cpu":
        return  # reading a device tensor would sync
    number = float(value)
    beta = key.startswith("betas[")
    if not (0.0 <= number < (1.0 if beta else math.inf)):
        allowed = "in [0, 1)" if beta else "finite and >= 0"
        raise ConfigError(
            f"{owner} gives {key}={number!r} at step {step}; the optimizer needs it {allowed} -- check the "
            "schedule's values against the group's initial value"
        )


class GroupedLR(LRScheduler):
    """A scheduler per set of param groups sharing a schedule, stepped as one.

    Args:
        optimizer: the optimizer.
        lane_key: which schedule a group follows (equal keys share a scheduler).
        build_lane: builds the scheduler for a group's schedule over a :class:`GroupView`.
        param_schedules: ``(key, group) -> schedule or None`` for group keys other than the
            lr (``momentum``, ``betas[0]``, ``weight_decay``): ``value = initial * schedule``.
        guards: the run's checks (:class:`~schedreg.adapters.guards.Guards`).

    A group added to the optimizer later joins the scheduler of its schedule (or a new
    one, brought to the current step) at the next ``step()``.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        lane_key: Callable[[dict[str, Any]], Any],
        build_lane: Callable[[dict[str, Any], Optimizer], Lane],
        param_schedules: Callable[[dict[str, Any]], dict[str, Schedule]],
        guards: Guards | None = None,
    ) -> None:
        self.optimizer = optimizer
        self.guards = guards or Guards()
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
        self._last_lr = lr_values(self.optimizer.param_groups)
        track_optimizer_steps(optimizer)

    @property
    def base_lrs(self) -> list[float | torch.Tensor]:  # type: ignore[override]
        return base_lrs(self.optimizer)

    @property
    def takes_metric(self) -> bool:
        """Whether ``step`` wants a metric (some groups follow ``ReduceLROnPlateau``)."""
        return any(getattr(scheduler, "takes_metric", False) for _, _, scheduler in self.lanes)

    @property
    def batch_size(self) -> int | None:
        """The global batch size of the next update, as the config gives it (see
        :attr:`MultiplierLR.batch_size <schedreg.adapters.multiplier.MultiplierLR.batch_size>`)."""
        return self.guards.clock.batch_size(self.last_epoch)

    def _new_lane(self, indices: list[int]) -> tuple[Any, GroupView, Lane]:
        view = GroupView(self.optimizer, indices)
        group = view.param_groups[0]
        return (self.lane_key(group), view, self.build_lane(group, view))

    def _adopt(self) -> None:
        known = sum(len(view.indices) for _, view, _ in self.lanes)
        if known == len(self.optimizer.param_groups):
            return
        assigned = {i for _, view, _ in self.lanes for i in view.indices}  # resumed by name: any order
        for index in (i for i in range(len(self.optimizer.param_groups)) if i not in assigned):
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
                    value = group_value(group, key)
                except (KeyError, IndexError, TypeError):
                    value = None
                if isinstance(value, bool) or not isinstance(value, (int, float, torch.Tensor)):
                    raise ConfigError(
                        f"param_schedules.{key}: param group {index} ({group.get('name', 'unnamed')}) has no "
                        f"numeric {key!r} to schedule (got {value!r}); its keys: "
                        f"{', '.join(k for k in group if k != 'params')}"
                    )
                owner = f"param_schedules.{key}"
                multiplier = checked(schedule(self.last_epoch), self.last_epoch, owner, "multiplier")
                value = initial_value(group, key) * multiplier
                _check_group_value(owner, key, value, self.last_epoch)
                set_group_value(group, key, value)

    def step(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        """Advance every group's schedule by one step (on a token or sample clock, by
        ``tokens=``/``samples=``, as :class:`~schedreg.adapters.multiplier.MultiplierLR`);
        a metric goes to plateau schedules only, and without one an argument is refused (it
        would be dropped)."""
        consumed = kwargs.pop("tokens", None), kwargs.pop("samples", None)
        if self.takes_metric and not (args or kwargs):  # before any lane moves
            raise TypeError("some param groups follow a plateau schedule: step them with step(metric)")
        if (args or kwargs) and not self.takes_metric:
            raise TypeError(
                f"no param group here follows a plateau schedule, so step() takes no argument; got "
                f"step{args!r}{' with ' + repr(kwargs) if kwargs else ''}"
            )
        moved = self.guards.moved(self.optimizer, self.last_epoch, type(self).__name__, *consumed)
        if moved is None:
            return
        if self._step_count == 1:
            self.guards.check_order(self.optimizer)
        self._adopt()
        for _, _, scheduler in self.lanes:
            if getattr(scheduler, "takes_metric", False):
                scheduler.step(*args, **kwargs)
            elif moved != 1 or self.guards.clock.unit != "step":
                scheduler.seek(self.last_epoch + moved)  # its own clock counts steps
            else:
                scheduler.step()
        self.last_epoch += moved
        self._step_count += 1
        self._apply_param_schedules()
        self._last_lr = lr_values(self.optimizer.param_groups)
        self.guards.check_epochs(self.last_epoch)

    def get_lr(self) -> list[float | torch.Tensor]:
        return list(self._last_lr)

    STATE_KEYS = ("last_epoch", "lanes")
    """What :meth:`state_dict` writes (besides the guards' stamp)."""

    def state_dict(self) -> dict[str, Any]:
        """The step, and each scheduler's groups (by index and name) and state."""
        lanes = [
            {
                "groups": list(view.indices),
                "names": [group.get("name") for group in view.param_groups],
                "state": s.state_dict(),
            }
            for _, view, s in self.lanes
        ]
        covered = sum(len(view.indices) for _, view, _ in self.lanes)
        return self.guards.stamp({"last_epoch": self.last_epoch, "lanes": lanes}, covered, self.optimizer)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Rebuild the schedulers over the saved groups (found by name where they were saved
        with names: the optimizer's groups may come in another order), load them, write
        every value."""
        owner = type(self).__name__
        state = checked_state(state_dict, owner, self.STATE_KEYS)
        step = saved_step(state, owner)
        if self.guards.checkpoint_schedule(state, self):
            return
        if self.guards.rescheduled(state, self.optimizer):
            self.last_epoch = step
            for _, _, scheduler in self.lanes:
                scheduler.seek(self.last_epoch)
            self._apply_param_schedules()
            self._last_lr = lr_values(self.optimizer.param_groups)
            self.guards.resume_held(state)
            return
        check_kind(state, owner, self.STATE_KEYS)
        saved = state["lanes"]
        saved_indices = self._saved_indices(saved)
        covered = sorted(i for lane in saved for i in lane["groups"])
        if "param_groups" in state and covered != list(range(state["param_groups"])):
            raise ConfigError(
                f"the checkpoint's scheduler state is inconsistent: its lanes schedule param groups "
                f"{covered}, but it was saved over {state['param_groups']}; the checkpoint is damaged"
            )
        lanes = []
        for indices, lane in zip(saved_indices, saved, strict=True):
            key, view, scheduler = self._new_lane(indices)
            start = _lane_step(scheduler)  # a torch scheduler's own last_epoch argument, else 0
            scheduler.load_state_dict(lane["state"])
            if _lane_step(scheduler) != start + step:
                lane_step = _lane_step(scheduler) - start
                raise ConfigError(
                    f"the checkpoint's scheduler state is inconsistent: last_epoch={step}, but the schedule "
                    f"of param groups {list(lane['groups'])} was saved at step {lane_step}; the checkpoint "
                    "is damaged"
                )
            lanes.append((key, view, scheduler))
        self.lanes, self.last_epoch = lanes, step
        self._apply_param_schedules()
        self._last_lr = lr_values(self.optimizer.param_groups)
        self.guards.resume_held(state)

    def _saved_indices(self, saved: list[dict[str, Any]]) -> list[list[int]]:
        """Each saved lane's groups in this optimizer: by index, or, where the lanes were saved
        with the groups' names, the ``k``-th group of a name saved is the ``k``-th of that
        name here (names repeat: detectron2's norm and bias groups are all ``default``)."""
        indices = [i for lane in saved for i in lane["groups"]]
        for lane in saved:
            names = lane.get("names", lane["groups"])  # none saved: found by index
            if not isinstance(names, list) or len(names) != len(lane["groups"]):
                raise ConfigError(
                    f"the checkpoint's scheduler state has names={names!r} for param groups "
                    f"{list(lane['groups'])}; names must be a list, one per group: the checkpoint is damaged"
                )
        if len(set(indices)) != len(indices):
            raise ConfigError(
                f"the checkpoint's scheduler state is inconsistent: lanes schedule param groups {indices}, "
                "some of them twice; the checkpoint is damaged"
            )
        if not all("names" in lane for lane in saved):
            check_saved_groups(self.optimizer, indices)
            return [list(lane["groups"]) for lane in saved]
        names = {i: n for lane in saved for i, n in zip(lane["groups"], lane["names"], strict=True)}
        here: dict[Any, list[int]] = {}
        for index, group in enumerate(self.optimizer.param_groups):
            here.setdefault(group.get("name"), []).append(index)
        rank: dict[int, int] = {}
        counted: Counter[Any] = Counter()
        for index in sorted(names):
            name = names[index]
            rank[index] = counted[name]
            counted[name] += 1
            if rank[index] >= len(here.get(name, [])):
                raise ConfigError(
                    f"the checkpoint schedules {rank[index] + 1} or more param groups named {name!r}, but "
                    f"this optimizer has {len(here.get(name, []))} (its groups, in order: "
                    f"{[g.get('name') for g in self.optimizer.param_groups]}); build the optimizer with "
                    "the same param_groups as the run that saved it"
                )
        return [[here[names[i]][rank[i]] for i in lane["groups"]] for lane in saved]


def _lane_step(scheduler: Lane) -> int:
    """The step a lane's scheduler stands at."""
    return scheduler._schedreg.step if isinstance(scheduler, ScaledLR) else int(scheduler.last_epoch)
