"""
Maximum lengths per edition of QuickBooks Desktop (US, CA, UK, AU): Intuit's
annotations give some fields a different limit per edition (a sales tax code:
3 characters, 6 in Australia); ``build_request(..., edition=)`` and
``render_request(..., edition=)`` check the edition's (docs/qbxml.md).
"""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from qbwc.exceptions import QBXMLValidationError
from qbwc.qbxml import (
    EDITIONS,
    CustomerAdd,
    EstimateAdd,
    InvoiceAdd,
    InvoiceLineAdd,
    Ref,
    _models,
    build_request,
    render_request,
)
from qbwc.qbxml._types import Kind, Spec, choice_path, specs
from tests.test_qbxml_generated import minimal


def _limits(spec: Spec) -> dict[str, int]:
    assert spec.max_len is not None
    return {"US": spec.max_len, **dict(spec.lengths)}


def _each(spec: Spec) -> str:
    limits = _limits(spec)
    return ", ".join(f"{e} {limits.get(e, spec.max_len)}" for e in EDITIONS)


# --- the table: every request-side field whose limit differs between editions ---


def request_side() -> list[type]:
    """Every model a request can hold (the request models and what they nest), by name."""
    seen: dict[str, type] = {}
    todo = [_models.model(n) for n in _models.REQUESTS]
    while todo:
        cls = todo.pop()
        if cls.__name__ in seen or cls is Ref:
            continue
        seen[cls.__name__] = cls
        todo += [child for _, spec in specs(cls) for child in spec.model]
    return [seen[n] for n in sorted(seen)]


def _request_side_fields() -> list[tuple[str, str]]:
    return [
        (cls.__name__, field)
        for cls in request_side()
        for field, spec in specs(cls)
        if spec.lengths
    ]


FIELDS = _request_side_fields()


def _route(target: type) -> list[tuple[type, str]]:
    """(class, field) steps from a request model down to a field holding *target*."""
    queue: list[tuple[type, list[tuple[type, str]]]] = [
        (_models.model(n), []) for n in sorted(_models.REQUESTS)
    ]
    seen: set[type] = set()
    while queue:
        cls, steps = queue.pop(0)
        if cls is target:
            return steps
        if cls in seen:
            continue
        seen.add(cls)
        for field, spec in specs(cls):
            for child in spec.model:
                if child is not Ref:
                    queue.append((child, [*steps, (cls, field)]))
    raise AssertionError(f"no request holds {target.__name__}")  # pragma: no cover


def _with(obj: Any, field: str, value: Any) -> Any:
    """*obj* with *field* set to *value* and the other alternatives of its choices cleared."""
    fields = dict(specs(type(obj)))
    mine = dict(choice_path(field, fields[field].choice))
    changes: dict[str, Any] = {}
    for other, spec in fields.items():
        theirs = dict(choice_path(other, spec.choice))
        if any(g in theirs and theirs[g] != a for g, a in mine.items()):
            changes[other] = () if spec.many else None
    changes[field] = (value,) if fields[field].many else value
    return attrs.evolve(obj, **changes)


def _request(name: str, field: str, value: Any) -> tuple[Any, str]:
    """A request whose model *name* has *field* = *value*, and the path of that field."""
    cls = next(c for c in request_side() if c.__name__ == name)
    obj = _with(minimal(cls), field, value)
    route = _route(cls)
    for parent, step in reversed(route):
        obj = _with(minimal(parent), step, obj)
    steps = [
        f"{step}[0]" if dict(specs(parent))[step].many else step for parent, step in route
    ]
    top = route[0][0].__name__ if route else name
    return obj, ".".join([top, *steps, field])


@pytest.mark.parametrize(("name", "field"), FIELDS)
def test_every_field_with_per_edition_limits(name: str, field: str) -> None:
    """At each edition's limit a request builds; one more character: field, edition, limit."""
    spec = dict(specs(_models.model(name)))[field]
    for edition in EDITIONS:
        limit = _limits(spec).get(edition, spec.max_len)
        assert limit is not None

        def value(n: int) -> Any:
            return Ref(full_name="x" * n) if spec.kind is Kind.AGG else "x" * n

        fits, _ = _request(name, field, value(limit))
        build_request([fits], version="16.0", edition=edition)
        too_long, path = _request(name, field, value(limit + 1))
        if spec.kind is Kind.AGG:
            path += ".full_name"
        with pytest.raises(QBXMLValidationError) as caught:
            build_request([too_long], version="16.0", edition=edition)
        assert (caught.value.path, caught.value.rule) == (
            path,
            f"{limit + 1} characters, at most {limit} for the {edition} edition ({_each(spec)})",
        )


def test_the_table_covers_the_sales_documents() -> None:
    names = {n for n, _ in FIELDS}
    assert {"InvoiceLineAdd", "EstimateLineAdd", "SalesReceiptLineAdd", "CustomerAdd"} <= names
    assert len(FIELDS) >= 60


# --- the messages, on several generated types ---


def _line_with_code(code: str) -> InvoiceAdd:
    line = InvoiceLineAdd(item_ref=Ref(full_name="Labor"), sales_tax_code_ref=Ref(full_name=code))
    return InvoiceAdd(customer_ref=Ref(full_name="Acme"), lines=[line])


def test_an_australian_tax_code_is_refused_in_the_us_edition() -> None:
    invoice = _line_with_code("GST-FR")
    assert b"<FullName>GST-FR</FullName>" in build_request([invoice], edition="AU")
    with pytest.raises(QBXMLValidationError) as caught:
        build_request([invoice])  # the default edition is US
    assert (caught.value.path, caught.value.rule) == (
        "InvoiceAdd.lines[0].sales_tax_code_ref.full_name",
        "6 characters, at most 3 for the US edition (US 3, CA 3, UK 3, AU 6)",
    )


@pytest.mark.parametrize(
    ("model", "edition", "path", "rule"),
    [
        (CustomerAdd(name="Acme", resale_number="1" * 16), "US", "CustomerAdd.resale_number",
         "16 characters, at most 15 for the US edition (US 15, CA 21, UK 21, AU 21)"),
        (CustomerAdd(name="Acme", resale_number="1" * 22), "UK", "CustomerAdd.resale_number",
         "22 characters, at most 21 for the UK edition (US 15, CA 21, UK 21, AU 21)"),
        (EstimateAdd(customer_ref=Ref(full_name="Acme"),
                     customer_sales_tax_code_ref=Ref(full_name="GST-FRE")), "AU",
         "EstimateAdd.customer_sales_tax_code_ref.full_name",
         "7 characters, at most 6 for the AU edition (US 3, CA 3, UK 3, AU 6)"),
        # A limit that is the same everywhere: the edition is named, not the table.
        (CustomerAdd(name="x" * 42), "CA", "CustomerAdd.name",
         "42 characters, at most 41 for the CA edition"),
        (CustomerAdd(name="x" * 42), "US", "CustomerAdd.name", "42 characters, at most 41"),
    ],
)  # fmt: skip
def test_the_message_names_field_edition_and_limit(
    model: Any, edition: str, path: str, rule: str
) -> None:
    with pytest.raises(QBXMLValidationError) as caught:
        build_request([model], version="16.0", edition=edition)
    assert (caught.value.path, caught.value.rule) == (path, rule)


def test_a_canadian_resale_number_builds_in_canada_only() -> None:
    customer = CustomerAdd(name="Acme", resale_number="1" * 21)
    assert b"<ResaleNumber>" + b"1" * 21 in build_request([customer], edition="CA")
    with pytest.raises(QBXMLValidationError):
        build_request([customer], edition="US")


def test_parse_request_reads_with_the_edition() -> None:
    from qbwc.qbxml import parse_request

    invoice = _line_with_code("GST-FR")
    document = build_request([invoice], edition="AU")
    assert parse_request(document, edition="AU") == (invoice,)
    with pytest.raises(QBXMLValidationError) as caught:
        parse_request(document)  # US, as build_request
    rule = "6 characters, at most 3 for the US edition (US 3, CA 3, UK 3, AU 6)"
    assert caught.value.rule == rule


@pytest.mark.parametrize("edition", EDITIONS)
def test_render_request_checks_the_edition_too(edition: str) -> None:
    invoice = _line_with_code("GST-FR")
    if edition == "AU":
        text = render_request(invoice, edition=edition)
        assert "<FullName>GST-FR</FullName>" in text
        assert text.encode() in build_request([invoice], edition=edition)
    else:
        with pytest.raises(QBXMLValidationError, match=f"for the {edition} edition"):
            render_request(invoice, edition=edition)


@pytest.mark.parametrize("edition", ["", "us", "NZ", "QBAU", None, 3])
def test_an_unknown_edition_is_refused(edition: object) -> None:
    invoice = _line_with_code("S")
    for call in (
        lambda: build_request([invoice], edition=edition),  # type: ignore[arg-type]
        lambda: render_request(invoice, edition=edition),  # type: ignore[arg-type]
    ):
        with pytest.raises(QBXMLValidationError) as caught:
            call()
        assert (caught.value.path, caught.value.rule) == (
            "edition",
            f"{edition!r} is not a QuickBooks edition (one of US, CA, UK, AU)",
        )


# --- the command line: qbwc build --edition ---


def test_qbwc_build_takes_the_edition(
    tmp_path: Any, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    import json

    from qbwc.cli import main
    from qbwc.qbxml import dump, parse_request

    invoice = _line_with_code("GST-FR")
    source = tmp_path / "gst.json"
    source.write_text(json.dumps(dump(invoice)))

    assert main(["build", str(source), "--version", "16.0", "--edition", "AU"]) == 0
    assert parse_request(capsysbinary.readouterr().out, edition="AU") == (invoice,)

    assert main(["build", str(source), "--version", "16.0"]) == 1
    err = capsysbinary.readouterr().err.decode()
    assert err == (
        f"qbwc build: {source}: InvoiceAdd.lines[0].sales_tax_code_ref.full_name: "
        "6 characters, at most 3 for the US edition (US 3, CA 3, UK 3, AU 6)\n"
    )

    with pytest.raises(SystemExit) as exited:
        main(["build", str(source), "--edition", "NZ"])
    assert exited.value.code == 2
    err = capsysbinary.readouterr().err.decode()
    assert "invalid choice: 'NZ'" in err
    assert "Traceback" not in err
