"""Users and disk quotas, downgrade checks, and the values the mail window hands out."""

from __future__ import annotations

import pickle

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from cabinet_core import Limits, QuotaExceeded, Reservation
from cabinet_core.errors import CabinetError, InvalidInput, InvalidType
from cabinet_core.quotas import MB, MailQuotaExceeded, Usage, check_disk, check_downgrade, check_users

from strategies.quotas import BASE, BASE_US, limits, usages

LIMITS = Limits(users=10, disk_mb=2_000, mail_per_24h=10_000)


@given(usage=usages, limits=limits, add=st.integers(0, 1_500))
@example(usage=Usage(users=9), limits=LIMITS, add=1)
@example(usage=Usage(users=10), limits=LIMITS, add=1)
@example(usage=Usage(users=12), limits=LIMITS, add=0)
def test_users_refused_exactly_when_over_the_limit(usage: Usage, limits: Limits, add: int) -> None:
    """Adding users is refused iff it adds some and the total would exceed the maximum; figures are given."""
    over = add > 0 and usage.users + add > limits.users
    if not over:
        check_users(usage, limits, add)
        return
    with pytest.raises(QuotaExceeded) as caught:
        check_users(usage, limits, add)
    e = caught.value
    assert (e.quota, e.limit, e.used, e.requested, e.retry_at) == (
        "users",
        limits.users,
        usage.users,
        add,
        None,
    )
    assert f"{usage.users} of {limits.users} users" in str(e)


def test_users_message_reads_well() -> None:
    """The users refusal is one sentence a customer understands."""
    with pytest.raises(QuotaExceeded) as caught:
        check_users(Usage(users=10), LIMITS)
    assert str(caught.value) == (
        "cannot add 1 user: 10 of 10 users already created, and the tariff allows at most 10"
    )


@given(usage=usages, limits=limits, add=st.integers(0, 500 * MB))
@example(usage=Usage(disk_bytes=2_000 * MB - 1), limits=LIMITS, add=1)
@example(usage=Usage(disk_bytes=2_000 * MB), limits=LIMITS, add=1)
def test_disk_refused_exactly_when_over_the_limit(usage: Usage, limits: Limits, add: int) -> None:
    """Storing bytes is refused iff some are added and the total passes the limit in bytes (MB of 2**20)."""
    over = add > 0 and usage.disk_bytes + add > limits.disk_mb * 1_048_576
    if not over:
        check_disk(usage, limits, add)
        return
    with pytest.raises(QuotaExceeded) as caught:
        check_disk(usage, limits, add)
    e = caught.value
    assert (e.quota, e.limit, e.used, e.requested) == ("disk", limits.disk_mb * MB, usage.disk_bytes, add)
    assert f"of {limits.disk_mb:,} MB" in str(e)


def test_disk_message_shows_mb() -> None:
    """The disk refusal shows MB of 1,048,576 bytes, rounded up, with thousands separators."""
    with pytest.raises(QuotaExceeded) as caught:
        check_disk(Usage(disk_bytes=1_950 * MB + 1), LIMITS, add_bytes=60 * MB)
    assert str(caught.value) == (
        "not enough disk space: 60 MB more asked, 1,951 MB of 2,000 MB already used, "
        "and the tariff allows at most 2,000 MB"
    )


@pytest.mark.parametrize(
    ("usage", "limits", "add"),
    [
        ({"users": 1}, LIMITS, 1),
        (Usage(), {"users": 1}, 1),
        (Usage(), LIMITS, -1),
        (Usage(), LIMITS, True),
        (Usage(), LIMITS, 1.0),
        (Usage(), LIMITS, "1"),
    ],
)
def test_bad_arguments_are_refused(usage: object, limits: object, add: object) -> None:
    """Wrong types and negative amounts are refused by both checks with a CabinetError."""
    with pytest.raises(CabinetError):
        check_users(usage, limits, add)  # type: ignore[arg-type]
    with pytest.raises(CabinetError):
        check_disk(usage, limits, add)  # type: ignore[arg-type]


@given(usage=usages, limits=limits)
def test_downgrade_lists_every_broken_limit(usage: Usage, limits: Limits) -> None:
    """check_downgrade names users and disk exactly when each is over, with both figures."""
    broken = check_downgrade(usage, limits)
    users_over = usage.users > limits.users
    disk_over = usage.disk_bytes > limits.disk_mb * MB
    assert len(broken) == users_over + disk_over
    assert any(b.startswith("users ") for b in broken) == users_over
    assert any(b.startswith("disk ") for b in broken) == disk_over


def test_downgrade_phrases() -> None:
    """Broken limits read like 'users 12 > 10' and 'disk 2,300 MB > 2,000 MB'."""
    assert check_downgrade(Usage(users=12, disk_bytes=2_300 * MB), LIMITS) == (
        "users 12 > 10",
        "disk 2,300 MB > 2,000 MB",
    )


def test_reservation_is_a_checked_value() -> None:
    """A Reservation built by hand is validated, frozen, and equal only to an equal Reservation."""
    r = Reservation(id=3, at_us=BASE_US, granted=5)
    assert (r.id, r.at_us, r.granted, r.at) == (3, BASE_US, 5, BASE)
    assert r == Reservation(3, BASE_US, 5)
    assert r != (3, BASE_US, 5)
    assert hash(r) == hash(Reservation(3, BASE_US, 5))
    assert repr(r) == f"Reservation(id=3, at_us={BASE_US}, granted=5)"
    with pytest.raises(AttributeError):
        r.granted = 6  # type: ignore[misc]
    assert Reservation(None, BASE_US, 0).granted == 0
    for bad in [(None, BASE_US, 2), (1, BASE_US, 0), (-1, BASE_US, 1), (1, BASE_US, -1)]:
        with pytest.raises(InvalidInput):
            Reservation(*bad)
    for bad in [("1", BASE_US, 1), (1, BASE, 1), (1, BASE_US, 1.0), (True, BASE_US, 1)]:
        with pytest.raises(InvalidType):
            Reservation(*bad)  # type: ignore[arg-type]


def test_mail_refusal_is_a_quota_exceeded_that_pickles() -> None:
    """The mail refusal carries its figures as QuotaExceeded does and survives pickling (across processes)."""
    e = MailQuotaExceeded(100, 90, 20, BASE_US)
    assert isinstance(e, QuotaExceeded)
    assert isinstance(e, ValueError)
    assert (e.quota, e.limit, e.used, e.requested, e.retry_at, e.retry_us) == (
        "mail",
        100,
        90,
        20,
        BASE,
        BASE_US,
    )
    back = pickle.loads(pickle.dumps(e))  # noqa: S301 - our own bytes
    assert (back.limit, back.used, back.requested, back.retry_at) == (100, 90, 20, BASE)
    assert str(back) == str(e)
    assert MailQuotaExceeded(100, 0, 101, None).retry_at is None
