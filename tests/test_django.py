"""
``qbwc.django``: the documented example site's own tests, on PostgreSQL and on SQLite.

Django allows one settings module per process, so each case runs in a
subprocess: ``manage.py test`` of ``docs/examples/django`` (Django's test
runner and test client: the endpoint, WSDL, CSRF exemption, a whole sync
storing TxnIDs through the hooks, the management commands), ``manage.py
migrate`` + ``qbwc_db status``, a version-1, -2 or -3 database in use upgraded
by ``manage.py migrate``, and the settings errors a host can make.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

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
        assert "Applying qbwc.0002_login_verifiers... OK" in done.stdout + done.stderr
        assert "Applying qbwc.0003_any_request... OK" in done.stdout + done.stderr
        assert "Applying qbwc.0005_linkages_and_pulls... OK" in done.stdout + done.stderr

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

    OWNER = "{6F6C2E1A-3B7D-4E2F-9A51-0C8D7B4E2F10}"

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
    from django.core.management import call_command
    from django.core.management.base import CommandError
    import io
    for action in ("status", "upgrade"):  # a deploy script runs them whatever the store
        with override_settings(QBWC={"OWNER_ID": OWNER, "SQLITE_PATH": "q.sqlite"}):
            out = io.StringIO()
            call_command("qbwc_db", action, stdout=out)  # exit 0
            assert "nothing to do" in out.getvalue(), out.getvalue()

    from qbwc.django.checks import check_settings
    def errors(config):
        with override_settings(QBWC=config):
            return [(e.id, e.msg) for e in check_settings()]
    assert errors({"OWNER_ID": OWNER, "SQLITE_PATH": "q.sqlite"}) == []
    assert errors({"OWNER_ID": OWNER, "STORE": "qbwc.store.MemoryStore"}) == []
    assert [i for i, _ in errors(None)] == ["qbwc.E001"]
    assert [i for i, _ in errors({"OWNER_ID": OWNER, "STORES": 1})] == ["qbwc.E001"]
    assert [i for i, _ in errors({"SQLITE_PATH": "q.sqlite"})] == ["qbwc.E002"]
    assert [i for i, _ in errors({"OWNER_ID": "x", "SQLITE_PATH": "q"})] == ["qbwc.E002"]
    # "DATABASE": "default" on a SQLite site (said, or implied): an error before anything runs.
    for config in ({"OWNER_ID": OWNER, "DATABASE": "default"}, {"OWNER_ID": OWNER}):
        found = errors(config)
        assert [i for i, _ in found] == ["qbwc.E003"], found
        assert "is sqlite, not PostgreSQL" in found[0][1], found
    assert [i for i, _ in errors({"OWNER_ID": OWNER, "DATABASE": "other"})] == ["qbwc.E003"]
    with override_settings(QBWC={"OWNER_ID": OWNER, "DATABASE": "default"}):
        from django.core.management import call_command
        from django.core.management.base import SystemCheckError
        try:
            call_command("check")
        except SystemCheckError as exc:
            assert "qbwc.E003" in str(exc), str(exc)
        else:
            raise AssertionError("manage.py check passed DATABASE on SQLite")

    # A bug (an exception qbwc did not mean) is one line too, with how to report it.
    class Broken:
        def transaction(self):
            raise RuntimeError("disk on fire")
        def close(self):
            pass
    with override_settings(QBWC={"OWNER_ID": OWNER, "STORE": Broken}):
        try:
            call_command("qbwc_account", "list")
        except CommandError as exc:
            assert str(exc).startswith("unexpected error: RuntimeError: disk on fire;"), str(exc)
            assert "--traceback" in str(exc)
        else:
            raise AssertionError("a broken store passed")

    # The store keeps the OwnerID: settings with another one refuse to start, in one line.
    first = {"OWNER_ID": OWNER, "SQLITE_PATH": "owned.sqlite"}
    with override_settings(QBWC=first):
        get_service()
    other = "{11111111-2222-4333-8444-555555555555}"
    with override_settings(QBWC=dict(first, OWNER_ID=other)):
        try:
            call_command("qbwc_account", "list")
        except CommandError as exc:
            assert f"{other} differs from the OwnerID" in str(exc), str(exc)
            assert OWNER in str(exc), str(exc)
        else:
            raise AssertionError("a second OwnerID on the same store")
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
            (("qbwc_jobs",), job_table(get_service().jobs(), {"kristy.new"})),
            (("qbwc_jobs", "list"), job_table(get_service().jobs(), {"kristy.new"})),
        ):
            out = io.StringIO()
            call_command(*command, stdout=out)
            assert out.getvalue() == "".join(line + "\\n" for line in lines), out.getvalue()
        # The actions of qbwc jobs, and --retry ID as before.
        for command, text in (
            (("qbwc_jobs", "cancel", "1"), "job 1 cancelled"),
            (("qbwc_jobs", "prune", "--older-than", "0s"), "deleted 1 finished job older than 0s"),
        ):
            out = io.StringIO()
            call_command(*command, stdout=out)
            assert text in out.getvalue(), out.getvalue()
        assert get_service().job("1") is None
        for command, text in (
            (("qbwc_jobs", "--retry", "99"), "job_id: no job 99"),
            (("qbwc_jobs", "retry", "99"), "job_id: no job 99"),
            (("qbwc_jobs", "cancel"), "cancel needs a JOB_ID"),
            (("qbwc_jobs", "prune"), "prune needs --older-than AGE"),
            (("qbwc_jobs", "prune", "--older-than", "soon"), "older_than: 'soon' is not an age"),
            (("qbwc_jobs", "--limit", "0"), "limit: must be an int from 1 to 10,000"),
            (("qbwc_jobs", "--user", "x" * 256), "username: is 256 characters; at most 255"),
        ):
            try:
                call_command(*command)
            except CommandError as exc:
                assert text in str(exc), (command, str(exc))
            else:
                raise AssertionError(f"accepted {command!r}")
        for name in (" padded", "k" * 256, "a\\x00b"):
            try:
                call_command("qbwc_account", "add", name, password_stdin=True,
                             stdin=io.StringIO("pw\\n"))
            except CommandError as exc:
                assert str(exc).startswith("username: "), str(exc)
            else:
                raise AssertionError(f"added {name!r}")
        # A write in flight at the disconnect: the command lists it (failed as unconfirmed).
        import datetime as dt
        import attrs
        import uuid
        from qbwc.store import InFlight, Link
        job = get_service().enqueue("kristy.new", InvoiceAdd(customer_ref=Ref(full_name="Acme 2")))
        with memory.transaction() as tx:
            tx.put_link(Link(username="kristy.new", key="p-1", type="Customer", list_id="8-1",
                             file_id=uuid.uuid4(), seen_at=dt.datetime.now(dt.timezone.utc)))
            tx.put_job(attrs.evolve(job, status="sent"))
            tx.put_in_flight(InFlight(username="kristy.new", message_set_id="m1",
                                      job_ids=(job.id,), version="13.0", ticket="t",
                                      sent_at=dt.datetime.now(dt.timezone.utc)))
        out = io.StringIO()
        call_command("qbwc_account", "disconnect", "kristy.new", stdout=out)
        assert "1 job(s) were in flight with the old company file" in out.getvalue(), out.getvalue()
        assert "removed 1 linkage(s) and 0 delivered-change mark(s); reset 0 pull cursor(s)" in (
            out.getvalue()), out.getvalue()
        assert get_service().job(job.id).error.code == "unconfirmed"
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
                           "qbwc_settings, qbwc_login_verifiers, qbwc_links, qbwc_follows, "
                           "qbwc_pull_marks RESTART IDENTITY")

    ran = []
    for cls in (contract.TestAccounts, contract.TestJobs, contract.TestSessions,
                contract.TestInFlight, contract.TestSettings, contract.TestTransactions,
                contract.TestRenameAccount, contract.TestLoginVerifiers, contract.TestLinks,
                contract.TestFollows, contract.TestPullMarks):
        for name, test in inspect.getmembers(cls, inspect.isfunction):
            if name.startswith("test_") and list(inspect.signature(test).parameters) == [
                "self", "store"
            ]:
                empty()
                test(cls(), DjangoStore())
                ran.append(name)
    assert len(ran) >= 23, ran

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


_UPGRADE_IN_USE = textwrap.dedent(
    """
    import os, subprocess, sys

    import django

    django.setup()  # DJANGO_SETTINGS_MODULE=billing_site.settings: the example site
    import psycopg
    from django.conf import settings
    from django.db import connections
    from django.test import override_settings

    from qbwc.django import get_service
    from qbwc.django._conf import store_from_settings
    from qbwc.store import StoreError
    from tests.rig import OWNER
    from tests.schema_in_use import down_to, finish, in_use, pg_columns

    version = int(sys.argv[1])
    rig, ids = in_use(store_from_settings())  # on Django's connection, as the site runs it
    rig.store.close()
    connections.close_all()
    with psycopg.connect("") as conn:  # the PG* variables: the site's database
        for statement in down_to(version):
            conn.execute(statement.format(p="qbwc_"))
    with psycopg.connect(dbname=os.environ["MADE_BY"]) as made, psycopg.connect("") as conn:
        assert pg_columns(conn) == pg_columns(made)  # exactly the old layout
    try:
        store_from_settings()
    except StoreError as exc:
        assert "manage.py migrate" in str(exc), exc
    else:
        raise AssertionError("a version-%d schema was used" % version)

    migrated = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        capture_output=True, text=True, timeout=120, check=False,
    )
    print(migrated.stdout, migrated.stderr)
    assert migrated.returncode == 0
    with psycopg.connect("") as conn:
        assert conn.execute("SELECT version FROM qbwc_schema_version").fetchall() == [(4,)]

    # The service qbwc.django builds from settings.QBWC (store, app name, batch size,
    # hooks), with the OwnerID the rig's QuickBooks knows and the rig's clock.
    qbwc = dict(settings.QBWC, OWNER_ID=str(OWNER))
    qbwc["SERVICE"] = dict(qbwc["SERVICE"], clock=rig.clock)
    with override_settings(QBWC=qbwc):
        service = get_service()
        assert type(service.store).__name__ == "DjangoStore"
        finish(rig, ids, service=service)
    print("FINISHED", version)
    """
)


class TestSchemaUpgrade:
    @pytest.mark.parametrize(
        ("version", "migrated"),
        [(1, "0001_initial"), (2, "0002_login_verifiers"), (3, "0004_admin_models")],
    )
    def test_database_in_use_upgraded_by_migrate(self, version: int, migrated: str) -> None:
        """
        A version-*version* site's database in use, upgraded by ``manage.py migrate``.

        The example site's database is migrated to *migrated*, used by qbwc until it
        holds a linked account, done and pending jobs and a set in flight whose answer
        was lost, and taken back to the version's layout (tests/schema_in_use.py); then
        ``manage.py migrate`` upgrades it and the service Django configures finishes
        the sync: every invoice written once, ``after=`` working.
        """
        import psycopg

        from qbwc.store import postgres_migrations
        from tests.postgres import create_database

        name = f"qbwc_billing_v{version}"
        create_database(name)
        with psycopg.connect(create_database(f"{name}_made_by")) as conn:
            for statement in postgres_migrations()[: -len(postgres_migrations(version))]:
                conn.execute(statement)  # what a version-N qbwc makes
        env = _postgres_env(name)
        old = _manage(env, "migrate", "qbwc", migrated, "--noinput")
        assert old.returncode == 0, old.stdout + old.stderr
        assert f"Applying qbwc.{migrated}... OK" in old.stdout
        assert "0005_linkages_and_pulls" not in old.stdout

        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(SITE), str(ROOT / "src")])
        env["DJANGO_SETTINGS_MODULE"] = "billing_site.settings"
        env["MADE_BY"] = f"{name}_made_by"
        done = subprocess.run(
            [sys.executable, "-c", _UPGRADE_IN_USE, str(version)],
            cwd=SITE,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "Applying qbwc.0005_linkages_and_pulls... OK" in done.stdout
        if version <= 2:
            assert "Applying qbwc.0003_any_request... OK" in done.stdout
        if version == 1:
            assert "Applying qbwc.0002_login_verifiers... OK" in done.stdout
        assert f"FINISHED {version}" in done.stdout


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


_QUERY = textwrap.dedent(
    """
    import io, json
    import django
    from django.conf import settings

    settings.configure(INSTALLED_APPS=["qbwc.django"], SECRET_KEY="x", QBWC={
        "OWNER_ID": "{6F6C2E1A-3B7D-4E2F-9A51-0C8D7B4E2F10}",
        "STORE": "qbwc.store.MemoryStore",
        "SERVICE": {"password_cost": 2},
    })
    django.setup()
    from django.core.management import call_command
    from django.core.management.base import CommandError

    from qbwc._query_cli import result_lines
    from qbwc.django import get_service
    from qbwc.testing import FakeQuickBooks, FakeWebConnector

    def command(*args, **kwargs):
        out, err = io.StringIO(), io.StringIO()
        call_command(*args, stdout=out, stderr=err, **kwargs)
        return out.getvalue(), err.getvalue()

    def refused(args, text):
        try:
            command(*args)
        except CommandError as exc:
            assert text in str(exc), (args, str(exc))
            assert "Traceback" not in str(exc)
        else:
            raise AssertionError(f"accepted {args!r}")

    service = get_service()
    service.add_account("kristy", "pw")
    with open("customer.json", "w") as f:
        json.dump({"type": "CustomerAdd", "name": "New Corp"}, f)
    with open("query.json", "w") as f:
        json.dump({"type": "CustomerQuery"}, f)
    out, _ = command("qbwc_enqueue", "customer.json", "--user", "kristy")
    assert out == "job 1: CustomerAdd for 'kristy', pending\\n", out
    query = ("qbwc_query", "query.json", "--user", "kristy", "--key", "all", "--page-size", "4")
    out, err = command(*query)
    assert out == "", out
    assert "job 2 (CustomerQuery for 'kristy') is queued" in err, err
    assert "manage.py qbwc_jobs results 2" in err, err
    refused(("qbwc_jobs", "results", "2"), "job 2 (CustomerQuery) is pending, 0 records so far")

    quickbooks = FakeQuickBooks.sample()
    web_connector = FakeWebConnector(service, quickbooks)
    web_connector.add_application(
        service.qwc("kristy", app_url="https://localhost/q", app_support="https://localhost/"),
        password="pw",
    )
    assert web_connector.run_session().completed
    assert service.job("2").status == "done"
    table = list(result_lines(service.query_results("2"), "table"))
    assert len(table) == 1 + len(quickbooks.records("Customer")), table
    assert any("New Corp" in line for line in table), table
    out, _ = command(*query)  # found by its key: printed, not queued again
    assert out == "".join(line + "\\n" for line in table), out
    out, _ = command("qbwc_jobs", "results", "2")
    assert out == "".join(line + "\\n" for line in table), out
    out, _ = command("qbwc_jobs", "results", "2", "--format", "jsonl")
    jsonl = list(result_lines(service.query_results("2"), "jsonl"))
    assert out == "".join(line + "\\n" for line in jsonl), out
    out, _ = command("qbwc_jobs")
    assert "records, " in out and "pages" in out, out

    refused(("qbwc_query", "customer.json", "--user", "kristy"), "file: customer.json holds")
    refused(("qbwc_query", "missing.json", "--user", "kristy"), "file: cannot read missing.json")
    refused(("qbwc_query", "query.json", "--user", "kristy", "--wait", "-1"), "wait: -1")
    refused(("qbwc_query", "query.json", "--user", "nobody"), "username: no account 'nobody'")
    refused(("qbwc_query", "query.json", "--user", "kristy", "--key", "all"),
            "key: 'all' is already used by job 2")
    refused(("qbwc_enqueue", "customer.json", "--user", "kristy", "--page-size", "3"),
            "page_size: only a query is paged")
    refused(("qbwc_jobs", "results", "1"), "job_id: job 1 is a CustomerAdd, not a query")
    refused(("qbwc_jobs", "results", "99"), "job_id: no job 99")
    refused(("qbwc_jobs", "results"), "results needs a JOB_ID")
    refused(("qbwc_jobs", "list", "--format", "jsonl"), "--format is for results")
    print("QUERY OK")
    """
)


def test_manage_py_query_enqueue_and_results(tmp_path: Path) -> None:
    """manage.py qbwc_enqueue, qbwc_query (a sync between) and qbwc_jobs results, as qbwc's."""
    done = subprocess.run(
        [sys.executable, "-c", _QUERY],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "QUERY OK" in done.stdout


_VOCABULARY = textwrap.dedent(
    """
    import argparse, json
    import django
    from django.conf import settings

    settings.configure(INSTALLED_APPS=["qbwc.django"], SECRET_KEY="x")
    django.setup()
    from django.core.management import load_command_class
    from django.core.management.base import BaseCommand

    base = {o for a in BaseCommand().create_parser("manage.py", "x")._actions
            for o in a.option_strings}

    def shape(parser, top):
        actions = {}
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                seen = set()
                for name, sub in action.choices.items():
                    if id(sub) not in seen:
                        seen.add(id(sub))
                        actions[name] = shape(sub, False)["options"]
            elif not action.option_strings and action.choices:
                actions.update({name: [] for name in action.choices})
        options = sorted(o for a in parser._actions for o in a.option_strings
                         if o.startswith("--") and o != "--help" and not (top and o in base))
        return {"actions": actions, "options": options}

    found = {}
    for name in ("qbwc_account", "qbwc_jobs", "qbwc_db", "qbwc_qwc", "qbwc_enqueue", "qbwc_query"):
        command = load_command_class("qbwc.django", name)
        found[name] = shape(command.create_parser("manage.py", name), True)
    print(json.dumps(found))
    """
)

#: manage.py command -> the qbwc command with the same actions and options.
_TWINS = {
    "qbwc_account": ("account",),
    "qbwc_jobs": ("jobs",),
    "qbwc_db": ("db",),
    "qbwc_qwc": ("account", "qwc"),
    "qbwc_enqueue": ("enqueue",),
    "qbwc_query": ("query",),
}
#: Actions only the command line has: Django hosts run their migrations with migrate.
_CLI_ONLY = {"qbwc_db": {"sql"}}
#: Options only manage.py keeps, for scripts written before the actions (``retry`` now).
_DJANGO_LEGACY = {"qbwc_jobs": {"--retry"}}


def _cli_shape(path: tuple[str, ...]) -> dict[str, Any]:
    import argparse

    from qbwc.cli import build_parser

    parser = build_parser()
    for name in path:
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = sub.choices[name]

    def options(p: argparse.ArgumentParser) -> set[str]:
        return {o for a in p._actions for o in a.option_strings if o.startswith("--")} - {"--help"}

    actions: dict[str, set[str]] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            seen: set[int] = set()
            for name, sub in action.choices.items():
                if id(sub) not in seen:
                    seen.add(id(sub))
                    actions[name] = options(sub)
    return {"actions": actions, "options": options(parser)}


def test_cli_and_django_speak_one_vocabulary() -> None:
    """qbwc account|jobs|db|enqueue|query and their manage.py qbwc_* twins: the same actions."""
    import json

    done = subprocess.run(
        [sys.executable, "-c", _VOCABULARY],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    django_side = json.loads(done.stdout)
    for command, path in _TWINS.items():
        cli = _cli_shape(path)
        ours = django_side[command]
        assert set(ours["actions"]) == set(cli["actions"]) - _CLI_ONLY.get(command, set()), command
        for action, options in ours["actions"].items():
            # The store options (--db, --dsn, --owner-id) are the command line's own:
            # Django takes them from settings.QBWC.
            assert set(options) <= cli["actions"][action], (command, action)
        # manage.py commands take an action's options beside the action's name.
        everywhere = cli["options"].union(*cli["actions"].values())
        assert set(ours["options"]) - _DJANGO_LEGACY.get(command, set()) <= everywhere, command
