"""
Hypothesis strategies for the request models.

Written out field by field (not inferred from the specs) so that they are a
second, independent statement of the rules: every value they generate is one
that :func:`qbwc.qbxml.build_request` must accept at the requested version, and
that Intuit's official schema accepts.  Needs Hypothesis.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

from hypothesis import strategies as st

from qbwc.qbxml._build import SUPPORTED_VERSIONS
from qbwc.qbxml._requests import (
    EstimateAdd,
    EstimateLineAdd,
    EstimateLineGroupAdd,
    InvoiceAdd,
    InvoiceLineAdd,
    InvoiceLineGroupAdd,
    LinkToTxn,
    SetCredit,
)
from qbwc.qbxml._types import Address, DataExt, Ref, Version, parse_version

__all__ = [
    "addresses",
    "amounts",
    "data_exts",
    "estimate_adds",
    "estimate_line_adds",
    "estimate_line_group_adds",
    "invoice_adds",
    "invoice_line_adds",
    "invoice_line_group_adds",
    "list_ids",
    "qbxml_text",
    "quantities",
    "refs",
    "request_models",
    "versions",
]

T = TypeVar("T")
Draw = Callable[[st.SearchStrategy[Any]], Any]

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


def _exchange_rates() -> st.SearchStrategy[Decimal]:
    return _notations(
        st.integers(0, 10).flatmap(
            lambda places: st.decimals(Decimal(0), Decimal(10**6), places=places)
        )
    )


def _guids() -> st.SearchStrategy[str]:
    return st.one_of(
        st.just("0"), st.uuids().map(lambda u: "{" + str(u).upper() + "}")
    )


def _dates() -> st.SearchStrategy[dt.date]:
    return st.dates(dt.date(1900, 1, 1), dt.date(2099, 12, 31))


def _since(version: Version, since: Version, strategy: st.SearchStrategy[T]) -> Any:
    """Optional *strategy*, or None when the field is newer than *version*."""
    if version < since:
        return st.none()
    return st.none() | strategy


def _many(version: Version, since: Version, strategy: st.SearchStrategy[T]) -> Any:
    if version < since:
        return st.just(())
    return st.lists(strategy, max_size=2).map(tuple)


def addresses(version: str = "13.0") -> st.SearchStrategy[Address]:
    """A bill-to or ship-to address."""
    v = parse_version(version)
    line, city = qbxml_text(41), qbxml_text(31)
    return st.builds(
        Address,
        addr1=st.none() | line,
        addr2=st.none() | line,
        addr3=st.none() | line,
        addr4=_since(v, (2, 0), line),
        addr5=_since(v, (6, 0), line),
        city=st.none() | city,
        state=st.none() | qbxml_text(21),
        postal_code=st.none() | qbxml_text(13),
        country=st.none() | city,
        note=_since(v, (6, 0), line),
    )


def data_exts() -> st.SearchStrategy[DataExt]:
    """A custom-field value (public ``"0"`` or an application's OwnerID)."""
    return st.builds(
        DataExt,
        owner_id=_guids(),
        data_ext_name=qbxml_text(31, min_size=1),
        data_ext_value=qbxml_text(),
    )


def _rate_choice(
    draw: Draw, v: Version, *, price_level_since: Version | None, names: tuple[str, str, str]
) -> dict[str, Any]:
    """At most one of a (rate, percent, price-level ref) choice."""
    options = ["none", names[0], names[1]]
    if price_level_since is not None and v >= price_level_since:
        options.append(names[2])
    chosen = draw(st.sampled_from(options))
    if chosen == "none":
        return {}
    if chosen == names[2]:
        return {chosen: draw(refs(31))}
    return {chosen: draw(quantities())}


@st.composite
def invoice_line_adds(draw: Draw, version: str = "13.0") -> InvoiceLineAdd:
    """An invoice line valid at *version*."""
    v = parse_version(version)
    fields: dict[str, Any] = {
        "item_ref": draw(st.none() | refs()),
        "desc": draw(st.none() | qbxml_text(4095)),
        "quantity": draw(st.none() | quantities()),
        "unit_of_measure": draw(_since(v, (7, 0), qbxml_text(31))),
        "class_ref": draw(st.none() | refs(159)),
        "amount": draw(st.none() | amounts()),
        "tax_amount": draw(_since(v, (6, 1), amounts())),
        "option_for_price_rule_conflict": draw(
            _since(v, (13, 0), st.sampled_from(("Zero", "BasePrice")))
        ),
        "inventory_site_ref": draw(_since(v, (10, 0), refs(31))),
        "inventory_site_location_ref": draw(_since(v, (12, 0), refs(31))),
        "service_date": draw(st.none() | _dates()),
        "sales_tax_code_ref": draw(st.none() | refs(3)),
        "override_item_account_ref": draw(_since(v, (2, 0), refs(159))),
        "other1": draw(_since(v, (6, 0), qbxml_text(29))),
        "other2": draw(_since(v, (6, 0), qbxml_text(29))),
        "link_to_txn": draw(
            _since(v, (6, 0), st.builds(LinkToTxn, txn_id=list_ids(), txn_line_id=list_ids()))
        ),
        "data_ext": draw(_many(v, (5, 0), data_exts())),
        "def_macro": draw(_since(v, (2, 0), qbxml_text(40))),
    }
    fields.update(
        _rate_choice(
            draw, v, price_level_since=(4, 0), names=("rate", "rate_percent", "price_level_ref")
        )
    )
    if v >= (11, 0):
        serial = draw(st.sampled_from(("none", "serial_number", "lot_number")))
        if serial != "none":
            fields[serial] = draw(qbxml_text(4095 if serial == "serial_number" else 40))
    return InvoiceLineAdd(**fields)


_G = TypeVar("_G", InvoiceLineGroupAdd, EstimateLineGroupAdd)


def _line_group_adds(cls: type[_G], version: str) -> st.SearchStrategy[_G]:
    """A group line of *cls* (the invoice and estimate group lines have the same fields)."""
    v = parse_version(version)
    return st.builds(
        cls,
        item_group_ref=refs(31),
        quantity=st.none() | quantities(),
        unit_of_measure=_since(v, (7, 0), qbxml_text(31)),
        inventory_site_ref=_since(v, (10, 0), refs(31)),
        inventory_site_location_ref=_since(v, (12, 0), refs(31)),
        data_ext=_many(v, (5, 0), data_exts()),
    )


def invoice_line_group_adds(version: str = "13.0") -> st.SearchStrategy[InvoiceLineGroupAdd]:
    """An invoice group line valid at *version*."""
    return _line_group_adds(InvoiceLineGroupAdd, version)


@st.composite
def invoice_adds(draw: Draw, version: str = "13.0", *, max_lines: int = 4) -> InvoiceAdd:
    """An invoice valid at *version*, with up to *max_lines* lines."""
    v = parse_version(version)
    lines = st.one_of(invoice_line_adds(version), invoice_line_group_adds(version))
    return InvoiceAdd(
        customer_ref=draw(refs(209)),
        class_ref=draw(st.none() | refs(159)),
        ar_account_ref=draw(st.none() | refs(159)),
        template_ref=draw(_since(v, (3, 0), refs(31))),
        txn_date=draw(st.none() | _dates()),
        ref_number=draw(st.none() | qbxml_text(11)),
        bill_address=draw(st.none() | addresses(version)),
        ship_address=draw(st.none() | addresses(version)),
        is_pending=draw(st.none() | st.booleans()),
        is_finance_charge=draw(_since(v, (8, 0), st.booleans())),
        po_number=draw(st.none() | qbxml_text(25)),
        terms_ref=draw(st.none() | refs(31)),
        due_date=draw(st.none() | _dates()),
        sales_rep_ref=draw(st.none() | refs(5)),
        fob=draw(st.none() | qbxml_text(13)),
        ship_date=draw(st.none() | _dates()),
        ship_method_ref=draw(st.none() | refs(15)),
        item_sales_tax_ref=draw(st.none() | refs(31)),
        memo=draw(st.none() | qbxml_text(4095)),
        customer_msg_ref=draw(st.none() | refs(101)),
        is_to_be_printed=draw(st.none() | st.booleans()),
        is_to_be_emailed=draw(_since(v, (6, 0), st.booleans())),
        is_tax_included=draw(_since(v, (6, 0), st.booleans())),
        customer_sales_tax_code_ref=draw(st.none() | refs(3)),
        other=draw(_since(v, (6, 0), qbxml_text(29))),
        exchange_rate=draw(_since(v, (8, 0), _exchange_rates())),
        external_guid=draw(_since(v, (9, 0), _guids())),
        link_to_txn_id=draw(_many(v, (6, 0), list_ids())),
        set_credit=draw(
            _many(
                v,
                (10, 0),
                st.builds(
                    SetCredit,
                    credit_txn_id=list_ids(),
                    applied_amount=amounts(),
                    override=st.none() | st.booleans(),
                ),
            )
        ),
        lines=draw(st.lists(lines, max_size=max_lines)),
        def_macro=draw(_since(v, (2, 0), qbxml_text(40))),
        include_ret_element=draw(_many(v, (4, 0), qbxml_text(50, min_size=1))),
    )


@st.composite
def estimate_line_adds(draw: Draw, version: str = "13.0") -> EstimateLineAdd:
    """An estimate line valid at *version*."""
    v = parse_version(version)
    fields: dict[str, Any] = {
        "item_ref": draw(st.none() | refs()),
        "desc": draw(st.none() | qbxml_text(4095)),
        "quantity": draw(st.none() | quantities()),
        "unit_of_measure": draw(_since(v, (7, 0), qbxml_text(31))),
        "class_ref": draw(st.none() | refs(159)),
        "amount": draw(st.none() | amounts()),
        "tax_amount": draw(_since(v, (6, 1), amounts())),
        "option_for_price_rule_conflict": draw(
            _since(v, (13, 0), st.sampled_from(("Zero", "BasePrice")))
        ),
        "inventory_site_ref": draw(_since(v, (10, 0), refs(31))),
        "inventory_site_location_ref": draw(_since(v, (12, 0), refs(31))),
        "sales_tax_code_ref": draw(st.none() | refs(3)),
        "override_item_account_ref": draw(_since(v, (2, 0), refs(159))),
        "other1": draw(_since(v, (6, 0), qbxml_text(29))),
        "other2": draw(_since(v, (6, 0), qbxml_text(29))),
        "data_ext": draw(_many(v, (5, 0), data_exts())),
    }
    fields.update(
        _rate_choice(draw, v, price_level_since=None, names=("rate", "rate_percent", ""))
    )
    fields.update(
        _rate_choice(
            draw,
            v,
            price_level_since=(7, 0),
            names=("markup_rate", "markup_rate_percent", "price_level_ref"),
        )
    )
    return EstimateLineAdd(**fields)


def estimate_line_group_adds(version: str = "13.0") -> st.SearchStrategy[EstimateLineGroupAdd]:
    """An estimate group line valid at *version*."""
    return _line_group_adds(EstimateLineGroupAdd, version)


@st.composite
def estimate_adds(draw: Draw, version: str = "13.0", *, max_lines: int = 4) -> EstimateAdd:
    """An estimate valid at *version*, with 1 to *max_lines* lines."""
    v = parse_version(version)
    lines = st.one_of(estimate_line_adds(version), estimate_line_group_adds(version))
    return EstimateAdd(
        customer_ref=draw(refs(209)),
        class_ref=draw(st.none() | refs(159)),
        template_ref=draw(_since(v, (3, 0), refs(31))),
        txn_date=draw(st.none() | _dates()),
        ref_number=draw(st.none() | qbxml_text(11)),
        bill_address=draw(st.none() | addresses(version)),
        ship_address=draw(_since(v, (7, 0), addresses(version))),
        is_active=draw(_since(v, (3, 0), st.booleans())),
        po_number=draw(st.none() | qbxml_text(25)),
        terms_ref=draw(st.none() | refs(31)),
        due_date=draw(st.none() | _dates()),
        sales_rep_ref=draw(st.none() | refs(5)),
        fob=draw(st.none() | qbxml_text(13)),
        item_sales_tax_ref=draw(st.none() | refs(31)),
        memo=draw(st.none() | qbxml_text(4095)),
        customer_msg_ref=draw(st.none() | refs(101)),
        is_to_be_emailed=draw(_since(v, (6, 0), st.booleans())),
        is_tax_included=draw(_since(v, (6, 0), st.booleans())),
        customer_sales_tax_code_ref=draw(st.none() | refs(3)),
        other=draw(_since(v, (6, 0), qbxml_text(29))),
        exchange_rate=draw(_since(v, (8, 0), _exchange_rates())),
        external_guid=draw(_since(v, (9, 0), _guids())),
        lines=draw(st.lists(lines, min_size=1, max_size=max(1, max_lines))),
        def_macro=draw(_since(v, (2, 0), qbxml_text(40))),
        include_ret_element=draw(_many(v, (4, 0), qbxml_text(50, min_size=1))),
    )


def request_models(version: str = "13.0") -> st.SearchStrategy[InvoiceAdd | EstimateAdd]:
    """An InvoiceAdd or an EstimateAdd valid at *version*."""
    return st.one_of(invoice_adds(version), estimate_adds(version))
