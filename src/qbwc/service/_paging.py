"""
Rounds that span a session: paged queries (QuickBooks iterators) and Mods whose
EditSequence the service reads itself (docs/queries.md).

Both keep their state in the job's :class:`~qbwc.store.JobResponse` (the
"cursor" fields): an iterator ID or an EditSequence read holds only in the
session (``session``) that QuickBooks gave it in.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from typing import Any, Final

import attrs
from lxml import etree

from qbwc.exceptions import ConfigurationError, QBXMLError, QBXMLValidationError
from qbwc.service._base import _Context, _Core, _positive
from qbwc.service._links import linked_id, refresh_page_links
from qbwc.service._records import _ticket_key
from qbwc.store._protocol import InFlight, Job, JobError, JobResponse

__all__ = [
    "MAX_PAGE_SIZE",
    "_Paging",
    "check_auto_edit_sequence",
    "check_page_size",
    "needs_edit_sequence",
]

log = logging.getLogger("qbwc.service")

#: The largest ``page_size`` (records per round; a page is held in memory whole).
MAX_PAGE_SIZE: Final = 10_000

#: QuickBooks: "The iteratorID is not valid" (expired, or of another session).
_BAD_ITERATOR: Final = 3391
#: QuickBooks: the EditSequence of a Mod is out of date.
_STALE: Final = 3200

_EDIT_SEQUENCE: Final = re.compile(r"<EditSequence>([^<]*)</EditSequence>")


# -- enqueue-time checks ----------------------------------------------------------------------


def check_page_size(request: object, page_size: object) -> object:
    """
    The model to check for a paged query (*request* with ``iterator="Start"`` and
    ``MaxReturned``), or *request* itself when *page_size* is None.

    Raises:
        ConfigurationError: *page_size* is out of range, *request* is no query
            with an iterator, or it sets ``max_returned`` too.
    """
    if page_size is None:
        return request
    size = _positive("page_size", page_size, 1, MAX_PAGE_SIZE)
    name = type(request).__name__
    cls = type(request)
    if not name.endswith("Query") or not attrs.has(cls):
        rule = f"only a query is paged; {name} is not one"
        raise ConfigurationError("page_size", rule)
    fields = attrs.fields_dict(cls)
    if "iterator" not in fields or "max_returned" not in fields:
        rule = f"{name} has no iterator in qbXML: leave page_size out (one answer holds it all)"
        raise ConfigurationError("page_size", rule)
    if getattr(request, "max_returned", None) is not None:
        rule = "set page_size or request.max_returned, not both (with an iterator it is the page)"
        raise ConfigurationError("page_size", rule)
    return attrs.evolve(request, iterator="Start", max_returned=size)  # type: ignore[misc]


def needs_edit_sequence(request_type: str, request: object) -> bool:
    """*request* is a Mod that leaves ``edit_sequence`` for the service to read."""
    return request_type.endswith("Mod") and getattr(request, "edit_sequence", 0) is None


def check_auto_edit_sequence(request: object) -> object:
    """
    The model to check for a Mod without ``edit_sequence`` (with a stand-in one).

    Raises:
        ConfigurationError: the Mod names no ListID or TxnID, or QuickBooks has
            no query to read its EditSequence with.
    """
    name = type(request).__name__
    if _read_query(name, request) is None:
        rule = (
            f"{name} needs an edit_sequence: the service reads it with a query for the "
            "object's ListID or TxnID, and this request has neither or no such query"
        )
        raise ConfigurationError("request.edit_sequence", rule)
    return attrs.evolve(request, edit_sequence="0")  # type: ignore[misc]


def _read_query(mod_type: str, request: object) -> tuple[str, object] | None:
    """``(query type, query model)`` that reads the EditSequence of a Mod's object."""
    from qbwc.qbxml._types import vocabulary  # noqa: PLC0415

    tables = vocabulary()
    query_type = f"{mod_type[:-3]}Query"
    if query_type not in tables.REQUESTS:
        return None
    cls = tables.model(query_type)
    fields = attrs.fields_dict(cls)
    for field, tag in (("list_id", "ListID"), ("txn_id", "TxnID")):
        value = getattr(request, field, None)
        if isinstance(value, str) and field in fields:
            extra: dict[str, Any] = {}
            if "include_ret_element" in fields:
                extra["include_ret_element"] = (tag, "EditSequence")
            return query_type, cls(**{field: (value,)}, **extra)
    return None


# -- the service's side -----------------------------------------------------------------------


class _Paging(_Core):
    """Paged queries and Mods that read their EditSequence first."""

    # (_Recovery's: the job's request model, or None with the job failed.)
    _stored_model: Callable[[_Context, Job], object | None]

    def _holds(self, ctx: _Context, cursor: JobResponse | None) -> bool:
        """*cursor* was given in this session (its iterator ID or EditSequence still holds)."""
        return cursor is not None and cursor.session == _ticket_key(ctx.ticket)

    def _needs_read(self, ctx: _Context, job: Job) -> bool:
        """A Mod without EditSequence with none read in this session: read it first."""
        if not job.request_type.endswith("Mod") or job.qbxml is not None:
            return False
        try:
            data = json.loads(job.request)
        except ValueError:
            return False  # _admit fails it
        if not isinstance(data, dict) or data.get("edit_sequence") is not None:
            return False
        cursor = job.response
        return not (self._holds(ctx, cursor) and cursor is not None and cursor.edit_sequence)

    def _read_set(self, ctx: _Context, job: Job, version: str) -> str | None:
        """
        A message set of its own that reads the EditSequence of *job*'s object.

        The job stays pending (it is not sent; a lost answer is simply asked for
        again): the set is in flight with it so that the answer finds it.
        """
        model = self._stored_model(ctx, job)
        if model is None:
            return None
        read = _read_query(job.request_type, model)
        if read is None:
            self._fail_job(ctx, job, "invalid", "no query reads this Mod's EditSequence")
            return None
        query_type, query = read
        try:
            rendered = self._render_request(query, version=version, text_policy="strict")
        except QBXMLValidationError as exc:
            self._fail_job(ctx, job, "invalid", f"cannot read its EditSequence: {exc}")
            return None
        message_set_id = self._new_message_set_id()
        data = self._frame_requests(
            [(job.id, query_type, rendered)],
            version=version,
            on_error="continueOnError",
            message_set_id=message_set_id,
        )
        ctx.tx.put_in_flight(
            InFlight(
                username=ctx.account.username,
                message_set_id=message_set_id,
                job_ids=(job.id,),
                kind="write",
                version=version,
                ticket=ctx.ticket,
                sent_at=ctx.now,
            )
        )
        log.info("job %s: reading the EditSequence of its object first", job.id)
        return data.decode("ascii")

    def _round_model(self, ctx: _Context, job: Job, model: Any) -> Any:
        """*model* as this round sends it: the iterator's next page, or the Mod with its ES."""
        cursor = job.response
        if job.page_size is not None:
            if self._holds(ctx, cursor) and cursor is not None and cursor.iterator_id:
                return attrs.evolve(
                    model,
                    iterator="Continue",
                    iterator_id=cursor.iterator_id,
                    max_returned=job.page_size,
                )
            return attrs.evolve(model, iterator="Start", max_returned=job.page_size)
        read = None if cursor is None else cursor.edit_sequence
        if read and getattr(model, "edit_sequence", 0) is None:
            return attrs.evolve(model, edit_sequence=read)
        return model

    def _record_read(self, ctx: _Context, job: Job, response: Any) -> None:
        """Keep the EditSequence QuickBooks read for *job*'s object (it stays pending)."""
        wanted = _requested(job)
        count = response.ret_count or 0
        found = _EDIT_SEQUENCE.search(response.raw or "") if response.ok and count else None
        if found is None:
            if response.ok or response.status_code == 1:
                message = (
                    f"QuickBooks has no object {wanted} to change any more (a query for it "
                    "found nothing): it was deleted or merged. Nothing was changed."
                )
                self._fail_job(ctx, job, "missing", message)
                return
            message = (
                f"QuickBooks could not read the EditSequence of {wanted} (status "
                f"{response.status_code}: {response.status_message}). Nothing was changed."
            )
            self._fail_job(ctx, job, str(response.status_code), message)
            return
        named = _ret_ids(response.raw or "")
        requested = _requested_id(job)
        if named != [requested]:
            # An answer swapped or forged: another object's EditSequence would be sent
            # with this Mod (docs/queries.md, "Mods without EditSequence").
            others = ", ".join(i or "(none)" for i in named) or "(none)"
            message = (
                f"QuickBooks answered the read of {wanted}'s EditSequence with another "
                f"object ({others}), so it was not used. Nothing was changed; retry the job "
                "to read it again."
            )
            self._report(logging.ERROR, "a read that names another object", job=job.id)
            self._fail_job(ctx, job, "mismatch", message)
            return
        cursor = JobResponse(
            status_code=response.status_code,
            status_severity=response.status_severity,
            status_message=response.status_message,
            edit_sequence=found.group(1).strip(),
            session=_ticket_key(ctx.ticket),
        )
        ctx.tx.put_job(attrs.evolve(job, response=cursor, updated_at=ctx.now))

    def _stale_edit_sequence(self, ctx: _Context, job: Job, response: Any) -> bool:
        """
        A 3200 (EditSequence out of date) for a Mod whose EditSequence the service
        read: read it again and send once more (True), unless that already happened.
        """
        if response.status_code != _STALE or not _reads_edit_sequence(job):
            return False
        again = job.error is not None and job.error.code == str(_STALE) and job.attempts >= 2
        if again:
            return False
        reference = self._report(
            logging.INFO,
            "EditSequence out of date: reading it again and sending once more",
            job=job.id,
            message=response.status_message,
        )
        error = JobError(code=str(_STALE), message=response.status_message, reference=reference)
        ctx.tx.put_job(
            attrs.evolve(job, status="pending", error=error, response=None, updated_at=ctx.now)
        )
        return True

    def _stale_message(self, job: Job, response: Any) -> str:
        return (
            f"QuickBooks refused the change twice because {_requested(job)} was changed in "
            f"QuickBooks meanwhile (status {response.status_code}: EditSequence out of date), "
            "even after reading its EditSequence again. Check the record in QuickBooks, then "
            "retry the job (it reads the EditSequence again)."
        )

    def _page_failed(self, ctx: _Context, job: Job, response: Any, summary: JobResponse) -> bool:
        """
        A paged query's round failed: start the iterator again (True), or let the
        caller fail the job (False).
        """
        restart = response.status_code == _BAD_ITERATOR or response.retryable
        if not restart or job.attempts >= self.max_attempts:
            return False
        reference = self._report(
            logging.INFO,
            "a query's iterator failed; it starts again",
            job=job.id,
            code=response.status_code,
            message=response.status_message,
        )
        cursor = attrs.evolve(job.response, iterator_id=None) if job.response else None
        ctx.tx.put_job(
            attrs.evolve(
                job,
                status="pending",
                response=cursor,
                error=JobError(
                    code=str(response.status_code),
                    message=response.status_message,
                    reference=reference,
                ),
                deferred_ticket=None if response.status_code == _BAD_ITERATOR else ctx.ticket,
                updated_at=ctx.now,
            )
        )
        return True

    def _query_page(self, ctx: _Context, job: Job, response: Any, summary: JobResponse) -> None:
        """
        Record one page of a paged query (docs/queries.md, "Iterators").

        A run that started again after a cut-off first skips what was delivered:
        up to the last record delivered (``last_id``), found by its ID near the
        position its count says; the job fails when it cannot be found there.
        """
        cursor = job.response
        sent = cursor.iterator_id if cursor is not None and self._holds(ctx, cursor) else None
        if sent is not None and response.iterator_id != sent:
            self._foreign_iterator(ctx, job, response, sent)
            return
        raw = response.raw or ""
        ids = _ret_ids(raw) if (summary.ret_count or raw.find("Ret>") >= 0) else []
        same_run = cursor is not None and cursor.iterator_id == response.iterator_id
        seen = (cursor.seen or 0) if cursor is not None and same_run else 0
        delivered = job.records
        last_id = None if cursor is None else cursor.last_id
        remaining = response.iterator_remaining_count or 0
        skip = 0
        if seen < delivered:
            # This run started again after a cut-off: skip what was delivered.
            at = _last_index(ids, last_id) if last_id is not None else None
            if at is not None:
                skip = at + 1
                if seen + skip != delivered:
                    log.info(
                        "job %s: QuickBooks' records moved since the cut-off; the last "
                        "delivered one was found by its ID",
                        job.id,
                    )
                seen = delivered - skip  # aligned from here on
            elif last_id is None and seen + len(ids) >= delivered:
                skip = delivered - seen  # no IDs to go by (IncludeRetElement): by count
                seen = delivered - skip
            elif seen + len(ids) < delivered and remaining > 0:
                skip = len(ids)  # all delivered before; keep skipping
            else:
                self._fail_job(ctx, job, "changed", _changed_message(job, last_id))
                return
        kept = ids[skip:]
        pages, records = job.pages, job.records
        page: str | None = None
        if kept:
            page = raw if skip == 0 else _drop_rets(raw, skip)
            ctx.tx.put_query_page(job.id, pages, page)
            refresh_page_links(ctx, page)  # docs/linkages.md
            pages += 1
            records += len(kept)
        seen += len(ids)
        if ids and seen > delivered:
            last_id = ids[-1] or None
        if remaining == 0 or response.iterator_id is None:
            final = attrs.evolve(summary, ret_count=records)
            self._done(ctx, attrs.evolve(job, pages=pages, records=records), response, final)
            if page is not None:
                self._notice_page(ctx, job.id, page)
            return
        cursor = attrs.evolve(
            summary,
            ret_count=records,
            iterator_id=response.iterator_id,
            iterator_remaining=remaining,
            session=_ticket_key(ctx.ticket),
            seen=seen,
            last_id=last_id,
        )
        updated = attrs.evolve(
            job,
            status="pending",
            attempts=0,
            error=None,
            response=cursor,
            pages=pages,
            records=records,
            updated_at=ctx.now,
        )
        ctx.tx.put_job(updated)
        if page is not None:
            self._notice_page(ctx, job.id, page, updated)

    def _foreign_iterator(self, ctx: _Context, job: Job, response: Any, sent: str) -> None:
        """
        An answer to ``iterator="Continue"`` that names another iterator than the one
        sent (swapped or forged): its records are not this query's. Not recorded; the
        iterator starts again (as after a 3391), up to ``max_attempts``.
        """
        message = (
            f"QuickBooks answered the next page of iterator {sent} with iterator "
            f"{response.iterator_id}: an answer to another query, not recorded."
        )
        reference = self._report(logging.ERROR, message, job=job.id)
        if job.attempts >= self.max_attempts:
            self._fail_job(ctx, job, "mismatch", f"{message} Retry the job to read it again.")
            return
        cursor = attrs.evolve(job.response, iterator_id=None) if job.response else None
        error = JobError(code="mismatch", message=message, reference=reference)
        ctx.tx.put_job(
            attrs.evolve(job, status="pending", response=cursor, error=error, updated_at=ctx.now)
        )

    def _notice_page(self, ctx: _Context, job_id: str, page: str, job: Job | None = None) -> None:
        if self._on_query_page is None:
            return
        if job is None:
            job = ctx.tx.get_job(job_id)
            if job is None:  # pragma: no cover - written just now
                return
        # The last page's notice goes before on_job_done's (which _done queued).
        notice = (self._query_page_notice(job, page), None)
        done = [i for i, (hook, _) in enumerate(ctx.notices) if hook is self._on_job_done]
        if job.status == "done" and done:
            ctx.notices.insert(done[-1], notice)
        else:
            ctx.notices.append(notice)


def _reads_edit_sequence(job: Job) -> bool:
    """*job* is a Mod queued without EditSequence (the service reads it)."""
    if not job.request_type.endswith("Mod"):
        return False
    try:
        data = json.loads(job.request)
    except ValueError:
        return False
    return isinstance(data, dict) and data.get("edit_sequence") is None


def _requested(job: Job) -> str:
    try:
        data = json.loads(job.request)
    except ValueError:
        data = {}
    value = data.get("list_id") or data.get("txn_id") if isinstance(data, dict) else None
    if value is None and job.response is not None and linked_id(job) is not None:
        by_list = job.response.list_id is not None  # a job by link (docs/linkages.md)
        return f"ListID {job.response.list_id}" if by_list else f"TxnID {job.response.txn_id}"
    return f"ListID {value}" if isinstance(data, dict) and data.get("list_id") else f"TxnID {value}"


def _requested_id(job: Job) -> str | None:
    try:
        data = json.loads(job.request)
    except ValueError:
        return None
    value = (data.get("list_id") or data.get("txn_id")) if isinstance(data, dict) else None
    return value if isinstance(value, str) else linked_id(job)


def _changed_message(job: Job, last_id: str | None) -> str:
    return (
        f"The query was cut off after {job.records:,} records (its session ended) and "
        f"QuickBooks' records changed before the cut since then: the last record delivered "
        f"({last_id}) is no longer where it was, so the rest cannot be read without "
        "delivering records twice or missing some. The records delivered so far stay in "
        "query_results; retry the job to read the whole result again."
    )


def _last_index(ids: list[str], wanted: str) -> int | None:
    for index in range(len(ids) - 1, -1, -1):
        if ids[index] == wanted:
            return index
    return None


def _rets(root: Any) -> list[Any]:
    return [child for child in root if isinstance(child.tag, str) and child.tag.endswith("Ret")]


def _page_root(raw: str) -> Any:
    from qbwc._xml import _parser  # noqa: PLC0415

    return etree.fromstring(raw, _parser())


def _ret_ids(raw: str) -> list[str]:
    """The ListID or TxnID of each record of a query's answer ("" when it has none)."""
    try:
        root = _page_root(raw)
    except (etree.XMLSyntaxError, QBXMLError):  # pragma: no cover - parsed before
        return []
    ids: list[str] = []
    for ret in _rets(root):
        ids.append((ret.findtext("ListID") or ret.findtext("TxnID") or "").strip())
    return ids


def _drop_rets(raw: str, count: int) -> str:
    """The answer *raw* without its first *count* records."""
    root = _page_root(raw)
    for ret in _rets(root)[:count]:
        root.remove(ret)
    return str(etree.tostring(root, encoding="unicode"))
