"""
The request models: InvoiceAdd and EstimateAdd with their line aggregates.

Fields are declared in the order of Intuit's qbXML 13.0 schema (``qbxml130.xsd``)
with the limits of the desktop editions (QBD/QBCA/QBUK/QBAU) and the version in
which each element appeared (Intuit's ``qbxmlops130.xml`` annotations).  The
qbXML 14.0, 15.0 and 16.0 schemas add nothing to these aggregates (checked
against ``qbxml160.xsd`` and ``qbxmlops140.xml``).

Elements that only QuickBooks Online accepts (``DiscountLineAdd``,
``SalesTaxLineAdd``, ``ShippingLineAdd``, ``IsTaxable`` on lines,
``SetCredit/TxnLineID``, and ``Desc``/``ServiceDate`` on line groups) are not
modelled.

``include_ret_element`` is the one field that lives *beside* the aggregate:
qbXML puts ``IncludeRetElement`` into the ``*AddRq`` after the ``*Add``.  The
builder, the parser and the schema generator know this through
:data:`RQ_LEVEL_FIELDS`.
"""

# qbfield() is an attrs field specifier (it returns attrs.field(...)); ruff
# cannot know that, so its "function call in a dataclass default" rule is off here.
# ruff: noqa: RUF009

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Final, final

import attrs

from qbwc.qbxml._types import (
    Address,
    DataExt,
    Kind,
    Ref,
    qb,
    qbfield,
    to_data_exts,
    to_date,
    to_decimal,
    to_guid,
    to_strs,
    to_tuple,
)

__all__ = [
    "ADD_MODELS",
    "LINE_MODELS",
    "RQ_LEVEL_FIELDS",
    "EstimateAdd",
    "EstimateLineAdd",
    "EstimateLineGroupAdd",
    "InvoiceAdd",
    "InvoiceLineAdd",
    "InvoiceLineGroupAdd",
    "LinkToTxn",
    "SetCredit",
]

#: The rate choice of an invoice line and the markup choice of an estimate line.
_RATE: Final = "rate"
_MARKUP: Final = "markup"
_SERIAL_OR_LOT: Final = "serial_or_lot"

_PRICE_RULE_OPTIONS: Final = ("Zero", "BasePrice")

# The repeated fields' converters, typed per element for mypy's attrs plugin (see
# qbwc.qbxml._types.to_decimal): what __init__ accepts is any iterable of the elements.
if TYPE_CHECKING:

    def _to_set_credits(value: Iterable[SetCredit] | None, /) -> tuple[SetCredit, ...]: ...

    def _to_invoice_lines(
        value: Iterable[InvoiceLineAdd | InvoiceLineGroupAdd] | None, /
    ) -> tuple[InvoiceLineAdd | InvoiceLineGroupAdd, ...]: ...

    def _to_estimate_lines(
        value: Iterable[EstimateLineAdd | EstimateLineGroupAdd] | None, /
    ) -> tuple[EstimateLineAdd | EstimateLineGroupAdd, ...]: ...

else:
    _to_set_credits = _to_invoice_lines = _to_estimate_lines = to_tuple


@final
@attrs.frozen(kw_only=True)
class LinkToTxn:
    """
    Bring one line of an earlier transaction into an invoice line (qbXML 6.0+).

    QuickBooks only accepts sales-order lines here, and the invoice line must
    not also name an ``item_ref``.
    """

    txn_id: str | None = qbfield("TxnID", Kind.ID, max_len=36, required=True)
    txn_line_id: str | None = qbfield("TxnLineID", Kind.ID, max_len=36, required=True)


@final
@attrs.frozen(kw_only=True)
class SetCredit:
    """Apply an existing credit memo to the new invoice (qbXML 10.0+)."""

    credit_txn_id: str | None = qbfield("CreditTxnID", Kind.ID, max_len=36, required=True)
    applied_amount: Decimal | None = attrs.field(
        default=None, converter=to_decimal, metadata=qb("AppliedAmount", Kind.AMT, required=True)
    )
    override: bool | None = qbfield("Override", Kind.BOOL, since=(10, 0))


@final
@attrs.frozen(kw_only=True)
class InvoiceLineAdd:
    """
    One line of an invoice.

    Give at most one of ``rate``, ``rate_percent`` and ``price_level_ref``, and
    at most one of ``serial_number`` and ``lot_number``.  A line with only
    ``desc`` is a text line.  ``tax_amount`` is for Australian editions only.
    """

    item_ref: Ref | None = qbfield("ItemRef", Kind.AGG, model=Ref)
    desc: str | None = qbfield("Desc", Kind.STR, max_len=4095)
    quantity: Decimal | None = attrs.field(
        default=None, converter=to_decimal, metadata=qb("Quantity", Kind.QUAN)
    )
    unit_of_measure: str | None = qbfield("UnitOfMeasure", Kind.STR, max_len=31, since=(7, 0))
    rate: Decimal | None = attrs.field(
        default=None, converter=to_decimal, metadata=qb("Rate", Kind.PRICE, choice=_RATE)
    )
    rate_percent: Decimal | None = attrs.field(
        default=None, converter=to_decimal, metadata=qb("RatePercent", Kind.PERCENT, choice=_RATE)
    )
    price_level_ref: Ref | None = qbfield(
        "PriceLevelRef", Kind.AGG, model=Ref, max_len=31, choice=_RATE, since=(4, 0)
    )
    class_ref: Ref | None = qbfield("ClassRef", Kind.AGG, model=Ref, max_len=159)
    amount: Decimal | None = attrs.field(
        default=None, converter=to_decimal, metadata=qb("Amount", Kind.AMT)
    )
    tax_amount: Decimal | None = attrs.field(
        default=None, converter=to_decimal, metadata=qb("TaxAmount", Kind.AMT, since=(6, 1))
    )
    option_for_price_rule_conflict: str | None = qbfield(
        "OptionForPriceRuleConflict", Kind.ENUM, values=_PRICE_RULE_OPTIONS, since=(13, 0)
    )
    inventory_site_ref: Ref | None = qbfield(
        "InventorySiteRef", Kind.AGG, model=Ref, max_len=31, since=(10, 0)
    )
    inventory_site_location_ref: Ref | None = qbfield(
        "InventorySiteLocationRef", Kind.AGG, model=Ref, max_len=31, since=(12, 0)
    )
    serial_number: str | None = qbfield(
        "SerialNumber", Kind.STR, max_len=4095, choice=_SERIAL_OR_LOT, since=(11, 0)
    )
    lot_number: str | None = qbfield(
        "LotNumber", Kind.STR, max_len=40, choice=_SERIAL_OR_LOT, since=(11, 0)
    )
    service_date: dt.date | None = attrs.field(
        default=None, converter=to_date, metadata=qb("ServiceDate", Kind.DATE)
    )
    sales_tax_code_ref: Ref | None = qbfield("SalesTaxCodeRef", Kind.AGG, model=Ref, max_len=3)
    override_item_account_ref: Ref | None = qbfield(
        "OverrideItemAccountRef", Kind.AGG, model=Ref, max_len=159, since=(2, 0)
    )
    other1: str | None = qbfield("Other1", Kind.STR, max_len=29, since=(6, 0))
    other2: str | None = qbfield("Other2", Kind.STR, max_len=29, since=(6, 0))
    link_to_txn: LinkToTxn | None = qbfield("LinkToTxn", Kind.AGG, model=LinkToTxn, since=(6, 0))
    data_ext: tuple[DataExt, ...] = attrs.field(
        factory=tuple,
        converter=to_data_exts,
        metadata=qb("DataExt", Kind.AGG, model=DataExt, many=True, since=(5, 0)),
    )
    def_macro: str | None = qbfield("defMacro", Kind.STR, attribute=True, since=(2, 0))


@final
@attrs.frozen(kw_only=True)
class InvoiceLineGroupAdd:
    """Insert a predefined group item into an invoice; QuickBooks expands its lines."""

    item_group_ref: Ref | None = qbfield(
        "ItemGroupRef", Kind.AGG, model=Ref, max_len=31, required=True
    )
    quantity: Decimal | None = attrs.field(
        default=None, converter=to_decimal, metadata=qb("Quantity", Kind.QUAN)
    )
    unit_of_measure: str | None = qbfield("UnitOfMeasure", Kind.STR, max_len=31, since=(7, 0))
    inventory_site_ref: Ref | None = qbfield(
        "InventorySiteRef", Kind.AGG, model=Ref, max_len=31, since=(10, 0)
    )
    inventory_site_location_ref: Ref | None = qbfield(
        "InventorySiteLocationRef", Kind.AGG, model=Ref, max_len=31, since=(12, 0)
    )
    data_ext: tuple[DataExt, ...] = attrs.field(
        factory=tuple,
        converter=to_data_exts,
        metadata=qb("DataExt", Kind.AGG, model=DataExt, many=True, since=(5, 0)),
    )


@final
@attrs.frozen(kw_only=True)
class InvoiceAdd:
    """
    A new invoice (qbXML ``InvoiceAdd``).

    ``customer_ref`` is required.  ``lines`` holds :class:`InvoiceLineAdd` and
    :class:`InvoiceLineGroupAdd` values in invoice order; an invoice may have no
    lines.  ``is_tax_included`` is for non-US editions only.
    ``include_ret_element`` limits which elements QuickBooks sends back.
    """

    customer_ref: Ref | None = qbfield(
        "CustomerRef", Kind.AGG, model=Ref, max_len=209, required=True
    )
    class_ref: Ref | None = qbfield("ClassRef", Kind.AGG, model=Ref, max_len=159)
    ar_account_ref: Ref | None = qbfield("ARAccountRef", Kind.AGG, model=Ref, max_len=159)
    template_ref: Ref | None = qbfield(
        "TemplateRef", Kind.AGG, model=Ref, max_len=31, since=(3, 0)
    )
    txn_date: dt.date | None = attrs.field(
        default=None, converter=to_date, metadata=qb("TxnDate", Kind.DATE)
    )
    ref_number: str | None = qbfield("RefNumber", Kind.STR, max_len=11)
    bill_address: Address | None = qbfield("BillAddress", Kind.AGG, model=Address)
    ship_address: Address | None = qbfield("ShipAddress", Kind.AGG, model=Address)
    is_pending: bool | None = qbfield("IsPending", Kind.BOOL)
    is_finance_charge: bool | None = qbfield("IsFinanceCharge", Kind.BOOL, since=(8, 0))
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
    item_sales_tax_ref: Ref | None = qbfield(
        "ItemSalesTaxRef", Kind.AGG, model=Ref, max_len=31
    )
    memo: str | None = qbfield("Memo", Kind.STR, max_len=4095)
    customer_msg_ref: Ref | None = qbfield(
        "CustomerMsgRef", Kind.AGG, model=Ref, max_len=101
    )
    is_to_be_printed: bool | None = qbfield("IsToBePrinted", Kind.BOOL)
    is_to_be_emailed: bool | None = qbfield("IsToBeEmailed", Kind.BOOL, since=(6, 0))
    is_tax_included: bool | None = qbfield("IsTaxIncluded", Kind.BOOL, since=(6, 0))
    customer_sales_tax_code_ref: Ref | None = qbfield(
        "CustomerSalesTaxCodeRef", Kind.AGG, model=Ref, max_len=3
    )
    other: str | None = qbfield("Other", Kind.STR, max_len=29, since=(6, 0))
    exchange_rate: Decimal | None = attrs.field(
        default=None, converter=to_decimal, metadata=qb("ExchangeRate", Kind.FLOAT, since=(8, 0))
    )
    external_guid: str | None = attrs.field(
        default=None, converter=to_guid, metadata=qb("ExternalGUID", Kind.GUID, since=(9, 0))
    )
    link_to_txn_id: tuple[str, ...] = attrs.field(
        factory=tuple,
        converter=to_strs,
        metadata=qb("LinkToTxnID", Kind.ID, max_len=36, many=True, since=(6, 0)),
    )
    set_credit: tuple[SetCredit, ...] = attrs.field(
        factory=tuple,
        converter=_to_set_credits,
        metadata=qb("SetCredit", Kind.AGG, model=SetCredit, many=True, since=(10, 0)),
    )
    lines: tuple[InvoiceLineAdd | InvoiceLineGroupAdd, ...] = attrs.field(
        factory=tuple,
        converter=_to_invoice_lines,
        metadata=qb(
            "InvoiceLineAdd",
            Kind.AGG,
            model=(InvoiceLineAdd, InvoiceLineGroupAdd),
            many=True,
        ),
    )
    def_macro: str | None = qbfield("defMacro", Kind.STR, attribute=True, since=(2, 0))
    include_ret_element: tuple[str, ...] = attrs.field(
        factory=tuple,
        converter=to_strs,
        metadata=qb("IncludeRetElement", Kind.STR, max_len=50, many=True, since=(4, 0)),
    )


@final
@attrs.frozen(kw_only=True)
class EstimateLineAdd:
    """
    One line of an estimate.

    Give at most one of ``rate`` and ``rate_percent``, and at most one of
    ``markup_rate``, ``markup_rate_percent`` and ``price_level_ref``.
    ``tax_amount`` is for Australian editions only.
    """

    item_ref: Ref | None = qbfield("ItemRef", Kind.AGG, model=Ref)
    desc: str | None = qbfield("Desc", Kind.STR, max_len=4095)
    quantity: Decimal | None = attrs.field(
        default=None, converter=to_decimal, metadata=qb("Quantity", Kind.QUAN)
    )
    unit_of_measure: str | None = qbfield("UnitOfMeasure", Kind.STR, max_len=31, since=(7, 0))
    rate: Decimal | None = attrs.field(
        default=None, converter=to_decimal, metadata=qb("Rate", Kind.PRICE, choice=_RATE)
    )
    rate_percent: Decimal | None = attrs.field(
        default=None, converter=to_decimal, metadata=qb("RatePercent", Kind.PERCENT, choice=_RATE)
    )
    class_ref: Ref | None = qbfield("ClassRef", Kind.AGG, model=Ref, max_len=159)
    amount: Decimal | None = attrs.field(
        default=None, converter=to_decimal, metadata=qb("Amount", Kind.AMT)
    )
    tax_amount: Decimal | None = attrs.field(
        default=None, converter=to_decimal, metadata=qb("TaxAmount", Kind.AMT, since=(6, 1))
    )
    option_for_price_rule_conflict: str | None = qbfield(
        "OptionForPriceRuleConflict", Kind.ENUM, values=_PRICE_RULE_OPTIONS, since=(13, 0)
    )
    inventory_site_ref: Ref | None = qbfield(
        "InventorySiteRef", Kind.AGG, model=Ref, max_len=31, since=(10, 0)
    )
    inventory_site_location_ref: Ref | None = qbfield(
        "InventorySiteLocationRef", Kind.AGG, model=Ref, max_len=31, since=(12, 0)
    )
    sales_tax_code_ref: Ref | None = qbfield("SalesTaxCodeRef", Kind.AGG, model=Ref, max_len=3)
    markup_rate: Decimal | None = attrs.field(
        default=None, converter=to_decimal, metadata=qb("MarkupRate", Kind.PRICE, choice=_MARKUP)
    )
    markup_rate_percent: Decimal | None = attrs.field(
        default=None,
        converter=to_decimal,
        metadata=qb("MarkupRatePercent", Kind.PERCENT, choice=_MARKUP),
    )
    price_level_ref: Ref | None = qbfield(
        "PriceLevelRef", Kind.AGG, model=Ref, max_len=31, choice=_MARKUP, since=(7, 0)
    )
    override_item_account_ref: Ref | None = qbfield(
        "OverrideItemAccountRef", Kind.AGG, model=Ref, max_len=159, since=(2, 0)
    )
    other1: str | None = qbfield("Other1", Kind.STR, max_len=29, since=(6, 0))
    other2: str | None = qbfield("Other2", Kind.STR, max_len=29, since=(6, 0))
    data_ext: tuple[DataExt, ...] = attrs.field(
        factory=tuple,
        converter=to_data_exts,
        metadata=qb("DataExt", Kind.AGG, model=DataExt, many=True, since=(5, 0)),
    )


@final
@attrs.frozen(kw_only=True)
class EstimateLineGroupAdd:
    """Insert a predefined group item into an estimate; QuickBooks expands its lines."""

    item_group_ref: Ref | None = qbfield(
        "ItemGroupRef", Kind.AGG, model=Ref, max_len=31, required=True
    )
    quantity: Decimal | None = attrs.field(
        default=None, converter=to_decimal, metadata=qb("Quantity", Kind.QUAN)
    )
    unit_of_measure: str | None = qbfield("UnitOfMeasure", Kind.STR, max_len=31, since=(7, 0))
    inventory_site_ref: Ref | None = qbfield(
        "InventorySiteRef", Kind.AGG, model=Ref, max_len=31, since=(10, 0)
    )
    inventory_site_location_ref: Ref | None = qbfield(
        "InventorySiteLocationRef", Kind.AGG, model=Ref, max_len=31, since=(12, 0)
    )
    data_ext: tuple[DataExt, ...] = attrs.field(
        factory=tuple,
        converter=to_data_exts,
        metadata=qb("DataExt", Kind.AGG, model=DataExt, many=True, since=(5, 0)),
    )


@final
@attrs.frozen(kw_only=True)
class EstimateAdd:
    """
    A new estimate (qbXML ``EstimateAdd``).

    ``customer_ref`` and at least one entry in ``lines`` are required.
    ``lines`` holds :class:`EstimateLineAdd` and :class:`EstimateLineGroupAdd`
    values in order.  ``is_tax_included`` is for non-US editions only.
    """

    customer_ref: Ref | None = qbfield(
        "CustomerRef", Kind.AGG, model=Ref, max_len=209, required=True
    )
    class_ref: Ref | None = qbfield("ClassRef", Kind.AGG, model=Ref, max_len=159)
    template_ref: Ref | None = qbfield(
        "TemplateRef", Kind.AGG, model=Ref, max_len=31, since=(3, 0)
    )
    txn_date: dt.date | None = attrs.field(
        default=None, converter=to_date, metadata=qb("TxnDate", Kind.DATE)
    )
    ref_number: str | None = qbfield("RefNumber", Kind.STR, max_len=11)
    bill_address: Address | None = qbfield("BillAddress", Kind.AGG, model=Address)
    ship_address: Address | None = qbfield(
        "ShipAddress", Kind.AGG, model=Address, since=(7, 0)
    )
    is_active: bool | None = qbfield("IsActive", Kind.BOOL, since=(3, 0))
    po_number: str | None = qbfield("PONumber", Kind.STR, max_len=25)
    terms_ref: Ref | None = qbfield("TermsRef", Kind.AGG, model=Ref, max_len=31)
    due_date: dt.date | None = attrs.field(
        default=None, converter=to_date, metadata=qb("DueDate", Kind.DATE)
    )
    sales_rep_ref: Ref | None = qbfield("SalesRepRef", Kind.AGG, model=Ref, max_len=5)
    fob: str | None = qbfield("FOB", Kind.STR, max_len=13)
    item_sales_tax_ref: Ref | None = qbfield(
        "ItemSalesTaxRef", Kind.AGG, model=Ref, max_len=31
    )
    memo: str | None = qbfield("Memo", Kind.STR, max_len=4095)
    customer_msg_ref: Ref | None = qbfield(
        "CustomerMsgRef", Kind.AGG, model=Ref, max_len=101
    )
    is_to_be_emailed: bool | None = qbfield("IsToBeEmailed", Kind.BOOL, since=(6, 0))
    is_tax_included: bool | None = qbfield("IsTaxIncluded", Kind.BOOL, since=(6, 0))
    customer_sales_tax_code_ref: Ref | None = qbfield(
        "CustomerSalesTaxCodeRef", Kind.AGG, model=Ref, max_len=3
    )
    other: str | None = qbfield("Other", Kind.STR, max_len=29, since=(6, 0))
    exchange_rate: Decimal | None = attrs.field(
        default=None, converter=to_decimal, metadata=qb("ExchangeRate", Kind.FLOAT, since=(8, 0))
    )
    external_guid: str | None = attrs.field(
        default=None, converter=to_guid, metadata=qb("ExternalGUID", Kind.GUID, since=(9, 0))
    )
    lines: tuple[EstimateLineAdd | EstimateLineGroupAdd, ...] = attrs.field(
        factory=tuple,
        converter=_to_estimate_lines,
        metadata=qb(
            "EstimateLineAdd",
            Kind.AGG,
            model=(EstimateLineAdd, EstimateLineGroupAdd),
            many=True,
            min_count=1,
        ),
    )
    def_macro: str | None = qbfield("defMacro", Kind.STR, attribute=True, since=(2, 0))
    include_ret_element: tuple[str, ...] = attrs.field(
        factory=tuple,
        converter=to_strs,
        metadata=qb("IncludeRetElement", Kind.STR, max_len=50, many=True, since=(4, 0)),
    )


#: The top-level request models and the ``*AddRq`` element each one travels in.
ADD_MODELS: Final[dict[type, str]] = {InvoiceAdd: "InvoiceAddRq", EstimateAdd: "EstimateAddRq"}

#: Every request model that can appear in ``lines``.
LINE_MODELS: Final = (InvoiceLineAdd, InvoiceLineGroupAdd, EstimateLineAdd, EstimateLineGroupAdd)

#: Fields of an Add model that qbXML places in the ``*AddRq``, after the ``*Add``.
RQ_LEVEL_FIELDS: Final = frozenset({"include_ret_element"})
