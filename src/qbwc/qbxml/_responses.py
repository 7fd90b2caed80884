"""
The models of what QuickBooks sends back for an estimate or an invoice.

Every field is declared with :func:`qbwc.qbxml._types.qbfield` (or, for the
kinds with a converter, ``attrs.field(metadata=qb(...))``) in the order of
the official schema (qbXML 13.0, plus the 16.0 addition
``ExpirationDateForSerialLotNumber``), exactly like the request models, so that
the parser, :func:`build_response`, the schema generator and the strategies
all read one source of truth.

Unlike requests, responses come from QuickBooks, and newer QuickBooks versions
add elements.  Every model here therefore has an ``unknown`` field (not part
of the specs) that keeps the XML text of each child element the parser did not
recognise, in document order.  Elements that only QuickBooks Online sends
(``DiscountLineRet``, ``SalesTaxLineRet``, ``ShippingLineRet``,
``TxnLineDetail``, ``IsTaxable`` on lines, ``ServiceDate`` on a line group) are
not modelled for QuickBooks Desktop and land in ``unknown`` when present.

A mixed sequence (``lines``) names its first alternative as its tag, like the
request models; each item's element name is its class name.
"""

# qbfield() is an attrs field specifier (it returns attrs.field(...)); ruff
# cannot know that, so its "function call in a dataclass default" rule is off here.
# ruff: noqa: RUF009

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Final

import attrs

from qbwc.qbxml._types import (
    Address,
    Kind,
    Ref,
    qb,
    qbfield,
    to_date,
    to_decimal,
    to_guid,
    to_tuple,
)

__all__ = [
    "DATA_EXT_TYPES",
    "RET_MODELS",
    "TXN_TYPES",
    "AddressBlock",
    "DataExtRet",
    "ErrorRecovery",
    "EstimateLineGroupRet",
    "EstimateLineRet",
    "EstimateRet",
    "InvoiceLineGroupRet",
    "InvoiceLineRet",
    "InvoiceRet",
    "LinkedTxn",
]

#: The values of ``DataExtRet/DataExtType``.
DATA_EXT_TYPES: Final = (
    "AMTTYPE",
    "DATETIMETYPE",
    "INTTYPE",
    "PERCENTTYPE",
    "PRICETYPE",
    "QUANTYPE",
    "STR1024TYPE",
    "STR255TYPE",
)

#: The values of ``LinkedTxn/TxnType``.
TXN_TYPES: Final = (
    "ARRefundCreditCard",
    "Bill",
    "BillPaymentCheck",
    "BillPaymentCreditCard",
    "BuildAssembly",
    "Charge",
    "Check",
    "CreditCardCharge",
    "CreditCardCredit",
    "CreditMemo",
    "Deposit",
    "Estimate",
    "InventoryAdjustment",
    "Invoice",
    "ItemReceipt",
    "JournalEntry",
    "LiabilityAdjustment",
    "Paycheck",
    "PayrollLiabilityCheck",
    "PurchaseOrder",
    "ReceivePayment",
    "SalesOrder",
    "SalesReceipt",
    "SalesTaxPaymentCheck",
    "Transfer",
    "VendorCredit",
    "YTDAdjustment",
)


# The repeated fields' converters, typed per element for mypy's attrs plugin (see
# qbwc.qbxml._types.to_decimal): what __init__ accepts is any iterable of the elements.
if TYPE_CHECKING:

    def _to_data_ext_rets(value: Iterable[DataExtRet] | None, /) -> tuple[DataExtRet, ...]: ...

    def _to_linked_txns(value: Iterable[LinkedTxn] | None, /) -> tuple[LinkedTxn, ...]: ...

    def _to_invoice_line_rets(
        value: Iterable[InvoiceLineRet] | None, /
    ) -> tuple[InvoiceLineRet, ...]: ...

    def _to_estimate_line_rets(
        value: Iterable[EstimateLineRet] | None, /
    ) -> tuple[EstimateLineRet, ...]: ...

    def _to_invoice_ret_lines(
        value: Iterable[InvoiceLineRet | InvoiceLineGroupRet] | None, /
    ) -> tuple[InvoiceLineRet | InvoiceLineGroupRet, ...]: ...

    def _to_estimate_ret_lines(
        value: Iterable[EstimateLineRet | EstimateLineGroupRet] | None, /
    ) -> tuple[EstimateLineRet | EstimateLineGroupRet, ...]: ...

else:
    _to_data_ext_rets = _to_linked_txns = _to_invoice_line_rets = to_tuple
    _to_estimate_line_rets = _to_invoice_ret_lines = _to_estimate_ret_lines = to_tuple


def _unknown() -> tuple[str, ...]:
    # Not a qbfield: the parser fills it, the builder re-emits it last.
    return attrs.field(factory=tuple, converter=tuple)


@attrs.frozen(kw_only=True)
class AddressBlock:
    """
    An address as QuickBooks prints it (``BillAddressBlock`` / ``ShipAddressBlock``).

    Five lines, already formatted; QuickBooks fills it from the structured address.
    """

    addr1: str | None = qbfield("Addr1", Kind.STR, max_len=41)
    addr2: str | None = qbfield("Addr2", Kind.STR, max_len=41)
    addr3: str | None = qbfield("Addr3", Kind.STR, max_len=41)
    addr4: str | None = qbfield("Addr4", Kind.STR, max_len=41)
    addr5: str | None = qbfield("Addr5", Kind.STR, max_len=41)
    unknown: tuple[str, ...] = _unknown()


@attrs.frozen(kw_only=True)
class DataExtRet:
    """
    A custom field value as QuickBooks returns it.

    ``owner_id`` is ``"0"`` for a public custom field, or the GUID of the
    application that owns a private one (the Web Connector's ``FileID`` stamp
    is a private DataExt on the company).
    """

    owner_id: str | None = attrs.field(
        default=None, converter=to_guid, metadata=qb("OwnerID", Kind.GUID)
    )
    data_ext_name: str | None = qbfield("DataExtName", Kind.STR, max_len=31, required=True)
    data_ext_type: str | None = qbfield(
        "DataExtType", Kind.ENUM, values=DATA_EXT_TYPES, required=True
    )
    data_ext_value: str | None = qbfield("DataExtValue", Kind.STR, required=True)
    unknown: tuple[str, ...] = _unknown()


@attrs.frozen(kw_only=True)
class LinkedTxn:
    """A transaction linked to this one, e.g. a payment applied to an invoice."""

    txn_id: str | None = qbfield("TxnID", Kind.ID, required=True)
    txn_type: str | None = qbfield("TxnType", Kind.ENUM, values=TXN_TYPES, required=True)
    txn_date: dt.date | None = attrs.field(
        default=None, converter=to_date, metadata=qb("TxnDate", Kind.DATE, required=True)
    )
    ref_number: str | None = qbfield("RefNumber", Kind.STR, max_len=20)
    link_type: str | None = qbfield(
        "LinkType", Kind.ENUM, values=("AMTTYPE", "QUANTYPE"), since=(3, 0)
    )
    amount: Decimal | None = attrs.field(
        default=None, converter=to_decimal, metadata=qb("Amount", Kind.AMT, required=True)
    )
    unknown: tuple[str, ...] = _unknown()


@attrs.frozen(kw_only=True)
class InvoiceLineRet:
    """One line of an invoice as stored by QuickBooks, with its ``txn_line_id``."""

    txn_line_id: str | None = qbfield("TxnLineID", Kind.ID, required=True)
    item_ref: Ref | None = qbfield("ItemRef", Kind.AGG, model=Ref, max_len=159)
    desc: str | None = qbfield("Desc", Kind.STR, max_len=4095)
    quantity: Decimal | None = attrs.field(
        default=None, converter=to_decimal, metadata=qb("Quantity", Kind.QUAN)
    )
    unit_of_measure: str | None = qbfield("UnitOfMeasure", Kind.STR, max_len=31, since=(7, 0))
    override_uom_set_ref: Ref | None = qbfield(
        "OverrideUOMSetRef", Kind.AGG, model=Ref, max_len=31, since=(7, 0)
    )
    rate: Decimal | None = attrs.field(
        default=None, converter=to_decimal, metadata=qb("Rate", Kind.PRICE, choice="rate")
    )
    rate_percent: Decimal | None = attrs.field(
        default=None, converter=to_decimal, metadata=qb("RatePercent", Kind.PERCENT, choice="rate")
    )
    class_ref: Ref | None = qbfield("ClassRef", Kind.AGG, model=Ref, max_len=159)
    amount: Decimal | None = attrs.field(
        default=None, converter=to_decimal, metadata=qb("Amount", Kind.AMT)
    )
    tax_amount: Decimal | None = attrs.field(
        default=None, converter=to_decimal, metadata=qb("TaxAmount", Kind.AMT, since=(6, 1))
    )
    inventory_site_ref: Ref | None = qbfield(
        "InventorySiteRef", Kind.AGG, model=Ref, max_len=31, since=(10, 0)
    )
    inventory_site_location_ref: Ref | None = qbfield(
        "InventorySiteLocationRef", Kind.AGG, model=Ref, max_len=31, since=(12, 0)
    )
    serial_number: str | None = qbfield(
        "SerialNumber", Kind.STR, max_len=4095, since=(11, 0), choice="serial_or_lot"
    )
    lot_number: str | None = qbfield(
        "LotNumber", Kind.STR, max_len=40, since=(11, 0), choice="serial_or_lot"
    )
    expiration_date_for_serial_lot_number: str | None = qbfield(
        "ExpirationDateForSerialLotNumber", Kind.STR, max_len=1099, since=(16, 0)
    )
    service_date: dt.date | None = attrs.field(
        default=None, converter=to_date, metadata=qb("ServiceDate", Kind.DATE)
    )
    sales_tax_code_ref: Ref | None = qbfield("SalesTaxCodeRef", Kind.AGG, model=Ref, max_len=3)
    other1: str | None = qbfield("Other1", Kind.STR, max_len=29, since=(6, 0))
    other2: str | None = qbfield("Other2", Kind.STR, max_len=29, since=(6, 0))
    data_ext_ret: tuple[DataExtRet, ...] = attrs.field(
        factory=tuple,
        converter=_to_data_ext_rets,
        metadata=qb("DataExtRet", Kind.AGG, model=DataExtRet, many=True, since=(2, 0)),
    )
    unknown: tuple[str, ...] = _unknown()


@attrs.frozen(kw_only=True)
class InvoiceLineGroupRet:
    """A group item on an invoice: the group's line and the lines it expanded to."""

    txn_line_id: str | None = qbfield("TxnLineID", Kind.ID, required=True)
    item_group_ref: Ref | None = qbfield(
        "ItemGroupRef", Kind.AGG, model=Ref, max_len=31, required=True
    )
    desc: str | None = qbfield("Desc", Kind.STR, max_len=4095)
    quantity: Decimal | None = attrs.field(
        default=None, converter=to_decimal, metadata=qb("Quantity", Kind.QUAN)
    )
    unit_of_measure: str | None = qbfield("UnitOfMeasure", Kind.STR, max_len=31, since=(7, 0))
    override_uom_set_ref: Ref | None = qbfield(
        "OverrideUOMSetRef", Kind.AGG, model=Ref, max_len=31, since=(7, 0)
    )
    is_print_items_in_group: bool | None = qbfield("IsPrintItemsInGroup", Kind.BOOL, required=True)
    total_amount: Decimal | None = attrs.field(
        default=None, converter=to_decimal, metadata=qb("TotalAmount", Kind.AMT, required=True)
    )
    invoice_line_ret: tuple[InvoiceLineRet, ...] = attrs.field(
        factory=tuple,
        converter=_to_invoice_line_rets,
        metadata=qb("InvoiceLineRet", Kind.AGG, model=InvoiceLineRet, many=True),
    )
    data_ext_ret: tuple[DataExtRet, ...] = attrs.field(
        factory=tuple,
        converter=_to_data_ext_rets,
        metadata=qb("DataExtRet", Kind.AGG, model=DataExtRet, many=True, since=(2, 0)),
    )
    unknown: tuple[str, ...] = _unknown()


@attrs.frozen(kw_only=True)
class InvoiceRet:
    """
    An invoice as QuickBooks stored it: the answer to an InvoiceAdd.

    ``txn_id`` identifies the new transaction from now on.  An invoice has
    no total: it is ``subtotal + sales_tax_total``; the open balance is
    ``balance_remaining``.
    """

    txn_id: str | None = qbfield("TxnID", Kind.ID)
    time_created: dt.datetime | None = qbfield("TimeCreated", Kind.DATETIME)
    time_modified: dt.datetime | None = qbfield("TimeModified", Kind.DATETIME)
    edit_sequence: str | None = qbfield("EditSequence", Kind.STR, max_len=16)
    txn_number: int | None = qbfield("TxnNumber", Kind.INT)
    customer_ref: Ref | None = qbfield("CustomerRef", Kind.AGG, model=Ref, max_len=209)
    class_ref: Ref | None = qbfield("ClassRef", Kind.AGG, model=Ref, max_len=159)
    ar_account_ref: Ref | None = qbfield("ARAccountRef", Kind.AGG, model=Ref, max_len=159)
    template_ref: Ref | None = qbfield("TemplateRef", Kind.AGG, model=Ref, max_len=31, since=(3, 0))
    txn_date: dt.date | None = attrs.field(
        default=None, converter=to_date, metadata=qb("TxnDate", Kind.DATE)
    )
    ref_number: str | None = qbfield("RefNumber", Kind.STR, max_len=11)
    bill_address: Address | None = qbfield("BillAddress", Kind.AGG, model=Address)
    bill_address_block: AddressBlock | None = qbfield(
        "BillAddressBlock", Kind.AGG, model=AddressBlock, since=(6, 0)
    )
    ship_address: Address | None = qbfield("ShipAddress", Kind.AGG, model=Address)
    ship_address_block: AddressBlock | None = qbfield(
        "ShipAddressBlock", Kind.AGG, model=AddressBlock, since=(6, 0)
    )
    is_pending: bool | None = qbfield("IsPending", Kind.BOOL)
    is_finance_charge: bool | None = qbfield("IsFinanceCharge", Kind.BOOL)
    po_number: str | None = qbfield("PONumber", Kind.STR, max_len=25)
    terms_ref: Ref | None = qbfield("TermsRef", Kind.AGG, model=Ref, max_len=31)
    due_date: dt.date | None = attrs.field(
        default=None, converter=to_date, metadata=qb("DueDate", Kind.DATE)
    )
    sales_rep_ref: Ref | None = qbfield("SalesRepRef", Kind.AGG, model=Ref, max_len=5)
    fob: str | None = qbfield("FOB", Kind.STR, max_len=13)
    ship_date: dt.date | None = attrs.field(
        default=None, converter=to_date, metadata=qb("ShipDate", Kind.DATE)
    )
    ship_method_ref: Ref | None = qbfield("ShipMethodRef", Kind.AGG, model=Ref, max_len=15)
    subtotal: Decimal | None = attrs.field(
        default=None, converter=to_decimal, metadata=qb("Subtotal", Kind.AMT)
    )
    item_sales_tax_ref: Ref | None = qbfield("ItemSalesTaxRef", Kind.AGG, model=Ref, max_len=31)
    sales_tax_percentage: Decimal | None = attrs.field(
        default=None, converter=to_decimal, metadata=qb("SalesTaxPercentage", Kind.PERCENT)
    )
    sales_tax_total: Decimal | None = attrs.field(
        default=None, converter=to_decimal, metadata=qb("SalesTaxTotal", Kind.AMT)
    )
    applied_amount: Decimal | None = attrs.field(
        default=None, converter=to_decimal, metadata=qb("AppliedAmount", Kind.AMT)
    )
    balance_remaining: Decimal | None = attrs.field(
        default=None, converter=to_decimal, metadata=qb("BalanceRemaining", Kind.AMT)
    )
    currency_ref: Ref | None = qbfield("CurrencyRef", Kind.AGG, model=Ref, max_len=64, since=(8, 0))
    exchange_rate: Decimal | None = attrs.field(
        default=None, converter=to_decimal, metadata=qb("ExchangeRate", Kind.FLOAT, since=(8, 0))
    )
    balance_remaining_in_home_currency: Decimal | None = attrs.field(
        default=None,
        converter=to_decimal,
        metadata=qb("BalanceRemainingInHomeCurrency", Kind.AMT, since=(8, 0)),
    )
    memo: str | None = qbfield("Memo", Kind.STR, max_len=4095)
    is_paid: bool | None = qbfield("IsPaid", Kind.BOOL, since=(2, 0))
    customer_msg_ref: Ref | None = qbfield("CustomerMsgRef", Kind.AGG, model=Ref, max_len=101)
    is_to_be_printed: bool | None = qbfield("IsToBePrinted", Kind.BOOL)
    is_to_be_emailed: bool | None = qbfield("IsToBeEmailed", Kind.BOOL, since=(6, 0))
    is_tax_included: bool | None = qbfield("IsTaxIncluded", Kind.BOOL, since=(6, 0))
    customer_sales_tax_code_ref: Ref | None = qbfield(
        "CustomerSalesTaxCodeRef", Kind.AGG, model=Ref, max_len=3
    )
    suggested_discount_amount: Decimal | None = attrs.field(
        default=None, converter=to_decimal, metadata=qb("SuggestedDiscountAmount", Kind.AMT)
    )
    suggested_discount_date: dt.date | None = attrs.field(
        default=None, converter=to_date, metadata=qb("SuggestedDiscountDate", Kind.DATE)
    )
    other: str | None = qbfield("Other", Kind.STR, max_len=29, since=(6, 0))
    external_guid: str | None = attrs.field(
        default=None, converter=to_guid, metadata=qb("ExternalGUID", Kind.GUID, since=(9, 0))
    )
    linked_txn: tuple[LinkedTxn, ...] = attrs.field(
        factory=tuple,
        converter=_to_linked_txns,
        metadata=qb("LinkedTxn", Kind.AGG, model=LinkedTxn, many=True, since=(1, 1)),
    )
    lines: tuple[InvoiceLineRet | InvoiceLineGroupRet, ...] = attrs.field(
        factory=tuple,
        converter=_to_invoice_ret_lines,
        metadata=qb(
            "InvoiceLineRet",
            Kind.AGG,
            model=(InvoiceLineRet, InvoiceLineGroupRet),
            many=True,
        ),
    )
    data_ext_ret: tuple[DataExtRet, ...] = attrs.field(
        factory=tuple,
        converter=_to_data_ext_rets,
        metadata=qb("DataExtRet", Kind.AGG, model=DataExtRet, many=True, since=(2, 0)),
    )
    unknown: tuple[str, ...] = _unknown()


@attrs.frozen(kw_only=True)
class EstimateLineRet:
    """One line of an estimate as stored by QuickBooks, with its ``txn_line_id``."""

    txn_line_id: str | None = qbfield("TxnLineID", Kind.ID, required=True)
    item_ref: Ref | None = qbfield("ItemRef", Kind.AGG, model=Ref, max_len=159)
    desc: str | None = qbfield("Desc", Kind.STR, max_len=4095)
    quantity: Decimal | None = attrs.field(
        default=None, converter=to_decimal, metadata=qb("Quantity", Kind.QUAN)
    )
    unit_of_measure: str | None = qbfield("UnitOfMeasure", Kind.STR, max_len=31, since=(7, 0))
    override_uom_set_ref: Ref | None = qbfield(
        "OverrideUOMSetRef", Kind.AGG, model=Ref, max_len=31, since=(7, 0)
    )
    rate: Decimal | None = attrs.field(
        default=None, converter=to_decimal, metadata=qb("Rate", Kind.PRICE, choice="rate")
    )
    rate_percent: Decimal | None = attrs.field(
        default=None, converter=to_decimal, metadata=qb("RatePercent", Kind.PERCENT, choice="rate")
    )
    class_ref: Ref | None = qbfield("ClassRef", Kind.AGG, model=Ref, max_len=159)
    amount: Decimal | None = attrs.field(
        default=None, converter=to_decimal, metadata=qb("Amount", Kind.AMT)
    )
    tax_amount: Decimal | None = attrs.field(
        default=None, converter=to_decimal, metadata=qb("TaxAmount", Kind.AMT, since=(6, 1))
    )
    inventory_site_ref: Ref | None = qbfield(
        "InventorySiteRef", Kind.AGG, model=Ref, max_len=31, since=(10, 0)
    )
    inventory_site_location_ref: Ref | None = qbfield(
        "InventorySiteLocationRef", Kind.AGG, model=Ref, max_len=31, since=(12, 0)
    )
    sales_tax_code_ref: Ref | None = qbfield("SalesTaxCodeRef", Kind.AGG, model=Ref, max_len=3)
    markup_rate: Decimal | None = attrs.field(
        default=None, converter=to_decimal, metadata=qb("MarkupRate", Kind.PRICE, choice="markup")
    )
    markup_rate_percent: Decimal | None = attrs.field(
        default=None,
        converter=to_decimal,
        metadata=qb("MarkupRatePercent", Kind.PERCENT, choice="markup"),
    )
    other1: str | None = qbfield("Other1", Kind.STR, max_len=29, since=(6, 0))
    other2: str | None = qbfield("Other2", Kind.STR, max_len=29, since=(6, 0))
    data_ext_ret: tuple[DataExtRet, ...] = attrs.field(
        factory=tuple,
        converter=_to_data_ext_rets,
        metadata=qb("DataExtRet", Kind.AGG, model=DataExtRet, many=True, since=(2, 0)),
    )
    unknown: tuple[str, ...] = _unknown()


@attrs.frozen(kw_only=True)
class EstimateLineGroupRet:
    """A group item on an estimate: the group's line and the lines it expanded to."""

    txn_line_id: str | None = qbfield("TxnLineID", Kind.ID, required=True, since=(3, 0))
    item_group_ref: Ref | None = qbfield(
        "ItemGroupRef", Kind.AGG, model=Ref, max_len=31, required=True
    )
    desc: str | None = qbfield("Desc", Kind.STR, max_len=4095)
    quantity: Decimal | None = attrs.field(
        default=None, converter=to_decimal, metadata=qb("Quantity", Kind.QUAN)
    )
    unit_of_measure: str | None = qbfield("UnitOfMeasure", Kind.STR, max_len=31, since=(7, 0))
    override_uom_set_ref: Ref | None = qbfield(
        "OverrideUOMSetRef", Kind.AGG, model=Ref, max_len=31, since=(7, 0)
    )
    is_print_items_in_group: bool | None = qbfield("IsPrintItemsInGroup", Kind.BOOL, required=True)
    total_amount: Decimal | None = attrs.field(
        default=None, converter=to_decimal, metadata=qb("TotalAmount", Kind.AMT, required=True)
    )
    estimate_line_ret: tuple[EstimateLineRet, ...] = attrs.field(
        factory=tuple,
        converter=_to_estimate_line_rets,
        metadata=qb("EstimateLineRet", Kind.AGG, model=EstimateLineRet, many=True),
    )
    data_ext_ret: tuple[DataExtRet, ...] = attrs.field(
        factory=tuple,
        converter=_to_data_ext_rets,
        metadata=qb("DataExtRet", Kind.AGG, model=DataExtRet, many=True, since=(2, 0)),
    )
    unknown: tuple[str, ...] = _unknown()


@attrs.frozen(kw_only=True)
class EstimateRet:
    """
    An estimate as QuickBooks stored it: the answer to an EstimateAdd.

    ``txn_id`` identifies the new transaction from now on; unlike an invoice,
    an estimate carries its ``total_amount``.
    """

    txn_id: str | None = qbfield("TxnID", Kind.ID)
    time_created: dt.datetime | None = qbfield("TimeCreated", Kind.DATETIME)
    time_modified: dt.datetime | None = qbfield("TimeModified", Kind.DATETIME)
    edit_sequence: str | None = qbfield("EditSequence", Kind.STR, max_len=16)
    txn_number: int | None = qbfield("TxnNumber", Kind.INT)
    customer_ref: Ref | None = qbfield("CustomerRef", Kind.AGG, model=Ref, max_len=209)
    class_ref: Ref | None = qbfield("ClassRef", Kind.AGG, model=Ref, max_len=159)
    template_ref: Ref | None = qbfield("TemplateRef", Kind.AGG, model=Ref, max_len=31, since=(3, 0))
    txn_date: dt.date | None = attrs.field(
        default=None, converter=to_date, metadata=qb("TxnDate", Kind.DATE)
    )
    ref_number: str | None = qbfield("RefNumber", Kind.STR, max_len=11)
    bill_address: Address | None = qbfield("BillAddress", Kind.AGG, model=Address)
    bill_address_block: AddressBlock | None = qbfield(
        "BillAddressBlock", Kind.AGG, model=AddressBlock, since=(6, 0)
    )
    ship_address: Address | None = qbfield("ShipAddress", Kind.AGG, model=Address, since=(7, 0))
    ship_address_block: AddressBlock | None = qbfield(
        "ShipAddressBlock", Kind.AGG, model=AddressBlock, since=(7, 0)
    )
    is_active: bool | None = qbfield("IsActive", Kind.BOOL, since=(3, 0))
    po_number: str | None = qbfield("PONumber", Kind.STR, max_len=25)
    terms_ref: Ref | None = qbfield("TermsRef", Kind.AGG, model=Ref, max_len=31)
    due_date: dt.date | None = attrs.field(
        default=None, converter=to_date, metadata=qb("DueDate", Kind.DATE)
    )
    sales_rep_ref: Ref | None = qbfield("SalesRepRef", Kind.AGG, model=Ref, max_len=5)
    fob: str | None = qbfield("FOB", Kind.STR, max_len=13)
    subtotal: Decimal | None = attrs.field(
        default=None, converter=to_decimal, metadata=qb("Subtotal", Kind.AMT)
    )
    item_sales_tax_ref: Ref | None = qbfield("ItemSalesTaxRef", Kind.AGG, model=Ref, max_len=31)
    sales_tax_percentage: Decimal | None = attrs.field(
        default=None, converter=to_decimal, metadata=qb("SalesTaxPercentage", Kind.PERCENT)
    )
    sales_tax_total: Decimal | None = attrs.field(
        default=None, converter=to_decimal, metadata=qb("SalesTaxTotal", Kind.AMT)
    )
    total_amount: Decimal | None = attrs.field(
        default=None, converter=to_decimal, metadata=qb("TotalAmount", Kind.AMT)
    )
    currency_ref: Ref | None = qbfield("CurrencyRef", Kind.AGG, model=Ref, max_len=64, since=(8, 0))
    exchange_rate: Decimal | None = attrs.field(
        default=None, converter=to_decimal, metadata=qb("ExchangeRate", Kind.FLOAT, since=(8, 0))
    )
    total_amount_in_home_currency: Decimal | None = attrs.field(
        default=None,
        converter=to_decimal,
        metadata=qb("TotalAmountInHomeCurrency", Kind.AMT, since=(8, 0)),
    )
    memo: str | None = qbfield("Memo", Kind.STR, max_len=4095)
    customer_msg_ref: Ref | None = qbfield("CustomerMsgRef", Kind.AGG, model=Ref, max_len=101)
    is_to_be_emailed: bool | None = qbfield("IsToBeEmailed", Kind.BOOL, since=(6, 0))
    is_tax_included: bool | None = qbfield("IsTaxIncluded", Kind.BOOL, since=(6, 0))
    customer_sales_tax_code_ref: Ref | None = qbfield(
        "CustomerSalesTaxCodeRef", Kind.AGG, model=Ref, max_len=3
    )
    other: str | None = qbfield("Other", Kind.STR, max_len=29, since=(6, 0))
    external_guid: str | None = attrs.field(
        default=None, converter=to_guid, metadata=qb("ExternalGUID", Kind.GUID, since=(9, 0))
    )
    linked_txn: tuple[LinkedTxn, ...] = attrs.field(
        factory=tuple,
        converter=_to_linked_txns,
        metadata=qb("LinkedTxn", Kind.AGG, model=LinkedTxn, many=True, since=(3, 0)),
    )
    lines: tuple[EstimateLineRet | EstimateLineGroupRet, ...] = attrs.field(
        factory=tuple,
        converter=_to_estimate_ret_lines,
        metadata=qb(
            "EstimateLineRet",
            Kind.AGG,
            model=(EstimateLineRet, EstimateLineGroupRet),
            many=True,
        ),
    )
    data_ext_ret: tuple[DataExtRet, ...] = attrs.field(
        factory=tuple,
        converter=_to_data_ext_rets,
        metadata=qb("DataExtRet", Kind.AGG, model=DataExtRet, many=True, since=(2, 0)),
    )
    unknown: tuple[str, ...] = _unknown()


@attrs.frozen(kw_only=True)
class ErrorRecovery:
    """
    What QuickBooks remembers about the object an earlier, recovery-enabled add created.

    Sent (qbXML 11.0+) in an ``*AddRs`` answered from the error-recovery store:
    one of ``list_id`` / ``owner_id`` / ``txn_id``, plus the ``txn_number``,
    ``edit_sequence`` and ``external_guid`` of the object that was created.
    """

    list_id: str | None = qbfield("ListID", Kind.ID, choice="id")
    owner_id: str | None = attrs.field(
        default=None, converter=to_guid, metadata=qb("OwnerID", Kind.GUID, choice="id")
    )
    txn_id: str | None = qbfield("TxnID", Kind.ID, choice="id")
    txn_number: int | None = qbfield("TxnNumber", Kind.INT)
    edit_sequence: str | None = qbfield("EditSequence", Kind.STR, max_len=16)
    external_guid: str | None = attrs.field(
        default=None, converter=to_guid, metadata=qb("ExternalGUID", Kind.GUID)
    )
    unknown: tuple[str, ...] = _unknown()


#: The typed ``*AddRs`` responses: element name → (Ret element name, Ret model).
RET_MODELS: Final[dict[str, tuple[str, type]]] = {
    "InvoiceAddRs": ("InvoiceRet", InvoiceRet),
    "EstimateAddRs": ("EstimateRet", EstimateRet),
}
