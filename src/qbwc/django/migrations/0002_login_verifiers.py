"""Add qbwc's login verifiers table (schema version 2) in ``settings.QBWC['DATABASE']``."""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import migrations  # type: ignore[import-untyped]

from qbwc.django._conf import upgrade_schema


class Migration(migrations.Migration):  # type: ignore[misc]
    dependencies: ClassVar[list[tuple[str, str]]] = [("qbwc", "0001_initial")]
    operations: ClassVar[list[Any]] = [
        migrations.RunPython(upgrade_schema, migrations.RunPython.noop, elidable=False)
    ]
