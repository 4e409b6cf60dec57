"""Fakes of the outside-world ports for tests: a clock that moves only when told, a mailer that records."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import attrs

from .._time import require_aware
from ..errors import InvalidInput, InvalidType
from ..money import Money
from ..ports.records import Notification
from ..ports.services import PaymentStart

__all__ = ["FakePaymentGateway", "FixedClock", "RecordingMailer", "SentMail", "StartedPayment"]


class FixedClock:
    """A clock that says ``at`` until moved with :meth:`advance` or :meth:`set`."""

    def __init__(self, at: datetime) -> None:
        self._at = require_aware(at, "at")

    def now(self) -> datetime:
        return self._at

    def advance(self, delta: timedelta | None = None, **units: float) -> datetime:
        """Move forward by ``delta`` (or by ``hours=``, ``minutes=``, ... keywords); return the new time."""
        step = delta if delta is not None else timedelta(**units)
        if not isinstance(step, timedelta):
            raise InvalidType(f"delta must be a timedelta, got {step!r}")
        if step < timedelta(0):
            raise InvalidInput(f"a clock only moves forward, got {step}")
        self._at = self._at + step
        return self._at

    def set(self, at: datetime) -> None:
        self._at = require_aware(at, "at")


@attrs.frozen
class SentMail:
    message_id: str
    notification: Notification


class RecordingMailer:
    """Records every notification it is asked to send; ``fail`` makes the next sends raise."""

    def __init__(self) -> None:
        self.sent: list[SentMail] = []
        self.fail = 0  # how many of the next sends raise
        self._lock = threading.Lock()

    def send(self, notification: Notification, *, message_id: str) -> None:
        with self._lock:
            if self.fail > 0:
                self.fail -= 1
                raise ConnectionError("the mail relay is unavailable (RecordingMailer.fail)")
            self.sent.append(SentMail(message_id, notification))


@attrs.frozen
class StartedPayment:
    account_id: str
    invoice_number: int
    amount: Money
    description: str
    return_url: str
    start: PaymentStart


class FakePaymentGateway:
    """Opens payments with ids ``pay-1``, ``pay-2``, ... and remembers each."""

    def __init__(self, base_url: str = "https://pay.example/checkout") -> None:
        self.base_url = base_url
        self.started: list[StartedPayment] = []

    def start_payment(
        self,
        *,
        account_id: str,
        invoice_number: int,
        amount: Money,
        description: str,
        return_url: str,
    ) -> PaymentStart:
        payment_id = f"pay-{len(self.started) + 1}"
        start = PaymentStart(payment_id=payment_id, redirect_url=f"{self.base_url}/{payment_id}")
        self.started.append(
            StartedPayment(account_id, invoice_number, amount, description, return_url, start)
        )
        return start
