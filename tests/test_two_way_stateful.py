"""
The whole two-way story of docs/two-way.md (issue 13), as a state machine.

A host keeps linkages and pulls against a bookkeeper who has two company files
(A, "Larkspur Landscaping", and B, "Larkspur Landscaping 2025", both set up with
the account's QWC file), through the Web Connector double and the WSGI app:

- the host writes: customers and jobs (Adds with keys, a job's parent and an
  invoice's customer as ``Ref(key=...)``, each ``after=`` the Add that creates
  it), and Mods of its invoices by link;
- the bookkeeper works in either file: new payments, new, edited and deleted
  bills, renamed customers; opens one file or the other;
- syncs run, some cut off at a random message set (QuickBooks' answer lost, or
  the Web Connector stopping right after a reply); the clock moves on;
- the host disconnects the account; the next sync links whichever file is open
  (the same one, or the other).

The host follows payments, bills, customers and invoices, and keeps its budget
actuals (``qbwc.actuals.Actuals``) from ``on_pulled``/``on_deleted``, dropping
them at each disconnect.  Invariants, after every step: every change (an
object's ID and EditSequence, or its deletion) is delivered at most once per
company-file link; what is delivered is what the linked file holds at that
moment, and the open file is the account's linked one; every linkage points at
an object of its type that exists in the linked file.  After a clean sync
(``settle``): every job is done or failed with a code, every live object of a
followed type is delivered in its current version, every deletion of an object
delivered is delivered, and the actuals equal the linked file's own totals
(cost per job from its bills' lines, payments per customer).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from qbwc import WebConnectorService
from qbwc.actuals import Actuals
from qbwc.qbxml import CustomerAdd, InvoiceAdd, InvoiceLineAdd, InvoiceMod, Ref
from qbwc.store import Job, MemoryStore
from qbwc.testing import Crash, FakeQuickBooks, FakeWebConnector, LoseQuickBooksResponse
from qbwc.wsgi import make_wsgi_app
from tests.rig import OWNER, PASSWORD, USER, Clock, Rig

#: The followed types, and the record type each one's objects are read back as.
FOLLOWED = ("ReceivePayment", "Bill", "Customer", "Invoice")
_EST = dt.timezone(dt.timedelta(hours=-5))
#: How many company files a run may move through (the first included).
_MAX_FILES = 3


class Cutter:
    """QuickBooks, with a session cut off after its *n*-th message set, once."""

    def __init__(self, inner: FakeQuickBooks) -> None:
        self.inner = inner
        self.cut: tuple[int, str] | None = None  # (message set, "lost" | "crash")
        self.wc: FakeWebConnector | None = None
        self.in_session = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def open(self, company_file: str) -> None:
        self.in_session = 0
        self.inner.open(company_file)

    def process_request(self, qbxml: str) -> str:
        self.in_session += 1
        if self.cut is not None and self.in_session == self.cut[0]:
            kind, self.cut = self.cut[1], None
            if kind == "lost":
                self.inner.lose_next_response()  # processed; the answer never arrives
            elif self.wc is not None:
                self.wc.inject(Crash(operation="receiveResponseXML"))  # stops after replying
        return self.inner.process_request(qbxml)


def _object_id(ret: Any) -> str:
    object_id = getattr(ret, "txn_id", None) or getattr(ret, "list_id", None)
    assert isinstance(object_id, str), ret
    return object_id


def _nonzero(totals: dict[str, Decimal]) -> dict[str, Decimal]:
    return {key: value for key, value in totals.items() if value}


class TwoWayMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = Clock()
        self.qb_now = dt.datetime.fromtimestamp(self.clock.now, _EST)
        self.files: dict[str, FakeQuickBooks] = {}
        self.names: dict[str, str] = {}  # company name -> file
        home = self.new_file()
        self.store = MemoryStore()
        self.service = WebConnectorService(
            store=self.store, owner_id=OWNER, app_name="Acme Billing", password_cost=2,
            clock=self.clock, on_pulled=self.on_pulled, on_deleted=self.on_deleted,
        )  # fmt: skip
        self.service.add_account(USER, PASSWORD)
        self.cutter = Cutter(self.files[home])
        self.wc = FakeWebConnector(make_wsgi_app(self.service), self.cutter)
        self.cutter.wc = self.wc
        self.wc.add_application(self.qwc(), password=PASSWORD)  # stamps the first file
        self.open = self.current = home
        for type in FOLLOWED:
            self.service.follow(USER, type, page_size=3)
        # The host's side.
        self.epoch = 0  # one per company-file link: a disconnect starts the next
        self.delivered: Counter[tuple[int, str, str, str | None]] = Counter()
        self.deleted: Counter[tuple[int, str, str]] = Counter()
        self.actuals = Actuals()
        self.problems: list[str] = []
        self.jobs: dict[str, Job] = {}  # key -> the Add (or Mod) job
        self.customers: list[str] = []  # keys of the host's customers and jobs
        self.invoices: list[str] = []
        self.desk_deleted: set[str] = set()  # invoices deleted at the desk since the last settle
        self.count = 0

    def new_file(self) -> str:
        """
        Another company file (A, B, C), never set up for the app.  File k runs its clock k
        seconds behind the service's (a skew inside the pulls' overlap window); as time
        moves by multiples of 5 seconds, its IDs (``…-<seconds>``) are its own.
        """
        file = "ABCD"[len(self.files)]
        behind = dt.timedelta(seconds=len(self.files))
        name = f"Larkspur Landscaping {file}"
        books = FakeQuickBooks.sample(company_name=name, clock=lambda: self.qb_now - behind)
        books.seed(
            Account=[{"name": "Job Materials", "account_type": "CostOfGoodsSold"}],
            Vendor=[{"name": "Lumber Yard"}],
        )
        self.files[file] = books
        self.names[name] = file
        return file

    def qwc(self) -> bytes:
        return self.service.qwc(
            USER, app_url="https://localhost/qbwc", app_support="https://localhost/help"
        )

    # -- helpers ------------------------------------------------------------------------

    def linked(self) -> str | None:
        """Which file the account is linked to (by the service's own record), or None."""
        account = self.service.account(USER)
        assert account is not None
        if account.linked_file_id is None:
            return None
        return self.names[account.company_name or ""]

    def records(self, file: str, type: str) -> dict[str, Any]:
        return {_object_id(ret): ret for ret in self.files[file].records(type)}

    def tick(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self.qb_now += dt.timedelta(seconds=seconds)

    def next(self) -> int:
        self.count += 1
        return self.count

    # -- the host's hooks -----------------------------------------------------------------

    def on_pulled(self, username: str, type: str, rets: tuple[Any, ...]) -> None:
        assert username == USER
        linked = self.linked()
        if linked != self.open:
            self.problems.append(f"{type} pulled from {self.open} while linked to {linked}")
        live = self.records(self.open, type)
        for ret in rets:
            object_id = _object_id(ret)
            self.delivered[(self.epoch, type, object_id, ret.edit_sequence)] += 1
            now = live.get(object_id)
            if now is None or now.edit_sequence != ret.edit_sequence:
                self.problems.append(f"{type} {object_id} delivered is not what {self.open} holds")
        if type in ("Bill", "ReceivePayment"):
            self.actuals.add_all(rets)

    def on_deleted(self, username: str, type: str, ids: tuple[str, ...]) -> None:
        assert username == USER
        live = self.records(self.open, type)
        for object_id in ids:
            self.deleted[(self.epoch, type, object_id)] += 1
            if object_id in live:
                self.problems.append(f"{type} {object_id} reported deleted but is in {self.open}")
            self.actuals.remove(object_id)

    # -- the host writes ----------------------------------------------------------------------

    @rule(job=st.booleans())
    def host_adds_customer(self, job: bool) -> None:
        """A client (CustomerAdd), or a job under one of the host's clients, by key."""
        n = self.next()
        parents = [key for key in self.customers if key.startswith("client-")]
        if job and parents:
            parent = parents[n % len(parents)]
            request = CustomerAdd(name=f"Job {n}", parent_ref=Ref(key=parent))
            key = f"job-{n}"
            self.jobs[key] = self.service.enqueue(USER, request, key=key, after=self.jobs[parent])
        else:
            key = f"client-{n}"
            self.jobs[key] = self.service.enqueue(USER, CustomerAdd(name=f"Client {n}"), key=key)
        self.customers.append(key)

    @precondition(lambda self: self.customers)
    @rule(data=st.data())
    def host_adds_invoice(self, data: st.DataObject) -> None:
        """An invoice for one of the host's customers, named by key."""
        customer = data.draw(st.sampled_from(self.customers), label="customer")
        n = self.next()
        line = InvoiceLineAdd(item_ref=Ref(full_name="Consulting"), quantity=Decimal(n % 5 + 1))
        request = InvoiceAdd(customer_ref=Ref(key=customer), ref_number=f"T{n}", lines=[line])
        key = f"invoice-{n}"
        self.jobs[key] = self.service.enqueue(USER, request, key=key, after=self.jobs[customer])
        self.invoices.append(key)

    @precondition(lambda self: self.invoices)
    @rule(data=st.data())
    def host_mods_invoice(self, data: st.DataObject) -> None:
        """A Mod of one of the host's invoices by its linkage (no TxnID, no EditSequence)."""
        invoice = data.draw(st.sampled_from(self.invoices), label="invoice")
        n = self.next()
        self.jobs[f"mod-{n}"] = self.service.enqueue(
            USER, InvoiceMod(memo=f"memo {n}"), link=invoice, key=f"mod-{n}",
            after=self.jobs[invoice],
        )  # fmt: skip

    # -- the bookkeeper, in any of the company files -----------------------------------------

    def pick_file(self, data: st.DataObject) -> FakeQuickBooks:
        return self.files[data.draw(st.sampled_from(sorted(self.files)), label="file")]

    @rule(data=st.data(), cents=st.integers(1, 99_999))
    def desk_records_payment(self, data: st.DataObject, cents: int) -> None:
        books = self.pick_file(data)
        customers = sorted(c.full_name for c in books.records("Customer"))
        customer = data.draw(st.sampled_from(customers), label="customer")
        books.seed(
            ReceivePayment=[
                {"customer_ref": {"full_name": customer}, "is_auto_apply": True,
                 "total_amount": str(Decimal(cents) / 100)}
            ]
        )  # fmt: skip

    @rule(data=st.data(), cents=st.integers(1, 99_999))
    def desk_enters_bill(self, data: st.DataObject, cents: int) -> None:
        books = self.pick_file(data)
        customers = sorted(c.full_name for c in books.records("Customer"))
        job = data.draw(st.sampled_from([None, *customers]), label="job")
        line: dict[str, Any] = {
            "account_ref": {"full_name": "Job Materials"},
            "amount": str(Decimal(cents) / 100),
        }
        if job is not None:
            line["customer_ref"] = {"full_name": job}
        books.seed(Bill=[{"vendor_ref": {"full_name": "Lumber Yard"}, "expense_line_add": [line]}])

    @rule(data=st.data(), cents=st.integers(1, 99_999))
    def desk_edits_bill(self, data: st.DataObject, cents: int) -> None:
        books = self.pick_file(data)
        bills = list(books.records("Bill"))
        if bills:
            bill = data.draw(st.sampled_from(bills), label="bill")
            (line,) = bill.expense_line_ret
            books.change(
                "Bill", bill.txn_id,
                expense_line_mod=[{"txn_line_id": line.txn_line_id,
                                   "amount": str(Decimal(cents) / 100)}],
            )  # fmt: skip

    @rule(data=st.data())
    def desk_deletes_bill(self, data: st.DataObject) -> None:
        books = self.pick_file(data)
        bills = list(books.records("Bill"))
        if bills:
            bill = data.draw(st.sampled_from(bills), label="bill")
            books.delete("Bill", bill.txn_id)

    @rule(data=st.data())
    def desk_deletes_invoice(self, data: st.DataObject) -> None:
        """An invoice deleted at the desk (the host's own, maybe): its linkage must go too."""
        file = data.draw(st.sampled_from(sorted(self.files)), label="file")
        invoices = list(self.files[file].records("Invoice"))
        if invoices:
            invoice = data.draw(st.sampled_from(invoices), label="invoice")
            self.files[file].delete("Invoice", invoice.txn_id)
            self.desk_deleted.add(invoice.txn_id)

    @rule(data=st.data())
    def desk_renames_customer(self, data: st.DataObject) -> None:
        books = self.pick_file(data)
        customer = data.draw(st.sampled_from(list(books.records("Customer"))), label="customer")
        books.change("Customer", customer.list_id, name=f"Renamed {self.next()}")

    @rule(data=st.data())
    def desk_opens_file(self, data: st.DataObject) -> None:
        """The bookkeeper opens one of the files (one set up with an old QWC file: refused)."""
        self.open_file(data.draw(st.sampled_from(sorted(self.files)), label="file"))

    def open_file(self, file: str) -> None:
        self.open = file
        self.cutter.inner.switch_company(self.files[file])

    # -- syncs, time, disconnects ---------------------------------------------------------

    @rule(
        cut=st.none() | st.tuples(st.integers(1, 4), st.sampled_from(["lost", "crash"])),
        seconds=st.sampled_from([5, 60, 700]),
    )
    def sync(self, cut: tuple[int, str] | None, seconds: int) -> None:
        """A Web Connector update, maybe cut off at its *n*-th message set."""
        self.tick(seconds)
        self.cutter.cut = cut
        self.wc.run_session()
        self.cutter.cut = None
        self.wc.faults.clear()  # a cut that did not fire (a shorter session) is dropped

    def dropped(self) -> None:
        """The host drops what it pulled: it belonged to the link that ended."""
        assert self.service.links(USER) == ()
        self.epoch += 1
        self.actuals = Actuals()

    @rule()
    def disconnect(self) -> None:
        """Disconnect: the next update links the open file if it carries the account's FileID."""
        self.service.disconnect(USER)
        self.dropped()

    @precondition(lambda self: len(self.files) < _MAX_FILES)
    @rule()
    def move_to_another_file(self) -> None:
        """
        Disconnect with a new FileID, open a new company file and add the new QWC file
        there (docs/two-way.md, "Disconnect and relink").
        """
        self.service.disconnect(USER, new_file_id=True)
        self.dropped()
        self.current = self.new_file()
        self.open_file(self.current)
        self.wc.add_application(self.qwc(), password=PASSWORD)

    @rule()
    def settle(self) -> None:
        """A clean update in the linked file (or the open one, when none is linked)."""
        self.open_file(self.linked() or self.current)
        self.tick(700)  # an interrupted session has expired
        for _ in range(3):
            self.wc.run_session()
        file = self.linked()
        assert file == self.open
        unfinished = [
            (key, job.status)
            for key, job in self.jobs.items()
            if (now := self.service.job(job.id)) is not None
            and now.status not in ("done", "failed")
        ]
        assert unfinished == []
        for key, job in self.jobs.items():
            now = self.service.job(job.id)
            assert now is not None
            if now.status == "failed":
                assert now.error is not None, key
                assert now.error.code, key
                assert now.error.message, key
        # Every live object of a followed type, in its current version, was delivered.
        for type in FOLLOWED:
            for object_id, ret in self.records(file, type).items():
                assert (self.epoch, type, object_id, ret.edit_sequence) in self.delivered, (
                    f"{type} {object_id} of {file} not delivered"
                )
        # Every deletion of a bill delivered in this link was delivered.
        delivered_bills = {i for (e, t, i, _) in self.delivered if e == self.epoch and t == "Bill"}
        live_bills = self.records(file, "Bill")
        for object_id in delivered_bills - set(live_bills):
            assert (self.epoch, "Bill", object_id) in self.deleted, object_id
        # The actuals are the file's own totals.
        cost: Counter[str] = Counter()
        for bill in live_bills.values():
            for line in bill.expense_line_ret:
                if line.customer_ref is not None:
                    cost[line.customer_ref.list_id] += line.amount
        received: Counter[str] = Counter()
        for payment in self.files[file].records("ReceivePayment"):
            received[payment.customer_ref.list_id] += payment.total_amount
        assert _nonzero(self.actuals.cost_by_job()) == _nonzero(dict(cost))
        assert _nonzero(self.actuals.received_by_customer()) == _nonzero(dict(received))
        # The linkages of invoices deleted at the desk went with the pull that saw it.
        self.desk_deleted.clear()
        self.linkages_point_at_objects_of_the_linked_file()

    def teardown(self) -> None:
        """Every run ends with a clean sync and its checks."""
        self.settle()

    # -- invariants -------------------------------------------------------------------------

    @invariant()
    def delivered_at_most_once_per_link(self) -> None:
        assert [k for k, n in self.delivered.items() if n > 1] == []
        assert [k for k, n in self.deleted.items() if n > 1] == []

    @invariant()
    def delivered_only_from_the_linked_file(self) -> None:
        assert self.problems == []

    @invariant()
    def linkages_point_at_objects_of_the_linked_file(self) -> None:
        links = self.service.links(USER)
        file = self.linked()
        if file is None:
            assert links == ()
            return
        account = self.service.account(USER)
        assert account is not None
        for link in links:
            assert link.file_id == account.linked_file_id, link
            if link.type == "Customer":
                assert link.list_id in self.records(file, "Customer"), link
            else:
                assert link.type == "Invoice", link
                # (until a pull sees the deletion of one deleted at the desk)
                live = self.records(file, "Invoice")
                assert link.txn_id in live or link.txn_id in self.desk_deleted, link


def test_a_job_waiting_for_one_unconfirmed_at_disconnect_fails_with_it() -> None:
    """
    Found by the machine: a job ``after=`` a write that was in flight when the account was
    disconnected (so failed ``unconfirmed``) failed with code ``dependency``, not pending forever.
    """
    failed: list[str] = []
    rig = Rig(on_job_failed=lambda job: failed.append(job.key or ""))
    client = rig.service.enqueue(USER, CustomerAdd(name="Client 1"), key="client-1")
    job = rig.service.enqueue(
        USER, CustomerAdd(name="Job 2", parent_ref=Ref(key="client-1")), key="job-2", after=client
    )
    rig.wc.inject(LoseQuickBooksResponse())
    rig.run()
    assert [rig.job(j).status for j in (client, job)] == ["sent", "pending"]
    disconnection = rig.service.disconnect(USER)
    assert [j.key for j in disconnection.unconfirmed_jobs] == ["client-1"]
    waited = rig.job(job)
    assert waited.status == "failed"
    assert waited.error is not None
    assert waited.error.code == "dependency"
    assert failed == ["client-1", "job-2"]
    rig.clock.advance(700)
    rig.run()
    assert rig.job(job).status == "failed"  # never sent
    assert [c.name for c in rig.qb.records("Customer")].count("Job 2") == 0


TwoWayMachine.TestCase.settings = settings(
    settings(),
    max_examples=min(settings().max_examples, 40),
    stateful_step_count=30,
)
TestTwoWay = TwoWayMachine.TestCase
