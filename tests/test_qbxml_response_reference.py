"""Golden tests: real QuickBooks responses parse; our documents pass Intuit's own schemas."""

from __future__ import annotations

import datetime as dt
import functools
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from lxml import etree

from qbwc.exceptions import QBXMLError, XMLParseError
from qbwc.qbxml import (
    Address,
    AddressBlock,
    HCPResponse,
    InvoiceLineRet,
    InvoiceRet,
    Ref,
    ResponseSet,
    parse_response,
)
from qbwc.testing import build_hcp_response, build_response
from qbwc.testing.strategies import hcp_responses, response_sets
from tests.reference import reference_files, reference_path, require_reference

NOT_WELL_FORMED = "qbxml/extracted/qbwc-gem-hcp-response-qbpro2014-NOT-WELL-FORMED.xml"


@functools.cache
def official_schema(version: str) -> etree.XMLSchema:
    """Intuit's schema for qbXML 13.0 or 16.0, compiled once per session (they are big)."""
    folder = {"13": "v13/qbxmlops130.xsd", "16": "v16/qbxmlops160.xsd"}[version]
    return etree.XMLSchema(etree.parse(str(require_reference() / "xsd" / folder)))


def assert_valid(data: bytes, version: str) -> None:
    """*data* validates against the official schema of *version* ("13" or "16")."""
    schema = official_schema(version)
    ok = schema.validate(etree.fromstring(data))
    assert ok, str(schema.error_log)


def is_response(path: Path) -> bool:
    """The file holds a response message set (not a request, not a template)."""
    return b"QBXMLMsgsRs" in path.read_bytes()


class TestInvoiceAddRs:
    """flowlink-invoice_add_rs.xml: QuickBooks 2014 answering an InvoiceAdd (via the WC)."""

    @pytest.fixture
    def rs(self, reference: Path) -> ResponseSet:
        """The parsed response set."""
        return parse_response(
            (reference / "qbxml/extracted/flowlink-invoice_add_rs.xml").read_bytes()
        )

    def test_status(self, rs: ResponseSet) -> None:
        """One InvoiceAddRs, status 0 Info "Status OK", no requestID (none was sent)."""
        (response,) = rs.responses

        assert (
            response.name,
            response.status_code,
            response.status_severity,
            response.status_message,
            response.request_id,
        ) == ("InvoiceAddRs", 0, "Info", "Status OK", None)
        assert response.ok
        assert response.status_class == "ok"
        assert response.error_recovery is None
        assert rs.message_set_id is None
        assert rs.message_set_status_code is None

    def test_every_value(self, rs: ResponseSet) -> None:
        """The typed InvoiceRet carries every value of the file, with the right types."""
        zone = dt.timezone(dt.timedelta(hours=-2))
        stamp = dt.datetime(2014, 11, 27, 18, 3, 44, tzinfo=zone)
        address = Address(
            addr1="1234 Awesome Street",
            city="Hollywood",
            state="CA",
            postal_code="90210",
            country="USA",
        )
        block = AddressBlock(
            addr1="1234 Awesome Street", addr2="Hollywood, California 90210", addr3="US"
        )
        expected = InvoiceRet(
            txn_id="C5-1417118624",
            time_created=stamp,
            time_modified=stamp,
            edit_sequence="1417118624",
            txn_number=64,
            customer_ref=Ref(list_id="80000013-1416570432", full_name="spree@example.com"),
            ar_account_ref=Ref(list_id="8000001D-1415742793", full_name="Accounts Receivable"),
            template_ref=Ref(list_id="80000003-1414518220", full_name="Intuit Service Invoice"),
            txn_date=dt.date(2014, 2, 3),
            ref_number="R1TT46883",
            bill_address=address,
            bill_address_block=block,
            ship_address=address,
            ship_address_block=block,
            is_pending=False,
            is_finance_charge=False,
            due_date=dt.date(2014, 2, 3),
            ship_date=dt.date(2014, 2, 3),
            subtotal=Decimal("206.00"),
            sales_tax_percentage=Decimal("0.00"),
            sales_tax_total=Decimal("0.00"),
            applied_amount=Decimal("0.00"),
            balance_remaining=Decimal("206.00"),
            is_paid=False,
            is_to_be_printed=True,
            is_to_be_emailed=False,
            lines=[
                InvoiceLineRet(
                    txn_line_id="C7-1417118624",
                    item_ref=Ref(list_id="80000034-1415899267", full_name="SPREE-T-SHIRT"),
                    quantity=Decimal("2"),
                    rate=Decimal("103.00"),
                    amount=Decimal("206.00"),
                    sales_tax_code_ref=Ref(list_id="80000002-1414518221", full_name="Non"),
                )
            ],
        )

        ret = rs.responses[0].ret

        assert expected == ret
        assert isinstance(ret, InvoiceRet)
        assert ret.txn_id == "C5-1417118624"
        assert ret.unknown == ()
        assert all(type(v) is Decimal for v in (ret.subtotal, ret.balance_remaining))

    def test_rebuilt_document_is_valid_and_equal(self, rs: ResponseSet) -> None:
        """build_response of the parsed values passes Intuit's 13.0 schema and reads back equal."""
        data = build_response(rs)

        assert_valid(data, "13")
        assert rs == parse_response(data)

    def test_the_soap_capture_carries_the_same_document(self, reference: Path) -> None:
        """The receiveResponseXML envelope's <response> text parses to the same values."""
        envelope = etree.fromstring((reference / "soap/flowlink/invoice_add_rs.xml").read_bytes())
        (response,) = [el for el in envelope.iter() if etree.QName(el).localname == "response"]
        assert response.text is not None
        extracted = (reference / "qbxml/extracted/flowlink-invoice_add_rs.xml").read_bytes()

        assert parse_response(extracted) == parse_response(response.text)


class TestErrorResponses:
    @pytest.mark.parametrize(
        ("relative", "name", "code", "severity", "status_class", "phrase"),
        [
            (
                "qbxml/extracted/consolibyte-ItemServiceAddRs-3100.xml",
                "ItemServiceAddRs",
                3100,
                "Error",
                "fix",
                "of the list element is already in use",
            ),
            (
                "qbxml/extracted/qbwc-gem-CustomerQueryRs-3120-error.xml",
                "CustomerQueryRs",
                3120,
                "Error",
                "fix",
                "specified in the request cannot be found",
            ),
            (
                "qbxml/extracted/consolibyte-ReceivePaymentAddRs-3210.xml",
                "ReceivePaymentAddRs",
                3210,
                "Info",
                "fix",
                "You cannot pay more than the amount due.",
            ),
        ],
    )
    def test_error(
        self,
        reference: Path,
        relative: str,
        name: str,
        code: int,
        severity: str,
        status_class: str,
        phrase: str,
    ) -> None:
        """Each real error parses into its code, severity and QuickBooks' message; not ok."""
        (response,) = parse_response((reference / relative).read_bytes()).responses

        assert (name, code, severity, status_class) == (
            response.name,
            response.status_code,
            response.status_severity,
            response.status_class,
        )
        assert phrase in response.status_message
        assert not response.ok
        assert response.ret is None

    def test_3210_with_severity_info_is_an_error(self, reference: Path) -> None:
        """QuickBooks sent severity Info with 3210; the code decides, quotes are unescaped."""
        data = (reference / "qbxml/extracted/consolibyte-ReceivePaymentAddRs-3210.xml").read_bytes()
        (response,) = parse_response(data).responses

        assert response.status_message.startswith('The "AppliedToTxnAdd payment amount" field')
        assert response.request_id == (
            "U2hpcE1ldGhvZEltcG9ydHxmMmMyNzk1OGQ5Y2UwMTZiYzViN2RmYTZlMDJlODM5NA=="
        )

    def test_500_warning_is_ok(self, reference: Path) -> None:
        """A 500 Warn is a success with a warning."""
        data = (reference / "qbxml/extracted/qbwc-gem-CustomerQueryRs-500-warn.xml").read_bytes()
        (response,) = parse_response(data).responses

        assert (
            response.status_code,
            response.status_severity,
            response.status_class,
        ) == (500, "Warn", "warning")
        assert response.ok
        assert response.is_warning
        assert response is response.raise_for_status()


class TestOtherResponses:
    def test_customer_batch_with_mixed_codes(self, reference: Path) -> None:
        """Five CustomerAddRs (continueOnError): each keeps its own status, in order."""
        rs = parse_response(
            (reference / "qbxml/hotglue/customer-batch-mixed.response.xml").read_bytes()
        )

        assert [r.status_code for r in rs] == [0, 3100, 3250, 3130, 0]
        assert [f"ext-mix-{i}" for i in range(1, 6)] == [r.request_id for r in rs]
        assert [r.ok for r in rs] == [True, False, False, False, True]
        assert [r.status_class for r in rs] == ["ok", "fix", "action", "action", "ok"]
        assert [r.ret is None for r in rs] == [False, True, True, True, False]
        assert rs.responses[0].ret.list_id == "8000274C-1785964190"
        assert "in use." in rs.responses[1].status_message
        assert not rs.ok

    def test_no_match_and_a_sales_order(self, reference: Path) -> None:
        """Status 1 ("no match") from a query is ok; a failed SalesOrderAddRs (3140) is not."""
        rs = parse_response(
            (reference / "qbxml/extracted/flowlink-sales_order_add_rs_raw.xml").read_bytes()
        )

        assert [r.status_code for r in rs][:4] == [1, 1, 0, 3140]
        assert [r.ok for r in rs][:4] == [True, True, True, False]
        assert rs.responses[3].status_class == "action"


@pytest.mark.parametrize("relative", reference_files("qbxml/**/*.xml"))
def test_every_real_document(relative: str) -> None:
    """Every response document parses (and reads back equal after build_response); requests
    are refused as not-a-response, and the one stored HCP that is NOT well-formed (a typo
    ``<yzer/DataExtType>`` in the qbwc gem's fixture) is an XMLParseError."""
    path = reference_path(relative)
    if relative == NOT_WELL_FORMED:
        with pytest.raises(XMLParseError, match="not well-formed"):
            parse_response(path.read_bytes())
        return
    if not is_response(path):
        with pytest.raises(QBXMLError, match="is a request"):
            parse_response(path.read_bytes())
        return

    rs = parse_response(path.read_bytes())

    assert len(rs.responses) >= 1
    assert rs == parse_response(build_response(rs))


class TestOfficialSchema:
    @given(response_sets(version="13.0"))
    def test_generated_documents_13(self, rs: ResponseSet) -> None:
        """Documents of qbXML 13.0 models validate against Intuit's 13.0 and 16.0 schemas."""
        data = build_response(rs)

        assert_valid(data, "13")
        assert_valid(data, "16")

    @given(response_sets(version="16.0"))
    def test_generated_documents_16(self, rs: ResponseSet) -> None:
        """Documents with the 16.0 additions validate against Intuit's 16.0 schema."""
        assert_valid(build_response(rs), "16")

    @given(hcp_responses())
    def test_generated_hcp_documents(self, hcp: HCPResponse) -> None:
        """build_hcp_response writes HCP documents Intuit's 13.0 schema accepts."""
        assert_valid(build_hcp_response(hcp).encode("utf-8"), "13")

    def test_real_hcp_is_valid(self, reference: Path) -> None:
        """Sanity: the real HCP sample validates (so the schema loading is right)."""
        data = (reference / "qbxml/extracted/consolibyte2008-hcp-response.xml").read_bytes()

        assert_valid(data, "13")
