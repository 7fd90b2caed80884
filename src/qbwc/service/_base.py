"""What the service's concerns share: settings, time, support references, the per-call context."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Final, Literal, NamedTuple, TypeVar

import attrs

from qbwc._events import AnyCall, AnyReply
from qbwc._passwords import LoginCache, PasswordChecker
from qbwc._session import Session
from qbwc._state import SessionState
from qbwc.exceptions import ConfigurationError
from qbwc.service._records import _FINISHED_PHASES, _dump_record, _Tally
from qbwc.service._texts import _REFERENCE_ALPHABET
from qbwc.store._protocol import (
    Account,
    Job,
    JobError,
    JobResponse,
    SessionRecord,
    Store,
    StoreTransaction,
)

if TYPE_CHECKING:
    from qbwc.qbxml._hcp import HCPEssentials
    from qbwc.qbxml._parse import ResponseSet
    from qbwc.service._company import CompanyMismatch

__all__ = [
    "_MAX_PAGE",
    "_Context",
    "_Core",
    "_Step",
    "_positive",
    "_setting_text",
    "_version_key",
    "_vkey",
    "page_rets",
]

log = logging.getLogger("qbwc.service")

#: The most jobs one page of WebConnectorService.jobs holds.
_MAX_PAGE: Final = 10_000


class _Step(NamedTuple):
    """What one handled call produced: the reply and what to tell the host afterwards."""

    reply: AnyReply
    notices: tuple[tuple[Callable[[Any], None], Any], ...] = ()


# --- per-call context ----------------------------------------------------------------------

_C = TypeVar("_C")


class _Context:
    """What a handler needs: the transaction, the session, the account, the tally."""

    __slots__ = ("_call", "account", "late", "notices", "now", "session", "tally", "tx")

    def __init__(
        self,
        *,
        tx: StoreTransaction,
        session: Session,
        tally: _Tally,
        account: Account,
        now: dt.datetime,
        call: AnyCall,
        late: bool = False,
    ) -> None:
        self._call = call
        # The session's ticket has expired (or a later session replaced it): it may
        # deliver a late answer and close, nothing more.
        self.late = late
        self.tx = tx
        self.session = session
        self.tally = tally
        self.account = account
        self.now = now
        self.notices: list[tuple[Callable[[Any], None], Any]] = []

    @property
    def ticket(self) -> str:
        return self.session.state.ticket

    def call(self, kind: type[_C]) -> _C:
        """The call being handled, which is a *kind*."""
        assert isinstance(self._call, kind)
        return self._call

    def fail(self, message: str, reference: str) -> str:
        """Remember the message getLastError will show, with its reference."""
        text = f"{message} ({reference})"
        self.tally = attrs.evolve(self.tally, message=text, reference=reference)
        return text


def _setting_text(field: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(field, "must be a non-empty str")
    if any(ord(c) < 32 for c in value):
        raise ConfigurationError(field, "must not contain control characters")
    return value


def _positive(field: str, value: object, low: int, high: int) -> int:
    if type(value) is not int or not low <= value <= high:
        raise ConfigurationError(field, f"must be an int from {low} to {high:,}")
    return value


def _version_key(text: str) -> tuple[int, ...] | None:
    parts = text.strip().split(".")
    if not parts or not all(p.isdigit() for p in parts):
        return None
    return tuple(int(p) for p in parts)


def _vkey(text: str) -> tuple[int, ...]:
    key = _VKEYS.get(text)
    if key is None:
        key = _version_key(text) or (0,)
        if len(_VKEYS) < 256:  # a handful of qbXML versions; bounded all the same
            _VKEYS[text] = key
    return key


_VKEYS: dict[str, tuple[int, ...]] = {}


class _Core:
    """What every concern of the service shares: its settings, time, references, records."""

    # Set by WebConnectorService.__init__ (see its docstring); declared here for the
    # modules that each own one concern of the service.
    _build_request: Callable[..., bytes]
    _render_request: Callable[..., str]
    _frame_requests: Callable[..., bytes]
    _is_rendered: Callable[[str, object], bool]
    _highest_common_version: Callable[..., str | None]
    _load_request: Callable[[Any], Any]
    _parse_response: Callable[[bytes | str], ResponseSet]
    _parse_hcp: Callable[[str, uuid.UUID], HCPEssentials]
    store: Store
    owner_id: uuid.UUID
    app_name: str
    _authenticator: Callable[[str, str], bool] | None
    server_version: str
    min_client_version: str | None
    old_client: Literal["upgrade", "error", "warn"]
    max_qbxml_version: str
    _versions: frozenset[str]
    batch_size: int
    max_attempts: int
    max_connection_retries: int
    session_timeout: float
    _ttl: tuple[float, dt.timedelta]
    busy_timeout: float
    busy_postpone_seconds: int | None
    min_run_every_seconds: int | None
    open_company_file: bool
    _pause: Callable[[str], bool] | None
    max_pauses: int
    _interactive_url: Callable[[str], str | None] | None
    _on_job_done: Callable[[Job], None] | None
    _on_job_failed: Callable[[Job], None] | None
    _on_query_page: Callable[[Job, tuple[Any, ...]], None] | None
    _on_company_mismatch: Callable[[CompanyMismatch], None] | None
    text_policy: Literal["strict", "transliterate"]
    password_cost: int
    _passwords: PasswordChecker
    _login_cache: LoginCache
    _purge_due: dt.datetime
    max_body_bytes: int
    public_url: str | None
    _clock: Callable[[], float]
    _token: Callable[[int], str]
    _negotiated: dict[tuple[tuple[str, ...], str, frozenset[str]], str | None]

    # -- time, randomness, references -------------------------------------------------

    def _now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self._clock(), dt.UTC)

    def _new_ticket(self) -> str:
        return self._token(32)

    def _new_message_set_id(self) -> str:
        return self._token(12)[:16]

    def new_reference(self) -> str:
        """A fresh support reference such as ``QBWC-7F3K2Q``."""
        raw = self._token(8)
        return "QBWC-" + "".join(_REFERENCE_ALPHABET[ord(c) % 32] for c in raw[:6])

    def _report(self, level: int, what: str, /, **details: object) -> str:
        """Log *what* happened with *details* under a new support reference; return it."""
        reference = self.new_reference()
        extra = " ".join(f"{k}={v!r}" for k, v in details.items())
        log.log(level, "%s %s%s", reference, what, f" ({extra})" if extra else "")
        return reference

    def _notify(self, notices: Sequence[tuple[Callable[[Any], None], Any]]) -> None:
        for hook, value in notices:
            try:
                hook(value)
            except Exception as exc:  # the host's hook must not break the sync
                self._report(
                    logging.ERROR,
                    "a hook raised (the job state is stored)",
                    hook=getattr(hook, "__name__", repr(hook)),
                    error=repr(exc),
                )

    def _record(
        self,
        state: SessionState,
        tally: _Tally,
        now: dt.datetime,
        expected_seq: int | None,
        expires_at: dt.datetime | None = None,
    ) -> SessionRecord:
        timeout, ttl = self._ttl
        if timeout != self.session_timeout:  # changed after __init__
            ttl = dt.timedelta(seconds=self.session_timeout)
            self._ttl = (self.session_timeout, ttl)
        return SessionRecord(
            ticket=state.ticket,
            username=state.username,
            state=_dump_record(state, tally, now),
            # The seq the store will give it (it sets its own): a store may keep this
            # record as it is rather than copy it.
            seq=0 if expected_seq is None else expected_seq + 1,
            expires_at=now + ttl if expires_at is None else expires_at,
            active=state.phase not in _FINISHED_PHASES and expires_at is None,
        )

    def _fail_job(
        self,
        ctx: _Context,
        job: Job,
        code: str,
        message: str,
        *,
        response: JobResponse | None = None,
    ) -> Job:
        failed = self._failed(ctx.tx, job, code, message, ctx.now, response=response)
        ctx.tally = attrs.evolve(ctx.tally, failed=ctx.tally.failed + 1)
        if self._on_job_failed is not None:
            ctx.notices.append((self._on_job_failed, failed))
        for waiting in self._fail_waiting(ctx.tx, failed, ctx.now):
            ctx.tally = attrs.evolve(ctx.tally, failed=ctx.tally.failed + 1)
            if self._on_job_failed is not None:
                ctx.notices.append((self._on_job_failed, waiting))
        return failed

    def _failed(
        self,
        tx: StoreTransaction,
        job: Job,
        code: str,
        message: str,
        now: dt.datetime,
        *,
        response: JobResponse | None = None,
    ) -> Job:
        """Store *job* as failed with *code* and *message* (logged under a new reference)."""
        reference = self._report(
            logging.WARNING,
            "job failed",
            job=job.id,
            key=job.key,
            username=job.username,
            code=code,
            message=message,
        )
        failed = attrs.evolve(
            job,
            status="failed",
            error=JobError(code=code, message=message, reference=reference),
            response=response,
            deferred_ticket=None,
            qbxml=None,
            updated_at=now,
        )
        tx.put_job(failed)
        return failed

    def _fail_waiting(self, tx: StoreTransaction, ended: Job, now: dt.datetime) -> list[Job]:
        """
        Fail the pending jobs that wait for *ended* (failed or cancelled), and theirs.

        Code ``dependency``, naming the job and why it ended (docs/service.md, "Ordering").
        """
        failed: list[Job] = []
        todo = [ended]
        while todo:
            cause = todo.pop()
            for waiting in tx.dependents(cause.id):
                if waiting.status != "pending":
                    continue
                job = self._failed(tx, waiting, "dependency", _dependency_message(cause), now)
                failed.append(job)
                todo.append(job)
        return failed

    def _done(self, ctx: _Context, job: Job, response: Any, summary: JobResponse) -> None:
        """Record the job as done, with the IDs QuickBooks gave (a query: with its page)."""
        done = attrs.evolve(
            job,
            status="done",
            txn_id=summary.txn_id,
            response=summary,
            error=None,
            deferred_ticket=None,
            qbxml=None,
            updated_at=ctx.now,
        )
        page: str | None = None
        if job.is_query and job.page_size is None:  # (paged: docs/queries.md, _paging.py)
            # The whole answer is one page (docs/service.md, "Queries"), kept as XML text.
            page = response.raw or ""
            ctx.tx.put_query_page(job.id, job.pages, page)
            done = attrs.evolve(
                done, pages=job.pages + 1, records=job.records + (summary.ret_count or 0)
            )
        ctx.tx.put_job(done)
        from qbwc.service._links import record_links  # noqa: PLC0415

        record_links(ctx, done, response, summary)  # docs/linkages.md
        ctx.tally = attrs.evolve(ctx.tally, done=ctx.tally.done + 1)
        if response.is_warning:
            log.info(
                "job %s done with warning %s: %s",
                job.id,
                response.status_code,
                response.status_message,
            )
        if page is not None and self._on_query_page is not None:
            ctx.notices.append((self._query_page_notice(done, page), None))
        if self._on_job_done is not None:
            ctx.notices.append((self._on_job_done, done))

    def _query_page_notice(self, job: Job, page: str) -> Callable[[Any], None]:
        """A notice that hands the host the page's typed Rets (parsed after the commit)."""
        hook = self._on_query_page
        assert hook is not None

        def on_query_page(_: object) -> None:
            hook(job, page_rets(page))

        return on_query_page


def _dependency_message(cause: Job) -> str:
    """Why a job that waited for *cause* failed: what became of *cause*."""
    what = f"job {cause.id} ({cause.request_type}), which this job waits for,"
    if cause.status == "cancelled":
        return f"{what} was cancelled; this job was not sent."
    reason = "" if cause.error is None else f" ({cause.error.code}: {cause.error.message})"
    return f"{what} failed{reason}; this job was not sent. Retry job {cause.id} to send both."


def page_rets(page: str) -> tuple[Any, ...]:
    """The typed Rets of a stored query page (the XML text of the query's ``…QueryRs``)."""
    if not page:
        return ()
    from qbwc.qbxml._parse import parse_response  # noqa: PLC0415

    answer = parse_response(f"<QBXML><QBXMLMsgsRs>{page}</QBXMLMsgsRs></QBXML>")
    return tuple(ret for response in answer.responses for ret in response.rets)
