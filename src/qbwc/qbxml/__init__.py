"""
qbXML for estimates and invoices: typed models, a validating builder, and parsers.

Build requests with :func:`build_request`, read QuickBooks' answers with
:func:`parse_response`.  See ``docs/qbxml.md``.
"""

from __future__ import annotations

# Re-exports use ``import X as X`` so linters and type checkers see them as public.
from qbwc.qbxml._types import Address as Address
from qbwc.qbxml._types import DataExt as DataExt
from qbwc.qbxml._types import Ref as Ref

# --- requests: models, build_request, parse_request (owned by the request side) ---

# --- responses: Ret models, parse_response, HCP (owned by the response side) ---
