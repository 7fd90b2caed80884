"""Refs by linkage key in request models: JSON, finding and resolving them (docs/linkages.md)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qbwc.exceptions import QBXMLValidationError
from qbwc.qbxml import (
    InvoiceAdd,
    InvoiceLineAdd,
    Ref,
    build_request,
    dump,
    load,
    parse_response,
    render_request,
)
from qbwc.qbxml._linkage import key_refs, resolve_keys
from qbwc.qbxml._types import specs
from qbwc.testing.strategies import list_ids, model_of, models, request_models, request_names

_KEYS = st.sampled_from(["project-17", "code-1", "po 4", "ÿ-key", "x" * 255])

#: Request types that hold a Ref somewhere (lines included): the generated ones too.
_WITH_REFS = tuple(
    name
    for name in request_names()
    if any(spec.model and Ref in spec.model for _, spec in specs(model_of(name)))
    or name.endswith(("Add", "Mod"))
)


def _keyed(model: Any, path: str, draw: Any, found: list[tuple[str, str]]) -> Any:
    """*model* with some of its Refs replaced by Refs by key (recorded in *found*)."""
    changes: dict[str, Any] = {}
    for name, spec in specs(type(model)):
        value = getattr(model, name)
        if value is None or not spec.model:
            continue
        where = f"{path}.{name}"
        if spec.many:
            items = tuple(
                _keyed_one(item, f"{where}[{i}]", draw, found) for i, item in enumerate(value)
            )
            if items != value:
                changes[name] = items
        else:
            new = _keyed_one(value, where, draw, found)
            if new is not value:
                changes[name] = new
    return attrs.evolve(model, **changes) if changes else model


def _keyed_one(value: Any, path: str, draw: Any, found: list[tuple[str, str]]) -> Any:
    if type(value) is Ref:
        if draw(st.booleans()):
            key = draw(_KEYS)
            found.append((path, key))
            return Ref(key=key)
        return value
    if attrs.has(type(value)):
        return _keyed(value, path, draw, found)
    return value


def _expected(model: Any, keyed: Any, ids: dict[str, str]) -> Any:
    """*keyed* with each Ref by key as the ListID Ref resolution must give."""
    if type(keyed) is Ref:
        return Ref(list_id=ids[keyed.key]) if keyed.key is not None else keyed
    if not attrs.has(type(keyed)):
        return keyed
    changes = {}
    for name, spec in specs(type(keyed)):
        value = getattr(keyed, name)
        if value is None or not spec.model:
            continue
        if spec.many:
            changes[name] = tuple(_expected(None, item, ids) for item in value)
        else:
            changes[name] = _expected(None, value, ids)
    return attrs.evolve(keyed, **changes)


@st.composite
def _keyed_models(draw: Any, base: st.SearchStrategy[Any]) -> tuple[Any, Any, list[Any]]:
    model = draw(base)
    found: list[tuple[str, str]] = []
    keyed = _keyed(model, type(model).__name__, draw, found)
    return model, keyed, found


_SETTINGS = settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


class TestProperties:
    @_SETTINGS
    @given(_keyed_models(request_models()), st.data())
    def test_invoices_and_estimates(self, drawn: Any, data: st.DataObject) -> None:
        """dump -> load keeps the keys; resolution replaces exactly the Refs by key."""
        self._check(drawn, data)

    @_SETTINGS
    @given(st.sampled_from(_WITH_REFS).flatmap(lambda n: _keyed_models(models(model_of(n)))),
           st.data())  # fmt: skip
    def test_every_generated_request(self, drawn: Any, data: st.DataObject) -> None:
        """The same for every generated request model (lines and groups included)."""
        self._check(drawn, data)

    def _check(self, drawn: Any, data: st.DataObject) -> None:
        model, keyed, found = drawn
        form = dump(keyed)
        assert load(form) == keyed
        assert load(json.loads(json.dumps(form))) == keyed
        assert key_refs(keyed) == tuple(found)
        keys = sorted({key for _, key in found})
        ids = {key: data.draw(list_ids()) for key in keys}
        resolved = resolve_keys(keyed, ids)
        assert key_refs(resolved) == ()
        assert resolved == _expected(model, keyed, ids)
        if not found:
            assert resolved is keyed
        # The same model through a function instead of a mapping.
        assert resolve_keys(keyed, ids.__getitem__) == resolved


class TestRules:
    def _invoice(self, **ref: Any) -> InvoiceAdd:
        return InvoiceAdd(
            customer_ref=Ref(list_id="80-1"),
            lines=[InvoiceLineAdd(item_ref=Ref(**ref), amount=Decimal("5.00"))],
        )

    @pytest.mark.parametrize("render", [render_request, lambda m: build_request([m])])
    def test_building_an_unresolved_key_is_refused_naming_the_field(self, render: Any) -> None:
        with pytest.raises(QBXMLValidationError) as caught:
            render(self._invoice(key="code-1"))
        assert caught.value.path == "InvoiceAdd.lines[0].item_ref.key"
        assert "'code-1' is a linkage key" in str(caught.value)

    @pytest.mark.parametrize(
        ("ref", "rule"),
        [
            ({"key": "k", "list_id": "80-1"}, "give key alone"),
            ({"key": "k", "full_name": "Acme"}, "give key alone"),
            ({"key": "k", "list_id": "80-1", "full_name": "Acme"}, "give key alone"),
            ({"key": ""}, "no linkage key"),
            ({"key": " k"}, "no linkage key"),
            ({"key": "k\n"}, "no linkage key"),
            ({"key": "k" * 256}, "no linkage key"),
            ({"key": 17}, "no linkage key"),
        ],
    )
    def test_a_key_goes_alone_and_follows_the_rule_of_keys(
        self, ref: dict[str, Any], rule: str
    ) -> None:
        with pytest.raises(QBXMLValidationError) as caught:
            key_refs(self._invoice(**ref))
        assert caught.value.path == "InvoiceAdd.lines[0].item_ref.key"
        assert rule in str(caught.value)
        with pytest.raises(QBXMLValidationError) as built:
            render_request(self._invoice(**ref))
        assert built.value.path == "InvoiceAdd.lines[0].item_ref.key"

    def test_resolving_a_key_without_id_names_the_field(self) -> None:
        with pytest.raises(QBXMLValidationError) as caught:
            resolve_keys(self._invoice(key="code-1"), {})
        assert caught.value.path == "InvoiceAdd.lines[0].item_ref.key"
        assert "'code-1'" in str(caught.value)

    def test_json_carries_the_key_and_checks_its_type(self) -> None:
        form = dump(self._invoice(key="code-1"))
        assert form["lines"][0]["item_ref"] == {"key": "code-1"}
        form["lines"][0]["item_ref"] = {"key": 5}
        with pytest.raises(QBXMLValidationError) as caught:
            load(form)
        assert caught.value.path == "InvoiceAdd.lines[0].item_ref.key"

    def test_a_parsed_ref_has_no_key(self) -> None:
        """Both parsers (compiled and reference) build Refs with ``key`` None."""
        answer = parse_response(
            "<QBXML><QBXMLMsgsRs><CustomerQueryRs statusCode='0' statusSeverity='Info' "
            "statusMessage='ok'><CustomerRet><ListID>80-1</ListID><Name>A</Name>"
            "<FullName>A</FullName><ParentRef><ListID>80-2</ListID></ParentRef>"
            "</CustomerRet></CustomerQueryRs></QBXMLMsgsRs></QBXML>"
        )
        (ret,) = answer.responses[0].rets
        assert ret.parent_ref == Ref(list_id="80-2")
        assert ret.parent_ref.key is None

    def test_by_key(self) -> None:
        assert Ref.by_key("p") == Ref(key="p")
