"""
Accounts, passwords, lookups, job retention and pages, cancel: on every store.

- one rule for usernames and keys (``qbwc._names.check_name``), the same error on
  every entry point and every store;
- no username enumeration by timing after ``password_cost`` changes: one scrypt per
  ``authenticate`` whatever the path, unknown names get a cost drawn from the stored
  hashes (fixed per name), hashes are upgraded at the next good login;
- ``jobs()`` pages, ``prune()``, ``cancel()``;
- getters answer None, actions on a missing thing raise ConfigurationError;
- ``enqueue`` refuses an unknown user with the built-in accounts.
"""

from __future__ import annotations

import datetime as dt
import io
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import attrs
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import invariant, precondition, rule
from lxml import etree

from qbwc import ConfigurationError, WebConnectorService
from qbwc._names import MAX_NAME_LENGTH, check_name
from qbwc.cli import main
from qbwc.cli._tables import NEVER_CONNECTED, account_table, job_table, parse_age
from qbwc.protocol import AuthenticateCall, InvalidUserReply
from qbwc.service._passwords import hash_password
from qbwc.store import InFlight, MemoryStore, SQLiteStore, Store
from qbwc.testing import LoseQuickBooksResponse
from tests.postgres import fresh_store as fresh_postgres_store
from tests.rig import OWNER, PASSWORD, USER, Clock, Rig, invoice
from tests.test_service_stateful import ServiceMachine

STORES: dict[str, Callable[[Path], Store]] = {
    "memory": lambda _path: MemoryStore(),
    "sqlite": lambda path: SQLiteStore(path / "qbwc.sqlite"),
    "postgres": lambda _path: fresh_postgres_store(),
}


@pytest.fixture(params=sorted(STORES))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    s = STORES[request.param](tmp_path)
    yield s
    s.close()


def _service(store: Store, **settings: Any) -> WebConnectorService:
    options: dict[str, Any] = {"owner_id": OWNER, "password_cost": 2, **settings}
    return WebConnectorService(store=store, **options)


# --- 5. usernames and keys: one rule --------------------------------------------------------

#: Every kind of value the rule refuses (one of each).
BAD_NAMES: dict[str, object] = {
    "empty": "",
    "only space": "   ",
    "leading space": " kristy",
    "trailing space": "kristy ",
    "trailing tab": "kristy\t",
    "trailing no-break space": "kristy\u00a0",
    "NUL": "kri\x00sty",
    "line break": "kri\nsty",
    "DEL": "kri\x7fsty",
    "C1 control": "kri\x85sty",
    "lone surrogate": "kri\ud800sty",
    "U+FFFE": "kri\ufffesty",
    "U+FFFF": "kri\uffffsty",
    "256 characters": "k" * (MAX_NAME_LENGTH + 1),
    "2,000,000 characters": "k" * 2_000_000,
    "bytes": b"kristy",
    "int": 42,
}

GOOD = "kristy@example.com"


def _qwc(service: WebConnectorService, name: Any) -> object:
    return service.qwc(name, app_url="https://localhost/q", app_support="https://localhost/")


#: Every API entry point that takes a username or key: (field, call with the bad value).
ENTRY_POINTS: dict[str, tuple[str, Callable[[WebConnectorService, Any], object]]] = {
    "add_account": ("username", lambda s, v: s.add_account(v, "pw")),
    "set_password": ("username", lambda s, v: s.set_password(v, "pw")),
    "enqueue username": ("username", lambda s, v: s.enqueue(v, invoice("1"))),
    "enqueue key": ("key", lambda s, v: s.enqueue(GOOD, invoice("1"), key=v)),
    "rename_account old": ("old", lambda s, v: s.rename_account(v, "new@example.com")),
    "rename_account new": ("new", lambda s, v: s.rename_account(GOOD, v)),
    "qwc": ("username", _qwc),
    "qwc_config": (
        "username",
        lambda s, v: s.qwc_config(v, app_url="https://localhost/q", app_support="https://l/"),
    ),
    "account": ("username", lambda s, v: s.account(v)),
    "disconnect": ("username", lambda s, v: s.disconnect(v)),
    "jobs": ("username", lambda s, v: s.jobs(v)),
}


def _expected(field: str, value: object) -> str:
    with pytest.raises(ConfigurationError) as caught:
        check_name(field, value)
    return str(caught.value)


@pytest.fixture(scope="module", params=sorted(STORES))
def named_store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Store]:
    # One store per kind for the whole table: a refused value changes nothing.
    s = STORES[request.param](tmp_path_factory.mktemp("names"))
    service = _service(s)
    service.add_account(GOOD, "pw")
    service.enqueue(GOOD, invoice("0"), key="k0")
    yield s
    s.close()


class TestNames:
    @pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
    @pytest.mark.parametrize("bad", sorted(BAD_NAMES))
    def test_same_error_everywhere(self, named_store: Store, entry: str, bad: str) -> None:
        """Every bad value × every entry point × every store: the same ConfigurationError."""
        field, call = ENTRY_POINTS[entry]
        value = BAD_NAMES[bad]
        service = _service(named_store)
        before = (service.accounts(), service.jobs())
        with pytest.raises(ConfigurationError) as caught:
            call(service, value)
        assert caught.value.field == field
        assert str(caught.value) == _expected(field, value)
        assert (service.accounts(), service.jobs()) == before

    @pytest.mark.parametrize(
        "name",
        ["k" * MAX_NAME_LENGTH, "Kristy O'Neil & Co <billing>", "克里斯蒂", "kristy 🧾", "a"],
    )
    def test_good_names_round_trip(self, store: Store, name: str) -> None:
        """255 characters, markup characters, non-Latin and non-BMP text are kept as given."""
        service = _service(store)
        service.add_account(name, "pw")
        job = service.enqueue(name, invoice("1"), key=name)
        account = service.account(name)
        assert account is not None
        assert account.username == name
        assert service.jobs(name) == (job,)
        assert job.key == name
        qwc = _qwc(service, name)
        assert isinstance(qwc, bytes)
        assert etree.fromstring(qwc).findtext("UserName") == name

    def test_authenticate_with_a_bad_name_is_refused(self, store: Store) -> None:
        """On the wire a bad name is just not an account: nvu, nothing stored."""
        service = _service(store)
        for value in (" kristy", "kristy ", "k" * 300):
            reply = service.respond(AuthenticateCall(username=value, password="pw"))
            assert isinstance(reply, InvalidUserReply), reply
        assert service.accounts() == ()

    def test_authenticator_cannot_create_a_bad_name(self, store: Store) -> None:
        """Even a host authenticator that says yes to anything creates no bad account."""
        service = _service(store, authenticator=lambda _u, _p: True)
        reply = service.respond(AuthenticateCall(username="k" * 300, password="pw"))
        assert isinstance(reply, InvalidUserReply), reply
        assert service.accounts() == ()


class TestNamesOnTheCommandLine:
    @pytest.mark.parametrize(
        ("argv", "field"),
        [
            (["account", "add", " kristy", "--password-stdin"], "username"),
            (["account", "add", "k" * 256, "--password-stdin"], "username"),
            (["account", "add", "kri\x7fsty", "--password-stdin"], "username"),
            (["enqueue", "{file}", "--user", "kristy "], "username"),
            (["enqueue", "{file}", "--user", "kristy", "--key", "k\x85"], "key"),
            (["jobs", "--user", "k" * 256], "username"),
        ],
    )
    def test_one_line_exit_1(
        self,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
        argv: list[str],
        field: str,
    ) -> None:
        """qbwc account add / enqueue / jobs print the rule in one line and exit 1."""
        from tests.test_service_cli import INVOICE

        db = str(tmp_path / "q.sqlite")
        path = tmp_path / "invoice.json"
        path.write_text(__import__("json").dumps(INVOICE))
        monkeypatch.setattr("sys.stdin", io.StringIO("pw\n"))
        assert main(["account", "add", "kristy", "--password-stdin", "--db", db]) == 0
        capsys.readouterr()
        monkeypatch.setattr("sys.stdin", io.StringIO("pw\n"))
        argv = [a.replace("{file}", str(path)) for a in argv]
        assert main([*argv, "--db", db]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1, err
        assert f": {field}: " in err
        assert "Traceback" not in err


# --- 6. passwords: no enumeration by timing ---------------------------------------------------


class ScryptSpy:
    """Counts every scrypt the service computes, with its cost."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import qbwc.service._passwords as passwords

        self.costs: list[int] = []
        real = passwords._scrypt

        def spy(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
            self.costs.append(n)
            return real(password, salt, n, r, p)

        monkeypatch.setattr(passwords, "_scrypt", spy)

    def take(self) -> list[int]:
        costs, self.costs = self.costs, []
        return costs


def _login(service: WebConnectorService, username: str, password: str) -> bool:
    reply = service.respond(AuthenticateCall(username=username, password=password))
    return not isinstance(reply, InvalidUserReply)


def _cost_of(store: Store, username: str) -> int:
    with store.transaction() as tx:
        account = tx.get_account(username)
    assert account is not None
    assert account.password_hash is not None
    return int(account.password_hash.split("$")[1])


class TestPasswords:
    def test_one_scrypt_on_every_path(self, store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
        """Existing, unknown, wrong password, no password, bad name: exactly one scrypt each."""
        service = _service(store, password_cost=4)
        service.add_account(USER, PASSWORD)
        service.add_account("no-password@example.com")
        spy = ScryptSpy(monkeypatch)
        cases = [
            (USER, PASSWORD, True),
            (USER, "wrong", False),
            ("eve@example.com", PASSWORD, False),
            ("no-password@example.com", PASSWORD, False),
            (" padded", PASSWORD, False),
            ("k" * 300, PASSWORD, False),
        ]
        for username, password, ok in cases:
            assert _login(service, username, password) is ok, username
            assert spy.take() == [4], username

    def test_unknown_names_follow_the_stored_costs(
        self, store: Store, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """30 % of hashes at 2**2, 70 % at 2**3: about 30 % / 70 % of unknown names, each fixed."""
        with store.transaction() as tx:
            for i in range(100):
                cost = 4 if i < 30 else 8
                tx.put_account(_account(f"user{i}", hash_password("pw", cost=cost)))
        service = _service(store, password_cost=2)  # lowered since: dummies must not use it
        service._passwords.key = b"a fixed key, so the test is deterministic"
        spy = ScryptSpy(monkeypatch)
        first: dict[str, int] = {}
        for i in range(1000):
            name = f"unknown{i}@example.com"
            assert not _login(service, name, "pw")
            (first[name],) = spy.take()
        shares = Counter(first.values())
        assert set(shares) == {4, 8}
        assert abs(shares[4] / 1000 - 0.30) < 0.05, shares
        # The same name costs the same every time (one sample = many samples).
        for name in list(first)[:50]:
            assert not _login(service, name, "wrong")
            assert spy.take() == [first[name]]

    def test_another_process_draws_from_the_same_distribution(
        self, store: Store, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A second service (its own secret) also picks only stored costs, stably."""
        with store.transaction() as tx:
            tx.put_account(_account("a", hash_password("pw", cost=16)))
        service = _service(store, password_cost=2)
        spy = ScryptSpy(monkeypatch)
        for _ in range(3):
            assert not _login(service, "nobody", "pw")
        assert spy.take() == [16, 16, 16]

    def test_no_stored_hashes_use_the_current_cost(
        self, store: Store, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        service = _service(store, password_cost=8)
        spy = ScryptSpy(monkeypatch)
        assert not _login(service, "nobody", "pw")
        assert spy.take() == [8]

    def test_costs_are_read_again_after_a_while(
        self, store: Store, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The cached distribution is refreshed: accounts added later count within a minute."""
        clock = Clock()
        service = _service(store, password_cost=4, clock=clock)
        spy = ScryptSpy(monkeypatch)
        assert not _login(service, "nobody", "pw")
        assert spy.take() == [4]
        with store.transaction() as tx:
            tx.put_account(_account("a", hash_password("pw", cost=32)))
        spy.take()
        clock.advance(61)
        assert not _login(service, "nobody", "pw")
        assert spy.take() == [32]

    def test_upgraded_at_the_next_good_login(
        self, store: Store, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A hash of an old cost is rehashed at a good login; a wrong password changes nothing."""
        _service(store, password_cost=16).add_account(USER, PASSWORD)
        service = _service(store, password_cost=4)
        spy = ScryptSpy(monkeypatch)
        assert not _login(service, USER, "wrong")
        assert spy.take() == [16]
        assert _cost_of(store, USER) == 16
        assert _login(service, USER, PASSWORD)
        assert spy.take() == [16, 4]  # the check, then the new hash (once)
        assert _cost_of(store, USER) == 4
        assert _login(service, USER, PASSWORD)
        assert spy.take() == [4]
        assert not _login(service, USER, "wrong")

    def test_upgrade_does_not_overwrite_a_password_changed_meanwhile(
        self, store: Store, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The rehash is stored only if the hash it replaces is still the one stored."""
        _service(store, password_cost=16).add_account(USER, PASSWORD)
        service = _service(store, password_cost=4)
        real = service._check_login

        def then_changed(username: str, password: str) -> Any:
            login = real(username, password)
            _service(store, password_cost=8).set_password(USER, "new password")
            return login

        monkeypatch.setattr(service, "_check_login", then_changed)
        service.respond(AuthenticateCall(username=USER, password=PASSWORD))
        monkeypatch.undo()
        assert _cost_of(store, USER) == 8
        assert _login(_service(store, password_cost=8), USER, "new password")


class TestStoreCounts:
    def test_password_costs(self, store: Store) -> None:
        """Counts per scrypt cost; no hash, foreign or damaged hashes are not counted."""
        with store.transaction() as tx:
            assert tx.password_costs() == {}
            for name, stored in (
                ("a", hash_password("pw", cost=4)),
                ("b", hash_password("pw", cost=4)),
                ("c", hash_password("pw", cost=16)),
                ("d", None),
                ("e", "bcrypt$12$whatever"),
                ("f", "scrypt$x$8$1$c2FsdA$aGFzaA"),
                ("g", "scrypt$"),
            ):
                tx.put_account(_account(name, stored))
        with store.transaction() as tx:
            assert tx.password_costs() == {4: 2, 16: 1}

    def test_last_seen_round_trip(self, store: Store) -> None:
        seen = dt.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=dt.UTC)
        with store.transaction() as tx:
            tx.put_account(attrs.evolve(_account("a"), last_seen_at=seen))
        with store.transaction() as tx:
            account = tx.get_account("a")
            assert account is not None
            assert account.last_seen_at == seen
            assert tx.list_accounts()[0].last_seen_at == seen


def _account(name: str, password_hash: str | None = None) -> Any:
    from qbwc.qwc import new_file_id
    from qbwc.store import Account

    return Account(username=name, password_hash=password_hash, file_id=new_file_id())


# --- 9. pages and retention -------------------------------------------------------------------


def _finish(store: Store, job_id: str, status: Any, when: dt.datetime) -> None:
    with store.transaction() as tx:
        job = tx.get_job(job_id)
        assert job is not None
        tx.put_job(attrs.evolve(job, status=status, updated_at=when, qbxml=None))


class TestPages:
    def test_pages_cover_everything_once(self, store: Store) -> None:
        """limit/after pages: oldest first, no job twice, none missed; filters apply."""
        service = _service(store)
        service.add_account("a", "pw")
        service.add_account("b", "pw")
        made = [service.enqueue("ab"[i % 2], invoice(str(i))) for i in range(11)]
        for filters, expected in (
            ({}, made),
            ({"username": "a"}, made[0::2]),
            ({"username": "b"}, made[1::2]),
        ):
            seen: list[str] = []
            after = None
            while True:
                page = service.jobs(**filters, limit=3, after=after)
                if not page:
                    break
                assert len(page) <= 3
                seen.extend(job.id for job in page)
                after = page[-1].id
            assert seen == [job.id for job in expected]
        _finish(store, made[4].id, "done", dt.datetime.now(dt.UTC))
        assert [j.id for j in service.jobs(status="done")] == [made[4].id]
        assert service.jobs(status="done", after=made[4].id) == ()
        assert [j.id for j in service.jobs("a", status="pending", after=made[4].id)] == [
            made[6].id,
            made[8].id,
            made[10].id,
        ]
        assert len(service.jobs()) == 11  # the default page is 100
        assert service.jobs(after="99999999999999999999"[:19]) == ()

    @pytest.mark.parametrize(
        ("options", "field"),
        [
            ({"limit": 0}, "limit"),
            ({"limit": 10_001}, "limit"),
            ({"limit": None}, "limit"),
            ({"limit": "5"}, "limit"),
            ({"limit": True}, "limit"),
            ({"after": "x"}, "after"),
            ({"after": "-1"}, "after"),
            ({"after": 5}, "after"),
            ({"after": "1" * 20}, "after"),
            ({"status": "lost"}, "status"),
        ],
    )
    def test_bad_page_options(self, store: Store, options: dict[str, Any], field: str) -> None:
        with pytest.raises(ConfigurationError) as caught:
            _service(store).jobs(**options)
        assert caught.value.field == field

    def test_limits_accepted(self, store: Store) -> None:
        service = _service(store)
        assert service.jobs(limit=1) == ()
        assert service.jobs(limit=10_000) == ()


class TestPrune:
    def test_only_old_finished_jobs(self, store: Store) -> None:
        """done/failed/cancelled older than the age go; pending, sent, recent ones stay."""
        clock = Clock()
        service = _service(store, clock=clock)
        service.add_account("a", "pw")
        jobs = [service.enqueue("a", invoice(str(i)), key=f"k{i}") for i in range(7)]
        now = dt.datetime.fromtimestamp(clock.now, dt.UTC)
        old, recent = now - dt.timedelta(days=91), now - dt.timedelta(days=89)
        for job, status, when in zip(
            jobs,
            ["done", "failed", "cancelled", "done", "sent", "pending", "pending"],
            [old, old, old, recent, old, old, old],
            strict=True,
        ):
            _finish(store, job.id, status, when)
        assert service.prune(older_than=dt.timedelta(days=90)) == 3
        left = {job.id: job.status for job in service.jobs()}
        assert left == {jobs[3].id: "done", jobs[4].id: "sent", jobs[5].id: "pending",
                        jobs[6].id: "pending"}  # fmt: skip
        assert service.job(jobs[0].id) is None
        assert service.prune(older_than=dt.timedelta(days=90)) == 0
        assert service.prune(older_than=dt.timedelta(0)) == 1
        # A pruned job's key is forgotten: the same key queues a new job.
        again = service.enqueue("a", invoice("0"), key="k0")
        assert again.id not in {job.id for job in jobs}
        assert service.prune(older_than=dt.timedelta.max) == 0

    def test_never_a_job_of_a_set_in_flight(self, store: Store) -> None:
        """A finished job still named by an in-flight set stays (its answer is awaited)."""
        service = _service(store)
        service.add_account("a", "pw")
        service.add_account("b", "pw")
        kept, gone = service.enqueue("a", invoice("1")), service.enqueue("b", invoice("2"))
        long_ago = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
        for job in (kept, gone):
            _finish(store, job.id, "done", long_ago)
        with store.transaction() as tx:
            tx.put_in_flight(
                InFlight(username="a", message_set_id="m1", job_ids=(kept.id,), kind="check",
                         version="13.0", ticket="t", sent_at=long_ago)
            )  # fmt: skip
        assert service.prune(older_than=dt.timedelta(days=1)) == 1
        assert [j.id for j in service.jobs()] == [kept.id]

    def test_rolled_back_with_the_transaction(self, store: Store) -> None:
        """A prune inside a failed transaction deletes nothing (the memory store's undo too)."""
        service = _service(store)
        service.add_account("a", "pw")
        jobs = [service.enqueue("a", invoice(str(i)), key=f"k{i}") for i in range(3)]
        for job in jobs:
            _finish(store, job.id, "done", dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
        before = service.jobs()
        pruned: list[int] = []

        def prune_then_fail() -> None:
            with store.transaction() as tx:
                pruned.append(tx.prune_jobs(dt.datetime(2021, 1, 1, tzinfo=dt.UTC)))
                raise RuntimeError

        with pytest.raises(RuntimeError):
            prune_then_fail()
        assert pruned == [3]
        assert service.jobs() == before
        assert service.jobs("a", after=jobs[0].id) == before[1:]
        assert service.enqueue("a", invoice("0"), key="k0") == before[0]  # key still known

    @pytest.mark.parametrize("bad", [dt.timedelta(seconds=-1), 90, "90d", None])
    def test_bad_age(self, store: Store, bad: object) -> None:
        with pytest.raises(ConfigurationError) as caught:
            _service(store).prune(older_than=bad)  # type: ignore[arg-type]
        assert caught.value.field == "older_than"

    @pytest.mark.parametrize(
        ("text", "seconds"),
        [("45s", 45), ("30m", 1800), ("12h", 43_200), ("90d", 7_776_000), ("0d", 0)],
    )
    def test_ages(self, text: str, seconds: int) -> None:
        assert parse_age(text) == dt.timedelta(seconds=seconds)

    @pytest.mark.parametrize(
        "text", ["", "90", "d", "1.5d", "-1d", "90 days", "1w", "99999999999d", "40000d"]
    )
    def test_bad_ages(self, text: str) -> None:
        with pytest.raises(ConfigurationError) as caught:
            parse_age(text)
        assert caught.value.field == "older_than"


class TestIndexes:
    """The statements of list_jobs (every filter, with a cursor) and prune_jobs use indexes."""

    CALLS: ClassVar[dict[str, Callable[[Any], object]]] = {
        "all": lambda tx: tx.list_jobs(limit=100, after="5"),
        "user": lambda tx: tx.list_jobs(username="a", limit=100, after="5"),
        "status": lambda tx: tx.list_jobs(status="done", limit=100, after="5"),
        "user and status": lambda tx: tx.list_jobs(username="a", status="done", limit=100),
        "prune": lambda tx: tx.prune_jobs(dt.datetime(2024, 1, 1, tzinfo=dt.UTC)),
    }

    @staticmethod
    def _statements(make_tx: Callable[[Any], Any], execute: Any, call: Any) -> list[Any]:
        seen: list[Any] = []

        def recording(sql: str, params: tuple[Any, ...] = ()) -> Any:
            seen.append((sql, params))
            return execute(sql, params)

        call(make_tx(recording))
        return seen

    @pytest.mark.parametrize("call", sorted(CALLS))
    def test_sqlite_plans(self, tmp_path: Path, call: str) -> None:
        from qbwc.store._sql import SQLTransaction
        from qbwc.store._sqlite import _DIALECT

        SQLiteStore(tmp_path / "q.sqlite").close()
        with sqlite3.connect(tmp_path / "q.sqlite") as conn:
            statements = self._statements(
                lambda ex: SQLTransaction(ex, _DIALECT, "test"), conn.execute, self.CALLS[call]
            )
            for sql, params in statements:
                plan = " ".join(
                    str(row[-1]) for row in conn.execute("EXPLAIN QUERY PLAN " + sql, params)
                )
                assert "SCAN jobs" not in plan, (sql, plan)  # a search, not a full scan
                assert "TEMP B-TREE" not in plan, (sql, plan)  # no sort: the index gives order

    def test_postgres_plans(self) -> None:
        import psycopg

        from qbwc.store._pg_sql import PostgresTransaction
        from tests.postgres import postgres_dsn

        fresh_postgres_store().close()
        with psycopg.connect(postgres_dsn()) as conn:
            conn.execute("SET enable_seqscan = off")
            conn.execute("SET enable_bitmapscan = off")
            for name, call in self.CALLS.items():
                statements = self._statements(
                    lambda ex: PostgresTransaction(ex, "test"), conn.execute, call
                )
                for sql, params in statements:
                    rows = conn.execute("EXPLAIN " + sql, params).fetchall()
                    plan = " ".join(row[0] for row in rows)
                    assert "Index" in plan, (name, plan)
                    assert "Sort" not in plan, (name, plan)
            conn.rollback()


# --- 11. enqueue for an unknown username ------------------------------------------------------


class TestEnqueueUnknown:
    def test_built_in_accounts_refuse(self, store: Store) -> None:
        """No account, no authenticator: the job would wait forever, so enqueue refuses."""
        service = _service(store)
        with pytest.raises(ConfigurationError) as caught:
            service.enqueue("nobody@example.com", invoice("1"))
        assert caught.value.field == "username"
        assert "no account 'nobody@example.com'" in str(caught.value)
        assert service.accounts() == ()
        assert service.jobs() == ()

    def test_authenticator_creates_a_never_connected_account(self, store: Store) -> None:
        """With a host authenticator the account is created; it shows "never connected"."""
        clock = Clock()
        service = _service(store, authenticator=lambda u, p: p == "host pw", clock=clock)
        job = service.enqueue("new@example.com", invoice("1"))
        account = service.account("new@example.com")
        assert account is not None
        assert account.last_seen_at is None
        assert account_table([account])[1].endswith(NEVER_CONNECTED)
        note = job_table([job], {"new@example.com"})[-1]
        assert NEVER_CONNECTED in note
        assert "new@example.com" in note
        assert not _login(service, "new@example.com", "wrong")
        assert service.account("new@example.com").last_seen_at is None  # type: ignore[union-attr]
        assert _login(service, "new@example.com", "host pw")
        seen = service.account("new@example.com").last_seen_at  # type: ignore[union-attr]
        assert seen == dt.datetime.fromtimestamp(clock.now, dt.UTC)
        assert NEVER_CONNECTED not in "".join(account_table(service.accounts()))

    def test_cli_shows_never_connected(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """qbwc account list and qbwc jobs say which accounts never connected."""
        from tests.test_service_cli import INVOICE

        db = str(tmp_path / "q.sqlite")
        path = tmp_path / "invoice.json"
        path.write_text(__import__("json").dumps(INVOICE))
        monkeypatch.setattr("sys.stdin", io.StringIO("pw\n"))
        assert main(["account", "add", "kristy", "--password-stdin", "--db", db]) == 0
        assert main(["enqueue", str(path), "--user", "kristy", "--db", db]) == 0
        capsys.readouterr()
        assert main(["account", "list", "--db", db]) == 0
        assert NEVER_CONNECTED in capsys.readouterr().out
        assert main(["jobs", "--db", db]) == 0
        assert f"'kristy' {NEVER_CONNECTED}" in capsys.readouterr().out


# --- 14. lookups and cancel ----------------------------------------------------------------------


class TestLookups:
    def test_getters_answer_none(self, store: Store) -> None:
        service = _service(store)
        assert service.job("12345") is None
        assert service.job("not an id") is None
        assert service.account("nobody") is None

    @pytest.mark.parametrize(
        ("action", "field"),
        [
            (lambda s: s.retry("12345"), "job_id"),
            (lambda s: s.cancel("12345"), "job_id"),
            (lambda s: s.retry("x"), "job_id"),
            (lambda s: s.set_password("nobody", "pw"), "username"),
            (lambda s: s.disconnect("nobody"), "username"),
            (lambda s: _qwc(s, "nobody"), "username"),
            (lambda s: s.rename_account("nobody", "other"), "old"),
        ],
    )
    def test_actions_on_a_missing_thing(
        self, store: Store, action: Callable[[WebConnectorService], object], field: str
    ) -> None:
        with pytest.raises(ConfigurationError) as caught:
            action(_service(store))
        assert caught.value.field == field


class TestCancel:
    def test_pending_is_cancelled_and_never_sent(self, store: Store) -> None:
        r = Rig(store)
        keep, drop = r.enqueue("1", "2")
        cancelled = r.service.cancel(drop.id)
        assert cancelled.status == "cancelled"
        assert r.service.job(drop.id) == cancelled
        assert [j.id for j in r.service.jobs(status="cancelled")] == [drop.id]
        assert r.run().completed
        assert r.ref_numbers() == ["1"]
        assert r.service.job(keep.id).status == "done"  # type: ignore[union-attr]
        assert r.service.job(drop.id).status == "cancelled"  # type: ignore[union-attr]
        with pytest.raises(ConfigurationError, match="already cancelled"):
            r.service.cancel(drop.id)
        with pytest.raises(ConfigurationError, match="is cancelled, not failed"):
            r.service.retry(drop.id)

    def test_sent_cannot_be_cancelled(self, store: Store) -> None:
        """A job handed to QuickBooks may be saved there: the error says when it was sent."""
        r = Rig(store)
        (job,) = r.enqueue("1")
        r.wc.inject(LoseQuickBooksResponse())
        r.run()
        sent = r.service.job(job.id)
        assert sent is not None
        assert sent.status == "sent"
        with pytest.raises(ConfigurationError) as caught:
            r.service.cancel(job.id)
        assert caught.value.field == "job_id"
        assert (
            f"job {job.id} was sent to QuickBooks at {sent.updated_at:%Y-%m-%d %H:%M:%S} UTC; "
            "it may already be saved" in str(caught.value)
        )
        assert r.service.job(job.id) == sent

    def test_done_cannot_be_cancelled(self, store: Store) -> None:
        r = Rig(store)
        (job,) = r.enqueue("1")
        r.run()
        with pytest.raises(ConfigurationError, match=f"job {job.id} is already done"):
            r.service.cancel(job.id)


class CancelMachine(ServiceMachine):
    """The service machine, with the host cancelling jobs at random moments."""

    def __init__(self) -> None:
        super().__init__()
        self.cancelled: set[str] = set()  # keys of the jobs cancelled

    @precondition(lambda self: self.rig is not None)
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        jobs = self.r.service.jobs(USER, limit=10_000)
        if not jobs:
            return
        job = data.draw(st.sampled_from(jobs))
        try:
            done = self.r.service.cancel(job.id)
        except ConfigurationError:
            now = self.r.service.job(job.id)
            assert now is not None
            assert now.status != "pending", now
            return
        assert done.status == "cancelled"
        # (The machine also queues requests without a key: a query, a Mod, a ListDel.)
        self.cancelled.add(job.key or f"id:{job.id}")

    @precondition(lambda self: self.rig is not None)
    @rule(data=st.data(), fault=st.sampled_from([None, LoseQuickBooksResponse()]))
    def sync_while_cancelling(self, data: st.DataObject, fault: Any) -> None:
        """The host cancels jobs between the Web Connector's calls of one session."""
        r = self.r
        app = r.wc.target

        def between_calls(environ: Any, start_response: Any) -> Any:
            if data.draw(st.booleans(), label="cancel now"):
                self.cancel(data)
            return app(environ, start_response)

        if fault is not None:
            r.wc.inject(fault)
        r.wc.target = between_calls
        try:
            r.run()
        finally:
            r.wc.target = app
            r.wc.faults.clear()

    @invariant()
    def no_cancelled_job_is_ever_sent(self) -> None:
        if self.rig is None:
            return
        sent = {f"inv-{ref}" for ref in self.r.ref_numbers()}
        assert not sent & self.cancelled, sent & self.cancelled
        with self.r.store.transaction() as tx:
            in_flight = tx.get_in_flight(USER)
            for key in self.cancelled:
                by_id = key.startswith("id:")
                job = tx.get_job(key[3:]) if by_id else tx.find_job(USER, key)
                assert job is not None
                assert job.status == "cancelled"
                assert job.attempts == 0 or in_flight is None or job.id not in in_flight.job_ids

    @precondition(lambda self: self.rig is not None)
    @rule()
    def settle(self) -> None:
        r = self.r
        r.wc.faults.clear()
        r.qb.switch_company(None)
        r.wc.set_password(self.password)
        finished = {"done", "failed", "cancelled"}
        statuses: set[str] = set()
        # The second Web Connector gives up, as in ServiceMachine.settle; its QuickBooks
        # runs what it holds before its session expires (docs/service.md), never later.
        self.slow = None
        for _ in range(40):
            self._advance(601)
            r.run()
            statuses = {job.status for job in r.service.jobs(USER, limit=10_000)}
            if statuses <= finished and not r.qb.pending_faults:
                break
        assert statuses <= finished, statuses


CancelMachine.TestCase.settings = settings(
    CancelMachine.TestCase.settings,
    stateful_step_count=20,
    max_examples=min(CancelMachine.TestCase.settings.max_examples, 25),
    deadline=None,
)
TestCancelMachine = CancelMachine.TestCase
TestCancelMachine.__doc__ = "Whatever the interleaving with syncs, no cancelled job is ever sent."


# --- the command line: qbwc jobs list|retry|cancel|prune ---------------------------------------


class TestJobsCommand:
    @pytest.fixture
    def db(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
        db = str(tmp_path / "q.sqlite")
        monkeypatch.setattr("sys.stdin", io.StringIO("pw\n"))
        assert main(["account", "add", "kristy", "--password-stdin", "--db", db]) == 0
        store = SQLiteStore(db)
        with store.transaction() as tx:
            owner = tx.get_setting("owner_id")
        service = WebConnectorService(store=store, owner_id=str(owner), password_cost=2)
        for i in range(5):
            service.enqueue("kristy", invoice(str(i)))
        _finish(store, "1", "failed", dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
        _finish(store, "2", "done", dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
        store.close()
        return db

    def _jobs(self, db: str) -> dict[str, str]:
        store = SQLiteStore(db)
        with store.transaction() as tx:
            jobs = {job.id: job.status for job in tx.list_jobs()}
        store.close()
        return jobs

    def test_list_is_the_default_and_pages(
        self, db: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        capsys.readouterr()
        assert main(["jobs", "--db", db]) == 0
        default = capsys.readouterr().out
        assert main(["jobs", "list", "--db", db]) == 0
        assert capsys.readouterr().out == default
        assert main(["jobs", "--user", "kristy", "--status", "pending", "--limit", "2",
                     "--db", db]) == 0  # fmt: skip
        out = capsys.readouterr()
        assert [line.split()[0] for line in out.out.splitlines()[1:3]] == ["3", "4"]
        assert "--after 4" in out.err
        assert main(["jobs", "list", "--status", "pending", "--after", "4", "--db", db]) == 0
        assert [line.split()[0] for line in capsys.readouterr().out.splitlines()[1:2]] == ["5"]
        assert main(["jobs", "--after", "5", "--db", db]) == 0
        assert capsys.readouterr().out == "no jobs after 5\n"
        assert main(["jobs", "--limit", "0", "--db", db]) == 1
        assert "limit: must be an int from 1 to 10,000" in capsys.readouterr().err

    def test_retry_cancel_prune(self, db: str, capsys: pytest.CaptureFixture[str]) -> None:
        assert main(["jobs", "retry", "1", "--db", db]) == 0
        assert main(["jobs", "cancel", "3", "--db", db]) == 0
        out = capsys.readouterr().out
        assert "job 1 is pending again" in out
        assert "job 3 cancelled" in out
        assert self._jobs(db) == {"1": "pending", "2": "done", "3": "cancelled", "4": "pending",
                                  "5": "pending"}  # fmt: skip
        assert main(["jobs", "prune", "--older-than", "90d", "--db", db]) == 0
        assert capsys.readouterr().out == "deleted 1 finished job older than 90d\n"
        assert main(["jobs", "prune", "--older-than", "0s", "--db", db]) == 0
        assert capsys.readouterr().out == "deleted 1 finished job older than 0s\n"
        assert self._jobs(db) == {"1": "pending", "4": "pending", "5": "pending"}

    @pytest.mark.parametrize(
        ("argv", "code", "message"),
        [
            (["jobs", "cancel", "1"], 1, "qbwc jobs: job_id: job 1 is already failed"),
            (["jobs", "cancel", "2"], 1, "qbwc jobs: job_id: job 2 is already done"),
            (["jobs", "retry", "3"], 1, "qbwc jobs: job_id: job 3 is pending, not failed"),
            (["jobs", "retry", "99"], 1, "qbwc jobs: job_id: no job 99"),
            (["jobs", "prune", "--older-than", "soon"], 1, "qbwc jobs: older_than: 'soon'"),
            (["jobs", "prune"], 2, "--older-than"),
            (["jobs", "cancel"], 2, "JOB_ID"),
            (["jobs", "--status", "lost"], 2, "invalid choice"),
        ],
    )
    def test_errors(
        self, db: str, capsys: pytest.CaptureFixture[str], argv: list[str], code: int, message: str
    ) -> None:
        capsys.readouterr()
        if code == 2:
            with pytest.raises(SystemExit) as exited:
                main([*argv, "--db", db])
            assert exited.value.code == 2
        else:
            assert main([*argv, "--db", db]) == 1
        err = capsys.readouterr().err
        assert message in err
        assert "Traceback" not in err
