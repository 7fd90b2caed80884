"""
One contract suite for every store: the same scenarios and assertions.

A new store (PostgreSQL, ...) joins by adding a factory to ``STORES``.
"""

from __future__ import annotations

import datetime as dt
import itertools
import multiprocessing
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from qbwc.store import (
    JOB_STATUSES,
    Account,
    Follow,
    InFlight,
    JobError,
    JobResponse,
    JobStatus,
    Link,
    LoginVerifier,
    MemoryStore,
    PullMark,
    SessionRecord,
    SQLiteStore,
    StaleSessionError,
    Store,
    StoreError,
)
from tests.postgres import fresh_store as fresh_postgres_store

T0 = dt.datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=dt.UTC)

StoreFactory = Callable[[Path], Store]
STORES: dict[str, StoreFactory] = {
    "memory": lambda _path: MemoryStore(),
    "sqlite": lambda path: SQLiteStore(path / "qbwc.sqlite"),
    # A real server (tests/postgres.py: $QBWC_TEST_POSTGRES_DSN or a throwaway one; skips
    # without one, fails under CI), emptied for each test.
    "postgres": lambda _path: fresh_postgres_store(),
}


@pytest.fixture(params=sorted(STORES))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    s = STORES[request.param](tmp_path)
    yield s
    s.close()


_STATUSES = JOB_STATUSES


def _account(name: str = "kristy@example.com") -> Account:
    return Account(
        username=name,
        password_hash="scrypt$16$8$1$c2FsdA$aGFzaA",
        file_id=uuid.UUID("57F3B9B1-86F1-4FCC-B1EE-566DE1813D20"),
    )


def _add(tx: object, username: str = "u", key: str | None = None, n: int = 0) -> str:
    job = tx.add_job(  # type: ignore[attr-defined]
        username=username,
        key=key,
        request=f'{{"type": "InvoiceAdd", "n": {n}}}',
        request_type="InvoiceAdd",
        min_version="13.0",
        now=T0 + dt.timedelta(seconds=n),
    )
    return str(job.id)


def _session(ticket: str = "t1", username: str = "u", seq: int = 0) -> SessionRecord:
    return SessionRecord(
        ticket=ticket,
        username=username,
        state='{"phase": "READY"}',
        seq=seq,
        expires_at=T0 + dt.timedelta(minutes=5),
    )


class TestAccounts:
    def test_put_get_replace_list(self, store: Store) -> None:
        """An account round-trips exactly, is replaced by put, and lists by name."""
        account = _account()
        with store.transaction() as tx:
            assert tx.get_account(account.username) is None
            tx.put_account(account)
            tx.put_account(_account("aaron@example.com"))
        with store.transaction() as tx:
            assert account == tx.get_account(account.username, for_update=True)
            linked = attrs.evolve(
                account,
                linked_file_id=uuid.uuid4(),
                company_file="C:\\Company\\Acme.QBW",
                company_name="Acme & Sons",
                linked_at=T0,
            )
            tx.put_account(linked)
        with store.transaction() as tx:
            assert linked == tx.get_account(account.username)
            assert [a.username for a in tx.list_accounts()] == [
                "aaron@example.com",
                "kristy@example.com",
            ]

    def test_password_hash_not_in_repr(self) -> None:
        """The password hash never shows in a repr (logs, tracebacks)."""
        assert "scrypt" not in repr(_account())


class TestJobs:
    def test_ids_increase_and_key_lookup(self, store: Store) -> None:
        """Ids increase in enqueue order; a job is found by its key within its account only."""
        with store.transaction() as tx:
            a = _add(tx, key="invoice-1", n=1)
            b = _add(tx, key="invoice-2", n=2)
            c = _add(tx, username="other", key="invoice-1", n=3)
        assert int(a) < int(b) < int(c)
        with store.transaction() as tx:
            found = tx.find_job("u", "invoice-1")
            assert found is not None
            assert a == found.id
            other = tx.find_job("other", "invoice-1")
            assert other is not None
            assert c == other.id
            assert tx.find_job("u", "nope") is None
            assert tx.get_job("999999") is None
            assert tx.get_job("not-a-number") is None

    def test_duplicate_key_refused(self, store: Store) -> None:
        """A second job with the same key in one account is refused and nothing is added."""
        with store.transaction() as tx:
            _add(tx, key="k")
        with pytest.raises(StoreError, match="already has a job with key 'k'"):  # noqa: SIM117
            with store.transaction() as tx:
                _add(tx, key="k", n=1)
        with store.transaction() as tx:
            assert tx.count_jobs("u", "pending") == 1

    def test_job_round_trip(self, store: Store) -> None:
        """Every field of a finished job reads back exactly as written."""
        with store.transaction() as tx:
            job_id = _add(tx, key="k")
        with store.transaction() as tx:
            job = tx.get_job(job_id)
            assert job is not None
            assert job.status == "pending"
            assert job.created_at == T0
            done = attrs.evolve(
                job,
                status="done",
                attempts=2,
                txn_id="1A2-1234567890",
                response=JobResponse(
                    status_code=0,
                    status_severity="Info",
                    status_message="Status OK",
                    txn_id="1A2-1234567890",
                    txn_number=17,
                    ref_number="1042",
                    edit_sequence="1234567890",
                    total=Decimal("1234.50"),
                ),
                error=JobError(code="3180", message="locked", reference="QBWC-7F3K2Q"),
                deferred_ticket="t",
                updated_at=T0 + dt.timedelta(hours=1),
            )
            tx.put_job(done)
        with store.transaction() as tx:
            assert done == tx.get_job(job_id)

    def test_rendered_qbxml_kept_then_cleared(self, store: Store) -> None:
        """The qbXML given to add_job reads back as given; put_job replaces it (None clears it)."""
        text = "<InvoiceAdd><CustomerRef><FullName>A &amp; B</FullName></CustomerRef></InvoiceAdd>"
        with store.transaction() as tx:
            job = tx.add_job(
                username="u",
                key=None,
                request='{"type": "InvoiceAdd"}',
                request_type="InvoiceAdd",
                min_version="13.0",
                now=T0,
                qbxml=text,
            )
            assert job.qbxml == text
            plain_id = _add(tx, n=1)
        with store.transaction() as tx:
            stored = tx.get_job(job.id)
            assert stored == job
            assert stored is not None
            assert stored.qbxml == text
            assert tx.next_pending("u", limit=5)[0].qbxml == text
            assert tx.list_jobs(username="u")[0].qbxml == text
            plain = tx.get_job(plain_id)
            assert plain is not None
            assert plain.qbxml is None
            tx.put_job(attrs.evolve(stored, status="done", qbxml=None, updated_at=T0))
        with store.transaction() as tx:
            finished = tx.get_job(job.id)
            assert finished is not None
            assert (finished.status, finished.qbxml) == ("done", None)

    def test_unknown_job_refused(self, store: Store) -> None:
        """put_job of a job that does not exist raises StoreError."""
        with store.transaction() as tx:
            job = tx.get_job(_add(tx))
        assert job is not None
        with pytest.raises(StoreError):  # noqa: SIM117
            with store.transaction() as tx:
                tx.put_job(attrs.evolve(job, id="424242"))

    def test_impossible_ids_are_absent(self, store: Store) -> None:
        """An id no row can have (non-ASCII digits, too large, signed) is absent, not a crash."""
        with store.transaction() as tx:
            job = tx.get_job(_add(tx))
        assert job is not None
        for job_id in ("²", "٣", "-1", "", "9" * 30):
            with store.transaction() as tx:
                assert tx.get_job(job_id) is None
            with pytest.raises(StoreError):  # noqa: SIM117
                with store.transaction() as tx:
                    tx.put_job(attrs.evolve(job, id=job_id))

    def test_queue_order_limit_and_counts(self, store: Store) -> None:
        """Queue: oldest first, limited, deferred jobs skipped; a requeued job keeps its place."""
        with store.transaction() as tx:
            ids = [_add(tx, n=n) for n in range(5)]
            _add(tx, username="other", n=9)
        with store.transaction() as tx:
            assert ids[:3] == [j.id for j in tx.next_pending("u", limit=3)]
            first = tx.get_job(ids[0])
            second = tx.get_job(ids[1])
            assert first is not None
            assert second is not None
            tx.put_job(attrs.evolve(first, status="sent"))
            tx.put_job(attrs.evolve(second, deferred_ticket="T"))
            assert tx.count_jobs("u", "pending") == 4
            assert tx.count_jobs("u", "sent") == 1
            assert ids[2:4] == [j.id for j in tx.next_pending("u", limit=2, exclude_ticket="T")]
            assert ids[1:3] == [j.id for j in tx.next_pending("u", limit=2, exclude_ticket="X")]
        with store.transaction() as tx:
            tx.put_job(attrs.evolve(first, status="pending"))
            assert ids[:2] == [j.id for j in tx.next_pending("u", limit=2)]
            assert tx.count_jobs("u", "pending") == 5
            assert tx.count_jobs("u", "sent") == 0
            assert tx.count_jobs("nobody", "pending") == 0

    @pytest.mark.parametrize(
        "statuses",
        [c for n in range(1, 6) for c in itertools.combinations(_STATUSES, n)],
        ids="+".join,
    )
    def test_count_jobs_of_several_statuses(
        self, store: Store, statuses: tuple[JobStatus, ...]
    ) -> None:
        """count_jobs of several statuses (any set of them) is the sum of their counts."""
        with store.transaction() as tx:
            # One job of each status for u (two pending), one pending job for another.
            for n, status in enumerate(("pending", *_STATUSES)):
                job = tx.get_job(_add(tx, n=n))
                assert job is not None
                tx.put_job(attrs.evolve(job, status=status))
            _add(tx, username="other", n=9)
        with store.transaction() as tx:
            each = {status: tx.count_jobs("u", status) for status in _STATUSES}
            assert each == {"pending": 2, "sent": 1, "done": 1, "failed": 1, "cancelled": 1}
            assert tx.count_jobs("u", *statuses) == sum(each[s] for s in statuses)
            # A status named twice counts once.
            assert tx.count_jobs("u", statuses[0], *statuses) == sum(each[s] for s in statuses)
            assert tx.count_jobs("nobody", *statuses) == 0

    def test_list_jobs_filters(self, store: Store) -> None:
        """list_jobs filters by account and status, oldest first, with a limit."""
        with store.transaction() as tx:
            a = _add(tx, n=1)
            b = _add(tx, username="v", n=2)
            c = _add(tx, n=3)
            job = tx.get_job(c)
            assert job is not None
            tx.put_job(attrs.evolve(job, status="failed"))
        with store.transaction() as tx:
            assert [a, b, c] == [j.id for j in tx.list_jobs()]
            assert [a, c] == [j.id for j in tx.list_jobs(username="u")]
            assert [c] == [j.id for j in tx.list_jobs(status="failed")]
            assert [a] == [j.id for j in tx.list_jobs(username="u", status="pending")]
            assert [a] == [j.id for j in tx.list_jobs(limit=1)]


class TestDependenciesAndQueryPages:
    """Schema version 3: a job may wait for another; a query's result is kept in pages."""

    def test_after_and_page_size_round_trip(self, store: Store) -> None:
        with store.transaction() as tx:
            first = _add(tx, n=1)
            job = tx.add_job(
                username="u",
                key="q",
                request='{"type": "CustomerQuery"}',
                request_type="CustomerQuery",
                min_version="1.0",
                now=T0,
                after=first,
                page_size=500,
            )
            assert (job.after, job.page_size, job.pages, job.records) == (first, 500, 0, 0)
        with store.transaction() as tx:
            assert tx.get_job(job.id) == job
            assert tx.find_job("u", "q") == job
            counted = attrs.evolve(job, pages=3, records=1234, updated_at=T0)
            tx.put_job(counted)
        with store.transaction() as tx:
            assert tx.get_job(job.id) == counted
            assert tx.list_jobs(username="u")[1] == counted

    def test_a_waiting_job_is_not_handed_out(self, store: Store) -> None:
        """next_pending skips a job whose dependency exists and is not done."""
        with store.transaction() as tx:
            a = _add(tx, n=1)
            b = tx.add_job(username="u", key=None, request="{}", request_type="InvoiceAdd",
                           min_version="1.0", now=T0, after=a)  # fmt: skip
            c = _add(tx, n=3)
            assert [j.id for j in tx.next_pending("u", limit=5)] == [a, c]
            assert [j.id for j in tx.dependents(a)] == [b.id]
            assert tx.dependents(c) == ()
            assert tx.dependents("not-an-id") == ()
        for status in ("sent", "failed", "cancelled", "pending"):
            with store.transaction() as tx:
                first = tx.get_job(a)
                assert first is not None
                tx.put_job(attrs.evolve(first, status=status))
                assert [j.id for j in tx.next_pending("u", limit=5)] == (
                    [a, c] if status == "pending" else [c]
                )
        with store.transaction() as tx:
            first = tx.get_job(a)
            assert first is not None
            tx.put_job(attrs.evolve(first, status="done", updated_at=T0))
            assert [j.id for j in tx.next_pending("u", limit=5)] == [b.id, c]
        with store.transaction() as tx:  # a dependency that was pruned (done) holds nothing
            assert tx.prune_jobs(T0 + dt.timedelta(seconds=1)) == 1
            assert [j.id for j in tx.next_pending("u", limit=5)] == [b.id, c]

    def test_query_pages(self, store: Store) -> None:
        rets = "<CustomerQueryRs statusCode='0'><CustomerRet><Name>Zoë</Name></CustomerRet>"
        with store.transaction() as tx:
            job = tx.get_job(_add(tx))
            other = _add(tx, n=1)
            assert job is not None
            tx.put_query_page(job.id, 0, rets)
            tx.put_query_page(job.id, 1, "second")
            tx.put_query_page(other, 0, "other's")
        with store.transaction() as tx:
            assert tx.get_query_page(job.id, 0) == rets
            assert tx.get_query_page(job.id, 1) == "second"
            assert tx.get_query_page(job.id, 2) is None
            assert tx.get_query_page("999999", 0) is None
            assert tx.get_query_page("x", 0) is None
            tx.put_query_page(job.id, 1, "replaced")
            assert tx.get_query_page(job.id, 1) == "replaced"
        with pytest.raises(StoreError, match="does not exist"):  # noqa: SIM117
            with store.transaction() as tx:
                tx.put_query_page("999999", 0, "x")
        with pytest.raises(RuntimeError), store.transaction() as tx:  # noqa: PT012
            assert tx.drop_query_pages(job.id) == 2
            raise RuntimeError
        with store.transaction() as tx:
            assert tx.get_query_page(job.id, 1) == "replaced"  # rolled back
            assert tx.drop_query_pages(job.id) == 2
            assert tx.get_query_page(job.id, 0) is None
            assert tx.drop_query_pages(job.id) == 0
            assert tx.get_query_page(other, 0) == "other's"

    def test_pruned_with_their_job(self, store: Store) -> None:
        with store.transaction() as tx:
            job = tx.get_job(_add(tx))
            kept = _add(tx, n=1)
            assert job is not None
            tx.put_query_page(job.id, 0, "page")
            tx.put_query_page(kept, 0, "kept")
            tx.put_job(attrs.evolve(job, status="done", updated_at=T0))
        with store.transaction() as tx:
            assert tx.prune_jobs(T0 + dt.timedelta(seconds=1)) == 1
            assert tx.get_query_page(job.id, 0) is None
            assert tx.get_query_page(kept, 0) == "kept"


class TestSessions:
    def test_compare_and_set(self, store: Store) -> None:
        """A session is created at seq 0; each write needs the current seq and bumps it."""
        with store.transaction() as tx:
            created = tx.put_session(_session(), expected_seq=None)
            assert created.seq == 0
            with pytest.raises(StaleSessionError):
                tx.put_session(_session(), expected_seq=None)
        with store.transaction() as tx:
            stored = tx.get_session("t1")
            assert created == stored
            updated = tx.put_session(attrs.evolve(created, state="{}"), expected_seq=0)
            assert updated.seq == 1
            with pytest.raises(StaleSessionError):
                tx.put_session(attrs.evolve(created, state="stale"), expected_seq=0)
        with store.transaction() as tx:
            assert updated == tx.get_session("t1")

    def test_sessions_for_delete_and_purge(self, store: Store) -> None:
        """Sessions list per account, delete is idempotent, and purge drops only expired ones."""
        with store.transaction() as tx:
            tx.put_session(_session("a"), expected_seq=None)
            tx.put_session(
                attrs.evolve(_session("b"), expires_at=T0 - dt.timedelta(seconds=1)),
                expected_seq=None,
            )
            tx.put_session(_session("c", username="v"), expected_seq=None)
        with store.transaction() as tx:
            assert {"a", "b"} == {r.ticket for r in tx.sessions_for("u")}
            assert tx.purge_sessions(T0) == 1
            assert {"a"} == {r.ticket for r in tx.sessions_for("u")}
            tx.delete_session("a")
            tx.delete_session("a")
            assert tx.get_session("a") is None
            assert tx.get_session("c") is not None

    def test_ticket_not_in_repr(self) -> None:
        """A ticket is a secret: it never shows in a repr."""
        assert "secret-ticket" not in repr(_session("secret-ticket"))


class TestInFlight:
    def test_put_get_clear(self, store: Store) -> None:
        """The in-flight set is one per account, replaced by put, removed by clear."""
        first = InFlight(
            username="u",
            message_set_id="abc",
            job_ids=("1", "2"),
            version="13.0",
            ticket="t",
            sent_at=T0,
        )
        with store.transaction() as tx:
            assert tx.get_in_flight("u") is None
            tx.put_in_flight(first)
        with store.transaction() as tx:
            assert first == tx.get_in_flight("u")
            check = attrs.evolve(first, kind="check", job_ids=())
            tx.put_in_flight(check)
            assert check == tx.get_in_flight("u")
            assert tx.get_in_flight("v") is None
            tx.clear_in_flight("u")
            tx.clear_in_flight("u")
            assert tx.get_in_flight("u") is None


class TestRenameAccount:
    @staticmethod
    def _fill(store: Store) -> tuple[Account, InFlight, list[str], str]:
        account = attrs.evolve(
            _account("u"),
            linked_file_id=uuid.uuid4(),
            company_file="C:\\Company\\Acme.QBW",
            company_name="Acme",
            linked_at=T0,
        )
        in_flight = InFlight(
            username="u", message_set_id="m1", job_ids=("1",), version="13.0", ticket="t1",
            sent_at=T0,
        )  # fmt: skip
        with store.transaction() as tx:
            tx.put_account(account)
            tx.put_account(_account("other"))
            ids = [_add(tx, key="a", n=1), _add(tx, key="b", n=2), _add(tx, n=3)]
            sent = tx.get_job(ids[0])
            assert sent is not None
            tx.put_job(attrs.evolve(sent, status="sent", attempts=1))
            other = _add(tx, "other", key="a", n=4)
            tx.put_session(_session("t1"), expected_seq=None)
            tx.put_session(_session("t2", username="other"), expected_seq=None)
            tx.put_in_flight(in_flight)
        return account, in_flight, ids, other

    def test_everything_moves_sessions_end(self, store: Store) -> None:
        """The account, its jobs (keys too) and in-flight set move; its sessions are deleted."""
        account, in_flight, ids, other = self._fill(store)
        with store.transaction() as tx:
            renamed = tx.rename_account("u", "v")
        assert renamed == attrs.evolve(account, username="v")
        with store.transaction() as tx:
            assert tx.get_account("u") is None
            assert tx.get_account("v", for_update=True) == renamed
            assert [a.username for a in tx.list_accounts()] == ["other", "v"]
            assert [(j.id, j.username) for j in tx.list_jobs(username="v")] == [
                (i, "v") for i in ids
            ]
            assert tx.list_jobs(username="u") == ()
            assert [j.id for j in tx.next_pending("v", limit=10)] == ids[1:]
            assert tx.next_pending("u", limit=10) == ()
            assert (tx.count_jobs("v", "pending"), tx.count_jobs("v", "sent")) == (2, 1)
            assert (tx.count_jobs("u", "pending"), tx.count_jobs("u", "sent")) == (0, 0)
            found = tx.find_job("v", "a")
            assert found is not None
            assert found.id == ids[0]
            assert tx.find_job("u", "a") is None
            with pytest.raises(StoreError):
                _add(tx, "v", key="b", n=5)  # keys stay unique per account
            assert tx.get_session("t1") is None
            assert tx.sessions_for("v") == ()
            assert tx.get_session("t2") is not None
            assert tx.get_in_flight("u") is None
            assert tx.get_in_flight("v") == attrs.evolve(in_flight, username="v")
            moved = tx.get_job(ids[1])
            assert moved is not None
            tx.put_job(attrs.evolve(moved, status="done", txn_id="T-1"))
            assert tx.count_jobs("v", "done") == 1
            other_job = tx.get_job(other)
            assert other_job is not None
            assert other_job.username == "other"
        with store.transaction() as tx:
            assert _add(tx, "u", key="a", n=6) not in ids  # the old name's keys are free

    def test_links_follows_and_marks_move(self, store: Store) -> None:
        """Schema version 4: the account's links, follows and marks move with it."""
        self._fill(store)
        with store.transaction() as tx:
            tx.put_link(_link("proj-1"))
            tx.put_link(_link("inv", type="Invoice", list_id=None, txn_id="1A-1"))
            tx.put_link(_link("proj-1", username="other"))
            tx.put_follow(_follow("Bill", state="{}", file_id=FILE_A))
            tx.put_marks([_mark("1A-1"), _mark("1A-2", edit_sequence=None)])
            tx.rename_account("u", "v")
        with store.transaction() as tx:
            assert tx.list_links("u") == ()
            assert tx.list_follows("u") == ()
            assert tx.get_marks("u", "Bill", ["1A-1", "1A-2"]) == {}
            assert tx.list_links("v") == (
                _link("inv", username="v", type="Invoice", list_id=None, txn_id="1A-1"),
                _link("proj-1", username="v"),
            )
            assert [link.key for link in tx.links_to("v", "1A-1")] == ["inv"]
            assert tx.list_follows("v") == (
                _follow("Bill", username="v", state="{}", file_id=FILE_A),
            )
            assert tx.get_marks("v", "Bill", ["1A-1", "1A-2"]) == {
                "1A-1": _mark("1A-1", username="v"),
                "1A-2": _mark("1A-2", username="v", edit_sequence=None),
            }
            assert tx.get_link("other", "proj-1") == _link("proj-1", username="other")

    @pytest.mark.parametrize("kind", ["link", "follow", "mark"])
    def test_refused_onto_a_name_with_rows(self, store: Store, kind: str) -> None:
        """A new name that already has links, follows or marks is refused; nothing moves."""
        account, _, _, _ = self._fill(store)
        with store.transaction() as tx:
            tx.put_link(_link("mine"))
            if kind == "link":
                tx.put_link(_link("mine", username="taken"))
            elif kind == "follow":
                tx.put_follow(_follow("Bill", username="taken"))
            else:
                tx.put_marks([_mark("1A-1", username="taken")])
        with store.transaction() as tx, pytest.raises(StoreError, match="already exists"):
            tx.rename_account("u", "taken")
        with store.transaction() as tx:
            assert tx.get_account("u") == account
            assert tx.list_links("u") == (_link("mine"),)

    def test_refused_changes_nothing(self, store: Store) -> None:
        """An unknown old name, a taken new name, or one that has jobs: StoreError."""
        account, _, ids, _ = self._fill(store)
        with store.transaction() as tx:
            _add(tx, "orphan", n=9)
        for old, new in [("nobody", "v"), ("u", "other"), ("u", "orphan")]:
            with store.transaction() as tx, pytest.raises(StoreError):
                tx.rename_account(old, new)
        with store.transaction() as tx:
            assert tx.get_account("u") == account
            assert [j.id for j in tx.list_jobs(username="u")] == ids
            assert tx.get_session("t1") is not None

    def test_rolled_back_with_the_transaction(self, store: Store) -> None:
        """A rename inside a transaction that fails leaves every record as it was."""
        account, in_flight, ids, _ = self._fill(store)

        def rename_then_fail() -> None:
            with store.transaction() as tx:
                tx.rename_account("u", "v")
                raise RuntimeError

        with pytest.raises(RuntimeError):
            rename_then_fail()
        with store.transaction() as tx:
            assert tx.get_account("u") == account
            assert tx.get_account("v") is None
            assert [j.username for j in tx.list_jobs(username="u")] == ["u"] * 3
            assert tx.list_jobs(username="v") == ()
            assert [j.id for j in tx.next_pending("u", limit=10)] == ids[1:]
            assert tx.count_jobs("u", "pending") == 2
            assert tx.count_jobs("v", "pending") == 0
            found = tx.find_job("u", "b")
            assert found is not None
            assert found.id == ids[1]
            assert tx.find_job("v", "b") is None
            assert tx.get_session("t1") is not None
            assert tx.get_in_flight("u") == in_flight
            assert tx.get_in_flight("v") is None


FILE_A = uuid.UUID("0f6c7c3e-2f0a-4a4e-9a59-6b1f5d8f0a01")
FILE_B = uuid.UUID("0f6c7c3e-2f0a-4a4e-9a59-6b1f5d8f0b02")


def _link(key: str, username: str = "u", **changes: Any) -> Link:
    fields: dict[str, Any] = {
        "username": username,
        "key": key,
        "type": "Customer",
        "list_id": f"80000001-{key}",
        "edit_sequence": "1700000000",
        "full_name": f"Acme:{key}",
        "file_id": FILE_A,
        "seen_at": T0,
    }
    fields.update(changes)
    return Link(**fields)


def _follow(type_: str, username: str = "u", **changes: Any) -> Follow:
    fields: dict[str, Any] = {
        "username": username,
        "type": type_,
        "spec": '{"page_size": 500}',
        "updated_at": T0,
    }
    fields.update(changes)
    return Follow(**fields)


def _mark(object_id: str, username: str = "u", type_: str = "Bill", **changes: Any) -> PullMark:
    fields: dict[str, Any] = {
        "username": username,
        "type": type_,
        "object_id": object_id,
        "edit_sequence": "1700000001",
        "file_id": FILE_A,
        "seen_at": T0,
    }
    fields.update(changes)
    return PullMark(**fields)


class TestLinks:
    """Schema version 4: the host's keys for QuickBooks objects (docs/service.md)."""

    def test_put_get_replace_delete(self, store: Store) -> None:
        """A link round-trips exactly, put replaces it, delete says whether it was there."""
        txn = _link("inv-7", type="Invoice", list_id=None, txn_id="1A-123", full_name=None)
        bare = Link(username="u", key="bare", type="Vendor", file_id=FILE_B, seen_at=T0)
        with store.transaction() as tx:
            assert tx.get_link("u", "proj-1") is None
            tx.put_link(_link("proj-1"))
            tx.put_link(txn)
            tx.put_link(bare)
            tx.put_link(_link("proj-1", username="other"))
        with store.transaction() as tx:
            assert tx.get_link("u", "proj-1") == _link("proj-1")
            assert tx.get_link("u", "inv-7") == txn
            assert tx.get_link("u", "bare") == bare
            assert tx.get_link("other", "proj-1") == _link("proj-1", username="other")
            assert tx.get_link("nobody", "proj-1") is None
            changed = _link("proj-1", edit_sequence="1700000099", full_name="Acme:Renamed",
                            seen_at=T0 + dt.timedelta(hours=1), file_id=FILE_B)  # fmt: skip
            tx.put_link(changed)
        with store.transaction() as tx:
            assert tx.get_link("u", "proj-1") == changed
            assert tx.delete_link("u", "proj-1") is True
            assert tx.delete_link("u", "proj-1") is False
            assert tx.delete_link("nobody", "inv-7") is False
        with store.transaction() as tx:
            assert tx.get_link("u", "proj-1") is None
            assert tx.get_link("other", "proj-1") is not None  # another account's stays

    def test_list_by_key_and_type(self, store: Store) -> None:
        """list_links orders by key (code points, as Python sorts), optionally of one type."""
        keys = ["b", "B", "a-10", "a-9", "Z", "\u00e9t\u00e9", "\u4e2d"]
        with store.transaction() as tx:
            for n, key in enumerate(keys):
                tx.put_link(_link(key, type="Invoice" if n % 2 else "Customer"))
            tx.put_link(_link("zzz", username="other"))
        with store.transaction() as tx:
            assert [link.key for link in tx.list_links("u")] == sorted(keys)
            assert [link.key for link in tx.list_links("u", type="Invoice")] == sorted(keys[1::2])
            assert [link.key for link in tx.list_links("u", type="Customer")] == sorted(keys[::2])
            assert tx.list_links("u", type="Bill") == ()
            assert tx.list_links("nobody") == ()
            assert tx.list_links("u")[0] == _link(sorted(keys)[0], type="Invoice")

    def test_links_to_an_object(self, store: Store) -> None:
        """links_to finds the account's links by ListID or by TxnID, ordered by key."""
        with store.transaction() as tx:
            tx.put_link(_link("job-2", list_id="80000001-X"))
            tx.put_link(_link("job-1", list_id="80000001-X"))
            tx.put_link(_link("inv", type="Invoice", list_id=None, txn_id="80000001-X"))
            tx.put_link(_link("txn", type="Bill", list_id=None, txn_id="1B-2"))
            tx.put_link(_link("job-1", username="other", list_id="80000001-X"))
        with store.transaction() as tx:
            assert [link.key for link in tx.links_to("u", "80000001-X")] == [
                "inv",
                "job-1",
                "job-2",
            ]
            assert [link.key for link in tx.links_to("u", "1B-2")] == ["txn"]
            assert tx.links_to("u", "nothing") == ()
            assert [link.username for link in tx.links_to("other", "80000001-X")] == ["other"]

    def test_drop_links(self, store: Store) -> None:
        """drop_links forgets every link of one account and says how many."""
        with store.transaction() as tx:
            for key in ("a", "b", "c"):
                tx.put_link(_link(key))
            tx.put_link(_link("a", username="other"))
        with store.transaction() as tx:
            assert tx.drop_links("u") == 3
            assert tx.drop_links("u") == 0
            assert tx.drop_links("nobody") == 0
        with store.transaction() as tx:
            assert tx.list_links("u") == ()
            assert tx.get_link("u", "a") is None
            assert tx.links_to("u", "80000001-a") == ()
            assert [link.key for link in tx.list_links("other")] == ["a"]
            tx.put_link(_link("a"))  # the key is free again
            assert tx.get_link("u", "a") == _link("a")


class TestFollows:
    """Schema version 4: declared pulls and their progress (docs/service.md)."""

    def test_put_get_replace_delete_list(self, store: Store) -> None:
        """A follow round-trips exactly, put replaces it, list orders by type, delete reports."""
        running = _follow("Bill", state='{"cursor": "2024-05-01T12:00:00"}', file_id=FILE_A)
        with store.transaction() as tx:
            assert tx.get_follow("u", "Bill") is None
            tx.put_follow(running)
            tx.put_follow(_follow("ReceivePayment"))
            tx.put_follow(_follow("Check"))
            tx.put_follow(_follow("Bill", username="other"))
        with store.transaction() as tx:
            assert tx.get_follow("u", "Bill") == running
            assert tx.get_follow("u", "Check") == _follow("Check")
            assert [f.type for f in tx.list_follows("u")] == ["Bill", "Check", "ReceivePayment"]
            assert tx.list_follows("nobody") == ()
            later = _follow("Bill", spec='{"page_size": 50}', state='{"cursor": "x"}',
                            file_id=FILE_B, updated_at=T0 + dt.timedelta(days=1))  # fmt: skip
            tx.put_follow(later)
        with store.transaction() as tx:
            assert tx.get_follow("u", "Bill") == later
            assert tx.delete_follow("u", "Bill") is True
            assert tx.delete_follow("u", "Bill") is False
            assert tx.delete_follow("nobody", "Bill") is False
        with store.transaction() as tx:
            assert [f.type for f in tx.list_follows("u")] == ["Check", "ReceivePayment"]
            assert tx.get_follow("other", "Bill") == _follow("Bill", username="other")

    def test_reset_keeps_declarations(self, store: Store) -> None:
        """reset_follows clears state and file_id of every follow of one account; counts states."""
        with store.transaction() as tx:
            tx.put_follow(_follow("Bill", state='{"c": 1}', file_id=FILE_A))
            tx.put_follow(_follow("Check", state='{"c": 2}', file_id=FILE_A))
            tx.put_follow(_follow("ReceivePayment"))
            tx.put_follow(_follow("Bill", username="other", state='{"c": 3}', file_id=FILE_A))
        with store.transaction() as tx:
            assert tx.reset_follows("u") == 2
        with store.transaction() as tx:
            assert tx.list_follows("u") == tuple(
                _follow(t) for t in ("Bill", "Check", "ReceivePayment")
            )
            assert tx.reset_follows("u") == 0
            assert tx.reset_follows("nobody") == 0
            other = tx.get_follow("other", "Bill")
            assert other is not None
            assert (other.state, other.file_id) == ('{"c": 3}', FILE_A)


class TestPullMarks:
    """Schema version 4: changes already delivered, by ID and EditSequence (docs/service.md)."""

    def test_put_get_replace(self, store: Store) -> None:
        """Marks round-trip, are keyed by account, type and object id; put replaces."""
        deleted = _mark("T-3", edit_sequence=None, file_id=FILE_B)
        with store.transaction() as tx:
            assert tx.get_marks("u", "Bill", ["T-1"]) == {}
            tx.put_marks([_mark("T-1"), _mark("T-2"), deleted])
            tx.put_marks([_mark("T-1", type_="Check"), _mark("T-1", username="other")])
            tx.put_marks([])
        with store.transaction() as tx:
            assert tx.get_marks("u", "Bill", ["T-3", "T-1", "nope", "T-1"]) == {
                "T-3": deleted,
                "T-1": _mark("T-1"),
            }
            assert tx.get_marks("u", "Check", ["T-1", "T-2"]) == {
                "T-1": _mark("T-1", type_="Check")
            }
            assert tx.get_marks("u", "Bill", []) == {}
            assert tx.get_marks("nobody", "Bill", ["T-1"]) == {}
            newer = _mark("T-1", edit_sequence="1700000999", seen_at=T0 + dt.timedelta(days=2))
            # The same key twice in one call: the last wins.
            tx.put_marks([_mark("T-2", edit_sequence="x"), newer, _mark("T-2", edit_sequence="y")])
        with store.transaction() as tx:
            assert tx.get_marks("u", "Bill", ["T-1", "T-2"]) == {
                "T-1": newer,
                "T-2": _mark("T-2", edit_sequence="y"),
            }

    def test_many_ids_and_drop(self, store: Store) -> None:
        """10,000 marks in one call, read back by 10,000 ids; drop_marks counts one account's."""
        ids = [f"{n:05d}-1700000000" for n in range(10_000)]
        with store.transaction() as tx:
            tx.put_marks([_mark(i) for i in ids[::2]])
            tx.put_marks([_mark("x", username="other")])
        with store.transaction() as tx:
            found = tx.get_marks("u", "Bill", ids)
            assert list(found) == ids[::2]  # in the order asked
            assert all(mark == _mark(key) for key, mark in found.items())
            assert tx.drop_marks("u") == 5_000
            assert tx.drop_marks("u") == 0
        with store.transaction() as tx:
            assert tx.get_marks("u", "Bill", ids) == {}
            assert tx.get_marks("other", "Bill", ["x"]) == {"x": _mark("x", username="other")}

    def test_rolled_back_with_the_transaction(self, store: Store) -> None:
        """Links, follows and marks changed in a failed transaction are as they were."""
        with store.transaction() as tx:
            tx.put_link(_link("kept"))
            tx.put_follow(_follow("Bill", state="{}", file_id=FILE_A))
            tx.put_marks([_mark("T-1")])

        def change_then_fail() -> None:
            with store.transaction() as tx:
                tx.put_link(_link("new"))
                tx.put_link(_link("kept", full_name="changed"))
                tx.put_follow(_follow("Check"))
                tx.put_marks([_mark("T-2"), _mark("T-1", edit_sequence="2")])
                assert tx.reset_follows("u") == 1
                assert tx.drop_links("u") == 2
                assert tx.drop_marks("u") == 2
                raise RuntimeError

        with pytest.raises(RuntimeError):
            change_then_fail()
        with store.transaction() as tx:
            assert tx.list_links("u") == (_link("kept"),)
            assert tx.list_follows("u") == (_follow("Bill", state="{}", file_id=FILE_A),)
            assert tx.get_marks("u", "Bill", ["T-1", "T-2"]) == {"T-1": _mark("T-1")}


class TestSettings:
    def test_put_get_replace(self, store: Store) -> None:
        """A setting round-trips, is replaced by put, and is None when absent."""
        with store.transaction() as tx:
            assert tx.get_setting("owner_id") is None
            tx.put_setting("owner_id", "{A}")
        with store.transaction() as tx:
            assert tx.get_setting("owner_id") == "{A}"
            tx.put_setting("owner_id", "{B}")
            assert tx.get_setting("owner_id") == "{B}"


class TestLoginVerifiers:
    @staticmethod
    def _verifier(name: str = "u", digest: str = "d1", minutes: int = 1) -> LoginVerifier:
        return LoginVerifier(
            username=name, digest=digest, expires_at=T0 + dt.timedelta(minutes=minutes)
        )

    def test_put_get_replace_drop(self, store: Store) -> None:
        """A verifier round-trips exactly (to the microsecond), is replaced, and dropped."""
        with store.transaction() as tx:
            assert tx.get_login_verifier("u") is None
            tx.put_login_verifier(self._verifier())
            tx.put_login_verifier(self._verifier("v", "dv"))
        with store.transaction() as tx:
            assert tx.get_login_verifier("u") == self._verifier()
            tx.put_login_verifier(self._verifier(digest="d2", minutes=2))
            assert tx.get_login_verifier("u") == self._verifier(digest="d2", minutes=2)
        with store.transaction() as tx:
            tx.drop_login_verifier("u")
            tx.drop_login_verifier("u")  # absent: no error
            tx.drop_login_verifier("nobody", refused=True)
            assert tx.get_login_verifier("u") is None
        with store.transaction() as tx:
            assert tx.get_login_verifier("u") is None
            assert tx.get_login_verifier("v") == self._verifier("v", "dv")
            tx.drop_login_verifier("v", refused=True)
        with store.transaction() as tx:
            assert tx.get_login_verifier("v") is None

    def test_digest_not_in_repr(self) -> None:
        assert "secret-digest" not in repr(self._verifier(digest="secret-digest"))

    def test_rename_drops_it(self, store: Store) -> None:
        """A renamed account has no verifier under either name."""
        with store.transaction() as tx:
            tx.put_account(_account("old"))
            tx.put_login_verifier(self._verifier("old"))
        with store.transaction() as tx:
            tx.rename_account("old", "new")
        with store.transaction() as tx:
            assert tx.get_login_verifier("old") is None
            assert tx.get_login_verifier("new") is None

    def test_rolled_back(self, store: Store) -> None:
        """Put and drop are undone with the transaction."""
        with store.transaction() as tx:
            tx.put_login_verifier(self._verifier("kept"))

        def change_then_fail() -> None:
            with store.transaction() as tx:
                tx.drop_login_verifier("kept", refused=True)
                tx.put_login_verifier(self._verifier("new"))
                raise RuntimeError

        with pytest.raises(RuntimeError):
            change_then_fail()
        with store.transaction() as tx:
            assert tx.get_login_verifier("kept") == self._verifier("kept")
            assert tx.get_login_verifier("new") is None


class TestTransactions:
    def test_exception_rolls_everything_back(self, store: Store) -> None:
        """An exception inside the block undoes every change made in it."""
        with store.transaction() as tx:
            kept = _add(tx, key="kept")
            tx.put_session(_session("keep"), expected_seq=None)
        with pytest.raises(RuntimeError):
            self._change_everything_then_fail(store, kept)
        with store.transaction() as tx:
            assert tx.list_accounts() == ()
            job = tx.get_job(kept)
            assert job is not None
            assert job.status == "pending"
            assert [kept] == [j.id for j in tx.next_pending("u", limit=10)]
            assert tx.count_jobs("u", "pending") == 1
            assert tx.count_jobs("u", "done") == 0
            assert tx.find_job("u", "lost") is None
            assert tx.get_session("new") is None
            assert tx.get_session("keep") is not None
            assert tx.get_in_flight("u") is None
            assert _add(tx, key="lost", n=3) != kept

    @staticmethod
    def _change_everything_then_fail(store: Store, kept: str) -> None:
        with store.transaction() as tx:
            tx.put_account(_account())
            job = tx.get_job(kept)
            assert job is not None
            tx.put_job(attrs.evolve(job, status="done", txn_id="X"))
            _add(tx, key="lost", n=2)
            tx.put_session(_session("new"), expected_seq=None)
            tx.delete_session("keep")
            tx.put_in_flight(
                InFlight(
                    username="u",
                    message_set_id="m",
                    job_ids=(kept,),
                    version="13.0",
                    ticket="t",
                    sent_at=T0,
                )
            )
            raise RuntimeError

    def test_no_nesting_and_no_use_after_end(self, store: Store) -> None:
        """A transaction cannot be nested, and its object is dead once the block ends."""
        with store.transaction() as tx:
            with pytest.raises(StoreError):  # noqa: SIM117
                with store.transaction():
                    pass
            tx.get_account("x")
        with pytest.raises(StoreError):
            tx.get_account("x")


_OPS = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.sampled_from(["u", "v"]), st.sampled_from([None, "a", "b"])),
        st.tuples(
            st.just("status"),
            st.integers(0, 6),
            st.sampled_from(["pending", "sent", "done", "failed"]),
        ),
        st.tuples(st.just("defer"), st.integers(0, 6), st.sampled_from([None, "T"])),
        st.tuples(st.just("rollback"), st.sampled_from(["u", "v"]), st.just(None)),
    ),
    max_size=25,
)


_USERS = st.sampled_from(["u", "v"])
_IDS = st.sampled_from(["80-1", "80-2", "1A-1"])
_LINK_OPS = st.lists(
    st.one_of(
        st.tuples(st.just("put_link"), _USERS, st.sampled_from(["k1", "k2", "K3"]), _IDS,
                  st.booleans()),
        st.tuples(st.just("delete_link"), _USERS, st.sampled_from(["k1", "k2", "K3"])),
        st.tuples(st.just("drop_links"), _USERS),
        st.tuples(st.just("put_follow"), _USERS, st.sampled_from(["Bill", "Check"]),
                  st.sampled_from([None, "{}", '{"c": 1}'])),
        st.tuples(st.just("delete_follow"), _USERS, st.sampled_from(["Bill", "Check"])),
        st.tuples(st.just("reset_follows"), _USERS),
        st.tuples(st.just("put_marks"), _USERS, st.lists(_IDS, max_size=4),
                  st.sampled_from([None, "1", "2"])),
        st.tuples(st.just("drop_marks"), _USERS),
        st.tuples(st.just("rename"), _USERS, _USERS),
        st.tuples(st.just("rollback"), _USERS),
    ),
    max_size=25,
)  # fmt: skip


class TestSameBehaviour:
    @given(ops=_OPS)
    def test_memory_and_sqlite_agree(
        self, tmp_path_factory: pytest.TempPathFactory, ops: list[tuple[str, object, object]]
    ) -> None:
        """Any sequence of queue operations leaves MemoryStore and SQLiteStore in the same state."""
        path = tmp_path_factory.mktemp("agree")
        stores: list[Store] = [MemoryStore(), SQLiteStore(path / "s.sqlite")]
        try:
            outcomes = [_replay(s, ops) for s in stores]
            assert outcomes[0] == outcomes[1]
        finally:
            for s in stores:
                s.close()

    @given(ops=_LINK_OPS)
    def test_memory_and_sqlite_agree_on_links_and_pulls(
        self, tmp_path_factory: pytest.TempPathFactory, ops: list[tuple[Any, ...]]
    ) -> None:
        """Any sequence of link, follow, mark and rename operations: the same answers and state."""
        path = tmp_path_factory.mktemp("agree")
        stores: list[Store] = [MemoryStore(), SQLiteStore(path / "s.sqlite")]
        try:
            outcomes = [_replay_links(s, ops) for s in stores]
            assert outcomes[0] == outcomes[1]
        finally:
            for s in stores:
                s.close()


def _replay_links(store: Store, ops: list[tuple[Any, ...]]) -> list[object]:
    seen: list[object] = []
    with store.transaction() as tx:
        tx.put_account(_account("u"))
    for op, user, *args in ops:
        try:
            with store.transaction() as tx:
                if op == "put_link":
                    key, object_id, is_txn = args
                    ids = {"txn_id": object_id} if is_txn else {"list_id": object_id}
                    tx.put_link(_link(key, username=user, **ids))
                elif op == "delete_link":
                    seen.append(tx.delete_link(user, args[0]))
                elif op == "drop_links":
                    seen.append(tx.drop_links(user))
                elif op == "put_follow":
                    type_, state = args
                    file_id = None if state is None else FILE_A
                    tx.put_follow(_follow(type_, username=user, state=state, file_id=file_id))
                elif op == "delete_follow":
                    seen.append(tx.delete_follow(user, args[0]))
                elif op == "reset_follows":
                    seen.append(tx.reset_follows(user))
                elif op == "put_marks":
                    ids, edit_sequence = args
                    marks = [_mark(i, username=user, edit_sequence=edit_sequence) for i in ids]
                    tx.put_marks(marks)
                elif op == "drop_marks":
                    seen.append(tx.drop_marks(user))
                elif op == "rename":
                    seen.append(tx.rename_account(user, args[0]).username)
                else:
                    tx.put_link(_link("lost", username=user))
                    tx.drop_marks(user)
                    tx.reset_follows(user)
                    raise KeyError(user)
        except (StoreError, KeyError) as exc:
            seen.append(type(exc).__name__)
    with store.transaction() as tx:
        for user in ("u", "v"):
            seen.append(tx.list_links(user))
            seen.append([tx.links_to(user, i) for i in ("80-1", "80-2", "1A-1")])
            seen.append(tx.list_follows(user))
            seen.append(tx.get_marks(user, "Bill", ["80-1", "80-2", "1A-1"]))
    return seen


def _replay(store: Store, ops: list[tuple[Any, Any, Any]]) -> list[object]:
    seen: list[object] = []
    ids: list[str] = []
    for op, a, b in ops:
        try:
            with store.transaction() as tx:
                if op == "add":
                    ids.append(_add(tx, username=a, key=b, n=len(ids)))
                elif op == "rollback":
                    _add(tx, username=a, n=99)
                    raise KeyError(a)
                elif ids:
                    job = tx.get_job(ids[a % len(ids)])
                    assert job is not None
                    if op == "status":
                        tx.put_job(attrs.evolve(job, status=b))
                    else:
                        tx.put_job(attrs.evolve(job, deferred_ticket=b))
        except (StoreError, KeyError) as exc:
            seen.append(type(exc).__name__)
    with store.transaction() as tx:
        for user in ("u", "v"):
            seen.append([j.id for j in tx.next_pending(user, limit=100, exclude_ticket="T")])
            seen.append([tx.count_jobs(user, s) for s in ("pending", "sent", "done", "failed")])
        seen.append([(j.id, j.status, j.key, j.deferred_ticket) for j in tx.list_jobs()])
    return seen


def _enqueue_many(path: str, worker: int, count: int) -> None:
    store = SQLiteStore(path)
    for n in range(count):
        with store.transaction() as tx:
            tx.add_job(
                username="u",
                key=f"w{worker}-{n}",
                request="{}",
                request_type="InvoiceAdd",
                min_version="13.0",
                now=T0,
            )
    store.close()


class TestSQLite:
    def test_wal_and_persistence(self, tmp_path: Path) -> None:
        """The file uses WAL journaling and a reopened store sees committed data."""
        path = tmp_path / "q.sqlite"
        store = SQLiteStore(path)
        with store.transaction() as tx:
            tx.put_account(_account())
            job_id = _add(tx, key="k")
        store.close()
        reopened = SQLiteStore(path)
        with reopened.transaction() as tx:
            assert _account() == tx.get_account(_account().username)
            job = tx.get_job(job_id)
            assert job is not None
            assert job.key == "k"
        reopened.close()
        with sqlite3.connect(path) as conn:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"

    def test_unknown_schema_version(self, tmp_path: Path) -> None:
        """A file from a newer qbwc is refused with a message saying what to do."""
        path = tmp_path / "q.sqlite"
        SQLiteStore(path).close()
        with sqlite3.connect(path) as conn:
            conn.execute("UPDATE schema_version SET version = 7")
        with pytest.raises(StoreError, match="schema version 7, but this qbwc reads version 4"):
            SQLiteStore(path)

    def test_version_1_file_upgraded_on_open(self, tmp_path: Path) -> None:
        """A file of an earlier release (version 1) gains every later table and keeps its data."""
        from qbwc.store import _sqlite

        path = tmp_path / "q.sqlite"
        with sqlite3.connect(path) as conn:  # as the version-1 release made it
            conn.executescript(
                _sqlite._SCHEMA.removesuffix(_sqlite._UPGRADE_3_TO_4)
                .removesuffix(_sqlite._UPGRADE_2_TO_3)
                .removesuffix(_sqlite._UPGRADE_1_TO_2)
            )
            conn.execute(
                "INSERT INTO accounts (username, password_hash, file_id) VALUES (?, ?, ?)",
                ("kept", _account().password_hash, str(_account().file_id)),
            )
        conn.close()
        store = SQLiteStore(path)
        with store.transaction() as tx:
            assert tx.get_account("kept") == _account("kept")
            tx.put_login_verifier(LoginVerifier(username="kept", digest="d", expires_at=T0))
        store.close()
        with sqlite3.connect(path) as conn:
            assert conn.execute("SELECT version FROM schema_version").fetchall() == [(4,)]
        conn.close()

    def test_marks_in_few_statements(self, tmp_path: Path) -> None:
        """10,000 marks are written in a few statements and read back by id in two."""
        store = SQLiteStore(tmp_path / "q.sqlite")
        ids = [f"{n:05d}-1700000000" for n in range(10_000)]
        statements: list[str] = []
        store._connection().set_trace_callback(statements.append)
        with store.transaction() as tx:
            tx.put_marks([_mark(i) for i in ids])
        written = [sql for sql in statements if "pull_marks" in sql]
        statements.clear()
        with store.transaction() as tx:
            assert len(tx.get_marks("u", "Bill", ids)) == 10_000
        read = [sql for sql in statements if "pull_marks" in sql]
        store.close()
        assert len(written) <= 15
        assert len(read) == 2

    def test_foreign_database_refused(self, tmp_path: Path) -> None:
        """A SQLite file that is not a qbwc database is refused, not modified."""
        path = tmp_path / "other.sqlite"
        with sqlite3.connect(path) as conn:
            conn.execute("CREATE TABLE customers (id INTEGER)")
        with pytest.raises(StoreError, match="not a qbwc database"):
            SQLiteStore(path)

    def test_not_sqlite_refused(self, tmp_path: Path) -> None:
        """A file that is not SQLite at all gives a StoreError naming it."""
        path = tmp_path / "junk.sqlite"
        path.write_bytes(b"this is not a database" * 100)
        with pytest.raises(StoreError, match=r"junk\.sqlite"):
            SQLiteStore(path)

    def test_closed_store_refuses(self, tmp_path: Path) -> None:
        """A closed store raises StoreError instead of reopening silently."""
        store = SQLiteStore(tmp_path / "q.sqlite")
        store.close()
        with pytest.raises(StoreError, match="closed"):  # noqa: SIM117
            with store.transaction():
                pass

    def test_several_processes(self, tmp_path: Path) -> None:
        """Three worker processes enqueueing at once lose nothing and never share an id."""
        path = str(tmp_path / "q.sqlite")
        SQLiteStore(path).close()
        ctx = multiprocessing.get_context("spawn")
        workers = [ctx.Process(target=_enqueue_many, args=(path, w, 30)) for w in range(3)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(60)
            assert w.exitcode == 0
        store = SQLiteStore(path)
        with store.transaction() as tx:
            jobs = tx.list_jobs()
        store.close()
        assert len(jobs) == 90
        assert len({j.id for j in jobs}) == 90
        assert {f"w{w}-{n}" for w in range(3) for n in range(30)} == {j.key for j in jobs}
