"""Domains: host names (IDNA 2008 / UTS 46), the system domain, own domains, DNS proof and deactivation."""

from __future__ import annotations

from datetime import UTC, datetime

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cabinet_core import (
    CabinetError,
    FeatureNotAvailable,
    InvalidInput,
    InvalidType,
    Limits,
    Money,
    NaiveDatetime,
    Tariff,
    UnknownCode,
)
from cabinet_core.domains import (
    VERIFICATION_LABEL,
    DnsLookupFailed,
    DomainNotVerified,
    DomainStatus,
    Hostname,
    MasterDomains,
    OwnDomain,
    VerificationMethod,
    account_label,
    system_domain,
)
from cabinet_core.ports.dns import DnsResolver

from strategies.settings import dns_labels, hostnames

AT = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
MASTERS = MasterDomains(["cabinet.example", "кабинет.рф"])
LIMITS = Limits(users=10, disk_mb=1000, mail_per_24h=1000)
PREMIUM = Tariff("premium", "Премиум", Money("4990", "RUB"), LIMITS, features=frozenset({"custom_domain"}))
BUSINESS = Tariff("business", "Бизнес", Money("1990", "RUB"), LIMITS)
ALLOWING = [PREMIUM]
SYSTEM = system_domain("acme", "cabinet.example", MASTERS)


@attrs.define
class FakeResolver:
    """An in-memory DNS zone; ``fail`` makes every lookup raise like a timeout would."""

    txt: dict[str, list[str]] = attrs.Factory(dict)
    cnames: dict[str, str] = attrs.Factory(dict)
    fail: bool = False
    asked: list[str] = attrs.Factory(list)

    def txt_records(self, name: str) -> list[str]:
        self.asked.append(name)
        if self.fail:
            raise TimeoutError("DNS timeout")
        return self.txt.get(name, [])

    def cname(self, name: str) -> str | None:
        self.asked.append(name)
        if self.fail:
            raise TimeoutError("DNS timeout")
        return self.cnames.get(name)


def pending(name: str = "shop.ru") -> OwnDomain:
    return OwnDomain.request(name, tariff=PREMIUM, masters=MASTERS, allowing=ALLOWING)


# -- host names: the tricky corpus ------------------------------------------------------------------------

GOOD_HOSTS = [
    ("пример.рф", "xn--e1afmkfd.xn--p1ai", "пример.рф"),
    ("ПРИМЕР.РФ", "xn--e1afmkfd.xn--p1ai", "пример.рф"),
    ("xn--e1afmkfd.xn--p1ai", "xn--e1afmkfd.xn--p1ai", "пример.рф"),
    ("XN--E1AFMKFD.XN--P1AI", "xn--e1afmkfd.xn--p1ai", "пример.рф"),
    ("Example.RU.", "example.ru", "example.ru"),
    ("  example.ru  ", "example.ru", "example.ru"),
    ("faß.de", "xn--fa-hia.de", "faß.de"),  # IDNA 2008, non-transitional: ß is kept, not mapped to ss
    ("ｅｘａｍｐｌｅ.ru", "example.ru", "example.ru"),  # UTS 46 maps full-width letters
    ("münchen.de", "xn--mnchen-3ya.de", "münchen.de"),
    ("shop.москва", "shop.xn--80adxhks", "shop.москва"),
    ("1c.ru", "1c.ru", "1c.ru"),
    ("a-b.c-d.ru", "a-b.c-d.ru", "a-b.c-d.ru"),
    ("a" * 63 + ".ru", "a" * 63 + ".ru", "a" * 63 + ".ru"),
    (".".join(["a" * 63] * 3 + ["b" * 61]), ".".join(["a" * 63] * 3 + ["b" * 61]), None),  # 253 octets
]


@pytest.mark.parametrize(("written", "a_label", "u_label"), GOOD_HOSTS)
def test_host_corpus_accepted(written: str, a_label: str, u_label: str | None) -> None:
    """Each valid spelling is stored as its A-label and shown as its U-label."""
    host = Hostname(written)
    assert host.ascii == a_label
    assert host.unicode == (u_label or a_label)
    assert str(host) == host.unicode


BAD_HOSTS = [
    ("", "empty"),
    ("   ", "empty"),
    ("example.ru..", "empty part between dots"),
    (".example.ru", "empty part between dots"),
    ("a..ru", "empty part between dots"),
    ("a_b.ru", "U+005F"),
    ("_dmarc.example.ru", "U+005F"),
    ("-a.ru", "hyphen"),
    ("a-.ru", "hyphen"),
    ("ab--c.ru", "hyphens in 3rd and 4th"),
    ("xn--zz.ru", "Invalid A-label"),
    ("😀.ru", "U+1F600"),
    ("exa mple.ru", "U+0020"),
    ("a" * 64 + ".ru", "64 characters long"),
    ("я" * 60 + ".ru", "at most 63"),  # short as text, too long as an A-label
    (".".join(["a" * 63] * 3 + ["b" * 62]), "at most 253"),
    ("1.2.3.4", "IP address"),
    ("[::1]", "not a valid host name"),
    ("localhost", "two parts"),
    ("рф", "two parts"),
    ("example.ru/path", "U+002F"),
    ("http://example.ru", "not a valid host name"),
    ("a" * 2000 + ".ru", "at most 253"),
]


@pytest.mark.parametrize(("written", "words"), BAD_HOSTS)
def test_host_corpus_refused(written: str, words: str) -> None:
    """Each malformed host name is refused with a message naming it and the rule it breaks."""
    with pytest.raises(InvalidInput) as info:
        Hostname(written)
    assert words in str(info.value)
    assert written[:40] in str(info.value)


@pytest.mark.parametrize("value", [None, 42, b"example.ru", ["example.ru"]])
def test_host_wrong_type(value: object) -> None:
    """A host name that is not a string is refused as InvalidType."""
    with pytest.raises(InvalidType):
        Hostname(value)  # type: ignore[arg-type]


@given(hostnames())
def test_host_round_trip(name: str) -> None:
    """A-label and U-label forms name the same host; the A-label is ASCII, lowercase and within limits."""
    host = Hostname(name)
    assert Hostname(host.ascii) == host == Hostname(host.unicode) == Hostname(name.upper())
    assert host.ascii.isascii() and host.ascii == host.ascii.lower()
    assert len(host.ascii) <= 253 and all(1 <= len(label) <= 63 for label in host.ascii.split("."))


@given(st.lists(dns_labels, min_size=1, max_size=3), st.sampled_from("_!/@*%\\"), st.data())
def test_host_with_a_forbidden_character_refused(labels: list[str], bad: str, data: st.DataObject) -> None:
    """Inserting a character hostnames cannot hold anywhere makes the name invalid."""
    name = ".".join([*labels, "ru"])
    at = data.draw(st.integers(0, len(name)))
    with pytest.raises(InvalidInput):
        Hostname(name[:at] + bad + name[at:])


# -- account names and the system domain ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["acme", "Acme-2", "1c", "a", "a" * 63, "x-y-z"])
def test_account_label_accepted(name: str) -> None:
    """Account names that are DNS labels are accepted, in lowercase."""
    assert account_label(name) == name.lower()


@pytest.mark.parametrize(
    "name",
    ["", "-acme", "acme-", "ac_me", "ac.me", "ac me", "a" * 64, "компания", "xn--80a", "ab--c", "acme\n"],
)
def test_account_label_refused(name: str) -> None:
    """Names that cannot be one DNS label are refused, naming the name and what is allowed."""
    with pytest.raises(InvalidInput) as info:
        account_label(name)
    assert repr(name) in str(info.value)


@given(dns_labels)
def test_account_label_property(label: str) -> None:
    """Every RFC 1123 label is an account name; the system domain is it under the master domain."""
    assert account_label(label.upper()) == label
    host = system_domain(label, "КАБИНЕТ.РФ", MASTERS)
    assert host.ascii == f"{label}.xn--80acmlhv0b.xn--p1ai"
    assert host.is_within(MASTERS.pick("кабинет.рф"))


def test_system_domain() -> None:
    """The system domain is the account name under the chosen master domain, shown as a U-label."""
    assert SYSTEM.ascii == "acme.cabinet.example"
    assert system_domain("Acme", "xn--80acmlhv0b.xn--p1ai", MASTERS).unicode == "acme.кабинет.рф"


def test_master_domain_must_be_offered() -> None:
    """A master domain not on the provider's list is refused, naming the offered ones."""
    for bad in ("other.example", "not a domain", "cabinet.example.evil.ru"):
        with pytest.raises(UnknownCode) as info:
            system_domain("acme", bad, MASTERS)
        assert "cabinet.example, кабинет.рф" in str(info.value)
        assert isinstance(info.value, LookupError)


def test_master_domains_validated() -> None:
    """The provider's list is validated and de-duplicated; an empty list is refused."""
    assert MasterDomains(["A.example", "a.example."]).names() == ("a.example",)
    with pytest.raises(InvalidInput):
        MasterDomains([])
    with pytest.raises(InvalidInput):
        MasterDomains(["bad_domain.ru"])
    with pytest.raises(InvalidType):
        MasterDomains("cabinet.example")  # type: ignore[arg-type]


def test_system_domain_too_long() -> None:
    """An account name that does not fit under a long master domain is refused."""
    masters = MasterDomains([".".join(["m" * 63] * 3) + ".ru"])
    with pytest.raises(InvalidInput) as info:
        system_domain("a" * 63, masters.offered[0], masters)
    assert "shorter name" in str(info.value)


# -- own domain -------------------------------------------------------------------------------------------


def test_own_domain_needs_the_feature() -> None:
    """Without custom_domain the request is refused, naming the tariffs that allow it."""
    with pytest.raises(FeatureNotAvailable) as info:
        OwnDomain.request("shop.ru", tariff=BUSINESS, masters=MASTERS, allowing=[PREMIUM, "Корпоративный"])
    assert "'Бизнес'" in str(info.value) and "Премиум, Корпоративный" in str(info.value)
    with pytest.raises(FeatureNotAvailable) as info:
        OwnDomain.request("shop.ru", tariff=BUSINESS, masters=MASTERS, allowing=[])
    assert "not offered on any tariff" in str(info.value)


@pytest.mark.parametrize(
    "name", ["cabinet.example", "acme.cabinet.example", "X.Y.CABINET.EXAMPLE.", "shop.кабинет.рф"]
)
def test_own_domain_not_a_master_domain(name: str) -> None:
    """An own domain may be neither a master domain nor a name under one."""
    with pytest.raises(InvalidInput) as info:
        OwnDomain.request(name, tariff=PREMIUM, masters=MASTERS, allowing=ALLOWING)
    assert "master domain" in str(info.value)


def test_lookalike_of_a_master_domain_is_not_under_it() -> None:
    """A name merely ending in the same letters is not under the master domain."""
    assert pending("mycabinet.example").hostname.ascii == "mycabinet.example"


def test_request_issues_fresh_unguessable_tokens() -> None:
    """Each request has its own URL-safe token of at least 32 characters; the domain starts pending."""
    first, second = pending("пример.рф"), pending("пример.рф")
    assert first.status is DomainStatus.PENDING and not first.is_active
    assert first.hostname.ascii == "xn--e1afmkfd.xn--p1ai"
    assert first.token != second.token and len(first.token) >= 32
    assert first.verification_name == f"{VERIFICATION_LABEL}.xn--e1afmkfd.xn--p1ai"
    assert first.verification_value.endswith(first.token)


def test_verify_by_txt() -> None:
    """The TXT record with the token activates the domain, recording when and how."""
    own = pending()
    dns = FakeResolver(txt={own.verification_name: ["v=spf1 -all", f"  {own.verification_value} "]})
    assert isinstance(dns, DnsResolver)
    active = own.verify(dns, system=SYSTEM, tariff=PREMIUM, allowing=ALLOWING, at=AT)
    assert active.is_active and active.method is VerificationMethod.TXT and active.verified_at == AT
    assert active.hostname == own.hostname and active.token == own.token


@pytest.mark.parametrize("target", ["acme.cabinet.example", "ACME.Cabinet.Example.", "acme.cabinet.example."])
def test_verify_by_cname(target: str) -> None:
    """A CNAME to the system domain (any case, trailing dot or not) activates the domain."""
    own = pending("crm.shop.ru")
    dns = FakeResolver(cnames={"crm.shop.ru": target})
    active = own.verify(dns, system=SYSTEM, tariff=PREMIUM, allowing=ALLOWING, at=AT)
    assert active.is_active and active.method is VerificationMethod.CNAME


@pytest.mark.parametrize(
    "dns",
    [
        FakeResolver(),
        FakeResolver(
            txt={"_cabinet-verification.shop.ru": ["cabinet-verification=wrong-token-xxxxxxxxxxxxx"]}
        ),
        FakeResolver(txt={"shop.ru": ["cabinet-verification=TOKEN"]}),
        FakeResolver(cnames={"shop.ru": "other.cabinet.example"}),
        FakeResolver(cnames={"shop.ru": "acme.cabinet.example.evil.ru"}),
        FakeResolver(cnames={"shop.ru": "not a name"}),
    ],
)
def test_no_proof_no_activation(dns: FakeResolver) -> None:
    """Without the right TXT token or CNAME the domain stays pending and the error says what to add."""
    own = pending()
    with pytest.raises(DomainNotVerified) as info:
        own.verify(dns, system=SYSTEM, tariff=PREMIUM, allowing=ALLOWING, at=AT)
    assert own.verification_value in str(info.value) and "acme.cabinet.example" in str(info.value)
    assert own.status is DomainStatus.PENDING


def test_resolver_failure_changes_nothing() -> None:
    """A failing resolver is reported as DnsLookupFailed with its error chained."""
    with pytest.raises(DnsLookupFailed) as info:
        pending().verify(FakeResolver(fail=True), system=SYSTEM, tariff=PREMIUM, allowing=ALLOWING, at=AT)
    assert isinstance(info.value.__cause__, TimeoutError) and isinstance(info.value, CabinetError)


def test_resolver_returning_garbage_is_refused() -> None:
    """A resolver that breaks the port's contract is named in the error."""

    class Broken(FakeResolver):
        def txt_records(self, name: str) -> list[str]:
            return "not a list"  # type: ignore[return-value]

    with pytest.raises(InvalidType) as info:
        pending().verify(Broken(), system=SYSTEM, tariff=PREMIUM, allowing=ALLOWING, at=AT)
    assert "txt_records" in str(info.value)


def test_verify_refuses_bad_arguments() -> None:
    """A naive instant, a tariff without the feature or a system domain given as text are refused."""
    own = pending()
    dns = FakeResolver(txt={own.verification_name: [own.verification_value]})
    with pytest.raises(NaiveDatetime):
        own.verify(dns, system=SYSTEM, tariff=PREMIUM, allowing=ALLOWING, at=datetime(2025, 1, 1))
    with pytest.raises(FeatureNotAvailable):
        own.verify(dns, system=SYSTEM, tariff=BUSINESS, allowing=ALLOWING, at=AT)
    with pytest.raises(InvalidType):
        own.verify(dns, system="acme.cabinet.example", tariff=PREMIUM, allowing=ALLOWING, at=AT)  # type: ignore[arg-type]
    assert dns.asked == []  # refused before any lookup


def test_active_domain_is_not_looked_up_again() -> None:
    """Verifying an active domain returns it unchanged without asking DNS."""
    own = pending()
    dns = FakeResolver(txt={own.verification_name: [own.verification_value]})
    active = own.verify(dns, system=SYSTEM, tariff=PREMIUM, allowing=ALLOWING, at=AT)
    dns.asked.clear()
    assert active.verify(dns, system=SYSTEM, tariff=PREMIUM, allowing=ALLOWING, at=AT) is active
    assert dns.asked == []


def test_leaving_premium_deactivates_and_says_so() -> None:
    """Moving to a tariff without custom_domain deactivates the domain and reports that it did."""
    own = pending()
    dns = FakeResolver(txt={own.verification_name: [own.verification_value]})
    active = own.verify(dns, system=SYSTEM, tariff=PREMIUM, allowing=ALLOWING, at=AT)
    assert active.deactivated_for(PREMIUM) == (active, False)
    off, changed = active.deactivated_for(BUSINESS)
    assert changed and off.status is DomainStatus.INACTIVE and not off.is_active
    assert off.deactivated_for(BUSINESS) == (off, False)
    # Back on Premium it is verified again before it serves.
    assert off.deactivated_for(PREMIUM) == (off, False)
    again = off.verify(dns, system=SYSTEM, tariff=PREMIUM, allowing=ALLOWING, at=AT)
    assert again.is_active


@given(
    st.sampled_from(list(DomainStatus)),
    st.frozensets(st.sampled_from(["custom_domain", "api", "sso"])),
)
def test_deactivation_property(status: DomainStatus, features: frozenset[str]) -> None:
    """After a tariff change the domain is active only if it was and the tariff has custom_domain; the flag
    says exactly whether the state changed."""
    base = pending()
    own = attrs.evolve(
        base,
        status=status,
        verified_at=AT if status is DomainStatus.ACTIVE else None,
        method=VerificationMethod.TXT if status is DomainStatus.ACTIVE else None,
    )
    tariff = attrs.evolve(PREMIUM, features=features)
    after, changed = own.deactivated_for(tariff)
    assert after.is_active == (own.is_active and "custom_domain" in features)
    assert changed == (after != own)
    assert after.hostname == own.hostname and after.token == own.token


def test_own_domain_validates_its_state() -> None:
    """An OwnDomain cannot be built active without a verification record, or with a bad token."""
    with pytest.raises(InvalidInput):
        OwnDomain("shop.ru", "a" * 32, status=DomainStatus.ACTIVE)
    with pytest.raises(InvalidInput):
        OwnDomain("shop.ru", "short")
    with pytest.raises(InvalidInput):
        OwnDomain("shop.ru", "a" * 32, status="gone")  # type: ignore[arg-type]
    with pytest.raises(NaiveDatetime):
        OwnDomain("shop.ru", "a" * 32, verified_at=datetime(2025, 1, 1))
