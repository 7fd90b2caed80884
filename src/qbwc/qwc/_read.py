"""Reading a .QWC file: every element's value, and every problem found on the way."""

from __future__ import annotations

import difflib
import uuid
from typing import Any

from lxml import etree

from qbwc._xml import parse_untrusted
from qbwc.exceptions import ConfigurationError, XMLParseError
from qbwc.qwc._elements import (
    _BARE,
    _BRACED,
    _BY_TAG,
    _DEFAULTED,
    _DIGITS,
    _ELEMENTS,
    _GUID_EXAMPLE,
    _HEX,
    _SCHEDULER_TAGS,
    MAX_FILE_BYTES,
    AuthFlags,
    Scheduler,
    _Element,
    _Kind,
    _Problem,
)
from qbwc.qwc._rules import _check

# --- reading --------------------------------------------------------------------------


def _suggest(tag: str) -> str:
    lowered = {known.lower(): known for known in _BY_TAG}
    if tag.lower() in lowered:
        return f" (did you mean <{lowered[tag.lower()]}>? Names are case-sensitive)"
    close = difflib.get_close_matches(tag, list(_BY_TAG), n=1, cutoff=0.75)
    return f" (did you mean <{close[0]}>?)" if close else ""


def _read_value(element: _Element, text: str) -> tuple[Any, list[_Problem]]:
    """Convert one element's text; the value is None when it cannot be converted."""
    tag, field = element.tag, element.field
    if element.kind in (_Kind.TEXT, _Kind.URL):
        return text, []
    if element.kind is _Kind.GUID:
        match = _BRACED.fullmatch(text)
        if match is not None:
            return uuid.UUID(match[1]), []
        if _BARE.fullmatch(text):
            return uuid.UUID(text), [
                _Problem(field, f"{tag} must be in braces, like {_GUID_EXAMPLE}", fatal=False)
            ]
        return None, [
            _Problem(field, f"{tag} must be a GUID in braces, like {_GUID_EXAMPLE}; got {text!r}")
        ]
    if element.kind is _Kind.ENUM:
        assert element.enum is not None
        allowed = [str(member.value) for member in element.enum]
        for member in element.enum:
            if member.value == text:
                return member, []
        hint = [value for value in allowed if value.lower() == text.lower()]
        case = f" (names are case-sensitive: {hint[0]})" if hint else ""
        return None, [
            _Problem(field, f"{tag} must be one of {', '.join(allowed)}; got {text!r}{case}")
        ]
    if element.kind is _Kind.BOOL:
        if text.lower() in ("true", "false"):
            return text.lower() == "true", []
        rule = f"{tag} must be true or false; got {text!r}"
        if tag == "Notify":
            # The Web Connector turns notification on for "true" and off for anything else.
            return False, [_Problem(field, rule, fatal=False)]
        return None, [_Problem(field, rule)]
    if element.kind is _Kind.FLAGS:
        match = _HEX.fullmatch(text)
        if match is None or int(match[1], 16) > 0xF:
            return None, [
                _Problem(
                    field,
                    "AuthFlags must be a hex value from 0x0 to 0xF (the Web Connector "
                    f"refuses others with QBWC1034); got {text!r}",
                )
            ]
        return AuthFlags(int(match[1], 16)), []
    raise AssertionError(element)  # pragma: no cover - the scheduler is read separately


def _read_scheduler(node: etree._Element) -> tuple[Scheduler | None, list[_Problem]]:
    found: list[_Problem] = []
    chosen: tuple[str, etree._Element] | None = None
    for child in node:
        if not isinstance(child.tag, str):
            continue
        unit = {tag: unit for unit, tag in _SCHEDULER_TAGS.items()}.get(child.tag)
        if unit is None:
            found.append(
                _Problem(
                    "scheduler",
                    f"Scheduler has an unknown element <{child.tag}>; use RunEveryNMinutes "
                    "or RunEveryNSeconds",
                    fatal=False,
                )
            )
        elif chosen is None:
            chosen = (unit, child)
        else:
            found.append(
                _Problem(
                    "scheduler",
                    "Scheduler has more than one interval; the Web Connector uses only "
                    f"the first (<{chosen[1].tag}>): keep one",
                    fatal=False,
                )
            )
    if chosen is None:
        found.append(
            _Problem(
                "scheduler",
                "Scheduler is empty: put RunEveryNMinutes or RunEveryNSeconds in it, "
                "or leave it out",
                fatal=False,
            )
        )
        return None, found
    unit, child = chosen
    text = (child.text or "").strip()
    if not _DIGITS.fullmatch(text):
        found.append(
            _Problem("scheduler", f"Scheduler/{child.tag} must be a whole number; got {text!r}")
        )
        return None, found
    try:
        scheduler = Scheduler(**{unit: int(text)})
    except ConfigurationError as exc:
        found.append(_Problem("scheduler", exc.rule))
        return None, found
    return scheduler, found


def _read(data: bytes | str) -> tuple[dict[str, Any], list[_Problem]]:
    """The values that could be read from a file, and every problem met on the way."""
    root = parse_untrusted(data, max_bytes=MAX_FILE_BYTES, what="QWC file")
    if root.tag != "QBWCXML":
        return {}, [_Problem("QBWCXML", f"the root element must be <QBWCXML>; got <{root.tag}>")]
    values: dict[str, Any] = {}
    found: list[_Problem] = []
    seen: dict[str, int] = {}
    for child in root:
        if not isinstance(child.tag, str):
            continue  # a processing instruction
        tag = child.tag
        seen[tag] = seen.get(tag, 0) + 1
        element = _BY_TAG.get(tag)
        if element is None:
            if "password" in tag.lower():
                found.append(
                    _Problem(
                        tag,
                        f"<{tag}>: a .QWC never holds a password; the Web Connector asks "
                        "the user for it and stores it encrypted: remove the element",
                        fatal=False,
                    )
                )
            else:
                found.append(
                    _Problem(
                        tag,
                        f"<{tag}> is not a QWC element{_suggest(tag)}; the Web Connector "
                        "ignores it",
                        fatal=False,
                    )
                )
            continue
        if seen[tag] == 2:
            found.append(
                _Problem(
                    element.field,
                    f"{tag} appears more than once; keep one (this reads the first)",
                    fatal=False,
                )
            )
        if seen[tag] > 1:
            continue
        if element.kind is _Kind.SCHEDULER:
            values["scheduler"], more = _read_scheduler(child)
            found += more
            continue
        if len(child):
            found.append(_Problem(element.field, f"{tag} must hold text, not elements"))
            continue
        raw = child.text or ""
        text = raw.strip()
        if text != raw:
            found.append(
                _Problem(
                    element.field,
                    f"{tag} has spaces or line breaks around its value; remove them (the "
                    "Web Connector may keep them)",
                    fatal=False,
                )
            )
        value, more = _read_value(element, text)
        found += more
        if value is not None:
            values[element.field] = value
    for element in _ELEMENTS:
        if element.required and element.tag not in seen:
            found.append(
                _Problem(
                    element.field,
                    f"{element.tag} is missing: every .QWC needs it (the Web Connector "
                    "refuses the file with QBWC1039)",
                    fatal=element.tag not in _DEFAULTED,
                )
            )
    if values.get("scheduler", 0) is None:
        del values["scheduler"]
    return values, found


def problems(data: bytes | str) -> list[str]:
    """
    Every problem in a ``.QWC`` file, each naming the element; empty when it is good.

    Checks what strict :meth:`QWCConfig.from_xml` checks, but goes on after the
    first problem.  Not well-formed XML is one problem.
    """
    try:
        values, found = _read(data)
    except XMLParseError as exc:
        return [str(exc)]
    found += _check(values, strict=True)
    return [problem.text for problem in found]
