"""Test support shipped with the library: fakes of the ports and the storage contract suite.

``from cabinet_core.testing import FixedClock, RecordingMailer, FakePaymentGateway`` needs nothing beyond
cabinet_core. The contract suite (:class:`StorageContract`) needs pytest and Hypothesis; a host proves its
own storage adapter by subclassing it in its tests::

    import pytest
    from cabinet_core.testing import StorageContract

    class TestMyStorage(StorageContract):
        @pytest.fixture
        def storage(self):
            store = MyStorage(...)
            yield store
            store.close()
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .fakes import FakePaymentGateway, FixedClock, RecordingMailer, SentMail, StartedPayment

if TYPE_CHECKING:
    from .contract import StorageContract

__all__ = [
    "FakePaymentGateway",
    "FixedClock",
    "RecordingMailer",
    "SentMail",
    "StartedPayment",
    "StorageContract",
]


def __getattr__(name: str) -> Any:
    # the contract suite imports pytest and Hypothesis: load it only when asked for
    if name == "StorageContract":
        return importlib.import_module(".contract", __name__).StorageContract
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
