"""
The choice and exclusion rules of the builder's compiled bodies (qbwc.qbxml._build).

A required choice refuses an aggregate that gives none of its alternatives (and a
required choice inside an alternative, once that alternative is given); an
exclusion (``Spec.excludes``, from the overlay: docs/qbxml-reference.md "Rules
beyond the schema") refuses two fields QuickBooks refuses together; and a field
of one alternative is refused when another alternative is already given, with a
message that names the alternatives as the schema nests them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from qbwc.qbxml._rules import _at, _error
from qbwc.qbxml._types import Spec, Version, choice_path, specs

__all__ = ["_exclusions", "_path_of", "_required_choices", "_with_choice"]

Out = Callable[[str], None]
Emit = Callable[[Any, Any, str, Out, bool], None]


def _required_choices(
    fields: list[tuple[str, Spec]], version: Version, namespace: dict[str, Any]
) -> list[str]:
    """Lines that refuse an aggregate with none of a required choice's fields."""
    groups: dict[str, list[str]] = {}
    for name, spec in fields:
        if spec.choice is not None and spec.choice_required and spec.since <= version:
            groups.setdefault(choice_path(name, spec.choice)[0][0], []).append(name)
    code: list[str] = []
    for members in groups.values():
        rule = f"one of {', '.join(members)} is required (they are alternatives)"
        present = " or ".join(f"obj.{m} not in _absent" for m in members)
        code += [f"    if not ({present}):", f"        raise _error(path, {rule!r})"]
    # A required choice inside an alternative of another ("choice1:1|choice2"): once a
    # field of that alternative is given, one of the inner choice's fields is required.
    inner: dict[tuple[tuple[str, str], str], list[str]] = {}
    for name, spec in fields:
        if spec.inner_choice_required and spec.since <= version:
            outer, (group, _) = choice_path(name, spec.choice)[:2]
            inner.setdefault((outer, group), []).append(name)
    for (outer, _), members in inner.items():
        alternative = [
            n for n, s in fields if s.since <= version and choice_path(n, s.choice)[:1] == (outer,)
        ]
        others = [n for n in alternative if n not in members]
        if not others:
            continue  # the alternative is the inner choice: giving it is choosing one
        rule = (
            f"one of {', '.join(members)} is required with {', '.join(others)} "
            "(they are alternatives)"
        )
        given = " or ".join(f"obj.{n} not in _absent" for n in others)
        present = " or ".join(f"obj.{m} not in _absent" for m in members)
        code += [f"    if ({given}) and not ({present}):", f"        raise _error(path, {rule!r})"]
    namespace["_absent"] = (None, ())
    return code


def _exclusions(fields: list[tuple[str, Spec]]) -> list[str]:
    """Lines that refuse two fields QuickBooks refuses together (``Spec.excludes``)."""
    code: list[str] = []
    for name, spec in fields:
        for other, why in spec.excludes:
            rule = f"not allowed with {other} ({why})"
            code += [
                f"    if obj.{name} is not None and obj.{other} not in _absent:",
                f"        raise _error(_at(path, {name!r}), {rule!r})",
            ]
    return code


def _path_of(cls: type, name: str) -> tuple[tuple[str, str], ...]:
    return next(choice_path(n, s.choice) for n, s in specs(cls) if n == name)


def _with_choice(emit: Emit, name: str, earlier: tuple[tuple[str, str], ...], cls: type) -> Emit:
    """*emit*, refusing the value when a field of another alternative is given."""
    described = {group: _alternatives(cls, group) for _, group in earlier}

    def checked(value: Any, owner: Any, path: str, out: Out, strict: bool) -> None:
        for other, group in earlier:
            if getattr(owner, other) not in (None, ()):
                rule = (
                    f"{other} is already given; {described[group]} are alternatives "
                    "(give at most one)"
                )
                raise _error(_at(path, name), rule)
        emit(value, owner, path, out, strict)

    return checked


_Member = tuple[str, tuple[tuple[str, str], ...]]  # a field and its choice path


def _alternatives(cls: type, group: str) -> str:
    """
    The alternatives of choice *group* of *cls*, as the schema nests them: a field
    (``rate``), fields that go together (``adjust_percentage + adjust_relative_to``),
    or a choice inside an alternative (``(custom_price | custom_price_percent)``).
    """
    members: list[_Member] = []
    depth = 0
    for n, s in specs(cls):
        path = choice_path(n, s.choice)
        groups = [g for g, _ in path]
        if group in groups:
            depth = groups.index(group)
            members.append((n, path))
    by_alternative: dict[str, list[_Member]] = {}
    for member in members:
        by_alternative.setdefault(member[1][depth][1], []).append(member)
    return ", ".join(_sequence(m, depth + 1) for m in by_alternative.values())


def _sequence(members: list[_Member], depth: int) -> str:
    """The fields of one alternative, its inner choices in parentheses."""
    parts: list[str] = []
    index = 0
    while index < len(members):
        name, path = members[index]
        if len(path) <= depth:
            parts.append(name)
            index += 1
            continue
        group = path[depth][0]
        inner: dict[str, list[_Member]] = {}
        while index < len(members) and len(members[index][1]) > depth:
            if members[index][1][depth][0] != group:
                break
            inner.setdefault(members[index][1][depth][1], []).append(members[index])
            index += 1
        parts.append("(" + " | ".join(_sequence(m, depth + 1) for m in inner.values()) + ")")
    if len(parts) > 3:  # a query's filters: name the first two
        parts = [*parts[:2], "..."]
    return " + ".join(parts)
