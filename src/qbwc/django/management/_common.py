"""What the ``manage.py qbwc_*`` commands share."""

from __future__ import annotations

import getpass
import sys
from collections.abc import Callable
from typing import Any, TextIO

from django.core.exceptions import ImproperlyConfigured  # type: ignore[import-untyped]
from django.core.management.base import CommandError  # type: ignore[import-untyped]

from qbwc.exceptions import QBWCError


def run(action: Callable[[], int | None]) -> None:
    """
    Run *action*; qbwc's errors become one-line ``CommandError`` messages (exit 1).

    The same words and exit codes as the ``qbwc`` command line (docs/service.md,
    "Command line").
    """
    try:
        action()
    except (QBWCError, ImproperlyConfigured) as exc:
        raise CommandError(" ".join(str(exc).split())) from None
    except KeyError as exc:
        raise CommandError(f"not found: {exc.args[0]}") from None
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        raise CommandError(f"{where}{exc.strerror or exc}") from None
    except (CommandError, KeyboardInterrupt):
        raise
    except Exception as exc:
        # A bug: one line, as qbwc's command line says it; --traceback shows the cause.
        text = " ".join(f"{type(exc).__name__}: {exc}".split())
        msg = (
            f"unexpected error: {text}; this is a bug in qbwc: please report it with the "
            "command you ran and the traceback that --traceback shows"
        )
        raise CommandError(msg) from exc


def read_password(options: dict[str, Any]) -> str:
    """The password from stdin (``--password-stdin``) or typed twice at a terminal."""
    stdin: TextIO = options.get("stdin") or sys.stdin
    if options.get("password_stdin"):
        text = stdin.readline().rstrip("\r\n")
    elif stdin.isatty():
        text = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != text:
            raise CommandError("the two passwords differ")
    else:
        raise CommandError("use --password-stdin when not on a terminal")
    if not text:
        raise CommandError("the password must not be empty")
    return text
