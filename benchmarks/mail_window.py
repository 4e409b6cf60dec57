"""MailWindow against the `limits` library on the same seeded mail stream: speed, memory, exactness.

Run: .venv/bin/python benchmarks/mail_window.py            (add --calls / --repeat / --seed to vary)

A stream is a list of (instant, recipients) sends to one account with a limit of 10,000 recipients per 24 h,
recipients drawn from {1, 5, 50, 500}, arrivals Poisson at a demand of 1.2 x or 20 x the limit. Each limiter
sees the same stream on a simulated clock (`limits` reads `time.time()`, which is patched for the run):

- cabinet_core MailWindow.reserve (all or nothing; a refusal raises QuotaExceeded, caught by the loop),
- limits MovingWindowRateLimiter and SlidingWindowCounterRateLimiter, memory storage, hit(cost=n),
- a bare exact deque of (microseconds, cost) with a running sum, inlined: the ceiling for plain Python.

Calls per second are the median of --repeat runs; peak memory is tracemalloc's peak over one more run (the
stream itself is built before tracing starts). Disagreement replays each limiter's own decisions through the
exact rule (granted iff the recipients granted in (t - 24 h, t] plus this send fit the limit) and counts the
decisions that differ; "oversold" counts the grants the exact rule would have refused.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import time
import tracemalloc
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import limits.storage.memory
from limits import RateLimitItemPerDay
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter, SlidingWindowCounterRateLimiter

from cabinet_core import MailWindow, QuotaExceeded

LIMIT = 10_000
COSTS = (1, 5, 50, 500)
DAY_US = 86_400_000_000
START = datetime(2025, 1, 1, tzinfo=UTC)
START_US = (START - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


class Stream:
    """One seeded stream in the three forms the limiters take: datetimes, float seconds, integer us."""

    def __init__(self, demand: float, calls: int, seed: int) -> None:
        rng = random.Random(f"{seed}-{demand}")
        mean_gap_us = DAY_US * (sum(COSTS) / len(COSTS)) / (demand * LIMIT)
        t = START_US
        self.us: list[int] = []
        self.costs: list[int] = []
        for _ in range(calls):
            t += int(rng.expovariate(1 / mean_gap_us))
            self.us.append(t)
            self.costs.append(rng.choice(COSTS))
        self.at = [START + timedelta(microseconds=u - START_US) for u in self.us]
        self.seconds = [u / 1_000_000 for u in self.us]


Push = Callable[[bool], None]


def run_mail_window(s: Stream, push: Push) -> None:
    window = MailWindow(limit=LIMIT)
    reserve = window.reserve
    for at, n in zip(s.at, s.costs, strict=True):
        try:
            reserve(n, at)
        except QuotaExceeded:
            push(False)
        else:
            push(True)


_clock = SimpleNamespace(now=0.0)


def _time() -> float:
    return _clock.now


def _run_limits(
    kind: type[MovingWindowRateLimiter] | type[SlidingWindowCounterRateLimiter], s: Stream, push: Push
) -> None:
    storage = MemoryStorage()
    limiter = kind(storage)
    item = RateLimitItemPerDay(LIMIT)
    hit = limiter.hit
    clock = _clock
    try:
        for t, n in zip(s.seconds, s.costs, strict=True):
            clock.now = t
            push(hit(item, "account", cost=n))
    finally:
        storage.timer.cancel()


def run_limits_moving(s: Stream, push: Push) -> None:
    _run_limits(MovingWindowRateLimiter, s, push)


def run_limits_sliding(s: Stream, push: Push) -> None:
    _run_limits(SlidingWindowCounterRateLimiter, s, push)


def run_bare_deque(s: Stream, push: Push) -> None:
    # The exact rule with nothing around it: integer instants, no validation, no objects, no exceptions.
    window: deque[tuple[int, int]] = deque()
    used = 0
    for t, n in zip(s.us, s.costs, strict=True):
        cutoff = t - DAY_US
        while window and window[0][0] <= cutoff:
            used -= window.popleft()[1]
        if used + n <= LIMIT:
            window.append((t, n))
            used += n
            push(True)
        else:
            push(False)


def disagreement(s: Stream, decisions: list[bool]) -> tuple[int, int]:
    """(decisions that differ from the exact rule, grants it would refuse), following the limiter's grants."""
    window: deque[tuple[int, int]] = deque()
    used = differ = oversold = 0
    for t, n, granted in zip(s.us, s.costs, decisions, strict=True):
        while window and window[0][0] <= t - DAY_US:
            used -= window.popleft()[1]
        exact = used + n <= LIMIT
        if granted != exact:
            differ += 1
            oversold += granted
        if granted:
            window.append((t, n))
            used += n
    return differ, oversold


RUNNERS: dict[str, Callable[[Stream, Push], None]] = {
    "cabinet_core MailWindow": run_mail_window,
    "limits MovingWindow": run_limits_moving,
    "limits SlidingWindowCounter": run_limits_sliding,
    "bare exact deque (ceiling)": run_bare_deque,
}


def measure(s: Stream, run: Callable[[Stream, Push], None], repeat: int) -> tuple[float, int, list[bool]]:
    """(median calls/s, peak bytes allocated during a run, the decisions of the last timed run)."""
    rates = []
    decisions: list[bool] = []
    for _ in range(repeat):
        decisions = []
        gc.collect()
        t0 = time.perf_counter()
        run(s, decisions.append)
        rates.append(len(s.us) / (time.perf_counter() - t0))
    # The memory run keeps no decisions (a deque of length 0 drops them), so the peak is the limiter's own.
    gc.collect()
    tracemalloc.start()
    run(s, deque(maxlen=0).append)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return statistics.median(rates), peak, decisions


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200_000, help="sends per stream (default 200,000)")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per limiter (default 5)")
    parser.add_argument("--seed", type=int, default=2025)
    args = parser.parse_args(argv)

    limits.storage.memory.time = SimpleNamespace(time=_time)  # type: ignore[assignment]
    version = sys.version.split()[0]
    print(f"Python {version}, limits {limits.__version__}, {args.calls:,} calls, seed {args.seed}")
    ok = True
    for demand in (1.2, 20.0):
        s = Stream(demand, args.calls, args.seed)
        results = {name: measure(s, run, args.repeat) for name, run in RUNNERS.items()}
        ours_rate, ours_peak, _ = results["cabinet_core MailWindow"]
        ref_rate, ref_peak, _ = results["limits MovingWindow"]
        days = (s.us[-1] - s.us[0]) / DAY_US
        print(f"\nstream {demand:g} x the limit: {days:,.0f} simulated days")
        print("| limiter | calls/s (median) | vs limits moving | peak memory | granted | differ | oversold |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for name, (rate, peak, decisions) in results.items():
            differ, oversold = disagreement(s, decisions)
            print(
                f"| {name} | {rate:,.0f} | {rate / ref_rate:.1f} x | {peak / 1024:,.1f} KiB | "
                f"{sum(decisions):,} | {differ:,} | {oversold:,} |"
            )
        ours_differ = disagreement(s, results["cabinet_core MailWindow"][2])[0]
        need = 10 if demand < 2 else 2
        passed = ours_rate >= need * ref_rate and ours_peak < ref_peak and ours_differ == 0
        ok &= passed
        print(f"target (>= {need} x calls/s, less memory, 0 differ): {'met' if passed else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
