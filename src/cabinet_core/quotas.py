"""Quotas: users, disk, the exact rolling-24-hour mail window, and the load factor.

Downgrade checks live here too: :func:`check_downgrade` lists every limit that usage breaks.
"""

from __future__ import annotations

import attrs

from .errors import InvalidInput, InvalidType
from .tariffs import Limits

__all__ = ["MB", "Usage", "check_downgrade", "format_mb"]

MB = 1_048_576  # bytes in the MB shown on the page


def _count(instance: object, attribute: attrs.Attribute[int], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidType(f"{attribute.name} must be a whole number, got {value!r}")
    if value < 0:
        raise InvalidInput(f"{attribute.name} must not be negative, got {value}")


@attrs.frozen
class Usage:
    """What an account uses now: users created and disk in bytes."""

    users: int = attrs.field(default=0, validator=_count)
    disk_bytes: int = attrs.field(default=0, validator=_count)


def format_mb(n_bytes: int) -> str:
    """Bytes as whole MB, rounded up (a byte over is an MB over), with thousands separators."""
    return f"{-(-n_bytes // MB):,} MB"


def check_downgrade(usage: Usage, limits: Limits) -> tuple[str, ...]:
    """Every limit of ``limits`` that ``usage`` breaks, as phrases like ``"users 12 > 10"``; empty if none."""
    broken: list[str] = []
    if usage.users > limits.users:
        broken.append(f"users {usage.users} > {limits.users}")
    if usage.disk_bytes > limits.disk_bytes:
        broken.append(f"disk {format_mb(usage.disk_bytes)} > {limits.disk_mb:,} MB")
    return tuple(broken)
