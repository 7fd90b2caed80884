"""
The Web Connector service: the behaviours issue 4 is judged on (1-9), end to end.

Each test drives ``WebConnectorService`` through the real SOAP codec with
``FakeWebConnector`` in front of ``FakeQuickBooks``, and checks what the
bookkeeper saw, what QuickBooks holds, and what the store says.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest

from qbwc import (
    CompanyMismatch,
    ConfigurationError,
    QBXMLValidationError,
    RemoteProtocolError,
    WebConnectorService,
)
from qbwc.protocol import (
    AuthenticateCall,
    Authenticated,
    ClientVersionCall,
    ClientVersionErrorReply,
    ClientVersionOK,
    ClientVersionUpgrade,
    ClientVersionWarning,
    CloseConnectionCall,
    ConnectionErrorCall,
    Failed,
    GetLastErrorCall,
    GiveUp,
    Goodbye,
    InvalidUserReply,
    LastErrorReply,
    NoRequest,
    Progress,
    ReceiveResponseXMLCall,
    RequestXML,
    SendRequestXMLCall,
    ServerVersion,
    ServerVersionCall,
)
from qbwc.qbxml._requests import EstimateAdd, EstimateLineAdd
from qbwc.qbxml._types import Ref
from qbwc.service._passwords import hash_password, verify_password
from qbwc.store import Job, MemoryStore, SQLiteStore
from qbwc.testing import (
    Crash,
    FakeQuickBooks,
    FakeWebConnector,
    LoseQuickBooksResponse,
    LoseReply,
    RepeatCall,
)
from qbwc.wsgi import make_wsgi_app
from tests.rig import OWNER, PASSWORD, REFERENCE, USER, Rig, invoice


@pytest.fixture
def rig() -> Rig:
    return Rig()


def _sqlite_rig(tmp_path: Path, **settings: Any) -> Rig:
    return Rig(SQLiteStore(tmp_path / "qbwc.sqlite"), **settings)


# --- 1. call order and answers ----------------------------------------------------------


class TestVersions:
    def test_server_version(self, rig: Rig) -> None:
        """serverVersion answers the configured text (qbwc's version by default)."""
        assert rig.service.respond(ServerVersionCall()) == ServerVersion(
            version=rig.service.server_version
        )
        assert rig.service.server_version.startswith("qbwc ")

    @pytest.mark.parametrize(
        ("mode", "expected"),
        [
            ("upgrade", ClientVersionUpgrade(version="2.1.0.30")),
            ("error", ClientVersionErrorReply),
            ("warn", ClientVersionWarning),
        ],
    )
    def test_old_client(self, mode: str, expected: object) -> None:
        """An old Web Connector is told to upgrade (O:), refused (E:) or warned (W:)."""
        service = Rig(min_client_version="2.1.0.30", old_client=mode).service
        reply = service.respond(ClientVersionCall(version="2.0.1.5"))
        if isinstance(expected, type):
            assert isinstance(reply, expected)
            assert "2.1.0.30" in reply.message  # type: ignore[attr-defined]
            assert "2.0.1.5" in reply.message  # type: ignore[attr-defined]
        else:
            assert reply == expected
        for fine in ("2.1.0.30", "2.3.0.215", "unknown"):
            assert service.respond(ClientVersionCall(version=fine)) == ClientVersionOK()

    def test_no_minimum(self, rig: Rig) -> None:
        """Without a minimum every Web Connector is welcome ("")."""
        assert rig.service.respond(ClientVersionCall(version="1.0")) == ClientVersionOK()

    def test_upgrade_stops_the_run(self) -> None:
        """The double stops after O: and never authenticates."""
        r = Rig(min_client_version="9.9")
        r.enqueue("1")
        result = r.run()
        assert result.calls == ("serverVersion", "clientVersion")
        assert "9.9" in result.status

    def test_bad_setting(self) -> None:
        """A minimum that is not a version is refused with the field named."""
        with pytest.raises(ConfigurationError, match="min_client_version"):
            Rig(min_client_version="two")


class TestAuthenticate:
    def test_none_when_nothing_to_do(self, rig: Rig) -> None:
        """An account with an empty queue gets "none": no qbXML, closeConnection follows."""
        result = rig.run()
        assert result.calls == (
            "serverVersion",
            "clientVersion",
            "authenticate",
            "closeConnection",
        )
        assert result.status == "No Data Exchange"

    @pytest.mark.parametrize("who", ["wrong password", "unknown user"])
    def test_nvu_gives_no_hint(
        self, rig: Rig, who: str, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A wrong password and an unknown user get the same "nvu" answer, with a reference."""
        username, password = (USER, "nope") if who == "wrong password" else ("eve", PASSWORD)
        reply = rig.service.respond(AuthenticateCall(username=username, password=password))
        assert isinstance(reply, InvalidUserReply)
        assert re.fullmatch(r"QBWC-[2-9A-HJ-NP-Z]{6}", reply.reference), reply
        # The Web Connector sends the ticket slot back with closeConnection and shows the
        # answer: the user can quote the reference that starts the log line.
        goodbye = rig.service.respond(CloseConnectionCall(ticket=reply.reference))
        assert goodbye == Goodbye(
            message=(
                "Invalid password for username: Acme Billing refused the user name or password. "
                "Type the current password in the Web Connector's Password column and run the "
                f"update again. ({reply.reference})"
            )
        )
        logged = [r.getMessage() for r in caplog.records if reply.reference in r.getMessage()]
        assert logged == [f"{reply.reference} login refused (username={username!r})"]
        # Anything else in the ticket slot of a closeConnection is an ordinary stale ticket.
        other = rig.service.respond(CloseConnectionCall(ticket="QBWC-1"))
        assert other == Goodbye(message="Connection Closed")

    def test_busy_while_another_session_runs(self, rig: Rig) -> None:
        """A second Web Connector for the account gets "busy" until the first goes quiet."""
        rig.enqueue("1")
        first = rig.service.respond(AuthenticateCall(username=USER, password=PASSWORD))
        second = rig.wc.run_session()
        assert second.status == "Application Busy"
        assert rig.qb.invoices == ()
        rig.clock.advance(rig.service.session_timeout + 1)
        third = rig.run()
        assert third.completed
        assert rig.ref_numbers() == ["1"]
        # The first Web Connector's ticket has expired: its calls get the polite path.
        late = rig.service.respond(GetLastErrorCall(ticket=first.ticket))  # type: ignore[attr-defined]
        assert isinstance(late, LastErrorReply)
        assert "expired" in late.message

    def test_finished_session_does_not_block(self, rig: Rig) -> None:
        """A session that got 100 but never sent closeConnection does not make the next one busy."""
        rig.enqueue("1")
        rig.wc.inject(Crash(operation="receiveResponseXML"))
        assert not rig.run().completed
        rig.enqueue("2")
        assert rig.run().completed
        assert rig.ref_numbers() == ["1", "2"]

    def test_authenticator_instead_of_accounts(self) -> None:
        """A host with its own user table passes an authenticator instead of passwords."""
        logins: list[tuple[str, str]] = []

        def check(username: str, password: str) -> bool:
            logins.append((username, password))
            return password == "host-secret"

        r = Rig(authenticator=check, user="host-user", password="host-secret")
        r.service.enqueue("host-user", invoice("7"))
        assert r.run().completed
        assert r.ref_numbers() == ["0", "7"]
        assert ("host-user", "host-secret") in logins
        refused = r.service.respond(AuthenticateCall(username="host-user", password="wrong"))
        assert isinstance(refused, InvalidUserReply)


class TestProgressAndClose:
    def test_progress_per_job_then_100(self, rig: Rig) -> None:
        """receiveResponseXML reports 0-99 per finished job, and 100 only when done."""
        rig.enqueue("1", "2", "3", "4")
        result = rig.run()
        assert result.progress == (25, 50, 75, 100)
        assert result.calls[-1] == "closeConnection"
        assert result.status == "Connection Closed: 4 done, 0 failed."

    def test_summary_counts_failures_and_waiting(self, rig: Rig) -> None:
        """closeConnection's text counts done, failed and (retry) waiting jobs."""
        rig.enqueue("1")
        rig.enqueue("2", customer="Nobody Inc")
        rig.qb.fail_next(3175, "There was an error when saving a Invoice. Could not lock.")
        rig.enqueue("3")
        result = rig.run()
        assert result.status == (
            "Connection Closed: 1 done, 1 failed, 1 waiting. See Acme Billing for the failed ones."
        )

    def test_negative_only_when_quickbooks_failed(self, rig: Rig) -> None:
        """A request processor failure gives a negative answer, then an actionable getLastError."""
        rig.enqueue("1", "2")
        rig.qb.fail_processing("0x80040408", "Could not start QuickBooks.")
        result = rig.run()
        assert result.progress == (-1,)
        assert result.calls[-3:] == ("receiveResponseXML", "getLastError", "closeConnection")
        assert result.last_error is not None
        assert "QuickBooks could not be started" in result.last_error
        assert REFERENCE.search(result.last_error)
        # Failed jobs of the QuickBooks kind never block: next time they go through once.
        assert rig.run().completed
        assert rig.ref_numbers() == ["1", "2"]

    def test_job_errors_are_not_negative(self, rig: Rig) -> None:
        """A refused request (3140) is a failed job, not a failed session: progress goes on."""
        rig.enqueue("1", customer="Nobody Inc")
        rig.enqueue("2")
        result = rig.run()
        assert result.progress == (50, 100)
        assert all(p >= 0 for p in result.progress)


class TestConnectionError:
    def test_retries_then_done(self, rig: Rig) -> None:
        """connectionError retries (linked file, then the open one) a bounded number of times."""
        rig.enqueue("1")
        rig.run()  # links the company file, so connectionError can suggest its path
        rig.enqueue("2")
        for _ in range(5):
            rig.qb.fail_open("0x80040414")
        result = rig.run()
        pairs = zip(result.calls, result.replies, strict=True)
        replies = [r for c, r in pairs if c == "connectionError"]
        assert len(replies) == 3
        assert [type(r).__name__ for r in replies] == ["TryCompanyFile", "TryCompanyFile", "GiveUp"]
        assert replies[0].path == rig.qb.company_file  # type: ignore[union-attr]
        assert replies[1].path == ""  # type: ignore[union-attr]
        assert result.last_error is not None
        assert "A window is open in QuickBooks" in result.last_error
        assert REFERENCE.search(result.last_error)
        assert rig.job(rig.service.jobs(USER)[1]).status == "pending"

    def test_recovers_when_retry_works(self, rig: Rig) -> None:
        """One failed open, then the retry succeeds and the job goes through."""
        rig.enqueue("1")
        rig.qb.fail_open("0x80040414")
        result = rig.run()
        assert result.completed
        assert result.calls.count("connectionError") == 1
        assert rig.ref_numbers() == ["1"]

    def test_hopeless_hresult_gives_up_at_once(self, rig: Rig) -> None:
        """An HRESULT that retrying cannot fix (not authorised) gets "done" at once."""
        rig.enqueue("1")
        rig.qb.fail_open("0x80040418")
        result = rig.run()
        assert result.calls.count("connectionError") == 1
        assert result.last_error is not None
        assert "Admin" in result.last_error


class TestPauseAndInteractive:
    def test_noop_pause(self) -> None:
        """The host's pause hook makes the Web Connector wait (NoOp) and ask again, boundedly."""
        answers = iter([True, True, False])
        waits: list[float] = []
        r = Rig(pause=lambda username: next(answers, False))
        r.wc.sleep = waits.append
        r.enqueue("1")
        result = r.run()
        assert result.completed
        assert waits == [5, 5]
        assert result.calls.count("getLastError") == 2
        assert r.ref_numbers() == ["1"]

    def test_pause_is_bounded(self) -> None:
        """A host that always says pause cannot keep the Web Connector forever."""
        r = Rig(pause=lambda username: True, max_pauses=3)
        r.enqueue("1")
        result = r.run()
        assert result.calls.count("getLastError") == 3
        assert r.ref_numbers() == ["1"]

    @pytest.mark.parametrize("answer", ["accept", "reject"])
    def test_interactive_relink(self, answer: str) -> None:
        """On a wrong company file the host can offer a page (interactive mode) to relink."""
        r = Rig(interactive_url=lambda username: f"https://localhost/relink?user={username}")
        r.enqueue("1")
        r.run()
        other = FakeQuickBooks(company_name="Other Co")
        r.qb.switch_company(other)
        r.enqueue("2")
        r.wc.interactive = answer
        result = r.run()
        if answer == "accept":
            assert "getInteractiveURL" in result.calls
            assert r.wc.interactive_urls == [f"https://localhost/relink?user={USER}"]
        else:
            assert "interactiveRejected" in result.calls
            message = result.replies[result.calls.index("interactiveRejected")]
            assert "Other Co" in message.message  # type: ignore[union-attr]
        assert result.calls[-1] == "closeConnection"
        assert other.invoices == ()


class TestUnknownTickets:
    @pytest.mark.parametrize(
        ("call", "reply_type"),
        [
            (SendRequestXMLCall(ticket="nope", hcp_response="", company_file_name="",
                                country="US", major_version=13, minor_version=0), NoRequest),
            (ReceiveResponseXMLCall(ticket="nope", response="<x/>"), Failed),
            (ConnectionErrorCall(ticket="nope", hresult="0x80040408", message="m"), GiveUp),
            (GetLastErrorCall(ticket="nope"), LastErrorReply),
            (CloseConnectionCall(ticket="nope"), Goodbye),
        ],
    )  # fmt: skip
    def test_polite_answers(self, rig: Rig, call: Any, reply_type: type) -> None:
        """Calls with a ticket we never issued get polite answers, never a fault."""
        rig.enqueue("1")
        assert isinstance(rig.service.respond(call), reply_type)
        assert rig.service.jobs(USER, status="pending")


# --- 2. version negotiation ----------------------------------------------------------------


class TestVersionNegotiation:
    def test_highest_common_version(self) -> None:
        """QuickBooks 2009 (qbXML 8.0) gets 8.0; a newer QuickBooks the newest we write."""
        r = Rig()
        r.qb = FakeQuickBooks.sample(qbxml_version="8.0")
        r.wc = FakeWebConnector(make_wsgi_app(r.service), r.qb)
        r.wc.add_application(r.qwc(), password=PASSWORD)
        r.enqueue("1")
        result = r.run()
        assert '<?qbxml version="8.0"?>' in result.requests[0]
        fresh = Rig(max_qbxml_version="13.0")
        fresh.enqueue("1")
        assert '<?qbxml version="13.0"?>' in fresh.run().requests[0]

    def test_job_needing_newer_fails_clearly(self) -> None:
        """A job using a field newer than QuickBooks' qbXML fails naming it and both versions."""
        r = Rig()
        r.qb = FakeQuickBooks.sample(qbxml_version="8.0")
        r.wc = FakeWebConnector(make_wsgi_app(r.service), r.qb)
        r.wc.add_application(r.qwc(), password=PASSWORD)
        (new,) = r.enqueue("1", external_guid=uuid.UUID(int=7))
        (old,) = r.enqueue("2")
        assert r.service.job(new.id).min_version == "9.0"
        r.run()
        failed = r.job(new)
        assert failed.status == "failed"
        assert failed.error is not None
        assert failed.error.code == "version"
        assert "InvoiceAdd.external_guid needs qbXML 9.0" in failed.error.message
        assert "8.0" in failed.error.message
        assert r.job(old).status == "done"
        assert r.ref_numbers() == ["2"]


# --- 3. company file --------------------------------------------------------------------------


class TestCompanyFile:
    def test_first_session_binds(self, rig: Rig) -> None:
        """The first sync links the account to the file carrying its FileID stamp."""
        rig.enqueue("1")
        rig.run()
        account = rig.service.account(USER)
        assert account is not None
        assert account.linked_file_id == account.file_id
        assert account.company_file == rig.qb.company_file
        assert account.company_name == "Larkspur Landscaping"
        assert account.linked_at == dt.datetime.fromtimestamp(rig.clock.now, dt.UTC)

    def test_different_file_is_refused(self) -> None:
        """Another file gets no qbXML; jobs wait; the user reads both names and the way out."""
        mismatches: list[CompanyMismatch] = []
        r = Rig(on_company_mismatch=mismatches.append)
        r.enqueue("1")
        r.run()
        other = FakeQuickBooks(company_name="Other Co", company_file="C:\\Books\\Other.QBW")
        r.qb.switch_company(other)
        (job,) = r.enqueue("2")
        result = r.run()
        assert result.requests == ()
        assert other.invoices == ()
        assert r.job(job).status == "pending"
        text = result.last_error
        assert text is not None
        assert '"Other Co" (C:\\Books\\Other.QBW)' in text
        assert '"Larkspur Landscaping"' in text
        assert '"Disconnect" in Acme Billing' in text
        assert REFERENCE.search(text)
        assert result.status.startswith("Stopped:")
        assert REFERENCE.search(result.status)
        (seen,) = mismatches
        assert seen.open_company_name == "Other Co"
        assert seen.linked_company_name == "Larkspur Landscaping"
        assert seen.reference in text

    def test_disconnect_then_bind_new_file(self, rig: Rig) -> None:
        """After disconnect the next sync binds the new file (its QWC added with it open)."""
        rig.enqueue("1")
        rig.run()
        other = FakeQuickBooks.sample(company_name="Other Co")
        rig.qb.switch_company(other)
        rig.service.disconnect(USER)
        account = rig.service.account(USER)
        assert account is not None
        assert account.linked_file_id is None
        other.register_application(OWNER, account.file_id)
        (job,) = rig.enqueue("2")
        assert rig.run().completed
        assert [r.ref_number for r in other.invoices] == ["2"]
        account = rig.service.account(USER)
        assert account is not None
        assert account.company_name == "Other Co"
        assert rig.job(job).status == "done"

    def test_unstamped_file_is_refused_before_binding(self) -> None:
        """A file without our stamp is never bound: the message says to add the QWC file."""
        r = Rig()
        r.qb.switch_company(FakeQuickBooks(company_name="Fresh Co"))
        r.enqueue("1")
        result = r.run()
        assert result.requests == ()
        assert result.last_error is not None
        assert "has not been set up for Acme Billing" in result.last_error
        account = r.service.account(USER)
        assert account is not None
        assert account.linked_file_id is None

    def test_file_from_another_qwc_is_refused(self) -> None:
        """A file stamped with another FileID (an old QWC file) is refused and not bound."""
        r = Rig()
        other = FakeQuickBooks(company_name="Old Co")
        other.register_application(OWNER, uuid.uuid4())
        r.qb.switch_company(other)
        r.enqueue("1")
        result = r.run()
        assert result.requests == ()
        assert result.last_error is not None
        assert "another QWC file" in result.last_error

    def test_disconnect_with_new_file_id(self, rig: Rig) -> None:
        """disconnect(new_file_id=True) issues a new FileID, so the QWC file changes."""
        before = rig.qwc()
        rig.service.disconnect(USER, new_file_id=True)
        assert rig.qwc() != before
        assert rig.qwc() == rig.qwc()


# --- 4. password change -------------------------------------------------------------------------


class TestPasswordChange:
    def test_new_password_works_old_gets_nvu(self, rig: Rig) -> None:
        """After set_password the new password syncs and the old one gets "nvu"."""
        rig.enqueue("1")
        rig.service.set_password(USER, "new password")
        old = rig.run()
        assert old.status == "Invalid password for username"
        assert rig.qb.invoices == ()
        rig.wc.set_password("new password")
        assert rig.run().completed
        assert rig.ref_numbers() == ["1"]

    def test_hash_not_clear_text(self, rig: Rig) -> None:
        """The stored password is a salted scrypt hash; the same password hashes differently."""
        account = rig.service.account(USER)
        assert account is not None
        assert account.password_hash is not None
        assert PASSWORD not in account.password_hash
        assert account.password_hash.startswith("scrypt$2$8$1$")
        assert hash_password("x", cost=2) != hash_password("x", cost=2)
        assert verify_password("x", hash_password("x", cost=2))
        assert not verify_password("y", hash_password("x", cost=2))
        assert not verify_password("x", "garbage")


# --- 5. exactly once ----------------------------------------------------------------------------


def _all_done_once(r: Rig, jobs: list[Job], refs: list[str]) -> None:
    assert sorted(r.ref_numbers()) == sorted(refs)
    assert len(r.ref_numbers()) == len(set(r.ref_numbers()))
    by_txn = {ret.txn_id: ret for ret in r.qb.invoices}
    for job in jobs:
        stored = r.job(job)
        assert stored.status == "done"
        assert stored.txn_id in by_txn
        assert f"inv-{by_txn[stored.txn_id].ref_number}" == stored.key


FAULTS: dict[str, Callable[[Rig], None]] = {
    "quickbooks response lost": lambda r: r.wc.inject(LoseQuickBooksResponse()),
    "quickbooks says lost": lambda r: r.qb.lose_next_response(),
    "sendRequestXML reply lost": lambda r: r.wc.inject(LoseReply(operation="sendRequestXML")),
    "receiveResponseXML reply lost": lambda r: r.wc.inject(
        LoseReply(operation="receiveResponseXML")
    ),
    "crash after sendRequestXML": lambda r: r.wc.inject(Crash(operation="sendRequestXML")),
    "crash after receiveResponseXML": lambda r: r.wc.inject(Crash(operation="receiveResponseXML")),
    "sendRequestXML repeated": lambda r: r.wc.inject(RepeatCall(operation="sendRequestXML")),
    "receiveResponseXML repeated": lambda r: r.wc.inject(
        RepeatCall(operation="receiveResponseXML")
    ),
    "authenticate repeated": lambda r: r.wc.inject(RepeatCall(operation="authenticate")),
    "closeConnection lost": lambda r: r.wc.inject(LoseReply(operation="closeConnection")),
}


class TestExactlyOnce:
    @pytest.mark.parametrize("fault", sorted(FAULTS))
    @pytest.mark.parametrize("store", ["memory", "sqlite"])
    def test_lost_at_every_point(self, fault: str, store: str, tmp_path: Path) -> None:
        """Whatever is lost or repeated, each invoice ends up in QuickBooks exactly once."""
        r = _sqlite_rig(tmp_path) if store == "sqlite" else Rig()
        jobs = r.enqueue("1", "2", "3")
        FAULTS[fault](r)
        r.run()
        r.clock.advance(r.service.session_timeout + 1)
        for _ in range(4):
            r.run()
        _all_done_once(r, jobs, ["1", "2", "3"])
        assert r.service.jobs(USER, status="sent") == ()

    def test_recovery_asks_before_resending(self, rig: Rig) -> None:
        """After a lost response: first the status query, then the clear, then new work."""
        jobs = rig.enqueue("1", "2")
        rig.wc.inject(LoseQuickBooksResponse())
        rig.run()
        assert rig.job(jobs[0]).status == "sent"
        # Right after the crash the account still counts as busy...
        assert rig.run().status == "Application Busy"
        # ...and after busy_timeout too: QuickBooks may still be running the set...
        rig.clock.advance(rig.service.busy_timeout + 1)
        assert rig.run().status == "Application Busy"
        # ...until the session that was handed it has expired.
        rig.clock.advance(rig.service.session_timeout - rig.service.busy_timeout)
        result = rig.run()
        first, second = result.requests[:2]
        match = re.search(r'oldMessageSetID="([^"]+)"', first)
        assert match is not None
        assert f'newMessageSetID="{match.group(1)}"' in first
        assert "InvoiceAdd" not in first
        assert f'oldMessageSetID="{match.group(1)}"' in second
        assert "newMessageSetID" not in second
        assert "InvoiceAdd" in result.requests[2]
        _all_done_once(rig, jobs, ["1", "2"])

    def test_never_processed_is_resent_once(self, rig: Rig) -> None:
        """A set QuickBooks never saw (600) is sent again, under a new message set ID."""
        (job,) = rig.enqueue("1")
        rig.wc.inject(LoseReply(operation="sendRequestXML"))
        rig.run()
        assert rig.qb.invoices == ()
        rig.clock.advance(rig.service.session_timeout + 1)  # the set's session expired
        result = rig.run()
        assert "oldMessageSetID" in result.requests[0]
        assert "InvoiceAdd" in result.requests[1]
        _all_done_once(rig, [job], ["1"])
        assert rig.job(job).attempts == 2

    def test_restart_between_every_call(self, tmp_path: Path) -> None:
        """A new service process on the same SQLite file before every call changes nothing."""
        r = _sqlite_rig(tmp_path)
        jobs = r.enqueue("1", "2")

        def restart(call: object) -> None:
            r.restart(SQLiteStore(tmp_path / "qbwc.sqlite"))

        r.wc.before_call = restart
        assert r.run().completed
        _all_done_once(r, jobs, ["1", "2"])

    def test_restart_with_response_lost(self, tmp_path: Path) -> None:
        """The web process dies while QuickBooks works; a new process recovers the answer."""
        r = _sqlite_rig(tmp_path)
        jobs = r.enqueue("1")
        r.wc.inject(LoseQuickBooksResponse())
        r.run()
        r.restart(SQLiteStore(tmp_path / "qbwc.sqlite"))
        r.clock.advance(r.service.session_timeout + 1)
        assert r.run().completed
        _all_done_once(r, jobs, ["1"])

    def test_unconfirmed_is_never_resent(self, rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
        """When QuickBooks cannot say (9002) the job fails 'unconfirmed' and is not resent."""
        (job,) = rig.enqueue("1")
        rig.wc.inject(LoseReply(operation="sendRequestXML"))
        rig.run()
        real = rig.qb.process_request

        def forgetful(qbxml: str, **kw: Any) -> str:
            if "oldMessageSetID" in qbxml and "newMessageSetID" in qbxml:
                return (
                    '<?xml version="1.0" ?><QBXML><QBXMLMsgsRs messageSetStatusCode="9002">'
                    "</QBXMLMsgsRs></QBXML>"
                )
            return real(qbxml, **kw)

        monkeypatch.setattr(rig.qb, "process_request", forgetful)
        rig.clock.advance(rig.service.session_timeout + 1)
        rig.run()
        failed = rig.job(job)
        assert failed.status == "failed"
        assert failed.error is not None
        assert failed.error.code == "unconfirmed"
        assert "Look for it in QuickBooks" in failed.error.message
        rig.run()
        assert rig.qb.invoices == ()

    def test_other_accounts_jobs_are_untouchable(self, rig: Rig) -> None:
        """One account's ticket never sends, or records answers for, another account's jobs."""
        rig.service.add_account("other@example.com", "pw")
        other_job = rig.service.enqueue("other@example.com", invoice("99"))
        rig.enqueue("1")
        assert rig.run().completed
        assert rig.ref_numbers() == ["1"]
        assert rig.service.job(other_job.id).status == "pending"


# --- 6. failures are data ---------------------------------------------------------------


class TestFailuresAreData:
    def test_refused_job_does_not_block(self, rig: Rig) -> None:
        """3140 marks the job failed with code and message; the jobs behind it go through."""
        failed_jobs: list[Job] = []
        rig.service._on_job_failed = failed_jobs.append
        (bad,) = rig.enqueue("1", customer="Nobody Inc")
        (good,) = rig.enqueue("2")
        rig.run()
        stored = rig.job(bad)
        assert stored.status == "failed"
        assert stored.error is not None
        assert stored.error.code == "3140"
        assert "Nobody Inc" in stored.error.message
        assert REFERENCE.fullmatch(stored.error.reference)
        assert rig.job(good).status == "done"
        assert [j.id for j in failed_jobs] == [bad.id]

    def test_retryable_is_retried_in_a_later_session(self, rig: Rig) -> None:
        """A lock error (3175) is retried in the next session, not in this one."""
        (job,) = rig.enqueue("1")
        rig.enqueue("2")
        rig.qb.fail_next(3175, "There was an error when saving a Invoice. Could not lock.")
        first = rig.run()
        assert len(first.requests) == 2
        assert rig.job(job).status == "pending"
        assert rig.job(job).error is not None
        assert rig.ref_numbers() == ["2"]
        rig.run()
        assert rig.job(job).status == "done"
        assert sorted(rig.ref_numbers()) == ["1", "2"]

    def test_retries_are_bounded(self) -> None:
        """After max_attempts sends a transient failure becomes a failure."""
        r = Rig(max_attempts=2)
        (job,) = r.enqueue("1")
        for _ in range(3):
            r.qb.fail_next(3170, "This list has been modified by another user.")
        r.run()
        r.run()
        stored = r.job(job)
        assert stored.status == "failed"
        assert stored.attempts == 2
        assert stored.error is not None
        assert stored.error.code == "3170"
        r.run()
        assert r.qb.invoices == ()

    def test_parse_error_fails_the_job(self, rig: Rig) -> None:
        """0x80040400 (QuickBooks cannot read it) fails the job and the session goes on."""
        (bad,) = rig.enqueue("1")
        (good,) = rig.enqueue("2")
        rig.qb.fail_processing("0x80040400", "QuickBooks found an error when parsing.")
        result = rig.run()
        assert result.completed
        assert rig.job(bad).status == "failed"
        assert rig.job(bad).error.code == "0x80040400"  # type: ignore[union-attr]
        assert rig.job(good).status == "done"

    def test_retry_requeues_a_failed_job(self, rig: Rig) -> None:
        """service.retry() puts a failed job back; after the fix it goes through."""
        (job,) = rig.enqueue("1", customer="New Customer")
        rig.run()
        assert rig.job(job).status == "failed"
        rig.qb.add_customer("New Customer")
        rig.service.retry(job.id)
        rig.run()
        assert rig.job(job).status == "done"
        with pytest.raises(ConfigurationError, match="not failed"):
            rig.service.retry(job.id)


_SET_ID = re.compile(r' newMessageSetID="[^"]*"')


class TestRenderedWhenQueued:
    """Each request is checked and rendered once, at enqueue; a sync frames the stored text."""

    def test_enqueue_keeps_the_rendered_request_until_it_is_done(self, rig: Rig) -> None:
        """job.qbxml is render_request's text; the set sent holds it; done clears it."""
        from qbwc.qbxml import build_request, render_request

        model = invoice("1")
        (job,) = rig.enqueue("1")
        assert job.qbxml == render_request(model, version=rig.service.max_qbxml_version)

        result = rig.run()

        assert len(result.requests) == 1
        sent = result.requests[0]
        assert job.qbxml in sent
        set_id = re.search(r'newMessageSetID="([^"]+)"', sent)
        assert set_id is not None
        expected = build_request(
            [(job.id, model)],
            version="16.0",
            on_error="continueOnError",
            message_set_id=set_id.group(1),
        )
        assert sent == expected.decode("ascii")
        assert rig.job(job).status == "done"
        assert rig.job(job).qbxml is None

    @pytest.mark.parametrize("store", ["memory", "sqlite"])
    def test_a_job_without_it_is_rendered_at_the_sync(self, tmp_path: Path, store: str) -> None:
        """A job stored without its qbXML (a retry, another store) sends the same bytes."""
        with_text = _sqlite_rig(tmp_path) if store == "sqlite" else Rig()
        without = Rig()
        for r in (with_text, without):
            r.enqueue("1", "2")
        with without.store.transaction() as tx:
            for job in tx.list_jobs():
                tx.put_job(attrs.evolve(job, qbxml=None))

        sent = [[_SET_ID.sub("", text) for text in r.run().requests] for r in (with_text, without)]

        assert sent[0] == sent[1]
        assert len(sent[0]) == 2  # one per round trip (batch_size 1)
        assert [j.status for j in without.service.jobs(USER)] == ["done", "done"]

    def test_damaged_text_fails_only_its_job(self, rig: Rig) -> None:
        """Stored qbXML that is not ASCII fails that job; a retry renders it again."""
        bad, good = rig.enqueue("1", "2")
        stored = rig.job(bad)
        with rig.store.transaction() as tx:
            tx.put_job(attrs.evolve(stored, qbxml="<InvoiceAdd>\u00e9</InvoiceAdd>"))

        rig.run()

        failed = rig.job(bad)
        assert failed.status == "failed"
        assert failed.error is not None
        assert failed.error.code == "invalid"
        assert "stored qbXML is damaged" in failed.error.message
        assert failed.qbxml is None
        assert rig.job(good).status == "done"
        rig.service.retry(bad.id)
        rig.run()
        assert rig.job(bad).status == "done"
        assert rig.ref_numbers() == ["2", "1"]

    def test_version_checked_before_the_text(self, rig: Rig) -> None:
        """A job newer than QuickBooks fails with the field named, its text never sent."""
        rig.qb = FakeQuickBooks.sample(qbxml_version="5.0")
        rig.wc = FakeWebConnector(make_wsgi_app(rig.service), rig.qb)
        rig.wc.add_application(rig.qwc(), password=PASSWORD)
        (job,) = rig.enqueue("1", other="x")

        result = rig.run()

        assert result.requests == ()
        failed = rig.job(job)
        assert failed.status == "failed"
        assert failed.error is not None
        assert failed.error.code == "version"
        assert "InvoiceAdd.other needs qbXML 6.0" in failed.error.message


# --- 7. support references -----------------------------------------------------------------------


class TestSupportReferences:
    def test_every_error_carries_a_logged_reference(
        self, rig: Rig, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Each error text shown to the user has a QBWC-XXXXXX reference logged with details."""
        caplog.set_level(logging.INFO, logger="qbwc.service")
        rig.enqueue("1", customer="Nobody Inc")
        rig.run()
        rig.qb.switch_company(FakeQuickBooks(company_name="Other Co"))
        rig.enqueue("2")
        result = rig.run()
        shown = [result.last_error or "", result.status, rig.service.jobs(USER)[0].error.reference]  # type: ignore[union-attr]
        for text in shown:
            reference = REFERENCE.search(text)
            assert reference is not None, text
            logged = [r.getMessage() for r in caplog.records if reference.group() in r.getMessage()]
            assert logged, reference.group()
        assert any("Other Co" in m and "open_file" in m for m in caplog.messages)

    def test_passwords_never_logged(self, rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
        """Neither the right nor a wrong password appears in any log record."""
        caplog.set_level(logging.DEBUG)
        rig.enqueue("1")
        rig.run()
        rig.service.respond(AuthenticateCall(username=USER, password="wrong-secret-123"))
        assert all(PASSWORD not in m and "wrong-secret-123" not in m for m in caplog.messages)

    def test_faults_carry_references(self, rig: Rig) -> None:
        """A malformed body gets a SOAP fault (HTTP 500) whose text has a reference."""
        reply = rig.service.handle_http("POST", b"<not-soap/>")
        assert reply.status == 500
        assert b"Fault" in reply.body
        assert REFERENCE.search(reply.body.decode())


# --- 8. security ----------------------------------------------------------------------------------


class TestSecurity:
    def test_tickets_are_random_and_bound(self, rig: Rig) -> None:
        """Tickets come from secrets (long, distinct) and name their account."""
        rig.enqueue("1")
        first = rig.service.respond(AuthenticateCall(username=USER, password=PASSWORD))
        rig.clock.advance(rig.service.session_timeout + 1)
        second = rig.service.respond(AuthenticateCall(username=USER, password=PASSWORD))
        tickets = {first.ticket, second.ticket}  # type: ignore[attr-defined]
        assert len(tickets) == 2
        assert all(len(t) >= 40 for t in tickets)

    def test_ticket_expires(self, rig: Rig) -> None:
        """After session_timeout of silence a ticket gets the polite stale answers only."""
        rig.enqueue("1")
        auth = rig.service.respond(AuthenticateCall(username=USER, password=PASSWORD))
        rig.clock.advance(rig.service.session_timeout + 1)
        hcp = rig.qb.hcp_response(OWNER)
        reply = rig.service.respond(
            SendRequestXMLCall(
                ticket=auth.ticket,  # type: ignore[attr-defined]
                hcp_response=hcp,
                company_file_name=rig.qb.company_file,
                country="US",
                major_version=16,
                minor_version=0,
            )
        )
        assert reply == NoRequest()
        assert rig.qb.invoices == ()

    @pytest.mark.parametrize(
        "body",
        [
            b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>',
            b"<soap:Envelope xmlns:soap='http://www.w3.org/2003/05/soap-envelope'/>",
            b"\xff\xfe garbage",
            b"",
        ],
    )
    def test_hostile_bodies_get_faults(self, rig: Rig, body: bytes) -> None:
        """DTDs, SOAP 1.2, garbage and empty bodies get a fault and change nothing."""
        rig.enqueue("1")
        reply = rig.service.handle_http("POST", body)
        assert reply.status == 500
        assert rig.service.jobs(USER, status="pending")

    def test_out_of_order_call_is_a_fault_and_changes_nothing(self, rig: Rig) -> None:
        """receiveResponseXML before any request is refused with a fault; no job moves."""
        rig.enqueue("1")
        auth = rig.service.respond(AuthenticateCall(username=USER, password=PASSWORD))
        with pytest.raises(RemoteProtocolError):
            rig.service.respond(
                ReceiveResponseXMLCall(ticket=auth.ticket, response="<QBXML/>")  # type: ignore[attr-defined]
            )
        assert [j.status for j in rig.service.jobs(USER)] == ["pending"]


# --- 9. batching ----------------------------------------------------------------------------------


class TestBatching:
    def test_requests_per_round_trip(self) -> None:
        """batch_size=3 sends 7 jobs in 3 round trips; progress counts jobs."""
        r = Rig(batch_size=3)
        jobs = r.enqueue(*[str(n) for n in range(1, 8)])
        result = r.run()
        assert [q.count("<InvoiceAddRq ") for q in result.requests] == [3, 3, 1]
        assert result.progress == (42, 85, 100)
        _all_done_once(r, jobs, [str(n) for n in range(1, 8)])

    def test_default_is_one(self, rig: Rig) -> None:
        """By default each round trip carries one request."""
        rig.enqueue("1", "2")
        assert [q.count("<InvoiceAddRq ") for q in rig.run().requests] == [1, 1]

    def test_batch_with_a_failure(self) -> None:
        """In a batch, one refused request fails alone (continueOnError)."""
        r = Rig(batch_size=5)
        (a,) = r.enqueue("1")
        (b,) = r.enqueue("2", customer="Nobody Inc")
        (c,) = r.enqueue("3")
        r.run()
        assert [r.job(j).status for j in (a, b, c)] == ["done", "failed", "done"]


# --- the host's API ------------------------------------------------------------------------------


class TestEnqueue:
    def test_idempotent_on_key(self, rig: Rig) -> None:
        """Enqueueing the same request with the same key returns the same job."""
        (first,) = rig.enqueue("1")
        (again,) = rig.enqueue("1")
        assert first.id == again.id
        assert len(rig.service.jobs(USER)) == 1

    def test_key_reuse_for_other_request_refused(self, rig: Rig) -> None:
        """The same key for a different request is an error naming the key."""
        rig.enqueue("1")
        with pytest.raises(ConfigurationError, match="'inv-1' is already used by job"):
            rig.service.enqueue(USER, invoice("1", customer="Baker Residence"), key="inv-1")

    def test_invalid_request_refused_at_enqueue(self, rig: Rig) -> None:
        """A request that breaks a qbXML rule is refused when enqueued, naming the field."""
        with pytest.raises(QBXMLValidationError, match="ref_number"):
            rig.service.enqueue(USER, invoice("123456789012"))
        assert rig.service.jobs() == ()

    def test_estimates_too(self, rig: Rig) -> None:
        """EstimateAdd jobs go through like invoices and keep their TxnID and total."""
        estimate = EstimateAdd(
            customer_ref=Ref(full_name="Acme Corp"),
            ref_number="E-1",
            lines=[EstimateLineAdd(item_ref=Ref(full_name="Consulting"), quantity=Decimal(3))],
        )
        job = rig.service.enqueue(USER, estimate)
        rig.run()
        done = rig.service.job(job.id)
        assert done.status == "done"
        assert done.txn_id == rig.qb.estimates[0].txn_id
        assert done.response is not None
        assert done.response.total == rig.qb.estimates[0].total_amount
        assert rig.service.request_of(done) == estimate

    def test_unknown_job(self, rig: Rig) -> None:
        """job() of an unknown id answers None (a getter; see tests/test_accounts.py)."""
        assert rig.service.job("12345") is None


class TestHooks:
    def test_done_hook_gets_the_txn_id(self) -> None:
        """on_job_done receives the stored job with QuickBooks' TxnID (to keep with yours)."""
        seen: list[Job] = []
        r = Rig(on_job_done=seen.append)
        (job,) = r.enqueue("1")
        r.run()
        assert [j.id for j in seen] == [job.id]
        assert seen[0].txn_id == r.qb.invoices[0].txn_id
        assert seen[0] == r.job(job)

    def test_hook_errors_are_logged_not_fatal(self, caplog: pytest.LogCaptureFixture) -> None:
        """A hook that raises is logged with a reference; the sync and the job state stand."""

        def broken(job: Job) -> None:
            raise RuntimeError("host database down")

        r = Rig(on_job_done=broken)
        (job,) = r.enqueue("1")
        assert r.run().completed
        assert r.job(job).status == "done"
        assert any("host database down" in m and REFERENCE.search(m) for m in caplog.messages)


class TestQWC:
    def test_qwc_is_stable_and_names_the_account(self, rig: Rig) -> None:
        """The account's QWC file is the same bytes every time and carries its FileID."""
        from qbwc.qwc import QWCConfig

        first = rig.qwc()
        assert first == rig.qwc()
        config = QWCConfig.from_xml(first)
        account = rig.service.account(USER)
        assert account is not None
        assert config.file_id == account.file_id
        assert config.owner_id == OWNER
        assert config.user_name == USER
        assert config.app_name == "Acme Billing"

    def test_unknown_account(self, rig: Rig) -> None:
        """qwc() for an unknown account names the problem."""
        with pytest.raises(ConfigurationError, match="no account"):
            rig.qwc("nobody")

    def test_add_account_twice_refused(self, rig: Rig) -> None:
        """add_account refuses a username that already has a password."""
        with pytest.raises(ConfigurationError, match="already exists"):
            rig.service.add_account(USER, "x")


class TestHTTP:
    def test_wsdl(self, rig: Rig) -> None:
        """GET ?wsdl serves the WSDL with the given address."""
        reply = rig.service.handle_http("GET", query="wsdl", url="https://example.com/qbwc")
        assert reply.status == 200
        assert b"https://example.com/qbwc" in reply.body
        assert ("Content-Type", "text/xml; charset=utf-8") in reply.headers

    def test_other_methods(self, rig: Rig) -> None:
        """Other methods (and GET without ?wsdl) get 405 with an Allow header."""
        for method, query in (("PUT", ""), ("GET", ""), ("DELETE", "wsdl")):
            reply = rig.service.handle_http(method, query=query)
            assert reply.status == 405
            assert ("Allow", "GET, POST") in reply.headers

    def test_too_large(self) -> None:
        """A body over max_body_bytes gets 413 and a fault."""
        r = Rig(max_body_bytes=2048)
        reply = r.service.handle_http("POST", b"x" * 4096)
        assert reply.status == 413
        assert b"Fault" in reply.body


class TestSettings:
    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("batch_size", 0),
            ("max_attempts", 0),
            ("session_timeout", 0),
            ("max_qbxml_version", "99.0"),
            ("password_cost", 3),
            ("text_policy", "loose"),
            ("owner_id", "not-a-guid"),
        ],
    )
    def test_bad_settings_name_the_field(self, field: str, value: object) -> None:
        """Each invalid setting raises ConfigurationError naming it."""
        settings: dict[str, Any] = {"store": MemoryStore(), "owner_id": OWNER, field: value}
        with pytest.raises(ConfigurationError) as info:
            WebConnectorService(**settings)
        assert info.value.field == field

    def test_repr(self, rig: Rig) -> None:
        """The repr names the OwnerID and the store."""
        assert str(OWNER) in repr(rig.service)
        assert attrs.has(Job)


NEW_USER = "kristy.new@example.com"


class TestRenameAccount:
    @staticmethod
    def _rename_and_readd(r: Rig) -> None:
        """The host renames the account and the user adds the new QWC file."""
        r.service.rename_account(USER, NEW_USER)
        r.wc.add_application(r.qwc(NEW_USER), password=PASSWORD)  # no QBWC1039

    @pytest.mark.parametrize("store", ["memory", "sqlite"])
    def test_new_name_syncs_same_file_no_qbwc1039(self, store: str, tmp_path: Path) -> None:
        """After a rename the new QWC replaces the old, binds the same file and sends the queue."""
        r = _sqlite_rig(tmp_path) if store == "sqlite" else Rig()
        r.enqueue("1")
        assert r.run().completed
        before = r.service.account(USER)
        assert before is not None
        old_qwc = r.qwc(USER)
        waiting = r.enqueue("2", "3")
        renamed = r.service.rename_account(USER, NEW_USER)
        assert renamed == attrs.evolve(before, username=NEW_USER)
        assert r.service.account(USER) is None
        new_qwc = r.qwc(NEW_USER)
        assert new_qwc == old_qwc.replace(USER.encode(), NEW_USER.encode())
        r.wc.add_application(new_qwc, password=PASSWORD)
        assert list(r.wc.applications) == ["Acme Billing"]  # replaced, not added
        result = r.run()
        assert result.completed
        assert r.service.account(NEW_USER) == renamed  # the same link, not rebound
        _all_done_once(r, [*waiting], ["1", "2", "3"])
        assert [job.username for job in r.service.jobs(NEW_USER)] == [NEW_USER] * 3
        assert r.service.jobs(USER) == ()

    def test_old_name_gets_nvu(self, rig: Rig) -> None:
        """The Web Connector still holding the old QWC file is refused ("nvu"); nothing sent."""
        (job,) = rig.enqueue("1")
        rig.service.rename_account(USER, NEW_USER)
        refused = rig.run()
        assert refused.status == "Invalid password for username"
        assert rig.qb.invoices == ()
        assert rig.job(job).status == "pending"
        rig.wc.add_application(rig.qwc(NEW_USER), password=PASSWORD)
        assert rig.run().completed
        assert rig.ref_numbers() == ["1"]

    def test_lost_response_recovered_once_after_rename(self, rig: Rig) -> None:
        """A message set in flight at the rename is recovered (not resent) under the new name."""
        jobs = rig.enqueue("1", "2")
        rig.wc.inject(LoseQuickBooksResponse())
        rig.run()
        assert rig.job(jobs[0]).status == "sent"
        self._rename_and_readd(rig)
        result = rig.run()  # the old session was ended: no busy_timeout to wait out
        assert result.completed
        assert "oldMessageSetID" in result.requests[0]
        assert "InvoiceAdd" not in result.requests[0]
        _all_done_once(rig, jobs, ["1", "2"])
        assert rig.service.jobs(NEW_USER, status="sent") == ()

    def test_live_session_ends_politely(self, rig: Rig) -> None:
        """A session running at the rename gets the stale-ticket answers; the next one works."""
        (job,) = rig.enqueue("1")

        def rename_mid_session(call: object) -> None:
            if isinstance(call, SendRequestXMLCall):
                rig.wc.before_call = None
                rig.service.rename_account(USER, NEW_USER)

        rig.wc.before_call = rename_mid_session
        ended = rig.run()
        assert ended.calls[-3:] == ("sendRequestXML", "getLastError", "closeConnection")
        assert isinstance(ended.replies[-3], NoRequest)
        assert ended.last_error is not None
        assert ended.last_error.startswith("This update session has ended or expired.")
        assert ended.requests == ()
        assert rig.job(job).status == "pending"
        rig.wc.add_application(rig.qwc(NEW_USER), password=PASSWORD)
        assert rig.run().completed
        assert rig.ref_numbers() == ["1"]

    @pytest.mark.parametrize(
        ("old", "new", "field"),
        [
            ("nobody@example.com", NEW_USER, "old"),
            (USER, "other@example.com", "new"),
            (USER, USER, "new"),
            (USER, "", "new"),
        ],
    )
    def test_refused_names_the_field(self, rig: Rig, old: str, new: str, field: str) -> None:
        """Unknown old name, taken or empty new name: ConfigurationError naming it; no change."""
        rig.service.add_account("other@example.com", "pw")
        jobs = rig.enqueue("1")
        with pytest.raises(ConfigurationError) as info:
            rig.service.rename_account(old, new)
        assert info.value.field == field
        assert rig.service.account(USER) is not None
        assert rig.service.jobs(USER) == (rig.job(jobs[0]),)
        assert rig.run().completed


class TestMessageSetIdAsGenerated:
    def test_id_needing_escapes_is_recovered_exactly_once(self) -> None:
        """An in-flight set whose ID had to be escaped matches QuickBooks' echo after a loss."""
        import itertools
        import uuid
        from decimal import Decimal

        from qbwc import WebConnectorService
        from qbwc.qbxml import InvoiceAdd, InvoiceLineAdd, Ref
        from qbwc.store import MemoryStore
        from qbwc.testing import FakeQuickBooks, FakeWebConnector, LoseQuickBooksResponse
        from qbwc.wsgi import make_wsgi_app

        counter = itertools.count()
        clock = [1_767_225_600.0]
        service = WebConnectorService(
            store=MemoryStore(),
            owner_id=uuid.uuid4(),
            clock=lambda: clock[0],
            password_cost=2,
            token=lambda n: f"a&b<{next(counter):06d}" + "x" * n,
        )
        service.add_account("kristy", password="pw")
        quickbooks = FakeQuickBooks.sample()
        web_connector = FakeWebConnector(make_wsgi_app(service), quickbooks)
        qwc = service.qwc("kristy", app_url="https://localhost/q", app_support="https://localhost/")
        web_connector.add_application(qwc, password="pw")
        line = InvoiceLineAdd(item_ref=Ref(full_name="Consulting"), quantity=Decimal(1))
        invoice = InvoiceAdd(customer_ref=Ref(full_name="Acme Corp"), lines=[line])
        job = service.enqueue("kristy", invoice)

        web_connector.inject(LoseQuickBooksResponse())
        web_connector.run_session()
        clock[0] += 601  # the session that was handed the set has expired
        second = web_connector.run_session()

        assert second.completed
        assert 'oldMessageSetID="a&amp;b&lt;' in second.requests[0]
        assert len(quickbooks.invoices) == 1
        assert quickbooks.invoices[0].txn_id == service.job(job.id).txn_id


class TestStatementsPerSession:
    """
    The SQLite statements of one session (issue 14, "Done when": no worse than before):
    nothing read twice in one transaction, nothing read for nothing.
    """

    def test_one_add(self, tmp_path: Path) -> None:
        """A session that sends one InvoiceAdd, statement by statement, call by call."""
        from tests.rig import DirectWC

        rig = _sqlite_rig(tmp_path)
        rig.enqueue("1")
        assert rig.run().progress == (100,)  # the first login's chores are done
        rig.service.enqueue(USER, invoice("2"))  # no key: it links nothing
        rig.service.enqueue(USER, invoice("3"))  # left for the next session
        wc = DirectWC(rig)
        statements: list[str] = []
        assert isinstance(rig.store, SQLiteStore)
        rig.store._connection().set_trace_callback(statements.append)
        by_call: dict[str, list[str]] = {}
        for name, step, expected in (
            ("authenticate", wc.authenticate, Authenticated),
            ("sendRequestXML", wc.request, RequestXML),
            ("receiveResponseXML", lambda: (wc.run_quickbooks(), wc.answer())[1], Progress),
            ("closeConnection", wc.close, Goodbye),
        ):
            statements.clear()
            reply = step()
            by_call[name] = [" ".join(sql.split()) for sql in statements]
            assert isinstance(reply, expected), (name, reply)
        assert rig.ref_numbers() == ["1", "2"]
        assert reply == Goodbye(message="Connection Closed: 1 done, 0 failed, 1 waiting.")

        def count(call: str, fragment: str) -> int:
            return sum(sql.startswith("SELECT") and fragment in sql for sql in by_call[call])

        # The count of pending jobs at login was kept in the session and never read.
        assert count("authenticate", "count(*)") == 0
        # An Add's object is new: no other linkage can name it, none is read.
        assert count("receiveResponseXML", "links") == 0
        # The set in flight is read once, not again after this transaction cleared it.
        assert count("receiveResponseXML", "FROM in_flight") == 1
        # "1 done, 1 waiting": pending and sent jobs in one count.
        assert count("closeConnection", "count(*)") == 1
        # authenticate: the password is checked in a transaction of its own, then the
        # session starts (account, sessions, in flight, a job waiting, the new session).
        assert [len(by_call[call]) for call in by_call] == [10, 9, 11, 6]
