"""
Bad input on the wire: each hostile body gets a fault or an error status, fast, changing nothing.

The corpus (built deterministically from a seed) holds the real Web Connector
request captures in ``../shared/reference/soap/``, truncated at many points and
mutated at random; random bytes; DTD, billion-laughs, external-entity and
XInclude payloads; SOAP 1.2; an unknown operation; a wrong or missing
namespace; deep nesting; odd encodings; and bodies aimed at a live session's
ticket.  Each input goes through the WSGI application and through
``service.handle``; for each we check:

- the answer is a SOAP 1.1 fault with HTTP 500 (or 413 / another error
  status), or, for an input that is still a well-formed call (a capture whose
  ticket or user we do not know), a harmless 200 reply;
- Python allocated a bounded amount while answering (tracemalloc peak), and
  the refusals that can cost work are shown to stop early by counting it
  (bytes read, parses made); timings are in ``benchmarks/hostile.py``;
- the store (accounts, jobs, sessions, in-flight sets) is exactly as before.

A 50 MB body is refused by the WSGI application with 413 before a byte of it
is read, and by ``service.handle`` before it is parsed.  Bodies under the cap
whose markup could never be a call (a million elements, 200,000 attributes,
100,000 namespace declarations) are refused after their first 64 KiB, in a
few MB.  Run with ``-s`` to see the count of inputs and outcomes.
"""

from __future__ import annotations

import io
import random
import subprocess
import sys
import textwrap
import tracemalloc
import uuid
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest
from lxml import etree

from qbwc import WebConnectorService
from qbwc._xml import SOAP11_ENV_NS
from qbwc.protocol._events import (
    AuthenticateCall,
    ReceiveResponseXMLCall,
    RequestXML,
    SendRequestXMLCall,
)
from qbwc.protocol._soap import encode_call
from qbwc.qbxml._requests import InvoiceAdd, InvoiceLineAdd
from qbwc.qbxml._types import Ref
from qbwc.store import MemoryStore, SQLiteStore, Store
from qbwc.testing import FakeQuickBooks, FakeWebConnector
from qbwc.wsgi import make_wsgi_app
from tests.reference import REFERENCE_DIR, require_reference

OWNER = uuid.UUID("0F1E2D3C-4B5A-4968-8776-A5B4C3D2E1F0")
USER = "kristy@example.com"
PASSWORD = "correct horse battery staple"
SEED = 5_2026

#: Python memory one answer may allocate at peak (the 9 MB body below is the largest).
MAX_PEAK_BYTES = 40 * 1024 * 1024
#: Peak for small inputs: a few hundred KiB of lxml trees and strings, at most.
MAX_PEAK_SMALL = 2 * 1024 * 1024

CAPTURE_GLOBS = (
    "soap/consolibyte-2008-session/extracted/*_request_*.xml",
    "soap/flowlink/*.xml",
    "soap/extracted/*.xml",
)

ENVELOPE = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">'
    "<soap:Body>{body}</soap:Body></soap:Envelope>"
)


# --- the corpus ---------------------------------------------------------------------------


def captures() -> dict[str, bytes]:
    """The real request bodies, by name (service replies in the folder are left out)."""
    require_reference()
    found: dict[str, bytes] = {}
    for pattern in CAPTURE_GLOBS:
        for path in sorted(REFERENCE_DIR.glob(pattern)):
            if "_response_" in path.name:
                continue
            found[path.name] = path.read_bytes()
    return found


def truncations(name: str, data: bytes, rng: random.Random) -> Iterator[tuple[str, bytes, bool]]:
    """Prefixes of *data*; strict unless only trailing whitespace was cut."""
    cuts = {0, 1, 10, len(data) // 4, len(data) // 2, 3 * len(data) // 4, len(data) - 1}
    cuts.update(rng.randrange(len(data)) for _ in range(12))
    for cut in sorted(c for c in cuts if 0 <= c < len(data)):
        body = data[:cut]
        yield f"{name}[:{cut}]", body, body.rstrip() != data.rstrip()


def mutations(name: str, data: bytes, rng: random.Random) -> Iterator[tuple[str, bytes, bool]]:
    """Random damage to *data*: flipped, deleted, inserted, duplicated or swapped bytes."""
    specials = (b"<", b">", b"&", b'"', b"\x00", b"\xff", b"]]>", b"<!--", b"&#0;", b"\xc3")
    for index in range(30):
        body = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(max(1, len(body)))
            kind = rng.randrange(5)
            if kind == 0 and body:
                body[at] ^= 1 << rng.randrange(8)
            elif kind == 1:
                del body[at : at + rng.randint(1, 40)]
            elif kind == 2:
                body[at:at] = rng.choice(specials)
            elif kind == 3:
                span = body[at : at + rng.randint(1, 200)]
                body[at:at] = span * rng.randint(1, 50)
            else:
                body[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        yield f"{name}~{index}", bytes(body), False


def random_bodies(rng: random.Random) -> Iterator[tuple[str, bytes, bool]]:
    for index in range(60):
        size = rng.choice((0, 1, 2, 16, 100, 1000, 4096, 65536))
        yield f"random-{index}-{size}B", rng.randbytes(size), True
    prefix = ENVELOPE.split("{body}", maxsplit=1)[0].encode()
    for index in range(20):
        yield f"envelope-then-random-{index}", prefix + rng.randbytes(rng.randint(1, 500)), True


def entity_payloads(ticket: str) -> Iterator[tuple[str, bytes, bool]]:
    """DTDs, entity expansion, external entities, XInclude."""
    laughs = ['<!ENTITY lol "lol">'] + [
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
        for i in range(1, 10)
    ]
    call = (
        '<authenticate xmlns="http://developer.intuit.com/">'
        "<strUserName>{value}</strUserName><strPassword>x</strPassword></authenticate>"
    )

    def doc(dtd: str, value: str) -> bytes:
        head = '<?xml version="1.0"?>' + dtd
        return (head + ENVELOPE.split("?>", 1)[1].format(body=call.format(value=value))).encode()

    yield (
        "billion-laughs",
        doc(f"<!DOCTYPE soap:Envelope [{''.join(laughs)}]>", "&lol9;"),
        True,
    )
    big = "A" * 100_000
    yield (
        "quadratic-blowup",
        doc(f'<!DOCTYPE soap:Envelope [<!ENTITY a "{big}">]>', "&a;" * 1000),
        True,
    )
    yield (
        "external-entity-file",
        doc('<!DOCTYPE soap:Envelope [<!ENTITY x SYSTEM "file:///etc/passwd">]>', "&x;"),
        True,
    )
    yield (
        "external-entity-http",
        doc('<!DOCTYPE soap:Envelope [<!ENTITY x SYSTEM "http://127.0.0.1:9/x">]>', "&x;"),
        True,
    )
    yield (
        "external-dtd",
        doc('<!DOCTYPE soap:Envelope SYSTEM "http://127.0.0.1:9/evil.dtd">', "kristy"),
        True,
    )
    yield (
        "parameter-entity",
        doc(
            '<!DOCTYPE soap:Envelope [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>',
            "kristy",
        ),
        True,
    )
    yield ("doctype-alone", doc("<!DOCTYPE soap:Envelope>", USER), True)
    yield (
        "undeclared-entity",
        doc("", "&undeclared;"),
        True,
    )
    xinclude = (
        '<authenticate xmlns="http://developer.intuit.com/" '
        'xmlns:xi="http://www.w3.org/2001/XInclude">'
        '<strUserName><xi:include href="file:///etc/passwd" parse="text"/></strUserName>'
        "<strPassword>x</strPassword></authenticate>"
    )
    yield "xinclude", ENVELOPE.format(body=xinclude).encode(), True
    # The same attacks aimed at a live session.
    receive = encode_call(
        ReceiveResponseXMLCall(ticket=ticket, response="<QBXML/>", hresult="", message="")
    )
    yield (
        "live-ticket-with-dtd",
        receive.replace(
            b"<soap:Envelope",
            b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><soap:Envelope',
        ),
        True,
    )


def envelope_payloads(ticket: str) -> Iterator[tuple[str, bytes, bool]]:
    """Wrong SOAP version, operation, namespace, shape, nesting and encoding."""
    auth = '<authenticate xmlns="http://developer.intuit.com/"><strUserName>{u}</strUserName><strPassword>{p}</strPassword></authenticate>'
    good_auth = auth.format(u=USER, p=PASSWORD)
    soap12 = (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<soap12:Envelope xmlns:soap12="http://www.w3.org/2003/05/soap-envelope">'
        f"<soap12:Body>{good_auth}</soap12:Body></soap12:Envelope>"
    )
    yield "soap-1.2-authenticate", soap12.encode(), True
    send = encode_call(
        SendRequestXMLCall(
            ticket=ticket,
            hcp_response="",
            company_file_name="C:\\A.QBW",
            country="US",
            major_version=16,
            minor_version=0,
        )
    )
    yield (
        "soap-1.2-live-ticket",
        send.replace(SOAP11_ENV_NS.encode(), b"http://www.w3.org/2003/05/soap-envelope"),
        True,
    )
    yield (
        "unknown-operation",
        ENVELOPE.format(
            body=f'<deleteEverything xmlns="http://developer.intuit.com/"><ticket>{ticket}</ticket></deleteEverything>'
        ).encode(),
        True,
    )
    yield (
        "wrong-namespace",
        ENVELOPE.format(body=good_auth.replace("developer.intuit.com", "example.com")).encode(),
        True,
    )
    yield (
        "no-namespace",
        ENVELOPE.format(
            body=good_auth.replace(' xmlns="http://developer.intuit.com/"', "")
        ).encode(),
        True,
    )
    yield (
        "live-ticket-wrong-namespace",
        send.replace(b"http://developer.intuit.com/", b"http://developer.intuit.com.evil/"),
        True,
    )
    yield "empty-body", b"", True
    yield "whitespace-body", b" \r\n\t ", True
    yield "not-xml", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", True
    yield "json", b'{"authenticate": {"strUserName": "kristy"}}', True
    yield (
        "envelope-without-body",
        ENVELOPE.replace("<soap:Body>{body}</soap:Body>", "").encode(),
        True,
    )
    yield "empty-soap-body", ENVELOPE.format(body="").encode(), True
    yield "two-operations", ENVELOPE.format(body=good_auth + good_auth).encode(), True
    yield (
        "html-root",
        b"<html><body><authenticate>kristy</authenticate></body></html>",
        True,
    )
    yield (
        "missing-parameter",
        ENVELOPE.format(body='<authenticate xmlns="http://developer.intuit.com/"/>').encode(),
        True,
    )
    yield (
        "parameter-twice",
        ENVELOPE.format(
            body=good_auth.replace(
                "<strPassword>", f"<strUserName>{USER}</strUserName><strPassword>"
            )
        ).encode(),
        True,
    )
    yield (
        "markup-inside-parameter",
        ENVELOPE.format(body=auth.format(u="<b>kristy</b>", p=PASSWORD)).encode(),
        True,
    )
    yield (
        "version-not-an-int",
        send.replace(
            b"<qbXMLMajorVers>16</qbXMLMajorVers>",
            b"<qbXMLMajorVers>16; DROP TABLE</qbXMLMajorVers>",
        ),
        True,
    )
    yield (
        "version-overflow",
        send.replace(b"<qbXMLMajorVers>16", b"<qbXMLMajorVers>99999999999999999999"),
        True,
    )
    depth = 100_000
    yield (
        "deep-nesting",
        ENVELOPE.format(body="<a>" * depth + "</a>" * depth).encode(),
        True,
    )
    yield (
        "utf-16-declared-utf-8-bytes",
        ENVELOPE.replace('"utf-8"', '"utf-16"').format(body=good_auth).encode(),
        True,
    )
    yield (
        "unknown-encoding",
        ENVELOPE.replace('"utf-8"', '"x-klingon"').format(body=good_auth).encode(),
        True,
    )
    yield (
        "invalid-utf-8",
        ENVELOPE.format(body=auth.format(u="kristy\xff", p="x")).encode("latin-1"),
        True,
    )
    yield (
        "nul-character-reference",
        ENVELOPE.format(body=auth.format(u="a&#0;b", p="x")).encode(),
        True,
    )
    yield (
        "cdata-markup",
        ENVELOPE.format(body=auth.format(u="<![CDATA[</strUserName><strPassword>", p="x")).encode(),
        True,
    )
    yield (
        "processing-instruction",
        ENVELOPE.format(body="<?php system('id'); ?>" + "").encode(),
        True,
    )
    yield "comment-only", b"<!-- nothing -->", True
    yield (
        "huge-attribute-count",
        ENVELOPE.format(
            body="<authenticate xmlns='http://developer.intuit.com/' "
            + " ".join(f"a{i}='x'" for i in range(5000))
            + "/>"
        ).encode(),
        True,
    )


def corpus(ticket: str) -> list[tuple[str, str, bytes, bool]]:
    """(category, name, body, strict): strict inputs must be refused."""
    rng = random.Random(SEED)
    items: list[tuple[str, str, bytes, bool]] = []
    for name, data in captures().items():
        items.append(("capture (as recorded)", name, data, False))
        items.extend(("capture truncated", n, b, s) for n, b, s in truncations(name, data, rng))
        items.extend(("capture mutated", n, b, s) for n, b, s in mutations(name, data, rng))
    items.extend(("random bytes", n, b, s) for n, b, s in random_bodies(rng))
    items.extend(("DTD / entities", n, b, s) for n, b, s in entity_payloads(ticket))
    items.extend(("envelope / SOAP", n, b, s) for n, b, s in envelope_payloads(ticket))
    return items


# --- the service under attack -------------------------------------------------------------


def snapshot(store: Store) -> tuple[Any, ...]:
    """Everything the store holds that a call could change."""
    with store.transaction() as tx:
        accounts = tx.list_accounts()
        jobs = tx.list_jobs()
        sessions = tuple(r for a in accounts for r in tx.sessions_for(a.username))
        in_flight = tuple(tx.get_in_flight(a.username) for a in accounts)
    return accounts, jobs, sessions, in_flight


class Clock:
    def __init__(self) -> None:
        self.now = 1_767_225_600.0

    def __call__(self) -> float:
        return self.now


def invoice(ref: str) -> InvoiceAdd:
    line = InvoiceLineAdd(item_ref=Ref(full_name="Consulting"), quantity=Decimal(2))
    return InvoiceAdd(customer_ref=Ref(full_name="Acme Corp"), ref_number=ref, lines=[line])


#: A service mid-sync, the ticket of its live session, and its company file.
Live = tuple[WebConnectorService, str, FakeQuickBooks]


def live_service(store: Store) -> Live:
    """A service with a linked account, done and pending jobs, and a live session mid-sync."""
    service = WebConnectorService(
        store=store, owner_id=OWNER, app_name="Acme Billing", password_cost=2, clock=Clock()
    )
    service.add_account(USER, PASSWORD)
    qb = FakeQuickBooks.sample()
    wc = FakeWebConnector(make_wsgi_app(service), qb)
    wc.add_application(
        service.qwc(USER, app_url="https://localhost/qbwc", app_support="https://localhost/s"),
        password=PASSWORD,
    )
    service.enqueue(USER, invoice("1001"), key="inv-1001")
    assert wc.run_session().completed  # links the company file, one job done
    service.enqueue(USER, invoice("1002"), key="inv-1002")
    service.enqueue(USER, invoice("1003"), key="inv-1003")
    reply = service.respond(AuthenticateCall(username=USER, password=PASSWORD))
    ticket: str = reply.ticket  # type: ignore[union-attr]
    return service, ticket, qb


@pytest.fixture(params=["memory", "sqlite"])
def live(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Live]:
    store: Store = (
        MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / "q.sqlite")
    )
    yield live_service(store)
    store.close()


class CountingInput(io.RawIOBase):
    """A wsgi.input of *size* bytes that counts what was read from it."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = min(len(buffer), self.size - self.read_bytes)
        buffer[:n] = b"<" * n
        self.read_bytes += n
        return n


def call_wsgi(
    app: Any, body: bytes | None, *, length: int | None = None, stream: Any = None
) -> tuple[int, bytes]:
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/qbwc",
        "QUERY_STRING": "",
        "CONTENT_TYPE": "text/xml; charset=utf-8",
        "CONTENT_LENGTH": str(len(body or b"") if length is None else length),
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "443",
        "HTTP_HOST": "localhost",
        "wsgi.url_scheme": "https",
        "wsgi.input": stream if stream is not None else io.BytesIO(body or b""),
        "wsgi.errors": sys.stderr,
    }
    seen: list[str] = []
    chunks = app(environ, lambda status, headers, exc_info=None: seen.append(status))
    return int(seen[0].split()[0]), b"".join(chunks)


def count_parses(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """From now on, the size of each document handed to libxml2 (``etree.fromstring``)."""
    sizes: list[int] = []
    parse = etree.fromstring

    def counted(data: Any, *args: Any, **kwargs: Any) -> Any:
        sizes.append(len(data))
        return parse(data, *args, **kwargs)

    monkeypatch.setattr(etree, "fromstring", counted)
    return sizes


def fault_code(body: bytes) -> str | None:
    """The faultcode of a SOAP 1.1 fault body, or None when it is not one."""
    root = etree.fromstring(body)
    fault = root.find(f"{{{SOAP11_ENV_NS}}}Body/{{{SOAP11_ENV_NS}}}Fault")
    return None if fault is None else fault.findtext("faultcode")


# --- the tests -------------------------------------------------------------------------------


class TestHostileCorpus:
    def test_every_input_is_refused_quickly_and_changes_nothing(self, live: Live) -> None:
        """1,100 hostile bodies: a fault or error status, bounded memory, store intact."""
        service, ticket, _ = live
        app = make_wsgi_app(service)
        before = snapshot(service.store)
        outcomes: Counter[tuple[str, str]] = Counter()
        peak_max = 0
        items = corpus(ticket)
        tracemalloc.start()
        try:
            for category, name, body, strict in items:
                tracemalloc.reset_peak()
                base = tracemalloc.get_traced_memory()[0]
                status, answer = call_wsgi(app, body)
                direct = service.handle(body)
                peak = tracemalloc.get_traced_memory()[1] - base
                peak_max = max(peak_max, peak)
                assert peak < MAX_PEAK_SMALL, f"{name}: peak {peak:,} bytes"
                code = fault_code(answer)
                assert fault_code(direct) == code, name
                if status == 200:
                    assert code is None, name
                    assert not strict, f"{name} ({category}) was answered 200"
                    outcomes[category, "200 reply (a call for an unknown ticket or user)"] += 1
                else:
                    assert status == 500, f"{name}: HTTP {status}"
                    assert code is not None, f"{name}: HTTP 500 without a SOAP fault"
                    outcomes[category, f"500 fault {code}"] += 1
                assert snapshot(service.store) == before, f"{name} changed the store"
        finally:
            tracemalloc.stop()
        total = len(items)
        print(f"\nhostile wire inputs ({type(service.store).__name__}): {total} tried")
        for (category, outcome), count in sorted(outcomes.items()):
            print(f"  {category:24} {outcome:55} {count:5}")
        print(f"  largest tracemalloc peak {peak_max:,} bytes")
        assert total >= 500
        refused = sum(n for (c, o), n in outcomes.items() if o.startswith("500"))
        assert refused >= total * 0.8

    def test_the_live_session_still_works_afterwards(self, live: Live) -> None:
        """After the barrage the live session continues: its next call is answered normally."""
        service, ticket, qb = live
        for _, _, body, _ in corpus(ticket):
            service.handle(body)
        reply = service.respond(
            SendRequestXMLCall(
                ticket=ticket,
                hcp_response=qb.hcp_response(OWNER),
                company_file_name=qb.company_file,
                country="US",
                major_version=16,
                minor_version=0,
            )
        )
        assert isinstance(reply, RequestXML)
        assert "<RefNumber>1002</RefNumber>" in reply.qbxml


class TestSpecificRefusals:
    def test_soap_12_gets_version_mismatch(self, live: Live) -> None:
        """A SOAP 1.2 envelope gets a soap:VersionMismatch fault (docs/protocol.md)."""
        service, ticket, _ = live
        body = {n: b for n, b, _ in envelope_payloads(ticket)}["soap-1.2-authenticate"]
        status, answer = call_wsgi(make_wsgi_app(service), body)
        assert status == 500
        assert fault_code(answer) == "soap:VersionMismatch"

    @pytest.mark.parametrize(
        ("name", "reason"),
        [
            # Refused from the prolog, before libxml2 reads a single declaration.
            ("billion-laughs", b"a DOCTYPE is not allowed"),
            ("quadratic-blowup", b"a DOCTYPE is not allowed"),
            ("external-entity-file", b"a DOCTYPE is not allowed"),
            ("external-entity-http", b"a DOCTYPE is not allowed"),
            ("external-dtd", b"a DOCTYPE is not allowed"),
            ("parameter-entity", b"a DOCTYPE is not allowed"),
            ("undeclared-entity", b"not defined"),
        ],
    )
    def test_dtd_payloads_are_refused_by_name(self, live: Live, name: str, reason: bytes) -> None:
        """DTD payloads are refused saying why; /etc/passwd never appears in the answer."""
        service, ticket, _ = live
        body = {n: b for n, b, _ in entity_payloads(ticket)}[name]
        status, answer = call_wsgi(make_wsgi_app(service), body)
        assert status == 500
        assert reason in answer
        assert b"root:" not in answer

    def test_unknown_operation_names_the_known_ones(self, live: Live) -> None:
        """An unknown operation's fault says which operations exist, with a support reference."""
        service, ticket, _ = live
        body = {n: b for n, b, _ in envelope_payloads(ticket)}["unknown-operation"]
        status, answer = call_wsgi(make_wsgi_app(service), body)
        assert status == 500
        assert b"deleteEverything" in answer
        assert b"authenticate" in answer
        assert b"QBWC-" in answer


class TestHugeBodies:
    def test_wsgi_refuses_50_mb_before_reading_it(self, live: Live) -> None:
        """A 50 MB POST gets 413 with a SOAP fault, and not one byte of the body is read."""
        service, _, _ = live
        before = snapshot(service.store)
        size = 50 * 1024 * 1024
        stream = CountingInput(size)
        tracemalloc.start()
        try:
            status, answer = call_wsgi(make_wsgi_app(service), None, length=size, stream=stream)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert status == 413
        assert fault_code(answer) == "soap:Client"
        assert b"52,428,800 bytes" in answer
        assert stream.read_bytes == 0
        assert peak < MAX_PEAK_SMALL
        assert snapshot(service.store) == before

    def test_wsgi_refuses_a_body_of_unknown_length(self, live: Live) -> None:
        """A POST whose Content-Length is not a number gets 413 without reading."""
        service, _, _ = live
        stream = CountingInput(1024)
        status, answer = call_wsgi(make_wsgi_app(service), None, length=-5, stream=stream)
        assert status == 413
        assert stream.read_bytes == 0
        assert fault_code(answer) == "soap:Client"

    def test_handle_refuses_50_mb_without_parsing(
        self, live: Live, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """service.handle() given 50 MB answers a fault at once, allocating almost nothing."""
        service, _, _ = live
        before = snapshot(service.store)
        body = ENVELOPE.format(body="<a>" + "x" * (50 * 1024 * 1024) + "</a>").encode()
        parses = count_parses(monkeypatch)
        tracemalloc.start()
        try:
            answer = service.handle(body)
            reply = service.handle_http("POST", body)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert parses == []
        assert fault_code(answer) == "soap:Client"
        assert b"at most" in answer
        assert reply.status == 413
        assert peak < MAX_PEAK_SMALL
        assert snapshot(service.store) == before

    def test_just_under_the_limit_is_parsed_in_bounded_memory(self, live: Live) -> None:
        """A 9 MB receiveResponseXML for an unknown ticket is answered, within a memory bound."""
        service, _, _ = live
        before = snapshot(service.store)
        body = encode_call(
            ReceiveResponseXMLCall(
                ticket="not-a-ticket", response="x" * (9 * 1024 * 1024), hresult="", message=""
            )
        )
        tracemalloc.start()
        try:
            status, answer = call_wsgi(make_wsgi_app(service), body)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert status == 200
        assert b"-1" in answer  # an unknown ticket's response: "failed", nothing recorded
        assert peak < MAX_PEAK_BYTES
        assert snapshot(service.store) == before


# --- markup floods under the size cap -------------------------------------------------------

#: Bodies just under the cap whose markup could never be a call (docs/protocol.md).
FLOOD_SIZE = 9_600_000
FLOOD_LIMITS = {
    "elements": b"more than 256 elements",
    "attributes": b"more than 256 attributes",
    "namespaces": b"more than 64 namespace declarations",
}


def flood_body(kind: str) -> bytes:
    """A SOAP envelope holding 1,000,000 elements, 200,000 attributes or 100,000 xmlns, padded."""
    if kind == "elements":
        flood = b"<e/>" * 1_000_000
    elif kind == "attributes":
        flood = b"<e" + b"".join(b' a%d="v"' % i for i in range(200_000)) + b"/>"
    else:
        flood = b"<e" + b"".join(b' xmlns:n%d="urn:x"' % i for i in range(100_000)) + b"/>"
    body = ENVELOPE.format(body="{flood}").encode()
    head, _, tail = body.partition(b"{flood}")
    return head + flood + b" " * (FLOOD_SIZE - len(head) - len(flood) - len(tail)) + tail


class ReadCounter(io.BytesIO):
    """A wsgi.input that counts the bytes read from it."""

    read_bytes = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.read_bytes += len(data)
        return data


class TestMarkupFloods:
    @pytest.mark.parametrize("kind", sorted(FLOOD_LIMITS))
    def test_wsgi_refuses_after_the_first_piece(
        self, live: Live, kind: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The WSGI app refuses a flood after reading 64 KiB of it, never parsing it."""
        service, _, _ = live
        before = snapshot(service.store)
        body = flood_body(kind)
        stream = ReadCounter(body)
        parses = count_parses(monkeypatch)
        status, answer = call_wsgi(make_wsgi_app(service), None, length=len(body), stream=stream)
        assert parses == []
        assert status == 500
        assert fault_code(answer) == "soap:Client"
        assert FLOOD_LIMITS[kind] in answer
        assert stream.read_bytes == 64 * 1024
        assert snapshot(service.store) == before

    @pytest.mark.parametrize("kind", sorted(FLOOD_LIMITS))
    def test_handle_refuses_without_parsing(
        self, live: Live, kind: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """service.handle() given the whole flood refuses it by counting, not by parsing."""
        service, _, _ = live
        before = snapshot(service.store)
        parses = count_parses(monkeypatch)
        answer = service.handle(flood_body(kind))
        assert parses == []
        assert fault_code(answer) == "soap:Client"
        assert FLOOD_LIMITS[kind] in answer
        assert snapshot(service.store) == before

    def test_peak_memory_of_each_refusal(self, tmp_path: Path) -> None:
        """In a fresh process, refusing a flood (WSGI, then handle) raises VmHWM < 16 MB."""
        for kind in FLOOD_LIMITS:
            (tmp_path / kind).write_bytes(flood_body(kind))
        code = textwrap.dedent(
            """
            import io, sys, uuid
            from pathlib import Path
            from qbwc import WebConnectorService
            from qbwc.store import MemoryStore
            from qbwc.wsgi import make_wsgi_app

            def hwm():
                for line in Path("/proc/self/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) * 1024

            service = WebConnectorService(store=MemoryStore(), owner_id=uuid.uuid4())
            app = make_wsgi_app(service)
            service.handle(b"<x/>")  # imports and first-use caches, before the baseline
            for path in sys.argv[1:]:
                body = Path(path).read_bytes()
                base = hwm()
                environ = {"REQUEST_METHOD": "POST", "CONTENT_LENGTH": str(len(body)),
                           "wsgi.input": io.BytesIO(body)}
                status = []
                answer = b"".join(app(environ, lambda s, h: status.append(s)))
                assert status == ["500 Internal Server Error"], status
                service.handle(body)
                print(Path(path).name, hwm() - base)
                del body, environ
            """
        )
        for kind in FLOOD_LIMITS:  # a process each: VmHWM only grows
            result = subprocess.run(
                [sys.executable, "-c", code, str(tmp_path / kind)],
                capture_output=True,
                text=True,
                check=False,
            )
            assert result.returncode == 0, result.stderr
            name, grew = result.stdout.split()
            assert name == kind
            assert int(grew) < 16 * 1024 * 1024, f"{kind}: VmHWM +{int(grew):,} bytes"

    @pytest.mark.parametrize("call", ["sendRequestXML", "receiveResponseXML"])
    def test_qbxml_flood_in_a_live_session_changes_nothing(
        self, live: Live, call: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A qbXML document out of proportion to its size: a soap:Client fault, store intact."""
        service, ticket, qb = live
        flood = "<QBXML><QBXMLMsgsRs>" + "<a/>" * 500_000 + "</QBXMLMsgsRs></QBXML>"
        send = SendRequestXMLCall(
            ticket=ticket,
            hcp_response=qb.hcp_response(OWNER),
            company_file_name=qb.company_file,
            country="US",
            major_version=16,
            minor_version=0,
        )
        if call == "sendRequestXML":
            body = encode_call(attrs.evolve(send, hcp_response=flood))
        else:
            assert isinstance(service.respond(send), RequestXML)  # a message set in flight
            body = encode_call(
                ReceiveResponseXMLCall(ticket=ticket, response=flood, hresult="", message="")
            )
        before = snapshot(service.store)
        parses = count_parses(monkeypatch)
        status, answer = call_wsgi(make_wsgi_app(service), body)
        assert parses == [len(body)]  # the envelope; the qbXML never reached libxml2
        assert status == 500
        assert fault_code(answer) == "soap:Client"
        where = b"sendRequestXML.strHCPResponse" if call == "sendRequestXML" else b"qbXML response"
        assert where + b": 500,004 '&lt;' (tags) in 2,000,042 characters, at most 251,029" in answer
        assert snapshot(service.store) == before
