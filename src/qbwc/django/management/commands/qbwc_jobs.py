"""``manage.py qbwc_jobs``: the queue's status; ``--retry ID`` requeues a failed job."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand  # type: ignore[import-untyped]

from qbwc._tables import job_table
from qbwc.django._conf import get_service
from qbwc.django.management._common import run


class Command(BaseCommand):  # type: ignore[misc]
    help = "Show queued jobs and what became of them, or requeue a failed one."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--user", help="only this account's jobs")
        parser.add_argument("--status", choices=["pending", "sent", "done", "failed"])
        parser.add_argument("--limit", type=int, default=100, help="at most this many (100)")
        parser.add_argument("--retry", metavar="ID", help="requeue the failed job ID")

    def handle(self, *args: Any, **options: Any) -> None:
        run(lambda: self._retry(options) if options["retry"] else self._list(options))

    def _retry(self, options: dict[str, Any]) -> None:
        job = get_service().retry(options["retry"])
        self.stdout.write(f"job {job.id} is pending again; it goes with the next sync")

    def _list(self, options: dict[str, Any]) -> None:
        jobs = get_service().jobs(options["user"], status=options["status"], limit=options["limit"])
        if not jobs:
            self.stdout.write("no jobs")
            return
        for line in job_table(jobs):
            self.stdout.write(line)
