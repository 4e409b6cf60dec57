"""What every adapter shares: argument checks, the unit-of-work life cycle, the gap-free invoice rule."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Self

from .._time import require_aware
from ..errors import InvalidInput, InvalidType, StorageError
from ..ports import records
from ..ports.records import Notification, check_identifier

__all__ = [
    "EPOCH",
    "UnitOfWorkBase",
    "check_count",
    "check_document",
    "check_error",
    "check_identifier",
    "check_keys",
    "check_lease",
    "check_limit",
    "check_notification",
    "check_number",
    "check_storable",
    "check_storable_document",
    "from_micros",
    "to_micros",
    "utc",
]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)


def utc(value: object, name: str = "at") -> datetime:
    """An aware datetime in UTC; naive or non-datetimes refused."""
    return require_aware(value, name).astimezone(UTC)


def to_micros(value: datetime) -> int:
    """An instant as whole microseconds since the epoch: exact, and sorts like the instant."""
    return (value - EPOCH) // _US


def from_micros(value: int) -> datetime:
    return EPOCH + timedelta(microseconds=value)


def check_count(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidType(f"{name} must be a whole number, got {type(value).__name__} {value!r}")
    if value < 0:
        raise InvalidInput(f"{name} must not be negative, got {value}")
    return value


def check_number(value: object, name: str) -> int:
    number = check_count(value, name)
    if number < 1:
        raise InvalidInput(f"{name} must be at least 1, got {number}")
    return number


def check_limit(value: object, name: str = "limit") -> int:
    return check_number(value, name)


def check_keys(keys: object) -> frozenset[str]:
    if isinstance(keys, str) or not isinstance(keys, Iterable):
        raise InvalidType(f"keys must be a collection of strings such as ['referral:K7Q2'], got {keys!r}")
    return frozenset(check_identifier(key, "key") for key in keys)


def check_lease(lease: object) -> timedelta:
    if not isinstance(lease, timedelta):
        raise InvalidType(f"lease must be a timedelta, got {type(lease).__name__} {lease!r}")
    if lease <= timedelta(0):
        raise InvalidInput(f"lease must be positive, got {lease}")
    return lease


# What no adapter can keep in text: NUL (PostgreSQL's text and jsonb refuse it) and lone surrogates (not
# UTF-8, so neither SQLite nor PostgreSQL can encode them). Every adapter, the memory one included, refuses
# them alike, before anything is written.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def check_storable(value: str, name: str) -> str:
    """``value`` if storage can keep it as text; InvalidInput naming the character and where it is if not."""
    found = _UNSTORABLE.search(value)
    if found is not None:
        raise InvalidInput(
            f"{name} holds the character U+{ord(found.group()):04X} at position {found.start()}, which "
            "storage cannot keep (NUL and unpaired surrogates are refused); remove it"
        )
    return value


def check_storable_document(value: object, path: str = "data") -> None:
    """Refuse a (checked) document holding a string storage cannot keep, naming where it is."""
    if isinstance(value, str):
        check_storable(value, path)
    elif isinstance(value, dict):
        for key, item in value.items():
            check_storable(key, f"{path} key {key!r}")
            check_storable_document(item, f"{path}[{key!r}]")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            check_storable_document(item, f"{path}[{index}]")


def check_document(value: object, name: str = "data") -> dict[str, Any]:
    """A deep copy of ``value`` if it is a JSON object every adapter can store (see ``check_storable``)."""
    document = records.check_document(value, name)
    check_storable_document(document, name)
    return document


def check_error(error: object) -> str:
    """A failure description to keep with a message (cut to 2000 characters: it is for an operator).

    A NUL or an unpaired surrogate in it (a mail server's reply may hold anything) becomes U+FFFD: the
    failure must be recorded, not refused.
    """
    if not isinstance(error, str):
        raise InvalidType(f"error must be a string, got {type(error).__name__} {error!r}")
    return _UNSTORABLE.sub("\ufffd", error[:2000])


def check_notification(notification: object) -> Notification:
    if not isinstance(notification, Notification):
        raise InvalidType(
            f"notification must be a cabinet_core.ports.Notification, got {type(notification).__name__}"
        )
    check_storable(notification.subject, "notification subject")
    check_storable(notification.body, "notification body")
    check_storable_document(notification.data, "notification data")
    return notification


class UnitOfWorkBase:
    """The life cycle every adapter's unit of work shares: enter, work, commit or roll back, finished.

    Subclasses implement ``_begin``, ``_commit`` and ``_rollback``. The base refuses use outside a ``with``
    block or after the end, and refuses a commit while an invoice number taken in it has no invoice: that
    number would be a gap in the sequence.
    """

    def __init__(self) -> None:
        self._state = "new"
        self._numbers_taken: set[int] = set()

    # -- life cycle ---------------------------------------------------------------------------------------

    def __enter__(self) -> Self:
        if self._state != "new":
            raise StorageError("a unit of work is entered once; ask the storage for a new one")
        self._begin()
        self._state = "active"
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._state == "active":
            self.rollback()

    def commit(self) -> None:
        self._require_active()
        if self._numbers_taken:
            missing = ", ".join(str(n) for n in sorted(self._numbers_taken))
            self.rollback()
            raise StorageError(
                f"invoice number(s) {missing} were taken but no invoice was stored under them; "
                "nothing was committed (the sequence must stay gap-free)"
            )
        try:
            self._commit()
        except BaseException:
            self._state = "failed"
            self._after_failed_commit()
            raise
        self._state = "committed"

    def rollback(self) -> None:
        if self._state != "active":
            return
        self._state = "rolled back"
        self._rollback()

    def _require_active(self) -> None:
        if self._state != "active":
            if self._state == "new":
                raise StorageError("enter the unit of work first: `with storage.unit_of_work() as uow:`")
            raise StorageError(
                f"this unit of work is finished ({self._state}); ask the storage for a new one"
            )

    # -- the gap-free invoice rule ------------------------------------------------------------------------

    def _number_taken(self, number: int) -> None:
        self._numbers_taken.add(number)

    def _number_used(self, number: int) -> None:
        if number not in self._numbers_taken:
            raise InvalidInput(
                f"invoice number {number} was not taken with next_number() in this unit of work; "
                "take a number and store its invoice in the same unit of work"
            )
        self._numbers_taken.discard(number)

    # -- for subclasses -----------------------------------------------------------------------------------

    def _begin(self) -> None:
        raise NotImplementedError

    def _commit(self) -> None:
        raise NotImplementedError

    def _rollback(self) -> None:
        raise NotImplementedError

    def _after_failed_commit(self) -> None:
        """Clean up after a commit that raised (the driver rolled back); by default, roll back."""
        self._rollback()
