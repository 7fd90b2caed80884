"""
The endpoint address written into the WSDL: the configured ``public_url``, or the request's
own URL when its Host is a plain ``host[:port]``, or a neutral address (docs/service.md).
"""

from __future__ import annotations

import ipaddress
import re
from typing import Final
from urllib.parse import urlsplit

from qbwc._xml import xml_safe
from qbwc.exceptions import ConfigurationError

__all__ = ["NEUTRAL_ADDRESS", "check_public_url", "request_url", "valid_host", "wsdl_address"]

#: The WSDL's address when neither ``public_url`` nor the request's Host can be used.
NEUTRAL_ADDRESS: Final = "https://localhost/qbwc"

_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\Z", re.ASCII)
_PORT = re.compile(r"[0-9]{1,5}\Z", re.ASCII)
_URL = re.compile(r"(https?)://([^/?#]*)([^\s?#]*)\Z", re.ASCII)
_PATH = re.compile(r"[!$&'()*+,;=:@/%A-Za-z0-9._~-]*\Z", re.ASCII)


def _valid_name(host: str) -> bool:
    if host.startswith("["):
        inner = host[1:-1] if host.endswith("]") else ""
        if not inner or "%" in inner:
            return False
        try:
            ipaddress.IPv6Address(inner)
        except ValueError:
            return False
        return True
    labels = host.split(".")
    if all(label.isdigit() for label in labels):  # digits only: an IPv4 address or nothing
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            return False
        return True
    if len(host) > 253 or labels[-1].isdigit():
        return False
    return all(_LABEL.match(label) for label in labels)


def valid_host(netloc: str) -> bool:
    """Whether *netloc* is ``host[:port]``: a DNS name, IPv4, or bracketed IPv6; port 1–65535."""
    host, port = netloc, ""
    if netloc.startswith("["):
        end = netloc.find("]")
        if end < 0:
            return False
        host, rest = netloc[: end + 1], netloc[end + 1 :]
        if rest:
            if not rest.startswith(":"):
                return False
            port = rest[1:] or "x"
    elif ":" in netloc:
        host, _, port = netloc.partition(":")
        port = port or "x"
    if port and not (_PORT.match(port) and 1 <= int(port) <= 65535):
        return False
    return bool(host) and _valid_name(host)


def check_public_url(value: object) -> str | None:
    """*value* as the ``public_url`` setting; ConfigurationError naming it otherwise."""
    if value is None:
        return None
    rule = "must be an http:// or https:// URL such as 'https://billing.example.com/qbwc'"
    if not isinstance(value, str):
        raise ConfigurationError("public_url", f"{rule}, not {type(value).__name__}")
    parts = _URL.match(value)
    if parts is None or not xml_safe(value):
        raise ConfigurationError("public_url", f"{rule}, not {value!r}")
    if not valid_host(parts.group(2)):
        raise ConfigurationError("public_url", f"{parts.group(2)!r} is not a host[:port]")
    try:
        urlsplit(value)
    except ValueError as exc:
        raise ConfigurationError("public_url", f"{rule} ({exc})") from None
    return value


def wsdl_address(public_url: str | None, url: str) -> str:
    """The WSDL's endpoint: *public_url*, else *url* if host and path are plain, else neutral."""
    if public_url is not None:
        return public_url
    parts = _URL.match(url)
    if parts is None or not valid_host(parts.group(2)) or not _PATH.match(parts.group(3)):
        return NEUTRAL_ADDRESS
    return url


def request_url(scheme: str, host: str, path: str) -> str:
    """
    The URL an adapter hands to ``handle_http``: "" (the neutral address) unless
    *host* (from the Host header) is a plain ``host[:port]``.
    """
    if scheme not in ("http", "https") or not valid_host(host):
        return ""
    return f"{scheme}://{host}{path}"
