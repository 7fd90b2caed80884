"""
``FakeQuickBooks`` over the whole vocabulary: Add, Mod, ListDel, TxnDel and
TxnVoid of any list or transaction object, driven by the generated registry
(``_quickbooks_vocab``), with QuickBooks' status codes (3100 duplicate name,
3120 unknown object, 3140 invalid reference, 3200 stale EditSequence;
docs/protocol.md, "Status codes" and "Queries and iterators").  Queries are in
``_quickbooks_query``; amounts and
balances in ``_quickbooks_money``.  See docs/testing.md.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Final

import attrs

from qbwc.qbxml._types import Kind, Ref, Spec, choice_path, specs, vocabulary
from qbwc.testing._quickbooks_mirror import entry_of_ret, kind_of_type, ret_of_entry, type_of_entry
from qbwc.testing._quickbooks_money import compute, unapply_payment
from qbwc.testing._quickbooks_state import AnyEntry, Company, TransactionRecord, plausible_id
from qbwc.testing._quickbooks_txn import Refusal
from qbwc.testing._quickbooks_vocab import (
    ObjectType,
    RefFixer,
    convert,
    convert_value,
    converted_fields,
    field_map,
    name_attribute,
    object_type,
    object_types,
    ref_targets,
    target_model,
)

__all__ = ["Engine", "display_name", "mirror_entry", "refusal_3140", "store_list"]

_NOT_FOUND_TAIL: Final = (
    "  QuickBooks error message: Invalid argument.  The specified record does not exist "
    "in the list."
)
#: Transactions QuickBooks numbers itself when the request leaves RefNumber out.
AUTO_NUMBERED: Final = frozenset(
    {"Invoice", "Estimate", "SalesReceipt", "CreditMemo", "SalesOrder", "PurchaseOrder"}
)
#: Fields the fake sets itself, never copied from a request.
_OWN_FIELDS: Final = frozenset(
    {"list_id", "txn_id", "edit_sequence", "time_created", "time_modified", "txn_number"}
)
#: Identity fields of aggregates inside a Ret (contacts, locations, notes) the fake fills in.
_NESTED_IDENTITY: Final = frozenset(
    {"ListID", "LocationID", "NoteID", "Date", "TimeCreated", "TimeModified", "EditSequence"}
)
#: Fields of a line that, changed without an Amount, make QuickBooks compute it again.
_PRICE_FIELDS: Final = frozenset({"quantity", "rate", "rate_percent", "cost"})


def display_name(ret: Any) -> str | None:
    """The name a list object is known by (FullName, Name, or a sales rep's initials)."""
    attribute = name_attribute(type(ret))
    return None if attribute is None else getattr(ret, attribute)


def store_list(company: Company, otype: ObjectType, ret: Any) -> None:
    """Store a list object's Ret and index its name (the caller checked uniqueness)."""
    company.objects.setdefault(otype.name, {})[ret.list_id] = ret
    name = display_name(ret)
    if name is not None:
        company.names.setdefault(otype.namespace, {})[name.casefold()] = (otype.name, ret.list_id)


def _unindex(company: Company, otype: ObjectType, ret: Any) -> None:
    name = display_name(ret)
    if name is None:
        return
    index = company.names.get(otype.namespace, {})
    if index.get(name.casefold(), (None, None))[1] == ret.list_id:
        del index[name.casefold()]


def _in_use(name: str) -> Refusal:
    return Refusal(3100, f'The name "{name}" of the list element is already in use.')


def _not_found(object_id: str | None) -> Refusal:
    return Refusal(3120, f'Object "{object_id}" specified in the request cannot be found.')


def refusal_3140(list_name: str, shown: str | None, where: str) -> Refusal:
    """QuickBooks' 3140: a Ref to nothing, naming the list, the value and the object."""
    return Refusal(
        3140,
        f'There is an invalid reference to QuickBooks {list_name} "{shown}" in the {where}.'
        + _NOT_FOUND_TAIL,
    )


def mirror_entry(company: Company, entry: AnyEntry) -> None:
    """Store the typed Ret of an object seeded through the engine's API (add_customer...)."""
    otype = object_type(type_of_entry(entry))
    assert otype is not None
    name = entry.full_name
    if name.casefold() in company.names.get(otype.namespace, {}):
        msg = f'The name "{name}" of the list element is already in use.'
        raise ValueError(msg)
    refs: dict[str, Ref | None] = {}
    for field in ("parent_id", "terms_id", "sales_rep_id", "sales_tax_code_id",
                  "item_sales_tax_id", "price_level_id"):  # fmt: skip
        refs[field] = _ref_to(company, getattr(entry, field, None))
    for member in getattr(entry, "members", ()):
        refs[f"member:{member.item_id}"] = _ref_to(company, member.item_id)
    now = company.clock()
    ret = ret_of_entry(entry, refs, now=now, edit_sequence=company.next_edit_sequence(now))
    store_list(company, otype, ret)


def _ref_to(company: Company, list_id: str | None) -> Ref | None:
    if list_id is None:
        return None
    for objects in company.objects.values():
        ret = objects.get(list_id)
        if ret is not None:
            return Ref(list_id=list_id, full_name=display_name(ret))
    return None


def find(company: Company, type_names: tuple[str, ...], ref: Ref) -> tuple[str, Any] | None:
    """``(type, Ret)`` of the object of one of *type_names* that *ref* names, or None."""
    if ref.list_id is not None:
        for name in type_names:
            ret = company.objects.get(name, {}).get(ref.list_id)
            if ret is not None:
                return name, ret
        return None
    if ref.full_name is None:
        return None
    key = ref.full_name.casefold()
    types = object_types()
    for namespace in dict.fromkeys(types[n].namespace for n in type_names if n in types):
        hit = company.names.get(namespace, {}).get(key)
        if hit is not None and hit[0] in type_names:
            return hit[0], company.objects[hit[0]][hit[1]]
    return None


class Engine:
    """Executes one write request against a company file at one moment."""

    def __init__(self, company: Company, now: dt.datetime) -> None:
        self.company = company
        self.now = now
        self.otype: ObjectType | None = None

    # -- Refs --

    def fix_ref(self, tag: str, ref: Ref) -> Ref:
        """*ref* resolved (both ListID and FullName), or a 3000/3140 refusal."""
        if tag == "ParentRef" and self.otype is not None:
            namespace = self.otype.namespace
            targets: tuple[str, ...] = (
                tuple(n for n, t in object_types().items() if t.namespace == "Item")
                if namespace == "Item"
                else (self.otype.name,)
            )
        else:
            targets = ref_targets(tag)
        if not targets:
            return ref
        if ref.list_id is not None and not plausible_id(ref.list_id):
            message = f'The given object ID "{ref.list_id}" in the field "list id" is invalid.'
            raise Refusal(3000, message)
        hit = find(self.company, targets, ref)
        if hit is None:
            shown = ref.list_id if ref.list_id is not None else ref.full_name
            list_name = targets[0] if len(targets) == 1 else tag[: -len("Ref")]
            where = self.otype.name if self.otype is not None else "request"
            raise refusal_3140(list_name, shown, where)
        return Ref(list_id=hit[1].list_id, full_name=display_name(hit[1]))

    # -- Add --

    def add(self, otype: ObjectType, model: Any) -> Any:
        """Create the object *model* (an ``<Type>Add``) describes; return its Ret."""
        self.otype = otype
        values = {
            k: v
            for k, v in _converted(model, otype.ret, self.fix_ref).items()
            if k not in _OWN_FIELDS
        }
        now = self.now
        company = self.company
        values["time_created"] = now
        values["time_modified"] = now
        values["edit_sequence"] = company.next_edit_sequence(now)
        if otype.is_list:
            values.update(self._naming(otype, values, model))
            values["list_id"] = company.new_list_id(now)
            if otype.has("is_active") and values.get("is_active") is None:
                values["is_active"] = True
            if otype.has("balance"):
                values.setdefault("balance", Decimal("0.00"))
                values.setdefault("total_balance", Decimal("0.00"))
        else:
            values["txn_id"] = company.new_txn_id(now)
            if otype.has("txn_number"):
                company.txn_number += 1
                values["txn_number"] = company.txn_number
            if otype.has("txn_date") and values.get("txn_date") is None:
                values["txn_date"] = now.date()
            if otype.name in AUTO_NUMBERED and values.get("ref_number") is None:
                values["ref_number"] = company.next_ref_number(otype.name)
        ret = self.finish(otype.ret(**{k: v for k, v in values.items() if otype.has(k)}))
        ret = compute(otype.name, ret, company, model=model, now=now)
        if otype.is_list:
            open_balance = getattr(model, "open_balance", None)
            if isinstance(open_balance, Decimal) and open_balance:
                company.opening_balances[ret.list_id] = open_balance
            self._store_list(otype, ret)
        else:
            company.note_ref_number(otype.name, getattr(ret, "ref_number", None))
            company.record(
                TransactionRecord(
                    txn_type=otype.name,
                    txn_id=ret.txn_id,
                    ref_number=getattr(ret, "ref_number", None),
                    company_file=company.path,
                    ret=ret,
                )
            )
        return ret

    def _naming(self, otype: ObjectType, values: dict[str, Any], model: Any) -> dict[str, Any]:
        """Name, FullName and Sublevel of a new or renamed list object; 3100 if taken."""
        attribute = name_attribute(otype.ret)
        if attribute is None:
            return {}
        own = values.get("name") or values.get("initial") or values.get("full_name")
        if own is None:
            # An employee is named by its first, middle and last names.
            parts = [values.get(f) for f in ("first_name", "middle_name", "last_name")]
            limit = next((s.max_len for n, s in specs(otype.ret) if n == "name"), None)
            own = " ".join(p for p in parts if p)[:limit] or None
        if own is None:
            return {}
        if attribute == "full_name" and otype.has("name") and values.get("parent_ref"):
            parent = values.get("parent_ref")
            full = own if parent is None else f"{parent.full_name}:{own}"
        else:
            full = own
            parent = None
        taken = self.company.names.get(otype.namespace, {}).get(full.casefold())
        current = getattr(model, "list_id", None)
        if taken is not None and taken[1] != current:
            raise _in_use(full)
        out: dict[str, Any] = {attribute: full}
        if otype.has("sublevel"):
            out["sublevel"] = full.count(":") if parent is not None else 0
        return out

    def _store_list(self, otype: ObjectType, ret: Any) -> None:
        store_list(self.company, otype, ret)
        kind = kind_of_type(otype.name)
        entry = entry_of_ret(otype.name, ret)
        if kind is not None and entry is not None:
            old = self.company.get(kind, ret.list_id)
            if old is not None:
                self.company.forget(old, kind)
            self.company.add(entry, kind, mirror=False)

    def finish(self, value: Any, *, nested: bool = False) -> Any:
        """
        New TxnLineIDs for new lines (none, or ``-1``), DataExtType for DataExtRets,
        and the TxnType of a transaction a payment applies to (3120 if there is none).
        """
        changes: dict[str, Any] = {}
        for name, spec in specs(type(value)):
            current = getattr(value, name)
            if name == "txn_line_id" and current in (None, "-1"):
                changes[name] = self.company.new_txn_id(self.now)
            elif name == "data_ext_type" and current is None:
                changes[name] = "STR255TYPE"
            elif name == "txn_type" and current is None and nested:
                changes.update(self._applied_to(value))
            elif spec.kind is Kind.DATETIME and current is not None and current.tzinfo is None:
                changes[name] = current.replace(tzinfo=self.now.tzinfo)  # sent in local time
            elif current is None and nested and spec.tag == "MainAddress":
                changes[name] = "false"  # a lead's location says whether it is the main one
            elif current is None and nested and spec.tag in _NESTED_IDENTITY:
                # A contact, location or note inside a Ret gets its own identity.
                changes[name] = self._identity(spec)
            elif spec.kind is Kind.AGG and current is not None:
                if spec.many:
                    done = tuple(self.finish(v, nested=True) for v in current)
                    if any(a is not b for a, b in zip(done, current, strict=True)):
                        changes[name] = done
                elif not isinstance(current, Ref):
                    one = self.finish(current, nested=True)
                    if one is not current:
                        changes[name] = one
        return attrs.evolve(value, **changes) if changes else value

    def _identity(self, spec: Spec) -> Any:
        if spec.kind is Kind.INT:  # NoteID: a number from the ListID counter
            return int(self.company.new_list_id(self.now).split("-")[0], 16) - 0x80000000
        if spec.kind is Kind.DATETIME:
            return self.now
        if spec.kind is Kind.DATE:  # a note's date
            return self.now.date()
        if spec.tag == "EditSequence":
            return self.company.next_edit_sequence(self.now)
        return self.company.new_list_id(self.now)

    def _applied_to(self, value: Any) -> dict[str, Any]:
        """What an ``AppliedToTxnRet`` shows of the transaction it applies to (3120: none)."""
        txn_id: str = getattr(value, "txn_id", None) or ""
        for name, objects in self.company.objects.items():
            otype = object_type(name)
            target = objects.get(txn_id) if otype is not None and not otype.is_list else None
            if target is None:
                continue
            remaining = next(
                (
                    getattr(target, f)
                    for f in ("balance_remaining", "credit_remaining", "open_amount")
                    if getattr(target, f, None) is not None
                ),
                Decimal("0.00"),
            )
            found = {
                "txn_type": name,
                "txn_date": getattr(target, "txn_date", None),
                "ref_number": getattr(target, "ref_number", None),
                "balance_remaining": remaining,
                "credit_remaining": remaining,
            }
            fields = {n for n, _ in specs(type(value))}
            return {k: v for k, v in found.items() if k in fields and getattr(value, k) is None}
        raise _not_found(txn_id)

    # -- Mod --

    def mod(self, otype: ObjectType, model: Any) -> Any:
        """Change the object *model* (an ``<Type>Mod``) names; return its new Ret."""
        self.otype = otype
        object_id = getattr(model, otype.id_field)
        current = self.company.objects.get(otype.name, {}).get(object_id)
        if current is None:
            raise _not_found(object_id)
        if model.edit_sequence != current.edit_sequence:
            raise Refusal(
                3200, f'The provided edit sequence "{model.edit_sequence}" is out-of-date. '
            )
        changes: dict[str, Any] = {}
        for name, (target, spec) in field_map(type(model), otype.ret).items():
            value = getattr(model, name)
            if target in _OWN_FIELDS or value is None or value == ():
                continue
            old = getattr(current, target)
            if spec.many and spec.kind is Kind.AGG and _has_line_ids(spec):
                changes[target] = self._merge_lines(old, value, spec)
            elif (
                spec.kind is Kind.AGG
                and not spec.many
                and old is not None
                and not isinstance(old, Ref)
                and target_model(value, spec) is type(old)
            ):
                # A Mod changes the fields it names inside an aggregate, no others.
                changes[target] = _evolve(old, _converted(value, type(old), self.fix_ref))
            else:
                changes[target] = convert_value(value, spec, self.fix_ref)
            changes.update(_other_alternatives(otype.ret, target))
        if otype.is_list and ({"name", "initial", "parent_ref"} & changes.keys()):
            merged = {
                "name": getattr(current, "name", None),
                "initial": getattr(current, "initial", None),
                "parent_ref": getattr(current, "parent_ref", None),
                **changes,
            }
            changes.update(self._naming(otype, merged, model))
        changes["time_modified"] = self.now
        changes["edit_sequence"] = self.company.next_edit_sequence(
            self.now, current.edit_sequence
        )
        ret = self.finish(attrs.evolve(current, **changes))
        ret = compute(otype.name, ret, self.company, model=model, now=self.now, previous=current)
        if otype.is_list:
            _unindex(self.company, otype, current)
            self._store_list(otype, ret)
            self._rename_children(otype, current, ret)
        else:
            self.company.replace_txn(otype.name, ret)
        return ret

    def _merge_lines(self, existing: tuple[Any, ...], mods: tuple[Any, ...], spec: Spec) -> Any:
        # QuickBooks keeps the lines named by TxnLineID (changed as asked), adds
        # those with TxnLineID -1, and removes the others.
        by_id = {getattr(line, "txn_line_id", None): line for line in existing}
        out = []
        for mod in mods:
            line_id = getattr(mod, "txn_line_id", None)
            model = target_model(mod, spec)
            if model is None:
                continue
            if line_id in (None, "-1"):
                out.append(convert(mod, model, self.fix_ref))
                continue
            old: Any = by_id.get(line_id)
            if old is None or not _is_a(old, model):
                raise _not_found(line_id)
            fields = _converted(mod, model, self.fix_ref)
            has_amount = any(n == "amount" for n, _ in specs(model))
            if _PRICE_FIELDS & fields.keys() and "amount" not in fields and has_amount:
                fields["amount"] = None  # computed again
            out.append(attrs.evolve(old, **fields))
        return tuple(out)

    def _rename_children(self, otype: ObjectType, old: Any, new: Any) -> None:
        old_name, new_name = display_name(old), display_name(new)
        if old_name is None or new_name is None or old_name == new_name:
            return
        prefix = old_name + ":"
        for child in list(self.company.objects.get(otype.name, {}).values()):
            name = display_name(child)
            if name is not None and name.startswith(prefix) and otype.has("full_name"):
                full = new_name + name[len(old_name) :]
                parent = child.parent_ref
                if parent is not None:
                    parent = Ref(list_id=parent.list_id, full_name=full.rpartition(":")[0])
                renamed = attrs.evolve(child, full_name=full, parent_ref=parent)
                _unindex(self.company, otype, child)
                self._store_list(otype, renamed)

    # -- ListDel / TxnDel / TxnVoid --

    def list_del(self, type_name: str, list_id: str) -> Any:
        """Delete a list object; the ``ListDelRet`` QuickBooks answers (inline in its Rs)."""
        otype = object_type(type_name)
        current = None if otype is None else self.company.objects.get(type_name, {}).get(list_id)
        if otype is None or current is None:
            raise _not_found(list_id)
        name = display_name(current)
        if name is not None:
            prefix = name.casefold() + ":"
            if any(
                (display_name(r) or "").casefold().startswith(prefix)
                for r in self.company.objects[type_name].values()
            ):
                raise Refusal(
                    3170,
                    f"There was an error when deleting a {type_name}.  QuickBooks error "
                    "message: This object cannot be deleted because it has sub-items.",
                )
        del self.company.objects[type_name][list_id]
        _unindex(self.company, otype, current)
        kind = kind_of_type(type_name)
        entry = None if kind is None else self.company.get(kind, list_id)
        if kind is not None and entry is not None:
            self.company.forget(entry, kind)
        self.company.deleted.append(
            vocabulary().model("ListDeletedRet")(
                list_del_type=type_name,
                list_id=list_id,
                time_created=current.time_created,
                time_deleted=self.now,
                full_name=name,
            )
        )
        return vocabulary().model("ListDelRet")(
            list_del_type=type_name, list_id=list_id, time_deleted=self.now, full_name=name
        )

    def _txn(self, type_name: str, txn_id: str) -> Any:
        current = self.company.objects.get(type_name, {}).get(txn_id)
        if current is None:
            raise _not_found(txn_id)
        return current

    def txn_del(self, type_name: str, txn_id: str) -> Any:
        """Delete a transaction; the ``TxnDelRet`` QuickBooks answers (inline in its Rs)."""
        current = self._txn(type_name, txn_id)
        if type_name == "ReceivePayment":
            unapply_payment(self.company, current, self.now)
        self.company.remove_txn(type_name, txn_id)
        self.company.deleted.append(
            vocabulary().model("TxnDeletedRet")(
                txn_del_type=type_name,
                txn_id=txn_id,
                time_created=current.time_created,
                time_deleted=self.now,
                ref_number=getattr(current, "ref_number", None),
            )
        )
        return vocabulary().model("TxnDelRet")(
            txn_del_type=type_name,
            txn_id=txn_id,
            time_deleted=self.now,
            ref_number=getattr(current, "ref_number", None),
        )

    def txn_void(self, type_name: str, txn_id: str) -> Any:
        """Void a transaction (its amounts become zero); the ``TxnVoidRet`` (inline in its Rs)."""
        current = self._txn(type_name, txn_id)
        if type_name == "ReceivePayment":
            unapply_payment(self.company, current, self.now)
        voided = _zeroed(current)
        memo = getattr(current, "memo", None)
        changes: dict[str, Any] = {
            "time_modified": self.now,
            "edit_sequence": self.company.next_edit_sequence(self.now, current.edit_sequence),
        }
        if any(name == "memo" for name, _ in specs(type(current))):
            changes["memo"] = ("VOID: " + (memo or ""))[:4095]
        if any(name == "is_paid" for name, _ in specs(type(current))):
            changes["is_paid"] = True
        self.company.replace_txn(type_name, attrs.evolve(voided, **changes))
        return vocabulary().model("TxnVoidRet")(
            txn_void_type=type_name,
            txn_id=txn_id,
            time_created=current.time_created,
            time_modified=self.now,
            ref_number=getattr(current, "ref_number", None),
        )


def _converted(model: Any, target: type, fix_ref: RefFixer) -> dict[str, Any]:
    return dict(converted_fields(model, target, fix_ref))


def _evolve(value: Any, changes: dict[str, Any]) -> Any:
    return attrs.evolve(value, **changes)


def _other_alternatives(cls: type, field: str) -> dict[str, Any]:
    """The fields of *cls* that setting *field* empties: the other alternatives of its choice."""
    fields = specs(cls)
    spec = dict(fields)[field]
    mine = choice_path(field, spec.choice)
    if not mine:
        return {}
    group, alternative = mine[0]
    out: dict[str, Any] = {}
    for name, other in fields:
        path = choice_path(name, other.choice)
        if path and path[0][0] == group and path[0][1] != alternative:
            out[name] = () if other.many else None
    return out


def _is_a(value: object, model: type) -> bool:
    return type(value) is model


def _has_line_ids(spec: Spec) -> bool:
    return any(any(n == "txn_line_id" for n, _ in specs(m)) for m in spec.model)


def _zeroed(value: Any) -> Any:
    """*value* with every amount (AMTTYPE), also in its aggregates, set to 0.00."""
    changes: dict[str, Any] = {}
    for name, spec in specs(type(value)):
        current = getattr(value, name)
        if current is None or isinstance(current, Ref):
            continue
        if spec.kind is Kind.AMT:
            changes[name] = Decimal("0.00")
        elif spec.kind is Kind.AGG:
            changes[name] = (
                tuple(_zeroed(v) for v in current) if spec.many else _zeroed(current)
            )
    return attrs.evolve(value, **changes) if changes else value
