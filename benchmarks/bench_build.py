"""
Build an InvoiceAdd request: qbwc's validating builder against a raw-lxml floor.

The document: a customer ref, a date, a ref number, a bill address and 5 lines.
The floor builds the same elements by hand with ``Element``/``SubElement`` and
``tostring`` (no validation at all), measured in the same run.  Also reported:
constructing the models, and the optional check against ``schemas/qbxml.xsd``.

Run: ``python benchmarks/bench_build.py``.
"""

from __future__ import annotations

import datetime as dt
import timeit
from collections.abc import Callable
from decimal import Decimal

from lxml import etree

from qbwc.qbxml import Address, InvoiceAdd, InvoiceLineAdd, Ref, build_request, validate

NUMBER = 2000
REPEAT = 7

_HEAD = b'<?xml version="1.0" encoding="utf-8"?>\n<?qbxml version="13.0"?>\n'
_ADDRESS = (
    ("Addr1", "Acme Corp"),
    ("Addr2", "12 Main St"),
    ("City", "Springfield"),
    ("State", "IL"),
    ("PostalCode", "62701"),
    ("Country", "USA"),
)


def make_invoice() -> InvoiceAdd:
    """The benchmark invoice, built from plain values."""
    return InvoiceAdd(
        customer_ref=Ref(full_name="Acme Corp:Job 7"),
        txn_date=dt.date(2024, 5, 1),
        ref_number="1042",
        bill_address=Address(
            addr1="Acme Corp",
            addr2="12 Main St",
            city="Springfield",
            state="IL",
            postal_code="62701",
            country="USA",
        ),
        lines=[
            InvoiceLineAdd(
                item_ref=Ref(full_name=f"Consulting:Level {n}"),
                desc=f"May retainer, part {n} & support",
                quantity=Decimal(10 + n),
                rate=Decimal("150.50"),
                amount=Decimal(10 + n) * Decimal("150.50"),
            )
            for n in range(1, 6)
        ],
    )


#: The floor's values, already formatted (as the models' values are already built).
_LINES = tuple(
    (
        f"Consulting:Level {n}",
        f"May retainer, part {n} & support",
        str(10 + n),
        "150.5",
        str(Decimal(10 + n) * Decimal("150.50")),
    )
    for n in range(1, 6)
)


def lxml_floor() -> bytes:
    """The same document written by hand with lxml: no checks at all."""
    sub = etree.SubElement
    root = etree.Element("QBXML")
    msgs = sub(root, "QBXMLMsgsRq", onError="stopOnError")
    rq = sub(msgs, "InvoiceAddRq", requestID="1")
    invoice = sub(rq, "InvoiceAdd")
    customer = sub(invoice, "CustomerRef")
    sub(customer, "FullName").text = "Acme Corp:Job 7"
    sub(invoice, "TxnDate").text = "2024-05-01"
    sub(invoice, "RefNumber").text = "1042"
    address = sub(invoice, "BillAddress")
    for tag, value in _ADDRESS:
        sub(address, tag).text = value
    for item_name, desc, quantity, rate, amount in _LINES:
        line = sub(invoice, "InvoiceLineAdd")
        item = sub(line, "ItemRef")
        sub(item, "FullName").text = item_name
        sub(line, "Desc").text = desc
        sub(line, "Quantity").text = quantity
        sub(line, "Rate").text = rate
        sub(line, "Amount").text = amount
    return _HEAD + etree.tostring(root)


def best_us(function: Callable[[], object]) -> float:
    """Best-of-REPEAT time of one call, in microseconds."""
    return min(timeit.repeat(function, number=NUMBER, repeat=REPEAT)) / NUMBER * 1e6


def _c14n(data: bytes) -> bytes:
    return etree.tostring(etree.fromstring(data), method="c14n")


def main() -> None:
    """Print µs per document for each path and the ratio to the lxml floor."""
    invoice = make_invoice()
    document = build_request([invoice])
    if _c14n(document) != _c14n(lxml_floor()):
        msg = "the builder and the floor wrote different documents"
        raise SystemExit(msg)
    root = etree.fromstring(document)
    for _ in range(200):  # warm up plans, caches and the schema
        build_request([invoice])
        validate(document)

    floor = best_us(lxml_floor)
    build = best_us(lambda: build_request([invoice]))
    construct = best_us(make_invoice)
    end_to_end = best_us(lambda: build_request([make_invoice()]))
    check_bytes = best_us(lambda: validate(document))
    check_tree = best_us(lambda: validate(root))

    print(f"InvoiceAdd, 5 lines: {len(document):,} bytes, best of {REPEAT} x {NUMBER:,}")
    print(f"  raw lxml floor (Element/SubElement + tostring)  {floor:7.1f} us")
    print(f"  build_request (validated, from models)          {build:7.1f} us  "
          f"{build / floor:.2f}x floor  (target <= 1.00x)")
    print(f"  model construction (InvoiceAdd + 5 lines)       {construct:7.1f} us")
    print(f"  construction + build_request                     {end_to_end:7.1f} us  "
          f"{end_to_end / floor:.2f}x floor")
    print(f"  validate(bytes) against schemas/qbxml.xsd        {check_bytes:7.1f} us  "
          "(target <= 25 us per request)")
    print(f"  validate(parsed tree)                            {check_tree:7.1f} us")


if __name__ == "__main__":
    main()
