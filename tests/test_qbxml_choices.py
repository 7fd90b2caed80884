"""
Choices as the schema nests them: a required choice inside an optional aggregate,
a choice inside an alternative of another, an alternative of several fields, and a
choice the schema lets be empty (one alternative may be nothing).  Checked against
Intuit's 16.0 schema for every request-side model, with the exact messages.
"""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from qbwc.exceptions import QBXMLValidationError
from qbwc.qbxml import Ref, _models, build_request
from qbwc.qbxml._types import Kind, choice_path, qbfield, specs
from tests.reference import require_reference
from tests.test_qbxml_editions import _route, _with, request_side
from tests.test_qbxml_generated import minimal


@pytest.fixture(scope="module")
def official16() -> Any:
    from lxml import etree

    path = require_reference() / "xsd" / "v16" / "qbxmlops160.xsd"
    return etree.XMLSchema(etree.parse(str(path)))


def refused(model: Any) -> tuple[str, str]:
    with pytest.raises(QBXMLValidationError) as caught:
        build_request([model], version="16.0")
    return caught.value.path, caught.value.rule


def _m(name: str) -> Any:
    return _models.model(name)


def price_level(**fields: Any) -> Any:
    line = _m("PriceLevelPerItem")(item_ref=Ref(full_name="Labor"), **fields)
    return _m("PriceLevelAdd")(name="Contractor", price_level_per_item=[line])


# --- a choice inside an alternative of another (PriceLevelPerItem) ---

_ALTERNATIVES = (
    "(custom_price | custom_price_percent), adjust_percentage + adjust_relative_to "
    "are alternatives (give at most one)"
)


@pytest.mark.parametrize(
    ("fields", "path", "rule"),
    [
        ({}, "PriceLevelAdd.price_level_per_item[0]",
         "one of custom_price, custom_price_percent, adjust_percentage, adjust_relative_to "
         "is required (they are alternatives)"),
        ({"custom_price": 1, "custom_price_percent": 2},
         "PriceLevelAdd.price_level_per_item[0].custom_price_percent",
         "custom_price is already given; custom_price, custom_price_percent are alternatives "
         "(give at most one)"),
        ({"custom_price": 1, "adjust_percentage": 2, "adjust_relative_to": "Cost"},
         "PriceLevelAdd.price_level_per_item[0].adjust_percentage",
         f"custom_price is already given; {_ALTERNATIVES}"),
        ({"custom_price_percent": 1, "adjust_percentage": 2, "adjust_relative_to": "Cost"},
         "PriceLevelAdd.price_level_per_item[0].adjust_percentage",
         f"custom_price_percent is already given; {_ALTERNATIVES}"),
        ({"adjust_percentage": 2}, "PriceLevelAdd.price_level_per_item[0].adjust_relative_to",
         "required with adjust_percentage"),
        ({"adjust_relative_to": "Cost"},
         "PriceLevelAdd.price_level_per_item[0].adjust_percentage",
         "required with adjust_relative_to"),
    ],
)  # fmt: skip
def test_nested_choice_rules(fields: dict[str, Any], path: str, rule: str) -> None:
    assert refused(price_level(**fields)) == (path, rule)


@pytest.mark.parametrize(
    "fields",
    [
        {"custom_price": 1},
        {"custom_price_percent": 5},
        {"adjust_percentage": -10, "adjust_relative_to": "StandardPrice"},
    ],
)
def test_each_nested_alternative_builds_and_is_valid(
    fields: dict[str, Any], official16: Any
) -> None:
    from lxml import etree

    document = build_request([price_level(**fields)], version="16.0")
    assert official16.validate(etree.fromstring(document)), official16.error_log


# --- a required choice inside an optional aggregate ---


@pytest.mark.parametrize(
    ("model", "path", "members"),
    [
        (lambda: _m("CustomerQuery")(class_filter=_m("ClassFilter")()),
         "CustomerQuery.class_filter",
         "list_id, full_name, list_id_with_children, full_name_with_children"),
        (lambda: _m("InvoiceQuery")(entity_filter=_m("EntityFilter")()),
         "InvoiceQuery.entity_filter",
         "list_id, full_name, list_id_with_children, full_name_with_children"),
        (lambda: _m("TransactionQuery")(transaction_entity_filter=_m("TransactionEntityFilter")()),
         "TransactionQuery.transaction_entity_filter",
         "entity_type_filter, list_id, full_name, list_id_with_children, full_name_with_children"),
    ],
)  # fmt: skip
def test_a_required_choice_inside_an_optional_aggregate(
    model: Any, path: str, members: str
) -> None:
    assert refused(model()) == (path, f"one of {members} is required (they are alternatives)")


def test_a_query_filter_sequence_is_one_alternative() -> None:
    query = _m("CustomerQuery")(list_id=["80000001-1234567890"], max_returned=5)
    assert refused(query) == (
        "CustomerQuery.max_returned",
        "list_id is already given; list_id, full_name, max_returned + active_status + ... "
        "are alternatives (give at most one)",
    )


# --- a choice the schema lets be empty is not required ---


@pytest.mark.parametrize(
    "model",
    [
        lambda: _m("TransactionQuery")(
            transaction_modified_date_range_filter=_m("TransactionModifiedDateRangeFilter")()
        ),
        lambda: _m("TransactionQuery")(
            transaction_date_range_filter=_m("TransactionDateRangeFilter")()
        ),
    ],
)
def test_a_choice_with_an_empty_alternative_is_optional(model: Any, official16: Any) -> None:
    from lxml import etree

    document = build_request([model()], version="16.0")
    assert official16.validate(etree.fromstring(document)), official16.error_log


# --- every request-side model: the builder's choice rules agree with Intuit's schema ---


def _embed(cls: type, obj: Any) -> Any:
    for parent, step in reversed(_route(cls)):
        obj = _with(minimal(parent), step, obj)
    return obj


def _required_groups() -> list[tuple[str, str]]:
    out = []
    for cls in request_side():
        seen: dict[str, None] = {}
        for name, spec in specs(cls):
            if spec.choice_required:
                seen.setdefault(choice_path(name, spec.choice)[0][0], None)
        out += [(cls.__name__, group) for group in seen]
    return out


REQUIRED_GROUPS = _required_groups()


def test_the_required_choices_table() -> None:
    assert ("ItemServiceAdd", "choice1") in REQUIRED_GROUPS
    assert ("PriceLevelPerItem", "choice1") in REQUIRED_GROUPS
    assert not any(name == "TransactionModifiedDateRangeFilter" for name, _ in REQUIRED_GROUPS)


@pytest.mark.parametrize(("name", "group"), REQUIRED_GROUPS)
def test_every_required_choice_is_required_by_intuits_schema_too(
    name: str, group: str, official16: Any
) -> None:
    """With one alternative the request is valid; with none, both refuse it."""
    from lxml import etree

    cls = next(c for c in request_side() if c.__name__ == name)
    fields = dict(specs(cls))
    members = [n for n, s in fields.items() if choice_path(n, s.choice)[:1] and
               choice_path(n, s.choice)[0][0] == group]  # fmt: skip
    full = minimal(cls)
    document = build_request([_embed(cls, full)], version="16.0")
    root = etree.fromstring(document)
    assert official16.validate(root), f"{official16.error_log}\n{document.decode()}"

    given = [m for m in members if getattr(full, m) not in (None, ())]
    assert given, f"minimal({name}) gives none of {members}"
    empty = attrs.evolve(full, **{m: () if fields[m].many else None for m in given})
    with pytest.raises(QBXMLValidationError) as caught:
        build_request([_embed(cls, empty)], version="16.0")
    assert caught.value.rule.startswith("one of ")
    assert caught.value.rule.endswith(" is required (they are alternatives)")
    # Intuit's schema refuses the same document without the alternative.
    tags = {dict(specs(cls))[m].tag for m in given}
    holder = _holder(root, cls)
    for child in list(holder):
        if child.tag in tags:
            holder.remove(child)
    assert not official16.validate(root), etree.tostring(holder).decode()


def _holder(root: Any, cls: type) -> Any:
    """The element of the (only) instance of *cls* in the request document *root*."""
    steps = [dict(specs(parent))[step].tag for parent, step in _route(cls)]
    rq = root.find("QBXMLMsgsRq")[0]
    top = _route(cls)[0][0] if _route(cls) else cls
    inner = rq.find(top.__name__)  # CustomerAdd in CustomerAddRq; CustomerQueryRq itself
    node = rq if inner is None else inner
    for tag in steps:
        node = node.find(tag)
    return node


# --- a required choice inside an alternative that has other fields too ---
# (qbXML 16.0 has none: its inner choices are a whole alternative; the rule follows the
# structure anyway, shown on a model declared like the generated ones.)


@attrs.frozen(kw_only=True)
class _Window:
    """``<choice>All | <sequence>From, <choice required>Days | Weeks</choice></sequence>``."""

    all_: bool | None = qbfield("All", Kind.BOOL, choice="choice1")
    from_: str | None = qbfield("From", Kind.STR, choice="choice1:1")
    days: int | None = qbfield(
        "Days", Kind.INT, choice="choice1:1|choice2", inner_choice_required=True
    )
    weeks: int | None = qbfield(
        "Weeks", Kind.INT, choice="choice1:1|choice2", inner_choice_required=True
    )


def _checked(window: _Window) -> str:
    from qbwc.qbxml._build import _body

    out: list[str] = []
    _body(_Window, (16, 0), "Window")(window, "Window", out.append, True)
    return "".join(out)


def test_an_inner_required_choice_is_checked_once_its_alternative_is_given() -> None:
    assert _checked(_Window()) == "<Window></Window>"  # the outer choice is optional
    assert _checked(_Window(all_=True)) == "<Window><All>true</All></Window>"
    assert _checked(_Window(from_="A", weeks=2)) == (
        "<Window><From>A</From><Weeks>2</Weeks></Window>"
    )
    with pytest.raises(QBXMLValidationError) as caught:
        _checked(_Window(from_="A"))
    assert (caught.value.path, caught.value.rule) == (
        "Window",
        "one of days, weeks is required with from_ (they are alternatives)",
    )
    with pytest.raises(QBXMLValidationError) as caught:
        _checked(_Window(from_="A", days=1, weeks=2))
    assert (caught.value.path, caught.value.rule) == (
        "Window.weeks",
        "days is already given; days, weeks are alternatives (give at most one)",
    )
    with pytest.raises(QBXMLValidationError) as caught:
        _checked(_Window(all_=True, days=1))
    assert (caught.value.path, caught.value.rule) == (
        "Window.days",
        "all_ is already given; all_, from_ + (days | weeks) are alternatives "
        "(give at most one)",
    )
