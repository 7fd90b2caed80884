"""Add the linkages, pulls and pull marks of schema version 4 in ``settings.QBWC['DATABASE']``."""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import migrations  # type: ignore[import-untyped]

from qbwc.django._conf import upgrade_schema


class Migration(migrations.Migration):  # type: ignore[misc]
    dependencies: ClassVar[list[tuple[str, str]]] = [("qbwc", "0004_admin_models")]
    operations: ClassVar[list[Any]] = [
        migrations.RunPython(upgrade_schema, migrations.RunPython.noop, elidable=False)
    ]
