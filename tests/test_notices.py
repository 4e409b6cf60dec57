"""Notices in the account's language: exact texts, CLDR plurals, babel money and dates, refusals.

The oracles here are written independently of babel: Russian plural forms from the grammar rule, money and
dates from Python's own formatting with the CLDR separators spelled out.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from cabinet_core import Money
from cabinet_core.backup_policy import BackupWindow
from cabinet_core.errors import CabinetError, InvalidInput, InvalidType, NaiveDatetime
from cabinet_core.notices import (
    NoticeText,
    backup_does_not_fit,
    invoice_issued,
    mail_quota_warning,
    payment_received,
    term_ending,
)

from strategies.foundation import STEADY_ZONES, instants

NB = "\xa0"  # CLDR puts a no-break space in Russian groups, before «₽» and «%»
PAID_UNTIL = datetime(2027, 2, 25, 6, 0, tzinfo=UTC)  # 09:00 in Moscow
RU_MONTHS = ("января", "февраля", "марта", "апреля", "мая", "июня")
RU_MONTHS += ("июля", "августа", "сентября", "октября", "ноября", "декабря")
EN_MONTHS = ("January", "February", "March", "April", "May", "June")
EN_MONTHS += ("July", "August", "September", "October", "November", "December")
CYRILLIC = re.compile(r"[А-Яа-яЁё]")


def ru_form(n: int, one: str, few: str, many: str) -> str:
    """The Russian plural rule, written out: 1, 21, 101 → one; 2-4, 22-24 → few; the rest → many."""
    if n % 10 == 1 and n % 100 != 11:
        return one
    if n % 10 in (2, 3, 4) and n % 100 not in (12, 13, 14):
        return few
    return many


def ru_int(n: int) -> str:
    return f"{n:,}".replace(",", NB)


def ru_rub(minor: int) -> str:
    return f"{ru_int(minor // 100)},{minor % 100:02d}{NB}₽"


def en_rub(minor: int) -> str:
    return f"RUB{NB}{minor // 100:,}.{minor % 100:02d}"


# -- each kind, exactly ------------------------------------------------------------------------------------


def test_invoice_issued_ru_and_en() -> None:
    """The invoice notice names the number, the total in CLDR format, and the months of which tariff."""
    args: dict[str, Any] = {
        "number": 1,
        "total": Money("5671.50", "RUB"),
        "months": 3,
        "tariff_title": "Бизнес",
    }
    assert invoice_issued(**args) == invoice_issued(**args, locale="ru")
    assert invoice_issued(**args, locale="ru") == NoticeText(
        f"Счёт № 1 на 5{NB}671,50{NB}₽",
        f"Выставлен счёт № 1 на 5{NB}671,50{NB}₽: 3 месяца по тарифу «Бизнес». "
        "Оплатите его банковским переводом или онлайн в личном кабинете.",
    )
    assert invoice_issued(**args, locale="en") == NoticeText(
        f"Invoice No. 1 for RUB{NB}5,671.50",
        f"Invoice No. 1 for RUB{NB}5,671.50 has been issued: 3 months of the «Бизнес» tariff. "
        "Pay it by bank transfer or online in your personal account.",
    )


def test_invoice_paid_by_bonus_says_so() -> None:
    """An invoice covered by bonus credit (total zero) is not asked to be paid; its number is not grouped."""
    args: dict[str, Any] = {"number": 12345, "total": Money("0", "RUB"), "months": 1, "tariff_title": "Старт"}
    assert invoice_issued(**args, locale="ru") == NoticeText(
        f"Счёт № 12345 на 0,00{NB}₽",
        f"Выставлен счёт № 12345 на 0,00{NB}₽: 1 месяц по тарифу «Старт». "
        "Он полностью оплачен бонусами, срок уже продлён.",
    )
    assert invoice_issued(**args, locale="en").body == (
        f"Invoice No. 12345 for RUB{NB}0.00 has been issued: 1 month of the «Старт» tariff. "
        "It is paid in full with bonus credit; the term is already extended."
    )


def test_payment_received_ru_and_en() -> None:
    """The payment notice gives the amount and the new paid-until in the account's zone («по МСК»)."""
    args: dict[str, Any] = {
        "number": 7,
        "amount": Money("10098", "RUB"),
        "paid_until": PAID_UNTIL,
        "tz": "Europe/Moscow",
    }
    assert payment_received(**args, locale="ru") == NoticeText(
        "Оплата по счёту № 7 получена",
        f"Получена оплата 10{NB}098,00{NB}₽ по счёту № 7. "
        "Срок пользования продлён до 25 февраля 2027, 09:00 по МСК.",
    )
    assert payment_received(**args, locale="en") == NoticeText(
        "Payment for invoice No. 7 received",
        f"Payment of RUB{NB}10,098.00 for invoice No. 7 has been received. "
        "Your paid term now runs until 25 February 2027, 09:00 Moscow time.",
    )


def test_payment_received_in_another_zone_names_it() -> None:
    """An account in another zone reads its own wall time, with the zone's name (babel's)."""
    notice = payment_received(
        number=7, amount=Money("1", "RUB"), paid_until=PAID_UNTIL, tz="Europe/Berlin", locale="en"
    )
    assert notice.body.endswith("until 25 February 2027, 07:00 (Central European Time).")


@pytest.mark.parametrize(
    ("days", "ru", "en"),
    [(1, "1 день", "1 day"), (3, "3 дня", "3 days"), (7, "7 дней", "7 days")],
)
def test_term_ending_ru_and_en(days: int, ru: str, en: str) -> None:
    """The reminder says in how many days (plural by CLDR) and when the term ends."""
    args: dict[str, Any] = {"days": days, "paid_until": PAID_UNTIL, "tz": "Europe/Moscow"}
    assert term_ending(**args, locale="ru") == NoticeText(
        f"Срок пользования заканчивается через {ru}",
        "Оплаченный срок заканчивается 25 февраля 2027, 09:00 по МСК. Продлите его, чтобы не потерять "
        "доступ: выставьте счёт или оплатите онлайн в личном кабинете.",
    )
    assert term_ending(**args, locale="en") == NoticeText(
        f"Your paid term ends in {en}",
        "Your paid term ends on 25 February 2027, 09:00 Moscow time. Extend it to keep access: issue an "
        "invoice or pay online in your personal account.",
    )


def test_mail_quota_warning_ru_and_en() -> None:
    """The 80 % notice gives recipients used of the limit (grouped, plural) and the share."""
    assert mail_quota_warning(used=8000, limit=10_000, locale="ru") == NoticeText(
        f"Использовано 80{NB}% лимита рассылки",
        f"За последние 24 часа использовано 8{NB}000 из 10{NB}000 адресатов (80{NB}%). Когда лимит "
        "исчерпан, новые письма ждут, пока в окне 24 часов не освободится место.",
    )
    assert mail_quota_warning(used=8000, limit=10_000, locale="en") == NoticeText(
        "80% of the mail limit used",
        "In the last 24 hours you have used 8,000 of 10,000 recipients (80%). Once the limit is reached, "
        "new mail waits until room frees up in the 24-hour window.",
    )


@pytest.mark.parametrize(
    ("limit", "ru", "en"),
    [
        (1, "из 1 адресата", "of 1 recipient"),
        (3, "из 3 адресатов", "of 3 recipients"),
        (21, "из 21 адресата", "of 21 recipients"),
        (25, "из 25 адресатов", "of 25 recipients"),
        (10_001, f"из 10{NB}001 адресата", "of 10,001 recipients"),
    ],
)
def test_mail_limit_takes_the_genitive_after_iz(limit: int, ru: str, en: str) -> None:
    """«из N» takes the genitive: «из 1 адресата», «из 21 адресата», «из 25 адресатов»."""
    assert f" {ru} (" in mail_quota_warning(used=limit, limit=limit, locale="ru").body
    assert f" {en} (" in mail_quota_warning(used=limit, limit=limit, locale="en").body


def test_backup_does_not_fit_ru_and_en() -> None:
    """The backup notice gives the estimate and the window's length in hours and minutes, rounded up."""
    window = BackupWindow(time(1, 0), time(3, 0))
    estimate = timedelta(hours=5, minutes=33, seconds=1)
    assert backup_does_not_fit(estimate=estimate, window=window, locale="ru") == NoticeText(
        "Бэкап не помещается в окно 01:00–03:00 по МСК",
        "Оценка длительности бэкапа — 5 часов 34 минуты, длина окна 01:00–03:00 по МСК — 2 часа. "
        "Выберите в личном кабинете более длинное окно: иначе бэкап выйдет за окно, а пока он идёт, "
        "аккаунт недоступен.",
    )
    assert backup_does_not_fit(estimate=estimate, window=window, locale="en") == NoticeText(
        "The backup does not fit the window 01:00–03:00 Moscow time",
        "The backup is estimated to take 5 hours 34 minutes, but the window 01:00–03:00 Moscow time "
        "lasts 2 hours. Choose a longer window in your personal account: otherwise the backup runs past "
        "the window, and the account is unavailable while it runs.",
    )


@pytest.mark.parametrize(
    ("estimate", "ru", "en"),
    [
        (timedelta(minutes=1), "1 минута", "1 minute"),
        (timedelta(seconds=1), "1 минута", "1 minute"),
        (timedelta(hours=1, minutes=1), "1 час 1 минута", "1 hour 1 minute"),
        (timedelta(hours=2, minutes=22), "2 часа 22 минуты", "2 hours 22 minutes"),
        (timedelta(hours=21), "21 час", "21 hours"),
        (timedelta(0), "0 минут", "0 minutes"),
    ],
)
def test_backup_durations(estimate: timedelta, ru: str, en: str) -> None:
    """Durations are hours and minutes in their plural forms, never understated."""
    window = BackupWindow(time(23, 30), time(0, 0))
    assert (
        f"бэкапа — {ru}, длина окна 23:30–00:00 по МСК — 30 минут."
        in backup_does_not_fit(estimate=estimate, window=window, locale="ru").body
    )
    assert (
        f"take {en}, but the window 23:30–00:00 Moscow time lasts 30 minutes."
        in backup_does_not_fit(estimate=estimate, window=window, locale="en").body
    )


# -- properties --------------------------------------------------------------------------------------------


@given(days=st.integers(1, 10**6))
@example(days=11)
@example(days=12)
@example(days=21)
@example(days=111)
@example(days=1001)
def test_term_plural_follows_the_russian_rule(days: int) -> None:
    """For any number of days the subject uses the form the Russian rule gives, and English one/other."""
    ru = term_ending(days=days, paid_until=PAID_UNTIL, tz="Europe/Moscow", locale="ru").subject
    en = term_ending(days=days, paid_until=PAID_UNTIL, tz="Europe/Moscow", locale="en").subject
    assert ru == f"Срок пользования заканчивается через {ru_int(days)} {ru_form(days, 'день', 'дня', 'дней')}"
    assert en == f"Your paid term ends in {days:,} {'day' if days == 1 else 'days'}"


@given(minor=st.integers(0, 10**13), number=st.integers(1, 10**9), months=st.integers(1, 36))
def test_invoice_money_and_months_through_babel(minor: int, number: int, months: int) -> None:
    """Any total is written as CLDR says («1 234,50 ₽», «RUB 1,234.50»), months in their plural form."""
    total = Money.from_minor(minor, "RUB")
    ru = invoice_issued(number=number, total=total, months=months, tariff_title="Бизнес", locale="ru")
    en = invoice_issued(number=number, total=total, months=months, tariff_title="Бизнес", locale="en")
    month = ru_form(months, "месяц", "месяца", "месяцев")
    assert ru.subject == f"Счёт № {number} на {ru_rub(minor)}"
    assert ru.body.startswith(f"Выставлен счёт № {number} на {ru_rub(minor)}: {months} {month} по тарифу")
    assert en.subject == f"Invoice No. {number} for {en_rub(minor)}"
    assert f": {months} {'month' if months == 1 else 'months'} of the" in en.body


@given(moment=instants, tz=st.sampled_from(STEADY_ZONES))
def test_paid_until_is_the_wall_time_of_the_accounts_zone(moment: datetime, tz: str) -> None:
    """The paid-until date is the account's local date and time; Moscow is named «по МСК»."""
    local = moment.astimezone(ZoneInfo(tz))
    args: dict[str, Any] = {"number": 1, "amount": Money("1", "RUB"), "paid_until": moment, "tz": tz}
    ru = payment_received(**args, locale="ru").body
    en = payment_received(**args, locale="en").body
    ru_date = f"до {local.day} {RU_MONTHS[local.month - 1]} {local.year}, {local:%H:%M} "
    en_date = f"until {local.day} {EN_MONTHS[local.month - 1]} {local.year}, {local:%H:%M} "
    assert ru_date in ru and en_date in en
    if tz == "Europe/Moscow":
        assert ru.endswith(f"{ru_date}по МСК.") and en.endswith(f"{en_date}Moscow time.")


@given(data=st.data(), limit=st.integers(1, 10**7))
def test_mail_share_is_rounded_down(data: st.DataObject, limit: int) -> None:
    """The share shown is used / limit rounded down to a whole percent: at 80 % it never says less."""
    used = data.draw(st.integers(math.ceil(limit * 0.8), limit), label="used")
    subject = mail_quota_warning(used=used, limit=limit, locale="en").subject
    shown = int(subject.split("%")[0])
    assert shown == used * 100 // limit
    assert 80 <= shown <= 100 and (shown < 100 or used == limit)


@given(estimate=st.timedeltas(timedelta(0), timedelta(days=2)))
def test_backup_estimate_reads_back_to_minutes_rounded_up(estimate: timedelta) -> None:
    """The estimate in words adds up to the estimate in whole minutes, rounded up."""
    body = backup_does_not_fit(
        estimate=estimate, window=BackupWindow(time(1, 0), time(3, 0)), locale="en"
    ).body
    words = body.split("take ", 1)[1].split(", but", 1)[0]
    found = {unit.rstrip("s"): int(n) for n, unit in re.findall(r"(\d+) (hours?|minutes?)", words)}
    assert found.get("hour", 0) * 60 + found.get("minute", 0) == math.ceil(estimate / timedelta(minutes=1))


@given(title=st.text(min_size=1, max_size=200).filter(str.strip))
@example(title="{total} {0} {")
def test_any_one_line_title_is_kept_verbatim(title: str) -> None:
    """A tariff title is printed as it is (braces too); one with a control or line break is refused."""
    # Cc is U+0000-001F and U+007F-009F; the line and paragraph separators are U+2028 and U+2029
    one_line = not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F or c in "\u2028\u2029" for c in title)
    if one_line:
        notice = invoice_issued(number=1, total=Money("1", "RUB"), months=1, tariff_title=title, locale="en")
        assert f"of the «{title}» tariff." in notice.body
        assert len(notice.body.splitlines()) == 1
    else:
        with pytest.raises(InvalidInput, match="tariff_title"):
            invoice_issued(number=1, total=Money("1", "RUB"), months=1, tariff_title=title, locale="en")


@given(locale=st.sampled_from(["ru", "en"]), days=st.integers(1, 400))
def test_english_has_no_cyrillic_and_russian_has(locale: str, days: int) -> None:
    """An English notice has no Russian word in it, a Russian one is in Russian."""
    notices = [
        term_ending(days=days, paid_until=PAID_UNTIL, tz="Europe/Moscow", locale=locale),
        payment_received(
            number=days, amount=Money("1", "RUB"), paid_until=PAID_UNTIL, tz="Europe/Moscow", locale=locale
        ),
        mail_quota_warning(used=days, limit=400, locale=locale),
        backup_does_not_fit(
            estimate=timedelta(minutes=days), window=BackupWindow(time(1), time(2)), locale=locale
        ),
    ]
    for notice in notices:
        for text in (notice.subject, notice.body):
            assert bool(CYRILLIC.search(text)) is (locale == "ru"), text


# -- refusals ----------------------------------------------------------------------------------------------

NAIVE = datetime(2027, 2, 25, 9, 0)
GOOD: dict[str, Any] = {
    "invoice": (invoice_issued, {"number": 1, "total": Money("1", "RUB"), "months": 1, "tariff_title": "T"}),
    "payment": (
        payment_received,
        {"number": 1, "amount": Money("1", "RUB"), "paid_until": PAID_UNTIL, "tz": "Europe/Moscow"},
    ),
    "term": (term_ending, {"days": 3, "paid_until": PAID_UNTIL, "tz": "Europe/Moscow"}),
    "mail": (mail_quota_warning, {"used": 8, "limit": 10}),
    "backup": (
        backup_does_not_fit,
        {"estimate": timedelta(hours=3), "window": BackupWindow(time(1), time(3))},
    ),
}
BAD = [
    ("invoice", "number", 0, InvalidInput),
    ("invoice", "number", True, InvalidType),
    ("invoice", "number", "1", InvalidType),
    ("invoice", "total", "1.00", InvalidType),
    ("invoice", "months", 0, InvalidInput),
    ("invoice", "months", 1.0, InvalidType),
    ("invoice", "tariff_title", "", InvalidInput),
    ("invoice", "tariff_title", "Бизнес\nBcc: evil@example.com", InvalidInput),
    ("invoice", "tariff_title", "x" * 201, InvalidInput),
    ("invoice", "tariff_title", None, InvalidType),
    ("payment", "amount", 1, InvalidType),
    ("payment", "paid_until", NAIVE, NaiveDatetime),
    ("payment", "paid_until", "2027-02-25", InvalidType),
    ("payment", "tz", "Mars/Olympus", InvalidInput),
    ("payment", "tz", 3, InvalidType),
    ("term", "days", 0, InvalidInput),
    ("term", "days", None, InvalidType),
    ("term", "paid_until", NAIVE, NaiveDatetime),
    ("mail", "used", -1, InvalidInput),
    ("mail", "limit", 0, InvalidInput),
    ("mail", "limit", "10", InvalidType),
    ("backup", "estimate", timedelta(seconds=-1), InvalidInput),
    ("backup", "estimate", 60, InvalidType),
    ("backup", "window", "01:00-03:00", InvalidType),
]


@pytest.mark.parametrize(("kind", "field", "value", "error"), BAD)
def test_bad_input_is_refused_naming_it(kind: str, field: str, value: object, error: type) -> None:
    """Each notice refuses a wrong type or value with the fitting CabinetError, naming the field."""
    render, good = GOOD[kind]
    assert isinstance(render(**good), NoticeText)
    with pytest.raises(error, match=field if error is not NaiveDatetime else "paid_until") as info:
        render(**{**good, field: value})
    assert isinstance(info.value, CabinetError)


@pytest.mark.parametrize("kind", sorted(GOOD))
@pytest.mark.parametrize(
    ("locale", "error"), [("de", InvalidInput), ("RU", InvalidInput), (None, InvalidType)]
)
def test_unknown_locale_is_refused(kind: str, locale: object, error: type) -> None:
    """Only "ru" and "en" are rendered; anything else says which are."""
    render, good = GOOD[kind]
    with pytest.raises(error, match="ru, en"):
        render(**good, locale=locale)
