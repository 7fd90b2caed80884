"""SessionState serialization and the Session object that drives the table."""

from __future__ import annotations

import json
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from qbwc import LocalProtocolError, RemoteProtocolError
from qbwc.protocol import (
    AuthenticateCall,
    Authenticated,
    CloseConnectionCall,
    Done,
    Goodbye,
    Phase,
    ReceiveResponseXMLCall,
    RequestXML,
    SendRequestXMLCall,
    Session,
    SessionState,
)
from qbwc.protocol._events import Call
from qbwc.protocol._soap import decode_reply, encode_call
from qbwc.protocol._state import TRANSITIONS
from tests.protocol_strategies import CALLS, REPLIES, calls, replies, session_states

T = "ticket-1"


def send_request(hcp: str = "") -> SendRequestXMLCall:
    return SendRequestXMLCall(
        ticket=T,
        hcp_response=hcp,
        company_file_name="Acme.QBW",
        country="US",
        major_version=13,
        minor_version=0,
    )


class TestSessionState:
    @given(state=session_states)
    def test_dict_round_trip(self, state: SessionState) -> None:
        """from_dict(to_dict(s)) == s, also through JSON text."""
        as_dict = state.to_dict()

        assert state == SessionState.from_dict(as_dict)
        assert state == SessionState.from_dict(json.loads(json.dumps(as_dict)))

    @given(state=session_states)
    def test_dict_is_json_primitives(self, state: SessionState) -> None:
        """to_dict holds only str, int, bool, None and lists: what any store can save."""

        def primitive(value: Any) -> bool:
            if isinstance(value, list):
                return all(primitive(v) for v in value)
            return value is None or type(value) in (str, int, bool)

        assert all(primitive(v) for v in state.to_dict().values())

    def test_defaults(self) -> None:
        """A new state is NEW, seq 0, no ticket, nothing lost."""
        state = SessionState()

        assert (
            state.phase,
            state.seq,
            state.ticket,
            state.lost_response,
        ) == (Phase.NEW, 0, "", False)

    def test_missing_keys_take_defaults(self) -> None:
        """A dict written by an older version (fewer keys) still loads."""
        state = SessionState.from_dict({"ticket": "t", "phase": "READY", "seq": 4})

        assert SessionState(ticket="t", phase=Phase.READY, seq=4) == state

    @pytest.mark.parametrize(
        ("data", "field"),
        [
            ({"bogus": 1}, "bogus"),
            ({"phase": "DANCING"}, "phase"),
            ({"seq": -1}, "seq"),
            ({"seq": True}, "seq"),
            ({"seq": "3"}, "seq"),
            ({"ticket": 5}, "ticket"),
            ({"lost_response": "yes"}, "lost_response"),
            ({"qbxml_major": 1.5}, "qbxml_major"),
            ({"data": "key=value"}, "data"),
            ({"data": [["k", "v", "extra"]]}, "data"),
            ({"data": [["k", "v"], ["k", "w"]]}, "data"),
            ({"data": [["k", 1]]}, "data"),
        ],
    )
    def test_bad_dicts_name_the_field(self, data: dict[str, Any], field: str) -> None:
        """Corrupt store data raises ValueError naming the field, never a deep traceback."""
        with pytest.raises(ValueError, match=field):
            SessionState.from_dict(data)

    def test_data_is_normalised(self) -> None:
        """data accepts a mapping and keeps sorted pairs; get() reads it."""
        state = SessionState(data={"b": "2", "a": "1"})

        assert state.data == (("a", "1"), ("b", "2"))
        assert state.get("b") == "2"
        assert state.get("c") is None
        assert state.get("c", "x") == "x"

    def test_phase_is_a_str(self) -> None:
        """Phase values are plain strings, so they serialize anywhere."""
        assert Phase.AWAITING_RESPONSE == "AWAITING_RESPONSE"
        assert json.dumps(Phase.READY) == '"READY"'


class TestSession:
    def test_steps_bump_seq(self) -> None:
        """Every receive and send is one step: seq rises by one."""
        session = Session()
        session.receive(AuthenticateCall(username="u", password="p"))
        session.send(Authenticated(ticket=T))

        assert session.state.seq == 2
        assert session.phase == Phase.READY
        assert repr(session) == "<Session phase=READY seq=2>"

    def test_resume_on_another_process(self) -> None:
        """A state saved as JSON between calls continues the same conversation."""
        first = Session()
        first.receive(AuthenticateCall(username="u", password="p"))
        first.send(Authenticated(ticket=T))
        saved = json.dumps(first.state.to_dict())

        second = Session(SessionState.from_dict(json.loads(saved)))
        second.receive(send_request(hcp="hcp"))
        second.send(RequestXML(qbxml="<QBXML/>"))
        second.receive(ReceiveResponseXMLCall(ticket=T, response="<QBXML/>"))
        second.send(Done())

        assert second.phase == Phase.FINISHED
        assert second.state.request_count == 1

    def test_receive_error_changes_nothing(self) -> None:
        """An illegal call raises RemoteProtocolError and leaves the very same state."""
        session = Session()
        session.receive(AuthenticateCall(username="u", password="p"))
        before = session.state

        with pytest.raises(RemoteProtocolError, match="sendRequestXML is not allowed"):
            session.receive(send_request())
        assert before is session.state

    def test_send_error_moves_to_error(self) -> None:
        """An illegal reply raises LocalProtocolError and the phase becomes ERROR."""
        session = Session()

        with pytest.raises(LocalProtocolError, match="cannot send Done now"):
            session.send(Done())
        assert session.phase == Phase.ERROR
        assert session.state.seq == 1

    def test_non_events_are_type_errors(self) -> None:
        """Passing something that is not a call or reply is a programming error."""
        with pytest.raises(TypeError):
            Session().receive("authenticate")  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            Session().send(None)  # type: ignore[arg-type]

    def test_bytes_in_bytes_out(self) -> None:
        """receive_data decodes and receives; send_data sends and encodes."""
        session = Session()
        call = session.receive_data(encode_call(AuthenticateCall(username="u", password="p")))
        body = session.send_data(Authenticated(ticket=T))

        assert AuthenticateCall(username="u", password="p") == call
        assert Authenticated(ticket=T) == decode_reply("authenticate", body)
        assert session.phase == Phase.READY

    def test_receive_data_garbage(self) -> None:
        """A malformed body is a RemoteProtocolError and changes nothing."""
        session = Session()

        with pytest.raises(RemoteProtocolError):
            session.receive_data(b"<not-soap/>")
        assert SessionState() == session.state

    def test_receive_data_size_bound(self) -> None:
        """The size bound is enforced before parsing."""
        body = encode_call(AuthenticateCall(username="u", password="p"))

        with pytest.raises(RemoteProtocolError, match="at most 100"):
            Session().receive_data(body, max_bytes=100)

    def test_set_data(self) -> None:
        """The service keeps its bookkeeping in state.data, one step per change."""
        session = Session()
        session.set_data("job", "42")
        session.set_data("set", "qbwc-1")
        session.set_data("job", None)
        session.set_data("absent", None)

        assert session.state.data == (("set", "qbwc-1"),)
        assert session.state.seq == 4

    def test_set_data_rejects_non_str(self) -> None:
        """Values must be text."""
        with pytest.raises(ValueError, match="data"):
            Session().set_data("job", 42)  # type: ignore[arg-type]

    @given(data=st.data())
    def test_random_drive(self, data: st.DataObject) -> None:
        """
        Whatever is thrown at it: receive raises only RemoteProtocolError (state unchanged),
        send only LocalProtocolError (phase ERROR), seq only rises, and the state always
        survives a dict round trip.  Steps are mostly legal, so walks go deep.
        """
        session = Session()
        for _ in range(data.draw(st.integers(0, 40), label="steps")):
            before = session.state
            legal = sorted(TRANSITIONS[before.phase], key=lambda t: t.__name__)
            if legal and data.draw(st.integers(0, 9), label="legal?") < 8:
                event_type = data.draw(st.sampled_from(legal))
                strategy = CALLS[event_type] if event_type in CALLS else REPLIES[event_type]  # type: ignore[index]
                event = data.draw(strategy)
            else:
                event = data.draw(st.one_of(calls, replies))
            own = data.draw(st.integers(0, 9), label="own ticket") < 9
            if own and before.ticket and isinstance(event, Call) and hasattr(event, "ticket"):
                event = attrs.evolve(event, ticket=before.ticket)
            if isinstance(event, Call):
                try:
                    session.receive(event)  # type: ignore[arg-type]
                except RemoteProtocolError:
                    assert before is session.state
                    continue
            else:
                try:
                    session.send(event)
                except LocalProtocolError:
                    assert session.phase == Phase.ERROR
            assert before.seq + 1 == session.state.seq
            assert session.state == SessionState.from_dict(session.state.to_dict())

    def test_close_after_everything(self) -> None:
        """closeConnection then Goodbye works from any phase."""
        for phase in Phase:
            session = Session(SessionState(ticket=T, phase=phase))
            session.receive(CloseConnectionCall(ticket=T))
            session.send(Goodbye(message="bye"))

            assert session.phase == Phase.CLOSED


