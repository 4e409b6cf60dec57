"""Notices through the service, on every storage adapter: each account is written to in its own language.

An account opened with ``locale="en"`` gets English notices, a ``"ru"`` one Russian, for every kind the
service queues (invoice issued, payment received, term ending, mail quota at 80 %, backup does not fit); the
``data`` payloads stay the figures a host's own templates need.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from cabinet_core.backup_policy import BackupWindow
from cabinet_core.notices import (
    NoticeText,
    backup_does_not_fit,
    invoice_issued,
    mail_quota_warning,
    payment_received,
    term_ending,
)
from cabinet_core.ports import Notification
from cabinet_core.quotas import MB

from strategies.application import MASTER, T0, Env, catalog, provider

MSK = ZoneInfo("Europe/Moscow")
NB = "\xa0"
CYRILLIC = re.compile(r"[А-Яа-яЁё]")

BACKENDS = [
    pytest.param("memory", marks=pytest.mark.memory, id="memory"),
    pytest.param("sqlite", marks=pytest.mark.sqlite, id="sqlite"),
    pytest.param("postgresql", marks=pytest.mark.postgresql, id="postgresql"),
]


@pytest.fixture(params=BACKENDS)
def env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Env]:
    """A service over a fresh storage of each kind, with every fake port wired in."""
    if request.param == "memory":
        url = "memory://"
    elif request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'cabinet.sqlite3'}"
    else:
        url = request.getfixturevalue("postgres_dsn")
    harness = Env.build(request.param, url)
    yield harness
    harness.close()


def open_in(env: Env, locale: str, tariff: str = "business", *, tz: str = "Europe/Moscow") -> str:
    """An account in ``locale``, with contacts (so notices are queued for it)."""
    name = env.name(locale)
    env.service.open_account(
        name, tariff=tariff, configuration="trade", master_domain=MASTER, tz=tz, locale=locale, at=T0
    )
    env.service.set_contacts(name, name="Ivan Petrov", email=f"{name}@acme.ru", at=T0)
    return name


def notices(env: Env, account_id: str, kind: str) -> list[Notification]:
    with env.storage.unit_of_work() as uow:
        found = uow.outbox.messages(account_id)
    return [m.notification for m in found if m.notification.kind == kind]


def only(env: Env, account_id: str, kind: str) -> Notification:
    found = notices(env, account_id, kind)
    assert len(found) == 1, found
    return found[0]


def text_of(note: Notification) -> NoticeText:
    return NoticeText(note.subject, note.body)


def assert_language(note: Notification, locale: str, *, besides: str = "") -> None:
    """Russian text has Russian words; English has none (but for ``besides``, e.g. a Russian tariff title)."""
    for text in (note.subject, note.body.replace(besides, "") if besides else note.body):
        assert bool(CYRILLIC.search(text)) is (locale == "ru"), text


def run_everything(env: Env, account: str) -> dict[str, Any]:
    """Drive the account through every event that queues a notice; return the figures used."""
    service = env.service
    invoice = service.issue_invoice(account, 3, at=T0)
    paid = service.confirm_payment(env.payment_id(), invoice.number, invoice.total, at=T0)
    until = paid.lease.paid_until
    service.send_term_reminders(at=until - timedelta(days=2, hours=12))
    limit = service.account(account).lease.tariff.limits.mail_per_24h
    service.reserve_mail(account, limit * 4 // 5, at=T0)
    night = datetime(2026, 11, 26, 1, 5, tzinfo=MSK)  # inside the default window, 01:00-03:00
    huge = 400_000 * MB  # hours at the sample provider's throughput: longer than the window
    service.record_backup(
        account, started=night, finished=night + timedelta(hours=6), succeeded=True, size_bytes=huge
    )
    return {"invoice": invoice, "until": until, "limit": limit, "huge": huge}


@pytest.mark.parametrize("locale", ["ru", "en"])
def test_each_notice_is_in_the_accounts_language(env: Env, locale: str) -> None:
    """Every kind of notice the service queues is rendered in the account's locale, with its figures."""
    account = open_in(env, locale)
    figures = run_everything(env, account)
    invoice, until, limit = figures["invoice"], figures["until"], figures["limit"]
    tariff = catalog()[invoice.tariff_code]

    issued = only(env, account, "invoice_issued")
    assert text_of(issued) == invoice_issued(
        number=invoice.number, total=invoice.total, months=3, tariff_title=tariff.title, locale=locale
    )
    assert issued.data == {"number": invoice.number, "total": str(invoice.total.amount)}
    assert_language(issued, locale, besides=tariff.title)

    received = only(env, account, "payment_received")
    assert text_of(received) == payment_received(
        number=invoice.number, amount=invoice.total, paid_until=until, tz="Europe/Moscow", locale=locale
    )
    assert set(received.data) == {"number", "payment_id"}
    assert_language(received, locale)

    ending = only(env, account, "term_ending")
    assert text_of(ending) == term_ending(days=3, paid_until=until, tz="Europe/Moscow", locale=locale)
    assert ending.data == {"days": 3}
    assert_language(ending, locale)

    mail = only(env, account, "mail_quota_80")
    assert text_of(mail) == mail_quota_warning(used=limit * 4 // 5, limit=limit, locale=locale)
    assert mail.data == {"used": limit * 4 // 5, "limit": limit}
    assert_language(mail, locale)

    backup = only(env, account, "backup_does_not_fit")
    window = env.service.account(account).backup_window
    estimate = env.service.throughput.estimate(figures["huge"])
    assert text_of(backup) == backup_does_not_fit(estimate=estimate, window=window, locale=locale)
    assert backup.data == {}
    assert_language(backup, locale)


def test_english_and_russian_accounts_side_by_side(env: Env) -> None:
    """Two accounts on one service, one in each language, get the same event in their own words."""
    ru, en = open_in(env, "ru"), open_in(env, "en")
    for account in (ru, en):
        env.pay(account, 1)
    ru_invoice, en_invoice = only(env, ru, "invoice_issued"), only(env, en, "invoice_issued")
    ru_total = f"1{NB}990,00{NB}₽"  # business, one month, no discount
    assert ru_invoice.subject == f"Счёт № {ru_invoice.data['number']} на {ru_total}"
    assert en_invoice.subject == f"Invoice No. {en_invoice.data['number']} for RUB{NB}1,990.00"
    assert only(env, ru, "payment_received").subject.startswith("Оплата по счёту № ")
    assert only(env, en, "payment_received").subject.startswith("Payment for invoice No. ")

    until = env.service.account(en).lease.paid_until
    assert env.service.send_term_reminders(at=until - timedelta(hours=20)) == 2
    assert only(env, ru, "term_ending").subject == "Срок пользования заканчивается через 1 день"
    assert only(env, en, "term_ending").subject == "Your paid term ends in 1 day"


def test_paid_until_is_shown_in_the_accounts_zone(env: Env) -> None:
    """An account in another zone reads the new paid-until in its own wall time, with the zone named."""
    account = open_in(env, "en", tz="Asia/Yekaterinburg")
    env.pay(account, 1)
    until = env.service.account(account).lease.paid_until.astimezone(ZoneInfo("Asia/Yekaterinburg"))
    body = only(env, account, "payment_received").body
    assert f"until {until.day} {until:%B} {until.year}, {until:%H:%M} (" in body
    assert "Moscow" not in body


def test_the_backup_notice_names_the_customers_window(env: Env) -> None:
    """The does-not-fit notice names the window the customer chose, in the provider's zone."""
    account = open_in(env, "ru", "premium")
    start, end = provider().backup_windows[-1]
    env.service.set_backup_window(account, BackupWindow(start, end, provider().backup_tz), at=T0)
    begins, _ = env.service.account(account).backup_window.next_after(T0)
    env.service.record_backup(
        account, started=begins, finished=begins + timedelta(hours=8), succeeded=True, size_bytes=900_000 * MB
    )
    subject = only(env, account, "backup_does_not_fit").subject
    assert subject == f"Бэкап не помещается в окно {start:%H:%M}–{end:%H:%M} по МСК"
