"""
qbwc's own XML Schema, generated from the model specs (one source of truth).

:func:`generate_xsd` walks any qbfield model: each model class becomes a
complex type whose sequence follows the spec order, choice groups become
``xsd:choice`` (nested, with sequences for grouped alternatives), repeated fields
``maxOccurs="unbounded"``, limits become facets.  The roots are every request and
every response of the vocabulary's tables (``qbwc.qbxml._models``: REQUESTS,
RESPONSES), whichever module defines each model.

``python -m qbwc.qbxml._xsd [PATH]`` writes ``schemas/qbxml.xsd``; a test checks
that the committed file equals what this module generates.

:func:`validate` checks a document against the shipped schema.  The schema
cannot see the ``<?qbxml version?>`` processing instruction, so ``validate``
checks it separately.
"""

from __future__ import annotations

import hashlib
import importlib
import sys
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Final, cast

from lxml import etree

from qbwc._resources import schema_path
from qbwc._xml import parse_untrusted
from qbwc.exceptions import QBXMLValidationError
from qbwc.qbxml._build import (
    MESSAGE_SET_ID_MAX,
    ON_ERROR_VALUES,
    REQUEST_ID_MAX,
)
from qbwc.qbxml._read import version_instruction
from qbwc.qbxml._request_kinds import request_element, rq_level_fields
from qbwc.qbxml._types import (
    DURATION_PATTERN,
    Kind,
    Ref,
    Spec,
    choice_path,
    is_inline,
    specs,
    tag_of,
    vocabulary,
)

__all__ = ["generate_xsd", "main", "validate"]

#: The module that holds the hand-written responses' ErrorRecovery aggregate.
_RESPONSE_MODULE: Final = "qbwc.qbxml._responses"

XSD: Final = "http://www.w3.org/2001/XMLSchema"
_X: Final = "{" + XSD + "}"
_SCHEMA_FILE: Final = "qbxml.xsd"


_SIMPLE: Final[dict[Kind, tuple[str, dict[str, str]]]] = {
    # kind: (base, {facet: value})
    Kind.AMT: ("xsd:string", {"pattern": r"[+\-]?[0-9]{1,13}(\.[0-9]{2})?"}),
    Kind.PRICE: ("xsd:string", {"pattern": r"[+\-]?[0-9]{1,10}(\.[0-9]{1,5})?"}),
    Kind.QUAN: ("xsd:string", {"pattern": r"[+\-]?[0-9]{1,10}(\.[0-9]{1,5})?"}),
    Kind.PERCENT: ("xsd:string", {"pattern": r"[+\-]?[0-9]{1,10}(\.[0-9]{1,5})?"}),
    Kind.FLOAT: ("xsd:decimal", {}),
    Kind.INT: ("xsd:integer", {}),
    Kind.BOOL: ("xsd:boolean", {}),
    Kind.DATE: ("xsd:date", {"pattern": "[0-9]{4}-[0-9]{2}-[0-9]{2}"}),
    Kind.DATETIME: (
        "xsd:string",
        {
            "pattern": (
                r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(T[0-9]{1,2}(:[0-9]{1,2}"
                r"(:[0-9]{1,2}([+\-][0-9]{1,2}:[0-9]{1,2})?)?)?)?"
            )
        },
    ),
    Kind.DURATION: ("xsd:string", {"pattern": DURATION_PATTERN}),
    Kind.GUID: (
        "xsd:string",
        {"pattern": r"0|\{[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}\}"},
    ),
}


def _error_recovery() -> type | None:
    try:
        module = importlib.import_module(_RESPONSE_MODULE)
    except ImportError:
        return None
    found = getattr(module, "ErrorRecovery", None)
    return found if isinstance(found, type) else None


def _request_roots() -> list[tuple[str, type, bool, frozenset[str]]]:
    """``(*Rq element, model, whole, fields beside the aggregate)`` of every request type."""
    tables = vocabulary()
    roots = []
    for name in sorted(tables.REQUESTS):
        cls = tables.model(name)
        element = request_element(cls)
        if element is None:  # pragma: no cover - the tables and the models agree
            msg = f"{name} is in the vocabulary's requests but is not a request model"
            raise TypeError(msg)
        rq_tag, whole = element
        roots.append((rq_tag, cls, whole, rq_level_fields(cls)))
    return roots


def _response_roots() -> list[tuple[str, tuple[type, ...]]]:
    """``(*Rs element, its Ret models)`` of every response type."""
    tables = vocabulary()
    return [
        (rs_tag, tuple(tables.model(name) for name in rets))
        for rs_tag, rets in sorted(tables.RESPONSES.items())
    ]


class _Generator:
    """Collects named types while walking models; emits them sorted by kind of need."""

    def __init__(self) -> None:
        self.schema = etree.Element(_X + "schema", nsmap={"xsd": XSD})
        self.schema.set("elementFormDefault", "qualified")
        self.simple: dict[str, etree._Element] = {}
        self.complex: dict[str, etree._Element] = {}
        self.in_progress: set[str] = set()
        self.owners: dict[str, type] = {}
        self.enums: dict[tuple[str, ...], str] = {}
        self.in_requests: set[str] = set()

    # -- simple types --

    def text_type(self, max_len: int | None, min_len: int = 0) -> str:
        name = "Text" + (str(max_len) if max_len is not None else "")
        if min_len:
            name += f"Min{min_len}"
        if name not in self.simple:
            facets: dict[str, str] = {}
            if min_len:
                facets["minLength"] = str(min_len)
            if max_len is not None:
                facets["maxLength"] = str(max_len)
            self.simple[name] = _simple(name, "xsd:string", facets)
        return name

    def scalar_type(self, spec: Spec) -> str:
        kind = spec.kind
        if kind is Kind.STR:
            return self.text_type(spec.max_len)
        if kind is Kind.ID:
            return self.text_type(spec.max_len or 36)
        if kind is Kind.ENUM:
            return self.enum_type(spec.tag, spec.values)
        name: str = kind.value
        if kind is Kind.INT and (spec.minimum is not None or spec.maximum is not None):
            # MaxReturned >= 1, ExpirationMonth <= 12: what the builder checks too.
            facets = {}
            if spec.minimum is not None:
                name += f"Min{spec.minimum}"
                facets["minInclusive"] = str(spec.minimum)
            if spec.maximum is not None:
                name += f"Max{spec.maximum}"
                facets["maxInclusive"] = str(spec.maximum)
            if name not in self.simple:
                self.simple[name] = _simple(name, "xsd:integer", facets)
            return name
        if name not in self.simple:
            base, facets = _SIMPLE[kind]
            self.simple[name] = _simple(name, base, facets)
        return name

    def enum_type(self, tag: str, values: tuple[str, ...]) -> str:
        """One named type per set of values: ``ENUM.<tag>``, or with a digest if taken."""
        name = self.enums.get(values)
        if name is not None:
            return name
        name = f"ENUM.{tag}"
        if name in self.simple:
            digest = hashlib.sha256("\n".join(values).encode()).hexdigest()[:8]
            name = f"{name}.{digest}"
        simple = etree.Element(_X + "simpleType", name=name)
        restriction = etree.SubElement(simple, _X + "restriction", base="xsd:string")
        for value in values:
            etree.SubElement(restriction, _X + "enumeration", value=value)
        self.simple[name] = simple
        self.enums[values] = name
        return name

    # -- complex types --

    def ref_type(self, max_len: int | None, *, response: bool) -> str:
        suffix = str(max_len) if max_len is not None else ""
        if response:
            # QuickBooks' own Refs: ListID and FullName, each optional.
            name = "RetRef" + suffix
            if name not in self.complex:
                complex_type = etree.Element(_X + "complexType", name=name)
                sequence = etree.SubElement(complex_type, _X + "sequence")
                for tag, length in (("ListID", 36), ("FullName", max_len)):
                    etree.SubElement(
                        sequence,
                        _X + "element",
                        name=tag,
                        type=self.text_type(length),
                        minOccurs="0",
                    )
                self.complex[name] = complex_type
            return name
        name = "Ref" + suffix
        if name not in self.complex:
            # ListID, then FullName; at least one of them.
            complex_type = etree.Element(_X + "complexType", name=name)
            choice = etree.SubElement(complex_type, _X + "choice")
            sequence = etree.SubElement(choice, _X + "sequence")
            etree.SubElement(sequence, _X + "element", name="ListID", type=self.text_type(36, 1))
            etree.SubElement(
                sequence,
                _X + "element",
                name="FullName",
                type=self.text_type(max_len, 1),
                minOccurs="0",
            )
            etree.SubElement(
                choice, _X + "element", name="FullName", type=self.text_type(max_len, 1)
            )
            self.complex[name] = complex_type
        return name

    def type_name(self, cls: type, *, response: bool) -> str:
        """A model's complex type: its class name (``-Rs`` added for a second, response form)."""
        name = cls.__name__
        if vocabulary().MODELS.get(name, cls.__module__) != cls.__module__:
            # A hand-written aggregate that a generated one shares a name with (SetCredit).
            name = cls.__module__.rpartition(".")[2].lstrip("_") + "." + name
        if not response:
            self.in_requests.add(name)
        elif name in self.in_requests and _has_ref(cls):
            # Also in a request (written first), where its Refs are qbwc's; in a
            # response they are QuickBooks' (ListID and FullName each optional).
            name += "-Rs"
        owner = self.owners.setdefault(name, cls)
        if owner is not cls:  # pragma: no cover - the vocabulary's names are unique
            msg = f"two models are named {name}: {owner.__module__} and {cls.__module__}"
            raise TypeError(msg)
        return name

    def model_type(
        self,
        cls: type,
        *,
        response: bool = False,
        skip: frozenset[str] = frozenset(),
        name: str | None = None,
        extra: tuple[etree._Element, ...] = (),
    ) -> str:
        if name is None:
            name = self.type_name(cls, response=response)
        if name in self.complex or name in self.in_progress:
            return name
        self.in_progress.add(name)
        complex_type = etree.Element(_X + "complexType", name=name)
        fields = [(n, s) for n, s in specs(cls) if n not in skip]
        elements = [(n, s) for n, s in fields if not s.attribute]
        if elements:
            sequence = etree.SubElement(complex_type, _X + "sequence")
            sequence.extend(self.content(elements, 0, response=response))
        for _, spec in fields:
            if spec.attribute:
                attribute = etree.SubElement(complex_type, _X + "attribute", name=spec.tag)
                self.set_type(attribute, spec, response=response)
                if spec.required:
                    attribute.set("use", "required")
        complex_type.extend(extra)
        self.complex[name] = complex_type
        self.in_progress.discard(name)
        return name

    def content(
        self, fields: list[tuple[str, Spec]], depth: int, *, response: bool
    ) -> list[etree._Element]:
        """
        The particles of *fields* (in schema order) at choice depth *depth*: a field
        outside any choice at this depth is an element; each choice group an
        ``xsd:choice`` whose alternatives are elements or, for ``group:N``
        alternatives, sequences (docs/qbxml.md, "Validating against the schema").
        """
        particles: list[etree._Element] = []
        index = 0
        while index < len(fields):
            name, spec = fields[index]
            path = choice_path(name, spec.choice)
            if len(path) <= depth:
                particles.append(self.particle(spec, optional=not spec.required, response=response))
                index += 1
                continue
            group = path[depth][0]
            end = index
            alternatives: dict[str, list[tuple[str, Spec]]] = {}
            while end < len(fields):
                member = choice_path(fields[end][0], fields[end][1].choice)
                if len(member) <= depth or member[depth][0] != group:
                    break
                alternatives.setdefault(member[depth][1], []).append(fields[end])
                end += 1
            members = fields[index:end]
            choice = etree.Element(_X + "choice")
            # The outer choice's requiredness, or that of a choice inside an alternative
            # (needed whenever its alternative is given: it is inside that sequence).
            required = any(
                s.choice_required if depth == 0 else s.inner_choice_required for _, s in members
            )
            if not required:
                choice.set("minOccurs", "0")
            for label, alternative in alternatives.items():
                if ":" in label:
                    sequence = etree.SubElement(choice, _X + "sequence")
                    sequence.extend(self.content(alternative, depth + 1, response=response))
                elif len(choice_path(label, alternative[0][1].choice)) > depth + 1:
                    choice.extend(self.content(alternative, depth + 1, response=response))
                else:
                    choice.append(
                        self.particle(alternative[0][1], optional=False, response=response)
                    )
            particles.append(choice)
            index = end
        return particles

    def particle(self, spec: Spec, *, optional: bool, response: bool = False) -> etree._Element:
        if len(spec.model) > 1:
            choice = etree.Element(_X + "choice")
            choice.set("minOccurs", str(spec.min_count))
            choice.set("maxOccurs", "unbounded")
            for model in spec.model:
                etree.SubElement(
                    choice,
                    _X + "element",
                    name=tag_of(model),
                    type=self.model_type(model, response=response),
                )
            return choice
        element = etree.Element(_X + "element", name=spec.tag)
        self.set_type(element, spec, response=response)
        if spec.many:
            element.set("minOccurs", str(spec.min_count))
            most = "unbounded" if spec.max_count is None else str(spec.max_count)
            element.set("maxOccurs", most)
        elif optional:
            element.set("minOccurs", "0")
        return element

    def set_type(self, node: etree._Element, spec: Spec, *, response: bool = False) -> None:
        if spec.kind is Kind.AGG:
            (model,) = spec.model
            if model is Ref:
                name = self.ref_type(spec.max_len, response=response)
            else:
                name = self.model_type(model, response=response)
            node.set("type", name)
            return
        node.set("type", self.scalar_type(spec))

    # -- the envelope --

    def envelope(self) -> None:
        root = etree.SubElement(self.schema, _X + "element", name="QBXML")
        root_type = etree.SubElement(root, _X + "complexType")
        root_choice = etree.SubElement(root_type, _X + "choice")
        etree.SubElement(root_choice, _X + "element", name="QBXMLMsgsRq", type="QBXMLMsgsRq")
        etree.SubElement(root_choice, _X + "element", name="QBXMLMsgsRs", type="QBXMLMsgsRs")
        self.requests()
        self.responses()

    def requests(self) -> None:
        msgs = etree.Element(_X + "complexType", name="QBXMLMsgsRq")
        choice = etree.SubElement(msgs, _X + "choice", minOccurs="0", maxOccurs="unbounded")
        request_id = self.text_type(REQUEST_ID_MAX, 1)
        for rq_tag, cls, whole, beside in _request_roots():
            etree.SubElement(choice, _X + "element", name=rq_tag, type=rq_tag)
            attribute = etree.Element(_X + "attribute", name="requestID", type=request_id)
            if whole:
                # The model is the *Rq element itself (CustomerQueryRq).
                self.model_type(cls, name=rq_tag, extra=(attribute,))
                continue
            rq = etree.Element(_X + "complexType", name=rq_tag)
            sequence = etree.SubElement(rq, _X + "sequence")
            etree.SubElement(
                sequence,
                _X + "element",
                name=tag_of(cls),
                type=self.model_type(cls, skip=beside),
            )
            sequence.extend(
                self.content([(n, s) for n, s in specs(cls) if n in beside], 0, response=False)
            )
            rq.append(attribute)
            self.complex[rq_tag] = rq
        on_error = etree.SubElement(msgs, _X + "attribute", name="onError", use="required")
        simple = etree.SubElement(on_error, _X + "simpleType")
        restriction = etree.SubElement(simple, _X + "restriction", base="xsd:string")
        for value in ON_ERROR_VALUES:
            etree.SubElement(restriction, _X + "enumeration", value=value)
        set_id = self.text_type(MESSAGE_SET_ID_MAX, 1)
        etree.SubElement(msgs, _X + "attribute", name="newMessageSetID", type=set_id)
        etree.SubElement(msgs, _X + "attribute", name="oldMessageSetID", type=set_id)
        self.complex["QBXMLMsgsRq"] = msgs

    def responses(self) -> None:
        msgs_rs = etree.Element(_X + "complexType", name="QBXMLMsgsRs")
        choice = etree.SubElement(msgs_rs, _X + "choice", minOccurs="0", maxOccurs="unbounded")
        recovery = _error_recovery()
        for rs_tag, rets in _response_roots():
            etree.SubElement(choice, _X + "element", name=rs_tag, type=rs_tag)
            rs = etree.Element(_X + "complexType", name=rs_tag)
            sequence = etree.SubElement(rs, _X + "sequence")
            if len(rets) == 1 and is_inline(rets[0]):
                # ListDelRs, TxnDelRs, TxnVoidRs, ListMergeRs: the Ret's fields are the
                # Rs's own children (docs/qbxml-responses.md).
                sequence.extend(self.content(list(specs(rets[0])), 0, response=True))
            elif rets:
                # A query answers with any number of Rets; an Add or Mod with one.
                ret_choice = etree.SubElement(
                    sequence, _X + "choice", minOccurs="0", maxOccurs="unbounded"
                )
                for ret in rets:
                    etree.SubElement(
                        ret_choice, _X + "element", name=tag_of(ret),
                        type=self.model_type(ret, response=True),
                    )  # fmt: skip
            if recovery is not None:
                etree.SubElement(
                    sequence, _X + "element", name="ErrorRecovery",
                    type=self.model_type(recovery, response=True), minOccurs="0",
                )  # fmt: skip
            etree.SubElement(rs, _X + "attribute", name="requestID", type=self.text_type(None))
            etree.SubElement(
                rs, _X + "attribute", name="statusCode", type="xsd:integer", use="required"
            )
            severity = etree.SubElement(rs, _X + "attribute", name="statusSeverity", use="required")
            simple = etree.SubElement(severity, _X + "simpleType")
            restriction = etree.SubElement(simple, _X + "restriction", base="xsd:string")
            for value in ("Info", "Warn", "Error"):
                etree.SubElement(restriction, _X + "enumeration", value=value)
            etree.SubElement(rs, _X + "attribute", name="statusMessage", type=self.text_type(None))
            for count in ("retCount", "iteratorRemainingCount"):
                etree.SubElement(rs, _X + "attribute", name=count, type="xsd:integer")
            etree.SubElement(rs, _X + "attribute", name="iteratorID", type=self.text_type(None))
            self.complex[rs_tag] = rs
        etree.SubElement(
            msgs_rs, _X + "attribute", name="newMessageSetID", type=self.text_type(None)
        )
        etree.SubElement(msgs_rs, _X + "attribute", name="messageSetStatusCode", type="xsd:integer")
        self.complex["QBXMLMsgsRs"] = msgs_rs

    def document(self) -> bytes:
        self.envelope()
        self.schema.append(etree.Comment(" complex types, in alphabetical order "))
        for name in sorted(self.complex):
            self.schema.append(self.complex[name])
        self.schema.append(etree.Comment(" simple types, in alphabetical order "))
        for name in sorted(self.simple):
            self.schema.append(self.simple[name])
        etree.indent(self.schema, space="  ")
        body = etree.tostring(self.schema, encoding="unicode")
        header = (
            '<?xml version="1.0" encoding="utf-8"?>\n'
            "<!--\n"
            "  qbwc's XML Schema for the qbXML it supports: every request and every\n"
            "  response of its vocabulary (docs/qbxml-reference.md) inside the QBXML\n"
            "  message-set envelope.\n"
            "  GENERATED from the model specs by `python -m qbwc.qbxml._xsd`: do not edit.\n"
            "  Stricter than Intuit's schema where qbwc is: references name a ListID or a\n"
            "  FullName, numbers and dates are never empty.  (qbwc.qbxml.validate also\n"
            "  checks that text is printable ISO-8859-1, outside the schema for speed.)\n"
            "-->\n"
        )
        return (header + body + "\n").encode("utf-8")


def _simple(name: str, base: str, facets: dict[str, str]) -> etree._Element:
    simple = etree.Element(_X + "simpleType", name=name)
    restriction = etree.SubElement(simple, _X + "restriction", base=base)
    for facet in ("minLength", "maxLength", "minInclusive", "maxInclusive", "pattern"):
        if facet in facets:
            etree.SubElement(restriction, _X + facet, value=facets[facet])
    return simple


_HAS_REF: dict[type, bool] = {}


def _has_ref(cls: type) -> bool:
    """Whether a model holds a Ref, directly or in an aggregate (its response form differs)."""
    if cls in _HAS_REF:
        return _HAS_REF[cls]
    _HAS_REF[cls] = False  # a cycle adds nothing
    found = any(
        model is Ref or _has_ref(model)
        for _, spec in specs(cls)
        if spec.kind is Kind.AGG
        for model in spec.model
    )
    _HAS_REF[cls] = found
    return found


def generate_xsd() -> bytes:
    """Return qbwc's XML Schema (``schemas/qbxml.xsd``) as generated from the models."""
    return _Generator().document()


# --- validation ----------------------------------------------------------------

_lock = threading.Lock()
_schema: etree.XMLSchema | None = None


def _load() -> etree.XMLSchema:
    global _schema  # noqa: PLW0603 - a lazily loaded, process-wide cache
    with _lock:
        if _schema is None:
            parser = etree.XMLParser(resolve_entities=False, no_network=True)
            document = etree.parse(str(schema_path(_SCHEMA_FILE)), parser)
            _schema = etree.XMLSchema(document)
        return _schema


def validate(data: bytes | str | etree._Element) -> None:
    """
    Check a qbXML document against qbwc's schema (``schemas/qbxml.xsd``).

    *data* is the document (or an already parsed root element).  Text must be
    printable ISO-8859-1 (what QuickBooks Desktop stores), and request
    documents must carry a supported ``<?qbxml version?>``.

    Raises:
        XMLParseError: the document is not well-formed.
        QBXMLValidationError: *path* is the XPath of the offending node (or
            ``qbxml`` for the version instruction), *rule* the schema's complaint.
    """
    root = data if isinstance(data, etree._Element) else parse_untrusted(data, what="qbXML")
    schema = _load()
    with _lock:
        valid = schema.validate(root)
        error = None if valid else next(iter(cast(Iterable[Any], schema.error_log)))
    if error is not None:
        path = error.path or "/"
        raise QBXMLValidationError(path, error.message)
    _check_repertoire(root, data)
    if root.find("QBXMLMsgsRq") is not None:
        version_instruction(root)


def _check_repertoire(root: etree._Element, data: object) -> None:
    """Refuse text outside printable ISO-8859-1 (tab, LF and CR allowed)."""
    # Fast paths: ASCII with no character references, or an all-ASCII tree.
    if isinstance(data, bytes) and data.isascii() and b"&#" not in data:
        if b"\x7f" not in data:
            return
    else:
        serialized = etree.tostring(root, encoding="unicode")
        if serialized.isascii() and "\x7f" not in serialized:
            return
    for element in root.iter():
        texts = [element.text, *(str(v) for v in element.attrib.values())]
        for text in texts:
            if not text or (text.isascii() and "\x7f" not in text):
                continue
            for index, char in enumerate(text, 1):
                if 0x7F <= ord(char) <= 0x9F or ord(char) > 0xFF:
                    where = root.getroottree().getpath(element)
                    rule = (
                        f"character {index} is U+{ord(char):04X}: not printable ISO-8859-1, "
                        "which is all QuickBooks Desktop stores"
                    )
                    raise QBXMLValidationError(where, rule)


def main(argv: list[str] | None = None) -> int:
    """Write the generated schema to PATH (default: the checkout's ``schemas/qbxml.xsd``)."""
    args = sys.argv[1:] if argv is None else argv
    checkout = Path(__file__).resolve().parents[3]
    target = Path(args[0]) if args else checkout / "schemas" / _SCHEMA_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(generate_xsd())
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
