"""
Hostile XML shapes against real servers: peak memory and latency of the refusals.

Three bodies just under the service's size cap (about 9.6 MB each), each a SOAP
envelope whose Body holds one flood, then white space up to the size:

- **elements**: 1,000,000 empty elements (``<e/>``);
- **attributes**: one element with 200,000 attributes;
- **namespaces**: one element with 100,000 namespace declarations.

For each server (``gunicorn -w 2``, sync workers, and ``uvicorn``; both on
127.0.0.1 only, on a SQLite store) and each shape, the script sends the body
from 8 client threads at once, ``--rounds`` times (bounded loops), and reports:

- the HTTP status and whether every answer is a SOAP ``soap:Client`` fault;
- the per-request latency (from the first byte sent to the last byte of the
  answer), median and maximum;
- the servers' memory: the sum over the server processes (gunicorn's workers,
  uvicorn's one process) of VmRSS after a warm-up call and of VmHWM (peak RSS)
  after the shape's rounds, read from ``/proc``;
- whether the store's contents (an SQL dump of the SQLite file) changed.

``--src DIR`` serves the ``qbwc`` package from another checkout (``DIR/src``), to
measure a version before a change with the same script.  A benchmark, not a
test: nothing here passes or fails; see ``benchmarks/README.md`` for figures.

Run: ``python benchmarks/hostile.py`` (``--help`` for the knobs).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SIZE = 9_600_000
OWNER = "{0F1E2D3C-4B5A-4968-8776-A5B4C3D2E1F0}"

HEAD = (
    b'<?xml version="1.0" encoding="utf-8"?>'
    b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
)
TAIL = b"</soap:Body></soap:Envelope>"

_APP = """
import logging
import os
from qbwc import WebConnectorService
from qbwc.store import SQLiteStore

logging.getLogger("qbwc").setLevel(logging.ERROR)  # one warning per refusal otherwise
service = WebConnectorService(
    store=SQLiteStore(os.environ["QBWC_HOSTILE_DB"]),
    owner_id=os.environ["QBWC_HOSTILE_OWNER"],
    app_name="Hostile bench",
    password_cost=2,
)

def wsgi():
    from qbwc.wsgi import make_wsgi_app
    return make_wsgi_app(service)

def asgi():
    from qbwc.asgi import make_asgi_app
    return make_asgi_app(service)
"""


def body(shape: str) -> bytes:
    """The hostile body of *shape*, padded with spaces to SIZE bytes."""
    if shape == "elements":
        flood = b"<e/>" * 1_000_000
    elif shape == "attributes":
        flood = b"<e" + b"".join(b' a%d="v"' % i for i in range(200_000)) + b"/>"
    else:
        flood = b"<e" + b"".join(b' xmlns:n%d="urn:x"' % i for i in range(100_000)) + b"/>"
    pad = SIZE - len(HEAD) - len(flood) - len(TAIL)
    return HEAD + flood + b" " * pad + TAIL


SERVER_VERSION = (
    b'<?xml version="1.0" encoding="utf-8"?>'
    b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
    b'<serverVersion xmlns="http://developer.intuit.com/"/></soap:Body></soap:Envelope>'
)


def post(port: int, data: bytes) -> tuple[int, bytes, float]:
    """POST *data*; (status, answer, seconds from the first byte sent to the last received)."""
    head = (
        f"POST /qbwc HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: text/xml; charset=utf-8\r\nContent-Length: {len(data)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", port), 10) as sock:
        started = time.perf_counter()
        with contextlib.suppress(OSError):  # a server may answer before reading it all
            sock.sendall(head + data)
        chunks = []
        with contextlib.suppress(OSError):  # a reset after the answer, for the unread rest
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        elapsed = time.perf_counter() - started
    answer = b"".join(chunks)
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0
    return status, answer.partition(b"\r\n\r\n")[2], elapsed


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == pid:
                    found.append(int(entry.name))
    return found


def _status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def dump(db: Path) -> str:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return "\n".join(conn.iterdump())


def serve(kind: str, port: int, workdir: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    if kind == "gunicorn":
        argv = [sys.executable, "-m", "gunicorn", "-w", "2", "-k", "sync",
                "-b", f"127.0.0.1:{port}", "--chdir", str(workdir), "--log-level", "error",
                "--timeout", "120", "hostile_app:wsgi()"]  # fmt: skip
    else:
        argv = [sys.executable, "-m", "uvicorn", "--factory", "hostile_app:asgi",
                "--host", "127.0.0.1", "--port", str(port), "--log-level", "error",
                "--app-dir", str(workdir)]  # fmt: skip
    proc = subprocess.Popen(argv, env=env, cwd=workdir)
    for _ in range(400):
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return proc
        time.sleep(0.05)
    proc.kill()
    msg = f"{kind} did not start"
    raise RuntimeError(msg)


def run(kind: str, args: argparse.Namespace, bodies: dict[str, bytes]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        (workdir / "hostile_app.py").write_text(_APP)
        db = workdir / "q.sqlite"
        env = dict(os.environ)
        src = str(Path(args.src).resolve() / "src") if args.src else str(ROOT / "src")
        env["PYTHONPATH"] = os.pathsep.join([src, env.get("PYTHONPATH", "")])
        env["QBWC_HOSTILE_DB"] = str(db)
        env["QBWC_HOSTILE_OWNER"] = OWNER
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        for shape, data in bodies.items():
            proc = serve(kind, port, workdir, env)  # a fresh server per shape: VmHWM is per process
            try:
                for _ in range(8):  # reach every worker and warm it up
                    status, _, _ = post(port, SERVER_VERSION)
                    assert status == 200, status
                pids = _children(proc.pid) if kind == "gunicorn" else [proc.pid]
                before_dump = dump(db)
                rss = sum(_status_kb(p, "VmRSS") for p in pids)
                results: list[tuple[int, bytes, float]] = []
                lock = threading.Lock()

                def one(
                    data: bytes = data,
                    results: list[tuple[int, bytes, float]] = results,
                    lock: threading.Lock = lock,
                ) -> None:
                    outcome = post(port, data)
                    with lock:
                        results.append(outcome)

                for _ in range(args.rounds):
                    threads = [threading.Thread(target=one) for _ in range(args.concurrency)]
                    for thread in threads:
                        thread.start()
                    for thread in threads:
                        thread.join()
                hwm = sum(_status_kb(p, "VmHWM") for p in pids)
                unchanged = dump(db) == before_dump
            finally:
                proc.terminate()
                proc.wait(30)
            statuses = sorted({status for status, _, _ in results})
            client = b"<faultcode>soap:Client</faultcode>"
            faults = sum(client in answer for _, answer, _ in results)
            times = [t * 1000 for _, _, t in results]
            sample = next((a for _, a, _ in results if b"faultstring" in a), b"")
            reason = sample.partition(b"<faultstring>")[2].partition(b"</faultstring>")[0]
            print(
                f"{kind:8} {shape:10} HTTP {statuses} soap:Client {faults}/{len(results)} "
                f"latency median {statistics.median(times):6.1f} ms max {max(times):6.1f} ms; "
                f"RSS {rss / 1024:6.1f} MB -> peak {hwm / 1024:6.1f} MB "
                f"(+{(hwm - rss) / 1024:.1f} MB); store unchanged: {unchanged}",
                flush=True,
            )
            print(f"{'':19} fault: {reason[:160].decode(errors='replace')}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--src", help="serve qbwc from this checkout (its src/)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--servers", default="gunicorn,uvicorn")
    parser.add_argument("--shapes", default="elements,attributes,namespaces")
    args = parser.parse_args()
    bodies = {shape: body(shape) for shape in args.shapes.split(",")}
    for shape, data in bodies.items():
        print(f"{shape}: {len(data):,} bytes")
    print(f"{args.concurrency} concurrent requests x {args.rounds} rounds")
    for kind in args.servers.split(","):
        run(kind, args, bodies)


if __name__ == "__main__":
    main()
