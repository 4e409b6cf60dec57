"""Money: exact amounts, CLDR minor units, single-currency arithmetic, exact allocation."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from cabinet_core import CabinetError, CurrencyMismatch, InvalidInput, InvalidType, Money, UnknownCode
from cabinet_core.money import minor_units


def test_float_refused_as_type_error() -> None:
    """A float amount is refused with a TypeError that is also a CabinetError."""
    with pytest.raises(InvalidType, match="float") as info:
        Money(19.9, "RUB")  # type: ignore[arg-type]
    assert isinstance(info.value, TypeError)
    assert isinstance(info.value, CabinetError)


@pytest.mark.parametrize("bad", ["RUX", "rub", "RU", "", "XXXX", "₽"])
def test_unknown_currency_refused(bad: str) -> None:
    """Codes that are not ISO 4217 (or not known to CLDR) are refused naming the code."""
    with pytest.raises(UnknownCode, match="currency"):
        Money("1", bad)


@pytest.mark.parametrize("bad", ["abc", "1,5", "NaN", "Infinity", "1e40", " "])
def test_malformed_amount_refused(bad: str) -> None:
    """Strings that are not finite decimals of sane size are refused as InvalidInput."""
    with pytest.raises(InvalidInput):
        Money(bad, "RUB")


def test_minor_units_from_cldr() -> None:
    """Minor units come from CLDR: RUB 2, JPY 0, KWD 3."""
    assert (minor_units("RUB"), minor_units("JPY"), minor_units("KWD")) == (2, 0, 3)


def test_mixed_currency_arithmetic_refused() -> None:
    """Adding amounts of different currencies is refused; comparing them too."""
    with pytest.raises(CurrencyMismatch):
        Money("1", "RUB") + Money("1", "USD")
    with pytest.raises(CurrencyMismatch):
        _ = Money("1", "RUB") < Money("1", "USD")
    assert Money("1", "RUB") != Money("1", "USD")


def test_rounding_is_explicit() -> None:
    """round() needs the mode; half up rounds 0.005 to 0.01."""
    assert Money("0.005", "RUB").round(rounding=ROUND_HALF_UP) == Money("0.01", "RUB")
    with pytest.raises(TypeError):
        Money("0.005", "RUB").round()  # type: ignore[call-arg]


def test_to_minor_refuses_fractional_units() -> None:
    """An amount with fractions of a kopeck has no minor-unit form until rounded."""
    with pytest.raises(InvalidInput, match="minor units"):
        Money("0.001", "RUB").to_minor()


@given(st.integers(-(10**12), 10**12), st.lists(st.integers(0, 1000), min_size=1, max_size=12))
@example(1000, [1, 1, 1])
@example(-1, [1, 1])
@example(5, [0, 1, 0])
def test_allocation_sums_exactly(units: int, ratios: list[int]) -> None:
    """Allocated parts add up to the whole, each within one minor unit of its exact share."""
    if sum(ratios) == 0:
        ratios = [*ratios[:-1], 1]
    whole = Money.from_minor(units, "RUB")
    parts = whole.allocate(ratios)
    assert len(parts) == len(ratios)
    assert sum((p.to_minor() for p in parts), 0) == units
    total = sum(ratios)
    for part, r in zip(parts, ratios, strict=True):
        exact = Decimal(units) * r / total
        assert abs(Decimal(part.to_minor()) - exact) < 1


def test_allocation_refuses_bad_ratios() -> None:
    """Empty, all-zero, negative and float ratios are refused."""
    m = Money("10", "RUB")
    for bad in ([], [0, 0], [1, -1]):
        with pytest.raises(InvalidInput):
            m.allocate(bad)
    with pytest.raises(InvalidType):
        m.allocate([0.5, 0.5])  # type: ignore[list-item]


@given(st.integers(-(10**9), 10**9), st.integers(-(10**9), 10**9))
def test_addition_matches_minor_units(a: int, b: int) -> None:
    """Money addition and subtraction agree with integer arithmetic on minor units."""
    x, y = Money.from_minor(a, "RUB"), Money.from_minor(b, "RUB")
    assert (x + y).to_minor() == a + b
    assert (x - y).to_minor() == a - b
    assert (x < y) == (a < b)
