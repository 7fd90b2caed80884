"""
Answers that do not answer what was asked, for the reads and pages of docs/queries.md,
replayed through the service with FakeQuickBooks and a Web Connector driven one call at
a time (tests/rig.py).
"""

from __future__ import annotations

import re
from typing import Any

from qbwc.protocol import Done, RequestXML
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


class TestPageTooLarge:
    def test_page_over_max_body_bytes_fails_after_max_attempts(self) -> None:
        """
        A page larger than max_body_bytes is refused (413) each time QuickBooks' answer
        comes; the query used to be asked again at every sync forever. It now fails
        after max_attempts sends with code ``lost``, naming page_size and
        max_body_bytes, and the account's later jobs go out.
        """
        rig = Rig(max_body_bytes=100_000)
        rig.qb.seed(Customer=[{"name": f"Customer {n:04d}"} for n in range(1000)])
        query = rig.service.enqueue(USER, model("CustomerQuery"), page_size=1000)
        for _ in range(rig.service.max_attempts + 1):
            rig.clock.advance(3600)  # a later sync
            rig.run()
        job = rig.job(query)
        assert job.status == "failed", job
        assert job.error is not None
        assert job.error.code == "lost"
        assert job.attempts == rig.service.max_attempts
        assert "page_size" in job.error.message
        assert "max_body_bytes (100,000 bytes)" in job.error.message
        # Enqueued again with a page that fits: every record once, and the account moves on.
        again = rig.service.enqueue(USER, model("CustomerQuery"), page_size=100)
        rig.clock.advance(3600)
        rig.run()
        job = rig.job(again)
        assert job.status == "done", job.error
        ids = [ret.list_id for ret in rig.service.query_results(again.id)]
        assert len(ids) == len(set(ids)) == len(rig.qb.records("Customer"))


class TestIteratorForged:
    def test_continue_answered_with_another_iterator_id(self) -> None:
        """
        A page's answer names another iteratorID than the one the service continued
        (forged, or an iterator of another query or account). Its records are not
        recorded, the service never continues that iterator, and starts its own again:
        every record once, in QuickBooks' order.
        """
        rig = Rig()
        rig.qb.seed(Customer=[{"name": f"Customer {n:04d}"} for n in range(9)])
        query = rig.service.enqueue(USER, model("CustomerQuery"), page_size=2)
        wc = DirectWC(rig)
        wc.authenticate()
        forged = "{0BADF00D-0000-4000-8000-000000000000}"
        sent: list[str] = []
        for rounds in range(1, 60):
            if not isinstance(wc.request(), RequestXML):
                break
            sent.append(wc.qbxml)
            wc.run_quickbooks()
            if rounds == 3:
                assert 'iterator="Continue"' in wc.qbxml
                wc.response = re.sub(r'iteratorID="[^"]*"', f'iteratorID="{forged}"', wc.response)
            if isinstance(wc.answer(), Done):
                break
        job = rig.job(query)
        assert job.status == "done", job
        assert not any(forged in qbxml for qbxml in sent)
        ids = [ret.list_id for ret in rig.service.query_results(query.id)]
        assert ids == [record.list_id for record in rig.qb.records("Customer")]
