"""
Sending the site's invoices to QuickBooks, and hearing back.

``send_to_quickbooks`` queues an InvoiceAdd.  With ``QBWC["DATABASE"]`` the job
is written through Django's connection, in the caller's transaction: it is
committed with the invoice or rolled back with it.  (With a store of its own,
SQLITE_PATH here, it waits for the commit instead.)  The invoice's primary key
is the idempotency key, so calling it twice is harmless.  The two hooks, named
in ``settings.QBWC["SERVICE"]``, store what QuickBooks answered.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction

from qbwc.django import get_service
from qbwc.qbxml import InvoiceAdd, InvoiceLineAdd, Ref
from qbwc.store import Job

from .models import Invoice


def send_to_quickbooks(invoice: Invoice) -> None:
    """Queue *invoice* for its QuickBooks company file, after the current transaction commits."""
    request = InvoiceAdd(
        customer_ref=Ref(full_name=invoice.customer),
        ref_number=invoice.number,
        lines=[InvoiceLineAdd(item_ref=Ref(full_name=invoice.item), quantity=invoice.quantity)],
    )

    def enqueue() -> None:
        get_service().enqueue(invoice.quickbooks_user, request, key=f"invoice-{invoice.pk}")
        Invoice.objects.filter(pk=invoice.pk).update(qb_status="queued")

    if "DATABASE" in settings.QBWC:
        enqueue()  # in the caller's transaction
    else:
        transaction.on_commit(enqueue)


def _invoice_id(job: Job) -> int | None:
    if job.key and job.key.startswith("invoice-"):
        return int(job.key.removeprefix("invoice-"))
    return None


def job_done(job: Job) -> None:
    """Hook: QuickBooks created the invoice; keep its TxnID."""
    done = Invoice.objects.filter(pk=_invoice_id(job))
    done.update(qb_status="in QuickBooks", qb_txn_id=job.txn_id)


def job_failed(job: Job) -> None:
    """Hook: QuickBooks refused it; show why (and the support reference) in the site."""
    assert job.error is not None  # a failed job always has one
    text = f"failed: {job.error.message} ({job.error.reference})"[:200]
    Invoice.objects.filter(pk=_invoice_id(job)).update(qb_status=text)
