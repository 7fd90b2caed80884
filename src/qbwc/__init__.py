"""qbwc: QuickBooks Desktop through the Web Connector, done properly."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from qbwc.exceptions import (
    ConfigurationError,
    LocalProtocolError,
    ProtocolError,
    QBWCError,
    QBXMLError,
    QBXMLValidationError,
    QuickBooksError,
    RemoteProtocolError,
    XMLParseError,
)

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
    "__version__",
]

try:
    __version__ = version("qbwc-toolkit")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"
