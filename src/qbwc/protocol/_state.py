"""
The Web Connector session state machine: phases, the one transition table, and the state record.

Rule 1: everything that decides which call or reply is legal, and how a step changes the
state, lives in this file.  ``_session.py`` only applies it; the docs' table, the tests and
the Web Connector double all read ``TRANSITIONS``.

Rule 2: this file knows nothing about bytes, SOAP, storage, clocks or randomness.  The
ticket is minted by the service and arrives inside a reply.

Theory of operation
-------------------

The Web Connector (QBWC) is the SOAP client and polls us; QuickBooks never talks to us.
One update run is a conversation keyed by the ticket that ``authenticate`` returns
([PG] p21).  Every HTTP request carries exactly one call and gets exactly one reply, and
consecutive calls may land on different worker processes, so the whole state is a small
frozen value (:class:`SessionState`) that a store saves between calls.

Like h11's ``SEND_RESPONSE``, every call moves the session to a ``*_DUE`` phase in which
only that call's replies are legal; the reply then moves it to the phase that says which
calls may come next.  The normal run ([PG] p19–25; docs/protocol.md, "A run, call by call")::

    NEW ─authenticate─► AUTH_DUE ─Authenticated─► READY ─sendRequestXML─► REQUEST_DUE
    REQUEST_DUE ─RequestXML─► AWAITING_RESPONSE ─receiveResponseXML─► PROGRESS_DUE
    PROGRESS_DUE ─Progress─► READY   (more work: 0–99, [PG] p77)
    PROGRESS_DUE ─Done─► FINISHED ─closeConnection─► CLOSE_DUE ─Goodbye─► CLOSED  ([PG] p25, p68)

The other answers, with their sources:

* ``NoWork`` ("none"), ``Busy`` ("busy"): QBWC shows a message and calls closeConnection
  ([PG] p21, p62–63), so they lead to FINISHED.  ``InvalidUserReply`` ("nvu") carries no ticket
  ([QBPHP] Handlers.php l.486), so nothing can follow on this session: CLOSED.
* ``NoRequest`` ("") and ``PauseRequest`` ("NoOp") from sendRequestXML both make QBWC call
  getLastError ([PG] p23, p72, p80; docs/protocol.md, "Not documented"): AWAITING_LAST_ERROR.
* ``Failed`` (negative) from receiveResponseXML: getLastError, then closeConnection
  ([PG] p24, p77).
* From getLastError, ``LastErrorReply`` ends the run (closeConnection follows, [PG] p53, p72);
  ``NoOp`` makes QBWC wait 5 s and call sendRequestXML again ([PG] p8, p72, p80), so READY;
  ``InteractiveMode`` leads to getInteractiveURL or interactiveRejected ([PG] p23, p43, p71).
* connectionError replaces sendRequestXML when QuickBooks or the file cannot be opened
  ([PG] p22, p51–52, p69).  ``TryCompanyFile`` retries (READY again: another
  connectionError or, on success, sendRequestXML); ``GiveUp`` ("done") stops.  What QBWC
  calls after "done" is not documented (docs/protocol.md, "Not documented"), so
  AWAITING_LAST_ERROR, which accepts getLastError and closeConnection.
* Interactive mode: ``InteractiveURL`` opens the browser (INTERACTIVE); QBWC polls
  interactiveDone until the session ends with closeConnection ([PG] p24, p44, p75; which
  interactiveDone answer ends it is uncertain, docs/protocol.md, "Not documented", so every
  answer stays in INTERACTIVE); interactiveRejected shows our text, then closeConnection
  ([PG] p23, p76).
* serverVersion and clientVersion come before authenticate and carry no ticket ([PG] p8,
  p66–67): legal only in NEW, answered, back to NEW.  ``ClientVersionErrorReply`` ("E:") and
  ``ClientVersionUpgrade`` ("O:") stop the run ([PG] p66): CLOSED.

What real networks and Web Connectors add, and how the table answers it:

* **closeConnection is legal in every phase.**  It may arrive with a ticket already
  dropped, and is then answered, never faulted ([PG] p68; docs/protocol.md, "What each
  answer means").  The user can also stop a run at any moment.
* **authenticate is legal in every phase** and starts a new run on the same state (the
  ticket, counters and per-run fields are reset when the new ticket is minted).  An
  authenticate by the same user while closeConnection is still due means that call will not
  come: the old ticket is dropped ([PG] p42).
* **Lost responses.**  A request is *in flight* from the moment a sendRequestXML call is
  received (REQUEST_DUE: the service may already have persisted and returned qbXML) until
  receiveResponseXML arrives.  Any other call in AWAITING_RESPONSE or REQUEST_DUE (a new
  sendRequestXML, connectionError, getLastError, closeConnection, authenticate) means
  QuickBooks' response will never reach us: it was lost, or QBWC gave up ([PG] p42, p53;
  docs/protocol.md, "A run, call by call" and "Error recovery").  The step sets
  ``lost_response=True``, and it stays set (across a restart by the same user) until the
  service has run error recovery and calls ``Session.clear_lost_response()``.  ERROR
  counts as in flight too: after a bug we cannot know.
* **Unknown, expired or closed tickets.**  A session the service has no record of starts in
  NEW; a finished one is CLOSED.  There, sendRequestXML, receiveResponseXML,
  connectionError and getLastError get the polite STALE_* path ("" / a negative code /
  "done", then a getLastError text) instead of a SOAP fault, so the user reads a message
  rather than QBWC1041–1045.  STALE_* phases never reach READY: no qbXML can be sent on a
  ticket we did not issue for this run.
* **Duplicates and calls out of order** (a second receiveResponseXML for a response already
  recorded, any call while our reply to the previous one is still due, interactive calls
  outside interactive mode) are RemoteProtocolError: the service answers with a SOAP fault
  and nothing changes, so nothing is recorded or sent twice.

Errors: an illegal call raises RemoteProtocolError and leaves the state as it was (bad input
changes nothing).  An illegal reply raises LocalProtocolError and moves the session to
ERROR, from which only closeConnection and authenticate lead out.
"""

from __future__ import annotations

import enum
import hmac
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any, Final, final

import attrs

from qbwc._direct import compile_constructor
from qbwc.exceptions import LocalProtocolError, RemoteProtocolError
from qbwc.protocol._events import (
    CALL_TYPES,
    REPLY_TYPES,
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
    Event,
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
    Reply,
    RequestXML,
    SendRequestXMLCall,
    ServerVersion,
    ServerVersionCall,
    TryCompanyFile,
)

# Everything in __all__ gets re-exported as part of qbwc.protocol, the public API.
__all__ = ["Phase", "SessionState"]


class Phase(enum.StrEnum):
    """Where a Web Connector session stands (the value is what stores persist)."""

    #: No call yet, or a ticket we have no record of.
    NEW = "NEW"
    #: serverVersion received; a ServerVersion reply is due.
    SERVER_VERSION_DUE = "SERVER_VERSION_DUE"
    #: clientVersion received; a ClientVersion* reply is due.
    CLIENT_VERSION_DUE = "CLIENT_VERSION_DUE"
    #: authenticate received; Authenticated / NoWork / Busy / InvalidUserReply is due.
    AUTH_DUE = "AUTH_DUE"
    #: Ticket issued with work: sendRequestXML or connectionError comes next.
    READY = "READY"
    #: sendRequestXML received; RequestXML / NoRequest / PauseRequest is due.
    REQUEST_DUE = "REQUEST_DUE"
    #: qbXML sent: QuickBooks' response (receiveResponseXML) is awaited.
    AWAITING_RESPONSE = "AWAITING_RESPONSE"
    #: receiveResponseXML received; Progress / Done / Failed is due.
    PROGRESS_DUE = "PROGRESS_DUE"
    #: connectionError received; TryCompanyFile / GiveUp is due.
    CONN_ERROR_DUE = "CONN_ERROR_DUE"
    #: We said "", "NoOp" or a negative code (or "done"): getLastError comes next.
    AWAITING_LAST_ERROR = "AWAITING_LAST_ERROR"
    #: getLastError received; LastErrorReply / NoOp / InteractiveMode is due.
    LAST_ERROR_DUE = "LAST_ERROR_DUE"
    #: We asked for interactive mode: getInteractiveURL or interactiveRejected comes next.
    INTERACTIVE_REQUESTED = "INTERACTIVE_REQUESTED"
    #: getInteractiveURL received; InteractiveURL is due.
    INTERACTIVE_URL_DUE = "INTERACTIVE_URL_DUE"
    #: The browser is open: interactiveDone polls, interactiveRejected or closeConnection.
    INTERACTIVE = "INTERACTIVE"
    #: interactiveDone received; InteractiveDoneReply is due.
    INTERACTIVE_DONE_DUE = "INTERACTIVE_DONE_DUE"
    #: interactiveRejected received; InteractiveRejectedReply is due.
    INTERACTIVE_REJECTED_DUE = "INTERACTIVE_REJECTED_DUE"
    #: The run is over: closeConnection comes next.
    FINISHED = "FINISHED"
    #: closeConnection received; Goodbye is due.
    CLOSE_DUE = "CLOSE_DUE"
    #: Closed (or refused).  A late closeConnection or a new authenticate may still come.
    CLOSED = "CLOSED"
    #: sendRequestXML on an unknown or closed ticket; NoRequest is due.
    STALE_REQUEST_DUE = "STALE_REQUEST_DUE"
    #: receiveResponseXML on an unknown or closed ticket; Failed is due.
    STALE_RESPONSE_DUE = "STALE_RESPONSE_DUE"
    #: connectionError on an unknown or closed ticket; GiveUp is due.
    STALE_CONN_ERROR_DUE = "STALE_CONN_ERROR_DUE"
    #: getLastError on an unknown or closed ticket; LastErrorReply is due.
    STALE_LAST_ERROR_DUE = "STALE_LAST_ERROR_DUE"
    #: Unknown or closed ticket, told so: getLastError or closeConnection comes next.
    STALE = "STALE"
    #: We tried to send something illegal (a bug); only closeConnection/authenticate lead out.
    ERROR = "ERROR"


P = Phase

#: Phases in which a qbXML request may be in flight (see "Lost responses" above).
IN_FLIGHT: Final = frozenset({P.REQUEST_DUE, P.AWAITING_RESPONSE, P.ERROR})

#: Calls legal in every phase (see the theory of operation).
_EVERYWHERE: Final[Mapping[type[Event], Phase]] = {
    AuthenticateCall: P.AUTH_DUE,
    CloseConnectionCall: P.CLOSE_DUE,
}

# The STALE_* path for a ticket we have no live session for.
_STALE_ENTRY: Final[Mapping[type[Event], Phase]] = {
    SendRequestXMLCall: P.STALE_REQUEST_DUE,
    ReceiveResponseXMLCall: P.STALE_RESPONSE_DUE,
    ConnectionErrorCall: P.STALE_CONN_ERROR_DUE,
    GetLastErrorCall: P.STALE_LAST_ERROR_DUE,
}

_TABLE: dict[Phase, dict[type[Event], Phase]] = {
    P.NEW: {
        ServerVersionCall: P.SERVER_VERSION_DUE,
        ClientVersionCall: P.CLIENT_VERSION_DUE,
        **_STALE_ENTRY,
    },
    P.SERVER_VERSION_DUE: {ServerVersion: P.NEW},
    P.CLIENT_VERSION_DUE: {
        ClientVersionOK: P.NEW,
        ClientVersionWarning: P.NEW,
        ClientVersionErrorReply: P.CLOSED,
        ClientVersionUpgrade: P.CLOSED,
    },
    P.AUTH_DUE: {
        Authenticated: P.READY,
        NoWork: P.FINISHED,
        Busy: P.FINISHED,
        InvalidUserReply: P.CLOSED,
    },
    P.READY: {
        SendRequestXMLCall: P.REQUEST_DUE,
        ConnectionErrorCall: P.CONN_ERROR_DUE,
    },
    P.REQUEST_DUE: {
        RequestXML: P.AWAITING_RESPONSE,
        NoRequest: P.AWAITING_LAST_ERROR,
        PauseRequest: P.AWAITING_LAST_ERROR,
    },
    P.AWAITING_RESPONSE: {
        ReceiveResponseXMLCall: P.PROGRESS_DUE,
        # The response was lost (lost_response is set):
        SendRequestXMLCall: P.REQUEST_DUE,
        ConnectionErrorCall: P.CONN_ERROR_DUE,
        GetLastErrorCall: P.LAST_ERROR_DUE,
    },
    P.PROGRESS_DUE: {
        Progress: P.READY,
        Done: P.FINISHED,
        Failed: P.AWAITING_LAST_ERROR,
    },
    P.CONN_ERROR_DUE: {
        TryCompanyFile: P.READY,
        GiveUp: P.AWAITING_LAST_ERROR,
    },
    P.AWAITING_LAST_ERROR: {GetLastErrorCall: P.LAST_ERROR_DUE},
    P.LAST_ERROR_DUE: {
        LastErrorReply: P.FINISHED,
        NoOp: P.READY,
        InteractiveMode: P.INTERACTIVE_REQUESTED,
    },
    P.INTERACTIVE_REQUESTED: {
        GetInteractiveURLCall: P.INTERACTIVE_URL_DUE,
        InteractiveRejectedCall: P.INTERACTIVE_REJECTED_DUE,
    },
    P.INTERACTIVE_URL_DUE: {InteractiveURL: P.INTERACTIVE},
    P.INTERACTIVE: {
        InteractiveDoneCall: P.INTERACTIVE_DONE_DUE,
        InteractiveRejectedCall: P.INTERACTIVE_REJECTED_DUE,
    },
    P.INTERACTIVE_DONE_DUE: {InteractiveDoneReply: P.INTERACTIVE},
    P.INTERACTIVE_REJECTED_DUE: {InteractiveRejectedReply: P.FINISHED},
    P.FINISHED: {},
    P.CLOSE_DUE: {Goodbye: P.CLOSED},
    P.CLOSED: {**_STALE_ENTRY},
    P.STALE_REQUEST_DUE: {NoRequest: P.STALE},
    P.STALE_RESPONSE_DUE: {Failed: P.STALE},
    P.STALE_CONN_ERROR_DUE: {GiveUp: P.STALE},
    P.STALE_LAST_ERROR_DUE: {LastErrorReply: P.FINISHED},
    P.STALE: {GetLastErrorCall: P.STALE_LAST_ERROR_DUE},
    P.ERROR: {},
}
for _row in _TABLE.values():
    _row.update(_EVERYWHERE)

#: The one table: ``TRANSITIONS[phase][event type]`` is the next phase.  A missing key
#: means the call (RemoteProtocolError) or reply (LocalProtocolError) is illegal there.
TRANSITIONS: Final[Mapping[Phase, Mapping[type[Event], Phase]]] = MappingProxyType(
    {phase: MappingProxyType(row) for phase, row in _TABLE.items()}
)
del _row


def _pairs(value: Mapping[str, str] | Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    items = value.items() if isinstance(value, Mapping) else value
    result: dict[str, str] = {}
    for item in items:
        if not isinstance(item, tuple | list) or len(item) != 2:
            msg = f"SessionState.data: {item!r} is not a (key, value) pair"
            raise ValueError(msg)
        key, val = item
        if type(key) is not str or type(val) is not str:
            msg = f"SessionState.data: {key!r}: keys and values must be str"
            raise ValueError(msg)
        if key in result:
            msg = f"SessionState.data: key {key!r} appears twice"
            raise ValueError(msg)
        result[key] = val
    return tuple(sorted(result.items()))


def _str(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if type(value) is not str:
        msg = f"SessionState.{attribute.name}: expected str, got {type(value).__name__}"
        raise ValueError(msg)


def _count(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if type(value) is not int or value < 0:
        msg = f"SessionState.{attribute.name}: expected an int >= 0, got {value!r}"
        raise ValueError(msg)


def _optional_count(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None:
        _count(inst, attribute, value)


def _flag(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if type(value) is not bool:
        msg = f"SessionState.{attribute.name}: expected a bool, got {value!r}"
        raise ValueError(msg)


def _phase(value: Any) -> Phase:
    if type(value) is Phase:  # Phase(value) would return it, more slowly
        return value
    try:
        return Phase(value)
    except ValueError:
        msg = f"SessionState.phase: {value!r} is not a phase"
        raise ValueError(msg) from None


@final
@attrs.frozen(kw_only=True)
class SessionState:
    """
    Everything the protocol core knows about one Web Connector session.

    A frozen value: every step returns a new one with *seq* one higher, so a store can
    save it with compare-and-set on *seq*.  :meth:`to_dict` / :meth:`from_dict` turn it
    into JSON-safe primitives and back.

    Per-run fields (reset by a new authenticate): *ticket* (minted by the service),
    *username*, *company_file*, *country* and *qbxml_major*/*qbxml_minor* (from the
    latest sendRequestXML), *hcp_received* (the first sendRequestXML carried the
    host/company/preferences document), *connection_error_count*, *last_error* (the
    last ``"hresult: message"`` the Web Connector reported) and *request_count*
    (qbXML requests sent).

    *lost_response* is set when a request's response can no longer arrive; it survives
    a restart by the same user until the service clears it after error recovery.
    *data* is free bookkeeping for the service: sorted ``(key, value)`` string pairs.
    """

    ticket: str = attrs.field(default="", validator=_str)
    username: str = attrs.field(default="", validator=_str)
    phase: Phase = attrs.field(default=Phase.NEW, converter=_phase)
    seq: int = attrs.field(default=0, validator=_count)
    company_file: str = attrs.field(default="", validator=_str)
    country: str = attrs.field(default="", validator=_str)
    qbxml_major: int | None = attrs.field(default=None, validator=_optional_count)
    qbxml_minor: int | None = attrs.field(default=None, validator=_optional_count)
    hcp_received: bool = attrs.field(default=False, validator=_flag)
    lost_response: bool = attrs.field(default=False, validator=_flag)
    connection_error_count: int = attrs.field(default=0, validator=_count)
    last_error: str = attrs.field(default="", validator=_str)
    request_count: int = attrs.field(default=0, validator=_count)
    data: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=_pairs)

    def get(self, key: str, default: str | None = None) -> str | None:
        """The *data* value stored under *key*, or *default*."""
        for k, v in self.data:
            if k == key:
                return v
        return default

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe primitives (str, int, bool, None, lists) for a store."""
        out: dict[str, Any] = {name: getattr(self, name) for name in _FIELD_NAMES}
        out["phase"] = self.phase.value
        out["data"] = [[k, v] for k, v in self.data]
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SessionState:
        """
        Rebuild a state saved with :meth:`to_dict`.

        Missing keys take their defaults (a store written by an older version).

        Raises:
            ValueError: an unknown key or a value of the wrong type, naming the field.
        """
        names = {field.name for field in attrs.fields(SessionState)}
        unknown = sorted(set(data) - names)
        if unknown:
            msg = f"SessionState: unknown field(s) {', '.join(map(repr, unknown))}"
            raise ValueError(msg)
        kwargs = dict(data)
        if "data" in kwargs:
            raw = kwargs["data"]
            if isinstance(raw, str | bytes) or not isinstance(raw, Iterable):
                msg = f"SessionState.data: expected a list of pairs, got {raw!r}"
                raise ValueError(msg)
            kwargs["data"] = [tuple(p) if isinstance(p, list) else p for p in raw]
        return cls(**kwargs)


_FIELDS: Final = attrs.fields(SessionState)
_FIELD_NAMES: Final = tuple(field.name for field in _FIELDS)
# name -> (field, its converter or None, its validator or None)
_CHECKS: Final[Mapping[str, tuple[attrs.Attribute[Any], Any, Any]]] = MappingProxyType(
    {field.name: (field, field.converter, field.validator) for field in _FIELDS}
)
_KNOWN: Final = frozenset(_FIELD_NAMES).issuperset
_set = object.__setattr__


def _make_copy() -> Any:
    """A function returning a field-by-field copy of a SessionState, bypassing __init__."""
    return compile_constructor(
        SessionState,
        signature="state",
        values={name: f"state.{name}" for name in _FIELD_NAMES},
        name="copy",
    )


_copy: Final[Callable[[SessionState], SessionState]] = _make_copy()


def _make_step() -> Any:
    """A function returning a copy of a SessionState with a new phase and seq (unchecked)."""
    values = {name: f"state.{name}" for name in _FIELD_NAMES}
    values.update(phase="phase", seq="seq")
    return compile_constructor(
        SessionState, signature="state, phase, seq", values=values, name="step"
    )


# The copy every step makes: *phase* comes from TRANSITIONS (always a Phase) and *seq*
# is the checked seq plus one, so neither needs its converter or validator.
_step: Final[Callable[[SessionState, Phase, int], SessionState]] = _make_step()

#: The state of a session with no call yet (a frozen value, so one can be shared).
INITIAL: Final = SessionState()


def evolve(state: SessionState, changes: Mapping[str, Any]) -> SessionState:
    """
    ``attrs.evolve(state, **changes)``, checking only the fields that change.

    Each changed value goes through its field's converter and validator, as in
    ``__init__``; the others were checked when *state* was built and cannot have
    changed since (it is frozen), so they are copied as they are.  Every step
    makes one of these, which is why it avoids ``attrs.evolve``.

    Raises:
        ValueError: a changed value is of the wrong type (as ``__init__`` would).
        TypeError: *changes* names a field SessionState does not have.
    """
    if not _KNOWN(changes):
        unknown = sorted(set(changes) - set(_FIELD_NAMES))
        msg = f"SessionState has no field(s) {', '.join(map(repr, unknown))}"
        raise TypeError(msg)
    return _checked(_copy(state), changes)


def _checked(new: SessionState, changes: Mapping[str, Any]) -> SessionState:
    """Set *changes* on *new* (a copy no one else holds yet), each through its checks."""
    for name, given in changes.items():
        field, convert, validate = _CHECKS[name]
        value = given if convert is None else convert(given)
        if validate is not None:
            validate(new, field, value)
        _set(new, name, value)
    return new


# --- the step functions (Session applies these) -------------------------------


def _legal_names(phase: Phase, kind: type[Event]) -> str:
    names = sorted(t.__name__ for t in TRANSITIONS[phase] if issubclass(t, kind))
    return ", ".join(names) or "nothing"


def _tickets_match(ours: str, theirs: str) -> bool:
    return hmac.compare_digest(ours.encode("utf-8"), theirs.encode("utf-8"))


def apply_call(state: SessionState, call: AnyCall) -> SessionState:
    """
    The state after receiving *call*.

    Raises:
        RemoteProtocolError: the call is illegal in this phase, or its ticket is not
            this session's.  *state* is unchanged (it is a frozen value).
    """
    if not isinstance(call, Call):
        msg = f"expected a Call, got {type(call).__name__}"
        raise TypeError(msg)
    phase = state.phase
    target = TRANSITIONS[phase].get(type(call))
    if target is None:
        msg = (
            f"{call.operation} is not allowed now (session phase {phase.value}; "
            f"allowed: {_legal_names(phase, Call)})"
        )
        raise RemoteProtocolError(msg)
    lost = state.lost_response or (
        phase in IN_FLIGHT and not isinstance(call, ReceiveResponseXMLCall)
    )

    if isinstance(call, AuthenticateCall):
        # A new run.  Per-run fields reset now; the ticket arrives with the reply.
        # Every other field is a per-run one, back to its default: INITIAL's.
        same_user = call.username == state.username
        return evolve(
            INITIAL,
            {
                "phase": target,
                "seq": state.seq + 1,
                "username": call.username,
                "lost_response": lost and same_user,
                "data": state.data if same_user else (),
            },
        )
    # phase, seq and lost_response are right by construction (a Phase from the
    # table, a checked int plus one, a bool); what the call brings is checked.
    changes: dict[str, Any] = {}

    ticket: str | None = getattr(call, "ticket", None)
    if ticket is not None:
        if not state.ticket:
            changes["ticket"] = ticket  # an unknown ticket: this session is about it now
        elif not _tickets_match(state.ticket, ticket):
            msg = f"{call.operation}: the ticket does not belong to this session"
            raise RemoteProtocolError(msg)
    if isinstance(call, SendRequestXMLCall) and target is P.REQUEST_DUE:
        changes.update(
            company_file=call.company_file_name,
            country=call.country,
            qbxml_major=call.major_version,
            qbxml_minor=call.minor_version,
            hcp_received=state.hcp_received or bool(call.hcp_response),
        )
    elif isinstance(call, ConnectionErrorCall):
        changes["connection_error_count"] = state.connection_error_count + 1
        changes["last_error"] = _reported(call.hresult, call.message)
    elif isinstance(call, ReceiveResponseXMLCall) and (call.hresult or call.message):
        changes["last_error"] = _reported(call.hresult, call.message)
    new = _step(state, target, state.seq + 1)
    _set(new, "lost_response", lost)
    return _checked(new, changes) if changes else new


def _reported(hresult: str, message: str) -> str:
    return f"{hresult}: {message}" if hresult and message else hresult or message


def apply_reply(state: SessionState, reply: AnyReply) -> SessionState:
    """
    The state after sending *reply*.

    Raises:
        LocalProtocolError: the reply is illegal in this phase.  The caller moves
            the session to ERROR (see :func:`errored`).
    """
    if not isinstance(reply, Reply):
        msg = f"expected a Reply, got {type(reply).__name__}"
        raise TypeError(msg)
    phase = state.phase
    target = TRANSITIONS[phase].get(type(reply))
    if target is None:
        msg = (
            f"cannot send {type(reply).__name__} now (session phase {phase.value}; "
            f"allowed: {_legal_names(phase, Reply)})"
        )
        raise LocalProtocolError(msg)
    new = _step(state, target, state.seq + 1)
    if isinstance(reply, Authenticated | NoWork | Busy):
        return _checked(new, {"ticket": reply.ticket})
    if isinstance(reply, RequestXML):
        _set(new, "request_count", state.request_count + 1)  # a checked int plus one
    return new


def errored(state: SessionState) -> SessionState:
    """*state* moved to ERROR (after an illegal reply)."""
    return _step(state, P.ERROR, state.seq + 1)


# --- the table, described -------------------------------------------------------


def describe() -> str:
    """
    The transition table as a Markdown table, generated from ``TRANSITIONS``.

    One row per phase: the calls it accepts and the replies it allows, each with the
    phase it leads to.  closeConnection and authenticate, legal everywhere, are listed
    once below the table.
    """
    lines = [
        "| phase | calls accepted → next phase | replies allowed → next phase |",
        "|---|---|---|",
    ]
    for phase in Phase:
        row = TRANSITIONS[phase]
        calls = [
            f"{t.operation} → {row[t].value}"
            for t in CALL_TYPES
            if t in row and t not in _EVERYWHERE
        ]
        replies = [f"{t.__name__} → {row[t].value}" for t in REPLY_TYPES if t in row]
        lines.append(
            f"| {phase.value} | {'<br>'.join(calls) or '—'} | {'<br>'.join(replies) or '—'} |"
        )
    everywhere = ", ".join(f"{t.operation} → {p.value}" for t, p in _EVERYWHERE.items())
    lines.append("")
    lines.append(f"In every phase: {everywhere}.")
    in_flight = ", ".join(p.value for p in Phase if p in IN_FLIGHT)
    lines.append("")
    lines.append(f"Any call but receiveResponseXML in {in_flight} sets lost_response.")
    return "\n".join(lines) + "\n"
