"""
Record the admin's unmanaged models (``qbwc.django.models``): no SQL runs.

Django keeps even unmanaged models in its migration state; without this file a
host's ``manage.py makemigrations`` would write one into the installed qbwc
package.  The tables themselves come from 0001 to 0003 (qbwc's own schema).
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import migrations, models  # type: ignore[import-untyped]


class Migration(migrations.Migration):  # type: ignore[misc]
    dependencies: ClassVar[list[tuple[str, str]]] = [("qbwc", "0003_any_request")]
    operations: ClassVar[list[Any]] = [
        migrations.CreateModel(
            name="Account",
            fields=[
                ("username", models.TextField(primary_key=True, serialize=False)),
                ("file_id", models.UUIDField(verbose_name="FileID")),
                (
                    "linked_file_id",
                    models.UUIDField(null=True, verbose_name="linked company file's FileID"),
                ),
                ("company_file", models.TextField(null=True)),
                ("company_name", models.TextField(null=True)),
                ("linked_at", models.DateTimeField(null=True)),
                ("last_seen_at", models.DateTimeField(null=True, verbose_name="last seen")),
            ],
            options={
                "verbose_name": "Web Connector account",
                "db_table": "qbwc_accounts",
                "ordering": ["username"],
                "managed": False,
            },
        ),
        migrations.CreateModel(
            name="Job",
            fields=[
                ("id", models.BigIntegerField(primary_key=True, serialize=False)),
                ("username", models.TextField(verbose_name="account")),
                ("key", models.TextField(null=True)),
                ("request_type", models.TextField(verbose_name="request")),
                ("request", models.TextField(verbose_name="request (JSON)")),
                ("min_version", models.TextField(verbose_name="qbXML version")),
                (
                    "status",
                    models.TextField(
                        choices=[
                            ("pending", "pending"),
                            ("sent", "sent"),
                            ("done", "done"),
                            ("failed", "failed"),
                            ("cancelled", "cancelled"),
                        ]
                    ),
                ),
                ("attempts", models.IntegerField()),
                ("txn_id", models.TextField(null=True, verbose_name="TxnID")),
                ("response", models.JSONField(null=True)),
                ("error_code", models.TextField(null=True)),
                ("error_message", models.TextField(null=True)),
                ("error_reference", models.TextField(null=True)),
                ("created_at", models.DateTimeField()),
                ("updated_at", models.DateTimeField()),
            ],
            options={
                "verbose_name": "Web Connector job",
                "db_table": "qbwc_jobs",
                "ordering": ["-id"],
                "managed": False,
            },
        ),
    ]
