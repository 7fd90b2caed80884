"""``manage.py qbwc_account add|list|password|disconnect|rename|qwc``: Web Connector logins."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand  # type: ignore[import-untyped]

from qbwc._tables import account_table, forgotten_line, unconfirmed_lines
from qbwc.django._conf import get_service
from qbwc.django.management._common import read_password, run
from qbwc.django.management.commands.qbwc_qwc import add_qwc_arguments, write_qwc


class Command(BaseCommand):  # type: ignore[misc]
    help = (
        "Add, list, re-password, disconnect or rename the accounts the Web Connector logs in "
        "with, or write one's QWC file (the same actions as qbwc account)."
    )
    stealth_options = ("stdin",)  # call_command(..., stdin=io.StringIO("password"))

    def add_arguments(self, parser: Any) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        add = actions.add_parser("add", help="add an account (password from a prompt or stdin)")
        add.add_argument("user", help="the UserName in the account's QWC file")
        add.add_argument("--password-stdin", action="store_true", help="read the password")
        actions.add_parser("list", help="list accounts and their company files")
        password = actions.add_parser("password", help="change an account's password")
        password.add_argument("user")
        password.add_argument("--password-stdin", action="store_true", help="read the password")
        disconnect = actions.add_parser(
            "disconnect",
            help="unlink the company file: the next sync links the open one, if it has the FileID",
        )
        disconnect.add_argument("user")
        disconnect.add_argument(
            "--new-file-id", action="store_true", help="also issue a new FileID (new QWC file)"
        )
        rename = actions.add_parser(
            "rename", help="rename an account (a new login email); keeps FileID, file and jobs"
        )
        rename.add_argument("old", help="the account's current user name")
        rename.add_argument("new", help="its new user name")
        add_qwc_arguments(actions.add_parser("qwc", help="write the account's .QWC file"))

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "qwc":
            write_qwc(self, options)
            return
        run(lambda: getattr(self, "_" + options["action"])(options))

    def _add(self, options: dict[str, Any]) -> None:
        account = get_service().add_account(options["user"], read_password(options))
        self.stdout.write(f"added {account.username!r} (FileID {{{str(account.file_id).upper()}}})")

    def _password(self, options: dict[str, Any]) -> None:
        get_service().set_password(options["user"], read_password(options))
        self.stdout.write(f"password of {options['user']!r} changed; enter it in the Web Connector")

    def _list(self, options: dict[str, Any]) -> None:
        accounts = get_service().accounts()
        if not accounts:
            self.stdout.write("no accounts (add one with: manage.py qbwc_account add USER)")
            return
        for line in account_table(accounts):
            self.stdout.write(line)

    def _disconnect(self, options: dict[str, Any]) -> None:
        result = get_service().disconnect(options["user"], new_file_id=options["new_file_id"])
        self.stdout.write(f"{result.account.username!r} is no longer linked to a company file")
        self.stdout.write(forgotten_line(result))
        if options["new_file_id"]:
            self.stdout.write("a new FileID was issued: send the user a new QWC file (qbwc_qwc)")
        for line in unconfirmed_lines(result):
            self.stdout.write(line)

    def _rename(self, options: dict[str, Any]) -> None:
        account = get_service().rename_account(options["old"], options["new"])
        self.stdout.write(
            f"{options['old']!r} is now {account.username!r} (same FileID, company file and jobs)"
        )
        self.stdout.write("give the user the new QWC file (qbwc_qwc) to add in the Web Connector")
