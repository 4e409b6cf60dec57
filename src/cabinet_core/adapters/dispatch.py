"""The outbox dispatcher: delivers notifications after their transaction committed, through the Mailer port.

Use cases only enqueue (in the same unit of work as the change that caused the notification). A job, a
thread or a call after the use case runs :func:`deliver_outbox`: it claims due messages under a lease in one
short transaction, sends each outside any transaction, and records the result of each in its own
transaction. A failure is retried later with exponential backoff; after ``max_attempts`` the message is
kept as dead for an operator to look at, never dropped.

Why nothing is sent twice: a claimed message belongs to one dispatcher until its lease ends, and only that
claim can mark it sent. Pick a lease longer than the mailer's own timeout. The one gap no outbox can close
is a crash between the mailer accepting a message and the result being recorded: the message is sent
again when the lease ends, with the same ``message_id``, so a host's mailer can drop the duplicate.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import attrs

from ..errors import InvalidInput, InvalidType
from ..ports.services import Clock, Mailer
from ..ports.storage import Storage
from ._common import check_lease, check_limit

__all__ = ["DeliveryReport", "backoff", "deliver_outbox"]

_MAX_BACKOFF = timedelta(hours=6)


@attrs.frozen
class DeliveryReport:
    """What one run did: messages sent, failed (to be retried), given up (dead), and lost to another claim."""

    sent: int = 0
    retried: int = 0
    dead: int = 0
    lost: int = 0


def backoff(attempts: int) -> timedelta:
    """The wait before the next attempt: 1 min after the first failure, doubling, at most 6 h."""
    return min(_MAX_BACKOFF, timedelta(minutes=1) * (1 << min(max(attempts, 1) - 1, 20)))


def deliver_outbox(
    storage: Storage,
    mailer: Mailer,
    clock: Clock,
    *,
    limit: int = 100,
    lease: timedelta = timedelta(minutes=5),
    max_attempts: int = 10,
) -> DeliveryReport:
    """Send up to ``limit`` due notifications; return what happened. Safe to run from many processes."""
    check_limit(limit)
    check_lease(lease)
    if isinstance(max_attempts, bool) or not isinstance(max_attempts, int):
        raise InvalidType(f"max_attempts must be a whole number, got {max_attempts!r}")
    if max_attempts < 1:
        raise InvalidInput(f"max_attempts must be at least 1, got {max_attempts}")
    claim = uuid.uuid4().hex
    with storage.unit_of_work() as uow:
        messages = uow.outbox.claim(at=clock.now(), lease=lease, limit=limit, claim=claim)
        uow.commit()
    sent = retried = dead = lost = 0
    for message in messages:
        try:
            mailer.send(message.notification, message_id=message.message_id)
        except Exception as exc:  # any failure of the host's mailer is a failed attempt, to retry
            now = clock.now()
            give_up = message.attempts >= max_attempts
            with storage.unit_of_work() as uow:
                held = uow.outbox.mark_failed(
                    message.id,
                    claim=claim,
                    at=now,
                    error=f"{type(exc).__name__}: {exc}",
                    retry_at=None if give_up else now + backoff(message.attempts),
                )
                uow.commit()
            if not held:
                lost += 1
            elif give_up:
                dead += 1
            else:
                retried += 1
            continue
        with storage.unit_of_work() as uow:
            held = uow.outbox.mark_sent(message.id, claim=claim, at=clock.now())
            uow.commit()
        if held:
            sent += 1
        else:
            lost += 1
    return DeliveryReport(sent=sent, retried=retried, dead=dead, lost=lost)
