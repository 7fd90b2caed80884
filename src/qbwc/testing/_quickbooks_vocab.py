"""
What ``FakeQuickBooks`` knows about each object type, read from the generated
vocabulary's registry (``qbwc.qbxml._models``: ``REQUESTS``, ``RESPONSES`` and
the field specs; docs/qbxml-reference.md) rather than written per type:

* the object types it stores: every ``<Type>Add`` whose ``<Type>AddRs`` answers
  one ``<Type>Ret`` with a ListID (a list) or a TxnID (a transaction);
* which list a Ref points into (``CustomerRef`` → Customer, ``ItemRef`` → any
  item, ``DepositToAccountRef`` → Account, ...), by the Ref's tag;
* which names share one namespace (customers, vendors, employees and other
  names; all items; both kinds of terms), for 3100;
* how a request aggregate becomes the Ret's (``InvoiceLineAdd`` →
  ``InvoiceLineRet``, ``SalesOrPurchaseMod`` → ``SalesOrPurchase``), field by
  field through the qbXML tags.

See docs/testing.md ("The whole vocabulary").
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any, Final

import attrs

from qbwc.qbxml._types import Kind, Ref, Spec, specs, tag_of, vocabulary
from qbwc.testing._quickbooks_txn import Refusal

__all__ = [
    "ENTITY_TYPES",
    "ObjectType",
    "convert",
    "name_attribute",
    "object_type",
    "object_types",
    "query_types",
    "ref_targets",
]

#: Customers, vendors, employees and other names share one list of names in QuickBooks.
ENTITY_TYPES: Final = ("Customer", "Vendor", "Employee", "OtherName")
#: Ref tags whose target the rule "the tag ends with a type's name" does not find.
_REF_OVERRIDES: Final[dict[str, tuple[str, ...]]] = {
    "EntityRef": ENTITY_TYPES,
    "PayeeEntityRef": ENTITY_TYPES,
    "ShipToEntityRef": ENTITY_TYPES,
    "SalesRepEntityRef": ("Employee", "Vendor", "OtherName"),
    "TermsRef": ("StandardTerms", "DateDrivenTerms"),
    "SupervisorRef": ("Employee",),
    "TaxVendorRef": ("Vendor",),
    "PrefVendorRef": ("Vendor",),
    "ItemSalesTaxRef": ("ItemSalesTax", "ItemSalesTaxGroup"),
    "ItemPurchaseTaxRef": ("ItemSalesTax", "ItemSalesTaxGroup"),
    "CustomerSalesTaxCodeRef": ("SalesTaxCode",),
    "PurchaseTaxCodeRef": ("SalesTaxCode",),
    "PaymentTemplateRef": (),
    "ListObjRef": (),
    "CurrencyFilter": (),
}
#: Lists whose names form a ``Parent:Child`` hierarchy (a ParentRef in the Add).
_TXN_SUFFIXES: Final = ("Add", "Mod", "Ret")


@attrs.frozen
class ObjectType:
    """One object type the fake stores: its name, Ret model and identity field."""

    name: str
    ret: type
    #: ``"list_id"`` or ``"txn_id"``.
    id_field: str
    #: The types whose names must differ from this one's (3100).
    namespace: str
    #: The Ret's field names.
    fields: frozenset[str] = attrs.field(eq=False, default=frozenset())

    @property
    def is_list(self) -> bool:
        return self.id_field == "list_id"

    def has(self, field: str) -> bool:
        return field in self.fields


def _namespace(name: str) -> str:
    if name in ENTITY_TYPES:
        return "Entity"
    if name.startswith("Item") and name != "ItemReceipt":
        return "Item"
    if name.endswith("Terms"):
        return "Terms"
    return name


@functools.cache
def object_types() -> dict[str, ObjectType]:
    """Every object type the fake stores, by name (``Customer``, ``Invoice``, ``ItemService``)."""
    tables = vocabulary()
    found: dict[str, ObjectType] = {}
    candidates = {n[: -len("Add")] for n in tables.REQUESTS if n.endswith("Add")}
    candidates.add("Template")  # QuickBooks' own list: queried, never added
    for name in sorted(candidates):
        rets = tables.RESPONSES.get(f"{name}AddRs") or tables.RESPONSES.get(f"{name}QueryRs")
        if rets != (f"{name}Ret",):
            continue
        ret = tables.model(f"{name}Ret")
        fields = {field for field, _ in specs(ret)}
        id_field = "txn_id" if "txn_id" in fields else "list_id" if "list_id" in fields else None
        if id_field is None:
            continue
        found[name] = ObjectType(name, ret, id_field, _namespace(name), frozenset(fields))
    return found


def object_type(name: str) -> ObjectType | None:
    """The stored object type *name*, or None."""
    return object_types().get(name)


@functools.cache
def query_types(query: str) -> tuple[ObjectType, ...]:
    """The stored types a ``<X>Query`` answers with (``ItemQuery``: every item type)."""
    rets = vocabulary().RESPONSES.get(f"{query}Rs", ())
    types = object_types()
    return tuple(types[r[:-3]] for r in rets if r.endswith("Ret") and r[:-3] in types)


@functools.cache
def ref_targets(tag: str) -> tuple[str, ...]:
    """The object types a Ref element *tag* may point to; ``()`` when the fake does not check it."""
    if tag in _REF_OVERRIDES:
        return _REF_OVERRIDES[tag]
    stem = tag[: -len("Ref")] if tag.endswith("Ref") else tag
    types = object_types()
    if stem in types:
        return (stem,)
    if stem.endswith("Item") or stem == "Item":
        return tuple(t for t in types if _namespace(t) == "Item")
    # The longest type name the tag ends with: DepositToAccountRef → Account.
    best = max((t for t in types if stem.endswith(t)), key=len, default=None)
    return () if best is None else (best,)


def name_attribute(cls: type) -> str | None:
    """The field that names a list object: ``full_name``, ``name`` or ``initial`` (SalesRep)."""
    fields = {name for name, _ in specs(cls)}
    for candidate in ("full_name", "name", "initial"):
        if candidate in fields:
            return candidate
    return None


# --- request aggregate → Ret aggregate --------------------------------------------


def _stem(tag: str) -> str:
    for suffix in _TXN_SUFFIXES:
        if tag.endswith(suffix) and len(tag) > len(suffix):
            return tag[: -len(suffix)]
    return tag


_FIELD_MAPS: dict[tuple[type, type], dict[str, tuple[str, Spec]]] = {}


def field_map(source: type, target: type) -> dict[str, tuple[str, Spec]]:
    """Source field → (target field, target spec), matched through the qbXML tags (cached)."""
    cached = _FIELD_MAPS.get((source, target))
    if cached is not None:
        return cached
    by_tag: dict[str, tuple[str, Spec]] = {}
    for name, spec in specs(target):
        by_tag.setdefault(spec.tag, (name, spec))
        by_tag.setdefault(_stem(spec.tag), (name, spec))
    mapping: dict[str, tuple[str, Spec]] = {}
    for name, spec in specs(source):
        if spec.attribute:
            continue
        hit = by_tag.get(spec.tag) or by_tag.get(_stem(spec.tag))
        if hit is not None and (hit[1].kind is Kind.AGG) == (spec.kind is Kind.AGG):
            mapping[name] = hit
    _FIELD_MAPS[source, target] = mapping
    return mapping


def target_model(value: Any, spec: Spec) -> type | None:
    """The model of *spec* that a request aggregate *value* becomes (by its element name)."""
    if len(spec.model) == 1:
        return spec.model[0]
    stem = _stem(tag_of(type(value)))
    for model in spec.model:
        if _stem(tag_of(model)) == stem:
            return model
    return None


RefFixer = Callable[[str, Ref], Ref]


#: Ret fields QuickBooks fills from a request field of another name (a per-item
#: price or rate "adjusted by a percentage" is reported as that custom percentage).
_FALLBACKS: Final[dict[tuple[str, str], str]] = {
    ("PriceLevelPerItemRet", "custom_price_percent"): "adjust_percentage",
    ("BillingRatePerItemRet", "custom_rate_percent"): "adjust_percentage",
}


def convert(value: Any, target: type, fix_ref: RefFixer) -> Any:
    """
    *value* (a request aggregate) as an instance of *target* (a Ret aggregate):
    every field with a matching tag copied, aggregates converted in turn, Refs
    passed through *fix_ref* (which resolves them or raises).
    """
    fields = dict(converted_fields(value, target, fix_ref))
    for (model_name, field), source in _FALLBACKS.items():
        if target.__name__ == model_name and fields.get(field) is None:
            fallback = getattr(value, source, None)
            if fallback is not None:
                fields[field] = fallback
    return target(**fields)


def converted_fields(value: Any, target: type, fix_ref: RefFixer) -> Iterator[tuple[str, Any]]:
    """``(target field, value)`` for each field of *value* that is set and maps onto *target*."""
    mapping = field_map(type(value), target)
    for name, (target_name, spec) in mapping.items():
        current = getattr(value, name)
        if current is None or current == ():
            continue
        yield target_name, convert_value(current, spec, fix_ref)


def convert_value(current: Any, spec: Spec, fix_ref: RefFixer) -> Any:
    """One field's value converted to *spec* (a tuple for a repeated field)."""
    if spec.kind is not Kind.AGG:
        limit = spec.max_len if spec.kind is Kind.STR and not spec.many else None
        if limit is not None and len(current) > limit:
            # The request allows more than QuickBooks keeps (EmployeeAdd/SSN).
            message = f'The string "{current}" in the field "{spec.tag}" is too long.'
            raise Refusal(3070, message)
        return current
    items = current if isinstance(current, tuple) else (current,)
    out = []
    for item in items:
        if isinstance(item, Ref):
            out.append(fix_ref(spec.tag, item))
            continue
        model = target_model(item, spec)
        if model is None:
            continue
        out.append(convert(item, model, fix_ref))
    if spec.many:
        return tuple(out)
    return out[0] if out else None
