"""
The strategies derived from the field specs (qbwc.testing.strategies.models), over the
whole vocabulary: every request type and every Ret, parametrized (not sampled), a few
Hypothesis examples each, built, checked against Intuit's 16.0 schema and read back equal.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from lxml import etree

from qbwc.qbxml import Response, build_request, dump, load, parse_request, parse_response
from qbwc.qbxml._types import vocabulary
from qbwc.testing import build_response
from qbwc.testing.strategies import model_of, models, request_names, ret_names
from tests.reference import require_reference

# Few examples per type, over all 260 request and 104 Ret types: the breadth is the point.
_SETTINGS = settings(
    max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@functools.cache
def _schema() -> etree.XMLSchema:
    path = require_reference() / "xsd" / "v16" / "qbxmlops160.xsd"
    return etree.XMLSchema(etree.parse(str(path)))


def _valid(document: bytes) -> None:
    schema = _schema()
    assert schema.validate(etree.fromstring(document)), f"{schema.error_log}\n{document!r}"


@pytest.mark.parametrize("name", request_names())
def test_every_request_type(name: str) -> None:
    strategy = models(model_of(name), version="16.0")

    @_SETTINGS
    @given(strategy)
    def check(model: Any) -> None:
        document = build_request([model], version="16.0")
        _valid(document)
        assert parse_request(document) == (model,)
        assert load(json.loads(json.dumps(dump(model)))) == model

    check()


def _homes() -> dict[str, str]:
    homes: dict[str, str] = {}
    for rs, rets in sorted(vocabulary().RESPONSES.items()):
        for ret in rets:
            homes.setdefault(ret, rs)
    return homes


_HOMES = _homes()


@pytest.mark.parametrize("name", ret_names())
def test_every_ret_type(name: str) -> None:
    home = _HOMES[name]
    # One Ret: some *QueryRs hold one at most (HostQueryRs); several Rets of a query are
    # in tests/test_qbxml_vocabulary_samples.py.
    several = 1
    strategy = st.lists(
        models(model_of(name), version="16.0", ret=True), min_size=1, max_size=several
    )

    @_SETTINGS
    @given(strategy)
    def check(rets: list[Any]) -> None:
        response = Response(name=home, request_id="1", rets=rets)
        document = build_response([response])
        _valid(document)
        assert parse_response(document).responses[0] == response

    check()


# --- what the strategies reach (each found within a bounded search) ---

# Found without shrinking (shrinking an invoice of six lines costs minutes).
_FIND = settings(
    max_examples=3000, deadline=None, database=None, derandomize=True, phases=[Phase.generate]
)


def _places(value: Any) -> int:
    exponent = value.as_tuple().exponent
    return -exponent if exponent < 0 else 0


@pytest.mark.parametrize(
    ("name", "condition"),
    [
        ("InvoiceAdd", lambda m: m.customer_ref.list_id and m.customer_ref.full_name),
        ("InvoiceAdd", lambda m: len(m.lines) >= 5),
        ("EstimateAdd", lambda m: len(m.lines) >= 5),
        ("InvoiceAdd", lambda m: m.exchange_rate is not None and _places(m.exchange_rate) > 4),
        ("InvoiceAdd", lambda m: m.txn_date is not None and m.txn_date.year < 1990),
        ("InvoiceAdd", lambda m: m.txn_date is not None and m.txn_date.year > 2037),
        ("CustomerQuery", lambda m: len(m.full_name) >= 5),
        ("TimeTrackingAdd", lambda m: m.duration.endswith("S")),
    ],
)
def test_the_strategies_reach(name: str, condition: Any) -> None:
    from hypothesis import find

    find(models(model_of(name), version="16.0"), condition, settings=_FIND)


def test_the_invoice_strategy_reaches_six_lines() -> None:
    from hypothesis import find

    from qbwc.testing.strategies import invoice_adds

    assert len(find(invoice_adds("16.0"), lambda m: len(m.lines) >= 6, settings=_FIND).lines) == 6


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_max_lines_caps_the_invoice_strategy(data: st.DataObject) -> None:
    from qbwc.testing.strategies import invoice_adds

    assert len(data.draw(invoice_adds("16.0", max_lines=3)).lines) <= 3


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(models(model_of("InvoiceAdd"), version="16.0"), models(model_of("BillAdd"), version="16.0"))
def test_never_an_item_ref_with_link_to_txn(invoice: Any, bill: Any) -> None:
    for line in (*invoice.lines, *bill.lines):
        assert getattr(line, "item_ref", None) is None or getattr(line, "link_to_txn", None) is None


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(models(model_of("CustomerAdd"), version="16.0"))
def test_repeated_fields_keep_to_the_schemas_maximum(customer: Any) -> None:
    assert len(customer.additional_contact_ref) <= 8
    assert len(customer.ship_to_address) <= 50
