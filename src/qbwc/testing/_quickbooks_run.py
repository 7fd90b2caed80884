"""
``FakeQuickBooks`` running a message set: executing its requests, injected
status codes, error recovery (docs/protocol.md, "Error recovery"), and shaping each answer to
the request's qbXML version (``docs/testing.md``).
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Callable
from typing import Any, Final

import attrs

from qbwc.qbxml._parse import Response, Severity
from qbwc.qbxml._responses import ErrorRecovery
from qbwc.qbxml._types import Kind, Version, specs
from qbwc.testing._quickbooks_dispatch import operation
from qbwc.testing._quickbooks_objects import Engine
from qbwc.testing._quickbooks_query import Queries, with_balances
from qbwc.testing._quickbooks_read import MessageSet, Request
from qbwc.testing._quickbooks_state import Company, RecoverySlot
from qbwc.testing._quickbooks_txn import FEATURE_OFF, MODIFIED, Creation, Refusal
from qbwc.testing._quickbooks_vocab import object_type
from qbwc.testing._response_build import build_response

_CLEAR_ALL: Final = "ClearAllMessageSets"
_ERROR_RECOVERY_SINCE: Final = (11, 0)

#: Default texts for injected status codes ({txn} is Invoice or Estimate).
_STATUS_TEXTS: Final = {
    1000: "There was an internal error when processing the request.",
    1010: "The system is not available. Try again later.",
    3170: "There was an error when modifying a {txn}.  QuickBooks error message: " + MODIFIED,
    3175: "There was an error when saving a {txn}.  QuickBooks error message: Cannot "
    "proceed because the internals could not be locked.",
    3176: "There was an error when saving a {txn}.  QuickBooks error message: Failed to "
    "acquire the lock.",
    3180: "There was an error when saving a {txn}.  QuickBooks error message: " + MODIFIED,
    3250: FEATURE_OFF,
    3260: "Insufficient permission level to perform this action.",
    3261: "The integrated application has no permission to access personal data.",
}


def _severity(code: int) -> Severity:
    if 0 <= code < 500:
        return "Info"
    if code < 1000:
        return "Warn"
    return "Error"


@attrs.frozen(kw_only=True)
class ProcessedRequest:
    """
    One request QuickBooks executed (never a replay from the recovery store).

    ``txn_id`` is set when it created or changed a transaction, ``list_id``
    for a list object; ``company_file`` is the path of the file it ran against.
    """

    request_id: str | None
    request_type: str
    status_code: int
    status_message: str
    txn_id: str | None
    message_set_id: str | None
    company_file: str
    list_id: str | None = None


_NEWEST: dict[type, Version] = {}


def _newest(cls: type) -> Version:
    """The latest ``since`` of any element of *cls* and its aggregates (cached)."""
    newest = _NEWEST.get(cls)
    if newest is None:
        _NEWEST[cls] = (1, 0)  # a recursive model: what is known so far
        newest = max(
            (
                max([spec.since, *(_newest(m) for m in spec.model if spec.kind is Kind.AGG)])
                for _, spec in specs(cls)
            ),
            default=(1, 0),
        )
        _NEWEST[cls] = newest
    return newest


def trim_to_version(value: Any, version: Version) -> Any:
    """*value* (a Ret model) without the elements that *version* does not have yet."""
    if version >= _newest(type(value)):
        return value
    changes: dict[str, Any] = {}
    for name, spec in specs(type(value)):
        current = getattr(value, name)
        if spec.since > version:
            if current not in (None, ()):
                changes[name] = () if spec.many else None
            continue
        if spec.kind is not Kind.AGG or current is None:
            continue
        if spec.many:
            trimmed = tuple(trim_to_version(v, version) for v in current)
            if any(a is not b for a, b in zip(trimmed, current, strict=True)):
                changes[name] = trimmed
        else:
            trimmed_one = trim_to_version(current, version)
            if trimmed_one is not current:
                changes[name] = trimmed_one
    return attrs.evolve(value, **changes) if changes else value


def _shape(response: Response, request: Request, version: Version) -> Response:
    """The response as sent: the Rets trimmed to *version* and to ``IncludeRetElement``."""
    if not response.rets:
        return response
    wanted = getattr(request.model, "include_ret_element", ())
    answers = []
    for ret in response.rets:
        answer = trim_to_version(ret, version)
        if wanted:
            answer = _only_elements(answer, wanted)
        answers.append(answer)
    if len(answers) == 1:
        return attrs.evolve(response, ret=answers[0], rets=tuple(answers))
    return attrs.evolve(response, ret=None, rets=tuple(answers))


def _only_elements(ret: Any, wanted: tuple[str, ...]) -> Any:
    """*ret* limited to the top-level elements named in ``IncludeRetElement``."""
    keep = set(wanted)
    changes: dict[str, Any] = {}
    for name, spec in specs(type(ret)):
        if not keep.intersection(spec.tag.split("|")):
            changes[name] = () if spec.many else None
    return attrs.evolve(ret, **changes)


class MessageSetRunner:
    """
    Runs message sets against a company file: executes each request (or its
    injected status code), records what ran, and keeps the error-recovery store.
    """

    def __init__(self, now: Callable[[], dt.datetime]) -> None:
        self.now = now
        self.history: list[ProcessedRequest] = []
        self.replays = 0
        self.fail_next: deque[tuple[int, str | None]] = deque()
        self.queries = Queries()

    def run(self, ms: MessageSet, company: Company, app: str | None) -> bytes:
        # Error recovery (docs/protocol.md, "Error recovery").  One slot per application (OwnerID)
        # and company file: QuickBooks keeps the last recovery-enabled set.
        slot = company.recovery.get(app)
        if ms.status is not None:
            return build_response([], message_set_id=ms.new_id, message_set_status_code=ms.status)
        if ms.old_id is not None and not ms.requests:
            if ms.old_id == _CLEAR_ALL:
                company.recovery.pop(app, None)
                return build_response([])
            if slot is not None and slot.message_set_id == ms.old_id:
                if ms.new_id is None:
                    del company.recovery[app]
                    return build_response([])
                return self._replay(slot, ms.version)
            return build_response([], message_set_id=ms.new_id, message_set_status_code=600)
        if (
            ms.old_id is not None
            and slot is not None
            and ms.old_id in (slot.message_set_id, _CLEAR_ALL)
        ):
            del company.recovery[app]
            slot = None
        if ms.new_id is not None and slot is not None and slot.message_set_id == ms.new_id:
            if slot.checksum == ms.digest:
                return self._replay(slot, ms.version)
            return build_response([], message_set_id=ms.new_id, message_set_status_code=9001)
        responses: list[Response] = []  # with the full Rets, as stored
        answers: list[Response] = []  # as sent: at the request's version
        for request in ms.requests:
            response = self._execute(request, ms, company)
            responses.append(response)
            answers.append(_shape(response, request, ms.version))
            if ms.on_error == "stopOnError" and not response.ok:
                break
        if ms.new_id is not None and ms.requests:
            company.recovery[app] = RecoverySlot(
                message_set_id=ms.new_id,
                checksum=ms.digest,
                version=ms.version,
                responses=tuple(responses),
            )
        return build_response(answers, message_set_id=ms.new_id)

    def _replay(self, slot: RecoverySlot, version: Version) -> bytes:
        # QuickBooks keeps each request's status and the identity of what it
        # created, not the whole Ret: a recovered add answers with its status
        # and (qbXML 11.0+) an ErrorRecovery aggregate.
        self.replays += 1
        replayed = []
        for response in slot.responses:
            recovery = None
            ret = response.ret
            identity = getattr(ret, "txn_id", None) or getattr(ret, "list_id", None)
            write = response.name.endswith(("AddRs", "ModRs"))
            if write and identity is not None and version >= _ERROR_RECOVERY_SINCE:
                txn_id = getattr(ret, "txn_id", None)
                recovery = ErrorRecovery(
                    txn_id=txn_id,
                    list_id=None if txn_id is not None else ret.list_id,
                    txn_number=getattr(ret, "txn_number", None),
                    edit_sequence=getattr(ret, "edit_sequence", None),
                    external_guid=getattr(ret, "external_guid", None),
                )
            replayed.append(attrs.evolve(response, ret=None, rets=(), error_recovery=recovery))
        return build_response(replayed, message_set_id=slot.message_set_id)

    def _execute(self, request: Request, ms: MessageSet, company: Company) -> Response:
        found = operation(request.element)
        assert found is not None  # read_message_set refused the others
        op, subject = found
        what = subject.removesuffix("Query") or getattr(
            request.model, "list_del_type", None
        ) or getattr(request.model, "txn_del_type", None) or getattr(
            request.model, "txn_void_type", "object"
        )
        name = request.element[:-2] + "Rs"
        injected = self.fail_next.popleft() if self.fail_next else None
        fields: dict[str, Any] = {}
        if injected is not None and injected[0] >= 1000:
            code, message = (
                injected[0],
                injected[1]
                or _STATUS_TEXTS.get(
                    injected[0], f"Status {injected[0]} (injected by FakeQuickBooks.fail_next)."
                ).format(txn=what),
            )
        else:
            try:
                fields = self._perform(op, subject, request.model, company)
            except Refusal as refusal:
                code, message = refusal.code, refusal.message
            else:
                code = fields.pop("status_code", 0)
                message = fields.pop("status_message", "Status OK")
                if injected is not None:
                    code = injected[0]
                    message = (
                        injected[1] or f"Status {code} (injected by FakeQuickBooks.fail_next)."
                    )
        ret = fields.get("ret")
        self.history.append(
            ProcessedRequest(
                request_id=request.request_id,
                request_type=request.element,
                status_code=code,
                status_message=message,
                txn_id=getattr(ret, "txn_id", None),
                message_set_id=ms.new_id,
                company_file=company.path,
                list_id=getattr(ret, "list_id", None),
            )
        )
        return Response(
            name=name,
            request_id=request.request_id,
            status_code=code,
            status_severity=_severity(code),
            status_message=message,
            **fields,
        )

    def _perform(self, op: str, subject: str, model: Any, company: Company) -> dict[str, Any]:
        """Run one request; the Response fields it answers (status included when not 0)."""
        now = self.now()
        if op == "create":
            return {"ret": Creation(company, model, now).run()}
        engine = Engine(company, now)
        if op in ("add", "mod"):
            otype = object_type(subject)
            assert otype is not None
            ret = engine.add(otype, model) if op == "add" else engine.mod(otype, model)
            return {"ret": with_balances(company, subject, ret)}
        if op == "query":
            answer = self.queries.run(subject, model, company, now)
            out: dict[str, Any] = {
                "rets": answer.rets,
                "iterator_id": answer.iterator_id,
                "iterator_remaining_count": answer.remaining,
            }
            if answer.status_code:
                out.update(status_code=answer.status_code, status_message=answer.status_message)
            return out
        if op == "ListDel":
            ret = engine.list_del(model.list_del_type, model.list_id)
        elif op == "TxnDel":
            ret = engine.txn_del(model.txn_del_type, model.txn_id)
        else:
            ret = engine.txn_void(model.txn_void_type, model.txn_id)
        return {"ret": ret}
