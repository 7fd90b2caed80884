"""
The service commands: ``qbwc serve``, ``qbwc account ...``, ``qbwc enqueue``, ``qbwc jobs``,
``qbwc links``.

All of them work on one store, which also keeps the application's OwnerID and
name (recorded by the first service started on it): a SQLite file (``--db``,
default ``qbwc.sqlite``) or a PostgreSQL database (``--dsn``, or ``$QBWC_DSN``
when ``--db`` is not given; its schema is installed with ``qbwc db upgrade``).

Only ``serve`` and ``account add`` set a database up (create the SQLite file,
record a new OwnerID); every other command refuses a database that is not
there (docs/service.md, "Command line").
"""

from __future__ import annotations

import argparse
import errno
import getpass
import os
import sqlite3
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from qbwc._db_cli import DSN_ENV
from qbwc._passwords import LOGIN_SECRET_ENV
from qbwc._tables import (
    account_table,
    forgotten_line,
    job_table,
    link_table,
    parse_age,
    unconfirmed_lines,
)
from qbwc.exceptions import ConfigurationError

__all__ = ["register"]

_DEFAULT_DB = "qbwc.sqlite"
_DB_HELP = f"the SQLite database (default: {_DEFAULT_DB})"
_NEW_DB_HELP = f"the SQLite database (created when missing; default: {_DEFAULT_DB})"
_DSN_HELP = f"a PostgreSQL database instead (libpq DSN or URL; default: ${DSN_ENV} unless --db)"


def register(subparsers: Any) -> None:
    """Add ``serve``, ``account``, ``enqueue`` and ``jobs``."""
    serve = subparsers.add_parser(
        "serve",
        help="run the Web Connector service on a SQLite or PostgreSQL database",
        description=(
            "Run the Web Connector SOAP service with the standard library's WSGI server. "
            "For production run qbwc.wsgi.make_wsgi_app under gunicorn (or qbwc.asgi under "
            "uvicorn) behind HTTPS; see docs/integrations.md. With $QBWC_LOGIN_SECRET set "
            "(at least 32 bytes, kept out of the database) good logins are remembered for "
            "--login-cache-seconds instead of paying the slow password hash each time "
            "(docs/service.md)."
        ),
    )
    _db(serve, create=True)
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (%(default)s)")
    serve.add_argument("--port", type=_port, default=8080, help="port, 0 to 65535 (%(default)s)")
    serve.add_argument(
        "--app-name", help="name used in messages and QWC files (default: the stored one)"
    )
    serve.add_argument("--batch-size", type=int, default=1, help="requests per round trip")
    serve.add_argument(
        "--busy-timeout",
        type=float,
        metavar="SECONDS",
        help="a session silent this long no longer makes a new one busy (default: 120)",
    )
    serve.add_argument(
        "--login-cache-seconds",
        type=float,
        metavar="SECONDS",
        help="how long a good login is remembered with $QBWC_LOGIN_SECRET (default: 86400)",
    )
    _owner(serve)
    serve.set_defaults(func=_closing(_serve))

    account = subparsers.add_parser(
        "account", help="manage Web Connector accounts", description="Manage accounts."
    )
    actions = account.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="add an account (prompts for the password)")
    add.add_argument("user", help="the account's user name (the QWC UserName)")
    add.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    _db(add, create=True)
    _owner(add)
    add.set_defaults(func=_closing(_account_add))
    # "password", as manage.py qbwc_account says; "passwd" still works.
    passwd = actions.add_parser("password", aliases=["passwd"], help="change an account's password")
    passwd.add_argument("user")
    passwd.add_argument("--password-stdin", action="store_true")
    _db(passwd)
    passwd.set_defaults(func=_closing(_account_passwd))
    listing = actions.add_parser("list", help="list accounts and their company files")
    _db(listing)
    listing.set_defaults(func=_closing(_account_list))
    disconnect = actions.add_parser(
        "disconnect",
        help="unlink the company file: the next sync links the open one, if it has the FileID",
    )
    disconnect.add_argument("user")
    disconnect.add_argument(
        "--new-file-id", action="store_true", help="also issue a new FileID (a new QWC file)"
    )
    _db(disconnect)
    disconnect.set_defaults(func=_closing(_account_disconnect))
    rename = actions.add_parser(
        "rename", help="rename an account (a new login email); keeps its FileID, file and jobs"
    )
    rename.add_argument("old", help="the account's current user name")
    rename.add_argument("new", help="its new user name")
    _db(rename)
    rename.set_defaults(func=_closing(_account_rename))
    qwc = actions.add_parser("qwc", help="write the account's .QWC file")
    qwc.add_argument("user")
    qwc.add_argument("--url", required=True, help="AppURL: where the service answers (https)")
    qwc.add_argument("--support-url", required=True, help="AppSupport: a page on the same host")
    qwc.add_argument("--app-name", help="AppName (default: the one stored with the database)")
    qwc.add_argument("--description", default="", help="AppDescription")
    qwc.add_argument("--every", metavar="INTERVAL", help="auto-run interval: 30s, 15m, 1h")
    qwc.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    _db(qwc)
    _owner(qwc)
    qwc.set_defaults(func=_closing(_account_qwc))

    enqueue = subparsers.add_parser(
        "enqueue",
        help="queue any request (JSON) for an account: an Add, Mod, Del, Void, Query...",
        description=(
            'Queue a request from a JSON file: {"type": "InvoiceAdd", ...} (or "CustomerAdd", '
            '"CustomerQuery", "ListDel"...) in the form of qbwc.qbxml.dump (decimals as '
            "strings), or a list of them."
        ),
    )
    enqueue.add_argument("file", help="the JSON file ('-' for standard input)")
    enqueue.add_argument("--user", required=True, help="the account")
    enqueue.add_argument("--key", help="idempotency key (one request only)")
    enqueue.add_argument(
        "--after",
        metavar="JOB_ID",
        help="send only after this job is done; fail if it fails (docs/service.md, Ordering)",
    )
    enqueue.add_argument(
        "--link",
        metavar="KEY",
        help=(
            "the linkage the write is about (one request only): an Add creates it (default: "
            "--key); a Mod, ListDel, TxnDel or TxnVoid names its object by it "
            "(docs/linkages.md)"
        ),
    )
    _page_size(enqueue)
    _db(enqueue)
    enqueue.set_defaults(func=_closing(_enqueue))

    links = subparsers.add_parser(
        "links",
        help="list an account's linkages: its keys for QuickBooks objects",
        description=(
            "The linkages of an account (docs/linkages.md): each key, the object's type, "
            "ListID or TxnID, EditSequence and full name, and when it was last seen."
        ),
    )
    links.add_argument("user", help="the account")
    links.add_argument("--type", metavar="TYPE", help="only objects of this type: Customer, ...")
    _db(links)
    links.set_defaults(func=_closing(_links))

    query = subparsers.add_parser(
        "query",
        help="queue a query (JSON) and print its records once synced",
        description=(
            'Queue a query from a JSON file ({"type": "CustomerQuery", ...}, the form of '
            "qbwc.qbxml.dump), or find the one queued with --key, and print its records as a "
            "table or JSON lines once the Web Connector has run it. Until then it says so "
            "(after --wait SECONDS, if given); qbwc jobs results JOB_ID prints them later."
        ),
    )
    query.add_argument("file", help="the JSON file of one query ('-' for standard input)")
    query.add_argument("--user", required=True, help="the account")
    query.add_argument("--key", help="idempotency key: run again, it finds the same query")
    _page_size(query)
    _format(query)
    query.add_argument(
        "--wait",
        type=float,
        metavar="SECONDS",
        help="wait this long for the sync to run it (default: do not wait)",
    )
    _db(query)
    query.set_defaults(func=_closing(_query))

    jobs = subparsers.add_parser(
        "jobs",
        help="list, retry, cancel or prune jobs",
        description=(
            "The job queue: list (the default: `qbwc jobs` is `qbwc jobs list`), retry a failed "
            "job, cancel a pending one, or prune finished ones."
        ),
    )
    _job_filters(jobs, argparse.SUPPRESS)
    _db(jobs)
    jobs.set_defaults(func=_closing(_jobs), user=None, status=None, limit=100, after=None)
    job_actions = jobs.add_subparsers(dest="action", metavar="ACTION")
    listing = job_actions.add_parser("list", help="one page of jobs, oldest first (the default)")
    _job_filters(listing, argparse.SUPPRESS)
    _db(listing, argparse.SUPPRESS)
    retry = job_actions.add_parser("retry", help="put a failed job back in the queue")
    retry.add_argument("job_id", metavar="JOB_ID")
    _db(retry, argparse.SUPPRESS)
    retry.set_defaults(func=_closing(_jobs_retry))
    cancel = job_actions.add_parser("cancel", help="cancel a pending job (it is never sent)")
    cancel.add_argument("job_id", metavar="JOB_ID")
    _db(cancel, argparse.SUPPRESS)
    cancel.set_defaults(func=_closing(_jobs_cancel))
    results = job_actions.add_parser("results", help="print the records of a finished query")
    results.add_argument("job_id", metavar="JOB_ID")
    _format(results)
    _db(results, argparse.SUPPRESS)
    results.set_defaults(func=_closing(_jobs_results))
    prune = job_actions.add_parser(
        "prune", help="delete finished jobs (done, failed, cancelled) older than an age"
    )
    prune.add_argument(
        "--older-than",
        required=True,
        metavar="AGE",
        help="last updated longer ago than this: 90d, 12h, 30m or 45s",
    )
    _db(prune, argparse.SUPPRESS)
    prune.set_defaults(func=_closing(_jobs_prune))


def _job_filters(parser: argparse.ArgumentParser, default: Any) -> None:
    """The listing options of ``jobs`` and ``jobs list`` (SUPPRESS: neither resets the other)."""
    from qbwc.store import JOB_STATUSES  # noqa: PLC0415

    parser.add_argument("--user", default=default, help="only this account's jobs")
    parser.add_argument("--status", choices=JOB_STATUSES, default=default)
    parser.add_argument(
        "--limit", type=int, default=default, help="at most this many, 1 to 10,000 (100)"
    )
    parser.add_argument(
        "--after", metavar="JOB_ID", default=default, help="the jobs after this one (next page)"
    )


def _page_size(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--page-size",
        type=int,
        metavar="N",
        help="run a query as an iterator, N records (1 to 10,000) per round (docs/queries.md)",
    )


def _format(parser: argparse.ArgumentParser) -> None:
    from qbwc._query_cli import FORMATS  # noqa: PLC0415

    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="table",
        help="a table (the default) or JSON lines (qbwc.qbxml.dump of each record)",
    )


def _closing(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Run *command*, then close the store it opened (a PostgreSQL pool holds connections)."""

    def run(args: argparse.Namespace) -> int:
        try:
            return command(args)
        finally:
            store = getattr(args, "opened_store", None)
            if store is not None:
                store.close()

    return run


def _db(parser: argparse.ArgumentParser, default: Any = None, *, create: bool = False) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--db", metavar="PATH", default=default, help=_NEW_DB_HELP if create else _DB_HELP
    )
    where.add_argument("--dsn", default=default, help=_DSN_HELP)
    parser.set_defaults(creates_db=create)


def _port(text: str) -> int:
    """A TCP port for ``--port`` (argparse turns the ValueError into a usage error)."""
    port = int(text)
    if not 0 <= port <= 65535:
        msg = f"{port} is not a port (0 to 65535)"
        raise argparse.ArgumentTypeError(msg)
    return port


def _owner(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--owner-id", help="the application's OwnerID (default: the one stored in the database)"
    )


def _service(args: argparse.Namespace, store: Any = None, **settings: Any) -> Any:
    from qbwc.service import WebConnectorService  # noqa: PLC0415

    where = None
    if store is None:
        store, where = _store(args)
    owner_id = _owner_id(args, store, where or "the database")
    return WebConnectorService(store=store, owner_id=owner_id, **settings)


def _store(args: argparse.Namespace) -> tuple[Any, str]:
    """
    The store the options name, and where it is (for messages, without a password).

    ``--dsn``, else ``--db``, else ``$QBWC_DSN``, else ``qbwc.sqlite``.
    """
    dsn = args.dsn
    if dsn is None and args.db is None:
        dsn = os.environ.get(DSN_ENV) or None
    if dsn is None:
        from qbwc.store import SQLiteStore  # noqa: PLC0415

        path = args.db or _DEFAULT_DB
        _check_sqlite_path(path, create=getattr(args, "creates_db", False))
        try:
            args.opened_store = SQLiteStore(path)
        except sqlite3.DatabaseError as exc:
            rule = f"{path} is not a SQLite database ({exc}): check the path"
            raise ConfigurationError("db", rule) from None
        return args.opened_store, path
    if not dsn.strip():
        raise ConfigurationError("dsn", "is empty: give a libpq connection string or URL")
    try:
        from qbwc.store import _postgres  # noqa: PLC0415
    except ImportError as exc:
        rule = f"needs psycopg 3 and psycopg-pool: pip install 'qbwc-toolkit[postgres]' ({exc})"
        raise ConfigurationError("dsn", rule) from None
    args.opened_store = _postgres.PostgresStore(dsn)
    return args.opened_store, _postgres._where(dsn)


def _check_sqlite_path(path: str, *, create: bool) -> None:
    """Refuse a --db that is a folder, in a missing folder, or missing for a read command."""
    where = Path(path)
    if where.is_dir():
        rule = f"{path} is a folder: name the database file, e.g. --db {where / _DEFAULT_DB}"
        raise ConfigurationError("db", rule)
    if where.exists():
        return
    folder = where.parent
    if not folder.is_dir():
        rule = f"the folder {folder} does not exist: create it, or name a file in another folder"
        raise ConfigurationError("db", rule)
    if not create:
        rule = (
            f"no database at {path}: check the path (--db), or set one up with "
            "qbwc account add USER (or qbwc serve)"
        )
        raise ConfigurationError("db", rule)


def _owner_id(args: argparse.Namespace, store: Any, where: str) -> uuid.UUID:
    """
    The OwnerID: --owner-id, else the one stored with the database.

    Only the commands that set a database up (``creates_db``) make a new one;
    the service records it, and refuses an --owner-id that differs from the
    stored one (naming both).
    """
    from qbwc.service._accounts import OWNER_ID_SETTING  # noqa: PLC0415

    given = getattr(args, "owner_id", None)
    if given is not None:
        try:
            return uuid.UUID(given)
        except ValueError:
            raise ConfigurationError("owner_id", f"{given!r} is not a GUID") from None
    with store.transaction() as tx:
        stored = tx.get_setting(OWNER_ID_SETTING)
    if stored is not None:
        return uuid.UUID(stored)
    if getattr(args, "creates_db", False):
        return uuid.uuid4()
    how = "run qbwc account qwc ... --owner-id GUID"
    if hasattr(args, "owner_id"):
        how = "pass --owner-id GUID"
    rule = (
        f"{where} has no OwnerID recorded yet: start your application's service on it once "
        f"(it records its OwnerID), or {how} with the OwnerID of your application"
    )
    raise ConfigurationError("owner_id", rule)


def _password(args: argparse.Namespace, stdin: TextIO | None = None) -> str:
    if args.password_stdin:
        text = (stdin or sys.stdin).readline().rstrip("\r\n")
    elif sys.stdin.isatty():
        text = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != text:
            raise ConfigurationError("password", "the two passwords differ")
    else:
        raise ConfigurationError("password", "use --password-stdin when not on a terminal")
    if not text:
        raise ConfigurationError("password", "must not be empty")
    return text


def _serve(args: argparse.Namespace) -> int:
    from wsgiref.simple_server import WSGIRequestHandler, make_server  # noqa: PLC0415

    from qbwc.wsgi import make_wsgi_app  # noqa: PLC0415

    settings: dict[str, Any] = {"app_name": args.app_name, "batch_size": args.batch_size}
    if args.busy_timeout is not None:
        settings["busy_timeout"] = args.busy_timeout
    if args.login_cache_seconds is not None:
        settings["login_cache_seconds"] = args.login_cache_seconds
    secret = os.environ.get(LOGIN_SECRET_ENV) or None
    if secret is not None and len(secret.encode("utf-8", "surrogatepass")) < 32:
        rule = "must be at least 32 bytes (e.g. the output of: openssl rand -hex 32)"
        raise ConfigurationError(LOGIN_SECRET_ENV, rule)
    settings["login_secret"] = secret
    store, where = _store(args)
    service = _service(args, store, **settings)

    class _Quiet(WSGIRequestHandler):
        def log_message(self, format: str, *values: Any) -> None:
            sys.stderr.write(f"qbwc serve: {self.address_string()} {format % values}\n")

    try:
        httpd = make_server(args.host, args.port, make_wsgi_app(service), handler_class=_Quiet)
    except OSError as exc:
        raise _listen_error(args.host, args.port, exc) from None
    with httpd:
        # With --port 0 the system picks the port: say which.
        print(
            f"qbwc serve: listening on http://{args.host}:{httpd.server_port}/ "
            f"(database {where}, OwnerID {{{str(service.owner_id).upper()}}}); Ctrl+C stops",
            file=sys.stderr,
        )
        httpd.serve_forever()
    return 0  # pragma: no cover - serve_forever only ends with an exception


def _listen_error(host: str, port: int, exc: OSError) -> ConfigurationError:
    """Why ``serve`` cannot listen, and what to do."""
    if exc.errno == errno.EADDRINUSE:
        rule = f"{port} on {host} is in use by another program: stop it, or choose another --port"
        return ConfigurationError("port", rule)
    if exc.errno == errno.EACCES:
        rule = f"{port} on {host} needs administrator rights: choose a port above 1023"
        return ConfigurationError("port", rule)
    reason = exc.strerror or str(exc)
    return ConfigurationError("host", f"cannot listen on {host}:{port} ({reason}): check --host")


def _account_add(args: argparse.Namespace) -> int:
    password = _password(args)
    service = _service(args)
    account = service.add_account(args.user, password)
    print(f"added {account.username!r} (FileID {{{str(account.file_id).upper()}}})")
    return 0


def _account_passwd(args: argparse.Namespace) -> int:
    password = _password(args)
    _service(args).set_password(args.user, password)
    print(f"password of {args.user!r} changed; enter it in the Web Connector too")
    return 0


def _account_list(args: argparse.Namespace) -> int:
    accounts = _service(args).accounts()
    if not accounts:
        print("no accounts (add one with: qbwc account add USER)")
        return 0
    print("\n".join(account_table(accounts)))
    return 0


def _account_disconnect(args: argparse.Namespace) -> int:
    result = _service(args).disconnect(args.user, new_file_id=args.new_file_id)
    print(f"{result.account.username!r} is no longer linked to a company file")
    print(forgotten_line(result))
    if args.new_file_id:
        print("a new FileID was issued: download the QWC file again (qbwc account qwc)")
    for line in unconfirmed_lines(result):
        print(line)
    return 0


def _account_rename(args: argparse.Namespace) -> int:
    account = _service(args).rename_account(args.old, args.new)
    print(f"{args.old!r} is now {account.username!r} (same FileID, company file and jobs)")
    print("give the user the new QWC file (qbwc account qwc) to add in the Web Connector")
    return 0


def _account_qwc(args: argparse.Namespace) -> int:
    service = _service(args)
    data = service.qwc(
        args.user,
        app_url=args.url,
        app_support=args.support_url,
        app_name=args.app_name,
        app_description=args.description,
        run_every=args.every,
    )
    if args.output:
        try:
            Path(args.output).write_bytes(data)
        except OSError as exc:
            rule = f"cannot write {args.output}: {exc.strerror or exc}"
            raise ConfigurationError("output", rule) from None
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(data.decode("utf-8"))
    return 0


def _read_models(args: argparse.Namespace) -> list[Any]:
    """The request models of ``args.file``, all checked before anything is queued."""
    from qbwc._query_cli import read_requests  # noqa: PLC0415

    return read_requests(args.file, sys.stdin, key=args.key, page_size=args.page_size)


def _account_of(service: Any, user: str) -> None:
    if service.account(user) is None:
        rule = f"no account {user!r} (add it with qbwc account add)"
        raise ConfigurationError("user", rule)


def _enqueue(args: argparse.Namespace) -> int:
    models = _read_models(args)
    if args.link is not None and len(models) > 1:
        rule = f"names one object: give one request, not {len(models)}"
        raise ConfigurationError("link", rule)
    service = _service(args)
    _account_of(service, args.user)
    for model in models:
        job = service.enqueue(
            args.user,
            model,
            key=args.key,
            after=args.after,
            page_size=args.page_size,
            link=args.link,
        )
        waits = "" if job.after is None else f" (after job {job.after})"
        print(f"job {job.id}: {job.request_type} for {job.username!r}, {job.status}{waits}")
    return 0


def _links(args: argparse.Namespace) -> int:
    service = _service(args)
    _account_of(service, args.user)
    found = service.links(args.user, type=args.type)
    if not found:
        what = "" if args.type is None else f" to a {args.type}"
        print(f"no linkages{what} for {args.user!r}")
        return 0
    print("\n".join(link_table(found)))
    return 0


def _query(args: argparse.Namespace) -> int:
    from qbwc._query_cli import check_wait, run_query  # noqa: PLC0415

    check_wait(args.wait)
    models = _read_models(args)
    service = _service(args)
    _account_of(service, args.user)
    run_query(
        service,
        args.file,
        models,
        user=args.user,
        options=vars(args),
        write=_write_line,
        say=lambda text: print(f"qbwc query: {text}", file=sys.stderr),
        tool="qbwc ",
    )
    return 0


def _write_line(line: str) -> None:
    sys.stdout.write(line + "\n")


def _jobs_results(args: argparse.Namespace) -> int:
    from qbwc._query_cli import print_results  # noqa: PLC0415

    service = _service(args)
    job = service.job(args.job_id)
    if job is None:
        raise ConfigurationError("job_id", f"no job {args.job_id}")
    print_results(service, job, args.format, _write_line, "qbwc ")
    return 0


def _jobs(args: argparse.Namespace) -> int:
    service = _service(args)
    jobs = service.jobs(args.user, status=args.status, limit=args.limit, after=args.after)
    if not jobs:
        print("no jobs" if args.after is None else f"no jobs after {args.after}")
        return 0
    names = {job.username for job in jobs}
    never = set()
    for name in names:
        account = service.account(name)
        if account is not None and account.last_seen_at is None:
            never.add(name)
    print("\n".join(job_table(jobs, never)))
    if len(jobs) == args.limit:
        print(f"(more may follow: qbwc jobs --after {jobs[-1].id})", file=sys.stderr)
    return 0


def _jobs_retry(args: argparse.Namespace) -> int:
    job = _service(args).retry(args.job_id)
    print(f"job {job.id} is pending again; it goes with the next sync")
    return 0


def _jobs_cancel(args: argparse.Namespace) -> int:
    job = _service(args).cancel(args.job_id)
    print(f"job {job.id} cancelled; it will not be sent")
    return 0


def _jobs_prune(args: argparse.Namespace) -> int:
    age = parse_age(args.older_than)
    count = _service(args).prune(older_than=age)
    print(f"deleted {count} finished job{'' if count == 1 else 's'} older than {args.older_than}")
    return 0
