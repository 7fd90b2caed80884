"""The in-memory store: for tests and single-process use."""

from __future__ import annotations

import bisect
import datetime as dt
import threading
from collections.abc import Callable, Iterator, Sequence
from types import TracebackType
from typing import Any, Final, NoReturn, final

import attrs

from qbwc.store._protocol import (
    FINISHED_STATUSES,
    JOB_STATUSES,
    Account,
    Follow,
    InFlight,
    Job,
    JobStatus,
    Link,
    LoginVerifier,
    PullMark,
    SessionRecord,
    StaleSessionError,
    StoreError,
)

__all__ = ["MemoryStore"]

_ABSENT: Final[Any] = object()
# put_session copies a SessionRecord field by field: fail at import if it grows one.
if tuple(f.name for f in attrs.fields(SessionRecord)) != (
    "ticket",
    "username",
    "state",
    "seq",
    "expires_at",
    "active",
):  # pragma: no cover - a development-time tripwire
    msg = "SessionRecord changed: update MemoryStore.put_session"
    raise ImportError(msg)


@final
class MemoryStore:
    """
    A :class:`~qbwc.store.Store` that keeps everything in this process's memory.

    Transactions are serialised by one lock and rolled back from an undo log,
    so it behaves like the durable stores (the same contract suite runs
    against it), but everything is gone when the process ends.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._owner: int | None = None
        self._accounts: dict[str, Account] = {}
        self._jobs: dict[str, Job] = {}
        self._keys: dict[tuple[str, str], str] = {}
        self._pending: dict[str, list[int]] = {}
        self._by_user: dict[str, list[int]] = {}
        self._ids: list[int] = []  # every job id, ascending (pages of list_jobs)
        self._counts: dict[tuple[str, JobStatus], int] = {}
        self._sessions: dict[str, SessionRecord] = {}
        self._in_flight: dict[str, InFlight] = {}
        self._settings: dict[str, str] = {}
        self._verifiers: dict[str, LoginVerifier] = {}
        self._after: dict[str, tuple[str, ...]] = {}  # job id -> the jobs waiting for it
        self._pages: dict[tuple[str, int], str] = {}  # (job id, page) -> Rets as text
        self._page_counts: dict[str, int] = {}  # job id -> how many pages it has
        # Linkages and pulls (docs/service.md), per account: username -> its records.
        self._links: dict[str, dict[str, Link]] = {}  # -> key -> link
        self._linked: dict[str, dict[str, frozenset[str]]] = {}  # -> ListID/TxnID -> keys
        self._follows: dict[str, dict[str, Follow]] = {}  # -> type -> follow
        self._marks: dict[str, dict[tuple[str, str], PullMark]] = {}  # -> (type, id) -> mark
        self._next_id = 1

    def __repr__(self) -> str:
        return f"<MemoryStore accounts={len(self._accounts)} jobs={len(self._jobs)}>"

    def transaction(self) -> _MemoryTransaction:
        """Run the block as one transaction (see :class:`~qbwc.store.Store`)."""
        return _MemoryTransaction(self)

    def close(self) -> None:
        """Nothing to release."""


class _MemoryTransaction:
    """
    The operations of one :class:`MemoryStore` transaction, and its ``with`` block.

    ``with store.transaction() as tx``: hold the store's lock, roll back on any
    exception.  The transaction is its own context manager (not a ``@contextmanager``
    generator, nor a separate scope object): the service opens one for every call,
    and this is the cheapest way to do the same.  Outside its block it refuses
    every operation.
    """

    __slots__ = ("closed", "s", "undo")

    def __init__(self, store: MemoryStore) -> None:
        self.s = store
        # Each entry undoes one change: a function to call, or (mapping, key, old
        # value or _ABSENT) for a dict entry (the most frequent: no closure to build).
        self.undo: list[Callable[[], None] | tuple[dict[Any, Any], Any, Any]] = []
        self.closed = True  # until __enter__ holds the lock

    def __enter__(self) -> _MemoryTransaction:
        store = self.s
        store._lock.acquire()
        me = threading.get_ident()
        if store._owner == me:
            store._lock.release()
            msg = "transactions do not nest"
            raise StoreError(msg)
        store._owner = me
        self.undo = []
        self.closed = False
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        store = self.s
        try:
            if exc_type is not None:
                self.rollback()
        finally:
            self.closed = True
            store._owner = None
            store._lock.release()

    def rollback(self) -> None:
        for step in reversed(self.undo):
            if isinstance(step, tuple):
                mapping, key, old = step
                if old is _ABSENT:
                    mapping.pop(key, None)
                else:
                    mapping[key] = old
            else:
                step()
        self.undo.clear()

    # -- journaled primitives ---------------------------------------------
    def _set(self, mapping: dict[Any, Any], key: Any, value: Any) -> None:
        self.undo.append((mapping, key, mapping.get(key, _ABSENT)))
        mapping[key] = value

    def _pop(self, mapping: dict[Any, Any], key: Any) -> None:
        if key not in mapping:
            return
        self.undo.append((mapping, key, mapping.pop(key)))

    def _insort(self, values: list[int], item: int) -> None:
        bisect.insort(values, item)
        self.undo.append(lambda: _discard(values, item))

    def _remove(self, values: list[int], item: int) -> None:
        if _remove_sorted(values, item):
            self.undo.append(lambda: _insort(values, item))

    def _count(self, username: str, status: JobStatus, delta: int) -> None:
        counts = self.s._counts
        self._set(counts, (username, status), counts.get((username, status), 0) + delta)

    # -- accounts ---------------------------------------------------------
    def get_account(self, username: str, *, for_update: bool = False) -> Account | None:
        if self.closed:
            _ended()
        return self.s._accounts.get(username)

    def put_account(self, account: Account) -> None:
        if self.closed:
            _ended()
        self._set(self.s._accounts, account.username, account)

    def list_accounts(self) -> tuple[Account, ...]:
        if self.closed:
            _ended()
        return tuple(self.s._accounts[name] for name in sorted(self.s._accounts))

    def password_costs(self) -> dict[int, int]:
        if self.closed:
            _ended()
        costs: dict[int, int] = {}
        for account in self.s._accounts.values():
            cost = _cost(account.password_hash)
            if cost is not None:
                costs[cost] = costs.get(cost, 0) + 1
        return costs

    def rename_account(self, old: str, new: str) -> Account:
        if self.closed:
            _ended()
        s = self.s
        account = s._accounts.get(old)
        if account is None:
            msg = f"no account {old!r}"
            raise StoreError(msg)
        if new in s._accounts or any(
            m.get(new) for m in (s._by_user, s._links, s._follows, s._marks)
        ):
            msg = f"account {new!r} already exists (or has jobs, links, pulls or marks)"
            raise StoreError(msg)
        renamed = attrs.evolve(account, username=new)
        self._pop(s._accounts, old)
        self._set(s._accounts, new, renamed)
        for number in s._by_user.get(old, ()):
            job = s._jobs[str(number)]
            self._set(s._jobs, job.id, attrs.evolve(job, username=new))
            if job.key is not None:
                self._pop(s._keys, (old, job.key))
                self._set(s._keys, (new, job.key), job.id)
        for mapping in (s._pending, s._by_user):
            self._move(mapping, old, new)
        for status in JOB_STATUSES:
            self._move(s._counts, (old, status), (new, status))
        for ticket in [t for t, r in s._sessions.items() if r.username == old]:
            self._pop(s._sessions, ticket)
        in_flight = s._in_flight.get(old)
        if in_flight is not None:
            self._pop(s._in_flight, old)
            self._set(s._in_flight, new, attrs.evolve(in_flight, username=new))
        self._pop(s._verifiers, old)
        for records in (s._links, s._follows, s._marks):
            mine: dict[Any, Any] | None = records.get(old)
            self._pop(records, old)
            if mine:
                moved = {k: attrs.evolve(r, username=new) for k, r in mine.items()}
                self._set(records, new, moved)
        self._move(s._linked, old, new)
        return renamed

    def _move(self, mapping: dict[Any, Any], old: Any, new: Any) -> None:
        if old in mapping:
            value = mapping[old]
            self._pop(mapping, old)
            self._set(mapping, new, value)
        else:
            self._pop(mapping, new)

    # -- login verifiers --------------------------------------------------
    def get_login_verifier(self, username: str) -> LoginVerifier | None:
        if self.closed:
            _ended()
        return self.s._verifiers.get(username)

    def put_login_verifier(self, verifier: LoginVerifier) -> None:
        if self.closed:
            _ended()
        self._set(self.s._verifiers, verifier.username, verifier)

    def drop_login_verifier(self, username: str, *, refused: bool = False) -> None:
        if self.closed:
            _ended()
        self._pop(self.s._verifiers, username)

    # -- jobs -------------------------------------------------------------
    def add_job(
        self,
        *,
        username: str,
        key: str | None,
        request: str,
        request_type: str,
        min_version: str,
        now: dt.datetime,
        qbxml: str | None = None,
        after: str | None = None,
        page_size: int | None = None,
    ) -> Job:
        if self.closed:
            _ended()
        if key is not None and (username, key) in self.s._keys:
            msg = f"account {username!r} already has a job with key {key!r}"
            raise StoreError(msg)
        number = self.s._next_id
        old_next = number
        self.s._next_id = number + 1
        self.undo.append(lambda: setattr(self.s, "_next_id", old_next))
        job = Job(
            id=str(number),
            username=username,
            key=key,
            request=request,
            request_type=request_type,
            qbxml=qbxml,
            min_version=min_version,
            created_at=now,
            updated_at=now,
            after=after,
            page_size=page_size,
        )
        self._set(self.s._jobs, job.id, job)
        if key is not None:
            self._set(self.s._keys, (username, key), job.id)
        if after is not None:
            self._set(self.s._after, after, (*self.s._after.get(after, ()), job.id))
        self._insort(self._list(self.s._pending, username), number)
        self._insort(self._list(self.s._by_user, username), number)
        self._insort(self.s._ids, number)
        self._count(username, "pending", 1)
        return job

    def _list(self, mapping: dict[str, list[int]], username: str) -> list[int]:
        values = mapping.get(username)
        if values is None:
            values = []
            self._set(mapping, username, values)
        return values

    def get_job(self, job_id: str) -> Job | None:
        if self.closed:
            _ended()
        return self.s._jobs.get(job_id)

    def find_job(self, username: str, key: str) -> Job | None:
        if self.closed:
            _ended()
        job_id = self.s._keys.get((username, key))
        return None if job_id is None else self.s._jobs[job_id]

    def put_job(self, job: Job) -> None:
        if self.closed:
            _ended()
        old = self.s._jobs.get(job.id)
        if old is None:
            msg = f"job {job.id} does not exist"
            raise StoreError(msg)
        if (old.username, old.key, old.request, old.after, old.page_size) != (
            job.username,
            job.key,
            job.request,
            job.after,
            job.page_size,
        ):
            msg = f"job {job.id}: username, key, request, after and page_size cannot change"
            raise StoreError(msg)
        self._set(self.s._jobs, job.id, job)
        if old.status != job.status:
            self._count(job.username, old.status, -1)
            self._count(job.username, job.status, 1)
            pending = self._list(self.s._pending, job.username)
            if old.status == "pending":
                self._remove(pending, int(job.id))
            if job.status == "pending":
                self._insort(pending, int(job.id))

    def next_pending(
        self, username: str, *, limit: int, exclude_ticket: str | None = None
    ) -> tuple[Job, ...]:
        if self.closed:
            _ended()
        found: list[Job] = []
        for number in self.s._pending.get(username, ()):
            if len(found) >= limit:
                break
            job = self.s._jobs[str(number)]
            if exclude_ticket is not None and job.deferred_ticket == exclude_ticket:
                continue
            if job.after is not None:
                waits_for = self.s._jobs.get(job.after)
                if waits_for is not None and waits_for.status != "done":
                    continue
            found.append(job)
        return tuple(found)

    def dependents(self, job_id: str) -> tuple[Job, ...]:
        if self.closed:
            _ended()
        jobs = self.s._jobs
        return tuple(jobs[i] for i in self.s._after.get(job_id, ()) if i in jobs)

    # -- query results ----------------------------------------------------
    def put_query_page(self, job_id: str, page: int, rets: str) -> None:
        if self.closed:
            _ended()
        if job_id not in self.s._jobs:
            msg = f"job {job_id} does not exist"
            raise StoreError(msg)
        if (job_id, page) not in self.s._pages:
            self._set(self.s._page_counts, job_id, self.s._page_counts.get(job_id, 0) + 1)
        self._set(self.s._pages, (job_id, page), rets)

    def get_query_page(self, job_id: str, page: int) -> str | None:
        if self.closed:
            _ended()
        return self.s._pages.get((job_id, page))

    def drop_query_pages(self, job_id: str) -> int:
        if self.closed:
            _ended()
        s = self.s
        count = s._page_counts.get(job_id, 0)
        if count:
            for key in [key for key in s._pages if key[0] == job_id]:
                self._pop(s._pages, key)
            self._pop(s._page_counts, job_id)
        return count

    def count_jobs(self, username: str, status: JobStatus, *more: JobStatus) -> int:
        if self.closed:
            _ended()
        counts = self.s._counts
        return sum(counts.get((username, one), 0) for one in dict.fromkeys((status, *more)))

    def list_jobs(
        self,
        *,
        username: str | None = None,
        status: JobStatus | None = None,
        limit: int | None = None,
        after: str | None = None,
    ) -> tuple[Job, ...]:
        if self.closed:
            _ended()
        ids = self.s._ids if username is None else self.s._by_user.get(username, [])
        start = 0
        if after is not None:
            if not (after.isascii() and after.isdigit()):  # not a job id: nothing after it
                return ()
            start = bisect.bisect_right(ids, int(after))
        candidates: Iterator[Job] = (self.s._jobs[str(n)] for n in ids[start:])
        found: list[Job] = []
        for job in candidates:
            if limit is not None and len(found) >= limit:
                break
            if status is None or job.status == status:
                found.append(job)
        return tuple(found)

    def prune_jobs(self, before: dt.datetime) -> int:
        if self.closed:
            _ended()
        s = self.s
        keep = {job_id for flight in s._in_flight.values() for job_id in flight.job_ids}
        doomed = [
            job
            for job in s._jobs.values()
            if job.status in FINISHED_STATUSES and job.updated_at < before and job.id not in keep
        ]
        if not doomed:
            return 0
        gone = {int(job.id) for job in doomed}
        for job in doomed:
            self._pop(s._jobs, job.id)
            if job.key is not None:
                self._pop(s._keys, (job.username, job.key))
            self._count(job.username, job.status, -1)
            if job.id in s._page_counts:
                self.drop_query_pages(job.id)
            self._pop(s._after, job.id)
        # One filtering pass per list (not one deletion per job), undone as a whole.
        for values in [s._ids, *(s._by_user[u] for u in {job.username for job in doomed})]:
            self._replace(values, [n for n in values if n not in gone])
        return len(doomed)

    def _replace(self, values: list[int], new: list[int]) -> None:
        old = values[:]
        values[:] = new
        self.undo.append(lambda: values.__setitem__(slice(None), old))

    # -- sessions ---------------------------------------------------------
    def get_session(self, ticket: str) -> SessionRecord | None:
        if self.closed:
            _ended()
        return self.s._sessions.get(ticket)

    def put_session(self, record: SessionRecord, *, expected_seq: int | None) -> SessionRecord:
        if self.closed:
            _ended()
        current = self.s._sessions.get(record.ticket)
        stored_seq = None if current is None else current.seq
        if stored_seq != expected_seq:
            msg = f"session changed concurrently (seq {stored_seq}, expected {expected_seq})"
            raise StaleSessionError(msg)
        if current is not None and current.username != record.username:
            msg = "a session cannot move to another account"
            raise StoreError(msg)
        seq = 0 if expected_seq is None else expected_seq + 1
        if record.seq != seq:  # attrs.evolve(record, seq=seq), spelled out: once per call
            record = SessionRecord(
                ticket=record.ticket,
                username=record.username,
                state=record.state,
                seq=seq,
                expires_at=record.expires_at,
                active=record.active,
            )
        self._set(self.s._sessions, record.ticket, record)
        return record

    def delete_session(self, ticket: str) -> None:
        if self.closed:
            _ended()
        self._pop(self.s._sessions, ticket)

    def sessions_for(self, username: str) -> tuple[SessionRecord, ...]:
        if self.closed:
            _ended()
        return tuple(r for r in self.s._sessions.values() if r.username == username)

    def purge_sessions(self, now: dt.datetime) -> int:
        if self.closed:
            _ended()
        expired = [t for t, r in self.s._sessions.items() if r.expires_at < now]
        for ticket in expired:
            self._pop(self.s._sessions, ticket)
        return len(expired)

    # -- settings ---------------------------------------------------------
    def get_setting(self, name: str) -> str | None:
        if self.closed:
            _ended()
        return self.s._settings.get(name)

    def put_setting(self, name: str, value: str) -> None:
        if self.closed:
            _ended()
        self._set(self.s._settings, name, value)

    # -- in flight --------------------------------------------------------
    def get_in_flight(self, username: str) -> InFlight | None:
        if self.closed:
            _ended()
        return self.s._in_flight.get(username)

    def put_in_flight(self, in_flight: InFlight) -> None:
        if self.closed:
            _ended()
        self._set(self.s._in_flight, in_flight.username, in_flight)

    def clear_in_flight(self, username: str) -> None:
        if self.closed:
            _ended()
        self._pop(self.s._in_flight, username)

    # -- linkages (docs/service.md, "Linkages and pulls") ------------------
    def _mine(self, mapping: dict[str, dict[Any, Any]], username: str) -> dict[Any, Any]:
        values = mapping.get(username)
        if values is None:
            values = {}
            self._set(mapping, username, values)
        return values

    def get_link(self, username: str, key: str) -> Link | None:
        if self.closed:
            _ended()
        return self.s._links.get(username, {}).get(key)

    def put_link(self, link: Link) -> None:
        if self.closed:
            _ended()
        links = self._mine(self.s._links, link.username)
        old = links.get(link.key)
        if old is not None:
            self._index(old, add=False)
        self._set(links, link.key, link)
        self._index(link, add=True)

    def _index(self, link: Link, *, add: bool) -> None:
        """Add or remove *link* in the by-object index of ``links_to``."""
        index = self._mine(self.s._linked, link.username)
        for object_id in {link.list_id, link.txn_id} - {None}:
            assert object_id is not None
            keys = index.get(object_id, frozenset())
            keys = keys | {link.key} if add else keys - {link.key}
            if keys:
                self._set(index, object_id, keys)
            else:
                self._pop(index, object_id)

    def delete_link(self, username: str, key: str) -> bool:
        if self.closed:
            _ended()
        links = self.s._links.get(username, {})
        old = links.get(key)
        if old is None:
            return False
        self._index(old, add=False)
        self._pop(links, key)
        return True

    def list_links(self, username: str, *, type: str | None = None) -> tuple[Link, ...]:
        if self.closed:
            _ended()
        links = self.s._links.get(username, {})
        return tuple(links[key] for key in sorted(links) if type is None or links[key].type == type)

    def links_to(self, username: str, object_id: str) -> tuple[Link, ...]:
        if self.closed:
            _ended()
        links = self.s._links.get(username, {})
        keys = self.s._linked.get(username, {}).get(object_id, ())
        return tuple(links[key] for key in sorted(keys))

    def drop_links(self, username: str) -> int:
        if self.closed:
            _ended()
        count = len(self.s._links.get(username, ()))
        self._pop(self.s._links, username)
        self._pop(self.s._linked, username)
        return count

    # -- pulls ------------------------------------------------------------
    def get_follow(self, username: str, type: str) -> Follow | None:
        if self.closed:
            _ended()
        return self.s._follows.get(username, {}).get(type)

    def put_follow(self, follow: Follow) -> None:
        if self.closed:
            _ended()
        self._set(self._mine(self.s._follows, follow.username), follow.type, follow)

    def delete_follow(self, username: str, type: str) -> bool:
        if self.closed:
            _ended()
        follows = self.s._follows.get(username, {})
        if type not in follows:
            return False
        self._pop(follows, type)
        return True

    def list_follows(self, username: str) -> tuple[Follow, ...]:
        if self.closed:
            _ended()
        follows = self.s._follows.get(username, {})
        return tuple(follows[name] for name in sorted(follows))

    def reset_follows(self, username: str) -> int:
        if self.closed:
            _ended()
        follows = self.s._follows.get(username, {})
        count = 0
        for name, follow in list(follows.items()):
            if follow.state is not None or follow.file_id is not None:
                count += follow.state is not None
                self._set(follows, name, attrs.evolve(follow, state=None, file_id=None))
        return count

    def get_marks(
        self,
        username: str,
        type: str,
        object_ids: Sequence[str],
    ) -> dict[str, PullMark]:
        if self.closed:
            _ended()
        marks = self.s._marks.get(username, {})
        found: dict[str, PullMark] = {}
        for object_id in object_ids:
            mark = marks.get((type, object_id))
            if mark is not None:
                found[object_id] = mark
        return found

    def put_marks(self, marks: Sequence[PullMark]) -> None:
        if self.closed:
            _ended()
        for mark in marks:
            self._set(self._mine(self.s._marks, mark.username), (mark.type, mark.object_id), mark)

    def drop_marks(self, username: str) -> int:
        if self.closed:
            _ended()
        count = len(self.s._marks.get(username, ()))
        self._pop(self.s._marks, username)
        return count


def _cost(password_hash: str | None) -> int | None:
    """The scrypt cost ``n`` of a stored hash (``scrypt$n$r$p$salt$hash``), or None."""
    if password_hash is None or not password_hash.startswith("scrypt$"):
        return None
    text = password_hash.split("$", 2)[1]
    return int(text) if text.isascii() and text.isdigit() else None


def _ended() -> NoReturn:
    """Refuse an operation after the transaction ended (checked inline: no call per operation)."""
    msg = "the transaction has ended"
    raise StoreError(msg)


def _insort(values: list[int], item: int) -> None:
    bisect.insort(values, item)


def _remove_sorted(values: list[int], item: int) -> bool:
    index = bisect.bisect_left(values, item)
    if index < len(values) and values[index] == item:
        del values[index]
        return True
    return False


def _discard(values: list[int], item: int) -> None:
    _remove_sorted(values, item)
