"""
Repeated elements as the schema bounds them (maxOccurs), and the query filters that
are a choice of repeated ListIDs or FullNames (CurrencyFilter, SiteFilter,
TimeTrackingEntityFilter) rather than a Ref.  Found by the widened strategies.
"""

from __future__ import annotations

from typing import Any

import pytest

from qbwc.exceptions import QBXMLValidationError
from qbwc.qbxml import _models, build_request, parse_request
from qbwc.qbxml._types import specs
from tests.reference import require_reference
from tests.test_qbxml_editions import _request, request_side


@pytest.fixture(scope="module")
def official16() -> Any:
    from lxml import etree

    path = require_reference() / "xsd" / "v16" / "qbxmlops160.xsd"
    return etree.XMLSchema(etree.parse(str(path)))


def _m(name: str) -> Any:
    return _models.model(name)


BOUNDED = [
    (cls.__name__, field, spec.max_count)
    for cls in request_side()
    for field, spec in specs(cls)
    if spec.max_count is not None
]


def test_the_bounded_fields() -> None:
    assert ("CustomerAdd", "additional_contact_ref", 8) in BOUNDED
    assert ("CustomerAdd", "ship_to_address", 50) in BOUNDED
    assert ("VendorAdd", "prefill_account_ref", 3) in BOUNDED


@pytest.mark.parametrize(("name", "field", "most"), BOUNDED)
def test_every_bounded_repeat(name: str, field: str, most: int, official16: Any) -> None:
    """maxOccurs entries build and are valid; one more is refused with the count."""
    from lxml import etree

    from tests.test_qbxml_generated import minimal

    holder = next(c for c in request_side() if c.__name__ == name)
    spec = dict(specs(holder))[field]
    item = minimal(spec.model[0]) if spec.model else "A"
    fits, _ = _request(name, field, item)
    fits = _repeat(fits, name, field, most)
    document = build_request([fits], version="16.0")
    assert official16.validate(etree.fromstring(document)), official16.error_log
    assert parse_request(document) == (fits,)
    too_many, path = _request(name, field, item)
    too_many = _repeat(too_many, name, field, most + 1)
    with pytest.raises(QBXMLValidationError) as caught:
        build_request([too_many], version="16.0")
    rule = f"at most {most} entries, got {most + 1}"
    assert (caught.value.path, caught.value.rule) == (path, rule)


def _repeat(obj: Any, name: str, field: str, count: int) -> Any:
    """*obj* (a request holding one *name*) with *field* of that *name* repeated *count* times."""
    import attrs

    if type(obj).__name__ == name:
        (one,) = getattr(obj, field)
        return attrs.evolve(obj, **{field: (one,) * count})
    for f in attrs.fields(type(obj)):
        value = getattr(obj, f.name)
        if isinstance(value, tuple) and value and attrs.has(type(value[0])):
            return attrs.evolve(obj, **{f.name: (_repeat(value[0], name, field, count),)})
        if attrs.has(type(value)):
            inner = _repeat(value, name, field, count)
            if inner is not value:
                return attrs.evolve(obj, **{f.name: inner})
    return obj


# --- filters that are a choice of repeated ListIDs or FullNames ---


@pytest.mark.parametrize(
    ("query", "field", "filter_name"),
    [
        ("CustomerQuery", "currency_filter", "CurrencyFilter"),
        ("TransferInventoryQuery", "site_filter", "SiteFilter"),
        ("TimeTrackingQuery", "time_tracking_entity_filter", "TimeTrackingEntityFilter"),
    ],
)
def test_a_list_filter_takes_several_names_but_not_both_kinds(
    query: str, field: str, filter_name: str, official16: Any
) -> None:
    from lxml import etree

    several = _m(query)(**{field: _m(filter_name)(full_name=["USD", "CAD"])})
    document = build_request([several], version="16.0")
    assert official16.validate(etree.fromstring(document)), official16.error_log
    assert parse_request(document) == (several,)

    both = _m(query)(**{field: _m(filter_name)(list_id=["1-1"], full_name=["USD"])})
    with pytest.raises(QBXMLValidationError) as caught:
        build_request([both], version="16.0")
    assert (caught.value.path, caught.value.rule) == (
        f"{query}.{field}.full_name",
        "list_id is already given; list_id, full_name are alternatives (give at most one)",
    )
    with pytest.raises(QBXMLValidationError) as caught:
        build_request([_m(query)(**{field: _m(filter_name)()})], version="16.0")
    assert (caught.value.path, caught.value.rule) == (
        f"{query}.{field}",
        "one of list_id, full_name is required (they are alternatives)",
    )
