"""
The login cache (docs/service.md, "Login cache"): a good scrypt check remembered as a keyed
login verifier in the store, for every worker, for a bounded time.

Each test replays a lifecycle through ``WebConnectorService.respond`` on every store and
counts the scrypt computations (``ScryptSpy``): a cached login computes none.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from qbwc import ConfigurationError, WebConnectorService
from qbwc.protocol import AuthenticateCall, InvalidUserReply
from qbwc.service._passwords import LoginCache
from qbwc.store import LoginVerifier, MemoryStore, SQLiteStore, Store
from tests.postgres import fresh_store as fresh_postgres_store
from tests.rig import OWNER, PASSWORD, USER, Clock
from tests.test_accounts import ScryptSpy

SECRET = "a secret of at least 32 bytes, kept out of the store"

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


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> ScryptSpy:
    return ScryptSpy(monkeypatch)


def _service(store: Store, **settings: Any) -> WebConnectorService:
    options: dict[str, Any] = {
        "owner_id": OWNER,
        "password_cost": 4,
        "login_secret": SECRET,
        **settings,
    }
    return WebConnectorService(store=store, **options)


def _login(service: WebConnectorService, password: str = PASSWORD, username: str = USER) -> bool:
    reply = service.respond(AuthenticateCall(username=username, password=password))
    return not isinstance(reply, InvalidUserReply)


def _verifier(store: Store, username: str = USER) -> LoginVerifier | None:
    with store.transaction() as tx:
        return tx.get_login_verifier(username)


class TestCache:
    def test_a_good_login_is_remembered(self, store: Store, spy: ScryptSpy) -> None:
        """Slow once, then fast; a wrong password pays scrypt and drops the verifier."""
        service = _service(store)
        service.add_account(USER, PASSWORD)
        spy.take()
        assert _login(service)
        assert spy.take() == [4]
        assert _verifier(store) is not None
        assert _login(service)
        assert _login(service)
        assert spy.take() == []
        assert not _login(service, "wrong")
        assert spy.take() == [4]
        assert _verifier(store) is None
        assert _login(service)  # slow again after a refusal
        assert spy.take() == [4]
        assert _login(service)
        assert spy.take() == []

    def test_shared_by_every_worker(self, store: Store, spy: ScryptSpy) -> None:
        """Another service (another worker, another machine) with the secret uses it."""
        first, second = _service(store), _service(store)
        first.add_account(USER, PASSWORD)
        assert _login(first)
        spy.take()
        assert _login(second)
        assert spy.take() == []

    def test_useless_without_the_secret(self, store: Store, spy: ScryptSpy) -> None:
        """A service with another secret (a copy of the database) must pay scrypt."""
        owner = _service(store)
        owner.add_account(USER, PASSWORD)
        assert _login(owner)
        thief = _service(store, login_secret="another secret of at least 32 bytes!")
        spy.take()
        assert _login(thief)
        assert spy.take() == [4]
        # Nor does the stored digest match a verifier made without any secret.
        verifier = _verifier(store)
        assert verifier is not None
        assert not LoginCache(b"\0" * 32, 86_400).matches(
            verifier, USER, _account_hash(store), PASSWORD, verifier.expires_at
        )

    def test_off_without_a_secret(self, store: Store, spy: ScryptSpy) -> None:
        """No secret, or 0 seconds: every login pays scrypt and nothing is stored."""
        for service in (_service(store, login_secret=None), _service(store, login_cache_seconds=0)):
            if service.account(USER) is None:
                service.add_account(USER, PASSWORD)
            spy.take()
            assert _login(service)
            assert _login(service)
            assert spy.take() == [4, 4]
            assert _verifier(store) is None

    def test_expires(self, store: Store, spy: ScryptSpy) -> None:
        """Good for login_cache_seconds after the scrypt check, not renewed by a cached login."""
        clock = Clock()
        service = _service(store, clock=clock, login_cache_seconds=60)
        service.add_account(USER, PASSWORD)
        assert _login(service)
        clock.advance(59)
        spy.take()
        assert _login(service)
        assert spy.take() == []
        clock.advance(1)
        assert _login(service)
        assert spy.take() == [4]
        clock.advance(30)
        assert _login(service)
        assert spy.take() == []

    def test_a_shorter_setting_bounds_older_verifiers(self, store: Store, spy: ScryptSpy) -> None:
        """A verifier made under a day is not good for longer than a new, shorter setting."""
        clock = Clock()
        _service(store, clock=clock).add_account(USER, PASSWORD)
        assert _login(_service(store, clock=clock))
        spy.take()
        assert _login(_service(store, clock=clock, login_cache_seconds=60))
        assert spy.take() == [4]

    def test_a_later_expiry_written_in_the_store_is_refused(
        self, store: Store, spy: ScryptSpy
    ) -> None:
        """The expiry is inside the keyed hash: moving it in the database voids the verifier."""
        clock = Clock()
        service = _service(store, clock=clock)
        service.add_account(USER, PASSWORD)
        assert _login(service)
        verifier = _verifier(store)
        assert verifier is not None
        with store.transaction() as tx:
            tx.put_login_verifier(
                attrs.evolve(verifier, expires_at=verifier.expires_at + dt.timedelta(seconds=-1))
            )
        spy.take()
        assert _login(service)
        assert spy.take() == [4]

    def test_rehash_keeps_it_working(self, store: Store, spy: ScryptSpy) -> None:
        """A login that rehashes an old cost stores a verifier of the new hash."""
        _service(store, password_cost=16).add_account(USER, PASSWORD)
        service = _service(store)
        spy.take()
        assert _login(service)
        assert spy.take() == [16, 4]
        assert _login(service)
        assert spy.take() == []


class TestDropped:
    def test_password_change(self, store: Store, spy: ScryptSpy) -> None:
        service = _service(store)
        service.add_account(USER, PASSWORD)
        assert _login(service)
        service.set_password(USER, "the new password")
        assert _verifier(store) is None
        spy.take()
        assert not _login(service)
        assert _login(service, "the new password")
        assert spy.take() == [4, 4]

    def test_password_changed_by_another_release(self, store: Store, spy: ScryptSpy) -> None:
        """A hash replaced without dropping the verifier (an older qbwc) voids it too."""
        service = _service(store)
        service.add_account(USER, PASSWORD)
        assert _login(service)
        other = _service(store, login_secret=None)
        new_hash = other._passwords.hash(PASSWORD)
        with store.transaction() as tx:
            account = tx.get_account(USER)
            assert account is not None
            tx.put_account(attrs.evolve(account, password_hash=new_hash))
        spy.take()
        assert _login(service)
        assert spy.take() == [4]

    def test_rename(self, store: Store, spy: ScryptSpy) -> None:
        service = _service(store)
        service.add_account(USER, PASSWORD)
        assert _login(service)
        service.rename_account(USER, "renamed@example.com")
        assert _verifier(store, "renamed@example.com") is None
        spy.take()
        assert _login(service, username="renamed@example.com")
        assert spy.take() == [4]

    def test_disconnect(self, store: Store, spy: ScryptSpy) -> None:
        service = _service(store)
        service.add_account(USER, PASSWORD)
        assert _login(service)
        service.disconnect(USER)
        assert _verifier(store) is None
        spy.take()
        assert _login(service)
        assert spy.take() == [4]


class _Recorder:
    """A store that records every transaction operation (name, arguments) in order."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.calls: list[tuple[str, ...]] = []

    def transaction(self) -> Any:
        recorder = self

        class Tx:
            def __init__(self, tx: Any) -> None:
                self.tx = tx

            def __getattr__(self, name: str) -> Any:
                method = getattr(self.tx, name)

                def call(*args: Any, **kwargs: Any) -> Any:
                    recorder.calls.append((name, *(repr(k) for k in kwargs.items())))
                    return method(*args, **kwargs)

                return call

        class Block:
            def __enter__(self) -> Any:
                recorder.calls.append(("begin",))
                self.cm = recorder.inner.transaction()
                return Tx(self.cm.__enter__())

            def __exit__(self, *exc: Any) -> Any:
                recorder.calls.append(("end",))
                return self.cm.__exit__(*exc)

        return Block()

    def close(self) -> None:
        self.inner.close()


class TestRefusalsLookAlike:
    def test_same_work_with_a_verifier_without_and_for_unknown_names(
        self, store: Store, spy: ScryptSpy
    ) -> None:
        """
        A wrong password costs the same store work and one scrypt of the same cost whether
        the account has a verifier, has none, or does not exist (docs/service.md).
        """
        recorder = _Recorder(store)
        service = _service(recorder)  # type: ignore[arg-type]
        for name in ("cached@example.com", "plain@example.com"):
            service.add_account(name, PASSWORD)
        assert _login(service, username="cached@example.com")
        assert _verifier(store, "cached@example.com") is not None
        service._passwords.costs()  # read now, not inside one of the refusals below
        traces = []
        for name in ("cached@example.com", "plain@example.com", "nobody@example.com"):
            spy.take()
            recorder.calls.clear()
            assert not _login(service, "wrong", username=name)
            traces.append((recorder.calls[:], spy.take()))
        assert traces[0] == traces[1] == traces[2]
        assert ("drop_login_verifier", "('refused', True)") in traces[0][0]
        assert traces[0][1] == [4]


class TestLoginWrites:
    def test_last_seen_written_at_most_every_15_minutes(self, store: Store) -> None:
        """Polls every 5 minutes rewrite the account row once in three (docs/service.md)."""
        clock = Clock()
        recorder = _Recorder(store)
        service = _service(recorder, clock=clock)  # type: ignore[arg-type]
        service.add_account(USER, PASSWORD)
        first = dt.datetime.fromtimestamp(clock.now, dt.UTC)
        written = []
        for _ in range(7):
            recorder.calls.clear()
            assert _login(service)
            written.append(("put_account",) in recorder.calls)
            account = service.account(USER)
            assert account is not None
            assert account.last_seen_at is not None
            assert dt.timedelta(0) <= first - account.last_seen_at < dt.timedelta(minutes=15)
            clock.advance(300)
            first = dt.datetime.fromtimestamp(clock.now, dt.UTC)
        assert written == [True, False, False, True, False, False, True]

    def test_a_clock_moved_back_writes_it_again(self, store: Store) -> None:
        clock = Clock()
        service = _service(store, clock=clock)
        service.add_account(USER, PASSWORD)
        assert _login(service)
        clock.advance(-60)
        assert _login(service)
        account = service.account(USER)
        assert account is not None
        assert account.last_seen_at == dt.datetime.fromtimestamp(clock.now, dt.UTC)

    def test_expired_sessions_purged_at_most_once_a_minute(self, store: Store) -> None:
        clock = Clock()
        recorder = _Recorder(store)
        service = _service(recorder, clock=clock)  # type: ignore[arg-type]
        service.add_account(USER, PASSWORD)
        purges = []
        for _ in range(4):
            recorder.calls.clear()
            assert _login(service)
            purges.append(("purge_sessions",) in recorder.calls)
            clock.advance(30)
        assert purges == [True, False, True, False]


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"login_secret": "too short"}, "login_secret"),
        ({"login_secret": b"\0" * 31}, "login_secret"),
        ({"login_secret": 42}, "login_secret"),
        ({"login_cache_seconds": -1}, "login_cache_seconds"),
        ({"login_cache_seconds": 30 * 86_400 + 1}, "login_cache_seconds"),
        ({"login_cache_seconds": float("nan")}, "login_cache_seconds"),
        ({"login_cache_seconds": "60"}, "login_cache_seconds"),
        ({"login_cache_seconds": True}, "login_cache_seconds"),
    ],
)
def test_bad_settings(settings: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        _service(MemoryStore(), **settings)
    assert info.value.field == field


def _account_hash(store: Store) -> str:
    with store.transaction() as tx:
        account = tx.get_account(USER)
    assert account is not None
    assert account.password_hash is not None
    return account.password_hash


# --- the verifier's lifecycle, at random -------------------------------------------------------


class LoginCacheMachine(RuleBasedStateMachine):
    """
    Logins, password changes, renames, disconnects, the clock and a second worker, in any order.

    The model says whether the account has a good verifier (made at the last good scrypt check,
    not dropped or expired since): a login pays scrypt exactly when the model says it must.
    """

    def __init__(self) -> None:
        super().__init__()
        self.patch = pytest.MonkeyPatch()
        self.spy = ScryptSpy(self.patch)
        self.clock = Clock()
        self.store = MemoryStore()
        self.workers = [
            _service(self.store, clock=self.clock, login_cache_seconds=600) for _ in range(2)
        ]
        self.name = USER
        self.password = "pw-0"
        self.workers[0].add_account(USER, self.password)
        self.expires: float | None = None  # the model's verifier
        self.renames = 0
        self.old_names: list[str] = []
        self.spy.take()

    def teardown(self) -> None:
        self.patch.undo()

    @rule(worker=st.integers(0, 1))
    def good_login(self, worker: int) -> None:
        assert _login(self.workers[worker], self.password, username=self.name)
        cached = self.expires is not None and self.expires > self.clock.now
        assert self.spy.take() == ([] if cached else [4])
        if not cached:
            self.expires = self.clock.now + 600

    @rule(worker=st.integers(0, 1))
    def wrong_login(self, worker: int) -> None:
        assert not _login(self.workers[worker], "wrong", username=self.name)
        assert self.spy.take() == [4]
        self.expires = None

    @rule()
    def unknown_login(self) -> None:
        assert not _login(self.workers[0], self.password, username="nobody@example.com")
        assert self.spy.take() == [4]

    @rule(n=st.integers(0, 2))
    def set_password(self, n: int) -> None:
        self.workers[0].set_password(self.name, f"pw-{n}")
        self.spy.take()
        self.password = f"pw-{n}"
        self.expires = None

    @rule()
    def rename(self) -> None:
        self.renames += 1
        new = f"renamed-{self.renames}@example.com"
        self.workers[1].rename_account(self.name, new)
        self.old_names.append(self.name)
        self.name = new
        self.expires = None

    @rule()
    def disconnect(self) -> None:
        self.workers[0].disconnect(self.name)
        self.expires = None

    @rule(seconds=st.sampled_from([1, 299, 600]))
    def wait(self, seconds: int) -> None:
        self.clock.advance(seconds)

    @invariant()
    def the_stored_verifier_is_the_model(self) -> None:
        verifier = _verifier(self.store, self.name)
        if self.expires is None:
            assert verifier is None
        else:
            assert verifier is not None
            assert verifier.expires_at == dt.datetime.fromtimestamp(self.expires, dt.UTC)
        for old in self.old_names:
            assert _verifier(self.store, old) is None


LoginCacheMachine.TestCase.settings = settings(
    LoginCacheMachine.TestCase.settings, deadline=None, stateful_step_count=30
)
TestLoginCacheMachine = LoginCacheMachine.TestCase
