"""
PostgreSQL-specific behaviour of :class:`~qbwc.store.PostgresStore`.

The shared scenarios run against it in ``tests/test_store_contract.py`` (its
``STORES``); here:
the versioned schema (missing, older, newer, concurrent upgrades), the errors a
host sees, fork safety, several workers with separate pools claiming jobs at
once, and whole Web Connector sessions whose calls land on different workers.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import subprocess
import sys
import threading
import uuid
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given

from qbwc.store import MemoryStore
from tests.postgres import create_database, fresh_store, postgres_dsn
from tests.test_store_contract import _OPS, _replay

T0 = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)
ROOT = Path(__file__).resolve().parents[1]


def _psycopg() -> Any:
    import psycopg

    return psycopg


class TestImport:
    def test_store_package_does_not_import_psycopg(self) -> None:
        """``import qbwc.store`` (and ``import qbwc``) leave psycopg unimported until used."""
        code = (
            "import sys, qbwc, qbwc.store, qbwc.wsgi\n"
            "assert 'psycopg' not in sys.modules, 'imported early'\n"
            "qbwc.store.PostgresStore\n"
            "assert 'psycopg' in sys.modules\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=ROOT
        )
        assert done.returncode == 0, done.stderr

    def test_missing_extra_is_explained(self) -> None:
        """Without psycopg, using PostgresStore says which extra to install."""
        code = (
            "import sys\n"
            "sys.modules['psycopg'] = None\n"
            "import qbwc.store\n"
            "try:\n"
            "    qbwc.store.PostgresStore\n"
            "except ImportError as exc:\n"
            "    print(exc)\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
        )
        assert "pip install 'qbwc-toolkit[postgres]'" in done.stdout

    def test_unknown_attribute(self) -> None:
        """Other missing names are still an AttributeError."""
        import qbwc.store

        with pytest.raises(AttributeError, match="no attribute 'Nope'"):
            qbwc.store.Nope


class TestMigrations:
    def test_statements_are_versioned(self) -> None:
        """The migration list ends by recording the version; later starting points shorten it."""
        from qbwc.store import POSTGRES_SCHEMA_VERSION, postgres_migrations

        full = postgres_migrations()
        assert full[-1] == f"UPDATE qbwc_schema_version SET version = {POSTGRES_SCHEMA_VERSION}"
        for since in range(POSTGRES_SCHEMA_VERSION):
            step = postgres_migrations(since)[: -len(postgres_migrations(since + 1)) or None]
            assert "qbwc_schema_version" in step[-1], since
        assert postgres_migrations(POSTGRES_SCHEMA_VERSION) == []
        assert all("qbwc_" in statement for statement in full)
        with pytest.raises(ValueError, match="since=99"):
            postgres_migrations(99)

    def test_version_1_database_upgraded(self) -> None:
        """A database of the previous release (version 1) gains the login verifiers."""
        from qbwc.store import (
            POSTGRES_SCHEMA_VERSION,
            PostgresStore,
            postgres_migrations,
            postgres_upgrade,
        )

        psycopg = _psycopg()
        dsn = create_database("qbwc_version_1")
        version_1 = postgres_migrations()[: -len(postgres_migrations(1))]
        with psycopg.connect(dsn) as conn:
            for statement in version_1:
                conn.execute(statement)
            conn.execute(
                "INSERT INTO qbwc_accounts (username, file_id) "
                "VALUES ('kept', '57F3B9B1-86F1-4FCC-B1EE-566DE1813D20')"
            )
        assert postgres_upgrade(dsn) == (1, POSTGRES_SCHEMA_VERSION)
        store = PostgresStore(dsn)
        try:
            with store.transaction() as tx:
                assert tx.get_account("kept") is not None
                assert tx.get_login_verifier("kept") is None
        finally:
            store.close()

    def test_empty_database_upgrade_and_status(self) -> None:
        """An empty database reports version 0; upgrade installs the schema once, idempotently."""
        from qbwc.store import POSTGRES_SCHEMA_VERSION, postgres_status, postgres_upgrade

        dsn = create_database("qbwc_migrate")
        before = postgres_status(dsn)
        assert (before.version, before.current) == (0, False)
        assert "qbwc db upgrade" in before.describe()
        assert postgres_upgrade(dsn) == (0, POSTGRES_SCHEMA_VERSION)
        assert postgres_upgrade(dsn) == (POSTGRES_SCHEMA_VERSION, POSTGRES_SCHEMA_VERSION)
        after = postgres_status(dsn)
        assert after.current
        assert "current" in after.describe()

    def test_host_runs_the_statements_itself(self) -> None:
        """The statements, run by a host's own migration tool, give a schema the store accepts."""
        from qbwc.store import PostgresStore, postgres_migrations

        dsn = create_database("qbwc_host_migrations")
        psycopg = _psycopg()
        with psycopg.connect(dsn) as conn:
            for statement in postgres_migrations():
                conn.execute(statement)
        store = PostgresStore(dsn)
        with store.transaction() as tx:
            assert tx.list_accounts() == ()
        store.close()

    def test_concurrent_upgrades(self) -> None:
        """Several processes upgrading at once: one installs, the others find it done."""
        from qbwc.store import POSTGRES_SCHEMA_VERSION

        dsn = create_database("qbwc_concurrent")
        results: list[tuple[int, int]] = []
        errors: list[BaseException] = []

        def run() -> None:
            from qbwc.store import postgres_upgrade

            try:
                results.append(postgres_upgrade(dsn))
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=run) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert errors == []
        assert (
            sorted(results)
            == [(0, POSTGRES_SCHEMA_VERSION)]
            + [(POSTGRES_SCHEMA_VERSION, POSTGRES_SCHEMA_VERSION)] * 3
        )

    def test_missing_schema_is_a_clear_error(self) -> None:
        """A store on a database without the schema refuses to start and says what to run."""
        from qbwc.store import PostgresStore, StoreError

        dsn = create_database("qbwc_missing")
        with pytest.raises(StoreError, match=r"no qbwc schema .*qbwc db upgrade --dsn"):
            PostgresStore(dsn)
        store = PostgresStore(dsn, upgrade=True)
        store.close()

    @pytest.mark.parametrize(
        ("version", "message"),
        [
            (0, "damaged"),
            (7, r"schema version 7 was written by a newer qbwc.*pip install -U"),
        ],
    )
    def test_unknown_version_refused(self, version: int, message: str) -> None:
        """A damaged or newer schema stops the store at start, and upgrade leaves it alone."""
        from qbwc.store import PostgresStore, StoreError, postgres_upgrade

        dsn = create_database("qbwc_newer")
        postgres_upgrade(dsn)
        psycopg = _psycopg()
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("UPDATE qbwc_schema_version SET version = %s", (version,))
        with pytest.raises(StoreError, match=message):
            PostgresStore(dsn)
        with pytest.raises(StoreError, match=message):
            postgres_upgrade(dsn)
        with psycopg.connect(dsn, autocommit=True) as conn:
            assert conn.execute("SELECT version FROM qbwc_schema_version").fetchone() == (version,)

    def test_older_version_refused(self) -> None:
        """A schema older than this qbwc's is refused until it is upgraded."""
        from qbwc.store import PostgresStore, SchemaStatus

        status = SchemaStatus(version=1, latest=2)
        assert "needs version 2: run `qbwc db upgrade" in status.describe()
        assert not status.current
        # Pretend the installed schema is from an older release.
        dsn = create_database("qbwc_older")
        psycopg = _psycopg()
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("CREATE TABLE qbwc_schema_version (version integer NOT NULL)")
            conn.execute("INSERT INTO qbwc_schema_version VALUES (1)")
        import qbwc.store._postgres as pg

        original = pg.POSTGRES_SCHEMA_VERSION
        try:
            pg.POSTGRES_SCHEMA_VERSION = 2  # type: ignore[misc]
            with pytest.raises(Exception, match="version 1, this qbwc needs version 2"):
                PostgresStore(dsn)
        finally:
            pg.POSTGRES_SCHEMA_VERSION = original  # type: ignore[misc]

    def test_unreachable_server(self) -> None:
        """A server that does not answer is a StoreError naming it, without the password."""
        from qbwc.store import PostgresStore, StoreError

        dsn = "postgresql://qbwc:hunter2@127.0.0.1:1/nowhere"
        with pytest.raises(StoreError, match=r"127\.0\.0\.1:1/nowhere: cannot connect") as info:
            PostgresStore(dsn, connect_timeout=2)
        assert "hunter2" not in str(info.value)

    def test_bad_settings(self) -> None:
        """pool_size and lock_timeout are checked before anything connects."""
        from qbwc.store import PostgresStore

        with pytest.raises(ValueError, match="pool_size"):
            PostgresStore("dbname=x", pool_size=0)
        with pytest.raises(ValueError, match="lock_timeout"):
            PostgresStore("dbname=x", lock_timeout=0)


class TestStore:
    def test_round_trip_of_postgres_types(self) -> None:
        """UUIDs, timestamps with microseconds, jsonb responses and text[] ids read back exactly."""
        from qbwc.store import Account, InFlight, JobResponse

        store = fresh_store()
        zone = dt.timezone(dt.timedelta(hours=-7))
        account = Account(
            username="Ünïcode ✓",
            password_hash="scrypt$2$8$1$a$b",
            file_id=uuid.uuid4(),
            linked_file_id=uuid.uuid4(),
            company_file="C:\\Q\\Ácme.QBW",
            company_name="Ácme",
            linked_at=dt.datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=zone),
        )
        with store.transaction() as tx:
            tx.put_account(account)
            job = tx.add_job(
                username=account.username,
                key="k",
                request='{"a": "b"}',
                request_type="InvoiceAdd",
                min_version="13.0",
                now=T0,
            )
            response = JobResponse(
                status_code=0,
                status_severity="Info",
                status_message="Status OK",
                txn_id="1-2",
                total=Decimal("10.10"),
            )
            tx.put_job(attrs.evolve(job, status="done", response=response))
            flight = InFlight(
                username=account.username,
                message_set_id="m",
                job_ids=(job.id, "2"),
                version="16.0",
                ticket="t",
                sent_at=T0,
            )
            tx.put_in_flight(flight)
        with store.transaction() as tx:
            stored = tx.get_account(account.username)
            assert stored == attrs.evolve(account, linked_at=account.linked_at)
            assert stored is not None
            assert stored.linked_at is not None
            assert stored.linked_at.tzinfo == dt.UTC
            again = tx.get_job(job.id)
            assert again is not None
            assert again.response == response
            assert tx.get_in_flight(account.username) == flight
            assert tx.get_job("99999999999999999999999") is None
        store.close()

    def test_closed_store_refuses(self) -> None:
        """A closed store raises StoreError instead of reconnecting."""
        from qbwc.store import StoreError

        store = fresh_store()
        store.close()
        with pytest.raises(StoreError, match="closed"):  # noqa: SIM117
            with store.transaction():
                pass

    def test_lock_timeout_is_a_store_error(self) -> None:
        """A claim held too long by another worker ends in a StoreError, not a hang."""
        from qbwc.store import PostgresStore, StoreError

        holder = fresh_store()
        waiter = PostgresStore(postgres_dsn(), lock_timeout=0.2)
        with holder.transaction() as tx:
            tx.get_account("u", for_update=True)
            with pytest.raises(StoreError, match="held the account too long"):  # noqa: SIM117
                with waiter.transaction() as other:
                    other.get_account("u", for_update=True)
        with waiter.transaction() as other:
            assert other.get_account("u", for_update=True) is None
        holder.close()
        waiter.close()

    def test_claim_serialises_an_account_without_a_row(self) -> None:
        """Two workers creating the same new account one after the other, never both at once."""
        from qbwc.store import Account

        stores = [fresh_store(), fresh_store()]
        inside = threading.Event()
        order: list[str] = []

        def first() -> None:
            with stores[0].transaction() as tx:
                assert tx.get_account("new", for_update=True) is None
                inside.set()
                threading.Event().wait(0.3)
                order.append("first")
                tx.put_account(Account(username="new", file_id=uuid.uuid4()))

        def second() -> None:
            inside.wait(10)
            with stores[1].transaction() as tx:
                account = tx.get_account("new", for_update=True)
                order.append("second sees " + ("it" if account else "nothing"))

        threads = [threading.Thread(target=first), threading.Thread(target=second)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(20)
        assert order == ["first", "second sees it"]
        for s in stores:
            s.close()


def _claim_all(dsn: str, worker: int, out: Any) -> None:
    """A worker process: claim pending jobs one at a time until none is left."""
    from qbwc.store import PostgresStore

    store = PostgresStore(dsn, pool_size=1)
    claimed: list[str] = []
    while True:
        with store.transaction() as tx:
            account = tx.get_account("u", for_update=worker % 2 == 0)
            assert account is not None
            batch = tx.next_pending("u", limit=2)
            if not batch:
                break
            for job in batch:
                tx.put_job(attrs.evolve(job, status="sent", attempts=job.attempts + 1))
                claimed.append(job.id)
    store.close()
    out.put(claimed)


class TestWorkers:
    def test_two_worker_processes_never_claim_the_same_job(self) -> None:
        """
        Four processes with their own pools drain one queue: every job is claimed exactly once.

        Half of them skip the account claim, so ``FOR UPDATE SKIP LOCKED`` alone must keep
        them apart.
        """
        from qbwc.store import Account

        store = fresh_store()
        with store.transaction() as tx:
            tx.put_account(Account(username="u", file_id=uuid.uuid4()))
            for n in range(120):
                tx.add_job(
                    username="u",
                    key=f"k{n}",
                    request="{}",
                    request_type="InvoiceAdd",
                    min_version="13.0",
                    now=T0,
                )
        ctx = multiprocessing.get_context("spawn")
        out = ctx.Queue()
        procs = [ctx.Process(target=_claim_all, args=(postgres_dsn(), w, out)) for w in range(4)]
        for p in procs:
            p.start()
        claims: list[str] = []
        for _ in procs:
            claims.extend(out.get(timeout=120))
        for p in procs:
            p.join(60)
            assert p.exitcode == 0
        counts = Counter(claims)
        assert len(counts) == 120
        assert set(counts.values()) == {1}
        with store.transaction() as tx:
            assert tx.count_jobs("u", "sent") == 120
            assert {j.attempts for j in tx.list_jobs()} == {1}
        store.close()

    def test_pool_is_replaced_after_fork(self) -> None:
        """A forked child opens its own pool and never touches the parent's connections."""
        store = fresh_store()
        with store.transaction() as tx:
            parent_pid = tx.execute("SELECT pg_backend_pid()").fetchone()
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            code = 1
            try:
                with store.transaction() as tx:
                    row = tx.execute("SELECT pg_backend_pid()").fetchone()
                os.write(write, str(row[0]).encode())
                code = 0
            finally:
                os._exit(code)
        os.close(write)
        child_backend = int(os.read(read, 100) or b"0")
        os.close(read)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert parent_pid is not None
        assert child_backend not in (0, parent_pid[0])
        with store.transaction() as tx:
            assert tx.execute("SELECT 1").fetchone() == (1,)
        store.close()


class TestCommandLine:
    def test_status_upgrade_status(
        self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """status says what to run (exit 1); upgrade creates, then has nothing to do; exit 0."""
        from qbwc.cli import main

        dsn = create_database("qbwc_cli")
        monkeypatch.delenv("QBWC_DSN", raising=False)
        assert main(["db", "status", "--dsn", dsn]) == 1
        assert "no qbwc schema" in capsys.readouterr().out
        assert main(["db", "upgrade", "--dsn", dsn]) == 0
        assert "created the qbwc schema, version 4" in capsys.readouterr().out
        monkeypatch.setenv("QBWC_DSN", dsn)
        assert main(["db", "upgrade"]) == 0
        assert "nothing to do" in capsys.readouterr().out
        assert main(["db", "status"]) == 0
        assert "(current)" in capsys.readouterr().out

    def test_errors_are_one_line(
        self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """No DSN, an unreachable server, a bad --since: one line on stderr, exit 1."""
        from qbwc.cli import main

        monkeypatch.delenv("QBWC_DSN", raising=False)
        assert main(["db", "upgrade"]) == 1
        assert "pass --dsn or set QBWC_DSN" in capsys.readouterr().err
        assert main(["db", "status", "--dsn", "postgresql://u:secret@127.0.0.1:1/x"]) == 1
        err = capsys.readouterr().err
        assert err.startswith("qbwc db: PostgreSQL 127.0.0.1:1/x: cannot connect")
        assert "secret" not in err
        assert "Traceback" not in err
        assert main(["db", "sql", "--since", "99"]) == 1
        assert "since=99" in capsys.readouterr().err

    def test_sql_runs_in_psql_order(self, capsys: pytest.CaptureFixture[str]) -> None:
        """``qbwc db sql`` prints one transaction that installs the schema."""
        from qbwc.cli import main
        from qbwc.store import PostgresStore

        assert main(["db", "sql"]) == 0
        script = capsys.readouterr().out
        assert script.splitlines()[1] == "BEGIN;"
        assert script.rstrip().endswith("COMMIT;")
        dsn = create_database("qbwc_cli_sql")
        psycopg = _psycopg()
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(script)
        PostgresStore(dsn).close()
        assert main(["db", "sql", "--since", "1"]) == 0
        assert "CREATE TABLE qbwc_login_verifiers" in capsys.readouterr().out
        assert main(["db", "sql", "--since", "2"]) == 0
        assert "CREATE TABLE qbwc_query_pages" in capsys.readouterr().out
        assert main(["db", "sql", "--since", "3"]) == 0
        step = capsys.readouterr().out
        for table in ("qbwc_links", "qbwc_follows", "qbwc_pull_marks"):
            assert f"CREATE TABLE {table} (" in step
        assert main(["db", "sql", "--since", "4"]) == 0
        assert "nothing to run" in capsys.readouterr().out


OWNER = uuid.UUID("9A5D8F3B-1C2E-4B6A-8D7F-0E1F2A3B4C5D")


class TickingClock:
    """A clock shared by the workers that moves one second each time it is read."""

    def __init__(self) -> None:
        self.now = 1_767_225_600.0
        self.lock = threading.Lock()

    def __call__(self) -> float:
        with self.lock:
            self.now += 1
            return self.now


def _service(store: Any, clock: Any = None, **settings: Any) -> Any:
    from qbwc import WebConnectorService

    return WebConnectorService(
        store=store,
        owner_id=OWNER,
        app_name="Acme Billing",
        password_cost=2,
        clock=clock or TickingClock(),
        **settings,
    )


def _invoice(ref: str) -> Any:
    from qbwc.qbxml._requests import InvoiceAdd, InvoiceLineAdd
    from qbwc.qbxml._types import Ref

    line = InvoiceLineAdd(item_ref=Ref(full_name="Consulting"), quantity=Decimal(2))
    return InvoiceAdd(customer_ref=Ref(full_name="Acme Corp"), ref_number=ref, lines=[line])


class TestServiceOnPostgres:
    def test_calls_alternate_between_workers(self) -> None:
        """Each call of a session lands on the other of two workers (own pools): all done once."""
        from qbwc.testing import FakeQuickBooks, FakeWebConnector

        services = [_service(fresh_store()), _service(fresh_store(pool_size=1))]
        services[0].add_account("kristy", "pw")
        jobs = [services[0].enqueue("kristy", _invoice(str(n)), key=f"inv-{n}") for n in range(5)]
        turn = [0]

        def alternate(body: bytes, action: str) -> tuple[int, bytes]:
            turn[0] += 1
            reply = services[turn[0] % 2].handle_http("POST", body, url="https://x/qbwc")
            return int(reply.status), bytes(reply.body)

        qb = FakeQuickBooks.sample()
        wc = FakeWebConnector(None, qb, transport=alternate)
        wc.add_application(
            services[1].qwc("kristy", app_url="https://x/qbwc", app_support="https://x/s"),
            password="pw",
        )
        results = wc.sync()
        assert results[-1].status == "No Data Exchange"
        assert all(not r.errors for r in results), [r.errors for r in results]
        assert sorted(i.ref_number for i in qb.invoices) == ["0", "1", "2", "3", "4"]
        assert {services[1].job(j.id).status for j in jobs} == {"done"}
        for service in services:
            service.store.close()

    def test_two_web_connectors_for_one_account_never_write_twice(self) -> None:
        """
        Two Web Connectors for one account, on two workers at once: each invoice is created once.

        The first loses QuickBooks' response to its first write (before the threads
        start, so it is the one handed a write: when the second won the first session,
        the fault never fired and ``qb.replays`` was 0 about one run in five); while
        that session holds the set, both are told ``busy``; the session that takes
        over after ``session_timeout`` recovers the set instead of resending it.
        """
        from qbwc.testing import FakeQuickBooks, FakeWebConnector, LoseQuickBooksResponse

        clock = TickingClock()
        services = [
            _service(fresh_store(), clock, busy_timeout=20, session_timeout=40),
            _service(fresh_store(), clock, busy_timeout=20, session_timeout=40),
        ]
        services[0].add_account("kristy", "pw")
        for n in range(12):
            services[0].enqueue("kristy", _invoice(str(n)), key=f"inv-{n}")
        qwc = services[0].qwc("kristy", app_url="https://x/qbwc", app_support="https://x/s")
        qb = FakeQuickBooks.sample()
        connectors = [FakeWebConnector(service, qb) for service in services]
        for wc in connectors:
            wc.add_application(qwc, password="pw")
        connectors[0].inject(LoseQuickBooksResponse())
        lost = connectors[0].run_session()
        assert lost.status.startswith("Error: the Web Connector stopped before")
        assert connectors[0].faults == []
        assert len(qb.invoices) == 1
        failures: list[BaseException] = []
        statuses: list[str] = []

        def run(wc: Any) -> None:
            try:
                for _ in range(60):
                    result = wc.run_session()
                    statuses.append(result.status)
                    if result.status == "No Data Exchange":
                        return
            except BaseException as exc:  # pragma: no cover - reported below
                failures.append(exc)

        threads = [threading.Thread(target=run, args=(wc,)) for wc in connectors]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert failures == []
        # Later, a run on either worker finds nothing left.
        clock.now += 1000
        assert connectors[1].sync()[-1].status == "No Data Exchange"
        refs = Counter(i.ref_number for i in qb.invoices)
        assert refs == Counter(str(n) for n in range(12))
        assert qb.replays == 1  # the lost response was recovered, not resent
        assert "Application Busy" in statuses
        assert {j.status for j in services[0].jobs("kristy")} == {"done"}
        for service in services:
            service.store.close()


class TestSameBehaviour:
    @given(ops=_OPS)
    def test_memory_and_postgres_agree(self, ops: list[tuple[str, object, object]]) -> None:
        """
        Any sequence of queue operations leaves MemoryStore and PostgresStore the same.

        Up to the ids themselves: a PostgreSQL sequence is not rolled back, so ids may
        have gaps; their order must agree.
        """
        stores = [MemoryStore(), fresh_store(pool_size=1)]
        try:
            outcomes = [_ranked(_replay(s, ops)) for s in stores]
            assert outcomes[0] == outcomes[1]
        finally:
            for s in stores:
                s.close()


def _ranked(outcome: list[object]) -> object:
    """*outcome* with every job id replaced by its rank among the ids seen."""
    ids: set[int] = set()

    def collect(value: object) -> None:
        if isinstance(value, str) and value.isdigit():
            ids.add(int(value))
        elif isinstance(value, list | tuple):
            for item in value:
                collect(item)

    collect(outcome)
    rank = {str(v): f"#{n}" for n, v in enumerate(sorted(ids))}

    def swap(value: object) -> object:
        if isinstance(value, str):
            return rank.get(value, value)
        if isinstance(value, list | tuple):
            return type(value)(swap(item) for item in value)
        return value

    return swap(outcome)
