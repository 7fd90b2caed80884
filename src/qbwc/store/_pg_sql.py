"""
qbwc's PostgreSQL schema and SQL, independent of the driver.

:class:`~qbwc.store.PostgresStore` runs this SQL on psycopg 3 connections from
its own pool; ``qbwc.django`` runs it on Django's connection (psycopg 2 or 3).
Nothing here imports a driver.  The statements PostgreSQL shares with SQLite
are in ``_sql.py``; here are the migrations, the dialect and the account claim.
See ``_postgres.py`` for the theory of operation (claims, SKIP LOCKED,
compare-and-set).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, Final, NoReturn, final

import attrs

from qbwc.store._protocol import Account, StoreError, utc
from qbwc.store._sql import Dialect, SQLTransaction

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
POSTGRES_SCHEMA_VERSION: Final = 4

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
    linked_at      timestamptz,
    last_seen_at   timestamptz
)""",
        """CREATE TABLE qbwc_jobs (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username        text NOT NULL,
    key             text,
    request         text NOT NULL,
    request_type    text NOT NULL,
    min_version     text NOT NULL,
    status          text NOT NULL CHECK (status IN ('pending', 'sent', 'done', 'failed',
                                                 'cancelled')),
    attempts        integer NOT NULL DEFAULT 0,
    txn_id          text,
    response        jsonb,
    error_code      text,
    error_message   text,
    error_reference text,
    deferred_ticket text,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    qbxml           text,
    UNIQUE (username, key)
)""",
        "CREATE INDEX qbwc_jobs_queue ON qbwc_jobs (username, status, id)",
        "CREATE INDEX qbwc_jobs_user ON qbwc_jobs (username, id)",
        "CREATE INDEX qbwc_jobs_status ON qbwc_jobs (status, id)",
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
    # 2: login verifiers (docs/service.md, "Passwords").
    (
        """CREATE TABLE qbwc_login_verifiers (
    username   text PRIMARY KEY,
    digest     text NOT NULL,
    expires_at timestamptz NOT NULL
)""",
        "UPDATE qbwc_schema_version SET version = 2",
    ),
    # 3: any request is a job: dependencies, query pages (docs/service.md, "Any request").
    (
        "ALTER TABLE qbwc_jobs ADD COLUMN after_job bigint",
        "ALTER TABLE qbwc_jobs ADD COLUMN page_size integer",
        "ALTER TABLE qbwc_jobs ADD COLUMN pages integer NOT NULL DEFAULT 0",
        "ALTER TABLE qbwc_jobs ADD COLUMN records bigint NOT NULL DEFAULT 0",
        "CREATE INDEX qbwc_jobs_after ON qbwc_jobs (after_job) WHERE after_job IS NOT NULL",
        """CREATE TABLE qbwc_query_pages (
    job_id bigint NOT NULL,
    page   integer NOT NULL,
    rets   text NOT NULL,
    PRIMARY KEY (job_id, page)
)""",
        "UPDATE qbwc_schema_version SET version = 3",
    ),
    # 4: linkages, pulls, marks of delivered changes (docs/service.md, "Linkages and pulls").
    (
        """CREATE TABLE qbwc_links (
    username      text NOT NULL,
    key           text NOT NULL,
    type          text NOT NULL,
    list_id       text,
    txn_id        text,
    edit_sequence text,
    full_name     text,
    file_id       uuid NOT NULL,
    seen_at       timestamptz NOT NULL,
    PRIMARY KEY (username, key)
)""",
        "CREATE INDEX qbwc_links_list_id ON qbwc_links (username, list_id)",
        "CREATE INDEX qbwc_links_txn_id ON qbwc_links (username, txn_id)",
        """CREATE TABLE qbwc_follows (
    username   text NOT NULL,
    type       text NOT NULL,
    spec       text NOT NULL,
    state      text,
    file_id    uuid,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (username, type)
)""",
        """CREATE TABLE qbwc_pull_marks (
    username      text NOT NULL,
    type          text NOT NULL,
    object_id     text NOT NULL,
    edit_sequence text,
    file_id       uuid NOT NULL,
    seen_at       timestamptz NOT NULL,
    PRIMARY KEY (username, type, object_id)
)""",
        "UPDATE qbwc_schema_version SET version = 4",
    ),
)
assert len(_MIGRATIONS) == POSTGRES_SCHEMA_VERSION


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


class _PostgresDialect(Dialect):
    """PostgreSQL: ``%s`` markers, ``qbwc_`` tables, ``ON CONFLICT``; timestamptz, text[]."""

    def stamp(self, value: dt.datetime) -> dt.datetime:
        return utc(value)

    def time(self, value: Any) -> dt.datetime:
        return utc(value)

    def job_ids(self, ids: tuple[str, ...]) -> list[str]:
        return list(ids)

    def read_job_ids(self, value: Any) -> tuple[str, ...]:
        return tuple(value)


_DIALECT: Final = _PostgresDialect(
    placeholder="%s",
    prefix="qbwc_",
    upsert="on conflict",
    uuid_cast="::uuid",
    json_cast="::jsonb",
    distinct="IS DISTINCT FROM",
    binary_order=' COLLATE "C"',
    # SKIP LOCKED: a job row another transaction is changing is never handed out twice.
    queue_lock=" FOR UPDATE SKIP LOCKED",
    returning_id=True,
    hash_cost="split_part(password_hash, '$', 2)",
    in_flight_ids="SELECT unnest(job_ids)::bigint FROM qbwc_in_flight",
    max_params=65_535,  # the protocol's limit
)
_CLAIM_ACCOUNT: Final = _DIALECT.get_account + " FOR UPDATE"
_CLAIM_NAME: Final = f"SELECT pg_advisory_xact_lock({_ACCOUNT_LOCK}, hashtext(%s))"


class PostgresTransaction(SQLTransaction):
    """
    The operations of one transaction on PostgreSQL, over any DB-API driver.

    *execute* runs one statement with ``%s`` parameters and returns a cursor
    to fetch from (psycopg 3's ``Connection.execute``, or a wrapper around a
    psycopg 2 or Django cursor).  Values cross as plain types (UUIDs and JSON
    as text with casts), so every driver adapts them the same way.
    """

    def __init__(self, execute: Callable[[str, tuple[Any, ...]], Any], where: str) -> None:
        super().__init__(execute, _DIALECT, where)

    def _x(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        try:
            return super()._x(sql, params)
        except Exception as exc:
            if _sqlstate(exc) == "55P03":  # lock_not_available: lock_timeout expired
                fail(self.where, "another worker held the account too long; try again", exc)
            raise

    def get_account(self, username: str, *, for_update: bool = False) -> Account | None:
        if not for_update:
            return super().get_account(username)
        # An existing account: its row lock is the claim (accounts are never deleted).
        row = self._x(_CLAIM_ACCOUNT, (username,)).fetchone()
        if row is None:
            # No row yet: claim the name itself, then look again (another worker may have
            # created it meanwhile; READ COMMITTED shows what it committed).
            self._x(_CLAIM_NAME, (username,))
            row = self._x(_CLAIM_ACCOUNT, (username,)).fetchone()
        return None if row is None else self._account(row)

    def drop_login_verifier(self, username: str, *, refused: bool = False) -> None:
        if refused:
            # Its own transaction: deleting a row would otherwise wait for a WAL flush that
            # deleting nothing does not, and tell an account from an unknown name.
            self._x("SET LOCAL synchronous_commit TO OFF")
        super().drop_login_verifier(username)


def _sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of a driver error (psycopg 3, psycopg 2, or wrapped by Django)."""
    for error in (exc, exc.__cause__):
        if error is None:
            continue
        code = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
        if code:
            return str(code)
    return None
