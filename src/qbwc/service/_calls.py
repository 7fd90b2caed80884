"""The per-call handlers: serverVersion to closeConnection, and tickets."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from typing import Any, Final

import attrs

from qbwc.exceptions import QBXMLError, RemoteProtocolError, XMLParseError
from qbwc.protocol._events import (
    AnyCall,
    AnyReply,
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
    ReceiveResponseXMLCall,
    RequestXML,
    SendRequestXMLCall,
    ServerVersion,
    ServerVersionCall,
    TryCompanyFile,
)
from qbwc.protocol._session import Session
from qbwc.protocol._state import Phase
from qbwc.protocol._state import evolve as _evolve_state
from qbwc.service import _texts as texts
from qbwc.service._accounts import _Accounts
from qbwc.service._base import _Context, _Step, _version_key
from qbwc.service._company import _Company
from qbwc.service._records import (
    _FINISHED_PHASES,
    _KEEP_EXPIRED,
    _PURGE_EVERY,
    _TICK,
    _load_record,
    _Tally,
    _ticket_key,
)
from qbwc.service._recovery import _identity, _Recovery, _summary_of
from qbwc.service._texts import _CONNECTION_FINAL, _REFERENCE
from qbwc.store._protocol import Account, SessionRecord

__all__ = ["_Calls", "_late_call"]

log = logging.getLogger("qbwc.service")


def _late_call(call: AnyCall, phase: Phase) -> bool:
    """Whether an expired session may still make *call* in *phase* (see _ticketed)."""
    if isinstance(call, ReceiveResponseXMLCall):
        return phase is Phase.AWAITING_RESPONSE
    if isinstance(call, GetLastErrorCall):
        return phase is Phase.AWAITING_LAST_ERROR
    return isinstance(call, CloseConnectionCall)


class _Calls(_Accounts, _Company, _Recovery):
    """The per-call handlers."""

    # -- dispatch ----------------------------------------------------------------------------

    def _dispatch(self, call: AnyCall) -> _Step:
        handler = _HANDLERS.get(type(call))
        if handler is None:  # pragma: no cover - AnyCall is exhaustive, its types final
            msg = f"unknown call {call!r}"
            raise RemoteProtocolError(msg)
        return handler(self, call)

    @staticmethod
    def _stateless(call: AnyCall, reply: AnyReply) -> AnyReply:
        # A call before authenticate: the core checks it in a fresh session.
        session = Session()
        session.receive(call)
        session.send(reply)
        return reply

    def _client_version(self, version: str) -> AnyReply:
        if self.min_client_version is None:
            return ClientVersionOK()
        have = _version_key(version)
        need = _version_key(self.min_client_version)
        if have is None or need is None or have >= need:
            return ClientVersionOK()
        log.info("Web Connector %s is older than %s", version, self.min_client_version)
        if self.old_client == "upgrade":
            return ClientVersionUpgrade(version=self.min_client_version)
        text = texts.old_client(version, self.app_name, self.min_client_version)
        if self.old_client == "error":
            return ClientVersionErrorReply(message=text)
        return ClientVersionWarning(message=text)

    def _authenticate(self, call: AuthenticateCall) -> AnyReply:
        session = Session()
        session.receive(call)
        username = call.username
        # The slow hash runs outside the transaction: it must not hold the lock.
        login = self._check_login(username, call.password)
        if not login.ok:
            reference = self._report(logging.WARNING, "login refused", username=username)
            reply: AnyReply = InvalidUserReply(reference=reference)
            session.send(reply)
            return reply
        now = self._now()
        ticket = self._new_ticket()
        with self.store.transaction() as tx:
            account = tx.get_account(username, for_update=True)
            if account is None:  # an authenticator vouched for a user we have not seen
                from qbwc.qwc import new_file_id  # noqa: PLC0415

                account = Account(username=username, file_id=new_file_id())
                tx.put_account(account)
            account = self._logged_in(tx, account, login, now)
            if now >= self._purge_due or now < self._purge_due - _PURGE_EVERY:
                tx.purge_sessions(now - _KEEP_EXPIRED)
                self._purge_due = now + _PURGE_EVERY
            records = tx.sessions_for(username)
            finished: list[SessionRecord] = []
            silent: list[SessionRecord] = []
            if records:  # usually none: the last session closed
                in_flight = tx.get_in_flight(username)
                holder = None
                if in_flight is not None and in_flight.kind == "write":
                    holder = in_flight.ticket
                recent = now - dt.timedelta(seconds=self.busy_timeout)
            for record in records:
                if record.expires_at < now:
                    continue  # over: expired, or replaced by an earlier session
                state, _, seen_at = _load_record(record.state)
                if state.phase in _FINISHED_PHASES:
                    finished.append(record)
                    continue
                if record.ticket == holder and state.phase is Phase.AWAITING_RESPONSE:
                    # It was handed the writes in flight and QuickBooks may still be
                    # running them: until it closes or expires, no other session may
                    # ask QuickBooks about them (and send them again on a 600).
                    log.info(
                        "account %r: a session is waiting for QuickBooks to run message set "
                        "%s; answered busy until it ends or expires",
                        username,
                        in_flight.message_set_id if in_flight is not None else None,
                    )
                    reply = Busy(ticket=ticket, postpone_seconds=self.busy_postpone_seconds)
                    session.send(reply)
                    return reply
                if seen_at >= recent:
                    log.info("account %r: another session is running; answered busy", username)
                    reply = Busy(ticket=ticket, postpone_seconds=self.busy_postpone_seconds)
                    session.send(reply)
                    return reply
                silent.append(record)
            for old in finished:
                tx.delete_session(old.ticket)  # [PG] p42: drop the old ticket
            for old in silent:
                # Silent for busy_timeout with no writes at QuickBooks: this run replaces
                # it.  Its ticket expires now, but the record stays (for _KEEP_EXPIRED),
                # so that a late answer from it is still recorded (see _ticketed).
                tx.put_session(
                    attrs.evolve(old, expires_at=now - _TICK, active=False),
                    expected_seq=old.seq,
                )
            has_work = (
                tx.get_in_flight(username) is not None
                or bool(tx.next_pending(username, limit=1))
                or bool(tx.list_follows(username))  # a pull (docs/pulls.md)
            )
            if not has_work:
                reply = NoWork(ticket=ticket, min_run_every_seconds=self.min_run_every_seconds)
                session.send(reply)
                return reply
            company = ""
            if self.open_company_file and account.company_file:
                company = account.company_file
            reply = Authenticated(
                ticket=ticket,
                company_file=company,
                min_run_every_seconds=self.min_run_every_seconds,
            )
            session.send(reply)
            tally = _Tally()
            # Stored under the ticket's hash: the clear ticket leaves only in the reply.
            stored = _evolve_state(session.state, {"ticket": _ticket_key(ticket)})
            tx.put_session(self._record(stored, tally, now, None), expected_seq=None)
        log.info("account %r: session started", username)
        return reply

    # -- calls that carry a ticket --------------------------------------------------------

    def _ticketed(self, call: Any, handler: Callable[[_Context], AnyReply]) -> _Step:
        now = self._now()
        clear_ticket = call.ticket
        # From here on the call carries the ticket's hash, as the store and the
        # stored session do (the clear ticket is never stored).
        call = attrs.evolve(call, ticket=_ticket_key(call.ticket))
        with self.store.transaction() as tx:
            record = tx.get_session(call.ticket)
            late = False
            if record is not None and record.expires_at < now:
                # Expired, or replaced by a later session: it never gets work again,
                # but QuickBooks' answer to a set it was handed is still recorded, and
                # it may still ask what happened, and close (docs/service.md).
                phase = _load_record(record.state)[0].phase
                late = _late_call(call, phase)
                if not late:
                    if isinstance(call, CloseConnectionCall):
                        tx.delete_session(record.ticket)
                    record = None
            if record is None:
                return _Step(self._stale(call, clear_ticket))
            account = tx.get_account(record.username, for_update=True)
            if account is None:
                tx.delete_session(record.ticket)
                return _Step(self._stale(call, clear_ticket))
            state, tally, _ = _load_record(record.state)
            session = Session(state)
            session.receive(call)
            ctx = _Context(
                tx=tx, session=session, tally=tally, account=account, now=now, call=call, late=late
            )
            reply = handler(ctx)
            session.send(reply)
            if isinstance(call, CloseConnectionCall):
                tx.delete_session(record.ticket)
            else:
                tx.put_session(
                    self._record(
                        session.state,
                        ctx.tally,
                        now,
                        record.seq,
                        record.expires_at if late else None,
                    ),
                    expected_seq=record.seq,
                )
            if ctx.account is not account:
                tx.put_account(ctx.account)
        return _Step(reply, tuple(ctx.notices))

    def _stale(self, call: Any, clear_ticket: str) -> AnyReply:
        """
        Answer a call whose ticket we do not know (expired, closed, never issued).

        *call* carries the ticket's hash; *clear_ticket* is the ticket as sent.
        """
        session = Session()
        session.receive(call)
        reply: AnyReply
        if isinstance(call, SendRequestXMLCall):
            reply = NoRequest()
        elif isinstance(call, ReceiveResponseXMLCall):
            self._stale_answer(call)
            reply = Failed(code=-1)
        elif isinstance(call, ConnectionErrorCall):
            reply = GiveUp()
        elif isinstance(call, GetLastErrorCall):
            reference = self._report(logging.INFO, "getLastError for an unknown or expired ticket")
            reply = LastErrorReply(message=texts.session_expired(self.app_name, reference))
        elif isinstance(call, CloseConnectionCall) and _REFERENCE.fullmatch(clear_ticket):
            # After "nvu": the ticket slot carried the refusal's reference.
            reply = Goodbye(message=texts.login_refused(self.app_name, clear_ticket))
        elif isinstance(call, CloseConnectionCall):
            reply = Goodbye(message=texts.CONNECTION_CLOSED)
        else:
            # Interactive calls on an unknown ticket: the table refuses them.
            msg = f"{call.operation}: unknown or expired ticket"
            raise RemoteProtocolError(msg)
        session.send(reply)
        return reply

    def _stale_answer(self, call: ReceiveResponseXMLCall) -> None:
        """
        Log an answer that came with a ticket we have no record of.

        Nothing can be recorded (whose jobs?), but when it reports writes they may
        exist in QuickBooks a second time: logged at ERROR, naming them.
        """
        reported: list[str] = []
        message_set = None
        if call.response:
            try:
                answer = self._parse_response(call.response)
            except (QBXMLError, XMLParseError):
                answer = None
            if answer is not None:
                message_set = answer.message_set_id
                reported = [
                    f"job {r.request_id}: {r.name} {_identity(_summary_of(r))}"
                    for r in answer.responses[:100]
                    if r.ok and not r.name.endswith("QueryRs")
                ]
        if reported:
            self._report(
                logging.ERROR,
                "possible duplicate: check QuickBooks: an answer for an unknown or expired "
                "session reports writes",
                message_set=message_set,
                reported="; ".join(reported),
            )
        else:
            self._report(logging.WARNING, "a response arrived for an unknown or expired ticket")

    # -- sendRequestXML --------------------------------------------------------------------

    def _send_request(self, ctx: _Context) -> AnyReply:
        call = ctx.call(SendRequestXMLCall)
        if call.hcp_response:
            problem = self._check_company(ctx, call)
            if problem is not None:
                return NoRequest()
        if not ctx.tally.verified:
            # QBPOS, or a Web Connector that skipped the HCP document: never
            # write to a file we could not identify.
            reference = self._report(
                logging.WARNING,
                "no company file check in this session; nothing sent",
                username=ctx.account.username,
            )
            ctx.fail(texts.unverified(self.app_name), reference)
            return NoRequest()
        pause = self._pause
        if pause is not None and ctx.tally.pauses < self.max_pauses and pause(ctx.account.username):
            ctx.tally = attrs.evolve(ctx.tally, pauses=ctx.tally.pauses + 1, pausing=True)
            return PauseRequest()
        qbxml = self._next_message_set(ctx)
        if qbxml is None:
            if not ctx.tally.message:
                ctx.tally = attrs.evolve(ctx.tally, message=self._summary(ctx))
            return NoRequest()
        return RequestXML(qbxml=qbxml)

    # -- getLastError, connectionError, closeConnection, interactive ----------------------------

    def _last_error(self, ctx: _Context) -> AnyReply:
        tally = ctx.tally
        if tally.pausing:
            ctx.tally = attrs.evolve(tally, pausing=False)
            return NoOp()
        url = self._interactive_url
        # An expired session is told what happened, never taken into interactive mode.
        if tally.interactive and url is not None and not ctx.late and url(ctx.account.username):
            return InteractiveMode()
        message = tally.message or self._summary(ctx)
        return LastErrorReply(message=message)

    def _connection_error(self, ctx: _Context) -> AnyReply:
        call = ctx.call(ConnectionErrorCall)
        hresult = call.hresult.strip().lower()
        attempts = ctx.session.state.connection_error_count
        account = ctx.account
        if hresult not in _CONNECTION_FINAL and attempts <= self.max_connection_retries:
            log.info(
                "account %r: connectionError %s %s (retry %d)",
                account.username,
                call.hresult,
                call.message,
                attempts,
            )
            if account.company_file and not ctx.tally.tried_path and not self.open_company_file:
                ctx.tally = attrs.evolve(ctx.tally, tried_path=True)
                return TryCompanyFile(path=account.company_file)
            return TryCompanyFile(path="")
        reference = self._report(
            logging.WARNING,
            "could not connect to QuickBooks",
            username=account.username,
            hresult=call.hresult,
            message=call.message,
            attempts=attempts,
        )
        ctx.fail(texts.connection_failed(call.hresult, call.message), reference)
        return GiveUp()

    def _close(self, ctx: _Context) -> AnyReply:
        tally = ctx.tally
        # After an error, the same words as getLastError, advice included (the status
        # column is what the user reads last; docs/troubleshooting.md quotes both).
        text = texts.stopped(tally.message) if tally.reference else self._summary(ctx, closing=True)
        log.info("account %r: session closed: %s", ctx.account.username, text)
        return Goodbye(message=text)

    def _summary(self, ctx: _Context, *, closing: bool = False) -> str:
        tally = ctx.tally
        waiting = ctx.tx.count_jobs(ctx.account.username, "pending", "sent")
        return texts.summary(tally.done, tally.failed, waiting, self.app_name, closing=closing)

    def _interactive_url_call(self, ctx: _Context) -> AnyReply:
        url = None if self._interactive_url is None else self._interactive_url(ctx.account.username)
        return InteractiveURL(url=url or "")

    def _interactive_done(self, ctx: _Context) -> AnyReply:
        return InteractiveDoneReply(message="Done")

    def _interactive_rejected(self, ctx: _Context) -> AnyReply:
        call = ctx.call(InteractiveRejectedCall)
        log.info("account %r: interactive mode declined: %s", ctx.account.username, call.reason)
        message = ctx.tally.message or "Nothing was changed."
        return InteractiveRejectedReply(message=message)


#: Every call the Web Connector makes, and what answers it: the calls before
#: ``authenticate`` without a session, ``authenticate`` by starting one, and every
#: other call inside the session its ticket names (see _Calls._ticketed).
_HANDLERS: Final[Mapping[type, Callable[[_Calls, Any], _Step]]] = {
    ServerVersionCall: lambda svc, call: _Step(
        svc._stateless(call, ServerVersion(version=svc.server_version))
    ),
    ClientVersionCall: lambda svc, call: _Step(
        svc._stateless(call, svc._client_version(call.version))
    ),
    AuthenticateCall: lambda svc, call: _Step(svc._authenticate(call)),
    SendRequestXMLCall: lambda svc, call: svc._ticketed(call, svc._send_request),
    ReceiveResponseXMLCall: lambda svc, call: svc._ticketed(call, svc._receive_response),
    ConnectionErrorCall: lambda svc, call: svc._ticketed(call, svc._connection_error),
    GetLastErrorCall: lambda svc, call: svc._ticketed(call, svc._last_error),
    CloseConnectionCall: lambda svc, call: svc._ticketed(call, svc._close),
    GetInteractiveURLCall: lambda svc, call: svc._ticketed(call, svc._interactive_url_call),
    InteractiveDoneCall: lambda svc, call: svc._ticketed(call, svc._interactive_done),
    InteractiveRejectedCall: lambda svc, call: svc._ticketed(call, svc._interactive_rejected),
}
