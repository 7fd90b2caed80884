"""
The values that cross the Web Connector conversation: one class per call, one per reply.

Calls are what the Web Connector sends (one per WSDL operation, ``<operation>Call``);
replies are what the service answers, named for their meaning and split wherever the
next phase differs, so that the transition table in ``_state.py`` keys on type alone
(``Progress`` is 0–99, ``Done`` is 100, ``Failed`` is negative).

Every value checks itself when built: a reply that the Web Connector would misread
(``Progress(percent=100)``, ``LastErrorReply(message="NoOp")``, a string XML cannot carry)
raises :class:`~qbwc.exceptions.LocalProtocolError` naming the field and the rule.

Don't subclass these: they are ``@final``, and the table keys on the exact type.
"""

from __future__ import annotations

from typing import Any, ClassVar, Final, final

import attrs

from qbwc._xml import NOT_XML_CHAR as _NOT_XML_CHAR
from qbwc.exceptions import LocalProtocolError

# Everything in __all__ gets re-exported as part of qbwc.protocol, the public API.
__all__ = [
    "AnyCall",
    "AnyReply",
    "AuthenticateCall",
    "Authenticated",
    "Busy",
    "Call",
    "ClientVersionCall",
    "ClientVersionErrorReply",
    "ClientVersionOK",
    "ClientVersionUpgrade",
    "ClientVersionWarning",
    "CloseConnectionCall",
    "ConnectionErrorCall",
    "Done",
    "Event",
    "Failed",
    "GetInteractiveURLCall",
    "GetLastErrorCall",
    "GiveUp",
    "Goodbye",
    "InteractiveDoneCall",
    "InteractiveDoneReply",
    "InteractiveMode",
    "InteractiveRejectedCall",
    "InteractiveRejectedReply",
    "InteractiveURL",
    "InvalidUserReply",
    "LastErrorReply",
    "NoOp",
    "NoRequest",
    "NoWork",
    "PauseRequest",
    "Progress",
    "ReceiveResponseXMLCall",
    "Reply",
    "RequestXML",
    "SendRequestXMLCall",
    "ServerVersion",
    "ServerVersionCall",
    "TryCompanyFile",
]

#: The largest value of an ``xsd:int`` (the WSDL type of every integer on the wire).
INT_MAX: Final = 2**31 - 1
INT_MIN: Final = -(2**31)

def _fail(inst: Any, attribute: attrs.Attribute[Any], rule: str) -> LocalProtocolError:
    return LocalProtocolError(f"{type(inst).__name__}.{attribute.name}: {rule}")


def _text(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """A str that XML 1.0 can carry."""
    if type(value) is not str:
        raise _fail(inst, attribute, f"expected str, got {type(value).__name__}")
    bad = _NOT_XML_CHAR.search(value)
    if bad is not None:
        char = bad.group()
        rule = (
            f"contains U+{ord(char):04X} at index {bad.start()}, "
            "which XML 1.0 cannot carry (remove control characters first)"
        )
        raise _fail(inst, attribute, rule)


def _ticket(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """A ticket we issue: text, not empty."""
    _text(inst, attribute, value)
    if not value:
        raise _fail(inst, attribute, "must not be empty (the service mints the ticket)")


def _int_in(low: int, high: int) -> Any:
    def check(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if type(value) is not int:
            raise _fail(inst, attribute, f"expected int, got {type(value).__name__}")
        if not low <= value <= high:
            raise _fail(inst, attribute, f"{value} is not in {low}..{high}")

    return check


def _optional_seconds(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None:
        _int_in(0, INT_MAX)(inst, attribute, value)


def _not_keyword(*keywords: str, meaning: str) -> Any:
    """Refuse the strings the Web Connector reads as a special answer (any case)."""
    folded = frozenset(k.casefold() for k in keywords)
    # Case folding never shortens a string, so nothing longer can fold to a keyword
    # (and a long qbXML document is not copied just to find that out).
    longest = max(len(k) for k in folded)

    def check(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        _text(inst, attribute, value)
        if len(value) <= longest and value.casefold() in folded:
            raise _fail(inst, attribute, f"{value!r} would be read as {meaning}")

    return check


class Event:
    """Base class of every call and reply."""

    __slots__ = ()

    #: The WSDL operation this value belongs to (``"authenticate"``).
    operation: ClassVar[str]


class Call(Event):
    """Something the Web Connector sent: one SOAP request."""

    __slots__ = ()


class Reply(Event):
    """Something the service answers: one SOAP response."""

    __slots__ = ()


# --- calls (Web Connector → service), in WSDL order --------------------------


@final
@attrs.frozen(kw_only=True)
class ServerVersionCall(Call):
    """``serverVersion()``: the Web Connector asks which service it talks to."""

    operation: ClassVar[str] = "serverVersion"


@final
@attrs.frozen(kw_only=True)
class ClientVersionCall(Call):
    """``clientVersion(strVersion)``: the Web Connector's own version, e.g. ``2.3.0.215``."""

    operation: ClassVar[str] = "clientVersion"

    version: str = attrs.field(validator=_text)


@final
@attrs.frozen(kw_only=True)
class AuthenticateCall(Call):
    """``authenticate(strUserName, strPassword)``: starts a session."""

    operation: ClassVar[str] = "authenticate"

    username: str = attrs.field(validator=_text)
    password: str = attrs.field(validator=_text, repr=False)


@final
@attrs.frozen(kw_only=True)
class SendRequestXMLCall(Call):
    """
    ``sendRequestXML``: the Web Connector asks for the next qbXML request.

    *hcp_response* is the host/company/preferences document, non-empty only on
    the first call of a session; *major_version*/*minor_version* are the qbXML
    level of QuickBooks' request processor.
    """

    operation: ClassVar[str] = "sendRequestXML"

    ticket: str = attrs.field(validator=_text)
    hcp_response: str = attrs.field(default="", validator=_text)
    company_file_name: str = attrs.field(validator=_text)
    country: str = attrs.field(validator=_text)
    major_version: int = attrs.field(validator=_int_in(0, INT_MAX))
    minor_version: int = attrs.field(validator=_int_in(0, INT_MAX))


@final
@attrs.frozen(kw_only=True)
class ReceiveResponseXMLCall(Call):
    """
    ``receiveResponseXML``: QuickBooks' answer to the last request.

    When the request processor failed instead of answering, *response* is empty
    and *hresult* (``0x80040400``) and *message* say why.
    """

    operation: ClassVar[str] = "receiveResponseXML"

    ticket: str = attrs.field(validator=_text)
    response: str = attrs.field(validator=_text)
    hresult: str = attrs.field(default="", validator=_text)
    message: str = attrs.field(default="", validator=_text)


@final
@attrs.frozen(kw_only=True)
class ConnectionErrorCall(Call):
    """``connectionError``: the Web Connector could not open QuickBooks or the file."""

    operation: ClassVar[str] = "connectionError"

    ticket: str = attrs.field(validator=_text)
    hresult: str = attrs.field(validator=_text)
    message: str = attrs.field(validator=_text)


@final
@attrs.frozen(kw_only=True)
class GetLastErrorCall(Call):
    """``getLastError``: the Web Connector asks what to show the user."""

    operation: ClassVar[str] = "getLastError"

    ticket: str = attrs.field(validator=_text)


@final
@attrs.frozen(kw_only=True)
class CloseConnectionCall(Call):
    """``closeConnection``: the last call of a session."""

    operation: ClassVar[str] = "closeConnection"

    ticket: str = attrs.field(validator=_text)


@final
@attrs.frozen(kw_only=True)
class GetInteractiveURLCall(Call):
    """``getInteractiveURL(wcTicket, sessionID)``: the user agreed to interactive mode."""

    operation: ClassVar[str] = "getInteractiveURL"

    ticket: str = attrs.field(validator=_text)
    session_id: str = attrs.field(validator=_text)


@final
@attrs.frozen(kw_only=True)
class InteractiveDoneCall(Call):
    """``interactiveDone(wcTicket)``: polled while the browser session is open."""

    operation: ClassVar[str] = "interactiveDone"

    ticket: str = attrs.field(validator=_text)


@final
@attrs.frozen(kw_only=True)
class InteractiveRejectedCall(Call):
    """``interactiveRejected(wcTicket, reason)``: the user declined, or the prompt timed out."""

    operation: ClassVar[str] = "interactiveRejected"

    ticket: str = attrs.field(validator=_text)
    reason: str = attrs.field(validator=_text)


# --- replies (service → Web Connector) ---------------------------------------


@final
@attrs.frozen(kw_only=True)
class ServerVersion(Reply):
    """The service's version, shown in the Web Connector's "More Information" pop-up."""

    operation: ClassVar[str] = "serverVersion"

    version: str = attrs.field(validator=_text)


@final
@attrs.frozen(kw_only=True)
class ClientVersionOK(Reply):
    """``""``: this Web Connector is fine; go on to authenticate."""

    operation: ClassVar[str] = "clientVersion"


@final
@attrs.frozen(kw_only=True)
class ClientVersionWarning(Reply):
    """``"W:<message>"``: warn the user, who may continue or cancel."""

    operation: ClassVar[str] = "clientVersion"

    message: str = attrs.field(validator=_text)


@final
@attrs.frozen(kw_only=True)
class ClientVersionErrorReply(Reply):
    """``"E:<message>"``: refuse this Web Connector; the update is cancelled."""

    operation: ClassVar[str] = "clientVersion"

    message: str = attrs.field(validator=_text)


@final
@attrs.frozen(kw_only=True)
class ClientVersionUpgrade(Reply):
    """``"O:<version>"``: the service needs Web Connector *version*; this run stops."""

    operation: ClassVar[str] = "clientVersion"

    version: str = attrs.field(validator=_text)


_AUTH_KEYWORDS = ("none", "nvu", "busy")


@final
@attrs.frozen(kw_only=True)
class Authenticated(Reply):
    """
    ``[ticket, company_file, postpone?, min_run_every?]``: there is work; go ahead.

    *company_file* ``""`` means the file open in QuickBooks; a full path makes the
    Web Connector open that file.  *postpone_seconds* and *min_run_every_seconds*
    only take effect when Auto-Run is on.
    """

    operation: ClassVar[str] = "authenticate"

    ticket: str = attrs.field(validator=_ticket)
    company_file: str = attrs.field(
        default="", validator=_not_keyword(*_AUTH_KEYWORDS, meaning="an authenticate status")
    )
    postpone_seconds: int | None = attrs.field(default=None, validator=_optional_seconds)
    min_run_every_seconds: int | None = attrs.field(default=None, validator=_optional_seconds)


@final
@attrs.frozen(kw_only=True)
class NoWork(Reply):
    """``[ticket, "none", ...]``: valid user, nothing to do ("No Data Exchange")."""

    operation: ClassVar[str] = "authenticate"

    ticket: str = attrs.field(validator=_ticket)
    postpone_seconds: int | None = attrs.field(default=None, validator=_optional_seconds)
    min_run_every_seconds: int | None = attrs.field(default=None, validator=_optional_seconds)


@final
@attrs.frozen(kw_only=True)
class InvalidUserReply(Reply):
    """
    ``[reference, "nvu"]``: wrong user name or password (no hint which).

    *reference* (the support reference of the refusal, or ``""``) goes in the
    ticket slot: the Web Connector sends it back with ``closeConnection``, whose
    answer it shows (docs/protocol.md, "nvu"), so the user can quote it.
    """

    operation: ClassVar[str] = "authenticate"

    reference: str = ""


@final
@attrs.frozen(kw_only=True)
class Busy(Reply):
    """``[ticket, "busy", postpone?]``: another session of this account is running."""

    operation: ClassVar[str] = "authenticate"

    ticket: str = attrs.field(validator=_ticket)
    postpone_seconds: int | None = attrs.field(default=None, validator=_optional_seconds)


@final
@attrs.frozen(kw_only=True)
class RequestXML(Reply):
    """A qbXML request message set for QuickBooks to process."""

    operation: ClassVar[str] = "sendRequestXML"

    qbxml: str = attrs.field(validator=_not_keyword("", "NoOp", meaning="no request"))


@final
@attrs.frozen(kw_only=True)
class NoRequest(Reply):
    """``""`` from sendRequestXML: nothing to send (or an error); getLastError follows."""

    operation: ClassVar[str] = "sendRequestXML"


@final
@attrs.frozen(kw_only=True)
class PauseRequest(Reply):
    """``"NoOp"`` from sendRequestXML: getLastError follows, then (on ``NoOp``) a pause."""

    operation: ClassVar[str] = "sendRequestXML"


@final
@attrs.frozen(kw_only=True)
class Progress(Reply):
    """0–99 from receiveResponseXML: percent done; the Web Connector asks for more."""

    operation: ClassVar[str] = "receiveResponseXML"

    percent: int = attrs.field(validator=_int_in(0, 99))


@final
@attrs.frozen(kw_only=True)
class Done(Reply):
    """100 from receiveResponseXML: finished; closeConnection follows."""

    operation: ClassVar[str] = "receiveResponseXML"


@final
@attrs.frozen(kw_only=True)
class Failed(Reply):
    """A negative *code* from receiveResponseXML: stop; getLastError follows."""

    operation: ClassVar[str] = "receiveResponseXML"

    code: int = attrs.field(validator=_int_in(INT_MIN, -1))


@final
@attrs.frozen(kw_only=True)
class LastErrorReply(Reply):
    """The text the Web Connector shows and logs; closeConnection follows."""

    operation: ClassVar[str] = "getLastError"

    message: str = attrs.field(
        validator=_not_keyword("NoOp", "Interactive mode", meaning="a special getLastError answer")
    )


@final
@attrs.frozen(kw_only=True)
class NoOp(Reply):
    """``"NoOp"`` from getLastError: pause about 5 s, then call sendRequestXML again."""

    operation: ClassVar[str] = "getLastError"


@final
@attrs.frozen(kw_only=True)
class InteractiveMode(Reply):
    """``"Interactive mode"`` from getLastError: ask the user, then getInteractiveURL."""

    operation: ClassVar[str] = "getLastError"


@final
@attrs.frozen(kw_only=True)
class TryCompanyFile(Reply):
    """A path from connectionError: retry with that file (``""`` = the open file)."""

    operation: ClassVar[str] = "connectionError"

    path: str = attrs.field(validator=_not_keyword("done", meaning="giving up"))


@final
@attrs.frozen(kw_only=True)
class GiveUp(Reply):
    """``"done"`` from connectionError: stop trying."""

    operation: ClassVar[str] = "connectionError"


@final
@attrs.frozen(kw_only=True)
class Goodbye(Reply):
    """The closeConnection text, shown in the Web Connector's status column."""

    operation: ClassVar[str] = "closeConnection"

    message: str = attrs.field(validator=_text)


@final
@attrs.frozen(kw_only=True)
class InteractiveURL(Reply):
    """The page the Web Connector opens in a browser for interactive mode."""

    operation: ClassVar[str] = "getInteractiveURL"

    url: str = attrs.field(validator=_text)


@final
@attrs.frozen(kw_only=True)
class InteractiveDoneReply(Reply):
    """The answer to an interactiveDone poll (``"Done"`` when finished)."""

    operation: ClassVar[str] = "interactiveDone"

    message: str = attrs.field(default="Done", validator=_text)


@final
@attrs.frozen(kw_only=True)
class InteractiveRejectedReply(Reply):
    """The text shown after the user declined interactive mode."""

    operation: ClassVar[str] = "interactiveRejected"

    message: str = attrs.field(validator=_text)


AnyCall = (
    ServerVersionCall
    | ClientVersionCall
    | AuthenticateCall
    | SendRequestXMLCall
    | ReceiveResponseXMLCall
    | ConnectionErrorCall
    | GetLastErrorCall
    | CloseConnectionCall
    | GetInteractiveURLCall
    | InteractiveDoneCall
    | InteractiveRejectedCall
)
"""Any call the Web Connector can make (use with ``match`` and ``assert_never``)."""

AnyReply = (
    ServerVersion
    | ClientVersionOK
    | ClientVersionWarning
    | ClientVersionErrorReply
    | ClientVersionUpgrade
    | Authenticated
    | NoWork
    | InvalidUserReply
    | Busy
    | RequestXML
    | NoRequest
    | PauseRequest
    | Progress
    | Done
    | Failed
    | LastErrorReply
    | NoOp
    | InteractiveMode
    | TryCompanyFile
    | GiveUp
    | Goodbye
    | InteractiveURL
    | InteractiveDoneReply
    | InteractiveRejectedReply
)
"""Any reply the service can send."""

#: Every call class, in WSDL order.
CALL_TYPES: Final[tuple[type[Call], ...]] = (
    ServerVersionCall,
    ClientVersionCall,
    AuthenticateCall,
    SendRequestXMLCall,
    ReceiveResponseXMLCall,
    ConnectionErrorCall,
    GetLastErrorCall,
    CloseConnectionCall,
    GetInteractiveURLCall,
    InteractiveDoneCall,
    InteractiveRejectedCall,
)

#: Every reply class, grouped by the operation they answer.
REPLY_TYPES: Final[tuple[type[Reply], ...]] = (
    ServerVersion,
    ClientVersionOK,
    ClientVersionWarning,
    ClientVersionErrorReply,
    ClientVersionUpgrade,
    Authenticated,
    NoWork,
    InvalidUserReply,
    Busy,
    RequestXML,
    NoRequest,
    PauseRequest,
    Progress,
    Done,
    Failed,
    LastErrorReply,
    NoOp,
    InteractiveMode,
    TryCompanyFile,
    GiveUp,
    Goodbye,
    InteractiveURL,
    InteractiveDoneReply,
    InteractiveRejectedReply,
)
