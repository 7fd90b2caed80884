"""
A test double of the QuickBooks Web Connector: the real call sequence, over real SOAP.

:class:`FakeWebConnector` plays what QBWC does during one scheduled update
(docs/protocol.md, "A run, call by call"): ``serverVersion``, ``clientVersion``,
``authenticate``, opening
QuickBooks (``connectionError`` when that fails), ``sendRequestXML`` with the
host/company/preferences document on the first call, handing the qbXML to
QuickBooks, ``receiveResponseXML``, ..., ``getLastError`` when asked,
``closeConnection``.  Every call goes through the SOAP codec and HTTP semantics
(status 200 or a 500 fault) to a WSGI application or a service, in process.

Faults are injected with :meth:`FakeWebConnector.inject` (a reply lost on the
network, QuickBooks' answer lost after it processed the request, a repeated
call, a crash after some call) and with the ``before_call`` hook, which may
restart the service, change the password or open another company file
between any two calls.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Iterable
from typing import Any, Final, Protocol, final
from urllib.parse import urlsplit

import attrs

from qbwc.exceptions import RemoteProtocolError
from qbwc.protocol._events import (
    AnyCall,
    AnyReply,
    AuthenticateCall,
    Authenticated,
    Busy,
    ClientVersionCall,
    ClientVersionErrorReply,
    ClientVersionUpgrade,
    ClientVersionWarning,
    CloseConnectionCall,
    ConnectionErrorCall,
    Done,
    Failed,
    GetInteractiveURLCall,
    GetLastErrorCall,
    Goodbye,
    InteractiveDoneCall,
    InteractiveMode,
    InteractiveRejectedCall,
    InteractiveURL,
    InvalidUserReply,
    LastErrorReply,
    NoOp,
    NoWork,
    Progress,
    ReceiveResponseXMLCall,
    RequestXML,
    SendRequestXMLCall,
    ServerVersionCall,
    TryCompanyFile,
)
from qbwc.testing._interface import QuickBooksDouble, RequestProcessorError

__all__ = [
    "Crash",
    "FakeWebConnector",
    "LoseQuickBooksResponse",
    "LoseReply",
    "RepeatCall",
    "SessionResult",
    "Transport",
    "wsgi_transport",
]

#: The Web Connector version the double reports (the last 2.x release).
DEFAULT_VERSION: Final = "2.3.0.215"

#: At most this many calls in one run (a service that loops forever fails the test).
MAX_CALLS: Final = 10_000

#: ``(body, soap_action) -> (http_status, body)``: how calls reach the service.
Transport = Callable[[bytes, str], tuple[int, bytes]]


class _Service(Protocol):
    def handle_http(
        self, method: str, body: bytes = b"", *, query: str = "", url: str = ""
    ) -> Any: ...


# --- faults ----------------------------------------------------------------------------


@final
@attrs.frozen(kw_only=True)
class LoseReply:
    """
    The service handles the next *operation* call, but its reply never arrives.

    The Web Connector reports a connection problem and ends the run (no more calls).
    """

    operation: str


@final
@attrs.frozen(kw_only=True)
class RepeatCall:
    """The next *operation* call is sent twice (an HTTP retry); the second reply counts."""

    operation: str


@final
@attrs.frozen(kw_only=True)
class LoseQuickBooksResponse:
    """
    QuickBooks processes the next request, then the Web Connector dies.

    The response never reaches the service: no receiveResponseXML, no more calls.
    """


@final
@attrs.frozen(kw_only=True)
class Crash:
    """The Web Connector stops right after the reply to the next *operation* call."""

    operation: str


#: The faults the Web Connector double injects itself (:meth:`FakeWebConnector.inject`).
Fault = LoseReply | RepeatCall | LoseQuickBooksResponse | Crash


# --- results ---------------------------------------------------------------------------


@final
@attrs.frozen(kw_only=True)
class SessionResult:
    """
    What one run of the Web Connector did and showed.

    Attributes:
        calls: the operations called, in order.
        replies: each call's decoded reply (a string when the Web Connector
            could not read it as a reply), or None when it was lost or faulted.
        requests: the qbXML documents handed to QuickBooks.
        progress: the receiveResponseXML answers, in order.
        status: the text in the Web Connector's status column at the end
            (the closeConnection text, "No Data Exchange", an error...).
        last_error: the getLastError text shown to the user, if any.
        errors: every problem the user would see: SOAP faults, HTTP errors,
            connection errors, getLastError texts.
        completed: the run ended with closeConnection, without faults.
        ticket: the ticket the service issued, if any.
    """

    calls: tuple[str, ...]
    replies: tuple[AnyReply | str | None, ...]
    requests: tuple[str, ...]
    progress: tuple[int, ...]
    status: str
    last_error: str | None
    errors: tuple[str, ...]
    completed: bool
    ticket: str | None


class _Stop(Exception):
    """The Web Connector ends the run now."""

    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


@attrs.define
class _Run:
    calls: list[str] = attrs.Factory(list)
    replies: list[AnyReply | str | None] = attrs.Factory(list)
    requests: list[str] = attrs.Factory(list)
    progress: list[int] = attrs.Factory(list)
    errors: list[str] = attrs.Factory(list)
    last_error: str | None = None
    ticket: str | None = None


@attrs.define
class _Application:
    config: Any
    password: str = attrs.field(repr=False)


# --- the double ----------------------------------------------------------------------------


class FakeWebConnector:
    """
    The Web Connector in front of a QuickBooks double, talking to your service.

    *target* is a WSGI application (``qbwc.wsgi.make_wsgi_app(service)``) or a
    :class:`~qbwc.WebConnectorService`.  Assign :attr:`target` to swap it
    between runs or calls (a restarted service).

    Args:
        target: where calls go.
        quickbooks: the QuickBooks double (``qbwc.testing.FakeQuickBooks``).
        url: the AppURL (for a WSGI application: its host, path and scheme).
        version: the Web Connector version sent in clientVersion.
        accept_warnings: continue after a ``W:`` clientVersion warning.
        interactive: ``"accept"`` or ``"reject"`` when the service asks for
            interactive mode.
        sleep: called with 5 when the service pauses (``NoOp``); no real wait
            by default.
        before_call: called with each call before it is sent; may change
            anything (restart the service, the password, the company file).
        transport: send calls through this function instead of *target*.
    """

    def __init__(
        self,
        target: Any,
        quickbooks: QuickBooksDouble,
        *,
        url: str = "https://localhost/qbwc",
        version: str = DEFAULT_VERSION,
        accept_warnings: bool = True,
        interactive: str = "accept",
        sleep: Callable[[float], None] | None = None,
        before_call: Callable[[AnyCall], None] | None = None,
        transport: Transport | None = None,
    ) -> None:
        self.target = target
        self.transport = transport
        self.quickbooks = quickbooks
        self.url = url
        self.version = version
        self.accept_warnings = accept_warnings
        if interactive not in ("accept", "reject"):
            msg = f"interactive={interactive!r}: expected 'accept' or 'reject'"
            raise ValueError(msg)
        self.interactive = interactive
        self.sleep = sleep or (lambda seconds: None)
        self.before_call = before_call
        self.faults: list[Fault] = []
        self.applications: dict[str, _Application] = {}
        self.interactive_urls: list[str] = []

    def __repr__(self) -> str:
        return f"<FakeWebConnector apps={sorted(self.applications)!r} url={self.url!r}>"

    # -- setup ----------------------------------------------------------------------------

    def add_application(self, qwc: bytes | str, *, password: str) -> Any:
        """
        Add a QWC file, as the user does with "Add an application", and return its config.

        Stamps the file's FileID into the open company file under its OwnerID
        (``quickbooks.register_application``), like the real Web Connector.
        """
        from qbwc.qwc import QWCConfig  # noqa: PLC0415

        config = QWCConfig.from_xml(qwc, strict=False)
        # A file that breaks a format rule (no AppURL, a bad GUID...) is one the real
        # Web Connector cannot load either: refused here, as before lenient reading listed it.
        config._refuse_unwritable()
        self.quickbooks.register_application(config.owner_id, config.file_id)
        self.applications[config.app_name] = _Application(config, password)
        return config

    def set_password(self, password: str, *, app_name: str | None = None) -> None:
        """Type a new password for the application (the Password column)."""
        self._app(app_name).password = password

    def inject(self, *faults: Fault) -> None:
        """Queue faults; each fires once, at its next chance."""
        self.faults.extend(faults)

    def _app(self, app_name: str | None) -> _Application:
        if app_name is None:
            if len(self.applications) != 1:
                msg = f"name the application: {sorted(self.applications)!r}"
                raise ValueError(msg)
            return next(iter(self.applications.values()))
        return self.applications[app_name]

    def _take(self, kind: type[Any], operation: str | None = None) -> bool:
        for index, fault in enumerate(self.faults):
            if type(fault) is kind and getattr(fault, "operation", None) == operation:
                del self.faults[index]
                return True
        return False

    # -- transport ------------------------------------------------------------------------

    def _transport(self) -> Transport:
        if self.transport is not None:
            return self.transport
        target = self.target
        if hasattr(target, "handle_http"):
            service: _Service = target

            def via_service(body: bytes, action: str) -> tuple[int, bytes]:
                reply = service.handle_http("POST", body, url=self.url)
                return int(reply.status), bytes(reply.body)

            return via_service
        if callable(target):
            return wsgi_transport(target, self.url)
        msg = f"target {target!r} is neither a WSGI application nor a service"
        raise TypeError(msg)

    def _call(self, run: _Run, call: AnyCall) -> AnyReply | str:
        from qbwc.protocol._soap import SOAP_ACTION, decode_reply, encode_call  # noqa: PLC0415

        if len(run.calls) >= MAX_CALLS:
            raise _Stop(f"Error: more than {MAX_CALLS:,} calls in one run")
        if self.before_call is not None:
            self.before_call(call)
        operation = call.operation
        times = 2 if self._take(RepeatCall, operation) else 1
        body = encode_call(call)
        status, answer = 0, b""
        for _ in range(times):
            run.calls.append(operation)
            status, answer = self._transport()(body, SOAP_ACTION[operation])
            if times == 2 and len(run.replies) < len(run.calls) - 1:
                run.replies.append(None)
        if self._take(LoseReply, operation):
            run.replies.append(None)
            run.errors.append(f"{operation}: the connection was closed unexpectedly")
            raise _Stop(f"Error: {operation}: the connection was closed unexpectedly")
        try:
            reply = decode_reply(operation, answer)
        except RemoteProtocolError as exc:
            run.replies.append(None)
            text = f"{operation}: HTTP {status}: {exc.message}"
            run.errors.append(text)
            raise _Stop(f"Error: {text}") from None
        if status != 200:
            run.replies.append(None)
            text = f"{operation}: HTTP {status} with a reply"
            run.errors.append(text)
            raise _Stop(f"Error: {text}")
        run.replies.append(reply)
        if self._take(Crash, operation):
            raise _Stop(f"Error: the Web Connector stopped after {operation}")
        return reply

    # -- one run ----------------------------------------------------------------------------

    def run_session(self, app_name: str | None = None) -> SessionResult:
        """Run one update of the application, as the scheduler or "Update Selected" does."""
        app = self._app(app_name)
        run = _Run()
        completed = False
        try:
            status = self._run(run, app)
            completed = run.calls[-1:] == ["closeConnection"]
        except _Stop as stop:
            status = stop.status
        return SessionResult(
            calls=tuple(run.calls),
            replies=tuple(run.replies),
            requests=tuple(run.requests),
            progress=tuple(run.progress),
            status=status,
            last_error=run.last_error,
            errors=tuple(run.errors),
            completed=completed,
            ticket=run.ticket,
        )

    def _run(self, run: _Run, app: _Application) -> str:
        config = app.config
        self._call(run, ServerVersionCall())
        version_reply = self._call(run, ClientVersionCall(version=self.version))
        if isinstance(version_reply, ClientVersionErrorReply):
            run.errors.append(version_reply.message)
            return f"Error: {version_reply.message}"
        if isinstance(version_reply, ClientVersionUpgrade):
            text = f"This application needs Web Connector {version_reply.version}"
            run.errors.append(text)
            return text
        if isinstance(version_reply, ClientVersionWarning) and not self.accept_warnings:
            return f"Cancelled: {version_reply.message}"
        if isinstance(version_reply, str):
            run.errors.append(f"QBWC1046: {version_reply!r}")
            return "Error: QBWC1046"
        auth = self._call(run, AuthenticateCall(username=config.user_name, password=app.password))
        if isinstance(auth, InvalidUserReply):
            run.errors.append("Invalid password for username")
            # The ticket slot is sent back as it came (the service's support reference).
            self._close(run, auth.reference)
            return "Invalid password for username"
        if isinstance(auth, NoWork):
            run.ticket = auth.ticket
            self._close(run, auth.ticket)
            return "No Data Exchange"
        if isinstance(auth, Busy):
            run.ticket = auth.ticket
            self._close(run, auth.ticket)
            return "Application Busy"
        if not isinstance(auth, Authenticated):
            run.errors.append(f"authenticate: unexpected reply {auth!r}")
            return "Error: authenticate"
        ticket = run.ticket = auth.ticket
        if not self._open(run, ticket, auth.company_file):
            return self._finish(run, ticket)
        return self._exchange(run, ticket, config)

    def _open(self, run: _Run, ticket: str, path: str) -> bool:
        for _ in range(MAX_CALLS):
            try:
                self.quickbooks.open(path)
            except RequestProcessorError as exc:
                run.errors.append(f"connectionError {exc.hresult}: {exc.message}")
                reply = self._call(
                    run,
                    ConnectionErrorCall(ticket=ticket, hresult=exc.hresult, message=exc.message),
                )
                if isinstance(reply, TryCompanyFile):
                    path = reply.path
                    continue
                return False
            return True
        raise _Stop("Error: connectionError loop")  # pragma: no cover

    def _exchange(self, run: _Run, ticket: str, config: Any) -> str:
        qb = self.quickbooks
        first = True
        while True:
            major, minor = qb.qbxml_version
            call = SendRequestXMLCall(
                ticket=ticket,
                hcp_response=qb.hcp_response(config.owner_id) if first else "",
                company_file_name=qb.company_file,
                country=qb.country,
                major_version=major,
                minor_version=minor,
            )
            first = False
            reply = self._call(run, call)
            if isinstance(reply, RequestXML):
                run.requests.append(reply.qbxml)
                processed = self._process(reply.qbxml)
                if processed is None or self._take(LoseQuickBooksResponse):
                    text = "Error: the Web Connector stopped before returning QuickBooks' response"
                    run.errors.append(text)
                    raise _Stop(text)
                response, hresult, message = processed
                answer = self._call(
                    run,
                    ReceiveResponseXMLCall(
                        ticket=ticket, response=response, hresult=hresult, message=message
                    ),
                )
                if isinstance(answer, Progress):
                    run.progress.append(answer.percent)
                    continue
                if isinstance(answer, Done):
                    run.progress.append(100)
                    return self._close(run, ticket)
                if isinstance(answer, Failed):
                    run.progress.append(answer.code)
                    return self._finish(run, ticket)
                run.errors.append(f"receiveResponseXML: unexpected reply {answer!r}")
                return self._close(run, ticket)
            # "" or "NoOp": the Web Connector asks why.
            last = self._call(run, GetLastErrorCall(ticket=ticket))
            if isinstance(last, NoOp):
                self.sleep(5)
                continue
            if isinstance(last, InteractiveMode):
                return self._interactive(run, ticket)
            self._shown(run, last)
            return self._close(run, ticket)

    def _process(self, qbxml: str) -> tuple[str, str, str] | None:
        """QuickBooks' answer (response, hresult, message), or None when it was lost."""
        from qbwc.testing._quickbooks import ResponseLost  # noqa: PLC0415

        try:
            return self.quickbooks.process_request(qbxml), "", ""
        except RequestProcessorError as exc:
            return "", exc.hresult, exc.message
        except ResponseLost:
            return None

    def _finish(self, run: _Run, ticket: str) -> str:
        """After a negative progress or "done": getLastError, then closeConnection."""
        self._shown(run, self._call(run, GetLastErrorCall(ticket=ticket)))
        return self._close(run, ticket)

    def _shown(self, run: _Run, reply: AnyReply | str) -> None:
        text = reply.message if isinstance(reply, LastErrorReply) else str(reply)
        run.last_error = text
        run.errors.append(text)

    def _interactive(self, run: _Run, ticket: str) -> str:
        if self.interactive == "reject":
            self._call(run, InteractiveRejectedCall(ticket=ticket, reason="The user declined."))
            return self._close(run, ticket)
        url = self._call(run, GetInteractiveURLCall(ticket=ticket, session_id="fake-session"))
        if isinstance(url, InteractiveURL):
            self.interactive_urls.append(url.url)
        self._call(run, InteractiveDoneCall(ticket=ticket))
        return self._close(run, ticket)

    def _close(self, run: _Run, ticket: str) -> str:
        # The session is over: QuickBooks' connection ends (and its query iterators).
        end_connection = getattr(self.quickbooks, "close", None)
        if callable(end_connection):
            end_connection()
        reply = self._call(run, CloseConnectionCall(ticket=ticket))
        return reply.message if isinstance(reply, Goodbye) else str(reply)

    def run_sessions(self, count: int, app_name: str | None = None) -> list[SessionResult]:
        """Run *count* updates in a row."""
        return [self.run_session(app_name) for _ in range(count)]

    def sync(self, app_name: str | None = None, *, max_runs: int = 20) -> list[SessionResult]:
        """Run updates until one ends with "No Data Exchange" (nothing left), at most *max_runs*."""
        results: list[SessionResult] = []
        for _ in range(max_runs):
            result = self.run_session(app_name)
            results.append(result)
            if result.status == "No Data Exchange":
                break
        return results


def wsgi_transport(app: Callable[..., Iterable[bytes]], url: str) -> Transport:
    """A :data:`Transport` that calls a WSGI application in process, as a WSGI server would."""
    parts = urlsplit(url)
    scheme = parts.scheme or "https"
    host = parts.hostname or "localhost"
    port = str(parts.port or (443 if scheme == "https" else 80))

    def send(body: bytes, action: str) -> tuple[int, bytes]:
        environ: dict[str, Any] = {
            "REQUEST_METHOD": "POST",
            "SCRIPT_NAME": "",
            "PATH_INFO": parts.path or "/",
            "QUERY_STRING": parts.query,
            "CONTENT_TYPE": "text/xml; charset=utf-8",
            "CONTENT_LENGTH": str(len(body)),
            "SERVER_NAME": host,
            "SERVER_PORT": port,
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": host,
            "HTTP_SOAPACTION": f'"{action}"',
            "HTTP_USER_AGENT": "Microsoft (R) SOAP Toolkit 2.0 (fake)",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": scheme,
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": False,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        seen: list[str] = []

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Any:
            seen.append(status)
            return lambda data: None

        chunks = app(environ, start_response)
        try:
            data = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        return int(seen[0].split()[0]), data

    return send
