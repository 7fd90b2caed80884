"""
A JSON-safe form of the request models, for queues, files and ``qbwc build``.

``dump(model)`` gives ``{"type": "InvoiceAdd", ...}`` with the model's
snake_case field names; fields that are None or empty are left out.  Decimals
are strings (``"150.00"``, exactly as held), dates ISO strings, nested
aggregates dicts, repeated fields lists; each entry of ``lines`` carries its
``"type"``.  A Ref by linkage key (``Ref(key=...)``) carries ``"key"``.
``load`` reverses it exactly and names the key of anything wrong.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from qbwc.exceptions import QBXMLValidationError
from qbwc.qbxml._requests import ADD_MODELS, LINE_MODELS
from qbwc.qbxml._types import DECIMAL_KINDS, Kind, Ref, Spec, specs, vocabulary

__all__ = ["dump", "load"]

#: The models ``load`` accepts at the top level, by name.
_TOP: Final[dict[str, type]] = {cls.__name__: cls for cls in (*ADD_MODELS, *LINE_MODELS)}
_TYPE: Final = "type"
# DECIMAL_KINDS as a tuple: ``in`` compares by identity, where the frozenset
# would call Enum.__hash__, a Python function.
_DECIMAL_KINDS: Final = tuple(DECIMAL_KINDS)


def _error(path: str, rule: str) -> QBXMLValidationError:
    return QBXMLValidationError(path, rule)


def dump(model: object) -> dict[str, Any]:
    """
    Return the JSON-safe dict form of a request model.

    Raises:
        QBXMLValidationError: *model* is not a request model, or holds a value
            of a type its field cannot have.
    """
    cls = type(model)
    if cls not in _TOP.values() and _generated(cls.__name__) is not cls:
        names = ", ".join(_TOP)
        raise _error(cls.__name__, f"expected a request model ({names}, CustomerAdd, ...)")
    return _dump(model, cls.__name__, with_type=True)


def _generated(name: object) -> type | None:
    """The generated request model *name*, or None (docs/qbxml-reference.md)."""
    if not isinstance(name, str):
        return None
    tables = vocabulary()
    if name not in tables.REQUESTS:
        return None
    cls: type = tables.model(name)
    return cls


def _dump(model: object, path: str, *, with_type: bool) -> dict[str, Any]:
    result: dict[str, Any] = {_TYPE: type(model).__name__} if with_type else {}
    for name, spec in specs(type(model)):
        value = getattr(model, name)
        if value is None or (spec.many and not value):
            continue
        where = f"{path}.{name}"
        if spec.many:
            if not isinstance(value, tuple):
                raise _error(where, f"expected a tuple, got {type(value).__name__}")
            result[name] = [
                _dump_one(item, spec, f"{where}[{index}]") for index, item in enumerate(value)
            ]
        else:
            result[name] = _dump_one(value, spec, where)
    if type(model) is Ref and model.key is not None:  # a linkage key (docs/linkages.md)
        if type(model.key) is not str:
            raise _error(f"{path}.key", f"expected str, got {type(model.key).__name__}")
        result["key"] = model.key
    return result


def _dump_one(value: Any, spec: Spec, path: str) -> Any:
    kind = spec.kind
    if kind is Kind.AGG:
        if type(value) not in spec.model:
            expected = " or ".join(m.__name__ for m in spec.model)
            raise _error(path, f"expected {expected}, got {type(value).__name__}")
        return _dump(value, path, with_type=len(spec.model) > 1)
    if kind in DECIMAL_KINDS:
        if type(value) is not Decimal:
            raise _error(path, f"expected Decimal, got {type(value).__name__}")
        return str(value)
    if kind is Kind.DATE:
        if type(value) is not dt.date:
            raise _error(path, f"expected datetime.date, got {type(value).__name__}")
        return value.isoformat()
    if kind is Kind.BOOL:
        if type(value) is not bool:
            raise _error(path, f"expected bool, got {type(value).__name__}")
        return value
    if kind is Kind.INT:
        if type(value) is not int:
            raise _error(path, f"expected int, got {type(value).__name__}")
        return value
    if kind is Kind.DATETIME:
        if not isinstance(value, dt.datetime):
            raise _error(path, f"expected datetime.datetime, got {type(value).__name__}")
        return value.isoformat()
    if type(value) is not str:
        raise _error(path, f"expected str, got {type(value).__name__}")
    return value


def load(data: Mapping[str, Any]) -> Any:
    """
    Build a request model from its JSON-safe dict form (see :func:`dump`).

    ``"type"`` names the model (``"InvoiceAdd"``, ``"EstimateAdd"``, or a line
    model).  Decimals may be strings or integers, never floats.  The result is
    not checked against the qbXML rules: :func:`~qbwc.qbxml.build_request` does that.

    Raises:
        QBXMLValidationError: naming the key that is unknown, missing or of the
            wrong type.
    """
    if type(data) is not dict and not isinstance(data, Mapping):
        raise _error("$", f"expected a JSON object, got {type(data).__name__}")
    type_name = data.get(_TYPE)
    cls = _TOP.get(type_name) if isinstance(type_name, str) else None
    if cls is None:
        cls = _generated(type_name)
    if cls is None:
        names = ", ".join(_TOP)
        rule = f"{type_name!r} is not a request model ({names}, CustomerAdd, ...)"
        raise _error(_TYPE, rule)
    return _load(data, cls, cls.__name__)


# Each model's specs by field name, and a constructor that skips the attrs
# converters, built once (load runs for every queued job that is sent).
_PLANS: dict[type, tuple[dict[str, Spec], Callable[..., Any]]] = {}


def _plan(cls: type) -> tuple[dict[str, Spec], Callable[..., Any]]:
    plan = _PLANS.get(cls)
    if plan is None:
        from qbwc.qbxml._parse import _constructor  # noqa: PLC0415

        # _load_one gives every value its final type (Decimal, date, str, bool, a
        # model, a tuple), on which each converter returns its input unchanged.
        plan = _PLANS[cls] = (dict(specs(cls)), _constructor(cls))
    return plan


def _load(data: Mapping[str, Any], cls: type, path: str) -> Any:
    fields, construct = _PLANS.get(cls) or _plan(cls)
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key == _TYPE:
            if value != cls.__name__:
                raise _error(f"{path}.{_TYPE}", f"{value!r} here must be {cls.__name__!r}")
            continue
        spec = fields.get(key)
        if spec is None:
            if cls is Ref and key == "key":  # a linkage key (docs/linkages.md)
                if type(value) is not str:
                    raise _error(f"{path}.key", f"expected a string, got {type(value).__name__}")
                values[key] = value
                continue
            raise _error(f"{path}.{key}", f"unknown key (not a field of {cls.__name__})")
        if value is None:
            continue
        if spec.many:
            if type(value) is not list and not isinstance(value, (list, tuple)):
                raise _error(f"{path}.{key}", f"expected a list, got {type(value).__name__}")
            where = f"{path}.{key}"
            values[key] = tuple(
                [_load_one(item, spec, f"{where}[{index}]") for index, item in enumerate(value)]
            )
        elif spec.kind is Kind.STR and type(value) is str:  # the most frequent case
            values[key] = value
        else:
            values[key] = _load_one(value, spec, f"{path}.{key}")
    try:
        return construct(**values)
    except (TypeError, ValueError) as exc:  # a converter refused a value
        raise _error(path, str(exc)) from None


def _load_one(value: Any, spec: Spec, path: str) -> Any:
    kind = spec.kind
    if kind is Kind.STR and type(value) is str:  # the most frequent case, first
        return value
    if kind is Kind.AGG:
        if type(value) is not dict and not isinstance(value, Mapping):
            raise _error(path, f"expected a JSON object, got {type(value).__name__}")
        if len(spec.model) == 1:
            return _load(value, spec.model[0], path)
        type_name = value.get(_TYPE)
        for model in spec.model:
            if model.__name__ == type_name:
                return _load(value, model, path)
        names = " or ".join(repr(m.__name__) for m in spec.model)
        raise _error(f"{path}.{_TYPE}", f"{type_name!r} is not {names}")
    if kind in _DECIMAL_KINDS:
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            rule = f"expected a decimal as a string such as \"150.00\", got {type(value).__name__}"
            raise _error(path, rule)
        try:
            number = Decimal(value)
        except InvalidOperation:
            raise _error(path, f"{value!r} is not a decimal number") from None
        if not number.is_finite():
            raise _error(path, f"{value!r} is not a finite number")
        return number
    if kind is Kind.DATE:
        if not isinstance(value, str):
            raise _error(path, f"expected a date string YYYY-MM-DD, got {type(value).__name__}")
        try:
            return dt.date.fromisoformat(value) if len(value) == 10 else _bad_date(value)
        except ValueError:
            raise _error(path, f"{value!r} is not a date (YYYY-MM-DD)") from None
    if kind is Kind.BOOL:
        if not isinstance(value, bool):
            raise _error(path, f"expected true or false, got {type(value).__name__}")
        return value
    if kind is Kind.INT:
        if type(value) is not int:
            raise _error(path, f"expected an integer, got {type(value).__name__}")
        return value
    if kind is Kind.DATETIME:
        if not isinstance(value, str):
            rule = f"expected a date-time string YYYY-MM-DDThh:mm:ss, got {type(value).__name__}"
            raise _error(path, rule)
        try:
            return dt.datetime.fromisoformat(value)
        except ValueError:
            raise _error(path, f"{value!r} is not a date-time (YYYY-MM-DDThh:mm:ss)") from None
    if not isinstance(value, str):
        raise _error(path, f"expected a string, got {type(value).__name__}")
    return value


def _bad_date(value: str) -> dt.date:
    raise ValueError(value)
