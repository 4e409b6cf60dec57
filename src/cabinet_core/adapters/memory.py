"""The in-memory adapter: every port in plain dicts, for tests, demos and the model the others are held to.

One unit of work at a time holds the storage's lock (units of work are serialised, as on SQLite); each
change records how to undo itself, so a rollback restores exactly the state before. Documents are copied
through JSON on the way in and out, so this adapter refuses and returns exactly what the SQL ones do.
Data lives as long as the object: nothing is shared between processes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import attrs

from ..errors import AccountNotFound, ConcurrencyConflict, StorageError
from ..ports.records import (
    AccountExists,
    HistoryRecord,
    InvoiceNotFound,
    KeyTaken,
    Notification,
    OutboxMessage,
    OutboxStatus,
    RejectedPayment,
    StoredAccount,
    StoredInvoice,
    StoredPayment,
)
from . import _ledger
from ._common import (
    UnitOfWorkBase,
    check_count,
    check_document,
    check_error,
    check_identifier,
    check_keys,
    check_lease,
    check_limit,
    check_notification,
    check_number,
    check_storable,
    check_storable_document,
    from_micros,
    to_micros,
    utc,
)

if TYPE_CHECKING:
    from ..quotas import MailWindow, Reservation

__all__ = ["MemoryStorage", "MemoryUnitOfWork"]


@attrs.frozen
class _Grant:
    id: int
    at_us: int
    count: int
    released: bool


@attrs.define
class _State:
    accounts: dict[str, StoredAccount] = attrs.Factory(dict)
    keys: dict[str, str] = attrs.Factory(dict)
    invoice_counter: int = 0
    invoices: dict[int, StoredInvoice] = attrs.Factory(dict)
    payments: dict[str, StoredPayment] = attrs.Factory(dict)
    rejected: dict[str, RejectedPayment] = attrs.Factory(dict)
    history: list[HistoryRecord] = attrs.Factory(list)
    outbox: dict[int, OutboxMessage] = attrs.Factory(dict)
    lease_until: dict[int, datetime] = attrs.Factory(dict)
    dedup_keys: dict[str, int] = attrs.Factory(dict)
    outbox_seq: int = 0
    # account id -> its mail grants, oldest first
    mail: dict[str, list[_Grant]] = attrs.Factory(dict)
    mail_seq: int = 0


class MemoryStorage:
    """All ports in memory. ``memory://`` in :func:`~cabinet_core.adapters.open_storage`."""

    def __init__(self) -> None:
        self._state = _State()
        self._lock = threading.Lock()
        self._owner: int | None = None
        self._closed = False

    @property
    def url(self) -> str:
        return "memory://"

    def unit_of_work(self) -> MemoryUnitOfWork:
        if self._closed:
            raise StorageError("this storage is closed")
        return MemoryUnitOfWork(self)

    def close(self) -> None:
        self._closed = True

    def _acquire(self) -> None:
        if self._owner == threading.get_ident():
            raise StorageError(
                "a unit of work is already open in this thread; finish it before opening another"
            )
        self._lock.acquire()
        self._owner = threading.get_ident()

    def _release(self) -> None:
        self._owner = None
        self._lock.release()


class MemoryUnitOfWork(UnitOfWorkBase):
    """A unit of work over :class:`MemoryStorage`; see :class:`cabinet_core.ports.UnitOfWork`."""

    def __init__(self, storage: MemoryStorage) -> None:
        super().__init__()
        self._storage = storage
        self._s = storage._state
        self._undo: list[Callable[[], None]] = []
        self.accounts = _Accounts(self)
        self.invoices = _Invoices(self)
        self.payments = _Payments(self)
        self.history = _History(self)
        self.outbox = _Outbox(self)
        self.mail = _Mail(self)

    def _begin(self) -> None:
        self._storage._acquire()

    def _commit(self) -> None:
        self._undo.clear()
        self._storage._release()

    def _rollback(self) -> None:
        try:
            for undo in reversed(self._undo):
                undo()
        finally:
            self._undo.clear()
            self._storage._release()

    def _after_failed_commit(self) -> None:  # pragma: no cover - committing a dict cannot fail
        self._rollback()

    # change helpers that remember how to undo themselves

    def _set(self, mapping: dict[Any, Any], key: object, value: object) -> None:
        self._require_active()
        missing = key not in mapping
        old = mapping.get(key)
        mapping[key] = value
        self._undo.append(lambda: mapping.pop(key) if missing else mapping.__setitem__(key, old))

    def _delete(self, mapping: dict[Any, Any], key: object) -> None:
        self._require_active()
        old = mapping.pop(key)
        self._undo.append(lambda: mapping.__setitem__(key, old))

    def _attr(self, name: str, value: object) -> None:
        self._require_active()
        old = getattr(self._s, name)
        setattr(self._s, name, value)
        self._undo.append(lambda: setattr(self._s, name, old))

    def _append(self, items: list[Any], value: object) -> None:
        self._require_active()
        items.append(value)
        self._undo.append(items.pop)

    def _read(self) -> _State:
        self._require_active()
        return self._s


def _copy(account: StoredAccount) -> StoredAccount:
    # the converter deep-copies the document, so the caller never holds the stored dict
    return attrs.evolve(account, data=account.data)


class _Accounts:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow

    def get(self, account_id: str) -> StoredAccount:
        check_identifier(account_id, "account_id")
        account = self._uow._read().accounts.get(account_id)
        if account is None:
            raise AccountNotFound(f"no account has the id {account_id!r}")
        return _copy(account)

    def find_by_key(self, key: str) -> StoredAccount | None:
        check_identifier(key, "key")
        state = self._uow._read()
        owner = state.keys.get(key)
        return None if owner is None else _copy(state.accounts[owner])

    def add(self, account_id: str, data: dict[str, Any], *, keys: Iterable[str] = ()) -> StoredAccount:
        check_identifier(account_id, "account_id")
        document, wanted = check_document(data), check_keys(keys)
        state = self._uow._read()
        if account_id in state.accounts:
            raise AccountExists(f"an account with the id {account_id!r} already exists")
        self._check_keys(state, account_id, wanted)
        account = StoredAccount(id=account_id, version=1, data=document, keys=wanted)
        self._uow._set(state.accounts, account_id, account)
        for key in wanted:
            self._uow._set(state.keys, key, account_id)
        return _copy(account)

    def save(
        self,
        account_id: str,
        data: dict[str, Any],
        *,
        expected_version: int,
        keys: Iterable[str] | None = None,
    ) -> StoredAccount:
        check_identifier(account_id, "account_id")
        check_number(expected_version, "expected_version")
        document = check_document(data)
        wanted = None if keys is None else check_keys(keys)
        state = self._uow._read()
        current = state.accounts.get(account_id)
        if current is None:
            raise AccountNotFound(f"no account has the id {account_id!r}")
        if current.version != expected_version:
            raise ConcurrencyConflict(
                f"account {account_id!r} was changed meanwhile: it is at version {current.version}, "
                f"this change was based on version {expected_version}; reload it and try again"
            )
        if wanted is None:
            wanted = current.keys
        else:
            self._check_keys(state, account_id, wanted)
            for key in current.keys - wanted:
                self._uow._delete(state.keys, key)
            for key in wanted - current.keys:
                self._uow._set(state.keys, key, account_id)
        account = StoredAccount(id=account_id, version=current.version + 1, data=document, keys=wanted)
        self._uow._set(state.accounts, account_id, account)
        return _copy(account)

    def ids(self, *, after: str | None = None, limit: int = 1000) -> list[str]:
        check_limit(limit)
        if after is not None:
            check_identifier(after, "after")
        return sorted(i for i in self._uow._read().accounts if after is None or i > after)[:limit]

    @staticmethod
    def _check_keys(state: _State, account_id: str, wanted: frozenset[str]) -> None:
        for key in sorted(wanted):
            owner = state.keys.get(key)
            if owner is not None and owner != account_id:
                raise KeyTaken(f"the key {key!r} already belongs to another account", key=key)


class _Invoices:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow

    def next_number(self) -> int:
        number = self._uow._read().invoice_counter + 1
        self._uow._attr("invoice_counter", number)
        self._uow._number_taken(number)
        return number

    def add(self, number: int, account_id: str, data: dict[str, Any], *, at: datetime) -> StoredInvoice:
        check_number(number, "number")
        invoice = StoredInvoice(number=number, account_id=account_id, at=utc(at), data=data)
        check_storable_document(invoice.data)
        state = self._uow._read()
        self._uow._number_used(number)
        self._uow._set(state.invoices, number, invoice)
        return attrs.evolve(invoice)

    def get(self, number: int) -> StoredInvoice:
        check_number(number, "number")
        invoice = self._uow._read().invoices.get(number)
        if invoice is None:
            raise InvoiceNotFound(f"no invoice has the number {number}")
        return attrs.evolve(invoice)

    def for_account(self, account_id: str) -> list[StoredInvoice]:
        check_identifier(account_id, "account_id")
        invoices = self._uow._read().invoices
        return [attrs.evolve(invoices[n]) for n in sorted(invoices) if invoices[n].account_id == account_id]


class _Payments:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow

    def record(self, payment_id: str, account_id: str, data: dict[str, Any], *, at: datetime) -> bool:
        payment = StoredPayment(payment_id=payment_id, account_id=account_id, at=utc(at), data=data)
        check_storable_document(payment.data)
        state = self._uow._read()
        if payment_id in state.payments:
            return False
        self._uow._set(state.payments, payment_id, payment)
        return True

    def get(self, payment_id: str) -> StoredPayment | None:
        check_identifier(payment_id, "payment_id")
        payment = self._uow._read().payments.get(payment_id)
        return None if payment is None else attrs.evolve(payment)

    def reject(
        self, payment_id: str, account_id: str, reason: str, data: dict[str, Any], *, at: datetime
    ) -> bool:
        payment = RejectedPayment(
            payment_id=payment_id, account_id=account_id, at=utc(at), reason=reason, data=data
        )
        check_storable(payment.reason, "reason")
        check_storable_document(payment.data)
        state = self._uow._read()
        if payment_id in state.rejected:
            return False
        self._uow._set(state.rejected, payment_id, payment)
        return True

    def rejected(self, account_id: str | None = None) -> list[RejectedPayment]:
        if account_id is not None:
            check_identifier(account_id, "account_id")
        return [
            attrs.evolve(p)
            for p in self._uow._read().rejected.values()
            if account_id is None or p.account_id == account_id
        ]


class _History:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow

    def append(self, account_id: str, *, at: datetime, kind: str, data: dict[str, Any]) -> int:
        # checked in the SQL adapters' order, so that every adapter names the same bad argument first
        check_identifier(account_id, "account_id")
        check_identifier(kind, "kind")
        at, document = utc(at), check_document(data)
        state = self._uow._read()
        seq = len(state.history) + 1
        record = HistoryRecord(seq=seq, account_id=account_id, at=at, kind=kind, data=document)
        self._uow._append(state.history, record)
        return seq

    def for_account(self, account_id: str) -> list[HistoryRecord]:
        check_identifier(account_id, "account_id")
        return [attrs.evolve(r) for r in self._uow._read().history if r.account_id == account_id]


class _Outbox:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow

    def enqueue(
        self, notification: Notification, *, at: datetime, dedup_key: str | None = None
    ) -> int | None:
        check_notification(notification)
        at = utc(at)
        if dedup_key is not None:
            check_identifier(dedup_key, "dedup_key")
        state = self._uow._read()
        if dedup_key is not None and dedup_key in state.dedup_keys:
            return None
        message_id = state.outbox_seq + 1
        self._uow._attr("outbox_seq", message_id)
        message = OutboxMessage(
            id=message_id,
            notification=notification,
            status=OutboxStatus.PENDING,
            enqueued_at=at,
            next_attempt_at=at,
            attempts=0,
        )
        self._uow._set(state.outbox, message_id, message)
        if dedup_key is not None:
            self._uow._set(state.dedup_keys, dedup_key, message_id)
        return message_id

    def claim(self, *, at: datetime, lease: timedelta, limit: int, claim: str) -> list[OutboxMessage]:
        at = utc(at)
        check_lease(lease)
        check_limit(limit)
        check_identifier(claim, "claim")
        state = self._uow._read()
        claimed: list[OutboxMessage] = []
        for message_id in sorted(state.outbox):
            if len(claimed) == limit:
                break
            message = state.outbox[message_id]
            due = (message.status is OutboxStatus.PENDING and message.next_attempt_at <= at) or (
                message.status is OutboxStatus.SENDING and state.lease_until[message_id] <= at
            )
            if not due:
                continue
            taken = attrs.evolve(
                message, status=OutboxStatus.SENDING, claim=claim, attempts=message.attempts + 1
            )
            self._uow._set(state.outbox, message_id, taken)
            self._uow._set(state.lease_until, message_id, at + lease)
            claimed.append(taken)
        return claimed

    def _held(self, message_id: int, claim: str) -> OutboxMessage | None:
        check_number(message_id, "message_id")
        check_identifier(claim, "claim")
        message = self._uow._read().outbox.get(message_id)
        if message is None or message.status is not OutboxStatus.SENDING or message.claim != claim:
            return None
        return message

    def mark_sent(self, message_id: int, *, claim: str, at: datetime) -> bool:
        check_number(message_id, "message_id")
        check_identifier(claim, "claim")
        at = utc(at)
        message = self._held(message_id, claim)
        if message is None:
            return False
        sent = attrs.evolve(message, status=OutboxStatus.SENT, claim=None, sent_at=at, last_error="")
        self._uow._set(self._uow._read().outbox, message_id, sent)
        return True

    def mark_failed(
        self, message_id: int, *, claim: str, at: datetime, error: str, retry_at: datetime | None
    ) -> bool:
        check_number(message_id, "message_id")
        check_identifier(claim, "claim")
        at = utc(at)
        error = check_error(error)
        retry = None if retry_at is None else utc(retry_at, "retry_at")
        message = self._held(message_id, claim)
        if message is None:
            return False
        failed = attrs.evolve(
            message,
            status=OutboxStatus.DEAD if retry is None else OutboxStatus.PENDING,
            claim=None,
            last_error=error,
            next_attempt_at=message.next_attempt_at if retry is None else retry,
        )
        self._uow._set(self._uow._read().outbox, message_id, failed)
        return True

    def messages(self, account_id: str | None = None) -> list[OutboxMessage]:
        if account_id is not None:
            check_identifier(account_id, "account_id")
        outbox = self._uow._read().outbox
        return [
            outbox[i]
            for i in sorted(outbox)
            if account_id is None or outbox[i].notification.account_id == account_id
        ]


class _Mail:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow

    # Every method checks its arguments in the SQL adapters' order (the account id first), so that all
    # adapters name the same bad argument first.

    def _rows(self, account_id: str) -> list[_Grant]:
        return self._uow._read().mail.get(account_id, [])

    @staticmethod
    def _newest(rows: list[_Grant]) -> int | None:
        return max((g.at_us for g in rows), default=None)

    @staticmethod
    def _live(rows: list[_Grant], at_us: int) -> list[tuple[int, int]]:
        return [(g.at_us, g.count) for g in rows if not g.released and g.at_us > at_us - _ledger.DAY_US]

    def reserve(
        self, account_id: str, n: int, *, limit: int, at: datetime, partial: bool = False
    ) -> Reservation:
        check_identifier(account_id, "account_id")
        at, limit = utc(at), check_count(limit, "limit")
        check_number(n, "n")
        state = self._uow._read()
        rows = self._rows(account_id)
        live = self._live(rows, to_micros(at))
        decision = _ledger.decide(
            limit, sum(c for _, c in live), self._newest(rows), lambda: live, n, at=at, partial=partial
        )
        if decision.granted == 0:
            return decision
        grant = _Grant(state.mail_seq + 1, decision.at_us, decision.granted, released=False)
        self._uow._attr("mail_seq", grant.id)
        # prune what can never count again: grants at or before the new one's instant minus 24 h
        kept = [g for g in rows if g.at_us > decision.at_us - _ledger.DAY_US]
        self._uow._set(state.mail, account_id, [*kept, grant])
        return _ledger.stored(decision, grant.id)

    def release(self, account_id: str, reservation: Reservation, *, at: datetime) -> None:
        check_identifier(account_id, "account_id")
        at = utc(at)
        reservation = _ledger.check_reservation(reservation)
        rows = self._rows(account_id)
        if reservation.id is None or reservation.granted == 0:
            return
        now_us = max([to_micros(at), *(g.at_us for g in rows)])
        for index, grant in enumerate(rows):
            if grant.id == reservation.id:
                if (grant.at_us, grant.count) != (reservation.at_us, reservation.granted):
                    raise _ledger.not_granted(account_id, reservation)
                if not grant.released:
                    updated = list(rows)
                    updated[index] = attrs.evolve(grant, released=True)
                    self._uow._set(self._uow._read().mail, account_id, updated)
                return
        if reservation.at_us > now_us - _ledger.DAY_US:
            raise _ledger.not_granted(account_id, reservation)
        # otherwise it has left the window (and was pruned): releasing it changes nothing

    def window(self, account_id: str, *, limit: int, at: datetime) -> MailWindow:
        check_identifier(account_id, "account_id")
        at, limit = utc(at), check_count(limit, "limit")
        rows = self._rows(account_id)
        return _ledger.window(limit, self._live(rows, to_micros(at)), self._newest(rows))

    def entries(self, account_id: str, *, at: datetime) -> list[tuple[datetime, int]]:
        check_identifier(account_id, "account_id")
        at = utc(at)
        # grant order: by instant, then in the order granted (rows are kept in that order)
        live = sorted(self._live(self._rows(account_id), to_micros(at)), key=lambda row: row[0])
        return [(from_micros(at_us), count) for at_us, count in live]
