"""cabinet_core: every rule behind the personal account page of a hosted, subscription-sold application.

The public names below are loaded lazily so that importing the package does no work (no catalogs,
no zones, no connections) and costs only what a host actually uses.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# name -> module that defines it; the stable API of DESIGN.md plus what hosts need around it.
_EXPORTS: dict[str, str] = {
    "Money": "money",
    "Limits": "tariffs",
    "Tariff": "tariffs",
    "TariffCatalog": "tariffs",
    "Configuration": "tariffs",
    "Lease": "tariffs",
    "TariffChange": "tariffs",
    "Usage": "quotas",
    "MailWindow": "quotas",
    "Reservation": "quotas",
    "LoadFactor": "quotas",
    "LoadMeter": "quotas",
    "MailQuotaExceeded": "quotas",
    "BackupWindow": "backup_policy",
    "RetentionPolicy": "backup_policy",
    "BackupThroughput": "backup_policy",
    "BackupSchedule": "backup_policy",
    "BackupJob": "backup_policy",
    "NightPlan": "backup_policy",
    "plan_night": "backup_policy",
    "Version": "backup_policy",
    "parse_forwarding": "forwarding",
    "ForwardingRejected": "forwarding",
    "Hostname": "domains",
    "MasterDomains": "domains",
    "OwnDomain": "domains",
    "DomainStatus": "domains",
    "Contacts": "contacts",
    "Channel": "contacts",
    "Phone": "contacts",
    "Manager": "contacts",
    "WorkingHours": "contacts",
    "ReferralCode": "referrals",
    "Attribution": "referrals",
    "RewardPolicy": "referrals",
    "BonusLedger": "referrals",
    "CabinetError": "errors",
    "InvalidInput": "errors",
    "InvalidType": "errors",
    "NaiveDatetime": "errors",
    "CurrencyMismatch": "errors",
    "CatalogError": "errors",
    "ConfigurationError": "errors",
    "NotFound": "errors",
    "UnknownCode": "errors",
    "AccountNotFound": "errors",
    "FeatureNotAvailable": "errors",
    "PaymentRejected": "errors",
    "ConcurrencyConflict": "errors",
    "StorageError": "errors",
    "QuotaExceeded": "errors",
    "DowngradeRefused": "errors",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from .backup_policy import (
        BackupJob,
        BackupSchedule,
        BackupThroughput,
        BackupWindow,
        NightPlan,
        RetentionPolicy,
        Version,
        plan_night,
    )
    from .contacts import Channel, Contacts, Manager, Phone, WorkingHours
    from .domains import DomainStatus, Hostname, MasterDomains, OwnDomain
    from .errors import (
        AccountNotFound,
        CabinetError,
        CatalogError,
        ConcurrencyConflict,
        ConfigurationError,
        CurrencyMismatch,
        DowngradeRefused,
        FeatureNotAvailable,
        InvalidInput,
        InvalidType,
        NaiveDatetime,
        NotFound,
        PaymentRejected,
        QuotaExceeded,
        StorageError,
        UnknownCode,
    )
    from .forwarding import ForwardingRejected, parse_forwarding
    from .money import Money
    from .quotas import LoadFactor, LoadMeter, MailQuotaExceeded, MailWindow, Reservation, Usage
    from .referrals import Attribution, BonusLedger, ReferralCode, RewardPolicy
    from .tariffs import Configuration, Lease, Limits, Tariff, TariffCatalog, TariffChange


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'cabinet_core' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
