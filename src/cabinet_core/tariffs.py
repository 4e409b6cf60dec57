"""Tariffs, the provider's catalog, and the paid term (Lease).

Placeholder header; the full module follows in the foundation commit.
"""

from __future__ import annotations

from decimal import Decimal

import attrs

from .errors import InvalidInput, InvalidType

__all__ = ["Limits"]


def _non_negative_int(name: str) -> object:
    def check(instance: object, attribute: attrs.Attribute[int], value: object) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidType(f"{name} must be a whole number, got {value!r}")
        if value < 0:
            raise InvalidInput(f"{name} must not be negative, got {value}")

    return check


def _positive_decimal(instance: object, attribute: attrs.Attribute[Decimal], value: object) -> None:
    if not isinstance(value, Decimal) or not value.is_finite() or value <= 0:
        raise InvalidInput(f"{attribute.name} must be a positive number, got {value!r}")


def _to_decimal(value: object) -> object:
    if isinstance(value, int | str) and not isinstance(value, bool):
        try:
            return Decimal(value)
        except ArithmeticError:
            return value
    return value


@attrs.frozen
class Limits:
    """What a tariff allows: users, disk in MB (1 MB = 1,048,576 bytes), mail recipients in any 24 hours,
    and the load norm (the resource use per hour, in the host's units, that counts as load factor 1.0)."""

    users: int = attrs.field(validator=_non_negative_int("users"))  # type: ignore[arg-type]
    disk_mb: int = attrs.field(validator=_non_negative_int("disk_mb"))  # type: ignore[arg-type]
    mail_per_24h: int = attrs.field(validator=_non_negative_int("mail_per_24h"))  # type: ignore[arg-type]
    load_norm: Decimal = attrs.field(default=Decimal(1), converter=_to_decimal, validator=_positive_decimal)

    @property
    def disk_bytes(self) -> int:
        return self.disk_mb * 1_048_576
