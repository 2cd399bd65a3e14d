"""Megatron-LM's stepping protocol on a closed-form scheduler, for its
``OptimizerParamScheduler``.

A Megatron training loop calls ``step(increment=...)`` after each successful update (the
samples it consumed), reads ``num_steps``, ``get_lr(group)`` and ``get_wd(group)``, and
saves ``state_dict()``. schedreg's ``step()``, with no argument, still advances by one
iteration, and a Megatron checkpoint's scheduler state loads (its values must be the
config's, as Megatron asserts by default).
"""

from __future__ import annotations

from typing import Any

import torch

from schedreg.adapters.groups import checked, set_group_value, with_lr_scale
from schedreg.adapters.multiplier import AbsoluteLR
from schedreg.errors import ConfigError, failures_as_config_errors
from schedreg.schedules.megatron import MegatronSchedule

CHECKPOINT_KEYS = {
    "max_lr": ("start_lr", "max_lr"),
    "min_lr": ("min_lr",),
    "lr_warmup_steps": ("warmup_iter", "warmup_steps", "lr_warmup_steps"),
    "lr_decay_steps": ("end_iter", "decay_steps", "lr_decay_steps"),
    "lr_decay_style": ("decay_style", "lr_decay_style"),
}
"""A Megatron checkpoint's keys for each value (its legacy names first, as it reads them)."""
WD_CHECKPOINT_KEYS = ("start_wd", "end_wd", "wd_incr_steps", "wd_incr_style")


class MegatronLR(AbsoluteLR):
    """:class:`AbsoluteLR` over a Megatron schedule, stepped as Megatron's scheduler is. Each
    group peaks at its ``max_lr`` key or its own lr, floors at its ``min_lr`` key or the
    schedule's; with a weight-decay schedule, each group's ``weight_decay`` is written too,
    times its ``wd_mult`` (a group with no ``wd_mult`` whose weight decay is 0 when it joins
    keeps 0, as Megatron's no-decay groups do)."""

    schedule: MegatronSchedule

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._wd_mults: list[float] = []
        super().__init__(*args, **kwargs)

    @property
    def num_steps(self) -> int:
        """Megatron's count: samples (or steps, with ``increment`` 1) so far."""
        return self.last_epoch * self.schedule.increment

    def step(self, increment: int | None = None) -> None:  # type: ignore[override]
        """Megatron's ``step(increment)``: on by ``increment`` samples, a whole number of
        steps of ``schedule.increment`` each (0 rewrites the current values). With no
        argument, schedreg's: one step on."""
        if increment is None:
            super().step()
            return
        size = self.schedule.increment
        whole = isinstance(increment, int) and not isinstance(increment, bool) and increment >= 0
        if not whole or increment % size:
            raise ConfigError(
                f"{self.name}: step(increment={increment!r}) must add a whole number of iterations of "
                f"{size} samples (the global batch size the schedule was built with)"
            )
        self._step_count += 1
        self.seek(self.last_epoch + increment // size)

    def get_lr(self, param_group: dict[str, Any] | None = None) -> Any:  # type: ignore[override]
        """Megatron's ``get_lr(param_group)``: that group's lr now; with no group, torch's:
        every group's."""
        if param_group is None:
            return super().get_lr()
        peak = param_group.get("max_lr", param_group.get("initial_lr", param_group["lr"]))
        return self._lr(self.last_epoch, param_group, float(peak))

    def get_wd(self, param_group: dict[str, Any] | None = None) -> float:
        """Megatron's ``get_wd(param_group)`` (before the group's ``wd_mult``)."""
        s = self.schedule
        if not s.schedules_weight_decay:
            raise ConfigError(f"{self.name} schedules no weight decay (set start_wd and end_wd)")
        group = param_group or {}
        return s.weight_decay(self.last_epoch, group.get("start_wd", s.start_wd), group.get("end_wd", s.end_wd))

    def _lr(self, step: int, group: dict[str, Any], peak: float) -> Any:
        with failures_as_config_errors(f"{self.name} failed at step {step}"):
            lr = self.schedule.megatron_lr(
                step * self.schedule.increment, peak, group.get("min_lr", self.schedule.min_lr)
            )
        return with_lr_scale(group, checked(lr, step, self.name, "lr"))

    def lrs_at(self, step: int) -> list[float | torch.Tensor]:
        groups = self.optimizer.param_groups[: len(self.base_lrs)]
        return [
            self._lr(step, group, float(group.get("max_lr", base)))
            for group, base in zip(groups, self.base_lrs, strict=True)
        ]

    def _adopt(self) -> None:
        super()._adopt()
        for group in self.optimizer.param_groups[len(self._wd_mults) :]:
            default = 0.0 if group.get("weight_decay", 1.0) == 0 else 1.0
            self._wd_mults.append(float(group.get("wd_mult", default)))

    def _advance(self) -> None:
        super()._advance()
        self._write_weight_decay()

    def _write(self) -> None:
        super()._write()
        self._write_weight_decay()

    def _write_weight_decay(self) -> None:
        if not self.schedule.schedules_weight_decay:
            return
        for group, mult in zip(self.optimizer.param_groups, self._wd_mults):  # noqa: B905 (adopted ones)
            set_group_value(group, "weight_decay", self.get_wd(group) * group.get("wd_mult", mult))

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """schedreg's state, or a Megatron checkpoint's (``num_steps`` and the values it was
        built with, which must be this config's: Megatron's default)."""
        if "num_steps" not in state_dict and "num_iters" not in state_dict:
            super().load_state_dict(state_dict)
            self._write_weight_decay()
            return
        self._check_megatron_state(state_dict)
        steps = state_dict.get("num_iters", state_dict.get("num_steps"))
        size = self.schedule.increment
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0 or steps % size:
            raise ConfigError(
                f"{self.name}: the checkpoint's num_steps={steps!r} is not a whole number of iterations of "
                f"{size} samples"
            )
        self.seek(steps // size)

    def _check_megatron_state(self, state: dict[str, Any]) -> None:
        s = self.schedule
        peaks = {float(g.get("max_lr", b)) for g, b in zip(self.optimizer.param_groups, self.base_lrs)}  # noqa: B905
        ours: dict[str, Any] = {
            "min_lr": s.min_lr,
            "lr_warmup_steps": s.lr_warmup_steps,
            "lr_decay_steps": s.lr_decay_steps,
            "lr_decay_style": s.lr_decay_style,
        }
        if len(peaks) == 1:
            ours["max_lr"] = peaks.pop()
        if "start_wd" in state and s.schedules_weight_decay:
            ours.update({key: getattr(s, key) for key in WD_CHECKPOINT_KEYS})
        for key, mine in ours.items():
            spelled = CHECKPOINT_KEYS.get(key, (key,))
            saved = next((state[k] for k in spelled if k in state), None)
            if saved is None:
                raise ConfigError(f"{self.name}: the Megatron checkpoint has no {key}; it is damaged")
            if saved != mine:
                raise ConfigError(
                    f"{self.name}: the config's {key}={mine!r} and the Megatron checkpoint's {saved!r} differ; "
                    "resume under the config it was saved with"
                )
