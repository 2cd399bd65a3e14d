"""The one exception type users see for a bad config."""


class ConfigError(ValueError):
    """A config value is invalid.

    The message always names the key path as the user wrote it (``solver.steps``
    or ``SOLVER.STEPS``), the offending value, and what is allowed.
    """
