"""Lightning: what ``LightningModule.configure_optimizers`` returns, from a config.

    def configure_optimizers(self):
        return schedreg.lightning.configure_optimizers(self.cfg, self)

Lightning is optional; this module imports nothing from it.
"""

from __future__ import annotations

from typing import Any

import torch

from schedreg.config.parse import solver_config
from schedreg.config.units import Units
from schedreg.factory import build_lr_scheduler
from schedreg.integrations.optimizers import build_optimizer


def configure_optimizers(
    cfg: Any,
    module: torch.nn.Module,
    *,
    interval: str | None = None,
    frequency: int = 1,
    monitor: str = "val_loss",
) -> dict[str, Any]:
    """The optimizer (:func:`~schedreg.build_optimizer` over ``module``) and its scheduler
    config, as Lightning takes it.

    Args:
        cfg: the config holding the solver node.
        module: the LightningModule (any ``nn.Module``).
        interval: ``"step"`` steps the scheduler every optimizer step, schedreg's
            convention; ``"epoch"`` every epoch. Default: ``"epoch"`` for a schedule
            stepped per epoch (``solver.interval: epoch`` without ``iters_per_epoch``) and
            for a plateau schedule not converted from epochs, else ``"step"``.
        frequency: steps the scheduler every ``frequency`` intervals.
        monitor: the logged metric a plateau schedule watches.
    """
    if interval not in (None, "step", "epoch"):
        raise ValueError(f"interval must be 'step' or 'epoch', got {interval!r}")
    solver = solver_config(cfg)
    optimizer = build_optimizer(solver, module)
    scheduler = build_lr_scheduler(solver, optimizer)
    plateau = bool(getattr(scheduler, "takes_metric", False))
    config: dict[str, Any] = {
        "scheduler": scheduler,
        "interval": interval or _interval(solver.units, plateau),
        "frequency": frequency,
        "name": solver.lr_scheduler_name,
        "reduce_on_plateau": plateau,  # Lightning then passes the metric to step()
    }
    if plateau:
        config["monitor"] = monitor
    return {"optimizer": optimizer, "lr_scheduler": config}


def _interval(units: Units, plateau: bool) -> str:
    """Per epoch for a schedule stepped once per epoch, and for a plateau schedule (its
    metric is usually an epoch's) unless it was converted from epochs to iterations."""
    if units.step_unit == "epoch" or (plateau and units.interval == "iter"):
        return "epoch"
    return "step"
