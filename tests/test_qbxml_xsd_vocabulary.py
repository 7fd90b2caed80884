"""
Our own schema, schemas/qbxml.xsd, over the whole generated vocabulary: every request type
and every Ret (parametrized, not sampled) validates, and the rules the schema can express
(lengths, enumerations, integer bounds, required elements, choices) refuse what the builder
refuses.  The regenerate-and-compare test is in tests/test_qbxml_build.py.
"""

from __future__ import annotations

import functools
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from lxml import etree

from qbwc.exceptions import QBXMLValidationError
from qbwc.qbxml import Response, build_request, validate
from qbwc.qbxml._request_kinds import request_element, rq_level_fields
from qbwc.qbxml._types import Kind, Spec, is_inline, specs, tag_of, vocabulary
from qbwc.qbxml._xsd import generate_xsd
from qbwc.testing import build_response
from qbwc.testing.strategies import model_of, models
from tests.reference import reference_files, reference_path, require_reference
from tests.test_qbxml_generated import _RET_HOMES, minimal

_REQUESTS = sorted(vocabulary().REQUESTS)
_RETS = sorted(_RET_HOMES)

# A few examples per type, over all 260 request and 104 Ret types: the breadth is the point.
_SETTINGS = settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _schema_error(document: bytes) -> QBXMLValidationError:
    with pytest.raises(QBXMLValidationError) as caught:
        validate(document)
    return caught.value


# --- everything the vocabulary builds is valid ------------------------------------------


@pytest.mark.parametrize("name", _REQUESTS)
def test_every_request_type_validates_against_our_xsd(name: str) -> None:
    """The smallest instance of each request type (as tests/test_qbxml_generated.py builds it)."""
    document = build_request([minimal(vocabulary().model(name))], version="16.0")
    validate(document)


@pytest.mark.parametrize("name", _RETS)
def test_every_ret_validates_against_our_xsd(name: str) -> None:
    """build_response of the smallest instance of each Ret, in its first response element."""
    cls = vocabulary().model(name)
    ret = minimal(cls, aware=True, every=is_inline(cls))  # (an inline Ret needs a value)
    validate(build_response([Response(name=_RET_HOMES[name], request_id="1", rets=(ret,))]))


@pytest.mark.parametrize("name", _REQUESTS)
def test_random_requests_of_every_type_validate_against_our_xsd(name: str) -> None:
    """What the builder writes from any instance the spec strategies draw, our schema accepts."""

    @_SETTINGS
    @given(models(model_of(name), version="16.0"))
    def check(model: Any) -> None:
        validate(build_request([model], version="16.0"))

    check()


@pytest.mark.parametrize("name", _RETS)
def test_random_rets_of_every_type_validate_against_our_xsd(name: str) -> None:
    @_SETTINGS
    @given(models(model_of(name), version="16.0", ret=True))
    def check(ret: Any) -> None:
        response = Response(name=_RET_HOMES[name], request_id="1", rets=(ret,))
        validate(build_response([response]))

    check()


def test_a_query_answer_with_several_rets_of_several_types_is_valid() -> None:
    """ItemQueryRs holds any number of Rets, of any of its Ret types, in any order."""
    tables = vocabulary()
    rets = tables.RESPONSES["ItemQueryRs"]
    assert len(rets) > 1
    items = [minimal(tables.model(n), aware=True) for n in (rets[1], rets[0], rets[1])]
    response = Response(
        name="ItemQueryRs",
        request_id="1",
        rets=tuple(items),
        iterator_id="{6A1B2C3D-0000-4000-8000-000000000001}",
        iterator_remaining_count=0,
    )
    validate(build_response([response]))


def test_an_error_status_without_a_ret_is_valid() -> None:
    response = Response(
        name="CustomerQueryRs",
        request_id="1",
        status_code=1,
        status_severity="Info",
        status_message="A query request did not find a matching object in QuickBooks",
    )
    validate(build_response([response]))


def test_the_schema_is_generated_the_same_way_twice() -> None:
    assert generate_xsd() == generate_xsd()


def test_importing_qbwc_qbxml_neither_generates_nor_loads_the_schema() -> None:
    """The schema is a file under schemas/, compiled on the first validate() only."""
    code = (
        "import sys, qbwc.qbxml; from qbwc.qbxml import _xsd; "
        "print(_xsd._schema is None, 'qbwc.qbxml._models.customer' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["True", "False"]


# --- the rules the schema can express agree with the builder's ---------------------------


def _body(document: bytes, cls: type, name: str) -> etree._Element:
    """The element that holds field *name* of the one request in *document*."""
    element = request_element(cls)
    assert element is not None
    rq_tag, whole = element
    found = etree.fromstring(document).find(f"QBXMLMsgsRq/{rq_tag}")
    assert found is not None
    if not whole and name not in rq_level_fields(cls):
        found = found.find(tag_of(cls))
        assert found is not None
    return found


def _bad_values(spec: Spec) -> tuple[object, object, str] | None:
    """``(a valid value, an invalid one, the schema facet that refuses it)`` for *spec*."""
    if spec.kind is Kind.STR and spec.max_len is not None:
        return "x" * spec.max_len, "x" * (spec.max_len + 1), "maxLength"
    if spec.kind is Kind.ENUM:
        return spec.values[0], "NotOneOfThem", "enumeration"
    if spec.kind is Kind.INT and spec.minimum is not None:
        return spec.minimum, spec.minimum - 1, "minInclusive"
    if spec.kind is Kind.INT and spec.maximum is not None:
        return spec.maximum, spec.maximum + 1, "maxInclusive"
    return None


def _builds(model: object) -> bytes | None:
    try:
        return build_request([model], version="16.0")
    except QBXMLValidationError:
        return None  # another field of the same choice is given


@pytest.mark.parametrize("name", _REQUESTS)
def test_a_value_the_builder_refuses_our_xsd_refuses(name: str) -> None:
    """
    For each length, enumeration and integer bound of a request's own fields: the
    builder refuses the invalid value naming the field, and our schema refuses the
    same element with that value written in (the facet named, the element's path).
    """
    cls = vocabulary().model(name)
    base = minimal(cls)
    for field, spec in specs(cls):
        if spec.attribute or spec.many or spec.since > (16, 0):
            continue
        values = _bad_values(spec)
        if values is None:
            continue
        good, bad, facet = values
        document = _builds(type(base)(**{**_fields(base), field: good}))
        if document is None:
            continue
        validate(document)
        with pytest.raises(QBXMLValidationError) as caught:
            build_request([type(base)(**{**_fields(base), field: bad})], version="16.0")
        assert caught.value.path == f"{name}.{field}"

        body = _body(document, cls, field)
        child = body.find(spec.tag)
        assert child is not None
        child.text = str(bad)
        error = _schema_error(etree.tostring(body.getroottree()))
        assert facet in error.rule, error.rule
        assert error.path.endswith("/" + spec.tag), error.path


@pytest.mark.parametrize("name", _REQUESTS)
def test_a_missing_required_element_is_refused_by_both(name: str) -> None:
    """Each required element (outside a choice) of a request: both refuse its absence."""
    cls = vocabulary().model(name)
    base = minimal(cls)
    document = build_request([base], version="16.0")
    for field, spec in specs(cls):
        if not spec.required or spec.attribute or spec.choice is not None:
            continue
        with pytest.raises(QBXMLValidationError) as caught:
            build_request([type(base)(**{**_fields(base), field: None})], version="16.0")
        assert caught.value.path == f"{name}.{field}"
        assert caught.value.rule == "required"

        body = _body(document, cls, field)
        child = body.find(spec.tag)
        assert child is not None
        body.remove(child)
        _schema_error(etree.tostring(body.getroottree()))


def _fields(model: object) -> dict[str, object]:
    return {name: getattr(model, name) for name, _ in specs(type(model))}


@pytest.mark.parametrize(
    ("name", "values", "insert", "after"),
    [
        # Two alternatives of one choice: ListID, then a filter of the other alternative.
        ("CustomerQuery", {"list_id": ["1"]}, "<MaxReturned>5</MaxReturned>", "ListID"),
        ("InvoiceQuery", {"txn_id": ["1"]}, "<RefNumber>7</RefNumber>", "TxnID"),
        ("ItemQuery", {"full_name": ["A"]}, "<ListID>1</ListID>", "FullName"),
    ],
)
def test_two_alternatives_of_a_choice_are_refused_by_both(
    name: str, values: dict[str, object], insert: str, after: str
) -> None:
    cls = vocabulary().model(name)
    document = build_request([cls(**values)], version="16.0")
    validate(document)
    root = etree.fromstring(document)
    anchor = root.find(f".//{after}")
    assert anchor is not None
    anchor.addnext(etree.fromstring(insert))
    _schema_error(etree.tostring(root.getroottree()))
    other = etree.fromstring(insert)
    field = next(n for n, s in specs(cls) if s.tag == other.tag)
    spec = dict(specs(cls))[field]
    text = other.text or ""
    value: object = int(text) if spec.kind is Kind.INT else ([text] if spec.many else text)
    with pytest.raises(QBXMLValidationError, match="already given"):
        build_request([cls(**values, **{field: value})], version="16.0")


def test_a_required_choice_with_no_alternative_is_refused_by_both() -> None:
    """ItemServiceAdd needs SalesOrPurchase or SalesAndPurchase."""
    cls = vocabulary().model("ItemServiceAdd")
    good = cls(name="Svc", sales_or_purchase=minimal(_model_of_field(cls, "sales_or_purchase")))
    document = build_request([good], version="16.0")
    validate(document)
    root = etree.fromstring(document)
    aggregate = root.find(".//ItemServiceAdd")
    assert aggregate is not None
    choice = aggregate.find("SalesOrPurchase")
    assert choice is not None
    aggregate.remove(choice)
    _schema_error(etree.tostring(root.getroottree()))
    with pytest.raises(QBXMLValidationError, match="is required"):
        build_request([cls(name="Svc")], version="16.0")


def _model_of_field(cls: type, field: str) -> type:
    spec = dict(specs(cls))[field]
    model: type = spec.model[0]
    return model


# --- real documents: our schema and Intuit's agree ---------------------------------------


@functools.cache
def _official16() -> etree.XMLSchema:
    path = require_reference() / "xsd" / "v16" / "qbxmlops160.xsd"
    return etree.XMLSchema(etree.parse(str(path)))


@pytest.mark.parametrize("relative", reference_files("qbxml/**/*.xml"))
def test_on_every_real_document_our_schema_agrees_with_intuits(relative: str) -> None:
    """
    Each well-formed sample in ../shared/reference/qbxml/ is valid against both schemas
    or against neither (a template with "DATETYPE" for a date, a real answer with its
    elements out of schema order).
    """
    data = reference_path(relative).read_bytes()
    try:
        root = etree.fromstring(data)
    except etree.XMLSyntaxError:
        return  # the not-well-formed samples: tests/test_qbxml_response_reference.py
    if _official16().validate(root):
        validate(data)
    else:
        _schema_error(data)
