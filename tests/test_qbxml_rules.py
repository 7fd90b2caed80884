"""Every rule build_request enforces, with the exact message a user sees."""

from __future__ import annotations

import datetime as dt
import decimal
from decimal import Decimal
from typing import Any

import pytest

from qbwc.exceptions import QBXMLValidationError
from qbwc.qbxml import (
    Address,
    DataExt,
    EstimateAdd,
    EstimateLineAdd,
    InvoiceAdd,
    InvoiceLineAdd,
    InvoiceLineGroupAdd,
    LinkToTxn,
    Ref,
    SetCredit,
    build_request,
)

ACME = Ref(full_name="Acme")


def invoice(**fields: Any) -> InvoiceAdd:
    """A valid invoice with *fields* set."""
    return InvoiceAdd(**{"customer_ref": ACME, **fields})


def line(**fields: Any) -> InvoiceAdd:
    """A valid invoice whose fourth line has *fields* set."""
    return invoice(lines=[*(InvoiceLineAdd() for _ in range(3)), InvoiceLineAdd(**fields)])


def estimate_line(**fields: Any) -> EstimateAdd:
    """A valid estimate whose only line has *fields* set."""
    return EstimateAdd(customer_ref=ACME, lines=[EstimateLineAdd(**fields)])


def forced(model: Any, name: str, value: Any) -> Any:
    """*model* with *name* set to *value* past the converters, as corrupt data would be."""
    object.__setattr__(model, name, value)
    return model


def refused(requests: Any, **options: Any) -> tuple[str, str]:
    """The (path, rule) of the QBXMLValidationError that build_request raises."""
    with pytest.raises(QBXMLValidationError) as caught:
        build_request(requests, **options)
    assert str(caught.value) == f"{caught.value.path}: {caught.value.rule}"
    return caught.value.path, caught.value.rule


class TestLengths:
    @pytest.mark.parametrize(
        ("model", "path", "rule"),
        [
            (line(desc="x" * 4120), "InvoiceAdd.lines[3].desc", "4,120 characters, at most 4,095"),
            (invoice(ref_number="123456789012"), "InvoiceAdd.ref_number",
             "12 characters, at most 11"),
            (invoice(bill_address=Address(city="c" * 32)), "InvoiceAdd.bill_address.city",
             "32 characters, at most 31"),
            (invoice(customer_ref=Ref(full_name="n" * 210)), "InvoiceAdd.customer_ref.full_name",
             "210 characters, at most 209"),
            (invoice(sales_rep_ref=Ref(full_name="ABCDEF")), "InvoiceAdd.sales_rep_ref.full_name",
             "6 characters, at most 5"),
            (invoice(class_ref=Ref(list_id="1" * 37)), "InvoiceAdd.class_ref.list_id",
             "37 characters, at most 36"),
            (invoice(link_to_txn_id=["1" * 37]), "InvoiceAdd.link_to_txn_id[0]",
             "37 characters, at most 36"),
            (invoice(include_ret_element=["R" * 51]), "InvoiceAdd.include_ret_element[0]",
             "51 characters, at most 50"),
            (line(data_ext=[DataExt(owner_id="0", data_ext_name="n" * 32, data_ext_value="")]),
             "InvoiceAdd.lines[3].data_ext[0].data_ext_name", "32 characters, at most 31"),
        ],
    )  # fmt: skip
    def test_max_length_in_characters(self, model: Any, path: str, rule: str) -> None:
        """Limits count characters; a Ref's limit applies to its FullName."""
        assert refused([model]) == (path, rule)

    def test_latin1_counts_one_character(self) -> None:
        """'é' is one character (written as a 6-byte reference): 11 of them fit RefNumber."""
        assert b"&#233;" * 11 in build_request([invoice(ref_number="é" * 11)])

    def test_length_after_transliteration(self) -> None:
        """Transliterated text is measured as stored: '…' becomes three characters."""
        model = invoice(ref_number="1234567890…")

        assert refused([model], text_policy="transliterate") == (
            "InvoiceAdd.ref_number",
            "13 characters, at most 11",
        )


class TestRequired:
    @pytest.mark.parametrize(
        ("model", "path", "rule"),
        [
            (InvoiceAdd(), "InvoiceAdd.customer_ref", "required"),
            (EstimateAdd(customer_ref=ACME), "EstimateAdd.lines",
             "at least 1 entry required, got 0"),
            (invoice(lines=[InvoiceLineGroupAdd()]), "InvoiceAdd.lines[0].item_group_ref",
             "required"),
            (line(data_ext=[DataExt(owner_id="0", data_ext_value="v")]),
             "InvoiceAdd.lines[3].data_ext[0].data_ext_name", "required"),
            (line(data_ext=[DataExt(data_ext_name="n", data_ext_value="v")]),
             "InvoiceAdd.lines[3].data_ext[0].owner_id", "required"),
            (invoice(set_credit=[SetCredit(credit_txn_id="1-1")]),
             "InvoiceAdd.set_credit[0].applied_amount", "required"),
            (line(link_to_txn=LinkToTxn(txn_id="1-1")),
             "InvoiceAdd.lines[3].link_to_txn.txn_line_id", "required"),
        ],
    )  # fmt: skip
    def test_required(self, model: Any, path: str, rule: str) -> None:
        """CustomerRef, an estimate line, ItemGroupRef and the DataExt/SetCredit parts."""
        assert refused([model]) == (path, rule)

    def test_an_invoice_may_have_no_lines(self) -> None:
        """The schema allows an invoice without lines (unlike an estimate)."""
        assert b"<InvoiceAdd>" in build_request([invoice()])


class TestRefs:
    @pytest.mark.parametrize(
        ("ref", "path", "rule"),
        [
            (Ref(), "InvoiceAdd.customer_ref", "give list_id or full_name"),
            (Ref(full_name=""), "InvoiceAdd.customer_ref.full_name", "empty"),
            (Ref(list_id=""), "InvoiceAdd.customer_ref.list_id", "empty"),
        ],
    )
    def test_list_id_or_full_name(self, ref: Ref, path: str, rule: str) -> None:
        """A Ref needs a ListID or a FullName, and neither may be empty."""
        assert refused([InvoiceAdd(customer_ref=ref)]) == (path, rule)

    def test_both_are_allowed(self) -> None:
        """A Ref copied from a Ret has both; QuickBooks then uses the ListID."""
        ref = Ref(list_id="80000001-1234567890", full_name="Acme")

        assert (
            b"<CustomerRef><ListID>80000001-1234567890</ListID><FullName>Acme</FullName>"
            b"</CustomerRef>" in build_request([InvoiceAdd(customer_ref=ref)])
        )


class TestChoices:
    @pytest.mark.parametrize(
        ("model", "path", "rule"),
        [
            (line(rate=1, rate_percent=2), "InvoiceAdd.lines[3].rate_percent",
             "rate is already given; rate, rate_percent, price_level_ref are alternatives "
             "(give at most one)"),
            (line(rate=1, price_level_ref=Ref(full_name="Retail")),
             "InvoiceAdd.lines[3].price_level_ref",
             "rate is already given; rate, rate_percent, price_level_ref are alternatives "
             "(give at most one)"),
            (line(serial_number="S1", lot_number="L1"), "InvoiceAdd.lines[3].lot_number",
             "serial_number is already given; serial_number, lot_number are alternatives "
             "(give at most one)"),
            (estimate_line(rate=1, rate_percent=2), "EstimateAdd.lines[0].rate_percent",
             "rate is already given; rate, rate_percent are alternatives (give at most one)"),
            (estimate_line(markup_rate=1, price_level_ref=Ref(full_name="P")),
             "EstimateAdd.lines[0].price_level_ref",
             "markup_rate is already given; markup_rate, markup_rate_percent, price_level_ref "
             "are alternatives (give at most one)"),
        ],
    )  # fmt: skip
    def test_at_most_one(self, model: Any, path: str, rule: str) -> None:
        """Rate|RatePercent|PriceLevelRef, SerialNumber|LotNumber and the estimate markup choice."""
        assert refused([model]) == (path, rule)

    def test_estimate_line_has_both_choices(self) -> None:
        """An estimate line may have a rate and a markup: they are separate choices."""
        document = build_request([estimate_line(rate=10, markup_rate_percent=5)])

        assert b"<Rate>10</Rate>" in document
        assert b"<MarkupRatePercent>5</MarkupRatePercent>" in document


class TestRulesBeyondTheSchema:
    """tools/gen_qbxml_overlay.py EXCLUDES: what QuickBooks refuses though the schema allows it."""

    @staticmethod
    def _linked() -> LinkToTxn:
        return LinkToTxn(txn_id="1A-1700000000", txn_line_id="1C-1700000000")

    def test_no_item_ref_with_link_to_txn_on_an_invoice_line(self) -> None:
        model = line(item_ref=Ref(full_name="Labor"), link_to_txn=self._linked())
        assert refused([model], version="16.0") == (
            "InvoiceAdd.lines[3].item_ref",
            "not allowed with link_to_txn (QuickBooks takes the item from the linked line)",
        )

    @pytest.mark.parametrize("name", ["BillAdd", "ItemReceiptAdd"])
    def test_no_item_ref_with_link_to_txn_on_a_purchase_line(self, name: str) -> None:
        import qbwc.qbxml as q

        item_line = q.ItemLineAdd(item_ref=Ref(full_name="Lumber"), link_to_txn=self._linked())
        model = getattr(q, name)(vendor_ref=Ref(full_name="Mill"), lines=[item_line])
        assert refused([model], version="16.0") == (
            f"{name}.lines[0].item_ref",
            "not allowed with link_to_txn (QuickBooks takes the item from the linked line)",
        )

    def test_either_alone_is_fine(self) -> None:
        linked = build_request([line(link_to_txn=self._linked(), quantity=2)])
        assert b"<LinkToTxn><TxnID>1A-1700000000</TxnID>" in linked
        assert b"<ItemRef>" not in linked
        assert b"<ItemRef>" in build_request([line(item_ref=Ref(full_name="Labor"))])


class TestNumbers:
    @pytest.mark.parametrize(
        ("model", "path", "rule"),
        [
            (line(amount=Decimal("12345678901234")), "InvoiceAdd.lines[3].amount",
             "14 integer digits, at most 13 (qbXML AMTTYPE)"),
            (line(amount=Decimal("1.234")), "InvoiceAdd.lines[3].amount",
             "1.234: 3 decimal places, at most 2 for money (never rounded)"),
            (line(quantity=Decimal("12345678901")), "InvoiceAdd.lines[3].quantity",
             "11 integer digits, at most 10 (qbXML QUANTYPE)"),
            (line(rate=Decimal("0.123456")), "InvoiceAdd.lines[3].rate",
             "0.123456: 6 decimal places, at most 5 (qbXML PRICETYPE; never rounded)"),
            (line(rate_percent=Decimal("-1E-7")), "InvoiceAdd.lines[3].rate_percent",
             "-1E-7: 7 decimal places, at most 5 (qbXML PERCENTTYPE; never rounded)"),
            (invoice(exchange_rate=Decimal("1E+25")), "InvoiceAdd.exchange_rate",
             "26 integer digits, at most 20"),
            (forced(InvoiceLineAdd(), "amount", Decimal("NaN")), "InvoiceAdd.lines[0].amount",
             "NaN is not a finite number"),
            (forced(InvoiceLineAdd(), "amount", 1.5), "InvoiceAdd.lines[0].amount",
             "float is refused for money, rates and quantities; use Decimal or str"),
            (forced(InvoiceLineAdd(), "quantity", "3"), "InvoiceAdd.lines[0].quantity",
             "expected Decimal, got str"),
        ],
    )  # fmt: skip
    def test_ranges_and_places(self, model: Any, path: str, rule: str) -> None:
        """Integer digits and decimal places per qbXML type; nothing is ever rounded."""
        if isinstance(model, InvoiceLineAdd):
            model = invoice(lines=[model])
        assert refused([model]) == (path, rule)

    def test_trailing_zeros_are_not_places(self) -> None:
        """1.2300 has two decimal places and is written 1.23; 5 is written 5.00."""
        document = build_request([line(amount=Decimal("1.2300"), rate=Decimal("5.000000"))])

        assert b"<Rate>5</Rate><Amount>1.23</Amount>" in document

    def test_independent_of_the_decimal_context(self) -> None:
        """A caller's low decimal precision neither rounds nor wrongly refuses a value."""
        model = line(amount=Decimal("9999999999999.99"), rate=Decimal("123456.12345"))

        with decimal.localcontext() as context:
            context.prec = 3
            document = build_request([model])

        assert b"<Rate>123456.12345</Rate><Amount>9999999999999.99</Amount>" in document

    def test_float_refused_at_construction(self) -> None:
        """The models refuse float with a TypeError naming the field."""
        with pytest.raises(TypeError, match=r"^InvoiceLineAdd\.amount: float is refused"):
            InvoiceLineAdd(amount=1.5)


class TestVersions:
    @pytest.mark.parametrize(
        ("model", "version", "path", "rule"),
        [
            (line(unit_of_measure="ea"), "6.0", "InvoiceAdd.lines[3].unit_of_measure",
             "UnitOfMeasure needs qbXML 7.0 or later; the request is for qbXML 6.0"),
            (line(option_for_price_rule_conflict="Zero"), "12.0",
             "InvoiceAdd.lines[3].option_for_price_rule_conflict",
             "OptionForPriceRuleConflict needs qbXML 13.0 or later; the request is for qbXML 12.0"),
            (invoice(def_macro="TxnID:x"), "1.1", "InvoiceAdd.def_macro",
             "defMacro needs qbXML 2.0 or later; the request is for qbXML 1.1"),
            (line(data_ext=[DataExt(owner_id="0", data_ext_name="n", data_ext_value="v")]), "4.0",
             "InvoiceAdd.lines[3].data_ext",
             "DataExt needs qbXML 5.0 or later; the request is for qbXML 4.0"),
            (invoice(include_ret_element=["TxnID"]), "3.0", "InvoiceAdd.include_ret_element",
             "IncludeRetElement needs qbXML 4.0 or later; the request is for qbXML 3.0"),
            (invoice(bill_address=Address(addr5="x")), "5.0", "InvoiceAdd.bill_address.addr5",
             "Addr5 needs qbXML 6.0 or later; the request is for qbXML 5.0"),
            (EstimateAdd(customer_ref=ACME, ship_address=Address(), lines=[EstimateLineAdd()]),
             "6.0", "EstimateAdd.ship_address",
             "ShipAddress needs qbXML 7.0 or later; the request is for qbXML 6.0"),
            (invoice(external_guid="0"), "8.0", "InvoiceAdd.external_guid",
             "ExternalGUID needs qbXML 9.0 or later; the request is for qbXML 8.0"),
            # Dated by the overlay, not the SDK's annotations (docs/qbxml-reference.md).
            (line(serial_number="S-1"), "10.0", "InvoiceAdd.lines[3].serial_number",
             "SerialNumber needs qbXML 11.0 or later; the request is for qbXML 10.0"),
            (line(lot_number="L-1"), "10.0", "InvoiceAdd.lines[3].lot_number",
             "LotNumber needs qbXML 11.0 or later; the request is for qbXML 10.0"),
        ],
    )  # fmt: skip
    def test_field_newer_than_version(self, model: Any, version: str, path: str, rule: str) -> None:
        """A field the requested version lacks is an error naming it and both versions."""
        assert refused([model], version=version) == (path, rule)

    def test_invoice_ship_address_is_old(self) -> None:
        """The same element can date differently per aggregate (invoice ShipAddress: 1.0)."""
        assert b"<ShipAddress>" in build_request([invoice(ship_address=Address())], version="1.0")

    @pytest.mark.parametrize("version", ["12", "13.0.1", "CA3.0", "17.0", "", "thirteen"])
    def test_unsupported_version(self, version: str) -> None:
        """An unknown or prefixed version string is refused, listing what is supported."""
        path, rule = refused([invoice()], version=version)

        assert path == "version"
        assert rule.startswith(f"{version!r} is not a supported qbXML version (one of 1.0, 1.1,")
        assert rule.endswith("14.0, 15.0, 16.0)")

    def test_version_type(self) -> None:
        """The version is a str such as '13.0'."""
        assert refused([invoice()], version=13.0) == (
            "version",
            "expected a str such as '13.0', got float",
        )


class TestCharacters:
    @pytest.mark.parametrize(
        ("text", "rule"),
        [
            ("ab\x00", "character 3 is U+0000, which XML does not allow"),
            ("a\x0bb", "character 2 is U+000B, which XML does not allow"),
            ("\ud800", "character 1 is U+D800, which XML does not allow"),
            ("x\ufffe", "character 2 is U+FFFE, which XML does not allow"),
            ("a\x93b", "character 2 is U+0093, a control character QuickBooks cannot store "
             "(often a Windows-1252 character decoded as Latin-1; text_policy='transliterate' "
             "maps it)"),
            ("“hi”", "character 1 is U+201C (LEFT DOUBLE QUOTATION MARK): outside ISO-8859-1, "
             "which is all QuickBooks Desktop stores (text_policy='transliterate' maps "
             "punctuation and accented letters to ASCII)"),
            ("e\u0301", "character 2 is U+0301 (COMBINING ACUTE ACCENT): outside ISO-8859-1, "
             "which is all QuickBooks Desktop stores (text_policy='transliterate' maps "
             "punctuation and accented letters to ASCII)"),
        ],
    )  # fmt: skip
    def test_strict(self, text: str, rule: str) -> None:
        """XML-illegal characters and text outside ISO-8859-1 are refused, naming the character."""
        assert refused([invoice(memo=text)]) == ("InvoiceAdd.memo", rule)

    @pytest.mark.parametrize(
        ("text", "rule"),
        [
            ("Zhōng 中", "character 7 is U+4E2D (CJK UNIFIED IDEOGRAPH-4E2D): outside "
             "ISO-8859-1, which is all QuickBooks Desktop stores, and it has no ASCII "
             "transliteration"),
            ("Ωmega", "character 1 is U+03A9 (GREEK CAPITAL LETTER OMEGA): outside ISO-8859-1, "
             "which is all QuickBooks Desktop stores, and it has no ASCII transliteration"),
            ("ok\x01", "character 3 is U+0001, which XML does not allow"),
        ],
    )  # fmt: skip
    def test_transliterate_refuses_the_rest(self, text: str, rule: str) -> None:
        """What transliteration cannot map is still refused; control characters always are."""
        assert refused([invoice(memo=text)], text_policy="transliterate") == (
            "InvoiceAdd.memo",
            rule,
        )

    def test_combining_marks_compose_when_transliterating(self) -> None:
        """Decomposed 'é' (e + U+0301) is composed to Latin-1 'é', not stripped."""
        document = build_request([invoice(memo="e\u0301")], text_policy="transliterate")

        assert b"<Memo>&#233;</Memo>" in document

    @pytest.mark.parametrize("where", ["desc", "ref", "attribute", "request_id"])
    def test_everywhere(self, where: str) -> None:
        """Text rules apply to every string: fields, Ref names, attributes and request IDs."""
        bad = "\x07"
        models = {
            "desc": [line(desc=bad)],
            "ref": [InvoiceAdd(customer_ref=Ref(full_name=bad))],
            "attribute": [invoice(def_macro=bad)],
            "request_id": [(bad, invoice())],
        }
        path, rule = refused(models[where])

        assert (
            path
            == {
                "desc": "InvoiceAdd.lines[3].desc",
                "ref": "InvoiceAdd.customer_ref.full_name",
                "attribute": "InvoiceAdd.def_macro",
                "request_id": "requests[0].request_id",
            }[where]
        )
        assert rule == "character 1 is U+0007, which XML does not allow"


class TestTypes:
    @pytest.mark.parametrize(
        ("model", "path", "rule"),
        [
            (invoice(memo=5), "InvoiceAdd.memo", "expected str, got int"),
            (invoice(is_pending="true"), "InvoiceAdd.is_pending", "expected bool, got str"),
            (invoice(txn_date=dt.datetime(2024, 5, 1, 12, 0)), "InvoiceAdd.txn_date",
             "expected a date, got a datetime (the time would be lost)"),
            (invoice(txn_date="2024-13-01"), "InvoiceAdd.txn_date",
             "'2024-13-01' is not an ISO date (YYYY-MM-DD)"),
            (invoice(bill_address={"city": "x"}), "InvoiceAdd.bill_address",
             "expected Address, got dict"),
            (invoice(customer_ref="Acme"), "InvoiceAdd.customer_ref", "expected Ref, got str"),
            (invoice(lines=[EstimateLineAdd()]), "InvoiceAdd.lines[0]",
             "expected InvoiceLineAdd or InvoiceLineGroupAdd, got EstimateLineAdd"),
            (invoice(lines=[None]), "InvoiceAdd.lines[0]", "None is not allowed in a sequence"),
            (invoice(external_guid="abc"), "InvoiceAdd.external_guid",
             "'abc' is not a qbXML GUID: '0' or '{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}' "
             "(a UUID is accepted)"),
            (line(option_for_price_rule_conflict="Maybe"),
             "InvoiceAdd.lines[3].option_for_price_rule_conflict",
             "'Maybe' is not one of Zero, BasePrice"),
            (forced(invoice(), "lines", [InvoiceLineAdd()]), "InvoiceAdd.lines",
             "expected tuple, got list"),
        ],
    )  # fmt: skip
    def test_wrong_type(self, model: Any, path: str, rule: str) -> None:
        """A value of the wrong Python type is named with what was expected."""
        assert refused([model]) == (path, rule)


class TestMessageSet:
    @pytest.mark.parametrize(
        ("requests", "options", "path", "rule"),
        [
            ([invoice()], {"on_error": "rollbackOnError"}, "on_error",
             "rollbackOnError is refused: QuickBooks Desktop does not support it "
             "(use stopOnError or continueOnError)"),
            ([invoice()], {"on_error": "stop"}, "on_error",
             "'stop' is not one of stopOnError, continueOnError"),
            ([invoice()], {"text_policy": "replace"}, "text_policy",
             "'replace' is not one of strict, transliterate"),
            ([("r" * 51, invoice())], {}, "requests[0].request_id",
             "51 characters, at most 50 (QuickBooks status 1060)"),
            ([("", invoice())], {}, "requests[0].request_id", "empty"),
            ([(7, invoice())], {}, "requests[0].request_id", "expected str, got int"),
            ([("a", invoice()), ("a", invoice())], {}, "requests[1].request_id",
             "'a' is used by an earlier request"),
            ([invoice(), ("1", invoice())], {}, "requests[1].request_id",
             "'1' is used by an earlier request"),
            ([invoice()], {"message_set_id": "m" * 24}, "message_set_id",
             "24 characters, at most 23 (QuickBooks status 9004)"),
            ([], {"old_message_set_id": ""}, "old_message_set_id", "empty"),
            ([], {}, "requests",
             "at least one request is required (an empty message set is only for error "
             "recovery, with old_message_set_id)"),
            (invoice(), {}, "requests",
             "expected a list of request models, got one InvoiceAdd (wrap it in [])"),
            ("InvoiceAdd", {}, "requests", "expected a list of request models, got str"),
            ([InvoiceLineAdd()], {}, "requests[0]",
             "expected a request model (InvoiceAdd, CustomerQuery, ...), got InvoiceLineAdd"),
            ([("a", invoice(), 3)], {}, "requests[0]",
             "expected (request_id, model), got a tuple of 3"),
            ([invoice(), invoice(memo="\x00")], {}, "requests[1].InvoiceAdd.memo",
             "character 1 is U+0000, which XML does not allow"),
        ],
    )  # fmt: skip
    def test_envelope(self, requests: Any, options: dict[str, Any], path: str, rule: str) -> None:
        """onError, request IDs, message-set IDs and the shape of *requests*."""
        assert refused(requests, **options) == (path, rule)

    def test_clear_all_message_sets(self) -> None:
        """oldMessageSetID may be the literal ClearAllMessageSets."""
        document = build_request([], old_message_set_id="ClearAllMessageSets")

        assert b'oldMessageSetID="ClearAllMessageSets"/>' in document

    def test_nothing_emitted_on_error(self) -> None:
        """A rule broken by the last request leaves nothing half-built: the call raises."""
        good = [invoice() for _ in range(3)]

        with pytest.raises(QBXMLValidationError):
            build_request([*good, InvoiceAdd()])
