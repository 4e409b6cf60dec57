"""The mail ledger's decision, shared by every adapter: replay the stored grants through the pure model.

An adapter locks the account's ledger, loads the grants of the window, and asks
:class:`~cabinet_core.quotas.MailWindow` (the one implementation of the rolling-window rule) whether and
how much to grant; it stores the grant as a row and hands back a :class:`~cabinet_core.quotas.Reservation`
whose ``id`` is that row's id. Decisions, ``retry_at`` included, are therefore exactly the pure model's.

The model's clock never runs backwards: a request stamped earlier than the newest grant (another process's
clock is a little ahead) is granted at the newest grant's instant. So every stored grant is at least as
late as the ones before it, and a row at or before ``stamp - 24 h`` can never count again: that is the
pruning rule.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from ..errors import InvalidInput, InvalidType
from ..quotas import DAY_US, MailWindow, Reservation
from ._common import from_micros

__all__ = ["DAY_US", "decide", "stored", "window"]


def window(limit: int, rows: Sequence[tuple[int, int]], newest_us: int | None = None) -> MailWindow:
    """The pure model holding ``rows`` (``(instant in us, recipients)`` of live grants), its clock at the
    newest instant the ledger has seen (``newest_us``, released grants included, as the model keeps them)."""
    model = MailWindow.from_entries(limit, [(from_micros(at_us), count) for at_us, count in rows])
    if newest_us is not None:
        model.used(from_micros(newest_us))  # moves the model's clock; it never runs backwards
    return model


def decide(
    limit: int,
    used: int,
    newest_us: int | None,
    rows: Callable[[], Sequence[tuple[int, int]]],
    n: int,
    *,
    at: datetime,
    partial: bool,
) -> Reservation:
    """The model's answer to ``reserve(n, at, partial)`` (raises its ``QuotaExceeded``).

    ``used`` is the sum of the live grants since ``at - 24 h`` and ``newest_us`` the newest instant; the
    grants themselves (``rows``) are loaded only when needed. When ``used + n`` fits, the model is given
    one entry summing them: it then grants ``n`` in full at ``max(at, newest)``, exactly as with every row
    (``used`` may count a few grants the window has already dropped, which only matters when it does not
    fit). Otherwise the model replays every row, for the exact partial grant or ``retry_at``. So an
    account sending many small batches costs one aggregate query per reservation, not a replay.
    """
    if used + n <= limit:
        summary = [(newest_us, used)] if used and newest_us is not None else []
        return window(limit, summary, newest_us).reserve(n, at=at, partial=partial)
    return window(limit, rows(), newest_us).reserve(n, at=at, partial=partial)


def stored(reservation: Reservation, row_id: int) -> Reservation:
    """The reservation as the ledger hands it out: its id is the stored row's id."""
    return Reservation(id=row_id, at_us=reservation.at_us, granted=reservation.granted)


def check_reservation(reservation: object) -> Reservation:
    if not isinstance(reservation, Reservation):
        raise InvalidType(f"reservation must be a cabinet_core.quotas.Reservation, got {reservation!r}")
    return reservation


def not_granted(account_id: str, reservation: Reservation) -> InvalidInput:
    return InvalidInput(f"{reservation!r} was not granted by the mail ledger of account {account_id!r}")
