"""
The host/company/preferences (HCP) answer of the first ``sendRequestXML``.

On the first ``sendRequestXML`` of a session the Web Connector passes
``strHCPResponse``: QuickBooks' answers to a ``HostQueryRq``, a
``CompanyQueryRq`` and a ``PreferencesQueryRq`` in one qbXML response
document.  It tells which qbXML versions QuickBooks speaks, which company file
is open (the ``FileID`` stamp the Web Connector wrote under your OwnerID), and
which features are turned on.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterable
from typing import Final, NamedTuple

import attrs
from lxml import etree

from qbwc._budget import qbxml_limits
from qbwc._xml import parse_untrusted
from qbwc.exceptions import QBXMLError
from qbwc.qbxml._parse import MAX_RESPONSE_BYTES, _read, _read_response, _status_code
from qbwc.qbxml._responses import RET_MODELS, DataExtRet
from qbwc.qbxml._types import Ref, format_guid, parse_version

__all__ = [
    "CompanyInfo",
    "HCPResponse",
    "HostInfo",
    "Preferences",
    "file_id_stamp",
    "highest_common_version",
    "parse_hcp",
]

#: What the Web Connector passes instead when it talks to QuickBooks Point of Sale.
QBPOS_TEXT: Final = "HOSTQUERY/COMPANYQUERY/PREFQUERY is currently not supported in QBPOS."


def _strings(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(items)


def _data_ext_rets(items: Iterable[DataExtRet]) -> tuple[DataExtRet, ...]:
    return tuple(items)


@attrs.frozen(kw_only=True)
class HostInfo:
    """
    ``HostRet``: the QuickBooks product and the qbXML versions it speaks.

    ``major_version``/``minor_version`` are the *product's* version (16 for
    QuickBooks 2006, 24 for 2014), as text, not the qbXML version.
    """

    product_name: str | None = None
    major_version: str | None = None
    minor_version: str | None = None
    country: str | None = None
    supported_qbxml_versions: tuple[str, ...] = attrs.field(factory=tuple, converter=_strings)
    is_automatic_login: bool | None = None
    qb_file_mode: str | None = None


@attrs.frozen(kw_only=True)
class CompanyInfo:
    """
    ``CompanyRet``: the open company file.

    ``data_ext_rets`` holds the private data the Web Connector keeps on the
    company: a ``FileID`` (and an ``AppLock``) under each application's OwnerID.
    """

    is_sample_company: bool | None = None
    company_name: str | None = None
    legal_company_name: str | None = None
    data_ext_rets: tuple[DataExtRet, ...] = attrs.field(factory=tuple, converter=_data_ext_rets)


@attrs.frozen(kw_only=True)
class Preferences:
    """
    ``PreferencesRet``: the company preferences that matter for estimates and invoices.

    ``None`` means QuickBooks did not say.  Adding a transaction dated on or
    before ``closing_date`` fails with status 3171; an EstimateAdd fails with
    3250 when ``is_using_estimates`` is off, and so does a ClassRef without
    class tracking.
    """

    is_using_class_tracking: bool | None = None
    closing_date: dt.date | None = None
    is_using_estimates: bool | None = None
    is_using_progress_invoicing: bool | None = None
    is_multicurrency_on: bool | None = None
    home_currency_ref: Ref | None = None
    is_using_price_levels: bool | None = None
    is_automatic_login_allowed: bool | None = None
    is_personal_data_access_allowed: bool | None = None


#: The three parts of an HCP response, by their Ret element.
HCP_PARTS: Final = ("HostRet", "CompanyRet", "PreferencesRet")


def _parts(items: Iterable[str]) -> tuple[str, ...]:
    parts = tuple(items)
    for part in parts:
        if part not in HCP_PARTS:
            msg = f"missing: {part!r} is not one of {', '.join(HCP_PARTS)}"
            raise ValueError(msg)
    return parts


@attrs.frozen(kw_only=True)
class HCPResponse:
    """
    The parsed ``strHCPResponse``.

    A part QuickBooks did not deliver (an error status, or no Ret) is left
    empty (every field ``None``) and named in ``missing``: check
    :attr:`complete` before concluding that a company has *no* FileID stamp.
    """

    host: HostInfo = attrs.field(factory=HostInfo)
    company: CompanyInfo = attrs.field(factory=CompanyInfo)
    preferences: Preferences = attrs.field(factory=Preferences)
    missing: tuple[str, ...] = attrs.field(default=(), converter=_parts)

    @property
    def complete(self) -> bool:
        """QuickBooks delivered all three parts."""
        return not self.missing

    def file_id(self, owner_id: uuid.UUID) -> uuid.UUID | None:
        """
        The FileID the Web Connector stamped into this company file under *owner_id*.

        GUIDs compare case-insensitively, with or without braces.  ``None``
        when there is no such stamp (or its value is not a GUID).
        """
        return _stamped_file_id(
            ((e.owner_id, e.data_ext_name, e.data_ext_value) for e in self.company.data_ext_rets),
            owner_id,
        )


def _stamped_file_id(
    exts: Iterable[tuple[str | None, str | None, str | None]], owner_id: uuid.UUID
) -> uuid.UUID | None:
    """
    The value of the first ``FileID`` of *owner_id* among (OwnerID, DataExtName,
    DataExtValue) triples, as a GUID (None if it is not one, or there is none).

    The OwnerID as the Web Connector writes it (``{UPPER}``) matches without
    being parsed as a GUID.
    """
    owner_text = format_guid(owner_id)
    for owner, name, value in exts:
        if (name or "").casefold() != "fileid":
            continue
        if owner != owner_text and _guid(owner) != owner_id:
            continue
        return _guid(value)
    return None


def _guid(text: str | None) -> uuid.UUID | None:
    if not text:
        return None
    try:
        return uuid.UUID(text.strip())
    except ValueError:
        return None


def file_id_stamp(owner_id: uuid.UUID, file_id: uuid.UUID) -> DataExtRet:
    """The ``DataExtRet`` the Web Connector writes when a .QWC is added (for test doubles)."""
    return DataExtRet(
        owner_id=format_guid(owner_id),
        data_ext_name="FileID",
        data_ext_type="STR255TYPE",
        data_ext_value=format_guid(file_id),
    )


_VERSION: Final = re.compile(r"([A-Za-z]*)([0-9]+)\.([0-9]+)")


def highest_common_version(supported: Iterable[str], *, ceiling: str = "16.0") -> str | None:
    """
    The highest of the *supported* qbXML versions that is not above *ceiling*.

    *supported* is ``HostRet/SupportedQBXMLVersion`` (``host.supported_qbxml_versions``);
    the answer is one of those strings, verbatim, ready for ``<?qbxml version?>``.
    Prefixed versions of old non-US editions (``CA3.0``, ``UK2.0``, ``OZ2.0``)
    only count when no plain version qualifies.  ``None`` when nothing fits.

    Raises:
        ValueError: *ceiling* is not a version such as ``"13.0"``.
    """
    top = parse_version(ceiling)
    plain: list[tuple[tuple[int, int], str]] = []
    prefixed: list[tuple[tuple[int, int], str]] = []
    for text in supported:
        version, is_prefixed, candidate = _read_version(text)
        if version is None or version > top:
            continue
        (prefixed if is_prefixed else plain).append((version, candidate))
    pool = plain or prefixed
    return max(pool)[1] if pool else None


def _read_version(text: str) -> tuple[tuple[int, int] | None, bool, str]:
    """(version or None, has a country prefix, the stripped text) of one supported version."""
    candidate = text.strip()
    m = _VERSION.fullmatch(candidate)
    if m is None:
        return None, False, candidate
    return (int(m.group(2)), int(m.group(3))), bool(m.group(1)), candidate


class _Node:
    """
    An element with the first child of each tag at hand (what ``_text`` looks up).

    The children are indexed once, on first use, so reading a dozen fields of one
    Ret walks its children once instead of once per field.
    """

    __slots__ = ("_first", "_nodes", "element")

    def __init__(self, element: etree._Element) -> None:
        self.element = element
        self._first: dict[object, etree._Element] | None = None
        self._nodes: dict[str, _Node | None] = {}

    def first(self, tag: str) -> etree._Element | None:
        """The first child element named *tag*, or None."""
        first = self._first
        if first is None:
            first = {}
            for c in self.element:
                if c.tag not in first:
                    first[c.tag] = c
            self._first = first
        return first.get(tag)

    def node(self, tag: str) -> _Node | None:
        """:meth:`first`, as a node of its own (kept, so its index is built once)."""
        try:
            return self._nodes[tag]
        except KeyError:
            pass
        el = self.first(tag)
        node = None if el is None else _Node(el)
        self._nodes[tag] = node
        return node


def _text(parent: _Node | None, *path: str) -> str | None:
    node = parent
    for tag in path[:-1]:
        if node is None:
            return None
        node = node.node(tag)
    if node is None:
        return None
    el = node.first(path[-1])
    if el is None:
        return None
    return el.text or ""


def _bool(parent: _Node | None, *path: str) -> bool | None:
    text = _text(parent, *path)
    if text is None or not text.strip():
        return None
    value = text.strip().lower()
    if value in ("true", "1"):
        return True
    if value in ("false", "0"):
        return False
    msg = f"strHCPResponse: {'/'.join(path)}: {text!r} is not a boolean (true or false)"
    raise QBXMLError(msg)


def _date(parent: _Node | None, *path: str) -> dt.date | None:
    text = _text(parent, *path)
    if text is None or not text.strip():
        return None
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        msg = f"strHCPResponse: {'/'.join(path)}: {text!r} is not a date (YYYY-MM-DD)"
        raise QBXMLError(msg) from None


def _ref(parent: _Node | None, *path: str) -> Ref | None:
    if _text(parent, *path) is None:
        return None
    return Ref(list_id=_text(parent, *path, "ListID"), full_name=_text(parent, *path, "FullName"))


def _host(element: etree._Element) -> HostInfo:
    ret = _Node(element)
    return HostInfo(
        product_name=_text(ret, "ProductName"),
        major_version=_text(ret, "MajorVersion"),
        minor_version=_text(ret, "MinorVersion"),
        country=_text(ret, "Country"),
        supported_qbxml_versions=_versions(element),
        is_automatic_login=_bool(ret, "IsAutomaticLogin"),
        qb_file_mode=_text(ret, "QBFileMode"),
    )


def _company(element: etree._Element) -> CompanyInfo:
    ret = _Node(element)
    return CompanyInfo(
        is_sample_company=_bool(ret, "IsSampleCompany"),
        company_name=_text(ret, "CompanyName"),
        legal_company_name=_text(ret, "LegalCompanyName"),
        data_ext_rets=[_read(DataExtRet, c, dt.UTC) for c in element if c.tag == "DataExtRet"],
    )


def _preferences(element: etree._Element) -> Preferences:
    ret = _Node(element)
    accounting = ("AccountingPreferences",)
    jobs = ("JobsAndEstimatesPreferences",)
    currency = ("MultiCurrencyPreferences",)
    rights = ("CurrentAppAccessRights",)
    return Preferences(
        is_using_class_tracking=_bool(ret, *accounting, "IsUsingClassTracking"),
        closing_date=_date(ret, *accounting, "ClosingDate"),
        is_using_estimates=_bool(ret, *jobs, "IsUsingEstimates"),
        is_using_progress_invoicing=_bool(ret, *jobs, "IsUsingProgressInvoicing"),
        is_multicurrency_on=_bool(ret, *currency, "IsMultiCurrencyOn"),
        home_currency_ref=_ref(ret, *currency, "HomeCurrencyRef"),
        is_using_price_levels=_bool(
            ret, "SalesAndCustomersPreferences", "PriceLevels", "IsUsingPriceLevels"
        ),
        is_automatic_login_allowed=_bool(ret, *rights, "IsAutomaticLoginAllowed"),
        is_personal_data_access_allowed=_bool(ret, *rights, "IsPersonalDataAccessAllowed"),
    )


def parse_hcp(text: str) -> HCPResponse:
    """
    Parse the ``strHCPResponse`` of the first ``sendRequestXML`` of a session.

    Raises:
        QBXMLError: *text* is empty (it is only sent on the first call), is
            the Point of Sale notice (qbwc speaks to QuickBooks Desktop only),
            is not a qbXML response, or holds a value of the wrong type.
        XMLParseError: *text* is not well-formed XML.
    """
    if not text or not text.strip():
        msg = (
            "strHCPResponse is empty: the Web Connector only sends it on the "
            "first sendRequestXML of a session"
        )
        raise QBXMLError(msg)
    if "not supported in QBPOS" in text:
        msg = (
            "strHCPResponse: the Web Connector is connected to QuickBooks Point of "
            f"Sale ({text.strip()!r}); qbwc works with QuickBooks Desktop only"
        )
        raise QBXMLError(msg)
    rets = _delivered(text, essentials=False)
    host = rets.get("HostRet")
    company = rets.get("CompanyRet")
    preferences = rets.get("PreferencesRet")
    return HCPResponse(
        host=HostInfo() if host is None else _host(host),
        company=CompanyInfo() if company is None else _company(company),
        preferences=Preferences() if preferences is None else _preferences(preferences),
        missing=[part for part in HCP_PARTS if part not in rets],
    )


def _versions(element: etree._Element) -> list[str]:
    # iterchildren(tag) filters in C: the same children as ``c.tag == tag``, fewer proxies.
    return [(c.text or "").strip() for c in element.iterchildren("SupportedQBXMLVersion")]


def _first_text(element: etree._Element, tag: str) -> str | None:
    """``_text(_Node(element), tag)`` for one field, without indexing every child."""
    el = next(element.iterchildren(tag), None)
    return None if el is None else el.text or ""


class HCPEssentials(NamedTuple):
    """What the service reads of an HCP document (see :func:`parse_hcp_essentials`)."""

    #: ``host.supported_qbxml_versions``.
    versions: tuple[str, ...]
    #: ``company.company_name``.
    company_name: str | None
    #: ``file_id(owner_id)``: the FileID stamped under the owner asked about.
    file_id: uuid.UUID | None
    #: ``missing``.
    missing: tuple[str, ...]


def parse_hcp_essentials(text: str, owner_id: uuid.UUID) -> HCPEssentials:
    """
    What the service reads of :func:`parse_hcp`, read straight from the tree.

    The same document checks and the same errors for what it reads; the result
    equals ``(host.supported_qbxml_versions, company.company_name,
    file_id(owner_id), missing)`` of :func:`parse_hcp`.  A value of the wrong type
    in a field it does not read (``IsSampleCompany``, a preference, a DataExtRet's
    type, a typed response that is not an HCP part) is not an error, and no
    model is built for a DataExtRet.
    """
    if not text or not text.strip() or "not supported in QBPOS" in text:
        parse_hcp(text)  # raises the same errors
    rets = _delivered(text, essentials=True)
    host = rets.get("HostRet")
    company = rets.get("CompanyRet")
    name = stamp = None
    if company is not None:
        name = _first_text(company, "CompanyName")
        stamp = _file_id(company, owner_id)
    return HCPEssentials(
        () if host is None else tuple(_versions(host)),
        name,
        stamp,
        tuple([part for part in HCP_PARTS if part not in rets]),
    )


def _file_id(company: etree._Element, owner_id: uuid.UUID) -> uuid.UUID | None:
    """``HCPResponse.file_id(owner_id)`` of this CompanyRet, without DataExtRet models."""
    exts = (_ext_texts(ext) for ext in company.iterchildren("DataExtRet"))
    return _stamped_file_id(exts, owner_id)


def _ext_texts(ext: etree._Element) -> tuple[str | None, str | None, str | None]:
    """A DataExtRet's first OwnerID, DataExtName and DataExtValue, as ``_read`` keeps them."""
    owner = name = value = None
    for part in ext:
        tag = part.tag
        if tag == "OwnerID":
            if owner is None:
                owner = part.text or ""
        elif tag == "DataExtName":
            if name is None:
                name = part.text or ""
        elif tag == "DataExtValue" and value is None:
            value = part.text or ""
    return owner, name, value


def _delivered(text: str, *, essentials: bool) -> dict[str, etree._Element]:
    """The Ret element of each HCP part delivered with a success status."""
    root = parse_untrusted(
        text, max_bytes=MAX_RESPONSE_BYTES, what="strHCPResponse", limits=qbxml_limits(len(text))
    )
    msgs = next(root.iterchildren("QBXMLMsgsRs"), None)
    if root.tag != "QBXML" or msgs is None:
        msg = "strHCPResponse: not a qbXML response (expected <QBXML><QBXMLMsgsRs>)"
        raise QBXMLError(msg)
    rets: dict[str, etree._Element] = {}
    for rs in msgs:
        # Only the status matters here: whether the part was delivered (Response.ok).
        if not isinstance(rs.tag, str):
            continue
        if rs.tag in RET_MODELS and not essentials:
            # Not an HCP part, but read (and checked) all the same.
            code: int | None = _read_response(rs, dt.UTC).status_code
        else:
            code = _status_code(rs, "statusCode", required=True)
        if code is None or not 0 <= code < 1000:
            continue
        for child in rs:
            if child.tag in HCP_PARTS and child.tag not in rets:
                rets[str(child.tag)] = child
    return rets
