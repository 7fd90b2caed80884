"""
The compiled Ret readers (qbwc.qbxml._parse_direct) held equal to the table-driven
reference reader (qbwc.qbxml._parse._read) they stand in for.

Every Ret model of the vocabulary is read both ways from documents drawn from its
field specs, as QuickBooks writes them and disturbed the ways real documents differ
(children out of schema order, repeated, unknown, a processing instruction between,
a value that cannot be read): the same model, or the same error with the same message.
"""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from qbwc.exceptions import QBXMLError
from qbwc.qbxml import _parse, _types, parse_response
from qbwc.qbxml._parse_direct import reader, response_reader
from qbwc.qbxml._responses import RET_MODELS
from qbwc.qbxml._types import Kind, qb, qbfield, specs, tag_of, vocabulary
from qbwc.testing._response_build import _write
from qbwc.testing.strategies import model_of, models, ret_names

RETS = ret_names()
ZONE = dt.timezone(dt.timedelta(hours=-5))
BAD_TEXTS = ("abc", "NaN", "1_000", "Infinity", " ", "", "2024-13-01", "maybe", "1.5.5")


def _element(ret: Any) -> etree._Element:
    out: list[str] = []
    cls = type(ret)
    _write(ret, tag_of(cls), out, "ret", (cls,))
    return etree.fromstring("".join(out))


def _outcome(read: Any, element: etree._Element) -> tuple[str, Any]:
    try:
        return "value", read(element, ZONE)
    except QBXMLError as exc:
        return "error", str(exc)


@st.composite
def _disturbed(draw: st.DrawFn, element: etree._Element) -> etree._Element:
    """*element* with a few changes a real document may carry, anywhere in its tree."""
    nodes = [node for node in element.iter() if isinstance(node.tag, str)]
    for _ in range(draw(st.integers(0, 3))):
        node = draw(st.sampled_from(nodes))
        children = list(node)
        change = draw(st.sampled_from(["swap", "repeat", "unknown", "pi", "bad", "empty"]))
        if change == "swap" and len(children) > 1:
            i, j = draw(st.permutations(range(len(children))))[:2]
            order = list(children)
            order[i], order[j] = order[j], order[i]
            for child in children:
                node.remove(child)
            node.extend(order)
        elif change == "repeat" and children:
            child = draw(st.sampled_from(children))
            node.insert(draw(st.integers(0, len(children))), copy.deepcopy(child))
        elif change == "unknown":
            stranger = etree.Element(draw(st.sampled_from(["Mystery", "ListID", "Amount"])))
            stranger.text = draw(st.sampled_from(["x", "1.00", ""]))
            node.insert(draw(st.integers(0, len(children))), stranger)
        elif change == "pi":
            node.insert(draw(st.integers(0, len(children))), etree.PI("qb", "note"))
        elif change == "bad" and children:
            leaves = [c for c in children if len(c) == 0 and isinstance(c.tag, str)]
            if leaves:
                draw(st.sampled_from(leaves)).text = draw(st.sampled_from(BAD_TEXTS))
        elif change == "empty" and children:
            target = draw(st.sampled_from(children))
            if isinstance(target.tag, str):
                target.text = None
    return element


@pytest.mark.parametrize("name", RETS)
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_compiled_reader_equals_the_reference(name: str, data: st.DataObject) -> None:
    cls = model_of(name)
    ret = data.draw(models(cls, ret=True), label="ret")
    element = data.draw(_disturbed(_element(ret)), label="element")

    expected = _outcome(lambda el, tz: _parse._read(cls, el, tz), element)

    assert _outcome(reader(cls), element) == expected


@pytest.mark.parametrize("name", RETS)
@settings(max_examples=5, deadline=None)
@given(data=st.data())
def test_undisturbed_ret_reads_back(name: str, data: st.DataObject) -> None:
    """As QuickBooks writes it: the compiled reader gives back the model it was built from."""
    cls = model_of(name)
    ret = data.draw(models(cls, ret=True), label="ret")

    assert reader(cls)(_element(ret), ZONE) == ret


def test_compiled_once_per_class() -> None:
    cls = model_of("CustomerRet")

    assert reader(cls) is reader(cls)


def test_source_shows_in_tracebacks() -> None:
    """The generated lines are registered with linecache, as attrs does (qbwc._direct)."""
    document = (
        '<QBXML><QBXMLMsgsRs><CustomerAddRs statusCode="0"><CustomerRet>'
        "<ListID>1</ListID><Balance>lots</Balance>"
        "</CustomerRet></CustomerAddRs></QBXMLMsgsRs></QBXML>"
    )

    with pytest.raises(QBXMLError, match=r"CustomerRet/Balance: 'lots' is not an amount") as info:
        parse_response(document)

    frames = [entry for entry in info.traceback if "reader CustomerRet" in str(entry.path)]
    assert frames
    assert "raise _bad(child" in str(frames[-1].statement)


@attrs.frozen(kw_only=True)
class _Node:
    """A model that holds itself (none of qbXML's does): its spec is completed below."""

    name: str | None = qbfield("Name", Kind.STR)
    node: Any = attrs.field(default=None, metadata=qb("Node", Kind.AGG))


def test_a_model_that_holds_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    """Its inner copies are read by the reference while its own reader compiles."""
    (name, name_spec), (node, node_spec) = specs(_Node)
    completed = ((name, name_spec), (node, attrs.evolve(node_spec, model=(_Node,))))
    monkeypatch.setitem(_types._SPECS, _Node, completed)
    element = etree.fromstring(
        "<Node><Name>a</Name><Node><Name>b</Name><Node><Name>c</Name></Node></Node></Node>"
    )

    expected = _parse._read(_Node, element, ZONE)

    assert reader(_Node)(element, ZONE) == expected
    assert expected.node.node.name == "c"


# --- the envelope: one *Rs element (qbwc.qbxml._parse_direct.response_reader) ---------

RESPONSES = tuple(sorted({*vocabulary().RESPONSES, *RET_MODELS}))
#: The responses with typed Rets: each has a compiled reader; the others keep the reference.
TYPED = tuple(name for name in RESPONSES if name in RET_MODELS or vocabulary().RESPONSES[name])


def _ret_classes(name: str) -> list[type]:
    if name in RET_MODELS:
        return [RET_MODELS[name][1]]
    return [model_of(ret) for ret in vocabulary().RESPONSES[name]]


@st.composite
def _rs(draw: st.DrawFn, name: str) -> etree._Element:
    """A response element as QuickBooks writes it, or changed the ways one can differ."""
    rs = etree.Element(name)
    attributes = {
        "requestID": st.sampled_from(["1", "", "x-7"]),
        "statusCode": st.sampled_from(["0", "0", "1", "500", "3100", " 0", "x"]),
        "statusSeverity": st.sampled_from(["Info", "Info", "Warn", "Error", "info", ""]),
        "statusMessage": st.sampled_from(["Status OK", ""]),
        "retCount": st.sampled_from(["1", "2", "z"]),
        "iteratorRemainingCount": st.sampled_from(["0", "5"]),
        "iteratorID": st.sampled_from(["{abc}"]),
        "stranger": st.sampled_from(["1"]),
    }
    if draw(st.booleans()):  # a success, as QuickBooks writes it
        rs.set("statusCode", "0")
        rs.set("statusSeverity", "Info")
        del attributes["statusCode"], attributes["statusSeverity"]
    usual = {"requestID", "statusCode", "statusSeverity", "statusMessage"}
    for attribute, values in attributes.items():
        if draw(st.booleans() if attribute in usual else st.integers(0, 9).map(lambda n: n == 0)):
            rs.set(attribute, draw(values))
    classes = _ret_classes(name)
    for _ in range(draw(st.integers(0, 2))):
        ret = draw(models(draw(st.sampled_from(classes)), ret=True))
        element = _element(ret)
        if draw(st.integers(0, 3)) == 0:
            element = draw(_disturbed(element))
        rs.append(element)
    if draw(st.integers(0, 3)) == 0:
        extra = draw(
            st.sampled_from(
                [
                    "<ErrorRecovery><ListID>80000001-1</ListID></ErrorRecovery>",
                    "<ErrorRecovery><EditSequence>1</EditSequence></ErrorRecovery>",
                    "<Mystery>x</Mystery>",
                    "pi",
                ]
            )
        )
        child = etree.PI("qb", "note") if extra == "pi" else etree.fromstring(extra)
        rs.insert(draw(st.integers(0, len(rs))), child)
    return rs


def _response_outcome(read: Any, rs: etree._Element) -> tuple[str, Any]:
    kind, value = _outcome(read, rs)
    return (kind, value, value.raw) if kind == "value" else (kind, value)


@pytest.mark.parametrize("name", TYPED)
@settings(max_examples=8, deadline=None)
@given(data=st.data())
def test_compiled_response_reader_equals_the_reference(name: str, data: st.DataObject) -> None:
    rs = data.draw(_rs(name), label="rs")
    read = response_reader(name)
    assert read is not None

    expected = _response_outcome(_parse._read_response, rs)

    assert _response_outcome(read, rs) == expected


@pytest.mark.parametrize("name", sorted(set(RESPONSES) - set(TYPED)))
def test_a_response_without_rets_is_read_by_the_reference(name: str) -> None:
    assert response_reader(name) is None


def test_a_success_is_read_by_the_compiled_reader() -> None:
    """parse_response reads a typed success with the compiled twin, and keeps it."""
    document = (
        '<QBXML><QBXMLMsgsRs><CustomerAddRs requestID="1" statusCode="0" statusSeverity="Info"'
        ' statusMessage="Status OK"><CustomerRet><ListID>1</ListID></CustomerRet>'
        "</CustomerAddRs></QBXMLMsgsRs></QBXML>"
    )

    (response,) = parse_response(document)

    assert _parse._ENVELOPES["CustomerAddRs"] is response_reader("CustomerAddRs")
    assert response.ret == response.rets[0] == model_of("CustomerRet")(list_id="1")
    assert (response.request_id, response.status_code, response.status_message) == (
        "1",
        0,
        "Status OK",
    )


def test_a_made_up_response_name_is_not_kept() -> None:
    """Only the vocabulary's names get a compiled reader: a document cannot grow the table."""
    document = (
        '<QBXML><QBXMLMsgsRs><MadeUp123Rs statusCode="0"><X/></MadeUp123Rs>'
        "</QBXMLMsgsRs></QBXML>"
    )

    (response,) = parse_response(document)

    assert response.raw is not None
    assert response_reader("MadeUp123Rs") is None
    assert "MadeUp123Rs" not in _parse._ENVELOPES
