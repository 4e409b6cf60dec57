"""The page renderer: babel money, dates in the account's zone, plural forms, Ru mark, bars."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import attrs
import pytest

from cabinet_core import InvalidInput, Money
from cabinet_core.overview import (
    BackupView,
    ContactsView,
    DomainView,
    LeaseStatus,
    ManagerView,
    Overview,
    ReferralView,
    UsageView,
    VersionView,
)
from cabinet_core.page import format_money, plural, render_page

MB = 1_048_576

OV = Overview(
    at=datetime(2026, 11, 25, 9, 0, tzinfo=UTC),
    account_id="acc-1",
    name="acme",
    tz="Europe/Moscow",
    configuration_code="trade",
    configuration_title="Управление торговлей",
    tariff_code="business",
    tariff_title="Бизнес",
    ru_mark=True,
    monthly_price=Money("1990", "RUB"),
    paid_until=datetime(2026, 11, 30, 12, 0, tzinfo=UTC),
    days_left=5,
    status=LeaseStatus.ENDING_SOON,
    users=UsageView(5, 10),
    disk_bytes=UsageView(1234 * MB, 2000 * MB),
    mail_24h=UsageView(3200, 10_000),
    load_factor=Decimal("0.85"),
    load_level="normal",
    contacts=ContactsView("Иван Петров", "ivan@acme.ru", "+79161234567", "8 (916) 123-45-67", "email"),
    manager=ManagerView("Анна", "anna@cabinet.example", "8 (495) 123-45-67", "пн–пт 9–18"),
    backup=BackupView(
        "01:00",
        "03:00",
        "Europe/Moscow",
        datetime(2026, 11, 25, 22, 0, tzinfo=UTC),
        datetime(2026, 11, 26, 0, 0, tzinfo=UTC),
        12,
        True,
        True,
        True,
        False,
        900 * MB,
    ),
    forwarding=("boss@acme.ru", "it@acme.ru"),
    domains=DomainView("acme.cabinet.example", "cabinet.example", None, "none"),
    referral=ReferralView("ABCD1234", "https://cabinet.example/r/ABCD1234", Money("199", "RUB"), 2),
    version=VersionView("3.0.1", 15, "3.0.2", 17, True),
)


def test_russian_page_lines() -> None:
    """The Russian page shows money, Moscow time, plurals, the Ru mark and update availability."""
    page = render_page(OV, "ru")
    assert "Тарифный план: Бизнес [Ru] — 1\xa0990,00\xa0₽ в месяц" in page
    assert "30 ноября 2026, 15:00 по МСК (скоро заканчивается, осталось 5 дней)" in page
    assert "Создано пользователей: 5 пользователей из 10" in page
    assert "Использовано места, Мб: 1\xa0234 из 2\xa0000" in page
    assert "Коэффициент нагрузки: 0,85 (норма)" in page
    assert "Период создания бэкапа (по МСК): 01:00–03:00; следующий: 26 ноября 2026, 01:00 по МСК" in page
    assert "только по FTP" in page
    assert "Пересылка входящих: boss@acme.ru, it@acme.ru" in page
    assert "доступно обновление: 3.0.2, ревизия 17" in page


def test_english_page_lines() -> None:
    """The English page uses English words and number formats."""
    page = render_page(OV, "en")
    assert "Users created: 5 users of 10" in page
    assert "Paid until: 30 November 2026, 15:00 Moscow time (ending soon, 5 days left)" in page
    assert "Load factor: 0.85 (normal)" in page


@pytest.mark.parametrize(
    ("n", "ru", "en"),
    [
        (1, "1 пользователь", "1 user"),
        (2, "2 пользователя", "2 users"),
        (5, "5 пользователей", "5 users"),
        (11, "11 пользователей", "11 users"),
        (21, "21 пользователь", "21 users"),
        (0, "0 пользователей", "0 users"),
    ],
)
def test_plural_forms(n: int, ru: str, en: str) -> None:
    """Plural forms follow CLDR rules for Russian and English."""
    assert plural(n, "user", "ru") == ru
    assert plural(n, "user", "en") == en


def test_money_format() -> None:
    """Money is formatted by babel: «1 990,00 ₽» in Russian."""
    assert format_money(Money("1990", "RUB"), "ru") == "1\xa0990,00\xa0₽"


def test_unknown_locale_refused() -> None:
    """Only ru and en are supported; anything else is a clear error."""
    with pytest.raises(InvalidInput, match="ru, en"):
        render_page(OV, "de")


def test_free_and_expired_status() -> None:
    """A free tariff shows no end date; an expired one shows no days left."""
    free = attrs.evolve(OV, paid_until=None, days_left=None, status=LeaseStatus.FREE)
    assert "бессрочно (бесплатный тариф)" in render_page(free)
    expired = attrs.evolve(OV, days_left=0, status=LeaseStatus.EXPIRED)
    assert "(срок истёк)" in render_page(expired)


def test_json_form_is_plain() -> None:
    """to_dict gives JSON-able values: ISO instants, money as amount and currency."""
    import json

    d = json.loads(json.dumps(OV.to_dict()))
    assert d["monthly_price"] == {"amount": "1990.00", "currency": "RUB"}
    assert d["paid_until"] == "2026-11-30T12:00:00+00:00"
    assert d["users"] == {"used": 5, "limit": 10}
    assert d["status"] == "ending_soon"


@pytest.mark.parametrize(
    ("limit", "ru", "en"),
    [
        (10_000, f"из 10{chr(0xA0)}000 адресатов", "of 10,000 recipients"),
        (10_001, f"из 10{chr(0xA0)}001 адресата", "of 10,001 recipients"),
        (1, "из 1 адресата", "of 1 recipient"),
        (22, "из 22 адресатов", "of 22 recipients"),
    ],
)
def test_mail_limit_after_iz_is_genitive(limit: int, ru: str, en: str) -> None:
    """«из N адресатов» takes the genitive: «из 1 адресата», «из 10 001 адресата», «из 22 адресатов»."""
    ov = attrs.evolve(OV, mail_24h=UsageView(0, limit))
    assert f"Адресатов за 24 часа: 0 {ru}  [" in render_page(ov, "ru")
    assert f"Mail recipients in 24 hours: 0 {en}  [" in render_page(ov, "en")
