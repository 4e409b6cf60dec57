"""The SQLite adapter: the embedded default. One file, WAL, no server.

The library creates and migrates the schema itself and records each applied version in ``schema_version``.
Every unit of work is a ``BEGIN IMMEDIATE`` transaction: it takes the database's write lock up front, so
units of work from any number of processes run one after another (waiting up to ``timeout`` seconds for
the lock) and can never interleave or deadlock halfway. That is what makes mail reservations, invoice
numbers and payment application atomic here. Readers are not blocked (WAL).

``synchronous=NORMAL`` is the default: in WAL mode a power cut can lose the last commits but never corrupts
the file; pass ``synchronous="full"`` to make every commit durable at the cost of an fsync each.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

from ..errors import ConfigurationError, StorageError
from ._common import to_micros
from ._sql import Dialect, SQLUnitOfWork

__all__ = ["SCHEMA_VERSION", "SQLiteStorage", "SQLiteUnitOfWork"]

# Each migration: (version, statements). Append new ones; never edit an applied one.
_MIGRATIONS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (
        1,
        (
            "CREATE TABLE accounts (id TEXT PRIMARY KEY, version INTEGER NOT NULL, data TEXT NOT NULL)",
            "CREATE TABLE account_keys (key TEXT PRIMARY KEY, "
            "account_id TEXT NOT NULL REFERENCES accounts (id))",
            "CREATE INDEX account_keys_by_account ON account_keys (account_id)",
            "CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
            "INSERT INTO counters (name, value) VALUES ('invoice', 0)",
            "CREATE TABLE invoices (number INTEGER PRIMARY KEY, account_id TEXT NOT NULL, "
            "at_us INTEGER NOT NULL, data TEXT NOT NULL)",
            "CREATE INDEX invoices_by_account ON invoices (account_id, number)",
            "CREATE TABLE payments (payment_id TEXT PRIMARY KEY, account_id TEXT NOT NULL, "
            "at_us INTEGER NOT NULL, data TEXT NOT NULL)",
            "CREATE TABLE rejected_payments (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
            "payment_id TEXT NOT NULL UNIQUE, account_id TEXT NOT NULL, at_us INTEGER NOT NULL, "
            "reason TEXT NOT NULL, data TEXT NOT NULL)",
            "CREATE TABLE history (seq INTEGER PRIMARY KEY AUTOINCREMENT, account_id TEXT NOT NULL, "
            "at_us INTEGER NOT NULL, kind TEXT NOT NULL, data TEXT NOT NULL)",
            "CREATE INDEX history_by_account ON history (account_id, seq)",
            "CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, account_id TEXT NOT NULL, "
            "dedup_key TEXT UNIQUE, notification TEXT NOT NULL, status TEXT NOT NULL, "
            "enqueued_us INTEGER NOT NULL, next_attempt_us INTEGER NOT NULL, attempts INTEGER NOT NULL, "
            "last_error TEXT NOT NULL, claim TEXT, lease_until_us INTEGER, sent_us INTEGER)",
            "CREATE INDEX outbox_due ON outbox (status, next_attempt_us)",
            "CREATE INDEX outbox_by_account ON outbox (account_id, id)",
            # AUTOINCREMENT: a reservation's id is its row's id, never reused for a later grant
            "CREATE TABLE mail_ledger (id INTEGER PRIMARY KEY AUTOINCREMENT, account_id TEXT NOT NULL, "
            "at_us INTEGER NOT NULL, count INTEGER NOT NULL, released INTEGER NOT NULL)",
            "CREATE INDEX mail_ledger_window ON mail_ledger (account_id, at_us)",
        ),
    ),
    (
        2,
        (
            # per account: the sum of its stored unreleased grants and its newest grant
            "CREATE TABLE mail_accounts (account_id TEXT PRIMARY KEY, total INTEGER NOT NULL, "
            "newest_us INTEGER)",
            "INSERT INTO mail_accounts (account_id, total, newest_us) SELECT account_id, "
            "sum(CASE WHEN released = 0 THEN count ELSE 0 END), max(at_us) "
            "FROM mail_ledger GROUP BY account_id",
        ),
    ),
)

SCHEMA_VERSION = _MIGRATIONS[-1][0]

_SYNCHRONOUS = ("off", "normal", "full", "extra")


class _SQLiteDialect(Dialect):
    name = "sqlite"

    @property
    def errors(self) -> tuple[type[Exception], ...]:
        return (sqlite3.Error,)

    def translate(self, exc: Exception, where: str) -> Exception:
        if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
            return StorageError(
                f"{where}: the database stayed locked by another writer longer than the busy timeout ({exc})"
            )
        return StorageError(f"{where}: {exc}")


_DIALECT = _SQLiteDialect()


class SQLiteStorage:
    """Storage in one SQLite file (``sqlite:///path``), or in memory for this process (``sqlite:///:memory:``).

    ``timeout`` is how long a unit of work waits for another writer, in seconds.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, timeout: float = 30.0, synchronous: str = "normal"
    ) -> None:
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout <= 3600:
            raise ConfigurationError(f"timeout must be a number of seconds in (0, 3600], got {timeout!r}")
        if synchronous not in _SYNCHRONOUS:
            raise ConfigurationError(
                f"synchronous must be one of {', '.join(_SYNCHRONOUS)}, got {synchronous!r}"
            )
        if not isinstance(path, str | os.PathLike):
            raise ConfigurationError(f"path must be a file path, got {path!r}")
        self._path = os.fspath(path)
        if not self._path:
            raise ConfigurationError("path must not be empty; use ':memory:' for a database in memory")
        self._memory = self._path == ":memory:"
        self._timeout = float(timeout)
        self._synchronous = synchronous
        self._local = threading.local()
        self._lock = threading.Lock()  # guards _connections
        self._memory_lock = threading.Lock()  # one unit of work at a time on the shared :memory: connection
        self._connections: list[sqlite3.Connection] = []
        self._shared: sqlite3.Connection | None = None
        self._closed = False
        self._where = f"SQLite storage {self._path}"
        if not self._memory:
            parent = Path(self._path).parent
            if not parent.is_dir():
                raise ConfigurationError(f"{self._where}: the directory {parent} does not exist")
        self._migrate(self._connection())

    @property
    def url(self) -> str:
        return f"sqlite:///{self._path}"

    @property
    def path(self) -> str:
        return self._path

    def schema_version(self) -> int:
        """The schema version recorded in the database."""
        row = self._connection().execute("SELECT max(version) FROM schema_version").fetchone()
        return int(row[0])

    def unit_of_work(self) -> SQLiteUnitOfWork:
        if self._closed:
            raise StorageError(f"{self._where} is closed")
        return SQLiteUnitOfWork(self)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            for conn in self._connections:
                conn.close()
            self._connections.clear()
            self._shared = None

    # -- connections --------------------------------------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        try:
            # isolation_level=None: we issue BEGIN IMMEDIATE / COMMIT ourselves
            conn = sqlite3.connect(
                self._path, timeout=self._timeout, isolation_level=None, check_same_thread=False
            )
            conn.execute(f"PRAGMA busy_timeout = {int(self._timeout * 1000)}")
            conn.execute(f"PRAGMA synchronous = {self._synchronous}")
            conn.execute("PRAGMA foreign_keys = ON")
        except sqlite3.Error as exc:
            raise StorageError(f"{self._where}: cannot open the database: {exc}") from exc
        with self._lock:
            self._connections.append(conn)
        return conn

    def _connection(self) -> sqlite3.Connection:
        """This thread's connection (one shared connection for ``:memory:``); a new one after a fork."""
        if self._closed:
            raise StorageError(f"{self._where} is closed")
        if self._memory:
            if self._shared is None:
                self._shared = self._open()
            return self._shared
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None or getattr(self._local, "pid", None) != os.getpid():
            conn = self._open()
            self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    def _migrate(self, conn: sqlite3.Connection) -> None:
        try:
            if not self._memory:
                mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                if str(mode).lower() != "wal":
                    raise StorageError(f"{self._where}: cannot switch to WAL mode (the journal is {mode})")
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS schema_version "
                    "(version INTEGER PRIMARY KEY, applied_us INTEGER NOT NULL)"
                )
                current = conn.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()[0]
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
                    conn.execute(
                        "INSERT INTO schema_version (version, applied_us) VALUES (?, ?)",
                        (version, to_micros(datetime.now(UTC))),
                    )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        except sqlite3.DatabaseError as exc:
            raise StorageError(f"{self._where}: cannot create or migrate the schema: {exc}") from exc


class SQLiteUnitOfWork(SQLUnitOfWork):
    """A ``BEGIN IMMEDIATE`` transaction on this thread's connection."""

    def __init__(self, storage: SQLiteStorage) -> None:
        self._storage = storage
        self._sqlite = storage._connection()
        self._holds_memory_lock = False
        super().__init__(self._sqlite, _DIALECT, storage._where)

    def _begin(self) -> None:
        if self._storage._memory:
            self._storage._memory_lock.acquire()
            self._holds_memory_lock = True
        try:
            self._sqlite.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            self._unlock()
            raise _DIALECT.translate(exc, self.where) from exc

    def _commit(self) -> None:
        try:
            self._sqlite.execute("COMMIT")
        except sqlite3.Error as exc:
            raise _DIALECT.translate(exc, self.where) from exc
        self._unlock()

    def _rollback(self) -> None:
        try:
            if self._sqlite.in_transaction:
                self._sqlite.execute("ROLLBACK")
        except sqlite3.Error as exc:
            raise _DIALECT.translate(exc, self.where) from exc
        finally:
            self._unlock()

    def _unlock(self) -> None:
        if self._holds_memory_lock:
            self._holds_memory_lock = False
            self._storage._memory_lock.release()
