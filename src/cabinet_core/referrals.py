"""The referral program («Система рекомендаций»): codes, links, attribution and bonus credit.

Rules (DESIGN.md "Settings"):

* every account has a referral code nobody can guess (``secrets``, fixed length, URL-safe) and a link built
  from the provider's base URL;
* an account opened with a code is attributed once, at opening, never to itself and never in a cycle;
* each payment of a referred account earns the referrer a configured share of it as bonus credit, exactly
  once per payment id (a replayed payment is a no-op); the share is rounded **down** to minor units, so the
  program never pays out more than its share;
* bonus credit can be spent on extension: :meth:`BonusLedger.spend` takes up to an amount.
"""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Callable, Iterable
from datetime import datetime
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Final
from urllib.parse import urlencode, urlsplit, urlunsplit

import attrs

from ._time import require_aware, utc_field
from .errors import CurrencyMismatch, InvalidInput, InvalidType, UnknownCode
from .money import Money

__all__ = [
    "CODE_LENGTH",
    "Attribution",
    "AttributionRefused",
    "BonusLedger",
    "ReferralCode",
    "RewardPolicy",
    "attribute",
    "referral_link",
]

# New codes use letters and digits only: 62**16 is about 95 bits, and a code never starts with "-" (which a
# command line would read as an option) or holds "_" (easy to lose in a link). Older codes with "-" or "_"
# stay valid.
_CODE_ALPHABET: Final = string.ascii_letters + string.digits
CODE_LENGTH: Final = 16
_CODE = re.compile(r"[A-Za-z0-9_-]{16}")
_ACCOUNT = re.compile(r"[^\x00-\x20\x7f]{1,128}")
_PAYMENT_ID = re.compile(r"[^\x00-\x20\x7f]{1,200}")
_MAX_URL: Final = 2000
_MAX_CHAIN: Final = 100_000  # a referrer chain longer than this means the host's data loops; stop walking
_ROUNDINGS: Final = (ROUND_DOWN, ROUND_HALF_UP)


class AttributionRefused(InvalidInput):
    """An account cannot be attributed to this referrer (itself, a cycle, or already attributed)."""


def _check_code(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    if not isinstance(value, str):
        raise InvalidType(f"referral code must be a string, got {value!r}")
    if not _CODE.fullmatch(value):
        raise InvalidInput(
            f"referral code {value[:40]!r} is not valid: a code has exactly {CODE_LENGTH} letters, digits, "
            "'-' or '_'; check the link you followed"
        )


@attrs.frozen
class ReferralCode:
    """An account's referral code: 16 URL-safe characters from ``secrets`` (96 random bits)."""

    value: str = attrs.field(validator=_check_code)

    @classmethod
    def generate(cls) -> ReferralCode:
        return cls("".join(secrets.choice(_CODE_ALPHABET) for _ in range(CODE_LENGTH)))

    def link(self, base_url: str) -> str:
        return referral_link(base_url, self)

    def __str__(self) -> str:
        return self.value


def _check_base_url(base_url: object) -> tuple[str, str, str, str]:
    if not isinstance(base_url, str):
        raise InvalidType(
            f"base URL must be a string such as 'https://cabinet.example/signup', got {base_url!r}"
        )
    if len(base_url) > _MAX_URL or any(c.isspace() or not c.isprintable() for c in base_url):
        raise InvalidInput(f"base URL {base_url[:80]!r} must be one line of at most {_MAX_URL} characters")
    hint = "give e.g. 'https://cabinet.example/signup'"
    try:
        parts = urlsplit(base_url)
        port = parts.port  # parsing the port is what validates it
    except ValueError as exc:
        raise InvalidInput(f"base URL {base_url!r} is not a valid URL ({exc}); {hint}") from None
    if parts.scheme not in ("https", "http"):
        raise InvalidInput(f"base URL {base_url!r} must start with https:// (or http://); {hint}")
    if not parts.hostname:
        raise InvalidInput(f"base URL {base_url!r} has no host name; {hint}")
    if parts.username is not None or parts.password is not None:
        # Credentials in a link would be handed to every customer who shares it.
        raise InvalidInput(f"base URL {base_url!r} must not contain a user name or password")
    if parts.fragment:
        raise InvalidInput(f"base URL {base_url!r} must not have a '#' fragment; the code goes in the query")
    netloc = parts.hostname if port is None else f"{parts.hostname}:{port}"
    return parts.scheme, netloc, parts.path or "/", parts.query


def referral_link(base_url: str, code: ReferralCode | str) -> str:
    """The link a customer shares: the provider's base URL with ``ref=<code>`` added to its query.

    >>> referral_link("https://cabinet.example/signup?lang=ru", "AbCdEfGhIjKlMnOp")
    'https://cabinet.example/signup?lang=ru&ref=AbCdEfGhIjKlMnOp'
    """
    code = code if isinstance(code, ReferralCode) else ReferralCode(code)
    scheme, netloc, path, query = _check_base_url(base_url)
    ref = urlencode({"ref": code.value})
    return urlunsplit((scheme, netloc, path, f"{query}&{ref}" if query else ref, ""))


def _check_account(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise InvalidType(f"{what} must be an account id string, got {value!r}")
    if not _ACCOUNT.fullmatch(value):
        raise InvalidInput(f"{what} {value[:40]!r} must be 1-128 printable characters without spaces")
    return value


def _referrer(value: object) -> str:
    return _check_account(value, "referrer")


def _referred(value: object) -> str:
    return _check_account(value, "referred account")


def _at(value: object) -> datetime:
    return utc_field("at")(value)


@attrs.frozen
class Attribution:
    """``referred`` was opened with ``referrer``'s code at ``at`` (recorded once, never changed)."""

    referrer: str = attrs.field(converter=_referrer)
    referred: str = attrs.field(converter=_referred)
    at: datetime = attrs.field(converter=_at)

    def __attrs_post_init__(self) -> None:
        if self.referrer == self.referred:
            raise AttributionRefused(f"account {self.referred!r} cannot be referred by itself")


def attribute(
    account: str,
    code: ReferralCode | str,
    *,
    owner_of: Callable[[ReferralCode], str | None],
    referrer_of: Callable[[str], str | None],
    at: datetime,
) -> Attribution:
    """Attribute the account being opened to the owner of ``code``.

    ``owner_of`` finds the account a code belongs to (``None``: no such code); ``referrer_of`` gives an
    account's referrer (``None``: not referred). Refused when the code is unknown, when ``account`` already
    has a referrer (attribution happens once), when the code is its own, or when the referrer's chain of
    referrers leads back to ``account`` (a cycle).
    """
    at = require_aware(at)
    account = _check_account(account, "account")
    code = code if isinstance(code, ReferralCode) else ReferralCode(code)
    owner = owner_of(code)
    if owner is None:
        raise UnknownCode(f"referral code {code.value!r} is not known; check the link you followed")
    owner = _check_account(owner, "referrer")
    if referrer_of(account) is not None:
        raise AttributionRefused(f"account {account!r} is already attributed to a referrer; it happens once")
    if owner == account:
        raise AttributionRefused(f"account {account!r} cannot use its own referral code")
    seen = {owner}
    current = owner
    for _ in range(_MAX_CHAIN):
        parent = referrer_of(current)
        if parent is None:
            return Attribution(referrer=owner, referred=account, at=at)
        if parent == account:
            raise AttributionRefused(
                f"account {account!r} cannot be referred by {owner!r}: {owner!r} was itself referred "
                f"(directly or through others) by {account!r}"
            )
        if parent in seen:
            break  # the stored chain already loops without this account; it cannot close a new cycle
        seen.add(parent)
        current = parent
    return Attribution(referrer=owner, referred=account, at=at)


def _share(value: object) -> Decimal:
    if isinstance(value, bool | float):
        raise InvalidType(f"share must be a Decimal or a string such as '0.10', not {value!r}")
    if not isinstance(value, Decimal | int | str):
        raise InvalidType(f"share must be a Decimal or a string such as '0.10', got {value!r}")
    try:
        share = Decimal(value)
    except InvalidOperation:
        raise InvalidInput(f"share {value!r} is not a number; write e.g. '0.10' for 10 %") from None
    if not share.is_finite() or not 0 <= share <= 1:
        raise InvalidInput(f"share {value!r} must be between 0 and 1 (e.g. '0.10' for 10 %)")
    return share


def _rounding(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    if value not in _ROUNDINGS:
        raise InvalidInput(f"rounding {value!r} is not supported; use decimal.ROUND_DOWN or ROUND_HALF_UP")


@attrs.frozen
class RewardPolicy:
    """The referrer's share of each payment (``Decimal("0.10")`` is 10 %).

    Rounded to minor units with ``rounding``: ``ROUND_DOWN`` by default, so the sum of rewards never
    exceeds the share of the sum of payments.

    >>> RewardPolicy("0.10").reward(Money("1990.99", "RUB"))
    Money('199.09', 'RUB')
    """

    share: Decimal = attrs.field(converter=_share)
    rounding: str = attrs.field(default=ROUND_DOWN, validator=_rounding)

    def reward(self, payment: Money) -> Money:
        if not isinstance(payment, Money):
            raise InvalidType(f"payment must be Money, got {payment!r}")
        if payment.amount <= 0:
            raise InvalidInput(f"a payment earns a reward only when positive, got {payment}")
        return (payment * self.share).round(rounding=self.rounding)


def _payment_ids(value: object) -> frozenset[str]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise InvalidType(f"credited must be a set of payment ids, got {value!r}")
    ids = frozenset(value)
    for pid in ids:
        _check_payment_id(pid)
    return ids


def _check_payment_id(value: object) -> str:
    if not isinstance(value, str):
        raise InvalidType(f"payment id must be a string, got {value!r}")
    if not _PAYMENT_ID.fullmatch(value):
        raise InvalidInput(f"payment id {value[:40]!r} must be 1-200 printable characters without spaces")
    return value


def _money(instance: object, attribute: attrs.Attribute[Money], value: object) -> None:
    if not isinstance(value, Money):
        raise InvalidType(f"{attribute.name} must be Money, got {value!r}")
    if value.amount < 0:
        raise InvalidInput(f"{attribute.name} must not be negative, got {value}")
    value.to_minor()  # refuses fractions of a kopeck


@attrs.frozen
class BonusLedger:
    """A referrer's bonus credit: what was earned, what was spent, and which payments were credited.

    Crediting is idempotent by payment id; the balance is ``earned - spent`` and never negative.

    >>> ledger = BonusLedger.empty("RUB").credit("pay-1", Money("1000", "RUB"), RewardPolicy("0.1"))
    >>> ledger.credit("pay-1", Money("1000", "RUB"), RewardPolicy("0.1")) == ledger
    True
    >>> spent, ledger = ledger.spend(Money("250", "RUB"))
    >>> spent, ledger.balance
    (Money('100.00', 'RUB'), Money('0.00', 'RUB'))
    """

    earned: Money = attrs.field(validator=_money)
    spent: Money = attrs.field(validator=_money)
    credited: frozenset[str] = attrs.field(default=frozenset(), converter=_payment_ids)

    def __attrs_post_init__(self) -> None:
        if self.earned.currency != self.spent.currency:
            raise CurrencyMismatch(f"earned {self.earned} and spent {self.spent} must be in one currency")
        if self.spent > self.earned:
            raise InvalidInput(f"spent {self.spent} cannot exceed earned {self.earned}")

    @classmethod
    def empty(cls, currency: str) -> BonusLedger:
        zero = Money.zero(currency).round(rounding=ROUND_DOWN)
        return cls(earned=zero, spent=zero)

    @property
    def currency(self) -> str:
        return self.earned.currency

    @property
    def balance(self) -> Money:
        return self.earned - self.spent

    def __contains__(self, payment_id: object) -> bool:
        return payment_id in self.credited

    def credit(self, payment_id: str, payment: Money, policy: RewardPolicy) -> BonusLedger:
        """Credit the reward for one payment of a referred account; a payment id seen before is a no-op."""
        payment_id = _check_payment_id(payment_id)
        if not isinstance(policy, RewardPolicy):
            raise InvalidType(f"policy must be a RewardPolicy, got {policy!r}")
        reward = policy.reward(payment)
        if payment.currency != self.currency:
            raise CurrencyMismatch(
                f"payment {payment} is not in the bonus currency {self.currency}; convert it first"
            )
        if payment_id in self.credited:
            return self
        return attrs.evolve(self, earned=self.earned + reward, credited=self.credited | {payment_id})

    def spend(self, up_to: Money) -> tuple[Money, BonusLedger]:
        """Spend as much credit as there is, up to ``up_to``; returns what was spent and the new ledger."""
        if not isinstance(up_to, Money):
            raise InvalidType(f"up_to must be Money, got {up_to!r}")
        if up_to.currency != self.currency:
            raise CurrencyMismatch(f"cannot spend {up_to} from bonus credit in {self.currency}")
        if up_to.amount < 0:
            raise InvalidInput(f"cannot spend a negative amount, got {up_to}")
        # Never spend a fraction of a kopeck: credit is whole minor units, so is what it pays.
        wanted = up_to.round(rounding=ROUND_DOWN)
        spent = min(wanted, self.balance)
        return spent, attrs.evolve(self, spent=self.spent + spent)

    def restore(self, amount: Money) -> BonusLedger:
        """Give back credit spent on an invoice that was cancelled unpaid: at most what was spent."""
        if not isinstance(amount, Money):
            raise InvalidType(f"amount must be Money, got {amount!r}")
        if amount.currency != self.currency:
            raise CurrencyMismatch(f"cannot restore {amount} to bonus credit in {self.currency}")
        if amount.amount < 0 or amount > self.spent:
            raise InvalidInput(f"can restore between 0 and the {self.spent} spent, got {amount}")
        return attrs.evolve(self, spent=self.spent - amount)
