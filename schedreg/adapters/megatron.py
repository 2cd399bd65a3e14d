"""Megatron-LM's stepping protocol on a closed-form scheduler, for its
``OptimizerParamScheduler``.

A Megatron training loop calls ``step(increment=...)`` after each successful update (the
samples it consumed), reads ``num_steps``, ``get_lr(group)`` and ``get_wd(group)``, and
saves ``state_dict()``. schedreg's ``step()``, with no argument, still advances by one
iteration, and a Megatron checkpoint's scheduler state loads (its values must be the
config's, as Megatron asserts by default).
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import warnings
from typing import Any

import torch

from schedreg.adapters.groups import checked, set_group_value, with_lr_scale
from schedreg.adapters.guards import MAX_STEP, RESCHEDULE, USE_CHECKPOINT
from schedreg.adapters.multiplier import AbsoluteLR
from schedreg.errors import ConfigError, config_error
from schedreg.schedules.megatron import DECAY_STYLES, WD_STYLES, MegatronSchedule


def _nonnegative(value: Any) -> float | None:
    """``value`` as a float, if it is a finite real number >= 0 (numpy's too, not a bool)."""
    real = isinstance(value, numbers.Real) and not isinstance(value, bool)
    return float(value) if real and 0 <= float(value) < math.inf else None


def _whole(value: Any) -> int | None:
    """``value`` as an int, if it is an integer >= 0 (numpy's too, not a bool)."""
    whole = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    return int(value) if whole and int(value) >= 0 else None


CHECKPOINT_KEYS = {
    "max_lr": ("start_lr", "max_lr"),
    "min_lr": ("min_lr",),
    "lr_warmup_steps": ("warmup_iter", "warmup_steps", "lr_warmup_steps"),
    "lr_decay_steps": ("end_iter", "decay_steps", "lr_decay_steps"),
    "lr_decay_style": ("decay_style", "lr_decay_style"),
}
"""A Megatron checkpoint's keys for each value (its legacy names first, as it reads them)."""
WD_CHECKPOINT_KEYS = ("start_wd", "end_wd", "wd_incr_steps", "wd_incr_style")
STYLES = {"lr_decay_style": DECAY_STYLES, "wd_incr_style": WD_STYLES}
"""A Megatron checkpoint's values that name a style, and the styles each may name (the
others are numbers >= 0)."""


class MegatronLR(AbsoluteLR):
    """:class:`AbsoluteLR` over a Megatron schedule, stepped as Megatron's scheduler is. Each
    group peaks at its ``max_lr`` key or its own lr, floors at its ``min_lr`` key or the
    schedule's; with a weight-decay schedule, each group's ``weight_decay`` is written too,
    times its ``wd_mult`` (a group with no ``wd_mult`` whose weight decay is 0 when it joins
    keeps 0, as Megatron's no-decay groups do)."""

    schedule: MegatronSchedule
    _native = False
    """Whether it runs a Megatron checkpoint's own values (``use_checkpoint``): its state is
    then saved as Megatron saves it, those values with the count."""

    @property
    def num_steps(self) -> int:
        """Megatron's count: samples (or steps, with ``increment`` 1) so far."""
        return self.last_epoch * self.schedule.increment

    def step(  # type: ignore[override]
        self, increment: int | None = None, *, tokens: Any = None, samples: Any = None
    ) -> None:
        """Megatron's ``step(increment)``: on by ``increment`` samples, a whole number of
        steps of ``schedule.increment`` each (0 rewrites the current values); on a sample
        clock any number of samples (a batch-size ramp's). With no argument, schedreg's:
        one step on (on a clock, the batch it expects)."""
        if tokens is not None or samples is not None or increment is None:
            if increment is not None:
                raise TypeError(f"{self.name}.step() takes increment= or tokens=/samples=, not both")
            super().step(tokens=tokens, samples=samples)
            return
        if self.guards.clock.unit != "step":  # the schedule counts what was consumed
            super().step(samples=increment)
            return
        size = self.schedule.increment
        count = _whole(increment)
        if count is None or count % size or self.last_epoch + count // size > MAX_STEP:
            raise ConfigError(
                f"{self.name}: step(increment={increment!r}) must add a whole number of iterations of "
                f"{size} sample{'s' if size > 1 else ''} (the global batch size the schedule was built "
                f"with), up to {MAX_STEP} steps in all"
            )
        if count == size:  # one update: schedreg's own step, with its checks
            super().step()
            return
        self._step_count += 1
        self.seek(self.last_epoch + count // size)

    def get_lr(self, param_group: dict[str, Any] | None = None) -> Any:  # type: ignore[override]
        """Megatron's ``get_lr(param_group)``: that group's lr now; with no group, torch's:
        every group's."""
        if param_group is None:
            return super().get_lr()
        if not isinstance(param_group, dict):
            raise ConfigError(f"{self.name}: get_lr takes one of the optimizer's groups, got {param_group!r}")
        peak = self._peak(param_group, param_group.get("initial_lr"))
        return self._lr(self.last_epoch, param_group, peak)

    def get_wd(self, param_group: dict[str, Any] | None = None) -> float:
        """Megatron's ``get_wd(param_group)`` (before the group's ``wd_mult``)."""
        s = self.schedule
        if not s.schedules_weight_decay:
            raise ConfigError(f"{self.name} schedules no weight decay (set start_wd and end_wd)")
        group = param_group or {}
        ends = group.get("start_wd", s.start_wd), group.get("end_wd", s.end_wd)
        start, end = map(_nonnegative, ends)
        if start is None or end is None:
            raise self._invalid("a param group's start_wd and end_wd", ends)
        return s.weight_decay(self.last_epoch, start, end)

    def _lr(self, step: int, group: dict[str, Any], peak: float) -> Any:
        low = _nonnegative(group.get("min_lr", self.schedule.min_lr))
        if low is None:
            raise self._invalid("a param group's min_lr", group.get("min_lr"))
        try:
            lr = self.schedule.megatron_lr(step * self.schedule.increment, peak, low)
        except (Exception, SystemExit) as exc:
            raise config_error(f"{self.name} failed at step {step}", exc)  # noqa: B904 (its cause is set)
        return with_lr_scale(group, checked(lr, step, self.name, "lr"))

    def lrs_at(self, step: int) -> list[float | torch.Tensor]:
        groups = self.optimizer.param_groups[: len(self.base_lrs)]
        return [
            self._lr(step, group, self._peak(group, base))
            for group, base in zip(groups, self.base_lrs, strict=True)
        ]

    def _peak(self, group: dict[str, Any], base: Any) -> float:
        """The group's ``max_lr`` key, else its base lr: a finite number >= 0."""
        given = group.get("max_lr", base if base is not None else group.get("lr"))
        peak = _nonnegative(given)
        if peak is None:
            raise self._invalid("a param group's max_lr (its peak)", given)
        return peak

    def _invalid(self, what: str, value: Any) -> ConfigError:
        return ConfigError(f"{self.name}: {what} must be finite and >= 0, got {value!r}")

    def _adopt(self) -> None:
        """A group joining a weight-decay schedule without a ``wd_mult`` is given one: 0 if its
        weight decay is 0 where another group's is not (a no-decay group, as Megatron marks
        them), else 1 (Megatron's default). It is kept in the group, so that it travels with
        the optimizer's state."""
        super()._adopt()
        if self.schedule.schedules_weight_decay:
            groups = self.optimizer.param_groups
            split = any(group.get("weight_decay", 0.0) for group in groups)  # decay and no-decay groups
            for group in groups:
                group.setdefault("wd_mult", 0.0 if split and not group.get("weight_decay", 0.0) else 1.0)

    def _write_others(self) -> None:
        """The weight decay, where the schedule has one."""
        if self.schedule.schedules_weight_decay:
            for i, group in enumerate(self.optimizer.param_groups):
                mult = _nonnegative(group["wd_mult"])
                if mult is None:
                    raise self._invalid(f"param group {i}'s wd_mult", group["wd_mult"])
                decay = checked(self.get_wd(group) * mult, self.last_epoch, self.name, "weight decay")
                set_group_value(group, "weight_decay", decay)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """schedreg's state, or a Megatron checkpoint's (``num_steps`` and the values it was
        built with, which must be this config's: Megatron's default)."""
        if not isinstance(state_dict, dict) or (
            "num_steps" not in state_dict and "num_iters" not in state_dict
        ):
            super().load_state_dict(state_dict)
            return
        if self.guards.clock.unit == "tokens":
            raise ConfigError(
                f"{self.name}: a Megatron checkpoint counts samples (num_steps), and this scheduler tokens "
                "(solver.clock: tokens); resume it on the sample clock"
            )
        self.guards.check_held(state_dict)
        steps = state_dict.get("num_iters", state_dict.get("num_steps"))
        size = self.schedule.increment
        count = _whole(steps)
        if count is None or count % size or count // size > MAX_STEP:
            raise ConfigError(
                f"{self.name}: the checkpoint's num_steps={steps!r} is not a whole number of iterations of "
                f"{size} samples"
            )
        self._check_megatron_state(state_dict)
        self.seek(count // size)
        self.guards.resume_held(state_dict)

    def state_dict(self) -> dict[str, Any]:
        """schedreg's state; Megatron's (its values and ``num_steps``) where it runs a Megatron
        checkpoint's values, so that a resume from it runs them too."""
        if not self._native:
            return super().state_dict()
        s = self.schedule
        state: dict[str, Any] = {key: getattr(s, key) for key in CHECKPOINT_KEYS}
        if s.schedules_weight_decay:
            state.update({key: getattr(s, key) for key in WD_CHECKPOINT_KEYS})
        held = {"held": self.guards.held} if self.guards.held else {}
        return {**state, "num_steps": self.num_steps, **held}

    def _check_megatron_state(self, state: dict[str, Any]) -> None:
        s = self.schedule
        ours: dict[str, Any] = {
            "min_lr": s.min_lr,
            "lr_warmup_steps": s.lr_warmup_steps,
            "lr_decay_steps": s.lr_decay_steps,
            "lr_decay_style": s.lr_decay_style,
        }
        policy = self.guards.on_resume_change
        if s.max_lr is not None:  # the config's lr (groups may carry their own max_lr)
            ours["max_lr"] = s.max_lr
        if "start_wd" in state and s.schedules_weight_decay:
            ours.update({key: getattr(s, key) for key in WD_CHECKPOINT_KEYS})
        differ = {}
        saved_peak = next((state[k] for k in CHECKPOINT_KEYS["max_lr"] if k in state), None)
        if s.max_lr is None and policy == USE_CHECKPOINT and saved_peak is not None:  # the groups' own
            groups = self.optimizer.param_groups[: len(self.base_lrs)]
            pairs = zip(groups, self.base_lrs, strict=True)
            peaks = sorted({self._peak(g, b) for g, b in pairs if "max_lr" not in g})
            if peaks and peaks != [saved_peak]:
                differ["max_lr"] = (peaks, saved_peak)
        for key, mine in ours.items():
            spelled = CHECKPOINT_KEYS.get(key, (key,))
            saved = next((state[k] for k in spelled if k in state), None)
            if saved is None:
                raise ConfigError(f"{self.name}: the Megatron checkpoint has no {key}; it is damaged")
            if saved != mine:
                differ[key] = (mine, saved)
        if not differ:
            return
        said = "; ".join(
            f"{key}: config {mine!r}, checkpoint {saved!r}" for key, (mine, saved) in differ.items()
        )
        if policy == USE_CHECKPOINT:
            self._use_checkpoint({key: saved for key, (_, saved) in differ.items()}, saved_peak)
        elif policy not in RESCHEDULE:
            raise ConfigError(
                f"{self.name}: the config's values and the Megatron checkpoint's differ ({said}); resume "
                "under the config it was saved with, or set override_opt_param_scheduler (the config wins) "
                "or use_checkpoint_opt_param_scheduler (the checkpoint wins)"
            )
        who = "checkpoint's" if policy == USE_CHECKPOINT else "config's"
        warnings.warn(f"{self.name}: resuming with the {who} values ({said})", UserWarning, stacklevel=3)

    def _use_checkpoint(self, saved: dict[str, Any], peak: Any) -> None:
        """Megatron's ``use_checkpoint_opt_param_scheduler``: the checkpoint's values replace
        the config's, checked as Megatron's constructor asserts them; a group without its own
        ``max_lr`` peaks at the checkpoint's (Megatron's ``param_group.get('max_lr', max_lr)``)."""
        values = dict(saved)  # the schedule's fields, by the names Megatron's state gives them
        if peak is not None:
            values.setdefault("max_lr", peak)  # saved as Megatron saves it, its max_lr included
        for key, value in values.items():
            valid = value in STYLES[key] if key in STYLES else _nonnegative(value) is not None
            if not valid:
                raise ConfigError(
                    f"{self.name}: the Megatron checkpoint's {key}={value!r} is invalid; it is damaged"
                )
        s = dataclasses.replace(self.schedule, **values)
        constant_wd = s.wd_incr_style == "constant"
        broken = [
            (s.lr_warmup_steps >= s.lr_decay_steps, "its warmup is not shorter than its decay"),
            (s.max_lr is not None and s.max_lr < s.min_lr, "its max_lr is below its min_lr"),
            (
                s.lr_decay_style == "WSD" and not (s.wsd_decay_steps and s.lr_wsd_decay_style),
                "WSD, which this config's scheduler was not built for (no wsd_decay_steps)",
            ),
            (
                s.schedules_weight_decay and constant_wd and s.start_wd != s.end_wd,
                "a constant weight decay ramps",
            ),
            (
                s.schedules_weight_decay and not constant_wd and not s.wd_incr_steps,
                "a weight-decay ramp of no length",
            ),
        ]
        why = next((why for bad, why in broken if bad), None)
        if why is not None:
            raise ConfigError(f"{self.name}: the Megatron checkpoint's values do not hold ({why}): {values}")
        self.schedule, self._native = s, True
        if "max_lr" in values:
            for group in self.optimizer.param_groups:
                group.setdefault("max_lr", values["max_lr"])
