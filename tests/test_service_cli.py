"""The service commands: qbwc account, enqueue, jobs, serve."""

from __future__ import annotations

import io
import json
import threading
import urllib.request
from decimal import Decimal
from pathlib import Path

import pytest

from qbwc.cli import main
from qbwc.qwc import QWCConfig
from qbwc.store import SQLiteStore
from qbwc.testing import FakeQuickBooks, FakeWebConnector
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
            "rate": 150.5,
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
        assert "pw" not in (account.password_hash or "pw")

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
        assert "differs from the OwnerID stored" in capsys.readouterr().err

    def test_passwd_and_disconnect(
        self, db: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """passwd changes the password; disconnect unlinks (and can issue a new FileID)."""
        _add(db, monkeypatch)
        monkeypatch.setattr("sys.stdin", io.StringIO("new\n"))
        assert main(["account", "passwd", "kristy", "--password-stdin", "--db", db]) == 0
        assert main(["account", "disconnect", "kristy", "--new-file-id", "--db", db]) == 0
        assert "download the QWC file again" in capsys.readouterr().out


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

    def test_bad_json(self, db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """Bad JSON, a bad model or a missing file is reported in one line, exit non-zero."""
        bad = tmp_path / "bad.json"
        bad.write_text("{nope")
        assert main(["enqueue", str(bad), "--user", "u", "--db", db]) == 1
        assert "is not JSON" in capsys.readouterr().err
        bad.write_text(json.dumps({**INVOICE, "ref_number": "x" * 20}))
        assert main(["enqueue", str(bad), "--user", "u", "--db", db]) == 1
        assert "ref_number" in capsys.readouterr().err
        assert main(["enqueue", str(tmp_path / "missing.json"), "--user", "u", "--db", db]) == 2
        assert main(["jobs", "--db", db]) == 0
        assert "no jobs" in capsys.readouterr().out


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
