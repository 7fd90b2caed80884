"""
The Django admin's pages for qbwc: Web Connector accounts and jobs, read only.

For the support team (docs/troubleshooting.md): who is linked to which company
file and when it last synced; every job with its status, attempts, TxnID and
QuickBooks' error, filtered by status and account.  Nothing can be added,
edited or deleted here; the two actions, *retry* and *cancel*, go through the
service (``service.retry`` / ``service.cancel``, docs/service.md), so they do
exactly what the API does; a job they refuse, or could not reach (a sync held
its account too long), is reported as a message and left as it was.
Acting needs the ``qbwc.change_job`` permission; viewing needs ``view``.

The pages read qbwc's tables on the database ``settings.QBWC['DATABASE']``
names; with ``SQLITE_PATH`` or ``STORE`` (tables outside Django's databases)
they are hidden (docs/integrations.md, "The admin").
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib import admin, messages  # type: ignore[import-untyped]
from django.db import connections  # type: ignore[import-untyped]
from django.urls import reverse  # type: ignore[import-untyped]
from django.utils.html import format_html  # type: ignore[import-untyped]
from django.utils.http import urlencode  # type: ignore[import-untyped]

from qbwc.django._conf import get_service, installed_schema_alias
from qbwc.django.models import Account, Job
from qbwc.exceptions import ConfigurationError
from qbwc.store import StoreError

__all__ = ["AccountAdmin", "JobAdmin"]


def _alias() -> str | None:
    """The Django database alias that holds qbwc's tables, or None (they are elsewhere)."""
    alias = installed_schema_alias()
    if alias is None or alias not in connections:
        return None
    return alias if connections[alias].vendor == "postgresql" else None


class _ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[misc]
    """Pages that show qbwc's rows and change nothing."""

    def get_queryset(self, request: Any) -> Any:
        rows = super().get_queryset(request)
        alias = _alias()
        return rows.none() if alias is None else rows.using(alias)

    def has_module_permission(self, request: Any) -> bool:
        return _alias() is not None and bool(super().has_module_permission(request))

    def has_view_permission(self, request: Any, obj: Any = None) -> bool:
        return _alias() is not None and bool(super().has_view_permission(request, obj))

    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


class AccountAdmin(_ReadOnlyAdmin):
    """Web Connector accounts: the linked company file, when it was last seen, its jobs."""

    list_display = (
        "username",
        "company_name",
        "company_file",
        "linked_at",
        "last_seen_at",
        "jobs",
    )
    search_fields = ("username", "company_name", "company_file")
    fields = (
        "username",
        "company_name",
        "company_file",
        "linked_at",
        "last_seen_at",
        "file_id",
        "linked_file_id",
        "jobs",
    )
    readonly_fields = ("jobs",)

    def jobs(self, account: Account) -> str:
        """A link to the account's jobs (the job list, filtered by the account)."""
        url = reverse("admin:qbwc_job_changelist") + "?" + urlencode({"username": account.username})
        return str(format_html('<a href="{}">jobs</a>', url))


class JobAdmin(_ReadOnlyAdmin):
    """Jobs: what was queued, its status, and QuickBooks' answer or error."""

    list_display = (
        "id",
        "username",
        "request_type",
        "key",
        "status",
        "attempts",
        "txn_id",
        "error_code",
        "updated_at",
    )
    list_filter = ("status", "username")
    search_fields = ("=id", "key", "txn_id", "=error_reference")
    fields = (
        "id",
        "username",
        "request_type",
        "key",
        "status",
        "attempts",
        "txn_id",
        "error_code",
        "error_message",
        "error_reference",
        "min_version",
        "created_at",
        "updated_at",
        "request",
        "response",
    )
    actions: ClassVar[list[str]] = ["retry_jobs", "cancel_jobs"]

    def has_manage_permission(self, request: Any) -> bool:
        """Who may retry and cancel: holders of ``qbwc.change_job``."""
        return bool(request.user.has_perm("qbwc.change_job"))

    def retry_jobs(self, request: Any, queryset: Any) -> None:
        """Put the selected failed jobs back in the queue (``service.retry``)."""
        self._act(request, queryset, "retry", "requeued")

    def cancel_jobs(self, request: Any, queryset: Any) -> None:
        """Cancel the selected pending jobs (``service.cancel``)."""
        self._act(request, queryset, "cancel", "cancelled")

    retry_jobs.short_description = "Retry the selected failed jobs"  # type: ignore[attr-defined]
    retry_jobs.allowed_permissions = ("manage",)  # type: ignore[attr-defined]
    cancel_jobs.short_description = "Cancel the selected pending jobs"  # type: ignore[attr-defined]
    cancel_jobs.allowed_permissions = ("manage",)  # type: ignore[attr-defined]

    def _act(self, request: Any, queryset: Any, action: str, verb: str) -> None:
        service = get_service()
        act = service.retry if action == "retry" else service.cancel
        changed: list[str] = []
        for job_id in queryset.order_by("id").values_list("id", flat=True):
            try:
                act(str(job_id))
            except ConfigurationError as exc:  # the service refuses this job: its reason
                self.message_user(request, str(exc), messages.ERROR)
            except StoreError as exc:  # its transaction was rolled back: nothing changed
                self.message_user(request, f"job {job_id} was not changed: {exc}", messages.ERROR)
            else:
                changed.append(str(job_id))
        if changed:
            noun = "job" if len(changed) == 1 else "jobs"
            text = f"{len(changed)} {noun} {verb}: {', '.join(changed)}"
            self.message_user(request, text, messages.SUCCESS)


admin.site.register(Account, AccountAdmin)
admin.site.register(Job, JobAdmin)
