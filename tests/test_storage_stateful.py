"""Every adapter behaves as the in-memory model under random sequences of units of work (Hypothesis stateful).

Each example gets fresh storages: a new SQLite file, a new SQLite ``:memory:`` database, or a new PostgreSQL
schema in the test's database (a few tens of milliseconds; a database per example would cost several times
that). The memory tests check the machine itself: the model against itself raises nothing, and adapters
with a deliberate bug of each kind are caught. The last tests pin, on every adapter, what the machine found.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import Phase, settings

from cabinet_core.adapters import MemoryStorage, SQLiteStorage
from cabinet_core.adapters.memory import MemoryUnitOfWork
from cabinet_core.errors import AccountNotFound, InvalidInput
from cabinet_core.ports import Notification, Storage, UnitOfWork
from cabinet_core.testing import compare_with_model
from cabinet_core.testing.stateful import COMPARISON_SETTINGS


@pytest.mark.sqlite
def test_sqlite_file_behaves_as_the_model(tmp_path: Path) -> None:
    """A SQLite file answers and shows exactly what the memory model does, step by step."""
    numbers = itertools.count()
    compare_with_model(lambda: SQLiteStorage(tmp_path / f"example-{next(numbers)}.sqlite3"))


@pytest.mark.sqlite
def test_sqlite_in_memory_behaves_as_the_model() -> None:
    """A SQLite :memory: database answers and shows exactly what the memory model does, step by step."""
    compare_with_model(lambda: SQLiteStorage(":memory:"))


@pytest.mark.postgresql
def test_postgresql_behaves_as_the_model(postgres_dsn: str) -> None:
    """PostgreSQL answers and shows exactly what the memory model does, step by step (schema per example)."""
    from cabinet_core.adapters import PostgresStorage

    numbers = itertools.count()
    compare_with_model(lambda: PostgresStorage(postgres_dsn, schema=f"example_{next(numbers)}"))


# -- the machine itself -----------------------------------------------------------------------------------


@pytest.mark.memory
def test_the_model_against_itself_raises_nothing() -> None:
    """Two memory storages driven alike never differ: the machine raises no false alarm."""
    compare_with_model(MemoryStorage, settings=settings(COMPARISON_SETTINGS, max_examples=60))


class _Mutant(MemoryStorage):
    """A memory storage whose units of work carry one deliberate bug, applied by ``break_it``."""

    break_it: Callable[[MemoryUnitOfWork], None] = staticmethod(lambda uow: None)

    def unit_of_work(self) -> MemoryUnitOfWork:
        uow = super().unit_of_work()
        type(self).break_it(uow)
        return uow


def _keeps_rolled_back_work(uow: MemoryUnitOfWork) -> None:
    uow._rollback = uow._commit  # type: ignore[method-assign]


def _accepts_stale_saves(uow: MemoryUnitOfWork) -> None:
    save = uow.accounts.save

    def blind_save(account_id: str, data: Any, *, expected_version: int, keys: Any = None) -> Any:
        with contextlib.suppress(Exception):  # the real save refuses what get refused
            expected_version = uow.accounts.get(account_id).version
        return save(account_id, data, expected_version=expected_version, keys=keys)

    uow.accounts.save = blind_save  # type: ignore[method-assign]


def _sorts_ids_by_locale(uow: MemoryUnitOfWork) -> None:
    ids = uow.accounts.ids

    def casefolded(*, after: str | None = None, limit: int = 1000) -> list[str]:
        return sorted(ids(after=after, limit=limit), key=str.casefold)

    uow.accounts.ids = casefolded  # type: ignore[method-assign]


def _burns_invoice_numbers(uow: MemoryUnitOfWork) -> None:
    record = uow._attr

    def sequence_like(name: str, value: object) -> None:
        if name == "invoice_counter":
            setattr(uow._s, name, value)  # like a database sequence: a rollback does not give it back
        else:
            record(name, value)

    uow._attr = sequence_like  # type: ignore[method-assign]


def _forgets_the_ledgers_clock(uow: MemoryUnitOfWork) -> None:
    # the ledger no longer knows its newest grant: a late clock's grant is stamped early, not at the newest
    uow.mail._newest = lambda rows: None  # type: ignore[method-assign]


@pytest.mark.memory
@pytest.mark.parametrize(
    ("bug", "shows_as"),
    [
        (_keeps_rolled_back_work, "the model gives"),
        (_accepts_stale_saves, "accounts.save"),
        (_sorts_ids_by_locale, "accounts.ids"),
        (_burns_invoice_numbers, "invoice"),
        (_forgets_the_ledgers_clock, "mail"),
    ],
    ids=[
        "keeps rolled-back work",
        "accepts stale saves",
        "sorts ids by locale",
        "burns numbers",
        "late clock",
    ],
)
def test_an_adapter_with_a_bug_is_caught(bug: Callable[[MemoryUnitOfWork], None], shows_as: str) -> None:
    """An adapter that keeps rolled-back work, accepts stale saves, sorts ids by locale, burns invoice numbers
    on rollback or forgets the mail ledger's clock differs from the model, and the machine says where."""
    mutant = type("Mutant", (_Mutant,), {"break_it": staticmethod(bug)})
    # derandomized: the same examples every run, so this check cannot flake; no shrinking, only the catch
    quick = settings(
        COMPARISON_SETTINGS, max_examples=200, database=None, phases=[Phase.generate], derandomize=True
    )
    with pytest.raises(AssertionError, match=shows_as):
        compare_with_model(mutant, settings=quick)


def _words_refusals_differently(uow: MemoryUnitOfWork) -> None:
    get = uow.accounts.get

    def terse(account_id: str) -> Any:
        try:
            return get(account_id)
        except AccountNotFound:
            raise AccountNotFound("not found") from None

    uow.accounts.get = terse  # type: ignore[method-assign]


@pytest.mark.memory
def test_messages_can_be_left_out_of_the_comparison() -> None:
    """Errors of the same type worded differently fail the comparison, unless compare_messages=False."""
    mutant = type("Mutant", (_Mutant,), {"break_it": staticmethod(_words_refusals_differently)})
    quick = settings(
        COMPARISON_SETTINGS, max_examples=30, database=None, phases=[Phase.generate], derandomize=True
    )
    with pytest.raises(AssertionError, match="'not found'"):
        compare_with_model(mutant, settings=quick)
    compare_with_model(mutant, settings=quick, compare_messages=False)


# -- what the machine found, pinned on every adapter ------------------------------------------------------

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(
    params=[
        pytest.param("memory", marks=pytest.mark.memory),
        pytest.param("sqlite", marks=pytest.mark.sqlite),
        pytest.param("postgresql", marks=pytest.mark.postgresql),
    ]
)
def storage(request: pytest.FixtureRequest) -> Iterator[Storage]:
    if request.param == "postgresql":
        from cabinet_core.adapters import PostgresStorage

        store: Storage = PostgresStorage(request.getfixturevalue("postgres_dsn"))
    else:
        store = MemoryStorage() if request.param == "memory" else SQLiteStorage(":memory:")
    yield store
    store.close()


def _note(subject: str = "Счёт", body: str = "...", data: dict[str, Any] | None = None) -> Notification:
    return Notification(
        account_id="acme",
        kind="invoice_issued",
        to=("a@acme.example",),
        subject=subject,
        body=body,
        data=data or {},
    )


_WRITES: dict[str, Callable[[UnitOfWork, str], object]] = {
    "account document": lambda uow, text: uow.accounts.add("beta", {"name": text}),
    "document key": lambda uow, text: uow.accounts.save("acme", {text: 1}, expected_version=1),
    "invoice": lambda uow, text: uow.invoices.add(uow.invoices.next_number(), "acme", {"l": [text]}, at=T0),
    "payment": lambda uow, text: uow.payments.record("p-1", "acme", {"payer": text}, at=T0),
    "rejection reason": lambda uow, text: uow.payments.reject("p-2", "acme", text, {}, at=T0),
    "history": lambda uow, text: uow.history.append("acme", at=T0, kind="opened", data={"by": {"n": text}}),
    "notification subject": lambda uow, text: uow.outbox.enqueue(_note(subject=text), at=T0),
    "notification body": lambda uow, text: uow.outbox.enqueue(_note(body=text), at=T0),
    "notification data": lambda uow, text: uow.outbox.enqueue(_note(data={"x": text}), at=T0),
}


@pytest.mark.parametrize("text", ["nul\x00inside", "tail\udfff"], ids=["NUL", "surrogate"])
@pytest.mark.parametrize("write", list(_WRITES))
def test_text_no_database_can_keep_is_refused_alike(storage: Storage, write: str, text: str) -> None:
    """A NUL or an unpaired surrogate in any text is refused with InvalidInput before anything is written,
    and the unit of work goes on (on PostgreSQL it used to fail the transaction; SQLite raised
    UnicodeEncodeError; memory stored it)."""
    with storage.unit_of_work() as uow:
        uow.accounts.add("acme", {"n": 0})
        uow.commit()
    with storage.unit_of_work() as uow:
        with pytest.raises(InvalidInput, match=r"U\+(0000|D800|DFFF)"):
            _WRITES[write](uow, text)
        if write == "invoice":  # its number stays taken: the use case stores a corrected invoice under it
            uow.invoices.add(1, "acme", {"corrected": True}, at=T0)
        uow.history.append("acme", at=T0, kind="opened", data={"still": "usable"})
        uow.commit()
    with storage.unit_of_work() as uow:
        assert uow.accounts.ids() == ["acme"]
        assert uow.accounts.get("acme").version == 1
        invoices = [(i.number, i.data) for i in uow.invoices.for_account("acme")]
        assert invoices == ([(1, {"corrected": True})] if write == "invoice" else [])
        assert uow.payments.get("p-1") is None
        assert uow.payments.rejected() == []
        assert [r.data for r in uow.history.for_account("acme")] == [{"still": "usable"}]
        assert uow.outbox.messages() == []


def test_a_failure_text_no_database_can_keep_is_recorded_readably(storage: Storage) -> None:
    """mark_failed keeps a mailer's error holding a NUL or a lone surrogate, with U+FFFD in their place."""
    with storage.unit_of_work() as uow:
        message_id = uow.outbox.enqueue(_note(), at=T0)
        uow.outbox.claim(at=T0, lease=timedelta(minutes=1), limit=1, claim="c")
        assert message_id is not None
        assert uow.outbox.mark_failed(message_id, claim="c", at=T0, error="550\x00 bad\ud800", retry_at=None)
        uow.commit()
    with storage.unit_of_work() as uow:
        assert uow.outbox.messages()[0].last_error == "550\ufffd bad\ufffd"


@pytest.mark.parametrize(
    "number", [1e16, 2.5e22, 1e300, 1.7976931348623157e308, 5e-324, 1.5e-7, -1e-5, 123.456, 10**30]
)
def test_numbers_read_back_as_written(storage: Storage, number: float) -> None:
    """A float reads back as the same float (jsonb used to turn 1e16 into the int 10000000000000000)."""
    with storage.unit_of_work() as uow:
        uow.accounts.add("acme", {"n": number, "in": [{"n": number}], "text": "1e+16"})
        uow.history.append("acme", at=T0, kind="opened", data={"n": number})
        uow.commit()
    with storage.unit_of_work() as uow:
        data = uow.accounts.get("acme").data
        history = uow.history.for_account("acme")[0].data
    for value in (data["n"], data["in"][0]["n"], history["n"]):
        assert (type(value), value) == (type(number), number)
    assert data["text"] == "1e+16"


def test_every_adapter_names_the_same_bad_argument_first(storage: Storage) -> None:
    """With several bad arguments, every adapter refuses the same one (the model checked them in its own
    order: a naive `at` before an empty kind, `after` before `limit`, `at` before the account id)."""
    naive = datetime(2025, 3, 1, 12, 0)
    with storage.unit_of_work() as uow:
        with pytest.raises(InvalidInput, match="kind"):
            uow.history.append("acme", at=naive, kind="", data={})
        with pytest.raises(InvalidInput, match="limit"):
            uow.accounts.ids(after="", limit=0)
        with pytest.raises(InvalidInput, match="account_id"):
            uow.mail.reserve("", 1, limit=10, at=naive)
        with pytest.raises(InvalidInput, match="account_id"):
            uow.mail.entries(" padded", at=naive)
        with pytest.raises(InvalidInput, match="message_id"):
            uow.outbox.mark_sent(0, claim="c", at=naive)
