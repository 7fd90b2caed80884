"""
``manage.py qbwc_jobs [list|retry ID|cancel ID|results ID|prune --older-than AGE]``: the job queue.

The same actions as ``qbwc jobs``; ``list`` is the default, and ``--retry ID`` still means
``retry ID``.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError  # type: ignore[import-untyped]

from qbwc.cli._query import FORMATS, print_results
from qbwc.cli._tables import job_table, parse_age
from qbwc.django._conf import get_service
from qbwc.django.management._common import run
from qbwc.store import JOB_STATUSES

__all__ = ["Command"]


class Command(BaseCommand):  # type: ignore[misc]
    help = (
        "List jobs (the default), retry a failed one, cancel a pending one, print the records "
        "of a finished query, or prune finished ones older than an age."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "action",
            nargs="?",
            default="list",
            choices=["list", "retry", "cancel", "results", "prune"],
            help="what to do (list)",
        )
        parser.add_argument(
            "job_id", nargs="?", metavar="JOB_ID", help="for retry, cancel and results"
        )
        parser.add_argument("--user", help="list: only this account's jobs")
        parser.add_argument("--status", choices=JOB_STATUSES)
        parser.add_argument("--limit", type=int, default=100, help="list: at most this many (100)")
        parser.add_argument("--after", metavar="JOB_ID", help="list: the jobs after this one")
        parser.add_argument(
            "--older-than", metavar="AGE", help="prune: last updated longer ago (90d, 12h, 30m)"
        )
        parser.add_argument(
            "--format", choices=FORMATS, help="results: a table (the default) or JSON lines"
        )
        parser.add_argument("--retry", metavar="ID", help="the same as: retry ID")

    def handle(self, *args: Any, **options: Any) -> None:
        action, job_id = options["action"], options["job_id"]
        if options["retry"] is not None:
            if action != "list" or job_id is not None:
                raise CommandError("--retry ID is the same as `retry ID`: give one of them")
            action, job_id = "retry", options["retry"]
        if action in ("retry", "cancel", "results") and job_id is None:
            raise CommandError(f"{action} needs a JOB_ID")
        if action not in ("retry", "cancel", "results") and job_id is not None:
            raise CommandError(f"{action} takes no JOB_ID (got {job_id!r})")
        if action == "prune" and options["older_than"] is None:
            raise CommandError("prune needs --older-than AGE (e.g. 90d)")
        if action != "prune" and options["older_than"] is not None:
            raise CommandError("--older-than is for prune")
        if action != "results" and options["format"] is not None:
            raise CommandError("--format is for results")
        run(lambda: getattr(self, f"_{action}")(options, job_id))

    def _retry(self, options: dict[str, Any], job_id: str) -> None:
        job = get_service().retry(job_id)
        self.stdout.write(f"job {job.id} is pending again; it goes with the next sync")

    def _cancel(self, options: dict[str, Any], job_id: str) -> None:
        job = get_service().cancel(job_id)
        self.stdout.write(f"job {job.id} cancelled; it will not be sent")

    def _results(self, options: dict[str, Any], job_id: str) -> None:
        service = get_service()
        job = service.job(job_id)
        if job is None:
            raise CommandError(f"job_id: no job {job_id}")
        fmt = options["format"] or "table"
        print_results(service, job, fmt, self.stdout.write, "manage.py qbwc_")

    def _prune(self, options: dict[str, Any], job_id: None) -> None:
        age = options["older_than"]
        count = get_service().prune(older_than=parse_age(age))
        plural = "" if count == 1 else "s"
        self.stdout.write(f"deleted {count} finished job{plural} older than {age}")

    def _list(self, options: dict[str, Any], job_id: None) -> None:
        service = get_service()
        jobs = service.jobs(
            options["user"],
            status=options["status"],
            limit=options["limit"],
            after=options["after"],
        )
        if not jobs:
            self.stdout.write("no jobs")
            return
        never = set()
        for name in {job.username for job in jobs}:
            account = service.account(name)
            if account is not None and account.last_seen_at is None:
                never.add(name)
        for line in job_table(jobs, never):
            self.stdout.write(line)
        if len(jobs) == options["limit"]:
            self.stderr.write(f"(more may follow: --after {jobs[-1].id})")
