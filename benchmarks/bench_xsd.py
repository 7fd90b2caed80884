"""
Our XML Schema (schemas/qbxml.xsd) over the whole vocabulary: its size, what compiling it
costs (the first ``validate`` in a process), and ``validate`` per document: the InvoiceAdd
of bench_build.py, the smallest instance of every request type and of every Ret, and a
10 MB InvoiceQueryRs (2,500 InvoiceRets of 5 lines).  The floor of each validation is
lxml's ``XMLSchema.validate`` of the already parsed tree (no repertoire or version check),
measured in the same run; the figures are printed, never asserted.

Run: ``python benchmarks/bench_xsd.py``.
"""

from __future__ import annotations

import subprocess
import sys
import timeit
from collections.abc import Callable
from pathlib import Path

from lxml import etree

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for minimal()

import bench_build
import bench_parse
from tests.test_qbxml_generated import _RET_HOMES, minimal

from qbwc._resources import schema_path
from qbwc.qbxml import Response, build_request, parse_response, validate
from qbwc.qbxml._types import vocabulary
from qbwc.qbxml._xsd import _load
from qbwc.testing import build_response

REPEAT = 5


def best_us(function: Callable[[], object], number: int) -> float:
    return min(timeit.repeat(function, number=number, repeat=REPEAT)) / number * 1e6


def compile_ms() -> float:
    """Parse and compile the schema in a fresh process, as the first validate() does."""
    code = (
        "import time; from qbwc.qbxml import _xsd; t = time.perf_counter(); _xsd._load(); "
        "print((time.perf_counter() - t) * 1e3)"
    )
    runs = [
        float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True).stdout)
        for _ in range(REPEAT)
    ]  # fmt: skip
    return min(runs)


def bench_many(what: str, documents: list[bytes]) -> None:
    schema = _load()
    roots = [etree.fromstring(d) for d in documents]
    floor = best_us(lambda: [schema.validate(r) for r in roots], 1) / len(roots)
    ours = best_us(lambda: [validate(d) for d in documents], 1) / len(documents)
    print(f"  {what:<44} {ours:7.1f} us per document  (floor {floor:6.1f} us)")


def main() -> None:
    path = schema_path("qbxml.xsd")
    text = path.read_bytes()
    tree = etree.fromstring(text)
    xs = "{http://www.w3.org/2001/XMLSchema}"
    lines = text.count(b"\n")
    print(f"schemas/qbxml.xsd: {len(text) / 1e6:.2f} MB, {lines:,} lines, "
          f"{len(tree.findall(xs + 'complexType')):,} complex types, "
          f"{len(tree.findall(xs + 'simpleType')):,} simple types")  # fmt: skip
    print(f"  compile (first validate in a process)        {compile_ms():7.1f} ms")

    invoice = build_request([bench_build.make_invoice()])
    bench_many("InvoiceAdd (bench_build.py)", [invoice])
    tables = vocabulary()
    requests = [
        build_request([minimal(tables.model(n))], version="16.0") for n in sorted(tables.REQUESTS)
    ]
    bench_many(f"every request type, smallest ({len(requests)})", requests)
    rets = [
        build_response(
            [Response(name=rs, request_id="1", rets=(minimal(tables.model(n), aware=True),))]
        )
        for n, rs in sorted(_RET_HOMES.items())
    ]
    bench_many(f"every Ret, smallest ({len(rets)})", rets)

    invoice_rs = parse_response(bench_parse.sample_document()).responses[0]
    big = build_response(
        [Response(name="InvoiceQueryRs", request_id="q", rets=[invoice_rs.ret] * 2500)]
    )
    schema = _load()
    root = etree.fromstring(big)
    floor = best_us(lambda: schema.validate(root), 1) / 1000
    ours = best_us(lambda: validate(big), 1) / 1000
    print(f"InvoiceQueryRs, 2,500 InvoiceRets of 5 lines: {len(big) / 1e6:.1f} MB")
    print(f"  validate(bytes)                              {ours:7.1f} ms  "
          f"(schema only, parsed tree: {floor:.1f} ms)")  # fmt: skip


if __name__ == "__main__":
    main()
