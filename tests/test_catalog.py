"""TariffCatalog: loading the provider's TOML, validation that names the field, pricing with discounts."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cabinet_core import CatalogError, InvalidInput, Money, TariffCatalog, UnknownCode

GOOD = """
currency = "RUB"
regions = ["ru", "de"]

[[discounts]]
months = 3
percent = "5"
[[discounts]]
months = 6
percent = "10"
[[discounts]]
months = 12
percent = "15"

[[configurations]]
code = "trade"
title = "Управление торговлей"
features = ["warehouse"]

[[tariffs]]
code = "start"
title = "Старт"
monthly_price = "990"
users = 3
disk_mb = 1000
mail_per_24h = 1000

[[tariffs]]
code = "premium"
title = "Премиум"
monthly_price = "4990.00"
users = 50
disk_mb = 20000
mail_per_24h = 50000
features = ["custom_domain"]

[[tariffs]]
code = "euro"
title = "Business EU"
monthly_price = 2990
region = "de"
users = 10
disk_mb = 2000
mail_per_24h = 10000
"""


def test_good_catalog_loads() -> None:
    """A well-formed catalog gives tariffs, configurations, discounts and regions."""
    c = TariffCatalog.from_toml(GOOD)
    assert c.codes() == ("start", "premium", "euro")
    assert c["premium"].monthly_price == Money("4990", "RUB")
    assert c["premium"].has("custom_domain")
    assert c["start"].ru_mark and not c["euro"].ru_mark
    assert c.configuration("trade").title == "Управление торговлей"
    assert [t.code for t in c.with_feature("custom_domain")] == ["premium"]


def test_load_from_file(tmp_path: Path) -> None:
    """load() reads a UTF-8 file; a missing file is a CatalogError naming the path."""
    p = tmp_path / "tariffs.toml"
    p.write_text(GOOD, encoding="utf-8")
    assert len(TariffCatalog.load(p)) == 3
    with pytest.raises(CatalogError, match=r"nope\.toml"):
        TariffCatalog.load(tmp_path / "nope.toml")


def test_unknown_tariff_names_the_offered() -> None:
    """Looking up an unknown code is a LookupError listing the codes on offer."""
    c = TariffCatalog.from_toml(GOOD)
    with pytest.raises(UnknownCode, match="start, premium, euro") as info:
        c["gold"]
    assert isinstance(info.value, LookupError)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("users = 3", 'users = 3\ncolour = "red"'), r"tariffs\[0\] \('start'\): unknown key 'colour'"),
        (
            ('monthly_price = "990"', 'monthly_price = "-990"'),
            r"tariffs\[0\].*monthly_price: must not be negative",
        ),
        (('monthly_price = "990"', "monthly_price = 990.5"), r"monthly_price: write prices as strings"),
        (('code = "premium"', 'code = "start"'), r"duplicate code 'start'"),
        (('region = "de"', 'region = "us"'), r"region: 'us' is not one of the catalog's regions"),
        (('currency = "RUB"', 'currency = "RUX"'), r"currency: .*RUX"),
        (("users = 3", "users = -3"), r"tariffs\[0\].*users must not be negative"),
        (("users = 3", 'users = "3"'), r"users must be a whole number"),
        (('percent = "5"', 'percent = "120"'), r"discounts\[0\].percent: must be at least 0 and below 100"),
        (('code = "start"', 'code = "Start Plan"'), r"not a valid code"),
        (("disk_mb = 1000\n", ""), r"missing required key 'disk_mb'"),
        (('[[tariffs]]\ncode = "start"', '[[tariffs]\ncode = "start"'), r"not valid TOML"),
    ],
)
def test_bad_catalog_names_field_and_problem(change: tuple[str, str], message: str) -> None:
    """Each kind of mistake in the TOML is refused with a CatalogError naming where and what."""
    old, new = change
    assert old in GOOD
    with pytest.raises(CatalogError, match=message) as info:
        TariffCatalog.from_toml(GOOD.replace(old, new, 1))
    assert isinstance(info.value, ValueError)


def test_mixed_currencies_refused() -> None:
    """A tariff priced in another currency than the catalog's is refused."""
    from cabinet_core import Limits, Tariff

    t = Tariff("x", "X", Money("1", "USD"), Limits(1, 1, 1))
    with pytest.raises(CatalogError, match="differs from the catalog currency RUB"):
        TariffCatalog(currency="RUB", tariffs=(t,))


def test_hostile_strings_refused() -> None:
    """Titles with control characters and non-str input are refused, not stored."""
    with pytest.raises(CatalogError, match="title"):
        TariffCatalog.from_toml(GOOD.replace('title = "Старт"', 'title = "a\\u0000b"'))
    with pytest.raises(TypeError):
        TariffCatalog.from_toml(b"currency = 'RUB'")  # type: ignore[arg-type]


def test_quote_applies_best_discount() -> None:
    """Quotes take the largest discount whose month threshold is met, rounded half up."""
    c = TariffCatalog.from_toml(GOOD)
    assert c.quote("start", 1).total == Money("990", "RUB")
    q = c.quote("start", 3)
    assert (q.list_price, q.discount_percent, q.discount, q.total) == (
        Money("2970", "RUB"),
        Decimal(5),
        Money("148.50", "RUB"),
        Money("2821.50", "RUB"),
    )
    assert c.quote("start", 7).discount_percent == Decimal(10)
    assert c.quote("start", 24).discount_percent == Decimal(15)
    with pytest.raises(InvalidInput, match="months"):
        c.quote("start", 0)


@given(st.integers(1, 10**8), st.integers(1, 120), st.decimals(0, Decimal("99.99"), places=2))
def test_quote_total_is_list_minus_discount(units: int, months: int, pct: Decimal) -> None:
    """A quote's total equals list price minus discount, all in whole minor units, never negative."""
    toml = f"""
currency = "RUB"
[[discounts]]
months = 1
percent = "{pct}"
[[tariffs]]
code = "t"
title = "T"
monthly_price = "{Money.from_minor(units, "RUB").amount}"
users = 1
disk_mb = 1
mail_per_24h = 1
"""
    q = TariffCatalog.from_toml(toml).quote("t", months)
    assert q.list_price.to_minor() == units * months
    assert q.total == q.list_price - q.discount
    assert q.total.to_minor() >= 0
    assert q.discount.to_minor() == int(
        (Decimal(units * months) * pct / 100).quantize(Decimal(1), rounding="ROUND_HALF_UP")
    )


def test_retired_tariff_is_kept_but_not_offered() -> None:
    """A retired tariff still resolves (accounts stay on it) but is not offered, and `offer` refuses it."""
    from cabinet_core.tariffs import TariffNotOffered

    c = TariffCatalog.from_toml(GOOD.replace('code = "start"', 'code = "start"\nretired = true', 1))
    assert c["start"].retired
    assert c.codes() == ("start", "premium", "euro")
    assert c.offered_codes() == ("premium", "euro")
    assert c.offer("premium") is c["premium"]
    with pytest.raises(TariffNotOffered, match="no longer offered; choose one of: premium, euro") as info:
        c.offer("start")
    assert isinstance(info.value, ValueError)
    with pytest.raises(UnknownCode, match="offers: premium, euro"):
        c["gold"]
    assert c.quote("start", 1).total == Money("990", "RUB")  # extending a retired tariff still works


def test_retired_must_be_a_boolean_and_something_must_be_offered() -> None:
    """`retired` takes only true/false, and a catalog whose every tariff is retired is refused."""
    with pytest.raises(CatalogError, match="retired must be true or false"):
        TariffCatalog.from_toml(GOOD.replace('code = "start"', 'code = "start"\nretired = "yes"', 1))
    all_retired = GOOD.replace("users = ", "retired = true\nusers = ")
    with pytest.raises(CatalogError, match="every tariff is retired"):
        TariffCatalog.from_toml(all_retired)
