"""Backup duration estimate, the too-short-window warning, and availability while the backup runs."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cabinet_core.backup_policy import (
    MB,
    BackupSchedule,
    BackupThroughput,
    BackupWindow,
    window_fit,
)
from cabinet_core.errors import InvalidInput, InvalidType, NaiveDatetime

from strategies.backups import moments, windows

BERLIN = ZoneInfo("Europe/Berlin")


def test_estimate_is_overhead_plus_size_over_speed() -> None:
    """1,200 MB at 20 MB/s with 5 minutes of overhead takes 6 minutes."""
    speed = BackupThroughput.from_mb_per_s(Decimal(20), overhead_minutes=5)
    assert speed.bytes_per_second == 20 * MB
    assert speed.estimate(1200 * MB) == timedelta(minutes=6)


def test_estimate_rounds_up_to_the_second() -> None:
    """One byte more than a whole second's worth costs a whole second more."""
    speed = BackupThroughput(bytes_per_second=1000)
    assert speed.estimate(1000) == timedelta(seconds=1)
    assert speed.estimate(1001) == timedelta(seconds=2)
    assert speed.estimate(0) == timedelta(0)


def test_fractional_speed_from_settings() -> None:
    """A speed like '0.5' MB/s from the provider's settings is exact; a float is refused."""
    assert BackupThroughput.from_mb_per_s("0.5").bytes_per_second == MB // 2
    with pytest.raises(InvalidType, match="float"):
        BackupThroughput.from_mb_per_s(0.5)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="positive"):
        BackupThroughput.from_mb_per_s("0")
    with pytest.raises(InvalidInput, match="'fast'"):
        BackupThroughput.from_mb_per_s("fast")


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"bytes_per_second": 0}, InvalidInput),
        ({"bytes_per_second": -5}, InvalidInput),
        ({"bytes_per_second": 10.0}, InvalidType),
        ({"bytes_per_second": 10, "overhead": timedelta(seconds=-1)}, InvalidInput),
        ({"bytes_per_second": 10, "overhead": 60}, InvalidType),
    ],
)
def test_bad_throughput_is_refused(kwargs: dict[str, object], error: type[Exception]) -> None:
    """Zero or negative speed, negative overhead and wrong types are refused."""
    with pytest.raises(error):
        BackupThroughput(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("size", [-1, 1.5, "10", True])
def test_bad_sizes_are_refused(size: object) -> None:
    """A negative, fractional or non-integer size is refused naming it."""
    with pytest.raises((InvalidInput, InvalidType), match="size_bytes"):
        BackupThroughput(1000).estimate(size)  # type: ignore[arg-type]


@given(
    rate=st.integers(1, 10**9),
    overhead=st.integers(0, 3600),
    a=st.integers(0, 10**13),
    b=st.integers(0, 10**13),
)
def test_estimate_grows_with_size(rate: int, overhead: int, a: int, b: int) -> None:
    """A bigger account never takes less time; the estimate is overhead + size / speed rounded up."""
    speed = BackupThroughput(rate, timedelta(seconds=overhead))
    small, big = sorted((a, b))
    assert speed.estimate(small) <= speed.estimate(big)
    seconds = (speed.estimate(big) - speed.overhead) // timedelta(seconds=1)
    assert seconds * rate >= big > (seconds - 1) * rate  # size / speed, rounded up to the second


# --- fitting the window --------------------------------------------------------------------------------


def test_fit_message_in_words() -> None:
    """A too-short window is explained with the estimate and the window's length in hours and minutes."""
    fit = window_fit(BackupWindow(time(1), time(1, 45)), timedelta(hours=1, minutes=59, seconds=10))
    assert not fit.fits
    assert fit.message == (
        "Your backup is estimated to take 2 hours, but the window 01:00–01:45 (Europe/Moscow) lasts only "
        "45 minutes. Choose a window of at least 2 hours."
    )


def test_fit_ok_message() -> None:
    """A window long enough says so, with both figures."""
    fit = window_fit(BackupWindow(time(1), time(3)), timedelta(minutes=61))
    assert fit.fits
    assert "1 hour 1 minute" in fit.message
    assert "lasts 2 hours" in fit.message


@given(w=windows(), seconds=st.integers(0, 2 * 86_400))
def test_fits_exactly_when_estimate_within_length(w: BackupWindow, seconds: int) -> None:
    """fits is estimate <= the window's length, and the words never understate the estimate."""
    fit = window_fit(w, timedelta(seconds=seconds))
    assert fit.fits == (timedelta(seconds=seconds) <= w.length)
    assert fit.window_length == w.length


def test_fit_refuses_wrong_types() -> None:
    """A non-window or a negative estimate is refused."""
    with pytest.raises(InvalidType):
        window_fit("01:00-03:00", timedelta(minutes=5))  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        window_fit(BackupWindow(time(1), time(3)), timedelta(minutes=-5))


# --- availability --------------------------------------------------------------------------------------


def test_unavailable_while_the_backup_runs() -> None:
    """A 40-minute backup from 01:00 MSK: unavailable 01:00-01:40, available before and after."""
    schedule = BackupSchedule(BackupWindow(time(1), time(3)), timedelta(minutes=40))
    msk = ZoneInfo("Europe/Moscow")
    assert schedule.is_available(datetime(2024, 5, 1, 0, 59, 59, tzinfo=msk))
    assert not schedule.is_available(datetime(2024, 5, 1, 1, 0, tzinfo=msk))
    assert not schedule.is_available(datetime(2024, 5, 1, 1, 39, 59, tzinfo=msk))
    assert schedule.is_available(datetime(2024, 5, 1, 1, 40, tzinfo=msk))
    assert schedule.is_available(datetime(2024, 5, 1, 2, 30, tzinfo=msk))


def test_delay_from_the_night_plan() -> None:
    """Planned 30 minutes into the window, the backup makes the account unavailable from 01:30."""
    schedule = BackupSchedule(BackupWindow(time(1), time(3)), timedelta(minutes=40), timedelta(minutes=30))
    msk = ZoneInfo("Europe/Moscow")
    assert schedule.is_available(datetime(2024, 5, 1, 1, 10, tzinfo=msk))
    assert not schedule.is_available(datetime(2024, 5, 1, 2, 0, tzinfo=msk))
    assert schedule.next_run(datetime(2024, 5, 1, 1, 10, tzinfo=msk)) == (
        datetime(2024, 4, 30, 22, 30, tzinfo=UTC),
        datetime(2024, 4, 30, 23, 10, tzinfo=UTC),
    )


def test_run_across_midnight() -> None:
    """A run started at 23:50 on a window crossing midnight still blocks the account at 00:10."""
    schedule = BackupSchedule(BackupWindow(time(23, 50), time(1)), timedelta(minutes=30))
    msk = ZoneInfo("Europe/Moscow")
    assert not schedule.is_available(datetime(2024, 5, 2, 0, 10, tzinfo=msk))
    assert schedule.is_available(datetime(2024, 5, 2, 0, 20, tzinfo=msk))


def test_run_on_the_fall_back_night_in_berlin() -> None:
    """On Berlin's fall-back night a 90-minute run from the first 02:00 ends at 02:30 CET, real time."""
    schedule = BackupSchedule(BackupWindow(time(2), time(4), "Europe/Berlin"), timedelta(minutes=90))
    start, end = schedule.run_on(date(2024, 10, 27))
    assert end - start == timedelta(minutes=90)
    second_0215 = datetime(2024, 10, 27, 2, 15, fold=1, tzinfo=BERLIN)
    assert not schedule.is_available(second_0215)
    assert schedule.is_available(datetime(2024, 10, 27, 2, 30, fold=1, tzinfo=BERLIN))


def test_schedule_refuses_bad_values() -> None:
    """A day-long-plus run, a negative delay, a non-window and a naive instant are refused."""
    w = BackupWindow(time(1), time(3))
    with pytest.raises(InvalidInput, match="within a day"):
        BackupSchedule(w, timedelta(hours=20), timedelta(hours=5))
    with pytest.raises(InvalidInput):
        BackupSchedule(w, timedelta(minutes=5), timedelta(minutes=-1))
    with pytest.raises(InvalidType):
        BackupSchedule("01:00-03:00", timedelta(minutes=5))  # type: ignore[arg-type]
    with pytest.raises(NaiveDatetime):
        BackupSchedule(w, timedelta(minutes=5)).is_available(datetime(2024, 5, 1, 1, 2))


@given(
    w=windows(),
    minutes=st.integers(0, 24 * 60),
    delay=st.integers(0, 24 * 60),
    moment=moments,
)
def test_available_exactly_outside_runs(w: BackupWindow, minutes: int, delay: int, moment: datetime) -> None:
    """is_available(at) is False exactly in [start, end) of the run nearest around ``at``."""
    duration, wait = timedelta(minutes=minutes), timedelta(minutes=min(delay, 24 * 60 - minutes))
    schedule = BackupSchedule(w, duration, wait)
    start, end = schedule.next_run(moment - timedelta(days=2))
    covered = False
    while start <= moment:
        covered = covered or start <= moment < end
        start, end = schedule.next_run(start)
    assert schedule.is_available(moment) == (not covered)
    if duration:
        assert not schedule.is_available(start)
