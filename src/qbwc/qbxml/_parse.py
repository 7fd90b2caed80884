"""
Read QuickBooks' qbXML responses into typed values.

:func:`parse_response` turns a ``<QBXML><QBXMLMsgsRs>`` document into a
:class:`ResponseSet`.  A status code is data, not an exception: each
:class:`Response` says whether it worked (:attr:`Response.ok`), what to do
about it (:func:`classify_status`), and raises only when asked
(:meth:`Response.raise_for_status`).

Parsing is lenient, because real QuickBooks responses are not always
schema-valid: missing elements are ``None``, unknown elements are kept as XML
text in ``unknown``, and only a value that cannot be converted (``"abc"`` as
an amount) is an error, a :class:`~qbwc.exceptions.QBXMLError` naming the
element's path.

Speed matters here (the service parses every answer): each model class gets a
precomputed table ``tag -> (attribute, how to read it)`` built once from its
specs, and values go straight from the element text to their Python type.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from typing import Any, Final, Literal

import attrs
from lxml import etree

from qbwc._budget import qbxml_limits
from qbwc._direct import compile_constructor
from qbwc._xml import parse_untrusted
from qbwc.exceptions import QBXMLError, QuickBooksError
from qbwc.qbxml._responses import RET_MODELS, ErrorRecovery
from qbwc.qbxml._types import (
    DECIMAL_KINDS,
    Kind,
    Ref,
    duration_rule,
    is_inline,
    specs,
    tag_of,
    vocabulary,
)

__all__ = [
    "Response",
    "ResponseSet",
    "Severity",
    "StatusClass",
    "classify_status",
    "parse_response",
]

#: ``statusSeverity``, normalised.
Severity = Literal["Info", "Warn", "Error"]

#: What to do about a status code; see :func:`classify_status`.
StatusClass = Literal["ok", "warning", "retry", "fix", "action"]

#: Largest qbXML response accepted (QuickBooks query answers can be large).
MAX_RESPONSE_BYTES: Final = 50 * 1024 * 1024

# --- status codes (PROTOCOL §D) ---------------------------------------------

# "There was an error when saving/modifying ... QuickBooks error message: This
# list has been modified by another user." and the lock texts of 3175/3176.
_TRANSIENT_TEXT: Final = re.compile(r"modified by another user|lock|in use", re.IGNORECASE)
_RETRY_CODES: Final = frozenset({1000, 1010, 3170, 3175, 3176})
_ACTION_CODES: Final = frozenset({3130, 3140, 3200, 3250, 3260, 3261})


def classify_status(code: int, message: str = "") -> StatusClass:
    """
    Say what to do about a response's *code* (and, for 3180, its *message*).

    - ``"ok"``: 0-499, done (1 is "no match" for a query).
    - ``"warning"``: 500-999, done, but look at the message; the Ret is there.
    - ``"retry"``: transient; send the same request again later: 3170, 3175,
      3176, 3180 when the message speaks of a lock, "in use" or "modified by
      another user", and 1000/1010 (retry those once).
    - ``"action"``: it can work after someone does something first: create the
      missing customer or item (3140) or parent (3130), re-query (3200), turn a
      feature on (3250) or grant permissions (3260, 3261).
    - ``"fix"``: everything else; the request itself is wrong, resending the
      same data will fail the same way.

    The caller bounds the number of retries.
    """
    if 0 <= code < 500:
        return "ok"
    if 500 <= code < 1000:
        return "warning"
    if code in _RETRY_CODES:
        return "retry"
    if code == 3180:
        return "retry" if _TRANSIENT_TEXT.search(message) else "fix"
    if code in _ACTION_CODES:
        return "action"
    return "fix"


def _severity(text: str | None, code: int) -> Severity:
    # Intuit's samples compare against "Warning", QuickBooks sends "Warn":
    # read case-insensitively; with nothing usable, derive it from the code.
    if text == "Info":  # what a success says
        return "Info"
    if text:
        low = text.strip().lower()
        if low.startswith("warn"):
            return "Warn"
        if low.startswith("info"):
            return "Info"
        if low.startswith("err"):
            return "Error"
    if 0 <= code < 500:
        return "Info"
    if 500 <= code < 1000:
        return "Warn"
    return "Error"


def _any_tuple(items: Iterable[Any]) -> tuple[Any, ...]:
    return tuple(items)


def _str_tuple(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(items)


@attrs.frozen(kw_only=True)
class Response:
    """
    One ``*Rs`` element: QuickBooks' answer to one request.

    Attributes:
        name: the element name, e.g. ``"InvoiceAddRs"``.
        request_id: the ``requestID`` echoed from the request, if any.
        status_code: 0 is success; see :func:`classify_status`.
        status_severity: ``"Info"``, ``"Warn"`` or ``"Error"``.
        status_message: QuickBooks' text, for logs and people.
        ret: the one typed Ret of the response (``InvoiceRet`` of an
            ``InvoiceAddRs``, ``CustomerRet`` of a ``CustomerModRs``...); ``None``
            on error, for an untyped response, and when a query returned several.
        rets: every typed Ret of the response in document order (a query's
            answers); ``(ret,)`` for a one-Ret answer.
        ret_count: ``retCount`` of a query response.
        iterator_remaining_count: ``iteratorRemainingCount`` of an iterator response.
        iterator_id: ``iteratorID`` of an iterator response, for the next request.
        error_recovery: the :class:`ErrorRecovery` data of a response answered
            from QuickBooks' error-recovery store.
        unknown: XML text of unrecognised children of a typed response.
        raw: the XML text of a response without typed Rets, so that nothing is
            lost; ``None`` for typed ones.  Not part of equality.
    """

    name: str
    request_id: str | None = None
    status_code: int = 0
    status_severity: Severity = "Info"
    status_message: str = ""
    # Any: one of the Ret models (InvoiceRet, CustomerRet... docs/qbxml-reference.md).
    ret: Any = None
    error_recovery: ErrorRecovery | None = None
    unknown: tuple[str, ...] = attrs.field(factory=tuple, converter=_str_tuple)
    raw: str | None = attrs.field(default=None, eq=False, repr=False)
    rets: tuple[Any, ...] = attrs.field(factory=tuple, converter=_any_tuple)
    ret_count: int | None = None
    iterator_remaining_count: int | None = None
    iterator_id: str | None = None

    def __attrs_post_init__(self) -> None:
        # ``ret`` and ``rets`` say the same for a one-Ret answer, whichever was given.
        if not self.rets and self.ret is not None:
            object.__setattr__(self, "rets", (self.ret,))
        elif self.ret is None and len(self.rets) == 1:
            object.__setattr__(self, "ret", self.rets[0])

    @property
    def ok(self) -> bool:
        """The request succeeded (status 0-999, warnings included), whatever the severity says."""
        return 0 <= self.status_code < 1000

    @property
    def is_warning(self) -> bool:
        """Succeeded with a warning (500-999): the Ret is there, the message is worth logging."""
        return 500 <= self.status_code < 1000

    @property
    def status_class(self) -> StatusClass:
        """:func:`classify_status` of this response."""
        return classify_status(self.status_code, self.status_message)

    @property
    def retryable(self) -> bool:
        """The same request may succeed if sent again later (status class ``"retry"``)."""
        return self.status_class == "retry"

    def raise_for_status(self) -> Response:
        """
        Raise :class:`~qbwc.exceptions.QuickBooksError` unless :attr:`ok`; return self.

        Raises:
            QuickBooksError: carrying the code, message, request ID and severity.
        """
        if not self.ok:
            raise QuickBooksError(
                self.status_code, self.status_message, self.request_id, self.status_severity
            )
        return self


def _response_tuple(items: Iterable[Response]) -> tuple[Response, ...]:
    return tuple(items)


@attrs.frozen(kw_only=True)
class ResponseSet:
    """
    A whole ``QBXMLMsgsRs``: the responses in request order, and the message-set status.

    ``message_set_id`` and ``message_set_status_code`` are only present when
    the request used error recovery (``newMessageSetID`` / ``oldMessageSetID``).
    """

    responses: tuple[Response, ...] = attrs.field(factory=tuple, converter=_response_tuple)
    message_set_id: str | None = None
    message_set_status_code: int | None = None

    def __iter__(self) -> Iterator[Response]:
        return iter(self.responses)

    def __len__(self) -> int:
        return len(self.responses)

    @property
    def ok(self) -> bool:
        """Every response succeeded (warnings included)."""
        return all(r.ok for r in self.responses)

    @property
    def error_recoveries(self) -> tuple[ErrorRecovery, ...]:
        """The :class:`ErrorRecovery` data of every response that carries some."""
        return tuple(r.error_recovery for r in self.responses if r.error_recovery is not None)

    def get(self, request_id: str) -> Response | None:
        """The response whose ``requestID`` is *request_id*, or ``None``."""
        for r in self.responses:
            if r.request_id == request_id:
                return r
        return None

    def raise_for_status(self) -> ResponseSet:
        """Raise :class:`~qbwc.exceptions.QuickBooksError` for the first failure; return self."""
        for r in self.responses:
            r.raise_for_status()
        return self


# --- scalar readers ----------------------------------------------------------
#
# Each takes the element text (None for an empty element) and the zone for
# offset-less datetimes, and raises ValueError/ArithmeticError on bad input;
# the caller adds the element path.

_INTEGER: Final = re.compile(r"[+-]?[0-9]+\Z")
_DATETIME: Final = re.compile(
    r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})"
    r"(?:T([0-9]{1,2})(?::([0-9]{1,2})(?::([0-9]{1,2})(?:([+-])([0-9]{1,2}):([0-9]{1,2}))?)?)?)?\Z"
)
_BOOLS: Final = {"true": True, "false": False, "1": True, "0": False}


def _read_int(text: str | None, tz: dt.tzinfo) -> int | None:
    if text is None:
        return None
    text = text.strip()
    if not text:
        return None
    if _INTEGER.match(text) is None:
        raise ValueError
    return int(text)


def _read_bool(text: str | None, tz: dt.tzinfo) -> bool | None:
    if text is None:
        return None
    text = text.strip()
    if not text:
        return None
    return _BOOLS[text.lower()]  # KeyError is reported like a ValueError


def _read_date(text: str | None, tz: dt.tzinfo) -> dt.date | None:
    if text is None:
        return None
    text = text.strip()
    if not text:
        return None
    if len(text) != 10:
        raise ValueError
    return dt.date.fromisoformat(text)


def _read_datetime(text: str | None, tz: dt.tzinfo) -> dt.datetime | None:
    if text is None:
        return None
    text = text.strip()
    if not text:
        return None
    if len(text) == 25:  # the shape QuickBooks sends: 2014-11-27T18:03:44-02:00
        try:
            value = dt.datetime.fromisoformat(text)
        except ValueError:
            pass
        else:
            return value if value.tzinfo is not None else value.replace(tzinfo=tz)
    # DATETIMETYPE also allows 1-digit fields and stopping after any part.
    m = _DATETIME.match(text)
    if m is None:
        raise ValueError
    year, month, day, hour, minute, second, sign, off_h, off_m = m.groups()
    zone = tz
    if sign is not None:
        offset = dt.timedelta(hours=int(off_h), minutes=int(off_m))
        zone = dt.timezone(-offset if sign == "-" else offset)
    return dt.datetime(
        int(year),
        int(month),
        int(day),
        int(hour or 0),
        int(minute or 0),
        int(second or 0),
        tzinfo=zone,
    )


def _read_duration(text: str | None, tz: dt.tzinfo) -> str | None:
    if text is None:
        return None
    text = text.strip()
    if not text:
        return None
    if duration_rule(text) is not None:
        raise ValueError
    return text


_Reader = Callable[[str | None, dt.tzinfo], Any]

_READERS: Final[dict[Kind, _Reader]] = {
    Kind.INT: _read_int,
    Kind.BOOL: _read_bool,
    Kind.DATE: _read_date,
    Kind.DATETIME: _read_datetime,
    Kind.DURATION: _read_duration,
}

_WHAT: Final = {
    Kind.AMT: "an amount (AMTTYPE)",
    Kind.PRICE: "a price (PRICETYPE)",
    Kind.QUAN: "a quantity (QUANTYPE)",
    Kind.PERCENT: "a percentage (PERCENTTYPE)",
    Kind.FLOAT: "a number (FLOATTYPE)",
    Kind.INT: "an integer (INTTYPE)",
    Kind.BOOL: "a boolean (BOOLTYPE: true or false)",
    Kind.DATE: "a date (DATETYPE: YYYY-MM-DD)",
    Kind.DATETIME: "a date and time (DATETIMETYPE: YYYY-MM-DDTHH:MM:SS+HH:MM)",
    Kind.DURATION: "a duration (TIMEINTERVALTYPE: PT8H30M)",
}

# --- per-class tables --------------------------------------------------------

_STR: Final = 0  # element text as is ("" for an empty element)
_SCALAR: Final = 1  # converted by a reader
_ONE: Final = 2  # a nested aggregate
_MANY: Final = 3  # a repeated aggregate, collected in a list
_REF: Final = 4  # a Ref: by far the most frequent aggregate, read inline
_DEC: Final = 5  # a Decimal kind, read inline
_VALUES: Final = 6  # a repeated scalar, collected in a list
_REPEATED: Final = (_MANY, _VALUES)

#: tag -> (attribute name, mode, reader or model class, kind)
_Table = dict[str, tuple[str, int, Any, Kind]]
#: class -> (its table, a constructor taking the values, whether it keeps ``unknown``)
_Plan = tuple[_Table, Callable[..., Any], bool, "dict[str, tuple[str, Any, Kind]]"]
_PLANS: dict[type, _Plan] = {}

_TEXT_KINDS: Final = frozenset({Kind.STR, Kind.ID, Kind.ENUM, Kind.GUID})


def _plan(cls: type) -> _Plan:
    try:
        return _PLANS[cls]
    except KeyError:
        pass
    table: _Table = {}
    for name, spec in specs(cls):
        if spec.attribute:
            continue
        if spec.kind is Kind.AGG:
            mode = _MANY if spec.many else _REF if spec.model == (Ref,) else _ONE
            for model in spec.model:
                # In a mixed sequence (InvoiceLineRet | InvoiceLineGroupRet)
                # each alternative is named after its model class.
                tag = tag_of(model) if len(spec.model) > 1 else spec.tag
                table[tag] = (name, mode, model, spec.kind)
        elif spec.many:
            table[spec.tag] = (name, _VALUES, _attribute_reader(spec.kind), spec.kind)
        elif spec.kind in _TEXT_KINDS:
            table[spec.tag] = (name, _STR, None, spec.kind)
        elif spec.kind in DECIMAL_KINDS:
            table[spec.tag] = (name, _DEC, None, spec.kind)
        else:
            table[spec.tag] = (name, _SCALAR, _READERS[spec.kind], spec.kind)
    # Ref and Address are shared with the requests and have no ``unknown``:
    # anything QuickBooks might add inside them is dropped (documented).
    keeps_unknown = any(f.name == "unknown" for f in attrs.fields(cls))
    plan = (table, _constructor(cls), keeps_unknown, _attributes(cls))
    _PLANS[cls] = plan
    return plan


def _constructor(cls: type) -> Callable[..., Any]:
    """
    A function building *cls* from keyword arguments, without the attrs converters.

    The readers already produce the final types (Decimal, date, str; lists
    become tuples here), so the converters of the attrs ``__init__`` would only
    re-check them: for these frozen models the function is that ``__init__``
    minus the converter calls, which saves a sixth of the parse time (see
    ``benchmarks/bench_parse.py``).  A class with validators, a post-init hook
    or other defaults than ``None`` and ``()`` is built by ``cls(**values)``.
    """
    fallback: Callable[..., Any] = cls
    fields = attrs.fields(cls)
    if (
        "__slots__" not in cls.__dict__
        or hasattr(cls, "__attrs_post_init__")
        or all(f.converter is None for f in fields)  # nothing to save
    ):
        return fallback
    params: list[str] = []
    values: dict[str, str] = {}
    for f in fields:
        if f.validator is not None or not f.init or f.alias != f.name:
            return fallback
        if isinstance(f.default, attrs.Factory):  # type: ignore[arg-type]
            if f.default.factory is not tuple or f.default.takes_self:
                return fallback
            params.append(f"{f.name}=()")
            values[f.name] = f"tuple({f.name})"
        elif f.default is None:
            params.append(f"{f.name}=None")
            values[f.name] = f.name
        else:
            return fallback
    return compile_constructor(cls, signature="*, " + ", ".join(params), values=values)


def _fragment(el: etree._Element) -> str:
    return etree.tostring(el, encoding="unicode", with_tail=False)


def _path(el: etree._Element) -> str:
    return el.getroottree().getpath(el)


def _bad_value(el: etree._Element, kind: Kind) -> QBXMLError:
    return QBXMLError(f"{_path(el)}: {el.text!r} is not {_WHAT[kind]}")


#: The fields of a Ret the service keeps in a job's summary (qbwc.service._recovery._summary_of).
_SUMMARY_FIELDS: Final = frozenset(
    {
        "list_id",
        "txn_id",
        "txn_number",
        "ref_number",
        "edit_sequence",
        "full_name",
        "total_amount",
        "subtotal",
        "sales_tax_total",
    }
)
_SUMMARY_PLANS: dict[type, _Plan] = {}


def _summary_plan(cls: type) -> _Plan:
    """:func:`_plan` of *cls* restricted to :data:`_SUMMARY_FIELDS` (nothing else is read)."""
    plan = _SUMMARY_PLANS.get(cls)
    if plan is None:
        table, construct, _, _ = _plan(cls)
        lean = {tag: entry for tag, entry in table.items() if entry[0] in _SUMMARY_FIELDS}
        plan = _SUMMARY_PLANS[cls] = (lean, construct, False, {})
    return plan


def _read(cls: type, el: etree._Element, tz: dt.tzinfo, plan: _Plan | None = None) -> Any:
    table, construct, keeps_unknown, attributes = plan or _PLANS.get(cls) or _plan(cls)
    lookup = table.get
    values: dict[str, Any] = {}
    unknown: list[str] | None = None
    # A lean plan keeps nothing it does not name: let lxml pick those children in C
    # (the same ones, in the same order) instead of wrapping every child of the Ret.
    children = el.iterchildren(*table) if plan is not None and not keeps_unknown else el
    for child in children:
        entry = lookup(child.tag)
        if entry is not None:
            name, mode, how, kind = entry
            if name not in values or mode in _REPEATED:
                if mode == _STR:
                    text = child.text
                    values[name] = "" if text is None else text
                elif mode == _DEC:
                    # Read inline: amounts are most of a Ret's scalars.  Decimal()
                    # tolerates surrounding blanks but also reads "NaN",
                    # "Infinity" and "1_000", which are not qbXML numbers.
                    text = child.text
                    if text is not None:
                        try:
                            number = Decimal(text)
                        except ArithmeticError:
                            if text.strip():
                                raise _bad_value(child, kind) from None
                            values[name] = None  # an empty element
                        else:
                            if "_" in text or not number.is_finite():
                                raise _bad_value(child, kind)
                            values[name] = number
                elif mode == _SCALAR:
                    try:
                        values[name] = how(child.text, tz)
                    except (ValueError, ArithmeticError, KeyError):
                        raise _bad_value(child, kind) from None
                elif mode == _REF:
                    list_id = full_name = None
                    for part in child:
                        tag = part.tag
                        if tag == "ListID":
                            list_id = part.text or ""
                        elif tag == "FullName":
                            full_name = part.text or ""
                    values[name] = Ref(list_id=list_id, full_name=full_name)
                elif mode == _MANY:
                    items = values.get(name)
                    if items is None:
                        values[name] = items = []
                    items.append(_read(how, child, tz))
                elif mode == _VALUES:
                    items = values.get(name)
                    if items is None:
                        values[name] = items = []
                    try:
                        items.append((child.text or "") if how is None else how(child.text, tz))
                    except (ValueError, ArithmeticError, KeyError):
                        raise _bad_value(child, kind) from None
                else:
                    values[name] = _read(how, child, tz)
                continue
            # A repeated single element: keep the first, the rest as unknown.
        elif not isinstance(child.tag, str):
            continue  # a processing instruction
        if not keeps_unknown:
            continue
        if unknown is None:
            unknown = []
        unknown.append(_fragment(child))
    if unknown is not None and keeps_unknown:
        values["unknown"] = unknown
    if attributes:
        for tag, (name, how, kind) in attributes.items():
            text = el.get(tag)
            if text is not None:
                try:
                    values[name] = text if how is None else how(text, tz)
                except (ValueError, ArithmeticError, KeyError):
                    raise _bad_value(el, kind) from None
    return construct(**values)


_ATTRIBUTES: dict[type, dict[str, tuple[str, Any, Kind]]] = {}


def _read_decimal(text: str | None, tz: dt.tzinfo) -> Decimal | None:
    if text is None or not text.strip():
        return None
    number = Decimal(text)
    if "_" in text or not number.is_finite():
        raise ValueError(text)
    return number


def _attribute_reader(kind: Kind) -> _Reader | None:
    if kind in _TEXT_KINDS:
        return None
    return _read_decimal if kind in DECIMAL_KINDS else _READERS[kind]


def _attributes(cls: type) -> dict[str, tuple[str, Any, Kind]]:
    """The XML attributes of *cls*: tag -> (field, reader or None for text, kind)."""
    table = _ATTRIBUTES.get(cls)
    if table is None:
        table = _ATTRIBUTES[cls] = {
            spec.tag: (name, _attribute_reader(spec.kind), spec.kind)
            for name, spec in specs(cls)
            if spec.attribute
        }
    return table


def _status_code(rs: etree._Element, attribute: str, *, required: bool) -> int | None:
    text = rs.get(attribute)
    if text == "0":  # by far the most frequent
        return 0
    if text is None:
        if required:
            msg = f"{_path(rs)}: the {attribute} attribute is missing"
            raise QBXMLError(msg)
        return None
    text = text.strip()
    if _INTEGER.match(text) is None:
        msg = f"{_path(rs)}/@{attribute}: {text!r} is not an integer"
        raise QBXMLError(msg)
    return int(text)


def _read_response(rs: etree._Element, tz: dt.tzinfo, *, summary: bool = False) -> Response:
    """
    One ``*Rs`` element; with *summary*, only what the service keeps of it.

    A summary reads the status, the :data:`_SUMMARY_FIELDS` of the Ret and the
    ErrorRecovery, and nothing else: no ``unknown``, no ``raw``, and a bad
    value in a field it does not read is not an error.
    """
    name = str(rs.tag)
    code = _status_code(rs, "statusCode", required=True)
    assert code is not None
    fields: dict[str, Any] = {
        "name": name,
        "request_id": rs.get("requestID"),
        "status_code": code,
        "status_severity": _severity(rs.get("statusSeverity"), code),
        "status_message": rs.get("statusMessage") or "",
    }
    for attribute, key in _QUERY_ATTRIBUTES:
        if (text := rs.get(attribute)) is not None:
            is_id = key == "iterator_id"
            fields[key] = text if is_id else _status_code(rs, attribute, required=True)
    typed = RET_MODELS.get(name)
    if typed is None:
        generated = _ret_tags(name)
        if generated is None:
            fields["raw"] = _fragment(rs)
            return _response(fields)
        if summary:
            return _summary_rets(rs, generated, fields, tz)
        return _read_rets(rs, generated, fields, tz)
    ret_tag, ret_model = typed
    plan = _summary_plan(ret_model) if summary else None
    read = None if summary else _compiled(ret_model)
    unknown: list[str] = []
    for child in rs:
        tag = child.tag
        if tag == ret_tag and "ret" not in fields:
            fields["ret"] = _read(ret_model, child, tz, plan) if read is None else read(child, tz)
        elif tag == "ErrorRecovery" and "error_recovery" not in fields:
            fields["error_recovery"] = _read(ErrorRecovery, child, tz)
        elif isinstance(tag, str) and not summary:
            unknown.append(_fragment(child))
    if unknown:
        fields["unknown"] = unknown
    return _response(fields)


def _response(fields: dict[str, Any]) -> Response:
    """
    ``Response(**fields)`` from what the reader made, without the attrs converters.

    ``unknown`` and ``rets`` become tuples, and ``ret``/``rets`` are completed as
    ``Response.__attrs_post_init__`` does.
    """
    global _NEW_RESPONSE  # noqa: PLW0603 - compiled on first use
    if _NEW_RESPONSE is None:
        values = {f.name: f.name for f in attrs.fields(Response)}
        values["unknown"] = "tuple(unknown)"
        values["rets"] = "tuple(rets)"
        signature = ", ".join(
            f.name
            if f.default is attrs.NOTHING
            else f"{f.name}=()"
            if isinstance(f.default, attrs.Factory)  # type: ignore[arg-type]
            else f"{f.name}={f.default!r}"
            for f in attrs.fields(Response)
        )
        _NEW_RESPONSE = compile_constructor(Response, signature="*, " + signature, values=values)
    rets = fields.get("rets")
    ret = fields.get("ret")
    if not rets:
        if ret is not None:
            fields["rets"] = (ret,)
    elif ret is None and len(rets) == 1:
        fields["ret"] = rets[0]
    response: Response = _NEW_RESPONSE(**fields)
    return response


_NEW_RESPONSE: Callable[..., Any] | None = None


def _compiled(cls: type) -> Callable[[etree._Element, dt.tzinfo], Any]:
    """The compiled twin of :func:`_read` for *cls* (qbwc.qbxml._parse_direct)."""
    found = _COMPILED.get(cls)
    if found is None:
        from qbwc.qbxml._parse_direct import reader  # noqa: PLC0415 - it reads this module

        found = _COMPILED[cls] = reader(cls)
    return found


_COMPILED: dict[type, Callable[[etree._Element, dt.tzinfo], Any]] = {}
_ENVELOPES: dict[str, Callable[[etree._Element, dt.tzinfo], Response]] = {}


def _envelope(name: str) -> Callable[[etree._Element, dt.tzinfo], Response] | None:
    """The compiled twin of :func:`_read_response` for a typed response *name*, or None."""
    from qbwc.qbxml._parse_direct import response_reader  # noqa: PLC0415 - it reads this module

    found = response_reader(name)
    if found is not None:
        _ENVELOPES[name] = found
    return found
_QUERY_ATTRIBUTES: Final = (
    ("retCount", "ret_count"),
    ("iteratorRemainingCount", "iterator_remaining_count"),
    ("iteratorID", "iterator_id"),
)
_RET_TAGS: dict[str, dict[str, type]] = {}


def _ret_tags(name: str) -> dict[str, type] | None:
    """Element name -> Ret model of the generated response *name* (families load here)."""
    tags = _RET_TAGS.get(name)
    if tags is None:
        tables = vocabulary()
        names = tables.RESPONSES.get(name)
        if not names:
            return None
        models = [tables.model(n) for n in names]
        tags = _RET_TAGS[name] = {_INLINE if is_inline(m) else tag_of(m): m for m in models}
    return tags


#: The key of :func:`_ret_tags` for a Ret without an element of its own (ListDelRet).
_INLINE: Final = ""
_INLINE_TAGS: dict[type, frozenset[str]] = {}


def _read_inline(
    rs: etree._Element, model: type, fields: dict[str, Any], tz: dt.tzinfo, *, summary: bool
) -> Response:
    """
    A response whose Ret is the ``…Rs`` itself (ListDelRs, TxnDelRs, TxnVoidRs,
    ListMergeRs): the Rs's children but an ErrorRecovery are the Ret's fields, or its
    ``unknown``.  An Rs without any of the Ret's fields (an error status) has no Ret;
    elements it does not know are then the response's ``unknown``.
    """
    known = _INLINE_TAGS.get(model)
    if known is None:
        known = _INLINE_TAGS[model] = frozenset(spec.tag for _, spec in specs(model))
    recovery = None
    own = False
    for child in rs:
        if child.tag == "ErrorRecovery" and recovery is None:
            recovery = child
        elif child.tag in known:
            own = True
    if recovery is not None:
        fields["error_recovery"] = _read(ErrorRecovery, recovery, tz)
    if not own and not summary:
        others = [_fragment(c) for c in rs if isinstance(c.tag, str) and c is not recovery]
        if others:
            fields["unknown"] = others
    if own:
        if summary:
            fields["ret"] = _read(model, rs, tz, _summary_plan(model))
        else:
            ret = _compiled(model)(rs, tz)
            if recovery is not None:
                # The ErrorRecovery is the response's, not one of the Ret's unknowns.
                unknown = list(ret.unknown)
                unknown.remove(_fragment(recovery))
                ret = attrs.evolve(ret, unknown=unknown)
            fields["ret"] = ret
    return _response(fields)


def _read_rets(
    rs: etree._Element, tags: dict[str, type], fields: dict[str, Any], tz: dt.tzinfo
) -> Response:
    inline = tags.get(_INLINE)
    if inline is not None:
        return _read_inline(rs, inline, fields, tz, summary=False)
    rets: list[Any] = []
    unknown: list[str] = []
    for child in rs:
        tag = child.tag
        model = tags.get(tag)
        if model is not None:
            rets.append(_compiled(model)(child, tz))
        elif tag == "ErrorRecovery" and "error_recovery" not in fields:
            fields["error_recovery"] = _read(ErrorRecovery, child, tz)
        elif isinstance(tag, str):
            unknown.append(_fragment(child))
    if unknown:
        fields["unknown"] = unknown
    fields["rets"] = rets
    return _response(fields)


def _summary_rets(
    rs: etree._Element, tags: dict[str, type], fields: dict[str, Any], tz: dt.tzinfo
) -> Response:
    """
    What the service keeps of a generated response: the summary fields of its Ret; of
    a query's answer, its XML text (``raw``) and how many Rets it holds (``ret_count``).
    """
    inline = tags.get(_INLINE)
    if inline is not None:
        return _read_inline(rs, inline, fields, tz, summary=True)
    query = str(rs.tag).endswith("QueryRs")
    rets: list[Any] = []
    count = 0
    for child in rs:
        tag = child.tag
        model = tags.get(tag)
        if model is not None:
            if query:
                count += 1
            else:
                rets.append(_read(model, child, tz, _summary_plan(model)))
        elif tag == "ErrorRecovery" and "error_recovery" not in fields:
            fields["error_recovery"] = _read(ErrorRecovery, child, tz)
    if query:
        fields["raw"] = _fragment(rs)
        if fields.get("ret_count") is None:
            fields["ret_count"] = count
    return Response(rets=rets, **fields)


def parse_response(data: bytes | str, *, assume_tz: dt.tzinfo = dt.UTC) -> ResponseSet:
    """
    Parse a qbXML response document (what ``receiveResponseXML`` carries).

    Every response of qbXML 16.0 that QuickBooks Desktop sends gets typed Rets
    (``rets``, and ``ret`` when there is one); a response qbwc does not know
    keeps its status and its XML text in ``raw``.  QuickBooks writes
    datetimes with an offset; one without is wall-clock time on the QuickBooks
    computer, read in *assume_tz* (UTC unless you know that computer's zone).

    Raises:
        XMLParseError: the document is not well-formed (or too large, or has a DTD,
            or more markup than its size allows: ``XMLLimitError``, docs/protocol.md).
        QBXMLError: it is not a qbXML response, a status code is missing, or a
            value cannot be converted; the message names the element's path.
    """
    return _parse_response(data, assume_tz, False)


def _parse_response(data: bytes | str, tz: dt.tzinfo, summary: bool) -> ResponseSet:
    root = parse_untrusted(
        data, max_bytes=MAX_RESPONSE_BYTES, what="qbXML response", limits=qbxml_limits(len(data))
    )
    if root.tag != "QBXML":
        msg = f"qbXML response: the root element is <{root.tag}>, expected <QBXML>"
        raise QBXMLError(msg)
    # (Plain iteration: ``find`` goes through ElementPath, which costs more here; and
    # the first child, where QuickBooks writes it, is looked at without an iterator.)
    msgs: etree._Element | None = root[0] if len(root) else None
    if msgs is None or msgs.tag != "QBXMLMsgsRs":
        msgs = None
        for child in root:
            if child.tag == "QBXMLMsgsRs":
                msgs = child
                break
    if msgs is None:
        if root.find("QBXMLMsgsRq") is not None:
            msg = "qbXML response: this is a request (QBXMLMsgsRq), not a response"
        else:
            msg = "qbXML response: no <QBXMLMsgsRs> element"
        raise QBXMLError(msg)
    responses = []
    for rs in msgs:
        tag = rs.tag
        if isinstance(tag, str):
            # A typed response is read by its compiled twin (qbwc.qbxml._parse_direct).
            read = None if summary else _ENVELOPES.get(tag) or _envelope(tag)
            if read is None:
                responses.append(_read_response(rs, tz, summary=summary))
            else:
                responses.append(read(rs, tz))
    if msgs.attrib:  # (only with error recovery: one look when there is none)
        set_id = msgs.get("newMessageSetID")
        set_code = _status_code(msgs, "messageSetStatusCode", required=False)
    else:
        set_id = set_code = None
    global _NEW_SET  # noqa: PLW0603 - compiled on first use
    if _NEW_SET is None:
        # ResponseSet(...) without its converter: the list becomes a tuple here.
        _NEW_SET = compile_constructor(
            ResponseSet,
            signature="responses, message_set_id, message_set_status_code",
            values={
                "responses": "tuple(responses)",
                "message_set_id": "message_set_id",
                "message_set_status_code": "message_set_status_code",
            },
        )
    response_set: ResponseSet = _NEW_SET(responses, set_id, set_code)
    return response_set


_NEW_SET: Callable[..., Any] | None = None


def parse_response_summary(data: bytes | str) -> ResponseSet:
    """
    :func:`parse_response`, reading only what the service keeps of each response.

    The same document checks, message-set attributes and statuses, and the same
    errors for them; each typed ``ret`` holds only :data:`_SUMMARY_FIELDS` (the
    rest ``None``), ``error_recovery`` is read in full, and ``unknown`` stays
    empty.  A query's answer has no ``rets`` but its XML text in ``raw`` and
    the number of its Rets in ``ret_count``; a response without typed Rets
    keeps ``raw`` as :func:`parse_response` does.  A value
    that cannot be converted in a field it does not read is not an error: the
    job records what QuickBooks said about it.
    """
    return _parse_response(data, dt.UTC, True)
