"""
The house rules on layout (docs/service.md): the service is a package of modules that
each own one concern, the adapters use only public API, and every call has one handler.
"""

from __future__ import annotations

import ast
import typing
from pathlib import Path

import pytest

import qbwc
from qbwc.protocol._events import AnyCall
from qbwc.service._calls import _HANDLERS

SRC = Path(qbwc.__file__).parent
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
