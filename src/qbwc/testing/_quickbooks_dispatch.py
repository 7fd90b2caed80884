"""
Which requests ``FakeQuickBooks`` executes, and as what (docs/testing.md, "The
whole vocabulary"): read from the generated registry, not listed per type.
"""

from __future__ import annotations

from typing import Final, Literal

from qbwc.qbxml._types import vocabulary
from qbwc.testing._quickbooks_vocab import object_types

__all__ = ["Operation", "executes", "operation"]

Operation = Literal["create", "add", "mod", "query", "ListDel", "TxnDel", "TxnVoid"]
#: The Adds the invoice/estimate engine creates (with its full arithmetic).
_CREATED: Final = ("InvoiceAdd", "EstimateAdd")
_DELETES: Final[tuple[Operation, ...]] = ("ListDel", "TxnDel", "TxnVoid")


def operation(element: str) -> tuple[Operation, str] | None:
    """
    ``(operation, subject)`` for a request element (``CustomerAddRq`` →
    ``("add", "Customer")``, ``InvoiceQueryRq`` → ``("query", "InvoiceQuery")``),
    or None for a request the fake does not execute.
    """
    name = element[: -len("Rq")] if element.endswith("Rq") else element
    if name in _CREATED:
        return "create", name[: -len("Add")]
    for delete in _DELETES:
        if name == delete:
            return delete, ""
    if name.endswith("Query") and name in vocabulary().REQUESTS:
        return "query", name
    types = object_types()
    if name.endswith("Add") and name[: -len("Add")] in types:
        return "add", name[: -len("Add")]
    if name.endswith("Mod") and name[: -len("Mod")] in types:
        return "mod", name[: -len("Mod")]
    return None


def executes(element: str) -> bool:
    """Whether the fake executes the request element *element*."""
    return operation(element) is not None
