"""
The HTTP boundary answers every error (docs/service.md, "Errors").

An unexpected exception while a call is handled (a bug, a store's own exception
of any kind) is logged at ERROR with its traceback under a support reference,
and the Web Connector gets a ``soap:Server`` fault with status 500 and the
reference: never an HTML 500 page, never a traceback.  Replayed with real
stores that fail (a subclass raising what no store contract names, an SQLite
file whose tables were dropped underneath) through each adapter.
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
import sqlite3
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from qbwc import WebConnectorService
from qbwc.asgi import make_asgi_app
from qbwc.protocol._events import AuthenticateCall, ServerVersionCall
from qbwc.protocol._soap import encode_call
from qbwc.store import MemoryStore, SQLiteStore, Store
from qbwc.store._memory import _MemoryTransaction
from qbwc.wsgi import make_wsgi_app

OWNER = uuid.UUID("6F6C2E1A-3B7D-4E2F-9A51-0C8D7B4E2F10")
REFERENCE = re.compile(rb"QBWC-[2-9A-HJ-NP-Z]{6}")
LOGIN = encode_call(AuthenticateCall(username="kristy", password="pw"))


class FailingStore(MemoryStore):
    """A MemoryStore that, once told to, raises *failure* when a transaction starts."""

    def __init__(self) -> None:
        super().__init__()
        self.failure: BaseException | None = None

    def transaction(self) -> _MemoryTransaction:
        if self.failure is not None:
            raise self.failure
        return super().transaction()


def _failing(failure: BaseException) -> Callable[[Path], tuple[Store, Callable[[], None]]]:
    def make(_: Path) -> tuple[Store, Callable[[], None]]:
        store = FailingStore()

        def breaks() -> None:
            store.failure = failure

        return store, breaks

    return make


def _sqlite_dropped(path: Path) -> tuple[Store, Callable[[], None]]:
    file = path / "broken.sqlite"
    store = SQLiteStore(file)

    def breaks() -> None:
        raw = sqlite3.connect(file)
        raw.execute("DROP TABLE accounts")
        raw.commit()
        raw.close()

    return store, breaks


BREAKAGES = {
    "RuntimeError": _failing(RuntimeError("a bug in the store")),
    "KeyError": _failing(KeyError("row")),
    "TypeError": _failing(TypeError("unsupported operand")),
    "OSError": _failing(OSError(5, "Input/output error")),
    "sqlite3.OperationalError": _failing(sqlite3.OperationalError("disk I/O error")),
    "sqlite table dropped": _sqlite_dropped,
}


@pytest.fixture(params=sorted(BREAKAGES))
def broken(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[WebConnectorService]:
    """A service whose store fails once it has been set up (an account, a job)."""
    store, breaks = BREAKAGES[request.param](tmp_path)
    service = WebConnectorService(store=store, owner_id=OWNER, password_cost=2)
    service.add_account("kristy", "pw")
    breaks()
    yield service
    store.close()


def _assert_server_fault(
    status: int, headers: dict[str, str], body: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    assert status == 500, (status, body)
    assert headers["content-type"] == "text/xml; charset=utf-8"
    assert int(headers["content-length"]) == len(body)
    assert body.startswith((b"<?xml", b"<soap:Envelope")), body
    assert b"<faultcode>soap:Server</faultcode>" in body, body
    assert b"Traceback" not in body
    found = REFERENCE.search(body)
    assert found is not None, body
    logged = [r for r in caplog.records if found.group().decode() in r.getMessage()]
    assert len(logged) == 1, [r.getMessage() for r in caplog.records]
    assert logged[0].levelno == logging.ERROR
    assert logged[0].exc_info is not None  # the traceback goes to the log, not the client


class TestWSGI:
    def test_a_failing_store_gets_a_server_fault(
        self, broken: WebConnectorService, caplog: pytest.LogCaptureFixture
    ) -> None:
        app = make_wsgi_app(broken)
        environ = {
            "REQUEST_METHOD": "POST",
            "CONTENT_LENGTH": str(len(LOGIN)),
            "wsgi.input": io.BytesIO(LOGIN),
            "wsgi.url_scheme": "https",
            "HTTP_HOST": "books.example.com",
        }
        started: list[tuple[str, list[tuple[str, str]]]] = []
        body = b"".join(app(environ, lambda status, headers: started.append((status, headers))))
        status, headers = started[0]
        assert status == "500 Internal Server Error"
        _assert_server_fault(500, {k.lower(): v for k, v in headers}, body, caplog)

    def test_reading_the_body_fails(self, caplog: pytest.LogCaptureFixture) -> None:
        """The client went away mid-body: a fault all the same (not the server's HTML 500)."""

        class Gone(io.RawIOBase):
            def read(self, size: int = -1) -> bytes:
                raise ConnectionResetError(104, "Connection reset by peer")

        service = WebConnectorService(store=MemoryStore(), owner_id=OWNER)
        app = make_wsgi_app(service)
        environ = {"REQUEST_METHOD": "POST", "CONTENT_LENGTH": "200000", "wsgi.input": Gone()}
        started: list[tuple[str, list[tuple[str, str]]]] = []
        body = b"".join(app(environ, lambda status, headers: started.append((status, headers))))
        _assert_server_fault(500, {k.lower(): v for k, v in started[0][1]}, body, caplog)

    def test_handle_and_handle_http_answer_too(
        self, broken: WebConnectorService, caplog: pytest.LogCaptureFixture
    ) -> None:
        reply = broken.handle_http("POST", LOGIN)
        _assert_server_fault(
            reply.status, {k.lower(): v for k, v in reply.headers}, reply.body, caplog
        )
        assert b"<faultcode>soap:Server</faultcode>" in broken.handle(LOGIN)

    def test_the_stateless_calls_still_answer(self, broken: WebConnectorService) -> None:
        """serverVersion touches no store: a broken store does not stop it."""
        reply = broken.handle_http("POST", encode_call(ServerVersionCall()))
        assert reply.status == 200, reply.body


class TestASGI:
    def test_a_failing_store_gets_a_server_fault(
        self, broken: WebConnectorService, caplog: pytest.LogCaptureFixture
    ) -> None:
        app = make_asgi_app(broken)
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": LOGIN, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {
            "type": "http",
            "method": "POST",
            "path": "/qbwc",
            "headers": [(b"host", b"books.example.com")],
            "query_string": b"",
            "scheme": "https",
        }
        asyncio.run(app(scope, receive, send))
        start, body = sent
        headers = {k.decode(): v.decode() for k, v in start["headers"]}
        _assert_server_fault(start["status"], headers, body["body"], caplog)

    def test_receiving_fails(self, caplog: pytest.LogCaptureFixture) -> None:
        """The server's receive raises mid-body: a fault, not the server's plain 500."""
        app = make_asgi_app(WebConnectorService(store=MemoryStore(), owner_id=OWNER))
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            raise OSError(104, "Connection reset by peer")

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {"type": "http", "method": "POST", "path": "/", "headers": [], "query_string": b""}
        asyncio.run(app(scope, receive, send))
        start, body = sent
        headers = {k.decode(): v.decode() for k, v in start["headers"]}
        _assert_server_fault(start["status"], headers, body["body"], caplog)


_DJANGO = textwrap.dedent(
    """
    import io, logging, re, sqlite3, sys
    import django
    from django.conf import settings

    settings.configure(
        INSTALLED_APPS=["qbwc.django"],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        ALLOWED_HOSTS=["testserver"],
        SECRET_KEY="x",
        DEBUG=True,
    )
    django.setup()
    from django.test import RequestFactory

    from qbwc import WebConnectorService
    from qbwc.protocol._events import AuthenticateCall
    from qbwc.protocol._soap import encode_call
    from qbwc.django import web_connector_view
    from qbwc.store import MemoryStore, SQLiteStore

    class Failing(MemoryStore):
        failure = None

        def transaction(self):
            if self.failure is not None:
                raise self.failure
            return super().transaction()

    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logging.getLogger("qbwc").addHandler(handler)
    login = encode_call(AuthenticateCall(username="kristy", password="pw"))
    failures = [RuntimeError("bug"), KeyError("row"), sqlite3.OperationalError("disk I/O error")]
    for failure in [*failures, "dropped"]:
        if failure == "dropped":
            path = sys.argv[1]
            store = SQLiteStore(path)
        else:
            store = Failing()
        service = WebConnectorService(store=store, owner_id="{OWNER}", password_cost=2)
        service.add_account("kristy", "pw")
        if failure == "dropped":
            raw = sqlite3.connect(path)
            raw.execute("DROP TABLE accounts")
            raw.commit()
            raw.close()
        else:
            store.failure = failure
        view = web_connector_view(service)
        answer = view(RequestFactory().post("/", data=login, content_type="text/xml"))
        body = answer.content
        assert answer.status_code == 500, (failure, answer.status_code, body)
        assert answer["Content-Type"] == "text/xml; charset=utf-8", answer["Content-Type"]
        assert b"<faultcode>soap:Server</faultcode>" in body, body
        assert b"Traceback" not in body and b"<html" not in body.lower(), body
        reference = re.search(rb"QBWC-[2-9A-HJ-NP-Z]{6}", body).group().decode()
        logged = [r for r in records if reference in r.getMessage()]
        assert len(logged) == 1 and logged[0].levelno == logging.ERROR, logged
        assert logged[0].exc_info is not None
    print("ok")
    """
)


def test_django_a_failing_store_gets_a_server_fault(tmp_path: Path) -> None:
    pytest.importorskip("django")
    script = _DJANGO.replace("{OWNER}", str(OWNER))
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "dropped.sqlite")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
