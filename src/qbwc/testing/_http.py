"""
The Web Connector double over real HTTP: a :data:`~qbwc.testing.Transport` built on ``http.client``.

``FakeWebConnector(None, qb, transport=http_transport("http://127.0.0.1:8080/qbwc"))``
sends every call as an HTTP POST, with the headers the Web Connector sends,
to a service running in another thread or process (``qbwc serve``, gunicorn, ...).
"""

from __future__ import annotations

import http.client
from typing import Final
from urllib.parse import urlsplit

from qbwc.testing._web_connector import Transport

__all__ = ["http_transport"]

_USER_AGENT: Final = "Microsoft (R) SOAP Toolkit 2.0 (qbwc test double)"


def http_transport(url: str, *, timeout: float = 30.0) -> Transport:
    """
    A transport that POSTs each call to *url* (``http://`` or ``https://``).

    Returns the HTTP status and body of each answer, whatever the status.
    Connection failures raise :class:`OSError`, as they would in the Web
    Connector (which reports them and ends the run).
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        msg = f"url={url!r}: expected an http:// or https:// URL"
        raise ValueError(msg)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    connection_class = (
        http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    )
    host = parts.hostname
    port = parts.port

    def send(body: bytes, action: str) -> tuple[int, bytes]:
        connection = connection_class(host, port, timeout=timeout)
        try:
            connection.request(
                "POST",
                path,
                body=body,
                headers={
                    "Content-Type": "text/xml; charset=utf-8",
                    "SOAPAction": f'"{action}"',
                    "User-Agent": _USER_AGENT,
                },
            )
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    return send
