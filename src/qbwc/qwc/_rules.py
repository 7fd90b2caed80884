"""The rules a .QWC file's values follow: format rules and the Web Connector's (docs/qwc.md)."""

from __future__ import annotations

import ipaddress
import re
import uuid
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import parse_qsl, urlsplit

from qbwc.qwc._elements import (
    _ELEMENTS,
    _NIL_GUID,
    _PASSWORD_KEYS,
    MAX_URL,
    AuthFlags,
    Scheduler,
    _Element,
    _Kind,
    _Problem,
)

# --- rules ----------------------------------------------------------------------------


#: Control characters (Unicode category Cc, tab and line breaks included) and
#: what XML cannot hold at all (surrogates, U+FFFE, U+FFFF).
_BAD_CHARACTER: Final = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_SPACE: Final = re.compile(r"\s")


def _bad_character(text: str) -> str | None:
    """Describe the first control or XML-illegal character in *text*, if any."""
    match = _BAD_CHARACTER.search(text)
    if match is None:
        return None
    return f"U+{ord(match[0]):04X} at position {match.start() + 1}"


def _type_name(value: object) -> str:
    return type(value).__name__


def _check_text(element: _Element, value: object, *, strict: bool) -> list[_Problem]:
    tag, field = element.tag, element.field
    if not isinstance(value, str):
        return [_Problem(field, f"{tag} must be a str; got {_type_name(value)}")]
    if element.nonempty and not value:
        return [_Problem(field, f"{tag} is required and must not be empty")]
    found: list[_Problem] = []
    bad = _bad_character(value)
    if bad is not None:
        found.append(_Problem(field, f"{tag} contains a control character ({bad}); remove it"))
    if len(value) > element.limit:
        why = " (it names the application's Windows registry key)" if tag == "AppName" else ""
        found.append(
            _Problem(field, f"{tag} is {len(value):,} characters; at most {element.limit:,}{why}")
        )
    if tag == "AppName" and "\\" in value:
        found.append(
            _Problem(
                field,
                "AppName must not contain a backslash: it names the application's "
                "Windows registry key",
            )
        )
    if strict and value != value.strip():
        found.append(
            _Problem(
                field,
                f"{tag} starts or ends with whitespace; remove it (the Web Connector "
                "keeps it as part of the value)",
                fatal=False,
            )
        )
    return found


def _is_ip(host: str) -> bool:
    # Windows also reads short forms such as "10.1" or "167772161" as IPv4 addresses.
    if re.fullmatch(r"[0-9.]+", host):
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _check_url(element: _Element, value: object, *, strict: bool) -> list[_Problem]:
    tag, field = element.tag, element.field
    if not isinstance(value, str):
        return [_Problem(field, f"{tag} must be a str; got {_type_name(value)}")]
    if element.nonempty and not value:
        return [_Problem(field, f"{tag} is required and must not be empty")]
    bad = _bad_character(value)
    if bad is not None:
        return [_Problem(field, f"{tag} contains a control character ({bad}); remove it")]
    if len(value) > MAX_URL:
        return [_Problem(field, f"{tag} is {len(value):,} characters; at most {MAX_URL:,}")]
    if _SPACE.search(value):
        rule = f"{tag} must not contain spaces (percent-encode them as %20); got {value!r}"
        return [_Problem(field, rule)]
    absolute = (
        f"{tag} must be an absolute http or https URL, like https://example.com/qbwc; got {value!r}"
    )
    try:
        parts = urlsplit(value)
        _ = parts.port  # raises ValueError for a bad port
    except ValueError:
        return [_Problem(field, absolute)]
    host = parts.hostname or ""
    if parts.scheme.lower() not in ("http", "https") or not host:
        return [_Problem(field, absolute)]
    if parts.username is not None or parts.password is not None:
        return [
            _Problem(
                field,
                f"{tag} must not carry a user name or password (user:password@host): "
                "the Web Connector asks the user for the password and stores it encrypted",
            )
        ]
    keys = {key.lower() for key, _ in parse_qsl(parts.query, keep_blank_values=True)}
    if keys & _PASSWORD_KEYS:
        return [
            _Problem(
                field,
                f"{tag} must not carry a password in its query string: the Web Connector "
                "asks the user for the password and stores it encrypted",
            )
        ]
    if not strict:
        return []
    found: list[_Problem] = []
    if tag == "AppURL" and parts.scheme.lower() != "https" and host != "localhost":
        found.append(
            _Problem(
                field,
                "AppURL must be https unless the host is localhost (the Web Connector "
                f"refuses it with QBWC1010); got {value!r}",
                fatal=False,
            )
        )
    if tag in ("AppURL", "AppSupport") and _is_ip(host):
        code = "QBWC1001" if tag == "AppURL" else "QBWC1002"
        found.append(
            _Problem(
                field,
                f"{tag} must use a host name, not an IP address (the Web Connector "
                f"refuses it with {code}); got {value!r}",
                fatal=False,
            )
        )
    return found


def _domain_key(host: str) -> str:
    labels = host.rstrip(".").lower().split(".")
    return ".".join(labels[-2:])


def _same_domain(one: str, other: str) -> bool:
    """
    Whether two hosts are on one domain, as the Web Connector requires (QBWC1000).

    Equal hosts always are.  Otherwise both must have a dot and share their
    last two labels (``secure.example.com`` and ``www.example.com``).  A
    machine name (no dot) matches only itself.  There is no public-suffix list
    here, so ``a.co.uk`` and ``b.co.uk`` pass although they are not one domain.
    """
    one, other = one.rstrip(".").lower(), other.rstrip(".").lower()
    if one == other:
        return True
    if "." not in one or "." not in other:
        return False
    return _domain_key(one) == _domain_key(other)


def _host(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return urlsplit(value).hostname or None
    except ValueError:
        return None


def _check(values: Mapping[str, Any], *, strict: bool) -> list[_Problem]:
    """Every rule broken by *values* (which may lack fields), in element order."""
    found: list[_Problem] = []
    for element in _ELEMENTS:
        if element.field not in values:
            continue
        value = values[element.field]
        tag, field = element.tag, element.field
        if value is None:
            if element.nonempty:
                found.append(_Problem(field, f"{tag} is required"))
            continue
        if element.kind is _Kind.TEXT:
            found += _check_text(element, value, strict=strict)
        elif element.kind is _Kind.URL:
            found += _check_url(element, value, strict=strict)
        elif element.kind is _Kind.GUID:
            if not isinstance(value, uuid.UUID):
                found.append(_Problem(field, f"{tag} must be a UUID; got {_type_name(value)}"))
            elif value == _NIL_GUID:
                maker = "new_owner_id" if field == "owner_id" else "new_file_id"
                found.append(
                    _Problem(
                        field,
                        f"{tag} must not be the nil GUID {{{_NIL_GUID}}}, which identifies "
                        f"nothing: generate one (qbwc.qwc.{maker}())",
                    )
                )
        elif element.kind is _Kind.ENUM:
            assert element.enum is not None
            if not isinstance(value, element.enum):
                found.append(
                    _Problem(
                        field,
                        f"{tag} must be a {element.enum.__name__} member; got {value!r}",
                    )
                )
        elif element.kind is _Kind.BOOL:
            if not isinstance(value, bool):
                found.append(_Problem(field, f"{tag} must be True or False; got {value!r}"))
        elif element.kind is _Kind.FLAGS:
            if not isinstance(value, AuthFlags):
                found.append(_Problem(field, f"{tag} must be an AuthFlags value; got {value!r}"))
            elif not 0 <= int(value) <= 0xF:
                found.append(
                    _Problem(
                        field,
                        f"AuthFlags must be 0x0 to 0xF (the Web Connector refuses other "
                        f"values with QBWC1034); got 0x{int(value):X}",
                    )
                )
        elif element.kind is _Kind.SCHEDULER and not isinstance(value, Scheduler):
            found.append(_Problem(field, f"Scheduler must be a Scheduler; got {value!r}"))
    if strict:
        app, support = _host(values.get("app_url")), _host(values.get("app_support"))
        if (
            app
            and support
            and not _is_ip(app)
            and not _is_ip(support)
            and not _same_domain(app, support)
        ):
            found.append(
                _Problem(
                    "app_support",
                    "AppSupport must be on the same domain as AppURL (the Web Connector "
                    f"refuses it with QBWC1000); got {support!r} for AppSupport and "
                    f"{app!r} for AppURL",
                    fatal=False,
                )
            )
    return found
