"""Hypothesis strategies for the Web Connector protocol core (calls, replies, states)."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from qbwc.protocol._events import (
    CALL_TYPES,
    INT_MAX,
    INT_MIN,
    REPLY_TYPES,
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
    Reply,
    RequestXML,
    SendRequestXMLCall,
    ServerVersion,
    ServerVersionCall,
    TryCompanyFile,
)
from qbwc.protocol._state import Phase, SessionState

# Text XML can carry, biased towards what breaks naive codecs: markup characters,
# a CDATA terminator, CR (normalised away by parsers unless escaped), non-ASCII,
# astral characters.
_SPECIAL = st.sampled_from(
    ["&", "<", ">", "]]>", '"', "'", "\r", "\r\n", "\t", "é", "ł", "€", "😀", "\u2028", " "]
)
_CHARS = st.characters(
    min_codepoint=0x20,
    exclude_categories=("Cs",),
    exclude_characters="\ufffe\uffff",
)
xml_text = st.lists(st.one_of(_SPECIAL, _CHARS), max_size=30).map("".join)
tickets = st.one_of(
    st.uuids().map(str),
    st.text(alphabet="0123456789abcdef", min_size=32, max_size=32),
    xml_text.filter(bool),
)
seconds = st.none() | st.integers(0, INT_MAX)
versions = st.integers(0, INT_MAX)


def _not_folded(*words: str) -> Any:
    folded = {w.casefold() for w in words}
    return lambda text: text.casefold() not in folded


CALLS: dict[type[Call], st.SearchStrategy[Any]] = {
    ServerVersionCall: st.just(ServerVersionCall()),
    ClientVersionCall: st.builds(ClientVersionCall, version=xml_text),
    AuthenticateCall: st.builds(AuthenticateCall, username=xml_text, password=xml_text),
    SendRequestXMLCall: st.builds(
        SendRequestXMLCall,
        ticket=tickets,
        hcp_response=xml_text,
        company_file_name=xml_text,
        country=xml_text,
        major_version=versions,
        minor_version=versions,
    ),
    ReceiveResponseXMLCall: st.builds(
        ReceiveResponseXMLCall,
        ticket=tickets,
        response=xml_text,
        hresult=xml_text,
        message=xml_text,
    ),
    ConnectionErrorCall: st.builds(
        ConnectionErrorCall, ticket=tickets, hresult=xml_text, message=xml_text
    ),
    GetLastErrorCall: st.builds(GetLastErrorCall, ticket=tickets),
    CloseConnectionCall: st.builds(CloseConnectionCall, ticket=tickets),
    GetInteractiveURLCall: st.builds(GetInteractiveURLCall, ticket=tickets, session_id=xml_text),
    InteractiveDoneCall: st.builds(InteractiveDoneCall, ticket=tickets),
    InteractiveRejectedCall: st.builds(InteractiveRejectedCall, ticket=tickets, reason=xml_text),
}

REPLIES: dict[type[Reply], st.SearchStrategy[Any]] = {
    ServerVersion: st.builds(ServerVersion, version=xml_text),
    ClientVersionOK: st.just(ClientVersionOK()),
    ClientVersionWarning: st.builds(ClientVersionWarning, message=xml_text),
    ClientVersionErrorReply: st.builds(ClientVersionErrorReply, message=xml_text),
    ClientVersionUpgrade: st.builds(ClientVersionUpgrade, version=xml_text),
    Authenticated: st.builds(
        Authenticated,
        ticket=tickets,
        company_file=xml_text.filter(_not_folded("none", "nvu", "busy")),
        postpone_seconds=seconds,
        min_run_every_seconds=seconds,
    ),
    NoWork: st.builds(
        NoWork, ticket=tickets, postpone_seconds=seconds, min_run_every_seconds=seconds
    ),
    InvalidUserReply: st.just(InvalidUserReply()),
    Busy: st.builds(Busy, ticket=tickets, postpone_seconds=seconds),
    RequestXML: st.builds(RequestXML, qbxml=xml_text.filter(_not_folded("", "NoOp"))),
    NoRequest: st.just(NoRequest()),
    PauseRequest: st.just(PauseRequest()),
    Progress: st.builds(Progress, percent=st.integers(0, 99)),
    Done: st.just(Done()),
    Failed: st.builds(Failed, code=st.integers(INT_MIN, -1)),
    LastErrorReply: st.builds(
        LastErrorReply, message=xml_text.filter(_not_folded("NoOp", "Interactive mode"))
    ),
    NoOp: st.just(NoOp()),
    InteractiveMode: st.just(InteractiveMode()),
    TryCompanyFile: st.builds(TryCompanyFile, path=xml_text.filter(_not_folded("done"))),
    GiveUp: st.just(GiveUp()),
    Goodbye: st.builds(Goodbye, message=xml_text),
    InteractiveURL: st.builds(InteractiveURL, url=xml_text),
    InteractiveDoneReply: st.builds(InteractiveDoneReply, message=xml_text),
    InteractiveRejectedReply: st.builds(InteractiveRejectedReply, message=xml_text),
}

assert set(CALLS) == set(CALL_TYPES)
assert set(REPLIES) == set(REPLY_TYPES)

calls: st.SearchStrategy[Any] = st.one_of(*CALLS.values())
replies: st.SearchStrategy[Any] = st.one_of(*REPLIES.values())

_keys = st.text(min_size=1, max_size=10)
session_states = st.builds(
    SessionState,
    ticket=st.one_of(st.just(""), tickets),
    username=xml_text,
    phase=st.sampled_from(Phase),
    seq=st.integers(0, 2**53),
    company_file=xml_text,
    country=st.sampled_from(["", "US", "CA", "UK", "AU"]),
    qbxml_major=st.none() | versions,
    qbxml_minor=st.none() | versions,
    hcp_received=st.booleans(),
    lost_response=st.booleans(),
    connection_error_count=st.integers(0, 1000),
    last_error=xml_text,
    request_count=st.integers(0, 10**6),
    data=st.dictionaries(_keys, st.text(max_size=20), max_size=5),
)
