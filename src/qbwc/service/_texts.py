"""
Every text a person reads in the Web Connector: HRESULT advice, getLastError,
closeConnection and clientVersion texts, support references.
"""

from __future__ import annotations

import logging
import re
from typing import Final

__all__ = ["_CONNECTION_FINAL", "_HRESULT_ADVICE", "_REFERENCE", "_REFERENCE_ALPHABET", "_advice"]

log = logging.getLogger("qbwc.service")

#: Support references use these 32 characters (no 0/O, 1/I: read out over the phone).
_REFERENCE_ALPHABET: Final = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
_REFERENCE: Final = re.compile(f"QBWC-[{_REFERENCE_ALPHABET}]{{6}}")

# HRESULTs after which retrying the connection cannot help (docs/protocol.md, "HRESULTs").
_CONNECTION_FINAL: Final = frozenset(
    {
        "0x80040400",
        "0x80040401",
        "0x80040402",
        "0x8004040d",
        "0x80040418",
        "0x8004041a",
        "0x8004041d",
        "0x8004041e",
        "0x8004041f",
        "0x80040420",
        "0x80040427",
        "0x8004042a",
        "0x8004042c",
    }
)

# What a bookkeeper can do about the request processor's HRESULTs (docs/protocol.md,
# "HRESULTs").
_HRESULT_ADVICE: Final = {
    "0x80040400": "QuickBooks could not read the request.",
    "0x80040401": "QuickBooks could not be reached. Check that QuickBooks is installed and "
    "can start on this computer.",
    "0x80040402": "QuickBooks reported an unexpected error (see qbsdklog.txt).",
    "0x80040403": "QuickBooks could not open the company file. Check that it exists and "
    "that you can open it in QuickBooks.",
    "0x80040406": "The company file name is not valid.",
    "0x80040408": "QuickBooks could not be started. Open QuickBooks and the company file, "
    "then run the update again.",
    "0x8004040a": "A different company file is open in QuickBooks. Open the right company "
    "file, then run the update again.",
    "0x80040410": "The company file is open in the wrong mode (single-user or multi-user). "
    "Switch modes in QuickBooks, then run the update again.",
    "0x80040414": "A window is open in QuickBooks and blocks the update. Close it, then run "
    "the update again.",
    "0x80040416": "QuickBooks is not running. Open QuickBooks and the company file, then "
    "run the update again.",
    "0x80040417": "No company file is open in QuickBooks. Open the company file, then run "
    "the update again.",
    "0x80040418": "This application has not been authorised for the company file. Open the "
    "company file as the QuickBooks Admin in single-user mode and allow access when "
    "QuickBooks asks.",
    "0x8004041a": "This application may not access the company file. Allow it in QuickBooks: "
    "Edit > Preferences > Integrated Applications.",
    "0x8004041b": "QuickBooks is busy. The update will try again next time.",
    "0x8004041d": "This application may not log in automatically. Allow it in QuickBooks: "
    "Edit > Preferences > Integrated Applications > Properties.",
    "0x80040420": "A QuickBooks user refused access for this application.",
    "0x80040422": "Another application is using the company file, or it must be in "
    "single-user mode. The update will try again next time.",
    "0x80040423": "This version of QuickBooks does not accept the request version.",
    "0x80040424": "QuickBooks is still starting. The update will try again next time.",
}


def _advice(hresult: str) -> str:
    return _HRESULT_ADVICE.get(hresult.strip().lower(), "QuickBooks reported a problem.")


# --- what the Web Connector shows (getLastError, closeConnection, clientVersion) ------------
# Each names the application, says what happened and what to do; a support reference is
# added by the caller where one was logged (docs/troubleshooting.md quotes them).


def old_client(version: str, app_name: str, minimum: str) -> str:
    """clientVersion's ``E:``/``W:`` text for a Web Connector older than *minimum*."""
    return (
        f"This Web Connector is version {version}; {app_name} needs version "
        f"{minimum} or newer. Download the latest QuickBooks Web Connector "
        "from Intuit."
    )


def session_expired(app_name: str, reference: str) -> str:
    """getLastError for a ticket that is unknown or expired."""
    return (
        f"This update session has ended or expired. Nothing was lost: "
        f"{app_name} will continue at the next update. ({reference})"
    )


def login_refused(app_name: str, reference: str) -> str:
    """closeConnection after ``nvu``: the ticket slot carried the refusal's *reference*."""
    return (
        f"Invalid password for username: {app_name} refused the user name or "
        "password. Type the current password in the Web Connector's Password "
        f"column and run the update again. ({reference})"
    )


#: closeConnection for a ticket that is unknown or expired.
CONNECTION_CLOSED: Final = "Connection Closed"


def stopped(message: str) -> str:
    """closeConnection after an error: getLastError's words, advice included."""
    return f"Stopped: {message}"


def summary(done: int, failed: int, waiting: int, app_name: str, *, closing: bool) -> str:
    """What a session did: getLastError when there is nothing more, closeConnection's status."""
    head = CONNECTION_CLOSED if closing else "Nothing more to send"
    parts = [f"{done} done", f"{failed} failed"]
    if waiting:
        parts.append(f"{waiting} waiting")
    text = f"{head}: {', '.join(parts)}."
    if failed:
        text += f" See {app_name} for the failed ones."
    return text


def unverified(app_name: str) -> str:
    """No HCP document in this session (QBPOS, or a Web Connector that skipped it)."""
    return (
        "QuickBooks did not identify the company file, so nothing was sent. Run the "
        f"update again; if this repeats, contact {app_name} support."
    )


def connection_failed(hresult: str, message: str) -> str:
    """connectionError, given up: the advice for *hresult*, and what QuickBooks said."""
    return (
        f"{_advice(hresult)} Nothing is lost: the next update continues. "
        f"(QuickBooks said: {hresult} {message})"
    )


def processor_failed(hresult: str, message: str) -> str:
    """receiveResponseXML with an HRESULT instead of a response."""
    return (
        f"{_advice(hresult)} Nothing is lost: the next update continues where this one "
        f"stopped. (QuickBooks said: {hresult} {message})"
    )


#: receiveResponseXML with a response that cannot be read.
UNREADABLE_ANSWER: Final = (
    "QuickBooks' answer could not be read. Nothing is lost: the next update asks "
    "QuickBooks what was saved."
)


def possible_duplicate(suspects: list[str], app_name: str) -> str:
    """An answer to a settled message set reports writes."""
    return (
        f"QuickBooks reported saving {', '.join(suspects)} after {app_name} had "
        "settled that request: it may exist twice in QuickBooks. Check QuickBooks."
    )


def unreadable_hcp(app_name: str) -> str:
    """The HCP document (the company file's description) cannot be read."""
    return (
        "QuickBooks' description of the company file could not be read, so nothing "
        f"was sent. {app_name} works with QuickBooks Desktop (not Point of Sale)."
    )


#: The HCP document has no CompanyRet.
NO_COMPANY: Final = (
    "QuickBooks did not describe the open company file, so it could not be checked "
    "and nothing was sent. Run the update again."
)


def no_common_version(supported: tuple[str, ...], app_name: str) -> str:
    """None of the qbXML versions QuickBooks supports is one the service writes."""
    return (
        f"This QuickBooks supports qbXML {', '.join(supported)}, none of which "
        f"{app_name} can write. Nothing was sent."
    )


def mismatch(
    app_name: str,
    *,
    open_name: str,
    open_path: str,
    linked_name: str | None,
    linked_path: str | None,
    linked: bool,
    stamped: bool,
) -> str:
    """Another company file is open than the one the account is linked to (or can link)."""
    opened = f'"{open_name}" ({open_path})' if open_path else f'"{open_name}"'
    if linked:
        other = f'"{linked_name}" ({linked_path})'
        return (
            f"QuickBooks has the company file {opened} open, but {app_name} is linked "
            f"to {other}. Nothing was sent. Open {other} and run the update again. To use "
            f'{opened} from now on instead, choose "Disconnect" in {app_name}, then run '
            "the update again."
        )
    if not stamped:
        return (
            f"The company file {opened} has not been set up for {app_name}. Nothing "
            f"was sent. Open the company file you use with {app_name}, or add "
            f"{app_name}'s QWC file to the Web Connector while this company file is open."
        )
    return (
        f"The company file {opened} was set up with another QWC file for "
        f"{app_name}. Nothing was sent. Download the current QWC file from "
        f"{app_name}, add it to the Web Connector, and run the update again."
    )
