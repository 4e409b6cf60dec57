"""Quotas: users, disk, the exact rolling-24-hour mail window, and the load factor.

Downgrade checks live here too: :func:`check_downgrade` lists every limit that usage breaks.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import deque
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import attrs

from ._time import require_aware
from .errors import InvalidInput, InvalidType, QuotaExceeded
from .tariffs import Limits

__all__ = [
    "DAY_US",
    "MB",
    "MailQuotaExceeded",
    "MailWindow",
    "Reservation",
    "Usage",
    "check_downgrade",
    "format_mb",
]

MB = 1_048_576  # bytes in the MB shown on the page


def _count(instance: object, attribute: attrs.Attribute[int], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidType(f"{attribute.name} must be a whole number, got {value!r}")
    if value < 0:
        raise InvalidInput(f"{attribute.name} must not be negative, got {value}")


@attrs.frozen
class Usage:
    """What an account uses now: users created and disk in bytes."""

    users: int = attrs.field(default=0, validator=_count)
    disk_bytes: int = attrs.field(default=0, validator=_count)


def format_mb(n_bytes: int) -> str:
    """Bytes as whole MB, rounded up (a byte over is an MB over), with thousands separators."""
    return f"{-(-n_bytes // MB):,} MB"


def check_downgrade(usage: Usage, limits: Limits) -> tuple[str, ...]:
    """Every limit of ``limits`` that ``usage`` breaks, as phrases like ``"users 12 > 10"``; empty if none."""
    broken: list[str] = []
    if usage.users > limits.users:
        broken.append(f"users {usage.users} > {limits.users}")
    if usage.disk_bytes > limits.disk_bytes:
        broken.append(f"disk {format_mb(usage.disk_bytes)} > {limits.disk_mb:,} MB")
    return tuple(broken)


# --- the rolling 24-hour mail window -------------------------------------------------------------------

DAY_US = 86_400_000_000  # the window's length, in microseconds
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NO_TIME = -(1 << 62)  # before any instant a datetime can hold
_UTC_TZ = UTC


def _us(at: object, name: str = "at") -> int:
    """An aware datetime as whole microseconds since the Unix epoch (exact, no float on the way)."""
    if type(at) is not datetime or at.tzinfo is None:
        at = require_aware(at, name)  # refuses non-datetimes and naive ones with a clear message
    try:
        d = at - _EPOCH
    except TypeError:  # a tzinfo whose utcoffset() is None: naive in all but name
        require_aware(at, name)
        raise  # pragma: no cover - require_aware has raised already
    return (d.days * 86_400 + d.seconds) * 1_000_000 + d.microseconds


def _instant(us: int) -> datetime:
    """The UTC datetime of a microsecond count from :func:`_us`."""
    return _EPOCH + timedelta(microseconds=us)


def _recipients(n: object, name: str = "n") -> int:
    if isinstance(n, bool) or not isinstance(n, int):
        raise InvalidType(f"{name} must be a whole number of recipients, got {n!r}")
    if n <= 0:
        raise InvalidInput(f"{name} must be a positive number of recipients, got {n}")
    return n


@attrs.frozen
class Reservation:
    """Recipients granted by :meth:`MailWindow.reserve`: ``granted`` of them at ``at``.

    ``id`` numbers the grant within its window (``None`` when nothing was granted); together with ``at``
    and ``granted`` it is what :meth:`MailWindow.release` needs. ``at_us`` is the instant in whole
    microseconds since the Unix epoch, the form storage can keep exactly.
    """

    id: int | None
    at_us: int
    granted: int

    @property
    def at(self) -> datetime:
        """The instant the recipients were granted at, in UTC."""
        return _instant(self.at_us)


_new = object.__new__
_set = object.__setattr__


def _reservation(id_: int | None, at_us: int, granted: int) -> Reservation:
    # The window builds many of these on its hot path; its values are already checked, so skip __init__.
    r: Reservation = _new(Reservation)
    _set(r, "id", id_)
    _set(r, "at_us", at_us)
    _set(r, "granted", granted)
    return r


class MailQuotaExceeded(QuotaExceeded):
    """The mail window refused a reservation: ``requested`` recipients do not fit at the moment.

    ``retry_at`` is the earliest instant they fit if nothing else changes (exact to the microsecond), or
    ``None`` when ``requested`` exceeds the limit and never can. The message and ``retry_at`` are built
    only when read: a refusal at high demand costs no formatting nobody looks at.
    """

    def __init__(self, limit: int, used: int, requested: int, retry_us: int | None) -> None:
        # QuotaExceeded.__init__ formats nothing lazily; set its figures here and format in __str__.
        self.quota = "mail"
        self.limit = limit
        self.used = used
        self.requested = requested
        self.retry_us = retry_us

    @property
    def retry_at(self) -> datetime | None:  # type: ignore[override]
        return None if self.retry_us is None else _instant(self.retry_us)

    def __str__(self) -> str:
        head = (
            f"mail quota: {self.requested:,} recipients requested, {self.used:,} of "
            f"{self.limit:,} per 24 hours already used"
        )
        if self.retry_us is None:
            return f"{head}; more than the limit can never be sent at once"
        # Shown to the second, rounded up so the time shown is never too early; retry_at is exact.
        shown = _instant(-(-self.retry_us // 1_000_000) * 1_000_000)
        return f"{head}; they fit from {shown:%Y-%m-%d %H:%M:%S} UTC"


class MailWindow:
    """The exact rolling-24-hour limit on mail recipients: the pure model, no clock, no storage.

    The rule: at instant ``t`` the recipients granted at instants in **(t - 24 h, t]** add up to at most
    ``limit``. A send to n recipients counts n. Decisions are exact to the microsecond.

    Time never runs backwards in a window: every call's ``at`` is read as the latest instant the window has
    been given so far (by any call, or by the entries it was built from) when it is earlier than that.
    Grants are thus stamped in order, and a late or skewed ``at`` can only make the window stricter, never
    oversell: a grant is stamped no earlier than every grant it was checked against. Questions about the
    past (how much was used yesterday at noon) belong to the storage's records, not to this model.

    Memory grows with the number of grants in the last 24 hours (two integers each), never with the
    number of recipients. Refusals cost O(log k) for k live grants (a binary search over running totals).
    A window is not thread-safe: the storage serialises access (a row lock, a transaction) and rebuilds a
    window with :meth:`from_entries` from its records.

    >>> from datetime import datetime, timedelta, UTC
    >>> w = MailWindow(limit=100)
    >>> t = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    >>> w.reserve(60, at=t).granted
    60
    >>> w.reserve(50, at=t + timedelta(hours=1))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    cabinet_core.quotas.MailQuotaExceeded: mail quota: 50 recipients requested, ... 2025-03-02 12:00:00 UTC
    >>> w.reserve(50, at=t + timedelta(hours=1), partial=True).granted
    40
    >>> [(b.isoformat(), c) for b, c in w.plan(150, at=t + timedelta(hours=2))]
    [('2025-03-02T12:00:00+00:00', 60), ('2025-03-02T13:00:00+00:00', 40), ('2025-03-03T12:00:00+00:00', 50)]
    """

    __slots__ = ("_base", "_cum", "_first_id", "_head", "_limit", "_now", "_t", "_total")

    def __init__(self, limit: int) -> None:
        if isinstance(limit, bool) or not isinstance(limit, int):
            raise InvalidType(f"limit must be a whole number of recipients per 24 hours, got {limit!r}")
        if limit < 0:
            raise InvalidInput(f"limit must not be negative, got {limit}")
        self._limit = limit
        # Live grants, oldest first, from index _head on: _t[i] is the instant in microseconds since the
        # epoch and _cum[i] the running total of recipients granted up to and including grant i (a released
        # grant keeps its instant and adds 0). Running totals make "how much is used" a subtraction and
        # "when does enough expire" a binary search.
        self._t: list[int] = []
        self._cum: list[int] = []
        self._head = 0
        self._base = 0  # the running total just before _head (what has expired)
        self._total = 0  # the running total after the newest grant
        self._first_id = 0  # the id of the grant at list index 0 (ids survive compaction)
        self._now = _NO_TIME  # the latest instant given, in microseconds: the window's clock

    @classmethod
    def from_entries(cls, limit: int, entries: Iterable[tuple[datetime, int]]) -> MailWindow:
        """A window holding the given grants: ``(instant granted at, recipients granted)``, in any order.

        This is how storage rebuilds the model from its records: load the rows of the last 24 hours
        (older ones are harmless, they expire at once), replay them here, decide, store the new grant.
        The window's clock starts at the latest instant among the entries.
        """
        window = cls(limit)
        if isinstance(entries, (str, bytes)) or not isinstance(entries, Iterable):
            raise InvalidType(f"entries must be (instant, recipients) pairs, got {entries!r}")
        rows: list[tuple[int, int]] = []
        for i, entry in enumerate(entries):
            if not isinstance(entry, tuple) or len(entry) != 2:
                raise InvalidType(f"entry {i} must be a pair (instant, recipients), got {entry!r}")
            at, n = entry
            rows.append((_us(at, f"entry {i} instant"), _recipients(n, f"entry {i} recipients")))
        rows.sort()
        total = 0
        for us, n in rows:
            total += n
            window._t.append(us)
            window._cum.append(total)
        window._total = total
        if rows:
            window._now = rows[-1][0]
        return window

    @property
    def limit(self) -> int:
        """Recipients allowed in any 24 hours."""
        return self._limit

    def _advance(self, at: object) -> int:
        """Move the clock to ``at`` (never back) and forget grants that left the window; the clock, in us."""
        us = _us(at)
        if us < self._now:
            us = self._now
        else:
            self._now = us
        self._expire(us)
        return us

    def _expire(self, us: int) -> None:
        # The window is (t - 24 h, t]: a grant at exactly t - 24 h no longer counts.
        t = self._t
        head = self._head
        end = len(t)
        if head < end and t[head] <= us - DAY_US:
            cutoff = us - DAY_US
            head = bisect_right(t, cutoff, head, end)
            self._base = self._cum[head - 1]
            if head >= 64 and head * 2 >= end:
                # Drop the expired prefix once it is at least half the list: amortised O(1) per grant.
                del t[:head]
                del self._cum[:head]
                self._first_id += head
                head = 0
            self._head = head

    def reserve(self, n: int, at: datetime, partial: bool = False) -> Reservation:
        """Grant ``n`` recipients at ``at``, all or nothing; with ``partial=True``, as many as fit now.

        All or nothing: when ``n`` does not fit, raise :class:`MailQuotaExceeded` (a
        :class:`~cabinet_core.errors.QuotaExceeded`) whose ``retry_at`` is the earliest instant ``n`` fits
        if nothing else changes, or ``None`` if ``n`` exceeds the limit. Partial: never raises for lack of
        room; ``granted`` is ``min(n, available)`` and may be 0. A refusal changes nothing.
        """
        # The hot path: checks inlined for the common case, the helpers handle (and refuse) the rest.
        if type(n) is not int or n <= 0:
            n = _recipients(n)
        if type(at) is datetime and at.tzinfo is _UTC_TZ:
            d = at - _EPOCH
            us = (d.days * 86_400 + d.seconds) * 1_000_000 + d.microseconds
        else:
            us = _us(at)
        if us < self._now:
            us = self._now
        else:
            self._now = us
        t = self._t
        if self._head < len(t) and t[self._head] <= us - DAY_US:
            self._expire(us)
        used = self._total - self._base
        free = self._limit - used
        if n > free:
            if not partial:
                raise self._refusal(n, used, us)
            if free <= 0:
                return _reservation(None, us, 0)
            n = free
        t.append(us)
        self._total += n
        self._cum.append(self._total)
        return _reservation(self._first_id + len(t) - 1, us, n)

    def _refusal(self, n: int, used: int, us: int) -> MailQuotaExceeded:
        if n > self._limit:
            return MailQuotaExceeded(self._limit, used, n, None)
        # n fits once the oldest grants whose running total reaches `need` have expired; the last of
        # them expires 24 h after it was granted. bisect_left finds the first such grant (never a released
        # one: a released grant repeats the total before it).
        need = used + n - self._limit
        i = bisect_left(self._cum, self._base + need, self._head)
        return MailQuotaExceeded(self._limit, used, n, self._t[i] + DAY_US)

    def release(self, reservation: Reservation, at: datetime) -> None:
        """Return a reservation's recipients to the window (the send failed).

        Releasing a grant that has already left the window, or was already released, or granted nothing,
        changes nothing. A reservation this window did not grant is refused.
        """
        if not isinstance(reservation, Reservation):
            raise InvalidType(f"reservation must be a Reservation, got {reservation!r}")
        self._advance(at)
        if reservation.id is None or reservation.granted == 0:
            return
        i = reservation.id - self._first_id
        if i < self._head:
            return  # it has expired: its recipients no longer count anyway
        t, cum = self._t, self._cum
        if i >= len(t) or t[i] != reservation.at_us:
            raise InvalidInput(f"{reservation!r} was not granted by this window")
        granted = cum[i] - (cum[i - 1] if i > self._head else self._base)
        if granted == 0:
            return  # released before
        if granted != reservation.granted:
            raise InvalidInput(f"{reservation!r} was not granted by this window")
        for k in range(i, len(cum)):  # O(grants after it); the usual release is of the newest grant
            cum[k] -= granted
        self._total -= granted

    def used(self, at: datetime) -> int:
        """Recipients granted in (at - 24 h, at]."""
        self._advance(at)
        return self._total - self._base

    def available(self, at: datetime) -> int:
        """Recipients that can be granted at ``at`` (0 if the window is full)."""
        self._advance(at)
        return max(0, self._limit - (self._total - self._base))

    def entries(self, at: datetime) -> tuple[tuple[datetime, int], ...]:
        """The grants still in the window at ``at``, oldest first: ``(instant in UTC, recipients)``.

        ``MailWindow.from_entries(window.limit, window.entries(at))`` decides exactly as ``window`` does.
        Released grants are left out.
        """
        self._advance(at)
        out: list[tuple[datetime, int]] = []
        prev = self._base
        cum = self._cum
        for i in range(self._head, len(cum)):
            if cum[i] != prev:
                out.append((_instant(self._t[i]), cum[i] - prev))
            prev = cum[i]
        return tuple(out)

    def plan(self, n: int, at: datetime) -> list[tuple[datetime, int]]:
        """A schedule of ``(instant, recipients)`` batches sending ``n`` recipients as early as possible.

        Greedy: send what fits now, then at each instant a grant (an existing one or a planned batch)
        leaves the window, send what it frees. Sending as soon as room appears maximises what has been sent
        by every instant, so no schedule that respects the window finishes earlier. The plan reserves
        nothing: the caller reserves each batch at its instant (``partial=False`` then succeeds if nothing
        else was granted meanwhile). ``n`` may exceed the limit (the campaign spans days); with a limit of 0
        nothing can ever be sent and :class:`MailQuotaExceeded` is raised.
        """
        n = _recipients(n)
        now = self._advance(at)
        if self._limit == 0:
            raise MailQuotaExceeded(0, 0, n, None)
        # Grants that will leave the window, oldest first: the live ones, then the planned batches.
        pending: deque[tuple[int, int]] = deque()
        prev = self._base
        for i in range(self._head, len(self._cum)):
            c = self._cum[i]
            if c != prev:
                pending.append((self._t[i], c - prev))
            prev = c
        free = self._limit - (self._total - self._base)
        batches: list[tuple[datetime, int]] = []
        left = n
        while True:
            if free > 0:
                b = min(free, left)
                batches.append((_instant(now), b))
                pending.append((now, b))
                free -= b
                left -= b
                if left == 0:
                    return batches
            # The next room appears when the oldest pending grant leaves (with all granted at that instant).
            stamp, c = pending.popleft()
            free += c
            while pending and pending[0][0] == stamp:
                free += pending.popleft()[1]
            now = stamp + DAY_US
