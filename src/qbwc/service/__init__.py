"""
The Web Connector service: :class:`WebConnectorService` and the values it hands the host.

A thin facade over private modules that each own one concern (accounts, the
job queue, the per-call handlers, message sets and recovery, the company-file
binding, the texts a person reads, the session records, the HTTP boundary);
see docs/service.md.  The same names are importable from :mod:`qbwc`.
"""

from __future__ import annotations

from qbwc.service._accounts import Disconnection
from qbwc.service._company import CompanyMismatch
from qbwc.service._facade import WebConnectorService
from qbwc.service._http import HTTPReply

__all__ = ["CompanyMismatch", "Disconnection", "HTTPReply", "WebConnectorService"]
