"""
Disconnect and relink (issue 13, item 5): what a company-file link owns, and when it goes.

An account's linkages, pull cursors and delivered-change marks belong to the company
file it is linked to.  ``service.disconnect`` removes them (the follow declarations
stay) in the same transaction that unlinks the account, and says how many; linking a
file starts from scratch; reconfiguring the Web Connector for the same file (a new
QWC file, a rename, a new computer) keeps everything.  Each path is replayed with the
Web Connector double of ``qbwc.testing`` and a QuickBooks double, on every store.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import attrs
import pytest

from qbwc.cli import main
from qbwc.store import Link, MemoryStore, PullMark, SQLiteStore, Store, StoreTransaction
from qbwc.testing import FakeQuickBooks, FakeWebConnector
from qbwc.wsgi import make_wsgi_app
from tests.rig import OWNER, PASSWORD, USER, Rig

OTHER = "aaron@example.com"
T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
MARKED = ("1B-1", "1B-2", "1B-3")


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    made: Store
    if request.param == "memory":
        made = MemoryStore()
    elif request.param == "sqlite":
        made = SQLiteStore(tmp_path / "qbwc.sqlite")
    else:
        from tests.postgres import fresh_store

        made = fresh_store()
    yield made
    made.close()


def _file_id(rig: Rig, username: str = USER) -> uuid.UUID:
    account = rig.service.account(username)
    assert account is not None
    assert account.linked_file_id is not None
    return account.linked_file_id


def _seed(rig: Rig, username: str, file_id: uuid.UUID) -> None:
    """Two linkages, a running pull and a declared one, three delivered marks."""
    rig.service.follow(username, "Bill", page_size=500)
    rig.service.follow(username, "ReceivePayment")
    store = rig.service.store
    with store.transaction() as tx:
        tx.put_link(Link(username=username, key="project-17", type="Customer",
                         list_id="80000001-1", full_name="Acme Corp:Job 17",
                         edit_sequence="1", file_id=file_id, seen_at=T0))  # fmt: skip
        tx.put_link(Link(username=username, key="inv-9", type="Invoice", txn_id="1A-9",
                         edit_sequence="2", file_id=file_id, seen_at=T0))  # fmt: skip
        bills = tx.get_follow(username, "Bill")
        assert bills is not None
        tx.put_follow(attrs.evolve(bills, state='{"cursor": "2026-01-01T00:00:00"}',
                                   file_id=file_id))  # fmt: skip
        tx.put_marks([PullMark(username=username, type="Bill", object_id=object_id,
                               edit_sequence="1", file_id=file_id, seen_at=T0)
                      for object_id in MARKED])  # fmt: skip


def _held(store: Store, username: str) -> tuple[Any, ...]:
    """What the store holds for *username*: links, follows, marks."""
    with store.transaction() as tx:
        return (
            tx.list_links(username),
            tx.list_follows(username),
            tx.get_marks(username, "Bill", MARKED),
        )


def _declarations(store: Store, username: str) -> list[tuple[str, str | None, Any]]:
    with store.transaction() as tx:
        return [(f.type, f.state, f.file_id) for f in tx.list_follows(username)]


#: What the follows are after a reset: declared, from scratch.
FROM_SCRATCH = [("Bill", None, None), ("ReceivePayment", None, None)]


def _renamed(held: tuple[Any, ...], username: str) -> tuple[Any, ...]:
    links, follows, marks = held
    return (
        tuple(attrs.evolve(link, username=username) for link in links),
        tuple(attrs.evolve(follow, username=username) for follow in follows),
        {key: attrs.evolve(mark, username=username) for key, mark in marks.items()},
    )


class TestDisconnect:
    def test_removes_links_and_marks_resets_cursors(self, store: Store) -> None:
        """disconnect counts and removes the account's links and marks; declarations stay."""
        rig = Rig(store)
        rig.enqueue("1")  # key inv-1: its Add is linked too
        assert rig.run().completed
        rig.service.add_account(OTHER, "pw")
        _seed(rig, USER, _file_id(rig))
        _seed(rig, OTHER, uuid.uuid4())
        others = _held(store, OTHER)
        specs = [f.spec for f in rig.service.follows(USER)]
        assert [link.key for link in rig.service.links(USER)] == ["inv-1", "inv-9", "project-17"]

        result = rig.service.disconnect(USER)

        assert (result.links, result.cursors, result.marks) == (3, 1, 3)
        assert result.account.linked_file_id is None
        links, follows, marks = _held(store, USER)
        assert (links, marks) == ((), {})
        assert _declarations(store, USER) == FROM_SCRATCH
        assert [f.spec for f in follows] == specs  # the declarations are kept as they were
        assert _held(store, OTHER) == others  # another account's are its own
        again = rig.service.disconnect(USER)
        assert (again.links, again.cursors, again.marks) == (0, 0, 0)

    def test_all_or_nothing(self) -> None:
        """A store failure while forgetting leaves the account linked and its state whole."""
        failing = _FailingMarks(MemoryStore())
        rig = Rig(failing)
        rig.enqueue("1")
        assert rig.run().completed
        file_id = _file_id(rig)
        _seed(rig, USER, file_id)
        before = _held(rig.store, USER)
        failing.fail = True
        with pytest.raises(RuntimeError, match="drop_marks"):
            rig.service.disconnect(USER)
        assert _file_id(rig) == file_id
        assert _held(rig.store, USER) == before

    def test_linking_a_file_starts_from_scratch(self, store: Store) -> None:
        """State left from another file when an account links is dropped in that transaction."""
        rig = Rig(store)
        _seed(rig, USER, uuid.uuid4())  # e.g. written before an unlink outside the service
        rig.enqueue("1")
        assert rig.run().completed
        file_id = _file_id(rig)
        assert [(k.key, k.file_id) for k in rig.service.links(USER)] == [("inv-1", file_id)]
        with store.transaction() as tx:
            assert tx.get_marks(USER, "Bill", MARKED) == {}
        assert {f.file_id for f in rig.service.follows(USER)} <= {None, file_id}
        # Later syncs with the linked file keep what belongs to it.
        with store.transaction() as tx:
            tx.put_marks([PullMark(username=USER, type="Bill", object_id="1B-1",
                                   edit_sequence="1", file_id=file_id, seen_at=T0)])  # fmt: skip
            kept = (tx.list_links(USER), tx.get_marks(USER, "Bill", MARKED))
        rig.enqueue("2")
        assert rig.run().completed
        with store.transaction() as tx:
            links = tx.list_links(USER)
            assert links[: len(kept[0])] == kept[0]
            assert [k.key for k in links] == ["inv-1", "inv-2"]
            assert tx.get_marks(USER, "Bill", MARKED) == kept[1]

    def test_cli_prints_the_counts(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """`qbwc account disconnect` says how many linkages, marks and cursors it removed."""
        db = tmp_path / "qbwc.sqlite"
        sqlite_store = SQLiteStore(db)
        with sqlite_store.transaction() as tx:
            tx.put_setting("owner_id", str(OWNER))
        rig = Rig(sqlite_store)
        rig.enqueue("1")
        assert rig.run().completed
        _seed(rig, USER, _file_id(rig))
        sqlite_store.close()
        capsys.readouterr()
        assert main(["account", "disconnect", USER, "--db", str(db)]) == 0
        out = capsys.readouterr().out
        assert (
            "removed 3 linkage(s) and 3 delivered-change mark(s); reset 1 pull cursor(s)" in out
        ), out
        assert "Traceback" not in out


class _Host:
    """What the host's on_pulled hook received: (type, id, EditSequence), in order."""

    def __init__(self) -> None:
        self.pulled: list[tuple[str, str, str]] = []

    def on_pulled(self, username: str, type_name: str, rets: tuple[Any, ...]) -> None:
        for ret in rets:
            self.pulled.append((type_name, ret.txn_id, ret.edit_sequence))

    def ids(self, type_name: str) -> list[str]:
        return [i for t, i, _ in self.pulled if t == type_name]


def _company(rig: Rig, **kwargs: Any) -> FakeQuickBooks:
    """A sample company on the rig's clock, with a vendor and an expense account."""
    qb = FakeQuickBooks.sample(clock=lambda: dt.datetime.fromtimestamp(rig.clock.now, dt.UTC),
                               **kwargs)  # fmt: skip
    qb.seed(
        Account=[{"name": "Job Materials", "account_type": "CostOfGoodsSold"}],
        Vendor=[{"name": "Lumber Yard"}],
    )
    return qb


def _paid_and_billed(qb: FakeQuickBooks) -> tuple[str, str]:
    """A client payment and a bill against a job, made inside QuickBooks; their TxnIDs."""
    (paid,) = qb.seed(ReceivePayment=[{"customer_ref": {"full_name": "Acme Corp"},
                                       "total_amount": "5.00", "is_auto_apply": True}])  # fmt: skip
    line = {"account_ref": {"full_name": "Job Materials"}, "amount": "10.00",
            "customer_ref": {"full_name": "Acme Corp:Job 7"}}  # fmt: skip
    (bill,) = qb.seed(Bill=[{"vendor_ref": {"full_name": "Lumber Yard"},
                             "expense_line_add": [line]}])  # fmt: skip
    return paid.txn_id, bill.txn_id


def _pulling(store: Store) -> tuple[Rig, _Host]:
    """A rig whose service pulls payments and bills, on a company with its own clock."""
    host = _Host()
    rig = Rig(store, on_pulled=host.on_pulled)
    rig.qb = _company(rig)
    rig.wc = FakeWebConnector(make_wsgi_app(rig.service), rig.qb)
    rig.wc.add_application(rig.qwc(), password=PASSWORD)
    rig.service.follow(USER, "ReceivePayment")
    rig.service.follow(USER, "Bill")
    return rig, host


def _sync(rig: Rig, wc: FakeWebConnector | None = None) -> None:
    for _ in range(2):
        assert (wc or rig.wc).run_session().completed
        rig.clock.advance(60)


def _pull_state(rig: Rig, username: str, ids: dict[str, str]) -> tuple[Any, ...]:
    """Through the service: links (key, ids, file), follows (type, file); marks from the store."""
    links = [(k.key, k.type, k.list_id, k.txn_id, k.file_id) for k in rig.service.links(username)]
    follows = [(f.type, f.state is not None, f.file_id) for f in rig.service.follows(username)]
    with rig.service.store.transaction() as tx:
        marks = {t: sorted(tx.get_marks(username, t, [i])) for t, i in ids.items()}
    return links, follows, marks


class TestPaths:
    """
    The three paths of the support article, with the Web Connector double.

    Linkages are made by keyed Adds, payments and bills are pulled by the service
    (``follow``) and delivered to the host's ``on_pulled``, as the host sees them.
    """

    def test_same_file_reconfigure_keeps_everything(self, store: Store) -> None:
        rig, host = _pulling(store)
        paid, bill = _paid_and_billed(rig.qb)
        (first,) = rig.enqueue("1")  # key inv-1: the Add links it
        _sync(rig)
        file_id = _file_id(rig)
        ids = {"ReceivePayment": paid, "Bill": bill}
        held = _pull_state(rig, USER, ids)
        links, follows, marks = held
        assert [(key, file) for key, *_, file in links] == [("inv-1", file_id)]
        assert follows == [("Bill", True, file_id), ("ReceivePayment", True, file_id)]
        assert marks == {"ReceivePayment": [paid], "Bill": [bill]}
        delivered = list(host.pulled)
        assert (host.ids("ReceivePayment"), host.ids("Bill")) == ([paid], [bill])

        rig.wc.add_application(rig.qwc(), password=PASSWORD)  # a new QWC file
        _sync(rig)
        assert _pull_state(rig, USER, ids) == held
        computer = FakeWebConnector(make_wsgi_app(rig.service), rig.qb)  # a new computer
        computer.add_application(rig.qwc(), password=PASSWORD)
        _sync(rig, computer)
        assert _pull_state(rig, USER, ids) == held
        new = "kristy@new.example.com"
        rig.service.rename_account(USER, new)  # a new login email
        rig.wc.add_application(rig.qwc(new), password=PASSWORD)
        _sync(rig)
        assert _pull_state(rig, new, ids) == held
        assert host.pulled == delivered  # nothing delivered twice
        assert rig.service.job(first.id).status == "done"  # type: ignore[union-attr]
        assert rig.ref_numbers() == ["1"]

    def test_disconnect_and_reconnect_to_another_file(self, store: Store) -> None:
        rig, host = _pulling(store)
        paid, bill = _paid_and_billed(rig.qb)
        rig.enqueue("1")
        _sync(rig)
        old_file = _file_id(rig)

        gone = rig.service.disconnect(USER, new_file_id=True)
        assert (gone.links, gone.cursors, gone.marks) == (1, 2, 2)
        other = _company(rig, company_name="Other Co")
        other_paid, other_bill = _paid_and_billed(other)
        rig.qb.switch_company(other)
        rig.wc.add_application(rig.qwc(), password=PASSWORD)
        before = len(host.pulled)
        rig.enqueue("2")
        _sync(rig)

        new_file = _file_id(rig)
        assert new_file != old_file
        assert rig.service.link(USER, "inv-1") is None  # the old file's linkage is gone
        assert [(k.key, k.file_id) for k in rig.service.links(USER)] == [("inv-2", new_file)]
        assert {f.file_id for f in rig.service.follows(USER)} == {new_file}
        # Pulled from the new file from scratch: each of its changes once, nothing else.
        assert sorted((t, i) for t, i, _ in host.pulled[before:]) == sorted(
            [("ReceivePayment", other_paid), ("Bill", other_bill)]
        )
        assert (host.ids("ReceivePayment")[:1], host.ids("Bill")[:1]) == ([paid], [bill])

    def test_disconnect_and_reconnect_to_the_same_file(self, store: Store) -> None:
        rig, host = _pulling(store)
        paid, bill = _paid_and_billed(rig.qb)
        rig.enqueue("1")
        _sync(rig)
        file_id = _file_id(rig)

        gone = rig.service.disconnect(USER)
        assert (gone.links, gone.cursors, gone.marks) == (1, 2, 2)
        _sync(rig)

        assert _file_id(rig) == file_id
        assert rig.service.links(USER) == ()
        # The payment and the bill reappear, exactly once more.
        assert (host.ids("ReceivePayment"), host.ids("Bill")) == ([paid] * 2, [bill] * 2)
        _sync(rig)
        assert (host.ids("ReceivePayment"), host.ids("Bill")) == ([paid] * 2, [bill] * 2)
        assert rig.ref_numbers() == ["1"]


class _FailingMarks:
    """A store whose ``drop_marks`` fails (after the links were dropped in the transaction)."""

    def __init__(self, inner: MemoryStore) -> None:
        self.inner = inner
        self.fail = False

    def transaction(self) -> AbstractContextManager[StoreTransaction]:
        return self._transaction()

    @contextmanager
    def _transaction(self) -> Iterator[StoreTransaction]:
        with self.inner.transaction() as tx:
            yield _Proxy(tx) if self.fail else tx  # type: ignore[misc]

    def close(self) -> None:
        self.inner.close()


class _Proxy:
    def __init__(self, tx: Any) -> None:
        self._tx = tx

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tx, name)

    def drop_marks(self, username: str) -> int:
        raise RuntimeError("drop_marks failed")
