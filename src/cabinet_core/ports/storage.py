"""The storage ports: what a unit of work gives the application, and what a storage backend must do.

A host either uses one of our adapters (:func:`cabinet_core.adapters.open_storage`) or writes its own and
proves it with :mod:`cabinet_core.testing`. Everything one use case changes goes through one
:class:`UnitOfWork`: it commits all of it or none of it.

Rules every adapter keeps (the contract suite checks each):

- Accounts are versioned documents: ``add`` stores version 1, ``save`` writes version + 1 only if the stored
  version is still ``expected_version``; otherwise :class:`~cabinet_core.errors.ConcurrencyConflict`,
  nothing written, nothing merged.
- Invoice numbers come from one gap-free sequence: a number is taken in the unit of work that stores the
  invoice, so a rollback gives it back.
- A payment id is recorded at most once (:meth:`PaymentStore.record` says whether it was new); the caller
  extends the term only when it was.
- History is append-only. The outbox is written in the same transaction as the change that caused it.
- The mail ledger decides exactly as :class:`cabinet_core.quotas.MailWindow` would on the same entries, and
  concurrent reservations, from any number of processes, never oversell.
- Instants are timezone-aware on the way in and come back in UTC. Driver errors become
  :class:`~cabinet_core.errors.StorageError`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from .records import (
    HistoryRecord,
    Notification,
    OutboxMessage,
    RejectedPayment,
    StoredAccount,
    StoredInvoice,
    StoredPayment,
)

if TYPE_CHECKING:
    from ..quotas import MailWindow, Reservation

__all__ = [
    "AccountStore",
    "HistoryLog",
    "InvoiceStore",
    "MailLedger",
    "Outbox",
    "PaymentStore",
    "Storage",
    "UnitOfWork",
]


@runtime_checkable
class AccountStore(Protocol):
    """Accounts as versioned JSON documents, with unique lookup keys (referral code, own domain)."""

    def get(self, account_id: str) -> StoredAccount:
        """The stored account; :class:`~cabinet_core.errors.AccountNotFound` if there is none."""
        ...

    def find_by_key(self, key: str) -> StoredAccount | None:
        """The account holding the lookup key ``key``, or ``None``."""
        ...

    def add(self, account_id: str, data: dict[str, Any], *, keys: Iterable[str] = ()) -> StoredAccount:
        """Store a new account at version 1.

        :class:`~cabinet_core.ports.AccountExists` if the id is taken, :class:`~cabinet_core.ports.KeyTaken`
        if a key belongs to another account.
        """
        ...

    def save(
        self,
        account_id: str,
        data: dict[str, Any],
        *,
        expected_version: int,
        keys: Iterable[str] | None = None,
    ) -> StoredAccount:
        """Replace the document if it is still at ``expected_version``; return it at the next version.

        ``keys`` replaces the account's lookup keys (``None`` keeps them). A stale version raises
        :class:`~cabinet_core.errors.ConcurrencyConflict` and writes nothing.
        """
        ...

    def ids(self, *, after: str | None = None, limit: int = 1000) -> list[str]:
        """Account ids in ascending order, starting after ``after``: a page for batch jobs."""
        ...


@runtime_checkable
class InvoiceStore(Protocol):
    """Invoices under numbers from one gap-free sequence."""

    def next_number(self) -> int:
        """Take the next invoice number (1, 2, 3, ...). Given back if the unit of work does not commit.

        Every number taken must be stored with :meth:`add` before commit, or the commit is refused.
        """
        ...

    def add(self, number: int, account_id: str, data: dict[str, Any], *, at: datetime) -> StoredInvoice:
        """Store the invoice under a number taken with :meth:`next_number` in this unit of work."""
        ...

    def get(self, number: int) -> StoredInvoice:
        """The invoice; :class:`~cabinet_core.ports.InvoiceNotFound` if there is none."""
        ...

    def for_account(self, account_id: str) -> list[StoredInvoice]:
        """The account's invoices, by number."""
        ...


@runtime_checkable
class PaymentStore(Protocol):
    """Payments applied exactly once by payment id; mismatched ones kept for review."""

    def record(self, payment_id: str, account_id: str, data: dict[str, Any], *, at: datetime) -> bool:
        """Record the payment unless its id is already recorded; ``True`` when it was new.

        Across processes only one unit of work recording an id gets ``True``; the others wait for it to
        finish and get ``False`` (or ``True`` if it rolled back).
        """
        ...

    def get(self, payment_id: str) -> StoredPayment | None:
        """The recorded payment with this id, or ``None``."""
        ...

    def reject(
        self, payment_id: str, account_id: str, reason: str, data: dict[str, Any], *, at: datetime
    ) -> bool:
        """Keep a payment that did not match, for review; ``True`` unless this id was already kept."""
        ...

    def rejected(self, account_id: str | None = None) -> list[RejectedPayment]:
        """Rejected payments (of one account, or all), oldest first."""
        ...


@runtime_checkable
class HistoryLog(Protocol):
    """The append-only history of each account."""

    def append(self, account_id: str, *, at: datetime, kind: str, data: dict[str, Any]) -> int:
        """Append an entry; return its sequence number (increasing in append order)."""
        ...

    def for_account(self, account_id: str) -> list[HistoryRecord]:
        """The account's entries in the order they were appended."""
        ...


@runtime_checkable
class Outbox(Protocol):
    """Notifications written with the change that caused them, delivered after commit by a dispatcher."""

    def enqueue(
        self, notification: Notification, *, at: datetime, dedup_key: str | None = None
    ) -> int | None:
        """Queue a notification for delivery from ``at``: its id, or ``None`` if ``dedup_key`` was used.

        ``dedup_key`` makes scheduled notices idempotent ("term ending in 7 days" for one term, once).
        """
        ...

    def claim(self, *, at: datetime, lease: timedelta, limit: int, claim: str) -> list[OutboxMessage]:
        """Mark up to ``limit`` due messages as being sent by ``claim`` until ``at + lease``; return them.

        Due: pending with ``next_attempt_at <= at``, or being sent under a lease that ended (the
        dispatcher holding it died). Two dispatchers never hold the same message at once.
        """
        ...

    def mark_sent(self, message_id: int, *, claim: str, at: datetime) -> bool:
        """Record delivery; ``False`` (and nothing changed) if ``claim`` no longer holds the message."""
        ...

    def mark_failed(
        self, message_id: int, *, claim: str, at: datetime, error: str, retry_at: datetime | None
    ) -> bool:
        """Record a failed attempt: retry from ``retry_at``, or give up (dead, kept) when it is ``None``.

        ``False`` (and nothing changed) if ``claim`` no longer holds the message.
        """
        ...

    def messages(self, account_id: str | None = None) -> list[OutboxMessage]:
        """Every message (of one account, or all) in the order queued, whatever its status."""
        ...


@runtime_checkable
class MailLedger(Protocol):
    """Each account's sends over the rolling window (t - 24 h, t], reserved atomically.

    The ledger locks the account's entries for the rest of the unit of work, replays them through
    :class:`~cabinet_core.quotas.MailWindow` and stores what it grants, so its answers (including
    ``retry_at`` in :class:`~cabinet_core.errors.QuotaExceeded`) are exactly the pure model's.
    """

    def reserve(
        self, account_id: str, n: int, *, limit: int, at: datetime, partial: bool = False
    ) -> Reservation:
        """Reserve ``n`` recipients at ``at`` under ``limit`` per 24 h, as ``MailWindow.reserve`` would."""
        ...

    def release(self, account_id: str, reservation: Reservation, *, at: datetime) -> None:
        """Give a reservation's capacity back (the send failed), as ``MailWindow.release`` would."""
        ...

    def window(self, account_id: str, *, limit: int, at: datetime) -> MailWindow:
        """A snapshot of the account's window at ``at``, for ``used``, ``available`` and ``plan``."""
        ...

    def entries(self, account_id: str, *, at: datetime) -> list[tuple[datetime, int]]:
        """The stored grants still inside the window at ``at``, oldest first: ``(instant, count)`` pairs."""
        ...


@runtime_checkable
class UnitOfWork(Protocol):
    """One use case's transaction: every repository below, committed together or not at all.

    Use it as a context manager; leaving the block without :meth:`commit` (or by an exception) rolls
    everything back. After :meth:`commit` or :meth:`rollback` the unit of work is finished.
    """

    @property
    def accounts(self) -> AccountStore: ...

    @property
    def invoices(self) -> InvoiceStore: ...

    @property
    def payments(self) -> PaymentStore: ...

    @property
    def history(self) -> HistoryLog: ...

    @property
    def outbox(self) -> Outbox: ...

    @property
    def mail(self) -> MailLedger: ...

    def __enter__(self) -> UnitOfWork: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None:
        """Make every change of this unit of work durable and visible, or raise and keep none."""
        ...

    def rollback(self) -> None:
        """Discard every change of this unit of work."""
        ...


@runtime_checkable
class Storage(Protocol):
    """A storage backend: hands out units of work. Built once by the host and passed in."""

    @property
    def url(self) -> str:
        """Where the data lives, for logs (a password in a URL is masked)."""
        ...

    def unit_of_work(self) -> UnitOfWork:
        """A new unit of work; enter it with ``with``."""
        ...

    def close(self) -> None:
        """Release connections and files. The storage is unusable afterwards."""
        ...
