"""Strategies for money, tariffs, leases and instants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

from cabinet_core import Limits, Money, Tariff

MSK = ZoneInfo("Europe/Moscow")
# Zones whose calendars have no DST gaps in the years generated (Moscow has kept UTC+3 since 2014).
STEADY_ZONES = ("Europe/Moscow", "UTC", "Asia/Yekaterinburg", "Asia/Tokyo")

minor = st.integers(min_value=-(10**12), max_value=10**12)
non_negative_minor = st.integers(min_value=0, max_value=10**10)


@st.composite
def money(draw: st.DrawFn, currency: str = "RUB", min_units: int = -(10**12)) -> Money:
    return Money.from_minor(draw(st.integers(min_value=min_units, max_value=10**12)), currency)


prices = st.integers(min_value=1, max_value=10_000_000).map(lambda u: Money.from_minor(u, "RUB"))

instants = st.datetimes(
    min_value=datetime(2015, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)
)


@st.composite
def tariffs(draw: st.DrawFn, price: st.SearchStrategy[Money] = prices, code: str | None = None) -> Tariff:
    return Tariff(
        code=code or draw(st.sampled_from(["start", "business", "premium", "corp"])),
        title="Тариф",
        monthly_price=draw(price),
        limits=Limits(
            users=draw(st.integers(0, 1000)),
            disk_mb=draw(st.integers(0, 10**6)),
            mail_per_24h=draw(st.integers(0, 10**6)),
        ),
        region=draw(st.sampled_from(["ru", "de"])),
        features=draw(st.frozensets(st.sampled_from(["custom_domain", "api", "sso"]))),
    )


def around(base: datetime) -> st.SearchStrategy[datetime]:
    """Instants within ten years either side of ``base``."""
    return st.integers(min_value=-10 * 366 * 86_400, max_value=10 * 366 * 86_400).map(
        lambda s: base + timedelta(seconds=s)
    )


months = st.integers(min_value=1, max_value=36)
percent = st.decimals(min_value=0, max_value=Decimal("99.99"), places=2)
