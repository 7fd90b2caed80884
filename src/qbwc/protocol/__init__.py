"""
The Web Connector protocol, sans-I/O: the calls, the replies and one session's state.

A *call* is what the Web Connector sends (one class per WSDL operation,
``<operation>Call``); a *reply* is what the service answers, named for its meaning
(``Authenticated``, ``NoWork``, ``RequestXML``, ``Done``...; the few whose meaning is
an error the Web Connector shows end in ``Reply``: ``ClientVersionErrorReply``,
``InvalidUserReply``, ``LastErrorReply``, so that no reply reads like an exception).
:class:`Session` checks each call and reply against the transition table and keeps a
frozen :class:`SessionState` (its :class:`Phase` and ticket) between HTTP requests.
:class:`~qbwc.WebConnectorService` is built on it; see docs/protocol.md.
"""

from __future__ import annotations

from qbwc.protocol._events import AnyCall as AnyCall
from qbwc.protocol._events import AnyReply as AnyReply
from qbwc.protocol._events import AuthenticateCall as AuthenticateCall
from qbwc.protocol._events import Authenticated as Authenticated
from qbwc.protocol._events import Busy as Busy
from qbwc.protocol._events import Call as Call
from qbwc.protocol._events import ClientVersionCall as ClientVersionCall
from qbwc.protocol._events import ClientVersionErrorReply as ClientVersionErrorReply
from qbwc.protocol._events import ClientVersionOK as ClientVersionOK
from qbwc.protocol._events import ClientVersionUpgrade as ClientVersionUpgrade
from qbwc.protocol._events import ClientVersionWarning as ClientVersionWarning
from qbwc.protocol._events import CloseConnectionCall as CloseConnectionCall
from qbwc.protocol._events import ConnectionErrorCall as ConnectionErrorCall
from qbwc.protocol._events import Done as Done
from qbwc.protocol._events import Event as Event
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
from qbwc.protocol._events import InvalidUserReply as InvalidUserReply
from qbwc.protocol._events import LastErrorReply as LastErrorReply
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

__all__ = [
    "AnyCall",
    "AnyReply",
    "AuthenticateCall",
    "Authenticated",
    "Busy",
    "Call",
    "ClientVersionCall",
    "ClientVersionErrorReply",
    "ClientVersionOK",
    "ClientVersionUpgrade",
    "ClientVersionWarning",
    "CloseConnectionCall",
    "ConnectionErrorCall",
    "Done",
    "Event",
    "Failed",
    "GetInteractiveURLCall",
    "GetLastErrorCall",
    "GiveUp",
    "Goodbye",
    "InteractiveDoneCall",
    "InteractiveDoneReply",
    "InteractiveMode",
    "InteractiveRejectedCall",
    "InteractiveRejectedReply",
    "InteractiveURL",
    "InvalidUserReply",
    "LastErrorReply",
    "NoOp",
    "NoRequest",
    "NoWork",
    "PauseRequest",
    "Phase",
    "Progress",
    "ReceiveResponseXMLCall",
    "Reply",
    "RequestXML",
    "SendRequestXMLCall",
    "ServerVersion",
    "ServerVersionCall",
    "Session",
    "SessionState",
    "TryCompanyFile",
]
