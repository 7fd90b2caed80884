"""
Pulls as a state machine (docs/pulls.md): someone at the QuickBooks desk records
payments and bills, edits and deletes bills, renames customers, with QuickBooks'
clock a minute off the server's either way; syncs run whole, are cut off at random
points (answers lost, the Web Connector stopped), a host hook raises now and then,
and a sync runs against another company file.

Invariants: no change (type, ID, EditSequence) and no deletion is delivered twice;
nothing is delivered from the other file; after a clean sync the host's view (the
newest version of each object it was given, minus those deleted) is QuickBooks' own,
and :class:`qbwc.actuals.Actuals` fed only from the hooks equals the fake's totals
(cost per job, money received per customer).
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from qbwc.actuals import Actuals
from qbwc.testing import (
    Crash,
    FakeQuickBooks,
    LoseQuickBooksResponse,
    LoseReply,
)
from tests.rig import USER
from tests.test_pulls import Pulls

JOBS = ("Acme Corp:Roof", "Cole Properties:Deck")
FAULTS = (
    LoseQuickBooksResponse(),
    LoseReply(operation="receiveResponseXML"),
    LoseReply(operation="sendRequestXML"),
    Crash(operation="sendRequestXML"),
    Crash(operation="receiveResponseXML"),
)
amounts = st.decimals(min_value=1, max_value=999, places=2).map(str)


class PullMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.rig: Pulls | None = None
        self.actuals = Actuals()
        self.deliveries: Counter[tuple[str, str, str]] = Counter()
        self.deletions: Counter[tuple[str, str]] = Counter()
        self.bills: list[str] = []
        self.payments: list[str] = []
        self.renames = 0

    @property
    def r(self) -> Pulls:
        assert self.rig is not None
        return self.rig

    @initialize(bills=st.integers(1, 4), payments=st.integers(1, 4), customers=st.integers(1, 4))
    def start(self, bills: int, payments: int, customers: int) -> None:
        rig = Pulls()
        self.rig = rig
        rig.qb.seed(Customer=[{"full_name": job} for job in JOBS])
        host = rig.host
        pulled, deleted = host.on_pulled, host.on_deleted

        def on_pulled(username: str, type_name: str, rets: tuple[Any, ...]) -> None:
            pulled(username, type_name, rets)  # (raises when the host is "down")
            for ret in rets:
                key = (type_name, getattr(ret, "txn_id", None) or ret.list_id, ret.edit_sequence)
                self.deliveries[key] += 1
                if type_name in ("Bill", "ReceivePayment"):
                    self.actuals.add(ret)

        def on_deleted(username: str, type_name: str, ids: tuple[str, ...]) -> None:
            deleted(username, type_name, ids)
            for object_id in ids:
                self.deletions[(type_name, object_id)] += 1
                self.actuals.remove(object_id)

        rig.service._on_pulled = on_pulled
        rig.service._on_deleted = on_deleted
        rig.service.follow(USER, "Bill", page_size=bills)
        rig.service.follow(USER, "ReceivePayment", page_size=payments)
        rig.service.follow(USER, "Customer", page_size=customers)
        self.other = FakeQuickBooks(clock=rig.qb_now)
        self.other.seed(Customer=[{"name": "Elsewhere Ltd"}])

    # -- at the QuickBooks desk --

    def _customer(self, pick: int) -> dict[str, str]:
        """A Ref to one of the file's customers or jobs by ListID (names change)."""
        customers = self.r.qb.records("Customer")
        return {"list_id": customers[pick % len(customers)].list_id}

    @rule(pick=st.integers(0, 99), amount=amounts)
    def new_bill(self, pick: int, amount: str) -> None:
        line = {
            "account_ref": {"full_name": "Job Materials"},
            "amount": amount,
            "customer_ref": self._customer(pick),
        }
        (bill,) = self.r.qb.seed(
            Bill=[{"vendor_ref": {"full_name": "Lumber Yard"}, "expense_line_add": [line]}]
        )
        self.bills.append(bill.txn_id)

    @rule(pick=st.integers(0, 99), amount=amounts)
    def new_payment(self, pick: int, amount: str) -> None:
        record = {"customer_ref": self._customer(pick), "total_amount": amount,
                  "is_auto_apply": True}  # fmt: skip
        (payment,) = self.r.qb.seed(ReceivePayment=[record])
        self.payments.append(payment.txn_id)

    @precondition(lambda self: self.bills)
    @rule(pick=st.integers(0, 99), amount=amounts)
    def edit_bill(self, pick: int, amount: str) -> None:
        txn_id = self.bills[pick % len(self.bills)]
        (bill,) = [b for b in self.r.qb.records("Bill") if b.txn_id == txn_id]
        line = bill.expense_line_ret[0].txn_line_id
        self.r.qb.change("Bill", txn_id, expense_line_mod=[{"txn_line_id": line, "amount": amount}])

    @precondition(lambda self: self.bills)
    @rule(pick=st.integers(0, 99))
    def delete_bill(self, pick: int) -> None:
        self.r.qb.delete("Bill", self.bills.pop(pick % len(self.bills)))

    @rule(pick=st.integers(0, 99))
    def rename_customer(self, pick: int) -> None:
        list_id = self._customer(pick)["list_id"]
        self.renames += 1
        self.r.qb.change("Customer", list_id, name=f"Renamed {self.renames}")

    @rule(seconds=st.sampled_from((-60, -30, -5, 0, 5, 30, 60)))
    def skew_quickbooks_clock(self, seconds: int) -> None:
        """QuickBooks' clock a minute off the server's at most (the overlap is 10 minutes)."""
        self.r.skew = float(seconds)

    @rule(seconds=st.sampled_from((1, 30, 300, 601, 3600)))
    def time_passes(self, seconds: int) -> None:
        self.r.advance(seconds)

    # -- syncs --

    @rule()
    def clean_sync(self) -> None:
        result = self.r.run()
        assert result.completed, result
        self._caught_up()

    @rule(fault=st.sampled_from(FAULTS), skip=st.integers(0, 3))
    def sync_cut_off(self, fault: Any, skip: int) -> None:
        calls = 0

        def cut() -> None:
            nonlocal calls
            calls += 1
            if calls == skip:
                self.r.wc.inject(fault)

        self.r.host.then = cut
        if skip == 0:
            self.r.wc.inject(fault)
        try:
            self.r.run()
        finally:
            self.r.host.then = None
            self.r.wc.faults.clear()
        self.r.advance(self.r.service.busy_timeout)  # the silent session is replaced

    @rule()
    def sync_with_a_failing_hook(self) -> None:
        self.r.host.fail = 1
        self.r.run()
        self.r.host.fail = 0

    @rule()
    def sync_in_another_company_file(self) -> None:
        before = sum(self.deliveries.values())
        self.r.qb.switch_company(self.other)
        try:
            self.r.run()
        finally:
            self.r.qb.switch_company(None)
        self.r.advance(self.r.service.busy_timeout)
        assert sum(self.deliveries.values()) == before

    # -- invariants --

    @invariant()
    def each_change_once(self) -> None:
        assert all(n == 1 for n in self.deliveries.values()), self.deliveries.most_common(3)
        assert all(n == 1 for n in self.deletions.values()), self.deletions.most_common(3)

    @invariant()
    def nothing_from_another_file(self) -> None:
        if self.rig is None:
            return
        names = {c.full_name for c in self.r.host.rets.get("Customer", {}).values()}
        assert "Elsewhere Ltd" not in names

    def _caught_up(self) -> None:
        qb, host = self.r.qb, self.r.host
        for type_name in ("Bill", "ReceivePayment", "Customer"):
            live = {
                (getattr(r, "txn_id", None) or r.list_id): r.edit_sequence
                for r in qb.records(type_name)
            }
            seen = {i: r.edit_sequence for i, r in host.rets.get(type_name, {}).items()}
            assert seen == live, type_name
        cost: dict[str, Decimal] = {}
        for bill in qb.records("Bill"):
            for line in bill.expense_line_ret:
                if line.customer_ref is not None:
                    job = line.customer_ref.list_id
                    cost[job] = cost.get(job, Decimal(0)) + line.amount
        assert self.actuals.cost_by_job() == cost
        received: dict[str, Decimal] = {}
        for payment in qb.records("ReceivePayment"):
            who = payment.customer_ref.list_id
            received[who] = received.get(who, Decimal(0)) + payment.total_amount
        assert self.actuals.received_by_customer() == received

    def teardown(self) -> None:
        if self.rig is None:
            return
        # However the syncs went, one clean sync (after the cut session is replaced)
        # catches up.
        self.r.advance(self.r.service.busy_timeout)
        self.r.run()
        self._caught_up()


# Each step may be a whole sync over HTTP: fewer examples than the profile's default.
PullMachine.TestCase.settings = settings(
    max_examples=min(settings.default.max_examples, 12), stateful_step_count=25, deadline=None
)
TestPulls = PullMachine.TestCase
