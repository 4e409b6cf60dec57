"""Lease: extension by calendar months and tariff change by price ratio (DESIGN.md invariants)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from cabinet_core import (
    CurrencyMismatch,
    DowngradeRefused,
    InvalidInput,
    InvalidType,
    Lease,
    Limits,
    Money,
    NaiveDatetime,
    Tariff,
)
from cabinet_core.quotas import MB, Usage

from strategies.foundation import MSK, STEADY_ZONES, instants, months, prices, tariffs

BUSINESS = Tariff("business", "Бизнес", Money("1990", "RUB"), Limits(10, 2000, 10_000))
PREMIUM = Tariff(
    "premium", "Премиум", Money("4990", "RUB"), Limits(50, 20_000, 50_000), features={"custom_domain"}
)
FREE = Tariff("free", "Бесплатный", Money("0", "RUB"), Limits(1, 100, 100))
EURO = Tariff("euro", "EU", Money("1990", "RUB"), Limits(10, 2000, 10_000), region="de")


def beyond_horizon(start: datetime, span_us: Decimal) -> bool:
    """Whether ``start`` + ``span_us`` microseconds passes the library's horizon (the year 9000)."""
    return span_us >= (datetime(9000, 1, 1, tzinfo=UTC) - start) // timedelta(microseconds=1)


def value_us(lease: Lease, at: datetime) -> Decimal:
    """Remaining value in (microseconds x price) units: what the customer still owns."""
    return Decimal((lease.remaining(at)) // timedelta(microseconds=1)) * lease.tariff.monthly_price.amount


# -- extension ----------------------------------------------------------------------------------------------


@given(tariffs(), instants, instants, months, months, st.sampled_from(STEADY_ZONES))
def test_extend_is_additive(t: Tariff, paid: datetime, at: datetime, a: int, b: int, tz: str) -> None:
    """Extending by a then b months equals extending by a + b months."""
    lease = Lease(t, paid, tz=tz)
    assert lease.extend(a, at).extend(b, at) == lease.extend(a + b, at)


@pytest.mark.parametrize(
    ("start", "days"),
    [
        (datetime(2027, 1, 31, 10, tzinfo=MSK), 31),
        (datetime(2028, 2, 29, 10, tzinfo=MSK), 29),
        (datetime(2027, 8, 31, 10, tzinfo=MSK), 31),
    ],
)
def test_no_month_end_drift(start: datetime, days: int) -> None:
    """24 consecutive monthly extensions keep the anchor day (or the month's last day), never drift."""
    import calendar

    lease = Lease(BUSINESS, start)
    for i in range(1, 25):
        lease = lease.extend(1, at=start)
        local = lease.paid_until.astimezone(MSK)
        last = calendar.monthrange(local.year, local.month)[1]
        assert local.day == min(start.day, last), (i, local)
        assert local.time() == start.timetz().replace(tzinfo=None)
    assert lease == Lease(BUSINESS, start).extend(24, at=start)


def test_jan31_feb_mar() -> None:
    """Jan 31 -> Feb 28 -> Mar 31, in Moscow time."""
    lease = Lease(BUSINESS, datetime(2027, 1, 31, 23, 30, tzinfo=MSK))
    feb = lease.extend(1, at=datetime(2027, 1, 1, tzinfo=UTC))
    assert feb.paid_until.astimezone(MSK).date().isoformat() == "2027-02-28"
    assert feb.extend(1, at=datetime(2027, 1, 1, tzinfo=UTC)).paid_until.astimezone(MSK).day == 31


def test_months_counted_on_account_calendar() -> None:
    """Months count on the account zone: 31 Jan 01:00 MSK (30 Jan UTC) + 1 month is 28 Feb MSK."""
    start = datetime(2027, 1, 31, 1, 0, tzinfo=MSK)
    lease = Lease(BUSINESS, start).extend(1, at=start)
    assert lease.paid_until.astimezone(MSK) == datetime(2027, 2, 28, 1, 0, tzinfo=MSK)
    utc_lease = Lease(BUSINESS, start, tz="UTC").extend(1, at=start)
    assert utc_lease.paid_until == datetime(2027, 2, 28, 22, 0, tzinfo=UTC)  # 1 Mar 01:00 MSK


@given(tariffs(), instants, st.integers(1, 10**8), months)
def test_paying_after_expiry_does_not_buy_the_past(t: Tariff, paid: datetime, late: int, n: int) -> None:
    """An extension after expiry starts at the moment of payment, not at the old paid-until."""
    at = paid + timedelta(seconds=late)
    lease = Lease(t, paid).extend(n, at)
    assert lease == Lease(t, at).extend(n, at)
    assert lease.paid_until > at


@given(tariffs(), instants, instants, months)
def test_extension_is_monotone(t: Tariff, paid: datetime, at: datetime, n: int) -> None:
    """An extension never ends before max(paid_until, at) plus 28 days per month bought."""
    new = Lease(t, paid).extend(n, at)
    start = max(paid, at)
    assert start + timedelta(days=28 * n) <= new.paid_until <= start + timedelta(days=31 * n + 1)


# -- tariff change ------------------------------------------------------------------------------------------


@given(tariffs(code="a"), tariffs(code="b"), instants, st.integers(0, 10 * 366 * 86_400 * 10**6))
@example(BUSINESS, PREMIUM, datetime(2027, 1, 1, tzinfo=UTC), 1)
def test_value_never_created(a: Tariff, b: Tariff, at: datetime, remaining_us: int) -> None:
    """A change never creates value, and loses less than one second of the new tariff's price."""
    lease = Lease(a, at + timedelta(microseconds=remaining_us))
    scaled = Decimal(remaining_us) * a.monthly_price.amount / b.monthly_price.amount
    if beyond_horizon(at, scaled):
        with pytest.raises(InvalidInput, match="year 9000"):
            lease.change_tariff(b, at)
        return
    new = lease.change_tariff(b, at).lease
    before, after = value_us(lease, at), value_us(new, at)
    assert after <= before
    assert before - after < 1_000_000 * b.monthly_price.amount


@given(tariffs(code="a"), tariffs(code="b"), instants, st.integers(0, 10**15))
def test_round_trip_never_later(a: Tariff, b: Tariff, at: datetime, remaining_us: int) -> None:
    """A -> B -> A never ends later than where it started."""
    lease = Lease(a, at + timedelta(microseconds=remaining_us))
    assume(not beyond_horizon(at, Decimal(remaining_us) * a.monthly_price.amount / b.monthly_price.amount))
    back = lease.change_tariff(b, at).lease.change_tariff(a, at).lease
    assert back.paid_until <= lease.paid_until


@given(tariffs(), instants, instants)
def test_same_tariff_is_identity(t: Tariff, paid: datetime, at: datetime) -> None:
    """Changing to the same tariff changes nothing."""
    lease = Lease(t, paid)
    assert lease.change_tariff(t, at).lease == lease


@given(tariffs(code="a"), tariffs(code="b"), instants, st.integers(1, 10**15))
def test_dearer_not_later_cheaper_not_earlier(a: Tariff, b: Tariff, at: datetime, remaining_us: int) -> None:
    """A dearer tariff never lengthens the term, a cheaper one never shortens it."""
    lease = Lease(a, at + timedelta(microseconds=remaining_us))
    assume(not beyond_horizon(at, Decimal(remaining_us) * a.monthly_price.amount / b.monthly_price.amount))
    new = lease.change_tariff(b, at).lease
    if b.monthly_price > a.monthly_price:
        assert new.paid_until <= lease.paid_until
    if b.monthly_price < a.monthly_price:
        assert new.paid_until >= lease.paid_until - timedelta(seconds=1)
        assert new.paid_until >= at


@given(tariffs(code="a"), tariffs(code="b"), instants, st.integers(0, 10**12))
def test_expired_lease_moves_no_time(a: Tariff, b: Tariff, paid: datetime, late_us: int) -> None:
    """After expiry a tariff change moves no time."""
    lease = Lease(a, paid)
    at = paid + timedelta(microseconds=late_us)
    assert lease.change_tariff(b, at).lease.paid_until == paid


def test_dearer_tariff_rescales_remaining() -> None:
    """30 days left on 1990 moving to 4990 leaves floor(30 d x 1990/4990) seconds."""
    at = datetime(2027, 3, 1, tzinfo=MSK)
    lease = Lease(BUSINESS, at + timedelta(days=30))
    change = lease.change_tariff(PREMIUM, at)
    expected = (30 * 86_400 * 1990) // 4990
    assert change.lease.paid_until == at + timedelta(seconds=expected)
    assert change.lease.tariff == PREMIUM
    assert change.time_delta == timedelta(seconds=expected) - timedelta(days=30)
    assert not change.needs_migration


def test_free_tariff_never_expires_and_free_to_paid_starts_empty() -> None:
    """A free tariff never expires; moving from it to a paid one starts with no paid time."""
    at = datetime(2027, 3, 1, tzinfo=MSK)
    free = Lease(FREE, at - timedelta(days=400))
    assert free.is_active(at) and free.expires_at is None
    paid = free.change_tariff(BUSINESS, at).lease
    assert paid.paid_until == at and not paid.is_active(at)
    with pytest.raises(InvalidInput, match="free"):
        free.extend(1, at)


def test_downgrade_refused_lists_every_limit() -> None:
    """A change below current usage is refused naming every broken limit with figures; nothing changes."""
    at = datetime(2027, 3, 1, tzinfo=MSK)
    lease = Lease(PREMIUM, at + timedelta(days=10))
    with pytest.raises(DowngradeRefused) as info:
        lease.change_tariff(BUSINESS, at, usage=Usage(users=12, disk_bytes=2300 * MB))
    assert info.value.broken == ("users 12 > 10", "disk 2,300 MB > 2,000 MB")
    assert "users 12 > 10" in str(info.value) and "disk 2,300 MB > 2,000 MB" in str(info.value)
    assert lease.tariff == PREMIUM  # frozen: nothing to change, but the caller's lease is intact
    ok = lease.change_tariff(BUSINESS, at, usage=Usage(users=10, disk_bytes=2000 * MB))
    assert ok.lease.tariff == BUSINESS
    assert ok.loses_features == frozenset({"custom_domain"})


def test_region_change_needs_migration() -> None:
    """A move to a tariff in another region is allowed and flagged as needing a data migration."""
    at = datetime(2027, 3, 1, tzinfo=MSK)
    change = Lease(BUSINESS, at + timedelta(days=3)).change_tariff(EURO, at)
    assert change.needs_migration
    assert change.lease.paid_until == at + timedelta(days=3)


def test_currency_mismatch_refused() -> None:
    """A term cannot be converted between tariffs priced in different currencies."""
    usd = Tariff("usd", "USD", Money("10", "USD"), Limits(1, 1, 1))
    at = datetime(2027, 3, 1, tzinfo=MSK)
    with pytest.raises(CurrencyMismatch):
        Lease(BUSINESS, at + timedelta(days=3)).change_tariff(usd, at)


@given(prices, instants)
def test_naive_datetimes_refused(price: Money, at: datetime) -> None:
    """Every entry point refuses a naive datetime with NaiveDatetime (a ValueError)."""
    t = Tariff("t", "T", price, Limits(1, 1, 1))
    naive = at.replace(tzinfo=None)
    with pytest.raises(NaiveDatetime):
        Lease(t, naive)
    lease = Lease(t, at)
    for call in (
        lambda: lease.extend(1, naive),
        lambda: lease.change_tariff(BUSINESS, naive),
        lambda: lease.is_active(naive),
        lambda: lease.remaining(naive),
    ):
        with pytest.raises(NaiveDatetime) as info:
            call()
        assert isinstance(info.value, ValueError)


def test_bad_arguments_refused() -> None:
    """Wrong types and out-of-range months are refused with clear errors."""
    at = datetime(2027, 3, 1, tzinfo=MSK)
    lease = Lease(BUSINESS, at)
    for bad in (0, -1, 121):
        with pytest.raises(InvalidInput, match="months"):
            lease.extend(bad, at)
    with pytest.raises(InvalidType):
        lease.extend("3", at)  # type: ignore[arg-type]
    with pytest.raises(InvalidType):
        lease.change_tariff("premium", at)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="zone"):
        Lease(BUSINESS, at, tz="Mars/Olympus")
    with pytest.raises(InvalidType):
        Lease(BUSINESS, "2027-03-01")  # type: ignore[arg-type]


def test_dst_zone_keeps_wall_time() -> None:
    """In a DST zone the paid-until keeps its local wall time across the change of offset."""
    berlin = ZoneInfo("Europe/Berlin")
    start = datetime(2027, 3, 15, 12, 0, tzinfo=berlin)
    lease = Lease(BUSINESS, start, tz="Europe/Berlin").extend(1, at=start)
    assert lease.paid_until.astimezone(berlin) == datetime(2027, 4, 15, 12, 0, tzinfo=berlin)


@given(tariffs(code="a"), tariffs(code="b"), instants, st.integers(1, 10**13), months)
def test_converted_payment_never_creates_value(
    a: Tariff, b: Tariff, at: datetime, remaining_us: int, n: int
) -> None:
    """Months paid for tariff A while on B add at most their value in B's price (floored to seconds)."""
    lease = Lease(b, at + timedelta(microseconds=remaining_us))
    paid_span = Lease(a, lease.paid_until).extend(n, at).paid_until - lease.paid_until
    span_us = Decimal(paid_span // timedelta(microseconds=1))
    if beyond_horizon(lease.paid_until, span_us * a.monthly_price.amount / b.monthly_price.amount):
        with pytest.raises(InvalidInput, match="year 9000"):
            lease.extend_converted(n, a, at)
        return
    gained = lease.extend_converted(n, a, at).paid_until - lease.paid_until
    assert (
        Decimal(gained // timedelta(microseconds=1)) * b.monthly_price.amount
        <= Decimal(paid_span // timedelta(microseconds=1)) * a.monthly_price.amount
    )
    assert gained.microseconds == 0
