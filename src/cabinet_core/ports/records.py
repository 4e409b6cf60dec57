"""The values the storage ports take and return: stored documents, payments, history, notifications.

Storage keeps the application's aggregates as opaque JSON documents with a version; these records are what
comes back. They validate at construction like every value of cabinet_core, so an adapter (ours or a
host's) cannot hand the application a malformed row.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

import attrs

from .._checks import count_field, positive_field
from .._time import utc_field
from ..errors import ConcurrencyConflict, InvalidInput, InvalidType, NotFound

__all__ = [
    "AccountExists",
    "HistoryRecord",
    "InvoiceNotFound",
    "KeyTaken",
    "Notification",
    "OutboxMessage",
    "OutboxStatus",
    "RejectedPayment",
    "StoredAccount",
    "StoredInvoice",
    "StoredPayment",
    "check_document",
    "check_identifier",
]

_MAX_ID = 200


class AccountExists(ConcurrencyConflict):
    """An account with this id already exists (added by someone else first); nothing was written."""


class KeyTaken(ConcurrencyConflict):
    """A lookup key (a referral code, a domain) already belongs to another account; nothing was written."""

    def __init__(self, message: str, *, key: str) -> None:
        super().__init__(message)
        self.key = key


class InvoiceNotFound(NotFound):
    """No invoice has this number."""


def check_identifier(value: object, name: str) -> str:
    """Return ``value`` if it is a usable identifier (1-200 printable characters), else refuse it clearly."""
    if not isinstance(value, str):
        raise InvalidType(f"{name} must be a string, got {type(value).__name__} {value!r}")
    if not value or len(value) > _MAX_ID or not value.isprintable() or value != value.strip():
        raise InvalidInput(
            f"{name} {value!r} is not acceptable: use 1 to {_MAX_ID} printable characters "
            "without leading or trailing spaces"
        )
    return value


def check_document(value: object, name: str = "data") -> dict[str, Any]:
    """A deep copy of ``value`` if it is a JSON object (str keys; str, int, float, bool, None, lists, dicts).

    Every adapter stores documents as JSON, so the memory adapter refuses exactly what the SQL ones would:
    datetimes, Decimals, sets, NaN. The copy means a caller mutating its dict later changes nothing stored.
    """
    if not isinstance(value, Mapping):
        raise InvalidType(f"{name} must be a mapping (a JSON object), got {type(value).__name__}")
    _string_keys(value, name)
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise InvalidInput(
            f"{name} must be JSON-able (str, int, float, bool, None, lists and str-keyed mappings): {exc}"
        ) from None
    decoded = json.loads(text)
    if not isinstance(decoded, dict):  # pragma: no cover - a Mapping always encodes to an object
        raise InvalidType(f"{name} must be a JSON object")
    return decoded


def _string_keys(value: object, path: str) -> None:
    # json.dumps would quietly turn {1: ...} into {"1": ...}; a document must read back as it was written
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidInput(f"{path} has the key {key!r}; JSON object keys must be strings")
            _string_keys(item, f"{path}[{key!r}]")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _string_keys(item, f"{path}[{index}]")


def _document(value: object) -> dict[str, Any]:
    return check_document(value)


def _identifier(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    check_identifier(value, attribute.name)


def _keys(value: object) -> frozenset[str]:
    if isinstance(value, str) or not isinstance(value, frozenset | set | tuple | list):
        raise InvalidType(f"keys must be a collection of strings, got {value!r}")
    return frozenset(check_identifier(key, "key") for key in value)


def _text(limit: int) -> Any:
    def check(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
        if not isinstance(value, str):
            raise InvalidType(f"{attribute.name} must be a string, got {type(value).__name__}")
        if len(value) > limit:
            raise InvalidInput(f"{attribute.name} must be at most {limit} characters, got {len(value)}")

    return check


def _at(value: object) -> datetime:
    return utc_field("at")(value)


def _enqueued_at(value: object) -> datetime:
    return utc_field("enqueued_at")(value)


def _next_attempt_at(value: object) -> datetime:
    return utc_field("next_attempt_at")(value)


def _optional_utc(value: object) -> datetime | None:
    return None if value is None else utc_field("sent_at")(value)


@attrs.frozen
class StoredAccount:
    """An account document as stored: its id, its version (1 when added, +1 on every save) and its data.

    ``keys`` are the unique lookup keys the account holds (say ``"referral:K7Q2"``, ``"domain:shop.ru"``),
    found again with :meth:`AccountStore.find_by_key`.
    """

    id: str = attrs.field(validator=_identifier)
    version: int = attrs.field(validator=positive_field)
    data: dict[str, Any] = attrs.field(converter=_document)
    keys: frozenset[str] = attrs.field(default=frozenset(), converter=_keys)


@attrs.frozen
class StoredInvoice:
    """An invoice document under its gap-free number."""

    number: int = attrs.field(validator=positive_field)
    account_id: str = attrs.field(validator=_identifier)
    at: datetime = attrs.field(converter=_at)
    data: dict[str, Any] = attrs.field(converter=_document)


@attrs.frozen
class StoredPayment:
    """A payment applied to an account, recorded once under the payment id the gateway or bank gave it."""

    payment_id: str = attrs.field(validator=_identifier)
    account_id: str = attrs.field(validator=_identifier)
    at: datetime = attrs.field(converter=_at)
    data: dict[str, Any] = attrs.field(converter=_document)


@attrs.frozen
class RejectedPayment:
    """A payment that did not match its invoice: kept for an operator to review, applied to nothing."""

    payment_id: str = attrs.field(validator=_identifier)
    account_id: str = attrs.field(validator=_identifier)
    at: datetime = attrs.field(converter=_at)
    reason: str = attrs.field(validator=_text(2000))
    data: dict[str, Any] = attrs.field(converter=_document)


@attrs.frozen
class HistoryRecord:
    """One append-only history entry of an account; ``seq`` orders entries in the order they were appended."""

    seq: int = attrs.field(validator=positive_field)
    account_id: str = attrs.field(validator=_identifier)
    at: datetime = attrs.field(converter=_at)
    kind: str = attrs.field(validator=_identifier)
    data: dict[str, Any] = attrs.field(converter=_document)


def _recipients(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        value = (value,)
    if not isinstance(value, tuple | list) or not value:
        raise InvalidInput(f"to must name at least one recipient address, got {value!r}")
    return tuple(check_identifier(address, "recipient") for address in value)


@attrs.frozen
class Notification:
    """A message to deliver after commit: already rendered (subject, body) in the account's language.

    ``data`` carries the figures for a host whose mailer renders its own templates; ``kind`` names the
    event (``"invoice_issued"``, ``"term_ending"``, ...).
    """

    account_id: str = attrs.field(validator=_identifier)
    kind: str = attrs.field(validator=_identifier)
    to: tuple[str, ...] = attrs.field(converter=_recipients)
    subject: str = attrs.field(validator=_text(998))  # RFC 5322's line limit bounds a subject
    body: str = attrs.field(validator=_text(1_000_000))
    data: dict[str, Any] = attrs.field(factory=dict, converter=_document)

    def to_dict(self) -> dict[str, Any]:
        """The notification as a JSON object (how the SQL adapters store it)."""
        return {
            "account_id": self.account_id,
            "kind": self.kind,
            "to": list(self.to),
            "subject": self.subject,
            "body": self.body,
            "data": self.data,
        }

    @classmethod
    def from_dict(cls, row: Mapping[str, Any]) -> Notification:
        return cls(
            account_id=row["account_id"],
            kind=row["kind"],
            to=tuple(row["to"]),
            subject=row["subject"],
            body=row["body"],
            data=row.get("data", {}),
        )


class OutboxStatus(StrEnum):
    PENDING = "pending"  # waiting for its next attempt (``next_attempt_at``)
    SENDING = "sending"  # claimed by a dispatcher until its lease ends
    SENT = "sent"
    DEAD = "dead"  # given up after too many failures; kept for review, never dropped silently


@attrs.frozen
class OutboxMessage:
    """A notification in the outbox, with its delivery state.

    ``claim`` is the token of the dispatcher that holds it (status ``sending``); only that token can mark
    it sent or failed, so a dispatcher whose lease ran out cannot overwrite the next one's result.
    """

    id: int = attrs.field(validator=positive_field)
    notification: Notification
    status: OutboxStatus = attrs.field(converter=OutboxStatus)
    enqueued_at: datetime = attrs.field(converter=_enqueued_at)
    next_attempt_at: datetime = attrs.field(converter=_next_attempt_at)
    attempts: int = attrs.field(validator=count_field)
    last_error: str = ""
    claim: str | None = None
    sent_at: datetime | None = attrs.field(default=None, converter=_optional_utc)

    @property
    def message_id(self) -> str:
        """A stable id for the mailer to deduplicate on (``Message-ID``-like): the same across retries."""
        return f"cabinet-outbox-{self.id}"
