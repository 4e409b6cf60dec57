"""Formatting for people, shared by the page, the notices and the demo: babel at the edge.

Money («1 990,00 ₽», «RUB 1,990.00»), numbers, percentages, instants in a zone with the zone named
(«1 января 2027, 01:32 по МСК»), durations in hours and minutes, and plural forms by CLDR's rules for the
locale. babel is imported inside each function: importing cabinet_core never loads it.
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Final

from ._time import zone
from .errors import InvalidInput, InvalidType
from .money import Money

__all__ = [
    "LOCALES",
    "check_locale",
    "clock_range",
    "duration",
    "format_money",
    "number",
    "percent",
    "plural",
    "when",
    "zone_label",
]

LOCALES: Final = {"ru": "ru_RU", "en": "en"}
_CODE_TOUCHING_DIGIT: Final = re.compile(r"([A-Za-z]{2,})(?=\d)")
_MOSCOW: Final = {"ru": "по МСК", "en": "Moscow time"}

# Word forms per CLDR plural category (babel tells the category of a number in a locale). A "_gen" word is
# the Russian genitive, which «из N», «на N» and «добавление N» take: «из 1 адресата», «из 5 адресатов»
# (the nominative would give «из 21 адресат»); English has no case, so its forms are the nominative ones.
_WORDS: Final[dict[str, dict[str, dict[str, str]]]] = {
    "ru": {
        "user": {
            "one": "пользователь",
            "few": "пользователя",
            "many": "пользователей",
            "other": "пользователя",
        },
        "user_gen": {
            "one": "пользователя",
            "few": "пользователей",
            "many": "пользователей",
            "other": "пользователя",
        },
        "day": {"one": "день", "few": "дня", "many": "дней", "other": "дня"},
        "month": {"one": "месяц", "few": "месяца", "many": "месяцев", "other": "месяца"},
        "hour": {"one": "час", "few": "часа", "many": "часов", "other": "часа"},
        "minute": {"one": "минута", "few": "минуты", "many": "минут", "other": "минуты"},
        "recipient": {"one": "адресат", "few": "адресата", "many": "адресатов", "other": "адресата"},
        "recipient_gen": {
            "one": "адресата",
            "few": "адресатов",
            "many": "адресатов",
            "other": "адресата",
        },
        "account": {"one": "аккаунт", "few": "аккаунта", "many": "аккаунтов", "other": "аккаунта"},
    },
    "en": {
        "user": {"one": "user", "other": "users"},
        "user_gen": {"one": "user", "other": "users"},
        "day": {"one": "day", "other": "days"},
        "month": {"one": "month", "other": "months"},
        "hour": {"one": "hour", "other": "hours"},
        "minute": {"one": "minute", "other": "minutes"},
        "recipient": {"one": "recipient", "other": "recipients"},
        "recipient_gen": {"one": "recipient", "other": "recipients"},
        "account": {"one": "account", "other": "accounts"},
    },
}


def check_locale(locale: object) -> str:
    """``locale`` if it is one we render ("ru", "en"); else a clear refusal."""
    if not isinstance(locale, str):
        raise InvalidType(f"locale must be one of {', '.join(LOCALES)}, got {locale!r}")
    if locale not in LOCALES:
        raise InvalidInput(f"locale {locale[:40]!r} is not supported; use one of: {', '.join(LOCALES)}")
    return locale


def plural(n: int, word: str, locale: str = "ru") -> str:
    """``n`` and the word in the plural form CLDR gives for ``n`` («5 пользователей», «1 пользователь»)."""
    from babel import Locale

    lang = check_locale(locale)
    form = Locale.parse(LOCALES[lang]).plural_form(n)
    forms = _WORDS[lang][word]
    return f"{number(n, lang)} {forms.get(form, forms['other'])}"


def format_money(money: Money, locale: str = "ru") -> str:
    """«1 990,00 ₽» in Russian, «RUB 1,990.00» in English (babel, CLDR patterns)."""
    from babel.numbers import format_currency

    lang = check_locale(locale)
    text = str(format_currency(money.amount, money.currency, locale=LOCALES[lang]))
    # CLDR's currency spacing, which babel does not apply: a symbol that is a code (English has no
    # symbol for the rouble) is kept apart from the digits by a no-break space, «RUB 1,990.00»
    return _CODE_TOUCHING_DIGIT.sub("\\1\xa0", text)


def number(n: int | Decimal, locale: str, fmt: str | None = None) -> str:
    """A number with the locale's grouping and decimal sign («1 234», «1,234»; ``fmt`` a CLDR pattern)."""
    from babel.numbers import format_decimal

    return str(format_decimal(n, format=fmt, locale=LOCALES[check_locale(locale)]))


def percent(share: Decimal, locale: str) -> str:
    """A share as a whole percentage («80 %», «80%»); the caller rounds it as its rule says."""
    from babel.numbers import format_percent

    return str(format_percent(share, locale=LOCALES[check_locale(locale)]))


def zone_label(tz: str, locale: str) -> str:
    """How a zone is named after a time: «по МСК» / "Moscow time", else babel's name in parentheses."""
    lang = check_locale(locale)
    if tz == "Europe/Moscow":
        return _MOSCOW[lang]
    from babel.dates import get_timezone_name

    return f"({get_timezone_name(zone(tz), locale=LOCALES[lang])})"


def when(moment: datetime, tz: str, locale: str) -> str:
    """An instant as the account reads it, in its zone: «1 января 2027, 01:32 по МСК»."""
    from babel.dates import format_datetime

    lang = check_locale(locale)
    text = format_datetime(moment, "d MMMM y, HH:mm", tzinfo=zone(tz), locale=LOCALES[lang])
    return f"{text} {zone_label(tz, lang)}"


def clock_range(start: time, end: time, tz: str, locale: str) -> str:
    """A daily span of wall-clock time in a zone: «03:00–05:00 по МСК»."""
    return f"{start:%H:%M}–{end:%H:%M} {zone_label(tz, locale)}"


def duration(span: timedelta, locale: str) -> str:
    """A duration in hours and whole minutes, rounded up (never understated): «5 часов 34 минуты»."""
    lang = check_locale(locale)
    minutes = -(-span // timedelta(minutes=1))
    hours, minutes = divmod(minutes, 60)
    parts = [plural(hours, "hour", lang)] if hours else []
    if minutes or not hours:
        parts.append(plural(minutes, "minute", lang))
    return " ".join(parts)
