"""Module-level ``lr_lambda`` functions, referenced from configs by dotted path."""

from __future__ import annotations


def halve_every_10(step: int) -> float:
    """LambdaLR: a multiplier of the base lr."""
    return 0.5 ** (step // 10)


def inverse_sqrt(step: int) -> float:
    """LambdaLR: a multiplier of the base lr."""
    return 1.0 / (1.0 + step) ** 0.5


def shrink(step: int) -> float:
    """MultiplicativeLR: the factor applied at each step."""
    return 0.97


def shrink_slowly(step: int) -> float:
    """MultiplicativeLR: the factor applied at each step."""
    return 0.99 if step % 2 else 0.95


def negative_after_start(step: int) -> float:
    """LambdaLR: a buggy user function whose multiplier turns negative."""
    return 1.0 if step == 0 else -0.5
