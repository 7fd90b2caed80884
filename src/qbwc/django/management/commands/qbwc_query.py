"""
``manage.py qbwc_query FILE --user U``: queue a query, print its records once synced.

The same options as ``qbwc query`` (docs/service.md, "Command line"); the records of a
query run earlier: ``manage.py qbwc_jobs results JOB_ID``.
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand  # type: ignore[import-untyped]

from qbwc.cli._query import FORMATS, check_wait, read_requests, run_query
from qbwc.django._conf import get_service
from qbwc.django.management._common import run

__all__ = ["Command"]


class Command(BaseCommand):  # type: ignore[misc]
    help = (
        "Queue a query from a JSON file (or find the one queued with --key) and print its "
        "records as a table or JSON lines once the Web Connector has run it."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("file", help="the JSON file of one query ('-' for standard input)")
        parser.add_argument("--user", required=True, help="the account")
        parser.add_argument("--key", help="idempotency key: run again, it finds the same query")
        parser.add_argument(
            "--page-size", type=int, metavar="N", help="N records (1 to 10,000) per round"
        )
        parser.add_argument("--format", choices=FORMATS, default="table", help="(table)")
        parser.add_argument(
            "--wait", type=float, metavar="SECONDS", help="wait this long for the sync"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        def query() -> None:
            check_wait(options["wait"])
            stdin = options.get("stdin") or sys.stdin
            models = read_requests(
                options["file"], stdin, key=options["key"], page_size=options["page_size"]
            )
            run_query(
                get_service(),
                options["file"],
                models,
                user=options["user"],
                options=options,
                write=self.stdout.write,
                say=self.stderr.write,
                tool="manage.py qbwc_",
            )

        run(query)
