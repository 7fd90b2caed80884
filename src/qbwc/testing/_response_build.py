"""
Write qbXML response documents the way QuickBooks does, for test doubles and tests.

QuickBooks answers with ``<?xml version="1.0" ?>``, then ``QBXML/QBXMLMsgsRs``,
one ``*Rs`` element per request carrying ``requestID``, ``statusCode``,
``statusSeverity`` and ``statusMessage``, each element on its own line and no
indentation.  :func:`build_response` writes exactly that from
:class:`~qbwc.qbxml.Response` values, in schema order by construction, so
that ``parse_response(build_response(x)) == x``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from lxml import etree

from qbwc._xml import NOT_XML_CHAR, parse_untrusted
from qbwc._xml import escape_text as _escape_text
from qbwc.exceptions import QBXMLValidationError, XMLParseError
from qbwc.qbxml._hcp import CompanyInfo, HCPResponse, HostInfo, Preferences
from qbwc.qbxml._parse import Response, ResponseSet
from qbwc.qbxml._responses import RET_MODELS, DataExtRet, ErrorRecovery
from qbwc.qbxml._types import (
    Kind,
    Ref,
    Spec,
    duration_rule,
    is_inline,
    specs,
    tag_of,
    vocabulary,
)

__all__ = [
    "build_hcp_response",
    "build_response",
    "escape_attribute",
    "escape_text",
    "format_value",
]


def _check_chars(text: str, path: str) -> None:
    bad = NOT_XML_CHAR.search(text)
    if bad is not None:
        rule = f"character U+{ord(bad.group()):04X} at position {bad.start()} cannot appear in XML"
        raise QBXMLValidationError(path, rule)


def escape_text(text: str, path: str) -> str:
    """Escape *text* for element content (a CR survives as ``&#13;``)."""
    _check_chars(text, path)
    return _escape_text(text)


def escape_attribute(text: str, path: str) -> str:
    """Escape *text* for a double-quoted attribute value (whitespace survives)."""
    _check_chars(text, path)
    return _escape_text(text, attribute=True)


def _decimal(value: Any, path: str, *, int_digits: int | None, places: int | None) -> str:
    if type(value) is not Decimal:
        rule = f"expected a Decimal, got {type(value).__name__}"
        raise QBXMLValidationError(path, rule)
    if not value.is_finite():
        raise QBXMLValidationError(path, f"{value} is not a finite number")
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)
    if places is not None and exponent < -places:
        normal = value.normalize()
        exp2 = normal.as_tuple().exponent
        assert isinstance(exp2, int)
        if exp2 < -places:
            rule = f"{value} has {-exp2} decimal places, at most {places}"
            raise QBXMLValidationError(path, rule)
        value = normal
    if int_digits is not None and value != 0 and value.adjusted() >= int_digits:
        rule = f"{value} has more than {int_digits} integer digits"
        raise QBXMLValidationError(path, rule)
    if places == 2:
        return f"{value:.2f}"
    return f"{value:f}"


def format_value(kind: Kind, value: Any, path: str) -> str:
    """The escaped qbXML text of one scalar *value* of *kind* (raise naming *path*)."""
    if kind in (Kind.STR, Kind.ID, Kind.ENUM, Kind.GUID):
        if not isinstance(value, str):
            raise QBXMLValidationError(path, f"expected a str, got {type(value).__name__}")
        return escape_text(value, path)
    if kind is Kind.AMT:
        return _decimal(value, path, int_digits=13, places=2)
    if kind in (Kind.PRICE, Kind.QUAN, Kind.PERCENT):
        return _decimal(value, path, int_digits=10, places=5)
    if kind is Kind.FLOAT:
        return _decimal(value, path, int_digits=None, places=None)
    if kind is Kind.INT:
        if type(value) is not int:
            raise QBXMLValidationError(path, f"expected an int, got {type(value).__name__}")
        return str(value)
    if kind is Kind.BOOL:
        if type(value) is not bool:
            raise QBXMLValidationError(path, f"expected a bool, got {type(value).__name__}")
        return "true" if value else "false"
    if kind is Kind.DATE:
        if type(value) is not dt.date:
            raise QBXMLValidationError(path, f"expected a date, got {type(value).__name__}")
        return value.isoformat()
    if kind is Kind.DATETIME:
        return _datetime(value, path)
    if kind is Kind.DURATION:
        if not isinstance(value, str):
            raise QBXMLValidationError(path, f"expected a str, got {type(value).__name__}")
        rule = duration_rule(value)
        if rule is not None:
            raise QBXMLValidationError(path, rule)
        return value
    msg = f"no scalar format for {kind}"  # pragma: no cover - every Kind is handled
    raise AssertionError(msg)


def _datetime(value: Any, path: str) -> str:
    if not isinstance(value, dt.datetime):
        raise QBXMLValidationError(path, f"expected a datetime, got {type(value).__name__}")
    offset = value.utcoffset()
    if offset is None:
        raise QBXMLValidationError(path, "a datetime from QuickBooks carries its UTC offset")
    if value.microsecond:
        raise QBXMLValidationError(path, "QuickBooks datetimes have whole seconds")
    if offset % dt.timedelta(minutes=1):
        raise QBXMLValidationError(path, "the UTC offset must be whole minutes")
    return value.isoformat()


def _fragment(text: Any, path: str) -> str:
    # ``unknown`` holds XML text; make sure it is one well-formed element.
    if not isinstance(text, str):
        raise QBXMLValidationError(path, f"expected XML text, got {type(text).__name__}")
    try:
        parse_untrusted(text, what=path)
    except XMLParseError as exc:
        raise QBXMLValidationError(path, f"not one well-formed XML element ({exc})") from None
    return text


def _write(obj: Any, tag: str, out: list[str], path: str, model: tuple[type, ...]) -> None:
    if type(obj) not in model:
        expected = " or ".join(m.__name__ for m in model)
        raise QBXMLValidationError(path, f"expected {expected}, got {type(obj).__name__}")
    head = f"<{tag}"
    with_attributes = False
    for name, spec in specs(type(obj)):
        value = getattr(obj, name)
        with_attributes = with_attributes or spec.attribute
        if spec.attribute and value is not None:
            where = f"{path}.{name}"
            if spec.kind in (Kind.STR, Kind.ID, Kind.ENUM, Kind.GUID):
                if type(value) is not str:
                    raise QBXMLValidationError(where, f"expected a str, got {type(value).__name__}")
                text = escape_attribute(value, where)
            else:
                text = format_value(spec.kind, value, where)  # digits, true/false: no escaping
            head += f' {spec.tag}="{text}"'
    out.append(head + ">")
    start = len(out)
    for name, spec in specs(type(obj)):
        value = getattr(obj, name)
        if spec.attribute:
            continue
        if spec.many:
            for i, item in enumerate(value):
                _write_item(item, spec, out, f"{path}.{name}[{i}]")
        elif value is not None:
            _write_item(value, spec, out, f"{path}.{name}")
    for i, text in enumerate(getattr(obj, "unknown", ())):
        out.append(_fragment(text, f"{path}.unknown[{i}]"))
    if len(out) == start and with_attributes:
        # Only attributes (a report's ColTitle): an empty element, no line break inside.
        out[-1] = head + " />"
        return
    out.append(f"</{tag}>")


def _write_item(value: Any, spec: Spec, out: list[str], path: str) -> None:
    if spec.kind is Kind.AGG:
        tag = tag_of(type(value)) if len(spec.model) > 1 else spec.tag
        _write(value, tag, out, path, spec.model)
    else:
        out.append(f"<{spec.tag}>{format_value(spec.kind, value, path)}</{spec.tag}>")


def _status_attributes(response: Response, path: str) -> str:
    parts = []
    if response.request_id is not None:
        parts.append(f' requestID="{escape_attribute(response.request_id, path + ".request_id")}"')
    if type(response.status_code) is not int:
        raise QBXMLValidationError(path + ".status_code", "expected an int")
    parts.append(f' statusCode="{response.status_code}"')
    if response.status_severity not in ("Info", "Warn", "Error"):
        rule = f"{response.status_severity!r} is not one of 'Info', 'Warn', 'Error'"
        raise QBXMLValidationError(path + ".status_severity", rule)
    parts.append(f' statusSeverity="{response.status_severity}"')
    if response.status_message:
        message = escape_attribute(response.status_message, path + ".status_message")
        parts.append(f' statusMessage="{message}"')
    for attribute, key in (
        ("retCount", "ret_count"),
        ("iteratorRemainingCount", "iterator_remaining_count"),
    ):
        count = getattr(response, key)
        if count is not None:
            if type(count) is not int:
                raise QBXMLValidationError(f"{path}.{key}", "expected an int")
            parts.append(f' {attribute}="{count}"')
    if response.iterator_id is not None:
        escaped = escape_attribute(response.iterator_id, path + ".iterator_id")
        parts.append(f' iteratorID="{escaped}"')
    return "".join(parts)


def _write_response(response: Response, out: list[str], path: str) -> None:
    if not isinstance(response, Response):
        raise QBXMLValidationError(path, f"expected a Response, got {type(response).__name__}")
    name = response.name
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9]*Rs", name):
        raise QBXMLValidationError(path + ".name", f"{name!r} is not a qbXML response name")
    attributes = _status_attributes(response, path)
    typed = RET_MODELS.get(name)
    rets = vocabulary().RESPONSES.get(name) if typed is None else None
    if rets:
        models = tuple(vocabulary().model(n) for n in rets)
        children: list[str] = []
        if len(models) == 1 and is_inline(models[0]):
            _write_inline(response, models[0], children, path)
        else:
            for i, ret in enumerate(response.rets):
                _write(ret, tag_of(type(ret)), children, f"{path}.rets[{i}]", models)
        _close(response, name, attributes, children, out, path)
        return
    if typed is None:
        if response.ret is not None or response.error_recovery is not None:
            rule = f"{name} has no typed Ret (it is not a response of qbXML 16.0)"
            raise QBXMLValidationError(path + ".ret", rule)
        if response.raw is None:
            out.append(f"<{name}{attributes} />")
        else:
            out.append(_restatus(response, path))
        return
    ret_tag, ret_model = typed
    children = []
    if response.ret is not None:
        _write(response.ret, ret_tag, children, path + ".ret", (ret_model,))
    _close(response, name, attributes, children, out, path)


def _write_inline(response: Response, model: type, out: list[str], path: str) -> None:
    """The Ret of a ListDelRs, TxnDelRs, TxnVoidRs or ListMergeRs: its fields, no element."""
    if len(response.rets) > 1:
        rule = f"{response.name} holds one {model.__name__}, got {len(response.rets)}"
        raise QBXMLValidationError(path + ".rets", rule)
    if response.rets:
        ret = response.rets[0]
        body: list[str] = []
        _write(ret, model.__name__, body, path + ".ret", (model,))
        if all(getattr(ret, name) is None for name, _ in specs(model)):
            # Nothing would say there is a Ret: it would be read back as none.
            rule = f"a {model.__name__} needs a value (its fields are the {response.name}'s)"
            raise QBXMLValidationError(path + ".ret", rule)
        if response.unknown:
            # They would be read back as the Ret's: they are its children too.
            rule = f"with a {model.__name__}, unknown elements go in its own unknown"
            raise QBXMLValidationError(path + ".unknown", rule)
        out.extend(body[1:-1])  # (no attributes: the first and last lines are its tags)


def _close(  # noqa: PLR0917 - the parts of one response
    response: Response, name: str, attributes: str, children: list[str], out: list[str], path: str
) -> None:
    """Write *children*, the ErrorRecovery and the unknown elements of *response*."""
    if response.error_recovery is not None:
        _write(
            response.error_recovery,
            "ErrorRecovery",
            children,
            path + ".error_recovery",
            (ErrorRecovery,),
        )
    for i, text in enumerate(response.unknown):
        children.append(_fragment(text, f"{path}.unknown[{i}]"))
    if not children:
        out.append(f"<{name}{attributes} />")
        return
    out.append(f"<{name}{attributes}>")
    out.extend(children)
    out.append(f"</{name}>")


def _restatus(response: Response, path: str) -> str:
    # A response of another type keeps its body; its status comes from the model.
    assert response.raw is not None
    try:
        el = parse_untrusted(response.raw, what=path + ".raw")
    except XMLParseError as exc:
        raise QBXMLValidationError(path + ".raw", str(exc)) from None
    if el.tag != response.name:
        rule = f"its element is <{el.tag}>, not <{response.name}>"
        raise QBXMLValidationError(path + ".raw", rule)
    values: dict[str, str | None] = {
        "requestID": response.request_id,
        "statusCode": str(response.status_code),
        "statusSeverity": response.status_severity,
        "statusMessage": response.status_message or None,
    }
    others = {str(k): str(v) for k, v in el.attrib.items() if k not in values}
    el.attrib.clear()
    for key, value in values.items():
        if value is not None:
            el.set(key, value)
    for key, value in others.items():
        el.set(key, value)
    return etree.tostring(el, encoding="unicode")


def build_response(
    responses: ResponseSet | Iterable[Response],
    *,
    message_set_id: str | None = None,
    message_set_status_code: int | None = None,
) -> bytes:
    """
    Write a qbXML response document, as QuickBooks would answer a request set.

    *responses* is a :class:`ResponseSet` (whose message-set ID and status are
    used unless given here) or any iterable of :class:`Response`.  Unknown
    elements kept by the parser are written back at the end of their
    aggregate; a response of another type is written from its ``raw`` XML
    with the model's status attributes.

    Raises:
        QBXMLValidationError: a value cannot be written (wrong type, an amount
            with more than 2 decimals, a naive datetime, an XML-illegal
            character, ...), naming the field path.
    """
    if isinstance(responses, ResponseSet):
        if message_set_id is None:
            message_set_id = responses.message_set_id
        if message_set_status_code is None:
            message_set_status_code = responses.message_set_status_code
        responses = responses.responses
    out: list[str] = ['<?xml version="1.0" ?>', "<QBXML>"]
    attributes = ""
    if message_set_id is not None:
        escaped = escape_attribute(message_set_id, "message_set_id")
        attributes += f' newMessageSetID="{escaped}"'
    if message_set_status_code is not None:
        if type(message_set_status_code) is not int:
            raise QBXMLValidationError("message_set_status_code", "expected an int")
        attributes += f' messageSetStatusCode="{message_set_status_code}"'
    out.append(f"<QBXMLMsgsRs{attributes}>")
    for i, response in enumerate(responses):
        _write_response(response, out, f"responses[{i}]")
    out.append("</QBXMLMsgsRs>")
    out.append("</QBXML>")
    out.append("")
    return "\n".join(out).encode("utf-8")


# --- the strHCPResponse ------------------------------------------------------


def _leaf(tag: str, kind: Kind, value: Any, path: str) -> str:
    return f"<{tag}>{format_value(kind, value, path)}</{tag}>"


def _optional(tag: str, kind: Kind, value: Any, path: str) -> list[str]:
    return [] if value is None else [_leaf(tag, kind, value, path)]


def _group(tag: str, body: list[str]) -> list[str]:
    return [f"<{tag}>", *body, f"</{tag}>"]


def _rs(name: str, request_id: int, ret_tag: str, body: list[str] | None) -> list[str]:
    if body is None:
        # What a failed part looks like: an error status and no Ret.
        return [
            f'<{name} requestID="{request_id}" statusCode="1000" statusSeverity="Error" '
            'statusMessage="There was an unexpected internal error in QuickBooks." />'
        ]
    ok = f'<{name} requestID="{request_id}" statusCode="0" statusSeverity="Info" '
    return [ok + 'statusMessage="Status OK">', *_group(ret_tag, body), f"</{name}>"]


def _host_body(host: HostInfo) -> list[str]:
    out = _optional("ProductName", Kind.STR, host.product_name, "host.product_name")
    out += _optional("MajorVersion", Kind.STR, host.major_version, "host.major_version")
    out += _optional("MinorVersion", Kind.STR, host.minor_version, "host.minor_version")
    out += _optional("Country", Kind.STR, host.country, "host.country")
    for i, version in enumerate(host.supported_qbxml_versions):
        path = f"host.supported_qbxml_versions[{i}]"
        out.append(_leaf("SupportedQBXMLVersion", Kind.STR, version, path))
    out += _optional(
        "IsAutomaticLogin", Kind.BOOL, host.is_automatic_login, "host.is_automatic_login"
    )
    out += _optional("QBFileMode", Kind.ENUM, host.qb_file_mode, "host.qb_file_mode")
    return out


def _company_body(company: CompanyInfo) -> list[str]:
    out = _optional(
        "IsSampleCompany", Kind.BOOL, company.is_sample_company, "company.is_sample_company"
    )
    out += _optional("CompanyName", Kind.STR, company.company_name, "company.company_name")
    out += _optional(
        "LegalCompanyName", Kind.STR, company.legal_company_name, "company.legal_company_name"
    )
    for i, ext in enumerate(company.data_ext_rets):
        _write(ext, "DataExtRet", out, f"company.data_ext_rets[{i}]", (DataExtRet,))
    return out


def _preferences_body(prefs: Preferences) -> list[str]:
    # Each group is written when any of its modelled values is known; the
    # elements the schema requires but qbwc does not model get QuickBooks'
    # defaults for a new company file.
    p = "preferences."
    out: list[str] = []
    if prefs.is_using_class_tracking is not None or prefs.closing_date is not None:
        out += _group(
            "AccountingPreferences",
            [
                "<IsUsingAccountNumbers>false</IsUsingAccountNumbers>",
                "<IsRequiringAccounts>true</IsRequiringAccounts>",
                _leaf(
                    "IsUsingClassTracking",
                    Kind.BOOL,
                    bool(prefs.is_using_class_tracking),
                    p + "is_using_class_tracking",
                ),
                "<IsUsingAuditTrail>true</IsUsingAuditTrail>",
                "<IsAssigningJournalEntryNumbers>true</IsAssigningJournalEntryNumbers>",
                *_optional("ClosingDate", Kind.DATE, prefs.closing_date, p + "closing_date"),
            ],
        )
    if prefs.is_using_estimates is not None or prefs.is_using_progress_invoicing is not None:
        out += _group(
            "JobsAndEstimatesPreferences",
            [
                _leaf(
                    "IsUsingEstimates",
                    Kind.BOOL,
                    bool(prefs.is_using_estimates),
                    p + "is_using_estimates",
                ),
                _leaf(
                    "IsUsingProgressInvoicing",
                    Kind.BOOL,
                    bool(prefs.is_using_progress_invoicing),
                    p + "is_using_progress_invoicing",
                ),
                "<IsPrintingItemsWithZeroAmounts>false</IsPrintingItemsWithZeroAmounts>",
            ],
        )
    if prefs.is_multicurrency_on is not None or prefs.home_currency_ref is not None:
        body = _optional(
            "IsMultiCurrencyOn", Kind.BOOL, prefs.is_multicurrency_on, p + "is_multicurrency_on"
        )
        if prefs.home_currency_ref is not None:
            _write(
                prefs.home_currency_ref, "HomeCurrencyRef", body, p + "home_currency_ref", (Ref,)
            )
        out += _group("MultiCurrencyPreferences", body)
    if prefs.is_using_price_levels is not None:
        price_levels = _leaf(
            "IsUsingPriceLevels", Kind.BOOL, prefs.is_using_price_levels, p + "price_levels"
        )
        out += _group(
            "SalesAndCustomersPreferences",
            [
                "<IsTrackingReimbursedExpensesAsIncome>false"
                "</IsTrackingReimbursedExpensesAsIncome>",
                "<IsAutoApplyingPayments>true</IsAutoApplyingPayments>",
                *_group("PriceLevels", [price_levels]),
            ],
        )
    if (
        prefs.is_automatic_login_allowed is not None
        or prefs.is_personal_data_access_allowed is not None
    ):
        out += _group(
            "CurrentAppAccessRights",
            [
                _leaf(
                    "IsAutomaticLoginAllowed",
                    Kind.BOOL,
                    bool(prefs.is_automatic_login_allowed),
                    p + "is_automatic_login_allowed",
                ),
                _leaf(
                    "IsPersonalDataAccessAllowed",
                    Kind.BOOL,
                    bool(prefs.is_personal_data_access_allowed),
                    p + "is_personal_data_access_allowed",
                ),
            ],
        )
    return out


def build_hcp_response(hcp: HCPResponse) -> str:
    """
    Write an ``strHCPResponse`` document from *hcp*, as the Web Connector passes it.

    HostQueryRs, CompanyQueryRs (with the company's DataExtRets, e.g. a
    :func:`~qbwc.qbxml.file_id_stamp`) and PreferencesQueryRs, in that order.
    A part named in ``hcp.missing`` is written as an error status without a
    Ret.  A preferences group is written when any of its values is known;
    within it, a required flag left ``None`` is written as ``false`` and the
    flags qbwc does not model get the defaults of a new company file.

    Raises:
        QBXMLValidationError: a value cannot be written, naming its path.
    """
    if not isinstance(hcp, HCPResponse):
        raise QBXMLValidationError("hcp", f"expected an HCPResponse, got {type(hcp).__name__}")
    missing = set(hcp.missing)
    out = ['<?xml version="1.0" ?>', "<QBXML>", "<QBXMLMsgsRs>"]
    out += _rs("HostQueryRs", 0, "HostRet", None if "HostRet" in missing else _host_body(hcp.host))
    out += _rs(
        "CompanyQueryRs",
        1,
        "CompanyRet",
        None if "CompanyRet" in missing else _company_body(hcp.company),
    )
    out += _rs(
        "PreferencesQueryRs",
        2,
        "PreferencesRet",
        None if "PreferencesRet" in missing else _preferences_body(hcp.preferences),
    )
    out += ["</QBXMLMsgsRs>", "</QBXML>", ""]
    return "\n".join(out)
