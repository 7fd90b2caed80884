"""
The store operations SQLite and PostgreSQL share: the statements and rows ↔ records.

:class:`SQLTransaction` implements :class:`~qbwc.store.StoreTransaction` over
any DB-API ``execute``.  A :class:`Dialect` says how one database spells what
differs (placeholders, table names, casts, upserts, the queue's row locks) and
how values are stored (timestamps, job id lists).  ``_sqlite.py`` and
``_pg_sql.py`` each define one dialect and keep what is really theirs: the
schema, the connections and (PostgreSQL) the account claim.
"""

# The statements are built here from this module's constants and a dialect's
# spelling; values always travel as parameters.
# ruff: noqa: S608

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any, Final, Literal, cast
from uuid import UUID

import attrs

from qbwc.store._protocol import (
    Account,
    InFlight,
    Job,
    JobError,
    JobResponse,
    JobStatus,
    LoginVerifier,
    SessionRecord,
    StaleSessionError,
    StoreError,
)
from qbwc.store._sql_links import LinkOperations, LinkStatements

__all__ = ["Dialect", "SQLTransaction"]

# The largest id an INTEGER (SQLite) or bigint (PostgreSQL) column holds.
_ID_MAX: Final = 2**63 - 1

_ACCOUNT_COLUMNS: Final = (
    "username",
    "password_hash",
    "file_id",
    "linked_file_id",
    "company_file",
    "company_name",
    "linked_at",
    "last_seen_at",
)
# Every job query selects the same columns, in this order (see _job).
_JOB_COLUMNS: Final = (
    "id, username, key, request, request_type, min_version, status, attempts, txn_id, "
    "response, error_code, error_message, error_reference, deferred_ticket, created_at, "
    "updated_at, qbxml, after_job, page_size, pages, records"
)
_SESSION_COLUMNS: Final = "ticket, username, state, seq, expires_at, active"
_IN_FLIGHT_COLUMNS: Final = (
    "username",
    "message_set_id",
    "job_ids",
    "kind",
    "version",
    "ticket",
    "sent_at",
)


class Dialect:
    """
    How one database spells the shared statements and stores values.

    Subclass it once per database for the value conversions (the four methods);
    the keyword arguments are the spelling.  The statements are built once, here.

    Args:
        placeholder: the parameter marker (``"?"`` or ``"%s"``).
        prefix: what every table name starts with.
        upsert: ``"replace"`` (SQLite's ``INSERT OR REPLACE`` / ``OR IGNORE``)
            or ``"on conflict"`` (``ON CONFLICT … DO UPDATE`` / ``DO NOTHING``).
        uuid_cast, json_cast: appended to a UUID or a JSON parameter.
        distinct: the null-safe "not equal" operator.
        binary_order: appended to ``ORDER BY username`` for code-point order.
        queue_lock: appended to the pending-queue query.
        returning_id: a new job's id comes from ``RETURNING id`` (else from
            the cursor's ``lastrowid``).
        hash_cost: the SQL expression of a ``scrypt$n$…`` password hash's ``n``
            (as text).
        in_flight_ids: a query of the job ids of every in-flight message set.
        max_params: the most parameters one statement may have.
    """

    def __init__(
        self,
        *,
        placeholder: str,
        prefix: str,
        upsert: Literal["replace", "on conflict"],
        uuid_cast: str = "",
        json_cast: str = "",
        distinct: str,
        binary_order: str = "",
        queue_lock: str = "",
        returning_id: bool,
        hash_cost: str,
        in_flight_ids: str,
        max_params: int = 999,
    ) -> None:
        self.placeholder = placeholder
        self.prefix = prefix
        self.upsert = upsert
        self.returning_id = returning_id
        jobs = f"{prefix}jobs"
        casts = {"file_id": uuid_cast, "linked_file_id": uuid_cast}

        self.select_accounts = self.sql(
            f"SELECT {', '.join(_ACCOUNT_COLUMNS)} FROM {prefix}accounts"
        )
        self.get_account = self.select_accounts + self.sql(" WHERE username = ?")
        self.put_account = self._upsert("accounts", _ACCOUNT_COLUMNS, casts)
        self.list_accounts = self.select_accounts + " ORDER BY username" + binary_order
        self.password_costs = (
            f"SELECT {hash_cost}, count(*) FROM {prefix}accounts "
            "WHERE substr(password_hash, 1, 7) = 'scrypt$' GROUP BY 1"
        )
        # rename_account: the account row, then everything keyed by its name.
        self.has_jobs = self.sql(f"SELECT 1 FROM {jobs} WHERE username = ? LIMIT 1")
        self.rename = tuple(
            self.sql(f"UPDATE {prefix}{table} SET username = ? WHERE username = ?")
            for table in ("accounts", "jobs", "in_flight")
        )
        self.delete_sessions_for = self.sql(f"DELETE FROM {prefix}sessions WHERE username = ?")

        verifiers = f"{prefix}login_verifiers"
        self.get_login_verifier = self.sql(
            f"SELECT username, digest, expires_at FROM {verifiers} WHERE username = ?"
        )
        self.put_login_verifier = self._upsert(
            "login_verifiers", ("username", "digest", "expires_at")
        )
        self.drop_login_verifier = self.sql(f"DELETE FROM {verifiers} WHERE username = ?")

        self.select_jobs = f"SELECT {_JOB_COLUMNS} FROM {jobs}"
        self.add_job = self._insert_new(
            "jobs",
            "username, key, request, request_type, min_version, status, created_at, updated_at, "
            "qbxml, after_job, page_size",
            "?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?",
        ) + (" RETURNING id" if returning_id else "")
        self.get_job = self.select_jobs + self.sql(" WHERE id = ?")
        self.find_job = self.select_jobs + self.sql(" WHERE username = ? AND key = ?")
        self.put_job = self.sql(
            f"UPDATE {jobs} SET status = ?, attempts = ?, txn_id = ?, response = ?{json_cast}, "
            "error_code = ?, error_message = ?, error_reference = ?, deferred_ticket = ?, "
            "updated_at = ?, qbxml = ?, pages = ?, records = ? "
            "WHERE id = ? AND username = ? AND request = ?"
        )
        # A job waiting for another (after_job) is not handed out until that one is done
        # (or gone: only finished jobs are pruned, and a failed one fails its dependents).
        self.next_pending = self.select_jobs + self.sql(
            " WHERE username = ? AND status = 'pending' "
            f"AND (deferred_ticket IS NULL OR deferred_ticket {distinct} ?) "
            f"AND (after_job IS NULL OR NOT EXISTS (SELECT 1 FROM {jobs} d "
            f"WHERE d.id = {jobs}.after_job AND d.status <> 'done')) "
            f"ORDER BY id LIMIT ?{queue_lock}"
        )
        self.dependents = self.select_jobs + self.sql(" WHERE after_job = ? ORDER BY id")
        pages = f"{prefix}query_pages"
        self.put_query_page = self._upsert_pair("query_pages", ("job_id", "page", "rets"))
        self.get_query_page = self.sql(f"SELECT rets FROM {pages} WHERE job_id = ? AND page = ?")
        self.drop_query_pages = self.sql(f"DELETE FROM {pages} WHERE job_id = ?")
        self.count_jobs = self.sql(f"SELECT count(*) FROM {jobs} WHERE username = ? AND status = ?")
        # Several statuses in one statement (at most the five there are).
        self.count_jobs_in = {
            n: self.sql(
                f"SELECT count(*) FROM {jobs} WHERE username = ? "
                f"AND status IN ({', '.join('?' * n)})"
            )
            for n in range(2, 6)
        }
        # Finished jobs only; never one of a set in flight (its answer is still awaited).
        prunable = (
            "status IN ('done', 'failed', 'cancelled') "
            f"AND updated_at < ? AND id NOT IN ({in_flight_ids})"
        )
        self.prune_jobs = self.sql(f"DELETE FROM {jobs} WHERE {prunable}")
        # Their query pages first (the same jobs: nothing else changes in between).
        self.prune_pages = self.sql(
            f"DELETE FROM {pages} WHERE job_id IN (SELECT id FROM {jobs} WHERE {prunable})"
        )

        sessions = f"{prefix}sessions"
        select_sessions = f"SELECT {_SESSION_COLUMNS} FROM {sessions}"
        self.get_session = select_sessions + self.sql(" WHERE ticket = ?")
        self.sessions_for = select_sessions + self.sql(" WHERE username = ?")
        self.insert_session = self._insert_new("sessions", _SESSION_COLUMNS, "?, ?, ?, 0, ?, ?")
        self.update_session = self.sql(
            f"UPDATE {sessions} SET state = ?, expires_at = ?, active = ?, seq = seq + 1 "
            "WHERE ticket = ? AND seq = ? AND username = ?"
        )
        self.delete_session = self.sql(f"DELETE FROM {sessions} WHERE ticket = ?")
        self.purge_sessions = self.sql(f"DELETE FROM {sessions} WHERE expires_at < ?")

        self.get_setting = self.sql(f"SELECT value FROM {prefix}settings WHERE name = ?")
        self.put_setting = self._upsert("settings", ("name", "value"))

        self.get_in_flight = self.sql(
            f"SELECT {', '.join(_IN_FLIGHT_COLUMNS)} FROM {prefix}in_flight WHERE username = ?"
        )
        self.put_in_flight = self._upsert("in_flight", _IN_FLIGHT_COLUMNS)
        self.clear_in_flight = self.sql(f"DELETE FROM {prefix}in_flight WHERE username = ?")
        # Schema version 4: linkages, pulls, pull marks (docs/service.md).
        self.links = LinkStatements(
            self, uuid_cast=uuid_cast, binary_order=binary_order, max_params=max_params
        )

    def sql(self, text: str) -> str:
        """*text* with ``?`` parameter markers in this dialect's spelling."""
        return text.replace("?", self.placeholder)

    def _upsert(
        self, table: str, columns: tuple[str, ...], casts: dict[str, str] | None = None
    ) -> str:
        # The first column is the primary key.
        casts = casts or {}
        names = ", ".join(columns)
        values = ", ".join(self.placeholder + casts.get(c, "") for c in columns)
        if self.upsert == "replace":
            return f"INSERT OR REPLACE INTO {self.prefix}{table} ({names}) VALUES ({values})"
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns[1:])
        return (
            f"INSERT INTO {self.prefix}{table} ({names}) VALUES ({values}) "
            f"ON CONFLICT ({columns[0]}) DO UPDATE SET {updates}"
        )

    def _upsert_pair(self, table: str, columns: tuple[str, str, str]) -> str:
        # Keyed by the first two columns.
        names = ", ".join(columns)
        values = ", ".join([self.placeholder] * 3)
        if self.upsert == "replace":
            return f"INSERT OR REPLACE INTO {self.prefix}{table} ({names}) VALUES ({values})"
        return (
            f"INSERT INTO {self.prefix}{table} ({names}) VALUES ({values}) "
            f"ON CONFLICT ({columns[0]}, {columns[1]}) DO UPDATE SET {columns[2]} = "
            f"EXCLUDED.{columns[2]}"
        )

    def _insert_new(self, table: str, names: str, values: str) -> str:
        # Inserts nothing (and reports no row) when a unique key is taken.
        if self.upsert == "replace":
            return self.sql(
                f"INSERT OR IGNORE INTO {self.prefix}{table} ({names}) VALUES ({values})"
            )
        return self.sql(
            f"INSERT INTO {self.prefix}{table} ({names}) VALUES ({values}) ON CONFLICT DO NOTHING"
        )

    # -- values: override per database --------------------------------------
    def stamp(self, value: dt.datetime) -> Any:
        """A timestamp as stored."""
        raise NotImplementedError

    def time(self, value: Any) -> dt.datetime:
        """A stored timestamp as an aware UTC datetime."""
        raise NotImplementedError

    def job_ids(self, ids: tuple[str, ...]) -> Any:
        """An in-flight set's job ids as stored."""
        raise NotImplementedError

    def read_job_ids(self, value: Any) -> tuple[str, ...]:
        """Stored job ids as a tuple."""
        raise NotImplementedError


class SQLTransaction(LinkOperations):
    """
    The operations of one transaction in a SQL database.

    *execute* runs one statement in *dialect*'s spelling and returns a DB-API
    cursor to fetch from (``sqlite3.Connection.execute``, psycopg 3's
    ``Connection.execute``, or a wrapper around a Django cursor).  *where*
    names the database in messages.
    """

    def __init__(
        self, execute: Callable[[str, tuple[Any, ...]], Any], dialect: Dialect, where: str
    ) -> None:
        self.execute = execute
        self.dialect = dialect
        self.where = where
        self.closed = False

    def _x(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        if self.closed:
            msg = "the transaction has ended"
            raise StoreError(msg)
        return self.execute(sql, params)

    # -- accounts ---------------------------------------------------------
    def get_account(self, username: str, *, for_update: bool = False) -> Account | None:
        # A database that claims rows overrides this for *for_update*.
        row = self._x(self.dialect.get_account, (username,)).fetchone()
        return None if row is None else self._account(row)

    def put_account(self, account: Account) -> None:
        linked_at = account.linked_at
        self._x(
            self.dialect.put_account,
            (
                account.username,
                account.password_hash,
                str(account.file_id),
                None if account.linked_file_id is None else str(account.linked_file_id),
                account.company_file,
                account.company_name,
                None if linked_at is None else self.dialect.stamp(linked_at),
                None if account.last_seen_at is None else self.dialect.stamp(account.last_seen_at),
            ),
        )

    def list_accounts(self) -> tuple[Account, ...]:
        rows = self._x(self.dialect.list_accounts).fetchall()
        return tuple(self._account(row) for row in rows)

    def password_costs(self) -> dict[int, int]:
        costs: dict[int, int] = {}
        for text, count in self._x(self.dialect.password_costs).fetchall():
            if isinstance(text, str) and text.isascii() and text.isdigit():
                costs[int(text)] = costs.get(int(text), 0) + int(count)
        return costs

    def rename_account(self, old: str, new: str) -> Account:
        d = self.dialect
        account = self.get_account(old)
        if account is None:
            msg = f"no account {old!r}"
            raise StoreError(msg)
        if self.get_account(new) is not None or any(
            self._x(statement, (new,)).fetchone() is not None
            for statement in (d.has_jobs, *d.links.has_rows)
        ):
            msg = f"account {new!r} already exists (or has jobs, links, pulls or marks)"
            raise StoreError(msg)
        for statement in (*d.rename, *d.links.rename):
            self._x(statement, (new, old))
        self._x(d.delete_sessions_for, (old,))
        self._x(d.drop_login_verifier, (old,))
        return attrs.evolve(account, username=new)

    # -- login verifiers ----------------------------------------------------
    def get_login_verifier(self, username: str) -> LoginVerifier | None:
        row = self._x(self.dialect.get_login_verifier, (username,)).fetchone()
        if row is None:
            return None
        return LoginVerifier(username=row[0], digest=row[1], expires_at=self.dialect.time(row[2]))

    def put_login_verifier(self, verifier: LoginVerifier) -> None:
        self._x(
            self.dialect.put_login_verifier,
            (verifier.username, verifier.digest, self.dialect.stamp(verifier.expires_at)),
        )

    def drop_login_verifier(self, username: str, *, refused: bool = False) -> None:
        self._x(self.dialect.drop_login_verifier, (username,))

    # -- jobs -------------------------------------------------------------
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
        d = self.dialect
        stamp = d.stamp(now)
        after_number = None
        if after is not None:
            after_number = _job_number(after)
            if after_number is None:
                msg = f"{after!r} is not a job id"
                raise StoreError(msg)
        cursor = self._x(
            d.add_job,
            (username, key, request, request_type, min_version, stamp, stamp, qbxml,
             after_number, page_size),
        )  # fmt: skip
        if d.returning_id:
            row = cursor.fetchone()
            new_id = None if row is None else row[0]
        else:
            new_id = cursor.lastrowid if cursor.rowcount == 1 else None
        if new_id is None:
            msg = f"account {username!r} already has a job with key {key!r}"
            raise StoreError(msg)
        return Job(
            id=str(new_id),
            username=username,
            key=key,
            request=request,
            request_type=request_type,
            qbxml=qbxml,
            min_version=min_version,
            created_at=d.time(stamp),
            updated_at=d.time(stamp),
            after=after,
            page_size=page_size,
        )

    def get_job(self, job_id: str) -> Job | None:
        number = _job_number(job_id)
        if number is None:
            return None
        row = self._x(self.dialect.get_job, (number,)).fetchone()
        return None if row is None else self._job(row)

    def find_job(self, username: str, key: str) -> Job | None:
        row = self._x(self.dialect.find_job, (username, key)).fetchone()
        return None if row is None else self._job(row)

    def put_job(self, job: Job) -> None:
        error = job.error
        number = _job_number(job.id)
        changed = 0
        if number is not None:
            changed = self._x(
                self.dialect.put_job,
                (
                    job.status,
                    job.attempts,
                    job.txn_id,
                    None if job.response is None else json.dumps(job.response.to_dict()),
                    None if error is None else error.code,
                    None if error is None else error.message,
                    None if error is None else error.reference,
                    job.deferred_ticket,
                    self.dialect.stamp(job.updated_at),
                    job.qbxml,
                    job.pages,
                    job.records,
                    number,
                    job.username,
                    job.request,
                ),
            ).rowcount
        if changed != 1:
            msg = f"job {job.id} does not exist (or its account or request changed)"
            raise StoreError(msg)

    def next_pending(
        self, username: str, *, limit: int, exclude_ticket: str | None = None
    ) -> tuple[Job, ...]:
        rows = self._x(self.dialect.next_pending, (username, exclude_ticket, limit)).fetchall()
        return tuple(self._job(row) for row in rows)

    def dependents(self, job_id: str) -> tuple[Job, ...]:
        number = _job_number(job_id)
        if number is None:
            return ()
        rows = self._x(self.dialect.dependents, (number,)).fetchall()
        return tuple(self._job(row) for row in rows)

    # -- query results ------------------------------------------------------
    def put_query_page(self, job_id: str, page: int, rets: str) -> None:
        number = _job_number(job_id)
        if number is None or self.get_job(job_id) is None:
            msg = f"job {job_id} does not exist"
            raise StoreError(msg)
        self._x(self.dialect.put_query_page, (number, page, rets))

    def get_query_page(self, job_id: str, page: int) -> str | None:
        number = _job_number(job_id)
        if number is None:
            return None
        row = self._x(self.dialect.get_query_page, (number, page)).fetchone()
        return None if row is None else str(row[0])

    def drop_query_pages(self, job_id: str) -> int:
        number = _job_number(job_id)
        if number is None:
            return 0
        return int(self._x(self.dialect.drop_query_pages, (number,)).rowcount)

    def count_jobs(self, username: str, status: JobStatus, *more: JobStatus) -> int:
        statuses = tuple(dict.fromkeys((status, *more)))
        sql = self.dialect.count_jobs_in.get(len(statuses), self.dialect.count_jobs)
        row = self._x(sql, (username, *statuses)).fetchone()
        return 0 if row is None else int(row[0])

    def list_jobs(
        self,
        *,
        username: str | None = None,
        status: JobStatus | None = None,
        limit: int | None = None,
        after: str | None = None,
    ) -> tuple[Job, ...]:
        where: list[str] = []
        params: list[Any] = []
        if after is not None:
            number = _job_number(after)
            if number is None:  # not a job id: nothing comes after it
                return ()
            where.append("id > ?")
            params.append(number)
        if username is not None:
            where.append("username = ?")
            params.append(username)
        if status is not None:
            where.append("status = ?")
            params.append(status)
        sql = ""
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        rows = self._x(self.dialect.select_jobs + self.dialect.sql(sql), tuple(params)).fetchall()
        return tuple(self._job(row) for row in rows)

    def prune_jobs(self, before: dt.datetime) -> int:
        self._x(self.dialect.prune_pages, (self.dialect.stamp(before),))
        cursor = self._x(self.dialect.prune_jobs, (self.dialect.stamp(before),))
        return int(cursor.rowcount)

    # -- sessions ---------------------------------------------------------
    def get_session(self, ticket: str) -> SessionRecord | None:
        row = self._x(self.dialect.get_session, (ticket,)).fetchone()
        return None if row is None else self._session(row)

    def put_session(self, record: SessionRecord, *, expected_seq: int | None) -> SessionRecord:
        d = self.dialect
        expires = d.stamp(record.expires_at)
        if expected_seq is None:
            cursor = self._x(
                d.insert_session,
                (record.ticket, record.username, record.state, expires, record.active),
            )
            if cursor.rowcount != 1:
                msg = "session changed concurrently (it already exists)"
                raise StaleSessionError(msg)
            seq = 0
        else:
            cursor = self._x(
                d.update_session,
                (record.state, expires, record.active, record.ticket, expected_seq,
                 record.username),
            )  # fmt: skip
            if cursor.rowcount != 1:
                msg = f"session changed concurrently (expected seq {expected_seq})"
                raise StaleSessionError(msg)
            seq = expected_seq + 1
        return attrs.evolve(record, seq=seq, expires_at=d.time(expires))

    def delete_session(self, ticket: str) -> None:
        self._x(self.dialect.delete_session, (ticket,))

    def sessions_for(self, username: str) -> tuple[SessionRecord, ...]:
        rows = self._x(self.dialect.sessions_for, (username,)).fetchall()
        return tuple(self._session(row) for row in rows)

    def purge_sessions(self, now: dt.datetime) -> int:
        cursor = self._x(self.dialect.purge_sessions, (self.dialect.stamp(now),))
        return int(cursor.rowcount)

    # -- settings ---------------------------------------------------------
    def get_setting(self, name: str) -> str | None:
        row = self._x(self.dialect.get_setting, (name,)).fetchone()
        return None if row is None else str(row[0])

    def put_setting(self, name: str, value: str) -> None:
        self._x(self.dialect.put_setting, (name, value))

    # -- in flight --------------------------------------------------------
    def get_in_flight(self, username: str) -> InFlight | None:
        row = self._x(self.dialect.get_in_flight, (username,)).fetchone()
        if row is None:
            return None
        return InFlight(
            username=row[0],
            message_set_id=row[1],
            job_ids=self.dialect.read_job_ids(row[2]),
            kind=cast(Literal["write", "check", "clear"], row[3]),
            version=row[4],
            ticket=row[5],
            sent_at=self.dialect.time(row[6]),
        )

    def put_in_flight(self, in_flight: InFlight) -> None:
        self._x(
            self.dialect.put_in_flight,
            (
                in_flight.username,
                in_flight.message_set_id,
                self.dialect.job_ids(in_flight.job_ids),
                in_flight.kind,
                in_flight.version,
                in_flight.ticket,
                self.dialect.stamp(in_flight.sent_at),
            ),
        )

    def clear_in_flight(self, username: str) -> None:
        self._x(self.dialect.clear_in_flight, (username,))

    # -- rows → records ---------------------------------------------------
    def _account(self, row: tuple[Any, ...]) -> Account:
        return Account(
            username=row[0],
            password_hash=row[1],
            file_id=_uuid(row[2]),
            linked_file_id=None if row[3] is None else _uuid(row[3]),
            company_file=row[4],
            company_name=row[5],
            linked_at=None if row[6] is None else self.dialect.time(row[6]),
            last_seen_at=None if row[7] is None else self.dialect.time(row[7]),
        )

    def _job(self, row: tuple[Any, ...]) -> Job:
        error = None
        if row[10] is not None:
            error = JobError(code=row[10], message=row[11] or "", reference=row[12] or "")
        return Job(
            id=str(row[0]),
            username=row[1],
            key=row[2],
            request=row[3],
            request_type=row[4],
            min_version=row[5],
            status=cast(JobStatus, row[6]),
            attempts=row[7],
            txn_id=row[8],
            response=None if row[9] is None else JobResponse.from_dict(_json(row[9])),
            error=error,
            deferred_ticket=row[13],
            created_at=self.dialect.time(row[14]),
            updated_at=self.dialect.time(row[15]),
            qbxml=row[16],
            after=None if row[17] is None else str(row[17]),
            page_size=row[18],
            pages=row[19],
            records=row[20],
        )

    def _session(self, row: tuple[Any, ...]) -> SessionRecord:
        return SessionRecord(
            ticket=row[0],
            username=row[1],
            state=row[2],
            seq=int(row[3]),
            expires_at=self.dialect.time(row[4]),
            active=bool(row[5]),
        )


def _job_number(job_id: str) -> int | None:
    """The row id a job id names, or None when no row can have it."""
    if not job_id.isascii() or not job_id.isdigit():
        return None
    number = int(job_id)
    return number if number <= _ID_MAX else None


def _json(value: Any) -> dict[str, Any]:
    # SQLite stores text; psycopg loads jsonb as a dict; Django's setup leaves it as text.
    data = json.loads(value) if isinstance(value, str | bytes) else value
    if not isinstance(data, dict):
        msg = f"a stored job response is not a JSON object: {data!r}"
        raise StoreError(msg)
    return data


def _uuid(value: Any) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))
