"""Texts a person reads: what a bookkeeper can do about QuickBooks' HRESULTs, support references."""

from __future__ import annotations

import logging
import re
from typing import Final

__all__ = ["_CONNECTION_FINAL", "_HRESULT_ADVICE", "_REFERENCE", "_REFERENCE_ALPHABET", "_advice"]

log = logging.getLogger("qbwc.service")

#: Support references use these 32 characters (no 0/O, 1/I: read out over the phone).
_REFERENCE_ALPHABET: Final = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
_REFERENCE: Final = re.compile(f"QBWC-[{_REFERENCE_ALPHABET}]{{6}}")

# HRESULTs after which retrying the connection cannot help (PROTOCOL.md §A.6).
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

# What a bookkeeper can do about the request processor's HRESULTs (PROTOCOL.md §A.6).
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
