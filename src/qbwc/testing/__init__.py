"""
Test doubles and Hypothesis strategies for qbwc users and contributors.

``qbwc.testing.strategies`` needs Hypothesis (a test dependency); the doubles
need nothing beyond qbwc itself.  Re-exports use ``import X as X``.
"""

from __future__ import annotations

# --- the Web Connector double (service side) ---
from qbwc.testing._web_connector import Crash as Crash
from qbwc.testing._web_connector import FakeWebConnector as FakeWebConnector
from qbwc.testing._web_connector import LoseQuickBooksResponse as LoseQuickBooksResponse
from qbwc.testing._web_connector import LoseReply as LoseReply
from qbwc.testing._web_connector import RepeatCall as RepeatCall
from qbwc.testing._web_connector import SessionResult as SessionResult
from qbwc.testing._web_connector import Transport as Transport
from qbwc.testing._web_connector import wsgi_transport as wsgi_transport

# --- the QuickBooks double ---
# isort: split
from qbwc.testing._interface import QuickBooksDouble as QuickBooksDouble
from qbwc.testing._interface import RequestProcessorError as RequestProcessorError
from qbwc.testing._quickbooks import FakeQuickBooks as FakeQuickBooks
from qbwc.testing._quickbooks import ResponseLost as ResponseLost
from qbwc.testing._quickbooks_read import HRESULT_MESSAGES as HRESULT_MESSAGES
from qbwc.testing._quickbooks_run import ProcessedRequest as ProcessedRequest
from qbwc.testing._quickbooks_state import CompanyPreferences as CompanyPreferences
from qbwc.testing._quickbooks_state import Customer as Customer
from qbwc.testing._quickbooks_state import GroupMember as GroupMember
from qbwc.testing._quickbooks_state import Item as Item
from qbwc.testing._quickbooks_state import ItemKind as ItemKind
from qbwc.testing._quickbooks_state import ListEntry as ListEntry
from qbwc.testing._quickbooks_state import ListKind as ListKind
from qbwc.testing._quickbooks_state import TransactionRecord as TransactionRecord
from qbwc.testing._response_build import build_hcp_response as build_hcp_response
from qbwc.testing._response_build import build_response as build_response

# --- fault injection and real HTTP for the Web Connector double ---
# isort: split
from qbwc.testing._faults import ChangePassword as ChangePassword
from qbwc.testing._faults import FailConnection as FailConnection
from qbwc.testing._faults import Fault as Fault
from qbwc.testing._faults import FaultInjector as FaultInjector
from qbwc.testing._faults import OpenCompanyFile as OpenCompanyFile
from qbwc.testing._faults import RestartService as RestartService
from qbwc.testing._http import http_transport as http_transport

__all__ = [
    "HRESULT_MESSAGES",
    "ChangePassword",
    "CompanyPreferences",
    "Crash",
    "Customer",
    "FailConnection",
    "FakeQuickBooks",
    "FakeWebConnector",
    "Fault",
    "FaultInjector",
    "GroupMember",
    "Item",
    "ItemKind",
    "ListEntry",
    "ListKind",
    "LoseQuickBooksResponse",
    "LoseReply",
    "OpenCompanyFile",
    "ProcessedRequest",
    "QuickBooksDouble",
    "RepeatCall",
    "RequestProcessorError",
    "ResponseLost",
    "RestartService",
    "SessionResult",
    "TransactionRecord",
    "Transport",
    "build_hcp_response",
    "build_response",
    "http_transport",
    "wsgi_transport",
]
