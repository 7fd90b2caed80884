"""
Random Web Connector conversations with faults, checked against the service's invariants.

A Hypothesis state machine enqueues invoices and runs Web Connector sessions
while losing replies and QuickBooks responses, repeating calls, crashing the
Web Connector, restarting the service (a new object on the same SQLite file),
failing QuickBooks, moving the clock and opening another company file.  A
second Web Connector (same account, same company file) starts sessions of its
own, call by call: it can go silent after being handed a message set, have
its QuickBooks run the set late (but, as docs/service.md requires, within
``session_timeout``), answer late or never.  After every step:

- no invoice exists twice in QuickBooks, and none in a company file the
  account is not linked to;
- every invoice in QuickBooks belongs to a job that is done (with that TxnID)
  or still in flight (awaiting recovery);
- every job is pending, in flight, done with its TxnID, or failed with a code,
  a message and a support reference;
- nothing raised.

ServiceMachine also queues requests of other types (docs/service.md, "Any
request"), run by a list QuickBooks double (tests/quickbooks_double.py):
CustomerAdds (some with a name already taken), invoices that wait for them
(``after=``), Mods with a current or a stale EditSequence, ListDels and
queries.  After every step no write ran twice in QuickBooks (per job), none ran
in another company file, every done write's ListID is the one QuickBooks
gave, a job never ran before the job it waits for was done, and a job whose
dependency failed or was cancelled failed with code ``dependency``, never sent.

At the end the faults stop and the Web Connector runs until the queue is
empty: then every job is done exactly once or failed with a reason.
"""

from __future__ import annotations

import shutil
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from qbwc.protocol import Authenticated, Done, Failed, Progress, RequestXML
from qbwc.qbxml._types import vocabulary
from qbwc.store import SQLiteStore
from qbwc.testing import (
    Crash,
    FakeQuickBooks,
    FakeWebConnector,
    LoseQuickBooksResponse,
    LoseReply,
    RepeatCall,
)
from qbwc.testing._interface import RequestProcessorError
from qbwc.wsgi import make_wsgi_app
from tests.quickbooks_double import ListQuickBooks
from tests.rig import PASSWORD, REFERENCE, USER, DirectWC, Rig, invoice

_OPERATIONS = (
    "authenticate",
    "sendRequestXML",
    "receiveResponseXML",
    "getLastError",
    "closeConnection",
    "connectionError",
)

_FAULTS = st.one_of(
    st.none(),
    st.just(LoseQuickBooksResponse()),
    st.builds(LoseReply, operation=st.sampled_from(_OPERATIONS)),
    st.builds(RepeatCall, operation=st.sampled_from(_OPERATIONS)),
    st.builds(Crash, operation=st.sampled_from(_OPERATIONS)),
)


#: What the machines tried, over the whole test run (for the figures in reports).
STATS: Counter[str] = Counter()


def _note(what: str) -> None:
    event(what)
    STATS[what] += 1


class _Conversations(RuleBasedStateMachine):
    """The service under random conversations of two Web Connectors, with faults."""

    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="qbwc-stateful-"))
        self.rig: Rig | None = None
        self.other = FakeQuickBooks.sample(company_name="Other Books")
        self.refs = 0
        self.last_invoice = ""  # the ref of the last invoice queued by enqueue()
        self.bad: set[str] = set()
        self.password = PASSWORD
        self.other_open = False
        # The second Web Connector: its session, when its last call came, and
        # whether its QuickBooks has run the set it holds (and how that went).
        self.slow: DirectWC | None = None
        self.slow_since = 0.0
        self.slow_ran = False
        self.slow_hresult = ""
        self.lq: ListQuickBooks | None = None
        self.home_file = ""

    def _store(self) -> SQLiteStore:
        return SQLiteStore(self.folder / "qbwc.sqlite", synchronous="NORMAL")

    @property
    def r(self) -> Rig:
        assert self.rig is not None
        return self.rig

    @initialize(batch=st.sampled_from([1, 1, 3]), attempts=st.integers(1, 3))
    def start(self, batch: int, attempts: int) -> None:
        self.rig = Rig(self._store(), batch_size=batch, max_attempts=attempts)
        # QuickBooks: the rig's FakeQuickBooks, and the list double for other requests.
        self.lq = ListQuickBooks(self.rig.qb)
        self.rig.wc = FakeWebConnector(make_wsgi_app(self.rig.service), self.lq)
        self.rig.wc.add_application(self.rig.qwc(USER), password=PASSWORD)
        self.home_file = self.lq.company_file

    # -- the host --------------------------------------------------------------------

    @rule(count=st.integers(1, 3), bad=st.booleans())
    def enqueue(self, count: int, bad: bool) -> None:
        for _ in range(count):
            self.refs += 1
            ref = str(self.refs)
            customer = "Nobody Inc" if bad else "Acme Corp"
            if bad:
                self.bad.add(ref)
            self.r.service.enqueue(USER, invoice(ref, customer=customer), key=f"inv-{ref}")
            self.last_invoice = ref

    @rule()
    def restart(self) -> None:
        self.r.restart(self._store())

    @rule(seconds=st.sampled_from([1, 121, 601]))
    def wait(self, seconds: int) -> None:
        self._advance(seconds)

    def _advance(self, seconds: float) -> None:
        """Move the clock; QuickBooks runs the second Web Connector's set before it expires."""
        r = self.r
        if (
            self.slow is not None
            and not self.slow_ran
            and r.clock.now + seconds - self.slow_since >= r.service.session_timeout
        ):
            self._slow_quickbooks()
        r.clock.advance(seconds)

    # -- the Web Connector and QuickBooks ---------------------------------------------

    @rule(fault=_FAULTS)
    def sync(self, fault: Any) -> None:
        if fault is not None:
            self.r.wc.inject(fault)
        result = self.r.run()
        self.r.wc.faults.clear()
        if self.slow is not None:
            _note(f"first WC while the second holds a set: {result.status.split(':')[0]}")

    # -- the second Web Connector ----------------------------------------------------------

    def _home(self) -> None:
        """The second Web Connector's QuickBooks has the account's own file open."""
        self.r.qb.switch_company(None)

    def _back(self) -> None:
        self.r.qb.switch_company(self.other if self.other_open else None)

    @precondition(lambda self: self.rig is not None and self.slow is None)
    @rule(queue=st.booleans())
    def slow_starts(self, queue: bool) -> None:
        """The second Web Connector authenticates and asks for work; it keeps what it gets."""
        if queue:  # the host queues an invoice just before
            self.enqueue(1, bad=False)
        wc = DirectWC(self.r, self.lq)  # type: ignore[arg-type]
        reply = wc.authenticate(self.password)
        if not isinstance(reply, Authenticated):
            _note(f"second WC: {type(reply).__name__}")
            if wc.ticket:
                wc.close()
            return
        self._home()
        try:
            try:
                reply = wc.request()
            except RequestProcessorError:
                _note("second WC: QuickBooks would not open; it goes silent")
                return
        finally:
            self._back()
        if isinstance(reply, RequestXML):
            kind = "a status query or clear" if "requestID" not in reply.qbxml else "a write"
            _note(f"second WC: handed {kind}")
            self.slow = wc
            self.slow_since = self.r.clock.now
            self.slow_ran = False
            return
        _note(f"second WC: {type(reply).__name__}")
        wc.last_error()
        wc.close()

    def _slow_quickbooks(self) -> None:
        assert self.slow is not None
        self._home()
        try:
            self.slow.run_quickbooks()
            self.slow_hresult = ""
        except RequestProcessorError as exc:
            self.slow_hresult = exc.hresult
        finally:
            self._back()
        self.slow_ran = True

    @precondition(lambda self: self.slow is not None and not self.slow_ran)
    @rule(dies=st.integers(0, 3))
    def slow_quickbooks_runs(self, dies: int) -> None:
        """The second Web Connector's QuickBooks runs the set it holds (late); or it dies first."""
        if not dies:
            _note("second WC: vanished before QuickBooks ran its set")
            self.slow = None
            return
        self._slow_quickbooks()

    @precondition(lambda self: self.slow is not None and self.slow_ran)
    @rule(close=st.booleans(), dies=st.integers(0, 3))
    def slow_answers(self, close: bool, dies: int) -> None:
        """The second Web Connector posts QuickBooks' answer (perhaps long after); or dies."""
        assert self.slow is not None
        wc, self.slow = self.slow, None
        if not dies:
            _note("second WC: vanished after QuickBooks ran its set")
            return
        expired = self.r.clock.now - self.slow_since > self.r.service.session_timeout
        hresult = self.slow_hresult
        reply = wc.answer("", hresult=hresult) if hresult else wc.answer()
        _note(f"second WC: {'late ' if expired else ''}answer -> {type(reply).__name__}")
        if isinstance(reply, Failed):
            wc.last_error()
        if close or isinstance(reply, Done | Failed):
            wc.close()
        else:
            assert isinstance(reply, Progress | Done), reply

    @invariant()
    def nothing_twice_nothing_elsewhere(self) -> None:
        STATS["steps"] += 1
        if self.rig is None:
            return
        refs = self.r.ref_numbers()
        assert len(refs) == len(set(refs)), refs
        assert self.other.invoices == ()
        assert not self.bad & set(filter(None, refs))

    @invariant()
    def jobs_are_accounted_for(self) -> None:
        if self.rig is None:
            return
        with self.r.store.transaction() as tx:
            in_flight = tx.get_in_flight(USER)
            jobs = tx.list_jobs(username=USER)
        flying = set(in_flight.job_ids) if in_flight is not None else set()
        by_txn = {ret.txn_id: ret for ret in self.r.qb.invoices}
        done_txns = set()
        for job in jobs:
            if job.status in ("done", "failed"):
                assert job.qbxml is None, job  # not needed again
            if job.request_type != "InvoiceAdd":
                continue  # checked by other_requests_once
            if job.status == "done":
                assert job.txn_id in by_txn, job
                assert f"inv-{by_txn[job.txn_id].ref_number}" == job.key
                done_txns.add(job.txn_id)
            elif job.status == "failed":
                assert job.error is not None
                assert job.error.code
                assert job.error.message
                assert REFERENCE.fullmatch(job.error.reference)
            elif job.status == "sent":
                assert job.id in flying, (job, in_flight)
        # Every invoice in QuickBooks is a done job's, or one whose answer is still awaited.
        waiting = {f"inv-{ret.ref_number}" for t, ret in by_txn.items() if t not in done_txns}
        keys_in_flight = {job.key for job in jobs if job.id in flying}
        assert waiting <= keys_in_flight, (waiting, keys_in_flight)

    @invariant()
    def other_requests_once(self) -> None:
        """The other request types: once, in the linked file, in order, failed with reasons."""
        if self.rig is None or self.lq is None:
            return
        with self.r.store.transaction() as tx:
            jobs = {job.id: job for job in tx.list_jobs(username=USER)}
        succeeded: Counter[str] = Counter()
        for ran in self.lq.ran:
            assert ran.company_file == self.home_file, ran  # never another company file
            if ran.status_code == 0 and ran.request_type != "CustomerQuery":
                succeeded[ran.request_id] += 1
        assert all(count == 1 for count in succeeded.values()), succeeded
        order = {ran.request_id: n for n, ran in enumerate(self.lq.ran)}
        invoices = {f"inv-{ret.ref_number}": n for n, ret in enumerate(self.r.qb.invoices)}
        for job in jobs.values():
            if job.request_type in ("CustomerAdd", "CustomerMod") and job.status == "done":
                (ran,) = [r for r in self.lq.ran if r.request_id == job.id and not r.status_code]
                assert job.list_id == ran.list_id, (job, ran)
            if job.request_type == "CustomerQuery" and job.status == "done":
                assert job.pages == 1, job
            if job.after is None:
                continue
            waits_for = jobs.get(job.after)
            assert waits_for is not None
            if job.status in ("sent", "done"):
                assert waits_for.status == "done", (job, waits_for)
                if job.id in order and waits_for.id in order:
                    assert order[waits_for.id] < order[job.id]
            if waits_for.status in ("failed", "cancelled"):  # (or the host cancelled it)
                assert job.status in ("failed", "cancelled"), (job, waits_for)
            if (
                job.status == "failed"
                and job.error is not None
                and (job.error.code == "dependency")
            ):
                assert job.attempts == 0, job  # never sent
                assert job.key not in invoices, job

    @precondition(lambda self: self.rig is not None and self.slow is None)
    @rule()
    def settle(self) -> None:
        """Faults stop; the Web Connector runs until the queue is empty."""
        r = self.r
        r.wc.faults.clear()
        r.qb.switch_company(None)
        r.wc.set_password(self.password)
        statuses: set[str] = set()
        if self.slow is not None:  # the second Web Connector gives up
            self.slow = None
        for _ in range(40):  # every queued QuickBooks fault costs at most one run
            self._advance(601)
            r.run()
            with r.store.transaction() as tx:
                statuses = {job.status for job in tx.list_jobs(username=USER)}
            if statuses <= {"done", "failed", "cancelled"} and not r.qb.pending_faults:
                break
        # (Cancelled: by the host, before it was sent.)
        assert statuses <= {"done", "failed", "cancelled"}, statuses
        with r.store.transaction() as tx:
            jobs = tx.list_jobs(username=USER)
        done = [job for job in jobs if job.status == "done"]
        refs = self.r.ref_numbers()
        for job in jobs:  # every job ended done, or failed with a reason
            if job.status != "cancelled":
                assert job.status == "done" or (job.error is not None and job.error.message), job
        done = [job for job in done if job.request_type == "InvoiceAdd"]
        STATS["machines settled"] += 1
        STATS["jobs"] += len(jobs)
        STATS["jobs done"] += len(done)
        STATS["jobs failed"] += len(jobs) - len(done)
        STATS["invoices written"] += len(refs)
        STATS["invoices written twice"] += len(refs) - len(set(refs))
        # Nothing lost, nothing twice: every done job's invoice is in QuickBooks once, and
        # every invoice there is a done job's (or one failed as unconfirmed: check QuickBooks).
        written = Counter(f"inv-{ref}" for ref in refs)
        assert all(written[str(job.key)] == 1 for job in done), (written, done)
        by_key = {job.key: job for job in jobs}
        STATS["other requests"] += sum(job.request_type != "InvoiceAdd" for job in jobs)
        for key in written:
            job = by_key[key]
            unconfirmed = job.error is not None and job.error.code == "unconfirmed"
            assert job.status == "done" or unconfirmed, job

    def teardown(self) -> None:
        # The folder goes even when settle() fails: a failure is replayed and
        # shrunk over hundreds of machines, each with its own folder.
        try:
            if self.rig is not None:
                try:
                    self.settle()
                finally:
                    self.rig.store.close()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


class ServiceMachine(_Conversations):
    """The service under random conversations and faults, and the host's and user's changes."""

    @rule()
    def enqueue_again(self) -> None:
        """The host retries its own enqueue: the key makes it harmless."""
        if self.last_invoice:
            ref = self.last_invoice
            customer = "Nobody Inc" if ref in self.bad else "Acme Corp"
            self.r.service.enqueue(USER, invoice(ref, customer=customer), key=f"inv-{ref}")

    @rule(data=st.data())
    def forget_rendered(self, data: st.DataObject) -> None:
        """A queued job loses its stored qbXML (as after retry): it is rendered when sent."""
        with self.r.store.transaction() as tx:
            kept = [j for j in tx.list_jobs(username=USER, status="pending") if j.qbxml]
            if kept:
                tx.put_job(attrs.evolve(data.draw(st.sampled_from(kept)), qbxml=None))

    # -- the other request types (docs/service.md, "Any request", "Ordering") ----------------

    def _model(self, type_name: str, **fields: Any) -> Any:
        return vocabulary().model(type_name)(**fields)

    @rule(taken=st.booleans(), invoices=st.integers(0, 2))
    def add_customer(self, taken: bool, invoices: int) -> None:
        """A CustomerAdd (perhaps of a name QuickBooks has), with invoices waiting for it."""
        self.refs += 1
        name = "Acme Corp" if taken else f"Customer {self.refs}"
        if taken:
            assert self.lq is not None
            self.lq.customers.setdefault("ACME", _acme(self.lq))
        job = self.r.service.enqueue(
            USER, self._model("CustomerAdd", name=name), key=f"cust-{self.refs}"
        )
        _note(f"CustomerAdd ({'taken' if taken else 'new'}) with {invoices} waiting")
        after = job
        for _ in range(invoices):
            self.refs += 1
            ref = str(self.refs)
            if taken:
                self.bad.add(ref)  # never written: its customer fails
            after = self.r.service.enqueue(
                USER, invoice(ref, customer=name), key=f"inv-{ref}", after=after
            )

    def _done_customers(self) -> list[Any]:
        with self.r.store.transaction() as tx:
            jobs = tx.list_jobs(username=USER, status="done")
        return [job for job in jobs if job.request_type == "CustomerAdd"]

    @rule(data=st.data(), stale=st.booleans())
    def modify_customer(self, data: st.DataObject, stale: bool) -> None:
        """A Mod with the EditSequence it was given (stale: someone changed it since)."""
        done = self._done_customers()
        if not done:
            return
        job = data.draw(st.sampled_from(done))
        assert job.response is not None
        sequence = "0" if stale else job.response.edit_sequence
        self.refs += 1
        mod = self._model("CustomerMod", list_id=job.list_id, edit_sequence=sequence,
                          name=f"Renamed {self.refs}")  # fmt: skip
        self.r.service.enqueue(USER, mod)

    @rule(data=st.data(), cancel=st.booleans())
    def delete_customer(self, data: st.DataObject, cancel: bool) -> None:
        """A ListDel of a customer (perhaps cancelled at once: what waits for it fails)."""
        done = self._done_customers()
        if not done:
            return
        job = data.draw(st.sampled_from(done))
        delete = self.r.service.enqueue(
            USER, self._model("ListDel", list_del_type="Customer", list_id=job.list_id)
        )
        self.r.service.enqueue(USER, self._model("CustomerQuery"), after=delete)
        if cancel:
            self.r.service.cancel(delete.id)

    @rule()
    def query(self) -> None:
        self.r.service.enqueue(USER, self._model("CustomerQuery"))

    @rule(code=st.sampled_from([3175, 3170, 1000]))
    def quickbooks_hiccup(self, code: int) -> None:
        message = "There was an error when saving a Invoice. Could not lock the record."
        self.r.qb.fail_next(code, message)

    @rule(hresult=st.sampled_from(["0x80040414", "0x80040408", "0x80040418"]))
    def cannot_open(self, hresult: str) -> None:
        self.r.qb.fail_open(hresult)

    @rule(hresult=st.sampled_from(["0x80040402", "0x80040422"]))
    def processing_fails(self, hresult: str) -> None:
        self.r.qb.fail_processing(hresult)

    @rule(other=st.booleans())
    def open_company(self, other: bool) -> None:
        self.r.qb.switch_company(self.other if other else None)
        self.other_open = other

    @rule()
    def wrong_password(self) -> None:
        self.r.wc.set_password("not the password")

    @rule()
    def change_password(self) -> None:
        self.password = f"{self.password}!"
        self.r.service.set_password(USER, self.password)
        self.r.wc.set_password(self.password)


class TwoWebConnectorsMachine(_Conversations):
    """
    Only the two Web Connectors, the queue and the clock: their interleavings, densely.

    The second Web Connector's steps are three of the eight rules here (three of
    sixteen in ServiceMachine), so silent sessions, late QuickBooks runs and
    late answers meet the first Web Connector's sessions, faults and restarts
    far more often.
    """


ServiceMachine.TestCase.settings = settings(
    ServiceMachine.TestCase.settings,
    stateful_step_count=20,
    max_examples=min(ServiceMachine.TestCase.settings.max_examples, 25),
    deadline=None,
)
TestServiceMachine = ServiceMachine.TestCase
TestServiceMachine.__doc__ = "Random conversations with faults keep every invariant."

TwoWebConnectorsMachine.TestCase.settings = settings(
    TwoWebConnectorsMachine.TestCase.settings,
    stateful_step_count=30,
    max_examples=min(TwoWebConnectorsMachine.TestCase.settings.max_examples, 25),
    deadline=None,
)
TestTwoWebConnectors = TwoWebConnectorsMachine.TestCase
TestTwoWebConnectors.__doc__ = "A second Web Connector, silent and late, never makes a write twice."


def _acme(lq: ListQuickBooks) -> Any:
    from tests.quickbooks_double import Customer

    return Customer("ACME", "Acme Corp", 1, lq.company_file)


class TestMachineCleanup:
    def test_folder_removed_when_settle_fails(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """teardown() removes the machine's folder even when its final settle() fails."""
        machine = ServiceMachine()
        machine.start(batch=1, attempts=1)

        def never_settles() -> None:
            raise AssertionError("the queue never settled")

        monkeypatch.setattr(machine, "settle", never_settles)
        with pytest.raises(AssertionError, match="never settled"):
            machine.teardown()
        assert not machine.folder.exists()
