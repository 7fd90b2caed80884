from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies: list[tuple[str, str]] = []  # noqa: RUF012
    operations = [  # noqa: RUF012
        migrations.CreateModel(
            name="Invoice",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False)),
                ("number", models.CharField(max_length=11, unique=True)),
                ("customer", models.CharField(max_length=209)),
                ("item", models.CharField(max_length=159)),
                ("quantity", models.DecimalField(decimal_places=2, max_digits=12)),
                ("quickbooks_user", models.CharField(max_length=150)),
                ("qb_status", models.CharField(default="not sent", max_length=200)),
                ("qb_txn_id", models.CharField(blank=True, default="", max_length=36)),
            ],
        ),
    ]
