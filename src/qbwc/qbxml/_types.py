"""
The shared vocabulary of the qbXML models: scalar kinds, field specs, converters,
and the small aggregates every transaction uses (Ref, Address, DataExt).

Every model field is declared with :func:`qbfield`, which records a :class:`Spec`
in the attrs field metadata under the key ``"qbxml"``.  Builders, parsers, the
schema generator and the Hypothesis strategies all read those specs: they are the
one source of truth, and fields are declared in schema order so that walking
``attrs.fields(cls)`` emits elements in the order QuickBooks requires.
"""

from __future__ import annotations

import datetime as dt
import enum
import importlib
import re
import uuid
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from types import ModuleType
from typing import TYPE_CHECKING, Any, Final

import attrs

__all__ = [
    "DURATION_PATTERN",
    "QBXML_KEY",
    "Address",
    "DataExt",
    "Kind",
    "Ref",
    "Spec",
    "Version",
    "choice_path",
    "duration_rule",
    "format_guid",
    "format_version",
    "is_inline",
    "parse_version",
    "qb",
    "qbfield",
    "spec_of",
    "specs",
    "tag_of",
    "to_data_exts",
    "to_date",
    "to_decimal",
    "to_guid",
    "to_strs",
    "to_tuple",
    "unknown_field",
    "vocabulary",
]

#: A qbXML version as (major, minor), e.g. (13, 0).
Version = tuple[int, int]

QBXML_KEY: Final = "qbxml"


def parse_version(text: str) -> Version:
    """Turn ``"13.0"`` into ``(13, 0)``; raise ValueError for anything else."""
    major, sep, minor = text.strip().partition(".")
    if not sep or not major.isdigit() or not minor.isdigit():
        msg = f"qbXML version {text!r}: expected MAJOR.MINOR such as '13.0'"
        raise ValueError(msg)
    return int(major), int(minor)


def format_version(version: Version) -> str:
    """Turn ``(13, 0)`` into ``"13.0"``."""
    return f"{version[0]}.{version[1]}"


class Kind(enum.Enum):
    """The qbXML scalar types (qbxmltypes130.xsd), plus AGG for aggregates."""

    STR = "STRTYPE"
    ID = "IDTYPE"
    AMT = "AMTTYPE"
    PRICE = "PRICETYPE"
    QUAN = "QUANTYPE"
    PERCENT = "PERCENTTYPE"
    FLOAT = "FLOATTYPE"
    INT = "INTTYPE"
    BOOL = "BOOLTYPE"
    DATE = "DATETYPE"
    DATETIME = "DATETIMETYPE"
    GUID = "GUIDTYPE"
    ENUM = "ENUMTYPE"
    #: TIMEINTERVALTYPE: a duration such as ``PT8H30M``, held as its text.
    DURATION = "TIMEINTERVALTYPE"
    AGG = "aggregate"


#: TIMEINTERVALTYPE (qbxmltypes160.xsd): an xsd:duration of hours, minutes and
#: seconds only; at least one of them (``PT`` alone is no duration).
#: The pattern is in XSD regex syntax too (schemas/qbxml.xsd): no lookahead.
DURATION_PATTERN: Final = r"[+\-]?PT([0-9]+H([0-9]+M)?([0-9]+S)?|[0-9]+M([0-9]+S)?|[0-9]+S)"
_DURATION: Final = re.compile(DURATION_PATTERN)


def duration_rule(text: str) -> str | None:
    """Why *text* is not a qbXML duration (TIMEINTERVALTYPE), or None if it is one."""
    if _DURATION.fullmatch(text) is not None:
        return None
    return (
        f"{text!r} is not a duration (TIMEINTERVALTYPE: 'PT' and hours, minutes or "
        "seconds, such as 'PT8H30M' or 'PT45M')"
    )


#: Kinds held as Decimal.  AMT has exactly 2 decimals on the wire; PRICE, QUAN
#: and PERCENT at most 5; FLOAT is an unrestricted xsd:decimal.
DECIMAL_KINDS: Final = frozenset({Kind.AMT, Kind.PRICE, Kind.QUAN, Kind.PERCENT, Kind.FLOAT})


@attrs.frozen
class Spec:
    """
    How one model field maps to qbXML.

    Attributes:
        tag: the qbXML element (or attribute) name, e.g. ``"RefNumber"``.
        kind: the scalar type, or AGG for an aggregate.
        max_len: maximum length in characters (for a Ref: of its FullName), in the
            US edition of QuickBooks (the default edition).
        lengths: ``(edition, limit)`` for each edition (``"CA"``, ``"UK"``, ``"AU"``)
            whose maximum length differs from *max_len* (docs/qbxml-reference.md).
        since: the first qbXML version that has the element.
        required: the element must be present.
        many: the element repeats; the field holds a tuple.
        choice: fields with the same choice name are mutually exclusive.
        model: the aggregate class (or classes, for a mixed sequence).
        values: the allowed values of an ENUM.
        attribute: an XML attribute of the aggregate (``defMacro``), not an element.
        min_count: for a repeated field, how many items at least.
        max_count: for a repeated field, how many items at most (None: unbounded).
        choice_required: one of the fields of the choice must be given.
        inner_choice_required: the choice inside this field's alternative (the second
            segment of *choice*) needs one of its fields whenever a field of that
            alternative is given.
        minimum: the smallest value of an INT (``MaxReturned`` >= 1), if the schema says.
        maximum: the largest value of an INT (``ExpirationMonth`` <= 12), if the schema says.
        excludes: ``(other field, why)`` pairs: QuickBooks refuses this field together
            with the other though the schema allows both (tools/gen_qbxml_overlay.py,
            docs/qbxml-reference.md "Rules beyond the schema").
    """

    tag: str
    kind: Kind
    max_len: int | None = None
    lengths: tuple[tuple[str, int], ...] = ()
    since: Version = (1, 0)
    required: bool = False
    many: bool = False
    choice: str | None = None
    model: tuple[type, ...] = ()
    values: tuple[str, ...] = ()
    attribute: bool = False
    min_count: int = 0
    choice_required: bool = False
    minimum: int | None = None
    maximum: int | None = None
    excludes: tuple[tuple[str, str], ...] = ()
    inner_choice_required: bool = False
    max_count: int | None = None


def _owner(instance: Any) -> str:
    return type(instance).__name__


def _to_decimal(value: Any, instance: Any, field: attrs.Attribute[Any]) -> Decimal | None:
    if value is None or type(value) is Decimal:
        return value
    if isinstance(value, float):
        msg = (
            f"{_owner(instance)}.{field.name}: float is refused for money, rates and "
            f"quantities (binary floats are inexact); pass Decimal('{value!r}') or a str"
        )
        raise TypeError(msg)
    if isinstance(value, bool):
        msg = f"{_owner(instance)}.{field.name}: expected a Decimal, got bool"
        raise TypeError(msg)
    if isinstance(value, (int, Decimal)):
        return Decimal(value)
    if isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            msg = f"{_owner(instance)}.{field.name}: {value!r} is not a decimal number"
            raise ValueError(msg) from None
        if not result.is_finite():
            msg = f"{_owner(instance)}.{field.name}: {value!r} is not a finite number"
            raise ValueError(msg)
        return result
    msg = f"{_owner(instance)}.{field.name}: expected a Decimal, got {type(value).__name__}"
    raise TypeError(msg)


def _to_tuple(value: Any, instance: Any, field: attrs.Attribute[Any]) -> tuple[Any, ...]:
    if value is None:
        return ()
    if isinstance(value, tuple):
        return value
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        msg = (
            f"{_owner(instance)}.{field.name}: expected a list or tuple, "
            f"got {type(value).__name__}"
        )
        raise TypeError(msg)
    return tuple(value)


def _to_strs(value: Any, instance: Any, field: attrs.Attribute[Any]) -> tuple[Any, ...]:
    if value is None:
        return ()
    if isinstance(value, (list, tuple)):
        return tuple(value)
    msg = (
        f"{_owner(instance)}.{field.name}: expected a list or tuple of str, "
        f"got {type(value).__name__}"
    )
    raise TypeError(msg)


#: The converter of a repeated field of aggregates: any iterable but a str or bytes.
to_tuple: Final = attrs.Converter(_to_tuple, takes_self=True, takes_field=True)


def format_guid(value: uuid.UUID) -> str:
    """A GUID as QuickBooks and the Web Connector write it: ``{UPPER-CASE}`` in braces."""
    return "{" + str(value).upper() + "}"


def _to_guid(value: Any, instance: Any, field: attrs.Attribute[Any]) -> Any:
    if value is None or isinstance(value, str):
        return value  # checked by the builder, with its path
    if isinstance(value, uuid.UUID):
        return format_guid(value)
    msg = (
        f"{_owner(instance)}.{field.name}: expected a GUID str or a UUID, "
        f"got {type(value).__name__}"
    )
    raise TypeError(msg)


def _to_date(value: Any, instance: Any, field: attrs.Attribute[Any]) -> Any:
    # A datetime is a date subclass: the builder refuses it rather than drop the time.
    if value is None or isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return value  # reported with its path by the builder
    msg = (
        f"{_owner(instance)}.{field.name}: expected a date or an ISO date str "
        f"(YYYY-MM-DD), got {type(value).__name__}"
    )
    raise TypeError(msg)


_DECIMAL_CONVERTER: Final = attrs.Converter(_to_decimal, takes_self=True, takes_field=True)

# The converters of the field kinds that accept more than they hold.  Fields that use
# them are declared with attrs.field(converter=...) in the class body, where mypy's
# attrs plugin reads the type ``__init__`` accepts from the converter's first parameter:
# these signatures are that contract (docs/qbxml.md, "Types").  A value of another
# type raises TypeError naming the field; what the converter passes through (a bad
# date or GUID string, an item of the wrong model) the builder refuses with its path.
if TYPE_CHECKING:

    def to_decimal(value: Decimal | int | str | None, /) -> Decimal | None:
        """Money, rates, quantities: Decimal, int or a decimal str; never float."""

    def to_date(value: dt.date | str | None, /) -> dt.date | None:
        """A date, or its ISO text (``"2026-03-31"``)."""

    def to_guid(value: uuid.UUID | str | None, /) -> str | None:
        """A GUID str (``"{...}"`` or ``"0"``), or a UUID."""

    def to_strs(value: list[str] | tuple[str, ...] | None, /) -> tuple[str, ...]:
        """A repeated text element: a list or tuple of str (a str alone is refused)."""

    def to_data_exts(value: Iterable[DataExt] | None, /) -> tuple[DataExt, ...]:
        """Repeated DataExt: any iterable of them."""

else:
    to_decimal = _DECIMAL_CONVERTER
    to_date = attrs.Converter(_to_date, takes_self=True, takes_field=True)
    to_guid = attrs.Converter(_to_guid, takes_self=True, takes_field=True)
    to_strs = attrs.Converter(_to_strs, takes_self=True, takes_field=True)
    to_data_exts = to_tuple

#: The converter a field of each kind declares (repeated fields: to_tuple or a typed alias).
KIND_CONVERTERS: Final[dict[Kind, tuple[str, object]]] = {
    **dict.fromkeys(DECIMAL_KINDS, ("to_decimal", to_decimal)),
    Kind.DATE: ("to_date", to_date),
    Kind.GUID: ("to_guid", to_guid),
}


def qb(
    tag: str,
    kind: Kind,
    *,
    max_len: int | None = None,
    lengths: tuple[tuple[str, int], ...] = (),
    since: Version = (1, 0),
    required: bool = False,
    many: bool = False,
    choice: str | None = None,
    model: type | tuple[type, ...] = (),
    values: tuple[str, ...] = (),
    attribute: bool = False,
    min_count: int = 0,
    choice_required: bool = False,
    minimum: int | None = None,
    maximum: int | None = None,
    excludes: tuple[tuple[str, str], ...] = (),
    inner_choice_required: bool = False,
    max_count: int | None = None,
) -> dict[str, Spec]:
    """The attrs metadata of a model field that maps to the qbXML element *tag*."""
    spec = Spec(
        tag=tag,
        kind=kind,
        max_len=max_len,
        lengths=lengths,
        since=since,
        required=required,
        many=many,
        choice=choice,
        model=model if isinstance(model, tuple) else (model,),
        values=values,
        attribute=attribute,
        min_count=min_count,
        choice_required=choice_required,
        minimum=minimum,
        maximum=maximum,
        excludes=excludes,
        inner_choice_required=inner_choice_required,
        max_count=max_count,
    )
    return {QBXML_KEY: spec}


def qbfield(
    tag: str,
    kind: Kind,
    *,
    max_len: int | None = None,
    lengths: tuple[tuple[str, int], ...] = (),
    since: Version = (1, 0),
    required: bool = False,
    choice: str | None = None,
    model: type | tuple[type, ...] = (),
    values: tuple[str, ...] = (),
    attribute: bool = False,
    choice_required: bool = False,
    minimum: int | None = None,
    maximum: int | None = None,
    excludes: tuple[tuple[str, str], ...] = (),
    inner_choice_required: bool = False,
    max_count: int | None = None,
) -> Any:
    """
    Declare a model field that maps to the qbXML element *tag* and holds what it is given.

    It defaults to ``None``; its value is checked by the builder, with the full path.
    Repeated fields and the kinds with a converter (decimal kinds, DATE, GUID) are
    declared as ``attrs.field(default=None, converter=to_decimal, metadata=qb(...))``
    (``factory=tuple`` and ``to_tuple`` or a typed alias for repeated fields), so that
    type checkers see what ``__init__`` accepts: this refuses them.
    """
    if kind in KIND_CONVERTERS:
        converter = KIND_CONVERTERS[kind][0]
        msg = (
            f"qbfield({tag!r}, Kind.{kind.name}): declare it with attrs.field(default=None, "
            f"converter={converter}, metadata=qb(...))"
        )
        raise TypeError(msg)
    metadata = qb(
        tag,
        kind,
        max_len=max_len,
        lengths=lengths,
        since=since,
        required=required,
        choice=choice,
        model=model,
        values=values,
        attribute=attribute,
        choice_required=choice_required,
        minimum=minimum,
        maximum=maximum,
        excludes=excludes,
        inner_choice_required=inner_choice_required,
        max_count=max_count,
    )
    return attrs.field(default=None, metadata=metadata)


def choice_path(name: str, choice: str | None) -> tuple[tuple[str, str], ...]:
    """
    ``(group, alternative)`` for each choice field *name* is in, outermost first.

    A label is ``"group"`` (each field of the group is an alternative by itself) or
    ``"group:N"`` (the fields of the Nth alternative, a sequence, go together); a
    choice inside an alternative adds a segment after ``"|"`` (``"choice1:2|choice2"``).
    Two fields exclude each other when they are in different alternatives of one group.
    """
    if not choice:
        return ()
    path = []
    for segment in choice.split("|"):
        group, sep, _ = segment.partition(":")
        path.append((group, segment if sep else name))
    return tuple(path)


def vocabulary() -> ModuleType:
    """
    ``qbwc.qbxml._models``: the tables of the generated vocabulary (model names, request
    and response elements), imported on first use so that ``import qbwc`` stays fast.
    """
    return importlib.import_module("qbwc.qbxml._models")


def tag_of(cls: type) -> str:
    """
    The element name of an aggregate model: its class name, unless the generator had
    to name the class otherwise (``__qbxml_tag__``, docs/qbxml-reference.md "Naming").
    """
    tag: str = cls.__dict__.get("__qbxml_tag__", cls.__name__)
    return tag


def is_inline(cls: type) -> bool:
    """
    Whether the Ret model *cls* has no element of its own: its fields are the children of
    its ``…Rs`` (``ListDelRet``, ``TxnDelRet``, ``TxnVoidRet``, ``ListMergeRet``;
    docs/qbxml-responses.md).
    """
    return bool(cls.__dict__.get("__qbxml_inline__", False))


def unknown_field() -> Any:
    """The ``unknown`` field of a Ret model: the XML of each child the parser did not know."""
    # Not a qbfield: the parser fills it, the builder re-emits it last.
    return attrs.field(factory=tuple, converter=tuple)


def spec_of(field: attrs.Attribute[Any]) -> Spec:
    """The :class:`Spec` of one model field."""
    return field.metadata[QBXML_KEY]  # type: ignore[no-any-return]


_SPECS: dict[type, tuple[tuple[str, Spec], ...]] = {}


def specs(cls: type) -> tuple[tuple[str, Spec], ...]:
    """``(attribute name, Spec)`` for every qbXML field of *cls*, in schema order (cached)."""
    try:
        return _SPECS[cls]
    except KeyError:
        result = tuple(
            (f.name, spec_of(f)) for f in attrs.fields(cls) if QBXML_KEY in f.metadata
        )
        _SPECS[cls] = result
        return result


@attrs.frozen(kw_only=True)
class Ref:
    """
    A reference to a list object (customer, item, class, account, ...).

    Give ``list_id`` (preferred: stable and unique) or ``full_name`` (the
    colon-separated path, e.g. ``"Acme Corp:Job 7"``).  The FullName length
    limit depends on the field the Ref sits in and is checked by the builder.

    Or give ``key`` alone: the host's linkage key of the object
    (``Ref(key="project-17")``, docs/linkages.md).  It is no qbXML field: a
    request queued with ``WebConnectorService.enqueue`` has it replaced by the
    linked object's ListID when it is sent; building or rendering a Ref with a
    key is refused (QBXMLValidationError naming the field).
    """

    list_id: str | None = qbfield("ListID", Kind.ID, max_len=36)
    full_name: str | None = qbfield("FullName", Kind.STR)
    #: The host's linkage key (not qbXML; docs/linkages.md): resolved by the service.
    key: str | None = None

    @classmethod
    def by_name(cls, full_name: str) -> Ref:
        """A Ref by FullName."""
        return cls(full_name=full_name)

    @classmethod
    def by_id(cls, list_id: str) -> Ref:
        """A Ref by ListID."""
        return cls(list_id=list_id)

    @classmethod
    def by_key(cls, key: str) -> Ref:
        """A Ref by the host's linkage key, resolved at send time (docs/linkages.md)."""
        return cls(key=key)


@attrs.frozen(kw_only=True)
class Address:
    """A bill-to or ship-to address (qbXML ``BillAddress`` / ``ShipAddress``)."""

    addr1: str | None = qbfield("Addr1", Kind.STR, max_len=41)
    addr2: str | None = qbfield("Addr2", Kind.STR, max_len=41)
    addr3: str | None = qbfield("Addr3", Kind.STR, max_len=41)
    addr4: str | None = qbfield("Addr4", Kind.STR, max_len=41, since=(2, 0))
    addr5: str | None = qbfield("Addr5", Kind.STR, max_len=41, since=(6, 0))
    city: str | None = qbfield("City", Kind.STR, max_len=31)
    state: str | None = qbfield("State", Kind.STR, max_len=21)
    postal_code: str | None = qbfield("PostalCode", Kind.STR, max_len=13)
    country: str | None = qbfield("Country", Kind.STR, max_len=31)
    note: str | None = qbfield("Note", Kind.STR, max_len=41, since=(6, 0))


@attrs.frozen(kw_only=True)
class DataExt:
    """
    A custom field value sent with an add (qbXML ``DataExt``).

    ``owner_id`` is ``"0"`` for a public custom field already defined in
    QuickBooks, or your application's OwnerID GUID (a UUID is accepted).
    """

    owner_id: str | None = attrs.field(
        default=None, converter=to_guid, metadata=qb("OwnerID", Kind.GUID, required=True)
    )
    data_ext_name: str | None = qbfield("DataExtName", Kind.STR, max_len=31, required=True)
    data_ext_value: str | None = qbfield("DataExtValue", Kind.STR, required=True)
