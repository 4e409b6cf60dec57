"""The FTP rule: big backups download by FTP only; FTP credentials are generated, handed over, and hashed."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cabinet_core.backup_policy import (
    MB,
    DownloadRule,
    FtpAccess,
    FtpCredentials,
    FtpRequired,
    hash_password,
    verify_password,
)
from cabinet_core.errors import CabinetError, FeatureNotAvailable, InvalidInput, InvalidType


class Outbox:
    """A credentials sink that remembers what it was handed."""

    def __init__(self) -> None:
        self.sent: list[FtpCredentials] = []

    def deliver(self, credentials: FtpCredentials) -> None:
        self.sent.append(credentials)


class BrokenSink:
    def deliver(self, credentials: FtpCredentials) -> None:
        raise ConnectionError("mailer down")


def test_threshold_is_700_mb_of_1048576_bytes() -> None:
    """Exactly 700 MB downloads from the web; one byte more needs FTP."""
    rule = DownloadRule()
    assert rule.threshold_bytes == 700 * 1_048_576
    assert not rule.needs_ftp(700 * MB)
    assert rule.needs_ftp(700 * MB + 1)
    assert rule.channel(700 * MB, ftp_enabled=False) == "web"


def test_over_threshold_with_ftp_on() -> None:
    """A big backup with FTP access on goes by FTP."""
    assert DownloadRule().channel(2_000 * MB, ftp_enabled=True) == "ftp"


def test_over_threshold_with_ftp_off_is_refused_in_words() -> None:
    """A big backup with FTP off is refused saying its size, the threshold and what to do."""
    with pytest.raises(FtpRequired) as info:
        DownloadRule().channel(812 * MB + 5, ftp_enabled=False)
    assert str(info.value) == (
        "This backup is 813 MB; backups over 700 MB can be downloaded only by FTP. "
        "Switch FTP access on to download it."
    )
    assert isinstance(info.value, FeatureNotAvailable)
    assert isinstance(info.value, ValueError)
    assert (info.value.size_bytes, info.value.threshold_bytes) == (812 * MB + 5, 700 * MB)


def test_threshold_is_configurable() -> None:
    """The provider can move the threshold (here to 100 MB)."""
    assert DownloadRule(threshold_mb=100).needs_ftp(101 * MB)
    assert not DownloadRule(threshold_mb=1000).needs_ftp(999 * MB)


@pytest.mark.parametrize("bad", [-1, 1.5, "700", None])
def test_bad_threshold_is_refused(bad: object) -> None:
    """A negative or non-integer threshold is refused."""
    with pytest.raises(CabinetError, match="threshold_mb"):
        DownloadRule(threshold_mb=bad)  # type: ignore[arg-type]


def test_channel_refuses_non_bool() -> None:
    """ftp_enabled must be a real bool, not a truthy string."""
    with pytest.raises(InvalidType):
        DownloadRule().channel(5, ftp_enabled="no")  # type: ignore[arg-type]


@given(threshold=st.integers(0, 10_000), size=st.integers(0, 10**13), ftp=st.booleans())
def test_ftp_exactly_over_the_threshold(threshold: int, size: int, ftp: bool) -> None:
    """FTP is needed iff size > threshold x 1,048,576; with FTP off such a download is refused."""
    rule = DownloadRule(threshold)
    over = size > threshold * 1_048_576
    assert rule.needs_ftp(size) == over
    if over and not ftp:
        with pytest.raises(FtpRequired):
            rule.channel(size, ftp_enabled=ftp)
    else:
        assert rule.channel(size, ftp_enabled=ftp) == ("ftp" if over else "web")


# --- credentials ---------------------------------------------------------------------------------------


def test_switch_on_hands_password_to_sink_and_keeps_only_a_hash() -> None:
    """The clear password goes to the sink once; the access keeps a scrypt hash that verifies it."""
    outbox = Outbox()
    access = FtpAccess.switch_on("acme-backup", outbox)
    (sent,) = outbox.sent
    assert sent.username == access.username == "acme-backup"
    assert len(sent.password) >= 24
    assert sent.password not in access.password_hash
    assert sent.password not in repr(access)
    assert sent.password not in repr(sent)
    assert access.password_hash.startswith("scrypt$")
    assert access.verify("acme-backup", sent.password)
    assert not access.verify("acme-backup", sent.password + "x")
    assert not access.verify("other", sent.password)


def test_each_switch_on_makes_a_new_password() -> None:
    """Switching on again issues a different password and a different salt."""
    outbox = Outbox()
    first = FtpAccess.switch_on("acme", outbox)
    second = FtpAccess.switch_on("acme", outbox)
    assert outbox.sent[0].password != outbox.sent[1].password
    assert first.password_hash != second.password_hash
    assert not second.verify("acme", outbox.sent[0].password)


def test_sink_failure_returns_no_access() -> None:
    """If the credentials cannot be delivered, the error propagates and no access exists."""
    with pytest.raises(ConnectionError):
        FtpAccess.switch_on("acme", BrokenSink())


@pytest.mark.parametrize("name", ["", "Acme", "acme backup", "../etc", "a" * 65, "-acme", "acmé"])
def test_hostile_usernames_are_refused(name: str) -> None:
    """Usernames are 1-64 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit."""
    with pytest.raises(InvalidInput, match="FTP username"):
        FtpAccess.switch_on(name, Outbox())


def test_a_sink_without_deliver_is_refused() -> None:
    """A sink must have deliver(credentials); nothing is generated otherwise."""
    with pytest.raises(InvalidType, match="deliver"):
        FtpAccess.switch_on("acme", object())  # type: ignore[arg-type]


def test_stored_hash_must_be_ours() -> None:
    """Restoring access from storage refuses a clear password or a foreign hash format."""
    with pytest.raises(InvalidInput, match="hash_password"):
        FtpAccess("acme", "hunter2")
    with pytest.raises(InvalidInput):
        FtpAccess("acme", "scrypt$99999999$8$1$AAAA$AAAA")
    stored = hash_password("s3cret", n=2**10)
    assert FtpAccess("acme", stored).verify("acme", "s3cret")


def test_verify_refuses_non_strings_quietly() -> None:
    """A non-string password simply does not verify."""
    stored = hash_password("s3cret", n=2**10)
    assert not verify_password(None, stored)  # type: ignore[arg-type]
    assert not verify_password(b"s3cret", stored)  # type: ignore[arg-type]


@settings(max_examples=25, deadline=None)  # each example hashes twice with scrypt
@given(password=st.text(min_size=1, max_size=40), other=st.text(min_size=1, max_size=40))
def test_hash_verifies_only_its_password(password: str, other: str) -> None:
    """A hash verifies its own password and no other; two hashes of one password differ (salt)."""
    stored = hash_password(password, n=2**10)
    assert verify_password(password, stored)
    assert verify_password(other, stored) == (other == password)
    assert hash_password(password, n=2**10) != stored


def test_hash_cost_must_be_sane() -> None:
    """The scrypt cost must be a power of two in a sane range; an empty password is refused."""
    with pytest.raises(InvalidInput):
        hash_password("x", n=1000)
    with pytest.raises(InvalidInput):
        hash_password("x", n=2**30)
    with pytest.raises(InvalidType):
        hash_password("")
