"""qbwc: QuickBooks Desktop through the Web Connector, done properly."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

# --- the Web Connector protocol core (sans-I/O) ---
from qbwc._events import AnyCall as AnyCall
from qbwc._events import AnyReply as AnyReply
from qbwc._events import AuthenticateCall as AuthenticateCall
from qbwc._events import Authenticated as Authenticated
from qbwc._events import Busy as Busy
from qbwc._events import Call as Call
from qbwc._events import ClientVersionCall as ClientVersionCall
from qbwc._events import ClientVersionError as ClientVersionError
from qbwc._events import ClientVersionOK as ClientVersionOK
from qbwc._events import ClientVersionUpgrade as ClientVersionUpgrade
from qbwc._events import ClientVersionWarning as ClientVersionWarning
from qbwc._events import CloseConnectionCall as CloseConnectionCall
from qbwc._events import ConnectionErrorCall as ConnectionErrorCall
from qbwc._events import Done as Done
from qbwc._events import Failed as Failed
from qbwc._events import GetInteractiveURLCall as GetInteractiveURLCall
from qbwc._events import GetLastErrorCall as GetLastErrorCall
from qbwc._events import GiveUp as GiveUp
from qbwc._events import Goodbye as Goodbye
from qbwc._events import InteractiveDoneCall as InteractiveDoneCall
from qbwc._events import InteractiveDoneReply as InteractiveDoneReply
from qbwc._events import InteractiveMode as InteractiveMode
from qbwc._events import InteractiveRejectedCall as InteractiveRejectedCall
from qbwc._events import InteractiveRejectedReply as InteractiveRejectedReply
from qbwc._events import InteractiveURL as InteractiveURL
from qbwc._events import InvalidUser as InvalidUser
from qbwc._events import LastError as LastError
from qbwc._events import NoOp as NoOp
from qbwc._events import NoRequest as NoRequest
from qbwc._events import NoWork as NoWork
from qbwc._events import PauseRequest as PauseRequest
from qbwc._events import Progress as Progress
from qbwc._events import ReceiveResponseXMLCall as ReceiveResponseXMLCall
from qbwc._events import Reply as Reply
from qbwc._events import RequestXML as RequestXML
from qbwc._events import SendRequestXMLCall as SendRequestXMLCall
from qbwc._events import ServerVersion as ServerVersion
from qbwc._events import ServerVersionCall as ServerVersionCall
from qbwc._events import TryCompanyFile as TryCompanyFile
from qbwc._session import Session as Session
from qbwc._state import Phase as Phase
from qbwc._state import SessionState as SessionState
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
from qbwc.service import CompanyMismatch as CompanyMismatch
from qbwc.service import Disconnection as Disconnection
from qbwc.service import HTTPReply as HTTPReply
from qbwc.service import WebConnectorService as WebConnectorService
from qbwc.store import Link as Link

__all__ = [
    "AnyCall",
    "AnyReply",
    "AuthenticateCall",
    "Authenticated",
    "Busy",
    "Call",
    "ClientVersionCall",
    "ClientVersionError",
    "ClientVersionOK",
    "ClientVersionUpgrade",
    "ClientVersionWarning",
    "CloseConnectionCall",
    "CompanyMismatch",
    "ConfigurationError",
    "ConnectionErrorCall",
    "Disconnection",
    "Done",
    "Failed",
    "GetInteractiveURLCall",
    "GetLastErrorCall",
    "GiveUp",
    "Goodbye",
    "HTTPReply",
    "InteractiveDoneCall",
    "InteractiveDoneReply",
    "InteractiveMode",
    "InteractiveRejectedCall",
    "InteractiveRejectedReply",
    "InteractiveURL",
    "InvalidUser",
    "LastError",
    "Link",
    "LocalProtocolError",
    "NoOp",
    "NoRequest",
    "NoWork",
    "PauseRequest",
    "Phase",
    "Progress",
    "ProtocolError",
    "QBWCError",
    "QBXMLError",
    "QBXMLValidationError",
    "QuickBooksError",
    "ReceiveResponseXMLCall",
    "RemoteProtocolError",
    "Reply",
    "RequestXML",
    "SendRequestXMLCall",
    "ServerVersion",
    "ServerVersionCall",
    "Session",
    "SessionState",
    "TryCompanyFile",
    "WebConnectorService",
    "XMLParseError",
    "__version__",
]

try:
    __version__ = version("qbwc-toolkit")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"
