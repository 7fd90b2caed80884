"""The ``qbwc`` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

from qbwc.exceptions import QBWCError

__all__ = ["main"]

#: Each feature module exposes ``register(subparsers)``, which adds its
#: subcommands and sets ``func`` (``args -> exit code``) on each.
Register = Callable[[Any], None]


def _registrations() -> list[Register]:
    # Imported here so that ``import qbwc`` stays light.
    from qbwc._db_cli import register as register_db  # noqa: PLC0415
    from qbwc._demo import register as register_demo  # noqa: PLC0415
    from qbwc._qwc_cli import register as register_qwc  # noqa: PLC0415
    from qbwc._service_cli import register as register_service  # noqa: PLC0415
    from qbwc.qbxml._cli import register as register_qbxml  # noqa: PLC0415

    registrations: list[Register] = []
    registrations.append(register_qwc)
    registrations.append(register_qbxml)
    registrations.append(register_service)
    registrations.append(register_db)
    registrations.append(register_demo)
    return registrations


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = argparse.ArgumentParser(
        prog="qbwc",
        description="QuickBooks Desktop Web Connector toolkit.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in _registrations():
        register(subparsers)
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except QBWCError as exc:
        print(f"qbwc {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
