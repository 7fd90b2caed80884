"""
``qbwc.django.admin``: read-only pages for accounts and jobs, and the retry / cancel actions.

Each case runs a Django site in a subprocess (one settings module per process),
with Django's test client against the real admin: on PostgreSQL (qbwc's tables
in the site's database, filled by a real sync through the fake Web Connector and
QuickBooks), and on SQLite with qbwc in a file of its own (the pages are hidden).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.test_django import _env, _postgres_env

ROOT = Path(__file__).resolve().parents[1]

pytest.importorskip("django")

_SETTINGS = """
import os, uuid
import django
from django.conf import settings

if os.environ.get("QBWC_SQLITE"):
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
    STORE = {"SQLITE_PATH": os.environ["QBWC_SQLITE"]}
else:
    DATABASES = {"default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ["PGDATABASE"], "HOST": os.environ.get("PGHOST", ""),
        "PORT": os.environ.get("PGPORT", ""), "USER": os.environ.get("PGUSER", ""),
        "PASSWORD": os.environ.get("PGPASSWORD", ""),
    }}
    STORE = {"DATABASE": "default"}
settings.configure(
    INSTALLED_APPS=[
        "django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes",
        "django.contrib.sessions", "django.contrib.messages", "qbwc.django",
    ],
    MIDDLEWARE=[
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.common.CommonMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "django.contrib.messages.middleware.MessageMiddleware",
    ],
    TEMPLATES=[{
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": [
            "django.template.context_processors.request",
            "django.contrib.auth.context_processors.auth",
            "django.contrib.messages.context_processors.messages",
        ]},
    }],
    DATABASES=DATABASES,
    QBWC={"OWNER_ID": str(uuid.uuid4()), **STORE, "SERVICE": {"password_cost": 2}},
    ROOT_URLCONF="__main__",
    ALLOWED_HOSTS=["testserver"],
    SECRET_KEY="admin-test",
    USE_TZ=True,
    DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
    PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
)
django.setup()
from django.contrib import admin
from django.contrib.auth.models import Permission, User
from django.core.management import call_command
from django.test import Client
from django.test.utils import setup_test_environment
from django.urls import path

urlpatterns = [path("admin/", admin.site.urls)]
setup_test_environment()
call_command("migrate", verbosity=0)
superuser = User.objects.create_superuser("support", "support@example.com", "pw")
client = Client()
client.force_login(superuser)
"""

_POSTGRES = textwrap.dedent(
    """
    import attrs
    from decimal import Decimal

    from qbwc.django import get_service
    from qbwc.qbxml import InvoiceAdd, InvoiceLineAdd, Ref
    from qbwc.testing import FakeQuickBooks, FakeWebConnector

    call_command("makemigrations", "qbwc", "--check", "--dry-run", verbosity=0)

    # Two accounts; a real sync makes jobs done and failed, then more are queued.
    service = get_service()
    qb = FakeQuickBooks()
    qb.add_customer("Acme Corp")
    qb.add_item("Framing", price="85.00")
    wc = FakeWebConnector(service, qb)
    for user in ("kristy", "sam"):
        service.add_account(user, password="pw")
    wc.add_application(service.qwc("kristy", app_url="https://localhost/qbwc",
                                   app_support="https://localhost/help"), password="pw")

    def invoice(customer, number):
        return InvoiceAdd(customer_ref=Ref(full_name=customer), ref_number=number,
                          lines=[InvoiceLineAdd(item_ref=Ref(full_name="Framing"),
                                                quantity=Decimal(2))])

    done = service.enqueue("kristy", invoice("Acme Corp", "1"), key="done")
    bad1 = service.enqueue("kristy", invoice("Nobody Ltd", "2"), key="bad-1")
    bad2 = service.enqueue("kristy", invoice("Nobody Ltd", "3"), key="bad-2")
    wc.sync()
    pending1 = service.enqueue("sam", invoice("Acme Corp", "4"), key="pending-1")
    pending2 = service.enqueue("sam", invoice("Acme Corp", "5"), key="pending-2")
    statuses = {j.key: j.status for j in service.jobs(limit=100)}
    assert statuses == {"done": "done", "bad-1": "failed", "bad-2": "failed",
                        "pending-1": "pending", "pending-2": "pending"}, statuses

    def listed(url):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        return sorted(str(job.id) for job in response.context["cl"].result_list)

    # The pages render.
    index = client.get("/admin/")
    assert index.status_code == 200
    text = index.content.decode()
    assert "Web Connector accounts" in text and "Web Connector jobs" in text, text
    accounts = client.get("/admin/qbwc/account/")
    assert accounts.status_code == 200
    assert [a.username for a in accounts.context["cl"].result_list] == ["kristy", "sam"]
    assert "/admin/qbwc/job/?username=kristy" in accounts.content.decode()
    everything = sorted(j.id for j in (done, bad1, bad2, pending1, pending2))
    assert listed("/admin/qbwc/job/") == everything

    # Filters: by status, by account, both.
    assert listed("/admin/qbwc/job/?status__exact=failed") == sorted([bad1.id, bad2.id])
    assert listed("/admin/qbwc/job/?status__exact=pending") == sorted([pending1.id, pending2.id])
    assert listed("/admin/qbwc/job/?username=sam") == sorted([pending1.id, pending2.id])
    assert listed("/admin/qbwc/job/?username=kristy&status__exact=done") == [done.id]
    # Search by the support reference a customer quotes.
    reference = service.job(bad2.id).error.reference
    assert listed(f"/admin/qbwc/job/?q={reference}") == [bad2.id]
    filters = client.get("/admin/qbwc/job/").content.decode()
    assert "By status" in filters and "By account" in filters

    # The detail pages show the job and the account, and offer no way to change them.
    failed_page = client.get(f"/admin/qbwc/job/{bad1.id}/change/")
    assert failed_page.status_code == 200
    page = failed_page.content.decode()
    assert service.job(bad1.id).error.message.split("\\"")[0] in page
    assert 'name="_save"' not in page and "deletelink" not in page
    account_page = client.get("/admin/qbwc/account/kristy/change/")
    assert account_page.status_code == 200
    assert "scrypt$" not in account_page.content.decode()

    # Nothing can be added, edited or deleted.
    before = {j.id: j for j in service.jobs(limit=100)}
    for method, url in [
        ("get", "/admin/qbwc/job/add/"),
        ("post", "/admin/qbwc/job/add/"),
        ("post", f"/admin/qbwc/job/{bad1.id}/change/"),
        ("get", f"/admin/qbwc/job/{bad1.id}/delete/"),
        ("post", f"/admin/qbwc/job/{bad1.id}/delete/"),
        ("get", "/admin/qbwc/account/add/"),
        ("post", "/admin/qbwc/account/kristy/change/"),
        ("post", "/admin/qbwc/account/kristy/delete/"),
    ]:
        response = getattr(client, method)(url, {"status": "done", "post": "yes"})
        assert response.status_code == 403, (method, url, response.status_code)
    deleted = client.post("/admin/qbwc/job/", {"action": "delete_selected",
                                               "_selected_action": [bad1.id], "post": "yes"})
    assert {j.id: j for j in service.jobs(limit=100)} == before
    assert [a.username for a in service.accounts()] == ["kristy", "sam"]
    assert b"Add Web Connector job" not in client.get("/admin/qbwc/job/").content

    def act(action, *ids, user=client):
        response = user.post("/admin/qbwc/job/", {"action": action, "_selected_action": ids},
                             follow=True)
        assert response.status_code == 200, response.status_code
        return [str(m) for m in response.context["messages"]]

    def same(a, b):
        # Twins differ in id, key, request, times, and each failure's support reference.
        skip = ("id", "key", "request", "qbxml", "created_at", "updated_at", "response")
        def fields(job):
            found = {k: v for k, v in attrs.asdict(job).items() if k not in skip}
            if found["error"]:
                found["error"]["reference"] = None
            return found
        assert a.updated_at > a.created_at and b.updated_at > b.created_at
        return fields(a) == fields(b)

    # Retry: the admin's job ends as service.retry leaves its twin.
    assert act("retry_jobs", bad1.id) == [f"1 job requeued: {bad1.id}"]
    a, b = service.job(bad1.id), service.retry(bad2.id)
    assert same(a, b), (a, b)
    assert service.job(bad1.id).status == "pending"
    # Cancel: likewise with service.cancel.
    assert act("cancel_jobs", pending1.id) == [f"1 job cancelled: {pending1.id}"]
    assert same(service.job(pending1.id), service.cancel(pending2.id))
    assert service.job(pending1.id).status == "cancelled"

    # What the service refuses is a message (its ConfigurationError), not a 500; the rest acts.
    snapshot = service.job(done.id)
    messages = act("retry_jobs", done.id)
    assert messages == [f"job_id: job {done.id} is done, not failed"], messages
    messages = act("cancel_jobs", done.id, bad1.id)
    assert messages == [
        f"job_id: job {done.id} is already done; only a pending job can be cancelled",
        f"1 job cancelled: {bad1.id}",
    ], messages
    assert service.job(done.id) == snapshot
    assert service.job(bad1.id).status == "cancelled"

    # A viewer may look but not act; the change_job permission grants the actions.
    viewer = User.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_job"),
                                Permission.objects.get(codename="view_account"))
    as_viewer = Client()
    as_viewer.force_login(viewer)
    assert as_viewer.get("/admin/qbwc/job/").status_code == 200
    assert as_viewer.get("/admin/qbwc/account/").status_code == 200
    extra = service.enqueue("sam", invoice("Acme Corp", "6"), key="pending-3")
    refused = as_viewer.post("/admin/qbwc/job/",
                             {"action": "cancel_jobs", "_selected_action": [extra.id]})
    assert refused.status_code in (200, 302)
    assert service.job(extra.id).status == "pending"
    assert "cancel_jobs" not in as_viewer.get("/admin/qbwc/job/").content.decode()
    viewer.user_permissions.add(Permission.objects.get(codename="change_job"))
    as_viewer = Client()
    as_viewer.force_login(User.objects.get(username="viewer"))
    assert act("cancel_jobs", extra.id, user=as_viewer) == [f"1 job cancelled: {extra.id}"]
    assert as_viewer.post(f"/admin/qbwc/job/{extra.id}/change/", {}).status_code == 403

    # A sync holding the account past the store's lock timeout: a message, the job unchanged.
    import psycopg
    last = service.enqueue("sam", invoice("Acme Corp", "7"), key="pending-4")
    with psycopg.connect("") as sync:  # the PG* variables name the database
        sync.execute("SELECT 1 FROM qbwc_accounts WHERE username = 'sam' FOR UPDATE")
        messages = act("cancel_jobs", last.id)
    assert len(messages) == 1 and messages[0].startswith(f"job {last.id} was not changed: ")
    assert "another worker held the account too long; try again" in messages[0], messages
    assert service.job(last.id) == last
    print("ADMIN OK")
    """
)

_SQLITE = textwrap.dedent(
    """
    from qbwc.django import get_service

    get_service().add_account("kristy", password="pw")
    index = client.get("/admin/")
    assert index.status_code == 200
    assert "Web Connector" not in index.content.decode()
    for url in ("/admin/qbwc/job/", "/admin/qbwc/account/", "/admin/qbwc/account/kristy/change/"):
        assert client.get(url).status_code == 403, url
    print("ADMIN HIDDEN")
    """
)


def _site(script: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "src")])
    return subprocess.run(
        [sys.executable, "-c", _SETTINGS + script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_admin_on_postgresql(tmp_path: Path) -> None:
    """Pages, filters, read-only, and retry/cancel exactly as the service does them."""
    from tests.postgres import create_database

    create_database("qbwc_admin")
    done = _site(_POSTGRES, _postgres_env("qbwc_admin"), tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ADMIN OK" in done.stdout


def test_admin_hidden_when_qbwc_is_outside_djangos_databases(tmp_path: Path) -> None:
    """With SQLITE_PATH the tables are not Django's: the admin shows no qbwc pages."""
    done = _site(_SQLITE, _env(QBWC_SQLITE=str(tmp_path / "qbwc.sqlite3")), tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ADMIN HIDDEN" in done.stdout
