"""
References by linkage key: finding every ``Ref(key=...)`` in a request model and
replacing them with the linked objects' ListIDs (docs/linkages.md).

A key is the host's own name of a QuickBooks object (a linkage,
``WebConnectorService.link``); it is no qbXML field, so a request holding one is
rendered only once its keys are resolved, when the job is sent.  These work on any
request model, the generated ones included: every Ref-typed field at any depth
(lines and line groups too).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final, TypeVar

import attrs

from qbwc._names import is_name
from qbwc.exceptions import QBXMLValidationError
from qbwc.qbxml._types import Kind, Ref, specs

__all__ = ["KeyRef", "key_refs", "resolve_keys"]

_M = TypeVar("_M")

#: ``(path, key)``: where a Ref by key sits (``"InvoiceAdd.invoice_line_add[0].item_ref"``)
#: and the key it names.
KeyRef = tuple[str, str]

#: For each model class: the names of its aggregate fields that may hold a Ref at some
#: depth (computed once per class; the generated vocabulary has a few thousand classes).
_REF_FIELDS: dict[type, tuple[tuple[str, bool], ...]] = {}
_NO_FIELDS: Final[tuple[tuple[str, bool], ...]] = ()


def _ref_fields(cls: type) -> tuple[tuple[str, bool], ...]:
    """``(field, repeated)`` of *cls* whose value may hold a Ref (itself or deeper)."""
    known = _REF_FIELDS.get(cls)
    if known is not None:
        return known
    _REF_FIELDS[cls] = _NO_FIELDS  # a model holding itself: no loop
    found: list[tuple[str, bool]] = []
    for name, spec in specs(cls):
        if spec.kind is not Kind.AGG:
            continue
        if any(model is Ref or _ref_fields(model) for model in spec.model):
            found.append((name, spec.many))
    result = _REF_FIELDS[cls] = tuple(found)
    return result


def _walk(model: object, path: str) -> Iterator[tuple[str, Ref]]:
    for name, many in _ref_fields(type(model)):
        value = getattr(model, name, None)
        if value is None:
            continue
        where = f"{path}.{name}"
        if many:
            if not isinstance(value, tuple):
                continue  # the builder names it
            for index, item in enumerate(value):
                yield from _one(item, f"{where}[{index}]")
        else:
            yield from _one(value, where)


def _one(value: object, path: str) -> Iterator[tuple[str, Ref]]:
    if type(value) is Ref:
        yield path, value
    elif attrs.has(type(value)):
        yield from _walk(value, path)


def key_refs(model: object) -> tuple[KeyRef, ...]:
    """
    ``(path, key)`` of every Ref by linkage key in *model*, in document order.

    Raises:
        QBXMLValidationError: a Ref gives a key with ``list_id`` or ``full_name``
            too, or a key that is no valid name (a non-empty str of at most 255
            characters, no control characters, no surrounding whitespace:
            docs/service.md, "Usernames and keys"); the error names the field.
    """
    found: list[KeyRef] = []
    for path, ref in _walk(model, type(model).__name__):
        key = ref.key
        if key is None:
            continue
        if ref.list_id is not None or ref.full_name is not None:
            rule = "give key alone (a Ref by linkage key names no list_id or full_name)"
            raise QBXMLValidationError(f"{path}.key", rule)
        if not is_name(key):
            rule = (
                f"{key!r} is no linkage key (a non-empty str of at most 255 characters, "
                "no control characters, no surrounding whitespace)"
            )
            raise QBXMLValidationError(f"{path}.key", rule)
        found.append((path, key))
    return tuple(found)


def resolve_keys(model: _M, list_ids: Mapping[str, str] | Callable[[str], str]) -> _M:
    """
    *model* with every Ref by key replaced by ``Ref(list_id=list_ids[key])``.

    Everything else is kept as it is (the same objects where nothing changed).

    Raises:
        QBXMLValidationError: *list_ids* has no ListID for a key (naming its field).
    """
    lookup = list_ids.__getitem__ if isinstance(list_ids, Mapping) else list_ids
    return _resolve(model, type(model).__name__, lookup)  # type: ignore[no-any-return]


def _resolve(model: Any, path: str, lookup: Callable[[str], str]) -> Any:
    changes: dict[str, Any] = {}
    for name, many in _ref_fields(type(model)):
        value = getattr(model, name, None)
        if value is None:
            continue
        where = f"{path}.{name}"
        if many:
            if not isinstance(value, tuple):
                continue
            items = tuple(
                _resolve_one(item, f"{where}[{index}]", lookup) for index, item in enumerate(value)
            )
            if any(new is not old for new, old in zip(items, value, strict=True)):
                changes[name] = items
        else:
            new = _resolve_one(value, where, lookup)
            if new is not value:
                changes[name] = new
    return attrs.evolve(model, **changes) if changes else model


def _resolve_one(value: Any, path: str, lookup: Callable[[str], str]) -> Any:
    if type(value) is Ref:
        if value.key is None:
            return value
        try:
            list_id = lookup(value.key)
        except KeyError:
            rule = f"no ListID for linkage key {value.key!r}"
            raise QBXMLValidationError(f"{path}.key", rule) from None
        return Ref(list_id=list_id)
    if attrs.has(type(value)):
        return _resolve(value, path, lookup)
    return value
