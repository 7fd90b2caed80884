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
import logging
import secrets
import time
import uuid
from collections.abc import Callable
from typing import Any, Literal

from qbwc._address import check_public_url
from qbwc._passwords import LOGIN_CACHE_SECONDS, LoginCache, PasswordChecker
from qbwc._xml import DEFAULT_MAX_BYTES
from qbwc.exceptions import ConfigurationError
from qbwc.service._accounts import _DEFAULT_APP_NAME, _record_identity
from qbwc.service._base import _positive, _setting_text, _version_key, _vkey
from qbwc.service._company import CompanyMismatch
from qbwc.service._http import _HTTP
from qbwc.service._links import _Links
from qbwc.service._pulls import DEFAULT_PULL_OVERLAP, check_pull_overlap
from qbwc.service._queue import _Queue
from qbwc.store._protocol import Job, Store

__all__ = ["WebConnectorService"]

log = logging.getLogger("qbwc.service")


# --- the service ----------------------------------------------------------------------
class WebConnectorService(_HTTP, _Queue, _Links):
    """
    A QuickBooks Web Connector SOAP service over a :class:`~qbwc.store.Store`.

    Give it a store and your application's OwnerID (a GUID you generate once and
    keep), add accounts and enqueue requests; serve it with
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
        on_query_page: ``(job, rets)``, called with a query job and the typed
            Rets of each page of its result once the page is stored (before
            *on_job_done*); :meth:`query_results` reads them later too.
        on_company_mismatch: called with a :class:`CompanyMismatch`.
        on_pulled: ``(username, type, rets)``, called with the typed Rets of
            changes a pull found for a followed type (:meth:`follow`), each
            change (ID and EditSequence) once per company file (docs/pulls.md).
        on_deleted: ``(username, type, ids)``, called with the ListIDs or
            TxnIDs of delivered objects deleted in QuickBooks, once each.
        pull_overlap: how far before its cursor a pull asks again, so that
            QuickBooks' clock or a late save cannot hide a change (10 minutes;
            docs/pulls.md, "The cursor and the overlap window").
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
        on_query_page: Callable[[Job, tuple[Any, ...]], None] | None = None,
        on_company_mismatch: Callable[[CompanyMismatch], None] | None = None,
        on_pulled: Callable[[str, str, tuple[Any, ...]], None] | None = None,
        on_deleted: Callable[[str, str, tuple[str, ...]], None] | None = None,
        pull_overlap: dt.timedelta = DEFAULT_PULL_OVERLAP,
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
            SUPPORTED_VERSIONS,
            build_request,
            frame_requests,
            is_rendered,
            render_request,
        )
        from qbwc.qbxml._hcp import highest_common_version, parse_hcp_essentials  # noqa: PLC0415
        from qbwc.qbxml._json import load  # noqa: PLC0415
        from qbwc.qbxml._parse import parse_response_summary  # noqa: PLC0415

        self._build_request = build_request
        self._render_request = render_request
        self._frame_requests = frame_requests
        self._is_rendered = is_rendered
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
        self._on_query_page = on_query_page
        self._on_company_mismatch = on_company_mismatch
        self._on_pulled = on_pulled
        self._on_deleted = on_deleted
        self.pull_overlap = check_pull_overlap(pull_overlap)
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
