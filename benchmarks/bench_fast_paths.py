"""
The fast-path audit: what each hand-tuned fast path saves of a Web Connector session.

A fast path stays only where it saves at least 5 % of a session with the SQLite store
(what users run).  Each toggle below puts one fast path's reference twin (the plain
code it stands for) in its place for the length of a run; the session is
``bench_service.py``'s five calls (clientVersion, authenticate, sendRequestXML with
the HCP document, receiveResponseXML, closeConnection) through the WSGI app.

Sessions with and without the fast path alternate (A B B A A B ...) in one process, on
two services with a store each (the toggle is on only around B's sessions, and B's
service is built inside it), so a busy moment of a shared machine falls on both.  Each
block of *sessions* pairs gives one saving, ``(median without - median with) / median
with``; the table gives the median and spread (lowest..highest) of the blocks' savings,
in the thread's CPU time (what a fast path can change: the machine's other work and
SQLite's fsync waits count against neither side) and in wall time.

Run: ``python -m benchmarks.bench_fast_paths [--blocks 10] [--sessions 200]
[--store sqlite|memory] [TOGGLE ...]``; ``--list`` names the toggles.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from benchmarks.bench_service import OPERATIONS, OWNER, USER, _invoice, _service, _session_bodies

from qbwc.protocol import CloseConnectionCall, Done, Progress, ReceiveResponseXMLCall, RequestXML
from qbwc.protocol._soap import decode_reply, encode_call
from qbwc.store import MemoryStore, SQLiteStore, Store
from qbwc.testing import FakeQuickBooks
from qbwc.wsgi import make_wsgi_app

Patch = Callable[[], contextlib.AbstractContextManager[None]]


@contextlib.contextmanager
def _swap(original: Any, replacement: Any) -> Iterator[None]:
    """Every qbwc module global bound to *original* points at *replacement* meanwhile."""
    undo: list[tuple[Any, str, Any]] = []
    for name, module in list(sys.modules.items()):
        if not name.startswith("qbwc") or module is None:
            continue
        for attr, value in list(vars(module).items()):
            if value is original:
                undo.append((module, attr, value))
                setattr(module, attr, replacement)
    if not undo:
        msg = f"nothing is bound to {original!r}"
        raise LookupError(msg)
    try:
        yield
    finally:
        for module, attr, value in undo:
            setattr(module, attr, value)


# --- the toggles: each installs one fast path's reference twin -------------------------
# Only the fast paths still in the tree have one.  The deleted ones' toggles are in
# this file as of commit cbbab4d; run that version with PYTHONPATH pointing at a
# checkout of 55e8d37 (their figures are in benchmarks/README.md).


def _soap_frames() -> contextlib.AbstractContextManager[None]:
    """encode_reply's precomputed frames -> the lxml tree it is tested against."""
    from qbwc.protocol import _soap

    return _swap(_soap.encode_reply, _soap._encode_reply_tree)


def _response_summary() -> contextlib.AbstractContextManager[None]:
    """The service's lean reading of a qbXML answer -> the full typed parse_response."""
    from qbwc.qbxml import _parse

    return _swap(_parse.parse_response_summary, _parse.parse_response)


def _hcp_essentials() -> contextlib.AbstractContextManager[None]:
    """The service's lean reading of the HCP document -> parse_hcp, then the same four values."""
    from qbwc.qbxml import _hcp

    def reference(text: str, owner: Any) -> Any:
        hcp = _hcp.parse_hcp(text)
        return _hcp.HCPEssentials(
            hcp.host.supported_qbxml_versions,
            hcp.company.company_name,
            hcp.file_id(owner),
            hcp.missing,
        )

    return _swap(_hcp.parse_hcp_essentials, reference)


@contextlib.contextmanager
def _record_cache() -> Iterator[None]:
    """The session-record cache keyed by text -> every stored record parsed afresh."""
    from qbwc.service import _records

    _records._PARSED.clear()
    with _swap(_records._remember, lambda text, parsed: None):
        yield


@contextlib.contextmanager
def _state_evolver() -> Iterator[None]:
    """The generated SessionState copies (evolve, _step, _checked) -> one attrs.evolve a step."""
    import attrs

    from qbwc.exceptions import LocalProtocolError, RemoteProtocolError
    from qbwc.protocol import _events, _state

    def apply_call(state: Any, call: Any) -> Any:
        target = _state.TRANSITIONS[state.phase].get(type(call))
        if target is None:
            raise RemoteProtocolError(f"{call.operation} is not allowed now")
        lost = state.lost_response or (
            state.phase in _state.IN_FLIGHT
            and not isinstance(call, _events.ReceiveResponseXMLCall)
        )
        if isinstance(call, _events.AuthenticateCall):
            same_user = call.username == state.username
            return attrs.evolve(
                _state.INITIAL,
                phase=target,
                seq=state.seq + 1,
                username=call.username,
                lost_response=lost and same_user,
                data=state.data if same_user else (),
            )
        changes: dict[str, Any] = {"phase": target, "seq": state.seq + 1, "lost_response": lost}
        ticket = getattr(call, "ticket", None)
        if ticket is not None:
            if not state.ticket:
                changes["ticket"] = ticket
            elif not _state._tickets_match(state.ticket, ticket):
                raise RemoteProtocolError(f"{call.operation}: the ticket is not this session's")
        if isinstance(call, _events.SendRequestXMLCall) and target is _state.Phase.REQUEST_DUE:
            changes.update(
                company_file=call.company_file_name,
                country=call.country,
                qbxml_major=call.major_version,
                qbxml_minor=call.minor_version,
                hcp_received=state.hcp_received or bool(call.hcp_response),
            )
        elif isinstance(call, _events.ConnectionErrorCall):
            changes["connection_error_count"] = state.connection_error_count + 1
            changes["last_error"] = _state._reported(call.hresult, call.message)
        elif isinstance(call, _events.ReceiveResponseXMLCall) and (call.hresult or call.message):
            changes["last_error"] = _state._reported(call.hresult, call.message)
        return attrs.evolve(state, **changes)

    def apply_reply(state: Any, reply: Any) -> Any:
        target = _state.TRANSITIONS[state.phase].get(type(reply))
        if target is None:
            raise LocalProtocolError(f"cannot send {type(reply).__name__} now")
        changes: dict[str, Any] = {"phase": target, "seq": state.seq + 1}
        if isinstance(reply, _events.Authenticated | _events.NoWork | _events.Busy):
            changes["ticket"] = reply.ticket
        elif isinstance(reply, _events.RequestXML):
            changes["request_count"] = state.request_count + 1
        return attrs.evolve(state, **changes)

    def errored(state: Any) -> Any:
        return attrs.evolve(state, phase=_state.Phase.ERROR, seq=state.seq + 1)

    def evolve(state: Any, changes: Any) -> Any:
        return attrs.evolve(state, **changes)

    with (
        _swap(_state.apply_call, apply_call),
        _swap(_state.apply_reply, apply_reply),
        _swap(_state.errored, errored),
        _swap(_state.evolve, evolve),
    ):
        yield


TOGGLES: dict[str, Patch] = {
    "soap-frames": _soap_frames,
    "record-cache": _record_cache,
    "state-evolver": _state_evolver,
    "response-summary": _response_summary,
    "hcp-essentials": _hcp_essentials,
}


# --- the session ---------------------------------------------------------------------


def _call(app: Any, body: bytes) -> tuple[float, float, bytes]:
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/qbwc",
        "QUERY_STRING": "",
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": "text/xml; charset=utf-8",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "443",
        "wsgi.url_scheme": "https",
        "wsgi.input": io.BytesIO(body),
    }
    cpu, wall = time.thread_time(), time.perf_counter()
    data = b"".join(app(environ, lambda status, headers: None))
    return time.thread_time() - cpu, time.perf_counter() - wall, data


class _Tokens:
    """Predictable tokens, distinct per rig (so no two rigs share a ticket or a record)."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.n = 0

    def __call__(self, nbytes: int) -> str:
        self.n += 1
        return self.at(self.n)

    def at(self, n: int) -> str:
        return f"{self.prefix}{n:012d}{'x' * 20}"


class _Rig:
    """One service, its store and the QuickBooks double: sessions one at a time."""

    def __init__(self, store: Store, prefix: str) -> None:
        self.tokens = _Tokens(prefix)
        self.service = _service(store, self.tokens)  # type: ignore[arg-type]
        account = self.service.account(USER)
        assert account is not None
        self.qb = FakeQuickBooks.sample()
        self.qb.register_application(OWNER, account.file_id)
        self.app = make_wsgi_app(self.service)
        self.number = 0

    def session(self) -> tuple[float, float]:
        """(CPU, wall) seconds inside the WSGI app for one five-call session."""
        self.number += 1
        self.service.enqueue(USER, _invoice(str(self.number)))
        ticket = self.tokens.at(self.tokens.n + 1)
        cpu = wall = 0.0
        answer = b""
        for _op, body in zip(OPERATIONS, _session_bodies(self.qb, ticket), strict=False):
            c, w, answer = _call(self.app, body)
            cpu, wall = cpu + c, wall + w
        reply = decode_reply("sendRequestXML", answer)
        assert isinstance(reply, RequestXML), reply
        response = self.qb.process_request(reply.qbxml)
        body = encode_call(ReceiveResponseXMLCall(ticket=ticket, response=response))
        c, w, answer = _call(self.app, body)
        assert isinstance(decode_reply("receiveResponseXML", answer), Done | Progress), answer
        cpu, wall = cpu + c, wall + w
        c, w, _ = _call(self.app, encode_call(CloseConnectionCall(ticket=ticket)))
        return cpu + c, wall + w

    def close(self) -> None:
        jobs = self.service.jobs(USER, status="done")
        assert len(jobs) >= min(self.number, 10), len(jobs)
        self.service.store.close()


def audit(names: list[str], store: str, blocks: int, sessions: int, folder: Path) -> None:
    """
    Per toggle: two rigs, sessions alternating between them (A B B A A B ...).

    A runs the fast path, B its reference twin (the toggle is on only around B's
    sessions, and B's service is built inside it).  Each block of *sessions* pairs
    gives one saving, ``(median B - median A) / median A``.
    """
    counter = iter(range(10**6))

    def make_store() -> Store:
        if store == "memory":
            return MemoryStore()
        return SQLiteStore(folder / f"audit-{next(counter)}.sqlite")

    print(f"{store} session: {blocks} blocks of {sessions} sessions with and without, alternating")
    print(
        f"{'fast path':20}{'cpu µs: with':>13}{'without':>9}{'saving':>9}{'spread':>16}"
        f"{'wall µs: with':>15}{'without':>9}{'saving':>9}{'spread':>16}"
    )
    for name in names:
        toggle = TOGGLES[name]
        fast = _Rig(make_store(), "fast")
        with toggle():
            slow = _Rig(make_store(), "slow")
        for _ in range(20):  # warm-up: imports, compiled readers, the double's caches
            fast.session()
            with toggle():
                slow.session()
        a: list[tuple[float, float]] = []
        b: list[tuple[float, float]] = []
        for number in range(blocks * sessions):
            for with_reference in (False, True) if number % 2 == 0 else (True, False):
                if with_reference:
                    with toggle():
                        b.append(slow.session())
                else:
                    a.append(fast.session())
        fast.close()
        slow.close()
        cpu: list[float] = []
        wall: list[float] = []
        for block in range(blocks):
            part = slice(block * sessions, (block + 1) * sessions)
            for kind, out in ((0, cpu), (1, wall)):
                with_ = statistics.median(t[kind] for t in a[part])
                without = statistics.median(t[kind] for t in b[part])
                out.append((without - with_) / with_ * 100)
        print(
            f"{name:20}{statistics.median(t[0] for t in a) * 1e6:>13.0f}"
            f"{statistics.median(t[0] for t in b) * 1e6:>9.0f}"
            f"{statistics.median(cpu):>8.1f}%{min(cpu):>8.1f}..{max(cpu):>5.1f} %"
            f"{statistics.median(t[1] for t in a) * 1e6:>15.0f}"
            f"{statistics.median(t[1] for t in b) * 1e6:>9.0f}"
            f"{statistics.median(wall):>8.1f}%{min(wall):>8.1f}..{max(wall):>5.1f} %",
            flush=True,
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("toggles", nargs="*", help="fast paths to audit (default: all)")
    parser.add_argument("--blocks", type=int, default=10)
    parser.add_argument("--sessions", type=int, default=200, help="pairs per block")
    parser.add_argument("--store", choices=("sqlite", "memory"), default="sqlite")
    parser.add_argument("--list", action="store_true", help="name the toggles and stop")
    args = parser.parse_args(argv)
    if args.list:
        for name, toggle in TOGGLES.items():
            print(f"{name:20}{(toggle.__doc__ or '').strip()}")
        return 0
    unknown = sorted(set(args.toggles) - set(TOGGLES))
    if unknown:
        parser.error(f"unknown toggle(s) {', '.join(unknown)}; --list names them")
    with tempfile.TemporaryDirectory() as folder:
        audit(args.toggles or list(TOGGLES), args.store, args.blocks, args.sessions, Path(folder))
    return 0


if __name__ == "__main__":
    sys.exit(main())
