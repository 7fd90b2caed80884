"""
The rules QuickBooks enforces beyond Intuit's schema, applied by tools/gen_qbxml.py.

Hand-written, small, and the only place these rules live: the generated modules
in ``src/qbwc/qbxml/_models/`` are regenerated from the schema plus this overlay
(docs/qbxml-reference.md, "Rules beyond the schema").  Each table is keyed by the
generated model's name; :func:`apply` checks that every key still names a model
and a field, so a schema change that makes an entry stale fails the generator
instead of silently dropping the rule.

* :data:`CHOICES` names the schema's anonymous choices where the name carries
  meaning (the rate choice of a sales line, its markup choice, serial or lot
  number) instead of ``choice1``, ``choice2``.
* :data:`FIELDS` corrects what the SDK's annotations get wrong: the version an
  element appeared in, the maximum length of a reference that the annotations
  leave unmarked.
* :data:`EXCLUDES` are fields QuickBooks refuses together though the schema
  allows both (no ``ItemRef`` with ``LinkToTxn``): the builder enforces them
  (``Spec.excludes``), with the reason in its message.
* :data:`DOCS` are class docstrings stating the rules the builder cannot check
  from the specs alone (no ``ItemRef`` with ``LinkToTxn``, the Australian-only
  ``TaxAmount``, the non-US ``IsTaxIncluded``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gen_qbxml import Model

#: The named choices: model → {generated label: name}.
CHOICES: dict[str, dict[str, str]] = {
    "InvoiceLineAdd": {"choice1": "rate", "choice2": "serial_or_lot"},
    "InvoiceLineRet": {"choice1": "rate", "choice2": "serial_or_lot"},
    "EstimateLineAdd": {"choice1": "rate", "choice2": "markup"},
    "EstimateLineRet": {"choice1": "rate", "choice2": "markup"},
}

_SERIAL_LOT = {"since": (11, 0)}  # SerialNumber/LotNumber: qbXML 11.0 (the SDK reference)
_ITEM_REF = {"max_len": 159}  # an item's full name (ItemAdd's Name, up to 5 levels)

#: Field corrections: model → {field: {Field attribute: value}}.
FIELDS: dict[str, dict[str, dict[str, object]]] = {
    "InvoiceLineAdd": {"serial_number": _SERIAL_LOT, "lot_number": _SERIAL_LOT},
    "InvoiceLineRet": {
        "serial_number": _SERIAL_LOT,
        "lot_number": _SERIAL_LOT,
        "item_ref": _ITEM_REF,
    },
    "EstimateLineRet": {"item_ref": _ITEM_REF},
}

_LINKED_LINE = ("link_to_txn", "QuickBooks takes the item from the linked line")

#: Fields QuickBooks refuses together: model → {field: (other field, why)}.  The
#: SDK reference of InvoiceAdd, BillAdd and ItemReceiptAdd: a line with LinkToTxn
#: must not name an ItemRef (a run-time error); LinkToTxn brings the item in.
EXCLUDES: dict[str, dict[str, tuple[str, str]]] = {
    "InvoiceLineAdd": {"item_ref": _LINKED_LINE},
    "ItemLineAdd": {"item_ref": _LINKED_LINE},
}

#: Versions by element, for every model that has the element: tag → the version
#: it appeared in, and the models where the tag means something older.  Serial and
#: lot numbers on lines came with advanced inventory, qbXML 11.0 (the SDK
#: reference); the 14.0 annotations date only some of them (InvoiceLineAdd).
SINCE_BY_TAG: dict[str, tuple[tuple[int, int], frozenset[str]]] = {
    tag: ((11, 0), frozenset({"ItemFixedAssetAdd", "ItemFixedAssetMod", "ItemFixedAssetRet"}))
    for tag in ("SerialNumber", "LotNumber")
}

#: Class docstrings with the rules beyond the schema: model → docstring.
DOCS: dict[str, str] = {
    "LinkToTxn": """
Bring one line of an earlier transaction into an invoice line (qbXML 6.0+).

QuickBooks only accepts sales-order lines here, and the invoice line must
not also name an ``item_ref``.
""",
    "SetCredit": "Apply an existing credit memo to the new invoice (qbXML 10.0+).",
    "InvoiceLineAdd": """
One line of an invoice.

Give at most one of ``rate``, ``rate_percent`` and ``price_level_ref``, and
at most one of ``serial_number`` and ``lot_number``.  A line with only
``desc`` is a text line.  ``tax_amount`` is for Australian editions only.
With ``link_to_txn``, give no ``item_ref`` (QuickBooks takes the item from
the linked line).
""",
    "InvoiceLineGroupAdd": (
        "Insert a predefined group item into an invoice; QuickBooks expands its lines."
    ),
    "InvoiceAdd": """
A new invoice (qbXML ``InvoiceAdd``).

``customer_ref`` is required.  ``lines`` holds :class:`InvoiceLineAdd` and
:class:`InvoiceLineGroupAdd` values in invoice order; an invoice may have no
lines.  ``is_tax_included`` is for non-US editions only.
``include_ret_element`` limits which elements QuickBooks sends back.
""",
    "EstimateLineAdd": """
One line of an estimate.

Give at most one of ``rate`` and ``rate_percent``, and at most one of
``markup_rate``, ``markup_rate_percent`` and ``price_level_ref``.
``tax_amount`` is for Australian editions only.
""",
    "EstimateLineGroupAdd": (
        "Insert a predefined group item into an estimate; QuickBooks expands its lines."
    ),
    "EstimateAdd": """
A new estimate (qbXML ``EstimateAdd``).

``customer_ref`` and at least one entry in ``lines`` are required.
``lines`` holds :class:`EstimateLineAdd` and :class:`EstimateLineGroupAdd`
values in order.  ``is_tax_included`` is for non-US editions only.
""",
    "InvoiceRet": "An invoice as QuickBooks returns it (qbXML ``InvoiceRet``).",
    "InvoiceLineRet": """
One line of an invoice as QuickBooks returns it.

``tax_amount`` is sent by Australian editions only.
""",
    "EstimateRet": "An estimate as QuickBooks returns it (qbXML ``EstimateRet``).",
    "EstimateLineRet": """
One line of an estimate as QuickBooks returns it.

``tax_amount`` is sent by Australian editions only.
""",
}


def apply(models: dict[str, Model]) -> None:
    """Apply the overlay to the collected models (in place); a stale entry raises."""
    for name, labels in CHOICES.items():
        fields = models[name].fields
        known = {s.partition(":")[0] for f in fields if f.choice for s in f.choice.split("|")}
        for label in labels:
            if label not in known:
                raise KeyError(f"overlay: {name} has no choice {label!r}")
        for f in fields:
            if f.choice is not None:
                f.choice = "|".join(_rename(s, labels) for s in f.choice.split("|"))
    for name, changes in FIELDS.items():
        by_name = {f.name: f for f in models[name].fields}
        for field_name, values in changes.items():
            target = by_name[field_name]
            for attr, value in values.items():
                if not hasattr(target, attr):
                    raise KeyError(f"overlay: {name}.{field_name} has no {attr!r}")
                setattr(target, attr, value)
    for tag, (since, unlike) in SINCE_BY_TAG.items():
        found = [
            f for name, m in models.items() if name not in unlike for f in m.fields if f.tag == tag
        ]
        if not found:
            raise KeyError(f"overlay: no model has {tag!r}")
        for f in found:
            f.since = max(f.since, since)
    for name, pairs in EXCLUDES.items():
        by_name = {f.name: f for f in models[name].fields}
        for field_name, (other, why) in pairs.items():
            if other not in by_name:
                raise KeyError(f"overlay: {name} has no field {other!r}")
            by_name[field_name].excludes = ((other, why),)
    for name, doc in DOCS.items():
        models[name].doc = doc.strip()


def _rename(segment: str, labels: dict[str, str]) -> str:
    group, sep, alt = segment.partition(":")
    return labels.get(group, group) + sep + alt
