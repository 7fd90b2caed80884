"""
The hostile-input campaign of ``benchmarks/reliability.py``: the corpus, the judge, the run.
"""

from __future__ import annotations

import http.client
import random
import re
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.reliability_common import (
    OTHER,
    PASSWORD,
    SERVER_VERSION,
    USER,
    Gunicorn,
    Queue,
    Recorder,
    Stores,
    Tally,
    all_jobs,
    drain,
    make_service,
    post,
    raw,
    settle,
    web_connector,
)

# --- hostile inputs -------------------------------------------------------------------------------

#: A hostile input: (category, name, send it -> (status, body), expectation).
#: Expectation: "fault" (must be a SOAP fault), "any" (a fault or a correct reply),
#: "wsdl" (a WSDL whose address is not the forged host in the name).
Hostile = tuple[str, str, Callable[[], tuple[int, bytes]], str]

_ADD_RS = (
    '<?xml version="1.0"?><QBXML><QBXMLMsgsRs onError="continueOnError">'
    '<{tag} requestID="{rid}" statusCode="0" statusSeverity="Info" statusMessage="Status OK">'
    "</{tag}></QBXMLMsgsRs></QBXML>"
)


def _call(call: Any) -> bytes:
    from qbwc.protocol._soap import encode_call

    return encode_call(call)


def authenticate_ticket(port: int, username: str) -> str:
    """A live ticket of *username* (which has work queued), from a real authenticate."""
    from qbwc.protocol._events import AuthenticateCall
    from qbwc.protocol._soap import decode_reply

    _, body = post(port, _call(AuthenticateCall(username=username, password=PASSWORD)))
    reply = decode_reply("authenticate", body)
    return str(getattr(reply, "ticket", ""))


def hostile_inputs(
    port: int, ticket: Callable[[], str], replays: Recorder, rng: random.Random
) -> list[Hostile]:
    """The corpus of tests/test_wire_hostile.py and the shapes that need a live server."""
    from tests.test_wire_hostile import FLOOD_LIMITS, corpus, flood_body

    from qbwc.protocol._events import (
        CloseConnectionCall,
        ConnectionErrorCall,
        GetInteractiveURLCall,
        GetLastErrorCall,
        InteractiveDoneCall,
        ReceiveResponseXMLCall,
        SendRequestXMLCall,
    )

    items: list[Hostile] = []

    def sender(body: bytes) -> Callable[[], tuple[int, bytes]]:
        return lambda: post(port, body)

    live = ticket()
    for category, name, body, strict in corpus(live):
        # Bodies aimed at a live ticket are rebuilt with the ticket live at send time.
        items.append(
            (category, name, _with_ticket(port, body, live, ticket), "fault" if strict else "any")
        )
    for kind in FLOOD_LIMITS:
        flood = flood_body(kind)
        head = (
            f"POST /qbwc HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: text/xml\r\n"
            f"Content-Length: {len(flood)}\r\nConnection: close\r\n\r\n"
        ).encode()
        # Sent raw: the server answers after the first 64 KiB and closes (docs/protocol.md).
        items.append(
            ("markup flood", f"9.6 MB of {kind}", lambda d=head + flood: raw(port, d), "fault")
        )
        head = (
            f"POST /qbwc HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: text/xml\r\n"
            "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        ).encode()
        chunked = b"".join(
            b"%x\r\n%s\r\n" % (len(flood[i : i + 65536]), flood[i : i + 65536])
            for i in range(0, len(flood), 65536)
        )
        items.append(
            (
                "chunked, no length",
                f"{kind} flood",
                lambda d=head + chunked + b"0\r\n\r\n": raw(port, d),
                "fault",
            )
        )
    over = b"<" * (10 * 2**20 + 10)
    items.append(
        (
            "size cap",
            "10 MiB + 10 bytes",
            lambda: raw(
                port,
                (
                    "POST /qbwc HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\n"
                    f"Content-Length: {len(over)}\r\nConnection: close\r\n\r\n"
                ).encode()
                + over,
            ),
            "fault",
        )
    )
    from qbwc.protocol._events import AuthenticateCall

    huge = _call(AuthenticateCall(username=USER, password="p" * 5_000_000))
    items.append(("huge text", "5 MB password", sender(huge), "any"))
    items.append(
        (
            "huge text",
            "5 MB username",
            sender(_call(AuthenticateCall(username="u" * 5_000_000, password="x"))),
            "any",
        )
    )
    for piece in (1, 7, 4096):
        body = SERVER_VERSION
        chunks = b"".join(
            b"%x\r\n%s\r\n" % (len(body[i : i + piece]), body[i : i + piece])
            for i in range(0, len(body), piece)
        )
        data = (
            (
                f"POST /qbwc HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: text/xml\r\n"
                "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            ).encode()
            + chunks
            + b"0\r\n\r\n"
        )
        items.append(
            (
                "chunked, no length",
                f"serverVersion in {piece}-byte chunks",
                lambda d=data: raw(port, d),
                "any",
            )
        )
    for host in (
        "evil.example.com",
        "evil.example.com:443",
        'x"><import location="http://evil/',
        "127.0.0.1@evil.example.com",
        "EVIL.EXAMPLE.COM.",
        "evil.example.com\tx",
        "[::1]:80",
    ):
        data = f"GET /qbwc?wsdl HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode()
        items.append(("forged Host on ?wsdl", host, lambda d=data: raw(port, d), "wsdl"))
    for index in range(20):
        bad = rng.choice(
            ["", "x", "0" * 64, str(uuid.uuid4()), "a" * 5000, "\u00e9\u4e2d", live[:-1]]
        )
        calls = [
            SendRequestXMLCall(
                ticket=bad,
                hcp_response="",
                company_file_name="C:\\x.qbw",
                country="US",
                major_version=16,
                minor_version=0,
            ),
            ReceiveResponseXMLCall(
                ticket=bad, response=_ADD_RS.format(tag="InvoiceAddRs", rid="1")
            ),
            GetLastErrorCall(ticket=bad),
            CloseConnectionCall(ticket=bad),
            ConnectionErrorCall(ticket=bad, hresult="0x80040408", message="x"),
        ]
        items.append(
            ("bad ticket", f"bad-ticket-{index}", sender(_call(calls[index % len(calls)])), "any")
        )

    def on_live(make: Callable[[str], Any]) -> Callable[[], tuple[int, bytes]]:
        return lambda: post(port, _call(make(ticket())))

    wrong = [
        (
            "CustomerAddRs for an InvoiceAdd",
            lambda t: ReceiveResponseXMLCall(
                ticket=t, response=_ADD_RS.format(tag="CustomerAddRs", rid="1")
            ),
        ),
        (
            "an answer to an unknown requestID",
            lambda t: ReceiveResponseXMLCall(
                ticket=t, response=_ADD_RS.format(tag="InvoiceAddRs", rid="999999")
            ),
        ),
        ("not qbXML", lambda t: ReceiveResponseXMLCall(ticket=t, response="<html>hello</html>")),
        ("empty answer", lambda t: ReceiveResponseXMLCall(ticket=t, response="")),
        (
            "answer to another message set",
            lambda t: ReceiveResponseXMLCall(
                ticket=t,
                response='<QBXML><QBXMLMsgsRs newMessageSetID="nope"/></QBXML>',
            ),
        ),
        (
            "hresult and a response",
            lambda t: ReceiveResponseXMLCall(
                ticket=t,
                response=_ADD_RS.format(tag="InvoiceAddRs", rid="1"),
                hresult="0x80040400",
                message="x",
            ),
        ),
        (
            "DOCTYPE in the qbXML",
            lambda t: ReceiveResponseXMLCall(
                ticket=t, response='<!DOCTYPE x [<!ENTITY e "e">]><QBXML>&e;</QBXML>'
            ),
        ),
        ("hresult not hex", lambda t: ConnectionErrorCall(ticket=t, hresult="-1", message="x")),
    ]
    for name, make in wrong:
        items.append(("answer of the wrong type (live ticket)", name, on_live(make), "any"))
    order = [
        (
            "receiveResponseXML before sendRequestXML",
            lambda t: ReceiveResponseXMLCall(
                ticket=t, response=_ADD_RS.format(tag="InvoiceAddRs", rid="1")
            ),
        ),
        ("closeConnection", lambda t: CloseConnectionCall(ticket=t)),
        (
            "sendRequestXML after closeConnection",
            lambda t: SendRequestXMLCall(
                ticket=t,
                hcp_response="",
                company_file_name="",
                country="US",
                major_version=16,
                minor_version=0,
            ),
        ),
        ("getInteractiveURL unasked", lambda t: GetInteractiveURLCall(ticket=t, session_id="s")),
        ("interactiveDone unasked", lambda t: InteractiveDoneCall(ticket=t)),
        ("getLastError", lambda t: GetLastErrorCall(ticket=t)),
    ]
    for name, make in order:
        items.append(("out-of-order call (live ticket)", name, on_live(make), "any"))

    def nul() -> tuple[int, bytes]:
        call = ConnectionErrorCall(ticket=ticket(), hresult="0x1", message="NUL")
        return post(port, _call(call).replace(b"NUL", b"&#0;"))

    items.append(
        ("answer of the wrong type (live ticket)", "a NUL character reference", nul, "fault")
    )

    def replay() -> tuple[int, bytes]:
        with replays.lock:
            sent = list(replays.sent)
        return post(port, rng.choice(sent)) if sent else post(port, SERVER_VERSION)

    items.extend(
        ("replayed call of the real Web Connector", f"replay-{i}", replay, "any") for i in range(60)
    )
    return items


def _with_ticket(
    port: int, body: bytes, old: str, ticket: Callable[[], str]
) -> Callable[[], tuple[int, bytes]]:
    if old and old.encode() in body:
        return lambda: post(port, body.replace(old.encode(), ticket().encode()))
    return lambda: post(port, body)


def judge(status: int, body: bytes, expect: str, name: str) -> str:
    """ "fault", "reply", "wsdl", or "BAD: why"."""
    from lxml import etree

    lowered = body[:4096].lower()
    if status == 0:
        return "BAD: no HTTP answer"
    if b"traceback" in body.lower() or b"<html" in lowered or b"<!doctype html" in lowered:
        return f"BAD: HTTP {status} with an HTML page or a traceback"
    if expect == "wsdl":
        return judge_wsdl(status, body)
    try:
        root = etree.fromstring(body, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError:
        return f"BAD: HTTP {status}, not XML: {body[:120]!r}"
    env = "{http://schemas.xmlsoap.org/soap/envelope/}"
    if root.tag != f"{env}Envelope":
        return f"BAD: HTTP {status}, not a SOAP 1.1 envelope"
    if root.find(f"{env}Body/{env}Fault") is not None:
        return "fault" if status >= 400 else f"BAD: a fault with HTTP {status}"
    if status != 200:
        return f"BAD: a reply with HTTP {status}"
    return "BAD: a reply to an input that must be refused" if expect == "fault" else "reply"


_SAFE_ADDRESS = re.compile(
    r"https?://(localhost|[A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\])(:[0-9]{1,5})?/qbwc"
)


def judge_wsdl(status: int, body: bytes) -> str:
    """A WSDL naming one endpoint, a plain URL (the request's plain host, or localhost)."""
    from lxml import etree

    if status != 200:
        return f"BAD: ?wsdl answered {status}: {body[:120]!r}"
    try:
        root = etree.fromstring(body, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError:
        return "BAD: ?wsdl answered something that is not XML"
    locations = [
        e.get("location", "")
        for e in root.iter()
        if etree.QName(e).localname in ("address", "import")
    ]
    if len(locations) != 1 or not _SAFE_ADDRESS.fullmatch(locations[0]):
        return f"BAD: the WSDL names {locations!r}"
    return "wsdl (localhost)" if "//localhost" in locations[0] else "wsdl (the request's host)"


def campaign_hostile(stores: Stores, kind: str, *, inputs: int, seed: int) -> Tally:
    """*inputs* hostile bodies to a live server during real syncs; every answer judged."""
    from qbwc.testing import FakeQuickBooks

    rng = random.Random(seed)
    tally = Tally("hostile", kind, unit="inputs")
    started = time.monotonic()
    spec = stores.fresh(kind)
    service = make_service(spec.open())
    service.add_account(USER, PASSWORD)
    service.add_account(OTHER, PASSWORD)
    queue = Queue(service, USER)
    queue.add(4)
    Queue(service, OTHER, prefix="m").add(3)
    qb = FakeQuickBooks.sample()
    with tempfile.TemporaryDirectory(prefix="qbwc-hostile-") as tmp:
        server = Gunicorn(spec, Path(tmp), session_timeout=600, busy_timeout=2)
        recorder = Recorder(server.url)
        wc = web_connector(service, qb, recorder)
        server.start()
        post(server.port, SERVER_VERSION)
        base_rss = server.rss_kb()
        tickets = {"live": authenticate_ticket(server.port, OTHER), "uses": 0}

        def ticket() -> str:
            tickets["uses"] += 1
            if tickets["uses"] % 25 == 0:
                tickets["live"] = authenticate_ticket(server.port, OTHER) or tickets["live"]
            return str(tickets["live"])

        stop = threading.Event()
        outcomes = Counter[str]()

        def sync() -> None:
            while not stop.is_set():
                if len(service.jobs(USER, status="pending", limit=10)) < 2:
                    queue.add(2)
                try:
                    result = wc.run_session()
                    if result.errors:
                        outcomes[f"real update with an error: {result.errors[0][:60]}"] += 1
                    else:
                        outcomes["real update"] += 1
                except (OSError, http.client.HTTPException) as exc:
                    outcomes[f"real update cut: {type(exc).__name__}"] += 1
                time.sleep(0.01)

        syncer = threading.Thread(target=sync, daemon=True)
        syncer.start()
        corpus_items = hostile_inputs(server.port, ticket, recorder, rng)
        rng.shuffle(corpus_items)
        try:
            for index in range(inputs):
                category, name, send, expect = corpus_items[index % len(corpus_items)]
                # At least one real update per 8 hostile inputs, running alongside them.
                for _ in range(500):
                    if sum(outcomes.values()) * 8 >= index or not syncer.is_alive():
                        break
                    time.sleep(0.01)
                try:
                    status, body = send()
                except (OSError, http.client.HTTPException) as exc:
                    status, body = 0, repr(exc).encode()
                verdict = judge(status, body, expect, name)
                tally.inputs += 1
                if verdict.startswith("BAD"):
                    tally.bad_answers += 1
                    tally.notes.append(f"{category} / {name[:60]!r}: {verdict}")
                else:
                    tally.other[verdict] += 1
        finally:
            stop.set()
            syncer.join(60)
        peak = server.peak_kb()
        drain(wc)
        server.stop()
    tally.notes.append(
        f"server workers: RSS {base_rss / 1024:.0f} MB after warm-up, peak {peak / 1024:.0f} MB"
    )
    tally.other["distinct inputs"] = len(corpus_items)
    tally.other.update(outcomes)
    tally.other["peak RSS MB"] = round(peak / 1024)
    settle(tally, service, qb, USER)
    mallory = Counter(job.status for job in all_jobs(service, OTHER))
    tally.notes.append(f"{OTHER}'s jobs (attacked ticket, no QuickBooks): {dict(mallory)}")
    service.store.close()
    tally.seconds = time.monotonic() - started
    return tally
