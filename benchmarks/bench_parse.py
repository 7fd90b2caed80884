"""
Typed parse of an InvoiceAddRs against a raw-lxml floor, measured in the same run.

The document is a realistic ~3.6 KB InvoiceAddRs with 5 lines, written by
``build_response``.  The floor is what any parser must do at least:
``lxml.etree.fromstring`` plus a generic recursive walk into nested dicts
(no type conversion).  Target: ``parse_response`` <= 1.3x the floor.

Run: ``.venv/bin/python benchmarks/bench_parse.py``
"""

from __future__ import annotations

import datetime as dt
import timeit
from decimal import Decimal
from typing import Any

from lxml import etree

from qbwc.qbxml import (
    Address,
    AddressBlock,
    InvoiceLineRet,
    InvoiceRet,
    Ref,
    Response,
    parse_response,
)
from qbwc.testing import build_response

TARGET = 1.3


def sample_document() -> bytes:
    """A realistic InvoiceAddRs with 5 lines, as QuickBooks writes one."""
    zone = dt.timezone(dt.timedelta(hours=-5))
    stamp = dt.datetime(2024, 5, 1, 9, 30, 12, tzinfo=zone)
    address = Address(
        addr1="Acme Corporation",
        addr2="Attn: Accounts Payable",
        addr3="1200 Industrial Pkwy",
        city="Springfield",
        state="IL",
        postal_code="62704",
        country="USA",
    )
    block = AddressBlock(
        addr1="Acme Corporation",
        addr2="Attn: Accounts Payable",
        addr3="1200 Industrial Pkwy",
        addr4="Springfield, IL 62704",
    )
    items = [
        ("Consulting", "Strategy workshop, May", "10", "150.00"),
        ("Consulting", "Follow-up sessions", "4.5", "150.00"),
        ("Travel", "Travel time (billable)", "3", "75.00"),
        ("Licence", "Annual licence, 5 seats", "5", "249.99"),
        ("Support", "Priority support plan", "1", "480.00"),
    ]
    lines = tuple(
        InvoiceLineRet(
            txn_line_id=f"{0x1A4 + i:X}-1714570212",
            item_ref=Ref(list_id=f"8000000{i + 1}-1714000000", full_name=name),
            desc=desc,
            quantity=Decimal(qty),
            rate=Decimal(rate),
            amount=(Decimal(qty) * Decimal(rate)).quantize(Decimal("0.01")),
            sales_tax_code_ref=Ref(list_id="80000002-1714000000", full_name="Non"),
        )
        for i, (name, desc, qty, rate) in enumerate(items)
    )
    subtotal = sum((line.amount or Decimal(0) for line in lines), Decimal("0.00"))
    ret = InvoiceRet(
        txn_id="1A3-1714570212",
        time_created=stamp,
        time_modified=stamp,
        edit_sequence="1714570212",
        txn_number=1042,
        customer_ref=Ref(list_id="80000013-1714000000", full_name="Acme Corporation"),
        ar_account_ref=Ref(list_id="8000001D-1714000000", full_name="Accounts Receivable"),
        template_ref=Ref(list_id="80000003-1714000000", full_name="Intuit Service Invoice"),
        txn_date=dt.date(2024, 5, 1),
        ref_number="INV-1042",
        bill_address=address,
        bill_address_block=block,
        is_pending=False,
        is_finance_charge=False,
        po_number="PO-77812",
        terms_ref=Ref(list_id="80000001-1714000000", full_name="Net 30"),
        due_date=dt.date(2024, 5, 31),
        ship_date=dt.date(2024, 5, 1),
        subtotal=subtotal,
        sales_tax_percentage=Decimal("0.00"),
        sales_tax_total=Decimal("0.00"),
        applied_amount=Decimal("0.00"),
        balance_remaining=subtotal,
        memo="Thank you for your business.",
        is_paid=False,
        is_to_be_printed=True,
        is_to_be_emailed=False,
        lines=lines,
    )
    response = Response(
        name="InvoiceAddRs",
        request_id="inv-1042",
        status_code=0,
        status_severity="Info",
        status_message="Status OK",
        ret=ret,
    )
    return build_response([response])


def _walk(element: etree._Element) -> Any:
    children = list(element)
    if not children:
        return element.text
    result: dict[str, Any] = {}
    for child in children:
        value = _walk(child)
        tag = child.tag
        if tag in result:
            previous = result[tag]
            if isinstance(previous, list):
                previous.append(value)
            else:
                result[tag] = [previous, value]
        else:
            result[tag] = value
    return result


def floor(data: bytes) -> Any:
    """``fromstring`` + a generic walk into a dict: the least any parser does."""
    return _walk(etree.fromstring(data))


def _best(func: Any, data: bytes, number: int) -> float:
    seconds = timeit.timeit(lambda: func(data), number=number)
    return seconds / number * 1e6


def main(number: int = 500, repeat: int = 20) -> float:
    """Print µs per document for the floor and parse_response, and the ratio; return it."""
    data = sample_document()
    rs = parse_response(data)
    ret = rs.responses[0].ret
    assert isinstance(ret, InvoiceRet)
    assert len(ret.lines) == 5
    # Warm up both paths (tables, caches), then interleave short measurements
    # so that both see the same machine load; keep the best of each.
    for _ in range(200):
        floor(data)
        parse_response(data)
    floor_times: list[float] = []
    typed_times: list[float] = []
    for _ in range(repeat):
        floor_times.append(_best(floor, data, number))
        typed_times.append(_best(parse_response, data, number))
    floor_us = min(floor_times)
    typed_us = min(typed_times)
    ratio = typed_us / floor_us
    print(f"document: InvoiceAddRs with 5 lines, {len(data):,} bytes")
    print(f"floor (fromstring + walk into dict): {floor_us:8.1f} µs/document")
    print(f"parse_response (typed):             {typed_us:8.1f} µs/document")
    verdict = "OK" if ratio <= TARGET else "OVER TARGET"
    print(f"ratio: {ratio:.2f}x (target <= {TARGET}x) {verdict}")
    return ratio


if __name__ == "__main__":
    main()
