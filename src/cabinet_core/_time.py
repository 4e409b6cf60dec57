"""Small helpers for instants: refuse naive datetimes, load IANA zones with clear errors."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import InvalidInput, InvalidType, NaiveDatetime

__all__ = ["DEFAULT_TZ", "require_aware", "to_utc", "utc_field", "zone"]

DEFAULT_TZ = "Europe/Moscow"


def require_aware(value: object, name: str = "at") -> datetime:
    """Return ``value`` if it is a timezone-aware datetime; refuse anything else with a clear error."""
    if not isinstance(value, datetime):
        raise InvalidType(f"{name} must be a timezone-aware datetime, got {type(value).__name__} {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise NaiveDatetime(
            f"{name} must be timezone-aware, got naive {value.isoformat()}; "
            "attach a zone, e.g. datetime(..., tzinfo=ZoneInfo('Europe/Moscow'))"
        )
    return value


def to_utc(value: datetime, name: str = "at") -> datetime:
    """The same instant, in UTC (after checking it is aware)."""
    return require_aware(value, name).astimezone(UTC)


@lru_cache(maxsize=256)
def _zone(key: str) -> ZoneInfo:
    return ZoneInfo(key)


def zone(key: object, name: str = "tz") -> ZoneInfo:
    """Load an IANA time zone by name, or raise :class:`InvalidInput` naming it."""
    if isinstance(key, ZoneInfo):
        return key
    if not isinstance(key, str):
        raise InvalidType(f"{name} must be an IANA zone name such as 'Europe/Moscow', got {key!r}")
    try:
        return _zone(key)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise InvalidInput(
            f"{name} {key!r} is not a known IANA time zone; use a name such as 'Europe/Moscow'"
        ) from exc


def utc_field(name: str) -> Callable[[object], datetime]:
    """An attrs converter: refuse a naive or non-datetime value, store the instant in UTC.

    Bind it to a module-level name (``_at = utc_field("at")``) so mypy's attrs plugin can type it.
    """

    def convert(value: object) -> datetime:
        return require_aware(value, name).astimezone(UTC)

    return convert
