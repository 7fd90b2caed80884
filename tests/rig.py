"""
The service rig shared by the service, adapter and end-to-end tests.

:class:`Rig` is a ``WebConnectorService`` over a store, a ``FakeQuickBooks`` company and
a ``FakeWebConnector`` in front of both, talking through the WSGI app; :func:`invoice`
builds the invoice the tests queue; :class:`DirectWC` is a Web Connector driven one call
at a time.  Test modules import these from here, never from another test module.
"""

from __future__ import annotations

import re
import uuid
from decimal import Decimal
from typing import Any

from qbwc import WebConnectorService
from qbwc.protocol import (
    AnyReply,
    AuthenticateCall,
    CloseConnectionCall,
    GetLastErrorCall,
    ReceiveResponseXMLCall,
    RequestXML,
    SendRequestXMLCall,
)
from qbwc.qbxml._requests import InvoiceAdd, InvoiceLineAdd
from qbwc.qbxml._types import Ref
from qbwc.store import Job, MemoryStore, Store
from qbwc.testing import FakeQuickBooks, FakeWebConnector, SessionResult
from qbwc.wsgi import make_wsgi_app

__all__ = ["OWNER", "PASSWORD", "REFERENCE", "USER", "Clock", "DirectWC", "Rig", "invoice"]

OWNER = uuid.UUID("9A5D8F3B-1C2E-4B6A-8D7F-0E1F2A3B4C5D")
USER = "kristy@example.com"
PASSWORD = "correct horse battery staple"
REFERENCE = re.compile(r"QBWC-[2-9A-HJ-NP-Z]{6}")


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1_767_225_600.0  # 2026-01-01

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Rig:
    """A service over a store, a QuickBooks company, and a Web Connector in front of both."""

    def __init__(
        self,
        store: Store | None = None,
        *,
        user: str = USER,
        password: str = PASSWORD,
        **settings: Any,
    ) -> None:
        self.clock = Clock()
        self.store = store if store is not None else MemoryStore()
        self.settings = settings
        self.service = self.new_service()
        if "authenticator" in settings:
            self.service.enqueue(user, invoice("0"))  # creates the account, as a host would
        else:
            self.service.add_account(user, password)
        self.qb = FakeQuickBooks.sample()
        self.wc = FakeWebConnector(make_wsgi_app(self.service), self.qb)
        self.wc.add_application(self.qwc(user), password=password)

    def new_service(self, store: Store | None = None) -> WebConnectorService:
        settings: dict[str, Any] = {
            "owner_id": OWNER,
            "app_name": "Acme Billing",
            "password_cost": 2,
            "clock": self.clock,
            **self.settings,
        }
        return WebConnectorService(store=store or self.store, **settings)

    def restart(
        self, store: Store | None = None, *, service: WebConnectorService | None = None
    ) -> None:
        """A new service object (a new process) on the same store, or *service*."""
        self.service = service if service is not None else self.new_service(store)
        self.wc.target = make_wsgi_app(self.service)

    def qwc(self, username: str = USER) -> bytes:
        return self.service.qwc(
            username, app_url="https://localhost/qbwc", app_support="https://localhost/support"
        )

    def enqueue(self, *refs: str, customer: str = "Acme Corp", **fields: Any) -> list[Job]:
        return [
            self.service.enqueue(USER, invoice(ref, customer=customer, **fields), key=f"inv-{ref}")
            for ref in refs
        ]

    def run(self) -> SessionResult:
        return self.wc.run_session()

    def job(self, job: Job) -> Job:
        return self.service.job(job.id)

    def ref_numbers(self) -> list[str | None]:
        return [ret.ref_number for ret in self.qb.invoices]


def invoice(ref: str, *, customer: str = "Acme Corp", **fields: Any) -> InvoiceAdd:
    line = InvoiceLineAdd(item_ref=Ref(full_name="Consulting"), quantity=Decimal(2))
    return InvoiceAdd(customer_ref=Ref(full_name=customer), ref_number=ref, lines=[line], **fields)


class DirectWC:
    """A Web Connector driven one call at a time, in front of *qb* (the rig's QuickBooks)."""

    def __init__(self, rig: Rig, qb: FakeQuickBooks | None = None) -> None:
        self.rig = rig
        self.qb = qb or rig.qb
        self.ticket = ""
        self.qbxml = ""
        self.response = ""
        self.first = True

    def call(self, call: Any) -> AnyReply:
        return self.rig.service.respond(call)

    def authenticate(self, password: str = PASSWORD) -> AnyReply:
        reply = self.call(AuthenticateCall(username=USER, password=password))
        self.ticket = getattr(reply, "ticket", "")
        return reply

    def request(self) -> AnyReply:
        qb = self.qb
        if self.first:
            qb.open("")
        major, minor = qb.qbxml_version
        reply = self.call(
            SendRequestXMLCall(
                ticket=self.ticket,
                hcp_response=qb.hcp_response(OWNER) if self.first else "",
                company_file_name=qb.company_file,
                country=qb.country,
                major_version=major,
                minor_version=minor,
            )
        )
        self.first = False
        if isinstance(reply, RequestXML):
            self.qbxml = reply.qbxml
        return reply

    def run_quickbooks(self) -> None:
        """QuickBooks runs the set this Web Connector holds (perhaps much later)."""
        self.response = self.qb.process_request(self.qbxml)

    def answer(
        self, response: str | None = None, *, ticket: str | None = None, hresult: str = ""
    ) -> AnyReply:
        return self.call(
            ReceiveResponseXMLCall(
                ticket=ticket or self.ticket,
                response=self.response if response is None else response,
                hresult=hresult,
                message="QuickBooks failed" if hresult else "",
            )
        )

    def last_error(self) -> AnyReply:
        return self.call(GetLastErrorCall(ticket=self.ticket))

    def close(self) -> AnyReply:
        return self.call(CloseConnectionCall(ticket=self.ticket))
