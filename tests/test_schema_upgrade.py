"""
Schema version 4 from a version-3 (and a version-2, a version-1) database in use.

A service works on a database until it holds an account linked to its company file,
finished jobs, pending jobs, and a message set in flight whose answer was lost
(QuickBooks ran it).  The database is then taken back to the layout of the earlier
version (the tables and columns a version-2 or version-1 qbwc made; the test checks
they are exactly those), the store is opened (SQLite upgrades on open; PostgreSQL
with ``postgres_upgrade``), and a new service finishes the sync: the lost set is
recovered from QuickBooks, every job is done once, nothing is written twice, and
the new features (``after=``; linkages, pulls and marks) work on the upgraded
database.  The helpers are in tests/schema_in_use.py; the Django case (``manage.py
migrate``) is in tests/test_django.py.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from qbwc.store import SQLiteStore, Store
from tests.schema_in_use import down_to, finish, in_use, pg_columns


def _sqlite_columns(conn: sqlite3.Connection) -> dict[str, list[tuple[Any, ...]]]:
    tables = [
        row[0]
        for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name != 'sqlite_sequence' "
            "ORDER BY name"
        )
    ]
    return {t: conn.execute(f"PRAGMA table_info({t})").fetchall() for t in tables}


def _sqlite_made_by(version: int, path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """The tables and columns a version-*version* qbwc makes in an empty SQLite file."""
    from qbwc.store import _sqlite

    schema = _sqlite._SCHEMA.removesuffix(_sqlite._UPGRADE_3_TO_4)
    if version <= 2:
        schema = schema.removesuffix(_sqlite._UPGRADE_2_TO_3)
    if version == 1:
        schema = schema.removesuffix(_sqlite._UPGRADE_1_TO_2)
    conn = sqlite3.connect(path)
    conn.executescript(schema)
    columns = _sqlite_columns(conn)
    conn.close()
    return columns


@pytest.mark.parametrize("version", [3, 2, 1])
def test_sqlite_database_in_use_upgraded(version: int, tmp_path: Path) -> None:
    path = tmp_path / "qbwc.sqlite"
    rig, ids = in_use(SQLiteStore(path))
    rig.store.close()
    conn = sqlite3.connect(path)
    for statement in down_to(version):
        conn.execute(statement.format(p=""))
    conn.commit()
    assert _sqlite_columns(conn) == _sqlite_made_by(version, tmp_path / "old.sqlite")
    conn.close()

    store = SQLiteStore(path)  # upgraded in place
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(4,)]
    conn.close()
    finish(rig, ids, store=store)
    store.close()


@pytest.mark.parametrize("version", [3, 2, 1])
def test_postgres_database_in_use_upgraded(version: int) -> None:
    from tests.postgres import create_database

    psycopg = pytest.importorskip("psycopg")
    from qbwc.store import PostgresStore, postgres_migrations, postgres_upgrade

    dsn = create_database(f"qbwc_upgrade_{version}")
    postgres_upgrade(dsn)
    store: Callable[[], Store] = lambda: PostgresStore(dsn)  # noqa: E731
    rig, ids = in_use(store())
    rig.store.close()
    old = create_database(f"qbwc_made_by_{version}")
    with psycopg.connect(old) as conn:  # what the version-N migrations make
        for statement in postgres_migrations()[: -len(postgres_migrations(version))]:
            conn.execute(statement)
        made = pg_columns(conn)
    with psycopg.connect(dsn) as conn:
        for statement in down_to(version):
            conn.execute(statement.format(p="qbwc_"))
        assert pg_columns(conn) == made
    assert postgres_upgrade(dsn) == (version, 4)
    upgraded = store()
    finish(rig, ids, store=upgraded)
    upgraded.close()
