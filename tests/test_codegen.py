"""The one code-generation helper (qbwc._direct.compile_function): real source, everywhere."""

from __future__ import annotations

import inspect
import traceback

import attrs
import pytest

from qbwc._direct import compile_constructor, compile_function
from qbwc.exceptions import QBXMLValidationError
from qbwc.qbxml import CustomerAdd, InvoiceAdd, build_request


def test_a_compiled_function_shows_its_source() -> None:
    source = "def twice(x):\n    return x * 2\n"
    twice = compile_function(source, "twice", {}, what="test twice")

    assert twice(4) == 8
    assert inspect.getsource(twice) == source
    assert twice.__code__.co_filename.startswith("<qbwc test twice #")


def test_each_compilation_has_its_own_file_name() -> None:
    first = compile_function("def f():\n    return 1\n", "f", {}, what="same")
    second = compile_function("def f():\n    return 2\n", "f", {}, what="same")

    assert first.__code__.co_filename != second.__code__.co_filename
    assert inspect.getsource(first) != inspect.getsource(second)


@attrs.frozen
class _Point:
    x: int
    y: int


def test_compile_constructor_goes_through_it() -> None:
    build = compile_constructor(_Point, signature="x, y", values={"x": "x", "y": "y"})

    assert build(1, 2) == _Point(1, 2)
    assert "def build(x, y):" in inspect.getsource(build)


@pytest.mark.parametrize(
    ("model", "line"),
    [
        # too long: the compiled body calls the field's checker
        (CustomerAdd(name="x" * 42), "e0(v, obj, path, out, strict)"),
        # a required field missing: the compiled body raises
        (InvoiceAdd(ref_number="1"), "raise _error(_at(path, 'customer_ref'), 'required')"),
    ],
)
def test_a_builder_traceback_shows_the_generated_line(model: object, line: str) -> None:
    """The builder's compiled per-class code appears in tracebacks with its source line."""
    with pytest.raises(QBXMLValidationError) as caught:
        build_request([model], version="16.0")

    frames = traceback.extract_tb(caught.value.__traceback__)
    generated = [f for f in frames if f.filename.startswith("<qbwc build ")]
    assert [f.line for f in generated] == [line]
