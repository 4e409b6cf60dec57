"""What is particular to each adapter: the URL helper, SQLite's file, WAL and schema versions, PostgreSQL's
connection errors and schemas, and the fakes and values the ports use."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cabinet_core.adapters import MemoryStorage, SQLiteStorage, deliver_outbox, open_storage
from cabinet_core.adapters.dispatch import backoff
from cabinet_core.adapters.sqlite import SCHEMA_VERSION
from cabinet_core.errors import (
    CabinetError,
    ConfigurationError,
    InvalidInput,
    InvalidType,
    NaiveDatetime,
    StorageError,
)
from cabinet_core.ports import (
    AccountStore,
    Clock,
    Mailer,
    Notification,
    OutboxStatus,
    PaymentGateway,
    PaymentStart,
    Storage,
    UnitOfWork,
)
from cabinet_core.testing import FakePaymentGateway, FixedClock, RecordingMailer

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


# -- the URL helper ---------------------------------------------------------------------------------------


@pytest.mark.memory
def test_memory_url_gives_a_memory_storage() -> None:
    """memory:// opens an empty in-memory storage."""
    storage = open_storage("memory://")
    assert isinstance(storage, MemoryStorage)
    assert isinstance(storage, Storage)


@pytest.mark.sqlite
def test_sqlite_urls_name_relative_absolute_and_memory_databases(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """sqlite:///rel is relative to the working directory, sqlite:////abs absolute, :memory: in memory."""
    monkeypatch.chdir(tmp_path)
    relative = open_storage("sqlite:///rel.sqlite3")
    absolute = open_storage(f"sqlite:///{tmp_path / 'abs.sqlite3'}?timeout=5&synchronous=full")
    memory = open_storage("sqlite:///:memory:")
    assert (tmp_path / "rel.sqlite3").exists()
    assert (tmp_path / "abs.sqlite3").exists()
    assert isinstance(relative, SQLiteStorage)
    assert relative.path == "rel.sqlite3"
    assert isinstance(absolute, SQLiteStorage)
    assert absolute.path == str(tmp_path / "abs.sqlite3")
    assert isinstance(memory, SQLiteStorage)
    assert memory.path == ":memory:"
    for storage in (relative, absolute, memory):
        storage.close()


@pytest.mark.parametrize(
    "url",
    ["redis://localhost", "mysql://db/x", "cabinet.sqlite3", "", "file:///tmp/x", "memory://extra"],
)
def test_unsupported_urls_are_refused_naming_the_accepted_schemes(url: str) -> None:
    """Anything but memory://, sqlite:/// and postgresql:// is a ConfigurationError (a ValueError)."""
    with pytest.raises(ConfigurationError) as refused:
        open_storage(url)
    assert isinstance(refused.value, ValueError)
    if not url.startswith("memory"):
        assert "memory://, sqlite:///path or postgresql://" in str(refused.value)


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("sqlite://host/x.db", "no host"),
        ("sqlite:///", "names no file"),
        ("sqlite:///x.db?journal=delete", "unknown option"),
        ("sqlite:///x.db?timeout=soon", "timeout"),
        ("sqlite:///x.db?timeout=0", "timeout"),
        ("sqlite:///x.db?synchronous=sometimes", "synchronous"),
        ("sqlite:////no/such/directory/x.db", "does not exist"),
    ],
)
def test_bad_sqlite_urls_are_refused_clearly(
    url: str, words: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A malformed SQLite URL is refused with a message saying what is wrong; no file is created."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigurationError, match=words):
        open_storage(url)
    assert list(tmp_path.iterdir()) == []


def test_a_url_that_is_not_a_string_is_refused() -> None:
    """open_storage refuses a non-string with InvalidType."""
    with pytest.raises(InvalidType):
        open_storage(Path("cabinet.sqlite3"))  # type: ignore[arg-type]


def test_a_password_never_appears_in_a_refusal() -> None:
    """The password of a refused URL is masked in the error message."""
    with pytest.raises(ConfigurationError) as refused:
        open_storage("mysql://admin:hunter2@db.example/cabinet")
    assert "hunter2" not in str(refused.value)
    assert "admin:***@db.example" in str(refused.value)


# -- SQLite -----------------------------------------------------------------------------------------------


@pytest.mark.sqlite
def test_sqlite_file_is_in_wal_mode_with_a_recorded_schema_version(tmp_path: Path) -> None:
    """A new file is switched to WAL and records each applied schema version once, also when reopened."""
    path = tmp_path / "cabinet.sqlite3"
    SQLiteStorage(path).close()
    storage = SQLiteStorage(path)
    assert storage.schema_version() == SCHEMA_VERSION
    storage.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        versions = [row[0] for row in conn.execute("SELECT version FROM schema_version ORDER BY version")]
    conn.close()
    assert versions == list(range(1, SCHEMA_VERSION + 1))


@pytest.mark.sqlite
def test_sqlite_migrates_an_older_file_keeping_its_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file at schema version 1 is migrated on open; grants stored under version 1 still count."""
    from cabinet_core.adapters import sqlite as sqlite_adapter

    path = tmp_path / "old.sqlite3"
    with monkeypatch.context() as patch:
        patch.setattr(sqlite_adapter, "_MIGRATIONS", sqlite_adapter._MIGRATIONS[:1])
        patch.setattr(sqlite_adapter, "SCHEMA_VERSION", 1)
        SQLiteStorage(path).close()
    at_us = (T0 - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO mail_ledger (account_id, at_us, count, released) VALUES ('acme', ?, 70, 0)", (at_us,)
        )
    conn.close()
    storage = SQLiteStorage(path)
    assert storage.schema_version() == SCHEMA_VERSION > 1
    with storage.unit_of_work() as uow:
        assert uow.mail.reserve("acme", 50, limit=100, at=T0 + timedelta(hours=1), partial=True).granted == 30
        assert uow.mail.reserve("acme", 1, limit=100, at=T0 + timedelta(hours=1), partial=True).granted == 0
    storage.close()


@pytest.mark.sqlite
def test_sqlite_refuses_a_database_from_a_newer_release(tmp_path: Path) -> None:
    """A file whose schema is newer than this release understands is refused, untouched."""
    path = tmp_path / "cabinet.sqlite3"
    SQLiteStorage(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO schema_version (version, applied_us) VALUES (99, 0)")
    conn.close()
    with pytest.raises(StorageError, match="schema version 99"):
        SQLiteStorage(path)


@pytest.mark.sqlite
def test_sqlite_refuses_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    """Opening a file that is not SQLite raises StorageError with the driver's error chained."""
    path = tmp_path / "notes.txt"
    path.write_text("these are not the tables you are looking for\n" * 100)
    with pytest.raises(StorageError) as refused:
        SQLiteStorage(path)
    assert isinstance(refused.value.__cause__, sqlite3.Error)


@pytest.mark.sqlite
def test_sqlite_writers_wait_for_each_other_then_give_up_clearly(tmp_path: Path) -> None:
    """A unit of work waits for another writer up to the timeout, then raises StorageError saying so."""
    path = tmp_path / "cabinet.sqlite3"
    holder, waiter = SQLiteStorage(path), SQLiteStorage(path, timeout=0.2)
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with holder.unit_of_work() as uow:
            uow.accounts.add("acme", {})
            holding.set()
            release.wait(10)
            uow.commit()

    thread = threading.Thread(target=hold)
    thread.start()
    holding.wait(10)
    try:
        with pytest.raises(StorageError, match="locked"), waiter.unit_of_work() as uow:
            uow.accounts.ids()
    finally:
        release.set()
        thread.join()
    with waiter.unit_of_work() as uow:
        assert uow.accounts.ids() == ["acme"]
    holder.close()
    waiter.close()


@pytest.mark.sqlite
def test_sqlite_storages_on_one_file_see_each_others_commits(tmp_path: Path) -> None:
    """Two storages (as in two processes) on one file share the data once committed."""
    first, second = SQLiteStorage(tmp_path / "c.sqlite3"), SQLiteStorage(tmp_path / "c.sqlite3")
    with first.unit_of_work() as uow:
        uow.accounts.add("acme", {"n": 1})
        uow.commit()
    with second.unit_of_work() as uow:
        assert uow.accounts.get("acme").data == {"n": 1}
    first.close()
    second.close()
    with pytest.raises(StorageError, match="closed"):
        first.unit_of_work()


@pytest.mark.sqlite
def test_sqlite_units_of_work_from_threads_are_serialised(tmp_path: Path) -> None:
    """Threads sharing one storage each get a connection; their reservations never oversell."""
    storage = SQLiteStorage(tmp_path / "c.sqlite3")
    granted: list[int] = []

    def work() -> None:
        for _ in range(20):
            with storage.unit_of_work() as uow:
                granted.append(uow.mail.reserve("acme", 3, limit=100, at=T0, partial=True).granted)
                uow.commit()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(granted) == 100
    storage.close()


# -- PostgreSQL -------------------------------------------------------------------------------------------


@pytest.mark.postgresql
def test_postgresql_url_opens_the_adapter_with_its_schema_version(postgres_dsn: str) -> None:
    """postgresql:// opens the PostgreSQL adapter; the schema version is recorded."""
    from cabinet_core.adapters.postgresql import SCHEMA_VERSION as PG_VERSION
    from cabinet_core.adapters.postgresql import PostgresStorage

    storage = open_storage(postgres_dsn)
    assert isinstance(storage, PostgresStorage)
    assert storage.schema_version() == PG_VERSION
    storage.close()


@pytest.mark.postgresql
def test_postgresql_schemas_keep_two_installations_apart(postgres_dsn: str) -> None:
    """Two storages in different PostgreSQL schemas of one database do not see each other."""
    from cabinet_core.adapters.postgresql import PostgresStorage

    first, second = PostgresStorage(postgres_dsn), PostgresStorage(postgres_dsn, schema="tenant_b")
    with first.unit_of_work() as uow:
        uow.accounts.add("acme", {})
        uow.commit()
    with second.unit_of_work() as uow:
        assert uow.accounts.ids() == []
    first.close()
    second.close()


@pytest.mark.postgresql
def test_postgresql_connection_failure_is_a_storage_error_without_the_password(postgres_dsn: str) -> None:
    """An unreachable server raises StorageError, chaining the driver's error, with the password masked."""
    import psycopg

    from cabinet_core.adapters.postgresql import PostgresStorage

    with pytest.raises(StorageError) as refused:
        PostgresStorage("postgresql://app:s3cret@127.0.0.1:1/cabinet", connect_timeout=2)
    assert "s3cret" not in str(refused.value)
    assert isinstance(refused.value.__cause__, psycopg.Error)


@pytest.mark.parametrize("schema", ["Cabinet", "drop table", "", "x" * 64])
def test_postgresql_schema_names_are_checked_before_connecting(schema: str) -> None:
    """A schema name that is not a plain lowercase identifier is refused without connecting."""
    from cabinet_core.adapters.postgresql import PostgresStorage

    with pytest.raises(ConfigurationError):
        PostgresStorage("postgresql://nobody@127.0.0.1:1/x", schema=schema)


@pytest.mark.postgresql
def test_postgresql_errors_inside_a_unit_of_work_are_storage_errors(postgres_dsn: str) -> None:
    """A failing statement surfaces as StorageError and the unit of work rolls back."""
    from cabinet_core.adapters.postgresql import PostgresStorage

    storage = PostgresStorage(postgres_dsn)
    with storage.unit_of_work() as uow:
        uow.accounts.add("acme", {})
        with pytest.raises(StorageError, match="does not exist"):
            uow.x("SELECT * FROM no_such_table")  # type: ignore[attr-defined]
    with storage.unit_of_work() as uow:
        assert uow.accounts.ids() == []
    storage.close()


# -- the dispatcher, fakes and values ---------------------------------------------------------------------


def _note() -> Notification:
    return Notification(
        account_id="acme", kind="invoice_issued", to="owner@acme.example", subject="s", body="b"
    )


@pytest.mark.memory
def test_a_message_that_keeps_failing_is_kept_dead_after_max_attempts() -> None:
    """After max_attempts failures the dispatcher gives up: the message is dead, kept, and not retried."""
    storage, mailer, clock = MemoryStorage(), RecordingMailer(), FixedClock(T0)
    with storage.unit_of_work() as uow:
        uow.outbox.enqueue(_note(), at=T0)
        uow.commit()
    mailer.fail = 100
    reports = []
    for _ in range(5):
        reports.append(deliver_outbox(storage, mailer, clock, max_attempts=3))
        clock.advance(hours=7)
    assert [(r.retried, r.dead) for r in reports] == [(1, 0), (1, 0), (0, 1), (0, 0), (0, 0)]
    with storage.unit_of_work() as uow:
        (message,) = uow.outbox.messages()
    assert (message.status, message.attempts) == (OutboxStatus.DEAD, 3)
    assert "ConnectionError" in message.last_error
    assert mailer.sent == []


def test_backoff_doubles_from_a_minute_up_to_six_hours() -> None:
    """Retries wait 1, 2, 4, ... minutes, never more than 6 hours."""
    assert [backoff(n) for n in (1, 2, 3)] == [timedelta(minutes=m) for m in (1, 2, 4)]
    assert backoff(50) == timedelta(hours=6)


@pytest.mark.parametrize(
    "kwargs", [{"limit": 0}, {"lease": timedelta(0)}, {"max_attempts": 0}, {"max_attempts": 1.5}]
)
def test_the_dispatcher_refuses_bad_settings(kwargs: dict[str, object]) -> None:
    """deliver_outbox refuses a zero limit or lease and a max_attempts that is not a positive integer."""
    with pytest.raises(CabinetError):
        deliver_outbox(MemoryStorage(), RecordingMailer(), FixedClock(T0), **kwargs)  # type: ignore[arg-type]


def test_the_fixed_clock_moves_only_forward_and_only_when_told() -> None:
    """FixedClock says the same instant until advanced; it refuses naive instants and going back."""
    clock = FixedClock(T0)
    assert clock.now() == clock.now() == T0
    assert clock.advance(hours=2) == T0 + timedelta(hours=2)
    with pytest.raises(InvalidInput):
        clock.advance(timedelta(seconds=-1))
    with pytest.raises(NaiveDatetime):
        FixedClock(datetime(2025, 1, 1))


def test_the_fakes_and_our_adapters_fit_the_protocols() -> None:
    """The fakes and adapters satisfy the runtime-checkable port protocols."""
    storage = MemoryStorage()
    assert isinstance(FixedClock(T0), Clock)
    assert isinstance(RecordingMailer(), Mailer)
    assert isinstance(FakePaymentGateway(), PaymentGateway)
    uow = storage.unit_of_work()
    assert isinstance(uow, UnitOfWork)
    assert isinstance(uow.accounts, AccountStore)


def test_the_fake_gateway_opens_numbered_payments() -> None:
    """FakePaymentGateway returns pay-1, pay-2, ... with a redirect URL, and remembers each start."""
    from cabinet_core.money import Money

    gateway = FakePaymentGateway()
    start = gateway.start_payment(
        account_id="acme",
        invoice_number=7,
        amount=Money("1990", "RUB"),
        description="d",
        return_url="https://x",
    )
    assert start == PaymentStart(payment_id="pay-1", redirect_url="https://pay.example/checkout/pay-1")
    assert gateway.started[0].invoice_number == 7


@pytest.mark.parametrize(
    "kwargs",
    [
        {"to": ()},
        {"to": ("",)},
        {"subject": "x" * 999},
        {"account_id": ""},
        {"kind": 3},
        {"data": {"at": T0}},
    ],
)
def test_notifications_validate_at_construction(kwargs: dict[str, object]) -> None:
    """A Notification without recipients, with an overlong subject or a bad field is refused."""
    fields: dict[str, object] = {
        "account_id": "acme",
        "kind": "invoice_issued",
        "to": ("a@b.ru",),
        "subject": "s",
        "body": "b",
    }
    with pytest.raises(CabinetError):
        Notification(**{**fields, **kwargs})  # type: ignore[arg-type]


@pytest.mark.parametrize("url", ["ftp://x", "javascript:alert(1)", "", None])
def test_a_payment_start_needs_an_http_redirect(url: object) -> None:
    """PaymentStart refuses a redirect that is not an http(s) URL."""
    with pytest.raises(CabinetError):
        PaymentStart(payment_id="pay-1", redirect_url=url)  # type: ignore[arg-type]


# -- the throwaway PostgreSQL cluster ---------------------------------------------------------------------


def test_a_directory_without_server_binaries_is_reported_not_found(tmp_path: Path) -> None:
    """TemporaryPostgres refuses a binaries directory lacking initdb/pg_ctl with PostgresNotFound."""
    from cabinet_core.testing.postgresql import PostgresNotFound, TemporaryPostgres

    with pytest.raises(PostgresNotFound, match="CABINET_PG_BINDIR"):
        TemporaryPostgres(bindir=tmp_path)


def test_the_binaries_directory_can_be_named_in_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """find_bindir prefers $CABINET_PG_BINDIR when it holds the server tools, and skips it otherwise."""
    from cabinet_core.testing.postgresql import find_bindir

    for tool in ("initdb", "pg_ctl", "postgres"):
        (tmp_path / tool).write_text("#!/bin/sh\n")
        (tmp_path / tool).chmod(0o755)
    monkeypatch.setenv("CABINET_PG_BINDIR", str(tmp_path))
    assert find_bindir() == tmp_path
    (tmp_path / "pg_ctl").unlink()
    assert find_bindir() != tmp_path
