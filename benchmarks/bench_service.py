"""
Service benchmarks.

1. The per-call and per-session cost of a 5-call Web Connector session (clientVersion,
   authenticate, sendRequestXML with the HCP document, receiveResponseXML, closeConnection)
   through the WSGI app, with MemoryStore and with SQLiteStore, against a floor measured in the
   same run: a minimal hand-written WSGI handler of the same five calls with raw lxml (parse the
   envelope, check the FileID in the HCP, build an InvoiceAdd, read the TxnID back, keep it in a
   dict).  Only time spent inside the WSGI application counts.  Logins use an ``authenticator``
   (a constant-time compare) on both sides; the built-in scrypt hash is reported separately.
2. A sync of 10,000 queued invoices through the QuickBooks double, with tracemalloc: the memory
   the service and its store hold, sampled as jobs finish (allocations made by the double are
   excluded), for MemoryStore (which keeps every job and its result in memory) and SQLiteStore
   (which keeps them on disk).

Run: ``python -m benchmarks.bench_service [--sessions 300] [--invoices 10000]``.
"""

from __future__ import annotations

import argparse
import hmac
import io
import json
import re
import statistics
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable, Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

from lxml import etree

from qbwc import WebConnectorService
from qbwc.protocol import (
    AuthenticateCall,
    ClientVersionCall,
    CloseConnectionCall,
    Done,
    Progress,
    ReceiveResponseXMLCall,
    RequestXML,
    SendRequestXMLCall,
)
from qbwc.protocol._soap import decode_reply, encode_call
from qbwc.qbxml import InvoiceAdd, InvoiceLineAdd, Ref
from qbwc.service._passwords import hash_password, verify_password
from qbwc.store import MemoryStore, SQLiteStore, Store
from qbwc.testing import FakeQuickBooks
from qbwc.wsgi import make_wsgi_app

OWNER = uuid.UUID("9A5D8F3B-1C2E-4B6A-8D7F-0E1F2A3B4C5D")
USER = "kristy@example.com"
PASSWORD = "s3cret"
INTUIT = "http://developer.intuit.com/"
SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
OPERATIONS = (
    "clientVersion",
    "authenticate",
    "sendRequestXML",
    "receiveResponseXML",
    "closeConnection",
)

WSGIApp = Callable[[dict[str, Any], Any], Iterable[bytes]]


def _invoice(ref: str) -> InvoiceAdd:
    return InvoiceAdd(
        customer_ref=Ref(full_name="Acme Corp"),
        ref_number=ref,
        lines=[InvoiceLineAdd(item_ref=Ref(full_name="Consulting"), quantity=Decimal(2))],
    )


def _call(app: WSGIApp, body: bytes) -> tuple[float, bytes]:
    """Call the app once; return (seconds inside the app, body)."""
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/qbwc",
        "QUERY_STRING": "",
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": "text/xml; charset=utf-8",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "443",
        "wsgi.url_scheme": "https",
        "wsgi.input": io.BytesIO(body),
    }
    start = time.perf_counter()
    data = b"".join(app(environ, lambda status, headers: None))
    return time.perf_counter() - start, data


# --- the floor: the same five calls, by hand, with raw lxml ----------------------------


def make_floor_app() -> WSGIApp:
    """A minimal hand-written Web Connector handler: no store, no state machine, no checks."""
    txn_ids: dict[str, str] = {}
    tickets: dict[str, str] = {}
    # The queue holds JSON, as a durable queue must.
    queued = json.dumps(
        {
            "customer_ref": {"full_name": "Acme Corp"},
            "ref_number": "1",
            "lines": [{"item_ref": {"full_name": "Consulting"}, "quantity": "2"}],
        }
    )
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    counter = iter(range(10**9))

    def reply(operation: str, result: etree._Element | str) -> bytes:
        env = etree.Element(f"{{{SOAP}}}Envelope", nsmap={"soap": SOAP})
        body = etree.SubElement(env, f"{{{SOAP}}}Body")
        wrapper = etree.SubElement(body, f"{{{INTUIT}}}{operation}Response", nsmap={None: INTUIT})
        out = etree.SubElement(wrapper, f"{{{INTUIT}}}{operation}Result")
        if isinstance(result, str):
            out.text = result
        else:
            out.extend(result)
        return etree.tostring(env, xml_declaration=True, encoding="utf-8")

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        data = environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
        root = etree.fromstring(data, parser)
        call = root[0][0]
        operation = etree.QName(call).localname
        args = {etree.QName(child).localname: child.text or "" for child in call}
        if operation == "clientVersion":
            out = reply(operation, "")
        elif operation == "authenticate":
            ok = hmac.compare_digest(args["strPassword"], PASSWORD)
            ticket = f"t{next(counter)}" if ok else ""
            tickets[ticket] = args["strUserName"]
            strings = etree.Element("x")
            for text in (ticket, "" if ok else "nvu"):
                etree.SubElement(strings, f"{{{INTUIT}}}string").text = text
            out = reply(operation, strings)
        elif operation == "sendRequestXML":
            hcp = etree.fromstring(args["strHCPResponse"].encode(), parser)
            stamp = hcp.findtext(".//DataExtRet[DataExtName='FileID']/DataExtValue")
            assert stamp is not None
            versions = [v.text or "" for v in hcp.iter("SupportedQBXMLVersion")]
            version = max(versions, key=lambda v: tuple(int(p) for p in v.split(".")))
            job = json.loads(queued)
            qbxml = etree.Element("QBXML")
            rq = etree.SubElement(etree.SubElement(qbxml, "QBXMLMsgsRq", onError="continueOnError"),
                                  "InvoiceAddRq", requestID="1")  # fmt: skip
            add = etree.SubElement(rq, "InvoiceAdd")
            customer = etree.SubElement(add, "CustomerRef")
            etree.SubElement(customer, "FullName").text = job["customer_ref"]["full_name"]
            etree.SubElement(add, "RefNumber").text = job["ref_number"]
            for item in job["lines"]:
                line = etree.SubElement(add, "InvoiceLineAdd")
                ref = etree.SubElement(line, "ItemRef")
                etree.SubElement(ref, "FullName").text = item["item_ref"]["full_name"]
                etree.SubElement(line, "Quantity").text = item["quantity"]
            head = f'<?xml version="1.0" encoding="utf-8"?><?qbxml version="{version}"?>'
            text = head.encode() + etree.tostring(qbxml)
            out = reply(operation, text.decode())
        elif operation == "receiveResponseXML":
            response = etree.fromstring(args["response"].encode(), parser)
            txn = response.findtext(".//InvoiceRet/TxnID")
            txn_ids[args["ticket"]] = txn or ""
            out = reply(operation, "100")
        else:
            tickets.pop(args.get("ticket", ""), None)
            out = reply(operation, "OK")
        start_response("200 OK", [("Content-Type", "text/xml; charset=utf-8")])
        return [out]

    return app


# --- part 1: the five-call session ------------------------------------------------------


class _Tokens:
    """Predictable tokens, so the benchmark knows each ticket without parsing replies."""

    def __init__(self) -> None:
        self.n = 0

    def __call__(self, nbytes: int) -> str:
        self.n += 1
        return self.at(self.n)

    @staticmethod
    def at(n: int) -> str:
        return f"tok{n:012d}{'x' * 20}"


def _service(store: Store, tokens: _Tokens) -> WebConnectorService:
    service = WebConnectorService(
        store=store,
        owner_id=OWNER,
        authenticator=lambda username, password: hmac.compare_digest(password, PASSWORD),
        token=tokens,
    )
    service.enqueue(USER, _invoice("0"))  # creates the account
    return service


def _session_bodies(qb: FakeQuickBooks, ticket: str) -> list[bytes]:
    major, minor = qb.qbxml_version
    return [
        encode_call(ClientVersionCall(version="2.3.0.215")),
        encode_call(AuthenticateCall(username=USER, password=PASSWORD)),
        encode_call(
            SendRequestXMLCall(
                ticket=ticket,
                hcp_response=qb.hcp_response(OWNER),
                company_file_name=qb.company_file,
                country="US",
                major_version=major,
                minor_version=minor,
            )
        ),
    ]


def bench_sessions(make_store: Callable[[], Store], sessions: int) -> dict[str, list[float]]:
    """Seconds inside the app per operation, over *sessions* full sessions."""
    tokens = _Tokens()
    service = _service(make_store(), tokens)
    account = service.account(USER)
    assert account is not None
    qb = FakeQuickBooks.sample()
    qb.register_application(OWNER, account.file_id)
    app = make_wsgi_app(service)
    times: dict[str, list[float]] = {op: [] for op in OPERATIONS}
    for number in range(sessions):
        service.enqueue(USER, _invoice(str(number + 1)))
        ticket = tokens.at(tokens.n + 1)  # authenticate's token is the next one
        bodies = _session_bodies(qb, ticket)
        for op, body in zip(OPERATIONS, bodies, strict=False):
            seconds, answer = _call(app, body)
            times[op].append(seconds)
        reply = decode_reply("sendRequestXML", answer)
        assert isinstance(reply, RequestXML), reply
        response = qb.process_request(reply.qbxml)
        seconds, answer = _call(
            app, encode_call(ReceiveResponseXMLCall(ticket=ticket, response=response))
        )
        times["receiveResponseXML"].append(seconds)
        assert isinstance(decode_reply("receiveResponseXML", answer), Done | Progress)
        seconds, _ = _call(app, encode_call(CloseConnectionCall(ticket=ticket)))
        times["closeConnection"].append(seconds)
    jobs = service.jobs(USER)
    assert [job.status for job in jobs[:-1]] == ["done"] * (len(jobs) - 1)
    return times


def bench_floor(sessions: int) -> dict[str, list[float]]:
    app = make_floor_app()
    qb = FakeQuickBooks.sample()
    qb.register_application(OWNER, uuid.uuid4())
    times: dict[str, list[float]] = {op: [] for op in OPERATIONS}
    for number in range(sessions):
        bodies = _session_bodies(qb, f"t{number}")
        for op, body in zip(OPERATIONS, bodies, strict=False):
            seconds, answer = _call(app, body)
            times[op].append(seconds)
        qbxml = re.search(rb"<sendRequestXMLResult>(.*)</sendRequestXMLResult>", answer, re.S)
        assert qbxml is not None
        text = etree.fromstring(b"<x>" + qbxml.group(1) + b"</x>").text or ""
        response = qb.process_request(text)
        seconds, _ = _call(
            app, encode_call(ReceiveResponseXMLCall(ticket=f"t{number}", response=response))
        )
        times["receiveResponseXML"].append(seconds)
        seconds, _ = _call(app, encode_call(CloseConnectionCall(ticket=f"t{number}")))
        times["closeConnection"].append(seconds)
    return times


def _best(runs: list[dict[str, list[float]]]) -> dict[str, float]:
    """Per operation, the best (lowest) of the runs' medians, in microseconds."""
    return {op: min(statistics.median(run[op]) for run in runs) * 1e6 for op in OPERATIONS}


def part1(
    sessions: int, repeats: int, folder: Path, postgres: Callable[[], str] | None = None
) -> None:
    counter = iter(range(1000))
    stores: dict[str, Callable[[], Store]] = {
        "memory": MemoryStore,
        "sqlite": lambda: SQLiteStore(folder / f"bench-{next(counter)}.sqlite"),
    }
    if postgres is not None:
        from qbwc.store import PostgresStore  # an optional extra

        new_database = postgres  # each run gets an empty database
        stores["postgres"] = lambda: PostgresStore(new_database(), upgrade=True)
    results = {"floor (raw lxml)": _best([bench_floor(sessions) for _ in range(repeats)])}
    for name, make in stores.items():
        results[f"WSGI + {name}"] = _best([bench_sessions(make, sessions) for _ in range(repeats)])
    floor = results["floor (raw lxml)"]
    print(f"\n5-call session, median µs inside the WSGI app (best of {repeats} x {sessions}):")
    header = f"{'':22}" + "".join(f"{op:>20}" for op in OPERATIONS) + f"{'session':>12}{'ratio':>8}"
    print(header)
    for name, per_op in results.items():
        total = sum(per_op.values())
        ratio = total / sum(floor.values())
        cells = "".join(f"{per_op[op]:>20.1f}" for op in OPERATIONS)
        print(f"{name:22}{cells}{total:>12.1f}{ratio:>7.2f}x")
    hashed = hash_password(PASSWORD)
    start = time.perf_counter()
    for _ in range(5):
        verify_password(PASSWORD, hashed)
    each = (time.perf_counter() - start) / 5 * 1e3
    print(f"built-in password check (scrypt n=2**14): {each:.1f} ms per authenticate (not above)")


# --- part 2: 10,000 invoices, memory as jobs finish -------------------------------------


def _driver(app: WSGIApp, qb: FakeQuickBooks, checkpoints: Callable[[], None]) -> int:
    """One Web Connector session through *app*, calling *checkpoints* after each response."""
    _, answer = _call(app, encode_call(AuthenticateCall(username=USER, password=PASSWORD)))
    ticket = re.findall(rb"<string>([^<]*)</string>", answer)[0].decode()
    major, minor = qb.qbxml_version
    hcp = qb.hcp_response(OWNER)
    round_trips = 0
    while True:
        call = SendRequestXMLCall(
            ticket=ticket,
            hcp_response=hcp,
            company_file_name=qb.company_file,
            country="US",
            major_version=major,
            minor_version=minor,
        )
        hcp = ""
        _, answer = _call(app, encode_call(call))
        reply = decode_reply("sendRequestXML", answer)
        if not isinstance(reply, RequestXML):
            break
        response = qb.process_request(reply.qbxml)
        _, answer = _call(
            app, encode_call(ReceiveResponseXMLCall(ticket=ticket, response=response))
        )
        round_trips += 1
        checkpoints()
        if isinstance(decode_reply("receiveResponseXML", answer), Done):
            break
    _call(app, encode_call(CloseConnectionCall(ticket=ticket)))
    return round_trips


# What the service and its store allocate: their modules (and the attrs classes they
# define), not the QuickBooks double, whose company file grows with every invoice.
_OURS = (
    "*/qbwc/service/*",
    "*/qbwc/protocol/_session.py",
    "*/qbwc/protocol/_state.py",
    "*/qbwc/protocol/_soap.py",
    "*/qbwc/wsgi.py",
    "*/qbwc/store/*",
    "<attrs generated * qbwc.service.*>",
    "<attrs generated * qbwc.protocol._state.*>",
    "<attrs generated * qbwc.store.*>",
)


def _held() -> int:
    snapshot = tracemalloc.take_snapshot()
    filters = [tracemalloc.Filter(True, pattern) for pattern in _OURS]
    return sum(stat.size for stat in snapshot.filter_traces(filters).statistics("filename"))


def part2(invoices: int, batch: int, folder: Path) -> None:
    print(f"\nSync of {invoices:,} queued invoices ({batch} per round trip), tracemalloc:")
    _sync("memory", MemoryStore(), invoices, batch)
    _sync("sqlite", SQLiteStore(folder / "sync.sqlite", synchronous="NORMAL"), invoices, batch)


def _sync(name: str, store: Store, invoices: int, batch: int) -> None:
    service = WebConnectorService(
        store=store,
        owner_id=OWNER,
        authenticator=lambda username, password: True,
        batch_size=batch,
    )
    for number in range(invoices):
        service.enqueue(USER, _invoice(str(number + 1)))
    account = service.account(USER)
    assert account is not None
    qb = FakeQuickBooks.sample()
    qb.register_application(OWNER, account.file_id)
    app = make_wsgi_app(service)
    samples: list[tuple[int, int]] = []
    step = max(1, invoices // batch // 10)
    trips = [0]

    def sample() -> None:
        trips[0] += 1
        if trips[0] % step == 0:
            samples.append((trips[0] * batch, _held()))

    tracemalloc.start(1)
    try:
        base = _held()
        started = time.perf_counter()
        _driver(app, qb, sample)
        elapsed = time.perf_counter() - started
    finally:
        tracemalloc.stop()
    done = len(service.jobs(USER, status="done"))
    assert done == invoices, done
    assert len(qb.invoices) == invoices
    first_jobs, first = samples[0]
    last_jobs, last = samples[-1]
    slope = (last - first) / max(1, last_jobs - first_jobs)
    print(
        f"  {name:6}: {elapsed:6.1f} s; held after {first_jobs:,} done: "
        f"{(first - base) / 1024:8.1f} KiB, after {last_jobs:,}: "
        f"{(last - base) / 1024:8.1f} KiB; {slope:6.1f} bytes per further finished job"
    )
    store.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--sessions", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--invoices", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--skip-sync", action="store_true")
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="also the 5-call session with PostgresStore (a throwaway server, fsync off)",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        if args.postgres:
            sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
            from tests.postgres import ThrowawayServer

            server = ThrowawayServer()
            try:
                names = iter(range(1000))
                part1(
                    args.sessions,
                    args.repeats,
                    Path(folder),
                    lambda: server.create_database(f"bench_service_{next(names)}"),
                )
            finally:
                server.stop()
        else:
            part1(args.sessions, args.repeats, Path(folder))
        if not args.skip_sync:
            part2(args.invoices, args.batch, Path(folder))
    return 0


if __name__ == "__main__":
    sys.exit(main())
