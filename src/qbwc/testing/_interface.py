"""
The seam between the Web Connector double and a QuickBooks double.

The real Web Connector talks to QuickBooks through the QBXMLRP2 request processor:
it opens a connection to a company file, asks for the host/company/preferences
(HCP) data once per session, and hands each qbXML request to ``ProcessRequest``.
A QuickBooks double implements :class:`QuickBooksDouble`; the Web Connector
double (``qbwc.testing.FakeWebConnector``) drives it.
"""

from __future__ import annotations

from typing import Protocol
from uuid import UUID

__all__ = ["QuickBooksDouble", "RequestProcessorError"]


class RequestProcessorError(Exception):
    """
    The request processor failed instead of answering (an HRESULT, not a status code).

    Raised by :meth:`QuickBooksDouble.open` (the Web Connector then calls
    ``connectionError``) and by :meth:`QuickBooksDouble.process_request` (the Web
    Connector then calls ``receiveResponseXML`` with an empty response and this
    *hresult*/*message*), e.g. ``0x80040400`` for a request QuickBooks cannot parse.
    """

    def __init__(self, hresult: str, message: str) -> None:
        super().__init__(f"{hresult}: {message}")
        self.hresult = hresult
        self.message = message


class QuickBooksDouble(Protocol):
    """**Protocol:** what the Web Connector double needs from a QuickBooks double."""

    @property
    def company_file(self) -> str:
        """Full path of the open company file, e.g. ``C:\\Company\\Acme.QBW``."""
        ...

    @property
    def country(self) -> str:
        """The edition's country code sent as ``qbXMLCountry`` (``US``)."""
        ...

    @property
    def qbxml_version(self) -> tuple[int, int]:
        """The request processor's qbXML level sent as qbXMLMajorVers/MinorVers."""
        ...

    def open(self, company_file: str) -> None:
        """
        Open a connection and session to *company_file* (``""`` = the open file).

        Raises:
            RequestProcessorError: QuickBooks cannot be reached, another file is open, ...
        """
        ...

    def register_application(self, owner_id: UUID, file_id: UUID) -> None:
        """
        Stamp *file_id* into the company file under *owner_id* (adding a .QWC does this).

        Raises:
            RequestProcessorError: the file already carries a different stamp for *owner_id*.
        """
        ...

    def hcp_response(self, owner_id: UUID) -> str:
        """
        The strHCPResponse document for the open file.

        HostQueryRs, CompanyQueryRs (with *owner_id*'s DataExtRets) and PreferencesQueryRs.
        """
        ...

    def process_request(self, qbxml: str) -> str:
        """
        Run one qbXML request message set and return the response document.

        Raises:
            RequestProcessorError: the request could not be processed at all.
        """
        ...
