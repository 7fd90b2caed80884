"""
Keeping ``FakeQuickBooks``' two views of a list object in step.

The invoice and estimate engine (``_quickbooks_txn``) reads lists as
:class:`Customer`, :class:`Item` and :class:`ListEntry`; everything else
(queries, Mods, the other Adds) works on the typed Rets of the generated
vocabulary (``_quickbooks_objects``).  An object added one way is mirrored
into the other: :func:`ret_of_entry` (seeding → Ret) and
:func:`entry_of_ret` (a CustomerAdd, ItemServiceMod ... → the engine's view).
See docs/testing.md.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Final

from qbwc.qbxml._types import Ref, specs
from qbwc.testing._quickbooks_state import (
    AnyEntry,
    Customer,
    GroupMember,
    Item,
    ItemKind,
    ListEntry,
    ListKind,
)
from qbwc.testing._quickbooks_vocab import object_type

__all__ = ["LIST_TYPES", "entry_of_ret", "kind_of_type", "ret_of_entry", "type_of_entry"]

#: The engine's simple lists and the object type each one is.
LIST_TYPES: Final = {
    ListKind.CUSTOMER: "Customer",
    ListKind.CLASS: "Class",
    ListKind.TERMS: "StandardTerms",
    ListKind.SALES_REP: "SalesRep",
    ListKind.TEMPLATE: "Template",
    ListKind.SALES_TAX_CODE: "SalesTaxCode",
    ListKind.CUSTOMER_MSG: "CustomerMsg",
    ListKind.SHIP_METHOD: "ShipMethod",
    ListKind.ACCOUNT: "Account",
    ListKind.PRICE_LEVEL: "PriceLevel",
}
_KINDS: Final = {name: kind for kind, name in LIST_TYPES.items()}
#: Item object types and the engine's kind of item they behave as on a sales line.
_ITEM_KINDS: Final = {
    "ItemService": ItemKind.SERVICE,
    "ItemNonInventory": ItemKind.NON_INVENTORY,
    "ItemInventory": ItemKind.INVENTORY,
    "ItemInventoryAssembly": ItemKind.INVENTORY,
    "ItemOtherCharge": ItemKind.OTHER_CHARGE,
    "ItemFixedAsset": ItemKind.NON_INVENTORY,
    "ItemPayment": ItemKind.OTHER_CHARGE,
    "ItemDiscount": ItemKind.DISCOUNT,
    "ItemSubtotal": ItemKind.SUBTOTAL,
    "ItemSalesTax": ItemKind.SALES_TAX,
    "ItemSalesTaxGroup": ItemKind.SALES_TAX,
    "ItemGroup": ItemKind.GROUP,
}
_ITEM_TYPES: Final = {
    ItemKind.SERVICE: "ItemService",
    ItemKind.NON_INVENTORY: "ItemNonInventory",
    ItemKind.INVENTORY: "ItemInventory",
    ItemKind.OTHER_CHARGE: "ItemOtherCharge",
    ItemKind.DISCOUNT: "ItemDiscount",
    ItemKind.SUBTOTAL: "ItemSubtotal",
    ItemKind.SALES_TAX: "ItemSalesTax",
    ItemKind.GROUP: "ItemGroup",
}
_ACCOUNT_TYPES: Final = {"Accounts Receivable": "AccountsReceivable"}


def kind_of_type(type_name: str) -> ListKind | None:
    """The engine's list for an object type, or None if the engine does not read it."""
    if type_name in _ITEM_KINDS:
        return ListKind.ITEM
    return _KINDS.get(type_name)


def type_of_entry(entry: AnyEntry) -> str:
    """The object type of an engine entry."""
    if isinstance(entry, Customer):
        return "Customer"
    if isinstance(entry, Item):
        return _ITEM_TYPES[entry.kind]
    return LIST_TYPES[entry.kind]


def _build(cls: type, values: dict[str, Any]) -> Any:
    """An instance of *cls* from those *values* its fields have and that are set."""
    fields = {name for name, _ in specs(cls)}
    return cls(**{k: v for k, v in values.items() if k in fields and v is not None})


def _sub_model(cls: type, field: str) -> type:
    for name, spec in specs(cls):
        if name == field:
            return spec.model[0]
    raise KeyError(field)  # pragma: no cover - a field named by this module


def ret_of_entry(
    entry: AnyEntry, refs: dict[str, Ref | None], *, now: dt.datetime, edit_sequence: str
) -> Any:
    """
    The Ret of an entry seeded through the engine's API.

    *refs* maps the entry's ListID fields (``terms_id``, ``parent_id``, ...)
    to Refs with both ListID and FullName.
    """
    type_name = type_of_entry(entry)
    otype = object_type(type_name)
    assert otype is not None
    cls = otype.ret
    parent = refs.get("parent_id")
    values: dict[str, Any] = {
        "list_id": entry.list_id,
        "time_created": now,
        "time_modified": now,
        "edit_sequence": edit_sequence,
        "name": entry.name,
        "full_name": entry.full_name,
        "initial": entry.name,
        "is_active": entry.is_active,
        "parent_ref": parent,
        "sublevel": entry.full_name.count(":"),
    }
    if isinstance(entry, Customer):
        values.update(
            bill_address=entry.bill_address,
            ship_address=entry.ship_address,
            email=entry.email,
            terms_ref=refs.get("terms_id"),
            sales_rep_ref=refs.get("sales_rep_id"),
            sales_tax_code_ref=refs.get("sales_tax_code_id"),
            item_sales_tax_ref=refs.get("item_sales_tax_id"),
            price_level_ref=refs.get("price_level_id"),
        )
    elif isinstance(entry, Item):
        values.update(_item_values(entry, cls, refs))
    else:
        values.update(
            std_due_days=entry.days_due,
            is_taxable=entry.taxable,
            account_type=_ACCOUNT_TYPES.get(entry.full_name, "Income")
            if entry.kind is ListKind.ACCOUNT
            else None,
            price_level_type="FixedPercentage" if entry.kind is ListKind.PRICE_LEVEL else None,
            price_level_fixed_percentage=entry.percent,
            template_type="Invoice" if "Invoice" in entry.name else "Estimate",
        )
    return _build(cls, values)


def _item_values(item: Item, cls: type, refs: dict[str, Ref | None]) -> dict[str, Any]:
    values: dict[str, Any] = {
        "sales_tax_code_ref": refs.get("sales_tax_code_id"),
        "item_desc": item.description,
    }
    kind = item.kind
    if kind in (ItemKind.SERVICE, ItemKind.NON_INVENTORY, ItemKind.OTHER_CHARGE):
        values["sales_or_purchase"] = _build(
            _sub_model(cls, "sales_or_purchase"),
            {"desc": item.description, "price": item.price, "price_percent": item.percent},
        )
    elif kind is ItemKind.INVENTORY:
        values.update(sales_desc=item.description, sales_price=item.price)
    elif kind is ItemKind.DISCOUNT:
        values.update(
            discount_rate=None if item.price is None else abs(item.price),
            discount_rate_percent=None if item.percent is None else abs(item.percent),
        )
    elif kind is ItemKind.SALES_TAX:
        values["tax_rate"] = item.percent
    elif kind is ItemKind.GROUP:
        line = _sub_model(cls, "item_group_line")
        values.update(
            is_print_items_in_group=item.print_items_in_group,
            item_group_line=tuple(
                line(item_ref=refs.get(f"member:{m.item_id}"), quantity=m.quantity)
                for m in item.members
            ),
        )
    return values


def _id(ref: Ref | None) -> str | None:
    return None if ref is None else ref.list_id


def entry_of_ret(type_name: str, ret: Any) -> AnyEntry | None:
    """The engine's view of a list object added or changed through qbXML (None: not read)."""
    kind = kind_of_type(type_name)
    if kind is None:
        return None
    values = {name: getattr(ret, name) for name, _ in specs(type(ret))}
    name = values.get("name") or values.get("initial") or ""
    full_name = values.get("full_name") or name
    common: dict[str, Any] = {
        "list_id": ret.list_id,
        "name": name,
        "full_name": full_name,
        "parent_id": _id(values.get("parent_ref")),
        "is_active": values.get("is_active") is not False,
    }
    if kind is ListKind.CUSTOMER:
        return Customer(
            **common,
            bill_address=values.get("bill_address"),
            ship_address=values.get("ship_address"),
            email=values.get("email"),
            terms_id=_id(values.get("terms_ref")),
            sales_rep_id=_id(values.get("sales_rep_ref")),
            sales_tax_code_id=_id(values.get("sales_tax_code_ref")),
            item_sales_tax_id=_id(values.get("item_sales_tax_ref")),
            price_level_id=_id(values.get("price_level_ref")),
        )
    if kind is ListKind.ITEM:
        return _item_of_ret(type_name, values, common)
    percent = values.get("price_level_fixed_percentage")
    return ListEntry(
        kind=kind,
        **common,
        days_due=values.get("std_due_days"),
        percent=percent,
        taxable=values.get("is_taxable"),
    )


def _item_of_ret(type_name: str, values: dict[str, Any], common: dict[str, Any]) -> Item:
    kind = _ITEM_KINDS[type_name]
    price: Decimal | None = None
    percent: Decimal | None = None
    description = values.get("item_desc") or values.get("sales_desc")
    for holder in (values.get("sales_or_purchase"), values.get("sales_and_purchase")):
        if holder is not None:
            price = getattr(holder, "price", None) or getattr(holder, "sales_price", None)
            percent = getattr(holder, "price_percent", None)
            description = getattr(holder, "desc", None) or getattr(holder, "sales_desc", None)
    price = price if price is not None else values.get("sales_price")
    if kind is ItemKind.DISCOUNT:
        rate, rate_percent = values.get("discount_rate"), values.get("discount_rate_percent")
        price = None if rate is None else -abs(rate)
        percent = None if rate_percent is None else -abs(rate_percent)
    elif kind is ItemKind.SALES_TAX:
        percent = values.get("tax_rate")
    members = tuple(
        GroupMember(item_id=line.item_ref.list_id, quantity=line.quantity or Decimal(1))
        for line in values.get("item_group_line") or ()
        if line.item_ref is not None and line.item_ref.list_id is not None
    )
    return Item(
        **common,
        kind=kind,
        description=description,
        price=price,
        percent=percent,
        sales_tax_code_id=_id(values.get("sales_tax_code_ref")),
        members=members,
        print_items_in_group=bool(values.get("is_print_items_in_group")),
    )
