"""Concurrency checks with real processes: many writers on one storage URL, and what must hold afterwards.

Each ``run_*`` function starts worker processes (``spawn``, so nothing is inherited but the arguments),
lines them up on a barrier so they collide, collects what each saw, and returns it; the caller (our tests,
or a host's tests of its own database) asserts the rules. The workers open the storage from its URL.
"""

from __future__ import annotations

import multiprocessing
import queue
import random
from bisect import bisect_right
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs

from .._time import require_aware
from ..adapters import open_storage
from ..errors import ConcurrencyConflict, QuotaExceeded
from ..quotas import DAY_US

__all__ = [
    "MailRun",
    "SaveRun",
    "max_window_sum",
    "run_concurrent_saves",
    "run_mail_reservations",
    "run_payment_deliveries",
    "spawn",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
_SKEW_US = 7_000_000  # worker i's clock runs 7 s * i ahead: grants arrive out of clock order
_TIMEOUT = 120.0  # seconds a worker may take before the run is declared hung


def spawn(target: Callable[..., None], args_per_worker: Sequence[tuple[Any, ...]]) -> list[Any]:
    """Run ``target(*args, barrier, results)`` in one spawned process per args tuple; return every result put.

    Workers wait on ``barrier`` to start together and put one result each on ``results``; a result
    ``("error", text)`` fails the run with that text.
    """
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(len(args_per_worker), timeout=_TIMEOUT)
    results = context.Queue()
    workers = [context.Process(target=target, args=(*args, barrier, results)) for args in args_per_worker]
    for worker in workers:
        worker.start()
    collected: list[Any] = []
    try:
        # read before joining: a worker blocks on a full queue until someone reads it
        while len(collected) < len(workers):
            try:
                collected.append(results.get(timeout=_TIMEOUT))
            except queue.Empty:
                raise RuntimeError("a concurrency worker did not report within the timeout") from None
    finally:
        for worker in workers:
            worker.join(timeout=_TIMEOUT)
            if worker.is_alive():
                worker.kill()
    failures = [r for r in collected if isinstance(r, tuple) and r and r[0] == "error"]
    if failures:
        raise RuntimeError(f"{len(failures)} worker(s) failed: {failures[0][1]}")
    return collected


# -- mail reservations -----------------------------------------------------------------------------------


@attrs.frozen
class MailRun:
    """What the workers were granted (``(instant in us, recipients)``), refused, and what the ledger holds."""

    grants: tuple[tuple[int, int], ...]
    refusals: int
    ledger: tuple[tuple[int, int], ...]  # the ledger's entries at the last instant any worker used
    last_us: int


def _mail_worker(
    url: str,
    account_id: str,
    limit: int,
    requests: int,
    start_us: int,
    step_us: int,
    seed: int,
    barrier: Any,
    results: Any,
) -> None:
    try:
        storage = open_storage(url)
        rng = random.Random(seed)  # noqa: S311 - a seeded workload, not a secret
        grants: list[tuple[int, int]] = []
        refusals = 0
        barrier.wait()
        for k in range(requests):
            at = _EPOCH + timedelta(microseconds=start_us + k * step_us)
            n = rng.randint(1, 40)
            partial = rng.random() < 0.3
            with storage.unit_of_work() as uow:
                try:
                    granted = uow.mail.reserve(account_id, n, limit=limit, at=at, partial=partial)
                except QuotaExceeded:
                    refusals += 1
                    continue
                uow.commit()
            if granted.granted:
                grants.append((granted.at_us, granted.granted))
            else:
                refusals += 1
        storage.close()
        results.put(("ok", grants, refusals))
    except BaseException as exc:
        results.put(("error", f"{type(exc).__name__}: {exc}"))


def run_mail_reservations(
    url: str,
    account_id: str,
    *,
    limit: int,
    start: datetime,
    processes: int = 8,
    requests: int = 100,
    step: timedelta = timedelta(minutes=20),
) -> MailRun:
    """``processes`` workers each make ``requests`` reservations (1-40 recipients, some partial) against one
    account, their clocks ``step`` apart per request and a few seconds apart from each other."""
    start_us = (require_aware(start, "start") - _EPOCH) // _US
    step_us = step // _US
    args = [
        (url, account_id, limit, requests, start_us + i * _SKEW_US, step_us, 1000 + i)
        for i in range(processes)
    ]
    reports = spawn(_mail_worker, args)
    grants = tuple(g for report in reports for g in report[1])
    refusals = sum(report[2] for report in reports)
    last_us = max(start_us + i * _SKEW_US + (requests - 1) * step_us for i in range(processes))
    storage = open_storage(url)
    try:
        with storage.unit_of_work() as uow:
            at = _EPOCH + timedelta(microseconds=last_us)
            entries = uow.mail.entries(account_id, at=at)
    finally:
        storage.close()
    ledger = tuple(((t - _EPOCH) // _US, n) for t, n in entries)
    return MailRun(grants=grants, refusals=refusals, ledger=ledger, last_us=last_us)


def max_window_sum(grants: Sequence[tuple[int, int]]) -> int:
    """The most recipients granted in any window (t - 24 h, t]: checked at every grant's instant."""
    ordered = sorted(grants)
    instants = [at for at, _ in ordered]
    running = [0]
    for _, n in ordered:
        running.append(running[-1] + n)
    best = 0
    for at in set(instants):
        upto = bisect_right(instants, at)
        since = bisect_right(instants, at - DAY_US)
        best = max(best, running[upto] - running[since])
    return best


# -- payments --------------------------------------------------------------------------------------------


def _payment_worker(
    url: str, account_id: str, payment_id: str, at_iso: str, barrier: Any, results: Any
) -> None:
    try:
        storage = open_storage(url)
        at = datetime.fromisoformat(at_iso)
        barrier.wait()
        applied = False
        for _ in range(20):  # a conflict on the account (another payment) is retried; this one is not lost
            with storage.unit_of_work() as uow:
                if not uow.payments.record(payment_id, account_id, {"months": 1}, at=at):
                    break
                account = uow.accounts.get(account_id)
                data = dict(account.data)
                data["paid_months"] = data.get("paid_months", 0) + 1
                try:
                    uow.accounts.save(account_id, data, expected_version=account.version)
                except ConcurrencyConflict:
                    continue
                uow.commit()
                applied = True
                break
        storage.close()
        results.put(("ok", applied))
    except BaseException as exc:
        results.put(("error", f"{type(exc).__name__}: {exc}"))


def run_payment_deliveries(
    url: str, account_id: str, payment_id: str, *, at: datetime, processes: int = 10
) -> list[bool]:
    """``processes`` workers deliver the same payment confirmation at once; each says if it applied it.

    Applying is the use case's shape: record the payment id; only if it was new, extend the account's
    paid term (``paid_months`` + 1 here) and save it, all in one unit of work.
    """
    args = [(url, account_id, payment_id, require_aware(at).isoformat()) for _ in range(processes)]
    return [report[1] for report in spawn(_payment_worker, args)]


# -- concurrent saves ------------------------------------------------------------------------------------


@attrs.frozen
class SaveRun:
    """Which workers' saves won and which got ConcurrencyConflict."""

    won: tuple[str, ...]
    conflicts: tuple[str, ...]


def _save_worker(
    url: str, account_id: str, name: str, tariff: str, same_transaction: bool, barrier: Any, results: Any
) -> None:
    try:
        storage = open_storage(url)
        data = {"tariff": tariff, f"changed_by_{name}": True}
        outcome = "won"
        if same_transaction:
            # read and save in one transaction, both readers before either writer (PostgreSQL: no read locks)
            with storage.unit_of_work() as uow:
                version = uow.accounts.get(account_id).version
                barrier.wait()
                try:
                    uow.accounts.save(account_id, data, expected_version=version)
                    uow.commit()
                except ConcurrencyConflict:
                    outcome = "conflict"
        else:
            # the usual optimistic flow: read, (the customer thinks), save against the version read
            with storage.unit_of_work() as uow:
                version = uow.accounts.get(account_id).version
            barrier.wait()
            with storage.unit_of_work() as uow:
                try:
                    uow.accounts.save(account_id, data, expected_version=version)
                    uow.commit()
                except ConcurrencyConflict:
                    outcome = "conflict"
        storage.close()
        results.put(("ok", name, outcome))
    except BaseException as exc:
        results.put(("error", f"{type(exc).__name__}: {exc}"))


def run_concurrent_saves(
    url: str, account_id: str, tariffs: dict[str, str], *, same_transaction: bool = False
) -> SaveRun:
    """One worker per ``name -> tariff`` saves the account, all from the same version, at once."""
    args = [(url, account_id, name, tariff, same_transaction) for name, tariff in tariffs.items()]
    reports = spawn(_save_worker, args)
    return SaveRun(
        won=tuple(sorted(r[1] for r in reports if r[2] == "won")),
        conflicts=tuple(sorted(r[1] for r in reports if r[2] == "conflict")),
    )
