"""Mail reservations per second: cabinet_core's ledger vs pyrate-limiter's buckets, SQLite and PostgreSQL.

The workload is the same for both libraries: one account (one bucket), a rolling 24-hour limit too high to
bind, and every request reserves ``n`` recipients (pyrate-limiter: an item of weight ``n``), stamped with the
current time, each its own transaction. 1 and 8 processes (spawned, released together by a barrier) share one
SQLite file or one PostgreSQL database; the figure is requests completed per second of wall time, from the
barrier to the last process done. Both wait their turn under contention (pyrate-limiter's blocking
``try_acquire``: its file lock on SQLite; on PostgreSQL its NOWAIT table lock fails and it retries after a
pause), so every request is granted in full. Each configuration runs ``--repeat`` times on a fresh store;
the table shows medians and the ratio cabinet_core / pyrate-limiter.

Equal footing: SQLite in WAL mode with synchronous=NORMAL for both (pyrate-limiter's ``use_file_lock=True``,
which it needs for more than one process); one throwaway PostgreSQL cluster (fsync off) for both, one
connection per process (pyrate-limiter through a one-connection psycopg pool).

Run: .venv/bin/pip install -e '.[bench]' && .venv/bin/python benchmarks/ledger.py
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

LIMIT = 10**12  # never binds: the benchmark measures the cost of a reservation, not refusals


# -- one request, per library ------------------------------------------------------------------------------


def _cabinet(url: str) -> tuple[Callable[[int], bool], Callable[[], None]]:
    from cabinet_core.adapters import open_storage

    storage = open_storage(url)

    def reserve(n: int) -> bool:
        with storage.unit_of_work() as uow:
            granted = uow.mail.reserve("acme", n, limit=LIMIT, at=datetime.now(UTC)).granted
            uow.commit()
        return granted == n

    return reserve, storage.close


def _pyrate_sqlite(path: str) -> tuple[Callable[[int], bool], Callable[[], None]]:
    from pyrate_limiter import Duration, Limiter, Rate, SQLiteBucket

    bucket = SQLiteBucket.init_from_file(
        [Rate(LIMIT, Duration.DAY)], table="acme", db_path=path, use_file_lock=True
    )
    limiter = Limiter(bucket)

    def reserve(n: int) -> bool:
        return bool(limiter.try_acquire("acme", weight=n))

    return reserve, bucket.close


def _pyrate_postgres(dsn: str) -> tuple[Callable[[int], bool], Callable[[], None]]:
    from psycopg_pool import ConnectionPool
    from pyrate_limiter import Duration, Limiter, PostgresBucket, Rate

    pool = ConnectionPool(dsn, min_size=1, max_size=1, open=True)
    limiter = Limiter(PostgresBucket(pool, "acme", [Rate(LIMIT, Duration.DAY)]))

    def reserve(n: int) -> bool:
        return bool(limiter.try_acquire("acme", weight=n))

    return reserve, pool.close


TARGETS: dict[str, Callable[[str], tuple[Callable[[int], bool], Callable[[], None]]]] = {
    "cabinet_core": _cabinet,
    "pyrate-limiter sqlite": _pyrate_sqlite,
    "pyrate-limiter postgres": _pyrate_postgres,
}


def _worker(target: str, where: str, n: int, requests: int, barrier: Any, results: Any) -> None:
    try:
        reserve, close = TARGETS[target](where)
        reserve(n)  # warm up: connection, prepared statements, tables
        barrier.wait()
        started = time.perf_counter()
        granted = sum(reserve(n) for _ in range(requests))
        ended = time.perf_counter()
        close()
        results.put((started, ended, granted))
    except BaseException as exc:  # report, so the parent does not wait forever
        results.put(exc)


def _run(target: str, where: str, n: int, processes: int, requests: int) -> tuple[float, int]:
    """Requests per second of wall time, and how many requests were granted in full."""
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(processes), context.Queue()
    workers = [
        context.Process(target=_worker, args=(target, where, n, requests, barrier, results))
        for _ in range(processes)
    ]
    for worker in workers:
        worker.start()
    reports = [results.get(timeout=600) for _ in workers]
    for worker in workers:
        worker.join()
    failures = [r for r in reports if isinstance(r, BaseException)]
    if failures:
        raise failures[0]
    wall = max(r[1] for r in reports) - min(r[0] for r in reports)
    return processes * requests / wall, sum(r[2] for r in reports)


# -- stores, fresh for every run -------------------------------------------------------------------------


class Stores:
    def __init__(self, workdir: Path, postgres: Any) -> None:
        self.workdir = workdir
        self.postgres = postgres
        self.count = 0

    def fresh(self, engine: str, target: str) -> str:
        """A new empty SQLite file or PostgreSQL database: its URL (cabinet_core) or path/DSN (pyrate)."""
        self.count += 1
        if engine == "sqlite":
            path = self.workdir / f"run{self.count}.sqlite3"
            return f"sqlite:///{path}" if target == "cabinet_core" else str(path)
        dsn: str = self.postgres.create_database(f"bench{self.count}")
        if target == "cabinet_core":
            from cabinet_core.adapters.postgresql import PostgresStorage

            PostgresStorage(dsn).close()  # the schema, outside the timed part (pyrate creates its own)
        return dsn


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=1500, help="requests per process with 1 process")
    parser.add_argument("--requests-8", type=int, default=400, help="requests per process with 8 processes")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--weights", default="1,20", help="recipients per request, comma-separated")
    parser.add_argument("--engines", default="sqlite,postgresql")
    args = parser.parse_args(argv)

    from cabinet_core.testing.postgresql import TemporaryPostgres

    engines = args.engines.split(",")
    weights = [int(w) for w in args.weights.split(",")]
    postgres = TemporaryPostgres() if "postgresql" in engines else None
    if postgres is not None:
        postgres.start()
    rows = []
    try:
        with tempfile.TemporaryDirectory(prefix="cabinet-bench-") as workdir:
            stores = Stores(Path(workdir), postgres)
            for engine in engines:
                peer = "pyrate-limiter sqlite" if engine == "sqlite" else "pyrate-limiter postgres"
                for n in weights:
                    for processes, requests in ((1, args.requests), (8, args.requests_8)):
                        figures: dict[str, list[float]] = {"cabinet_core": [], peer: []}
                        granted: dict[str, list[float]] = {"cabinet_core": [], peer: []}
                        for _ in range(args.repeat):
                            for target in figures:
                                rate, full = _run(
                                    target, stores.fresh(engine, target), n, processes, requests
                                )
                                figures[target].append(rate)
                                granted[target].append(full / (processes * requests))
                        ours, theirs = (statistics.median(figures[t]) for t in figures)
                        row = (
                            engine,
                            n,
                            processes,
                            ours,
                            theirs,
                            ours / theirs,
                            min(granted["cabinet_core"]),
                            min(granted[peer]),
                        )
                        rows.append(row)
                        print(_format(row), flush=True)
    finally:
        if postgres is not None:
            postgres.stop()
    print()
    print(_table(rows))
    return 0


def _format(row: tuple[Any, ...]) -> str:
    engine, n, processes, ours, theirs, ratio, ours_granted, theirs_granted = row
    return (
        f"{engine:10} n={n:<3} {processes} proc: cabinet_core {ours:8.0f}/s  pyrate-limiter {theirs:8.0f}/s  "
        f"x{ratio:.2f}  granted {ours_granted:.0%} / {theirs_granted:.0%}"
    )


def _table(rows: list[tuple[Any, ...]]) -> str:
    lines = [
        "| backend | recipients per request | processes | cabinet_core (req/s) | pyrate-limiter (req/s) "
        "| ratio | granted: cabinet_core / pyrate-limiter |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for engine, n, processes, ours, theirs, ratio, ours_granted, theirs_granted in rows:
        lines.append(
            f"| {engine} | {n} | {processes} | {ours:,.0f} | {theirs:,.0f} | {ratio:.2f} | "
            f"{ours_granted:.0%} / {theirs_granted:.0%} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
