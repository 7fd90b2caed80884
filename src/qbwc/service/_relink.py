"""What a company-file link owns: forgotten when it ends or a new one starts (docs/service.md)."""

from __future__ import annotations

from qbwc.store._protocol import StoreTransaction

__all__ = ["forget_company_state"]


def forget_company_state(tx: StoreTransaction, username: str) -> tuple[int, int, int]:
    """
    Remove the account's linkages and delivered marks and reset its pulls' cursors.

    The follow declarations stay, so the pulls start from scratch with the next
    linked file (docs/service.md, "Disconnect and relink").  Runs in the caller's
    transaction, under its claim of the account.  Returns (links, cursors, marks):
    how many links were removed, cursors reset, marks removed.
    """
    return tx.drop_links(username), tx.reset_follows(username), tx.drop_marks(username)
