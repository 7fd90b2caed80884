"""
FakeQuickBooks as a model of a company file (stateful Hypothesis test).

Customers, jobs and invoices are added, changed (with current and stale
EditSequences), deleted and queried, with iterators left open across writes and
cut off by a closed connection.  After every step: a query returns exactly the
live objects, names are unique, references to deleted objects fail 3140, and an
iterator never delivers an object twice nor one that did not match when it started.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from qbwc.qbxml import (
    CustomerAdd,
    CustomerMod,
    CustomerQuery,
    InvoiceAdd,
    InvoiceLineAdd,
    InvoiceMod,
    InvoiceQuery,
    ListDel,
    TxnDel,
    build_request,
    parse_response,
)
from qbwc.qbxml._parse import Response
from qbwc.qbxml._types import Ref
from qbwc.testing import FakeQuickBooks

START = dt.datetime(2024, 5, 1, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=-8)))
NAMES = st.sampled_from(["Acme", "acme", "Baker", "Cole", "Dune", "Echo"])


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> dt.datetime:
        return self.now


def one(qb: FakeQuickBooks, request: Any) -> Response:
    (response,) = parse_response(qb.process_request(build_request([request]).decode())).responses
    return response


class CompanyFile(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = Clock()
        self.qb = FakeQuickBooks(clock=self.clock)
        self.qb.seed(Item=[{"name": "Hours", "sales_or_purchase": {"price": "10.00"}}])
        #: ListID -> (FullName, EditSequence) of every live customer or job
        self.customers: dict[str, tuple[str, str]] = {}
        #: TxnID -> (customer ListID, EditSequence) of every live invoice
        self.invoices: dict[str, tuple[str, str]] = {}
        self.deleted_customers: dict[str, str] = {}
        #: the open iterator: (ID, TxnIDs live when it started, delivered, deleted since)
        self.iterator: tuple[str, set[str], list[str], set[str]] | None = None

    def tick(self) -> None:
        self.clock.now += dt.timedelta(seconds=1)

    # --- writes ---

    @rule(name=NAMES, parent=st.integers(0, 10))
    def add_customer(self, name: str, parent: int) -> None:
        self.tick()
        parents = sorted(self.customers)
        parent_id = parents[parent] if parent < len(parents) else None
        ref = None if parent_id is None else Ref(list_id=parent_id)
        full = name if parent_id is None else f"{self.customers[parent_id][0]}:{name}"
        response = one(self.qb, CustomerAdd(name=name, parent_ref=ref))
        taken = any(n.casefold() == full.casefold() for n, _ in self.customers.values())
        if taken:
            assert response.status_code == 3100
            return
        assert response.status_code == 0, response.status_message
        assert response.ret.full_name == full
        self.customers[response.ret.list_id] = (full, response.ret.edit_sequence)

    @rule(pick=st.integers(0, 10), deleted=st.booleans(), hours=st.integers(1, 9))
    def add_invoice(self, pick: int, deleted: bool, hours: int) -> None:
        self.tick()
        pool = sorted(self.deleted_customers if deleted else self.customers)
        if not pool:
            return
        customer = pool[pick % len(pool)]
        line = InvoiceLineAdd(item_ref=Ref.by_name("Hours"), quantity=Decimal(hours))
        response = one(self.qb, InvoiceAdd(customer_ref=Ref(list_id=customer), lines=[line]))
        if deleted:
            assert response.status_code == 3140
            assert customer in response.status_message
            return
        assert response.status_code == 0, response.status_message
        assert response.ret.subtotal == Decimal(hours * 10)
        self.invoices[response.ret.txn_id] = (customer, response.ret.edit_sequence)

    @rule(pick=st.integers(0, 10), stale=st.booleans(), phone=st.sampled_from(["1", "2"]))
    def mod_customer(self, pick: int, stale: bool, phone: str) -> None:
        self.tick()
        if not self.customers:
            return
        list_id = sorted(self.customers)[pick % len(self.customers)]
        full, sequence = self.customers[list_id]
        sent = str(int(sequence) - 1) if stale else sequence
        response = one(self.qb, CustomerMod(list_id=list_id, edit_sequence=sent, phone=phone))
        if stale:
            assert response.status_code == 3200
            return
        assert response.status_code == 0, response.status_message
        assert response.ret.phone == phone
        assert response.ret.edit_sequence != sequence
        self.customers[list_id] = (full, response.ret.edit_sequence)

    @rule(pick=st.integers(0, 10), memo=st.sampled_from(["a", "b"]), stale=st.booleans())
    def mod_invoice(self, pick: int, memo: str, stale: bool) -> None:
        self.tick()
        if not self.invoices:
            return
        txn_id = sorted(self.invoices)[pick % len(self.invoices)]
        customer, sequence = self.invoices[txn_id]
        sent = "1" if stale else sequence
        response = one(self.qb, InvoiceMod(txn_id=txn_id, edit_sequence=sent, memo=memo))
        if stale:
            assert response.status_code == 3200
            return
        assert response.status_code == 0, response.status_message
        self.invoices[txn_id] = (customer, response.ret.edit_sequence)

    @rule(pick=st.integers(0, 10))
    def delete_customer(self, pick: int) -> None:
        self.tick()
        if not self.customers:
            return
        list_id = sorted(self.customers)[pick % len(self.customers)]
        full = self.customers[list_id][0]
        has_jobs = any(n.startswith(full + ":") for n, _ in self.customers.values())
        response = one(self.qb, ListDel(list_del_type="Customer", list_id=list_id))
        if has_jobs:
            assert response.status_code == 3170
            return
        assert response.status_code == 0, response.status_message
        self.deleted_customers[list_id] = full
        del self.customers[list_id]

    @rule(pick=st.integers(0, 10))
    def delete_invoice(self, pick: int) -> None:
        self.tick()
        if not self.invoices:
            return
        txn_id = sorted(self.invoices)[pick % len(self.invoices)]
        response = one(self.qb, TxnDel(txn_del_type="Invoice", txn_id=txn_id))
        assert response.status_code == 0, response.status_message
        del self.invoices[txn_id]
        if self.iterator is not None:
            self.iterator[3].add(txn_id)

    # --- an invoice iterator, open across the writes above ---

    @precondition(lambda self: self.iterator is None)
    @rule(size=st.integers(1, 4))
    def start_iterator(self, size: int) -> None:
        response = one(self.qb, InvoiceQuery(iterator="Start", max_returned=size))
        live = set(self.invoices)
        delivered = [r.txn_id for r in response.rets]
        assert response.iterator_id is not None
        assert response.iterator_remaining_count == len(live) - len(delivered)
        if response.iterator_remaining_count:
            self.iterator = (response.iterator_id, live, delivered, set())
        else:
            assert sorted(delivered) == sorted(live)

    @precondition(lambda self: self.iterator is not None)
    @rule(size=st.integers(1, 4))
    def continue_iterator(self, size: int) -> None:
        assert self.iterator is not None
        key, live, delivered, gone = self.iterator
        response = one(self.qb, InvoiceQuery(iterator="Continue", iterator_id=key,
                                             max_returned=size))  # fmt: skip
        assert response.status_code in (0, 1), response.status_message
        delivered.extend(r.txn_id for r in response.rets)
        assert len(delivered) == len(set(delivered)), "an invoice was delivered twice"
        assert set(delivered) <= live, "an invoice that did not match at Start"
        if response.iterator_remaining_count == 0:
            assert live - set(delivered) <= gone, "a live invoice was never delivered"
            self.iterator = None

    @precondition(lambda self: self.iterator is not None)
    @rule()
    def connection_closes(self) -> None:
        assert self.iterator is not None
        self.qb.close()
        key = self.iterator[0]
        response = one(self.qb, InvoiceQuery(iterator="Continue", iterator_id=key,
                                             max_returned=1))  # fmt: skip
        assert response.status_code == 3391
        self.iterator = None

    # --- invariants ---

    @invariant()
    def queries_return_exactly_the_live_objects(self) -> None:
        customers = one(self.qb, CustomerQuery(active_status="All"))
        found = {r.list_id: r.full_name for r in customers.rets}
        assert found == {k: v[0] for k, v in self.customers.items()}
        assert customers.status_code == (0 if self.customers else 1)
        invoices = one(self.qb, InvoiceQuery())
        assert {r.txn_id: r.customer_ref.list_id for r in invoices.rets} == {
            k: v[0] for k, v in self.invoices.items()
        }
        assert {r.txn_id for r in self.qb.records("Invoice")} == set(self.invoices)

    @invariant()
    def balances_follow_the_invoices(self) -> None:
        owed: dict[str, Decimal] = {}
        for invoice in self.qb.records("Invoice"):
            owed[invoice.customer_ref.list_id] = (
                owed.get(invoice.customer_ref.list_id, Decimal(0)) + invoice.balance_remaining
            )
        for customer in self.qb.records("Customer"):
            assert customer.balance == owed.get(customer.list_id, Decimal(0))


CompanyFile.TestCase.settings = settings(
    CompanyFile.TestCase.settings, deadline=None, stateful_step_count=30
)
TestCompanyFile = CompanyFile.TestCase
