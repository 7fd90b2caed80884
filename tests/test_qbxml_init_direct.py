"""
The compiled ``__init__`` of every qbXML model (qbwc.qbxml._init_direct) held equal
to the one attrs wrote: the same object from the same arguments, the same exception
with the same message from arguments a converter refuses or changes.
"""

from __future__ import annotations

import datetime as dt
import inspect
import uuid
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qbwc.qbxml import Address, DataExt, Ref
from qbwc.qbxml._init_direct import ATTRS_INITS, compile_init
from qbwc.qbxml._types import vocabulary
from qbwc.testing.strategies import model_of, models

#: Every generated model (ErrorRecovery, written by hand in _responses, keeps attrs' own).
NAMES = (
    *sorted(n for n, module in vocabulary().MODELS.items() if module != "qbwc.qbxml._responses"),
    "Ref",
    "Address",
    "DataExt",
)
SHARED = {"Ref": Ref, "Address": Address, "DataExt": DataExt}

#: What a caller may pass instead of the held type: each converter's other cases.
ODD_VALUES = st.sampled_from(
    [
        None,
        0,
        7,
        True,
        1.5,
        "12.50",
        " 3 ",
        "NaN",
        "abc",
        "2024-05-01",
        "2024-13-01",
        Decimal("1.10"),
        Decimal("Infinity"),
        dt.date(2024, 5, 1),
        dt.datetime(2024, 5, 1, 9, 30),
        uuid.UUID(int=5),
        "{00000000-0000-0000-0000-000000000005}",
        [],
        ["a", "b"],
        ("a",),
        (),
        "ab",
        b"ab",
        iter(()),
        object(),
    ]
)


def _cls(name: str) -> type:
    return SHARED.get(name) or model_of(name)


def _outcome(make: Any) -> tuple[str, Any]:
    try:
        return "value", make()
    except (TypeError, ValueError) as exc:
        return type(exc).__name__, str(exc)


def _by_attrs(cls: type, kwargs: dict[str, Any]) -> Any:
    instance: Any = object.__new__(cls)
    ATTRS_INITS[cls](instance, **kwargs)
    return instance


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=5, deadline=None)
@given(data=st.data())
def test_compiled_init_equals_attrs_init(name: str, data: st.DataObject) -> None:
    cls = _cls(name)
    cls()  # the first call compiles it
    model = data.draw(models(cls) if name not in SHARED else st.builds(cls), label="model")
    kwargs = {f.alias: getattr(model, f.name) for f in attrs.fields(cls) if f.init}
    for field in data.draw(st.lists(st.sampled_from(attrs.fields(cls)), max_size=3)
                           if attrs.fields(cls) else st.just([])):  # fmt: skip
        kwargs[field.alias] = data.draw(ODD_VALUES, label=field.name)
    kept = {k: v for k, v in kwargs.items() if data.draw(st.booleans())}

    expected = _outcome(lambda: _by_attrs(cls, kept))

    assert _outcome(lambda: cls(**kept)) == expected


@pytest.mark.parametrize("name", ["InvoiceAdd", "CustomerAdd", "SalesReceiptLineAdd", "Ref"])
def test_compiled_on_first_use(name: str) -> None:
    cls = _cls(name)
    cls()

    compiled = cls.__dict__["__init__"]

    assert compiled is not ATTRS_INITS[cls]
    assert compiled.__code__.co_filename.startswith("<qbwc __init__ ")


@pytest.mark.parametrize("name", ["InvoiceAdd", "SalesReceiptLineAdd", "CustomerRet", "DataExt"])
def test_signature_and_annotations_as_attrs_wrote_them(name: str) -> None:
    cls = _cls(name)
    cls()
    original = ATTRS_INITS[cls]

    compiled = cls.__dict__["__init__"]

    assert inspect.signature(compiled) == inspect.signature(original)
    assert compiled.__annotations__ == original.__annotations__


def test_unknown_argument_named_as_before() -> None:
    cls = _cls("CustomerAdd")
    cls()
    with pytest.raises(TypeError) as compiled:
        cls(nmae="Acme")
    with pytest.raises(TypeError) as original:
        _by_attrs(cls, {"nmae": "Acme"})

    assert str(compiled.value) == str(original.value).replace(
        "__init__", "CustomerAdd.__init__", 1
    ) or (str(compiled.value) == str(original.value))


def test_a_class_with_a_validator_keeps_its_init() -> None:
    @attrs.frozen(kw_only=True)
    class Checked:
        x: int = attrs.field(default=0, validator=attrs.validators.instance_of(int))

    assert compile_init(Checked) is None
