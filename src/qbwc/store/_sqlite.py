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
from typing import Any, Final, Literal, cast, final
from uuid import UUID

from qbwc.store._protocol import (
    Account,
    InFlight,
    Job,
    JobError,
    JobResponse,
    JobStatus,
    SessionRecord,
    StaleSessionError,
    StoreError,
)

__all__ = ["SCHEMA_VERSION", "SQLiteStore"]

#: The layout this version of qbwc reads and writes.
SCHEMA_VERSION: Final = 1

_SCHEMA: Final = """
CREATE TABLE schema_version (version INTEGER NOT NULL);
CREATE TABLE accounts (
    username       TEXT PRIMARY KEY,
    password_hash  TEXT,
    file_id        TEXT NOT NULL,
    linked_file_id TEXT,
    company_file   TEXT,
    company_name   TEXT,
    linked_at      INTEGER
);
CREATE TABLE jobs (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    username        TEXT NOT NULL,
    key             TEXT,
    request         TEXT NOT NULL,
    request_type    TEXT NOT NULL,
    min_version     TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'done', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    txn_id          TEXT,
    response        TEXT,
    error_code      TEXT,
    error_message   TEXT,
    error_reference TEXT,
    deferred_ticket TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    UNIQUE (username, key)
);
CREATE INDEX jobs_queue ON jobs (username, status, id);
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

_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
# Every job query selects the same columns, in this order (see _job).
_SELECT_JOBS: Final = (
    "SELECT id, username, key, request, request_type, min_version, status, attempts, txn_id, "
    "response, error_code, error_message, error_reference, deferred_ticket, created_at, "
    "updated_at FROM jobs"
)


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
        tx = _SQLiteTransaction(conn)
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


class _SQLiteTransaction:
    """The operations of one :class:`SQLiteStore` transaction."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.closed = False

    def _x(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        if self.closed:
            msg = "the transaction has ended"
            raise StoreError(msg)
        return self.conn.execute(sql, params)

    # -- accounts ---------------------------------------------------------
    def get_account(self, username: str, *, for_update: bool = False) -> Account | None:
        # BEGIN IMMEDIATE already holds the database's write lock: that is the claim.
        row = self._x(
            "SELECT username, password_hash, file_id, linked_file_id, company_file, "
            "company_name, linked_at FROM accounts WHERE username = ?",
            (username,),
        ).fetchone()
        return None if row is None else _account(row)

    def put_account(self, account: Account) -> None:
        self._x(
            "INSERT OR REPLACE INTO accounts (username, password_hash, file_id, "
            "linked_file_id, company_file, company_name, linked_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                account.username,
                account.password_hash,
                str(account.file_id),
                None if account.linked_file_id is None else str(account.linked_file_id),
                account.company_file,
                account.company_name,
                None if account.linked_at is None else _micros(account.linked_at),
            ),
        )

    def list_accounts(self) -> tuple[Account, ...]:
        rows = self._x(
            "SELECT username, password_hash, file_id, linked_file_id, company_file, "
            "company_name, linked_at FROM accounts ORDER BY username"
        ).fetchall()
        return tuple(_account(row) for row in rows)

    # -- jobs -------------------------------------------------------------
    def add_job(
        self,
        *,
        username: str,
        key: str | None,
        request: str,
        request_type: str,
        min_version: str,
        now: dt.datetime,
    ) -> Job:
        stamp = _micros(now)
        try:
            cursor = self._x(
                "INSERT INTO jobs (username, key, request, request_type, min_version, status, "
                "created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?)",
                (username, key, request, request_type, min_version, stamp, stamp),
            )
        except sqlite3.IntegrityError:
            msg = f"account {username!r} already has a job with key {key!r}"
            raise StoreError(msg) from None
        return Job(
            id=str(cursor.lastrowid),
            username=username,
            key=key,
            request=request,
            request_type=request_type,
            min_version=min_version,
            created_at=_time(stamp),
            updated_at=_time(stamp),
        )

    def get_job(self, job_id: str) -> Job | None:
        if not job_id.isdigit():
            return None
        row = self._x(_SELECT_JOBS + " WHERE id = ?", (int(job_id),)).fetchone()
        return None if row is None else _job(row)

    def find_job(self, username: str, key: str) -> Job | None:
        row = self._x(_SELECT_JOBS + " WHERE username = ? AND key = ?", (username, key)).fetchone()
        return None if row is None else _job(row)

    def put_job(self, job: Job) -> None:
        error = job.error
        cursor = self._x(
            "UPDATE jobs SET status = ?, attempts = ?, txn_id = ?, response = ?, "
            "error_code = ?, error_message = ?, error_reference = ?, deferred_ticket = ?, "
            "updated_at = ? WHERE id = ? AND username = ? AND request = ?",
            (
                job.status,
                job.attempts,
                job.txn_id,
                None if job.response is None else json.dumps(job.response.to_dict()),
                None if error is None else error.code,
                None if error is None else error.message,
                None if error is None else error.reference,
                job.deferred_ticket,
                _micros(job.updated_at),
                int(job.id),
                job.username,
                job.request,
            ),
        )
        if cursor.rowcount != 1:
            msg = f"job {job.id} does not exist (or its account or request changed)"
            raise StoreError(msg)

    def next_pending(
        self, username: str, *, limit: int, exclude_ticket: str | None = None
    ) -> tuple[Job, ...]:
        rows = self._x(
            _SELECT_JOBS + " WHERE username = ? AND status = 'pending' "
            "AND (deferred_ticket IS NULL OR deferred_ticket IS NOT ?) ORDER BY id LIMIT ?",
            (username, exclude_ticket, limit),
        ).fetchall()
        return tuple(_job(row) for row in rows)

    def count_jobs(self, username: str, status: JobStatus) -> int:
        row = self._x(
            "SELECT count(*) FROM jobs WHERE username = ? AND status = ?", (username, status)
        ).fetchone()
        return int(row[0])

    def list_jobs(
        self,
        *,
        username: str | None = None,
        status: JobStatus | None = None,
        limit: int | None = None,
    ) -> tuple[Job, ...]:
        where: list[str] = []
        params: list[Any] = []
        if username is not None:
            where.append("username = ?")
            params.append(username)
        if status is not None:
            where.append("status = ?")
            params.append(status)
        sql = _SELECT_JOBS
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return tuple(_job(row) for row in self._x(sql, tuple(params)).fetchall())

    # -- sessions ---------------------------------------------------------
    def get_session(self, ticket: str) -> SessionRecord | None:
        row = self._x(
            "SELECT ticket, username, state, seq, expires_at, active FROM sessions "
            "WHERE ticket = ?",
            (ticket,),
        ).fetchone()
        return None if row is None else _session(row)

    def put_session(self, record: SessionRecord, *, expected_seq: int | None) -> SessionRecord:
        values = (record.username, record.state, _micros(record.expires_at), int(record.active))
        if expected_seq is None:
            try:
                self._x(
                    "INSERT INTO sessions (ticket, username, state, expires_at, active, seq) "
                    "VALUES (?, ?, ?, ?, ?, 0)",
                    (record.ticket, *values),
                )
            except sqlite3.IntegrityError:
                msg = "session changed concurrently (it already exists)"
                raise StaleSessionError(msg) from None
            seq = 0
        else:
            cursor = self._x(
                "UPDATE sessions SET username = ?, state = ?, expires_at = ?, active = ?, "
                "seq = seq + 1 WHERE ticket = ? AND seq = ? AND username = ?",
                (*values, record.ticket, expected_seq, record.username),
            )
            if cursor.rowcount != 1:
                msg = f"session changed concurrently (expected seq {expected_seq})"
                raise StaleSessionError(msg)
            seq = expected_seq + 1
        return SessionRecord(
            ticket=record.ticket,
            username=record.username,
            state=record.state,
            seq=seq,
            expires_at=_time(_micros(record.expires_at)),
            active=record.active,
        )

    def delete_session(self, ticket: str) -> None:
        self._x("DELETE FROM sessions WHERE ticket = ?", (ticket,))

    def sessions_for(self, username: str) -> tuple[SessionRecord, ...]:
        rows = self._x(
            "SELECT ticket, username, state, seq, expires_at, active FROM sessions "
            "WHERE username = ?",
            (username,),
        ).fetchall()
        return tuple(_session(row) for row in rows)

    def purge_sessions(self, now: dt.datetime) -> int:
        cursor = self._x("DELETE FROM sessions WHERE expires_at < ?", (_micros(now),))
        return int(cursor.rowcount)

    # -- settings ---------------------------------------------------------
    def get_setting(self, name: str) -> str | None:
        row = self._x("SELECT value FROM settings WHERE name = ?", (name,)).fetchone()
        return None if row is None else str(row[0])

    def put_setting(self, name: str, value: str) -> None:
        self._x("INSERT OR REPLACE INTO settings (name, value) VALUES (?, ?)", (name, value))

    # -- in flight --------------------------------------------------------
    def get_in_flight(self, username: str) -> InFlight | None:
        row = self._x(
            "SELECT username, message_set_id, job_ids, kind, version, ticket, sent_at "
            "FROM in_flight WHERE username = ?",
            (username,),
        ).fetchone()
        if row is None:
            return None
        return InFlight(
            username=row[0],
            message_set_id=row[1],
            job_ids=tuple(json.loads(row[2])),
            kind=row[3],
            version=row[4],
            ticket=row[5],
            sent_at=_time(row[6]),
        )

    def put_in_flight(self, in_flight: InFlight) -> None:
        self._x(
            "INSERT OR REPLACE INTO in_flight (username, message_set_id, job_ids, kind, "
            "version, ticket, sent_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                in_flight.username,
                in_flight.message_set_id,
                json.dumps(list(in_flight.job_ids)),
                in_flight.kind,
                in_flight.version,
                in_flight.ticket,
                _micros(in_flight.sent_at),
            ),
        )

    def clear_in_flight(self, username: str) -> None:
        self._x("DELETE FROM in_flight WHERE username = ?", (username,))


def _account(row: tuple[Any, ...]) -> Account:
    return Account(
        username=row[0],
        password_hash=row[1],
        file_id=UUID(row[2]),
        linked_file_id=None if row[3] is None else UUID(row[3]),
        company_file=row[4],
        company_name=row[5],
        linked_at=None if row[6] is None else _time(row[6]),
    )


def _job(row: tuple[Any, ...]) -> Job:
    error = None
    if row[10] is not None:
        error = JobError(code=row[10], message=row[11] or "", reference=row[12] or "")
    return Job(
        id=str(row[0]),
        username=row[1],
        key=row[2],
        request=row[3],
        request_type=row[4],
        min_version=row[5],
        status=cast(JobStatus, row[6]),
        attempts=row[7],
        txn_id=row[8],
        response=None if row[9] is None else JobResponse.from_dict(json.loads(row[9])),
        error=error,
        deferred_ticket=row[13],
        created_at=_time(row[14]),
        updated_at=_time(row[15]),
    )


def _session(row: tuple[Any, ...]) -> SessionRecord:
    return SessionRecord(
        ticket=row[0],
        username=row[1],
        state=row[2],
        seq=row[3],
        expires_at=_time(row[4]),
        active=bool(row[5]),
    )
