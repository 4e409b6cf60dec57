"""The personal account page as text, in Russian (``ru_RU``, the default) or English (``en``).

All formatting for people happens here, with babel (through the helpers in ``_format``, which the notices
and the demo share): money («1 990,00 ₽»), dates and times in the account's zone with the zone named
(«по МСК»), numbers, and plural forms («5 пользователей из 10», «1 пользователь»).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Final

from ._format import LOCALES, check_locale, format_money, plural, when, zone_label
from ._format import number as _number
from ._units import mb_ceil
from .overview import LeaseStatus, Overview, UsageView

__all__ = ["LOCALES", "format_money", "plural", "render_page"]

_BAR = 20

_TEXT: Final[dict[str, dict[str, str]]] = {
    "ru": {
        "title": "Личный кабинет",
        "configuration": "Конфигурация",
        "tariff": "Тарифный план",
        "per_month": "в месяц",
        "expires": "Истекает срок пользования",
        "never": "бессрочно",
        "left": "осталось {n}",
        "extend": "«Продлить срок»: выставить счёт или оплатить онлайн",
        "status.active": "активен",
        "status.ending_soon": "скоро заканчивается",
        "status.expired": "срок истёк",
        "status.free": "бесплатный тариф",
        "users": "Создано пользователей",
        "of": "из",
        "disk": "Использовано места, Мб",
        "load": "Коэффициент нагрузки",
        "level.normal": "норма",
        "level.high": "высокая",
        "level.overload": "перегрузка",
        "mail": "Адресатов за 24 часа",
        "contacts": "Контактные данные",
        "channel": "способ связи",
        "channel.email": "электронная почта",
        "channel.phone": "телефон",
        "channel.messenger": "мессенджер",
        "manager": "Персональный менеджер",
        "not_set": "не указаны",
        "auto_update": "Автообновление",
        "yes": "Да",
        "no": "Нет",
        "backup": "Период создания бэкапа",
        "next_backup": "следующий",
        "estimate": "оценка длительности",
        "too_short": "окно короче оценки длительности бэкапа",
        "ftp": "Доступ к бэкапам (FTP)",
        "ftp.on": "включён",
        "ftp.off": "выключен",
        "ftp.required": "бэкап больше {mb} Мб: скачать можно только по FTP",
        "forwarding": "Пересылка входящих",
        "none": "нет",
        "system_domain": "Системный домен",
        "master_domain": "Мастер домен",
        "own_domain": "Свой домен",
        "domain.pending": "ожидает подтверждения в DNS",
        "domain.active": "подключён",
        "domain.inactive": "отключён",
        "referral": "Система рекомендаций",
        "bonus": "бонусы",
        "update": "Обновление",
        "version": "версия",
        "revision": "ревизия",
        "update_available": "доступно обновление",
        "latest": "установлена последняя ревизия",
    },
    "en": {
        "title": "Personal account",
        "configuration": "Configuration",
        "tariff": "Tariff plan",
        "per_month": "per month",
        "expires": "Paid until",
        "never": "no end date",
        "left": "{n} left",
        "extend": "«Extend»: issue an invoice or pay online",
        "status.active": "active",
        "status.ending_soon": "ending soon",
        "status.expired": "expired",
        "status.free": "free tariff",
        "users": "Users created",
        "of": "of",
        "disk": "Disk used, MB",
        "load": "Load factor",
        "level.normal": "normal",
        "level.high": "high",
        "level.overload": "overload",
        "mail": "Mail recipients in 24 hours",
        "contacts": "Contact details",
        "channel": "preferred channel",
        "channel.email": "e-mail",
        "channel.phone": "phone",
        "channel.messenger": "messenger",
        "manager": "Personal manager",
        "not_set": "not set",
        "auto_update": "Automatic update",
        "yes": "Yes",
        "no": "No",
        "backup": "Backup window",
        "next_backup": "next",
        "estimate": "estimated duration",
        "too_short": "the window is shorter than the estimated backup time",
        "ftp": "Backup access (FTP)",
        "ftp.on": "on",
        "ftp.off": "off",
        "ftp.required": "backup over {mb} MB: downloadable by FTP only",
        "forwarding": "Incoming mail forwarding",
        "none": "none",
        "system_domain": "System domain",
        "master_domain": "Master domain",
        "own_domain": "Own domain",
        "domain.pending": "awaiting DNS verification",
        "domain.active": "active",
        "domain.inactive": "deactivated",
        "referral": "Referral program",
        "bonus": "bonus credit",
        "update": "Update",
        "version": "version",
        "revision": "revision",
        "update_available": "update available",
        "latest": "latest revision installed",
    },
}


def _bar(view: UsageView) -> str:
    share = min(view.share, Decimal(1))
    filled = int((share * _BAR).to_integral_value(rounding=ROUND_HALF_UP))
    pct = int((view.share * 100).to_integral_value(rounding=ROUND_HALF_UP))
    return f"[{'█' * filled}{'░' * (_BAR - filled)}] {pct} %"


def render_page(ov: Overview, locale: str = "ru") -> str:
    """The whole personal account page as lines of text."""
    lang = check_locale(locale)
    t = _TEXT[lang]
    of = t["of"]
    lines = [f"{t['title']} — {ov.name}", "=" * (len(t["title"]) + 3 + len(ov.name))]
    lines.append(f"{t['configuration']}: {ov.configuration_title}")
    mark = " [Ru]" if ov.ru_mark else ""
    lines.append(
        f"{t['tariff']}: {ov.tariff_title}{mark} — {format_money(ov.monthly_price, lang)} {t['per_month']}"
    )
    status = t[f"status.{ov.status.value}"]
    if ov.paid_until is None:
        lines.append(f"{t['expires']}: {t['never']} ({status})")
    else:
        left = ""
        if ov.days_left is not None and ov.status is not LeaseStatus.EXPIRED:
            left = ", " + t["left"].format(n=plural(ov.days_left, "day", lang))
        lines.append(f"{t['expires']}: {when(ov.paid_until, ov.tz, lang)} ({status}{left})")
        lines.append(f"  {t['extend']}")
    lines.append(
        f"{t['users']}: {plural(ov.users.used, 'user', lang)} {of} {_number(ov.users.limit, lang)}"
        f"  {_bar(ov.users)}"
    )
    lines.append(
        f"{t['disk']}: {_number(mb_ceil(ov.disk_bytes.used), lang)} {of} "
        f"{_number(mb_ceil(ov.disk_bytes.limit), lang)}  {_bar(ov.disk_bytes)}"
    )
    lines.append(
        f"{t['mail']}: {_number(ov.mail_24h.used, lang)} {of} "
        f"{plural(ov.mail_24h.limit, 'recipient_gen', lang)}  {_bar(ov.mail_24h)}"
    )
    lines.append(f"{t['load']}: {_number(ov.load_factor, lang, '0.00')} ({t['level.' + ov.load_level]})")

    b = ov.backup
    named = zone_label(b.tz, lang)
    backup = f"{t['backup']} ({named.strip('()')}): {b.window_start}–{b.window_end}"
    if b.next_start is not None:
        backup += f"; {t['next_backup']}: {when(b.next_start, b.tz, lang)}"
    backup += f"; {t['estimate']}: {plural(b.estimated_minutes, 'minute', lang)}"
    lines.append(backup)
    if not b.fits:
        lines.append(f"  ! {t['too_short']}")
    lines.append(f"{t['auto_update']}: {t['yes'] if b.auto_update else t['no']}")
    ftp = f"{t['ftp']}: {t['ftp.on'] if b.ftp_enabled else t['ftp.off']}"
    if b.ftp_required:
        ftp += " (" + t["ftp.required"].format(mb=_number(b.ftp_threshold_mb, lang)) + ")"
    lines.append(ftp)

    lines.append(f"{t['forwarding']}: {', '.join(ov.forwarding) if ov.forwarding else t['none']}")
    d = ov.domains
    lines.append(f"{t['system_domain']}: {d.system_domain}")
    lines.append(f"{t['master_domain']}: {d.master_domain}")
    own = t["none"] if d.own_domain is None else f"{d.own_domain} ({t['domain.' + d.own_domain_status]})"
    lines.append(f"{t['own_domain']}: {own}")

    if ov.contacts is None:
        lines.append(f"{t['contacts']}: {t['not_set']}")
    else:
        c = ov.contacts
        lines.append(
            f"{t['contacts']}: {c.name}, {c.email}, {c.phone_national}; "
            f"{t['channel']}: {t['channel.' + c.channel]}"
        )
    if ov.manager is None:
        lines.append(f"{t['manager']}: {t['not_set']}")
    else:
        m = ov.manager
        lines.append(f"{t['manager']}: {m.name}, {m.email}, {m.phone_national}, {m.hours}")

    r = ov.referral
    lines.append(
        f"{t['referral']}: {r.link}; {plural(r.referred_accounts, 'account', lang)}; "
        f"{t['bonus']}: {format_money(r.bonus_credit, lang)}"
    )
    v = ov.version
    upd = (
        f"{t['update_available']}: {v.latest_version}, {t['revision']} {v.latest_revision}"
        if v.update_available
        else t["latest"]
    )
    lines.append(f"{t['update']}: {t['version']} {v.version}, {t['revision']} {v.revision} — {upd}")
    return "\n".join(lines) + "\n"
