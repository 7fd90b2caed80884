"""
Hypothesis strategies derived from the field specs, for every model of the generated
vocabulary (docs/qbxml-reference.md): any request type, any Ret.

Each field's values follow its :class:`~qbwc.qbxml._types.Spec`: its kind, maximum
length, enumeration, version, required flag, repetition and choice (one alternative
of a choice at most; one exactly when the choice is required).  What they generate,
:func:`qbwc.qbxml.build_request` (requests) or :func:`qbwc.testing.build_response`
(Rets) accepts at the version asked for, and Intuit's schema of that version too.
Needs Hypothesis.
"""

from __future__ import annotations

import datetime as dt
import decimal
import functools
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from qbwc.qbxml._build import SUPPORTED_VERSIONS
from qbwc.qbxml._types import (
    Kind,
    Ref,
    Spec,
    Version,
    choice_path,
    format_guid,
    is_inline,
    parse_version,
    specs,
    vocabulary,
)

__all__ = [
    "amounts",
    "list_ids",
    "model_of",
    "models",
    "qbxml_text",
    "quantities",
    "refs",
    "request_names",
    "ret_names",
    "versions",
    "xml_text",
]

# --- values of one kind (the building blocks every model strategy draws from) ---

#: Printable ISO-8859-1 (what QuickBooks Desktop stores), with tab, LF and CR
#: and the characters XML must escape.
_LATIN1 = st.characters(
    min_codepoint=0x20,
    max_codepoint=0xFF,
    exclude_characters="".join(chr(c) for c in range(0x7F, 0xA0)),
)
_CHARS = st.one_of(_LATIN1, st.sampled_from("\t\n\r&<>\"'"), st.sampled_from("abcAB 1"))
_LONG_LIMIT = 64


def versions(*, min_version: str = "1.0") -> st.SearchStrategy[str]:
    """A qbXML version the builder supports, at least *min_version*."""
    floor = parse_version(min_version)
    return st.sampled_from([v for v in SUPPORTED_VERSIONS if parse_version(v) >= floor])


def qbxml_text(max_len: int | None = None, *, min_size: int = 0) -> st.SearchStrategy[str]:
    """Text QuickBooks can store, at most *max_len* characters (short, or exactly the limit)."""
    limit = 30 if max_len is None else min(max_len, 30)
    short = st.text(_CHARS, min_size=min_size, max_size=max(limit, min_size))
    if max_len is None or max_len < min_size:
        return short
    if max_len <= _LONG_LIMIT:
        return short | st.text(_CHARS, min_size=max_len, max_size=max_len)
    return short | st.just("x" * (max_len - 1) + "&")


def list_ids() -> st.SearchStrategy[str]:
    """A ListID/TxnID shaped like QuickBooks' (``80000020-1703631977``)."""
    return st.builds(
        "{:X}-{:010d}".format, st.integers(1, 0xFFFFFFFF), st.integers(0, 9_999_999_999)
    )


def refs(max_len: int | None = None) -> st.SearchStrategy[Ref]:
    """A Ref by ListID, by FullName (at most *max_len* characters), or both."""
    names = qbxml_text(max_len, min_size=1)
    return st.one_of(
        st.builds(Ref, full_name=names),
        st.builds(Ref, list_id=list_ids()),
        st.builds(Ref, list_id=list_ids(), full_name=names),
    )


_EXACT = decimal.Context(prec=60)
_EIGHT_PLACES = Decimal("1E-8")


def _notations(values: st.SearchStrategy[Decimal]) -> st.SearchStrategy[Decimal]:
    """The same values, sometimes in another notation (``1.50000000``, ``1.5E+2``)."""
    return values.flatmap(
        lambda d: st.sampled_from(
            (d, d.normalize(_EXACT), d.quantize(_EIGHT_PLACES, context=_EXACT))
        )
    )


def amounts() -> st.SearchStrategy[Decimal]:
    """Money: at most 13 integer digits and 2 decimals (in any notation)."""
    limit = Decimal(10) ** 13 - Decimal("0.01")
    return _notations(
        st.one_of(
            st.decimals(-limit, limit, places=2),
            st.integers(-(10**6), 10**6).map(Decimal),
        )
    )


def quantities() -> st.SearchStrategy[Decimal]:
    """PRICE/QUAN/PERCENT values: at most 10 integer digits and 5 decimals (any notation)."""
    limit = Decimal(10) ** 10 - Decimal("0.00001")
    return _notations(
        st.integers(0, 5).flatmap(lambda places: st.decimals(-limit, limit, places=places))
    )


#: Characters XML 1.0 cannot carry, even escaped.
_XML_ILLEGAL = "".join(
    [chr(c) for c in range(0x20) if chr(c) not in "\t\n\r"] + ["\ufffe", "\uffff"]
)


def xml_text(*, max_size: int | None = None, min_size: int = 0) -> st.SearchStrategy[str]:
    """Any text XML can carry (no surrogates, no C0 controls but tab, LF and CR)."""
    size = 40 if max_size is None else min(max_size, 40)
    return st.text(
        st.characters(exclude_categories=["Cs"], exclude_characters=_XML_ILLEGAL),
        min_size=min_size,
        max_size=max(size, min_size),
    )


# --- models, from their field specs ---


#: FLOATTYPE (an exchange rate) is an xsd:decimal: the builder writes up to 20 integer
#: digits and 20 places, never rounded (docs/qbxml.md); any sign, any notation.
_FLOAT_LIMIT = Decimal(10) ** 20 - Decimal(1)
_FLOATS = _notations(
    st.one_of(
        st.integers(0, 20).flatmap(
            lambda places: st.decimals(
                -_FLOAT_LIMIT, _FLOAT_LIMIT, places=places, allow_nan=False, allow_infinity=False
            )
        ),
        st.decimals(Decimal(0), Decimal(10), places=10),  # exchange rates: 1.2345678901
    )
)
#: The dates QuickBooks Desktop's date fields take, as far as we know: 1901-01-01 to
#: 2099-12-31 (docs/testing.md); Intuit's schema allows any four-digit year.
_EARLIEST, _LATEST = dt.date(1901, 1, 1), dt.date(2099, 12, 31)
_DATES = st.dates(_EARLIEST, _LATEST)
_TIMES = st.datetimes(
    dt.datetime.combine(_EARLIEST, dt.time()), dt.datetime.combine(_LATEST, dt.time.max)
).map(lambda d: d.replace(microsecond=0))
#: A repeated field holds up to this many entries: an invoice's lines, a query's ListIDs
#: (_MANY); other repeated aggregates, nested in lines, fewer (CI time).
_MANY = 6
_MANY_NESTED = 3
#: TIMEINTERVALTYPE as QuickBooks writes it: hours, minutes and seconds, at least one.
_DURATIONS = (
    st.tuples(
        st.none() | st.integers(0, 9999),
        st.none() | st.integers(0, 59),
        st.none() | st.integers(0, 59),
    )
    .filter(lambda parts: parts != (None, None, None))
    .map(
        lambda parts: "PT"
        + "".join(f"{n}{unit}" for n, unit in zip(parts, "HMS", strict=True) if n is not None)
    )
)
_GUIDS = st.one_of(st.just("0"), st.uuids().map(format_guid))
#: The offsets QuickBooks' clock can be at (a Ret's date-times carry one).
_ZONES = st.integers(-14 * 60, 14 * 60).map(lambda m: dt.timezone(dt.timedelta(minutes=m)))


def request_names() -> tuple[str, ...]:
    """The name of every request model (``CustomerAdd``, ``CustomerQuery``, ...)."""
    return tuple(sorted(vocabulary().REQUESTS))


def ret_names() -> tuple[str, ...]:
    """The name of every Ret model a response element holds (``CustomerRet``, ...)."""
    return tuple(sorted({n for rets in vocabulary().RESPONSES.values() for n in rets}))


def model_of(name: str) -> type:
    """The model class *name* (its family loads on first use)."""
    cls: type = vocabulary().model(name)
    return cls


def _scalar(spec: Spec, ret: bool) -> st.SearchStrategy[Any]:
    kind = spec.kind
    if kind is Kind.STR:
        return qbxml_text(spec.max_len)
    if kind is Kind.DURATION:
        return _DURATIONS
    if kind is Kind.ID:
        return list_ids()
    if kind is Kind.AMT:
        return amounts()
    if kind in (Kind.PRICE, Kind.QUAN, Kind.PERCENT):
        return quantities()
    if kind is Kind.FLOAT:
        return _FLOATS
    if kind is Kind.INT:
        low = 0 if spec.minimum is None else spec.minimum
        return st.integers(low, 10**6 if spec.maximum is None else spec.maximum)
    if kind is Kind.BOOL:
        return st.booleans()
    if kind is Kind.DATE:
        return _DATES
    if kind is Kind.DATETIME:
        if ret:
            return st.builds(lambda d, zone: d.replace(tzinfo=zone), _TIMES, _ZONES)
        return _TIMES
    if kind is Kind.GUID:
        return _GUIDS
    if kind is Kind.ENUM:
        return st.sampled_from(spec.values)
    msg = f"no strategy for {kind}"  # pragma: no cover - every kind is above
    raise AssertionError(msg)


def _value(
    spec: Spec, version: Version, ret: bool, *, given: bool = False
) -> st.SearchStrategy[Any]:
    if spec.kind is Kind.AGG:
        options = [
            refs(spec.max_len) if model is Ref else models(model, version=version, ret=ret)
            for model in spec.model
        ]
        one: st.SearchStrategy[Any] = st.one_of(options)
    else:
        one = _scalar(spec, ret)
    if spec.many:
        least = max(spec.min_count, 1 if given else 0)
        lines = spec.tag.endswith(("LineAdd", "LineMod", "LineRet")) or len(spec.model) > 1
        most = _MANY if lines or spec.kind is not Kind.AGG else _MANY_NESTED
        most = max(least, most if spec.max_count is None else min(most, spec.max_count))
        return st.lists(one, min_size=least, max_size=most).map(tuple)
    return one


def _alternatives(fields: tuple[tuple[str, Spec], ...]) -> dict[str, dict[str, list[str]]]:
    """choice group -> alternative -> the fields of that alternative."""
    groups: dict[str, dict[str, list[str]]] = {}
    for name, spec in fields:
        for group, alternative in choice_path(name, spec.choice):
            groups.setdefault(group, {}).setdefault(alternative, []).append(name)
    return groups


def models(
    cls: type, *, version: str | Version = "16.0", ret: bool = False
) -> st.SearchStrategy[Any]:
    """
    Instances of the model *cls*, valid at *version*: every field drawn from its spec.

    With *ret*, date-times carry a zone (as QuickBooks sends them).
    """
    parsed = parse_version(version) if isinstance(version, str) else version
    return _models(cls, parsed, ret)


@functools.cache
def _models(cls: type, parsed: Version, ret: bool) -> st.SearchStrategy[Any]:
    fields = tuple((n, s) for n, s in specs(cls) if s.since <= parsed)
    groups = _alternatives(fields)

    paths = {name: choice_path(name, spec.choice) for name, spec in fields}
    required_groups = {
        path[0][0] for name, spec in fields if (path := paths[name]) and spec.choice_required
    } | {paths[name][1][0] for name, spec in fields if spec.inner_choice_required}
    inline = is_inline(cls)

    @st.composite
    def build(draw: st.DrawFn) -> Any:
        # One alternative per choice (or none, unless the choice is required); the first
        # field of a chosen alternative is given, with the alternatives around it.
        chosen: dict[str, str | None] = {}
        forced: set[str] = set()
        for group, alternatives in groups.items():
            if group in chosen:
                continue
            names = sorted(alternatives)
            pick = st.sampled_from(names)
            chosen[group] = draw(pick if group in required_groups else st.none() | pick)
            if chosen[group] is not None:
                first = alternatives[str(chosen[group])][0]
                forced.add(first)
                for inner, alternative in paths[first]:
                    chosen.setdefault(inner, alternative)
        values: dict[str, Any] = {}
        for name, spec in fields:
            path = paths[name]
            if any(chosen.get(group) != alternative for group, alternative in path):
                continue
            needed = spec.required or spec.min_count > 0 or name in forced
            if spec.attribute and spec.tag == "defMacro":
                continue  # a macro names a transaction for later requests; see docs/qbxml.md
            if needed or draw(st.booleans()):
                values[name] = draw(_value(spec, parsed, ret, given=name in forced))
        for name, spec in fields:
            for other, _ in spec.excludes:  # QuickBooks refuses both (Spec.excludes)
                if name in values and values.get(other) not in (None, ()):
                    del values[name if draw(st.booleans()) else other]
        if inline and not values:
            # An inline Ret (ListDelRet) without a field is no Ret: build_response refuses it.
            name, spec = draw(st.sampled_from(fields))
            values[name] = draw(_value(spec, parsed, ret))
        return cls(**values)

    return build()
