"""
The one storage protocol behind :class:`~qbwc.WebConnectorService`, and the records it stores.

A store holds five things: accounts, jobs (the durable queue), the pages of
query results, sessions (one per Web Connector ticket) and, per account, the
message set that is in flight with QuickBooks.  Every change the service makes happens inside
``with store.transaction() as tx:`` so that consecutive Web Connector calls
may land on different worker processes.

Three guarantees make a store correct (the contract suite in
``tests/test_store_contract.py`` checks them for every store):

- **Atomicity.**  Everything done in one transaction is kept, or nothing is
  (an exception inside the ``with`` block rolls back).
- **Serial per account.**  ``tx.get_account(name, for_update=True)`` claims the
  account row until the transaction ends (``SELECT … FOR UPDATE`` in a server
  database; SQLite's ``BEGIN IMMEDIATE`` and the memory store's lock give it for
  free).  The service claims the account before it reads or changes that
  account's jobs, sessions or in-flight set.
- **Compare-and-set on sessions.**  ``tx.put_session(record, expected_seq=n)``
  writes only when the stored record still has ``seq == n`` (``None``: only if
  there is none) and raises :class:`StaleSessionError` otherwise.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from contextlib import AbstractContextManager
from decimal import Decimal
from typing import Any, Final, Literal, Protocol, final
from uuid import UUID

import attrs

from qbwc.exceptions import QBWCError

__all__ = [
    "FINISHED_STATUSES",
    "JOB_STATUSES",
    "Account",
    "Follow",
    "InFlight",
    "Job",
    "JobError",
    "JobResponse",
    "JobStatus",
    "Link",
    "PullMark",
    "SessionRecord",
    "StaleSessionError",
    "Store",
    "StoreError",
    "StoreTransaction",
]

#: Where a job is in its lifecycle: ``pending`` → ``sent`` → ``done`` | ``failed``, or
#: ``pending`` → ``cancelled`` (see :attr:`Job.status`).
JobStatus = Literal["pending", "sent", "done", "failed", "cancelled"]

#: Every job status, in lifecycle order.
JOB_STATUSES: Final[tuple[JobStatus, ...]] = ("pending", "sent", "done", "failed", "cancelled")

#: The statuses a job never leaves by itself (``retry`` puts a failed one back).
FINISHED_STATUSES: Final[tuple[JobStatus, ...]] = ("done", "failed", "cancelled")


class StoreError(QBWCError):
    """The store cannot be used: unknown schema version, corrupt data, ..."""


class StaleSessionError(StoreError):
    """
    A session was changed by someone else since it was read.

    Raised by :meth:`StoreTransaction.put_session` when the compare-and-set on
    ``seq`` fails: two calls for one ticket raced.  Nothing was written.
    """


@final
@attrs.frozen(kw_only=True)
class Account:
    """
    One Web Connector login of your service and the company file it is linked to.

    Attributes:
        username: the QWC ``UserName``.
        password_hash: salted scrypt hash (``scrypt$n$r$p$salt$hash``), or None
            when the host authenticates with its own ``authenticator``.
        file_id: the FileID written into this account's QWC file.
        linked_file_id: the FileID stamp of the company file this account is
            bound to, or None before the first sync (and after ``disconnect``).
        company_file: full path of the linked company file, as last seen.
        company_name: its company name, as last seen.
        linked_at: when the binding was made (UTC).
        last_seen_at: when the Web Connector last logged in to it (UTC), to within
            15 minutes (a login rewrites an older one); None: it never connected.
    """

    username: str
    password_hash: str | None = attrs.field(default=None, repr=False)
    file_id: UUID
    linked_file_id: UUID | None = None
    company_file: str | None = None
    company_name: str | None = None
    linked_at: dt.datetime | None = None
    last_seen_at: dt.datetime | None = None


@final
@attrs.frozen(kw_only=True)
class LoginVerifier:
    """
    A fast check of an account's password, kept after a slow (scrypt) check succeeded.

    Attributes:
        username: the account.
        digest: a keyed hash of the password made with a secret the store never
            holds (docs/service.md, "Passwords"): without that secret it tests nothing.
        expires_at: after this (UTC) a login pays the slow hash again.
    """

    username: str
    digest: str = attrs.field(repr=False)
    expires_at: dt.datetime


@final
@attrs.frozen(kw_only=True)
class JobError:
    """
    Why a job failed (or why its last attempt did, while it waits for a retry).

    Attributes:
        code: QuickBooks' statusCode (``"3140"``), a request processor HRESULT
            (``"0x80040400"``), or one of qbwc's own: ``"version"`` (QuickBooks
            is too old for the request), ``"unconfirmed"`` (QuickBooks could not
            say whether it saved the request; check before resending).
        message: the text QuickBooks gave, or qbwc's explanation.
        reference: the support reference (``QBWC-7F3K2Q``) logged with the details.
    """

    code: str
    message: str
    reference: str


@final
@attrs.frozen(kw_only=True)
class JobResponse:
    """
    What QuickBooks answered for a job, the same shape for every kind of request.

    Attributes:
        status_code, status_severity, status_message: QuickBooks' status.
        list_id: the ListID of the list object added, changed or deleted
            (a customer, an item...), when QuickBooks named one.
        txn_id: the TxnID of the transaction added, changed, deleted or voided.
        txn_number, ref_number: the transaction's numbers, when it has them.
        edit_sequence: the object's EditSequence after the change (list objects
            and transactions alike): what the next Mod of it sends.
        total: the transaction's total, when it has one.
        ret_count: for a query, how many records it returned (the records
            themselves: ``WebConnectorService.query_results``).
        iterator_id, iterator_remaining: a paged query's QuickBooks iterator
            while it runs (``iteratorID``, ``iteratorRemainingCount``).
        session: the session (the SHA-256 of its ticket) in which QuickBooks
            gave *iterator_id*, or the *edit_sequence* a Mod without one was
            read for: they hold only within it (docs/queries.md).
        seen: how many records the running iterator has returned, to skip
            what was delivered before a cut-off (docs/queries.md).
        last_id: the ListID or TxnID of the last record delivered.
        full_name: the FullName of the list object added or changed, when its
            answer has one (what its linkage keeps; docs/linkages.md).
    """

    status_code: int
    status_severity: str
    status_message: str
    txn_id: str | None = None
    txn_number: int | None = None
    ref_number: str | None = None
    edit_sequence: str | None = None
    total: Decimal | None = None
    list_id: str | None = None
    ret_count: int | None = None
    iterator_id: str | None = None
    iterator_remaining: int | None = None
    session: str | None = None
    seen: int | None = None
    last_id: str | None = None
    full_name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict (Decimal as str), a paged query's or a Mod's cursor included."""
        data = attrs.asdict(self)
        data["total"] = None if self.total is None else str(self.total)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JobResponse:
        """The inverse of :meth:`to_dict`."""
        total = data.get("total")
        return cls(
            status_code=int(data["status_code"]),
            status_severity=str(data["status_severity"]),
            status_message=str(data["status_message"]),
            txn_id=data.get("txn_id"),
            txn_number=data.get("txn_number"),
            ref_number=data.get("ref_number"),
            edit_sequence=data.get("edit_sequence"),
            total=None if total is None else Decimal(total),
            list_id=data.get("list_id"),
            ret_count=data.get("ret_count"),
            iterator_id=data.get("iterator_id"),
            iterator_remaining=data.get("iterator_remaining"),
            session=data.get("session"),
            seen=data.get("seen"),
            last_id=data.get("last_id"),
            full_name=data.get("full_name"),
        )


@final
@attrs.frozen(kw_only=True)
class Job:
    """
    One queued request (an Add, Mod, Del, Void, Query... of any type) and what became of it.

    Attributes:
        id: assigned by the store; increasing in enqueue order.
        username: the account whose company file receives it.
        key: the host's idempotency key (unique per account), or None.
        request: the model as JSON text (``qbwc.qbxml.dump``).
        request_type: the model's class name (``"InvoiceAdd"``, ``"CustomerQuery"``).
        qbxml: the request as qbXML, rendered and checked when it was queued
            (``qbwc.qbxml.render_request``): what goes into its ``<…Rq>``
            when it is sent.  None once the job is done or failed (it is not
            needed again); a job without it is rendered from *request*.
        min_version: the lowest qbXML version that has every field it uses.
        status: ``pending`` → ``sent`` → ``done`` | ``failed`` (``sent`` goes
            back to ``pending`` when QuickBooks never processed it, or for a
            retry after a transient error); ``pending`` → ``cancelled`` when
            the host cancels it before it is sent.
        attempts: how many times it was sent to QuickBooks.
        txn_id: the TxnID QuickBooks assigned (or that was changed, deleted,
            voided), once done; :attr:`list_id` is its list-object twin.
        response: QuickBooks' answer, once done (or failed with a status).
        error: why it failed (or why the last attempt did).
        deferred_ticket: a retry waits for a session other than this one (its
            key, as in :attr:`SessionRecord.ticket`).
        created_at, updated_at: UTC timestamps.
        after: the id of the job this one waits for (``enqueue(..., after=)``):
            it is not sent before that one is done, and fails when that one fails.
        page_size: a query's records per page (None: the whole answer is one page).
        pages, records: how many pages and records of a query's result the
            store holds (delivered so far).
    """

    id: str
    username: str
    key: str | None = None
    request: str = attrs.field(repr=False)
    request_type: str
    qbxml: str | None = attrs.field(default=None, repr=False)
    min_version: str = "1.0"
    status: JobStatus = "pending"
    attempts: int = 0
    txn_id: str | None = None
    response: JobResponse | None = None
    error: JobError | None = None
    deferred_ticket: str | None = attrs.field(default=None, repr=False)
    created_at: dt.datetime
    updated_at: dt.datetime
    after: str | None = None
    page_size: int | None = None
    pages: int = 0
    records: int = 0

    @property
    def list_id(self) -> str | None:
        """The ListID QuickBooks named in its answer (a list object's Add, Mod, ListDel)."""
        return None if self.response is None else self.response.list_id

    @property
    def is_query(self) -> bool:
        """The request reads (a ``…Query``): it needs no error recovery."""
        return self.request_type.endswith("Query")


@final
@attrs.frozen(kw_only=True)
class SessionRecord:
    """
    One Web Connector session (ticket) as stored.

    Attributes:
        ticket: the session's key: the SHA-256 (hex) of the ticket handed to the
            Web Connector (the service never stores a ticket in clear).
        username: the account it was issued to; it can touch nothing else.
        state: the serialized session (JSON text), opaque to the store.
        seq: bumped on every write; the compare-and-set key.
        expires_at: the ticket is dead after this (UTC); extended on every call.
            The service keeps an expired record a while (a late answer from it
            is still recorded) and purges it later.
        active: False once the session finished (a new session may start).
    """

    ticket: str = attrs.field(repr=False)
    username: str
    state: str
    seq: int = 0
    expires_at: dt.datetime
    active: bool = True


@final
@attrs.frozen(kw_only=True)
class InFlight:
    """
    The message set handed to the Web Connector and not yet answered.

    Persisted *before* the qbXML leaves the service, so that a lost response
    can be recovered from QuickBooks' error-recovery store in a later session.

    Attributes:
        username: the account.
        message_set_id: the ``newMessageSetID`` (at most 23 characters).
        job_ids: the jobs in the set, in request order (empty for a
            status check or a clear).
        kind: ``write`` (jobs), ``check`` (asking QuickBooks for the stored
            status of *message_set_id*) or ``clear`` (dropping it).
        version: the qbXML version the set was written in.
        ticket: the session that sent it (its key, as in
            :attr:`SessionRecord.ticket`).
        sent_at: when it was handed over (UTC).
    """

    username: str
    message_set_id: str
    job_ids: tuple[str, ...]
    kind: Literal["write", "check", "clear"] = "write"
    version: str
    ticket: str = attrs.field(repr=False)
    sent_at: dt.datetime


@final
@attrs.frozen(kw_only=True)
class Link:
    """
    A linkage: the host's key for a QuickBooks object, and QuickBooks' identity for it.

    Kept per account and company file (docs/service.md, "Linkages and pulls").

    Attributes:
        username: the account.
        key: the host's key (the same rule as job keys).
        type: the object type: ``"Customer"``, ``"ItemService"``, ``"Invoice"``...
            (the Ret's name without ``Ret``).
        list_id: the ListID, for a list object.
        txn_id: the TxnID, for a transaction.
        edit_sequence: its EditSequence as last seen.
        full_name: its FullName (or Name), for a list object that has one.
        file_id: the company file it lives in (the account's ``linked_file_id``).
        seen_at: when it was last written or seen in an answer (UTC).
    """

    username: str
    key: str
    type: str
    list_id: str | None = None
    txn_id: str | None = None
    edit_sequence: str | None = None
    full_name: str | None = None
    file_id: UUID
    seen_at: dt.datetime


@final
@attrs.frozen(kw_only=True)
class Follow:
    """
    A declared pull (``service.follow``) and its progress.

    Attributes:
        username: the account.
        type: what is pulled: ``"ReceivePayment"``, ``"Bill"``, ``"Customer"``...
        spec: the declaration as JSON text (filters, page size...), owned by the pull engine.
        state: its progress as JSON text (cursor, running iterator...), owned by the pull
            engine; None: the next pull starts from scratch.
        file_id: the company file *state* belongs to (None when *state* is None).
        updated_at: when it was last written (UTC).
    """

    username: str
    type: str
    spec: str
    state: str | None = None
    file_id: UUID | None = None
    updated_at: dt.datetime


@final
@attrs.frozen(kw_only=True)
class PullMark:
    """
    A change already delivered to the host, recognised by ID and EditSequence.

    Attributes:
        username: the account.
        type: the followed type it was pulled for.
        object_id: its ListID or TxnID.
        edit_sequence: the EditSequence delivered; None marks a delivered deletion.
        file_id: the company file it came from.
        seen_at: when it was delivered (UTC).
    """

    username: str
    type: str
    object_id: str
    edit_sequence: str | None
    file_id: UUID
    seen_at: dt.datetime


class StoreTransaction(Protocol):
    """**Protocol:** the operations available inside ``store.transaction()``."""

    # -- accounts --------------------------------------------------------
    def get_account(self, username: str, *, for_update: bool = False) -> Account | None:
        """The account, or None; *for_update* claims it until the transaction ends."""
        ...

    def put_account(self, account: Account) -> None:
        """Insert or replace the account."""
        ...

    def list_accounts(self) -> tuple[Account, ...]:
        """Every account, by username."""
        ...

    def password_costs(self) -> dict[int, int]:
        """
        How many stored password hashes there are of each scrypt cost (``n``).

        Accounts without a hash (or with one that is not ``scrypt$n$…``) are not counted.
        """
        ...

    def rename_account(self, old: str, new: str) -> Account:
        """
        Give the account *old* the username *new*, and return it renamed.

        Everything else about the account stays (password hash, FileID,
        company-file link); its jobs (with their idempotency keys), its
        in-flight message set, links, pulls and pull marks move with it.  Its
        sessions are deleted: a session never moves to another account, so
        their tickets go stale.

        Raises:
            StoreError: there is no account *old*, or *new* already has an
                account, jobs, links, pulls or marks.
        """
        ...

    # -- jobs ------------------------------------------------------------
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
        """
        Append a pending job and return it with its new id (and *qbxml*, kept as given).

        *after* (a job id) and *page_size* are kept as given; they never change.

        Raises:
            StoreError: the account already has a job with *key* (callers check
                with ``find_job`` first, under the account claim).
        """
        ...

    def get_job(self, job_id: str) -> Job | None:
        """The job, or None."""
        ...

    def find_job(self, username: str, key: str) -> Job | None:
        """The account's job with idempotency *key*, or None."""
        ...

    def put_job(self, job: Job) -> None:
        """Replace a job (it must exist)."""
        ...

    def next_pending(
        self, username: str, *, limit: int, exclude_ticket: str | None = None
    ) -> tuple[Job, ...]:
        """
        Up to *limit* pending jobs of the account, oldest first.

        Jobs whose ``deferred_ticket`` equals *exclude_ticket* are skipped, and
        so are jobs waiting for another (``after``) that exists and is not done.
        """
        ...

    def dependents(self, job_id: str) -> tuple[Job, ...]:
        """The jobs whose ``after`` is *job_id*, oldest first (any status)."""
        ...

    # -- query results ---------------------------------------------------
    def put_query_page(self, job_id: str, page: int, rets: str) -> None:
        """
        Keep page *page* (0, 1, ...) of a query job's result: its Rets as XML text.

        Replaces a page of that number.  Deleted with the job (``prune_jobs``).
        """
        ...

    def get_query_page(self, job_id: str, page: int) -> str | None:
        """Page *page* of the job's result, or None."""
        ...

    def drop_query_pages(self, job_id: str) -> int:
        """Forget every page of the job's result (a query run again); return how many."""
        ...

    def count_jobs(self, username: str, status: JobStatus, *more: JobStatus) -> int:
        """How many of the account's jobs have *status* (or any of *more*), in one read."""
        ...

    def list_jobs(
        self,
        *,
        username: str | None = None,
        status: JobStatus | None = None,
        limit: int | None = None,
        after: str | None = None,
    ) -> tuple[Job, ...]:
        """
        Jobs, oldest first, optionally of one account and/or one status.

        *after*: only jobs whose id is greater (a page starts after the last id
        of the previous one); *limit*: at most this many.
        """
        ...

    def prune_jobs(self, before: dt.datetime) -> int:
        """
        Delete finished jobs (``done``, ``failed``, ``cancelled``) last updated before *before*.

        Never a pending or sent job, nor a job of an in-flight message set.
        Their query pages go with them.  Returns how many were deleted.
        """
        ...

    # -- sessions --------------------------------------------------------
    def get_session(self, ticket: str) -> SessionRecord | None:
        """The session with *ticket*, or None."""
        ...

    def put_session(self, record: SessionRecord, *, expected_seq: int | None) -> SessionRecord:
        """
        Write *record* with ``seq = expected_seq + 1`` (or 0 for a new one) and return it.

        Raises:
            StaleSessionError: the stored seq is not *expected_seq* (or a
                session exists when *expected_seq* is None).
        """
        ...

    def delete_session(self, ticket: str) -> None:
        """Forget the session (no error if absent)."""
        ...

    def sessions_for(self, username: str) -> tuple[SessionRecord, ...]:
        """Every stored session of the account."""
        ...

    def purge_sessions(self, now: dt.datetime) -> int:
        """Delete sessions that expired before *now*; return how many."""
        ...

    # -- login verifiers (docs/service.md, "Passwords") -------------------
    def get_login_verifier(self, username: str) -> LoginVerifier | None:
        """The account's login verifier, or None (expired ones too: the caller checks)."""
        ...

    def put_login_verifier(self, verifier: LoginVerifier) -> None:
        """Store (or replace) the account's login verifier."""
        ...

    def drop_login_verifier(self, username: str, *, refused: bool = False) -> None:
        """
        Forget the account's login verifier (no error if absent).

        *refused*: a refused login, in a transaction of its own.  The store may then
        commit without waiting for the disk (PostgreSQL does), so that the call costs
        the same whether a verifier existed or not; a crash may keep one that the next
        wrong password drops again.
        """
        ...

    # -- settings --------------------------------------------------------
    def get_setting(self, name: str) -> str | None:
        """A stored setting of the installation (e.g. ``"owner_id"``), or None."""
        ...

    def put_setting(self, name: str, value: str) -> None:
        """Store (or replace) a setting."""
        ...

    # -- the in-flight message set ---------------------------------------
    def get_in_flight(self, username: str) -> InFlight | None:
        """The account's unanswered message set, or None."""
        ...

    def put_in_flight(self, in_flight: InFlight) -> None:
        """Record (or replace) the account's unanswered message set."""
        ...

    def clear_in_flight(self, username: str) -> None:
        """Forget the account's unanswered message set (no error if absent)."""
        ...

    # -- linkages (docs/service.md, "Linkages and pulls") -------------------
    def get_link(self, username: str, key: str) -> Link | None:
        """The account's link named *key*, or None."""
        ...

    def put_link(self, link: Link) -> None:
        """Insert or replace the link (keyed by username and key)."""
        ...

    def delete_link(self, username: str, key: str) -> bool:
        """Forget the link; False when there was none."""
        ...

    def list_links(self, username: str, *, type: str | None = None) -> tuple[Link, ...]:
        """The account's links (of one *type*, if given), ordered by key."""
        ...

    def links_to(self, username: str, object_id: str) -> tuple[Link, ...]:
        """The account's links whose ListID or TxnID is *object_id*, ordered by key."""
        ...

    def drop_links(self, username: str) -> int:
        """Forget every link of the account; return how many there were."""
        ...

    # -- pulls -----------------------------------------------------------
    def get_follow(self, username: str, type: str) -> Follow | None:
        """The account's pull of *type*, or None."""
        ...

    def put_follow(self, follow: Follow) -> None:
        """Insert or replace the pull (keyed by username and type)."""
        ...

    def delete_follow(self, username: str, type: str) -> bool:
        """Forget the pull (not its marks); False when there was none."""
        ...

    def list_follows(self, username: str) -> tuple[Follow, ...]:
        """The account's pulls, ordered by type."""
        ...

    def reset_follows(self, username: str) -> int:
        """
        Start every pull of the account from scratch (``state`` and ``file_id`` None).

        The declarations (``spec``) and ``updated_at`` stay.  Returns how many had a state.
        """
        ...

    def get_marks(self, username: str, type: str, object_ids: Sequence[str]) -> dict[str, PullMark]:
        """The marks of those of *object_ids* that have one, by object id (few statements)."""
        ...

    def put_marks(self, marks: Sequence[PullMark]) -> None:
        """Insert or replace marks (keyed by username, type and object id)."""
        ...

    def drop_marks(self, username: str) -> int:
        """Forget every mark of the account; return how many there were."""
        ...


class Store(Protocol):
    """
    **Protocol:** durable state of a :class:`~qbwc.WebConnectorService`.

    Implementations: :class:`~qbwc.store.MemoryStore` (tests, a single
    process) and :class:`~qbwc.store.SQLiteStore` (the embedded default; several
    worker processes on one machine).
    """

    def transaction(self) -> AbstractContextManager[StoreTransaction]:
        """
        A transaction: committed when the block ends, rolled back on an exception.

        Transactions do not nest.
        """
        ...

    def close(self) -> None:
        """Release connections and files."""
        ...


def utc(value: dt.datetime) -> dt.datetime:
    """Normalise an aware datetime to UTC (naive ones are refused)."""
    if value.tzinfo is None:
        msg = "timestamps must be timezone-aware"
        raise ValueError(msg)
    return value.astimezone(dt.UTC)
