"""
Job listing and retention with many finished jobs.

A store is filled with *--jobs* finished invoice jobs (100,000 by default) of one account,
then the script measures the time of each of these, and (run again under tracemalloc) the
peak memory it allocates:

- ``service.jobs()``: one page (the default 100 jobs) — what the CLI and the host read;
- every job at once, as ``jobs()`` did before it had pages (``tx.list_jobs()`` without a limit);
- a walk through every page of 10,000 (``jobs(limit=10_000, after=...)``);
- ``service.prune(older_than=90 days)`` deleting all of them.

Run: ``python benchmarks/bench_jobs.py [--jobs 100000] [--postgres]`` (``--postgres`` also runs
on a throwaway PostgreSQL server, see tests/postgres.py).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

from qbwc import WebConnectorService
from qbwc.qbxml import InvoiceAdd, InvoiceLineAdd, Ref, dump, render_request
from qbwc.store import MemoryStore, SQLiteStore, Store

OWNER = uuid.UUID("9A5D8F3B-1C2E-4B6A-8D7F-0E1F2A3B4C5D")
USER = "kristy@example.com"
LONG_AGO = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)


def fill(store: Store, count: int) -> None:
    """*count* finished jobs, as a sync leaves them (request kept, qbXML dropped)."""
    from qbwc.store import JobResponse

    request = InvoiceAdd(
        customer_ref=Ref(full_name="Acme Corp"),
        ref_number="1042",
        lines=[InvoiceLineAdd(item_ref=Ref(full_name="Consulting"), quantity=2)],
    )
    text = json.dumps(dump(request), sort_keys=True, separators=(",", ":"))
    render_request(request, version="13.0")
    response = JobResponse(status_code=0, status_severity="Info", status_message="Status OK",
                           txn_id="1A2B-1234567890", ref_number="1042")  # fmt: skip
    service = WebConnectorService(store=store, owner_id=OWNER, password_cost=2)
    service.add_account(USER, "pw")
    for start in range(0, count, 10_000):
        with store.transaction() as tx:
            for i in range(start, min(count, start + 10_000)):
                job = tx.add_job(
                    username=USER,
                    key=f"invoice-{i}",
                    request=text,
                    request_type="InvoiceAdd",
                    min_version="1.1",
                    now=LONG_AGO,
                )
                done = attrs.evolve(
                    job, status="done", attempts=1, txn_id=response.txn_id, response=response
                )
                tx.put_job(done)


def measure(what: Callable[[], Any], *, memory: bool) -> tuple[float, float | None, Any]:
    """(seconds, peak MB, result): timed alone, then (*memory*) again under tracemalloc."""
    start = time.perf_counter()
    result = what()
    seconds = time.perf_counter() - start
    if not memory:
        return seconds, None, result
    tracemalloc.start()
    what()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return seconds, peak / 1e6, result


def run(name: str, make: Callable[[], Store], count: int) -> None:
    store = make()
    start = time.perf_counter()
    fill(store, count)
    print(f"{name}: {count:,} finished jobs stored in {time.perf_counter() - start:.1f} s")
    service = WebConnectorService(store=store, owner_id=OWNER, password_cost=2)

    def everything() -> int:
        with store.transaction() as tx:
            return len(tx.list_jobs())

    def walk() -> int:
        total, after = 0, None
        while page := service.jobs(limit=10_000, after=after):
            total += len(page)
            after = page[-1].id
        return total

    def prune() -> int:
        return service.prune(older_than=dt.timedelta(days=90))

    for label, what, memory in (
        ("jobs() (first page of 100)", lambda: len(service.jobs()), True),
        ("every job at once (jobs() before pages)", everything, True),
        ("every page of 10,000", walk, True),
        ("prune(older_than=90 days)", prune, False),
    ):
        seconds, peak, result = measure(what, memory=memory)
        held = "" if peak is None else f"peak {peak:7.1f} MB"
        print(f"  {label:<42} {seconds * 1000:9.1f} ms  {held:<15} ({result:,} jobs)")
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run("MemoryStore", MemoryStore, args.jobs)
        run("SQLiteStore", lambda: SQLiteStore(Path(tmp) / "jobs.sqlite"), args.jobs)
        if args.postgres:
            sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
            from tests.postgres import ThrowawayServer

            from qbwc.store import PostgresStore

            server = ThrowawayServer()
            try:
                dsn = server.create_database("bench_jobs")
                run("PostgresStore", lambda: PostgresStore(dsn, upgrade=True), args.jobs)
            finally:
                server.stop()


if __name__ == "__main__":
    main()
