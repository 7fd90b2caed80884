"""
Hypothesis strategies for the response side: every Ret model, Response, ResponseSet, HCP.

A Ret strategy is the spec-derived strategy of its model with ``ret=True``
(:func:`qbwc.testing.strategies.models`): printable ISO-8859-1 text within each
element's maximum length; date-times with a zone, in whole seconds; one member of
each choice at most.  Pass ``version="13.0"`` to leave out elements newer than that
version.  ``unknown`` is always empty (it holds elements no schema knows).

Written out here: what the specs cannot say -- which status codes come with a Ret
(:func:`responses`), and how a HostQuery/CompanyQuery/PreferencesQuery answer
hangs together (:func:`hcp_responses`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, Final, TypeVar

from hypothesis import strategies as st

from qbwc.qbxml._hcp import CompanyInfo, HCPResponse, HostInfo, Preferences, file_id_stamp
from qbwc.qbxml._parse import Response, ResponseSet, Severity, classify_status
from qbwc.qbxml._responses import (
    DataExtRet,
    ErrorRecovery,
    EstimateLineGroupRet,
    EstimateLineRet,
    EstimateRet,
    InvoiceLineGroupRet,
    InvoiceLineRet,
    InvoiceRet,
    LinkedTxn,
)
from qbwc.qbxml._types import Ref, Version, parse_version
from qbwc.testing._spec_strategies import list_ids, models, xml_text

T = TypeVar("T")

__all__ = [
    "data_ext_rets",
    "error_recoveries",
    "estimate_line_group_rets",
    "estimate_line_rets",
    "estimate_rets",
    "hcp_responses",
    "invoice_line_group_rets",
    "invoice_line_rets",
    "invoice_rets",
    "linked_txns",
    "response_sets",
    "responses",
    "ret_models",
    "xml_text",
]


def _models(cls: type[T], version: Version) -> st.SearchStrategy[T]:
    strategy: st.SearchStrategy[T] = models(cls, version=version, ret=True)
    return strategy


def _version(version: str) -> Version:
    return parse_version(version)


_DATES: Final = st.dates(min_value=dt.date(1970, 1, 2), max_value=dt.date(2037, 12, 31))


def _refs(max_len: int | None = 31) -> st.SearchStrategy[Ref]:
    return st.builds(
        Ref,
        list_id=st.none() | list_ids(),
        full_name=st.none() | xml_text(max_size=max_len),
    )


def data_ext_rets() -> st.SearchStrategy[DataExtRet]:
    """:class:`~qbwc.qbxml.DataExtRet` values."""
    return _models(DataExtRet, (16, 0))


def linked_txns() -> st.SearchStrategy[LinkedTxn]:
    """:class:`~qbwc.qbxml.LinkedTxn` values."""
    return _models(LinkedTxn, (16, 0))


def error_recoveries() -> st.SearchStrategy[ErrorRecovery]:
    """:class:`~qbwc.qbxml.ErrorRecovery` values."""
    return _models(ErrorRecovery, (16, 0))


def invoice_line_rets(*, version: str = "16.0") -> st.SearchStrategy[InvoiceLineRet]:
    """:class:`~qbwc.qbxml.InvoiceLineRet` values with the elements of *version*."""
    return _models(InvoiceLineRet, _version(version))


def invoice_line_group_rets(*, version: str = "16.0") -> st.SearchStrategy[InvoiceLineGroupRet]:
    """:class:`~qbwc.qbxml.InvoiceLineGroupRet` values with the elements of *version*."""
    return _models(InvoiceLineGroupRet, _version(version))


def invoice_rets(*, version: str = "16.0") -> st.SearchStrategy[InvoiceRet]:
    """:class:`~qbwc.qbxml.InvoiceRet` values with the elements of *version*."""
    return _models(InvoiceRet, _version(version))


def estimate_line_rets(*, version: str = "16.0") -> st.SearchStrategy[EstimateLineRet]:
    """:class:`~qbwc.qbxml.EstimateLineRet` values with the elements of *version*."""
    return _models(EstimateLineRet, _version(version))


def estimate_line_group_rets(*, version: str = "16.0") -> st.SearchStrategy[EstimateLineGroupRet]:
    """:class:`~qbwc.qbxml.EstimateLineGroupRet` values with the elements of *version*."""
    return _models(EstimateLineGroupRet, _version(version))


def estimate_rets(*, version: str = "16.0") -> st.SearchStrategy[EstimateRet]:
    """:class:`~qbwc.qbxml.EstimateRet` values with the elements of *version*."""
    return _models(EstimateRet, _version(version))


def ret_models(*, version: str = "16.0") -> st.SearchStrategy[InvoiceRet | EstimateRet]:
    """An :class:`~qbwc.qbxml.InvoiceRet` or an :class:`~qbwc.qbxml.EstimateRet`."""
    return st.one_of(invoice_rets(version=version), estimate_rets(version=version))


#: Response types without a typed Ret: their status is all a ResponseSet keeps typed.
_OTHER_RESPONSES: Final = (
    "CustomerAddRs",
    "CustomerQueryRs",
    "ItemQueryRs",
    "ReceivePaymentAddRs",
    "SalesOrderAddRs",
)

_SUCCESS_CODES: Final = st.sampled_from([0, 0, 0, 1, 500, 530, 550, 560])
_ERROR_CODES: Final = st.sampled_from(
    [1000, 1010, 1060, 3000, 3100, 3120, 3140, 3170, 3171, 3175, 3176, 3180, 3200, 3210, 3250]
)


def _severity_of(code: int) -> Severity:
    status = classify_status(code)
    if status == "ok":
        return "Info"
    return "Warn" if status == "warning" else "Error"


@st.composite
def _response(draw: Callable[[st.SearchStrategy[Any]], Any], version: Version) -> Response:
    name = draw(st.sampled_from(["InvoiceAddRs", "EstimateAddRs", *_OTHER_RESPONSES]))
    succeeded = draw(st.booleans())
    code = draw(_SUCCESS_CODES if succeeded else _ERROR_CODES)
    ret = None
    recovery = None
    if name in ("InvoiceAddRs", "EstimateAddRs"):
        if succeeded:
            model = InvoiceRet if name == "InvoiceAddRs" else EstimateRet
            ret = draw(_models(model, version))
        if version >= (11, 0):
            recovery = draw(st.none() | error_recoveries())
    return Response(
        name=name,
        request_id=draw(st.none() | xml_text(max_size=50)),
        status_code=code,
        status_severity=_severity_of(code),
        status_message=draw(xml_text(max_size=120)),
        ret=ret,
        error_recovery=recovery,
    )


def responses(*, version: str = "16.0") -> st.SearchStrategy[Response]:
    """
    A :class:`~qbwc.qbxml.Response`: typed InvoiceAddRs/EstimateAddRs or another type.

    Successes (0, 1, warnings) carry a Ret, errors do not, as with QuickBooks.
    """
    return _response(_version(version))


def response_sets(*, version: str = "16.0", max_size: int = 4) -> st.SearchStrategy[ResponseSet]:
    """A :class:`~qbwc.qbxml.ResponseSet`, with or without message-set attributes."""
    return st.builds(
        ResponseSet,
        responses=st.lists(responses(version=version), max_size=max_size).map(tuple),
        message_set_id=st.none() | xml_text(min_size=1, max_size=23),
        message_set_status_code=st.none() | st.sampled_from([0, 600, 9001, 9002, 9004, 9005]),
    )


_QBXML_VERSIONS: Final = tuple(
    f"{major}.{minor}"
    for major, minor in [(1, 0), (1, 1), (2, 0), (2, 1), (3, 0), (4, 0), (4, 1)]
    + [(n, 0) for n in range(5, 17)]
)


@st.composite
def _preferences(draw: Callable[[st.SearchStrategy[Any]], Any]) -> Preferences:
    # Groups are all known or all unknown, as QuickBooks sends them.
    values: dict[str, Any] = {}
    if draw(st.booleans()):
        values["is_using_class_tracking"] = draw(st.booleans())
        values["closing_date"] = draw(st.none() | _DATES)
    if draw(st.booleans()):
        values["is_using_estimates"] = draw(st.booleans())
        values["is_using_progress_invoicing"] = draw(st.booleans())
    if draw(st.booleans()):
        values["is_multicurrency_on"] = draw(st.booleans())
        values["home_currency_ref"] = draw(st.none() | _refs())
    if draw(st.booleans()):
        values["is_using_price_levels"] = draw(st.booleans())
    if draw(st.booleans()):
        values["is_automatic_login_allowed"] = draw(st.booleans())
        values["is_personal_data_access_allowed"] = draw(st.booleans())
    return Preferences(**values)


@st.composite
def _hcp(draw: Callable[[st.SearchStrategy[Any]], Any]) -> HCPResponse:
    versions = draw(st.lists(st.sampled_from(_QBXML_VERSIONS), unique=True, min_size=1))
    host = HostInfo(
        product_name=draw(st.none() | xml_text(max_size=60)),
        major_version=draw(st.none() | st.integers(10, 34).map(str)),
        minor_version=draw(st.none() | st.integers(0, 9).map(str)),
        country=draw(st.none() | st.sampled_from(["US", "CA", "UK", "AU"])),
        supported_qbxml_versions=sorted(versions, key=parse_version),
        is_automatic_login=draw(st.none() | st.booleans()),
        qb_file_mode=draw(st.none() | st.sampled_from(["SingleUser", "MultiUser"])),
    )
    stamps = draw(st.lists(st.builds(file_id_stamp, st.uuids(), st.uuids()), max_size=2))
    others = draw(st.lists(data_ext_rets(), max_size=2))
    company = CompanyInfo(
        is_sample_company=draw(st.none() | st.booleans()),
        company_name=draw(st.none() | xml_text(max_size=59)),
        legal_company_name=draw(st.none() | xml_text(max_size=59)),
        data_ext_rets=draw(st.permutations([*stamps, *others])),
    )
    missing = draw(st.sets(st.sampled_from(["HostRet", "CompanyRet", "PreferencesRet"])))
    return HCPResponse(
        host=HostInfo() if "HostRet" in missing else host,
        company=CompanyInfo() if "CompanyRet" in missing else company,
        preferences=Preferences() if "PreferencesRet" in missing else draw(_preferences()),
        missing=[p for p in ("HostRet", "CompanyRet", "PreferencesRet") if p in missing],
    )


def hcp_responses() -> st.SearchStrategy[HCPResponse]:
    """An :class:`~qbwc.qbxml.HCPResponse`, with FileID stamps and sometimes a part missing."""
    return _hcp()
