"""
Many-tenant load: the WSGI app under gunicorn, driven by simulated Web Connectors over HTTP.

For each store (SQLite, PostgreSQL) this script

1. seeds N accounts, each with K queued invoices (its own FakeQuickBooks company);
2. starts ``gunicorn -w W`` on 127.0.0.1 with the WSGI app on that store;
3. drives the accounts with ``qbwc.testing.FakeWebConnector`` over real HTTP
   (client processes on the same machine), in three phases:

   - **max/work**: as fast as the server allows (C sessions in flight), one
     session per account that sends its K invoices;
   - **max/idle**: the same accounts poll again and find nothing to do (the
     common case: 10,000 accounts polling every 5 minutes);
   - **R/s work** and **R/s idle**, for each fixed rate R (default 15 and 33/s;
     33/s = 10,000 accounts every 5 minutes): K more invoices per account,
     then sessions started at R per second that send them, then one more
     round of polls at R per second that find nothing;

4. reports sessions/s sustained, p50/p99 latency per SOAP operation, CPU
   (server: gunicorn + PostgreSQL, per work session and per idle poll; the load
   generator's own client processes beside it; and what the rest of the machine
   used meanwhile, with the load average, since a shared machine makes every
   figure noisy) and peak memory, errors (must be 0), and checks that every job
   is ``done`` in the store and was created exactly once in its fake QuickBooks.

The service runs with the login cache on (a random ``login_secret`` per run, shared
by the workers; docs/service.md, "Login cache"): each account's first session pays
scrypt, later ones check its login verifier.  ``--no-login-cache`` makes every
session pay scrypt (the service without a secret).

``--profile`` runs cProfile (on CPU time) in every gunicorn worker and prints
where their CPU goes (the profiler inflates the timings of that run).

Loopback only, bounded in count (N, K) and time (``--timeout`` per phase).  A
benchmark, not a test: nothing here passes or fails on timings.

Run: ``.venv/bin/python benchmarks/load.py`` (``--help`` for the knobs).
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import http.client
import json
import multiprocessing
import os
import pstats
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for entry in (str(ROOT / "src"), str(ROOT)):
    if entry not in sys.path:
        sys.path.insert(0, entry)

PASSWORD = "load-test-password"
APP_URL = "https://qbwc.example.com/qbwc"
TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


# --- the application gunicorn serves ------------------------------------------------


def make_app() -> Any:
    """The WSGI app on the store in ``$QBWC_LOAD_STORE`` (gunicorn: ``load:make_app()``)."""
    from qbwc import WebConnectorService
    from qbwc.wsgi import make_wsgi_app

    service = WebConnectorService(
        store=_open_store(os.environ["QBWC_LOAD_STORE"]),
        owner_id=os.environ["QBWC_LOAD_OWNER"],
        app_name="Load Test",
        batch_size=int(os.environ.get("QBWC_LOAD_BATCH", "1")),
        password_cost=int(os.environ.get("QBWC_LOAD_COST", str(2**14))),
        login_secret=os.environ.get("QBWC_LOAD_SECRET") or None,
    )
    return make_wsgi_app(service)


def _open_store(spec: str) -> Any:
    kind, _, where = spec.partition(":")
    if kind == "sqlite":
        from qbwc.store import SQLiteStore

        return SQLiteStore(where)
    from qbwc.store import PostgresStore

    return PostgresStore(where, pool_size=2)


_GUNICORN_CONFIG = """
import cProfile, os, time
_profile = None

def post_fork(server, worker):
    global _profile
    if os.environ.get("QBWC_LOAD_PROFILE"):
        _profile = cProfile.Profile(time.process_time)  # CPU time, not waiting
        _profile.enable()

def worker_exit(server, worker):
    if _profile is not None:
        _profile.disable()
        _profile.dump_stats(os.path.join(os.environ["QBWC_LOAD_PROFILE"], f"w{os.getpid()}.prof"))
"""


# --- process accounting ---------------------------------------------------------------


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry))
    return found


def _cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICK


def _machine_busy() -> float:
    """CPU seconds the whole machine has been busy (every core, every process)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / TICK


def _loadavg() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def _rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
    return total / 2**20


class Group:
    """A set of processes (a parent and its children, or fixed pids), for CPU and peak memory."""

    def __init__(self, name: str, root: int = 0, *, pids: list[int] | None = None) -> None:
        self.name = name
        self.root = root
        self.fixed = pids
        self.peak_mb = 0.0
        self.peak_worker_mb = 0.0

    def pids(self) -> list[int]:
        if self.fixed is not None:
            return self.fixed
        return [self.root, *_children(self.root)]

    def cpu(self) -> float:
        return _cpu_seconds(self.pids())

    def sample(self) -> None:
        pids = self.pids()
        self.peak_mb = max(self.peak_mb, _rss_mb(pids))
        for pid in pids:
            self.peak_worker_mb = max(self.peak_worker_mb, _rss_mb([pid]))


class Sampler(threading.Thread):
    def __init__(self, groups: list[Group]) -> None:
        super().__init__(daemon=True)
        self.groups = groups
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.25):
            for group in self.groups:
                group.sample()


# --- the simulated Web Connectors (client processes) ---------------------------------------


def _client(conn: Any, port: int, accounts: list[tuple[str, bytes]], seed_sample: bool) -> None:
    """A client process: one FakeWebConnector + FakeQuickBooks per account, driven on command."""
    from qbwc.testing import FakeQuickBooks, FakeWebConnector

    local = threading.local()
    timings: list[tuple[str, float]] = []
    problems: list[str] = []
    lock = threading.Lock()

    def transport(body: bytes, action: str) -> tuple[int, bytes]:
        http_conn = getattr(local, "http", None)
        if http_conn is None:
            http_conn = local.http = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        operation = action.rsplit("/", 1)[-1]
        headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{action}"'}
        start = time.perf_counter()
        for attempt in (1, 2):
            try:
                http_conn.request("POST", "/qbwc", body=body, headers=headers)
                response = http_conn.getresponse()
                data = response.read()
                break
            except (OSError, http.client.HTTPException) as exc:
                http_conn.close()
                if attempt == 2:
                    with lock:
                        problems.append(f"{operation}: {exc!r}")
                    raise
        elapsed = time.perf_counter() - start
        with lock:
            timings.append((operation, elapsed))
            if response.status != 200:
                problems.append(f"{operation}: HTTP {response.status}")
        return response.status, data

    connectors = {}
    for username, qwc in accounts:
        qb = FakeQuickBooks.sample()
        wc = FakeWebConnector(None, qb, transport=transport, url=APP_URL)
        wc.add_application(qwc, password=PASSWORD)
        connectors[username] = (wc, qb)
    conn.send("ready")

    def one(username: str) -> tuple[str, float, str, bool]:
        wc, _ = connectors[username]
        start = time.perf_counter()
        result = wc.run_session()
        return username, time.perf_counter() - start, result.status, bool(result.errors)

    while True:
        command = conn.recv()
        if command[0] == "stop":
            break
        kind, names, concurrency, rate, deadline = command
        timings.clear()
        problems.clear()
        results = []
        begin = time.perf_counter()
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            if kind == "closed":
                results = list(pool.map(one, names))
            else:  # fixed rate: start session i at begin + i / rate
                futures = []
                for index, name in enumerate(names):
                    delay = begin + index / rate - time.perf_counter()
                    if delay > 0:
                        time.sleep(delay)
                    if time.perf_counter() > deadline:
                        problems.append("deadline reached before every session started")
                        break
                    futures.append(pool.submit(one, name))
                results = [f.result() for f in futures]
        elapsed = time.perf_counter() - begin
        for name, _, status, had_errors in results:
            if had_errors or status.startswith("Error"):
                problems.append(f"{name}: {status}")
        created = {
            name: [ret.ref_number for ret in qb.invoices] for name, (_, qb) in connectors.items()
        }
        conn.send(
            {
                "elapsed": elapsed,
                "sessions": [(r[1], r[2]) for r in results],
                "timings": list(timings),
                "problems": list(problems),
                "created": created,
            }
        )


# --- one store ------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _invoice(ref: str) -> Any:
    from qbwc.qbxml import InvoiceAdd, InvoiceLineAdd, Ref

    line = InvoiceLineAdd(item_ref=Ref(full_name="Consulting"), quantity=Decimal(2))
    return InvoiceAdd(customer_ref=Ref(full_name="Acme Corp"), ref_number=ref, lines=[line])


def _seed(service: Any, names: list[str], round_: int, per_account: int) -> None:
    for name in names:
        for n in range(per_account):
            ref = f"{round_}-{n}"
            service.enqueue(name, _invoice(ref), key=f"{name}/{ref}")


def _percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def run_store(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    """Seed, serve under gunicorn, drive the three phases, check; return the figures."""
    from qbwc import WebConnectorService
    from qbwc.qwc import new_file_id
    from qbwc.service._passwords import hash_password
    from qbwc.store import Account

    workdir = Path(tempfile.mkdtemp(prefix=f"qbwc-load-{kind}-"))
    server = None
    if kind == "sqlite":
        spec = f"sqlite:{workdir / 'qbwc.sqlite'}"
        pg_group = None
    else:
        from tests.postgres import ThrowawayServer

        from qbwc.store import postgres_upgrade

        server = ThrowawayServer(durable=not args.fast_postgres)
        dsn = server.create_database("qbwc_load")
        postgres_upgrade(dsn)
        spec = f"postgres:{dsn}"
        postmaster = int((server.data / "postmaster.pid").read_text().split()[0])
        pg_group = Group("postgres", postmaster)
    store = _open_store(spec)
    owner = uuid.uuid4()
    service = WebConnectorService(store=store, owner_id=owner, app_name="Load Test")
    names = [f"tenant-{i:05d}@example.com" for i in range(args.accounts)]
    hashed = hash_password(PASSWORD, cost=args.password_cost)  # every authenticate pays it
    with store.transaction() as tx:
        for name in names:
            tx.put_account(Account(username=name, password_hash=hashed, file_id=new_file_id()))
    t0 = time.perf_counter()
    _seed(service, names, 1, args.invoices)
    seed_seconds = time.perf_counter() - t0
    qwcs = [
        (name, service.qwc(name, app_url=APP_URL, app_support="https://qbwc.example.com/help"))
        for name in names
    ]

    port = _free_port()
    env = dict(
        os.environ,
        QBWC_LOAD_STORE=spec,
        QBWC_LOAD_OWNER=str(owner),
        QBWC_LOAD_COST=str(args.password_cost),
        QBWC_LOAD_BATCH=str(args.batch_size),
        QBWC_LOAD_SECRET="" if args.no_login_cache else uuid.uuid4().hex + uuid.uuid4().hex,
    )
    profile_dir = None
    if args.profile:
        profile_dir = workdir / "profiles"
        profile_dir.mkdir()
        env["QBWC_LOAD_PROFILE"] = str(profile_dir)
    config = workdir / "gunicorn_conf.py"
    config.write_text(_GUNICORN_CONFIG)
    gunicorn = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(config), "-w", str(args.workers),
         "-b", f"127.0.0.1:{port}", "--chdir", str(ROOT / "benchmarks"), "--log-level",
         "warning", "--timeout", "60", "load:make_app()"],
        env=env,
    )  # fmt: skip
    for _ in range(200):
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            break
        time.sleep(0.05)
    else:
        gunicorn.kill()
        msg = "gunicorn did not start"
        raise RuntimeError(msg)
    web_group = Group("gunicorn", gunicorn.pid)

    ctx = multiprocessing.get_context("spawn")
    clients = []
    shares: list[list[tuple[str, bytes]]] = [[] for _ in range(args.clients)]
    for index, item in enumerate(qwcs):
        shares[index % args.clients].append(item)
    for share in shares:
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=_client, args=(child, port, share, False), daemon=True)
        proc.start()
        clients.append((proc, parent, [name for name, _ in share]))
    for _, pipe, _ in clients:
        assert pipe.recv() == "ready"
    client_group = Group("clients", pids=[proc.pid for proc, _, _ in clients if proc.pid])
    groups = [web_group, client_group] + ([pg_group] if pg_group else [])
    sampler = Sampler(groups)
    sampler.start()

    def phase(name: str, kind_: str, *, rate: float = 0.0) -> dict[str, Any]:
        cpu_before = {g.name: g.cpu() for g in groups}
        machine_before, load_before = _machine_busy(), _loadavg()
        deadline_wall = time.perf_counter() + args.timeout
        per_client_rate = rate / len(clients) if rate else 0.0
        for _, pipe, share in clients:
            concurrency = max(1, args.concurrency // len(clients)) if kind_ == "closed" else 64
            pipe.send((kind_, share, concurrency, per_client_rate, deadline_wall))
        replies = [pipe.recv() for _, pipe, _ in clients]
        cpu_after = {g.name: g.cpu() for g in groups}
        machine = _machine_busy() - machine_before
        elapsed = max(r["elapsed"] for r in replies)
        sessions = [s for r in replies for s in r["sessions"]]
        by_op: dict[str, list[float]] = collections.defaultdict(list)
        for r in replies:
            for op, seconds in r["timings"]:
                by_op[op].append(seconds * 1000)
        all_calls = [v for values in by_op.values() for v in values]
        statuses = collections.Counter(status for _, status in sessions)
        cpu = {k: cpu_after[k] - cpu_before[k] for k in cpu_after}
        server_cpu = cpu["gunicorn"] + cpu.get("postgres", 0.0)
        others = max(0.0, machine - server_cpu - cpu["clients"])
        result = {
            "phase": name,
            "sessions": len(sessions),
            "seconds": elapsed,
            "sessions_per_s": len(sessions) / elapsed if elapsed else 0.0,
            "calls": len(all_calls),
            "p50_ms": _percentile(all_calls, 50),
            "p99_ms": _percentile(all_calls, 99),
            "per_op": {
                op: (len(v), _percentile(v, 50), _percentile(v, 99)) for op, v in by_op.items()
            },
            "session_p50_ms": _percentile([s * 1000 for s, _ in sessions], 50),
            "session_p99_ms": _percentile([s * 1000 for s, _ in sessions], 99),
            "statuses": dict(statuses),
            "errors": [p for r in replies for p in r["problems"]],
            "cpu_s": cpu,
            "server_cores": server_cpu / elapsed if elapsed else 0.0,
            "server_cpu_ms_per_session": 1000 * server_cpu / max(1, len(sessions)),
            "client_cores": cpu["clients"] / elapsed if elapsed else 0.0,
            "client_cpu_ms_per_session": 1000 * cpu["clients"] / max(1, len(sessions)),
            # Everything else on the machine meanwhile (other people's work): noise.
            "other_cores": others / elapsed if elapsed else 0.0,
            "loadavg": (load_before, _loadavg()),
        }
        result["created"] = {k: v for r in replies for k, v in r["created"].items()}
        return result

    results = []
    results.append(phase("max/work", "closed"))
    results.append(phase("max/idle", "closed"))
    rounds = 1
    for rate in args.rates:
        rounds += 1
        _seed(service, names, rounds, args.invoices)
        results.append(phase(f"{rate:g}/s work", "open", rate=rate))
        results.append(phase(f"{rate:g}/s idle", "open", rate=rate))

    for _, pipe, _ in clients:
        pipe.send(("stop",))
    for proc, _, _ in clients:
        proc.join(30)
    sampler.stop.set()
    gunicorn.send_signal(signal.SIGTERM)
    gunicorn.wait(60)

    # Exactly once: every job done in the store, every invoice created once in its company.
    created = results[-1]["created"]
    expected = collections.Counter(
        f"{r}-{n}" for r in range(1, rounds + 1) for n in range(args.invoices)
    )
    wrong = [name for name in names if collections.Counter(created.get(name, [])) != expected]
    statuses: collections.Counter[str] = collections.Counter()
    after = None
    while page := service.jobs(limit=10_000, after=after):
        statuses.update(job.status for job in page)
        after = page[-1].id
    store.close()
    profile = _profile_report(profile_dir) if profile_dir else None
    if server is not None:
        server.stop()
    shutil.rmtree(workdir, ignore_errors=True)
    for r in results:
        r.pop("created")
    return {
        "store": kind,
        "accounts": args.accounts,
        "invoices_per_account": args.invoices,
        "workers": args.workers,
        "password_cost": args.password_cost,
        "batch_size": args.batch_size,
        "no_login_cache": args.no_login_cache,
        "seed_seconds": seed_seconds,
        "phases": results,
        "jobs": dict(statuses),
        "jobs_expected": rounds * args.invoices * args.accounts,
        "accounts_wrong": wrong,
        "peak_mb": {g.name: round(g.peak_mb, 1) for g in groups},
        "peak_worker_mb": round(web_group.peak_worker_mb, 1),
        "profile": profile,
    }


_AREAS = (
    ("scrypt (authenticate)", ("scrypt", "verify_password")),
    (
        "store: database driver + SQL",
        ("psycopg", "sqlite3", "_pg_sql", "_sqlite", "store/_sql", "psycopg_pool"),
    ),
    ("SOAP decode/encode (lxml)", ("_soap", "lxml", "_xml")),
    ("qbXML build/parse", ("qbxml",)),
    ("protocol core", ("_state", "_session", "_events")),
)


def _profile_report(folder: Path) -> dict[str, Any]:
    files = sorted(str(p) for p in folder.glob("*.prof"))
    if not files:
        return {"note": "no worker profiles were written"}
    stats = pstats.Stats(files[0])
    for extra in files[1:]:
        stats.add(extra)
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = sum(tt for (_, _, tt, _, _) in raw.values())
    areas = collections.Counter()
    top = []
    for (path, line, func), (_, _, tt, ct, _) in raw.items():
        area = "other (gunicorn, WSGI, service logic)"
        if func in ("<method 'poll' of 'select.poll' objects>", "select", "accept", "poll"):
            area = "idle (waiting for requests)"
        for label, needles in _AREAS:
            if any(n in path or n in func for n in needles):
                area = label
                break
        if (
            "{method 'execute' of" in func
            or "pgconn" in path.lower()
            or ("wait" in func and ("psycopg" in path))
        ):
            area = "store: database driver + SQL"
        areas[area] += tt
        top.append((tt, ct, f"{Path(path).name}:{line}({func})"))
    busy = total - areas.get("idle (waiting for requests)", 0.0)
    top.sort(reverse=True)
    return {
        "cpu_seconds": round(busy, 2),
        "areas_pct_of_cpu": {
            k: round(100 * v / busy, 1) for k, v in areas.most_common() if "idle" not in k
        },
        "top_tottime": [(round(tt, 3), round(ct, 3), name) for tt, ct, name in top[:15]],
    }


def _print(report: dict[str, Any]) -> None:
    print(
        f"\n== {report['store']}: {report['accounts']} accounts x "
        f"{report['invoices_per_account']} invoices, gunicorn -w {report['workers']}, "
        f"scrypt n={report['password_cost']}, batch {report['batch_size']}, login cache "
        f"{'off' if report['no_login_cache'] else 'on'} =="
    )
    for ph in report["phases"]:
        idle = ph["phase"].endswith("idle")
        unit = "idle polls" if idle else "sessions"
        print(
            f"  {ph['phase']:<12} {ph['sessions']:>5} {unit} in {ph['seconds']:6.2f} s = "
            f"{ph['sessions_per_s']:6.1f} {unit}/s | call p50 {ph['p50_ms']:6.2f} ms "
            f"p99 {ph['p99_ms']:7.2f} ms | session p50 {ph['session_p50_ms']:6.1f} ms "
            f"p99 {ph['session_p99_ms']:6.1f} ms | errors {len(ph['errors'])}"
        )
        print(
            f"      CPU: server {ph['server_cores']:.2f} cores = "
            f"{ph['server_cpu_ms_per_session']:.1f} ms per {'idle poll' if idle else 'session'}"
            f"; load generator {ph['client_cores']:.2f} cores = "
            f"{ph['client_cpu_ms_per_session']:.1f} ms; rest of the machine "
            f"{ph['other_cores']:.2f} cores; load average {ph['loadavg'][0]:.2f} -> "
            f"{ph['loadavg'][1]:.2f}"
        )
        for op, (count, p50, p99) in sorted(ph["per_op"].items()):
            print(f"      {op:<20} n={count:<6} p50 {p50:7.2f} ms  p99 {p99:7.2f} ms")
        if ph["errors"]:
            print("      errors:", ph["errors"][:5])
        print(f"      statuses: {ph['statuses']}  cpu seconds: "
              + ", ".join(f"{k} {v:.1f}" for k, v in ph["cpu_s"].items()))  # fmt: skip
    ok = not report["accounts_wrong"] and report["jobs"] == {"done": report["jobs_expected"]}
    print(
        f"  exactly once: jobs {report['jobs']} (expected {report['jobs_expected']} done); "
        f"accounts with missing or duplicate invoices: {len(report['accounts_wrong'])} -> "
        f"{'OK' if ok else 'FAILED'}"
    )
    print(
        f"  peak RSS MB: {report['peak_mb']} (largest gunicorn process "
        f"{report['peak_worker_mb']} MB); seeding {report['seed_seconds']:.1f} s"
    )
    if report["profile"]:
        print(f"  profile (all workers): {json.dumps(report['profile'], indent=2)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stores", default="sqlite,postgres")
    parser.add_argument("--accounts", type=int, default=400)
    parser.add_argument("--invoices", type=int, default=3, help="queued per account and round")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--clients", type=int, default=2, help="client processes")
    parser.add_argument("--concurrency", type=int, default=8, help="sessions in flight (max)")
    parser.add_argument(
        "--rates",
        type=lambda text: [float(part) for part in text.split(",")],
        default=[15.0, 33.0],
        help="sessions/s of the fixed-rate phases (default 15,33)",
    )
    parser.add_argument(
        "--password-cost", type=int, default=2**14, help="scrypt n of the passwords (2**14)"
    )
    parser.add_argument("--batch-size", type=int, default=1, help="requests per round trip")
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds per phase, at most")
    parser.add_argument("--profile", action="store_true", help="cProfile the gunicorn workers")
    parser.add_argument(
        "--fast-postgres", action="store_true", help="PostgreSQL with fsync off (not durable)"
    )
    parser.add_argument(
        "--no-login-cache", action="store_true", help="every session pays scrypt (no login_secret)"
    )
    parser.add_argument("--json", metavar="FILE", help="also write the figures here")
    args = parser.parse_args(argv)
    print(
        f"{os.cpu_count()} CPUs; python {sys.version.split()[0]}; load average at start "
        f"{Path('/proc/loadavg').read_text().split()[:3]}"
    )
    reports = []
    for kind in args.stores.split(","):
        report = run_store(kind.strip(), args)
        _print(report)
        reports.append(report)
    if args.json:
        Path(args.json).write_text(json.dumps(reports, indent=2, default=str))
    failed = any(r["accounts_wrong"] or any(p["errors"] for p in r["phases"]) for r in reports)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
