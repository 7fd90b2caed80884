"""The session record: the service's tally beside the core's state, stored as JSON."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import threading
from typing import Final

import attrs

from qbwc.protocol._state import Phase, SessionState
from qbwc.store._protocol import StoreError

__all__ = [
    "_EPOCH",
    "_FINISHED_PHASES",
    "_KEEP_EXPIRED",
    "_LAST_SEEN_EVERY",
    "_PARSED",
    "_PURGE_EVERY",
    "_TALLY_FIELDS",
    "_TICK",
    "_Tally",
    "_dump_record",
    "_load_record",
    "_remember",
    "_ticket_key",
    "_to_datetime",
]

log = logging.getLogger("qbwc.service")

_FINISHED_PHASES: Final = frozenset(
    {Phase.FINISHED, Phase.CLOSE_DUE, Phase.CLOSED, Phase.STALE, Phase.ERROR}
)


def _ticket_key(ticket: str) -> str:
    """
    What the store keeps of a ticket: its SHA-256 (hex).

    The clear ticket exists only in the Web Connector's hands and in the call
    being handled; whoever reads the database cannot use a stored one
    (docs/service.md, "Tickets").
    """
    return hashlib.sha256(ticket.encode("utf-8", "surrogatepass")).hexdigest()


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


def _dump_record(state: SessionState, tally: _Tally, seen_at: dt.datetime) -> str:
    """The stored text of a session: its core state and the service's tally, as JSON."""
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
        service.pop("total", None)  # a retired count, in records written before 0.1.0
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

