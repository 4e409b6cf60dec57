"""The application service end to end, on every storage adapter (memory, SQLite, PostgreSQL).

Each test drives :class:`CabinetService` through its public use cases and checks DESIGN.md's rules against
an independent oracle: the pure domain model fed the same inputs, or figures computed here. Refusals are
checked to change nothing by comparing everything stored before and after.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime, time, timedelta
from decimal import Decimal
from importlib.resources import files
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cabinet_core import CabinetError, Money, TariffCatalog
from cabinet_core.application import CabinetService
from cabinet_core.backup_policy import BackupWindow, Version
from cabinet_core.billing import Payment, apply_payment
from cabinet_core.domains import DomainNotVerified
from cabinet_core.errors import (
    AccountNotFound,
    ConfigurationError,
    DowngradeRefused,
    FeatureNotAvailable,
    InvalidInput,
    InvalidType,
    NaiveDatetime,
    PaymentRejected,
    QuotaExceeded,
    StorageError,
    UnknownCode,
)
from cabinet_core.overview import ContactsView, LeaseStatus, ManagerView, UsageView
from cabinet_core.ports import OutboxStatus
from cabinet_core.quotas import MB, LoadMeter, MailWindow, Usage, check_downgrade
from cabinet_core.referrals import RewardPolicy
from cabinet_core.tariffs import Lease
from cabinet_core.testing.fakes import FixedClock, RecordingMailer

from strategies.application import (
    HOSTILE_STRINGS,
    MASTER,
    PAID_TARIFFS,
    T0,
    WRONG_TYPES,
    CommitFails,
    Env,
    FlakyMailer,
    build_service,
    catalog,
    change_worker,
    confirm_worker,
    delivery_schedules,
    mail_operations,
    provider,
    spawn,
)

MSK = ZoneInfo("Europe/Moscow")
DAY = timedelta(days=1)
REWARD = RewardPolicy(provider().referral_share)

BACKENDS = [
    pytest.param("memory", marks=pytest.mark.memory, id="memory"),
    pytest.param("sqlite", marks=pytest.mark.sqlite, id="sqlite"),
    pytest.param("postgresql", marks=pytest.mark.postgresql, id="postgresql"),
]
SHARED = [
    pytest.param("sqlite", marks=pytest.mark.sqlite, id="sqlite"),
    pytest.param("postgresql", marks=pytest.mark.postgresql, id="postgresql"),
]
# Hypothesis runs inside each test on the test's own storage: examples share it, and use fresh names
HYPOTHESIS = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
    "database": None,
}


def _url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if backend == "memory":
        return "memory://"
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'cabinet.sqlite3'}"
    dsn: str = request.getfixturevalue("postgres_dsn")
    return dsn


@pytest.fixture(params=BACKENDS)
def env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Env]:
    """A service over a fresh storage of each kind, with every fake port wired in."""
    harness = Env.build(request.param, _url(request.param, request, tmp_path))
    yield harness
    harness.close()


@pytest.fixture(params=SHARED)
def shared_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A storage URL several processes can open: an SQLite file or a fresh PostgreSQL database."""
    return _url(request.param, request, tmp_path)


def lease_of(env: Env, account_id: str) -> Lease:
    return env.service.account(account_id).lease


def history_kinds(env: Env, account_id: str) -> list[str]:
    return [r.kind for r in env.service.history(account_id)]


def messages(env: Env, account_id: str, kind: str | None = None) -> list[Any]:
    with env.storage.unit_of_work() as uow:
        found = uow.outbox.messages(account_id)
    return [m for m in found if kind is None or m.notification.kind == kind]


def ceil_days(delta: timedelta) -> int:
    return math.ceil(delta / DAY)


# -- payments: exactly once, rewards exactly once, mismatches rejected ------------------------------------


def test_replayed_confirmations_extend_once_per_payment_id(env: Env) -> None:
    """Any replay and interleaving of several payments extends each term once per payment id, and credits the
    referrer once per payment."""

    @settings(max_examples=env.examples(40), **HYPOTHESIS)
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        service = env.service
        referrer = env.open("business")
        code = service.account(referrer).referral_code.value
        referred = [env.open("start", referral_code=code) for _ in range(data.draw(st.integers(1, 2)))]
        bonus_before = service.account(referrer).bonus
        k = data.draw(st.integers(1, 4), label="payments")
        invoices = []
        for _ in range(k):
            who = data.draw(st.sampled_from(referred))
            months = data.draw(st.integers(1, 12))
            invoices.append(service.issue_invoice(who, months, at=T0))
        ids = [env.payment_id() for _ in range(k)]
        schedule = data.draw(delivery_schedules(k), label="schedule")
        gaps = data.draw(
            st.lists(st.integers(0, 45 * 86_400), min_size=len(schedule), max_size=len(schedule))
        )
        model = {a: lease_of(env, a) for a in referred}
        at = T0
        seen: set[int] = set()
        for i, gap in zip(schedule, gaps, strict=True):
            at += timedelta(seconds=gap)
            inv = invoices[i]
            result = service.confirm_payment(ids[i], inv.number, inv.total, at=at)
            if i not in seen:
                seen.add(i)
                payment = Payment(ids[i], inv.number, inv.total, at)
                model[inv.account_id] = apply_payment(model[inv.account_id], inv, payment, catalog())
                assert result.applied
            else:
                assert not result.applied
            assert result.lease == model[inv.account_id] == lease_of(env, inv.account_id)
        for account in referred:
            mine = [i for i in range(k) if invoices[i].account_id == account]
            payments = [r for r in service.history(account) if r.kind == "payment"]
            assert sorted(r.data["reason"] for r in payments) == sorted(f"payment {ids[i]}" for i in mine)
            assert len(messages(env, account, "payment_received")) == len(mine)
        after = service.account(referrer).bonus
        expected = sum((REWARD.reward(inv.total) for inv in invoices), Money.zero("RUB"))
        assert after.earned - bonus_before.earned == expected
        assert after.credited - bonus_before.credited == set(ids)
        rewards = [r for r in service.history(referrer) if r.kind == "referral_reward"]
        assert Counter(r.data["data"]["payment_id"] for r in rewards) == Counter(ids)

    check()


@pytest.mark.parametrize("wrong", ["amount", "currency"])
def test_mismatched_payment_is_rejected_kept_and_changes_nothing(env: Env, wrong: str) -> None:
    """A payment whose amount or currency differs from the invoice raises PaymentRejected, is kept for review
    once, and changes no account, history or notification; the right payment still applies afterwards."""

    @settings(max_examples=env.examples(20), **HYPOTHESIS)
    @given(delta=st.integers(-(10**6), 10**6).filter(bool), currency=st.sampled_from(["USD", "EUR", "KZT"]))
    def check(delta: int, currency: str) -> None:
        service = env.service
        referrer = env.open("business")
        account = env.open("start", referral_code=service.account(referrer).referral_code.value)
        invoice = service.issue_invoice(account, 3, at=T0)
        total = invoice.total
        bad = (
            Money.from_minor(total.to_minor() + delta, "RUB")
            if wrong == "amount"
            else Money(total.amount, currency)
        )
        pid = env.payment_id()
        before = env.snapshot([pid])
        for _ in range(2):  # a redelivery of the same mismatch is rejected again, kept once
            with pytest.raises(PaymentRejected) as info:
                service.confirm_payment(pid, invoice.number, bad, at=T0 + DAY)
            assert str(invoice.number) in str(info.value)
        after = env.snapshot([pid])
        assert attrs.evolve(after, rejected=before.rejected) == before
        kept = [r for r in after.rejected if r.payment_id == pid]
        assert len(kept) == 1 and kept[0].account_id == account
        assert len(after.rejected) == len(before.rejected) + 1
        good = service.confirm_payment(env.payment_id(), invoice.number, total, at=T0 + DAY)
        assert good.applied and good.lease.paid_until > T0 + DAY

    check()


def test_applied_payment_redelivered_with_another_amount_is_rejected(env: Env) -> None:
    """A payment id already applied that comes again with a different amount is refused and kept for
    review; the term it extended stays as it was."""
    account = env.open("business")
    invoice = env.service.issue_invoice(account, 1, at=T0)
    applied = env.service.confirm_payment("pay-x", invoice.number, invoice.total, at=T0)
    assert applied.applied
    before = env.snapshot(["pay-x"])
    with pytest.raises(PaymentRejected):
        env.service.confirm_payment("pay-x", invoice.number, invoice.total + Money("1", "RUB"), at=T0)
    after = env.snapshot(["pay-x"])
    assert attrs.evolve(after, rejected=before.rejected) == before
    assert [r.payment_id for r in after.rejected] == ["pay-x"]
    again = env.service.confirm_payment("pay-x", invoice.number, invoice.total, at=T0 + DAY)
    assert not again.applied and again.lease == applied.lease


def test_second_payment_of_a_paid_invoice_is_kept_for_review(env: Env) -> None:
    """One invoice paid under two payment ids extends the term once; the second payment is rejected, kept
    for review, and changes nothing."""
    account = env.open("business")
    invoice = env.service.issue_invoice(account, 1, at=T0)
    first = env.service.confirm_payment("pay-first", invoice.number, invoice.total, at=T0)
    assert first.applied
    before = env.snapshot(["pay-second"])
    with pytest.raises(PaymentRejected, match="already paid"):
        env.service.confirm_payment("pay-second", invoice.number, invoice.total, at=T0 + DAY)
    after = env.snapshot(["pay-second"])
    assert attrs.evolve(after, rejected=before.rejected) == before
    assert [r.payment_id for r in after.rejected] == ["pay-second"]
    assert env.service.account(account).lease == first.lease


def test_payment_for_an_invoice_settled_by_bonus_is_rejected(env: Env) -> None:
    """An invoice paid in full with bonus credit extends the term at issue; a later 'payment' of 0 for it
    is rejected rather than extending the term a second time."""
    referrer = env.open("start")
    code = env.service.account(referrer).referral_code.value
    referred = env.open("premium", referral_code=code)
    env.pay(referred, 12)  # 10 % of 12 months of premium: enough credit for a month of start
    assert env.service.account(referrer).bonus.balance >= catalog()["start"].monthly_price
    paid_until = lease_of(env, referrer).paid_until
    invoice = env.service.issue_invoice(referrer, 1, use_bonus=True, at=T0)
    assert invoice.total.is_zero()
    extended = lease_of(env, referrer)
    assert extended == Lease(catalog()["start"], paid_until, "Europe/Moscow").extend(1, T0)
    with pytest.raises(PaymentRejected):
        env.service.confirm_payment("pay-zero", invoice.number, invoice.total, at=T0)
    assert lease_of(env, referrer) == extended


def test_cancelling_an_unpaid_invoice_gives_the_bonus_back(env: Env) -> None:
    """Cancelling an unpaid invoice restores exactly the bonus credit it used; a payment arriving for it
    afterwards is kept for review and extends nothing; a second cancel and a paid invoice are refused."""
    referrer = env.open("premium")
    code = env.service.account(referrer).referral_code.value
    referred = env.open("start", referral_code=code)
    env.pay(referred, 1)  # 10 % of 990 = 99,00 of credit: less than a month of premium
    balance = env.service.account(referrer).bonus.balance
    assert not balance.is_zero()
    invoice = env.service.issue_invoice(referrer, 1, use_bonus=True, at=T0)
    assert [line.kind for line in invoice.lines] == ["tariff", "bonus"]
    assert env.service.account(referrer).bonus.balance.is_zero()
    lease = lease_of(env, referrer)
    env.service.cancel_invoice(referrer, invoice.number, at=T0)
    assert env.service.account(referrer).bonus.balance == balance
    with pytest.raises(PaymentRejected, match="cancelled"):
        env.service.confirm_payment("pay-late", invoice.number, invoice.total, at=T0 + DAY)
    assert lease_of(env, referrer) == lease
    before = env.snapshot([])
    with pytest.raises(InvalidInput, match="already cancelled"):
        env.service.cancel_invoice(referrer, invoice.number, at=T0)
    assert env.snapshot([]) == before
    paid = env.service.issue_invoice(referrer, 1, at=T0)
    env.service.confirm_payment("pay-ok", paid.number, paid.total, at=T0)
    before = env.snapshot([])
    with pytest.raises(InvalidInput, match="is paid"):
        env.service.cancel_invoice(referrer, paid.number, at=T0)
    with pytest.raises(InvalidInput, match="does not belong"):
        env.service.cancel_invoice(referred, paid.number, at=T0)
    assert env.snapshot([]) == before


def test_free_account_paying_for_a_paid_tariff_moves_to_it(env: Env) -> None:
    """An account on the free tariff that pays an invoice for a paid tariff moves to it with the paid months
    (the payment is never lost in an error)."""
    account = env.open("free")
    invoice = env.service.issue_invoice(account, 3, tariff="business", at=T0)
    result = env.service.confirm_payment("pay-f", invoice.number, invoice.total, at=T0 + DAY)
    assert result.applied
    expected = Lease(catalog()["business"], T0 + DAY, "Europe/Moscow").extend(3, T0 + DAY)
    assert lease_of(env, account) == result.lease == expected
    overview = env.service.overview(account, at=T0 + DAY)
    assert overview.tariff_code == "business" and overview.status is LeaseStatus.ACTIVE


# -- invoices: gap-free numbers -----------------------------------------------------------------------------


def _all_invoice_numbers(env: Env) -> list[int]:
    with env.storage.unit_of_work() as uow:
        return sorted(i.number for a in uow.accounts.ids(limit=10_000) for i in uow.invoices.for_account(a))


BAD_ISSUES: list[tuple[dict[str, Any], type[CabinetError]]] = [
    ({"tariff": "gold"}, UnknownCode),
    ({"tariff": "free"}, InvalidInput),
    ({"tariff": ""}, UnknownCode),
    ({"months": 0}, InvalidInput),
    ({"months": -1}, InvalidInput),
    ({"months": "3"}, InvalidType),
    ({"months": 3.0}, InvalidType),
    ({"months": True}, InvalidType),
    ({"months": 10**9}, InvalidInput),
    ({"at": datetime(2026, 11, 25, 9, 0)}, NaiveDatetime),
    ({"use_bonus": "yes"}, InvalidType),
    ({"actor": "\x00"}, InvalidInput),
]


def test_invoice_numbers_stay_gap_free_when_issues_fail(env: Env) -> None:
    """Invoices issued between failed attempts (bad tariff, months, datetime, a failed commit) are numbered
    1, 2, 3, ... with no gap: a failed issue takes no number."""
    failing = CommitFails(env.storage)
    crashing = build_service(failing, env.clock, mailer=env.mailer)

    @settings(max_examples=env.examples(30), **HYPOTHESIS)
    @given(attempts=st.lists(st.one_of(st.none(), st.sampled_from(range(len(BAD_ISSUES))), st.just(-1))))
    def check(attempts: list[int | None]) -> None:
        accounts = [env.open("business"), env.open("premium")]
        for n, attempt in enumerate(attempts):
            account = accounts[n % 2]
            before = _all_invoice_numbers(env)
            if attempt is None:
                invoice = env.service.issue_invoice(account, 1 + n % 12, at=T0)
                assert invoice.number == len(before) + 1
            elif attempt == -1:
                failing.fail = 1
                with pytest.raises(StorageError):
                    crashing.issue_invoice(account, 2, at=T0)
            else:
                overrides, error = BAD_ISSUES[attempt]
                kwargs: dict[str, Any] = {"months": 1, "at": T0, **overrides}
                months = kwargs.pop("months")
                with pytest.raises(error):
                    env.service.issue_invoice(account, months, **kwargs)
            if attempt is not None:
                assert _all_invoice_numbers(env) == before
        numbers = _all_invoice_numbers(env)
        assert numbers == list(range(1, len(numbers) + 1))

    check()


def test_a_failed_commit_keeps_neither_change_nor_notification(env: Env) -> None:
    """The invoice, its history entry and its notification commit together: when the commit fails, none
    of them is stored, and the next invoice gets the number the failed one would have had."""
    account = env.open("business")
    failing = CommitFails(env.storage)
    crashing = build_service(failing, env.clock)
    before = env.snapshot()
    failing.fail = 1
    with pytest.raises(StorageError):
        crashing.issue_invoice(account, 3, at=T0)
    assert env.snapshot() == before
    assert env.service.issue_invoice(account, 3, at=T0).number == 1
    assert len(messages(env, account, "invoice_issued")) == 1


# -- tariff changes -----------------------------------------------------------------------------------------


def test_change_below_usage_is_refused_listing_every_broken_limit(env: Env) -> None:
    """A change to a tariff whose limits the usage exceeds is refused naming each broken limit with its
    figures and changes nothing; a change that fits rescales the term exactly as the pure Lease does."""

    @settings(max_examples=env.examples(30), **HYPOTHESIS)
    @given(
        users=st.integers(0, 60),
        disk_mb=st.integers(0, 25_000),
        extra=st.integers(0, MB - 1),
        target=st.sampled_from(["free", *PAID_TARIFFS]),
        elapsed=st.integers(0, 100 * 86_400),
    )
    def check(users: int, disk_mb: int, extra: int, target: str, elapsed: int) -> None:
        service = env.service
        account = env.open("premium")
        env.pay(account, 2)
        usage = service.record_usage(account, users=users, disk_bytes=disk_mb * MB + extra, at=T0)
        at = T0 + timedelta(seconds=elapsed)
        broken = check_downgrade(usage, catalog()[target].limits)
        lease = lease_of(env, account)
        before = env.snapshot()
        if broken:
            for attempt in (service.preview_tariff_change, service.change_tariff):
                with pytest.raises(DowngradeRefused) as info:
                    attempt(account, target, at=at)
                assert info.value.broken == broken
                assert all(phrase in str(info.value) for phrase in broken)
            assert env.snapshot() == before
        else:
            expected = lease.change_tariff(catalog()[target], at).lease
            assert service.preview_tariff_change(account, target, at=at).lease == expected
            assert env.snapshot() == before  # a preview writes nothing
            change = service.change_tariff(account, target, at=at)
            assert change.lease == expected == lease_of(env, account)
            entry = service.history(account)[-1]
            assert entry.kind == "tariff_change"
            assert entry.data["data"]["paid_until_after"] == expected.paid_until.isoformat()

    check()


def test_refusal_lists_users_and_disk_together(env: Env) -> None:
    """12 users and 2,300 MB on a move to a 3-user, 1,000 MB tariff: both limits are named with figures."""
    account = env.open("business")
    env.service.record_usage(account, users=12, disk_bytes=2300 * MB, at=T0)
    with pytest.raises(DowngradeRefused) as info:
        env.service.change_tariff(account, "start", at=T0)
    assert info.value.broken == ("users 12 > 3", "disk 2,300 MB > 1,000 MB")


@pytest.mark.parametrize("verified", [False, True], ids=["pending", "active"])
def test_leaving_premium_deactivates_the_own_domain(env: Env, verified: bool) -> None:
    """Moving off the tariff with custom_domain switches a pending or active own domain off, the result says
    the feature is lost, and the history records the deactivation."""
    service = env.service
    account = env.open("premium")
    env.pay(account, 1)
    request = service.request_own_domain(account, "Пример.РФ", at=T0)
    if verified:
        own = request.domain
        env.dns.txt[own.verification_name] = [own.verification_value]
        assert service.verify_own_domain(account, at=T0).is_active
    change = service.change_tariff(account, "business", at=T0 + DAY)
    assert "custom_domain" in change.loses_features
    assert change.own_domain_deactivated
    stored = service.account(account).own_domain
    assert stored is not None and stored.status.value == "inactive"
    entry = service.history(account)[-1]
    assert entry.kind == "tariff_change" and entry.data["data"]["own_domain_deactivated"] is True
    view = service.overview(account, at=T0 + DAY).domains
    assert (view.own_domain, view.own_domain_status) == ("пример.рф", "inactive")
    again = service.change_tariff(account, "start", at=T0 + DAY)  # already off: nothing more to record
    assert not again.own_domain_deactivated
    assert service.history(account)[-1].data["data"]["own_domain_deactivated"] is False
    assert again.lease.tariff.code == "start"
    with pytest.raises(FeatureNotAvailable):
        service.verify_own_domain(account, at=T0 + DAY)


# -- every use case refuses bad input and writes nothing ----------------------------------------------------


@attrs.frozen
class Ids:
    acme: str  # premium, paid, contacts, 12 users, a pending own domain, a mail reservation, a load sample
    beta: str  # start, referred by acme, not paid, one invoice (990.00)
    invoice: int
    reservation: Any


def _prepare(env: Env) -> Ids:
    service = env.service
    acme = env.open("premium")
    env.pay(acme, 3)
    service.request_own_domain(acme, "shop-acme.ru", at=T0)
    service.record_usage(acme, users=12, at=T0)  # more than business allows: a downgrade is refused
    beta = env.open("start", referral_code=service.account(acme).referral_code.value)
    invoice = service.issue_invoice(beta, 1, at=T0)
    reservation = service.reserve_mail(acme, 10, at=T0)
    service.record_load(acme, 10, at=T0 + timedelta(hours=1))
    return Ids(acme, beta, invoice.number, reservation)


NAIVE = datetime(2026, 11, 26, 9, 0)
Call = Callable[[CabinetService, Ids], object]


def _bad_calls() -> list[tuple[str, type[CabinetError], Call]]:
    long = "a" * 5000
    at = T0 + timedelta(hours=2)

    def open_with(**kw: Any) -> Call:
        args = {
            "name": "newco",
            "tariff": "business",
            "configuration": "trade",
            "master_domain": MASTER,
            "at": at,
            **kw,
        }
        return lambda s, i: s.open_account(**args)

    return [
        ("open: name None", InvalidType, open_with(name=None)),
        ("open: name with a space", InvalidInput, open_with(name="ac me")),
        ("open: name SQL", InvalidInput, open_with(name="'; DROP TABLE accounts; --")),
        ("open: name NUL", InvalidInput, open_with(name="acme\x00")),
        ("open: name too long", InvalidInput, open_with(name=long)),
        ("open: name taken", CabinetError, lambda s, i: open_with(name=i.acme)(s, i)),
        ("open: unknown tariff", UnknownCode, open_with(tariff="gold")),
        ("open: tariff int", CabinetError, open_with(tariff=5)),
        ("open: unknown configuration", UnknownCode, open_with(configuration="erp")),
        ("open: master not offered", UnknownCode, open_with(master_domain="evil.example")),
        ("open: master hostile", UnknownCode, open_with(master_domain="\u202eevil")),
        ("open: referral unknown", UnknownCode, open_with(referral_code="A" * 16)),
        ("open: referral malformed", InvalidInput, open_with(referral_code="<script>")),
        ("open: referral int", InvalidType, open_with(referral_code=5)),
        ("open: unknown zone", CabinetError, open_with(tz="Mars/Olympus")),
        ("open: zone path", CabinetError, open_with(tz="../../etc/passwd")),
        ("open: unknown locale", InvalidInput, open_with(locale="de")),
        ("open: locale list", CabinetError, open_with(locale=["ru"])),
        ("open: naive at", NaiveDatetime, open_with(at=NAIVE)),
        ("open: actor empty", InvalidInput, open_with(actor="")),
        ("open: actor newline", InvalidInput, open_with(actor="bob\nroot")),
        ("overview: unknown", AccountNotFound, lambda s, i: s.overview("nobody", at=at)),
        ("overview: id int", InvalidType, lambda s, i: s.overview(5, at=at)),
        ("overview: naive", NaiveDatetime, lambda s, i: s.overview(i.acme, at=NAIVE)),
        ("overview: at str", InvalidType, lambda s, i: s.overview(i.acme, at="2026-11-26")),
        ("history: unknown", AccountNotFound, lambda s, i: s.history("nobody")),
        ("preview: unknown tariff", UnknownCode, lambda s, i: s.preview_tariff_change(i.acme, "gold", at=at)),
        ("change: unknown tariff", UnknownCode, lambda s, i: s.change_tariff(i.acme, "gold", at=at)),
        ("change: tariff None", CabinetError, lambda s, i: s.change_tariff(i.acme, None, at=at)),
        ("change: naive", NaiveDatetime, lambda s, i: s.change_tariff(i.acme, "business", at=NAIVE)),
        (
            "change: reason NUL",
            InvalidInput,
            lambda s, i: s.change_tariff(i.acme, "premium", at=at, reason="\x00"),
        ),
        (
            "change: reason long",
            InvalidInput,
            lambda s, i: s.change_tariff(i.acme, "premium", at=at, reason=long),
        ),
        (
            "change: reason int",
            InvalidType,
            lambda s, i: s.change_tariff(i.acme, "premium", at=at, reason=5),
        ),
        ("change: below usage", DowngradeRefused, lambda s, i: s.change_tariff(i.acme, "business", at=at)),
        ("configuration: unknown", UnknownCode, lambda s, i: s.switch_configuration(i.acme, "erp", at=at)),
        ("configuration: hostile", UnknownCode, lambda s, i: s.switch_configuration(i.acme, "\x00", at=at)),
        (
            "configuration: naive",
            NaiveDatetime,
            lambda s, i: s.switch_configuration(i.acme, "accounting", at=NAIVE),
        ),
        ("invoice: months str", InvalidType, lambda s, i: s.issue_invoice(i.acme, "3", at=at)),
        ("invoice: unknown account", AccountNotFound, lambda s, i: s.issue_invoice("nobody", 1, at=at)),
        ("invoice: free", InvalidInput, lambda s, i: s.issue_invoice(i.acme, 1, tariff="free", at=at)),
        ("cancel: str number", InvalidType, lambda s, i: s.cancel_invoice(i.beta, "1", at=at)),
        ("cancel: missing", CabinetError, lambda s, i: s.cancel_invoice(i.beta, 999, at=at)),
        ("cancel: not theirs", InvalidInput, lambda s, i: s.cancel_invoice(i.acme, i.invoice, at=at)),
        ("cancel: naive", NaiveDatetime, lambda s, i: s.cancel_invoice(i.beta, i.invoice, at=NAIVE)),
        (
            "cancel: hostile actor",
            InvalidInput,
            lambda s, i: s.cancel_invoice(i.beta, i.invoice, actor="\x00"),
        ),
        ("invoice: get 0", InvalidInput, lambda s, i: s.invoice(0)),
        ("invoice: get missing", CabinetError, lambda s, i: s.invoice(999)),
        ("invoice: get str", InvalidType, lambda s, i: s.invoice("1")),
        (
            "online: not theirs",
            InvalidInput,
            lambda s, i: s.start_online_payment(i.acme, i.invoice, return_url="https://x.ru/"),
        ),
        (
            "online: missing invoice",
            CabinetError,
            lambda s, i: s.start_online_payment(i.beta, 999, return_url="https://x.ru/"),
        ),
        (
            "online: javascript url",
            InvalidInput,
            lambda s, i: s.start_online_payment(i.beta, i.invoice, return_url="javascript:alert(1)"),
        ),
        (
            "online: url newline",
            InvalidInput,
            lambda s, i: s.start_online_payment(i.beta, i.invoice, return_url="https://x.ru/\nSet-Cookie: a"),
        ),
        (
            "online: url int",
            InvalidType,
            lambda s, i: s.start_online_payment(i.beta, i.invoice, return_url=5),
        ),
        ("pay: id empty", InvalidInput, lambda s, i: _pay(s, i, payment_id="")),
        ("pay: id space", InvalidInput, lambda s, i: _pay(s, i, payment_id="pay 1")),
        ("pay: id NUL", InvalidInput, lambda s, i: _pay(s, i, payment_id="pay\x00")),
        ("pay: id long", InvalidInput, lambda s, i: _pay(s, i, payment_id=long)),
        ("pay: id int", CabinetError, lambda s, i: _pay(s, i, payment_id=5)),
        ("pay: amount str", InvalidType, lambda s, i: _pay(s, i, amount="990.00")),
        ("pay: amount float", InvalidType, lambda s, i: _pay(s, i, amount=990.0)),
        ("pay: amount None", InvalidType, lambda s, i: _pay(s, i, amount=None)),
        ("pay: invoice missing", CabinetError, lambda s, i: _pay(s, i, invoice_number=999)),
        ("pay: invoice str", InvalidType, lambda s, i: _pay(s, i, invoice_number="1")),
        ("pay: method unknown", InvalidInput, lambda s, i: _pay(s, i, method="cash")),
        ("pay: method None", CabinetError, lambda s, i: _pay(s, i, method=None)),
        ("pay: naive", NaiveDatetime, lambda s, i: _pay(s, i, at=NAIVE)),
        ("pay: actor", InvalidInput, lambda s, i: _pay(s, i, actor="\x1b[31m")),
        ("mail: n 0", InvalidInput, lambda s, i: s.reserve_mail(i.acme, 0, at=at)),
        ("mail: n str", InvalidType, lambda s, i: s.reserve_mail(i.acme, "5", at=at)),
        ("mail: n bool", InvalidType, lambda s, i: s.reserve_mail(i.acme, True, at=at)),
        ("mail: partial str", InvalidType, lambda s, i: s.reserve_mail(i.acme, 5, partial="no", at=at)),
        ("mail: over the limit", QuotaExceeded, lambda s, i: s.reserve_mail(i.acme, 10**6, at=at)),
        ("mail: unknown account", AccountNotFound, lambda s, i: s.reserve_mail("nobody", 5, at=at)),
        ("mail: naive", NaiveDatetime, lambda s, i: s.reserve_mail(i.acme, 5, at=NAIVE)),
        ("release: None", InvalidType, lambda s, i: s.release_mail(i.acme, None, at=at)),
        ("release: other account", CabinetError, lambda s, i: s.release_mail(i.beta, i.reservation, at=at)),
        (
            "release: unknown account",
            AccountNotFound,
            lambda s, i: s.release_mail("nobody", i.reservation, at=at),
        ),
        ("release: naive", NaiveDatetime, lambda s, i: s.release_mail(i.acme, i.reservation, at=NAIVE)),
        ("plan: n -1", InvalidInput, lambda s, i: s.plan_mail(i.acme, -1, at=at)),
        ("usage: users -1", InvalidInput, lambda s, i: s.record_usage(i.acme, users=-1, at=at)),
        ("usage: users str", InvalidType, lambda s, i: s.record_usage(i.acme, users="3", at=at)),
        ("usage: disk float", InvalidType, lambda s, i: s.record_usage(i.acme, disk_bytes=1.5, at=at)),
        ("usage: naive", NaiveDatetime, lambda s, i: s.record_usage(i.acme, users=1, at=NAIVE)),
        ("add users: over", QuotaExceeded, lambda s, i: s.add_users(i.acme, 39, at=at)),
        ("add users: negative", InvalidInput, lambda s, i: s.add_users(i.acme, -1, at=at)),
        ("add disk: over", QuotaExceeded, lambda s, i: s.add_disk(i.acme, 20_001 * MB, at=at)),
        ("add disk: str", InvalidType, lambda s, i: s.add_disk(i.acme, "1", at=at)),
        ("load: negative", InvalidInput, lambda s, i: s.record_load(i.acme, -1, at=at)),
        ("load: float", InvalidType, lambda s, i: s.record_load(i.acme, 1.5, at=at)),
        ("load: out of order", InvalidInput, lambda s, i: s.record_load(i.acme, 1, at=T0)),
        ("window: not offered", InvalidInput, lambda s, i: s.set_backup_window(i.acme, "12:00-14:00", at=at)),
        ("window: malformed", InvalidInput, lambda s, i: s.set_backup_window(i.acme, "25:00-26:00", at=at)),
        ("window: too short", InvalidInput, lambda s, i: s.set_backup_window(i.acme, "01:00-01:10", at=at)),
        ("window: int", InvalidType, lambda s, i: s.set_backup_window(i.acme, 5, at=at)),
        (
            "window: other zone",
            InvalidInput,
            lambda s, i: s.set_backup_window(i.acme, BackupWindow(time(1), time(3), "UTC"), at=at),
        ),
        ("auto-update: str", InvalidType, lambda s, i: s.set_auto_update(i.acme, "yes", at=at)),
        ("auto-update: naive", NaiveDatetime, lambda s, i: s.set_auto_update(i.acme, True, at=NAIVE)),
        ("ftp: naive", NaiveDatetime, lambda s, i: s.switch_ftp_on(i.acme, at=NAIVE)),
        ("ftp: unknown account", AccountNotFound, lambda s, i: s.switch_ftp_on("nobody", at=at)),
        ("backup: naive", NaiveDatetime, lambda s, i: _backup(s, i, started=NAIVE)),
        ("backup: ends first", InvalidInput, lambda s, i: _backup(s, i, finished=T0 - DAY)),
        ("backup: succeeded str", InvalidType, lambda s, i: _backup(s, i, succeeded="yes")),
        ("backup: size -1", InvalidInput, lambda s, i: _backup(s, i, size_bytes=-1)),
        ("backup: size float", InvalidType, lambda s, i: _backup(s, i, size_bytes=1.5)),
        ("forwarding: None", InvalidType, lambda s, i: s.set_forwarding(i.acme, None, at=at)),
        (
            "forwarding: not an address",
            InvalidInput,
            lambda s, i: s.set_forwarding(i.acme, "boss@acme.ru, nope", at=at),
        ),
        (
            "forwarding: own mailbox",
            InvalidInput,
            lambda s, i: s.set_forwarding(i.acme, f"{i.acme.upper()}@{MASTER}", at=at),
        ),
        (
            "forwarding: too many",
            InvalidInput,
            lambda s, i: s.set_forwarding(i.acme, ",".join(f"u{n}@x.ru" for n in range(11)), at=at),
        ),
        ("forwarding: NUL", InvalidInput, lambda s, i: s.set_forwarding(i.acme, "a@x.ru\x00", at=at)),
        (
            "forwarding: header",
            InvalidInput,
            lambda s, i: s.set_forwarding(i.acme, "a@x.ru\r\nBcc: b@y.ru", at=at),
        ),
        (
            "contacts: name empty",
            InvalidInput,
            lambda s, i: s.set_contacts(i.acme, name="", email="a@x.ru", at=at),
        ),
        (
            "contacts: email bad",
            InvalidInput,
            lambda s, i: s.set_contacts(i.acme, name="Ivan", email="nope", at=at),
        ),
        (
            "contacts: phone bad",
            InvalidInput,
            lambda s, i: s.set_contacts(i.acme, name="Ivan", email="a@x.ru", phone="12", at=at),
        ),
        (
            "contacts: channel",
            CabinetError,
            lambda s, i: s.set_contacts(i.acme, name="Ivan", email="a@x.ru", channel="pigeon", at=at),
        ),
        (
            "contacts: name int",
            InvalidType,
            lambda s, i: s.set_contacts(i.acme, name=5, email="a@x.ru", at=at),
        ),
        (
            "domain: under master",
            InvalidInput,
            lambda s, i: s.request_own_domain(i.acme, f"shop.{MASTER}", at=at),
        ),
        ("domain: malformed", InvalidInput, lambda s, i: s.request_own_domain(i.acme, "-bad-.ru", at=at)),
        ("domain: hostile", InvalidInput, lambda s, i: s.request_own_domain(i.acme, "a.ru/../../etc", at=at)),
        ("domain: long", InvalidInput, lambda s, i: s.request_own_domain(i.acme, long + ".ru", at=at)),
        (
            "domain: wrong tariff",
            FeatureNotAvailable,
            lambda s, i: s.request_own_domain(i.beta, "beta-shop.ru", at=at),
        ),
        ("domain: verify none", InvalidInput, lambda s, i: s.verify_own_domain(i.beta, at=at)),
        ("domain: not proven", DomainNotVerified, lambda s, i: s.verify_own_domain(i.acme, at=at)),
        ("domain: dns down", CabinetError, lambda s, i: _dns_down(s, i)),
        ("reminders: naive", NaiveDatetime, lambda s, i: s.send_term_reminders(at=NAIVE)),
        ("deliver: limit 0", InvalidInput, lambda s, i: s.deliver_notifications(limit=0)),
        ("deliver: limit str", InvalidType, lambda s, i: s.deliver_notifications(limit="5")),
    ]


def _pay(service: CabinetService, ids: Ids, **kw: Any) -> object:
    args: dict[str, Any] = {
        "payment_id": "pay-bad",
        "invoice_number": ids.invoice,
        "amount": Money("990.00", "RUB"),
        "at": T0 + timedelta(hours=2),
        **kw,
    }
    return service.confirm_payment(**args)


def _backup(service: CabinetService, ids: Ids, **kw: Any) -> object:
    start = datetime(2026, 11, 26, 1, 10, tzinfo=MSK)
    args: dict[str, Any] = {
        "started": start,
        "finished": start + timedelta(minutes=20),
        "succeeded": True,
        "size_bytes": 10 * MB,
        **kw,
    }
    return service.record_backup(ids.acme, **args)


def _dns_down(service: CabinetService, ids: Ids) -> object:
    assert service.dns is not None
    service.dns.fail = True
    try:
        return service.verify_own_domain(ids.acme, at=T0)
    finally:
        service.dns.fail = False


def test_every_use_case_refuses_bad_input_and_writes_nothing(env: Env) -> None:
    """Wrong types, naive datetimes, unknown codes, hostile strings and quota overruns in every use case
    raise the fitting CabinetError subclass, and the stored accounts, history, outbox, invoices, payments
    and mail ledger are exactly as before."""
    ids = _prepare(env)
    failures = []
    for label, error, call in _bad_calls():
        before = env.snapshot(["pay-bad"])
        try:
            call(env.service, ids)
        except error as exc:
            if type(exc).__module__.split(".")[0] != "cabinet_core":
                failures.append(f"{label}: raised {type(exc).__name__}, not one of cabinet_core's errors")
        except Exception as exc:
            failures.append(f"{label}: raised {type(exc).__name__}: {exc}, expected {error.__name__}")
            continue
        else:
            failures.append(f"{label}: accepted, expected {error.__name__}")
        if env.snapshot(["pay-bad"]) != before:
            failures.append(f"{label}: something was written")
    assert not failures, "\n".join(failures)


def _valid_calls(ids: Ids) -> dict[str, tuple[str, dict[str, Any]]]:
    at = T0 + timedelta(hours=2)
    start = datetime(2026, 11, 26, 1, 10, tzinfo=MSK)
    return {
        "open": (
            "open_account",
            {
                "name": "fresh",
                "tariff": "business",
                "configuration": "trade",
                "master_domain": MASTER,
                "tz": "Europe/Moscow",
                "locale": "ru",
                "at": at,
                "actor": "customer",
            },
        ),
        "overview": ("overview", {"account_id": ids.acme, "at": at}),
        "preview": ("preview_tariff_change", {"account_id": ids.acme, "tariff": "premium", "at": at}),
        "change": (
            "change_tariff",
            {"account_id": ids.acme, "tariff": "premium", "at": at, "actor": "x", "reason": "r"},
        ),
        "configuration": (
            "switch_configuration",
            {"account_id": ids.acme, "configuration": "accounting", "at": at, "actor": "x"},
        ),
        "invoice": (
            "issue_invoice",
            {
                "account_id": ids.acme,
                "months": 1,
                "tariff": "premium",
                "use_bonus": False,
                "at": at,
                "actor": "x",
            },
        ),
        "online": (
            "start_online_payment",
            {"account_id": ids.beta, "invoice_number": ids.invoice, "return_url": "https://x.ru/"},
        ),
        "pay": (
            "confirm_payment",
            {
                "payment_id": "pay-new",
                "invoice_number": ids.invoice,
                "amount": Money("990.00", "RUB"),
                "method": "online",
                "at": at,
                "actor": "x",
            },
        ),
        "mail": ("reserve_mail", {"account_id": ids.acme, "n": 5, "partial": False, "at": at}),
        "release": ("release_mail", {"account_id": ids.acme, "reservation": ids.reservation, "at": at}),
        "plan": ("plan_mail", {"account_id": ids.acme, "n": 5, "at": at}),
        "usage": ("record_usage", {"account_id": ids.acme, "users": 1, "disk_bytes": 1, "at": at}),
        "add users": ("add_users", {"account_id": ids.acme, "n": 1, "at": at}),
        "add disk": ("add_disk", {"account_id": ids.acme, "n_bytes": 1, "at": at}),
        "load": ("record_load", {"account_id": ids.acme, "amount": 1, "at": at}),
        "window": (
            "set_backup_window",
            {"account_id": ids.acme, "window": "03:00-05:00", "at": at, "actor": "x"},
        ),
        "auto-update": ("set_auto_update", {"account_id": ids.acme, "on": False, "at": at, "actor": "x"}),
        "ftp": ("switch_ftp_on", {"account_id": ids.acme, "at": at, "actor": "x"}),
        "backup": (
            "record_backup",
            {
                "account_id": ids.acme,
                "started": start,
                "finished": start + timedelta(minutes=5),
                "succeeded": True,
                "size_bytes": 1,
            },
        ),
        "forwarding": ("set_forwarding", {"account_id": ids.acme, "text": "a@x.ru", "at": at, "actor": "x"}),
        "contacts": (
            "set_contacts",
            {
                "account_id": ids.acme,
                "name": "Ivan",
                "email": "a@x.ru",
                "phone": "+7 916 123-45-67",
                "channel": "email",
                "at": at,
                "actor": "x",
            },
        ),
        "domain": (
            "request_own_domain",
            {"account_id": ids.acme, "domain": "new-acme.ru", "at": at, "actor": "x"},
        ),
        "verify": ("verify_own_domain", {"account_id": ids.acme, "at": at, "actor": "x"}),
        "reminders": ("send_term_reminders", {"at": at}),
        "deliver": ("deliver_notifications", {"limit": 5}),
    }


# parameters where None is a valid value (it means "not given")
_OPTIONAL = {("invoice", "tariff"), ("usage", "users"), ("usage", "disk_bytes"), ("contacts", "phone")}


def test_wrong_types_in_any_parameter_are_refused_and_write_nothing(env: Env) -> None:
    """Any single parameter of any use case replaced by a value of the wrong type (or a naive datetime) is
    refused with a CabinetError subclass, and nothing is written: every combination on memory, a sample on
    the SQL backends (the refusal must come before any statement reaches them)."""
    ids = _prepare(env)
    calls = _valid_calls(ids)
    slots = sorted((case, param) for case, (_, kwargs) in calls.items() for param in kwargs)

    def attempt(slot: tuple[str, str], value: object) -> None:
        case, param = slot
        if value is None and (slot in _OPTIONAL or param == "at"):
            return  # None means "not given" here (at=None: now, from the clock)
        if isinstance(value, Money) and param == "amount":
            return  # the right type: a different amount is the mismatch case, kept for review
        method, kwargs = calls[case]
        before = env.snapshot(["pay-new"])
        with pytest.raises(CabinetError):
            getattr(env.service, method)(**{**kwargs, param: value})
        assert env.snapshot(["pay-new"]) == before, f"{method}({param}={value!r}) wrote something"

    if env.backend == "memory":
        for slot in slots:
            for value in WRONG_TYPES:
                attempt(slot, value)
        return

    @settings(max_examples=env.examples(120), **HYPOTHESIS)
    @given(slot=st.sampled_from(slots), value=st.sampled_from(WRONG_TYPES))
    def check(slot: tuple[str, str], value: object) -> None:
        attempt(slot, value)

    check()


def test_hostile_strings_are_refused_everywhere(env: Env) -> None:
    """Hostile strings (NUL, newlines, SQL, bidi overrides, paths, huge, emoji) as account ids, codes,
    names, domains, addresses and payment ids are refused with a CabinetError, and nothing is written."""
    ids = _prepare(env)
    service = env.service
    failures = []
    for text in HOSTILE_STRINGS:
        for label, attempt in _hostile_attempts(service, ids, text).items():
            before = env.snapshot()
            try:
                attempt()
            except CabinetError:
                pass
            except Exception as exc:
                failures.append(f"{label}({text[:20]!r}): {type(exc).__name__}: {exc}")
            else:
                failures.append(f"{label}({text[:20]!r}): accepted")
            if env.snapshot() != before:
                failures.append(f"{label}({text[:20]!r}): something was written")
    assert not failures, "\n".join(failures)


def _hostile_attempts(service: CabinetService, ids: Ids, text: str) -> dict[str, Callable[[], object]]:
    return {
        "overview": lambda: service.overview(text, at=T0),
        "change_tariff": lambda: service.change_tariff(ids.acme, text, at=T0),
        "issue_invoice": lambda: service.issue_invoice(ids.acme, 1, tariff=text, at=T0),
        "switch_configuration": lambda: service.switch_configuration(ids.acme, text, at=T0),
        "open_account name": lambda: service.open_account(
            text, tariff="business", configuration="trade", master_domain=MASTER, at=T0
        ),
        "open_account master": lambda: service.open_account(
            "fresh", tariff="business", configuration="trade", master_domain=text, at=T0
        ),
        "open_account referral": lambda: service.open_account(
            "fresh", tariff="business", configuration="trade", master_domain=MASTER, referral_code=text
        ),
        "open_account tz": lambda: service.open_account(
            "fresh", tariff="business", configuration="trade", master_domain=MASTER, tz=text, at=T0
        ),
        "confirm_payment": lambda: service.confirm_payment(
            text, ids.invoice, Money("990.00", "RUB"), method="online", at=T0
        ),
        "confirm_payment method": lambda: service.confirm_payment(
            "pay-h", ids.invoice, Money("990.00", "RUB"), method=text, at=T0
        ),
        "request_own_domain": lambda: service.request_own_domain(ids.acme, text, at=T0),
        "set_contacts": lambda: service.set_contacts(ids.acme, name="Ivan", email=text, at=T0),
        "set_backup_window": lambda: service.set_backup_window(ids.acme, text, at=T0),
        "set_forwarding": lambda: (
            service.set_forwarding(ids.acme, f"a@x.ru,{text}", at=T0)
            if text.strip()
            else service.set_forwarding(ids.acme, "a@x.ru,,\x00", at=T0)
        ),
        "start_online_payment url": lambda: service.start_online_payment(
            ids.beta, ids.invoice, return_url=text
        ),
    }


# -- mail ----------------------------------------------------------------------------------------------


def test_mail_through_the_service_decides_like_the_pure_window(env: Env) -> None:
    """Reservations and releases through the service grant, refuse (with the same retry_at) and count
    exactly as a MailWindow fed the same stream; the 80 % notice is queued once per local day it is
    crossed."""
    limit = catalog()["free"].limits.mail_per_24h

    @settings(max_examples=env.examples(40), **HYPOTHESIS)
    @given(ops=mail_operations)
    def check(ops: list[tuple[str, int, int, bool]]) -> None:
        account = env.open("free")
        model = MailWindow(limit)
        pairs: list[tuple[Any, Any]] = []
        crossings: set[str] = set()
        at = T0
        for op, step, n, partial in ops:
            at += timedelta(seconds=step)
            if op == "reserve":
                before = model.used(at)
                try:
                    expected = model.reserve(n, at, partial=partial)
                except QuotaExceeded as refusal:
                    figures = (refusal.retry_at, refusal.used, refusal.requested)
                    with pytest.raises(QuotaExceeded) as info:
                        env.service.reserve_mail(account, n, partial=partial, at=at)
                    assert (info.value.retry_at, info.value.used, info.value.requested) == figures
                    continue
                got = env.service.reserve_mail(account, n, partial=partial, at=at)
                assert (got.granted, got.at_us) == (expected.granted, expected.at_us)
                if got.granted:
                    pairs.append((got, expected))
                if before * 5 < limit * 4 <= (before + expected.granted) * 5:  # 80 %, in integers
                    crossings.add(at.astimezone(MSK).date().isoformat())
            elif pairs:
                got, expected = pairs[n % len(pairs)]
                env.service.release_mail(account, got, at=at)
                model.release(expected, at)
            assert env.service.overview(account, at=at).mail_24h == UsageView(model.used(at), limit)
        notices = messages(env, account, "mail_quota_80")
        assert len(notices) == len(crossings)

    check()


def test_plan_mail_matches_the_pure_plan(env: Env) -> None:
    """A campaign plan through the service is the pure window's plan over the account's stored grants."""
    account = env.open("start")
    model = MailWindow(1000)
    for hours, n in [(0, 300), (5, 400), (20, 250)]:
        at = T0 + timedelta(hours=hours)
        env.service.reserve_mail(account, n, at=at)
        model.reserve(n, at)
    at = T0 + timedelta(hours=21)
    assert env.service.plan_mail(account, 2500, at=at) == model.plan(2500, at)


def test_mail_80_percent_notice_once_per_day(env: Env) -> None:
    """Crossing 80 % twice on one Moscow day queues one notice; crossing again the next day queues another."""
    account = env.open("free")  # 100 recipients per 24 h
    day1 = datetime(2026, 11, 26, 8, 0, tzinfo=MSK)
    first = env.service.reserve_mail(account, 85, at=day1)
    assert len(messages(env, account, "mail_quota_80")) == 1
    env.service.release_mail(account, first, at=day1 + timedelta(hours=1))  # back to 0 ...
    env.service.reserve_mail(account, 85, at=day1 + timedelta(hours=12))  # ... and over 80 % again that day
    assert len(messages(env, account, "mail_quota_80")) == 1
    day2 = day1 + timedelta(hours=40)  # next day, window empty again
    env.service.reserve_mail(account, 90, at=day2)
    assert len(messages(env, account, "mail_quota_80")) == 2


# -- notifications ------------------------------------------------------------------------------------------


def test_notifications_are_delivered_after_commit_once_despite_failures(env: Env) -> None:
    """Notices queued with their change are delivered only by deliver_notifications, through the Mailer;
    failed sends are retried later and every message is sent exactly once."""

    @settings(max_examples=env.examples(20), **HYPOTHESIS)
    @given(
        invoices=st.integers(1, 4),
        pattern=st.lists(st.booleans(), max_size=12).filter(lambda p: sum(p) <= 9),
    )
    def check(invoices: int, pattern: list[bool]) -> None:
        mailer = FlakyMailer(pattern)
        service = build_service(env.storage, env.clock, mailer=mailer)
        account = env.open("business")
        for _ in range(invoices):
            service.issue_invoice(account, 1)
        queued = messages(env, account)
        assert len(queued) == invoices and all(m.status is OutboxStatus.PENDING for m in queued)
        assert mailer.sent == []  # nothing goes out before delivery is asked for
        for _ in range(len(pattern) + 2):
            service.deliver_notifications()
            env.clock.advance(hours=7)  # past the longest backoff
        sent = [mid for mid, note in mailer.sent if note.account_id == account]
        assert Counter(sent) == Counter(m.message_id for m in queued)
        assert all(m.status is OutboxStatus.SENT for m in messages(env, account))
        service.deliver_notifications()
        assert len(mailer.sent) == len({mid for mid, _ in mailer.sent})

    check()


def test_recording_mailer_gets_invoice_and_payment_notices(env: Env) -> None:
    """Issuing and paying an invoice sends two notices to the account's contact address, once each."""
    account = env.open("business")
    env.pay(account, 1)
    env.mailer.fail = 1
    first = env.service.deliver_notifications()
    assert (first.sent, first.retried) == (1, 1)
    env.clock.advance(minutes=2)
    assert env.service.deliver_notifications().sent == 1
    kinds = sorted(m.notification.kind for m in env.mailer.sent)
    assert kinds == ["invoice_issued", "payment_received"]
    assert all(m.notification.to == (f"{account}@acme.ru",) for m in env.mailer.sent)
    assert env.service.deliver_notifications().sent == 0


def test_no_mailer_is_a_configuration_error(env: Env) -> None:
    """Without a Mailer, delivering notifications is refused clearly and the outbox keeps them."""
    service = build_service(env.storage, env.clock)
    account = env.open("business")
    env.service.issue_invoice(account, 1, at=T0)
    with pytest.raises(ConfigurationError):
        service.deliver_notifications()
    assert [m.status for m in messages(env, account)] == [OutboxStatus.PENDING]


# -- term reminders -----------------------------------------------------------------------------------------


def test_term_reminders_are_queued_once_per_term(env: Env) -> None:
    """Reminder runs at any instants queue «term ends in 7/3/1 days» once for each of those days that a
    run fell on, however many runs there were; the count returned is what was queued."""
    terms = iter(range(1, 10_000))

    @settings(max_examples=env.examples(25), **HYPOTHESIS)
    @given(offsets=st.lists(st.integers(-10 * 86_400, 86_400), max_size=25).map(sorted))
    def check(offsets: list[int]) -> None:
        # each example's term lies far after the previous ones: their accounts have long expired
        opened = T0 + timedelta(days=400 * next(terms))
        account = env.open("business", at=opened)
        env.pay(account, 1, at=opened)
        paid_until = lease_of(env, account).paid_until
        expected = set()
        returned = 0
        for offset in offsets:
            at = paid_until + timedelta(seconds=offset)
            if at < paid_until and ceil_days(paid_until - at) in (7, 3, 1):
                expected.add(ceil_days(paid_until - at))
            returned += env.service.send_term_reminders(at=at)
        notices = messages(env, account, "term_ending")
        assert sorted(m.notification.data["days"] for m in notices) == sorted(expected)
        assert returned == len(expected)

    check()


def test_a_new_term_gets_its_own_reminders(env: Env) -> None:
    """After paying again, the next term's 3-day reminder is queued although the old term had one."""
    account = env.open("business")
    env.pay(account, 1)
    first = lease_of(env, account).paid_until
    assert env.service.send_term_reminders(at=first - timedelta(days=2, hours=12)) == 1
    assert env.service.send_term_reminders(at=first - timedelta(days=2, hours=11)) == 0
    env.pay(account, 1, at=first - timedelta(days=2))
    second = lease_of(env, account).paid_until
    assert env.service.send_term_reminders(at=second - timedelta(days=2, hours=12)) == 1
    assert [m.notification.data["days"] for m in messages(env, account, "term_ending")] == [3, 3]


def test_no_reminders_for_free_expired_or_unreachable_accounts(env: Env) -> None:
    """Free accounts, expired terms and accounts without contacts get no reminder."""
    free = env.open("free")
    silent = env.open("business", contacts=False)
    env.pay(silent, 1)
    until = lease_of(env, silent).paid_until
    for at in (until - timedelta(days=6, hours=1), until + DAY):
        assert env.service.send_term_reminders(at=at) == 0
    assert messages(env, free) == [] and messages(env, silent) == []


# -- the overview -------------------------------------------------------------------------------------------


def test_overview_status_and_days_left(env: Env) -> None:
    """Status is active more than 7 days before the end, ending_soon within 7 days, expired from the end
    on, free on a free tariff; days left are whole days rounded up."""
    account = env.open("business")
    env.pay(account, 1)
    free = env.open("free")
    until = lease_of(env, account).paid_until

    @settings(max_examples=env.examples(40), **HYPOTHESIS)
    @given(
        offset=st.integers(-40 * 86_400, 5 * 86_400) | st.sampled_from([-7 * 86_400, -7 * 86_400 - 1, 0, -1])
    )
    def check(offset: int) -> None:
        at = until + timedelta(seconds=offset)
        view = env.service.overview(account, at=at)
        days = ceil_days(until - at) if at < until else 0
        status = (
            LeaseStatus.EXPIRED
            if at >= until
            else LeaseStatus.ENDING_SOON
            if days <= 7
            else LeaseStatus.ACTIVE
        )
        assert (view.status, view.days_left, view.paid_until) == (status, days, until)
        assert env.service.overview(free, at=at).status is LeaseStatus.FREE

    check()
    view = env.service.overview(free, at=T0)
    assert (view.days_left, view.paid_until) == (None, None)


def test_overview_fills_every_field_of_the_page(env: Env) -> None:
    """Every field of DESIGN.md's page table is filled from what happened to the account."""
    service = env.service
    account = env.open("premium")
    service.set_contacts(account, name="Иван Петров", email="ivan@acme.ru", phone="8 916 123-45-67", at=T0)
    invoice = service.issue_invoice(account, 3, at=T0)
    service.confirm_payment("pay-o1", invoice.number, invoice.total, at=T0)
    code = service.account(account).referral_code.value
    friend = env.open("start", referral_code=code)
    for _ in range(2):  # one referred account paying twice is one referred account
        env.pay(friend, 1)
    env.open("business")  # not referred
    service.record_usage(account, users=5, disk_bytes=900 * MB, at=T0)
    service.reserve_mail(account, 500, at=T0)
    service.set_backup_window(account, "03:00-05:00", at=T0)
    service.set_forwarding(account, "Boss@Acme.ru, it@acme.ru", at=T0)
    service.request_own_domain(account, "пример.рф", at=T0)
    samples = [(T0 + timedelta(minutes=20 * k), 1800) for k in range(1, 7)]
    for at, amount in samples:
        service.record_load(account, amount, at=at)
    at = T0 + timedelta(hours=2, minutes=1)
    view = service.overview(account, at=at)
    premium = catalog()["premium"]

    assert (view.account_id, view.name, view.tz) == (account, account, "Europe/Moscow")
    assert (view.configuration_code, view.configuration_title) == ("trade", "Управление торговлей")
    assert (view.tariff_code, view.tariff_title, view.ru_mark) == ("premium", "Премиум", True)
    assert view.monthly_price == Money("4990", "RUB")
    assert view.paid_until == Lease(premium, T0, "Europe/Moscow").extend(3, T0).paid_until
    assert view.status is LeaseStatus.ACTIVE and view.days_left == ceil_days(view.paid_until - at)
    assert view.users == UsageView(5, 50)
    assert view.disk_bytes == UsageView(900 * MB, 20_000 * MB)
    assert view.mail_24h == UsageView(500, 50_000)
    meter = LoadMeter(since=T0)
    for sample_at, amount in samples:
        meter = meter.record(amount, sample_at)
    factor = meter.factor(premium.limits, at)
    assert (view.load_factor, view.load_level) == (factor.value, factor.level)
    assert view.load_level == "high"
    assert view.contacts == ContactsView(
        "Иван Петров", "ivan@acme.ru", "+79161234567", "8 (916) 123-45-67", "email"
    )
    assert view.manager == ManagerView(
        "Анна Смирнова", "anna.smirnova@cabinet.example", "8 (495) 123-45-67", "пн–пт 9:00–18:00 по МСК"
    )
    backup = view.backup
    assert (backup.window_start, backup.window_end, backup.tz) == ("03:00", "05:00", "Europe/Moscow")
    assert backup.next_start == datetime(2026, 11, 26, 3, 0, tzinfo=MSK)
    assert backup.next_end == datetime(2026, 11, 26, 5, 0, tzinfo=MSK)
    assert backup.fits and backup.auto_update and not backup.ftp_enabled
    assert not backup.ftp_required and backup.last_backup_bytes == 0
    assert view.forwarding == ("Boss@acme.ru", "it@acme.ru")  # the local part keeps its case
    domains = view.domains
    assert (domains.system_domain, domains.master_domain) == (f"{account}.{MASTER}", MASTER)
    assert (domains.own_domain, domains.own_domain_status) == ("пример.рф", "pending")
    referral = view.referral
    assert referral.code == code and referral.link == f"https://cabinet.example/r/?ref={code}"
    assert referral.referred_accounts == 1
    assert referral.bonus_credit == REWARD.reward(Money("990", "RUB")) * 2
    version = view.version
    assert (version.version, version.revision) == (provider().latest_version, provider().latest_revision)
    assert not version.update_available


@pytest.mark.parametrize(
    ("size", "required"), [(700 * MB, False), (700 * MB + 1, True), (0, False), (5000 * MB, True)]
)
def test_overview_ftp_is_required_above_700_mb(env: Env, size: int, required: bool) -> None:
    """The last backup's size decides whether FTP is required: strictly above 700 MB."""
    account = env.open("premium")
    start = datetime(2026, 11, 26, 1, 5, tzinfo=MSK)
    env.service.record_backup(
        account, started=start, finished=start + timedelta(minutes=30), succeeded=True, size_bytes=size
    )
    backup = env.service.overview(account, at=start + DAY).backup
    assert (backup.ftp_required, backup.last_backup_bytes, backup.ftp_threshold_mb) == (required, size, 700)
    env.service.switch_ftp_on(account, at=start + DAY)
    assert env.service.overview(account, at=start + DAY).backup.ftp_enabled
    assert [c.username for c in env.sink.delivered] == [account]
    stored = env.service.account(account).ftp
    assert stored is not None and env.sink.delivered[0].password not in stored.password_hash


@pytest.mark.parametrize("window", ["01:00-03:00", "23:30-01:30"])
@pytest.mark.parametrize("minutes_in", [5, 100])
def test_auto_update_runs_after_that_nights_successful_backup(env: Env, window: str, minutes_in: int) -> None:
    """With a newer revision out, a successful backup inside the night's window installs it (the page then
    shows no update available); a failed backup or one outside the window never does."""
    newer = attrs.evolve(provider(), latest_revision=provider().latest_revision + 1)
    service = build_service(env.storage, env.clock, mailer=env.mailer, settings=newer)
    account = env.open("premium")
    service.set_backup_window(account, window, at=T0)
    win = BackupWindow.parse(window)
    night_start, _ = win.next_after(T0)
    started = night_start + timedelta(minutes=minutes_in)
    assert service.overview(account, at=T0).version.update_available

    outside = night_start - timedelta(hours=3)
    assert (
        service.record_backup(
            account, started=outside, finished=outside + timedelta(minutes=5), succeeded=True, size_bytes=MB
        )
        == "not_tonight"
    )
    assert (
        service.record_backup(
            account, started=started, finished=started + timedelta(minutes=5), succeeded=False, size_bytes=MB
        )
        == "backup_failed"
    )
    assert service.overview(account, at=started + DAY).version.update_available
    assert (
        service.record_backup(
            account, started=started, finished=started + timedelta(minutes=9), succeeded=True, size_bytes=MB
        )
        == "scheduled"
    )
    view = service.overview(account, at=started + DAY).version
    assert (view.revision, view.update_available) == (newer.latest_revision, False)
    assert service.account(account).installed == Version(newer.latest_version, newer.latest_revision)


def test_auto_update_off_never_updates(env: Env) -> None:
    """With auto-update off, even a successful backup in the window leaves the installed revision alone."""
    newer = attrs.evolve(provider(), latest_revision=provider().latest_revision + 1)
    service = build_service(env.storage, env.clock, settings=newer)
    account = env.open("premium")
    service.set_auto_update(account, False, at=T0)
    start, _ = BackupWindow.parse("01:00-03:00").next_after(T0)
    reason = service.record_backup(
        account, started=start, finished=start + timedelta(minutes=5), succeeded=True, size_bytes=MB
    )
    assert reason == "auto_update_off"
    assert service.overview(account, at=start + DAY).version.update_available


def test_backup_that_does_not_fit_is_notified_once_a_night(env: Env) -> None:
    """A backup whose size needs longer than the window queues one «does not fit» notice for that night."""
    account = env.open("premium")
    start = datetime(2026, 11, 26, 1, 5, tzinfo=MSK)
    huge = 400_000 * MB  # ~5.5 h at 20 MB/s: longer than a 2 h window
    for minutes in (0, 30):
        at = start + timedelta(minutes=minutes)
        env.service.record_backup(account, started=at, finished=at + DAY / 4, succeeded=True, size_bytes=huge)
    assert len(messages(env, account, "backup_does_not_fit")) == 1
    assert not env.service.overview(account, at=start + DAY).backup.fits


# -- concurrency across processes -------------------------------------------------------------------------


def test_concurrent_confirmations_from_processes_extend_once(shared_url: str) -> None:
    """Six processes deliver one payment and four another, at once, for the same referred account: each
    payment extends the term exactly once and credits the referrer exactly once."""
    storage_env = Env.build("sqlite" if shared_url.startswith("sqlite") else "postgresql", shared_url)
    service = storage_env.service
    referrer = storage_env.open("business")
    account = storage_env.open("start", referral_code=service.account(referrer).referral_code.value)
    one = service.issue_invoice(account, 2, at=T0)
    two = service.issue_invoice(account, 5, at=T0)
    start = lease_of(storage_env, account)
    at = (T0 + DAY).isoformat()
    args = [(shared_url, "pay-one", one.number, str(one.total.amount), at)] * 6
    args += [(shared_url, "pay-two", two.number, str(two.total.amount), at)] * 4
    applied = spawn(confirm_worker, args)
    assert sorted(applied) == [False] * 8 + [True] * 2
    assert lease_of(storage_env, account) == start.extend(7, T0 + DAY)
    kinds = history_kinds(storage_env, account)
    assert kinds.count("payment") == 2
    bonus = service.account(referrer).bonus
    assert bonus.earned == REWARD.reward(one.total) + REWARD.reward(two.total)
    assert bonus.credited == {"pay-one", "pay-two"}
    assert history_kinds(storage_env, referrer).count("referral_reward") == 2
    storage_env.close()


def test_concurrent_tariff_changes_are_serialised_never_merged(shared_url: str) -> None:
    """Two processes change one account's tariff at once: both succeed, the second applied on the first's
    result, and the final term equals one of the two serial orders; a longer race replays exactly from the
    history."""
    storage_env = Env.build("sqlite" if shared_url.startswith("sqlite") else "postgresql", shared_url)
    service = storage_env.service
    account = storage_env.open("business")
    storage_env.pay(account, 3)
    start = lease_of(storage_env, account)
    at = T0 + timedelta(days=10)
    spawn(
        change_worker,
        [
            (shared_url, account, ["premium"], at.isoformat()),
            (shared_url, account, ["start"], at.isoformat()),
        ],
    )
    cat = catalog()
    orders = [
        start.change_tariff(cat["premium"], at).lease.change_tariff(cat["start"], at).lease,
        start.change_tariff(cat["start"], at).lease.change_tariff(cat["premium"], at).lease,
    ]
    final = lease_of(storage_env, account)
    assert final in orders
    changes = [r.data["data"] for r in service.history(account) if r.kind == "tariff_change"]
    assert len(changes) == 2
    assert changes[1]["paid_until_before"] == changes[0]["paid_until_after"]
    assert changes[1]["paid_until_after"] == final.paid_until.isoformat()

    # a longer race of four processes: every change is applied on the previous one's result, in the
    # history's order (a lost update would show as an entry starting from a stale term)
    begin = final
    plans = [
        ["business", "premium", "start", "premium", "business"],
        ["start", "business", "premium", "business", "start"],
        ["premium", "start", "business", "start", "premium"],
        ["business-eu", "premium", "business", "start", "business-eu"],
    ]
    spawn(change_worker, [(shared_url, account, plan, at.isoformat()) for plan in plans])
    changes = [r.data["data"] for r in service.history(account) if r.kind == "tariff_change"][2:]
    assert len(changes) == 20
    replay = begin
    for change in changes:
        assert change["paid_until_before"] == replay.paid_until.isoformat()
        assert change["tariff_before"] == replay.tariff.code
        replay = replay.change_tariff(cat[change["tariff_after"]], at).lease
        assert change["paid_until_after"] == replay.paid_until.isoformat()
    assert lease_of(storage_env, account) == replay
    storage_env.close()


# -- small rules the page relies on ---------------------------------------------------------------------


def test_preview_changes_nothing_and_same_tariff_is_identity(env: Env) -> None:
    """A preview writes nothing; changing to the same tariff keeps the term exactly."""
    account = env.open("business")
    env.pay(account, 2)
    before = env.snapshot()
    env.service.preview_tariff_change(account, "premium", at=T0 + DAY)
    assert env.snapshot() == before
    lease = lease_of(env, account)
    assert env.service.change_tariff(account, "business", at=T0 + DAY).lease == lease


def test_referral_attribution_happens_once_and_is_recorded(env: Env) -> None:
    """An account opened with a code is attributed to the code's owner; an unknown code opens nothing."""
    owner = env.open("business")
    code = env.service.account(owner).referral_code.value
    friend = env.open("start", referral_code=code)
    assert env.service.account(friend).referred_by == owner
    assert env.service.history(friend)[0].data["data"]["referred_by"] == owner
    before = env.snapshot()
    with pytest.raises(UnknownCode):
        env.service.open_account(
            "stranger", tariff="start", configuration="trade", master_domain=MASTER, referral_code="Z" * 16
        )
    assert env.snapshot() == before


def test_usage_quotas_refuse_with_figures(env: Env) -> None:
    """Adding users or disk beyond the tariff refuses with the limit, the usage and the amount asked."""
    account = env.open("start")  # 3 users, 1,000 MB
    env.service.add_users(account, 2, at=T0)
    with pytest.raises(QuotaExceeded) as info:
        env.service.add_users(account, 2, at=T0)
    assert (info.value.limit, info.value.used, info.value.requested) == (3, 2, 2)
    env.service.add_disk(account, 900 * MB, at=T0)
    with pytest.raises(QuotaExceeded) as info:
        env.service.add_disk(account, 101 * MB, at=T0)
    assert (info.value.limit, info.value.used, info.value.requested) == (1000 * MB, 900 * MB, 101 * MB)
    assert env.service.account(account).usage == Usage(users=2, disk_bytes=900 * MB)


def test_configuration_switch_is_recorded(env: Env) -> None:
    """Switching the edition changes the page and leaves a history entry naming both editions."""
    account = env.open("business")
    env.service.switch_configuration(account, "accounting", at=T0)
    assert env.service.overview(account, at=T0).configuration_title == "Бухгалтерия предприятия"
    entry = env.service.history(account)[-1]
    assert (entry.kind, entry.data["data"]["before"], entry.data["data"]["after"]) == (
        "configuration_change",
        "trade",
        "accounting",
    )


def test_online_payment_goes_through_the_gateway(env: Env) -> None:
    """Starting an online payment asks the gateway for the invoice's total; its confirmation applies."""
    account = env.open("business")
    invoice = env.service.issue_invoice(account, 6, at=T0)
    start = env.service.start_online_payment(
        account, invoice.number, return_url="https://cabinet.example/back"
    )
    started = env.gateway.started[-1]
    assert (started.amount, started.invoice_number, started.account_id) == (
        invoice.total,
        invoice.number,
        account,
    )
    result = env.service.confirm_payment(
        start.payment_id, invoice.number, invoice.total, method="online", at=T0
    )
    assert result.applied and result.lease.paid_until == lease_of(env, account).paid_until
    assert Decimal(invoice.total.amount) == Decimal("1990") * 6 * Decimal("0.90")


def test_clock_is_used_when_no_instant_is_given(env: Env) -> None:
    """Without at=, a use case takes the injected clock's time."""
    clock = FixedClock(T0 + timedelta(days=3))
    service = build_service(env.storage, clock, mailer=RecordingMailer())
    account = env.open("business")
    invoice = service.issue_invoice(account, 1)
    assert invoice.issued_at == T0 + timedelta(days=3)
    assert service.overview(account).at == T0 + timedelta(days=3)


def test_payment_after_a_tariff_change_is_converted_by_price_ratio(env: Env) -> None:
    """An invoice for business paid after the account moved to premium adds the business months converted
    by the price ratio, as the pure lease does."""
    account = env.open("business")
    env.pay(account, 1)
    invoice = env.service.issue_invoice(account, 3, at=T0)
    env.service.change_tariff(account, "premium", at=T0 + DAY)
    lease = lease_of(env, account)
    result = env.service.confirm_payment("pay-conv", invoice.number, invoice.total, at=T0 + 2 * DAY)
    assert result.lease == lease.extend_converted(3, catalog()["business"], T0 + 2 * DAY)
    assert lease_of(env, account) == result.lease and result.lease.tariff.code == "premium"


def test_an_own_domain_serves_one_account(env: Env) -> None:
    """A domain another account already connected is refused in plain words, and nothing is written."""
    first, second = env.open("premium"), env.open("premium")
    env.service.request_own_domain(first, "shop.example.ru", at=T0)
    before = env.snapshot()
    with pytest.raises(InvalidInput) as info:
        env.service.request_own_domain(second, "SHOP.example.ru", at=T0)
    assert "'shop.example.ru' is already connected to another account" in str(info.value)
    assert env.snapshot() == before


def test_ftp_credentials_are_handed_out_only_after_commit(env: Env) -> None:
    """When the commit fails the sink gets nothing; when it succeeds it gets one password, which matches the
    stored hash."""
    account = env.open("premium")
    failing = CommitFails(env.storage)
    crashing = build_service(failing, env.clock, sink=env.sink)
    failing.fail = 1
    with pytest.raises(StorageError):
        crashing.switch_ftp_on(account, at=T0)
    assert env.sink.delivered == [] and env.service.account(account).ftp is None
    crashing.switch_ftp_on(account, at=T0)
    [credentials] = env.sink.delivered
    stored = env.service.account(account).ftp
    assert stored is not None and stored.verify(account, credentials.password)


@pytest.mark.parametrize(
    ("damage", "path"),
    [("layout", ("doc",)), ("missing", ("lease", "paid_until")), ("wrong type", ("usage", "users"))],
)
def test_a_damaged_account_document_is_refused_clearly(env: Env, damage: str, path: tuple[str, ...]) -> None:
    """A stored document of another layout or damaged by hand raises StorageError naming the account, in
    reads and in use cases, and nothing more is written."""
    account = env.open("business")
    with env.storage.unit_of_work() as uow:
        stored = uow.accounts.get(account)
        data = stored.data
        node = data
        for key in path[:-1]:
            node = node[key]
        if damage == "layout":
            node[path[-1]] = 2
        elif damage == "missing":
            del node[path[-1]]
        else:
            node[path[-1]] = "12"
        uow.accounts.save(account, data, expected_version=stored.version)
        uow.commit()
    before = env.snapshot()
    for attempt in (
        lambda: env.service.overview(account, at=T0),
        lambda: env.service.change_tariff(account, "premium", at=T0),
        lambda: env.service.issue_invoice(account, 1, at=T0),
    ):
        with pytest.raises(StorageError) as info:
            attempt()
        assert repr(account) in str(info.value)
    assert env.snapshot() == before


def test_the_account_document_reads_back_as_written(env: Env) -> None:
    """An account with every part filled (contacts, domain, FTP, backup, bonus, load) reads back equal."""
    from cabinet_core.account import Account

    service = env.service
    account = env.open("premium")
    service.set_contacts(
        account, name="Анна", email="a@x.ru", phone="+7 916 123-45-67", channel="phone", at=T0
    )
    request = service.request_own_domain(account, "пример.рф", at=T0)
    env.dns.cnames[request.domain.hostname.ascii] = f"{account}.{MASTER}."
    service.verify_own_domain(account, at=T0)
    service.switch_ftp_on(account, at=T0)
    start = datetime(2026, 11, 26, 1, 5, tzinfo=MSK)
    service.record_backup(
        account, started=start, finished=start + timedelta(minutes=7), succeeded=True, size_bytes=3
    )
    friend = env.open("start", referral_code=service.account(account).referral_code.value)
    env.pay(friend, 2)
    service.record_load(account, Decimal("12.5"), at=T0 + timedelta(minutes=30))
    service.set_forwarding(account, "boss@acme.ru", at=T0)
    loaded = service.account(account)
    assert loaded.own_domain is not None and loaded.own_domain.is_active
    assert Account.from_document(account, loaded.to_document(), catalog()) == loaded


def test_retired_tariff_keeps_its_accounts_but_takes_no_new_ones(env: Env) -> None:
    """After the provider retires a tariff, its accounts still load, extend and stay on it; nobody opens on
    it or moves to it, and the refusal names what is offered."""
    from cabinet_core.tariffs import TariffNotOffered

    account = env.open("start")
    other = env.open("business")
    env.pay(account, 1)
    text = (files("cabinet_core") / "data/sample_catalog.toml").read_text(encoding="utf-8")
    retired = TariffCatalog.from_toml(text.replace('code = "start"', 'code = "start"\nretired = true', 1))
    service = CabinetService(env.storage, retired, provider(), env.clock, mailer=env.mailer)
    assert service.overview(account, at=T0).tariff_code == "start"
    invoice = service.issue_invoice(account, 1, at=T0)
    assert service.confirm_payment(env.payment_id(), invoice.number, invoice.total, at=T0).applied
    assert service.change_tariff(account, "start", at=T0).lease.tariff.code == "start"
    before = env.snapshot([])
    with pytest.raises(TariffNotOffered, match="no longer offered; choose one of: free, business"):
        service.open_account("newcomer", tariff="start", configuration="trade", master_domain=MASTER, at=T0)
    with pytest.raises(TariffNotOffered):
        service.change_tariff(other, "start", at=T0)
    with pytest.raises(TariffNotOffered):
        service.preview_tariff_change(other, "start", at=T0)
    with pytest.raises(TariffNotOffered):
        service.issue_invoice(other, 1, tariff="start", at=T0)
    assert env.snapshot([]) == before
    assert service.change_tariff(account, "business", at=T0).lease.tariff.code == "business"
