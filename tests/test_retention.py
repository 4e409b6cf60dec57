"""RetentionPolicy.keep: restic `forget` semantics, checked against restic's own policy vectors."""

from __future__ import annotations

import json
import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cabinet_core import RetentionPolicy
from cabinet_core.errors import InvalidInput, InvalidType, NaiveDatetime

from strategies.backups import retention_policies, snapshot_times

VECTORS = Path(__file__).parent / "vectors" / "restic" / "policy_keep.json"
RULES = ("last", "hourly", "daily", "weekly", "monthly", "yearly")


def _load() -> tuple[list[datetime], list[dict[str, object]]]:
    doc = json.loads(VECTORS.read_text(encoding="utf-8"))
    snapshots = [datetime.fromisoformat(s["time"]) for s in doc["snapshots"]]
    return snapshots, doc["cases"]


SNAPSHOTS, CASES = _load()


def test_vectors_are_complete() -> None:
    """The copied vectors hold restic's 103 snapshots and 17 count-rule cases."""
    assert len(SNAPSHOTS) == 103
    assert len(CASES) == 17


@pytest.mark.parametrize("case", CASES, ids=lambda c: json.dumps(c["policy"]))
def test_restic_vector(case: dict[str, object]) -> None:
    """Each restic TestApplyPolicy case keeps exactly restic's snapshots (compared as multisets)."""
    policy = RetentionPolicy(**{rule: case["policy"].get(rule, 0) for rule in RULES})  # type: ignore[attr-defined]
    expected = [datetime.fromisoformat(t) for t in case["keep"]]  # type: ignore[attr-defined]
    kept = policy.keep(SNAPSHOTS)
    assert Counter(kept) == Counter(expected)
    assert kept == sorted(kept, reverse=True)  # newest first, as restic lists them


@pytest.mark.parametrize("case", CASES, ids=lambda c: json.dumps(c["policy"]))
def test_restic_vector_shuffled(case: dict[str, object]) -> None:
    """The vectors pass whatever order the snapshots come in."""
    policy = RetentionPolicy(**{rule: case["policy"].get(rule, 0) for rule in RULES})  # type: ignore[attr-defined]
    shuffled = SNAPSHOTS[:]
    random.Random(4).shuffle(shuffled)
    assert policy.keep(shuffled) == policy.keep(SNAPSHOTS)


def test_design_defaults() -> None:
    """The DESIGN.md defaults: 7 daily, 4 weekly, 12 monthly, nothing else."""
    p = RetentionPolicy()
    assert (p.last, p.hourly, p.daily, p.weekly, p.monthly, p.yearly) == (0, 0, 7, 4, 12, 0)


def test_default_policy_on_a_year_of_nightly_backups() -> None:
    """A leap year of nightly backups: the 7 latest nights and one per month for 12 months, no more."""
    nights = [datetime(2024, 1, 1, 1, 0, tzinfo=UTC) + timedelta(days=d) for d in range(366)]
    kept = RetentionPolicy().keep(nights)
    newest = nights[-1]
    assert kept[0] == newest
    assert kept[:7] == nights[-1:-8:-1]
    months = {(t.year, t.month) for t in kept}
    assert len(months) == 12
    # The monthly rule still had count left at the oldest snapshot? 2024 has 12 months and the rule keeps 12,
    # so its count runs out exactly at January's last night; the oldest is not kept.
    assert nights[0] not in kept
    assert len(kept) == len(set(kept))


def test_oldest_kept_when_a_rule_has_count_left() -> None:
    """daily=10 over 3 nights keeps all three; over 3 snapshots in one day keeps the newest and the oldest."""
    nights = [datetime(2024, 5, d, 1, tzinfo=UTC) for d in (1, 2, 3)]
    assert RetentionPolicy(daily=10, weekly=0, monthly=0).keep(nights) == nights[::-1]
    same_day = [datetime(2024, 5, 1, h, tzinfo=UTC) for h in (1, 2, 3)]
    assert RetentionPolicy(daily=10, weekly=0, monthly=0).keep(same_day) == [same_day[2], same_day[0]]


def test_buckets_use_each_time_s_own_zone() -> None:
    """Two snapshots an hour apart in UTC fall on different Moscow days when they straddle Moscow midnight."""
    msk = ZoneInfo("Europe/Moscow")
    a = datetime(2024, 5, 1, 20, 30, tzinfo=UTC).astimezone(msk)  # 23:30 MSK on May 1
    b = datetime(2024, 5, 1, 21, 30, tzinfo=UTC).astimezone(msk)  # 00:30 MSK on May 2
    c = datetime(2024, 5, 1, 22, 30, tzinfo=UTC).astimezone(msk)  # 01:30 MSK on May 2
    policy = RetentionPolicy(daily=2, weekly=0, monthly=0)
    assert policy.keep([a, b, c]) == [c, a]
    assert policy.keep([t.astimezone(UTC) for t in (a, b, c)]) == [c.astimezone(UTC), a.astimezone(UTC)]


def test_keep_all_with_minus_one() -> None:
    """-1 keeps every bucket, as restic's 'all': last=-1 keeps every snapshot."""
    times = [datetime(2024, 1, 1, tzinfo=UTC) + timedelta(hours=7 * i) for i in range(50)]
    assert RetentionPolicy(last=-1, daily=0, weekly=0, monthly=0).keep(times) == times[::-1]


def test_empty_input() -> None:
    """No snapshots: nothing to keep."""
    assert RetentionPolicy().keep([]) == []


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"daily": 0, "weekly": 0, "monthly": 0}, InvalidInput, "delete every backup"),
        ({"daily": -2}, InvalidInput, "-1 to keep all"),
        ({"weekly": 1.5}, InvalidType, "whole number"),
        ({"monthly": True}, InvalidType, "whole number"),
        ({"yearly": "3"}, InvalidType, "whole number"),
    ],
)
def test_bad_policies_are_refused(kwargs: dict[str, object], error: type[Exception], words: str) -> None:
    """A policy that keeps nothing, a negative count or a non-integer is refused, naming the rule."""
    with pytest.raises(error, match=words):
        RetentionPolicy(**kwargs)  # type: ignore[arg-type]


def test_bad_snapshot_lists_are_refused() -> None:
    """Naive datetimes and non-datetimes are refused with their position; a string is not a list."""
    with pytest.raises(NaiveDatetime, match=r"snapshot_times\[1\]"):
        RetentionPolicy().keep([datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 2)])
    with pytest.raises(InvalidType, match=r"snapshot_times\[0\]"):
        RetentionPolicy().keep(["2024-01-01T00:00Z"])  # type: ignore[list-item]
    with pytest.raises(InvalidType):
        RetentionPolicy().keep("2024-01-01")  # type: ignore[arg-type]


# --- properties ----------------------------------------------------------------------------------------


@given(policy=retention_policies(), times=snapshot_times())
def test_keep_is_a_sub_multiset(policy: RetentionPolicy, times: list[datetime]) -> None:
    """Only given snapshots are kept, each at most as often as it was given."""
    kept = policy.keep(times)
    assert not Counter(kept) - Counter(times)
    assert all(any(k is t for t in times) for k in kept)  # the very objects given, not copies


@given(policy=retention_policies(), times=snapshot_times(), seed=st.integers(0, 2**32 - 1))
def test_keep_is_deterministic_and_order_independent(
    policy: RetentionPolicy, times: list[datetime], seed: int
) -> None:
    """The same snapshots in any order give the same answer, newest first."""
    kept = policy.keep(times)
    shuffled = times[:]
    random.Random(seed).shuffle(shuffled)
    again = policy.keep(shuffled)
    assert again == kept
    assert [(t, t.utcoffset()) for t in again] == [(t, t.utcoffset()) for t in kept]
    assert kept == sorted(kept, reverse=True)
    assert policy.keep(times) == kept


@given(policy=retention_policies(), times=snapshot_times())
def test_newest_is_always_kept(policy: RetentionPolicy, times: list[datetime]) -> None:
    """Whenever anything is kept (always, for a non-empty list), the newest snapshot is among it."""
    kept = policy.keep(times)
    assert bool(kept) == bool(times)
    if kept:
        assert kept[0] == max(times)


@given(policy=retention_policies(), times=snapshot_times(), rule=st.sampled_from(RULES))
def test_more_count_never_keeps_less(policy: RetentionPolicy, times: list[datetime], rule: str) -> None:
    """Raising one rule's count (or making it 'all') keeps a superset."""
    current = getattr(policy, rule)
    bigger = RetentionPolicy(**{**_fields(policy), rule: -1 if current in (-1, 0) else current + 1})
    assert not Counter(policy.keep(times)) - Counter(bigger.keep(times))


@given(n=st.integers(1, 30), times=snapshot_times())
def test_last_n_keeps_the_n_newest(n: int, times: list[datetime]) -> None:
    """last=n alone keeps exactly the n newest snapshots (all, when fewer)."""
    kept = RetentionPolicy(last=n, daily=0, weekly=0, monthly=0).keep(times)
    assert Counter(kept) == Counter(sorted(times, reverse=True)[:n])


@given(times=snapshot_times(), rule=st.sampled_from(RULES[1:]), n=st.integers(1, 20))
def test_one_snapshot_per_bucket(times: list[datetime], rule: str, n: int) -> None:
    """A single bucket rule keeps the newest of at most n distinct buckets, plus possibly the oldest."""
    policy = RetentionPolicy(**{**dict.fromkeys(RULES, 0), rule: n})
    kept = policy.keep(times)
    key = {
        "hourly": lambda t: (t.year, t.month, t.day, t.hour),
        "daily": lambda t: t.date(),
        "weekly": lambda t: t.isocalendar()[:2],
        "monthly": lambda t: (t.year, t.month),
        "yearly": lambda t: t.year,
    }[rule]
    buckets = Counter(key(t) for t in kept)
    assert len(buckets) <= n
    for t in kept:
        newest_in_bucket = max(s for s in times if key(s) == key(t))
        assert t == newest_in_bucket or t == min(times)


def _fields(policy: RetentionPolicy) -> dict[str, int]:
    return {rule: getattr(policy, rule) for rule in RULES}
