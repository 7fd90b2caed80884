"""
Read-only views of qbwc's own tables, for the Django admin (``qbwc.django.admin``).

Unmanaged models (``managed = False``): Django never creates, alters or drops
these tables; qbwc's migrations install them (``manage.py migrate``) and only the
service writes to them.  They name the columns the admin shows, no more (the
password hash is not one of them).  The admin reads them on the database alias
``settings.QBWC['DATABASE']`` names (docs/integrations.md, "The admin").
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models  # type: ignore[import-untyped]

from qbwc.store import JOB_STATUSES

__all__ = ["Account", "Job"]


class Account(models.Model):  # type: ignore[misc]
    """A Web Connector login (``qbwc_accounts``) and the company file it is linked to."""

    username = models.TextField(primary_key=True)
    file_id = models.UUIDField("FileID")
    linked_file_id = models.UUIDField("linked company file's FileID", null=True)
    company_file = models.TextField(null=True)
    company_name = models.TextField(null=True)
    linked_at = models.DateTimeField(null=True)
    last_seen_at = models.DateTimeField("last seen", null=True)

    class Meta:
        managed = False
        db_table = "qbwc_accounts"
        ordering: ClassVar[list[str]] = ["username"]
        verbose_name = "Web Connector account"

    def __str__(self) -> str:
        return str(self.username)


class Job(models.Model):  # type: ignore[misc]
    """A queued write (``qbwc_jobs``) and what became of it."""

    id = models.BigIntegerField(primary_key=True)
    username = models.TextField("account")
    key = models.TextField(null=True)
    request_type = models.TextField("request")
    request = models.TextField("request (JSON)")
    min_version = models.TextField("qbXML version")
    status = models.TextField(choices=[(status, status) for status in JOB_STATUSES])
    attempts = models.IntegerField()
    txn_id = models.TextField("TxnID", null=True)
    response = models.JSONField(null=True)
    error_code = models.TextField(null=True)
    error_message = models.TextField(null=True)
    error_reference = models.TextField(null=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        managed = False
        db_table = "qbwc_jobs"
        ordering: ClassVar[list[str]] = ["-id"]
        verbose_name = "Web Connector job"

    def __str__(self) -> str:
        return f"job {self.id} ({self.request_type}, {self.status})"
