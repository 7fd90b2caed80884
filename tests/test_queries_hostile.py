"""
Answers that do not answer what was asked, for the reads and pages of docs/queries.md,
replayed through the service with FakeQuickBooks and a Web Connector driven one call at
a time (tests/rig.py).
"""

from __future__ import annotations

from typing import Any

from qbwc import Done, RequestXML
from qbwc.qbxml._types import vocabulary
from tests.rig import USER, DirectWC, Rig


def model(type_name: str, /, **fields: Any) -> Any:
    return vocabulary().model(type_name)(**fields)


def customer_id(rig: Rig, name: str) -> str:
    return next(c.list_id for c in rig.qb.records("Customer") if c.name == name)


def edit_sequence(rig: Rig, list_id: str) -> str:
    return next(c.edit_sequence for c in rig.qb.records("Customer") if c.list_id == list_id)


class TestModReadNamesAnotherObject:
    def test_read_answered_for_another_customer_is_not_used(self) -> None:
        """
        The read before a Mod is answered with another customer's ListID and EditSequence
        (an answer swapped or forged): its EditSequence is not used for this Mod; the
        job fails naming both IDs, and no Mod is sent.
        """
        rig = Rig()
        acme = customer_id(rig, "Acme Corp")
        other = next(c for c in rig.qb.records("Customer") if c.list_id != acme)
        job = rig.service.enqueue(USER, model("CustomerMod", list_id=acme, company_name="Acme Ltd"))
        wc = DirectWC(rig)
        wc.authenticate()
        assert isinstance(wc.request(), RequestXML)
        assert "<CustomerQueryRq" in wc.qbxml
        assert acme in wc.qbxml
        wc.run_quickbooks()
        assert acme in wc.response
        wc.response = wc.response.replace(acme, other.list_id).replace(
            f"<EditSequence>{edit_sequence(rig, acme)}<",
            f"<EditSequence>{other.edit_sequence}<",
        )
        if not isinstance(wc.answer(), Done):
            reply = wc.request()
            assert not (isinstance(reply, RequestXML) and "CustomerModRq" in reply.qbxml)
        done = rig.job(job)
        assert done.status == "failed", done
        assert done.error is not None
        assert acme in done.error.message
        assert other.list_id in done.error.message
        assert done.error.code == "mismatch"
        assert next(c for c in rig.qb.records("Customer") if c.list_id == acme).company_name != (
            "Acme Ltd"
        )
