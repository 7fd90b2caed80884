"""The HTTP and SOAP boundary: handle, handle_http, body limits, the WSDL."""

from __future__ import annotations

import logging
from typing import Final, final

import attrs

from qbwc._address import NEUTRAL_ADDRESS, wsdl_address
from qbwc._events import (
    AnyCall,
    AnyReply,
)
from qbwc._soap import decode_call, encode_fault, encode_reply, wsdl
from qbwc.exceptions import (
    ConfigurationError,
    LocalProtocolError,
    RemoteProtocolError,
)
from qbwc.service._calls import (
    _Calls,
)
from qbwc.store._protocol import (
    StaleSessionError,
    StoreError,
)

__all__ = ["_CONTENT_TYPE", "_HTTP", "HTTPReply", "_wants_wsdl", "_xml_reply", "xml_headers"]

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
        method = method.upper()
        if method == "POST":
            status, data = self._post(body)
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

    def _post(self, body: bytes) -> tuple[int, bytes]:
        """
        ``handle_http("POST", body)`` as (status, body); its headers are ``xml_headers(body)``.

        The WSGI adapter answers with this directly: every Web Connector call is a POST.
        """
        if len(body) > self.max_body_bytes:
            reply = self.too_large(len(body))
            return reply.status, reply.body
        return self._respond(body)

    def _respond(self, body: bytes) -> tuple[int, bytes]:
        try:
            call = decode_call(body, max_bytes=self.max_body_bytes)
        except RemoteProtocolError as exc:
            return self._refuse(exc.message, exc.fault_code)
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
            message = f"another call for this session is in progress; try again ({reference})"
            return 500, encode_fault("soap:Server", message)
        except (LocalProtocolError, StoreError) as exc:
            reference = self._report(
                logging.ERROR, "internal error", operation=call.operation, reason=str(exc)
            )
            message = f"the service could not answer; support reference {reference}"
            return 500, encode_fault("soap:Server", message)
        self._notify(step.notices)
        return 200, encode_reply(step.reply)

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
