"""
Seeding ``FakeQuickBooks`` from plain data, and reading its objects back as
typed Rets (docs/testing.md, "Seeding from plain data").

A record is the JSON form of the type's Add (``qbwc.qbxml.load``: snake_case
field names, Decimals as strings), with two conveniences: a Ref may be given
as its FullName (``"terms_ref": "Net 30"``), and a hierarchical list object
may be named by its full name (``"full_name": "Acme Corp:Job 7"`` is the
name ``Job 7`` under the parent ``Acme Corp``).  Each record is added the way
a qbXML Add is, so QuickBooks' rules (3100, 3140, ...) apply.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any, Final

import attrs

from qbwc.exceptions import ConfigurationError, QBXMLValidationError
from qbwc.qbxml._build import build_request
from qbwc.qbxml._json import load
from qbwc.qbxml._types import Kind, Ref, specs, vocabulary
from qbwc.testing._quickbooks_objects import Engine, store_list
from qbwc.testing._quickbooks_query import with_balances
from qbwc.testing._quickbooks_state import Company
from qbwc.testing._quickbooks_txn import Refusal
from qbwc.testing._quickbooks_vocab import ObjectType, object_type, object_types

__all__ = ["change", "delete", "records", "seed", "touch"]

#: Plain-data keys that name a type by a shorter word.
ALIASES: Final = {"Item": "ItemService", "Job": "Customer", "Terms": "StandardTerms"}


def _type(key: str, field: str = "seed") -> ObjectType:
    otype = object_type(ALIASES.get(key, key)) if isinstance(key, str) else None
    if otype is None:
        known = ", ".join(sorted((*object_types(), *ALIASES)))
        raise ConfigurationError(
            f"{field}[{key!r}]", f"not an object type the fake stores ({known})"
        )
    return otype


def _model(otype: ObjectType, record: Mapping[str, Any], where: str) -> Any:
    if not isinstance(record, Mapping):
        raise ConfigurationError(where, f"expected a mapping, got {type(record).__name__}")
    add = vocabulary().model(f"{otype.name}Add")
    fields = dict(specs(add))
    data: dict[str, Any] = {"type": add.__name__}
    for key, value in record.items():
        spec = fields.get(key)
        if key == "full_name" and "full_name" not in fields and isinstance(value, str):
            parent, _, name = value.rpartition(":")
            data["name"] = name
            if parent:
                data["parent_ref"] = {"full_name": parent}
            continue
        is_ref = spec is not None and spec.kind is Kind.AGG and Ref in spec.model
        data[key] = {"full_name": value} if is_ref and isinstance(value, str) else value
    try:
        model = load(data)
        build_request([model])  # the qbXML rules: lengths, choices, required fields
    except QBXMLValidationError as exc:
        raise ConfigurationError(f"{where}.{exc.path}", exc.rule) from None
    return model


def seed(
    company: Company, now: dt.datetime, data: Mapping[str, Iterable[Mapping[str, Any]]]
) -> list[Any]:
    """Add every record of *data* (type → records), in order; the Rets created."""
    created = []
    for key, entries in data.items():
        otype = _type(key)
        if isinstance(entries, (str, bytes, Mapping)):
            rule = f"expected a list of records, got {type(entries).__name__}"
            raise ConfigurationError(f"seed[{key!r}]", rule)
        for index, record in enumerate(entries):
            where = f"seed[{key!r}][{index}]"
            model = _model(otype, record, where)
            try:
                created.append(Engine(company, now).add(otype, model))
            except Refusal as refusal:
                raise ConfigurationError(where, f"{refusal.code}: {refusal.message}") from None
    return created


def records(company: Company, key: str) -> tuple[Any, ...]:
    """Every live object of one type (``"Customer"``, ``"Invoice"``, ``"Item"``: every item)."""
    if key == "Item":
        names = tuple(n for n, t in object_types().items() if t.namespace == "Item")
    else:
        names = (_type(key, "records").name,)
    found = [
        (name, ret) for name in names for ret in company.objects.get(name, {}).values()
    ]
    if len(names) > 1:  # in creation order across the types: the ListID counter
        found.sort(key=lambda pair: int(pair[1].list_id.split("-")[0], 16))
    return tuple(with_balances(company, name, ret) for name, ret in found)


def touch(company: Company, now: dt.datetime, key: str, object_id: str) -> str:
    """Change an object as a QuickBooks user would: a new EditSequence and TimeModified."""
    otype = _type(key, "touch")
    current = company.objects.get(otype.name, {}).get(object_id)
    if current is None:
        raise ConfigurationError("object_id", f"no {otype.name} has the ID {object_id!r}")
    changed = attrs.evolve(
        current,
        time_modified=now,
        edit_sequence=company.next_edit_sequence(now, current.edit_sequence),
    )
    if otype.is_list:
        store_list(company, otype, changed)
    else:
        company.replace_txn(otype.name, changed)
    sequence: str = changed.edit_sequence
    return sequence


def change(
    company: Company, now: dt.datetime, key: str, object_id: str, fields: Mapping[str, Any]
) -> Any:
    """
    Change an object as a QuickBooks user would, with the fields of its Mod
    (plain data, as :func:`seed` takes them); the new Ret.
    """
    otype = _type(key, "change")
    current = company.objects.get(otype.name, {}).get(object_id)
    if current is None:
        raise ConfigurationError("object_id", f"no {otype.name} has the ID {object_id!r}")
    try:
        vocabulary().model(f"{otype.name}Mod")
    except KeyError:
        raise ConfigurationError("object_type", f"{otype.name} has no Mod in qbXML") from None
    record = {otype.id_field: object_id, "edit_sequence": current.edit_sequence, **fields}
    model = _model_of(f"{otype.name}Mod", record, "change")
    try:
        return with_balances(company, otype.name, Engine(company, now).mod(otype, model))
    except Refusal as refusal:
        raise ConfigurationError("change", f"{refusal.code}: {refusal.message}") from None


def delete(company: Company, now: dt.datetime, key: str, object_id: str) -> None:
    """Delete an object as a QuickBooks user would (ListDeletedQuery / TxnDeletedQuery see it)."""
    otype = _type(key, "delete")
    if object_id not in company.objects.get(otype.name, {}):
        raise ConfigurationError("object_id", f"no {otype.name} has the ID {object_id!r}")
    engine = Engine(company, now)
    try:
        if otype.is_list:
            engine.list_del(otype.name, object_id)
        else:
            engine.txn_del(otype.name, object_id)
    except Refusal as refusal:
        raise ConfigurationError("delete", f"{refusal.code}: {refusal.message}") from None


def _model_of(request: str, record: Mapping[str, Any], where: str) -> Any:
    """The request *request* from plain data (Refs may be FullNames), checked as qbXML."""
    fields = dict(specs(vocabulary().model(request)))
    data: dict[str, Any] = {"type": request}
    for key, value in record.items():
        spec = fields.get(key)
        is_ref = spec is not None and spec.kind is Kind.AGG and Ref in spec.model
        data[key] = {"full_name": value} if is_ref and isinstance(value, str) else value
    try:
        model = load(data)
        build_request([model])
    except QBXMLValidationError as exc:
        raise ConfigurationError(f"{where}.{exc.path}", exc.rule) from None
    return model
