"""
qbwc's PostgreSQL schema and SQL, independent of the driver.

:class:`~qbwc.store.PostgresStore` runs this SQL on psycopg 3 connections from
its own pool; ``qbwc.django`` runs it on Django's connection (psycopg 2 or 3).
Nothing here imports a driver.  See ``_postgres.py`` for the theory of
operation (claims, SKIP LOCKED, compare-and-set).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any, Final, Literal, NoReturn, cast, final
from uuid import UUID

import attrs

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
    utc,
)

__all__ = [
    "POSTGRES_SCHEMA_VERSION",
    "PostgresTransaction",
    "SchemaStatus",
    "fail",
    "installed_version",
    "postgres_migrations",
    "upgrade_with_cursor",
]

#: The schema version this qbwc reads and writes.
POSTGRES_SCHEMA_VERSION: Final = 1

# Advisory lock class ids ("QBWC" and "QBWD"): accounts and schema upgrades.
_ACCOUNT_LOCK: Final = 0x51425743
_UPGRADE_LOCK: Final = 0x51425744

# MIGRATIONS[n] takes the schema from version n to n + 1.  Never edit a
# released entry: append one.
_MIGRATIONS: Final[tuple[tuple[str, ...], ...]] = (
    (
        """CREATE TABLE qbwc_schema_version (
    version     integer NOT NULL,
    upgraded_at timestamptz NOT NULL DEFAULT now()
)""",
        """CREATE TABLE qbwc_accounts (
    username       text PRIMARY KEY,
    password_hash  text,
    file_id        uuid NOT NULL,
    linked_file_id uuid,
    company_file   text,
    company_name   text,
    linked_at      timestamptz
)""",
        """CREATE TABLE qbwc_jobs (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username        text NOT NULL,
    key             text,
    request         text NOT NULL,
    request_type    text NOT NULL,
    min_version     text NOT NULL,
    status          text NOT NULL CHECK (status IN ('pending', 'sent', 'done', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    txn_id          text,
    response        jsonb,
    error_code      text,
    error_message   text,
    error_reference text,
    deferred_ticket text,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    UNIQUE (username, key)
)""",
        "CREATE INDEX qbwc_jobs_queue ON qbwc_jobs (username, status, id)",
        """CREATE TABLE qbwc_sessions (
    ticket     text PRIMARY KEY,
    username   text NOT NULL,
    state      text NOT NULL,
    seq        bigint NOT NULL,
    expires_at timestamptz NOT NULL,
    active     boolean NOT NULL
)""",
        "CREATE INDEX qbwc_sessions_user ON qbwc_sessions (username)",
        "CREATE INDEX qbwc_sessions_expiry ON qbwc_sessions (expires_at)",
        """CREATE TABLE qbwc_in_flight (
    username       text PRIMARY KEY,
    message_set_id text NOT NULL,
    job_ids        text[] NOT NULL,
    kind           text NOT NULL CHECK (kind IN ('write', 'check', 'clear')),
    version        text NOT NULL,
    ticket         text NOT NULL,
    sent_at        timestamptz NOT NULL
)""",
        """CREATE TABLE qbwc_settings (
    name  text PRIMARY KEY,
    value text NOT NULL
)""",
        "INSERT INTO qbwc_schema_version (version) VALUES (1)",
    ),
)
assert len(_MIGRATIONS) == POSTGRES_SCHEMA_VERSION

_SELECT_JOBS: Final = (
    "SELECT id, username, key, request, request_type, min_version, status, attempts, txn_id, "
    "response, error_code, error_message, error_reference, deferred_ticket, created_at, "
    "updated_at FROM qbwc_jobs"
)
_SELECT_ACCOUNTS: Final = (
    "SELECT username, password_hash, file_id, linked_file_id, company_file, company_name, "
    "linked_at FROM qbwc_accounts"
)
_SELECT_SESSIONS: Final = (
    "SELECT ticket, username, state, seq, expires_at, active FROM qbwc_sessions"
)
_BIGINT_MAX: Final = 2**63 - 1


def postgres_migrations(since: int = 0) -> list[str]:
    """
    The SQL statements that take qbwc's PostgreSQL schema from version *since* to the newest.

    For hosts that run their own migrations (Alembic, Django, Flyway, plain
    psql): run them in order, in one transaction.  Each version's statements
    end by recording the version in ``qbwc_schema_version``.  ``since=0`` is an
    empty database.

    Raises:
        ValueError: *since* is not a version this qbwc knows.
    """
    if not 0 <= since <= POSTGRES_SCHEMA_VERSION:
        msg = f"since={since!r}: expected 0 to {POSTGRES_SCHEMA_VERSION}"
        raise ValueError(msg)
    return [statement for step in _MIGRATIONS[since:] for statement in step]


@final
@attrs.frozen(kw_only=True)
class SchemaStatus:
    """
    Where a database stands: its qbwc schema version and the one this qbwc needs.

    Attributes:
        version: the installed version (0: no qbwc tables yet).
        latest: the version this qbwc reads and writes.
    """

    version: int
    latest: int

    @property
    def current(self) -> bool:
        """The database is at exactly the version this qbwc needs."""
        return self.version == self.latest

    def describe(self) -> str:
        """One line for a person: where the schema stands and what to do."""
        if self.version == 0:
            return f"no qbwc schema (needs version {self.latest}): run `qbwc db upgrade --dsn ...`"
        if self.version < self.latest:
            return (
                f"qbwc schema version {self.version}, this qbwc needs version {self.latest}: "
                "run `qbwc db upgrade --dsn ...`"
            )
        if self.version > self.latest:
            return (
                f"qbwc schema version {self.version} was written by a newer qbwc; this qbwc "
                f"reads version {self.latest}: upgrade qbwc (pip install -U qbwc-toolkit)"
            )
        return f"qbwc schema version {self.version} (current)"


def fail(where: str, what: str, exc: BaseException) -> NoReturn:
    """Raise a StoreError saying *where*, *what* failed, and the driver's first line."""
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    msg = f"{where}: {what} ({detail})"
    raise StoreError(msg) from exc


def installed_version(cursor: Any, where: str) -> int:
    """The schema version recorded in the database (0: none), via a DB-API cursor."""
    cursor.execute("SELECT to_regclass('qbwc_schema_version') IS NOT NULL")
    row = cursor.fetchone()
    if row is None or not row[0]:
        return 0
    cursor.execute("SELECT version FROM qbwc_schema_version")
    rows = cursor.fetchall()
    if len(rows) != 1 or not isinstance(rows[0][0], int) or rows[0][0] < 1:
        msg = f"{where}: qbwc_schema_version is damaged (expected one row with a version)"
        raise StoreError(msg)
    return int(rows[0][0])


def upgrade_with_cursor(cursor: Any, where: str) -> tuple[int, int]:
    """
    Bring the schema up to date through a DB-API *cursor* already inside a transaction.

    For callers that own the connection (``qbwc.django``'s migration runs on
    Django's); the caller commits.  Returns (before, after) versions.
    """
    cursor.execute("SELECT pg_advisory_xact_lock(%s, 0)", (_UPGRADE_LOCK,))
    before = installed_version(cursor, where)
    if before > POSTGRES_SCHEMA_VERSION:
        status = SchemaStatus(version=before, latest=POSTGRES_SCHEMA_VERSION)
        msg = f"{where}: {status.describe()}"
        raise StoreError(msg)
    for statement in postgres_migrations(before):
        cursor.execute(statement)
    if before:
        cursor.execute(
            "UPDATE qbwc_schema_version SET version = %s, upgraded_at = now()",
            (POSTGRES_SCHEMA_VERSION,),
        )
    return before, POSTGRES_SCHEMA_VERSION


class PostgresTransaction:
    """
    The operations of one transaction on PostgreSQL, over any DB-API driver.

    *execute* runs one statement with ``%s`` parameters and returns a cursor
    to fetch from (psycopg 3's ``Connection.execute``, or a wrapper around a
    psycopg 2 or Django cursor).  Values cross as plain types (UUIDs and JSON
    as text with casts), so every driver adapts them the same way.
    """

    def __init__(self, execute: Callable[[str, tuple[Any, ...]], Any], where: str) -> None:
        self.execute = execute
        self.where = where
        self.closed = False

    def _x(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        if self.closed:
            msg = "the transaction has ended"
            raise StoreError(msg)
        try:
            return self.execute(sql, params)
        except Exception as exc:
            if _sqlstate(exc) == "55P03":  # lock_not_available: lock_timeout expired
                fail(self.where, "another worker held the account too long; try again", exc)
            raise

    # -- accounts ---------------------------------------------------------
    def get_account(self, username: str, *, for_update: bool = False) -> Account | None:
        if not for_update:
            row = self._x(_SELECT_ACCOUNTS + " WHERE username = %s", (username,)).fetchone()
            return None if row is None else _account(row)
        # An existing account: its row lock is the claim (accounts are never deleted).
        row = self._x(_SELECT_ACCOUNTS + " WHERE username = %s FOR UPDATE", (username,)).fetchone()
        if row is None:
            # No row yet: claim the name itself, then look again (another worker may have
            # created it meanwhile; READ COMMITTED shows what it committed).
            self._x("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (_ACCOUNT_LOCK, username))
            row = self._x(
                _SELECT_ACCOUNTS + " WHERE username = %s FOR UPDATE", (username,)
            ).fetchone()
        return None if row is None else _account(row)

    def put_account(self, account: Account) -> None:
        self._x(
            "INSERT INTO qbwc_accounts (username, password_hash, file_id, linked_file_id, "
            "company_file, company_name, linked_at) "
            "VALUES (%s, %s, %s::uuid, %s::uuid, %s, %s, %s) "
            "ON CONFLICT (username) DO UPDATE SET password_hash = EXCLUDED.password_hash, "
            "file_id = EXCLUDED.file_id, linked_file_id = EXCLUDED.linked_file_id, "
            "company_file = EXCLUDED.company_file, company_name = EXCLUDED.company_name, "
            "linked_at = EXCLUDED.linked_at",
            (
                account.username,
                account.password_hash,
                str(account.file_id),
                None if account.linked_file_id is None else str(account.linked_file_id),
                account.company_file,
                account.company_name,
                None if account.linked_at is None else utc(account.linked_at),
            ),
        )

    def list_accounts(self) -> tuple[Account, ...]:
        rows = self._x(_SELECT_ACCOUNTS + ' ORDER BY username COLLATE "C"').fetchall()
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
        stamp = utc(now)
        row = self._x(
            "INSERT INTO qbwc_jobs (username, key, request, request_type, min_version, status, "
            "created_at, updated_at) VALUES (%s, %s, %s, %s, %s, 'pending', %s, %s) "
            "ON CONFLICT DO NOTHING RETURNING id",
            (username, key, request, request_type, min_version, stamp, stamp),
        ).fetchone()
        if row is None:
            msg = f"account {username!r} already has a job with key {key!r}"
            raise StoreError(msg)
        return Job(
            id=str(row[0]),
            username=username,
            key=key,
            request=request,
            request_type=request_type,
            min_version=min_version,
            created_at=stamp,
            updated_at=stamp,
        )

    def get_job(self, job_id: str) -> Job | None:
        if not job_id.isascii() or not job_id.isdigit() or int(job_id) > _BIGINT_MAX:
            return None
        row = self._x(_SELECT_JOBS + " WHERE id = %s", (int(job_id),)).fetchone()
        return None if row is None else _job(row)

    def find_job(self, username: str, key: str) -> Job | None:
        row = self._x(
            _SELECT_JOBS + " WHERE username = %s AND key = %s", (username, key)
        ).fetchone()
        return None if row is None else _job(row)

    def put_job(self, job: Job) -> None:
        error = job.error
        found = None
        if job.id.isascii() and job.id.isdigit() and int(job.id) <= _BIGINT_MAX:
            found = self._x(
                "UPDATE qbwc_jobs SET status = %s, attempts = %s, txn_id = %s, "
                "response = %s::jsonb, error_code = %s, error_message = %s, error_reference = %s, "
                "deferred_ticket = %s, updated_at = %s "
                "WHERE id = %s AND username = %s AND request = %s RETURNING id",
                (
                    job.status,
                    job.attempts,
                    job.txn_id,
                    None if job.response is None else json.dumps(job.response.to_dict()),
                    None if error is None else error.code,
                    None if error is None else error.message,
                    None if error is None else error.reference,
                    job.deferred_ticket,
                    utc(job.updated_at),
                    int(job.id),
                    job.username,
                    job.request,
                ),
            ).fetchone()
        if found is None:
            msg = f"job {job.id} does not exist (or its account or request changed)"
            raise StoreError(msg)

    def next_pending(
        self, username: str, *, limit: int, exclude_ticket: str | None = None
    ) -> tuple[Job, ...]:
        # SKIP LOCKED: a job row another transaction is changing is never handed out twice.
        rows = self._x(
            _SELECT_JOBS + " WHERE username = %s AND status = 'pending' "
            "AND (deferred_ticket IS NULL OR deferred_ticket IS DISTINCT FROM %s) "
            "ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED",
            (username, exclude_ticket, limit),
        ).fetchall()
        return tuple(_job(row) for row in rows)

    def count_jobs(self, username: str, status: JobStatus) -> int:
        row = self._x(
            "SELECT count(*) FROM qbwc_jobs WHERE username = %s AND status = %s",
            (username, status),
        ).fetchone()
        return 0 if row is None else int(row[0])

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
            where.append("username = %s")
            params.append(username)
        if status is not None:
            where.append("status = %s")
            params.append(status)
        sql = _SELECT_JOBS
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id"
        if limit is not None:
            sql += " LIMIT %s"
            params.append(limit)
        return tuple(_job(row) for row in self._x(sql, tuple(params)).fetchall())

    # -- sessions ---------------------------------------------------------
    def get_session(self, ticket: str) -> SessionRecord | None:
        row = self._x(_SELECT_SESSIONS + " WHERE ticket = %s", (ticket,)).fetchone()
        return None if row is None else _session(row)

    def put_session(self, record: SessionRecord, *, expected_seq: int | None) -> SessionRecord:
        expires = utc(record.expires_at)
        if expected_seq is None:
            row = self._x(
                "INSERT INTO qbwc_sessions (ticket, username, state, seq, expires_at, active) "
                "VALUES (%s, %s, %s, 0, %s, %s) "
                "ON CONFLICT (ticket) DO NOTHING RETURNING seq",
                (record.ticket, record.username, record.state, expires, record.active),
            ).fetchone()
            if row is None:
                msg = "session changed concurrently (it already exists)"
                raise StaleSessionError(msg)
        else:
            row = self._x(
                "UPDATE qbwc_sessions SET state = %s, expires_at = %s, active = %s, "
                "seq = seq + 1 WHERE ticket = %s AND seq = %s AND username = %s RETURNING seq",
                (record.state, expires, record.active, record.ticket, expected_seq,
                 record.username),
            ).fetchone()  # fmt: skip
            if row is None:
                msg = f"session changed concurrently (expected seq {expected_seq})"
                raise StaleSessionError(msg)
        return attrs.evolve(record, seq=int(row[0]), expires_at=expires)

    def delete_session(self, ticket: str) -> None:
        self._x("DELETE FROM qbwc_sessions WHERE ticket = %s", (ticket,))

    def sessions_for(self, username: str) -> tuple[SessionRecord, ...]:
        rows = self._x(_SELECT_SESSIONS + " WHERE username = %s", (username,)).fetchall()
        return tuple(_session(row) for row in rows)

    def purge_sessions(self, now: dt.datetime) -> int:
        cursor = self._x("DELETE FROM qbwc_sessions WHERE expires_at < %s", (utc(now),))
        return int(cursor.rowcount)

    # -- settings ---------------------------------------------------------
    def get_setting(self, name: str) -> str | None:
        row = self._x("SELECT value FROM qbwc_settings WHERE name = %s", (name,)).fetchone()
        return None if row is None else str(row[0])

    def put_setting(self, name: str, value: str) -> None:
        self._x(
            "INSERT INTO qbwc_settings (name, value) VALUES (%s, %s) "
            "ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value",
            (name, value),
        )

    # -- in flight --------------------------------------------------------
    def get_in_flight(self, username: str) -> InFlight | None:
        row = self._x(
            "SELECT username, message_set_id, job_ids, kind, version, ticket, sent_at "
            "FROM qbwc_in_flight WHERE username = %s",
            (username,),
        ).fetchone()
        if row is None:
            return None
        kind = cast(Literal["write", "check", "clear"], row[3])
        return InFlight(
            username=row[0],
            message_set_id=row[1],
            job_ids=tuple(row[2]),
            kind=kind,
            version=row[4],
            ticket=row[5],
            sent_at=utc(row[6]),
        )

    def put_in_flight(self, in_flight: InFlight) -> None:
        self._x(
            "INSERT INTO qbwc_in_flight (username, message_set_id, job_ids, kind, version, "
            "ticket, sent_at) VALUES (%s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (username) DO UPDATE SET message_set_id = EXCLUDED.message_set_id, "
            "job_ids = EXCLUDED.job_ids, kind = EXCLUDED.kind, version = EXCLUDED.version, "
            "ticket = EXCLUDED.ticket, sent_at = EXCLUDED.sent_at",
            (
                in_flight.username,
                in_flight.message_set_id,
                list(in_flight.job_ids),
                in_flight.kind,
                in_flight.version,
                in_flight.ticket,
                utc(in_flight.sent_at),
            ),
        )

    def clear_in_flight(self, username: str) -> None:
        self._x("DELETE FROM qbwc_in_flight WHERE username = %s", (username,))


def _account(row: tuple[Any, ...]) -> Account:
    return Account(
        username=row[0],
        password_hash=row[1],
        file_id=_uuid(row[2]),
        linked_file_id=None if row[3] is None else _uuid(row[3]),
        company_file=row[4],
        company_name=row[5],
        linked_at=None if row[6] is None else utc(row[6]),
    )


def _json(value: Any) -> dict[str, Any]:
    # psycopg loads jsonb as a dict; Django's psycopg setup leaves it as text.
    data = json.loads(value) if isinstance(value, str | bytes) else value
    if not isinstance(data, dict):
        msg = f"a stored job response is not a JSON object: {data!r}"
        raise StoreError(msg)
    return data


def _sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of a driver error (psycopg 3, psycopg 2, or wrapped by Django)."""
    for error in (exc, exc.__cause__):
        if error is None:
            continue
        code = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
        if code:
            return str(code)
    return None


def _uuid(value: Any) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))


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
        response=None if row[9] is None else JobResponse.from_dict(_json(row[9])),
        error=error,
        deferred_ticket=row[13],
        created_at=utc(row[14]),
        updated_at=utc(row[15]),
    )


def _session(row: tuple[Any, ...]) -> SessionRecord:
    return SessionRecord(
        ticket=row[0],
        username=row[1],
        state=row[2],
        seq=int(row[3]),
        expires_at=utc(row[4]),
        active=bool(row[5]),
    )
