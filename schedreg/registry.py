"""A name -> builder registry with "did you mean" lookups."""

from __future__ import annotations

import importlib
import inspect
import threading
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from schedreg.errors import ConfigError, suggest

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Entry(Generic[F]):
    """A registered builder and what the factory needs to know about it.

    Attributes:
        builder: the registered function.
        defaults: config defaults that replace the global ones for this entry, for keys
            the user did not set (detectron2's schedules default to 1000 warmup iters).
        own_warmup: the builder joins the warmup itself (detectron2's anchored form) or its
            schedule has its peer's own (timm's, warmup_stable_decay's); the factory adds none.
        takes: what the builder takes after the solver node: ``"optimizer"`` (its second
            positional parameter) and ``"build_child"`` (a keyword: builds a nested
            scheduler from a solver node). A builder of a pure schedule takes neither.
        light: registered by a module preloaded as light (see :meth:`Registry.light_entry`).
    """

    builder: F
    defaults: Mapping[str, Any] = field(default_factory=dict)
    own_warmup: bool = False
    takes: tuple[str, ...] = ()
    light: bool = False


def takes(builder: Callable[..., Any]) -> tuple[str, ...]:
    """What ``builder`` takes after the solver node (see :attr:`Entry.takes`)."""
    params = list(inspect.signature(builder).parameters.values())
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    variadic = any(p.kind is p.VAR_POSITIONAL for p in params)
    out = ("optimizer",) if len(positional) > 1 or variadic else ()
    return out + (("build_child",) if any(p.name == "build_child" for p in params) else ())


def _same_function(a: Callable[..., Any], b: Callable[..., Any]) -> bool:
    """True for two versions of one builder, e.g. before and after ``importlib.reload``."""
    if a == b:
        return True
    names = [(getattr(f, "__module__", None), getattr(f, "__qualname__", None)) for f in (a, b)]
    module, qualname = names[0]
    return module is not None and qualname is not None and "<lambda>" not in qualname and names[0] == names[1]


class Registry(Generic[F]):
    """Builders by name, filled with the :meth:`register` decorator.

    >>> REG = Registry("scheduler")
    >>> @REG.register("Mine")
    ... def build(solver, optimizer): ...
    >>> "Mine" in REG, list(REG)
    (True, ['Mine'])
    """

    def __init__(self, kind: str, load: Callable[[], object] | None = None) -> None:
        """``load`` (e.g. loading plug-ins) runs once, at the first lookup."""
        self.kind = kind
        self._entries: dict[str, Entry[F]] = {}
        self._lock = threading.RLock()
        self._load = load
        self.source: Callable[[Any], str] | None = None
        """Where a builder comes from (``detectron2``, ``torch``), said in "did you mean"."""
        self._modules: list[tuple[str, bool]] = []
        self._loading = False
        self._loading_light = False

    def preload(self, module: str, *, light: bool = False) -> None:
        """Import ``module`` (which registers builders) at the first lookup, before ``load``:
        how the package wires its built-in builders in without this module importing them.
        A ``light`` module imports nothing heavy (no torch): :meth:`light_entry` imports it
        alone."""
        with self._lock:
            self._modules.append((module, light))

    def _loaded(self) -> dict[str, Entry[F]]:
        """The entries, after the one-time load. Threads share the load: one runs it under
        the lock while the others wait, so no lookup sees a half-filled registry. The loading
        thread's own lookups (a preloaded module registering) see the entries so far."""
        # _load_once sets _loading before it empties the other two, and clears it after: read
        # in this order, the three read clear only once a load has finished
        if self._modules or self._load is not None or self._loading:
            with self._lock:
                if not self._loading:
                    self._load_once()
        return self._entries

    def _load_once(self) -> None:
        """Import the preloaded modules, then run ``load``; each at most once, even if it raises."""
        self._loading = True
        try:
            while self._modules:
                self._import(*self._modules.pop(0))
            load, self._load = self._load, None
            if load is not None:
                load()
        finally:
            self._loading = False

    def _import(self, module: str, light: bool) -> None:
        """Import a preloaded module; what it registers is marked ``light`` if it is."""
        self._loading_light = light
        try:
            importlib.import_module(module)
        finally:
            self._loading_light = False

    def light_entry(self, name: str) -> Entry[F] | None:
        """The entry of ``name`` if a light preloaded module registers it, found by importing
        the light modules only (what ``schedreg show`` does to evaluate a pure schedule
        without importing torch); None for any other name, which :meth:`entry` may still find.
        A light module's name is final: no later registration can take it."""
        with self._lock:
            light = [item for item in self._modules if item[1]]
            if light and not self._loading:
                self._loading = True
                try:
                    for item in light:
                        self._modules.remove(item)
                        self._import(*item)
                finally:
                    self._loading = False
            entry = self._entries.get(name)
        return entry if entry is not None and entry.light else None

    def register(
        self,
        name: str | None = None,
        *,
        defaults: Mapping[str, Any] | None = None,
        own_warmup: bool = False,
    ) -> Callable[[F], F]:
        """Decorator adding a builder under ``name`` (default: the function's name).

        Raises ``ValueError`` if the name is taken by a different function; registering
        the same function again (a module reload) replaces the entry.
        """

        def decorator(builder: F) -> F:
            key = name or builder.__name__
            with self._lock:
                entry = Entry(builder, dict(defaults or {}), own_warmup, takes(builder), self._loading_light)
                taken = self._loaded().get(key)
                if taken is not None and not _same_function(taken.builder, builder):
                    owner = getattr(taken.builder, "__qualname__", repr(taken.builder))
                    raise ValueError(
                        f"{self.kind} {key!r} is already registered by {taken.builder.__module__}.{owner}"
                    )
                self._entries[key] = entry
            return builder

        return decorator

    def entry(self, name: str, key: str = "lr_scheduler_name") -> Entry[F]:
        """The entry for ``name``; a :class:`ConfigError` naming ``key`` if unknown."""
        entries = self._loaded()
        try:
            return entries[name]
        except (KeyError, TypeError):
            pass
        with self._lock:  # a copy: another thread may be registering
            names = sorted(entries)
        hint = [
            f"{h!r} ({self.source(entries[h].builder)})" if self.source else repr(h)
            for h in suggest(str(name), names)
        ]
        did_you_mean = f"; did you mean {' or '.join(hint)}?" if hint else ""
        raise ConfigError(
            f"{key}: unknown {self.kind} {name!r}{did_you_mean} (registered: {', '.join(names)})"
        )

    def get(self, name: str) -> F:
        """The builder registered under ``name``."""
        return self.entry(name).builder

    def __contains__(self, name: object) -> bool:
        return name in self._loaded()

    def __iter__(self) -> Iterator[str]:
        entries = self._loaded()
        with self._lock:
            return iter(list(entries))

    def __len__(self) -> int:
        return len(self._loaded())


def load_plugins(registry: Registry[Any], group: str) -> None:
    """Load the installed distributions' entry points in ``group`` into ``registry``.

    An entry point names either a builder (registered under the entry point's name) or a
    module whose import registers its builders. One that fails to load is reported with a
    warning naming it, and the others still load.
    """
    from importlib.metadata import entry_points

    for point in entry_points(group=group):
        try:
            loaded = point.load()
        except Exception as exc:  # a broken plug-in must not take the built-ins down with it
            warnings.warn(
                f"schedreg plug-in {point.name!r} ({point.value}) failed to load: {exc!r}", stacklevel=2
            )
            continue
        if callable(loaded) and point.name not in registry._entries:
            registry.register(point.name)(loaded)


SCHEDULERS: Registry[Callable[..., Any]] = Registry(
    "scheduler", load=lambda: load_plugins(SCHEDULERS, "schedreg.schedulers")
)
"""Scheduler builders: ``fn(solver) -> Schedule`` for a pure schedule, or
``fn(solver, optimizer) -> LRScheduler | Schedule`` for one that needs the optimizer.

Filled at the first lookup: schedreg's own builders first (``import schedreg`` preloads
the modules :mod:`schedreg.builders.builtin` lists), then installed plug-ins (entry-point group
``schedreg.schedulers``). This module imports no builder."""

register_scheduler = SCHEDULERS.register
