"""
Any request is a job (docs/service.md, "Any request"): Adds, Mods, Dels, Voids and
queries of any type, their outcomes, error recovery for writes, queries asked again,
and ordering with ``after=`` (docs/service.md, "Ordering").
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from qbwc import Done, Failed, Progress, RequestXML, WebConnectorService
from qbwc.exceptions import ConfigurationError, QBXMLValidationError
from qbwc.qbxml._parse import Response
from qbwc.qbxml._types import vocabulary
from qbwc.service._recovery import _mismatch, _summary_of
from qbwc.store import Job, JobResponse, MemoryStore, SQLiteStore, Store
from qbwc.testing import FakeWebConnector
from qbwc.testing._spec_strategies import request_names
from qbwc.wsgi import make_wsgi_app
from tests.quickbooks_double import Customer, ListQuickBooks
from tests.rig import PASSWORD, REFERENCE, USER, DirectWC, Rig, invoice


def model(type_name: str, /, **fields: Any) -> Any:
    return vocabulary().model(type_name)(**fields)


def customer_add(name: str) -> Any:
    return model("CustomerAdd", name=name)


class ListRig(Rig):
    """The rig with the list double in front of its FakeQuickBooks."""

    def __init__(self, store: Store | None = None, **settings: Any) -> None:
        super().__init__(store, **settings)
        self.lq = ListQuickBooks(self.qb)
        self.wc = FakeWebConnector(make_wsgi_app(self.service), self.lq)
        self.wc.add_application(self.qwc(USER), password=PASSWORD)

    def restart(self, store: Store | None = None) -> None:
        super().restart(store)

    def sync(self) -> None:
        for _ in range(10):
            self.run()
            with self.store.transaction() as tx:
                if not tx.next_pending(USER, limit=1) and tx.get_in_flight(USER) is None:
                    return


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Any) -> Store:
    if request.param == "memory":
        return MemoryStore()
    return SQLiteStore(tmp_path / "q.sqlite")


class TestOutcomes:
    def test_list_add_mod_del(self, store: Store) -> None:
        """CustomerAdd, then a Mod with its EditSequence, then a ListDel: IDs in one shape."""
        done: list[Job] = []
        rig = ListRig(store, on_job_done=done.append)
        add = rig.service.enqueue(USER, customer_add("Zed Corp"), key="c1")
        rig.sync()
        add = rig.job(add)
        assert add.status == "done"
        assert add.list_id is not None
        assert add.list_id.endswith("-1700000000")
        assert add.txn_id is None
        assert add.response is not None
        assert add.response.edit_sequence == "1"
        mod = rig.service.enqueue(
            USER,
            model("CustomerMod", list_id=add.list_id, edit_sequence="1", name="Zed Ltd"),
        )
        rig.sync()
        mod = rig.job(mod)
        assert (mod.status, mod.list_id) == ("done", add.list_id)
        assert mod.response is not None
        assert mod.response.edit_sequence == "2"
        delete = rig.service.enqueue(
            USER, model("ListDel", list_del_type="Customer", list_id=add.list_id)
        )
        rig.sync()
        delete = rig.job(delete)
        assert (delete.status, delete.list_id) == ("done", add.list_id)
        assert add.list_id in rig.lq.deleted
        assert [job.id for job in done] == [add.id, mod.id, delete.id]

    def test_stale_edit_sequence_fails_with_3200(self, store: Store) -> None:
        rig = ListRig(store)
        add = rig.service.enqueue(USER, customer_add("Zed Corp"))
        rig.sync()
        list_id = rig.job(add).list_id
        mod = rig.service.enqueue(
            USER, model("CustomerMod", list_id=list_id, edit_sequence="7", name="Y")
        )
        rig.sync()
        mod = rig.job(mod)
        assert mod.status == "failed"
        assert mod.error is not None
        assert mod.error.code == "3200"
        assert REFERENCE.fullmatch(mod.error.reference)

    def test_void_an_invoice(self, store: Store) -> None:
        rig = ListRig(store)
        (inv,) = rig.enqueue("A-1")
        rig.sync()
        txn_id = rig.job(inv).txn_id
        assert txn_id is not None
        void = rig.service.enqueue(USER, model("TxnVoid", txn_void_type="Invoice", txn_id=txn_id))
        rig.sync()
        void = rig.job(void)
        assert (void.status, void.txn_id) == ("done", txn_id)
        assert rig.lq.voided == {txn_id}

    def test_query_results_and_hook(self, store: Store) -> None:
        pages: list[tuple[Job, tuple[Any, ...]]] = []
        order: list[str] = []
        rig = ListRig(
            store,
            on_query_page=lambda job, rets: (pages.append((job, rets)), order.append("page")),
            on_job_done=lambda job: order.append("done"),
        )
        for name in ("A", "B", "C"):
            rig.service.enqueue(USER, customer_add(f"{name} Corp"))
        query = rig.service.enqueue(USER, model("CustomerQuery"), key="all")
        rig.sync()
        query = rig.job(query)
        assert query.status == "done"
        assert (query.pages, query.records) == (1, 3)
        assert query.response is not None
        assert query.response.ret_count == 3
        names = [ret.name for ret in rig.service.query_results(query.id)]
        assert names == ["A Corp", "B Corp", "C Corp"]
        ((job, rets),) = pages
        assert job.id == query.id
        assert job.status == "done"
        assert [ret.name for ret in rets] == names
        assert order[-2:] == ["page", "done"]

    def test_empty_query(self, store: Store) -> None:
        rig = ListRig(store)
        query = rig.service.enqueue(USER, model("CustomerQuery"))
        rig.sync()
        query = rig.job(query)
        assert (query.status, query.records, query.pages) == ("done", 0, 1)
        assert query.response is not None
        assert query.response.status_code == 1
        assert list(rig.service.query_results(query.id)) == []

    def test_a_hook_that_raises_changes_nothing(self, store: Store) -> None:
        def broken(job: Job, rets: tuple[Any, ...]) -> None:
            raise RuntimeError("host bug")

        rig = ListRig(store, on_query_page=broken)
        query = rig.service.enqueue(USER, model("CustomerQuery"))
        rig.sync()
        assert rig.job(query).status == "done"

    def test_query_results_refusals(self, store: Store) -> None:
        rig = ListRig(store)
        (inv,) = rig.enqueue("A-1")
        with pytest.raises(ConfigurationError, match=r"job_id.*InvoiceAdd, not a query"):
            rig.service.query_results(inv.id)
        with pytest.raises(ConfigurationError, match="job_id: no job 999"):
            rig.service.query_results("999")
        query = rig.service.enqueue(USER, model("CustomerQuery"))
        assert list(rig.service.query_results(query.id)) == []  # not answered yet


class TestEnqueue:
    def test_iterator_is_the_services(self) -> None:
        rig = Rig()
        with pytest.raises(ConfigurationError, match=r"request\.iterator: the service runs"):
            rig.service.enqueue(USER, model("CustomerQuery", iterator="Start"))

    def test_not_a_request(self) -> None:
        rig = Rig()
        with pytest.raises(QBXMLValidationError, match="expected a request model"):
            rig.service.enqueue(USER, model("CustomerRet", list_id="1", name="x"))

    def test_request_newer_than_the_version(self) -> None:
        """The request type's own version counts, not only its fields'."""
        rig = Rig(max_qbxml_version="13.0")
        job = rig.service.enqueue(USER, model("ListDel", list_del_type="Customer", list_id="1"))
        assert job.min_version == "1.1"
        with pytest.raises(QBXMLValidationError, match=r"CurrencyAddRq is not in qbXML 7.0"):
            Rig(max_qbxml_version="7.0").service.enqueue(USER, model("CurrencyAdd", name="X"))

    @pytest.mark.parametrize("after", ["abc", -1, 1.5, "", object()])
    def test_bad_after(self, after: Any) -> None:
        rig = Rig()
        with pytest.raises(ConfigurationError, match=r"after: .* is not a job"):
            rig.service.enqueue(USER, invoice("1"), after=after)

    def test_after_another_accounts_job(self) -> None:
        rig = Rig()
        rig.service.add_account("other", "pw-other-account")
        theirs = rig.service.enqueue("other", invoice("1"))
        with pytest.raises(ConfigurationError, match=r"after: no job .* of account"):
            rig.service.enqueue(USER, invoice("2"), after=theirs)
        with pytest.raises(ConfigurationError, match="after: no job 99 of account"):
            rig.service.enqueue(USER, invoice("2"), after="99")

    def test_key_covers_after(self) -> None:
        rig = Rig()
        first = rig.service.enqueue(USER, invoice("1"))
        job = rig.service.enqueue(USER, invoice("2"), key="k", after=first)
        assert rig.service.enqueue(USER, invoice("2"), key="k", after=first.id) == job
        with pytest.raises(ConfigurationError, match="key: 'k' is already used"):
            rig.service.enqueue(USER, invoice("2"), key="k")


# --- the recovery's checks, for every request type ---------------------------------------


def _rs_for(name: str, *, ok: bool = True, **ids: str) -> Response:
    """A success (or 3100) answer to *name* carrying *ids* in an ErrorRecovery."""
    from qbwc.qbxml._responses import ErrorRecovery

    recovery = ErrorRecovery(**ids) if ids else None
    return Response(
        name=f"{name}Rs",
        request_id="1",
        status_code=0 if ok else 3100,
        status_severity="Info" if ok else "Error",
        error_recovery=recovery,
    )


def _job(name: str, request: dict[str, Any]) -> Job:
    import datetime as dt

    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    text = json.dumps({"type": name, **request})
    return Job(id="1", username="u", request=text, request_type=name, created_at=now,
               updated_at=now)  # fmt: skip


def _carries(name: str) -> str | None:
    """Which ID a success of *name* must carry: the rule of docs/service.md, restated."""
    if name in ("ListDel",):
        return "list_id"
    if name in ("TxnDel", "TxnVoid"):
        return "txn_id"
    if not name.endswith(("Add", "Mod")):
        return None
    tables = vocabulary()
    import attrs

    found = {
        field
        for ret in tables.RESPONSES[f"{name}Rs"]
        for field in ("list_id", "txn_id")
        if field in attrs.fields_dict(tables.model(ret))
    }
    return found.pop() if len(found) == 1 else ("either" if found else None)


@pytest.mark.parametrize("name", request_names())
def test_every_request_types_answer_is_checked(name: str) -> None:
    """Another Rs never answers; a write's success carries its ID; a query needs none."""
    job = _job(name, {})
    other = "CustomerAddRs" if name != "CustomerAdd" else "VendorAddRs"
    wrong = Response(name=other, request_id="1", status_code=0)
    assert _mismatch(job, wrong, _summary_of(wrong)) is not None
    bare = _rs_for(name)
    problem = _mismatch(job, bare, _summary_of(bare))
    needs = _carries(name)
    assert (problem is not None) == (needs is not None), (name, problem)
    failed = _rs_for(name, ok=False)
    assert _mismatch(job, failed, _summary_of(failed)) is None  # a refusal proves itself
    if needs is not None:
        field = "txn_id" if needs == "either" else needs
        answered = _rs_for(name, **{field: "80000001-1"})
        assert _mismatch(job, answered, _summary_of(answered)) is None
        if name.endswith(("Mod", "Del", "Void")):
            other_object = _job(name, {field: "80000002-1"})
            problem = _mismatch(other_object, answered, _summary_of(answered))
            assert problem is not None
            assert "request was for 80000002-1" in problem


# --- the Web Connector one call at a time: lost answers, hand-made answers -----------------


def _wc(rig: ListRig) -> DirectWC:
    wc = DirectWC(rig, rig.qb)
    wc.qb = rig.lq  # type: ignore[assignment]
    return wc


def _session(rig: ListRig) -> DirectWC:
    wc = _wc(rig)
    wc.authenticate()
    return wc


class TestRecovery:
    def test_lost_query_answer_is_asked_again(self) -> None:
        """A query in a set whose answer was lost goes back to pending, and is asked again."""
        rig = ListRig()
        rig.service.enqueue(USER, customer_add("A Corp"))
        rig.sync()
        query = rig.service.enqueue(USER, model("CustomerQuery"))
        wc = _session(rig)
        assert isinstance(wc.request(), RequestXML)
        wc.run_quickbooks()  # ... and the answer never comes back
        rig.clock.advance(rig.service.session_timeout + 1)
        rig.sync()
        query = rig.job(query)
        assert query.status == "done", query
        assert query.attempts == 2
        assert [ret.name for ret in rig.service.query_results(query.id)] == ["A Corp"]

    def test_lost_list_add_is_recovered_not_written_twice(self) -> None:
        rig = ListRig()
        add = rig.service.enqueue(USER, customer_add("A Corp"))
        wc = _session(rig)
        assert isinstance(wc.request(), RequestXML)
        wc.run_quickbooks()
        rig.clock.advance(rig.service.session_timeout + 1)
        rig.sync()
        add = rig.job(add)
        assert add.status == "done"
        assert add.list_id == next(iter(rig.lq.customers))
        assert [r.request_type for r in rig.lq.ran] == ["CustomerAdd"]  # once

    def test_answer_without_the_deleted_id_proves_nothing(self) -> None:
        rig = ListRig()
        add = rig.service.enqueue(USER, customer_add("A Corp"))
        rig.sync()
        list_id = rig.job(add).list_id
        request = model("ListDel", list_del_type="Customer", list_id=list_id)
        delete = rig.service.enqueue(USER, request)
        wc = _session(rig)
        assert isinstance(wc.request(), RequestXML)
        wc.run_quickbooks()
        bogus = wc.response.replace(f"<ListID>{list_id}</ListID>", "<ListID>1-1</ListID>")
        assert bogus != wc.response
        assert isinstance(wc.answer(bogus), Progress | Done)
        job = rig.job(delete)
        assert job.status == "sent"  # still in flight: QuickBooks is asked next time
        wc.close()
        rig.sync()
        job = rig.job(delete)
        assert job.status == "done"  # the stored answer names the right customer
        assert job.list_id == list_id


# --- ordering -------------------------------------------------------------------------------


def _taken(rig: ListRig) -> None:
    """QuickBooks already has a customer named "Taken Corp"."""
    rig.lq.customers["TAKEN"] = Customer("TAKEN", "Taken Corp", 1, rig.lq.company_file)
    rig.qb.add_customer("Taken Corp")


class TestOrdering:
    def test_invoice_waits_for_its_customer(self, store: Store) -> None:
        rig = ListRig(store, batch_size=3)
        customer = rig.service.enqueue(USER, customer_add("New Corp"))
        inv = rig.service.enqueue(USER, invoice("N-1", customer="New Corp"), after=customer)
        rig.enqueue("A-1")  # no dependency: keeps its place
        with rig.store.transaction() as tx:
            ready = [j.id for j in tx.next_pending(USER, limit=5)]
        assert ready == [customer.id, str(int(inv.id) + 1)]
        rig.sync()
        assert rig.job(customer).status == "done"
        inv = rig.job(inv)
        assert inv.status == "done", inv
        assert inv.after == customer.id
        assert sorted(r for r in rig.ref_numbers()) == ["A-1", "N-1"]

    def test_dependency_fails_so_does_the_job(self, store: Store) -> None:
        failed: list[Job] = []
        rig = ListRig(store, on_job_failed=failed.append)
        _taken(rig)
        customer = rig.service.enqueue(USER, customer_add("Taken Corp"))
        inv = rig.service.enqueue(USER, invoice("T-1", customer="Taken Corp"), after=customer)
        again = rig.service.enqueue(USER, invoice("T-2", customer="Taken Corp"), after=inv)
        rig.sync()
        assert rig.job(customer).error.code == "3100"  # type: ignore[union-attr]
        for queued in (inv, again):
            job = rig.job(queued)
            assert job.status == "failed"
            assert job.error is not None
            assert job.error.code == "dependency"
            assert REFERENCE.fullmatch(job.error.reference)
            assert job.attempts == 0  # never sent
        assert f"job {customer.id} (CustomerAdd)" in rig.job(inv).error.message  # type: ignore[union-attr]
        assert f"job {inv.id} (InvoiceAdd)" in rig.job(again).error.message  # type: ignore[union-attr]
        assert rig.ref_numbers() == []
        assert [job.id for job in failed] == [customer.id, inv.id, again.id]

    def test_retrying_the_dependency_brings_its_jobs_back(self, store: Store) -> None:
        rig = ListRig(store)
        _taken(rig)
        customer = rig.service.enqueue(USER, customer_add("Taken Corp"))
        inv = rig.service.enqueue(USER, invoice("T-1", customer="Taken Corp"), after=customer)
        rig.sync()
        with pytest.raises(ConfigurationError, match=f"retry job {customer.id}"):
            rig.service.retry(inv.id)
        del rig.lq.customers["TAKEN"]  # the user renamed it in QuickBooks
        rig.service.retry(customer.id)
        assert rig.job(inv).status == "pending"
        rig.sync()
        assert rig.job(customer).status == "done"
        assert rig.job(inv).status == "done"

    def test_cancelled_dependency(self, store: Store) -> None:
        failed: list[Job] = []
        rig = ListRig(store, on_job_failed=failed.append)
        customer = rig.service.enqueue(USER, customer_add("New Corp"))
        inv = rig.service.enqueue(USER, invoice("N-1", customer="New Corp"), after=customer)
        rig.service.cancel(customer.id)
        inv = rig.job(inv)
        assert inv.status == "failed"
        assert inv.error is not None
        assert "was cancelled" in inv.error.message
        assert [job.id for job in failed] == [inv.id]
        with pytest.raises(ConfigurationError, match="cancelled; it can never be sent"):
            rig.service.retry(inv.id)
        later = rig.service.enqueue(USER, invoice("N-2", customer="New Corp"), after=customer)
        assert later.status == "failed"
        assert later.error is not None
        assert later.error.code == "dependency"
        rig.sync()
        assert rig.lq.ran == []
        assert rig.ref_numbers() == []

    def test_done_dependency_pruned(self, store: Store) -> None:
        import datetime as dt

        rig = ListRig(store)
        first = rig.service.enqueue(USER, invoice("P-1"))
        rig.sync()
        second = rig.service.enqueue(USER, invoice("P-2"), after=first)
        rig.clock.advance(3600)
        assert rig.service.prune(older_than=dt.timedelta(minutes=1)) == 1
        rig.sync()
        assert rig.job(second).status == "done"


_DEL_ANSWERS = {
    "ListDel": (
        "<ListDelType>Customer</ListDelType><ListID>80000001-1</ListID>"
        "<TimeDeleted>2026-01-01T00:00:00+00:00</TimeDeleted><FullName>A</FullName>"
    ),
    "TxnDel": (
        "<TxnDelType>Invoice</TxnDelType><TxnID>80000001-1</TxnID>"
        "<TimeDeleted>2026-01-01T00:00:00+00:00</TimeDeleted><RefNumber>7</RefNumber>"
    ),
    "TxnVoid": (
        "<TxnVoidType>Invoice</TxnVoidType><TxnID>80000001-1</TxnID>"
        "<TimeModified>2026-01-01T00:00:00+00:00</TimeModified><RefNumber>7</RefNumber>"
    ),
}


@pytest.mark.parametrize("name", sorted(_DEL_ANSWERS))
@pytest.mark.parametrize("summary", [True, False])
def test_summary_of_a_del_answer(name: str, summary: bool) -> None:
    """A ListDelRs, TxnDelRs or TxnVoidRs names its object in its typed (inline) Ret."""
    from qbwc.qbxml import parse_response
    from qbwc.qbxml._parse import parse_response_summary

    document = (
        '<?xml version="1.0" ?><QBXML><QBXMLMsgsRs>'
        f'<{name}Rs requestID="1" statusCode="0" statusSeverity="Info" '
        f'statusMessage="Status OK">{_DEL_ANSWERS[name]}</{name}Rs></QBXMLMsgsRs></QBXML>'
    )
    parse = parse_response_summary if summary else parse_response
    (response,) = parse(document).responses
    assert type(response.ret).__name__ == f"{name}Ret"
    assert response.raw is None
    field = "list_id" if name == "ListDel" else "txn_id"
    found = _summary_of(response)
    assert found == JobResponse(
        status_code=0,
        status_severity="Info",
        status_message="Status OK",
        ref_number=None if name == "ListDel" else "7",
        full_name="A" if name == "ListDel" else None,
        **{field: "80000001-1"},
    )
    assert _mismatch(_job(name, {field: "80000001-1"}), response, found) is None
    problem = _mismatch(_job(name, {field: "80000002-1"}), response, found)
    assert problem is not None
    assert "request was for 80000002-1" in problem
    # Without the ID (a Ret of other fields only), the answer does not settle the job.
    empty = f"<{_tag(field)}></{_tag(field)}>"
    other = parse(document.replace("80000001-1", "").replace(empty, ""))
    (bare,) = other.responses
    assert bare.ret is not None
    problem = _mismatch(_job(name, {field: "80000001-1"}), bare, _summary_of(bare))
    assert problem is not None
    assert "did not say" in problem


def _tag(field: str) -> str:
    return "ListID" if field == "list_id" else "TxnID"


_ = (Failed, WebConnectorService)
