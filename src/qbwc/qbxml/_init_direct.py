"""
Compiled ``__init__`` methods for the qbXML models: attrs' own, made cheaper.

attrs writes each frozen class an ``__init__`` that sets every field through
``object.__setattr__`` and calls every field's converter, even on ``None`` or on a
value already of the right type.  The ``__init__`` compiled here for a model does
the same work in the same order, with two differences that change nothing a caller
can see: each field is set through its slot's own setter, and a converter is called
only when it could change the value (it returns ``None``, a ``Decimal``, a ``date``,
a ``str`` GUID and a ``tuple`` as they are, so those skip the call).  Every other
value goes through the converter, which raises what it always raised.

The generated model modules hand their classes to :func:`direct_inits`; each
class's ``__init__`` compiles on its first call, through
:func:`qbwc._direct.compile_function` (docs/qbxml.md, "Speed").  A class this
cannot do (validators, hooks, no slots) keeps the ``__init__`` attrs wrote.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from types import MemberDescriptorType
from typing import Any, Final

import attrs

from qbwc._direct import compile_function
from qbwc.qbxml import _types

__all__ = ["ATTRS_INITS", "compile_init", "direct_inits"]

#: Converter -> the test (over the value ``{0}``) under which it could change the value;
#: otherwise it returns the value itself (qbwc.qbxml._types).
_CHANGES: Final[dict[Any, str]] = {
    _types._to_decimal: "{0} is not None and type({0}) is not _Decimal",
    _types._to_date: "{0} is not None and type({0}) is not _date",
    _types._to_guid: "{0} is not None and type({0}) is not str",
    _types._to_tuple: "type({0}) is not tuple",
    _types._to_strs: "type({0}) is not tuple",
    tuple: "type({0}) is not tuple",
}


def direct_inits(names: Iterable[str], namespace: Mapping[str, Any]) -> None:
    """Give each attrs class of *names* in *namespace* an ``__init__`` compiled on first use."""
    for name in names:
        cls = namespace[name]
        if isinstance(cls, type) and attrs.has(cls) and "__init__" in cls.__dict__:
            _first_use(cls)


#: The ``__init__`` attrs wrote, by class: the reference the compiled one is held to.
ATTRS_INITS: dict[type, Callable[..., None]] = {}


def _first_use(cls: type) -> None:
    original: Callable[..., None] = cls.__dict__["__init__"]
    ATTRS_INITS[cls] = original

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        init = compile_init(cls)
        if init is None:
            init = original
        else:  # what inspect and typing.get_type_hints read of attrs' own
            init.__annotations__ = original.__annotations__
            init.__doc__ = original.__doc__
        type.__setattr__(cls, "__init__", init)
        init(self, *args, **kwargs)

    __init__.__qualname__ = original.__qualname__
    __init__.__doc__ = original.__doc__
    __init__.__annotations__ = original.__annotations__
    __init__.__wrapped__ = original  # type: ignore[attr-defined] # inspect.signature reads it
    type.__setattr__(cls, "__init__", __init__)


def compile_init(cls: type) -> Callable[..., None] | None:
    """
    The compiled ``__init__`` of *cls*, or None when it has more than fields with
    defaults and converters (validators, ``__attrs_pre_init__``/``__attrs_post_init__``,
    ``init=False`` fields, positional fields, or no slots).
    """
    if "__slots__" not in cls.__dict__ or any(
        hasattr(cls, hook) for hook in ("__attrs_pre_init__", "__attrs_post_init__")
    ):
        return None
    fields = attrs.fields(cls)
    namespace: dict[str, Any] = {
        "_NOTHING": attrs.NOTHING,
        "_Decimal": Decimal,
        "_date": dt.date,
    }
    params: list[str] = []
    body: list[str] = []
    for index, f in enumerate(fields):
        slot = getattr(cls, f.name, None)
        if (
            f.validator is not None
            or not f.init
            or not f.kw_only
            or type(slot) is not MemberDescriptorType
        ):
            return None
        name = f.alias
        namespace[f"_s{index}"] = slot.__set__
        if isinstance(f.default, attrs.Factory):  # type: ignore[arg-type]
            if f.default.takes_self:
                return None
            namespace[f"_factory{index}"] = f.default.factory
            params.append(f"{name}=_NOTHING")
            body += [f"if {name} is _NOTHING:", f"    {name} = _factory{index}()"]
        elif f.default is attrs.NOTHING:
            params.append(name)
        else:
            namespace[f"_default{index}"] = f.default
            params.append(f"{name}=_default{index}")
        if f.converter is not None:
            body += _convert(f, index, name, namespace)
        body.append(f"_s{index}(self, {name})")
    signature = ", ".join(["self", "*", *params]) if params else "self"
    source = "def __init__(" + signature + "):\n"
    source += "".join(f"    {line}\n" for line in body or ["pass"])
    init: Callable[..., None] = compile_function(
        source, "__init__", namespace, what=f"__init__ {cls.__name__}"
    )
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    return init


def _convert(
    f: attrs.Attribute[Any], index: int, name: str, namespace: dict[str, Any]
) -> list[str]:
    converter = f.converter
    namespace[f"_f{index}"] = f
    if isinstance(converter, attrs.Converter):
        function = converter.converter  # type: ignore[attr-defined]
        args = [name]
        if converter.takes_self:  # type: ignore[attr-defined]
            args.append("self")
        if converter.takes_field:  # type: ignore[attr-defined]
            args.append(f"_f{index}")
    else:
        function = converter
        args = [name]
    namespace[f"_c{index}"] = function
    call = f"{name} = _c{index}({', '.join(args)})"
    test = _CHANGES.get(function)
    if test is None:
        return [call]
    return [f"if {test.format(name)}:", f"    {call}"]


# The shared aggregates every model uses.
direct_inits(("Ref", "Address", "DataExt"), vars(_types))
