"""
A PostgreSQL server for the tests: the one in ``QBWC_TEST_POSTGRES_DSN``, or a throwaway one.

:func:`postgres_dsn` returns the DSN of a database the tests may use freely.
With ``QBWC_TEST_POSTGRES_DSN`` set it uses that server.  Otherwise, when the
PostgreSQL server binaries are installed (Debian's ``postgresql`` package puts
them in ``/usr/lib/postgresql/<version>/bin``), it starts a private server in
a temporary folder on 127.0.0.1 and a free port (as the ``postgres`` user when
run as root, since ``initdb`` refuses root) and stops it when the test process
ends.  When neither is possible the test skips with the reason, and fails
when ``CI`` is set.

The benchmarks use :class:`ThrowawayServer` directly.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any

import pytest

ENV = "QBWC_TEST_POSTGRES_DSN"
_lock = threading.Lock()
_cache: dict[str, Any] = {}


def find_binaries() -> Path | None:
    """The folder with ``initdb`` and ``pg_ctl``, or None."""
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).parent
    versions = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    return Path(versions[-1]).parent if versions else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ThrowawayServer:
    """
    A private PostgreSQL server in a temporary folder, on 127.0.0.1 only.

    Durability is switched off (``fsync=off``): it is for tests and benchmarks
    of qbwc's own cost, not PostgreSQL's disk.  Pass ``durable=True`` to keep
    PostgreSQL's defaults.
    """

    def __init__(self, *, durable: bool = False, max_connections: int = 100) -> None:
        bindir = find_binaries()
        if bindir is None:
            msg = "PostgreSQL server binaries not found (apt-get install postgresql)"
            raise RuntimeError(msg)
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="qbwc-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self._user: str | None = None
        if os.geteuid() == 0:
            # initdb refuses to run as root: run the server as an unprivileged user.
            for name in ("postgres", "nobody"):
                with contextlib.suppress(KeyError):
                    entry = pwd.getpwnam(name)
                    self._user = name
                    os.chown(self.root, entry.pw_uid, entry.pw_gid)
                    break
        self.root.chmod(0o700)
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            "qbwc",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-sync",
            "--locale=C",
        )
        options = [
            "-c listen_addresses=127.0.0.1",
            f"-c port={self.port}",
            f"-c unix_socket_directories={self.root}",
            f"-c max_connections={max_connections}",
        ]
        if not durable:
            options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.root / "server.log"),
            "-o",
            " ".join(options),
            "-w",
            "-t",
            "60",
            "start",
        )
        self.dsn = f"host=127.0.0.1 port={self.port} user=qbwc dbname=postgres"
        atexit.register(self.stop)

    def _run(self, program: str, *args: str) -> None:
        command = [str(self.bindir / program), *args]
        if self._user is not None:
            command = ["runuser", "-u", self._user, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=self.root)
        if done.returncode != 0:
            log = self.root / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            msg = f"{program} failed ({done.returncode}): {done.stderr.strip()} {tail}"
            raise RuntimeError(msg)

    def create_database(self, name: str) -> str:
        """Create database *name* (dropping any old one) and return its DSN."""
        return create_database_on(self.dsn, name)

    def stop(self) -> None:
        """Stop the server and delete its folder (idempotent)."""
        if self.data.exists():
            with contextlib.suppress(RuntimeError):
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


def _unavailable(reason: str) -> None:
    message = f"PostgreSQL unavailable: {reason}"
    if os.environ.get("CI"):
        pytest.fail(message + f" (CI is set: set {ENV} or install the postgresql package)")
    pytest.skip(message)


def server_dsn() -> str:
    """The DSN of a server the tests may create databases on (skips/fails when none)."""
    with _lock:
        if "dsn" in _cache:
            return str(_cache["dsn"])
        if "error" in _cache:
            _unavailable(str(_cache["error"]))
        try:
            import psycopg
        except ImportError:
            _cache["error"] = "psycopg is not installed (pip install 'qbwc-toolkit[postgres]')"
            _unavailable(_cache["error"])
            raise
        dsn = os.environ.get(ENV)
        try:
            if dsn:
                with psycopg.connect(dsn, connect_timeout=10):
                    pass
            else:
                server = ThrowawayServer()
                _cache["server"] = server
                dsn = server.dsn
        except (RuntimeError, OSError, psycopg.Error) as exc:
            _cache["error"] = f"{exc}".strip()
            _unavailable(_cache["error"])
            raise
        _cache["dsn"] = dsn
        return dsn


def create_database_on(base: str, name: str) -> str:
    """Create database *name* on the server of DSN *base* (dropping any old one); its DSN."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    params = conninfo_to_dict(base)
    params["dbname"] = name
    return make_conninfo("", **params)


def create_database(name: str) -> str:
    """A fresh, empty database *name* on the test server; its DSN."""
    return create_database_on(server_dsn(), name)


def postgres_dsn() -> str:
    """The DSN of the shared test database with qbwc's schema installed (emptied by callers)."""
    with _lock:
        if "db" in _cache:
            return str(_cache["db"])
    dsn = create_database("qbwc_test")
    from qbwc.store import postgres_upgrade

    postgres_upgrade(dsn)
    with _lock:
        _cache["db"] = dsn
    return dsn


def fresh_store(**options: Any) -> Any:
    """A :class:`~qbwc.store.PostgresStore` on the shared test database, emptied first."""
    import psycopg

    from qbwc.store import PostgresStore

    dsn = postgres_dsn()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "TRUNCATE qbwc_accounts, qbwc_jobs, qbwc_sessions, qbwc_in_flight, qbwc_settings, "
            "qbwc_login_verifiers, qbwc_links, qbwc_follows, qbwc_pull_marks RESTART IDENTITY"
        )
    return PostgresStore(dsn, **options)
