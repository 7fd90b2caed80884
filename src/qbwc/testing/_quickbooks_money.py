"""
``FakeQuickBooks``' arithmetic beyond InvoiceAdd/EstimateAdd: the lines and
totals of sales and purchase transactions added or changed through the whole
vocabulary, payments applied to invoices, and a customer's balance
(docs/testing.md, "Amounts and balances").

Lines are computed by the invoice engine's :func:`compute_lines` (amount =
quantity × rate, rounded half away from zero; a percentage applies to the line
above; a subtotal adds up the lines above it), so every type rounds the same
way; sales tax is the taxable amount × the sales-tax item's rate.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Final

import attrs

from qbwc.qbxml._types import Kind, Ref, specs, vocabulary
from qbwc.testing._quickbooks_state import (
    Company,
    Customer,
    Item,
    ItemKind,
    ListEntry,
    ListKind,
    line_amount,
    percent_of,
    tidy,
    to_cents,
)
from qbwc.testing._quickbooks_txn import Line, Refusal, _as_rate, _check_amount, compute_lines

__all__ = ["PURCHASE_TYPES", "SALES_TYPES", "compute", "customer_balances", "unapply_payment"]

#: Sales forms: lines with Rate, a subtotal, sales tax and a total.
SALES_TYPES: Final = frozenset({"Invoice", "Estimate", "SalesReceipt", "CreditMemo", "SalesOrder"})
#: Purchase forms: item lines (Rate or Cost) and expense lines add up to the total.
PURCHASE_TYPES: Final = frozenset(
    {"PurchaseOrder", "Bill", "Check", "CreditCardCharge", "CreditCardCredit", "ItemReceipt",
     "VendorCredit"}
)  # fmt: skip
_ZERO: Final = Decimal("0.00")
_TOTAL_FIELDS: Final = ("total_amount", "amount_due", "amount", "credit_amount")
#: Quantities QuickBooks reports on a new object that the fake has no stock for.
_FILLED: Final[dict[str, dict[str, Any]]] = {
    "BuildAssembly": {
        "quantity_can_build": Decimal(0),
        "quantity_on_hand": Decimal(0),
        "quantity_on_sales_order": Decimal(0),
    },
}


def _inventory_adjustment(ret: Any, model: Any) -> Any:
    """Each line's QuantityDifference (or ValueDifference), from the quantity on hand 0."""
    lines = []
    for line, asked in zip(ret.inventory_adjustment_line_ret, model.inventory_adjustment_line_add,
                           strict=False):  # fmt: skip
        quantity = asked.quantity_adjustment or asked.value_adjustment
        difference: Decimal | None = Decimal(0)
        if quantity is not None:
            difference = quantity.quantity_difference
            if difference is None:
                difference = quantity.new_quantity
        changes: dict[str, Any] = {
            "quantity_difference": difference,
            "value_difference": Decimal("0.00"),
        }
        if asked.serial_number_adjustment is not None:
            serial = asked.serial_number_adjustment
            added = serial.add_serial_number is not None
            changes["serial_number"] = serial.add_serial_number or serial.remove_serial_number
            changes["serial_number_added_or_removed"] = "Added" if added else "Removed"
            changes["quantity_difference"] = Decimal(1 if added else -1)
        lot = asked.lot_number_adjustment
        if lot is not None:
            changes["lot_number"] = lot.lot_number
            changes["quantity_difference"] = Decimal(lot.count_adjustment or 0)
        lines.append(_set(line, **{k: v for k, v in changes.items() if v is not None}))
    return _set(ret, inventory_adjustment_line_ret=tuple(lines))


def _has(value: Any, field: str) -> bool:
    return any(name == field for name, _ in specs(type(value)))


def _set(value: Any, **changes: Any) -> Any:
    return attrs.evolve(value, **{k: v for k, v in changes.items() if _has(value, k)})


def compute(
    type_name: str,
    ret: Any,
    company: Company,
    *,
    model: Any,
    now: dt.datetime,
    previous: Any = None,
) -> Any:
    """
    *ret* with its amounts computed as QuickBooks would (other types: unchanged).

    Raises:
        Refusal: 3210 for an amount beyond AMTTYPE's 13 digits, as QuickBooks refuses it.
    """
    if type_name in SALES_TYPES:
        return _checked(_sales(type_name, ret, company, previous))
    if type_name in PURCHASE_TYPES:
        return _checked(_purchase(ret, company, previous))
    if type_name == "ReceivePayment" and previous is None:
        return _receive_payment(ret, model, company, now)
    if type_name in _FILLED and previous is None:
        return _set(ret, **_FILLED[type_name])
    if type_name == "InventoryAdjustment" and previous is None:
        return _inventory_adjustment(ret, model)
    if type_name == "Charge" and previous is None and _has(ret, "balance_remaining"):
        amount = ret.amount
        if amount is None:
            quantity = ret.quantity if ret.quantity is not None else Decimal(1)
            amount = line_amount(quantity, ret.rate or Decimal(0))
        return _checked(
            _set(ret, amount=amount, balance_remaining=amount, is_paid=amount == 0)
        )
    return ret


def _checked(ret: Any) -> Any:
    for name, spec in specs(type(ret)):
        value = getattr(ret, name)
        if spec.kind is Kind.AMT and value is not None:
            _check_amount(spec.tag, value)
        elif name == "lines":
            for line in value:
                amount = getattr(line, "amount", None)
                if amount is not None:
                    _check_amount("Amount", amount)
    return ret


# --- lines ---------------------------------------------------------------------


def _item(company: Company, ref: Ref | None) -> Item | None:
    entry = None if ref is None else company.find(ListKind.ITEM, ref)
    return entry if isinstance(entry, Item) else None


def _lines(
    lines: tuple[Any, ...], company: Company, price_field: str
) -> tuple[tuple[Any, ...], list[tuple[Any, Decimal | None]]]:
    """The lines with Amount (and Rate where computed), and ``(line, amount)`` to total."""
    calcs: list[tuple[int, Line, bool]] = []
    out = list(lines)
    for index, line in enumerate(lines):
        if not _has(line, "item_ref") or _has(line, "item_group_ref"):
            continue
        item = _item(company, line.item_ref)
        recompute = line.amount is None
        calc = Line(
            item=item,
            quantity=line.quantity,
            rate=getattr(line, price_field, None),
            rate_percent=getattr(line, "rate_percent", None),
            amount=line.amount,
        )
        calcs.append((index, calc, recompute))
    compute_lines([c for _, c, _ in calcs])
    for index, calc, recompute in calcs:
        line = out[index]
        changes: dict[str, Any] = {"amount": calc.out_amount}
        if recompute and calc.out_rate is not None and calc.item is not None:
            changes[price_field] = _as_rate(calc.out_rate)
        if recompute and calc.out_rate_percent is not None:
            changes["rate_percent"] = tidy(calc.out_rate_percent)
        out[index] = _set(line, **changes)
    totals: list[tuple[Any, Decimal | None]] = []
    for index, line in enumerate(out):
        if _has(line, "item_group_ref"):
            members = [
                m for name, spec in specs(type(line)) if spec.many
                for m in getattr(line, name) if _has(m, "amount")
            ]  # fmt: skip
            total = to_cents(sum((m.amount or _ZERO for m in members), _ZERO))
            out[index] = _set(
                line,
                total_amount=total,
                quantity=line.quantity if line.quantity is not None else Decimal(1),
                is_print_items_in_group=bool(getattr(line, "is_print_items_in_group", False)),
            )
            totals.append((line, total))
        else:
            item = _item(company, getattr(line, "item_ref", None))
            if item is not None and item.kind is ItemKind.SUBTOTAL:
                continue
            totals.append((line, getattr(line, "amount", None)))
    return tuple(out), totals


def _entry(company: Company, kind: ListKind, ref: Ref | None) -> Any:
    return None if ref is None else company.find(kind, ref)


def _ref(entry: Any) -> Ref | None:
    return None if entry is None else Ref(list_id=entry.list_id, full_name=entry.full_name)


def _sales(type_name: str, ret: Any, company: Company, previous: Any) -> Any:
    lines, totals = _lines(ret.lines, company, "rate")
    customer = _entry(company, ListKind.CUSTOMER, getattr(ret, "customer_ref", None))
    customer = customer if isinstance(customer, Customer) else None
    tax_item = _entry(company, ListKind.ITEM, ret.item_sales_tax_ref)
    if tax_item is None and customer is not None and customer.item_sales_tax_id is not None:
        tax_item = company.get(ListKind.ITEM, customer.item_sales_tax_id)
    default = company.preferences.default_item_sales_tax
    if tax_item is None and default is not None:
        tax_item = company.by_name(ListKind.ITEM, default)
    code = _entry(company, ListKind.SALES_TAX_CODE, ret.customer_sales_tax_code_ref)
    if code is None and customer is not None and customer.sales_tax_code_id is not None:
        code = company.get(ListKind.SALES_TAX_CODE, customer.sales_tax_code_id)
    subtotal = to_cents(sum((a or _ZERO for _, a in totals), _ZERO))
    taxable = _ZERO
    for line, amount in totals:
        line_ref = getattr(line, "sales_tax_code_ref", None)
        line_code = _entry(company, ListKind.SALES_TAX_CODE, line_ref)
        item = _item(company, getattr(line, "item_ref", None))
        if line_code is None and item is not None and item.sales_tax_code_id is not None:
            line_code = company.get(ListKind.SALES_TAX_CODE, item.sales_tax_code_id)
        if isinstance(line_code, ListEntry) and line_code.taxable and amount is not None:
            taxable += amount
    rate = tax_item.percent if isinstance(tax_item, Item) and tax_item.percent else Decimal(0)
    customer_taxable = not isinstance(code, ListEntry) or code.taxable is not False
    tax = percent_of(taxable, rate) if customer_taxable else _ZERO
    total = to_cents(subtotal + tax)
    changes: dict[str, Any] = {
        "lines": lines,
        "subtotal": subtotal,
        "item_sales_tax_ref": _ref(tax_item),
        "sales_tax_percentage": tidy(rate),
        "sales_tax_total": tax,
        "total_amount": total,
    }
    if type_name == "Invoice":
        applied = ret.applied_amount if ret.applied_amount is not None else _ZERO
        balance = to_cents(total + applied)
        changes.update(applied_amount=applied, balance_remaining=balance, is_paid=balance <= 0)
    elif type_name == "CreditMemo":
        used = _ZERO
        if previous is not None and previous.total_amount is not None:
            used = previous.total_amount - (previous.credit_remaining or _ZERO)
        changes["credit_remaining"] = to_cents(total - used)
    return _set(ret, **changes)


def _purchase(ret: Any, company: Company, previous: Any) -> Any:
    price_field = "rate" if _has(ret.lines[0] if ret.lines else ret, "rate") else "cost"
    lines, totals = _lines(ret.lines, company, price_field)
    expenses = getattr(ret, "expense_line_ret", ())
    total = to_cents(
        sum((a or _ZERO for _, a in totals), _ZERO)
        + sum((e.amount or _ZERO for e in expenses), _ZERO)
    )
    changes: dict[str, Any] = {"lines": lines}
    for field in _TOTAL_FIELDS:
        if _has(ret, field):
            changes[field] = total
            break
    if _has(ret, "open_amount"):
        paid = _ZERO
        if previous is not None and previous.open_amount is not None:
            old_total = next(
                (getattr(previous, f) for f in _TOTAL_FIELDS if _has(previous, f)), _ZERO
            )
            paid = (old_total or _ZERO) - previous.open_amount
        changes["open_amount"] = to_cents(total - paid)
        changes["is_paid"] = total - paid <= 0
    return _set(ret, **changes)


# --- payments --------------------------------------------------------------------


def _invalid(tag: str, value: Decimal, reason: str) -> Refusal:
    return Refusal(
        3210,
        f'The "{tag}" field has an invalid value "{value}".  QuickBooks error message: {reason}',
    )


def _open_invoices(company: Company, customer_id: str | None) -> list[Any]:
    return [
        inv
        for inv in company.objects.get("Invoice", {}).values()
        if inv.customer_ref is not None
        and inv.customer_ref.list_id == customer_id
        and (inv.balance_remaining or _ZERO) > 0
    ]


def _receive_payment(ret: Any, model: Any, company: Company, now: dt.datetime) -> Any:
    customer_id = ret.customer_ref.list_id if ret.customer_ref is not None else None
    plan: list[tuple[Any, Decimal]] = []
    if getattr(model, "is_auto_apply", None):
        left = ret.total_amount or _ZERO
        for invoice in sorted(_open_invoices(company, customer_id), key=lambda i: i.txn_date):
            if left <= 0:
                break
            amount = min(left, invoice.balance_remaining)
            plan.append((invoice, amount))
            left -= amount
    for applied in getattr(model, "applied_to_txn_add", ()):
        invoice = company.objects.get("Invoice", {}).get(applied.txn_id)
        if invoice is None or invoice.customer_ref.list_id != customer_id:
            raise Refusal(
                3120, f'Object "{applied.txn_id}" specified in the request cannot be found.'
            )
        amount = applied.payment_amount if applied.payment_amount is not None else _ZERO
        if amount > (invoice.balance_remaining or _ZERO):
            raise _invalid("PaymentAmount", amount, "You cannot pay more than the amount due.")
        plan.append((invoice, amount))
    applied_total = to_cents(sum((a for _, a in plan), _ZERO))
    total = ret.total_amount if ret.total_amount is not None else applied_total
    if applied_total > total:
        raise _invalid("TotalAmount", total, "The payment is less than the amounts applied.")
    applied_rets = []
    applied_model = vocabulary().model("AppliedToTxnRet")
    linked_model = vocabulary().model("LinkedTxn")
    for invoice, amount in plan:
        balance = to_cents(invoice.balance_remaining - amount)
        link = linked_model(
            txn_id=ret.txn_id,
            txn_type="ReceivePayment",
            txn_date=ret.txn_date,
            ref_number=ret.ref_number,
            link_type="AMTTYPE",
            amount=-amount,
        )
        changed = attrs.evolve(
            invoice,
            applied_amount=to_cents((invoice.applied_amount or _ZERO) - amount),
            balance_remaining=balance,
            is_paid=balance <= 0,
            linked_txn=(*invoice.linked_txn, link),
            time_modified=now,
            edit_sequence=company.next_edit_sequence(now, invoice.edit_sequence),
        )
        company.replace_txn("Invoice", changed)
        applied_rets.append(
            applied_model(
                txn_id=invoice.txn_id,
                txn_type="Invoice",
                txn_date=invoice.txn_date,
                ref_number=invoice.ref_number,
                balance_remaining=balance,
                amount=amount,
            )
        )
    return _set(
        ret,
        total_amount=total,
        unused_payment=to_cents(total - applied_total),
        unused_credits=_ZERO,
        applied_to_txn_ret=tuple(applied_rets),
    )


def unapply_payment(company: Company, payment: Any, now: dt.datetime) -> None:
    """Give the invoices a deleted or voided payment paid their balance back."""
    for applied in getattr(payment, "applied_to_txn_ret", ()):
        invoice = company.objects.get("Invoice", {}).get(applied.txn_id)
        if invoice is None or applied.amount is None:
            continue
        balance = to_cents((invoice.balance_remaining or _ZERO) + applied.amount)
        company.replace_txn(
            "Invoice",
            attrs.evolve(
                invoice,
                applied_amount=to_cents((invoice.applied_amount or _ZERO) + applied.amount),
                balance_remaining=balance,
                is_paid=balance <= 0,
                linked_txn=tuple(t for t in invoice.linked_txn if t.txn_id != payment.txn_id),
                time_modified=now,
                edit_sequence=company.next_edit_sequence(now, invoice.edit_sequence),
            ),
        )


# --- balances ----------------------------------------------------------------------


def customer_balances(company: Company) -> dict[str, tuple[Decimal, Decimal]]:
    """``ListID → (Balance, TotalBalance)`` of every customer and job."""
    own: dict[str, Decimal] = dict(company.opening_balances)

    def add(ref: Ref | None, amount: Decimal | None) -> None:
        if ref is not None and ref.list_id is not None and amount:
            own[ref.list_id] = own.get(ref.list_id, _ZERO) + amount

    objects = company.objects
    for invoice in objects.get("Invoice", {}).values():
        add(invoice.customer_ref, invoice.balance_remaining)
    for charge in objects.get("Charge", {}).values():
        add(charge.customer_ref, charge.balance_remaining)
    for memo in objects.get("CreditMemo", {}).values():
        add(memo.customer_ref, -(memo.credit_remaining or _ZERO))
    for payment in objects.get("ReceivePayment", {}).values():
        add(payment.customer_ref, -(payment.unused_payment or _ZERO))
    customers = objects.get("Customer", {})
    totals: dict[str, Decimal] = {}
    for list_id, customer in customers.items():
        amount = own.get(list_id, _ZERO)
        totals[list_id] = totals.get(list_id, _ZERO) + amount
        parent = customer.parent_ref
        seen = 0
        while parent is not None and parent.list_id in customers and seen < 100:
            totals[parent.list_id] = totals.get(parent.list_id, _ZERO) + amount
            parent = customers[parent.list_id].parent_ref
            seen += 1
    return {
        list_id: (to_cents(own.get(list_id, _ZERO)), to_cents(totals.get(list_id, _ZERO)))
        for list_id in customers
    }
