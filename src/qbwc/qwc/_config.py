"""QWCConfig: everything in a .QWC file, typed, and writing it."""

from __future__ import annotations

import enum
import uuid
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import attrs
from lxml import etree

from qbwc.exceptions import ConfigurationError
from qbwc.qbxml._types import format_guid
from qbwc.qwc._elements import (
    _BARE,
    _BRACED,
    _BY_FIELD,
    _DECLARATION,
    _ELEMENTS,
    _GUID_EXAMPLE,
    _PLACEHOLDERS,
    _SCHEDULER_TAGS,
    RECOMMENDED_DESCRIPTION,
    SAMPLE_GUIDS,
    AuthFlags,
    PersonalDataPref,
    QBType,
    Scheduler,
    Style,
    UnattendedModePref,
    _format_flags,
    _Problem,
)
from qbwc.qwc._read import _read
from qbwc.qwc._rules import _check

# --- converters for the constructor ---------------------------------------------------


def _to_uuid(value: object, field: str) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    tag = _BY_FIELD[field].tag
    if isinstance(value, str):
        text = value.strip()
        match = _BRACED.fullmatch(text)
        if match is not None:
            return uuid.UUID(match[1])
        if _BARE.fullmatch(text):
            return uuid.UUID(text)
    msg = f"{tag} must be a GUID like {_GUID_EXAMPLE}; got {value!r}"
    raise ConfigurationError(field, msg)


def _to_owner_id(value: uuid.UUID | str) -> uuid.UUID:
    return _to_uuid(value, "owner_id")


def _to_file_id(value: uuid.UUID | str) -> uuid.UUID:
    return _to_uuid(value, "file_id")


def _to_scheduler(value: Scheduler | timedelta | str | None) -> Scheduler | None:
    if value is None or isinstance(value, Scheduler):
        return value
    return Scheduler.every(value)


@attrs.frozen(kw_only=True)
class QWCConfig:
    """
    Everything in a ``.QWC`` file, typed.

    Attributes follow the elements (``app_url`` is ``AppURL``).  ``None``
    means the element is left out and the Web Connector's default applies.
    The defaults write an explicit, correct choice for a service that adds
    estimates and invoices: read-write, no personal data, unattended mode
    optional, Document style.

    *owner_id* identifies your application: generate it once with
    :func:`new_owner_id` and keep it in your settings.  *file_id* is per
    account and company file: :func:`new_file_id` or :func:`file_id_for`.
    Both accept a UUID or a GUID string, with or without braces.

    *strict* (default True) also enforces the Web Connector's own rules
    (https, no IP addresses, one domain); ``strict=False`` accepts a file the
    Web Connector would refuse.  It is not part of the file, nor of equality.

    Raises:
        ConfigurationError: a rule is broken; ``.field`` names the attribute
            and the message says the rule.
    """

    app_name: str
    app_url: str
    app_support: str
    user_name: str
    owner_id: uuid.UUID = attrs.field(converter=_to_owner_id)
    file_id: uuid.UUID = attrs.field(converter=_to_file_id)
    app_id: str = ""
    app_description: str = ""
    app_display_name: str | None = None
    app_unique_name: str | None = None
    cert_url: str | None = None
    qb_type: QBType = QBType.QBFS
    scheduler: Scheduler | None = attrs.field(default=None, converter=_to_scheduler)
    is_read_only: bool | None = False
    personal_data_pref: PersonalDataPref | None = PersonalDataPref.NOT_NEEDED
    unattended_mode_pref: UnattendedModePref | None = UnattendedModePref.OPTIONAL
    style: Style | None = Style.DOCUMENT
    auth_flags: AuthFlags | None = None
    notify: bool | None = None
    strict: bool = attrs.field(default=True, eq=False)
    #: Every problem a lenient :meth:`from_xml` found in the file (what
    #: :func:`problems` lists); empty for a config built in code.
    problems: tuple[str, ...] = attrs.field(default=(), eq=False, init=False)
    #: The problems that keep a leniently read file from being written.
    _unwritable: tuple[_Problem, ...] = attrs.field(default=(), eq=False, init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        found = _check(_values_of(self), strict=self.strict)
        if found:
            raise ConfigurationError(found[0].field, found[0].text)

    def to_xml(self) -> bytes:
        """
        The file's bytes: deterministic, ASCII (other characters as ``&#N;``).

        Starts with ``<?xml version="1.0"?>``, indents by two spaces and ends
        with a newline.

        Raises:
            ConfigurationError: the config was read leniently from a file that
                breaks a format rule (see :attr:`problems`): fix the value first.
        """
        self._refuse_unwritable()
        root = etree.Element("QBWCXML")
        for element in _ELEMENTS:
            value = getattr(self, element.field)
            if value is None:
                continue
            child = etree.SubElement(root, element.tag)
            if isinstance(value, Scheduler):
                unit = "minutes" if value.minutes is not None else "seconds"
                etree.SubElement(child, _SCHEDULER_TAGS[unit]).text = str(
                    value.minutes if value.minutes is not None else value.seconds
                )
            else:
                child.text = _format(value)
        body: bytes = etree.tostring(
            root, encoding="ascii", xml_declaration=False, pretty_print=True
        )
        return _DECLARATION + body

    @classmethod
    def from_xml(cls, data: bytes | str, *, strict: bool = True) -> QWCConfig:
        """
        Read a ``.QWC`` file, in any element order, encoding or indentation.

        With *strict* (the default) a file the Web Connector would refuse, or
        that has unknown, duplicated or whitespace-padded elements, raises.

        ``strict=False`` never raises for a value: it returns what the file
        holds and lists every problem in :attr:`problems`.  The first of
        duplicated elements wins, unknown elements are ignored, whitespace
        around values is dropped, and a missing or unreadable value takes its
        default: ``None`` for an optional element, the constructor's default
        for AppID, AppDescription and QBType, ``""`` for the other texts and
        the nil GUID for OwnerID and FileID.  A config read from a file that
        breaks a format rule cannot be written (:meth:`to_xml` raises) and
        :func:`attrs.evolve` checks it afresh.

        Raises:
            XMLParseError: not well-formed XML, too large, or with a DOCTYPE.
            ConfigurationError: strict: the first problem found (:func:`problems`
                lists them all); lenient: only when the root is not ``<QBWCXML>``.
        """
        values, found = _read(data)
        found += _check(values, strict=True)
        if not strict:
            return cls._lenient(values, found)
        if found:
            first = found[0]
            rest = len(found) - 1
            more = f" (and {rest} more; qbwc.qwc.problems() lists them all)" if rest else ""
            raise ConfigurationError(first.field, first.text + more)
        # An optional element the file leaves out stays out (None), whatever the
        # constructor's default for a new file is.
        for element in _ELEMENTS:
            if not element.required:
                values.setdefault(element.field, None)
        return cls(**values, strict=strict)

    @classmethod
    def _lenient(cls, values: dict[str, Any], found: list[_Problem]) -> QWCConfig:
        """What a file holds, with its problems listed, even when a value breaks a rule."""
        if found and found[0].field == "QBWCXML":
            raise ConfigurationError(found[0].field, found[0].text)
        for element in _ELEMENTS:
            if not element.required:
                values.setdefault(element.field, None)
        unwritable = tuple(problem for problem in found if problem.fatal)
        if unwritable:
            # The constructor would refuse these values: set them as read, with the
            # placeholders for what is missing (docs/qwc.md, "Reading and checking files").
            for field, placeholder in _PLACEHOLDERS.items():
                values.setdefault(field, placeholder)
            config = object.__new__(cls)
            for attribute in attrs.fields(cls):
                default = attribute.default
                value = values.get(attribute.name, default)
                object.__setattr__(config, attribute.name, value)
        else:
            config = cls(**values, strict=False)
        object.__setattr__(config, "strict", False)
        object.__setattr__(config, "problems", tuple(problem.text for problem in found))
        object.__setattr__(config, "_unwritable", unwritable)
        return config

    def _refuse_unwritable(self) -> None:
        """Raise the first format problem of a leniently read file, if it has one."""
        if self._unwritable:
            first = self._unwritable[0]
            msg = f"{first.text} (read leniently from a file; fix it before writing the file)"
            raise ConfigurationError(first.field, msg)

    def advice(self) -> list[str]:
        """Advisory findings: legal, but probably not what you want."""
        notes: list[str] = []
        if not self.app_description:
            notes.append(
                "AppDescription is empty: QuickBooks' authorisation dialog and the Web "
                "Connector show nothing under the application's name"
            )
        elif len(self.app_description) > RECOMMENDED_DESCRIPTION:
            notes.append(
                f"AppDescription is {len(self.app_description):,} characters; Intuit "
                f"recommends at most {RECOMMENDED_DESCRIPTION}"
            )
        for tag, value in (("OwnerID", self.owner_id), ("FileID", self.file_id)):
            if value in SAMPLE_GUIDS:
                notes.append(
                    f"{tag} is a GUID from a published sample, shared by every copy of it: "
                    "generate your own (qbwc.qwc.new_owner_id() / new_file_id())"
                )
        if any(ord(char) > 0xFF for char in self.app_name):
            notes.append(
                "AppName has characters outside Latin-1, which QuickBooks cannot store: "
                "its Integrated Applications list may show them as '?'"
            )
        if self.auth_flags is not None and self.qb_type is QBType.QBPOS:
            notes.append("AuthFlags only applies to QBType QBFS (QuickBooks Desktop)")
        if self.scheduler is not None and self.scheduler.interval < timedelta(minutes=1):
            notes.append(
                "Scheduler runs more often than once a minute ('Real Time' in the Web "
                "Connector): every run opens QuickBooks"
            )
        if urlsplit(self.app_url).scheme == "http":
            notes.append(
                "AppURL uses http: fine on localhost for development; a file for "
                "customers needs https"
            )
        return notes


def _values_of(config: QWCConfig) -> dict[str, Any]:
    return {element.field: getattr(config, element.field) for element in _ELEMENTS}


def _format(value: object) -> str:
    if isinstance(value, uuid.UUID):
        return format_guid(value)
    if isinstance(value, AuthFlags):
        return _format_flags(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, enum.Enum):
        return str(value.value)
    assert isinstance(value, str)
    return value
