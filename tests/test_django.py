"""
``qbwc.django``: the documented example site's own tests, on PostgreSQL and on SQLite.

Django allows one settings module per process, so each case runs in a
subprocess: ``manage.py test`` of ``docs/examples/django`` (Django's test
runner and test client: the endpoint, WSDL, CSRF exemption, a whole sync
storing TxnIDs through the hooks, the management commands), ``manage.py
migrate`` + ``qbwc_db status``, and the settings errors a host can make.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.postgres import server_dsn

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "docs" / "examples" / "django"

pytest.importorskip("django")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "DJANGO_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(SITE), str(ROOT / "src")])
    env.update(extra)
    return env


def _postgres_env(name: str) -> dict[str, str]:
    from psycopg.conninfo import conninfo_to_dict

    params = conninfo_to_dict(server_dsn())
    env = {"PGDATABASE": name}
    for key, var in (("host", "PGHOST"), ("port", "PGPORT"), ("user", "PGUSER")):
        if params.get(key):
            env[var] = str(params[key])
    if params.get("password"):
        env["PGPASSWORD"] = str(params["password"])
    return _env(**env)


def _manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=SITE,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


class TestExampleSite:
    def test_postgresql(self) -> None:
        """The example site's tests pass on PostgreSQL (qbwc's tables made by ``migrate``)."""
        done = _manage(_postgres_env("qbwc_billing"), "test", "billing", "--noinput", "-v", "2")
        assert done.returncode == 0, done.stdout + done.stderr
        assert "Ran 5 tests" in done.stderr
        assert "Applying qbwc.0001_initial... OK" in done.stdout + done.stderr

    def test_sqlite(self, tmp_path: Path) -> None:
        """The same tests pass with the site on SQLite and qbwc in a SQLite file of its own."""
        env = _env(
            BILLING_DB="sqlite",
            BILLING_SQLITE=str(tmp_path / "billing.sqlite3"),
            QBWC_SQLITE=str(tmp_path / "qbwc.sqlite3"),
        )
        done = _manage(env, "test", "billing", "--noinput")
        assert done.returncode == 0, done.stdout + done.stderr
        assert "Ran 5 tests" in done.stderr

    def test_migrate_then_status(self) -> None:
        """``migrate`` installs qbwc's schema in the site's database; ``qbwc_db`` agrees."""
        from tests.postgres import create_database

        create_database("qbwc_billing_live")
        env = _postgres_env("qbwc_billing_live")
        before = _manage(env, "qbwc_db", "status")
        assert before.returncode == 1
        assert "no qbwc schema" in before.stdout
        migrated = _manage(env, "migrate", "--noinput")
        assert migrated.returncode == 0, migrated.stderr
        after = _manage(env, "qbwc_db", "status")
        assert after.returncode == 0, after.stderr
        assert "(current)" in after.stdout
        again = _manage(env, "qbwc_db", "upgrade")
        assert "nothing to do" in again.stdout
        added = subprocess.run(
            [sys.executable, "manage.py", "qbwc_account", "add", "kristy", "--password-stdin"],
            cwd=SITE,
            env=env,
            input="pw\n",
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert added.returncode == 0, added.stderr
        qwc = _manage(env, "qbwc_qwc", "kristy")
        assert qwc.returncode == 0, qwc.stderr
        assert "<AppURL>https://billing.example.com/qbwc/</AppURL>" in qwc.stdout
        missing = _manage(env, "qbwc_qwc", "nobody")
        assert missing.returncode == 1
        assert "no account 'nobody'" in missing.stderr
        assert "Traceback" not in missing.stderr


_CHECKS = textwrap.dedent(
    """
    import django
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    settings.configure(
        INSTALLED_APPS=["qbwc.django"],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        ALLOWED_HOSTS=["testserver"],
        SECRET_KEY="x",
        ROOT_URLCONF="qbwc.django.urls",
    )
    django.setup()
    from django.test import RequestFactory, override_settings

    from qbwc.django import get_service, reset_service, web_connector, web_connector_view
    from qbwc import WebConnectorService
    from qbwc._tables import account_table, job_table
    from qbwc.qbxml import InvoiceAdd, Ref
    from qbwc.store import MemoryStore

    def refused(config, text):
        with override_settings(QBWC=config):
            try:
                get_service()
            except ImproperlyConfigured as exc:
                assert text in str(exc), (text, str(exc))
            else:
                raise AssertionError(f"accepted {config!r}")

    refused(None, "settings.QBWC is missing")
    refused({"OWNER_ID": "x", "SQLITE_PATH": "q.sqlite"}, "is not a GUID")
    refused({"SQLITE_PATH": "q.sqlite"}, "OWNER_ID'] is required")
    refused({"OWNER_ID": "{6F6C2E1A-3B7D-4E2F-9A51-0C8D7B4E2F10}"}, "is sqlite, not PostgreSQL")
    with override_settings(QBWC={"OWNER_ID": "{6F6C2E1A-3B7D-4E2F-9A51-0C8D7B4E2F10}"}):
        from django.core.management import call_command
        from django.core.management.base import CommandError
        try:
            call_command("qbwc_db", "status")
        except CommandError as exc:
            assert "nothing to do" in str(exc), str(exc)
        else:
            raise AssertionError("qbwc_db on SQLite")
    refused({"OWNER_ID": "{6F6C2E1A-3B7D-4E2F-9A51-0C8D7B4E2F10}", "DATABASE": "other"},
            "no database 'other'")
    refused({"OWNER_ID": "x", "STORES": 1}, "unknown key(s) STORES")
    refused({"OWNER_ID": "{6F6C2E1A-3B7D-4E2F-9A51-0C8D7B4E2F10}", "STORE": lambda: 42},
            "not a qbwc store")

    memory = MemoryStore()
    config = {
        "OWNER_ID": "6F6C2E1A-3B7D-4E2F-9A51-0C8D7B4E2F10",
        "STORE": lambda: memory,
        "SERVICE": {"app_name": "Shop", "on_job_done": "builtins.print", "password_cost": 2},
    }
    with override_settings(QBWC=config):
        service = get_service()
        assert service is get_service()
        assert service.store is memory
        assert service.app_name == "Shop"
        assert service._on_job_done is print
        requests = RequestFactory()
        assert web_connector(requests.get("/", {"wsdl": ""})).status_code == 200
        too_big = requests.post("/", data=b"x" * 20, content_type="text/xml")
        too_big.META["CONTENT_LENGTH"] = str(service.max_body_bytes + 1)
        answer = web_connector(too_big)
        assert answer.status_code == 413, answer.status_code
        assert b"soap:Fault" in answer.content or b"Fault" in answer.content
    with override_settings(QBWC=config):
        import io
        get_service().add_account("kristy", "pw")
        out = io.StringIO()
        call_command("qbwc_account", "rename", "kristy", "kristy.new", stdout=out)
        assert "'kristy' is now 'kristy.new'" in out.getvalue(), out.getvalue()
        assert get_service().account("kristy.new") is not None
        get_service().enqueue("kristy.new", InvoiceAdd(customer_ref=Ref(full_name="Acme")))
        for command, lines in (
            (("qbwc_account", "list"), account_table(get_service().accounts())),
            (("qbwc_jobs",), job_table(get_service().jobs())),
        ):
            out = io.StringIO()
            call_command(*command, stdout=out)
            assert out.getvalue() == "".join(line + "\\n" for line in lines), out.getvalue()
        try:
            call_command("qbwc_account", "rename", "kristy", "x")
        except CommandError as exc:
            assert str(exc) == "old: no account 'kristy'", str(exc)
        else:
            raise AssertionError("renamed an unknown account")
    reset_service()
    with override_settings(QBWC=dict(config, SERVICE={"app_name": "Other"})):
        assert get_service().app_name == "Other"  # the setting change rebuilt it

    own = WebConnectorService(store=MemoryStore(), owner_id="6F6C2E1A-3B7D-4E2F-9A51-0C8D7B4E2F10")
    view = web_connector_view(own)
    reply = view(RequestFactory().put("/"))
    assert reply.status_code == 405
    assert web_connector_view(lambda: own)(RequestFactory().get("/?wsdl")).status_code == 200

    # A chunked body (no Content-Length): read when the server ends the input, else 411.
    from django.core.handlers.asgi import ASGIRequest
    from qbwc._events import ServerVersionCall
    from qbwc._soap import encode_call
    call = encode_call(ServerVersionCall())
    chunked = RequestFactory().generic("POST", "/", data=b"", content_type="text/xml")
    chunked.META.pop("CONTENT_LENGTH", None)
    chunked.environ["wsgi.input"] = io.BytesIO(call)
    chunked.environ["wsgi.input_terminated"] = True
    answer = view(chunked)
    assert answer.status_code == 200 and b"serverVersionResult" in answer.content, answer.content
    unknown = RequestFactory().generic("POST", "/", data=b"", content_type="text/xml")
    unknown.META.pop("CONTENT_LENGTH", None)
    unknown.environ["wsgi.input"] = io.BytesIO(call)
    answer = view(unknown)
    assert answer.status_code == 411 and b"soap:Client" in answer.content, answer.content
    scope = {"type": "http", "method": "POST", "path": "/", "query_string": b"",
             "headers": [(b"host", b"testserver"), (b"transfer-encoding", b"chunked")]}
    answer = view(ASGIRequest(scope, io.BytesIO(call)))
    assert answer.status_code == 200 and b"serverVersionResult" in answer.content, answer.content

    # A markup flood: a fault naming the limit, from the first 64 KiB.
    envelope = b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
    flood = envelope + b"<e/>" * 100_000 + b"</soap:Body></soap:Envelope>"
    answer = view(RequestFactory().post("/", data=flood, content_type="text/xml"))
    assert answer.status_code == 500 and b"more than 256 elements" in answer.content

    # The WSDL's address: never a forged Host; public_url when given.
    with override_settings(ALLOWED_HOSTS=["*"]):
        for host in ("evil.example/x", "evil.example:99999", "a b", "[::1", "evil.example:0"):
            answer = view(RequestFactory().get("/?wsdl", HTTP_HOST=host))
            assert answer.status_code == 200, (host, answer.status_code)
            assert b'location="https://localhost/qbwc"' in answer.content, host
        answer = view(RequestFactory().get("/qbwc/?wsdl", HTTP_HOST="billing.example.com:8443"))
        assert b'location="http://billing.example.com:8443/qbwc/"' in answer.content
    answer = view(RequestFactory().get("/?wsdl", HTTP_HOST="not-allowed.example"))
    assert b'location="https://localhost/qbwc"' in answer.content
    public = WebConnectorService(store=MemoryStore(), owner_id=own.owner_id,
                                 public_url="https://books.example.com/qbwc")
    answer = web_connector_view(public)(RequestFactory().get("/?wsdl"))
    assert b'location="https://books.example.com/qbwc"' in answer.content
    print("ALL OK")
    """
)


_DJANGO_STORE = textwrap.dedent(
    """
    import inspect, os, uuid
    import datetime as dt
    import django
    from django.conf import settings

    settings.configure(
        INSTALLED_APPS=["qbwc.django"],
        DATABASES={"default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": os.environ["PGDATABASE"], "HOST": os.environ.get("PGHOST", ""),
            "PORT": os.environ.get("PGPORT", ""), "USER": os.environ.get("PGUSER", ""),
            "PASSWORD": os.environ.get("PGPASSWORD", ""),
        }},
        QBWC={"OWNER_ID": str(uuid.uuid4()), "DATABASE": "default"},
        USE_TZ=True,
    )
    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    from qbwc.django._store import DjangoStore
    from qbwc.store import StoreError
    import tests.test_store_contract as contract

    try:
        DjangoStore()
    except StoreError as exc:
        assert "no qbwc schema" in str(exc) and "manage.py migrate" in str(exc), str(exc)
    else:
        raise AssertionError("a store without a schema")
    call_command("migrate", verbosity=0)

    def empty():
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE qbwc_accounts, qbwc_jobs, qbwc_sessions, qbwc_in_flight, "
                           "qbwc_settings RESTART IDENTITY")

    ran = []
    for cls in (contract.TestAccounts, contract.TestJobs, contract.TestSessions,
                contract.TestInFlight, contract.TestSettings, contract.TestTransactions,
                contract.TestRenameAccount):
        for name, test in inspect.getmembers(cls, inspect.isfunction):
            if name.startswith("test_") and list(inspect.signature(test).parameters) == [
                "self", "store"
            ]:
                empty()
                test(cls(), DjangoStore())
                ran.append(name)
    assert len(ran) >= 13, ran

    # A job written in the host's transaction goes away with it.
    empty()
    store = DjangoStore()
    try:
        with transaction.atomic():
            with store.transaction() as tx:
                tx.add_job(username="u", key="k", request="{}", request_type="InvoiceAdd",
                           min_version="13.0", now=dt.datetime.now(dt.UTC))
            raise KeyError("host failed")
    except KeyError:
        pass
    with store.transaction() as tx:
        assert tx.list_jobs() == ()
    print("CONTRACT", len(ran))
    """
)


class TestDjangoStore:
    def test_contract_scenarios_on_djangos_connection(self) -> None:
        """The contract scenarios pass on Django's connection; the host's rollback takes the job."""
        from tests.postgres import create_database

        create_database("qbwc_django_store")
        env = _postgres_env("qbwc_django_store")
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "src")])
        done = subprocess.run(
            [sys.executable, "-c", _DJANGO_STORE],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "CONTRACT" in done.stdout


class TestSettings:
    def test_settings_errors_and_views(self, tmp_path: Path) -> None:
        """Each settings mistake is an ImproperlyConfigured naming the key; views obey settings."""
        done = subprocess.run(
            [sys.executable, "-c", _CHECKS],
            cwd=tmp_path,
            env=_env(),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "ALL OK" in done.stdout
