"""Forwarding lists: splitting, validation, normalisation, duplicates, the own mailbox and the maximum."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from cabinet_core import CabinetError, InvalidInput, InvalidType, parse_forwarding
from cabinet_core.forwarding import ForwardingProblem, ForwardingRejected

from strategies.settings import (
    INVALID_ADDRESSES,
    OWN_MAILBOX,
    Entry,
    forwarding_texts,
    valid_entries,
)


def parse(text: str, **kw: object) -> tuple[str, ...]:
    return parse_forwarding(text, own_mailbox=OWN_MAILBOX, **kw)  # type: ignore[arg-type]


def rejected(text: str, **kw: object) -> ForwardingRejected:
    with pytest.raises(ForwardingRejected) as info:
        parse(text, **kw)
    return info.value


# -- the tricky corpus ------------------------------------------------------------------------------------

ACCEPTED = [
    ("Ivan.Petrov@Example.COM", "Ivan.Petrov@example.com"),
    ("user+tag@x.ru", "user+tag@x.ru"),
    ("a_b@x.ru", "a_b@x.ru"),
    ("o'brien@x.ru", "o'brien@x.ru"),
    ("a@xn--e1afmkfd.xn--p1ai", "a@пример.рф"),
    ("a@ПРИМЕР.РФ", "a@пример.рф"),
    ("иван@пример.рф", "иван@пример.рф"),
    ("a@ｘ.ru", "a@x.ru"),
    ("a@faß.de", "a@faß.de"),
    ("😀@x.ru", "😀@x.ru"),  # RFC 6531 allows any Unicode in the local part; the domain is what IDNA limits
    ("a" * 64 + "@x.ru", "a" * 64 + "@x.ru"),
    ("a@" + "b" * 63 + ".ru", "a@" + "b" * 63 + ".ru"),
    ("  padded@x.ru\t", "padded@x.ru"),
]


@pytest.mark.parametrize(("written", "normalized"), ACCEPTED)
def test_corpus_accepted_and_normalised(written: str, normalized: str) -> None:
    """Each tricky but valid address is accepted and returned in its normalised form."""
    assert parse(written) == (normalized,)


@pytest.mark.parametrize("written", INVALID_ADDRESSES)
def test_corpus_refused_with_position_and_reason(written: str) -> None:
    """Each malformed address is refused, named with its position, and the valid ones are not applied."""
    error = rejected(f"ok@x.ru, {written}, also@y.ru")
    assert error.problems == [ForwardingProblem(2, written.strip(), error.problems[0].reason)]
    assert error.problems[0].reason
    assert repr(written.strip()) in str(error)


@pytest.mark.parametrize(
    ("written", "words"),
    [
        ('"john doe"@x.ru', "Quoting"),
        ("a@[127.0.0.1]", "bracketed IP"),
        ("a@x.ru.", "period"),
        ("a@x_y.ru", "'_'"),
        ("a@😀.ru", "U+1F600"),
        ("a" * 65 + "@x.ru", "too long"),
        ("Ivan Petrov <ivan@x.ru>", "without a name or angle brackets: 'ivan@x.ru'"),
        ("a@x.ru b@y.ru", "separate addresses with commas"),
        ("a@x.test", "special-use"),
    ],
)
def test_reasons_say_what_to_fix(written: str, words: str) -> None:
    """The reason given for a bad entry says what is wrong in words the customer can act on."""
    assert words in rejected(written).problems[0].reason


def test_empty_text_clears() -> None:
    """An empty (or blank, or separators-only) text clears forwarding."""
    assert parse("") == ()
    assert parse("  \n ") == ()
    assert parse(" , ;\n,") == ()


def test_pasted_separators_are_tolerated() -> None:
    """Commas, semicolons, line breaks, spaces and a trailing comma all separate entries."""
    assert parse("a@x.ru;b@x.ru\r\nc@x.ru ,d@x.ru,\n\ne@x.ru,") == tuple(f"{c}@x.ru" for c in "abcde")


def test_duplicates_removed_domain_case_insensitive_local_part_not() -> None:
    """Duplicates go (domain compared case-insensitively, IDN = punycode); local parts keep their case."""
    assert parse("a@X.RU, a@x.ru, A@x.ru") == ("a@x.ru", "A@x.ru")
    assert parse("a@пример.рф, a@XN--E1AFMKFD.XN--P1AI") == ("a@пример.рф",)


def test_own_mailbox_refused_case_insensitively() -> None:
    """The account's own built-in mailbox is refused in any case, since forwarding to it would loop."""
    error = rejected("boss@x.ru, ACME@Mail.Example")
    assert [(p.position, p.entry) for p in error.problems] == [(2, "ACME@Mail.Example")]
    assert "loop" in error.problems[0].reason


def test_every_bad_entry_named_in_one_error() -> None:
    """One error names every bad entry with its 1-based position; the good ones are not half-applied."""
    error = rejected("good@x.ru, bad, ,also-bad@, acme@mail.example, fine@y.ru")
    assert [(p.position, p.entry) for p in error.problems] == [
        (2, "bad"),
        (3, "also-bad@"),
        (4, "acme@mail.example"),
    ]
    assert isinstance(error, InvalidInput) and isinstance(error, ValueError)
    message = str(error)
    assert "#2 'bad'" in message and "#3 'also-bad@'" in message and "#4 'acme@mail.example'" in message


def test_maximum_count() -> None:
    """More distinct addresses than the maximum are refused with the figures; duplicates do not count."""
    ten = ", ".join(f"u{i}@x.ru" for i in range(10))
    assert len(parse(ten + ", u0@X.RU")) == 10
    error = rejected(ten + ", u10@x.ru")
    assert (error.count, error.max_count, error.problems) == (11, 10, [])
    assert "11 distinct addresses, at most 10" in str(error)
    assert parse("a@x.ru, b@x.ru", max_count=2) == ("a@x.ru", "b@x.ru")
    assert rejected("a@x.ru, b@x.ru", max_count=1).count == 2
    assert parse("", max_count=0) == ()


def test_bad_entries_and_too_many_in_one_error() -> None:
    """Bad entries and an excess count are reported together."""
    error = rejected("a@x.ru, b@x.ru, nope", max_count=1)
    assert [p.entry for p in error.problems] == ["nope"]
    assert error.count == 2


def test_hostile_input_refused_cheaply() -> None:
    """A huge pasted text is refused up front, naming its size, instead of validating every piece."""
    error = rejected("a@x.ru," * 100_000)
    assert "700000 characters" in str(error)


@pytest.mark.parametrize(
    ("text", "own", "max_count", "error"),
    [
        (None, OWN_MAILBOX, 10, InvalidType),
        (["a@x.ru"], OWN_MAILBOX, 10, InvalidType),
        (b"a@x.ru", OWN_MAILBOX, 10, InvalidType),
        ("a@x.ru", None, 10, InvalidType),
        ("a@x.ru", "not-an-address", 10, InvalidInput),
        ("a@x.ru", OWN_MAILBOX, 2.0, InvalidType),
        ("a@x.ru", OWN_MAILBOX, True, InvalidType),
        ("a@x.ru", OWN_MAILBOX, -1, InvalidInput),
    ],
)
def test_bad_arguments_refused(text: object, own: object, max_count: object, error: type[Exception]) -> None:
    """Wrong types and impossible settings are refused with a CabinetError naming the value."""
    with pytest.raises(error) as info:
        parse_forwarding(text, own_mailbox=own, max_count=max_count)  # type: ignore[arg-type]
    assert isinstance(info.value, CabinetError)


def test_design_example() -> None:
    """The DESIGN.md call works as written."""
    assert parse_forwarding("a@x.ru, b@y.ru", own_mailbox="acme@mail.example") == ("a@x.ru", "b@y.ru")


# -- properties -------------------------------------------------------------------------------------------


def _expected(entries: list[Entry]) -> tuple[list[tuple[int, str]], list[str]]:
    bad = [(i, e.text) for i, e in enumerate(entries, start=1) if e.kind != "valid"]
    seen: set[tuple[str, str]] = set()
    good: list[str] = []
    for e in entries:
        if e.kind == "valid" and e.key not in seen:
            seen.add(e.key)
            good.append(e.normalized)
    return bad, good


@given(forwarding_texts(), st.integers(min_value=0, max_value=12))
@example(
    (
        "a@x.ru,, A@X.RU ,\n",
        [
            Entry("a@x.ru", "valid", "a@x.ru", ("a", "x.ru")),
            Entry("A@X.RU", "valid", "A@x.ru", ("A", "x.ru")),
        ],
    ),
    10,
)
def test_result_is_exactly_the_valid_distinct_non_own_in_order(
    pasted: tuple[str, list[Entry]], max_count: int
) -> None:
    """Either the valid, distinct, non-own addresses in first-written order, or an error naming exactly the
    bad entries (and the count when over the maximum)."""
    text, entries = pasted
    bad, good = _expected(entries)
    if not bad and len(good) <= max_count:
        assert parse(text, max_count=max_count) == tuple(good)
        return
    error = rejected(text, max_count=max_count)
    assert [(p.position, p.entry) for p in error.problems] == bad
    assert error.count == (len(good) if len(good) > max_count else None)


@given(st.lists(valid_entries(), min_size=1, max_size=10))
def test_parsing_is_idempotent(entries: list[Entry]) -> None:
    """Parsing the joined result again gives the same result (the normal form is a fixed point)."""
    first = parse(", ".join(e.text for e in entries))
    assert parse(", ".join(first)) == first


@given(forwarding_texts(invalid=False), st.sampled_from([",", ";", "\n"]))
def test_separator_choice_does_not_matter(pasted: tuple[str, list[Entry]], sep: str) -> None:
    """Whichever separator the customer uses, the same addresses come out."""
    text, entries = pasted
    if len({e.key for e in entries}) > 10:
        return
    assert parse(sep.join(e.text for e in entries)) == parse(text)


def test_huge_paste_refused_before_parsing() -> None:
    """A hostile megabyte of text is refused by its length, naming the limit, without validating entries."""
    with pytest.raises(ForwardingRejected, match="characters long") as info:
        parse_forwarding("a@x.ru," * 150_000, own_mailbox="acme@mail.example")
    assert info.value.problems == []
    assert info.value.count is None
