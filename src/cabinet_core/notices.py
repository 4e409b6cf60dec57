"""The notices sent to an account, in its language: Russian (``ru``, the default) or English (``en``).

Each function renders one kind of notice (DESIGN.md "Storage and scale": invoice issued, payment received,
term ending in 7/3/1 days, mail quota at 80 %, backup does not fit) into a subject and a body. This is pure
formatting at the edge: the figures come in as arguments, and babel (through ``_format``, as the page uses
it) writes the money «5 671,50 ₽», the instants in the account's zone «по МСК», the numbers and the plural
forms «через 3 дня».
"""

from __future__ import annotations

import unicodedata
from datetime import datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from typing import Final

import attrs

from ._format import check_locale, clock_range, duration, format_money, number, percent, plural, when
from ._time import require_aware, zone
from .backup_policy import BackupWindow
from .errors import InvalidInput, InvalidType
from .money import Money

__all__ = [
    "NoticeText",
    "backup_does_not_fit",
    "invoice_issued",
    "mail_quota_warning",
    "payment_received",
    "term_ending",
]

_MAX_TITLE = 200
_LINE_BREAKING: Final = frozenset({"Cc", "Zl", "Zp"})  # controls, line and paragraph separators

# (subject, body) per kind; the placeholders are filled with text already formatted for the locale
_TEMPLATES: Final[dict[str, dict[str, tuple[str, str]]]] = {
    "ru": {
        "invoice_issued": (
            "Счёт № {number} на {total}",
            "Выставлен счёт № {number} на {total}: {months} по тарифу «{tariff}». {next}",
        ),
        "payment_received": (
            "Оплата по счёту № {number} получена",
            "Получена оплата {amount} по счёту № {number}. Срок пользования продлён до {paid_until}.",
        ),
        "term_ending": (
            "Срок пользования заканчивается через {days}",
            "Оплаченный срок заканчивается {paid_until}. Продлите его, чтобы не потерять доступ: "
            "выставьте счёт или оплатите онлайн в личном кабинете.",
        ),
        "mail_quota_80": (
            "Использовано {percent} лимита рассылки",
            "За последние 24 часа использовано {used} из {limit} ({percent}). Когда лимит исчерпан, "
            "новые письма ждут, пока в окне 24 часов не освободится место.",
        ),
        "backup_does_not_fit": (
            "Бэкап не помещается в окно {window}",
            "Оценка длительности бэкапа — {estimate}, длина окна {window} — {length}. Выберите в личном "
            "кабинете более длинное окно: иначе бэкап выйдет за окно, а пока он идёт, аккаунт недоступен.",
        ),
    },
    "en": {
        "invoice_issued": (
            "Invoice No. {number} for {total}",
            "Invoice No. {number} for {total} has been issued: {months} of the «{tariff}» tariff. {next}",
        ),
        "payment_received": (
            "Payment for invoice No. {number} received",
            "Payment of {amount} for invoice No. {number} has been received. "
            "Your paid term now runs until {paid_until}.",
        ),
        "term_ending": (
            "Your paid term ends in {days}",
            "Your paid term ends on {paid_until}. Extend it to keep access: issue an invoice or pay online "
            "in your personal account.",
        ),
        "mail_quota_80": (
            "{percent} of the mail limit used",
            "In the last 24 hours you have used {used} of {limit} ({percent}). Once the limit is reached, "
            "new mail waits until room frees up in the 24-hour window.",
        ),
        "backup_does_not_fit": (
            "The backup does not fit the window {window}",
            "The backup is estimated to take {estimate}, but the window {window} lasts {length}. Choose a "
            "longer window in your personal account: otherwise the backup runs past the window, and the "
            "account is unavailable while it runs.",
        ),
    },
}

# what the invoice notice asks next: to pay it, or nothing (bonus credit paid it all)
_INVOICE_NEXT: Final[dict[str, dict[str, str]]] = {
    "ru": {
        "due": "Оплатите его банковским переводом или онлайн в личном кабинете.",
        "paid": "Он полностью оплачен бонусами, срок уже продлён.",
    },
    "en": {
        "due": "Pay it by bank transfer or online in your personal account.",
        "paid": "It is paid in full with bonus credit; the term is already extended.",
    },
}


@attrs.frozen
class NoticeText:
    """A notice rendered for one account: a one-line ``subject`` and a ``body``."""

    subject: str
    body: str


def _render(locale: str, kind: str, **fields: str) -> NoticeText:
    subject, body = _TEMPLATES[locale][kind]
    # str.format reads only the template: a brace inside a value is text, never a placeholder
    return NoticeText(subject.format(**fields), body.format(**fields))


def _whole(value: object, name: str, *, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidType(f"{name} must be a whole number, got {value!r}")
    if value < least:
        raise InvalidInput(f"{name} must be at least {least}, got {value}")
    return value


def _money(value: object, name: str) -> Money:
    if not isinstance(value, Money):
        raise InvalidType(f"{name} must be Money such as Money('1990.00', 'RUB'), got {value!r}")
    return value


def _instant(value: object, tz: object) -> datetime:
    moment = require_aware(value, "paid_until")
    zone(tz)
    return moment


def _title(value: object) -> str:
    # a subject is one header line: a control character or a line break (U+2028 too) must never reach it
    if not isinstance(value, str):
        raise InvalidType(f"tariff_title must be a string, got {value!r}")
    if (
        not value.strip()
        or len(value) > _MAX_TITLE
        or any(unicodedata.category(c) in _LINE_BREAKING for c in value)
    ):
        raise InvalidInput(
            f"tariff_title {value[:40]!r} must be 1-{_MAX_TITLE} characters on one line, "
            "without control characters"
        )
    return value


def invoice_issued(
    *, number: int, total: Money, months: int, tariff_title: str, locale: str = "ru"
) -> NoticeText:
    """«Счёт № 1 на 5 671,50 ₽»: the invoice's number, total, and what it is for (months of a tariff).

    An invoice covered entirely by bonus credit (total zero) is paid at once; its notice says so instead of
    asking for payment.
    """
    lang = check_locale(locale)
    _whole(number, "number", least=1)
    _money(total, "total")
    _whole(months, "months", least=1)
    _title(tariff_title)
    return _render(
        lang,
        "invoice_issued",
        number=str(number),  # an invoice number is a name, never grouped «1 234»
        total=format_money(total, lang),
        months=plural(months, "month", lang),
        tariff=tariff_title,
        next=_INVOICE_NEXT[lang]["paid" if total.is_zero() else "due"],
    )


def payment_received(
    *, number: int, amount: Money, paid_until: datetime, tz: str, locale: str = "ru"
) -> NoticeText:
    """«Оплата по счёту № 1 получена», with the amount and the new paid-until in the account's zone ``tz``."""
    lang = check_locale(locale)
    _whole(number, "number", least=1)
    _money(amount, "amount")
    _instant(paid_until, tz)
    return _render(
        lang,
        "payment_received",
        number=str(number),
        amount=format_money(amount, lang),
        paid_until=when(paid_until, tz, lang),
    )


def term_ending(*, days: int, paid_until: datetime, tz: str, locale: str = "ru") -> NoticeText:
    """«Срок пользования заканчивается через 3 дня», with the instant it ends in the account's zone ``tz``."""
    lang = check_locale(locale)
    _whole(days, "days", least=1)
    _instant(paid_until, tz)
    return _render(lang, "term_ending", days=plural(days, "day", lang), paid_until=when(paid_until, tz, lang))


def mail_quota_warning(*, used: int, limit: int, locale: str = "ru") -> NoticeText:
    """«Использовано 80 % лимита рассылки»: recipients used in the last 24 hours of the tariff's limit.

    The percentage is rounded down, so a notice sent on crossing 80 % never says less than it is, and never
    says 100 % before the limit is really reached.
    """
    lang = check_locale(locale)
    _whole(used, "used", least=0)
    _whole(limit, "limit", least=1)
    share = (Decimal(used * 100) / limit).to_integral_value(rounding=ROUND_FLOOR) / 100
    return _render(
        lang,
        "mail_quota_80",
        used=number(used, lang),
        limit=plural(limit, "recipient_gen", lang),
        percent=percent(share, lang),
    )


def backup_does_not_fit(*, estimate: timedelta, window: BackupWindow, locale: str = "ru") -> NoticeText:
    """«Бэкап не помещается в окно 01:00–03:00 по МСК»: the estimated duration and the window's length."""
    lang = check_locale(locale)
    if not isinstance(estimate, timedelta):
        raise InvalidType(f"estimate must be a timedelta, got {estimate!r}")
    if estimate < timedelta(0):
        raise InvalidInput(f"estimate must not be negative, got {estimate}")
    if not isinstance(window, BackupWindow):
        raise InvalidType(f"window must be a BackupWindow, got {window!r}")
    return _render(
        lang,
        "backup_does_not_fit",
        window=clock_range(window.start, window.end, window.tz, lang),
        estimate=duration(estimate, lang),
        length=duration(window.length, lang),
    )
