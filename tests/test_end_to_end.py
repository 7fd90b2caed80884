"""
End to end: the Web Connector double and the QuickBooks double against the WSGI app,
and the real 2008 Web Connector session replayed against the service.
"""

from __future__ import annotations

import re
import uuid
from decimal import Decimal
from pathlib import Path

import attrs
import pytest
from lxml import etree

from qbwc import WebConnectorService
from qbwc._xml import SOAP11_ENV_NS
from qbwc.qbxml._requests import EstimateAdd, EstimateLineAdd
from qbwc.qbxml._types import Ref
from qbwc.store import MemoryStore, SQLiteStore
from qbwc.testing import FakeQuickBooks, FakeWebConnector
from qbwc.testing._web_connector import wsgi_transport
from qbwc.wsgi import make_wsgi_app
from tests.reference import reference_path
from tests.rig import PASSWORD, USER, Rig, invoice

SESSION = "soap/consolibyte-2008-session/extracted"
WSDL = "wsdl/consolibyte-QBWebConnectorSvc.wsdl"
# The OwnerID and FileID stamped into the 2008 company file (its HCP response).
OWNER_2008 = uuid.UUID("68b5925b-4347-4784-e58d-35a2d190962f")
FILE_2008 = uuid.UUID("ee032e95-47f7-2564-096f-2d4545fcb021")


class TestDoubles:
    def test_a_day_of_work(self, tmp_path: Path) -> None:
        """Invoices and estimates over WSGI and SQLite: each lands once, with its TxnID stored."""
        r = Rig(SQLiteStore(tmp_path / "qbwc.sqlite"), batch_size=2)
        invoices = r.enqueue("1001", "1002", "1003")
        refused = r.service.enqueue(USER, invoice("1004", customer="Nobody Inc"))
        estimate = r.service.enqueue(
            USER,
            EstimateAdd(
                customer_ref=Ref(full_name="Cole Properties"),
                ref_number="E-77",
                lines=[
                    EstimateLineAdd(item_ref=Ref(full_name="Installation"), quantity=Decimal(4))
                ],
            ),
        )
        first = r.run()
        assert first.completed
        assert r.run().status == "No Data Exchange"
        assert sorted(r.ref_numbers()) == ["1001", "1002", "1003"]
        assert [e.ref_number for e in r.qb.estimates] == ["E-77"]
        for job in [*invoices, estimate]:
            stored = r.service.job(job.id)
            assert stored.status == "done"
            assert stored.txn_id is not None
            assert r.qb.transaction(stored.txn_id) is not None
        failed = r.service.job(refused.id)
        assert failed.status == "failed"
        assert failed.error is not None
        assert failed.error.code == "3140"
        assert first.status == (
            "Connection Closed: 4 done, 1 failed. See Acme Billing for the failed ones."
        )

    def test_through_a_real_http_server(self, tmp_path: Path) -> None:
        """The same session over a real socket (stdlib wsgiref server in a thread)."""
        import threading
        import urllib.error
        import urllib.request
        from wsgiref.simple_server import WSGIRequestHandler, make_server

        class Quiet(WSGIRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

        r = Rig()
        r.enqueue("1", "2")
        server = make_server("127.0.0.1", 0, make_wsgi_app(r.service), handler_class=Quiet)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        url = f"http://127.0.0.1:{server.server_port}/qbwc"

        def post(body: bytes, action: str) -> tuple[int, bytes]:
            request = urllib.request.Request(
                url,
                data=body,
                headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": action},
            )
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    return response.status, response.read()
            except urllib.error.HTTPError as exc:
                return exc.code, exc.read()

        try:
            r.wc.transport = post
            assert r.run().completed
        finally:
            server.shutdown()
            server.server_close()
        assert r.ref_numbers() == ["1", "2"]

    def test_service_as_target(self) -> None:
        """The double also drives a service object directly (no WSGI in between)."""
        r = Rig()
        r.wc.target = r.service
        r.enqueue("1")
        assert r.run().completed
        assert r.ref_numbers() == ["1"]


# --- the real 2008 session ---------------------------------------------------------------


def _wsdl_schema() -> etree.XMLSchema:
    root = etree.parse(str(reference_path(WSDL))).getroot()
    schema = root.find(
        "{http://schemas.xmlsoap.org/wsdl/}types/{http://www.w3.org/2001/XMLSchema}schema"
    )
    assert schema is not None
    return etree.XMLSchema(etree.fromstring(etree.tostring(schema)))


def _payload(body: bytes) -> etree._Element:
    root = etree.fromstring(body)
    found = root.find(f"{{{SOAP11_ENV_NS}}}Body")
    assert found is not None
    return found[0]


class TestReal2008Session:
    def test_replay(self, tmp_path: Path) -> None:
        """
        Every request of the captured 2008 session, in order, gets a 200 answer that the
        published WSDL accepts; the real HCP response links the account by its FileID stamp,
        and the second session recovers the first session's unanswered message set.
        """
        folder = reference_path(SESSION)
        requests = sorted(folder.glob("*_request_*.xml"))
        assert len(requests) == 14
        store = SQLiteStore(tmp_path / "replay.sqlite")
        service = WebConnectorService(store=store, owner_id=OWNER_2008, password_cost=2)
        account = service.add_account("api", "password")
        with store.transaction() as tx:
            tx.put_account(attrs.evolve(account, file_id=FILE_2008))
        job = service.enqueue("api", invoice("2008"))
        app = make_wsgi_app(service)
        send = wsgi_transport(app, "https://localhost/qbwc")
        schema = _wsdl_schema()
        captured_ticket: dict[str, str] = {}
        ours = ""
        answers: list[etree._Element] = []
        for path in requests:
            body = path.read_bytes()
            old = re.search(rb"<ticket>([^<]*)</ticket>", body)
            if old is not None:
                body = body.replace(old.group(1), ours.encode())
            status, answer = send(body, "")
            assert status == 200, (path.name, answer)
            payload = _payload(answer)
            schema.assertValid(payload)
            answers.append(payload)
            if path.name.endswith("authenticate.xml"):
                strings = [
                    s.text or "" for s in payload.iter("{http://developer.intuit.com/}string")
                ]
                ours = strings[0]
                captured_ticket[path.name] = ours
                assert strings[1] == ""  # work to do: the open company file
        texts = ["".join(p.itertext()) for p in answers]
        names = [p.name for p in requests]
        first_request = texts[names.index("07_request_sendRequestXML.xml")]
        assert '<?qbxml version="5.0"?>' in first_request  # the highest both speak
        assert "<InvoiceAddRq" in first_request
        linked = service.account("api")
        assert linked is not None
        assert linked.linked_file_id == FILE_2008
        assert linked.company_file is not None
        assert linked.company_file.startswith("C:\\KPALMER\\QBW\\")
        # Session 2 begins with error recovery for the set session 1 never heard back about.
        recovery = texts[names.index("19_request_sendRequestXML.xml")]
        assert "oldMessageSetID" in recovery
        assert "<InvoiceAddRq" not in recovery
        clear = texts[names.index("23_request_sendRequestXML.xml")]
        assert "oldMessageSetID" in clear
        assert "newMessageSetID" not in clear
        # The captured answer held no response for our request: it waits, nothing is lost.
        assert service.job(job.id).status == "pending"
        assert texts[-1].startswith("Connection Closed")
        store.close()


class TestMemoryStoreToo:
    def test_quick_sync(self) -> None:
        """A MemoryStore service with a fresh company file, from the QWC file to the invoice."""
        service = WebConnectorService(
            store=MemoryStore(), owner_id=uuid.uuid4(), password_cost=2, app_name="Shop"
        )
        service.add_account(USER, PASSWORD)
        service.enqueue(USER, invoice("55"))
        qb = FakeQuickBooks.sample()
        wc = FakeWebConnector(make_wsgi_app(service), qb)
        wc.add_application(
            service.qwc(USER, app_url="https://localhost/q", app_support="https://localhost/"),
            password=PASSWORD,
        )
        results = wc.sync()
        assert [r.status for r in results][-1] == "No Data Exchange"
        assert [i.ref_number for i in qb.invoices] == ["55"]


@pytest.mark.parametrize("operation", ["authenticate", "sendRequestXML"])
def test_wsdl_validates_generated_sessions(operation: str) -> None:
    """Answers in a double-driven session validate against the published WSDL too."""
    r = Rig()
    r.enqueue("1")
    schema = _wsdl_schema()
    seen: list[bytes] = []
    send = wsgi_transport(make_wsgi_app(r.service), "https://localhost/qbwc")

    def recording(body: bytes, action: str) -> tuple[int, bytes]:
        status, answer = send(body, action)
        seen.append(answer)
        return status, answer

    r.wc.transport = recording
    assert r.run().completed
    for answer in seen:
        schema.assertValid(_payload(answer))
    assert any(operation.encode() in a for a in seen)
