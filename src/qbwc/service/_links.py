"""
Linkages: the host's keys for QuickBooks objects, filled from answers and used to
name objects in requests (docs/linkages.md).

- :meth:`_Links.link`, :meth:`_Links.links`, :meth:`_Links.unlink`: the host's API.
- :func:`prepare_links`: what ``enqueue(..., link=)`` checks, and the model it validates
  (Refs by key and the object named by link stand in with a placeholder ID).
- :func:`link_job`: just before a job is chosen for a message set, the object its
  ``link`` names gets its ListID/TxnID (stored in the job, so that every resend goes
  to the same object) and its EditSequence (the cursor of docs/queries.md, "Mods").
- :func:`resolve_model`: the job's Refs by key replaced by ListIDs, at each render.
- :func:`record_links`: a done Add or Mod creates or refreshes its linkage, a done
  ListDel/TxnDel removes the linkages to the object, a query's answer refreshes the
  linkages to the objects it returns (:func:`refresh_links`, also for the pulls).

Only linkages of the account's current company file (``linked_file_id``) are used.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable, Iterable
from typing import Any, Final
from uuid import UUID

import attrs

from qbwc._names import check_name
from qbwc.exceptions import ConfigurationError
from qbwc.service._base import _Context, _Core
from qbwc.service._records import _ticket_key
from qbwc.store import Link
from qbwc.store._protocol import Job, JobResponse, StoreTransaction

__all__ = [
    "LINK_FIELD",
    "link_job",
    "linked_id",
    "prepare_links",
    "record_links",
    "refresh_links",
    "refresh_page_links",
    "request_data",
    "resolve_model",
]

log = logging.getLogger("qbwc.service")

#: The key of the job's request JSON that holds ``enqueue(..., link=)``.
LINK_FIELD: Final = "$link"
#: The ID a Ref by key (or a Mod by link) is validated with at enqueue.
_PLACEHOLDER: Final = "0"
_DELETES: Final = ("ListDel", "TxnDel")
_BY_LINK: Final = ("ListDel", "TxnDel", "TxnVoid")
#: QuickBooks: EditSequence out of date.
_STALE: Final = "3200"
#: More Rets than this in one answer: the account's linkages are read in one go.
_FEW: Final = 50


# -- enqueue ----------------------------------------------------------------------------------


def prepare_links(request_type: str, model: Any, link: str | None) -> tuple[Any, bool]:
    """
    ``(model to validate, rendered at send time)`` for ``enqueue(..., link=link)``.

    Raises:
        ConfigurationError: *link* on a request that is no Add, Mod, ListDel,
            TxnDel or TxnVoid, or on a Mod/Del/Void that has no ListID or TxnID.
        QBXMLValidationError: a Ref by key gives list_id or full_name too, or a
            key that is no valid name.
    """
    from qbwc.qbxml._linkage import key_refs, resolve_keys  # noqa: PLC0415

    rounds = False
    if key_refs(model):
        model = resolve_keys(model, lambda _: _PLACEHOLDER)
        rounds = True
    if link is None:
        return model, rounds
    if request_type.endswith("Add"):
        from qbwc.service._recovery import _identity_rule  # noqa: PLC0415

        if _identity_rule(request_type) is None:
            rule = (
                f"QuickBooks' answer to a {request_type} names no list object or "
                "transaction (no ListID or TxnID): there is nothing to link"
            )
            raise ConfigurationError("link", rule)
        return model, rounds
    if not (request_type.endswith("Mod") or request_type in _BY_LINK):
        rule = (
            f"{request_type} has no linkage: link names the object an Add creates or a "
            "Mod, ListDel, TxnDel or TxnVoid changes (a query's answer refreshes the "
            "linkages of the objects it returns by itself)"
        )
        raise ConfigurationError("link", rule)
    field = _id_field(type(model))
    if field is None:
        rule = f"{request_type} names no object by ListID or TxnID: it cannot be named by link"
        raise ConfigurationError("link", rule)
    if getattr(model, field) is None:
        model = attrs.evolve(model, **{field: _PLACEHOLDER})
        rounds = True
    return model, rounds


def _id_field(cls: type) -> str | None:
    names = attrs.fields_dict(cls) if attrs.has(cls) else {}
    for field in ("txn_id", "list_id"):
        if field in names:
            return field
    return None


def request_data(text: str) -> tuple[dict[str, Any], str | None]:
    """The job's request JSON as ``load`` takes it, and its ``link`` (None: none given)."""
    data = json.loads(text)
    if not isinstance(data, dict):
        return data, None
    link = data.pop(LINK_FIELD, None)
    return data, link if isinstance(link, str) else None


# -- send time --------------------------------------------------------------------------------


def _usable(link: Link | None, file_id: UUID | None) -> bool:
    return link is not None and file_id is not None and link.file_id == file_id


def _unlinked(key: str, what: str, after: str | None) -> str:
    wait = (
        f"the job it waits for (job {after}) is done but did not create it"
        if after is not None
        else "enqueue it with after= the job that creates the linkage to make it wait for it"
    )
    return (
        f"No linkage {key!r} in the company file this account is linked to ({what}), so "
        f"nothing was sent: {wait}. Link it (an Add with this key, or a Mod of the existing "
        "object by its ListID or TxnID with link= this key) and retry the job."
    )


def link_job(
    ctx: _Context, job: Job, fail: Callable[[_Context, Job, str, str], Job]
) -> Job | None:
    """
    *job* ready to be chosen: the ID (and EditSequence) of the object its link names,
    in its cursor (docs/queries.md, "Mods"), from which each render fills them in.

    None when it cannot be sent: it failed with code ``unlinked``.
    """
    if LINK_FIELD not in job.request or job.request_type.endswith("Add"):
        return job
    try:
        data, key = request_data(job.request)
    except ValueError:
        return job  # _stored_model fails it
    if key is None or not isinstance(data, dict):
        return job
    field = _model_id_field(job.request_type)
    if field is None:  # pragma: no cover - refused at enqueue
        return job
    cursor = job.response
    given = data.get(field)
    wanted = given if isinstance(given, str) else _cursor_id(cursor, field)
    link = ctx.tx.get_link(ctx.account.username, key)
    usable = _usable(link, ctx.account.linked_file_id)
    if wanted is None:
        if not usable or link is None:
            fail(ctx, job, "unlinked", _unlinked(key, "the object to change", job.after))
            return None
        wanted = link.txn_id if field == "txn_id" else link.list_id
        if wanted is None:
            kind = "transaction" if field == "txn_id" else "list object"
            message = (
                f"The linkage {key!r} names a {link.type}, not a {kind}: "
                f"{job.request_type} needs its {field}. Nothing was sent."
            )
            fail(ctx, job, "unlinked", message)
            return None
        if cursor is None:
            cursor = JobResponse(status_code=0, status_severity="Info", status_message="")
        # Kept until QuickBooks' answer: it is checked against this ID (a changed
        # linkage names another object only for a job QuickBooks did not apply).
        if field == "txn_id":
            cursor = attrs.evolve(cursor, txn_id=wanted)
        else:
            cursor = attrs.evolve(cursor, list_id=wanted)
    session = _ticket_key(ctx.ticket)
    if (
        job.request_type.endswith("Mod")
        and data.get("edit_sequence") is None
        and usable
        and link is not None
        and link.edit_sequence
        and (link.txn_id or link.list_id) == wanted
        and not (job.error is not None and job.error.code == _STALE)
        and (cursor is None or cursor.session != session or not cursor.edit_sequence)
    ):
        # The EditSequence the linkage last saw, until QuickBooks says it is out of
        # date (3200): then it is read and the Mod sent once more (docs/queries.md).
        base = cursor or JobResponse(status_code=0, status_severity="Info", status_message="")
        cursor = attrs.evolve(base, edit_sequence=link.edit_sequence, session=session)
    if cursor is not job.response:
        job = attrs.evolve(job, response=cursor)
        ctx.tx.put_job(job)
    return job


def _cursor_id(cursor: JobResponse | None, field: str) -> str | None:
    if cursor is None:
        return None
    value = cursor.txn_id if field == "txn_id" else cursor.list_id
    return value if isinstance(value, str) else None


def linked_id(job: Job) -> str | None:
    """The ListID or TxnID the job's link was resolved to (its cursor), for a job by link."""
    if LINK_FIELD not in job.request or job.response is None:
        return None
    return job.response.txn_id or job.response.list_id


def _model_id_field(request_type: str) -> str | None:
    from qbwc.qbxml._types import vocabulary  # noqa: PLC0415

    tables = vocabulary()
    if request_type not in tables.REQUESTS:
        return None
    return _id_field(tables.model(request_type))


def resolve_model(
    ctx: _Context, job: Job, model: Any, fail: Callable[[_Context, Job, str, str], Job]
) -> Any:
    """
    *model* with its Refs by key resolved, and the ID of the object its link names
    (:func:`link_job`); None when a key cannot be resolved (the job failed).
    """
    if LINK_FIELD in job.request and not job.request_type.endswith("Add"):
        field = _model_id_field(job.request_type)
        object_id = None if field is None else _cursor_id(job.response, field)
        if field is not None and object_id is not None and getattr(model, field) is None:
            model = attrs.evolve(model, **{field: object_id})
    if '"key"' not in job.request:
        return model
    from qbwc.qbxml._linkage import key_refs, resolve_keys  # noqa: PLC0415

    found = key_refs(model)
    if not found:
        return model
    file_id = ctx.account.linked_file_id
    ids: dict[str, str] = {}
    for path, key in found:
        if key in ids:
            continue
        link = ctx.tx.get_link(ctx.account.username, key)
        if not _usable(link, file_id) or link is None:
            fail(ctx, job, "unlinked", _unlinked(key, path, job.after))
            return None
        if link.list_id is None:
            message = (
                f"The linkage {key!r} ({path}) names a {link.type} transaction: a Ref "
                "takes a list object's ListID. Nothing was sent."
            )
            fail(ctx, job, "unlinked", message)
            return None
        ids[key] = link.list_id
    return resolve_keys(model, ids)


# -- answers ----------------------------------------------------------------------------------


def _type_of(job: Job, ret: Any) -> str:
    if ret is not None:
        name = type(ret).__name__
        if name.endswith("Ret"):
            return name[:-3]
    return job.request_type[:-3]


def record_links(ctx: _Context, job: Job, response: Any, summary: JobResponse) -> None:
    """Create, refresh or remove the linkages a done job's answer concerns."""
    file_id = ctx.account.linked_file_id
    if file_id is None:
        return
    username = ctx.account.username
    tx = ctx.tx
    if job.is_query:
        if job.page_size is None and summary.ret_count:
            refresh_links(tx, username, file_id, page_objects(response.raw or ""), ctx.now)
        return
    kind = job.request_type
    object_id = summary.txn_id or summary.list_id
    if kind in _DELETES:
        if object_id is not None:
            drop_links_to(tx, username, file_id, [object_id])
        return
    if not kind.endswith(("Add", "Mod")) or object_id is None:
        return
    key = _link_of(job)
    if key is None and kind.endswith("Add"):
        key = job.key
    if key is not None:
        old = tx.get_link(username, key)
        tx.put_link(
            Link(
                username=username,
                key=key,
                type=_type_of(job, response.ret),
                list_id=summary.list_id,
                txn_id=summary.txn_id,
                edit_sequence=summary.edit_sequence,
                full_name=summary.full_name
                or (old.full_name if old is not None and _same(old, summary) else None),
                file_id=file_id,
                seen_at=ctx.now,
            )
        )
    if kind.endswith("Mod"):
        # Other linkages to the same object see its new EditSequence too.  An Add's
        # object is new: no other linkage can name it yet (docs/linkages.md).
        objects = [(object_id, summary.edit_sequence, summary.full_name)]
        refresh_links(tx, username, file_id, objects, ctx.now, skip=key)


def _same(link: Link, summary: JobResponse) -> bool:
    return (link.list_id, link.txn_id) == (summary.list_id, summary.txn_id)


def _link_of(job: Job) -> str | None:
    if LINK_FIELD not in job.request:
        return None
    try:
        return request_data(job.request)[1]
    except ValueError:
        return None


#: ``(ListID or TxnID, EditSequence, FullName)`` of one object in an answer.
Seen = tuple[str, str | None, str | None]


def refresh_page_links(ctx: _Context, page: str) -> int:
    """Refresh the linkages to the objects of one stored page of a paged query."""
    file_id = ctx.account.linked_file_id
    if file_id is None:
        return 0
    return refresh_links(ctx.tx, ctx.account.username, file_id, page_objects(page), ctx.now)


def page_objects(raw: str) -> list[Seen]:
    """The objects a query's answer (the XML text of its ``…QueryRs``) returns."""
    if not raw or "Ret>" not in raw:
        return []
    from lxml import etree  # noqa: PLC0415

    from qbwc._xml import _parser  # noqa: PLC0415

    try:
        root = etree.fromstring(raw, _parser())
    except etree.XMLSyntaxError:  # pragma: no cover - parsed before
        return []
    found: list[Seen] = []
    for ret in root:
        if not isinstance(ret.tag, str) or not ret.tag.endswith("Ret"):
            continue
        object_id = (ret.findtext("ListID") or ret.findtext("TxnID") or "").strip()
        if object_id:
            found.append((object_id, ret.findtext("EditSequence"), ret.findtext("FullName")))
    return found


def object_id_of(ret: Any) -> str | None:
    """The TxnID of a transaction's Ret, the ListID of a list object's; None without one."""
    value = getattr(ret, "txn_id", None) or getattr(ret, "list_id", None)
    return value if isinstance(value, str) else None


def drop_links_to(
    tx: StoreTransaction, username: str, file_id: UUID, object_ids: Iterable[str]
) -> None:
    """Remove the linkages of *file_id* to objects deleted in QuickBooks (docs/linkages.md)."""
    for object_id in object_ids:
        for link in tx.links_to(username, object_id):
            if link.file_id == file_id:
                tx.delete_link(username, link.key)


def refresh_links(
    tx: StoreTransaction,
    username: str,
    file_id: UUID,
    rets: Iterable[Any],
    now: dt.datetime,
    *,
    skip: str | None = None,
) -> int:
    """
    Refresh the linkages to the objects of *rets* (typed Rets, or ``(ID, EditSequence,
    FullName)`` triples): their EditSequence, FullName and ``seen_at``.

    For the pulls and query answers: only linkages of *file_id* (the account's
    linked company file) change; *skip* names one left alone.  Returns how many changed.
    """
    seen: dict[str, tuple[str | None, str | None]] = {}
    for ret in rets:
        if isinstance(ret, tuple):
            object_id, edit_sequence, full_name = ret
        else:
            object_id = object_id_of(ret)
            edit_sequence = getattr(ret, "edit_sequence", None)
            full_name = getattr(ret, "full_name", None)
        if isinstance(object_id, str) and object_id:
            seen[object_id] = (
                edit_sequence if isinstance(edit_sequence, str) else None,
                full_name if isinstance(full_name, str) else None,
            )
    if not seen:
        return 0
    if len(seen) > _FEW:
        links: Iterable[Link] = [
            link
            for link in tx.list_links(username)
            if (link.list_id in seen or link.txn_id in seen)
        ]
    else:
        links = [link for object_id in seen for link in tx.links_to(username, object_id)]
    changed = 0
    for link in links:
        if link.file_id != file_id or link.key == skip:
            continue
        object_id = link.txn_id or link.list_id
        if object_id is None or object_id not in seen:  # pragma: no cover - found by it
            continue
        edit_sequence, full_name = seen[object_id]
        tx.put_link(
            attrs.evolve(
                link,
                edit_sequence=edit_sequence or link.edit_sequence,
                full_name=full_name or link.full_name,
                seen_at=now,
            )
        )
        changed += 1
    return changed


# -- the host's API ---------------------------------------------------------------------------


class _Links(_Core):
    """The host's view of the linkages: link, links, unlink."""

    def link(self, username: str, key: str) -> Link | None:
        """
        The linkage *key* of account *username* (docs/linkages.md), or None when there is none.

        Raises:
            ConfigurationError: the username or key breaks the rule of usernames and keys.
        """
        username = check_name("username", username)
        key = check_name("key", key)
        with self.store.transaction() as tx:
            return tx.get_link(username, key)

    def links(self, username: str, *, type: str | None = None) -> tuple[Link, ...]:
        """
        The account's linkages, ordered by key; with *type* (``"Customer"``,
        ``"Invoice"``...), only the linkages to objects of that type.

        Raises:
            ConfigurationError: a bad username, or *type* is not a non-empty str.
        """
        username = check_name("username", username)
        if type is not None and (not isinstance(type, str) or not type or type != type.strip()):
            raise ConfigurationError("type", "must be an object type such as 'Customer'")
        with self.store.transaction() as tx:
            return tx.list_links(username, type=type)

    def unlink(self, username: str, key: str) -> bool:
        """
        Forget the linkage *key* (the QuickBooks object stays as it is); False if there was none.

        Raises:
            ConfigurationError: the username or key breaks the rule of usernames and keys.
        """
        username = check_name("username", username)
        key = check_name("key", key)
        with self.store.transaction() as tx:
            tx.get_account(username, for_update=True)
            removed = tx.delete_link(username, key)
        if removed:
            log.info("linkage %r of %r removed", key, username)
        return removed
