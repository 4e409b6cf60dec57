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

and holds it to our in-memory model under random sequences of units of work with
:func:`compare_with_model` (a Hypothesis state machine, :class:`StorageStateMachine`)::

    def test_my_storage_behaves_as_the_model():
        compare_with_model(lambda: MyStorage(...))  # a fresh, empty storage per call
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .fakes import FakePaymentGateway, FixedClock, RecordingMailer, SentMail, StartedPayment

if TYPE_CHECKING:
    from .contract import StorageContract
    from .stateful import StorageStateMachine, compare_with_model

__all__ = [
    "FakePaymentGateway",
    "FixedClock",
    "RecordingMailer",
    "SentMail",
    "StartedPayment",
    "StorageContract",
    "StorageStateMachine",
    "compare_with_model",
]

# these need pytest and Hypothesis: loaded only when asked for
_LAZY = {
    "StorageContract": ".contract",
    "StorageStateMachine": ".stateful",
    "compare_with_model": ".stateful",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
