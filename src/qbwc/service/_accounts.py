"""Accounts: adding, passwords, logins, renaming, disconnecting, QWC files."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import TYPE_CHECKING, Any, Final, final

import attrs

from qbwc._names import check_name, is_name
from qbwc.exceptions import ConfigurationError
from qbwc.service._passwords import Login, check_login
from qbwc.store._protocol import Account, InFlight, Job, JobError, Store, StoreTransaction

if TYPE_CHECKING:
    from qbwc.qwc import QWCConfig


from qbwc.service._base import _Core
from qbwc.service._records import _LAST_SEEN_EVERY, _TICK
from qbwc.service._relink import forget_company_state

__all__ = [
    "APP_NAME_SETTING",
    "OWNER_ID_SETTING",
    "_DEFAULT_APP_NAME",
    "Disconnection",
    "_Accounts",
    "_record_identity",
]

log = logging.getLogger("qbwc.service")


@final
@attrs.frozen(kw_only=True)
class Disconnection:
    """
    What :meth:`WebConnectorService.disconnect` did.

    ``account`` is the account as now stored (not linked to any company file).
    ``unconfirmed_jobs`` are the writes that were in flight with the company
    file it was linked to: QuickBooks may have saved them there, so they were
    never sent anywhere else; each is now failed with code ``unconfirmed`` and
    a message naming that file (check there, then retry).  Usually empty.
    ``links``, ``cursors`` and ``marks`` say how many linkages were removed, how
    many pull cursors reset (the follow declarations stay: the pulls start from
    scratch with the next linked file) and how many delivered-change marks removed.
    """

    account: Account
    unconfirmed_jobs: tuple[Job, ...] = ()
    links: int = 0
    cursors: int = 0
    marks: int = 0


_DEFAULT_APP_NAME: Final = "the application"
#: The store settings that hold the application's identity (docs/service.md).
OWNER_ID_SETTING: Final = "owner_id"
APP_NAME_SETTING: Final = "app_name"


def _record_identity(store: Store, owner_id: uuid.UUID, app_name: str | None) -> str:
    """
    Record *owner_id* (first start) and *app_name* (when given) in *store*; return the name.

    Raises:
        ConfigurationError: the store was set up with another OwnerID.
    """
    with store.transaction() as tx:
        stored = tx.get_setting(OWNER_ID_SETTING)
        if stored is None:
            tx.put_setting(OWNER_ID_SETTING, str(owner_id))
        elif stored.strip("{}").lower() != str(owner_id):
            given, kept = str(owner_id).upper(), stored.strip("{}").upper()
            rule = (
                f"{{{given}}} differs from the OwnerID this database was set up with "
                f"({{{kept}}}), which its QWC files and company-file stamps carry; start the "
                f"service with owner_id={{{kept}}}, or give a new application its own database"
            )
            raise ConfigurationError("owner_id", rule)
        stored_name = tx.get_setting(APP_NAME_SETTING)
        if app_name is None:
            return stored_name or _DEFAULT_APP_NAME
        if stored_name != app_name:
            tx.put_setting(APP_NAME_SETTING, app_name)
        return app_name


class _Accounts(_Core):
    """Accounts: logins, passwords, the company-file link, QWC files."""

    # -- accounts -----------------------------------------------------------------------

    def add_account(self, username: str, password: str | None = None) -> Account:
        """
        Create the account *username* (the QWC ``UserName``) and return it.

        *password* is stored as a salted scrypt hash; leave it out when an
        ``authenticator`` checks logins.  The account gets a fresh FileID for
        its QWC file.

        Raises:
            ConfigurationError: the username breaks the rule of usernames (see
                ``docs/service.md``) or is already taken.
        """
        username = check_name("username", username)
        hashed = None if password is None else self._hash(password)
        from qbwc.qwc import new_file_id  # noqa: PLC0415

        with self.store.transaction() as tx:
            existing = tx.get_account(username, for_update=True)
            if existing is not None and existing.password_hash is not None:
                raise ConfigurationError("username", f"{username!r} already exists")
            if existing is None:
                account = Account(username=username, password_hash=hashed, file_id=new_file_id())
            else:
                account = attrs.evolve(existing, password_hash=hashed)
            tx.put_account(account)
        log.info("account %r added", username)
        return account

    def set_password(self, username: str, password: str) -> None:
        """
        Change the account's password; the next sync must use the new one.

        Raises:
            ConfigurationError: there is no such account (or the name is not a valid
                username).
        """
        username = check_name("username", username)
        hashed = self._hash(password)
        with self.store.transaction() as tx:
            account = tx.get_account(username, for_update=True)
            if account is None:
                raise ConfigurationError("username", f"no account {username!r}")
            tx.put_account(attrs.evolve(account, password_hash=hashed))
            tx.drop_login_verifier(username)
        log.info("account %r: password changed", username)

    def _hash(self, password: str) -> str:
        if not isinstance(password, str) or not password:
            raise ConfigurationError("password", "must be a non-empty str")
        return self._passwords.hash(password)

    def account(self, username: str) -> Account | None:
        """
        The account, or None when there is no account *username*.

        Raises:
            ConfigurationError: *username* is not a valid username.
        """
        username = check_name("username", username)
        with self.store.transaction() as tx:
            return tx.get_account(username)

    def accounts(self) -> tuple[Account, ...]:
        """Every account, by username."""
        with self.store.transaction() as tx:
            return tx.list_accounts()

    def disconnect(self, username: str, *, new_file_id: bool = False) -> Disconnection:
        """
        Unlink the account from its company file: the next sync binds the file it finds.

        The next sync binds to the open company file if it carries this
        account's FileID stamp (the user added the account's QWC file with it
        open).  *new_file_id* also issues a new FileID, for a company file
        that needs a fresh QWC file (see ``docs/service.md``).

        The account's sessions end (their tickets expire).  Writes in flight
        with the old company file (QuickBooks' answer never arrived) are never
        sent to another file: they fail with code ``unconfirmed``, naming the
        old file, and come back in :attr:`Disconnection.unconfirmed_jobs`.
        In the same transaction the account's linkages and delivered-change
        marks are removed and its pulls' cursors reset (the declarations stay):
        whichever file is linked next, pulls start from scratch and deliver
        everything again, once (counted in the :class:`Disconnection`).

        Raises:
            ConfigurationError: there is no such account.
        """
        from qbwc.qwc import new_file_id as fresh_file_id  # noqa: PLC0415

        username = check_name("username", username)
        now = self._now()
        unconfirmed: list[Job] = []
        waiting: list[Job] = []  # jobs waiting for an unconfirmed one fail with it (dependency)
        with self.store.transaction() as tx:
            account = tx.get_account(username, for_update=True)
            if account is None:
                raise ConfigurationError("username", f"no account {username!r}")
            in_flight = tx.get_in_flight(username)
            if in_flight is not None:
                unconfirmed = self._unconfirm_at_disconnect(tx, account, in_flight, now)
                waiting = [w for job in unconfirmed for w in self._fail_waiting(tx, job, now)]
                tx.clear_in_flight(username)
            for record in tx.sessions_for(username):
                if record.expires_at >= now:
                    # Ended; the record stays a while, so a late answer is still recorded.
                    tx.put_session(
                        attrs.evolve(record, expires_at=now - _TICK, active=False),
                        expected_seq=record.seq,
                    )
            account = attrs.evolve(
                account,
                linked_file_id=None,
                company_file=None,
                company_name=None,
                linked_at=None,
                file_id=fresh_file_id() if new_file_id else account.file_id,
            )
            tx.put_account(account)
            tx.drop_login_verifier(username)
            links, cursors, marks = forget_company_state(tx, username)
        if unconfirmed:
            log.warning(
                "account %r disconnected from its company file; %d job(s) in flight with it "
                "may exist there and were failed as unconfirmed: %s",
                username,
                len(unconfirmed),
                ", ".join(job.id for job in unconfirmed),
            )
        else:
            log.info("account %r disconnected from its company file", username)
        log.info(
            "account %r: %d link(s) removed, %d pull cursor(s) reset, %d mark(s) removed",
            username,
            links,
            cursors,
            marks,
        )
        if self._on_job_failed is not None:
            self._notify([(self._on_job_failed, job) for job in [*unconfirmed, *waiting]])
        return Disconnection(
            account=account,
            unconfirmed_jobs=tuple(unconfirmed),
            links=links,
            cursors=cursors,
            marks=marks,
        )

    def _unconfirm_at_disconnect(
        self, tx: StoreTransaction, account: Account, in_flight: InFlight, now: dt.datetime
    ) -> list[Job]:
        """Fail the writes in flight with the file *account* is being unlinked from."""
        if account.company_name or account.company_file:
            where = f'"{account.company_name or "(no name)"}"'
            if account.company_file:
                where += f" ({account.company_file})"
        else:
            where = "the company file the account was linked to"
        message = (
            f"May exist in {where}: the account was disconnected before QuickBooks' answer "
            "arrived. Check it there, then retry it."
        )
        failed: list[Job] = []
        for job_id in in_flight.job_ids:
            job = tx.get_job(job_id)
            if job is None or job.status != "sent":
                continue
            reference = self._report(
                logging.WARNING,
                "job failed",
                job=job.id,
                key=job.key,
                username=job.username,
                code="unconfirmed",
                message=message,
                message_set=in_flight.message_set_id,
            )
            job = attrs.evolve(
                job,
                status="failed",
                error=JobError(code="unconfirmed", message=message, reference=reference),
                deferred_ticket=None,
                qbxml=None,
                updated_at=now,
            )
            tx.put_job(job)
            failed.append(job)
        return failed

    def rename_account(self, old: str, new: str) -> Account:
        """
        Give the account *old* the username *new* (e.g. the customer's login email changed).

        The account keeps its password, FileID and company-file link, its jobs
        (queued, sent and finished), the message set in flight and its linkages,
        pulls and delivered marks; sessions of *old* end (their tickets go stale:
        a sync running under the old name stops, and the next one continues;
        docs/service.md, "Renaming an account").  Its QWC file from :meth:`qwc` has
        the same FileID and OwnerID with the new UserName: added in the Web
        Connector, it replaces the application, and the company file's stamp
        still matches.  One transaction: all of it happens, or none.

        Raises:
            ConfigurationError: *old* is not an account, or *new* is empty or
                already taken.
        """
        old = check_name("old", old)
        new = check_name("new", new)
        with self.store.transaction() as tx:
            # Claim both names in a fixed order: two renames cannot deadlock.
            claimed = {name: tx.get_account(name, for_update=True) for name in sorted({old, new})}
            if claimed[old] is None:
                raise ConfigurationError("old", f"no account {old!r}")
            if claimed[new] is not None:
                raise ConfigurationError("new", f"{new!r} already exists")
            if tx.list_jobs(username=new, limit=1):
                raise ConfigurationError("new", f"{new!r} already has jobs")
            account = tx.rename_account(old, new)
        log.info("account %r renamed to %r", old, new)
        return account

    def qwc_config(
        self,
        username: str,
        *,
        app_url: str,
        app_support: str,
        app_name: str | None = None,
        app_description: str = "",
        run_every: dt.timedelta | str | None = None,
        cert_url: str | None = None,
    ) -> QWCConfig:
        """
        The :class:`~qbwc.qwc.QWCConfig` of the account's QWC file.

        Raises:
            ConfigurationError: no such account, or a value breaks a QWC rule.
        """
        from qbwc.qwc import QWCConfig  # noqa: PLC0415

        account = self.account(username)
        if account is None:
            raise ConfigurationError("username", f"no account {username!r}")
        return QWCConfig(
            app_name=app_name or self.app_name,
            app_url=app_url,
            app_support=app_support,
            app_description=app_description,
            user_name=username,
            owner_id=self.owner_id,
            file_id=account.file_id,
            scheduler=run_every,
            cert_url=cert_url,
        )

    def qwc(
        self,
        username: str,
        *,
        app_url: str,
        app_support: str,
        app_name: str | None = None,
        app_description: str = "",
        run_every: dt.timedelta | str | None = None,
        cert_url: str | None = None,
    ) -> bytes:
        """
        The account's QWC file: the same bytes every time, until its FileID changes.

        Raises:
            ConfigurationError: no such account, or a value breaks a QWC rule.
        """
        config = self.qwc_config(
            username,
            app_url=app_url,
            app_support=app_support,
            app_name=app_name,
            app_description=app_description,
            run_every=run_every,
            cert_url=cert_url,
        )
        return config.to_xml()

    # -- authenticate --------------------------------------------------------------------

    def _check_login(self, username: str, password: str) -> Login:
        """
        Check a login: a login verifier, else exactly one scrypt, whoever asks.

        See :class:`~qbwc.service._passwords.PasswordChecker` (docs/service.md, "Passwords").
        """
        if not is_name(username):  # never an account (and some names no store can look up)
            if self._authenticator is None:
                self._passwords.check(username, password, None, ())
            return Login(ok=False)
        if self._authenticator is not None:
            return Login(ok=bool(self._authenticator(username, password)))
        return check_login(
            checker=self._passwords,
            cache=self._login_cache,
            store=self.store,
            username=username,
            password=password,
            now=self._now(),
        )

    def _read_password_costs(self) -> dict[int, int]:
        with self.store.transaction() as tx:
            return tx.password_costs()

    @staticmethod
    def _logged_in(
        tx: StoreTransaction, account: Account, login: Login, now: dt.datetime
    ) -> Account:
        """
        Store the login time (unless stored less than _LAST_SEEN_EVERY ago), the rehashed
        password unless it changed meanwhile, and a new login verifier.
        """
        changes: dict[str, Any] = {}
        seen = account.last_seen_at
        if seen is None or not dt.timedelta(0) <= now - seen < _LAST_SEEN_EVERY:
            changes["last_seen_at"] = now
        if login.rehash is not None and account.password_hash == login.rehash[0]:
            changes["password_hash"] = login.rehash[1]
        if changes:
            account = attrs.evolve(account, **changes)
            tx.put_account(account)
        if login.verifier is not None:
            tx.put_login_verifier(login.verifier)
        return account
