"""The torch glue: schedulers that apply schedules to ``optimizer.param_groups``.

All follow detectron2's convention -- the lr used in iteration ``i`` is the one set after
``i`` calls of ``step()`` -- pick up a param group added to the optimizer later (it joins
at the current step), refuse to write a negative or non-finite lr, and take their checks
(resume fingerprint, epochs, step order, outside writes) as one :class:`Guards`.

* :class:`MultiplierLR` (as :class:`MultiplierLambdaLR`, a torch ``LambdaLR`` too),
  :class:`AbsoluteLR` -- closed-form schedules (:mod:`.multiplier`);
* :class:`ScaledLR` -- torch's own schedulers, as instances of torch's classes, times a
  warmup (:mod:`.scaled`);
* :class:`GroupedLR` -- a schedule per param group (:mod:`.grouped`);
* :class:`TimmLR` -- timm's schedules, stepped as timm's are (:mod:`.timm`);
* :class:`GroupView` -- some of an optimizer's groups, as torch's schedulers see them.
"""

from schedreg.adapters.grouped import GroupedLR
from schedreg.adapters.groups import GroupView
from schedreg.adapters.guards import Guards
from schedreg.adapters.multiplier import AbsoluteLR, MultiplierLambdaLR, MultiplierLR
from schedreg.adapters.scaled import ScaledLR
from schedreg.adapters.timm import TimmLR

__all__ = [
    "AbsoluteLR",
    "GroupView",
    "GroupedLR",
    "Guards",
    "MultiplierLR",
    "MultiplierLambdaLR",
    "ScaledLR",
    "TimmLR",
]
