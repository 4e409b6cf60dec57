"""Provider settings: the sample loads; every mistake in the TOML is a CatalogError naming the key."""

from __future__ import annotations

from datetime import time
from decimal import Decimal
from importlib.resources import files
from pathlib import Path

import pytest

from cabinet_core import CatalogError, InvalidType
from cabinet_core.provider import ProviderConfig

SAMPLE = (files("cabinet_core") / "data" / "sample_provider.toml").read_text(encoding="utf-8")


def test_sample_loads() -> None:
    """The shipped sample gives the master domains, windows, referral share and manager."""
    p = ProviderConfig.from_toml(SAMPLE)
    assert p.master_domains == ("cabinet.example", "biz.example")
    assert p.backup_windows[2] == (time(23, 30), time(1, 30))
    assert p.referral_share == Decimal("0.10")
    assert p.manager is not None and p.manager.name == "Анна Смирнова"


def test_defaults_for_an_empty_file() -> None:
    """Every key has a documented default: an empty file is a valid (if minimal) provider."""
    p = ProviderConfig.from_toml("")
    assert (p.forwarding_max, p.ftp_threshold_mb, p.backup_tz, p.manager) == (10, 700, "Europe/Moscow", None)


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('colour = "red"', "unknown key 'colour'"),
        ('referral_share = "1.5"', r"referral_share: must be between 0 and 1"),
        ('referral_share = "abc"', "referral_share: 'abc' is not a number"),
        ("forwarding_max = 0", "forwarding_max: must be between 1 and 1000"),
        ("forwarding_max = true", "forwarding_max: expected int"),
        ('backup_windows = [["25:00", "03:00"]]', r"backup_windows\[0\]: '25:00' is not a time HH:MM"),
        ('backup_windows = [["01:00"]]', r"backup_windows\[0\]: write each window as"),
        ("backup_windows = []", "offer at least one window"),
        ('backup_tz = "Mars/Base"', "backup_tz"),
        ('latest_version = "three"', "latest_version: 'three' is not a version"),
        ("master_domains = []", "master_domains: must be a non-empty array"),
        ('[manager]\nname = "A"', "provider.manager: needs exactly the keys"),
        ("name = [", "provider settings is not valid TOML"),
    ],
)
def test_mistakes_name_the_key(toml: str, message: str) -> None:
    """Each kind of mistake is refused with a CatalogError (a ValueError) naming the key and the problem."""
    with pytest.raises(CatalogError, match=message) as info:
        ProviderConfig.from_toml(toml)
    assert isinstance(info.value, ValueError)


def test_files_that_cannot_be_read(tmp_path: Path) -> None:
    """A missing file, a directory, and a file that is not UTF-8 are CatalogErrors naming the path."""
    with pytest.raises(CatalogError, match="cannot read provider settings"):
        ProviderConfig.load(tmp_path / "missing.toml")
    with pytest.raises(CatalogError, match="cannot read provider settings"):
        ProviderConfig.load(tmp_path)
    latin = tmp_path / "latin1.toml"
    latin.write_bytes('name = "Облако"'.encode("cp1251"))
    with pytest.raises(CatalogError, match="is not UTF-8 text"):
        ProviderConfig.load(latin)
    with pytest.raises(InvalidType):
        ProviderConfig.from_toml(b"name = 'x'")  # type: ignore[arg-type]
    with pytest.raises(InvalidType):
        ProviderConfig.load(42)  # type: ignore[arg-type]
