"""
A pull of many payments and bills through the service and the fakes over HTTP.

FakeQuickBooks is seeded with *--records* payments and as many bills (20,000 each by
default, each bill with an expense line on a job); the account follows
``ReceivePayment`` and ``Bill`` (``page_size=500``) and one Web Connector session (the
double, over real HTTP to the WSGI app on the standard library's server in a thread)
pulls them all (docs/pulls.md).  Then:

1. the first pull: records per second (start of the session to its end), and the peak
   memory (tracemalloc) of the service's phases (sendRequestXML, receiveResponseXML with
   the store's writes and the hooks) apart from QuickBooks' (the fake's snapshot and
   answers);
2. the next sync, while every record is still inside the overlap window (read again,
   recognised by its mark, delivered no more): time, rounds, bytes;
3. idle syncs once the window holds no change: time per sync, rounds, and the bytes
   on the wire (SOAP requests and replies, both directions), the median of five.

Run: ``python benchmarks/bench_pull.py [--records 20000] [--store sqlite|memory|postgres]``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
import tracemalloc
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from wsgiref.simple_server import make_server

import bench_query  # beside this file (run as a script)
from bench_query import _Measured, _Quiet, _store

from qbwc import WebConnectorService
from qbwc.store import Store
from qbwc.testing import FakeQuickBooks, FakeWebConnector, SessionResult, http_transport
from qbwc.wsgi import make_wsgi_app

USER = "kristy@example.com"
PASSWORD = "correct horse battery staple"
PAGE = 500
JOBS = ("Acme Corp:Job 7", "Cole Properties:Deck", "Cole Properties:Roof")


def _seed(records: int) -> FakeQuickBooks:
    company = FakeQuickBooks.sample()
    company.seed(
        Account=[{"name": "Job Materials", "account_type": "CostOfGoodsSold"}],
        Vendor=[{"name": "Lumber Yard"}],
        Customer=[{"full_name": job} for job in JOBS[1:]],
    )
    start = time.perf_counter()
    company.seed(
        ReceivePayment=[
            {
                "customer_ref": {"full_name": JOBS[i % 3]},
                "total_amount": f"{i % 900 + 10}.25",
                "is_auto_apply": True,
            }
            for i in range(records)
        ],
        Bill=[
            {
                "vendor_ref": {"full_name": "Lumber Yard"},
                "expense_line_add": [
                    {
                        "account_ref": {"full_name": "Job Materials"},
                        "amount": f"{i % 700 + 5}.50",
                        "customer_ref": {"full_name": JOBS[i % 3]},
                    }
                ],
            }
            for i in range(records)
        ],
    )
    print(
        f"seeded {records:,} payments and {records:,} bills in {time.perf_counter() - start:.1f} s"
    )
    return company


class _Rig:
    """The service on a store, served over HTTP; a Web Connector in front of the fake."""

    def __init__(self, company: Any, store: Store) -> None:
        self.offset = 0.0  # seconds the server's clock is moved on
        self.delivered = 0
        self.service = WebConnectorService(
            store=store,
            owner_id=str(uuid.uuid4()),
            app_name="Bench",
            password_cost=2,
            clock=lambda: time.time() + self.offset,
            on_pulled=self._pulled,
        )
        self.service.add_account(USER, PASSWORD)
        self.service.follow(USER, "ReceivePayment", page_size=PAGE)
        self.service.follow(USER, "Bill", page_size=PAGE)
        self.in_service = 0.0  # seconds inside the service's WSGI app
        app = make_wsgi_app(self.service)

        def timed(environ: Any, start_response: Any) -> Any:
            began = time.perf_counter()
            try:
                return list(app(environ, start_response))
            finally:
                self.in_service += time.perf_counter() - began

        self.server = make_server("127.0.0.1", 0, timed, handler_class=_Quiet)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        inner = http_transport(f"http://127.0.0.1:{self.server.server_port}/qbwc", timeout=300)
        self.wire = 0

        def send(body: bytes, action: str) -> tuple[int, bytes]:
            status, reply = inner(body, action)
            self.wire += len(body) + len(reply)
            return status, reply

        self.wc = FakeWebConnector(None, company, transport=send)
        qwc = self.service.qwc(
            USER, app_url="https://localhost/qbwc", app_support="https://localhost/"
        )
        self.wc.add_application(qwc, password=PASSWORD)

    def _pulled(self, username: str, type_name: str, rets: tuple[Any, ...]) -> None:
        self.delivered += len(rets)

    def sync(self) -> tuple[float, int, int, SessionResult]:
        """One session: (seconds, bytes on the wire, records delivered, result)."""
        self.wire, self.delivered, self.in_service = 0, 0, 0.0
        start = time.perf_counter()
        result = self.wc.run_session()
        seconds = time.perf_counter() - start
        assert result.completed, result
        return seconds, self.wire, self.delivered, result

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def main(argv: Iterable[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--store", choices=["sqlite", "memory", "postgres"], default="sqlite")
    args = parser.parse_args(list(argv) if argv is not None else None)
    company = _seed(args.records)
    folder = Path(tempfile.mkdtemp(prefix="qbwc-bench-pull-"))
    total = 2 * args.records

    # 1. the first pull: time (no tracing), then the service's memory apart from QuickBooks'
    phases: list[tuple[str, int]] = []
    base = [0]

    def mark(phase: str) -> None:
        current, peak = tracemalloc.get_traced_memory()
        phases.append((phase, peak - base[0]))
        tracemalloc.reset_peak()
        base[0] = current

    traced = _Rig(_Measured(company, mark), _store(args.store, folder, "pull_traced"))
    try:
        tracemalloc.start()
        try:
            _, _, delivered, _ = traced.sync()
        finally:
            tracemalloc.stop()
        assert delivered == total, (delivered, total)
    finally:
        traced.close()
    service_peak = max(p for name, p in phases if name == "service")
    qb_peak = max(p for name, p in phases if name == "quickbooks")

    rig = _Rig(company, _store(args.store, folder, "pull_timed"))
    try:
        seconds, wire, delivered, result = rig.sync()
        assert delivered == total, (delivered, total)
        print(
            f"{args.store}: first pull, {delivered:,} records in {seconds:.1f} s = "
            f"{delivered / seconds:,.0f} records/s ({len(result.requests)} rounds of up to "
            f"{PAGE} per type, one session, over HTTP); {wire / 1e6:.1f} MB on the wire; "
            f"in the service (WSGI app) {rig.in_service:.1f} s = "
            f"{delivered / rig.in_service:,.0f} records/s"
        )
        print(
            f"memory (another pull, traced): the service's phases peak at "
            f"{service_peak / 1e6:.1f} MB over their start (QuickBooks' at {qb_peak / 1e6:.1f} MB)"
        )

        # 2. the next sync, every record still inside the overlap window
        seconds, wire, delivered, result = rig.sync()
        assert delivered == 0
        print(
            f"next sync inside the overlap window ({rig.service.pull_overlap}): "
            f"{total:,} records read again, none delivered, in {seconds:.1f} s, "
            f"{len(result.requests)} rounds, {wire / 1e6:.1f} MB on the wire; "
            f"in the service {rig.in_service:.1f} s"
        )

        # 3. idle syncs once the window holds no change
        rig.offset = rig.service.pull_overlap.total_seconds() * 2 + 60
        rig.sync()  # (this one reads the window before the last pull's start)
        times, sizes, rounds, inside = [], [], [], []
        for _ in range(5):
            seconds, wire, delivered, result = rig.sync()
            assert delivered == 0
            times.append(seconds)
            inside.append(rig.in_service)
            sizes.append(wire)
            rounds.append(len(result.requests))
        print(
            f"idle sync (nothing changed): {statistics.median(times) * 1000:.1f} ms "
            f"({statistics.median(inside) * 1000:.1f} ms in the service), "
            f"{statistics.median(rounds)} round, {statistics.median(sizes):,.0f} bytes on the "
            "wire (the whole session: authenticate, the HCP check, one message set of "
            "2 queries and 2 deleted-object queries, close)"
        )
    finally:
        rig.close()
    if bench_query._SERVER is not None:
        bench_query._SERVER.stop()


if __name__ == "__main__":
    main()
