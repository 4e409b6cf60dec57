"""The append-only history of an account's paid term and settings changes.

Every change to the paid term (extension, payment, tariff change, configuration switch, bonus spent) is an
entry with who made it and why, so the current state can be explained and audited. Entries are values; the
storage appends them and never updates or deletes one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any

import attrs

from ._time import utc_field
from .errors import InvalidInput, InvalidType

__all__ = ["HistoryEntry"]

_KIND = re.compile(r"[a-z][a-z0-9_.]{0,62}")


def _freeze(value: object) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidType(f"history data must be a mapping, got {value!r}")
    return MappingProxyType(dict(value))


def _text(limit: int) -> Any:
    def check(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
        if not isinstance(value, str):
            raise InvalidType(f"{attribute.name} must be a string, got {value!r}")
        if len(value) > limit or any(ord(c) < 32 and c not in "\t" for c in value):
            raise InvalidInput(f"{attribute.name} must be at most {limit} printable characters")

    return check


def _utc_at(value: object) -> datetime:
    return utc_field("at")(value)


@attrs.frozen
class HistoryEntry:
    """One recorded change: when, what kind, who did it, why, and the figures before and after."""

    at: datetime = attrs.field(converter=_utc_at)
    kind: str = attrs.field()
    actor: str = attrs.field(validator=_text(200))
    reason: str = attrs.field(default="", validator=_text(500))
    data: Mapping[str, Any] = attrs.field(factory=dict, converter=_freeze, eq=False)

    @kind.validator
    def _kind(self, attribute: attrs.Attribute[str], value: object) -> None:
        if not isinstance(value, str) or not _KIND.fullmatch(value):
            raise InvalidInput(f"history kind {value!r} must be a lowercase word such as 'tariff_change'")

    def to_dict(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "kind": self.kind,
            "actor": self.actor,
            "reason": self.reason,
            "data": dict(self.data),
        }

    @classmethod
    def from_dict(cls, row: Mapping[str, Any]) -> HistoryEntry:
        return cls(
            at=datetime.fromisoformat(row["at"]),
            kind=row["kind"],
            actor=row["actor"],
            reason=row.get("reason", ""),
            data=row.get("data", {}),
        )
