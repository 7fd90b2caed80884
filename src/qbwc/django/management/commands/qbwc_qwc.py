"""``manage.py qbwc_qwc USER``: the account's QWC file (also ``qbwc_account qwc USER``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings  # type: ignore[import-untyped]
from django.core.management.base import BaseCommand, CommandError  # type: ignore[import-untyped]

from qbwc.django._conf import get_service
from qbwc.django.management._common import run

__all__ = ["Command"]


def add_qwc_arguments(parser: Any) -> None:
    """The options of ``qbwc_qwc`` and ``qbwc_account qwc`` (the same as ``qbwc account qwc``)."""
    parser.add_argument("user", help="the account")
    parser.add_argument("--url", help="AppURL (default: QBWC['APP_URL'])")
    parser.add_argument("--support-url", help="AppSupport (default: QBWC['APP_SUPPORT'])")
    parser.add_argument("--app-name", help="AppName (default: the service's app_name)")
    parser.add_argument("--description", default="", help="AppDescription")
    parser.add_argument("--every", metavar="INTERVAL", help="auto-run interval: 15m, 1h")
    parser.add_argument("-o", "--output", metavar="FILE", help="write here, not to stdout")


def write_qwc(command: BaseCommand, options: dict[str, Any]) -> None:
    """Write the account's QWC file as *options* say, to stdout or ``--output``."""
    config = getattr(settings, "QBWC", {}) or {}
    url = options["url"] or config.get("APP_URL")
    support = options["support_url"] or config.get("APP_SUPPORT")
    if not url or not support:
        raise CommandError("give --url and --support-url, or QBWC['APP_URL'/'APP_SUPPORT']")

    def write() -> None:
        data = get_service().qwc(
            options["user"],
            app_url=url,
            app_support=support,
            app_name=options["app_name"],
            app_description=options["description"],
            run_every=options["every"],
        )
        if options["output"]:
            Path(options["output"]).write_bytes(data)
            command.stderr.write(f"wrote {options['output']}")
        else:
            command.stdout.write(data.decode("utf-8"), ending="")

    run(write)


class Command(BaseCommand):  # type: ignore[misc]
    help = "Write an account's .QWC file (AppURL and AppSupport default to settings.QBWC)."

    def add_arguments(self, parser: Any) -> None:
        add_qwc_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        write_qwc(self, options)
