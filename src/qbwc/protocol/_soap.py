"""
The SOAP 1.1 codec for exactly what the Web Connector sends and expects, and our WSDL.

Server side: :func:`decode_call` (request body → call), :func:`encode_reply` (reply →
response body), :func:`encode_fault`.  Client side, for the Web Connector double and
round-trip tests: :func:`encode_call` and :func:`decode_reply`.

The wire format is document/literal *wrapped* in the ``http://developer.intuit.com/``
namespace ([PG] p28, p41): the request element is the operation, the response element
is ``<operation>Response`` with one ``<operation>Result`` child.  qbXML travels as
escaped text inside those elements, never as nested XML ([PG] p41, p61).

Readers and writers are tables keyed by operation name and by reply type (h11's
READERS/WRITERS).  Everything from the network is parsed by
:func:`qbwc._xml.parse_untrusted`; whatever is wrong with a body, :func:`decode_call`
raises :exc:`~qbwc.RemoteProtocolError` and nothing else.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final, assert_never

import attrs
from lxml import etree

from qbwc._budget import ENVELOPE_LIMITS
from qbwc._resources import schema_path
from qbwc._xml import (
    DEFAULT_MAX_BYTES,
    INTUIT_NS,
    NOT_XML_CHAR,
    SOAP11_ENV_NS,
    SOAP12_ENV_NS,
    XSI_NS,
    escape_text,
    parse_untrusted,
)
from qbwc.exceptions import (
    ConfigurationError,
    LocalProtocolError,
    RemoteProtocolError,
    XMLParseError,
)
from qbwc.protocol._events import (
    INT_MAX,
    INT_MIN,
    AnyCall,
    AnyReply,
    AuthenticateCall,
    Authenticated,
    Busy,
    Call,
    ClientVersionCall,
    ClientVersionErrorReply,
    ClientVersionOK,
    ClientVersionUpgrade,
    ClientVersionWarning,
    CloseConnectionCall,
    ConnectionErrorCall,
    Done,
    Failed,
    GetInteractiveURLCall,
    GetLastErrorCall,
    GiveUp,
    Goodbye,
    InteractiveDoneCall,
    InteractiveDoneReply,
    InteractiveMode,
    InteractiveRejectedCall,
    InteractiveRejectedReply,
    InteractiveURL,
    InvalidUserReply,
    LastErrorReply,
    NoOp,
    NoRequest,
    NoWork,
    PauseRequest,
    Progress,
    ReceiveResponseXMLCall,
    RequestXML,
    SendRequestXMLCall,
    ServerVersion,
    ServerVersionCall,
    TryCompanyFile,
)

__all__ = [
    "OPERATIONS",
    "SOAP_ACTION",
    "decode_call",
    "decode_reply",
    "encode_call",
    "encode_fault",
    "encode_reply",
    "wsdl",
]

#: The 11 Web Connector operations, in WSDL order.
OPERATIONS: Final[tuple[str, ...]] = (
    "serverVersion",
    "clientVersion",
    "authenticate",
    "sendRequestXML",
    "receiveResponseXML",
    "connectionError",
    "getLastError",
    "closeConnection",
    "getInteractiveURL",
    "interactiveDone",
    "interactiveRejected",
)

#: The SOAPAction HTTP header value of each operation ([PG] p28–29).
SOAP_ACTION: Final[Mapping[str, str]] = MappingProxyType(
    {op: f"{INTUIT_NS}{op}" for op in OPERATIONS}
)

XSD_NS: Final = "http://www.w3.org/2001/XMLSchema"
WSDL_NS: Final = "http://schemas.xmlsoap.org/wsdl/"
WSDL_SOAP_NS: Final = "http://schemas.xmlsoap.org/wsdl/soap/"

# Nothing may precede the declaration (QBWC1042 otherwise: docs/protocol.md, "The envelope").
_DECLARATION: Final = b'<?xml version="1.0" encoding="utf-8"?>'
_ENV: Final = f"{{{SOAP11_ENV_NS}}}Envelope"
_BODY: Final = f"{{{SOAP11_ENV_NS}}}Body"
_HEADER: Final = f"{{{SOAP11_ENV_NS}}}Header"
_FAULT: Final = f"{{{SOAP11_ENV_NS}}}Fault"
_MUST_UNDERSTAND: Final = f"{{{SOAP11_ENV_NS}}}mustUnderstand"
_NIL: Final = f"{{{XSI_NS}}}nil"
# The prefixes the Web Connector and .NET services use.
_ENV_NSMAP: Final = {"soap": SOAP11_ENV_NS, "xsi": XSI_NS, "xsd": XSD_NS}
_INTUIT_NSMAP: Final = {None: INTUIT_NS}

_INT_TEXT = re.compile(r"\s*([+-]?[0-9]{1,11})\s*\Z")


def _split(tag: str) -> tuple[str | None, str]:
    if tag[:1] == "{":
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return None, tag


def _show(text: str | None, limit: int = 60) -> str:
    """*text* quoted for an error message: control characters escaped, length capped."""
    if text is None:
        return "None"
    return repr(text if len(text) <= limit else text[:limit] + "…")


def _remote(message: str, fault_code: str | None = None) -> RemoteProtocolError:
    exc = RemoteProtocolError(message)
    if fault_code is not None:
        exc.fault_code = fault_code
    return exc


# --- parameters of each operation (the READERS table) --------------------------


@attrs.frozen
class _Param:
    wire: str  # the WSDL name, used when encoding
    field: str  # the attribute of the call class
    is_int: bool = False
    required: bool = False
    aliases: tuple[str, ...] = ()


@attrs.frozen
class _Reader:
    call_type: type[Call]
    params: tuple[_Param, ...]
    # Case-folded wire names and aliases → parameter.
    lookup: Mapping[str, _Param]
    # serverVersion: accept whatever children come (strVersion, ticket, nothing).
    any_children: bool = False
    # The tags as the Web Connector writes them ({INTUIT_NS}wire, or no namespace)
    # → parameter: one dict lookup for the usual case; others go through *lookup*.
    exact: Mapping[str, _Param] = MappingProxyType({})


def _reader(call_type: type[Call], *params: _Param, any_children: bool = False) -> _Reader:
    lookup = {name.casefold(): p for p in params for name in (p.wire, *p.aliases)}
    exact = {
        tag: p
        for p in params
        for name in (p.wire, *p.aliases)
        for tag in (f"{{{INTUIT_NS}}}{name}", name)
    }
    return _Reader(
        call_type,
        params,
        MappingProxyType(lookup),
        any_children,
        MappingProxyType(exact),
    )


_TICKET = _Param("ticket", "ticket", required=True)
# The interactive operations name it wcTicket ([PG] p71, p75, p76).
_WC_TICKET = _Param("wcTicket", "ticket", required=True, aliases=("ticket",))

# Required: what identifies the call, and the WSDL's minOccurs=1 ints.  The other
# strings are minOccurs=0 in every WSDL (.NET omits a null string), so an absent
# element reads as "".
_READERS: Final[Mapping[str, _Reader]] = MappingProxyType(
    {
        "serverVersion": _reader(ServerVersionCall, any_children=True),
        "clientVersion": _reader(ClientVersionCall, _Param("strVersion", "version")),
        "authenticate": _reader(
            AuthenticateCall,
            _Param("strUserName", "username", required=True),
            _Param("strPassword", "password", required=True),
        ),
        "sendRequestXML": _reader(
            SendRequestXMLCall,
            _TICKET,
            _Param("strHCPResponse", "hcp_response"),
            _Param("strCompanyFileName", "company_file_name"),
            _Param("qbXMLCountry", "country"),
            _Param("qbXMLMajorVers", "major_version", is_int=True, required=True),
            _Param("qbXMLMinorVers", "minor_version", is_int=True, required=True),
        ),
        "receiveResponseXML": _reader(
            ReceiveResponseXMLCall,
            _TICKET,
            _Param("response", "response"),
            _Param("hresult", "hresult"),
            _Param("message", "message"),
        ),
        "connectionError": _reader(
            ConnectionErrorCall,
            _TICKET,
            _Param("hresult", "hresult"),
            _Param("message", "message"),
        ),
        "getLastError": _reader(GetLastErrorCall, _TICKET),
        "closeConnection": _reader(CloseConnectionCall, _TICKET),
        "getInteractiveURL": _reader(
            GetInteractiveURLCall, _WC_TICKET, _Param("sessionID", "session_id")
        ),
        "interactiveDone": _reader(InteractiveDoneCall, _WC_TICKET),
        "interactiveRejected": _reader(
            InteractiveRejectedCall, _WC_TICKET, _Param("reason", "reason")
        ),
    }
)
_READER_BY_TYPE: Final[Mapping[type[Call], _Reader]] = MappingProxyType(
    {r.call_type: r for r in _READERS.values()}
)


# --- decoding -----------------------------------------------------------------


def _payload(body: bytes | str, max_bytes: int, what: str) -> etree._Element:
    """The one element inside a SOAP 1.1 Body (or its Fault)."""
    try:
        root = parse_untrusted(body, max_bytes=max_bytes, what=what, limits=ENVELOPE_LIMITS)
    except XMLParseError as exc:
        raise _remote(str(exc)) from exc
    if root.tag != _ENV:
        ns, local = _split(root.tag)
        if local != "Envelope":
            msg = f"{what}: the root element is <{_show(local)[1:-1]}>, not a SOAP Envelope"
            raise _remote(msg)
        found = "a SOAP 1.2 envelope" if ns == SOAP12_ENV_NS else f"envelope namespace {_show(ns)}"
        msg = f"{what}: {found} is not supported; the Web Connector speaks SOAP 1.1"
        raise _remote(msg, "soap:VersionMismatch")
    body_el: etree._Element | None = None
    for child in root:
        tag = child.tag
        if tag == _HEADER:
            for entry in child:
                if entry.get(_MUST_UNDERSTAND, "0").strip() in {"1", "true"}:
                    name = _split(entry.tag)[1] if isinstance(entry.tag, str) else "?"
                    msg = f"{what}: header <{_show(name)[1:-1]}> must be understood, and is not"
                    raise _remote(msg, "soap:MustUnderstand")
        elif tag == _BODY:
            if body_el is not None:
                msg = f"{what}: the Envelope has two Body elements"
                raise _remote(msg)
            body_el = child
    if body_el is None:
        msg = f"{what}: the Envelope has no SOAP 1.1 Body"
        raise _remote(msg)
    if len(body_el) == 1 and isinstance(body_el[0].tag, str):  # the usual Body
        return body_el[0]
    elements = [c for c in body_el if isinstance(c.tag, str)]
    if len(elements) != 1:
        msg = f"{what}: the Body holds {len(elements)} elements, expected exactly one"
        raise _remote(msg)
    return elements[0]


def _text_of(element: etree._Element, where: str) -> str | None:
    """The text of a parameter element; None when it is xsi:nil."""
    if element.get(_NIL, "").strip() in {"true", "1"}:
        return None
    if len(element):
        child = element[0]
        kind = f"element <{_split(child.tag)[1]}>" if isinstance(child.tag, str) else "markup"
        msg = (
            f"{where}: expected text, found {_show(kind)[1:-1]} "
            "(qbXML must travel as escaped text, not as nested XML)"
        )
        raise _remote(msg)
    return element.text or ""


def _check_no_text(text: str | None, where: str) -> None:
    if text and text.strip():
        msg = f"{where}: unexpected text {_show(text.strip())}"
        raise _remote(msg)


def _int_of(text: str, where: str) -> int:
    match = _INT_TEXT.match(text)
    if match is None:
        msg = f"{where}: {_show(text)} is not an integer"
        raise _remote(msg)
    value = int(match.group(1))
    if not INT_MIN <= value <= INT_MAX:
        msg = f"{where}: {value} is out of range for xsd:int"
        raise _remote(msg)
    return value


def _param_of(reader: _Reader, local: str, tag: object) -> _Param:
    """The parameter a child element of *local* names, in any case; or RemoteProtocolError."""
    if not isinstance(tag, str):
        msg = f"{local}: unexpected markup inside the operation element"
        raise _remote(msg)
    cns, clocal = _split(tag)
    param = reader.lookup.get(clocal.casefold())
    if param is None or cns not in (INTUIT_NS, None):
        shown = clocal if cns in (INTUIT_NS, None) else tag
        msg = f"{local}: unexpected parameter {_show(shown)}"
        raise _remote(msg)
    return param


def decode_call(body: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> AnyCall:
    """
    Decode one SOAP 1.1 request body from the Web Connector.

    Tolerates what real Web Connectors and toolkits send: parameter names in any
    case (``strCompanyFilename``), parameters with no namespace, empty or absent
    optional strings, integers with surrounding spaces, ``serverVersion`` with or
    without children, ``ticket`` for ``wcTicket``.

    Raises:
        RemoteProtocolError: the body is malformed, larger than *max_bytes*, has a DTD,
            has more elements, attributes or namespace declarations than a call
            needs (``qbwc._budget.ENVELOPE_LIMITS``, checked before parsing), is
            SOAP 1.2 (``fault_code`` ``soap:VersionMismatch``), names an unknown
            operation or namespace, lacks a required parameter or has a bad one.
            Nothing else.
    """
    op_el = _payload(body, max_bytes, "SOAP request")
    ns, local = _split(op_el.tag)
    reader = _READERS.get(local)
    if reader is None:
        msg = f"unknown operation {_show(local)} (expected one of: {', '.join(OPERATIONS)})"
        raise _remote(msg)
    if ns != INTUIT_NS:
        msg = f"{local}: namespace {_show(ns)}, expected {INTUIT_NS!r}"
        raise _remote(msg)
    values: dict[str, str | int | None] = {}
    if not reader.any_children:
        _check_no_text(op_el.text, local)
        exact = reader.exact
        for child in op_el:
            tag = child.tag
            param = exact.get(tag)  # None for a processing instruction (a function tag)
            if param is None:
                param = _param_of(reader, local, tag)
            if param.field in values:
                msg = f"{local}.{param.wire}: given twice"
                raise _remote(msg)
            tail = child.tail
            if tail is not None:
                _check_no_text(tail, local)
            if len(child) or (child.attrib and child.get(_NIL) is not None):
                text = _text_of(child, f"{local}.{param.wire}")
            else:  # what _text_of answers for an element with text only
                text = child.text or ""
            if param.is_int and text is not None:
                values[param.field] = _int_of(text, f"{local}.{param.wire}")
            else:
                values[param.field] = text
    if len(values) == len(reader.params) and None not in values.values():
        # Every parameter given, none nil (the Web Connector's calls): as they are.
        kwargs: dict[str, Any] = values
    else:
        kwargs = {}
        for param in reader.params:
            value = values.get(param.field)
            if value is None:
                if param.required:
                    state = "is nil" if param.field in values else "is missing"
                    msg = f"{local}.{param.wire}: {state} (required)"
                    raise _remote(msg)
                value = ""
            kwargs[param.field] = value
    try:
        call: AnyCall = reader.call_type(**kwargs)  # type: ignore[assignment]
    except LocalProtocolError as exc:  # e.g. a negative qbXML version
        raise _remote(f"{local}: {exc}") from exc
    return call


def decode_reply(
    operation: str, body: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES
) -> AnyReply | str:
    """
    Decode the service's response to *operation* (the Web Connector's side).

    Returns the reply the Web Connector would read, using its own rules:

    ============================  ==================================================
    operation                     result text → reply
    ============================  ==================================================
    serverVersion                 any → ``ServerVersion``
    clientVersion                 ``""`` → ``ClientVersionOK``; ``W:``/``E:``/``O:``
                                  → ``ClientVersionWarning``/``Error``/``Upgrade``;
                                  anything else → the text itself (QBWC1046)
    authenticate                  slot 1 ``none``/``nvu``/``busy`` (any case) →
                                  ``NoWork``/``InvalidUserReply``/``Busy``; else
                                  ``Authenticated``
    sendRequestXML                ``""`` → ``NoRequest``; ``NoOp`` → ``PauseRequest``;
                                  else ``RequestXML``
    receiveResponseXML            0–99 → ``Progress``; 100 → ``Done``; negative →
                                  ``Failed``; above 100 → the text itself
    getLastError                  ``NoOp`` → ``NoOp``; ``Interactive mode`` →
                                  ``InteractiveMode``; else ``LastErrorReply``
    connectionError               ``done`` (any case) → ``GiveUp``; else
                                  ``TryCompanyFile``
    closeConnection, interactive  the matching text reply
    ============================  ==================================================

    Raises:
        ValueError: *operation* is not one of :data:`OPERATIONS`.
        RemoteProtocolError: the body is malformed, is a SOAP fault (its
            ``fault_code`` is the fault's), or is not this operation's response.
    """
    if operation not in _READERS:
        msg = f"unknown operation {operation!r}"
        raise ValueError(msg)
    payload = _payload(body, max_bytes, f"{operation} response")
    if payload.tag == _FAULT:
        code = (payload.findtext("faultcode") or "").strip()
        text = payload.findtext("faultstring") or ""
        raise _remote(f"SOAP fault {code}: {text}", code or None)
    ns, local = _split(payload.tag)
    if ns != INTUIT_NS or local != f"{operation}Response":
        msg = f"expected <{operation}Response> in {INTUIT_NS!r}, got {_show(payload.tag)}"
        raise _remote(msg)
    result_tag = f"{operation}Result"
    result = next(
        (c for c in payload if isinstance(c.tag, str) and _split(c.tag)[1] == result_tag), None
    )
    where = f"{operation}.{result_tag}"
    if operation == "authenticate":
        strings = [] if result is None else [_text_of(c, where) or "" for c in result]
        return _authenticate_reply(strings, where)
    text = "" if result is None else (_text_of(result, where) or "")
    return _text_reply(operation, text, where)


def _seconds(text: str, where: str) -> int | None:
    if not text.strip():
        return None
    value = _int_of(text, where)
    if value < 0:
        msg = f"{where}: {value} seconds is negative"
        raise _remote(msg)
    return value


def _authenticate_reply(strings: list[str], where: str) -> AnyReply:
    if not 2 <= len(strings) <= 4:
        msg = f"{where}: {len(strings)} strings, expected 2 to 4"
        raise _remote(msg)
    ticket, status, *rest = strings
    postpone = _seconds(rest[0], f"{where}[2]") if rest else None
    min_run = _seconds(rest[1], f"{where}[3]") if len(rest) > 1 else None
    folded = status.casefold()
    try:
        if folded == "nvu":
            return InvalidUserReply(reference=ticket)
        if folded == "none":
            return NoWork(ticket=ticket, postpone_seconds=postpone, min_run_every_seconds=min_run)
        if folded == "busy":
            return Busy(ticket=ticket, postpone_seconds=postpone)
        return Authenticated(
            ticket=ticket,
            company_file=status,
            postpone_seconds=postpone,
            min_run_every_seconds=min_run,
        )
    except LocalProtocolError as exc:
        raise _remote(f"{where}: {exc}") from exc


def _text_reply(operation: str, text: str, where: str) -> AnyReply | str:
    folded = text.casefold()
    if operation == "serverVersion":
        return ServerVersion(version=text)
    if operation == "clientVersion":
        if not text:
            return ClientVersionOK()
        prefix, rest = text[:2], text[2:]
        if prefix == "W:":
            return ClientVersionWarning(message=rest)
        if prefix == "E:":
            return ClientVersionErrorReply(message=rest)
        if prefix == "O:":
            return ClientVersionUpgrade(version=rest)
        return text
    if operation == "sendRequestXML":
        if not text:
            return NoRequest()
        if folded == "noop":
            return PauseRequest()
        return RequestXML(qbxml=text)
    if operation == "receiveResponseXML":
        value = _int_of(text, where)
        if value < 0:
            return Failed(code=value)
        if value < 100:
            return Progress(percent=value)
        return Done() if value == 100 else text
    if operation == "getLastError":
        if folded == "noop":
            return NoOp()
        if folded == "interactive mode":
            return InteractiveMode()
        return LastErrorReply(message=text)
    if operation == "connectionError":
        return GiveUp() if folded == "done" else TryCompanyFile(path=text)
    if operation == "closeConnection":
        return Goodbye(message=text)
    if operation == "getInteractiveURL":
        return InteractiveURL(url=text)
    if operation == "interactiveDone":
        return InteractiveDoneReply(message=text)
    assert operation == "interactiveRejected", operation
    return InteractiveRejectedReply(message=text)


# --- encoding -----------------------------------------------------------------


def _envelope(operation_tag: str) -> tuple[etree._Element, etree._Element]:
    envelope = etree.Element(_ENV, nsmap=_ENV_NSMAP)
    body = etree.SubElement(envelope, _BODY)
    element = etree.SubElement(body, f"{{{INTUIT_NS}}}{operation_tag}", nsmap=_INTUIT_NSMAP)  # type: ignore[arg-type]
    return envelope, element


def _serialize(envelope: etree._Element) -> bytes:
    return _DECLARATION + etree.tostring(envelope, encoding="utf-8", xml_declaration=False)


def encode_call(call: AnyCall) -> bytes:
    """The SOAP request body the Web Connector would send for *call*."""
    reader = _READER_BY_TYPE[type(call)]
    envelope, element = _envelope(call.operation)
    for param in reader.params:
        value = getattr(call, param.field)
        child = etree.SubElement(element, f"{{{INTUIT_NS}}}{param.wire}")
        text = str(value)
        if text:  # the Web Connector writes an empty string as <strHCPResponse />
            child.text = text
    return _serialize(envelope)


def _seconds_slots(postpone: int | None, min_run: int | None) -> list[str]:
    # [2] postpone, [3] minimum run interval ([PG] p62–63).  When only [3] is wanted,
    # [2] is sent empty (how QBWC reads it is not documented; docs/protocol.md,
    # "What each answer means").
    if min_run is not None:
        return ["" if postpone is None else str(postpone), str(min_run)]
    return [] if postpone is None else [str(postpone)]


def _result(reply: AnyReply) -> str | list[str]:
    """The value of ``<operation>Result``: text, or the authenticate strings."""
    match reply:
        case ServerVersion(version=version):
            return version
        case ClientVersionOK():
            return ""
        case ClientVersionWarning(message=message):
            return f"W:{message}"
        case ClientVersionErrorReply(message=message):
            return f"E:{message}"
        case ClientVersionUpgrade(version=version):
            return f"O:{version}"
        case Authenticated():
            return [
                reply.ticket,
                reply.company_file,
                *_seconds_slots(reply.postpone_seconds, reply.min_run_every_seconds),
            ]
        case NoWork():
            slots = _seconds_slots(reply.postpone_seconds, reply.min_run_every_seconds)
            return [reply.ticket, "none", *slots]
        case InvalidUserReply(reference=reference):
            return [reference, "nvu"]
        case Busy():
            return [reply.ticket, "busy", *_seconds_slots(reply.postpone_seconds, None)]
        case RequestXML(qbxml=qbxml):
            return qbxml
        case NoRequest():
            return ""
        case PauseRequest():
            return "NoOp"
        case Progress(percent=percent):
            return str(percent)
        case Done():
            return "100"
        case Failed(code=code):
            return str(code)
        case LastErrorReply(message=message):
            return message
        case NoOp():
            return "NoOp"
        case InteractiveMode():
            return "Interactive mode"
        case TryCompanyFile(path=path):
            return path
        case GiveUp():
            return "done"
        case Goodbye(message=message):
            return message
        case InteractiveURL(url=url):
            return url
        case InteractiveDoneReply(message=message):
            return message
        case InteractiveRejectedReply(message=message):
            return message
        case _:  # pragma: no cover - mypy proves this unreachable
            assert_never(reply)


# encode_reply writes these frames around the escaped result text: byte for byte
# what _encode_reply_tree (the lxml reference) serializes; a property test holds
# the two to equality for every reply type.
_ENVELOPE_OPEN: Final = (
    f'<soap:Envelope xmlns:soap="{SOAP11_ENV_NS}" xmlns:xsi="{XSI_NS}" xmlns:xsd="{XSD_NS}">'
    "<soap:Body>"
)
_FRAMES: Final[Mapping[str, tuple[bytes, bytes]]] = MappingProxyType(
    {
        op: (
            _DECLARATION
            + f'{_ENVELOPE_OPEN}<{op}Response xmlns="{INTUIT_NS}"><{op}Result>'.encode(),
            f"</{op}Result></{op}Response></soap:Body></soap:Envelope>".encode(),
        )
        for op in OPERATIONS
    }
)


def encode_reply(reply: AnyReply) -> bytes:
    """
    The SOAP response body for *reply*: UTF-8, the XML declaration first.

    authenticate's ``ArrayOfString`` keeps empty ``<string></string>`` slots (a
    toolkit that dropped them got "authentication failed"); receiveResponseXML's
    result is an ``xsd:int``; qbXML is escaped text.
    """
    value = _result(reply)
    head, tail = _FRAMES[reply.operation]
    if isinstance(value, list):
        text = "".join([f"<string>{escape_text(slot)}</string>" for slot in value])
    else:
        text = escape_text(value)
    # Every reply's text is XML-safe (checked when the reply was built), so it
    # encodes: no lone surrogates.
    return head + text.encode("utf-8") + tail


def _encode_reply_tree(reply: AnyReply) -> bytes:
    """:func:`encode_reply` by way of an lxml tree: the reference its frames are tested against."""
    value = _result(reply)
    operation = reply.operation
    envelope, element = _envelope(f"{operation}Response")
    result = etree.SubElement(element, f"{{{INTUIT_NS}}}{operation}Result")
    if isinstance(value, list):
        for slot in value:
            etree.SubElement(result, f"{{{INTUIT_NS}}}string").text = slot
    else:
        result.text = value
    return _serialize(envelope)


def encode_fault(fault_code: str, message: str) -> bytes:
    """
    A SOAP 1.1 Fault body (send it with HTTP 500).

    *fault_code* is ``soap:Client``, ``soap:Server``, ``soap:VersionMismatch`` or
    ``soap:MustUnderstand`` (the ``soap:`` prefix is added when missing), usually a
    :class:`~qbwc.ProtocolError`'s ``fault_code``.  Characters XML cannot carry are
    written as ``\\xNN`` escapes, so any message can be sent.
    """
    code = fault_code if ":" in fault_code else f"soap:{fault_code}"
    envelope = etree.Element(_ENV, nsmap=_ENV_NSMAP)
    fault = etree.SubElement(etree.SubElement(envelope, _BODY), _FAULT)
    etree.SubElement(fault, "faultcode").text = _printable(code)
    etree.SubElement(fault, "faultstring").text = _printable(message)
    return _serialize(envelope)


def _printable(text: str) -> str:
    return NOT_XML_CHAR.sub(lambda m: repr(m.group())[1:-1], text)


# --- WSDL ---------------------------------------------------------------------

_WSDL_ROOT: etree._Element | None = None


def wsdl(address: str) -> bytes:
    """
    Our WSDL (``schemas/qbwc.wsdl``) with *address* as the service endpoint.

    Serve it on ``GET ?wsdl``.  The address is written as an escaped attribute.

    Raises:
        ConfigurationError: *address* is not an absolute http(s) URL.
    """
    global _WSDL_ROOT  # noqa: PLW0603 - a read-only cache of a shipped file
    if type(address) is not str or not re.match(r"https?://\S+\Z", address):
        raise ConfigurationError("address", f"{address!r} is not an absolute http(s) URL")
    bad = NOT_XML_CHAR.search(address)
    if bad is not None:
        raise ConfigurationError("address", f"contains U+{ord(bad.group()):04X}")
    if _WSDL_ROOT is None:
        path = schema_path("qbwc.wsdl")
        _WSDL_ROOT = parse_untrusted(path.read_bytes(), what=str(path))
    root = copy.deepcopy(_WSDL_ROOT)
    for location in root.iter(f"{{{WSDL_SOAP_NS}}}address"):
        location.set("location", address)
    return _serialize(root)
