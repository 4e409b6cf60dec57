"""Strategies for the settings: forwarding lists, host names, account names, referral graphs and payments.

Generated addresses carry their expected normalised form and duplicate key, computed here independently of
email-validator, so the properties compare the library against a model rather than against itself.
"""

from __future__ import annotations

import string
from typing import NamedTuple

from hypothesis import strategies as st

from cabinet_core import Money

OWN_MAILBOX = "acme@mail.example"

# -- forwarding -------------------------------------------------------------------------------------------


class Entry(NamedTuple):
    """One entry of a forwarding list as the customer writes it, and what the library should make of it.

    ``kind`` is ``"valid"``, ``"invalid"`` or ``"own"``; for a valid entry ``normalized`` is the expected
    result and ``key`` the duplicate key (local part as written, domain as an A-label).
    """

    text: str
    kind: str
    normalized: str = ""
    key: tuple[str, str] = ("", "")


# (written, normalised U-label form, A-label) of domains; the written forms mix case, IDN and punycode.
_DOMAINS = [
    ("x.ru", "x.ru", "x.ru"),
    ("Example.COM", "example.com", "example.com"),
    ("mail.example.org", "mail.example.org", "mail.example.org"),
    ("пример.рф", "пример.рф", "xn--e1afmkfd.xn--p1ai"),
    ("ПРИМЕР.РФ", "пример.рф", "xn--e1afmkfd.xn--p1ai"),
    ("xn--e1afmkfd.xn--p1ai", "пример.рф", "xn--e1afmkfd.xn--p1ai"),
    ("münchen.de", "münchen.de", "xn--mnchen-3ya.de"),
    ("sub-1.a-b.co.uk", "sub-1.a-b.co.uk", "sub-1.a-b.co.uk"),
]

_ATEXT = string.ascii_letters + string.digits + "!#$%&'*+/=?^_`{|}~-"
_atoms = st.text(alphabet=_ATEXT, min_size=1, max_size=8)
_unicode_atoms = st.text(alphabet="абвгдеёжзиклмнопрстуфхцчшщэюяäöüß", min_size=1, max_size=6)
local_parts = st.lists(st.one_of(_atoms, _unicode_atoms), min_size=1, max_size=3).map(".".join)


_ALNUM = string.ascii_lowercase + string.digits


def ldh_labels(max_size: int = 63) -> st.SearchStrategy[str]:
    """RFC 1123 labels: letters, digits and inner hyphens, not '--' in 3rd-4th place (reserved for IDN)."""
    inner = st.text(alphabet=_ALNUM + "-", max_size=max_size - 2)
    edge = st.sampled_from(_ALNUM)
    short = edge
    long = st.tuples(edge, inner, edge).map("".join)
    return st.one_of(short, long).filter(lambda s: s[2:4] != "--")


@st.composite
def _ascii_domains(draw: st.DrawFn) -> tuple[str, str, str]:
    labels = draw(st.lists(ldh_labels(10), min_size=1, max_size=3))
    tld = draw(st.sampled_from(["ru", "com", "org", "net", "io"]))
    name = ".".join([*labels, tld])
    written = "".join(c.upper() if draw(st.booleans()) else c for c in name)
    return written, name, name


domains = st.one_of(st.sampled_from(_DOMAINS), _ascii_domains())


@st.composite
def valid_entries(draw: st.DrawFn) -> Entry:
    local = draw(local_parts)
    written, unicode_domain, a_label = draw(domains)
    return Entry(f"{local}@{written}", "valid", f"{local}@{unicode_domain}", (local, a_label))


# Each is refused by the rules whatever it is combined with; none contains a separator.
INVALID_ADDRESSES = [
    "plainaddress",
    "@x.ru",
    "a@",
    "a@@x.ru",
    "a@b@x.ru",
    '"john doe"@x.ru',
    '"a"@x.ru',
    "a@[127.0.0.1]",
    "a@[IPv6:2001:db8::1]",
    "a@x.ru.",
    ".a@x.ru",
    "a.@x.ru",
    "a..b@x.ru",
    "a@x..ru",
    "a@-x.ru",
    "a@x-.ru",
    "a@x_y.ru",
    "a@😀.ru",
    "a@" + "a" * 64 + ".ru",
    "a" * 65 + "@x.ru",
    "a@x",
    "a@localhost",
    "a@x.test",
    "a@x.local",
    "a@x.invalid",
    "a@1.2.3.4",
    "a@xn--zz.ru",
    "Ivan <a@x.ru>",
    "<a@x.ru>",
    "a@x.ru b@y.ru",
    "a b@x.ru",
    "a\x00@x.ru",
    "a\t@x.ru",
]

_garbage = st.text(alphabet=string.ascii_letters + string.digits + "._-", min_size=1, max_size=12)

invalid_entries = st.one_of(st.sampled_from(INVALID_ADDRESSES), _garbage).map(lambda t: Entry(t, "invalid"))

own_entries = st.sampled_from(["acme@mail.example", "ACME@mail.example", "Acme@MAIL.EXAMPLE"]).map(
    lambda t: Entry(t, "own")
)

separators = st.sampled_from([",", ", ", " ,", ";", "; ", "\n", "\r\n", ",\n", " , ", ",,", ";\n"])


@st.composite
def forwarding_texts(draw: st.DrawFn, invalid: bool = True) -> tuple[str, list[Entry]]:
    """A pasted list: entries joined by mixed separators, perhaps with padding and a trailing separator."""
    kinds = [valid_entries()]
    # Half of the lists are all valid, so that long lists and the maximum are reached too.
    if invalid and draw(st.booleans()):
        kinds += [invalid_entries, own_entries]
    entries = draw(st.lists(st.one_of(*kinds), max_size=14))
    parts: list[str] = [draw(st.sampled_from(["", " ", "\n"]))]
    for i, entry in enumerate(entries):
        if i:
            parts.append(draw(separators))
        parts.append(entry.text)
    parts.append(draw(st.sampled_from(["", ",", ", ", ";", "\n", " "])))
    return "".join(parts), entries


# -- domains ----------------------------------------------------------------------------------------------

dns_labels = ldh_labels()
_cyrillic_labels = st.text(alphabet="абвгдежзиклмнопрстуфхцчшщэюя", min_size=1, max_size=20)
tlds = st.sampled_from(["ru", "com", "рф", "org", "xn--p1ai", "рус"])


@st.composite
def hostnames(draw: st.DrawFn) -> str:
    labels = draw(st.lists(st.one_of(dns_labels, _cyrillic_labels), min_size=1, max_size=3))
    return ".".join([*labels, draw(tlds)])


# -- referrals --------------------------------------------------------------------------------------------

account_ids = st.sampled_from([f"acc{i}" for i in range(12)])


@st.composite
def referral_forests(draw: st.DrawFn) -> dict[str, str]:
    """A referred -> referrer map with no cycles (each account's referrer has a smaller number)."""
    forest: dict[str, str] = {}
    for i in range(1, 12):
        parent = draw(st.one_of(st.none(), st.integers(0, i - 1)))
        if parent is not None:
            forest[f"acc{i}"] = f"acc{parent}"
    return forest


payment_amounts = st.integers(min_value=1, max_value=10**9).map(lambda u: Money.from_minor(u, "RUB"))


@st.composite
def payments(draw: st.DrawFn) -> list[tuple[str, Money]]:
    """Distinct payments: (payment id, amount)."""
    ids = draw(
        st.lists(
            st.text(alphabet=string.ascii_letters + string.digits, min_size=1, max_size=10),
            min_size=0,
            max_size=12,
            unique=True,
        )
    )
    return [(pid, draw(payment_amounts)) for pid in ids]


shares = st.decimals(min_value=0, max_value=1, places=4)
