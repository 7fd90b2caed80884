"""The WSGI adapter: HTTP semantics around the service."""

from __future__ import annotations

import io
import subprocess
import sys
from typing import Any

from qbwc.testing._web_connector import wsgi_transport
from qbwc.wsgi import make_wsgi_app
from tests.rig import Rig


class _Forbidden(io.BytesIO):
    def read(self, *args: Any) -> bytes:
        raise AssertionError("the body must not be read")


def _call(
    app: Any, method: str, *, body: bytes = b"", query: str = "", **extra: Any
) -> tuple[str, dict[str, str], bytes]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": "/qbwc",
        "SCRIPT_NAME": "",
        "QUERY_STRING": query,
        "CONTENT_LENGTH": str(len(body)),
        "SERVER_NAME": "books.example.com",
        "SERVER_PORT": "443",
        "HTTP_HOST": "books.example.com",
        "wsgi.url_scheme": "https",
        "wsgi.input": io.BytesIO(body),
        **extra,
    }
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        seen["status"] = status
        seen["headers"] = dict(headers)

    data = b"".join(app(environ, start_response))
    return seen["status"], seen["headers"], data


class TestWSGI:
    def test_a_session(self) -> None:
        """A whole Web Connector session runs through the WSGI app."""
        r = Rig()
        r.enqueue("1")
        r.wc.transport = wsgi_transport(make_wsgi_app(r.service), "https://localhost/qbwc")
        assert r.run().completed
        assert r.ref_numbers() == ["1"]

    def test_reply_headers(self) -> None:
        """Replies are text/xml; charset=utf-8 with a Content-Length, and start with <?xml."""
        app = make_wsgi_app(Rig().service)
        body = (
            b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
            b'<serverVersion xmlns="http://developer.intuit.com/"/></soap:Body></soap:Envelope>'
        )
        status, headers, data = _call(app, "POST", body=body)
        assert status == "200 OK"
        assert headers["Content-Type"] == "text/xml; charset=utf-8"
        assert headers["Content-Length"] == str(len(data))
        assert data.startswith(b'<?xml version="1.0" encoding="utf-8"?>')

    def test_wsdl_names_this_url(self) -> None:
        """GET ?wsdl answers the WSDL with the request's own URL as the endpoint."""
        status, _, data = _call(make_wsgi_app(Rig().service), "GET", query="wsdl")
        assert status == "200 OK"
        assert b'location="https://books.example.com/qbwc"' in data

    def test_other_methods(self) -> None:
        """GET without ?wsdl, PUT and DELETE get 405."""
        app = make_wsgi_app(Rig().service)
        for method in ("GET", "PUT", "DELETE"):
            status, headers, _ = _call(app, method)
            assert status == "405 Method Not Allowed"
            assert headers["Allow"] == "GET, POST"

    def test_too_large_is_not_read(self) -> None:
        """A declared body over the cap gets 413 with a fault, without reading it."""
        app = make_wsgi_app(Rig().service, max_body_bytes=1000)
        status, _, data = _call(
            app, "POST", **{"CONTENT_LENGTH": "5000", "wsgi.input": _Forbidden()}
        )
        assert status == "413 Payload Too Large"
        assert b"Fault" in data
        status, _, _ = _call(app, "POST", **{"CONTENT_LENGTH": "x", "wsgi.input": _Forbidden()})
        assert status == "413 Payload Too Large"

    def test_fault_is_500(self) -> None:
        """A malformed call gets a SOAP fault with status 500."""
        status, headers, data = _call(make_wsgi_app(Rig().service), "POST", body=b"<x/>")
        assert status == "500 Internal Server Error"
        assert headers["Content-Type"] == "text/xml; charset=utf-8"
        assert b"soap:Client" in data


def test_import_qbwc_imports_no_framework() -> None:
    """``import qbwc`` (and qbwc.wsgi, qbwc.asgi) pulls in no web framework."""
    code = (
        "import sys, qbwc, qbwc.wsgi, qbwc.asgi, qbwc.store;"
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('django', 'flask', 'fastapi', 'starlette', 'werkzeug', 'hypothesis', 'httpx')];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
