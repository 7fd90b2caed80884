"""
Griffe extension for the API reference (mkdocs.yml): what a public module's page shows.

- ``qbwc.qbxml`` star-imports every generated model (``qbwc.qbxml._models``) for type
  checkers; rendering all of them would make a page of many megabytes and a slow build.
  They are documented by docs/qbxml-reference.md, so the page keeps the hand-written API.
- A public module without ``__all__`` is read as if its ``__all__`` listed its public
  names that come from qbwc (tests/test_docs_site.py applies the same rule); a module that
  has ``__all__`` lists exactly that.
- A constant or type alias is documented the way this code base does it, by ``#:`` comment
  lines right above the assignment; they become its docstring.
- The docstrings' Sphinx roles (``:class:`~qbwc.store.Job```, ``:meth:`add_account```)
  become links to the reference when the name resolves and is shown there, and code
  otherwise.
"""

from __future__ import annotations

import ast
import re
from typing import Any

import griffe

GENERATED = "qbwc.qbxml._models"
#: ``:role:`target``` or ``:role:`~target``` (``~``: show the last part only).
_ROLE = re.compile(r":(?:class|func|meth|attr|mod|data|exc|obj):`(~?)([\w.]+)(?:\(\))?`")


def _target(member: griffe.Object | griffe.Alias) -> str:
    return member.target_path if isinstance(member, griffe.Alias) else member.path


class QbwcReference(griffe.Extension):
    """The adjustments above."""

    def on_attribute_instance(
        self, *, node: ast.AST | griffe.ObjectNode, attr: griffe.Attribute, **kwargs: Any
    ) -> None:
        """Give an attribute without a docstring the ``#:`` comment above it."""
        if attr.docstring is not None or attr.lineno is None:
            return
        lines = attr.parent.lines if attr.parent is not None else []
        comment: list[str] = []
        index = attr.lineno - 2  # the line above, 0-based
        while 0 <= index < len(lines) and lines[index].lstrip().startswith("#:"):
            comment.insert(0, lines[index].lstrip()[2:].strip())
            index -= 1
        if comment:
            attr.docstring = griffe.Docstring(
                "\n".join(comment), lineno=index + 2, endlineno=attr.lineno - 1, parent=attr
            )

    def on_module_members(
        self, *, node: ast.AST | griffe.ObjectNode, mod: griffe.Module, **kwargs: Any
    ) -> None:
        """Keep ``qbwc.qbxml.__all__``'s hand-written names (its generated tuple is not shown)."""
        if mod.path == "qbwc.qbxml" and mod.exports is not None:
            mod.exports = [name for name in mod.exports if isinstance(name, str)]

    def on_package(self, *, pkg: griffe.Module, loader: griffe.GriffeLoader, **kwargs: Any) -> None:
        """Adjust the loaded package (its star imports are expanded by now)."""
        if pkg.path != "qbwc":
            return
        self._link_roles(pkg, set())
        qbxml = pkg.members["qbxml"]
        for name, member in list(qbxml.members.items()):
            if _target(member).startswith(GENERATED + "."):
                del qbxml.members[name]
        self._export_public_names(pkg)

    def _export_public_names(self, module: griffe.Module) -> None:
        if module.exports is None:
            module.exports = [
                name
                for name, member in module.members.items()
                if not name.startswith("_")
                and (member.is_alias or member.kind is not griffe.Kind.MODULE)
                and _target(member).startswith("qbwc.")
            ]
        for name, member in module.members.items():
            if isinstance(member, griffe.Module) and not name.startswith("_"):
                self._export_public_names(member)

    def _link_roles(self, obj: griffe.Object, seen: set[str]) -> None:
        if obj.path in seen:
            return
        seen.add(obj.path)
        if obj.docstring is not None:
            obj.docstring.value = _ROLE.sub(lambda m: _reference(obj, m), obj.docstring.value)
        for member in obj.members.values():
            if not isinstance(member, griffe.Alias):
                self._link_roles(member, seen)


def _reference(obj: griffe.Object, match: re.Match[str]) -> str:
    """An optional autorefs link: a link when the target is on a page, else plain code."""
    short, name = match.group(1) == "~", match.group(2)
    shown = name.rsplit(".", 1)[-1] if short else name
    head, _, rest = name.partition(".")
    try:
        path = obj.resolve(head) + (f".{rest}" if rest else "")
    except (griffe.NameResolutionError, ValueError):
        return f"`{shown}`"
    return f'<autoref identifier="{path}" optional><code>{shown}</code></autoref>'
