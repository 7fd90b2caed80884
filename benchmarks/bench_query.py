"""
A paged query of many customers through the service and the fakes over HTTP.

FakeQuickBooks is seeded with *--records* customers (50,000 by default) beside its
sample company; a ``CustomerQuery`` with ``page_size=500`` is queued, and one Web
Connector session (the double, over real HTTP to the WSGI app on the standard
library's server in a thread) delivers it page by page (docs/queries.md).  Three runs:

1. time: records per second, start of the session to its end;
2. tracemalloc: the peak of the service's phases (sendRequestXML, receiveResponseXML
   with the store's write and the page hook) apart from QuickBooks' (the fake's
   snapshot and answers), and what stays between pages;
3. cProfile in both threads: the share of CPU time in the service's thread (its own
   code, the store's driver, the HTTP server) and in the fakes' thread; and lxml's
   floor: what lxml alone takes to parse each SOAP body the service received and the
   qbXML answer in it, once, against the service's own time (its WSGI app's calls).

Run: ``python benchmarks/bench_query.py [--records 50000] [--store sqlite|memory|postgres]``.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
import threading
import time
import tracemalloc
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

from qbwc import WebConnectorService
from qbwc.qbxml._types import vocabulary
from qbwc.store import MemoryStore, SQLiteStore, Store
from qbwc.testing import FakeQuickBooks, FakeWebConnector, http_transport
from qbwc.wsgi import make_wsgi_app

USER = "kristy@example.com"
PASSWORD = "correct horse battery staple"
PAGE = 500


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


class _Measured:
    """The company file; each call of QuickBooks marks a phase (see tests/test_queries_big.py)."""

    def __init__(self, inner: FakeQuickBooks, on_call: Callable[[str], None]) -> None:
        self.inner = inner
        self.on_call = on_call

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def process_request(self, qbxml: str) -> str:
        self.on_call("service")
        try:
            return str(self.inner.process_request(qbxml))
        finally:
            self.on_call("quickbooks")


def _store(kind: str, folder: Path, name: str) -> Store:
    """A fresh store of *kind* named *name* (benchmarks/bench_pull.py uses it too)."""
    if kind == "memory":
        return MemoryStore()
    if kind == "sqlite":
        return SQLiteStore(folder / f"bench-{name}.sqlite")
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.postgres import ThrowawayServer

    from qbwc.store import PostgresStore, postgres_upgrade

    global _SERVER  # noqa: PLW0603
    if _SERVER is None:
        _SERVER = ThrowawayServer()
    dsn = _SERVER.create_database(f"bench_{name}")
    postgres_upgrade(dsn)
    return PostgresStore(dsn)


_SERVER: Any = None


def _run(
    company: FakeQuickBooks,
    store: Store,
    *,
    on_page: Callable[[Any, tuple[Any, ...]], None] | None = None,
    on_call: Callable[[str], None] | None = None,
    wrap: Callable[[Any], Any] | None = None,
    bodies: list[bytes] | None = None,
) -> tuple[float, int]:
    """One session that delivers the whole query; (seconds, records)."""
    service = WebConnectorService(
        store=store,
        owner_id=str(uuid.uuid4()),  # its own FileID stamp in the shared company file
        app_name="Bench",
        password_cost=2,
        on_query_page=on_page,
    )
    service.add_account(USER, PASSWORD)
    app = make_wsgi_app(service)
    server = make_server("127.0.0.1", 0, wrap(app) if wrap else app, handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    qb: Any = company if on_call is None else _Measured(company, on_call)
    url = f"http://127.0.0.1:{server.server_port}/qbwc"
    send = http_transport(url, timeout=120)
    if bodies is not None:
        inner_send = send

        def send(body: bytes, action: str) -> tuple[int, bytes]:
            bodies.append(body)
            return inner_send(body, action)

    wc = FakeWebConnector(None, qb, transport=send)
    qwc = service.qwc(USER, app_url="https://localhost/qbwc", app_support="https://localhost/")
    wc.add_application(qwc, password=PASSWORD)
    job = service.enqueue(USER, vocabulary().model("CustomerQuery")(), page_size=PAGE)
    try:
        start = time.perf_counter()
        result = wc.run_session()
        seconds = time.perf_counter() - start
    finally:
        server.shutdown()
        server.server_close()
    done = service.job(job.id)
    assert result.completed, result
    assert done is not None
    assert done.status == "done", done
    return seconds, done.records


def _lxml_floor(bodies: list[bytes]) -> float:
    """What lxml alone takes to parse what the service must parse: each body, its answer."""
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    start = time.perf_counter()
    for body in bodies:
        envelope = etree.fromstring(body, parser)
        for element in envelope.iter("{http://developer.intuit.com/}response"):
            answer = (element.text or "").encode("utf-8")
            if answer.strip():
                etree.fromstring(answer, parser)
    return time.perf_counter() - start


_WAITS = ("acquire", "recv_into", "select", "poll", "accept", "wait")


def _category(filename: str, name: str) -> str:
    """Where a function of the service's thread belongs."""
    if filename == "~" and any(f"'{wait}'" in name for wait in _WAITS):
        return "waiting"  # for the other thread, or the socket: not work
    if "sqlite3" in name or "sqlite3" in filename or "psycopg" in filename:
        return "service: store driver (sqlite3 / psycopg)"
    if "/qbwc/" in filename:
        return "service: qbwc (lxml's time counts in its callers)"
    return "service: HTTP server, attrs, stdlib"


def _shares(server: pstats.Stats, client: pstats.Stats) -> Counter[str]:
    """CPU time by category: the service's thread, and the fakes' (the main thread)."""
    shares: Counter[str] = Counter()
    raw: dict[Any, Any] = server.stats  # type: ignore[attr-defined]
    for (filename, _line, name), (_cc, _nc, tottime, _ct, _callers) in raw.items():
        shares[_category(filename, name)] += tottime
    raw = client.stats  # type: ignore[attr-defined]
    for (filename, _line, name), (_cc, _nc, tottime, _ct, _callers) in raw.items():
        waiting = filename == "~" and any(f"'{wait}'" in name for wait in _WAITS)
        shares["waiting" if waiting else "fakes: QuickBooks, the Web Connector, HTTP client"] += (
            tottime
        )
    return shares


def main(argv: Iterable[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--store", choices=["sqlite", "memory", "postgres"], default="sqlite")
    args = parser.parse_args(list(argv) if argv is not None else None)
    company = FakeQuickBooks.sample()
    start = time.perf_counter()
    company.seed(Customer=[{"name": f"Customer {i:06d}"} for i in range(args.records)])
    print(f"seeded {args.records:,} customers in {time.perf_counter() - start:.1f} s")
    folder = Path(tempfile.mkdtemp(prefix="qbwc-bench-query-"))

    # 1. time, and the service's share of it
    bodies: list[bytes] = []
    in_service = [0.0]

    def timed(app: Any) -> Any:
        def handler(environ: Any, start_response: Any) -> Any:
            began = time.perf_counter()
            try:
                return list(app(environ, start_response))
            finally:
                in_service[0] += time.perf_counter() - began

        return handler

    store = _store(args.store, folder, "query_1")
    seconds, records = _run(company, store, wrap=timed, bodies=bodies)
    print(
        f"{args.store}: {records:,} records in {seconds:.2f} s = {records / seconds:,.0f} "
        f"records/s ({-(-records // PAGE)} pages of {PAGE}, one session, over HTTP); "
        f"in the service (WSGI app) {in_service[0]:.2f} s = {records / in_service[0]:,.0f} "
        "records/s"
    )
    floor = _lxml_floor(bodies)
    print(
        f"lxml floor (parse each SOAP body, and each qbXML answer and page in it, once): "
        f"{floor:.2f} s = {100 * floor / in_service[0]:.0f} % of the service's time"
    )

    # 2. memory
    phases: list[tuple[str, int]] = []
    between: list[int] = []
    base = [0]

    def mark(phase: str) -> None:
        current, peak = tracemalloc.get_traced_memory()
        phases.append((phase, peak - base[0]))
        tracemalloc.reset_peak()
        base[0] = current

    def on_page(job: Any, rets: tuple[Any, ...]) -> None:
        mark("service")
        between.append(tracemalloc.get_traced_memory()[0])

    tracemalloc.start()
    try:
        _run(company, _store(args.store, folder, "query_2"), on_page=on_page, on_call=mark)
        peak_all = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    service_peak = max(p for name, p in phases if name == "service")
    qb_peak = max(p for name, p in phases if name == "quickbooks")
    print(
        f"memory: the service's phases peak at {service_peak / 1e6:.1f} MB over their start "
        f"(QuickBooks' at {qb_peak / 1e6:.1f} MB); between the first and last page "
        f"{(between[-1] - between[0]) / 1e6:+.1f} MB; last phase's peak {peak_all / 1e6:.1f} MB"
    )

    # 3. where the time goes (both threads)
    server_profile = cProfile.Profile()
    lock = threading.Lock()

    def wrap(app: Any) -> Any:
        def profiled(environ: Any, start_response: Any) -> Any:
            with lock:
                server_profile.enable()
                try:
                    return list(app(environ, start_response))
                finally:
                    server_profile.disable()

        return profiled

    client_profile = cProfile.Profile()
    client_profile.enable()
    try:
        _run(company, _store(args.store, folder, "query_3"), wrap=wrap)
    finally:
        client_profile.disable()
    shares = _shares(pstats.Stats(server_profile), pstats.Stats(client_profile))
    del shares["waiting"]
    total = sum(shares.values())
    print(
        "CPU time (cProfile in each thread, waits left out; the profiler slows Python code "
        "more than C):"
    )
    for what, spent in shares.most_common():
        print(f"  {what:50} {spent:6.2f} s  {100 * spent / total:5.1f} %")
    if _SERVER is not None:
        _SERVER.stop()


if __name__ == "__main__":
    main()
