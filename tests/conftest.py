"""Hypothesis profiles for tests/test_properties.py, picked by SCHEDREG_HYPOTHESIS_PROFILE.

``ci`` (the default): 3 examples per test and scheduler (a few hundred in all), derandomized,
not shrunk, so that a failure costs one example. ``nightly``: 100 per test and scheduler
(10,000+ in all), random, shrunk to a minimal example, with a 2 s deadline per example:
``SCHEDREG_HYPOTHESIS_PROFILE=nightly python -m pytest tests/test_properties.py``.
"""

import os

from hypothesis import Phase, settings

settings.register_profile(
    "ci",
    max_examples=3,
    derandomize=True,
    database=None,
    deadline=None,  # no timing flakiness: tests/test_properties.py stops a hang itself
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    print_blob=True,
)
settings.register_profile("nightly", max_examples=100, database=None, deadline=2000, print_blob=True)
settings.load_profile(os.environ.get("SCHEDREG_HYPOTHESIS_PROFILE", "ci"))
