"""
The Web Connector service: :class:`WebConnectorService` and the values it hands the host.

A thin facade over private modules that each own one concern (accounts, the
job queue, the per-call handlers, message sets and recovery, the company-file
binding, the texts a person reads, the session records, the HTTP boundary);
see docs/service.md.  The service's names are importable from :mod:`qbwc` too.

Public because the adapters (:mod:`qbwc.wsgi`, :mod:`qbwc.asgi`,
:mod:`qbwc.django`) are built on it alone, and so can one for another framework:
:class:`BodyReader`, :exc:`BodyRefused`, :func:`xml_headers` and :func:`request_url`
beside the service's methods (docs/integrations.md, "Writing an adapter").
"""

from __future__ import annotations

from qbwc.service._accounts import Disconnection
from qbwc.service._company import CompanyMismatch
from qbwc.service._facade import WebConnectorService
from qbwc.service._http import BodyReader, BodyRefused, HTTPReply, request_url, xml_headers

__all__ = [
    "BodyReader",
    "BodyRefused",
    "CompanyMismatch",
    "Disconnection",
    "HTTPReply",
    "WebConnectorService",
    "request_url",
    "xml_headers",
]
