"""
What each SOAP call asks of the store: transactions, statements, round trips, session JSON.

Drives one account through the WSGI app with ``qbwc.testing.FakeWebConnector`` on a
PostgreSQL store (a throwaway server, see tests/postgres.py) or SQLite: a **work session**
that sends ``--invoices`` invoices, then an **idle poll** (authenticate finds nothing).  For
each SOAP operation it prints the store transactions opened, the SQL statements run, the round
trips to the server that makes (statements + BEGIN + COMMIT per transaction, on PostgreSQL), the
bytes of session-record JSON written, and the wall time of the call (median of ``--repeat`` runs;
noisy on a shared machine, the counts are not).  The login cache is on (a login secret), and each
run's account has logged in once before, as in steady state; ``--no-login-cache`` turns it off.

Run: ``python benchmarks/bench_store_calls.py [--store postgres|sqlite] [--invoices 3]``.
"""

from __future__ import annotations

import argparse
import collections
import statistics
import sys
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for entry in (str(ROOT / "src"), str(ROOT)):
    if entry not in sys.path:
        sys.path.insert(0, entry)

from qbwc import WebConnectorService  # noqa: E402
from qbwc.qbxml import InvoiceAdd, InvoiceLineAdd, Ref  # noqa: E402
from qbwc.store._sql import SQLTransaction  # noqa: E402
from qbwc.testing import FakeQuickBooks, FakeWebConnector  # noqa: E402
from qbwc.wsgi import make_wsgi_app  # noqa: E402

PASSWORD = "a password"
SECRET = "a login secret of at least 32 bytes for the benchmark"


class Counter:
    """Counts transactions, statements and session JSON per SOAP operation."""

    def __init__(self) -> None:
        self.op = "setup"
        self.counts: dict[str, collections.Counter[str]] = collections.defaultdict(
            collections.Counter
        )
        self.times: dict[str, list[float]] = collections.defaultdict(list)

    def add(self, what: str, n: int = 1) -> None:
        self.counts[self.op][what] += n


def _patch(counter: Counter, store: Any) -> None:
    real_x = SQLTransaction._x

    def counted_x(self: SQLTransaction, sql: str, params: tuple[Any, ...] = ()) -> Any:
        counter.add("statements")
        if "sessions" in sql and ("INSERT" in sql or "UPDATE" in sql):
            counter.add("session JSON bytes", len(str(params[2] if "INSERT" in sql else params[0])))
        return real_x(self, sql, params)

    SQLTransaction._x = counted_x  # type: ignore[method-assign]
    real_tx = store.transaction

    def counted_tx() -> Any:
        counter.add("transactions")
        return real_tx()

    store.transaction = counted_tx


def _invoice(ref: str) -> InvoiceAdd:
    line = InvoiceLineAdd(item_ref=Ref(full_name="Consulting"), quantity=Decimal(2))
    return InvoiceAdd(customer_ref=Ref(full_name="Acme Corp"), ref_number=ref, lines=[line])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--invoices", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--no-login-cache", action="store_true")
    args = parser.parse_args()
    server = None
    with tempfile.TemporaryDirectory() as tmp:
        if args.store == "postgres":
            from tests.postgres import ThrowawayServer

            from qbwc.store import PostgresStore

            server = ThrowawayServer(durable=True)
            store: Any = PostgresStore(server.create_database("bench_calls"), upgrade=True)
        else:
            from qbwc.store import SQLiteStore

            store = SQLiteStore(Path(tmp) / "bench.sqlite")
        service = WebConnectorService(
            store=store,
            owner_id=uuid.uuid4(),
            login_secret=None if args.no_login_cache else SECRET,
        )
        counter = Counter()
        app = make_wsgi_app(service)

        def counted_app(environ: dict[str, Any], start_response: Any) -> Any:
            action = environ.get("HTTP_SOAPACTION", "").strip('"').rsplit("/", 1)[-1]
            counter.op = f"{counter.phase}: {action}"
            counter.add("calls")
            start = time.perf_counter()
            body = list(app(environ, start_response))
            counter.times[counter.op].append(time.perf_counter() - start)
            return body

        counter.phase = "setup"  # type: ignore[attr-defined]
        user = "tenant@example.com"
        service.add_account(user, PASSWORD)
        qb = FakeQuickBooks.sample()
        wc = FakeWebConnector(counted_app, qb)
        wc.add_application(
            service.qwc(user, app_url="https://qbwc.example.com/qbwc", app_support="https://x.example.com"),
            password=PASSWORD,
        )
        wc.run_session()  # the first login pays scrypt and stores the verifier
        _patch(counter, store)
        counter.counts.clear()
        counter.times.clear()
        for round_ in range(args.repeat):
            counter.op = "setup"
            for n in range(args.invoices):
                service.enqueue(user, _invoice(f"{round_}-{n}"), key=f"{round_}-{n}")
            counter.phase = "work session"  # type: ignore[attr-defined]
            result = wc.run_session()
            assert not result.errors, result
            counter.phase = "idle poll"  # type: ignore[attr-defined]
            wc.run_session()
        store.close()
        if server is not None:
            server.stop()
    print(
        f"{args.store}, {args.invoices} invoices per work session, login cache "
        f"{'off' if args.no_login_cache else 'on'}; per call (mean of {args.repeat} runs):"
    )
    print(f"  {'operation':<40} {'calls':>5} {'tx':>5} {'stmts':>6} {'round trips':>11} "
          f"{'JSON B':>7} {'p50 ms':>7}")  # fmt: skip
    for op, c in counter.counts.items():
        if op.startswith("setup") or not c["calls"]:
            continue
        calls = c["calls"]
        trips = c["statements"] + (2 * c["transactions"] if args.store == "postgres" else 0)
        print(
            f"  {op:<40} {calls / args.repeat:>5.1f} {c['transactions'] / calls:>5.1f} "
            f"{c['statements'] / calls:>6.1f} {trips / calls:>11.1f} "
            f"{c['session JSON bytes'] / calls:>7.0f} "
            f"{1000 * statistics.median(counter.times[op]):>7.2f}"
        )


if __name__ == "__main__":
    main()
