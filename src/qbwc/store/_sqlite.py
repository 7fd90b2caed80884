"""The embedded store: one SQLite file, safe with several worker processes on one machine."""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final, Literal, final

from qbwc.store._protocol import StoreError
from qbwc.store._sql import Dialect, SQLTransaction

__all__ = ["SCHEMA_VERSION", "SQLiteStore"]

#: The layout this version of qbwc reads and writes.
SCHEMA_VERSION: Final = 4

# Version 2: login verifiers (docs/service.md, "Passwords").  A version-1 file is
# upgraded in place when it is opened.
_UPGRADE_1_TO_2: Final = """
CREATE TABLE login_verifiers (
    username   TEXT PRIMARY KEY,
    digest     TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
UPDATE schema_version SET version = 2;
"""

# Version 3: any request is a job: dependencies (after_job), query pages
# (docs/service.md, "Any request", "Ordering").  Upgraded in place, after 1 -> 2.
_UPGRADE_2_TO_3: Final = """
ALTER TABLE jobs ADD COLUMN after_job INTEGER;
ALTER TABLE jobs ADD COLUMN page_size INTEGER;
ALTER TABLE jobs ADD COLUMN pages INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN records INTEGER NOT NULL DEFAULT 0;
CREATE INDEX jobs_after ON jobs (after_job) WHERE after_job IS NOT NULL;
CREATE TABLE query_pages (
    job_id INTEGER NOT NULL,
    page   INTEGER NOT NULL,
    rets   TEXT NOT NULL,
    PRIMARY KEY (job_id, page)
);
UPDATE schema_version SET version = 3;
"""

# Version 4: linkages, pulls and the marks of changes already delivered
# (docs/service.md, "Linkages and pulls").  Upgraded in place, after 2 -> 3.
_UPGRADE_3_TO_4: Final = """
CREATE TABLE links (
    username      TEXT NOT NULL,
    key           TEXT NOT NULL,
    type          TEXT NOT NULL,
    list_id       TEXT,
    txn_id        TEXT,
    edit_sequence TEXT,
    full_name     TEXT,
    file_id       TEXT NOT NULL,
    seen_at       INTEGER NOT NULL,
    PRIMARY KEY (username, key)
);
CREATE INDEX links_list_id ON links (username, list_id);
CREATE INDEX links_txn_id ON links (username, txn_id);
CREATE TABLE follows (
    username   TEXT NOT NULL,
    type       TEXT NOT NULL,
    spec       TEXT NOT NULL,
    state      TEXT,
    file_id    TEXT,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (username, type)
);
CREATE TABLE pull_marks (
    username      TEXT NOT NULL,
    type          TEXT NOT NULL,
    object_id     TEXT NOT NULL,
    edit_sequence TEXT,
    file_id       TEXT NOT NULL,
    seen_at       INTEGER NOT NULL,
    PRIMARY KEY (username, type, object_id)
);
UPDATE schema_version SET version = 4;
"""

_SCHEMA: Final = (
    """
CREATE TABLE schema_version (version INTEGER NOT NULL);
CREATE TABLE accounts (
    username       TEXT PRIMARY KEY,
    password_hash  TEXT,
    file_id        TEXT NOT NULL,
    linked_file_id TEXT,
    company_file   TEXT,
    company_name   TEXT,
    linked_at      INTEGER,
    last_seen_at   INTEGER
);
CREATE TABLE jobs (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    username        TEXT NOT NULL,
    key             TEXT,
    request         TEXT NOT NULL,
    request_type    TEXT NOT NULL,
    min_version     TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'done', 'failed',
                                                 'cancelled')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    txn_id          TEXT,
    response        TEXT,
    error_code      TEXT,
    error_message   TEXT,
    error_reference TEXT,
    deferred_ticket TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    qbxml           TEXT,
    UNIQUE (username, key)
);
CREATE INDEX jobs_queue ON jobs (username, status, id);
CREATE INDEX jobs_user ON jobs (username, id);
CREATE INDEX jobs_status ON jobs (status, id);
CREATE TABLE sessions (
    ticket     TEXT PRIMARY KEY,
    username   TEXT NOT NULL,
    state      TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    active     INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions (username);
CREATE TABLE in_flight (
    username       TEXT PRIMARY KEY,
    message_set_id TEXT NOT NULL,
    job_ids        TEXT NOT NULL,
    kind           TEXT NOT NULL,
    version        TEXT NOT NULL,
    ticket         TEXT NOT NULL,
    sent_at        INTEGER NOT NULL
);
CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT INTO schema_version (version) VALUES (1);
"""
    + _UPGRADE_1_TO_2
    + _UPGRADE_2_TO_3
    + _UPGRADE_3_TO_4
)

_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _max_params() -> int:
    """The most ``?`` parameters one statement may have in this SQLite library."""
    conn = sqlite3.connect(":memory:")
    try:
        return int(conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))
    finally:
        conn.close()


def _micros(value: dt.datetime) -> int:
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _time(value: int) -> dt.datetime:
    return _EPOCH + dt.timedelta(microseconds=value)


@final
class SQLiteStore:
    """
    A :class:`~qbwc.store.Store` in one SQLite file (stdlib ``sqlite3``).

    The file uses WAL journaling, so readers never block the writer; every
    transaction starts with ``BEGIN IMMEDIATE``, so writers queue up (for at
    most *busy_timeout* seconds) instead of failing.  Each thread and each
    process opens its own connection, which makes it safe for a WSGI server
    with several worker processes on one machine.  (Not for a network file
    system: SQLite's locks do not work there.)

    *synchronous* is SQLite's durability setting: ``"FULL"`` (the default)
    survives a power cut after a commit; ``"NORMAL"`` is faster and survives a
    crash of the process, but a power cut may undo the last commits, which can
    forget that a message set was handed to QuickBooks.

    Raises:
        StoreError: the file was written by a newer qbwc (unknown schema
            version) or is not a qbwc database.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        busy_timeout: float = 10.0,
        synchronous: Literal["FULL", "NORMAL"] = "FULL",
    ) -> None:
        if synchronous not in ("FULL", "NORMAL"):
            msg = f"synchronous={synchronous!r}: expected 'FULL' or 'NORMAL'"
            raise ValueError(msg)
        self.path = Path(path)
        self._busy_timeout = busy_timeout
        self._synchronous = synchronous
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        self._closed = False
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            self._ensure_schema(conn)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def __repr__(self) -> str:
        return f"<SQLiteStore {str(self.path)!r}>"

    def _connection(self) -> sqlite3.Connection:
        if self._closed:
            msg = f"{self!r} is closed"
            raise StoreError(msg)
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None and getattr(self._local, "pid", None) == os.getpid():
            return conn
        # A new thread, or a forked worker: never share a connection across processes.
        conn = sqlite3.connect(
            self.path,
            timeout=self._busy_timeout,
            isolation_level=None,
            check_same_thread=False,
        )
        conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout * 1000)}")
        try:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()
        except sqlite3.DatabaseError as exc:
            conn.close()
            msg = f"{self.path}: not a SQLite database ({exc})"
            raise StoreError(msg) from None
        if mode is None or str(mode[0]).lower() != "wal":  # pragma: no cover - odd filesystems
            conn.close()
            msg = f"{self.path}: SQLite could not switch to WAL journaling (got {mode!r})"
            raise StoreError(msg)
        conn.execute(f"PRAGMA synchronous = {self._synchronous}")
        conn.execute("PRAGMA foreign_keys = ON")
        self._local.conn = conn
        self._local.pid = os.getpid()
        with self._all_lock:
            self._all.append(conn)
        return conn

    def _ensure_schema(self, conn: sqlite3.Connection) -> None:
        tables = {
            row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        if "schema_version" not in tables:
            if tables - {"sqlite_sequence"}:
                msg = (
                    f"{self.path}: not a qbwc database (it has tables "
                    f"{', '.join(sorted(tables))} but no schema_version)"
                )
                raise StoreError(msg)
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            return
        row = conn.execute("SELECT version FROM schema_version").fetchone()
        version = None if row is None else row[0]
        # Inside the opening BEGIN IMMEDIATE: one process upgrades it.
        for old, upgrade in ((1, _UPGRADE_1_TO_2), (2, _UPGRADE_2_TO_3), (3, _UPGRADE_3_TO_4)):
            if version == old:
                for statement in upgrade.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                version = old + 1
        if version != SCHEMA_VERSION:
            msg = (
                f"{self.path}: schema version {version}, but this qbwc reads version "
                f"{SCHEMA_VERSION}; upgrade qbwc (pip install -U qbwc-toolkit) or use another file"
            )
            raise StoreError(msg)

    @contextmanager
    def transaction(self) -> Iterator[_SQLiteTransaction]:
        """Run the block as one ``BEGIN IMMEDIATE`` transaction (see :class:`~qbwc.store.Store`)."""
        conn = self._connection()
        if conn.in_transaction:
            msg = "transactions do not nest"
            raise StoreError(msg)
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            msg = f"{self.path}: cannot start a transaction ({exc})"
            raise StoreError(msg) from None
        tx = _SQLiteTransaction(conn, str(self.path))
        try:
            yield tx
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        finally:
            tx.closed = True
        conn.execute("COMMIT")

    def close(self) -> None:
        """Close every connection this object opened."""
        with self._all_lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._closed = True


class _SQLiteDialect(Dialect):
    """SQLite: ``?`` markers, ``INSERT OR REPLACE``; timestamps as microseconds, ids as JSON."""

    def stamp(self, value: dt.datetime) -> int:
        return _micros(value)

    def time(self, value: Any) -> dt.datetime:
        return _time(value)

    def job_ids(self, ids: tuple[str, ...]) -> str:
        return json.dumps(list(ids))

    def read_job_ids(self, value: Any) -> tuple[str, ...]:
        return tuple(json.loads(value))


_DIALECT: Final = _SQLiteDialect(
    placeholder="?",
    prefix="",
    upsert="replace",
    distinct="IS NOT",
    returning_id=False,
    hash_cost="substr(password_hash, 8, instr(substr(password_hash, 8), '$') - 1)",
    in_flight_ids="SELECT CAST(j.value AS INTEGER) FROM in_flight, json_each(in_flight.job_ids) j",
    max_params=_max_params(),
)


class _SQLiteTransaction(SQLTransaction):
    """
    The operations of one :class:`SQLiteStore` transaction.

    ``BEGIN IMMEDIATE`` already holds the database's write lock, so an account
    claim (``get_account(name, for_update=True)``) needs nothing more.
    """

    def __init__(self, conn: sqlite3.Connection, where: str) -> None:
        super().__init__(conn.execute, _DIALECT, where)
