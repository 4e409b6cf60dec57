"""Shared checks for whole numbers, so every module refuses a bad count in the same words.

A bool is refused though it is an int (``True`` users is a bug, not one user); the message names the value
and the accepted range.
"""

from __future__ import annotations

import attrs

from .errors import InvalidInput, InvalidType

__all__ = ["count_field", "positive_field", "whole"]


def whole(value: object, name: str, *, low: int = 0, high: int | None = None) -> int:
    """``value`` if it is an int (not a bool) in ``[low, high]``; else InvalidType or InvalidInput."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidType(f"{name} must be a whole number, got {value!r}")
    if high is not None:
        if not low <= value <= high:
            raise InvalidInput(f"{name} must be between {low:,} and {high:,}, got {value:,}")
    elif value < low:
        bound = "must not be negative" if low == 0 else f"must be at least {low}"
        raise InvalidInput(f"{name} {bound}, got {value}")
    return value


def count_field(instance: object, attribute: attrs.Attribute[int], value: object) -> None:
    """attrs validator: a whole number, zero or more."""
    whole(value, attribute.name)


def positive_field(instance: object, attribute: attrs.Attribute[int], value: object) -> None:
    """attrs validator: a whole number, one or more."""
    whole(value, attribute.name, low=1)
