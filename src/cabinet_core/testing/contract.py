"""The storage contract suite: the rules of :mod:`cabinet_core.ports.storage`, as tests every adapter passes.

Subclass :class:`StorageContract` and override the ``storage`` fixture so that it yields a fresh, empty
storage (and closes it afterwards). The suite needs pytest and Hypothesis. The property tests reuse one
storage across their examples and keep them apart by giving every example its own account ids.
"""

from __future__ import annotations

import itertools
import math
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ..adapters.dispatch import deliver_outbox
from ..errors import (
    AccountNotFound,
    CabinetError,
    ConcurrencyConflict,
    InvalidInput,
    InvalidType,
    NaiveDatetime,
    QuotaExceeded,
    StorageError,
)
from ..ports.records import AccountExists, InvoiceNotFound, KeyTaken, Notification, OutboxStatus
from ..ports.storage import Storage
from ..quotas import MailWindow, Reservation
from .fakes import FixedClock, RecordingMailer

__all__ = ["StorageContract"]

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)

# Examples share one storage: cheap per example, and no database per example on PostgreSQL.
_property = settings(
    max_examples=25,
    deadline=None,
    # one storage for all examples (fresh ids per example); each adapter subclass runs the same test
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.differing_executors,
    ],
)


def _fresh(prefix: str = "acct") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def _note(account_id: str = "acme", kind: str = "invoice_issued") -> Notification:
    return Notification(
        account_id=account_id, kind=kind, to=("owner@acme.example",), subject="Счёт №1", body="..."
    )


# A stream of mail ledger operations: reserve (after a pause) or release one of the earlier grants.
# pauses lean on the window's edge (24 h, give or take), where exactness is easiest to get wrong
_pause = st.one_of(
    st.just(0),
    st.integers(1, 3_600),
    st.integers(0, 30 * 3_600),
    st.sampled_from([86_399, 86_400, 86_401]),
    st.integers(86_400 - 3_600, 86_400 + 60),
)
_reserve_op = st.tuples(st.just("reserve"), _pause, st.integers(1, 60), st.booleans())
_release_op = st.tuples(st.just("release"), _pause, st.integers(0, 1_000), st.just(False))
_mail_streams = st.lists(st.one_of(_reserve_op, _reserve_op, _release_op), min_size=1, max_size=25)


class StorageContract:
    """Every rule a storage adapter must keep. Override the ``storage`` fixture."""

    @pytest.fixture
    def storage(self) -> Iterator[Storage]:
        raise NotImplementedError("override the storage fixture: yield a fresh, empty storage")

    # -- the unit of work ---------------------------------------------------------------------------------

    def test_leaving_without_commit_keeps_nothing(self, storage: Storage) -> None:
        """A unit of work left without commit (or by an exception) writes nothing, in any repository."""

        def failing_use_case() -> None:
            with storage.unit_of_work() as uow:
                uow.accounts.add("acme", {"n": 1})
                uow.invoices.add(uow.invoices.next_number(), "acme", {}, at=T0)
                uow.payments.record("p-1", "acme", {}, at=T0)
                uow.history.append("acme", at=T0, kind="opened", data={})
                uow.outbox.enqueue(_note(), at=T0)
                uow.mail.reserve("acme", 5, limit=10, at=T0)
                raise RuntimeError("the use case failed")

        with pytest.raises(RuntimeError):
            failing_use_case()
        with storage.unit_of_work() as uow:
            uow.accounts.add("other", {})  # not committed either: the block just ends
        with storage.unit_of_work() as uow:
            assert uow.accounts.ids() == []
            assert uow.invoices.for_account("acme") == []
            assert uow.payments.get("p-1") is None
            assert uow.history.for_account("acme") == []
            assert uow.outbox.messages() == []
            assert uow.mail.entries("acme", at=T0) == []
            assert uow.invoices.next_number() == 1

    def test_commit_makes_every_change_visible(self, storage: Storage) -> None:
        """After commit, a new unit of work sees every change of the committed one."""
        with storage.unit_of_work() as uow:
            uow.accounts.add("acme", {"n": 1})
            uow.history.append("acme", at=T0, kind="opened", data={"by": "operator"})
            uow.mail.reserve("acme", 5, limit=10, at=T0)
            uow.commit()
        with storage.unit_of_work() as uow:
            assert uow.accounts.get("acme").data == {"n": 1}
            assert [r.kind for r in uow.history.for_account("acme")] == ["opened"]
            assert uow.mail.entries("acme", at=T0) == [(T0, 5)]

    def test_a_finished_unit_of_work_refuses_further_use(self, storage: Storage) -> None:
        """Using a unit of work after commit, or before entering it, raises StorageError."""
        uow = storage.unit_of_work()
        with pytest.raises(StorageError):
            uow.accounts.ids()
        with uow:
            uow.commit()
        with pytest.raises(StorageError):
            uow.accounts.ids()
        with pytest.raises(StorageError):
            uow.commit()

    # -- accounts -----------------------------------------------------------------------------------------

    def test_added_account_reads_back_at_version_one(self, storage: Storage) -> None:
        """An added account reads back with its data and keys at version 1."""
        with storage.unit_of_work() as uow:
            added = uow.accounts.add("acme", {"tariff": "business", "n": [1, 2.5, None]}, keys=["ref:K7"])
            uow.commit()
        with storage.unit_of_work() as uow:
            stored = uow.accounts.get("acme")
        assert stored == added
        assert (stored.version, stored.data, stored.keys) == (
            1,
            {"tariff": "business", "n": [1, 2.5, None]},
            frozenset({"ref:K7"}),
        )

    def test_save_writes_the_next_version(self, storage: Storage) -> None:
        """Each save from the current version stores the new data at version + 1."""
        with storage.unit_of_work() as uow:
            uow.accounts.add("acme", {"n": 0})
            for version in range(1, 4):
                saved = uow.accounts.save("acme", {"n": version}, expected_version=version)
                assert saved.version == version + 1
            uow.commit()
        with storage.unit_of_work() as uow:
            stored = uow.accounts.get("acme")
        assert (stored.version, stored.data) == (4, {"n": 3})

    def test_stale_save_is_refused_and_writes_nothing(self, storage: Storage) -> None:
        """A save based on an old version raises ConcurrencyConflict and leaves the newer data."""
        with storage.unit_of_work() as uow:
            uow.accounts.add("acme", {"n": 0})
            uow.accounts.save("acme", {"n": 1}, expected_version=1)
            uow.commit()
        with storage.unit_of_work() as uow:
            with pytest.raises(ConcurrencyConflict, match="version 2"):
                uow.accounts.save("acme", {"n": 2}, expected_version=1)
            with pytest.raises(ConcurrencyConflict):
                uow.accounts.save("acme", {"n": 2}, expected_version=3)
            uow.commit()
        with storage.unit_of_work() as uow:
            stored = uow.accounts.get("acme")
        assert (stored.version, stored.data) == (2, {"n": 1})

    def test_missing_account_is_not_found(self, storage: Storage) -> None:
        """Getting or saving an unknown account raises AccountNotFound (a LookupError)."""
        with storage.unit_of_work() as uow:
            with pytest.raises(AccountNotFound, match="nobody"):
                uow.accounts.get("nobody")
            with pytest.raises(LookupError):
                uow.accounts.save("nobody", {}, expected_version=1)
            assert uow.accounts.find_by_key("ref:nothing") is None

    def test_adding_a_taken_id_is_refused(self, storage: Storage) -> None:
        """Adding an account under an existing id raises AccountExists and keeps the first one."""
        with storage.unit_of_work() as uow:
            uow.accounts.add("acme", {"first": True})
            uow.commit()
        with storage.unit_of_work() as uow:
            with pytest.raises(AccountExists, match="acme"):
                uow.accounts.add("acme", {"first": False})
            assert uow.accounts.get("acme").data == {"first": True}

    def test_lookup_keys_are_unique_and_follow_saves(self, storage: Storage) -> None:
        """Keys find their account; a taken key is refused whole; a save with keys replaces them."""
        with storage.unit_of_work() as uow:
            uow.accounts.add("acme", {}, keys=["ref:A", "domain:acme.ru"])
            uow.commit()
        with storage.unit_of_work() as uow:
            with pytest.raises(KeyTaken) as refused:
                uow.accounts.add("beta", {}, keys=["ref:B", "ref:A"])
            assert refused.value.key == "ref:A"
            with pytest.raises(AccountNotFound):
                uow.accounts.get("beta")  # nothing of the refused add stayed
            assert uow.accounts.find_by_key("ref:B") is None
            uow.accounts.add("beta", {}, keys=["ref:B"])
            with pytest.raises(KeyTaken):
                uow.accounts.save("beta", {"x": 1}, expected_version=1, keys=["ref:B", "domain:acme.ru"])
            assert uow.accounts.get("beta").version == 1  # the refused save wrote nothing
            uow.accounts.save("acme", {"moved": True}, expected_version=1, keys=["ref:A", "domain:new.ru"])
            uow.commit()
        with storage.unit_of_work() as uow:
            found = uow.accounts.find_by_key("domain:new.ru")
            assert found is not None
            assert (found.id, found.data) == ("acme", {"moved": True})
            assert found.keys == {"ref:A", "domain:new.ru"}
            assert uow.accounts.find_by_key("domain:acme.ru") is None
            kept = uow.accounts.save("acme", {"moved": 2}, expected_version=2)  # keys=None keeps them
            assert kept.keys == {"ref:A", "domain:new.ru"}
            assert uow.accounts.get("beta").keys == {"ref:B"}

    def test_ids_come_in_pages_in_order(self, storage: Storage) -> None:
        """ids() lists account ids in ascending order, a page at a time."""
        names = ["b", "a", "Z", "c-1", "c", "яблоко", "acme"]
        with storage.unit_of_work() as uow:
            for name in names:
                uow.accounts.add(name, {})
            uow.commit()
        with storage.unit_of_work() as uow:
            assert uow.accounts.ids() == sorted(names)
            assert uow.accounts.ids(limit=3) == sorted(names)[:3]
            assert uow.accounts.ids(after="b", limit=2) == [n for n in sorted(names) if n > "b"][:2]

    def test_stored_data_is_a_copy(self, storage: Storage) -> None:
        """Mutating a dict given to or returned by the store changes nothing stored."""
        data: dict[str, Any] = {"list": [1]}
        with storage.unit_of_work() as uow:
            uow.accounts.add("acme", data)
            data["list"].append(2)
            uow.accounts.get("acme").data["list"].append(3)
            assert uow.accounts.get("acme").data == {"list": [1]}

    @pytest.mark.parametrize(
        "data",
        [
            {"at": T0},
            {"n": math.nan},
            {"n": math.inf},
            {"s": {1, 2}},
            {1: "int key"},
            ["not", "a", "mapping"],
        ],
    )
    def test_documents_that_are_not_json_are_refused(self, storage: Storage, data: Any) -> None:
        """A document JSON cannot hold is refused with a CabinetError and nothing is written."""
        with storage.unit_of_work() as uow:
            with pytest.raises(CabinetError):
                uow.accounts.add("acme", data)
            assert uow.accounts.ids() == []

    @pytest.mark.parametrize("bad", ["", " padded", "tab\there", "x" * 201, 42, None, b"bytes"])
    def test_bad_account_ids_are_refused(self, storage: Storage, bad: Any) -> None:
        """An id that is empty, padded, has control characters, is too long or not a str is refused."""
        with storage.unit_of_work() as uow:
            with pytest.raises((InvalidInput, InvalidType)):
                uow.accounts.add(bad, {})
            assert uow.accounts.ids() == []

    # -- invoices and payments ----------------------------------------------------------------------------

    def test_invoice_numbers_have_no_gaps(self, storage: Storage) -> None:
        """Numbers run 1, 2, 3...; a rolled-back unit of work gives its number back."""
        numbers = []
        for i in range(5):
            with storage.unit_of_work() as uow:
                number = uow.invoices.next_number()
                uow.invoices.add(number, "acme", {"i": i}, at=T0 + i * H)
                if i % 2:
                    uow.rollback()
                    continue
                uow.commit()
                numbers.append(number)
        assert numbers == [1, 2, 3]
        with storage.unit_of_work() as uow:
            stored = uow.invoices.for_account("acme")
            assert [(inv.number, inv.data) for inv in stored] == [(1, {"i": 0}), (2, {"i": 2}), (3, {"i": 4})]
            assert uow.invoices.get(2).at == T0 + 2 * H
            with pytest.raises(InvoiceNotFound):
                uow.invoices.get(4)

    def test_a_number_taken_without_its_invoice_cannot_be_committed(self, storage: Storage) -> None:
        """Committing with a taken number but no invoice under it fails and commits nothing."""
        with storage.unit_of_work() as uow:
            uow.accounts.add("acme", {})
            uow.invoices.next_number()
            with pytest.raises(StorageError, match="gap-free"):
                uow.commit()
        with storage.unit_of_work() as uow:
            assert uow.accounts.ids() == []
            assert uow.invoices.next_number() == 1
            with pytest.raises(InvalidInput):
                uow.invoices.add(7, "acme", {}, at=T0)  # 7 was never taken

    def test_a_payment_is_recorded_once(self, storage: Storage) -> None:
        """record() is True for a new payment id, False ever after; a rolled-back record does not count."""
        with storage.unit_of_work() as uow:
            assert uow.payments.record("p-1", "acme", {"amount": "1990.00"}, at=T0)
        with storage.unit_of_work() as uow:
            assert uow.payments.get("p-1") is None
            assert uow.payments.record("p-1", "acme", {"amount": "1990.00"}, at=T0)
            assert not uow.payments.record("p-1", "acme", {"amount": "other"}, at=T0 + H)
            uow.commit()
        with storage.unit_of_work() as uow:
            assert not uow.payments.record("p-1", "acme", {}, at=T0 + H)
            stored = uow.payments.get("p-1")
            assert stored is not None
            assert (stored.account_id, stored.at, stored.data) == ("acme", T0, {"amount": "1990.00"})

    def test_rejected_payments_are_kept_for_review(self, storage: Storage) -> None:
        """A rejected payment is kept once, listed oldest first, and is not a recorded payment."""
        with storage.unit_of_work() as uow:
            assert uow.payments.reject("p-2", "acme", "amount 10.00 RUB != 1990.00 RUB", {"n": 1}, at=T0)
            assert not uow.payments.reject("p-2", "acme", "again", {}, at=T0 + H)
            assert uow.payments.reject("p-3", "beta", "currency", {}, at=T0 + H)
            uow.commit()
        with storage.unit_of_work() as uow:
            assert [p.payment_id for p in uow.payments.rejected()] == ["p-2", "p-3"]
            (only,) = uow.payments.rejected("acme")
            assert (only.reason, only.data, only.at) == ("amount 10.00 RUB != 1990.00 RUB", {"n": 1}, T0)
            assert uow.payments.get("p-2") is None

    # -- history ------------------------------------------------------------------------------------------

    def test_history_is_appended_in_order_per_account(self, storage: Storage) -> None:
        """Entries come back per account in append order with increasing sequence numbers, in UTC."""
        moscow = datetime(2025, 3, 1, 15, 0, tzinfo=timezone(timedelta(hours=3)))
        with storage.unit_of_work() as uow:
            first = uow.history.append("acme", at=moscow, kind="extended", data={"months": 3})
            uow.history.append("beta", at=T0, kind="opened", data={})
            second = uow.history.append("acme", at=T0 - H, kind="tariff_change", data={"to": "premium"})
            uow.commit()
        assert second > first
        with storage.unit_of_work() as uow:
            entries = uow.history.for_account("acme")
        assert [(e.seq, e.kind, e.data) for e in entries] == [
            (first, "extended", {"months": 3}),
            (second, "tariff_change", {"to": "premium"}),
        ]
        assert entries[0].at == T0
        assert entries[0].at.tzinfo == UTC

    def test_naive_instants_are_refused_everywhere(self, storage: Storage) -> None:
        """Every port method taking an instant refuses a naive datetime and writes nothing."""
        naive = datetime(2025, 3, 1, 12, 0)  # noqa: DTZ001 - naive on purpose
        with storage.unit_of_work() as uow:
            calls: list[Callable[[], object]] = [
                lambda: uow.history.append("acme", at=naive, kind="x", data={}),
                lambda: uow.payments.record("p", "acme", {}, at=naive),
                lambda: uow.outbox.enqueue(_note(), at=naive),
                lambda: uow.mail.reserve("acme", 1, limit=10, at=naive),
                lambda: uow.invoices.add(uow.invoices.next_number(), "acme", {}, at=naive),
            ]
            for call in calls:
                with pytest.raises(NaiveDatetime):
                    call()
            assert uow.history.for_account("acme") == []
            assert uow.outbox.messages() == []
            assert uow.mail.entries("acme", at=T0) == []

    # -- the outbox ---------------------------------------------------------------------------------------

    def test_enqueue_with_a_dedup_key_queues_once(self, storage: Storage) -> None:
        """A second notification with the same dedup key is not queued."""
        with storage.unit_of_work() as uow:
            first = uow.outbox.enqueue(_note(kind="term_ending"), at=T0, dedup_key="term-7d:acme:2025-03")
            again = uow.outbox.enqueue(_note(kind="term_ending"), at=T0, dedup_key="term-7d:acme:2025-03")
            other = uow.outbox.enqueue(_note(kind="invoice_issued"), at=T0)
            uow.commit()
        assert first is not None
        assert other is not None
        assert again is None
        with storage.unit_of_work() as uow:
            messages = uow.outbox.messages("acme")
        assert [(m.id, m.status, m.attempts) for m in messages] == [
            (first, OutboxStatus.PENDING, 0),
            (other, OutboxStatus.PENDING, 0),
        ]
        assert messages[0].notification == _note(kind="term_ending")

    def test_a_claimed_message_belongs_to_one_claim_until_its_lease_ends(self, storage: Storage) -> None:
        """A claim holds a message for its lease; then another claim takes it and the first cannot mark it."""
        with storage.unit_of_work() as uow:
            message_id = uow.outbox.enqueue(_note(), at=T0)
            uow.commit()
        assert message_id is not None
        lease = timedelta(minutes=5)
        with storage.unit_of_work() as uow:
            (mine,) = uow.outbox.claim(at=T0, lease=lease, limit=10, claim="one")
            assert (mine.id, mine.status, mine.claim, mine.attempts) == (message_id, "sending", "one", 1)
            early = T0 + lease - timedelta(seconds=1)
            assert uow.outbox.claim(at=early, lease=lease, limit=10, claim="two") == []
            (theirs,) = uow.outbox.claim(at=T0 + lease, lease=lease, limit=10, claim="two")
            assert (theirs.claim, theirs.attempts) == ("two", 2)
            assert not uow.outbox.mark_sent(message_id, claim="one", at=T0 + lease)
            assert uow.outbox.mark_sent(message_id, claim="two", at=T0 + lease)
            assert not uow.outbox.mark_sent(message_id, claim="two", at=T0 + lease)
            uow.commit()
        with storage.unit_of_work() as uow:
            (sent,) = uow.outbox.messages()
            assert (sent.status, sent.sent_at, sent.claim) == (OutboxStatus.SENT, T0 + lease, None)
            assert uow.outbox.claim(at=T0 + 100 * H, lease=lease, limit=10, claim="three") == []

    def test_only_due_messages_are_claimed_in_order(self, storage: Storage) -> None:
        """claim() takes pending messages whose time has come, oldest first, at most ``limit``."""
        with storage.unit_of_work() as uow:
            ids = [uow.outbox.enqueue(_note(), at=T0 + i * H) for i in range(4)]
            uow.commit()
        with storage.unit_of_work() as uow:
            claimed = uow.outbox.claim(at=T0 + 2 * H, lease=H, limit=2, claim="c")
            assert [m.id for m in claimed] == ids[:2]
            claimed = uow.outbox.claim(at=T0 + 2 * H, lease=H, limit=5, claim="d")
            assert [m.id for m in claimed] == ids[2:3]

    def test_failed_sends_are_retried_or_kept_dead(self, storage: Storage) -> None:
        """A failure with retry_at is claimed again from then; without, the message is dead but kept."""
        with storage.unit_of_work() as uow:
            first, second = uow.outbox.enqueue(_note(), at=T0), uow.outbox.enqueue(_note(), at=T0)
            uow.commit()
        assert first is not None
        assert second is not None
        with storage.unit_of_work() as uow:
            uow.outbox.claim(at=T0, lease=H, limit=10, claim="c")
            assert uow.outbox.mark_failed(first, claim="c", at=T0, error="relay down", retry_at=T0 + 2 * H)
            assert uow.outbox.mark_failed(second, claim="c", at=T0, error="bad address", retry_at=None)
            uow.commit()
        with storage.unit_of_work() as uow:
            assert uow.outbox.claim(at=T0 + H, lease=H, limit=10, claim="d") == []
            (again,) = uow.outbox.claim(at=T0 + 2 * H, lease=H, limit=10, claim="d")
            assert (again.id, again.attempts, again.last_error) == (first, 2, "relay down")
            dead = uow.outbox.messages()[1]
            assert (dead.status, dead.last_error) == (OutboxStatus.DEAD, "bad address")

    def test_the_dispatcher_delivers_each_notification_once(self, storage: Storage) -> None:
        """deliver_outbox sends committed notifications once, retries a failure, never resends a sent one."""
        clock, mailer = FixedClock(T0), RecordingMailer()
        with storage.unit_of_work() as uow:
            uow.outbox.enqueue(_note(kind="invoice_issued"), at=T0)
            uow.outbox.enqueue(_note(kind="payment_received"), at=T0)
            uow.commit()
        with storage.unit_of_work() as uow:
            uow.outbox.enqueue(_note(kind="rolled_back"), at=T0)  # never committed: never sent
        mailer.fail = 1
        report = deliver_outbox(storage, mailer, clock)
        assert (report.sent, report.retried) == (1, 1)
        assert deliver_outbox(storage, mailer, clock).sent == 0  # the failed one waits for its retry
        clock.advance(minutes=1)
        assert deliver_outbox(storage, mailer, clock).sent == 1
        clock.advance(hours=48)
        assert deliver_outbox(storage, mailer, clock).sent == 0
        assert sorted(m.notification.kind for m in mailer.sent) == ["invoice_issued", "payment_received"]
        assert len({m.message_id for m in mailer.sent}) == 2

    # -- the mail ledger ----------------------------------------------------------------------------------

    def test_the_ledger_grants_refuses_and_releases(self, storage: Storage) -> None:
        """Reserve, refuse with retry_at, partial grant and release behave as the pure window's."""
        with storage.unit_of_work() as uow:
            first = uow.mail.reserve("acme", 60, limit=100, at=T0)
            with pytest.raises(QuotaExceeded) as refused:
                uow.mail.reserve("acme", 50, limit=100, at=T0 + H)
            assert (refused.value.used, refused.value.requested, refused.value.limit) == (60, 50, 100)
            assert refused.value.retry_at == T0 + 24 * H
            partial = uow.mail.reserve("acme", 50, limit=100, at=T0 + H, partial=True)
            assert partial.granted == 40
            assert uow.mail.reserve("acme", 5, limit=100, at=T0 + H, partial=True).granted == 0
            uow.mail.release("acme", first, at=T0 + 2 * H)
            uow.mail.release("acme", first, at=T0 + 2 * H)  # twice changes nothing more
            assert uow.mail.entries("acme", at=T0 + 2 * H) == [(T0 + H, 40)]
            assert uow.mail.window("acme", limit=100, at=T0 + 2 * H).available(T0 + 2 * H) == 60
            assert uow.mail.entries("beta", at=T0) == []
            uow.commit()
        with storage.unit_of_work() as uow:
            assert uow.mail.entries("acme", at=T0 + 2 * H) == [(T0 + H, 40)]
            assert uow.mail.entries("acme", at=T0 + 25 * H) == []

    def test_a_reservation_is_released_only_by_its_own_ledger(self, storage: Storage) -> None:
        """Releasing another account's or an invented reservation is refused; an expired one is a no-op."""
        with storage.unit_of_work() as uow:
            granted = uow.mail.reserve("acme", 10, limit=100, at=T0)
            with pytest.raises(InvalidInput):
                uow.mail.release("beta", granted, at=T0)
            assert granted.id is not None
            invented = Reservation(id=granted.id, at_us=granted.at_us, granted=11)
            with pytest.raises(InvalidInput):
                uow.mail.release("acme", invented, at=T0)
            with pytest.raises(InvalidType):
                uow.mail.release("acme", "r-1", at=T0)  # type: ignore[arg-type]
            uow.mail.reserve("acme", 10, limit=100, at=T0 + 30 * H)  # prunes the first grant
            uow.mail.release("acme", granted, at=T0 + 30 * H)
            assert uow.mail.entries("acme", at=T0 + 30 * H) == [(T0 + 30 * H, 10)]

    def test_a_late_clock_is_stamped_at_the_newest_grant(self, storage: Storage) -> None:
        """A reservation stamped before the newest grant is granted at the newest grant's instant."""
        with storage.unit_of_work() as uow:
            uow.mail.reserve("acme", 10, limit=100, at=T0 + H)
            late = uow.mail.reserve("acme", 10, limit=100, at=T0)
            assert late.at == T0 + H

    def test_a_lowered_limit_grants_nothing_more(self, storage: Storage) -> None:
        """When stored grants exceed a lowered limit, nothing is granted until they expire."""
        with storage.unit_of_work() as uow:
            uow.mail.reserve("acme", 80, limit=100, at=T0)
            assert uow.mail.reserve("acme", 10, limit=50, at=T0 + H, partial=True).granted == 0
            with pytest.raises(QuotaExceeded) as refused:
                uow.mail.reserve("acme", 10, limit=50, at=T0 + H)
            assert refused.value.retry_at == T0 + 24 * H
            assert uow.mail.reserve("acme", 50, limit=50, at=T0 + 24 * H).granted == 50

    @settings(_property, max_examples=60)
    @given(limit=st.integers(0, 120), stream=_mail_streams)
    def test_the_ledger_decides_exactly_as_the_pure_window(
        self, storage: Storage, limit: int, stream: list[tuple[str, int, int, bool]]
    ) -> None:
        """On any stream of reservations and releases, the ledger answers as MailWindow does, exactly."""
        account = _fresh()
        model = MailWindow(limit)
        mine: list[tuple[Reservation, Reservation]] = []  # (the model's, the ledger's)
        at = T0
        for op, pause, value, partial in stream:
            at += timedelta(seconds=pause)
            with storage.unit_of_work() as uow:
                if op == "release":
                    if mine:
                        expected, stored = mine[value % len(mine)]
                        model.release(expected, at=at)
                        uow.mail.release(account, stored, at=at)
                else:
                    refusal: QuotaExceeded | None = None
                    try:
                        expected = model.reserve(value, at=at, partial=partial)
                    except QuotaExceeded as exc:
                        refusal = exc
                    if refusal is not None:
                        with pytest.raises(QuotaExceeded) as refused:
                            uow.mail.reserve(account, value, limit=limit, at=at, partial=partial)
                        assert (refused.value.retry_at, refused.value.used) == (
                            refusal.retry_at,
                            refusal.used,
                        )
                    else:
                        stored = uow.mail.reserve(account, value, limit=limit, at=at, partial=partial)
                        assert (stored.granted, stored.at) == (expected.granted, expected.at)
                        if expected.granted:
                            mine.append((expected, stored))
                uow.commit()
            with storage.unit_of_work() as uow:
                assert uow.mail.entries(account, at=at) == list(model.entries(at))
                assert uow.mail.window(account, limit=limit, at=at).available(at) == model.available(at)

    @_property
    @given(
        versions=st.lists(st.tuples(st.integers(0, 3), st.booleans()), min_size=1, max_size=12),
    )
    def test_saves_are_accepted_exactly_from_the_current_version(
        self, storage: Storage, versions: list[tuple[int, bool]]
    ) -> None:
        """A save succeeds if and only if it names the stored version; committed saves are never lost."""
        account = _fresh()
        with storage.unit_of_work() as uow:
            uow.accounts.add(account, {"n": 0})
            uow.commit()
        current, counter = 1, itertools.count(1)
        for lag, commit in versions:
            n = next(counter)
            based_on = max(1, current - lag)
            with storage.unit_of_work() as uow:
                if based_on == current:
                    saved = uow.accounts.save(account, {"n": n}, expected_version=based_on)
                    assert saved.version == current + 1
                    if commit:
                        uow.commit()
                        current += 1
                else:
                    with pytest.raises(ConcurrencyConflict):
                        uow.accounts.save(account, {"n": n}, expected_version=based_on)
            with storage.unit_of_work() as uow:
                assert uow.accounts.get(account).version == current

    @_property
    @given(plan=st.lists(st.tuples(st.integers(1, 3), st.booleans()), min_size=1, max_size=8))
    def test_invoice_numbers_stay_gap_free_under_any_commits_and_rollbacks(
        self, storage: Storage, plan: list[tuple[int, bool]]
    ) -> None:
        """Whatever units of work commit or roll back, the committed numbers run on without a gap."""
        account = _fresh()
        with storage.unit_of_work() as uow:
            first = uow.invoices.next_number()  # taken and given back: the next free number
        last = first - 1
        for count, commit in plan:
            with storage.unit_of_work() as uow:
                numbers = [uow.invoices.next_number() for _ in range(count)]
                assert numbers == list(range(last + 1, last + 1 + count))
                for number in numbers:
                    uow.invoices.add(number, account, {"n": number}, at=T0)
                if commit:
                    uow.commit()
                    last = numbers[-1]
        with storage.unit_of_work() as uow:
            stored = [invoice.number for invoice in uow.invoices.for_account(account)]
        assert stored == list(range(first, last + 1))

    @settings(_property, max_examples=15)
    @given(data=st.data())
    def test_accounts_behave_as_a_versioned_map(self, storage: Storage, data: st.DataObject) -> None:
        """Any sequence of adds, saves (current or stale), key changes and reads matches a plain model."""
        prefix = _fresh("m")
        names = [f"{prefix}-{i}" for i in range(3)]
        keys = [f"{prefix}:k{i}" for i in range(4)]
        model: dict[str, tuple[int, dict[str, Any], frozenset[str]]] = {}
        for _ in range(data.draw(st.integers(1, 20), label="steps")):
            name = data.draw(st.sampled_from(names), label="account")
            wanted = frozenset(data.draw(st.sets(st.sampled_from(keys), max_size=2), label="keys"))
            document = {"n": data.draw(st.integers(0, 9), label="n")}
            taken = {k for other, (_, _, held) in model.items() if other != name for k in held}
            with storage.unit_of_work() as uow:
                if data.draw(st.booleans(), label="add"):
                    if name in model:
                        with pytest.raises(AccountExists):
                            uow.accounts.add(name, document, keys=wanted)
                    elif wanted & taken:
                        with pytest.raises(KeyTaken):
                            uow.accounts.add(name, document, keys=wanted)
                    else:
                        uow.accounts.add(name, document, keys=wanted)
                        model[name] = (1, document, wanted)
                elif name in model:
                    version, _, held = model[name]
                    based_on = data.draw(st.integers(max(1, version - 1), version + 1), label="version")
                    change_keys = data.draw(st.booleans(), label="change keys")
                    new_keys = wanted if change_keys else None
                    if based_on != version:
                        with pytest.raises(ConcurrencyConflict):
                            uow.accounts.save(name, document, expected_version=based_on, keys=new_keys)
                    elif change_keys and wanted & taken:
                        with pytest.raises(KeyTaken):
                            uow.accounts.save(name, document, expected_version=based_on, keys=new_keys)
                    else:
                        uow.accounts.save(name, document, expected_version=based_on, keys=new_keys)
                        model[name] = (version + 1, document, wanted if change_keys else held)
                uow.commit()
            with storage.unit_of_work() as uow:
                for known, (version, document, held) in model.items():
                    stored = uow.accounts.get(known)
                    assert (stored.version, stored.data, stored.keys) == (version, document, held)
                for key in keys:
                    owner = next((n for n, (_, _, held) in model.items() if key in held), None)
                    found = uow.accounts.find_by_key(key)
                    assert (found.id if found else None) == owner
