"""
Compiled constructors for frozen, slotted attrs classes, for the few hot paths that
make many instances from values already known to be right.

attrs itself compiles each class's ``__init__`` from its field list; this does the
same for the narrower jobs qbwc's hot paths need (a parsed value, a copy with a new
phase), and is the one place such code is generated.
"""

from __future__ import annotations

import itertools
import linecache
import threading
from collections.abc import Callable, Iterable, Mapping
from types import MemberDescriptorType
from typing import Any

import attrs

__all__ = ["compile_constructor", "compile_function"]

_SERIAL = itertools.count(1)
_LOCK = threading.Lock()


def compile_function(source: str, name: str, namespace: dict[str, Any], *, what: str) -> Any:
    """
    Compile *source* (which defines the function *name*) in *namespace* and return it.

    This is the one place qbwc generates code.  As attrs does for the methods it
    writes, the source is registered with :mod:`linecache` under a unique file
    name (``<qbwc WHAT #N>``), so tracebacks, debuggers and :func:`inspect.getsource`
    show the generated lines.  *source* must be made of qbwc's own names and
    constant expressions, never of data.
    """
    with _LOCK:
        filename = f"<qbwc {what} #{next(_SERIAL)}>"
        lines = source.splitlines(keepends=True)
        linecache.cache[filename] = (len(source), None, lines, filename)
    code = compile(source, filename, "exec")
    exec(code, namespace)  # noqa: S102 - the caller's own names (see above)
    return namespace[name]


def compile_constructor(
    cls: type,
    *,
    signature: str,
    values: Mapping[str, str],
    checks: Iterable[attrs.Attribute[Any]] = (),
    name: str = "build",
) -> Callable[..., Any]:
    """
    A function ``build(<signature>)`` returning a new *cls* with each field set directly.

    *values* maps every field name to the Python expression (over the signature's
    parameters) that gives its value; fields are set in ``attrs.fields`` order, as
    attrs' own ``__init__`` sets them on a frozen slotted class, so the result equals
    the public constructor's.  No converter runs; of the validators only those of the
    fields in *checks* run, in field order, after every field is set.

    The generated source is made only of *cls*'s own field names and the caller's
    constant expressions, never of data.
    """
    fields = attrs.fields(cls)
    missing = [f.name for f in fields if f.name not in values]
    if missing:
        msg = f"compile_constructor({cls.__name__}): no value for {missing}"
        raise TypeError(msg)
    lines = [f"def {name}({signature}):", "    new = _new(_cls)"]
    namespace: dict[str, Any] = {"_new": object.__new__, "_set": object.__setattr__, "_cls": cls}
    for index, field in enumerate(fields):
        slot = getattr(cls, field.name, None)
        if type(slot) is MemberDescriptorType:
            # The slot's own setter: what object.__setattr__ finds and calls, without
            # looking the name up through the class each time.
            namespace[f"_s{index}"] = slot.__set__
            lines.append(f"    _s{index}(new, {values[field.name]})")
        else:
            lines.append(f"    _set(new, {field.name!r}, {values[field.name]})")
    for index, field in enumerate(checks):
        namespace[f"_v{index}"] = field.validator
        namespace[f"_f{index}"] = field
        lines.append(f"    _v{index}(new, _f{index}, new.{field.name})")
    lines.append("    return new")
    function: Callable[..., Any] = compile_function(
        "\n".join(lines) + "\n", name, namespace, what=f"{name} {cls.__name__}"
    )
    return function
