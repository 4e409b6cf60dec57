"""The storage contract suite: the rules of :mod:`cabinet_core.ports.storage`, as tests every adapter passes.

Subclass :class:`StorageContract` and provide a ``storage`` fixture that yields a fresh, empty storage.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from ..errors import AccountNotFound, ConcurrencyConflict
from ..ports.storage import Storage

__all__ = ["StorageContract"]

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


class StorageContract:
    """Every rule a storage adapter must keep. Override the ``storage`` fixture."""

    @pytest.fixture
    def storage(self) -> Iterator[Storage]:
        raise NotImplementedError("override the storage fixture: yield a fresh, empty storage")

    def test_added_account_reads_back_at_version_one(self, storage: Storage) -> None:
        """An added account reads back with its data at version 1."""
        with storage.unit_of_work() as uow:
            uow.accounts.add("acme", {"tariff": "business"})
            uow.commit()
        with storage.unit_of_work() as uow:
            stored = uow.accounts.get("acme")
        assert (stored.version, stored.data) == (1, {"tariff": "business"})

    def test_stale_save_is_refused_and_writes_nothing(self, storage: Storage) -> None:
        """A save based on an old version raises ConcurrencyConflict and leaves the newer data."""
        with storage.unit_of_work() as uow:
            uow.accounts.add("acme", {"n": 0})
            uow.accounts.save("acme", {"n": 1}, expected_version=1)
            uow.commit()
        with storage.unit_of_work() as uow:
            with pytest.raises(ConcurrencyConflict):
                uow.accounts.save("acme", {"n": 2}, expected_version=1)
            assert uow.accounts.get("acme").data == {"n": 1}

    def test_missing_account_is_not_found(self, storage: Storage) -> None:
        """Getting an unknown account raises AccountNotFound."""
        with storage.unit_of_work() as uow, pytest.raises(AccountNotFound):
            uow.accounts.get("nobody")
