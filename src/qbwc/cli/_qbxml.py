"""``qbwc build`` (JSON → qbXML) and ``qbwc validate`` (qbXML or .QWC files)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from qbwc._xml import parse_untrusted
from qbwc.exceptions import QBXMLValidationError, XMLParseError
from qbwc.qbxml._build import EDITIONS, ON_ERROR_VALUES, build_request
from qbwc.qbxml._json import load
from qbwc.qbxml._read import parse_request
from qbwc.qbxml._text import TEXT_POLICIES
from qbwc.qbxml._xsd import validate

__all__ = ["register"]

_BUILD_EPILOG = """\
FILE holds one request in qbwc's JSON form, or a list of them, e.g.
  {"type": "InvoiceAdd", "customer_ref": {"full_name": "Acme Corp"},
   "lines": [{"type": "InvoiceLineAdd", "desc": "Consulting", "amount": "150.00"}]}
Decimals are strings, dates YYYY-MM-DD.  An entry may carry "request_id".
Use - to read standard input.
"""


def register(subparsers: Any) -> None:
    """Add the ``build`` and ``validate`` commands."""
    build: argparse.ArgumentParser = subparsers.add_parser(
        "build",
        help="build a qbXML request from JSON",
        description="Build a qbXML request document from requests in qbwc's JSON form.",
        epilog=_BUILD_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    build.add_argument("file", metavar="FILE.json", help="the request(s), or - for stdin")
    build.add_argument(
        "--version", default="13.0", metavar="X.Y", help="qbXML version (default 13.0)"
    )
    build.add_argument("--on-error", choices=ON_ERROR_VALUES, default="stopOnError")
    build.add_argument("--message-set-id", metavar="ID", help="newMessageSetID (error recovery)")
    build.add_argument(
        "--text-policy",
        choices=TEXT_POLICIES,
        default="strict",
        help="refuse text outside ISO-8859-1 (strict) or map it to ASCII",
    )
    build.add_argument(
        "--edition",
        choices=EDITIONS,
        default="US",
        help="the QuickBooks edition whose maximum lengths apply (default US)",
    )
    build.add_argument("-o", "--output", metavar="OUT", help="write here instead of stdout")
    build.set_defaults(func=_build)

    check: argparse.ArgumentParser = subparsers.add_parser(
        "validate",
        help="check qbXML requests or .QWC files",
        description=(
            "Check qbXML documents (well-formed, qbwc's schema, every rule the builder "
            "enforces) and .QWC files.  Prints what is wrong; exits 1 if anything is."
        ),
    )
    check.add_argument("files", nargs="+", metavar="FILE")
    check.set_defaults(func=_validate)


def _say(command: str, text: str) -> None:
    print(f"qbwc {command}: {text}", file=sys.stderr)


def _read_input(name: str) -> bytes:
    if name == "-":
        return sys.stdin.buffer.read()
    return Path(name).read_bytes()


def _build(args: argparse.Namespace) -> int:
    try:
        raw = _read_input(args.file)
    except OSError as exc:
        _say("build", f"cannot read {args.file}: {exc.strerror or exc}")
        return 1
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        _say("build", f"{args.file}: not valid JSON ({exc})")
        return 1
    entries = data if isinstance(data, list) else [data]
    requests: list[Any] = []
    try:
        for index, entry in enumerate(entries):
            request_id = None
            fields = entry
            if isinstance(entry, dict) and "request_id" in entry:
                fields = dict(entry)
                request_id = fields.pop("request_id")
                if not isinstance(request_id, str):
                    raise QBXMLValidationError(f"[{index}].request_id", "expected a string")
            model = load(fields)
            requests.append(model if request_id is None else (request_id, model))
        document = build_request(
            requests,
            version=args.version,
            on_error=args.on_error,
            message_set_id=args.message_set_id,
            text_policy=args.text_policy,
            edition=args.edition,
        )
    except QBXMLValidationError as exc:
        _say("build", f"{args.file}: {exc}")
        return 1
    if args.output is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(document + b"\n")
        sys.stdout.buffer.flush()
        return 0
    try:
        Path(args.output).write_bytes(document)
    except OSError as exc:
        _say("build", f"cannot write {args.output}: {exc.strerror or exc}")
        return 1
    return 0


def _validate(args: argparse.Namespace) -> int:
    failed = False
    for name in args.files:
        found = _problems(name)
        if found:
            failed = True
            for problem in found:
                print(f"{name}: {problem}")
        else:
            print(f"{name}: OK")
    return 1 if failed else 0


def _problems(name: str) -> list[str]:
    try:
        data = _read_input(name)
    except OSError as exc:
        return [f"cannot read the file ({exc.strerror or exc})"]
    try:
        root = parse_untrusted(data, what="document")
    except XMLParseError as exc:
        return [str(exc)]
    if root.tag == "QBWCXML":
        from qbwc.qwc import problems  # noqa: PLC0415 - only for .QWC files

        return list(problems(data))
    found: list[str] = []
    try:
        validate(root)
    except QBXMLValidationError as exc:
        found.append(f"qbwc schema: {exc.path}: {exc.rule}")
    if root.find("QBXMLMsgsRq") is not None:
        try:
            parse_request(data)
        except QBXMLValidationError as exc:
            found.append(f"{exc.path}: {exc.rule}")
    return found
