"""Backups and updates: the daily window, duration and availability, the FTP rule, auto-update timing,
retention (restic ``forget`` semantics) and the provider's night plan.

Rules held here (DESIGN.md "Backups and updates"):

* a :class:`BackupWindow` is a daily local interval (may cross midnight, at least 30 minutes); its next
  occurrence is computed in its own zone: a start in a DST gap moves to the first valid instant after the
  gap, a start in a fold takes the first occurrence, and the end is start + the nominal length in real time;
* the customer picks a window only from those the provider offers (:func:`choose_window`), and a window
  shorter than the estimated backup is refused in words (:class:`WindowTooShort`);
* the account is unavailable while its backup runs (:meth:`BackupSchedule.is_available`);
* backups over 700 MB (1 MB = 1,048,576 bytes; configurable) download by FTP only; FTP credentials are
  generated here, handed to a port, and only a salted scrypt hash is kept;
* auto-update runs right after that night's successful backup, never without one (:func:`plan_update`);
* :class:`RetentionPolicy` keeps snapshots exactly as restic's ``forget`` count rules do;
* :func:`plan_night` assigns start times so that at most K backups run at once and each finishes inside
  its window, reporting every account that cannot fit and why.

Everything is pure: time comes in as aware datetimes, the clock is never read.
"""

from __future__ import annotations

import base64
import hashlib
import heapq
import hmac
import re
import secrets
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Final, Literal, Protocol
from zoneinfo import ZoneInfo

import attrs

from ._checks import whole
from ._time import DEFAULT_TZ, require_aware, utc_field, zone
from ._units import MB, mb_ceil
from .errors import FeatureNotAvailable, InvalidInput, InvalidType

__all__ = [
    "DEFAULT_FTP_THRESHOLD_MB",
    "MB",
    "MIN_WINDOW",
    "BackupJob",
    "BackupOutcome",
    "BackupSchedule",
    "BackupThroughput",
    "BackupWindow",
    "DownloadRule",
    "FtpAccess",
    "FtpCredentials",
    "FtpCredentialsSink",
    "FtpRequired",
    "NightPlan",
    "PlannedBackup",
    "RetentionPolicy",
    "Unplaced",
    "UpdateDecision",
    "Version",
    "WindowFit",
    "WindowLoad",
    "WindowNotOffered",
    "WindowTooShort",
    "choose_window",
    "hash_password",
    "manual_update_available",
    "plan_night",
    "plan_update",
    "verify_password",
    "window_fit",
]

DEFAULT_FTP_THRESHOLD_MB: Final = 700
MIN_WINDOW: Final = timedelta(minutes=30)
_DAY: Final = timedelta(days=1)
_MAX_BYTES: Final = 10**15  # a petabyte: any larger "account size" is a unit mistake, not an account
_MAX_SLOTS: Final = 100_000


# --- small validators ----------------------------------------------------------------------------------


def _duration(value: object, name: str, high: timedelta = _DAY) -> timedelta:
    if not isinstance(value, timedelta):
        raise InvalidType(f"{name} must be a timedelta, got {value!r}")
    if value < timedelta(0) or value > high:
        raise InvalidInput(f"{name} must be between 0 and {_words(high)}, got {value}")
    return value


def _size_validator(instance: object, attribute: attrs.Attribute[int], value: object) -> None:
    whole(value, attribute.name, low=0, high=_MAX_BYTES)


def _words(span: timedelta) -> str:
    """A duration in words a customer reads at a glance: whole minutes, rounded up (never understated)."""
    micros = span // timedelta(microseconds=1)
    minutes = -(-micros // 60_000_000)
    hours, minutes = divmod(minutes, 60)
    parts = []
    if hours:
        parts.append(f"{hours} hour{'' if hours == 1 else 's'}")
    if minutes or not hours:
        parts.append(f"{minutes} minute{'' if minutes == 1 else 's'}")
    return " ".join(parts)


# --- the window ----------------------------------------------------------------------------------------


def _wall(name: str) -> Callable[[object], time]:
    def convert(value: object) -> time:
        if not isinstance(value, time):
            raise InvalidType(f"{name} must be a datetime.time such as time(1, 0), got {value!r}")
        if value.tzinfo is not None:
            raise InvalidInput(
                f"{name} must be a local wall time without tzinfo (the zone is tz), got {value}"
            )
        if value.second or value.microsecond:
            raise InvalidInput(f"{name} must be in whole minutes (HH:MM), got {value.isoformat()}")
        return value.replace(fold=0)

    return convert


def _start_time(value: object) -> time:
    return _wall("start")(value)


def _end_time(value: object) -> time:
    return _wall("end")(value)


def _zone_key(value: object) -> str:
    return zone(value, "tz").key


@attrs.frozen
class BackupWindow:
    """The daily window, in local wall time of ``tz``, in which the account is backed up.

    It validates its own shape only (whole minutes, start != end, at least 30 minutes, a known zone);
    whether the provider offers it is checked by :func:`choose_window`.

    >>> w = BackupWindow(start=time(23, 30), end=time(1, 0))
    >>> str(w), w.length
    ('23:30–01:00 (Europe/Moscow)', datetime.timedelta(seconds=5400))
    >>> start, end = w.next_after(datetime(2024, 5, 1, 12, 0, tzinfo=UTC))
    >>> start.isoformat(), end.astimezone(w.zone).isoformat()
    ('2024-05-01T20:30:00+00:00', '2024-05-02T01:00:00+03:00')
    """

    start: time = attrs.field(converter=_start_time)
    end: time = attrs.field(converter=_end_time)
    tz: str = attrs.field(default=DEFAULT_TZ, converter=_zone_key)

    def __attrs_post_init__(self) -> None:
        if self.start == self.end:
            raise InvalidInput(
                f"a backup window must not start and end at the same time, got {self.start:%H:%M} twice"
            )
        if self.length < MIN_WINDOW:
            raise InvalidInput(
                f"the backup window {self} lasts {_words(self.length)}; "
                f"a window must last at least {_words(MIN_WINDOW)}"
            )

    @classmethod
    def parse(cls, text: object, tz: str = DEFAULT_TZ) -> BackupWindow:
        """A window written as ``"01:00-03:00"`` (a hyphen or an en dash), as an operator types it."""
        if not isinstance(text, str):
            raise InvalidType(f"a backup window must be written as text like '01:00-03:00', got {text!r}")
        m = re.fullmatch(r"\s*([01]\d|2[0-3]):([0-5]\d)\s*[-–]\s*([01]\d|2[0-3]):([0-5]\d)\s*", text)
        if not m:
            raise InvalidInput(
                f"{text[:40]!r} is not a backup window; write it as HH:MM-HH:MM, e.g. 01:00-03:00"
            )
        return cls(time(int(m[1]), int(m[2])), time(int(m[3]), int(m[4])), tz)

    def __str__(self) -> str:
        return f"{self.start:%H:%M}–{self.end:%H:%M} ({self.tz})"

    @property
    def length(self) -> timedelta:
        """The nominal length; a window that crosses midnight wraps (23:30-01:00 lasts 90 minutes)."""
        minutes = (self.end.hour * 60 + self.end.minute - self.start.hour * 60 - self.start.minute) % 1440
        return timedelta(minutes=minutes)

    @property
    def crosses_midnight(self) -> bool:
        return self.end < self.start

    @property
    def zone(self) -> ZoneInfo:
        return zone(self.tz)

    def on(self, day: date) -> tuple[datetime, datetime]:
        """The occurrence that starts on local date ``day``: (start, end), aware, in UTC."""
        if isinstance(day, datetime) or not isinstance(day, date):
            raise InvalidType(f"day must be a datetime.date, got {day!r}")
        start = _resolve(datetime.combine(day, self.start), self.zone)
        return start, start + self.length

    def next_after(self, moment: datetime) -> tuple[datetime, datetime]:
        """The first occurrence whose start is strictly after ``moment``: (start, end), aware, in UTC.

        UTC on purpose: Python compares and subtracts two datetimes of one zone by wall clock, which is
        wrong across a DST change. Show them with ``.astimezone(window.zone)``.
        """
        moment = require_aware(moment, "moment").astimezone(UTC)
        today = moment.astimezone(self.zone).date()
        # Yesterday's start may lie after the moment only in odd zones; two days ahead covers a skipped date.
        for shift in range(-1, 3):
            start, end = self.on(today + timedelta(days=shift))
            if start > moment:
                return start, end
        raise AssertionError(f"no start of {self} within two days after {moment.isoformat()}")  # unreachable

    def containing(self, moment: datetime) -> tuple[datetime, datetime] | None:
        """The occurrence (start, end), in UTC, with start <= moment < end; None outside every window.

        This is "that night" for a backup that started at ``moment`` (see :func:`plan_update`).
        """
        moment = require_aware(moment, "moment").astimezone(UTC)
        start, end = self.next_after(moment - self.length)
        return (start, end) if start <= moment else None


def _resolve(naive: datetime, z: ZoneInfo) -> datetime:
    """The instant (UTC) a local wall time names: the first occurrence in a fold, the gap's end in a gap."""
    local = naive.replace(tzinfo=z)  # fold=0: the earlier of two occurrences
    utc = local.astimezone(UTC)
    if utc.astimezone(z).replace(tzinfo=None) == naive:
        return utc
    # In a gap, fold=1 reads the wall time with the offset after the change (an instant before it) and
    # fold=0 with the offset before (an instant after it): the transition lies between; find it to the second.
    lo = int(local.replace(fold=1).timestamp())
    hi = int(local.timestamp())
    after = datetime.fromtimestamp(hi, z).utcoffset()
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, z).utcoffset() == after:
            hi = mid
        else:
            lo = mid
    return datetime.fromtimestamp(hi, UTC)


class WindowNotOffered(InvalidInput):
    """The customer picked a window the provider does not offer; ``offered`` lists those it does."""

    def __init__(self, message: str, *, offered: tuple[BackupWindow, ...]) -> None:
        super().__init__(message)
        self.offered = offered


class WindowTooShort(InvalidInput):
    """The window is shorter than the estimated backup; ``estimate`` and ``window_length`` are the figures."""

    def __init__(self, message: str, *, estimate: timedelta, window_length: timedelta) -> None:
        super().__init__(message)
        self.estimate = estimate
        self.window_length = window_length


@attrs.frozen
class WindowFit:
    """Whether a backup of ``estimate`` fits a window of ``window_length``; ``message`` says so in words."""

    window: BackupWindow
    estimate: timedelta

    @property
    def window_length(self) -> timedelta:
        return self.window.length

    @property
    def fits(self) -> bool:
        return self.estimate <= self.window.length

    @property
    def message(self) -> str:
        if self.fits:
            return (
                f"Your backup is estimated to take {_words(self.estimate)}; "
                f"it fits the window {self.window}, which lasts {_words(self.window.length)}."
            )
        return (
            f"Your backup is estimated to take {_words(self.estimate)}, but the window {self.window} lasts "
            f"only {_words(self.window.length)}. Choose a window of at least {_words(self.estimate)}."
        )


def window_fit(window: BackupWindow, estimate: timedelta) -> WindowFit:
    """Whether the backup fits the window: for the warning shown when an account outgrows its window."""
    if not isinstance(window, BackupWindow):
        raise InvalidType(f"window must be a BackupWindow, got {window!r}")
    return WindowFit(window, _duration(estimate, "estimate", timedelta(days=365)))


def choose_window(
    window: BackupWindow, offered: Iterable[BackupWindow], *, estimate: timedelta | None = None
) -> BackupWindow:
    """The customer's pick, accepted if the provider offers it and (given ``estimate``) it is long enough.

    Refuses with :class:`WindowNotOffered` naming the offered windows, or :class:`WindowTooShort` saying
    the estimate and the window's length.
    """
    if not isinstance(window, BackupWindow):
        raise InvalidType(f"window must be a BackupWindow, got {window!r}")
    if isinstance(offered, str | bytes) or not isinstance(offered, Iterable):
        raise InvalidType(f"offered must be a collection of BackupWindow, got {offered!r}")
    menu = tuple(offered)
    for w in menu:
        if not isinstance(w, BackupWindow):
            raise InvalidType(f"offered must hold only BackupWindow values, got {w!r}")
    if window not in menu:
        names = ", ".join(str(w) for w in menu) or "none"
        raise WindowNotOffered(
            f"the backup window {window} is not offered; choose one of: {names}", offered=menu
        )
    if estimate is not None:
        fit = window_fit(window, estimate)
        if not fit.fits:
            raise WindowTooShort(fit.message, estimate=fit.estimate, window_length=fit.window_length)
    return window


# --- duration and availability -------------------------------------------------------------------------


@attrs.frozen
class BackupThroughput:
    """The provider's backup speed: bytes per second, plus a fixed overhead per backup."""

    bytes_per_second: int = attrs.field()
    overhead: timedelta = attrs.field(default=timedelta(0))

    @bytes_per_second.validator
    def _check_rate(self, attribute: attrs.Attribute[int], value: object) -> None:
        whole(value, "bytes_per_second", low=1, high=10**12)

    @overhead.validator
    def _check_overhead(self, attribute: attrs.Attribute[timedelta], value: object) -> None:
        _duration(value, "overhead", timedelta(hours=12))

    @classmethod
    def from_mb_per_s(cls, mb_per_s: Decimal | int | str, overhead_minutes: int = 0) -> BackupThroughput:
        """From the provider's settings: MB (1,048,576 bytes) per second, overhead in whole minutes."""
        if isinstance(mb_per_s, bool) or not isinstance(mb_per_s, Decimal | int | str):
            raise InvalidType(f"mb_per_s must be a Decimal, int or str (not a float), got {mb_per_s!r}")
        try:
            rate = Decimal(mb_per_s)
        except InvalidOperation:
            raise InvalidInput(f"mb_per_s {mb_per_s!r} is not a number") from None
        if not rate.is_finite() or rate <= 0:
            raise InvalidInput(f"mb_per_s must be a positive number, got {mb_per_s!r}")
        minutes = whole(overhead_minutes, "overhead_minutes", low=0, high=12 * 60)
        # Rounded down: a slower assumed speed never understates how long a backup takes.
        return cls(max(1, int(rate * MB)), timedelta(minutes=minutes))

    def estimate(self, size_bytes: int) -> timedelta:
        """overhead + size / speed, rounded up to whole seconds."""
        size = whole(size_bytes, "size_bytes", low=0, high=_MAX_BYTES)
        return self.overhead + timedelta(seconds=-(-size // self.bytes_per_second))


@attrs.frozen
class BackupSchedule:
    """When one account's backup runs each day: ``delay`` after its window opens, for ``duration``.

    ``delay`` is 0 when the server has a free slot at the window's start; the night plan gives the real one
    (:attr:`PlannedBackup.delay`).
    """

    window: BackupWindow = attrs.field()
    duration: timedelta = attrs.field()
    delay: timedelta = attrs.field(default=timedelta(0))

    @window.validator
    def _check_window(self, attribute: attrs.Attribute[BackupWindow], value: object) -> None:
        if not isinstance(value, BackupWindow):
            raise InvalidType(f"window must be a BackupWindow, got {value!r}")

    @duration.validator
    def _check_duration(self, attribute: attrs.Attribute[timedelta], value: object) -> None:
        _duration(value, "duration")

    @delay.validator
    def _check_delay(self, attribute: attrs.Attribute[timedelta], value: object) -> None:
        _duration(value, "delay")

    def __attrs_post_init__(self) -> None:
        if self.delay + self.duration > _DAY:
            raise InvalidInput(
                "a daily backup must finish within a day of its window opening; "
                f"delay {self.delay} + duration {self.duration} is longer"
            )

    def run_on(self, day: date) -> tuple[datetime, datetime]:
        """The run of the window that opens on local date ``day``: (start, end), in UTC."""
        opens, _ = self.window.on(day)
        start = opens + self.delay
        return start, start + self.duration

    def next_run(self, after: datetime) -> tuple[datetime, datetime]:
        """The first run that starts strictly after ``after``: (start, end), in UTC."""
        after = require_aware(after, "after").astimezone(UTC)
        today = after.astimezone(self.window.zone).date()
        # The delay (at most a day) can push an earlier day's run past ``after``.
        for shift in range(-2, 3):
            start, end = self.run_on(today + timedelta(days=shift))
            if start > after:
                return start, end
        raise AssertionError(f"no run within two days after {after.isoformat()}")  # unreachable

    def is_available(self, at: datetime) -> bool:
        """False while a backup runs: ``at`` in [run start, run end) of some day's run."""
        at = require_aware(at).astimezone(UTC)
        today = at.astimezone(self.window.zone).date()
        # A run covering ``at`` opened within a day (plus a DST hour) before it.
        for shift in (-3, -2, -1, 0):
            start, end = self.run_on(today + timedelta(days=shift))
            if start <= at < end:
                return False
        return True


# --- the FTP rule --------------------------------------------------------------------------------------


class FtpRequired(FeatureNotAvailable):
    """A backup over the threshold was asked for through the web while FTP access is off."""

    def __init__(self, message: str, *, size_bytes: int, threshold_bytes: int) -> None:
        super().__init__(message)
        self.size_bytes = size_bytes
        self.threshold_bytes = threshold_bytes


def _mb(n_bytes: int) -> str:
    return f"{mb_ceil(n_bytes):,} MB"


@attrs.frozen
class DownloadRule:
    """Backups over ``threshold_mb`` (MB of 1,048,576 bytes) can be downloaded only by FTP."""

    threshold_mb: int = attrs.field(default=DEFAULT_FTP_THRESHOLD_MB)

    @threshold_mb.validator
    def _check(self, attribute: attrs.Attribute[int], value: object) -> None:
        whole(value, "threshold_mb", low=0, high=10**9)

    @property
    def threshold_bytes(self) -> int:
        return self.threshold_mb * MB

    def needs_ftp(self, size_bytes: int) -> bool:
        """True for a backup strictly larger than the threshold."""
        return whole(size_bytes, "size_bytes", low=0, high=_MAX_BYTES) > self.threshold_bytes

    def channel(self, size_bytes: int, *, ftp_enabled: bool) -> Literal["web", "ftp"]:
        """How the customer downloads this backup: "web" or "ftp".

        Refuses with :class:`FtpRequired` when the backup needs FTP and FTP access is off.
        """
        if not isinstance(ftp_enabled, bool):
            raise InvalidType(f"ftp_enabled must be True or False, got {ftp_enabled!r}")
        if not self.needs_ftp(size_bytes):
            return "web"
        if not ftp_enabled:
            raise FtpRequired(
                f"This backup is {_mb(size_bytes)}; backups over {self.threshold_mb:,} MB can be downloaded "
                "only by FTP. Switch FTP access on to download it.",
                size_bytes=size_bytes,
                threshold_bytes=self.threshold_bytes,
            )
        return "ftp"


_USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_SCRYPT_N: Final = 2**14  # interactive-login cost (about 16 MiB, tens of ms): verified rarely, by FTP login
_SCRYPT_R: Final = 8
_SCRYPT_P: Final = 1
_HASH = re.compile(r"scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9_-]+=*)\$([A-Za-z0-9_-]+=*)")


@attrs.frozen
class FtpCredentials:
    """The clear credentials, handed once to the host's sink and never kept; the password is not in repr."""

    username: str
    password: str = attrs.field(repr=False)


class FtpCredentialsSink(Protocol):
    """The port that gets new FTP credentials to the customer and the FTP server (a mailer, a vault, ...)."""

    def deliver(self, credentials: FtpCredentials) -> None: ...


def hash_password(password: str, *, n: int = _SCRYPT_N) -> str:
    """A salted scrypt hash in one string, ``scrypt$n$r$p$salt$digest``; the cost travels with it."""
    if not isinstance(password, str) or not password:
        raise InvalidType("password must be a non-empty string")
    whole(n, "n", low=2**10, high=2**20)
    if n & (n - 1):
        raise InvalidInput(f"n must be a power of two, got {n}")
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode(), salt=salt, n=n, r=_SCRYPT_R, p=_SCRYPT_P, maxmem=2**27, dklen=32
    )
    b64 = base64.urlsafe_b64encode
    return f"scrypt${n}${_SCRYPT_R}${_SCRYPT_P}${b64(salt).decode()}${b64(digest).decode()}"


def _check_hash(value: object) -> str:
    if not isinstance(value, str):
        raise InvalidType(f"password_hash must be a string, got {type(value).__name__}")
    m = _HASH.fullmatch(value)
    if not m or not (2**10 <= int(m[1]) <= 2**20 and 1 <= int(m[2]) <= 32 and 1 <= int(m[3]) <= 16):
        raise InvalidInput("password_hash is not a hash made by hash_password (scrypt$n$r$p$salt$digest)")
    return value


def verify_password(password: str, password_hash: str) -> bool:
    """True if ``password`` matches the stored hash; compared in constant time."""
    m = _HASH.fullmatch(_check_hash(password_hash))
    if m is None or not isinstance(password, str):  # m is never None: _check_hash matched it
        return False
    n, r, p = int(m[1]), int(m[2]), int(m[3])
    salt, expected = base64.urlsafe_b64decode(m[4]), base64.urlsafe_b64decode(m[5])
    digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=2**27, dklen=len(expected))
    return hmac.compare_digest(digest, expected)


def _check_username(value: object) -> str:
    if not isinstance(value, str):
        raise InvalidType(f"username must be a string, got {value!r}")
    if not _USERNAME.fullmatch(value):
        raise InvalidInput(
            f"FTP username {value[:70]!r} is not valid: use 1-64 lowercase letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return value


@attrs.frozen
class FtpAccess:
    """FTP access switched on: the login name and the password's hash (the clear password is never kept)."""

    username: str = attrs.field(converter=_check_username)
    password_hash: str = attrs.field(converter=_check_hash, repr=False)

    @classmethod
    def switch_on(cls, username: str, sink: FtpCredentialsSink, *, password_bytes: int = 18) -> FtpAccess:
        """New credentials: the password from :mod:`secrets` goes to ``sink`` once; only its hash is returned.

        Switching on again issues a new password (the old hash is simply replaced by the caller). If the
        sink fails, its error propagates and no access is returned.
        """
        name = _check_username(username)
        if not callable(getattr(sink, "deliver", None)):
            raise InvalidType(f"sink must have a deliver(credentials) method, got {sink!r}")
        password = secrets.token_urlsafe(whole(password_bytes, "password_bytes", low=12, high=64))
        access = cls(name, hash_password(password))
        sink.deliver(FtpCredentials(name, password))
        return access

    def verify(self, username: str, password: str) -> bool:
        """True if both the login name and the password match."""
        same_name = isinstance(username, str) and hmac.compare_digest(
            username.encode(), self.username.encode()
        )
        return verify_password(password, self.password_hash) and same_name


# --- versions and auto-update --------------------------------------------------------------------------

_VERSION = re.compile(r"\d{1,9}(\.\d{1,9}){0,5}")


def _canonical_version(value: object) -> str:
    if not isinstance(value, str):
        raise InvalidType(f"version must be a string such as '3.0.12', got {value!r}")
    if not _VERSION.fullmatch(value):
        raise InvalidInput(f"version {value[:40]!r} is not a version such as '3.0.12' (1 to 6 numbers)")
    # "3.01" and "3.1" are one version; keeping one spelling makes equality agree with the order.
    return ".".join(str(int(part)) for part in value.split("."))


def _revision(instance: object, attribute: attrs.Attribute[int], value: object) -> None:
    whole(value, "revision", low=0, high=10**12)


@attrs.frozen(order=False)
class Version:
    """The application's version and revision, ordered by the version's numbers, then the revision."""

    version: str = attrs.field(converter=_canonical_version)
    revision: int = attrs.field(default=0, validator=_revision)

    @property
    def key(self) -> tuple[tuple[int, ...], int]:
        return tuple(int(p) for p in self.version.split(".")), self.revision

    def __str__(self) -> str:
        return f"{self.version} (revision {self.revision})"

    def _other(self, other: object) -> Version:
        if not isinstance(other, Version):
            raise InvalidType(f"a Version compares only with a Version, got {other!r}")
        return other

    def __lt__(self, other: object) -> bool:
        return self.key < self._other(other).key

    def __le__(self, other: object) -> bool:
        return self.key <= self._other(other).key

    def __gt__(self, other: object) -> bool:
        return self.key > self._other(other).key

    def __ge__(self, other: object) -> bool:
        return self.key >= self._other(other).key


def manual_update_available(installed: Version, latest: Version) -> bool:
    """Whether a newer version or revision than the installed one can be installed by hand."""
    if not isinstance(installed, Version) or not isinstance(latest, Version):
        raise InvalidType(f"installed and latest must be Version values, got {installed!r} and {latest!r}")
    return latest > installed


def _started(value: object) -> datetime:
    return utc_field("started")(value)


def _finished(value: object) -> datetime:
    return utc_field("finished")(value)


@attrs.frozen
class BackupOutcome:
    """What the night's backup did: when it ran (instants kept in UTC) and whether it succeeded."""

    started: datetime = attrs.field(converter=_started)
    finished: datetime = attrs.field(converter=_finished)
    succeeded: bool = attrs.field()

    @succeeded.validator
    def _check(self, attribute: attrs.Attribute[bool], value: object) -> None:
        if not isinstance(value, bool):
            raise InvalidType(f"succeeded must be True or False, got {value!r}")
        if self.finished < self.started:
            raise InvalidInput(
                f"a backup cannot finish ({self.finished.isoformat()}) before it starts "
                f"({self.started.isoformat()})"
            )


UpdateReason = Literal[
    "scheduled", "auto_update_off", "up_to_date", "no_backup", "backup_failed", "not_tonight"
]


@attrs.frozen
class UpdateDecision:
    """The auto-update decision for one night: ``at`` (None: no update) and why, as a code and in words."""

    at: datetime | None
    reason: UpdateReason
    message: str


def plan_update(
    *,
    auto_update: bool,
    installed: Version,
    latest: Version,
    night: tuple[datetime, datetime] | None,
    backup: BackupOutcome | None,
) -> UpdateDecision:
    """Schedule the automatic update right after that night's successful backup, never without one.

    ``night`` is the window occurrence (start, end) the update belongs to; the backup counts only if it
    started inside it. Pass ``window.containing(backup.started)`` (None when the backup started outside
    every window: no update) or ``window.on(day)`` for a given night.
    """
    if not isinstance(auto_update, bool):
        raise InvalidType(f"auto_update must be True or False, got {auto_update!r}")
    newer = manual_update_available(installed, latest)
    if night is not None and not (isinstance(night, tuple) and len(night) == 2):
        raise InvalidType(f"night must be a (start, end) pair of datetimes or None, got {night!r}")
    if night is not None:
        opens = require_aware(night[0], "night start").astimezone(UTC)
        closes = require_aware(night[1], "night end").astimezone(UTC)
        if closes <= opens:
            raise InvalidInput(
                f"night must end after it starts, got {opens.isoformat()} .. {closes.isoformat()}"
            )
    if backup is not None and not isinstance(backup, BackupOutcome):
        raise InvalidType(f"backup must be a BackupOutcome or None, got {backup!r}")
    if not auto_update:
        return UpdateDecision(None, "auto_update_off", "Automatic update is off.")
    if not newer:
        return UpdateDecision(None, "up_to_date", f"The latest version {installed} is installed.")
    if backup is None:
        return UpdateDecision(None, "no_backup", "No backup was made this night, so the update waits.")
    if night is None or not opens <= backup.started < closes:
        return UpdateDecision(
            None, "not_tonight", "The last backup is not from this night's window, so the update waits."
        )
    if not backup.succeeded:
        return UpdateDecision(None, "backup_failed", "This night's backup failed, so the update waits.")
    return UpdateDecision(
        backup.finished, "scheduled", f"Update to {latest} right after this night's backup."
    )


# --- retention (restic forget) -------------------------------------------------------------------------

ALL: Final = -1  # restic's "keep every bucket" count


def _rule(instance: object, attribute: attrs.Attribute[int], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidType(f"{attribute.name} must be a whole number, got {value!r}")
    if value < ALL or value > 1_000_000:
        raise InvalidInput(
            f"{attribute.name} must be a count from 0 to 1,000,000, or -1 to keep all, got {value}"
        )


# restic's buckers: the value a snapshot's local time falls into, per rule.
_BUCKETS: Final[tuple[tuple[str, Callable[[datetime, int], object]], ...]] = (
    ("last", lambda d, nr: nr),
    ("hourly", lambda d, nr: (d.year, d.month, d.day, d.hour)),
    ("daily", lambda d, nr: (d.year, d.month, d.day)),
    ("weekly", lambda d, nr: d.isocalendar()[:2]),
    ("monthly", lambda d, nr: (d.year, d.month)),
    ("yearly", lambda d, nr: d.year),
)


@attrs.frozen
class RetentionPolicy:
    """Which backups to keep, by restic's ``forget`` count rules (each count: 0 = off, -1 = all).

    A policy that keeps nothing is refused: it would delete every backup (restic refuses it too).
    """

    last: int = attrs.field(default=0, validator=_rule)
    hourly: int = attrs.field(default=0, validator=_rule)
    daily: int = attrs.field(default=7, validator=_rule)
    weekly: int = attrs.field(default=4, validator=_rule)
    monthly: int = attrs.field(default=12, validator=_rule)
    yearly: int = attrs.field(default=0, validator=_rule)

    def __attrs_post_init__(self) -> None:
        if not any(getattr(self, name) for name, _ in _BUCKETS):
            raise InvalidInput(
                "a retention policy must keep something (set last, hourly, daily, weekly, monthly or "
                "yearly); all zero would delete every backup"
            )

    def keep(self, snapshot_times: Sequence[datetime]) -> list[datetime]:
        """The snapshot times to keep, newest first, as restic ``forget`` decides.

        Snapshots are walked newest first; each rule keeps a snapshot whose bucket (the hour, day, ISO week,
        month or year of its own local time) differs from the last one the rule kept, until its count is
        used up, and a rule with count left keeps the oldest snapshot too. Kept by any rule means kept.
        """
        if isinstance(snapshot_times, str | bytes) or not isinstance(snapshot_times, Iterable):
            raise InvalidType(f"snapshot_times must be a list of datetimes, got {snapshot_times!r}")
        times = [require_aware(t, f"snapshot_times[{i}]") for i, t in enumerate(snapshot_times)]
        # Newest first; equal instants are ordered by their wall time so the answer does not depend on input
        # order (restic's stable sort would keep the input order there).
        times.sort(key=lambda t: (t.astimezone(UTC), t.replace(tzinfo=None)), reverse=True)
        counts = [getattr(self, name) for name, _ in _BUCKETS]
        last: list[object] = [None] * len(_BUCKETS)
        oldest = len(times) - 1
        kept: list[datetime] = []
        for nr, t in enumerate(times):
            keep = False
            for i, (_, bucket) in enumerate(_BUCKETS):
                if counts[i] == 0:
                    continue
                value = bucket(t, nr)
                if value != last[i] or nr == oldest:
                    keep = True
                    last[i] = value
                    if counts[i] > 0:
                        counts[i] -= 1
            if keep:
                kept.append(t)
        return kept


# --- the provider's night plan -------------------------------------------------------------------------


def _account(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    if not isinstance(value, str):
        raise InvalidType(f"account must be a string id, got {value!r}")
    if not value or len(value) > 200 or not value.isprintable() or value.strip() != value:
        raise InvalidInput(
            f"account id {value[:60]!r} is not valid: 1-200 printable characters, no surrounding spaces"
        )


def _window_type(instance: object, attribute: attrs.Attribute[BackupWindow], value: object) -> None:
    if not isinstance(value, BackupWindow):
        raise InvalidType(f"{attribute.name} must be a BackupWindow, got {value!r}")


@attrs.frozen
class BackupJob:
    """One account to back up tonight: its id, size in bytes and chosen window."""

    account: str = attrs.field(validator=_account)
    size_bytes: int = attrs.field(validator=_size_validator)
    window: BackupWindow = attrs.field(validator=_window_type)


@attrs.frozen
class PlannedBackup:
    """Where the plan put one account's backup: ``start``/``end`` (UTC) on server slot ``slot``,
    inside the window occurrence ``window_start``/``window_end``."""

    account: str
    start: datetime
    end: datetime
    window_start: datetime
    window_end: datetime
    slot: int

    @property
    def delay(self) -> timedelta:
        """How long after its window opens the backup starts (for :class:`BackupSchedule`)."""
        return self.start - self.window_start

    def covers(self, at: datetime) -> bool:
        """True while this backup runs (the account is unavailable then)."""
        return self.start <= require_aware(at).astimezone(UTC) < self.end


@attrs.frozen
class Unplaced:
    """An account the plan could not fit, with ``reason`` (a code) and ``message`` (words)."""

    account: str
    reason: Literal["longer_than_window", "no_free_slot"]
    message: str
    estimate: timedelta
    window_start: datetime
    window_end: datetime


@attrs.frozen
class WindowLoad:
    """One window's night: how much work it holds and when its last planned backup finished.

    ``lower_bound`` is max(longest backup, total work / slots): no plan of this window alone finishes
    sooner after it opens. ``tight_bound`` adds the pigeonhole bound (t+1) x the (t*slots+1)-th longest
    backup, also a lower bound; longest-first list scheduling is proven within 4/3 of it.
    """

    window: BackupWindow
    window_start: datetime
    window_end: datetime
    accounts: int
    planned: int
    total_work: timedelta
    longest: timedelta
    finish: timedelta | None
    lower_bound: timedelta
    tight_bound: timedelta

    @property
    def ratio(self) -> float | None:
        """finish / lower_bound (1.0 is optimal); None when nothing was planned or no work."""
        if self.finish is None or not self.lower_bound:
            return None
        return self.finish / self.lower_bound


@attrs.frozen
class NightPlan:
    """The plan for one night: backups placed, accounts that cannot fit, and per-window figures."""

    slots: int
    planned: tuple[PlannedBackup, ...]
    unplaced: tuple[Unplaced, ...]
    windows: tuple[WindowLoad, ...]

    def peak_concurrency(self) -> int:
        """The most backups running at any one instant (never more than ``slots``)."""
        events = sorted(
            [(p.start, 1) for p in self.planned if p.end > p.start]
            + [(p.end, -1) for p in self.planned if p.end > p.start]
        )  # at equal instants -1 sorts first: a slot freed at t can be taken at t
        peak = running = 0
        for _, step in events:
            running += step
            peak = max(peak, running)
        return peak

    def busiest(self) -> WindowLoad | None:
        """The window holding the most work."""
        return max(self.windows, key=lambda w: (w.total_work, w.accounts), default=None)


_Row = tuple[int, int, int, str, BackupWindow]  # (release, deadline, -duration, account, window)
_Placed = tuple[str, int, int, int, BackupWindow]  # (account, start, end, slot, window)
_REPAIR_ROUNDS: Final = 6


def plan_night(
    jobs: Iterable[BackupJob], *, slots: int, throughput: BackupThroughput, after: datetime
) -> NightPlan:
    """Plan each account's backup in its next window after ``after`` on a server running ``slots`` at once.

    1. Whenever a slot frees up it takes, among the backups whose windows are open, the one whose window
       closes first, the longest of those (earliest deadline first, then longest first). For accounts
       sharing one window this is longest-first list scheduling, whose finish is within 4/3 of the best
       possible; across windows, the one closing first goes first. A backup that would end after its
       window closes is not started.
    2. If some backups did not fit, the night is overloaded: to leave out as few accounts as possible, the
       longest backups of the overloaded windows (as much work as was left out there) make way and step 1
       runs again, for as long as that leaves out fewer accounts (a few rounds at most).
    3. Every backup still left out tries, shortest first, any idle stretch of a slot inside its window.

    What is left is reported (:class:`Unplaced`): longer than its window, or no slot has a free stretch as
    long as the backup anywhere in its window. Never more than ``slots`` run at once; each planned backup
    ends inside its window; the plan does not depend on the order of ``jobs``.
    """
    k = whole(slots, "slots", low=1, high=_MAX_SLOTS)
    if not isinstance(throughput, BackupThroughput):
        raise InvalidType(f"throughput must be a BackupThroughput, got {throughput!r}")
    moment = require_aware(after, "after")
    if isinstance(jobs, str | bytes) or not isinstance(jobs, Iterable):
        raise InvalidType(f"jobs must be a collection of BackupJob, got {jobs!r}")

    # Instants are whole seconds since the epoch: window edges fall on whole seconds and so do estimates.
    occurrence: dict[BackupWindow, tuple[datetime, datetime, int, int]] = {}
    work: dict[BackupWindow, list[int]] = {}
    seen: set[str] = set()
    rate, overhead = throughput.bytes_per_second, int(throughput.overhead.total_seconds())
    # Sorted rows make the plan independent of input order; accounts are unique, so windows never compare.
    rows: list[_Row] = []
    unplaced: list[Unplaced] = []
    for job in jobs:
        if not isinstance(job, BackupJob):
            raise InvalidType(f"jobs must hold only BackupJob values, got {job!r}")
        if job.account in seen:
            raise InvalidInput(f"account {job.account!r} appears twice in the night's jobs")
        seen.add(job.account)
        window = job.window
        occ = occurrence.get(window)
        if occ is None:
            ws, we = window.next_after(moment)
            occ = occurrence[window] = (ws, we, int(ws.timestamp()), int(we.timestamp()))
            work[window] = []
        seconds = overhead - (-job.size_bytes // rate)
        work[window].append(seconds)
        if seconds > occ[3] - occ[2]:
            est = timedelta(seconds=seconds)
            unplaced.append(
                Unplaced(
                    job.account,
                    "longer_than_window",
                    f"the backup of {job.account} is estimated at {_words(est)}, but its window "
                    f"{window} lasts only {_words(window.length)}",
                    est,
                    occ[0],
                    occ[1],
                )
            )
        else:
            rows.append((occ[2], occ[3], -seconds, job.account, window))
    rows.sort()

    placed, left = _repair(rows, k)
    if left:
        left = _fill_gaps(rows, placed, left, k)
    for _, _, neg, account, window in left:
        est = timedelta(seconds=-neg)
        unplaced.append(
            Unplaced(
                account,
                "no_free_slot",
                f"the backup of {account}, estimated at {_words(est)}, does not fit: no backup slot has "
                f"{_words(est)} free inside its window {window}; all {k} slots are taken by other backups",
                est,
                occurrence[window][0],
                occurrence[window][1],
            )
        )

    utc = datetime.fromtimestamp
    placed.sort(key=lambda p: (p[1], p[3]))
    planned = tuple(
        PlannedBackup(account, utc(start, UTC), utc(end, UTC), *occurrence[window][:2], slot)
        for account, start, end, slot, window in placed
    )
    unplaced.sort(key=lambda u: (u.window_start, u.account))
    return NightPlan(k, planned, tuple(unplaced), _loads(k, work, placed, occurrence))


def _list_schedule(rows: list[_Row], k: int) -> tuple[list[_Placed], list[_Row]]:
    """Step 1: earliest deadline first, longest first, on the slot that frees first; ``rows`` sorted."""
    slot_heap = [(0, s) for s in range(k)]  # (free from, slot); 0: free since before any window
    ready: list[tuple[int, int, str, int, BackupWindow]] = []
    placed: list[_Placed] = []
    left: list[_Row] = []
    clock, i, n = 0, 0, len(rows)
    while i < n or ready:
        # Decisions are made in time order: the clock never goes back, so no backup starts before a
        # decision already taken, and every waiting backup was released at or before the clock.
        clock = max(clock, slot_heap[0][0])
        if not ready:
            clock = max(clock, rows[i][0])
        while i < n and rows[i][0] <= clock:
            release, deadline, neg, account, window = rows[i]
            heapq.heappush(ready, (deadline, neg, account, release, window))
            i += 1
        deadline, neg, account, release, window = heapq.heappop(ready)
        end = clock - neg
        if end > deadline:
            # The earliest free slot is too late, and every other slot frees later still: it fits nowhere.
            left.append((release, deadline, neg, account, window))
            continue
        slot = heapq.heapreplace(slot_heap, (end, slot_heap[0][1]))[1]
        placed.append((account, clock, end, slot, window))
    return placed, left


def _repair(rows: list[_Row], k: int) -> tuple[list[_Placed], list[_Row]]:
    """Step 2: while it leaves out fewer accounts, the longest backups of overloaded windows make way."""
    placed, left = _list_schedule(rows, k)
    dropped: set[str] = set()
    for _ in range(_REPAIR_ROUNDS):
        if not left:
            break
        shortfall: dict[BackupWindow, int] = {}
        for _, _, neg, _, window in left:
            shortfall[window] = shortfall.get(window, 0) - neg
        by_window: dict[BackupWindow, list[tuple[int, str]]] = {w: [] for w in shortfall}
        for account, start, end, _, window in placed:
            if window in by_window:
                by_window[window].append((end - start, account))
        more = set(dropped)
        for window, need in shortfall.items():
            for length, account in sorted(by_window[window], reverse=True):
                if need <= 0:
                    break
                more.add(account)
                need -= length
        kept = [r for r in rows if r[3] not in more]
        placed2, left2 = _list_schedule(kept, k)
        if len(left2) + len(more) >= len(left) + len(dropped):
            break
        placed, dropped = placed2, more
        left = left2
    return placed, left + [r for r in rows if r[3] in dropped]


def _fill_gaps(rows: list[_Row], placed: list[_Placed], left: list[_Row], k: int) -> list[_Row]:
    """Step 3: each backup left out, shortest first, takes the earliest idle stretch of a slot that fits it.

    Returns the backups that still fit nowhere: no slot is idle for as long as the backup inside its window.
    """
    lo, hi = min(r[0] for r in rows), max(r[1] for r in rows)
    runs: list[list[tuple[int, int]]] = [[] for _ in range(k)]
    for _, start, end, slot, _ in placed:
        runs[slot].append((start, end))
    gaps: list[list[int]] = []  # [start, end, slot]: every idle stretch of every slot within [lo, hi]
    for slot, busy in enumerate(runs):
        cursor = lo
        for start, end in sorted(busy):
            if start > cursor:
                gaps.append([cursor, start, slot])
            cursor = max(cursor, end)
        if hi > cursor:
            gaps.append([cursor, hi, slot])
    by_window: dict[BackupWindow, list[_Row]] = {}
    for row in left:
        by_window.setdefault(row[4], []).append(row)
    still: list[_Row] = []
    for window in sorted(by_window, key=lambda w: (by_window[w][0][1], by_window[w][0][0], str(w))):
        waiting = sorted(by_window[window], key=lambda r: (-r[2], r[3]))  # shortest first
        for n, (release, deadline, neg, account, _) in enumerate(waiting):
            best: list[int] | None = None
            for gap in gaps:
                start = max(gap[0], release)
                if min(gap[1], deadline) - start >= -neg and (best is None or start < max(best[0], release)):
                    best = gap
            if best is None:
                # Gaps only shrink and the rest are longer: none of them fits either.
                still.extend(waiting[n:])
                break
            start = max(best[0], release)
            gaps.remove(best)
            if start > best[0]:
                gaps.append([best[0], start, best[2]])
            if best[1] > start - neg:
                gaps.append([start - neg, best[1], best[2]])
            placed.append((account, start, start - neg, best[2], window))
    return still


def _loads(
    k: int,
    work: dict[BackupWindow, list[int]],
    placed: list[_Placed],
    occurrence: dict[BackupWindow, tuple[datetime, datetime, int, int]],
) -> tuple[WindowLoad, ...]:
    finish: dict[BackupWindow, int] = {}
    count: dict[BackupWindow, int] = {}
    for _, _, end, _, window in placed:
        finish[window] = max(finish.get(window, end), end)
        count[window] = count.get(window, 0) + 1
    out = []
    for window, (ws, we, release, _) in occurrence.items():
        durations = sorted(work[window], reverse=True)
        total = sum(durations)
        simple = max(durations[0], total / k)
        # Pigeonhole: among the t*k+1 longest backups, t+1 share a slot, each at least the (t*k+1)-th.
        tight = simple
        for t in range(1, (len(durations) - 1) // k + 1):
            tight = max(tight, (t + 1) * durations[t * k])
        out.append(
            WindowLoad(
                window=window,
                window_start=ws,
                window_end=we,
                accounts=len(durations),
                planned=count.get(window, 0),
                total_work=timedelta(seconds=total),
                longest=timedelta(seconds=durations[0]),
                finish=timedelta(seconds=finish[window] - release) if window in finish else None,
                lower_bound=timedelta(seconds=simple),
                tight_bound=timedelta(seconds=tight),
            )
        )
    out.sort(key=lambda load: (load.window_start, load.window_end, str(load.window)))
    return tuple(out)
