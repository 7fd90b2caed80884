"""
Linkages, pulls and pull marks (schema version 4) in SQLite and PostgreSQL.

:class:`LinkStatements` spells the statements for one :class:`~qbwc.store._sql.Dialect`;
:class:`LinkOperations` is the part of :class:`~qbwc.store._sql.SQLTransaction`
that runs them (docs/service.md, "Linkages and pulls").
"""

# The statements are built here from this module's constants and a dialect's
# spelling; values always travel as parameters.
# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final
from uuid import UUID

from qbwc.store._protocol import Follow, Link, PullMark

if TYPE_CHECKING:
    from qbwc.store._sql import Dialect

__all__ = ["LinkOperations", "LinkStatements"]

_LINK_COLUMNS: Final = (
    "username",
    "key",
    "type",
    "list_id",
    "txn_id",
    "edit_sequence",
    "full_name",
    "file_id",
    "seen_at",
)
_FOLLOW_COLUMNS: Final = ("username", "type", "spec", "state", "file_id", "updated_at")
_MARK_COLUMNS: Final = ("username", "type", "object_id", "edit_sequence", "file_id", "seen_at")

#: Parameters per statement, at most: object ids per ``IN (…)`` list, and six
#: per mark of a multi-row ``INSERT`` (a database's own limit may be lower:
#: ``max_params``).  10,000 ids are read in two statements.
CHUNK: Final = 5000


class LinkStatements:
    """The statements of schema version 4, in one dialect's spelling."""

    def __init__(self, d: Dialect, *, uuid_cast: str, binary_order: str, max_params: int) -> None:
        p = d.prefix
        self.ids_per_statement = max(1, min(CHUNK, max_params - 2))
        self.marks_per_statement = max(1, min(CHUNK, max_params) // len(_MARK_COLUMNS))
        links, follows, marks = f"{p}links", f"{p}follows", f"{p}pull_marks"
        self.tables = (links, follows, marks)
        self.uuid_cast = uuid_cast
        select_links = f"SELECT {', '.join(_LINK_COLUMNS)} FROM {links} WHERE username = ?"
        self.get_link = d.sql(select_links + " AND key = ?")
        self.put_link = _upsert(d, links, _LINK_COLUMNS, 2, {"file_id": uuid_cast})
        self.delete_link = d.sql(f"DELETE FROM {links} WHERE username = ? AND key = ?")
        by_key = " ORDER BY key" + binary_order
        self.list_links = d.sql(select_links + by_key)
        self.list_links_of_type = d.sql(select_links + " AND type = ?" + by_key)
        self.links_to = d.sql(select_links + " AND (list_id = ? OR txn_id = ?)" + by_key)
        self.drop_links = d.sql(f"DELETE FROM {links} WHERE username = ?")

        select_follows = f"SELECT {', '.join(_FOLLOW_COLUMNS)} FROM {follows} WHERE username = ?"
        self.get_follow = d.sql(select_follows + " AND type = ?")
        self.put_follow = _upsert(d, follows, _FOLLOW_COLUMNS, 2, {"file_id": uuid_cast})
        self.delete_follow = d.sql(f"DELETE FROM {follows} WHERE username = ? AND type = ?")
        self.list_follows = d.sql(select_follows + " ORDER BY type" + binary_order)
        self.count_states = d.sql(
            f"SELECT count(*) FROM {follows} WHERE username = ? AND state IS NOT NULL"
        )
        self.reset_follows = d.sql(
            f"UPDATE {follows} SET state = NULL, file_id = NULL "
            "WHERE username = ? AND (state IS NOT NULL OR file_id IS NOT NULL)"
        )

        self.select_marks = d.sql(
            f"SELECT {', '.join(_MARK_COLUMNS)} FROM {marks} "
            "WHERE username = ? AND type = ? AND object_id IN "
        )
        self.drop_marks = d.sql(f"DELETE FROM {marks} WHERE username = ?")
        self.mark_table = marks
        self._d = d
        # The full-size statements, built once (the last of a batch is built when used).
        self._in_list = self._get_marks(self.ids_per_statement)
        self._put_marks = self._upsert_marks(self.marks_per_statement)

        # rename_account: the new name must have none of these rows.
        self.has_rows = tuple(
            d.sql(f"SELECT 1 FROM {table} WHERE username = ? LIMIT 1") for table in self.tables
        )
        self.rename = tuple(
            d.sql(f"UPDATE {table} SET username = ? WHERE username = ?") for table in self.tables
        )

    def get_marks(self, count: int) -> str:
        """The query of the marks of *count* object ids."""
        return self._in_list if count == self.ids_per_statement else self._get_marks(count)

    def put_marks(self, count: int) -> str:
        """The upsert of *count* marks (distinct keys) in one statement."""
        return self._put_marks if count == self.marks_per_statement else self._upsert_marks(count)

    def _get_marks(self, count: int) -> str:
        return self.select_marks + "(" + ", ".join([self._d.placeholder] * count) + ")"

    def _upsert_marks(self, count: int) -> str:
        casts = {"file_id": self.uuid_cast}
        return _upsert(self._d, self.mark_table, _MARK_COLUMNS, 3, casts, rows=count)


def _upsert(
    d: Dialect,
    table: str,
    columns: tuple[str, ...],
    keys: int,
    casts: dict[str, str],
    *,
    rows: int = 1,
) -> str:
    """Insert or replace *rows* rows keyed by the first *keys* columns."""
    names = ", ".join(columns)
    row = "(" + ", ".join(d.placeholder + casts.get(c, "") for c in columns) + ")"
    values = ", ".join([row] * rows)
    if d.upsert == "replace":
        return f"INSERT OR REPLACE INTO {table} ({names}) VALUES {values}"
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns[keys:])
    return (
        f"INSERT INTO {table} ({names}) VALUES {values} "
        f"ON CONFLICT ({', '.join(columns[:keys])}) DO UPDATE SET {updates}"
    )


class LinkOperations:
    """The :class:`~qbwc.store.StoreTransaction` methods of schema version 4, over SQL."""

    dialect: Dialect

    def _x(self, sql: str, params: tuple[Any, ...] = ()) -> Any:  # pragma: no cover
        raise NotImplementedError

    # -- linkages -----------------------------------------------------------
    def get_link(self, username: str, key: str) -> Link | None:
        row = self._x(self.dialect.links.get_link, (username, key)).fetchone()
        return None if row is None else self._link(row)

    def put_link(self, link: Link) -> None:
        self._x(
            self.dialect.links.put_link,
            (
                link.username,
                link.key,
                link.type,
                link.list_id,
                link.txn_id,
                link.edit_sequence,
                link.full_name,
                str(link.file_id),
                self.dialect.stamp(link.seen_at),
            ),
        )

    def delete_link(self, username: str, key: str) -> bool:
        return bool(self._x(self.dialect.links.delete_link, (username, key)).rowcount)

    def list_links(self, username: str, *, type: str | None = None) -> tuple[Link, ...]:
        s = self.dialect.links
        if type is None:
            rows = self._x(s.list_links, (username,)).fetchall()
        else:
            rows = self._x(s.list_links_of_type, (username, type)).fetchall()
        return tuple(self._link(row) for row in rows)

    def links_to(self, username: str, object_id: str) -> tuple[Link, ...]:
        rows = self._x(self.dialect.links.links_to, (username, object_id, object_id)).fetchall()
        return tuple(self._link(row) for row in rows)

    def drop_links(self, username: str) -> int:
        return int(self._x(self.dialect.links.drop_links, (username,)).rowcount)

    # -- pulls --------------------------------------------------------------
    def get_follow(self, username: str, type: str) -> Follow | None:
        row = self._x(self.dialect.links.get_follow, (username, type)).fetchone()
        return None if row is None else self._follow(row)

    def put_follow(self, follow: Follow) -> None:
        self._x(
            self.dialect.links.put_follow,
            (
                follow.username,
                follow.type,
                follow.spec,
                follow.state,
                None if follow.file_id is None else str(follow.file_id),
                self.dialect.stamp(follow.updated_at),
            ),
        )

    def delete_follow(self, username: str, type: str) -> bool:
        return bool(self._x(self.dialect.links.delete_follow, (username, type)).rowcount)

    def list_follows(self, username: str) -> tuple[Follow, ...]:
        rows = self._x(self.dialect.links.list_follows, (username,)).fetchall()
        return tuple(self._follow(row) for row in rows)

    def reset_follows(self, username: str) -> int:
        s = self.dialect.links
        row = self._x(s.count_states, (username,)).fetchone()
        self._x(s.reset_follows, (username,))
        return 0 if row is None else int(row[0])

    def get_marks(self, username: str, type: str, object_ids: Sequence[str]) -> dict[str, PullMark]:
        s = self.dialect.links
        wanted = list(dict.fromkeys(object_ids))
        found: dict[str, PullMark] = {}
        size = s.ids_per_statement
        for start in range(0, len(wanted), size):
            chunk = wanted[start : start + size]
            rows = self._x(s.get_marks(len(chunk)), (username, type, *chunk)).fetchall()
            for row in rows:
                mark = self._mark(row)
                found[mark.object_id] = mark
        return {object_id: found[object_id] for object_id in wanted if object_id in found}

    def put_marks(self, marks: Sequence[PullMark]) -> None:
        # One row per key (the last wins): PostgreSQL refuses to update a row twice in a statement.
        rows = list({(m.username, m.type, m.object_id): m for m in marks}.values())
        stamp = self.dialect.stamp
        size = self.dialect.links.marks_per_statement
        for start in range(0, len(rows), size):
            chunk = rows[start : start + size]
            params: list[Any] = []
            for m in chunk:
                params += (
                    m.username, m.type, m.object_id, m.edit_sequence, str(m.file_id),
                    stamp(m.seen_at),
                )  # fmt: skip
            self._x(self.dialect.links.put_marks(len(chunk)), tuple(params))

    def drop_marks(self, username: str) -> int:
        return int(self._x(self.dialect.links.drop_marks, (username,)).rowcount)

    # -- rows → records -------------------------------------------------------
    def _link(self, row: tuple[Any, ...]) -> Link:
        return Link(
            username=row[0],
            key=row[1],
            type=row[2],
            list_id=row[3],
            txn_id=row[4],
            edit_sequence=row[5],
            full_name=row[6],
            file_id=_uuid(row[7]),
            seen_at=self.dialect.time(row[8]),
        )

    def _follow(self, row: tuple[Any, ...]) -> Follow:
        return Follow(
            username=row[0],
            type=row[1],
            spec=row[2],
            state=row[3],
            file_id=None if row[4] is None else _uuid(row[4]),
            updated_at=self.dialect.time(row[5]),
        )

    def _mark(self, row: tuple[Any, ...]) -> PullMark:
        return PullMark(
            username=row[0],
            type=row[1],
            object_id=row[2],
            edit_sequence=row[3],
            file_id=_uuid(row[4]),
            seen_at=self.dialect.time(row[5]),
        )


def _uuid(value: Any) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))
