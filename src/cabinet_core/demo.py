"""``cabinet demo``: sample accounts on the sample catalog, exercised through the application service.

Every step goes through :class:`~cabinet_core.application.CabinetService`, exactly as a host's web app
would call it; nothing is faked but the payments (confirmed as if the bank had sent them).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, TextIO

from ._time import zone
from .errors import AccountNotFound, QuotaExceeded
from .page import format_money, render_page

if TYPE_CHECKING:
    from .application import CabinetService

__all__ = ["run_demo"]

MB = 1_048_576


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
    now = at if at is not None else service.clock.now()
    steps: list[str] = []

    def step(text: str) -> None:
        steps.append(text)

    name = _free_name(service, "acme")
    opened = now - timedelta(hours=7)  # opened this morning, so the host has reported some load since
    account = service.open_account(
        name,
        tariff="business",
        configuration="trade",
        master_domain="cabinet.example",
        at=opened,
        locale=locale,
    )
    step(f"open account {name} on tariff business (configuration trade)")
    tz = zone(account.tz)

    def local(moment: datetime) -> str:
        # the steps name instants in the account's zone, as its page does
        return moment.astimezone(tz).isoformat(timespec="minutes")

    service.set_contacts(
        name,
        name="Иван Петров",
        email=f"ivan@{name}.example.ru",
        phone="8 (916) 123-45-67",
        channel="phone",
        at=now,
    )
    step("set contacts and the preferred channel (phone)")

    invoice = service.issue_invoice(name, 3, at=now)
    step(
        f"invoice {invoice.number}: 3 months with the prepayment discount, "
        f"{format_money(invoice.total, locale)}"
    )
    pid = f"demo-{name}-{invoice.number}"
    service.confirm_payment(pid, invoice.number, invoice.total, at=now)
    again = service.confirm_payment(pid, invoice.number, invoice.total, at=now)
    step(f"payment {pid} confirmed; delivered twice, applied once (second delivery applied: {again.applied})")

    service.record_usage(name, users=5, disk_bytes=1234 * MB, at=now)
    service.add_users(name, 1, at=now)
    step("recorded usage: 6 users, 1,234 MB of disk")
    try:
        service.add_users(name, 10, at=now)
    except QuotaExceeded as exc:
        step(f"adding 10 more users refused: {exc}")

    for i in range(1, 7):
        service.record_load(name, Decimal(2000 + 100 * i), at=now - timedelta(hours=6 - i))
    step("recorded six hourly load samples")

    r = service.reserve_mail(name, 3200, at=now)
    step(f"reserved {r.granted:,} mail recipients")
    try:
        service.reserve_mail(name, 7000, at=now)
    except QuotaExceeded as exc:
        step(
            "reserving 7,000 more refused; fits again at "
            + (local(exc.retry_at) if exc.retry_at else "never")
        )
    plan = service.plan_mail(name, 15_000, at=now)
    step("campaign of 15,000 recipients planned: " + "; ".join(f"{local(t)} x {n:,}" for t, n in plan))

    pasted = f"boss@{name}.example.ru, it@{name}.example.ru;\nboss@{name.upper()}.EXAMPLE.RU,"
    service.set_forwarding(name, pasted, at=now)
    step("forwarding set (a pasted duplicate was dropped)")
    service.set_backup_window(name, "03:00-05:00", at=now)
    step("backup window set to 03:00-05:00 Moscow time")

    partner = _free_name(service, f"{name}-partner")
    service.open_account(
        partner,
        tariff="start",
        configuration="accounting",
        master_domain="biz.example",
        referral_code=account.referral_code.value,
        at=now,
        locale=locale,
    )
    inv2 = service.issue_invoice(partner, 12, at=now)
    service.confirm_payment(f"demo-{partner}-{inv2.number}", inv2.number, inv2.total, at=now)
    step(f"{partner} opened with {name}'s referral link and paid {format_money(inv2.total, locale)}")

    preview = service.preview_tariff_change(name, "premium", at=now)
    step(f"preview of a move to premium: paid until {local(preview.lease.paid_until)}")
    service.change_tariff(name, "premium", at=now, reason="demo")
    step("moved to premium (the dearer tariff shortens the remaining term by the price ratio)")
    req = service.request_own_domain(name, f"shop.{name}.ru", at=now)
    step(f"own domain shop.{name}.ru requested: {req.instructions}")

    overview = service.overview(name, at=now)
    if as_json:
        print(
            json.dumps({"steps": steps, "page": overview.to_dict()}, ensure_ascii=False, indent=2), file=out
        )
    else:
        for text in steps:
            print(f"* {text}", file=out)
        print(file=out)
        print(render_page(overview, locale), file=out, end="")
    return name
