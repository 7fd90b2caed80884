"""The account and job tables of ``qbwc account list``, ``qbwc jobs`` and their manage.py twins."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from qbwc.store import Account, Job

if TYPE_CHECKING:
    from qbwc._service import Disconnection

__all__ = ["account_table", "job_table", "unconfirmed_lines"]


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
    """One line per job (its error shortened, with its support reference), after a heading."""
    rows = [("ID", "USER", "KEY", "TYPE", "STATUS", "TRIES", "TXNID", "ERROR")]
    for job in jobs:
        error = ""
        if job.error is not None:
            error = f"{job.error.code} {job.error.message[:60]} [{job.error.reference}]"
        rows.append(
            (job.id, job.username, job.key or "", job.request_type, job.status,
             str(job.attempts), job.txn_id or "", error)
        )  # fmt: skip
    return _lines(rows)


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
