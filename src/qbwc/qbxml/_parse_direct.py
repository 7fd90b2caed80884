"""
Compiled per-class readers of typed Rets: the fast twin of ``qbwc.qbxml._parse._read``.

The table-driven reader of :mod:`qbwc.qbxml._parse` looks every child up in a table,
collects the values in a dict and builds the model from keyword arguments.  QuickBooks
writes a Ret's children in schema order, which is the order of the model's fields, so
the reader compiled here for one class is straight-line code: one test per field, in
field order, each reading its element when it is the next one; the values stay in local
variables and go straight into the new object's slots.  Conversions are inlined
(Decimal, bool, Ref), and every check of the reference is made with its message.

Anything else (an element out of schema order, a repeated single element, an element
the model does not know, a processing instruction) sends the whole element to the
table-driven reader, which stays the reference: what it returns or raises is what
this returns or raises (tests/test_qbxml_parse_direct.py holds them equal over the
Ret models).  The code compiles on a class's first use, through
:func:`qbwc._direct.compile_function` (docs/qbxml.md, "Speed").
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from decimal import Decimal
from types import MemberDescriptorType
from typing import Any, Final

import attrs
from lxml import etree

from qbwc._direct import compile_function
from qbwc.qbxml import _parse
from qbwc.qbxml._parse import Response
from qbwc.qbxml._responses import RET_MODELS
from qbwc.qbxml._types import Kind, Ref, specs

__all__ = ["reader"]

#: Reads one element of a model into an instance: ``read(element, tz)``.
Reader = Callable[[etree._Element, dt.tzinfo], Any]


class _End:
    """Stands for "no more children": its tag equals no element name."""

    __slots__ = ()
    tag = None


_END: Final = _End()
_COMPILED: dict[type, Reader] = {}
#: The classes whose reader the thread holding the lock is compiling.
_COMPILING: set[type] = set()
_LOCK = threading.RLock()
_CONVERSION_ERRORS: Final = (ValueError, ArithmeticError, KeyError)


def reader(cls: type) -> Reader:
    """The reader of *cls*: compiled on first use, or the reference for a class it cannot do."""
    found = _COMPILED.get(cls)
    if found is None:
        with _LOCK:
            found = _COMPILED.get(cls) or _make(cls)
    return found


def _reference(cls: type) -> Reader:
    def read(el: etree._Element, tz: dt.tzinfo) -> Any:
        return _parse._read(cls, el, tz)

    return read


def _compilable(cls: type) -> bool:
    """Whether the reference builds *cls* by setting each field (``_parse._constructor``)."""
    if "__slots__" not in cls.__dict__ or hasattr(cls, "__attrs_post_init__"):
        return False
    named = {name for name, _ in specs(cls)}
    for f in attrs.fields(cls):
        if f.validator is not None or not f.init or f.alias != f.name:
            return False
        if not isinstance(getattr(cls, f.name, None), MemberDescriptorType):
            return False
        if isinstance(f.default, attrs.Factory):  # type: ignore[arg-type]
            if f.default.factory is not tuple or f.default.takes_self:
                return False
        elif f.default is not None:
            return False
        if f.name not in named and f.name != "unknown":
            return False
    return True


def _make(cls: type) -> Reader:
    if not _compilable(cls):
        _COMPILED[cls] = found = _reference(cls)
        return found

    if cls in _COMPILING:
        # A model that holds itself (none of qbXML's does): its inner copies are read
        # by the reference reader.
        return _reference(cls)
    _COMPILING.add(cls)
    try:
        compiled = _COMPILED[cls] = _compile(cls)
    finally:
        _COMPILING.discard(cls)
    return compiled


def attrs_slot(cls: type, name: str) -> Callable[[Any, Any], None]:
    """The setter of the slot *name* of *cls* (what ``object.__setattr__`` would call)."""
    setter: Callable[[Any, Any], None] = getattr(cls, name).__set__
    return setter


def _compile(cls: type) -> Reader:
    table, _, _, attributes = _parse._plan(cls)
    namespace: dict[str, Any] = {
        "_cls": cls,
        "_new": object.__new__,
        "_next": next,
        "_iter": iter,
        "_tuple": tuple,
        "_END": _END,
        "_Decimal": Decimal,
        "_ArithmeticError": ArithmeticError,
        "_ERRORS": _CONVERSION_ERRORS,
        "_BOOLS": _parse._BOOLS,
        "_bad": _parse._bad_value,
        "_Ref": Ref,
        "_ref_list_id": attrs_slot(Ref, "list_id"),
        "_ref_full_name": attrs_slot(Ref, "full_name"),
        "_ref_key": attrs_slot(Ref, "key"),
        "_fromisoformat": dt.datetime.fromisoformat,
        "_slow": _reference(cls),
    }
    advance = ["child = _next(it, _END)", "tag = child.tag"]
    body: list[str] = []
    fields = attrs.fields(cls)
    local = {f.name: f"v{index}" for index, f in enumerate(fields)}
    starts = [f"{local[f.name]} = ()" for f in fields if f.default is not None]
    nones = [local[f.name] for f in fields if f.default is None]
    for index, (name, spec) in enumerate(specs(cls)):
        if spec.attribute:
            continue
        tags = [tag for tag, entry in table.items() if entry[0] == name]
        if not tags:
            continue  # its tag belongs to a later field (the reference's table says so)
        mode, how, kind = table[tags[0]][1:]
        var = local[name]
        namespace[f"_k{index}"] = kind
        bad = f"raise _bad(child, _k{index})"
        if mode in (_parse._MANY, _parse._VALUES):
            tests = " or ".join(f"tag == {tag!r}" for tag in tags)
            read: list[str] = []
            if mode == _parse._MANY:
                for number, tag in enumerate(tags):
                    namespace[f"_r{index}_{number}"] = reader(table[tag][2])
                    keyword = "if" if number == 0 else "elif"
                    read += [
                        f"{keyword} tag == {tag!r}:",
                        f"    add(_r{index}_{number}(child, tz))",
                    ]
                read += ["else:", "    break"]
            else:
                read += [f"if tag != {tags[0]!r}:", "    break"]
                if how is None:
                    read += ["add(child.text or '')"]
                else:
                    namespace[f"_h{index}"] = how
                    read += [
                        "try:",
                        f"    add(_h{index}(child.text, tz))",
                        "except _ERRORS:",
                        f"    {bad} from None",
                    ]
            block = [
                "items = []",
                "add = items.append",
                "while True:",
                *(f"    {line}" for line in read + advance),
                f"{var} = _tuple(items)",
            ]
            body += [f"if {tests}:", *(f"    {line}" for line in block)]
            continue
        (tag,) = tags
        if mode == _parse._STR:
            block = [f"{var} = child.text", f"if {var} is None:", f"    {var} = ''"]
        elif mode == _parse._DEC:
            # As the reference reads amounts (qbwc.qbxml._parse._read).
            block = [
                "text = child.text",
                "if text is not None:",
                "    try:",
                "        number = _Decimal(text)",
                "    except _ArithmeticError:",
                "        if text.strip():",
                f"            {bad} from None",
                "    else:",
                "        if '_' in text or not number.is_finite():",
                f"            {bad}",
                f"        {var} = number",
            ]
        elif mode == _parse._SCALAR and kind is Kind.BOOL:
            block = [
                "text = child.text",
                "if text is not None:",
                "    text = text.strip()",
                "    if text:",
                f"        {var} = _BOOLS.get(text.lower())",
                f"        if {var} is None:",
                f"            {bad}",
            ]
        elif mode == _parse._SCALAR:
            namespace[f"_h{index}"] = how
            block = [
                "try:",
                f"    {var} = _h{index}(child.text, tz)",
                "except _ERRORS:",
                f"    {bad} from None",
            ]
            if kind is Kind.DATETIME:
                # What QuickBooks sends (2014-11-27T18:03:44-02:00) read at once; any
                # other text (blanks around it, no offset, a shorter form) by the reader.
                block = [
                    "text = child.text",
                    "value = None",
                    "if text is not None and len(text) == 25 and text[0].isdigit()"
                    " and text[-1].isdigit():",
                    "    try:",
                    "        value = _fromisoformat(text)",
                    "    except ValueError:",
                    "        pass",
                    "if value is not None and value.tzinfo is not None:",
                    f"    {var} = value",
                    "else:",
                    *(f"    {line}" for line in block),
                ]
        elif mode == _parse._REF:
            block = [
                "list_id = full_name = None",
                "for part in child:",
                "    part_tag = part.tag",
                "    if part_tag == 'ListID':",
                "        list_id = part.text or ''",
                "    elif part_tag == 'FullName':",
                "        full_name = part.text or ''",
                f"{var} = _new(_Ref)",
                f"_ref_list_id({var}, list_id)",
                f"_ref_full_name({var}, full_name)",
                f"_ref_key({var}, None)",
            ]
        else:
            namespace[f"_r{index}"] = reader(how)
            block = [f"{var} = _r{index}(child, tz)"]
        body += [f"if tag == {tag!r}:", *(f"    {line}" for line in block + advance)]
    # Anything left (out of order, repeated, unknown): the reference reads it all.
    body += ["if child is not _END:", "    return _slow(el, tz)"]
    for number, (tag, (name, how, kind)) in enumerate(attributes.items()):
        namespace[f"_ka{number}"] = kind
        value = "text" if how is None else f"_ha{number}(text, tz)"
        if how is not None:
            namespace[f"_ha{number}"] = how
        body += [
            f"text = el.get({tag!r})",
            "if text is not None:",
            "    try:",
            f"        {local[name]} = {value}",
            "    except _ERRORS:",
            f"        raise _bad(el, _ka{number}) from None",
        ]
    body.append("new = _new(_cls)")
    for index, f in enumerate(fields):
        namespace[f"_s{index}"] = getattr(cls, f.name).__set__
        body.append(f"_s{index}(new, {local[f.name]})")
    body.append("return new")
    head = ["it = _iter(el)", *advance, *starts]
    if nones:
        head.append(" = ".join(nones) + " = None")
    source = "def read(el, tz):\n" + "".join(f"    {line}\n" for line in head + body)
    function: Reader = compile_function(source, "read", namespace, what=f"reader {cls.__name__}")
    return function


# --- the envelope: one *Rs element ----------------------------------------------------

#: Reads one ``*Rs`` element into a Response: ``read(rs, tz)``.
ResponseReader = Callable[[etree._Element, dt.tzinfo], Any]
_RESPONSES: dict[str, ResponseReader] = {}


def response_reader(name: str) -> ResponseReader | None:
    """
    The compiled reader of the typed response *name*, or ``None`` if its Rets are untyped.

    Only names of the vocabulary are compiled (and kept), never one a document made up.
    """
    found = _RESPONSES.get(name)
    if found is None:
        with _LOCK:
            found = _RESPONSES.get(name)
            if found is None:
                typed = RET_MODELS.get(name)
                if typed is not None:
                    tags = {typed[0]: typed[1]}
                else:
                    generated = _parse._ret_tags(name)
                    if generated is None:
                        return None
                    tags = generated
                found = _RESPONSES[name] = _compile_response(name, tags, single=typed is not None)
    return found


def _compile_response(name: str, tags: dict[str, type], *, single: bool) -> ResponseReader:
    """
    The fast twin of ``_parse._read_response(rs, tz)`` for the response *name*.

    It reads what QuickBooks sends for a success: ``statusCode="0"``,
    ``statusSeverity="Info"``, a ``requestID`` and a ``statusMessage`` or not, no other
    attribute, and only Rets of the response as children (one at most for the responses
    of ``RET_MODELS``).  Anything else (another status, a query's attributes, an
    ErrorRecovery, an unknown child, a processing instruction) sends the element to the
    reference, whose answer or error is this one's (tests/test_qbxml_parse_direct.py).
    """

    def slow(rs: etree._Element, tz: dt.tzinfo) -> Any:
        return _parse._read_response(rs, tz)

    namespace: dict[str, Any] = {
        "_slow": slow,
        "_len": len,
        "_tuple": tuple,
        "_new": object.__new__,
        "_Response": Response,
        "_name": name,
    }
    body = [
        "if rs.get('statusCode') != '0' or rs.get('statusSeverity') != 'Info':",
        "    return _slow(rs, tz)",
        "request_id = rs.get('requestID')",
        "message = rs.get('statusMessage')",
        "if _len(rs.attrib) != 2 + (request_id is not None) + (message is not None):",
        "    return _slow(rs, tz)",
    ]
    if single:
        ((tag, model),) = tags.items()
        namespace["_r0"] = reader(model)
        # (The one child is looked at without an iterator: ``len`` counts them all.)
        body += [
            "count = _len(rs)",
            f"if count == 1 and (child := rs[0]).tag == {tag!r}:",
            "    ret = _r0(child, tz)",
            "    rets = (ret,)",
            "elif count == 0:",
            "    ret = None",
            "    rets = ()",
            "else:",
            "    return _slow(rs, tz)",
        ]
    else:
        one: list[str] = []
        many: list[str] = []
        for number, (tag, model) in enumerate(tags.items()):
            namespace[f"_r{number}"] = reader(model)
            keyword = "if" if number == 0 else "elif"
            one += [f"    {keyword} tag == {tag!r}:", f"        ret = _r{number}(child, tz)"]
            many += [
                f"        {keyword} tag == {tag!r}:",
                f"            add(_r{number}(child, tz))",
            ]
        body += [
            "if _len(rs) == 1:",
            "    child = rs[0]",
            "    tag = child.tag",
            *one,
            "    else:",
            "        return _slow(rs, tz)",
            "    rets = (ret,)",
            "else:",
            "    items = []",
            "    add = items.append",
            "    for child in rs:",
            "        tag = child.tag",
            *many,
            "        else:",
            "            return _slow(rs, tz)",
            "    rets = _tuple(items)",
            "    ret = rets[0] if _len(rets) == 1 else None",
        ]
    values = {
        "name": "_name",
        "request_id": "request_id",
        "status_code": "0",
        "status_severity": "'Info'",
        "status_message": "message or ''",
        "ret": "ret",
        "error_recovery": "None",
        "unknown": "()",
        "raw": "None",
        "rets": "rets",
        "ret_count": "None",
        "iterator_remaining_count": "None",
        "iterator_id": "None",
    }
    body.append("new = _new(_Response)")
    response_fields: tuple[attrs.Attribute[Any], ...] = attrs.fields(Response)
    for index, f in enumerate(response_fields):
        namespace[f"_s{index}"] = attrs_slot(Response, f.name)
        body.append(f"_s{index}(new, {values[f.name]})")
    body.append("return new")
    source = "def read(rs, tz):\n" + "".join(f"    {line}\n" for line in body)
    function: ResponseReader = compile_function(
        source, "read", namespace, what=f"response reader {name}"
    )
    return function
