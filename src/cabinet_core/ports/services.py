"""The ports for the world outside storage: the clock, the mailer and the online payment gateway.

The host implements them (or uses :class:`SystemClock`); tests use the fakes in :mod:`cabinet_core.testing`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

import attrs

from ..errors import InvalidInput
from ..money import Money
from .records import Notification, check_identifier

__all__ = ["Clock", "Mailer", "PaymentGateway", "PaymentStart", "SystemClock"]


@runtime_checkable
class Clock(Protocol):
    """Tells the application what time it is; the domain itself never asks."""

    def now(self) -> datetime:
        """The current instant, timezone-aware."""
        ...


class SystemClock:
    """The real clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


@runtime_checkable
class Mailer(Protocol):
    """Delivers a notification (the host's SMTP relay, mail API, or a fake)."""

    def send(self, notification: Notification, *, message_id: str) -> None:
        """Send it, or raise; ``message_id`` is the same on every retry, so the host can deduplicate."""
        ...


def _url(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    if not isinstance(value, str) or not value.startswith(("https://", "http://")):
        raise InvalidInput(f"{attribute.name} must be an http(s) URL, got {value!r}")


def _payment_id(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    check_identifier(value, attribute.name)


@attrs.frozen
class PaymentStart:
    """An online payment the gateway opened: where to send the customer, and the id it will confirm."""

    payment_id: str = attrs.field(validator=_payment_id)
    redirect_url: str = attrs.field(validator=_url)


@runtime_checkable
class PaymentGateway(Protocol):
    """The host's online payment provider."""

    def start_payment(
        self,
        *,
        account_id: str,
        invoice_number: int,
        amount: Money,
        description: str,
        return_url: str,
    ) -> PaymentStart:
        """Open a payment for an invoice; the confirmation arrives later with ``payment_id``."""
        ...
