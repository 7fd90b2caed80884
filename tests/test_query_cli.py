"""
The tables and JSON lines of ``qbwc query`` / ``qbwc jobs results`` (src/qbwc/cli/_query.py).

Columns are decided from each Ret class's field specs: every Ret class of the
vocabulary gets some (parametrized over all of them); output is streamed, one
chunk of rows at a time; a result of several Ret types gets a TYPE column.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest

from qbwc.cli._query import CHUNK, check_wait, columns_of, result_lines, wait_for
from qbwc.exceptions import ConfigurationError
from qbwc.qbxml._json import _dump
from qbwc.qbxml._types import Kind, specs, vocabulary
from qbwc.store import Job
from qbwc.testing import FakeQuickBooks

_RETS = sorted(name for name in vocabulary().MODELS if name.endswith("Ret"))


@pytest.mark.parametrize("name", _RETS)
def test_every_ret_class_has_columns(name: str) -> None:
    """Each Ret class shows its ListID/TxnID first when it has one, and at most 8 columns."""
    cls = vocabulary().model(name)
    columns = columns_of(cls)
    assert 1 <= len(columns) <= 8
    tags = [tag for tag, _, _ in columns]
    fields = {spec.tag for _, spec in specs(cls)}
    if "ListID" in fields:
        assert tags[0] == "ListID"
    elif "TxnID" in fields:
        assert tags[0] == "TxnID"
    assert all(kind is not Kind.AGG or tag.endswith("Ref") for tag, _, kind in columns)


def test_list_and_transaction_columns() -> None:
    model = vocabulary().model
    assert [t for t, _, _ in columns_of(model("CustomerRet"))] == [
        "ListID", "Name", "TimeModified", "Balance", "TotalBalance",
    ]  # fmt: skip
    assert [t for t, _, _ in columns_of(model("InvoiceRet"))] == [
        "TxnID", "RefNumber", "CustomerRef", "TxnDate", "DueDate",
        "Subtotal", "SalesTaxTotal", "BalanceRemaining",
    ]  # fmt: skip
    assert [t for t, _, _ in columns_of(model("BillRet"))] == [
        "TxnID", "RefNumber", "VendorRef", "TxnDate", "DueDate", "AmountDue", "OpenAmount",
    ]  # fmt: skip


def test_mixed_ret_types_get_a_type_column() -> None:
    """An ItemQuery's answer holds several Ret types: one table, a TYPE column, every row."""
    items = FakeQuickBooks.sample().records("Item")
    lines = list(result_lines(iter(items), "table"))
    assert lines[0].split()[:3] == ["TYPE", "LISTID", "NAME"]
    assert len(lines) == 1 + len(items)
    for line, item in zip(lines[1:], items, strict=True):
        assert line.startswith(type(item).__name__.removesuffix("Ret"))
        assert item.list_id in line


def test_jsonl_is_the_dump_form_of_each_ret() -> None:
    customers = FakeQuickBooks.sample().records("Customer")
    lines = list(result_lines(iter(customers), "jsonl"))
    assert [json.loads(line) for line in lines] == [
        _dump(c, type(c).__name__, with_type=True) for c in customers
    ]


def _endless(rets: tuple[Any, ...], pulled: list[int]) -> Iterator[Any]:
    while True:
        for ret in rets:
            pulled[0] += 1
            yield ret


@pytest.mark.parametrize("fmt", ["table", "jsonl"])
def test_output_streams_one_chunk_at_a_time(fmt: str) -> None:
    """Lines come out before the result ends: at most one chunk of Rets is held."""
    customers = FakeQuickBooks.sample().records("Customer")
    pulled = [0]
    lines = result_lines(_endless(customers, pulled), fmt)
    for _ in range(3 * CHUNK):
        next(lines)
        assert pulled[0] <= 3 * CHUNK + CHUNK
    # The table's heading comes once: the later chunks hold the same Ret type.
    assert pulled[0] >= 3 * CHUNK - 1


@pytest.mark.parametrize("seconds", [-1.0, float("nan"), float("inf"), 86_401.0])
def test_wait_out_of_range(seconds: float) -> None:
    with pytest.raises(ConfigurationError) as info:
        check_wait(seconds)
    assert info.value.field == "wait"


def test_wait_polls_until_done_without_sleeping_for_real() -> None:
    """wait_for asks again until the job is finished or the time is up (a fake clock)."""
    now = [0.0]
    states = iter(["pending", "sent", "done"])

    def get() -> Job:
        at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        return Job(id="1", username="u", request="{}", request_type="CustomerQuery",
                   status=next(states), created_at=at, updated_at=at)  # type: ignore[arg-type]  # fmt: skip

    def sleep(seconds: float) -> None:
        now[0] += seconds

    assert wait_for(get, 10, clock=lambda: now[0], sleep=sleep).status == "done"
    assert now[0] == pytest.approx(1.0)
    states = iter(["pending"] * 100)
    assert wait_for(get, 2, clock=lambda: now[0], sleep=sleep).status == "pending"
