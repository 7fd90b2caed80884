"""
TIMEINTERVALTYPE (``Kind.DURATION``): a duration such as ``PT8H30M``, checked on
build (requests and Rets) and on parse (requests and responses), with one message.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs
import pytest

from qbwc.exceptions import QBXMLError, QBXMLValidationError
from qbwc.qbxml import (
    Ref,
    Response,
    TimeTrackingAdd,
    TimeTrackingRet,
    _models,
    build_request,
    parse_request,
    parse_response,
)
from qbwc.qbxml._types import Kind, specs
from qbwc.testing import build_response
from tests.test_qbxml_editions import _request, request_side
from tests.test_qbxml_generated import minimal

GOOD = ["PT8H30M", "PT45M", "PT8H", "PT30S", "PT1H2M3S", "PT0M", "PT1000H", "-PT1H", "+PT2H"]
BAD = ["8:30", "PT", "P1D", "PT8.5H", "PT30M8H", "pt8h", " PT8H", "PT8H ", "", "8h30m", "P1DT2H"]


def rule(text: str) -> str:
    return (
        f"{text!r} is not a duration (TIMEINTERVALTYPE: 'PT' and hours, minutes or "
        "seconds, such as 'PT8H30M' or 'PT45M')"
    )


def _time(duration: Any) -> TimeTrackingAdd:
    return TimeTrackingAdd(
        txn_date=dt.date(2026, 3, 2), entity_ref=Ref(full_name="Ann Lee"), duration=duration
    )


@pytest.mark.parametrize("text", GOOD)
def test_a_duration_builds_and_parses_back(text: str) -> None:
    model = _time(text)
    document = build_request([model], version="16.0")
    assert f"<Duration>{text}</Duration>".encode() in document
    assert parse_request(document) == (model,)


@pytest.mark.parametrize("text", BAD)
def test_a_bad_duration_is_refused_on_build(text: str) -> None:
    with pytest.raises(QBXMLValidationError) as caught:
        build_request([_time(text)], version="16.0")
    assert (caught.value.path, caught.value.rule) == ("TimeTrackingAdd.duration", rule(text))


def test_a_duration_is_text() -> None:
    with pytest.raises(QBXMLValidationError) as caught:
        build_request([_time(dt.timedelta(hours=8))], version="16.0")
    assert (caught.value.path, caught.value.rule) == (
        "TimeTrackingAdd.duration",
        "expected str, got timedelta",
    )


@pytest.mark.parametrize("text", [t for t in BAD if t.strip()])
def test_a_bad_duration_is_refused_on_parse_request(text: str) -> None:
    document = build_request([_time("PT1H")], version="16.0").replace(
        b"<Duration>PT1H</Duration>", f"<Duration>{text}</Duration>".encode()
    )
    with pytest.raises(QBXMLValidationError) as caught:
        parse_request(document)
    assert (caught.value.path, caught.value.rule) == ("TimeTrackingAdd.duration", rule(text))


def _ret(duration: str) -> bytes:
    ret = attrs.evolve(minimal(TimeTrackingRet, aware=True), duration="PT1H")
    document = build_response([Response(name="TimeTrackingAddRs", request_id="1", rets=(ret,))])
    return document.replace(
        b"<Duration>PT1H</Duration>", f"<Duration>{duration}</Duration>".encode()
    )


@pytest.mark.parametrize("text", GOOD)
def test_a_ret_duration_parses(text: str) -> None:
    (response,) = parse_response(_ret(text)).responses
    assert response.ret.duration == text


@pytest.mark.parametrize("text", ["8:30", "PT", "PT8.5H", "P1D"])
def test_a_bad_ret_duration_is_a_clear_error(text: str) -> None:
    with pytest.raises(QBXMLError) as caught:
        parse_response(_ret(text))
    message = str(caught.value)
    assert "TimeTrackingRet/Duration" in message
    assert message.endswith(f"{text!r} is not a duration (TIMEINTERVALTYPE: PT8H30M)")


def test_build_response_refuses_a_bad_duration() -> None:
    ret = attrs.evolve(minimal(TimeTrackingRet, aware=True), duration="8:30")
    with pytest.raises(QBXMLValidationError) as caught:
        build_response([Response(name="TimeTrackingAddRs", request_id="1", rets=(ret,))])
    assert (caught.value.path, caught.value.rule) == ("responses[0].rets[0].duration", rule("8:30"))


# --- every TIMEINTERVALTYPE field of the vocabulary ---


def _duration_fields() -> list[tuple[str, str]]:
    return [
        (cls.__name__, field)
        for cls in request_side()
        for field, spec in specs(cls)
        if spec.kind is Kind.DURATION
    ]


DURATION_FIELDS = _duration_fields()


def test_the_duration_fields_are_every_timeintervaltype_element() -> None:
    tags = {
        spec.tag
        for name in _models.EXPORTS
        for _, spec in specs(_models.model(name))
        if spec.kind is Kind.DURATION
    }
    assert tags == set(_models.DURATION_TAGS)
    assert ("TimeTrackingAdd", "duration") in DURATION_FIELDS


@pytest.mark.parametrize(("name", "field"), DURATION_FIELDS)
def test_every_duration_field_is_checked(name: str, field: str) -> None:
    good, _ = _request(name, field, "PT7H15M")
    document = build_request([good], version="16.0")
    assert parse_request(document) == (good,)
    bad, path = _request(name, field, "7.25")
    with pytest.raises(QBXMLValidationError) as caught:
        build_request([bad], version="16.0")
    assert (caught.value.path, caught.value.rule) == (path, rule("7.25"))
