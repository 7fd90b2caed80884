"""
The documentation site (mkdocs.yml, docs/releasing.md#the-documentation-site): it builds with
``--strict``, a broken link, anchor or API reference fails that build, and every public name
the API reference shows has a docstring.
"""

from __future__ import annotations

import enum
import importlib
import inspect
import os
import subprocess
import sys
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "mkdocs.yml"
sys.path.insert(0, str(ROOT / "tools"))
from mkdocs_api import api_modules  # noqa: E402

#: The modules the issue names for the reference (14, item 5); the nav may add more.
REQUIRED = {
    "qbwc",
    "qbwc.qbxml",
    "qbwc.qwc",
    "qbwc.store",
    "qbwc.testing",
    "qbwc.actuals",
    "qbwc.wsgi",
    "qbwc.asgi",
    "qbwc.django",
    "qbwc.exceptions",
}


def _config() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    return loaded


MODULES = api_modules(_config()["nav"])


def _mkdocs(config: Path, site: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--clean",
         "--config-file", str(config), "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )  # fmt: skip


# --- the build ---


def test_site_builds_strictly(tmp_path: Path) -> None:
    """``mkdocs build --strict``: every page, link, anchor and API reference resolves."""
    result = _mkdocs(CONFIG, tmp_path / "site")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING" not in result.stderr, result.stderr
    for module in MODULES:
        page = (tmp_path / "site" / "api" / module / "index.html").read_text(encoding="utf-8")
        assert f'id="{module}' in page, module
    # The generated qbXML models stay off qbwc.qbxml's page; the hand-written API is on it.
    qbxml = (tmp_path / "site" / "api" / "qbwc.qbxml" / "index.html").read_text(encoding="utf-8")
    assert 'id="qbwc.qbxml.build_request"' in qbxml
    assert 'id="qbwc.qbxml.CustomerAdd"' not in qbxml
    assert len(qbxml) < 2_000_000


def test_config_fetches_nothing_and_treats_every_warning_as_an_error() -> None:
    config = _config()
    assert config["strict"] is True
    assert config["theme"] == {**config["theme"], "name": "material", "font": False}
    assert set(config["validation"].values()) == {"warn"}  # each a failure under strict
    assert "extra_javascript" not in config
    assert "extra_css" not in config


def test_the_reference_covers_the_public_modules() -> None:
    assert set(MODULES) >= REQUIRED
    assert len(MODULES) == len(set(MODULES))


def test_every_page_is_in_the_nav() -> None:
    """The nav lists every guide page (a page left out also fails the strict build)."""

    def paths(entries: list[Any]) -> set[str]:
        found: set[str] = set()
        for entry in entries:
            value = next(iter(entry.values())) if isinstance(entry, dict) else entry
            found |= paths(value) if isinstance(value, list) else {value}
        return found

    pages = {p.name for p in (ROOT / "docs").glob("*.md")}
    assert pages <= paths(_config()["nav"])


#: What is broken -> what the failed build names.  The warnings (links, anchors,
#: cross-references) are all reported by one build; a missing API object stops a build.
BROKEN = {
    "warnings": (
        "[the queue](no-such-page.md)\n\n"
        "[the queue](service.md#no-such-section)\n\n"
        "[the store][qbwc.store.NoSuchStore]",
        ["no-such-page.md", "no-such-section", "qbwc.store.NoSuchStore"],
    ),
    "reference": ("::: qbwc.no_such_module", ["qbwc.no_such_module"]),
}


@pytest.mark.parametrize("kind", sorted(BROKEN))
def test_a_broken_link_or_reference_fails_the_build(tmp_path: Path, kind: str) -> None:
    """The project's own configuration, on a small site with things broken."""
    text, named = BROKEN[kind]
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text(f"# Home\n\n{text}\n\n[ok](service.md#settings)\n")
    (docs / "service.md").write_text("# Service\n\n## Settings\n\nText.\n")
    config = _config()
    config["docs_dir"] = str(docs)
    config["nav"] = [{"Home": "index.md"}, {"Service": "service.md"}]
    config["hooks"] = [str(ROOT / hook) for hook in config["hooks"]]
    for plugin in config["plugins"]:  # paths relative to mkdocs.yml, made absolute
        if isinstance(plugin, dict) and "mkdocstrings" in plugin:
            python = plugin["mkdocstrings"]["handlers"]["python"]
            python["paths"] = [str(ROOT / path) for path in python["paths"]]
            options = python["options"]
            options["extensions"] = [str(ROOT / ext) for ext in options["extensions"]]
    config_path = tmp_path / "mkdocs.yml"
    config_path.write_text(yaml.safe_dump(config), encoding="utf-8")

    result = _mkdocs(config_path, tmp_path / "site")

    assert result.returncode != 0
    for name in named:
        assert name in result.stderr, (name, result.stderr)
    assert "settings" not in result.stderr  # the good link and anchor pass


# --- docstrings ---


@cache
def _griffe_package() -> Any:
    """The package as the site's API reference reads it (tools/griffe_qbwc.py applied)."""
    import griffe
    from griffe_qbwc import QbwcReference

    loader = griffe.GriffeLoader(
        search_paths=[str(ROOT / "src")],
        extensions=griffe.load_extensions(QbwcReference()),
    )
    return loader.load("qbwc")


def _griffe_module(name: str) -> Any:
    package = _griffe_package()
    return package if name == "qbwc" else package[name.removeprefix("qbwc.")]


def _public_names(module: ModuleType) -> list[str]:
    """``__all__``; for a module without one, what the site lists (tools/griffe_qbwc.py)."""
    declared = getattr(module, "__all__", None)
    if declared is not None:
        return list(declared)
    return [str(name) for name in _griffe_module(module.__name__).exports]


def _own_doc(obj: Any) -> str | None:
    if inspect.isclass(obj):
        doc = vars(obj).get("__doc__")
        return doc if isinstance(doc, str) else None
    return getattr(obj, "__doc__", None)


def _methods(cls: type) -> list[tuple[str, Any]]:
    """The public methods and properties the class itself defines."""
    if issubclass(cls, enum.Enum):
        return []
    found: list[tuple[str, Any]] = []
    for name, attribute in vars(cls).items():
        if name.startswith("_"):
            continue
        function = attribute
        if isinstance(attribute, (staticmethod, classmethod)):
            function = attribute.__func__
        elif isinstance(attribute, property):
            function = attribute.fget
        if inspect.isfunction(function):
            found.append((name, function))
    return found


#: The generated names qbwc.qbxml exports (tools/griffe_qbwc.py leaves them off its page).
GENERATED_NAMES = frozenset(importlib.import_module("qbwc.qbxml._exports").EXPORTED)


def _undocumented(module_name: str) -> list[str]:
    module = importlib.import_module(module_name)
    missing: list[str] = []
    if not module.__doc__:
        missing.append(module_name)
    for name in _public_names(module):
        value = getattr(module, name)
        if name.startswith("_") or inspect.ismodule(value):  # __version__; the site hides it
            continue
        if module_name == "qbwc.qbxml" and name in GENERATED_NAMES:
            continue  # generated models: docs/qbxml-reference.md, not the API reference
        member = _griffe_module(module_name)[name]
        if member.is_attribute:  # a constant or a type alias: the string under it, or #:
            if not (member.docstring and member.docstring.value.strip()):
                missing.append(f"{module_name}.{name}")
            continue
        if not (_own_doc(value) or "").strip():
            missing.append(f"{module_name}.{name}")
        if inspect.isclass(value):
            missing += [
                f"{module_name}.{name}.{method}"
                for method, function in _methods(value)
                if not (function.__doc__ or "").strip()
            ]
    return missing


@pytest.mark.parametrize("module_name", MODULES)
def test_every_public_name_has_a_docstring(module_name: str) -> None:
    """Each name the reference shows, and each public method of a public class, says what it is."""
    assert _undocumented(module_name) == []
