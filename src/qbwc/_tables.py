"""The account and job tables of ``qbwc account list``, ``qbwc jobs`` and their manage.py twins."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from qbwc.store import Account, Job

if TYPE_CHECKING:
    from qbwc._service import Disconnection

__all__ = ["ERROR_WIDTH", "account_table", "job_table", "shorten", "unconfirmed_lines"]

#: The longest error message in ``qbwc jobs`` (before its support reference).
ERROR_WIDTH = 60
_ELLIPSIS = "..."


def account_table(accounts: Iterable[Account]) -> list[str]:
    """One line per account (user, linked company file, when linked), after a heading."""
    rows = [("USER", "COMPANY FILE", "LINKED")]
    for account in accounts:
        company = "(not linked yet)"
        if account.linked_file_id is not None:
            company = f"{account.company_name} ({account.company_file})"
        linked = "" if account.linked_at is None else f"{account.linked_at:%Y-%m-%d %H:%M}"
        rows.append((account.username, company, linked))
    return _lines(rows)


def job_table(jobs: Iterable[Job]) -> list[str]:
    """One line per job (its error shortened at a word, its support reference kept)."""
    rows = [("ID", "USER", "KEY", "TYPE", "STATUS", "TRIES", "TXNID", "ERROR")]
    for job in jobs:
        error = ""
        if job.error is not None:
            reference = f" [{job.error.reference}]" if job.error.reference else ""
            error = f"{job.error.code} {shorten(job.error.message, ERROR_WIDTH)}{reference}"
        rows.append(
            (job.id, job.username, job.key or "", job.request_type, job.status,
             str(job.attempts), job.txn_id or "", error)
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
