"""
Text in qbXML requests: the text policy's transliteration and XML escaping.

The output is pure ASCII: characters U+00A0 to U+00FF are written as numeric
character references (``é`` → ``&#233;``), which is what QuickBooks Desktop
reads reliably.  Private to the builder (``_build``).
"""

from __future__ import annotations

import unicodedata
from typing import Final, Literal

from qbwc._xml import escape_text
from qbwc.qbxml._rules import _at, _error

__all__ = ["TEXT_POLICIES", "TextPolicy"]

#: ``"strict"`` refuses text outside ISO-8859-1; ``"transliterate"`` maps it to
#: ASCII where it can and refuses the rest.
TextPolicy = Literal["strict", "transliterate"]
TEXT_POLICIES: Final = ("strict", "transliterate")


def _strict(text_policy: str) -> bool:
    if text_policy not in TEXT_POLICIES:
        raise _error("text_policy", f"{text_policy!r} is not one of {', '.join(TEXT_POLICIES)}")
    return text_policy == "strict"


#: Transliterations for characters outside ISO-8859-1 that NFKD does not
#: reduce to Latin-1 by itself (smart punctuation, currency, letters with
#: strokes, ligatures, invisible characters).
_TRANSLIT: Final[dict[int, str]] = {
    0x2018: "'", 0x2019: "'", 0x201A: "'", 0x201B: "'", 0x2032: "'", 0x2035: "'",
    0x2039: "<", 0x203A: ">",
    0x201C: '"', 0x201D: '"', 0x201E: '"', 0x201F: '"', 0x2033: '"', 0x2036: '"',
    0x2010: "-", 0x2011: "-", 0x2012: "-", 0x2013: "-", 0x2014: "-", 0x2015: "-",
    0x2212: "-", 0x2043: "-",
    0x2022: "*", 0x2023: "*",
    0x2026: "...", 0x20AC: "EUR", 0x2122: "TM", 0x2030: "o/oo",
    0x2190: "<-", 0x2192: "->", 0x2264: "<=", 0x2265: ">=", 0x2260: "!=",
    0x0141: "L", 0x0142: "l", 0x0110: "D", 0x0111: "d", 0x0126: "H", 0x0127: "h",
    0x0166: "T", 0x0167: "t", 0x0131: "i", 0x0152: "OE", 0x0153: "oe", 0x0192: "f",
    0x02C6: "^", 0x02DC: "~", 0x02BC: "'", 0x02B9: "'", 0x02BA: '"',
    0x200B: "", 0x200C: "", 0x200D: "", 0x2060: "", 0xFEFF: "",
}  # fmt: skip


def _char_name(char: str) -> str:
    name = unicodedata.name(char, "")
    code = f"U+{ord(char):04X}"
    return f"{code} ({name})" if name else code


def _translit_char(char: str) -> str | None:
    code = ord(char)
    if 0x80 <= code <= 0x9F:  # a cp1252 byte decoded as Latin-1
        try:
            char = bytes([code]).decode("cp1252")
        except UnicodeDecodeError:
            return None
        code = ord(char)
        if code <= 0xFF:
            return char
    mapped = _TRANSLIT.get(code)
    if mapped is not None:
        return mapped
    decomposed = unicodedata.normalize("NFKD", char)
    stripped = unicodedata.normalize(
        "NFC", "".join(c for c in decomposed if not unicodedata.combining(c))
    )
    if stripped == char:
        return None
    parts: list[str] = []
    for c in stripped:
        if ord(c) < 0x7F or 0xA0 <= ord(c) <= 0xFF:
            parts.append(c)
        elif (mapped := _TRANSLIT.get(ord(c))) is not None:
            parts.append(mapped)
        else:
            return None
    return "".join(parts)


def _transliterate(value: str, path: str) -> str:
    value = unicodedata.normalize("NFC", value)
    if all(ord(c) < 0x7F for c in value):
        return value
    out: list[str] = []
    for index, char in enumerate(value, 1):
        code = ord(char)
        if code < 0x7F or 0xA0 <= code <= 0xFF:
            out.append(char)
            continue
        mapped = _translit_char(char)
        if mapped is None or any(ord(c) > 0xFF or 0x7F <= ord(c) <= 0x9F for c in mapped):
            rule = (
                f"character {index} is {_char_name(char)}: outside ISO-8859-1, which is all "
                "QuickBooks Desktop stores, and it has no ASCII transliteration"
            )
            raise _error(path, rule)
        out.append(mapped)
    return "".join(out)


def _careful(value: str, path: str, strict: bool, attribute: bool) -> tuple[str, str]:
    """The stored text and its escaped form, for text beyond plain printable ASCII."""
    if not strict:
        value = _transliterate(value, path)
    for index, char in enumerate(value, 1):
        code = ord(char)
        if 0x20 <= code < 0x7F or char in "\n\t\r" or 0xA0 <= code <= 0xFF:
            continue
        if code < 0x20 or 0xD800 <= code <= 0xDFFF or code in (0xFFFE, 0xFFFF):
            rule = f"character {index} is {_char_name(char)}, which XML does not allow"
            raise _error(path, rule)
        if code <= 0x9F:
            rule = (
                f"character {index} is {_char_name(char)}, a control character QuickBooks "
                "cannot store (often a Windows-1252 character decoded as Latin-1; "
                "text_policy='transliterate' maps it)"
            )
            raise _error(path, rule)
        rule = (
            f"character {index} is {_char_name(char)}: outside ISO-8859-1, which is all "
            "QuickBooks Desktop stores (text_policy='transliterate' maps punctuation "
            "and accented letters to ASCII)"
        )
        raise _error(path, rule)
    # Latin-1 beyond ASCII as character references (é → &#233;), the rest as lxml
    # writes it; a raw CR would reach QuickBooks as LF, its reference survives.
    return value, escape_text(value, attribute=attribute, ascii_only=True)


def _escape(value: str, path: str, name: str, strict: bool) -> tuple[str, str]:
    """``(stored text, escaped text)`` for element content of field *name* at *path*."""
    if value.isascii() and value.isprintable():
        return value, escape_text(value)
    return _careful(value, _at(path, name), strict, attribute=False)


def _escape_attribute(value: str, path: str, name: str, strict: bool) -> tuple[str, str]:
    """``(stored text, escaped text)`` for a double-quoted attribute value."""
    if value.isascii() and value.isprintable():
        return value, escape_text(value, attribute=True)
    return _careful(value, _at(path, name), strict, attribute=True)


def _length_rule(length: int, max_len: int) -> str:
    return f"{length:,} characters, at most {max_len:,}"
