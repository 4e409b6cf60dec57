"""Versions and the automatic update: right after that night's successful backup, never without one."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cabinet_core.backup_policy import (
    BackupOutcome,
    BackupWindow,
    Version,
    manual_update_available,
    plan_update,
)
from cabinet_core.errors import InvalidInput, InvalidType, NaiveDatetime

versions = st.builds(
    Version,
    st.lists(st.integers(0, 40), min_size=1, max_size=4).map(lambda parts: ".".join(map(str, parts))),
    st.integers(0, 500),
)

WINDOW = BackupWindow(time(1), time(3))
NIGHT = WINDOW.on(datetime(2024, 5, 2).date())  # 2024-05-01 22:00 .. 2024-05-02 00:00 UTC
OLD, NEW = Version("3.0.12", 40), Version("3.0.12", 41)


def _ok(minutes: int = 30) -> BackupOutcome:
    return BackupOutcome(NIGHT[0] + timedelta(minutes=5), NIGHT[0] + timedelta(minutes=5 + minutes), True)


# --- versions ------------------------------------------------------------------------------------------


def test_version_order_is_numeric() -> None:
    """3.0.9 < 3.0.10 (numbers, not text), and within one version the revision decides."""
    assert Version("3.0.9", 100) < Version("3.0.10", 1)
    assert Version("3.0.10", 1) < Version("3.0.10", 2)
    assert Version("3.1") > Version("3.0.99", 999)
    assert str(Version("3.0.12", 41)) == "3.0.12 (revision 41)"


def test_leading_zeros_are_one_spelling() -> None:
    """'3.01' and '3.1' are the same version, so equality agrees with the order."""
    assert Version("3.01", 5) == Version("3.1", 5)
    assert Version("3.01", 5).version == "3.1"


@pytest.mark.parametrize("bad", ["", "v3", "3..1", "3.0-beta", "1.2.3.4.5.6.7", " 3.0"])
def test_bad_versions_are_refused(bad: str) -> None:
    """A version must be 1 to 6 dot-separated numbers; anything else is refused naming it."""
    with pytest.raises(InvalidInput, match="not a version"):
        Version(bad)


def test_bad_revisions_and_comparisons_are_refused() -> None:
    """A negative or non-integer revision is refused; a Version compares only with a Version."""
    with pytest.raises(InvalidInput):
        Version("3.0", -1)
    with pytest.raises(InvalidType):
        Version("3.0", True)  # type: ignore[arg-type]
    with pytest.raises(InvalidType):
        assert Version("3.0") < "3.1"  # type: ignore[operator]


@given(a=versions, b=versions, c=versions)
def test_version_order_is_total_and_consistent(a: Version, b: Version, c: Version) -> None:
    """Exactly one of <, ==, > holds; the order is transitive; equal versions hash equally."""
    assert [a < b, a == b, a > b].count(True) == 1
    assert (a <= b) == (a < b or a == b)
    if a <= b <= c:
        assert a <= c
    if a == b:
        assert hash(a) == hash(b)


@given(installed=versions, latest=versions)
def test_manual_update_when_latest_is_newer(installed: Version, latest: Version) -> None:
    """A manual update is available exactly when the latest version/revision is newer than the installed."""
    assert manual_update_available(installed, latest) == (latest > installed)


# --- auto-update timing --------------------------------------------------------------------------------


def test_update_right_after_the_successful_backup() -> None:
    """Auto-update on, a newer revision, tonight's backup done: the update starts when the backup ends."""
    decision = plan_update(auto_update=True, installed=OLD, latest=NEW, night=NIGHT, backup=_ok())
    assert decision.reason == "scheduled"
    assert decision.at == NIGHT[0] + timedelta(minutes=35)
    assert "3.0.12 (revision 41)" in decision.message


@pytest.mark.parametrize(
    ("auto_update", "latest", "backup", "reason"),
    [
        (False, NEW, _ok(), "auto_update_off"),
        (True, OLD, _ok(), "up_to_date"),
        (True, NEW, None, "no_backup"),
        (True, NEW, BackupOutcome(NIGHT[0], NIGHT[0] + timedelta(minutes=9), False), "backup_failed"),
        (
            True,
            NEW,
            BackupOutcome(NIGHT[0] - timedelta(days=1), NIGHT[0] - timedelta(hours=23), True),
            "not_tonight",
        ),
        (True, NEW, BackupOutcome(NIGHT[1], NIGHT[1] + timedelta(minutes=1), True), "not_tonight"),
    ],
)
def test_no_update_without_tonights_successful_backup(
    auto_update: bool, latest: Version, backup: BackupOutcome | None, reason: str
) -> None:
    """Off, up to date, no backup, a failed one, or one from another night: no update, with the reason."""
    decision = plan_update(auto_update=auto_update, installed=OLD, latest=latest, night=NIGHT, backup=backup)
    assert (decision.at, decision.reason) == (None, reason)
    assert decision.message


@given(
    auto=st.booleans(),
    installed=versions,
    latest=versions,
    start=st.integers(-3 * 3600, 3 * 3600),
    minutes=st.integers(0, 300),
    ok=st.booleans(),
    has_backup=st.booleans(),
)
def test_update_never_without_a_successful_backup_that_night(
    auto: bool, installed: Version, latest: Version, start: int, minutes: int, ok: bool, has_backup: bool
) -> None:
    """An update is scheduled only when on, newer, and tonight's backup succeeded; then right at its end."""
    backup = None
    if has_backup:
        began = NIGHT[0] + timedelta(seconds=start)
        backup = BackupOutcome(began, began + timedelta(minutes=minutes), ok)
    night = WINDOW.containing(backup.started) if backup is not None and start % 2 else NIGHT
    decision = plan_update(auto_update=auto, installed=installed, latest=latest, night=night, backup=backup)
    tonight = backup is not None and NIGHT[0] <= backup.started < NIGHT[1] and backup.succeeded
    should = auto and latest > installed and tonight
    assert (decision.at is not None) == should
    if decision.at is not None:
        assert backup is not None
        assert decision.at == backup.finished


def test_containing_finds_that_night() -> None:
    """window.containing(backup.started) is the night to pass; outside every window it is None: no update."""
    backup = _ok()
    night = WINDOW.containing(backup.started)
    assert night == NIGHT
    decision = plan_update(auto_update=True, installed=OLD, latest=NEW, night=night, backup=backup)
    assert decision.at == backup.finished
    late = BackupOutcome(NIGHT[1] + timedelta(hours=1), NIGHT[1] + timedelta(hours=2), True)
    assert WINDOW.containing(late.started) is None
    decision = plan_update(auto_update=True, installed=OLD, latest=NEW, night=None, backup=late)
    assert (decision.at, decision.reason) == (None, "not_tonight")


def test_outcome_and_night_are_validated() -> None:
    """A backup ending before it starts, naive instants, a backwards night and odd types are refused."""
    with pytest.raises(InvalidInput, match="before it starts"):
        BackupOutcome(NIGHT[1], NIGHT[0], True)
    with pytest.raises(NaiveDatetime):
        BackupOutcome(datetime(2024, 5, 2, 1), datetime(2024, 5, 2, 2), True)
    with pytest.raises(InvalidType):
        BackupOutcome(NIGHT[0], NIGHT[1], "yes")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="end after"):
        plan_update(auto_update=True, installed=OLD, latest=NEW, night=(NIGHT[1], NIGHT[0]), backup=None)
    with pytest.raises(InvalidType):
        plan_update(auto_update=1, installed=OLD, latest=NEW, night=NIGHT, backup=None)  # type: ignore[arg-type]
    with pytest.raises(InvalidType):
        plan_update(auto_update=True, installed="3.0", latest=NEW, night=NIGHT, backup=None)  # type: ignore[arg-type]
    with pytest.raises(InvalidType):
        plan_update(auto_update=True, installed=OLD, latest=NEW, night=NIGHT, backup="done")  # type: ignore[arg-type]


def test_outcome_keeps_instants_in_utc() -> None:
    """Instants given in any zone are kept in UTC."""
    out = _ok()
    assert out.started.tzinfo is UTC
