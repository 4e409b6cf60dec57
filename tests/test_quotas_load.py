"""The load factor: an exponentially weighted use rate against the tariff's norm, with levels."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from itertools import pairwise

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from cabinet_core import Limits
from cabinet_core.errors import InvalidInput, InvalidType, NaiveDatetime
from cabinet_core.quotas import LoadFactor, LoadMeter

from strategies.quotas import BASE, sample_amounts

HOUR = timedelta(hours=1)
TINY = Decimal("1e-20")

gaps = st.integers(1, 6 * 3_600)  # seconds between samples
half_lives = st.sampled_from([timedelta(minutes=5), HOUR, timedelta(hours=6)])


def limits(norm: int | str) -> Limits:
    return Limits(users=1, disk_mb=1, mail_per_24h=1, load_norm=Decimal(norm))


@given(
    per_second=st.integers(0, 1_000), gap_list=st.lists(gaps, min_size=1, max_size=40), half_life=half_lives
)
def test_a_steady_rate_is_measured_whatever_the_sampling(
    per_second: int, gap_list: list[int], half_life: timedelta
) -> None:
    """A constant use rate gives rate * (1 - 2**(-T / half_life)) after T, however the samples split T."""
    meter = LoadMeter(half_life=half_life, since=BASE)
    at = BASE
    for gap in gap_list:
        at += timedelta(seconds=gap)
        meter = meter.record(per_second * gap, at=at)
    hourly = Decimal(per_second * 3_600)
    elapsed = Decimal(sum(gap_list)) / Decimal(half_life.total_seconds())
    expected = hourly * (1 - (-elapsed * Decimal(2).ln()).exp())
    assert abs(meter.rate - expected) <= TINY * max(hourly, Decimal(1))


def oracle_rate(samples: list[tuple[float, int]], half_life_h: float) -> float:
    """The continuous weighted average of a piecewise constant rate, summed interval by interval."""
    end = samples[-1][0]
    total = 0.0
    for (t0, _), (t1, amount) in pairwise(samples):
        x = amount / (t1 - t0)
        total += x * (2 ** (-(end - t1) / half_life_h) - 2 ** (-(end - t0) / half_life_h))
    return total


@given(
    first=st.integers(1, 3_600),
    steps=st.lists(st.tuples(gaps, sample_amounts), min_size=1, max_size=30),
    half_life=half_lives,
)
def test_rate_matches_the_integral_oracle(
    first: int, steps: list[tuple[int, int]], half_life: timedelta
) -> None:
    """For any samples, the recursive update equals the weighted integral computed directly."""
    meter = LoadMeter(half_life=half_life, since=BASE)
    hours: list[tuple[float, int]] = [(0.0, 0)]
    at = BASE
    for gap, amount in steps:
        at += timedelta(seconds=gap)
        meter = meter.record(amount, at=at)
        hours.append(((at - BASE) / HOUR, amount))
    expected = oracle_rate(hours, half_life / HOUR)
    assert math.isclose(float(meter.rate), expected, rel_tol=1e-9, abs_tol=1e-9)


def test_half_life_halves_the_rate_after_an_idle_half_life() -> None:
    """After one half-life with no use reported, the rate is exactly half."""
    meter = LoadMeter(since=BASE, rate=Decimal(80))
    assert meter.record(0, at=BASE + HOUR).rate.quantize(Decimal("1e-20")) == Decimal(40)


def test_stale_meter_decays_beyond_stale_after() -> None:
    """The rate holds until stale_after has passed without a sample, then halves every half-life."""
    meter = LoadMeter(since=BASE, rate=Decimal(80), stale_after=timedelta(minutes=30))
    assert meter.rate_at(BASE + timedelta(minutes=30)) == 80
    assert meter.rate_at(BASE - HOUR) == 80  # an earlier reading is the reading as of the last sample
    assert meter.rate_at(BASE + timedelta(minutes=90)).quantize(Decimal("1e-20")) == Decimal(40)
    assert LoadMeter().rate_at(BASE) == 0


def test_first_sample_only_starts_an_unstarted_meter() -> None:
    """A meter without since= takes its first sample as the start and counts from the second."""
    meter = LoadMeter().record(1_000, at=BASE)
    assert (meter.rate, meter.since) == (0, BASE)
    meter = meter.record(60, at=BASE + HOUR)
    assert meter.rate.quantize(Decimal("1e-20")) == Decimal(30)  # 60 per hour, half weight after one hour


@given(
    samples=st.lists(
        st.tuples(st.integers(1, 48 * 3_600), sample_amounts),
        min_size=1,
        max_size=20,
        unique_by=lambda s: s[0],
    ),
    data=st.data(),
)
def test_from_samples_ignores_order(samples: list[tuple[int, int]], data: st.DataObject) -> None:
    """Samples given in any order build the meter that recording them in time order builds."""
    shuffled = data.draw(st.permutations(samples))
    built = LoadMeter.from_samples([(BASE + timedelta(seconds=s), a) for s, a in shuffled], since=BASE)
    meter = LoadMeter(since=BASE)
    for s, a in sorted(samples):
        meter = meter.record(a, at=BASE + timedelta(seconds=s))
    assert built == meter


def test_from_samples_merges_one_instant_and_skips_before_start() -> None:
    """Two samples at one instant count as one; samples at or before since= are already accounted for."""
    at = BASE + HOUR
    merged = LoadMeter.from_samples([(at, 20), (at, 40), (BASE, 999)], since=BASE)
    assert merged == LoadMeter(since=BASE).record(60, at=at)


@given(value=st.decimals(min_value=0, max_value=100, places=4))
@example(value=Decimal("0.994"))
@example(value=Decimal("0.995"))
@example(value=Decimal("1.494"))
@example(value=Decimal("1.495"))
def test_level_is_read_from_the_value_shown(value: Decimal) -> None:
    """Two decimals half up; normal below 1.00, high from 1.00, overload from 1.50, as shown."""
    factor = LoadFactor(value)
    shown = value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    assert factor.value == shown
    assert str(factor.value) == f"{shown:.2f}"
    expected = "normal" if shown < 1 else "high" if shown < Decimal("1.5") else "overload"
    assert factor.level == expected
    assert str(factor) == f"{shown:.2f} ({expected})"


@given(rate=st.integers(0, 10_000), norm=st.integers(1, 5_000))
def test_factor_is_rate_over_norm(rate: int, norm: int) -> None:
    """The factor is the weighted hourly rate divided by Limits.load_norm, rounded half up."""
    meter = LoadMeter(since=BASE, rate=Decimal(rate))
    factor = meter.factor(limits(norm), at=BASE)
    assert factor.value == (Decimal(rate) / Decimal(norm)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda: LoadMeter(since=BASE).record(1.5, at=BASE + HOUR), InvalidType),
        (lambda: LoadMeter(since=BASE).record(-1, at=BASE + HOUR), InvalidInput),
        (lambda: LoadMeter(since=BASE).record(Decimal("NaN"), at=BASE + HOUR), InvalidInput),
        (lambda: LoadMeter(since=BASE).record(True, at=BASE + HOUR), InvalidType),
        (lambda: LoadMeter(since=BASE).record(1, at=datetime(2025, 3, 1, 13)), NaiveDatetime),
        (lambda: LoadMeter(since=BASE).record(1, at=BASE), InvalidInput),
        (lambda: LoadMeter(since=BASE).record(1, at=BASE - HOUR), InvalidInput),
        (lambda: LoadMeter(half_life=timedelta(0)), InvalidInput),
        (lambda: LoadMeter(half_life=3600), InvalidType),
        (lambda: LoadMeter(stale_after=-HOUR), InvalidInput),
        (lambda: LoadMeter(rate=Decimal(5)), InvalidInput),
        (lambda: LoadMeter(since=datetime(2025, 3, 1)), NaiveDatetime),
        (lambda: LoadMeter(since=BASE).factor(Decimal(1), at=BASE), InvalidType),
        (lambda: LoadMeter.from_samples("BASE, 1"), InvalidType),
        (lambda: LoadMeter.from_samples([(BASE, 1, 2)]), InvalidType),
        (lambda: LoadFactor(-1), InvalidInput),
        (lambda: LoadFactor(0.5), InvalidType),
    ],
)
def test_bad_input_is_refused(call: object, error: type[Exception]) -> None:
    """Floats, negatives, naive or out-of-order instants and wrong types are refused clearly."""
    with pytest.raises(error):
        call()  # type: ignore[operator]
