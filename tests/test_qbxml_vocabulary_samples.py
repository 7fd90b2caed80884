"""
Real qbXML documents (../shared/reference/qbxml) read through the generated vocabulary:
every response parses into typed Rets whose values are checked here, and every real
request (not only invoices and estimates) round-trips C14N-equal.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from lxml import etree

from qbwc.qbxml import build_request, parse_request_set, parse_response
from tests.reference import ABSENT, reference_files, reference_path
from tests.test_qbxml_request_reference import canonical

EXCLUDED = {
    "qbxml/flowlink/invoice_add_rq.xml": "a template with type placeholders, not data",
}


def _requests() -> list[str]:
    found = []
    for name in reference_files("qbxml/**/*.xml"):
        if name == ABSENT:
            return [ABSENT]
        if b"<QBXMLMsgsRq" in reference_path(name).read_bytes() and name not in EXCLUDED:
            found.append(name)
    return found


REQUESTS = _requests()


_NUMBER = re.compile(r"[+-]?[0-9]+\.[0-9]+")
_LEXICAL = {"true": "1", "false": "0"}


def lexical(data: bytes, *, request_ids: bool = True) -> bytes:
    """
    :func:`canonical`, with one lexical form per value: an empty element has no
    text, ``true``/``false`` are ``1``/``0`` and decimals lose trailing zeros
    (``150.00`` and ``150`` are one price); without *request_ids*, no ``requestID``.
    """
    root = etree.fromstring(canonical(data))
    for el in root.iter():
        if len(el) == 0 and el.text is not None:
            text = el.text.strip()
            if _NUMBER.fullmatch(text):
                text = format(Decimal(text).normalize(), "f")
            el.text = _LEXICAL.get(text, text) or None
        if not request_ids:
            el.attrib.pop("requestID", None)
    return etree.tostring(root, method="c14n")


@pytest.mark.parametrize("name", REQUESTS)
def test_every_real_request_round_trips_c14n(name: str) -> None:
    """
    Sample → typed models → build at the sample's version == sample (C14N, one lexical
    form per value; a sample without requestIDs is compared without them: the builder
    numbers every request).
    """
    data = reference_path(name).read_bytes()

    request_set = parse_request_set(data)
    with_ids = all(rid is not None for rid, _ in request_set.requests)
    rebuilt = build_request(
        [model if rid is None else (rid, model) for rid, model in request_set.requests],
        version=request_set.version,
        on_error=request_set.on_error,
        message_set_id=request_set.message_set_id,
        old_message_set_id=request_set.old_message_set_id,
    )

    assert lexical(rebuilt, request_ids=with_ids) == lexical(data, request_ids=with_ids)
    assert parse_request_set(rebuilt).models == request_set.models


def test_the_request_samples_are_all_found() -> None:
    if REQUESTS == [ABSENT]:
        reference_path(ABSENT)
    assert len(REQUESTS) == 18
    kinds = {
        type(model).__name__
        for name in REQUESTS
        for model in parse_request_set(reference_path(name).read_bytes()).models
    }
    assert kinds == {
        "AccountAdd", "CheckAdd", "CompanyQuery", "CustomerAdd", "CustomerQuery",
        "EstimateAdd", "HostQuery", "InvoiceAdd", "InvoiceQuery", "PreferencesQuery",
        "PurchaseOrderQuery", "SalesReceiptAdd",
    }  # fmt: skip


def _ret(name: str, index: int = 0, ret: int = 0) -> Any:
    rs = parse_response(reference_path(f"qbxml/{name}").read_bytes())
    return rs.responses[index].rets[ret]


# (file, response, ret, Ret class, {field: value})
VALUES = [
    ("bill-ash/creditcards-AccountQueryRs.xml", 0, 0, "AccountRet",
     {"list_id": "570000-1071509253", "name": "QuickBooks Credit Card",
      "balance": Decimal("293.20")}),
    ("qbxml-gem/account_query_rs.xml", 0, 0, "AccountRet",
     {"name": "Checking", "account_type": "Bank", "balance": Decimal("-197.02"),
      "is_active": True}),
    ("hotglue/account-add.response.xml", 0, 0, "AccountRet",
     {"list_id": "80000035-1785958998", "name": "HG-WRITE-TEST-0805"}),
    ("extracted/consolibyte2008-CustomerAddRs.xml", 0, 0, "CustomerRet",
     {"list_id": "F0000-1215265593", "name": "Shannon 171 Daniels",
      "balance": Decimal("0.00")}),
    ("qbxml-gem/customer_query_rs.xml", 0, 0, "CustomerRet",
     {"list_id": "10006-1211236622", "name": "Keith Palmer", "balance": Decimal("250.00"),
      "is_active": True}),
    ("extracted/qbwc-gem-CustomerAddRs.xml", 0, 0, "CustomerRet",
     {"name": "mrjoecustomer", "full_name": "Joseph Customer"}),
    ("extracted/flowlink-item_inventory_query_rs_raw.xml", 0, 0, "ItemInventoryRet",
     {"list_id": "80000027-1415713663", "name": "12797", "is_active": True}),
    ("extracted/flowlink-receive_payment_add_rs.xml", 0, 0, "ReceivePaymentRet",
     {"txn_id": "B7-1417040299", "ref_number": "R154817935",
      "total_amount": Decimal("210.00")}),
    ("qbxml-gem/receive_payment_query_rs.xml", 0, 0, "ReceivePaymentRet",
     {"txn_id": "2484-1263499231", "ref_number": "101", "total_amount": Decimal("112.35")}),
    ("extracted/flowlink-sales_order_add_rs_raw.xml", 2, 0, "SalesOrderRet",
     {"txn_id": "4C-1415942229", "ref_number": "13", "total_amount": Decimal("200.00")}),
    ("intuit/LastResponse-BillQueryRs.xml", 0, 0, "BillRet",
     {"txn_id": "7-1646382259", "amount_due": Decimal("2000.00")}),
    ("intuit/LastResponse-BillQueryRs.xml", 0, 1, "BillRet",
     {"txn_id": "16-1646632498", "amount_due": Decimal("70.00")}),
    ("intuit/LastResponse-BillQueryRs.xml", 0, 2, "BillRet",
     {"txn_id": "19-1646632525", "amount_due": Decimal("50.00")}),
    ("qbxml-gem/customer_add_rs.xml", 0, 0, "CustomerRet",
     {"list_id": "F540000-1197683154", "name": "20706 - Eastern XYZ University",
      "full_name": "20706 - Eastern XYZ University", "balance": Decimal("0.00")}),
    ("hotglue/customer-batch-mixed.response.xml", 0, 0, "CustomerRet",
     {"name": "HG-BATCH-MIX-1785964184-1"}),
    ("hotglue/customer-batch-mixed.response.xml", 4, 0, "CustomerRet",
     {"name": "HG-BATCH-MIX-1785964184-5"}),
    ("qbxml-gem/purchase_order_query_rs.xml", 0, 0, "PurchaseOrderRet",
     {"txn_id": "30-1285640333", "ref_number": "1", "total_amount": Decimal("125.00")}),
    ("qbxml-gem/sales_receipt_add_rs.xml", 0, 0, "SalesReceiptRet",
     {"txn_id": "141CA5-1231522949", "ref_number": "16466",
      "total_amount": Decimal("150.00")}),
    ("extracted/flowlink-invoice_add_rs.xml", 0, 0, "InvoiceRet",
     {"txn_id": "C5-1417118624", "ref_number": "R1TT46883"}),
]  # fmt: skip


@pytest.mark.parametrize(("name", "index", "ret", "cls", "values"), VALUES)
def test_real_responses_parse_into_typed_rets(
    name: str, index: int, ret: int, cls: str, values: dict[str, object]
) -> None:
    parsed = _ret(name, index, ret)

    assert type(parsed).__name__ == cls
    assert {field: getattr(parsed, field) for field in values} == values


def _responses() -> list[str]:
    found = []
    for name in reference_files("qbxml/**/*.xml"):
        if name == ABSENT:
            return [ABSENT]
        data = reference_path(name).read_bytes()
        if b"<QBXMLMsgsRs" in data and b"NOT-WELL-FORMED" not in name.encode():
            found.append(name)
    return found


RESPONSES = _responses()


@pytest.mark.parametrize("name", RESPONSES)
def test_every_real_response_is_typed(name: str) -> None:
    """Each Rs of every real response document: its Rets typed, one per *Ret element."""
    from qbwc.qbxml import _models

    if name == ABSENT:
        reference_path(ABSENT)
    data = reference_path(name).read_bytes()
    root = etree.fromstring(data)
    elements = [rs for rs in root.find("QBXMLMsgsRs") if isinstance(rs.tag, str)]
    responses = parse_response(data).responses
    assert [r.name for r in responses] == [el.tag for el in elements]
    for response, element in zip(responses, elements, strict=True):
        rets = [child.tag for child in element if str(child.tag).endswith("Ret")]
        assert [type(r).__name__ for r in response.rets] == rets
        assert set(rets) <= set(_models.RESPONSES[response.name])
        assert response.raw is None


def test_the_response_samples_are_all_found() -> None:
    if RESPONSES == [ABSENT]:
        reference_path(ABSENT)
    typed = {
        type(ret).__name__
        for name in RESPONSES
        for response in parse_response(reference_path(name).read_bytes()).responses
        for ret in response.rets
    }
    # The list: no real ItemServiceRet is stored (only a 3100 refusal of an
    # ItemServiceAdd); the typed Ret of every other kind is checked in VALUES above.
    assert typed == {
        "AccountRet", "BillRet", "CompanyRet", "CustomerRet", "HostRet", "InvoiceRet",
        "ItemInventoryRet", "PreferencesRet", "PurchaseOrderRet", "ReceivePaymentRet",
        "SalesOrderRet", "SalesReceiptRet",
    }  # fmt: skip


def test_a_query_returns_every_ret() -> None:
    rs = parse_response(
        reference_path("qbxml/extracted/flowlink-item_inventory_query_rs_raw.xml").read_bytes()
    )
    (response,) = rs.responses
    assert len(response.rets) == 16
    assert response.ret is None  # several Rets: read them from rets
    assert len({r.list_id for r in response.rets}) == 16


def test_iterator_responses() -> None:
    """iteratorID and iteratorRemainingCount are read from a query answer."""
    customers = parse_response(
        reference_path("qbxml/qbxml-gem/customer_query_terator_rs.xml").read_bytes()
    ).responses[0]
    orders = parse_response(
        reference_path("qbxml/qbxml-gem/purchase_order_query_rs.xml").read_bytes()
    ).responses[0]

    assert (customers.iterator_id, customers.iterator_remaining_count) == (
        "{eb05f701-e727-472f-8ade-6753c4f67a46}",
        18,
    )
    assert customers.ret.name == "10th Customer"
    assert (orders.iterator_id, orders.iterator_remaining_count) == (
        "{ee76b904-7ef8-4b83-9841-63d4715a273b}",
        0,
    )


@pytest.mark.parametrize(
    ("name", "index", "code", "severity"),
    [
        ("extracted/consolibyte-ItemServiceAddRs-3100.xml", 0, 3100, "Error"),
        # QuickBooks said Info for this refusal; the status code is what counts
        ("extracted/consolibyte-ReceivePaymentAddRs-3210.xml", 0, 3210, "Info"),
        ("extracted/qbwc-gem-CustomerQueryRs-3120-error.xml", 0, 3120, "Error"),
        ("extracted/qbwc-gem-CustomerQueryRs-500-warn.xml", 0, 500, "Warn"),
        ("extracted/flowlink-sales_order_add_rs_raw.xml", 3, 3140, "Error"),
        ("extracted/flowlink-sales_order_add_rs_raw.xml", 0, 1, "Info"),
    ],
)
def test_error_statuses_have_no_rets(name: str, index: int, code: int, severity: str) -> None:
    response = parse_response(reference_path(f"qbxml/{name}").read_bytes()).responses[index]

    assert (response.status_code, response.status_severity) == (code, severity)
    assert (response.ret, response.rets, response.raw) == (None, (), None)


def test_the_hcp_response_is_typed_too() -> None:
    rs = parse_response(
        reference_path("qbxml/extracted/consolibyte2008-hcp-response.xml").read_bytes()
    )
    host, company, preferences = (r.ret for r in rs)

    assert type(host).__name__ == "HostRet"
    assert host.product_name == "QuickBooks Pro 2006"
    assert host.supported_qbxml_version == (
        "1.0", "1.1", "2.0", "2.1", "3.0", "4.0", "4.1", "5.0",
    )  # fmt: skip
    assert (type(company).__name__, company.company_name) == ("CompanyRet", "Test Company")
    assert type(preferences).__name__ == "PreferencesRet"
    assert preferences.accounting_preferences is not None
