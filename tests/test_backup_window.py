"""BackupWindow: shape, the offered-window pick, and the next occurrence across DST in any zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from cabinet_core import BackupWindow, CabinetError
from cabinet_core.backup_policy import WindowNotOffered, WindowTooShort, choose_window
from cabinet_core.errors import InvalidInput, InvalidType, NaiveDatetime

from strategies.backups import (
    ALL_ZONES,
    DST_ZONES,
    ODD_ZONES,
    STEADY_ZONES,
    around_transitions,
    moments,
    transition_days,
    windows,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def _exists(day: date, wall: time, z: ZoneInfo) -> bool:
    naive = datetime.combine(day, wall)
    return naive.replace(tzinfo=z).astimezone(UTC).astimezone(z).replace(tzinfo=None) == naive


def _in_window(wall: time, w: BackupWindow) -> bool:
    if w.start < w.end:
        return w.start <= wall < w.end
    return wall >= w.start or wall < w.end


def _assert_first(w: BackupWindow, moment: datetime, start: datetime) -> None:
    """No occurrence of the window (of the days around) opens strictly between the moment and ``start``."""
    day = start.astimezone(w.zone).date()
    for shift in range(-3, 1):
        other, _ = w.on(day + timedelta(days=shift))
        assert other <= moment or other >= start


def _assert_start_or_gap_end(w: BackupWindow, start: datetime) -> None:
    """The start shows the window's start time (first occurrence), or else a gap (a forward jump) ends there.

    The second case is a start time that does not exist on its day; on a skipped day (Apia, 2011-12-30) it
    lands on the next date, whose own start time does exist.
    """
    z = w.zone
    local = start.astimezone(z)
    if (local.time(), local.fold) != (w.start, 0):
        before = (start - timedelta(seconds=1)).astimezone(z)
        assert before.utcoffset() < local.utcoffset()  # type: ignore[operator]
        days = (local.date() - before.date()).days
        assert any(not _exists(before.date() + timedelta(days=d), w.start, z) for d in range(days + 1))


# --- shape ---------------------------------------------------------------------------------------------


def test_design_example() -> None:
    """The DESIGN.md example builds, defaults to Moscow and lasts two hours."""
    w = BackupWindow(start=time(1, 0), end=time(3, 0))
    assert (w.tz, w.length, w.crosses_midnight) == ("Europe/Moscow", timedelta(hours=2), False)
    assert str(w) == "01:00–03:00 (Europe/Moscow)"


def test_crossing_midnight() -> None:
    """A window may cross midnight; its length wraps around."""
    w = BackupWindow(time(23, 0), time(0, 30), "Europe/Berlin")
    assert w.crosses_midnight
    assert w.length == timedelta(minutes=90)


@pytest.mark.parametrize(
    ("start", "end", "tz", "words"),
    [
        (time(1, 0), time(1, 0), "Europe/Moscow", "same time"),
        (time(1, 0), time(1, 29), "Europe/Moscow", "at least 30 minutes"),
        (time(23, 50), time(0, 10), "Europe/Moscow", "at least 30 minutes"),
        (time(1, 0), time(3, 0), "Mars/Olympus", "not a known IANA time zone"),
        (time(1, 0, 30), time(3, 0), "Europe/Moscow", "whole minutes"),
        (time(1, 0, tzinfo=UTC), time(3, 0), "Europe/Moscow", "without tzinfo"),
    ],
)
def test_bad_shapes_are_refused(start: time, end: time, tz: str, words: str) -> None:
    """A window of the wrong shape is refused with a ValueError that is a CabinetError and says why."""
    with pytest.raises(InvalidInput, match=words) as info:
        BackupWindow(start, end, tz)
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, CabinetError)


@pytest.mark.parametrize("bad", ["01:00", 1, datetime(2024, 1, 1, 1, 0), None])
def test_wrong_types_are_refused(bad: object) -> None:
    """Start and end must be datetime.time; anything else is a TypeError naming the value."""
    with pytest.raises(InvalidType, match=r"datetime\.time"):
        BackupWindow(bad, time(3, 0))  # type: ignore[arg-type]


def test_exactly_thirty_minutes_is_enough() -> None:
    """30 minutes is the shortest window allowed, including across midnight."""
    assert BackupWindow(time(23, 45), time(0, 15)).length == timedelta(minutes=30)


def test_parse() -> None:
    """An operator's '01:00-03:00' (hyphen or en dash) parses; anything else is refused naming the text."""
    assert BackupWindow.parse("01:00-03:00") == BackupWindow(time(1), time(3))
    assert BackupWindow.parse(" 23:30 – 01:00 ", "UTC") == BackupWindow(time(23, 30), time(1), "UTC")
    with pytest.raises(InvalidInput, match="'1am-3am'"):
        BackupWindow.parse("1am-3am")


def test_zoneinfo_is_accepted_as_tz() -> None:
    """A ZoneInfo object stands for its key, so equal windows compare equal."""
    assert BackupWindow(time(1), time(3), ZoneInfo("Europe/Berlin")) == BackupWindow(
        time(1), time(3), "Europe/Berlin"
    )


# --- choosing from the offered windows ------------------------------------------------------------------

OFFERED = [BackupWindow(time(1), time(3)), BackupWindow(time(3), time(5))]


def test_choose_offered() -> None:
    """A window the provider offers is accepted as is."""
    assert choose_window(BackupWindow(time(3), time(5)), OFFERED) == OFFERED[1]


def test_choose_not_offered_names_the_offered_ones() -> None:
    """A window not offered is refused, naming every offered window."""
    with pytest.raises(WindowNotOffered) as info:
        choose_window(BackupWindow(time(2), time(4)), OFFERED)
    message = str(info.value)
    assert "02:00–04:00" in message
    assert "01:00–03:00 (Europe/Moscow)" in message
    assert "03:00–05:00 (Europe/Moscow)" in message
    assert info.value.offered == tuple(OFFERED)


def test_same_times_other_zone_is_not_offered() -> None:
    """The zone is part of the window: 01:00-03:00 Berlin is not 01:00-03:00 Moscow."""
    with pytest.raises(WindowNotOffered):
        choose_window(BackupWindow(time(1), time(3), "Europe/Berlin"), OFFERED)


def test_choose_too_short_says_estimate_and_window() -> None:
    """A window shorter than the estimate is refused with both durations in words."""
    with pytest.raises(WindowTooShort) as info:
        choose_window(OFFERED[0], OFFERED, estimate=timedelta(hours=2, minutes=9, seconds=1))
    assert "2 hours 10 minutes" in str(info.value)
    assert "lasts only 2 hours" in str(info.value)
    assert info.value.window_length == timedelta(hours=2)


def test_choose_exactly_fitting_estimate() -> None:
    """An estimate equal to the window's length fits."""
    assert choose_window(OFFERED[0], OFFERED, estimate=timedelta(hours=2)) == OFFERED[0]


def test_choose_refuses_wrong_types() -> None:
    """A non-window pick, a string menu or a menu holding non-windows are TypeErrors."""
    with pytest.raises(InvalidType):
        choose_window("01:00-03:00", OFFERED)  # type: ignore[arg-type]
    with pytest.raises(InvalidType):
        choose_window(OFFERED[0], "01:00-03:00")  # type: ignore[arg-type]
    with pytest.raises(InvalidType):
        choose_window(OFFERED[0], [OFFERED[0], (time(1), time(3))])  # type: ignore[list-item]


@given(w=windows(), offered=st.lists(windows(), max_size=5))
def test_choose_accepts_exactly_the_offered(w: BackupWindow, offered: list[BackupWindow]) -> None:
    """choose_window accepts a window if and only if it is among the offered ones."""
    if w in offered:
        assert choose_window(w, offered) == w
    else:
        with pytest.raises(WindowNotOffered):
            choose_window(w, offered)


# --- next_after: known DST days --------------------------------------------------------------------------


def test_berlin_spring_gap_moves_to_first_valid_instant() -> None:
    """Berlin 2024-03-31: 02:30 does not exist; the start is 03:00 CEST and the end one hour later."""
    w = BackupWindow(time(2, 30), time(3, 30), "Europe/Berlin")
    start, end = w.next_after(datetime(2024, 3, 30, 12, tzinfo=BERLIN))
    assert start == datetime(2024, 3, 31, 1, 0, tzinfo=UTC)
    assert start.astimezone(BERLIN).isoformat() == "2024-03-31T03:00:00+02:00"
    assert end - start == timedelta(hours=1)


def test_berlin_autumn_fold_takes_first_occurrence() -> None:
    """Berlin 2024-10-27: 02:30 happens twice; the first (CEST) is used; the end is 60 real minutes on."""
    w = BackupWindow(time(2, 30), time(3, 30), "Europe/Berlin")
    start, end = w.next_after(datetime(2024, 10, 26, 12, tzinfo=BERLIN))
    assert start == datetime(2024, 10, 27, 0, 30, tzinfo=UTC)
    assert start.astimezone(BERLIN).utcoffset() == timedelta(hours=2)
    assert end == datetime(2024, 10, 27, 1, 30, tzinfo=UTC)  # 02:30 CET, the second 02:30


def test_new_york_spring_gap() -> None:
    """New York 2024-03-10: 02:15 does not exist; the start is 03:00 EDT."""
    w = BackupWindow(time(2, 15), time(4, 0), "America/New_York")
    start, end = w.next_after(datetime(2024, 3, 9, 23, 0, tzinfo=NEW_YORK))
    assert start.astimezone(NEW_YORK).isoformat() == "2024-03-10T03:00:00-04:00"
    assert end - start == timedelta(minutes=105)


def test_new_york_autumn_fold() -> None:
    """New York 2024-11-03: 01:30 happens twice; the first (EDT) is used."""
    w = BackupWindow(time(1, 30), time(2, 30), "America/New_York")
    start, end = w.next_after(datetime(2024, 11, 2, 12, tzinfo=NEW_YORK))
    assert start == datetime(2024, 11, 3, 5, 30, tzinfo=UTC)
    assert end - start == timedelta(hours=1)


def test_window_across_the_fold_lasts_its_real_length() -> None:
    """A Berlin window 01:00-04:00 on the fall-back night still lasts exactly 3 real hours."""
    start, end = BackupWindow(time(1), time(4), "Europe/Berlin").on(date(2024, 10, 27))
    assert end - start == timedelta(hours=3)
    assert end.astimezone(BERLIN).time() == time(3, 0)  # the wall clock went back an hour


def test_moment_inside_the_second_occurrence_of_a_fold() -> None:
    """A moment in the second 01:30 of New York's fold gets the next day's window, not the first 01:30."""
    w = BackupWindow(time(1, 30), time(2, 30), "America/New_York")
    moment = datetime(2024, 11, 3, 1, 45, fold=1, tzinfo=NEW_YORK)
    start, _ = w.next_after(moment)
    assert start.astimezone(NEW_YORK).isoformat() == "2024-11-04T01:30:00-05:00"


def test_start_exactly_at_moment_is_not_next() -> None:
    """next_after is strict: a window opening exactly at the moment is the one after it."""
    w = BackupWindow(time(1), time(3))
    opens, _ = w.on(date(2024, 5, 1))
    assert w.next_after(opens)[0] == opens + timedelta(days=1)
    assert w.next_after(opens - timedelta(microseconds=1))[0] == opens


def test_next_after_refuses_naive_and_non_datetimes() -> None:
    """A naive moment or a non-datetime is refused, naming the value."""
    w = BackupWindow(time(1), time(3))
    with pytest.raises(NaiveDatetime, match="2024-05-01T12:00:00"):
        w.next_after(datetime(2024, 5, 1, 12))
    with pytest.raises(InvalidType):
        w.next_after("2024-05-01T12:00+03:00")  # type: ignore[arg-type]
    with pytest.raises(InvalidType):
        w.on(datetime(2024, 5, 1, tzinfo=UTC))  # type: ignore[arg-type]


def test_samoa_skipped_day() -> None:
    """Apia skipped 2011-12-30: that date's 01:00 is in the gap, so it opens at the gap's end, 31st 00:00."""
    w = BackupWindow(time(1), time(3), "Pacific/Apia")
    first, _ = w.on(date(2011, 12, 29))
    start, _ = w.next_after(first)
    assert start.astimezone(w.zone).isoformat() == "2011-12-31T00:00:00+14:00"
    assert start - first == timedelta(hours=23)
    assert w.next_after(start)[0].astimezone(w.zone).isoformat() == "2011-12-31T01:00:00+14:00"


# --- next_after: properties ----------------------------------------------------------------------------


@given(w=windows(), moment=moments)
@example(
    w=BackupWindow(time(2, 30), time(3, 0), "Europe/Berlin"), moment=datetime(2024, 3, 30, 2, tzinfo=UTC)
)
@example(w=BackupWindow(time(0, 0), time(1, 0), "America/Havana"), moment=datetime(2024, 3, 9, tzinfo=UTC))
def test_next_after_is_the_first_start_after_the_moment(w: BackupWindow, moment: datetime) -> None:
    """The start is after the moment, aware, lasts the window's length, and the day before's start is not."""
    start, end = w.next_after(moment)
    assert start.tzinfo is not None and end.tzinfo is not None
    assert start > moment
    assert end - start == w.length
    _assert_first(w, moment, start)


@given(w=windows(STEADY_ZONES), moment=moments)
def test_next_after_within_a_day_in_steady_zones(w: BackupWindow, moment: datetime) -> None:
    """Without offset changes the next start is at most 24 h away and exactly at the window's local start."""
    start, end = w.next_after(moment)
    assert start - moment <= timedelta(hours=24)
    assert end - moment <= timedelta(hours=24) + w.length
    assert start.astimezone(w.zone).time() == w.start


@given(w=windows(), moment=moments)
def test_next_after_within_a_day_plus_the_offset_change(w: BackupWindow, moment: datetime) -> None:
    """In any zone the next start is at most 24 h away, plus however far the clock moved in between."""
    start, end = w.next_after(moment)
    z = w.zone
    shift = abs(moment.astimezone(z).utcoffset() - start.astimezone(z).utcoffset())  # type: ignore[operator]
    assert start - moment <= timedelta(hours=24) + shift
    assert end - moment <= timedelta(hours=24) + shift + w.length


@given(w=windows(ALL_ZONES), moment=moments)
def test_start_is_at_the_local_start_time_or_right_after_a_gap(w: BackupWindow, moment: datetime) -> None:
    """The start shows the window's local start time or, if that does not exist, the gap's end."""
    start, _ = w.next_after(moment)
    _assert_start_or_gap_end(w, start)


@given(data=around_transitions(DST_ZONES), start=st.integers(0, 1439), length=st.integers(30, 1439))
def test_dst_days_berlin_new_york(data: tuple[str, datetime], start: int, length: int) -> None:
    """Near Berlin and New York transitions: start after moment, real length kept, local start as set."""
    name, moment = data
    end = (start + length) % 1440
    w = BackupWindow(time(start // 60, start % 60), time(end // 60, end % 60), name)
    opens, closes = w.next_after(moment)
    z = ZoneInfo(name)
    local = opens.astimezone(z)
    assert opens > moment
    assert closes - opens == timedelta(minutes=length)
    assert opens - moment <= timedelta(hours=25)
    if _exists(local.date(), w.start, z):
        assert local.time() == w.start
        assert local.fold == 0  # first occurrence in a fold
        assert _in_window(local.time(), w)
    else:
        # Berlin and New York gaps are 02:00-03:00: the start moves to 03:00 sharp.
        assert local.time() == time(3, 0)


@pytest.mark.parametrize("name", DST_ZONES)
def test_every_transition_day_in_both_zones(name: str) -> None:
    """Every transition day 2005-2037: a 02:30-03:30 window opens at 02:30 (first) or 03:00, lasts 1 h."""
    w = BackupWindow(time(2, 30), time(3, 30), name)
    z = ZoneInfo(name)
    days = transition_days(name)
    assert len(days) == 2 * 33
    for day in days:
        start, end = w.on(day)
        assert end - start == timedelta(hours=1)
        local = start.astimezone(z)
        assert local.time() in (time(2, 30), time(3, 0))
        assert local.date() == day
        assert local.fold == 0


@given(data=around_transitions(ODD_ZONES), w=windows(("UTC",)))
@example(  # found by Hypothesis: Apia's skipped 2011-12-30 puts that date's window at the 31st's 00:00
    data=("Pacific/Apia", datetime(2011, 12, 30, 9, 59, 59, tzinfo=UTC)),
    w=BackupWindow(time(0, 1), time(0, 31), "UTC"),
)
def test_odd_zones_near_their_transitions(data: tuple[str, datetime], w: BackupWindow) -> None:
    """In zones with odd rules (30-minute DST, negative DST, midnight changes), the same rules hold."""
    name, moment = data
    w = BackupWindow(w.start, w.end, name)
    opens, closes = w.next_after(moment)
    assert opens > moment
    assert closes - opens == w.length
    _assert_first(w, moment, opens)
    _assert_start_or_gap_end(w, opens)


def test_containing() -> None:
    """The occurrence holding a moment, or None between windows; the end itself is outside."""
    w = BackupWindow(time(23, 30), time(1))
    night = w.on(date(2024, 5, 1))
    assert w.containing(night[0]) == night
    assert w.containing(night[1] - timedelta(seconds=1)) == night
    assert w.containing(night[1]) is None
    assert w.containing(night[0] - timedelta(seconds=1)) is None


@given(w=windows(), moment=moments)
def test_containing_agrees_with_the_occurrences(w: BackupWindow, moment: datetime) -> None:
    """containing(m) is the occurrence of the days around m that covers m, or None when none does."""
    day = moment.astimezone(w.zone).date()
    covering = [
        occ for occ in (w.on(day + timedelta(days=d)) for d in range(-3, 2)) if occ[0] <= moment < occ[1]
    ]
    found = w.containing(moment)
    if found is None:
        assert not covering
    else:
        assert found in covering
