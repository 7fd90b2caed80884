"""
The ``.QWC`` file a user opens to register your service with the Web Connector.

Build a :class:`QWCConfig`, write it with :meth:`QWCConfig.to_xml`, read any real
file with :meth:`QWCConfig.from_xml`, and list everything wrong with a file with
:func:`problems`.  See ``docs/qwc.md``.

Two kinds of rule are checked:

* **Format rules**, always: required values present, GUIDs, enumerations,
  booleans, scheduler bounds, length limits, no control characters, absolute
  http(s) URLs, no password anywhere.  A value that breaks one cannot be written.
* **The Web Connector's rules**, in strict mode (the default): AppURL is https
  unless the host is ``localhost`` (QBWC1010), neither URL is an IP address
  (QBWC1001/QBWC1002), AppSupport is on AppURL's domain (QBWC1000), no element
  is unknown, duplicated or padded with whitespace.  ``strict=False`` skips
  them, so that real files that break them still parse.

Reading leniently (``from_xml(data, strict=False)``) never raises for a value: the
config holds what the file holds and lists every problem in ``config.problems``.

Advisory findings (a long AppDescription, a published sample OwnerID, ...) never
raise: :meth:`QWCConfig.advice` lists them.
"""

from __future__ import annotations

from qbwc.qwc._config import QWCConfig

# Limits and sample GUIDs, importable from here as before (not in __all__).
from qbwc.qwc._elements import MAX_DESCRIPTION as MAX_DESCRIPTION
from qbwc.qwc._elements import MAX_FILE_BYTES as MAX_FILE_BYTES
from qbwc.qwc._elements import MAX_NAME as MAX_NAME
from qbwc.qwc._elements import MAX_SCHEDULER_MINUTES as MAX_SCHEDULER_MINUTES
from qbwc.qwc._elements import MAX_SCHEDULER_SECONDS as MAX_SCHEDULER_SECONDS
from qbwc.qwc._elements import MAX_URL as MAX_URL
from qbwc.qwc._elements import RECOMMENDED_DESCRIPTION as RECOMMENDED_DESCRIPTION
from qbwc.qwc._elements import SAMPLE_GUIDS as SAMPLE_GUIDS
from qbwc.qwc._elements import (
    AuthFlags,
    PersonalDataPref,
    QBType,
    Scheduler,
    Style,
    UnattendedModePref,
)
from qbwc.qwc._files import download_headers, file_id_for, new_file_id, new_owner_id, rotate
from qbwc.qwc._read import problems

__all__ = [
    "AuthFlags",
    "PersonalDataPref",
    "QBType",
    "QWCConfig",
    "Scheduler",
    "Style",
    "UnattendedModePref",
    "download_headers",
    "file_id_for",
    "new_file_id",
    "new_owner_id",
    "problems",
    "rotate",
]
