"""Domains: the system domain under a master domain, and an own domain proven through DNS.

Rules (DESIGN.md "Settings"):

* the system domain is the account's name (a DNS label) under a master domain the provider offers;
* an own domain needs a tariff with the ``custom_domain`` feature; it is validated with IDNA 2008 / UTS 46
  (the ``idna`` package), stored as an A-label and shown as a U-label, and may be neither a master domain
  nor under one;
* it becomes active only once DNS proves the customer controls it: a TXT record carrying a token the library
  generated, or a CNAME to the system domain, looked up through the
  :class:`~cabinet_core.ports.dns.DnsResolver` port;
* leaving a tariff with ``custom_domain`` deactivates it (:meth:`OwnDomain.deactivated_for` says whether it
  did, so the tariff-change result can tell the customer).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Final

import attrs
import idna

from ._time import require_aware
from .errors import CabinetError, FeatureNotAvailable, InvalidInput, InvalidType, UnknownCode
from .tariffs import Tariff

if TYPE_CHECKING:
    from .ports.dns import DnsResolver

__all__ = [
    "CUSTOM_DOMAIN",
    "VERIFICATION_LABEL",
    "DnsLookupFailed",
    "DomainNotVerified",
    "DomainStatus",
    "Hostname",
    "MasterDomains",
    "OwnDomain",
    "VerificationMethod",
    "account_label",
    "system_domain",
]

CUSTOM_DOMAIN: Final = "custom_domain"
# The TXT record lives on a name of its own, so it does not clutter (or collide with) the apex's SPF records.
VERIFICATION_LABEL: Final = "_cabinet-verification"
_TXT_PREFIX: Final = "cabinet-verification="
_TOKEN_BYTES: Final = 24  # 192 bits: a token nobody can guess or brute-force into another customer's DNS
_TOKEN = re.compile(r"[A-Za-z0-9_-]{22,128}")
_MAX_INPUT: Final = 1024  # far above 253 octets even for a long U-label; refuses hostile input cheaply
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_HINT: Final = "write a name such as 'example.ru' or 'пример.рф'"


class DomainNotVerified(InvalidInput):
    """DNS does not (yet) show the verification record; the domain stays as it was."""


class DnsLookupFailed(CabinetError, RuntimeError):
    """The host's DNS resolver could not answer; its error is chained as ``__cause__``."""


def _a_label(value: object, what: str = "domain") -> str:
    if not isinstance(value, str):
        raise InvalidType(f"{what} must be a string such as 'example.ru', got {value!r}")
    text = value.strip()
    if len(text) > _MAX_INPUT:
        raise InvalidInput(f"{what} {text[:40]!r}... is {len(text)} characters long; at most 253 are allowed")
    if not text:
        raise InvalidInput(f"{what} {value!r} is empty; {_HINT}")
    # One trailing dot is the root of the DNS tree ("example.ru." is "example.ru"); anything more is a typo.
    body = text[:-1] if text.endswith(".") else text
    if body.endswith(".") or not body:
        raise InvalidInput(f"{what} {text!r} has an empty part between dots; {_HINT}")
    for label in body.split("."):
        if label.isascii() and len(label) > 63:
            raise InvalidInput(
                f"{what} {text!r}: the part {label[:20]!r}... is {len(label)} characters long; "
                "each part between dots may have at most 63"
            )
    try:
        encoded = idna.encode(body, uts46=True, std3_rules=True, transitional=False).decode("ascii")
    except (idna.IDNAError, UnicodeError) as exc:
        reason = str(exc)
        # idna's length messages do not say the limit, or that it counts the A-label form.
        if reason == "Empty Label":
            reason = "an empty part between dots"
        elif reason == "Label too long":
            reason = "a part between dots is too long: at most 63 characters in DNS (A-label) form"
        elif reason == "Domain too long":
            reason = "the name is too long: at most 253 characters in DNS (A-label) form"
        raise InvalidInput(f"{what} {text!r} is not a valid host name ({reason}); {_HINT}") from None
    labels = encoded.split(".")
    if len(labels) < 2:
        raise InvalidInput(f"{what} {text!r} needs at least two parts, e.g. 'example.ru'")
    for label in labels:
        if len(label) > 63:
            raise InvalidInput(
                f"{what} {text!r}: the part {label!r} is {len(label)} characters long in DNS (A-label) "
                "form; at most 63 are allowed"
            )
    if len(encoded) > 253:
        raise InvalidInput(
            f"{what} {text!r} has {len(encoded)} characters in DNS (A-label) form; at most 253 are allowed"
        )
    if labels[-1].isdigit():
        raise InvalidInput(f"{what} {text!r} looks like an IP address; a domain name is needed. {_HINT}")
    return encoded


def _hostname_value(value: object) -> str:
    return _a_label(value)


@attrs.frozen
class Hostname:
    """A validated host name, stored as the A-label (``xn--e1afmkfd.xn--p1ai``), shown as the U-label.

    >>> h = Hostname("ПРИМЕР.РФ.")
    >>> h.ascii, h.unicode
    ('xn--e1afmkfd.xn--p1ai', 'пример.рф')
    """

    ascii: str = attrs.field(converter=_hostname_value)

    @property
    def unicode(self) -> str:
        """The name as the customer reads it (U-labels)."""
        return str(idna.decode(self.ascii))

    def is_within(self, other: Hostname) -> bool:
        """Whether this name is ``other`` or a name under it."""
        return self.ascii == other.ascii or self.ascii.endswith("." + other.ascii)

    def __str__(self) -> str:
        return self.unicode


def _as_hostname(value: object, what: str = "domain") -> Hostname:
    if isinstance(value, Hostname):
        return value
    return Hostname(_a_label(value, what))


def account_label(name: object) -> str:
    """The account's name checked as a DNS label (RFC 1123 letters, digits, hyphens), in lowercase.

    >>> account_label("Acme-2")
    'acme-2'
    """
    if not isinstance(name, str):
        raise InvalidType(f"account name must be a string such as 'acme', got {type(name).__name__} {name!r}")
    label = name.lower()
    if not label.isascii() or not _LABEL.fullmatch(label):
        raise InvalidInput(
            f"account name {name!r} cannot be part of a domain: use 1-63 Latin letters, digits and hyphens, "
            "not starting or ending with a hyphen (e.g. 'acme' or 'acme-2')"
        )
    if label[2:4] == "--":
        # RFC 5891: "xn--" and other "??--" prefixes are reserved for encoded international names.
        raise InvalidInput(f"account name {name!r} may not have '--' as its 3rd and 4th characters")
    return label


def _master_list(value: object) -> tuple[Hostname, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise InvalidType(f"master domains must be a list of domain names, got {value!r}")
    out: list[Hostname] = []
    for item in value:
        host = _as_hostname(item, "master domain")
        if host not in out:
            out.append(host)
    if not out:
        raise InvalidInput("the provider must offer at least one master domain")
    return tuple(out)


@attrs.frozen
class MasterDomains:
    """The master domains the provider offers (in the order shown to the customer)."""

    offered: tuple[Hostname, ...] = attrs.field(converter=_master_list)

    def names(self) -> tuple[str, ...]:
        """The offered names as the customer reads them."""
        return tuple(h.unicode for h in self.offered)

    def pick(self, name: object) -> Hostname:
        """The offered master domain ``name`` (any spelling); else :class:`UnknownCode` naming the offer."""
        offer = ", ".join(self.names())
        try:
            host = _as_hostname(name, "master domain")
        except InvalidInput:
            raise UnknownCode(f"master domain {name!r} is not offered; choose one of: {offer}") from None
        if host not in self.offered:
            raise UnknownCode(f"master domain {host.unicode!r} is not offered; choose one of: {offer}")
        return host

    def covering(self, host: Hostname) -> Hostname | None:
        """The master domain ``host`` is, or lies under; ``None`` if there is none."""
        for master in self.offered:
            if host.is_within(master):
                return master
        return None


def system_domain(account_name: str, master: str | Hostname, masters: MasterDomains) -> Hostname:
    """The account's system domain: its name under the chosen, offered master domain.

    >>> system_domain("acme", "cabinet.example", MasterDomains(["cabinet.example"])).unicode
    'acme.cabinet.example'
    """
    label = account_label(account_name)
    chosen = masters.pick(master)
    try:
        return Hostname(f"{label}.{chosen.ascii}")
    except InvalidInput:
        raise InvalidInput(
            f"account name {account_name!r} is too long to fit under {chosen.unicode!r} "
            "(a domain may have at most 253 characters); choose a shorter name"
        ) from None


class DomainStatus(StrEnum):
    """``pending``: awaiting DNS proof; ``active``: served; ``inactive``: switched off by a tariff change."""

    PENDING = "pending"
    ACTIVE = "active"
    INACTIVE = "inactive"


class VerificationMethod(StrEnum):
    TXT = "txt"
    CNAME = "cname"


def _allowing_names(allowing: Iterable[str | Tariff]) -> str:
    names = [a.title if isinstance(a, Tariff) else str(a) for a in allowing]
    return ", ".join(names)


def _require_feature(tariff: Tariff, allowing: Iterable[str | Tariff]) -> None:
    if not isinstance(tariff, Tariff):
        raise InvalidType(f"tariff must be a Tariff, got {type(tariff).__name__} {tariff!r}")
    if CUSTOM_DOMAIN in tariff.features:
        return
    names = _allowing_names(allowing)
    where = f"available on: {names}" if names else "not offered on any tariff at the moment"
    raise FeatureNotAvailable(f"an own domain is not included in the tariff {tariff.title!r}; it is {where}")


def _check_token(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    if not isinstance(value, str) or not _TOKEN.fullmatch(value):
        raise InvalidInput(f"verification token {value!r} must be 22-128 URL-safe characters")


def _status(value: object) -> DomainStatus:
    if isinstance(value, DomainStatus):
        return value
    if isinstance(value, str) and value in DomainStatus.__members__.values():
        return DomainStatus(value)
    raise InvalidInput(f"domain status {value!r} is not one of: {', '.join(s.value for s in DomainStatus)}")


def _method(value: object) -> VerificationMethod | None:
    if value is None or isinstance(value, VerificationMethod):
        return value
    if isinstance(value, str) and value in VerificationMethod.__members__.values():
        return VerificationMethod(value)
    raise InvalidInput(
        f"verification method {value!r} is not one of: {', '.join(m.value for m in VerificationMethod)}"
    )


def _optional_aware(value: object) -> datetime | None:
    return None if value is None else require_aware(value, "verified_at")


def _dns_name(value: object) -> str | None:
    # Compare CNAME targets in A-label form; a target that is not a host name can never match.
    if not isinstance(value, str):
        return None
    try:
        return _a_label(value)
    except InvalidInput:
        return None


@attrs.frozen
class OwnDomain:
    """The customer's own domain and where it stands: pending DNS proof, active, or deactivated."""

    hostname: Hostname = attrs.field(converter=_as_hostname)
    token: str = attrs.field(validator=_check_token)
    status: DomainStatus = attrs.field(default=DomainStatus.PENDING, converter=_status)
    verified_at: datetime | None = attrs.field(default=None, converter=_optional_aware)
    method: VerificationMethod | None = attrs.field(default=None, converter=_method)

    def __attrs_post_init__(self) -> None:
        if self.status is DomainStatus.ACTIVE and (self.verified_at is None or self.method is None):
            raise InvalidInput("an active own domain must record when and how it was verified")

    @classmethod
    def request(
        cls,
        name: str,
        *,
        tariff: Tariff,
        masters: MasterDomains,
        allowing: Iterable[str | Tariff],
    ) -> OwnDomain:
        """Start connecting ``name``: checks the tariff and the name, and issues a fresh token.

        ``allowing`` are the tariffs (titles or :class:`Tariff` objects) that include ``custom_domain``,
        named in the refusal so the customer knows where to go.
        """
        _require_feature(tariff, allowing)
        host = _as_hostname(name)
        master = masters.covering(host)
        if master is not None:
            where = "is" if master == host else "is under"
            raise InvalidInput(
                f"{host.unicode!r} {where} the provider's master domain {master.unicode!r}; "
                "an own domain must be one you registered yourself"
            )
        return cls(hostname=host, token=secrets.token_urlsafe(_TOKEN_BYTES))

    @property
    def is_active(self) -> bool:
        return self.status is DomainStatus.ACTIVE

    @property
    def verification_name(self) -> str:
        """Where the TXT record goes (A-label form)."""
        return f"{VERIFICATION_LABEL}.{self.hostname.ascii}"

    @property
    def verification_value(self) -> str:
        """What the TXT record must say."""
        return f"{_TXT_PREFIX}{self.token}"

    def instructions(self, system: Hostname) -> str:
        """What the customer adds to their DNS, in one sentence (either record proves ownership)."""
        return (
            f"add a TXT record {self.verification_name} with the value {self.verification_value!r}, "
            f"or a CNAME record {self.hostname.ascii} pointing to {system.ascii}"
        )

    def verify(
        self,
        resolver: DnsResolver,
        *,
        system: Hostname,
        tariff: Tariff,
        allowing: Iterable[str | Tariff],
        at: datetime,
    ) -> OwnDomain:
        """Activate the domain if DNS proves ownership (TXT token or CNAME to ``system``).

        Refuses with :class:`DomainNotVerified` (saying which record to add) when neither is there, and with
        :class:`DnsLookupFailed` when the resolver fails; either way nothing changes. An active domain is
        returned as it is.
        """
        at = require_aware(at)
        if not isinstance(system, Hostname):
            raise InvalidType(f"system must be the account's system Hostname, got {system!r}")
        _require_feature(tariff, allowing)
        if self.is_active:
            return self
        method = self._proof(resolver, system)
        if method is None:
            raise DomainNotVerified(
                f"DNS does not show that {self.hostname.unicode!r} is yours yet: "
                f"{self.instructions(system)}. DNS changes can take a few hours to appear."
            )
        return attrs.evolve(self, status=DomainStatus.ACTIVE, verified_at=at, method=method)

    def _proof(self, resolver: DnsResolver, system: Hostname) -> VerificationMethod | None:
        try:
            records = resolver.txt_records(self.verification_name)
            if not isinstance(records, list) or not all(isinstance(r, str) for r in records):
                raise InvalidType(f"DnsResolver.txt_records must return a list of str, got {records!r}")
            if any(r.strip() == self.verification_value for r in records):
                return VerificationMethod.TXT
            target = resolver.cname(self.hostname.ascii)
            if target is not None and not isinstance(target, str):
                raise InvalidType(f"DnsResolver.cname must return a str or None, got {target!r}")
        except CabinetError:
            raise
        except Exception as exc:
            raise DnsLookupFailed(
                f"could not look up DNS records of {self.hostname.unicode!r}: {exc}; try again later"
            ) from exc
        if target is not None and _dns_name(target) == system.ascii:
            return VerificationMethod.CNAME
        return None

    def deactivated_for(self, tariff: Tariff) -> tuple[OwnDomain, bool]:
        """This domain under ``tariff``: switched off if the tariff lacks ``custom_domain``.

        Returns the new state and whether it changed (a pending or active domain was deactivated), which the
        tariff-change result reports. A domain is not switched back on by itself: it is verified again.
        """
        if not isinstance(tariff, Tariff):
            raise InvalidType(f"tariff must be a Tariff, got {type(tariff).__name__} {tariff!r}")
        if CUSTOM_DOMAIN in tariff.features or self.status is DomainStatus.INACTIVE:
            return self, False
        return attrs.evolve(self, status=DomainStatus.INACTIVE), True
