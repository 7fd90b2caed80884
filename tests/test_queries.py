"""
Paged queries (QuickBooks iterators) and Mods without EditSequence (docs/queries.md),
through the service, the Web Connector double and FakeQuickBooks.
"""

from __future__ import annotations

import re
from typing import Any

import attrs
import pytest

from qbwc.exceptions import ConfigurationError, QBXMLValidationError
from qbwc.qbxml import build_request, render_request
from qbwc.qbxml._types import vocabulary
from qbwc.service._paging import MAX_PAGE_SIZE
from qbwc.store import Job, MemoryStore, SQLiteStore, Store
from qbwc.testing import Crash, FakeQuickBooks, FakeWebConnector, LoseQuickBooksResponse
from qbwc.wsgi import make_wsgi_app
from tests.rig import PASSWORD, USER, Rig

EDIT_SEQUENCE_MODS = sorted(
    name
    for name in vocabulary().REQUESTS
    if name.endswith("Mod") and "edit_sequence" in attrs.fields_dict(vocabulary().model(name))
)
# Mods QuickBooks has no query for (qbXML 16): their EditSequence cannot be read.
REFUSED = frozenset(
    {
        "PayrollItemAdditionMod",
        "PayrollItemCompanyContributionMod",
        "PayrollItemDeductionMod",
        "PayrollItemDirectDepositMod",
        "PayrollItemTaxMod",
        "PayrollItemWorkersCompensationMod",
    }
)


def model(type_name: str, /, **fields: Any) -> Any:
    return vocabulary().model(type_name)(**fields)


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Any) -> Store:
    if request.param == "memory":
        return MemoryStore()
    return SQLiteStore(tmp_path / "q.sqlite")


class Meddler:
    """
    FakeQuickBooks, and someone at the QuickBooks desk: after a read of an
    EditSequence (the service's own query before a Mod), *changes* queued
    customer names are changed in QuickBooks, one per read: the Mod that
    follows is out of date (3200).
    """

    def __init__(self, inner: FakeQuickBooks) -> None:
        self.inner = inner
        self.changes: list[str] = []  # ListIDs to change after the next reads
        self.requests: list[str] = []
        self.cut_after: int | None = None  # the next session ends after this many sets
        self.wc: FakeWebConnector | None = None
        self.in_session = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def open(self, company_file: str) -> None:
        self.in_session = 0
        self.inner.open(company_file)

    def process_request(self, qbxml: str) -> str:
        self.requests.append(qbxml)
        self.in_session += 1
        if self.in_session == self.cut_after and self.wc is not None:
            self.cut_after = None
            self.wc.inject(Crash(operation="receiveResponseXML"))
        answer = self.inner.process_request(qbxml)
        read = "<IncludeRetElement>EditSequence</IncludeRetElement>" in qbxml
        # (The desk's edit waits while faults are queued: it would take one.)
        if read and self.changes and not self.inner.pending_faults:
            change(self.inner, self.changes.pop(0))
        return answer


def customer(qb: FakeQuickBooks, list_id: str) -> Any:
    return next(c for c in qb.records("Customer") if c.list_id == list_id)


def change(qb: FakeQuickBooks, list_id: str) -> None:
    """Someone edits the customer in QuickBooks (its EditSequence moves on), if it still exists."""
    now = next((c for c in qb.records("Customer") if c.list_id == list_id), None)
    if now is None:  # deleted at the desk meanwhile: there is nothing to edit
        return
    mod = model(
        "CustomerMod",
        list_id=list_id,
        edit_sequence=now.edit_sequence,
        company_name=f"{now.name} (edited)",
    )
    answer = qb.process_request(build_request([("desk", mod)]).decode())
    assert 'statusCode="0"' in answer


class QueryRig(Rig):
    def __init__(self, store: Store | None = None, **settings: Any) -> None:
        super().__init__(store, **settings)
        self.meddler = Meddler(self.qb)
        self.wc = FakeWebConnector(make_wsgi_app(self.service), self.meddler)
        self.wc.add_application(self.qwc(USER), password=PASSWORD)
        self.meddler.wc = self.wc

    def cut_session(self, after: int) -> Any:
        """A session that ends after *after* message sets."""
        self.meddler.cut_after = after
        return self.next_session()

    def next_session(self) -> Any:
        self.clock.advance(3600)  # the last one (cut off) has expired
        return self.run()

    def sync(self, sessions: int = 10) -> None:
        for _ in range(sessions):
            self.next_session()
            with self.store.transaction() as tx:
                if not tx.next_pending(USER, limit=1) and tx.get_in_flight(USER) is None:
                    return


def seed_customers(qb: FakeQuickBooks, count: int, prefix: str = "C") -> None:
    qb.seed(Customer=[{"name": f"{prefix}{i:05d}"} for i in range(count)])


def names(rig: Rig, job: Job) -> list[str]:
    return [ret.name for ret in rig.service.query_results(job.id)]


def qb_names(qb: FakeQuickBooks) -> list[str]:
    return [ret.name for ret in qb.records("Customer")]


# -- paged queries ---------------------------------------------------------------------------


class TestPages:
    def test_every_record_once_in_order(self, store: Store) -> None:
        """A paged query: iterator Start, then Continue until nothing remains; pages in order."""
        pages: list[tuple[str, int, int]] = []
        done: list[Job] = []
        rig = QueryRig(
            store,
            on_query_page=lambda job, rets: pages.append((job.status, job.records, len(rets))),
            on_job_done=done.append,
        )
        seed_customers(rig.qb, 1050)
        job = rig.service.enqueue(USER, model("CustomerQuery"), page_size=100)
        assert job.page_size == 100
        assert job.qbxml is None  # rendered for each round
        rig.sync()
        job = rig.job(job)
        expected = qb_names(rig.qb)
        assert job.status == "done"
        assert job.records == len(expected)
        assert job.pages == -(-len(expected) // 100)
        assert job.response is not None
        assert job.response.ret_count == len(expected)
        assert job.response.iterator_id is None
        assert names(rig, job) == expected
        assert [n for _, _, n in pages] == [100] * (len(expected) // 100) + [len(expected) % 100]
        assert [r for _, r, _ in pages] == [min(100 * (i + 1), len(expected)) for i in range(11)]
        assert pages[-1][0] == "done"
        assert [status for status, _, _ in pages[:-1]] == ["pending"] * 10
        assert [j.id for j in done] == [job.id]
        sent = [r for r in rig.meddler.requests if "CustomerQueryRq" in r]
        assert 'iterator="Start"' in sent[0]
        assert all('iterator="Continue"' in r for r in sent[1:])
        assert all("<MaxReturned>100</MaxReturned>" in r for r in sent)
        assert rig.qb.open_iterators == 0

    def test_without_page_size_one_answer(self, store: Store) -> None:
        rig = QueryRig(store)
        seed_customers(rig.qb, 30)
        job = rig.service.enqueue(USER, model("CustomerQuery"))
        rig.sync()
        assert rig.job(job).pages == 1
        assert names(rig, job) == qb_names(rig.qb)
        assert "iterator" not in "".join(rig.meddler.requests)

    def test_empty_result(self, store: Store) -> None:
        """QuickBooks finds nothing (status 1): the query is done with no page."""
        rig = QueryRig(store)
        query = model(
            "CustomerQuery",
            name_filter=model("NameFilter", match_criterion="StartsWith", name="zzz"),
        )
        job = rig.service.enqueue(USER, query, page_size=10)
        rig.sync()
        job = rig.job(job)
        assert (job.status, job.records, job.pages) == ("done", 0, 0)
        assert names(rig, job) == []

    @pytest.mark.parametrize("cut", [1, 2, 5])
    def test_cut_off_session_starts_again_without_duplicates(self, store: Store, cut: int) -> None:
        """The session ends after *cut* pages: the next one starts again and skips them."""
        rig = QueryRig(store)
        seed_customers(rig.qb, 640)
        job = rig.service.enqueue(USER, model("CustomerQuery"), page_size=50)
        rig.cut_session(cut)
        assert rig.job(job).records == 50 * cut
        # The next session starts again, skips what was delivered (cut pages), and is
        # cut off again two pages after those.
        rig.cut_session(cut + 2)
        assert rig.job(job).records == 50 * (cut + 2)
        rig.sync()
        job = rig.job(job)
        assert job.status == "done"
        assert names(rig, job) == qb_names(rig.qb)

    def test_records_added_and_deleted_meanwhile(self, store: Store) -> None:
        """
        After the cut, a record before it is deleted and one is added: the last
        delivered record is found by its ID (not by count); none twice, none lost.
        """
        rig = QueryRig(store)
        seed_customers(rig.qb, 300)
        job = rig.service.enqueue(USER, model("CustomerQuery"), page_size=40)
        rig.cut_session(3)
        delivered = names(rig, job)
        assert len(delivered) == rig.job(job).records == 120
        first = customer_id(rig.qb, delivered[3])
        rig.qb.process_request(
            build_request([model("ListDel", list_del_type="Customer", list_id=first)]).decode()
        )
        rig.qb.seed(Customer=[{"name": "Late Arrival"}])
        rig.sync()
        job = rig.job(job)
        assert job.status == "done"
        got = names(rig, job)
        assert len(got) == len(set(got))
        assert got[:120] == delivered
        assert got[120:] == [n for n in qb_names(rig.qb) if n not in set(delivered)]
        assert "Late Arrival" in got

    def test_last_delivered_record_deleted_fails_with_reason(self, store: Store) -> None:
        """The record to resume after is gone: the job fails, naming what to do."""
        rig = QueryRig(store)
        seed_customers(rig.qb, 200)
        job = rig.service.enqueue(USER, model("CustomerQuery"), page_size=50)
        rig.wc.inject(Crash(operation="receiveResponseXML"))
        rig.next_session()
        last = names(rig, job)[-1]
        rig.qb.process_request(
            build_request(
                [
                    model("ListDel", list_del_type="Customer", list_id=customer_id(rig.qb, last)),
                ]
            ).decode()
        )
        rig.sync()
        job = rig.job(job)
        assert job.status == "failed"
        assert job.error is not None
        assert job.error.code == "changed"
        assert "retry the job" in job.error.message
        assert job.records == 50  # what was delivered stays
        rig.service.retry(job.id)
        rig.sync()
        job = rig.job(job)
        assert job.status == "done"
        assert names(rig, job) == qb_names(rig.qb)

    def test_lost_answer_starts_again(self, store: Store) -> None:
        """QuickBooks ran a Continue but its answer was lost: start again, skip, go on."""
        rig = QueryRig(store)
        seed_customers(rig.qb, 400)
        job = rig.service.enqueue(USER, model("CustomerQuery"), page_size=60)
        rig.qb.lose_next_response()  # the first page's answer
        rig.next_session()
        rig.sync()
        job = rig.job(job)
        assert job.status == "done"
        assert names(rig, job) == qb_names(rig.qb)

    def test_lost_continue_answer(self, store: Store) -> None:
        rig = QueryRig(store)
        seed_customers(rig.qb, 400)
        job = rig.service.enqueue(USER, model("CustomerQuery"), page_size=60)
        rig.wc.inject(Crash(operation="receiveResponseXML"))
        rig.next_session()
        rig.wc.inject(LoseQuickBooksResponse())
        rig.next_session()
        rig.sync()
        job = rig.job(job)
        assert job.status == "done"
        assert names(rig, job) == qb_names(rig.qb)

    def test_invalid_iterator_starts_again(self, store: Store) -> None:
        """Status 3391 (the iteratorID is not valid) on a Continue: start again, skip."""
        rig = QueryRig(store)
        seed_customers(rig.qb, 250)
        job = rig.service.enqueue(USER, model("CustomerQuery"), page_size=50)
        original = rig.meddler.process_request
        calls = [0]

        def expire(qbxml: str) -> str:
            calls[0] += 1
            if 'iterator="Continue"' in qbxml and calls[0] == 4:
                rig.qb.close()  # QuickBooks dropped the iterator
            return original(qbxml)

        rig.meddler.process_request = expire  # type: ignore[method-assign]
        rig.sync()
        job = rig.job(job)
        assert job.status == "done"
        assert names(rig, job) == qb_names(rig.qb)
        assert any('iterator="Start"' in r for r in rig.meddler.requests[3:])

    def test_other_jobs_between_pages(self, store: Store) -> None:
        """Writes queued with a paged query go out with its pages; all are done."""
        rig = QueryRig(store)
        seed_customers(rig.qb, 120)
        job = rig.service.enqueue(USER, model("CustomerQuery"), page_size=50)
        adds = [rig.service.enqueue(USER, model("CustomerAdd", name=f"New {i}")) for i in range(3)]
        rig.sync()
        assert rig.job(job).status == "done"
        assert all(rig.job(a).status == "done" for a in adds)
        assert len(set(names(rig, job))) == len(names(rig, job))

    def test_retry_reads_again_from_nothing(self, store: Store) -> None:
        rig = QueryRig(store)
        seed_customers(rig.qb, 90)
        job = rig.service.enqueue(USER, model("CustomerQuery"), page_size=40)
        rig.qb.fail_next(3100)  # a permanent error on the first page
        rig.sync()
        assert rig.job(job).status == "failed"
        rig.service.retry(job.id)
        rig.sync()
        assert names(rig, job) == qb_names(rig.qb)


def customer_id(qb: FakeQuickBooks, name: str) -> str:
    return str(next(c.list_id for c in qb.records("Customer") if c.name == name))


class TestPageSizeRules:
    @pytest.mark.parametrize(
        ("request_model", "page_size", "rule"),
        [
            ("CustomerQuery", 0, "must be an int from 1 to 10,000"),
            ("CustomerQuery", MAX_PAGE_SIZE + 1, "must be an int from 1 to 10,000"),
            ("CustomerQuery", True, "must be an int"),
            ("CustomerQuery", "10", "must be an int"),
            ("CustomerAdd", 10, "only a query is paged"),
            ("CompanyQuery", 10, "has no iterator"),
        ],
    )
    def test_refused(self, request_model: str, page_size: Any, rule: str) -> None:
        rig = QueryRig()
        fields = {"name": "X"} if request_model == "CustomerAdd" else {}
        with pytest.raises(ConfigurationError) as info:
            rig.service.enqueue(USER, model(request_model, **fields), page_size=page_size)
        assert info.value.field == "page_size"
        assert rule in info.value.rule

    def test_max_returned_and_page_size(self) -> None:
        rig = QueryRig()
        with pytest.raises(ConfigurationError, match="not both") as info:
            rig.service.enqueue(USER, model("CustomerQuery", max_returned=5), page_size=10)
        assert info.value.field == "page_size"

    def test_same_key_other_page_size(self) -> None:
        rig = QueryRig()
        rig.service.enqueue(USER, model("CustomerQuery"), key="q", page_size=10)
        with pytest.raises(ConfigurationError) as info:
            rig.service.enqueue(USER, model("CustomerQuery"), key="q", page_size=20)
        assert info.value.field == "key"
        again = rig.service.enqueue(USER, model("CustomerQuery"), key="q", page_size=10)
        assert again.page_size == 10


# -- Mods without EditSequence ---------------------------------------------------------------


def acme_id(rig: Rig) -> str:
    return customer_id(rig.qb, "Acme Corp")


class TestMods:
    def test_reads_edit_sequence_first(self, store: Store) -> None:
        """The service reads the EditSequence in a round of its own, then sends the Mod."""
        rig = QueryRig(store)
        list_id = acme_id(rig)
        before = customer(rig.qb, list_id).edit_sequence
        job = rig.service.enqueue(
            USER, model("CustomerMod", list_id=list_id, company_name="Acme Ltd")
        )
        assert job.qbxml is None
        rig.sync()
        job = rig.job(job)
        assert job.status == "done", job.error
        assert job.list_id == list_id
        after = customer(rig.qb, list_id)
        assert after.company_name == "Acme Ltd"
        assert job.response is not None
        assert job.response.edit_sequence == after.edit_sequence != before
        assert job.attempts == 1
        sets = [r for r in rig.meddler.requests if "Customer" in r]
        assert len(sets) == 2
        assert "<CustomerQueryRq" in sets[0]
        assert "CustomerModRq" not in sets[0]  # its own round
        assert f"<EditSequence>{before}</EditSequence>" in sets[1]

    def test_invoice_mod(self, store: Store) -> None:
        """A transaction Mod: read by TxnID."""
        rig = QueryRig(store)
        rig.enqueue("A-1")
        rig.sync()
        txn_id = rig.qb.invoices[0].txn_id
        job = rig.service.enqueue(USER, model("InvoiceMod", txn_id=txn_id, memo="checked"))
        rig.sync()
        job = rig.job(job)
        assert job.status == "done", job.error
        assert job.txn_id == txn_id
        assert rig.qb.invoices[0].memo == "checked"
        assert any(
            "<InvoiceQueryRq" in r and f"<TxnID>{txn_id}</TxnID>" in r for r in rig.meddler.requests
        )

    def test_out_of_date_once_reads_again(self, store: Store) -> None:
        """Someone edits the customer between the read and the Mod: 3200, read again, done."""
        rig = QueryRig(store)
        list_id = acme_id(rig)
        rig.meddler.changes.append(list_id)
        job = rig.service.enqueue(
            USER, model("CustomerMod", list_id=list_id, company_name="Acme Ltd")
        )
        rig.sync()
        job = rig.job(job)
        assert job.status == "done", job.error
        assert customer(rig.qb, list_id).company_name == "Acme Ltd"
        mods = [r for r in rig.meddler.requests if "CustomerModRq" in r]
        assert len(mods) == 2
        reads = [r for r in rig.meddler.requests if "<IncludeRetElement>EditSequence" in r]
        assert len(reads) == 2

    def test_out_of_date_twice_fails_with_reason(self, store: Store) -> None:
        failed: list[Job] = []
        rig = QueryRig(store, on_job_failed=failed.append)
        list_id = acme_id(rig)
        rig.meddler.changes += [list_id, list_id]
        job = rig.service.enqueue(
            USER, model("CustomerMod", list_id=list_id, company_name="Acme Ltd")
        )
        rig.sync()
        job = rig.job(job)
        assert job.status == "failed"
        assert job.error is not None
        assert job.error.code == "3200"
        assert f"ListID {list_id} was changed in QuickBooks meanwhile" in job.error.message
        assert "retry the job" in job.error.message
        assert customer(rig.qb, list_id).company_name != "Acme Ltd"
        assert [j.id for j in failed] == [job.id]
        # Retrying reads it again (and may 3200 once more before giving up).
        rig.service.retry(job.id)
        rig.sync()
        assert rig.job(job).status == "done"
        assert customer(rig.qb, list_id).company_name == "Acme Ltd"

    def test_deleted_object(self, store: Store) -> None:
        """The object was deleted in QuickBooks: the job fails, nothing is sent."""
        rig = QueryRig(store)
        rig.qb.seed(Customer=[{"name": "Short Lived"}])
        list_id = customer_id(rig.qb, "Short Lived")
        job = rig.service.enqueue(USER, model("CustomerMod", list_id=list_id, company_name="X"))
        delete = build_request([model("ListDel", list_del_type="Customer", list_id=list_id)])
        assert 'statusCode="0"' in rig.qb.process_request(delete.decode())
        rig.sync()
        job = rig.job(job)
        assert job.status == "failed"
        assert job.error is not None
        assert job.error.code == "missing"
        assert list_id in job.error.message
        assert not any("CustomerModRq" in r for r in rig.meddler.requests)

    def test_read_answer_lost(self, store: Store) -> None:
        """The read's answer is lost: read again next session; the Mod is sent once."""
        rig = QueryRig(store)
        list_id = acme_id(rig)
        job = rig.service.enqueue(USER, model("CustomerMod", list_id=list_id, company_name="X"))
        rig.wc.inject(LoseQuickBooksResponse())
        rig.next_session()
        assert rig.job(job).status == "pending"
        rig.sync()
        job = rig.job(job)
        assert job.status == "done", job.error
        assert len([r for r in rig.meddler.requests if "CustomerModRq" in r]) == 1

    def test_mod_answer_lost_recovered_once(self, store: Store) -> None:
        """The Mod's answer is lost: error recovery finds it saved; it is not sent again."""
        rig = QueryRig(store)
        list_id = acme_id(rig)
        job = rig.service.enqueue(USER, model("CustomerMod", list_id=list_id, company_name="X"))
        seen = [0]
        original = rig.meddler.process_request

        def lose_mod(qbxml: str) -> str:
            answer = original(qbxml)
            if "CustomerModRq" in qbxml and not seen[0]:
                seen[0] += 1
                rig.wc.inject(LoseQuickBooksResponse())
            return answer

        rig.meddler.process_request = lose_mod  # type: ignore[method-assign]
        rig.sync()
        job = rig.job(job)
        assert job.status == "done", job.error
        assert len([r for r in rig.meddler.requests if "CustomerModRq" in r]) == 1

    def test_read_then_session_ends_reads_again(self, store: Store) -> None:
        """An EditSequence read holds in its session only: a new one reads it again."""
        rig = QueryRig(store)
        list_id = acme_id(rig)
        job = rig.service.enqueue(USER, model("CustomerMod", list_id=list_id, company_name="X"))
        rig.wc.inject(Crash(operation="receiveResponseXML"))
        rig.next_session()  # the read is recorded, then the session ends
        assert rig.job(job).response is not None
        rig.meddler.changes.append(list_id)  # ...and someone edits it meanwhile
        change(rig.qb, list_id)
        rig.sync()
        job = rig.job(job)
        assert job.status == "done", job.error
        reads = [r for r in rig.meddler.requests if "<IncludeRetElement>EditSequence" in r]
        assert len(reads) >= 2

    def test_with_edit_sequence_unchanged(self, store: Store) -> None:
        """A Mod with its EditSequence is sent as given: no read."""
        rig = QueryRig(store)
        list_id = acme_id(rig)
        es = customer(rig.qb, list_id).edit_sequence
        job = rig.service.enqueue(
            USER, model("CustomerMod", list_id=list_id, edit_sequence=es, company_name="X")
        )
        assert job.qbxml is not None
        rig.sync()
        assert rig.job(job).status == "done"
        assert not any("IncludeRetElement" in r for r in rig.meddler.requests)

    def test_rendering_still_refuses_none(self) -> None:
        """Only enqueue takes a Mod without EditSequence; rendering it refuses."""
        with pytest.raises(QBXMLValidationError) as info:
            render_request(model("CustomerMod", list_id="1-1", name="X"))
        assert "edit_sequence" in str(info.value.path)
        with pytest.raises(QBXMLValidationError):
            build_request([model("CustomerMod", list_id="1-1", name="X")])

    @pytest.mark.parametrize("mod", EDIT_SEQUENCE_MODS)
    def test_every_mod_reads_with_a_valid_query(self, mod: str) -> None:
        """
        Every Mod with an EditSequence: the read is a valid ``…QueryRq`` for its ID
        asking for the ID and EditSequence only, or enqueue refuses it, naming the field.
        """
        from qbwc.service._paging import _read_query

        id_field = "txn_id" if "txn_id" in attrs.fields_dict(vocabulary().model(mod)) else "list_id"
        request = model(mod, **{id_field: "80000001-1700000000"})
        read = _read_query(mod, request)
        if read is None:
            rig = QueryRig()
            with pytest.raises(ConfigurationError) as info:
                rig.service.enqueue(USER, request)
            assert info.value.field == "request.edit_sequence"
            assert mod in REFUSED
            return
        assert mod not in REFUSED
        query_type, query = read
        assert query_type == f"{mod[:-3]}Query"
        text = render_request(query)
        tag = "TxnID" if id_field == "txn_id" else "ListID"
        assert f"<{tag}>80000001-1700000000</{tag}>" in text
        assert "<IncludeRetElement>EditSequence</IncludeRetElement>" in text


def test_page_text_has_only_kept_records() -> None:
    """A page that starts again mid-way keeps only the records after the last delivered."""
    from qbwc.service._paging import _drop_rets, _ret_ids

    raw = (
        '<CustomerQueryRs requestID="1" statusCode="0" statusSeverity="Info" statusMessage="OK">'
        "<CustomerRet><ListID>1-1</ListID><Name>A</Name></CustomerRet>"
        "<CustomerRet><ListID>2-1</ListID><Name>B</Name></CustomerRet>"
        "<CustomerRet><ListID>3-1</ListID><Name>C</Name></CustomerRet>"
        "</CustomerQueryRs>"
    )
    assert _ret_ids(raw) == ["1-1", "2-1", "3-1"]
    kept = _drop_rets(raw, 2)
    assert _ret_ids(kept) == ["3-1"]
    assert re.search(r"statusCode=\"0\"", kept)
