"""
Pulls: what changed in QuickBooks since the last sync, delivered to the host once
(docs/pulls.md).

A follow (``service.follow``) is stored as a :class:`~qbwc.store.Follow`: its
``spec`` (JSON: the query with the host's filters, the page size) and its
``state`` (JSON: the cursors, the pull running in this session).  After the
account's queued writes, each session runs one *pull*: one message set holding,
for every followed type, its query from the cursor minus ``pull_overlap`` (an
iterator of ``page_size`` records) and its deleted-object query; further rounds
only while an iterator has pages left.  What was delivered is recognised by ID
and EditSequence (:class:`~qbwc.store.PullMark`), per company file.

Delivery (docs/pulls.md, "Delivery guarantee"): the host's hooks run after the
answer is stored, outside the store transaction; the marks of a change (and the
cursor move that passes it) are written only after its hook returned.  A hook
that raises leaves its changes unmarked and the cursor where it was, so they come
again at the next sync; a crash between a hook and that write delivers them again
(the host dedupes by ID and EditSequence).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

import attrs

from qbwc._names import check_name
from qbwc.exceptions import ConfigurationError, QBXMLError, QBXMLValidationError
from qbwc.protocol._events import AnyReply, Done, Progress
from qbwc.service._base import _Context, _Core, _positive, page_rets
from qbwc.service._links import drop_links_to, object_id_of, page_objects, refresh_links
from qbwc.service._paging import MAX_PAGE_SIZE
from qbwc.store._protocol import Follow, PullMark

__all__ = ["DEFAULT_PULL_OVERLAP", "_Pulls", "check_pull_overlap"]

log = logging.getLogger("qbwc.service")

#: The default overlap window (docs/pulls.md, "The cursor and the overlap window").
DEFAULT_PULL_OVERLAP: Final = dt.timedelta(minutes=10)
#: The longest overlap window accepted.
_MAX_OVERLAP: Final = dt.timedelta(days=7)

#: Query fields the service owns: the modified-date filter, the iterator, the page.
_OWNED: Final = frozenset(
    {"iterator", "iterator_id", "max_returned", "modified_date_range_filter",
     "from_modified_date", "to_modified_date"}
)  # fmt: skip
#: Query fields that select single objects, which qbXML does not combine with a date filter.
_SELECTORS: Final = frozenset(
    {"txn_id", "list_id", "full_name", "ref_number", "ref_number_case_sensitive",
     "txn_date_range_filter"}
)  # fmt: skip
#: QuickBooks: "The iteratorID is not valid" (expired, or of another session).
_BAD_ITERATOR: Final = 3391


def check_pull_overlap(value: object) -> dt.timedelta:
    """*value* as the service's ``pull_overlap``, or ConfigurationError."""
    if not isinstance(value, dt.timedelta) or not dt.timedelta(0) <= value <= _MAX_OVERLAP:
        raise ConfigurationError("pull_overlap", "must be a datetime.timedelta from 0 to 7 days")
    return value


@attrs.frozen
class _Kind:
    """What qbXML offers to pull one type: its query, and how its deletions are asked."""

    query_type: str
    fields: frozenset[str]
    deleted_query: str | None  # "TxnDeletedQuery", "ListDeletedQuery" or None
    deleted_types: tuple[str, ...]


_KINDS: dict[str, _Kind | None] = {}


def _kind(type_name: str) -> _Kind | None:
    """How *type_name* is pulled, or None when it cannot be (no query with a modified date)."""
    if type_name in _KINDS:
        return _KINDS[type_name]
    from qbwc.qbxml._types import specs, vocabulary  # noqa: PLC0415

    tables = vocabulary()
    query_type = f"{type_name}Query"
    kind: _Kind | None = None
    if query_type in tables.REQUESTS:
        fields = frozenset(attrs.fields_dict(tables.model(query_type)))
        if fields & {"modified_date_range_filter", "from_modified_date"}:
            deleted: str | None = None
            types: tuple[str, ...] = ()
            for query, field in (
                ("TxnDeletedQuery", "txn_del_type"),
                ("ListDeletedQuery", "list_del_type"),
            ):
                values = dict(specs(tables.model(query)))[field].values
                if type_name in values:
                    deleted, types = query, (type_name,)
                elif type_name == "Item" and query == "ListDeletedQuery":
                    deleted, types = query, tuple(v for v in values if v.startswith("Item"))
                if deleted is not None:
                    break
            kind = _Kind(query_type, fields, deleted, types)
    if len(_KINDS) < 512:  # the query types: a few hundred
        _KINDS[type_name] = kind
    return kind


def _followable() -> str:
    return (
        "a type with a …Query that has a modified-date filter, e.g. ReceivePayment, Bill, "
        "Check, CreditCardCharge, ItemReceipt, Invoice, Customer, Vendor, Item, Account, Class"
    )


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _when(value: object) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.UTC)


def _load(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _dump(data: Mapping[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


@attrs.frozen
class _Batch:
    """What one answer brings for one followed type, to hand to the host."""

    type: str
    rets: tuple[Any, ...] = ()
    deleted: tuple[str, ...] = ()
    marks: tuple[PullMark, ...] = ()  # written once the hooks returned
    finish: tuple[str | None, str | None] | None = None  # (cursor, deleted cursor) to set


class _Pulls(_Core):
    """``follow`` and the pulls that run after an account's writes (docs/pulls.md)."""

    _on_pulled: Callable[[str, str, tuple[Any, ...]], None] | None
    _on_deleted: Callable[[str, str, tuple[str, ...]], None] | None
    pull_overlap: dt.timedelta
    # (_Recovery's: the reply to a recorded receiveResponseXML.)
    _after: Callable[[_Context], AnyReply]

    # -- the host's API -----------------------------------------------------------------

    def follow(
        self,
        username: str,
        type: str,
        *,
        page_size: int = 500,
        filters: Mapping[str, object] | None = None,
    ) -> Follow:
        """
        Pull *type* (``"ReceivePayment"``, ``"Bill"``, ``"Customer"``, ``"Item"``…) for
        *username* at each sync, after its queued writes: what changed since the last
        pull goes to ``on_pulled``, what was deleted to ``on_deleted`` (docs/pulls.md).

        *filters* are keyword arguments of the type's ``…Query`` model
        (``{"entity_filter": EntityFilter(...)}``); the service owns the
        modified-date filter, the iterator and ``max_returned``.  Defaults:
        ``include_line_items=True`` where the query has it, ``active_status="All"``
        for lists.  Following a type again replaces its filters and page size; new
        filters start it from scratch (changes already delivered are not
        delivered again).

        Raises:
            ConfigurationError: no account *username*; *type* cannot be pulled;
                *page_size* is not from 1 to 10,000; a filter the query does not
                have, one the service owns, one that selects single objects, or
                a value qbXML refuses (naming ``filters.<field>``).
        """
        from qbwc.qbxml._json import dump  # noqa: PLC0415

        username = check_name("username", username)
        if not isinstance(type, str) or _kind(type) is None:
            raise ConfigurationError("type", f"must be {_followable()}")
        size = _positive("page_size", page_size, 1, MAX_PAGE_SIZE)
        query = self._pull_query(type, filters)
        spec = _dump({"page_size": size, "query": dump(query)})
        now = self._now()
        with self.store.transaction() as tx:
            if tx.get_account(username, for_update=True) is None:
                rule = f"no account {username!r}: add it first (add_account)"
                raise ConfigurationError("username", rule)
            old = tx.get_follow(username, type)
            state, file_id = None, None
            if old is not None and _load(old.spec).get("query") == dump(query):
                state, file_id = old.state, old.file_id  # same filters: the cursor holds
            follow = Follow(
                username=username,
                type=type,
                spec=spec,
                state=state,
                file_id=file_id,
                updated_at=now,
            )
            tx.put_follow(follow)
        log.info("account %r: following %s (page size %d)", username, type, size)
        return follow

    def unfollow(self, username: str, type: str) -> bool:
        """
        Stop pulling *type* for *username*; False when it was not followed.

        Raises:
            ConfigurationError: a bad username, or *type* is not a str.
        """
        username = check_name("username", username)
        if not isinstance(type, str):
            raise ConfigurationError("type", "must be an object type such as 'Bill'")
        with self.store.transaction() as tx:
            if tx.get_account(username, for_update=True) is None:
                return False
            return tx.delete_follow(username, type)

    def follows(self, username: str) -> tuple[Follow, ...]:
        """
        The types *username* follows (:class:`~qbwc.store.Follow`), ordered by type.

        Raises:
            ConfigurationError: a bad username.
        """
        username = check_name("username", username)
        with self.store.transaction() as tx:
            return tx.list_follows(username)

    def _pull_query(self, type_name: str, filters: Mapping[str, object] | None) -> Any:
        """The followed query: the host's *filters* and the defaults, checked as qbXML."""
        from qbwc.qbxml._types import vocabulary  # noqa: PLC0415

        kind = _kind(type_name)
        assert kind is not None
        if filters is None:
            filters = {}
        if not isinstance(filters, Mapping):
            raise ConfigurationError("filters", "must be a mapping of query field names to values")
        values: dict[str, Any] = {}
        for key, value in filters.items():
            if not isinstance(key, str) or key not in kind.fields:
                rule = f"{kind.query_type} has no field {key!r}"
                raise ConfigurationError(f"filters.{key}", rule)
            if key in _OWNED:
                rule = "the service sets it (the modified-date filter, the iterator, the page)"
                raise ConfigurationError(f"filters.{key}", rule)
            if key in _SELECTORS:
                rule = (
                    "selects objects by ID, name, number or date, which qbXML does not combine "
                    "with the modified-date filter a pull sends"
                )
                raise ConfigurationError(f"filters.{key}", rule)
            values[key] = value
        if "include_line_items" in kind.fields:
            values.setdefault("include_line_items", True)
        if "active_status" in kind.fields:
            values.setdefault("active_status", "All")
        try:
            query = vocabulary().model(kind.query_type)(**values)
        except (TypeError, ValueError) as exc:
            raise ConfigurationError("filters", str(exc)) from None
        try:
            self._render_request(
                self._dated(kind, query, dt.datetime(2000, 1, 1, tzinfo=dt.UTC), 1),
                version=self.max_qbxml_version,
                text_policy=self.text_policy,
            )
        except QBXMLValidationError as exc:
            path = exc.path.split(".", 1)[1] if "." in exc.path else exc.path
            raise ConfigurationError(f"filters.{path}", exc.rule) from None
        return query

    @staticmethod
    def _dated(kind: _Kind, query: Any, since: dt.datetime | None, page: int | None) -> Any:
        """*query* from *since* (None: everything), as an iterator of *page* records."""
        from qbwc.qbxml._types import vocabulary  # noqa: PLC0415

        changes: dict[str, Any] = {}
        if since is not None:
            if "modified_date_range_filter" in kind.fields:
                model = vocabulary().model("ModifiedDateRangeFilter")
                changes["modified_date_range_filter"] = model(from_modified_date=since)
            else:
                changes["from_modified_date"] = since
        if page is not None and "iterator" in kind.fields:
            changes.update(iterator="Start", max_returned=page)
        return attrs.evolve(query, **changes) if changes else query

    # -- the session's side -----------------------------------------------------------------

    def _pull_follows(self, ctx: _Context) -> list[tuple[Follow, dict[str, Any]]]:
        """The account's follows with their state for the linked file (fresh when another's)."""
        file_id = ctx.account.linked_file_id
        if file_id is None or not ctx.tally.verified:
            return []
        found = []
        for follow in ctx.tx.list_follows(ctx.account.username):
            state = _load(follow.state) if follow.file_id == file_id else {}
            found.append((follow, state))
        return found

    def _pull_due(self, ctx: _Context) -> bool:
        """A pull has yet to run (or finish) in this session."""
        if ctx.late:
            return False
        return any(state.get("pulled") != ctx.ticket for _, state in self._pull_follows(ctx))

    def _pull_set(self, ctx: _Context, version: str) -> str | None:
        """
        The next round of this session's pull (every followed type whose pull has not
        finished), stored in the follows' state; None when the pull is over.
        """
        if ctx.late:
            return None
        file_id = ctx.account.linked_file_id
        items: list[tuple[str, str, str]] = []
        changed: list[tuple[Follow, dict[str, Any]]] = []
        message_set_id = self._new_message_set_id()
        for follow, state in self._pull_follows(ctx):
            if state.get("pulled") == ctx.ticket:
                continue
            kind = _kind(follow.type)
            spec = _load(follow.spec)
            run = state.get("run")
            if not isinstance(run, dict) or run.get("session") != ctx.ticket:
                run = {"session": ctx.ticket, "started": _iso(ctx.now), "attempts": 0}
            elif run.get("sent"):
                # The answer to the last round never came: the iterator starts again.
                run["attempts"] = int(run.get("attempts", 0)) + 1
                run["iterator"] = None
                run["query_done"] = False
            problem = None
            if kind is None:
                problem = f"{follow.type} can no longer be pulled"
            elif int(run.get("attempts", 0)) >= self.max_attempts:
                problem = (
                    f"the pull of {follow.type} was cut off {run['attempts']} times in this "
                    "session (max_attempts); it starts again at the next sync"
                )
            rendered: list[tuple[str, str, str]] = []
            if problem is None and kind is not None:
                try:
                    rendered = self._pull_requests(
                        follow, kind=kind, spec=spec, state=state, run=run, version=version
                    )
                except (QBXMLError, ValueError, KeyError) as exc:
                    problem = f"the query of {follow.type} cannot be sent: {exc}"
            if problem is not None:
                self._report(logging.ERROR, "pull stopped", username=follow.username, why=problem)
                state.update(run=None, pulled=ctx.ticket, error=problem)
                changed.append((follow, state))
                continue
            if not rendered:
                state.update(run=None, pulled=ctx.ticket)
                changed.append((follow, state))
                continue
            run["sent"] = message_set_id
            state["run"] = run
            changed.append((follow, state))
            items.extend(rendered)
        for follow, state in changed:
            ctx.tx.put_follow(
                attrs.evolve(follow, state=_dump(state), file_id=file_id, updated_at=ctx.now)
            )
        if not items:
            return None
        data = self._frame_requests(
            items, version=version, on_error="continueOnError", message_set_id=message_set_id
        )
        log.info(
            "account %r: pulling %s",
            ctx.account.username,
            ", ".join(sorted({rid.rsplit("-", 1)[0] for rid, _, _ in items})),
        )
        return data.decode("ascii")

    def _pull_requests(
        self,
        follow: Follow,
        *,
        kind: _Kind,
        spec: dict[str, Any],
        state: dict[str, Any],
        run: dict[str, Any],
        version: str,
    ) -> list[tuple[str, str, str]]:
        """This round's requests of one follow: ``(request ID, type, rendered)``."""
        from qbwc.qbxml._types import vocabulary  # noqa: PLC0415

        requests: list[tuple[str, str, Any]] = []
        if not run.get("query_done"):
            stored = spec.get("query")
            # (A spec without its query, written by hand: the type's query and defaults.)
            query = self._load_request(stored) if stored else self._pull_query(follow.type, None)
            page = int(spec.get("page_size", 500))
            cursor = _when(state.get("cursor"))
            since = None if cursor is None else cursor - self.pull_overlap
            query = self._dated(kind, query, since, page)
            if run.get("iterator") and "iterator" in kind.fields:
                query = attrs.evolve(query, iterator="Continue", iterator_id=run["iterator"])
            requests.append((f"{follow.type}-q", kind.query_type, query))
        if not run.get("deleted_done"):
            if kind.deleted_query is None:
                run["deleted_done"] = True
            else:
                field = (
                    "txn_del_type" if kind.deleted_query == "TxnDeletedQuery" else "list_del_type"
                )
                changes: dict[str, Any] = {field: kind.deleted_types}
                deleted = _when(state.get("deleted"))
                if deleted is not None:
                    dates = vocabulary().model("DeletedDateRangeFilter")
                    changes["deleted_date_range_filter"] = dates(
                        from_deleted_date=deleted - self.pull_overlap
                    )
                model = vocabulary().model(kind.deleted_query)(**changes)
                requests.append((f"{follow.type}-d", kind.deleted_query, model))
        return [
            (rid, qtype, self._render_request(model, version=version, text_policy=self.text_policy))
            for rid, qtype, model in requests
        ]

    def _pull_answer(self, ctx: _Context, answer: Any) -> AnyReply | None:
        """
        Record the answer to a round of this session's pull; the reply (None: it is not one).

        New changes go to the host after the commit (see the module's docstring); the
        reply then asks for one more request, so that what the hooks enqueue is sent in
        this session.
        """
        if answer.message_set_id is None:
            return None
        mine = [
            (follow, state)
            for follow, state in self._pull_follows(ctx)
            if isinstance(state.get("run"), dict)
            and state["run"].get("sent") == answer.message_set_id
        ]
        if not mine:
            if answer.responses and all(_is_pull(r) for r in answer.responses):
                # A round of a pull that was started again since (its session was
                # replaced, or it was unfollowed): nothing to record, it is asked again.
                log.info(
                    "account %r: a late answer to pull round %s; not used",
                    ctx.account.username,
                    answer.message_set_id,
                )
                return self._after(ctx)
            return None
        if ctx.late:
            return self._after(ctx)  # a session that is over pulls nothing more
        batches: list[_Batch] = []
        for follow, state in mine:
            batch = self._pull_record(ctx, follow, state, answer)
            if batch is not None:
                batches.append(batch)
        reply = self._after(ctx)
        if batches:
            deliver = self._pull_delivery(ctx.account.username, ctx.ticket, tuple(batches))
            ctx.notices.append((deliver, None))
            if isinstance(reply, Done):
                reply = Progress(percent=99)  # (the hooks may enqueue writes)
        return reply

    def _pull_record(
        self, ctx: _Context, follow: Follow, state: dict[str, Any], answer: Any
    ) -> _Batch | None:
        """Apply one follow's answers; what to hand the host (None: nothing)."""
        run: dict[str, Any] = state["run"]
        run["sent"] = None
        username = follow.username
        file_id = ctx.account.linked_file_id
        assert file_id is not None
        rets: tuple[Any, ...] = ()
        deleted: tuple[str, ...] = ()
        marks: list[PullMark] = []
        query = answer.get(f"{follow.type}-q")
        if query is not None and not run.get("query_done"):
            if query.ok or query.status_code == 1:
                # IDs and EditSequences first (lxml alone): the typed Rets are built only
                # for a page that holds something new (the window is mostly known).
                seen = page_objects(query.raw or "") if query.ok else []
                if seen:  # the linkages to these objects (docs/linkages.md)
                    refresh_links(ctx.tx, username, file_id, seen, ctx.now)
                known = ctx.tx.get_marks(username, follow.type, [i for i, _, _ in seen])
                wanted: dict[str, str | None] = {}
                for object_id, text, _ in seen:
                    sequence = text.strip() if text is not None else None
                    mark = known.get(object_id)
                    if (
                        mark is not None
                        and mark.file_id == file_id
                        and mark.edit_sequence in (None, sequence)
                    ):
                        continue  # delivered (or deleted) already
                    wanted[object_id] = sequence
                    marks.append(self._mark(follow, object_id, sequence, file_id, ctx.now))
                fresh = []
                if wanted:
                    fresh = [r for r in page_rets(query.raw or "") if object_id_of(r) in wanted]
                rets = tuple(fresh)
                remaining = query.iterator_remaining_count or 0
                if query.iterator_id is None or remaining == 0:
                    run.update(query_done=True, iterator=None)
                else:
                    run["iterator"] = query.iterator_id
            else:
                self._pull_failed(ctx, follow, state, query)
        elif query is None and not run.get("query_done"):
            run["attempts"] = int(run.get("attempts", 0)) + 1  # not processed: again
        removed = answer.get(f"{follow.type}-d")
        if removed is not None and not run.get("deleted_done"):
            if removed.ok or removed.status_code == 1:
                gone = page_rets(removed.raw or "") if removed.ok else ()
                ids = [i for i in (object_id_of(r) for r in gone) if i is not None]
                drop_links_to(ctx.tx, username, file_id, ids)
                known = ctx.tx.get_marks(username, follow.type, ids) if ids else {}
                fresh_ids = []
                for gone_id in ids:
                    mark = known.get(gone_id)
                    # Only what was delivered is reported deleted (and only once).
                    if mark is None or mark.file_id != file_id or mark.edit_sequence is None:
                        continue
                    fresh_ids.append(gone_id)
                    marks.append(self._mark(follow, gone_id, None, file_id, ctx.now))
                deleted = tuple(fresh_ids)
                run["deleted_done"] = True
            else:
                self._pull_failed(ctx, follow, state, removed)
        elif removed is None and not run.get("deleted_done"):
            run["attempts"] = int(run.get("attempts", 0)) + 1
        finish: tuple[str | None, str | None] | None = None
        if state.get("run") is run and run.get("query_done") and run.get("deleted_done"):
            # The server's clock when this pull started: the next one asks from there
            # minus the overlap window (docs/pulls.md, "The cursor").
            started = run.get("started") or _iso(ctx.now)
            finish = None if run.get("failed") else (started, started)
            state.update(run=None, pulled=ctx.ticket, error=None)
        hooked = bool(rets and self._on_pulled is not None) or bool(
            deleted and self._on_deleted is not None
        )
        if not hooked:
            # Nothing for the host's hooks: marked and advanced now.
            if marks:
                ctx.tx.put_marks(marks)
            if finish is not None:
                state.update(cursor=finish[0], deleted=finish[1])
            finish, marks = None, []
        ctx.tx.put_follow(
            attrs.evolve(follow, state=_dump(state), file_id=file_id, updated_at=ctx.now)
        )
        if not hooked:
            return None
        return _Batch(
            type=follow.type, rets=rets, deleted=deleted, marks=tuple(marks), finish=finish
        )

    @staticmethod
    def _mark(
        follow: Follow, object_id: str, sequence: str | None, file_id: Any, now: dt.datetime
    ) -> PullMark:
        return PullMark(
            username=follow.username,
            type=follow.type,
            object_id=object_id,
            edit_sequence=sequence,
            file_id=file_id,
            seen_at=now,
        )

    def _pull_failed(
        self, ctx: _Context, follow: Follow, state: dict[str, Any], response: Any
    ) -> None:
        """A query of the pull failed: it starts again, or the pull waits for the next sync."""
        run = state.get("run")
        if not isinstance(run, dict):
            return  # (stopped already by its other query's failure)
        retry = response.status_code == _BAD_ITERATOR or response.retryable
        run["attempts"] = int(run.get("attempts", 0)) + 1
        if retry and run["attempts"] < self.max_attempts:
            log.info(
                "account %r: the pull of %s failed (%s); its query starts again",
                follow.username,
                follow.type,
                response.status_code,
            )
            run.update(iterator=None, query_done=False)
            return
        problem = (
            f"QuickBooks refused the pull of {follow.type} (status {response.status_code}: "
            f"{response.status_message}); it is asked again at the next sync"
        )
        self._report(logging.ERROR, "pull failed", username=follow.username, why=problem)
        state.update(run=None, pulled=ctx.ticket, error=problem)

    def _pull_delivery(
        self, username: str, ticket: str, batches: Sequence[_Batch]
    ) -> Callable[[Any], None]:
        """The notice that hands *batches* to the host, then marks what it took."""
        on_pulled, on_deleted = self._on_pulled, self._on_deleted

        def deliver(_: object) -> None:
            taken: list[PullMark] = []
            outcome: dict[str, bool] = {}
            for batch in batches:
                ok = True
                try:
                    if batch.rets and on_pulled is not None:
                        on_pulled(username, batch.type, batch.rets)
                    if batch.deleted and on_deleted is not None:
                        on_deleted(username, batch.type, batch.deleted)
                except Exception as exc:  # the host's hook must not break the sync
                    ok = False
                    self._report(
                        logging.ERROR,
                        "a pull hook raised; its changes come again at the next sync",
                        username=username,
                        type=batch.type,
                        error=repr(exc),
                    )
                outcome[batch.type] = ok
                if ok:
                    taken.extend(batch.marks)
            now = self._now()
            with self.store.transaction() as tx:
                account = tx.get_account(username, for_update=True)
                if account is None:
                    return
                if taken:
                    tx.put_marks(taken)
                for batch in batches:
                    ok = outcome[batch.type]
                    if ok and batch.finish is None:
                        continue
                    follow = tx.get_follow(username, batch.type)
                    if follow is None or follow.file_id != account.linked_file_id:
                        continue
                    state = _load(follow.state)
                    if ok and batch.finish is not None:
                        state.update(cursor=batch.finish[0], deleted=batch.finish[1])
                    elif not ok:
                        run = state.get("run")
                        if isinstance(run, dict) and run.get("session") == ticket:
                            run["failed"] = True  # the cursor stays: they come again
                    tx.put_follow(attrs.evolve(follow, state=_dump(state), updated_at=now))

        return deliver


def _is_pull(response: Any) -> bool:
    """*response* answers a request of a pull (``<type>-q`` or ``<type>-d``)."""
    rid = response.request_id or ""
    return response.name.endswith("QueryRs") and rid.endswith(("-q", "-d"))
