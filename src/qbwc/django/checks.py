"""
System checks for ``settings.QBWC``: ``manage.py check`` (and ``migrate``, ``runserver``...).

A mistake in the settings is reported before anything runs, with an id, instead of a
traceback at the first request or command (docs/integrations.md, "Django"):

- ``qbwc.E001``: ``settings.QBWC`` is missing, not a dict, or has an unknown key;
- ``qbwc.E002``: ``OWNER_ID`` is missing or not a GUID;
- ``qbwc.E003``: ``DATABASE`` (``"default"`` when neither ``SQLITE_PATH`` nor ``STORE``
  is given) names no database, or one that is not PostgreSQL: ``migrate`` would then
  install nothing qbwc can use.

None of them connects to a database.
"""

from __future__ import annotations

from typing import Any

from django.core import checks  # type: ignore[import-untyped]
from django.core.exceptions import ImproperlyConfigured  # type: ignore[import-untyped]

__all__ = ["check_settings"]


def check_settings(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    """The problems of ``settings.QBWC``, as Django system check errors."""
    from qbwc.django._conf import (  # noqa: PLC0415
        _config,
        _database_alias,
        check_database,
        check_owner_id,
    )

    try:
        config = _config()
    except ImproperlyConfigured as exc:
        return [checks.Error(str(exc), id="qbwc.E001")]
    found: list[Any] = []
    try:
        check_owner_id(config)
    except ImproperlyConfigured as exc:
        found.append(checks.Error(str(exc), id="qbwc.E002"))
    alias = _database_alias(config)
    if alias is not None:
        try:
            check_database(alias)
        except ImproperlyConfigured as exc:
            hint = None
            if "DATABASE" not in config:
                hint = (
                    "without DATABASE, SQLITE_PATH or STORE, qbwc uses the 'default' database, "
                    "which must be PostgreSQL"
                )
            found.append(checks.Error(str(exc), hint=hint, id="qbwc.E003"))
    return found
