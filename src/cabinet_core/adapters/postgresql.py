"""The PostgreSQL adapter, through psycopg 3: for providers running many application servers.

Install with ``pip install 'cabinet-core[postgresql]'``; psycopg is imported only when this adapter is used.
The tables live in their own schema (``cabinet`` unless told otherwise), created and migrated by the library,
with the applied versions recorded in ``schema_version``.

Atomic across processes, at READ COMMITTED:

- a mail reservation first locks the account's row in ``mail_accounts`` (an upsert, so the first one too),
  then reads (a fresh snapshot, with every grant committed before the lock was granted), decides and
  writes: reservations of one account are serialised, other accounts' run in parallel;
- the invoice counter is one row updated in the invoice's transaction: its row lock hands numbers out one
  transaction at a time, and a rollback returns the number;
- a payment is recorded with ``INSERT ... ON CONFLICT DO NOTHING``: a second transaction with the same id
  waits for the first and then sees the conflict;
- an account is saved with ``UPDATE ... WHERE version = expected``: a concurrent save waits, re-reads the row,
  finds another version and updates nothing (ConcurrencyConflict);
- outbox rows are claimed with ``FOR UPDATE SKIP LOCKED``.

Serialisation failures and deadlocks become :class:`~cabinet_core.errors.ConcurrencyConflict` (retry the
use case); every other driver error becomes :class:`~cabinet_core.errors.StorageError`.
"""

from __future__ import annotations

import json
import os
import re
import threading
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ..errors import ConcurrencyConflict, ConfigurationError, StorageError
from ..quotas import DAY_US
from ._sql import Dialect, SQLUnitOfWork, dumps

if TYPE_CHECKING:
    import psycopg

__all__ = ["SCHEMA_VERSION", "PostgresStorage", "PostgresUnitOfWork"]

_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
# the advisory lock key that serialises migrations ("cabs")
_MIGRATION_LOCK = 0x63616273

_MIGRATIONS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (
        1,
        (
            'CREATE TABLE accounts (id TEXT COLLATE "C" PRIMARY KEY, version INTEGER NOT NULL, '
            "data JSONB NOT NULL)",
            'CREATE TABLE account_keys (key TEXT COLLATE "C" PRIMARY KEY, '
            'account_id TEXT COLLATE "C" NOT NULL REFERENCES accounts (id))',
            "CREATE INDEX account_keys_by_account ON account_keys (account_id)",
            "CREATE TABLE counters (name TEXT PRIMARY KEY, value BIGINT NOT NULL)",
            "INSERT INTO counters (name, value) VALUES ('invoice', 0)",
            "CREATE TABLE invoices (number BIGINT PRIMARY KEY, account_id TEXT NOT NULL, "
            "at_us BIGINT NOT NULL, data JSONB NOT NULL)",
            "CREATE INDEX invoices_by_account ON invoices (account_id, number)",
            "CREATE TABLE payments (payment_id TEXT PRIMARY KEY, account_id TEXT NOT NULL, "
            "at_us BIGINT NOT NULL, data JSONB NOT NULL)",
            "CREATE TABLE rejected_payments (seq BIGSERIAL PRIMARY KEY, payment_id TEXT NOT NULL UNIQUE, "
            "account_id TEXT NOT NULL, at_us BIGINT NOT NULL, reason TEXT NOT NULL, data JSONB NOT NULL)",
            "CREATE TABLE history (seq BIGSERIAL PRIMARY KEY, account_id TEXT NOT NULL, "
            "at_us BIGINT NOT NULL, kind TEXT NOT NULL, data JSONB NOT NULL)",
            "CREATE INDEX history_by_account ON history (account_id, seq)",
            "CREATE TABLE outbox (id BIGSERIAL PRIMARY KEY, account_id TEXT NOT NULL, dedup_key TEXT UNIQUE, "
            "notification JSONB NOT NULL, status TEXT NOT NULL, enqueued_us BIGINT NOT NULL, "
            "next_attempt_us BIGINT NOT NULL, attempts INTEGER NOT NULL, last_error TEXT NOT NULL, "
            "claim TEXT, lease_until_us BIGINT, sent_us BIGINT)",
            "CREATE INDEX outbox_due ON outbox (status, next_attempt_us)",
            "CREATE INDEX outbox_by_account ON outbox (account_id, id)",
            "CREATE TABLE mail_ledger (id BIGSERIAL PRIMARY KEY, account_id TEXT NOT NULL, "
            "at_us BIGINT NOT NULL, count BIGINT NOT NULL, released SMALLINT NOT NULL)",
            "CREATE INDEX mail_ledger_window ON mail_ledger (account_id, at_us)",
        ),
    ),
    (
        2,
        (
            # per account: the sum of its stored unreleased grants and its newest grant; the row to lock
            'CREATE TABLE mail_accounts (account_id TEXT COLLATE "C" PRIMARY KEY, total BIGINT NOT NULL, '
            "newest_us BIGINT)",
            "INSERT INTO mail_accounts (account_id, total, newest_us) SELECT account_id, "
            "sum(CASE WHEN released = 0 THEN count ELSE 0 END), max(at_us) "
            "FROM mail_ledger GROUP BY account_id",
        ),
    ),
)

SCHEMA_VERSION = _MIGRATIONS[-1][0]

#: every table of the schema, for tools that empty it (tests) or inspect it
TABLES = (
    "accounts",
    "account_keys",
    "counters",
    "invoices",
    "payments",
    "rejected_payments",
    "history",
    "outbox",
    "mail_ledger",
    "mail_accounts",
)


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError as exc:
        raise ConfigurationError(
            "the PostgreSQL adapter needs psycopg 3: pip install 'cabinet-core[postgresql]'"
        ) from exc
    return psycopg


def mask(dsn: str) -> str:
    """The DSN with its password hidden (URL form ``user:pw@`` and key=value form ``password=...``)."""
    masked = re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", dsn)
    return re.sub(r"(password\s*=\s*)(\S+)", r"\1***", masked)


class _PostgresDialect(Dialect):
    name = "postgresql"
    skip_locked = "FOR UPDATE SKIP LOCKED"

    def _convert(self, text: str) -> str:
        text = super()._convert(text.replace("?j", "?::jsonb"))
        return text.replace("?", "%s")

    @property
    def errors(self) -> tuple[type[Exception], ...]:
        return (_psycopg().Error,)

    def dump_json(self, document: dict[str, Any]) -> str:
        text = dumps(document)
        return _positional(document) if _EXPONENT.search(text) else text

    def translate(self, exc: Exception, where: str) -> Exception:
        errors = _psycopg().errors
        if isinstance(exc, errors.SerializationFailure | errors.DeadlockDetected):
            return ConcurrencyConflict(f"{where}: a concurrent transaction got in the way; retry ({exc})")
        return StorageError(f"{where}: {str(exc).strip()}")

    def lock_mail(self, uow: SQLUnitOfWork, account_id: str) -> tuple[int, int | None]:
        # One statement creates the account's ledger row if needed and locks it until the transaction ends
        # (ON CONFLICT DO UPDATE locks the existing row; a concurrent first insert waits on the key).
        row = uow.x(
            "INSERT INTO mail_accounts (account_id, total, newest_us) VALUES (?, 0, NULL) "
            "ON CONFLICT (account_id) DO UPDATE SET total = mail_accounts.total "
            "RETURNING total, newest_us",
            (account_id,),
        ).fetchone()
        return int(row[0]), None if row[1] is None else int(row[1])

    def add_grant(self, uow: SQLUnitOfWork, account_id: str, at_us: int, count: int) -> int:
        # insert, prune and update the totals in one round trip (data-modifying CTEs run exactly once)
        row = uow.x(
            "WITH pruned AS (DELETE FROM mail_ledger WHERE account_id = ? AND at_us <= ? "
            "RETURNING count, released), "
            "granted AS (INSERT INTO mail_ledger (account_id, at_us, count, released) VALUES (?, ?, ?, 0) "
            "RETURNING id), "
            "totals AS (UPDATE mail_accounts SET total = total + ? - "
            "(SELECT coalesce(sum(count), 0) FROM pruned WHERE released = 0), "
            "newest_us = greatest(coalesce(newest_us, ?), ?) WHERE account_id = ?) "
            "SELECT id FROM granted",
            (account_id, at_us - DAY_US, account_id, at_us, count, count, at_us, at_us, account_id),
        ).fetchone()
        return int(row[0])


_DIALECT = _PostgresDialect()

# a number in exponent form in JSON text (or text that looks like one inside a string: then the slow path
# below runs for nothing, and is still right)
_EXPONENT = re.compile(r"\d[eE][-+]?\d")


def _positional(document: Any) -> str:
    """JSON text of ``document`` with every float written with digits and a decimal point, no exponent.

    jsonb keeps numbers as ``numeric``, which has no exponent: ``1e+16`` would come back as the integer
    ``10000000000000000`` (and ``1e300`` as an integer that is not even equal to it). Written out as
    ``10000000000000000.0`` it keeps its scale and reads back as the same float.
    """
    if isinstance(document, float):
        text = repr(document)
        if "e" not in text:
            return text
        text = format(Decimal(text), "f")
        return text if "." in text else f"{text}.0"
    if isinstance(document, dict):
        items = (f"{json.dumps(k, ensure_ascii=False)}:{_positional(v)}" for k, v in document.items())
        return "{" + ",".join(items) + "}"
    if isinstance(document, list):
        return "[" + ",".join(_positional(item) for item in document) + "]"
    return json.dumps(document, ensure_ascii=False)


class PostgresStorage:
    """Storage in a PostgreSQL database (``postgresql://user:password@host:port/dbname``).

    Each thread uses its own connection, opened on first use. ``schema`` is the PostgreSQL schema holding
    the tables.
    """

    def __init__(self, dsn: str, *, schema: str = "cabinet", connect_timeout: int = 10) -> None:
        if not isinstance(dsn, str) or not dsn:
            raise ConfigurationError(f"dsn must be a PostgreSQL URL or connection string, got {dsn!r}")
        if not isinstance(schema, str) or not _SCHEMA_NAME.fullmatch(schema):
            raise ConfigurationError(
                f"schema must be a lowercase PostgreSQL identifier such as 'cabinet', got {schema!r}"
            )
        if isinstance(connect_timeout, bool) or not isinstance(connect_timeout, int) or connect_timeout < 1:
            raise ConfigurationError(
                f"connect_timeout must be a whole number of seconds, got {connect_timeout!r}"
            )
        _psycopg()
        self._dsn = dsn
        self._schema = schema
        self._connect_timeout = connect_timeout
        self._where = f"PostgreSQL storage {mask(dsn)}"
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[psycopg.Connection[Any]] = []
        self._closed = False
        self._migrate()

    @property
    def url(self) -> str:
        return mask(self._dsn)

    @property
    def schema(self) -> str:
        return self._schema

    def schema_version(self) -> int:
        """The schema version recorded in the database."""
        with self.unit_of_work() as uow:
            row = uow.x("SELECT max(version) FROM schema_version").fetchone()
        return int(row[0])

    def unit_of_work(self) -> PostgresUnitOfWork:
        if self._closed:
            raise StorageError(f"{self._where} is closed")
        return PostgresUnitOfWork(self)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            for conn in self._connections:
                conn.close()
            self._connections.clear()

    def _open(self) -> psycopg.Connection[Any]:
        driver = _psycopg()
        try:
            conn: psycopg.Connection[Any] = driver.connect(
                self._dsn,
                autocommit=False,
                connect_timeout=self._connect_timeout,
                application_name="cabinet_core",
                options=f"-c search_path={self._schema}",
            )
        except driver.Error as exc:
            raise StorageError(f"{self._where}: cannot connect: {str(exc).strip()}") from exc
        with self._lock:
            self._connections.append(conn)
        return conn

    def _connection(self) -> psycopg.Connection[Any]:
        """This thread's connection; a new one after a fork or when the old one broke."""
        if self._closed:
            raise StorageError(f"{self._where} is closed")
        conn: psycopg.Connection[Any] | None = getattr(self._local, "conn", None)
        if conn is None or conn.closed or conn.broken or getattr(self._local, "pid", None) != os.getpid():
            conn = self._open()
            self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    def _migrate(self) -> None:
        driver = _psycopg()
        conn = self._connection()
        try:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
                conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self._schema}"')
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS schema_version "
                    "(version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
                )
                row = conn.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()
                current = int(row[0]) if row else 0
                if current > SCHEMA_VERSION:
                    raise StorageError(
                        f"{self._where} has schema version {current}, newer than this cabinet_core "
                        f"understands ({SCHEMA_VERSION}); upgrade cabinet_core"
                    )
                for version, statements in _MIGRATIONS:
                    if version <= current:
                        continue
                    for statement in statements:
                        conn.execute(statement)
                    conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (version,))
        except driver.Error as exc:
            raise StorageError(
                f"{self._where}: cannot create or migrate the schema: {str(exc).strip()}"
            ) from exc


class PostgresUnitOfWork(SQLUnitOfWork):
    """A READ COMMITTED transaction on this thread's connection (psycopg begins it at the first statement)."""

    def __init__(self, storage: PostgresStorage) -> None:
        self._pg = storage._connection()
        super().__init__(self._pg, _DIALECT, storage._where)

    def _begin(self) -> None:
        if self._pg.info.transaction_status != _psycopg().pq.TransactionStatus.IDLE:
            raise StorageError(f"{self.where}: a unit of work is already open on this thread's connection")

    def _commit(self) -> None:
        try:
            self._pg.commit()
        except _psycopg().Error as exc:
            raise _DIALECT.translate(exc, self.where) from exc

    def _rollback(self) -> None:
        try:
            self._pg.rollback()
        except _psycopg().Error as exc:
            if not self._pg.broken:
                raise _DIALECT.translate(exc, self.where) from exc
