"""
The models of what QuickBooks sends back for an estimate or an invoice.

The Ret classes are generated from Intuit's qbXML 16.0 schema by
tools/gen_qbxml.py into ``qbwc.qbxml._core_models`` (with the overlay
``tools/gen_qbxml_overlay.py``); this module keeps
their historical import path, :class:`ErrorRecovery` (the hand-written model of
the ``ErrorRecovery`` aggregate of any ``*AddRs``) and the tables the parser and
:func:`build_response` read.

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

from __future__ import annotations

from typing import Final

import attrs

from qbwc.qbxml._core_models import (
    AddressBlock,
    DataExtRet,
    EstimateLineGroupRet,
    EstimateLineRet,
    EstimateRet,
    InvoiceLineGroupRet,
    InvoiceLineRet,
    InvoiceRet,
    LinkedTxn,
)
from qbwc.qbxml._types import Kind, qb, qbfield, to_guid, unknown_field

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
    unknown: tuple[str, ...] = unknown_field()


#: The typed ``*AddRs`` responses: element name → (Ret element name, Ret model).
RET_MODELS: Final[dict[str, tuple[str, type]]] = {
    "InvoiceAddRs": ("InvoiceRet", InvoiceRet),
    "EstimateAddRs": ("EstimateRet", EstimateRet),
}
