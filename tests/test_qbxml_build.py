"""build_request, parse_request, the JSON form, qbwc's own schema and the CLI."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from qbwc.cli import main
from qbwc.exceptions import QBXMLValidationError, XMLParseError
from qbwc.qbxml import (
    Address,
    DataExt,
    EstimateAdd,
    EstimateLineAdd,
    InvoiceAdd,
    InvoiceLineAdd,
    InvoiceLineGroupAdd,
    Ref,
    RequestSet,
    SetCredit,
    build_request,
    dump,
    load,
    parse_request,
    parse_request_set,
    validate,
)
from qbwc.qbxml._build import frame_requests, render_request
from qbwc.qbxml._xsd import generate_xsd
from qbwc.testing._spec_strategies import request_names
from qbwc.testing.strategies import request_models, versions
from tests.reference import reference_path

ROOT = Path(__file__).resolve().parents[1]
HEAD = b'<?xml version="1.0" encoding="utf-8"?>\n<?qbxml version="13.0"?>\n'


def invoice(**fields: Any) -> InvoiceAdd:
    """A minimal valid invoice with *fields* set."""
    return InvoiceAdd(customer_ref=Ref(full_name="Acme"), **fields)


def body(document: bytes) -> str:
    """The document after the two processing instructions, as text."""
    assert document.startswith(HEAD)
    return document[len(HEAD) :].decode("ascii")


def add_body(document: bytes) -> str:
    """The inside of <InvoiceAdd> (or <EstimateAdd>) as text."""
    root = etree.fromstring(document)
    add = root[0][0][0]
    return "".join(etree.tostring(child, encoding="unicode") for child in add)


class TestDocument:
    def test_skeleton(self) -> None:
        """Declaration, qbXML PI, QBXML/QBXMLMsgsRq with onError, one *AddRq per model."""
        document = build_request([invoice()])

        assert document == HEAD + (
            b'<QBXML><QBXMLMsgsRq onError="stopOnError"><InvoiceAddRq requestID="1">'
            b"<InvoiceAdd><CustomerRef><FullName>Acme</FullName></CustomerRef></InvoiceAdd>"
            b"</InvoiceAddRq></QBXMLMsgsRq></QBXML>"
        )

    def test_request_ids_given_or_positional(self) -> None:
        """A model alone gets its 1-based position; a (request_id, model) pair keeps its ID."""
        estimate = EstimateAdd(customer_ref=Ref(list_id="80000001-1"), lines=[EstimateLineAdd()])

        document = build_request([invoice(), ("job-42", estimate), invoice()])

        root = etree.fromstring(document)
        assert [(rq.tag, rq.get("requestID")) for rq in root[0]] == [
            ("InvoiceAddRq", "1"),
            ("EstimateAddRq", "job-42"),
            ("InvoiceAddRq", "3"),
        ]

    def test_version_and_options(self) -> None:
        """The version PI, onError and newMessageSetID are written as asked."""
        document = build_request(
            [invoice()], version="16.0", on_error="continueOnError", message_set_id="set-7"
        )

        assert document.startswith(
            b'<?xml version="1.0" encoding="utf-8"?>\n<?qbxml version="16.0"?>\n'
            b'<QBXML><QBXMLMsgsRq onError="continueOnError" newMessageSetID="set-7">'
        )

    def test_error_recovery_status_and_clear(self) -> None:
        """Empty sets with oldMessageSetID ask for or clear a stored status (docs/protocol.md)."""
        status = build_request([], message_set_id="AB1F2395", old_message_set_id="AB1F2395")
        clear = build_request([], old_message_set_id="AB1F2395", on_error="continueOnError")

        assert body(status) == (
            '<QBXML><QBXMLMsgsRq onError="stopOnError" newMessageSetID="AB1F2395" '
            'oldMessageSetID="AB1F2395"/></QBXML>'
        )
        assert body(clear) == (
            '<QBXML><QBXMLMsgsRq onError="continueOnError" oldMessageSetID="AB1F2395"/></QBXML>'
        )

    def test_schema_order_not_argument_order(self) -> None:
        """Elements come out in schema order whatever order the fields were given in."""
        model = InvoiceAdd(
            memo="m",
            ref_number="7",
            txn_date=dt.date(2024, 5, 1),
            customer_ref=Ref(full_name="Acme"),
            is_pending=False,
            po_number="PO",
        )

        assert [child.tag for child in etree.fromstring(build_request([model]))[0][0][0]] == [
            "CustomerRef",
            "TxnDate",
            "RefNumber",
            "IsPending",
            "PONumber",
            "Memo",
        ]

    def test_lines_keep_their_order(self) -> None:
        """Line and group lines interleave in the order given."""
        model = invoice(
            lines=[
                InvoiceLineAdd(desc="a"),
                InvoiceLineGroupAdd(item_group_ref=Ref(full_name="Kit")),
                InvoiceLineAdd(desc="b"),
            ]
        )

        tags = [c.tag for c in etree.fromstring(build_request([model]))[0][0][0]]
        assert tags == ["CustomerRef", "InvoiceLineAdd", "InvoiceLineGroupAdd", "InvoiceLineAdd"]

    def test_include_ret_element_after_the_add(self) -> None:
        """IncludeRetElement goes into the *AddRq after the *Add; defMacro is an attribute."""
        model = invoice(def_macro="TxnID:inv-1", include_ret_element=["TxnID", "RefNumber"])

        assert body(build_request([model])) == (
            '<QBXML><QBXMLMsgsRq onError="stopOnError"><InvoiceAddRq requestID="1">'
            '<InvoiceAdd defMacro="TxnID:inv-1"><CustomerRef><FullName>Acme</FullName>'
            "</CustomerRef></InvoiceAdd><IncludeRetElement>TxnID</IncludeRetElement>"
            "<IncludeRetElement>RefNumber</IncludeRetElement></InvoiceAddRq></QBXMLMsgsRq></QBXML>"
        )

    def test_numbers(self) -> None:
        """Money has exactly two decimals; rates and quantities drop trailing zeros."""
        line = InvoiceLineAdd(quantity=Decimal("10.500"), rate=Decimal("1E+2"), amount=150)

        assert add_body(build_request([invoice(lines=[line])])).endswith(
            "<InvoiceLineAdd><Quantity>10.5</Quantity><Rate>100</Rate>"
            "<Amount>150.00</Amount></InvoiceLineAdd>"
        )

    @pytest.mark.parametrize(
        ("amount", "rate", "written"),
        [
            ("150", "150", "<Rate>150</Rate><Amount>150.00</Amount>"),
            ("1.5E+1", "1.5E+1", "<Rate>15</Rate><Amount>15.00</Amount>"),
            ("-0.5", "-0.50000", "<Rate>-0.5</Rate><Amount>-0.50</Amount>"),
            ("1.230", "1E-5", "<Rate>0.00001</Rate><Amount>1.23</Amount>"),
            ("0E-7", "0E-7", "<Rate>0</Rate><Amount>0.00</Amount>"),
            ("9999999999999.99", "9999999999.99999",
             "<Rate>9999999999.99999</Rate><Amount>9999999999999.99</Amount>"),
        ],
    )  # fmt: skip
    def test_number_forms(self, amount: str, rate: str, written: str) -> None:
        """Any notation of an allowed value is written plainly and exactly."""
        line = InvoiceLineAdd(rate=Decimal(rate), amount=Decimal(amount))

        assert add_body(build_request([invoice(lines=[line])])).endswith(
            f"<InvoiceLineAdd>{written}</InvoiceLineAdd>"
        )

    def test_dates_bools_guids(self) -> None:
        """Dates are ISO, booleans lowercase, a UUID becomes an upper-case braced GUID."""
        owner = "6b0e4ff0-3b9d-4d2b-8b2a-0a4f0d1c2e3f"
        model = invoice(
            txn_date="2024-05-01",
            is_pending=True,
            is_to_be_printed=False,
            lines=[
                InvoiceLineAdd(
                    data_ext=[
                        DataExt(owner_id=__import__("uuid").UUID(owner), data_ext_name="N",
                                data_ext_value="v")
                    ]
                )
            ],
        )  # fmt: skip

        text = add_body(build_request([model]))

        assert "<TxnDate>2024-05-01</TxnDate><IsPending>true</IsPending>" in text
        assert "<IsToBePrinted>false</IsToBePrinted>" in text
        assert f"<OwnerID>{{{owner.upper()}}}</OwnerID>" in text

    def test_escaping_text(self) -> None:
        """& < > are escaped in text, quotes need nothing there, CR survives as &#13;."""
        model = invoice(memo="Smith & Sons <Ltd> \"quoted\" 'it' a\r\nb\tc")

        assert b"<Memo>Smith &amp; Sons &lt;Ltd&gt; \"quoted\" 'it' a&#13;\nb\tc</Memo>" in (
            build_request([model])
        )

    def test_escaping_attributes(self) -> None:
        """Attribute values escape & < > " and write tab, LF and CR as references."""
        model = invoice(def_macro='TxnID:a&b<c>"d"\te\nf')

        assert b'defMacro="TxnID:a&amp;b&lt;c&gt;&quot;d&quot;&#9;e&#10;f"' in build_request(
            [('r&"1', model)]
        )
        assert b'requestID="r&amp;&quot;1"' in build_request([('r&"1', model)])

    def test_output_is_ascii_with_latin1_references(self) -> None:
        """Characters U+00A0-U+00FF are written as numeric references; the bytes are ASCII."""
        document = build_request([invoice(memo="Café Zürich ½ ÿ")])

        document.decode("ascii")
        assert b"<Memo>Caf&#233; Z&#252;rich &#189; &#255;</Memo>" in document

    def test_transliterate(self) -> None:
        """text_policy='transliterate' maps Word punctuation, €, ™ and letters to ASCII."""
        model = invoice(memo="“Quote” ‘x’ – — … € ™ Łódź ﬁ œ\u200b")

        document = build_request([model], text_policy="transliterate")

        assert b"<Memo>\"Quote\" 'x' - - ... EUR TM L&#243;dz fi oe</Memo>" in document

    def test_transliterate_cp1252_mojibake(self) -> None:
        """A cp1252 byte decoded as Latin-1 (U+0093) transliterates like the real character."""
        document = build_request([invoice(memo="\x93hi\x94")], text_policy="transliterate")

        assert b'<Memo>"hi"</Memo>' in document

    def test_deterministic(self) -> None:
        """The same models always give the same bytes."""
        model = invoice(memo="x", lines=[InvoiceLineAdd(desc="y")])

        assert build_request([model]) == build_request([model])


class TestParseRequest:
    def test_round_trip_example(self) -> None:
        """parse_request gives back the models and the message-set attributes."""
        model = invoice(
            txn_date=dt.date(2024, 5, 1),
            bill_address=Address(addr1="1 Main", city="Town"),
            set_credit=[SetCredit(credit_txn_id="1-2", applied_amount=Decimal("5.00"))],
            lines=[InvoiceLineAdd(desc="é\r\n", rate=Decimal("1.5"))],
        )
        document = build_request([("a", model)], message_set_id="m1", on_error="continueOnError")

        assert parse_request(document) == (model,)
        assert parse_request_set(document) == RequestSet(
            version="13.0",
            on_error="continueOnError",
            message_set_id="m1",
            requests=(("a", model),),
        )

    def test_reads_str(self) -> None:
        """A str document (as a SOAP layer hands it over) is read the same."""
        document = build_request([invoice()])

        assert parse_request(document.decode()) == (invoice(),)

    @pytest.mark.parametrize(
        ("change", "path", "rule"),
        [
            (
                ("<RefNumber>1</RefNumber>", "<Bogus>1</Bogus>"),
                "InvoiceAdd",
                "unknown element <Bogus> in <InvoiceAdd>",
            ),
            (
                (
                    "<RefNumber>1</RefNumber>",
                    "<RefNumber>1</RefNumber><TxnDate>2024-01-01</TxnDate>",
                ),
                "InvoiceAdd.txn_date",
                "<TxnDate> is out of schema order or repeated in <InvoiceAdd>",
            ),
            (
                ("<Amount>1.00</Amount>", "<Amount>1.5</Amount>"),
                "InvoiceAdd.lines[0].amount",
                "'1.5' is not a qbXML AMTTYPE value",
            ),
            (
                ("<Amount>1.00</Amount>", "<Amount>1.00</Amount><Amount>2.00</Amount>"),
                "InvoiceAdd.lines[0].amount",
                "<Amount> is out of schema order or repeated in <InvoiceLineAdd>",
            ),
            (
                ('<?qbxml version="13.0"?>', ""),
                "qbxml",
                'missing <?qbxml version="..."?> before <QBXML>',
            ),
            (
                ('requestID="1"', 'requestID="1" iterator="Start"'),
                "InvoiceAdd",
                "unknown attribute iterator on <InvoiceAddRq>",
            ),
            (
                ("<InvoiceAddRq", "<WidgetAddRq"),
                "requests[0]",
                "<WidgetAddRq> is not supported "
                "(qbwc reads the requests of qbXML 16.0 that QuickBooks Desktop accepts)",
            ),
        ],
    )
    def test_strict(self, change: tuple[str, str], path: str, rule: str) -> None:
        """Requests are ours: anything unexpected is refused, naming the element."""
        model = invoice(ref_number="1", lines=[InvoiceLineAdd(amount=Decimal("1.00"))])
        text = build_request([model]).decode()
        if change[0] == "<InvoiceAddRq":
            text = text.replace("InvoiceAddRq", "WidgetAddRq")
        else:
            text = text.replace(*change, 1)

        with pytest.raises(QBXMLValidationError) as caught:
            parse_request(text)

        assert (caught.value.path, caught.value.rule) == (path, rule)

    def test_applies_builder_rules(self) -> None:
        """A well-formed request that breaks a builder rule is refused with the same words."""
        text = build_request([invoice(ref_number="1")]).replace(b">1<", b">123456789012<")

        with pytest.raises(QBXMLValidationError, match=r"^InvoiceAdd.ref_number: 12 characters"):
            parse_request(text)

    def test_not_well_formed(self) -> None:
        """Malformed XML is an XMLParseError, never an lxml traceback."""
        with pytest.raises(XMLParseError, match="not well-formed"):
            parse_request(b"<QBXML><QBXMLMsgsRq>")

    def test_doctype_refused(self) -> None:
        """A DTD (the door to entity expansion) is refused."""
        document = b'<?xml version="1.0"?><!DOCTYPE QBXML [<!ENTITY x "y">]><QBXML/>'

        with pytest.raises(XMLParseError):
            parse_request(document)


class TestProperties:
    @given(st.data())
    def test_build_parse_round_trip(self, data: st.DataObject) -> None:
        """build_request -> parse_request gives back equal models, at every version."""
        version = data.draw(versions())
        models = data.draw(st.lists(request_models(version), min_size=1, max_size=2))

        document = build_request(models, version=version)

        assert parse_request(document) == tuple(models)
        assert parse_request_set(document).version == version

    @given(request_models())
    def test_validates_against_our_schema(self, model: InvoiceAdd | EstimateAdd) -> None:
        """Every built document validates against schemas/qbxml.xsd."""
        validate(build_request([model]))

    @given(request_models())
    def test_json_round_trip(self, model: InvoiceAdd | EstimateAdd) -> None:
        """load(dump(model)) == model, also through json.dumps/json.loads."""
        form = dump(model)

        assert load(form) == model
        assert load(json.loads(json.dumps(form))) == model

    @given(request_models(), st.data())
    def test_only_validation_errors(
        self, model: InvoiceAdd | EstimateAdd, data: st.DataObject
    ) -> None:
        """Whatever a field holds, the builder either builds or raises QBXMLValidationError."""
        target, name = data.draw(_fields_of(model))
        hostile = data.draw(_HOSTILE)
        object.__setattr__(target, name, hostile)  # bypass converters, as bad data would

        error: QBXMLValidationError | None = None
        try:
            document = build_request([model])
        except QBXMLValidationError as exc:
            error = exc

        if error is None:
            assert parse_request(document)
        else:
            assert error.path
            assert error.rule


_HOSTILE = st.one_of(
    st.none(),
    st.text(max_size=5),
    st.text(min_size=4090, max_size=4100, alphabet="ab"),
    st.integers(),
    st.floats(),
    st.decimals(),
    st.booleans(),
    st.dates(),
    st.datetimes(),
    st.binary(max_size=3),
    st.lists(st.integers(), max_size=2).map(tuple),
    st.just(()),
    st.just((None,)),
    st.just(Ref()),
    st.just(Address()),
    st.just(InvoiceLineAdd()),
    st.just(object()),
)


def _fields_of(model: object) -> st.SearchStrategy[tuple[object, str]]:
    """(object, field name) pairs over the model and its nested aggregates."""
    found: list[tuple[object, str]] = []

    def walk(obj: object) -> None:
        for field in attrs.fields(type(obj)):
            found.append((obj, field.name))
            value = getattr(obj, field.name)
            items = value if isinstance(value, tuple) else (value,)
            for item in items:
                if attrs.has(type(item)):
                    walk(item)

    walk(model)
    return st.sampled_from(found)


class TestJSON:
    def test_form(self) -> None:
        """The JSON form: type, snake_case keys, strings for decimals and dates, typed lines."""
        model = invoice(
            txn_date=dt.date(2024, 5, 1),
            lines=[InvoiceLineAdd(amount=Decimal("150.00"), quantity=Decimal("1.50"))],
        )

        assert dump(model) == {
            "type": "InvoiceAdd",
            "customer_ref": {"full_name": "Acme"},
            "txn_date": "2024-05-01",
            "lines": [{"type": "InvoiceLineAdd", "quantity": "1.50", "amount": "150.00"}],
        }

    @pytest.mark.parametrize(
        ("form", "path", "rule"),
        [
            ({"type": "Nope"}, "type", "'Nope' is not a request model (InvoiceAdd, "
             "EstimateAdd, InvoiceLineAdd, InvoiceLineGroupAdd, EstimateLineAdd, "
             "EstimateLineGroupAdd, CustomerAdd, ...)"),
            ({"type": "InvoiceAdd", "colour": "red"}, "InvoiceAdd.colour",
             "unknown key (not a field of InvoiceAdd)"),
            ({"type": "InvoiceAdd", "lines": [{"type": "InvoiceLineAdd", "amount": 1.5}]},
             "InvoiceAdd.lines[0].amount",
             'expected a decimal as a string such as "150.00", got float'),
            ({"type": "InvoiceAdd", "lines": [{"desc": "x"}]}, "InvoiceAdd.lines[0].type",
             "None is not 'InvoiceLineAdd' or 'InvoiceLineGroupAdd'"),
            ({"type": "InvoiceAdd", "txn_date": "5/1/2024"}, "InvoiceAdd.txn_date",
             "'5/1/2024' is not a date (YYYY-MM-DD)"),
            ({"type": "InvoiceAdd", "is_pending": "yes"}, "InvoiceAdd.is_pending",
             "expected true or false, got str"),
            ({"type": "InvoiceAdd", "customer_ref": "Acme"}, "InvoiceAdd.customer_ref",
             "expected a JSON object, got str"),
            ({"type": "InvoiceAdd", "memo": 5}, "InvoiceAdd.memo", "expected a string, got int"),
            ({"type": "InvoiceAdd", "lines": {}}, "InvoiceAdd.lines", "expected a list, got dict"),
            ({"type": "InvoiceAdd", "exchange_rate": "NaN"}, "InvoiceAdd.exchange_rate",
             "'NaN' is not a finite number"),
        ],
    )  # fmt: skip
    def test_load_names_the_key(self, form: dict[str, Any], path: str, rule: str) -> None:
        """Bad JSON input raises QBXMLValidationError naming the key and the rule."""
        with pytest.raises(QBXMLValidationError) as caught:
            load(form)

        assert (caught.value.path, caught.value.rule) == (path, rule)


class TestOurSchema:
    def test_committed_schema_is_generated(self) -> None:
        """schemas/qbxml.xsd is what the models generate (python -m qbwc.qbxml._xsd)."""
        assert (ROOT / "schemas" / "qbxml.xsd").read_bytes() == generate_xsd()

    @pytest.mark.parametrize(
        ("old", "new", "node"),
        [
            (b"<FullName>Acme</FullName>", b"", "CustomerRef"),
            (b"<Memo>x</Memo>", "<Memo>\u201c</Memo>".encode(), "Memo"),
            (b"<Memo>x</Memo>", b"<Memo>&#8220;</Memo>", "Memo"),
            (b"<Memo>x</Memo>", b"<Memo>\x7f</Memo>", "Memo"),
            (b'requestID="1"', b'requestID="&#8364;"', "InvoiceAddRq"),
            (b"<Memo>x</Memo>", b"<Memo>&#1;</Memo>", None),
            (b"<Memo>x</Memo>", b"<Memo>x</Memo><Memo>y</Memo>", "Memo[2]"),
        ],
    )
    def test_stricter_than_intuits(self, old: bytes, new: bytes, node: str | None) -> None:
        """Our schema refuses what the builder refuses (empty Refs, text outside Latin-1)."""
        document = build_request([invoice(memo="x")]).replace(old, new)

        with pytest.raises((QBXMLValidationError, XMLParseError)) as caught:
            validate(document)

        if node is not None:
            assert isinstance(caught.value, QBXMLValidationError)
            assert caught.value.path.endswith(node)

    def test_reports_path_and_rule(self) -> None:
        """validate names the node by XPath and gives the schema's complaint."""
        document = build_request([invoice(ref_number="1")]).replace(b">1<", b">123456789012<")

        with pytest.raises(QBXMLValidationError) as caught:
            validate(document)

        assert caught.value.path == "/QBXML/QBXMLMsgsRq/InvoiceAddRq/InvoiceAdd/RefNumber"
        assert "maximum length of '11'" in caught.value.rule

    @pytest.mark.parametrize(
        ("instruction", "rule"),
        [
            ("", 'missing <?qbxml version="..."?> before <QBXML>'),
            ("<?qbxml?>", "the <?qbxml?> processing instruction has no version"),
            ('<?qbxml version="CA3.0"?>', "'CA3.0' is not a supported qbXML version"),
        ],
    )
    def test_reader_and_validator_agree_on_the_instruction(
        self, instruction: str, rule: str
    ) -> None:
        """parse_request and validate read <?qbxml version?> the same way, at path qbxml."""
        document = build_request([invoice()]).replace(
            b'<?qbxml version="13.0"?>', instruction.encode()
        )

        for check in (parse_request, validate):
            with pytest.raises(QBXMLValidationError) as caught:
                check(document)
            assert caught.value.path == "qbxml"
            assert caught.value.rule.startswith(rule)

    def test_version_instruction_checked(self) -> None:
        """The schema cannot see <?qbxml version?>, so validate checks it itself."""
        document = build_request([invoice()]).replace(b"13.0", b"CA3.0")

        with pytest.raises(QBXMLValidationError) as caught:
            validate(document)

        assert caught.value.path == "qbxml"
        assert caught.value.rule.startswith("'CA3.0' is not a supported qbXML version")


class TestCLI:
    def test_build(self, tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
        """qbwc build FILE.json prints the qbXML document."""
        source = tmp_path / "order.json"
        source.write_text(json.dumps({**dump(invoice(memo="m")), "request_id": "o-1"}))

        assert main(["build", str(source), "--version", "16.0"]) == 0

        out = capsysbinary.readouterr().out
        assert parse_request_set(out).requests == (("o-1", invoice(memo="m")),)
        assert b'<?qbxml version="16.0"?>' in out

    def test_build_to_file(self, tmp_path: Path) -> None:
        """-o writes the document; a list of requests becomes one message set."""
        source, target = tmp_path / "orders.json", tmp_path / "out.xml"
        source.write_text(json.dumps([dump(invoice()), dump(invoice(memo="2"))]))

        assert main(["build", str(source), "-o", str(target), "--on-error", "continueOnError"]) == 0

        assert parse_request(target.read_bytes()) == (invoice(), invoice(memo="2"))

    def test_build_text_policy(
        self, tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
    ) -> None:
        """--text-policy transliterate maps smart quotes; a policy not offered exits 2."""
        source = tmp_path / "order.json"
        source.write_text(json.dumps({**dump(invoice()), "memo": "\u201cx\u201d"}))

        assert main(["build", str(source), "--text-policy", "transliterate"]) == 0
        assert parse_request(capsysbinary.readouterr().out) == (invoice(memo='"x"'),)

        with pytest.raises(SystemExit) as exited:
            main(["build", str(source), "--text-policy", "lenient"])
        assert exited.value.code == 2
        err = capsysbinary.readouterr().err
        assert b"invalid choice: 'lenient'" in err
        assert b"Traceback" not in err

    @pytest.mark.parametrize(
        ("content", "message"),
        [
            ("{", "not valid JSON"),
            (json.dumps({"type": "InvoiceAdd"}), "InvoiceAdd.customer_ref: required"),
            (
                json.dumps({**dump(invoice()), "memo": "\u201cx\u201d"}),
                "InvoiceAdd.memo: character 1 is U+201C (LEFT DOUBLE QUOTATION MARK)",
            ),
        ],
    )
    def test_build_errors(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, message: str
    ) -> None:
        """Bad input: one line naming the field and the rule, exit status 1, no traceback."""
        source = tmp_path / "bad.json"
        source.write_text(content)

        assert main(["build", str(source)]) == 1

        err = capsys.readouterr().err
        assert err.startswith(f"qbwc build: {source}: ")
        assert message in err
        assert "Traceback" not in err

    def test_validate(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """qbwc validate prints OK for a good request and the path and rule for a bad one."""
        good, bad = tmp_path / "good.xml", tmp_path / "bad.xml"
        good.write_bytes(build_request([invoice()]))
        bad.write_bytes(build_request([invoice(ref_number="1")]).replace(b">1<", b">123456789012<"))

        assert main(["validate", str(good)]) == 0
        assert main(["validate", str(good), str(bad)]) == 1

        out = capsys.readouterr().out.splitlines()
        assert out[0] == f"{good}: OK"
        assert (
            f"{bad}: qbwc schema: /QBXML/QBXMLMsgsRq/InvoiceAddRq/InvoiceAdd/RefNumber: "
            in (out[2])
        )
        assert out[3] == f"{bad}: InvoiceAdd.ref_number: 12 characters, at most 11"

    def test_validate_not_xml(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """A file that is not XML is reported as such."""
        junk = tmp_path / "junk.xml"
        junk.write_text("hello")

        assert main(["validate", str(junk)]) == 1
        assert "not well-formed XML" in capsys.readouterr().out

    def test_validate_qwc(self, capsys: pytest.CaptureFixture[str]) -> None:
        """A .QWC file (root QBWCXML) is checked by qbwc.qwc.problems."""
        qwc = reference_path("qwc/intuit-TestService.qwc")

        code = main(["validate", str(qwc)])

        out = capsys.readouterr().out
        from qbwc.qwc import problems

        expected = problems(qwc.read_bytes())
        assert code == (1 if expected else 0)
        assert out.splitlines() == (
            [f"{qwc}: {p}" for p in expected] if expected else [f"{qwc}: OK"]
        )


def _outcome(build: Any) -> tuple[str | None, bytes | str | None]:
    try:
        return None, build()
    except QBXMLValidationError as exc:
        return str(exc), None


class TestRenderedRequests:
    """render_request once, frame_requests at every sync: build_request's bytes."""

    @given(st.lists(request_models("16.0"), min_size=1, max_size=3), st.data())
    def test_framed_equals_built(self, models: list[Any], data: st.DataObject) -> None:
        """Rendered at 16.0 and framed at any version that has the fields: build_request."""
        from qbwc.service._recovery import _newest_field

        newest = max(_newest_field(m, "m")[0] for m in models)
        version = data.draw(versions(min_version=f"{newest[0]}.{newest[1]}"))
        on_error = data.draw(st.sampled_from(["stopOnError", "continueOnError"]))
        set_id = data.draw(st.none() | st.sampled_from(["1", "a&b<'\"", "x" * 23]))
        policy = data.draw(st.sampled_from(["strict", "transliterate"]))
        ids = [str(n) for n in range(7, 7 + len(models))]
        rendered = [render_request(m, version="16.0", text_policy=policy) for m in models]

        framed = frame_requests(
            [(i, type(m).__name__, r) for i, m, r in zip(ids, models, rendered, strict=True)],
            version=version,
            on_error=on_error,
            message_set_id=set_id,
        )

        assert framed == build_request(
            list(zip(ids, models, strict=True)),
            version=version,
            on_error=on_error,
            message_set_id=set_id,
            text_policy=policy,
        )
        assert [render_request(m, version=version, text_policy=policy) for m in models] == rendered

    @given(request_models("16.0"), st.data())
    def test_same_errors_as_build_request(self, model: Any, data: st.DataObject) -> None:
        """A model build_request refuses, render_request refuses with the same path and rule."""
        target, name = data.draw(_fields_of(model))
        object.__setattr__(target, name, data.draw(_HOSTILE))

        built_error, built = _outcome(lambda: build_request([model], version="16.0"))
        rendered_error, rendered = _outcome(lambda: render_request(model, version="16.0"))

        assert rendered_error == built_error
        if built is not None:
            assert isinstance(rendered, str)
            assert frame_requests([("1", type(model).__name__, rendered)], version="16.0") == built

    def test_fields_newer_than_the_version(self) -> None:
        """A field the version does not have is refused, as by build_request."""
        model = invoice(other="x")  # Other: qbXML 6.0

        with pytest.raises(QBXMLValidationError, match=r"InvoiceAdd\.other: .*needs qbXML 6\.0"):
            render_request(model, version="5.0")
        assert render_request(model, version="6.0") == render_request(model)

    @pytest.mark.parametrize(
        ("rendered", "kwargs", "match"),
        [
            ([], {}, r"rendered: at least one request is required"),
            ([("1", "Customer", "<x/>")], {}, r"rendered\[0\]: 'Customer' is not the name of a r"),
            ([("1", "CustomerQuery", "<x/>")], {}, r"rendered\[0\]: expected the ASCII"),
            ([("1", "ListDel", "></ListDelRs>")], {}, r"rendered\[0\]: expected the ASCII"),
            ([("1", "InvoiceAdd", "<Memo>é</Memo>")], {}, r"rendered\[0\]: expected the ASCII"),
            ([("1", "InvoiceAdd", b"<x/>")], {}, r"rendered\[0\]: expected the ASCII"),
            ([("1", "InvoiceAdd", "<x/>"), ("1", "EstimateAdd", "<y/>")], {}, "used by an earl"),
            ([("", "InvoiceAdd", "<x/>")], {}, r"rendered\[0\]\.request_id: empty"),
            ([(1, "InvoiceAdd", "<x/>")], {}, r"request_id: expected str, got int"),
            ([("1", "InvoiceAdd", "<x/>")], {"on_error": "rollbackOnError"}, "not support"),
            ([("1", "InvoiceAdd", "<x/>")], {"version": "CA3.0"}, "version"),
            ([("1", "InvoiceAdd", "<x/>")], {"message_set_id": "x" * 24}, "9004"),
        ],
    )
    def test_frame_refusals(self, rendered: Any, kwargs: dict[str, Any], match: str) -> None:
        """Each rule of frame_requests, with the item it concerns."""
        with pytest.raises(QBXMLValidationError, match=match):
            frame_requests(rendered, **kwargs)

    def test_render_refusals(self) -> None:
        """Not a request model, an unknown text policy, an unsupported version."""
        with pytest.raises(QBXMLValidationError, match="model: expected a request model"):
            render_request(Ref(full_name="x"))
        with pytest.raises(QBXMLValidationError, match="text_policy"):
            render_request(invoice(), text_policy="loose")  # type: ignore[arg-type]
        with pytest.raises(QBXMLValidationError, match="version"):
            render_request(invoice(), version="99.0")


@pytest.mark.parametrize("name", request_names())
def test_render_and_frame_every_request_type(name: str) -> None:
    """Every request type of the vocabulary: rendered once, framed later, build_request's bytes."""
    from hypothesis import HealthCheck, settings

    from qbwc.qbxml._build import is_rendered
    from qbwc.testing._spec_strategies import model_of, models

    @settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck))
    @given(models(model_of(name), version="16.0"))
    def check(model: Any) -> None:
        built = build_request([("7", model)], version="16.0")
        text = render_request(model, version="16.0")
        assert is_rendered(name, text)
        assert frame_requests([("7", name, text)], version="16.0") == built

    check()
