"""
``settings.QBWC``: the service and its store, built once per process.

::

    QBWC = {
        "OWNER_ID": "{9A5D8F3B-1C2E-4B6A-8D7F-0E1F2A3B4C5D}",   # required
        "DATABASE": "default",    # PostgreSQL alias: qbwc_* tables there, on Django's connection
        # or "SQLITE_PATH": BASE_DIR / "qbwc.sqlite",
        # or "STORE": "billing.qbwc.make_store",  # dotted path (or callable) -> Store
        "APP_URL": "https://billing.example.com/qbwc/",      # for manage.py qbwc_qwc
        "APP_SUPPORT": "https://billing.example.com/help/",
        "SERVICE": {              # WebConnectorService keywords
            "app_name": "Acme Billing",
            "on_job_done": "billing.hooks.job_done",  # dotted paths are imported
        },
    }
"""

from __future__ import annotations

import threading
import uuid
from typing import Any, Final

from django.conf import settings  # type: ignore[import-untyped]
from django.core.exceptions import ImproperlyConfigured  # type: ignore[import-untyped]
from django.utils.module_loading import import_string  # type: ignore[import-untyped]

from qbwc.service import WebConnectorService
from qbwc.store import SQLiteStore, Store

__all__ = [
    "get_service",
    "installed_schema_alias",
    "on_setting_changed",
    "reset_service",
    "store_from_settings",
]

_KEYS: Final = frozenset(
    {"OWNER_ID", "DATABASE", "SQLITE_PATH", "STORE", "APP_URL", "APP_SUPPORT", "SERVICE"}
)  # fmt: skip
# Service keywords that may be given as dotted paths to callables.
_CALLABLES: Final = frozenset(
    {"authenticator", "pause", "interactive_url", "on_job_done", "on_job_failed",
     "on_query_page", "on_company_mismatch", "clock", "token"}
)  # fmt: skip

_lock = threading.Lock()
_service: WebConnectorService | None = None


def _config() -> dict[str, Any]:
    config = getattr(settings, "QBWC", None)
    if not isinstance(config, dict):
        msg = 'settings.QBWC is missing: set QBWC = {"OWNER_ID": "...", ...} (docs/scale-out.md)'
        raise ImproperlyConfigured(msg)
    unknown = sorted(set(config) - _KEYS)
    if unknown:
        known = ", ".join(sorted(_KEYS))
        msg = f"settings.QBWC: unknown key(s) {', '.join(unknown)}; known: {known}"
        raise ImproperlyConfigured(msg)
    return config


def _database_alias(config: dict[str, Any]) -> str | None:
    """The DATABASES alias whose PostgreSQL database holds qbwc's tables, or None."""
    if "DATABASE" in config:
        return str(config["DATABASE"])
    if "STORE" in config or "SQLITE_PATH" in config:
        return None
    return "default"


def store_from_settings() -> Store:
    """A new store as ``settings.QBWC`` describes it (STORE, SQLITE_PATH or DATABASE)."""
    config = _config()
    if "STORE" in config:
        factory = config["STORE"]
        if isinstance(factory, str):
            factory = import_string(factory)
        store = factory() if callable(factory) else factory
        if not hasattr(store, "transaction"):
            msg = f"settings.QBWC['STORE'] gave {store!r}, not a qbwc store"
            raise ImproperlyConfigured(msg)
        return store  # type: ignore[no-any-return]
    if "SQLITE_PATH" in config:
        return SQLiteStore(config["SQLITE_PATH"])
    alias = _database_alias(config)
    assert alias is not None
    check_database(alias)
    from qbwc.django._store import DjangoStore  # noqa: PLC0415

    return DjangoStore(alias)


def check_database(alias: str) -> None:
    """
    Refuse a ``DATABASE`` alias that is missing or not PostgreSQL (without connecting).

    Raises:
        ImproperlyConfigured: the message says what to set instead.
    """
    from django.db import connections  # type: ignore[import-untyped]  # noqa: PLC0415

    if alias not in connections:
        msg = f"settings.QBWC['DATABASE']: no database {alias!r} in settings.DATABASES"
        raise ImproperlyConfigured(msg)
    vendor = connections[alias].vendor
    if vendor != "postgresql":
        msg = (
            f"settings.QBWC['DATABASE']: database {alias!r} is {vendor}, not PostgreSQL; "
            "use QBWC['SQLITE_PATH'] (a file of its own) or QBWC['STORE']"
        )
        raise ImproperlyConfigured(msg)


def check_owner_id(config: dict[str, Any]) -> uuid.UUID:
    """
    ``QBWC['OWNER_ID']`` as a UUID.

    Raises:
        ImproperlyConfigured: it is missing or not a GUID.
    """
    owner = config.get("OWNER_ID")
    if owner is None:
        msg = "settings.QBWC['OWNER_ID'] is required: your application's OwnerID GUID"
        raise ImproperlyConfigured(msg)
    try:
        owner_id = owner if isinstance(owner, uuid.UUID) else uuid.UUID(str(owner))
    except ValueError:
        msg = f"settings.QBWC['OWNER_ID']: {owner!r} is not a GUID"
        raise ImproperlyConfigured(msg) from None
    return owner_id


def _build() -> WebConnectorService:
    config = _config()
    owner_id = check_owner_id(config)
    options = dict(config.get("SERVICE") or {})
    for name in _CALLABLES & set(options):
        if isinstance(options[name], str):
            options[name] = import_string(options[name])
    return WebConnectorService(store=store_from_settings(), owner_id=owner_id, **options)


def get_service() -> WebConnectorService:
    """The process's :class:`~qbwc.WebConnectorService`, built from ``settings.QBWC`` at first."""
    global _service  # noqa: PLW0603
    service = _service
    if service is not None:
        return service
    with _lock:
        if _service is None:
            _service = _build()
        return _service


def reset_service() -> None:
    """Close the shared service's store and forget it; the next use builds a new one."""
    global _service
    with _lock:
        service, _service = _service, None
    if service is not None:
        service.store.close()


def on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    """``override_settings(QBWC=...)`` (and DATABASES) in tests take effect."""
    if setting in ("QBWC", "DATABASES"):
        reset_service()


def installed_schema_alias() -> str | None:
    """The alias whose migrations install qbwc's PostgreSQL tables (None: not configured)."""
    config = getattr(settings, "QBWC", None)
    if not isinstance(config, dict):
        return None
    return _database_alias(config)


def upgrade_schema(apps: Any, schema_editor: Any) -> None:
    """
    What each of qbwc's migrations runs: the qbwc_* tables brought to the newest schema.

    On Django's connection and in its transaction, only in the PostgreSQL database
    ``QBWC['DATABASE']`` names; elsewhere (``SQLITE_PATH``, ``STORE``, another alias)
    qbwc keeps its data itself.  The upgrade goes to the newest version whichever
    migration runs it, so the later migrations find nothing left to do on a new
    database; Django records each of them either way.
    """
    connection = schema_editor.connection
    if connection.vendor != "postgresql" or connection.alias != installed_schema_alias():
        return
    from qbwc.store._pg_sql import upgrade_with_cursor  # noqa: PLC0415

    with connection.cursor() as cursor:
        upgrade_with_cursor(cursor, f"database {connection.alias!r}")
