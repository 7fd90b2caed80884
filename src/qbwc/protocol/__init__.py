"""The Web Connector protocol, sans-I/O: events, the state table, the session, the SOAP codec."""

from __future__ import annotations
