"""Quotas: users, disk, the exact rolling-24-hour mail window, and the load factor.

- :func:`check_users`, :func:`check_disk`: refuse a request over the tariff's limit with ``QuotaExceeded``;
  :func:`check_downgrade` lists every limit that usage breaks (used by ``Lease.change_tariff``).
- :class:`MailWindow`: recipients per any 24 hours, exact to the microsecond, with reservations, release,
  ``retry_at`` and campaign planning; storage replays its records through :meth:`MailWindow.from_entries`.
- :class:`LoadMeter`, :class:`LoadFactor`: the account's weighted use rate against the tariff's norm.

Pure: no clock, no I/O; every instant comes in as an aware ``at``.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import deque
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Context, Decimal
from operator import itemgetter
from typing import TYPE_CHECKING, Literal

import attrs

from ._checks import count_field, whole
from ._time import require_aware
from ._units import MB, mb_ceil
from .errors import InvalidInput, InvalidType, QuotaExceeded
from .tariffs import Limits

__all__ = [
    "DAY_US",
    "HIGH_FROM",
    "MAX_PLAN_DAYS",
    "MB",
    "OVERLOAD_FROM",
    "LoadFactor",
    "LoadMeter",
    "MailQuotaExceeded",
    "MailWindow",
    "Reservation",
    "Usage",
    "check_disk",
    "check_downgrade",
    "check_users",
    "format_mb",
]


@attrs.frozen
class Usage:
    """What an account uses now: users created and disk in bytes."""

    users: int = attrs.field(default=0, validator=count_field)
    disk_bytes: int = attrs.field(default=0, validator=count_field)


def format_mb(n_bytes: int) -> str:
    """Bytes as whole MB, rounded up (a byte over is an MB over), with thousands separators."""
    return f"{mb_ceil(n_bytes):,} MB"


def check_downgrade(usage: Usage, limits: Limits) -> tuple[str, ...]:
    """Every limit of ``limits`` that ``usage`` breaks, as phrases like ``"users 12 > 10"``; empty if none."""
    broken: list[str] = []
    if usage.users > limits.users:
        broken.append(f"users {usage.users} > {limits.users}")
    if usage.disk_bytes > limits.disk_bytes:
        broken.append(f"disk {format_mb(usage.disk_bytes)} > {limits.disk_mb:,} MB")
    return tuple(broken)


def _check_usage(usage: object, limits: object) -> tuple[Usage, Limits]:
    if not isinstance(usage, Usage):
        raise InvalidType(f"usage must be cabinet_core.quotas.Usage, got {usage!r}")
    if not isinstance(limits, Limits):
        raise InvalidType(f"limits must be cabinet_core.Limits, got {limits!r}")
    return usage, limits


def check_users(usage: Usage, limits: Limits, add: int = 1) -> None:
    """Refuse creating ``add`` more users when the tariff's maximum would be exceeded.

    Adding nothing is never refused, even on an account already over its limit (after a downgrade the
    provider allowed); what exists is not this check's business, only what is asked for.
    """
    usage, limits = _check_usage(usage, limits)
    add = whole(add, "add")
    if add and usage.users + add > limits.users:
        users = "user" if add == 1 else "users"
        raise QuotaExceeded(
            f"cannot add {add} {users}: {usage.users} of {limits.users} users already created, "
            f"and the tariff allows at most {limits.users}",
            quota="users",
            limit=limits.users,
            used=usage.users,
            requested=add,
        )


def check_disk(usage: Usage, limits: Limits, add_bytes: int) -> None:
    """Refuse storing ``add_bytes`` more bytes when the tariff's disk would be exceeded.

    The figures in the error are bytes; the message shows MB of 1,048,576 bytes, rounded up, as the page
    does. Adding nothing is never refused.
    """
    usage, limits = _check_usage(usage, limits)
    add_bytes = whole(add_bytes, "add_bytes")
    if add_bytes and usage.disk_bytes + add_bytes > limits.disk_bytes:
        raise QuotaExceeded(
            f"not enough disk space: {format_mb(add_bytes)} more asked, {format_mb(usage.disk_bytes)} of "
            f"{limits.disk_mb:,} MB already used, and the tariff allows at most {limits.disk_mb:,} MB",
            quota="disk",
            limit=limits.disk_bytes,
            used=usage.disk_bytes,
            requested=add_bytes,
        )


# --- the rolling 24-hour mail window -------------------------------------------------------------------

DAY_US = 86_400_000_000  # the window's length, in microseconds
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NO_TIME = -(1 << 62)  # before any instant a datetime can hold
MAX_PLAN_DAYS = 366  # the longest campaign plan() schedules
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


class Reservation(tuple[int | None, int, int]):
    """Recipients granted by :meth:`MailWindow.reserve`: ``granted`` of them at ``at``.

    ``id`` numbers the grant within its window (``None`` when nothing was granted); together with ``at``
    and ``granted`` it is what :meth:`MailWindow.release` needs. ``at_us`` is the instant in whole
    microseconds since the Unix epoch, the form storage can keep exactly.

    A frozen value, built on a tuple rather than attrs because the window makes one per grant on its hot
    path (a third of the cost of an attrs instance); it equals only another Reservation.
    """

    __slots__ = ()

    def __new__(cls, id: int | None, at_us: int, granted: int) -> Reservation:
        whole(at_us, "at_us", low=-(1 << 62))
        granted = whole(granted, "granted", low=0)
        if id is None:
            if granted:
                raise InvalidInput(f"a reservation of {granted} recipients needs an id")
        else:
            whole(id, "id", low=0)
            if not granted:
                raise InvalidInput(f"a reservation that granted nothing has no id (None), got id {id}")
        return tuple.__new__(cls, (id, at_us, granted))

    @property
    def id(self) -> int | None:
        return self[0]

    @property
    def at_us(self) -> int:
        return self[1]

    @property
    def granted(self) -> int:
        return self[2]

    @property
    def at(self) -> datetime:
        """The instant the recipients were granted at, in UTC."""
        return _instant(self[1])

    def __eq__(self, other: object) -> bool:
        return type(other) is Reservation and tuple.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = tuple.__hash__

    def __repr__(self) -> str:
        return f"Reservation(id={self[0]!r}, at_us={self[1]!r}, granted={self[2]!r})"


_tuple_new = tuple.__new__
_first = itemgetter(0)


class MailQuotaExceeded(QuotaExceeded):
    """The mail window refused a reservation: ``requested`` recipients do not fit at the moment.

    ``retry_at`` is the earliest instant they fit if nothing else changes (exact to the microsecond), or
    ``None`` when ``requested`` exceeds the limit and never can. ``quota`` is ``"mail"``.
    """

    # At 20 x demand nearly every call is a refusal, so a refusal must be cheap: the figures live in
    # ``args`` (set by BaseException in C, no Python __init__), and the message and ``retry_at`` are built
    # only when read. Pickling works as for any exception: ``cls(*args)``.
    if TYPE_CHECKING:

        def __init__(self, limit: int, used: int, requested: int, retry_us: int | None) -> None: ...

    else:
        __init__ = BaseException.__init__

    args: tuple[int, int, int, int | None]
    quota = "mail"

    @property
    def limit(self) -> int:  # type: ignore[override]
        return self.args[0]

    @property
    def used(self) -> int:  # type: ignore[override]
        return self.args[1]

    @property
    def requested(self) -> int:  # type: ignore[override]
        return self.args[2]

    @property
    def retry_us(self) -> int | None:
        """``retry_at`` in whole microseconds since the Unix epoch."""
        return self.args[3]

    @property
    def retry_at(self) -> datetime | None:  # type: ignore[override]
        us = self.args[3]
        return None if us is None else _instant(us)

    def __str__(self) -> str:
        recipients = "recipient" if self.requested == 1 else "recipients"
        head = (
            f"mail quota: {self.requested:,} {recipients} requested, {self.used:,} of "
            f"{self.limit:,} per 24 hours already used"
        )
        if self.retry_us is None:
            return f"{head}; more than the limit can never be sent within 24 hours"
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
        rows.sort(key=_first)  # stable: grants at one instant keep the order given
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

    def __repr__(self) -> str:
        live = len(self._t) - self._head
        return (
            f"MailWindow(limit={self._limit}, grants held={live}, recipients held={self._total - self._base})"
        )

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
        head = self._head
        if head < len(t) and t[head] <= us - DAY_US:
            self._expire(us)
            head = self._head
        used = self._total - self._base
        free = self._limit - used
        if n > free:
            if not partial:
                limit = self._limit
                if n > limit:
                    raise MailQuotaExceeded(limit, used, n, None)
                # n fits once the oldest grants whose running total reaches `used + n - limit` have
                # expired; the last of them leaves the window 24 h after it was granted. bisect_left finds
                # the first such grant (never a released one: a released grant repeats the total before
                # it). O(log k) for k live grants, however often the same refusal is asked.
                i = bisect_left(self._cum, self._base + used + n - limit, head)
                raise MailQuotaExceeded(limit, used, n, t[i] + DAY_US)
            if free <= 0:
                return _tuple_new(Reservation, (None, us, 0))
            n = free
        t.append(us)
        self._total += n
        self._cum.append(self._total)
        return _tuple_new(Reservation, (self._first_id + len(t) - 1, us, n))

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
        else was granted meanwhile). ``n`` may exceed the limit (the campaign spans days), up to
        ``MAX_PLAN_DAYS`` days' worth; with a limit of 0 nothing can ever be sent and
        :class:`MailQuotaExceeded` is raised.
        """
        n = _recipients(n)
        _us(at)  # refuse a bad instant before anything moves
        if self._limit == 0:
            raise MailQuotaExceeded(0, self._total - self._base, n, None)
        if n > self._limit * MAX_PLAN_DAYS:
            # The schedule has a batch for every grant leaving the window on every day it spans: bound it.
            raise InvalidInput(
                f"a campaign of {n:,} recipients needs more than {MAX_PLAN_DAYS} days at {self._limit:,} per "
                f"24 hours; plan at most {self._limit * MAX_PLAN_DAYS:,} at a time"
            )
        now = self._advance(at)
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


# --- the load factor ----------------------------------------------------------------------------------

_LN2 = Decimal("0.6931471805599453094172321215")
_CTX = Context(prec=28, rounding=ROUND_HALF_EVEN)
_HOUR_US = 3_600_000_000
_CENT = Decimal("0.01")
HIGH_FROM = Decimal("1.00")  # the load factor shown from which the level is "high"
OVERLOAD_FROM = Decimal("1.50")  # ... and from which it is "overload"


def _non_negative_decimal(value: object, name: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        raise InvalidType(f"{name} must be an int or a Decimal (never a float), got {value!r}")
    d = Decimal(value)
    if not d.is_finite() or d < 0:
        raise InvalidInput(f"{name} must be a finite number not below 0, got {value}")
    return d


def _factor_value(value: object) -> Decimal:
    # Two decimals, half up, as shown on the page; the level is read from the value shown.
    return _non_negative_decimal(value, "load factor").quantize(_CENT, rounding=ROUND_HALF_UP)


@attrs.frozen
class LoadFactor:
    """The account's load relative to its tariff's norm (1.00 = at the norm), as the page shows it.

    ``value`` is rounded to two decimals, half up. The level is read from the value shown, so the figure and
    the word never disagree: ``normal`` below 1.00, ``high`` from 1.00 to below 1.50, ``overload`` from 1.50.
    """

    value: Decimal = attrs.field(converter=_factor_value)

    @property
    def level(self) -> Literal["normal", "high", "overload"]:
        if self.value < HIGH_FROM:
            return "normal"
        if self.value < OVERLOAD_FROM:
            return "high"
        return "overload"

    def __str__(self) -> str:
        return f"{self.value} ({self.level})"


def _half_life(instance: object, attribute: attrs.Attribute[timedelta], value: object) -> None:
    if not isinstance(value, timedelta):
        raise InvalidType(f"{attribute.name} must be a timedelta, got {value!r}")
    if value <= timedelta(0):
        raise InvalidInput(f"{attribute.name} must be positive, got {value}")


def _stale_after(instance: object, attribute: attrs.Attribute[timedelta], value: object) -> None:
    if not isinstance(value, timedelta):
        raise InvalidType(f"{attribute.name} must be a timedelta, got {value!r}")
    if value < timedelta(0):
        raise InvalidInput(f"{attribute.name} must not be negative, got {value}")


def _rate(value: object) -> Decimal:
    return _non_negative_decimal(value, "rate")


def _since(value: object) -> datetime | None:
    return None if value is None else require_aware(value, "since").astimezone(UTC)


def _decay(elapsed_us: int, half_life: timedelta) -> Decimal:
    """2 ** (-elapsed / half_life): the weight left to what was measured ``elapsed`` ago."""
    h = _us_of(half_life)
    return _CTX.exp(_CTX.multiply(-_LN2, _CTX.divide(Decimal(elapsed_us), Decimal(h))))


def _us_of(span: timedelta) -> int:
    return (span.days * 86_400 + span.seconds) * 1_000_000 + span.microseconds


@attrs.frozen
class LoadMeter:
    """The exponentially weighted rate of an account's resource use, fed by the host's samples.

    A sample is ``(at, amount)``: the resource the account used (CPU seconds, say, in the units of the
    tariff's ``load_norm``) since the previous sample. Between samples the use is taken as even, so the
    interval ``dt`` ran at ``x = amount / dt`` per hour, and the rate is updated as

        w = 2 ** (-dt / half_life);    rate' = w * rate + (1 - w) * x

    which is the continuous exponentially weighted average of the use rate with half-life ``half_life``
    (default one hour): use ``half_life`` ago weighs half as much as use now, whatever the sampling
    interval. The load factor is ``rate / Limits.load_norm`` (see :class:`LoadFactor`).

    The rate is read as of the last sample. If no sample has come for longer than ``stale_after`` (default
    one hour), the time beyond that counts as idle and the rate decays by ``2 ** (-beyond / half_life)``:
    a host that stops reporting an idle account does not leave it shown as loaded. A meter that was never
    started (``since=None``) takes its first sample as the start: what that sample reports covers an
    unknown span and is not counted. Start one with ``since=`` the account's opening to count it.

    >>> from datetime import datetime, timedelta, UTC
    >>> start = datetime(2025, 3, 1, tzinfo=UTC)
    >>> meter = LoadMeter(since=start)
    >>> for hour in range(1, 7):  # 120 units an hour for six hours: 120 * (1 - 2 ** -6) = 118.125
    ...     meter = meter.record(120, at=start + timedelta(hours=hour))
    >>> norm = Limits(users=1, disk_mb=1, mail_per_24h=1, load_norm=100)
    >>> str(meter.factor(norm, at=start + timedelta(hours=6)))
    '1.18 (high)'
    """

    half_life: timedelta = attrs.field(default=timedelta(hours=1), validator=_half_life)
    stale_after: timedelta = attrs.field(default=timedelta(hours=1), validator=_stale_after)
    rate: Decimal = attrs.field(default=Decimal(0), converter=_rate)  # per hour, as of `since`
    since: datetime | None = attrs.field(default=None, converter=_since)  # the last sample's instant

    def __attrs_post_init__(self) -> None:
        if self.since is None and self.rate:
            raise InvalidInput(f"a rate of {self.rate} needs the instant it was measured at (since=)")

    def record(self, amount: int | Decimal, at: datetime) -> LoadMeter:
        """The meter after a sample: ``amount`` used since the previous sample, reported at ``at``."""
        amount = _non_negative_decimal(amount, "amount")
        now = _us(at)
        if self.since is None:
            return attrs.evolve(self, since=at)
        elapsed = now - _us(self.since)
        if elapsed <= 0:
            raise InvalidInput(
                f"samples must come in time order: {at.isoformat()} is not after the last sample, "
                f"{self.since.isoformat()}"
            )
        w = _decay(elapsed, self.half_life)
        x = _CTX.divide(amount * _HOUR_US, Decimal(elapsed))
        return attrs.evolve(
            self, rate=_CTX.add(_CTX.multiply(w, self.rate), _CTX.multiply(1 - w, x)), since=at
        )

    @classmethod
    def from_samples(
        cls,
        samples: Iterable[tuple[datetime, int | Decimal]],
        *,
        since: datetime | None = None,
        half_life: timedelta = timedelta(hours=1),
        stale_after: timedelta = timedelta(hours=1),
    ) -> LoadMeter:
        """A meter fed with ``(at, amount)`` samples given in any order; samples at one instant are one."""
        if isinstance(samples, (str, bytes)) or not isinstance(samples, Iterable):
            raise InvalidType(f"samples must be (instant, amount) pairs, got {samples!r}")
        merged: dict[int, tuple[datetime, Decimal]] = {}
        for i, sample in enumerate(samples):
            if not isinstance(sample, tuple) or len(sample) != 2:
                raise InvalidType(f"sample {i} must be a pair (instant, amount), got {sample!r}")
            at, amount = sample
            key = _us(at, f"sample {i} instant")
            d = _non_negative_decimal(amount, f"sample {i} amount")
            merged[key] = (at, merged[key][1] + d) if key in merged else (at, d)
        meter = cls(half_life=half_life, stale_after=stale_after, since=since)
        for key in sorted(merged):
            at, amount = merged[key]
            if meter.since is not None and key <= _us(meter.since):
                continue  # before the start: already accounted for by whoever started the meter
            meter = meter.record(amount, at)
        return meter

    def rate_at(self, at: datetime) -> Decimal:
        """The weighted use rate per hour at ``at`` (the rate of the last sample, decayed if stale)."""
        now = _us(at)
        if self.since is None:
            return Decimal(0)
        beyond = now - _us(self.since) - _us_of(self.stale_after)
        if beyond <= 0:
            return self.rate
        return _CTX.multiply(self.rate, _decay(beyond, self.half_life))

    def factor(self, limits: Limits, at: datetime) -> LoadFactor:
        """The load factor at ``at``: the weighted rate divided by the tariff's norm per hour."""
        if not isinstance(limits, Limits):
            raise InvalidType(f"limits must be cabinet_core.Limits, got {limits!r}")
        return LoadFactor(_CTX.divide(self.rate_at(at), limits.load_norm))
