"""
What ``qbwc query``, ``qbwc jobs results`` and their manage.py twins share.

A query's records as a table or as JSON lines, streamed from
``service.query_results`` (one chunk of rows in memory, never the whole result),
and the waiting for a query to be done (docs/service.md, "Command line";
docs/queries.md, "From the command line").
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, Final, TextIO

from qbwc.exceptions import ConfigurationError
from qbwc.qbxml._types import Kind, Ref, specs
from qbwc.store import Job

__all__ = [
    "FORMATS",
    "check_one_query",
    "check_wait",
    "columns_of",
    "not_ready",
    "print_results",
    "read_requests",
    "result_lines",
    "run_query",
    "wait_for",
]

#: The output formats of ``--format``.
FORMATS: Final = ("table", "jsonl")

#: Rows of a table aligned together (and kept in memory) at most.
CHUNK: Final = 500

#: The Ref fields that name who a transaction is with, by preference.
_ENTITY_REFS: Final = ("CustomerRef", "VendorRef", "EntityRef", "PayeeEntityRef", "EmployeeRef")
#: The dates a table shows (a list object without them: TimeModified).
_DATES: Final = ("TxnDate", "DueDate")
#: The amounts a table shows: totals, balances, what is due or open (not in home currency).
_AMOUNT: Final = re.compile(r"(Total|Balance|^Amount$|AmountDue$|OpenAmount$|^Subtotal$)")
_MAX_AMOUNTS: Final = 3
_MAX_OTHER: Final = 4
_MAX_NESTED: Final = 8
_CELL_WIDTH: Final = 40
_POLL_SECONDS: Final = 0.5
#: The longest --wait: a day.
MAX_WAIT: Final = 86_400.0

Column = tuple[str, tuple[str, ...], Kind]  # (tag, attribute path, kind)

_COLUMNS: dict[type, tuple[Column, ...]] = {}


def columns_of(cls: type) -> tuple[Column, ...]:
    """
    The table columns of a Ret class, decided from its field specs.

    Its ListID or TxnID; NAME (its FullName, else its Name); RefNumber; who a transaction is
    with (CustomerRef, VendorRef...: its FullName); TxnDate and DueDate (a list
    object: TimeModified); up to three totals and balances.  A Ret with none
    of these (HostRet, CompanyRet...) shows its first four plain fields, and one
    with aggregates only (BillToPayRet, PreferencesRet) the columns of those.
    """
    try:
        return _COLUMNS[cls]
    except KeyError:
        pass
    plain = {s.tag: (name, s) for name, s in specs(cls) if not s.many and not s.attribute}
    chosen: list[Column] = []

    def add(tag: str) -> bool:
        if tag not in plain:
            return False
        name, spec = plain[tag]
        chosen.append((tag, (name,), spec.kind))
        return True

    for tag in ("ListID", "TxnID"):
        if add(tag):
            break
    # One NAME column: the FullName ("Parent:Child") where the type has one, else its Name.
    for tag in ("FullName", "Name"):
        if tag in plain:
            chosen.append(("Name", (plain[tag][0],), Kind.STR))
            break
    add("RefNumber")
    for tag in _ENTITY_REFS:
        spec = plain[tag][1] if tag in plain else None
        if spec is not None and Ref in spec.model:
            add(tag)
            break
    dates = [add(tag) for tag in _DATES]
    if not any(dates):
        add("TimeModified")
    amounts = [
        tag
        for tag, (_, spec) in plain.items()
        if spec.kind is Kind.AMT and _AMOUNT.search(tag) and not tag.endswith("HomeCurrency")
    ]
    for tag in amounts[:_MAX_AMOUNTS]:
        add(tag)
    if not chosen:
        for tag, (_, spec) in plain.items():
            if spec.kind is not Kind.AGG and len(chosen) < _MAX_OTHER:
                add(tag)
    if not chosen:
        for name, spec in plain.values():
            if spec.kind is Kind.AGG and len(spec.model) == 1 and spec.model[0] is not Ref:
                inner = columns_of(spec.model[0])
                chosen.extend((t, (name, *path), kind) for t, path, kind in inner)
        del chosen[_MAX_NESTED:]
    _COLUMNS[cls] = tuple(chosen)
    return _COLUMNS[cls]


def _value(ret: Any, path: tuple[str, ...]) -> Any:
    for name in path:
        if ret is None:
            return None
        ret = getattr(ret, name)
    return ret


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Ref):
        return value.full_name or value.list_id or ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return f"{value:.2f}" if value == value.quantize(Decimal("0.01")) else str(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    text = " ".join(str(value).split())
    return text if len(text) <= _CELL_WIDTH else text[: _CELL_WIDTH - 3] + "..."


def _kind_name(cls: type) -> str:
    name = cls.__name__
    return name[: -len("Ret")] if name.endswith("Ret") else name


def _table(rets: list[Any], heading: bool) -> list[str]:
    """*rets* as aligned columns: the union of their classes' columns (TYPE when mixed)."""
    classes = list(dict.fromkeys(type(ret) for ret in rets))
    columns: dict[str, tuple[int, ...]] = {}
    for cls in classes:
        for tag, _, kind in columns_of(cls):
            columns.setdefault(tag, (kind is Kind.AMT,))
    mixed = len(classes) > 1
    head = (["TYPE"] if mixed else []) + [_heading(tag) for tag in columns]
    right = ([False] if mixed else []) + [bool(flags[0]) for flags in columns.values()]
    rows: list[list[str]] = [head] if heading else []
    for ret in rets:
        found: dict[str, Any] = {}
        for tag, path, _ in columns_of(type(ret)):
            value = _value(ret, path)
            if value is not None:  # of two aggregates of a choice, the one present
                found[tag] = value
        row = [_kind_name(type(ret))] if mixed else []
        row += [_cell(found.get(tag)) for tag in columns]
        rows.append(row)
    widths = [max(len(row[i]) for row in [head, *rows]) for i in range(len(head))]
    return [
        "  ".join(
            cell.rjust(width) if flush else cell.ljust(width)
            for cell, width, flush in zip(row, widths, right, strict=True)
        ).rstrip()
        for row in rows
    ]


def _heading(tag: str) -> str:
    """A column's heading: its qbXML tag, a Ref without its "Ref", in capitals."""
    return (tag[: -len("Ref")] if tag.endswith("Ref") else tag).upper()


def result_lines(rets: Iterable[Any], fmt: str) -> Iterator[str]:
    """
    The lines that show *rets*: a table (aligned per chunk of rows) or JSON lines.

    JSON lines are the ``qbwc.qbxml.dump`` form of each Ret (``"type"``, decimals
    as strings).  The
    table's heading is repeated only when a chunk brings other columns.
    """
    if fmt == "jsonl":
        # The JSON form of qbwc.qbxml.dump (docs/qbxml.md), which dump() keeps for requests.
        from qbwc.qbxml._json import _dump  # noqa: PLC0415

        for ret in rets:
            data = _dump(ret, type(ret).__name__, with_type=True)
            yield json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        return
    chunk: list[Any] = []
    shown: tuple[type, ...] | None = None
    for ret in rets:
        chunk.append(ret)
        if len(chunk) == CHUNK:
            yield from _chunk_lines(chunk, shown)
            shown = tuple(dict.fromkeys(type(r) for r in chunk))
            chunk = []
    if chunk:
        yield from _chunk_lines(chunk, shown)


def _chunk_lines(chunk: list[Any], shown: tuple[type, ...] | None) -> list[str]:
    now = tuple(dict.fromkeys(type(r) for r in chunk))
    return _table(chunk, heading=shown is None or set(now) != set(shown))


def read_requests(
    file: str, stdin: TextIO, *, key: str | None = None, page_size: int | None = None
) -> list[Any]:
    """
    The request models of the JSON file *file* ('-': *stdin*), all checked.

    Raises:
        ConfigurationError: *file* cannot be read or is not JSON (field ``file``);
            *key* with more than one request; a *page_size* a request cannot take.
        QBXMLValidationError: a request breaks a qbXML rule (naming its field).
    """
    from qbwc.qbxml._json import load  # noqa: PLC0415
    from qbwc.service._paging import check_page_size  # noqa: PLC0415

    try:
        text = stdin.read() if file == "-" else Path(file).read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise ConfigurationError("file", f"cannot read {file}: {reason or exc}") from None
    try:
        # Floats stay floats, so that load() refuses them by field, as qbwc build
        # does: money is Decimal, written as a string ("150.00").
        data = json.loads(text)
    except ValueError as exc:
        raise ConfigurationError("file", f"{file} is not JSON: {exc}") from None
    items = data if isinstance(data, list) else [data]
    if key is not None and len(items) != 1:
        raise ConfigurationError("key", "needs a file with one request")
    models = [load(item) for item in items]
    for model in models:
        check_page_size(model, page_size)
    return models


def check_one_query(file: str, models: list[Any], enqueue: str) -> None:
    """*models* is one query (*enqueue*: the command that queues anything else)."""
    if len(models) != 1 or not type(models[0]).__name__.endswith("Query"):
        names = ", ".join(type(model).__name__ for model in models) or "nothing"
        rule = f"{file} holds {names}: give one query ({enqueue} queues any request)"
        raise ConfigurationError("file", rule)


def check_wait(seconds: float | None) -> float:
    """``--wait`` in seconds (None: 0, do not wait)."""
    if seconds is None:
        return 0.0
    if not (0 <= seconds <= MAX_WAIT):  # also refuses nan
        rule = f"{seconds} is not from 0 to {MAX_WAIT:,.0f} seconds"
        raise ConfigurationError("wait", rule)
    return seconds


def wait_for(
    get: Callable[[], Job],
    seconds: float,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Job:
    """The job *get* returns, again every half second until it is finished or *seconds* pass."""
    deadline = clock() + seconds
    job = get()
    while job.status in ("pending", "sent") and clock() < deadline:
        sleep(max(0.0, min(_POLL_SECONDS, deadline - clock())))
        job = get()
    return job


def not_ready(job: Job, command: str) -> str | None:
    """
    Why *job*'s results cannot be shown yet (or at all), or None when they can.

    *command* is how the user runs ``jobs results`` (``qbwc jobs`` or
    ``manage.py qbwc_jobs``), for the advice.
    """
    if not job.is_query:
        return f"job {job.id} is a {job.request_type}, not a query: it has no results"
    if job.status == "done":
        return None
    so_far = f"{job.records} record{'' if job.records == 1 else 's'} so far"
    if job.status in ("pending", "sent"):
        return (
            f"job {job.id} ({job.request_type}) is {job.status}, {so_far}: it runs at the next "
            f"Web Connector sync; then {command} results {job.id} shows its records"
        )
    reason = ""
    if job.error is not None:
        reference = f" [{job.error.reference}]" if job.error.reference else ""
        reason = f" ({job.error.code}: {job.error.message}{reference})"
    again = f"{command} retry {job.id} runs it again"
    if job.status == "cancelled":
        again = "queue it again to run it"
    return f"job {job.id} ({job.request_type}) is {job.status}{reason}, with {so_far}: {again}"


def run_query(
    service: Any,
    file: str,
    models: list[Any],
    *,
    user: str,
    options: dict[str, Any],
    write: Callable[[str], None],
    say: Callable[[str], None],
    tool: str,
) -> None:
    """
    ``query``: queue the one query of *models* (or find it by key), print its records when done.

    *options* holds ``key``, ``page_size``, ``wait`` and ``format``; *write* prints
    a line of the result, *say* a line about it (stderr); *tool* is how the user runs
    the commands (``qbwc `` or ``manage.py qbwc_``), for the advice.
    """
    wait = check_wait(options["wait"])
    check_one_query(file, models, f"{tool}enqueue")
    job = service.enqueue(user, models[0], key=options["key"], page_size=options["page_size"])
    later = f"{tool}jobs results {job.id}"
    if job.status in ("pending", "sent") and wait == 0:
        say(
            f"job {job.id} ({job.request_type} for {job.username!r}) is queued: it runs at "
            f"the next Web Connector sync; then {later} prints its records"
        )
        return

    def current() -> Job:
        found: Job | None = service.job(job.id)
        if found is None:  # pruned meanwhile
            raise ConfigurationError("job_id", f"no job {job.id}")
        return found

    job = wait_for(current, wait)
    if job.status in ("pending", "sent"):
        rule = (
            f"job {job.id} is still {job.status} after {wait:g} seconds ({job.records} records "
            f"so far): is the Web Connector running? {later} prints its records once it is done"
        )
        raise ConfigurationError("wait", rule)
    print_results(service, job, options["format"], write, tool)


def print_results(
    service: Any, job: Job, fmt: str, write: Callable[[str], None], tool: str
) -> None:
    """
    *write* each line of a done query's records (streamed: one chunk in memory).

    Raises:
        ConfigurationError: *job* is no query, or not done (field ``job_id``).
    """
    why = not_ready(job, f"{tool}jobs")
    if why is not None:
        raise ConfigurationError("job_id", why)
    for line in result_lines(service.query_results(job.id), fmt):
        write(line)
