"""
``FakeQuickBooks`` creating a transaction: resolving Refs, computing lines and
totals the way QuickBooks does, refusing with its status codes, and building
the InvoiceRet/EstimateRet it stores (docs/protocol.md, "qbXML message sets", "Status
codes" and "Amounts on lines"; ``docs/testing.md``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, Final

import attrs

from qbwc.qbxml._requests import (
    EstimateAdd,
    EstimateLineGroupAdd,
    InvoiceAdd,
    InvoiceLineGroupAdd,
)
from qbwc.qbxml._responses import (
    AddressBlock,
    DataExtRet,
    EstimateLineGroupRet,
    EstimateLineRet,
    EstimateRet,
    InvoiceLineGroupRet,
    InvoiceLineRet,
    InvoiceRet,
)
from qbwc.qbxml._types import Address, DataExt, Ref
from qbwc.testing._quickbooks_state import (
    AMOUNT_LIMIT,
    PRICE_LIMIT,
    Company,
    Customer,
    Item,
    ItemKind,
    ListEntry,
    ListKind,
    TransactionRecord,
    derive_rate,
    line_amount,
    percent_of,
    plausible_id,
    tidy,
    to_cents,
    to_quantity,
)

_NOT_FOUND_TAIL: Final = (
    "  QuickBooks error message: Invalid argument.  The specified record does not exist "
    "in the list."
)
FEATURE_OFF: Final = "This feature is not enabled or not available in this version of QuickBooks."
MODIFIED: Final = "This list has been modified by another user."
_CLOSED: Final = (
    "An attempt was made to modify a {txn} with a date that is on or before the closing date "
    "of the company.  If you are sure you really want to do this, please ask a supervisor to "
    "change the closing date or set the date of this transaction to be after the closing date."
)


class Refusal(Exception):
    """A business-rule failure: becomes a status code on the response."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@attrs.define
class Line:
    """One line being computed (a plain line, or a member of a group)."""

    item: Item | None
    quantity: Decimal | None
    rate: Decimal | None
    rate_percent: Decimal | None
    amount: Decimal | None
    markup_rate: Decimal | None = None
    markup_rate_percent: Decimal | None = None
    price_level_percent: Decimal | None = None
    # results
    out_rate: Decimal | None = None
    out_rate_percent: Decimal | None = None
    out_amount: Decimal | None = None
    is_subtotal: bool = False


def compute_lines(lines: Sequence[Line]) -> None:
    """
    Fill in each line's Rate/RatePercent/Amount the way QuickBooks computes them.

    * ``quantity`` and ``rate`` → ``amount = quantity × rate`` rounded to cents
      (a missing quantity counts as 1; a missing rate is the item's price,
      adjusted by a price level);
    * ``amount`` given → it wins; ``rate = amount / quantity`` (5 decimals), or
      ``rate = amount`` without a quantity (QuickBooks ignores a Rate sent with
      an Amount);
    * a percentage (``rate_percent``, or a percentage item) applies to the line
      directly above that has an amount: a group's total, or a Subtotal item;
    * a Subtotal item adds up the lines above it back to the previous subtotal;
    * discount items always subtract;
    * estimate markup: ``markup_rate`` is added to the rate per unit,
      ``markup_rate_percent`` raises the rate by that percentage.
    """
    previous: Decimal | None = None
    since_subtotal = Decimal(0)
    for line in lines:
        item = line.item
        kind = item.kind if item is not None else None
        if kind is ItemKind.SUBTOTAL:
            line.is_subtotal = True
            line.out_amount = to_cents(since_subtotal)
            previous = line.out_amount
            since_subtotal = Decimal(0)
            continue
        discount = kind is ItemKind.DISCOUNT
        percent = line.rate_percent
        if (
            percent is None
            and line.rate is None
            and line.amount is None
            and item is not None
            and item.percent is not None
        ):
            percent = item.percent
        if line.amount is not None:
            amount = -abs(line.amount) if discount else line.amount
            line.out_amount = amount
            if percent is not None:
                line.out_rate_percent = -abs(percent) if discount else percent
            elif line.quantity is not None:
                line.out_rate = derive_rate(amount, line.quantity)
            else:
                line.out_rate = tidy(amount)
        elif percent is not None:
            percent = -abs(percent) if discount else percent
            line.out_rate_percent = percent
            line.out_amount = percent_of(previous or Decimal(0), percent)
        else:
            rate = line.rate
            if rate is None and item is not None and item.price is not None:
                rate = item.price
                if line.price_level_percent is not None:
                    rate = to_cents(rate + percent_of(rate, line.price_level_percent))
            if rate is None:
                if item is None:
                    continue  # a text line: no amount at all
                rate = Decimal(0)
            if discount:
                rate = -abs(rate)
            unit = rate
            if line.markup_rate is not None:
                unit = rate + line.markup_rate
            elif line.markup_rate_percent is not None:
                unit = rate + rate * line.markup_rate_percent / 100
            quantity = line.quantity if line.quantity is not None else Decimal(1)
            line.out_rate = tidy(rate)
            line.out_amount = line_amount(quantity, unit)
        assert line.out_amount is not None
        previous = line.out_amount
        since_subtotal += line.out_amount


def _address_block(address: Address | None) -> AddressBlock | None:
    if address is None:
        return None
    lines = [
        text
        for text in (address.addr1, address.addr2, address.addr3, address.addr4, address.addr5)
        if text
    ]
    city_line = " ".join(
        part
        for part in (
            f"{address.city},"
            if address.city and (address.state or address.postal_code)
            else address.city,
            address.state,
            address.postal_code,
        )
        if part
    )
    if city_line:
        lines.append(city_line)
    if address.country:
        lines.append(address.country)
    if not lines:
        return None
    padded: list[str | None] = [text[:41] for text in lines[:5]]
    padded += [None] * (5 - len(padded))
    return AddressBlock(
        addr1=padded[0], addr2=padded[1], addr3=padded[2], addr4=padded[3], addr5=padded[4]
    )


class Creation:
    """Build the Ret of one InvoiceAdd/EstimateAdd, or raise :class:`Refusal`."""

    def __init__(self, company: Company, model: InvoiceAdd | EstimateAdd, now: dt.datetime) -> None:
        self.company = company
        self.model = model
        self.now = now
        self.invoice = isinstance(model, InvoiceAdd)
        self.txn_type = "Invoice" if self.invoice else "Estimate"
        self.prefs = company.preferences

    # -- refusals --

    def feature_off(self) -> Refusal:
        return Refusal(3250, FEATURE_OFF)

    def resolve(self, kind: ListKind, ref: Ref | None, *, line: bool = False) -> Any:
        """The list object *ref* names, or a 3000/3140 refusal; None for no ref."""
        if ref is None:
            return None
        if ref.list_id is not None and not plausible_id(ref.list_id):
            message = f'The given object ID "{ref.list_id}" in the field "list id" is invalid.'
            raise Refusal(3000, message)
        entry = self.company.find(kind, ref)
        if entry is None:
            shown = ref.list_id if ref.list_id is not None else ref.full_name
            where = f"{self.txn_type} line" if line else self.txn_type
            message = (
                f'There is an invalid reference to QuickBooks {kind.value} "{shown}" '
                f"in the {where}.{_NOT_FOUND_TAIL}"
            )
            raise Refusal(3140, message)
        return entry

    def item(self, ref: Ref | None, *, group: bool = False) -> Item | None:
        entry = self.resolve(ListKind.ITEM, ref, line=True)
        if entry is None:
            return None
        assert isinstance(entry, Item)
        if group != (entry.kind is ItemKind.GROUP):
            shown = ref.list_id if ref and ref.list_id else (ref.full_name if ref else "")
            noun = "ItemGroup" if group else "Item"
            message = (
                f'There is an invalid reference to QuickBooks {noun} "{shown}" '
                f"in the {self.txn_type} line.{_NOT_FOUND_TAIL}"
            )
            raise Refusal(3140, message)
        return entry

    def entry(self, kind: ListKind, list_id: str | None) -> ListEntry | None:
        """A simple-list entry by ListID (a customer's or item's default)."""
        entry = self.company.get(kind, list_id)
        assert entry is None or isinstance(entry, ListEntry)
        return entry

    def unknown_txn(self, txn_id: str | None) -> Refusal:
        return Refusal(3120, f'Object "{txn_id}" specified in the request cannot be found.')

    # -- the whole transaction --

    def run(self) -> InvoiceRet | EstimateRet:
        model = self.model
        if not self.invoice and not self.prefs.is_using_estimates:
            raise self.feature_off()
        if model.class_ref is not None and not self.prefs.is_using_class_tracking:
            raise self.feature_off()
        if model.exchange_rate is not None and not self.prefs.is_multicurrency_on:
            raise self.feature_off()
        customer = self.resolve(ListKind.CUSTOMER, model.customer_ref)
        assert isinstance(customer, Customer)
        header_class = self.resolve(ListKind.CLASS, model.class_ref)
        template = self.resolve(ListKind.TEMPLATE, model.template_ref) or self.company.by_name(
            ListKind.TEMPLATE, "Intuit Service Invoice" if self.invoice else "Custom Estimate"
        )
        terms = self.resolve(ListKind.TERMS, model.terms_ref) or self.entry(
            ListKind.TERMS, customer.terms_id
        )
        sales_rep = self.resolve(ListKind.SALES_REP, model.sales_rep_ref) or self.entry(
            ListKind.SALES_REP, customer.sales_rep_id
        )
        customer_msg = self.resolve(ListKind.CUSTOMER_MSG, model.customer_msg_ref)
        tax_code = self.resolve(
            ListKind.SALES_TAX_CODE, model.customer_sales_tax_code_ref
        ) or self.entry(ListKind.SALES_TAX_CODE, customer.sales_tax_code_id)
        tax_item = self.sales_tax_item(customer)
        price_level = self.entry(ListKind.PRICE_LEVEL, customer.price_level_id)
        extra: dict[str, Any] = {}
        if isinstance(model, InvoiceAdd):
            ar_account = self.resolve(ListKind.ACCOUNT, model.ar_account_ref) or (
                self.company.by_name(ListKind.ACCOUNT, "Accounts Receivable")
            )
            ship_method = self.resolve(ListKind.SHIP_METHOD, model.ship_method_ref)
            for txn_id in model.link_to_txn_id:
                raise self.unknown_txn(txn_id)
            for credit in model.set_credit:
                raise self.unknown_txn(credit.credit_txn_id)
            extra = {
                "ar_account_ref": _ref(ar_account),
                "is_pending": bool(model.is_pending),
                "is_finance_charge": bool(model.is_finance_charge),
                "ship_date": model.ship_date,
                "ship_method_ref": _ref(ship_method),
                "is_to_be_printed": bool(model.is_to_be_printed),
            }
        else:
            extra = {"is_active": True if model.is_active is None else model.is_active}

        txn_id = self.company.new_txn_id(self.now)
        lines_out, totals = self.lines(header_class, price_level)
        subtotal, taxable = totals
        percentage = (
            Decimal(0) if tax_item is None or tax_item.percent is None else tax_item.percent
        )
        customer_taxable = tax_code is None or tax_code.taxable is not False
        sales_tax = percent_of(taxable, percentage) if customer_taxable else Decimal("0.00")
        total = to_cents(subtotal + sales_tax)
        for tag, value in (("Subtotal", subtotal), ("SalesTaxTotal", sales_tax), ("Total", total)):
            _check_amount(tag, value)

        txn_date = model.txn_date or self.now.date()
        closing = self.prefs.closing_date
        if closing is not None and txn_date <= closing:
            raise Refusal(3171, _CLOSED.format(txn=self.txn_type))
        due_date = model.due_date
        if due_date is None and self.invoice:
            days = terms.days_due if terms is not None and terms.days_due is not None else 0
            due_date = txn_date + dt.timedelta(days=days)
        ref_number = model.ref_number
        if ref_number is None:
            ref_number = self.company.next_ref_number(self.txn_type)
        bill_address = model.bill_address or customer.bill_address
        ship_address = model.ship_address or customer.ship_address
        self.company.txn_number += 1
        common: dict[str, Any] = {
            "txn_id": txn_id,
            "time_created": self.now,
            "time_modified": self.now,
            "edit_sequence": str(int(self.now.timestamp())),
            "txn_number": self.company.txn_number,
            "customer_ref": _ref(customer),
            "class_ref": _ref(header_class),
            "template_ref": _ref(template),
            "txn_date": txn_date,
            "ref_number": ref_number,
            "bill_address": bill_address,
            "bill_address_block": _address_block(bill_address),
            "ship_address": ship_address,
            "ship_address_block": _address_block(ship_address),
            "po_number": model.po_number,
            "terms_ref": _ref(terms),
            "due_date": due_date,
            "sales_rep_ref": _ref(sales_rep),
            "fob": model.fob,
            "subtotal": subtotal,
            "item_sales_tax_ref": _ref(tax_item),
            "sales_tax_percentage": tidy(percentage),
            "sales_tax_total": sales_tax,
            "exchange_rate": model.exchange_rate,
            "memo": model.memo,
            "customer_msg_ref": _ref(customer_msg),
            "is_to_be_emailed": bool(model.is_to_be_emailed),
            "is_tax_included": model.is_tax_included
            if self.company_country_allows_tax_included()
            else None,
            "customer_sales_tax_code_ref": _ref(tax_code),
            "other": model.other,
            "external_guid": model.external_guid,
            "lines": tuple(lines_out),
        }
        ret: InvoiceRet | EstimateRet
        if self.invoice:
            ret = InvoiceRet(
                **common,
                **extra,
                applied_amount=Decimal("0.00"),
                balance_remaining=total,
                is_paid=total == 0,
            )
        else:
            ret = EstimateRet(**common, **extra, total_amount=total)
        self.company.note_ref_number(self.txn_type, ref_number)
        self.company.record(
            TransactionRecord(
                txn_type=self.txn_type,
                txn_id=ret.txn_id or "",
                ref_number=ref_number,
                company_file=self.company.path,
                ret=ret,
            )
        )
        return ret

    def company_country_allows_tax_included(self) -> bool:
        return False  # US editions ignore IsTaxIncluded (docs/qbxml.md, "Editions")

    def sales_tax_item(self, customer: Customer) -> Item | None:
        item = self.resolve(ListKind.ITEM, self.model.item_sales_tax_ref)
        if item is None:
            item = self.company.get(ListKind.ITEM, customer.item_sales_tax_id)
        if item is None and self.prefs.default_item_sales_tax is not None:
            item = self.company.by_name(ListKind.ITEM, self.prefs.default_item_sales_tax)
        if item is not None and (not isinstance(item, Item) or item.kind is not ItemKind.SALES_TAX):
            shown = item.full_name
            message = (
                f'There is an invalid reference to QuickBooks ItemSalesTax "{shown}" '
                f"in the {self.txn_type}.{_NOT_FOUND_TAIL}"
            )
            raise Refusal(3140, message)
        return item

    # -- lines --

    def check_line_features(self, line: Any) -> None:
        prefs = self.prefs
        if (
            getattr(line, "unit_of_measure", None) is not None
            and not prefs.is_using_units_of_measure
        ):
            raise self.feature_off()
        if (
            line.inventory_site_ref is not None or line.inventory_site_location_ref is not None
        ) and not prefs.is_using_inventory_sites:
            raise self.feature_off()
        if getattr(line, "class_ref", None) is not None and not prefs.is_using_class_tracking:
            raise self.feature_off()
        if getattr(line, "price_level_ref", None) is not None and not prefs.is_using_price_levels:
            raise self.feature_off()
        serial = getattr(line, "serial_number", None)
        lot = getattr(line, "lot_number", None)
        if (serial is not None and prefs.serial_or_lot_tracking != "SerialNumber") or (
            lot is not None and prefs.serial_or_lot_tracking != "LotNumber"
        ):
            raise self.feature_off()

    def tax_code_for(self, line_ref: Ref | None, item: Item | None) -> ListEntry | None:
        code = self.resolve(ListKind.SALES_TAX_CODE, line_ref, line=True)
        if code is None and item is not None:
            code = self.entry(ListKind.SALES_TAX_CODE, item.sales_tax_code_id)
        assert code is None or isinstance(code, ListEntry)
        return code

    def lines(
        self, header_class: ListEntry | None, customer_level: ListEntry | None
    ) -> tuple[list[Any], tuple[Decimal, Decimal]]:
        """The Ret lines, and (subtotal, taxable amount)."""
        model_lines = self.model.lines
        top: list[Line] = []
        entries: list[tuple[str, Any, Line, Any]] = []
        for line in model_lines:
            self.check_line_features(line)
            if isinstance(line, (InvoiceLineGroupAdd, EstimateLineGroupAdd)):
                group = self.item(line.item_group_ref, group=True)
                assert group is not None
                calc = Line(item=None, quantity=None, rate=None, rate_percent=None, amount=None)
                entries.append(("group", line, calc, group))
                top.append(calc)
            else:
                item = self.item(line.item_ref)
                level = self.resolve(ListKind.PRICE_LEVEL, line.price_level_ref, line=True)
                level = level or (customer_level if self.prefs.is_using_price_levels else None)
                calc = Line(
                    item=item,
                    quantity=line.quantity,
                    rate=line.rate,
                    rate_percent=line.rate_percent,
                    amount=line.amount,
                    markup_rate=getattr(line, "markup_rate", None),
                    markup_rate_percent=getattr(line, "markup_rate_percent", None),
                    price_level_percent=None if level is None else level.percent,
                )
                entries.append(("line", line, calc, item))
                top.append(calc)

        # Groups first: their total is the "amount" a following percentage or
        # subtotal line sees.
        group_members: dict[int, list[tuple[Item, Line]]] = {}
        for index, (kind, line, calc, item) in enumerate(entries):
            if kind != "group":
                continue
            group_qty = line.quantity if line.quantity is not None else Decimal(1)
            members: list[tuple[Item, Line]] = []
            for member in item.members:
                member_item = self.company.get(ListKind.ITEM, member.item_id)
                assert isinstance(member_item, Item)
                quantity = None
                if member_item.percent is None and member_item.kind is not ItemKind.SUBTOTAL:
                    quantity = to_quantity(member.quantity * group_qty)
                members.append(
                    (
                        member_item,
                        Line(
                            item=member_item,
                            quantity=quantity,
                            rate=None,
                            rate_percent=None,
                            amount=None,
                        ),
                    )
                )
            compute_lines([m for _, m in members])
            group_members[index] = members
            calc.amount = to_cents(
                sum(
                    (m.out_amount or Decimal(0) for _, m in members if not m.is_subtotal),
                    Decimal(0),
                )
            )
        compute_lines(top)

        subtotal = Decimal("0.00")
        taxable = Decimal("0.00")
        out: list[Any] = []
        for index, (kind, line, calc, item) in enumerate(entries):
            if kind == "group":
                group_line_id = self.company.new_txn_id(self.now)
                member_rets = []
                for member_item, m in group_members[index]:
                    ret_line, taxed = self.ret_line(None, m, member_item, header_class)
                    member_rets.append(ret_line)
                    if not m.is_subtotal:
                        taxable += taxed
                assert calc.out_amount is not None
                subtotal += calc.out_amount
                out.append(
                    self.ret_group(line, item, calc.out_amount, tuple(member_rets), group_line_id)
                )
            else:
                ret_line, taxed = self.ret_line(line, calc, item, header_class)
                out.append(ret_line)
                if not calc.is_subtotal and calc.out_amount is not None:
                    subtotal += calc.out_amount
                    taxable += taxed
        return out, (to_cents(subtotal), to_cents(taxable))

    def ret_line(
        self, line: Any, calc: Line, item: Item | None, header_class: ListEntry | None
    ) -> tuple[Any, Decimal]:
        """One line Ret and the amount it adds to the taxable total."""
        for tag, value in (("Amount", calc.out_amount),):
            if value is not None:
                _check_amount(tag, value)
        if calc.out_rate is not None and abs(calc.out_rate) >= PRICE_LIMIT:
            raise Refusal(3210, _invalid_value("Rate", calc.out_rate))
        if calc.quantity is not None and abs(calc.quantity) >= PRICE_LIMIT:
            raise Refusal(3210, _invalid_value("Quantity", calc.quantity))
        line_class = header_class
        tax_code = self.tax_code_for(None, item)
        fields: dict[str, Any] = {}
        if line is not None:
            if line.class_ref is not None:
                line_class = self.resolve(ListKind.CLASS, line.class_ref, line=True)
            self.resolve(ListKind.ACCOUNT, line.override_item_account_ref, line=True)
            tax_code = self.tax_code_for(line.sales_tax_code_ref, item)
            if getattr(line, "link_to_txn", None) is not None:
                raise self.unknown_txn(line.link_to_txn.txn_id)
            fields = {
                "desc": line.desc
                if line.desc is not None
                else (item.description if item else None),
                "unit_of_measure": line.unit_of_measure,
                "tax_amount": line.tax_amount,
                "inventory_site_ref": line.inventory_site_ref,
                "inventory_site_location_ref": line.inventory_site_location_ref,
                "other1": line.other1,
                "other2": line.other2,
                "data_ext_ret": tuple(_data_ext_ret(d) for d in line.data_ext),
            }
            if self.invoice:
                fields["serial_number"] = line.serial_number
                fields["lot_number"] = line.lot_number
                fields["service_date"] = line.service_date
            else:
                fields["markup_rate"] = line.markup_rate
                fields["markup_rate_percent"] = line.markup_rate_percent
            quantity = line.quantity
        else:
            fields = {"desc": item.description if item else None}
            quantity = calc.quantity
        taxable = tax_code is not None and tax_code.taxable is True and calc.out_amount is not None
        cls = InvoiceLineRet if self.invoice else EstimateLineRet
        ret = cls(
            txn_line_id=self.company.new_txn_id(self.now),
            item_ref=_ref(item),
            quantity=None if quantity is None else tidy(quantity),
            rate=None if calc.out_rate is None else _as_rate(calc.out_rate),
            rate_percent=None if calc.out_rate_percent is None else tidy(calc.out_rate_percent),
            class_ref=_ref(line_class),
            amount=calc.out_amount,
            sales_tax_code_ref=_ref(tax_code) if item is not None else None,
            **fields,
        )
        return ret, (calc.out_amount or Decimal(0)) if taxable else Decimal(0)

    def ret_group(
        self, line: Any, group: Item, total: Decimal, members: tuple[Any, ...], line_id: str
    ) -> Any:
        common = {
            "txn_line_id": line_id,
            "item_group_ref": _ref(group),
            "desc": group.description,
            "quantity": tidy(line.quantity) if line.quantity is not None else Decimal(1),
            "unit_of_measure": line.unit_of_measure,
            "is_print_items_in_group": group.print_items_in_group,
            "total_amount": total,
            "data_ext_ret": tuple(_data_ext_ret(d) for d in line.data_ext),
        }
        if self.invoice:
            return InvoiceLineGroupRet(**common, invoice_line_ret=members)
        return EstimateLineGroupRet(**common, estimate_line_ret=members)


def _as_rate(value: Decimal) -> Decimal:
    """A rate the way QuickBooks writes it: at least two decimals (``103.00``, ``4.125``)."""
    value = tidy(value)
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)
    return value.quantize(Decimal("0.01")) if exponent > -2 else value


def _ref(entry: Any) -> Ref | None:
    return None if entry is None else Ref(list_id=entry.list_id, full_name=entry.full_name)


def _data_ext_ret(data_ext: DataExt) -> DataExtRet:
    return DataExtRet(
        owner_id=data_ext.owner_id,
        data_ext_name=data_ext.data_ext_name,
        data_ext_type="STR255TYPE",
        data_ext_value=data_ext.data_ext_value,
    )


def _invalid_value(tag: str, value: Decimal) -> str:
    return (
        f'The "{tag}" field has an invalid value "{value}".  QuickBooks error message: '
        "The number is too large."
    )


def _check_amount(tag: str, value: Decimal) -> None:
    if abs(value) >= AMOUNT_LIMIT:
        raise Refusal(3210, _invalid_value(tag, value))
