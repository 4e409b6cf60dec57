"""The read model of the personal account page: every field of DESIGN.md's page table, as plain values.

The application service builds one :class:`Overview` per request; :mod:`cabinet_core.page` renders it
with babel in Russian or English, and :meth:`Overview.to_dict` gives the JSON form. Nothing here
formats for people.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

import attrs

from .money import Money

__all__ = [
    "BackupView",
    "ContactsView",
    "DomainView",
    "LeaseStatus",
    "ManagerView",
    "Overview",
    "ReferralView",
    "UsageView",
    "VersionView",
]

ENDING_SOON_DAYS = 7  # the page says «заканчивается» this many days before the paid term ends


class LeaseStatus(StrEnum):
    ACTIVE = "active"
    ENDING_SOON = "ending_soon"
    EXPIRED = "expired"
    FREE = "free"


@attrs.frozen
class UsageView:
    used: int
    limit: int

    @property
    def share(self) -> Decimal:
        """used / limit, 0 when the limit is 0 and nothing is used, above 1 when over."""
        if self.limit == 0:
            return Decimal(0) if self.used == 0 else Decimal(1)
        return Decimal(self.used) / Decimal(self.limit)


@attrs.frozen
class ContactsView:
    name: str
    email: str
    phone_e164: str
    phone_national: str
    channel: str


@attrs.frozen
class ManagerView:
    name: str
    email: str
    phone_national: str
    hours: str


@attrs.frozen
class BackupView:
    window_start: str  # local "HH:MM"
    window_end: str
    tz: str
    next_start: datetime | None
    next_end: datetime | None
    estimated_minutes: int
    fits: bool
    auto_update: bool
    ftp_required: bool
    ftp_enabled: bool
    last_backup_bytes: int
    ftp_threshold_mb: int = 700


@attrs.frozen
class DomainView:
    system_domain: str
    master_domain: str
    own_domain: str | None  # shown as U-label
    own_domain_status: str  # "none", "pending", "active", "inactive"


@attrs.frozen
class ReferralView:
    code: str
    link: str
    bonus_credit: Money
    referred_accounts: int


@attrs.frozen
class VersionView:
    version: str
    revision: int
    latest_version: str
    latest_revision: int
    update_available: bool


@attrs.frozen
class Overview:
    """Everything the personal account page shows, at one instant ``at``."""

    at: datetime
    account_id: str
    name: str
    tz: str
    configuration_code: str
    configuration_title: str
    tariff_code: str
    tariff_title: str
    ru_mark: bool
    monthly_price: Money
    paid_until: datetime | None
    days_left: int | None
    status: LeaseStatus
    users: UsageView
    disk_bytes: UsageView  # used and limit in bytes; the page shows MB of 1,048,576 bytes
    mail_24h: UsageView
    load_factor: Decimal
    load_level: str
    contacts: ContactsView | None
    manager: ManagerView | None
    backup: BackupView
    forwarding: tuple[str, ...]
    domains: DomainView
    referral: ReferralView
    version: VersionView

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict: instants as ISO 8601, money as {"amount": "1990.00", "currency": "RUB"}."""
        out: dict[str, Any] = _plain(attrs.asdict(self, recurse=False))
        return out


def _plain(value: Any) -> Any:
    if isinstance(value, Money):
        return {"amount": str(value.round(rounding="ROUND_HALF_UP").amount), "currency": value.currency}
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, StrEnum):
        return value.value
    if attrs.has(type(value)):
        return _plain(attrs.asdict(value, recurse=False))
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value
