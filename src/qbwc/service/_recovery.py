"""Message sets, error recovery, late answers and applying QuickBooks' answers to jobs."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any, Final

import attrs

from qbwc._budget import XMLLimitError
from qbwc.exceptions import QBXMLError, QBXMLValidationError, RemoteProtocolError, XMLParseError
from qbwc.protocol._events import AnyReply, Done, Failed, Progress, ReceiveResponseXMLCall
from qbwc.service import _texts as texts
from qbwc.service._base import _Context, _vkey
from qbwc.service._links import link_job, linked_id, request_data, resolve_model
from qbwc.service._paging import _Paging
from qbwc.service._pulls import _Pulls
from qbwc.store._protocol import InFlight, Job, JobError, JobResponse

__all__ = ["_Recovery", "_identity", "_mismatch", "_newest_field", "_pick", "_summary_of"]

log = logging.getLogger("qbwc.service")


class _Recovery(_Paging, _Pulls):
    """Message sets, error recovery, late answers and applying QuickBooks' answers."""

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
                in_flight = attrs.evolve(in_flight, kind="check")
                data = self._build_request(
                    [],
                    version=in_flight.version,
                    message_set_id=in_flight.message_set_id,
                    old_message_set_id=in_flight.message_set_id,
                    on_error="continueOnError",
                )
            tx.put_in_flight(attrs.evolve(in_flight, ticket=ctx.ticket, sent_at=ctx.now))
            return data.decode("ascii")
        chosen: list[tuple[Job, str]] = []
        chosen_ids: set[str] = set()
        stop = False
        while len(chosen) < self.batch_size and not stop:
            # Jobs refused by _admit are failed at once, so each query moves on;
            # chosen ones are still pending until the set is built.
            batch = tx.next_pending(username, limit=self.batch_size, exclude_ticket=ctx.ticket)
            fresh = [job for job in batch if job.id not in chosen_ids]
            if not fresh:
                break
            for job in fresh[: self.batch_size - len(chosen)]:
                linked = link_job(ctx, job, self._fail_job)  # docs/linkages.md
                if linked is None:
                    continue
                job = linked  # noqa: PLW2901
                if self._needs_read(ctx, job):
                    # A Mod without EditSequence: read it in a round of its own, just
                    # before the Mod is sent (docs/queries.md, "Mods").
                    if chosen:
                        stop = True
                        break
                    read = self._read_set(ctx, job, version)
                    if read is not None:
                        return read
                    continue
                rendered = self._admit(ctx, job, version)
                if rendered is not None:
                    chosen.append((job, rendered))
                    chosen_ids.add(job.id)
        if not chosen:
            # No writes left in this session: the pull (docs/pulls.md).
            return self._pull_set(ctx, version)
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
                attrs.evolve(
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
                    self._round_model(ctx, job, model),
                    version=version,
                    text_policy=self.text_policy,
                )
            except QBXMLValidationError as exc:
                self._fail_job(ctx, job, "invalid", f"cannot be written as qbXML {version}: {exc}")
                return None
        elif not self._is_rendered(job.request_type, rendered):
            self._fail_job(
                ctx,
                job,
                "invalid",
                f"the stored qbXML is damaged (not ASCII, or not the shape of a "
                f"{job.request_type}); retry the job to render it again from its request",
            )
            return None
        return rendered

    def _stored_model(self, ctx: _Context, job: Job) -> object | None:
        """The job's request model, rebuilt from its JSON; if it cannot be, None (job failed)."""
        try:
            model: object = self._load_request(request_data(job.request)[0])
        except (QBXMLError, ValueError) as exc:
            self._fail_job(ctx, job, "invalid", f"the stored request cannot be read: {exc}")
            return None
        resolved: object | None = resolve_model(ctx, job, model, self._fail_job)  # Refs by key
        return resolved

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
            ctx.fail(texts.UNREADABLE_ANSWER, reference)
            return Failed(code=-2)
        if in_flight is None or answer.message_set_id != in_flight.message_set_id:
            pulled = self._pull_answer(ctx, answer)  # a round of the pull (docs/pulls.md)
            if pulled is not None:
                return pulled
        # The answer is to the set in flight when it names its message-set ID, whichever
        # session holds the set now (a later session's status query carries the same ID);
        # an answer naming no ID counts only from the session that was handed the set.
        if in_flight is None or not (
            answer.message_set_id == in_flight.message_set_id
            or (answer.message_set_id is None and holder)
        ):
            return self._unmatched(ctx, answer, in_flight)
        cleared = False  # this transaction clears the set in flight
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
            cleared = True
        elif in_flight.kind == "check":
            self._recovered(ctx, in_flight, answer)
        else:
            code = answer.message_set_status_code
            if code not in (None, 0) and not answer.responses:
                self._unconfirmed(ctx, in_flight, code)
                ctx.tx.clear_in_flight(username)
                cleared = True
            else:
                unmatched = self._apply(ctx, in_flight.job_ids, answer)
                if unmatched:
                    # Answers that do not answer their request prove nothing: those
                    # jobs stay in flight, and QuickBooks is asked for their stored
                    # answers before anything else is sent.
                    ctx.tx.put_in_flight(
                        attrs.evolve(in_flight, job_ids=tuple(job.id for job, _ in unmatched))
                    )
                else:
                    ctx.tx.clear_in_flight(username)
                    cleared = True
        return self._after(ctx, cleared=cleared)

    def _after(self, ctx: _Context, *, cleared: bool = False) -> AnyReply:
        """The answer to a receiveResponseXML that was recorded (Done for a late one)."""
        return Done() if ctx.late else self._progress(ctx, cleared=cleared)

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
                suspects.append(f"{response.request_id}: {response.name} {_identity(summary)}")
                continue
            if job.is_query or response.name.endswith("QueryRs"):
                # A query (or the read before a Mod) writes nothing: asked again if lost.
                continue
            if (
                job.status == "done"
                and job.response is not None
                and (_identity(job.response) == _identity(summary))
            ):
                continue  # already recorded
            settles = job.status == "pending" or (
                job.status == "failed" and job.error is not None and job.error.code == "unconfirmed"
            )
            if settles and _mismatch(job, response, summary) is None:
                log.warning(
                    "job %s: a late answer says QuickBooks saved it (%s); recorded as done",
                    job.id,
                    _identity(summary),
                )
                self._done(ctx, job, response, summary)
                continue
            suspects.append(f"job {job.id} ({job.status}): {response.name} {_identity(summary)}")
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
        ctx.fail(texts.possible_duplicate(suspects, self.app_name), reference)
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
        ctx.fail(texts.processor_failed(call.hresult, call.message), reference)
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
                    ctx.tx.put_job(attrs.evolve(job, status="pending", updated_at=ctx.now))
            ctx.tx.clear_in_flight(username)
            return
        if code in (None, 0) and answer.responses:
            log.info(
                "account %r: recovered the stored answer to message set %s",
                username,
                in_flight.message_set_id,
            )
            writes = self._ask_queries_again(ctx, in_flight.job_ids)
            # (A read before a Mod is read again: a replayed answer may lack its Rets.)
            for job, reason in self._apply(ctx, writes, answer, reads=False):
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
            attrs.evolve(in_flight, kind="clear", job_ids=(), ticket=ctx.ticket, sent_at=ctx.now)
        )

    def _ask_queries_again(self, ctx: _Context, job_ids: Sequence[str]) -> list[str]:
        """
        Put the sent queries among *job_ids* back in the queue; return the other ids.

        A query whose answer was lost needs no recovery: it is simply asked again
        (docs/service.md, "Queries").
        """
        writes: list[str] = []
        for job_id in job_ids:
            job = ctx.tx.get_job(job_id)
            if job is not None and job.is_query:
                if job.status == "sent" and job.attempts >= self.max_attempts:
                    # Lost every time (an answer over max_body_bytes is refused each
                    # time it comes): asking again forever would hold the account.
                    self._fail_job(ctx, job, "lost", self._lost_message(job))
                    continue
                if job.status == "sent":
                    # A paged query starts its iterator again (QuickBooks may have moved
                    # it on): what was delivered is skipped (docs/queries.md).
                    cursor = job.response
                    if job.page_size is not None and cursor is not None:
                        cursor = attrs.evolve(cursor, iterator_id=None)
                    ctx.tx.put_job(
                        attrs.evolve(job, status="pending", response=cursor, updated_at=ctx.now)
                    )
                continue
            writes.append(job_id)
        return writes

    def _lost_message(self, job: Job) -> str:
        what = "A page of" if job.page_size is not None else "The answer to"
        kept = ""
        if job.records:
            kept = f" The {job.records:,} records delivered stay in query_results."
        smaller = "a smaller page_size" if job.page_size is not None else "page_size"
        return (
            f"{what} this query never arrived from QuickBooks in {job.attempts} sends "
            f"(max_attempts): the Web Connector stopped each time, or the answer was larger "
            f"than max_body_bytes ({self.max_body_bytes:,} bytes) and refused.{kept} Enqueue "
            f"it again with {smaller}, or raise max_body_bytes and retry this job."
        )

    def _unconfirmed(self, ctx: _Context, in_flight: InFlight, code: int | None) -> None:
        for job_id in self._ask_queries_again(ctx, in_flight.job_ids):
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

    def _apply(
        self, ctx: _Context, job_ids: Sequence[str], answer: Any, *, reads: bool = True
    ) -> list[tuple[Job, str]]:
        """
        Record each job's response from a qbXML response set.

        Returns the jobs whose response does not answer their request (another
        element than ``<request type>Rs``, or a success without the ListID or TxnID
        it must carry), each with what was wrong, untouched: such an answer proves
        nothing (docs/service.md).
        """
        unmatched: list[tuple[Job, str]] = []
        for job_id in job_ids:
            job = ctx.tx.get_job(job_id)
            if job is None:
                continue
            response = answer.get(job_id)
            if job.status == "pending" and response is not None:
                if reads and response.name.endswith("QueryRs") and self._needs_read(ctx, job):
                    self._record_read(ctx, job, response)  # the read before a Mod
                continue
            if job.status != "sent":
                continue
            if response is None:
                # Not processed (QuickBooks stopped before it): send it again later.
                ctx.tx.put_job(attrs.evolve(job, status="pending", updated_at=ctx.now))
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
                if job.page_size is not None:
                    self._query_page(ctx, job, response, summary)
                else:
                    self._done(ctx, job, response, summary)
                continue
            if job.page_size is not None and self._page_failed(ctx, job, response, summary):
                continue
            if self._stale_edit_sequence(ctx, job, response):
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
                    attrs.evolve(
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
                ctx.tally = attrs.evolve(ctx.tally, deferred=ctx.tally.deferred + 1)
                continue
            message = response.status_message
            if response.status_code == 3200 and _auto_edit_sequence(job):
                message = self._stale_message(job, response)
            self._fail_job(ctx, job, code, message, response=summary)
        return unmatched

    def _progress(self, ctx: _Context, *, cleared: bool = False) -> AnyReply:
        """
        Progress (0-99) while there is more to do in this session, else Done.

        *cleared*: this transaction has just cleared the set in flight (so it is not
        read again).
        """
        username = ctx.account.username
        in_flight = not cleared and ctx.tx.get_in_flight(username) is not None
        more = in_flight or bool(ctx.tx.next_pending(username, limit=1, exclude_ticket=ctx.ticket))
        if not more and not self._pull_due(ctx):
            return Done()
        processed = ctx.tally.processed
        remaining = ctx.tx.count_jobs(username, "pending")
        percent = processed * 100 // max(1, processed + remaining)
        return Progress(percent=max(0, min(99, percent)))


def _auto_edit_sequence(job: Job) -> bool:
    from qbwc.service._paging import _reads_edit_sequence  # noqa: PLC0415

    return _reads_edit_sequence(job)


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

    A ``…Rq`` is answered by the ``…Rs`` of the same type (docs/service.md, "Any
    request").  A success of an Add or Mod whose answer holds a list object or a
    transaction carries its ListID or TxnID (a Mod's: the one it changed); a
    ListDel, TxnDel or TxnVoid carries the ID it deleted or voided.
    """
    expected = f"{job.request_type}Rs"
    if response.name != expected:
        return (
            f"QuickBooks answered its {job.request_type}Rq (requestID {job.id}) with "
            f"{response.name} (status {response.status_code}), not {expected}."
        )
    if not response.ok:
        return None
    rule = _ID_RULES.get(job.request_type, _ABSENT)
    if rule is _ABSENT:
        rule = _identity_rule(job.request_type)
    if rule is None:
        return None
    field, what = rule
    if field == "txn_id":
        answered = summary.txn_id
    else:
        answered = summary.list_id if field == "list_id" else summary.txn_id or summary.list_id
    if answered is None:
        tag = {"txn_id": "TxnID", "list_id": "ListID"}.get(field, "ListID or TxnID")
        done = "saved" if what in ("created", "changed") else what
        return (
            f"QuickBooks said it {done} it (status {response.status_code}) but did not say "
            f"which {_object_word(field)} it {what} (no {tag})."
        )
    if what == "created":
        return None
    requested = _requested_id(job)
    if requested is not None and answered != requested:
        return (
            f"QuickBooks said it {what} {answered} (status {response.status_code}), but the "
            f"request was for {requested}."
        )
    return None


_ABSENT: Final[Any] = object()
# Del and Void requests: the ID their answer carries (and the request names).
_DELETES: Final = {"ListDel": "list_id", "TxnDel": "txn_id", "TxnVoid": "txn_id"}
_ID_RULES: dict[str, tuple[str, str] | None] = {
    "InvoiceAdd": ("txn_id", "created"),
    "EstimateAdd": ("txn_id", "created"),
}


def _identity_rule(request_type: str) -> tuple[str, str] | None:
    """
    ``(ID field, verb)`` a success of *request_type* must carry, or None.

    The field is ``txn_id``, ``list_id`` or ``either`` (an Add or Mod whose answer
    may hold either kind of object).
    """
    if request_type in _ID_RULES:
        return _ID_RULES[request_type]
    rule: tuple[str, str] | None = None
    if request_type.endswith("Query"):
        pass  # a query needs no recovery (docs/service.md, "Queries")
    elif request_type in _DELETES:
        rule = (_DELETES[request_type], "voided" if request_type == "TxnVoid" else "deleted")
    elif request_type.endswith(("Add", "Mod")):
        from qbwc.qbxml._types import vocabulary  # noqa: PLC0415

        tables = vocabulary()
        fields: set[str] = set()
        for name in tables.RESPONSES.get(f"{request_type}Rs", ()):
            names = attrs.fields_dict(tables.model(name))
            fields.update(f for f in ("txn_id", "list_id") if f in names)
        if fields:
            field = fields.pop() if len(fields) == 1 else "either"
            rule = (field, "created" if request_type.endswith("Add") else "changed")
    if len(_ID_RULES) < 1024:  # the request types: a few hundred
        _ID_RULES[request_type] = rule
    return rule


def _object_word(field: str) -> str:
    if field == "txn_id":
        return "transaction"
    return "list object" if field == "list_id" else "object"


def _requested_id(job: Job) -> str | None:
    """The ListID or TxnID a Mod, Del or Void names (None for an Add)."""
    if job.request_type.endswith("Add"):
        return None
    try:
        data = json.loads(job.request)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    value = data.get("txn_id") or data.get("list_id") or linked_id(job)
    return value if isinstance(value, str) else None


def _identity(summary: JobResponse) -> str | None:
    """The TxnID or ListID an answer names."""
    return summary.txn_id or summary.list_id


def _summary_of(response: Any) -> JobResponse:
    ret = response.ret
    recovery = response.error_recovery
    total = None
    if ret is not None:
        total = getattr(ret, "total_amount", None)
        if total is None and getattr(ret, "subtotal", None) is not None:
            total = ret.subtotal + (getattr(ret, "sales_tax_total", None) or 0)
    list_id = _pick(ret, recovery, "list_id") if _has_list_id(ret, recovery) else None
    txn_id = _pick(ret, recovery, "txn_id")
    # (A ListDel, TxnDel or TxnVoid answer names its object in its typed Ret too, the
    # ListDelRet, TxnDelRet or TxnVoidRet whose fields sit directly in the …Rs.)
    query = response.name.endswith("QueryRs")
    return JobResponse(
        status_code=response.status_code,
        status_severity=response.status_severity,
        status_message=response.status_message,
        txn_id=txn_id,
        txn_number=_pick(ret, recovery, "txn_number"),
        ref_number=_pick(ret, recovery, "ref_number"),
        edit_sequence=_pick(ret, recovery, "edit_sequence"),
        total=total,
        list_id=list_id,
        full_name=_full_name(ret),
        # (A summary counts a query's Rets; a full parse has them.)
        ret_count=(len(response.rets) if response.ret_count is None else response.ret_count)
        if query
        else None,
    )


def _full_name(ret: Any) -> str | None:
    """The Ret's FullName (a list object's), for its linkage (docs/linkages.md)."""
    value = getattr(ret, "full_name", None)
    return value if isinstance(value, str) else None


def _has_list_id(ret: Any, recovery: Any) -> bool:
    """The Ret (or, without one, the ErrorRecovery) may carry a ListID."""
    if ret is None or recovery is not None:
        return recovery is not None
    return hasattr(ret, "list_id")


def _pick(ret: Any, recovery: Any, name: str) -> Any:
    """The Ret's *name*, else the ErrorRecovery's (either may be None), else None."""
    value = getattr(ret, name, None)
    if value is None and recovery is not None:
        value = getattr(recovery, name, None)
    return value
