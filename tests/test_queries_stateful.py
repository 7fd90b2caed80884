"""
The service's state machine (tests/test_service_stateful.py) grown with paged queries
and Mods without EditSequence (docs/queries.md).

:class:`QueryMachine` is the conversations machine of tests/test_service_stateful.py
(invoices; lost replies and QuickBooks answers, repeated calls, crashes, restarts,
a second Web Connector, the clock; its invariants), with ServiceMachine's QuickBooks
faults (failed requests and connections, another company file), in front of
FakeQuickBooks itself (which runs iterators), and:

- paged ``CustomerQuery`` jobs (page sizes 1-4 over a dozen customers), cut off
  at random by those faults and by sessions that end after a few message sets;
- ``CustomerMod`` jobs without EditSequence, with someone at the QuickBooks desk
  editing the customer between the service's read and its Mod (3200), and
  editing, adding and deleting customers between sessions.

After every step: no query delivered a record twice, and what it delivered is in
QuickBooks' order; no Mod was made twice or in another company file; every query
or Mod job is pending, in flight, done or failed with a code and a message.  When
the machine settles, every query is done or failed with a reason, and a done
query delivered every customer that existed from its enqueue to its end.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant, precondition, rule

from qbwc.qbxml import build_request
from qbwc.qbxml._types import vocabulary
from qbwc.store import Job
from qbwc.testing import FakeWebConnector
from qbwc.wsgi import make_wsgi_app
from tests.rig import PASSWORD, REFERENCE, USER, Rig
from tests.test_queries import Meddler
from tests.test_service_stateful import _Conversations, _note


def _model(type_name: str, /, **fields: Any) -> Any:
    return vocabulary().model(type_name)(**fields)


class QueryMachine(_Conversations):
    """The conversations, QuickBooks' faults, paged queries and Mods without EditSequence."""

    def __init__(self) -> None:
        super().__init__()
        self.meddler: Meddler | None = None
        self.queries: dict[str, set[str]] = {}  # job id -> customers alive at its enqueue
        self.order: list[str] = []  # every customer's ListID, in QuickBooks' order
        self.deleted: set[str] = set()
        self.mods = 0
        self.customers = 0

    @initialize(batch=st.sampled_from([1, 1, 3]), attempts=st.integers(1, 3))
    def start(self, batch: int, attempts: int) -> None:
        self.rig = Rig(self._store(), batch_size=batch, max_attempts=attempts)
        self.rig.qb.seed(Customer=[{"name": f"Seeded {i:02d}"} for i in range(12)])
        self.meddler = Meddler(self.rig.qb)
        self.rig.wc = FakeWebConnector(make_wsgi_app(self.rig.service), self.meddler)
        self.rig.wc.add_application(self.rig.qwc(USER), password=PASSWORD)
        self.meddler.wc = self.rig.wc
        self.lq = None  # (the base's list double: not here, FakeQuickBooks runs it all)
        self._look()

    def _meddler(self) -> Meddler:
        assert self.meddler is not None
        return self.meddler

    def _look(self) -> list[str]:
        """The live customers' ListIDs, in QuickBooks' order (remembered in self.order)."""
        alive = [c.list_id for c in self.r.qb.records("Customer")]
        known = set(self.order)
        self.order += [i for i in alive if i not in known]
        return alive

    def _free(self) -> list[str]:
        """Customers without transactions (they can be deleted)."""
        acme = {c.list_id for c in self.r.qb.records("Customer") if c.name.startswith("Acme")}
        return [i for i in self._look() if i not in acme]

    # -- the host ---------------------------------------------------------------------

    @precondition(lambda self: self.rig is not None)
    @rule(page_size=st.sampled_from([1, 2, 3, 4]), cut=st.sampled_from([None, 1, 2, 3]))
    def enqueue_query(self, page_size: int, cut: int | None) -> None:
        """A paged query; the next session may end after *cut* message sets."""
        meddler = self._meddler()
        job = self.r.service.enqueue(USER, _model("CustomerQuery"), page_size=page_size)
        self.queries[job.id] = set(self._look())
        meddler.cut_after = cut

    @precondition(lambda self: self.rig is not None)
    @rule(data=st.data(), edits=st.sampled_from([0, 0, 1, 2]))
    def enqueue_mod(self, data: st.DataObject, edits: int) -> None:
        """A Mod without EditSequence; *edits* times someone edits it right after a read."""
        meddler = self._meddler()
        list_id = data.draw(st.sampled_from(self._look()))
        meddler.changes += [list_id] * edits
        self.mods += 1
        mod = _model("CustomerMod", list_id=list_id, company_name=f"Mod {self.mods}")
        self.r.service.enqueue(USER, mod, key=f"mod-{self.mods}")

    # -- someone at the QuickBooks desk ---------------------------------------------------

    @precondition(lambda self: self.rig is not None)
    @rule(data=st.data())
    def edit_after_next_read(self, data: st.DataObject) -> None:
        """The next read of an EditSequence is followed by an edit: its Mod gets 3200."""
        meddler = self._meddler()
        meddler.changes.append(data.draw(st.sampled_from(self._look())))

    @precondition(lambda self: self.rig is not None)
    @rule(data=st.data(), what=st.sampled_from(["add", "delete"]))
    def desk_changes_customers(self, data: st.DataObject, what: str) -> None:
        self._meddler()
        qb = self.r.qb
        if qb.pending_faults:
            return  # (the desk's request would take a fault meant for the service)
        if what == "add":
            self.customers += 1
            qb.seed(Customer=[{"name": f"Walk-in {self.customers:03d}"}])
            self._look()
            return
        free = self._free()
        if free:
            list_id = data.draw(st.sampled_from(free))
            delete = _model("ListDel", list_del_type="Customer", list_id=list_id)
            request = build_request([("desk", delete)])
            qb.switch_company(None)
            try:
                assert 'statusCode="0"' in qb.process_request(request.decode())
            finally:
                qb.switch_company(self.other if self.other_open else None)
            self.deleted.add(list_id)

    @precondition(lambda self: self.rig is not None)
    @rule(after=st.integers(1, 4))
    def short_session(self, after: int) -> None:
        """A session that ends after a few message sets (a query's iterator dies with it)."""
        meddler = self._meddler()
        meddler.cut_after = after
        self.r.run()
        meddler.cut_after = None
        self.r.wc.faults.clear()

    # -- QuickBooks' faults (as in ServiceMachine) -------------------------------------------

    @rule(code=st.sampled_from([3175, 3170, 1000]))
    def quickbooks_hiccup(self, code: int) -> None:
        self.r.qb.fail_next(code, "There was an error when saving a Customer.")

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

    # -- invariants -------------------------------------------------------------------------

    def _jobs(self) -> list[Job]:
        with self.r.store.transaction() as tx:
            return list(tx.list_jobs(username=USER))

    @invariant()
    def queries_and_mods(self) -> None:
        if self.rig is None:
            return
        jobs = self._jobs()
        for job in jobs:
            if job.status == "failed":
                assert job.error is not None
                assert job.error.code
                assert job.error.message
                assert REFERENCE.fullmatch(job.error.reference)
        self._queries_and_mods(jobs)

    def _queries_and_mods(self, jobs: list[Job]) -> None:
        position = {list_id: index for index, list_id in enumerate(self.order)}
        for job in jobs:
            if job.request_type != "CustomerQuery":
                continue
            got = [ret.list_id for ret in self.r.service.query_results(job.id)]
            assert len(got) == len(set(got)), (job, got)  # nothing twice
            assert len(got) == job.records, job
            indexes = [position[i] for i in got]
            assert indexes == sorted(indexes), got  # QuickBooks' order
        # No Mod made twice, none in another company file.
        mods = Counter(
            p.request_id
            for p in self.r.qb.history
            if p.request_type == "CustomerModRq" and p.status_code == 0 and p.request_id != "desk"
        )
        assert all(n == 1 for n in mods.values()), mods
        assert not any(p.request_type == "CustomerModRq" for p in self.other.history)
        by_id = {job.id: job for job in jobs}
        for request_id in mods:
            job = by_id[str(request_id)]
            assert job.request_type == "CustomerMod", job
            unconfirmed = job.error is not None and job.error.code == "unconfirmed"
            assert job.status in ("done", "sent") or unconfirmed, job

    @precondition(lambda self: self.rig is not None and self.slow is None)
    @rule()
    def settle(self) -> None:
        """The base class's settle; then every query and Mod has ended as it must."""
        if self.meddler is not None:
            self.meddler.cut_after = None  # (queued desk edits still happen: at most 2 a Mod)
        super().settle()
        r = self.r
        jobs = self._jobs()
        self._queries_and_mods(jobs)
        if self.meddler is not None:
            starts = sum('iterator="Start"' in q for q in self.meddler.requests)
            if starts > len(self.queries):
                _note("a paged query started again after a cut-off")
        for job in jobs:
            if job.request_type == "CustomerQuery":
                _note(f"query {job.status}" + (f" ({job.error.code})" if job.error else ""))
                if job.status == "done":
                    got = {ret.list_id for ret in r.service.query_results(job.id)}
                    throughout = self.queries.get(job.id, set()) - self.deleted
                    assert throughout <= got, (throughout - got, job)
                    assert got <= set(self.order), job
            elif job.request_type == "CustomerMod":
                _note(f"mod {job.status}" + (f" ({job.error.code})" if job.error else ""))
                if job.status == "done" and job.attempts > 1:
                    _note("mod done after a retry (3200: read again)")


# (The overrides above keep their decorators: Hypothesis finds rules and invariants
# by name on the class, so an override without them would drop the base's.)
QueryMachine.TestCase.settings = settings(
    QueryMachine.TestCase.settings,
    stateful_step_count=30,
    max_examples=min(QueryMachine.TestCase.settings.max_examples, 40),
    deadline=None,
)
TestQueryMachine = QueryMachine.TestCase
TestQueryMachine.__doc__ = (
    "Paged queries cut off at random and Mods meeting edits keep every invariant."
)
