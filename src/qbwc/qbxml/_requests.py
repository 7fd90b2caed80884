"""
The request models: InvoiceAdd and EstimateAdd with their line aggregates.

The classes are generated from Intuit's qbXML 16.0 schema by tools/gen_qbxml.py
(``qbwc.qbxml._core_models``); the rules
QuickBooks enforces beyond the schema (the rate choice of a line, the version of
``SerialNumber``/``LotNumber``, no ``ItemRef`` with ``LinkToTxn``, the
Australian-only ``TaxAmount``) come from the generator's hand-written overlay,
``tools/gen_qbxml_overlay.py`` (docs/qbxml-reference.md).  This module keeps
their historical import path and the tables the builder, the parser and the
schema generator read.

Elements that only QuickBooks Online accepts (``DiscountLineAdd``,
``SalesTaxLineAdd``, ``ShippingLineAdd``, ``IsTaxable`` on lines,
``SetCredit/TxnLineID``, and ``Desc``/``ServiceDate`` on line groups) are not
modelled.

``include_ret_element`` is the one field that lives *beside* the aggregate:
qbXML puts ``IncludeRetElement`` into the ``*AddRq`` after the ``*Add``.  The
builder, the parser and the schema generator know this through
:data:`RQ_LEVEL_FIELDS`.
"""

from __future__ import annotations

from typing import Final

from qbwc.qbxml._core_models import (
    EstimateAdd,
    EstimateLineAdd,
    EstimateLineGroupAdd,
    InvoiceAdd,
    InvoiceLineAdd,
    InvoiceLineGroupAdd,
    LinkToTxn,
    SetCredit,
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

#: The top-level request models and the ``*AddRq`` element each one travels in.
ADD_MODELS: Final[dict[type, str]] = {InvoiceAdd: "InvoiceAddRq", EstimateAdd: "EstimateAddRq"}

#: Every request model that can appear in ``lines``.
LINE_MODELS: Final = (InvoiceLineAdd, InvoiceLineGroupAdd, EstimateLineAdd, EstimateLineGroupAdd)

#: Fields of an Add model that qbXML places in the ``*AddRq``, after the ``*Add``.
RQ_LEVEL_FIELDS: Final = frozenset({"include_ret_element"})
