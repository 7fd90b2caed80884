"""
Two web processes, one SQLite store: the Web Connector may land on either.

Two ``qbwc serve`` processes listen on 127.0.0.1 (two free ports) over the same
SQLite file, as two workers behind a load balancer would.  The tests drive the
Web Connector double over real HTTP:

- one session whose calls alternate between the two processes, call by call
  (also across a lost QuickBooks response recovered by the other process);
- two Web Connectors for the same account: the second is told ``busy`` while
  the first is running, and only the first writes;
- a burst of simultaneous ``authenticate`` calls split across both processes:
  exactly one session starts, every other one is ``busy``.

Loopback only; every process is stopped at the end; each test is bounded.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import attrs
import pytest

from qbwc import WebConnectorService
from qbwc.protocol import AuthenticateCall, Authenticated, Busy
from qbwc.protocol._soap import SOAP_ACTION, decode_reply, encode_call
from qbwc.qbxml._requests import InvoiceAdd, InvoiceLineAdd
from qbwc.qbxml._types import Ref
from qbwc.store import SQLiteStore
from qbwc.testing import (
    FakeQuickBooks,
    FakeWebConnector,
    LoseQuickBooksResponse,
    http_transport,
)

OWNER = uuid.UUID("3E4F5A6B-7C8D-4E9F-A0B1-C2D3E4F5A6B7")
USER = "kristy@example.com"
PASSWORD = "correct horse battery staple"
STARTUP_SECONDS = 20.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@attrs.define
class Server:
    """One ``qbwc serve`` process."""

    process: subprocess.Popen[bytes]
    url: str
    log: Path


def start_server(db: Path, log: Path) -> Server:
    port = free_port()
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "qbwc", "serve", "--db", str(db), "--host", "127.0.0.1",
             "--port", str(port), "--owner-id", str(OWNER), "--app-name", "Acme Billing"],
            stdout=sink,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"qbwc serve exited with {process.returncode}: {log.read_text()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        except OSError:
            time.sleep(0.05)
            continue
        return Server(process=process, url=f"http://127.0.0.1:{port}/qbwc", log=log)
    process.kill()
    pytest.fail(f"qbwc serve did not listen within {STARTUP_SECONDS} s: {log.read_text()}")


def stop(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:  # pragma: no cover - only when terminate is ignored
        server.process.kill()
        server.process.wait(timeout=10)


def invoice(ref: str) -> InvoiceAdd:
    line = InvoiceLineAdd(item_ref=Ref(full_name="Consulting"), quantity=Decimal(2))
    return InvoiceAdd(customer_ref=Ref(full_name="Acme Corp"), ref_number=ref, lines=[line])


@attrs.define
class Pair:
    """Two server processes on one SQLite file, and this process's own view of the store."""

    servers: tuple[Server, Server]
    service: WebConnectorService
    qwc: bytes


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Pair]:
    db = tmp_path / "qbwc.sqlite"
    store = SQLiteStore(db)
    with store.transaction() as tx:
        tx.put_setting("owner_id", str(OWNER))
    service = WebConnectorService(store=store, owner_id=OWNER, password_cost=2)
    service.add_account(USER, PASSWORD)
    qwc = service.qwc(USER, app_url="https://localhost/qbwc", app_support="https://localhost/s")
    servers: list[Server] = []
    try:
        servers.append(start_server(db, tmp_path / "a.log"))
        servers.append(start_server(db, tmp_path / "b.log"))
        yield Pair(servers=(servers[0], servers[1]), service=service, qwc=qwc)
    finally:
        for server in servers:
            stop(server)
        store.close()


class Alternating:
    """A transport that sends each call to the next server in turn, and counts them."""

    def __init__(self, urls: tuple[str, ...]) -> None:
        self.sends = [http_transport(url, timeout=10) for url in urls]
        self.turn = 0
        self.calls: Counter[int] = Counter()

    def __call__(self, body: bytes, action: str) -> tuple[int, bytes]:
        index = self.turn % len(self.sends)
        self.turn += 1
        self.calls[index] += 1
        return self.sends[index](body, action)


def ref_counts(qb: FakeQuickBooks) -> Counter[str | None]:
    return Counter(record.ref_number for record in qb.transactions)


class TestTwoProcesses:
    def test_one_session_alternating_between_processes(self, pair: Pair) -> None:
        """Each call lands on the other process: the sync completes, each invoice exactly once."""
        refs = [str(n) for n in range(2001, 2007)]
        for ref in refs:
            pair.service.enqueue(USER, invoice(ref), key=f"inv-{ref}")
        qb = FakeQuickBooks.sample()
        transport = Alternating(tuple(s.url for s in pair.servers))
        wc = FakeWebConnector(None, qb, transport=transport)
        wc.add_application(pair.qwc, password=PASSWORD)
        results = wc.sync(max_runs=5)
        # Bounded work, not time: two updates (the work, then "No Data Exchange"), every call
        # over HTTP once; the first has the versions, authenticate, a send and a receive per
        # invoice, and closeConnection.
        assert len(results) == 2
        assert transport.turn == sum(len(result.calls) for result in results)
        assert len(results[0].calls) == 4 + 2 * len(refs)
        assert results[0].completed, results[0].errors
        assert results[-1].status == "No Data Exchange"
        assert transport.calls[0] > 5
        assert transport.calls[1] > 5
        assert ref_counts(qb) == Counter(refs)
        for job in pair.service.jobs(USER):
            assert job.status == "done"
            assert job.txn_id == qb.find(job.key.removeprefix("inv-"))[0].txn_id  # type: ignore[union-attr]

    def test_unanswered_set_of_one_process_is_checked_by_the_other(self, pair: Pair) -> None:
        """A set sent by A and never answered is checked by B (status query) before a resend."""
        pair.service.enqueue(USER, invoice("3001"), key="inv-3001")
        qb = FakeQuickBooks.sample()
        a = FakeWebConnector(None, qb, transport=http_transport(pair.servers[0].url))
        a.add_application(pair.qwc, password=PASSWORD)
        qb.fail_processing("0x80040402")  # the request processor fails; nothing is saved
        failed = a.run_session()
        assert failed.progress == (-1,)
        assert failed.calls[-2:] == ("getLastError", "closeConnection")
        (job,) = pair.service.jobs(USER)
        assert job.status == "sent"
        b = FakeWebConnector(None, qb, transport=http_transport(pair.servers[1].url))
        b.applications = a.applications
        recovered = b.run_session()
        assert recovered.completed, recovered.errors
        status_query, resend = recovered.requests
        assert "oldMessageSetID" in status_query
        assert "InvoiceAddRq" not in status_query
        assert "<RefNumber>3001</RefNumber>" in resend
        (job,) = pair.service.jobs(USER)
        assert job.status == "done"
        assert [r.txn_id for r in qb.find("3001")] == [job.txn_id]

    def test_lost_response_is_recovered_on_the_same_file(self, pair: Pair) -> None:
        """QuickBooks saved it, the answer was lost: busy via B, then recovered without a copy."""
        pair.service.enqueue(USER, invoice("3002"), key="inv-3002")
        qb = FakeQuickBooks.sample()
        a = FakeWebConnector(None, qb, transport=http_transport(pair.servers[0].url))
        a.add_application(pair.qwc, password=PASSWORD)
        a.inject(LoseQuickBooksResponse())
        assert not a.run_session().completed
        (job,) = pair.service.jobs(USER)
        assert job.status == "sent"
        assert len(qb.find("3002")) == 1
        # The interrupted session was handed the write: it counts as running until it
        # expires (session_timeout, 600 s), whatever busy_timeout says.
        b = FakeWebConnector(None, qb, transport=http_transport(pair.servers[1].url))
        b.applications = a.applications
        assert b.run_session().status == "Application Busy"
        # A worker whose clock is past that expiry (a third worker on the same file, in
        # this process) takes over: it asks QuickBooks and records the stored answer.
        third = WebConnectorService(
            store=pair.service.store,
            owner_id=OWNER,
            password_cost=2,
            clock=lambda: time.time() + 601,
        )
        c = FakeWebConnector(third, qb)
        c.applications = a.applications
        recovered = c.run_session()
        assert recovered.completed, recovered.errors
        (job,) = pair.service.jobs(USER)
        assert job.status == "done"
        assert [r.txn_id for r in qb.find("3002")] == [job.txn_id]

    def test_second_web_connector_for_the_same_account_is_busy(self, pair: Pair) -> None:
        """While one Web Connector syncs through A, another for the same account gets busy via B."""
        for ref in ("4001", "4002"):
            pair.service.enqueue(USER, invoice(ref), key=f"inv-{ref}")
        qb_first = FakeQuickBooks.sample()
        qb_second = FakeQuickBooks.sample(company_name="Larkspur Landscaping (laptop)")
        second = FakeWebConnector(None, qb_second, transport=http_transport(pair.servers[1].url))
        second.add_application(pair.qwc, password=PASSWORD)
        seen: list[str] = []

        def meanwhile(call: object) -> None:
            # Mid-sync on the first Web Connector, the second one starts its own update.
            if type(call).__name__ == "ReceiveResponseXMLCall" and not seen:
                seen.append(second.run_session().status)

        first = FakeWebConnector(
            None,
            qb_first,
            transport=http_transport(pair.servers[0].url),
            before_call=meanwhile,
        )
        first.add_application(pair.qwc, password=PASSWORD)
        result = first.run_session()
        assert seen == ["Application Busy"]
        assert result.completed
        assert ref_counts(qb_first) == Counter(["4001", "4002"])
        assert not qb_second.transactions
        assert [job.status for job in pair.service.jobs(USER)] == ["done", "done"]

    def test_simultaneous_authenticates_start_one_session(self, pair: Pair) -> None:
        """Eight authenticate calls at once, across both processes: one session, seven busy."""
        pair.service.enqueue(USER, invoice("5001"), key="inv-5001")
        body = encode_call(AuthenticateCall(username=USER, password=PASSWORD))
        sends = [http_transport(s.url, timeout=10) for s in pair.servers]

        def authenticate(index: int) -> object:
            status, answer = sends[index % 2](body, SOAP_ACTION["authenticate"])
            assert status == 200, answer
            return decode_reply("authenticate", answer)

        with ThreadPoolExecutor(max_workers=8) as pool:
            replies = list(pool.map(authenticate, range(8)))
        kinds = Counter(type(reply).__name__ for reply in replies)
        assert kinds == Counter({Busy.__name__: 7, Authenticated.__name__: 1}), kinds
        with pair.service.store.transaction() as tx:
            live = [r for r in tx.sessions_for(USER) if r.active]
        assert len(live) == 1
