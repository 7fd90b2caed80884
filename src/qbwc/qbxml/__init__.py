"""
qbXML for estimates and invoices: typed models, a validating builder, and parsers.

Build requests with :func:`build_request`, read QuickBooks' answers with
:func:`parse_response`.  See ``docs/qbxml.md``.
"""

from __future__ import annotations

import functools
import operator
from typing import TYPE_CHECKING, Any

from qbwc.qbxml._exports import EXPORTED as _EXPORTED

if TYPE_CHECKING:
    # Every generated model (CustomerAdd, CustomerRet, ...), for type checkers and IDEs;
    # at run time __getattr__ below loads a model's family on first use.
    from qbwc.qbxml._models._all import *  # noqa: F403

# Re-exports use ``import X as X`` so linters and type checkers see them as public.
from qbwc.qbxml._types import Address as Address
from qbwc.qbxml._types import DataExt as DataExt
from qbwc.qbxml._types import Ref as Ref
from qbwc.qbxml._types import vocabulary as _vocabulary

# --- requests: models, build_request, parse_request (owned by the request side) ---
# isort: split
from qbwc.qbxml._build import EDITIONS as EDITIONS
from qbwc.qbxml._build import SUPPORTED_VERSIONS as SUPPORTED_VERSIONS
from qbwc.qbxml._build import build_request as build_request
from qbwc.qbxml._build import frame_requests as frame_requests
from qbwc.qbxml._build import render_request as render_request
from qbwc.qbxml._json import dump as dump
from qbwc.qbxml._json import load as load
from qbwc.qbxml._read import RequestSet as RequestSet
from qbwc.qbxml._read import parse_request as parse_request
from qbwc.qbxml._read import parse_request_set as parse_request_set
from qbwc.qbxml._requests import EstimateAdd as EstimateAdd
from qbwc.qbxml._requests import EstimateLineAdd as EstimateLineAdd
from qbwc.qbxml._requests import EstimateLineGroupAdd as EstimateLineGroupAdd
from qbwc.qbxml._requests import InvoiceAdd as InvoiceAdd
from qbwc.qbxml._requests import InvoiceLineAdd as InvoiceLineAdd
from qbwc.qbxml._requests import InvoiceLineGroupAdd as InvoiceLineGroupAdd
from qbwc.qbxml._requests import LinkToTxn as LinkToTxn
from qbwc.qbxml._requests import SetCredit as SetCredit
from qbwc.qbxml._xsd import validate as validate

# --- responses: Ret models, parse_response, HCP (owned by the response side) ---
# isort: split
from qbwc.qbxml._hcp import CompanyInfo as CompanyInfo
from qbwc.qbxml._hcp import HCPResponse as HCPResponse
from qbwc.qbxml._hcp import HostInfo as HostInfo
from qbwc.qbxml._hcp import Preferences as Preferences
from qbwc.qbxml._hcp import file_id_stamp as file_id_stamp
from qbwc.qbxml._hcp import highest_common_version as highest_common_version
from qbwc.qbxml._hcp import parse_hcp as parse_hcp
from qbwc.qbxml._parse import Response as Response
from qbwc.qbxml._parse import ResponseSet as ResponseSet
from qbwc.qbxml._parse import Severity as Severity
from qbwc.qbxml._parse import StatusClass as StatusClass
from qbwc.qbxml._parse import classify_status as classify_status
from qbwc.qbxml._parse import parse_response as parse_response
from qbwc.qbxml._responses import AddressBlock as AddressBlock
from qbwc.qbxml._responses import DataExtRet as DataExtRet
from qbwc.qbxml._responses import ErrorRecovery as ErrorRecovery
from qbwc.qbxml._responses import EstimateLineGroupRet as EstimateLineGroupRet
from qbwc.qbxml._responses import EstimateLineRet as EstimateLineRet
from qbwc.qbxml._responses import EstimateRet as EstimateRet
from qbwc.qbxml._responses import InvoiceLineGroupRet as InvoiceLineGroupRet
from qbwc.qbxml._responses import InvoiceLineRet as InvoiceLineRet
from qbwc.qbxml._responses import InvoiceRet as InvoiceRet
from qbwc.qbxml._responses import LinkedTxn as LinkedTxn

# The hand-written names (the estimate and invoice models imported above are generated
# ones too, listed below) ...
__all__ = [
    "EDITIONS",
    "SUPPORTED_VERSIONS",
    "Address",
    "AddressBlock",
    "CompanyInfo",
    "DataExt",
    "DataExtRet",
    "ErrorRecovery",
    "HCPResponse",
    "HostInfo",
    "LinkToTxn",
    "LinkedTxn",
    "Preferences",
    "Ref",
    "RequestSet",
    "Response",
    "ResponseSet",
    "SetCredit",
    "Severity",
    "StatusClass",
    "build_request",
    "classify_status",
    "dump",
    "file_id_stamp",
    "frame_requests",
    "highest_common_version",
    "load",
    "parse_hcp",
    "parse_request",
    "parse_request_set",
    "parse_response",
    "render_request",
    "validate",
]
# ... and every generated name (CustomerAdd, CustomerRet, ..., Request), loaded on first use.
__all__ += _EXPORTED  # noqa: PLE0605 - a generated tuple of str (tools/gen_qbxml.py)


def __getattr__(name: str) -> Any:
    """``from qbwc.qbxml import CustomerAdd``: load the model's family module on first use."""
    tables = _vocabulary()
    if name in tables.EXPORTS:
        value = tables.model(name)
        globals()[name] = value
        return value
    if name == "Request":
        # The union of every request model (a type alias for annotations): building it
        # imports every family, so only on demand.
        models = [tables.model(n) for n in sorted(tables.REQUESTS)]
        union = functools.reduce(operator.or_, models)
        globals()[name] = union
        return union
    msg = f"module 'qbwc.qbxml' has no attribute {name!r}"
    raise AttributeError(msg)


def __dir__() -> list[str]:
    return sorted({*globals(), *_vocabulary().EXPORTS, "Request"})
