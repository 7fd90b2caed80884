"""
What the builder writes validates against Intuit's official qbXML schemas.

The reference folder holds the official 13.0 and 16.0 schema sets (no 14.0 or
15.0 set is public).  A document declaring 13.0 is checked against 13.0 and one
declaring 16.0 against 16.0; 14.0 and 15.0 documents are checked against 16.0
(14.0-16.0 add nothing to invoices and estimates, and 16.0 accepts everything
14.0 and 15.0 define); older versions are checked against 13.0, whose
aggregates are a superset of theirs (the builder leaves out newer elements).
Each schema set is loaded once per session: they are big.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from qbwc.qbxml import EstimateAdd, InvoiceAdd, build_request, parse_request
from qbwc.qbxml._types import parse_version
from qbwc.testing.strategies import estimate_adds, invoice_adds, request_models, versions
from tests.reference import reference_path

Validator = Callable[[str, bytes], None]


@functools.cache
def official_schema(name: str) -> etree.XMLSchema:
    """The official schema set *name* (``"v13"`` or ``"v16"``), loaded once per session."""
    entry = {"v13": "xsd/v13/qbxmlops130.xsd", "v16": "xsd/v16/qbxmlops160.xsd"}[name]
    return etree.XMLSchema(etree.parse(str(reference_path(entry))))


@pytest.fixture(scope="session")
def official() -> Validator:
    """Validate a document against the official schema for a version (see the module doc)."""

    def check(version: str, document: bytes) -> None:
        name = "v13" if parse_version(version) <= (13, 0) else "v16"
        schema = official_schema(name)
        root = etree.fromstring(document)
        assert schema.validate(root), f"{name}: {schema.error_log}"

    return check


class TestOfficialSchema:
    @given(invoice_adds("13.0"))
    def test_invoices_13(self, official: Validator, model: InvoiceAdd) -> None:
        """Every generated 13.0 invoice validates against qbxmlops130.xsd."""
        official("13.0", build_request([model], version="13.0"))

    @given(estimate_adds("13.0"))
    def test_estimates_13(self, official: Validator, model: EstimateAdd) -> None:
        """Every generated 13.0 estimate validates against qbxmlops130.xsd."""
        official("13.0", build_request([model], version="13.0"))

    @given(request_models("16.0"))
    def test_requests_16(self, official: Validator, model: InvoiceAdd | EstimateAdd) -> None:
        """Every generated 16.0 request validates against qbxmlops160.xsd."""
        official("16.0", build_request([model], version="16.0"))

    @given(st.data())
    def test_every_version(self, official: Validator, data: st.DataObject) -> None:
        """Any supported version: 14.0/15.0 against 16.0, older ones against 13.0."""
        version = data.draw(versions())
        models = data.draw(st.lists(request_models(version), min_size=1, max_size=2))
        message_set_id = data.draw(st.none() | st.text("ABCDEF0123456789", min_size=1, max_size=23))

        document = build_request(
            models, version=version, on_error="continueOnError", message_set_id=message_set_id
        )

        official(version, document)
        assert parse_request(document) == tuple(models)

    @pytest.mark.parametrize("version", ["13.0", "16.0"])
    def test_error_recovery_messages(self, official: Validator, version: str) -> None:
        """The status-check and clear messages of error recovery are schema-valid."""
        status = build_request([], version=version, message_set_id="A1", old_message_set_id="A1")
        clear = build_request([], version=version, old_message_set_id="A1")

        official(version, status)
        official(version, clear)
