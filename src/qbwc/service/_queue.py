"""The job queue: enqueue, job, jobs, query_results, retry, cancel, prune."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterator
from typing import Any

import attrs

from qbwc._names import check_name
from qbwc.exceptions import ConfigurationError
from qbwc.service._base import _MAX_PAGE, _Core, _dependency_message, _positive, page_rets
from qbwc.service._links import LINK_FIELD, prepare_links, request_data
from qbwc.service._paging import check_auto_edit_sequence, check_page_size, needs_edit_sequence
from qbwc.service._recovery import _newest_field
from qbwc.store._protocol import JOB_STATUSES, Account, Job, JobStatus, StoreTransaction

__all__ = ["_Queue"]

log = logging.getLogger("qbwc.service")


class _Queue(_Core):
    """The queue: enqueue, look up, retry, cancel and prune jobs."""

    # -- jobs -----------------------------------------------------------------------------

    def enqueue(
        self,
        username: str,
        request: object,
        *,
        key: str | None = None,
        after: Job | str | None = None,
        page_size: int | None = None,
        link: str | None = None,
    ) -> Job:
        """
        Queue *request* (any request model: an Add, Mod, ListDel, TxnDel, TxnVoid, Query...).

        The request is validated now, at the newest qbXML version this service
        writes, so a bad one fails here and not at the bookkeeper's desk.  With
        *key* (your own unique ID, e.g. ``"invoice-1042"``) enqueueing again is
        harmless: the existing job comes back.  A write goes through QuickBooks'
        error recovery (exactly once); a query is simply asked again when its
        answer is lost, and its records are read with :meth:`query_results` (or
        the ``on_query_page`` hook).

        *page_size* (a query): run it as a QuickBooks iterator, *page_size*
        records per round, across as many rounds (and sessions) as it takes;
        each page reaches ``on_query_page`` and :meth:`query_results` when it
        arrives, and memory holds one page at a time (docs/queries.md).

        A Mod may leave ``edit_sequence`` out: the service reads the object's
        current EditSequence just before sending it (and once more after a
        3200, "out of date"; docs/queries.md, "Mods").

        *link* (docs/linkages.md): the linkage this write is about.  A done Add
        creates or refreshes the linkage *link* (default: *key*) to the object it
        created; a Mod, ListDel, TxnDel or TxnVoid may leave its ListID/TxnID (and
        EditSequence) out and name its object by *link*: the service fills them in
        when it is sent.  A ``Ref(key=...)`` anywhere in the request is replaced by
        the linked object's ListID when it is sent; a key that names no linkage of
        the account's company file then fails the job (code ``unlinked``) before
        anything is sent, so give ``after=`` the job that creates it.

        *after* (a job of the same account, or its id): this job is not sent
        before that one is done; if that one fails or is cancelled, this one
        fails too (code ``dependency``) and is never sent (docs/service.md,
        "Ordering").

        With the built-in accounts (no ``authenticator``) the account must
        exist (:meth:`add_account`); with an ``authenticator`` an unknown
        username gets an account here, which shows as "never connected"
        until the Web Connector logs in with it.

        Raises:
            QBXMLValidationError: the request breaks a qbXML rule.
            ConfigurationError: *key* is already used for a different request;
                the username or key breaks the rule of usernames and keys (see
                ``docs/service.md``); no account *username* (built-in accounts);
                *after* is no job of this account; a query sets ``iterator``;
                *page_size* is not from 1 to 10,000, or the request is no query
                with an iterator, or sets ``max_returned`` too; a Mod without
                ``edit_sequence`` names no ListID or TxnID QuickBooks can query;
                *link* is given for a request that is no Add, Mod, ListDel, TxnDel
                or TxnVoid, or breaks the rule of keys.
        """
        from qbwc.qbxml._json import dump  # noqa: PLC0415
        from qbwc.qbxml._request_kinds import request_since  # noqa: PLC0415

        username = check_name("username", username)
        if key is not None:
            key = check_name("key", key)
        after_id = _job_id_of("after", after)
        if getattr(request, "iterator", None) is not None or (
            getattr(request, "iterator_id", None) is not None
        ):
            rule = "the service runs iterators itself: leave iterator and iterator_id unset"
            raise ConfigurationError("request.iterator", rule)
        if link is not None:
            link = check_name("link", link)
        checked = check_page_size(request, page_size)
        rounds = checked is not request  # rendered for each round (docs/queries.md)
        # Refs by key and objects named by link: rendered when sent (docs/linkages.md).
        checked, by_link = prepare_links(type(request).__name__, checked, link)
        rounds = rounds or by_link
        if needs_edit_sequence(type(request).__name__, request):
            checked = check_auto_edit_sequence(checked)
            rounds = True
        # Checked and rendered once, here: a sync only puts the rendered text into
        # message sets (the same at every version that has the request's fields).
        qbxml: str | None = self._render_request(
            checked, version=self.max_qbxml_version, text_policy=self.text_policy
        )
        if rounds:
            qbxml = None
        data = dump(request)
        if link is not None:
            data[LINK_FIELD] = link
        text = json.dumps(data, sort_keys=True, separators=(",", ":"))
        needs, _ = _newest_field(checked, type(request).__name__)
        needs = max(needs, request_since(type(request)))
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
            waits_for = None
            if after_id is not None:
                waits_for = tx.get_job(after_id)
                if waits_for is None or waits_for.username != username:
                    rule = f"no job {after_id} of account {username!r} to wait for"
                    raise ConfigurationError("after", rule)
            if key is not None:
                existing = tx.find_job(username, key)
                if existing is not None:
                    if (existing.request, existing.after, existing.page_size) != (
                        text,
                        after_id,
                        page_size,
                    ):
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
                after=after_id,
                page_size=page_size,
            )
            if waits_for is not None and waits_for.status in ("failed", "cancelled"):
                # It can never be sent: it fails now, as it would have when that one ended.
                job = self._failed(tx, job, "dependency", _dependency_message(waits_for), now)
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

    def query_results(self, job_id: str) -> Iterator[Any]:
        """
        The typed Rets of a query job's result, page by page as the store keeps them.

        Memory holds one page at a time.  A query that is not done yet yields
        the pages stored so far (none before its answer arrives).

        Raises:
            ConfigurationError: there is no such job, or it is not a query.
        """
        with self.store.transaction() as tx:
            job = self._existing_job(tx, job_id)
        if not job.is_query:
            rule = f"job {job.id} is a {job.request_type}, not a query: it has no results"
            raise ConfigurationError("job_id", rule)
        return self._pages(job.id)

    def _pages(self, job_id: str) -> Iterator[Any]:
        page = 0
        while True:
            with self.store.transaction() as tx:
                text = tx.get_query_page(job_id, page)
            if text is None:
                return
            yield from page_rets(text)
            page += 1

    def retry(self, job_id: str) -> Job:
        """
        Put a failed job back in the queue (after fixing what QuickBooks refused).

        Careful with code ``unconfirmed``: QuickBooks may have saved it; check
        first, or it may be created twice.  The jobs that failed because they
        wait for this one (code ``dependency``) come back with it, and are
        sent after it is done.  A retried query starts again from nothing.

        Raises:
            ConfigurationError: there is no such job, or it has not failed, or
                it waits for a job that failed or was cancelled (retry that one).
        """
        now = self._now()
        with self.store.transaction() as tx:
            job = self._existing_job(tx, job_id)
            if job.status != "failed":
                raise ConfigurationError("job_id", f"job {job.id} is {job.status}, not failed")
            if job.after is not None:
                waits_for = tx.get_job(job.after)
                if waits_for is not None and waits_for.status in ("failed", "cancelled"):
                    rule = (
                        f"job {job.id} waits for job {waits_for.id}, which is "
                        f"{waits_for.status}: retry job {waits_for.id} (this one comes back "
                        "with it)"
                        if waits_for.status == "failed"
                        else f"job {job.id} waits for job {waits_for.id}, which was cancelled; "
                        "it can never be sent (enqueue it again without that dependency)"
                    )
                    raise ConfigurationError("job_id", rule)
            job = self._requeue(tx, job, now)
            todo = [job]
            while todo:
                for waiting in tx.dependents(todo.pop().id):
                    if (
                        waiting.status == "failed"
                        and waiting.error is not None
                        and waiting.error.code == "dependency"
                    ):
                        todo.append(self._requeue(tx, waiting, now))
        log.info("job %s requeued", job.id)
        return job

    def _requeue(self, tx: StoreTransaction, job: Job, now: dt.datetime) -> Job:
        response = job.response
        if job.is_query:
            tx.drop_query_pages(job.id)
            response = None  # (a paged query's iterator and position go too)
        job = attrs.evolve(
            job,
            response=response,
            status="pending",
            attempts=0,
            deferred_ticket=None,
            updated_at=now,
            pages=0,
            records=0,
        )
        tx.put_job(job)
        return job

    def cancel(self, job_id: str) -> Job:
        """
        Cancel a pending job: it becomes ``cancelled`` and is never sent.

        The jobs waiting for it (``after``) fail with code ``dependency``.

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
            now = self._now()
            job = attrs.evolve(
                job, status="cancelled", deferred_ticket=None, qbxml=None, updated_at=now
            )
            tx.put_job(job)
            failed = self._fail_waiting(tx, job, now)
        log.info("job %s cancelled", job.id)
        if self._on_job_failed is not None:
            self._notify([(self._on_job_failed, waiting) for waiting in failed])
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

        return load(request_data(job.request)[0])


def _job_id_of(field: str, value: object) -> str | None:
    """The job id *value* names (a Job or an id), None for None."""
    if value is None:
        return None
    if isinstance(value, Job):
        return value.id
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return str(value)
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
        return value
    raise ConfigurationError(field, f"{value!r} is not a job (a Job, or a job id: digits)")
