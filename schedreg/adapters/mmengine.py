"""mmengine's param schedulers of keys other than the lr, written beside it.

An mmengine ``param_scheduler`` list may schedule momentum (``*Momentum``: the group's
``momentum``, or ``betas[0]`` for Adam's kind, as mmengine does) or any key
(``*ParamScheduler`` with ``param_name``). Each group's starting value of a key is its value
when it joins, kept as ``initial_<key>`` (mmengine's name).
"""

from __future__ import annotations

import numbers

from schedreg.adapters.groups import checked, set_group_value
from schedreg.adapters.multiplier import AbsoluteLR
from schedreg.errors import ConfigError, config_error
from schedreg.schedules.mmengine import MmengineSchedule


def group_key(group: dict, key: str) -> str:
    """Where ``key`` lives in ``group``: ``momentum`` is ``betas[0]`` for Adam's kind."""
    if key == "momentum" and "momentum" not in group and "betas" in group:
        return "betas[0]"
    return key


class MmengineLR(AbsoluteLR):
    """:class:`AbsoluteLR` over an mmengine list, writing its other keys too."""

    schedule: MmengineSchedule

    def _write_others(self) -> None:
        step = self.last_epoch
        for key in self.schedule.keys:
            for i, group in enumerate(self.optimizer.param_groups):
                where = group_key(group, key)
                current = group["betas"][0] if where == "betas[0]" else group.get(key)
                if not isinstance(current, numbers.Real) or isinstance(current, bool):
                    raise ConfigError(
                        f"{self.name}: the list schedules param_name {key!r}, which param group {i} "
                        f"{'does not have' if current is None else f'holds as {current!r}, not a number'}"
                    )
                base = float(group.setdefault(f"initial_{key}", current))
                try:
                    value = self.schedule.value(key, step, base)
                except (Exception, SystemExit) as exc:  # run every step: the message only on a failure
                    raise config_error(f"{self.name} failed at step {step}", exc)  # noqa: B904 (its cause is set)
                set_group_value(group, where, checked(value, step, self.name, key))
