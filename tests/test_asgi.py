"""The ASGI adapter: the same HTTP semantics, with the service in a worker thread."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from qbwc import WebConnectorService
from qbwc.asgi import make_asgi_app
from qbwc.protocol._events import ServerVersionCall
from qbwc.protocol._soap import encode_call
from qbwc.store import MemoryStore
from tests.rig import OWNER, Rig
from tests.test_wsgi import FORGED_HOSTS, PLAIN_HOSTS


def _pieces(
    app: Any, pieces: list[bytes], *, headers: list[tuple[bytes, bytes]] | None = None
) -> tuple[list[dict[str, Any]], int]:
    """POST *pieces* as separate body messages (a chunked body); (what was sent, pieces taken)."""
    taken = 0

    async def receive() -> dict[str, Any]:
        nonlocal taken
        taken += 1
        return {"type": "http.request", "body": pieces[taken - 1], "more_body": taken < len(pieces)}

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/qbwc",
        "headers": headers or [(b"host", b"books.example.com"), (b"transfer-encoding", b"chunked")],
        "query_string": b"",
        "scheme": "https",
    }
    asyncio.run(app(scope, receive, send))
    return sent, taken


def _client_call(app: Any, method: str, url: str = "/qbwc", **kwargs: Any) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="https://books.example.com"
        ) as client:
            return await client.request(method, url, **kwargs)

    return asyncio.run(go())


class TestASGI:
    def test_a_session(self) -> None:
        """A whole Web Connector session runs through the ASGI app."""
        r = Rig()
        r.enqueue("1", "2")
        app = make_asgi_app(r.service)

        def send(body: bytes, action: str) -> tuple[int, bytes]:
            response = _client_call(
                app,
                "POST",
                content=body,
                headers={"SOAPAction": action, "Content-Type": "text/xml"},
            )
            return response.status_code, response.content

        r.wc.transport = send
        assert r.run().completed
        assert r.ref_numbers() == ["1", "2"]

    def test_wsdl_and_methods(self) -> None:
        """GET ?wsdl gives the WSDL for this URL; other methods get 405."""
        app = make_asgi_app(Rig().service)
        wsdl = _client_call(app, "GET", "/qbwc?wsdl")
        assert wsdl.status_code == 200
        assert wsdl.headers["content-type"] == "text/xml; charset=utf-8"
        assert b'location="https://books.example.com/qbwc"' in wsdl.content
        assert _client_call(app, "PUT").status_code == 405

    def test_too_large_declared_and_streamed(self) -> None:
        """A body over the cap gets 413, whether its length was declared or streamed."""
        app = make_asgi_app(Rig().service, max_body_bytes=1000)
        response = _client_call(app, "POST", content=b"x" * 5000)
        assert response.status_code == 413
        assert b"Fault" in response.content

        sent: list[dict[str, Any]] = []
        chunks = iter([b"x" * 600, b"x" * 600, b"never read"])

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": next(chunks), "more_body": True}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {"type": "http", "method": "POST", "path": "/", "headers": [], "query_string": b""}
        asyncio.run(app(scope, receive, send))
        assert sent[0]["status"] == 413
        assert next(chunks) == b"never read"

    def test_fault_is_500(self) -> None:
        """A malformed call gets a SOAP fault with status 500."""
        response = _client_call(make_asgi_app(Rig().service), "POST", content=b"<x/>")
        assert response.status_code == 500
        assert b"soap:Client" in response.content

    def test_lifespan(self) -> None:
        """The app answers the lifespan protocol (startup, shutdown)."""
        app = make_asgi_app(Rig().service)
        messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
        sent: list[str] = []

        async def receive() -> dict[str, Any]:
            return next(messages)

        async def send(message: dict[str, Any]) -> None:
            sent.append(message["type"])

        asyncio.run(app({"type": "lifespan"}, receive, send))
        assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]

    def test_fastapi_mount(self) -> None:
        """Mounted in FastAPI, the app serves the Web Connector at its path."""
        from fastapi import FastAPI

        r = Rig()
        api = FastAPI()
        api.mount("/qbwc", make_asgi_app(r.service))
        response = _client_call(api, "GET", "/qbwc/?wsdl")
        assert response.status_code == 200
        assert b'location="https://books.example.com/qbwc/"' in response.content
        r.enqueue("1")

        def send(body: bytes, action: str) -> tuple[int, bytes]:
            answer = _client_call(api, "POST", "/qbwc/", content=body)
            return answer.status_code, answer.content

        r.wc.transport = send
        assert r.run().completed
        assert r.ref_numbers() == ["1"]


class TestChunkedAndHostile:
    def test_a_chunked_call_in_several_messages(self) -> None:
        """A call in several body messages, no Content-Length, is read whole and answered."""
        body = encode_call(ServerVersionCall())
        sent, taken = _pieces(make_asgi_app(Rig().service), [body[:30], body[30:90], body[90:]])
        assert sent[0]["status"] == 200
        assert b"<serverVersionResult>qbwc " in sent[1]["body"]
        assert taken == 3

    @pytest.mark.parametrize(
        ("flood", "words"),
        [
            (b"<e/>" * 100_000, b"more than 256 elements"),
            (b"<e" + b"".join(b" a%d=''" % i for i in range(100_000)) + b"/>", b"256 attributes"),
            (
                b"<e" + b"".join(b" xmlns:n%d='u'" % i for i in range(100_000)) + b"/>",
                b"64 namespace",
            ),
        ],
        ids=["elements", "attributes", "namespaces"],
    )
    def test_a_flood_is_refused_at_its_first_piece(self, flood: bytes, words: bytes) -> None:
        """A markup flood gets a soap:Client fault after the first 64 KiB message; no more read."""
        r = Rig()
        head = b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
        body = head + flood + b"</soap:Body></soap:Envelope>"
        pieces = [body[i : i + 65536] for i in range(0, len(body), 65536)]
        sent, taken = _pieces(make_asgi_app(r.service), pieces)
        assert sent[0]["status"] == 500
        assert b"<faultcode>soap:Client</faultcode>" in sent[1]["body"]
        assert words in sent[1]["body"]
        assert taken == 1 < len(pieces)

    @pytest.mark.parametrize("host", FORGED_HOSTS)
    def test_forged_host_gets_the_neutral_address(self, host: str) -> None:
        """A Host header that is not host[:port] never reaches the WSDL."""
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {
            "type": "http",
            "method": "GET",
            "path": "/qbwc",
            "headers": [(b"host", host.encode("utf-8"))],
            "query_string": b"wsdl",
            "scheme": "https",
        }
        asyncio.run(make_asgi_app(Rig().service)(scope, receive, send))
        assert sent[0]["status"] == 200
        assert b'location="https://localhost/qbwc"' in sent[1]["body"]

    @pytest.mark.parametrize("host", PLAIN_HOSTS)
    def test_plain_host_is_used(self, host: str) -> None:
        """A plain host[:port] names the endpoint; with public_url, that wins."""
        app = make_asgi_app(Rig().service)
        answer = _client_call(app, "GET", "/qbwc?wsdl", headers={"Host": host})
        assert f'location="https://{host}/qbwc"'.encode() in answer.content
        service = WebConnectorService(
            store=MemoryStore(), owner_id=OWNER, public_url="https://books.example.com/qbwc"
        )
        answer = _client_call(make_asgi_app(service), "GET", "/qbwc?wsdl", headers={"Host": host})
        assert b'location="https://books.example.com/qbwc"' in answer.content
