"""
Every exception qbwc raises on purpose.

::

    QBWCError(Exception)
    ├── XMLParseError(ValueError)          malformed, oversized or forbidden XML (DTD, entities)
    ├── QBXMLError(ValueError)
    │   └── QBXMLValidationError           a model breaks a qbXML rule; .path and .rule
    ├── QuickBooksError                    only from ``Response.raise_for_status()``
    ├── ConfigurationError(ValueError)     an invalid QWC file or service setting; .field
    └── ProtocolError                      abstract; .fault_code
        ├── LocalProtocolError             we were asked to send something illegal now
        └── RemoteProtocolError            the Web Connector sent something illegal now

Anything else escaping from qbwc is a bug: please report it.
"""

from __future__ import annotations

__all__ = [
    "ConfigurationError",
    "LocalProtocolError",
    "ProtocolError",
    "QBWCError",
    "QBXMLError",
    "QBXMLValidationError",
    "QuickBooksError",
    "RemoteProtocolError",
    "XMLParseError",
]


class QBWCError(Exception):
    """Base class of every exception qbwc raises on purpose."""


class XMLParseError(QBWCError, ValueError):
    """
    XML from outside the process could not be accepted.

    Raised for malformed XML, a document over the size limit, or a forbidden
    construct (a DTD, an entity declaration).  *reason* says which.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class QBXMLError(QBWCError, ValueError):
    """Base class for qbXML problems."""


class QBXMLValidationError(QBXMLError):
    """
    A model breaks a qbXML rule, so nothing was built.

    *path* names the field (``InvoiceAdd.lines[3].desc``) and *rule* says what
    is wrong with it (``4,120 characters, at most 4,095``).
    """

    def __init__(self, path: str, rule: str) -> None:
        super().__init__(f"{path}: {rule}")
        self.path = path
        self.rule = rule


class QuickBooksError(QBWCError):
    """
    QuickBooks answered a request with an error status.

    Only raised by ``raise_for_status()``: a status code is data until you ask.
    """

    def __init__(
        self,
        status_code: int,
        status_message: str,
        request_id: str | None = None,
        status_severity: str = "Error",
    ) -> None:
        where = f" (request {request_id})" if request_id else ""
        super().__init__(f"QuickBooks status {status_code}{where}: {status_message}")
        self.status_code = status_code
        self.status_message = status_message
        self.request_id = request_id
        self.status_severity = status_severity


class ConfigurationError(QBWCError, ValueError):
    """
    A QWC file or a service setting is invalid.

    *field* names the setting (``app_url``); the message says the rule.
    """

    def __init__(self, field: str, rule: str) -> None:
        super().__init__(f"{field}: {rule}")
        self.field = field
        self.rule = rule


class ProtocolError(QBWCError):
    """
    The Web Connector conversation went wrong.

    Abstract: only the two subclasses are raised.  *fault_code* is the SOAP
    fault code to answer with (``soap:Client`` or ``soap:Server``).
    """

    fault_code = "soap:Server"

    def __init__(self, message: str) -> None:
        if type(self) is ProtocolError:
            msg = "ProtocolError is abstract: raise LocalProtocolError or RemoteProtocolError"
            raise TypeError(msg)
        super().__init__(message)
        self.message = message


class LocalProtocolError(ProtocolError):
    """We were asked to send a reply that is illegal in the current phase."""

    fault_code = "soap:Server"


class RemoteProtocolError(ProtocolError):
    """The Web Connector (or someone pretending to be it) sent something illegal."""

    fault_code = "soap:Client"
