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
* an aggregate whose content is a ``[ListID, FullName]`` pair is a
  :class:`~qbwc.qbxml.Ref`; the address groups are ``Address`` and
  ``AddressBlock``; ``DataExt`` and ``DataExtRet`` are the shared models;
* fields are the snake_case of the element name; a repeated element of
  several alternatives (``InvoiceLineAdd | InvoiceLineGroupAdd``) is the field
  ``lines`` when its alternatives end in ``LineAdd``/``LineMod``/``LineRet``
  (the rule of the hand-written invoice models), else the snake_case of the
  first alternative; :data:`FIELD_OVERRIDES` lists the exceptions;
* elements only QuickBooks Online accepts (annotated "not in
  QBD|QBCA|QBUK|QBAU") are left out; the maximum length is the smallest of the
  desktop editions'; an element the 14.0 annotations do not know appeared in
  16.0 (conservatively: 15.0 added nothing the 14.0 annotations lack that we
  could date).
"""

from __future__ import annotations

import argparse
import keyword
import re
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

XS = "{http://www.w3.org/2001/XMLSchema}"
ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "src" / "qbwc" / "qbxml" / "_models"
DESKTOP = ("QBD", "QBCA", "QBUK", "QBAU")

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
    "TIMEINTERVALTYPE": "STR",
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
    lengths: list[int] = []
    for raw in text.split(","):
        part = raw.strip()
        m = re.fullmatch(r"max length = (\d+)(?: for ([A-Z|]+))?", part)
        if m:
            editions = m.group(2).split("|") if m.group(2) else list(DESKTOP)
            if any(e in DESKTOP for e in editions):
                lengths.append(int(m.group(1)))
            continue
        m = re.fullmatch(r"v(\d+)\.(\d+)", part)
        if m:
            note.since = (int(m.group(1)), int(m.group(2)))
            continue
        m = re.fullmatch(r"not in ([A-Z|]+)", part)
        if m and set(DESKTOP) <= set(m.group(1).split("|")):
            note.desktop = False
    if lengths:
        note.max_len = min(lengths)
    return note


# --- the schema ------------------------------------------------------------------


@dataclass
class Field:
    tag: str
    kind: str
    name: str = ""
    max_len: int | None = None
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
                out += self.choice(child, path, owner, occurs_min, occurs_max, choice)
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
        out: list[Field] = []
        for index, alt in enumerate(alternatives):
            if alt.tag == XS + "element":
                f = self.element(alt, path, owner, 0, alt.get("maxOccurs", "1"))
                if f is not None:
                    f.choice, f.required = label, False
                    f.choice_required = occurs_min > 0
                    out.append(f)
            else:
                wrapper = etree.Element(XS + "sequence")
                wrapper.append(_copy(alt))
                inner = self.particles(wrapper, path, owner, None)
                for f in inner:
                    # "required" stays: required when this alternative is the one given.
                    # A choice inside the alternative nests under it ("c1:2|c3"); its
                    # fields' choice_required is the outer choice's.
                    inner_choice = "" if f.choice is None else "|" + f.choice
                    f.choice = f"{label}:{index}{inner_choice}"
                    f.choice_required = occurs_min > 0
                out += inner
        del outer
        return out

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
        if note is not None and note.since is not None:
            f.since = note.since
        elif note is None and path in self.notes:
            f.since = (16, 0)  # its parent is annotated, it is not: newer than 14.0
        ct = self.complex_of(decl)
        if ct is None:
            f.kind, f.max_len, f.values = self.scalar(decl)
            f.minimum, f.maximum = self.bounds(decl)
            if note is not None and note.max_len is not None:
                f.max_len = note.max_len
            if f.kind == "ID":
                f.max_len = f.max_len or 36
            return f
        f.kind = "AGG"
        model, ref_len = self.aggregate(decl, ct, p, tag)
        f.models = (model,)
        if model == "Ref":
            f.max_len = ref_len
        return f

    def aggregate(
        self, decl: etree._Element, ct: etree._Element, path: tuple[str, ...], tag: str
    ) -> tuple[str, int | None]:
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
        if tags == ["ListID", "FullName"] and not ct.findall(XS + "attribute"):
            full = fields[1]
            return "Ref", full.max_len
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
            return known, None
        if name == "DataExt" and not ret:
            return "DataExt", None
        if name == "Address":
            return "Address", None
        final = name
        if final in self.models or final in EXISTING:
            final = f"{path[-2]}{name}" if len(path) > 1 else name
        n = 2
        while final in self.models or final in EXISTING:
            final = f"{name}{n}"
            n += 1
        self.shapes[shape] = final
        self.models[final] = Model(name=final, tag=tag, fields=fields, ret=ret, users={path[0]})
        return final, None


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


def _copy(el: etree._Element) -> etree._Element:
    return etree.fromstring(etree.tostring(el))


def _shape(f: Field) -> tuple[object, ...]:
    return (
        f.tag, f.kind, f.max_len, f.many, f.models, f.values, f.attribute, f.choice,
        f.choice_required, f.required, f.min_count, f.minimum, f.maximum,
    )  # fmt: skip  (not "since": the earliest version of the contexts is kept)


# --- the vocabulary ----------------------------------------------------------------

#: Hand-written models the generated modules import instead of generating (by name).
KEEP = {
    "InvoiceAdd": "qbwc.qbxml._requests",
    "InvoiceLineAdd": "qbwc.qbxml._requests",
    "InvoiceLineGroupAdd": "qbwc.qbxml._requests",
    "EstimateAdd": "qbwc.qbxml._requests",
    "EstimateLineAdd": "qbwc.qbxml._requests",
    "EstimateLineGroupAdd": "qbwc.qbxml._requests",
    "InvoiceRet": "qbwc.qbxml._responses",
    "InvoiceLineRet": "qbwc.qbxml._responses",
    "InvoiceLineGroupRet": "qbwc.qbxml._responses",
    "EstimateRet": "qbwc.qbxml._responses",
    "EstimateLineRet": "qbwc.qbxml._responses",
    "EstimateLineGroupRet": "qbwc.qbxml._responses",
    "ErrorRecovery": "qbwc.qbxml._responses",
}


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
        fields = schema.particles(rs_type, (rs,), rs, None)
        rets = tuple(m for f in fields for m in f.models if m != "ErrorRecovery")
        schema.responses[rs] = rets


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


# --- rendering ----------------------------------------------------------------------

HEADER = '''"""
{doc}

Generated by tools/gen_qbxml.py from Intuit's qbXML 16.0 schema — do not edit.
See docs/qbxml-reference.md.
"""

# Generated — do not edit.  qbfield() is an attrs field specifier (ruff's RUF009, the
# line length and the import order are off for this package in pyproject.toml).

from __future__ import annotations
'''


def spec_args(f: Field, module_of: dict[str, str]) -> str:
    args = [repr(f.tag), f"Kind.{f.kind}"]
    if f.max_len is not None:
        args.append(f"max_len={f.max_len}")
    if f.since != (1, 0):
        args.append(f"since={f.since!r}")
    if f.required:
        args.append("required=True")
    if f.many:
        args.append("many=True")
    if f.choice:
        args.append(f"choice={f.choice!r}")
    if f.models:
        models = f.models
        args.append(f"model={models[0]}" if len(models) == 1 else f"model=({', '.join(models)})")
    if f.values:
        args.append(f"values={tuple(f.values)!r}")
    if f.attribute:
        args.append("attribute=True")
    if f.min_count:
        args.append(f"min_count={f.min_count}")
    if f.choice_required:
        args.append("choice_required=True")
    if f.minimum is not None:
        args.append(f"minimum={f.minimum}")
    if f.maximum is not None:
        args.append(f"maximum={f.maximum}")
    del module_of
    return ", ".join(args)


def py_type(f: Field) -> str:
    if f.kind == "AGG":
        one = " | ".join(f.models)
    elif f.kind in DECIMAL:
        one = "Decimal"
    else:
        one = PY_TYPES[f.kind]
    return f"tuple[{one}, ...]" if f.many else f"{one} | None"


def converter_name(models: tuple[str, ...]) -> str:
    return "_to_" + "_or_".join(snake(m).rstrip("_") for m in models) + "s"


def render_field(f: Field, converters: dict[str, str]) -> list[str]:
    t = py_type(f)
    spec = f"qb({spec_args(f, {})})" if (f.many or f.kind in DECIMAL | {"DATE", "GUID"}) else ""
    if f.many:
        if f.kind == "AGG":
            conv = converter_name(f.models)
            converters[conv] = " | ".join(f.models)
        elif f.kind in {"STR", "ID", "ENUM", "GUID"}:
            conv = "to_strs"
        else:
            conv = f"_to_{f.kind.lower()}s"
            converters[conv] = py_type(f)[6:-6]
        return [
            f"    {f.name}: {t} = attrs.field(",
            f"        factory=tuple, converter={conv}, metadata={spec}",
            "    )",
        ]
    if spec:
        conv = {"DATE": "to_date", "GUID": "to_guid"}.get(f.kind, "to_decimal")
        line = f"    {f.name}: {t} = attrs.field(default=None, converter={conv}, metadata={spec})"
        if len(line) <= 100:
            return [line]
        return [
            f"    {f.name}: {t} = attrs.field(",
            f"        default=None, converter={conv}, metadata={spec}",
            "    )",
        ]
    line = f"    {f.name}: {t} = qbfield({spec_args(f, {})})"
    if len(line) <= 100:
        return [line]
    return [f"    {f.name}: {t} = qbfield(", f"        {spec_args(f, {})}", "    )"]


def docstring(m: Model) -> str:
    if m.rq and m.tag == m.rq:
        return f"The qbXML request ``{m.rq}``."
    if m.rq:
        return f"The qbXML aggregate ``{m.tag}``, sent in ``{m.rq}``."
    if m.ret:
        return f"The qbXML aggregate ``{m.tag}``, as QuickBooks returns it."
    return f"The qbXML aggregate ``{m.tag}``."


def order(models: list[Model], schema: Schema) -> list[Model]:
    """Dependencies first, else by name."""
    done: set[str] = set()
    out: list[Model] = []
    names = {m.name for m in models}

    def visit(m: Model) -> None:
        if m.name in done:
            return
        done.add(m.name)
        for f in m.fields:
            for child in f.models:
                if child in names:
                    visit(schema.models[child])
        out.append(m)

    for m in sorted(models, key=lambda m: m.name):
        visit(m)
    return out


def render_module(family: str, models: list[Model], schema: Schema) -> str:
    doc = (
        "The shared aggregates of the qbXML models."
        if family == "shared"
        else f"The qbXML models of the {family.replace('_', ' ')} family."
    )
    lines = [HEADER.format(doc=doc)]
    used_kinds = {f.kind for m in models for f in m.fields}
    need_dt = bool(used_kinds & {"DATE", "DATETIME"})
    need_dec = bool(used_kinds & DECIMAL)
    need_iter = any(
        f.many and f.kind not in {"STR", "ID", "ENUM", "GUID"}
        for m in models
        for f in m.fields
    )
    if need_dt:
        lines.append("import datetime as dt")
    if need_iter:
        lines.append("from collections.abc import Iterable")
    if need_dec:
        lines.append("from decimal import Decimal")
    typing = ["final"] + (["TYPE_CHECKING"] if need_iter else [])
    lines.append(f"from typing import {', '.join(sorted(typing, key=_isort_key))}")
    lines.append("")
    lines.append("import attrs")
    lines.append("")
    own = {m.name for m in models}
    imports: dict[str, set[str]] = defaultdict(set)
    for m in models:
        for f in m.fields:
            for child in f.models:
                if child in own:
                    continue
                if child in EXISTING:
                    imports[EXISTING[child]].add(child)
                elif child in KEEP:
                    imports[KEEP[child]].add(child)
                else:
                    imports[f"qbwc.qbxml._models.{schema.models[child].family}"].add(child)
    helpers = {"Kind"}
    for m in models:
        for f in m.fields:
            if f.many or f.kind in DECIMAL | {"DATE", "GUID"}:
                helpers.add("qb")
            else:
                helpers.add("qbfield")
            if f.many:
                strs = f.kind in {"STR", "ID", "ENUM", "GUID"}
                helpers.add("to_strs" if strs else "to_tuple")
            elif f.kind in DECIMAL:
                helpers.add("to_decimal")
            elif f.kind == "DATE":
                helpers.add("to_date")
            elif f.kind == "GUID":
                helpers.add("to_guid")
    if any(m.ret for m in models):
        helpers.add("unknown_field")
    imports["qbwc.qbxml._types"] |= helpers
    for module in sorted(imports):
        names = sorted(imports[module], key=lambda n: (n[0].islower(), n) if False else n)
        names = sorted(imports[module], key=_isort_key)
        one = f"from {module} import {', '.join(names)}"
        if len(one) <= 100:
            lines.append(one)
        else:
            lines.append(f"from {module} import (")
            lines += [f"    {n}," for n in names]
            lines.append(")")
    lines.append("")
    all_names = sorted([m.name for m in models], key=_all_key)
    lines.append("__all__ = [")
    lines += [f'    "{n}",' for n in all_names]
    lines.append("]")
    converters: dict[str, str] = {}
    body: list[str] = []
    for m in order(models, schema):
        body += ["", "", "@final", "@attrs.frozen(kw_only=True)", f"class {m.name}:"]
        body.append(f'    """{docstring(m)}"""')
        body.append("")
        if m.name != m.tag and m.tag != m.rq:
            body.append(f"    __qbxml_tag__ = {m.tag!r}  # the element name (another has the class name)")
            body.append("")
        for f in m.fields:
            body += render_field(f, converters)
        if m.ret:
            body.append("    unknown: tuple[str, ...] = unknown_field()")
        if not m.fields and not m.ret:
            body.pop()  # the docstring is the body
    if converters:
        lines += ["", "# The repeated fields' converters, typed for mypy's attrs plugin.", "if TYPE_CHECKING:"]
        for conv, union in sorted(converters.items()):
            lines.append("")
            sig = f"    def {conv}(value: Iterable[{union}] | None, /) -> tuple[{union}, ...]: ..."
            lines.append(sig)
        lines += ["", "else:"]
        lines.append("    " + " = ".join(sorted(converters)) + " = to_tuple")
    lines += body
    return "\n".join(lines) + "\n"


def _isort_key(name: str) -> tuple[int, str]:
    # ruff's isort: CONSTANTS, then Classes, then functions.
    if name.isupper():
        return (0, name)
    if name[0].isupper():
        return (1, name)
    return (2, name)


def _all_key(name: str) -> tuple[int, str]:
    return _isort_key(name)


def generate(reference: Path) -> dict[str, str]:
    schema = Schema(reference)
    collect(schema)
    for name in list(schema.models):
        if name in KEEP:
            del schema.models[name]
    assign_families(schema)
    families: dict[str, list[Model]] = defaultdict(list)
    for m in schema.models.values():
        families[m.family].append(m)
    out = {f"{fam}.py": render_module(fam, ms, schema) for fam, ms in sorted(families.items())}
    out["__init__.py"] = render_init(sorted(families), schema)
    out["_all.py"] = render_all(schema)
    return out


def generate_reference(reference: Path) -> str:
    """docs/qbxml-reference.md."""
    schema = Schema(reference)
    collect(schema)
    for name in list(schema.models):
        if name in KEEP:
            del schema.models[name]
    assign_families(schema)
    return render_reference(schema)


def render_init(families: list[str], schema: Schema) -> str:
    lines = [
        '"""',
        "The generated qbXML models, one module per object family (tools/gen_qbxml.py).",
        "",
        "Generated — do not edit.  :data:`FAMILIES` names each family module;",
        ":data:`MODELS` maps every model name to the module that defines it.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "import importlib",
        "from typing import Final",
        "",
        "__all__ = [",
        '    "DURATION_TAGS",',
        '    "EXPORTS",',
        '    "FAMILIES",',
        '    "MODELS",',
        '    "REQUESTS",',
        '    "REQUEST_NAMES",',
        '    "REQUEST_SINCE",',
        '    "RESPONSES",',
        '    "RQ_LEVEL",',
        '    "model",',
        "]",
        "",
        "FAMILIES: Final = (",
        *[f'    "{f}",' for f in families],
        ")",
        "",
        "MODELS: Final[dict[str, str]] = {",
    ]
    for name in sorted(schema.models):
        lines.append(f'    "{name}": "qbwc.qbxml._models.{schema.models[name].family}",')
    for name in sorted(KEEP):
        lines.append(f'    "{name}": "{KEEP[name]}",')
    lines.append("}")
    lines += [
        "",
        "#: Every request model's name and the element it travels in.",
        "REQUESTS: Final[dict[str, str]] = {",
    ]
    for r in sorted(schema.requests, key=lambda r: r.name):
        lines.append(f'    "{r.name}": "{r.rq}",')
    lines.append("}")
    lines += [
        "",
        "#: The first qbXML version of each request type (Intuit's annotations; 16.0 if newer).",
        "REQUEST_SINCE: Final[dict[str, tuple[int, int]]] = {",
    ]
    for r in sorted(schema.requests, key=lambda r: r.name):
        note = schema.notes.get((r.rq,))
        since = (16, 0) if note is None else (note.since or (1, 0))
        lines.append(f'    "{r.name}": {since!r},')
    lines.append("}")
    lines += [
        "",
        "#: The fields of a request's aggregate that qbXML places beside it in the request.",
        "RQ_LEVEL: Final[dict[str, tuple[str, ...]]] = {",
    ]
    for r in sorted(schema.requests, key=lambda r: r.name):
        if r.tag != r.rq:
            lines.append(f'    "{r.name}": {tuple(f.name for f in r.fields)!r},')
    lines.append("}")
    lines += [
        "",
        "#: Every response element and the names of the Ret models it may hold.",
        "RESPONSES: Final[dict[str, tuple[str, ...]]] = {",
    ]
    for rs, rets in sorted(schema.responses.items()):
        lines.append(f'    "{rs}": {tuple(rets)!r},')
    lines.append("}")
    durations = sorted(
        el.get("name")
        for el in schema.elements.values()
        if el.get("type") == "TIMEINTERVALTYPE"
    )
    lines += [
        "",
        "#: Elements of TIMEINTERVALTYPE (``PT8H30M``), modelled as text.",
        "DURATION_TAGS: Final = frozenset({",
        *[f'    "{tag}",' for tag in durations],
        "})",
    ]
    lines += ["", "#: The model names qbwc.qbxml exports (loaded on first use).", "EXPORTS: Final = frozenset({"]
    lines += [f'    "{n}",' for n in exported(schema)]
    lines += ["})"]
    lines += [
        "",
        "#: The request model's name of each request element.",
        "REQUEST_NAMES: Final = {rq: name for name, rq in REQUESTS.items()}",
        "",
        "",
        "def model(name: str) -> type:",
        '    """The model class *name*, importing its family module on first use."""',
        "    cls: type = getattr(importlib.import_module(MODELS[name]), name)",
        "    return cls",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--reference", type=Path, default=ROOT.parent / "shared" / "reference")
    parser.add_argument("--check", action="store_true", help="compare, write nothing")
    args = parser.parse_args(argv)
    files = generate(args.reference)
    if args.check:
        stale = [n for n, t in files.items() if not (OUT / n).exists() or (OUT / n).read_text() != t]
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



# --- the reference page and the names for type checkers ------------------------------

#: Names qbwc.qbxml already exports: a generated model of the same name stays in its module.
RESERVED = frozenset({
    "Address", "AddressBlock", "CompanyInfo", "DataExt", "DataExtRet", "ErrorRecovery",
    "HCPResponse", "HostInfo", "LinkedTxn", "Preferences", "Ref", "RequestSet", "Response",
    "ResponseSet", "Severity", "StatusClass", "LinkToTxn", "SetCredit",
})  # fmt: skip


def exported(schema: Schema) -> list[str]:
    """The generated model names ``qbwc.qbxml`` exports (lazily)."""
    return sorted(n for n in schema.models if n not in RESERVED)


def render_all(schema: Schema) -> str:
    """``_models/_all.py``: every exported model, for type checkers (never imported at run time)."""
    lines = [
        '"""',
        "Every generated model, for type checkers and IDEs: qbwc.qbxml imports this module",
        "only under TYPE_CHECKING; at run time its ``__getattr__`` loads one family at a time.",
        "",
        "Generated by tools/gen_qbxml.py — do not edit.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
    ]
    by_module: dict[str, list[str]] = defaultdict(list)
    for name in exported(schema):
        by_module[schema.models[name].family].append(name)
    for family in sorted(by_module):
        lines.append(f"from qbwc.qbxml._models.{family} import (")
        lines += [f"    {n}," for n in sorted(by_module[family], key=_isort_key)]
        lines.append(")")
    lines += ["", "__all__ = ["]
    lines += [f'    "{n}",' for n in sorted(exported(schema), key=_isort_key)]
    lines.append("]")
    return "\n".join(lines) + "\n"


def render_reference(schema: Schema) -> str:
    def since(rq: str) -> str:
        note = schema.notes.get((rq,))
        if note is None:
            return "16.0"
        return "{}.{}".format(*(note.since or (1, 0)))

    lines = [
        "# qbXML reference: every request and response",
        "",
        "<!-- Generated by tools/gen_qbxml.py from Intuit's qbXML 16.0 schema — do not edit. -->",
        "",
        f"qbwc models **{len(schema.requests)} request types** and "
        f"**{sum(1 for r in schema.responses.values() if r)} response types** of qbXML 16.0 "
        f"({len(schema.models) + len(KEEP)} model classes), every one that QuickBooks Desktop "
        "(US, Canadian, UK or Australian edition) accepts. Each model is importable from "
        "`qbwc.qbxml` (`from qbwc.qbxml import CustomerAdd`); its family module loads on "
        "first use. How to use them: [qbXML requests](qbxml.md), "
        "[qbXML responses](qbxml-responses.md).",
        "",
        "## Naming",
        "",
        "* A model is named for its qbXML aggregate: `CustomerAdd`, `CustomerMod`, `CustomerRet`.",
        "  A request without an inner aggregate is named for its request element without `Rq`:",
        "  `CustomerQuery`, `ListDel`, `TxnVoid`, `AgingReportQuery`. Such a model *is* the request",
        "  element: its fields include `iterator`, `iterator_id`, `meta_data`, `max_returned`,",
        "  `include_ret_element` and `owner_id` where the schema has them.",
        "* A field is the snake_case of its element (`PONumber` → `po_number`, `FOB` → `fob`,",
        "  `ARAccountRef` → `ar_account_ref`); a name that is a Python keyword gets a trailing `_`.",
        "* A repeated element is a tuple field of the same name. A repeated *choice* of several",
        "  line aggregates (`InvoiceLineAdd` | `InvoiceLineGroupAdd`) is the one field `lines`,",
        "  as in the hand-written invoice models.",
        "* An aggregate made of `ListID` and `FullName` is a `Ref`; the address groups are `Address`",
        "  and `AddressBlock`. Two different aggregates with one element name get the name of their",
        "  parent as a prefix (`CustomerRetShipToAddress`); the class keeps its element name in",
        "  `__qbxml_tag__`.",
        "* Choices: fields of one `xsd:choice` are alternatives (the builder refuses two); a",
        "  required choice needs one of them (`one of sales_or_purchase, sales_and_purchase is",
        "  required`).",
        "* Maximum lengths are the smallest of the desktop editions' (Intuit's 14.0 annotations);",
        "  `since` is the version an element appeared in; an element the 14.0 annotations do not",
        "  know is dated 16.0.",
        "",
        "## Regenerating",
        "",
        "The models in `src/qbwc/qbxml/_models/` and this page are written by",
        "`python tools/gen_qbxml.py` from `../shared/reference/xsd/` (Intuit's qbXML 16.0 and",
        "13.0 schemas and the SDK's sample-data annotations); `tests/test_qbxml_generated.py`",
        "regenerates them and fails when a checked-in file differs. Rules the schema cannot say",
        "(the rate choice of a line, no `ItemRef` with `LinkToTxn`, Australian-only fields) stay in",
        "the hand-written invoice and estimate models.",
        "",
        "## Requests",
        "",
        "| Model | Request element | Since | Module |",
        "| --- | --- | --- | --- |",
    ]
    for r in sorted(schema.requests, key=lambda r: r.name):
        module = KEEP.get(r.name) or f"qbwc.qbxml._models.{schema.models[r.name].family}"
        lines.append(f"| `{r.name}` | `{r.rq}` | {since(r.rq)} | `{module}` |")
    lines += [
        "",
        "## Responses",
        "",
        "| Response element | Since | Ret models |",
        "| --- | --- | --- |",
    ]
    for rs, rets in sorted(schema.responses.items()):
        if rets:
            names = ", ".join(f"`{n}`" for n in rets)
            lines.append(f"| `{rs}` | {since(rs[:-2] + 'Rq')} | {names} |")
    out = sorted(set(schema.left_out))
    lines += [
        "",
        "## Left out",
        "",
        f"{len(out)} elements and requests are not modelled: those only QuickBooks Online",
        'accepts (annotated "not in QBD|QBCA|QBUK|QBAU"), and those Intuit\'s schema switches',
        "off (`maxOccurs=0`).",
        "",
    ]
    lines += [f"* `{p}`: {reason}" for p, reason in out]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
