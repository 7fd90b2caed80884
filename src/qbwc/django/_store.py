"""
:class:`DjangoStore`: qbwc's PostgreSQL tables, reached through Django's own connection.

The same SQL as :class:`~qbwc.store.PostgresStore` (the same guarantees: account
claims, ``SKIP LOCKED``, compare-and-set), but each transaction is a
``transaction.atomic()`` block on ``connections[alias]``.  So:

- a job enqueued inside the host's own ``atomic()`` block commits or rolls back
  with the host's rows (an invoice and its QuickBooks job are saved together
  or not at all);
- Django's connection handling applies (``CONN_MAX_AGE``, Django's pool, the
  test runner's test database, ``TestCase`` rollbacks);
- the SQL is driver-neutral: tested with psycopg 3, written for psycopg 2 too.

An account claim taken inside the host's ``atomic()`` block lasts until that
block commits, so keep such blocks short.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, final

from django.db import DatabaseError, connections, transaction  # type: ignore[import-untyped]

from qbwc.store import StoreError
from qbwc.store._pg_sql import (
    POSTGRES_SCHEMA_VERSION,
    PostgresTransaction,
    SchemaStatus,
    fail,
    installed_version,
)

__all__ = ["DjangoStore"]


@final
class DjangoStore:
    """
    A :class:`~qbwc.store.Store` in the PostgreSQL database Django knows as *alias*.

    Args:
        alias: a key of ``settings.DATABASES`` (a PostgreSQL database whose
            qbwc tables ``manage.py migrate`` installed).
        lock_timeout: seconds a transaction waits for an account claim.

    Raises:
        StoreError: the database is not PostgreSQL, or its qbwc schema is
            missing or of another version (the message says what to run).
    """

    def __init__(self, alias: str = "default", *, lock_timeout: float = 10.0) -> None:
        if not 0 < lock_timeout <= 3600:
            msg = f"lock_timeout={lock_timeout!r}: expected 0 to 3600 seconds"
            raise ValueError(msg)
        self.alias = alias
        self._where = f"database {alias!r}"
        self._lock_timeout = f"{int(lock_timeout * 1000)}"
        self._local = threading.local()
        connection = connections[alias]
        if connection.vendor != "postgresql":
            msg = f"{self._where} is {connection.vendor}, not PostgreSQL"
            raise StoreError(msg)
        status = self.status()
        if not status.current:
            text = status.describe().replace("qbwc db upgrade --dsn ...", "manage.py migrate")
            msg = f"{self._where}: {text}"
            raise StoreError(msg)

    def __repr__(self) -> str:
        return f"<DjangoStore {self._where}>"

    def status(self) -> SchemaStatus:
        """The installed schema version and the one this qbwc needs."""
        try:
            with connections[self.alias].cursor() as cursor:
                version = installed_version(cursor, self._where)
        except DatabaseError as exc:
            fail(self._where, "cannot read the schema version", exc)
        return SchemaStatus(version=version, latest=POSTGRES_SCHEMA_VERSION)

    @contextmanager
    def transaction(self) -> Iterator[PostgresTransaction]:
        """One ``atomic()`` block (a savepoint inside the host's own, if any)."""
        if getattr(self._local, "active", False):
            msg = "transactions do not nest"
            raise StoreError(msg)
        self._local.active = True
        try:
            with transaction.atomic(using=self.alias), connections[self.alias].cursor() as cursor:
                cursor.execute("SELECT set_config('lock_timeout', %s, true)", (self._lock_timeout,))

                def execute(sql: str, params: tuple[Any, ...] = ()) -> Any:
                    cursor.execute(sql, params)
                    return cursor

                tx = PostgresTransaction(execute, self._where)
                try:
                    yield tx
                finally:
                    tx.closed = True
        except DatabaseError as exc:
            fail(self._where, "the transaction failed and was rolled back", exc)
        finally:
            self._local.active = False

    def close(self) -> None:
        """Nothing to release: the connection is Django's."""
