"""
A database in use, for the schema-upgrade tests (test_schema_upgrade.py, test_django.py).

:func:`in_use` makes a store hold an account linked to its company file, a done job,
pending jobs and a message set in flight whose answer was lost (QuickBooks ran it);
``down_to(n)`` (``DOWN_TO_3``, ``DOWN_TO_2``, ``DOWN_TO_1``) takes its tables back to the
layout of schema version 3, 2 or 1 (``{p}`` is the table prefix); :func:`finish` has a new
service finish the sync on the upgraded database, exactly once, and then use version 3
(``after=``) and version 4 (linkages, pulls, marks: kept through a rename).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs

from qbwc import RequestXML, WebConnectorService
from qbwc.store import Follow, Link, PullMark, Store
from tests.rig import USER, DirectWC, Rig, invoice

__all__ = ["DOWN_TO_1", "DOWN_TO_2", "DOWN_TO_3", "down_to", "finish", "in_use", "pg_columns"]

# What version 4 added (docs/service.md, "Linkages and pulls").
DOWN_TO_3 = (
    "DROP TABLE {p}links",
    "DROP TABLE {p}follows",
    "DROP TABLE {p}pull_marks",
    "UPDATE {p}schema_version SET version = 3",
)
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


def down_to(version: int) -> tuple[str, ...]:
    """The statements that take a version-4 database back to *version* (3, 2 or 1)."""
    return DOWN_TO_3 + (DOWN_TO_2 if version <= 2 else ()) + (DOWN_TO_1 if version <= 1 else ())


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
    # Version 4: linkages, pulls and marks are kept, and move with a rename.
    account = rig.service.account(USER)
    assert account is not None
    file_id = account.linked_file_id
    assert file_id is not None
    now = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
    link = Link(username=USER, key="invoice-U-5", type="Invoice", txn_id=second.id,
                file_id=file_id, seen_at=now)  # fmt: skip
    follow = Follow(username=USER, type="Bill", spec="{}", state="{}", file_id=file_id,
                    updated_at=now)  # fmt: skip
    mark = PullMark(username=USER, type="Bill", object_id="1B-1", edit_sequence="1",
                    file_id=file_id, seen_at=now)  # fmt: skip
    with rig.service.store.transaction() as tx:
        tx.put_link(link)
        tx.put_follow(follow)
        tx.put_marks([mark])
    rig.service.rename_account(USER, "renamed@example.com")
    new = "renamed@example.com"
    with rig.service.store.transaction() as tx:
        # (The keyed invoice Adds above made linkages of their own: docs/linkages.md.)
        assert attrs.evolve(link, username=new) in tx.list_links(new)
        assert tx.list_follows(new) == (attrs.evolve(follow, username=new),)
        assert tx.get_marks(new, "Bill", ["1B-1"]) == {"1B-1": attrs.evolve(mark, username=new)}
        assert (tx.list_links(USER), tx.list_follows(USER)) == ((), ())


def pg_columns(conn: Any) -> list[tuple[Any, ...]]:
    """The qbwc_* tables' columns on a psycopg connection, in order."""
    return conn.execute(
        "SELECT table_name, column_name, data_type, is_nullable, column_default "
        "FROM information_schema.columns WHERE table_name LIKE 'qbwc_%' "
        "ORDER BY table_name, ordinal_position"
    ).fetchall()
