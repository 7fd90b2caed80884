"""
The HTTP and SOAP boundary: handle, handle_http, body limits, the WSDL.

Also the small public surface the adapters (WSGI, ASGI, Django) are built on, so
that they use no private name (docs/integrations.md, "Writing an adapter"):
:meth:`~WebConnectorService.handle_post`, :meth:`~WebConnectorService.read_body`
and :class:`BodyReader` (the size cap and the envelope budget, counted as the body
arrives), :meth:`~WebConnectorService.length_required`,
:meth:`~WebConnectorService.too_large`, :meth:`~WebConnectorService.internal_error`,
:func:`xml_headers` and :func:`request_url`.

Every answer leaves here as a SOAP reply or fault: an unexpected exception while
a call is handled (a bug, any store error, ...) is logged with its traceback
under a support reference and answered with a ``soap:Server`` fault, status 500,
never a traceback (docs/service.md, "Errors").
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Final, final

import attrs

from qbwc.exceptions import (
    ConfigurationError,
    LocalProtocolError,
    RemoteProtocolError,
    XMLParseError,
)
from qbwc.protocol._events import AnyCall, AnyReply
from qbwc.protocol._soap import decode_call, encode_fault, encode_reply, wsdl
from qbwc.service._address import NEUTRAL_ADDRESS, wsdl_address
from qbwc.service._address import request_url as request_url  # noqa: PLC0414 - for the adapters
from qbwc.service._calls import _Calls
from qbwc.store._protocol import StaleSessionError, StoreError

if TYPE_CHECKING:
    from qbwc._budget import BodyBudget

__all__ = [
    "CHUNK",
    "_CONTENT_TYPE",
    "_HTTP",
    "BodyReader",
    "BodyRefused",
    "HTTPReply",
    "_wants_wsdl",
    "_xml_reply",
    "request_url",
    "xml_headers",
]

log = logging.getLogger("qbwc.service")

_CONTENT_TYPE: Final = "text/xml; charset=utf-8"


@final
@attrs.frozen(kw_only=True)
class HTTPReply:
    """What to answer an HTTP request with: *status*, *headers* and *body*."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


def xml_headers(body: bytes) -> tuple[tuple[str, str], ...]:
    """The headers of an XML answer (a SOAP reply or fault, the WSDL) with *body*."""
    return (("Content-Type", _CONTENT_TYPE), ("Content-Length", str(len(body))))


#: Bytes of a body read at a time (see WebConnectorService.read_body).
CHUNK: Final = 64 * 1024


class BodyRefused(Exception):
    """A request body is refused while it is read: :attr:`reply` is the answer to send."""

    def __init__(self, reply: HTTPReply) -> None:
        super().__init__(reply.status)
        self.reply = reply


class BodyReader:
    """
    A POST body arriving in pieces (an ASGI server's messages), counted as it comes.

    Made by :meth:`WebConnectorService.body_reader`.  Each :meth:`feed` counts the
    piece against the size cap and the envelope's budget, so a body whose markup
    could never be a Web Connector call is refused after its first pieces and the
    rest is not waited for (docs/integrations.md).  A body in one piece is counted
    when it is parsed.
    """

    __slots__ = ("_budget", "_declared", "_limit", "_service", "_size", "_whole")

    def __init__(self, service: _HTTP, limit: int, declared: int) -> None:
        self._service = service
        self._limit = limit
        self._declared = declared
        self._size = 0
        self._budget: BodyBudget | None = None
        self._whole: bytes | None = None

    def feed(self, piece: bytes, *, more: bool) -> None:
        """
        Take the next *piece*; *more* says whether more of the body follows.

        Raises:
            BodyRefused: the body is over the size cap (413) or its markup over the
                envelope budget (500 with a fault); read no further.
        """
        self._size += len(piece)
        if self._size > self._limit:
            raise BodyRefused(self._service.too_large(self._declared))
        if self._budget is None:
            if not more and self._whole is None:  # the usual call: one piece
                self._whole = bytes(piece)
                return
            from qbwc._budget import BodyBudget  # noqa: PLC0415

            self._budget = BodyBudget()
        try:
            self._budget.feed(piece)
        except XMLParseError as exc:
            raise BodyRefused(self._service._refused_body(exc)) from None

    def body(self) -> bytes:
        """The body as fed so far (all of it once the last piece was fed)."""
        if self._budget is not None:
            return self._budget.body()
        return b"" if self._whole is None else self._whole


def _xml_reply(status: int, body: bytes) -> HTTPReply:
    return HTTPReply(status=status, headers=xml_headers(body), body=body)


def _wants_wsdl(query: str) -> bool:
    return any(part.split("=")[0].lower() == "wsdl" for part in query.split("&"))


class _HTTP(_Calls):
    """HTTP and SOAP: bodies in, replies and faults out."""

    # -- HTTP and SOAP ----------------------------------------------------------------------

    def handle(self, body: bytes) -> bytes:
        """
        Answer one SOAP request body with a SOAP response body.

        A malformed or illegal call gets a SOAP fault (see :meth:`handle_http`
        for the HTTP status that goes with it).
        """
        return self._respond(body)[1]

    def handle_http(
        self, method: str, body: bytes = b"", *, query: str = "", url: str = ""
    ) -> HTTPReply:
        """
        Answer one HTTP request: ``POST`` a SOAP call, ``GET ?wsdl`` the WSDL.

        The WSDL names *public_url* as the endpoint; without it, *url* (the
        request's URL, which an adapter builds from the Host header) when its
        host is a DNS name, IPv4 or bracketed IPv6 address with an optional
        port, else ``https://localhost/qbwc``.  Faults come with status 500,
        other methods with 405, bodies over *max_body_bytes* with 413.
        """
        try:
            return self._handle_http(method, body, query, url)
        except Exception as exc:  # the boundary: answered with a fault, never a traceback
            return self.internal_error(exc)

    def _handle_http(self, method: str, body: bytes, query: str, url: str) -> HTTPReply:
        method = method.upper()
        if method == "POST":
            status, data = self.handle_post(body)
            return _xml_reply(status, data)
        if method in ("GET", "HEAD") and _wants_wsdl(query):
            try:
                data = wsdl(wsdl_address(self.public_url, url))
            except ConfigurationError:  # a path that makes no URL
                data = wsdl(NEUTRAL_ADDRESS)
            return _xml_reply(200, b"" if method == "HEAD" else data)
        text = b"Use POST for Web Connector calls, or GET ?wsdl for the WSDL.\n"
        return HTTPReply(
            status=405,
            headers=(("Content-Type", "text/plain; charset=utf-8"), ("Allow", "GET, POST")),
            body=text,
        )

    def too_large(self, size: int) -> HTTPReply:
        """The 413 answer (with a SOAP fault) for a body of *size* bytes (-1: unknown)."""
        reference = self._report(logging.WARNING, "request body refused", size=size)
        shown = "of unknown size" if size < 0 else f"{size:,} bytes"
        message = (
            f"the request is {shown}; at most {self.max_body_bytes:,} bytes are accepted "
            f"({reference})"
        )
        return _xml_reply(413, encode_fault("soap:Client", message))

    def handle_post(self, body: bytes) -> tuple[int, bytes]:
        """
        ``handle_http("POST", body)`` as (status, body); its headers are ``xml_headers(body)``.

        For an adapter's hot path (every Web Connector call is a POST): the same
        answer without an :class:`HTTPReply` in between.  Never raises.
        """
        try:
            if len(body) > self.max_body_bytes:
                reply = self.too_large(len(body))
                return reply.status, reply.body
            return self._respond(body)
        except Exception as exc:  # the boundary: answered with a fault, never a traceback
            reply = self.internal_error(exc)
            return reply.status, reply.body

    def length_required(self) -> HTTPReply:
        """411 with a SOAP fault: no Content-Length, so where the body ends is unknown."""
        reference = self._report(logging.WARNING, "request without Content-Length refused")
        message = (
            "the request has no Content-Length, and this server does not say where a chunked "
            f"body ends; send Content-Length ({reference})"
        )
        return _xml_reply(411, encode_fault("soap:Client", message))

    def internal_error(self, exc: BaseException) -> HTTPReply:
        """
        The answer to an unexpected exception: 500 with a ``soap:Server`` fault.

        The exception is logged at ERROR with its traceback under a new support
        reference; the fault carries only the reference.  For an adapter's own
        catch-all (the service's entry points already answer this way).
        """
        return _xml_reply(500, self._unexpected(exc, None))

    def read_body(
        self, read: Callable[[int], bytes], length: int | None, *, limit: int | None = None
    ) -> bytes:
        """
        A POST body from *read* (a file's ``read``): *length* bytes, or up to the end when None.

        Read in pieces of :data:`CHUNK` bytes, each counted against the envelope's
        budget as it arrives (see :class:`BodyReader`).  *limit* defaults to
        *max_body_bytes*.

        Raises:
            BodyRefused: 413 once the body is over *limit* (reading at most
                limit + 1 bytes), or a fault once it is over the envelope budget
                (reading no further).
        """
        if length is not None and length <= CHUNK:
            # One piece: its markup is counted when it is parsed (it cannot hold much).
            return read(length) if length else b""
        limit = self.max_body_bytes if limit is None else limit
        reader = BodyReader(self, limit, -1 if length is None else length)
        remaining = limit + 1 if length is None else length
        while remaining > 0:
            piece = read(min(CHUNK, remaining))
            if not piece:
                break
            remaining -= len(piece)
            reader.feed(piece, more=True)
        return reader.body()

    def body_reader(self, declared: int = -1, *, limit: int | None = None) -> BodyReader:
        """
        A :class:`BodyReader` for a body of *declared* bytes (its Content-Length; -1: unknown).

        *limit* defaults to *max_body_bytes*; a body over it gets :meth:`too_large`
        with *declared*.
        """
        return BodyReader(self, self.max_body_bytes if limit is None else limit, declared)

    def _refused_body(self, exc: XMLParseError) -> HTTPReply:
        """The 500 fault for a body the envelope budget (or its encoding) refused while reading."""
        status, body = self._refuse(str(exc))
        return _xml_reply(status, body)

    def _unexpected(self, exc: BaseException, operation: str | None) -> bytes:
        """Log an unexpected exception with its traceback and a reference; the fault to send."""
        reference = self.new_reference()
        where = "" if operation is None else f" (operation={operation!r})"
        log.error("%s unexpected error%s: %s", reference, where, type(exc).__name__, exc_info=exc)
        return encode_fault(
            "soap:Server", f"the service could not answer; support reference {reference}"
        )

    def _respond(self, body: bytes) -> tuple[int, bytes]:
        try:
            call = decode_call(body, max_bytes=self.max_body_bytes)
        except RemoteProtocolError as exc:
            return self._refuse(exc.message, exc.fault_code)
        except Exception as exc:  # a bug in decoding: a fault all the same
            return 500, self._unexpected(exc, None)
        try:
            step = self._dispatch(call)
        except RemoteProtocolError as exc:
            reference = self._report(
                logging.WARNING, "refused a call", operation=call.operation, reason=exc.message
            )
            return 500, encode_fault(exc.fault_code, f"{exc.message} ({reference})")
        except StaleSessionError as exc:
            reference = self._report(
                logging.WARNING, "concurrent call", operation=call.operation, reason=str(exc)
            )
            message = (
                "this session changed while the call was handled (another call for it, or "
                "another Web Connector for the account); nothing was changed, try again "
                f"({reference})"
            )
            return 500, encode_fault("soap:Server", message)
        except (LocalProtocolError, StoreError) as exc:
            reference = self._report(
                logging.ERROR, "internal error", operation=call.operation, reason=str(exc)
            )
            message = f"the service could not answer; support reference {reference}"
            return 500, encode_fault("soap:Server", message)
        except Exception as exc:  # a bug, a store's own exception, ...: never a traceback
            return 500, self._unexpected(exc, call.operation)
        self._notify(step.notices)
        try:
            return 200, encode_reply(step.reply)
        except Exception as exc:  # pragma: no cover - a reply the core accepted encodes
            return 500, self._unexpected(exc, call.operation)

    def _refuse(self, message: str, fault_code: str = "soap:Client") -> tuple[int, bytes]:
        """A request refused before it became a call: (500, the fault), logged with a reference."""
        reference = self._report(logging.WARNING, "refused a request", reason=message)
        return 500, encode_fault(fault_code, f"{message} ({reference})")

    def respond(self, call: AnyCall) -> AnyReply:
        """
        Answer one decoded call (the sans-SOAP entry point; :meth:`handle` uses it).

        Raises:
            RemoteProtocolError: the call is illegal now; nothing changed.
        """
        step = self._dispatch(call)
        self._notify(step.notices)
        return step.reply
