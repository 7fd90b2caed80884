"""``manage.py qbwc_db status|upgrade``: qbwc's PostgreSQL schema in the configured database."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError  # type: ignore[import-untyped]
from django.db import connections, transaction  # type: ignore[import-untyped]

from qbwc.django._conf import installed_schema_alias
from qbwc.django.management._common import run
from qbwc.store._pg_sql import (
    POSTGRES_SCHEMA_VERSION,
    SchemaStatus,
    installed_version,
    upgrade_with_cursor,
)

__all__ = ["Command"]


class Command(BaseCommand):  # type: ignore[misc]
    help = (
        "Show or upgrade qbwc's tables in the PostgreSQL database settings.QBWC['DATABASE'] "
        "names (manage.py migrate does the same)."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("action", choices=["status", "upgrade"])

    def handle(self, *args: Any, **options: Any) -> None:
        alias = installed_schema_alias()
        if alias is None or connections[alias].vendor != "postgresql":
            # Not an error: a deploy script runs this whatever the store (exit 0).
            self.stdout.write(
                "settings.QBWC does not keep qbwc's data in a PostgreSQL database of "
                "settings.DATABASES: nothing to do (a SQLite store creates its own tables)"
            )
            return
        where = f"database {alias!r}"

        def act() -> None:
            with transaction.atomic(using=alias), connections[alias].cursor() as cursor:
                if options["action"] == "upgrade":
                    before, after = upgrade_with_cursor(cursor, where)
                    word = "nothing to do" if before == after else f"upgraded from {before}"
                    self.stdout.write(f"{where}: qbwc schema version {after} ({word})")
                    return
                version = installed_version(cursor, where)
            status = SchemaStatus(version=version, latest=POSTGRES_SCHEMA_VERSION)
            text = status.describe().replace("qbwc db upgrade --dsn ...", "manage.py migrate")
            self.stdout.write(f"{where}: {text}")
            if not status.current:
                raise CommandError("the qbwc schema needs an upgrade")

        run(act)
