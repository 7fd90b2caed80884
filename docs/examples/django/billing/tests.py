"""
The site's tests for its QuickBooks sync, with Django's test client.

A fake Web Connector in front of a fake QuickBooks company (``qbwc.testing``)
calls the site's ``/qbwc/`` URL through the test client, exactly as the real
one would over HTTPS.  Run: ``python manage.py test billing``.
"""

from __future__ import annotations

import io
import uuid
from decimal import Decimal

from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client, TestCase

from qbwc.testing import FakeQuickBooks, FakeWebConnector

from .models import Invoice
from .quickbooks import send_to_quickbooks


def web_connector(client: Client, quickbooks: FakeQuickBooks) -> FakeWebConnector:
    """A fake Web Connector whose calls go through Django's test client to /qbwc/."""

    def send(body: bytes, action: str) -> tuple[int, bytes]:
        response = client.post(
            "/qbwc/",
            data=body,
            content_type="text/xml; charset=utf-8",
            HTTP_SOAPACTION=f'"{action}"',
            secure=True,
        )
        return response.status_code, response.content

    return FakeWebConnector(None, quickbooks, transport=send)


class QuickBooksSyncTests(TestCase):
    def setUp(self) -> None:
        self.user = f"books-{uuid.uuid4().hex[:8]}@acme.example"
        call_command("qbwc_account", "add", self.user, "--password-stdin",
                     stdin=io.StringIO("s3cret\n"), stdout=io.StringIO())  # fmt: skip

    def qwc(self) -> str:
        out = io.StringIO()
        call_command("qbwc_qwc", self.user, stdout=out)
        return out.getvalue()

    def invoice(self, number: str, customer: str = "Acme Corp") -> Invoice:
        with self.captureOnCommitCallbacks(execute=True):
            invoice: Invoice = Invoice.objects.create(
                number=number,
                customer=customer,
                item="Consulting",
                quantity=Decimal(2),
                quickbooks_user=self.user,
            )
            send_to_quickbooks(invoice)
        return invoice

    def test_invoices_reach_quickbooks_and_txn_ids_come_back(self) -> None:
        """Two invoices go over /qbwc/ in one sync; the hooks store each TxnID on the invoice."""
        first, second = self.invoice("1001"), self.invoice("1002")
        quickbooks = FakeQuickBooks.sample()
        connector = web_connector(self.client, quickbooks)
        connector.add_application(self.qwc(), password="s3cret")

        results = connector.sync()

        assert results[-1].status == "No Data Exchange"
        created = {ret.ref_number: ret.txn_id for ret in quickbooks.invoices}
        for invoice in (first, second):
            invoice.refresh_from_db()
            assert invoice.qb_status == "in QuickBooks"
            assert invoice.qb_txn_id == created[invoice.number]

    def test_refused_invoice_is_reported_on_the_site(self) -> None:
        """An invoice for a customer QuickBooks does not know fails with its message."""
        invoice = self.invoice("1003", customer="Nobody Inc")
        connector = web_connector(self.client, FakeQuickBooks.sample())
        connector.add_application(self.qwc(), password="s3cret")
        connector.sync()
        invoice.refresh_from_db()
        assert invoice.qb_status.startswith("failed:"), invoice.qb_status
        assert "QBWC-" in invoice.qb_status
        jobs = io.StringIO()
        call_command("qbwc_jobs", "--user", self.user, stdout=jobs)
        assert "failed" in jobs.getvalue()
        assert "3140" in jobs.getvalue()

    def test_wsdl_and_methods(self) -> None:
        """GET ?wsdl answers the WSDL naming this URL; other methods get 405."""
        response = self.client.get("/qbwc/?wsdl", secure=True)
        assert response.status_code == 200
        assert b"https://testserver/qbwc/" in response.content
        assert self.client.put("/qbwc/").status_code == 405

    def test_no_csrf_token_needed(self) -> None:
        """The Web Connector sends no CSRF token; the endpoint is exempt."""
        strict = Client(enforce_csrf_checks=True)
        body = (
            b'<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap='
            b'"http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><serverVersion '
            b'xmlns="http://developer.intuit.com/"/></soap:Body></soap:Envelope>'
        )
        response = strict.post("/qbwc/", data=body, content_type="text/xml", secure=True)
        assert response.status_code == 200
        assert b"serverVersionResult" in response.content

    def test_management_commands(self) -> None:
        """Accounts list with their company file, disconnect unlinks it, errors are one line."""
        self.invoice("1004")
        connector = web_connector(self.client, FakeQuickBooks.sample())
        connector.add_application(self.qwc(), password="s3cret")
        connector.sync()
        accounts = io.StringIO()
        call_command("qbwc_account", "list", stdout=accounts)
        assert "Larkspur Landscaping" in accounts.getvalue()
        out = io.StringIO()
        call_command("qbwc_account", "disconnect", self.user, stdout=out)
        assert "no longer linked" in out.getvalue()
        with self.assertRaisesMessage(CommandError, "already exists"):
            call_command("qbwc_account", "add", self.user, "--password-stdin",
                         stdin=io.StringIO("x\n"), stdout=io.StringIO())  # fmt: skip
