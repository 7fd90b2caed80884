"""Install qbwc's PostgreSQL tables in the database ``settings.QBWC['DATABASE']`` names."""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import migrations  # type: ignore[import-untyped]

from qbwc.django._conf import upgrade_schema


class Migration(migrations.Migration):  # type: ignore[misc]
    initial = True
    dependencies: ClassVar[list[tuple[str, str]]] = []
    operations: ClassVar[list[Any]] = [
        migrations.RunPython(upgrade_schema, migrations.RunPython.noop, elidable=False)
    ]
