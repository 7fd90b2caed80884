"""
qbwc.actuals: budget actuals from pulled Rets (docs/actuals.md), against the fake
QuickBooks' own totals, in any order of arrival, with every Ret shape it counts.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from qbwc.actuals import Actuals, CostKey, CostRet, PulledRet
from qbwc.exceptions import ConfigurationError
from qbwc.qbxml import (
    AppliedToTxnAdd,
    AppliedToTxnRet,
    BillAdd,
    BillMod,
    BillQuery,
    BillRet,
    CheckAdd,
    CheckQuery,
    CheckRet,
    CreditCardChargeAdd,
    CreditCardChargeQuery,
    CreditCardChargeRet,
    CreditCardCreditAdd,
    CreditCardCreditQuery,
    CreditCardCreditRet,
    ExpenseLineAdd,
    ExpenseLineMod,
    ExpenseLineRet,
    InvoiceAdd,
    InvoiceLineAdd,
    InvoiceRet,
    ItemGroupLineRet,
    ItemLineAdd,
    ItemLineRet,
    ItemReceiptAdd,
    ItemReceiptQuery,
    ItemReceiptRet,
    ReceivePaymentAdd,
    ReceivePaymentQuery,
    ReceivePaymentRet,
    Ref,
    TxnDel,
    TxnVoid,
    VendorCreditAdd,
    VendorCreditAddItemLineAdd,
    VendorCreditQuery,
    VendorCreditRet,
    build_request,
    parse_response,
)
from qbwc.testing import FakeQuickBooks

ROOF, DECK = "Dune Co:Roof", "Dune Co:Deck"
# Add type, its Query, its Ret's total field, the sign of its cost, its item line's Add type
KINDS: list[tuple[type, type, str, int, type]] = [
    (BillAdd, BillQuery, "amount_due", 1, ItemLineAdd),
    (CheckAdd, CheckQuery, "amount", 1, VendorCreditAddItemLineAdd),
    (CreditCardChargeAdd, CreditCardChargeQuery, "amount", 1, VendorCreditAddItemLineAdd),
    (ItemReceiptAdd, ItemReceiptQuery, "total_amount", 1, ItemLineAdd),
    (CreditCardCreditAdd, CreditCardCreditQuery, "amount", -1, VendorCreditAddItemLineAdd),
    (VendorCreditAdd, VendorCreditQuery, "credit_amount", -1, VendorCreditAddItemLineAdd),
]
RETS: dict[type, type] = {
    BillAdd: BillRet, CheckAdd: CheckRet, CreditCardChargeAdd: CreditCardChargeRet,
    ItemReceiptAdd: ItemReceiptRet, CreditCardCreditAdd: CreditCardCreditRet,
    VendorCreditAdd: VendorCreditRet,
}


def _books() -> FakeQuickBooks:
    books = FakeQuickBooks()
    materials = {"full_name": "Job Materials"}
    books.seed(
        Account=[
            {"name": "Checking", "account_type": "Bank"},
            {"name": "Visa", "account_type": "CreditCard"},
            {"name": "Job Materials", "account_type": "CostOfGoodsSold"},
            {"name": "Rent", "account_type": "Expense"},
        ],
        Item=[
            {"name": "Framing", "sales_or_purchase": {"price": "80.00", "account_ref": materials}},
            {"name": "Nails", "sales_or_purchase": {"price": "3.50", "account_ref": materials}},
        ],
        Customer=[{"name": "Dune Co"}, {"full_name": ROOF}, {"full_name": DECK}],
        Vendor=[{"name": "Lumber Yard"}],
    )
    return books


def _send(books: FakeQuickBooks, request: object) -> list[Any]:
    (answer,) = parse_response(books.process_request(build_request([request]).decode())).responses
    assert answer.status_code in (0, 1), (answer.status_code, answer.status_message)
    return list(answer.rets)


def _header(add: type) -> dict[str, Any]:
    if add in (BillAdd, ItemReceiptAdd, VendorCreditAdd):
        return {"vendor_ref": Ref.by_name("Lumber Yard")}
    account = "Checking" if add is CheckAdd else "Visa"
    return {"account_ref": Ref.by_name(account), "payee_entity_ref": Ref.by_name("Lumber Yard")}


def _pulled(books: FakeQuickBooks) -> list[PulledRet]:
    """Every cost transaction and payment, queried back as a pull would (with lines)."""
    rets: list[PulledRet] = []
    for _, query, _, _, _ in KINDS:
        rets += _send(books, query(include_line_items=True))
    rets += _send(books, ReceivePaymentQuery())
    return rets


def _fake_total(ret: CostRet) -> Decimal:
    """The fake QuickBooks' own total of a transaction, signed as cost."""
    for add, _, field, sign, _ in KINDS:
        if isinstance(ret, RETS[add]):
            total: Decimal = getattr(ret, field)
            return sign * total
    raise AssertionError(ret)


def test_actuals_equal_the_fakes_totals() -> None:
    """Every cost type and payments made in the fake, queried back: the actuals are its totals."""
    books = _books()
    expected_jobs: dict[str, Decimal] = {}
    expected_lines: dict[tuple[str | None, str, str], Decimal] = {}

    def expect(job: str | None, kind: str, target: str, amount: Decimal) -> None:
        if job is not None:
            expected_jobs[job] = expected_jobs.get(job, Decimal(0)) + amount
        key = (job, kind, target)
        expected_lines[key] = expected_lines.get(key, Decimal(0)) + amount

    for n, (add, _, _, sign, item_line) in enumerate(KINDS):
        roof, nails = Decimal(f"{100 + n}.25"), Decimal(n + 2)
        _send(
            books,
            add(
                **_header(add),
                expense_line_add=[
                    ExpenseLineAdd(
                        account_ref=Ref.by_name("Job Materials"), amount=roof,
                        customer_ref=Ref.by_name(ROOF),
                    ),
                    ExpenseLineAdd(account_ref=Ref.by_name("Rent"), amount=Decimal("50.00")),
                ],
                lines=[
                    item_line(
                        item_ref=Ref.by_name("Nails"), quantity=nails, cost=Decimal("1.10"),
                        customer_ref=Ref.by_name(DECK),
                    ),
                    item_line(
                        item_ref=Ref.by_name("Framing"), amount=Decimal("7.00"),
                        customer_ref=Ref.by_name(ROOF),
                    ),
                ],
            ),
        )
        expect(ROOF, "account", "Job Materials", sign * roof)
        expect(None, "account", "Rent", sign * Decimal("50.00"))
        expect(DECK, "item", "Nails", sign * nails * Decimal("1.10"))
        expect(ROOF, "item", "Framing", sign * Decimal("7.00"))

    (invoice,) = _send(
        books,
        InvoiceAdd(
            customer_ref=Ref.by_name(ROOF),
            lines=[InvoiceLineAdd(item_ref=Ref.by_name("Framing"), quantity=Decimal(3))],
        ),
    )
    for amount in ("100.00", "40.50"):
        _send(
            books,
            ReceivePaymentAdd(
                customer_ref=Ref.by_name(ROOF), total_amount=Decimal("150.00"),
                applied_to_txn_add=[
                    AppliedToTxnAdd(txn_id=invoice.txn_id, payment_amount=Decimal(amount))
                ],
            ),
        )

    actuals = Actuals()
    assert actuals.add_all(_pulled(books)) == len(KINDS) + 2
    names = actuals.full_names()
    by_name = {names[job]: total for job, total in actuals.cost_by_job().items()}
    assert by_name == expected_jobs
    assert {
        (names[k.job] if k.job else None, k.kind, names[k.target or ""]): total
        for k, total in actuals.cost_by_line().items()
    } == expected_lines
    assert actuals.overhead() == Decimal("100.00")  # rent: four costs and two credits of 50.00
    # the fake's own totals: per transaction, all together, and the invoice's payments
    fake = [ret for add, *_ in KINDS for ret in books.records(add.__name__[:-3])]
    per_txn: dict[str, Decimal] = {}
    for line in actuals.lines():
        per_txn[line.txn_id] = per_txn.get(line.txn_id, Decimal(0)) + line.amount
    assert per_txn == {ret.txn_id: _fake_total(ret) for ret in fake}
    assert actuals.total_cost() == sum((_fake_total(ret) for ret in fake), Decimal(0))
    (paid,) = books.invoices
    assert paid.applied_amount is not None
    assert actuals.received_by_invoice() == {invoice.txn_id: -paid.applied_amount}
    assert actuals.received_by_invoice()[invoice.txn_id] == Decimal("140.50")
    roof_id = books.customer(ROOF).list_id
    assert actuals.received_by_customer() == {roof_id: Decimal("300.00")}
    assert actuals.discounts_by_invoice() == {}
    every = [*actuals.cost_by_job().values(), *actuals.cost_by_line().values()]
    assert all(type(value) is Decimal for value in every)


def test_an_edited_bill_replaces_its_older_version_and_a_deleted_check_goes() -> None:
    """A bill edited in QuickBooks arrives again; a deleted check goes; old copies stay out."""
    books = _books()
    (bill,) = _send(
        books,
        BillAdd(
            vendor_ref=Ref.by_name("Lumber Yard"),
            expense_line_add=[
                ExpenseLineAdd(
                    account_ref=Ref.by_name("Job Materials"), amount=Decimal("80.00"),
                    customer_ref=Ref.by_name(ROOF),
                )
            ],
        ),
    )
    (check,) = _send(
        books,
        CheckAdd(
            **_header(CheckAdd),
            expense_line_add=[
                ExpenseLineAdd(
                    account_ref=Ref.by_name("Rent"), amount=Decimal("9.99"),
                    customer_ref=Ref.by_name(DECK),
                )
            ],
        ),
    )
    actuals = Actuals()
    first = _pulled(books)
    actuals.add_all(first)
    roof, deck = books.customer(ROOF).list_id, books.customer(DECK).list_id
    assert actuals.cost_by_job() == {roof: Decimal("80.00"), deck: Decimal("9.99")}

    (line,) = bill.expense_line_ret
    (edited,) = _send(
        books,
        BillMod(
            txn_id=bill.txn_id, edit_sequence=bill.edit_sequence,
            expense_line_mod=[
                ExpenseLineMod(
                    txn_line_id=line.txn_line_id, amount=Decimal("120.00"),
                    customer_ref=Ref.by_name(DECK),
                )
            ],
        ),
    )
    assert edited.amount_due == Decimal("120.00")
    _send(books, TxnDel(txn_del_type="Check", txn_id=check.txn_id))
    second = _pulled(books)
    assert actuals.add_all(second) == 1  # the bill; nothing else changed
    assert actuals.remove(check.txn_id) is True
    assert actuals.add_all(first) == 0  # the old bill and the deleted check: stale
    assert actuals.cost_by_job() == {deck: Decimal("120.00")}
    assert actuals.total_cost() == sum((_fake_total(r) for r in books.records("Bill")), Decimal(0))
    assert check.txn_id not in actuals
    assert bill.txn_id in actuals
    assert len(actuals) == 1


def test_a_voided_charge_counts_as_zero_and_a_deleted_payment_goes() -> None:
    """A charge voided in QuickBooks (amounts zero) arrives again; a deleted payment is removed."""
    books = _books()
    (charge,) = _send(
        books,
        CreditCardChargeAdd(
            **_header(CreditCardChargeAdd),
            expense_line_add=[
                ExpenseLineAdd(
                    account_ref=Ref.by_name("Job Materials"), amount=Decimal("64.00"),
                    customer_ref=Ref.by_name(ROOF),
                )
            ],
        ),
    )
    (invoice,) = _send(
        books,
        InvoiceAdd(
            customer_ref=Ref.by_name(ROOF),
            lines=[InvoiceLineAdd(item_ref=Ref.by_name("Framing"), quantity=Decimal(1))],
        ),
    )
    (payment,) = _send(
        books,
        ReceivePaymentAdd(
            customer_ref=Ref.by_name(ROOF), total_amount=Decimal("80.00"),
            applied_to_txn_add=[
                AppliedToTxnAdd(txn_id=invoice.txn_id, payment_amount=Decimal("80.00"))
            ],
        ),
    )
    actuals = Actuals()
    actuals.add_all(_pulled(books))
    roof = books.customer(ROOF).list_id
    assert actuals.cost_by_job() == {roof: Decimal("64.00")}
    assert actuals.received_by_invoice() == {invoice.txn_id: Decimal("80.00")}
    _send(books, TxnVoid(txn_void_type="CreditCardCharge", txn_id=charge.txn_id))
    _send(books, TxnDel(txn_del_type="ReceivePayment", txn_id=payment.txn_id))
    assert actuals.add_all(_pulled(books)) == 1
    assert actuals.remove(payment.txn_id) is True
    assert actuals.cost_by_job() == {roof: Decimal("0.00")}
    assert actuals.total_cost() == Decimal("0.00")
    (unpaid,) = books.invoices
    assert unpaid.applied_amount == 0
    assert actuals.received_by_invoice() == {}
    assert actuals.received_by_customer() == {}


# --- Ret shapes ------------------------------------------------------------------------------

_JOB = Ref(list_id="80000001-1", full_name="Acme:Job 1")
_WHEN = dt.datetime(2026, 5, 1, 9, 30, tzinfo=dt.UTC)


def _cost_ret(ret_type: type, txn_id: str, version: int, amounts: tuple[Decimal, ...]) -> CostRet:
    """A Ret of *ret_type* with an expense line, an item line and a group of item lines."""
    expense, item, grouped_a, grouped_b = (*amounts, Decimal(0), Decimal(0), Decimal(0))[:4]
    lines = (
        ItemLineRet(
            txn_line_id=f"{txn_id}-2", item_ref=Ref(list_id="I1", full_name="Nails"),
            amount=item, customer_ref=None,
        ),
        ItemGroupLineRet(
            txn_line_id=f"{txn_id}-3", item_group_ref=Ref(list_id="G1", full_name="Kit"),
            total_amount=grouped_a + grouped_b,
            item_line_ret=(
                ItemLineRet(
                    txn_line_id=f"{txn_id}-4", item_ref=Ref(list_id="I2", full_name="Framing"),
                    amount=grouped_a, customer_ref=_JOB,
                ),
                ItemLineRet(
                    txn_line_id=f"{txn_id}-5", item_ref=Ref(list_id="I1", full_name="Nails"),
                    amount=grouped_b, customer_ref=_JOB,
                ),
            ),
        ),
    )
    total = expense + item + grouped_a + grouped_b
    field = {
        BillRet: "amount_due", ItemReceiptRet: "total_amount", VendorCreditRet: "credit_amount"
    }
    ret: CostRet = ret_type(
        txn_id=txn_id, edit_sequence=str(1000 + version),
        time_modified=_WHEN + dt.timedelta(minutes=version),
        expense_line_ret=(
            ExpenseLineRet(
                txn_line_id=f"{txn_id}-1", account_ref=Ref(list_id="A1", full_name="Materials"),
                amount=expense, customer_ref=_JOB,
            ),
        ),
        lines=lines,
        **{field.get(ret_type, "amount"): total},
    )
    return ret


COST_TYPES = [
    (BillRet, 1), (CheckRet, 1), (CreditCardChargeRet, 1), (ItemReceiptRet, 1),
    (CreditCardCreditRet, -1), (VendorCreditRet, -1),
]


@pytest.mark.parametrize(("ret_type", "sign"), COST_TYPES, ids=lambda v: getattr(v, "__name__", ""))
def test_every_cost_ret_shape(ret_type: type, sign: int) -> None:
    """Expense lines, item lines and a group's item lines; credits count with a minus sign."""
    amounts = (Decimal("10.00"), Decimal("2.50"), Decimal("30.00"), Decimal("0.75"))
    actuals = Actuals()
    assert actuals.add(_cost_ret(ret_type, "T1", 0, amounts)) is True
    assert actuals.cost_by_job() == {"80000001-1": sign * Decimal("40.75")}
    assert actuals.overhead() == sign * Decimal("2.50")
    assert actuals.total_cost() == sign * Decimal("43.25")
    assert actuals.cost_by_line() == {
        CostKey(job="80000001-1", kind="account", target="A1"): sign * Decimal("10.00"),
        CostKey(job=None, kind="item", target="I1"): sign * Decimal("2.50"),
        CostKey(job="80000001-1", kind="item", target="I2"): sign * Decimal("30.00"),
        CostKey(job="80000001-1", kind="item", target="I1"): sign * Decimal("0.75"),
    }
    grouped = [line for line in actuals.lines() if line.group is not None]
    assert {line.group for line in grouped} == {Ref(list_id="G1", full_name="Kit")}
    assert actuals.full_names()["80000001-1"] == "Acme:Job 1"


def test_a_payment_ret_shape() -> None:
    """AppliedToTxnRet: Amount per invoice, DiscountAmount apart; TotalAmount per customer."""
    payment = ReceivePaymentRet(
        txn_id="P1", edit_sequence="1", customer_ref=_JOB, total_amount=Decimal("500.00"),
        applied_to_txn_ret=(
            AppliedToTxnRet(txn_id="INV1", txn_type="Invoice", amount=Decimal("300.00"),
                            discount_amount=Decimal("6.00")),
            AppliedToTxnRet(txn_id="INV2", txn_type="Invoice", amount=Decimal("150.00")),
        ),
    )
    actuals = Actuals()
    actuals.add(payment)
    assert actuals.received_by_invoice() == {"INV1": Decimal("300.00"), "INV2": Decimal("150.00")}
    assert actuals.discounts_by_invoice() == {"INV1": Decimal("6.00")}
    assert actuals.received_by_customer() == {"80000001-1": Decimal("500.00")}
    assert actuals.cost_by_job() == {}


# --- bad input ---------------------------------------------------------------------------------


def test_what_the_actuals_refuse() -> None:
    actuals = Actuals()
    with pytest.raises(ConfigurationError) as caught:
        actuals.add(InvoiceRet(txn_id="X"))  # type: ignore[arg-type]
    assert caught.value.field == "ret"
    assert "InvoiceRet" in caught.value.rule
    with pytest.raises(ConfigurationError) as caught:
        actuals.add(BillRet(amount_due=Decimal(1)))
    assert caught.value.field == "ret.txn_id"
    with pytest.raises(ConfigurationError) as caught:
        actuals.add(BillRet(txn_id="B1", amount_due=Decimal("12.00")))
    assert caught.value.field == "ret.lines"
    assert "include_line_items" in caught.value.rule
    assert len(actuals) == 0
    actuals.add(BillRet(txn_id="B0", amount_due=Decimal("0.00")))  # an empty bill: nothing to count


def test_amounts_in_different_currencies_are_not_added_up() -> None:
    euro = attrs.evolve(
        _cost_ret(BillRet, "E1", 0, (Decimal("5.00"),)),
        currency_ref=Ref(full_name="Euro"),
    )
    actuals = Actuals()
    actuals.add_all([_cost_ret(BillRet, "U1", 0, (Decimal("7.00"),)), euro])
    with pytest.raises(ConfigurationError) as caught:
        actuals.cost_by_job()
    assert caught.value.field == "currency"
    assert "'Euro'" in caught.value.rule
    assert actuals.currencies() == {"", "Euro"}
    assert actuals.cost_by_job(currency="Euro") == {"80000001-1": Decimal("5.00")}
    assert actuals.cost_by_job(currency="") == {"80000001-1": Decimal("7.00")}


# --- any order of arrival ---------------------------------------------------------------------

_amount = st.decimals(min_value=-1000, max_value=1000, places=2, allow_nan=False)


@st.composite
def _histories(draw: st.DrawFn) -> tuple[list[list[PulledRet]], set[str]]:
    """Transactions, each a list of its versions (oldest first), and the TxnIDs deleted."""
    histories: list[list[PulledRet]] = []
    for n in range(draw(st.integers(1, 6))):
        versions = draw(st.integers(1, 4))
        if draw(st.booleans()):
            ret_type = draw(st.sampled_from([t for t, _ in COST_TYPES]))
            histories.append([
                _cost_ret(
                    ret_type, f"T{n}", v, tuple(draw(st.lists(_amount, min_size=1, max_size=4)))
                )
                for v in range(versions)
            ])
        else:
            histories.append([
                ReceivePaymentRet(
                    txn_id=f"T{n}", edit_sequence=str(1000 + v),
                    time_modified=_WHEN + dt.timedelta(minutes=v),
                    customer_ref=draw(st.sampled_from([_JOB, Ref(list_id="C2")])),
                    total_amount=draw(_amount),
                    applied_to_txn_ret=tuple(
                        AppliedToTxnRet(txn_id=invoice, txn_type="Invoice", amount=draw(_amount))
                        for invoice in draw(st.lists(st.sampled_from(["I1", "I2", "I3"])))
                    ),
                )
                for v in range(versions)
            ])
    deleted = draw(st.sets(st.sampled_from([h[0].txn_id or "" for h in histories])))
    return histories, deleted


def _totals(actuals: Actuals) -> tuple[object, ...]:
    return (
        actuals.cost_by_job(currency=""), actuals.cost_by_line(currency=""),
        actuals.overhead(currency=""), actuals.received_by_invoice(currency=""),
        actuals.received_by_customer(currency=""), len(actuals),
    )


@given(_histories(), st.randoms(use_true_random=False), st.integers(0, 3))
def test_any_order_duplicates_and_edits_give_the_final_versions_totals(
    drawn: tuple[list[list[PulledRet]], set[str]], rnd: random.Random, copies: int
) -> None:
    histories, deleted = drawn
    final = Actuals()
    final.add_all(h[-1] for h in histories if h[-1].txn_id not in deleted)

    # every version, each 1 + copies times, in any order; a deletion at any point
    arrivals: list[PulledRet | str] = [ret for h in histories for ret in h * (1 + copies)]
    rnd.shuffle(arrivals)
    for txn_id in deleted:
        arrivals.insert(rnd.randrange(len(arrivals) + 1), txn_id)
    actuals = Actuals()
    for arrival in arrivals:
        if isinstance(arrival, str):
            actuals.remove(arrival)
        else:
            actuals.add(arrival)
    assert _totals(actuals) == _totals(final)
