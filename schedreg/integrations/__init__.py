"""What sits on top of the factory: the ``schedreg`` command and its previews, Lightning,
and building the optimizer and its param groups from the same config."""
