"""The interfaces a host implements (or takes from :mod:`cabinet_core.adapters`): ``typing.Protocol``s.

A host needs no base class of ours: any object with these methods fits. :mod:`cabinet_core.testing` holds
the contract suite that proves a storage adapter keeps the rules listed in :mod:`.storage`.
"""

from __future__ import annotations

from .dns import DnsResolver
from .records import (
    AccountExists,
    HistoryRecord,
    InvoiceNotFound,
    KeyTaken,
    Notification,
    OutboxMessage,
    OutboxStatus,
    RejectedPayment,
    StoredAccount,
    StoredInvoice,
    StoredPayment,
)
from .services import Clock, Mailer, PaymentGateway, PaymentStart, SystemClock
from .storage import (
    AccountStore,
    HistoryLog,
    InvoiceStore,
    MailLedger,
    Outbox,
    PaymentStore,
    Storage,
    UnitOfWork,
)

__all__ = [
    "AccountExists",
    "AccountStore",
    "Clock",
    "DnsResolver",
    "HistoryLog",
    "HistoryRecord",
    "InvoiceNotFound",
    "InvoiceStore",
    "KeyTaken",
    "MailLedger",
    "Mailer",
    "Notification",
    "Outbox",
    "OutboxMessage",
    "OutboxStatus",
    "PaymentGateway",
    "PaymentStart",
    "PaymentStore",
    "RejectedPayment",
    "Storage",
    "StoredAccount",
    "StoredInvoice",
    "StoredPayment",
    "SystemClock",
    "UnitOfWork",
]
