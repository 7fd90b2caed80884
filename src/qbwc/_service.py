"""
The Web Connector service: the protocol core joined to a store and to the host's code.

Theory of operation
-------------------

Every HTTP request carries one call.  :meth:`WebConnectorService.handle` decodes
it, opens one store transaction, loads the ticket's session, lets the protocol
core (:class:`~qbwc.Session`) check the call, decides the answer, lets the core
check the answer, saves everything and commits, then encodes the reply.  A call
the core refuses raises inside the transaction, so it is rolled back: bad input
gets a SOAP fault and changes nothing.

Exactly once.  A write leaves the service only as a message set with a fresh
``newMessageSetID``, and the set (its ID and jobs) is stored as the account's
*in-flight* set in the same transaction that returns it.  The set stays in
flight until QuickBooks' answer for it has been recorded.  Whenever a session
is about to send qbXML and finds a set still in flight, the answer was lost
(the Web Connector reported a connection error, gave up, timed out, crashed,
or our process died), so instead of new work it sends QuickBooks' error
recovery status query (``oldMessageSetID`` = ``newMessageSetID`` = the lost
ID, no requests; PROTOCOL.md §C.3).  QuickBooks answers with the stored
responses (recorded as if they had arrived: done or failed), or with
``messageSetStatusCode`` 600 (never processed: the jobs go back to pending
and are sent again under a new ID), or with something that proves nothing
(the jobs fail with code ``unconfirmed`` and are never resent blindly).  When
stored responses were used, a clear message (``oldMessageSetID`` alone) drops
them before new work is sent.

One session per account at a time: ``authenticate`` answers ``busy`` while
another session of the account is live, so two Web Connectors never have
writes in flight for one account.  A session that was handed the writes in
flight stays live until it is provably over (closed, or silent for
``session_timeout``): QuickBooks may still be running them, and a status query
from another session would hear 600 and send them again.  Other sessions stop
blocking after ``busy_timeout`` of silence.  A replaced or expired session
gets no more work, but its late answer is still recorded: an answer naming the
in-flight message-set ID is *the* answer, whichever session holds the set now;
one for a set already settled is compared with what was recorded, and a
disagreement is logged at ERROR as a possible duplicate (docs/service.md,
"Two Web Connectors, silent sessions and late answers").

Tickets are stored as their SHA-256: the clear ticket exists only in the Web
Connector's hands and in the call being handled.

Company file.  The first session of an account binds it to the company file
whose HCP response carries our OwnerID's FileID stamp equal to the FileID in
the account's QWC file.  Later sessions must show the same stamp, or nothing
is sent and the user reads which file is linked, which one is open, and how
to change it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from json.encoder import encode_basestring_ascii as _quote
from typing import TYPE_CHECKING, Any, Final, Literal, NamedTuple, TypeVar, final

import attrs

from qbwc._address import NEUTRAL_ADDRESS, check_public_url, wsdl_address
from qbwc._budget import XMLLimitError
from qbwc._events import (
    AnyCall,
    AnyReply,
    AuthenticateCall,
    Authenticated,
    Busy,
    ClientVersionCall,
    ClientVersionError,
    ClientVersionOK,
    ClientVersionUpgrade,
    ClientVersionWarning,
    CloseConnectionCall,
    ConnectionErrorCall,
    Done,
    Failed,
    GetInteractiveURLCall,
    GetLastErrorCall,
    GiveUp,
    Goodbye,
    InteractiveDoneCall,
    InteractiveDoneReply,
    InteractiveMode,
    InteractiveRejectedCall,
    InteractiveRejectedReply,
    InteractiveURL,
    InvalidUser,
    LastError,
    NoOp,
    NoRequest,
    NoWork,
    PauseRequest,
    Progress,
    ReceiveResponseXMLCall,
    RequestXML,
    SendRequestXMLCall,
    ServerVersion,
    ServerVersionCall,
    TryCompanyFile,
)
from qbwc._names import check_name, is_name
from qbwc._passwords import LOGIN_CACHE_SECONDS, Login, LoginCache, PasswordChecker, check_login
from qbwc._passwords import hash_password as hash_password  # noqa: PLC0414 - re-exported
from qbwc._passwords import verify_password as verify_password  # noqa: PLC0414 - re-exported
from qbwc._session import Session
from qbwc._soap import decode_call, encode_fault, encode_reply, wsdl
from qbwc._state import Phase, SessionState
from qbwc._state import evolve as _evolve_state
from qbwc._xml import DEFAULT_MAX_BYTES
from qbwc.exceptions import (
    ConfigurationError,
    LocalProtocolError,
    QBXMLError,
    QBXMLValidationError,
    RemoteProtocolError,
    XMLParseError,
)
from qbwc.store._protocol import (
    JOB_STATUSES,
    Account,
    InFlight,
    Job,
    JobError,
    JobResponse,
    JobStatus,
    SessionRecord,
    StaleSessionError,
    Store,
    StoreError,
    StoreTransaction,
)

if TYPE_CHECKING:
    from qbwc.qwc import QWCConfig

__all__ = ["CompanyMismatch", "Disconnection", "HTTPReply", "WebConnectorService"]

log = logging.getLogger("qbwc.service")

#: Support references use these 32 characters (no 0/O, 1/I: read out over the phone).
_REFERENCE_ALPHABET: Final = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
_REFERENCE: Final = re.compile(f"QBWC-[{_REFERENCE_ALPHABET}]{{6}}")
_CONTENT_TYPE: Final = "text/xml; charset=utf-8"
_FINISHED_PHASES: Final = frozenset(
    {Phase.FINISHED, Phase.CLOSE_DUE, Phase.CLOSED, Phase.STALE, Phase.ERROR}
)

# HRESULTs after which retrying the connection cannot help (PROTOCOL.md §A.6).
_CONNECTION_FINAL: Final = frozenset(
    {
        "0x80040400",
        "0x80040401",
        "0x80040402",
        "0x8004040d",
        "0x80040418",
        "0x8004041a",
        "0x8004041d",
        "0x8004041e",
        "0x8004041f",
        "0x80040420",
        "0x80040427",
        "0x8004042a",
        "0x8004042c",
    }
)

# What a bookkeeper can do about the request processor's HRESULTs (PROTOCOL.md §A.6).
_HRESULT_ADVICE: Final = {
    "0x80040400": "QuickBooks could not read the request.",
    "0x80040401": "QuickBooks could not be reached. Check that QuickBooks is installed and "
    "can start on this computer.",
    "0x80040402": "QuickBooks reported an unexpected error (see qbsdklog.txt).",
    "0x80040403": "QuickBooks could not open the company file. Check that it exists and "
    "that you can open it in QuickBooks.",
    "0x80040406": "The company file name is not valid.",
    "0x80040408": "QuickBooks could not be started. Open QuickBooks and the company file, "
    "then run the update again.",
    "0x8004040a": "A different company file is open in QuickBooks. Open the right company "
    "file, then run the update again.",
    "0x80040410": "The company file is open in the wrong mode (single-user or multi-user). "
    "Switch modes in QuickBooks, then run the update again.",
    "0x80040414": "A window is open in QuickBooks and blocks the update. Close it, then run "
    "the update again.",
    "0x80040416": "QuickBooks is not running. Open QuickBooks and the company file, then "
    "run the update again.",
    "0x80040417": "No company file is open in QuickBooks. Open the company file, then run "
    "the update again.",
    "0x80040418": "This application has not been authorised for the company file. Open the "
    "company file as the QuickBooks Admin in single-user mode and allow access when "
    "QuickBooks asks.",
    "0x8004041a": "This application may not access the company file. Allow it in QuickBooks: "
    "Edit > Preferences > Integrated Applications.",
    "0x8004041b": "QuickBooks is busy. The update will try again next time.",
    "0x8004041d": "This application may not log in automatically. Allow it in QuickBooks: "
    "Edit > Preferences > Integrated Applications > Properties.",
    "0x80040420": "A QuickBooks user refused access for this application.",
    "0x80040422": "Another application is using the company file, or it must be in "
    "single-user mode. The update will try again next time.",
    "0x80040423": "This version of QuickBooks does not accept the request version.",
    "0x80040424": "QuickBooks is still starting. The update will try again next time.",
}


def _ticket_key(ticket: str) -> str:
    """
    What the store keeps of a ticket: its SHA-256 (hex).

    The clear ticket exists only in the Web Connector's hands and in the call
    being handled; whoever reads the database cannot use a stored one
    (docs/service.md, "Tickets").
    """
    return hashlib.sha256(ticket.encode("utf-8", "surrogatepass")).hexdigest()


def _advice(hresult: str) -> str:
    return _HRESULT_ADVICE.get(hresult.strip().lower(), "QuickBooks reported a problem.")


#: The most jobs one page of WebConnectorService.jobs holds.
_MAX_PAGE: Final = 10_000


# --- values the host sees -----------------------------------------------------------


@final
@attrs.frozen(kw_only=True)
class HTTPReply:
    """What to answer an HTTP request with: *status*, *headers* and *body*."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


@final
@attrs.frozen(kw_only=True)
class CompanyMismatch:
    """
    A sync found another company file open than the one the account is linked to.

    Passed to the ``on_company_mismatch`` hook.  Nothing was sent to QuickBooks.
    ``linked_*`` are None when the account is not linked yet (the open file
    carries no stamp, or another QWC file's).
    """

    username: str
    linked_file_id: uuid.UUID | None
    linked_company_file: str | None
    linked_company_name: str | None
    open_file_id: uuid.UUID | None
    open_company_file: str
    open_company_name: str
    reference: str


@final
@attrs.frozen(kw_only=True)
class Disconnection:
    """
    What :meth:`WebConnectorService.disconnect` did.

    ``account`` is the account as now stored (not linked to any company file).
    ``unconfirmed_jobs`` are the writes that were in flight with the company
    file it was linked to: QuickBooks may have saved them there, so they were
    never sent anywhere else; each is now failed with code ``unconfirmed`` and
    a message naming that file (check there, then retry).  Usually empty.
    """

    account: Account
    unconfirmed_jobs: tuple[Job, ...] = ()


_T = TypeVar("_T")
# attrs class -> a function (instance, changes) -> the evolved copy.
_EVOLVERS: dict[type, Callable[[Any, dict[str, Any]], Any]] = {}


def _evolve(inst: _T, **changes: Any) -> _T:
    """
    ``attrs.evolve(inst, **changes)``: the same copy, through the same ``__init__``.

    attrs.evolve walks the class's field list on every call; this compiles, once per
    class, a function that passes each field straight to ``__init__`` (a handled
    call makes several copies of its records).
    """
    cls = type(inst)
    evolver = _EVOLVERS.get(cls)
    if evolver is None:
        evolver = _EVOLVERS[cls] = _make_evolver(cls)
    return evolver(inst, changes)  # type: ignore[no-any-return]


def _make_evolver(cls: type) -> Callable[[Any, dict[str, Any]], Any]:
    fields = [(f.name, f.alias) for f in attrs.fields(cls) if f.init]
    known = frozenset(alias for _, alias in fields)
    arguments = ", ".join(
        f"{alias}=changes[{alias!r}] if {alias!r} in changes else inst.{name}"
        for name, alias in fields
    )
    source = "\n".join(
        [
            "def evolve(inst, changes):",
            "    if not known(changes):",
            "        unknown = sorted(set(changes) - set(names))",
            "        raise TypeError(f'{cls.__name__} has no field(s) {unknown}')",
            f"    return cls({arguments})",
        ]
    )
    namespace: dict[str, Any] = {"cls": cls, "known": known.issuperset, "names": known}
    # The source is made only of the class's own field names.
    exec(compile(source, f"<qbwc evolve {cls.__name__}>", "exec"), namespace)  # noqa: S102
    return namespace["evolve"]  # type: ignore[no-any-return]


def _to_datetime(value: dt.datetime | str) -> dt.datetime:
    return value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value)


@attrs.frozen(kw_only=True)
class _Tally:
    """The service's bookkeeping for one session (beside the core's SessionState)."""

    version: str | None = None
    verified: bool = False
    done: int = 0
    failed: int = 0
    deferred: int = 0
    total: int = 0
    pauses: int = 0
    pausing: bool = False
    message: str = ""
    reference: str = ""
    interactive: bool = False
    tried_path: bool = False

    @property
    def processed(self) -> int:
        return self.done + self.failed + self.deferred


_TALLY_FIELDS: Final = tuple(field.name for field in attrs.fields(_Tally))
# How long a session's record outlives its ticket (expired, or replaced by a later
# session): long enough to record a late answer from it (docs/service.md).
_KEEP_EXPIRED: Final = dt.timedelta(days=1)
# Those are purged by a login at most this often (per service object).
_PURGE_EVERY: Final = dt.timedelta(minutes=1)
# An account's last_seen_at is rewritten by a login at most this often: a poll every few
# minutes does not rewrite the account row each time (docs/service.md, "Accounts").
_LAST_SEEN_EVERY: Final = dt.timedelta(minutes=15)
_TICK: Final = dt.timedelta(microseconds=1)
# A stored session also says when its last call came ("seen_at", after the tally's
# fields): the service reads it back beside the tally (see _load_record).
_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
# json.dumps(..., separators=(",", ":")), without building an encoder per call.
_COMPACT_JSON: Final = json.JSONEncoder(separators=(",", ":"))
_BOOL_TEXT: Final = {True: "true", False: "false"}


def _dump_record(state: SessionState, tally: _Tally, seen_at: dt.datetime) -> str:
    """
    The stored text of a session: ``_dump_record_json`` byte for byte, written faster.

    Every handled call writes one, so the JSON is spelled out here field by field
    (strings through the json module's own escaper).  A property test holds it equal
    to the json.dumps reference; a tally holding anything but the plain types it is
    made of takes the reference path.
    """
    t = tally
    if not (
        type(t.done) is type(t.failed) is type(t.deferred) is int
        and type(t.total) is type(t.pauses) is int
        and type(t.verified) is type(t.pausing) is type(t.interactive) is bool
        and type(t.tried_path) is bool
        and type(t.message) is type(t.reference) is str
        and (t.version is None or type(t.version) is str)
    ):
        return _dump_record_json(state, tally, seen_at)
    q = _quote
    b = _BOOL_TEXT
    s = state
    major = "null" if s.qbxml_major is None else s.qbxml_major
    minor = "null" if s.qbxml_minor is None else s.qbxml_minor
    data = ",".join([f"[{q(k)},{q(v)}]" for k, v in s.data])
    version = "null" if t.version is None else q(t.version)
    text = (
        f'{{"core":{{"ticket":{q(s.ticket)},"username":{q(s.username)},'
        f'"phase":{q(s.phase.value)},"seq":{s.seq},'
        f'"company_file":{q(s.company_file)},"country":{q(s.country)},'
        f'"qbxml_major":{major},"qbxml_minor":{minor},'
        f'"hcp_received":{b[s.hcp_received]},"lost_response":{b[s.lost_response]},'
        f'"connection_error_count":{s.connection_error_count},'
        f'"last_error":{q(s.last_error)},"request_count":{s.request_count},'
        f'"data":[{data}]}},'
        f'"service":{{"version":{version},"verified":{b[t.verified]},'
        f'"done":{t.done},"failed":{t.failed},"deferred":{t.deferred},'
        f'"total":{t.total},"pauses":{t.pauses},"pausing":{b[t.pausing]},'
        f'"message":{q(t.message)},"reference":{q(t.reference)},'
        f'"interactive":{b[t.interactive]},"tried_path":{b[t.tried_path]},'
        f'"seen_at":{q(seen_at.isoformat())}}}}}'
    )
    _remember(text, (state, tally, seen_at))
    return text


def _dump_record_json(state: SessionState, tally: _Tally, seen_at: dt.datetime) -> str:
    """The stored text of a session, by way of json.dumps (the reference for _dump_record)."""
    service = {name: getattr(tally, name) for name in _TALLY_FIELDS}
    service["seen_at"] = seen_at.isoformat()
    text = _COMPACT_JSON.encode({"core": state.to_dict(), "service": service})
    _remember(text, (state, tally, seen_at))
    return text


# Stored session text -> its parsed values.  Keyed by the text itself, so a record
# written by another process (different text) is always parsed afresh.
_PARSED: dict[str, tuple[SessionState, _Tally, dt.datetime]] = {}
_PARSED_MAX: Final = 64
_PARSED_LOCK: Final = threading.Lock()


def _load_record(text: str) -> tuple[SessionState, _Tally, dt.datetime]:
    """A stored session: its core state, the service's tally, and when it was last seen."""
    cached = _PARSED.get(text)
    if cached is not None:
        return cached
    try:
        data = json.loads(text)
        service = data["service"]
        if not isinstance(service, dict):
            msg = f"service: expected an object, got {type(service).__name__}"
            raise TypeError(msg)
        service = dict(service)
        seen_at = _to_datetime(service.pop("seen_at", _EPOCH))
        parsed = SessionState.from_dict(data["core"]), _Tally(**service), seen_at
    except (ValueError, KeyError, TypeError) as exc:
        msg = f"a stored session cannot be read ({exc})"
        raise StoreError(msg) from None
    _remember(text, parsed)
    return parsed


def _remember(text: str, parsed: tuple[SessionState, _Tally, dt.datetime]) -> None:
    with _PARSED_LOCK:
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.pop(next(iter(_PARSED)))
        _PARSED[text] = parsed


# (call type, reply type) pairs of serverVersion/clientVersion that a fresh
# Session has accepted (see WebConnectorService._stateless).
_STATELESS_CHECKED: set[tuple[type, type]] = set()


class _Step(NamedTuple):
    """What one handled call produced: the reply and what to tell the host afterwards."""

    reply: AnyReply
    notices: tuple[tuple[Callable[[Any], None], Any], ...] = ()


# --- the service ----------------------------------------------------------------------


class WebConnectorService:
    """
    A QuickBooks Web Connector SOAP service over a :class:`~qbwc.store.Store`.

    Give it a store and your application's OwnerID (a GUID you generate once and
    keep), add accounts and enqueue writes; serve it with
    :func:`qbwc.wsgi.make_wsgi_app` or :func:`qbwc.asgi.make_asgi_app`.

    Args:
        store: where accounts, jobs and sessions live.
        owner_id: your application's OwnerID (the same in every QWC file).
            Recorded in the store at the first start; a later start with a
            different one raises :class:`~qbwc.exceptions.ConfigurationError`.
        app_name: your application's name, used in the QWC file and in the
            messages the Web Connector user reads.  Recorded in the store; None
            uses the name recorded by an earlier start (else "the application").
        authenticator: ``(username, password) -> bool`` to check logins
            against your own user table instead of :meth:`add_account` hashes.
        server_version: the ``serverVersion`` answer.
        min_client_version: the oldest Web Connector accepted (``"2.1.0.30"``);
            older ones are told to upgrade (``O:``) or refused (``E:``), see
            *old_client*.
        old_client: ``"upgrade"`` (``O:<min>``), ``"error"`` (``E:``) or
            ``"warn"`` (``W:``; the user may go on).
        max_qbxml_version: the newest qbXML version to write.
        batch_size: requests per round trip (one message set).
        max_attempts: sends of one job at most, counting retries of
            transient failures (3170, 3175, 3176, lock-related 3180, 1000, 1010).
        max_connection_retries: answers to ``connectionError`` that retry
            before giving up.
        session_timeout: seconds of silence after which a ticket expires.
        busy_timeout: while another session of the account made a call in
            the last this many seconds, ``authenticate`` answers ``busy``; after
            that a new session replaces it (and recovers what it had in flight).
            A session handed writes that it has not answered blocks until it
            closes or expires (*session_timeout*), whatever this says.
        busy_postpone_seconds: the postpone hint sent with ``busy``.
        min_run_every_seconds: the scheduler lower bound sent with each
            ``authenticate`` answer (None: none).
        open_company_file: answer ``authenticate`` with the linked file's path
            (the Web Connector then opens it) instead of ``""`` (the open file).
        pause: ``(username) -> bool``; True makes the Web Connector wait
            about 5 seconds and ask again (``NoOp``), at most *max_pauses* times.
        interactive_url: ``(username) -> URL | None``; when a sync finds the
            wrong company file and this returns a URL, the Web Connector offers
            to open it (e.g. a page that confirms relinking).
        on_job_done, on_job_failed: called with the :class:`~qbwc.store.Job`
            after it is stored as done or failed.
        on_company_mismatch: called with a :class:`CompanyMismatch`.
        text_policy: passed to :func:`qbwc.qbxml.build_request`.
        password_cost: scrypt ``n`` for new password hashes.
        login_secret: at least 32 bytes, kept out of the store, that key the
            login verifiers: a good login is then checked in microseconds for
            *login_cache_seconds* (one day) instead of paying scrypt each time;
            None: every login pays scrypt (docs/service.md, "Login cache").
        login_cache_seconds: how long a login verifier stays good (0: off).
        max_body_bytes: the largest SOAP request accepted.
        public_url: the endpoint the WSDL names (``GET ?wsdl``), e.g.
            ``"https://billing.example.com/qbwc"``; None: the URL of the
            request, when its Host is a plain ``host[:port]``, else
            ``https://localhost/qbwc`` (docs/service.md).
        clock: seconds since the epoch (``time.time``).
        token: ``(nbytes) -> str`` of random URL-safe text
            (``secrets.token_urlsafe``); tickets, message set IDs and support
            references come from it.
    """

    def __init__(
        self,
        *,
        store: Store,
        owner_id: uuid.UUID | str,
        app_name: str | None = None,
        authenticator: Callable[[str, str], bool] | None = None,
        server_version: str | None = None,
        min_client_version: str | None = None,
        old_client: Literal["upgrade", "error", "warn"] = "upgrade",
        max_qbxml_version: str | None = None,
        batch_size: int = 1,
        max_attempts: int = 3,
        max_connection_retries: int = 2,
        session_timeout: float = 600.0,
        busy_timeout: float = 120.0,
        busy_postpone_seconds: int | None = 60,
        min_run_every_seconds: int | None = None,
        open_company_file: bool = False,
        pause: Callable[[str], bool] | None = None,
        max_pauses: int = 12,
        interactive_url: Callable[[str], str | None] | None = None,
        on_job_done: Callable[[Job], None] | None = None,
        on_job_failed: Callable[[Job], None] | None = None,
        on_company_mismatch: Callable[[CompanyMismatch], None] | None = None,
        text_policy: Literal["strict", "transliterate"] = "strict",
        password_cost: int = 2**14,
        login_secret: bytes | str | None = None,
        login_cache_seconds: float = LOGIN_CACHE_SECONDS,
        max_body_bytes: int = DEFAULT_MAX_BYTES,
        public_url: str | None = None,
        clock: Callable[[], float] = time.time,
        token: Callable[[int], str] = secrets.token_urlsafe,
    ) -> None:
        # The qbXML layer is imported here, not with qbwc, to keep ``import qbwc``
        # light; the call handlers use it through these attributes.
        from qbwc.qbxml._build import (  # noqa: PLC0415
            _RQ_TAGS,
            SUPPORTED_VERSIONS,
            build_request,
            frame_requests,
            render_request,
        )
        from qbwc.qbxml._hcp import highest_common_version, parse_hcp_essentials  # noqa: PLC0415
        from qbwc.qbxml._json import load  # noqa: PLC0415
        from qbwc.qbxml._parse import parse_response_summary  # noqa: PLC0415

        self._build_request = build_request
        self._render_request = render_request
        self._frame_requests = frame_requests
        self._request_types = frozenset(_RQ_TAGS)
        self._highest_common_version = highest_common_version
        self._load_request = load
        # Only the statuses, message-set attributes, the Ret fields of a job's
        # summary and the ErrorRecovery are read: a bad value elsewhere in a Ret
        # does not stop the job from recording what QuickBooks said.
        self._parse_response = parse_response_summary
        # Of the HCP document only the versions, the company name and our FileID
        # stamp are read: a bad value in a preference does not stop the session.
        # Parsed afresh each session: the Web Connector's AppLock stamp carries the
        # .NET ticks of the moment the session started, so no two sessions send the
        # same text (PROTOCOL.md §B.4).
        self._parse_hcp = parse_hcp_essentials

        self.store = store
        try:
            self.owner_id = owner_id if isinstance(owner_id, uuid.UUID) else uuid.UUID(owner_id)
        except (ValueError, TypeError, AttributeError):
            raise ConfigurationError("owner_id", f"{owner_id!r} is not a GUID") from None
        if app_name is not None:
            app_name = _setting_text("app_name", app_name)
        self.app_name = app_name or _DEFAULT_APP_NAME
        self._authenticator = authenticator
        if server_version is None:
            from qbwc import __version__  # noqa: PLC0415

            server_version = f"qbwc {__version__}"
        self.server_version = server_version
        if min_client_version is not None and _version_key(min_client_version) is None:
            rule = f"{min_client_version!r} is not a dotted version such as '2.1.0.30'"
            raise ConfigurationError("min_client_version", rule)
        self.min_client_version = min_client_version
        if old_client not in ("upgrade", "error", "warn"):
            raise ConfigurationError("old_client", "expected 'upgrade', 'error' or 'warn'")
        self.old_client = old_client
        versions = tuple(SUPPORTED_VERSIONS)
        if max_qbxml_version is None:
            max_qbxml_version = versions[-1]
        if max_qbxml_version not in versions:
            rule = f"{max_qbxml_version!r} is not one of {', '.join(versions)}"
            raise ConfigurationError("max_qbxml_version", rule)
        self.max_qbxml_version = max_qbxml_version
        self._versions = frozenset(v for v in versions if _vkey(v) <= _vkey(max_qbxml_version))
        self.batch_size = _positive("batch_size", batch_size, 1, 100)
        self.max_attempts = _positive("max_attempts", max_attempts, 1, 100)
        self.max_connection_retries = _positive(
            "max_connection_retries", max_connection_retries, 0, 10
        )
        if not 1 <= session_timeout <= 86_400:
            raise ConfigurationError("session_timeout", "must be 1 to 86,400 seconds")
        self.session_timeout = float(session_timeout)
        self._ttl = (self.session_timeout, dt.timedelta(seconds=self.session_timeout))
        if not 0 <= busy_timeout <= session_timeout:
            raise ConfigurationError("busy_timeout", "must be 0 to session_timeout seconds")
        self.busy_timeout = float(busy_timeout)
        self.busy_postpone_seconds = busy_postpone_seconds
        self.min_run_every_seconds = min_run_every_seconds
        self.open_company_file = open_company_file
        self._pause = pause
        self.max_pauses = _positive("max_pauses", max_pauses, 0, 1000)
        self._interactive_url = interactive_url
        self._on_job_done = on_job_done
        self._on_job_failed = on_job_failed
        self._on_company_mismatch = on_company_mismatch
        if text_policy not in ("strict", "transliterate"):
            raise ConfigurationError("text_policy", "expected 'strict' or 'transliterate'")
        self.text_policy = text_policy
        if password_cost < 2 or password_cost & (password_cost - 1):
            raise ConfigurationError("password_cost", "must be a power of two, at least 2")
        self.password_cost = password_cost
        self._passwords = PasswordChecker(password_cost, self._read_password_costs, clock)
        self._login_cache = LoginCache(login_secret, login_cache_seconds)
        self._purge_due = dt.datetime.min.replace(tzinfo=dt.UTC)
        self.max_body_bytes = _positive("max_body_bytes", max_body_bytes, 1024, 2**31)
        self.public_url = check_public_url(public_url)
        self._clock = clock
        self._token = token
        # (supported versions, max version, writable versions) -> the version to write:
        # see _common_version.
        self._negotiated: dict[tuple[tuple[str, ...], str, frozenset[str]], str | None] = {}
        # Last, once every setting is valid: the OwnerID and name have one home, the store.
        self.app_name = _record_identity(store, self.owner_id, app_name)

    def __repr__(self) -> str:
        return f"<WebConnectorService owner_id={self.owner_id} store={self.store!r}>"

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

    # -- accounts -----------------------------------------------------------------------

    def add_account(self, username: str, password: str | None = None) -> Account:
        """
        Create the account *username* (the QWC ``UserName``) and return it.

        *password* is stored as a salted scrypt hash; leave it out when an
        ``authenticator`` checks logins.  The account gets a fresh FileID for
        its QWC file.

        Raises:
            ConfigurationError: the username breaks the rule of usernames (see
                ``docs/service.md``) or is already taken.
        """
        username = check_name("username", username)
        hashed = None if password is None else self._hash(password)
        from qbwc.qwc import new_file_id  # noqa: PLC0415

        with self.store.transaction() as tx:
            existing = tx.get_account(username, for_update=True)
            if existing is not None and existing.password_hash is not None:
                raise ConfigurationError("username", f"{username!r} already exists")
            if existing is None:
                account = Account(username=username, password_hash=hashed, file_id=new_file_id())
            else:
                account = attrs.evolve(existing, password_hash=hashed)
            tx.put_account(account)
        log.info("account %r added", username)
        return account

    def set_password(self, username: str, password: str) -> None:
        """
        Change the account's password; the next sync must use the new one.

        Raises:
            ConfigurationError: there is no such account (or the name is not a valid
                username).
        """
        username = check_name("username", username)
        hashed = self._hash(password)
        with self.store.transaction() as tx:
            account = tx.get_account(username, for_update=True)
            if account is None:
                raise ConfigurationError("username", f"no account {username!r}")
            tx.put_account(attrs.evolve(account, password_hash=hashed))
            tx.drop_login_verifier(username)
        log.info("account %r: password changed", username)

    def _hash(self, password: str) -> str:
        if not isinstance(password, str) or not password:
            raise ConfigurationError("password", "must be a non-empty str")
        return self._passwords.hash(password)

    def account(self, username: str) -> Account | None:
        """
        The account, or None when there is no account *username*.

        Raises:
            ConfigurationError: *username* is not a valid username.
        """
        username = check_name("username", username)
        with self.store.transaction() as tx:
            return tx.get_account(username)

    def accounts(self) -> tuple[Account, ...]:
        """Every account, by username."""
        with self.store.transaction() as tx:
            return tx.list_accounts()

    def disconnect(self, username: str, *, new_file_id: bool = False) -> Disconnection:
        """
        Unlink the account from its company file: the next sync binds the file it finds.

        The next sync binds to the open company file if it carries this
        account's FileID stamp (the user added the account's QWC file with it
        open).  *new_file_id* also issues a new FileID, for a company file
        that needs a fresh QWC file (see ``docs/service.md``).

        The account's sessions end (their tickets expire).  Writes in flight
        with the old company file (QuickBooks' answer never arrived) are never
        sent to another file: they fail with code ``unconfirmed``, naming the
        old file, and come back in :attr:`Disconnection.unconfirmed_jobs`.

        Raises:
            ConfigurationError: there is no such account.
        """
        from qbwc.qwc import new_file_id as fresh_file_id  # noqa: PLC0415

        username = check_name("username", username)
        now = self._now()
        unconfirmed: list[Job] = []
        with self.store.transaction() as tx:
            account = tx.get_account(username, for_update=True)
            if account is None:
                raise ConfigurationError("username", f"no account {username!r}")
            in_flight = tx.get_in_flight(username)
            if in_flight is not None:
                unconfirmed = self._unconfirm_at_disconnect(tx, account, in_flight, now)
                tx.clear_in_flight(username)
            for record in tx.sessions_for(username):
                if record.expires_at >= now:
                    # Ended; the record stays a while, so a late answer is still recorded.
                    tx.put_session(
                        attrs.evolve(record, expires_at=now - _TICK, active=False),
                        expected_seq=record.seq,
                    )
            account = attrs.evolve(
                account,
                linked_file_id=None,
                company_file=None,
                company_name=None,
                linked_at=None,
                file_id=fresh_file_id() if new_file_id else account.file_id,
            )
            tx.put_account(account)
            tx.drop_login_verifier(username)
        if unconfirmed:
            log.warning(
                "account %r disconnected from its company file; %d job(s) in flight with it "
                "may exist there and were failed as unconfirmed: %s",
                username,
                len(unconfirmed),
                ", ".join(job.id for job in unconfirmed),
            )
        else:
            log.info("account %r disconnected from its company file", username)
        if self._on_job_failed is not None:
            self._notify([(self._on_job_failed, job) for job in unconfirmed])
        return Disconnection(account=account, unconfirmed_jobs=tuple(unconfirmed))

    def _unconfirm_at_disconnect(
        self, tx: StoreTransaction, account: Account, in_flight: InFlight, now: dt.datetime
    ) -> list[Job]:
        """Fail the writes in flight with the file *account* is being unlinked from."""
        if account.company_name or account.company_file:
            where = f'"{account.company_name or "(no name)"}"'
            if account.company_file:
                where += f" ({account.company_file})"
        else:
            where = "the company file the account was linked to"
        message = (
            f"May exist in {where}: the account was disconnected before QuickBooks' answer "
            "arrived. Check it there, then retry it."
        )
        failed: list[Job] = []
        for job_id in in_flight.job_ids:
            job = tx.get_job(job_id)
            if job is None or job.status != "sent":
                continue
            reference = self._report(
                logging.WARNING,
                "job failed",
                job=job.id,
                key=job.key,
                username=job.username,
                code="unconfirmed",
                message=message,
                message_set=in_flight.message_set_id,
            )
            job = _evolve(
                job,
                status="failed",
                error=JobError(code="unconfirmed", message=message, reference=reference),
                deferred_ticket=None,
                qbxml=None,
                updated_at=now,
            )
            tx.put_job(job)
            failed.append(job)
        return failed

    def rename_account(self, old: str, new: str) -> Account:
        """
        Give the account *old* the username *new* (e.g. the customer's login email changed).

        The account keeps its password, FileID and company-file link, its jobs
        (queued, sent and finished) and the message set in flight; sessions of
        *old* end (their tickets go stale).  Its QWC file from :meth:`qwc` has
        the same FileID and OwnerID with the new UserName: added in the Web
        Connector, it replaces the application, and the company file's stamp
        still matches.  One transaction: all of it happens, or none.

        Raises:
            ConfigurationError: *old* is not an account, or *new* is empty or
                already taken.
        """
        old = check_name("old", old)
        new = check_name("new", new)
        with self.store.transaction() as tx:
            # Claim both names in a fixed order: two renames cannot deadlock.
            claimed = {name: tx.get_account(name, for_update=True) for name in sorted({old, new})}
            if claimed[old] is None:
                raise ConfigurationError("old", f"no account {old!r}")
            if claimed[new] is not None:
                raise ConfigurationError("new", f"{new!r} already exists")
            if tx.list_jobs(username=new, limit=1):
                raise ConfigurationError("new", f"{new!r} already has jobs")
            account = tx.rename_account(old, new)
        log.info("account %r renamed to %r", old, new)
        return account

    def qwc_config(
        self,
        username: str,
        *,
        app_url: str,
        app_support: str,
        app_name: str | None = None,
        app_description: str = "",
        run_every: dt.timedelta | str | None = None,
        cert_url: str | None = None,
    ) -> QWCConfig:
        """
        The :class:`~qbwc.qwc.QWCConfig` of the account's QWC file.

        Raises:
            ConfigurationError: no such account, or a value breaks a QWC rule.
        """
        from qbwc.qwc import QWCConfig  # noqa: PLC0415

        account = self.account(username)
        if account is None:
            raise ConfigurationError("username", f"no account {username!r}")
        return QWCConfig(
            app_name=app_name or self.app_name,
            app_url=app_url,
            app_support=app_support,
            app_description=app_description,
            user_name=username,
            owner_id=self.owner_id,
            file_id=account.file_id,
            scheduler=run_every,
            cert_url=cert_url,
        )

    def qwc(
        self,
        username: str,
        *,
        app_url: str,
        app_support: str,
        app_name: str | None = None,
        app_description: str = "",
        run_every: dt.timedelta | str | None = None,
        cert_url: str | None = None,
    ) -> bytes:
        """
        The account's QWC file: the same bytes every time, until its FileID changes.

        Raises:
            ConfigurationError: no such account, or a value breaks a QWC rule.
        """
        config = self.qwc_config(
            username,
            app_url=app_url,
            app_support=app_support,
            app_name=app_name,
            app_description=app_description,
            run_every=run_every,
            cert_url=cert_url,
        )
        return config.to_xml()

    # -- jobs -----------------------------------------------------------------------------

    def enqueue(self, username: str, request: object, *, key: str | None = None) -> Job:
        """
        Queue *request* (an InvoiceAdd or EstimateAdd) for the account's company file.

        The request is validated now, at the newest qbXML version this service
        writes, so a bad one fails here and not at the bookkeeper's desk.  With
        *key* (your own unique ID, e.g. ``"invoice-1042"``) enqueueing again is
        harmless: the existing job comes back.

        With the built-in accounts (no ``authenticator``) the account must
        exist (:meth:`add_account`); with an ``authenticator`` an unknown
        username gets an account here, which shows as "never connected"
        until the Web Connector logs in with it.

        Raises:
            QBXMLValidationError: the request breaks a qbXML rule.
            ConfigurationError: *key* is already used for a different request;
                the username or key breaks the rule of usernames and keys (see
                ``docs/service.md``); no account *username* (built-in accounts).
        """
        from qbwc.qbxml._json import dump  # noqa: PLC0415

        username = check_name("username", username)
        if key is not None:
            key = check_name("key", key)
        # Checked and rendered once, here: a sync only puts the rendered text into
        # message sets (the same at every version that has the request's fields).
        qbxml = self._render_request(
            request, version=self.max_qbxml_version, text_policy=self.text_policy
        )
        text = json.dumps(dump(request), sort_keys=True, separators=(",", ":"))
        needs, _ = _newest_field(request, type(request).__name__)
        now = self._now()
        with self.store.transaction() as tx:
            account = tx.get_account(username, for_update=True)
            if account is None:
                if self._authenticator is None:
                    rule = (
                        f"no account {username!r}: add it first (add_account, or "
                        "qbwc account add); its jobs would wait for a login that cannot happen"
                    )
                    raise ConfigurationError("username", rule)
                from qbwc.qwc import new_file_id  # noqa: PLC0415

                tx.put_account(Account(username=username, file_id=new_file_id()))
            if key is not None:
                existing = tx.find_job(username, key)
                if existing is not None:
                    if existing.request != text:
                        rule = (
                            f"{key!r} is already used by job {existing.id} for a different "
                            "request (use a new key for a new request)"
                        )
                        raise ConfigurationError("key", rule)
                    return existing
            job = tx.add_job(
                username=username,
                key=key,
                request=text,
                request_type=type(request).__name__,
                min_version=f"{needs[0]}.{needs[1]}",
                now=now,
                qbxml=qbxml,
            )
        log.info("job %s queued for %r (%s, key %r)", job.id, username, job.request_type, key)
        return job

    def job(self, job_id: str) -> Job | None:
        """
        The job with *job_id* as stored now, or None when there is no such job.

        Like :meth:`account`, a getter answers None for what does not exist;
        an action on it (:meth:`retry`, :meth:`cancel`) raises ConfigurationError.
        """
        with self.store.transaction() as tx:
            return tx.get_job(str(job_id))

    def jobs(
        self,
        username: str | None = None,
        *,
        status: JobStatus | None = None,
        limit: int = 100,
        after: str | None = None,
    ) -> tuple[Job, ...]:
        """
        One page of jobs, oldest first, optionally of one account and/or one status.

        *limit* (1 to 10,000) jobs at most, whose id is greater than *after*
        (a job id: pass the last id of a page to get the next; None: from the
        first).  An empty page is the end.

        Raises:
            ConfigurationError: a bad username, status, limit or cursor.
        """
        if username is not None:
            username = check_name("username", username)
        if status is not None and status not in JOB_STATUSES:
            rule = f"{status!r} is not one of {', '.join(JOB_STATUSES)}"
            raise ConfigurationError("status", rule)
        limit = _positive("limit", limit, 1, _MAX_PAGE)
        if after is not None and not (
            isinstance(after, str) and after.isascii() and after.isdigit() and len(after) <= 19
        ):
            raise ConfigurationError("after", f"{after!r} is not a job id (digits)")
        with self.store.transaction() as tx:
            return tx.list_jobs(username=username, status=status, limit=limit, after=after)

    def retry(self, job_id: str) -> Job:
        """
        Put a failed job back in the queue (after fixing what QuickBooks refused).

        Careful with code ``unconfirmed``: QuickBooks may have saved it; check
        first, or it may be created twice.

        Raises:
            ConfigurationError: there is no such job, or it has not failed.
        """
        with self.store.transaction() as tx:
            job = self._existing_job(tx, job_id)
            if job.status != "failed":
                raise ConfigurationError("job_id", f"job {job.id} is {job.status}, not failed")
            job = attrs.evolve(
                job, status="pending", attempts=0, deferred_ticket=None, updated_at=self._now()
            )
            tx.put_job(job)
        log.info("job %s requeued", job.id)
        return job

    def cancel(self, job_id: str) -> Job:
        """
        Cancel a pending job: it becomes ``cancelled`` and is never sent.

        Only a pending job can be cancelled.  A ``sent`` one is in QuickBooks'
        hands (it may already be saved there), and a finished one is finished.

        Raises:
            ConfigurationError: there is no such job, or it is not pending (the
                message says when it was sent, or how it ended).
        """
        with self.store.transaction() as tx:
            job = self._existing_job(tx, job_id)
            # Claim the account, as a sync does, then read the job again: a sync of the
            # account either handed it out before (sent) or will never see it pending.
            tx.get_account(job.username, for_update=True)
            job = self._existing_job(tx, job.id)
            if job.status == "sent":
                rule = (
                    f"job {job.id} was sent to QuickBooks at {job.updated_at:%Y-%m-%d %H:%M:%S} "
                    "UTC; it may already be saved, so it cannot be cancelled (wait for its answer)"
                )
                raise ConfigurationError("job_id", rule)
            if job.status != "pending":
                rule = f"job {job.id} is already {job.status}; only a pending job can be cancelled"
                raise ConfigurationError("job_id", rule)
            in_flight = tx.get_in_flight(job.username)  # (a pending job is never in one)
            if in_flight is not None and job.id in in_flight.job_ids:  # pragma: no cover
                rule = f"job {job.id} is part of a message set awaiting QuickBooks' answer"
                raise ConfigurationError("job_id", rule)
            job = attrs.evolve(
                job, status="cancelled", deferred_ticket=None, qbxml=None, updated_at=self._now()
            )
            tx.put_job(job)
        log.info("job %s cancelled", job.id)
        return job

    def prune(self, *, older_than: dt.timedelta) -> int:
        """
        Delete finished jobs (done, failed, cancelled) last updated more than *older_than* ago.

        Pending and sent jobs are never deleted, nor the jobs of a message set
        in flight.  A deleted job's idempotency key is forgotten: enqueueing
        with it again queues a new job.  Returns how many were deleted.

        Raises:
            ConfigurationError: *older_than* is not a timedelta of zero or more.
        """
        if not isinstance(older_than, dt.timedelta) or older_than < dt.timedelta(0):
            raise ConfigurationError("older_than", "must be a datetime.timedelta of zero or more")
        now = self._now()
        try:
            before = now - older_than
        except OverflowError:
            return 0  # older than the calendar
        with self.store.transaction() as tx:
            count = tx.prune_jobs(before)
        log.info("pruned %d finished jobs last updated before %s", count, before.isoformat())
        return count

    def _existing_job(self, tx: StoreTransaction, job_id: object) -> Job:
        job = tx.get_job(str(job_id))
        if job is None:
            raise ConfigurationError("job_id", f"no job {job_id}")
        return job

    def request_of(self, job: Job) -> object:
        """The job's request model, rebuilt from the queue."""
        from qbwc.qbxml._json import load  # noqa: PLC0415

        return load(json.loads(job.request))

    # -- HTTP and SOAP ----------------------------------------------------------------------

    def handle(self, body: bytes) -> bytes:
        """
        Answer one SOAP request body with a SOAP response body.

        A malformed or illegal call gets a SOAP fault (see :meth:`handle_http`
        for the HTTP status that goes with it).
        """
        return self._respond(body)[1]

    def handle_http(
        self, method: str, body: bytes = b"", *, query: str = "", url: str = ""
    ) -> HTTPReply:
        """
        Answer one HTTP request: ``POST`` a SOAP call, ``GET ?wsdl`` the WSDL.

        The WSDL names *public_url* as the endpoint; without it, *url* (the
        request's URL, which an adapter builds from the Host header) when its
        host is a DNS name, IPv4 or bracketed IPv6 address with an optional
        port, else ``https://localhost/qbwc``.  Faults come with status 500,
        other methods with 405, bodies over *max_body_bytes* with 413.
        """
        method = method.upper()
        if method == "POST":
            status, data = self._post(body)
            return _xml_reply(status, data)
        if method in ("GET", "HEAD") and _wants_wsdl(query):
            try:
                data = wsdl(wsdl_address(self.public_url, url))
            except ConfigurationError:  # a path that makes no URL
                data = wsdl(NEUTRAL_ADDRESS)
            return _xml_reply(200, b"" if method == "HEAD" else data)
        text = b"Use POST for Web Connector calls, or GET ?wsdl for the WSDL.\n"
        return HTTPReply(
            status=405,
            headers=(("Content-Type", "text/plain; charset=utf-8"), ("Allow", "GET, POST")),
            body=text,
        )

    def too_large(self, size: int) -> HTTPReply:
        """The 413 answer (with a SOAP fault) for a body of *size* bytes (-1: unknown)."""
        reference = self._report(logging.WARNING, "request body refused", size=size)
        shown = "of unknown size" if size < 0 else f"{size:,} bytes"
        message = (
            f"the request is {shown}; at most {self.max_body_bytes:,} bytes are accepted "
            f"({reference})"
        )
        return _xml_reply(413, encode_fault("soap:Client", message))

    def _post(self, body: bytes) -> tuple[int, bytes]:
        """
        ``handle_http("POST", body)`` as (status, body); its headers are ``xml_headers(body)``.

        The WSGI adapter answers with this directly: every Web Connector call is a POST.
        """
        if len(body) > self.max_body_bytes:
            reply = self.too_large(len(body))
            return reply.status, reply.body
        return self._respond(body)

    def _respond(self, body: bytes) -> tuple[int, bytes]:
        try:
            call = decode_call(body, max_bytes=self.max_body_bytes)
        except RemoteProtocolError as exc:
            return self._refuse(exc.message, exc.fault_code)
        try:
            step = self._dispatch(call)
        except RemoteProtocolError as exc:
            reference = self._report(
                logging.WARNING, "refused a call", operation=call.operation, reason=exc.message
            )
            return 500, encode_fault(exc.fault_code, f"{exc.message} ({reference})")
        except StaleSessionError as exc:
            reference = self._report(
                logging.WARNING, "concurrent call", operation=call.operation, reason=str(exc)
            )
            message = f"another call for this session is in progress; try again ({reference})"
            return 500, encode_fault("soap:Server", message)
        except (LocalProtocolError, StoreError) as exc:
            reference = self._report(
                logging.ERROR, "internal error", operation=call.operation, reason=str(exc)
            )
            message = f"the service could not answer; support reference {reference}"
            return 500, encode_fault("soap:Server", message)
        self._notify(step.notices)
        return 200, encode_reply(step.reply)

    def _refuse(self, message: str, fault_code: str = "soap:Client") -> tuple[int, bytes]:
        """A request refused before it became a call: (500, the fault), logged with a reference."""
        reference = self._report(logging.WARNING, "refused a request", reason=message)
        return 500, encode_fault(fault_code, f"{message} ({reference})")

    def respond(self, call: AnyCall) -> AnyReply:
        """
        Answer one decoded call (the sans-SOAP entry point; :meth:`handle` uses it).

        Raises:
            RemoteProtocolError: the call is illegal now; nothing changed.
        """
        step = self._dispatch(call)
        self._notify(step.notices)
        return step.reply

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

    # -- dispatch ----------------------------------------------------------------------------

    def _dispatch(self, call: AnyCall) -> _Step:
        if isinstance(call, ServerVersionCall):
            return _Step(self._stateless(call, ServerVersion(version=self.server_version)))
        if isinstance(call, ClientVersionCall):
            return _Step(self._stateless(call, self._client_version(call.version)))
        if isinstance(call, AuthenticateCall):
            return _Step(self._authenticate(call))
        if isinstance(call, SendRequestXMLCall):
            return self._ticketed(call, self._send_request)
        if isinstance(call, ReceiveResponseXMLCall):
            return self._ticketed(call, self._receive_response)
        if isinstance(call, ConnectionErrorCall):
            return self._ticketed(call, self._connection_error)
        if isinstance(call, GetLastErrorCall):
            return self._ticketed(call, self._last_error)
        if isinstance(call, CloseConnectionCall):
            return self._ticketed(call, self._close)
        if isinstance(call, GetInteractiveURLCall):
            return self._ticketed(call, self._interactive_url_call)
        if isinstance(call, InteractiveDoneCall):
            return self._ticketed(call, lambda ctx: InteractiveDoneReply(message="Done"))
        if isinstance(call, InteractiveRejectedCall):
            return self._ticketed(call, self._interactive_rejected)
        msg = f"unknown call {call!r}"  # pragma: no cover - AnyCall is exhaustive
        raise RemoteProtocolError(msg)

    @staticmethod
    def _stateless(call: AnyCall, reply: AnyReply) -> AnyReply:
        # A call before authenticate, in a fresh session: whether the core accepts
        # the pair depends on the two types alone, so each pair is checked once.
        pair = (type(call), type(reply))
        if pair not in _STATELESS_CHECKED:
            session = Session()
            session.receive(call)
            session.send(reply)
            _STATELESS_CHECKED.add(pair)
        return reply

    def _client_version(self, version: str) -> AnyReply:
        if self.min_client_version is None:
            return ClientVersionOK()
        have = _version_key(version)
        need = _version_key(self.min_client_version)
        if have is None or need is None or have >= need:
            return ClientVersionOK()
        log.info("Web Connector %s is older than %s", version, self.min_client_version)
        if self.old_client == "upgrade":
            return ClientVersionUpgrade(version=self.min_client_version)
        text = (
            f"This Web Connector is version {version}; {self.app_name} needs version "
            f"{self.min_client_version} or newer. Download the latest QuickBooks Web Connector "
            "from Intuit."
        )
        if self.old_client == "error":
            return ClientVersionError(message=text)
        return ClientVersionWarning(message=text)

    # -- authenticate --------------------------------------------------------------------

    def _check_login(self, username: str, password: str) -> Login:
        """
        Check a login: a login verifier, else exactly one scrypt, whoever asks.

        See :class:`~qbwc._passwords.PasswordChecker` (docs/service.md, "Passwords").
        """
        if not is_name(username):  # never an account (and some names no store can look up)
            if self._authenticator is None:
                self._passwords.check(username, password, None, ())
            return Login(ok=False)
        if self._authenticator is not None:
            return Login(ok=bool(self._authenticator(username, password)))
        return check_login(
            checker=self._passwords,
            cache=self._login_cache,
            store=self.store,
            username=username,
            password=password,
            now=self._now(),
        )

    def _read_password_costs(self) -> dict[int, int]:
        with self.store.transaction() as tx:
            return tx.password_costs()

    def _authenticate(self, call: AuthenticateCall) -> AnyReply:
        session = Session()
        session.receive(call)
        username = call.username
        # The slow hash runs outside the transaction: it must not hold the lock.
        login = self._check_login(username, call.password)
        if not login.ok:
            reference = self._report(logging.WARNING, "login refused", username=username)
            reply: AnyReply = InvalidUser(reference=reference)
            session.send(reply)
            return reply
        now = self._now()
        ticket = self._new_ticket()
        with self.store.transaction() as tx:
            account = tx.get_account(username, for_update=True)
            if account is None:  # an authenticator vouched for a user we have not seen
                from qbwc.qwc import new_file_id  # noqa: PLC0415

                account = Account(username=username, file_id=new_file_id())
                tx.put_account(account)
            account = self._logged_in(tx, account, login, now)
            if now >= self._purge_due or now < self._purge_due - _PURGE_EVERY:
                tx.purge_sessions(now - _KEEP_EXPIRED)
                self._purge_due = now + _PURGE_EVERY
            records = tx.sessions_for(username)
            finished: list[SessionRecord] = []
            silent: list[SessionRecord] = []
            if records:  # usually none: the last session closed
                in_flight = tx.get_in_flight(username)
                holder = None
                if in_flight is not None and in_flight.kind == "write":
                    holder = in_flight.ticket
                recent = now - dt.timedelta(seconds=self.busy_timeout)
            for record in records:
                if record.expires_at < now:
                    continue  # over: expired, or replaced by an earlier session
                state, _, seen_at = _load_record(record.state)
                if state.phase in _FINISHED_PHASES:
                    finished.append(record)
                    continue
                if record.ticket == holder and state.phase is Phase.AWAITING_RESPONSE:
                    # It was handed the writes in flight and QuickBooks may still be
                    # running them: until it closes or expires, no other session may
                    # ask QuickBooks about them (and send them again on a 600).
                    log.info(
                        "account %r: a session is waiting for QuickBooks to run message set "
                        "%s; answered busy until it ends or expires",
                        username,
                        in_flight.message_set_id if in_flight is not None else None,
                    )
                    reply = Busy(ticket=ticket, postpone_seconds=self.busy_postpone_seconds)
                    session.send(reply)
                    return reply
                if seen_at >= recent:
                    log.info("account %r: another session is running; answered busy", username)
                    reply = Busy(ticket=ticket, postpone_seconds=self.busy_postpone_seconds)
                    session.send(reply)
                    return reply
                silent.append(record)
            for old in finished:
                tx.delete_session(old.ticket)  # [PG] p42: drop the old ticket
            for old in silent:
                # Silent for busy_timeout with no writes at QuickBooks: this run replaces
                # it.  Its ticket expires now, but the record stays (for _KEEP_EXPIRED),
                # so that a late answer from it is still recorded (see _ticketed).
                tx.put_session(
                    attrs.evolve(old, expires_at=now - _TICK, active=False),
                    expected_seq=old.seq,
                )
            has_work = tx.get_in_flight(username) is not None or bool(
                tx.next_pending(username, limit=1)
            )
            if not has_work:
                reply = NoWork(ticket=ticket, min_run_every_seconds=self.min_run_every_seconds)
                session.send(reply)
                return reply
            company = ""
            if self.open_company_file and account.company_file:
                company = account.company_file
            reply = Authenticated(
                ticket=ticket,
                company_file=company,
                min_run_every_seconds=self.min_run_every_seconds,
            )
            session.send(reply)
            tally = _Tally(total=tx.count_jobs(username, "pending"))
            # Stored under the ticket's hash: the clear ticket leaves only in the reply.
            stored = _evolve_state(session.state, {"ticket": _ticket_key(ticket)})
            tx.put_session(self._record(stored, tally, now, None), expected_seq=None)
        log.info("account %r: session started", username)
        return reply

    @staticmethod
    def _logged_in(
        tx: StoreTransaction, account: Account, login: Login, now: dt.datetime
    ) -> Account:
        """
        Store the login time (unless stored less than _LAST_SEEN_EVERY ago), the rehashed
        password unless it changed meanwhile, and a new login verifier.
        """
        changes: dict[str, Any] = {}
        seen = account.last_seen_at
        if seen is None or not dt.timedelta(0) <= now - seen < _LAST_SEEN_EVERY:
            changes["last_seen_at"] = now
        if login.rehash is not None and account.password_hash == login.rehash[0]:
            changes["password_hash"] = login.rehash[1]
        if changes:
            account = attrs.evolve(account, **changes)
            tx.put_account(account)
        if login.verifier is not None:
            tx.put_login_verifier(login.verifier)
        return account

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

    # -- calls that carry a ticket --------------------------------------------------------

    def _ticketed(self, call: Any, handler: Callable[[_Context], AnyReply]) -> _Step:
        now = self._now()
        clear_ticket = call.ticket
        # From here on the call carries the ticket's hash, as the store and the
        # stored session do (the clear ticket is never stored).
        call = _evolve(call, ticket=_ticket_key(call.ticket))
        with self.store.transaction() as tx:
            record = tx.get_session(call.ticket)
            late = False
            if record is not None and record.expires_at < now:
                # Expired, or replaced by a later session: it never gets work again,
                # but QuickBooks' answer to a set it was handed is still recorded, and
                # it may still ask what happened, and close (docs/service.md).
                phase = _load_record(record.state)[0].phase
                late = _late_call(call, phase)
                if not late:
                    if isinstance(call, CloseConnectionCall):
                        tx.delete_session(record.ticket)
                    record = None
            if record is None:
                return _Step(self._stale(call, clear_ticket))
            account = tx.get_account(record.username, for_update=True)
            if account is None:
                tx.delete_session(record.ticket)
                return _Step(self._stale(call, clear_ticket))
            state, tally, _ = _load_record(record.state)
            session = Session(state)
            session.receive(call)
            ctx = _Context(
                tx=tx, session=session, tally=tally, account=account, now=now, call=call, late=late
            )
            reply = handler(ctx)
            session.send(reply)
            if isinstance(call, CloseConnectionCall):
                tx.delete_session(record.ticket)
            else:
                tx.put_session(
                    self._record(
                        session.state,
                        ctx.tally,
                        now,
                        record.seq,
                        record.expires_at if late else None,
                    ),
                    expected_seq=record.seq,
                )
            if ctx.account is not account:
                tx.put_account(ctx.account)
        return _Step(reply, tuple(ctx.notices))

    def _stale(self, call: Any, clear_ticket: str) -> AnyReply:
        """
        Answer a call whose ticket we do not know (expired, closed, never issued).

        *call* carries the ticket's hash; *clear_ticket* is the ticket as sent.
        """
        session = Session()
        session.receive(call)
        reply: AnyReply
        if isinstance(call, SendRequestXMLCall):
            reply = NoRequest()
        elif isinstance(call, ReceiveResponseXMLCall):
            self._stale_answer(call)
            reply = Failed(code=-1)
        elif isinstance(call, ConnectionErrorCall):
            reply = GiveUp()
        elif isinstance(call, GetLastErrorCall):
            reference = self._report(logging.INFO, "getLastError for an unknown or expired ticket")
            reply = LastError(
                message=(
                    f"This update session has ended or expired. Nothing was lost: "
                    f"{self.app_name} will continue at the next update. ({reference})"
                )
            )
        elif isinstance(call, CloseConnectionCall) and _REFERENCE.fullmatch(clear_ticket):
            # After "nvu": the ticket slot carried the refusal's reference.
            reply = Goodbye(
                message=(
                    f"Invalid password for username: {self.app_name} refused the user name or "
                    "password. Type the current password in the Web Connector's Password "
                    f"column and run the update again. ({clear_ticket})"
                )
            )
        elif isinstance(call, CloseConnectionCall):
            reply = Goodbye(message="Connection Closed")
        else:
            # Interactive calls on an unknown ticket: the table refuses them.
            msg = f"{call.operation}: unknown or expired ticket"
            raise RemoteProtocolError(msg)
        session.send(reply)
        return reply

    def _stale_answer(self, call: ReceiveResponseXMLCall) -> None:
        """
        Log an answer that came with a ticket we have no record of.

        Nothing can be recorded (whose jobs?), but when it reports writes they may
        exist in QuickBooks a second time: logged at ERROR, naming them.
        """
        reported: list[str] = []
        message_set = None
        if call.response:
            try:
                answer = self._parse_response(call.response)
            except (QBXMLError, XMLParseError):
                answer = None
            if answer is not None:
                message_set = answer.message_set_id
                reported = [
                    f"job {r.request_id}: {r.name} {_summary_of(r).txn_id}"
                    for r in answer.responses[:100]
                    if r.ok
                ]
        if reported:
            self._report(
                logging.ERROR,
                "possible duplicate: check QuickBooks: an answer for an unknown or expired "
                "session reports writes",
                message_set=message_set,
                reported="; ".join(reported),
            )
        else:
            self._report(logging.WARNING, "a response arrived for an unknown or expired ticket")

    # -- sendRequestXML --------------------------------------------------------------------

    def _send_request(self, ctx: _Context) -> AnyReply:
        call = ctx.call(SendRequestXMLCall)
        if call.hcp_response:
            problem = self._check_company(ctx, call)
            if problem is not None:
                return NoRequest()
        if not ctx.tally.verified:
            # QBPOS, or a Web Connector that skipped the HCP document: never
            # write to a file we could not identify.
            reference = self._report(
                logging.WARNING,
                "no company file check in this session; nothing sent",
                username=ctx.account.username,
            )
            ctx.fail(
                "QuickBooks did not identify the company file, so nothing was sent. Run the "
                f"update again; if this repeats, contact {self.app_name} support.",
                reference,
            )
            return NoRequest()
        pause = self._pause
        if pause is not None and ctx.tally.pauses < self.max_pauses and pause(ctx.account.username):
            ctx.tally = _evolve(ctx.tally, pauses=ctx.tally.pauses + 1, pausing=True)
            return PauseRequest()
        qbxml = self._next_message_set(ctx)
        if qbxml is None:
            if not ctx.tally.message:
                ctx.tally = _evolve(ctx.tally, message=self._summary(ctx))
            return NoRequest()
        return RequestXML(qbxml=qbxml)

    def _check_company(self, ctx: _Context, call: SendRequestXMLCall) -> str | None:
        """Negotiate the version and verify the company file; a message when refused."""
        username = ctx.account.username
        try:
            hcp = self._parse_hcp(call.hcp_response, self.owner_id)
        except XMLLimitError as exc:
            raise RemoteProtocolError(f"sendRequestXML.{exc}") from None
        except (QBXMLError, XMLParseError) as exc:
            reference = self._report(
                logging.WARNING, "unreadable HCP response", username=username, error=str(exc)
            )
            return ctx.fail(
                "QuickBooks' description of the company file could not be read, so nothing "
                f"was sent. {self.app_name} works with QuickBooks Desktop (not Point of Sale).",
                reference,
            )
        if "CompanyRet" in hcp.missing:
            reference = self._report(
                logging.WARNING, "HCP response without CompanyRet", username=username
            )
            return ctx.fail(
                "QuickBooks did not describe the open company file, so it could not be checked "
                "and nothing was sent. Run the update again.",
                reference,
            )
        supported = hcp.versions or (f"{call.major_version}.{call.minor_version}",)
        version = self._common_version(supported)
        stamp = hcp.file_id
        if version is None:
            reference = self._report(
                logging.WARNING, "no common qbXML version", username=username, supported=supported
            )
            return ctx.fail(
                f"This QuickBooks supports qbXML {', '.join(supported)}, none of which "
                f"{self.app_name} can write. Nothing was sent.",
                reference,
            )
        open_name = hcp.company_name or "(no name)"
        open_path = call.company_file_name
        account = ctx.account
        if account.linked_file_id is None and stamp == account.file_id:
            ctx.account = _evolve(
                account,
                linked_file_id=stamp,
                company_file=open_path,
                company_name=open_name,
                linked_at=ctx.now,
            )
            log.info("account %r linked to %r (%s)", username, open_name, open_path)
        elif account.linked_file_id is not None and stamp == account.linked_file_id:
            if (open_path, open_name) != (account.company_file, account.company_name):
                log.info("account %r: company file now %r (%s)", username, open_name, open_path)
                ctx.account = _evolve(account, company_file=open_path, company_name=open_name)
        else:
            return self._mismatch(ctx, stamp, open_name, open_path)
        ctx.tally = _evolve(ctx.tally, verified=True, version=version)
        return None

    def _common_version(self, supported: tuple[str, ...]) -> str | None:
        """
        The qbXML version to write, of those QuickBooks *supported*; None if none fits.

        A function of the version list alone (never of the HCP text, whose AppLock
        stamp differs every session), and every session of a QuickBooks sends the
        same list: so each list is negotiated once (bounded: odd input cannot grow it).
        """
        key = (supported, self.max_qbxml_version, self._versions)
        negotiated = self._negotiated
        if key in negotiated:
            return negotiated[key]
        version = self._highest_common_version(
            [v for v in supported if v in self._versions], ceiling=self.max_qbxml_version
        )
        if len(negotiated) >= 64:
            negotiated.clear()
        negotiated[key] = version
        return version

    def _mismatch(
        self, ctx: _Context, stamp: uuid.UUID | None, open_name: str, open_path: str
    ) -> str:
        account = ctx.account
        reference = self._report(
            logging.WARNING,
            "company file mismatch; nothing sent",
            username=account.username,
            linked_file_id=str(account.linked_file_id),
            linked_file=account.company_file,
            open_file_id=str(stamp),
            open_file=open_path,
            open_name=open_name,
        )
        opened = f'"{open_name}" ({open_path})' if open_path else f'"{open_name}"'
        if account.linked_file_id is not None:
            linked = f'"{account.company_name}" ({account.company_file})'
            message = (
                f"QuickBooks has the company file {opened} open, but {self.app_name} is linked "
                f"to {linked}. Nothing was sent. Open {linked} and run the update again. To use "
                f'{opened} from now on instead, choose "Disconnect" in {self.app_name}, then run '
                "the update again."
            )
        elif stamp is None:
            message = (
                f"The company file {opened} has not been set up for {self.app_name}. Nothing "
                f"was sent. Open the company file you use with {self.app_name}, or add "
                f"{self.app_name}'s QWC file to the Web Connector while this company file is open."
            )
        else:
            message = (
                f"The company file {opened} was set up with another QWC file for "
                f"{self.app_name}. Nothing was sent. Download the current QWC file from "
                f"{self.app_name}, add it to the Web Connector, and run the update again."
            )
        ctx.fail(message, reference)
        ctx.tally = _evolve(ctx.tally, interactive=self._interactive_url is not None)
        if self._on_company_mismatch is not None:
            ctx.notices.append(
                (
                    self._on_company_mismatch,
                    CompanyMismatch(
                        username=account.username,
                        linked_file_id=account.linked_file_id,
                        linked_company_file=account.company_file,
                        linked_company_name=account.company_name,
                        open_file_id=stamp,
                        open_company_file=open_path,
                        open_company_name=open_name,
                        reference=reference,
                    ),
                )
            )
        return message

    def _next_message_set(self, ctx: _Context) -> str | None:
        """The next qbXML to send (recovery first), persisted as in flight; None if none."""
        tx = ctx.tx
        username = ctx.account.username
        version = ctx.tally.version or self.max_qbxml_version
        in_flight = tx.get_in_flight(username)
        if in_flight is not None:
            # The answer to this set never arrived: ask QuickBooks what happened
            # (or finish clearing) before anything new is sent.
            if in_flight.kind == "clear":
                data = self._build_request(
                    [], version=in_flight.version, old_message_set_id=in_flight.message_set_id
                )
            else:
                log.info(
                    "account %r: the answer to message set %s was lost; asking QuickBooks",
                    username,
                    in_flight.message_set_id,
                )
                in_flight = _evolve(in_flight, kind="check")
                data = self._build_request(
                    [],
                    version=in_flight.version,
                    message_set_id=in_flight.message_set_id,
                    old_message_set_id=in_flight.message_set_id,
                    on_error="continueOnError",
                )
            tx.put_in_flight(_evolve(in_flight, ticket=ctx.ticket, sent_at=ctx.now))
            return data.decode("ascii")
        chosen: list[tuple[Job, str]] = []
        chosen_ids: set[str] = set()
        while len(chosen) < self.batch_size:
            # Jobs refused by _admit are failed at once, so each query moves on;
            # chosen ones are still pending until the set is built.
            batch = tx.next_pending(username, limit=self.batch_size, exclude_ticket=ctx.ticket)
            fresh = [job for job in batch if job.id not in chosen_ids]
            if not fresh:
                break
            for job in fresh[: self.batch_size - len(chosen)]:
                rendered = self._admit(ctx, job, version)
                if rendered is not None:
                    chosen.append((job, rendered))
                    chosen_ids.add(job.id)
        if not chosen:
            return None
        # The ID as generated, not as read back from the document: QuickBooks echoes
        # the attribute's value, which is this string even where it had to be escaped.
        message_set_id = self._new_message_set_id()
        # Each request was checked when it was rendered, and job IDs are unique
        # digits: framing them cannot fail.
        data = self._frame_requests(
            [(job.id, job.request_type, rendered) for job, rendered in chosen],
            version=version,
            on_error="continueOnError",
            message_set_id=message_set_id,
        )
        for job, _ in chosen:
            tx.put_job(
                _evolve(
                    job,
                    status="sent",
                    attempts=job.attempts + 1,
                    deferred_ticket=None,
                    updated_at=ctx.now,
                )
            )
        tx.put_in_flight(
            InFlight(
                username=username,
                message_set_id=message_set_id,
                job_ids=tuple(job.id for job, _ in chosen),
                kind="write",
                version=version,
                ticket=ctx.ticket,
                sent_at=ctx.now,
            )
        )
        return data.decode("ascii")

    def _admit(self, ctx: _Context, job: Job, version: str) -> str | None:
        """The job's rendered qbXML if it can be sent at *version*; otherwise fail the job."""
        if _vkey(job.min_version) > _vkey(version):
            model = self._stored_model(ctx, job)
            if model is None:
                return None
            _, where = _newest_field(model, job.request_type)
            self._fail_job(
                ctx,
                job,
                "version",
                f"{where} needs qbXML {job.min_version}, but this QuickBooks supports qbXML "
                f"{version} at most. Update QuickBooks, or send the request without it.",
            )
            return None
        rendered = job.qbxml
        if rendered is None:  # a retried job (or a store that did not keep it): render now
            model = self._stored_model(ctx, job)
            if model is None:
                return None
            try:
                rendered = self._render_request(
                    model, version=version, text_policy=self.text_policy
                )
            except QBXMLValidationError as exc:
                self._fail_job(ctx, job, "invalid", f"cannot be written as qbXML {version}: {exc}")
                return None
        elif job.request_type not in self._request_types or not rendered.isascii():
            self._fail_job(
                ctx,
                job,
                "invalid",
                "the stored qbXML is damaged (not ASCII, or not an InvoiceAdd or EstimateAdd); "
                "retry the job to render it again from its request",
            )
            return None
        return rendered

    def _stored_model(self, ctx: _Context, job: Job) -> object | None:
        """The job's request model, rebuilt from its JSON; if it cannot be, None (job failed)."""
        try:
            model: object = self._load_request(json.loads(job.request))
        except (QBXMLError, ValueError) as exc:
            self._fail_job(ctx, job, "invalid", f"the stored request cannot be read: {exc}")
            return None
        return model

    def _fail_job(
        self,
        ctx: _Context,
        job: Job,
        code: str,
        message: str,
        *,
        response: JobResponse | None = None,
    ) -> Job:
        reference = self._report(
            logging.WARNING,
            "job failed",
            job=job.id,
            key=job.key,
            username=job.username,
            code=code,
            message=message,
        )
        failed = _evolve(
            job,
            status="failed",
            error=JobError(code=code, message=message, reference=reference),
            response=response,
            deferred_ticket=None,
            qbxml=None,
            updated_at=ctx.now,
        )
        ctx.tx.put_job(failed)
        ctx.tally = _evolve(ctx.tally, failed=ctx.tally.failed + 1)
        if self._on_job_failed is not None:
            ctx.notices.append((self._on_job_failed, failed))
        return failed

    # -- receiveResponseXML --------------------------------------------------------------------

    def _receive_response(self, ctx: _Context) -> AnyReply:
        call = ctx.call(ReceiveResponseXMLCall)
        username = ctx.account.username
        in_flight = ctx.tx.get_in_flight(username)
        holder = in_flight is not None and in_flight.ticket == ctx.ticket
        if not call.response:
            if in_flight is not None and holder:
                return self._processor_failed(ctx, in_flight, call)
            self._report(
                logging.WARNING,
                "QuickBooks failed to process a message set that is not in flight; nothing "
                "to record",
                username=username,
                hresult=call.hresult,
                message=call.message,
            )
            return self._after(ctx)
        try:
            answer = self._parse_response(call.response)
        except XMLLimitError as exc:
            # Markup out of all proportion to a qbXML response: refused as the request
            # it came in (a soap:Client fault), nothing recorded (docs/protocol.md).
            raise RemoteProtocolError(f"receiveResponseXML.response: {exc}") from None
        except (QBXMLError, XMLParseError) as exc:
            reference = self._report(
                logging.ERROR,
                "unreadable response from QuickBooks; will ask again next time",
                username=username,
                message_set=None if in_flight is None else in_flight.message_set_id,
                error=str(exc),
            )
            ctx.fail(
                "QuickBooks' answer could not be read. Nothing is lost: the next update asks "
                "QuickBooks what was saved.",
                reference,
            )
            return Failed(code=-2)
        # The answer is to the set in flight when it names its message-set ID, whichever
        # session holds the set now (a later session's status query carries the same ID);
        # an answer naming no ID counts only from the session that was handed the set.
        if in_flight is None or not (
            answer.message_set_id == in_flight.message_set_id
            or (answer.message_set_id is None and holder)
        ):
            return self._unmatched(ctx, answer, in_flight)
        if not holder:
            if in_flight.kind == "clear":  # already recorded (from a later status query)
                return self._unmatched(ctx, answer, in_flight)
            # A late answer: the session that was handed the set expired or was replaced,
            # and QuickBooks ran the set after all.  It is the answer: record it.
            log.warning(
                "account %r: a late answer to message set %s arrived; recorded",
                username,
                in_flight.message_set_id,
            )
            self._recovered(ctx, in_flight, answer)
        elif in_flight.kind == "clear":
            ctx.tx.clear_in_flight(username)
        elif in_flight.kind == "check":
            self._recovered(ctx, in_flight, answer)
        else:
            code = answer.message_set_status_code
            if code not in (None, 0) and not answer.responses:
                self._unconfirmed(ctx, in_flight, code)
                ctx.tx.clear_in_flight(username)
            else:
                unmatched = self._apply(ctx, in_flight.job_ids, answer)
                if unmatched:
                    # Answers that do not answer their request prove nothing: those
                    # jobs stay in flight, and QuickBooks is asked for their stored
                    # answers before anything else is sent.
                    ctx.tx.put_in_flight(
                        _evolve(in_flight, job_ids=tuple(job.id for job, _ in unmatched))
                    )
                else:
                    ctx.tx.clear_in_flight(username)
        return self._after(ctx)

    def _after(self, ctx: _Context) -> AnyReply:
        """The answer to a receiveResponseXML that was recorded (Done for a late one)."""
        return Done() if ctx.late else self._progress(ctx)

    def _unmatched(self, ctx: _Context, answer: Any, in_flight: InFlight | None) -> AnyReply:
        """
        Record what can be of an answer to a message set that is not in flight.

        Its set was already settled: recorded from a status query, sent again after
        QuickBooks said it never ran it, or failed as unconfirmed (docs/service.md).
        A success it reports for a job still waiting (pending, or failed as
        unconfirmed) settles that job; one for a job that was done with another
        TxnID, or sent again, may be a duplicate: logged at ERROR, shown to the user.
        """
        username = ctx.account.username
        suspects: list[str] = []
        for response in answer.responses:
            if response.request_id is None or not response.ok:
                continue
            summary = _summary_of(response)
            job = ctx.tx.get_job(response.request_id)
            if job is None or job.username != username:
                suspects.append(f"{response.request_id}: {response.name} {summary.txn_id}")
                continue
            if job.status == "done" and job.txn_id == summary.txn_id:
                continue  # already recorded
            settles = job.status == "pending" or (
                job.status == "failed" and job.error is not None and job.error.code == "unconfirmed"
            )
            if settles and _mismatch(job, response, summary) is None:
                log.warning(
                    "job %s: a late answer says QuickBooks saved it (TxnID %s); recorded as done",
                    job.id,
                    summary.txn_id,
                )
                self._done(ctx, job, response, summary)
                continue
            suspects.append(f"job {job.id} ({job.status}): {response.name} {summary.txn_id}")
        if not suspects:
            log.info(
                "account %r: an answer to message set %s, which is not in flight, changes nothing",
                username,
                answer.message_set_id,
            )
            return self._after(ctx)
        reference = self._report(
            logging.ERROR,
            "possible duplicate: check QuickBooks: an answer to a message set that is not in "
            "flight reports writes",
            username=username,
            message_set=answer.message_set_id,
            in_flight=None if in_flight is None else in_flight.message_set_id,
            reported="; ".join(suspects),
        )
        ctx.fail(
            f"QuickBooks reported saving {', '.join(suspects)} after {self.app_name} had "
            "settled that request: it may exist twice in QuickBooks. Check QuickBooks.",
            reference,
        )
        return Failed(code=-1)

    def _processor_failed(
        self, ctx: _Context, in_flight: InFlight, call: ReceiveResponseXMLCall
    ) -> AnyReply:
        """QuickBooks' request processor failed (an HRESULT instead of a response)."""
        hresult = call.hresult.strip().lower()
        username = ctx.account.username
        if hresult == "0x80040400" and in_flight.kind == "write":
            # A parse error: QuickBooks processed nothing; sending it again fails again.
            for job_id in in_flight.job_ids:
                job = ctx.tx.get_job(job_id)
                if job is not None:
                    self._fail_job(
                        ctx,
                        job,
                        call.hresult,
                        f"QuickBooks could not read the request: {call.message}",
                    )
            ctx.tx.clear_in_flight(username)
            return self._progress(ctx)
        reference = self._report(
            logging.WARNING,
            "QuickBooks failed to process a message set; recovery next time",
            username=username,
            message_set=in_flight.message_set_id,
            hresult=call.hresult,
            message=call.message,
        )
        ctx.fail(
            f"{_advice(hresult)} Nothing is lost: the next update continues where this one "
            f"stopped. (QuickBooks said: {call.hresult} {call.message})",
            reference,
        )
        return Failed(code=-1)

    def _recovered(self, ctx: _Context, in_flight: InFlight, answer: Any) -> None:
        """Record QuickBooks' answer to an error-recovery status query."""
        username = ctx.account.username
        code = answer.message_set_status_code
        if code == 600:
            # QuickBooks never processed the set: it is safe to send it again.
            log.info(
                "account %r: message set %s was never processed; its jobs will be sent again",
                username,
                in_flight.message_set_id,
            )
            for job_id in in_flight.job_ids:
                job = ctx.tx.get_job(job_id)
                if job is not None and job.status == "sent":
                    ctx.tx.put_job(_evolve(job, status="pending", updated_at=ctx.now))
            ctx.tx.clear_in_flight(username)
            return
        if code in (None, 0) and answer.responses:
            log.info(
                "account %r: recovered the stored answer to message set %s",
                username,
                in_flight.message_set_id,
            )
            for job, reason in self._apply(ctx, in_flight.job_ids, answer):
                # Asking again cannot help: QuickBooks answers from the same store.
                self._fail_job(
                    ctx,
                    job,
                    "unconfirmed",
                    f"{reason} Look for it in QuickBooks before sending it again.",
                )
        else:
            self._unconfirmed(ctx, in_flight, code)
        # Drop QuickBooks' stored state before anything new is sent.
        ctx.tx.put_in_flight(
            _evolve(in_flight, kind="clear", job_ids=(), ticket=ctx.ticket, sent_at=ctx.now)
        )

    def _unconfirmed(self, ctx: _Context, in_flight: InFlight, code: int | None) -> None:
        for job_id in in_flight.job_ids:
            job = ctx.tx.get_job(job_id)
            if job is not None and job.status == "sent":
                self._fail_job(
                    ctx,
                    job,
                    "unconfirmed",
                    "QuickBooks could not confirm whether it saved this request "
                    f"(message set status {code}). Look for it in QuickBooks before "
                    "sending it again.",
                )

    def _apply(self, ctx: _Context, job_ids: Sequence[str], answer: Any) -> list[tuple[Job, str]]:
        """
        Record each job's response from a qbXML response set.

        Returns the jobs whose response does not answer their request (another
        element than ``<request type>Rs``, or a success without a TxnID), each with
        what was wrong, untouched: such an answer proves nothing (docs/service.md).
        """
        unmatched: list[tuple[Job, str]] = []
        for job_id in job_ids:
            job = ctx.tx.get_job(job_id)
            if job is None or job.status != "sent":
                continue
            response = answer.get(job_id)
            if response is None:
                # Not processed (QuickBooks stopped before it): send it again later.
                ctx.tx.put_job(_evolve(job, status="pending", updated_at=ctx.now))
                continue
            summary = _summary_of(response)
            wrong = _mismatch(job, response, summary)
            if wrong is not None:
                self._report(
                    logging.ERROR,
                    "an answer that does not answer its request; not recorded",
                    job=job.id,
                    username=job.username,
                    message_set=answer.message_set_id,
                    problem=wrong,
                )
                unmatched.append((job, wrong))
                continue
            if response.ok:
                self._done(ctx, job, response, summary)
                continue
            code = str(response.status_code)
            if response.retryable and job.attempts < self.max_attempts:
                reference = self._report(
                    logging.INFO,
                    "job will be retried in a later session",
                    job=job.id,
                    code=code,
                    message=response.status_message,
                    attempts=job.attempts,
                )
                ctx.tx.put_job(
                    _evolve(
                        job,
                        status="pending",
                        error=JobError(
                            code=code, message=response.status_message, reference=reference
                        ),
                        response=summary,
                        deferred_ticket=ctx.ticket,
                        updated_at=ctx.now,
                    )
                )
                ctx.tally = _evolve(ctx.tally, deferred=ctx.tally.deferred + 1)
                continue
            self._fail_job(ctx, job, code, response.status_message, response=summary)
        return unmatched

    def _done(self, ctx: _Context, job: Job, response: Any, summary: JobResponse) -> None:
        """Record the job as done, with the TxnID QuickBooks gave it."""
        done = _evolve(
            job,
            status="done",
            txn_id=summary.txn_id,
            response=summary,
            error=None,
            deferred_ticket=None,
            qbxml=None,
            updated_at=ctx.now,
        )
        ctx.tx.put_job(done)
        ctx.tally = _evolve(ctx.tally, done=ctx.tally.done + 1)
        if response.is_warning:
            log.info(
                "job %s done with warning %s: %s",
                job.id,
                response.status_code,
                response.status_message,
            )
        if self._on_job_done is not None:
            ctx.notices.append((self._on_job_done, done))

    def _progress(self, ctx: _Context) -> AnyReply:
        """Progress (0-99) while there is more to do in this session, else Done."""
        username = ctx.account.username
        more = ctx.tx.get_in_flight(username) is not None or bool(
            ctx.tx.next_pending(username, limit=1, exclude_ticket=ctx.ticket)
        )
        if not more:
            return Done()
        processed = ctx.tally.processed
        remaining = ctx.tx.count_jobs(username, "pending")
        percent = processed * 100 // max(1, processed + remaining)
        return Progress(percent=max(0, min(99, percent)))

    # -- getLastError, connectionError, closeConnection, interactive ----------------------------

    def _last_error(self, ctx: _Context) -> AnyReply:
        tally = ctx.tally
        if tally.pausing:
            ctx.tally = _evolve(tally, pausing=False)
            return NoOp()
        url = self._interactive_url
        # An expired session is told what happened, never taken into interactive mode.
        if tally.interactive and url is not None and not ctx.late and url(ctx.account.username):
            return InteractiveMode()
        message = tally.message or self._summary(ctx)
        return LastError(message=message)

    def _connection_error(self, ctx: _Context) -> AnyReply:
        call = ctx.call(ConnectionErrorCall)
        hresult = call.hresult.strip().lower()
        attempts = ctx.session.state.connection_error_count
        account = ctx.account
        if hresult not in _CONNECTION_FINAL and attempts <= self.max_connection_retries:
            log.info(
                "account %r: connectionError %s %s (retry %d)",
                account.username,
                call.hresult,
                call.message,
                attempts,
            )
            if account.company_file and not ctx.tally.tried_path and not self.open_company_file:
                ctx.tally = _evolve(ctx.tally, tried_path=True)
                return TryCompanyFile(path=account.company_file)
            return TryCompanyFile(path="")
        reference = self._report(
            logging.WARNING,
            "could not connect to QuickBooks",
            username=account.username,
            hresult=call.hresult,
            message=call.message,
            attempts=attempts,
        )
        ctx.fail(
            f"{_advice(hresult)} Nothing is lost: the next update continues. "
            f"(QuickBooks said: {call.hresult} {call.message})",
            reference,
        )
        return GiveUp()

    def _close(self, ctx: _Context) -> AnyReply:
        tally = ctx.tally
        # After an error, the same words as getLastError, advice included (the status
        # column is what the user reads last; docs/troubleshooting.md quotes both).
        text = f"Stopped: {tally.message}" if tally.reference else self._summary(ctx, closing=True)
        log.info("account %r: session closed: %s", ctx.account.username, text)
        return Goodbye(message=text)

    def _summary(self, ctx: _Context, *, closing: bool = False) -> str:
        tally = ctx.tally
        waiting = ctx.tx.count_jobs(ctx.account.username, "pending") + ctx.tx.count_jobs(
            ctx.account.username, "sent"
        )
        head = "Connection Closed" if closing else "Nothing more to send"
        parts = [f"{tally.done} done", f"{tally.failed} failed"]
        if waiting:
            parts.append(f"{waiting} waiting")
        text = f"{head}: {', '.join(parts)}."
        if tally.failed:
            text += f" See {self.app_name} for the failed ones."
        return text

    def _interactive_url_call(self, ctx: _Context) -> AnyReply:
        url = None if self._interactive_url is None else self._interactive_url(ctx.account.username)
        return InteractiveURL(url=url or "")

    def _interactive_rejected(self, ctx: _Context) -> AnyReply:
        call = ctx.call(InteractiveRejectedCall)
        log.info("account %r: interactive mode declined: %s", ctx.account.username, call.reason)
        message = ctx.tally.message or "Nothing was changed."
        return InteractiveRejectedReply(message=message)


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
        self.tally = _evolve(self.tally, message=text, reference=reference)
        return text


# --- helpers ---------------------------------------------------------------------------------


def xml_headers(body: bytes) -> tuple[tuple[str, str], ...]:
    """The headers of an XML answer (a SOAP reply or fault, the WSDL) with *body*."""
    return (("Content-Type", _CONTENT_TYPE), ("Content-Length", str(len(body))))


def _late_call(call: AnyCall, phase: Phase) -> bool:
    """Whether an expired session may still make *call* in *phase* (see _ticketed)."""
    if isinstance(call, ReceiveResponseXMLCall):
        return phase is Phase.AWAITING_RESPONSE
    if isinstance(call, GetLastErrorCall):
        return phase is Phase.AWAITING_LAST_ERROR
    return isinstance(call, CloseConnectionCall)


def _xml_reply(status: int, body: bytes) -> HTTPReply:
    return HTTPReply(status=status, headers=xml_headers(body), body=body)


def _wants_wsdl(query: str) -> bool:
    return any(part.split("=")[0].lower() == "wsdl" for part in query.split("&"))


_DEFAULT_APP_NAME: Final = "the application"
#: The store settings that hold the application's identity (docs/service.md).
OWNER_ID_SETTING: Final = "owner_id"
APP_NAME_SETTING: Final = "app_name"


def _record_identity(store: Store, owner_id: uuid.UUID, app_name: str | None) -> str:
    """
    Record *owner_id* (first start) and *app_name* (when given) in *store*; return the name.

    Raises:
        ConfigurationError: the store was set up with another OwnerID.
    """
    with store.transaction() as tx:
        stored = tx.get_setting(OWNER_ID_SETTING)
        if stored is None:
            tx.put_setting(OWNER_ID_SETTING, str(owner_id))
        elif stored.strip("{}").lower() != str(owner_id):
            given, kept = str(owner_id).upper(), stored.strip("{}").upper()
            rule = (
                f"{{{given}}} differs from the OwnerID this database was set up with "
                f"({{{kept}}}), which its QWC files and company-file stamps carry; start the "
                f"service with owner_id={{{kept}}}, or give a new application its own database"
            )
            raise ConfigurationError("owner_id", rule)
        stored_name = tx.get_setting(APP_NAME_SETTING)
        if app_name is None:
            return stored_name or _DEFAULT_APP_NAME
        if stored_name != app_name:
            tx.put_setting(APP_NAME_SETTING, app_name)
        return app_name


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


def _newest_field(model: object, path: str) -> tuple[tuple[int, int], str]:
    """The newest qbXML version any set field of *model* needs, and that field's path."""
    from qbwc.qbxml._types import Kind, specs  # noqa: PLC0415

    best: tuple[tuple[int, int], str] = ((1, 0), path)
    for name, spec in specs(type(model)):
        value = getattr(model, name)
        if value is None or value == ():
            continue
        here = f"{path}.{name}"
        if spec.since > best[0]:
            best = (spec.since, here)
        if spec.kind is Kind.AGG:
            items = value if spec.many else (value,)
            for index, item in enumerate(items):
                if attrs.has(type(item)):
                    inner = _newest_field(item, f"{here}[{index}]" if spec.many else here)
                    if inner[0] > best[0]:
                        best = inner
    return best


def _mismatch(job: Job, response: Any, summary: JobResponse) -> str | None:
    """
    What makes *response* no answer to *job*'s request, or None when it is one.

    An ``InvoiceAddRq`` is answered by an ``InvoiceAddRs`` (an ``EstimateAddRq`` by an
    ``EstimateAddRs``), and a success carries the TxnID of what was created.
    """
    expected = f"{job.request_type}Rs"
    if response.name != expected:
        return (
            f"QuickBooks answered its {job.request_type}Rq (requestID {job.id}) with "
            f"{response.name} (status {response.status_code}), not {expected}."
        )
    if response.ok and summary.txn_id is None:
        return (
            f"QuickBooks said it saved it (status {response.status_code}) but did not say "
            "which transaction it created (no TxnID)."
        )
    return None


def _summary_of(response: Any) -> JobResponse:
    ret = response.ret
    recovery = response.error_recovery
    total = None
    if ret is not None:
        total = getattr(ret, "total_amount", None)
        if total is None and getattr(ret, "subtotal", None) is not None:
            total = ret.subtotal + (getattr(ret, "sales_tax_total", None) or 0)

    return JobResponse(
        status_code=response.status_code,
        status_severity=response.status_severity,
        status_message=response.status_message,
        txn_id=_pick(ret, recovery, "txn_id"),
        txn_number=_pick(ret, recovery, "txn_number"),
        ref_number=_pick(ret, recovery, "ref_number"),
        edit_sequence=_pick(ret, recovery, "edit_sequence"),
        total=total,
    )


def _pick(ret: Any, recovery: Any, name: str) -> Any:
    """The Ret's *name*, else the ErrorRecovery's (either may be None), else None."""
    value = getattr(ret, name, None)
    if value is None and recovery is not None:
        value = getattr(recovery, name, None)
    return value
