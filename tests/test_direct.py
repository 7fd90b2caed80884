"""The one generator of direct constructors for hot paths."""

from __future__ import annotations

import attrs
import pytest

from qbwc._direct import compile_constructor


@attrs.frozen(kw_only=True)
class _Point:
    x: int = attrs.field(validator=attrs.validators.instance_of(int))
    y: int = attrs.field(converter=int)


class TestCompileConstructor:
    def test_sets_fields_without_converters(self) -> None:
        """Values go in as given: the converter of y does not run."""
        build = compile_constructor(_Point, signature="*, x, y", values={"x": "x", "y": "y"})

        point = build(x=1, y="2")

        assert (point.x, point.y) == (1, "2")
        assert attrs.evolve(point, y=2) == _Point(x=1, y=2)

    def test_runs_only_the_checks_asked_for(self) -> None:
        """A validator runs only for the fields in checks."""
        x = attrs.fields(_Point).x
        checked = compile_constructor(
            _Point, signature="x", values={"x": "x", "y": "0"}, checks=[x]
        )

        with pytest.raises(TypeError):
            checked("not an int")
        assert compile_constructor(_Point, signature="x", values={"x": "x", "y": "0"})("s").x == "s"

    def test_every_field_needs_a_value(self) -> None:
        """Forgetting a field is refused when the constructor is made, not later."""
        with pytest.raises(TypeError, match=r"no value for \['y'\]"):
            compile_constructor(_Point, signature="x", values={"x": "x"})

    def test_same_object_as_init_slotted_dict_and_inherited(self) -> None:
        """Slot setters, the object.__setattr__ fallback and inherited slots: as __init__."""

        @attrs.frozen(kw_only=True)
        class Child(_Point):
            z: str = "z"

        @attrs.frozen(kw_only=True, slots=False)
        class Plain:
            a: int = 0
            b: tuple[int, ...] = ()

        child = compile_constructor(
            Child, signature="x, y, z", values={"x": "x", "y": "y", "z": "z"}
        )(1, 2, "w")
        plain = compile_constructor(Plain, signature="a", values={"a": "a", "b": "(a,)"})(3)

        assert child == Child(x=1, y=2, z="w")
        assert type(child) is Child
        assert plain == Plain(a=3, b=(3,))
        assert plain.__dict__ == {"a": 3, "b": (3,)}
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            child.x = 5  # type: ignore[misc]
