"""The provider's settings: master domains, offered backup windows, throughput, referral terms, the latest
application version, and the default personal manager. Loaded from TOML, validated like the catalog.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import attrs

from ._time import DEFAULT_TZ, zone
from ._toml import parse_toml, read_text
from .errors import CatalogError

__all__ = ["ManagerInfo", "ProviderConfig"]

_KEYS = frozenset(
    {
        "name",
        "master_domains",
        "referral_base_url",
        "referral_share",
        "forwarding_max",
        "ftp_threshold_mb",
        "backup_throughput_mb_per_s",
        "backup_overhead_minutes",
        "backup_windows",
        "backup_tz",
        "backup_slots",
        "latest_version",
        "latest_revision",
        "manager",
    }
)
_MANAGER_KEYS = frozenset({"name", "email", "phone", "hours"})
_HHMM = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")
_VERSION = re.compile(r"\d+(\.\d+){0,3}")


@attrs.frozen
class ManagerInfo:
    """The personal manager the provider assigns (raw; validated by :mod:`cabinet_core.contacts`)."""

    name: str
    email: str
    phone: str
    hours: str


@attrs.frozen
class ProviderConfig:
    name: str
    master_domains: tuple[str, ...]
    referral_base_url: str
    referral_share: Decimal
    forwarding_max: int
    ftp_threshold_mb: int
    backup_throughput_mb_per_s: Decimal
    backup_overhead_minutes: int
    backup_windows: tuple[tuple[time, time], ...]
    backup_tz: str
    backup_slots: int
    latest_version: str
    latest_revision: int
    manager: ManagerInfo | None

    @classmethod
    def load(cls, path: str | Path) -> ProviderConfig:
        """Load the provider settings from a TOML file."""
        return cls.from_toml(read_text(path, "provider settings"))

    @classmethod
    def from_toml(cls, text: str) -> ProviderConfig:
        """Parse and validate the provider settings; errors name the key and the problem."""
        return cls.from_mapping(parse_toml(text, "provider settings"))

    @classmethod
    def from_mapping(cls, doc: Mapping[str, Any]) -> ProviderConfig:
        unknown = sorted(set(doc) - _KEYS)
        if unknown:
            raise CatalogError(f"provider: unknown key {unknown[0]!r}; allowed: {', '.join(sorted(_KEYS))}")

        def get(key: str, kind: type | tuple[type, ...], default: Any) -> Any:
            value = doc.get(key, default)
            if (isinstance(value, bool) and kind is not bool) or not isinstance(value, kind):
                raise CatalogError(
                    f"provider.{key}: expected {getattr(kind, '__name__', kind)}, got {value!r}"
                )
            return value

        def dec(key: str, default: str, low: Decimal, high: Decimal | None) -> Decimal:
            raw = get(key, (str, int), default)
            try:
                value = Decimal(str(raw))
            except InvalidOperation:
                raise CatalogError(f"provider.{key}: {raw!r} is not a number") from None
            if not value.is_finite() or value < low or (high is not None and value > high):
                bound = f"between {low} and {high}" if high is not None else f"at least {low}"
                raise CatalogError(f"provider.{key}: must be {bound}, got {raw!r}")
            return value

        def count(key: str, default: int, low: int, high: int) -> int:
            value: int = get(key, int, default)
            if not low <= value <= high:
                raise CatalogError(f"provider.{key}: must be between {low} and {high}, got {value}")
            return value

        masters = get("master_domains", list, ["cabinet.example"])
        if not masters or not all(isinstance(m, str) and m for m in masters):
            raise CatalogError("provider.master_domains: must be a non-empty array of domain names")
        windows = []
        for i, w in enumerate(get("backup_windows", list, [["01:00", "03:00"]])):
            if not (isinstance(w, list) and len(w) == 2 and all(isinstance(x, str) for x in w)):
                raise CatalogError(f'provider.backup_windows[{i}]: write each window as ["01:00", "03:00"]')
            parsed = []
            for x in w:
                m = _HHMM.fullmatch(x)
                if not m:
                    raise CatalogError(f"provider.backup_windows[{i}]: {x!r} is not a time HH:MM")
                parsed.append(time(int(m[1]), int(m[2])))
            windows.append((parsed[0], parsed[1]))
        if not windows:
            raise CatalogError("provider.backup_windows: offer at least one window")
        tz = get("backup_tz", str, DEFAULT_TZ)
        try:
            zone(tz)
        except Exception as exc:
            raise CatalogError(f"provider.backup_tz: {exc}") from exc
        version = get("latest_version", str, "1.0.0")
        if not _VERSION.fullmatch(version):
            raise CatalogError(f"provider.latest_version: {version!r} is not a version such as '3.0.2'")
        manager = None
        if "manager" in doc:
            m = get("manager", dict, {})
            extra = sorted(set(m) - _MANAGER_KEYS)
            if extra or set(m) != _MANAGER_KEYS:
                raise CatalogError(
                    f"provider.manager: needs exactly the keys {', '.join(sorted(_MANAGER_KEYS))}"
                )
            if not all(isinstance(v, str) for v in m.values()):
                raise CatalogError("provider.manager: every field must be a string")
            manager = ManagerInfo(m["name"], m["email"], m["phone"], m["hours"])
        base_url = get("referral_base_url", str, "https://cabinet.example/r/")
        return cls(
            name=get("name", str, "cabinet"),
            master_domains=tuple(m.lower().rstrip(".") for m in masters),
            referral_base_url=base_url,
            referral_share=dec("referral_share", "0.10", Decimal(0), Decimal(1)),
            forwarding_max=count("forwarding_max", 10, 1, 1000),
            ftp_threshold_mb=count("ftp_threshold_mb", 700, 1, 10**7),
            backup_throughput_mb_per_s=dec("backup_throughput_mb_per_s", "20", Decimal("0.001"), None),
            backup_overhead_minutes=count("backup_overhead_minutes", 5, 0, 24 * 60),
            backup_windows=tuple(windows),
            backup_tz=tz,
            backup_slots=count("backup_slots", 4, 1, 10_000),
            latest_version=version,
            latest_revision=count("latest_revision", 1, 0, 10**9),
            manager=manager,
        )
