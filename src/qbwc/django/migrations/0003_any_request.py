"""Add the job dependencies and query pages of schema version 3 in ``settings.QBWC['DATABASE']``."""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import migrations  # type: ignore[import-untyped]


def upgrade(apps: Any, schema_editor: Any) -> None:
    """Bring the qbwc_* tables up to date on Django's connection, in its transaction."""
    from qbwc.django._conf import installed_schema_alias  # noqa: PLC0415

    connection = schema_editor.connection
    if connection.vendor != "postgresql" or connection.alias != installed_schema_alias():
        return  # qbwc keeps its data elsewhere (SQLITE_PATH, STORE, another alias)
    from qbwc.store._pg_sql import upgrade_with_cursor  # noqa: PLC0415

    with connection.cursor() as cursor:
        upgrade_with_cursor(cursor, f"database {connection.alias!r}")


class Migration(migrations.Migration):  # type: ignore[misc]
    dependencies: ClassVar[list[tuple[str, str]]] = [("qbwc", "0002_login_verifiers")]
    operations: ClassVar[list[Any]] = [
        migrations.RunPython(upgrade, migrations.RunPython.noop, elidable=False)
    ]
