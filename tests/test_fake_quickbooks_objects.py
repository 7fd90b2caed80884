"""
FakeQuickBooks as a company file for any object: Adds, Mods, deletions, queries with
filters and iterators, amounts and balances, seeding (docs/testing.md).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from qbwc.exceptions import ConfigurationError
from qbwc.qbxml import (
    AccountFilter,
    AppliedToTxnAdd,
    BillAdd,
    CreditMemoAdd,
    CreditMemoLineAdd,
    CustomerAdd,
    CustomerMod,
    CustomerQuery,
    EntityFilter,
    ExpenseLineAdd,
    InvoiceAdd,
    InvoiceLineAdd,
    InvoiceLineMod,
    InvoiceMod,
    InvoiceQuery,
    ItemLineAdd,
    ItemQuery,
    ListDel,
    ListDeletedQuery,
    ModifiedDateRangeFilter,
    NameFilter,
    NameRangeFilter,
    PurchaseOrderAdd,
    PurchaseOrderLineAdd,
    ReceivePaymentAdd,
    RefNumberFilter,
    SalesReceiptAdd,
    SalesReceiptLineAdd,
    TxnDateRangeFilter,
    TxnDel,
    TxnDeletedQuery,
    TxnVoid,
    VendorAdd,
    build_request,
    parse_response,
    validate,
)
from qbwc.qbxml._parse import Response
from qbwc.qbxml._types import Ref
from qbwc.testing import FakeQuickBooks

TZ = dt.timezone(dt.timedelta(hours=-8))
START = dt.datetime(2024, 5, 1, 9, 30, tzinfo=TZ)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> dt.datetime:
        return self.now

    def tick(self, **delta: float) -> dt.datetime:
        self.now += dt.timedelta(**delta)
        return self.now


def make() -> tuple[FakeQuickBooks, Clock]:
    clock = Clock()
    return FakeQuickBooks.sample(clock=clock), clock


def run(qb: FakeQuickBooks, *requests: Any, **kwargs: Any) -> list[Response]:
    kwargs.setdefault("version", "16.0")
    answer = qb.process_request(build_request(list(requests), **kwargs).decode())
    validate(answer)  # ListDelRs/TxnDelRs/TxnVoidRs too: their Ret's fields are declared
    return list(parse_response(answer).responses)


def one(qb: FakeQuickBooks, request: Any) -> Response:
    (response,) = run(qb, request)
    return response


def ok(qb: FakeQuickBooks, request: Any) -> Any:
    response = one(qb, request)
    assert response.status_code == 0, response.status_message
    return response.ret


def invoice(customer: str = "Acme Corp", *lines: tuple[str, str], **fields: Any) -> InvoiceAdd:
    fields.setdefault("txn_date", dt.date(2024, 5, 1))
    return InvoiceAdd(
        customer_ref=Ref.by_name(customer),
        lines=[
            InvoiceLineAdd(item_ref=Ref.by_name(i), quantity=Decimal(q)) for i, q in lines
        ] or [InvoiceLineAdd(item_ref=Ref.by_name("Consulting"), quantity=Decimal(2))],
        **fields,
    )  # fmt: skip


class TestAdd:
    def test_job_full_name_parent_and_sublevel(self) -> None:
        """A job is "Parent:Child" with its ParentRef (both ListID and FullName) and Sublevel 1."""
        qb, _ = make()
        acme = qb.customer("Acme Corp")
        ret = ok(qb, CustomerAdd(name="Patio", parent_ref=Ref.by_name("acme corp")))
        assert (ret.name, ret.full_name, ret.sublevel, ret.is_active) == (
            "Patio", "Acme Corp:Patio", 1, True
        )  # fmt: skip
        assert ret.parent_ref == Ref(list_id=acme.list_id, full_name="Acme Corp")
        assert qb.customer("Acme Corp:Patio").parent_id == acme.list_id

    def test_fields_and_refs_are_copied_onto_the_ret(self) -> None:
        """The Add's fields land on the Ret; a Ref by name is answered with its ListID too."""
        qb, _ = make()
        terms = qb.list_entry("Terms", "Net 30")
        ret = ok(qb, CustomerAdd(name="Dune", email="a@b.test", terms_ref=Ref.by_name("Net 30")))
        assert ret.email == "a@b.test"
        assert ret.terms_ref == Ref(list_id=terms.list_id, full_name="Net 30")
        assert (ret.balance, ret.total_balance) == (Decimal("0.00"), Decimal("0.00"))

    def test_duplicate_name_is_3100_across_customers_and_vendors(self) -> None:
        """Customers and vendors share one list of names, as in QuickBooks."""
        qb, _ = make()
        response = one(qb, VendorAdd(name="acme corp"))
        assert response.status_code == 3100
        assert response.status_message == (
            'The name "acme corp" of the list element is already in use.'
        )

    def test_ref_to_nothing_is_3140_naming_list_and_value(self) -> None:
        qb, _ = make()
        response = one(qb, BillAdd(vendor_ref=Ref.by_name("Nobody Inc")))
        assert response.status_code == 3140
        assert response.status_message.startswith(
            'There is an invalid reference to QuickBooks Vendor "Nobody Inc" in the Bill.'
        )

    def test_an_employee_is_named_by_first_and_last_name(self) -> None:
        """EmployeeAdd has no Name: QuickBooks names it "First Last", and Refs find it so."""
        from qbwc.qbxml import EmployeeAdd, TimeTrackingAdd

        qb, _ = make()
        employee = ok(qb, EmployeeAdd(first_name="Ada", last_name="Byron"))
        assert employee.name == "Ada Byron"
        assert one(qb, EmployeeAdd(first_name="ada", last_name="byron")).status_code == 3100
        entry = ok(qb, TimeTrackingAdd(entity_ref=Ref.by_name("Ada Byron"), duration="PT2H"))
        assert entry.entity_ref == Ref(list_id=employee.list_id, full_name="Ada Byron")

    def test_txn_numbers_and_ref_numbers(self) -> None:
        """Transactions get TxnNumber in order; sales forms number themselves."""
        qb, _ = make()
        first = ok(qb, invoice())
        mulch = SalesReceiptLineAdd(item_ref=Ref.by_name("Mulch"))
        receipt = ok(qb, SalesReceiptAdd(lines=[mulch]))
        assert receipt.txn_number == first.txn_number + 1
        assert receipt.ref_number == "1"


class TestMod:
    def test_stale_edit_sequence_is_3200(self) -> None:
        qb, clock = make()
        ret = ok(qb, CustomerAdd(name="Dune"))
        clock.tick(seconds=5)
        changed = ok(qb, CustomerMod(list_id=ret.list_id, edit_sequence=ret.edit_sequence,
                                     phone="555-0100"))  # fmt: skip
        assert changed.phone == "555-0100"
        assert changed.time_modified == clock.now
        assert changed.time_created == ret.time_created
        assert int(changed.edit_sequence) > int(ret.edit_sequence)
        stale = one(qb, CustomerMod(list_id=ret.list_id, edit_sequence=ret.edit_sequence))
        assert stale.status_code == 3200
        assert stale.status_message.startswith(
            f'The provided edit sequence "{ret.edit_sequence}" is out-of-date.'
        )

    def test_someone_changing_it_in_quickbooks_makes_a_mod_stale(self) -> None:
        """touch() is a user editing the object in QuickBooks: the next Mod gets 3200."""
        qb, clock = make()
        ret = ok(qb, invoice())
        clock.tick(minutes=1)
        sequence = qb.touch("Invoice", ret.txn_id)
        assert sequence != ret.edit_sequence
        stale = one(qb, InvoiceMod(txn_id=ret.txn_id, edit_sequence=ret.edit_sequence, memo="x"))
        assert stale.status_code == 3200
        fresh = ok(qb, InvoiceMod(txn_id=ret.txn_id, edit_sequence=sequence, memo="x"))
        assert fresh.memo == "x"
        with pytest.raises(ConfigurationError, match="no Customer has the ID"):
            qb.touch("Customer", "80000999-1")

    def test_unknown_id_is_3120(self) -> None:
        qb, _ = make()
        response = one(qb, CustomerMod(list_id="80000999-1700000000", edit_sequence="1"))
        assert response.status_code == 3120

    def test_renaming_a_customer_renames_its_jobs(self) -> None:
        qb, _ = make()
        acme = qb.records("Customer")[0]
        ok(qb, CustomerMod(list_id=acme.list_id, edit_sequence=acme.edit_sequence, name="Acme Co"))
        names = [c.full_name for c in qb.records("Customer")]
        (job,) = [c for c in qb.records("Customer") if c.name == "Job 7"]
        assert job.parent_ref == Ref(list_id=acme.list_id, full_name="Acme Co")
        assert "Acme Co:Job 7" in names
        assert "Acme Corp:Job 7" not in names
        assert qb.customer("Acme Co:Job 7").full_name == "Acme Co:Job 7"

    def test_line_mods_keep_change_add_and_remove_lines(self) -> None:
        """Named lines change, TxnLineID -1 adds one, lines not named are removed; totals follow."""
        qb, _ = make()
        created = ok(qb, invoice("Acme Corp", ("Consulting", "2"), ("Plants", "1")))
        first = created.lines[0]
        changed = ok(qb, InvoiceMod(
            txn_id=created.txn_id,
            edit_sequence=created.edit_sequence,
            lines=[
                InvoiceLineMod(txn_line_id=first.txn_line_id, quantity=Decimal(3)),
                InvoiceLineMod(txn_line_id="-1", item_ref=Ref.by_name("Plants"),
                               quantity=Decimal(2)),
            ],
        ))  # fmt: skip
        assert len(changed.lines) == 2
        assert changed.lines[0].txn_line_id == first.txn_line_id
        assert changed.lines[0].amount == Decimal("450.00")
        assert changed.lines[1].txn_line_id not in (first.txn_line_id, created.lines[1].txn_line_id)
        assert changed.lines[1].amount == Decimal("25.98")
        assert changed.subtotal == Decimal("475.98")
        assert changed.sales_tax_total == Decimal("1.88")  # 7.25 % of the taxable plants
        assert changed.balance_remaining == Decimal("477.86")


class TestDelete:
    def test_deleted_customer_refs_fail_3140_and_the_deletion_is_queryable(self) -> None:
        qb, _ = make()
        baker = qb.customer("Baker Residence")
        (deleted,) = run(qb, ListDel(list_del_type="Customer", list_id=baker.list_id))
        assert deleted.status_code == 0
        assert deleted.ret is not None
        assert (deleted.ret.list_id, deleted.ret.full_name) == (baker.list_id, "Baker Residence")
        assert deleted.raw is None
        assert one(qb, invoice("Baker Residence")).status_code == 3140
        assert one(qb, CustomerQuery(full_name=["Baker Residence"])).status_code == 1
        found = one(qb, ListDeletedQuery(list_del_type=["Customer"]))
        assert [(r.list_id, r.full_name) for r in found.rets] == [
            (baker.list_id, "Baker Residence")
        ]

    def test_a_customer_with_jobs_cannot_be_deleted(self) -> None:
        qb, _ = make()
        acme = qb.customer("Acme Corp")
        assert one(qb, ListDel(list_del_type="Customer", list_id=acme.list_id)).status_code == 3170

    def test_txn_del_and_void(self) -> None:
        qb, _ = make()
        kept = ok(qb, invoice())
        gone = ok(qb, invoice())
        assert one(qb, TxnDel(txn_del_type="Invoice", txn_id=gone.txn_id)).status_code == 0
        assert one(qb, TxnDel(txn_del_type="Invoice", txn_id=gone.txn_id)).status_code == 3120
        assert one(qb, TxnVoid(txn_void_type="Invoice", txn_id=kept.txn_id)).status_code == 0
        (voided,) = qb.records("Invoice")
        assert (voided.subtotal, voided.balance_remaining) == (Decimal("0.00"), Decimal("0.00"))
        assert voided.memo == "VOID: "
        assert all(line.amount == Decimal("0.00") for line in voided.lines)
        deleted = one(qb, TxnDeletedQuery(txn_del_type=["Invoice"]))
        assert [r.txn_id for r in deleted.rets] == [gone.txn_id]


class TestQueries:
    def test_by_ids_names_and_no_match(self) -> None:
        qb, _ = make()
        acme = qb.customer("Acme Corp")
        assert [r.full_name for r in one(qb, CustomerQuery(list_id=[acme.list_id])).rets] == [
            "Acme Corp"
        ]
        found = one(qb, CustomerQuery(full_name=["acme corp:job 7", "Cole Properties"]))
        assert [r.full_name for r in found.rets] == ["Acme Corp:Job 7", "Cole Properties"]
        nothing = one(qb, CustomerQuery(full_name=["Nobody"]))
        assert (nothing.status_code, nothing.status_severity, nothing.rets) == (1, "Info", ())

    @pytest.mark.parametrize(
        ("criterion", "text", "expected"),
        [
            ("StartsWith", "acme", ["Acme Corp", "Acme Corp:Job 7"]),
            ("Contains", "job", ["Acme Corp:Job 7"]),
            ("EndsWith", "TIES", ["Cole Properties"]),
        ],
    )
    def test_name_filter(self, criterion: str, text: str, expected: list[str]) -> None:
        qb, _ = make()
        found = one(qb, CustomerQuery(name_filter=NameFilter(match_criterion=criterion, name=text)))
        assert [r.full_name for r in found.rets] == expected

    def test_name_range_active_status_and_max_returned(self) -> None:
        qb, _ = make()
        cole = qb.records("Customer")[-1]
        ok(qb, CustomerMod(list_id=cole.list_id, edit_sequence=cole.edit_sequence,
                           is_active=False))  # fmt: skip
        ranged = one(qb, CustomerQuery(name_range_filter=NameRangeFilter(from_name="B",
                                                                         to_name="D")))
        assert [r.full_name for r in ranged.rets] == ["Baker Residence"]
        everyone = one(qb, CustomerQuery(active_status="All"))
        assert len(everyone.rets) == 4
        inactive = one(qb, CustomerQuery(active_status="InactiveOnly"))
        assert [r.full_name for r in inactive.rets] == ["Cole Properties"]
        assert len(one(qb, CustomerQuery(max_returned=2)).rets) == 2

    def test_total_balance_filter(self) -> None:
        from qbwc.qbxml import TotalBalanceFilter

        qb, _ = make()
        ok(qb, invoice("Acme Corp:Job 7"))  # 300.00, owed by the job and so by Acme in total
        over = TotalBalanceFilter(operator="GreaterThan", amount=Decimal("299.99"))
        found = one(qb, CustomerQuery(total_balance_filter=over))
        assert [r.full_name for r in found.rets] == ["Acme Corp", "Acme Corp:Job 7"]
        zero = TotalBalanceFilter(operator="Equal", amount=Decimal("0.00"))
        found = one(qb, CustomerQuery(total_balance_filter=zero))
        assert [r.full_name for r in found.rets] == ["Baker Residence", "Cole Properties"]

    def test_modified_since(self) -> None:
        qb, clock = make()
        since = clock.tick(hours=1)
        ok(qb, CustomerAdd(name="New One"))
        found = one(qb, CustomerQuery(from_modified_date=since))
        assert [r.full_name for r in found.rets] == ["New One"]
        ok(qb, invoice())
        ranged = one(qb, InvoiceQuery(modified_date_range_filter=ModifiedDateRangeFilter(
            from_modified_date=since)))  # fmt: skip
        assert len(ranged.rets) == 1
        assert one(qb, InvoiceQuery(modified_date_range_filter=ModifiedDateRangeFilter(
            to_modified_date=since - dt.timedelta(seconds=1)))).status_code == 1  # fmt: skip

    def test_txn_filters(self) -> None:
        qb, _ = make()
        may = ok(qb, invoice("Acme Corp", ref_number="A-100"))
        june = ok(qb, invoice("Acme Corp:Job 7", txn_date=dt.date(2024, 6, 3), ref_number="B-7"))
        cole = ok(qb, invoice("Cole Properties", ref_number="A-101"))

        def ids(**filters: Any) -> list[str]:
            return [r.txn_id for r in one(qb, InvoiceQuery(**filters)).rets]

        dates = TxnDateRangeFilter(from_txn_date=dt.date(2024, 6, 1))
        assert ids(txn_date_range_filter=dates) == [june.txn_id]
        children = EntityFilter(full_name_with_children="Acme Corp")
        assert ids(entity_filter=children) == [may.txn_id, june.txn_id]
        assert ids(entity_filter=EntityFilter(full_name=["Acme Corp"])) == [may.txn_id]
        starts = RefNumberFilter(match_criterion="StartsWith", ref_number="A-")
        assert ids(ref_number_filter=starts) == [may.txn_id, cole.txn_id]
        assert ids(ref_number=["b-7"]) == [june.txn_id]
        accounts = AccountFilter(full_name=["Accounts Receivable"])
        assert len(ids(account_filter=accounts)) == 3
        ok(qb, ReceivePaymentAdd(customer_ref=Ref.by_name("Cole Properties"),
                                 total_amount=cole.balance_remaining,
                                 applied_to_txn_add=[AppliedToTxnAdd(
                                     txn_id=cole.txn_id,
                                     payment_amount=cole.balance_remaining)]))  # fmt: skip
        assert ids(paid_status="PaidOnly") == [cole.txn_id]
        assert ids(paid_status="NotPaidOnly") == [may.txn_id, june.txn_id]

    def test_lines_only_when_asked_and_include_ret_element(self) -> None:
        qb, _ = make()
        ok(qb, invoice())
        plain = one(qb, InvoiceQuery()).ret
        assert plain.lines == ()
        full = one(qb, InvoiceQuery(include_line_items=True)).ret
        assert len(full.lines) == 1
        slim = one(qb, InvoiceQuery(include_ret_element=["TxnID", "RefNumber"])).ret
        assert slim.txn_id
        assert slim.ref_number
        assert slim.customer_ref is None

    def test_item_query_spans_every_kind_of_item(self) -> None:
        qb, _ = make()
        kinds = {type(r).__name__ for r in one(qb, ItemQuery()).rets}
        assert {"ItemServiceRet", "ItemInventoryRet", "ItemGroupRet", "ItemSalesTaxRet"} <= kinds


class TestIterators:
    def start(self, qb: FakeQuickBooks, size: int = 2) -> Response:
        return one(qb, CustomerQuery(iterator="Start", max_returned=size))

    def test_pages_until_nothing_remains(self) -> None:
        qb, _ = make()
        first = self.start(qb)
        assert first.iterator_id is not None
        assert first.iterator_remaining_count == 2
        second = one(qb, CustomerQuery(iterator="Continue", iterator_id=first.iterator_id,
                                       max_returned=2))  # fmt: skip
        assert second.iterator_remaining_count == 0
        names = [r.full_name for r in (*first.rets, *second.rets)]
        assert names == ["Acme Corp", "Acme Corp:Job 7", "Baker Residence", "Cole Properties"]
        assert qb.open_iterators == 0

    def test_a_record_deleted_meanwhile_is_not_delivered(self) -> None:
        qb, _ = make()
        first = self.start(qb)
        baker = qb.customer("Baker Residence")
        run(qb, ListDel(list_del_type="Customer", list_id=baker.list_id))
        ok(qb, CustomerAdd(name="Late Arrival"))
        rest = one(qb, CustomerQuery(iterator="Continue", iterator_id=first.iterator_id,
                                     max_returned=5))  # fmt: skip
        assert [r.full_name for r in rest.rets] == ["Cole Properties"]

    @pytest.mark.parametrize("ending", ["close", "open", "unknown", "finished", "stopped"])
    def test_an_expired_iterator_is_3391(self, ending: str) -> None:
        qb, _ = make()
        first = self.start(qb, 4 if ending == "finished" else 2)
        key = first.iterator_id
        if ending == "close":
            qb.close()
        elif ending == "open":
            qb.open("")
        elif ending == "unknown":
            key = "{00000000-0000-0000-0000-000000000000}"
        elif ending == "stopped":
            stop = one(qb, CustomerQuery(iterator="Stop", iterator_id=key))
            assert stop.status_code == 0
        response = one(qb, CustomerQuery(iterator="Continue", iterator_id=key, max_returned=2))
        assert (response.status_code, response.status_severity) == (3391, "Error")
        assert response.status_message == f'The iteratorID "{key}" is not valid.'


class TestMoney:
    @pytest.mark.parametrize(
        ("request_model", "total_field", "total"),
        [
            (SalesReceiptAdd(customer_ref=Ref.by_name("Acme Corp"), lines=[
                SalesReceiptLineAdd(item_ref=Ref.by_name("Plants"), quantity=Decimal(3)),
                SalesReceiptLineAdd(item_ref=Ref.by_name("Consulting"), quantity=Decimal("1.5"),
                                    rate=Decimal("100"))]), "total_amount", "191.80"),
            (CreditMemoAdd(customer_ref=Ref.by_name("Acme Corp"), lines=[
                CreditMemoLineAdd(item_ref=Ref.by_name("Plants"), quantity=Decimal(2))]),
             "total_amount", "27.86"),
            (PurchaseOrderAdd(vendor_ref=Ref.by_name("Paper Co"), lines=[
                PurchaseOrderLineAdd(item_ref=Ref.by_name("Plants"), quantity=Decimal(7),
                                     rate=Decimal("3.333"))]), "total_amount", "23.33"),
            (BillAdd(vendor_ref=Ref.by_name("Paper Co"),
                     expense_line_add=[ExpenseLineAdd(account_ref=Ref.by_name("Services"),
                                                      amount=Decimal("12.50"))],
                     lines=[ItemLineAdd(item_ref=Ref.by_name("Plants"), quantity=Decimal(3),
                                        cost=Decimal("2.10"))]), "amount_due", "18.80"),
        ],
        ids=["SalesReceipt", "CreditMemo", "PurchaseOrder", "Bill"],
    )  # fmt: skip
    def test_totals(self, request_model: Any, total_field: str, total: str) -> None:
        """Line amount = quantity × rate (or cost), plus sales tax on taxable lines."""
        qb, _ = make()
        qb.seed(Vendor=[{"name": "Paper Co"}])
        ret = ok(qb, request_model)
        assert getattr(ret, total_field) == Decimal(total)

    def test_sales_receipt_lines_and_tax(self) -> None:
        qb, _ = make()
        ret = ok(qb, SalesReceiptAdd(customer_ref=Ref.by_name("Acme Corp"), lines=[
            SalesReceiptLineAdd(item_ref=Ref.by_name("Plants"), quantity=Decimal(3)),
            SalesReceiptLineAdd(item_ref=Ref.by_name("Consulting"), quantity=Decimal("1.5"),
                                rate=Decimal("100"))]))  # fmt: skip
        assert [line.amount for line in ret.lines] == [Decimal("38.97"), Decimal("150.00")]
        assert ret.lines[0].rate == Decimal("12.99")
        assert (ret.subtotal, ret.sales_tax_total) == (Decimal("188.97"), Decimal("2.83"))

    def test_payments_invoices_and_customer_balance(self) -> None:
        """A payment lowers the invoice's balance; the customer's Balance and its parent's
        TotalBalance follow invoices, credit memos and payments."""
        qb, _ = make()
        acme = ok(qb, invoice("Acme Corp"))  # 300.00
        job = ok(qb, invoice("Acme Corp:Job 7", ("Plants", "2")))  # 25.98 + 1.88 tax
        paid = ok(qb, ReceivePaymentAdd(
            customer_ref=Ref.by_name("Acme Corp"), total_amount=Decimal("120.00"),
            applied_to_txn_add=[AppliedToTxnAdd(txn_id=acme.txn_id,
                                                payment_amount=Decimal("100.00"))]))  # fmt: skip
        assert paid.unused_payment == Decimal("20.00")
        assert paid.applied_to_txn_ret[0].balance_remaining == Decimal("200.00")
        (after,) = [r for r in qb.records("Invoice") if r.txn_id == acme.txn_id]
        assert (after.balance_remaining, after.applied_amount, after.is_paid) == (
            Decimal("200.00"), Decimal("-100.00"), False
        )  # fmt: skip
        ok(qb, CreditMemoAdd(customer_ref=Ref.by_name("Acme Corp"), lines=[
            CreditMemoLineAdd(item_ref=Ref.by_name("Consulting"), quantity=Decimal("0.5"))]))
        balances = {c.full_name: (c.balance, c.total_balance) for c in qb.records("Customer")}
        assert balances["Acme Corp"] == (Decimal("105.00"), Decimal("132.86"))
        assert balances["Acme Corp:Job 7"] == (job.balance_remaining, job.balance_remaining)
        assert one(qb, TxnDel(txn_del_type="ReceivePayment", txn_id=paid.txn_id)).status_code == 0
        (restored,) = [r for r in qb.records("Invoice") if r.txn_id == acme.txn_id]
        assert restored.balance_remaining == Decimal("300.00")

    def test_overpaying_an_invoice_is_3210(self) -> None:
        qb, _ = make()
        acme = ok(qb, invoice())
        response = one(qb, ReceivePaymentAdd(
            customer_ref=Ref.by_name("Acme Corp"), total_amount=Decimal("500.00"),
            applied_to_txn_add=[AppliedToTxnAdd(txn_id=acme.txn_id,
                                                payment_amount=Decimal("300.01"))]))  # fmt: skip
        assert response.status_code == 3210
        assert "You cannot pay more than the amount due." in response.status_message
        assert qb.records("ReceivePayment") == ()

    def test_auto_apply_pays_the_oldest_first(self) -> None:
        qb, _ = make()
        old = ok(qb, invoice(txn_date=dt.date(2024, 4, 1)))
        new = ok(qb, invoice(txn_date=dt.date(2024, 4, 20)))
        ok(qb, ReceivePaymentAdd(customer_ref=Ref.by_name("Acme Corp"),
                                 total_amount=Decimal("350.00"), is_auto_apply=True))
        paid = {r.txn_id: r.balance_remaining for r in qb.records("Invoice")}
        assert paid == {old.txn_id: Decimal("0.00"), new.txn_id: Decimal("250.00")}


class TestSeeding:
    def test_records_of_an_unknown_type(self) -> None:
        qb, _ = make()
        with pytest.raises(ConfigurationError) as info:
            qb.records("Spaceship")
        assert info.value.field == "records['Spaceship']"
        assert [i.name for i in qb.records("Item")][:2] == ["CA Sales Tax", "Consulting"]

    def test_seed_lists_from_plain_data(self) -> None:
        qb = FakeQuickBooks(clock=lambda: START)
        # Records are added in order: the terms before the job that names them.
        created = qb.seed(
            {"StandardTerms": [{"name": "Net 9", "std_due_days": 9}]},
            Account=[{"name": "Checking", "account_type": "Bank"}],
            Item=[{"name": "Hours", "sales_or_purchase": {"price": "80.00"}}],
            Customer=[{"name": "Acme"}, {"full_name": "Acme:Roof", "terms_ref": "Net 9"}],
            Vendor=[{"name": "Paper Co"}],
        )
        assert len(created) == 6
        roof = qb.customer("Acme:Roof")
        assert roof.terms_id == qb.list_entry("Terms", "Net 9").list_id
        (hours,) = [i for i in qb.records("Item") if i.name == "Hours"]
        assert hours.sales_or_purchase.price == Decimal("80.00")
        assert qb.item("Hours").price == Decimal("80.00")
        # The engine uses what was seeded: an invoice prices the seeded item.
        ret = ok(qb, invoice("Acme:Roof", ("Hours", "2")))
        assert ret.subtotal == Decimal("160.00")
        assert ret.terms_ref is not None
        assert ret.terms_ref.full_name == "Net 9"

    @pytest.mark.parametrize(
        ("data", "field", "rule"),
        [
            ({"Customer": [{"name": "Acme Corp"}]}, "seed['Customer'][0]", "3100"),
            ({"Customer": [{"name": "X", "terms_ref": "Never"}]}, "seed['Customer'][0]", "3140"),
            ({"Customer": [{"nam": "X"}]}, "seed['Customer'][0]", "nam"),
            ({"Customer": [{"name": "x" * 42}]}, "seed['Customer'][0]", "41"),
            ({"Spaceship": [{"name": "X"}]}, "seed['Spaceship']", "not an object type"),
            ({"Customer": {"name": "X"}}, "seed['Customer']", "list of records"),
        ],
    )
    def test_bad_records_name_the_record_and_the_rule(
        self, data: dict[str, Any], field: str, rule: str
    ) -> None:
        qb, _ = make()
        with pytest.raises(ConfigurationError) as info:
            qb.seed(data)
        assert info.value.field.startswith(field)
        assert rule in str(info.value)


def test_a_web_connector_session_ends_the_connections_iterators() -> None:
    """The Web Connector double closes QuickBooks' connection when its session ends."""
    from tests.rig import Rig

    rig = Rig()
    rig.enqueue("1001")
    started = one(rig.qb, CustomerQuery(iterator="Start", max_returned=1))
    assert rig.qb.open_iterators == 1
    result = rig.run()
    assert result.completed
    assert rig.qb.open_iterators == 0
    again = CustomerQuery(iterator="Continue", iterator_id=started.iterator_id, max_returned=1)
    assert one(rig.qb, again).status_code == 3391
