"""
Read a qbXML request document back into models.

Requests are ours, so reading is strict: an element the models do not know, an
element out of schema order, a value in the wrong form, or anything the
builder would refuse raises :class:`~qbwc.exceptions.QBXMLValidationError`.
Whatever :func:`parse_request` returns can be built again.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any, Final, final

import attrs
from lxml import etree

from qbwc._xml import parse_untrusted
from qbwc.exceptions import QBXMLValidationError
from qbwc.qbxml._build import build_request, check_version
from qbwc.qbxml._request_kinds import request_element, rq_level_fields
from qbwc.qbxml._requests import ADD_MODELS
from qbwc.qbxml._types import Kind, Spec, duration_rule, specs, tag_of, vocabulary

__all__ = ["RequestSet", "parse_request", "parse_request_set"]

_RQ_MODELS: Final = {tag: cls for cls, tag in ADD_MODELS.items()}
_MSGS_ATTRIBUTES: Final = {
    "onError": "on_error",
    "newMessageSetID": "message_set_id",
    "oldMessageSetID": "old_message_set_id",
}

# The official lexical forms (qbxmltypes130.xsd), without the empty value.
_PATTERNS: Final = {
    Kind.AMT: re.compile(r"[+-]?[0-9]{1,13}(?:\.[0-9]{2})?"),
    Kind.PRICE: re.compile(r"[+-]?[0-9]{1,10}(?:\.[0-9]{1,5})?"),
    Kind.QUAN: re.compile(r"[+-]?[0-9]{1,10}(?:\.[0-9]{1,5})?"),
    Kind.PERCENT: re.compile(r"[+-]?[0-9]{1,10}(?:\.[0-9]{1,5})?"),
    Kind.FLOAT: re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"),
}
_DATE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_INT: Final = re.compile(r"[+-]?[0-9]{1,18}")
_BOOLS: Final = {"true": True, "false": False, "1": True, "0": False}


@final
@attrs.frozen(kw_only=True)
class RequestSet:
    """
    A parsed request message set.

    Attributes:
        version: the ``<?qbxml version?>`` of the document, e.g. ``"13.0"``.
        on_error: ``"stopOnError"`` or ``"continueOnError"``.
        message_set_id: ``newMessageSetID``, or None.
        old_message_set_id: ``oldMessageSetID``, or None.
        requests: ``(request_id, model)`` pairs in document order; the ID is
            None when the request has no ``requestID``.
    """

    version: str
    on_error: str
    message_set_id: str | None = None
    old_message_set_id: str | None = None
    requests: tuple[tuple[str | None, Any], ...] = ()

    @property
    def models(self) -> tuple[Any, ...]:
        """The request models, in order."""
        return tuple(model for _, model in self.requests)


def _error(path: str, rule: str) -> QBXMLValidationError:
    return QBXMLValidationError(path, rule)


def _local(element: etree._Element) -> str:
    tag = element.tag
    if not isinstance(tag, str):
        return repr(tag)
    return tag


def parse_request(data: bytes | str, *, edition: str = "US") -> tuple[Any, ...]:
    """
    Read the request models out of a qbXML request document.

    Raises:
        XMLParseError: the document is not well-formed (or uses a DTD).
        QBXMLValidationError: the document is not a request qbwc could have built.
    """
    return parse_request_set(data, edition=edition).models


def parse_request_set(data: bytes | str, *, edition: str = "US") -> RequestSet:
    """
    Read a qbXML request document: its message-set attributes and its requests.

    The document is held to every rule of :func:`build_request`, with the maximum
    lengths of *edition* (``"US"``, ``"CA"``, ``"UK"`` or ``"AU"``).

    Raises:
        XMLParseError: the document is not well-formed (or uses a DTD).
        QBXMLValidationError: the document is not a request qbwc could have built.
    """
    root = parse_untrusted(data, what="qbXML request")
    version = version_instruction(root)
    if root.tag != "QBXML":
        raise _error("QBXML", f"the root element is <{_local(root)}>, expected <QBXML>")
    _no_text(root, "QBXML")
    children = list(root)
    if len(children) != 1 or children[0].tag != "QBXMLMsgsRq":
        found = ", ".join(f"<{_local(c)}>" for c in children) or "nothing"
        raise _error("QBXML", f"expected exactly one <QBXMLMsgsRq>, found {found}")
    msgs = children[0]
    _no_text(msgs, "QBXMLMsgsRq")
    envelope: dict[str, str] = {}
    for key, value in msgs.attrib.items():
        name = _MSGS_ATTRIBUTES.get(str(key))
        if name is None:
            raise _error("QBXMLMsgsRq", f"unknown attribute {key!s}")
        envelope[name] = str(value)
    if "on_error" not in envelope:
        raise _error("QBXMLMsgsRq", "the onError attribute is required")
    rqs = list(msgs)
    several = len(rqs) > 1
    requests: list[tuple[str | None, Any]] = []
    for index, rq in enumerate(rqs):
        cls = _rq_model(_local(rq))
        prefix = f"requests[{index}]"
        if cls is None:
            rule = (
                f"<{_local(rq)}> is not supported "
                "(qbwc reads the requests of qbXML 16.0 that QuickBooks Desktop accepts)"
            )
            raise _error(prefix, rule)
        path = f"{prefix}.{cls.__name__}" if several else cls.__name__
        request_id, model = _read_rq(rq, cls, path)
        requests.append((request_id, model))
    result = RequestSet(
        version=version,
        on_error=envelope["on_error"],
        message_set_id=envelope.get("message_set_id"),
        old_message_set_id=envelope.get("old_message_set_id"),
        requests=tuple(requests),
    )
    # Everything the builder refuses is refused here too, with the same words.
    build_request(
        [model if rid is None else (rid, model) for rid, model in result.requests],
        version=version,
        on_error=result.on_error,
        message_set_id=result.message_set_id,
        old_message_set_id=result.old_message_set_id,
        edition=edition,
    )
    return result


def _no_text(element: etree._Element, path: str) -> None:
    if element.text is not None and element.text.strip():
        raise _error(path, f"unexpected text {element.text.strip()[:40]!r} in <{_local(element)}>")
    for child in element:
        if child.tail is not None and child.tail.strip():
            rule = f"unexpected text {child.tail.strip()[:40]!r} after <{_local(child)}>"
            raise _error(path, rule)


def _rq_model(tag: str) -> type | None:
    cls = _RQ_MODELS.get(tag)
    if cls is None:
        tables = vocabulary()
        if tag in tables.REQUEST_NAMES:
            cls = tables.model(tables.REQUEST_NAMES[tag])
    return cls


def _read_rq(rq: etree._Element, cls: type, path: str) -> tuple[str | None, Any]:
    element = request_element(cls)
    if element is not None and element[1]:  # the model is the request element
        return rq.get("requestID"), _read(rq, cls, path, skip="requestID")
    _no_text(rq, path)
    request_id: str | None = None
    for key, value in rq.attrib.items():
        if key != "requestID":
            raise _error(path, f"unknown attribute {key!s} on <{_local(rq)}>")
        request_id = str(value)
    children = list(rq)
    if not children or children[0].tag != cls.__name__:
        raise _error(path, f"<{_local(rq)}> must start with <{cls.__name__}>")
    beside = rq_level_fields(cls)
    rq_fields = {spec.tag: (name, spec) for name, spec in specs(cls) if name in beside}
    extra: dict[str, list[Any]] = {}
    for child in children[1:]:
        found = rq_fields.get(_local(child))
        if found is None:
            raise _error(path, f"unknown element <{_local(child)}> in <{_local(rq)}>")
        name, spec = found
        extra.setdefault(name, []).append(_scalar(child, spec, f"{path}.{name}"))
    model = _read(children[0], cls, path, extra)
    return request_id, model


#: Per class: element tag -> (order, attribute name, spec); attribute tag -> name.
_Table = tuple[dict[str, tuple[int, str, Spec]], dict[str, tuple[str, Spec]]]
_TABLES: dict[type, _Table] = {}


def _table(cls: type) -> _Table:
    table = _TABLES.get(cls)
    if table is None:
        elements: dict[str, tuple[int, str, Spec]] = {}
        attributes: dict[str, tuple[str, Spec]] = {}
        beside = rq_level_fields(cls)
        for order, (name, spec) in enumerate(specs(cls)):
            if name in beside:
                continue
            if spec.attribute:
                attributes[spec.tag] = (name, spec)
            elif len(spec.model) > 1:
                for model in spec.model:
                    elements[tag_of(model)] = (order, name, spec)
            else:
                elements[spec.tag] = (order, name, spec)
        table = _TABLES[cls] = (elements, attributes)
    return table


def _read(
    element: etree._Element,
    cls: type,
    path: str,
    extra: dict[str, list[Any]] | None = None,
    skip: str = "",
) -> Any:
    elements, attributes = _table(cls)
    _no_text(element, path)
    values: dict[str, Any] = {}
    for key, value in element.attrib.items():
        if key == skip:
            continue
        found = attributes.get(str(key))
        if found is None:
            raise _error(path, f"unknown attribute {key!s} on <{_local(element)}>")
        values[found[0]] = str(value)
    many: dict[str, list[Any]] = {}
    last = -1
    for child in element:
        tag = _local(child)
        entry = elements.get(tag)
        if entry is None:
            raise _error(path, f"unknown element <{tag}> in <{_local(element)}>")
        order, name, spec = entry
        if order < last or (order == last and not spec.many):
            rule = f"<{tag}> is out of schema order or repeated in <{_local(element)}>"
            raise _error(f"{path}.{name}", rule)
        last = order
        if spec.many:
            items = many.setdefault(name, [])
            where = f"{path}.{name}[{len(items)}]"
            if len(spec.model) > 1:
                model = next(m for m in spec.model if tag_of(m) == tag)
                items.append(_read(child, model, where))
            else:
                items.append(_value(child, spec, where))
        else:
            values[name] = _value(child, spec, f"{path}.{name}")
    values.update((name, tuple(items)) for name, items in many.items())
    if extra:
        values.update((name, tuple(items)) for name, items in extra.items())
    try:
        return cls(**values)
    except (TypeError, ValueError) as exc:  # a converter refused a value
        raise _error(path, str(exc)) from None


def _value(element: etree._Element, spec: Spec, path: str) -> Any:
    if spec.kind is Kind.AGG:
        (model,) = spec.model
        return _read(element, model, path)
    return _scalar(element, spec, path)


def _scalar(element: etree._Element, spec: Spec, path: str) -> Any:
    if len(element):
        rule = f"<{_local(element)}> holds a value, not <{_local(element[0])}>"
        raise _error(path, rule)
    if element.attrib:
        key = next(iter(element.attrib))
        raise _error(path, f"unknown attribute {key!s} on <{_local(element)}>")
    text = element.text or ""
    kind = spec.kind
    if kind in (Kind.STR, Kind.ID, Kind.GUID, Kind.ENUM):
        return text
    pattern = _PATTERNS.get(kind)
    if pattern is not None:
        if pattern.fullmatch(text) is None:
            rule = f"{text!r} is not a qbXML {kind.value} value"
            raise _error(path, rule)
        return Decimal(text)
    if kind is Kind.BOOL:
        value = _BOOLS.get(text.strip())
        if value is None:
            raise _error(path, f"{text!r} is not a qbXML boolean (true or false)")
        return value
    if kind is Kind.DATE:
        if _DATE.fullmatch(text) is None:
            raise _error(path, f"{text!r} is not a date (YYYY-MM-DD)")
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            raise _error(path, f"{text!r} is not a valid date") from None
    if kind is Kind.INT:
        if _INT.fullmatch(text) is None:
            raise _error(path, f"{text!r} is not a qbXML integer")
        return int(text)
    if kind is Kind.DATETIME:
        try:
            return dt.datetime.fromisoformat(text)
        except ValueError:
            raise _error(path, f"{text!r} is not a date-time (YYYY-MM-DDThh:mm:ss)") from None
    if kind is Kind.DURATION:
        wrong = duration_rule(text)
        if wrong is not None:
            raise _error(path, wrong)
        return text
    raise _error(path, f"{kind.value} is not read in requests")  # pragma: no cover


def version_instruction(root: etree._Element) -> str:
    """
    The supported qbXML version named by the ``<?qbxml version?>`` before *root*.

    Raises:
        QBXMLValidationError: at path ``qbxml``, when the instruction is missing,
            has no version, or names a version qbwc does not write.
    """
    for sibling in root.itersiblings(preceding=True):
        if isinstance(sibling, etree._ProcessingInstruction) and sibling.target == "qbxml":
            value = sibling.get("version")
            if value is None:
                rule = "the <?qbxml?> processing instruction has no version"
                raise QBXMLValidationError("qbxml", rule)
            try:
                text, _ = check_version(value)
            except QBXMLValidationError as exc:
                raise QBXMLValidationError("qbxml", exc.rule) from None
            return text
    raise QBXMLValidationError("qbxml", 'missing <?qbxml version="..."?> before <QBXML>')
