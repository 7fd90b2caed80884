"""
A big paged query end to end over real HTTP (docs/queries.md): every record once and
in order, memory flat (tracemalloc), on MemoryStore, SQLite and PostgreSQL.

The size: ``QBWC_BIG_QUERY_RECORDS`` customers, 500 per page; the default, 4,000,
keeps the suite short (the issue's figure: ``QBWC_BIG_QUERY_RECORDS=50000``).
"""

from __future__ import annotations

import os
import threading
import tracemalloc
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest

from qbwc.qbxml._types import vocabulary
from qbwc.store import Job, MemoryStore, SQLiteStore, Store
from qbwc.testing import FakeQuickBooks, FakeWebConnector, http_transport
from qbwc.wsgi import make_wsgi_app
from tests.rig import PASSWORD, USER, Rig

RECORDS = int(os.environ.get("QBWC_BIG_QUERY_RECORDS", "4000"))
PAGE = 500
#: What one round may hold at its peak, whatever the result's size: a page of 500
#: customers as XML, parsed and typed (a few MB), with room for the allocator.
ROUND_LIMIT = 12_000_000
#: What the service may keep between rounds beyond what a store keeps by design.
FLAT_LIMIT = 4_000_000


@pytest.fixture(scope="module")
def company() -> FakeQuickBooks:
    """One company file with RECORDS more customers, shared by the stores' runs."""
    qb = FakeQuickBooks.sample()
    qb.seed(Customer=[{"name": f"Customer {i:06d}"} for i in range(RECORDS)])
    return qb


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "memory":
        yield MemoryStore()
    elif request.param == "sqlite":
        yield SQLiteStore(tmp_path / "big.sqlite")
    else:
        pytest.importorskip("psycopg")
        from tests.postgres import fresh_store

        pg = fresh_store()
        yield pg
        pg.close()


class Quiet(WSGIRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


class Measured:
    """
    The company file, with the memory QuickBooks' own rounds take set apart.

    The service's phases alternate with QuickBooks' (sendRequestXML, QuickBooks,
    receiveResponseXML...): the peak of each phase is read when the next begins.
    QuickBooks' phases (the fake's snapshot of 50,000 customers at Start...) are
    not the service's memory.
    """

    def __init__(self, inner: FakeQuickBooks) -> None:
        self.inner = inner
        self.phases: list[tuple[str, int, int]] = []  # (phase, peak over its start, after)
        self.base = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def mark(self, phase: str) -> None:
        current, peak = tracemalloc.get_traced_memory()
        self.phases.append((phase, peak - self.base, current))
        tracemalloc.reset_peak()
        self.base = current

    def process_request(self, qbxml: str) -> str:
        self.mark("service: sendRequestXML")
        try:
            return str(self.inner.process_request(qbxml))
        finally:
            self.mark("QuickBooks")


def test_big_query_every_record_once_memory_flat(store: Store, company: FakeQuickBooks) -> None:
    measured = Measured(company)
    delivered: list[int] = []
    after_page: list[int] = []

    def on_page(job: Job, rets: tuple[Any, ...]) -> None:
        measured.mark("service: receiveResponseXML")
        delivered.append(len(rets))
        after_page.append(tracemalloc.get_traced_memory()[0])

    # Its own OwnerID: the shared company file keeps each run's FileID apart.
    rig = Rig(store, on_query_page=on_page, owner_id=str(uuid.uuid4()))
    server = make_server("127.0.0.1", 0, make_wsgi_app(rig.service), handler_class=Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}/qbwc"
    wc = FakeWebConnector(None, measured, transport=http_transport(url))
    wc.add_application(rig.qwc(USER), password=PASSWORD)
    query = vocabulary().model("CustomerQuery")()
    job = rig.service.enqueue(USER, query, page_size=PAGE)
    expected = [ret.name for ret in company.records("Customer")]
    tracemalloc.start()
    try:
        measured.base = tracemalloc.get_traced_memory()[0]
        result = wc.run_session()
        tracemalloc.reset_peak()
        before_read = tracemalloc.get_traced_memory()[0]
        # Reading the result back holds one page at a time too.
        count = 0
        for ret, want in zip(rig.service.query_results(job.id), expected, strict=True):
            assert ret.name == want
            count += 1
        read_peak = tracemalloc.get_traced_memory()[1] - before_read
    finally:
        tracemalloc.stop()
        server.shutdown()
        server.server_close()
    total = len(expected)
    assert result.completed, result
    job = rig.job(job)
    assert (job.status, job.records, job.pages) == ("done", total, -(-total // PAGE))
    assert count == total
    assert delivered == [PAGE] * (total // PAGE) + ([total % PAGE] if total % PAGE else [])
    # Memory flat: no phase of the service holds more than a page's worth...
    service = [(name, peak) for name, peak, _ in measured.phases if name != "QuickBooks"]
    assert max(peak for _, peak in service) < ROUND_LIMIT, service
    # ...and it keeps nothing between pages but what the store keeps by design
    # (MemoryStore: the pages themselves).
    kept = _stored_bytes(rig, job) if isinstance(store, MemoryStore) else 0
    assert after_page[-1] - after_page[0] < FLAT_LIMIT + 3 * kept, (after_page, kept)
    assert read_peak < ROUND_LIMIT


def _stored_bytes(rig: Rig, job: Job) -> int:
    with rig.store.transaction() as tx:
        return sum(len(tx.get_query_page(job.id, page) or "") for page in range(job.pages))
