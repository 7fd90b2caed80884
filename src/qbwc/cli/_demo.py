"""
``qbwc demo``: the whole round trip on one machine, no Windows, in a few seconds.

Starts a :class:`~qbwc.WebConnectorService` on a temporary SQLite store behind
the standard library's WSGI server on 127.0.0.1 (a free port), queues a few
estimates and invoices for a construction company, and runs the Web Connector
double against :class:`~qbwc.testing.FakeQuickBooks` over real HTTP, narrating
each call.  It ends with a table of what QuickBooks created (TxnIDs), what
failed and why, and the support reference of each failure, with the log line
support finds under it.

``--scenario`` replays one of the five support situations of
``docs/troubleshooting.md``: ``password-changed``, ``new-user-email-or-computer``,
``different-company-file``, ``lost-response`` (an invoice not in QuickBooks) or
``reference-quoted``: what the user sees, what support sees, and how it recovers.
``two-way`` runs the story of docs/two-way.md (linkages, pulls, actuals, Disconnect and
relink; in ``qbwc.cli._demo_two_way``).

The exit code is 0 when everything behaved as designed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
import tempfile
import textwrap
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any, Final, TextIO
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import attrs

from qbwc.exceptions import QBWCError, QBXMLValidationError, RemoteProtocolError
from qbwc.protocol._events import (
    AnyCall,
    AnyReply,
    AuthenticateCall,
    Authenticated,
    Busy,
    ClientVersionCall,
    ClientVersionOK,
    ConnectionErrorCall,
    Done,
    Failed,
    GiveUp,
    Goodbye,
    InvalidUserReply,
    LastErrorReply,
    NoRequest,
    NoWork,
    Progress,
    ReceiveResponseXMLCall,
    RequestXML,
    SendRequestXMLCall,
    ServerVersion,
    TryCompanyFile,
)
from qbwc.qbxml._requests import EstimateAdd, EstimateLineAdd, InvoiceAdd, InvoiceLineAdd
from qbwc.qbxml._types import Ref
from qbwc.service import WebConnectorService
from qbwc.store import Job, SQLiteStore
from qbwc.testing._http import http_transport
from qbwc.testing._quickbooks import FakeQuickBooks
from qbwc.testing._web_connector import FakeWebConnector, SessionResult, Transport

__all__ = ["SCENARIOS", "register", "run_demo"]

#: The situations ``--scenario`` replays.
SCENARIOS: Final = (
    "password-changed",
    "new-user-email-or-computer",
    "different-company-file",
    "lost-response",
    "reference-quoted",
    "two-way",
)

_OWNER_ID: Final = uuid.UUID("5D7C1E2A-3B4F-4A6D-9C8E-1F2A3B4C5D6E")
_USER: Final = "office@summit-ridge.example"
_NEW_USER: Final = "books@summit-ridge.example"
_PASSWORD: Final = "demo password 1"  # noqa: S105 - a throwaway account in a temp store
_APP: Final = "Summit Ridge Billing"
_COMPANY: Final = "Summit Ridge Construction"
_WIDTH: Final = 100


# --- the company and the work --------------------------------------------------------------


def _company(name: str = _COMPANY) -> FakeQuickBooks:
    """A small construction company's QuickBooks file."""
    qb = FakeQuickBooks(company_name=name, machine_name="SITE-OFFICE")
    qb.add_terms("Net 30", days_due=30)
    qb.add_terms("Due on receipt", days_due=0)
    qb.add_item("Framing Labor", price="68.00", description="Framing crew, per hour")
    qb.add_item("Electrical", price="95.00", description="Licensed electrician, per hour")
    qb.add_item("Plumbing", price="90.00", description="Licensed plumber, per hour")
    qb.add_item("Project Management", price="85.00", description="Site supervision, per hour")
    qb.add_item("Drywall", kind="NonInventory", price="14.50", description="1/2 in. sheet")
    qb.add_item("Concrete", kind="NonInventory", price="165.00", description="Per cubic yard")
    qb.add_item("Permit Fee", kind="OtherCharge", price="350.00", description="City permit")
    qb.add_item("Dumpster Rental", kind="OtherCharge", price="425.00", description="30 yd, 1 wk")
    qb.add_customer("Miller Residence", terms="Net 30")
    qb.add_customer("Miller Residence:Kitchen Remodel")
    qb.add_customer("Harbor View Apartments", terms="Net 30")
    qb.add_customer("Oak Street Dental", terms="Due on receipt")
    qb.add_customer("Nowak Residence", terms="Net 30")
    return qb


@attrs.frozen(kw_only=True)
class _Work:
    key: str
    kind: str
    customer: str
    request: InvoiceAdd | EstimateAdd


def _invoice(number: str, customer: str, lines: Sequence[tuple[str, int]], **more: Any) -> _Work:
    request = InvoiceAdd(
        customer_ref=Ref(full_name=customer),
        ref_number=number,
        lines=tuple(
            InvoiceLineAdd(item_ref=Ref(full_name=i), quantity=Decimal(q)) for i, q in lines
        ),
        **more,
    )
    return _Work(key=f"invoice-{number}", kind="Invoice", customer=customer, request=request)


def _estimate(number: str, customer: str, lines: Sequence[tuple[str, int]], **more: Any) -> _Work:
    request = EstimateAdd(
        customer_ref=Ref(full_name=customer),
        ref_number=number,
        lines=tuple(
            EstimateLineAdd(item_ref=Ref(full_name=i), quantity=Decimal(q)) for i, q in lines
        ),
        **more,
    )
    return _Work(key=f"estimate-{number}", kind="Estimate", customer=customer, request=request)


def _main_work() -> list[_Work]:
    kitchen = "Miller Residence:Kitchen Remodel"
    return [
        _estimate(
            "2041",
            kitchen,
            [
                ("Framing Labor", 24),
                ("Drywall", 38),
                ("Electrical", 16),
                ("Plumbing", 12),
                ("Permit Fee", 1),
            ],
            memo="Kitchen remodel, phase 1",
        ),
        _invoice(
            "1187",
            "Harbor View Apartments",
            [("Concrete", 18), ("Framing Labor", 40), ("Dumpster Rental", 1)],
            po_number="HV-0931",
        ),
        _invoice("1188", "Oak Street Dental", [("Electrical", 22), ("Project Management", 6)]),
        # Not a customer in this company file: QuickBooks refuses it (3140).
        _invoice("1189", "Pinecrest HOA", [("Project Management", 10), ("Permit Fee", 1)]),
        # "ë" is in Latin-1, "Ł" is not: refused when queued, before it can reach QuickBooks.
        _estimate(
            "2042",
            "Nowak Residence",
            [("Concrete", 6), ("Framing Labor", 16)],
            memo="Patio for Zoë & Łukasz Nowak",
        ),
        _invoice("1190", kitchen, [("Framing Labor", 24), ("Drywall", 38), ("Permit Fee", 1)]),
    ]


# --- printing ------------------------------------------------------------------------------


class _Printer:
    def __init__(self, out: TextIO) -> None:
        self.out = out

    def line(self, text: str = "") -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def wrapped(self, text: str, indent: str = "    ") -> None:
        for paragraph in text.splitlines() or [""]:
            self.line(
                textwrap.fill(
                    paragraph,
                    _WIDTH,
                    initial_indent=indent,
                    subsequent_indent=indent,
                    break_on_hyphens=False,
                )
            )

    def heading(self, text: str) -> None:
        self.line()
        self.line(text)


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


_RQ: Final = re.compile(r'<(\w+)Rq requestID="([^"]*)"')
_REF: Final = re.compile(r"<RefNumber>([^<]*)</RefNumber>")


class _Narrator:
    """A transport that sends each call over HTTP and prints what happened."""

    def __init__(self, send: Transport, printer: _Printer, service: WebConnectorService) -> None:
        self.send = send
        self.printer = printer
        self.service = service

    def __call__(self, body: bytes, action: str) -> tuple[int, bytes]:
        from qbwc.protocol._soap import decode_call, decode_reply  # noqa: PLC0415

        call = decode_call(body)
        status, answer = self.send(body, action)
        try:
            reply: AnyReply | str = decode_reply(call.operation, answer)
            shown = self._reply(reply)
        except RemoteProtocolError as exc:
            shown = f"HTTP {status}: {exc.message}"
        described = self._call(call)
        if len(shown) <= _WIDTH - 52:
            self.printer.line(f"  -> {described:<44} <- {shown}")
        else:
            self.printer.line(f"  -> {described:<44} <-")
            self.printer.wrapped(shown, indent="       ")
        return status, answer

    def _job_key(self, job_id: str) -> str:
        job = self.service.job(job_id)
        return job_id if job is None else job.key or job_id

    def _call(self, call: AnyCall) -> str:
        if isinstance(call, ClientVersionCall):
            return f"clientVersion {call.version}"
        if isinstance(call, AuthenticateCall):
            return f"authenticate {call.username}"
        if isinstance(call, SendRequestXMLCall):
            return "sendRequestXML + company data" if call.hcp_response else "sendRequestXML"
        if isinstance(call, ReceiveResponseXMLCall):
            return "receiveResponseXML " + self._response(call)
        if isinstance(call, ConnectionErrorCall):
            return f"connectionError {call.hresult}"
        return call.operation

    def _response(self, call: ReceiveResponseXMLCall) -> str:
        from qbwc.qbxml._parse import parse_response  # noqa: PLC0415

        if call.hresult:
            return f"(QuickBooks failed: {call.hresult})"
        try:
            answer = parse_response(call.response)
        except QBWCError:
            return "(unreadable)"
        if not answer.responses:
            code = answer.message_set_status_code
            return f"(recovery: status {code})" if code else "(recovery: cleared)"
        parts = []
        pulled: list[str] | None = None  # a pull's answers (docs/two-way.md): not jobs
        for response in answer.responses:
            if self.service.job(response.request_id or "") is None:
                pulled = (pulled or []) + [
                    type(r).__name__.removesuffix("Ret") for r in response.rets
                ]
                continue
            key = self._job_key(response.request_id or "")
            ret = response.ret
            job = self.service.job(response.request_id or "")
            if response.ok and ret is not None and job is not None and "Mod" in job.request_type:
                parts.append(f"({key}: changed)")
            elif response.ok and ret is not None:
                parts.append(f"({key}: created)")
            elif response.ok:
                parts.append(f"({key}: saved earlier)")
            else:
                parts.append(f"({key}: {response.status_code})")
        if pulled is not None:
            counts = {name: pulled.count(name) for name in dict.fromkeys(pulled)}
            found = ", ".join(f"{n} {name}" for name, n in counts.items()) or "nothing new"
            parts.append(f"(pull answered: {found})")
        return " ".join(parts)

    def _reply(self, reply: AnyReply | str) -> str:
        if isinstance(reply, str):
            return repr(reply)
        if isinstance(reply, ServerVersion):
            return reply.version
        if isinstance(reply, ClientVersionOK):
            return "OK"
        if isinstance(reply, Authenticated):
            return "ticket issued; use the open company file"
        if isinstance(reply, NoWork):
            return '"none": nothing to do'
        if isinstance(reply, InvalidUserReply):
            return f'"nvu": wrong username or password ({reply.reference or "no reference"})'
        if isinstance(reply, Busy):
            return '"busy": another update is running'
        if isinstance(reply, RequestXML):
            return self._request(reply.qbxml)
        if isinstance(reply, NoRequest):
            return '"" (nothing to send: ask getLastError)'
        if isinstance(reply, Progress):
            return f"{reply.percent}%"
        if isinstance(reply, Done):
            return "100% (done)"
        if isinstance(reply, Failed):
            return f"{reply.code} (stop: ask getLastError)"
        if isinstance(reply, LastErrorReply | Goodbye):
            return reply.message
        if isinstance(reply, TryCompanyFile):
            return f"retry with {reply.path or 'the open file'}"
        if isinstance(reply, GiveUp):
            return '"done": stop'
        return type(reply).__name__

    def _request(self, qbxml: str) -> str:
        found = _RQ.findall(qbxml)
        if not found:
            if "newMessageSetID" in qbxml:
                set_id = re.search(r'oldMessageSetID="([^"]*)"', qbxml)
                return f"status query: lost set {set_id.group(1) if set_id else '?'}"
            return "clear QuickBooks' stored answer"
        parts = []
        refs = _REF.findall(qbxml)
        queries = [kind for kind, job_id in found if self.service.job(job_id) is None]
        for index, (kind, job_id) in enumerate(found):
            if self.service.job(job_id) is not None:
                ref = f" #{refs[index]}" if index < len(refs) else ""
                parts.append(f"{kind}{ref} ({self._job_key(job_id)})")
        if queries:  # a pull (docs/two-way.md): each followed type's query and deletions
            parts.append(f"pull: {len(queries)} queries ({', '.join(dict.fromkeys(queries))})")
        return ", ".join(parts)


# --- the rig: service, HTTP server, QuickBooks, Web Connector -------------------------------------


class _Clock:
    """The real time, plus the minutes the story skips."""

    def __init__(self) -> None:
        self.skipped = 0.0

    def __call__(self) -> float:
        return time.time() + self.skipped

    def advance(self, seconds: float) -> None:
        self.skipped += seconds


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """No access log on the terminal."""


class _SupportLog(logging.Handler):
    """Keeps the service's log lines, so the demo can show what support finds."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())

    def find(self, reference: str) -> str | None:
        return next((line for line in self.lines if line.startswith(reference)), None)


@contextmanager
def _captured_log() -> Iterator[_SupportLog]:
    handler = _SupportLog()
    logger = logging.getLogger("qbwc")
    old_level, old_propagate = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
        logger.propagate = old_propagate


class _Rig:
    def __init__(self, folder: Path, printer: _Printer, support: _SupportLog) -> None:
        from qbwc.wsgi import make_wsgi_app  # noqa: PLC0415

        self.printer = printer
        self.support = support
        self.db = folder / "qbwc.sqlite"
        self.store = SQLiteStore(self.db)
        self.clock = _Clock()
        self.service = WebConnectorService(
            store=self.store,
            owner_id=_OWNER_ID,
            app_name=_APP,
            password_cost=2**10,
            clock=self.clock,
            on_pulled=self._pulled,
            on_deleted=self._deleted,
        )
        self.service.add_account(_USER, _PASSWORD)
        self.server: WSGIServer = make_server(
            "127.0.0.1", 0, make_wsgi_app(self.service), handler_class=_QuietHandler
        )
        self.url = f"http://127.0.0.1:{self.server.server_port}/qbwc"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.qb = _company()
        self.narrator = _Narrator(http_transport(self.url), printer, self.service)
        self.wc = self.web_connector()
        # The QWC file names localhost (https is required for any other host).
        self.public = f"http://localhost:{self.server.server_port}/qbwc"
        self.wc.add_application(self.qwc(), password=_PASSWORD)
        self.sessions = 0
        self.jobs: dict[str, Job] = {}
        self.work: dict[str, _Work] = {}
        self.refused: dict[str, str] = {}

    #: The pull hooks a scenario sets (docs/two-way.md); none by default.
    on_pulled: Callable[[str, str, tuple[Any, ...]], None] | None = None
    on_deleted: Callable[[str, str, tuple[str, ...]], None] | None = None

    def _pulled(self, username: str, type: str, rets: tuple[Any, ...]) -> None:
        if self.on_pulled is not None:
            self.on_pulled(username, type, rets)

    def _deleted(self, username: str, type: str, ids: tuple[str, ...]) -> None:
        if self.on_deleted is not None:
            self.on_deleted(username, type, ids)

    def web_connector(self) -> FakeWebConnector:
        """A Web Connector (another one: a new computer) talking HTTP to the service."""
        return FakeWebConnector(None, self.qb, url=self.url, transport=self.narrator)

    def qwc(self, user: str = _USER) -> bytes:
        """The account's QWC file, as the application hands it out."""
        return self.service.qwc(user, app_url=self.public, app_support=self.public + "/help")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)
        self.store.close()

    def describe(self) -> None:
        p = self.printer
        p.line(f"  Service      {self.url}  (WSGI app on the standard library's server)")
        p.line(f"  Store        {self.db}  (SQLite)")
        p.line(
            f'  QuickBooks   "{self.qb.company_name}" (FakeQuickBooks: runs the qbXML in memory)'
        )
        p.line(f"               {self.qb.company_file}")
        p.line(f"  Account      {_USER}, set up with its QWC file")

    def enqueue(self, work: Sequence[_Work]) -> None:
        p = self.printer
        p.heading("Queueing work (service.enqueue)")
        for item in work:
            self.work[item.key] = item
            try:
                job = self.service.enqueue(_USER, item.request, key=item.key)
            except QBXMLValidationError as exc:
                self.refused[item.key] = str(exc)
                p.line(f"  refused  {item.key:<14} {item.kind:<9} {item.customer}")
                p.wrapped(f"{exc}", indent="           ")
                p.wrapped(
                    "Never queued, so it can never reach QuickBooks half-converted: fix the "
                    "text, or construct the service with text_policy='transliterate'.",
                    indent="           ",
                )
                continue
            self.jobs[item.key] = job
            p.line(f"  queued   {item.key:<14} {item.kind:<9} {item.customer}")

    def sync(self, note: str = "", wc: FakeWebConnector | None = None) -> SessionResult:
        self.sessions += 1
        title = f"Web Connector update {self.sessions} (POST {self.url})"
        self.printer.heading(title + (f": {note}" if note else ""))
        result = (wc or self.wc).run_session()
        last = result.replies[-1] if result.replies else None
        if isinstance(last, Goodbye) and last.message == result.status:
            self.printer.line(
                "  (the Web Connector's status column shows the closeConnection text)"
            )
        else:
            self.printer.line("  The Web Connector's status column shows:")
            self.printer.wrapped(result.status, indent="       ")
            if isinstance(last, Goodbye) and last.message != "Connection Closed":
                self.printer.line("  and the closeConnection text:")
                self.printer.wrapped(last.message, indent="       ")
        return result

    def support_sees(self, reference: str) -> str | None:
        """Print what support finds in the log for *reference* (grep); return the line."""
        logged = self.support.find(reference)
        self.printer.line(f"  Support runs: grep {reference} app.log")
        self.printer.wrapped(logged or "(nothing found)", indent="       ")
        return logged

    def job(self, key: str) -> Job:
        job = self.service.job(self.jobs[key].id)
        assert job is not None  # the demo never deletes a job
        self.jobs[key] = job
        return job

    def in_quickbooks(self, key: str, qb: FakeQuickBooks | None = None) -> int:
        ref = self.work[key].request.ref_number or ""
        return len((qb or self.qb).find(ref))

    def table(self) -> None:
        p = self.printer
        p.heading("Result")
        head = f"{'KEY':<15}{'CUSTOMER':<34}{'TOTAL':>11}  {'STATUS':<9}{'TXNID / CODE':<15}"
        p.line(f"  {head}REFERENCE")
        failures: list[tuple[str, str, str]] = []
        for key, item in self.work.items():
            customer = _shorten(item.customer, 32)
            if key in self.refused:
                row = f"{key:<15}{customer:<34}{'':>11}  {'refused':<9}{'at enqueue':<15}-"
                p.line(f"  {row}")
                failures.append((key, "Refused at enqueue: " + self.refused[key], ""))
                continue
            job = self.job(key)
            total = job.response.total if job.response is not None else None
            shown_total = "" if total is None else f"{total:,.2f}"
            start = f"{key:<15}{customer:<34}{shown_total:>11}  "
            if job.status == "done":
                copies = self.in_quickbooks(key)
                extra = "" if copies == 1 else f"  ({copies} in QuickBooks!)"
                p.line(f"  {start}{'done':<9}{job.txn_id or '?':<15}-{extra}")
            elif job.status == "failed" and job.error is not None:
                error = job.error
                p.line(f"  {start}{'failed':<9}{error.code:<15}{error.reference}")
                failures.append((key, error.message, error.reference))
            else:
                p.line(f"  {start}{job.status:<9}{'':<15}-")
        if failures:
            p.heading("What failed, and why")
            for key, message, reference in failures:
                p.line(f"  {key}{f'  ({reference})' if reference else ''}")
                p.wrapped(message, indent="    ")
                logged = self.support.find(reference) if reference else None
                if logged:
                    p.wrapped(f"Support finds in the log: {logged}", indent="    ")


# --- the scenarios ---------------------------------------------------------------------------


class _Checks:
    def __init__(self) -> None:
        self.problems: list[str] = []

    def expect(self, ok: bool, what: str) -> None:
        if not ok:
            self.problems.append(what)


def _main_scenario(rig: _Rig, checks: _Checks) -> None:
    work = _main_work()
    rig.enqueue(work)
    result = rig.sync()
    checks.expect(result.completed, "the update did not complete")
    rig.table()
    for key in ("estimate-2041", "invoice-1187", "invoice-1188", "invoice-1190"):
        checks.expect(rig.job(key).status == "done", f"{key} is not done")
        checks.expect(rig.in_quickbooks(key) == 1, f"{key} is not in QuickBooks exactly once")
    failed = rig.job("invoice-1189")
    checks.expect(
        failed.status == "failed" and failed.error is not None and failed.error.code == "3140",
        "invoice-1189 did not fail with 3140",
    )
    checks.expect(rig.in_quickbooks("invoice-1189") == 0, "invoice-1189 reached QuickBooks")
    checks.expect("estimate-2042" in rig.refused, "estimate-2042 was not refused")


def _password_changed(rig: _Rig, checks: _Checks) -> None:
    p = rig.printer
    rig.enqueue(_main_work()[:1])
    rig.sync("the usual password")
    p.heading("Someone changes the account's password in Summit Ridge Billing")
    p.line("  service.set_password(...)  -- the Web Connector still has the old one")
    new_password = "demo password 2"  # noqa: S105
    rig.service.set_password(_USER, new_password)
    rig.enqueue(_main_work()[1:2])
    refused = rig.sync("the Web Connector sends the old password")
    checks.expect(refused.status == "Invalid password for username", "old password not refused")
    checks.expect(rig.job("invoice-1187").status == "pending", "the job did not stay pending")
    p.heading("The bookkeeper types the new password in the Web Connector's Password column")
    rig.wc.set_password(new_password)
    fixed = rig.sync("the new password")
    checks.expect(fixed.completed, "the update with the new password did not complete")
    checks.expect(rig.in_quickbooks("invoice-1187") == 1, "invoice-1187 not created once")
    rig.table()


def _different_company_file(rig: _Rig, checks: _Checks) -> None:
    p = rig.printer
    rig.enqueue(_main_work()[:1])
    rig.sync("links the account to Summit Ridge Construction")
    other = _company("Summit Ridge Construction (test copy)")
    p.heading("The bookkeeper opens another company file in QuickBooks")
    p.wrapped(f'"{other.company_name}", {other.company_file}', indent="  ")
    rig.qb.switch_company(other)
    rig.enqueue(_main_work()[1:2])
    refused = rig.sync("the wrong file is open")
    checks.expect(not other.transactions, "a write reached the wrong company file")
    checks.expect(rig.job("invoice-1187").status == "pending", "the job did not stay pending")
    checks.expect(
        refused.last_error is not None and "Disconnect" in refused.last_error,
        "the user was not told about Disconnect",
    )
    p.line(
        f"  Nothing was written to the test copy: it holds {len(other.transactions)} transactions."
    )
    p.heading("The bookkeeper reopens Summit Ridge Construction")
    rig.qb.switch_company(None)
    fixed = rig.sync("the right file again")
    checks.expect(fixed.completed, "the update in the right file did not complete")
    checks.expect(rig.in_quickbooks("invoice-1187") == 1, "invoice-1187 not created once")
    rig.table()
    p.line()
    p.wrapped(
        'To move to the other file for good instead, choose "Disconnect" in the app '
        "(service.disconnect(user)); the next update links the file that is open, if it "
        "carries this account's FileID.",
        indent="  ",
    )


def _new_user_email_or_computer(rig: _Rig, checks: _Checks) -> None:
    from qbwc.testing import RequestProcessorError  # noqa: PLC0415

    p = rig.printer
    rig.enqueue(_main_work()[:1])
    rig.sync("the office computer, as every day")
    p.heading("The bookkeeper works from a new laptop (a new computer, or a new Windows user)")
    p.wrapped(
        "The Web Connector keeps applications and passwords per Windows user: the laptop "
        "has none. The bookkeeper downloads the SAME QWC file and adds it there.",
        indent="  ",
    )
    laptop = rig.web_connector()
    laptop.add_application(rig.qwc(), password=_PASSWORD)
    p.line("  Accepted: the company file's stamp matches the file's FileID (no QBWC1039).")
    rig.enqueue(_main_work()[1:2])
    on_laptop = rig.sync("from the laptop", wc=laptop)
    checks.expect(on_laptop.completed, "the same QWC file did not work on a new computer")
    checks.expect(rig.in_quickbooks("invoice-1187") == 1, "invoice-1187 not created once")

    p.heading(f"The bookkeeper's login email changes to {_NEW_USER}")
    p.line("  Wrong: a second account for the same company file has its own FileID...")
    rig.service.add_account("second@summit-ridge.example", _PASSWORD)
    try:
        rig.web_connector().add_application(
            rig.qwc("second@summit-ridge.example"), password=_PASSWORD
        )
        refused = ""
    except RequestProcessorError as exc:
        refused = str(exc)
    p.wrapped(f"The Web Connector refuses its QWC file: {refused}", indent="    ")
    checks.expect("QBWC1039" in refused, "a second account's QWC file was not refused (QBWC1039)")
    p.line("  Right: rename the account (service.rename_account, or qbwc account rename):")
    p.line("  same password, FileID, company file and jobs.")
    rig.enqueue(_main_work()[2:3])
    rig.service.rename_account(_USER, _NEW_USER)
    stale = rig.sync("the Web Connector still has the old email")
    checks.expect(stale.status == "Invalid password for username", "the old email was not refused")
    p.heading("The bookkeeper adds the new QWC file (it replaces the old entry: same FileID)")
    rig.wc.add_application(rig.qwc(_NEW_USER), password=_PASSWORD)
    renamed = rig.sync("the new email")
    checks.expect(renamed.completed, "the update under the new email did not complete")
    checks.expect(rig.job("invoice-1188").status == "done", "the waiting invoice was not sent")
    checks.expect(rig.in_quickbooks("invoice-1188") == 1, "invoice-1188 not created once")
    rig.table()


def _reference_quoted(rig: _Rig, checks: _Checks) -> None:
    from qbwc.testing import FailConnection, FaultInjector  # noqa: PLC0415

    p = rig.printer
    work = _main_work()
    rig.enqueue([work[1], work[3]])  # invoice-1189: a customer this company file lacks
    rig.sync()
    failed = rig.job("invoice-1189")
    reference = failed.error.reference if failed.error is not None else ""
    p.heading("The bookkeeper calls support, quoting the reference next to the failed invoice")
    p.line(f"  Summit Ridge Billing shows: invoice-1189 failed ({reference})")
    if failed.error is not None:
        p.wrapped(failed.error.message, indent="       ")
    logged = rig.support_sees(reference)
    checks.expect(
        logged is not None and "job failed" in logged and "code='3140'" in logged,
        "the job's reference is not in the log with its details",
    )

    p.heading("Another day QuickBooks cannot be started: the Web Connector shows a reference")
    faults = FaultInjector(rig.wc, service=rig.service)
    faults.inject(FailConnection(hresult="0x80040408", times=3))
    rig.enqueue(work[2:3])
    result = rig.sync("QuickBooks is not running")
    found = re.search(r"(QBWC-[2-9A-HJ-NP-Z]{6})\)$", result.last_error or "")
    checks.expect(found is not None, "the Web Connector message has no reference")
    if found is not None:
        p.heading("The bookkeeper reads the reference out to support")
        logged = rig.support_sees(found.group(1))
        checks.expect(
            logged is not None and "hresult='0x80040408'" in logged,
            "the message's reference is not in the log with the HRESULT",
        )
    again = rig.sync("QuickBooks open again")
    checks.expect(again.completed, "the next update did not complete")
    checks.expect(rig.in_quickbooks("invoice-1188") == 1, "invoice-1188 not created once")
    rig.table()


def _lost_response(rig: _Rig, checks: _Checks) -> None:
    p = rig.printer
    rig.enqueue(_main_work()[1:2])
    p.heading("QuickBooks will save the next invoice, but its answer will never reach the service")
    p.line("  (the Web Connector crashes, the network drops, the web process restarts...)")
    rig.qb.lose_next_response()
    lost = rig.sync("the response is lost")
    created = rig.qb.find("1187")
    checks.expect(len(created) == 1, "QuickBooks did not save the invoice")
    checks.expect(rig.job("invoice-1187").status == "sent", "the job is not awaiting recovery")
    checks.expect(not lost.completed, "the update completed although the response was lost")
    txn = created[0].txn_id if created else "?"
    p.line(f"  QuickBooks saved invoice #1187 (TxnID {txn}); the service still has it as 'sent'.")
    p.line("  Resending it blindly would create a duplicate.")
    rig.clock.advance(660)
    p.heading("Eleven minutes later the scheduler runs the update again")
    p.line("  (until its session expired, 10 minutes after its last call, the unfinished update")
    p.line("  counted as running, since QuickBooks might still be saving: authenticate said busy)")
    rig.sync("the service asks QuickBooks first")
    checks.expect(rig.job("invoice-1187").status == "done", "the job was not recovered")
    checks.expect(rig.job("invoice-1187").txn_id == txn, "the recovered TxnID differs")
    checks.expect(rig.in_quickbooks("invoice-1187") == 1, "invoice #1187 is in QuickBooks twice")
    p.line(f"  QuickBooks holds invoice #1187 {len(rig.qb.find('1187'))} time(s).")
    rig.table()


def _two_way(rig: _Rig, checks: _Checks) -> None:
    from qbwc.cli._demo_two_way import two_way_scenario  # noqa: PLC0415

    two_way_scenario(rig, checks)


_RUNNERS: Final[dict[str | None, Callable[[_Rig, _Checks], None]]] = {
    None: _main_scenario,
    "password-changed": _password_changed,
    "new-user-email-or-computer": _new_user_email_or_computer,
    "different-company-file": _different_company_file,
    "lost-response": _lost_response,
    "reference-quoted": _reference_quoted,
    "two-way": _two_way,
}


def run_demo(scenario: str | None = None, *, out: TextIO | None = None) -> int:
    """
    Run the demo (or one *scenario*), printing to *out*; return the exit code.

    0 when everything behaved as designed, 1 otherwise (the problems are printed).
    """
    if scenario not in _RUNNERS:
        msg = f"scenario={scenario!r}: expected one of {', '.join(SCENARIOS)}"
        raise ValueError(msg)
    printer = _Printer(out or sys.stdout)
    title = "qbwc demo" + (f" --scenario {scenario}" if scenario else "")
    printer.line(title)
    printer.line("A Web Connector update against a fake QuickBooks company file, over real HTTP.")
    printer.line()
    checks = _Checks()
    with tempfile.TemporaryDirectory(prefix="qbwc-demo-") as folder, _captured_log() as log:
        rig = _Rig(Path(folder), printer, log)
        try:
            rig.describe()
            _RUNNERS[scenario](rig, checks)
        finally:
            rig.close()
    printer.line()
    if checks.problems:
        printer.line("The demo did NOT behave as designed:")
        for problem in checks.problems:
            printer.line(f"  - {problem}")
        return 1
    printer.line("Everything behaved as designed.")
    return 0


def register(subparsers: Any) -> None:
    """Add the ``demo`` command."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "demo",
        help="run a Web Connector update against a fake QuickBooks, over HTTP on localhost",
        description=(
            "Start the service on a temporary SQLite store on 127.0.0.1, queue estimates and "
            "invoices for a construction company, and run a Web Connector update against a "
            "fake QuickBooks company file over real HTTP. No Windows, no QuickBooks."
        ),
    )
    parser.add_argument(
        "--scenario",
        choices=SCENARIOS,
        help="replay a situation from the troubleshooting guide (two-way: docs/two-way.md)",
    )
    parser.set_defaults(func=lambda args: run_demo(args.scenario))
