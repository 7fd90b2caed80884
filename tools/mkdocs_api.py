"""
MkDocs hook (mkdocs.yml ``hooks:``): the API reference pages.

Each nav entry ``api/<module>.md`` under "API reference" becomes a page that renders
``<module>`` from its docstrings with mkdocstrings, unless ``docs/api/<module>.md`` exists
(a module that needs options of its own, such as ``qbwc.qbxml``, has its page written out).
Adding a public module to the reference is one nav line.
"""

from __future__ import annotations

from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files

SECTION = "API reference"


def api_modules(nav: list[Any]) -> list[str]:
    """The modules the nav's "API reference" section names, in nav order."""
    for entry in nav:
        if isinstance(entry, dict) and SECTION in entry:
            paths = [next(iter(item.values())) if isinstance(item, dict) else item
                     for item in entry[SECTION]]  # fmt: skip
            return [path.removeprefix("api/").removesuffix(".md") for path in paths]
    return []


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """Add a generated page for each API module that has no page of its own."""
    for module in api_modules(config.nav or []):
        path = f"api/{module}.md"
        if files.get_file_from_path(path) is None:
            options = "    options:\n      show_root_heading: false\n"
            content = f"# `{module}`\n\n::: {module}\n{options}"
            files.append(File.generated(config, path, content=content))
    return files
