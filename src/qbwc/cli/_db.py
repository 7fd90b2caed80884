"""``qbwc db``: create, upgrade and inspect qbwc's tables in a PostgreSQL database."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

__all__ = ["register"]

#: Where the DSN comes from when ``--dsn`` is not given (keeps passwords out of ``ps``).
DSN_ENV = "QBWC_DSN"

_EPILOG = f"""\
The DSN is a libpq connection string or URL, e.g.
postgresql://qbwc@db.internal:5432/billing.  Without --dsn it is read from the
{DSN_ENV} environment variable, which keeps a password out of the process list.

  qbwc db status     exit 0 when the schema is current, 1 when it needs an upgrade
  qbwc db upgrade    create or upgrade qbwc's tables (one transaction; safe to repeat)
  qbwc db sql        print the SQL, for hosts that run their own migrations
"""


def register(subparsers: Any) -> None:
    """Add the ``db`` command and its ``status``, ``upgrade`` and ``sql`` subcommands."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "db",
        help="create, upgrade or inspect the PostgreSQL schema",
        description="Create, upgrade or inspect qbwc's tables in a PostgreSQL database.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    for name, text, func in (
        ("status", "show the schema version; exit 1 when it needs an upgrade", _status),
        ("upgrade", "create or upgrade qbwc's tables", _upgrade),
    ):
        sub = actions.add_parser(name, help=text, description=text)
        sub.add_argument("--dsn", help=f"the database (default: ${DSN_ENV})")
        sub.set_defaults(func=func)
    sql = actions.add_parser(
        "sql",
        help="print the migration SQL",
        description="Print the SQL statements that create or upgrade qbwc's tables.",
    )
    sql.add_argument(
        "--since",
        type=int,
        default=0,
        metavar="VERSION",
        help="the version the database is at now (default 0: an empty database)",
    )
    sql.set_defaults(func=_sql)


def _error(text: str) -> int:
    print(f"qbwc db: {text}", file=sys.stderr)
    return 1


def _postgres() -> Any:
    try:
        from qbwc.store import _postgres  # noqa: PLC0415
    except ImportError as exc:
        msg = f"needs psycopg 3 and psycopg-pool: pip install 'qbwc-toolkit[postgres]' ({exc})"
        raise _Missing(msg) from exc
    return _postgres


class _Missing(Exception):
    pass


def _database(args: argparse.Namespace) -> tuple[Any, str]:
    """The PostgreSQL store module and the DSN the command names (--dsn or the environment)."""
    dsn = args.dsn or os.environ.get(DSN_ENV)
    if not dsn:
        raise _Missing(f"no database: pass --dsn or set {DSN_ENV}")
    return _postgres(), dsn


def _status(args: argparse.Namespace) -> int:
    try:
        pg, dsn = _database(args)
    except _Missing as exc:
        return _error(str(exc))
    status = pg.postgres_status(dsn)
    print(f"{pg._where(dsn)}: {status.describe()}")
    return 0 if status.current else 1


def _upgrade(args: argparse.Namespace) -> int:
    try:
        pg, dsn = _database(args)
    except _Missing as exc:
        return _error(str(exc))
    before, after = pg.postgres_upgrade(dsn)
    where = pg._where(dsn)
    if before == after:
        print(f"{where}: qbwc schema version {after} is current; nothing to do")
    elif before == 0:
        print(f"{where}: created the qbwc schema, version {after}")
    else:
        print(f"{where}: upgraded the qbwc schema from version {before} to {after}")
    return 0


def _sql(args: argparse.Namespace) -> int:
    try:
        pg = _postgres()
    except _Missing as exc:
        return _error(str(exc))
    try:
        statements = pg.postgres_migrations(args.since)
    except ValueError as exc:
        return _error(str(exc))
    if not statements:
        print(f"-- qbwc schema version {args.since} is current: nothing to run")
        return 0
    print(f"-- qbwc schema: version {args.since} to {pg.POSTGRES_SCHEMA_VERSION}")
    print("BEGIN;")
    for statement in statements:
        print(f"{statement};")
    print("COMMIT;")
    return 0
