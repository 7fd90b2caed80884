"""
The PostgreSQL store: several worker processes on several machines, one database.

Needs the ``postgres`` extra (``pip install 'qbwc-toolkit[postgres]'``: psycopg 3
and psycopg-pool); ``qbwc.store`` imports it on first use only.  The SQL
itself, which does not depend on the driver, is in ``_pg_sql.py`` (and the
statements shared with SQLite in ``_sql.py``).

Theory of operation
-------------------

Every :meth:`PostgresStore.transaction` is one PostgreSQL transaction at READ
COMMITTED on a pooled connection, so each statement sees what other workers
committed before it.  The account claim (``get_account(name,
for_update=True)``) is ``SELECT … FOR UPDATE`` on the account's row; when there
is no row yet (accounts are never deleted), a transaction-scoped advisory lock
on the username serialises the workers that would create it, and the row is
read again under that lock.  Every service path claims the account
before it touches the account's jobs, sessions or in-flight set, so those
paths run one at a time per account, on any number of machines.  On top of
that, :meth:`next_pending` reads the queue with ``FOR UPDATE SKIP LOCKED``: a
job row some other transaction is changing is never handed out twice.
Sessions are written with compare-and-set on ``seq``.  Constraint conflicts
(a reused job key, a session that exists) use ``ON CONFLICT DO NOTHING`` so the
transaction stays usable after the error is reported.

The schema is created and upgraded explicitly and is versioned (table
``qbwc_schema_version``); see :func:`postgres_migrations` and
:func:`postgres_upgrade`.  Every table name starts with ``qbwc_``, so the tables
can live in the host's own database (or put ``options=-c search_path=qbwc`` in
the DSN for a schema of their own).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, final

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool, PoolTimeout

from qbwc.store._pg_sql import (
    POSTGRES_SCHEMA_VERSION,
    PostgresTransaction,
    SchemaStatus,
    fail,
    installed_version,
    postgres_migrations,
    upgrade_with_cursor,
)
from qbwc.store._protocol import StoreError

__all__ = [
    "POSTGRES_SCHEMA_VERSION",
    "PostgresStore",
    "SchemaStatus",
    "postgres_migrations",
    "postgres_status",
    "postgres_upgrade",
]


def _where(dsn: str) -> str:
    """Where *dsn* points, without its password (for messages)."""
    try:
        params = conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "PostgreSQL (unreadable DSN)"
    host = params.get("host") or params.get("hostaddr") or "localhost"
    port = params.get("port") or "5432"
    name = params.get("dbname") or params.get("user") or ""
    return f"PostgreSQL {host}:{port}/{name}"


def _connect(dsn: str, *, where: str, connect_timeout: float) -> psycopg.Connection[Any]:
    try:
        return psycopg.connect(dsn, autocommit=True, connect_timeout=max(1, int(connect_timeout)))
    except psycopg.Error as exc:
        fail(where, "cannot connect", exc)


def postgres_status(dsn: str, *, connect_timeout: float = 10.0) -> SchemaStatus:
    """
    The qbwc schema version of the database at *dsn*, and the one this qbwc needs.

    Raises:
        StoreError: the server cannot be reached, or the version table is damaged.
    """
    where = _where(dsn)
    with _connect(dsn, where=where, connect_timeout=connect_timeout) as conn:
        try:
            version = installed_version(conn.cursor(), where)
        except psycopg.Error as exc:
            fail(where, "cannot read the schema version", exc)
    return SchemaStatus(version=version, latest=POSTGRES_SCHEMA_VERSION)


def postgres_upgrade(dsn: str, *, connect_timeout: float = 10.0) -> tuple[int, int]:
    """
    Create or upgrade qbwc's tables in the database at *dsn*; return (before, after) versions.

    Runs in one transaction under an advisory lock, so several processes may
    call it at once (one upgrades, the others then find it done) and a failure
    leaves the database as it was.  Tables that are not qbwc's are never touched.

    Raises:
        StoreError: the server cannot be reached, the database was written by a
            newer qbwc, or a statement failed (nothing was changed).
    """
    where = _where(dsn)
    with _connect(dsn, where=where, connect_timeout=connect_timeout) as conn:
        try:
            with conn.transaction():
                return upgrade_with_cursor(conn.cursor(), where)
        except psycopg.Error as exc:
            fail(where, "the upgrade failed and was rolled back", exc)


@final
class PostgresStore:
    """
    A :class:`~qbwc.store.Store` in a PostgreSQL database (psycopg 3 with a connection pool).

    Safe with any number of worker processes on any number of machines: see the
    module's theory of operation.  Each process opens its own pool (also after
    a fork, e.g. gunicorn's ``--preload``), of at most *pool_size* connections;
    a sync worker needs one, a threaded worker one per thread.

    The schema must be installed first (``qbwc db upgrade --dsn ...`` or
    :func:`~qbwc.store.postgres_upgrade`), or pass *upgrade* to do it here.

    Args:
        dsn: a libpq connection string or URL
            (``postgresql://qbwc@db.internal/billing``).
        pool_size: connections per process, at most.
        upgrade: create or upgrade the schema first (fine for one machine and
            for tests; a fleet should upgrade once, before the deploy).
        lock_timeout: seconds a transaction waits for a row or account claim
            before it fails (the Web Connector gets a fault and retries later).
        connect_timeout: seconds to wait for the server when connecting, and
            for a free connection in the pool.

    Raises:
        StoreError: the server cannot be reached, or its qbwc schema is missing,
            older or newer than this qbwc's (the message says what to run).
    """

    def __init__(
        self,
        dsn: str,
        *,
        pool_size: int = 4,
        upgrade: bool = False,
        lock_timeout: float = 10.0,
        connect_timeout: float = 10.0,
    ) -> None:
        if type(pool_size) is not int or not 1 <= pool_size <= 1000:
            msg = f"pool_size={pool_size!r}: expected an int from 1 to 1000"
            raise ValueError(msg)
        if not 0 < lock_timeout <= 3600:
            msg = f"lock_timeout={lock_timeout!r}: expected 0 to 3600 seconds"
            raise ValueError(msg)
        self._dsn = dsn
        self._where = _where(dsn)
        self.pool_size = pool_size
        self._lock_timeout_ms = int(lock_timeout * 1000)
        self._connect_timeout = float(connect_timeout)
        self._pool: ConnectionPool[psycopg.Connection[Any]] | None = None
        self._pid = 0
        self._pool_lock = threading.Lock()
        self._local = threading.local()
        self._closed = False
        if upgrade:
            postgres_upgrade(dsn, connect_timeout=connect_timeout)
        status = postgres_status(dsn, connect_timeout=connect_timeout)
        if not status.current:
            msg = f"{self._where}: {status.describe()}"
            raise StoreError(msg)

    def __repr__(self) -> str:
        return f"<PostgresStore {self._where}>"

    def _configure(self, conn: psycopg.Connection[Any]) -> None:
        conn.isolation_level = psycopg.IsolationLevel.READ_COMMITTED
        conn.execute("SELECT set_config('lock_timeout', %s, false)", (f"{self._lock_timeout_ms}",))

    def _get_pool(self) -> ConnectionPool[psycopg.Connection[Any]]:
        if self._closed:
            msg = f"{self!r} is closed"
            raise StoreError(msg)
        pool, pid = self._pool, os.getpid()
        if pool is not None and self._pid == pid:
            return pool
        with self._pool_lock:
            if self._pool is None or self._pid != pid:
                # A forked worker never uses its parent's connections: a new pool.
                self._pool = ConnectionPool(
                    self._dsn,
                    min_size=1,
                    max_size=self.pool_size,
                    kwargs={
                        "autocommit": True,
                        "connect_timeout": max(1, int(self._connect_timeout)),
                    },
                    configure=self._configure,
                    timeout=self._connect_timeout,
                    name="qbwc",
                    open=True,
                )
                self._pid = pid
            return self._pool

    @contextmanager
    def transaction(self) -> Iterator[PostgresTransaction]:
        """Run the block as one READ COMMITTED transaction (see :class:`~qbwc.store.Store`)."""
        if getattr(self._local, "active", False):
            msg = "transactions do not nest"
            raise StoreError(msg)
        pool = self._get_pool()
        self._local.active = True
        tx: PostgresTransaction | None = None
        try:
            with pool.connection() as conn, conn.transaction():
                tx = PostgresTransaction(conn.execute, self._where)
                try:
                    yield tx
                finally:
                    tx.closed = True
        except PoolTimeout as exc:
            fail(self._where, "no database connection became free", exc)
        except psycopg.Error as exc:
            fail(self._where, "the transaction failed and was rolled back", exc)
        finally:
            self._local.active = False

    def close(self) -> None:
        """Close this process's pool."""
        with self._pool_lock:
            if self._pool is not None and self._pid == os.getpid():
                self._pool.close()
            self._pool = None
            self._closed = True
