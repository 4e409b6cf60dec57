"""Forwarding of incoming mail («Пересылка входящих»): the list of addresses a customer pastes.

Rules (DESIGN.md "Settings"): the text is split on commas (semicolons and line breaks too, with spaces and
empty entries tolerated); each address is validated and normalised by email-validator without any network
lookup (internationalised addresses allowed); duplicates are dropped (the domain compared case-insensitively
and as an A-label, the local part as written, as RFC 5321 says); the account's own built-in mailbox is
refused (it would loop); at most ``max_count`` addresses. A refusal is one :class:`ForwardingRejected`
naming every bad entry with its position, and nothing is applied.
"""

from __future__ import annotations

import re
from typing import Final, NamedTuple

from email_validator import EmailNotValidError, ValidatedEmail, validate_email

from .errors import InvalidInput, InvalidType

__all__ = [
    "DEFAULT_MAX_FORWARDING",
    "ForwardingProblem",
    "ForwardingRejected",
    "parse_forwarding",
    "validate_address",
]

DEFAULT_MAX_FORWARDING: Final = 10
# A pasted list longer than this is not a forwarding list; refusing it early keeps a hostile request cheap.
_MAX_TEXT_PER_ADDRESS: Final = 320
_SEPARATORS = re.compile(r"[,;\r\n\u0085\u2028\u2029]")
_ANGLE = re.compile(r"<([^<>]*)>")


class ForwardingProblem(NamedTuple):
    """One bad entry: its 1-based ``position`` among the non-empty entries, the ``entry`` as written, why."""

    position: int
    entry: str
    reason: str


class ForwardingRejected(InvalidInput):
    """A forwarding list was refused; nothing was applied.

    ``problems`` lists every bad entry as ``(position, entry, reason)``. When the list has more distinct
    addresses than allowed, ``count`` and ``max_count`` give the figures (else ``count`` is ``None``).
    """

    def __init__(
        self,
        message: str,
        *,
        problems: list[ForwardingProblem],
        count: int | None = None,
        max_count: int = DEFAULT_MAX_FORWARDING,
    ) -> None:
        super().__init__(message)
        self.problems = problems
        self.count = count
        self.max_count = max_count


def validate_address(address: str, *, deliverable: bool = True) -> ValidatedEmail:
    """email-validator with this library's rules: no network, no quoted local parts, IP literals or names.

    Raises ``EmailNotValidError``; callers turn it into their own :class:`InvalidInput`.
    """
    # Every option is passed explicitly: email-validator reads module-level defaults a host may have changed,
    # and our rules must not move with them. No network: check_deliverability=False.
    return validate_email(
        address,
        allow_smtputf8=True,
        allow_empty_local=False,
        allow_quoted_local=False,
        allow_domain_literal=False,
        allow_display_name=False,
        strict=True,
        check_deliverability=False,
        globally_deliverable=deliverable,
        test_environment=False,
    )


def _reason(entry: str, exc: EmailNotValidError) -> str:
    # Two mistakes customers make when pasting are worth a reason they can act on directly.
    angle = _ANGLE.search(entry)
    if angle is not None:
        return f"write only the address, without a name or angle brackets: {angle.group(1).strip()!r}"
    if '"' not in entry and any(c.isspace() for c in entry):
        return "an address cannot contain spaces; separate addresses with commas"
    return str(exc)


def _own_key(value: ValidatedEmail) -> tuple[str, str]:
    # The own mailbox is compared case-insensitively as a whole (DESIGN.md), the domain as an A-label.
    return (value.local_part.casefold(), value.ascii_domain.lower())


def parse_forwarding(text: str, own_mailbox: str, max_count: int = DEFAULT_MAX_FORWARDING) -> tuple[str, ...]:
    """Parse the forwarding addresses a customer typed; ``""`` clears forwarding.

    Returns the normalised, distinct addresses in the order first written.

    >>> parse_forwarding("Boss@Example.COM; ops@пример.рф,\\n", own_mailbox="acme@mail.example")
    ('Boss@example.com', 'ops@пример.рф')
    >>> parse_forwarding("", own_mailbox="acme@mail.example")
    ()
    """
    if not isinstance(text, str):
        raise InvalidType(
            f"forwarding must be a string of comma-separated addresses ('' clears it), got {text!r}"
        )
    if not isinstance(own_mailbox, str):
        raise InvalidType(f"own_mailbox must be an e-mail address string, got {own_mailbox!r}")
    if isinstance(max_count, bool) or not isinstance(max_count, int):
        raise InvalidType(f"max_count must be a whole number, got {max_count!r}")
    if max_count < 0:
        raise InvalidInput(f"max_count must not be negative, got {max_count}")
    try:
        # The own mailbox lives on the provider's own domain, which may well be a reserved name
        # (mail.example, cabinet.local): only its syntax is checked.
        own = _own_key(validate_address(own_mailbox, deliverable=False))
    except EmailNotValidError as exc:
        raise InvalidInput(f"own_mailbox {own_mailbox!r} is not an e-mail address: {exc}") from None

    # Generous enough that a list merely over the count gets the count error, not this one.
    limit = (max(max_count, DEFAULT_MAX_FORWARDING) + 1) * _MAX_TEXT_PER_ADDRESS
    if len(text) > limit:
        raise ForwardingRejected(
            f"the forwarding list is {len(text)} characters long; at most {max_count} addresses "
            f"({limit} characters) are accepted",
            problems=[],
            max_count=max_count,
        )

    entries = [part.strip() for part in _SEPARATORS.split(text)]
    problems: list[ForwardingProblem] = []
    seen: set[tuple[str, str]] = set()
    result: list[str] = []
    for position, entry in enumerate((e for e in entries if e), start=1):
        try:
            valid = validate_address(entry, deliverable=True)
        except EmailNotValidError as exc:
            problems.append(ForwardingProblem(position, entry, _reason(entry, exc)))
            continue
        if _own_key(valid) == own:
            problems.append(
                ForwardingProblem(
                    position,
                    entry,
                    "this is the account's own mailbox; forwarding to it would send mail in a loop",
                )
            )
            continue
        # RFC 5321: the local part is case-sensitive, the domain is not (and A-label == U-label).
        key = (valid.local_part, valid.ascii_domain.lower())
        if key not in seen:
            seen.add(key)
            result.append(valid.normalized)

    too_many = len(result) > max_count
    if problems or too_many:
        lines = [f"#{p.position} {p.entry!r}: {p.reason}" for p in problems]
        if too_many:
            lines.append(
                f"{len(result)} distinct addresses, at most {max_count} allowed; "
                f"remove {len(result) - max_count}"
            )
        raise ForwardingRejected(
            "forwarding not changed: " + "; ".join(lines),
            problems=problems,
            count=len(result) if too_many else None,
            max_count=max_count,
        )
    return tuple(result)
