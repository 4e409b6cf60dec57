"""Strategies for quotas: usage, limits, mail streams on a microsecond clock, load samples."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

from cabinet_core import Limits
from cabinet_core.quotas import DAY_US, Usage

BASE = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
BASE_US = (BASE - EPOCH) // timedelta(microseconds=1)  # BASE in microseconds since the Unix epoch
# Zones the same instants are expressed in: a datetime's zone must never change a decision.
ZONES = (
    UTC,
    ZoneInfo("Europe/Moscow"),
    ZoneInfo("America/New_York"),
    timezone(timedelta(hours=-9, minutes=-30)),
)

usages = st.builds(Usage, users=st.integers(0, 2_000), disk_bytes=st.integers(0, 3_000 * 1_048_576))
limits = st.builds(
    Limits,
    users=st.integers(0, 1_000),
    disk_mb=st.integers(0, 2_500),
    mail_per_24h=st.integers(0, 10_000),
)

# Steps between calls, in microseconds: mostly small, often the exact window length and its neighbours, so
# that grants land on the (t - 24 h, t] boundary.
steps = st.one_of(
    st.integers(0, 3),
    st.integers(0, DAY_US // 4),
    st.sampled_from([DAY_US - 1, DAY_US, DAY_US + 1, DAY_US // 2, DAY_US // 3]),
    st.integers(0, 2 * DAY_US),
)


def at_us(us: int, zone: object = UTC) -> datetime:
    """The datetime ``us`` microseconds after the epoch, shown in ``zone``."""
    return (EPOCH + timedelta(microseconds=us)).astimezone(zone)  # type: ignore[arg-type]


mail_limits = st.integers(0, 60)
counts = st.integers(1, 70)


@st.composite
def mail_ops(
    draw: st.DrawFn, max_size: int = 60, backwards: bool = False
) -> list[tuple[str, int, int, bool]]:
    """Operations: ("reserve", step, n, partial), ("release", step, which, False), ("ask", step, 0, False).

    Steps are non-negative unless ``backwards``, when an operation may also go back in time.
    """
    step = st.one_of(steps, st.integers(-2 * DAY_US, 0)) if backwards else steps
    op = st.one_of(
        st.tuples(st.just("reserve"), step, counts, st.booleans()),
        st.tuples(st.just("release"), step, st.integers(0, 1_000), st.just(False)),
        st.tuples(st.just("ask"), step, st.just(0), st.just(False)),
    )
    return draw(st.lists(op, max_size=max_size))


# Grants already on record: (offset in microseconds from BASE, count), in any order.
entries = st.lists(st.tuples(st.integers(-DAY_US - 10, DAY_US), st.integers(1, 30)), max_size=12)

zones = st.sampled_from(ZONES)

# Load samples: (hours after the start, amount), hours strictly increasing once sorted.
sample_amounts = st.integers(0, 10_000)
