"""
The four responses whose Ret is inline (ListDelRs, TxnDelRs, TxnVoidRs, ListMergeRs):
Intuit's schema puts the Ret's elements directly inside the Rs, beside an optional
ErrorRecovery (docs/qbxml-responses.md, "Inline Rets").
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from qbwc.exceptions import QBXMLValidationError
from qbwc.qbxml import ErrorRecovery, Response, parse_response, validate
from qbwc.qbxml._models import RESPONSES
from qbwc.qbxml._parse import parse_response_summary
from qbwc.qbxml._types import is_inline, tag_of, vocabulary
from qbwc.testing import build_response
from qbwc.testing.strategies import model_of, models
from tests.reference import require_reference

INLINE = {"ListDelRs": "ListDelRet", "TxnDelRs": "TxnDelRet", "TxnVoidRs": "TxnVoidRet",
          "ListMergeRs": "ListMergeRet"}  # fmt: skip
_SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


def test_exactly_these_four_rets_are_inline() -> None:
    """Every Ret of the registry is checked: the four named by Intuit's Rs types, no other."""
    found = {
        rs: rets[0]
        for rs, rets in RESPONSES.items()
        for ret in rets
        if is_inline(vocabulary().model(ret))
    }
    assert found == INLINE
    for rs, ret in INLINE.items():
        assert RESPONSES[rs] == (ret,)


@pytest.fixture(scope="module")
def official() -> etree.XMLSchema:
    path = require_reference() / "xsd" / "v16" / "qbxmlops160.xsd"
    return etree.XMLSchema(etree.parse(str(path)))


def _recoveries() -> st.SearchStrategy[ErrorRecovery | None]:
    return st.none() | st.builds(
        ErrorRecovery, txn_id=st.sampled_from(["80000001-1", "1-2"]), txn_number=st.integers(1, 9)
    )


@pytest.mark.parametrize("rs", sorted(INLINE))
def test_round_trip_through_intuits_schema(rs: str, official: etree.XMLSchema) -> None:
    """build_response → Intuit's 16.0 schema and ours → parse_response (and the summary)."""
    ret_name = INLINE[rs]

    @_SETTINGS
    @given(models(model_of(ret_name), version="16.0", ret=True), _recoveries())
    def check(ret: Any, recovery: ErrorRecovery | None) -> None:
        if rs == "ListDelRs" or rs == "ListMergeRs":
            recovery = None  # (Intuit's ListDelRs and ListMergeRs have no ErrorRecovery)
        response = Response(name=rs, request_id="1", ret=ret, error_recovery=recovery)
        document = build_response([response])
        root = etree.fromstring(document)
        assert official.validate(root), (official.error_log, document.decode())
        validate(document)
        element = root.find(f"QBXMLMsgsRs/{rs}")
        assert element is not None
        assert element.find(ret_name) is None  # no element of its own
        (parsed,) = parse_response(document).responses
        assert parsed == response
        assert parsed.raw is None
        (summary,) = parse_response_summary(document).responses
        assert type(summary.ret) is type(ret)
        for field in ("list_id", "txn_id", "ref_number"):
            assert getattr(summary.ret, field, None) == getattr(ret, field, None)
        assert summary.error_recovery == recovery

    check()


def _document(body: str, *, status: str = 'statusCode="0" statusSeverity="Info"') -> bytes:
    return (
        f'<?xml version="1.0" ?><QBXML><QBXMLMsgsRs><TxnDelRs requestID="1" {status}>'
        f"{body}</TxnDelRs></QBXMLMsgsRs></QBXML>"
    ).encode()


def test_the_error_recovery_is_the_responses_and_unknowns_stay_with_the_ret() -> None:
    document = _document(
        "<TxnDelType>Invoice</TxnDelType><TxnID>1-2</TxnID><Newer>x</Newer>"
        "<ErrorRecovery><TxnID>1-2</TxnID></ErrorRecovery>"
    )
    (response,) = parse_response(document).responses
    assert response.error_recovery == ErrorRecovery(txn_id="1-2")
    ret = response.ret
    assert ret is not None
    assert (ret.txn_del_type, ret.txn_id, ret.unknown) == ("Invoice", "1-2", ("<Newer>x</Newer>",))
    rebuilt = build_response([response])
    assert parse_response(rebuilt).responses == (response,)


def test_an_error_without_fields_has_no_ret() -> None:
    status = 'statusCode="3120" statusSeverity="Error" statusMessage="Object not found"'
    for parse in (parse_response, parse_response_summary):
        (response,) = parse(_document("", status=status)).responses
        assert (response.ret, response.rets, response.raw) == (None, (), None)
    document = _document("<ErrorRecovery><TxnID>1-2</TxnID></ErrorRecovery>", status=status)
    (response,) = parse_response(document).responses
    assert response.ret is None
    assert response.error_recovery == ErrorRecovery(txn_id="1-2")


def test_a_bad_value_in_an_inline_field_names_its_path() -> None:
    from qbwc.exceptions import QBXMLError

    with pytest.raises(QBXMLError, match=r"/TxnDelRs/TimeDeleted"):
        parse_response(_document("<TimeDeleted>yesterday</TimeDeleted>"))


@pytest.mark.parametrize("rs", sorted(INLINE))
def test_an_empty_inline_ret_is_refused_not_lost(rs: str) -> None:
    """Nothing would be written for it, and nothing read back: the builder says so."""
    cls = vocabulary().model(INLINE[rs])
    with pytest.raises(QBXMLValidationError, match=rf"needs a value .*{rs}") as caught:
        build_response([Response(name=rs, request_id="1", ret=cls())])
    assert caught.value.path == "responses[0].ret"


def test_one_inline_ret_per_response() -> None:
    cls = vocabulary().model("TxnVoidRet")
    two = (cls(txn_id="1-2"), cls(txn_id="3-4"))
    with pytest.raises(QBXMLValidationError, match="holds one TxnVoidRet, got 2"):
        build_response([Response(name="TxnVoidRs", request_id="1", rets=two)])


def test_a_ret_of_another_response_is_refused() -> None:
    cls = vocabulary().model("ListDelRet")
    with pytest.raises(QBXMLValidationError, match="expected TxnDelRet, got ListDelRet"):
        build_response([Response(name="TxnDelRs", request_id="1", ret=cls(list_id="1"))])


def test_the_tag_of_an_inline_ret_is_its_group_name() -> None:
    # (Not an element: the XSD and the builder never write it; see is_inline.)
    assert tag_of(vocabulary().model("ListMergeRet")) == "ListMergeRet"
    merged = vocabulary().model("ListMergeRet")(
        list_merge_type="Customer",
        merged_to=vocabulary().model("MergedTo")(
            list_id="1-2",
            time_created=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
            time_modified=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
            edit_sequence="1",
        ),
    )
    document = build_response([Response(name="ListMergeRs", request_id="1", ret=merged)])
    assert b"<ListMergeRet>" not in document
    assert b"<ListMergeType>Customer</ListMergeType>\n<MergedTo>" in document


def test_unknown_elements_without_a_ret_are_the_responses() -> None:
    """An Rs with none of the Ret's fields: no Ret; what it holds stays, and round-trips."""
    document = _document("<Newer>x</Newer>")
    (response,) = parse_response(document).responses
    assert (response.ret, response.unknown) == (None, ("<Newer>x</Newer>",))
    assert parse_response(build_response([response])).responses == (response,)


def test_unknown_elements_beside_an_inline_ret_are_refused_on_the_response() -> None:
    cls = vocabulary().model("TxnDelRet")
    response = Response(
        name="TxnDelRs", request_id="1", ret=cls(txn_id="1-2"), unknown=("<Newer>x</Newer>",)
    )
    with pytest.raises(QBXMLValidationError, match="go in its own unknown") as caught:
        build_response([response])
    assert caught.value.path == "responses[0].unknown"
    kept = Response(name="TxnDelRs", request_id="1", ret=cls(txn_id="1-2", unknown=("<N/>",)))
    assert parse_response(build_response([kept])).responses == (kept,)


def test_an_inline_ret_of_unknown_elements_only_is_refused() -> None:
    cls = vocabulary().model("ListDelRet")
    with pytest.raises(QBXMLValidationError, match="needs a value"):
        build_response([Response(name="ListDelRs", request_id="1", ret=cls(unknown=("<N/>",)))])
