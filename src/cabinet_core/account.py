"""The account aggregate: everything the personal account page is about, as one frozen value.

The application service loads it from storage (a versioned JSON document), asks the domain modules for the
next state, and saves it back with the version it read, so a concurrent change is refused, never merged.
:meth:`Account.to_document` and :meth:`Account.from_document` are the only places that know the stored form.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import attrs

from .backup_policy import BackupOutcome, BackupWindow, FtpAccess, Version
from .contacts import Contacts, Phone
from .domains import DomainStatus, OwnDomain, VerificationMethod
from .errors import CabinetError, StorageError
from .money import Money
from .quotas import LoadMeter, Usage
from .referrals import BonusLedger, ReferralCode
from .tariffs import Lease, TariffCatalog

__all__ = ["DOCUMENT_VERSION", "Account"]

DOCUMENT_VERSION = 1  # the layout of the stored document; bumped (with a reader for the old one) on change


@attrs.frozen
class Account:
    """One customer account. ``id`` is the account name, a DNS label unique across the provider."""

    id: str
    opened_at: datetime
    tz: str
    locale: str
    configuration: str
    lease: Lease
    master_domain: str
    own_domain: OwnDomain | None
    contacts: Contacts | None
    forwarding: tuple[str, ...]
    backup_window: BackupWindow
    auto_update: bool
    ftp: FtpAccess | None
    last_backup_bytes: int
    last_backup: BackupOutcome | None
    installed: Version
    referral_code: ReferralCode
    referred_by: str | None
    bonus: BonusLedger
    usage: Usage
    load: LoadMeter
    # invoices already paid: a second payment of one is kept for review, never applied twice
    paid_invoices: frozenset[int] = frozenset()
    # invoices cancelled unpaid (their bonus credit given back): a payment of one is kept for review
    cancelled_invoices: frozenset[int] = frozenset()
    # accounts this one referred that have paid at least once (the page's «N аккаунтов»)
    paying_referrals: frozenset[str] = frozenset()

    # -- keys the store indexes for unique lookups ------------------------------------------------------
    def keys(self) -> list[str]:
        out = [f"referral:{self.referral_code.value}"]
        if self.own_domain is not None:
            out.append(f"domain:{self.own_domain.hostname.ascii}")
        return out

    # -- the stored form ------------------------------------------------------------------------------
    def to_document(self) -> dict[str, Any]:
        own = self.own_domain
        last = self.last_backup
        return {
            "doc": DOCUMENT_VERSION,
            "opened_at": self.opened_at.isoformat(),
            "tz": self.tz,
            "locale": self.locale,
            "configuration": self.configuration,
            "lease": {
                "tariff": self.lease.tariff.code,
                "paid_until": self.lease.paid_until.isoformat(),
                "anchor_day": self.lease.anchor_day,
            },
            "master_domain": self.master_domain,
            "own_domain": None
            if own is None
            else {
                "hostname": own.hostname.ascii,
                "token": own.token,
                "status": own.status.value,
                "verified_at": None if own.verified_at is None else own.verified_at.isoformat(),
                "method": None if own.method is None else own.method.value,
            },
            "contacts": None
            if self.contacts is None
            else {
                "name": self.contacts.name,
                "email": self.contacts.email,
                "phone": None if self.contacts.phone is None else self.contacts.phone.e164,
                "channel": self.contacts.channel.value,
            },
            "forwarding": list(self.forwarding),
            "backup_window": {
                "start": self.backup_window.start.strftime("%H:%M"),
                "end": self.backup_window.end.strftime("%H:%M"),
                "tz": self.backup_window.tz,
            },
            "auto_update": self.auto_update,
            "ftp": None
            if self.ftp is None
            else {"username": self.ftp.username, "password_hash": self.ftp.password_hash},
            "last_backup_bytes": self.last_backup_bytes,
            "last_backup": None
            if last is None
            else {
                "started": last.started.isoformat(),
                "finished": last.finished.isoformat(),
                "succeeded": last.succeeded,
            },
            "installed": {"version": self.installed.version, "revision": self.installed.revision},
            "referral_code": self.referral_code.value,
            "referred_by": self.referred_by,
            "bonus": {
                "earned": str(self.bonus.earned.amount),
                "spent": str(self.bonus.spent.amount),
                "currency": self.bonus.currency,
                "credited": sorted(self.bonus.credited),
            },
            "usage": {"users": self.usage.users, "disk_bytes": self.usage.disk_bytes},
            "paid_invoices": sorted(self.paid_invoices),
            "cancelled_invoices": sorted(self.cancelled_invoices),
            "paying_referrals": sorted(self.paying_referrals),
            "load": {
                "rate": str(self.load.rate),
                "since": None if self.load.since is None else self.load.since.isoformat(),
            },
        }

    @classmethod
    def from_document(cls, account_id: str, doc: dict[str, Any], catalog: TariffCatalog) -> Account:
        """The account a stored document describes.

        A document written by a newer layout, or one that is not an account document at all (edited by
        hand, written by another program), is refused with :class:`~cabinet_core.errors.StorageError`
        naming the account, never read half-way. A tariff the catalog no longer offers raises the catalog's
        :class:`~cabinet_core.errors.UnknownCode`.
        """
        layout = doc.get("doc") if isinstance(doc, dict) else None
        if layout != DOCUMENT_VERSION:
            raise StorageError(
                f"account {account_id!r}: the stored document has layout {layout!r}; this cabinet_core "
                f"reads layout {DOCUMENT_VERSION}"
            )
        try:
            return cls._read(account_id, doc, catalog)
        except CabinetError as exc:
            if isinstance(exc, LookupError):
                raise  # e.g. a tariff code the catalog no longer has: the catalog's own clear error
            raise StorageError(f"account {account_id!r}: the stored document is malformed: {exc}") from exc
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise StorageError(
                f"account {account_id!r}: the stored document is malformed ({type(exc).__name__}: {exc})"
            ) from exc

    @classmethod
    def _read(cls, account_id: str, doc: dict[str, Any], catalog: TariffCatalog) -> Account:
        from datetime import time

        def instant(value: str | None) -> datetime | None:
            return None if value is None else datetime.fromisoformat(value)

        lease = doc["lease"]
        own = doc["own_domain"]
        contacts = doc["contacts"]
        win = doc["backup_window"]
        ftp = doc["ftp"]
        last = doc["last_backup"]
        bonus = doc["bonus"]
        load = doc["load"]
        return cls(
            id=account_id,
            opened_at=datetime.fromisoformat(doc["opened_at"]),
            tz=doc["tz"],
            locale=doc["locale"],
            configuration=doc["configuration"],
            lease=Lease(
                catalog[lease["tariff"]],
                datetime.fromisoformat(lease["paid_until"]),
                doc["tz"],
                lease["anchor_day"],
            ),
            master_domain=doc["master_domain"],
            own_domain=None
            if own is None
            else OwnDomain(
                hostname=own["hostname"],
                token=own["token"],
                status=DomainStatus(own["status"]),
                verified_at=instant(own["verified_at"]),
                method=None if own["method"] is None else VerificationMethod(own["method"]),
            ),
            contacts=None
            if contacts is None
            else Contacts(
                name=contacts["name"],
                email=contacts["email"],
                phone=None if contacts["phone"] is None else Phone(contacts["phone"]),
                channel=contacts["channel"],
            ),
            forwarding=tuple(doc["forwarding"]),
            backup_window=BackupWindow(
                start=time.fromisoformat(win["start"]), end=time.fromisoformat(win["end"]), tz=win["tz"]
            ),
            auto_update=doc["auto_update"],
            ftp=None if ftp is None else FtpAccess(ftp["username"], ftp["password_hash"]),
            last_backup_bytes=doc["last_backup_bytes"],
            last_backup=None
            if last is None
            else BackupOutcome(
                datetime.fromisoformat(last["started"]),
                datetime.fromisoformat(last["finished"]),
                last["succeeded"],
            ),
            installed=Version(doc["installed"]["version"], doc["installed"]["revision"]),
            referral_code=ReferralCode(doc["referral_code"]),
            referred_by=doc["referred_by"],
            bonus=BonusLedger(
                earned=Money(bonus["earned"], bonus["currency"]),
                spent=Money(bonus["spent"], bonus["currency"]),
                credited=frozenset(bonus["credited"]),
            ),
            usage=Usage(users=doc["usage"]["users"], disk_bytes=doc["usage"]["disk_bytes"]),
            load=LoadMeter(rate=Decimal(load["rate"]), since=instant(load["since"])),
            # absent from documents written before invoices were tracked: nothing known to be paid
            paid_invoices=frozenset(int(n) for n in doc.get("paid_invoices", [])),
            cancelled_invoices=frozenset(int(n) for n in doc.get("cancelled_invoices", [])),
            paying_referrals=frozenset(str(a) for a in doc.get("paying_referrals", [])),
        )
