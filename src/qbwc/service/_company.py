"""The company-file binding: the FileID stamp, version negotiation, mismatches (docs/service.md)."""

from __future__ import annotations

import logging
import uuid
from typing import final

import attrs

from qbwc._budget import XMLLimitError
from qbwc._events import SendRequestXMLCall
from qbwc.exceptions import QBXMLError, RemoteProtocolError, XMLParseError
from qbwc.service import _texts as texts
from qbwc.service._base import _Context, _Core
from qbwc.service._relink import forget_company_state

__all__ = ["CompanyMismatch", "_Company"]

log = logging.getLogger("qbwc.service")


@final
@attrs.frozen(kw_only=True)
class CompanyMismatch:
    """
    A sync found another company file open than the one the account is linked to.

    Passed to the ``on_company_mismatch`` hook.  Nothing was sent to QuickBooks.
    ``linked_*`` are None when the account is not linked yet (the open file
    carries no stamp, or another QWC file's).
    """

    username: str
    linked_file_id: uuid.UUID | None
    linked_company_file: str | None
    linked_company_name: str | None
    open_file_id: uuid.UUID | None
    open_company_file: str
    open_company_name: str
    reference: str


class _Company(_Core):
    """The company-file binding: version negotiation, the FileID stamp, mismatches."""

    def _check_company(self, ctx: _Context, call: SendRequestXMLCall) -> str | None:
        """Negotiate the version and verify the company file; a message when refused."""
        username = ctx.account.username
        try:
            hcp = self._parse_hcp(call.hcp_response, self.owner_id)
        except XMLLimitError as exc:
            raise RemoteProtocolError(f"sendRequestXML.{exc}") from None
        except (QBXMLError, XMLParseError) as exc:
            reference = self._report(
                logging.WARNING, "unreadable HCP response", username=username, error=str(exc)
            )
            return ctx.fail(texts.unreadable_hcp(self.app_name), reference)
        if "CompanyRet" in hcp.missing:
            reference = self._report(
                logging.WARNING, "HCP response without CompanyRet", username=username
            )
            return ctx.fail(texts.NO_COMPANY, reference)
        supported = hcp.versions or (f"{call.major_version}.{call.minor_version}",)
        version = self._common_version(supported)
        stamp = hcp.file_id
        if version is None:
            reference = self._report(
                logging.WARNING, "no common qbXML version", username=username, supported=supported
            )
            return ctx.fail(texts.no_common_version(supported, self.app_name), reference)
        open_name = hcp.company_name or "(no name)"
        open_path = call.company_file_name
        account = ctx.account
        if account.linked_file_id is None and stamp == account.file_id:
            ctx.account = attrs.evolve(
                account,
                linked_file_id=stamp,
                company_file=open_path,
                company_name=open_name,
                linked_at=ctx.now,
            )
            log.info("account %r linked to %r (%s)", username, open_name, open_path)
            # A new link starts from scratch: no linkage, pull cursor or delivered mark of
            # an earlier link survives (disconnect removed them; this makes sure).
            if any(forget_company_state(ctx.tx, username)):
                log.warning("account %r: state of an earlier company file removed", username)
        elif account.linked_file_id is not None and stamp == account.linked_file_id:
            if (open_path, open_name) != (account.company_file, account.company_name):
                log.info("account %r: company file now %r (%s)", username, open_name, open_path)
                ctx.account = attrs.evolve(account, company_file=open_path, company_name=open_name)
        else:
            return self._mismatch(ctx, stamp, open_name, open_path)
        ctx.tally = attrs.evolve(ctx.tally, verified=True, version=version)
        return None

    def _common_version(self, supported: tuple[str, ...]) -> str | None:
        """
        The qbXML version to write, of those QuickBooks *supported*; None if none fits.

        A function of the version list alone (never of the HCP text, whose AppLock
        stamp differs every session), and every session of a QuickBooks sends the
        same list: so each list is negotiated once (bounded: odd input cannot grow it).
        """
        key = (supported, self.max_qbxml_version, self._versions)
        negotiated = self._negotiated
        if key in negotiated:
            return negotiated[key]
        version = self._highest_common_version(
            [v for v in supported if v in self._versions], ceiling=self.max_qbxml_version
        )
        if len(negotiated) >= 64:
            negotiated.clear()
        negotiated[key] = version
        return version

    def _mismatch(
        self, ctx: _Context, stamp: uuid.UUID | None, open_name: str, open_path: str
    ) -> str:
        account = ctx.account
        reference = self._report(
            logging.WARNING,
            "company file mismatch; nothing sent",
            username=account.username,
            linked_file_id=str(account.linked_file_id),
            linked_file=account.company_file,
            open_file_id=str(stamp),
            open_file=open_path,
            open_name=open_name,
        )
        message = texts.mismatch(
            self.app_name,
            open_name=open_name,
            open_path=open_path,
            linked_name=account.company_name,
            linked_path=account.company_file,
            linked=account.linked_file_id is not None,
            stamped=stamp is not None,
        )
        ctx.fail(message, reference)
        ctx.tally = attrs.evolve(ctx.tally, interactive=self._interactive_url is not None)
        if self._on_company_mismatch is not None:
            ctx.notices.append(
                (
                    self._on_company_mismatch,
                    CompanyMismatch(
                        username=account.username,
                        linked_file_id=account.linked_file_id,
                        linked_company_file=account.company_file,
                        linked_company_name=account.company_name,
                        open_file_id=stamp,
                        open_company_file=open_path,
                        open_company_name=open_name,
                        reference=reference,
                    ),
                )
            )
        return message
