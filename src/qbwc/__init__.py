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

# --- the Web Connector protocol core (sans-I/O) ---
from qbwc.protocol._events import AnyCall as AnyCall
from qbwc.protocol._events import AnyReply as AnyReply
from qbwc.protocol._events import AuthenticateCall as AuthenticateCall
from qbwc.protocol._events import Authenticated as Authenticated
from qbwc.protocol._events import Busy as Busy
from qbwc.protocol._events import Call as Call
from qbwc.protocol._events import ClientVersionCall as ClientVersionCall
from qbwc.protocol._events import ClientVersionError as ClientVersionError
from qbwc.protocol._events import ClientVersionOK as ClientVersionOK
from qbwc.protocol._events import ClientVersionUpgrade as ClientVersionUpgrade
from qbwc.protocol._events import ClientVersionWarning as ClientVersionWarning
from qbwc.protocol._events import CloseConnectionCall as CloseConnectionCall
from qbwc.protocol._events import ConnectionErrorCall as ConnectionErrorCall
from qbwc.protocol._events import Done as Done
from qbwc.protocol._events import Failed as Failed
from qbwc.protocol._events import GetInteractiveURLCall as GetInteractiveURLCall
from qbwc.protocol._events import GetLastErrorCall as GetLastErrorCall
from qbwc.protocol._events import GiveUp as GiveUp
from qbwc.protocol._events import Goodbye as Goodbye
from qbwc.protocol._events import InteractiveDoneCall as InteractiveDoneCall
from qbwc.protocol._events import InteractiveDoneReply as InteractiveDoneReply
from qbwc.protocol._events import InteractiveMode as InteractiveMode
from qbwc.protocol._events import InteractiveRejectedCall as InteractiveRejectedCall
from qbwc.protocol._events import InteractiveRejectedReply as InteractiveRejectedReply
from qbwc.protocol._events import InteractiveURL as InteractiveURL
from qbwc.protocol._events import InvalidUser as InvalidUser
from qbwc.protocol._events import LastError as LastError
from qbwc.protocol._events import NoOp as NoOp
from qbwc.protocol._events import NoRequest as NoRequest
from qbwc.protocol._events import NoWork as NoWork
from qbwc.protocol._events import PauseRequest as PauseRequest
from qbwc.protocol._events import Progress as Progress
from qbwc.protocol._events import ReceiveResponseXMLCall as ReceiveResponseXMLCall
from qbwc.protocol._events import Reply as Reply
from qbwc.protocol._events import RequestXML as RequestXML
from qbwc.protocol._events import SendRequestXMLCall as SendRequestXMLCall
from qbwc.protocol._events import ServerVersion as ServerVersion
from qbwc.protocol._events import ServerVersionCall as ServerVersionCall
from qbwc.protocol._events import TryCompanyFile as TryCompanyFile
from qbwc.protocol._session import Session as Session
from qbwc.protocol._state import Phase as Phase
from qbwc.protocol._state import SessionState as SessionState
from qbwc.service import CompanyMismatch as CompanyMismatch
from qbwc.service import Disconnection as Disconnection
from qbwc.service import HTTPReply as HTTPReply
from qbwc.service import WebConnectorService as WebConnectorService

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
