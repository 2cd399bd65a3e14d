"""mmengine's ``param_scheduler`` list: windows ``[begin, end)`` of chained schedulers.

mmengine's schedulers are *chained*: each step turns a group's current value into the next
(``v * gamma``, ``(1 + cos(pi t / T)) / (1 + cos(pi (t - 1) / T)) * (v - eta) + eta``, ...),
so windows that overlap compose in the order they step. A window counts its own steps ``t``
from 0 at ``begin``; it steps once when built, then after every iteration (``by_epoch``
false) or every epoch (true: after the epoch's last iteration, after the iteration ones),
in list order. Outside ``[begin, end)`` it writes nothing.

A value is found by replaying those steps from the start, exactly as mmengine applies
them; each schedule remembers where it got to per base value, so a training loop costs
O(1) per step and a jump backwards replays from 0.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from functools import cached_property
from typing import Any

INF = 10**9
"""mmengine's default ``end`` (its ``INF``)."""

MAX_REPLAY = 10**7
"""The furthest iteration a list is replayed to: the replay is Python, step by step."""


@dataclass(frozen=True)
class Window:
    """One scheduler of the list, its lengths in iterations where it was converted
    (``convert_to_iter_based``) or in epochs where it steps per epoch.

    Attributes:
        kind: the scheduler, less its ``LR``/``Momentum``/``ParamScheduler`` suffix.
        key: the param-group key it schedules (``lr``, ``momentum``, ``weight_decay``).
        begin, end: the steps (its own unit) it is active in.
        by_epoch: whether it steps after each epoch (else after each iteration).
        args: its other arguments, sorted (name, value) pairs.
        base: the base value it reads where a ``OneCycle`` before it rewrote the groups'
            initial value (``eta_max / div_factor``); None: the group's own.
    """

    kind: str
    key: str
    begin: int
    end: int
    by_epoch: bool
    args: tuple[tuple[str, Any], ...] = ()
    base: float | None = None

    @cached_property
    def params(self) -> dict[str, Any]:
        """``args`` as a mapping (read at every step: made once)."""
        return dict(self.args)

    @cached_property
    def milestones(self) -> Counter[int]:
        """How often each step is a milestone (mmengine's ``Counter``)."""
        return Counter(self.params.get("milestones", ()))

    def arg(self, name: str, default: Any = None) -> Any:
        return self.params.get(name, default)

    def value(self, t: int, v: float, base: float) -> float:
        """mmengine's ``_get_value`` at the window's step ``t``, from the current value ``v``."""
        kind, a = self.kind, self.params
        base = self.base if self.base is not None else base
        total = self.end - self.begin - 1
        if kind == "Step":
            return v if t == 0 or t % a["step_size"] != 0 else v * a.get("gamma", 0.1)
        if kind == "MultiStep":
            counts = self.milestones
            return v * a.get("gamma", 0.1) ** counts[t] if t in counts else v
        if kind == "Constant":
            factor = a.get("factor", 1.0 / 3)
            return v * factor if t == 0 else (v * (1.0 / factor) if t == total else v)
        if kind == "Exponential":
            return v if t == 0 else v * a["gamma"]
        if kind == "Linear":
            sf, ef = a.get("start_factor", 1.0 / 3), a.get("end_factor", 1.0)
            return v * sf if t == 0 else v * (1.0 + (ef - sf) / (total * sf + (t - 1) * (ef - sf)))
        if kind == "Poly":
            low, power = a.get("eta_min", 0), a.get("power", 1.0)
            return v if t == 0 else (v - low) * (1 - 1 / (total - t + 1)) ** power + low
        if kind == "CosineAnnealing":
            return self._cosine(t, v, base, a)
        if kind == "CosineRestart":
            return self._restart(t, v, base, a)
        return self._one_cycle(t, a)

    @staticmethod
    def _eta_min(base: float, a: dict[str, Any]) -> float:
        ratio = a.get("eta_min_ratio")
        low = a.get("eta_min")
        return float(low if low is not None else 0.0) if ratio is None else base * ratio

    def _cosine(self, t: int, v: float, base: float, a: dict[str, Any]) -> float:
        period, low = a.get("T_max") or (self.end - self.begin), self._eta_min(base, a)
        if t == 0:
            return v
        if (t - 1 - period) % (2 * period) == 0:
            return v + (base - low) * (1 - math.cos(math.pi / period)) / 2
        return (1 + math.cos(math.pi * t / period)) / (1 + math.cos(math.pi * (t - 1) / period)) * (
            v - low
        ) + low

    def _restart(self, t: int, v: float, base: float, a: dict[str, Any]) -> float:
        periods, weights = a["periods"], a.get("restart_weights", (1,))
        ends = [sum(periods[: i + 1]) for i in range(len(periods))]
        index = next((i for i, end in enumerate(ends) if t < end), None)
        if index is None:
            return v
        start = 0 if index == 0 else ends[index - 1]
        step, length = t - start, periods[index]
        if step == 0:
            return base * weights[index]
        low = self._eta_min(base, a)
        return (1 + math.cos(math.pi * step / length)) / (1 + math.cos(math.pi * (step - 1) / length)) * (
            v - low
        ) + low

    def _one_cycle(self, t: int, a: dict[str, Any]) -> float:
        peak = a.get("eta_max", 0)
        initial = peak / a.get("div_factor", 25.0)
        ends = {"initial": initial, "max": peak, "min": initial / a.get("final_div_factor", 1e4)}
        total, pct = a.get("total_steps") or (self.end - self.begin), a.get("pct_start", 0.3)
        phases = [(float(pct * total) - 1, "initial", "max"), (total - 1, "max", "min")]
        if a.get("three_phase", False):
            phases = [
                phases[0],
                (float(2 * pct * total) - 2, "max", "initial"),
                (total - 1, "initial", "min"),
            ]
        start_step = 0.0
        for i, (end_step, start, end) in enumerate(phases):
            if t <= end_step or i == len(phases) - 1:
                frac = (t - start_step) / (end_step - start_step)
                if a.get("anneal_strategy", "cos") == "cos":
                    return ends[end] + (ends[start] - ends[end]) / 2.0 * (math.cos(math.pi * frac) + 1)
                return (ends[end] - ends[start]) * frac + ends[start]
            start_step = end_step
        raise AssertionError("unreachable: the last phase always applies")


@dataclass(frozen=True)
class MmengineSchedule:
    """A ``param_scheduler`` list as values of the iteration; an lr schedule (its ``lr``
    windows) and, through :meth:`value`, the schedule of each other key it names.

    >>> warm = Window("Linear", "lr", 0, 4, False, (("start_factor", 0.25),))
    >>> [MmengineSchedule((warm,), iters_per_epoch=10).lr(s, base_lr=1.0) for s in range(5)]
    [0.25, 0.5, 0.75, 1.0, 1.0]
    """

    windows: tuple[Window, ...]
    iters_per_epoch: int = 1

    @cached_property
    def horizon(self) -> int:
        """The iteration after which no window steps: every value stays as it is from there."""
        return max(w.end * (self.iters_per_epoch if w.by_epoch else 1) for w in self.windows)

    def __getstate__(self) -> dict[str, object]:
        """The fields only: the replay's cursor and what is made from the fields are rebuilt
        where they are needed."""
        return {f: getattr(self, f) for f in ("windows", "iters_per_epoch")}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)

    @property
    def keys(self) -> tuple[str, ...]:
        """The param-group keys it schedules besides the lr, in order."""
        return tuple(dict.fromkeys(w.key for w in self.windows if w.key != "lr"))

    def lr(self, step: int, base_lr: float) -> float:
        return self.value("lr", step, base_lr)

    def value(self, key: str, step: int, base: float) -> float:
        """``key``'s value at iteration ``step`` for a group whose initial value is ``base``."""
        step = min(step, self.horizon)  # nothing steps past it
        if step > MAX_REPLAY:
            raise ValueError(f"mmengine's list is replayed step by step, up to {MAX_REPLAY}; got {step}")
        cache: dict[tuple[str, float], tuple[int, float]] = self.__dict__.setdefault("_replayed", {})
        done, v = cache.get((key, base), (-1, base))
        if done > step:
            done, v = -1, base
        every, per_iteration, per_epoch = self._stepped.get(key, ((), (), ()))
        if done < 0:
            v, done = _calls(every, 0, v, base), 0
        for k in range(done, step):  # the steps after iteration k
            v = _calls(per_iteration, k + 1, v, base)
            if (k + 1) % self.iters_per_epoch == 0:
                v = _calls(per_epoch, (k + 1) // self.iters_per_epoch, v, base)
        cache[(key, base)] = (step, v)
        return v

    @cached_property
    def _stepped(self) -> dict[str, tuple[tuple[Window, ...], ...]]:
        """Each key's windows in list order: all of them (stepped when built), those stepped
        after each iteration, those stepped after each epoch."""
        out: dict[str, tuple[tuple[Window, ...], ...]] = {}
        for key in dict.fromkeys(w.key for w in self.windows):
            mine = tuple(w for w in self.windows if w.key == key)
            out[key] = (mine, tuple(w for w in mine if not w.by_epoch), tuple(w for w in mine if w.by_epoch))
        return out


def _calls(windows: tuple[Window, ...], call: int, v: float, base: float) -> float:
    """``windows`` stepped for their ``call``-th time (0: when built), in list order: each
    active one turns ``v`` into its next value."""
    for w in windows:
        if w.begin <= call < w.end:
            v = w.value(call - w.begin, v, base)
    return v
