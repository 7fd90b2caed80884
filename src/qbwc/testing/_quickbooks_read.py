"""
``FakeQuickBooks`` reading a request document the way the request processor
does, and the HRESULTs it answers with (docs/protocol.md, "HRESULTs" and "The
company-file stamp"; ``docs/testing.md``).
"""

from __future__ import annotations

from typing import Any, Final

import attrs
from lxml import etree

from qbwc._xml import parse_untrusted
from qbwc.exceptions import QBXMLValidationError, XMLParseError
from qbwc.qbxml._build import check_version
from qbwc.qbxml._read import parse_request_set
from qbwc.qbxml._request_kinds import request_element
from qbwc.qbxml._types import Version
from qbwc.qbxml._xsd import validate as validate_schema
from qbwc.testing._interface import RequestProcessorError
from qbwc.testing._quickbooks_dispatch import executes
from qbwc.testing._quickbooks_state import checksum

#: The request processor's texts for the HRESULTs a double can raise (docs/protocol.md,
#: "HRESULTs").
HRESULT_MESSAGES: Final = {
    "0x80040400": "QuickBooks found an error when parsing the provided XML text stream.",
    "0x80040401": "Could not access QuickBooks.",
    "0x80040402": "Unexpected error. Check the qbsdklog.txt file for possible additional "
    "information.",
    "0x80040403": "Could not open the specified QuickBooks company data file.",
    "0x80040408": "Could not start QuickBooks.",
    "0x8004040A": "QuickBooks company data file is already open and it is different from "
    "the one requested.",
    "0x80040410": "The QuickBooks company data file is currently open in a mode other than "
    "the one specified by your application.",
    "0x80040414": "A modal dialog box is showing in the QuickBooks user interface. Your "
    "application cannot access QuickBooks until the user dismisses the dialog box.",
    "0x80040418": "This application has not accessed this QuickBooks company data file "
    "before. Only the QuickBooks administrator can grant an application permission to "
    "access a QuickBooks company data file for the first time.",
    "0x8004041A": "This application does not have permission to access this QuickBooks "
    "company data file. The QuickBooks administrator can grant access permission through "
    "the Integrated Application preferences.",
    "0x8004041B": "Unable to lock the necessary information to allow this application to "
    "access this company data file. Try again later.",
    "0x8004041D": "This application is not allowed to log into this QuickBooks company data "
    "file automatically. The QuickBooks administrator can grant permission for automatic "
    "login through the Integrated Application preferences.",
    "0x80040420": "The QuickBooks user has denied access.",
    "0x80040422": "This application requires Single User file access mode and there is "
    "already another application sharing data with this QuickBooks company data file.",
    "0x80040423": "The version of qbXML that was requested is not supported or is unknown.",
    "0x80040424": "QuickBooks did not finish its initialization. Please try again later.",
}

_PARSE_ERROR: Final = "0x80040400"
_UNSUPPORTED_VERSION: Final = "0x80040423"
WRONG_FILE: Final = "0x8004040A"
BUSY: Final = "0x80040414"
#: QuickBooks answers messageSetStatusCode 9004 for a longer newMessageSetID.
_MESSAGE_SET_ID_LIMIT: Final = 24


@attrs.frozen
class Request:
    request_id: str | None
    element: str
    model: Any


@attrs.frozen
class MessageSet:
    version: Version
    on_error: str
    new_id: str | None
    old_id: str | None
    requests: tuple[Request, ...]
    digest: str
    #: A messageSetStatusCode decided while reading (9004), or None.
    status: int | None = None


def read_message_set(qbxml: str, supported: tuple[str, ...]) -> MessageSet:
    """
    Check a request document the way the request processor does, before
    anything runs: well-formed, a supported ``<?qbxml?>`` version, and
    valid at that version (schema order, no element newer than the
    version, lengths, choices, ...).  Any failure is 0x80040400 for the
    whole set.
    """

    def parse_error(detail: str) -> RequestProcessorError:
        error = RequestProcessorError(_PARSE_ERROR, HRESULT_MESSAGES[_PARSE_ERROR])
        error.add_note(f"FakeQuickBooks: {detail}")  # for people reading a failed test
        return error

    try:
        root = parse_untrusted(qbxml, what="qbXML request")
    except XMLParseError as exc:
        raise parse_error(str(exc)) from None
    version_text = None
    for sibling in root.itersiblings(preceding=True):
        if isinstance(sibling, etree._ProcessingInstruction) and sibling.target == "qbxml":
            version_text = sibling.get("version")
    if version_text is None:
        raise parse_error('no <?qbxml version="..."?> processing instruction')
    if version_text not in supported:
        raise RequestProcessorError(_UNSUPPORTED_VERSION, HRESULT_MESSAGES[_UNSUPPORTED_VERSION])
    msgs = root.find("QBXMLMsgsRq")
    if msgs is not None:
        for child in msgs:
            tag = child.tag
            if isinstance(tag, str) and tag.endswith("Rq") and not executes(tag):
                msg = (
                    f"FakeQuickBooks does not execute {tag} (it executes the Adds, Mods and "
                    "Queries of list and transaction objects, ListDel, TxnDel and TxnVoid)"
                )
                raise NotImplementedError(msg)
        new_id = msgs.get("newMessageSetID")
        if new_id is not None and len(new_id) > _MESSAGE_SET_ID_LIMIT:
            return MessageSet(
                version=check_version(version_text)[1],
                on_error=msgs.get("onError") or "",
                new_id=new_id,
                old_id=msgs.get("oldMessageSetID"),
                requests=(),
                digest="",
                status=9004,
            )
    try:
        validate_schema(root)  # our schema: structure, order, types
        request_set = parse_request_set(qbxml)  # our rules, at the declared version
    except (QBXMLValidationError, XMLParseError) as exc:
        raise parse_error(str(exc)) from None
    assert msgs is not None
    requests = tuple(
        Request(request_id, _element(model), model)
        for request_id, model in request_set.requests
    )
    content = [request_set.version.encode(), request_set.on_error.encode()]
    content.extend(etree.tostring(child, method="c14n") for child in msgs)
    return MessageSet(
        version=check_version(request_set.version)[1],
        on_error=request_set.on_error,
        new_id=request_set.message_set_id,
        old_id=request_set.old_message_set_id,
        requests=requests,
        digest=checksum(content),
    )


def _element(model: Any) -> str:
    found = request_element(type(model))
    assert found is not None  # parse_request_set only returns request models
    return found[0]
