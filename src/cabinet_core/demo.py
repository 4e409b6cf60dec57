"""``cabinet demo``: sample accounts on the sample catalog, exercised through the application service.

Every step goes through :class:`~cabinet_core.application.CabinetService`, exactly as a host's web app
would call it; nothing is faked but the payments (confirmed as if the bank had sent them). The steps are
told in the chosen locale (Russian by default, or English), with numbers, money and instants (in the
account's zone, as its page shows them) formatted by babel like the page itself.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Final, TextIO

from ._format import check_locale, clock_range, format_money, number, plural, when
from ._units import MB, mb_ceil
from .errors import AccountNotFound, QuotaExceeded
from .page import render_page

if TYPE_CHECKING:
    from .application import CabinetService

__all__ = ["run_demo"]


# One line per step; the placeholders are filled with text already formatted for the locale.
_STEPS: Final[dict[str, dict[str, str]]] = {
    "ru": {
        "open": "открыт аккаунт {name} на тарифе {tariff} (конфигурация {configuration})",
        "contacts": "указаны контактные данные и способ связи ({channel})",
        "channel": "телефон",
        "invoice": "счёт № {number}: {months} со скидкой за предоплату, {total}",
        "payment": (
            "платёж {payment} подтверждён; доставлен дважды, применён один раз "
            "(вторая доставка применена: {again})"
        ),
        "yes": "да",
        "no": "нет",
        "usage": "учтено использование: {users}, {disk} Мб диска",
        "users_refused": (
            "отказано в добавлении ещё {requested}: создано {used} из {limit}, больше тариф не позволяет"
        ),
        "load": "учтены шесть ежечасных замеров нагрузки",
        "reserved": "резерв рассылки: {recipients}",
        "reserve_refused": "резерв ещё {requested} отклонён; поместится {at}",
        "reserve_never": "резерв ещё {requested} отклонён; не поместится никогда: это больше лимита",
        "plan": "кампания на {recipients} распланирована: {batches}",
        "batch": "{at} — {count}",
        "forwarding": "пересылка настроена (вставленный дубликат отброшен)",
        "backup_window": "окно бэкапа: {window}",
        "referral": "{partner} открыт по реферальной ссылке {name} и оплатил {total}",
        "preview": "предпросмотр перехода на {tariff}: оплачено до {until}",
        "moved": (
            "переход на {tariff} выполнен (остаток срока пересчитан по отношению цен: "
            "на более дорогом тарифе он короче)"
        ),
        "domain": (
            "запрошен свой домен {domain}: добавьте TXT-запись {txt_name} со значением '{txt_value}' "
            "или CNAME-запись {domain}, указывающую на {system}"
        ),
    },
    "en": {
        "open": "open account {name} on tariff {tariff} (configuration {configuration})",
        "contacts": "set contacts and the preferred channel ({channel})",
        "channel": "phone",
        "invoice": "invoice {number}: {months} with the prepayment discount, {total}",
        "payment": (
            "payment {payment} confirmed; delivered twice, applied once (second delivery applied: {again})"
        ),
        "yes": "yes",
        "no": "no",
        "usage": "recorded usage: {users}, {disk} MB of disk",
        "users_refused": "refused to add {requested}: {used} of the tariff's {limit} already created",
        "load": "recorded six hourly load samples",
        "reserved": "mail reserved for {recipients}",
        "reserve_refused": "reserving {requested} more refused; fits again at {at}",
        "reserve_never": "reserving {requested} more refused; it never fits: that is over the limit",
        "plan": "campaign of {recipients} planned: {batches}",
        "batch": "{at} — {count}",
        "forwarding": "forwarding set (a pasted duplicate was dropped)",
        "backup_window": "backup window set to {window}",
        "referral": "{partner} opened with {name}'s referral link and paid {total}",
        "preview": "preview of a move to {tariff}: paid until {until}",
        "moved": "moved to {tariff} (the dearer tariff shortens the remaining term by the price ratio)",
        "domain": (
            "own domain {domain} requested: add a TXT record {txt_name} with the value '{txt_value}', "
            "or a CNAME record {domain} pointing to {system}"
        ),
    },
}


def _free_name(service: CabinetService, base: str) -> str:
    for i in range(1, 10_000):
        name = base if i == 1 else f"{base}-{i}"
        try:
            service.account(name)
        except AccountNotFound:
            return name
    raise RuntimeError("no free demo account name")  # pragma: no cover


def run_demo(
    service: CabinetService,
    out: TextIO,
    *,
    locale: str = "ru",
    at: datetime | None = None,
    as_json: bool = False,
) -> str:
    """Run the demo and print the personal account page; returns the demo account's name."""
    lang = check_locale(locale)
    text = _STEPS[lang]
    now = at if at is not None else service.clock.now()
    steps: list[str] = []

    def step(key: str, **fields: str) -> None:
        # str.format reads only the template: a brace in a value (an account name, a token) is text
        steps.append(text[key].format(**fields))

    def n(value: int) -> str:
        return number(value, lang)

    name = _free_name(service, "acme")
    opened = now - timedelta(hours=7)  # opened this morning, so the host has reported some load since
    account = service.open_account(
        name,
        tariff="business",
        configuration="trade",
        master_domain="cabinet.example",
        at=opened,
        locale=lang,
    )
    step("open", name=name, tariff="business", configuration="trade")

    def local(moment: datetime) -> str:
        # the steps name instants in the account's zone, as its page does
        return when(moment, account.tz, lang)

    service.set_contacts(
        name,
        name="Иван Петров",
        email=f"ivan@{name}.example.ru",
        phone="8 (916) 123-45-67",
        channel="phone",
        at=now,
    )
    step("contacts", channel=text["channel"])

    invoice = service.issue_invoice(name, 3, at=now)
    step(
        "invoice",
        number=str(invoice.number),
        months=plural(invoice.months, "month", lang),
        total=format_money(invoice.total, lang),
    )
    pid = f"demo-{name}-{invoice.number}"
    service.confirm_payment(pid, invoice.number, invoice.total, at=now)
    again = service.confirm_payment(pid, invoice.number, invoice.total, at=now)
    step("payment", payment=pid, again=text["yes" if again.applied else "no"])

    service.record_usage(name, users=5, disk_bytes=1234 * MB, at=now)
    usage = service.add_users(name, 1, at=now)
    step("usage", users=plural(usage.users, "user", lang), disk=n(mb_ceil(usage.disk_bytes)))
    try:
        service.add_users(name, 10, at=now)
    except QuotaExceeded as exc:
        step(
            "users_refused",
            requested=plural(exc.requested, "user_gen", lang),
            used=n(exc.used),
            limit=n(exc.limit),
        )

    for i in range(1, 7):
        service.record_load(name, Decimal(2000 + 100 * i), at=now - timedelta(hours=6 - i))
    step("load")

    r = service.reserve_mail(name, 3200, at=now)
    step("reserved", recipients=plural(r.granted, "recipient", lang))
    try:
        service.reserve_mail(name, 7000, at=now)
    except QuotaExceeded as exc:
        if exc.retry_at is None:
            step("reserve_never", requested=n(exc.requested))
        else:
            step("reserve_refused", requested=n(exc.requested), at=local(exc.retry_at))
    campaign = 15_000
    plan = service.plan_mail(name, campaign, at=now)
    step(
        "plan",
        recipients=plural(campaign, "recipient_gen", lang),
        batches="; ".join(text["batch"].format(at=local(t), count=n(c)) for t, c in plan),
    )

    pasted = f"boss@{name}.example.ru, it@{name}.example.ru;\nboss@{name.upper()}.EXAMPLE.RU,"
    service.set_forwarding(name, pasted, at=now)
    step("forwarding")
    window = service.set_backup_window(name, "03:00-05:00", at=now)
    step("backup_window", window=clock_range(window.start, window.end, window.tz, lang))

    partner = _free_name(service, f"{name}-partner")
    service.open_account(
        partner,
        tariff="start",
        configuration="accounting",
        master_domain="biz.example",
        referral_code=account.referral_code.value,
        at=now,
        locale=lang,
    )
    inv2 = service.issue_invoice(partner, 12, at=now)
    service.confirm_payment(f"demo-{partner}-{inv2.number}", inv2.number, inv2.total, at=now)
    step("referral", partner=partner, name=name, total=format_money(inv2.total, lang))

    preview = service.preview_tariff_change(name, "premium", at=now)
    step("preview", tariff="premium", until=local(preview.lease.paid_until))
    service.change_tariff(name, "premium", at=now, reason="demo")
    step("moved", tariff="premium")
    req = service.request_own_domain(name, f"shop.{name}.ru", at=now)
    own = req.domain
    step(
        "domain",
        domain=own.hostname.ascii,
        txt_name=own.verification_name,
        txt_value=own.verification_value,
        system=service.system_domain(service.account(name)).ascii,
    )

    overview = service.overview(name, at=now)
    if as_json:
        print(
            json.dumps({"steps": steps, "page": overview.to_dict()}, ensure_ascii=False, indent=2), file=out
        )
    else:
        for line in steps:
            print(f"* {line}", file=out)
        print(file=out)
        print(render_page(overview, lang), file=out, end="")
    return name
