"""
What ``qbwc account list``, ``qbwc jobs`` and their manage.py twins share.

The account, job and linkage tables, and the reading of ``--older-than`` ages.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Iterable, Sequence
from typing import TYPE_CHECKING, Final

from qbwc.exceptions import ConfigurationError
from qbwc.store import Account, Job, Link

if TYPE_CHECKING:
    from qbwc.service import Disconnection

__all__ = [
    "ERROR_WIDTH",
    "NEVER_CONNECTED",
    "account_table",
    "forgotten_line",
    "job_table",
    "link_table",
    "parse_age",
    "shorten",
    "unconfirmed_lines",
]

#: The longest error message in ``qbwc jobs`` (before its support reference).
ERROR_WIDTH: Final = 60
_ELLIPSIS: Final = "..."

#: What the tables say of an account the Web Connector never logged in to.
NEVER_CONNECTED: Final = "never connected"

_AGE: Final = re.compile(r"([0-9]{1,9})([smhd])")
_UNIT_SECONDS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86_400}


def parse_age(text: str, field: str = "older_than") -> dt.timedelta:
    """
    An age such as ``90d``, ``12h``, ``30m`` or ``45s`` as a timedelta.

    Raises:
        ConfigurationError: *text* is not a whole number followed by s, m, h or d.
    """
    match = _AGE.fullmatch(text.strip())
    if match is None:
        rule = f"{text!r} is not an age: a whole number and a unit, e.g. 90d, 12h, 30m, 45s"
        raise ConfigurationError(field, rule)
    seconds = int(match[1]) * _UNIT_SECONDS[match[2]]
    if seconds > 100 * 366 * 86_400:
        raise ConfigurationError(field, f"{text!r} is more than 100 years")
    return dt.timedelta(seconds=seconds)


def account_table(accounts: Iterable[Account]) -> list[str]:
    """One line per account (user, company file, when linked, last login), after a heading."""
    rows = [("USER", "COMPANY FILE", "LINKED", "LAST SEEN")]
    for account in accounts:
        company = "(not linked yet)"
        if account.linked_file_id is not None:
            company = f"{account.company_name} ({account.company_file})"
        linked = "" if account.linked_at is None else f"{account.linked_at:%Y-%m-%d %H:%M}"
        seen = NEVER_CONNECTED
        if account.last_seen_at is not None:
            seen = f"{account.last_seen_at:%Y-%m-%d %H:%M}"
        rows.append((account.username, company, linked, seen))
    return _lines(rows)


def job_table(jobs: Iterable[Job], never_connected: Collection[str] = ()) -> list[str]:
    """
    One line per job (its error shortened at a word, its support reference kept), after a heading.

    The TXNID/LISTID column shows what QuickBooks named (a transaction's TxnID, a list
    object's ListID), or a query's record and page counts (" so far" while a paged
    query runs, or after it failed).

    A note follows for the accounts in *never_connected* that have jobs on the page: their
    jobs wait for a Web Connector that never logged in.
    """
    rows = [("ID", "USER", "KEY", "TYPE", "STATUS", "TRIES", "TXNID/LISTID", "ERROR")]
    for job in jobs:
        error = ""
        if job.error is not None:
            reference = f" [{job.error.reference}]" if job.error.reference else ""
            error = f"{job.error.code} {shorten(job.error.message, ERROR_WIDTH)}{reference}"
        elif job.status == "pending" and job.after is not None:
            error = f"(waits for job {job.after})"
        found = job.txn_id or job.list_id or ""
        if job.is_query and (job.status == "done" or job.pages):
            found = f"{job.records} record{'' if job.records == 1 else 's'}"
            found += f", {job.pages} pages" if job.pages != 1 else ""
            found += "" if job.status == "done" else " so far"
        rows.append(
            (job.id, job.username, job.key or "", job.request_type, job.status,
             str(job.attempts), found, error)
        )  # fmt: skip
    lines = _lines(rows)
    waiting = sorted({row[1] for row in rows[1:]} & set(never_connected))
    lines.extend(
        f"note: {name!r} {NEVER_CONNECTED}: its jobs wait until its Web Connector logs in"
        for name in waiting
    )
    return lines


def link_table(links: Iterable[Link]) -> list[str]:
    """One line per linkage (key, type, ID, EditSequence, full name, when seen), after a heading."""
    rows = [("KEY", "TYPE", "TXNID/LISTID", "EDITSEQUENCE", "FULL NAME", "SEEN")]
    for link in links:
        rows.append(
            (link.key, link.type, link.txn_id or link.list_id or "", link.edit_sequence or "",
             link.full_name or "", f"{link.seen_at:%Y-%m-%d %H:%M}")
        )  # fmt: skip
    return _lines(rows)


def shorten(text: str, width: int) -> str:
    """
    *text* on one line, at most *width* characters: cut after a whole word, with "...".

    A first word longer than *width* is cut inside it (there is no word to cut after).
    """
    text = " ".join(text.split())
    if len(text) <= width:
        return text
    room = max(width - len(_ELLIPSIS), 1)
    cut = text[:room]
    if text[room] != " " and " " in cut:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:.") + _ELLIPSIS


def forgotten_line(result: Disconnection) -> str:
    """What ``disconnect`` prints about the linkages and pull state it removed."""
    return (
        f"removed {result.links} linkage(s) and {result.marks} delivered-change mark(s); "
        f"reset {result.cursors} pull cursor(s) (pulls start from scratch with the next file)"
    )


def unconfirmed_lines(result: Disconnection) -> list[str]:
    """What ``disconnect`` prints about the writes it failed as unconfirmed (none: nothing)."""
    jobs = result.unconfirmed_jobs
    if not jobs:
        return []
    head = (
        f"{len(jobs)} job(s) were in flight with the old company file and may exist there; "
        "they failed as unconfirmed (check each in that file, then retry it):"
    )
    return [head, *job_table(jobs)]


def _lines(rows: Sequence[tuple[str, ...]]) -> list[str]:
    """*rows* as aligned columns (the first row is the heading)."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
