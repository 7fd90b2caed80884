"""
Golden tests: the real InvoiceAdd/EstimateAdd requests in the reference folder.

Every sample under ``qbxml/`` that holds an ``InvoiceAddRq`` or ``EstimateAddRq``
and that Intuit's schema accepts is read into models and built again at the
sample's own declared version (2.0, 3.0 and 6.0 here); the rebuilt document
equals the sample under canonical XML (C14N, ignoring indentation and comments).

Excluded, with the reason checked below:

* ``qbxml/flowlink/invoice_add_rq.xml`` is a template whose values are type
  placeholders (``DATETYPE``, ``AMTTYPE``...), not data: the official schema
  rejects it and so does ``parse_request``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from qbwc.exceptions import QBXMLValidationError
from qbwc.qbxml import (
    Address,
    EstimateAdd,
    EstimateLineAdd,
    InvoiceAdd,
    InvoiceLineAdd,
    Ref,
    build_request,
    parse_request,
    parse_request_set,
)
from tests.reference import ABSENT, reference_files, reference_path
from tests.test_qbxml_official_schema import official_schema

EXCLUDED = {
    "qbxml/flowlink/invoice_add_rq.xml": "a template with type placeholders, not data",
}
_ADDS = (b"<InvoiceAddRq", b"<EstimateAddRq")


def _samples() -> list[str]:
    found = []
    for name in reference_files("qbxml/**/*.xml"):
        if name == ABSENT:
            return [ABSENT]
        data = reference_path(name).read_bytes()
        if any(tag in data for tag in _ADDS) and name not in EXCLUDED:
            found.append(name)
    return found


SAMPLES = _samples()


def canonical(data: bytes) -> bytes:
    """C14N of the root element, without indentation-only text or comments."""
    parser = etree.XMLParser(
        remove_blank_text=True, remove_comments=True, resolve_entities=False, no_network=True
    )
    return etree.tostring(etree.fromstring(data, parser), method="c14n")


@pytest.fixture(scope="module")
def official13() -> etree.XMLSchema:
    """Intuit's qbXML 13.0 schema (it accepts every sample's older version too)."""
    return official_schema("v13")


class TestSamples:
    def test_found(self) -> None:
        """The three real request samples are all picked up."""
        if SAMPLES == [ABSENT]:
            reference_path(ABSENT)
        assert SAMPLES == [
            "qbxml/intuit/AddInvoiceSpecifyTemplate.xml",
            "qbxml/qbxml-gem/estimate_add_rq.xml",
            "qbxml/qbxml-gem/invoice_add_rq.xml",
        ]

    @pytest.mark.parametrize("name", SAMPLES)
    def test_round_trip_c14n(self, name: str, official13: etree.XMLSchema) -> None:
        """Sample -> models -> build at the sample's version == sample (C14N)."""
        data = reference_path(name).read_bytes()
        assert official13.validate(etree.fromstring(data)), official13.error_log

        request_set = parse_request_set(data)
        rebuilt = build_request(
            list(request_set.requests),
            version=request_set.version,
            on_error=request_set.on_error,
            message_set_id=request_set.message_set_id,
        )

        assert canonical(rebuilt) == canonical(data)
        assert f'<?qbxml version="{request_set.version}"?>'.encode() in rebuilt
        assert parse_request(rebuilt) == request_set.models


class TestValues:
    def test_intuit_add_invoice_specify_template(self) -> None:
        """Intuit's SDK sample (qbXML 3.0): defMacro, TemplateRef, an amount-only line."""
        request_set = parse_request_set(
            reference_path("qbxml/intuit/AddInvoiceSpecifyTemplate.xml").read_bytes()
        )

        assert request_set.version == "3.0"
        assert request_set.on_error == "stopOnError"
        assert request_set.requests == (
            (
                "0",
                InvoiceAdd(
                    def_macro="TxnID:NewInvoice",
                    customer_ref=Ref(full_name="Baker, Chris"),
                    template_ref=Ref(full_name="Intuit Service Invoice"),
                    lines=[
                        InvoiceLineAdd(
                            item_ref=Ref(full_name="Blueprint Changes"), amount=Decimal("100.00")
                        )
                    ],
                ),
            ),
        )

    def test_gem_invoice(self) -> None:
        """The qbxml gem's 2.0 invoice: a ListID customer, empty PONumber and Memo kept as ''."""
        (model,) = parse_request(reference_path("qbxml/qbxml-gem/invoice_add_rq.xml").read_bytes())

        assert model == InvoiceAdd(
            customer_ref=Ref(list_id="F560000-1197683156"),
            txn_date=dt.date(2007, 12, 14),
            ref_number="9668",
            bill_address=Address(
                addr1="56 Cowles Road",
                city="Willington",
                state="CT",
                postal_code="06279",
                country="United States",
            ),
            po_number="",
            memo="",
            lines=[
                InvoiceLineAdd(
                    item_ref=Ref(full_name="Downloaded Invoice"),
                    desc=f"Item {n} Description Goes Here",
                    quantity=Decimal(quantity),
                    rate=Decimal(rate),
                )
                for n, quantity, rate in ((1, 1, 295), (2, 3, 25))
            ],
        )

    def test_gem_estimate(self) -> None:
        """The qbxml gem's 6.0 estimate, with an apostrophe in the customer name."""
        (model,) = parse_request(reference_path("qbxml/qbxml-gem/estimate_add_rq.xml").read_bytes())

        assert isinstance(model, EstimateAdd)
        assert model.customer_ref == Ref(full_name="Keith's Company")
        assert [line.item_ref for line in model.lines if isinstance(line, EstimateLineAdd)] == [
            Ref(full_name="Item Name 1"),
            Ref(full_name="Item Name 2"),
        ]


class TestExcluded:
    @pytest.mark.parametrize("name", sorted(EXCLUDED))
    def test_excluded_for_its_reason(self, name: str, official13: etree.XMLSchema) -> None:
        """The placeholder template fails Intuit's schema and parse_request, clearly."""
        data = Path(reference_path(name)).read_bytes()

        assert not official13.validate(etree.fromstring(data))
        with pytest.raises(QBXMLValidationError) as caught:
            parse_request(data)
        assert (caught.value.path, caught.value.rule) == (
            "InvoiceAdd.txn_date",
            "'DATETYPE' is not a date (YYYY-MM-DD)",
        )
