"""
Budgets on the shape of XML from outside: elements, attributes, namespace declarations.

A body under the size cap can still make libxml2 build a tree many times its size
(a million empty elements, or one element with a million attributes).  Before a
document is parsed, its markup is counted against a :class:`Limits`; a document
over budget is refused without building its tree (docs/protocol.md, "Hostile
input").

Counting is cheap and sound for any document libxml2 would accept:

1. **Fast path** (C speed): every element needs a ``<``, every attribute and
   namespace declaration an ``=``, every namespace declaration the letters
   ``xmlns``.  When those counts are within the limits, so is the document.
2. **Scan** (only when a fast count is over): the markup is walked ``<`` by
   ``<`` (text is skipped by ``find``; comments, CDATA sections and processing
   instructions are skipped whole), counting elements and, inside each start
   tag, attributes and namespace declarations.  The walk stops as soon as a
   count passes its limit, so its work is bounded by the limits, not by the
   body: a start tag with a million attributes is refused after the first few
   hundred, before libxml2 sees it.  Markup the walk does not understand is
   not well-formed, and libxml2 stops there too.

Both steps read the markup as ASCII, so a document in an encoding where ``<``
is not the byte 0x3C (EBCDIC, UCS-4, UTF-7 ...) is refused; UTF-16 is
transcoded for the scan.

:class:`BodyBudget` does the same while a body arrives in pieces, so the
adapters refuse a hostile body after its first chunks (docs/integrations.md).
"""

from __future__ import annotations

import re
from typing import Final, NamedTuple

from qbwc.exceptions import XMLParseError

__all__ = [
    "ENVELOPE_LIMITS",
    "BodyBudget",
    "Limits",
    "XMLLimitError",
    "check_limits",
    "qbxml_limits",
]


class XMLLimitError(XMLParseError):
    """A document has more elements, attributes or namespace declarations than its budget."""


class Limits(NamedTuple):
    """The most elements, attributes and namespace declarations a document may hold."""

    elements: int
    attributes: int
    namespaces: int
    #: Whether a fast count over a limit is checked by a scan (exact counts), or is
    #: itself the refusal (the limit is then on the markup characters counted).
    exact: bool = True


#: A Web Connector call: a few dozen elements (qbXML travels as text inside them),
#: an xmlns or two on each (docs/protocol.md, "Hostile input").
ENVELOPE_LIMITS: Final = Limits(elements=256, attributes=256, namespaces=64)

# qbXML responses are budgeted in proportion to their size.  The densest real
# responses (the reference samples of real QuickBooks answers, and the fakes'
# output) hold one '<' per 15.7 characters or more, one '=' per 47 or more, and
# no namespace declaration at all; the budget allows twice (for '<') and three
# times (for '=') those densities, plus room for small documents
# (docs/protocol.md, "Hostile input").
_QBXML_CHARS_PER_TAG: Final = 8
_QBXML_CHARS_PER_EQUALS: Final = 16
_QBXML_ALLOWANCE: Final = 1024
_QBXML_NAMESPACES: Final = 64


def qbxml_limits(size: int) -> Limits:
    """The budget of a qbXML document of *size* characters (counted markup, not exact)."""
    # (tuple.__new__ makes the same NamedTuple without its Python-level __new__, in
    # about half the time: this runs for every response.)
    limits: Limits = _new_tuple(
        Limits,
        (
            _QBXML_ALLOWANCE + size // _QBXML_CHARS_PER_TAG,  # elements
            _QBXML_ALLOWANCE + size // _QBXML_CHARS_PER_EQUALS,  # attributes
            _QBXML_NAMESPACES,  # namespaces
            False,  # exact
        ),
    )
    return limits


_new_tuple: Final = tuple.__new__


# --- encodings --------------------------------------------------------------------------

_DECLARED = re.compile(
    rb"(?:\xef\xbb\xbf)?[ \t\r\n]*<\?xml[ \t\r\n][^>]*?encoding[ \t\r\n]*=[ \t\r\n]*"
    rb"[\"']([^\"']*)[\"']"
)
# Encodings in which every ASCII byte is that ASCII character, and UTF-16 (transcoded).
_ASCII_BASED = re.compile(
    rb"(?:utf-?8|(?:us-?)?ascii|iso-?8859-?[0-9]{1,2}|latin-?1|(?:windows|cp)-?125[0-8]"
    rb"|utf-?16(?:-?[lb]e)?|ucs-?2|iso-10646-ucs-2)\Z",
    re.IGNORECASE,
)
#: Declarations that settle the encoding as ASCII-based at a glance: what the Web
#: Connector and QuickBooks write (docs/protocol.md); anything else goes to ``_codec``.
_PLAIN_DECLARATIONS: Final = (
    b'<?xml version="1.0" encoding="utf-8"?>',
    b'<?xml version="1.0" ?>',
    b'<?xml version="1.0"?>',
    b'<?xml version="1.0" encoding="UTF-8"?>',
)
_UTF16: Final = {
    b"\xfe\xff": "utf-16",
    b"\xff\xfe": "utf-16",
}
_UTF16_NO_BOM: Final = {b"<\x00?\x00": "utf-16-le", b"\x00<\x00?": "utf-16-be"}
_NOT_ASCII_BASED: Final = (
    b"\x00\x00\x00<",
    b"<\x00\x00\x00",
    b"\x00\x00<\x00",
    b"\x00<\x00\x00",
    b"\x00\x00\xfe\xff",
    b"\xff\xfe\x00\x00",
    b"\x4c\x6f\xa7\x94",  # "<?xm" in EBCDIC
)


def _unsupported(what: str, name: str) -> XMLParseError:
    return XMLParseError(f"{what}: encoding {name} is not supported (send UTF-8)")


def _codec(data: bytes, what: str) -> str | None:
    """None for an ASCII-based document, the codec of a UTF-16 one; or XMLParseError."""
    head = data[:4]
    if head in _NOT_ASCII_BASED or head[:2] == b"\x00\x00":
        raise _unsupported(what, "UCS-4 or EBCDIC")
    codec = _UTF16.get(head[:2]) if head[2:4] != b"\x00\x00" else None
    codec = codec or _UTF16_NO_BOM.get(head)
    if codec is None:
        declared = _DECLARED.match(data, 0, 512)
        if declared is not None and not _ASCII_BASED.match(declared.group(1)):
            raise _unsupported(what, repr(declared.group(1).decode("latin-1")))
    return codec


def _ascii_view(data: bytes | str, what: str) -> bytes:
    """*data* as bytes in which markup is ASCII (UTF-16 transcoded to UTF-8)."""
    if isinstance(data, str):
        return data.encode("utf-8", "surrogatepass")
    codec = _codec(data, what)
    if codec is None:
        return data
    try:
        return data.decode(codec).encode("utf-8", "surrogatepass")
    except UnicodeDecodeError:
        msg = f"{what}: not well-formed XML (not valid {codec.upper()})"
        raise XMLParseError(msg) from None


# --- counting ---------------------------------------------------------------------------


def _over(what: str, limit: int, kind: str) -> XMLLimitError:
    return XMLLimitError(f"{what}: more than {limit:,} {kind}; refused before parsing")


def _fast_counts(data: bytes | bytearray | str) -> tuple[int, int, int]:
    if isinstance(data, str):
        return data.count("<"), data.count("="), data.count("xmlns")
    return data.count(b"<"), data.count(b"="), data.count(b"xmlns")


def _fast_over(counts: tuple[int, int, int], limits: Limits) -> bool:
    tags, equals, xmlns = counts
    return tags > limits.elements or equals > limits.attributes or xmlns > limits.namespaces


def _counted_refusal(
    counts: tuple[int, int, int], limits: Limits, size: int, what: str
) -> XMLLimitError:
    tags, equals, xmlns = counts
    if tags > limits.elements:
        found, limit, kind = tags, limits.elements, "'<' (tags)"
    elif equals > limits.attributes:
        found, limit, kind = equals, limits.attributes, "'=' (attributes)"
    else:
        found, limit, kind = xmlns, limits.namespaces, "'xmlns' (namespace declarations)"
    return XMLLimitError(
        f"{what}: {found:,} {kind} in {size:,} characters, at most {limit:,}; "
        "refused before parsing"
    )


def check_limits(data: bytes | str, limits: Limits, what: str) -> None:
    """
    Refuse *data* if its markup is over *limits*, without parsing it.

    Raises:
        XMLLimitError: over budget; the message names the limit.
        XMLParseError: an encoding the count cannot read (not ASCII-based or UTF-16).
    """
    # A document has no more '<' than characters: a small one needs no count of them.
    size = len(data)
    if isinstance(data, bytes):
        # What the Web Connector sends: UTF-8 said so, or no declaration at all.
        if not data.startswith(_PLAIN_DECLARATIONS) and (
            data[:1] != b"<" or data[1:2] in {b"?", b"\x00"}
        ):
            _codec(data, what)
        tags = size if size <= limits.elements else data.count(b"<")
        equals = data.count(b"=")
    else:
        tags = size if size <= limits.elements else data.count("<")
        equals = data.count("=")
    # ('=' bounds the namespace declarations too: count "xmlns" only when it matters.)
    if tags <= limits.elements and equals <= limits.attributes and equals <= limits.namespaces:
        return
    counts = _fast_counts(data)
    if not _fast_over(counts, limits):
        return
    if not limits.exact:
        raise _counted_refusal(counts, limits, len(data), what)
    scanner = _Scanner(limits, what)
    scanner.scan(_ascii_view(data, what), final=True)


_NAME_END = re.compile(rb"[ \t\r\n/>]")
_ATTRIBUTE = re.compile(rb"[ \t\r\n]+([^ \t\r\n=/>\"'<]+)[ \t\r\n]*=[ \t\r\n]*")
_TAG_END = re.compile(rb"[ \t\r\n]*/?>")
_SKIPPED: Final = ((b"<!--", b"-->"), (b"<![CDATA[", b"]]>"), (b"<?", b"?>"))


class _Scanner:
    """Counts markup from ``pos`` on; stops before a construct that is not complete yet."""

    __slots__ = ("attributes", "elements", "end_tags", "gave_up", "limits", "namespaces",
                 "other", "pos", "what")  # fmt: skip

    def __init__(self, limits: Limits, what: str) -> None:
        self.limits = limits
        self.what = what
        self.elements = self.attributes = self.namespaces = self.other = self.end_tags = 0
        self.pos = 0
        # Markup no XML parser accepts: libxml2 stops there, so counting can too.
        self.gave_up = False

    def scan(self, data: bytes | bytearray, *, final: bool) -> None:
        """
        Count the complete constructs of ``data[pos:]``, checking the limits.

        An incomplete construct at the end is counted as far as it goes (a start
        tag's attributes so far are checked), then left for the next call unless
        *final*.  Raises XMLLimitError as soon as a count is over.
        """
        limits = self.limits
        pos = self.pos
        size = len(data)
        while not self.gave_up:
            lt = data.find(b"<", pos)
            if lt < 0:
                pos = size
                break
            if size - lt < 9 and not final:  # room to tell "<![CDATA[" from a name
                pos = lt
                break
            kind = data[lt + 1 : lt + 2]
            if kind in (b"!", b"?"):
                for opening, closing in _SKIPPED:
                    if data.startswith(opening, lt):
                        end = data.find(closing, lt + len(opening))
                        break
                else:  # a DOCTYPE (refused by the caller) or junk
                    self.gave_up = True
                    break
                if end < 0:
                    pos = lt
                    self.gave_up = final
                    break
                self.other += 1
                if self.other > limits.elements:
                    kinds = "comments, CDATA sections and processing instructions"
                    raise _over(self.what, limits.elements, kinds)
                pos = end + len(closing)
                continue
            if kind == b"/":
                end = data.find(b">", lt + 2)
                if end < 0:
                    pos = lt
                    self.gave_up = final
                    break
                self.end_tags += 1
                if self.end_tags > self.elements:  # an end tag with no start: not well-formed
                    self.gave_up = True
                    break
                pos = end + 1
                continue
            end = self._start_tag(data, lt, final=final)
            if end < 0:
                pos = lt
                break
            pos = end
        self.pos = pos

    def _start_tag(self, data: bytes | bytearray, lt: int, *, final: bool) -> int:
        """Count the start tag at *lt*; the offset after it, or -1 while incomplete."""
        limits = self.limits
        if self.elements + 1 > limits.elements:
            raise _over(self.what, limits.elements, "elements")
        name = _NAME_END.search(data, lt + 1)
        if name is None:
            self.gave_up = final
            return -1
        at = name.start()
        attributes = namespaces = 0
        while True:
            match = _ATTRIBUTE.match(data, at)
            if match is None:
                break
            quote_at = match.end()
            quote = data[quote_at : quote_at + 1]
            if quote not in (b'"', b"'"):
                # Unquoted (not XML), or the value has not arrived yet.
                self.gave_up = final or quote_at < len(data)
                return -1
            close = data.find(quote, quote_at + 1)
            if close < 0:
                self.gave_up = final
                return -1
            attribute = match.group(1)
            if attribute == b"xmlns" or attribute.startswith(b"xmlns:"):
                namespaces += 1
                if self.namespaces + namespaces > limits.namespaces:
                    raise _over(self.what, limits.namespaces, "namespace declarations")
            else:
                attributes += 1
                if self.attributes + attributes > limits.attributes:
                    raise _over(self.what, limits.attributes, "attributes")
            at = close + 1
        end = _TAG_END.match(data, at)
        if end is None:
            # Not the end of the tag: either more is to come, or it is malformed.
            self.gave_up = final or len(data) - at > 256
            return -1
        self.elements += 1
        self.attributes += attributes
        self.namespaces += namespaces
        return end.end()


class BodyBudget:
    """
    A request body read in pieces, its markup counted against *limits* as it arrives.

    :meth:`feed` each piece (it raises :class:`XMLLimitError` as soon as the body is
    over budget, so the rest need not be kept); :meth:`body` gives the whole body.
    Work is linear in the body: a construct still incomplete is looked at again only
    once the body has doubled past it.
    """

    __slots__ = ("_buffer", "_codec_known", "_counts", "_retry_at", "_scanner", "_scanning",
                 "_utf16", "limits", "what")  # fmt: skip

    def __init__(self, limits: Limits = ENVELOPE_LIMITS, what: str = "SOAP request") -> None:
        self.limits = limits
        self.what = what
        self._buffer = bytearray()
        self._counts = (0, 0, 0)
        self._scanner = _Scanner(limits, what)
        self._scanning = False
        self._codec_known = False
        self._utf16 = False
        self._retry_at = 0

    def __len__(self) -> int:
        return len(self._buffer)

    def feed(self, chunk: bytes) -> None:
        """Add *chunk*; raises XMLLimitError (or XMLParseError for the encoding) when refused."""
        buffer = self._buffer
        start = len(buffer)
        buffer += chunk
        tags, equals, xmlns = self._counts
        # "xmlns" may straddle two chunks: count from 4 bytes back, without double counting.
        back = max(0, start - 4)
        xmlns += buffer.count(b"xmlns", back) - buffer.count(b"xmlns", back, start)
        self._counts = (tags + chunk.count(b"<"), equals + chunk.count(b"="), xmlns)
        if not self._codec_known and len(buffer) >= 512:
            self._know_codec()
        if self._utf16 or not _fast_over(self._counts, self.limits):
            return
        if not self.limits.exact:
            raise _counted_refusal(self._counts, self.limits, len(buffer), self.what)
        if not self._codec_known:
            self._know_codec()
            if self._utf16:
                return
        if len(buffer) >= self._retry_at:
            scanner = self._scanner
            scanner.scan(buffer, final=False)
            pending = len(buffer) - scanner.pos
            self._retry_at = len(buffer) + max(pending, 1)

    def _know_codec(self) -> None:
        self._codec_known = True
        self._utf16 = _codec(bytes(self._buffer[:512]), self.what) is not None

    def body(self) -> bytes:
        """The whole body (its limits are checked again when it is parsed)."""
        return bytes(self._buffer)
