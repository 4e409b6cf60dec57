"""Referrals: codes, links, attribution (once, never to itself, never a cycle) and exactly-once rewards."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from cabinet_core import (
    CabinetError,
    CurrencyMismatch,
    InvalidInput,
    InvalidType,
    Money,
    NaiveDatetime,
    UnknownCode,
)
from cabinet_core.referrals import (
    CODE_LENGTH,
    Attribution,
    AttributionRefused,
    BonusLedger,
    ReferralCode,
    RewardPolicy,
    attribute,
    referral_link,
)

from strategies.settings import account_ids, payment_amounts, payments, referral_forests, shares

AT = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
TEN = RewardPolicy("0.10")


def rub(amount: str) -> Money:
    return Money(amount, "RUB")


# -- codes and links --------------------------------------------------------------------------------------


def test_codes_are_fixed_length_url_safe_and_distinct() -> None:
    """Generated codes are 16 letters and digits (never a leading "-" a command line would take for an
    option), never repeat, and older codes with "-" or "_" stay valid."""
    codes = {ReferralCode.generate().value for _ in range(5000)}
    assert len(codes) == 5000
    assert all(re.fullmatch(r"[A-Za-z0-9]{16}", c) for c in codes)
    assert CODE_LENGTH == 16
    assert ReferralCode("-abc_defghijklmn").value == "-abc_defghijklmn"


@pytest.mark.parametrize(
    "bad", ["", "short", "x" * 17, "abcdefghijklmno!", "abcdefghijklmn o", "абвгдеёжзийклмно"]
)
def test_malformed_code_refused(bad: str) -> None:
    """A code that is not exactly 16 URL-safe characters is refused, naming it."""
    with pytest.raises(InvalidInput) as info:
        ReferralCode(bad)
    assert repr(bad) in str(info.value)


@pytest.mark.parametrize(
    ("base", "link"),
    [
        ("https://cabinet.example/signup", "https://cabinet.example/signup?ref=CODE"),
        ("https://cabinet.example", "https://cabinet.example/?ref=CODE"),
        ("https://cabinet.example/signup?lang=ru", "https://cabinet.example/signup?lang=ru&ref=CODE"),
        ("HTTPS://Cabinet.Example:8443/r/", "https://cabinet.example:8443/r/?ref=CODE"),
        ("http://localhost:8000/join", "http://localhost:8000/join?ref=CODE"),
    ],
)
def test_link_built_from_base_url(base: str, link: str) -> None:
    """The link is the provider's base URL with ref=<code> added to its query."""
    code = ReferralCode("AbCdEfGh-_345678")
    assert referral_link(base, code) == link.replace("CODE", code.value) == code.link(base)


@pytest.mark.parametrize(
    "base",
    [
        "javascript:alert(1)",
        "ftp://cabinet.example/",
        "cabinet.example/signup",
        "https://",
        "https://user:secret@cabinet.example/",
        "https://cabinet.example/#signup",
        "https://cabinet.example/sign up",
        "https://cabinet.example/\nSet-Cookie:x",
        "https://cabinet.example:99999/",
        "https://[::1/",
        "https://cabinet.example/" + "a" * 2000,
    ],
)
def test_bad_base_url_refused(base: str) -> None:
    """A base URL that is not a plain http(s) address of a host is refused, naming it."""
    with pytest.raises(InvalidInput) as info:
        referral_link(base, ReferralCode.generate())
    assert base[:40] in str(info.value) or repr(base[:80]) in str(info.value)


@given(st.sampled_from(["https://cabinet.example/s", "https://c.example/?a=1&b=%20"]))
def test_link_carries_the_code(base: str) -> None:
    """The code comes back out of the link's query unchanged, and the base's own query is kept."""
    code = ReferralCode.generate()
    query = parse_qs(urlsplit(referral_link(base, code)).query)
    assert query["ref"] == [code.value]
    assert {k: v for k, v in query.items() if k != "ref"} == parse_qs(urlsplit(base).query)


# -- attribution ------------------------------------------------------------------------------------------


CODES = {f"acc{i}": ReferralCode(f"code{i:012d}") for i in range(12)}
OWNERS = {code.value: account for account, code in CODES.items()}


def attr(account: str, code: ReferralCode | str, forest: dict[str, str]) -> Attribution:
    """attribute() over an in-memory referrer map and the code table above."""
    return attribute(account, code, owner_of=lambda c: OWNERS.get(c.value), referrer_of=forest.get, at=AT)


def test_attribution_at_opening() -> None:
    """A new account opened with a code is attributed to the code's owner, at the given instant."""
    got = attr("new", CODES["acc1"], {})
    assert got == Attribution(referrer="acc1", referred="new", at=AT)


def test_unknown_code() -> None:
    """A code nobody owns is refused as UnknownCode, naming it."""
    with pytest.raises(UnknownCode, match="zzzzzzzzzzzzzzzz"):
        attr("new", "zzzzzzzzzzzzzzzz", {})


def test_never_to_itself() -> None:
    """An account cannot be attributed to itself."""
    with pytest.raises(AttributionRefused, match="own referral code"):
        attr("acc1", CODES["acc1"], {})
    with pytest.raises(AttributionRefused):
        Attribution(referrer="a", referred="a", at=AT)


def test_only_once() -> None:
    """An account that already has a referrer cannot be attributed again."""
    with pytest.raises(AttributionRefused, match="once"):
        attr("acc2", CODES["acc3"], {"acc2": "acc1"})


def test_never_a_cycle() -> None:
    """acc1 referred acc2 who referred acc3: acc1 cannot then be attributed to acc3."""
    forest = {"acc2": "acc1", "acc3": "acc2"}
    with pytest.raises(AttributionRefused, match="cannot be referred by 'acc3'"):
        attr("acc1", CODES["acc3"], forest)


def test_attribution_arguments_checked() -> None:
    """A naive instant or a malformed account id is refused before any lookup."""
    asked: list[str] = []

    def referrer_of(account: str) -> str | None:
        asked.append(account)
        return None

    with pytest.raises(NaiveDatetime):
        attribute(
            "new", CODES["acc1"], owner_of=lambda c: "acc1", referrer_of=referrer_of, at=datetime(2025, 1, 1)
        )
    with pytest.raises(InvalidInput):
        attribute("has space", CODES["acc1"], owner_of=lambda c: "acc1", referrer_of=referrer_of, at=AT)
    with pytest.raises(InvalidType):
        attribute(7, CODES["acc1"], owner_of=lambda c: "acc1", referrer_of=referrer_of, at=AT)  # type: ignore[arg-type]
    assert asked == []


def _ancestors(forest: dict[str, str], account: str) -> set[str]:
    found: set[str] = set()
    while account in forest:
        account = forest[account]
        found.add(account)
    return found


@given(referral_forests(), account_ids, account_ids)
@example({"acc2": "acc1"}, "acc1", "acc2")
def test_attribution_property(forest: dict[str, str], account: str, owner: str) -> None:
    """Attribution succeeds exactly when the account has no referrer, is not the owner and is not among the
    owner's referrers; the forest stays acyclic when it is added."""
    allowed = account not in forest and account != owner and account not in _ancestors(forest, owner)
    if not allowed:
        with pytest.raises(AttributionRefused):
            attr(account, CODES[owner], forest)
        return
    got = attr(account, CODES[owner], forest)
    assert (got.referrer, got.referred) == (owner, account)
    grown = {**forest, account: owner}
    for node in grown:
        assert node not in _ancestors(grown, node)


def test_looping_stored_data_does_not_hang() -> None:
    """If the host's stored chain already loops, the walk stops instead of spinning forever."""
    forest = {"acc1": "acc2", "acc2": "acc1"}
    got = attr("new", CODES["acc1"], forest)
    assert got.referrer == "acc1"


# -- rewards and the bonus ledger -------------------------------------------------------------------------


def test_reward_rounds_down_to_kopecks() -> None:
    """The share is rounded down by default (never pays out more than the share), half up when configured."""
    assert TEN.reward(rub("1990.99")) == rub("199.09")
    assert RewardPolicy("0.10", rounding=ROUND_HALF_UP).reward(rub("1990.99")) == rub("199.10")
    assert RewardPolicy(Decimal("0.05")).reward(rub("0.19")) == rub("0.00")
    assert RewardPolicy(0).reward(rub("100")) == rub("0.00")


@pytest.mark.parametrize(
    ("share", "error"),
    [
        (0.1, InvalidType),
        ("-0.1", InvalidInput),
        ("1.5", InvalidInput),
        ("ten", InvalidInput),
        ("NaN", InvalidInput),
        (None, InvalidType),
    ],
)
def test_bad_share_refused(share: object, error: type[CabinetError]) -> None:
    """A share must be an exact number between 0 and 1; floats are refused."""
    with pytest.raises(error):
        RewardPolicy(share)  # type: ignore[arg-type]


def test_bad_rounding_and_payments_refused() -> None:
    """Only the two documented rounding modes; only positive Money earns a reward."""
    with pytest.raises(InvalidInput):
        RewardPolicy("0.1", rounding="ROUND_UP")
    with pytest.raises(InvalidInput):
        TEN.reward(rub("0"))
    with pytest.raises(InvalidInput):
        TEN.reward(rub("-5"))
    with pytest.raises(InvalidType):
        TEN.reward(Decimal(5))  # type: ignore[arg-type]


def test_credit_exactly_once_per_payment() -> None:
    """Crediting a payment id again is a no-op; a new id is credited."""
    ledger = BonusLedger.empty("RUB").credit("p1", rub("1000"), TEN)
    assert ledger.balance == rub("100.00") and "p1" in ledger
    assert ledger.credit("p1", rub("1000"), TEN) is ledger
    assert ledger.credit("p2", rub("500"), TEN).balance == rub("150.00")


def test_ledger_refusals_change_nothing() -> None:
    """Wrong currency, bad ids and bad policies are refused; the ledger is a value and stays as it was."""
    ledger = BonusLedger.empty("RUB").credit("p1", rub("1000"), TEN)
    with pytest.raises(CurrencyMismatch):
        ledger.credit("p2", Money("10", "EUR"), TEN)
    with pytest.raises(InvalidInput):
        ledger.credit("", rub("10"), TEN)
    with pytest.raises(InvalidInput):
        ledger.credit("id with space", rub("10"), TEN)
    with pytest.raises(InvalidType):
        ledger.credit("p2", rub("10"), Decimal("0.1"))  # type: ignore[arg-type]
    with pytest.raises(CurrencyMismatch):
        ledger.spend(Money("1", "EUR"))
    with pytest.raises(InvalidInput):
        ledger.spend(rub("-1"))
    assert ledger.balance == rub("100.00") and ledger.credited == {"p1"}


def test_ledger_invariants_at_construction() -> None:
    """A ledger cannot be built with more spent than earned, mixed currencies or fractions of a kopeck."""
    with pytest.raises(InvalidInput):
        BonusLedger(earned=rub("1"), spent=rub("2"))
    with pytest.raises(CurrencyMismatch):
        BonusLedger(earned=rub("1"), spent=Money("0", "EUR"))
    with pytest.raises(InvalidInput):
        BonusLedger(earned=rub("1.001"), spent=rub("0"))
    with pytest.raises(InvalidInput):
        BonusLedger(earned=rub("-1"), spent=rub("-1"))


def test_spend_up_to() -> None:
    """Spending takes what is asked when there is enough, else the whole balance, never a fraction of a
    kopeck."""
    ledger = BonusLedger.empty("RUB").credit("p1", rub("1000"), TEN)
    spent, after = ledger.spend(rub("30.509"))
    assert (spent, after.balance) == (rub("30.50"), rub("69.50"))
    spent, empty = after.spend(rub("1000"))
    assert (spent, empty.balance) == (rub("69.50"), rub("0.00"))
    assert empty.spend(rub("5")) == (rub("0.00"), empty)
    # A replayed payment after spending is still a no-op: spent credit does not come back.
    assert empty.credit("p1", rub("1000"), TEN) is empty


@given(payments(), shares, st.data())
def test_replayed_rewards_never_double_credited(
    paid: list[tuple[str, Money]], share: Decimal, data: st.DataObject
) -> None:
    """However payments are replayed and reordered, each id is credited once: earned is the sum of the
    distinct payments' rewards."""
    policy = RewardPolicy(share)
    indices = list(range(len(paid)))
    replays = data.draw(st.lists(st.sampled_from(indices), max_size=40) if indices else st.just([]))
    sequence = data.draw(st.permutations(indices + replays))
    ledger = BonusLedger.empty("RUB")
    for i in sequence:
        pid, amount = paid[i]
        ledger = ledger.credit(pid, amount, policy)
    expected = sum((policy.reward(a) for _, a in paid), rub("0.00"))
    assert ledger.earned == expected == ledger.balance
    assert ledger.credited == {pid for pid, _ in paid}


@given(payment_amounts, shares)
def test_reward_is_the_share_rounded_down(amount: Money, share: Decimal) -> None:
    """The reward is at most the exact share and less than one kopeck below it."""
    reward = RewardPolicy(share).reward(amount)
    exact = amount.amount * share
    assert reward.amount <= exact < reward.amount + Decimal("0.01")
    assert reward.to_minor() >= 0


@given(payments(), st.lists(payment_amounts, max_size=8))
def test_spending_conserves_credit(paid: list[tuple[str, Money]], asks: list[Money]) -> None:
    """Spent plus balance always equals earned; nothing is spent beyond the balance or the ask."""
    ledger = BonusLedger.empty("RUB")
    for pid, amount in paid:
        ledger = ledger.credit(pid, amount, TEN)
    total_spent = rub("0.00")
    for ask in asks:
        before = ledger.balance
        spent, ledger = ledger.spend(ask)
        assert spent == min(ask.round(rounding=ROUND_DOWN), before)
        total_spent += spent
        assert ledger.balance >= rub("0") and ledger.balance + total_spent == ledger.earned


@given(st.integers(0, 10**9), st.integers(0, 10**9))
def test_restore_undoes_spend(earned_units: int, wanted_units: int) -> None:
    """Restoring what a spend took gives back the ledger as it was; restoring more than spent is refused."""
    ledger = BonusLedger(Money.from_minor(earned_units, "RUB"), Money.zero("RUB"))
    spent, after = ledger.spend(Money.from_minor(wanted_units, "RUB"))
    assert after.restore(spent) == ledger
    with pytest.raises(InvalidInput):
        after.restore(spent + Money("0.01", "RUB"))
