"""Support for the application-service tests: fakes of the outside world, a harness, strategies, and the
worker functions spawned processes run (they live here because a spawned child can import this module).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from functools import cache
from importlib.resources import files
from typing import Any

import attrs
from hypothesis import strategies as st

from cabinet_core import Money, TariffCatalog
from cabinet_core.adapters import open_storage
from cabinet_core.application import CabinetService, ConfirmResult
from cabinet_core.backup_policy import FtpCredentials
from cabinet_core.errors import ConcurrencyConflict, StorageError
from cabinet_core.ports import Notification, Storage
from cabinet_core.ports.records import HistoryRecord, OutboxMessage, RejectedPayment, StoredInvoice
from cabinet_core.provider import ProviderConfig
from cabinet_core.testing import concurrency
from cabinet_core.testing.fakes import FakePaymentGateway, FixedClock, RecordingMailer

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
MASTER = "cabinet.example"
_LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


@cache
def catalog() -> TariffCatalog:
    return TariffCatalog.load(str(files("cabinet_core") / "data/sample_catalog.toml"))


@cache
def provider() -> ProviderConfig:
    return ProviderConfig.load(str(files("cabinet_core") / "data/sample_provider.toml"))


# -- fakes of the outside world -------------------------------------------------------------------------


class FakeDns:
    """A resolver answering from dicts; ``fail`` makes every lookup raise (a SERVFAIL)."""

    def __init__(self) -> None:
        self.txt: dict[str, list[str]] = {}
        self.cnames: dict[str, str] = {}
        self.fail = False

    def txt_records(self, name: str) -> list[str]:
        if self.fail:
            raise TimeoutError("the resolver timed out")
        return list(self.txt.get(name, []))

    def cname(self, name: str) -> str | None:
        if self.fail:
            raise TimeoutError("the resolver timed out")
        return self.cnames.get(name)


class RecordingSink:
    """An FTP credentials sink that keeps what it was handed."""

    def __init__(self) -> None:
        self.delivered: list[FtpCredentials] = []

    def deliver(self, credentials: FtpCredentials) -> None:
        self.delivered.append(credentials)


class FlakyMailer:
    """A mailer that fails whenever the next entry of ``pattern`` says so (then succeeds), recording sends."""

    def __init__(self, pattern: Sequence[bool] = ()) -> None:
        self.pattern = list(pattern)
        self.attempts = 0
        self.sent: list[tuple[str, Notification]] = []

    def send(self, notification: Notification, *, message_id: str) -> None:
        fail = self.pattern[self.attempts] if self.attempts < len(self.pattern) else False
        self.attempts += 1
        if fail:
            raise ConnectionError("relay refused the connection")
        self.sent.append((message_id, notification))


class CommitFails:
    """A storage whose next ``fail`` commits roll back and raise instead: a crash at the last moment."""

    def __init__(self, inner: Storage) -> None:
        self.inner = inner
        self.fail = 0

    @property
    def url(self) -> str:
        return self.inner.url

    def unit_of_work(self) -> Any:
        return _FailingUnit(self, self.inner.unit_of_work())

    def close(self) -> None:
        self.inner.close()


class _FailingUnit:
    def __init__(self, owner: CommitFails, inner: Any) -> None:
        self._owner = owner
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def __enter__(self) -> _FailingUnit:
        self._inner.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._inner.__exit__(*exc)

    def commit(self) -> None:
        if self._owner.fail > 0:
            self._owner.fail -= 1
            self._inner.rollback()
            raise StorageError("the database went away during COMMIT (CommitFails)")
        self._inner.commit()


# -- the harness ----------------------------------------------------------------------------------------


@attrs.frozen
class Snapshot:
    """Everything stored that a use case could change (the invoice counter is checked separately)."""

    accounts: tuple[tuple[str, int, str, tuple[str, ...]], ...]
    history: tuple[HistoryRecord, ...]
    outbox: tuple[OutboxMessage, ...]
    invoices: tuple[StoredInvoice, ...]
    rejected: tuple[RejectedPayment, ...]
    payments: tuple[Any, ...]
    mail: tuple[tuple[str, tuple[tuple[datetime, int], ...]], ...]


def snapshot(storage: Storage, payment_ids: Sequence[str] = ()) -> Snapshot:
    import json

    with storage.unit_of_work() as uow:
        ids = uow.accounts.ids(limit=10_000)
        accounts = []
        history: list[HistoryRecord] = []
        invoices: list[StoredInvoice] = []
        mail = []
        for account_id in ids:
            stored = uow.accounts.get(account_id)
            accounts.append(
                (
                    account_id,
                    stored.version,
                    json.dumps(stored.data, sort_keys=True),
                    tuple(sorted(stored.keys)),
                )
            )
            history.extend(uow.history.for_account(account_id))
            invoices.extend(uow.invoices.for_account(account_id))
            # entries() keeps grants later than at - 24 h: asked at a distant past instant, it lists them all
            mail.append((account_id, tuple(uow.mail.entries(account_id, at=_LONG_AGO))))
        return Snapshot(
            accounts=tuple(accounts),
            history=tuple(history),
            outbox=tuple(uow.outbox.messages()),
            invoices=tuple(invoices),
            rejected=tuple(uow.payments.rejected()),
            payments=tuple(uow.payments.get(p) for p in payment_ids),
            mail=tuple(mail),
        )


def build_service(
    storage: Storage,
    clock: FixedClock,
    *,
    mailer: Any = None,
    dns: Any = None,
    sink: Any = None,
    gateway: Any = None,
    settings: ProviderConfig | None = None,
) -> CabinetService:
    return CabinetService(
        storage,
        catalog(),
        settings or provider(),
        clock,
        mailer=mailer,
        payments=gateway,
        dns=dns,
        ftp_sink=sink,
    )


@attrs.define
class Env:
    """One storage (fresh per test) with a service and every fake wired in; names never repeat in it."""

    backend: str
    url: str
    storage: Storage
    clock: FixedClock
    mailer: RecordingMailer
    dns: FakeDns
    sink: RecordingSink
    gateway: FakePaymentGateway
    service: CabinetService
    _counter: Iterator[int] = attrs.field(factory=lambda: itertools.count(1))

    @classmethod
    def build(cls, backend: str, url: str) -> Env:
        storage = open_storage(url)
        clock = FixedClock(T0)
        mailer, dns, sink, gateway = RecordingMailer(), FakeDns(), RecordingSink(), FakePaymentGateway()
        service = build_service(storage, clock, mailer=mailer, dns=dns, sink=sink, gateway=gateway)
        return cls(backend, url, storage, clock, mailer, dns, sink, gateway, service)

    def examples(self, n: int) -> int:
        """``n`` Hypothesis examples on memory, fewer on the SQL backends (each example is transactions)."""
        share = {"memory": 1.0, "sqlite": 0.5, "postgresql": 0.25}[self.backend]
        return max(3, int(n * share))

    def name(self, prefix: str = "acct") -> str:
        return f"{prefix}{next(self._counter)}"

    def payment_id(self) -> str:
        return f"pay-{next(self._counter)}"

    def open(
        self,
        tariff: str = "business",
        *,
        contacts: bool = True,
        referral_code: str | None = None,
        at: datetime = T0,
        tz: str = "Europe/Moscow",
    ) -> str:
        name = self.name()
        self.service.open_account(
            name,
            tariff=tariff,
            configuration="trade",
            master_domain=MASTER,
            referral_code=referral_code,
            tz=tz,
            at=at,
        )
        if contacts:
            self.service.set_contacts(name, name="Иван Петров", email=f"{name}@acme.ru", at=at)
        return name

    def pay(self, account_id: str, months: int = 1, *, at: datetime = T0) -> ConfirmResult:
        invoice = self.service.issue_invoice(account_id, months, at=at)
        return self.service.confirm_payment(self.payment_id(), invoice.number, invoice.total, at=at)

    def snapshot(self, payment_ids: Sequence[str] = ()) -> Snapshot:
        return snapshot(self.storage, payment_ids)

    def close(self) -> None:
        self.storage.close()


# -- strategies -----------------------------------------------------------------------------------------

PAID_TARIFFS = ("start", "business", "premium", "business-eu")
ALL_TARIFFS = ("free", *PAID_TARIFFS)

# strings that must never get through: NUL, newlines, SQL, a bidi override, a path, huge, emoji, format codes
HOSTILE_STRINGS = (
    "",
    " ",
    "\x00",
    "acme\n",
    "'; DROP TABLE accounts; --",
    "\u202eevil",
    "../../etc/passwd",
    "a" * 5000,
    "😀",
    "%s%s%n",
    "<script>alert(1)</script>",
)

# values of the wrong type for any parameter that takes a str, an int, a bool, Money or a datetime
WRONG_TYPES = (None, 1.5, b"bytes", ["list"], {"a": 1}, object(), Money("1", "RUB"), datetime(2026, 1, 1))


@st.composite
def delivery_schedules(draw: st.DrawFn, payments: int) -> list[int]:
    """Every payment index at least once, some many times, in any order."""
    extra = draw(st.lists(st.integers(0, payments - 1), max_size=3 * payments))
    return draw(st.permutations([*range(payments), *extra]))


# mail operations: ("reserve", step seconds, n, partial) / ("release", step, which, False)
mail_steps = st.one_of(
    st.integers(0, 600),
    st.integers(0, 6 * 3600),
    st.sampled_from([86_400, 86_399, 86_401, 43_200]),
)
mail_operations = st.lists(
    st.one_of(
        st.tuples(st.just("reserve"), mail_steps, st.integers(1, 130), st.booleans()),
        st.tuples(st.just("release"), mail_steps, st.integers(0, 100), st.just(False)),
    ),
    min_size=1,
    max_size=25,
)


# -- spawned workers --------------------------------------------------------------------------------------


def spawn(target: Callable[..., None], per_worker: Sequence[tuple[Any, ...]]) -> list[Any]:
    """Run ``target(*args, barrier, results)`` in one spawned process per args tuple; return the payloads."""
    return [r[1] for r in concurrency.spawn(target, per_worker)]


def confirm_worker(
    url: str, payment_id: str, invoice: int, amount: str, at: str, barrier: Any, results: Any
) -> None:
    """Deliver one payment confirmation through a service of this process's own, all at once."""
    try:
        storage = open_storage(url)
        service = build_service(storage, FixedClock(T0))
        barrier.wait()
        result = service.confirm_payment(
            payment_id, invoice, Money(amount, "RUB"), at=datetime.fromisoformat(at)
        )
        storage.close()
        results.put(("ok", result.applied))
    except BaseException as exc:
        results.put(("error", f"{type(exc).__name__}: {exc}"))


def change_worker(
    url: str, account_id: str, tariffs: Sequence[str], at: str, barrier: Any, results: Any
) -> None:
    """Change the account's tariff to each of ``tariffs`` in turn, racing the other workers."""
    try:
        storage = open_storage(url)
        service = build_service(storage, FixedClock(T0))
        barrier.wait()
        conflicts = 0
        for code in tariffs:
            while True:  # the service retries a few times; a host retries a conflict that outlasts that
                try:
                    service.change_tariff(account_id, code, at=datetime.fromisoformat(at), actor="worker")
                    break
                except ConcurrencyConflict:
                    conflicts += 1
        storage.close()
        results.put(("ok", conflicts))
    except BaseException as exc:
        results.put(("error", f"{type(exc).__name__}: {exc}"))
