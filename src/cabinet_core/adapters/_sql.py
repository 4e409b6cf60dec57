"""The repositories both SQL adapters share, written once over a small dialect (SQLite, PostgreSQL).

The SQL is plain enough for both engines (``ON CONFLICT``, ``RETURNING``, savepoints). What differs sits in
:class:`Dialect`: the parameter marker, how a JSON document is passed, how an account's mail ledger is
locked, whether claiming outbox rows skips locked ones, and which driver errors mean what. Instants are
stored as whole microseconds since the Unix epoch (``*_us`` columns): exact, and compared as integers.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import AccountNotFound, ConcurrencyConflict, StorageError
from ..ports.records import (
    AccountExists,
    HistoryRecord,
    InvoiceNotFound,
    KeyTaken,
    Notification,
    OutboxMessage,
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

__all__ = ["Connection", "Cursor", "Dialect", "SQLUnitOfWork", "dumps"]


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Connection(Protocol):
    def execute(self, sql: Any, params: Any = ..., /) -> Any: ...


def dumps(document: dict[str, Any]) -> str:
    return json.dumps(document, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


class Dialect:
    """What differs between the engines.

    SQL below is written with ``?`` markers, ``?j`` for a JSON document, and two macros: ``$skip_locked``
    (how a claim passes over rows another transaction holds) and ``$outbox_columns``.
    """

    name = "sql"
    #: appended to the outbox claim's inner SELECT so concurrent dispatchers take different rows
    skip_locked = ""

    def __init__(self) -> None:
        self._cache: dict[str, str] = {}

    def sql(self, text: str) -> str:
        cached = self._cache.get(text)
        if cached is None:
            cached = self._cache[text] = self._convert(text)
        return cached

    def _convert(self, text: str) -> str:
        text = text.replace("$outbox_columns", _OUTBOX_COLUMNS).replace("$skip_locked", self.skip_locked)
        return text.replace("?j", "?")

    def dump_json(self, document: dict[str, Any]) -> str:
        """A document as the JSON text the database is given."""
        return dumps(document)

    def load_json(self, value: Any) -> dict[str, Any]:
        loaded = json.loads(value) if isinstance(value, str | bytes) else value
        if not isinstance(loaded, dict):
            raise StorageError(f"a stored document is not a JSON object: {value!r}")
        return loaded

    def lock_mail(self, uow: SQLUnitOfWork, account_id: str) -> tuple[int, int | None]:
        """Hold the account's mail ledger until the end of the transaction; its ``(total, newest_us)``.

        Here (SQLite) the transaction's write lock already holds everything: just read.
        """
        row = uow.x(
            "SELECT total, newest_us FROM mail_accounts WHERE account_id = ?", (account_id,)
        ).fetchone()
        return (0, None) if row is None else (int(row[0]), None if row[1] is None else int(row[1]))

    def add_grant(self, uow: SQLUnitOfWork, account_id: str, at_us: int, count: int) -> int:
        """Store a grant, prune the grants it pushed out of every future window, keep the totals; its id."""
        row = uow.x(
            "INSERT INTO mail_ledger (account_id, at_us, count, released) VALUES (?, ?, ?, 0) RETURNING id",
            (account_id, at_us, count),
        ).fetchone()
        # grants at or before (new instant - 24 h) can never count again: every later grant is later still
        pruned = uow.x(
            "DELETE FROM mail_ledger WHERE account_id = ? AND at_us <= ? RETURNING count, released",
            (account_id, at_us - _ledger.DAY_US),
        ).fetchall()
        change = count - sum(n for n, released in pruned if not released)
        uow.x(
            "INSERT INTO mail_accounts (account_id, total, newest_us) VALUES (?, ?, ?) "
            "ON CONFLICT (account_id) DO UPDATE SET total = mail_accounts.total + ?, "
            "newest_us = max(coalesce(mail_accounts.newest_us, ?), ?)",
            (account_id, change, at_us, change, at_us, at_us),
        )
        return int(row[0])

    def translate(self, exc: Exception, where: str) -> Exception:
        return StorageError(f"{where}: {exc}")

    @property
    def errors(self) -> tuple[type[Exception], ...]:
        raise NotImplementedError


class SQLUnitOfWork(UnitOfWorkBase):
    """A unit of work over one database connection; subclasses begin, commit and roll back."""

    def __init__(self, conn: Connection, dialect: Dialect, where: str) -> None:
        super().__init__()
        self.conn = conn
        self.dialect = dialect
        self.where = where
        self.accounts = _Accounts(self)
        self.invoices = _Invoices(self)
        self.payments = _Payments(self)
        self.history = _History(self)
        self.outbox = _Outbox(self)
        self.mail = _Mail(self)

    def x(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        """Run one statement, translating driver errors into ours."""
        self._require_active()
        try:
            cursor: Cursor = self.conn.execute(self.dialect.sql(sql), params)
        except self.dialect.errors as exc:
            raise self.dialect.translate(exc, self.where) from exc
        return cursor

    def atomically(self, work: Callable[[], Any]) -> Any:
        """Run ``work`` inside a savepoint: if it raises, none of its statements stay in the transaction."""
        self.x("SAVEPOINT cabinet_step")
        try:
            result = work()
        except BaseException:
            if self._state == "active":
                self.x("ROLLBACK TO SAVEPOINT cabinet_step")
                self.x("RELEASE SAVEPOINT cabinet_step")
            raise
        self.x("RELEASE SAVEPOINT cabinet_step")
        return result


# -- accounts ---------------------------------------------------------------------------------------------


class _Accounts:
    def __init__(self, uow: SQLUnitOfWork) -> None:
        self._uow = uow

    def _keys_of(self, account_id: str) -> frozenset[str]:
        rows = self._uow.x("SELECT key FROM account_keys WHERE account_id = ?", (account_id,)).fetchall()
        return frozenset(row[0] for row in rows)

    def _account(self, account_id: str, version: int, data: Any) -> StoredAccount:
        return StoredAccount(
            id=account_id,
            version=version,
            data=self._uow.dialect.load_json(data),
            keys=self._keys_of(account_id),
        )

    def get(self, account_id: str) -> StoredAccount:
        check_identifier(account_id, "account_id")
        row = self._uow.x("SELECT version, data FROM accounts WHERE id = ?", (account_id,)).fetchone()
        if row is None:
            raise AccountNotFound(f"no account has the id {account_id!r}")
        return self._account(account_id, row[0], row[1])

    def find_by_key(self, key: str) -> StoredAccount | None:
        check_identifier(key, "key")
        row = self._uow.x(
            "SELECT a.id, a.version, a.data FROM account_keys k JOIN accounts a ON a.id = k.account_id "
            "WHERE k.key = ?",
            (key,),
        ).fetchone()
        return None if row is None else self._account(row[0], row[1], row[2])

    def _claim_keys(self, account_id: str, keys: Iterable[str]) -> None:
        for key in sorted(keys):
            row = self._uow.x(
                "INSERT INTO account_keys (key, account_id) VALUES (?, ?) ON CONFLICT (key) DO NOTHING "
                "RETURNING key",
                (key, account_id),
            ).fetchone()
            if row is None:
                raise KeyTaken(f"the key {key!r} already belongs to another account", key=key)

    def add(self, account_id: str, data: dict[str, Any], *, keys: Iterable[str] = ()) -> StoredAccount:
        check_identifier(account_id, "account_id")
        document, wanted = check_document(data), check_keys(keys)

        def work() -> None:
            row = self._uow.x(
                "INSERT INTO accounts (id, version, data) VALUES (?, 1, ?j) ON CONFLICT (id) DO NOTHING "
                "RETURNING version",
                (account_id, self._uow.dialect.dump_json(document)),
            ).fetchone()
            if row is None:
                raise AccountExists(f"an account with the id {account_id!r} already exists")
            self._claim_keys(account_id, wanted)

        self._uow.atomically(work)
        return StoredAccount(id=account_id, version=1, data=document, keys=wanted)

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

        def work() -> frozenset[str]:
            row = self._uow.x(
                "UPDATE accounts SET data = ?j, version = version + 1 WHERE id = ? AND version = ? "
                "RETURNING version",
                (self._uow.dialect.dump_json(document), account_id, expected_version),
            ).fetchone()
            if row is None:
                self._refuse(account_id, expected_version)
            current = self._keys_of(account_id)
            if wanted is None:
                return current
            for key in sorted(current - wanted):
                self._uow.x("DELETE FROM account_keys WHERE key = ?", (key,))
            self._claim_keys(account_id, wanted - current)
            return wanted

        # a savepoint only when keys change: the plain save is one statement, atomic by itself
        held = self._uow.atomically(work) if wanted is not None else work()
        return StoredAccount(id=account_id, version=expected_version + 1, data=document, keys=held)

    def _refuse(self, account_id: str, expected_version: int) -> None:
        row = self._uow.x("SELECT version FROM accounts WHERE id = ?", (account_id,)).fetchone()
        if row is None:
            raise AccountNotFound(f"no account has the id {account_id!r}")
        raise ConcurrencyConflict(
            f"account {account_id!r} was changed meanwhile: it is at version {row[0]}, "
            f"this change was based on version {expected_version}; reload it and try again"
        )

    def ids(self, *, after: str | None = None, limit: int = 1000) -> list[str]:
        check_limit(limit)
        if after is None:
            rows = self._uow.x("SELECT id FROM accounts ORDER BY id LIMIT ?", (limit,)).fetchall()
        else:
            check_identifier(after, "after")
            rows = self._uow.x(
                "SELECT id FROM accounts WHERE id > ? ORDER BY id LIMIT ?", (after, limit)
            ).fetchall()
        return [row[0] for row in rows]


# -- invoices and payments --------------------------------------------------------------------------------


class _Invoices:
    def __init__(self, uow: SQLUnitOfWork) -> None:
        self._uow = uow

    def next_number(self) -> int:
        # The counter row stays locked until the transaction ends, so numbers are handed out one
        # transaction at a time, and a rollback gives the number back: no gaps.
        row = self._uow.x(
            "UPDATE counters SET value = value + 1 WHERE name = 'invoice' RETURNING value"
        ).fetchone()
        if row is None:  # pragma: no cover - the migration inserts the row
            raise StorageError(f"{self._uow.where}: the invoice counter is missing")
        number = int(row[0])
        self._uow._number_taken(number)
        return number

    def add(self, number: int, account_id: str, data: dict[str, Any], *, at: datetime) -> StoredInvoice:
        check_number(number, "number")
        invoice = StoredInvoice(number=number, account_id=account_id, at=utc(at), data=data)
        check_storable_document(invoice.data)
        self._uow._number_used(number)
        self._uow.x(
            "INSERT INTO invoices (number, account_id, at_us, data) VALUES (?, ?, ?, ?j)",
            (number, account_id, to_micros(invoice.at), self._uow.dialect.dump_json(invoice.data)),
        )
        return invoice

    def _invoice(self, row: Any) -> StoredInvoice:
        return StoredInvoice(
            number=row[0],
            account_id=row[1],
            at=from_micros(row[2]),
            data=self._uow.dialect.load_json(row[3]),
        )

    def get(self, number: int) -> StoredInvoice:
        check_number(number, "number")
        row = self._uow.x(
            "SELECT number, account_id, at_us, data FROM invoices WHERE number = ?", (number,)
        ).fetchone()
        if row is None:
            raise InvoiceNotFound(f"no invoice has the number {number}")
        return self._invoice(row)

    def for_account(self, account_id: str) -> list[StoredInvoice]:
        check_identifier(account_id, "account_id")
        rows = self._uow.x(
            "SELECT number, account_id, at_us, data FROM invoices WHERE account_id = ? ORDER BY number",
            (account_id,),
        ).fetchall()
        return [self._invoice(row) for row in rows]


class _Payments:
    def __init__(self, uow: SQLUnitOfWork) -> None:
        self._uow = uow

    def record(self, payment_id: str, account_id: str, data: dict[str, Any], *, at: datetime) -> bool:
        payment = StoredPayment(payment_id=payment_id, account_id=account_id, at=utc(at), data=data)
        check_storable_document(payment.data)
        # Insert-if-absent is the whole rule: on PostgreSQL a second transaction inserting the same id waits
        # for the first and then finds the conflict, so exactly one of them sees a new payment.
        row = self._uow.x(
            "INSERT INTO payments (payment_id, account_id, at_us, data) VALUES (?, ?, ?, ?j) "
            "ON CONFLICT (payment_id) DO NOTHING RETURNING payment_id",
            (payment_id, account_id, to_micros(payment.at), self._uow.dialect.dump_json(payment.data)),
        ).fetchone()
        return row is not None

    def get(self, payment_id: str) -> StoredPayment | None:
        check_identifier(payment_id, "payment_id")
        row = self._uow.x(
            "SELECT payment_id, account_id, at_us, data FROM payments WHERE payment_id = ?", (payment_id,)
        ).fetchone()
        if row is None:
            return None
        return StoredPayment(
            payment_id=row[0],
            account_id=row[1],
            at=from_micros(row[2]),
            data=self._uow.dialect.load_json(row[3]),
        )

    def reject(
        self, payment_id: str, account_id: str, reason: str, data: dict[str, Any], *, at: datetime
    ) -> bool:
        payment = RejectedPayment(
            payment_id=payment_id, account_id=account_id, at=utc(at), reason=reason, data=data
        )
        check_storable(payment.reason, "reason")
        check_storable_document(payment.data)
        row = self._uow.x(
            "INSERT INTO rejected_payments (payment_id, account_id, at_us, reason, data) "
            "VALUES (?, ?, ?, ?, ?j) ON CONFLICT (payment_id) DO NOTHING RETURNING payment_id",
            (
                payment_id,
                account_id,
                to_micros(payment.at),
                reason,
                self._uow.dialect.dump_json(payment.data),
            ),
        ).fetchone()
        return row is not None

    def rejected(self, account_id: str | None = None) -> list[RejectedPayment]:
        select = "SELECT payment_id, account_id, at_us, reason, data FROM rejected_payments"
        if account_id is None:
            rows = self._uow.x(f"{select} ORDER BY seq").fetchall()
        else:
            check_identifier(account_id, "account_id")
            rows = self._uow.x(f"{select} WHERE account_id = ? ORDER BY seq", (account_id,)).fetchall()
        return [
            RejectedPayment(
                payment_id=row[0],
                account_id=row[1],
                at=from_micros(row[2]),
                reason=row[3],
                data=self._uow.dialect.load_json(row[4]),
            )
            for row in rows
        ]


# -- history and outbox -----------------------------------------------------------------------------------


class _History:
    def __init__(self, uow: SQLUnitOfWork) -> None:
        self._uow = uow

    def append(self, account_id: str, *, at: datetime, kind: str, data: dict[str, Any]) -> int:
        check_identifier(account_id, "account_id")
        check_identifier(kind, "kind")
        at, document = utc(at), check_document(data)
        row = self._uow.x(
            "INSERT INTO history (account_id, at_us, kind, data) VALUES (?, ?, ?, ?j) RETURNING seq",
            (account_id, to_micros(at), kind, self._uow.dialect.dump_json(document)),
        ).fetchone()
        return int(row[0])

    def for_account(self, account_id: str) -> list[HistoryRecord]:
        check_identifier(account_id, "account_id")
        rows = self._uow.x(
            "SELECT seq, account_id, at_us, kind, data FROM history WHERE account_id = ? ORDER BY seq",
            (account_id,),
        ).fetchall()
        return [
            HistoryRecord(
                seq=row[0],
                account_id=row[1],
                at=from_micros(row[2]),
                kind=row[3],
                data=self._uow.dialect.load_json(row[4]),
            )
            for row in rows
        ]


_OUTBOX_COLUMNS = (
    "id, notification, status, enqueued_us, next_attempt_us, attempts, last_error, claim, sent_us"
)


class _Outbox:
    def __init__(self, uow: SQLUnitOfWork) -> None:
        self._uow = uow

    def _message(self, row: Any) -> OutboxMessage:
        return OutboxMessage(
            id=row[0],
            notification=Notification.from_dict(self._uow.dialect.load_json(row[1])),
            status=row[2],
            enqueued_at=from_micros(row[3]),
            next_attempt_at=from_micros(row[4]),
            attempts=row[5],
            last_error=row[6],
            claim=row[7],
            sent_at=None if row[8] is None else from_micros(row[8]),
        )

    def enqueue(
        self, notification: Notification, *, at: datetime, dedup_key: str | None = None
    ) -> int | None:
        check_notification(notification)
        at_us = to_micros(utc(at))
        if dedup_key is not None:
            check_identifier(dedup_key, "dedup_key")
        row = self._uow.x(
            "INSERT INTO outbox (account_id, dedup_key, notification, status, enqueued_us, next_attempt_us, "
            "attempts, last_error) VALUES (?, ?, ?j, 'pending', ?, ?, 0, '') "
            "ON CONFLICT (dedup_key) DO NOTHING RETURNING id",
            (
                notification.account_id,
                dedup_key,
                self._uow.dialect.dump_json(notification.to_dict()),
                at_us,
                at_us,
            ),
        ).fetchone()
        return None if row is None else int(row[0])

    def claim(self, *, at: datetime, lease: timedelta, limit: int, claim: str) -> list[OutboxMessage]:
        at_us = to_micros(utc(at))
        lease_us = to_micros(utc(at) + check_lease(lease))
        check_limit(limit)
        check_identifier(claim, "claim")
        rows = self._uow.x(
            "UPDATE outbox SET status = 'sending', claim = ?, lease_until_us = ?, attempts = attempts + 1 "
            "WHERE id IN (SELECT id FROM outbox WHERE (status = 'pending' AND next_attempt_us <= ?) "
            "OR (status = 'sending' AND lease_until_us <= ?) ORDER BY id LIMIT ? $skip_locked) "
            "RETURNING $outbox_columns",
            (claim, lease_us, at_us, at_us, limit),
        ).fetchall()
        return sorted((self._message(row) for row in rows), key=lambda message: message.id)

    def mark_sent(self, message_id: int, *, claim: str, at: datetime) -> bool:
        check_number(message_id, "message_id")
        check_identifier(claim, "claim")
        cursor = self._uow.x(
            "UPDATE outbox SET status = 'sent', claim = NULL, sent_us = ?, last_error = '' "
            "WHERE id = ? AND status = 'sending' AND claim = ?",
            (to_micros(utc(at)), message_id, claim),
        )
        return cursor.rowcount == 1

    def mark_failed(
        self, message_id: int, *, claim: str, at: datetime, error: str, retry_at: datetime | None
    ) -> bool:
        check_number(message_id, "message_id")
        check_identifier(claim, "claim")
        utc(at)
        error = check_error(error)
        if retry_at is None:
            cursor = self._uow.x(
                "UPDATE outbox SET status = 'dead', claim = NULL, last_error = ? "
                "WHERE id = ? AND status = 'sending' AND claim = ?",
                (error, message_id, claim),
            )
        else:
            cursor = self._uow.x(
                "UPDATE outbox SET status = 'pending', claim = NULL, last_error = ?, next_attempt_us = ? "
                "WHERE id = ? AND status = 'sending' AND claim = ?",
                (error, to_micros(utc(retry_at, "retry_at")), message_id, claim),
            )
        return cursor.rowcount == 1

    def messages(self, account_id: str | None = None) -> list[OutboxMessage]:
        if account_id is None:
            rows = self._uow.x("SELECT $outbox_columns FROM outbox ORDER BY id").fetchall()
        else:
            check_identifier(account_id, "account_id")
            rows = self._uow.x(
                "SELECT $outbox_columns FROM outbox WHERE account_id = ? ORDER BY id", (account_id,)
            ).fetchall()
        return [self._message(row) for row in rows]


# -- the mail ledger --------------------------------------------------------------------------------------


class _Mail:
    """The ledger: a row per grant, and per account a row with the sum of its stored unreleased grants
    (``total``) and the newest instant granted (``newest_us``), kept in step in the same transaction.

    Pruning on every grant keeps the stored grants to those of the last 24 hours, so ``total`` bounds the
    window's use from above: when it leaves room, the request fits without reading a single grant row.
    """

    def __init__(self, uow: SQLUnitOfWork) -> None:
        self._uow = uow

    def _state(self, account_id: str) -> tuple[int, int | None]:
        row = self._uow.x(
            "SELECT total, newest_us FROM mail_accounts WHERE account_id = ?", (account_id,)
        ).fetchone()
        return (0, None) if row is None else (int(row[0]), None if row[1] is None else int(row[1]))

    def _live(self, account_id: str, at_us: int) -> list[tuple[int, int]]:
        rows = self._uow.x(
            "SELECT at_us, count FROM mail_ledger WHERE account_id = ? AND released = 0 AND at_us > ? "
            "ORDER BY at_us, id",
            (account_id, at_us - _ledger.DAY_US),
        ).fetchall()
        return [(row[0], row[1]) for row in rows]

    def reserve(
        self, account_id: str, n: int, *, limit: int, at: datetime, partial: bool = False
    ) -> Reservation:
        check_identifier(account_id, "account_id")
        at, limit = utc(at), check_count(limit, "limit")
        check_number(n, "n")
        at_us = to_micros(at)
        total, newest_us = self._uow.dialect.lock_mail(self._uow, account_id)
        decision = _ledger.decide(
            limit, total, newest_us, lambda: self._live(account_id, at_us), n, at=at, partial=partial
        )
        if decision.granted == 0:
            return decision
        row_id = self._uow.dialect.add_grant(self._uow, account_id, decision.at_us, decision.granted)
        return _ledger.stored(decision, row_id)

    def release(self, account_id: str, reservation: Reservation, *, at: datetime) -> None:
        check_identifier(account_id, "account_id")
        at_us = to_micros(utc(at))
        reservation = _ledger.check_reservation(reservation)
        if reservation.id is None or reservation.granted == 0:
            return
        _, newest_us = self._uow.dialect.lock_mail(self._uow, account_id)
        row = self._uow.x(
            "SELECT at_us, count, released FROM mail_ledger WHERE id = ? AND account_id = ?",
            (reservation.id, account_id),
        ).fetchone()
        if row is not None:
            if (row[0], row[1]) != (reservation.at_us, reservation.granted):
                raise _ledger.not_granted(account_id, reservation)
            if not row[2]:
                self._uow.x("UPDATE mail_ledger SET released = 1 WHERE id = ?", (reservation.id,))
                self._uow.x(
                    "UPDATE mail_accounts SET total = total - ? WHERE account_id = ?", (row[1], account_id)
                )
            return
        now_us = max(at_us, newest_us if newest_us is not None else at_us)
        if reservation.at_us > now_us - _ledger.DAY_US:
            raise _ledger.not_granted(account_id, reservation)
        # otherwise it has left the window (and was pruned): releasing it changes nothing

    def window(self, account_id: str, *, limit: int, at: datetime) -> MailWindow:
        check_identifier(account_id, "account_id")
        at, limit = utc(at), check_count(limit, "limit")
        return _ledger.window(limit, self._live(account_id, to_micros(at)), self._state(account_id)[1])

    def entries(self, account_id: str, *, at: datetime) -> list[tuple[datetime, int]]:
        check_identifier(account_id, "account_id")
        live = self._live(account_id, to_micros(utc(at)))
        return [(from_micros(at_us), count) for at_us, count in live]
