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
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from qbwc.qbxml import (
    Response,
    build_request,
    build_response,
    dump,
    load,
    parse_request,
    parse_response,
)
from qbwc.qbxml._types import vocabulary
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
