"""
Where a :class:`~qbwc.WebConnectorService` keeps accounts, the job queue and sessions.

:class:`MemoryStore` is for tests and single-process use; :class:`SQLiteStore`
is the embedded default (several worker processes on one machine);
:class:`PostgresStore` serves several machines from one database (the
``postgres`` extra: it and its helpers, ``postgres_upgrade`` and friends, are
imported on first use, so ``import qbwc.store`` never needs psycopg).  All
implement the :class:`Store` protocol, which is all the service relies on.
See ``docs/service.md`` and ``docs/scale-out.md``.
"""

from __future__ import annotations

from qbwc.store._memory import MemoryStore as MemoryStore
from qbwc.store._protocol import JOB_STATUSES as JOB_STATUSES
from qbwc.store._protocol import Account as Account
from qbwc.store._protocol import Follow as Follow
from qbwc.store._protocol import InFlight as InFlight
from qbwc.store._protocol import Job as Job
from qbwc.store._protocol import JobError as JobError
from qbwc.store._protocol import JobResponse as JobResponse
from qbwc.store._protocol import JobStatus as JobStatus
from qbwc.store._protocol import Link as Link
from qbwc.store._protocol import LoginVerifier as LoginVerifier
from qbwc.store._protocol import PullMark as PullMark
from qbwc.store._protocol import SessionRecord as SessionRecord
from qbwc.store._protocol import StaleSessionError as StaleSessionError
from qbwc.store._protocol import Store as Store
from qbwc.store._protocol import StoreError as StoreError
from qbwc.store._protocol import StoreTransaction as StoreTransaction
from qbwc.store._sqlite import SCHEMA_VERSION as SCHEMA_VERSION
from qbwc.store._sqlite import SQLiteStore as SQLiteStore

# --- PostgreSQL (the ``postgres`` extra): imported on first use, so that
# ``import qbwc.store`` never imports psycopg.
# isort: split
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qbwc.store._postgres import POSTGRES_SCHEMA_VERSION as POSTGRES_SCHEMA_VERSION
    from qbwc.store._postgres import PostgresStore as PostgresStore
    from qbwc.store._postgres import SchemaStatus as SchemaStatus
    from qbwc.store._postgres import postgres_migrations as postgres_migrations
    from qbwc.store._postgres import postgres_status as postgres_status
    from qbwc.store._postgres import postgres_upgrade as postgres_upgrade

_POSTGRES_NAMES = frozenset(
    {
        "POSTGRES_SCHEMA_VERSION",
        "PostgresStore",
        "SchemaStatus",
        "postgres_migrations",
        "postgres_status",
        "postgres_upgrade",
    }
)


def __getattr__(name: str) -> Any:
    if name in _POSTGRES_NAMES:
        try:
            from qbwc.store import _postgres  # noqa: PLC0415
        except ImportError as exc:
            msg = (
                f"qbwc.store.{name} needs psycopg 3 and psycopg-pool: "
                f"pip install 'qbwc-toolkit[postgres]' ({exc})"
            )
            raise ImportError(msg) from exc
        return getattr(_postgres, name)
    msg = f"module 'qbwc.store' has no attribute {name!r}"
    raise AttributeError(msg)


__all__ = [
    "JOB_STATUSES",
    "SCHEMA_VERSION",
    "Account",
    "Follow",
    "InFlight",
    "Job",
    "JobError",
    "JobResponse",
    "JobStatus",
    "Link",
    "LoginVerifier",
    "MemoryStore",
    "PullMark",
    "SQLiteStore",
    "SessionRecord",
    "StaleSessionError",
    "Store",
    "StoreError",
    "StoreTransaction",
]
