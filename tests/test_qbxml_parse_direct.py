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
from qbwc.qbxml._parse_direct import reader
from qbwc.qbxml._response_build import _write
from qbwc.qbxml._types import Kind, qb, qbfield, specs, tag_of
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
