"""``qbwc qwc``: write the .QWC file a user opens to register the service."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from qbwc.qwc import (
    QBType,
    QWCConfig,
    Scheduler,
    UnattendedModePref,
    file_id_for,
    new_file_id,
    new_owner_id,
)

__all__ = ["register"]

_EPILOG = """\
Without --owner-id a new OwnerID is generated and printed on stderr: keep it and
pass it for every file of this application.  Without --file-id or --company a
new FileID is generated and printed: store it with the account.  --company KEY
derives the FileID from the OwnerID, the user and KEY, so the same arguments
always write the same file.
"""


def register(subparsers: Any) -> None:
    """Add the ``qwc`` command."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "qwc",
        help="write a .QWC file for the Web Connector",
        description="Write a .QWC file that registers your service with the Web Connector.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--app-name", required=True, help="AppName, shown in QuickBooks")
    parser.add_argument("--url", required=True, help="AppURL: your https SOAP endpoint")
    parser.add_argument(
        "--support-url", required=True, help="AppSupport: a support page on the same domain"
    )
    parser.add_argument("--user", required=True, help="UserName: the account to log in as")
    parser.add_argument("--owner-id", help="OwnerID GUID of your application")
    ids = parser.add_mutually_exclusive_group()
    ids.add_argument("--file-id", help="FileID GUID for this account and company file")
    ids.add_argument("--company", metavar="KEY", help="derive the FileID from this key")
    parser.add_argument("--every", metavar="INTERVAL", help="auto-run interval: 30s, 15m, 1h")
    parser.add_argument("--description", default="", help="AppDescription (80 characters)")
    parser.add_argument("--app-id", default="", help="AppID (usually empty)")
    parser.add_argument("--unique-name", help="AppUniqueName: replace, never clone")
    parser.add_argument("--display-name", help="AppDisplayName, shown in the Web Connector")
    parser.add_argument("--read-only", action="store_true", help="IsReadOnly true")
    parser.add_argument(
        "--unattended",
        action="store_true",
        help="UnattendedModePref umpRequired: run while QuickBooks is closed",
    )
    parser.add_argument(
        "--qb-type", choices=[member.value for member in QBType], default=QBType.QBFS.value
    )
    parser.add_argument(
        "--lenient",
        action="store_true",
        help="skip the Web Connector's URL rules (https, no IP, one domain), e.g. on a LAN",
    )
    parser.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    parser.set_defaults(func=_run)


def _note(text: str) -> None:
    print(f"qbwc qwc: {text}", file=sys.stderr)


def _run(args: argparse.Namespace) -> int:
    notes: list[str] = []
    if args.owner_id is None:
        owner_id = new_owner_id()
        notes.append(
            f"generated OwnerID {{{str(owner_id).upper()}}}: keep it and pass it as "
            "--owner-id for every file of this application (one OwnerID per application)"
        )
    else:
        owner_id = args.owner_id
    if args.file_id is not None:
        file_id = args.file_id
    elif args.company is not None:
        file_id = file_id_for(owner_id, account=args.user, company_file=args.company)
    else:
        file_id = new_file_id()
        notes.append(
            f"generated FileID {{{str(file_id).upper()}}}: store it with this account and "
            "company file, and pass it as --file-id to issue the same file again"
        )
    config = QWCConfig(
        app_name=args.app_name,
        app_url=args.url,
        app_support=args.support_url,
        user_name=args.user,
        owner_id=owner_id,
        file_id=file_id,
        app_id=args.app_id,
        app_description=args.description,
        app_display_name=args.display_name,
        app_unique_name=args.unique_name,
        qb_type=QBType(args.qb_type),
        scheduler=None if args.every is None else Scheduler.every(args.every),
        is_read_only=bool(args.read_only),
        unattended_mode_pref=(
            UnattendedModePref.REQUIRED if args.unattended else UnattendedModePref.OPTIONAL
        ),
        strict=not args.lenient,
    )
    data = config.to_xml()
    if args.output is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        try:
            Path(args.output).write_bytes(data)
        except OSError as exc:
            _note(f"cannot write {args.output}: {exc.strerror or exc}")
            return 1
    for note in notes:
        _note(note)
    for advice in config.advice():
        _note(f"note: {advice}")
    return 0
