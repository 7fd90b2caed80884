"""
Hypothesis strategies for qbwc's models, for users' and contributors' tests.

Needs Hypothesis (``pip install qbwc-toolkit[test]``).  Every strategy builds
values that qbwc accepts: request models build at the version asked for.
Re-exports use ``import X as X``.
"""

# The project re-exports with ``import X as X`` (explicit for type checkers);
# ruff only expects that in __init__.py files.
# ruff: noqa: PLC0414

from __future__ import annotations

# --- requests (qbXML InvoiceAdd / EstimateAdd) ---
from qbwc.testing._request_strategies import addresses as addresses
from qbwc.testing._request_strategies import amounts as amounts
from qbwc.testing._request_strategies import data_exts as data_exts
from qbwc.testing._request_strategies import estimate_adds as estimate_adds
from qbwc.testing._request_strategies import estimate_line_adds as estimate_line_adds
from qbwc.testing._request_strategies import estimate_line_group_adds as estimate_line_group_adds
from qbwc.testing._request_strategies import invoice_adds as invoice_adds
from qbwc.testing._request_strategies import invoice_line_adds as invoice_line_adds
from qbwc.testing._request_strategies import invoice_line_group_adds as invoice_line_group_adds
from qbwc.testing._request_strategies import list_ids as list_ids
from qbwc.testing._request_strategies import qbxml_text as qbxml_text
from qbwc.testing._request_strategies import quantities as quantities
from qbwc.testing._request_strategies import refs as refs
from qbwc.testing._request_strategies import request_models as request_models
from qbwc.testing._request_strategies import versions as versions

# isort: split
# --- every model of the generated vocabulary, derived from its field specs ---
from qbwc.testing._spec_strategies import model_of as model_of
from qbwc.testing._spec_strategies import models as models
from qbwc.testing._spec_strategies import request_names as request_names
from qbwc.testing._spec_strategies import ret_names as ret_names

# isort: split
# --- responses (qbXML InvoiceRet / EstimateRet, ResponseSet) ---
from qbwc.testing._response_strategies import data_ext_rets as data_ext_rets
from qbwc.testing._response_strategies import error_recoveries as error_recoveries
from qbwc.testing._response_strategies import estimate_line_group_rets as estimate_line_group_rets
from qbwc.testing._response_strategies import estimate_line_rets as estimate_line_rets
from qbwc.testing._response_strategies import estimate_rets as estimate_rets
from qbwc.testing._response_strategies import hcp_responses as hcp_responses
from qbwc.testing._response_strategies import invoice_line_group_rets as invoice_line_group_rets
from qbwc.testing._response_strategies import invoice_line_rets as invoice_line_rets
from qbwc.testing._response_strategies import invoice_rets as invoice_rets
from qbwc.testing._response_strategies import linked_txns as linked_txns
from qbwc.testing._response_strategies import response_sets as response_sets
from qbwc.testing._response_strategies import responses as responses
from qbwc.testing._response_strategies import ret_models as ret_models
from qbwc.testing._response_strategies import xml_text as xml_text

__all__ = [
    "addresses",
    "amounts",
    "data_ext_rets",
    "data_exts",
    "error_recoveries",
    "estimate_adds",
    "estimate_line_adds",
    "estimate_line_group_adds",
    "estimate_line_group_rets",
    "estimate_line_rets",
    "estimate_rets",
    "hcp_responses",
    "invoice_adds",
    "invoice_line_adds",
    "invoice_line_group_adds",
    "invoice_line_group_rets",
    "invoice_line_rets",
    "invoice_rets",
    "linked_txns",
    "list_ids",
    "model_of",
    "models",
    "qbxml_text",
    "quantities",
    "refs",
    "request_models",
    "request_names",
    "response_sets",
    "responses",
    "ret_models",
    "ret_names",
    "versions",
    "xml_text",
]
