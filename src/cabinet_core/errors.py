"""The one exception hierarchy of cabinet_core.

Every refusal raises a subclass of :class:`CabinetError` that also subclasses the fitting builtin, so a
host can catch ``CabinetError`` for everything of ours, or ``ValueError`` / ``TypeError`` / ``LookupError``
the way it already does. Messages name the offending value and what would be accepted, in words a host can
show to its customer.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

__all__ = [
    "AccountNotFound",
    "CabinetError",
    "CatalogError",
    "ConcurrencyConflict",
    "ConfigurationError",
    "CurrencyMismatch",
    "DowngradeRefused",
    "FeatureNotAvailable",
    "InvalidInput",
    "InvalidType",
    "NaiveDatetime",
    "NotFound",
    "PaymentRejected",
    "QuotaExceeded",
    "StorageError",
    "UnknownCode",
]


class CabinetError(Exception):
    """Root of every error cabinet_core raises on purpose."""


class InvalidInput(CabinetError, ValueError):
    """A value has the right type but is not acceptable (out of range, malformed, not offered)."""


class InvalidType(CabinetError, TypeError):
    """A value has the wrong type (a float where money is expected, a str where a datetime is)."""


class NaiveDatetime(InvalidInput):
    """A datetime without a time zone was given where an instant is needed."""


class CurrencyMismatch(InvalidInput):
    """Two amounts in different currencies were combined."""


class CatalogError(InvalidInput):
    """A provider's tariff catalog (TOML) is malformed or inconsistent."""


class ConfigurationError(InvalidInput):
    """The host configured the library wrongly (an unsupported storage URL, say)."""


class NotFound(CabinetError, LookupError):
    """Something looked up by its key does not exist."""


class UnknownCode(NotFound):
    """A code (tariff, currency, configuration, master domain, ...) is not known."""


class AccountNotFound(NotFound):
    """No account has this id."""


class FeatureNotAvailable(CabinetError, ValueError):
    """The account's tariff does not include what was asked (an own domain without ``custom_domain``)."""


class PaymentRejected(CabinetError, ValueError):
    """A payment does not match its invoice (amount or currency) and was kept for review."""


class ConcurrencyConflict(CabinetError, RuntimeError):
    """A write was based on a stale version of the record; nothing was written."""


class StorageError(CabinetError, RuntimeError):
    """The storage backend failed; the driver's error is chained as ``__cause__``."""


class QuotaExceeded(CabinetError, ValueError):
    """A request would exceed a quota.

    ``limit``, ``used`` and ``requested`` are the figures; ``retry_at`` is, for the rolling mail window,
    the earliest instant the request fits (``None`` when it never can, or for quotas that do not free up
    with time).
    """

    def __init__(
        self,
        message: str,
        *,
        quota: str,
        limit: int,
        used: int,
        requested: int,
        retry_at: datetime | None = None,
    ) -> None:
        super().__init__(message)
        self.quota = quota
        self.limit = limit
        self.used = used
        self.requested = requested
        self.retry_at = retry_at


class DowngradeRefused(CabinetError, ValueError):
    """A tariff change was refused because current usage exceeds the new tariff's limits.

    ``broken`` lists every broken limit, each a human-readable phrase such as ``"users 12 > 10"``.
    """

    def __init__(self, message: str, *, broken: Sequence[str]) -> None:
        super().__init__(message)
        self.broken = tuple(broken)
