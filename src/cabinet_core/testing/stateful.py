"""A Hypothesis state machine holding a storage adapter to the in-memory model, step by step.

:class:`StorageStateMachine` drives two storages with the same random sequence of operations, each through
units of work: :class:`~cabinet_core.adapters.MemoryStorage` (the model) and the adapter under test. After
every step it checks that both gave the same answers (the same return values, or errors of the same type
with the same figures: the key of :class:`~cabinet_core.ports.KeyTaken`, ``retry_at`` and the counts of a
mail refusal) and that both show the same state through every read of every port. Units of work end by
commit, rollback, leaving the block without commit, or an exception inside it; each leaves both sides alike.

Ids the ports do not promise to number alike (history ``seq``, outbox message ids, mail reservation ids:
PostgreSQL sequences keep counting through a rollback, the model reuses the number) are compared through
a correspondence learnt when each side hands them out: every id the adapter returns must be the one it
handed out for the same record, and history numbers must grow in append order. Invoice numbers are
compared as they are, since the sequence is promised gap-free.

A host proves its own adapter with one call (pytest and Hypothesis needed)::

    import itertools
    from cabinet_core.testing import compare_with_model

    def test_my_storage_behaves_as_the_model(tmp_path):
        numbers = itertools.count()
        compare_with_model(lambda: MyStorage(tmp_path / f"example-{next(numbers)}.db"))

``open_storage`` is called once per Hypothesis example and must return a fresh, empty storage (a new file,
a new schema); the machine closes it when the example ends. A failure names the step and both answers, and
Hypothesis prints the shortest sequence of steps that shows it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

import attrs
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from .._time import zone
from ..adapters.memory import MemoryStorage
from ..errors import QuotaExceeded, StorageError
from ..ports.records import HistoryRecord, KeyTaken, Notification, OutboxMessage
from ..ports.storage import Storage, UnitOfWork
from ..quotas import MailWindow, Reservation

__all__ = ["COMPARISON_SETTINGS", "StorageStateMachine", "compare_with_model"]

#: what :func:`compare_with_model` runs by default: 50 examples of 30 steps, a few seconds on SQLite
COMPARISON_SETTINGS = settings(
    max_examples=50,
    stateful_step_count=30,
    deadline=None,  # a database round trip now and then is slow; that is not what is tested here
    suppress_health_check=[HealthCheck.too_slow],
)

T0 = datetime(2025, 3, 1, 12, 0, 0, 123_456, tzinfo=UTC)
_US = 1_000_000  # microseconds in a second
_NEVER_ISSUED = 10**12  # an outbox id neither side handed out

# Small pools so that operations collide: the same account, key, payment id or dedup key comes back.
# The ids sort differently by code point than by any locale ("Zeta" < "acme" < "яблоко" < "𝔞cme").
ACCOUNTS = ("acme", "Zeta", "яблоко", "𝔞cme")
KEYS = ("ref:K7Q2", "ref:AB12", "domain:acme.ru", "domain:магазин.рф")
PAYMENT_IDS = ("pay-1", "pay-2", "pay-3")
DEDUP_KEYS = ("term-ending:1", "term-ending:2")
CLAIMS = ("dispatcher-1", "dispatcher-2")
KINDS = ("opened", "tariff_changed")
# identifiers every adapter must refuse (empty, padded, control characters, too long, not a str)
BAD_IDS: tuple[Any, ...] = ("", " padded", "tab\there", "nul\x00", "x" * 201, 42, None)
# strings a document or a text field may hold that hurt careless storage code, and that every adapter keeps
HOSTILE_TEXT = (
    "",
    "'; DROP TABLE accounts; --",
    "line\u2028separator",
    "\u202eright-to-left",
    "%s ? $1 :name",
    "\\u0000",
    "😀 \U0010fffd",
    "ё" * 300,
)
# strings no adapter can keep (NUL: PostgreSQL; unpaired surrogates: not UTF-8): every adapter refuses them
UNSTORABLE_TEXT = ("\x00", "nul\x00inside", "\ud800", "tail\udfff")
_ZONES = ("UTC", "UTC", "Europe/Moscow", "America/St_Johns", "Asia/Kathmandu")


def _often(good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any], times: int = 12) -> Any:
    """``good`` most of the time, ``bad`` about once in ``times + 1`` draws (shrinking towards ``good``).

    A rule has several arguments that may each be bad, so each must be bad rarely for most calls to go
    through. (``st.one_of(good, good, ..., bad)`` would not do: one_of merges equal branches.)
    """
    return st.sampled_from([False] * times + [True]).flatmap(lambda refused: bad if refused else good)


_accounts = _often(st.sampled_from(ACCOUNTS), st.sampled_from(BAD_IDS))
_texts = _often(
    st.text(st.characters(exclude_characters="\x00"), max_size=8) | st.sampled_from(HOSTILE_TEXT),
    st.sampled_from(UNSTORABLE_TEXT),
    times=40,  # a document holds several strings
)
_json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    _texts,
)
_json = st.recursive(
    _json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_texts, inner, max_size=3),
    max_leaves=6,
)
_not_json: tuple[Any, ...] = (
    {"at": T0},
    {"n": math.nan},
    {"n": math.inf},
    {"s": {1, 2}},
    {1: "int key"},
    ["not", "a", "mapping"],
)
_documents = _often(st.dictionaries(_texts, _json, max_size=3), st.sampled_from(_not_json))
_keys = _often(
    st.lists(st.sampled_from(KEYS), max_size=3),
    st.sampled_from(["ref:K7Q2", ["", "ref:K7Q2"], [" ref:K7Q2"], 7]),
)
# an instant near the machine's clock: mostly now, else up to an hour either side
_shifts = st.one_of(st.just(0), st.integers(-3_600 * _US, 3_600 * _US))
# the mail ledger: two accounts mostly, so that grants meet in one window
_mail_accounts = _often(st.sampled_from(ACCOUNTS[:2]), st.sampled_from((*ACCOUNTS[2:], *BAD_IDS)), times=6)
_zones = _often(st.sampled_from(_ZONES), st.none())  # None: a naive datetime, refused
# pauses lean on the mail window's edge (24 h, give or take), where exactness is easiest to get wrong
_pauses = st.one_of(
    st.integers(0, 3_600 * _US),
    st.sampled_from([86_399, 86_400, 86_401]).map(lambda s: s * _US),
    st.integers(86_400 * _US - 1_000, 86_400 * _US + 1_000),
    st.integers(0, 30 * 3_600 * _US),
)
_recipients = _often(st.integers(1, 120), st.sampled_from([0, -3, True, "5"]))
_limits = _often(st.sampled_from((100, 100, 100, 50, 10, 0)), st.sampled_from((-1, "100", None)))


# -- comparing ------------------------------------------------------------------------------------------


def _shape(value: Any) -> Any:
    """A comparable form of a result that keeps what ``==`` forgets: int vs float vs bool, the UTC offset
    and microseconds of instants, the type of a record. JSON objects compare without their key order."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int):
        return ("int", value)
    if isinstance(value, float):
        return ("float", value)
    if isinstance(value, datetime):
        return ("datetime", value.isoformat())
    if isinstance(value, Reservation):
        return ("Reservation", value.id, value.at_us, value.granted)
    if attrs.has(type(value)):
        fields = attrs.fields(type(value))
        return (type(value).__name__, tuple((f.name, _shape(getattr(value, f.name))) for f in fields))
    if isinstance(value, dict):
        return ("dict", sorted(((_shape(k), _shape(v)) for k, v in value.items()), key=repr))
    if isinstance(value, frozenset | set):
        return (type(value).__name__, sorted((_shape(v) for v in value), key=repr))
    if isinstance(value, list | tuple):
        return (type(value).__name__, tuple(_shape(v) for v in value))
    return (type(value).__name__, value)


def _attempt(action: Callable[[], Any]) -> tuple[Any, Exception | None]:
    try:
        return action(), None
    except Exception as exc:  # every error is an observable answer, compared with the model's
        return None, exc


def _fail(message: str) -> None:
    raise AssertionError(message)


class _Ids:
    """The correspondence between the ids the model handed out and those the adapter handed out.

    Pairs learnt in the open unit of work are forgotten if it does not commit (both sides may hand the
    numbers out again, or not: the ports promise nothing about that).
    """

    def __init__(self, name: str, *, increasing: bool) -> None:
        self.name = name
        self.increasing = increasing
        self._real: dict[Any, Any] = {}
        self._model: dict[Any, Any] = {}
        self._pending: list[Any] = []

    def learn(self, model_id: Any, real_id: Any) -> None:
        if model_id in self._real and self._real[model_id] != real_id:
            _fail(f"{self.name}: the model handed out {model_id!r} twice, once for {self._real[model_id]!r}")
        if real_id in self._model and self._model[real_id] != model_id:
            _fail(
                f"{self.name}: the adapter handed out {real_id!r} again (first for the model's "
                f"{self._model[real_id]!r}, now for {model_id!r})"
            )
        if self.increasing and self._real:
            last_model = max(self._real, key=_order)
            last_real = max(self._model, key=_order)
            if _order(real_id) <= _order(last_real) or _order(model_id) <= _order(last_model):
                _fail(
                    f"{self.name}: {real_id!r} (model {model_id!r}) does not follow {last_real!r} (model "
                    f"{last_model!r}): numbers must grow in the order records are added"
                )
        self._real[model_id] = real_id
        self._model[real_id] = model_id
        self._pending.append(model_id)

    def real(self, model_id: Any) -> Any:
        return self._real.get(model_id)

    def model(self, real_id: Any) -> Any:
        if real_id not in self._model:
            _fail(f"{self.name}: the adapter returned {real_id!r}, which it never handed out")
        return self._model[real_id]

    def end(self, *, committed: bool) -> None:
        if not committed:
            for model_id in self._pending:
                self._model.pop(self._real.pop(model_id))
        self._pending.clear()


def _order(value: Any) -> int:
    return value if isinstance(value, int) else 0


@attrs.define
class _Grant:
    """A mail reservation as each side handed it out."""

    account: str
    model: Reservation
    real: Reservation
    pending: bool = True  # granted in the open unit of work


def _window_view(window: MailWindow, at: datetime) -> tuple[Any, ...]:
    """What a window snapshot answers: its figures, its entries, a plan, and where a late grant lands."""
    plan = _attempt(lambda: window.plan(150, at)) if window.limit else (None, None)
    late = window.reserve(1, at - timedelta(hours=1), partial=True)
    return (
        window.limit,
        window.used(at),
        window.available(at),
        window.entries(at),
        plan[0],
        type(plan[1]).__name__,
        (late.at_us, late.granted),
    )


class StorageStateMachine(RuleBasedStateMachine):
    """The same random operations on the model and on the adapter under test; same answers every step.

    ``open_storage`` returns a fresh, empty storage; it is called once per example. Error messages are
    compared too (except :class:`~cabinet_core.errors.StorageError`'s, which name the database); a host
    whose adapter words its own refusals sets ``compare_messages = False``.
    """

    compare_messages = True

    def __init__(self, open_storage: Callable[[], Storage]) -> None:
        super().__init__()
        self._model: Storage = MemoryStorage()
        self._real: Storage = open_storage()
        self._open: tuple[UnitOfWork, UnitOfWork] | None = None
        self._finished: tuple[UnitOfWork, UnitOfWork] | None = None
        self.now = T0
        self._history = _Ids("history seq", increasing=True)
        self._outbox = _Ids("outbox message id", increasing=False)
        self._mail = _Ids("mail reservation id", increasing=False)
        self._grants: list[_Grant] = []
        self._taken: list[int] = []  # invoice numbers taken in the open unit of work, not yet stored

    def teardown(self) -> None:
        try:
            if self._open is not None:
                for uow in self._open:
                    uow.rollback()
        finally:
            self._open = None
            self._model.close()
            self._real.close()

    # -- helpers ------------------------------------------------------------------------------------------

    def _uows(self) -> tuple[UnitOfWork, UnitOfWork]:
        """The open pair of units of work: a use case's first operation opens them (on both sides)."""
        if self._open is None:
            self._open = self._begin()
        return self._open

    def _at(self, shift: int, tz: str | None) -> datetime:
        instant = self.now + timedelta(microseconds=shift)
        if tz is None:
            return instant.replace(tzinfo=None)  # naive: both sides must refuse it
        return instant.astimezone(_tz(tz))

    def _to_model(self, value: Any) -> Any:
        """The adapter's result with its ids replaced by the model's."""
        if isinstance(value, list):
            return [self._to_model(v) for v in value]
        if isinstance(value, tuple) and not isinstance(value, Reservation):
            return tuple(self._to_model(v) for v in value)
        if isinstance(value, HistoryRecord):
            return attrs.evolve(value, seq=self._history.model(value.seq))
        if isinstance(value, OutboxMessage):
            return attrs.evolve(value, id=self._outbox.model(value.id))
        return value

    def _same_error(self, what: str, expected: Exception | None, got: Exception | None) -> None:
        if expected is None and got is None:
            return
        if expected is None or got is None:
            _fail(
                f"{what}: the model {'succeeded' if expected is None else f'raised {expected!r}'}, "
                f"the adapter {'succeeded' if got is None else f'raised {got!r}'}"
            )
            return
        if type(expected) is not type(got):
            _fail(f"{what}: the model raised {expected!r}, the adapter {got!r}")
        if isinstance(expected, KeyTaken) and isinstance(got, KeyTaken) and expected.key != got.key:
            _fail(f"{what}: KeyTaken names {expected.key!r} in the model, {got.key!r} in the adapter")
        if isinstance(expected, QuotaExceeded) and isinstance(got, QuotaExceeded):
            figures = ("quota", "limit", "used", "requested", "retry_at")
            mine = tuple(_shape(getattr(expected, name)) for name in figures)
            theirs = tuple(_shape(getattr(got, name)) for name in figures)
            if mine != theirs:
                _fail(f"{what}: the model refused with {mine} ({figures}), the adapter with {theirs}")
        if self.compare_messages and not isinstance(expected, StorageError) and str(expected) != str(got):
            _fail(f"{what}: the model says {str(expected)!r}, the adapter {str(got)!r}")

    def _same(self, what: str, expected: Any, got: Any) -> None:
        if _shape(expected) != _shape(self._to_model(got)):
            _fail(f"{what}: the model gives {expected!r}, the adapter {got!r}")

    def _both(
        self,
        what: str,
        action: Callable[[UnitOfWork], Any],
        *,
        learn: Callable[[Any, Any], None] | None = None,
        translate: Callable[[Any], Any] | None = None,
    ) -> tuple[Any, Any] | None:
        """Run ``action`` in both open units of work and compare; both results, or None if both raised."""
        model_uow, real_uow = self._uows()
        expected, refused = _attempt(lambda: action(model_uow))
        got, failed = _attempt(lambda: action(real_uow))
        self._same_error(what, refused, failed)
        if refused is not None:
            return None
        if learn is not None:
            learn(expected, got)
        self._same(what, expected, got if translate is None else translate(got))
        return expected, got

    def _learn_seq(self, expected: Any, got: Any) -> None:
        if isinstance(expected, int) and isinstance(got, int):
            self._history.learn(expected, got)

    def _learn_message(self, expected: Any, got: Any) -> None:
        if isinstance(expected, int) and isinstance(got, int):
            self._outbox.learn(expected, got)

    # -- the unit of work ---------------------------------------------------------------------------------

    def _begin(self) -> tuple[UnitOfWork, UnitOfWork]:
        model_uow = self._model.unit_of_work().__enter__()
        try:
            real_uow = self._real.unit_of_work().__enter__()
        except BaseException:
            model_uow.rollback()
            raise
        return model_uow, real_uow

    @initialize(
        accounts=st.sets(st.sampled_from(ACCOUNTS), min_size=2),
        owners=st.lists(st.sampled_from((*ACCOUNTS, None)), min_size=len(KEYS), max_size=len(KEYS)),
        documents=st.lists(
            st.dictionaries(_texts, _json, max_size=2), min_size=len(ACCOUNTS), max_size=len(ACCOUNTS)
        ),
        notes=st.lists(
            st.tuples(st.sampled_from(ACCOUNTS), st.one_of(st.none(), st.sampled_from(DEDUP_KEYS)), _shifts),
            max_size=4,
        ),
        grants=st.lists(
            st.tuples(st.sampled_from(ACCOUNTS[:2]), st.integers(1, 60), st.integers(0, 23 * 3_600 * _US)),
            max_size=3,
        ),
    )
    def start_with_accounts_and_mail(
        self,
        accounts: set[str],
        owners: list[str | None],
        documents: list[dict[str, Any]],
        notes: list[tuple[str, str | None, int]],
        grants: list[tuple[str, int, int]],
    ) -> None:
        """Start from a few committed accounts holding keys, notifications waiting in the outbox and mail
        sent within the last day, so that saves, lookups, claims and the mail window have something to act
        on from the first step."""
        for account, data in zip(sorted(accounts), documents, strict=False):
            keys = [key for key, owner in zip(KEYS, owners, strict=True) if owner == account]
            self.add_account(account, data, keys)
        for account, dedup_key, shift in notes:
            self.enqueue(account, KINDS[0], "Счёт", "...", {}, dedup_key, shift, "UTC", wrong_type=False)
        for account, n, ago in sorted(grants, key=lambda grant: -grant[2]):
            self.reserve(account, n, 100, "back", ago, "UTC", partial=True)
        self._end("commit", lambda uow: uow.commit())

    def _end(self, what: str, action: Callable[[UnitOfWork], object]) -> None:
        model_uow, real_uow = self._uows()
        self._open = None
        self._finished = (model_uow, real_uow)
        expected, refused = _attempt(lambda: action(model_uow))
        got, failed = _attempt(lambda: action(real_uow))
        committed = what == "commit" and refused is None
        for ids in (self._history, self._outbox, self._mail):
            ids.end(committed=committed)
        self._grants = [g for g in self._grants if committed or not g.pending]
        for grant in self._grants:
            grant.pending = False
        self._taken.clear()
        self._same_error(what, refused, failed)
        self._same(what, expected, got)

    @precondition(lambda self: self._open is not None)
    @rule()
    def commit(self) -> None:
        self._end("commit", lambda uow: uow.commit())

    @precondition(lambda self: self._open is not None)
    @rule(how=st.sampled_from(["rollback", "leave the block", "raise inside"]))
    def end_without_commit(self, how: str) -> None:
        """Roll back explicitly, leave the ``with`` block without commit, or let an exception escape it."""
        failure = RuntimeError("the use case failed")
        endings: dict[str, Callable[[UnitOfWork], object]] = {
            "rollback": lambda uow: uow.rollback(),
            "leave the block": lambda uow: uow.__exit__(None, None, None),
            "raise inside": lambda uow: uow.__exit__(RuntimeError, failure, None),
        }
        self._end(how, endings[how])

    @precondition(lambda self: self._finished is not None)
    @rule(use=st.sampled_from(["ids", "commit", "rollback", "enter"]))
    def use_a_finished_unit_of_work(self, use: str) -> None:
        actions: dict[str, Callable[[UnitOfWork], object]] = {
            "ids": lambda uow: uow.accounts.ids(),
            "commit": lambda uow: uow.commit(),
            "rollback": lambda uow: uow.rollback(),
            "enter": lambda uow: uow.__enter__() and None,
        }
        assert self._finished is not None
        model_uow, real_uow = self._finished
        expected, refused = _attempt(lambda: actions[use](model_uow))
        got, failed = _attempt(lambda: actions[use](real_uow))
        self._same_error(f"{use} on a finished unit of work", refused, failed)
        self._same(f"{use} on a finished unit of work", expected, got)

    @precondition(lambda self: self._open is None)
    @rule(account=st.sampled_from(ACCOUNTS), data=_documents, shift=_shifts)
    def number_given_back_by_a_failed_unit_of_work(self, account: str, data: Any, shift: int) -> None:
        """An invoice numbered in a unit of work that fails leaves no gap: the next one gets its number."""
        at = self._at(shift, "UTC")

        def failing(storage: Storage) -> tuple[Any, Exception | None]:
            taken: list[int] = []

            def use_case() -> None:
                with storage.unit_of_work() as uow:
                    taken.append(uow.invoices.next_number())
                    uow.invoices.add(taken[0], account, data, at=at)
                    raise _UseCaseFailed

            _, error = _attempt(use_case)
            with storage.unit_of_work() as uow:
                return (taken, uow.invoices.next_number()), error

        (expected, refused), (got, failed) = failing(self._model), failing(self._real)
        if not isinstance(refused, _UseCaseFailed):  # a document the model refuses: compare the refusal
            self._same_error("issuing an invoice", refused, failed)
        elif not isinstance(failed, _UseCaseFailed):
            _fail(f"issuing an invoice: the model's use case ran, the adapter raised {failed!r}")
        self._same("invoice numbers around a failed unit of work", expected, got)
        if got[0] and got[1] != got[0][0]:
            _fail(f"invoice number {got[0][0]} was taken and rolled back, yet the next number is {got[1]}")

    @rule(pause=_pauses)
    def advance_the_clock(self, pause: int) -> None:
        self.now += timedelta(microseconds=pause)

    # -- accounts -----------------------------------------------------------------------------------------

    @rule(account=_accounts, data=_documents, keys=_keys)
    def add_account(self, account: Any, data: Any, keys: Any) -> None:
        self._both(
            f"accounts.add({account!r}, keys={keys!r})", lambda u: u.accounts.add(account, data, keys=keys)
        )

    @rule(
        account=_accounts,
        data=_documents,
        based_on=_often(
            st.sampled_from(["current", "current", "current", "stale", "ahead"]),
            st.sampled_from([0, -1, "1", True, 1.0]),
        ),
        keys=st.one_of(st.none(), _keys),
    )
    def save_account(self, account: Any, data: Any, based_on: Any, keys: Any) -> None:
        """Save from the current version, a stale one, one ahead of it, or a version that is no version."""
        expected_version = based_on
        if isinstance(based_on, str) and based_on in ("current", "stale", "ahead"):
            model_uow, _ = self._uows()
            current, _ = _attempt(lambda: model_uow.accounts.get(account).version)
            current = current or 1
            stale = current - 1 if current > 1 else current + 1
            expected_version = {"current": current, "stale": stale, "ahead": current + 1}[based_on]
        self._both(
            f"accounts.save({account!r}, expected_version={expected_version!r}, keys={keys!r})",
            lambda u: u.accounts.save(account, data, expected_version=expected_version, keys=keys),
        )

    @rule(
        after=_often(
            st.one_of(st.none(), st.sampled_from((*ACCOUNTS, "a", "zz", "ё"))), st.sampled_from(BAD_IDS)
        ),
        limit=_often(st.integers(1, 5), st.sampled_from([0, -1, "2", None])),
    )
    def page_of_ids(self, after: Any, limit: Any) -> None:
        self._both(
            f"accounts.ids(after={after!r}, limit={limit!r})",
            lambda u: u.accounts.ids(after=after, limit=limit),
        )

    # -- invoices -----------------------------------------------------------------------------------------

    @rule()
    def take_an_invoice_number(self) -> None:
        taken = self._both("invoices.next_number()", lambda u: u.invoices.next_number())
        if taken is not None:
            self._taken.append(taken[0])

    @rule(account=_accounts, data=_documents, shift=_shifts, tz=_zones)
    def issue_an_invoice(self, account: Any, data: Any, shift: int, tz: str | None) -> None:
        """The usual path: take a number and store the invoice under it."""
        self.take_an_invoice_number()
        self.add_invoice(0, account, data, shift, tz)

    @rule(
        pick=_often(st.integers(0, 3), st.sampled_from([-1, -2, -3, -4])),
        account=_accounts,
        data=_documents,
        shift=_shifts,
        tz=_zones,
    )
    def add_invoice(self, pick: int, account: Any, data: Any, shift: int, tz: str | None) -> None:
        """Store an invoice under a number taken in this unit of work, or under one that was not taken."""
        number: Any
        if pick >= 0 and self._taken:
            number = self._taken[-1 - pick % len(self._taken)]
        else:
            number = {-1: 10**6, -2: 0, -3: "1", -4: True}.get(pick, 10**6)
        stored = self._both(
            f"invoices.add({number!r}, {account!r}, at={shift} us from now {tz})",
            lambda u: u.invoices.add(number, account, data, at=self._at(shift, tz)),
        )
        if stored is not None and number in self._taken:
            self._taken.remove(number)

    @rule(
        payment=_often(st.sampled_from(PAYMENT_IDS), st.sampled_from(BAD_IDS)),
        account=_accounts,
        data=_documents,
        shift=_shifts,
        tz=_zones,
    )
    def record_payment(self, payment: Any, account: Any, data: Any, shift: int, tz: str | None) -> None:
        self._both(
            f"payments.record({payment!r}, {account!r})",
            lambda u: u.payments.record(payment, account, data, at=self._at(shift, tz)),
        )

    @rule(
        payment=_often(st.sampled_from(PAYMENT_IDS), st.sampled_from(BAD_IDS)),
        account=_accounts,
        reason=_often(_texts, st.sampled_from(["r" * 2001, 5, None])),
        data=_documents,
        shift=_shifts,
        tz=_zones,
    )
    def reject_payment(
        self, payment: Any, account: Any, reason: Any, data: Any, shift: int, tz: str | None
    ) -> None:
        self._both(
            f"payments.reject({payment!r}, {account!r}, {reason!r})",
            lambda u: u.payments.reject(payment, account, reason, data, at=self._at(shift, tz)),
        )

    @rule(
        account=_accounts,
        kind=_often(st.sampled_from(KINDS), st.sampled_from(BAD_IDS)),
        data=_documents,
        shift=_shifts,
        tz=_zones,
    )
    def append_history(self, account: Any, kind: Any, data: Any, shift: int, tz: str | None) -> None:
        self._both(
            f"history.append({account!r}, kind={kind!r})",
            lambda u: u.history.append(account, at=self._at(shift, tz), kind=kind, data=data),
            learn=self._learn_seq,
            translate=lambda got: self._history.model(got) if isinstance(got, int) else got,
        )

    # -- outbox -------------------------------------------------------------------------------------------

    @rule(
        account=st.sampled_from(ACCOUNTS),
        kind=st.sampled_from(KINDS),
        subject=_texts,
        body=_texts,
        data=st.dictionaries(_texts, _json, max_size=2),
        dedup_key=_often(st.one_of(st.none(), st.sampled_from(DEDUP_KEYS)), st.sampled_from(BAD_IDS)),
        shift=_shifts,
        tz=_zones,
        wrong_type=_often(st.just(False), st.just(True)),
    )
    def enqueue(
        self,
        account: str,
        kind: str,
        subject: str,
        body: str,
        data: dict[str, Any],
        dedup_key: Any,
        shift: int,
        tz: str | None,
        wrong_type: bool,
    ) -> None:
        note: Any = Notification(
            account_id=account, kind=kind, to=("owner@acme.example",), subject=subject, body=body, data=data
        )
        if wrong_type:
            note = note.to_dict()  # not a Notification: both sides refuse it
        self._both(
            f"outbox.enqueue({kind!r} for {account!r}, dedup_key={dedup_key!r})",
            lambda u: u.outbox.enqueue(note, at=self._at(shift, tz), dedup_key=dedup_key),
            learn=self._learn_message,
            translate=lambda got: self._outbox.model(got) if isinstance(got, int) else got,
        )

    @rule(
        shift=st.one_of(st.just(0), st.integers(-3_600 * _US, 7_200 * _US)),
        tz=_zones,
        lease=_often(
            st.sampled_from([timedelta(minutes=1), timedelta(hours=1)]),
            st.sampled_from([timedelta(0), timedelta(seconds=-1), 60]),
        ),
        limit=_often(st.integers(1, 3), st.sampled_from([0, "1"])),
        claim=_often(st.sampled_from(CLAIMS), st.sampled_from(BAD_IDS)),
    )
    def claim(self, shift: int, tz: str | None, lease: Any, limit: Any, claim: Any) -> None:
        self._both(
            f"outbox.claim(at={shift} us from now {tz}, lease={lease!r}, limit={limit!r}, claim={claim!r})",
            lambda u: u.outbox.claim(at=self._at(shift, tz), lease=lease, limit=limit, claim=claim),
        )

    @rule(
        shift=st.one_of(st.just(0), st.integers(-3_600 * _US, 7_200 * _US)),
        claim=st.sampled_from(CLAIMS),
        outcomes=st.lists(st.sampled_from(["sent", "sent", "retry", "dead", "keep"]), min_size=1, max_size=3),
    )
    def dispatch_round(self, shift: int, claim: str, outcomes: list[str]) -> None:
        """What the dispatcher does: claim due messages, then mark each sent, failed (retry or dead) or
        nothing (it dies holding the message, whose lease then runs out)."""
        at = self._at(shift, "UTC")
        lease = timedelta(minutes=10)
        claimed = self._both(
            f"outbox.claim(at={at}, lease={lease}, limit={len(outcomes)}, claim={claim!r})",
            lambda u: u.outbox.claim(at=at, lease=lease, limit=len(outcomes), claim=claim),
        )
        for message, outcome in zip(claimed[0] if claimed else [], outcomes, strict=False):
            ids = (message.id, self._outbox.real(message.id))

            def mark(u: UnitOfWork, outcome: str = outcome, ids: tuple[int, int] = ids) -> bool:
                message_id = ids[0] if u is self._uows()[0] else ids[1]
                if outcome == "sent":
                    return u.outbox.mark_sent(message_id, claim=claim, at=at)
                retry_at = at + timedelta(minutes=5) if outcome == "retry" else None
                return u.outbox.mark_failed(
                    message_id, claim=claim, at=at, error="421 try later", retry_at=retry_at
                )

            if outcome != "keep":
                self._both(f"outbox: message {ids[0]} (adapter: {ids[1]}) {outcome}", mark)

    def _target(self, pick: int, holder: Any) -> tuple[Any, Any, Any]:
        """The message to mark and the claim token to mark it with: ``(model's id, adapter's id, token)``.

        Mostly a message being sent, marked by the dispatcher holding it (``holder == "holder"``); else by
        another dispatcher, or a message in any state, or an id neither side handed out, or a bad token.
        """
        model_uow, _ = self._uows()
        messages, _ = _attempt(model_uow.outbox.messages)
        messages = messages or []
        held = [m for m in messages if m.claim is not None]
        if pick < 0 or not messages:
            model_id = {-2: 0, -3: "1"}.get(pick, _NEVER_ISSUED)
            return model_id, model_id, CLAIMS[0] if holder in ("holder", "other") else holder
        chosen = (held or messages)[pick % len(held or messages)]
        token = chosen.claim or CLAIMS[0]
        if holder == "other":
            token = next(c for c in CLAIMS if c != token)
        elif holder != "holder":
            token = holder  # a bad token
        return chosen.id, self._outbox.real(chosen.id), token

    @rule(
        pick=_often(st.integers(0, 5), st.sampled_from([-1, -2, -3])),
        holder=_often(st.sampled_from(["holder", "holder", "holder", "other"]), st.sampled_from(BAD_IDS)),
        shift=_shifts,
        tz=_zones,
    )
    def mark_sent(self, pick: int, holder: Any, shift: int, tz: str | None) -> None:
        model_id, real_id, claim = self._target(pick, holder)
        at = self._at(shift, tz)
        self._both(
            f"outbox.mark_sent({model_id!r} (adapter: {real_id!r}), claim={claim!r})",
            lambda u: u.outbox.mark_sent(model_id if u is self._uows()[0] else real_id, claim=claim, at=at),
        )

    @rule(
        pick=_often(st.integers(0, 5), st.sampled_from([-1, -2, -3])),
        holder=_often(st.sampled_from(["holder", "holder", "holder", "other"]), st.sampled_from(BAD_IDS)),
        shift=_shifts,
        tz=_zones,
        error=_often(_texts, st.sampled_from(["e" * 2500, "relay\x00down\ud800", 3, None])),
        retry=st.one_of(st.none(), _shifts),
    )
    def mark_failed(
        self, pick: int, holder: Any, shift: int, tz: str | None, error: Any, retry: int | None
    ) -> None:
        model_id, real_id, claim = self._target(pick, holder)
        at = self._at(shift, tz)
        retry_at = None if retry is None else self._at(retry, tz)
        self._both(
            f"outbox.mark_failed({model_id!r} (adapter: {real_id!r}), claim={claim!r}, retry_at={retry_at})",
            lambda u: u.outbox.mark_failed(
                model_id if u is self._uows()[0] else real_id,
                claim=claim,
                at=at,
                error=error,
                retry_at=retry_at,
            ),
        )

    # -- the mail ledger ----------------------------------------------------------------------------------

    @rule(
        account=_mail_accounts,
        n=_recipients,
        limit=_limits,
        when=st.sampled_from(["now", "now", "late", "back"]),
        back_by=st.integers(1, 7_200 * _US),
        tz=_often(st.just("UTC"), _zones, times=2),
        partial=st.booleans(),
    )
    def reserve(
        self, account: Any, n: Any, limit: Any, when: str, back_by: int, tz: str | None, partial: bool
    ) -> None:
        """Reserve now; or with a late clock, just before the account's newest grant (it must be stamped at
        that grant's instant); or back in time from now."""
        shift = 0
        if when == "back" and back_by:
            shift = -back_by
        elif when == "late":
            newest = max((g.model.at_us for g in self._grants if g.account == account), default=None)
            if newest is not None:
                shift = newest - back_by - _us(self.now)
        at = self._at(shift, tz)
        granted = self._both(
            f"mail.reserve({account!r}, {n!r}, limit={limit!r}, at={at}, partial={partial})",
            lambda u: u.mail.reserve(account, n, limit=limit, at=at, partial=partial),
            learn=lambda expected, got: self._learn_grant(account, expected, got),
            translate=lambda got: self._grant_in_model_ids(account, got),
        )
        if granted is not None and granted[0].granted:
            self._grants.append(_Grant(account, granted[0], granted[1]))

    def _learn_grant(self, account: str, expected: Any, got: Any) -> None:
        if (
            isinstance(expected, Reservation)
            and isinstance(got, Reservation)
            and None not in (expected.id, got.id)
        ):
            self._mail.learn((account, expected.id), (account, got.id))

    def _grant_in_model_ids(self, account: str, got: Any) -> Any:
        if isinstance(got, Reservation) and got.id is not None:
            _, model_id = self._mail.model((account, got.id))
            return Reservation(model_id, got.at_us, got.granted)
        return got

    @rule(
        pick=st.integers(0, 7),
        how=st.sampled_from(["own"] * 6 + ["other account", "invented", "nothing granted", "not one"]),
        shift=_shifts,
        tz=_often(st.just("UTC"), _zones, times=2),
    )
    def release(self, pick: int, how: str, shift: int, tz: str | None) -> None:
        """Release a grant of this or a committed unit of work; or one of another account, or a forged one."""
        at = self._at(shift, tz)
        if not self._grants:
            return
        grant = self._grants[-1 - pick % len(self._grants)]
        account, mine, theirs = grant.account, grant.model, grant.real
        if how == "other account":
            account = next(a for a in ACCOUNTS if a != grant.account)
        elif how == "invented":
            mine = Reservation(mine.id, mine.at_us, mine.granted + 1)
            theirs = Reservation(theirs.id, theirs.at_us, theirs.granted + 1)
        elif how == "nothing granted":
            mine = theirs = Reservation(None, mine.at_us, 0)
        both: Any = ("r-1", "r-1") if how == "not one" else (mine, theirs)
        self._both(
            f"mail.release({account!r}, {mine!r} (adapter: {theirs!r}), at={at}) [{how}]",
            lambda u: u.mail.release(account, both[0] if u is self._uows()[0] else both[1], at=at),
        )

    @rule(account=_mail_accounts, limit=_limits, shift=st.integers(-30 * 3_600 * _US, 3_600 * _US), tz=_zones)
    def look_at_the_window(self, account: Any, limit: Any, shift: int, tz: str | None) -> None:
        at = self._at(shift, tz)
        self._both(
            f"mail.window({account!r}, limit={limit!r}, at={at})",
            lambda u: _window_view(u.mail.window(account, limit=limit, at=at), self.now),
        )
        self._both(f"mail.entries({account!r}, at={at})", lambda u: u.mail.entries(account, at=at))

    @rule(
        read=st.sampled_from(
            [
                "accounts.get",
                "accounts.find_by_key",
                "invoices.get",
                "invoices.for_account",
                "payments.get",
                "payments.rejected",
                "history.for_account",
                "outbox.messages",
                "mail.entries",
            ]
        ),
        value=st.sampled_from((*BAD_IDS, 0, -1, "1", 2.0, True)),
    )
    def read_with_a_bad_argument(self, read: str, value: Any) -> None:
        """Reads with an argument that is no id (the invariant makes every good read after every step)."""
        at = self.now
        reads: dict[str, Callable[[UnitOfWork], Any]] = {
            "accounts.get": lambda u: u.accounts.get(value),
            "accounts.find_by_key": lambda u: u.accounts.find_by_key(value),
            "invoices.get": lambda u: u.invoices.get(value),
            "invoices.for_account": lambda u: u.invoices.for_account(value),
            "payments.get": lambda u: u.payments.get(value),
            "payments.rejected": lambda u: u.payments.rejected(value),
            "history.for_account": lambda u: u.history.for_account(value),
            "outbox.messages": lambda u: u.outbox.messages(value),
            "mail.entries": lambda u: u.mail.entries(value, at=at),
        }
        self._both(f"{read}({value!r})", reads[read])

    # -- what both sides show -----------------------------------------------------------------------------

    @invariant()
    def both_show_the_same(self) -> None:
        """Every read of every port gives the same answer on both sides."""
        if self._open is not None:
            self._compare_reads(*self._open)
            return
        model_uow = self._model.unit_of_work().__enter__()
        try:
            real_uow = self._real.unit_of_work().__enter__()
            try:
                self._compare_reads(model_uow, real_uow)
            finally:
                real_uow.rollback()
        finally:
            model_uow.rollback()

    def _compare_reads(self, model_uow: UnitOfWork, real_uow: UnitOfWork) -> None:
        for what, read in self._reads(model_uow):
            expected, refused = _attempt(_bind(read, model_uow))
            got, failed = _attempt(_bind(read, real_uow))
            self._same_error(what, refused, failed)
            if refused is None:
                self._same(what, expected, got)

    def _reads(self, model_uow: UnitOfWork) -> Iterator[tuple[str, Callable[[UnitOfWork], Any]]]:
        now = self.now
        yield "accounts.ids()", lambda u: u.accounts.ids()
        yield "accounts.ids(after='acme', limit=2)", lambda u: u.accounts.ids(after="acme", limit=2)
        numbers: list[int] = []
        for account in ACCOUNTS:
            yield from _account_reads(account, now)
            numbers.extend(invoice.number for invoice in model_uow.invoices.for_account(account))
        for key in KEYS:
            yield f"accounts.find_by_key({key!r})", _find_by_key(key)
        for payment in PAYMENT_IDS:
            yield f"payments.get({payment!r})", _payment(payment)
        for number in range(1, max(numbers, default=0) + 2):
            yield f"invoices.get({number})", _invoice(number)
        yield "payments.rejected()", lambda u: u.payments.rejected()
        yield "outbox.messages()", lambda u: u.outbox.messages()


def _bind(read: Callable[[UnitOfWork], Any], uow: UnitOfWork) -> Callable[[], Any]:
    return lambda: read(uow)


def _account_reads(a: str, now: datetime) -> Iterator[tuple[str, Callable[[UnitOfWork], Any]]]:
    yield f"accounts.get({a!r})", lambda u: u.accounts.get(a)
    yield f"invoices.for_account({a!r})", lambda u: u.invoices.for_account(a)
    yield f"payments.rejected({a!r})", lambda u: u.payments.rejected(a)
    yield f"history.for_account({a!r})", lambda u: u.history.for_account(a)
    yield f"outbox.messages({a!r})", lambda u: u.outbox.messages(a)
    yield f"mail.entries({a!r}, now)", lambda u: u.mail.entries(a, at=now)
    yield (
        f"mail.window({a!r}, limit=100, now)",
        lambda u: _window_view(u.mail.window(a, limit=100, at=now), now),
    )


def _find_by_key(key: str) -> Callable[[UnitOfWork], Any]:
    return lambda u: u.accounts.find_by_key(key)


def _payment(payment_id: str) -> Callable[[UnitOfWork], Any]:
    return lambda u: u.payments.get(payment_id)


def _invoice(number: int) -> Callable[[UnitOfWork], Any]:
    return lambda u: u.invoices.get(number)


class _UseCaseFailed(Exception):
    """The failure a use case raises inside its unit of work, in the machine's own rules."""


def _us(instant: datetime) -> int:
    return (instant - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def _tz(name: str) -> tzinfo:
    return UTC if name == "UTC" else zone(name)


def compare_with_model(
    open_storage: Callable[[], Storage],
    *,
    settings: settings | None = None,
    compare_messages: bool = True,
) -> None:
    """Run :class:`StorageStateMachine` on the storages ``open_storage`` returns (a fresh one per example).

    Raises AssertionError (with Hypothesis's shortest failing sequence of steps) when the adapter answers or
    shows anything differently from the in-memory model. ``settings`` defaults to
    :data:`COMPARISON_SETTINGS`; ``compare_messages=False`` compares errors by type and figures only.
    """
    messages = compare_messages

    class Bound(StorageStateMachine):
        compare_messages = messages

        def __init__(self) -> None:
            super().__init__(open_storage)

    run_state_machine_as_test(Bound, settings=settings or COMPARISON_SETTINGS)
