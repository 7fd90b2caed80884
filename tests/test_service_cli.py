"""The service commands: qbwc account, enqueue, jobs, serve."""

from __future__ import annotations

import contextlib
import io
import json
import re
import threading
import urllib.request
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qbwc.cli import main
from qbwc.cli._tables import job_table
from qbwc.qwc import QWCConfig
from qbwc.store import SQLiteStore
from qbwc.testing import FakeQuickBooks, FakeWebConnector, http_transport
from qbwc.wsgi import make_wsgi_app

INVOICE = {
    "type": "InvoiceAdd",
    "customer_ref": {"full_name": "Acme Corp"},
    "ref_number": "1042",
    "lines": [
        {
            "type": "InvoiceLineAdd",
            "item_ref": {"full_name": "Consulting"},
            "quantity": 2,
            "rate": "150.50",
        }
    ],
}


@pytest.fixture
def db(tmp_path: Path) -> str:
    return str(tmp_path / "qbwc.sqlite")


def _add(db: str, monkeypatch: pytest.MonkeyPatch, user: str = "kristy", pw: str = "pw") -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(pw + "\n"))
    return main(["account", "add", user, "--password-stdin", "--db", db])


class TestAccount:
    def test_add_list_qwc(
        self,
        db: str,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
        tmp_path: Path,
    ) -> None:
        """account add stores a hashed password; list shows it; qwc writes its QWC file."""
        assert _add(db, monkeypatch) == 0
        assert "added 'kristy'" in capsys.readouterr().out
        assert main(["account", "list", "--db", db]) == 0
        assert "kristy  (not linked yet)" in capsys.readouterr().out
        out = tmp_path / "kristy.qwc"
        args = ["account", "qwc", "kristy", "--url", "https://books.example.com/qbwc"]
        args += ["--support-url", "https://books.example.com/help", "-o", str(out), "--db", db]
        assert main(args) == 0
        config = QWCConfig.from_xml(out.read_bytes())
        assert config.user_name == "kristy"
        store = SQLiteStore(db)
        with store.transaction() as tx:
            account = tx.get_account("kristy")
            owner = tx.get_setting("owner_id")
        store.close()
        assert account is not None
        assert config.file_id == account.file_id
        assert str(config.owner_id) == owner
        # Hashed (a 2-letter password may well occur in the random salt: compare shapes).
        assert (account.password_hash or "pw").startswith("scrypt$")

    def test_add_twice_is_an_error(
        self, db: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Adding an existing account prints the rule and exits 1, no traceback."""
        _add(db, monkeypatch)
        assert _add(db, monkeypatch) == 1
        assert "already exists" in capsys.readouterr().err

    def test_password_needs_stdin_flag_off_a_terminal(
        self, db: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Without a terminal, --password-stdin is required."""
        monkeypatch.setattr("sys.stdin", io.StringIO(""))
        assert main(["account", "add", "x", "--db", db]) == 1
        assert "--password-stdin" in capsys.readouterr().err

    def test_owner_id_must_match(
        self, db: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A different --owner-id than the stored one is refused."""
        _add(db, monkeypatch)
        args = ["account", "qwc", "kristy", "--url", "https://a.example.com/q"]
        args += ["--support-url", "https://a.example.com/", "--db", db]
        assert main([*args, "--owner-id", "6F2A1B3C-0000-4000-8000-000000000001"]) == 1
        err = capsys.readouterr().err
        given = "{6F2A1B3C-0000-4000-8000-000000000001}"
        assert f"{given} differs from the OwnerID this database" in err
        assert err.count("\n") == 1

    def test_passwd_and_disconnect(
        self, db: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """passwd changes the password; disconnect unlinks (and can issue a new FileID)."""
        _add(db, monkeypatch)
        monkeypatch.setattr("sys.stdin", io.StringIO("new\n"))
        assert main(["account", "passwd", "kristy", "--password-stdin", "--db", db]) == 0
        assert main(["account", "disconnect", "kristy", "--new-file-id", "--db", db]) == 0
        assert "download the QWC file again" in capsys.readouterr().out

    def test_rename(
        self, db: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """rename keeps the FileID (the new QWC differs only in UserName); bad names exit 1."""
        _add(db, monkeypatch)
        _add(db, monkeypatch, user="aaron")
        capsys.readouterr()
        qwc = ["--url", "https://a.example.com/q", "--support-url", "https://a.example.com/"]
        assert main(["account", "qwc", "kristy", *qwc, "--db", db]) == 0
        before = QWCConfig.from_xml(capsys.readouterr().out)
        assert main(["account", "rename", "kristy", "kristy.new", "--db", db]) == 0
        out = capsys.readouterr().out
        assert "'kristy' is now 'kristy.new'" in out
        assert "qbwc account qwc" in out
        assert main(["account", "qwc", "kristy.new", *qwc, "--db", db]) == 0
        after = QWCConfig.from_xml(capsys.readouterr().out)
        assert (after.user_name, after.file_id, after.owner_id) == (
            "kristy.new",
            before.file_id,
            before.owner_id,
        )
        assert main(["account", "rename", "kristy", "x", "--db", db]) == 1
        assert "old: no account 'kristy'" in capsys.readouterr().err
        assert main(["account", "rename", "kristy.new", "aaron", "--db", db]) == 1
        err = capsys.readouterr().err
        assert "new: 'aaron' already exists" in err
        assert "Traceback" not in err


class TestEnqueueAndJobs:
    def test_enqueue_sync_jobs(
        self,
        db: str,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """enqueue a JSON invoice (idempotent with --key); a sync runs it; jobs shows the TxnID."""
        _add(db, monkeypatch)
        path = tmp_path / "invoice.json"
        path.write_text(json.dumps(INVOICE))
        for _ in range(2):
            assert main(["enqueue", str(path), "--user", "kristy", "--key", "k1", "--db", db]) == 0
        assert capsys.readouterr().out.count("job 1:") == 2

        from qbwc import WebConnectorService

        store = SQLiteStore(db)
        with store.transaction() as tx:
            owner = tx.get_setting("owner_id")
        assert owner is not None
        service = WebConnectorService(store=store, owner_id=owner)
        qb = FakeQuickBooks.sample()
        wc = FakeWebConnector(make_wsgi_app(service), qb)
        qwc = service.qwc("kristy", app_url="https://localhost/q", app_support="https://localhost/")
        wc.add_application(qwc, password="pw")
        assert wc.run_session().completed
        store.close()
        assert [i.subtotal for i in qb.invoices] == [Decimal("301.00")]
        assert main(["jobs", "--db", db]) == 0
        out = capsys.readouterr().out
        assert "done" in out
        assert qb.invoices[0].txn_id in out
        store = SQLiteStore(db)
        jobs = WebConnectorService(store=store, owner_id=owner).jobs()
        store.close()
        assert out == "\n".join(job_table(jobs)) + "\n"

    def test_any_request_type_and_after(
        self,
        db: str,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """A CustomerAdd, an invoice --after it and a query; jobs shows the ListID and records."""
        from qbwc import WebConnectorService
        from tests.quickbooks_double import ListQuickBooks

        _add(db, monkeypatch)
        customer = tmp_path / "customer.json"
        customer.write_text(json.dumps({"type": "CustomerAdd", "name": "New Corp"}))
        query = tmp_path / "query.json"
        query.write_text(json.dumps({"type": "CustomerQuery"}))
        invoice = tmp_path / "invoice.json"
        invoice.write_text(json.dumps({**INVOICE, "customer_ref": {"full_name": "New Corp"}}))
        assert main(["enqueue", str(customer), "--user", "kristy", "--db", db]) == 0
        assert main(["enqueue", str(invoice), "--user", "kristy", "--after", "1", "--db", db]) == 0
        assert main(["enqueue", str(query), "--user", "kristy", "--db", db]) == 0
        out = capsys.readouterr().out
        assert "job 1: CustomerAdd for 'kristy', pending\n" in out
        assert "job 2: InvoiceAdd for 'kristy', pending (after job 1)\n" in out
        assert main(["jobs", "--db", db]) == 0
        assert "(waits for job 1)" in capsys.readouterr().out
        assert main(["enqueue", str(query), "--user", "kristy", "--after", "x", "--db", db]) == 1
        err = capsys.readouterr().err
        assert "after: 'x' is not a job" in err
        assert "Traceback" not in err

        store = SQLiteStore(db)
        with store.transaction() as tx:
            owner = tx.get_setting("owner_id")
        assert owner is not None
        service = WebConnectorService(store=store, owner_id=owner)
        qb = ListQuickBooks()
        wc = FakeWebConnector(make_wsgi_app(service), qb)
        qwc = service.qwc("kristy", app_url="https://localhost/q", app_support="https://localhost/")
        wc.add_application(qwc, password="pw")
        for _ in range(3):
            wc.run_session()
        store.close()
        (list_id,) = qb.customers
        assert main(["jobs", "--db", db]) == 0
        out = capsys.readouterr().out
        assert list_id in out
        assert qb.inner.invoices[0].txn_id in out
        assert "1 record " in out or out.rstrip().endswith("1 record")

    def test_query_page_size_sync_results(
        self,
        db: str,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """qbwc query queues a paged query; a sync runs it; query --key, jobs results print it."""
        from qbwc import WebConnectorService
        from qbwc.qbxml._json import _dump

        _add(db, monkeypatch)
        capsys.readouterr()
        query = tmp_path / "query.json"
        query.write_text(json.dumps({"type": "CustomerQuery"}))
        argv = ["query", str(query), "--user", "kristy", "--key", "all", "--db", db]
        assert main([*argv, "--page-size", "7"]) == 0
        out, err = capsys.readouterr()
        assert out == ""
        assert "job 1 (CustomerQuery for 'kristy') is queued" in err
        assert "qbwc jobs results 1" in err
        # Not done yet: results says so, and how to see them later (exit 1, one line).
        assert main(["jobs", "results", "1", "--db", db]) == 1
        err = capsys.readouterr().err
        assert "job 1 (CustomerQuery) is pending, 0 records so far" in err
        assert err.count("\n") == 1

        store = SQLiteStore(db)
        with store.transaction() as tx:
            owner = tx.get_setting("owner_id")
        assert owner is not None
        service = WebConnectorService(store=store, owner_id=owner)
        qb = FakeQuickBooks.sample()
        qb.seed(Customer=[{"name": f"Cust {n:02d}", "open_balance": "12.50"} for n in range(20)])
        wc = FakeWebConnector(make_wsgi_app(service), qb)
        qwc = service.qwc("kristy", app_url="https://localhost/q", app_support="https://localhost/")
        wc.add_application(qwc, password="pw")
        assert wc.run_session().completed
        job = service.job("1")
        assert job is not None
        assert job.status == "done"
        expected = list(service.query_results("1"))
        store.close()
        customers = qb.records("Customer")
        assert len(expected) == len(customers) > 20
        assert job.pages == -(-len(customers) // 7)

        # The same query by its key: found, done, printed (a new query is not queued).
        assert main([*argv, "--page-size", "7"]) == 0
        table = capsys.readouterr().out.splitlines()
        assert table[0].split() == ["LISTID", "NAME", "TIMEMODIFIED", "BALANCE", "TOTALBALANCE"]
        assert len(table) == 1 + len(customers)
        for line, customer in zip(table[1:], customers, strict=True):
            assert line.startswith(customer.list_id)
            assert customer.full_name in line
        assert "Cust 19" in table[-1]
        assert "12.50" in table[-1]
        assert main(["jobs", "results", "1", "--format", "jsonl", "--db", db]) == 0
        lines = capsys.readouterr().out.splitlines()
        assert [json.loads(line) for line in lines] == [
            _dump(ret, type(ret).__name__, with_type=True) for ret in expected
        ]
        assert main(["jobs", "results", "1", "--db", db]) == 0
        assert capsys.readouterr().out.splitlines() == table
        # The job list shows its records and pages.
        assert main(["jobs", "--db", db]) == 0
        pages = -(-len(customers) // 7)
        assert f"{len(customers)} records, {pages} pages" in capsys.readouterr().out
        # A key names one request: another page size is another query.
        assert main([*argv, "--page-size", "8"]) == 1
        assert "key: 'all' is already used by job 1" in capsys.readouterr().err

    def test_query_waits_for_a_running_sync(
        self,
        db: str,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """qbwc query --wait prints the records when a sync runs meanwhile (served over HTTP)."""
        from qbwc import WebConnectorService

        _add(db, monkeypatch)
        store = SQLiteStore(db)
        with store.transaction() as tx:
            owner = tx.get_setting("owner_id")
        assert owner is not None
        service = WebConnectorService(store=store, owner_id=owner)
        qb = FakeQuickBooks.sample()
        wc = FakeWebConnector(make_wsgi_app(service), qb)
        qwc = service.qwc("kristy", app_url="https://localhost/q", app_support="https://localhost/")
        wc.add_application(qwc, password="pw")
        query = tmp_path / "query.json"
        query.write_text(json.dumps({"type": "InvoiceQuery", "include_line_items": True}))
        invoice = tmp_path / "invoice.json"
        invoice.write_text(json.dumps(INVOICE))
        assert main(["enqueue", str(invoice), "--user", "kristy", "--db", db]) == 0
        capsys.readouterr()

        def sync() -> None:
            while service.job("2") is None:
                threading.Event().wait(0.05)
            wc.run_session()

        syncing = threading.Thread(target=sync)
        syncing.start()
        argv = ["query", str(query), "--user", "kristy", "--wait", "600", "--db", db]
        try:
            assert main(argv) == 0
        finally:
            syncing.join()
            store.close()
        out = capsys.readouterr().out.splitlines()
        (invoice_ret,) = qb.invoices
        heading = ["TXNID", "REFNUMBER", "CUSTOMER", "TXNDATE", "DUEDATE", "SUBTOTAL"]
        assert out[0].split()[:6] == heading
        assert len(out) == 2
        assert out[1].startswith(invoice_ret.txn_id)
        assert "1042" in out[1]
        assert "Acme Corp" in out[1]
        assert "301.00" in out[1]

    def test_query_refusals(
        self,
        db: str,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """Not a query, a page size a query cannot take, a bad --wait: one line naming the field."""
        _add(db, monkeypatch)
        invoice = tmp_path / "invoice.json"
        invoice.write_text(json.dumps(INVOICE))
        company = tmp_path / "company.json"
        company.write_text(json.dumps({"type": "CompanyQuery"}))
        query = tmp_path / "query.json"
        query.write_text(json.dumps({"type": "CustomerQuery", "max_returned": 5}))
        two = tmp_path / "two.json"
        two.write_text(json.dumps([{"type": "CustomerQuery"}, {"type": "VendorQuery"}]))
        user = ["--user", "kristy", "--db", db]
        for argv, says in (
            (["query", str(invoice), *user], "file: "),
            (["query", str(two), *user], "file: "),
            (["query", str(company), "--page-size", "5", *user], "page_size: CompanyQuery has no"),
            (["query", str(query), "--page-size", "5", *user], "page_size: set page_size or"),
            (["query", str(query), "--page-size", "0", *user], "page_size: must be an int from"),
            (["query", str(query), "--wait", "nan", *user], "wait: nan is not from 0"),
            (["enqueue", str(invoice), "--page-size", "5", *user], "page_size: only a query"),
            (["enqueue", str(two), "--page-size", "0", *user], "page_size: must be an int"),
        ):
            assert main(argv) == 1, argv
            err = capsys.readouterr().err
            assert says in err, (argv, err)
            assert err.count("\n") == 1
            assert "Traceback" not in err
        assert main(["jobs", "--db", db]) == 0
        assert capsys.readouterr().out == "no jobs\n"  # nothing was queued
        assert main(["enqueue", str(invoice), *user]) == 0
        capsys.readouterr()
        assert main(["jobs", "results", "1", "--db", db]) == 1
        assert "job_id: job 1 is a InvoiceAdd, not a query" in capsys.readouterr().err

    def test_bad_json(
        self,
        db: str,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """Bad JSON, a bad model or a missing file is reported in one line, exit 1."""
        _add(db, monkeypatch, user="u")
        bad = tmp_path / "bad.json"
        bad.write_text("{nope")
        assert main(["enqueue", str(bad), "--user", "u", "--db", db]) == 1
        assert "is not JSON" in capsys.readouterr().err
        bad.write_text(json.dumps({**INVOICE, "ref_number": "x" * 20}))
        assert main(["enqueue", str(bad), "--user", "u", "--db", db]) == 1
        assert "ref_number" in capsys.readouterr().err
        assert main(["enqueue", str(tmp_path / "missing.json"), "--user", "u", "--db", db]) == 1
        assert "cannot read" in capsys.readouterr().err
        other = tmp_path / "other.sqlite"
        bad.write_text(json.dumps(INVOICE))
        assert main(["enqueue", str(bad), "--user", "u", "--db", str(other)]) == 1
        assert not other.exists()  # enqueue never creates a database


def test_serve(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """qbwc serve answers GET ?wsdl over HTTP (stopped after one request)."""
    import socket
    from wsgiref import simple_server

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    real = simple_server.make_server
    servers: list[object] = []

    def tracking(*args: object, **kwargs: object) -> object:
        server = real(*args, **kwargs)  # type: ignore[arg-type]
        servers.append(server)
        return server

    monkeypatch.setattr(simple_server, "make_server", tracking)
    thread = threading.Thread(
        target=main, args=(["serve", "--db", db, "--port", str(port)],), daemon=True
    )
    thread.start()
    for _ in range(100):
        if servers:
            break
        threading.Event().wait(0.05)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/qbwc?wsdl", timeout=10) as r:
            assert r.status == 200
            assert b"wsdl:definitions" in r.read()
    finally:
        servers[0].shutdown()  # type: ignore[attr-defined]
        thread.join(10)


@contextlib.contextmanager
def _serving(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[tuple[int, str, Any]]:
    """
    Run ``qbwc serve`` in a thread; yield (the port it says, its first line, the service).

    The port is read from what ``qbwc serve`` prints, not from the server object.
    """
    from wsgiref import simple_server

    real_server = simple_server.make_server
    servers: list[Any] = []
    services: list[Any] = []

    def tracking_server(*args: Any, **kwargs: Any) -> Any:
        servers.append(real_server(*args, **kwargs))
        return servers[-1]

    def tracking_app(service: Any) -> Any:
        services.append(service)
        return make_wsgi_app(service)

    monkeypatch.setattr(simple_server, "make_server", tracking_server)
    monkeypatch.setattr("qbwc.wsgi.make_wsgi_app", tracking_app)
    codes: list[int] = []
    thread = threading.Thread(target=lambda: codes.append(main(argv)), daemon=True)
    thread.start()
    err = ""
    try:
        for _ in range(400):
            err += capsys.readouterr().err
            if "listening on" in err or codes:
                break
            threading.Event().wait(0.025)
        line = next((x for x in err.splitlines() if "listening on" in x), "")
        assert line, f"qbwc serve did not start: exit {codes}, {err!r}"
        port = int(re.search(r"http://127\.0\.0\.1:(\d+)/", line).group(1))  # type: ignore[union-attr]
        yield port, line, services[0]
    finally:
        if servers:
            servers[0].shutdown()
        thread.join(10)
    assert codes == [0]


class TestServeOptions:
    def test_port_zero_prints_the_bound_port(
        self, db: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """--port 0 prints the port the system picked, and the service answers there."""
        argv = ["serve", "--db", db, "--port", "0"]
        with _serving(argv, monkeypatch, capsys) as (port, line, _service):
            assert port != 0
            assert f"(database {db}, OwnerID {{" in line
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/qbwc?wsdl", timeout=10) as r:
                assert b"wsdl:definitions" in r.read()

    def test_busy_timeout_reaches_the_service(
        self, db: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """--busy-timeout sets the service's busy_timeout; without it the service default holds."""
        argv = ["serve", "--db", db, "--port", "0"]
        with _serving([*argv, "--busy-timeout", "7.5"], monkeypatch, capsys) as (*_, service):
            assert service.busy_timeout == 7.5
        with _serving(argv, monkeypatch, capsys) as (*_, service):
            assert service.busy_timeout == 120.0

    def test_bad_busy_timeout_is_one_line(
        self, db: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A busy timeout out of range exits 1 with the setting named; no server starts."""
        from wsgiref import simple_server

        def refuse(*args: object, **kwargs: object) -> None:
            raise AssertionError("the server must not start")

        monkeypatch.setattr(simple_server, "make_server", refuse)
        assert main(["serve", "--db", db, "--port", "0", "--busy-timeout", "-1"]) == 1
        err = capsys.readouterr().err
        assert err.startswith("qbwc serve: busy_timeout: ")
        assert err.count("\n") == 1

    def test_login_secret_from_the_environment(
        self, db: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """$QBWC_LOGIN_SECRET turns the login cache on; --login-cache-seconds bounds it."""
        argv = ["serve", "--db", db, "--port", "0"]
        monkeypatch.delenv("QBWC_LOGIN_SECRET", raising=False)
        with _serving(argv, monkeypatch, capsys) as (*_, service):
            assert not service._login_cache.enabled
        monkeypatch.setenv("QBWC_LOGIN_SECRET", "s" * 32)
        with _serving([*argv, "--login-cache-seconds", "60"], monkeypatch, capsys) as (*_, svc):
            assert svc._login_cache.enabled
            assert svc._login_cache.seconds == 60.0

    @pytest.mark.parametrize(
        ("env", "option", "field"),
        [
            ("short", [], "QBWC_LOGIN_SECRET"),
            ("s" * 32, ["--login-cache-seconds", "-1"], "login_cache_seconds"),
        ],
    )
    def test_bad_login_cache_settings_are_one_line(
        self,
        db: str,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
        env: str,
        option: list[str],
        field: str,
    ) -> None:
        from wsgiref import simple_server

        def refuse(*args: object, **kwargs: object) -> None:
            raise AssertionError("the server must not start")

        monkeypatch.setattr(simple_server, "make_server", refuse)
        monkeypatch.setenv("QBWC_LOGIN_SECRET", env)
        assert main(["serve", "--db", db, "--port", "0", *option]) == 1
        err = capsys.readouterr().err
        assert err.startswith(f"qbwc serve: {field}: ")
        assert err.count("\n") == 1

    def test_db_and_dsn_exclude_each_other(
        self, db: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """--db and --dsn together are a usage error (exit 2): one store or the other."""
        with pytest.raises(SystemExit) as exit_info:
            main(["serve", "--db", db, "--dsn", "postgresql://x@localhost/x"])
        assert exit_info.value.code == 2
        assert "not allowed with argument" in capsys.readouterr().err

    def test_empty_dsn_refused(self, capsys: pytest.CaptureFixture[str]) -> None:
        """An empty --dsn is refused by name, not taken as "the SQLite default"."""
        assert main(["jobs", "--dsn", " "]) == 1
        assert "qbwc jobs: dsn: is empty" in capsys.readouterr().err

    def test_serve_postgres_from_the_environment(
        self,
        db: str,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """With $QBWC_DSN (or --dsn), the commands and serve use PostgreSQL; --db overrides it."""
        from tests.postgres import fresh_store, postgres_dsn

        fresh_store().close()  # empties the shared test database
        dsn = postgres_dsn()
        monkeypatch.setenv("QBWC_DSN", dsn)
        monkeypatch.setattr("sys.stdin", io.StringIO("pw\n"))
        assert main(["account", "add", "kristy", "--password-stdin"]) == 0
        path = tmp_path / "invoice.json"
        path.write_text(json.dumps(INVOICE))
        assert main(["enqueue", str(path), "--user", "kristy", "--dsn", dsn]) == 0
        assert main(["account", "list", "--db", db]) == 1  # --db wins over the environment
        assert "no database at" in capsys.readouterr().err

        qb = FakeQuickBooks.sample()
        with _serving(["serve", "--port", "0"], monkeypatch, capsys) as (port, line, service):
            assert "(database PostgreSQL 127.0.0.1:" in line
            url = f"http://127.0.0.1:{port}/qbwc"
            wc = FakeWebConnector(None, qb, url=url, transport=http_transport(url))
            qwc = service.qwc(
                "kristy", app_url="https://localhost/q", app_support="https://localhost/"
            )
            wc.add_application(qwc, password="pw")
            assert wc.run_session().completed
        assert [i.subtotal for i in qb.invoices] == [Decimal("301.00")]
        capsys.readouterr()
        assert main(["jobs", "--dsn", dsn]) == 0
        out = capsys.readouterr().out
        txn_id = qb.invoices[0].txn_id
        assert txn_id is not None
        assert "done" in out
        assert txn_id in out


class TestOneHomeForTheOwnerID:
    """The OwnerID and application name live in the store (docs/service.md, "Command line")."""

    OWNER = "9A5D8F3B-1C2E-4B6A-8D7F-0E1F2A3B4C5D"
    QWC = ("--url", "https://books.example.com/qbwc", "--support-url", "https://books.example.com/")

    def test_qwc_of_the_cli_is_the_apps_own(
        self, db: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """An app with its OwnerID in code, then qbwc account qwc: the same OwnerID and AppName."""
        from qbwc import WebConnectorService

        store = SQLiteStore(db)
        app = WebConnectorService(store=store, owner_id=self.OWNER, app_name="Acme Billing")
        app.add_account("kristy", "pw")
        apps_own = app.qwc("kristy", app_url=self.QWC[1], app_support=self.QWC[3])
        store.close()
        assert main(["account", "qwc", "kristy", *self.QWC, "--db", db]) == 0
        written = capsys.readouterr().out.encode()
        config = QWCConfig.from_xml(written)
        assert str(config.owner_id).upper() == self.OWNER
        assert config.app_name == "Acme Billing"
        assert written == apps_own  # the very file the application hands out

    def test_service_with_another_owner_id_refuses_to_start(self, db: str) -> None:
        """A second OwnerID on the same store: ConfigurationError naming both and the fix."""
        from qbwc import WebConnectorService
        from qbwc.exceptions import ConfigurationError

        store = SQLiteStore(db)
        WebConnectorService(store=store, owner_id=self.OWNER, app_name="Acme Billing")
        other = "6F2A1B3C-0000-4000-8000-000000000001"
        with pytest.raises(ConfigurationError) as info:
            WebConnectorService(store=store, owner_id=other)
        assert info.value.field == "owner_id"
        assert f"{{{other}}} differs" in info.value.rule
        assert f"owner_id={{{self.OWNER}}}" in info.value.rule
        same = WebConnectorService(store=store, owner_id=f"{{{self.OWNER.lower()}}}")
        assert same.app_name == "Acme Billing"  # recorded by the first start
        store.close()

    def test_no_owner_id_anywhere_says_what_to_do(
        self, db: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A database with accounts but no recorded OwnerID (an older qbwc): exit 1, none made."""
        import sqlite3

        from qbwc import WebConnectorService

        store = SQLiteStore(db)
        WebConnectorService(store=store, owner_id=self.OWNER).add_account("kristy", "pw")
        store.close()
        with sqlite3.connect(db) as conn:
            conn.execute("DELETE FROM settings")
        assert main(["account", "qwc", "kristy", *self.QWC, "--db", db]) == 1
        err = capsys.readouterr().err
        assert "has no OwnerID recorded yet" in err
        assert "--owner-id" in err
        store = SQLiteStore(db)
        with store.transaction() as tx:
            assert tx.get_setting("owner_id") is None  # nothing invented
        store.close()
        given = ["--owner-id", self.OWNER]
        assert main(["account", "qwc", "kristy", *self.QWC, "--db", db, *given]) == 0
        assert main(["account", "qwc", "kristy", *self.QWC, "--db", db]) == 0  # now recorded
        assert self.OWNER in capsys.readouterr().out.upper()


class TestJobTableErrors:
    """qbwc jobs cuts a long error at a word, with "...", and always keeps the reference."""

    @staticmethod
    def _row(message: str, reference: str = "QBWC-7F3K2Q") -> str:
        import datetime as dt

        from qbwc.store import Job, JobError

        now = dt.datetime(2026, 1, 2, tzinfo=dt.UTC)
        job = Job(
            id="7",
            username="kristy",
            request="{}",
            request_type="InvoiceAdd",
            status="failed",
            error=JobError(code="3140", message=message, reference=reference),
            created_at=now,
            updated_at=now,
        )
        return job_table([job])[1]

    def test_quickbooks_3140_message(self) -> None:
        message = (
            'There is an invalid reference to QuickBooks Customer "Pinecrest HOA" in the '
            "Invoice.  QuickBooks error message: Invalid argument."
        )
        row = self._row(message)
        assert row.endswith(
            "3140 There is an invalid reference to QuickBooks Customer... [QBWC-7F3K2Q]"
        )

    @given(st.text(alphabet=st.sampled_from("ab .\n"), max_size=150))
    def test_cut_at_a_word_reference_kept(self, message: str) -> None:
        from qbwc.cli._tables import ERROR_WIDTH

        row = self._row(message)
        assert row.endswith(" [QBWC-7F3K2Q]")
        shown = row[row.index("3140 ") + 5 : -len(" [QBWC-7F3K2Q]")]
        flat = " ".join(message.split())
        assert len(shown) <= ERROR_WIDTH
        if shown == flat:
            return
        assert shown.endswith("...")
        kept = shown[:-3]
        assert flat.startswith(kept)
        # After a whole word (or inside the first one when it alone is too long).
        assert flat[len(kept)] in " ,;:." or " " not in flat[: ERROR_WIDTH - 3]
