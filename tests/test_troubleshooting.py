"""
Every situation in ``docs/troubleshooting.md``, replayed.

Each test plays what the user did (through the Web Connector double, the real
SOAP codec and the WSGI application, in front of FakeQuickBooks), checks what
the library did, the exact text the user saw, and that the way out given in
the page works.  ``TestThePage`` keeps the page and these tests in step: every
test the page names exists, and every text the page quotes is the one the
replays produce.
"""

from __future__ import annotations

import logging
import re
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any
from unittest.mock import ANY

import pytest

from qbwc import WebConnectorService
from qbwc.protocol import Goodbye
from qbwc.qbxml import InvoiceMod, build_request, parse_response
from qbwc.qbxml._requests import InvoiceAdd, InvoiceLineAdd
from qbwc.qbxml._responses import InvoiceRet
from qbwc.qbxml._types import Ref
from qbwc.store import Job, MemoryStore
from qbwc.testing import (
    ChangePassword,
    FailConnection,
    FakeQuickBooks,
    FakeWebConnector,
    FaultInjector,
    LoseQuickBooksResponse,
    OpenCompanyFile,
    RequestProcessorError,
)
from qbwc.wsgi import make_wsgi_app

PAGE = Path(__file__).resolve().parents[1] / "docs" / "troubleshooting.md"
OWNER = uuid.UUID("8B9C0D1E-2F3A-4B5C-8D6E-7F8091A2B3C4")
USER = "kristy@example.com"
PASSWORD = "first password"
APP = "Acme Billing"
REF = r"QBWC-[2-9A-HJ-NP-Z]{6}"
FILES = r"C:\\Users\\Public\\Documents\\Intuit\\QuickBooks\\Company Files\\"

#: What the user reads, exactly (``{ref}`` is a support reference; ``{dir}`` the
#: company-file folder).  The page quotes each with ``QBWC-7F3K2Q`` and ``C:\...\``.
TEXTS = {
    "nvu": "Invalid password for username",
    "nvu-closed": (
        "Invalid password for username: Acme Billing refused the user name or password. Type the "
        "current password in the Web Connector's Password column and run the update again. ({ref})"
    ),
    "closed": "Connection Closed: 1 done, 0 failed.",
    "closed-3140": "Connection Closed: 1 done, 1 failed. See Acme Billing for the failed ones.",
    "wrong-file": (
        'QuickBooks has the company file "Larkspur Landscaping 2025" ({dir}Larkspur Landscaping '
        '2025.QBW) open, but Acme Billing is linked to "Larkspur Landscaping" ({dir}Larkspur '
        'Landscaping.QBW). Nothing was sent. Open "Larkspur Landscaping" ({dir}Larkspur '
        'Landscaping.QBW) and run the update again. To use "Larkspur Landscaping 2025" ({dir}'
        'Larkspur Landscaping 2025.QBW) from now on instead, choose "Disconnect" in Acme '
        "Billing, then run the update again. ({ref})"
    ),
    "not-set-up": (
        'The company file "Larkspur Landscaping 2025" ({dir}Larkspur Landscaping 2025.QBW) has '
        "not been set up for Acme Billing. Nothing was sent. Open the company file you use with "
        "Acme Billing, or add Acme Billing's QWC file to the Web Connector while this company "
        "file is open. ({ref})"
    ),
    "other-qwc": (
        'The company file "Larkspur Landscaping 2025" ({dir}Larkspur Landscaping 2025.QBW) was '
        "set up with another QWC file for Acme Billing. Nothing was sent. Download the current "
        "QWC file from Acme Billing, add it to the Web Connector, and run the update again. "
        "({ref})"
    ),
    "qbwc1039": "QBWC1039: Unique OwnerID/FileID pair value required",
    "3140": (
        'There is an invalid reference to QuickBooks Customer "Pinecrest HOA" in the Invoice.  '
        "QuickBooks error message: Invalid argument.  The specified record does not exist in "
        "the list."
    ),
    "lost": "Error: the Web Connector stopped before returning QuickBooks' response",
    "not-started": (
        "QuickBooks could not be started. Open QuickBooks and the company file, then run the "
        "update again. Nothing is lost: the next update continues. (QuickBooks said: 0x80040408 "
        "Could not start QuickBooks.) ({ref})"
    ),
}


def shown(key: str) -> re.Pattern[str]:
    """The text *key* as a regex (references and the folder as placeholders)."""
    pattern = re.escape(TEXTS[key]).replace(r"\{ref\}", REF).replace(r"\{dir\}", FILES)
    return re.compile(pattern)


class Clock:
    def __init__(self) -> None:
        self.now = 1_767_225_600.0

    def __call__(self) -> float:
        return self.now


def invoice(ref: str, customer: str = "Acme Corp") -> InvoiceAdd:
    line = InvoiceLineAdd(item_ref=Ref(full_name="Consulting"), quantity=Decimal(2))
    return InvoiceAdd(customer_ref=Ref(full_name=customer), ref_number=ref, lines=[line])


class Office:
    """The host's service, the bookkeeper's QuickBooks and Web Connector."""

    def __init__(self) -> None:
        self.clock = Clock()
        self.store = MemoryStore()
        self.service = self.new_service()
        self.service.add_account(USER, PASSWORD)
        self.qb = FakeQuickBooks.sample(company_name="Larkspur Landscaping")
        self.wc = FakeWebConnector(make_wsgi_app(self.service), self.qb)
        self.wc.add_application(self.qwc(), password=PASSWORD)
        self.faults = FaultInjector(self.wc, service=self.service, new_service=self.new_service)

    def new_service(self) -> WebConnectorService:
        return WebConnectorService(
            store=self.store, owner_id=OWNER, app_name=APP, password_cost=2, clock=self.clock
        )

    def qwc(self, username: str = USER) -> bytes:
        return self.service.qwc(
            username, app_url="https://localhost/qbwc", app_support="https://localhost/help"
        )

    def enqueue(self, ref: str, customer: str = "Acme Corp") -> Job:
        return self.service.enqueue(USER, invoice(ref, customer), key=f"invoice-{ref}")

    def job(self, job: Job) -> Job:
        return self.service.job(job.id)

    def later(self, seconds: float = 300) -> None:
        self.clock.now += seconds


@pytest.fixture
def office() -> Office:
    return Office()


class TestPasswordChanged:
    def test_old_password_gets_nvu_until_typed_in(
        self, office: Office, caplog: pytest.LogCaptureFixture
    ) -> None:
        """After a password change: nvu, with a reference to quote; retyping it fixes it."""
        caplog.set_level(logging.INFO, logger="qbwc")
        office.faults.inject(ChangePassword(password="second password", web_connector=False))
        job = office.enqueue("1001")
        refused = office.wc.run_session()
        assert refused.status == TEXTS["nvu"]
        assert refused.calls == (
            "serverVersion",
            "clientVersion",
            "authenticate",
            "closeConnection",
        )
        goodbye = refused.replies[-1]
        assert isinstance(goodbye, Goodbye)
        assert shown("nvu-closed").fullmatch(goodbye.message), goodbye.message
        reference = goodbye.message[-12:-1]
        logged = [r.getMessage() for r in caplog.records if reference in r.getMessage()]
        assert logged == [f"{reference} login refused (username={USER!r})"]
        assert office.job(job).status == "pending"
        office.wc.set_password("second password")  # the Password column
        fixed = office.wc.run_session()
        assert fixed.status == TEXTS["closed"]
        assert office.job(job).status == "done"


class TestNewUserEmailOrComputer:
    def test_same_qwc_on_a_new_computer_just_works(self, office: Office) -> None:
        """Adding the same QWC file on a new computer (or Windows user) is accepted; syncs go on."""
        office.enqueue("1001")
        office.wc.run_session()
        laptop = FakeWebConnector(make_wsgi_app(office.service), office.qb)
        laptop.add_application(office.qwc(), password=PASSWORD)  # no QBWC1039
        job = office.enqueue("1002")
        assert laptop.run_session().status == TEXTS["closed"]
        assert office.job(job).status == "done"

    def test_a_new_account_for_the_same_file_gets_qbwc1039(self, office: Office) -> None:
        """A second account (e.g. keyed by a new email) has its own FileID: QBWC1039 on adding."""
        office.enqueue("1001")
        office.wc.run_session()
        office.service.add_account("kristy.new@example.com", PASSWORD)
        laptop = FakeWebConnector(make_wsgi_app(office.service), office.qb)
        with pytest.raises(RequestProcessorError, match=TEXTS["qbwc1039"]):
            laptop.add_application(office.qwc("kristy.new@example.com"), password=PASSWORD)
        # The old account's QWC still works: keep the username stable.
        laptop.add_application(office.qwc(), password=PASSWORD)
        job = office.enqueue("1002")
        assert laptop.run_session().status == TEXTS["closed"]
        assert office.job(job).status == "done"

    def test_new_email_rename_account_then_new_qwc(self, office: Office) -> None:
        """rename_account keeps the FileID: the new QWC replaces the old one, no QBWC1039."""
        office.enqueue("1001")
        office.wc.run_session()
        job = office.enqueue("1002")  # waiting when the email changes
        office.service.rename_account(USER, "kristy.new@example.com")
        assert office.wc.run_session().status == TEXTS["nvu"]  # the old QWC's UserName
        office.wc.add_application(office.qwc("kristy.new@example.com"), password=PASSWORD)
        assert office.wc.run_session().status == TEXTS["closed"]
        assert office.job(job).status == "done"
        assert office.job(job).username == "kristy.new@example.com"


class TestDifferentCompanyFile:
    def test_wrong_file_nothing_sent_until_reopened(self, office: Office) -> None:
        """Another file open: nothing sent, both files named; reopening the right one fixes it."""
        office.enqueue("1001")
        office.wc.run_session()
        other = FakeQuickBooks.sample(company_name="Larkspur Landscaping 2025")
        office.faults.inject(OpenCompanyFile(quickbooks=other))
        job = office.enqueue("1002")
        refused = office.wc.run_session()
        assert refused.requests == ()
        assert refused.last_error is not None
        assert shown("wrong-file").fullmatch(refused.last_error), refused.last_error
        # The status column carries the same words, the Disconnect advice included.
        assert refused.status == f"Stopped: {refused.last_error}"
        assert '"Disconnect"' in refused.status
        assert office.job(job).status == "pending"
        assert other.transactions == ()
        office.faults.inject(OpenCompanyFile(quickbooks=None))
        assert office.wc.run_session().status == TEXTS["closed"]
        assert office.job(job).status == "done"

    def test_disconnect_then_add_qwc_in_new_file_links_it(self, office: Office) -> None:
        """Moving for good: Disconnect, add the QWC file with the new file open, sync."""
        office.enqueue("1001")
        office.wc.run_session()
        new_year = FakeQuickBooks.sample(company_name="Larkspur Landscaping 2025")
        office.faults.inject(OpenCompanyFile(quickbooks=new_year))
        office.service.disconnect(USER)
        job = office.enqueue("1002")
        not_set_up = office.wc.run_session()
        assert not_set_up.last_error is not None
        assert shown("not-set-up").fullmatch(not_set_up.last_error), not_set_up.last_error
        assert not_set_up.status == f"Stopped: {not_set_up.last_error}"
        assert office.job(job).status == "pending"
        # The user adds the account's QWC file with the new company file open.
        office.wc.add_application(office.qwc(), password=PASSWORD)
        assert office.wc.run_session().status == TEXTS["closed"]
        assert office.job(job).status == "done"
        assert [ret.ref_number for ret in new_year.invoices] == ["1002"]
        account = office.service.account(USER)
        assert account is not None
        assert account.company_name == "Larkspur Landscaping 2025"

    def test_file_set_up_with_another_qwc(self, office: Office) -> None:
        """After Disconnect, a file set up with another QWC file of the app: nothing sent."""
        office.enqueue("1001")
        office.wc.run_session()
        office.service.disconnect(USER)
        stamped = FakeQuickBooks.sample(company_name="Larkspur Landscaping 2025")
        stamped.register_application(OWNER, uuid.uuid4())  # another QWC file of the app
        office.faults.inject(OpenCompanyFile(quickbooks=stamped))
        office.enqueue("1002")
        refused = office.wc.run_session()
        assert refused.last_error is not None
        assert shown("other-qwc").fullmatch(refused.last_error), refused.last_error
        assert refused.status == f"Stopped: {refused.last_error}"
        assert stamped.transactions == ()


class TestInvoiceNotInQuickBooks:
    def test_pending_until_the_web_connector_runs(self, office: Office) -> None:
        """status "pending": queued, the Web Connector has not asked for it yet."""
        job = office.enqueue("1001")
        assert office.job(job).status == "pending"
        assert office.qb.find("1001") == ()
        office.wc.run_session()
        assert office.job(job).status == "done"

    def test_sent_means_the_answer_was_lost_and_the_next_sync_recovers(
        self, office: Office
    ) -> None:
        """status "sent": QuickBooks may have it; the next sync asks QuickBooks, never resends blindly."""  # noqa: E501
        job = office.enqueue("1001")
        office.faults.inject(LoseQuickBooksResponse())
        lost = office.wc.run_session()
        assert lost.status == TEXTS["lost"]
        assert office.job(job).status == "sent"
        assert len(office.qb.find("1001")) == 1
        office.later(601)  # the session that was handed it has expired (session_timeout)
        office.wc.run_session()
        done = office.job(job)
        assert done.status == "done"
        assert [ret.txn_id for ret in office.qb.find("1001")] == [done.txn_id]

    def test_failed_has_code_message_and_reference(self, office: Office) -> None:
        """status "failed": the job says why (code, QuickBooks' message) and its reference."""
        job = office.enqueue("1001", customer="Pinecrest HOA")
        office.wc.run_session()
        failed = office.job(job)
        assert failed.status == "failed"
        assert failed.error is not None
        assert failed.error.code == "3140"
        assert failed.error.message == TEXTS["3140"]
        assert re.fullmatch(REF, failed.error.reference)

    def test_done_has_the_txn_id_to_search_for(self, office: Office) -> None:
        """status "done": the TxnID and the linked company file say where it is."""
        job = office.enqueue("1001")
        office.wc.run_session()
        done = office.job(job)
        assert done.status == "done"
        assert done.response is not None
        assert done.response.ref_number == "1001"
        assert office.qb.transaction(done.txn_id).ref_number == "1001"  # type: ignore[arg-type]
        account = office.service.account(USER)
        assert account is not None
        assert account.company_file == office.qb.company_file


class TestErrorReference:
    def test_reference_is_in_the_log_with_details(
        self, office: Office, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A reference shown to the user is logged once, with the account and the details."""
        caplog.set_level(logging.INFO, logger="qbwc")
        job = office.enqueue("1001", customer="Pinecrest HOA")
        office.wc.run_session()
        reference = office.job(job).error.reference  # type: ignore[union-attr]
        lines = [r.getMessage() for r in caplog.records if reference in r.getMessage()]
        assert len(lines) == 1
        (line,) = lines
        assert line.startswith(f"{reference} job failed")
        assert f"username='{USER}'" in line
        assert "code='3140'" in line
        assert "key='invoice-1001'" in line
        assert PASSWORD not in caplog.text

    def test_reference_of_a_message_in_the_web_connector(
        self, office: Office, caplog: pytest.LogCaptureFixture
    ) -> None:
        """The reference at the end of a Web Connector message finds the log line too."""
        caplog.set_level(logging.INFO, logger="qbwc")
        office.enqueue("1001")
        office.faults.inject(FailConnection(hresult="0x80040408", times=3))
        result = office.wc.run_session()
        assert result.last_error is not None
        found = re.search(f"({REF})\\)$", result.last_error)
        assert found is not None
        messages = [r.getMessage() for r in caplog.records]
        (line,) = [m for m in messages if m.startswith(found.group(1))]
        assert "could not connect to QuickBooks" in line
        assert "hresult='0x80040408'" in line


class TestQBWC1039:
    def test_different_fileid_refused_and_current_qwc_accepted(self, office: Office) -> None:
        """A QWC with another FileID for a stamped file: QBWC1039; the current QWC is accepted."""
        office.enqueue("1001")
        office.wc.run_session()
        office.service.disconnect(USER, new_file_id=True)  # a new FileID for the same file
        with pytest.raises(RequestProcessorError) as refused:
            office.wc.add_application(office.qwc(), password=PASSWORD)
        assert str(refused.value) == TEXTS["qbwc1039"]
        assert refused.value.hresult == "QBWC1039"
        # Re-adding the QWC file the company file was set up with is accepted.
        fresh = Office()
        fresh.wc.add_application(fresh.qwc(), password=PASSWORD)
        assert fresh.qwc() == fresh.qwc()  # the same bytes every time, until the FileID changes


class TestUnknownCustomer3140:
    def test_3140_fails_one_job_others_continue_then_retry(self, office: Office) -> None:
        """3140: that job fails with QuickBooks' words, the next one goes through; retry works."""
        missing = office.enqueue("1001", customer="Pinecrest HOA")
        fine = office.enqueue("1002")
        result = office.wc.run_session()
        assert result.status == TEXTS["closed-3140"]
        assert office.job(fine).status == "done"
        failed = office.job(missing)
        assert failed.error is not None
        assert failed.error.message == TEXTS["3140"]
        office.qb.add_customer("Pinecrest HOA")  # the bookkeeper creates the customer
        office.service.retry(missing.id)
        assert office.wc.run_session().status == TEXTS["closed"]
        assert office.job(missing).status == "done"
        assert len(office.qb.find("1001")) == 1


class TestWebConnectorHasNotRun:
    def test_jobs_wait_without_a_sync(self, office: Office) -> None:
        """Nothing happens until the Web Connector calls; then the queue goes, oldest first."""
        jobs = [office.enqueue(str(n)) for n in (1001, 1002, 1003)]
        office.later(86_400 * 3)
        assert [office.job(j).status for j in jobs] == ["pending"] * 3
        assert office.qb.transactions == ()
        office.wc.run_session()
        assert [ret.ref_number for ret in office.qb.invoices] == ["1001", "1002", "1003"]

    def test_quickbooks_not_running(self, office: Office) -> None:
        """The Web Connector ran but could not start QuickBooks: the user reads what to do."""
        job = office.enqueue("1001")
        office.faults.inject(FailConnection(hresult="0x80040408", times=3))
        result = office.wc.run_session()
        assert result.last_error is not None
        assert shown("not-started").fullmatch(result.last_error), result.last_error
        assert office.job(job).status == "pending"
        assert office.wc.run_session().status == TEXTS["closed"]


class TwoWayOffice(Office):
    """The office, with an app that pulls from QuickBooks (docs/two-way.md)."""

    def __init__(self) -> None:
        self.pulled: list[tuple[str, str, str | None]] = []  # (type, ID, EditSequence)
        self.deleted: list[tuple[str, str]] = []
        super().__init__()

    def new_service(self) -> WebConnectorService:
        return WebConnectorService(
            store=self.store, owner_id=OWNER, app_name=APP, password_cost=2, clock=self.clock,
            on_pulled=self.on_pulled, on_deleted=self.on_deleted,
        )  # fmt: skip

    def on_pulled(self, username: str, type: str, rets: tuple[Any, ...]) -> None:
        for ret in rets:
            object_id = getattr(ret, "txn_id", None) or getattr(ret, "list_id", None)
            self.pulled.append((type, object_id, ret.edit_sequence))

    def on_deleted(self, username: str, type: str, ids: tuple[str, ...]) -> None:
        self.deleted += [(type, i) for i in ids]

    def take(self) -> list[tuple[str, str, str | None]]:
        """What was delivered since the last call."""
        taken, self.pulled = self.pulled, []
        return taken

    def payment(self, books: FakeQuickBooks, amount: str, customer: str = "Acme Corp") -> str:
        """The bookkeeper records a payment in *books*; its TxnID."""
        (ret,) = books.seed(
            ReceivePayment=[
                {"customer_ref": {"full_name": customer}, "total_amount": amount,
                 "is_auto_apply": True}
            ]
        )  # fmt: skip
        txn_id: str = ret.txn_id
        return txn_id

    def bookkeeper_edits(self, txn_id: str, **changes: Any) -> InvoiceRet:
        """Someone changes the invoice in QuickBooks (an InvoiceMod with its EditSequence)."""
        current = self.qb.transaction(txn_id)
        mod = InvoiceMod(txn_id=txn_id, edit_sequence=current.edit_sequence, **changes)
        (answer,) = parse_response(self.qb.process_request(build_request([mod]).decode())).responses
        assert answer.status_code == 0, answer.status_message
        (ret,) = answer.rets
        assert isinstance(ret, InvoiceRet)
        return ret


@pytest.fixture
def two_way() -> TwoWayOffice:
    return TwoWayOffice()


class TestPaymentsDisappeared:
    def test_another_file_pulls_its_own_payments(self, two_way: TwoWayOffice) -> None:
        """Disconnect removes what belonged to the old file; the new file's payments are pulled."""
        office = two_way
        office.service.follow(USER, "ReceivePayment")
        old = office.payment(office.qb, "150.00")
        office.wc.run_session()
        assert office.take() == [("ReceivePayment", old, ANY)]
        new_year = FakeQuickBooks.sample(company_name="Larkspur Landscaping 2025")
        new = office.payment(new_year, "90.00")
        office.faults.inject(OpenCompanyFile(quickbooks=new_year))
        disconnection = office.service.disconnect(USER)
        assert (disconnection.cursors, disconnection.marks) == (1, 1)
        office.wc.add_application(office.qwc(), password=PASSWORD)  # with the new file open
        assert office.wc.run_session().completed
        assert office.take() == [("ReceivePayment", new, ANY)]  # not the old file's
        office.wc.run_session()
        assert office.take() == []

    def test_relinking_the_same_file_brings_them_back(self, two_way: TwoWayOffice) -> None:
        """Disconnect, then the old file again: linked again, its payments pulled again, once."""
        office = two_way
        office.service.follow(USER, "ReceivePayment")
        paid = [office.payment(office.qb, "150.00"), office.payment(office.qb, "40.00")]
        office.wc.run_session()
        assert sorted(i for _, i, _ in office.take()) == sorted(paid)
        office.service.disconnect(USER)
        office.wc.run_session()  # the old file carries the account's FileID: linked again
        assert sorted(i for _, i, _ in office.take()) == sorted(paid)
        office.wc.run_session()
        assert office.take() == []

    def test_same_file_reconfigured_keeps_everything(self, two_way: TwoWayOffice) -> None:
        """New QWC file, renamed account, new computer: nothing removed, nothing pulled twice."""
        office = two_way
        office.service.follow(USER, "ReceivePayment")
        office.enqueue("1001")
        paid = office.payment(office.qb, "150.00")
        office.wc.run_session()
        assert office.take() == [("ReceivePayment", paid, ANY)]
        linked = office.service.link(USER, "invoice-1001")
        assert linked is not None
        office.service.rename_account(USER, "kristy.new@example.com")
        laptop = FakeWebConnector(make_wsgi_app(office.service), office.qb)
        laptop.add_application(office.qwc("kristy.new@example.com"), password=PASSWORD)
        laptop.run_session()
        assert office.take() == []
        kept = office.service.link("kristy.new@example.com", "invoice-1001")
        assert kept is not None
        assert (kept.txn_id, kept.edit_sequence, kept.file_id) == (
            linked.txn_id, linked.edit_sequence, linked.file_id,
        )  # fmt: skip
        more = office.payment(office.qb, "60.00")
        laptop.run_session()
        assert office.take() == [("ReceivePayment", more, ANY)]


class TestInvoiceChangedInQuickBooks:
    def linked_invoice(self, office: TwoWayOffice) -> str:
        job = office.enqueue("1001")
        office.wc.run_session()
        link = office.service.link(USER, "invoice-1001")
        assert link is not None
        assert link.txn_id == office.job(job).txn_id
        return link.txn_id

    def test_a_mod_by_link_overwrites_the_fields_it_names(self, two_way: TwoWayOffice) -> None:
        """A Mod by link without EditSequence wins over the bookkeeper's change, field by field."""
        office = two_way
        txn_id = self.linked_invoice(office)
        office.bookkeeper_edits(txn_id, memo="Gate code 4411", po_number="PO-77")
        mod = office.service.enqueue(USER, InvoiceMod(memo="Phase 2"), link="invoice-1001")
        office.wc.run_session()
        assert office.job(mod).status == "done"
        now = office.qb.transaction(txn_id)
        assert (now.memo, now.po_number) == ("Phase 2", "PO-77")  # overwritten / kept
        link = office.service.link(USER, "invoice-1001")
        assert link is not None
        assert link.edit_sequence == now.edit_sequence

    def test_a_conditional_mod_is_refused_instead(self, two_way: TwoWayOffice) -> None:
        """With the EditSequence the app last saw, a changed invoice refuses the Mod (3200)."""
        office = two_way
        txn_id = self.linked_invoice(office)
        seen = office.service.link(USER, "invoice-1001")
        assert seen is not None
        office.bookkeeper_edits(txn_id, memo="Gate code 4411")
        mod = office.service.enqueue(
            USER, InvoiceMod(memo="Phase 2", edit_sequence=seen.edit_sequence),
            link="invoice-1001",
        )  # fmt: skip
        office.wc.run_session()
        failed = office.job(mod)
        assert failed.status == "failed"
        assert failed.error is not None
        assert failed.error.code == "3200"
        assert office.qb.transaction(txn_id).memo == "Gate code 4411"  # nothing overwritten

    def test_the_change_reaches_the_app_only_when_followed(self, two_way: TwoWayOffice) -> None:
        """No follow, no news; following "Invoice", each change arrives once, the link refreshed."""
        office = two_way
        txn_id = self.linked_invoice(office)
        changed = office.bookkeeper_edits(txn_id, memo="Gate code 4411")
        office.wc.run_session()
        assert office.take() == []
        office.service.follow(USER, "Invoice")
        office.wc.run_session()
        assert office.take() == [("Invoice", txn_id, changed.edit_sequence)]
        again = office.bookkeeper_edits(txn_id, memo="Gate code 5522")
        office.wc.run_session()
        assert office.take() == [("Invoice", txn_id, again.edit_sequence)]
        office.wc.run_session()
        assert office.take() == []
        link = office.service.link(USER, "invoice-1001")  # the pulls refresh it too
        assert link is not None
        assert link.edit_sequence == again.edit_sequence

    def test_after_a_disconnect_a_mod_by_link_fails_unlinked(self, two_way: TwoWayOffice) -> None:
        """The linkage went with the Disconnect: the Mod fails before anything is sent."""
        office = two_way
        txn_id = self.linked_invoice(office)
        disconnection = office.service.disconnect(USER)
        assert disconnection.links == 1
        mod = office.service.enqueue(USER, InvoiceMod(memo="Phase 2"), link="invoice-1001")
        sent = len(office.qb.history)
        office.wc.run_session()
        failed = office.job(mod)
        assert failed.status == "failed"
        assert failed.error is not None
        assert failed.error.code == "unlinked"
        assert "invoice-1001" in failed.error.message
        assert len(office.qb.history) == sent
        assert office.qb.transaction(txn_id).memo is None


class TestThePage:
    def test_every_named_test_exists(self) -> None:
        """Every test the page names is in this module, and every test here is named there."""
        page = PAGE.read_text(encoding="utf-8")
        named = set(re.findall(r"`(Test\w+::test_\w+)`", page))
        here = {
            f"{name}::{attr}"
            for name, cls in globals().items()
            if name.startswith("Test") and name != "TestThePage"
            for attr in vars(cls)
            if attr.startswith("test_")
        }
        assert named == here

    @pytest.mark.parametrize("key", sorted(TEXTS))
    def test_quoted_texts_are_the_real_ones(self, key: str) -> None:
        """Each text the user reads is quoted in the page word for word (placeholders aside)."""
        page = " ".join(PAGE.read_text(encoding="utf-8").split())
        text = TEXTS[key].replace("{ref}", "QBWC-7F3K2Q").replace("{dir}", "C:\\...\\")
        assert " ".join(text.split()) in page, key
