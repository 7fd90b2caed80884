"""``manage.py qbwc_enqueue FILE --user U``: queue any request (JSON), as ``qbwc enqueue``."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand  # type: ignore[import-untyped]

from qbwc._query_cli import read_requests
from qbwc.django._conf import get_service
from qbwc.django.management._common import run
from qbwc.exceptions import ConfigurationError


class Command(BaseCommand):  # type: ignore[misc]
    help = (
        'Queue a request from a JSON file: {"type": "InvoiceAdd", ...} (or "CustomerAdd", '
        '"CustomerQuery", "ListDel"...) in the form of qbwc.qbxml.dump, or a list of them.'
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("file", help="the JSON file ('-' for standard input)")
        parser.add_argument("--user", required=True, help="the account")
        parser.add_argument("--key", help="idempotency key (one request only)")
        parser.add_argument(
            "--after", metavar="JOB_ID", help="send only after this job is done; fail if it fails"
        )
        parser.add_argument(
            "--link",
            metavar="KEY",
            help="the linkage the write is about: an Add creates it, a Mod/Del names its object",
        )
        parser.add_argument(
            "--page-size", type=int, metavar="N", help="a query: N records (1 to 10,000) per round"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        def enqueue() -> None:
            stdin = options.get("stdin") or sys.stdin
            models = read_requests(
                options["file"], stdin, key=options["key"], page_size=options["page_size"]
            )
            if options.get("link") is not None and len(models) > 1:
                rule = f"names one object: give one request, not {len(models)}"
                raise ConfigurationError("link", rule)
            service = get_service()
            for model in models:
                job = service.enqueue(
                    options["user"],
                    model,
                    key=options["key"],
                    after=options["after"],
                    page_size=options["page_size"],
                    link=options.get("link"),
                )
                waits = "" if job.after is None else f" (after job {job.after})"
                self.stdout.write(
                    f"job {job.id}: {job.request_type} for {job.username!r}, {job.status}{waits}"
                )

        run(enqueue)
