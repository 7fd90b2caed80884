"""
Reliability campaigns: kills, hostile inputs and races against real servers, counted.

Three campaigns, each on the SQLite store and the PostgreSQL store (a throwaway
server from ``tests/postgres.py``), all on 127.0.0.1, in bounded loops:

- **kills**: the WSGI app under ``gunicorn -w 2`` (sync workers) on the store;
  a Web Connector double (``FakeWebConnector`` over real HTTP, in front of one
  ``FakeQuickBooks`` that lives in this process, so it survives the server)
  syncs invoices queued as it goes, while a killer thread sends ``SIGKILL`` to
  every worker at a random moment (and, one time in four, to the gunicorn
  master too, which is then started again).  After the last kill the Web
  Connector syncs until nothing is left.
- **hostile**: the same server; a Web Connector syncs real invoices while this
  process sends hostile bodies (the corpus of ``tests/test_wire_hostile.py``:
  truncated and mutated Web Connector captures, random bytes, DTD / entity /
  XInclude payloads, SOAP 1.2, unknown operations, wrong parameter types, odd
  encodings; plus floods of elements, attributes and namespace declarations,
  bodies over the size cap, huge text, chunked bodies without a length, forged
  ``Host`` headers on ``?wsdl``, bad tickets, answers of the wrong type and
  out-of-order calls on a second account's live session, and replays of the
  real Web Connector's own calls).  Every answer must be a SOAP fault or a
  correct reply (for ``?wsdl``, a WSDL naming one plain endpoint), never an
  HTML page, a bare 500 or a traceback; the servers' peak memory is read from
  ``/proc``.
- **races**: two (``--connectors``) Web Connectors for one account, each
  talking over HTTP to its own server (a ``WebConnectorService`` on the shared
  store behind a threaded ``wsgiref`` server in this process, on a clock this
  script moves).  A scheduler lets the calls through in a random order, one
  at a time or (``--overlap``, one choice in five) two at once; between calls
  it may move the clock past ``busy_timeout`` or ``session_timeout`` (a silent
  session, and then a late answer), restart a server (a new service on a new
  store connection), or disconnect the account (the next sync relinks it);
  before each run a Web Connector may lose a reply, lose QuickBooks' response,
  or stop after a call.  One *interleaving* is one round in which every Web
  Connector runs one update in such a schedule.

Each campaign ends by syncing until nothing is left and then counts, per queued
invoice: created once in the fake QuickBooks (done), **lost** (done but absent,
left pending / sent, or reported failed though it was written), **duplicated**
(created more than once), and the other outcomes (failed with QuickBooks' code,
or ``unconfirmed``: QuickBooks' answer is truly unknown; whether the invoice is
in QuickBooks is reported; in the races, a job left ``unconfirmed`` whose answer
a server took is a wrong outcome).  A campaign runner, not a pass/fail test: the
exit status is 1 when something was lost, duplicated, answered badly or wrongly
left unconfirmed, so a run is easy to check.
``tests/test_reliability_campaigns.py`` runs tiny ones.

Run: ``python benchmarks/reliability.py {kills,hostile,races,all} [--store sqlite|postgres|both]``
(``--help`` for the sizes; figures in ``docs/testing.md``, "Reliability").
"""

from __future__ import annotations

import argparse
import http.client
import logging
import random
import re
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for entry in (str(ROOT / "src"), str(ROOT)):
    if entry not in sys.path:
        sys.path.insert(0, entry)

from benchmarks.reliability_common import (  # noqa: E402 - after the path is set
    PASSWORD,
    USER,
    Gunicorn,
    Queue,
    Stores,
    StoreSpec,
    Tally,
    drain,
    make_service,
    plain_transport,
    print_table,
    settle,
    web_connector,
)
from benchmarks.reliability_hostile import campaign_hostile  # noqa: E402

# --- kills --------------------------------------------------------------------------------------


def campaign_kills(stores: Stores, kind: str, *, kills: int, seed: int, window: float) -> Tally:
    """Kill -9 the server at random moments during syncs, *kills* times; count the jobs."""
    from qbwc.testing import FakeQuickBooks

    rng = random.Random(seed)
    tally = Tally("kills", kind, unit="kill -9")
    started = time.monotonic()
    spec = stores.fresh(kind)
    service = make_service(spec.open())
    service.add_account(USER, PASSWORD)
    queue = Queue(service, USER)
    queue.add(4)
    qb = FakeQuickBooks.sample()
    with tempfile.TemporaryDirectory(prefix="qbwc-kills-") as tmp:
        server = Gunicorn(spec, Path(tmp))
        wc = web_connector(service, qb, plain_transport(server.url, timeout=10))
        server.start()
        stop = threading.Event()
        cut = Counter[str]()

        def sync() -> None:
            while not stop.is_set():
                if len(service.jobs(USER, status="pending", limit=10)) < 3:
                    queue.add(rng.randint(1, 4))
                try:
                    cut[wc.run_session().status.split(":")[0]] += 1
                except (OSError, http.client.HTTPException):
                    cut["connection cut"] += 1
                    time.sleep(0.02)

        syncer = threading.Thread(target=sync, daemon=True)
        syncer.start()
        try:
            for number in range(kills):
                time.sleep(rng.uniform(0, window))
                if number % 4 == 3:
                    server.kill_all()
                    server.start()
                    tally.other["master killed too"] += 1
                else:
                    server.kill_workers()
                    server.wait_ready()
                tally.inputs += 1
        finally:
            stop.set()
            syncer.join(60)
        drain(wc)
        server.stop()
    tally.other["updates ended by a connection error (kill, restart)"] = cut["connection cut"]
    settle(tally, service, qb, USER)
    service.store.close()
    tally.seconds = time.monotonic() - started
    return tally


# --- races --------------------------------------------------------------------------------------


class Clock:
    """The services' clock, moved by the scheduler (silences cost no real time)."""

    def __init__(self) -> None:
        self.now = 1_767_225_600.0
        self.lock = threading.Lock()

    def __call__(self) -> float:
        with self.lock:
            self.now += 0.01
            return self.now

    def advance(self, seconds: float) -> None:
        with self.lock:
            self.now += seconds


class Worker:
    """A service on its own store connection behind a threaded wsgiref server (one 'worker')."""

    def __init__(self, spec: StoreSpec, clock: Clock, settings: dict[str, Any]) -> None:
        from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

        from qbwc.wsgi import make_wsgi_app

        class Quiet(WSGIRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

        class Threaded(WSGIServer):
            daemon_threads = True

            def process_request(self, request: Any, client_address: Any) -> None:
                threading.Thread(
                    target=self._serve, args=(request, client_address), daemon=True
                ).start()

            def _serve(self, request: Any, client_address: Any) -> None:
                try:
                    self.finish_request(request, client_address)
                finally:
                    self.shutdown_request(request)

        self.spec = spec
        self.clock = clock
        self.settings = settings
        self.make_app = make_wsgi_app
        self.service = make_service(spec.open(), clock=clock, **settings)
        self.app = make_wsgi_app(self.service)
        self.server = Threaded(("127.0.0.1", 0), Quiet)
        self.server.set_app(self._app)
        self.url = f"http://127.0.0.1:{self.server.server_port}/qbwc"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def _app(self, environ: Any, start: Any) -> Any:
        return self.app(environ, start)  # the current one: restart() replaces it

    def restart(self) -> None:
        """A new service on a new store connection (the process restarted between calls)."""
        old = self.service
        self.service = make_service(self.spec.open(), clock=self.clock, **self.settings)
        self.app = self.make_app(self.service)
        old.store.close()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.service.store.close()


class LogCounter(logging.Handler):
    """Counts the service's log records of note (in this process) instead of printing them."""

    KEYS = (
        ("a late answer", "late answer recorded"),
        ("failed as unconfirmed", "disconnect with a write in flight"),
        ("was lost; asking QuickBooks", "error-recovery status query"),
    )

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.counts: Counter[str] = Counter()
        self.errors: list[str] = []
        self.logger = logging.getLogger("qbwc")
        self.saved = (self.logger.level, self.logger.propagate)
        self.logger.setLevel(logging.INFO)
        self.logger.propagate = False
        self.logger.addHandler(self)

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        for needle, key in self.KEYS:
            if needle in text:
                self.counts[f"log: {key}"] += 1
        if record.levelno >= logging.ERROR and "job failed" not in text:
            self.errors.append(f"{record.levelname}: {text[:300]}")

    def close(self) -> None:
        self.logger.removeHandler(self)
        self.logger.setLevel(self.saved[0])
        self.logger.propagate = self.saved[1]
        super().close()


class Scheduler:
    """
    Each Web Connector waits before every call until it is chosen.

    A choice is made only when every Web Connector of the round is waiting (or done):
    one of them goes, or (with probability *overlap*) two go at once, their calls
    then truly concurrent in the two workers.  Without overlap a round's order
    depends on the seed alone.  Between calls ``between`` may move the clock,
    restart a worker or disconnect the account.
    """

    def __init__(
        self, rng: random.Random, between: Callable[[], None], overlap: float = 0.0
    ) -> None:
        self.rng = rng
        self.between = between
        self.overlap = overlap
        self.cond = threading.Condition()
        self.active: set[int] = set()
        self.waiting: set[int] = set()
        self.holders: set[int] = set()
        self.calls = 0
        self.overlaps = 0

    def begin(self, members: list[int]) -> None:
        with self.cond:
            self.active = set(members)
            self.waiting = set()
            self.holders = set()

    def before_call(self, me: int) -> None:
        with self.cond:
            self.holders.discard(me)
            self.waiting.add(me)
            self._choose()
            while me not in self.holders:
                self.cond.wait()
            self.waiting.discard(me)
            self.calls += 1

    def done(self, me: int) -> None:
        with self.cond:
            self.holders.discard(me)
            self.active.discard(me)
            self._choose()

    def _choose(self) -> None:
        if not self.holders and self.waiting and self.waiting == self.active:
            self.between()
            ready = sorted(self.waiting)
            count = 2 if len(ready) > 1 and self.rng.random() < self.overlap else 1
            self.overlaps += count - 1
            self.holders = set(self.rng.sample(ready, count))
            self.cond.notify_all()


def campaign_races(
    stores: Stores, kind: str, *, rounds: int, connectors: int, seed: int, overlap: float = 0.2
) -> Tally:
    """*rounds* interleavings of *connectors* Web Connectors for one account; count the writes."""
    from qbwc.testing import Crash, FakeQuickBooks, LoseQuickBooksResponse, LoseReply

    rng = random.Random(seed)
    tally = Tally("races", kind, unit="interleavings")
    started = time.monotonic()
    spec = stores.fresh(kind)
    clock = Clock()
    settings = {"session_timeout": 60.0, "busy_timeout": 20.0}
    workers = [Worker(spec, clock, settings) for _ in range(connectors)]
    admin = make_service(spec.open(), clock=clock, **settings)  # the host's, never restarted
    admin.add_account(USER, PASSWORD)
    queue = Queue(admin, USER)
    qb = FakeQuickBooks.sample()
    events = Counter[str]()

    def between() -> None:
        roll = rng.random()
        if roll < 0.04:
            clock.advance(rng.uniform(20.5, 59.0))  # past busy_timeout: a silent session
            events["silence > busy_timeout"] += 1
        elif roll < 0.06:
            clock.advance(rng.uniform(60.5, 200.0))  # past session_timeout: a late answer next
            events["silence > session_timeout"] += 1
        elif roll < 0.075:
            rng.choice(workers).restart()
            events["worker restarted"] += 1
        elif roll < 0.078:
            admin.disconnect(USER)
            events["disconnect (relinked by the next update)"] += 1

    logs = LogCounter()
    scheduler = Scheduler(rng, between, overlap)
    answered: set[bytes] = set()

    def watch(send: Callable[[bytes, str], tuple[int, bytes]]) -> Any:
        """Note the job IDs of each answer a server took (its reply came back)."""

        def sending(body: bytes, action: str) -> tuple[int, bytes]:
            status, reply = send(body, action)
            if action.endswith("receiveResponseXML") and status == 200:
                answered.update(re.findall(rb"requestID=(?:\"|&quot;)(\d+)", body))
            return status, reply

        return sending

    wcs = []
    for index, worker in enumerate(workers):
        wc = web_connector(
            admin,
            qb,
            watch(plain_transport(worker.url, timeout=30)),
            before_call=lambda call, me=index: scheduler.before_call(me),
        )
        wcs.append(wc)
    operations = [
        "sendRequestXML",
        "receiveResponseXML",
        "authenticate",
        "closeConnection",
        "getLastError",
    ]
    problems: list[str] = []

    def run(index: int) -> None:
        try:
            result = wcs[index].run_session()
            status = re.sub(r"\s*\([^)]*\)|QBWC-\w+|\d+", "#", result.status)[:60]
            events[f"update: {status}"] += 1
        except BaseException as exc:
            problems.append(f"connector {index}: {exc!r}")
        finally:
            scheduler.done(index)

    try:
        for _ in range(rounds):
            queue.add(rng.choice([0, 0, 1, 1, 2, 3]))
            for wc in wcs:
                roll = rng.random()
                if roll < 0.08:
                    wc.inject(LoseReply(operation=rng.choice(operations)))
                elif roll < 0.14:
                    wc.inject(LoseQuickBooksResponse())
                elif roll < 0.18:
                    wc.inject(Crash(operation=rng.choice(operations)))
            members = list(range(connectors))
            scheduler.begin(members)
            threads = [threading.Thread(target=run, args=(i,)) for i in members]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(120)
            for wc in wcs:
                wc.faults.clear()  # a fault that found no chance this round
            tally.inputs += 1
        clock.advance(1000)
        for _ in range(50):
            scheduler.begin([0])
            try:
                status = wcs[0].run_session().status
            finally:
                scheduler.done(0)
            if status == "No Data Exchange":
                break
            clock.advance(100)
        tally.other.update(events)
        tally.other.update(logs.counts)
        tally.notes.extend(logs.errors)
        tally.other["calls"] = scheduler.calls
        tally.other["two calls at once"] = scheduler.overlaps
        tally.notes.extend(problems)
        tally.bad_answers += len(problems)
        tally.other["jobs whose answer a server took"] = len(answered)
        settle(tally, admin, qb, USER, {a.decode() for a in answered})
    finally:
        logs.close()
        for worker in workers:
            worker.stop()
        admin.store.close()
    tally.seconds = time.monotonic() - started
    return tally


# --- main ---------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("campaign", choices=["kills", "hostile", "races", "all"])
    parser.add_argument("--store", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--kills", type=int, default=60, help="kill -9s (default 60)")
    parser.add_argument(
        "--window",
        type=float,
        default=1.0,
        help="a kill lands up to this many seconds after the server is up",
    )
    parser.add_argument("--inputs", type=int, default=600, help="hostile inputs (default 600)")
    parser.add_argument("--rounds", type=int, default=300, help="race interleavings (default 300)")
    parser.add_argument("--connectors", type=int, default=2, help="Web Connectors in the races")
    parser.add_argument(
        "--overlap",
        type=float,
        default=0.2,
        help="in the races, how often two calls go at once (default 0.2; 0: one at a time)",
    )
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    kinds = ["sqlite", "postgres"] if args.store == "both" else [args.store]
    campaigns = ["kills", "hostile", "races"] if args.campaign == "all" else [args.campaign]
    tallies: list[Tally] = []
    with tempfile.TemporaryDirectory(prefix="qbwc-reliability-") as tmp:
        stores = Stores(Path(tmp))
        try:
            for campaign in campaigns:
                for kind in kinds:
                    if campaign == "kills":
                        tally = campaign_kills(
                            stores, kind, kills=args.kills, seed=args.seed, window=args.window
                        )
                    elif campaign == "hostile":
                        tally = campaign_hostile(stores, kind, inputs=args.inputs, seed=args.seed)
                    else:
                        tally = campaign_races(
                            stores,
                            kind,
                            rounds=args.rounds,
                            connectors=args.connectors,
                            seed=args.seed,
                            overlap=args.overlap,
                        )
                    tallies.append(tally)
                    print_table([tally])
                    print(flush=True)
        finally:
            stores.close()
    if len(tallies) > 1:
        print_table(tallies)
    return 0 if all(t.clean for t in tallies) else 1


if __name__ == "__main__":
    sys.exit(main())
