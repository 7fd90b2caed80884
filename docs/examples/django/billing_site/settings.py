"""
An existing billing site on PostgreSQL, with QuickBooks Desktop sync added.

The lines that matter for qbwc are marked ``# qbwc``.  The database comes from
the usual libpq variables (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE);
``BILLING_DB=sqlite`` runs the same site on SQLite files instead.
"""

from __future__ import annotations

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-only-not-a-secret")
DEBUG = False
ALLOWED_HOSTS = ["billing.example.com", "localhost", "127.0.0.1", "testserver"]
USE_TZ = True

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "billing",
    "qbwc.django",  # qbwc: the endpoint, manage.py qbwc_* commands, the qbwc_* tables
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
]
ROOT_URLCONF = "billing_site.urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

if os.environ.get("BILLING_DB") == "sqlite":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("BILLING_SQLITE", BASE_DIR / "billing.sqlite3"),
        }
    }
    QBWC_STORE = {"SQLITE_PATH": os.environ.get("QBWC_SQLITE", BASE_DIR / "qbwc.sqlite3")}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": os.environ.get("PGDATABASE", "billing"),
            "USER": os.environ.get("PGUSER", ""),
            "PASSWORD": os.environ.get("PGPASSWORD", ""),
            "HOST": os.environ.get("PGHOST", ""),
            "PORT": os.environ.get("PGPORT", ""),
        }
    }
    QBWC_STORE = {"DATABASE": "default"}  # qbwc: its qbwc_* tables live in the site's database

# qbwc: the application's OwnerID, generated once: python -c "import uuid; print(uuid.uuid4())"
QBWC = {
    "OWNER_ID": "{6F6C2E1A-3B7D-4E2F-9A51-0C8D7B4E2F10}",
    **QBWC_STORE,
    "APP_URL": "https://billing.example.com/qbwc/",
    "APP_SUPPORT": "https://billing.example.com/help/quickbooks/",
    "SERVICE": {
        "app_name": "Acme Billing",
        "batch_size": 5,
        "on_job_done": "billing.quickbooks.job_done",
        "on_job_failed": "billing.quickbooks.job_failed",
    },
}
