"""
Hypothesis strategies for the response side: every Ret model, Response, ResponseSet, HCP.

The strategies read the same field specs as the parser and builder, and only
produce values QuickBooks could send: text within each element's maximum
length and free of XML-illegal characters, amounts with two decimals,
quantities and rates with at most five, timezone-aware datetimes in whole
seconds, one member of each choice group at most.  Pass ``version="13.0"`` to
leave out elements newer than that version.  ``unknown`` is always empty (it
holds elements no schema knows).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
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
from qbwc.qbxml._types import Kind, Ref, Spec, Version, parse_version, specs

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

T = TypeVar("T")

#: Characters XML 1.0 cannot carry, even escaped.
_XML_ILLEGAL: Final = "".join(
    [chr(c) for c in range(0x20) if chr(c) not in "\t\n\r"] + ["\ufffe", "\uffff"]
)

#: Elements that repeat get at most this many items (lines: a few more).
_MAX_REPEAT: Final = 2
_MAX_LINES: Final = 4


def xml_text(*, max_size: int | None = None, min_size: int = 0) -> st.SearchStrategy[str]:
    """Any text XML can carry (no surrogates, no C0 controls but tab, LF and CR)."""
    size = 40 if max_size is None else min(max_size, 40)
    return st.text(
        st.characters(exclude_categories=["Cs"], exclude_characters=_XML_ILLEGAL),
        min_size=min_size,
        max_size=size,
    )


def _ids() -> st.SearchStrategy[str]:
    # QuickBooks' shape: 80000013-1416570432 (ListID) or C5-1417118624 (TxnID).
    return st.from_regex(r"[0-9A-F]{1,8}-[0-9]{10}", fullmatch=True)


def _guids() -> st.SearchStrategy[str]:
    return st.uuids().map(lambda u: "{" + str(u).upper() + "}")


@st.composite
def _decimal(draw: Callable[[st.SearchStrategy[Any]], Any], places: int, digits: int) -> Decimal:
    exponent = draw(st.integers(min_value=0, max_value=places))
    limit = 10 ** (digits + exponent) - 1
    units = draw(st.integers(min_value=-limit, max_value=limit))
    return Decimal(units).scaleb(-exponent)


def _decimals(places: int, int_digits: int) -> st.SearchStrategy[Decimal]:
    """Up to *places* decimals and *int_digits* integer digits, e.g. PRICETYPE: (5, 10)."""
    return _decimal(places, int_digits)


def _amounts() -> st.SearchStrategy[Decimal]:
    """AMTTYPE: exactly two decimals, realistic magnitudes most of the time."""
    return st.integers(min_value=-(10**9), max_value=10**9).map(
        lambda cents: Decimal(cents).scaleb(-2)
    )


_ZONES: Final = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda minutes: dt.timezone(dt.timedelta(minutes=minutes))
)

_DATES: Final = st.dates(min_value=dt.date(1970, 1, 2), max_value=dt.date(2037, 12, 31))


def _datetimes() -> st.SearchStrategy[dt.datetime]:
    return st.builds(
        lambda day, seconds, zone: (
            dt.datetime.combine(day, dt.time(), zone) + dt.timedelta(seconds=seconds)
        ),
        _DATES,
        st.integers(min_value=0, max_value=86399),
        _ZONES,
    )


def _scalar(spec: Spec) -> st.SearchStrategy[Any]:
    kind = spec.kind
    if kind is Kind.ENUM:
        return st.sampled_from(spec.values)
    if kind is Kind.ID:
        return _ids()
    if kind is Kind.GUID:
        return st.just("0") | _guids()
    if kind is Kind.STR:
        return xml_text(max_size=spec.max_len)
    if kind is Kind.AMT:
        return _amounts()
    if kind in (Kind.PRICE, Kind.QUAN, Kind.PERCENT):
        return _decimals(5, 10)
    if kind is Kind.FLOAT:
        return _decimals(6, 12)
    if kind is Kind.INT:
        return st.integers(min_value=-(2**31), max_value=2**31 - 1)
    if kind is Kind.BOOL:
        return st.booleans()
    if kind is Kind.DATE:
        return _DATES
    if kind is Kind.DATETIME:
        return _datetimes()
    msg = f"no strategy for {kind}"  # pragma: no cover - every scalar Kind is handled
    raise AssertionError(msg)


def _refs(max_len: int | None = 31) -> st.SearchStrategy[Ref]:
    return st.builds(
        Ref, list_id=st.none() | _ids(), full_name=st.none() | xml_text(max_size=max_len)
    )


def _field(spec: Spec, version: Version) -> st.SearchStrategy[Any]:
    if spec.kind is not Kind.AGG:
        item = _scalar(spec)
    elif spec.model == (Ref,):
        item = _refs(spec.max_len)
    else:
        item = st.one_of([_model(m, version) for m in spec.model])
    if spec.many:
        limit = _MAX_LINES if len(spec.model) > 1 else _MAX_REPEAT
        return st.lists(item, min_size=spec.min_count, max_size=limit).map(tuple)
    return item if spec.required else st.none() | item


def _model(cls: type[T], version: Version) -> st.SearchStrategy[T]:
    return st.deferred(lambda: _models(cls, version))


_CACHE: dict[tuple[type, Version], st.SearchStrategy[Any]] = {}


def _models(cls: type[T], version: Version) -> st.SearchStrategy[T]:
    key = (cls, version)
    if key not in _CACHE:
        _CACHE[key] = _build_model(cls, version)
    return _CACHE[key]


def _build_model(cls: type[T], version: Version) -> st.SearchStrategy[T]:
    plain: dict[str, st.SearchStrategy[Any]] = {}
    choices: dict[str, list[tuple[str, st.SearchStrategy[Any]]]] = {}
    for name, spec in specs(cls):
        if spec.since > version:
            continue
        strategy = _field(spec, version)
        if spec.choice is None:
            plain[name] = strategy
        else:
            # At most one member of a choice group: draw which, then its value.
            value = strategy if spec.required else strategy.filter(lambda v: v is not None)
            choices.setdefault(spec.choice, []).append((name, value))

    @st.composite
    def build(draw: Callable[[st.SearchStrategy[Any]], Any]) -> T:
        values = {name: draw(strategy) for name, strategy in plain.items()}
        for members in choices.values():
            index = draw(st.integers(min_value=-1, max_value=len(members) - 1))
            if index >= 0:
                name, strategy = members[index]
                values[name] = draw(strategy)
        return cls(**values)

    return build()


def _version(version: str) -> Version:
    return parse_version(version)


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
