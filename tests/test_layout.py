"""
The house rules on layout (docs/service.md): the service is a package of modules that
each own one concern, the adapters use only public API, and every call has one handler.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
import typing
from pathlib import Path

import pytest

import qbwc
from qbwc.protocol._events import AnyCall
from qbwc.service._calls import _HANDLERS

SRC = Path(qbwc.__file__).parent
ROOT = Path(__file__).resolve().parents[1]
#: Every hand-written module of the package (generated ones say so in their first lines).
SPLIT = sorted(
    path
    for path in SRC.rglob("*.py")
    if "do not edit" not in path.read_text(encoding="utf-8")[:600].lower()
)
#: All of them but the one home of generated code.
NOT_DIRECT = [path for path in SPLIT if path != SRC / "_direct.py"]
ADAPTERS = [SRC / "wsgi.py", SRC / "asgi.py", SRC / "django" / "views.py"]
CALLS = typing.get_args(AnyCall)


@pytest.mark.parametrize("call_type", CALLS, ids=[c.__name__ for c in CALLS])
def test_every_call_has_a_handler(call_type: type) -> None:
    assert call_type in _HANDLERS


def test_the_table_holds_calls_only() -> None:
    assert set(_HANDLERS) == set(CALLS)


@pytest.mark.parametrize("path", SPLIT, ids=[str(p.relative_to(SRC)) for p in SPLIT])
def test_modules_stay_small(path: Path) -> None:
    """No hand-written module over about 1,000 lines."""
    assert len(path.read_text(encoding="utf-8").splitlines()) < 1000


@pytest.mark.parametrize("path", NOT_DIRECT, ids=[str(p.relative_to(SRC)) for p in NOT_DIRECT])
def test_no_generated_code_outside_direct(path: Path) -> None:
    """Code generation has one home, qbwc._direct."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    calls = [
        node.func.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    ]
    assert "exec" not in calls
    assert "eval" not in calls


@pytest.mark.parametrize("path", ADAPTERS, ids=[p.name for p in ADAPTERS])
def test_adapters_use_only_public_api(path: Path) -> None:
    """No import of a private qbwc module or name, no private attribute of the service."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    private: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("qbwc"):
            module = node.module or ""
            if any(part.startswith("_") for part in module.split(".")):
                private.append(module)
            private += [a.name for a in node.names if a.name.startswith("_")]
        elif isinstance(node, ast.Import):
            private += [a.name for a in node.names if "._" in a.name and "qbwc" in a.name]
        elif (
            isinstance(node, ast.Attribute)
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
        ):
            private.append(node.attr)
    assert private == []


def test_the_service_package_names() -> None:
    """qbwc.service is public: the service's names and the adapters' surface."""
    import qbwc.service

    assert qbwc.service.__all__ == [
        "BodyReader",
        "BodyRefused",
        "CompanyMismatch",
        "Disconnection",
        "HTTPReply",
        "WebConnectorService",
        "request_url",
        "xml_headers",
    ]
    for name in ("CompanyMismatch", "Disconnection", "HTTPReply", "WebConnectorService"):
        assert getattr(qbwc, name) is getattr(qbwc.service, name)


# --- the layers (docs/architecture.md, "Layers") --------------------------------------

#: Every module belongs to one component; components are listed from the lowest layer to
#: the highest, those on one line being one layer.  A module may import its own component
#: and any component of a lower layer, nothing else: not a higher layer, not a sibling.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("foundation",),
    ("protocol",),
    ("qbxml",),
    ("qwc", "actuals"),
    ("store",),
    ("service",),
    ("wsgi", "asgi", "django"),
    ("testing",),
    ("cli",),
    ("package",),
)
#: Module-name prefixes of each component (the longest prefix wins).
COMPONENTS: dict[str, tuple[str, ...]] = {
    "foundation": (
        "qbwc.exceptions",
        "qbwc._budget",
        "qbwc._direct",
        "qbwc._names",
        "qbwc._resources",
        "qbwc._version",
        "qbwc._xml",
    ),
    "protocol": ("qbwc.protocol",),
    "qbxml": ("qbwc.qbxml",),
    "qwc": ("qbwc.qwc",),
    "actuals": ("qbwc.actuals",),
    "store": ("qbwc.store",),
    "service": ("qbwc.service",),
    "wsgi": ("qbwc.wsgi",),
    "asgi": ("qbwc.asgi",),
    "django": ("qbwc.django",),
    "testing": ("qbwc.testing",),
    # The command-line entry points: ``qbwc`` and Django's ``manage.py qbwc_*`` share
    # the command-line helpers (tables, query output) of qbwc.cli.
    "cli": ("qbwc.cli", "qbwc.__main__", "qbwc.django.management"),
    "package": ("qbwc",),
}
ADAPTER_COMPONENTS = frozenset({"wsgi", "asgi", "django"})
#: Imports of a private module by an adapter, each with its reason.
ADAPTER_EXCEPTIONS = {
    # The Django store is a store on Django's database connection: it runs the
    # PostgreSQL store's SQL (one copy of it), and Django's migrations install that schema.
    ("qbwc.django._store", "qbwc.store._pg_sql"),
    ("qbwc.django._conf", "qbwc.store._pg_sql"),
}
LEVEL = {component: level for level, row in enumerate(LAYERS) for component in row}
ALL_MODULES = sorted(SRC.rglob("*.py"))


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def component_of(module: str) -> str | None:
    best: tuple[int, str] | None = None
    for component, prefixes in COMPONENTS.items():
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and (
                best is None or len(prefix) > best[0]
            ):
                best = (len(prefix), component)
    return None if best is None else best[1]


def imports_of(path: Path) -> list[str]:
    """Every qbwc module *path* imports, at module level or inside a function."""
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] == "qbwc"]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] != "qbwc":
                continue
            for alias in node.names:
                # ``from qbwc.store import _postgres`` imports the module qbwc.store._postgres.
                sub = f"{node.module}.{alias.name}"
                is_module = (SRC.parent / sub.replace(".", "/")).with_suffix(".py").exists() or (
                    SRC.parent / sub.replace(".", "/") / "__init__.py"
                ).exists()
                found.append(sub if is_module else node.module)
    return found


def test_the_layer_table_covers_every_component() -> None:
    assert set(LEVEL) == set(COMPONENTS)


@pytest.mark.parametrize("path", ALL_MODULES, ids=[str(p.relative_to(SRC)) for p in ALL_MODULES])
def test_no_import_goes_up_or_sideways(path: Path) -> None:
    """Each module belongs to a layer and imports only its own component and lower layers."""
    module = _module_name(path)
    own = component_of(module)
    assert own is not None, f"{module} belongs to no component: add it to COMPONENTS"
    wrong = []
    for target in imports_of(path):
        other = component_of(target)
        assert other is not None, f"{module} imports {target}, which belongs to no component"
        if other != own and LEVEL[other] >= LEVEL[own]:
            wrong.append(f"{module} ({own}) imports {target} ({other})")
    assert wrong == []


@pytest.mark.parametrize("path", ALL_MODULES, ids=[str(p.relative_to(SRC)) for p in ALL_MODULES])
def test_adapters_import_no_private_module_of_another_component(path: Path) -> None:
    module = _module_name(path)
    own = component_of(module)
    if own not in ADAPTER_COMPONENTS:
        return
    wrong = []
    for target in imports_of(path):
        other = component_of(target)
        private = any(part.startswith("_") for part in target.split(".")[1:])
        if other != own and private and (module, target) not in ADAPTER_EXCEPTIONS:
            wrong.append(f"{module} imports {target}")
    assert wrong == []


def test_the_layer_test_sees_violations() -> None:
    """The checks above would catch an upward import, a lazy one included, and a sideways one."""
    assert LEVEL[component_of("qbwc.service._queue") or ""] < LEVEL["cli"]
    assert component_of("qbwc.django.management.commands.qbwc_db") == "cli"
    assert component_of("qbwc.django.views") == "django"
    assert component_of("qbwc") == "package"
    assert component_of("qbwcx") is None
    assert "qbwc.store._postgres" in imports_of(SRC / "store" / "__init__.py")
    lazy = [t for t in imports_of(SRC / "service" / "_queue.py") if t.startswith("qbwc.qbxml")]
    assert lazy  # the function-level ``from qbwc.qbxml._json import dump``


# --- comments cite this repository (docs/protocol.md, "Sources") ---

#: Every Python file a reader of the repository opens, and the pages.
READ = sorted(
    [
        *(path for folder in ("src", "tests", "tools", "benchmarks", "docs")
          for path in (ROOT / folder).rglob("*.py")),
        *(ROOT / "docs").glob("*.md"),
        ROOT / "README.md",
    ]
)  # fmt: skip
#: A cited page: a name ending in .md (``docs/service.md``, ``README.md``).
_PAGE = re.compile(r"[\w./-]*\w\.md\b")
#: A section of the notes the comments used to cite: the sign, a letter A-G and numbers.
#: (XML's own sections are numbers only, and fine.)
_SECTION = re.compile(r"§\s*[A-G](\.\d+)*\b")


def _prose(path: Path) -> list[tuple[int, str]]:
    """The comments and docstrings of a Python file (the whole text of a page), by line."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".md":
        return list(enumerate(text.splitlines(), 1))
    found = [
        (token.start[0], token.string)
        for token in tokenize.generate_tokens(io.StringIO(text).readline)
        if token.type == tokenize.COMMENT
    ]
    for node in ast.walk(ast.parse(text)):
        if (
            isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            found.append((node.lineno, node.value.value))
    return found


def _in_repository(name: str, path: Path) -> bool:
    places = [ROOT / name, ROOT / "docs" / name, path.parent / name]
    return any(place.resolve().is_file() and ROOT in place.resolve().parents for place in places)


def test_comments_cite_files_in_the_repository() -> None:
    """A comment, docstring or page that cites a page names one of this repository's."""
    outside = [
        f"{path.relative_to(ROOT)}:{line}: {cited}"
        for path in READ
        for line, prose in _prose(path)
        for cited in [*_PAGE.findall(prose), *(m.group() for m in _SECTION.finditer(prose))]
        if cited.startswith("§") or not _in_repository(cited, path)
    ]
    assert outside == []


def test_a_comment_citing_notes_outside_the_repository_is_found(tmp_path: Path) -> None:
    module = tmp_path / "module.py"
    module.write_text(
        '"""The call sequence (NOTES.md §A.4)."""\n\n'
        "# Nothing may precede the declaration (docs/protocol.md, \"The envelope\").\n"
        "X = 1  # see ../shared/STYLE.md\n",
        encoding="utf-8",
    )
    cited = sorted(c for _, prose in _prose(module) for c in _PAGE.findall(prose))
    assert cited == ["../shared/STYLE.md", "NOTES.md", "docs/protocol.md"]
    assert [c for c in cited if not _in_repository(c, module)] == ["../shared/STYLE.md", "NOTES.md"]
    assert _SECTION.search("(NOTES.md §A.4)")
    assert not _SECTION.search("XML 1.0 § 2.2 Char")
