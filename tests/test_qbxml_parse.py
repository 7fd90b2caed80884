"""parse_response and build_response: round trips, status semantics, leniency, bad input."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from qbwc.exceptions import QBXMLError, QBXMLValidationError, QuickBooksError, XMLParseError
from qbwc.qbxml import (
    DataExtRet,
    ErrorRecovery,
    EstimateLineGroupRet,
    EstimateLineRet,
    EstimateRet,
    InvoiceLineGroupRet,
    InvoiceLineRet,
    InvoiceRet,
    Ref,
    Response,
    ResponseSet,
    classify_status,
    parse_response,
)
from qbwc.testing import build_response
from qbwc.testing.strategies import (
    estimate_rets,
    invoice_rets,
    response_sets,
    responses,
    xml_text,
)


def rs_doc(body: str, msgs_attributes: str = "") -> str:
    """A response document around *body* (the children of QBXMLMsgsRs)."""
    return (
        '<?xml version="1.0" ?>\n<QBXML>\n'
        f"<QBXMLMsgsRs{msgs_attributes}>\n{body}\n</QBXMLMsgsRs>\n</QBXML>\n"
    )


def invoice_doc(ret_body: str, status: str = 'statusCode="0" statusSeverity="Info"') -> str:
    """An InvoiceAddRs document whose InvoiceRet holds *ret_body*."""
    return rs_doc(f"<InvoiceAddRs {status}><InvoiceRet>{ret_body}</InvoiceRet></InvoiceAddRs>")


def only_ret(data: str | bytes) -> InvoiceRet:
    """The InvoiceRet of a one-response document."""
    ret = parse_response(data).responses[0].ret
    assert isinstance(ret, InvoiceRet)
    return ret


def ret_of(body: str) -> InvoiceRet:
    """The InvoiceRet parsed from an InvoiceAddRs whose InvoiceRet holds *body*."""
    return only_ret(invoice_doc(body))


class TestRoundTrip:
    @given(response_sets())
    def test_response_sets(self, rs: ResponseSet) -> None:
        """parse_response(build_response(x)) == x for generated response sets (qbXML 16.0)."""
        assert rs == parse_response(build_response(rs))

    @given(response_sets(version="13.0"))
    def test_response_sets_13(self, rs: ResponseSet) -> None:
        """The same holds for sets limited to qbXML 13.0 elements."""
        assert rs == parse_response(build_response(rs))

    @given(invoice_rets(), estimate_rets())
    def test_rets_in_one_set(self, invoice: InvoiceRet, estimate: EstimateRet) -> None:
        """An invoice and an estimate answered in one set come back in order, typed."""
        rs = ResponseSet(
            responses=[
                Response(name="InvoiceAddRs", request_id="1", ret=invoice),
                Response(name="EstimateAddRs", request_id="2", ret=estimate),
            ]
        )
        parsed = parse_response(build_response(rs))

        assert [invoice, estimate] == [r.ret for r in parsed]
        assert [r.request_id for r in parsed] == ["1", "2"]

    @given(response_sets())
    def test_str_input(self, rs: ResponseSet) -> None:
        """A decoded str (as the SOAP layer hands it over) parses like the bytes."""
        data = build_response(rs)

        assert parse_response(data) == parse_response(data.decode("utf-8"))

    @given(invoice_rets(), xml_text(max_size=40), xml_text(max_size=40))
    def test_any_text_xml_can_carry_round_trips(
        self, ret: InvoiceRet, memo: str, other: str
    ) -> None:
        """
        Text fields of a Ret hold any text XML can carry, not only what QuickBooks stores.

        The spec strategies keep Ret text to ISO-8859-1 (as our XSD does); the parser must
        still read whatever a company file or another tool puts there.
        """
        ret = attrs.evolve(ret, memo=memo, other=other)
        data = build_response([Response(name="InvoiceAddRs", ret=ret)])
        got = parse_response(data).responses[0].ret
        assert isinstance(got, InvoiceRet)
        assert (got.memo, got.other) == (memo, other)

    @given(invoice_rets())
    def test_parsed_models_behave_like_constructed_ones(self, ret: InvoiceRet) -> None:
        """Models the parser builds (without converters) equal, hash and evolve like any other."""
        parsed = parse_response(build_response([Response(name="InvoiceAddRs", ret=ret)]))
        got = parsed.responses[0].ret
        assert got is not None

        rebuilt = InvoiceRet(**attrs.asdict(got, recurse=False))
        assert rebuilt == got
        assert hash(rebuilt) == hash(got)
        assert got == attrs.evolve(got)
        assert isinstance(got.lines, tuple)
        assert isinstance(got.unknown, tuple)


class TestStatus:
    @pytest.mark.parametrize(
        ("code", "ok", "warning"),
        [
            (0, True, False),
            (1, True, False),
            (500, True, True),
            (999, True, True),
            (1000, False, False),
            (3100, False, False),
            (3210, False, False),
        ],
    )
    def test_ok_follows_the_code(self, code: int, ok: bool, warning: bool) -> None:
        """ok is decided by statusCode (0-999), warnings included."""
        response = Response(name="InvoiceAddRs", status_code=code)

        assert ok == response.ok
        assert warning == response.is_warning

    def test_severity_does_not_decide(self) -> None:
        """QuickBooks sent 3210 with severity Info: still a failure (consolibyte sample)."""
        rs = parse_response(
            rs_doc('<ReceivePaymentAddRs statusCode="3210" statusSeverity="Info" />')
        )

        assert rs.responses[0].status_severity == "Info"
        assert not rs.responses[0].ok

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("Info", "Info"),
            ("INFO", "Info"),
            ("Warn", "Warn"),
            ("Warning", "Warn"),
            ("warn", "Warn"),
            ("WARNING", "Warn"),
            ("Error", "Error"),
            ("error", "Error"),
        ],
    )
    def test_severity_case_insensitive(self, text: str, expected: str) -> None:
        """Severities are read case-insensitively; any warn* is a warning."""
        doc = rs_doc(f'<CustomerAddRs statusCode="530" statusSeverity="{text}" />')

        assert expected == parse_response(doc).responses[0].status_severity

    @pytest.mark.parametrize(("code", "expected"), [(0, "Info"), (530, "Warn"), (3100, "Error")])
    def test_missing_severity_is_derived(self, code: int, expected: str) -> None:
        """Without a usable statusSeverity, the severity follows the code's range."""
        doc = rs_doc(f'<CustomerAddRs statusCode="{code}" statusSeverity="" />')

        assert expected == parse_response(doc).responses[0].status_severity

    def test_raise_for_status(self) -> None:
        """raise_for_status raises QuickBooksError with code, message, request ID and severity."""
        response = Response(
            name="InvoiceAddRs",
            request_id="inv-7",
            status_code=3140,
            status_severity="Error",
            status_message='There is an invalid reference to QuickBooks Customer "Acme".',
        )

        with pytest.raises(QuickBooksError) as info:
            response.raise_for_status()

        assert info.value.status_code == 3140
        assert info.value.request_id == "inv-7"
        assert info.value.status_severity == "Error"
        assert 'Customer "Acme"' in info.value.status_message
        assert "QuickBooks status 3140 (request inv-7)" in str(info.value)

    def test_raise_for_status_returns_self(self) -> None:
        """A success (or a warning) returns the response itself, for chaining."""
        response = Response(name="InvoiceAddRs", status_code=530, status_severity="Warn")

        assert response is response.raise_for_status()

    def test_response_set_helpers(self) -> None:
        """A ResponseSet iterates in order, finds by requestID, and summarises."""
        recovery = ErrorRecovery(txn_id="C5-1417118624")
        rs = ResponseSet(
            responses=[
                Response(name="InvoiceAddRs", request_id="a", error_recovery=recovery),
                Response(name="CustomerAddRs", request_id="b", status_code=3100),
            ]
        )

        assert [r.request_id for r in rs] == ["a", "b"]
        assert len(rs) == 2
        assert rs.get("b") is rs.responses[1]
        assert rs.get("zzz") is None
        assert not rs.ok
        assert (recovery,) == rs.error_recoveries
        with pytest.raises(QuickBooksError, match="3100"):
            rs.raise_for_status()

    def test_message_set_attributes(self) -> None:
        """newMessageSetID and messageSetStatusCode of QBXMLMsgsRs are read."""
        rs = parse_response(rs_doc("", ' newMessageSetID="AB1F2395" messageSetStatusCode="600"'))

        assert rs.message_set_id == "AB1F2395"
        assert rs.message_set_status_code == 600
        assert rs.responses == ()


class TestClassifyStatus:
    @pytest.mark.parametrize(
        ("code", "message", "expected"),
        [
            (0, "Status OK", "ok"),
            (1, "A query request did not find a matching object", "ok"),
            (530, "", "warning"),
            (1000, "", "retry"),
            (1010, "", "retry"),
            (3170, "This list has been modified by another user.", "retry"),
            (3175, "", "retry"),
            (3176, "", "retry"),
            (
                3180,
                "QuickBooks error message: This list has been modified by another user.",
                "retry",
            ),
            (3180, "QuickBooks error message: The record is locked", "retry"),
            (3180, "QuickBooks error message: list element is in use", "retry"),
            (3180, "QuickBooks error message: The credit limit has been exceeded", "fix"),
            (3130, "invalid reference to a parent", "action"),
            (3140, "There is an invalid reference to QuickBooks Item", "action"),
            (3200, "The provided edit sequence is out-of-date.", "action"),
            (3250, "This feature is not enabled", "action"),
            (3260, "", "action"),
            (3261, "", "action"),
            (1060, "", "fix"),
            (3000, "", "fix"),
            (3100, "already in use", "fix"),
            (3120, "cannot be found", "fix"),
            (3171, "", "fix"),
            (3210, "invalid value", "fix"),
            (9100, "", "fix"),
        ],
    )
    def test_table(self, code: int, message: str, expected: str) -> None:
        """Each code of docs/qbxml-responses.md, "Status codes", lands in its class."""
        assert expected == classify_status(code, message)

    @given(st.integers(min_value=-10, max_value=10_000), st.text(max_size=30))
    def test_consistent_with_ok(self, code: int, message: str) -> None:
        """Exactly the ok codes classify as ok or warning; retryable means class retry."""
        response = Response(name="InvoiceAddRs", status_code=code, status_message=message)

        assert response.ok == (response.status_class in ("ok", "warning"))
        assert response.retryable == (response.status_class == "retry")


class TestLenient:
    def test_missing_required_elements(self) -> None:
        """A line without TxnLineID and a group without its required parts still parse."""
        ret = ret_of(
            "<InvoiceLineRet><Amount>5.00</Amount></InvoiceLineRet>"
            "<InvoiceLineGroupRet><Desc>Kit</Desc></InvoiceLineGroupRet>"
        )

        assert InvoiceLineRet(amount=Decimal("5.00")) == ret.lines[0]
        assert InvoiceLineGroupRet(desc="Kit") == ret.lines[1]

    def test_unknown_elements_are_kept_in_order(self) -> None:
        """Elements from newer QuickBooks versions are kept as XML text, not fatal."""
        ret = ret_of(
            '<TxnID>1-2</TxnID><FutureThing a="1"><X>y</X></FutureThing>'
            "<InvoiceLineRet><TxnLineID>3-4</TxnLineID><NewField>n</NewField></InvoiceLineRet>"
            "<Later/>"
        )

        assert ret.unknown == ('<FutureThing a="1"><X>y</X></FutureThing>', "<Later/>")
        assert ret.lines[0].unknown == ("<NewField>n</NewField>",)

    def test_unknown_elements_survive_a_round_trip(self) -> None:
        """build_response writes unknown elements back, so nothing is lost."""
        doc = invoice_doc("<TxnID>1-2</TxnID><Extra>e</Extra>")
        rs = parse_response(doc)

        assert rs == parse_response(build_response(rs))
        assert only_ret(build_response(rs)).unknown == ("<Extra>e</Extra>",)

    def test_unknown_children_of_the_response(self) -> None:
        """Unknown children of a typed *Rs (beside InvoiceRet/ErrorRecovery) are kept too."""
        rs = parse_response(
            rs_doc('<InvoiceAddRs statusCode="0" statusSeverity="Info"><Odd>1</Odd></InvoiceAddRs>')
        )

        assert rs.responses[0].unknown == ("<Odd>1</Odd>",)

    def test_unknown_inside_a_ref_is_dropped(self) -> None:
        """Ref is shared with the requests and has only ListID and FullName (documented)."""
        ret = ret_of("<CustomerRef><ListID>1</ListID><Extra/><FullName>A</FullName></CustomerRef>")

        assert Ref(list_id="1", full_name="A") == ret.customer_ref

    def test_repeated_single_element_keeps_the_first(self) -> None:
        """A second TxnID is not silently merged: the first wins, the second is kept as unknown."""
        ret = ret_of("<TxnID>first</TxnID><TxnID>second</TxnID>")

        assert ret.txn_id == "first"
        assert ret.unknown == ("<TxnID>second</TxnID>",)

    def test_empty_elements(self) -> None:
        """An empty text element is "", an empty number, date or flag is None."""
        ret = ret_of(
            "<Memo/><Subtotal/><TxnDate></TxnDate><IsPaid> </IsPaid><RefNumber></RefNumber>"
        )

        assert ret.memo == ""
        assert ret.ref_number == ""
        assert ret.subtotal is None
        assert ret.txn_date is None
        assert ret.is_paid is None

    def test_whitespace_around_values(self) -> None:
        """Numbers, dates and flags tolerate surrounding whitespace; text is kept verbatim."""
        ret = ret_of(
            "<Subtotal> 12.50 </Subtotal><TxnNumber>\n64\n</TxnNumber>"
            "<IsPaid> TRUE </IsPaid><TxnDate> 2024-05-01 </TxnDate><Memo>  a  </Memo>"
        )

        assert Decimal("12.50") == ret.subtotal
        assert ret.txn_number == 64
        assert ret.is_paid is True
        assert dt.date(2024, 5, 1) == ret.txn_date
        assert ret.memo == "  a  "

    def test_booleans(self) -> None:
        """BOOLTYPE is true/false (any case) or 1/0."""
        ret = ret_of(
            "<IsPending>1</IsPending><IsFinanceCharge>0</IsFinanceCharge><IsPaid>False</IsPaid>"
        )

        assert (ret.is_pending, ret.is_finance_charge, ret.is_paid) == (True, False, False)

    def test_datetime_with_offset(self) -> None:
        """TimeCreated keeps QuickBooks' offset: an aware datetime."""
        ret = ret_of("<TimeCreated>2014-11-27T18:03:44-02:00</TimeCreated>")

        expected = dt.datetime(2014, 11, 27, 18, 3, 44, tzinfo=dt.timezone(dt.timedelta(hours=-2)))
        assert expected == ret.time_created
        assert dt.timedelta(hours=-2) == ret.time_created.utcoffset()

    def test_datetime_short_forms(self) -> None:
        """DATETIMETYPE allows 1-digit fields and stopping early; still aware."""
        ret = ret_of(
            "<TimeCreated>2024-5-1T9:5:7+5:30</TimeCreated>"
            "<TimeModified>2024-05-01T10</TimeModified>"
        )

        zone = dt.timezone(dt.timedelta(hours=5, minutes=30))
        assert dt.datetime(2024, 5, 1, 9, 5, 7, tzinfo=zone) == ret.time_created
        assert dt.datetime(2024, 5, 1, 10, tzinfo=dt.UTC) == ret.time_modified

    def test_datetime_without_offset_uses_assume_tz(self) -> None:
        """No offset means QuickBooks-local time: read in assume_tz (UTC by default)."""
        doc = invoice_doc("<TimeCreated>2024-05-01T09:30:00</TimeCreated>")
        zone = dt.timezone(dt.timedelta(hours=-8))

        default = only_ret(doc).time_created
        ret = parse_response(doc, assume_tz=zone).responses[0].ret
        assert ret is not None

        assert dt.datetime(2024, 5, 1, 9, 30, tzinfo=dt.UTC) == default
        assert dt.datetime(2024, 5, 1, 9, 30, tzinfo=zone) == ret.time_created

    def test_comments_and_processing_instructions(self) -> None:
        """Comments and processing instructions anywhere are ignored."""
        ret = ret_of("<!-- c --><TxnID>1-2</TxnID><?pi x?><Memo>m<!-- c --></Memo>")

        assert ret.txn_id == "1-2"
        assert ret.memo == "m"
        assert ret.unknown == ()

    def test_estimate_lines(self) -> None:
        """EstimateAddRs gets an EstimateRet with its mixed line sequence and markup choice."""
        rs = parse_response(
            rs_doc(
                '<EstimateAddRs requestID="e1" statusCode="0" statusSeverity="Info"><EstimateRet>'
                "<TxnID>9-1</TxnID><TotalAmount>10.00</TotalAmount>"
                "<EstimateLineRet><TxnLineID>9-2</TxnLineID><MarkupRatePercent>12.5</MarkupRatePercent>"
                "</EstimateLineRet>"
                "<EstimateLineGroupRet><TxnLineID>9-3</TxnLineID><ItemGroupRef><FullName>Kit</FullName>"
                "</ItemGroupRef><IsPrintItemsInGroup>true</IsPrintItemsInGroup>"
                "<TotalAmount>4.00</TotalAmount><EstimateLineRet><TxnLineID>9-4</TxnLineID>"
                "</EstimateLineRet></EstimateLineGroupRet>"
                "<DataExtRet><OwnerID>0</OwnerID><DataExtName>Color</DataExtName>"
                "<DataExtType>STR255TYPE</DataExtType><DataExtValue>Red</DataExtValue></DataExtRet>"
                "</EstimateRet></EstimateAddRs>"
            )
        )
        ret = rs.responses[0].ret

        assert isinstance(ret, EstimateRet)
        assert Decimal("10.00") == ret.total_amount
        first = EstimateLineRet(txn_line_id="9-2", markup_rate_percent=Decimal("12.5"))
        assert first == ret.lines[0]
        group = ret.lines[1]
        assert isinstance(group, EstimateLineGroupRet)
        assert (EstimateLineRet(txn_line_id="9-4"),) == group.estimate_line_ret
        assert (
            DataExtRet(
                owner_id="0",
                data_ext_name="Color",
                data_ext_type="STR255TYPE",
                data_ext_value="Red",
            ),
        ) == ret.data_ext_ret

    def test_error_recovery(self) -> None:
        """An *AddRs answered from the recovery store carries ErrorRecovery data."""
        rs = parse_response(
            rs_doc(
                '<InvoiceAddRs statusCode="0" statusSeverity="Info"><ErrorRecovery>'
                "<TxnID>C5-1</TxnID><TxnNumber>64</TxnNumber><EditSequence>141</EditSequence>"
                "<ExternalGUID>{0B6F2B4C-8A4D-4E1E-9C3A-4D2B1F0E9A7C}</ExternalGUID>"
                "</ErrorRecovery></InvoiceAddRs>",
                ' newMessageSetID="set-1"',
            )
        )

        assert (
            ErrorRecovery(
                txn_id="C5-1",
                txn_number=64,
                edit_sequence="141",
                external_guid="{0B6F2B4C-8A4D-4E1E-9C3A-4D2B1F0E9A7C}",
            ),
        ) == rs.error_recoveries
        assert rs.responses[0].ret is None

    def test_other_response_types_are_typed_too(self) -> None:
        """A CustomerAddRs has its CustomerRet typed (the generated vocabulary); no raw."""
        rs = parse_response(
            rs_doc(
                '<CustomerAddRs requestID="c1" statusCode="0" statusSeverity="Info">'
                "<CustomerRet><ListID>80-1</ListID><Shoe>9</Shoe></CustomerRet></CustomerAddRs>"
            )
        )
        response = rs.responses[0]

        assert (response.name, response.request_id, response.status_code) == (
            "CustomerAddRs",
            "c1",
            0,
        )
        assert type(response.ret).__name__ == "CustomerRet"
        assert response.ret.list_id == "80-1"
        assert response.ret.unknown == ("<Shoe>9</Shoe>",)
        assert response.rets == (response.ret,)
        assert response.raw is None

    def test_unknown_response_types_keep_raw_xml(self) -> None:
        """A response qbXML 16.0 does not define keeps its status typed and its body raw."""
        rs = parse_response(
            rs_doc(
                '<WidgetAddRs requestID="c1" statusCode="0" statusSeverity="Info">'
                "<WidgetRet><ListID>80-1</ListID></WidgetRet></WidgetAddRs>"
            )
        )
        response = rs.responses[0]

        assert (
            response.name,
            response.request_id,
            response.status_code,
            response.ret,
        ) == ("WidgetAddRs", "c1", 0, None)
        assert response.raw is not None
        assert "<ListID>80-1</ListID>" in response.raw


class TestBadInput:
    def test_malformed(self) -> None:
        """Malformed XML is an XMLParseError, not an lxml traceback."""
        with pytest.raises(XMLParseError, match="qbXML response: not well-formed"):
            parse_response(b"<QBXML><QBXMLMsgsRs>")

    def test_doctype_refused(self) -> None:
        """A DTD (entity tricks) is refused."""
        doc = b'<!DOCTYPE QBXML [<!ENTITY a "b">]><QBXML><QBXMLMsgsRs/></QBXML>'

        with pytest.raises(XMLParseError, match="DOCTYPE"):
            parse_response(doc)

    @pytest.mark.parametrize(
        ("doc", "message"),
        [
            ("<Envelope/>", "the root element is <Envelope>, expected <QBXML>"),
            ("<QBXML/>", "no <QBXMLMsgsRs> element"),
            (
                '<QBXML><QBXMLMsgsRq onError="stopOnError"/></QBXML>',
                "this is a request (QBXMLMsgsRq), not a response",
            ),
        ],
    )
    def test_not_a_response(self, doc: str, message: str) -> None:
        """Documents that are not qbXML responses are refused with the reason."""
        with pytest.raises(QBXMLError, match=message.replace("(", r"\(").replace(")", r"\)")):
            parse_response(doc)

    @pytest.mark.parametrize(
        ("element", "text", "what"),
        [
            ("Subtotal", "abc", "an amount"),
            ("Subtotal", "NaN", "an amount"),
            ("Subtotal", "1_000.00", "an amount"),
            ("SalesTaxPercentage", "7,5", "a percentage"),
            ("TxnNumber", "6.4", "an integer"),
            ("IsPaid", "yes", "a boolean"),
            ("TxnDate", "05/01/2024", "a date"),
            ("TimeCreated", "yesterday", "a date and time"),
            ("ExchangeRate", "1e", "a number"),
        ],
    )
    def test_unconvertible_value_names_the_path(self, element: str, text: str, what: str) -> None:
        """A value that cannot be converted is a QBXMLError naming the element's path."""
        with pytest.raises(QBXMLError) as info:
            parse_response(invoice_doc(f"<{element}>{text}</{element}>"))

        message = str(info.value)
        assert message.startswith(f"/QBXML/QBXMLMsgsRs/InvoiceAddRs/InvoiceRet/{element}: ")
        assert repr(text) in message
        assert what in message

    def test_path_of_a_nested_value(self) -> None:
        """The path points at the exact line."""
        doc = invoice_doc(
            "<InvoiceLineRet><TxnLineID>1</TxnLineID></InvoiceLineRet>"
            "<InvoiceLineRet><TxnLineID>2</TxnLineID><Quantity>two</Quantity></InvoiceLineRet>"
        )

        with pytest.raises(QBXMLError, match=r"InvoiceRet/InvoiceLineRet\[2\]/Quantity: 'two'"):
            parse_response(doc)

    @pytest.mark.parametrize(
        ("attributes", "message"),
        [
            ('statusSeverity="Info"', "the statusCode attribute is missing"),
            ('statusCode="OK" statusSeverity="Info"', "'OK' is not an integer"),
        ],
    )
    def test_bad_status_code(self, attributes: str, message: str) -> None:
        """A response without a usable statusCode is refused: its outcome is unknown."""
        with pytest.raises(QBXMLError, match=message):
            parse_response(rs_doc(f"<InvoiceAddRs {attributes}/>"))

    @given(st.text(max_size=20))
    def test_any_text_in_a_number(self, text: str) -> None:
        """Whatever a numeric element holds, the result is a Decimal, None or a QBXMLError."""
        from xml.sax.saxutils import escape

        cleaned = "".join(c for c in text if c in "\t\n\r" or c >= " ")
        cleaned = "".join(c for c in cleaned if not 0xD800 <= ord(c) <= 0xDFFF)
        cleaned = cleaned.replace("\ufffe", "").replace("\uffff", "")
        try:
            ret = only_ret(invoice_doc(f"<Subtotal>{escape(cleaned)}</Subtotal>"))
        except QBXMLError:
            return
        assert ret.subtotal is None or ret.subtotal.is_finite()


class TestBuildResponse:
    def test_shape(self) -> None:
        """The document looks like QuickBooks': declaration, one element per line, attributes."""
        data = build_response(
            [
                Response(
                    name="InvoiceAddRs",
                    request_id="inv-1",
                    status_code=0,
                    status_severity="Info",
                    status_message="Status OK",
                    ret=InvoiceRet(txn_id="C5-1", subtotal=Decimal("206")),
                )
            ]
        )

        assert data.decode() == (
            '<?xml version="1.0" ?>\n<QBXML>\n<QBXMLMsgsRs>\n'
            '<InvoiceAddRs requestID="inv-1" statusCode="0" statusSeverity="Info" '
            'statusMessage="Status OK">\n<InvoiceRet>\n<TxnID>C5-1</TxnID>\n'
            "<Subtotal>206.00</Subtotal>\n</InvoiceRet>\n</InvoiceAddRs>\n"
            "</QBXMLMsgsRs>\n</QBXML>\n"
        )

    def test_error_response_is_empty(self) -> None:
        """An error response is a self-closed element with the status attributes."""
        data = build_response(
            ResponseSet(
                responses=[
                    Response(
                        name="CustomerAddRs",
                        status_code=3100,
                        status_severity="Error",
                        status_message='The name "A & B" is in use.',
                    )
                ],
                message_set_id="m-1",
                message_set_status_code=0,
            )
        ).decode()

        assert '<QBXMLMsgsRs newMessageSetID="m-1" messageSetStatusCode="0">' in data
        assert (
            '<CustomerAddRs statusCode="3100" statusSeverity="Error" '
            'statusMessage="The name &quot;A &amp; B&quot; is in use." />'
        ) in data

    def test_other_types_keep_their_body_with_the_new_status(self) -> None:
        """A response qbXML 16.0 does not define is written from raw, with the model's status."""
        parsed = parse_response(
            rs_doc(
                '<WidgetQueryRs requestID="q" statusCode="0" statusSeverity="Info" '
                'statusMessage="Status OK" iteratorRemainingCount="3">'
                "<CustomerRet><ListID>1</ListID></CustomerRet></WidgetQueryRs>"
            )
        ).responses[0]
        changed = attrs.evolve(parsed, status_code=500, status_severity="Warn", status_message="w")

        again = parse_response(build_response([changed])).responses[0]

        assert (
            again.status_code,
            again.status_severity,
            again.status_message,
            again.request_id,
        ) == (500, "Warn", "w", "q")
        assert again.raw is not None
        assert 'iteratorRemainingCount="3"' in again.raw
        assert "<CustomerRet><ListID>1</ListID></CustomerRet>" in again.raw

    @pytest.mark.parametrize(
        ("ret", "path", "rule"),
        [
            (
                InvoiceRet(subtotal=Decimal("1.005")),
                "responses[0].ret.subtotal",
                "1.005 has 3 decimal places, at most 2",
            ),
            (
                InvoiceRet(subtotal=Decimal("1E+13")),
                "responses[0].ret.subtotal",
                "more than 13 integer digits",
            ),
            (
                InvoiceRet(lines=[InvoiceLineRet(quantity=Decimal("0.000001"))]),
                "responses[0].ret.lines[0].quantity",
                "6 decimal places, at most 5",
            ),
            (
                InvoiceRet(time_created=dt.datetime(2024, 5, 1, 9)),
                "responses[0].ret.time_created",
                "carries its UTC offset",
            ),
            (
                InvoiceRet(time_created=dt.datetime(2024, 5, 1, 9, 0, 0, 5, tzinfo=dt.UTC)),
                "responses[0].ret.time_created",
                "whole seconds",
            ),
            (InvoiceRet(memo="bell\x07"), "responses[0].ret.memo", "U+0007 at position 4"),
            (InvoiceRet(txn_number=True), "responses[0].ret.txn_number", "expected an int"),
            (
                InvoiceRet(txn_date=dt.datetime(2024, 5, 1, tzinfo=dt.UTC)),
                "responses[0].ret.txn_date",
                "expected a date",
            ),
            (
                InvoiceRet(lines=[Ref(full_name="x")]),
                "responses[0].ret.lines[0]",
                "expected InvoiceLineRet or InvoiceLineGroupRet, got Ref",
            ),
            (
                InvoiceRet(unknown=["<a>"]),
                "responses[0].ret.unknown[0]",
                "not one well-formed XML element",
            ),
        ],
    )
    def test_refuses_what_it_cannot_write(self, ret: InvoiceRet, path: str, rule: str) -> None:
        """Values are never rounded or altered: what cannot be written is refused, by path."""
        with pytest.raises(QBXMLValidationError) as info:
            build_response([Response(name="InvoiceAddRs", ret=ret)])

        assert path == info.value.path
        assert rule in info.value.rule

    def test_refuses_a_ret_on_an_untyped_response(self) -> None:
        """A response qbXML 16.0 does not define carries no typed Ret."""
        with pytest.raises(QBXMLValidationError, match="WidgetAddRs has no typed Ret"):
            build_response([Response(name="WidgetAddRs", ret=InvoiceRet())])

    def test_refuses_a_ret_of_another_response(self) -> None:
        """A CustomerAddRs carries CustomerRets, nothing else."""
        rule = r"responses\[0\]\.rets\[0\]: expected CustomerRet, got InvoiceRet"
        with pytest.raises(QBXMLValidationError, match=rule):
            build_response([Response(name="CustomerAddRs", ret=InvoiceRet())])

    def test_refuses_a_bad_name(self) -> None:
        """The response name must look like a qbXML response element."""
        with pytest.raises(QBXMLValidationError, match="is not a qbXML response name"):
            build_response([Response(name="<Bad>")])

    @given(responses())
    def test_trailing_zeros_are_kept_or_dropped_without_changing_values(
        self, response: Response
    ) -> None:
        """Writing never changes a value: every parsed Decimal equals the original."""
        assert response == parse_response(build_response([response])).responses[0]

    def test_carriage_returns_survive(self) -> None:
        """A CR in text or in an attribute is written as &#13; so the parser keeps it."""
        response = Response(
            name="InvoiceAddRs",
            status_message="line\r\nnext\tend",
            ret=InvoiceRet(memo="a\r\nb"),
        )

        again = parse_response(build_response([response])).responses[0]

        assert response == again
