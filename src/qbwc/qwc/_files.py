"""New OwnerIDs and FileIDs, rotating them, and serving a .QWC file as a download."""

from __future__ import annotations

import re
import unicodedata
import uuid
from typing import Final
from urllib.parse import quote

import attrs

from qbwc.exceptions import ConfigurationError
from qbwc.qwc._config import QWCConfig, _to_owner_id

# --- identifiers and workflows --------------------------------------------------------


def new_owner_id() -> uuid.UUID:
    """
    A fresh random OwnerID.

    Call it once per application, store the result in your settings and use
    it in every file you issue; never one per file or per version.
    """
    return uuid.uuid4()


def new_file_id() -> uuid.UUID:
    """A fresh random FileID: store it with the account and company file it is for."""
    return uuid.uuid4()


def file_id_for(owner_id: uuid.UUID | str, *, account: str, company_file: str = "") -> uuid.UUID:
    """
    The FileID for one account and one company file, derived without storage.

    The same *owner_id*, *account* (the UserName) and *company_file* (your
    own key for the customer's company file, e.g. ``"acme-2025"``) always
    give the same FileID, so re-issuing a file gives the same bytes; another
    company file gives another FileID.  A UUIDv5 in *owner_id*'s namespace.
    """
    namespace = _to_owner_id(owner_id)
    return uuid.uuid5(namespace, "\x1f".join(("qbwc.FileID", account, company_file)))


def rotate(
    config: QWCConfig,
    *,
    owner_id: uuid.UUID | str | None = None,
    file_id: uuid.UUID | str | None = None,
) -> QWCConfig:
    """
    *config* with a new OwnerID/FileID pair.

    Only for an application that keeps an OwnerID/FileID pair per account itself:
    a :class:`~qbwc.WebConnectorService` has one OwnerID and refuses another, so
    for QBWC1039 re-issue the account's current QWC file instead (see
    ``docs/qwc.md``, "QBWC1039: keep the pair").  Random unless given; store the
    new pair with the account, and look for the FileID under the new OwnerID
    from then on.

    Raises:
        ConfigurationError: the pair given is the pair *config* already has.
    """
    rotated = attrs.evolve(
        config,
        owner_id=new_owner_id() if owner_id is None else owner_id,
        file_id=new_file_id() if file_id is None else file_id,
    )
    if (rotated.owner_id, rotated.file_id) == (config.owner_id, config.file_id):
        msg = "rotate() needs a new OwnerID/FileID pair; this is the pair the file already has"
        raise ConfigurationError("owner_id", msg)
    return rotated


# --- serving --------------------------------------------------------------------------

_WINDOWS_RESERVED: Final = frozenset(
    {"CON", "PRN", "AUX", "NUL"}
    | {f"COM{n}" for n in range(1, 10)}
    | {f"LPT{n}" for n in range(1, 10)}
)
_UNSAFE_IN_NAME: Final = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f-\x9f]')


def _file_name(name: str) -> str:
    name = unicodedata.normalize("NFC", name)
    name = "".join(
        " " if unicodedata.category(char) in ("Cc", "Cf", "Cs", "Zl", "Zp") else char
        for char in name
    )
    name = _UNSAFE_IN_NAME.sub("_", name)
    name = " ".join(name.split()).strip(" .")[:100].rstrip(" .")
    if name.lower().endswith(".qwc"):
        name = name[:-4].rstrip(" .")
    if not name:
        name = "qbwc"
    if name.split(".")[0].upper() in _WINDOWS_RESERVED:
        name = "_" + name
    return name + ".qwc"


def download_headers(config: QWCConfig, *, filename: str | None = None) -> dict[str, str]:
    """
    HTTP headers for serving ``config.to_xml()`` as a download.

    ``Content-Type: application/x-qwc`` with ``Content-Disposition:
    attachment``, so browsers save the file instead of showing XML, and the
    user double-clicks it to open the Web Connector.  The file name comes from
    *filename* or AppName, with anything unsafe in a header or a Windows file
    name replaced.  The file is per customer, so it is never cached.
    """
    name = _file_name(config.app_name if filename is None else filename)
    fallback = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    # Inside the quoted string: no quote or backslash, and no "%", which some
    # browsers would decode.
    fallback = re.sub(r"[^A-Za-z0-9 !#$&'()+,.;=@\[\]^_`{}~-]", "_", fallback)
    disposition = f'attachment; filename="{fallback}"'
    if fallback != name:
        disposition += f"; filename*=UTF-8''{quote(name, safe='')}"
    return {
        "Content-Type": "application/x-qwc",
        "Content-Disposition": disposition,
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
    }
