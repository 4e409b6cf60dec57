"""MailWindow against a brute-force oracle: the sum of granted counts stamped in (t - 24 h, t]."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from cabinet_core import MailWindow, QuotaExceeded, Reservation
from cabinet_core.errors import CabinetError, InvalidInput, InvalidType, NaiveDatetime
from cabinet_core.quotas import DAY_US, MAX_PLAN_DAYS, MailQuotaExceeded

from strategies.quotas import BASE, BASE_US, at_us, counts, entries, mail_limits, mail_ops, steps, zones

US = timedelta(microseconds=1)
DAY = timedelta(hours=24)


class Oracle:
    """The rule written the slow, obvious way: a list of grants and a sum over the window."""

    def __init__(self, limit: int, grants: list[tuple[int, int]] | None = None) -> None:
        self.limit = limit
        self.grants: list[tuple[int, int]] = list(grants or [])
        self.clock = max((s for s, _ in self.grants), default=None)

    def tick(self, t: int) -> int:
        """The documented rule for time: an instant earlier than the latest seen is read as the latest."""
        self.clock = t if self.clock is None else max(self.clock, t)
        return self.clock

    def used(self, t: int) -> int:
        return sum(n for s, n in self.grants if t - DAY_US < s <= t)

    def fits(self, n: int, t: int) -> bool:
        return self.used(t) + n <= self.limit

    def retry(self, n: int, t: int) -> int | None:
        """The earliest instant >= t at which n fits, by trying every instant a grant leaves the window."""
        if n > self.limit:
            return None
        for c in sorted({t} | {s + DAY_US for s, _ in self.grants if s + DAY_US > t}):
            if self.fits(n, c):
                return c
        raise AssertionError("a request within the limit always fits once every grant has left")

    def live(self, t: int) -> list[tuple[int, int]]:
        return sorted(((s, n) for s, n in self.grants if t - DAY_US < s <= t), key=lambda g: g[0])


def us_of(at: datetime) -> int:
    return (at - datetime(1970, 1, 1, tzinfo=UTC)) // US


def run(limit: int, ops: list[tuple[str, int, int, bool]], zone: object) -> None:
    """Drive a window and the oracle through ``ops``, comparing every answer."""
    window = MailWindow(limit=limit)
    oracle = Oracle(limit)
    held: list[tuple[Reservation, int]] = []  # reservations granted, and their index in oracle.grants
    released: set[int] = set()
    t = BASE_US
    for kind, step, arg, partial in ops:
        t += step
        now = oracle.tick(t)
        at = at_us(t, zone)
        if kind == "reserve":
            n = arg
            used = oracle.used(now)
            if partial:
                r = window.reserve(n, at=at, partial=True)
                assert r.granted == min(n, max(0, limit - used))
            elif oracle.fits(n, now):
                r = window.reserve(n, at=at)
                assert r.granted == n
            else:
                with pytest.raises(QuotaExceeded) as caught:
                    window.reserve(n, at=at)
                e = caught.value
                assert (e.quota, e.limit, e.used, e.requested) == ("mail", limit, used, n)
                expected = oracle.retry(n, now)
                assert e.retry_at == (None if expected is None else at_us(expected))
                continue
            if r.granted:
                assert r.at_us == now
                assert r.at == at_us(now)
                held.append((r, len(oracle.grants)))
                oracle.grants.append((now, r.granted))
        elif kind == "release" and held:
            r, i = held[arg % len(held)]
            window.release(r, at=at)
            if i not in released and oracle.grants[i][0] > now - DAY_US:
                oracle.grants[i] = (oracle.grants[i][0], 0)  # its recipients no longer count
            released.add(i)
        else:
            assert window.used(at=at) == oracle.used(now)
            assert window.available(at=at) == max(0, limit - oracle.used(now))
    assert window.entries(at=at_us(t)) == tuple((at_us(s), n) for s, n in oracle.live(oracle.tick(t)) if n)


@given(limit=mail_limits, ops=mail_ops(), zone=zones)
@example(limit=10, ops=[("reserve", 0, 10, False), ("reserve", DAY_US, 10, False)], zone=UTC)
@example(limit=10, ops=[("reserve", 0, 10, False), ("reserve", DAY_US - 1, 1, False)], zone=UTC)
@example(limit=0, ops=[("reserve", 0, 1, False), ("reserve", 0, 1, True)], zone=UTC)
def test_decisions_match_the_oracle(limit: int, ops: list[tuple[str, int, int, bool]], zone: object) -> None:
    """On random streams every grant, refusal, retry_at, used and available equals the brute-force rule."""
    run(limit, ops, zone)


@pytest.mark.parametrize("seed", range(3))
def test_long_streams_through_compaction_match_the_oracle(seed: int) -> None:
    """Thousands of calls, so expired grants are dropped from storage many times, still match the oracle."""
    rng = random.Random(seed)
    ops = [
        (
            rng.choice(["reserve", "reserve", "reserve", "release", "ask"]),
            rng.randrange(DAY_US // 60),
            rng.randint(1, 12),
            rng.random() < 0.2,
        )
        for _ in range(1_500)
    ]
    run(150, ops, UTC)


@given(limit=mail_limits, ops=mail_ops(backwards=True))
def test_time_going_backwards_never_oversells(limit: int, ops: list[tuple[str, int, int, bool]]) -> None:
    """With `at` jumping back and forth, answers follow the latest-instant rule and no window is oversold."""
    run(limit, ops, UTC)
    window = MailWindow(limit=limit)
    grants: list[tuple[int, int]] = []
    t = BASE_US
    for kind, step, n, _ in ops:
        t += step
        if kind == "reserve":
            r = window.reserve(n, at=at_us(t), partial=True)
            if r.granted:
                assert not grants or r.at_us >= grants[-1][0]  # stamped in order, never before a grant
                grants.append((r.at_us, r.granted))
    for s, _ in grants:  # the sum only rises at a grant's instant, so checking there checks everywhere
        assert sum(n for u, n in grants if s - DAY_US < u <= s) <= limit


@given(limit=st.integers(1, 60), ops=mail_ops(), n=counts, data=st.data())
def test_retry_at_is_exact(
    limit: int, ops: list[tuple[str, int, int, bool]], n: int, data: st.DataObject
) -> None:
    """A refused request succeeds at retry_at and is refused one microsecond earlier; None iff n > limit."""
    window = MailWindow(limit=limit)
    t = BASE_US
    for kind, step, k, _ in ops:
        t += step
        if kind == "reserve":
            window.reserve(k, at=at_us(t), partial=True)
    t += data.draw(steps)
    if n <= window.available(at=at_us(t)):
        assert window.reserve(n, at=at_us(t)).granted == n
        return
    with pytest.raises(MailQuotaExceeded) as caught:
        window.reserve(n, at=at_us(t))
    retry_at = caught.value.retry_at
    if n > limit:
        assert retry_at is None
        return
    assert retry_at is not None
    retry = us_of(retry_at)
    assert retry > t
    early = MailWindow.from_entries(limit, window.entries(at=at_us(t)))
    with pytest.raises(QuotaExceeded):
        early.reserve(n, at=at_us(retry - 1))
    on_time = MailWindow.from_entries(limit, window.entries(at=at_us(t)))
    assert on_time.reserve(n, at=retry_at).granted == n


@given(limit=st.integers(1, 60), ops=mail_ops(), n=counts, data=st.data())
def test_release_restores_capacity(
    limit: int, ops: list[tuple[str, int, int, bool]], n: int, data: st.DataObject
) -> None:
    """Reserving then releasing leaves available, used and every later decision as they were."""
    window = MailWindow(limit=limit)
    t = BASE_US
    for kind, step, k, _ in ops:
        t += step
        if kind == "reserve":
            window.reserve(k, at=at_us(t), partial=True)
    twin = MailWindow.from_entries(limit, window.entries(at=at_us(t)))
    before = window.available(at=at_us(t))
    r = window.reserve(n, at=at_us(t), partial=True)
    assert window.available(at=at_us(t)) == before - r.granted
    t += data.draw(st.integers(0, DAY_US - 1))  # still inside the window: the release must give back
    window.release(r, at=at_us(t))
    assert window.available(at=at_us(t)) == twin.available(at=at_us(t))
    assert window.entries(at=at_us(t)) == twin.entries(at=at_us(t))
    for later in (t, t + DAY_US // 2, t + DAY_US):
        assert window.available(at=at_us(later)) == twin.available(at=at_us(later))


@given(
    limit=st.integers(1, 40),
    old=entries,
    n=st.integers(1, 150),
    other=st.lists(st.tuples(steps, st.floats(0.05, 1.0)), min_size=1, max_size=30),
)
@example(limit=10, old=[(0, 10)], n=10, other=[(0, 1.0)])
def test_plan_respects_the_window_and_finishes_first(
    limit: int, old: list[tuple[int, int]], n: int, other: list[tuple[int, float]]
) -> None:
    """A plan sends n, never overfills the window, and no other valid schedule has sent more by any time."""
    stamped = [(BASE_US + s, c) for s, c in old]
    window = MailWindow.from_entries(limit, [(at_us(s), c) for s, c in stamped])
    start = max([BASE_US, *(s for s, _ in stamped)])
    before = window.entries(at=at_us(start))
    plan = [(us_of(b), c) for b, c in window.plan(n, at=at_us(start))]
    assert window.entries(at=at_us(start)) == before  # planning reserves nothing
    assert sum(c for _, c in plan) == n
    assert all(c > 0 for _, c in plan)
    assert [b for b, _ in plan] == sorted({b for b, _ in plan})
    assert plan[0][0] >= start
    live = [(s, c) for s, c in stamped if s > start - DAY_US]
    for b, _ in plan:  # after start the sum only rises at a batch, so checking there checks everywhere
        assert sum(c for u, c in live + plan if b - DAY_US < u <= b) <= limit

    # Greedy, so earliest: no batch could have gone a microsecond sooner.
    oracle = Oracle(limit, live)
    for b, c in plan:
        if b > start:
            assert not oracle.fits(1, b - 1)
        oracle.grants.append((b, c))

    # Any other schedule that respects the window has sent no more than the plan by each of its instants.
    sent: list[tuple[int, int]] = []
    t, left = start, n
    mine = Oracle(limit, live)
    for step, share in other:
        t += step
        room = limit - mine.used(t)
        k = min(left, max(0, -int(-room * share // 1)))
        if k:
            mine.grants.append((t, k))
            sent.append((t, k))
            left -= k
    for s, _ in sent:
        assert sum(c for u, c in sent if u <= s) <= sum(c for b, c in plan if b <= s)


def test_boundary_at_exactly_24_hours() -> None:
    """A grant counts until 24 h minus a microsecond after it and stops counting at exactly 24 h."""
    window = MailWindow(limit=10)
    window.reserve(10, at=BASE)
    assert window.available(at=BASE + DAY - US) == 0
    with pytest.raises(QuotaExceeded) as caught:
        window.reserve(1, at=BASE + DAY - US)
    assert caught.value.retry_at == BASE + DAY
    assert window.available(at=BASE + DAY) == 10
    assert window.reserve(10, at=BASE + DAY).granted == 10


def test_refusal_when_n_exceeds_limit_never_fits() -> None:
    """A request above the limit is refused with retry_at None, on an empty window too."""
    window = MailWindow(limit=5)
    with pytest.raises(QuotaExceeded) as caught:
        window.reserve(6, at=BASE)
    assert caught.value.retry_at is None
    assert "never" in str(caught.value)
    assert window.reserve(6, at=BASE, partial=True).granted == 5


def test_refusal_message_names_the_figures() -> None:
    """The refusal says what was asked, what is used, the limit, and when it fits (rounded up to a second)."""
    window = MailWindow(limit=10_000)
    window.reserve(9_000, at=BASE + US)
    with pytest.raises(QuotaExceeded) as caught:
        window.reserve(2_000, at=BASE + timedelta(hours=1))
    message = str(caught.value)
    assert "2,000" in message
    assert "9,000 of 10,000" in message
    assert "2025-03-02 12:00:01 UTC" in message
    assert caught.value.retry_at == BASE + DAY + US
    assert isinstance(caught.value, CabinetError)
    assert isinstance(caught.value, ValueError)


def test_refusal_changes_nothing() -> None:
    """A refused reservation leaves used, available and the entries as they were."""
    window = MailWindow(limit=10)
    window.reserve(7, at=BASE)
    before = window.entries(at=BASE)
    with pytest.raises(QuotaExceeded):
        window.reserve(4, at=BASE)
    assert window.entries(at=BASE) == before
    assert window.used(at=BASE) == 7


def test_instants_in_any_zone_are_the_same_instant() -> None:
    """A reservation made with a Moscow datetime is stamped at that instant, shown in UTC."""
    from zoneinfo import ZoneInfo

    window = MailWindow(limit=10)
    moscow = BASE.astimezone(ZoneInfo("Europe/Moscow"))
    r = window.reserve(3, at=moscow)
    assert r.at == BASE
    assert r.at.tzinfo is UTC
    assert window.used(at=BASE) == 3


def test_release_is_idempotent_and_ignores_expired_grants() -> None:
    """Releasing twice, or after the grant left the window, changes nothing more."""
    window = MailWindow(limit=10)
    r = window.reserve(4, at=BASE)
    window.reserve(3, at=BASE + US)
    window.release(r, at=BASE + US)
    window.release(r, at=BASE + US)
    assert window.used(at=BASE + US) == 3
    s = window.reserve(5, at=BASE + 2 * US)
    window.release(s, at=BASE + DAY + 2 * US)  # s has left the window already
    assert window.used(at=BASE + DAY + 2 * US) == 0
    nothing = window.reserve(20, at=BASE + DAY + 3 * US, partial=True)
    assert nothing.granted == 10
    empty = MailWindow(limit=0).reserve(1, at=BASE, partial=True)
    assert (empty.granted, empty.id) == (0, None)
    MailWindow(limit=0).release(empty, at=BASE)  # nothing to give back


def test_release_of_a_foreign_reservation_is_refused() -> None:
    """A reservation another window granted is refused and this window is unchanged."""
    mine, theirs = MailWindow(limit=10), MailWindow(limit=10)
    mine.reserve(2, at=BASE)
    other = theirs.reserve(3, at=BASE + US)
    with pytest.raises(InvalidInput, match="not granted by this window"):
        mine.release(other, at=BASE + US)
    forged = Reservation(id=0, at_us=BASE_US, granted=5)
    with pytest.raises(InvalidInput, match="not granted by this window"):
        mine.release(forged, at=BASE + US)
    assert mine.used(at=BASE + US) == 2
    with pytest.raises(InvalidType):
        mine.release("r1", at=BASE)  # type: ignore[arg-type]


def test_release_in_the_middle_after_compaction() -> None:
    """Ids stay valid after old grants are dropped; releasing an older live grant frees exactly its count."""
    window = MailWindow(limit=1_000)
    held = [window.reserve(1, at=BASE + i * timedelta(minutes=1)) for i in range(300)]
    later = BASE + DAY + timedelta(minutes=200)  # the first 201 grants have left
    middle = held[250]
    window.release(middle, at=later)
    assert window.used(at=later) == 98
    assert len(window.entries(at=later)) == 98


@pytest.mark.parametrize("n", [0, -1, True, 1.5, "3", None])
def test_bad_counts_are_refused(n: object) -> None:
    """A count that is not a positive whole number is refused, naming it, and nothing changes."""
    window = MailWindow(limit=10)
    with pytest.raises((InvalidInput, InvalidType), match="recipients"):
        window.reserve(n, at=BASE)  # type: ignore[arg-type]
    with pytest.raises((InvalidInput, InvalidType), match="recipients"):
        window.plan(n, at=BASE)  # type: ignore[arg-type]
    assert window.used(at=BASE) == 0


@pytest.mark.parametrize("at", [datetime(2025, 3, 1, 12), "2025-03-01T12:00:00Z", 1_740_830_400, None])
def test_bad_instants_are_refused(at: object) -> None:
    """Naive datetimes and non-datetimes are refused by every method; nothing changes."""
    window = MailWindow(limit=10)
    r = window.reserve(1, at=BASE)
    calls = [
        lambda: window.reserve(1, at=at),
        lambda: window.used(at=at),
        lambda: window.available(at=at),
        lambda: window.entries(at=at),
        lambda: window.plan(1, at=at),
        lambda: window.release(r, at=at),
    ]
    for call in calls:
        with pytest.raises(NaiveDatetime if isinstance(at, datetime) else InvalidType):
            call()
    assert window.used(at=BASE) == 1


@pytest.mark.parametrize("limit", [-1, True, 2.0, "10", None])
def test_bad_limits_are_refused(limit: object) -> None:
    """A limit that is not a whole number >= 0 is refused."""
    with pytest.raises((InvalidInput, InvalidType), match="limit"):
        MailWindow(limit=limit)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "rows",
    [
        [(BASE, 0)],
        [(BASE, -3)],
        [(datetime(2025, 3, 1), 3)],
        [(BASE, 3, 1)],
        [(BASE, 2.5)],
        "2025-03-01",
        [["2025-03-01", 3]],
    ],
)
def test_bad_entries_are_refused(rows: object) -> None:
    """from_entries refuses malformed rows, naming the entry."""
    with pytest.raises((InvalidInput, InvalidType)):
        MailWindow.from_entries(10, rows)  # type: ignore[arg-type]


@given(limit=mail_limits, old=entries, data=st.data())
def test_from_entries_in_any_order_replays_the_record(
    limit: int, old: list[tuple[int, int]], data: st.DataObject
) -> None:
    """Entries given in any order rebuild the same window: same used, entries and decisions as the oracle."""
    stamped = [(BASE_US + s, c) for s, c in old]
    shuffled = data.draw(st.permutations(stamped))
    window = MailWindow.from_entries(limit, [(at_us(s), c) for s, c in shuffled])
    oracle = Oracle(limit, stamped)
    t = oracle.tick(BASE_US + data.draw(st.integers(-DAY_US, 2 * DAY_US)))
    assert window.used(at=at_us(t)) == oracle.used(t)
    # Grants at one instant are interchangeable, so their order among themselves is not compared.
    assert sorted(window.entries(at=at_us(t))) == sorted((at_us(s), c) for s, c in oracle.live(t))
    assert window.limit == limit


def test_plan_on_an_empty_window_and_a_zero_limit() -> None:
    """An empty window sends up to the limit now and the rest a day later; a zero limit can never send."""
    window = MailWindow(limit=100)
    assert window.plan(250, at=BASE) == [(BASE, 100), (BASE + DAY, 100), (BASE + 2 * DAY, 50)]
    with pytest.raises(QuotaExceeded) as caught:
        MailWindow(limit=0).plan(1, at=BASE)
    assert caught.value.retry_at is None


def test_plan_refuses_campaigns_longer_than_a_year() -> None:
    """A campaign over MAX_PLAN_DAYS days of the limit is refused, naming the most that can be planned."""
    window = MailWindow(limit=100)
    window.plan(100 * MAX_PLAN_DAYS, at=BASE)
    with pytest.raises(InvalidInput, match="36,600"):
        window.plan(100 * MAX_PLAN_DAYS + 1, at=BASE)
    assert window.used(at=BASE) == 0


def test_repr_shows_what_is_held() -> None:
    """The repr names the limit and what the window holds, for logs and debugging."""
    window = MailWindow(limit=100)
    window.reserve(30, at=BASE)
    assert repr(window) == "MailWindow(limit=100, grants held=1, recipients held=30)"
