"""
Hypothesis strategies for the request models, by name: each is the spec-derived
strategy (:func:`qbwc.testing.strategies.models`) of its model, e.g.
``invoice_adds(version)`` is ``models(InvoiceAdd, version=version)``.

Every value they generate is one that :func:`qbwc.qbxml.build_request` accepts at
the requested version, and that Intuit's official schema accepts (docs/testing.md).
Needs Hypothesis.
"""

from __future__ import annotations

from typing import Any, TypeVar

import attrs
from hypothesis import strategies as st

from qbwc.qbxml._requests import (
    EstimateAdd,
    EstimateLineAdd,
    EstimateLineGroupAdd,
    InvoiceAdd,
    InvoiceLineAdd,
    InvoiceLineGroupAdd,
)
from qbwc.qbxml._types import Address, DataExt, specs
from qbwc.testing._spec_strategies import (
    amounts,
    list_ids,
    models,
    qbxml_text,
    quantities,
    refs,
    versions,
)

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


def addresses(version: str = "13.0") -> st.SearchStrategy[Address]:
    """A bill-to or ship-to address."""
    return models(Address, version=version)


def data_exts() -> st.SearchStrategy[DataExt]:
    """A custom-field value (public ``"0"`` or an application's OwnerID)."""
    return models(DataExt)


def invoice_line_adds(version: str = "13.0") -> st.SearchStrategy[InvoiceLineAdd]:
    """An invoice line valid at *version*."""
    return models(InvoiceLineAdd, version=version)


def invoice_line_group_adds(version: str = "13.0") -> st.SearchStrategy[InvoiceLineGroupAdd]:
    """An invoice group line valid at *version*."""
    return models(InvoiceLineGroupAdd, version=version)


def _at_most(strategy: st.SearchStrategy[T], cls: type, max_lines: int) -> st.SearchStrategy[T]:
    """*strategy* with no more than *max_lines* lines (never fewer than the spec's minimum)."""
    least = dict(specs(cls))["lines"].min_count
    keep = max(least, max_lines)

    def cut(model: Any) -> Any:
        return model if len(model.lines) <= keep else attrs.evolve(model, lines=model.lines[:keep])

    return strategy.map(cut)


def invoice_adds(version: str = "13.0", *, max_lines: int = 6) -> st.SearchStrategy[InvoiceAdd]:
    """An invoice valid at *version*, with up to *max_lines* lines."""
    return _at_most(models(InvoiceAdd, version=version), InvoiceAdd, max_lines)


def estimate_line_adds(version: str = "13.0") -> st.SearchStrategy[EstimateLineAdd]:
    """An estimate line valid at *version*."""
    return models(EstimateLineAdd, version=version)


def estimate_line_group_adds(version: str = "13.0") -> st.SearchStrategy[EstimateLineGroupAdd]:
    """An estimate group line valid at *version*."""
    return models(EstimateLineGroupAdd, version=version)


def estimate_adds(version: str = "13.0", *, max_lines: int = 6) -> st.SearchStrategy[EstimateAdd]:
    """An estimate valid at *version*, with 1 to *max_lines* lines."""
    return _at_most(models(EstimateAdd, version=version), EstimateAdd, max_lines)


def request_models(version: str = "13.0") -> st.SearchStrategy[InvoiceAdd | EstimateAdd]:
    """An InvoiceAdd or an EstimateAdd valid at *version*."""
    return st.one_of(invoice_adds(version), estimate_adds(version))
