"""
Turn request models into a qbXML document, validating every rule on the way.

For each model class and qbXML version the builder compiles, once, a *plan*
from the field specs: a straight-line function that checks each field and
appends its escaped text in a single pass (see "the plan" below).  Nothing is
returned until the whole document has been checked, so a
:class:`~qbwc.exceptions.QBXMLValidationError` means nothing was built.

The output is pure ASCII: characters U+00A0 to U+00FF are written as numeric
character references (``é`` → ``&#233;``), which is what QuickBooks Desktop
reads reliably.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final

import attrs

from qbwc._direct import compile_function
from qbwc.qbxml._build_choices import (
    _exclusions,
    _path_of,
    _required_choices,
    _with_choice,
)
from qbwc.qbxml._numbers import _format_amount, _format_float, _format_pqp
from qbwc.qbxml._request_kinds import request_element, request_since, rq_level_fields
from qbwc.qbxml._requests import ADD_MODELS
from qbwc.qbxml._rules import _at, _error, _type_rule
from qbwc.qbxml._text import TextPolicy, _escape, _escape_attribute, _length_rule, _strict
from qbwc.qbxml._types import (
    Kind,
    Ref,
    Spec,
    Version,
    choice_path,
    duration_rule,
    format_guid,
    format_version,
    specs,
    tag_of,
)

__all__ = [
    "EDITIONS",
    "MESSAGE_SET_ID_MAX",
    "ON_ERROR_VALUES",
    "REQUEST_ID_MAX",
    "SUPPORTED_VERSIONS",
    "build_request",
    "check_version",
    "frame_requests",
    "render_request",
]

#: The qbXML versions the builder writes (US numbering; 14.0-16.0 add nothing
#: to invoices and estimates).  Prefixed non-US versions such as ``CA3.0`` are
#: not supported.
SUPPORTED_VERSIONS: Final = (
    "1.0", "1.1", "2.0", "2.1", "3.0", "4.0", "4.1", "5.0", "6.0", "7.0",
    "8.0", "9.0", "10.0", "11.0", "12.0", "13.0", "14.0", "15.0", "16.0",
)  # fmt: skip
_VERSIONS: Final = {v: tuple(int(p) for p in v.split(".")) for v in SUPPORTED_VERSIONS}

ON_ERROR_VALUES: Final = ("stopOnError", "continueOnError")

#: The editions of QuickBooks Desktop whose maximum lengths the builder knows
#: (Intuit's annotations; docs/qbxml-reference.md "Naming").  US is the default.
EDITIONS: Final = ("US", "CA", "UK", "AU")

#: ``requestID`` longer than this gets statusCode 1060 from QuickBooks.
REQUEST_ID_MAX: Final = 50
#: QuickBooks answers 9004 above 24 characters; Intuit's attribute table says 23.
MESSAGE_SET_ID_MAX: Final = 23
_CLEAR_ALL: Final = "ClearAllMessageSets"
_ID_MAX: Final = 36

_GUID: Final = re.compile(r"0|\{[0-9A-Fa-f]{8}(?:-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}\}")

Out = Callable[[str], None]


# --- versions ----------------------------------------------------------------


def check_version(version: object) -> tuple[str, Version]:
    """
    Return ``(text, (major, minor))`` for a supported qbXML version string.

    Raises:
        QBXMLValidationError: *version* is not a supported version string.
    """
    if not isinstance(version, str):
        raise _error("version", _type_rule(version, "a str such as '13.0'"))
    text = version.strip()
    parsed = _VERSIONS.get(text)
    if parsed is None:
        rule = (
            f"{version!r} is not a supported qbXML version "
            f"(one of {', '.join(SUPPORTED_VERSIONS)})"
        )
        raise _error("version", rule)
    return text, (parsed[0], parsed[1])


def check_edition(edition: object) -> str:
    """
    Return *edition* if it is one of :data:`EDITIONS`.

    Raises:
        QBXMLValidationError: it is not.
    """
    if type(edition) is not str or edition not in EDITIONS:
        rule = f"{edition!r} is not a QuickBooks edition (one of {', '.join(EDITIONS)})"
        raise _error("edition", rule)
    return edition


def _for_edition(spec: Spec, edition: str) -> Spec:
    """*spec* with the maximum length of *edition* (``Spec.lengths``)."""
    if not spec.lengths or edition == "US":
        return spec
    if spec.max_len is None:  # pragma: no cover - the generator gives both or neither
        return spec
    limits = {"US": spec.max_len, **dict(spec.lengths)}
    limit = limits.get(edition, spec.max_len)
    # Every edition's limit stays in lengths, for the message (_edition_note).
    table = tuple((e, limits.get(e, spec.max_len)) for e in EDITIONS)
    return attrs.evolve(spec, max_len=limit, lengths=table)


def _edition_note(spec: Spec, edition: str) -> str:
    """What a length rule adds about editions: the one checked, and each one's limit."""
    if not spec.lengths:
        return "" if edition == "US" else f" for the {edition} edition"
    limits = {"US": spec.max_len, **dict(spec.lengths)}
    each = ", ".join(f"{e} {limits.get(e, spec.max_len)}" for e in EDITIONS)
    return f" for the {edition} edition ({each})"


# --- the plan ----------------------------------------------------------------
#
# Each model class gets, per qbXML version, a *body* function compiled from its
# specs (the way attrs writes __init__): one straight-line block per field that
# reads the attribute, takes an inline fast path for the common case (plain
# ASCII text within its limit, a Ref by FullName, a date, a bool) and otherwise
# calls the field's *emitter*, which checks every rule and raises with the path.

#: ``emit(value, owner, path, out, strict)``: validate *value* (a present,
#: non-None field of *owner*, the aggregate at *path*) and append its XML.
Emit = Callable[[Any, Any, str, Out, bool], None]
#: ``body(obj, path, out, strict)``: validate *obj* and append its element.
Body = Callable[[Any, str, Out, bool], None]

_BODIES: dict[tuple[type, Version, str, bool, str], Body] = {}
_A_REQUEST_MODEL: Final = "a request model (InvoiceAdd, CustomerQuery, ...)"


def _body(
    cls: type, version: Version, tag: str = "", *, rq_level: bool = False, edition: str = "US"
) -> Body:
    """
    The compiled body of *cls* at *version*, written as element *tag* (default:
    the class name), or with *rq_level* the fields that go in its ``*AddRq``;
    maximum lengths are *edition*'s.
    """
    key = (cls, version, tag, rq_level, edition)
    body = _BODIES.get(key)
    if body is None:
        body = _BODIES[key] = _compile(cls, version, tag or cls.__name__, rq_level, edition)
    return body


def _compile(cls: type, version: Version, tag: str, rq_level: bool, edition: str) -> Body:
    namespace: dict[str, Any] = {
        "Ref": Ref,
        "_date": dt.date,
        "_error": _error,
        "_at": _at,
        "_attribute": _attribute,
        "_amount": _format_amount,
        "_pqp": _format_pqp,
    }
    code = ["def body(obj, path, out, strict):"]
    beside = rq_level_fields(cls)
    fields = [
        (name, _for_edition(spec, edition))
        for name, spec in specs(cls)
        if (name in beside) == rq_level
    ]
    if not rq_level:
        attributes = [(name, spec) for name, spec in fields if spec.attribute]
        if attributes:
            code.append(f"    head = {'<' + tag!r}")
            for name, spec in attributes:
                unavailable = _unavailable_rule(spec, version)
                code += [
                    f"    v = obj.{name}",
                    "    if v is not None:",
                    f"        head += _attribute(v, path, {name!r}, {spec.tag!r}, "
                    f"{unavailable!r}, strict)",
                ]
            code.append("    out(head + '>')")
        else:
            code.append(f"    out({'<' + tag + '>'!r})")
    earlier_in_choice: dict[str, list[str]] = {}
    for index, (name, spec) in enumerate(fields):
        if spec.attribute:
            continue
        emit = _emitter(name, spec, version, edition)
        fast = True
        if spec.choice is not None:
            # Fields in different alternatives of one choice exclude each other
            # (choice_path: "group", "group:alternative", nested with "|").
            mine = dict(choice_path(name, spec.choice))
            rivals: dict[str, str] = {}  # an earlier field -> the group it excludes us in
            for group, alternative in mine.items():
                others = earlier_in_choice.setdefault(group, [])
                for o in others:
                    if dict(_path_of(cls, o))[group] != alternative:
                        rivals.setdefault(o, group)
                others.append(name)
            if rivals:
                emit = _with_choice(emit, name, tuple(rivals.items()), cls)
                fast = False
        if spec.since > version:
            emit = _unavailable(name, spec, version)
            fast = False
        e = f"e{index}"
        namespace[e] = emit
        call = f"{e}(v, obj, path, out, strict)"
        code.append(f"    v = obj.{name}")
        if spec.many:
            code += ["    if v:", f"        {call}"]
            if spec.min_count and spec.since <= version:
                rule = _min_count_rule(spec.min_count, 0)
                code += ["    else:", f"        raise _error(_at(path, {name!r}), {rule!r})"]
            continue
        code.append("    if v is not None:")
        code += [
            "        " + line
            for line in (
                _fast_path(name, spec, version, call, namespace, edition) if fast else [call]
            )
        ]
        if spec.required and ":" in (spec.choice or ""):
            # Required within its alternative of a choice: when a sibling is given.
            siblings = [n for n, s in fields if s.choice == spec.choice and n != name]
            if siblings:
                given = " or ".join(f"obj.{n} not in _absent" for n in siblings)
                rule = f"required with {', '.join(siblings)}"
                code += [
                    f"    elif {given}:",
                    f"        raise _error(_at(path, {name!r}), {rule!r})",
                ]
        elif spec.required:
            code += ["    else:", f"        raise _error(_at(path, {name!r}), 'required')"]
    code += _required_choices(fields, version, namespace)
    code += _exclusions(fields)
    if not rq_level:
        code.append(f"    out({'</' + tag + '>'!r})")
    else:
        code.append("    pass")
    what = f"build {tag}{' rq' if rq_level else ''} {format_version(version)} {edition}"
    body: Body = compile_function("\n".join(code) + "\n", "body", namespace, what=what)
    body.__qualname__ = f"build_{tag}{'_rq' if rq_level else ''}_{format_version(version)}"
    return body


def _plain(var: str, max_len: int | None) -> str:
    """A Python condition: *var* is a str that needs no escaping and fits."""
    condition = (
        f"type({var}) is str and {var}.isascii() and {var}.isprintable() and "
        f"'&' not in {var} and '<' not in {var} and '>' not in {var}"
    )
    if max_len is not None:
        condition += f" and len({var}) <= {max_len}"
    return condition


def _fast_path(  # noqa: PLR0917
    name: str, spec: Spec, version: Version, call: str, namespace: dict[str, Any], edition: str
) -> list[str]:
    start, end = f"<{spec.tag}>", f"</{spec.tag}>"
    kind = spec.kind
    if kind in (Kind.STR, Kind.ID):
        max_len = spec.max_len if spec.max_len is not None or kind is Kind.STR else _ID_MAX
        condition = "type(v) is str and v.isascii() and v.isprintable()"
        if max_len is not None:
            condition += f" and len(v) <= {max_len}"
        return [
            f"if {condition}:",
            "    if '&' in v or '<' in v or '>' in v:",
            "        v = v.replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;')",
            f"    out({start!r} + v + {end!r})",
            "else:",
            f"    {call}",
        ]
    if kind is Kind.AMT:
        return [f"out({start!r} + _amount(v, path, {name!r}) + {end!r})"]
    if kind in (Kind.PRICE, Kind.QUAN, Kind.PERCENT):
        return [f"out({start!r} + _pqp(v, path, {name!r}, {kind.value!r}) + {end!r})"]
    if kind is Kind.BOOL:
        return [
            "if v is True:",
            f"    out({start + 'true' + end!r})",
            "elif v is False:",
            f"    out({start + 'false' + end!r})",
            "else:",
            f"    {call}",
        ]
    if kind is Kind.DATE:
        return [
            "if type(v) is _date:",
            f"    out({start!r} + v.isoformat() + {end!r})",
            "else:",
            f"    {call}",
        ]
    if kind is Kind.AGG and spec.model == (Ref,):
        return [
            f"if type(v) is Ref and v.list_id is None and v.key is None and "
            f"{_plain('(f := v.full_name)', spec.max_len)} and f:",
            f"    out({start + '<FullName>'!r} + f + {'</FullName>' + end!r})",
            f"elif type(v) is Ref and v.full_name is None and v.key is None and "
            f"{_plain('(f := v.list_id)', _ID_MAX)} and f:",
            f"    out({start + '<ListID>'!r} + f + {'</ListID>' + end!r})",
            "else:",
            f"    {call}",
        ]
    if kind is Kind.AGG and len(spec.model) == 1:
        (model,) = spec.model
        sub = f"b_{name}"
        namespace[sub] = _body(model, version, spec.tag, edition=edition)
        namespace[model.__name__] = model
        return [
            f"if type(v) is {model.__name__}:",
            f"    {sub}(v, path + {'.' + name!r}, out, strict)",
            "else:",
            f"    {call}",
        ]
    return [call]


def _attribute(  # noqa: PLR0917 - called from compiled code
    value: object, path: str, name: str, attr: str, unavailable: str | None, strict: bool
) -> str:
    if unavailable is not None:
        raise _error(_at(path, name), unavailable)
    if type(value) is not str:
        raise _error(_at(path, name), _type_rule(value, "str"))
    _, escaped = _escape_attribute(value, path, name, strict)
    return f' {attr}="{escaped}"'


def _unavailable_rule(spec: Spec, version: Version) -> str | None:
    if spec.since <= version:
        return None
    return (
        f"{spec.tag} needs qbXML {format_version(spec.since)} or later; "
        f"the request is for qbXML {format_version(version)}"
    )


def _unavailable(name: str, spec: Spec, version: Version) -> Emit:
    rule = _unavailable_rule(spec, version)
    assert rule is not None

    def emit(value: Any, owner: Any, path: str, out: Out, strict: bool) -> None:
        if spec.many and not value:
            return
        raise _error(_at(path, name), rule)

    return emit


def _min_count_rule(minimum: int, count: int) -> str:
    noun = "entry" if minimum == 1 else "entries"
    return f"at least {minimum} {noun} required, got {count}"


def _emitter(name: str, spec: Spec, version: Version, edition: str) -> Emit:
    if spec.many:
        return _many_emitter(name, spec, version, edition)
    return _single_emitter(name, spec, version, edition)


def _single_emitter(name: str, spec: Spec, version: Version, edition: str) -> Emit:
    tag = spec.tag
    start, end = f"<{tag}>", f"</{tag}>"
    kind = spec.kind
    if kind is Kind.AGG:
        return _aggregate_emitter(name, spec, version, edition)
    if kind in (Kind.STR, Kind.ID):
        max_len = spec.max_len if spec.max_len is not None or kind is Kind.STR else _ID_MAX
        note = _edition_note(spec, edition) if spec.max_len is not None else ""

        def emit_text(value: Any, owner: Any, path: str, out: Out, strict: bool) -> None:
            if type(value) is not str:
                raise _error(_at(path, name), _type_rule(value, "str"))
            stored, escaped = _escape(value, path, name, strict)
            if max_len is not None and len(stored) > max_len:
                raise _error(_at(path, name), _length_rule(len(stored), max_len) + note)
            out(start + escaped + end)

        return emit_text
    if kind is Kind.AMT:

        def emit_amount(value: Any, owner: Any, path: str, out: Out, strict: bool) -> None:
            out(start + _format_amount(value, path, name) + end)

        return emit_amount
    if kind in (Kind.PRICE, Kind.QUAN, Kind.PERCENT):
        what = kind.value

        def emit_pqp(value: Any, owner: Any, path: str, out: Out, strict: bool) -> None:
            out(start + _format_pqp(value, path, name, what) + end)

        return emit_pqp
    if kind is Kind.FLOAT:

        def emit_float(value: Any, owner: Any, path: str, out: Out, strict: bool) -> None:
            out(start + _format_float(value, path, name) + end)

        return emit_float
    if kind is Kind.BOOL:

        def emit_bool(value: Any, owner: Any, path: str, out: Out, strict: bool) -> None:
            if value is True:
                out(start + "true" + end)
            elif value is False:
                out(start + "false" + end)
            else:
                raise _error(_at(path, name), _type_rule(value, "bool"))

        return emit_bool
    if kind is Kind.DATE:

        def emit_date(value: Any, owner: Any, path: str, out: Out, strict: bool) -> None:
            if type(value) is not dt.date:
                raise _error(_at(path, name), _date_rule(value))
            out(start + value.isoformat() + end)

        return emit_date
    if kind is Kind.GUID:

        def emit_guid(value: Any, owner: Any, path: str, out: Out, strict: bool) -> None:
            if isinstance(value, uuid.UUID):
                value = format_guid(value)
            if type(value) is not str:
                raise _error(_at(path, name), _type_rule(value, "a GUID str or UUID"))
            if _GUID.fullmatch(value) is None:
                rule = (
                    f"{value!r} is not a qbXML GUID: '0' or "
                    "'{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}' (a UUID is accepted)"
                )
                raise _error(_at(path, name), rule)
            out(start + value + end)

        return emit_guid
    if kind is Kind.ENUM:
        allowed = spec.values

        def emit_enum(value: Any, owner: Any, path: str, out: Out, strict: bool) -> None:
            if type(value) is not str or value not in allowed:
                rule = f"{value!r} is not one of {', '.join(allowed)}"
                raise _error(_at(path, name), rule)
            out(start + value + end)

        return emit_enum
    if kind is Kind.INT:
        low, high = spec.minimum, spec.maximum

        def emit_int(value: Any, owner: Any, path: str, out: Out, strict: bool) -> None:
            if type(value) is not int:
                raise _error(_at(path, name), _type_rule(value, "int"))
            if (low is not None and value < low) or (high is not None and value > high):
                bounds = f"at least {low}" if high is None else f"from {low} to {high}"
                raise _error(_at(path, name), f"{value} is out of range ({bounds})")
            out(start + str(value) + end)

        return emit_int
    if kind is Kind.DURATION:

        def emit_duration(value: Any, owner: Any, path: str, out: Out, strict: bool) -> None:
            if type(value) is not str:
                raise _error(_at(path, name), _type_rule(value, "str"))
            rule = duration_rule(value)
            if rule is not None:
                raise _error(_at(path, name), rule)
            out(start + value + end)

        return emit_duration
    if kind is Kind.DATETIME:

        def emit_datetime(value: Any, owner: Any, path: str, out: Out, strict: bool) -> None:
            out(start + _format_datetime(value, path, name) + end)

        return emit_datetime
    msg = f"{kind} is not supported in requests"  # pragma: no cover - a spec bug
    raise AssertionError(msg)


_DATETIME: Final = re.compile(
    r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(T[0-9]{1,2}(:[0-9]{1,2}(:[0-9]{1,2}([+-][0-9]{1,2}:[0-9]{1,2})?)?)?)?"
)


def _format_datetime(value: object, path: str, name: str) -> str:
    """A DATETIMETYPE: a datetime (to the second), a date, or ISO text QuickBooks reads."""
    if isinstance(value, dt.datetime):
        return value.replace(microsecond=0).isoformat()
    if type(value) is dt.date:
        return value.isoformat()
    if type(value) is str and _DATETIME.fullmatch(value):
        return value
    rule = (
        f"{value!r} is not a qbXML date-time: a datetime, a date or "
        "'YYYY-MM-DDThh:mm:ss' with an optional '+hh:mm' offset"
    )
    raise _error(_at(path, name), rule)


def _date_rule(value: object) -> str:
    if isinstance(value, dt.datetime):
        return "expected a date, got a datetime (the time would be lost)"
    if isinstance(value, str):
        return f"{value!r} is not an ISO date (YYYY-MM-DD)"
    return _type_rule(value, "datetime.date")


def _aggregate_emitter(name: str, spec: Spec, version: Version, edition: str) -> Emit:
    tag = spec.tag
    start, end = f"<{tag}>", f"</{tag}>"
    (model,) = spec.model
    if model is Ref:
        note = _edition_note(spec, edition) if spec.max_len is not None else ""
        return _ref_emitter(name, start, end, spec.max_len, note)

    def emit_aggregate(value: Any, owner: Any, path: str, out: Out, strict: bool) -> None:
        if not isinstance(value, model):
            raise _error(_at(path, name), _type_rule(value, model.__name__))
        _body(model, version, tag, edition=edition)(value, _at(path, name), out, strict)

    return emit_aggregate


def _ref_emitter(name: str, start: str, end: str, max_len: int | None, note: str = "") -> Emit:
    id_name, full_name_name = f"{name}.list_id", f"{name}.full_name"
    key_name = f"{name}.key"
    if not name:
        id_name, full_name_name, key_name = "list_id", "full_name", "key"

    def emit_ref(value: Any, owner: Any, path: str, out: Out, strict: bool) -> None:
        if not isinstance(value, Ref):
            raise _error(_at(path, name), _type_rule(value, "Ref"))
        list_id, full_name = value.list_id, value.full_name
        if value.key is not None:
            raise _error(_at(path, key_name), _key_rule(value))
        if list_id is None and full_name is None:
            raise _error(_at(path, name), "give list_id or full_name")
        parts = [start]
        if list_id is not None:
            if type(list_id) is not str:
                raise _error(_at(path, id_name), _type_rule(list_id, "str"))
            stored, escaped = _escape(list_id, path, id_name, strict)
            if not stored:
                raise _error(_at(path, id_name), "empty")
            if len(stored) > _ID_MAX:
                raise _error(_at(path, id_name), _length_rule(len(stored), _ID_MAX))
            parts.append("<ListID>" + escaped + "</ListID>")
        if full_name is not None:
            if type(full_name) is not str:
                raise _error(_at(path, full_name_name), _type_rule(full_name, "str"))
            stored, escaped = _escape(full_name, path, full_name_name, strict)
            if not stored:
                raise _error(_at(path, full_name_name), "empty")
            if max_len is not None and len(stored) > max_len:
                rule = _length_rule(len(stored), max_len) + note
                raise _error(_at(path, full_name_name), rule)
            parts.append("<FullName>" + escaped + "</FullName>")
        parts.append(end)
        out("".join(parts))

    return emit_ref


def _key_rule(ref: Ref) -> str:
    """Why a Ref by linkage key cannot be written as qbXML (docs/linkages.md)."""
    if ref.list_id is not None or ref.full_name is not None:
        return "give key alone (a Ref by linkage key names no list_id or full_name)"
    return (
        f"{ref.key!r} is a linkage key, not qbXML: only WebConnectorService.enqueue "
        "resolves it (to the linked object's ListID, when the job is sent); give list_id "
        "or full_name to build the request yourself"
    )


def _many_emitter(name: str, spec: Spec, version: Version, edition: str) -> Emit:
    single = _single_emitter("", spec, version, edition) if len(spec.model) <= 1 else None
    models = spec.model
    minimum = spec.min_count
    maximum = spec.max_count
    bodies: dict[type, Body] = {}

    def emit_many(value: Any, owner: Any, path: str, out: Out, strict: bool) -> None:
        if type(value) is not tuple:
            raise _error(_at(path, name), _type_rule(value, "tuple"))
        if len(value) < minimum:
            raise _error(_at(path, name), _min_count_rule(minimum, len(value)))
        if maximum is not None and len(value) > maximum:
            rule = f"at most {maximum} entries, got {len(value)}"
            raise _error(_at(path, name), rule)
        for index, item in enumerate(value):
            where = f"{path}.{name}[{index}]"
            if item is None:
                raise _error(where, "None is not allowed in a sequence")
            if single is not None:
                single(item, owner, where, out, strict)
                continue
            body = bodies.get(type(item))
            if body is None:
                if type(item) not in models:
                    expected = " or ".join(m.__name__ for m in models)
                    raise _error(where, _type_rule(item, expected))
                body = bodies[type(item)] = _body(
                    type(item), version, tag_of(type(item)), edition=edition
                )
            body(item, where, out, strict)

    return emit_many


# --- the public entry points ---------------------------------------------------


def build_request(
    requests: Sequence[object | tuple[str, object]],
    *,
    version: str = "13.0",
    on_error: str = "stopOnError",
    message_set_id: str | None = None,
    old_message_set_id: str | None = None,
    text_policy: TextPolicy = "strict",
    edition: str = "US",
) -> bytes:
    """
    Build a qbXML request document (a message set) from request models.

    *requests* holds models (:class:`~qbwc.qbxml.InvoiceAdd`,
    :class:`~qbwc.qbxml.EstimateAdd`) or ``(request_id, model)`` pairs; a model
    without an ID gets its 1-based position (``"1"``, ``"2"``, ...).

    *message_set_id* turns on QuickBooks' error recovery for this set.  With
    *old_message_set_id* and no requests the document asks for the stored
    status of an earlier set (when *message_set_id* is the same ID) or clears
    it (when *message_set_id* is None).

    *text_policy* ``"strict"`` refuses text outside ISO-8859-1;
    ``"transliterate"`` maps it to ASCII where it can (smart quotes, dashes,
    ``€`` → ``EUR``, ``ł`` → ``l``...) and refuses the rest.

    *edition* (``"US"``, ``"CA"``, ``"UK"`` or ``"AU"``: the company file's
    country) decides the maximum lengths where the editions differ (a sales tax
    code: 3 characters, 6 in Australia); see docs/qbxml.md.

    Raises:
        QBXMLValidationError: a model or argument breaks a rule; nothing is built.
    """
    version_text, parsed = check_version(version)
    _check_on_error(on_error)
    strict = _strict(text_policy)
    edition = check_edition(edition)
    if request_element(type(requests)) is not None:
        rule = (
            f"expected a list of request models, got one {type(requests).__name__} "
            "(wrap it in [])"
        )
        raise _error("requests", rule)
    if isinstance(requests, (str, bytes)) or not isinstance(requests, Iterable):
        raise _error("requests", _type_rule(requests, "a list of request models"))
    items = list(requests)

    head = _head(version_text, on_error, message_set_id, old_message_set_id)
    if not items:
        if old_message_set_id is None:
            rule = (
                "at least one request is required (an empty message set is only for "
                "error recovery, with old_message_set_id)"
            )
            raise _error("requests", rule)
        head.append("/></QBXML>")
        return "".join(head).encode("ascii")
    head.append(">")

    parts: list[str] = head
    out = parts.append
    seen: set[str] = set()
    several = len(items) > 1
    for position, item in enumerate(items, 1):
        prefix = f"requests[{position - 1}]"
        if isinstance(item, tuple):
            if len(item) != 2:
                rule = f"expected (request_id, model), got a tuple of {len(item)}"
                raise _error(prefix, rule)
            request_id, model = item
            if type(request_id) is not str:
                raise _error(f"{prefix}.request_id", _type_rule(request_id, "str"))
        else:
            request_id, model = str(position), item
        cls = type(model)
        element = request_element(cls)
        if element is None:
            raise _error(prefix, _type_rule(model, _A_REQUEST_MODEL))
        rq_tag, whole = element
        escaped_id = _request_id(request_id, prefix, seen)
        path = f"{prefix}.{cls.__name__}" if several else cls.__name__
        since = request_since(cls)
        if since > parsed:
            rule = (
                f"{rq_tag} is not in qbXML {version_text} "
                f"(it appeared in {format_version(since)})"
            )
            raise _error(path, rule)
        if whole:
            start = len(parts)
            _body(cls, parsed, rq_tag, edition=edition)(model, path, out, strict)
            # The body opened the element; the request ID goes first among its attributes.
            parts[start] = f'<{rq_tag} requestID="{escaped_id}"' + parts[start][len(rq_tag) + 1 :]
            continue
        out(f'<{rq_tag} requestID="{escaped_id}">')
        _body(cls, parsed, edition=edition)(model, path, out, strict)
        _body(cls, parsed, rq_level=True, edition=edition)(model, path, out, strict)
        out(f"</{rq_tag}>")
    out("</QBXMLMsgsRq></QBXML>")
    return "".join(parts).encode("ascii")


# The Rq element of each request model, by class name (how a queue names the type).
_RQ_TAGS: Final = {cls.__name__: tag for cls, tag in ADD_MODELS.items()}


def _rq_element(type_name: str) -> tuple[str, bool] | None:
    """``(Rq element, whole)`` of the request model named *type_name* (see request_element)."""
    tag = _RQ_TAGS.get(type_name)
    if tag is not None:
        return tag, False
    from qbwc.qbxml._types import vocabulary  # noqa: PLC0415

    tables = vocabulary()
    rq = tables.REQUESTS.get(type_name)
    if rq is None:
        return None
    return rq, type_name not in tables.RQ_LEVEL


def render_request(
    model: object,
    *,
    version: str = "16.0",
    text_policy: TextPolicy = "strict",
    edition: str = "US",
) -> str:
    """
    What :func:`build_request` writes for *model* in its ``<…Rq>`` element, checked.

    For a request with an inner aggregate (``InvoiceAdd``, ``CustomerMod``): what
    goes inside the ``<…AddRq>`` (or ``<…ModRq>``) element.  For a request that is
    the ``<…Rq>`` element itself (``CustomerQuery``, ``ListDel``): everything after
    ``<…Rq`` and its ``requestID``: its other attributes (``iterator``...), its
    content and its end tag.

    For a queue: render each request once, when it is queued, and put rendered
    requests into message sets with :func:`frame_requests` (the same bytes as
    :func:`build_request`).  The text is the same at every *version* that has
    all of *model*'s fields: a version only decides which fields are available.
    *edition* decides the maximum lengths, as for :func:`build_request`.

    Raises:
        QBXMLValidationError: *model* or an argument breaks a rule.
    """
    version_text, parsed = check_version(version)
    strict = _strict(text_policy)
    edition = check_edition(edition)
    cls = type(model)
    element = request_element(cls)
    if element is None:
        raise _error("model", _type_rule(model, _A_REQUEST_MODEL))
    rq_tag, whole = element
    since = request_since(cls)
    if since > parsed:
        rule = f"{rq_tag} is not in qbXML {version_text} (it appeared in {format_version(since)})"
        raise _error(cls.__name__, rule)
    parts: list[str] = []
    out = parts.append
    if whole:
        _body(cls, parsed, rq_tag, edition=edition)(model, cls.__name__, out, strict)
        return "".join(parts)[len(rq_tag) + 1 :]
    _body(cls, parsed, edition=edition)(model, cls.__name__, out, strict)
    _body(cls, parsed, rq_level=True, edition=edition)(model, cls.__name__, out, strict)
    return "".join(parts)


def frame_requests(
    rendered: Sequence[tuple[str, str, str]],
    *,
    version: str = "13.0",
    on_error: str = "stopOnError",
    message_set_id: str | None = None,
) -> bytes:
    """
    A message set of requests rendered by :func:`render_request`.

    *rendered* holds ``(request_id, model class name, rendered text)`` triples;
    the result equals :func:`build_request` of the ``(request_id, model)`` pairs
    with the same arguments.

    Raises:
        QBXMLValidationError: an argument or request ID breaks a rule, a class
            name is not a request model's, or a text is not ASCII (as
            :func:`render_request` writes it).
    """
    version_text, _ = check_version(version)
    _check_on_error(on_error)
    items = list(rendered)
    if not items:
        raise _error("rendered", "at least one request is required")
    parts = _head(version_text, on_error, message_set_id, None)
    parts.append(">")
    seen: set[str] = set()
    for position, (request_id, type_name, text) in enumerate(items):
        prefix = f"rendered[{position}]"
        element = _rq_element(type_name) if type(type_name) is str else None
        if element is None:
            raise _error(prefix, f"{type_name!r} is not the name of a request model")
        rq_tag, whole = element
        if not _rendered_shape(element, text):
            raise _error(prefix, "expected the ASCII text render_request writes")
        if type(request_id) is not str:
            raise _error(f"{prefix}.request_id", _type_rule(request_id, "str"))
        escaped_id = _request_id(request_id, prefix, seen)
        if whole:
            parts += (f'<{rq_tag} requestID="{escaped_id}"', text)
        else:
            parts += (f'<{rq_tag} requestID="{escaped_id}">', text, f"</{rq_tag}>")
    parts.append("</QBXMLMsgsRq></QBXML>")
    return "".join(parts).encode("ascii")


def is_rendered(type_name: str, text: object) -> bool:
    """
    *text* has the shape :func:`render_request` gives a *type_name* request (a cheap check).

    ASCII, and for a request that is its ``<…Rq>`` element, attributes or ``>``
    first and the end tag last.
    """
    element = _rq_element(type_name)
    return element is not None and _rendered_shape(element, text)


def _rendered_shape(element: tuple[str, bool], text: object) -> bool:
    if type(text) is not str or not text.isascii():
        return False
    rq_tag, whole = element
    return not whole or (text[:1] in (">", " ") and text.endswith(f"</{rq_tag}>"))


def _check_on_error(on_error: str) -> None:
    if on_error not in ON_ERROR_VALUES:
        if on_error == "rollbackOnError":
            rule = (
                "rollbackOnError is refused: QuickBooks Desktop does not support it "
                "(use stopOnError or continueOnError)"
            )
        else:
            rule = f"{on_error!r} is not one of {', '.join(ON_ERROR_VALUES)}"
        raise _error("on_error", rule)


def _head(
    version_text: str, on_error: str, message_set_id: str | None, old_message_set_id: str | None
) -> list[str]:
    """The start of a message set, up to the attributes of QBXMLMsgsRq (not its ``>``)."""
    head = [
        '<?xml version="1.0" encoding="utf-8"?>\n<?qbxml version="',
        version_text,
        '"?>\n<QBXML><QBXMLMsgsRq onError="',
        on_error,
        '"',
    ]
    if message_set_id is not None:
        head.append(' newMessageSetID="' + _set_id(message_set_id, "message_set_id") + '"')
    if old_message_set_id is not None:
        head.append(
            ' oldMessageSetID="' + _set_id(old_message_set_id, "old_message_set_id") + '"'
        )
    return head


def _request_id(request_id: str, prefix: str, seen: set[str]) -> str:
    """*request_id* escaped for its attribute, after its rules (and not used before)."""
    stored_id, escaped_id = _escape_attribute(request_id, prefix, "request_id", True)
    if not stored_id:
        raise _error(f"{prefix}.request_id", "empty")
    if len(stored_id) > REQUEST_ID_MAX:
        rule = _length_rule(len(stored_id), REQUEST_ID_MAX) + " (QuickBooks status 1060)"
        raise _error(f"{prefix}.request_id", rule)
    if stored_id in seen:
        raise _error(f"{prefix}.request_id", f"{stored_id!r} is used by an earlier request")
    seen.add(stored_id)
    return escaped_id


def _set_id(value: object, where: str) -> str:
    if type(value) is not str:
        raise _error(where, _type_rule(value, "str"))
    stored, escaped = _escape_attribute(value, where, "", True)
    if not stored:
        raise _error(where, "empty")
    if stored != _CLEAR_ALL and len(stored) > MESSAGE_SET_ID_MAX:
        rule = _length_rule(len(stored), MESSAGE_SET_ID_MAX) + " (QuickBooks status 9004)"
        raise _error(where, rule)
    return escaped
