"""
qbwc: QuickBooks Desktop through the Web Connector, done properly.

The top level holds what an application needs to run the service: the service and
the values its methods return, the stores' entry, the exceptions and the version.
Everything else lives in a public module of its own: :mod:`qbwc.protocol` (the
sans-I/O calls, replies and session), :mod:`qbwc.qbxml` (typed requests and
responses), :mod:`qbwc.qwc` (QWC files), :mod:`qbwc.store` (every store and its
records), :mod:`qbwc.service`, the adapters (:mod:`qbwc.wsgi`, :mod:`qbwc.asgi`,
:mod:`qbwc.django`) and :mod:`qbwc.testing` (test doubles).  See docs/architecture.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from qbwc.exceptions import ConfigurationError as ConfigurationError
from qbwc.exceptions import LocalProtocolError as LocalProtocolError
from qbwc.exceptions import ProtocolError as ProtocolError
from qbwc.exceptions import QBWCError as QBWCError
from qbwc.exceptions import QBXMLError as QBXMLError
from qbwc.exceptions import QBXMLValidationError as QBXMLValidationError
from qbwc.exceptions import QuickBooksError as QuickBooksError
from qbwc.exceptions import RemoteProtocolError as RemoteProtocolError
from qbwc.exceptions import XMLParseError as XMLParseError
from qbwc.service import CompanyMismatch as CompanyMismatch
from qbwc.service import Disconnection as Disconnection
from qbwc.service import HTTPReply as HTTPReply
from qbwc.service import WebConnectorService as WebConnectorService
from qbwc.store import Account as Account
from qbwc.store import Job as Job
from qbwc.store import Link as Link
from qbwc.store import MemoryStore as MemoryStore
from qbwc.store import SQLiteStore as SQLiteStore
from qbwc.store import Store as Store
from qbwc.store import StoreError as StoreError

if TYPE_CHECKING:
    __version__: str

__all__ = [
    "Account",
    "CompanyMismatch",
    "ConfigurationError",
    "Disconnection",
    "HTTPReply",
    "Job",
    "Link",
    "LocalProtocolError",
    "MemoryStore",
    "ProtocolError",
    "QBWCError",
    "QBXMLError",
    "QBXMLValidationError",
    "QuickBooksError",
    "RemoteProtocolError",
    "SQLiteStore",
    "Store",
    "StoreError",
    "WebConnectorService",
    "XMLParseError",
    "__version__",
]


def __getattr__(name: str) -> str:
    """``qbwc.__version__``, read from the installed metadata on first use (not at import)."""
    if name == "__version__":
        from qbwc._version import package_version  # noqa: PLC0415

        return package_version()
    msg = f"module 'qbwc' has no attribute {name!r}"
    raise AttributeError(msg)


def __dir__() -> list[str]:
    return sorted({*globals(), "__version__"})
