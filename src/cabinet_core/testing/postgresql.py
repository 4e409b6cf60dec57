"""A throwaway PostgreSQL cluster for tests and benchmarks: initdb into a temp dir, run, stop, delete.

It uses the server binaries of the machine (Debian's ``/usr/lib/postgresql/<version>/bin``, or wherever
``pg_config --bindir`` points), listens on 127.0.0.1 on a free port with its socket in its own directory,
and trusts local connections: it is for tests only. PostgreSQL refuses to run as root, so when run as root
the cluster belongs to ``nobody`` and the binaries run as that user. Durability is switched off (fsync,
synchronous commit, full page writes): a test cluster is thrown away, and this makes it several times faster.

    with TemporaryPostgres() as server:
        dsn = server.create_database("t1")
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from ..errors import ConfigurationError, StorageError

__all__ = ["PostgresNotFound", "TemporaryPostgres", "find_bindir"]

_DB_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class PostgresNotFound(ConfigurationError):
    """No PostgreSQL server binaries (initdb, pg_ctl) were found on this machine."""


def _usable(bindir: Path) -> bool:
    return all(os.access(bindir / tool, os.X_OK) for tool in ("initdb", "pg_ctl", "postgres"))


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", path.parent.name)) or (0,)


def find_bindir() -> Path | None:
    """The directory holding ``initdb`` and ``pg_ctl``: ``$CABINET_PG_BINDIR``, ``pg_config --bindir``,
    the newest ``/usr/lib/postgresql/*/bin``, or ``initdb`` on the ``PATH``; ``None`` if there is none."""
    candidates: list[Path] = []
    if os.environ.get("CABINET_PG_BINDIR"):
        candidates.append(Path(os.environ["CABINET_PG_BINDIR"]))
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(  # noqa: S603 - a fixed tool found on PATH, no shell
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True
            ).stdout.strip()
            if out:
                candidates.append(Path(out))
    candidates.extend(sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version_key, reverse=True))
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).parent)
    return next((c for c in candidates if _usable(c)), None)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class TemporaryPostgres:
    """One throwaway cluster. :meth:`start` it (or use ``with``), :meth:`stop` it; both are idempotent."""

    def __init__(self, bindir: Path | str | None = None, *, user: str = "nobody") -> None:
        found = Path(bindir) if bindir is not None else find_bindir()
        if found is None or not _usable(found):
            raise PostgresNotFound(
                "PostgreSQL server binaries (initdb, pg_ctl) were not found: install Debian's 'postgresql' "
                "package, or set CABINET_PG_BINDIR to the directory holding them"
            )
        self.bindir = found
        self.port = 0
        self._run_as = user if os.geteuid() == 0 else None
        self._dir: Path | None = None
        self._running = False

    # -- life cycle ---------------------------------------------------------------------------------------

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> None:
        if self._running:
            return
        self._dir = Path(tempfile.mkdtemp(prefix="cabinet-pg-"))
        owner = pwd.getpwnam(self._run_as) if self._run_as else None
        if owner is not None:
            os.chown(self._dir, owner.pw_uid, owner.pw_gid)
        self._run(
            "initdb", "-D", str(self.datadir), "-U", "postgres", "--auth=trust",
            "--encoding=UTF8", "--locale=C", "--no-sync",
        )  # fmt: skip
        last_error = ""
        for _ in range(5):  # another process may take the free port before the server binds it
            self.port = _free_port()
            options = (
                f"-p {self.port} -k {self._dir} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
            )
            try:
                self._run(
                    "pg_ctl", "-D", str(self.datadir), "-l", str(self._dir / "server.log"),
                    "-w", "-t", "60", "-o", options, "start",
                )  # fmt: skip
            except StorageError as exc:
                last_error = str(exc)
                continue
            self._running = True
            atexit.register(self.stop)
            return
        self._cleanup()
        raise StorageError(f"the temporary PostgreSQL cluster did not start: {last_error}")

    def stop(self) -> None:
        if self._running:
            self._running = False
            with contextlib.suppress(StorageError):
                self._run("pg_ctl", "-D", str(self.datadir), "-m", "immediate", "-w", "stop")
        self._cleanup()

    def _cleanup(self) -> None:
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    # -- what tests use -----------------------------------------------------------------------------------

    @property
    def datadir(self) -> Path:
        if self._dir is None:
            raise StorageError("the temporary PostgreSQL cluster is not started")
        return self._dir / "data"

    def dsn(self, dbname: str = "postgres") -> str:
        """A URL for ``dbname`` on this cluster (user ``postgres``, no password: trust authentication)."""
        if not self._running:
            raise StorageError("the temporary PostgreSQL cluster is not running")
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def execute(self, sql: str, dbname: str = "postgres") -> None:
        """Run one statement outside a transaction (CREATE / DROP DATABASE need that)."""
        import psycopg

        with psycopg.connect(self.dsn(dbname), autocommit=True) as conn:
            conn.execute(sql.encode())

    def create_database(self, name: str, *, template: str = "template0") -> str:
        """Create database ``name`` (a copy of ``template``) and return its URL."""
        for value in (name, template):
            if not _DB_NAME.fullmatch(value):
                raise ConfigurationError(f"database name {value!r} must be a lowercase identifier")
        self.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
        return self.dsn(name)

    def drop_database(self, name: str) -> None:
        if not _DB_NAME.fullmatch(name):
            raise ConfigurationError(f"database name {name!r} must be a lowercase identifier")
        self.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def _run(self, tool: str, *args: str) -> None:
        extra: dict[str, Any] = {}
        if self._run_as is not None:
            owner = pwd.getpwnam(self._run_as)
            extra = {"user": owner.pw_uid, "group": owner.pw_gid, "extra_groups": []}
        result = subprocess.run(  # noqa: S603 - the server's own tools, arguments we built, no shell
            [str(self.bindir / tool), *args],
            capture_output=True,
            text=True,
            cwd=self._dir,
            env={**os.environ, "LC_ALL": "C", "LANG": "C"},
            timeout=120,
            check=False,
            **extra,
        )
        if result.returncode != 0:
            log = ""
            if self._dir is not None and (self._dir / "server.log").exists():
                log = (self._dir / "server.log").read_text(errors="replace")[-2000:]
            raise StorageError(
                f"{tool} failed ({result.returncode}): {result.stderr.strip() or result.stdout.strip()} {log}"
            )
