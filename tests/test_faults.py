"""
``FaultInjector`` and ``http_transport``: each fault does what it says, bad use is refused clearly.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest

from qbwc import WebConnectorService
from qbwc.qbxml._requests import InvoiceAdd, InvoiceLineAdd
from qbwc.qbxml._types import Ref
from qbwc.store import MemoryStore
from qbwc.testing import (
    ChangePassword,
    Crash,
    FailConnection,
    FakeQuickBooks,
    FakeWebConnector,
    FaultInjector,
    LoseQuickBooksResponse,
    OpenCompanyFile,
    RestartService,
    http_transport,
)
from qbwc.wsgi import make_wsgi_app

OWNER = uuid.UUID("1A2B3C4D-5E6F-4A7B-8C9D-0E1F2A3B4C5D")
USER = "kristy@example.com"
PASSWORD = "first password"


class Clock:
    def __init__(self) -> None:
        self.now = 1_767_225_600.0

    def __call__(self) -> float:
        return self.now


class Rig:
    def __init__(self, *, wsgi: bool = True) -> None:
        self.clock = Clock()
        self.store = MemoryStore()
        self.made: list[WebConnectorService] = []
        service = self.new_service()
        service.add_account(USER, PASSWORD)
        self.qb = FakeQuickBooks.sample()
        target: Any = make_wsgi_app(service) if wsgi else service
        self.wc = FakeWebConnector(target, self.qb)
        qwc = service.qwc(USER, app_url="https://localhost/q", app_support="https://localhost/s")
        self.wc.add_application(qwc, password=PASSWORD)
        self.faults = FaultInjector(self.wc, service=service, new_service=self.new_service)

    def new_service(self) -> WebConnectorService:
        service = WebConnectorService(
            store=self.store, owner_id=OWNER, password_cost=2, clock=self.clock
        )
        self.made.append(service)
        return service

    def enqueue(self, ref: str) -> str:
        line = InvoiceLineAdd(item_ref=Ref(full_name="Consulting"), quantity=Decimal(1))
        request = InvoiceAdd(customer_ref=Ref(full_name="Acme Corp"), ref_number=ref, lines=[line])
        return self.faults.service.enqueue(USER, request, key=ref).id  # type: ignore[no-any-return]


@pytest.fixture
def rig() -> Rig:
    return Rig()


class TestFaults:
    def test_fail_connection_calls_connection_error_with_the_hresult(self, rig: Rig) -> None:
        """FailConnection(times=2): two connectionError calls with that HRESULT, then success."""
        rig.enqueue("1")
        rig.faults.inject(FailConnection(hresult="0x80040414", times=2))
        result = rig.wc.run_session()
        assert result.calls.count("connectionError") == 2
        assert all("0x80040414" in e for e in result.errors[:2])
        assert result.completed
        assert len(rig.qb.find("1")) == 1

    @pytest.mark.parametrize("wsgi", [True, False])
    def test_restart_service_before_a_call(self, wsgi: bool) -> None:
        """RestartService: the named call reaches a new service object; the sync completes."""
        rig = Rig(wsgi=wsgi)
        rig.enqueue("1")
        first = rig.faults.service
        rig.faults.inject(RestartService(operation="receiveResponseXML"))
        result = rig.wc.run_session()
        assert result.completed
        assert rig.faults.restarts == 1
        assert rig.faults.service is not first
        assert rig.faults.service is rig.made[-1]
        assert (rig.wc.target is rig.faults.service) is (not wsgi)
        assert rig.faults.service.job("1").status == "done"
        assert rig.faults.pending == ()

    def test_open_company_file_and_back(self, rig: Rig) -> None:
        """OpenCompanyFile(other) opens it now; OpenCompanyFile(None) reopens the usual one."""
        rig.enqueue("1")
        rig.wc.run_session()
        other = FakeQuickBooks.sample(company_name="Other Books")
        rig.faults.inject(OpenCompanyFile(quickbooks=other))
        assert rig.qb.company_file == other.company_file
        rig.enqueue("2")
        assert rig.wc.run_session().requests == ()
        rig.faults.inject(OpenCompanyFile(quickbooks=None))
        rig.wc.run_session()
        assert other.transactions == ()
        assert len(rig.qb.find("2")) == 1

    def test_change_password_sides(self, rig: Rig) -> None:
        """ChangePassword: service-only gives nvu; typing it in the Web Connector fixes it."""
        rig.enqueue("1")
        rig.faults.inject(ChangePassword(password="second", web_connector=False))
        assert rig.wc.run_session().status == "Invalid password for username"
        rig.faults.inject(ChangePassword(password="second", service=False))
        assert rig.wc.run_session().completed
        rig.faults.inject(ChangePassword(password="third"))  # both sides at once
        rig.enqueue("2")
        assert rig.wc.run_session().completed
        assert rig.faults.injected["ChangePassword"] == 3

    def test_the_doubles_own_faults_pass_through(self, rig: Rig) -> None:
        """The double's faults go to FakeWebConnector.inject and are counted and pending."""
        rig.faults.inject(Crash(operation="closeConnection"), LoseQuickBooksResponse())
        assert rig.faults.injected == {"Crash": 1, "LoseQuickBooksResponse": 1}
        assert len(rig.faults.pending) == 2
        rig.faults.inject(RestartService())
        assert len(rig.faults.pending) == 3
        rig.faults.clear()
        assert rig.faults.pending == ()
        assert rig.wc.faults == []

    def test_an_existing_hook_still_runs_first(self, rig: Rig) -> None:
        """A before_call hook set before the injector is kept, and runs before a restart."""
        seen: list[tuple[str, int]] = []
        wc = FakeWebConnector(
            make_wsgi_app(rig.faults.service),
            rig.qb,
            before_call=lambda call: seen.append((call.operation, len(rig.made))),
        )
        wc.applications = rig.wc.applications
        faults = FaultInjector(wc, service=rig.faults.service, new_service=rig.new_service)
        rig.enqueue("1")
        faults.inject(RestartService(operation="sendRequestXML"))
        assert wc.run_session().completed
        # The hook saw sendRequestXML while the old service was still the newest one.
        assert ("sendRequestXML", 1) in seen
        assert ("receiveResponseXML", 2) in seen


class TestRefusals:
    def test_unknown_operation(self) -> None:
        """A fault naming no Web Connector operation is refused, listing the real ones."""
        with pytest.raises(ValueError, match=r"operation='sendRequestXml'.*sendRequestXML"):
            RestartService(operation="sendRequestXml")

    def test_times_must_be_positive(self) -> None:
        """FailConnection(times=0) is refused."""
        with pytest.raises(ValueError, match="times"):
            FailConnection(times=0)

    def test_not_a_fault(self, rig: Rig) -> None:
        """Anything but a fault is a TypeError, and nothing is counted."""
        with pytest.raises(TypeError, match="is not a fault"):
            rig.faults.inject("crash")  # type: ignore[arg-type]
        assert not rig.faults.injected

    def test_restart_needs_a_factory(self) -> None:
        """RestartService without new_service= is refused when injected, not mid-sync."""
        wc = FakeWebConnector(None, FakeQuickBooks.sample())
        with pytest.raises(ValueError, match="new_service"):
            FaultInjector(wc).inject(RestartService())
        with pytest.raises(ValueError, match="new_service"):
            FaultInjector(wc).restart()

    def test_change_password_needs_the_service(self) -> None:
        """ChangePassword(service=True) without service= is refused."""
        wc = FakeWebConnector(None, FakeQuickBooks.sample())
        with pytest.raises(ValueError, match="service="):
            FaultInjector(wc).inject(ChangePassword(password="x"))

    def test_change_password_names_the_application(self, rig: Rig) -> None:
        """With several applications, ChangePassword must name one."""
        second = rig.faults.service.qwc(
            USER, app_url="https://localhost/q", app_support="https://localhost/s", app_name="B"
        )
        rig.wc.add_application(second, password=PASSWORD)
        with pytest.raises(ValueError, match="app_name"):
            rig.faults.inject(ChangePassword(password="x"))
        rig.faults.inject(ChangePassword(password="x", app_name="B"))
        assert rig.wc.applications["B"].password == "x"


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def served() -> Iterator[tuple[str, Rig]]:
    rig = Rig()
    server = make_server(
        "127.0.0.1", 0, make_wsgi_app(rig.faults.service), handler_class=QuietHandler
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/qbwc", rig
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


class TestHTTPTransport:
    def test_a_sync_over_real_http(self, served: tuple[str, Rig]) -> None:
        """The double completes a sync over HTTP on localhost."""
        url, rig = served
        rig.enqueue("1")
        wc = FakeWebConnector(None, rig.qb, transport=http_transport(url))
        wc.applications = rig.wc.applications
        assert wc.run_session().completed
        assert len(rig.qb.find("1")) == 1

    def test_fault_status_is_returned(self, served: tuple[str, Rig]) -> None:
        """A fault comes back as HTTP 500 with its body, not as an exception."""
        url, _ = served
        status, body = http_transport(url)(b"<not-soap/>", "http://developer.intuit.com/x")
        assert status == 500
        assert b"soap:Fault" in body

    @pytest.mark.parametrize("url", ["ftp://example.com/", "localhost:8080", "http:///x"])
    def test_bad_urls(self, url: str) -> None:
        """Only http:// and https:// URLs with a host are accepted."""
        with pytest.raises(ValueError, match="expected an http"):
            http_transport(url)
