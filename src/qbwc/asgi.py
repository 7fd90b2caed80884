"""Serve a :class:`~qbwc.WebConnectorService` as an ASGI app (uvicorn, FastAPI, Starlette)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from qbwc.service import BodyRefused, HTTPReply, WebConnectorService, request_url

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
        try:
            reply = await _answer(service, scope, receive, limit)
        except Exception as exc:  # a fault, never the server's plain 500 (nor a traceback)
            reply = service.internal_error(exc)
        await _send(send, reply)

    return app


async def _answer(
    service: WebConnectorService, scope: Scope, receive: Receive, limit: int
) -> HTTPReply:
    method = str(scope.get("method", "GET")).upper()
    body = b""
    if method == "POST":
        try:
            body = await _read_body(service, scope, receive, limit)
        except BodyRefused as refused:
            return refused.reply
    query = scope.get("query_string", b"").decode("latin-1")
    return await asyncio.to_thread(service.handle_http, method, body, query=query, url=_url(scope))


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


async def _read_body(
    service: WebConnectorService, scope: Scope, receive: Receive, limit: int
) -> bytes:
    """
    The whole body.

    Raises:
        BodyRefused: 413 once it is known to exceed *limit*; a fault once its markup
            is over the envelope budget (the rest is not received).
    """
    declared = _declared_length(scope)
    if declared > limit:
        raise BodyRefused(service.too_large(declared))
    reader = service.body_reader(declared, limit=limit)
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        more = message.get("more_body", False)
        reader.feed(message.get("body", b""), more=more)
        if not more:
            break
    return reader.body()


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
