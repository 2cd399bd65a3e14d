"""How far a preview goes: the most steps evaluated at all, and one at a time. A typo in a
step count is then an error naming the limit, never a hang or an exhausted memory."""

MAX_CURVE_STEPS = 10**7
"""The most steps :func:`lr_curve` returns: 80 MB of float64, a few hundred MB while it is
computed (under a second). 10**8 steps took 3-5 GB and 20 s: a run that long is read at
sampled steps (:func:`lrs_at`, ``schedreg show``)."""

MAX_STEPPED_STEPS = 10**6
"""The most steps a schedule is evaluated one at a time -- a torch scheduler stepped, a timm
schedule called -- at 4-10 us a step: about 10 s."""
