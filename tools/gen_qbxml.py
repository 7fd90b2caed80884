"""
Generate the qbXML models of ``src/qbwc/qbxml/_models/`` from Intuit's specification.

Reads the qbXML 16.0 schema (``qbxml160.xsd``, ``qbxmlops160.xsd``), the 13.0
schema (version checks) and the SDK's sample-data annotations
(``qbxmlops140.xml``: per-edition maximum lengths, "not in QBD" marks, the
version each element appeared in) from ``../shared/reference/xsd/`` and writes
one module per object family plus ``shared.py``.  The output is deterministic;
``tests/test_qbxml_generated.py`` regenerates it and compares.

Usage (from the repository root)::

    python tools/gen_qbxml.py [--reference ../shared/reference] [--check]

The rules (docs/qbxml-reference.md, "Naming"):

* a model is named for its qbXML aggregate (``CustomerAdd``, ``CustomerRet``);
  a request without an inner aggregate is named for its request element
  without ``Rq`` (``CustomerQuery``, ``ListDel``);
* an aggregate whose content is an optional ``ListID`` and an optional
  ``FullName`` is a :class:`~qbwc.qbxml.Ref` (not CurrencyFilter, SiteFilter or
  TimeTrackingEntityFilter: a choice of repeated ListIDs or FullNames); the
  address groups are ``Address`` and ``AddressBlock``; ``DataExt`` and
  ``DataExtRet`` are the shared models;
* fields are the snake_case of the element name; a repeated element of
  several alternatives (``InvoiceLineAdd | InvoiceLineGroupAdd``) is the field
  ``lines`` when its alternatives end in ``LineAdd``/``LineMod``/``LineRet``
  (the rule of the hand-written invoice models), else the snake_case of the
  first alternative; :data:`FIELD_OVERRIDES` lists the exceptions;
* elements only QuickBooks Online accepts (annotated "not in
  QBD|QBCA|QBUK|QBAU") are left out; the maximum length is the US edition's
  (``max_len``), with the other editions' where they differ (``lengths``; an
  edition the annotation does not name gets its smallest limit); an element
  the 14.0 annotations do not know appeared in 16.0 (conservatively: 15.0
  added nothing the 14.0 annotations lack that we could date).
"""

from __future__ import annotations

import argparse
import importlib
import keyword
import re
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from lxml import etree

XS = "{http://www.w3.org/2001/XMLSchema}"
ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "src" / "qbwc" / "qbxml" / "_models"
DESKTOP = ("QBD", "QBCA", "QBUK", "QBAU")
#: The editions by their annotation names (QBD is the US edition).
EDITIONS = {"QBD": "US", "QBCA": "CA", "QBUK": "UK", "QBAU": "AU"}

KINDS = {
    "STRTYPE": "STR",
    "IDTYPE": "ID",
    "AMTTYPE": "AMT",
    "PRICETYPE": "PRICE",
    "QUANTYPE": "QUAN",
    "PERCENTTYPE": "PERCENT",
    "FLOATTYPE": "FLOAT",
    "INTTYPE": "INT",
    "BOOLTYPE": "BOOL",
    "DATETYPE": "DATE",
    "DATETIMETYPE": "DATETIME",
    "GUIDTYPE": "GUID",
    "ENUMTYPE": "ENUM",
    "TIMEINTERVALTYPE": "DURATION",
    "MACROTYPE": "STR",
    "UUIDTYPE": "STR",
}
DECIMAL = {"AMT", "PRICE", "QUAN", "PERCENT", "FLOAT"}
PY_TYPES = {
    "STR": "str",
    "ID": "str",
    "INT": "int",
    "BOOL": "bool",
    "DATETIME": "dt.datetime",
    "ENUM": "str",
    "GUID": "str",
    "DATE": "dt.date",
    "DURATION": "str",
}

#: Field names that the snake_case rule gets wrong or that clash.
FIELD_OVERRIDES: dict[str, str] = {
    "FOB": "fob",
    "PONumber": "po_number",
    "ARAccountRef": "ar_account_ref",
    "APAccountRef": "ap_account_ref",
    "ExternalGUID": "external_guid",
    "OwnerID": "owner_id",
    "defMacro": "def_macro",
    "useMacro": "use_macro",
    "metaData": "meta_data",
    "iteratorID": "iterator_id",
}

#: Shared models the generator maps aggregates to instead of generating them.
#: Their module is imported by the generated code.
EXISTING = {
    "Ref": "qbwc.qbxml._types",
    "Address": "qbwc.qbxml._types",
    "DataExt": "qbwc.qbxml._types",
}

#: Group names that give a single-group aggregate its class name.
GROUP_NAMES = {"AddressData": "Address", "AddressBlockData": "AddressBlock"}

#: Families by the base name of their requests (the default is its snake_case).
FAMILY_PREFIXES = (
    ("Item", "item"),
    ("SpecialItem", "item"),
    ("SpecialAccount", "account"),
    ("Class", "classes"),
    ("Account", "account"),
    ("TimeTracking", "time_tracking"),
    ("Employee", "employee"),
    ("Vendor", "vendor"),
    ("Customer", "customer"),
    ("Payroll", "payroll"),
    ("Terms", "terms"),
    ("StandardTerms", "terms"),
    ("DateDrivenTerms", "terms"),
    ("ListDel", "deletion"),
    ("TxnDel", "deletion"),
    ("ListDeleted", "deletion"),
    ("TxnDeleted", "deletion"),
    ("TxnVoid", "deletion"),
    ("Host", "company"),
    ("Company", "company"),
    ("Preferences", "company"),
    ("Template", "company"),
    ("DataExt", "data_ext"),
    ("BillPayment", "bill_payment"),
    ("Bill", "bill"),
    ("Check", "check"),
    ("SalesTax", "sales_tax"),
    ("Inventory", "inventory"),
    ("BuildAssembly", "inventory"),
)

ROOT_SUFFIX = re.compile(
    r"(Add|Mod|Query|Del|Void|Deleted|Report|Info|Apply|Cleared|Customize|"
    r"Update|Send|Modify)*Rq$"
)


def snake(name: str) -> str:
    if name in FIELD_OVERRIDES:
        return FIELD_OVERRIDES[name]
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s).lower()
    if keyword.iskeyword(s) or s in {"unknown", "type"}:
        s += "_"
    return s


# --- annotations -----------------------------------------------------------------


@dataclass
class Note:
    max_len: int | None = None
    lengths: tuple[tuple[str, int], ...] = ()  # the editions whose limit is not max_len
    since: tuple[int, int] | None = None
    desktop: bool = True
    known: bool = True


def read_notes(path: Path) -> dict[tuple[str, ...], Note]:
    """The annotation of each element path (from its message element) in the sample data."""
    parser = etree.XMLParser(remove_comments=False, huge_tree=True)
    tree = etree.parse(str(path), parser)
    by_line: dict[int, str] = {}
    for comment in tree.iter(etree.Comment):
        by_line.setdefault(comment.sourceline or 0, comment.text or "")
    notes: dict[tuple[str, ...], Note] = {}
    for msgs in tree.iter("QBXMLMsgsRq", "QBXMLMsgsRs"):
        for message in msgs:
            if not isinstance(message.tag, str):
                continue
            stack: list[tuple[etree._Element, tuple[str, ...]]] = [(message, (message.tag,))]
            while stack:
                el, p = stack.pop()
                text = by_line.get(el.sourceline or 0, "")
                if p not in notes:
                    notes[p] = parse_note(text)
                for child in el:
                    if isinstance(child.tag, str):
                        stack.append((child, (*p, child.tag)))
    return notes


def parse_note(text: str) -> Note:
    note = Note()
    lengths: dict[str, int] = {}
    for raw in text.split(","):
        part = raw.strip()
        m = re.fullmatch(r"max length = (\d+)(?: for ([A-Z|]+))?", part)
        if m:
            editions = m.group(2).split("|") if m.group(2) else list(DESKTOP)
            for e in editions:
                if e in DESKTOP:
                    lengths[EDITIONS[e]] = int(m.group(1))
            continue
        m = re.fullmatch(r"v(\d+)\.(\d+)", part)
        if m:
            note.since = (int(m.group(1)), int(m.group(2)))
            continue
        m = re.fullmatch(r"not in ([A-Z|]+)", part)
        if m and set(DESKTOP) <= set(m.group(1).split("|")):
            note.desktop = False
    if lengths:
        # An edition the annotation does not name (usually one without the element)
        # gets the smallest limit named; max_len is the US edition's, the default.
        smallest = min(lengths.values())
        per_edition = {e: lengths.get(e, smallest) for e in EDITIONS.values()}
        note.max_len = per_edition["US"]
        note.lengths = tuple((e, n) for e, n in per_edition.items() if n != note.max_len)
    return note


# --- the schema ------------------------------------------------------------------


@dataclass
class Field:
    tag: str
    kind: str
    name: str = ""
    max_len: int | None = None
    lengths: tuple[tuple[str, int], ...] = ()
    since: tuple[int, int] = (1, 0)
    required: bool = False
    many: bool = False
    choice: str | None = None
    models: tuple[str, ...] = ()
    values: tuple[str, ...] = ()
    attribute: bool = False
    min_count: int = 0
    choice_required: bool = False
    minimum: int | None = None
    maximum: int | None = None
    excludes: tuple[tuple[str, str], ...] = ()  # from the overlay (EXCLUDES)
    inner_choice_required: bool = False  # the choice inside its alternative needs a field
    max_count: int | None = None  # a repeated element's maxOccurs, when not unbounded


@dataclass
class Model:
    name: str
    tag: str
    fields: list[Field]
    ret: bool = False
    doc: str = ""
    users: set[str] = field(default_factory=set)
    family: str = ""
    rq: str = ""  # the request element this model travels in, for request models
    inline: bool = False  # a Ret whose fields sit directly in its …Rs (ListDelRet)


class Schema:
    def __init__(self, reference: Path) -> None:
        xsd = reference / "xsd"
        self.notes = read_notes(xsd / "sample-data" / "qbxmlops140.xml")
        self.elements: dict[str, etree._Element] = {}
        self.groups: dict[str, etree._Element] = {}
        self.types: dict[str, etree._Element] = {}
        for name in ("qbxml160.xsd", "qbxmlops160.xsd"):
            root = etree.parse(str(xsd / "v16" / name)).getroot()
            for child in root:
                if child.tag == XS + "element":
                    self.elements.setdefault(child.get("name"), child)
                elif child.tag == XS + "group":
                    self.groups[child.get("name")] = child
                elif child.tag == XS + "complexType":
                    self.types[child.get("name")] = child
        v13 = etree.parse(str(xsd / "v13" / "qbxmlops130.xsd")).getroot()
        self.v13_messages = {
            el.get("name")
            for el in v13.iter(XS + "element")
            if (el.get("name") or "").endswith(("Rq", "Rs"))
        }
        self.models: dict[str, Model] = {}
        self.shapes: dict[tuple[object, ...], str] = {}
        self.choice_counter = 0
        self.requests: list[Model] = []
        self.responses: dict[str, tuple[str, ...]] = {}
        self.left_out: list[tuple[str, str]] = []

    # particles -> fields

    def complex_of(self, el: etree._Element) -> etree._Element | None:
        ct = el.find(XS + "complexType")
        if ct is None and el.get("type") in self.types:
            ct = self.types[el.get("type")]
        if ct is None or ct.find(XS + "simpleContent") is not None:
            return None
        return ct

    @staticmethod
    def bounds(el: etree._Element) -> tuple[int | None, int | None]:
        """minInclusive and maxInclusive of a simple element, if any."""
        r = el.find(f"{XS}simpleType/{XS}restriction")
        if r is None:
            return None, None
        low, high = r.find(XS + "minInclusive"), r.find(XS + "maxInclusive")
        return (
            None if low is None else int(low.get("value")),
            None if high is None else int(high.get("value")),
        )

    def scalar(self, el: etree._Element) -> tuple[str, int | None, tuple[str, ...]]:
        """(kind, max_len, enumeration values) of a simple element."""
        t = el.get("type")
        if t:
            return KINDS[t], None, ()
        sc = el.find(f"{XS}complexType/{XS}simpleContent/{XS}extension")
        if sc is not None:
            return KINDS[sc.get("base")], None, ()
        st = el.find(XS + "simpleType")
        if st is None:
            return "STR", None, ()
        r = st.find(XS + "restriction")
        if r is None:
            return "STR", None, ()
        kind = KINDS.get(r.get("base"), "STR")
        ml = r.find(XS + "maxLength")
        values = tuple(e.get("value") for e in r.findall(XS + "enumeration"))
        if values and kind == "STR":
            kind = "ENUM"
        return kind, int(ml.get("value")) if ml is not None else None, values

    def particles(
        self, node: etree._Element, path: tuple[str, ...], owner: str, choice: str | None
    ) -> list[Field]:
        out: list[Field] = []
        for child in node:
            if not isinstance(child.tag, str):
                continue
            occurs_min = int(child.get("minOccurs", "1"))
            occurs_max = child.get("maxOccurs", "1")
            if occurs_max == "0":
                # Intuit's schema switches the particle off (ValueAdjustment's value choice).
                names = [el.get("ref") or el.get("name") for el in child.iter(XS + "element")]
                for name in names:
                    self.left_out.append(("/".join((*path, name)), "maxOccurs=0 in the schema"))
                continue
            if child.tag == XS + "sequence":
                out += self.particles(child, path, owner, choice)
            elif child.tag == XS + "group":
                out += self.particles(self.groups[child.get("ref")], path, owner, choice)
            elif child.tag == XS + "choice":
                out += self.choice(child, path, owner, occurs_min, occurs_max, outer=choice)
            elif child.tag == XS + "element":
                f = self.element(child, path, owner, occurs_min, occurs_max)
                if f is not None:
                    if choice is not None:
                        f.choice, f.required = choice, False
                    out.append(f)
        return out

    def choice(
        self,
        node: etree._Element,
        path: tuple[str, ...],
        owner: str,
        occurs_min: int,
        occurs_max: str,
        *,
        outer: str | None,
    ) -> list[Field]:
        alternatives = [c for c in node if isinstance(c.tag, str)]
        if occurs_max != "1" and all(c.tag == XS + "element" for c in alternatives):
            # A repeated mixed sequence: one field holding any of the alternatives.
            fields = [
                f
                for c in alternatives
                if (f := self.element(c, path, owner, 0, "unbounded")) is not None
            ]
            if not fields:
                return []
            first = fields[0]
            models = tuple(m for f in fields for m in f.models)
            if len(fields) == 1 or not models:
                return fields
            name = "lines" if first.tag.endswith(("LineAdd", "LineMod", "LineRet")) else ""
            return [
                Field(
                    tag=first.tag,
                    kind="AGG",
                    name=name,
                    since=first.since,
                    many=True,
                    models=models,
                    min_count=occurs_min,
                )
            ]
        self.choice_counter += 1
        label = f"c{self.choice_counter}"
        # A choice needs one of its fields when the schema says so (minOccurs >= 1) and
        # no alternative may be empty (TransactionDateRangeFilter: an optional group).
        required = occurs_min > 0 and not any(self.emptiable(alt) for alt in alternatives)
        out: list[Field] = []
        for index, alt in enumerate(alternatives):
            if alt.tag == XS + "element":
                f = self.element(alt, path, owner, 0, alt.get("maxOccurs", "1"))
                if f is not None:
                    f.choice, f.required = label, False
                    f.choice_required = required
                    out.append(f)
            else:
                wrapper = etree.Element(XS + "sequence")
                wrapper.append(_copy(alt))
                inner = self.particles(wrapper, path, owner, None)
                for f in inner:
                    # "required" stays: required when this alternative is the one given.
                    # A choice inside the alternative nests under it ("c1:2|c3"); its own
                    # requiredness (when this alternative is given) is inner_choice_required,
                    # choice_required the outer choice's.
                    if f.choice is not None:
                        f.inner_choice_required = f.choice_required
                    inner_choice = "" if f.choice is None else "|" + f.choice
                    f.choice = f"{label}:{index}{inner_choice}"
                    f.choice_required = required
                out += inner
        del outer
        return out

    def emptiable(self, node: etree._Element) -> bool:
        """Whether the particle *node* may match nothing (all its content optional)."""
        if node.get("minOccurs") == "0":
            return True
        if node.tag == XS + "element":
            return False
        if node.tag == XS + "group":
            return self.emptiable(next(c for c in self.groups[node.get("ref")] if _is_el(c)))
        children = [c for c in node if _is_el(c)]
        if node.tag == XS + "choice":
            return any(self.emptiable(c) for c in children)
        return all(self.emptiable(c) for c in children)

    def element(
        self,
        el: etree._Element,
        path: tuple[str, ...],
        owner: str,
        occurs_min: int,
        occurs_max: str,
    ) -> Field | None:
        ref = el.get("ref")
        decl = self.elements[ref] if ref else el
        tag = ref or el.get("name")
        p = (*path, tag)
        note = self.notes.get(p)
        if note is not None and not note.desktop:
            self.left_out.append(("/".join(p), "QuickBooks Online only"))
            return None
        f = Field(tag=tag, kind="STR", required=occurs_min > 0, many=occurs_max != "1")
        if f.many:
            f.min_count = occurs_min
            f.required = False
            if occurs_max.isdigit():
                f.max_count = int(occurs_max)  # AdditionalContactRef: 3, 5 or 8
        if note is not None and note.since is not None:
            f.since = note.since
        elif note is None and path in self.notes:
            f.since = (16, 0)  # its parent is annotated, it is not: newer than 14.0
        ct = self.complex_of(decl)
        if ct is None:
            f.kind, f.max_len, f.values = self.scalar(decl)
            f.minimum, f.maximum = self.bounds(decl)
            if note is not None and note.max_len is not None:
                f.max_len, f.lengths = note.max_len, note.lengths
            if f.kind == "ID":
                f.max_len = f.max_len or 36
            return f
        f.kind = "AGG"
        model, ref_len = self.aggregate(decl, ct, p, tag)
        f.models = (model,)
        if model == "Ref":
            f.max_len, f.lengths = ref_len
        return f

    def aggregate(
        self, decl: etree._Element, ct: etree._Element, path: tuple[str, ...], tag: str
    ) -> tuple[str, tuple[int | None, tuple[tuple[str, int], ...]]]:
        content = [c for c in ct if isinstance(c.tag, str) and c.tag != XS + "attribute"]
        group = None
        if len(content) == 1 and content[0].tag == XS + "sequence":
            seq = [c for c in content[0] if isinstance(c.tag, str)]
            if len(seq) == 1 and seq[0].tag == XS + "group":
                group = seq[0].get("ref")
        fields = self.particles(ct, path, tag, None)
        for attr in ct.findall(XS + "attribute"):
            name = attr.get("name")
            kind, _, values = self.scalar(attr)
            fields.append(
                Field(
                    tag=name,
                    kind=kind,
                    values=values,
                    attribute=True,
                    required=attr.get("use") == "required",
                    since=(2, 0) if name == "defMacro" else (1, 0),
                )
            )
        tags = [f.tag for f in fields if not f.attribute]
        plain = not any(f.choice or f.many or f.required for f in fields)
        if tags == ["ListID", "FullName"] and plain and not ct.findall(XS + "attribute"):
            # (CurrencyFilter is no Ref: a choice of repeated ListIDs or FullNames.)
            full = fields[1]
            return "Ref", (full.max_len, full.lengths)
        name = GROUP_NAMES.get(group or "", tag)
        _relabel(fields)
        for f in fields:
            if not f.name:
                f.name = snake(f.tag)
        ret = path[0].endswith("Rs")
        shape = (name, tuple(_shape(f) for f in fields), ret)
        known = self.shapes.get(shape)
        if known is not None:
            model = self.models[known]
            model.users.add(path[0])
            for old, new in zip(model.fields, fields, strict=True):
                old.since = min(old.since, new.since)
            return known, (None, ())
        if name == "DataExt" and not ret:
            return "DataExt", (None, ())
        if name == "Address":
            return "Address", (None, ())
        final = name
        if final in self.models or final in EXISTING:
            final = f"{path[-2]}{name}" if len(path) > 1 else name
        n = 2
        while final in self.models or final in EXISTING:
            final = f"{name}{n}"
            n += 1
        self.shapes[shape] = final
        self.models[final] = Model(name=final, tag=tag, fields=fields, ret=ret, users={path[0]})
        return final, (None, ())


def _relabel(fields: list[Field]) -> None:
    """Number the choices of one model from 1, in field order (deterministic shapes)."""
    names: dict[str, str] = {}
    for f in fields:
        if f.choice is None:
            continue
        segments = []
        for segment in f.choice.split("|"):
            group, sep, alt = segment.partition(":")
            if group not in names:
                names[group] = f"choice{len(names) + 1}"
            segments.append(names[group] + sep + alt)
        f.choice = "|".join(segments)


def _is_el(node: etree._Element) -> bool:
    """An XSD particle (not a comment or an annotation)."""
    return isinstance(node.tag, str) and node.tag != XS + "annotation"


def _copy(el: etree._Element) -> etree._Element:
    return etree.fromstring(etree.tostring(el))


def _shape(f: Field) -> tuple[object, ...]:
    return (
        f.tag, f.kind, f.max_len, f.many, f.models, f.values, f.attribute, f.choice,
        f.choice_required, f.inner_choice_required, f.required, f.min_count, f.max_count,
        f.minimum, f.maximum,
    )  # fmt: skip  (not "since": the earliest version of the contexts is kept; nor
    # "lengths": the first context's per-edition limits are kept)


# --- the vocabulary ----------------------------------------------------------------

#: Hand-written models the generated modules import instead of generating (by name).
#: The rules beyond the schema live in tools/gen_qbxml_overlay.py, not here.
KEEP = {
    "ErrorRecovery": "qbwc.qbxml._responses",
}


#: The models ``import qbwc.qbxml`` needs (the builder, the parser and the fakes use
#: them): generated with everything they refer to into one small module outside the
#: lazy family package, so that importing qbwc loads no family module.
CORE = "core"
CORE_MODULE = "qbwc.qbxml._core_models"
CORE_FILE = "../_core_models.py"  # relative to src/qbwc/qbxml/_models/
EXPORTS_FILE = "../_exports.py"  # beside the models' package: reading it imports none of it
CORE_SEED = (
    "InvoiceAdd", "InvoiceLineAdd", "InvoiceLineGroupAdd",
    "EstimateAdd", "EstimateLineAdd", "EstimateLineGroupAdd",
    "InvoiceRet", "InvoiceLineRet", "InvoiceLineGroupRet",
    "EstimateRet", "EstimateLineRet", "EstimateLineGroupRet",
    "LinkToTxn", "SetCredit", "LinkedTxn", "AddressBlock", "DataExtRet",
)  # fmt: skip


def module_of(family: str) -> str:
    """The module a family's models are generated into."""
    return CORE_MODULE if family == CORE else f"qbwc.qbxml._models.{family}"


def family_of(message: str) -> str:
    if "ReportQuery" in message:
        return "report"
    base = ROOT_SUFFIX.sub("", message) if message.endswith("Rq") else ""
    if not base:
        base = re.sub(r"(Add|Mod|Query|Del|Void|Deleted|Report|Info)*Rs$", "", message)
    for prefix, family in FAMILY_PREFIXES:
        if base.startswith(prefix):
            return family
    if base.endswith("Report"):
        return "report"
    return snake(base).rstrip("_") or "general"


def collect(schema: Schema) -> None:
    msgs_rq = schema.elements["QBXMLMsgsRq"].find(f"{XS}complexType/{XS}choice")
    for el in msgs_rq.findall(XS + "element"):
        rq = el.get("name")
        note = schema.notes.get((rq,))
        if note is not None and not note.desktop:
            schema.left_out.append((rq, "QuickBooks Online only"))
            continue
        rq_type = schema.types[el.get("type")]
        top = rq_type.find(XS + "sequence")
        seq = [c for c in top if isinstance(c.tag, str)] if top is not None else []
        inner = None
        if seq and seq[0].tag == XS + "element" and seq[0].get("ref"):
            decl = schema.elements[seq[0].get("ref")]
            if schema.complex_of(decl) is not None and all(
                c.get("name") == "IncludeRetElement" for c in seq[1:]
            ):
                inner = seq[0].get("ref")
        if inner is not None:
            f = schema.element(seq[0], (rq,), rq, 1, "1")
            assert f is not None
            name = f.models[0]
            model = schema.models.get(name)
            extra = []
            for c in seq[1:]:
                g = schema.element(c, (rq,), rq, 0, c.get("maxOccurs", "1"))
                if g is not None:
                    g.name = snake(g.tag)
                    extra.append(g)
            if model is not None:
                names = {x.name for x in model.fields}
                model.fields += [g for g in extra if g.name not in names]
                model.rq = rq
            schema.requests.append(Model(name=name, tag=inner, fields=extra, rq=rq))
            continue
        name = rq[:-2]
        fields = schema.particles(rq_type, (rq,), name, None)
        for attr in rq_type.findall(XS + "attribute"):
            tag = attr.get("name")
            if tag == "requestID":
                continue
            kind, _, values = schema.scalar(attr)
            fields.append(Field(tag=tag, kind=kind, values=values, attribute=True))
        _relabel(fields)
        for f in fields:
            if not f.name:
                f.name = snake(f.tag)
        model = Model(name=name, tag=rq, fields=fields, users={rq}, rq=rq)
        schema.models[name] = model
        schema.requests.append(model)
    msgs_rs = schema.elements["QBXMLMsgsRs"].find(f"{XS}complexType/{XS}choice")
    for el in msgs_rs.findall(XS + "element"):
        rs = el.get("name")
        note = schema.notes.get((rs,))
        if note is not None and not note.desktop:
            continue
        rs_type = schema.types[el.get("type")]
        inline = _inline_group(rs_type)
        if inline is not None:
            schema.responses[rs] = (inline_ret(schema, rs, inline),)
            continue
        fields = schema.particles(rs_type, (rs,), rs, None)
        rets = tuple(m for f in fields for m in f.models if m != "ErrorRecovery")
        schema.responses[rs] = rets


def _inline_group(rs_type: etree._Element) -> str | None:
    """The ``…Ret`` group an Rs type holds directly (ListDelRs: ``ListDelRet``), if any."""
    seq = rs_type.find(XS + "sequence")
    first = next((c for c in seq if _is_el(c)), None) if seq is not None else None
    if first is not None and first.tag == XS + "group" and first.get("ref", "").endswith("Ret"):
        return str(first.get("ref"))
    return None


def inline_ret(schema: Schema, rs: str, group: str) -> str:
    """
    The Ret model of an inline group: its fields are the Rs's own children (besides an
    ErrorRecovery), so it has no element of its own (docs/qbxml-responses.md).
    """
    fields = schema.particles(schema.groups[group], (rs,), group, None)
    _relabel(fields)
    for f in fields:
        if not f.name:
            f.name = snake(f.tag)
    model = schema.models.get(group)
    if model is None:
        schema.models[group] = Model(
            name=group, tag=group, fields=fields, ret=True, users={rs}, inline=True
        )
    else:  # (one group, several Rs types: keep the earliest versions)
        model.users.add(rs)
        for old, new in zip(model.fields, fields, strict=True):
            old.since = min(old.since, new.since)
    return group


def assign_families(schema: Schema) -> None:
    sets: dict[str, set[str]] = {
        name: {family_of(u) for u in m.users} for name, m in schema.models.items()
    }
    roots = {family_of(r.rq) for r in schema.requests}
    for name in schema.models:
        # A request's aggregate or a Ret lives in the family of its name.
        if re.search(r"(Add|Mod|Ret)$", name) and any(
            name in rets for rets in schema.responses.values()
        ) | any(r.name == name for r in schema.requests):
            preferred = family_of(re.sub(r"(Add|Mod|Ret)$", "", name) + "QueryRq")
            if preferred in roots:
                sets[name] = {preferred}
    changed = True
    while changed:
        changed = False
        for name, m in schema.models.items():
            fam = next(iter(sets[name])) if len(sets[name]) == 1 else "shared"
            for f in m.fields:
                for child in f.models:
                    if child in schema.models and fam not in sets[child]:
                        sets[child].add(fam)
                        changed = True
    for name, m in schema.models.items():
        m.family = next(iter(sets[name])) if len(sets[name]) == 1 else "shared"
    todo = list(CORE_SEED)
    while todo:
        m = schema.models[todo.pop()]
        if m.family != CORE:
            m.family = CORE
            todo += [c for f in m.fields for c in f.models if c in schema.models]


def _schema(reference: Path) -> Schema:
    schema = Schema(reference)
    collect(schema)
    _overlay().apply(schema.models)
    for name in list(schema.models):
        if name in KEEP:
            del schema.models[name]
    assign_families(schema)
    return schema


def _overlay() -> ModuleType:
    """tools/gen_qbxml_overlay.py: the rules beyond the schema."""
    _render()  # puts tools/ on sys.path and this module in sys.modules
    return importlib.import_module("gen_qbxml_overlay")


def _render() -> ModuleType:
    """tools/gen_qbxml_render.py (it imports this module by name)."""
    sys.modules.setdefault("gen_qbxml", sys.modules[__name__])
    here = str(Path(__file__).resolve().parent)
    if here not in sys.path:
        sys.path.insert(0, here)
    return importlib.import_module("gen_qbxml_render")


def generate(reference: Path) -> dict[str, str]:
    """Every file of src/qbwc/qbxml/_models/, by name."""
    render = _render()
    schema = _schema(reference)
    families: dict[str, list[Model]] = defaultdict(list)
    for m in schema.models.values():
        families[m.family].append(m)
    out = {
        CORE_FILE if fam == CORE else f"{fam}.py": render.render_module(fam, ms, schema)
        for fam, ms in sorted(families.items())
    }
    out["__init__.py"] = render.render_init(sorted(f for f in families if f != CORE), schema)
    out["_all.py"] = render.render_all(schema)
    out[EXPORTS_FILE] = render.render_names(schema)
    return out


def generate_reference(reference: Path) -> str:
    """docs/qbxml-reference.md."""
    return str(_render().render_reference(_schema(reference)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--reference", type=Path, default=ROOT.parent / "shared" / "reference")
    parser.add_argument("--check", action="store_true", help="compare, write nothing")
    args = parser.parse_args(argv)
    files = generate(args.reference)
    if args.check:
        stale = [
            n for n, t in files.items() if not (OUT / n).exists() or (OUT / n).read_text() != t
        ]
        extra = [p.name for p in OUT.glob("*.py") if p.name not in files]
        if stale or extra:
            print("out of date:", *stale, *extra)
            return 1
        return 0
    OUT.mkdir(exist_ok=True)
    for p in OUT.glob("*.py"):
        if p.name not in files:
            p.unlink()
    for name, text in files.items():
        (OUT / name).write_text(text)
    (ROOT / "docs" / "qbxml-reference.md").write_text(generate_reference(args.reference))
    return 0


if __name__ == "__main__":
    sys.exit(main())
