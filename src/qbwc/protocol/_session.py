"""One Web Connector session, driven call by call: the sans-I/O object services build on."""

from __future__ import annotations

from qbwc._xml import DEFAULT_MAX_BYTES
from qbwc.exceptions import LocalProtocolError
from qbwc.protocol._events import AnyCall, AnyReply
from qbwc.protocol._soap import decode_call, encode_reply
from qbwc.protocol._state import (
    INITIAL,
    Phase,
    SessionState,
    apply_call,
    apply_reply,
    errored,
    evolve,
)

# Everything in __all__ gets re-exported as part of qbwc.protocol, the public API.
__all__ = ["Session"]


class Session:
    """
    The protocol state of one Web Connector session, without any I/O.

    Feed it each call the Web Connector makes with :meth:`receive` and each answer
    with :meth:`send`; it checks both against the transition table and keeps
    :attr:`state`, a frozen :class:`SessionState` to save between HTTP requests
    (pass it back in to continue on another process).

    If :meth:`receive` or :meth:`receive_data` raises anything but
    :exc:`~qbwc.RemoteProtocolError`, or :meth:`send` anything but
    :exc:`~qbwc.LocalProtocolError`, that is a bug: please report it.
    """

    __slots__ = ("_state",)

    def __init__(self, state: SessionState | None = None) -> None:
        self._state = state if state is not None else INITIAL

    def __repr__(self) -> str:
        return f"<Session phase={self._state.phase.value} seq={self._state.seq}>"

    @property
    def state(self) -> SessionState:
        """The current state: a frozen value to persist."""
        return self._state

    @property
    def phase(self) -> Phase:
        """Shortcut for ``state.phase``."""
        return self._state.phase

    def receive(self, call: AnyCall) -> None:
        """
        Take in a call from the Web Connector and advance the phase.

        Raises:
            RemoteProtocolError: the call is illegal in this phase, or carries
                another session's ticket.  The state does not change.
        """
        self._state = apply_call(self._state, call)

    def send(self, reply: AnyReply) -> None:
        """
        Record the reply to the call just received and advance the phase.

        Raises:
            LocalProtocolError: the reply is illegal in this phase; the phase
                becomes ERROR.
        """
        try:
            self._state = apply_reply(self._state, reply)
        except LocalProtocolError:
            self._state = errored(self._state)
            raise

    def receive_data(self, body: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> AnyCall:
        """
        Decode one SOAP request body, :meth:`receive` it, and return the call.

        Raises:
            RemoteProtocolError: the body is not a call we accept (malformed,
                oversized, SOAP 1.2, unknown operation...) or the call is illegal now.
        """
        call = decode_call(body, max_bytes=max_bytes)
        self.receive(call)
        return call

    def send_data(self, reply: AnyReply) -> bytes:
        """:meth:`send` *reply* and return the SOAP response body to write."""
        self.send(reply)
        return encode_reply(reply)

    def set_data(self, key: str, value: str | None) -> None:
        """Store (or, with None, remove) one bookkeeping entry in ``state.data``."""
        pairs = dict(self._state.data)
        if value is None:
            pairs.pop(key, None)
        else:
            pairs[key] = value
        self._state = evolve(self._state, {"data": pairs, "seq": self._state.seq + 1})

    def clear_lost_response(self) -> None:
        """Mark the lost response as dealt with (after error recovery)."""
        self._state = evolve(self._state, {"lost_response": False, "seq": self._state.seq + 1})
