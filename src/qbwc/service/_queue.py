"""The job queue: enqueue, job, jobs, retry, cancel, prune."""

from __future__ import annotations

import datetime as dt
import json
import logging

import attrs

from qbwc._names import check_name
from qbwc.exceptions import ConfigurationError
from qbwc.service._base import _MAX_PAGE, _Core, _positive
from qbwc.service._recovery import _newest_field
from qbwc.store._protocol import JOB_STATUSES, Account, Job, JobStatus, StoreTransaction

__all__ = ["_Queue"]

log = logging.getLogger("qbwc.service")


class _Queue(_Core):
    """The queue: enqueue, look up, retry, cancel and prune jobs."""

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
