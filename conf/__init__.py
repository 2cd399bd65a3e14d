"""schedreg's Hydra config groups, importable as ``schedreg.conf`` (``pkg://schedreg.conf``)."""
