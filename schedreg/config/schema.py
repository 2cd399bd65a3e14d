"""Hydra's schema of the solver node, made from :class:`~schedreg.config.solver.SolverConfig`,
so bad keys and types fail at composition and no key is declared twice.

Torch-free and Hydra-free at import: :func:`register_schemas` imports Hydra and stores the
schema in its ``ConfigStore`` under the private group ``schedreg/schema``. Each option in
``conf/solver/`` pulls it in with ``- /schedreg/schema/solver@_here_``.

A key of :data:`~schedreg.config.solver.UNSET_BY_DEFAULT` is ``null`` here: unset, exactly
as if a plain dict left it out. Durations are ``Any``: an int or a unit string (``"90ep"``),
checked at build. ``warmup_method``/``warmup_factor`` are the nested ``warmup`` node that
the ``solver/warmup`` options fill.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Optional

from schedreg.config.solver import (
    CLIP_DEFAULTS,
    DURATION_KEYS,
    UNSET_BY_DEFAULT,
    SolverConfig,
)

WARMUP_KEYS = {"warmup_method": "method", "warmup_factor": "factor"}
"""Flat keys spelled as the ``warmup`` node under Hydra."""
TYPES: dict[str, Any] = {"str": str, "float": float, "int": int, "bool": bool}


@dataclasses.dataclass
class ClipGradientsSchema:
    """``solver.clip_gradients``: detectron2's per-parameter gradient clipping."""

    enabled: bool = CLIP_DEFAULTS["enabled"]
    clip_type: str = CLIP_DEFAULTS["clip_type"]
    clip_value: float = CLIP_DEFAULTS["clip_value"]
    norm_type: float = CLIP_DEFAULTS["norm_type"]


@dataclasses.dataclass
class CooldownSchema:
    """``solver.cooldown``: a cooldown branched off the run at ``start`` (unset: none)."""

    start: Any = None
    length: Any = None
    shape: Optional[str] = None  # noqa: UP045 (OmegaConf reads Optional)
    to: Optional[float] = None  # noqa: UP045
    to_lr: Optional[float] = None  # noqa: UP045


def _hydra_type(field: dataclasses.Field[Any]) -> Any:
    """The type OmegaConf checks a key against (it reads Optional, not ``X | None``)."""
    text = str(field.type)
    if field.name == "clip_gradients":
        return ClipGradientsSchema
    if field.name == "cooldown":
        return CooldownSchema
    if field.name in DURATION_KEYS or field.name == "batch_size_schedule":  # a ramp: a string or pairs
        return Optional[list[Any]] if field.name == "steps" else Any  # noqa: UP045
    if text.startswith(("Mapping", "tuple[GroupRule")):
        return dict[str, Any]
    base = TYPES[text.removesuffix(" | None")]
    return Optional[base] if text.endswith("| None") or field.name in UNSET_BY_DEFAULT else base  # noqa: UP045


def _default(field: dataclasses.Field[Any]) -> Any:
    if field.name in UNSET_BY_DEFAULT:
        return dataclasses.field(default=None)
    if field.name == "clip_gradients":
        return dataclasses.field(default_factory=ClipGradientsSchema)
    if field.name == "cooldown":
        return dataclasses.field(default_factory=CooldownSchema)
    if field.default_factory is not dataclasses.MISSING or field.name == "param_groups":
        return dataclasses.field(default_factory=dict)  # rules: a mapping by name under Hydra
    return dataclasses.field(default=field.default)


def solver_keys() -> list[dataclasses.Field[Any]]:
    """The solver keys of :class:`SolverConfig`, in order (those with a doc)."""
    return [f for f in dataclasses.fields(SolverConfig) if "doc" in f.metadata]


WarmupSchema = dataclasses.make_dataclass(
    "WarmupSchema",
    [
        (
            name,
            Optional[TYPES[str(SolverConfig.__dataclass_fields__[flat].type)]],  # noqa: UP045
            dataclasses.field(default=None),
        )
        for flat, name in WARMUP_KEYS.items()
    ],
)
WarmupSchema.__doc__ = "``solver.warmup``: the warmup's shape (its length is ``solver.warmup_iters``)."

SolverSchema = dataclasses.make_dataclass(
    "SolverSchema",
    [(f.name, _hydra_type(f), _default(f)) for f in solver_keys() if f.name not in WARMUP_KEYS]
    + [("warmup", WarmupSchema, dataclasses.field(default_factory=WarmupSchema))],
)
SolverSchema.__doc__ = "``solver``: detectron2's SOLVER keys in lower case, and schedreg's own."


def markdown_table() -> str:
    """The README's table of solver keys: each key, its default, and its doc."""
    rows = ["| key | default | meaning |", "|---|---|---|"]
    for f in solver_keys():
        name = f"warmup.{WARMUP_KEYS[f.name]}" if f.name in WARMUP_KEYS else f.name
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        unset = " (unset: the scheduler's)" if f.name in UNSET_BY_DEFAULT else ""
        rows.append(f"| `{name}` | `{default!r}`{unset} | {f.metadata['doc']} |")
    return "\n".join(rows)


def register_schemas() -> None:
    """Store the schemas in Hydra's ConfigStore (idempotent)."""
    from hydra.core.config_store import ConfigStore

    ConfigStore.instance().store(
        group="schedreg/schema", name="solver", node=SolverSchema, provider="schedreg"
    )
