"""The one hardened parser for XML from outside the process."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qbwc._xml import parse_untrusted
from qbwc.exceptions import XMLParseError

LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
    b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>\n<lolz>&lol2;</lolz>'
)
XXE = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>'


class TestParseUntrusted:
    def test_plain_document(self) -> None:
        """A well-formed document parses; comments are dropped, processing instructions kept."""
        root = parse_untrusted(b'<?xml version="1.0"?><?qbxml version="13.0"?><!-- c --><a>x</a>')

        assert root.tag == "a"
        assert root.text == "x"

    @pytest.mark.parametrize("data", [LAUGHS, XXE, LAUGHS.decode(), b"\xef\xbb\xbf" + XXE])
    def test_doctype_refused_before_parsing(self, data: bytes | str) -> None:
        """Billion laughs and external entities are refused with one message, bytes or str."""
        with pytest.raises(XMLParseError, match="document: a DOCTYPE is not allowed"):
            parse_untrusted(data)

    def test_doctype_after_comment_and_pi_refused(self) -> None:
        """A DOCTYPE behind comments and processing instructions is still found in the prolog."""
        data = b"<?xml version='1.0'?>\n<!-- x -->\n<?pi y?>\n<!DOCTYPE a><a/>"

        with pytest.raises(XMLParseError, match="DOCTYPE is not allowed"):
            parse_untrusted(data)

    def test_doctype_in_utf16_refused_after_parsing(self) -> None:
        """An encoding the prolog scan cannot read is still checked once parsed."""
        data = '<?xml version="1.0" encoding="utf-16"?><!DOCTYPE a><a/>'.encode("utf-16")

        with pytest.raises(XMLParseError, match="DOCTYPE is not allowed"):
            parse_untrusted(data)

    def test_doctype_text_inside_content_is_data(self) -> None:
        """The words "<!DOCTYPE" escaped inside an element are text, not a declaration."""
        root = parse_untrusted(b"<a>&lt;!DOCTYPE x&gt;</a>")

        assert root.text == "<!DOCTYPE x>"

    def test_size_bound(self) -> None:
        """A document over the bound is refused before it is parsed."""
        with pytest.raises(XMLParseError, match="request: 11 bytes, at most 10"):
            parse_untrusted(b"<a>xxxx</a>", max_bytes=10, what="request")

    @pytest.mark.parametrize("data", [b"", b"   ", "", b"<a>", b"<a></b>", b"\x00\x01"])
    def test_malformed(self, data: bytes | str) -> None:
        """Empty and malformed input gets XMLParseError, never an lxml exception."""
        with pytest.raises(XMLParseError):
            parse_untrusted(data)

    @given(st.binary(max_size=200) | st.text(max_size=200))
    def test_garbage_gives_only_xml_parse_error(self, data: bytes | str) -> None:
        """Whatever comes in, the result is an element or XMLParseError."""
        with contextlib.suppress(XMLParseError):
            parse_untrusted(data)


class TestSharedXMLText:
    @given(st.text())
    def test_xml_safe_is_the_char_production(self, text: str) -> None:
        """xml_safe agrees with NOT_XML_CHAR, the one definition of what XML 1.0 can carry."""
        from qbwc._xml import NOT_XML_CHAR, xml_safe

        assert xml_safe(text) == (NOT_XML_CHAR.search(text) is None)

    @given(st.text())
    def test_escape_text_is_what_lxml_writes(self, text: str) -> None:
        """escape_text gives the bytes lxml writes for the same element text."""
        from lxml import etree

        from qbwc._xml import NOT_XML_CHAR, escape_text

        text = NOT_XML_CHAR.sub("", text)
        element = etree.Element("a")
        element.text = text or None
        written = etree.tostring(element, encoding="unicode")

        assert f"<a>{escape_text(text)}</a>" == (written if text else "<a></a>")
