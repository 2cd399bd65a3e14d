"""The pure math of schedules: functions of the integer step, no torch, Hydra or OmegaConf.

* :mod:`~schedreg.schedules.core` -- the :class:`Schedule` protocol and its combinators;
* :mod:`~schedreg.schedules.warmup` -- warmup shapes and :class:`Warmup`, which joins a
  warmup onto any schedule;
* :mod:`~schedreg.schedules.piecewise` -- poly decay, step tables, curves through points;
* :mod:`~schedreg.schedules.detectron2`, :mod:`~schedreg.schedules.transformers`,
  :mod:`~schedreg.schedules.timm` -- each peer's formulas, float for float.
"""

from schedreg.schedules.core import Constant, LrSchedule, Product, Schedule, curve_of
from schedreg.schedules.piecewise import Interpolated, PolyDecay, Stepwise
from schedreg.schedules.warmup import WARMUP_METHODS, Warmup, interpolate

__all__ = [
    "WARMUP_METHODS",
    "Constant",
    "Interpolated",
    "LrSchedule",
    "PolyDecay",
    "Product",
    "Schedule",
    "Stepwise",
    "Warmup",
    "curve_of",
    "interpolate",
]
