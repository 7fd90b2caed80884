"""The ``qbwc`` command line."""

from __future__ import annotations

import argparse
import contextlib
import os
import sqlite3
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Any

from qbwc.cli._db import DSN_ENV
from qbwc.exceptions import ConfigurationError, QBWCError
from qbwc.store._protocol import StoreError

__all__ = ["build_parser", "main"]

#: Each feature module exposes ``register(subparsers)``, which adds its
#: subcommands and sets ``func`` (``args -> exit code``) on each.
Register = Callable[[Any], None]


def _registrations() -> list[Register]:
    # Imported here so that ``import qbwc`` stays light.
    from qbwc.cli._db import register as register_db  # noqa: PLC0415
    from qbwc.cli._demo import register as register_demo  # noqa: PLC0415
    from qbwc.cli._qbxml import register as register_qbxml  # noqa: PLC0415
    from qbwc.cli._qwc import register as register_qwc  # noqa: PLC0415
    from qbwc.cli._service import register as register_service  # noqa: PLC0415

    registrations: list[Register] = []
    registrations.append(register_qwc)
    registrations.append(register_qbxml)
    registrations.append(register_service)
    registrations.append(register_db)
    registrations.append(register_demo)
    return registrations


#: The exit codes of every command (docs/service.md, "Command line").
EXIT_OK = 0
EXIT_ERROR = 1  # what is wrong and what to do, in one line on stderr
EXIT_USAGE = 2  # argparse: an unknown option, a missing or malformed argument
EXIT_INTERRUPTED = 130

#: Set to show the traceback of an unexpected error (for a bug report).
DEBUG_ENV = "QBWC_DEBUG"


def build_parser() -> argparse.ArgumentParser:
    """The ``qbwc`` parser with every subcommand (tests walk it)."""
    from qbwc._version import package_version  # noqa: PLC0415

    parser = argparse.ArgumentParser(
        prog="qbwc",
        description="QuickBooks Desktop Web Connector toolkit.",
        epilog="Exit codes: 0 done, 1 error (one line on stderr), 2 usage, 130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"qbwc {package_version()}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in _registrations():
        register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (a usage error raises SystemExit(2))."""
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except Exception as exc:  # the one place where no traceback escapes
        _say(args.command, _describe(exc))
        if os.environ.get(DEBUG_ENV) and not isinstance(exc, QBWCError):
            traceback.print_exc()
        return EXIT_ERROR
    return code


def _say(command: str, text: str) -> None:
    line = " ".join(text.split())  # one line, whatever the exception held
    with contextlib.suppress(OSError):  # stderr itself is gone
        print(f"qbwc {command}: {line}", file=sys.stderr)


def _advice(exc: QBWCError) -> str:
    """What to do, for the store's and the service's errors that only say what is wrong."""
    text = str(exc)
    if isinstance(exc, StoreError) and ": cannot connect (" in text:
        return f"; check --dsn (or ${DSN_ENV}) and that the server is running"
    if isinstance(exc, StoreError) and (": not a SQLite database" in text or "not a qbwc" in text):
        return "; check the path (--db)"
    if isinstance(exc, ConfigurationError) and exc.rule.startswith("no account "):
        return "; qbwc account list shows the accounts"
    return ""


def _describe(exc: BaseException) -> str:
    """One line for *exc*: qbwc's own errors say what to do; others get a support hint."""
    if isinstance(exc, QBWCError):
        return str(exc) + _advice(exc)
    if isinstance(exc, KeyError):
        return f"not found: {exc.args[0] if exc.args else exc}"
    if isinstance(exc, BrokenPipeError):
        return "the output was closed before everything was written"
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror or exc}"
    if isinstance(exc, sqlite3.Error):
        return f"the SQLite database failed: {exc}"
    return (
        f"unexpected error: {type(exc).__name__}: {exc}; this is a bug in qbwc: please report "
        f"it with the command you ran and the traceback that {DEBUG_ENV}=1 shows"
    )


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
