"""
Schema version 3 from a version-2 (and a version-1) database in use.

A service works on a database until it holds an account linked to its company file,
finished jobs, pending jobs, and a message set in flight whose answer was lost
(QuickBooks ran it).  The database is then taken back to the layout of the earlier
version (the tables and columns a version-2 or version-1 qbwc made; the test checks
they are exactly those), the store is opened (SQLite upgrades on open; PostgreSQL
with ``postgres_upgrade``), and a new service finishes the sync: the lost set is
recovered from QuickBooks, every job is done once, nothing is written twice, and
the new features (``after=``) work on the upgraded database.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from qbwc import RequestXML
from qbwc.store import SQLiteStore, Store
from tests.rig import USER, DirectWC, Rig, invoice

# What version 3 added, and version 2 (docs/service.md, "Any request"; "Passwords").
_DOWN_TO_2 = (
    "DROP INDEX {p}jobs_after",
    "DROP TABLE {p}query_pages",
    "ALTER TABLE {p}jobs DROP COLUMN after_job",
    "ALTER TABLE {p}jobs DROP COLUMN page_size",
    "ALTER TABLE {p}jobs DROP COLUMN pages",
    "ALTER TABLE {p}jobs DROP COLUMN records",
    "UPDATE {p}schema_version SET version = 2",
)
_DOWN_TO_1 = (
    "DROP TABLE {p}login_verifiers",
    "UPDATE {p}schema_version SET version = 1",
)


def _in_use(store: Store) -> tuple[Rig, list[str]]:
    """A rig whose store holds done, pending and in-flight jobs; QuickBooks ran the set."""
    rig = Rig(store)
    (first,) = rig.enqueue("U-1")
    result = rig.run()
    assert rig.job(first).status == "done", result
    jobs = rig.enqueue("U-2", "U-3", "U-4")
    wc = DirectWC(rig)
    wc.authenticate()
    assert isinstance(wc.request(), RequestXML)
    wc.run_quickbooks()  # ... and the answer is lost
    assert rig.job(jobs[0]).status == "sent"
    assert rig.ref_numbers() == ["U-1", "U-2"]
    return rig, [first.id, *(job.id for job in jobs)]


def _finish(rig: Rig, store: Store, ids: list[str]) -> None:
    """A new service on the upgraded store finishes the sync, exactly once."""
    rig.restart(store)
    rig.clock.advance(rig.service.session_timeout + 1)
    rig.run()
    rig.run()
    jobs = [rig.service.job(job_id) for job_id in ids]
    assert [job.status for job in jobs if job is not None] == ["done"] * 4
    assert sorted(rig.ref_numbers()) == ["U-1", "U-2", "U-3", "U-4"]  # each once
    assert {job.txn_id for job in jobs if job is not None} == {
        ret.txn_id for ret in rig.qb.invoices
    }
    # Version 3 at work on the upgraded database: a job waits for another.
    first = rig.service.enqueue(USER, invoice("U-5"))
    second = rig.service.enqueue(USER, invoice("U-6"), after=first)
    assert second.after == first.id
    rig.run()
    assert rig.service.job(second.id).status == "done"  # type: ignore[union-attr]
    assert sorted(rig.ref_numbers())[-2:] == ["U-5", "U-6"]


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

    schema = _sqlite._SCHEMA.removesuffix(_sqlite._UPGRADE_2_TO_3)
    if version == 1:
        schema = schema.removesuffix(_sqlite._UPGRADE_1_TO_2)
    conn = sqlite3.connect(path)
    conn.executescript(schema)
    columns = _sqlite_columns(conn)
    conn.close()
    return columns


@pytest.mark.parametrize("version", [2, 1])
def test_sqlite_database_in_use_upgraded(version: int, tmp_path: Path) -> None:
    path = tmp_path / "qbwc.sqlite"
    rig, ids = _in_use(SQLiteStore(path))
    rig.store.close()
    conn = sqlite3.connect(path)
    for statement in _DOWN_TO_2 + (_DOWN_TO_1 if version == 1 else ()):
        conn.execute(statement.format(p=""))
    conn.commit()
    assert _sqlite_columns(conn) == _sqlite_made_by(version, tmp_path / "old.sqlite")
    conn.close()

    store = SQLiteStore(path)  # upgraded in place
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(3,)]
    conn.close()
    _finish(rig, store, ids)
    store.close()


def _pg_columns(conn: Any) -> list[tuple[Any, ...]]:
    return conn.execute(
        "SELECT table_name, column_name, data_type, is_nullable, column_default "
        "FROM information_schema.columns WHERE table_name LIKE 'qbwc_%' "
        "ORDER BY table_name, ordinal_position"
    ).fetchall()


@pytest.mark.parametrize("version", [2, 1])
def test_postgres_database_in_use_upgraded(version: int) -> None:
    from tests.postgres import create_database

    psycopg = pytest.importorskip("psycopg")
    from qbwc.store import PostgresStore, postgres_migrations, postgres_upgrade

    dsn = create_database(f"qbwc_upgrade_{version}")
    postgres_upgrade(dsn)
    store: Callable[[], Store] = lambda: PostgresStore(dsn)  # noqa: E731
    rig, ids = _in_use(store())
    rig.store.close()
    old = create_database(f"qbwc_made_by_{version}")
    with psycopg.connect(old) as conn:  # what the version-N migrations make
        for statement in postgres_migrations()[: -len(postgres_migrations(version))]:
            conn.execute(statement)
        made = _pg_columns(conn)
    with psycopg.connect(dsn) as conn:
        for statement in _DOWN_TO_2 + (_DOWN_TO_1 if version == 1 else ()):
            conn.execute(statement.format(p="qbwc_"))
        assert _pg_columns(conn) == made
    assert postgres_upgrade(dsn) == (version, 3)
    upgraded = store()
    _finish(rig, upgraded, ids)
    upgraded.close()
