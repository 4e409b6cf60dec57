"""The storage contract suite run against our adapters: memory, SQLite (file and :memory:), PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cabinet_core.adapters import MemoryStorage, SQLiteStorage
from cabinet_core.ports import Storage
from cabinet_core.testing import StorageContract


@pytest.mark.memory
class TestMemoryStorage(StorageContract):
    @pytest.fixture
    def storage(self) -> Iterator[Storage]:
        store = MemoryStorage()
        yield store
        store.close()


@pytest.mark.sqlite
class TestSQLiteStorage(StorageContract):
    @pytest.fixture
    def storage(self, tmp_path: Path) -> Iterator[Storage]:
        store = SQLiteStorage(tmp_path / "cabinet.sqlite3")
        yield store
        store.close()


@pytest.mark.sqlite
class TestSQLiteInMemoryStorage(StorageContract):
    @pytest.fixture
    def storage(self) -> Iterator[Storage]:
        store = SQLiteStorage(":memory:")
        yield store
        store.close()


@pytest.mark.postgresql
class TestPostgresStorage(StorageContract):
    @pytest.fixture
    def storage(self, postgres_dsn: str) -> Iterator[Storage]:
        from cabinet_core.adapters import PostgresStorage

        store = PostgresStorage(postgres_dsn)
        yield store
        store.close()
