"""plan_night on 100,000 accounts: run time, peak concurrency, busiest window's finish vs its lower bound.

Run: .venv/bin/python benchmarks/night_plan.py            (add --accounts / --repeat / --seed to vary)

Accounts get seeded log-normal sizes (median 300 MB, sigma 1.2, capped at 40 GB); the provider's speed is
20 MB/s per slot plus 60 s of fixed overhead per backup. Two nights:

- "disjoint": four back-to-back Moscow windows (22-00, 00-02, 02-04, 04-06); the slot count K is set so the
  busiest window's lower bound is about 85 % of its length, so everything can fit, and each window's
  finish can be held against its lower bound;
- "overlapping, DST night": seven windows in Moscow, Berlin and New York that overlap (one crosses
  midnight, Berlin's 02:00-05:00 holds the fall-back hour), planned for 2024-10-27, Berlin's fall-back night;
  K is set so the night's work is about 100 % of K slots over the hours the windows cover, so some accounts
  cannot fit and must be reported.

There is no peer library for this (a general solver does not plan 100,000 jobs in seconds); the peer is the
plain baseline a scheduler would write first: first come, first served (by window opening, then input
order), each backup on the slot that frees first, refused if it would end after its window. Both run on the
same jobs in the same run; times are medians of --repeat runs. The lower bound of a window is
max(longest backup, total work / K) of that window alone; "tight" adds the pigeonhole bound
(t+1) x the (tK+1)-th longest backup.
"""

from __future__ import annotations

import argparse
import heapq
import math
import platform
import random
import statistics
import time
from datetime import UTC, datetime
from datetime import time as wall

from cabinet_core.backup_policy import MB, BackupJob, BackupThroughput, BackupWindow, NightPlan, plan_night

SPEED = BackupThroughput.from_mb_per_s(20, overhead_minutes=1)

DISJOINT = [
    BackupWindow(wall(22), wall(0)),
    BackupWindow(wall(0), wall(2)),
    BackupWindow(wall(2), wall(4)),
    BackupWindow(wall(4), wall(6)),
]
OVERLAPPING = [
    BackupWindow(wall(0), wall(2)),
    BackupWindow(wall(1), wall(4)),
    BackupWindow(wall(23, 30), wall(1, 30)),
    BackupWindow(wall(3), wall(6)),
    BackupWindow(wall(1), wall(3), "Europe/Berlin"),
    BackupWindow(wall(2), wall(5), "Europe/Berlin"),
    BackupWindow(wall(18), wall(21), "America/New_York"),
]


def make_jobs(n: int, windows: list[BackupWindow], seed: int) -> list[BackupJob]:
    rng = random.Random(seed)
    weights = [rng.uniform(0.5, 1.5) for _ in windows]
    out = []
    for i in range(n):
        size = min(int(300 * MB * rng.lognormvariate(0, 1.2)), 40 * 1024 * MB)
        out.append(BackupJob(f"acc-{i:06d}", size, rng.choices(windows, weights)[0]))
    return out


def slots_for(jobs: list[BackupJob], after: datetime, load: float) -> int:
    """K such that the work of the night fills ``load`` x the slots over the time its windows cover.

    The cover is computed from the windows that hold work (the union of their occurrences) and, for each
    window, the window alone must not need more than ``load`` x its own length either.
    """
    work: dict[BackupWindow, int] = {}
    for j in jobs:
        work[j.window] = work.get(j.window, 0) + int(SPEED.estimate(j.size_bytes).total_seconds())
    spans = sorted(w.next_after(after) for w in work)
    covered, edge = 0.0, spans[0][0]
    for s, e in spans:
        if e > edge:
            covered += (e - max(s, edge)).total_seconds()
            edge = e
    alone = max(math.ceil(w / (load * win.length.total_seconds())) for win, w in work.items())
    return max(alone, math.ceil(sum(work.values()) / (load * covered)))


def fcfs(jobs: list[BackupJob], slots: int, after: datetime) -> tuple[list[tuple[str, int, int]], int]:
    """The baseline: first come, first served (by window opening, then input order) on the slot that
    frees first; refused when it would end after its window."""
    occ: dict[BackupWindow, tuple[int, int]] = {}
    for j in jobs:
        if j.window not in occ:
            s, e = j.window.next_after(after)
            occ[j.window] = (int(s.timestamp()), int(e.timestamp()))
    queue = sorted(jobs, key=lambda j: occ[j.window][0])
    heap = [0] * slots
    placed: list[tuple[str, int, int]] = []
    refused = 0
    for j in queue:
        release, deadline = occ[j.window]
        p = int(SPEED.estimate(j.size_bytes).total_seconds())
        start = max(heap[0], release)
        if start + p > deadline:
            refused += 1
            continue
        heapq.heapreplace(heap, start + p)
        placed.append((j.account, start, start + p))
    return placed, refused


def peak(intervals: list[tuple[int, int]]) -> int:
    events = sorted([(s, 1) for s, e in intervals if e > s] + [(e, -1) for s, e in intervals if e > s])
    best = run = 0
    for _, step in events:
        run += step
        best = max(best, run)
    return best


def check(plan: NightPlan, jobs: list[BackupJob]) -> None:
    """The benchmark's own sanity: the plan is sound, not merely fast."""
    assert len(plan.planned) + len(plan.unplaced) == len(jobs)
    assert all(p.window_start <= p.start and p.end <= p.window_end for p in plan.planned)
    assert plan.peak_concurrency() <= plan.slots


def baseline_busiest(
    placed: list[tuple[str, int, int]], jobs: list[BackupJob], after: datetime, busiest: BackupWindow
) -> float:
    window_of = {j.account: j.window for j in jobs}
    opens = int(busiest.next_after(after)[0].timestamp())
    return max((e for a, _, e in placed if window_of[a] == busiest), default=opens) - opens


def run(name: str, jobs: list[BackupJob], after: datetime, load: float, repeat: int) -> list[str]:
    k = slots_for(jobs, after, load)
    ours, theirs = [], []
    plan = None
    base: tuple[list[tuple[str, int, int]], int] = ([], 0)
    for _ in range(repeat):
        t0 = time.perf_counter()
        plan = plan_night(jobs, slots=k, throughput=SPEED, after=after)
        t1 = time.perf_counter()
        base = fcfs(jobs, k, after)
        t2 = time.perf_counter()
        ours.append(t1 - t0)
        theirs.append(t2 - t1)
    assert plan is not None
    check(plan, jobs)
    busiest = plan.busiest()
    assert busiest is not None
    assert busiest.finish is not None
    lb = busiest.lower_bound.total_seconds()
    tight = busiest.tight_bound.total_seconds()
    finish = busiest.finish.total_seconds()
    base_finish = baseline_busiest(base[0], jobs, after, busiest.window)
    too_long = sum(1 for u in plan.unplaced if u.reason == "longer_than_window")
    no_slot = len(plan.unplaced) - too_long
    b_peak = peak([(s, e) for _, s, e in base[0]])
    t_ours, t_base = statistics.median(ours), statistics.median(theirs)
    return [
        f"| {name} | plan_night | {len(jobs):,} | {k} | {t_ours:.2f} | {len(plan.planned):,} | "
        f"{too_long} + {no_slot} | {plan.peak_concurrency()} | {busiest.window} | "
        f"{finish / 60:.1f} | {lb / 60:.1f} | {finish / lb:.4f} | {finish / tight:.4f} |",
        f"| {name} | FCFS baseline | {len(jobs):,} | {k} | {t_base:.2f} ({t_ours / t_base:.1f}x) | "
        f"{len(base[0]):,} | {base[1]} | {b_peak} | {busiest.window} | "
        f"{base_finish / 60:.1f} | {lb / 60:.1f} | {base_finish / lb:.4f} | {base_finish / tight:.4f} |",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(
        f"Python {platform.python_version()}, {platform.machine()}; "
        f"{args.accounts:,} accounts, seed {args.seed}"
    )
    header = (
        "| night | planner | accounts | K | median s | planned | unplaced (too long + no slot) | peak | "
        "busiest window | finish min | lower bound min | ratio | ratio to tight |\n"
        "|---|---|--:|--:|--:|--:|--:|--:|---|--:|--:|--:|--:|"
    )
    print(header)
    summer = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    fall_back = datetime(2024, 10, 26, 12, 0, tzinfo=UTC)
    rows = run("disjoint", make_jobs(args.accounts, DISJOINT, args.seed), summer, 0.85, args.repeat)
    rows += run(
        "overlapping, DST night",
        make_jobs(args.accounts, OVERLAPPING, args.seed + 1),
        fall_back,
        1.0,
        args.repeat,
    )
    print("\n".join(rows))
    print("(finish and lower bound: minutes after the busiest window opens; busiest = the most work)")


if __name__ == "__main__":
    main()
