"""The ASGI adapter: the same HTTP semantics, with the service in a worker thread."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from qbwc.asgi import make_asgi_app
from tests.rig import Rig


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
