"""The transition table: every (phase, event) pair, normal runs, lost responses, stale tickets."""

from __future__ import annotations

from collections import deque
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qbwc import LocalProtocolError, RemoteProtocolError
from qbwc.protocol import (
    AuthenticateCall,
    Authenticated,
    Busy,
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
    Phase,
    Progress,
    ReceiveResponseXMLCall,
    RequestXML,
    SendRequestXMLCall,
    ServerVersion,
    ServerVersionCall,
    Session,
    SessionState,
    TryCompanyFile,
)
from qbwc.protocol._events import CALL_TYPES, REPLY_TYPES, Call, Reply
from qbwc.protocol._state import IN_FLIGHT, TRANSITIONS, describe
from tests.protocol_strategies import CALLS, REPLIES

ROOT = Path(__file__).resolve().parents[1]
T = "ticket-1"


def send_request(ticket: str = T, hcp: str = "") -> SendRequestXMLCall:
    return SendRequestXMLCall(
        ticket=ticket,
        hcp_response=hcp,
        company_file_name=r"C:\Company\Acme.QBW",
        country="US",
        major_version=13,
        minor_version=0,
    )


def response(ticket: str = T, hresult: str = "", message: str = "") -> ReceiveResponseXMLCall:
    return ReceiveResponseXMLCall(
        ticket=ticket, response="<QBXML/>" if not hresult else "", hresult=hresult, message=message
    )


def authed(username: str = "kristy", ticket: str = T) -> Session:
    """A session just past authenticate, with work."""
    session = Session()
    session.receive(AuthenticateCall(username=username, password="secret"))
    session.send(Authenticated(ticket=ticket))
    return session


def awaiting(username: str = "kristy") -> Session:
    """A session with one qbXML request in flight."""
    session = authed(username)
    session.receive(send_request(hcp="<QBXML>hcp</QBXML>"))
    session.send(RequestXML(qbxml="<QBXML/>"))
    assert session.phase == Phase.AWAITING_RESPONSE
    return session


def walk(session: Session, *steps: Any) -> Session:
    for step in steps:
        if isinstance(step, Call):
            session.receive(step)  # type: ignore[arg-type]
        else:
            session.send(step)
    return session


def with_ticket(event: Any, ticket: str) -> Any:
    return attrs.evolve(event, ticket=ticket) if hasattr(event, "ticket") else event


# Every (phase, event type) pair of the transition table, each its own test.
CALL_PAIRS = [(phase, call_type) for phase in Phase for call_type in CALL_TYPES]
REPLY_PAIRS = [(phase, reply_type) for phase in Phase for reply_type in REPLY_TYPES]


# The event's type decides the transition; its values vary less than the pairs do,
# so each pair draws a twentieth of the profile's examples (2 in CI, 100 when thorough).
_PER_PAIR = settings(max_examples=max(2, settings.default.max_examples // 20))


def _pair_id(value: object) -> str:
    return value.name if isinstance(value, Phase) else getattr(value, "__name__", str(value))


class TestTable:
    def test_every_phase_has_a_row(self) -> None:
        """TRANSITIONS has a row for every phase and nothing else."""
        assert set(Phase) == set(TRANSITIONS)

    def test_rows_hold_only_events(self) -> None:
        """Every key is a call or reply class, every target a phase."""
        for row in TRANSITIONS.values():
            for event_type, target in row.items():
                assert event_type in CALL_TYPES or event_type in REPLY_TYPES
                assert isinstance(target, Phase)

    def test_due_phases_take_replies_only(self) -> None:
        """In a *_DUE phase only replies are legal, besides closeConnection/authenticate."""
        for phase, row in TRANSITIONS.items():
            calls = {t for t in row if issubclass(t, Call)} - {
                AuthenticateCall,
                CloseConnectionCall,
            }
            replies = {t for t in row if issubclass(t, Reply)}
            if phase.value.endswith("_DUE"):
                assert set() == calls, phase
                assert replies, phase
            else:
                assert set() == replies, phase

    def test_close_and_authenticate_are_legal_everywhere(self) -> None:
        """closeConnection never faults and authenticate always starts a new run."""
        for row in TRANSITIONS.values():
            assert row[CloseConnectionCall] == Phase.CLOSE_DUE
            assert row[AuthenticateCall] == Phase.AUTH_DUE

    def test_every_event_type_is_used(self) -> None:
        """Every call and reply class appears in the table somewhere."""
        used = {t for row in TRANSITIONS.values() for t in row}

        assert set(CALL_TYPES) | set(REPLY_TYPES) == used

    def test_every_phase_is_reachable(self) -> None:
        """From NEW, every phase but ERROR is reachable through the table."""
        seen = {Phase.NEW}
        queue = deque([Phase.NEW])
        while queue:
            for target in TRANSITIONS[queue.popleft()].values():
                if target not in seen:
                    seen.add(target)
                    queue.append(target)

        assert set(Phase) - {Phase.ERROR} == seen

    def test_no_qbxml_without_a_ticket_we_issued(self) -> None:
        """Without an Authenticated reply, no path leads to a phase where RequestXML is legal."""
        seen = {Phase.NEW, Phase.CLOSED}
        queue = deque(seen)
        while queue:
            for event_type, target in TRANSITIONS[queue.popleft()].items():
                if event_type in (AuthenticateCall, Authenticated):
                    continue
                if target not in seen:
                    seen.add(target)
                    queue.append(target)

        assert not any(RequestXML in TRANSITIONS[p] for p in seen)
        assert Phase.READY not in seen

    @pytest.mark.parametrize(("phase", "call_type"), CALL_PAIRS, ids=_pair_id)
    @_PER_PAIR
    @given(data=st.data())
    def test_every_call_in_every_phase(
        self, phase: Phase, call_type: type[Call], data: st.DataObject
    ) -> None:
        """A call leads to the table's target, or raises RemoteProtocolError and changes nothing."""
        call = with_ticket(data.draw(CALLS[call_type]), T)
        if call_type is AuthenticateCall:
            call = attrs.evolve(call, username="kristy")
        state = SessionState(ticket=T, username="kristy", phase=phase, seq=7)
        session = Session(state)
        target = TRANSITIONS[phase].get(call_type)

        if target is None:
            with pytest.raises(RemoteProtocolError, match=call_type.operation):
                session.receive(call)
            assert state is session.state
        else:
            session.receive(call)
            assert target == session.phase
            assert session.state.seq == 8
            lost = phase in IN_FLIGHT and call_type is not ReceiveResponseXMLCall
            assert lost == session.state.lost_response

    @pytest.mark.parametrize(("phase", "reply_type"), REPLY_PAIRS, ids=_pair_id)
    @_PER_PAIR
    @given(data=st.data())
    def test_every_reply_in_every_phase(
        self, phase: Phase, reply_type: type[Reply], data: st.DataObject
    ) -> None:
        """A reply leads to the table's target, or raises LocalProtocolError: phase ERROR."""
        reply = data.draw(REPLIES[reply_type])
        session = Session(SessionState(ticket=T, phase=phase, seq=3))
        target = TRANSITIONS[phase].get(reply_type)

        if target is None:
            with pytest.raises(LocalProtocolError, match=reply_type.__name__):
                session.send(reply)
            assert session.phase == Phase.ERROR
        else:
            session.send(reply)
            assert target == session.phase
        assert session.state.seq == 4

    def test_reply_type_decides_not_value(self) -> None:
        """Progress(99) continues and Done finishes: the split classes carry the range."""
        for reply, target in [(Progress(percent=99), Phase.READY), (Done(), Phase.FINISHED)]:
            session = Session(SessionState(ticket=T, phase=Phase.PROGRESS_DUE))
            session.send(reply)

            assert target == session.phase


class TestNormalRuns:
    """The call sequences of docs/protocol.md, "A run, call by call" ([PG] p19–25)."""

    def test_versions_then_authenticate(self) -> None:
        """serverVersion and clientVersion are answered in NEW and leave it there."""
        session = walk(
            Session(),
            ServerVersionCall(),
            ServerVersion(version="qbwc 1.0"),
            ClientVersionCall(version="2.3.0.215"),
            ClientVersionWarning(message="please upgrade soon"),
        )

        assert session.phase == Phase.NEW
        assert session.state.seq == 4

    @pytest.mark.parametrize(
        "reply", [ClientVersionErrorReply(message="too old"), ClientVersionUpgrade(version="2.1")]
    )
    def test_client_version_refused(self, reply: Any) -> None:
        """E: and O: stop the run."""
        session = walk(Session(), ClientVersionCall(version="1.0"), reply)

        assert session.phase == Phase.CLOSED

    def test_the_2008_run_without_work(self) -> None:
        """The consolibyte 2008 session, first run: "" from sendRequestXML, getLastError, close."""
        session = walk(
            Session(),
            ServerVersionCall(),
            ServerVersion(version="PHP QuickBooks SOAP Server v1.5.0"),
            ClientVersionCall(version="2.0.0.116"),
            ClientVersionOK(),
            AuthenticateCall(username="api", password="password"),
            Authenticated(ticket=T),
            send_request(hcp="<QBXML>hcp</QBXML>"),
            NoRequest(),
            GetLastErrorCall(ticket=T),
            LastErrorReply(message="No registered functions for action: ItemServiceQuery"),
            CloseConnectionCall(ticket=T),
            Goodbye(message="Complete!"),
        )
        state = session.state

        assert state.phase == Phase.CLOSED
        assert (state.ticket, state.username) == (T, "api")
        assert state.hcp_received
        assert (
            state.company_file,
            state.country,
            state.qbxml_major,
            state.qbxml_minor,
        ) == (r"C:\Company\Acme.QBW", "US", 13, 0)
        assert state.request_count == 0
        assert not state.lost_response

    def test_progress_then_done(self) -> None:
        """0–99 asks for more; 100 finishes; closeConnection follows."""
        session = walk(
            awaiting(),
            response(),
            Progress(percent=50),
            send_request(),
            RequestXML(qbxml="<QBXML/>"),
            response(),
            Done(),
            CloseConnectionCall(ticket=T),
            Goodbye(message="2 invoices sent"),
        )

        assert session.phase == Phase.CLOSED
        assert session.state.request_count == 2
        assert session.state.hcp_received  # the first call carried it; later ones do not

    def test_failed_then_last_error(self) -> None:
        """A negative code leads to getLastError, then closeConnection ([PG] p24, p77)."""
        session = walk(
            awaiting(),
            response(hresult="0x80040400", message="parse error"),
            Failed(code=-101),
            GetLastErrorCall(ticket=T),
            LastErrorReply(message="QuickBooks could not read the request (ref QBWC-7F3K2Q)"),
            CloseConnectionCall(ticket=T),
            Goodbye(message="Stopped"),
        )

        assert session.phase == Phase.CLOSED
        assert session.state.last_error == "0x80040400: parse error"

    @pytest.mark.parametrize("no_request", [NoRequest(), PauseRequest()])
    def test_noop_pause(self, no_request: Any) -> None:
        """"" or NoOp, then getLastError → NoOp: QBWC waits and calls sendRequestXML again."""
        session = walk(
            authed(),
            send_request(hcp="hcp"),
            no_request,
            GetLastErrorCall(ticket=T),
            NoOp(),
            send_request(),
            RequestXML(qbxml="<QBXML/>"),
        )

        assert session.phase == Phase.AWAITING_RESPONSE

    def test_connection_error_retry_then_success(self) -> None:
        """connectionError → a path retries; the retry may succeed with sendRequestXML."""
        session = walk(
            authed(),
            ConnectionErrorCall(ticket=T, hresult="0x8004040A", message="another file is open"),
            TryCompanyFile(path=""),
            send_request(hcp="hcp"),
        )

        assert session.phase == Phase.REQUEST_DUE
        assert session.state.connection_error_count == 1
        assert session.state.last_error == "0x8004040A: another file is open"

    def test_connection_error_loop_then_give_up(self) -> None:
        """Retries are counted; after "done" QBWC may call getLastError or closeConnection."""
        session = authed()
        for _ in range(3):
            walk(session, ConnectionErrorCall(ticket=T, hresult="0x80040408", message="x"))
            walk(session, TryCompanyFile(path=r"C:\Company\Acme.QBW"))
        walk(session, ConnectionErrorCall(ticket=T, hresult="0x80040408", message="x"), GiveUp())

        assert session.state.connection_error_count == 4
        assert session.phase == Phase.AWAITING_LAST_ERROR
        walk(session, GetLastErrorCall(ticket=T), LastErrorReply(message="Start QuickBooks"))
        assert session.phase == Phase.FINISHED

    @pytest.mark.parametrize(
        ("reply", "phase", "ticket"),
        [
            (NoWork(ticket=T), Phase.FINISHED, T),
            (Busy(ticket=T, postpone_seconds=60), Phase.FINISHED, T),
            (InvalidUserReply(), Phase.CLOSED, ""),
        ],
    )
    def test_authenticate_refusals(self, reply: Any, phase: Phase, ticket: str) -> None:
        """none and busy expect closeConnection; nvu has no ticket, so nothing follows."""
        session = walk(Session(), AuthenticateCall(username="u", password="p"), reply)

        assert phase == session.phase
        assert ticket == session.state.ticket
        walk(session, CloseConnectionCall(ticket=ticket), Goodbye(message="OK"))
        assert session.phase == Phase.CLOSED

    def test_interactive_accepted(self) -> None:
        """Interactive mode: URL, interactiveDone polls, then closeConnection."""
        session = walk(
            authed(),
            send_request(hcp="hcp"),
            NoRequest(),
            GetLastErrorCall(ticket=T),
            InteractiveMode(),
            GetInteractiveURLCall(ticket=T, session_id="abc"),
            InteractiveURL(url="https://example.com/relink"),
            InteractiveDoneCall(ticket=T),
            InteractiveDoneReply(message=""),
            InteractiveDoneCall(ticket=T),
            InteractiveDoneReply(),
            CloseConnectionCall(ticket=T),
            Goodbye(message="Relinked"),
        )

        assert session.phase == Phase.CLOSED

    @pytest.mark.parametrize("after_url", [False, True])
    def test_interactive_rejected(self, after_url: bool) -> None:
        """The user declines (or the prompt times out): our text, then closeConnection."""
        session = walk(
            authed(),
            send_request(hcp="hcp"),
            NoRequest(),
            GetLastErrorCall(ticket=T),
            InteractiveMode(),
        )
        if after_url:
            walk(session, GetInteractiveURLCall(ticket=T, session_id="s"), InteractiveURL(url="u"))
        walk(
            session,
            InteractiveRejectedCall(ticket=T, reason="User rejected interactive mode"),
            InteractiveRejectedReply(message="Nothing was changed"),
        )

        assert session.phase == Phase.FINISHED


class TestLostResponses:
    """A request whose response can no longer arrive sets lost_response ([PG] p42, p53)."""

    @pytest.mark.parametrize(
        "call",
        [
            send_request(),
            ConnectionErrorCall(ticket=T, hresult="0x80040401", message="gone"),
            GetLastErrorCall(ticket=T),
            CloseConnectionCall(ticket=T),
            AuthenticateCall(username="kristy", password="secret"),
        ],
        ids=lambda c: type(c).__name__,
    )
    def test_any_other_call_while_awaiting(self, call: Any) -> None:
        """Anything but receiveResponseXML while a request is in flight means it was lost."""
        session = awaiting()
        session.receive(call)

        assert session.state.lost_response

    def test_response_arrives(self) -> None:
        """receiveResponseXML in time: nothing was lost."""
        session = walk(awaiting(), response(), Progress(percent=10))

        assert not session.state.lost_response

    def test_crash_while_request_due(self) -> None:
        """A state saved in REQUEST_DUE may have returned qbXML: the next call flags it."""
        session = authed()
        session.receive(send_request(hcp="hcp"))
        session.receive(CloseConnectionCall(ticket=T))

        assert session.state.lost_response

    def test_survives_restart_by_same_user(self) -> None:
        """A new authenticate by the same user keeps the flag (and data), resets the run."""
        session = awaiting()
        session.set_data("message_set", "qbwc-1")
        walk(
            session,
            AuthenticateCall(username="kristy", password="secret"),
            Authenticated(ticket="t2"),
        )
        state = session.state

        assert state.lost_response
        assert state.get("message_set") == "qbwc-1"
        assert (
            state.ticket,
            state.request_count,
            state.hcp_received,
            state.qbxml_major,
        ) == ("t2", 0, False, None)

    def test_another_user_starts_clean(self) -> None:
        """An authenticate for another account on this state does not inherit its flag or data."""
        session = awaiting()
        session.set_data("message_set", "qbwc-1")
        session.receive(AuthenticateCall(username="someone-else", password="x"))

        assert not session.state.lost_response
        assert session.state.data == ()

    def test_cleared_after_recovery(self) -> None:
        """The service clears the flag once it has asked QuickBooks about the lost set."""
        session = awaiting()
        session.receive(send_request())
        session.clear_lost_response()
        session.send(RequestXML(qbxml="<QBXML>status query</QBXML>"))
        session.receive(response())

        assert not session.state.lost_response

    def test_duplicate_send_request(self) -> None:
        """A repeated sendRequestXML is treated as the response lost, never as new work."""
        session = awaiting()
        session.receive(send_request())

        assert session.phase == Phase.REQUEST_DUE
        assert session.state.lost_response


class TestDuplicatesAndStaleTickets:
    def test_duplicate_response_is_refused(self) -> None:
        """A second receiveResponseXML for a recorded response changes nothing."""
        session = walk(awaiting(), response(), Progress(percent=50))
        before = session.state

        with pytest.raises(RemoteProtocolError, match="receiveResponseXML is not allowed"):
            session.receive(response())
        assert before is session.state

    def test_call_while_reply_due(self) -> None:
        """The Web Connector never calls again before it has our reply."""
        session = authed()
        session.receive(send_request())

        with pytest.raises(RemoteProtocolError, match="REQUEST_DUE"):
            session.receive(send_request())

    def test_ticket_mismatch(self) -> None:
        """A call with another session's ticket is refused and changes nothing."""
        session = authed()

        with pytest.raises(RemoteProtocolError, match="ticket does not belong"):
            session.receive(send_request(ticket="someone-elses"))
        assert session.phase == Phase.READY

    def test_close_with_unknown_ticket(self) -> None:
        """closeConnection for a ticket we never saw gets a polite answer, not a fault."""
        session = walk(
            Session(), CloseConnectionCall(ticket="gone"), Goodbye(message="Invalid ticket")
        )

        assert session.phase == Phase.CLOSED
        assert session.state.ticket == "gone"

    def test_close_twice(self) -> None:
        """A second closeConnection is answered again."""
        session = walk(authed(), CloseConnectionCall(ticket=T), Goodbye(message="OK"))
        walk(session, CloseConnectionCall(ticket=T), Goodbye(message="OK"))

        assert session.phase == Phase.CLOSED

    @pytest.mark.parametrize("start", [Phase.NEW, Phase.CLOSED])
    def test_stale_send_request(self, start: Phase) -> None:
        """sendRequestXML on an unknown or closed ticket: "", then a getLastError text."""
        session = walk(
            Session(SessionState(phase=start)),
            send_request(ticket="expired"),
            NoRequest(),
            GetLastErrorCall(ticket="expired"),
            LastErrorReply(message="This session expired; run the update again (ref QBWC-ABC123)"),
            CloseConnectionCall(ticket="expired"),
            Goodbye(message="Expired"),
        )

        assert session.phase == Phase.CLOSED

    def test_stale_paths(self) -> None:
        """receiveResponseXML gets a negative code and connectionError gets "done"."""
        unknown = walk(
            Session(), response(ticket="x"), Failed(code=-1), GetLastErrorCall(ticket="x")
        )
        closed = walk(
            Session(SessionState(ticket=T, phase=Phase.CLOSED)),
            ConnectionErrorCall(ticket=T, hresult="", message=""),
            GiveUp(),
            CloseConnectionCall(ticket=T),
        )

        assert unknown.phase == Phase.STALE_LAST_ERROR_DUE
        assert closed.phase == Phase.CLOSE_DUE

    def test_stale_ticket_never_gets_qbxml(self) -> None:
        """Sending qbXML on a ticket we did not issue is a local error: ERROR."""
        session = walk(Session(), send_request(ticket="forged"))

        with pytest.raises(LocalProtocolError, match="cannot send RequestXML"):
            session.send(RequestXML(qbxml="<QBXML/>"))
        assert session.phase == Phase.ERROR

    def test_error_leads_out_only_by_close_or_authenticate(self) -> None:
        """After a local error only closeConnection and authenticate are accepted."""
        session = Session(SessionState(ticket=T, phase=Phase.ERROR))

        with pytest.raises(RemoteProtocolError):
            session.receive(send_request())
        walk(session, CloseConnectionCall(ticket=T), Goodbye(message="Sorry"))
        assert session.phase == Phase.CLOSED
        assert session.state.lost_response  # after a bug we cannot know

    def test_interactive_outside_interactive_mode(self) -> None:
        """Interactive calls are refused unless we asked for interactive mode."""
        with pytest.raises(RemoteProtocolError, match="interactiveDone"):
            authed().receive(InteractiveDoneCall(ticket=T))


class TestDescribe:
    def test_lists_every_phase_and_event(self) -> None:
        """The generated table names every phase and every event type."""
        text = describe()

        for phase in Phase:
            assert f"| {phase.value} |" in text
        for reply_type in REPLY_TYPES:
            assert reply_type.__name__ in text
        for call_type in CALL_TYPES:
            assert call_type.operation in text

    def test_docs_show_the_generated_table(self) -> None:
        """docs/protocol.md carries describe()'s output verbatim (paste it anew on changes)."""
        page = (ROOT / "docs" / "protocol.md").read_text(encoding="utf-8")

        assert describe() in page
