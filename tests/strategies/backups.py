"""Strategies for backup windows, DST transition days, snapshots, retention policies and night plans."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

from cabinet_core.backup_policy import BackupJob, BackupWindow, RetentionPolicy

STEADY_ZONES = ("Europe/Moscow", "UTC", "Asia/Tokyo", "Asia/Kolkata")
DST_ZONES = ("Europe/Berlin", "America/New_York")
# Zones with unusual rules: 30-minute DST (Lord Howe), negative DST (Dublin), transitions at midnight
# (Havana, Santiago), quarter-hour offsets (Kathmandu, Chatham), a skipped calendar day (Apia, 2011),
# DST switched off for Ramadan (Casablanca) and abolished (Tehran, 2022).
ODD_ZONES = (
    "Australia/Lord_Howe",
    "Europe/Dublin",
    "America/Havana",
    "America/Santiago",
    "Asia/Kathmandu",
    "Pacific/Chatham",
    "Pacific/Apia",
    "America/St_Johns",
    "Africa/Casablanca",
    "Asia/Tehran",
)
ALL_ZONES = STEADY_ZONES + DST_ZONES + ODD_ZONES

moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2037, 12, 31), timezones=st.just(UTC)
)


@st.composite
def windows(draw: st.DrawFn, zones: tuple[str, ...] = ALL_ZONES) -> BackupWindow:
    """Any valid window: whole minutes, 30 minutes to 23 h 59 min long, may cross midnight."""
    start = draw(st.integers(0, 1439))
    length = draw(st.integers(30, 1439))
    end = (start + length) % 1440
    return BackupWindow(
        time(start // 60, start % 60), time(end // 60, end % 60), draw(st.sampled_from(zones))
    )


def transitions(zone_name: str, first_year: int = 2005, last_year: int = 2037) -> list[datetime]:
    """Every instant (UTC) at which ``zone_name`` changes its offset in the years given."""
    z = ZoneInfo(zone_name)
    out = []
    t = datetime(first_year, 1, 1, tzinfo=UTC)
    stop = datetime(last_year + 1, 1, 1, tzinfo=UTC)
    before = t.astimezone(z).utcoffset()
    while t < stop:
        nxt = t + timedelta(hours=1)
        after = nxt.astimezone(z).utcoffset()
        if after != before:
            lo, hi = t, nxt  # narrow to the second
            while hi - lo > timedelta(seconds=1):
                mid = lo + (hi - lo) / 2
                if mid.astimezone(z).utcoffset() == after:
                    hi = mid
                else:
                    lo = mid
            out.append(hi)
        t, before = nxt, after
    return out


_TRANSITIONS: dict[str, list[datetime]] = {}


def transition_instants(zone_name: str) -> st.SearchStrategy[datetime]:
    if zone_name not in _TRANSITIONS:
        _TRANSITIONS[zone_name] = transitions(zone_name)
    return st.sampled_from(_TRANSITIONS[zone_name])


@st.composite
def around_transitions(draw: st.DrawFn, zones: tuple[str, ...] = DST_ZONES) -> tuple[str, datetime]:
    """A DST zone and a moment within two days of one of its transitions (the hard days)."""
    for name in zones:
        if name not in _TRANSITIONS:
            _TRANSITIONS[name] = transitions(name)
    name = draw(st.sampled_from([z for z in zones if _TRANSITIONS[z]]))
    at = draw(transition_instants(name))
    return name, at + timedelta(seconds=draw(st.integers(-2 * 86_400, 2 * 86_400)))


def transition_days(zone_name: str) -> list[date]:
    """The local dates on which ``zone_name`` changes its offset."""
    z = ZoneInfo(zone_name)
    if zone_name not in _TRANSITIONS:
        _TRANSITIONS[zone_name] = transitions(zone_name)
    return sorted({t.astimezone(z).date() for t in _TRANSITIONS[zone_name]})


# Snapshots: times on a coarse grid so that buckets collide, in UTC or in a zone, with repeats.
_snapshot_instants = st.integers(0, 3 * 366 * 24 * 4).map(
    lambda q: datetime(2022, 1, 1, tzinfo=UTC) + timedelta(minutes=15 * q)
)


@st.composite
def snapshot_times(draw: st.DrawFn, max_size: int = 60) -> list[datetime]:
    base = draw(st.lists(_snapshot_instants, max_size=max_size))
    z = ZoneInfo(draw(st.sampled_from(("UTC", "Europe/Moscow", "Europe/Berlin", "America/New_York"))))
    times = [t.astimezone(z) for t in base]
    if times and draw(st.booleans()):
        times += draw(st.lists(st.sampled_from(times), max_size=5))  # same instant twice
    return times


_count = st.one_of(st.just(0), st.integers(1, 12), st.just(-1))


@st.composite
def retention_policies(draw: st.DrawFn) -> RetentionPolicy:
    counts = draw(st.lists(_count, min_size=6, max_size=6).filter(any))
    return RetentionPolicy(*counts)


@st.composite
def night_jobs(
    draw: st.DrawFn, offered: list[BackupWindow], max_size: int = 40, max_bytes: int = 6 * 3600
) -> list[BackupJob]:
    """Accounts with unique ids, sizes up to ``max_bytes`` and windows from ``offered``."""
    n = draw(st.integers(0, max_size))
    return [
        BackupJob(
            f"acc-{i}",
            draw(st.integers(0, max_bytes)),
            draw(st.sampled_from(offered)),
        )
        for i in range(n)
    ]
