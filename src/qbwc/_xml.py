"""Hardened XML parsing for everything that comes from outside, and shared namespace constants."""

from __future__ import annotations

import re
import threading

from lxml import etree

from qbwc._budget import Limits, check_limits
from qbwc.exceptions import XMLParseError

__all__ = [
    "DEFAULT_MAX_BYTES",
    "INTUIT_NS",
    "NOT_XML_CHAR",
    "SOAP11_ENV_NS",
    "SOAP12_ENV_NS",
    "XSI_NS",
    "escape_text",
    "parse_untrusted",
    "xml_safe",
]

SOAP11_ENV_NS = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12_ENV_NS = "http://www.w3.org/2003/05/soap-envelope"
INTUIT_NS = "http://developer.intuit.com/"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"

#: XML 1.0 § 2.2 Char, complemented: what an XML document cannot carry at all.
NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_safe(value: str) -> bool:
    """Whether XML 1.0 can carry every character of *value* (``NOT_XML_CHAR`` finds none)."""
    return NOT_XML_CHAR.search(value) is None


def escape_text(text: str, *, attribute: bool = False, ascii_only: bool = False) -> str:
    """
    *text* escaped as libxml2 (lxml) serializes it: qbwc's one XML escaper.

    Element content escapes ``&``, ``<``, ``>`` and CR (as ``&#13;``, which a parser
    does not turn into LF); a double-quoted attribute value (*attribute*) also ``"``,
    tab and LF.  With *ascii_only* every character beyond ASCII is a decimal character
    reference (``é`` → ``&#233;``), as lxml writes with ``encoding="us-ascii"``: the
    qbXML writer's output.  *text* must be XML-safe (see :func:`xml_safe`); the
    callers check that, each with its own rule and message.
    """
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    if "\r" in text:
        text = text.replace("\r", "&#13;")
    if attribute:
        if '"' in text:
            text = text.replace('"', "&quot;")
        if "\t" in text:
            text = text.replace("\t", "&#9;")
        if "\n" in text:
            text = text.replace("\n", "&#10;")
    if ascii_only and not text.isascii():
        text = text.encode("ascii", "xmlcharrefreplace").decode("ascii")
    return text


#: Default upper bound for one document from the network (10 MiB).
DEFAULT_MAX_BYTES = 10 * 1024 * 1024

_local = threading.local()
_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
# The prolog: an optional BOM, then white space, processing instructions and
# comments, in any order.  A DOCTYPE can only stand there.
_PROLOG_BYTES = re.compile(rb"(?:\xef\xbb\xbf)?(?:\s+|<\?.*?\?>|<!--.*?-->)*", re.DOTALL)
_PROLOG_TEXT = re.compile(r"\ufeff?(?:\s+|<\?.*?\?>|<!--.*?-->)*", re.DOTALL)
_DOCTYPE_BYTES = b"<!DOCTYPE"
_DOCTYPE_TEXT = "<!DOCTYPE"


def _starts_with_doctype(data: bytes | str) -> bool:
    """Whether the prolog of *data* holds a DOCTYPE: refused before libxml2 reads it at all."""
    if isinstance(data, bytes):
        end = _PROLOG_BYTES.match(data)
        return data.startswith(_DOCTYPE_BYTES, end.end() if end else 0)
    end_text = _PROLOG_TEXT.match(data)
    return data.startswith(_DOCTYPE_TEXT, end_text.end() if end_text else 0)


_NO_DOCTYPE = "{what}: a DOCTYPE is not allowed (no DTDs or entity declarations)"


def _parser() -> etree.XMLParser:
    # lxml parsers are not thread-safe; one per thread.
    parser: etree.XMLParser | None = getattr(_local, "parser", None)
    if parser is None:
        parser = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            dtd_validation=False,
            huge_tree=False,
            remove_comments=True,
            remove_blank_text=False,
            recover=False,
        )
        _local.parser = parser
    return parser


def parse_untrusted(
    data: bytes | str,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    what: str = "document",
    limits: Limits | None = None,
) -> etree._Element:
    """
    Parse XML that came from outside the process and return its root element.

    No DTD is loaded, no entity is expanded, nothing is fetched from the
    network, and a document with a DOCTYPE at all is refused.  A *str* may
    carry an XML declaration (it is dropped, since the text is already decoded).
    With *limits*, a document with more elements, attributes or namespace
    declarations is refused before its tree is built (:mod:`qbwc._budget`).

    Raises:
        XMLParseError: the document is too large, malformed, over *limits*
            (``XMLLimitError``), or uses a forbidden construct.  The message
            starts with *what*.
    """
    size = len(data)
    if size > max_bytes:
        msg = f"{what}: {size:,} bytes, at most {max_bytes:,}"
        raise XMLParseError(msg)
    if isinstance(data, str):
        data = _DECLARATION.sub("", data, count=1)
    if not data or not data.strip():
        msg = f"{what}: empty"
        raise XMLParseError(msg)
    if _starts_with_doctype(data):
        raise XMLParseError(_NO_DOCTYPE.format(what=what))
    if limits is not None:
        check_limits(data, limits, what)
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        msg = f"{what}: not well-formed XML ({exc.msg})"
        raise XMLParseError(msg) from None
    except ValueError as exc:  # e.g. lxml refusing odd str input
        msg = f"{what}: cannot be parsed ({exc})"
        raise XMLParseError(msg) from None
    # Checked again after parsing, for encodings the prolog scan cannot read (UTF-16).
    if root.getroottree().docinfo.doctype:  # type: ignore[union-attr]
        raise XMLParseError(_NO_DOCTYPE.format(what=what))
    return root
