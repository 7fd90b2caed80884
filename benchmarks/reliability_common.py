"""
What the reliability campaigns share: stores, counting, a gunicorn server, HTTP, the Web Connector.

See ``benchmarks/reliability.py``; a module of its own to keep each file short.
"""

from __future__ import annotations

import atexit
import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for entry in (str(ROOT / "src"), str(ROOT)):
    if entry not in sys.path:
        sys.path.insert(0, entry)

OWNER = uuid.UUID("7C1D2E3F-4A5B-4C6D-8E7F-90A1B2C3D4E5")
USER = "acme"
PASSWORD = "reliability-password"
OTHER = "mallory"  # the hostile campaign's second account (its ticket is attacked)
APP_URL = "https://qbwc.example.com/qbwc"


# --- stores ---------------------------------------------------------------------------------


@dataclass
class StoreSpec:
    """Where a campaign's store lives: ``sqlite:PATH`` or ``postgres:DSN``."""

    kind: str
    where: str

    @property
    def spec(self) -> str:
        return f"{self.kind}:{self.where}"

    def open(self) -> Any:
        return open_store(self.spec)


def open_store(spec: str) -> Any:
    kind, _, where = spec.partition(":")
    if kind == "sqlite":
        from qbwc.store import SQLiteStore

        return SQLiteStore(where)
    from qbwc.store import PostgresStore

    return PostgresStore(where, pool_size=2)


class Stores:
    """Fresh stores on demand; one throwaway PostgreSQL server for the whole run."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.server: Any = None
        self.count = 0

    def fresh(self, kind: str) -> StoreSpec:
        self.count += 1
        if kind == "sqlite":
            return StoreSpec("sqlite", str(self.workdir / f"store{self.count}.sqlite"))
        if self.server is None:
            from tests.postgres import ThrowawayServer

            self.server = ThrowawayServer()
        from qbwc.store import postgres_upgrade

        dsn = self.server.create_database(f"reliability{self.count}")
        postgres_upgrade(dsn)
        return StoreSpec("postgres", dsn)

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()


def make_service(store: Any, **settings: Any) -> Any:
    from qbwc import WebConnectorService

    return WebConnectorService(
        store=store, owner_id=OWNER, app_name="Reliability", password_cost=2, **settings
    )


def invoice(ref: str) -> Any:
    from qbwc.qbxml import InvoiceAdd, InvoiceLineAdd, Ref

    line = InvoiceLineAdd(item_ref=Ref(full_name="Consulting"), quantity=Decimal(2))
    return InvoiceAdd(customer_ref=Ref(full_name="Acme Corp"), ref_number=ref, lines=[line])


class Queue:
    """Invoices queued for an account, numbered in order (``ref_number`` = the number)."""

    def __init__(self, service: Any, username: str, prefix: str = "") -> None:
        self.service = service
        self.username = username
        self.prefix = prefix
        self.next = 1

    def add(self, count: int) -> None:
        for _ in range(count):
            ref = f"{self.prefix}{self.next}"
            self.service.enqueue(self.username, invoice(ref), key=f"inv-{ref}")
            self.next += 1


# --- counting ---------------------------------------------------------------------------------


@dataclass
class Tally:
    """One campaign on one store: what was tried and what became of the jobs."""

    campaign: str
    store: str
    inputs: int = 0
    unit: str = ""
    jobs: int = 0
    done: int = 0
    lost: int = 0
    duplicated: int = 0
    unconfirmed: int = 0
    bad_answers: int = 0
    wrong: int = 0  # unconfirmed though QuickBooks' answer was delivered (races)
    seconds: float = 0.0
    other: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return (self.lost, self.duplicated, self.bad_answers, self.wrong) == (0, 0, 0, 0)


def all_jobs(service: Any, username: str) -> list[Any]:
    jobs: list[Any] = []
    after = None
    while page := service.jobs(username, limit=1000, after=after):
        jobs.extend(page)
        after = page[-1].id
    return jobs


def settle(
    tally: Tally, service: Any, qb: Any, username: str, answered: set[str] | None = None
) -> None:
    """
    Count each of *username*'s jobs against the invoices in *qb* (ref = the job key).

    *answered*: the job IDs (qbXML requestIDs) whose QuickBooks answer reached a
    server with a reply back; such a job failed ``unconfirmed`` is a wrong outcome.
    """
    written = Counter(inv.ref_number for inv in qb.invoices)
    for job in all_jobs(service, username):
        tally.jobs += 1
        ref = (job.key or "").removeprefix("inv-")
        count = written.get(ref, 0)
        if count > 1:
            tally.duplicated += 1
            tally.notes.append(f"job {job.id} ({ref}) created {count} times")
        if job.status == "done":
            if count == 0:
                tally.lost += 1
                tally.notes.append(f"job {job.id} ({ref}) done but not in QuickBooks")
            else:
                tally.done += 1
        elif job.status == "failed":
            code = job.error.code if job.error is not None else "?"
            if code == "unconfirmed":
                tally.unconfirmed += 1
                if answered is not None and job.id in answered:
                    tally.wrong += 1
                    tally.notes.append(f"job {job.id} ({ref}) unconfirmed, its answer delivered")
                tally.other[f"unconfirmed, {'in' if count else 'not in'} QuickBooks"] += 1
            elif count:
                tally.lost += 1  # written, yet reported failed: the host would redo it
                tally.notes.append(f"job {job.id} ({ref}) failed ({code}) but in QuickBooks")
            else:
                tally.other[f"failed {code}"] += 1
        else:
            tally.lost += 1
            tally.notes.append(f"job {job.id} ({ref}) left {job.status}")


def print_table(tallies: list[Tally]) -> None:
    head = (
        "campaign",
        "store",
        "inputs tried",
        "jobs",
        "done once",
        "lost",
        "duplicated",
        "unconfirmed",
        "bad answers",
        "time",
    )
    rows = [head]
    for t in tallies:
        rows.append(
            (
                t.campaign,
                t.store,
                f"{t.inputs:,} {t.unit}",
                f"{t.jobs:,}",
                f"{t.done:,}",
                str(t.lost),
                str(t.duplicated),
                str(t.unconfirmed),
                str(t.bad_answers),
                f"{t.seconds:.0f} s",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    for index, row in enumerate(rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        if index == 0:
            print("  ".join("-" * w for w in widths))
    for t in tallies:
        print(f"  {t.campaign}/{t.store}, other outcomes:")
        for key, value in sorted(t.other.items()):
            print(f"    {key}: {value:,}")
        for note in t.notes[:20]:
            print(f"    {note}")


# --- a gunicorn server ----------------------------------------------------------------------

_APP = """
import logging, os, sys
sys.path.insert(0, os.environ["QBWC_REL_SRC"])
from qbwc import WebConnectorService
from qbwc.wsgi import make_wsgi_app

logging.getLogger("qbwc").setLevel(logging.CRITICAL)  # refusals and recoveries log on purpose

def make_app():
    kind, _, where = os.environ["QBWC_REL_STORE"].partition(":")
    if kind == "sqlite":
        from qbwc.store import SQLiteStore
        store = SQLiteStore(where)
    else:
        from qbwc.store import PostgresStore
        store = PostgresStore(where, pool_size=2)
    service = WebConnectorService(
        store=store, owner_id=os.environ["QBWC_REL_OWNER"], app_name="Reliability",
        password_cost=2, session_timeout=float(os.environ["QBWC_REL_SESSION"]),
        busy_timeout=float(os.environ["QBWC_REL_BUSY"]),
    )
    return make_wsgi_app(service)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def children(pid: int) -> list[int]:
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            with contextlib.suppress(OSError):
                fields = Path(f"/proc/{name}/stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == pid:
                    found.append(int(name))
    return found


def status_kb(pid: int, key: str) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


class Gunicorn:
    """``gunicorn -w WORKERS`` with the WSGI app on *store*, on 127.0.0.1."""

    def __init__(
        self,
        store: StoreSpec,
        workdir: Path,
        *,
        workers: int = 2,
        session_timeout: float = 1.0,
        busy_timeout: float = 0.5,
    ) -> None:
        (workdir / "reliability_app.py").write_text(_APP)
        self.workdir = workdir
        self.workers = workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/qbwc"
        self.env = {
            **os.environ,
            "QBWC_REL_STORE": store.spec,
            "QBWC_REL_OWNER": str(OWNER),
            "QBWC_REL_SRC": str(ROOT / "src"),
            "QBWC_REL_SESSION": str(session_timeout),
            "QBWC_REL_BUSY": str(busy_timeout),
        }
        self.process: subprocess.Popen[bytes] | None = None
        atexit.register(self.kill_all)  # whatever went wrong, no server outlives the run

    def start(self) -> None:
        argv = [
            sys.executable,
            "-m",
            "gunicorn",
            "-w",
            str(self.workers),
            "-k",
            "sync",
            "-b",
            f"127.0.0.1:{self.port}",
            "--chdir",
            str(self.workdir),
            "--log-level",
            "critical",
            "--timeout",
            "60",
            "--graceful-timeout",
            "1",
            "reliability_app:make_app()",
        ]
        self.process = subprocess.Popen(
            argv, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self.wait_ready()

    def worker_pids(self) -> list[int]:
        return children(self.process.pid) if self.process is not None else []

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Until every worker is up and one answers serverVersion."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.worker_pids()) >= self.workers:
                with contextlib.suppress(OSError, http.client.HTTPException):
                    status, _ = post(self.port, SERVER_VERSION, timeout=5)
                    if status == 200:
                        return
            time.sleep(0.02)
        msg = "gunicorn did not start"
        raise RuntimeError(msg)

    def kill_workers(self) -> None:
        for pid in self.worker_pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def kill_all(self) -> None:
        if self.process is None:
            return
        workers = self.worker_pids()
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.process.pid, signal.SIGKILL)
        for pid in workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process.wait()
        self.process = None

    def peak_kb(self) -> int:
        return sum(status_kb(pid, "VmHWM") for pid in self.worker_pids())

    def rss_kb(self) -> int:
        return sum(status_kb(pid, "VmRSS") for pid in self.worker_pids())

    def stop(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill_all()
            self.process = None


SOAP_HEAD = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
)
SOAP_TAIL = "</soap:Body></soap:Envelope>"
SERVER_VERSION = (
    SOAP_HEAD + '<serverVersion xmlns="http://developer.intuit.com/"/>' + SOAP_TAIL
).encode()


def post(
    port: int,
    body: bytes,
    *,
    timeout: float = 30.0,
    headers: dict[str, str] | None = None,
    path: str = "/qbwc",
) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(
            "POST",
            path,
            body=body,
            headers={"Content-Type": "text/xml; charset=utf-8", **(headers or {})},
        )
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def raw(port: int, data: bytes, *, timeout: float = 30.0) -> tuple[int, bytes]:
    """Send *data* as it is (request line, headers, body); the status and body of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout) as sock:
        with contextlib.suppress(OSError):  # the server may answer before reading it all
            sock.sendall(data)
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_WR)
        chunks = []
        with contextlib.suppress(OSError):
            while chunk := sock.recv(65536):
                chunks.append(chunk)
    answer = b"".join(chunks)
    if not answer.startswith(b"HTTP/"):
        return 0, answer
    head, _, body = answer.partition(b"\r\n\r\n")
    if b"transfer-encoding: chunked" in head.lower():
        body = dechunk(body)
    return int(answer.split(b" ", 2)[1]), body


def dechunk(data: bytes) -> bytes:
    out = []
    while data:
        size_line, _, rest = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out.append(rest[:size])
        data = rest[size + 2 :]
    return b"".join(out)


# --- the Web Connector side -------------------------------------------------------------------


class Recorder:
    """An HTTP transport that remembers the bodies it sent (the hostile campaign replays them)."""

    def __init__(self, url: str, *, timeout: float = 30.0) -> None:
        from qbwc.testing import http_transport

        self.send = http_transport(url, timeout=timeout)
        self.sent: list[bytes] = []
        self.lock = threading.Lock()

    def __call__(self, body: bytes, action: str) -> tuple[int, bytes]:
        with self.lock:
            self.sent.append(body)
            del self.sent[:-200]
        return self.send(body, action)


def web_connector(service: Any, qb: Any, transport: Any, **options: Any) -> Any:
    from qbwc.testing import FakeWebConnector

    wc = FakeWebConnector(None, qb, transport=transport, **options)
    qwc = service.qwc(USER, app_url=APP_URL, app_support="https://qbwc.example.com/support")
    wc.add_application(qwc, password=PASSWORD)
    return wc


def drain(wc: Any, *, attempts: int = 400, pause: float = 0.1) -> None:
    """Sync until an update finds nothing to do (waiting out busy sessions and restarts)."""
    for _ in range(attempts):
        try:
            if wc.run_session().status == "No Data Exchange":
                return
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(pause)
    msg = "the queue never drained"
    raise RuntimeError(msg)


def plain_transport(url: str, *, timeout: float) -> Any:
    from qbwc.testing import http_transport

    return http_transport(url, timeout=timeout)
