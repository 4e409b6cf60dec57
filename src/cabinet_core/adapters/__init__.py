"""Our implementations of the storage ports: in memory, SQLite (the embedded default) and PostgreSQL.

A host builds one storage in one place and passes it to the application service. :func:`open_storage` maps
a URL to an adapter and refuses anything else clearly::

    memory://                         everything in this process's memory (tests, demos)
    sqlite:///relative/path.sqlite3   a file (relative to the working directory)
    sqlite:////var/lib/cabinet.db     an absolute path (four slashes, as in SQLAlchemy)
    sqlite:///:memory:                an SQLite database in this process's memory
    postgresql://user:pw@host/db      PostgreSQL through psycopg 3 (pip install 'cabinet-core[postgresql]')

Adapter modules are imported only when asked for, so ``import cabinet_core.adapters`` opens nothing and
needs no driver.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, unquote, urlsplit

from ..errors import ConfigurationError, InvalidType

if TYPE_CHECKING:
    from ..ports.storage import Storage
    from .dispatch import DeliveryReport, deliver_outbox
    from .memory import MemoryStorage
    from .postgresql import PostgresStorage
    from .sqlite import SQLiteStorage

__all__ = [
    "DeliveryReport",
    "MemoryStorage",
    "PostgresStorage",
    "SQLiteStorage",
    "deliver_outbox",
    "open_storage",
]

SCHEMES = ("memory://", "sqlite:///path", "postgresql://...")

_SQLITE_OPTIONS = {"timeout", "synchronous"}


def open_storage(url: str) -> Storage:
    """The storage a URL names: ``memory://``, ``sqlite:///path`` or ``postgresql://...``.

    >>> open_storage("memory://").url
    'memory://'
    >>> open_storage("redis://localhost")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    cabinet_core.errors.ConfigurationError: storage URL 'redis://localhost' is not supported: ...
    """
    if not isinstance(url, str):
        raise InvalidType(f"storage URL must be a string such as 'sqlite:///cabinet.sqlite3', got {url!r}")
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme == "memory":
        if url.lower() != "memory://":
            raise ConfigurationError(f"storage URL {url!r}: memory:// takes no path or options")
        from .memory import MemoryStorage

        storage: Storage = MemoryStorage()
        return storage
    if scheme == "sqlite":
        return _sqlite(url)
    if scheme in ("postgresql", "postgres"):
        from .postgresql import PostgresStorage

        postgres: Storage = PostgresStorage(url)
        return postgres
    raise ConfigurationError(
        f"storage URL {_masked(url)!r} is not supported: use {', '.join(SCHEMES[:-1])} or {SCHEMES[-1]}"
    )


def _sqlite(url: str) -> Storage:
    from .sqlite import SQLiteStorage

    parts = urlsplit(url)
    if parts.netloc:
        raise ConfigurationError(
            f"storage URL {url!r}: an SQLite URL has no host; write sqlite:///relative/path or "
            "sqlite:////absolute/path"
        )
    path = unquote(parts.path[1:]) if parts.path.startswith("/") else ""
    if not path:
        raise ConfigurationError(f"storage URL {url!r} names no file; write e.g. sqlite:///cabinet.sqlite3")
    options = dict(parse_qsl(parts.query, keep_blank_values=True))
    unknown = sorted(set(options) - _SQLITE_OPTIONS)
    if unknown:
        raise ConfigurationError(
            f"storage URL {url!r}: unknown option(s) {', '.join(unknown)}; "
            f"accepted: {', '.join(sorted(_SQLITE_OPTIONS))}"
        )
    timeout = 30.0
    if "timeout" in options:
        try:
            timeout = float(options["timeout"])
        except ValueError:
            raise ConfigurationError(
                f"storage URL {url!r}: timeout must be a number of seconds, got {options['timeout']!r}"
            ) from None
    return SQLiteStorage(path, timeout=timeout, synchronous=options.get("synchronous", "normal").lower())


def _masked(url: str) -> str:
    """The URL with any password replaced, for error messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return parts._replace(netloc=f"{parts.username}:***@{host}").geturl()


def __getattr__(name: str) -> object:
    # lazy: the PostgreSQL adapter needs psycopg, which a SQLite-only host does not install
    modules = {
        "MemoryStorage": "memory",
        "SQLiteStorage": "sqlite",
        "PostgresStorage": "postgresql",
        "DeliveryReport": "dispatch",
        "deliver_outbox": "dispatch",
    }
    if name in modules:
        import importlib

        return getattr(importlib.import_module(f".{modules[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
