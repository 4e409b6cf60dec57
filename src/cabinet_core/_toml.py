"""Reading the provider's TOML files (the tariff catalog, the provider settings) with errors that say
which file and what is wrong, as :class:`~cabinet_core.errors.CatalogError`."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from .errors import CatalogError, InvalidType

__all__ = ["parse_toml", "read_text"]


def read_text(path: str | Path, what: str) -> str:
    """The UTF-8 text of ``path``; an unreadable or non-UTF-8 file is a CatalogError naming ``what``."""
    if not isinstance(path, str | Path):
        raise InvalidType(f"the path of the {what} must be a str or Path, got {path!r}")
    p = Path(path)
    try:
        return p.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogError(f"cannot read {what} {str(p)!r}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise CatalogError(f"{what} {str(p)!r} is not UTF-8 text") from exc


def parse_toml(text: object, what: str) -> dict[str, Any]:
    """The parsed TOML document; malformed TOML is a CatalogError naming ``what`` and the line."""
    if not isinstance(text, str):
        raise InvalidType(f"the {what} must be given as TOML text (str), got {type(text).__name__}")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{what} is not valid TOML: {exc}") from exc
