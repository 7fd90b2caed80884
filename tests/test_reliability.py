"""
The reliability campaign: thousands of Web Connector syncs with random faults.

A seeded random campaign enqueues invoices and estimates (some for a customer
QuickBooks does not have), then runs one Web Connector sync after another
through the WSGI application while :class:`~qbwc.testing.FaultInjector` loses
QuickBooks' responses after it processed them, loses replies, fails the
connection with an HRESULT, repeats calls, crashes the Web Connector, restarts
the service (a new object on the same store; with SQLite a new connection to
the same file), opens a different company file and changes the password.
After every sync it checks:

- no job's invoice or estimate exists twice in QuickBooks (duplicates: 0);
- a done job is in QuickBooks exactly once, with the TxnID the service holds;
- a failed job has a code, a message and a support reference, and one that
  QuickBooks refused (3140) is not in QuickBooks;
- nothing was written to a company file the account is not linked to;
- the service answered every call without an unhandled exception.

At the end the faults stop and the Web Connector runs until the queue is empty:
every job must then be done exactly once or failed with a reason (lost: 0).

The default run is a few hundred syncs.  The long run is a command::

    QBWC_RELIABILITY_SYNCS=5000 .venv/bin/pytest tests/test_reliability.py -s

(``QBWC_RELIABILITY_SEED`` picks another seed; ``QBWC_RELIABILITY_REPORT=path``
also writes the figures to a file.)  Four fifths of the syncs use the memory
store, one fifth SQLite.
"""

from __future__ import annotations

import json
import logging
import os
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest

from qbwc import WebConnectorService
from qbwc.qbxml._requests import EstimateAdd, EstimateLineAdd, InvoiceAdd, InvoiceLineAdd
from qbwc.qbxml._types import Ref
from qbwc.store import Job, MemoryStore, SQLiteStore, Store
from qbwc.testing import (
    ChangePassword,
    Crash,
    FailConnection,
    FakeQuickBooks,
    FakeWebConnector,
    FaultInjector,
    LoseQuickBooksResponse,
    LoseReply,
    OpenCompanyFile,
    RepeatCall,
    RestartService,
    SessionResult,
)
from qbwc.wsgi import make_wsgi_app

OWNER = uuid.UUID("6C1D2E3F-4A5B-4C6D-8E7F-901A2B3C4D5E")
USER = "site-office@summit.example"
PASSWORD = "first password"

SYNCS = int(os.environ.get("QBWC_RELIABILITY_SYNCS", "0"))
SEED = int(os.environ.get("QBWC_RELIABILITY_SEED", "20260105"))
REPORT = os.environ.get("QBWC_RELIABILITY_REPORT")

#: Default (CI) campaign sizes: memory store, SQLite store.
DEFAULT_MEMORY_SYNCS = 600
DEFAULT_SQLITE_SYNCS = 150

KNOWN_CUSTOMERS = ("Acme Corp", "Acme Corp:Job 7", "Baker Residence", "Cole Properties")
UNKNOWN_CUSTOMER = "Pinecrest HOA"
ITEMS = ("Consulting", "Installation", "Maintenance", "Mulch", "Delivery")
OPERATIONS = (
    "authenticate",
    "sendRequestXML",
    "receiveResponseXML",
    "connectionError",
    "getLastError",
    "closeConnection",
)
HRESULTS = ("0x80040408", "0x80040414", "0x8004041b", "0x80040422", "0x80040424")


def _sizes() -> tuple[int, int]:
    if SYNCS <= 0:
        return DEFAULT_MEMORY_SYNCS, DEFAULT_SQLITE_SYNCS
    sqlite = max(1, SYNCS // 5)
    return SYNCS - sqlite, sqlite


class Clock:
    """Seconds since the epoch, moved by the campaign."""

    def __init__(self) -> None:
        self.now = 1_767_571_200.0  # 2026-01-05

    def __call__(self) -> float:
        return self.now


class InternalErrors(logging.Handler):
    """Counts the service's "internal error" log records (an unhandled exception, caught)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record.getMessage())


@attrs.define
class Figures:
    """What a campaign did and found."""

    store: str
    seed: int
    syncs: int = 0
    drain_syncs: int = 0
    calls: int = 0
    jobs: int = 0
    done: int = 0
    failed: Counter[str] = attrs.Factory(Counter)
    faults: Counter[str] = attrs.Factory(Counter)
    statuses: Counter[str] = attrs.Factory(Counter)
    soap_faults: int = 0
    lost: int = 0
    duplicates: int = 0
    wrong_file_writes: int = 0
    unhandled: int = 0
    recoveries: int = 0
    resent: int = 0
    seconds: float = 0.0

    def lines(self) -> list[str]:
        faults = ", ".join(f"{k} {v}" for k, v in sorted(self.faults.items()))
        failed = ", ".join(f"{k} {v}" for k, v in sorted(self.failed.items())) or "none"
        return [
            f"reliability campaign ({self.store} store, seed {self.seed})",
            f"  syncs run:            {self.syncs:,} (+ {self.drain_syncs} to drain the queue)",
            f"  calls answered:       {self.calls:,} ({self.soap_faults} SOAP faults)",
            f"  faults injected:      {sum(self.faults.values()):,} ({faults})",
            f"  jobs enqueued:        {self.jobs:,}: {self.done:,} done, "
            f"{sum(self.failed.values()):,} failed ({failed})",
            f"  recovered by status query (QuickBooks had it, the service had not heard): "
            f"{self.recoveries:,}",
            f"  resent after QuickBooks said it never saw them (600): {self.resent:,}",
            f"  jobs lost:            {self.lost}",
            f"  duplicates:           {self.duplicates}",
            f"  writes to a wrong company file: {self.wrong_file_writes}",
            f"  unhandled exceptions: {self.unhandled}",
            f"  time:                 {self.seconds:.1f} s",
        ]


class Campaign:
    """One account, one company file (and a wrong one), a service, and a Web Connector."""

    def __init__(self, seed: int, store: Callable[[], Store], name: str) -> None:
        self.rng = random.Random(seed)
        self.figures = Figures(store=name, seed=seed)
        self.clock = Clock()
        self.make_store = store
        self.stores: list[Store] = []
        self.password = PASSWORD
        service = self.new_service()
        service.add_account(USER, PASSWORD)
        self.qb = FakeQuickBooks.sample(company_name="Larkspur Landscaping")
        # A wrong file that would accept every write: same lists, another name.
        self.other = FakeQuickBooks.sample(company_name="Larkspur Landscaping 2025 Copy")
        self.home_file = self.qb.company_file
        self.wc = FakeWebConnector(make_wsgi_app(service), self.qb)
        qwc = service.qwc(
            USER, app_url="https://localhost/qbwc", app_support="https://localhost/help"
        )
        self.wc.add_application(qwc, password=PASSWORD)
        if self.rng.random() < 0.5:
            # The wrong file was once set up with an old QWC file of ours.
            self.other.register_application(OWNER, uuid.uuid4())
        self.faults = FaultInjector(self.wc, service=service, new_service=self.new_service)
        self.serial = 0
        self.jobs: dict[str, Job] = {}  # id -> last seen state
        self.ref_of: dict[str, str] = {}  # job id -> RefNumber
        self.open_ids: set[str] = set()  # not yet done/failed
        self.seen_txns = 0
        self.seen_history = 0
        self.stray_writes = 0  # executed writes whose company file is not the linked one
        self.ref_counts: Counter[str] = Counter()
        self.txn_of: dict[str, str] = {}  # RefNumber -> TxnID in QuickBooks
        self.wrong_file_open = False
        self.password_pending: str | None = None
        self.errors = InternalErrors()

    # -- setup --------------------------------------------------------------------------

    @property
    def service(self) -> WebConnectorService:
        """The service answering now (a new object after each restart)."""
        current: WebConnectorService = self.faults.service
        return current

    def new_service(self) -> WebConnectorService:
        store = self.make_store()
        self.stores.append(store)
        return WebConnectorService(
            store=store,
            owner_id=OWNER,
            app_name="Larkspur Billing",
            password_cost=2,
            clock=self.clock,
            max_attempts=3,
        )

    def close(self) -> None:
        for store in {id(s): s for s in self.stores}.values():
            store.close()

    # -- the campaign --------------------------------------------------------------------

    def enqueue(self) -> None:
        self.serial += 1
        ref = f"R{self.serial}"
        customer = (
            UNKNOWN_CUSTOMER if self.rng.random() < 0.08 else self.rng.choice(KNOWN_CUSTOMERS)
        )
        item = Ref(full_name=self.rng.choice(ITEMS))
        quantity = Decimal(self.rng.randint(1, 40))
        request: InvoiceAdd | EstimateAdd
        if self.rng.random() < 0.7:
            request = InvoiceAdd(
                customer_ref=Ref(full_name=customer),
                ref_number=ref,
                lines=[InvoiceLineAdd(item_ref=item, quantity=quantity)],
            )
        else:
            request = EstimateAdd(
                customer_ref=Ref(full_name=customer),
                ref_number=ref,
                lines=[EstimateLineAdd(item_ref=item, quantity=quantity)],
            )
        job = self.service.enqueue(USER, request, key=f"job-{self.serial}")
        if self.rng.random() < 0.05:  # the host retries its own enqueue: harmless
            assert self.service.enqueue(USER, request, key=f"job-{self.serial}").id == job.id
        self.jobs[job.id] = job
        self.ref_of[job.id] = ref
        self.open_ids.add(job.id)
        self.figures.jobs += 1

    def random_faults(self) -> None:
        rng = self.rng
        for _ in range(rng.choice((0, 0, 0, 1, 1, 1, 2))):
            kind = rng.randrange(11)
            if kind == 0:
                self.faults.inject(LoseQuickBooksResponse())
            elif kind == 1:
                self.faults.inject(LoseReply(operation=rng.choice(OPERATIONS)))
            elif kind == 2:
                self.faults.inject(
                    FailConnection(hresult=rng.choice(HRESULTS), times=rng.randint(1, 4))
                )
            elif kind == 3:
                self.faults.inject(RepeatCall(operation=rng.choice(OPERATIONS)))
            elif kind == 4:
                self.faults.inject(RestartService(operation=rng.choice(OPERATIONS)))
            elif kind == 5:
                self.faults.inject(Crash(operation=rng.choice(OPERATIONS)))
            elif kind == 6 and not self.wrong_file_open:
                self.faults.inject(OpenCompanyFile(quickbooks=self.other))
                self.wrong_file_open = True
            elif kind == 7 and self.password_pending is None:
                # The host changes the password; the user has not typed it yet.
                self.password = f"password {rng.randrange(10**6)}"
                self.faults.inject(ChangePassword(password=self.password, web_connector=False))
                self.password_pending = self.password
            elif kind == 8:
                self.qb.fail_next(3180)  # "modified by another user": retryable
                self.figures.faults["QuickBooks 3180"] += 1
            elif kind == 9:
                self.qb.fail_processing("0x80040402")
                self.figures.faults["QuickBooks HRESULT on a request"] += 1
            elif kind == 10:
                self.qb.lose_next_response()
                self.figures.faults["QuickBooks response lost"] += 1

    def repair(self) -> None:
        """What users do between syncs: reopen the right file, type the new password."""
        if self.wrong_file_open and self.rng.random() < 0.7:
            self.faults.inject(OpenCompanyFile(quickbooks=None))
            self.wrong_file_open = False
        if self.password_pending is not None and self.rng.random() < 0.7:
            self.faults.inject(
                ChangePassword(password=self.password_pending, service=False, web_connector=True)
            )
            self.password_pending = None

    def sync(self) -> SessionResult:
        result = self.wc.run_session()
        self.figures.calls += len(result.calls)
        self.figures.soap_faults += sum("HTTP 500" in e for e in result.errors)
        self.figures.statuses[result.status.split(":")[0][:40]] += 1
        # The Web Connector's scheduler runs again some minutes later.
        self.clock.now += self.rng.choice((30, 60, 130, 300, 600, 900))
        return result

    def run(self, syncs: int) -> Figures:
        started = time.perf_counter()
        logger = logging.getLogger("qbwc")
        logger.addHandler(self.errors)
        try:
            for _ in range(syncs):
                for _ in range(self.rng.choice((0, 0, 1, 1, 1, 2, 3))):
                    self.enqueue()
                self.random_faults()
                self.sync()
                self.figures.syncs += 1
                self.check()
                self.repair()
            self.drain()
        finally:
            logger.removeHandler(self.errors)
            self.close()
        self.figures.faults.update(self.faults.injected)
        self.figures.unhandled = len(self.errors.records)
        self.figures.seconds = time.perf_counter() - started
        return self.figures

    def drain(self) -> None:
        """No more faults: the user fixes everything and syncs until nothing is left."""
        self.faults.clear()
        if self.wrong_file_open:
            self.faults.inject(OpenCompanyFile(quickbooks=None))
            self.wrong_file_open = False
        if self.password_pending is not None:
            self.faults.inject(ChangePassword(password=self.password_pending, service=False))
            self.password_pending = None
        for _ in range(200):
            self.clock.now += 700  # every earlier session has expired or gone quiet
            result = self.sync()
            self.figures.drain_syncs += 1
            self.check()
            if result.status == "No Data Exchange":
                break
        else:
            pytest.fail("the queue did not drain in 200 syncs without faults")
        self.check(final=True)

    # -- the invariants ------------------------------------------------------------------

    def _new_transactions(self) -> Iterator[Any]:
        records = self.qb.transactions
        yield from records[self.seen_txns :]
        self.seen_txns = len(records)

    def check(self, *, final: bool = False) -> None:
        figures = self.figures
        for record in self._new_transactions():
            self.ref_counts[record.ref_number] += 1
            self.txn_of[record.ref_number] = record.txn_id
            if self.ref_counts[record.ref_number] > 1:
                figures.duplicates += 1
        assert figures.duplicates == 0, f"duplicate in QuickBooks: {self.ref_counts.most_common(3)}"
        history = self.qb.history
        self.stray_writes += sum(
            1 for h in history[self.seen_history :] if h.company_file != self.home_file and h.txn_id
        )
        self.seen_history = len(history)
        wrong = len(self.other.transactions) + self.stray_writes
        figures.wrong_file_writes = wrong
        assert wrong == 0, "a write reached a company file the account is not linked to"
        assert not self.errors.records, f"unhandled: {self.errors.records}"
        for job_id in sorted(self.open_ids):
            job = self.service.job(job_id)
            count = self.ref_counts[self.ref_of[job_id]]
            if job.status == "done":
                assert count == 1, f"job {job_id} done but {count} in QuickBooks"
                assert self.txn_of[self.ref_of[job_id]] == job.txn_id
                figures.done += 1
                self.open_ids.discard(job_id)
            elif job.status == "failed":
                assert job.error is not None, f"job {job_id} failed without a reason"
                assert job.error.code
                assert job.error.message
                assert job.error.reference
                if job.error.code == "3140":
                    assert count == 0
                    assert UNKNOWN_CUSTOMER in job.error.message
                elif job.error.code != "unconfirmed":
                    assert count == 0, f"job {job_id} failed ({job.error.code}) but is in QB"
                figures.failed[job.error.code] += 1
                self.open_ids.discard(job_id)
            else:
                assert count <= 1
                if final:
                    figures.lost += 1
            self.jobs[job_id] = job
        if final:
            assert figures.lost == 0, f"jobs lost: {sorted(self.open_ids)}"
            done_in_qb = sum(1 for ref, n in self.ref_counts.items() if n == 1)
            assert done_in_qb >= figures.done


class RecoveryCounter(logging.Handler):
    """Counts the service's recoveries: stored answers used, and sets resent after 600."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.recovered = 0
        self.resent = 0

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        self.recovered += "recovered the stored answer" in message
        self.resent += "was never processed" in message


def _run(campaign: Campaign, syncs: int) -> Figures:
    counter = RecoveryCounter()
    service_log = logging.getLogger("qbwc.service")
    level = service_log.level
    service_log.setLevel(logging.INFO)
    service_log.addHandler(counter)
    try:
        figures = campaign.run(syncs)
    finally:
        service_log.removeHandler(counter)
        service_log.setLevel(level)
    figures.recoveries = counter.recovered
    figures.resent = counter.resent
    report = "\n".join(figures.lines())
    print("\n" + report)
    if REPORT:
        with Path(REPORT).open("a", encoding="utf-8") as out:
            out.write(report + "\n")
            out.write(json.dumps(attrs.asdict(figures), default=str) + "\n")
    return figures


@pytest.fixture(autouse=True)
def _quiet_service_log(caplog: pytest.LogCaptureFixture) -> None:
    # Thousands of expected warnings (lost responses, refusals) would only be noise.
    caplog.set_level(logging.CRITICAL, logger="qbwc")


class TestReliabilityCampaign:
    def test_memory_store(self) -> None:
        """Hundreds (or QBWC_RELIABILITY_SYNCS) of faulty syncs: nothing lost, nothing twice."""
        store = MemoryStore()
        figures = _run(Campaign(SEED, lambda: store, "memory"), _sizes()[0])
        assert figures.lost == 0
        assert figures.duplicates == 0
        assert figures.unhandled == 0
        assert figures.done > 0
        assert figures.failed["3140"] > 0
        # Every kind of fault fired at least once, so the campaign tests what it says.
        for kind in ("LoseQuickBooksResponse", "LoseReply", "FailConnection", "RepeatCall",
                     "RestartService", "Crash", "OpenCompanyFile", "ChangePassword"):  # fmt: skip
            assert figures.faults[kind] > 0, kind
        assert figures.recoveries > 0
        assert figures.resent > 0

    def test_sqlite_store(self, tmp_path: Path) -> None:
        """The same campaign on SQLite: each restart opens a new connection to the same file."""
        path = tmp_path / "qbwc.sqlite"
        figures = _run(Campaign(SEED + 1, lambda: SQLiteStore(path), "SQLite"), _sizes()[1])
        assert figures.lost == 0
        assert figures.duplicates == 0
        assert figures.unhandled == 0
        assert figures.faults["RestartService"] > 0

    def test_checker_sees_a_duplicate(self) -> None:
        """The duplicate check is real: an invoice written twice behind the service fails it."""
        store = MemoryStore()
        campaign = Campaign(SEED, lambda: store, "memory")
        try:
            campaign.enqueue()
            campaign.sync()
            campaign.check()
            (record,) = campaign.qb.transactions
            from qbwc.qbxml import build_request

            again = InvoiceAdd(
                customer_ref=Ref(full_name="Acme Corp"),
                ref_number=record.ref_number,
                lines=[InvoiceLineAdd(item_ref=Ref(full_name="Mulch"), quantity=Decimal(1))],
            )
            campaign.qb.process_request(build_request([again]).decode())
            with pytest.raises(AssertionError, match="duplicate"):
                campaign.check()
        finally:
            campaign.close()

    def test_checker_sees_a_wrong_file_write(self) -> None:
        """The wrong-file check is real: a write into the other company file fails it."""
        store = MemoryStore()
        campaign = Campaign(SEED, lambda: store, "memory")
        try:
            from qbwc.qbxml import build_request

            stray = InvoiceAdd(
                customer_ref=Ref(full_name="Acme Corp"),
                lines=[InvoiceLineAdd(item_ref=Ref(full_name="Mulch"), quantity=Decimal(1))],
            )
            campaign.other.process_request(build_request([stray]).decode())
            with pytest.raises(AssertionError, match="company file"):
                campaign.check()
        finally:
            campaign.close()


def test_report_lines_name_every_figure() -> None:
    """The printed report names syncs, faults by kind, jobs lost and duplicates."""
    figures = Figures(store="memory", seed=1, syncs=3)
    figures.faults["Crash"] = 2
    text = "\n".join(figures.lines())
    for needle in ("syncs run", "Crash 2", "jobs lost", "duplicates", "wrong company file"):
        assert needle in text
