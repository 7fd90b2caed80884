"""Serve a :class:`~qbwc.WebConnectorService` as an ASGI app (uvicorn, FastAPI, Starlette)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from qbwc._address import request_url
from qbwc._body import refused
from qbwc._budget import BodyBudget
from qbwc.exceptions import XMLParseError
from qbwc.service import HTTPReply, WebConnectorService

__all__ = ["make_asgi_app"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def make_asgi_app(service: WebConnectorService, *, max_body_bytes: int | None = None) -> ASGIApp:
    """
    An ASGI application that answers the Web Connector.

    The same answers as :func:`qbwc.wsgi.make_wsgi_app`.  The service (and its
    store) is synchronous, so each call runs in a worker thread
    (``asyncio.to_thread``) and never blocks the event loop.  A body over
    *max_body_bytes* (default: the service's) is refused with 413 as soon as
    it is known to be too big; a chunked body (no Content-Length) is read to
    its last message.  Each piece of the body is counted against the envelope
    budget as it arrives, so a hostile body is refused with a fault before
    the rest of it is received.  Mount it with ``app.mount("/qbwc", ...)``.
    """
    limit = service.max_body_bytes if max_body_bytes is None else max_body_bytes

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            msg = f"qbwc.asgi serves HTTP only, not {scope['type']!r}"
            raise RuntimeError(msg)
        method = str(scope.get("method", "GET")).upper()
        body = b""
        if method == "POST":
            read = await _read_body(scope, receive, limit)
            if read is None:
                await _send(send, service.too_large(_declared_length(scope)))
                return
            if isinstance(read, XMLParseError):
                await _send(send, refused(service, read))
                return
            body = read
        query = scope.get("query_string", b"").decode("latin-1")
        reply = await asyncio.to_thread(
            service.handle_http, method, body, query=query, url=_url(scope)
        )
        await _send(send, reply)

    return app


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def _declared_length(scope: Scope) -> int:
    for name, value in scope.get("headers", ()):
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return -1
    return -1


async def _read_body(scope: Scope, receive: Receive, limit: int) -> bytes | XMLParseError | None:
    """
    The whole body; None once it is known to exceed *limit*; the error once its
    markup is over the envelope budget (the rest is not received).
    """
    if _declared_length(scope) > limit:
        return None
    budget: BodyBudget | None = None
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        more = message.get("more_body", False)
        if budget is None:
            if not more:  # the usual call: one message, counted when it is parsed
                return bytes(chunk)
            budget = BodyBudget()
        try:
            budget.feed(chunk)
        except XMLParseError as exc:
            return exc
        if not more:
            break
    return b"" if budget is None else budget.body()


async def _send(send: Send, reply: HTTPReply) -> None:
    headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in reply.headers]
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    await send({"type": "http.response.body", "body": reply.body})


def _url(scope: Scope) -> str:
    scheme = scope.get("scheme", "http")
    host = ""
    for name, value in scope.get("headers", ()):
        if name.lower() == b"host":
            host = value.decode("latin-1")
    if not host:
        server = scope.get("server") or ("localhost", None)
        host = server[0] if server[1] in (None, 80, 443) else f"{server[0]}:{server[1]}"
    root = str(scope.get("root_path", ""))
    path = str(scope.get("path", "/"))
    # Starlette keeps the full path in "path" for mounted apps; older servers do not.
    if not path.startswith(root):
        path = root + path
    return request_url(str(scheme), host, path)
