"""
Every ```python block in docs/*.md and README.md runs, in order, one namespace per page,
and type-checks with ``mypy --strict`` (one mypy run over every page and docs/examples/).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted([*ROOT.glob("docs/*.md"), ROOT / "README.md"])
EXAMPLES = ROOT / "docs" / "examples"
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)
#: Put this line right before a ```python fence whose block is deliberately partial:
#: it still runs, but is not type-checked.
NOT_TYPED = "<!-- mypy: partial example -->"
# Django ships no type hints (and this project does not install django-stubs): its
# names are Any, so classes built on them may subclass Any.  Everything else is strict.
_MYPY_CONFIG = """\
[mypy]
strict = True
python_version = 3.11
warn_unused_ignores = True
enable_error_code = ignore-without-code

[mypy-django.*]
ignore_missing_imports = True

[mypy-billing.*,billing_site.*,manage]
disallow_subclassing_any = False
"""
_ERROR = re.compile(r"^(?P<path>[^:]+):(?P<line>\d+): (?P<text>error: .*)$", re.MULTILINE)


def _module_name(page: Path) -> str:
    return "docs_" + re.sub(r"\W", "_", page.stem)


def typed_source(page: Path) -> tuple[str, list[int]]:
    """The page's type-checked blocks as one module, and each module line's line in the page."""
    text = page.read_text(encoding="utf-8")
    lines: list[str] = []
    origin: list[int] = []
    for match in _BLOCK.finditer(text):
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        if before.strip() == NOT_TYPED:
            continue
        first = text.count("\n", 0, match.start(1)) + 1
        block = match.group(1).splitlines()
        lines += block
        origin += range(first, first + len(block))
    return "\n".join(lines) + "\n", origin


@cache
def mypy_errors() -> dict[str, list[str]]:
    """``mypy --strict`` over every page's blocks and docs/examples/: page or file -> errors."""
    folder = Path(tempfile.mkdtemp(prefix="qbwc-doc-snippets-"))
    origins: dict[str, tuple[str, list[int]]] = {}
    for page in PAGES:
        source, origin = typed_source(page)
        path = folder / f"{_module_name(page)}.py"
        path.write_text(source, encoding="utf-8")
        origins[str(path)] = (page.name, origin)
    config = folder / "mypy.ini"
    config.write_text(_MYPY_CONFIG, encoding="utf-8")
    django = EXAMPLES / "django"
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(config),
         "--cache-dir", str(folder / ".mypy_cache"), "--no-error-summary",
         *map(str, sorted(origins)), *map(str, sorted(django.rglob("*.py")))],
        cwd=django,
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    assert result.returncode in (0, 1), result.stdout + result.stderr
    found: dict[str, list[str]] = {}
    for error in _ERROR.finditer(result.stdout):
        path, line = error["path"], int(error["line"])
        if path in origins:
            name, origin = origins[path]
            where = f"{name}:{origin[line - 1]}"
        else:
            name = "examples"
            where = str((django / path).resolve().relative_to(ROOT)) + f":{line}"
        found.setdefault(name, []).append(f"{where}: {error['text']}")
    return found


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_page_examples_run(page: Path, tmp_path: Path) -> None:
    """The page's Python examples run (blocks not meant to run use ```pycon or ```text)."""
    blocks = _BLOCK.findall(page.read_text(encoding="utf-8"))
    namespace: dict[str, object] = {"__name__": f"docs_{page.stem}"}
    cwd = Path.cwd()
    os.chdir(tmp_path)
    try:
        for number, block in enumerate(blocks, 1):
            code = compile(block, f"{page.name}[block {number}]", "exec")
            exec(code, namespace)
    finally:
        os.chdir(cwd)


@pytest.mark.parametrize("name", [p.name for p in PAGES] + ["examples"])
def test_examples_type_check(name: str) -> None:
    """The page's Python examples (or docs/examples/) pass ``mypy --strict``."""
    assert mypy_errors().get(name, []) == []


def test_readme_example_type_checks() -> None:
    """The README's taste (a list of lines, a str rate) passes ``mypy --strict`` as it is."""
    source, _ = typed_source(ROOT / "README.md")
    assert 'rate="85.00"' in source
    assert "lines=[" in source
    assert mypy_errors().get("README.md", []) == []


def test_partial_marker_skips_only_its_block(tmp_path: Path) -> None:
    """A block after the marker is left out of the type check; the others stay in."""
    page = tmp_path / "page.md"
    page.write_text(
        f"```python\nx: int = 1\n```\n\n{NOT_TYPED}\n```python\ny = undefined\n```\n"
        "```python\nz: str = 'a'\n```\n",
        encoding="utf-8",
    )
    source, origin = typed_source(page)
    assert source == "x: int = 1\nz: str = 'a'\n"
    assert origin == [2, 10]
