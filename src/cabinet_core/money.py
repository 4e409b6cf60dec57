"""Exact money: a Decimal amount and an ISO 4217 currency.

Rules (DESIGN.md "Money"): floats are refused; arithmetic only within one currency; the number of minor
units comes from CLDR (through babel's data, read once per currency and cached); rounding is always an
explicit argument; :meth:`Money.allocate` splits an amount into parts that add up to it exactly.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache, total_ordering
from typing import Final

import attrs

from .errors import CurrencyMismatch, InvalidInput, InvalidType, UnknownCode

__all__ = ["ROUND_HALF_UP", "Money", "minor_units"]

_CODE = re.compile(r"[A-Z]{3}")
_MAX_DIGITS: Final = 30  # amounts beyond 10**30 are nonsense in a billing system and slow Decimal math


@lru_cache(maxsize=512)
def _cldr_digits(code: str) -> int | None:
    # babel's CLDR data is the source of truth for currency precision; imported lazily (no import-time work).
    from babel.core import get_global

    if code not in get_global("all_currencies"):
        return None
    fractions = get_global("currency_fractions")
    return int(fractions.get(code, fractions["DEFAULT"])[0])


def minor_units(currency: str) -> int:
    """Digits after the decimal point for ``currency`` (RUB: 2, JPY: 0, KWD: 3), from CLDR."""
    digits = _cldr_digits(currency)
    if digits is None:
        raise UnknownCode(f"currency {currency!r} is not an ISO 4217 code known to CLDR; use e.g. 'RUB'")
    return digits


def _to_decimal(amount: object) -> Decimal:
    if isinstance(amount, bool | float):
        raise InvalidType(
            f"amount must be str, int or Decimal, not {type(amount).__name__} {amount!r}: "
            "floats cannot hold money exactly; write Money('19.90', 'RUB')"
        )
    if isinstance(amount, Decimal):
        value = amount
    elif isinstance(amount, int):
        value = Decimal(amount)
    elif isinstance(amount, str):
        try:
            value = Decimal(amount.strip().replace("_", ""))
        except InvalidOperation:
            raise InvalidInput(f"amount {amount!r} is not a decimal number; write e.g. '1990.00'") from None
    else:
        raise InvalidType(f"amount must be str, int or Decimal, not {type(amount).__name__}")
    if not value.is_finite():
        raise InvalidInput(f"amount {amount!r} is not a finite number")
    if value.adjusted() >= _MAX_DIGITS:
        raise InvalidInput(f"amount {amount!r} is too large (at most {_MAX_DIGITS} digits before the point)")
    return value


def _check_currency(currency: object) -> str:
    if not isinstance(currency, str):
        raise InvalidType(f"currency must be an ISO 4217 code such as 'RUB', got {currency!r}")
    if not _CODE.fullmatch(currency):
        raise UnknownCode(
            f"currency {currency!r} is not an ISO 4217 code (three capital letters, e.g. 'RUB')"
        )
    minor_units(currency)
    return currency


@total_ordering
@attrs.frozen(eq=False, repr=False, init=False)
class Money:
    """An exact amount of one currency. ``Money("1990.00", "RUB")``.

    >>> Money("10", "RUB").allocate([1, 1, 1])
    (Money('3.34', 'RUB'), Money('3.33', 'RUB'), Money('3.33', 'RUB'))
    """

    amount: Decimal
    currency: str

    def __init__(self, amount: str | int | Decimal, currency: str) -> None:
        cur = _check_currency(currency)
        object.__setattr__(self, "amount", _to_decimal(amount))
        object.__setattr__(self, "currency", cur)

    # -- constructors ---------------------------------------------------------------------------------
    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    @classmethod
    def from_minor(cls, units: int, currency: str) -> Money:
        """From an integer count of minor units (kopecks): ``Money.from_minor(199000, "RUB")``."""
        if not isinstance(units, int) or isinstance(units, bool):
            raise InvalidType(f"minor units must be an int, got {units!r}")
        return cls(Decimal(units).scaleb(-minor_units(currency)), currency)

    # -- views ----------------------------------------------------------------------------------------
    @property
    def minor_units(self) -> int:
        return minor_units(self.currency)

    def to_minor(self) -> int:
        """The amount in minor units; refuses an amount that is not a whole number of them."""
        scaled = self.amount.scaleb(self.minor_units)
        if scaled != scaled.to_integral_value():
            raise InvalidInput(
                f"{self} is not a whole number of minor units; round it first with .round(rounding=...)"
            )
        return int(scaled)

    def is_zero(self) -> bool:
        return self.amount == 0

    # -- rounding and arithmetic ----------------------------------------------------------------------
    def round(self, *, rounding: str) -> Money:
        """Round to the currency's minor units with the named ``decimal`` rounding mode."""
        quantum = Decimal(1).scaleb(-self.minor_units)
        return Money(self.amount.quantize(quantum, rounding=rounding), self.currency)

    def _same(self, other: object) -> Money:
        if not isinstance(other, Money):
            raise InvalidType(f"cannot combine Money with {type(other).__name__} {other!r}")
        if other.currency != self.currency:
            raise CurrencyMismatch(
                f"cannot combine {self.currency} with {other.currency}: convert one of them first"
            )
        return other

    def __add__(self, other: Money) -> Money:
        return Money(self.amount + self._same(other).amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        return Money(self.amount - self._same(other).amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __mul__(self, factor: int | Decimal) -> Money:
        if isinstance(factor, bool) or not isinstance(factor, int | Decimal):
            raise InvalidType(f"Money can be multiplied by an int or Decimal, not {factor!r}")
        return Money(self.amount * factor, self.currency)

    __rmul__ = __mul__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        return self.currency == other.currency and self.amount == other.amount

    def __hash__(self) -> int:
        return hash((self.amount, self.currency))

    def __lt__(self, other: Money) -> bool:
        return self.amount < self._same(other).amount

    def __repr__(self) -> str:
        return f"Money({str(self.amount)!r}, {self.currency!r})"

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"

    # -- allocation -----------------------------------------------------------------------------------
    def allocate(self, ratios: Sequence[int | Decimal]) -> tuple[Money, ...]:
        """Split into parts proportional to ``ratios`` that add up to ``self`` exactly.

        Each part is rounded down to minor units; the minor units left over go one each to the parts with
        the largest remainders (ties: earlier parts first). The amount must be a whole number of minor units.
        """
        if not ratios:
            raise InvalidInput("allocate needs at least one ratio")
        weights: list[Decimal] = []
        for r in ratios:
            if isinstance(r, bool) or not isinstance(r, int | Decimal):
                raise InvalidType(f"ratios must be int or Decimal, got {r!r}")
            if r < 0:
                raise InvalidInput(f"ratios must not be negative, got {r}")
            weights.append(Decimal(r))
        total_weight = sum(weights, Decimal(0))
        if total_weight == 0:
            raise InvalidInput("ratios must not all be zero")
        total = self.to_minor()
        sign = -1 if total < 0 else 1
        magnitude = abs(total)
        shares = [Decimal(magnitude) * w / total_weight for w in weights]
        floors = [int(s.to_integral_value(rounding=ROUND_DOWN)) for s in shares]
        left = magnitude - sum(floors)
        order = sorted(range(len(shares)), key=lambda i: (-(shares[i] - floors[i]), i))
        for i in order[:left]:
            floors[i] += 1
        return tuple(Money.from_minor(sign * f, self.currency) for f in floors)
