"""Hydra schemas of the solver node, so bad keys and types fail at composition.

Torch-free and Hydra-free at import: :func:`register_schemas` imports Hydra and stores
the schemas in its ``ConfigStore`` under the private group ``schedreg/schema``. Each
option in ``conf/solver/`` pulls its schema in with ``- /schedreg/schema/solver@_here_``.
Defaults come from :class:`~schedreg.config.SolverConfig`, the one place they are set.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from schedreg.config.solver import CLIP_DEFAULTS, SolverConfig

_D = SolverConfig()


@dataclass
class WarmupSchema:
    """``solver.warmup``: the warmup shape; its length is ``solver.warmup_iters``."""

    method: Optional[str] = None  # noqa: UP045 (OmegaConf reads Optional; None: unset)
    factor: Optional[float] = None  # noqa: UP045


@dataclass
class ClipGradientsSchema:
    """``solver.clip_gradients``: detectron2's per-parameter gradient clipping."""

    enabled: bool = CLIP_DEFAULTS["enabled"]
    clip_type: str = CLIP_DEFAULTS["clip_type"]
    clip_value: float = CLIP_DEFAULTS["clip_value"]
    norm_type: float = CLIP_DEFAULTS["norm_type"]


@dataclass
class SolverSchema:
    """``solver``: the schedule keys (detectron2's SOLVER names in lower case)."""

    lr_scheduler_name: str = _D.lr_scheduler_name
    base_lr: float = _D.base_lr
    base_lr_end: Optional[float] = None  # noqa: UP045
    # durations are Any: an int, or a unit string ("90ep", "500it", "10%"), checked at build
    max_iter: Any = None
    steps: Optional[list[Any]] = None  # noqa: UP045
    gamma: Optional[float] = None  # noqa: UP045
    num_decays: int = _D.num_decays
    warmup_iters: Any = None
    warmup: WarmupSchema = field(default_factory=WarmupSchema)
    rescale_interval: bool = _D.rescale_interval
    poly_lr_power: float = _D.poly_lr_power
    poly_lr_constant_ending: float = _D.poly_lr_constant_ending
    args: dict[str, Any] = field(default_factory=dict)
    optimizer: str = _D.optimizer
    optimizer_args: dict[str, Any] = field(default_factory=dict)
    momentum: float = _D.momentum
    nesterov: bool = _D.nesterov
    weight_decay: float = _D.weight_decay
    weight_decay_norm: Optional[float] = _D.weight_decay_norm  # noqa: UP045 (OmegaConf reads Optional)
    weight_decay_bias: Optional[float] = _D.weight_decay_bias  # noqa: UP045
    bias_lr_factor: float = _D.bias_lr_factor
    clip_gradients: ClipGradientsSchema = field(default_factory=ClipGradientsSchema)
    param_groups: dict[str, Any] = field(default_factory=dict)
    param_schedules: dict[str, Any] = field(default_factory=dict)
    lr_as_tensor: bool = _D.lr_as_tensor
    on_resume_change: str = _D.on_resume_change
    ims_per_batch: int = _D.ims_per_batch
    reference_world_size: int = _D.reference_world_size
    checkpoint_period: Any = _D.checkpoint_period
    interval: Optional[str] = None  # noqa: UP045 (None: unset, "iter" unless args.t_in_epochs says)
    iters_per_epoch: Optional[int] = None  # noqa: UP045


def register_schemas() -> None:
    """Store the schemas in Hydra's ConfigStore (idempotent)."""
    from hydra.core.config_store import ConfigStore

    ConfigStore.instance().store(
        group="schedreg/schema", name="solver", node=SolverSchema, provider="schedreg"
    )
