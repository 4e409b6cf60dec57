"""The application service: the personal account's use cases over the ports.

One wiring point: the host builds a :class:`~cabinet_core.ports.Storage`, loads its catalog and provider
settings, and passes them (with its clock, mailer, payment gateway, DNS resolver and FTP credentials sink)
to :class:`CabinetService`. Every use case runs in one unit of work: everything it changes (the account,
invoices, payments, history, notifications) commits together or not at all. Notifications are delivered
after commit by :meth:`CabinetService.deliver_notifications`.

A use case that loses a race (the account was saved by someone else since it was read) is retried from
the start, a few times, on fresh data; nothing is ever merged.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import attrs

from ._time import DEFAULT_TZ, require_aware, zone
from .account import Account
from .backup_policy import (
    BackupOutcome,
    BackupThroughput,
    BackupWindow,
    DownloadRule,
    FtpAccess,
    FtpCredentials,
    FtpCredentialsSink,
    Version,
    choose_window,
    manual_update_available,
    plan_update,
    window_fit,
)
from .billing import Invoice, InvoiceLine, Payment, PaymentMethod, check_payment, issue_invoice
from .contacts import Contacts, Phone
from .domains import Hostname, MasterDomains, OwnDomain, account_label, system_domain
from .errors import (
    AccountNotFound,
    ConcurrencyConflict,
    ConfigurationError,
    InvalidInput,
    InvalidType,
    PaymentRejected,
)
from .forwarding import parse_forwarding
from .history import HistoryEntry
from .money import Money
from .notices import (
    NoticeText,
    backup_does_not_fit,
    invoice_issued,
    mail_quota_warning,
    payment_received,
    term_ending,
)
from .overview import (
    ENDING_SOON_DAYS,
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
from .page import LOCALES
from .ports import (
    AccountExists,
    Clock,
    HistoryRecord,
    KeyTaken,
    Mailer,
    Notification,
    PaymentGateway,
    Storage,
)
from .ports.dns import DnsResolver
from .ports.services import PaymentStart
from .ports.storage import UnitOfWork
from .provider import ProviderConfig
from .quotas import LoadMeter, Reservation, Usage, check_disk, check_users
from .referrals import BonusLedger, ReferralCode, RewardPolicy, attribute, referral_link
from .tariffs import Lease, Tariff, TariffCatalog, TariffChange

if TYPE_CHECKING:
    from .adapters.dispatch import DeliveryReport

__all__ = ["CabinetService", "ConfirmResult", "OwnDomainRequest"]

T = TypeVar("T")
_RETRIES = 5
MAIL_WARNING_SHARE = 0.8  # «mail quota at 80 %» notice
TERM_NOTICE_DAYS = (7, 3, 1)
_ACTOR = re.compile(r"[^\x00-\x1f\x7f]{1,200}")
_MAX_URL = 2000


@attrs.frozen
class ConfirmResult:
    """What a payment confirmation did: ``applied`` is False for a repeated delivery (already applied)."""

    applied: bool
    lease: Lease
    invoice_number: int


@attrs.frozen
class OwnDomainRequest:
    """An own domain waiting for DNS proof, and what the customer must add to their DNS."""

    domain: OwnDomain
    instructions: str


def _check_actor(actor: object) -> str:
    if not isinstance(actor, str) or not _ACTOR.fullmatch(actor):
        raise InvalidInput(f"actor must be 1-200 printable characters naming who acts, got {actor!r}")
    return actor


def _check_flag(value: object, name: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidType(f"{name} must be True or False, got {value!r}")
    return value


def _payment_method(method: object) -> PaymentMethod:
    accepted = [m.value for m in PaymentMethod]
    if not isinstance(method, str):
        raise InvalidType(f"payment method must be one of {', '.join(accepted)}, got {method!r}")
    if method not in accepted:
        raise InvalidInput(f"payment method {method[:40]!r} is not one of: {', '.join(accepted)}")
    return PaymentMethod(method)


def _check_return_url(url: object) -> str:
    """Where the gateway sends the customer back: an http(s) URL on one line (it ends up in a redirect)."""
    hint = "give an http(s) URL such as 'https://cabinet.example/paid'"
    if not isinstance(url, str):
        raise InvalidType(f"return_url must be a string; {hint}, got {url!r}")
    if len(url) > _MAX_URL or not url.isprintable() or any(c.isspace() for c in url):
        raise InvalidInput(f"return_url {url[:80]!r} must be one line of at most {_MAX_URL} characters")
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise InvalidInput(f"return_url {url[:80]!r} is not a valid URL ({exc}); {hint}") from None
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise InvalidInput(f"return_url {url[:80]!r} is not an http(s) URL; {hint}")
    return url


class CabinetService:
    """The use cases of the personal account page, over the ports the host passes in."""

    def __init__(
        self,
        storage: Storage,
        catalog: TariffCatalog,
        provider: ProviderConfig,
        clock: Clock,
        *,
        mailer: Mailer | None = None,
        payments: PaymentGateway | None = None,
        dns: DnsResolver | None = None,
        ftp_sink: FtpCredentialsSink | None = None,
    ) -> None:
        if not isinstance(catalog, TariffCatalog):
            raise InvalidType(f"catalog must be a TariffCatalog, got {catalog!r}")
        if not isinstance(provider, ProviderConfig):
            raise InvalidType(f"provider must be a ProviderConfig, got {provider!r}")
        self.storage = storage
        self.catalog = catalog
        self.provider = provider
        self.clock = clock
        self.mailer = mailer
        self.payments = payments
        self.dns = dns
        self.ftp_sink = ftp_sink
        self.masters = MasterDomains(list(provider.master_domains))
        self.offered_windows = tuple(
            BackupWindow(s, e, provider.backup_tz) for s, e in provider.backup_windows
        )
        self.throughput = BackupThroughput.from_mb_per_s(
            provider.backup_throughput_mb_per_s, provider.backup_overhead_minutes
        )
        self.download_rule = DownloadRule(provider.ftp_threshold_mb)
        self.rewards = RewardPolicy(provider.referral_share)
        self.latest = Version(provider.latest_version, provider.latest_revision)

    # -- plumbing ---------------------------------------------------------------------------------------
    def _now(self, at: datetime | None) -> datetime:
        return require_aware(at if at is not None else self.clock.now())

    def _retrying(self, work: Callable[[UnitOfWork], T]) -> T:
        """Run ``work`` in a unit of work and commit; on a lost race, retry on fresh data."""
        for attempt in range(_RETRIES):
            try:
                with self.storage.unit_of_work() as uow:
                    result = work(uow)
                    uow.commit()
                    return result
            except ConcurrencyConflict as exc:
                if isinstance(exc, AccountExists | KeyTaken) or attempt == _RETRIES - 1:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _load(self, uow: UnitOfWork, account_id: str) -> tuple[Account, int]:
        if not isinstance(account_id, str):
            raise InvalidType(f"account id must be a string, got {account_id!r}")
        stored = uow.accounts.get(account_id)
        return Account.from_document(stored.id, stored.data, self.catalog), stored.version

    def _save(self, uow: UnitOfWork, account: Account, version: int) -> None:
        uow.accounts.save(account.id, account.to_document(), expected_version=version, keys=account.keys())

    def _record(
        self, uow: UnitOfWork, account: Account, at: datetime, kind: str, actor: str, reason: str, **data: Any
    ) -> None:
        entry = HistoryEntry(at=at, kind=kind, actor=actor, reason=reason, data=data)
        uow.history.append(account.id, at=at, kind=kind, data=entry.to_dict())

    def _notify(
        self,
        uow: UnitOfWork,
        account: Account,
        at: datetime,
        kind: str,
        render: Callable[[str], NoticeText],
        *,
        dedup_key: str | None = None,
        **data: Any,
    ) -> bool:
        """Queue a notice in this unit of work; False if nothing was queued (no contacts, or a duplicate).

        ``render(locale)`` writes the subject and body in the account's language (:mod:`.notices`); it runs
        only when there is someone to write to.
        """
        if account.contacts is None:
            return False  # nobody to write to; the page still shows everything
        text = render(account.locale)
        note = Notification(
            account_id=account.id,
            kind=kind,
            to=(account.contacts.email,),
            subject=text.subject,
            body=text.body,
            data=data,
        )
        return uow.outbox.enqueue(note, at=at, dedup_key=dedup_key) is not None

    def system_domain(self, account: Account) -> Hostname:
        return system_domain(account.id, account.master_domain, self.masters)

    def own_mailbox(self, account: Account) -> str:
        """The account's built-in mailbox: forwarding to it would loop."""
        return f"{account.id}@{self.masters.pick(account.master_domain).ascii}"

    def _estimate(self, account: Account) -> timedelta:
        size = max(account.last_backup_bytes, account.usage.disk_bytes)
        return self.throughput.estimate(size)

    def _paid(self, lease: Lease, invoice: Invoice, at: datetime) -> Lease:
        """The lease once the invoice's months are paid at ``at``.

        Paid months are converted by price ratio when the account is on another paid tariff (DESIGN.md
        "Invoices and payments"). A free tariff has no term to convert into, so an account on it moves to
        the tariff it paid for, starting with the paid months: the money is never refused after it arrived.
        """
        paid_for = self.catalog[invoice.tariff_code]
        if lease.tariff.is_free:
            return lease.change_tariff(paid_for, at).lease.extend(invoice.months, at)
        return lease.extend_converted(invoice.months, paid_for, at)

    # -- opening ----------------------------------------------------------------------------------------
    def open_account(
        self,
        name: str,
        *,
        tariff: str,
        configuration: str,
        master_domain: str,
        referral_code: str | None = None,
        tz: str = DEFAULT_TZ,
        locale: str = "ru",
        at: datetime | None = None,
        actor: str = "customer",
    ) -> Account:
        """Open an account: a free tariff starts active, a paid one with no paid time (pay to start)."""
        now = self._now(at)
        _check_actor(actor)
        label = account_label(name)
        chosen = self.catalog.offer(tariff)
        self.catalog.configuration(configuration)
        master = self.masters.pick(master_domain)
        system_domain(label, master, self.masters)
        zone(tz)
        if not isinstance(locale, str):
            raise InvalidType(f"locale must be one of {', '.join(LOCALES)}, got {locale!r}")
        if locale not in LOCALES:
            raise InvalidInput(f"locale {locale!r} is not supported; use one of: {', '.join(LOCALES)}")
        window = self.offered_windows[0]

        def work(uow: UnitOfWork) -> Account:
            referred_by = None
            if referral_code is not None:

                def owner_of(code: ReferralCode) -> str | None:
                    found = uow.accounts.find_by_key(f"referral:{code.value}")
                    return None if found is None else found.id

                def referrer_of(account_id: str) -> str | None:
                    if account_id == label:
                        return None  # not opened yet
                    found = uow.accounts.get(account_id)
                    ref = found.data.get("referred_by")
                    return ref if isinstance(ref, str) else None

                referred_by = attribute(
                    label, referral_code, owner_of=owner_of, referrer_of=referrer_of, at=now
                ).referrer
            account = Account(
                id=label,
                opened_at=now,
                tz=tz,
                locale=locale,
                configuration=configuration,
                lease=Lease(chosen, now, tz),
                master_domain=master.ascii,
                own_domain=None,
                contacts=None,
                forwarding=(),
                backup_window=window,
                auto_update=True,
                ftp=None,
                last_backup_bytes=0,
                last_backup=None,
                installed=self.latest,
                referral_code=ReferralCode.generate(),
                referred_by=referred_by,
                bonus=BonusLedger.empty(self.catalog.currency),
                usage=Usage(),
                load=LoadMeter(since=now),
            )
            uow.accounts.add(account.id, account.to_document(), keys=account.keys())
            self._record(
                uow,
                account,
                now,
                "opened",
                actor,
                "account opened",
                tariff=chosen.code,
                configuration=configuration,
                referred_by=referred_by,
            )
            return account

        return self._retrying(work)

    def account(self, account_id: str) -> Account:
        with self.storage.unit_of_work() as uow:
            return self._load(uow, account_id)[0]

    # -- the page ---------------------------------------------------------------------------------------
    def overview(self, account_id: str, *, at: datetime | None = None) -> Overview:
        """Everything the personal account page shows, read in one unit of work."""
        now = self._now(at)
        with self.storage.unit_of_work() as uow:
            account, _ = self._load(uow, account_id)
            window = uow.mail.window(account.id, limit=account.lease.tariff.limits.mail_per_24h, at=now)
        # paying referred accounts, each once (kept on the account: the page never reads the whole history)
        referred = len(account.paying_referrals)
        lease = account.lease
        tariff = lease.tariff
        if tariff.is_free:
            status, days_left, paid_until = LeaseStatus.FREE, None, None
        else:
            paid_until = lease.paid_until
            remaining = lease.remaining(now)
            days_left = -(-remaining // timedelta(days=1)) if remaining else 0
            if not lease.is_active(now):
                status = LeaseStatus.EXPIRED
            elif days_left <= ENDING_SOON_DAYS:
                status = LeaseStatus.ENDING_SOON
            else:
                status = LeaseStatus.ACTIVE
        factor = account.load.factor(tariff.limits, now)
        estimate = self._estimate(account)
        fit = window_fit(account.backup_window, estimate)
        next_start, next_end = account.backup_window.next_after(now)
        contacts = None
        if account.contacts is not None:
            c = account.contacts
            contacts = ContactsView(
                c.name,
                c.email,
                "" if c.phone is None else c.phone.e164,
                "" if c.phone is None else c.phone.national(),
                c.channel.value,
            )
        info = self.provider.manager
        manager = None
        if info is not None:
            manager = ManagerView(info.name, info.email, Phone.parse(info.phone).national(), info.hours)
        own = account.own_domain
        minutes = -(-estimate // timedelta(minutes=1))
        return Overview(
            at=now,
            account_id=account.id,
            name=account.id,
            tz=account.tz,
            configuration_code=account.configuration,
            configuration_title=self.catalog.configuration(account.configuration).title,
            tariff_code=tariff.code,
            tariff_title=tariff.title,
            ru_mark=tariff.ru_mark,
            monthly_price=tariff.monthly_price,
            paid_until=paid_until,
            days_left=days_left,
            status=status,
            users=UsageView(account.usage.users, tariff.limits.users),
            disk_bytes=UsageView(account.usage.disk_bytes, tariff.limits.disk_bytes),
            mail_24h=UsageView(window.used(now), window.limit),
            load_factor=factor.value,
            load_level=factor.level,
            contacts=contacts,
            manager=manager,
            backup=BackupView(
                window_start=account.backup_window.start.strftime("%H:%M"),
                window_end=account.backup_window.end.strftime("%H:%M"),
                tz=account.backup_window.tz,
                next_start=next_start,
                next_end=next_end,
                estimated_minutes=minutes,
                fits=fit.fits,
                auto_update=account.auto_update,
                ftp_required=self.download_rule.needs_ftp(account.last_backup_bytes),
                ftp_enabled=account.ftp is not None,
                last_backup_bytes=account.last_backup_bytes,
                ftp_threshold_mb=self.download_rule.threshold_mb,
            ),
            forwarding=account.forwarding,
            domains=DomainView(
                system_domain=self.system_domain(account).unicode,
                master_domain=self.masters.pick(account.master_domain).unicode,
                own_domain=None if own is None else own.hostname.unicode,
                own_domain_status="none" if own is None else own.status.value,
            ),
            referral=ReferralView(
                code=account.referral_code.value,
                link=referral_link(self.provider.referral_base_url, account.referral_code),
                bonus_credit=account.bonus.balance,
                referred_accounts=referred,
            ),
            version=VersionView(
                version=account.installed.version,
                revision=account.installed.revision,
                latest_version=self.latest.version,
                latest_revision=self.latest.revision,
                update_available=manual_update_available(account.installed, self.latest),
            ),
        )

    def history(self, account_id: str) -> list[HistoryRecord]:
        """The account's history, oldest first."""
        with self.storage.unit_of_work() as uow:
            uow.accounts.get(account_id)
            return uow.history.for_account(account_id)

    # -- tariffs ----------------------------------------------------------------------------------------
    def _target(self, account: Account, code: str) -> Tariff:
        """The tariff to move to: staying on a retired tariff is allowed, moving to one is not."""
        tariff = self.catalog[code]
        return tariff if tariff == account.lease.tariff else self.catalog.offer(code)

    def preview_tariff_change(
        self, account_id: str, tariff: str, *, at: datetime | None = None
    ) -> TariffChange:
        """What a change would do (the new paid-until, the own domain switched off), changing nothing."""
        now = self._now(at)
        account = self.account(account_id)
        new_tariff = self._target(account, tariff)
        change = account.lease.change_tariff(new_tariff, now, usage=account.usage)
        off = account.own_domain is not None and account.own_domain.deactivated_for(new_tariff)[1]
        return attrs.evolve(change, own_domain_deactivated=off)

    def change_tariff(
        self,
        account_id: str,
        tariff: str,
        *,
        at: datetime | None = None,
        actor: str = "customer",
        reason: str = "",
    ) -> TariffChange:
        """Move to another tariff: the term is rescaled by price ratio; refused below current usage; an own
        domain is deactivated when the new tariff lacks ``custom_domain``."""
        now = self._now(at)
        _check_actor(actor)
        self.catalog[tariff]  # an unknown code is refused before any storage is touched

        def work(uow: UnitOfWork) -> TariffChange:
            account, version = self._load(uow, account_id)
            new_tariff = self._target(account, tariff)
            change = account.lease.change_tariff(new_tariff, now, usage=account.usage)
            own = account.own_domain
            domain_off = False
            if own is not None:
                own, domain_off = own.deactivated_for(new_tariff)
            updated = attrs.evolve(account, lease=change.lease, own_domain=own)
            self._save(uow, updated, version)
            self._record(
                uow,
                updated,
                now,
                "tariff_change",
                actor,
                reason,
                tariff_before=change.previous.tariff.code,
                tariff_after=new_tariff.code,
                paid_until_before=change.previous.paid_until.isoformat(),
                paid_until_after=change.lease.paid_until.isoformat(),
                needs_migration=change.needs_migration,
                own_domain_deactivated=domain_off,
            )
            return attrs.evolve(change, own_domain_deactivated=domain_off)

        return self._retrying(work)

    def switch_configuration(
        self, account_id: str, configuration: str, *, at: datetime | None = None, actor: str = "customer"
    ) -> Account:
        """Switch the application's edition; recorded in the history."""
        now = self._now(at)
        _check_actor(actor)
        self.catalog.configuration(configuration)

        def work(uow: UnitOfWork) -> Account:
            account, version = self._load(uow, account_id)
            updated = attrs.evolve(account, configuration=configuration)
            self._save(uow, updated, version)
            self._record(
                uow,
                updated,
                now,
                "configuration_change",
                actor,
                "",
                before=account.configuration,
                after=configuration,
            )
            return updated

        return self._retrying(work)

    # -- invoices and payments --------------------------------------------------------------------------
    def issue_invoice(
        self,
        account_id: str,
        months: int,
        *,
        tariff: str | None = None,
        use_bonus: bool = False,
        at: datetime | None = None,
        actor: str = "customer",
    ) -> Invoice:
        """Issue an invoice for ``months`` (of the account's tariff unless ``tariff`` is given), numbered from
        the gap-free sequence; ``use_bonus`` applies bonus credit. An invoice covered entirely by bonus
        credit is paid at once."""
        now = self._now(at)
        _check_actor(actor)
        _check_flag(use_bonus, "use_bonus")

        def work(uow: UnitOfWork) -> Invoice:
            account, version = self._load(uow, account_id)
            code = account.lease.tariff.code if tariff is None else tariff
            if code != account.lease.tariff.code:
                self.catalog.offer(code)  # the current tariff can be extended even once retired
            if self.catalog[code].is_free:
                raise InvalidInput(f"tariff {code!r} is free; there is nothing to invoice")
            credit = account.bonus.balance if use_bonus else None
            number = uow.invoices.next_number()
            invoice = issue_invoice(
                self.catalog, code, months, number=number, account_id=account.id, at=now, credit=credit
            )
            uow.invoices.add(number, account.id, _invoice_doc(invoice), at=now)
            used = -sum(
                (line.amount for line in invoice.lines if line.kind == "bonus"), Money.zero(invoice.currency)
            )
            updated = account
            if not used.is_zero():
                _, ledger = account.bonus.spend(used)
                updated = attrs.evolve(account, bonus=ledger)
            if invoice.total.is_zero():
                updated = attrs.evolve(
                    updated,
                    lease=self._paid(updated.lease, invoice, now),
                    paid_invoices=updated.paid_invoices | {number},
                )
            if updated is not account:
                self._save(uow, updated, version)
            self._record(
                uow,
                updated,
                now,
                "invoice_issued",
                actor,
                "",
                number=number,
                tariff=code,
                months=invoice.months,
                total=str(invoice.total.amount),
                bonus_used=str(used.amount),
                paid_by_bonus=invoice.total.is_zero(),
            )
            self._notify(
                uow,
                updated,
                now,
                "invoice_issued",
                lambda locale: invoice_issued(
                    number=number,
                    total=invoice.total,
                    months=invoice.months,
                    tariff_title=self.catalog[code].title,
                    locale=locale,
                ),
                number=number,
                total=str(invoice.total.amount),
            )
            return invoice

        return self._retrying(work)

    def cancel_invoice(
        self, account_id: str, number: int, *, at: datetime | None = None, actor: str = "customer"
    ) -> Invoice:
        """Cancel an unpaid invoice: the bonus credit it used is given back, and a payment that arrives for
        it later is kept for review instead of extending the term. A paid invoice cannot be cancelled."""
        now = self._now(at)
        _check_actor(actor)
        if isinstance(number, bool) or not isinstance(number, int):
            raise InvalidType(f"invoice number must be a whole number, got {number!r}")

        def work(uow: UnitOfWork) -> Invoice:
            account, version = self._load(uow, account_id)
            invoice = _invoice_from(uow.invoices.get(number).data)
            if invoice.account_id != account.id:
                raise InvalidInput(f"invoice {number} does not belong to account {account.id!r}")
            if number in account.paid_invoices:
                raise InvalidInput(f"invoice {number} is paid; a paid invoice cannot be cancelled")
            if number in account.cancelled_invoices:
                raise InvalidInput(f"invoice {number} is already cancelled")
            used = -sum(
                (line.amount for line in invoice.lines if line.kind == "bonus"), Money.zero(invoice.currency)
            )
            bonus = account.bonus.restore(used) if not used.is_zero() else account.bonus
            updated = attrs.evolve(
                account, bonus=bonus, cancelled_invoices=account.cancelled_invoices | {number}
            )
            self._save(uow, updated, version)
            self._record(
                uow,
                updated,
                now,
                "invoice_cancelled",
                actor,
                "",
                number=number,
                bonus_restored=str(used.amount),
            )
            return invoice

        return self._retrying(work)

    def invoice(self, number: int) -> Invoice:
        with self.storage.unit_of_work() as uow:
            return _invoice_from(uow.invoices.get(number).data)

    def start_online_payment(self, account_id: str, invoice_number: int, *, return_url: str) -> PaymentStart:
        """Open an online payment for an invoice through the host's gateway."""
        if self.payments is None:
            raise ConfigurationError("no PaymentGateway was given to CabinetService; online payment is off")
        if not isinstance(account_id, str):
            raise InvalidType(f"account id must be a string, got {account_id!r}")
        _check_return_url(return_url)
        invoice = self.invoice(invoice_number)
        if invoice.account_id != account_id:
            raise InvalidInput(f"invoice {invoice_number} does not belong to account {account_id!r}")
        return self.payments.start_payment(
            account_id=account_id,
            invoice_number=invoice.number,
            amount=invoice.total,
            description=f"Invoice {invoice.number}",
            return_url=return_url,
        )

    def confirm_payment(
        self,
        payment_id: str,
        invoice_number: int,
        amount: Money,
        *,
        method: str = "bank_transfer",
        at: datetime | None = None,
        actor: str = "payments",
    ) -> ConfirmResult:
        """Apply a payment confirmation exactly once (by payment id): extend the term, reward the referrer.

        A payment that does not match its invoice (amount, currency), a payment of an invoice already settled
        with bonus credit, or a repeated payment id that names another invoice or amount than the one
        applied, is kept for review, changes nothing else, and raises :class:`PaymentRejected`.
        """
        now = self._now(at)
        _check_actor(actor)
        if not isinstance(amount, Money):
            raise InvalidType(f"amount must be Money such as Money('1990.00', 'RUB'), got {amount!r}")
        payment = Payment(payment_id, invoice_number, amount, now, _payment_method(method))

        def work(uow: UnitOfWork) -> tuple[ConfirmResult, str | None]:
            invoice = _invoice_from(uow.invoices.get(invoice_number).data)
            account, version = self._load(uow, invoice.account_id)
            try:
                check_payment(invoice, payment)
                if invoice.total.is_zero():
                    raise PaymentRejected(
                        f"invoice {invoice.number} was settled with bonus credit and nothing is due; "
                        f"payment {payment_id} kept for review"
                    )
                applied = uow.payments.get(payment_id)
                if applied is not None and (
                    applied.data["invoice"] != invoice_number
                    or Money(applied.data["amount"], applied.data["currency"]) != amount
                ):
                    raise PaymentRejected(
                        f"payment {payment_id} was applied to invoice {applied.data['invoice']} for "
                        f"{applied.data['amount']} {applied.data['currency']}; this confirmation says "
                        f"invoice {invoice_number} for {amount}; kept for review"
                    )
                if applied is None and invoice_number in account.cancelled_invoices:
                    raise PaymentRejected(
                        f"invoice {invoice_number} was cancelled; payment {payment_id} of {amount} kept "
                        "for review"
                    )
                if applied is None and invoice_number in account.paid_invoices:
                    raise PaymentRejected(
                        f"invoice {invoice_number} is already paid; payment {payment_id} of {amount} "
                        "kept for review (a refund or a credit is the operator's call)"
                    )
            except PaymentRejected as exc:
                # kept (once per id) in this unit of work; nothing else is written
                uow.payments.reject(payment_id, account.id, str(exc), _payment_doc(payment), at=now)
                return ConfirmResult(False, account.lease, invoice_number), str(exc)
            if not uow.payments.record(payment_id, account.id, _payment_doc(payment), at=now):
                return ConfirmResult(False, account.lease, invoice_number), None  # a repeated delivery
            lease = self._paid(account.lease, invoice, now)
            updated = attrs.evolve(
                account, lease=lease, paid_invoices=account.paid_invoices | {invoice_number}
            )
            self._save(uow, updated, version)
            self._record(
                uow,
                updated,
                now,
                "payment",
                actor,
                f"payment {payment_id}",
                invoice=invoice_number,
                amount=str(amount.amount),
                method=payment.method.value,
                tariff_before=account.lease.tariff.code,
                tariff_after=lease.tariff.code,
                paid_until_before=account.lease.paid_until.isoformat(),
                paid_until_after=lease.paid_until.isoformat(),
            )
            self._notify(
                uow,
                updated,
                now,
                "payment_received",
                lambda locale: payment_received(
                    number=invoice_number,
                    amount=amount,
                    paid_until=lease.paid_until,
                    tz=updated.tz,
                    locale=locale,
                ),
                number=invoice_number,
                payment_id=payment_id,
            )
            if account.referred_by is not None:
                self._reward(uow, account.referred_by, account.id, payment_id, amount, now)
            return ConfirmResult(True, lease, invoice_number), None

        result, rejected = self._retrying(work)
        if rejected is not None:
            raise PaymentRejected(rejected)
        return result

    def _reward(
        self,
        uow: UnitOfWork,
        referrer_id: str,
        referred_id: str,
        payment_id: str,
        amount: Money,
        at: datetime,
    ) -> None:
        try:
            referrer, version = self._load(uow, referrer_id)
        except AccountNotFound:
            return  # the referrer's account is gone; nothing to credit
        if amount.amount <= 0:
            return
        ledger = referrer.bonus.credit(payment_id, amount, self.rewards)
        if ledger == referrer.bonus:
            return
        updated = attrs.evolve(
            referrer, bonus=ledger, paying_referrals=referrer.paying_referrals | {referred_id}
        )
        self._save(uow, updated, version)
        self._record(
            uow,
            updated,
            at,
            "referral_reward",
            "payments",
            f"payment {payment_id} of {referred_id}",
            referred=referred_id,
            payment_id=payment_id,
            reward=str((ledger.earned - referrer.bonus.earned).amount),
        )

    # -- mail -------------------------------------------------------------------------------------------
    def reserve_mail(
        self, account_id: str, n: int, *, partial: bool = False, at: datetime | None = None
    ) -> Reservation:
        """Reserve ``n`` recipients in the rolling 24-hour window; refusals say when they will fit."""
        now = self._now(at)
        _check_flag(partial, "partial")

        def work(uow: UnitOfWork) -> Reservation:
            account, _ = self._load(uow, account_id)
            limit = account.lease.tariff.limits.mail_per_24h
            before = uow.mail.window(account.id, limit=limit, at=now).used(now)
            reservation = uow.mail.reserve(account.id, n, limit=limit, at=now, partial=partial)
            after = before + reservation.granted
            threshold = limit * MAIL_WARNING_SHARE
            if limit and before < threshold <= after:
                day = now.astimezone(zone(account.tz)).date().isoformat()
                self._notify(
                    uow,
                    account,
                    now,
                    "mail_quota_80",
                    lambda locale: mail_quota_warning(used=after, limit=limit, locale=locale),
                    dedup_key=f"mail80:{account.id}:{day}",
                    used=after,
                    limit=limit,
                )
            return reservation

        # a refusal (QuotaExceeded) leaves the unit of work uncommitted: nothing is written
        return self._retrying(work)

    def release_mail(self, account_id: str, reservation: Reservation, *, at: datetime | None = None) -> None:
        """Give back a reservation's capacity (the send failed)."""
        now = self._now(at)

        def work(uow: UnitOfWork) -> None:
            uow.accounts.get(account_id)
            uow.mail.release(account_id, reservation, at=now)

        self._retrying(work)

    def plan_mail(self, account_id: str, n: int, *, at: datetime | None = None) -> list[tuple[datetime, int]]:
        """A schedule of (time, count) batches for a campaign of ``n`` recipients, finishing earliest."""
        now = self._now(at)
        with self.storage.unit_of_work() as uow:
            account, _ = self._load(uow, account_id)
            window = uow.mail.window(account.id, limit=account.lease.tariff.limits.mail_per_24h, at=now)
        return window.plan(n, now)

    # -- usage ------------------------------------------------------------------------------------------
    def record_usage(
        self,
        account_id: str,
        *,
        users: int | None = None,
        disk_bytes: int | None = None,
        at: datetime | None = None,
    ) -> Usage:
        """The host reports what the account uses now (users created, disk bytes)."""
        self._now(at)

        def work(uow: UnitOfWork) -> Usage:
            account, version = self._load(uow, account_id)
            usage = Usage(
                users=account.usage.users if users is None else users,
                disk_bytes=account.usage.disk_bytes if disk_bytes is None else disk_bytes,
            )
            self._save(uow, attrs.evolve(account, usage=usage), version)
            return usage

        return self._retrying(work)

    def add_users(self, account_id: str, n: int = 1, *, at: datetime | None = None) -> Usage:
        """Create ``n`` users if the tariff allows; else :class:`QuotaExceeded` with the figures."""
        self._now(at)

        def work(uow: UnitOfWork) -> Usage:
            account, version = self._load(uow, account_id)
            check_users(account.usage, account.lease.tariff.limits, n)
            usage = attrs.evolve(account.usage, users=account.usage.users + n)
            self._save(uow, attrs.evolve(account, usage=usage), version)
            return usage

        return self._retrying(work)

    def add_disk(self, account_id: str, n_bytes: int, *, at: datetime | None = None) -> Usage:
        """Store ``n_bytes`` more if the tariff's disk allows; else :class:`QuotaExceeded`."""
        self._now(at)

        def work(uow: UnitOfWork) -> Usage:
            account, version = self._load(uow, account_id)
            check_disk(account.usage, account.lease.tariff.limits, n_bytes)
            usage = attrs.evolve(account.usage, disk_bytes=account.usage.disk_bytes + n_bytes)
            self._save(uow, attrs.evolve(account, usage=usage), version)
            return usage

        return self._retrying(work)

    def record_load(self, account_id: str, amount: int | Decimal, *, at: datetime | None = None) -> None:
        """A load sample from the host: resource used since the previous sample."""
        now = self._now(at)

        def work(uow: UnitOfWork) -> None:
            account, version = self._load(uow, account_id)
            self._save(uow, attrs.evolve(account, load=account.load.record(amount, now)), version)

        self._retrying(work)

    # -- backups and updates ----------------------------------------------------------------------------
    def set_backup_window(
        self,
        account_id: str,
        window: str | BackupWindow,
        *,
        at: datetime | None = None,
        actor: str = "customer",
    ) -> BackupWindow:
        """Pick the daily backup window from the provider's offer; refused if too short for the estimate."""
        now = self._now(at)
        _check_actor(actor)
        chosen = (
            window
            if isinstance(window, BackupWindow)
            else BackupWindow.parse(window, self.provider.backup_tz)
        )

        def work(uow: UnitOfWork) -> BackupWindow:
            account, version = self._load(uow, account_id)
            picked = choose_window(chosen, self.offered_windows, estimate=self._estimate(account))
            self._save(uow, attrs.evolve(account, backup_window=picked), version)
            self._record(uow, account, now, "backup_window", actor, "", window=str(picked))
            return picked

        return self._retrying(work)

    def set_auto_update(
        self, account_id: str, on: bool, *, at: datetime | None = None, actor: str = "customer"
    ) -> None:
        now = self._now(at)
        _check_actor(actor)
        if not isinstance(on, bool):
            raise InvalidType(f"auto-update must be True or False, got {on!r}")

        def work(uow: UnitOfWork) -> None:
            account, version = self._load(uow, account_id)
            self._save(uow, attrs.evolve(account, auto_update=on), version)
            self._record(uow, account, now, "auto_update", actor, "", on=on)

        self._retrying(work)

    def switch_ftp_on(
        self, account_id: str, *, at: datetime | None = None, actor: str = "customer"
    ) -> FtpAccess:
        """Switch FTP access on: fresh credentials go to the host's sink; only the hash is kept.

        The credentials reach the sink once, after the hash is committed: a failed or retried unit of work
        never hands out a password that does not work. If the sink then fails, its error propagates and
        switching on again issues new credentials.
        """
        now = self._now(at)
        _check_actor(actor)
        if self.ftp_sink is None:
            raise ConfigurationError("no FTP credentials sink was given to CabinetService; FTP access is off")
        sink = self.ftp_sink
        held = _HeldCredentials()

        def work(uow: UnitOfWork) -> FtpAccess:
            account, version = self._load(uow, account_id)
            access = FtpAccess.switch_on(account.id, held)  # a retry replaces the held credentials
            self._save(uow, attrs.evolve(account, ftp=access), version)
            self._record(uow, account, now, "ftp_access", actor, "", on=True)
            return access

        access = self._retrying(work)
        if held.credentials is None:  # pragma: no cover - switch_on delivers before it returns
            raise AssertionError("FtpAccess.switch_on returned without credentials")
        sink.deliver(held.credentials)
        return access

    def record_backup(
        self, account_id: str, *, started: datetime, finished: datetime, succeeded: bool, size_bytes: int
    ) -> str:
        """The server reports a night's backup; returns the auto-update decision's reason code."""
        outcome = BackupOutcome(started, finished, succeeded)
        if isinstance(size_bytes, bool) or not isinstance(size_bytes, int):
            raise InvalidType(f"size_bytes must be a whole number of bytes, got {size_bytes!r}")
        if size_bytes < 0:
            raise InvalidInput(f"size_bytes must not be negative, got {size_bytes}")

        def work(uow: UnitOfWork) -> str:
            account, version = self._load(uow, account_id)
            window = account.backup_window
            # "that night" is the window occurrence the backup started in (None: outside every window)
            night = window.containing(outcome.started)
            decision = plan_update(
                auto_update=account.auto_update,
                installed=account.installed,
                latest=self.latest,
                night=night,
                backup=outcome,
            )
            updated = attrs.evolve(
                account,
                last_backup=outcome,
                last_backup_bytes=size_bytes if succeeded else account.last_backup_bytes,
            )
            if decision.at is not None:
                updated = attrs.evolve(updated, installed=self.latest)
            self._save(uow, updated, version)
            self._record(
                uow,
                updated,
                outcome.finished,
                "backup",
                "server",
                decision.message,
                succeeded=succeeded,
                size_bytes=size_bytes,
                update=decision.reason,
            )
            estimate = self.throughput.estimate(size_bytes)
            if not window_fit(updated.backup_window, estimate).fits:
                self._notify(
                    uow,
                    updated,
                    outcome.finished,
                    "backup_does_not_fit",
                    lambda locale: backup_does_not_fit(
                        estimate=estimate, window=updated.backup_window, locale=locale
                    ),
                    dedup_key=f"backupfit:{account.id}:{_night_of(window, night, outcome.started)}",
                )
            return decision.reason

        return self._retrying(work)

    # -- settings ---------------------------------------------------------------------------------------
    def set_forwarding(
        self, account_id: str, text: str, *, at: datetime | None = None, actor: str = "customer"
    ) -> tuple[str, ...]:
        """Replace the forwarding list (``""`` clears it); every bad entry is named, nothing half-applied."""
        now = self._now(at)
        _check_actor(actor)

        def work(uow: UnitOfWork) -> tuple[str, ...]:
            account, version = self._load(uow, account_id)
            addresses = parse_forwarding(
                text, own_mailbox=self.own_mailbox(account), max_count=self.provider.forwarding_max
            )
            self._save(uow, attrs.evolve(account, forwarding=addresses), version)
            self._record(uow, account, now, "forwarding", actor, "", addresses=list(addresses))
            return addresses

        return self._retrying(work)

    def set_contacts(
        self,
        account_id: str,
        *,
        name: str,
        email: str,
        phone: str | None = None,
        channel: str = "email",
        at: datetime | None = None,
        actor: str = "customer",
    ) -> Contacts:
        now = self._now(at)
        _check_actor(actor)
        contacts = Contacts(
            name=name,
            email=email,
            phone=None if phone is None or phone == "" else Phone.parse(phone),
            channel=channel,
        )

        def work(uow: UnitOfWork) -> Contacts:
            account, version = self._load(uow, account_id)
            self._save(uow, attrs.evolve(account, contacts=contacts), version)
            self._record(
                uow, account, now, "contacts", actor, "", email=contacts.email, channel=contacts.channel.value
            )
            return contacts

        return self._retrying(work)

    def request_own_domain(
        self, account_id: str, domain: str, *, at: datetime | None = None, actor: str = "customer"
    ) -> OwnDomainRequest:
        """Start connecting an own domain (``custom_domain`` tariffs only); returns the DNS instructions."""
        now = self._now(at)
        _check_actor(actor)

        def work(uow: UnitOfWork) -> OwnDomainRequest:
            account, version = self._load(uow, account_id)
            own = OwnDomain.request(
                domain,
                tariff=account.lease.tariff,
                masters=self.masters,
                allowing=self.catalog.with_feature("custom_domain"),
            )
            updated = attrs.evolve(account, own_domain=own)
            self._save(uow, updated, version)
            self._record(uow, account, now, "own_domain", actor, "requested", domain=own.hostname.ascii)
            return OwnDomainRequest(own, own.instructions(self.system_domain(account)))

        try:
            return self._retrying(work)
        except KeyTaken as exc:
            taken = Hostname(exc.key.removeprefix("domain:")).unicode
            raise InvalidInput(
                f"the domain {taken!r} is already connected to another account; "
                "an own domain can serve one account only"
            ) from None

    def verify_own_domain(
        self, account_id: str, *, at: datetime | None = None, actor: str = "customer"
    ) -> OwnDomain:
        """Activate the own domain if DNS proves ownership (through the host's resolver)."""
        now = self._now(at)
        _check_actor(actor)
        if self.dns is None:
            raise ConfigurationError("no DnsResolver was given to CabinetService; domains cannot be verified")
        resolver = self.dns

        def work(uow: UnitOfWork) -> OwnDomain:
            account, version = self._load(uow, account_id)
            if account.own_domain is None:
                raise InvalidInput(f"account {account.id!r} has no own domain to verify; request one first")
            own = account.own_domain.verify(
                resolver,
                system=self.system_domain(account),
                tariff=account.lease.tariff,
                allowing=self.catalog.with_feature("custom_domain"),
                at=now,
            )
            self._save(uow, attrs.evolve(account, own_domain=own), version)
            self._record(uow, account, now, "own_domain", actor, "verified", domain=own.hostname.ascii)
            return own

        return self._retrying(work)

    # -- notifications ----------------------------------------------------------------------------------
    def send_term_reminders(self, *, at: datetime | None = None) -> int:
        """Queue «term ending in 7/3/1 days» notices (each once per term); returns how many were queued."""
        now = self._now(at)
        queued = 0
        after: str | None = None
        while True:
            with self.storage.unit_of_work() as uow:
                ids = uow.accounts.ids(after=after, limit=500)
            if not ids:
                return queued
            for account_id in ids:
                queued += self._term_reminder(account_id, now)
            after = ids[-1]

    def _term_reminder(self, account_id: str, now: datetime) -> int:
        def work(uow: UnitOfWork) -> int:
            account, _ = self._load(uow, account_id)
            lease = account.lease
            if lease.tariff.is_free or not lease.is_active(now) or account.contacts is None:
                return 0
            days = -(-lease.remaining(now) // timedelta(days=1))
            if days not in TERM_NOTICE_DAYS:
                return 0
            key = f"term:{account.id}:{lease.paid_until.isoformat()}:{days}"
            queued = self._notify(
                uow,
                account,
                now,
                "term_ending",
                lambda locale: term_ending(
                    days=days, paid_until=lease.paid_until, tz=account.tz, locale=locale
                ),
                dedup_key=key,
                days=days,
            )
            return 1 if queued else 0  # 0: this term's notice for these days went out already

        return self._retrying(work)

    def deliver_notifications(self, *, limit: int = 100) -> DeliveryReport:
        """Deliver due notifications through the Mailer (after the commits that queued them)."""
        if self.mailer is None:
            raise ConfigurationError("no Mailer was given to CabinetService; notifications stay queued")
        from .adapters.dispatch import deliver_outbox

        return deliver_outbox(self.storage, self.mailer, self.clock, limit=limit)


class _HeldCredentials:
    """Keeps the credentials FtpAccess.switch_on hands out until the unit of work has committed."""

    def __init__(self) -> None:
        self.credentials: FtpCredentials | None = None

    def deliver(self, credentials: FtpCredentials) -> None:
        self.credentials = credentials


def _night_of(window: BackupWindow, night: tuple[datetime, datetime] | None, started: datetime) -> str:
    """The local date a backup's night is known by: the date its window opened (else the start's date)."""
    opened = started if night is None else night[0]
    return opened.astimezone(window.zone).date().isoformat()


def _invoice_doc(invoice: Invoice) -> dict[str, Any]:
    return {
        "number": invoice.number,
        "account_id": invoice.account_id,
        "tariff": invoice.tariff_code,
        "months": invoice.months,
        "issued_at": invoice.issued_at.isoformat(),
        "currency": invoice.currency,
        "lines": [
            {"kind": line.kind, "description": line.description, "amount": str(line.amount.amount)}
            for line in invoice.lines
        ],
    }


def _invoice_from(doc: dict[str, Any]) -> Invoice:
    currency = doc["currency"]
    return Invoice(
        number=doc["number"],
        account_id=doc["account_id"],
        tariff_code=doc["tariff"],
        months=doc["months"],
        issued_at=datetime.fromisoformat(doc["issued_at"]),
        lines=tuple(
            InvoiceLine(line["kind"], line["description"], Money(line["amount"], currency))
            for line in doc["lines"]
        ),
    )


def _payment_doc(payment: Payment) -> dict[str, Any]:
    return {
        "payment_id": payment.payment_id,
        "invoice": payment.invoice_number,
        "amount": str(payment.amount.amount),
        "currency": payment.amount.currency,
        "method": payment.method.value,
        "received_at": payment.received_at.isoformat(),
    }
