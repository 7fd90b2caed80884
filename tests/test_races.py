"""
Exactly once across Web Connectors, disconnects and odd answers; tickets never stored in clear.

Each test replays a scenario reported from outside (issue 10, items 1, 2, 7, 19)
with a Web Connector driven call by call (it can go silent between any two
calls, for as long as the test's clock says), a second one from
``qbwc.testing``, and a QuickBooks double, on every store: memory, SQLite and
PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from qbwc import Disconnection
from qbwc.cli import main
from qbwc.protocol import (
    AnyReply,
    Authenticated,
    Done,
    Failed,
    LastErrorReply,
    NoRequest,
    Progress,
    RequestXML,
)
from qbwc.qbxml._parse import Response
from qbwc.service._recovery import _mismatch
from qbwc.store import Job, JobResponse, MemoryStore, SQLiteStore, Store
from qbwc.testing import FakeQuickBooks, LoseQuickBooksResponse
from tests.rig import OWNER, PASSWORD, REFERENCE, USER, DirectWC, Rig

STORES = ("memory", "sqlite", "postgres")


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    made: Store
    if request.param == "memory":
        made = MemoryStore()
    elif request.param == "sqlite":
        made = SQLiteStore(tmp_path / "qbwc.sqlite")
    else:
        from tests.postgres import fresh_store

        made = fresh_store()
    yield made
    made.close()


def _set_id(qbxml: str) -> str:
    match = re.search(r'newMessageSetID="([^"]+)"', qbxml)
    assert match is not None, qbxml
    return match.group(1)


def _errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


# --- item 1: a silent session, a second Web Connector --------------------------------------


class TestSilentSession:
    def test_takeover_after_busy_timeout_writes_once(self, store: Store) -> None:
        """The reported replay: WC1 silent 121 s, WC2 runs a session, WC1 answers: one invoice."""
        rig = Rig(store)
        (job,) = rig.enqueue("1")
        wc1 = DirectWC(rig)
        assert isinstance(wc1.authenticate(), Authenticated)
        assert "InvoiceAdd" in _require(wc1.request(), RequestXML).qbxml
        rig.clock.advance(121)  # longer than busy_timeout, shorter than session_timeout
        second = rig.run()  # Web Connector 2: same account, same company file
        assert second.status == "Application Busy"
        assert second.requests == ()
        rig.clock.advance(300)
        assert rig.run().status == "Application Busy"  # still: 421 s of silence
        wc1.run_quickbooks()  # QuickBooks runs the original set at last
        assert wc1.answer() == Done()
        done = rig.job(job)
        assert done.status == "done"
        assert [ret.txn_id for ret in rig.qb.find("1")] == [done.txn_id]
        assert isinstance(wc1.close(), object)
        assert rig.run().status == "No Data Exchange"
        assert len(rig.qb.invoices) == 1

    def test_expired_session_answer_after_status_query_changes_nothing(
        self, store: Store, caplog: pytest.LogCaptureFixture
    ) -> None:
        """QuickBooks ran it in time; WC1 expired; WC2 recovers the stored answer; WC1's agrees."""
        rig = Rig(store)
        (job,) = rig.enqueue("1")
        wc1 = DirectWC(rig)
        wc1.authenticate()
        wc1.request()
        wc1.run_quickbooks()
        rig.clock.advance(rig.service.session_timeout + 1)
        second = rig.run()
        assert second.completed, second.errors
        assert "oldMessageSetID" in second.requests[0]
        assert "InvoiceAdd" not in second.requests[0]
        done = rig.job(job)
        assert done.status == "done"
        caplog.set_level(logging.INFO)
        assert wc1.answer() == Done()  # the late answer: recorded already, nothing to do
        assert rig.job(job) == done
        assert _errors(caplog) == []
        assert len(rig.qb.invoices) == 1

    def test_late_answer_while_a_status_query_holds_the_set_is_recorded(
        self, store: Store, caplog: pytest.LogCaptureFixture
    ) -> None:
        """WC2's status query holds the same message-set ID: WC1's late answer is the answer."""
        rig = Rig(store)
        (job,) = rig.enqueue("1")
        wc1 = DirectWC(rig)
        wc1.authenticate()
        wc1.request()
        original = _set_id(wc1.qbxml)
        rig.clock.advance(rig.service.session_timeout + 1)
        wc2 = DirectWC(rig)
        assert isinstance(wc2.authenticate(), Authenticated)
        query = _require(wc2.request(), RequestXML).qbxml
        assert f'oldMessageSetID="{original}"' in query
        assert "InvoiceAdd" not in query
        wc1.run_quickbooks()
        caplog.set_level(logging.INFO)
        assert wc1.answer() == Done()
        done = rig.job(job)
        assert done.status == "done"
        assert [ret.txn_id for ret in rig.qb.find("1")] == [done.txn_id]
        # WC2's QuickBooks answers the status query from its store: the same TxnID.
        wc2.run_quickbooks()
        assert isinstance(wc2.answer(), Progress | Done)
        assert rig.job(job).txn_id == done.txn_id
        assert _errors(caplog) == []
        while isinstance(wc2.request(), RequestXML):  # the clear, then nothing
            wc2.run_quickbooks()
            if wc2.answer() == Done():
                break
        assert len(rig.qb.invoices) == 1
        assert rig.service.jobs(USER, status="sent") == ()

    def test_answer_for_a_set_no_longer_in_flight_is_logged_as_possible_duplicate(
        self, store: Store, caplog: pytest.LogCaptureFixture
    ) -> None:
        """QuickBooks slower than session_timeout: the resend happened; the late answer is shown."""
        rig = Rig(store)
        (job,) = rig.enqueue("1")
        wc1 = DirectWC(rig)
        wc1.authenticate()
        wc1.request()
        rig.clock.advance(rig.service.session_timeout + 1)
        assert rig.run().completed  # 600 (never processed): sent again, done
        resent = rig.job(job)
        assert resent.status == "done"
        wc1.run_quickbooks()  # ...and now QuickBooks runs the first set too
        caplog.set_level(logging.INFO)
        assert wc1.answer() == Failed(code=-1)
        (error,) = _errors(caplog)
        assert "possible duplicate: check QuickBooks" in error
        late_txn = next(r.txn_id for r in rig.qb.invoices if r.txn_id != resent.txn_id)
        assert f"job {job.id}" in error
        assert late_txn in error
        reference = REFERENCE.search(error)
        assert reference is not None
        shown = _require(wc1.last_error(), LastErrorReply).message
        assert reference.group(0) in shown
        assert "Check QuickBooks" in shown
        assert rig.job(job) == resent  # the record is not rewritten

    def test_answer_for_a_forgotten_session_is_logged_with_its_writes(
        self, store: Store, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A day after its session ended, nothing can be recorded; the writes are still named."""
        rig = Rig(store)
        (job,) = rig.enqueue("1")
        wc1 = DirectWC(rig)
        wc1.authenticate()
        wc1.request()
        wc1.run_quickbooks()
        rig.clock.advance(rig.service.session_timeout + 1)
        assert rig.run().completed  # recovered: done
        rig.clock.advance(2 * 86_400)
        assert rig.run().status == "No Data Exchange"  # ...and the old record is purged
        caplog.set_level(logging.INFO)
        assert wc1.answer() == Failed(code=-1)
        (error,) = _errors(caplog)
        assert "possible duplicate: check QuickBooks" in error
        assert f"job {job.id}: InvoiceAddRs {rig.job(job).txn_id}" in error

    def test_replaced_session_without_writes_cannot_send(self, store: Store) -> None:
        """A silent session holding nothing is replaced after busy_timeout; its ticket is dead."""
        rig = Rig(store)
        rig.enqueue("1")
        wc1 = DirectWC(rig)
        wc1.authenticate()  # ...and silent before its first sendRequestXML
        rig.clock.advance(rig.service.busy_timeout + 1)
        assert rig.run().completed
        assert wc1.request() == NoRequest()
        assert len(rig.qb.invoices) == 1


def _require(reply: AnyReply, kind: type[Any]) -> Any:
    assert isinstance(reply, kind), reply
    return reply


# --- item 2: disconnect with a write in flight ---------------------------------------------


class TestDisconnectInFlight:
    def test_write_in_flight_is_never_sent_to_another_file(
        self, store: Store, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Lost answer, disconnect, next sync on another file: nothing there; the job says where."""
        rig = Rig(store)
        (job,) = rig.enqueue("1")
        rig.wc.inject(LoseQuickBooksResponse())
        rig.run()
        assert rig.job(job).status == "sent"
        linked = rig.service.account(USER)
        assert linked is not None
        caplog.set_level(logging.INFO)
        result = rig.service.disconnect(USER)
        assert isinstance(result, Disconnection)
        assert result.account == rig.service.account(USER)
        assert result.account.linked_file_id is None
        (failed,) = result.unconfirmed_jobs
        assert failed == rig.job(job)
        assert failed.status == "failed"
        assert failed.error is not None
        assert failed.error.code == "unconfirmed"
        assert f'"{linked.company_name}" ({linked.company_file})' in failed.error.message
        assert "Check it there, then retry it." in failed.error.message
        assert REFERENCE.fullmatch(failed.error.reference)
        warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert any("failed as unconfirmed" in m and job.id in m for m in warned), warned
        # The next sync runs against another company file (set up for this account).
        other = FakeQuickBooks.sample(company_name="Other Books")
        rig.qb.switch_company(other)
        rig.wc.add_application(rig.qwc(), password=PASSWORD)
        rig.enqueue("2")
        assert rig.run().completed
        assert [ret.ref_number for ret in other.invoices] == ["2"]
        assert rig.job(job) == failed
        assert len(rig.qb.find("1")) == 1  # only where it was first written

    def test_disconnect_ends_the_sessions(self, store: Store) -> None:
        """The session that was handed the set gets nothing more; a new one has nothing to send."""
        rig = Rig(store)
        (job,) = rig.enqueue("1")
        wc1 = DirectWC(rig)
        wc1.authenticate()
        wc1.request()
        (failed,) = rig.service.disconnect(USER).unconfirmed_jobs
        assert failed.id == job.id
        assert wc1.request() == NoRequest()
        assert rig.run().status == "No Data Exchange"  # no busy wait: the session ended
        assert rig.qb.invoices == ()

    def test_late_answer_from_the_old_session_settles_the_unconfirmed_job(
        self, store: Store
    ) -> None:
        """The Web Connector was waiting for QuickBooks at the disconnect; it answers later."""
        rig = Rig(store)
        (job,) = rig.enqueue("1")
        wc1 = DirectWC(rig)
        wc1.authenticate()
        wc1.request()
        rig.service.disconnect(USER)
        assert rig.job(job).status == "failed"
        wc1.run_quickbooks()
        assert wc1.answer() == Done()
        done = rig.job(job)
        assert done.status == "done"
        assert [ret.txn_id for ret in rig.qb.find("1")] == [done.txn_id]

    def test_nothing_in_flight_nothing_failed(self, store: Store) -> None:
        """A disconnect with nothing in flight fails nothing."""
        rig = Rig(store)
        rig.enqueue("1")
        assert rig.service.disconnect(USER).unconfirmed_jobs == ()
        assert rig.service.jobs(USER, status="failed") == ()

    def test_cli_prints_the_unconfirmed_jobs(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """`qbwc account disconnect` lists the jobs that may exist in the old file."""
        db = tmp_path / "qbwc.sqlite"
        sqlite_store = SQLiteStore(db)
        with sqlite_store.transaction() as tx:
            tx.put_setting("owner_id", str(OWNER))
        rig = Rig(sqlite_store)
        (job,) = rig.enqueue("1")
        rig.wc.inject(LoseQuickBooksResponse())
        rig.run()
        sqlite_store.close()
        capsys.readouterr()
        assert main(["account", "disconnect", USER, "--db", str(db)]) == 0
        out = capsys.readouterr().out
        assert "1 job(s) were in flight with the old company file" in out
        row = next(line for line in out.splitlines() if line.startswith(job.id + " "))
        assert "unconfirmed" in row
        assert "failed" in row


# --- item 7: tickets are stored as hashes ----------------------------------------------------


def _strings(value: Any, seen: set[int]) -> Iterator[str]:
    """Every str inside *value*: containers, attrs records (repr=False fields too), objects."""
    if id(value) in seen:
        return
    seen.add(id(value))
    if isinstance(value, str):
        yield value
    elif isinstance(value, bytes):
        yield value.decode("latin-1")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key, seen)
            yield from _strings(item, seen)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from _strings(item, seen)
    elif attrs.has(type(value)):
        for field in attrs.fields(type(value)):
            yield from _strings(getattr(value, field.name), seen)
    elif hasattr(value, "__dict__"):
        yield from _strings(vars(value), seen)


def _everything(store: Store) -> str:
    """All a reader of the database sees: every value (and, for SQLite, the files' bytes)."""
    if isinstance(store, MemoryStore):
        return "\n".join(_strings(vars(store), set()))
    if isinstance(store, SQLiteStore):
        texts = []
        conn = sqlite3.connect(store.path)
        try:
            tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master")]
            for table in tables:
                if conn.execute(
                    "SELECT type FROM sqlite_master WHERE name = ?", (table,)
                ).fetchone() == ("table",):
                    texts.extend(repr(row) for row in conn.execute(f'SELECT * FROM "{table}"'))
        finally:
            conn.close()
        for path in store.path.parent.glob(store.path.name + "*"):  # the file, -wal, -shm
            texts.append(path.read_bytes().decode("latin-1"))
        return "\n".join(texts)
    import psycopg

    from tests.postgres import postgres_dsn

    texts = []
    with psycopg.connect(postgres_dsn(), autocommit=True) as conn:
        tables = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()
        for (table,) in tables:
            texts.extend(repr(row) for row in conn.execute(f'SELECT * FROM "{table}"'))
    return "\n".join(texts)


class TestHashedTickets:
    def test_clear_ticket_is_stored_nowhere(self, store: Store) -> None:
        """At every call of two sessions, no stored byte holds a ticket; the hashes are there."""
        rig = Rig(store, batch_size=1)
        rig.enqueue("1", "2")
        tickets: list[str] = []
        leaks: list[str] = []
        checked = 0

        def spy(call: Any) -> None:
            nonlocal checked
            ticket = getattr(call, "ticket", "")
            if ticket and ticket not in tickets:
                tickets.append(ticket)
            dump = _everything(rig.store)
            checked += 1
            leaks.extend(t for t in tickets if t in dump)

        rig.wc.before_call = spy
        rig.qb.fail_next(3175)  # job 1 waits for a later session (its deferred ticket)
        first = rig.run()
        assert first.completed, first.errors
        rig.wc.inject(LoseQuickBooksResponse())  # job 1 in flight, its session kept
        rig.run()
        assert len(tickets) == 2
        assert checked > 10
        dump = _everything(rig.store)
        assert leaks == []
        assert not [t for t in tickets if t in dump]
        second = hashlib.sha256(tickets[1].encode()).hexdigest()
        assert second in dump  # what is stored instead
        (sent,) = rig.service.jobs(USER, status="sent")
        rig.clock.advance(rig.service.session_timeout + 1)
        assert rig.run().completed  # and the sessions worked: recovered, all done once
        assert rig.job(sent).status == "done"
        assert sorted(r.ref_number or "" for r in rig.qb.invoices) == ["1", "2"]

    def test_forged_ticket_equal_to_the_stored_hash_is_refused(self, store: Store) -> None:
        """Whoever reads the stored hash cannot use it: the call is answered as for no session."""
        rig = Rig(store)
        (job,) = rig.enqueue("1")
        wc1 = DirectWC(rig)
        wc1.authenticate()
        wc1.request()
        wc1.run_quickbooks()
        stored = hashlib.sha256(wc1.ticket.encode()).hexdigest()
        with rig.store.transaction() as tx:
            (record,) = tx.sessions_for(USER)
            in_flight = tx.get_in_flight(USER)
        assert record.ticket == stored
        assert in_flight is not None
        assert in_flight.ticket == stored
        assert wc1.answer(ticket=stored) == Failed(code=-1)
        assert rig.job(job).status == "sent"
        forged = DirectWC(rig)
        forged.ticket = stored
        assert forged.request() == NoRequest()
        assert wc1.answer() == Done()  # the real ticket still works
        assert rig.job(job).status == "done"


# --- item 19: an answer of the wrong type ------------------------------------------------------


def _customer_add_rs(message_set_id: str, request_id: str) -> str:
    """A CustomerAddRs for our request, as another toolkit would build it by hand."""
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<?qbxml version="13.0"?>\n'
        "<QBXML>\n"
        f'  <QBXMLMsgsRs newMessageSetID="{message_set_id}">\n'
        f'    <CustomerAddRs requestID="{request_id}" statusCode="0" statusSeverity="Info" '
        'statusMessage="Status OK">\n'
        "      <CustomerRet>\n"
        "        <ListID>80000031-1767225600</ListID>\n"
        "        <TimeCreated>2026-01-01T00:00:00-08:00</TimeCreated>\n"
        "        <TimeModified>2026-01-01T00:00:00-08:00</TimeModified>\n"
        "        <EditSequence>1767225600</EditSequence>\n"
        "        <Name>Someone Else</Name>\n"
        "        <FullName>Someone Else</FullName>\n"
        "        <IsActive>true</IsActive>\n"
        "        <Sublevel>0</Sublevel>\n"
        "        <Balance>0.00</Balance>\n"
        "        <TotalBalance>0.00</TotalBalance>\n"
        "      </CustomerRet>\n"
        "    </CustomerAddRs>\n"
        "  </QBXMLMsgsRs>\n"
        "</QBXML>\n"
    )


class TestWrongTypeAnswer:
    @pytest.mark.parametrize("saved", [True, False], ids=["saved", "never-ran"])
    def test_customer_add_rs_for_invoice_add_rq_is_never_success(
        self, store: Store, saved: bool, caplog: pytest.LogCaptureFixture
    ) -> None:
        """The replay: a CustomerAddRs answers InvoiceAddRq requestID=1; QuickBooks is asked."""
        rig = Rig(store)
        (job,) = rig.enqueue("1")
        wc = DirectWC(rig)
        wc.authenticate()
        wc.request()
        if saved:
            wc.run_quickbooks()  # QuickBooks did save it; the answer came back wrong
        set_id = _set_id(wc.qbxml)
        caplog.set_level(logging.INFO)
        reply = wc.answer(_customer_add_rs(set_id, job.id))
        assert isinstance(reply, Progress)
        held = rig.job(job)
        assert held.status == "sent"
        assert held.txn_id is None
        assert any("CustomerAddRs" in e and "InvoiceAddRq" in e for e in _errors(caplog))
        # Left in flight: the same session asks QuickBooks first.
        query = _require(wc.request(), RequestXML).qbxml
        assert f'oldMessageSetID="{set_id}"' in query
        assert "InvoiceAdd" not in query
        while True:
            wc.run_quickbooks()
            if wc.answer() == Done():
                break
            if not isinstance(wc.request(), RequestXML):
                break
        done = rig.job(job)
        assert done.status == "done"
        assert done.txn_id is not None
        assert [ret.txn_id for ret in rig.qb.find("1")] == [done.txn_id]

    def test_wrong_type_in_the_stored_answer_fails_unconfirmed(self, store: Store) -> None:
        """QuickBooks' status query answers with the wrong type too: failed, never done."""
        rig = Rig(store)
        (job,) = rig.enqueue("1")
        wc = DirectWC(rig)
        wc.authenticate()
        wc.request()
        set_id = _set_id(wc.qbxml)
        wc.answer(_customer_add_rs(set_id, job.id))
        wc.request()  # the status query
        assert isinstance(wc.answer(_customer_add_rs(set_id, job.id)), Progress)  # the clear next
        failed = rig.job(job)
        assert failed.status == "failed"
        assert failed.error is not None
        assert failed.error.code == "unconfirmed"
        assert "CustomerAddRs" in failed.error.message
        assert "Look for it in QuickBooks" in failed.error.message


_EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
_TYPES = ("InvoiceAdd", "EstimateAdd")
_ANSWERS = ("InvoiceAddRs", "EstimateAddRs", "CustomerAddRs")


@pytest.mark.parametrize("request_type", _TYPES)
@pytest.mark.parametrize("name", _ANSWERS)
@pytest.mark.parametrize("status", [0, 530, 3100])
@pytest.mark.parametrize("txn_id", ["1A-1767225600", None])
def test_an_answer_must_answer_its_request(
    request_type: str, name: str, status: int, txn_id: str | None
) -> None:
    """The rule, over every combination: the request's own Rs, and a TxnID with any success."""
    job = Job(
        id="1",
        username=USER,
        request="{}",
        request_type=request_type,
        created_at=_EPOCH,
        updated_at=_EPOCH,
    )
    response = Response(name=name, request_id="1", status_code=status)
    summary = JobResponse(
        status_code=status, status_severity="Info", status_message="", txn_id=txn_id
    )
    problem = _mismatch(job, response, summary)
    answers = name == f"{request_type}Rs" and (status >= 1000 or txn_id is not None)
    assert (problem is None) == answers, problem
    if name != f"{request_type}Rs":
        assert problem is not None
        assert name in problem
        assert f"{request_type}Rq" in problem
