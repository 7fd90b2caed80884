"""
The models' annotations are the contract: each field kind accepts at run time exactly
what its annotation admits to ``mypy --strict``.

Every field of every request and response model that converts its value (money and
other decimals, dates, GUIDs, repeated fields) is probed with values of each type:
the constructor accepts the value if and only if mypy accepts the call, and both
agree with the table below.  One mypy run checks every probe.  (Values of the right
type that break a rule, and items of the wrong model in a sequence, are the builder's
to refuse, with their path: tests/test_qbxml_rules.py.)
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import tempfile
import uuid
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from qbwc.qbxml._requests import ADD_MODELS, LINE_MODELS
from qbwc.qbxml._responses import RET_MODELS
from qbwc.qbxml._types import (
    DECIMAL_KINDS,
    Kind,
    Spec,
    spec_of,
    specs,
    to_date,
    to_decimal,
    to_guid,
    to_strs,
    to_tuple,
)

ROOT = Path(__file__).resolve().parents[1]


def _models() -> list[type]:
    """Every model class reachable from the request and response roots."""
    found: list[type] = []
    todo = [*ADD_MODELS, *LINE_MODELS, *(cls for _, cls in RET_MODELS.values())]
    while todo:
        cls = todo.pop(0)
        if cls in found:
            continue
        found.append(cls)
        todo += [model for _, spec in specs(cls) for model in spec.model]
    return sorted(found, key=lambda cls: (cls.__module__, cls.__name__))


MODELS = _models()


def _kind_of(spec: Spec) -> str | None:
    if spec.many:
        return "many text" if spec.kind is not Kind.AGG else "many"
    if spec.kind in DECIMAL_KINDS:
        return "decimal"
    return {Kind.DATE: "date", Kind.GUID: "guid"}.get(spec.kind)


# kind -> (expression, accepted and admitted?).  ITEM is an instance of the field's model.
PROBES: dict[str, list[tuple[str, bool]]] = {
    "decimal": [
        ('Decimal("1.50")', True),
        ("2", True),
        ('"85.00"', True),
        ("None", True),
        ("85.0", False),
        ('b"85"', False),
        ("[1]", False),
    ],
    "date": [
        ("dt.date(2026, 3, 31)", True),
        ('"2026-03-31"', True),
        ("None", True),
        ("20260331", False),
        ("1.5", False),
    ],
    "guid": [
        ("uuid.UUID(int=1)", True),
        ('"{6B29FC40-CA47-1067-B31D-00DD010662DA}"', True),
        ("None", True),
        ("7", False),
        ('b"0"', False),
    ],
    "many": [
        ("[ITEM]", True),
        ("(ITEM,)", True),
        ("(item for item in [ITEM])", True),
        ("[]", True),
        ("None", True),
        ("ITEM", False),
        ('"text"', False),
        ('b"text"', False),
    ],
    "many text": [
        ('["TxnID"]', True),
        ('("TxnID",)', True),
        ("[]", True),
        ("None", True),
        ('"TxnID"', False),
        ('(name for name in ["TxnID"])', False),
        ("5", False),
    ],
}

def _item(spec: Spec) -> str:
    return f"{spec.model[0].__name__}()" if spec.model else "ITEM"


CASES = [
    (cls, name, expression.replace("ITEM", _item(spec)), expected)
    for cls in MODELS
    for name, spec in specs(cls)
    if (kind := _kind_of(spec)) is not None
    for expression, expected in PROBES[kind]
]
_NAMESPACE: dict[str, Any] = {
    "dt": dt,
    "uuid": uuid,
    "Decimal": Decimal,
    **{cls.__name__: cls for cls in MODELS},
}


@cache
def mypy_verdicts() -> dict[int, list[str]]:
    """``mypy --strict`` over one call per case: case index -> its errors (empty: admitted)."""
    lines = ["import datetime as dt", "import uuid", "from decimal import Decimal", ""]
    lines += [f"from {cls.__module__} import {cls.__name__}" for cls in MODELS]
    first = len(lines) + 1
    lines += [f"{cls.__name__}({name}={expression})" for cls, name, expression, _ in CASES]
    folder = Path(tempfile.mkdtemp(prefix="qbwc-type-probes-"))
    module = folder / "probes.py"
    module.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary",
         "--cache-dir", str(folder / ".mypy_cache"), str(module)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    assert result.returncode in (0, 1), result.stdout + result.stderr
    verdicts: dict[int, list[str]] = {index: [] for index in range(len(CASES))}
    for line in result.stdout.splitlines():
        path, _, rest = line.partition(":")
        number, _, message = rest.partition(":")
        if path == str(module) and number.isdigit() and "error:" in message:
            verdicts[int(number) - first].append(message.strip())
    return verdicts


def _accepted(cls: type, name: str, expression: str) -> bool:
    value = eval(expression, dict(_NAMESPACE))
    try:
        cls(**{name: value})
    except (TypeError, ValueError):
        return False
    return True


@pytest.mark.parametrize(
    ("index", "cls", "name", "expression", "expected"),
    [(index, *case) for index, case in enumerate(CASES)],
    ids=[f"{cls.__name__}.{name}={expression}" for cls, name, expression, _ in CASES],
)
def test_run_time_accepts_what_the_annotation_admits(
    index: int, cls: type, name: str, expression: str, expected: bool
) -> None:
    """The constructor takes the value exactly when mypy --strict takes the call."""
    assert _accepted(cls, name, expression) is expected
    assert (mypy_verdicts()[index] == []) is expected, mypy_verdicts()[index]


def test_every_kind_is_probed() -> None:
    """Every converting kind appears among the fields, so every probe list is used."""
    kinds = {_kind_of(spec) for cls in MODELS for _, spec in specs(cls)}
    assert kinds - {None} == set(PROBES)
    assert len(MODELS) >= 15


_CONVERTERS = {
    "decimal": to_decimal,
    "date": to_date,
    "guid": to_guid,
    "many": to_tuple,
    "many text": to_strs,
}


@pytest.mark.parametrize("cls", MODELS, ids=[cls.__name__ for cls in MODELS])
def test_each_field_declares_its_kinds_converter(cls: type) -> None:
    """A field converts exactly when its kind does, with that kind's converter."""
    for field in attrs.fields(cls):
        if "qbxml" not in field.metadata:
            continue
        kind = _kind_of(spec_of(field))
        if kind is None:
            assert field.converter is None, field.name
        elif kind == "many":
            # Typed aliases of to_tuple (one per element model) are the same converter.
            assert field.converter is to_tuple, field.name
        else:
            assert field.converter is _CONVERTERS[kind], field.name


DECIMAL_FIELDS = [
    (cls, name) for cls in MODELS for name, spec in specs(cls) if spec.kind in DECIMAL_KINDS
]


@given(
    field=st.sampled_from(DECIMAL_FIELDS),
    number=st.decimals(allow_nan=False, allow_infinity=False, places=5),
    form=st.sampled_from(["decimal", "str", "int"]),
)
def test_decimal_fields_keep_the_number(
    field: tuple[type, str], number: Decimal, form: str
) -> None:
    """Decimal, its text or an int: the field holds exactly that number, as a Decimal."""
    cls, name = field
    value: Any = {"decimal": number, "str": str(number), "int": int(number)}[form]
    held = getattr(cls(**{name: value}), name)
    assert type(held) is Decimal
    assert held == Decimal(value)


@given(field=st.sampled_from(DECIMAL_FIELDS), number=st.floats())
def test_decimal_fields_refuse_every_float(field: tuple[type, str], number: float) -> None:
    """A float is refused, naming the model and the field."""
    cls, name = field
    with pytest.raises(TypeError, match=rf"^{cls.__name__}\.{name}: float is refused"):
        cls(**{name: number})
