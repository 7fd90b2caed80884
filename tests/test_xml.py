"""The one hardened parser for XML from outside the process."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from qbwc import _budget
from qbwc._budget import (
    ENVELOPE_LIMITS,
    BodyBudget,
    Limits,
    XMLLimitError,
    check_limits,
    qbxml_limits,
)
from qbwc._xml import parse_untrusted
from qbwc.exceptions import XMLParseError
from tests.reference import REFERENCE_DIR, require_reference

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

    @pytest.mark.parametrize("padding", [0, 2000], ids=["scanned", "prolog-read"])
    @pytest.mark.parametrize("as_text", [False, True], ids=["bytes", "str"])
    def test_doctype_found_in_small_and_large_documents(self, padding: int, as_text: bool) -> None:
        """A small document is scanned for the marker, a larger one has its prolog read."""
        text = (
            f"<?xml version='1.0'?>\n<!-- {'x' * padding} -->\n<!DOCTYPE a><a>{'y' * padding}</a>"
        )

        with pytest.raises(XMLParseError, match="DOCTYPE is not allowed"):
            parse_untrusted(text if as_text else text.encode())

    @pytest.mark.parametrize("padding", [0, 2000], ids=["scanned", "prolog-read"])
    def test_doctype_words_in_a_large_document_are_data(self, padding: int) -> None:
        """Past the prolog (escaped text, a comment), the words are no declaration."""
        data = f"<a>{'y' * padding}&lt;!DOCTYPE x&gt;<!-- <!DOCTYPE x> --></a>".encode()

        assert parse_untrusted(data).text == "y" * padding + "<!DOCTYPE x>"

    @pytest.mark.parametrize("as_text", [False, True], ids=["bytes", "str"])
    @pytest.mark.parametrize(
        "text",
        [
            "<?xml version='1.0'?><!DOCTYPE a><a>no bang but the DOCTYPE's</a>",
            "<?xml version='1.0'?><!DOCTYPE a><a>Hello!</a>",
            "<!DOCTYPE a><a/>",
        ],
    )
    def test_doctype_found_whatever_the_other_bangs(self, text: str, as_text: bool) -> None:
        """A small document is first looked at for a "!": a DOCTYPE always has one."""
        with pytest.raises(XMLParseError, match="DOCTYPE is not allowed"):
            parse_untrusted(text if as_text else text.encode())

    @pytest.mark.parametrize("as_text", [False, True], ids=["bytes", "str"])
    @pytest.mark.parametrize(
        "text", ["<a>Hello!</a>", "<a>no bang at all</a>", "<a><!-- ! --></a>"]
    )
    def test_bangs_that_are_no_doctype_are_data(self, text: str, as_text: bool) -> None:
        assert parse_untrusted(text if as_text else text.encode()).tag == "a"

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


class TestEmptyDocuments:
    """White space only is refused as empty, before libxml2 reads it."""

    @given(st.text(alphabet=" \t\r\n\x0b\x0c\u2003\u00a0", max_size=5), st.booleans())
    def test_white_space_is_empty(self, blank: str, as_bytes: bool) -> None:
        """White space only (as strip() sees it) is refused as empty, bytes or str."""
        from qbwc._xml import parse_untrusted

        data: bytes | str = blank.encode("utf-8") if as_bytes else blank
        expected = not data.strip()
        with pytest.raises(XMLParseError) as caught:
            parse_untrusted(data, what="doc")
        assert (str(caught.value) == "doc: empty") == expected


class TestSharedXMLText:
    """The one XML escaper writes what lxml writes."""

    @pytest.mark.parametrize("encoding", ["unicode", "us-ascii"])
    @given(text=st.text())
    def test_escape_text_is_what_lxml_writes(self, text: str, encoding: str) -> None:
        """escape_text gives what lxml writes for the same element text, in Unicode or ASCII."""
        from qbwc._xml import NOT_XML_CHAR, escape_text

        text = NOT_XML_CHAR.sub("", text)
        element = etree.Element("a")
        element.text = text or None
        written = etree.tostring(element, encoding=encoding)
        if isinstance(written, bytes):
            written = written.decode("ascii")

        escaped = escape_text(text, ascii_only=encoding == "us-ascii")
        assert f"<a>{escaped}</a>" == (written if text else "<a></a>")

    @pytest.mark.parametrize("encoding", ["unicode", "us-ascii"])
    @given(text=st.text())
    def test_escape_attribute_is_what_lxml_writes(self, text: str, encoding: str) -> None:
        """With attribute=True, what lxml writes for a double-quoted attribute value."""
        from qbwc._xml import NOT_XML_CHAR, escape_text

        text = NOT_XML_CHAR.sub("", text)
        element = etree.Element("a", b=text)
        written = etree.tostring(element, encoding=encoding)
        if isinstance(written, bytes):
            written = written.decode("ascii")

        escaped = escape_text(text, attribute=True, ascii_only=encoding == "us-ascii")
        assert f'<a b="{escaped}"/>' == written

    @pytest.mark.parametrize("attribute", [False, True])
    @given(text=st.text(st.sampled_from("&<>\"'\r\n\t]>x\u00e9\U0001f600")))
    def test_markup_characters(self, text: str, attribute: bool) -> None:
        """Markup, white space and non-ASCII read back as the same text."""
        from qbwc._xml import escape_text

        for ascii_only in (False, True):
            escaped = escape_text(text, attribute=attribute, ascii_only=ascii_only)
            if attribute:
                root = etree.fromstring(f'<a b="{escaped}"/>')
                assert root.get("b") == text
            else:
                root = etree.fromstring(f"<a>{escaped}</a>")
                assert (root.text or "") == text
            assert escaped.isascii() or not ascii_only


# --- the budget on elements, attributes and namespace declarations ---------------------------

# Markup in text, which the fast counts see and the scan must not: forces the scan.
_NOISE = "<![CDATA[" + "<a b='c'> xmlns= " * 80 + "]]>"


def _document(kind: str, count: int, *, noise: bool = False) -> bytes:
    """A document with *count* elements, attributes or namespace declarations in all."""
    text = _NOISE if noise else ""
    if kind == "elements":
        return f"<r>{text}{'<e/>' * (count - 1)}</r>".encode()
    if kind == "attributes":
        attributes = "".join(f' a{i}="v"' for i in range(count))
        return f"<r{attributes}>{text}</r>".encode()
    declarations = "".join(f' xmlns:n{i}="urn:{i}"' for i in range(count))
    return f"<r{declarations}>{text}</r>".encode()


def _limit(kind: str, limits: Limits = ENVELOPE_LIMITS) -> int:
    return {
        "elements": limits.elements,
        "attributes": limits.attributes,
        "namespaces": limits.namespaces,
    }[kind]


_KIND_WORDS = {
    "elements": "elements",
    "attributes": "attributes",
    "namespaces": "namespace declarations",
}


class TestBudget:
    @pytest.mark.parametrize("noise", [False, True], ids=["fast-count", "scan"])
    @pytest.mark.parametrize("over", [0, 1], ids=["at-limit", "one-over"])
    @pytest.mark.parametrize("kind", ["elements", "attributes", "namespaces"])
    def test_each_limit_exactly(self, kind: str, over: int, noise: bool) -> None:
        """At the limit a document parses; one more is refused naming the limit, unparsed."""
        data = _document(kind, _limit(kind) + over, noise=noise)
        if not over:
            root = parse_untrusted(data, limits=ENVELOPE_LIMITS)
            assert root.tag == "r"
            return
        words = f"document: more than {_limit(kind):,} {_KIND_WORDS[kind]}"
        with pytest.raises(XMLLimitError, match=words):
            parse_untrusted(data, limits=ENVELOPE_LIMITS)

    @pytest.mark.parametrize("kind", ["elements", "attributes", "namespaces"])
    def test_a_flood_is_refused_after_bounded_work(
        self, kind: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """100,000 of a kind: at most limit + 1 tags and attributes looked at, never parsed."""
        calls = {"tags": 0, "attributes": 0, "parses": 0}
        start_tag = _budget._Scanner._start_tag
        attribute = _budget._ATTRIBUTE

        def counted_tag(self: _budget._Scanner, *args: Any, **kwargs: Any) -> int:
            calls["tags"] += 1
            return start_tag(self, *args, **kwargs)

        class CountedPattern:
            def match(self, *args: Any) -> Any:
                calls["attributes"] += 1
                return attribute.match(*args)

        def no_parse(*args: Any, **kwargs: Any) -> Any:
            calls["parses"] += 1
            raise AssertionError("parsed")

        monkeypatch.setattr(_budget._Scanner, "_start_tag", counted_tag)
        monkeypatch.setattr(_budget, "_ATTRIBUTE", CountedPattern())
        monkeypatch.setattr(etree, "fromstring", no_parse)
        with pytest.raises(XMLLimitError, match=_KIND_WORDS[kind]):
            parse_untrusted(_document(kind, 100_000), limits=ENVELOPE_LIMITS)
        assert calls["parses"] == 0
        assert calls["tags"] <= ENVELOPE_LIMITS.elements + 1
        most = ENVELOPE_LIMITS.attributes + ENVELOPE_LIMITS.namespaces + 1
        assert calls["attributes"] <= most

    @given(
        st.lists(
            st.tuples(
                st.integers(0, 4),  # attributes
                st.integers(0, 2),  # namespace declarations
                st.sampled_from(["", "x", "a &lt; b", "<![CDATA[<i a='='>xmlns]]>", "<!--<=-->"]),
                st.booleans(),  # a processing instruction after it
            ),
            min_size=1,
            max_size=12,
        ),
        st.integers(1, 12),
        st.integers(0, 20),
        st.integers(0, 6),
        st.lists(st.integers(1, 40), min_size=1, max_size=8),
    )
    def test_the_decision_is_the_exact_count(
        self,
        elements: list[tuple[int, int, str, bool]],
        max_elements: int,
        max_attributes: int,
        max_namespaces: int,
        cuts: list[int],
    ) -> None:
        """Refused iff a count is over its limit (fast count or scan); streaming agrees."""
        parts = []
        for index, (attributes, declarations, text, pi) in enumerate(elements):
            names = "".join(f" a{i}='{'=' * i}'" for i in range(attributes))
            names += "".join(f' xmlns:n{index}x{i}="u{i}"' for i in range(declarations))
            parts.append(f"<e{names}>{text}</e>{'<?pi x=1?>' if pi else ''}")
        document = f"<r>{''.join(parts)}</r>"
        data = document.encode()
        counts = (
            len(elements) + 1,
            sum(a for a, _, _, _ in elements),
            sum(d for _, d, _, _ in elements),
        )
        limits = Limits(max_elements, max_attributes, max_namespaces)
        over = counts[0] > max_elements or counts[1] > max_attributes or counts[2] > max_namespaces
        others = sum(pi for _, _, _, pi in elements) + sum(
            t.startswith("<") for _, _, t, _ in elements
        )
        refused = over or others > max_elements
        for value in (data, document):
            if refused:
                with pytest.raises(XMLLimitError):
                    check_limits(value, limits, "doc")
            else:
                check_limits(value, limits, "doc")
                assert parse_untrusted(value, limits=limits).tag == "r"
        stream = BodyBudget(limits, "doc")
        at = 0
        try:
            for cut in cuts * 20:
                stream.feed(data[at : at + cut])
                at += cut
            stream.feed(data[at:])
        except XMLLimitError:
            assert refused  # never a refusal the whole document would not get
        else:
            assert stream.body() == data

    def test_streaming_refuses_a_flood_in_its_first_piece(self) -> None:
        """Fed 64 KiB at a time, each flood is refused by the first piece."""
        for kind in ("elements", "attributes", "namespaces"):
            data = _document(kind, 200_000)
            budget = BodyBudget()
            with pytest.raises(XMLLimitError, match=_KIND_WORDS[kind]):
                budget.feed(data[:65536])
            assert len(budget) == 65536

    def test_utf16_is_counted_too(self) -> None:
        """A UTF-16 document is transcoded for the count: a flood refused, a small one parsed."""
        flood = _document("elements", 1000).decode().encode("utf-16")
        with pytest.raises(XMLLimitError, match="elements"):
            parse_untrusted(flood, limits=ENVELOPE_LIMITS)
        small = _document("attributes", 10, noise=True).decode().encode("utf-16")
        assert len(parse_untrusted(small, limits=ENVELOPE_LIMITS).attrib) == 10

    @pytest.mark.parametrize(
        "data",
        [
            b'<?xml version="1.0" encoding="IBM037"?><r/>',
            b'<?xml version="1.0" encoding="UTF-7"?><r/>',
            b'<?xml version="1.0" encoding="ISO-2022-JP"?><r/>',
            "<r/>".encode("utf-32"),
            "<r/>".encode("utf-32-le"),
            "<?xml version='1.0'?><r/>".encode("cp037"),
        ],
        ids=["ebcdic-declared", "utf-7", "iso-2022-jp", "utf-32-bom", "ucs-4", "ebcdic-bytes"],
    )
    def test_encodings_the_count_cannot_read_are_refused(self, data: bytes) -> None:
        """Where '<' is not the byte 0x3C the count would be wrong: refused, naming the encoding."""
        with pytest.raises(XMLParseError, match=r"encoding .* is not supported"):
            parse_untrusted(data, limits=ENVELOPE_LIMITS)

    @pytest.mark.parametrize("name", ["utf-8", "UTF-8", "us-ascii", "ISO-8859-1", "windows-1252"])
    def test_ascii_based_encodings_are_read(self, name: str) -> None:
        """A declared ASCII-based encoding is counted as it is."""
        data = f'<?xml version="1.0" encoding="{name}"?><r a="1"/>'.encode()
        assert parse_untrusted(data, limits=ENVELOPE_LIMITS).get("a") == "1"


def _qbxml_samples() -> list[Path]:
    folder = REFERENCE_DIR / "qbxml"
    found = sorted(folder.rglob("*.xml")) if folder.is_dir() else []
    return [p for p in found if b"QBXMLMsgsRs" in p.read_bytes()]


class TestQBXMLBudget:
    def test_proportional_to_size(self) -> None:
        """The budget grows with the document: a '<' per 8 characters, a '=' per 16, 64 xmlns."""
        assert qbxml_limits(0) == Limits(1024, 1024, 64, exact=False)
        assert qbxml_limits(8_000_000) == Limits(1_001_024, 501_024, 64, exact=False)
        assert type(qbxml_limits(901)) is Limits
        assert qbxml_limits(901).exact is False

    @pytest.mark.parametrize(
        "path", _qbxml_samples() or [None], ids=lambda p: p.name if p else "absent"
    )
    def test_every_real_response_is_within_budget(self, path: Path | None) -> None:
        """Each real qbXML response sample passes its budget."""
        if path is None:
            require_reference()
            pytest.skip("no qbXML response samples")
        text = path.read_text("utf-8", errors="replace")
        check_limits(text, qbxml_limits(len(text)), "qbXML response")

    @pytest.mark.parametrize(
        ("flood", "words"),
        [
            ("<a/>" * 300_000, "'<' (tags)"),
            ("<a" + "".join(f" b{i}=''" for i in range(300_000)) + "/>", "'=' (attributes)"),
            ("<a" + "".join(f" xmlns:n{i}='u'" for i in range(65)) + "/>", "'xmlns'"),
        ],
        ids=["elements", "attributes", "namespaces"],
    )
    def test_a_flood_is_refused(self, flood: str, words: str) -> None:
        """parse_response refuses markup out of proportion to the size, naming the limit."""
        from qbwc.qbxml import parse_response

        text = f"<QBXML><QBXMLMsgsRs>{flood}</QBXMLMsgsRs></QBXML>"
        with pytest.raises(XMLLimitError, match=f"qbXML response: .*{re.escape(words)}.*at most"):
            parse_response(text)


@pytest.mark.parametrize("declaration", _budget._PLAIN_DECLARATIONS)
@given(rest=st.binary(max_size=64))
def test_plain_declarations_are_what_the_encoding_check_would_accept(
    declaration: bytes, rest: bytes
) -> None:
    # check_limits skips _codec for these declarations: _codec must find them ASCII-based.
    assert _budget._codec(declaration + rest, "x") is None
