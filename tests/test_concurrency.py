"""Concurrency with real processes (spawned, not threads) on SQLite and PostgreSQL.

8 processes reserve mail against one account; 10 deliver the same payment confirmation; two save the same
account from the same version. The rules: no oversell in any 24 h, the ledger holds exactly what was
granted, a payment extends the term once, one save wins and the other gets a conflict, nothing merged.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cabinet_core.adapters import open_storage
from cabinet_core.quotas import DAY_US
from cabinet_core.testing.concurrency import (
    max_window_sum,
    run_concurrent_saves,
    run_mail_reservations,
    run_payment_deliveries,
)

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)

BACKENDS = [
    pytest.param("sqlite", marks=pytest.mark.sqlite, id="sqlite"),
    pytest.param("postgresql", marks=pytest.mark.postgresql, id="postgresql"),
]


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A storage URL shared by the worker processes: an SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    dsn: str = request.getfixturevalue("postgres_dsn")
    return dsn


def _add_account(url: str, account_id: str, data: dict[str, object]) -> None:
    storage = open_storage(url)
    with storage.unit_of_work() as uow:
        uow.accounts.add(account_id, data)
        uow.commit()
    storage.close()


def test_eight_processes_never_oversell_the_mail_window(url: str) -> None:
    """8 processes reserving on one account: no 24 h window over the limit; the ledger holds the grants.

    Two rounds 60 h apart: within each the processes' clocks cross 30 h (grants expire while they race),
    and the second round starts after everything of the first expired, so the window rolls over whatever
    the scheduling (a single round can, when one process races far ahead, stamp everything in one day).
    """
    limit = 1_500
    rounds = [
        run_mail_reservations(
            url,
            "acme",
            limit=limit,
            start=T0 + timedelta(hours=60 * i),
            processes=8,
            requests=60,
            step=timedelta(minutes=30),
        )
        for i in range(2)
    ]
    grants = [g for run in rounds for g in run.grants]
    assert all(run.refusals > 0 for run in rounds)  # demand exceeded the limit, so the rule was exercised
    assert sum(n for _, n in grants) > limit  # and the window rolled over
    assert max_window_sum(grants) <= limit
    last = rounds[-1]
    in_last_window = [g for g in grants if g[0] > last.last_us - DAY_US]
    assert Counter(last.ledger) == Counter(in_last_window)


def test_contending_processes_grant_exactly_the_limit(url: str) -> None:
    """8 processes asking at the same instants for far more than the limit get exactly the limit in total."""
    limit = 500
    run = run_mail_reservations(
        url, "acme", limit=limit, start=T0, processes=8, requests=40, step=timedelta(microseconds=1)
    )
    assert sum(n for _, n in run.grants) == limit
    assert max_window_sum(run.grants) == limit
    assert Counter(run.ledger) == Counter(run.grants)


def test_ten_deliveries_of_one_payment_extend_the_term_once(url: str) -> None:
    """10 processes confirming the same payment id at once: exactly one applies it; the term grows once."""
    _add_account(url, "acme", {"paid_months": 0})
    applied = run_payment_deliveries(url, "acme", "pay-42", at=T0, processes=10)
    assert sorted(applied) == [False] * 9 + [True]
    storage = open_storage(url)
    with storage.unit_of_work() as uow:
        account = uow.accounts.get("acme")
        assert (account.version, account.data) == (2, {"paid_months": 1})
        assert uow.payments.get("pay-42") is not None
    storage.close()


@pytest.mark.parametrize("rounds", [5])
def test_two_saves_from_one_version_one_wins_nothing_merged(url: str, rounds: int) -> None:
    """Two processes save the same account from the same version: one wins, one conflicts, no merge."""
    _add_account(url, "acme", {"tariff": "start"})
    tariffs = {"alice": "premium", "bob": "business"}
    modes = [False, True] if url.startswith("postgresql") else [False]
    version = 1
    for mode in modes:
        for _ in range(rounds):
            run = run_concurrent_saves(url, "acme", tariffs, same_transaction=mode)
            assert len(run.won) == 1
            assert len(run.conflicts) == 1
            version += 1
            storage = open_storage(url)
            with storage.unit_of_work() as uow:
                account = uow.accounts.get("acme")
            storage.close()
            winner = run.won[0]
            assert account.version == version
            assert account.data == {"tariff": tariffs[winner], f"changed_by_{winner}": True}
