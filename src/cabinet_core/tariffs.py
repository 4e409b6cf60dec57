"""Tariffs, the provider's catalog, and the paid term (:class:`Lease`).

Rules held here (DESIGN.md "Tariffs and the paid term"):

* extension by n months starts at ``max(paid_until, at)`` and adds calendar months on the account's zone,
  keeping the billing anchor day (Jan 31 -> Feb 28 -> Mar 31);
* a tariff change rescales the remaining term by ``old_price / new_price``, floored to whole seconds, so
  value is never created; a change below current usage is refused listing every broken limit;
* a free tariff never expires; moving from free to paid starts with no paid time.
"""

from __future__ import annotations

import re
from calendar import monthrange
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import attrs
from dateutil.relativedelta import relativedelta

from ._checks import count_field
from ._time import DEFAULT_TZ, require_aware, utc_field, zone
from ._toml import parse_toml, read_text
from ._units import MB
from .errors import (
    CatalogError,
    CurrencyMismatch,
    DowngradeRefused,
    InvalidInput,
    InvalidType,
    UnknownCode,
)
from .money import Money

__all__ = [
    "Configuration",
    "Discount",
    "Lease",
    "Limits",
    "Quote",
    "Tariff",
    "TariffCatalog",
    "TariffChange",
    "TariffNotOffered",
]


class TariffNotOffered(InvalidInput):
    """The tariff exists (accounts may be on it) but is retired: it cannot be chosen any more."""


_CODE = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
_REGION = re.compile(r"[a-z]{2}")
_FEATURE = re.compile(r"[a-z][a-z0-9_]{0,62}")
_MAX_MONTHS = 120  # ten years ahead is the most a single payment may buy


def _check_code(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise InvalidType(f"{what} must be a string, got {value!r}")
    if not _CODE.fullmatch(value):
        raise InvalidInput(
            f"{what} {value!r} is not a valid code: use 1-63 lowercase letters, digits, '_' or '-'"
        )
    return value


def _positive_decimal(instance: object, attribute: attrs.Attribute[Decimal], value: object) -> None:
    if not isinstance(value, Decimal) or not value.is_finite() or value <= 0:
        raise InvalidInput(f"{attribute.name} must be a positive number, got {value!r}")


def _to_decimal(value: object) -> object:
    if isinstance(value, int | str) and not isinstance(value, bool):
        try:
            return Decimal(value)
        except ArithmeticError:
            return value
    return value


def _check_months(months: object) -> int:
    if isinstance(months, bool) or not isinstance(months, int):
        raise InvalidType(f"months must be a whole number, got {months!r}")
    if not 1 <= months <= _MAX_MONTHS:
        raise InvalidInput(f"months must be between 1 and {_MAX_MONTHS}, got {months}")
    return months


def _utc_paid_until(value: object) -> datetime:
    return utc_field("paid_until")(value)


@attrs.frozen
class Limits:
    """What a tariff allows: users, disk in MB (1 MB = 1,048,576 bytes), mail recipients in any 24 hours,
    and the load norm (the resource use per hour, in the host's units, that counts as load factor 1.0)."""

    users: int = attrs.field(validator=count_field)
    disk_mb: int = attrs.field(validator=count_field)
    mail_per_24h: int = attrs.field(validator=count_field)
    load_norm: Decimal = attrs.field(default=Decimal(1), converter=_to_decimal, validator=_positive_decimal)

    @property
    def disk_bytes(self) -> int:
        return self.disk_mb * MB


def _check_features(value: object) -> frozenset[str]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise InvalidType(f"features must be a set of names, got {value!r}")
    out = frozenset(value)
    for f in out:
        if not isinstance(f, str) or not _FEATURE.fullmatch(f):
            raise InvalidInput(f"feature {f!r} is not a valid name: use lowercase letters, digits and '_'")
    return out


def _check_title(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    if not isinstance(value, str):
        raise InvalidType(f"{attribute.name} must be a string, got {value!r}")
    # isprintable() refuses control characters, DEL, NEL and the Unicode line/paragraph separators,
    # which would break a notice's subject line or a terminal
    if not value.strip() or len(value) > 200 or not value.isprintable():
        raise InvalidInput(f"{attribute.name} {value!r} must be 1-200 printable characters")


def _tariff_code(value: object) -> str:
    return _check_code(value, "tariff code")


def _configuration_code(value: object) -> str:
    return _check_code(value, "configuration code")


@attrs.frozen
class Tariff:
    """A tariff plan: code, title, monthly price, limits, hosting region (``ru`` shows «Ru») and features."""

    code: str = attrs.field(converter=_tariff_code)
    title: str = attrs.field(validator=_check_title)
    monthly_price: Money = attrs.field()
    limits: Limits = attrs.field()
    region: str = attrs.field(default="ru")
    features: frozenset[str] = attrs.field(default=frozenset(), converter=_check_features)
    # a retired tariff is no longer sold: accounts on it keep it (and can extend it), nobody moves to it
    retired: bool = attrs.field(default=False)

    @retired.validator
    def _retired(self, attribute: attrs.Attribute[bool], value: object) -> None:
        if not isinstance(value, bool):
            raise InvalidType(f"retired must be true or false, got {value!r}")

    @monthly_price.validator
    def _price(self, attribute: attrs.Attribute[Money], value: object) -> None:
        if not isinstance(value, Money):
            raise InvalidType(f"monthly_price must be Money, got {value!r}")
        if value.amount < 0:
            raise InvalidInput(f"monthly_price must not be negative, got {value}")

    @limits.validator
    def _limits(self, attribute: attrs.Attribute[Limits], value: object) -> None:
        if not isinstance(value, Limits):
            raise InvalidType(f"limits must be Limits, got {value!r}")

    @region.validator
    def _region(self, attribute: attrs.Attribute[str], value: object) -> None:
        if not isinstance(value, str) or not _REGION.fullmatch(value):
            raise InvalidInput(f"region {value!r} must be a two-letter lowercase code such as 'ru'")

    @property
    def is_free(self) -> bool:
        return self.monthly_price.is_zero()

    @property
    def ru_mark(self) -> bool:
        """Whether the page shows the «Ru» mark: the tariff is hosted in the Russian Federation."""
        return self.region == "ru"

    def has(self, feature: str) -> bool:
        return feature in self.features


@attrs.frozen
class Configuration:
    """A named edition of the application (its feature set), shown as «Конфигурация» on the page."""

    code: str = attrs.field(converter=_configuration_code)
    title: str = attrs.field(validator=_check_title)
    features: frozenset[str] = attrs.field(default=frozenset(), converter=_check_features)


@attrs.frozen
class Discount:
    """A prepayment discount: paying for at least ``months`` takes ``percent`` off the list price."""

    months: int
    percent: Decimal


@attrs.frozen
class Quote:
    """The price of ``months`` of a tariff: list price, the prepayment discount, and the total to pay."""

    tariff: Tariff
    months: int
    list_price: Money
    discount_percent: Decimal
    discount: Money
    total: Money


# -- the catalog ------------------------------------------------------------------------------------------

_TOP_KEYS = frozenset({"currency", "regions", "discounts", "configurations", "tariffs"})
_TARIFF_KEYS = frozenset(
    {
        "code",
        "title",
        "monthly_price",
        "region",
        "features",
        "users",
        "disk_mb",
        "mail_per_24h",
        "load_norm",
        "retired",
    }
)
_TARIFF_REQUIRED = frozenset({"code", "title", "monthly_price", "users", "disk_mb", "mail_per_24h"})
_CONFIG_KEYS = frozenset({"code", "title", "features"})
_DISCOUNT_KEYS = frozenset({"months", "percent"})


def _table_list(doc: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    value = doc.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise CatalogError(f"{key}: must be an array of tables ([[{key}]])")
    return value


def _check_keys(
    where: str, table: Mapping[str, Any], allowed: frozenset[str], required: frozenset[str]
) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise CatalogError(f"{where}: unknown key {unknown[0]!r}; allowed keys: {', '.join(sorted(allowed))}")
    missing = sorted(required - set(table))
    if missing:
        raise CatalogError(f"{where}: missing required key {missing[0]!r}")


def _field(where: str, build: Any, *args: Any) -> Any:
    try:
        return build(*args)
    except (InvalidInput, InvalidType, UnknownCode, TypeError, ValueError) as exc:
        raise CatalogError(f"{where}: {exc}") from exc


def _amount(where: str, value: object) -> str | int:
    if isinstance(value, float):
        raise CatalogError(
            f"{where}: write prices as strings or integers ('1990.00'), not floats ({value!r})"
        )
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise CatalogError(f"{where}: must be a string or integer amount, got {value!r}")
    return value


@attrs.frozen
class TariffCatalog:
    """The provider's tariffs, configurations and prepayment discounts, loaded from a TOML file.

    >>> catalog = TariffCatalog.from_toml('''
    ... currency = "RUB"
    ... [[tariffs]]
    ... code = "start"
    ... title = "Старт"
    ... monthly_price = "990"
    ... users = 3
    ... disk_mb = 1000
    ... mail_per_24h = 1000
    ... ''')
    >>> catalog["start"].monthly_price
    Money('990', 'RUB')
    """

    currency: str
    tariffs: tuple[Tariff, ...]
    configurations: tuple[Configuration, ...] = ()
    discounts: tuple[Discount, ...] = ()
    regions: tuple[str, ...] = ("ru",)

    def __attrs_post_init__(self) -> None:
        seen: set[str] = set()
        if self.tariffs and not any(not t.retired for t in self.tariffs):
            raise CatalogError("tariffs: every tariff is retired; the catalog must offer at least one")
        for t in self.tariffs:
            if t.code in seen:
                raise CatalogError(f"tariffs: duplicate code {t.code!r}; each tariff needs its own code")
            seen.add(t.code)
            if t.monthly_price.currency != self.currency:
                raise CatalogError(
                    f"tariffs[{t.code}].monthly_price: currency {t.monthly_price.currency} differs from "
                    f"the catalog currency {self.currency}; one catalog holds one currency"
                )
            if t.region not in self.regions:
                raise CatalogError(
                    f"tariffs[{t.code}].region: {t.region!r} is not one of the catalog's regions "
                    f"({', '.join(self.regions)})"
                )
        configs: set[str] = set()
        for c in self.configurations:
            if c.code in configs:
                raise CatalogError(f"configurations: duplicate code {c.code!r}")
            configs.add(c.code)
        months = [d.months for d in self.discounts]
        if len(set(months)) != len(months):
            raise CatalogError("discounts: two discounts for the same number of months")

    # -- loading ----------------------------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | Path) -> TariffCatalog:
        """Load a catalog from a TOML file."""
        return cls.from_toml(read_text(path, "tariff catalog"))

    @classmethod
    def from_toml(cls, text: str) -> TariffCatalog:
        """Parse and validate a catalog; errors name the table, the field and the problem."""
        return cls.from_mapping(parse_toml(text, "tariff catalog"))

    @classmethod
    def from_mapping(cls, doc: Mapping[str, Any]) -> TariffCatalog:
        """Build a catalog from already-parsed TOML (a mapping), with the same validation."""
        _check_keys("catalog", doc, _TOP_KEYS, frozenset({"currency", "tariffs"}))
        currency = doc["currency"]
        _field("currency", Money, 0, currency)
        regions = doc.get("regions", ["ru"])
        if not isinstance(regions, list) or not regions:
            raise CatalogError("regions: must be a non-empty array of two-letter codes such as ['ru']")
        for r in regions:
            if not isinstance(r, str) or not _REGION.fullmatch(r):
                raise CatalogError(f"regions: {r!r} is not a two-letter lowercase code such as 'ru'")

        discounts = []
        for i, d in enumerate(_table_list(doc, "discounts")):
            where = f"discounts[{i}]"
            _check_keys(where, d, _DISCOUNT_KEYS, _DISCOUNT_KEYS)
            months = _field(f"{where}.months", _check_months, d["months"])
            pct = _field(f"{where}.percent", Decimal, str(_amount(f"{where}.percent", d["percent"])))
            if not pct.is_finite() or not 0 <= pct < 100:
                raise CatalogError(f"{where}.percent: must be at least 0 and below 100, got {d['percent']!r}")
            discounts.append(Discount(months, pct))

        configurations = []
        for i, c in enumerate(_table_list(doc, "configurations")):
            where = f"configurations[{i}]"
            _check_keys(where, c, _CONFIG_KEYS, frozenset({"code", "title"}))
            configurations.append(
                _field(where, lambda c=c: Configuration(c["code"], c["title"], c.get("features", [])))
            )

        tariffs = []
        raw_tariffs = _table_list(doc, "tariffs")
        if not raw_tariffs:
            raise CatalogError("tariffs: the catalog needs at least one [[tariffs]] table")
        for i, t in enumerate(raw_tariffs):
            where = f"tariffs[{i}]" + (f" ({t['code']!r})" if isinstance(t.get("code"), str) else "")
            _check_keys(where, t, _TARIFF_KEYS, _TARIFF_REQUIRED)
            price = _field(
                f"{where}.monthly_price",
                Money,
                _amount(f"{where}.monthly_price", t["monthly_price"]),
                currency,
            )
            if price.amount < 0:
                raise CatalogError(f"{where}.monthly_price: must not be negative, got {t['monthly_price']!r}")
            limits = _field(
                where,
                lambda t=t: Limits(
                    users=t["users"],
                    disk_mb=t["disk_mb"],
                    mail_per_24h=t["mail_per_24h"],
                    load_norm=t.get("load_norm", "1"),
                ),
            )
            region = t.get("region", regions[0])
            if region not in regions:
                raise CatalogError(
                    f"{where}.region: {region!r} is not one of the catalog's regions ({', '.join(regions)})"
                )
            tariffs.append(
                _field(
                    where,
                    lambda t=t, price=price, limits=limits, region=region: Tariff(
                        code=t["code"],
                        title=t["title"],
                        monthly_price=price,
                        limits=limits,
                        region=region,
                        features=t.get("features", []),
                        retired=t.get("retired", False),
                    ),
                )
            )
        return cls(
            currency=currency,
            tariffs=tuple(tariffs),
            configurations=tuple(configurations),
            discounts=tuple(sorted(discounts, key=lambda d: d.months)),
            regions=tuple(regions),
        )

    # -- lookup -----------------------------------------------------------------------------------------
    def __getitem__(self, code: str) -> Tariff:
        for t in self.tariffs:
            if t.code == code:
                return t
        raise UnknownCode(f"unknown tariff {code!r}; the catalog offers: {', '.join(self.offered_codes())}")

    def __contains__(self, code: object) -> bool:
        return any(t.code == code for t in self.tariffs)

    def __iter__(self) -> Iterator[Tariff]:
        return iter(self.tariffs)

    def __len__(self) -> int:
        return len(self.tariffs)

    def codes(self) -> tuple[str, ...]:
        """Every tariff's code, retired ones included (accounts may still be on them)."""
        return tuple(t.code for t in self.tariffs)

    def offered(self) -> tuple[Tariff, ...]:
        """The tariffs on sale: what a new account or a tariff change may choose."""
        return tuple(t for t in self.tariffs if not t.retired)

    def offered_codes(self) -> tuple[str, ...]:
        return tuple(t.code for t in self.offered())

    def offer(self, code: str) -> Tariff:
        """The tariff ``code`` if it is on sale; a retired one is refused naming what is offered."""
        tariff = self[code]
        if tariff.retired:
            raise TariffNotOffered(
                f"tariff {code!r} is no longer offered; choose one of: {', '.join(self.offered_codes())}"
            )
        return tariff

    def configuration(self, code: str) -> Configuration:
        for c in self.configurations:
            if c.code == code:
                return c
        offered = ", ".join(c.code for c in self.configurations) or "none"
        raise UnknownCode(f"unknown configuration {code!r}; the catalog offers: {offered}")

    def with_feature(self, feature: str) -> tuple[Tariff, ...]:
        """The tariffs on sale that include ``feature`` (to say where an own domain is available)."""
        return tuple(t for t in self.offered() if feature in t.features)

    # -- pricing ----------------------------------------------------------------------------------------
    def discount_percent(self, months: int) -> Decimal:
        """The prepayment discount for paying ``months`` at once: the best one whose threshold is met."""
        _check_months(months)
        best = Decimal(0)
        for d in self.discounts:
            if months >= d.months:
                best = d.percent
        return best

    def quote(self, tariff: Tariff | str, months: int) -> Quote:
        """Price ``months`` of a tariff: list price minus the prepayment discount, rounded half up."""
        t = self[tariff] if isinstance(tariff, str) else tariff
        if not isinstance(t, Tariff):
            raise InvalidType(f"tariff must be a Tariff or a code, got {tariff!r}")
        _check_months(months)
        list_price = (t.monthly_price * months).round(rounding=ROUND_HALF_UP)
        pct = self.discount_percent(months)
        discount = (
            (list_price * (pct / 100)).round(rounding=ROUND_HALF_UP)
            if pct
            else Money.zero(t.monthly_price.currency)
        )
        return Quote(t, months, list_price, pct, discount, list_price - discount)


# -- the paid term ----------------------------------------------------------------------------------------


def _add_months(moment: datetime, months: int, anchor_day: int) -> datetime:
    """``moment`` plus calendar months on its own zone's calendar, landing on the anchor day when the
    month has it and on the month's last day otherwise (Jan 31 -> Feb 28 -> Mar 31)."""
    try:
        shifted = moment + relativedelta(months=months)
    except (OverflowError, ValueError):
        raise InvalidInput("the paid term would end beyond the calendar's range (year 9999)") from None
    day = min(anchor_day, monthrange(shifted.year, shifted.month)[1])
    # A wall time in a DST gap maps to an instant with the offset in force before the gap (fold=0);
    # the Lease stores that instant in UTC.
    return shifted.replace(day=day)


_HORIZON = datetime(9000, 1, 1, tzinfo=UTC)


def _after(start: datetime, seconds: int) -> datetime:
    """``start`` plus whole seconds, refusing a term that would end beyond the year 9000 (which only an
    absurd price ratio can produce)."""
    if seconds >= (_HORIZON - start).total_seconds():
        raise InvalidInput(
            "the paid term would end after the year 9000; the price ratio of these tariffs is unreasonable"
        )
    return start + timedelta(seconds=seconds)


def _floor_seconds(delta: timedelta, numerator: Decimal, denominator: Decimal) -> int:
    """floor(delta x numerator / denominator) in whole seconds, in exact integer arithmetic (Decimal
    division would round to the context's 28 digits first)."""
    micro = delta // timedelta(microseconds=1)
    n1, d1 = numerator.as_integer_ratio()
    n2, d2 = denominator.as_integer_ratio()
    return (micro * n1 * d2) // (d1 * n2 * 1_000_000)


@attrs.frozen
class TariffChange:
    """The result of :meth:`Lease.change_tariff`.

    ``lease`` is the new lease. ``needs_migration`` is true when the new tariff is hosted in another region
    (the account's data must move). ``loses_features`` names features of the old tariff the new one lacks
    (e.g. ``custom_domain``); ``own_domain_deactivated`` says whether the account's own domain was
    actually switched off by the move.
    """

    previous: Lease
    lease: Lease
    at: datetime
    needs_migration: bool
    loses_features: frozenset[str]
    # set by the application when the move switched the account's own domain off (DESIGN: "the
    # tariff-change result says so"); the pure rule cannot know whether there was a domain
    own_domain_deactivated: bool = False

    @property
    def time_delta(self) -> timedelta | None:
        """How far paid-until moved (negative when it came closer); ``None`` when either side is free."""
        if self.previous.tariff.is_free or self.lease.tariff.is_free:
            return None
        return self.lease.paid_until - self.previous.paid_until


def _check_tz(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    zone(value, attribute.name)


def _check_anchor(instance: object, attribute: attrs.Attribute[int | None], value: object) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 31:
        raise InvalidInput(f"anchor_day must be a day of the month 1-31 or None, got {value!r}")


@attrs.frozen
class Lease:
    """The paid term of an account on a tariff.

    ``paid_until`` is the instant the paid term ends; ``tz`` is the account's zone, whose calendar counts
    the months; ``anchor_day`` is the billing day of the month the term keeps (None: ``paid_until``'s own
    day). A free tariff never expires, whatever ``paid_until`` says.
    """

    tariff: Tariff = attrs.field()
    # Stored in UTC: aware datetimes sharing one tzinfo compare by wall time in Python, not as instants.
    paid_until: datetime = attrs.field(converter=_utc_paid_until)
    tz: str = attrs.field(default=DEFAULT_TZ, validator=_check_tz)
    anchor_day: int | None = attrs.field(default=None, validator=_check_anchor)

    @tariff.validator
    def _tariff(self, attribute: attrs.Attribute[Tariff], value: object) -> None:
        if not isinstance(value, Tariff):
            raise InvalidType(f"tariff must be a Tariff, got {value!r}")

    # -- views ------------------------------------------------------------------------------------------
    @property
    def expires_at(self) -> datetime | None:
        """When the paid term ends, in the account's zone; ``None`` on a free tariff (it never expires)."""
        return None if self.tariff.is_free else self.paid_until.astimezone(zone(self.tz))

    def is_active(self, at: datetime) -> bool:
        require_aware(at)
        return self.tariff.is_free or at < self.paid_until

    def remaining(self, at: datetime) -> timedelta:
        """Paid time left at ``at`` (zero once expired; ``timedelta.max`` on a free tariff)."""
        require_aware(at)
        if self.tariff.is_free:
            return timedelta.max
        return max(self.paid_until - at, timedelta(0))

    # -- extension --------------------------------------------------------------------------------------
    def extend(self, months: int, at: datetime) -> Lease:
        """Buy ``months`` more: from ``max(paid_until, at)``, keeping the billing anchor day.

        >>> from datetime import datetime; from zoneinfo import ZoneInfo
        >>> msk = ZoneInfo("Europe/Moscow")
        >>> t = Tariff("b", "B", Money("1990", "RUB"), Limits(10, 2000, 10_000))
        >>> lease = Lease(t, datetime(2026, 1, 31, 12, tzinfo=msk))
        >>> lease.extend(1, at=datetime(2026, 1, 1, tzinfo=msk)).paid_until.date()
        datetime.date(2026, 2, 28)
        >>> jan = datetime(2026, 1, 1, tzinfo=msk)
        >>> lease.extend(1, at=jan).extend(1, at=jan).paid_until.date()
        datetime.date(2026, 3, 31)
        """
        _check_months(months)
        require_aware(at)
        if self.tariff.is_free:
            raise InvalidInput(
                f"tariff {self.tariff.code!r} is free and never expires; there is nothing to extend"
            )
        tz = zone(self.tz)
        if at > self.paid_until:
            # Paying after expiry does not buy the past: the new term starts now, anchored on today.
            start = at.astimezone(tz)
            anchor = start.day
        else:
            start = self.paid_until.astimezone(tz)
            anchor = self.anchor_day or start.day
        end = _add_months(start, months, anchor)
        return Lease(self.tariff, end, self.tz, anchor)

    def extend_converted(self, months: int, paid_tariff: Tariff, at: datetime) -> Lease:
        """Extend by ``months`` of ``paid_tariff`` while the lease is on another tariff: the paid calendar
        months are converted by the price ratio (floored to seconds), as for a tariff change."""
        if paid_tariff == self.tariff:
            return self.extend(months, at)
        if self.tariff.is_free or paid_tariff.is_free:
            raise InvalidInput("a payment cannot be converted to or from a free tariff")
        _require_same_currency(paid_tariff, self.tariff)
        require_aware(at)
        start = max(self.paid_until, at)
        bought = Lease(paid_tariff, start, self.tz, self.anchor_day if start == self.paid_until else None)
        span = bought.extend(months, start).paid_until - start
        gained = _floor_seconds(span, paid_tariff.monthly_price.amount, self.tariff.monthly_price.amount)
        return Lease(self.tariff, _after(start, gained), self.tz, None)

    # -- tariff change ----------------------------------------------------------------------------------
    def change_tariff(self, other: Tariff, at: datetime, usage: Any = None) -> TariffChange:
        """Move to ``other`` at ``at``, rescaling the remaining paid time by the price ratio.

        ``usage`` (a :class:`cabinet_core.quotas.Usage`), when given, must fit the new limits, or the change
        is refused with :class:`DowngradeRefused` listing every broken limit. Nothing changes on refusal.
        """
        if not isinstance(other, Tariff):
            raise InvalidType(f"the new tariff must be a Tariff, got {other!r}")
        require_aware(at)
        if usage is not None:
            from .quotas import Usage, check_downgrade  # quotas imports Limits from here

            if not isinstance(usage, Usage):
                raise InvalidType(f"usage must be cabinet_core.quotas.Usage, got {usage!r}")
            broken = check_downgrade(usage, other.limits)
            if broken:
                raise DowngradeRefused(
                    f"cannot move to tariff {other.code!r}: current usage exceeds its limits: "
                    + "; ".join(broken)
                    + ". Remove users or data first.",
                    broken=broken,
                )
        old = self.tariff
        if other == old:
            new = self
        elif old.is_free:
            # Moving from free to paid starts with no paid time.
            new = Lease(other, at if not other.is_free else self.paid_until, self.tz, None)
        elif other.is_free:
            new = Lease(other, self.paid_until, self.tz, self.anchor_day)
        else:
            _require_same_currency(old, other)
            if at >= self.paid_until or old.monthly_price == other.monthly_price:
                # After expiry there is no time to convert; at equal prices the term is unchanged.
                new = Lease(other, self.paid_until, self.tz, self.anchor_day)
            else:
                remaining = self.paid_until - at
                scaled = _floor_seconds(remaining, old.monthly_price.amount, other.monthly_price.amount)
                new = Lease(other, _after(at, scaled), self.tz, None)
        return TariffChange(
            previous=self,
            lease=new,
            at=at,
            needs_migration=old.region != other.region,
            loses_features=old.features - other.features,
        )


def _require_same_currency(a: Tariff, b: Tariff) -> None:
    if a.monthly_price.currency != b.monthly_price.currency:
        raise CurrencyMismatch(
            f"tariffs {a.code!r} ({a.monthly_price.currency}) and {b.code!r} ({b.monthly_price.currency}) "
            "are priced in different currencies; a term cannot be converted between them"
        )
