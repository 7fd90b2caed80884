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
from qbwc.store import Follow, Link, MemoryStore, PullMark, SQLiteStore, Store, StoreTransaction
from qbwc.testing import FakeQuickBooks, FakeWebConnector
from qbwc.wsgi import make_wsgi_app
from tests.rig import OWNER, PASSWORD, USER, Rig, invoice

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


def _seed(store: Store, username: str, file_id: uuid.UUID) -> None:
    """Two linkages, a running pull and a declared one, three delivered marks."""
    with store.transaction() as tx:
        tx.put_link(Link(username=username, key="project-17", type="Customer",
                         list_id="80000001-1", full_name="Acme Corp:Job 17",
                         edit_sequence="1", file_id=file_id, seen_at=T0))  # fmt: skip
        tx.put_link(Link(username=username, key="inv-9", type="Invoice", txn_id="1A-9",
                         edit_sequence="2", file_id=file_id, seen_at=T0))  # fmt: skip
        tx.put_follow(Follow(username=username, type="Bill", spec='{"page_size": 500}',
                             state='{"cursor": "2026-01-01T00:00:00"}', file_id=file_id,
                             updated_at=T0))  # fmt: skip
        tx.put_follow(Follow(username=username, type="ReceivePayment", spec="{}",
                             updated_at=T0))  # fmt: skip
        tx.put_marks([PullMark(username=username, type="Bill", object_id=object_id,
                               edit_sequence="1", file_id=file_id, seen_at=T0)
                      for object_id in MARKED])  # fmt: skip


def _enqueue(rig: Rig, ref: str) -> list[Any]:
    """An invoice without a key: a keyed Add would make a linkage of its own."""
    return [rig.service.enqueue(USER, invoice(ref))]


def _held(store: Store, username: str) -> tuple[Any, ...]:
    """
    What the store holds for *username*: links, follow declarations, marks.

    (A sync runs the follows' pulls, which write their state: docs/pulls.md;
    :func:`_cursor` says whose file it belongs to.)
    """
    with store.transaction() as tx:
        return (
            tx.list_links(username),
            tuple((f.type, f.spec) for f in tx.list_follows(username)),
            tx.get_marks(username, "Bill", MARKED),
        )


SEEDED_STATE = '{"cursor": "2026-01-01T00:00:00"}'


def _cursor(store: Store, username: str, type_name: str) -> tuple[uuid.UUID | None, bool]:
    """The file a follow's state belongs to, and whether it holds a cursor."""
    with store.transaction() as tx:
        follow = tx.get_follow(username, type_name)
    assert follow is not None
    return follow.file_id, '"cursor"' in (follow.state or "")


def _started_again(store: Store, username: str, file_id: uuid.UUID) -> bool:
    """No follow holds the seeded (old) state; each is fresh or the pull of *file_id*."""
    with store.transaction() as tx:
        follows = tx.list_follows(username)
    return all(f.state != SEEDED_STATE and f.file_id in (None, file_id) for f in follows)


def _declarations(store: Store, username: str) -> list[tuple[str, str, str | None, Any]]:
    with store.transaction() as tx:
        return [(f.type, f.spec, f.state, f.file_id) for f in tx.list_follows(username)]


def _renamed(held: tuple[Any, ...], username: str) -> tuple[Any, ...]:
    links, follows, marks = held
    return (
        tuple(attrs.evolve(link, username=username) for link in links),
        follows,
        {key: attrs.evolve(mark, username=username) for key, mark in marks.items()},
    )


class TestDisconnect:
    def test_removes_links_and_marks_resets_cursors(self, store: Store) -> None:
        """disconnect counts and removes the account's links and marks; declarations stay."""
        rig = Rig(store)
        _enqueue(rig, "1")
        assert rig.run().completed
        rig.service.add_account(OTHER, "pw")
        _seed(store, USER, _file_id(rig))
        _seed(store, OTHER, uuid.uuid4())
        others = _held(store, OTHER)

        result = rig.service.disconnect(USER)

        assert (result.links, result.cursors, result.marks) == (2, 1, 3)
        assert result.account.linked_file_id is None
        links, _, marks = _held(store, USER)
        assert (links, marks) == ((), {})
        with store.transaction() as tx:
            follows = tx.list_follows(USER)
        assert [(f.type, f.spec, f.state, f.file_id, f.updated_at) for f in follows] == [
            ("Bill", '{"page_size": 500}', None, None, T0),
            ("ReceivePayment", "{}", None, None, T0),
        ]
        assert _held(store, OTHER) == others  # another account's are its own
        again = rig.service.disconnect(USER)
        assert (again.links, again.cursors, again.marks) == (0, 0, 0)

    def test_all_or_nothing(self) -> None:
        """A store failure while forgetting leaves the account linked and its state whole."""
        failing = _FailingMarks(MemoryStore())
        rig = Rig(failing)
        _enqueue(rig, "1")
        assert rig.run().completed
        file_id = _file_id(rig)
        _seed(rig.store, USER, file_id)
        before = _held(rig.store, USER)
        failing.fail = True
        with pytest.raises(RuntimeError, match="drop_marks"):
            rig.service.disconnect(USER)
        assert _file_id(rig) == file_id
        assert _held(rig.store, USER) == before

    def test_linking_a_file_starts_from_scratch(self, store: Store) -> None:
        """State left from another file when an account links is dropped in that transaction."""
        rig = Rig(store)
        _seed(store, USER, uuid.uuid4())  # e.g. written before an unlink outside the service
        _enqueue(rig, "1")
        assert rig.run().completed
        file_id = _file_id(rig)
        links, _, marks = _held(store, USER)
        assert (links, marks) == ((), {})
        assert _started_again(store, USER, file_id)
        # Later syncs with the linked file keep what belongs to it.
        _seed(store, USER, file_id)
        kept = _held(store, USER)
        _enqueue(rig, "2")
        assert rig.run().completed
        assert _held(store, USER) == kept
        assert _cursor(store, USER, "Bill") == (file_id, True)

    def test_cli_prints_the_counts(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """`qbwc account disconnect` says how many linkages, marks and cursors it removed."""
        db = tmp_path / "qbwc.sqlite"
        sqlite_store = SQLiteStore(db)
        with sqlite_store.transaction() as tx:
            tx.put_setting("owner_id", str(OWNER))
        rig = Rig(sqlite_store)
        _enqueue(rig, "1")
        assert rig.run().completed
        _seed(sqlite_store, USER, _file_id(rig))
        sqlite_store.close()
        capsys.readouterr()
        assert main(["account", "disconnect", USER, "--db", str(db)]) == 0
        out = capsys.readouterr().out
        assert (
            "removed 2 linkage(s) and 3 delivered-change mark(s); reset 1 pull cursor(s)" in out
        ), out
        assert "Traceback" not in out


class TestPaths:
    """The three paths of the support article, with the Web Connector double."""

    def test_same_file_reconfigure_keeps_everything(self, store: Store) -> None:
        """A new QWC file, a new computer, a rename: links, cursors and marks all stay."""
        rig = Rig(store)
        (first,) = _enqueue(rig, "1")
        assert rig.run().completed
        file_id = _file_id(rig)
        _seed(store, USER, file_id)
        held = _held(store, USER)

        # A new QWC file for the same account, added on the same computer.
        rig.wc.add_application(rig.qwc(), password=PASSWORD)
        (second,) = _enqueue(rig, "2")
        assert rig.run().completed
        assert _held(store, USER) == held
        assert _cursor(store, USER, "Bill") == (file_id, True)

        # A new computer: another Web Connector, the same company file.
        computer = FakeWebConnector(make_wsgi_app(rig.service), rig.qb)
        computer.add_application(rig.qwc(), password=PASSWORD)
        (third,) = _enqueue(rig, "3")
        assert computer.run_session().completed
        assert _held(store, USER) == held
        assert _cursor(store, USER, "Bill") == (file_id, True)

        # A rename (a new login email), and its QWC file replacing the old one.
        new = "kristy@new.example.com"
        rig.service.rename_account(USER, new)
        rig.wc.add_application(rig.qwc(new), password=PASSWORD)
        job = rig.service.enqueue(new, invoice("4"))
        assert rig.run().completed
        assert _held(store, new) == _renamed(held, new)
        assert _held(store, USER) == ((), (), {})
        assert _file_id(rig, new) == file_id
        assert _cursor(store, new, "Bill") == (file_id, True)

        done = [rig.service.job(j.id) for j in (first, second, third, job)]
        assert [j.status for j in done if j is not None] == ["done"] * 4
        assert sorted(rig.ref_numbers()) == ["1", "2", "3", "4"]  # each once, in one file

    def test_disconnect_and_reconnect_to_another_file(self, store: Store) -> None:
        """Another company file: the old file's linkages and pull state are gone."""
        rig = Rig(store)
        (first,) = _enqueue(rig, "1")
        assert rig.run().completed
        old_file = _file_id(rig)
        _seed(store, USER, old_file)

        result = rig.service.disconnect(USER, new_file_id=True)
        assert (result.links, result.cursors, result.marks) == (2, 1, 3)
        assert _declarations(store, USER) == [
            ("Bill", '{"page_size": 500}', None, None),
            ("ReceivePayment", "{}", None, None),
        ]
        other = FakeQuickBooks.sample(company_name="Other Co")
        rig.qb.switch_company(other)
        rig.wc.add_application(rig.qwc(), password=PASSWORD)  # stamps the new FileID there
        (second,) = _enqueue(rig, "2")
        assert rig.run().completed

        account = rig.service.account(USER)
        assert account is not None
        assert account.company_name == "Other Co"
        assert account.linked_file_id not in (None, old_file)
        links, _, marks = _held(store, USER)
        assert (links, marks) == ((), {})
        assert _started_again(store, USER, account.linked_file_id)
        assert rig.service.job(first.id).status == "done"  # type: ignore[union-attr]
        assert rig.service.job(second.id).status == "done"  # type: ignore[union-attr]
        assert [r.ref_number for r in other.invoices] == ["2"]
        rig.qb.switch_company(None)
        assert rig.ref_numbers() == ["1"]

    def test_disconnect_and_reconnect_to_the_same_file(self, store: Store) -> None:
        """The same company file again: it starts from scratch all the same."""
        rig = Rig(store)
        _enqueue(rig, "1")
        assert rig.run().completed
        file_id = _file_id(rig)
        _seed(store, USER, file_id)

        rig.service.disconnect(USER)
        assert _declarations(store, USER) == [
            ("Bill", '{"page_size": 500}', None, None),
            ("ReceivePayment", "{}", None, None),
        ]
        (second,) = _enqueue(rig, "2")
        assert rig.run().completed

        assert _file_id(rig) == file_id
        links, _, marks = _held(store, USER)
        assert (links, marks) == ((), {})
        assert _started_again(store, USER, file_id)
        assert rig.service.job(second.id).status == "done"  # type: ignore[union-attr]
        assert rig.ref_numbers() == ["1", "2"]


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
