"""Shared fixtures: a throwaway PostgreSQL cluster for the whole session, a fresh database per test.

The cluster is started once, by the first test that asks for it (so ``pytest -m memory`` never starts it),
from the machine's PostgreSQL binaries (scripts/test installs them). Without binaries the PostgreSQL tests
are skipped with the reason shown, unless ``CI=true``: there a missing PostgreSQL is a failure.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator

import pytest

from cabinet_core.testing.postgresql import PostgresNotFound, TemporaryPostgres

_TEMPLATE = "cabinet_template"
_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[TemporaryPostgres]:
    """A running throwaway cluster with a template database already holding cabinet_core's schema."""
    try:
        server = TemporaryPostgres()
    except PostgresNotFound as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but PostgreSQL cannot run here: {exc}")
        pytest.skip(f"PostgreSQL tests skipped: {exc}")
    server.start()
    try:
        from cabinet_core.adapters.postgresql import PostgresStorage

        PostgresStorage(server.create_database(_TEMPLATE)).close()
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_dsn(postgres_server: TemporaryPostgres) -> Iterator[str]:
    """The URL of a fresh database with cabinet_core's schema, dropped after the test."""
    name = f"cabinet_t{os.getpid()}_{next(_numbers)}"
    dsn = postgres_server.create_database(name, template=_TEMPLATE)
    try:
        yield dsn
    finally:
        postgres_server.drop_database(name)
