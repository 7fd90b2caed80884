"""Serve a :class:`~qbwc.WebConnectorService` as a WSGI application (any WSGI server)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from qbwc.service import BodyRefused, WebConnectorService, request_url

__all__ = ["make_wsgi_app"]

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

_REASONS = {
    200: "OK",
    405: "Method Not Allowed",
    411: "Length Required",
    413: "Payload Too Large",
    500: "Internal Server Error",
}


def make_wsgi_app(service: WebConnectorService, *, max_body_bytes: int | None = None) -> WSGIApp:
    """
    A WSGI application that answers the Web Connector.

    ``POST`` a SOAP call → the reply (200) or a SOAP fault (500); ``GET ?wsdl``
    → the WSDL (its endpoint: see :meth:`~qbwc.WebConnectorService.handle_http`);
    other methods → 405; a body over *max_body_bytes* (default: the service's)
    → 413 with a fault, without reading it.  A body without Content-Length
    (``Transfer-Encoding: chunked``) is read to its end when the server says
    where that is (``wsgi.input_terminated``, as gunicorn does), reading at most
    *max_body_bytes* + 1 bytes; otherwise it gets 411 with a fault.  The body is
    read in pieces and refused with a fault as soon as its markup is more than
    a Web Connector call could hold.  Mount it at the path in your QWC file's AppURL.
    """
    limit = service.max_body_bytes if max_body_bytes is None else max_body_bytes

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        try:
            return answer(environ, start_response)
        except Exception as exc:  # e.g. the client went away mid-body: a fault, not an HTML 500
            return _send(start_response, service.internal_error(exc))

    def answer(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        if method != "POST":
            method = str(method).upper()
        body = b""
        if method == "POST":
            declared = environ.get("CONTENT_LENGTH")
            length: int | None
            if declared is None or declared == "":
                if not environ.get("wsgi.input_terminated"):
                    return _send(start_response, service.length_required())
                length = None
            else:
                try:
                    length = int(declared)
                except ValueError:
                    length = -1
                if length < 0 or length > limit:
                    return _send(start_response, service.too_large(length))
            try:
                body = service.read_body(environ["wsgi.input"].read, length, limit=limit)
            except BodyRefused as refused:
                return _send(start_response, refused.reply)
        # The URL only goes into the WSDL (a GET); a POST does not need it.
        url = "" if method == "POST" else _url(environ)
        reply = service.handle_http(
            method, body, query=str(environ.get("QUERY_STRING", "")), url=url
        )
        return _send(start_response, reply)

    return app


_STATUS_LINES = {status: f"{status} {reason}" for status, reason in _REASONS.items()}


def _send(start_response: StartResponse, reply: Any) -> list[bytes]:
    status = _STATUS_LINES.get(reply.status) or str(reply.status)
    start_response(status, list(reply.headers))
    return [reply.body]


def _url(environ: dict[str, Any]) -> str:
    scheme = environ.get("wsgi.url_scheme", "http")
    host = environ.get("HTTP_HOST")
    if not host:
        host = environ.get("SERVER_NAME", "localhost")
        port = str(environ.get("SERVER_PORT", ""))
        if port and port != ("443" if scheme == "https" else "80"):
            host = f"{host}:{port}"
    path = str(environ.get("SCRIPT_NAME", "")) + str(environ.get("PATH_INFO", ""))
    return request_url(str(scheme), str(host), path or "/")
