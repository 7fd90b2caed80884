"""
The public surface (docs/architecture.md, "Public names"): about twenty names in ``qbwc``,
the protocol in ``qbwc.protocol``, and an explicit ``__all__`` in every public module that
names only what the module defines or re-exports on purpose.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import types
import typing
from pathlib import Path

import pytest

import qbwc

SRC = Path(qbwc.__file__).parent


def _public_modules() -> list[str]:
    """Every module whose dotted name has no private part (Django's migrations aside)."""
    names = ["qbwc"] + [m.name for m in pkgutil.walk_packages(qbwc.__path__, "qbwc.")]
    return sorted(
        name
        for name in names
        if not any(part.startswith("_") for part in name.split("."))
        and not name.startswith("qbwc.django.migrations")
    )


PUBLIC = _public_modules()
#: Django's modules need configured settings to import: checked from their source only.
NEEDS_DJANGO = [name for name in PUBLIC if name.startswith("qbwc.django")]
IMPORTABLE = [name for name in PUBLIC if name not in NEEDS_DJANGO]


def _path(module: str) -> Path:
    parts = module.split(".")[1:]
    package = SRC.joinpath(*parts)
    return package / "__init__.py" if package.is_dir() else package.with_suffix(".py")


def _literal_all(tree: ast.Module) -> list[str] | None:
    for node in tree.body:
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
                assert node.value is not None
                value = ast.literal_eval(node.value)
                assert isinstance(value, list | tuple)
                return list(value)
    return None


def _top_level_bindings(tree: ast.Module) -> set[str]:
    """Names the module binds at top level (definitions, assignments, imports)."""
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            bound.add(node.id)
        elif isinstance(node, ast.ImportFrom):
            bound |= {alias.asname or alias.name for alias in node.names}
    return bound


def test_the_walk_finds_the_public_modules() -> None:
    for name in ("qbwc", "qbwc.protocol", "qbwc.qbxml", "qbwc.store", "qbwc.testing"):
        assert name in PUBLIC
    assert not [name for name in PUBLIC if ".cli." in name or name.endswith("._demo")]


@pytest.mark.parametrize("module", PUBLIC)
def test_every_public_module_has_an_explicit_all(module: str) -> None:
    """A literal list of str in the source, each name bound there, never ``annotations``."""
    tree = ast.parse(_path(module).read_text(encoding="utf-8"))
    names = _literal_all(tree)
    assert names is not None, f"{module} has no literal __all__"
    assert all(type(n) is str for n in names)
    assert len(names) == len(set(names)), "a name twice"
    assert "annotations" not in names
    bound = _top_level_bindings(tree) | {"__version__"}
    assert [n for n in names if n not in bound] == []


@pytest.mark.parametrize("module", IMPORTABLE)
def test_every_name_in_all_is_an_object_on_purpose(module: str) -> None:
    """Each name in ``__all__`` resolves, and none is a module or a ``__future__`` feature."""
    mod = importlib.import_module(module)
    assert isinstance(mod.__all__, list)
    for name in mod.__all__:
        value = getattr(mod, name)
        assert not isinstance(value, types.ModuleType), f"{module}.{name} is a module"
        assert type(value).__module__ != "__future__", f"{module}.{name}"
        assert not name.startswith("_") or name == "__version__", name


def test_star_import_of_the_package_gives_exactly_its_names() -> None:
    namespace: dict[str, object] = {}
    exec("from qbwc import *", namespace)
    assert sorted(n for n in namespace if n != "__builtins__") == sorted(qbwc.__all__)


#: The top level, each name with its reason to be there.
TOP_LEVEL = {
    "WebConnectorService": "the service: every application starts here",
    "HTTPReply": "what WebConnectorService.handle_http returns to an adapter",
    "Disconnection": "what WebConnectorService.disconnect returns",
    "CompanyMismatch": "what the on_company_mismatch hook receives",
    "Account": "what add_account, account and accounts return",
    "Job": "what enqueue, job, jobs, retry and cancel return",
    "Link": "what link and links return: the host's key for a QuickBooks object",
    "Store": "the storage protocol the service takes (write your own)",
    "MemoryStore": "the store for tests and one process",
    "SQLiteStore": "the embedded default store",
    "StoreError": "what a store raises when it cannot do its work",
    "QBWCError": "the base of every exception qbwc raises on purpose",
    "ConfigurationError": "a bad setting or argument, naming the field and the rule",
    "ProtocolError": "the base of the two protocol errors (a SOAP fault code)",
    "LocalProtocolError": "we were asked to send something illegal now",
    "RemoteProtocolError": "the Web Connector sent something illegal now",
    "XMLParseError": "malformed, oversized or forbidden XML",
    "QBXMLError": "the base of the qbXML errors",
    "QBXMLValidationError": "a request breaks a qbXML rule (.path and .rule)",
    "QuickBooksError": "Response.raise_for_status() on a QuickBooks error status",
    "__version__": "the installed version, read on first use",
}


def test_the_top_level_names() -> None:
    assert sorted(qbwc.__all__) == sorted(TOP_LEVEL)


def test_the_version_is_read_lazily() -> None:
    """``import qbwc`` reads no distribution metadata; ``qbwc.__version__`` does, once."""
    import subprocess
    import sys

    code = (
        "import sys, qbwc; assert 'importlib.metadata' not in sys.modules, 'eager'; "
        "v = qbwc.__version__; assert v and v == qbwc.__version__; print(v)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "__version__" in dir(qbwc)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        qbwc.nope  # type: ignore[attr-defined]


def test_the_protocol_module_holds_every_call_and_reply() -> None:
    import qbwc.protocol
    from qbwc.protocol import AnyCall, AnyReply, Call, Reply

    calls = set(typing.get_args(AnyCall))
    replies = set(typing.get_args(AnyReply))
    exported = {getattr(qbwc.protocol, n) for n in qbwc.protocol.__all__}
    assert calls | replies <= exported
    for reply in replies:
        assert issubclass(reply, Reply)
        # A reply never reads like an exception.
        assert not reply.__name__.endswith(("Error", "Exception"))
    assert all(issubclass(call, Call) for call in calls)
    assert {"Session", "SessionState", "Phase"} <= set(qbwc.protocol.__all__)
