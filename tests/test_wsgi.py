"""The WSGI adapter: HTTP semantics around the service."""

from __future__ import annotations

import contextlib
import http.client
import io
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from qbwc import WebConnectorService
from qbwc.exceptions import ConfigurationError
from qbwc.protocol._events import ClientVersionCall, ServerVersionCall
from qbwc.protocol._soap import encode_call
from qbwc.store import MemoryStore
from qbwc.testing._web_connector import wsgi_transport
from qbwc.wsgi import make_wsgi_app
from tests.rig import Rig

OWNER = "6F6C2E1A-3B7D-4E2F-9A51-0C8D7B4E2F10"
CALL = encode_call(ClientVersionCall(version="2.3.0.36"))


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


class _Counted(io.BytesIO):
    """A wsgi.input that counts what is read from it."""

    read_bytes = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.read_bytes += len(data)
        return data


def _chunked(app: Any, body: bytes, *, terminated: bool) -> tuple[str, bytes, _Counted]:
    """POST *body* as a server passes a chunked request: no CONTENT_LENGTH."""
    stream = _Counted(body)
    extra: dict[str, Any] = {"wsgi.input": stream}
    if terminated:
        extra["wsgi.input_terminated"] = True
    environ_body = {"CONTENT_LENGTH": ""}
    status, _, data = _call(app, "POST", **environ_body, **extra)
    return status, data, stream


class TestChunkedBodies:
    def test_read_to_the_end_when_the_server_terminates_the_input(self) -> None:
        """No Content-Length, wsgi.input_terminated: the body is read to its end and answered."""
        status, data, stream = _chunked(make_wsgi_app(Rig().service), CALL, terminated=True)
        assert status == "200 OK"
        assert b"clientVersionResult" in data
        assert stream.read_bytes == len(CALL)

    def test_411_when_the_end_is_unknown(self) -> None:
        """No Content-Length and no wsgi.input_terminated: 411 with a fault, nothing read."""
        status, data, stream = _chunked(make_wsgi_app(Rig().service), CALL, terminated=False)
        assert status == "411 Length Required"
        assert b"<faultcode>soap:Client</faultcode>" in data
        assert b"Content-Length" in data
        assert stream.read_bytes == 0

    def test_streamed_body_over_the_cap_reads_cap_plus_one(self) -> None:
        """A chunked body over the cap gets 413 after reading at most cap + 1 bytes."""
        app = make_wsgi_app(Rig().service, max_body_bytes=100_000)
        body = CALL.replace(b"2.3.0.36", b"2" * 300_000)
        status, data, stream = _chunked(app, body, terminated=True)
        assert status == "413 Payload Too Large"
        assert b"<faultcode>soap:Client</faultcode>" in data
        assert stream.read_bytes <= 100_001

    def test_streamed_body_at_the_cap_is_answered(self) -> None:
        """A chunked body of exactly the cap is read whole and answered."""
        body = CALL.replace(b"2.3.0.36", b"2.3.0.36" + b" " * (100_000 - len(CALL)))
        app = make_wsgi_app(Rig().service, max_body_bytes=len(body))
        status, _, _ = _chunked(app, body, terminated=True)
        assert status == "200 OK"
        status, _, _ = _chunked(app, body + b" ", terminated=True)
        assert status == "413 Payload Too Large"


_GUNICORN_APP = textwrap.dedent(
    """
    import uuid
    from qbwc import WebConnectorService
    from qbwc.store import MemoryStore
    from qbwc.wsgi import make_wsgi_app

    app = make_wsgi_app(WebConnectorService(store=MemoryStore(), owner_id=uuid.uuid4()))
    """
)


@pytest.fixture
def gunicorn(tmp_path: Path) -> Iterator[int]:
    """A real gunicorn (one sync worker) on 127.0.0.1 serving the WSGI app; its port."""
    pytest.importorskip("gunicorn")
    (tmp_path / "chunked_app.py").write_text(_GUNICORN_APP)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", "1", "-b", f"127.0.0.1:{port}",
         "--chdir", str(tmp_path), "--log-level", "error", "chunked_app:app"],
    )  # fmt: skip
    try:
        for _ in range(600):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            if server.poll() is not None:
                pytest.fail("gunicorn exited")
            time.sleep(0.05)
        yield port
    finally:
        server.terminate()
        server.wait(30)


def test_gunicorn_answers_a_chunked_call(gunicorn: int) -> None:
    """A call sent with Transfer-Encoding: chunked, no Content-Length, gets its real answer."""
    body = encode_call(ServerVersionCall())
    connection = http.client.HTTPConnection("127.0.0.1", gunicorn, timeout=30)
    try:
        pieces = iter([body[:40], body[40:100], body[100:]])
        connection.request(
            "POST",
            "/qbwc",
            body=pieces,
            headers={"Content-Type": "text/xml; charset=utf-8"},
            encode_chunked=True,
        )
        response = connection.getresponse()
        data = response.read()
    finally:
        connection.close()
    assert response.status == 200, data
    assert b"<serverVersionResult>qbwc " in data


# --- the WSDL's address -----------------------------------------------------------------------

FORGED_HOSTS = [
    "evil.example/x",
    "evil.example?x",
    "evil.example#x",
    "a b.example",
    "evil.example\"@good",
    "user@evil.example",
    "evil.example:0",
    "evil.example:65536",
    "evil.example:",
    "evil.example:80x",
    "-evil.example",
    "evil-.example",
    "e" * 64 + ".example",
    "999.1.1.1",
    "1.2.3",
    "[::1",
    "[::1]x",
    "[fe80::1%25eth0]",
    "[not-ipv6]",
    "évil.example",
    "<script>",
    "evil.example\r\nX-Injected: 1",
]
PLAIN_HOSTS = [
    "billing.example.com",
    "billing.example.com:8443",
    "localhost",
    "192.0.2.7",
    "192.0.2.7:65535",
    "[2001:db8::1]",
    "[2001:db8::1]:443",
]


class TestWSDLAddress:
    @pytest.mark.parametrize("host", FORGED_HOSTS)
    def test_forged_host_gets_the_neutral_address(self, host: str) -> None:
        """A Host that is not host[:port] never reaches the WSDL: https://localhost/qbwc."""
        status, _, data = _call(make_wsgi_app(Rig().service), "GET", query="wsdl", HTTP_HOST=host)
        assert status == "200 OK"
        assert b'location="https://localhost/qbwc"' in data

    @pytest.mark.parametrize("host", PLAIN_HOSTS)
    def test_plain_host_is_used(self, host: str) -> None:
        """A DNS name, IPv4 or bracketed IPv6, with an optional port, names the endpoint."""
        _, _, data = _call(make_wsgi_app(Rig().service), "GET", query="wsdl", HTTP_HOST=host)
        assert f'location="https://{host}/qbwc"'.encode() in data

    @pytest.mark.parametrize("host", [*FORGED_HOSTS[:3], *PLAIN_HOSTS[:2]])
    def test_public_url_wins(self, host: str) -> None:
        """With public_url set, the WSDL names it whatever the Host says."""
        service = WebConnectorService(
            store=MemoryStore(), owner_id=OWNER, public_url="https://books.example.com/qbwc"
        )
        _, _, data = _call(make_wsgi_app(service), "GET", query="wsdl", HTTP_HOST=host)
        assert b'location="https://books.example.com/qbwc"' in data
        assert host.encode() not in data or host in "https://books.example.com/qbwc"

    @pytest.mark.parametrize(
        "value",
        [
            "ftp://books.example.com/qbwc",
            "books.example.com/qbwc",
            "https://",
            "https://books.example.com /qbwc",
            "https://evil.example:99999/qbwc",
            "https://user@books.example.com/qbwc",
            "https://books.example.com/qbwc\x00",
            "",
            42,
            b"https://books.example.com/qbwc",
        ],
    )
    def test_public_url_is_validated(self, value: object) -> None:
        """A public_url that is not an http(s) URL with a plain host: ConfigurationError."""
        with pytest.raises(ConfigurationError, match="public_url"):
            WebConnectorService(store=MemoryStore(), owner_id=OWNER, public_url=value)  # type: ignore[arg-type]

    @pytest.mark.parametrize(
        "value", ["https://books.example.com/qbwc", "http://10.0.0.5:8080/", "https://[::1]/q"]
    )
    def test_public_url_accepted(self, value: str) -> None:
        """http and https URLs with a plain host are kept as given."""
        service = WebConnectorService(store=MemoryStore(), owner_id=OWNER, public_url=value)
        assert service.public_url == value


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
