"""
A database in use, for the schema-upgrade tests (test_schema_upgrade.py, test_django.py).

:func:`in_use` makes a store hold an account linked to its company file, a done job,
pending jobs and a message set in flight whose answer was lost (QuickBooks ran it);
``DOWN_TO_2`` and ``DOWN_TO_1`` take its tables back to the layout of schema version 2
or 1 (``{p}`` is the table prefix); :func:`finish` has a new service finish the sync on
the upgraded database, exactly once, and then use version 3 (``after=``).
"""

from __future__ import annotations

from typing import Any

from qbwc import WebConnectorService
from qbwc.protocol import RequestXML
from qbwc.store import Store
from tests.rig import USER, DirectWC, Rig, invoice

__all__ = ["DOWN_TO_1", "DOWN_TO_2", "finish", "in_use", "pg_columns"]

# What version 3 added, and version 2 (docs/service.md, "Any request"; "Passwords").
DOWN_TO_2 = (
    "DROP INDEX {p}jobs_after",
    "DROP TABLE {p}query_pages",
    "ALTER TABLE {p}jobs DROP COLUMN after_job",
    "ALTER TABLE {p}jobs DROP COLUMN page_size",
    "ALTER TABLE {p}jobs DROP COLUMN pages",
    "ALTER TABLE {p}jobs DROP COLUMN records",
    "UPDATE {p}schema_version SET version = 2",
)
DOWN_TO_1 = (
    "DROP TABLE {p}login_verifiers",
    "UPDATE {p}schema_version SET version = 1",
)


def in_use(store: Store) -> tuple[Rig, list[str]]:
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


def finish(
    rig: Rig,
    ids: list[str],
    *,
    store: Store | None = None,
    service: WebConnectorService | None = None,
) -> None:
    """A new service (on the upgraded *store*, or *service*) finishes the sync, exactly once."""
    rig.restart(store, service=service)
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


def pg_columns(conn: Any) -> list[tuple[Any, ...]]:
    """The qbwc_* tables' columns on a psycopg connection, in order."""
    return conn.execute(
        "SELECT table_name, column_name, data_type, is_nullable, column_default "
        "FROM information_schema.columns WHERE table_name LIKE 'qbwc_%' "
        "ORDER BY table_name, ordinal_position"
    ).fetchall()
