"""
The one rule for usernames and idempotency keys, on every entry point and every store.

A username travels in SOAP (``authenticate``) and in the QWC file (``UserName``), and a key
is the host's own ID for a job; both are stored as text by every store.  So both follow the
rule of :func:`check_name` (see ``docs/service.md``, "Usernames and keys"): the service checks
it before any store sees the value, so every store, the CLI and Django refuse the same values
with the same :class:`~qbwc.exceptions.ConfigurationError`.
"""

from __future__ import annotations

import re
from typing import Final

from qbwc.exceptions import ConfigurationError

__all__ = ["MAX_NAME_LENGTH", "check_name", "is_name"]

#: The longest username or key: the QWC file's names share the Windows registry key limit.
MAX_NAME_LENGTH: Final = 255

#: Control characters (Unicode category Cc: C0, DEL and C1, tab and line breaks included),
#: lone surrogates (UTF-8 cannot encode them, so no store can keep them) and the two
#: non-characters XML 1.0 cannot carry (U+FFFE, U+FFFF).
_BAD: Final = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def check_name(field: str, value: object) -> str:
    """
    *value* if it is a valid username or key; otherwise raise a ConfigurationError naming *field*.

    The rule: a non-empty ``str`` of at most 255 characters, with no control characters,
    no lone surrogates and no other character XML cannot carry, that neither starts nor ends
    with whitespace (refused, never stripped: ``"bob "`` is not ``"bob"``).

    Raises:
        ConfigurationError: *value* breaks the rule; the message says which part.
    """
    if not isinstance(value, str):
        raise ConfigurationError(field, f"must be a str, not {type(value).__name__}")
    if not value:
        raise ConfigurationError(field, "must not be empty")
    if len(value) > MAX_NAME_LENGTH:
        raise ConfigurationError(
            field, f"is {len(value):,} characters; at most {MAX_NAME_LENGTH} are allowed"
        )
    bad = _BAD.search(value)
    if bad is not None:
        rule = (
            f"contains U+{ord(bad[0]):04X} at position {bad.start() + 1}: control characters, "
            "lone surrogates and U+FFFE/U+FFFF are not allowed (it travels in XML)"
        )
        raise ConfigurationError(field, rule)
    if value != value.strip():
        raise ConfigurationError(field, "must not start or end with whitespace")
    return value


def is_name(value: object) -> bool:
    """Whether *value* passes :func:`check_name` (for lookups that answer None instead)."""
    try:
        check_name("name", value)
    except ConfigurationError:
        return False
    return True
