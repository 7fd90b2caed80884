"""
A fresh clone, without ``../shared/reference`` beside it, passes its own test command.

The reference-dependent modules run in a copy of the checkout whose parent holds no
``shared/reference``: without ``CI`` every test that needs the artifacts skips with
the reason, nothing errors or fails; with ``CI=true`` each of those tests fails.
Only the modules that use the reference run, with a few Hypothesis examples each
(the "smoke" profile of tests/conftest.py).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REASON = "reference artifacts not found at"
# A module uses the reference when it imports tests.reference or takes the fixture.
_USES_REFERENCE = re.compile(r"^from tests\.reference import|\breference: Path\b", re.MULTILINE)
_IGNORE = shutil.ignore_patterns(
    ".git", ".venv", "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache", ".hypothesis"
)


def reference_modules() -> list[str]:
    """The test modules that read ``../shared/reference``, as paths relative to the checkout."""
    return sorted(
        f"tests/{path.name}"
        for path in (ROOT / "tests").glob("test_*.py")
        if path.name != Path(__file__).name
        and _USES_REFERENCE.search(path.read_text(encoding="utf-8"))
    )


def _pytest(clone: Path, *args: str, ci: bool) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "QBWC_REFERENCE_DIR")}
    env["HYPOTHESIS_PROFILE"] = "smoke"
    env["PYTHONPATH"] = str(clone / "src")
    if ci:
        env["CI"] = "true"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", *args],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


def _outcomes(report: Path) -> dict[str, tuple[str, str]]:
    """Test id -> (passed / skipped / failed / error, its message), from a JUnit XML report."""
    outcomes: dict[str, tuple[str, str]] = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        name = f"{case.get('classname')}::{case.get('name')}"
        outcome, message = "passed", ""
        for child in case:
            if child.tag in ("skipped", "failure", "error"):
                outcome = {"failure": "failed"}.get(child.tag, child.tag)
                message = f"{child.get('message') or ''} {child.text or ''}"
                break
        outcomes[name] = (outcome, message)
    return outcomes


def _node_id(junit_name: str) -> str:
    """A JUnit name (``tests.test_soap.TestX::test_x[p]``) as a pytest node id."""
    classname, name = junit_name.split("::", 1)
    parts = classname.split(".")
    module = next(i for i, part in enumerate(parts) if part.startswith("test_"))
    return "::".join(["/".join(parts[: module + 1]) + ".py", *parts[module + 1 :], name])


def test_reference_modules_are_found() -> None:
    """The module list is not empty, and names the modules known to need the reference."""
    modules = reference_modules()

    assert {"tests/test_soap.py", "tests/test_qwc.py", "tests/test_hcp.py"} <= set(modules)


def test_fresh_clone_skips_cleanly_and_fails_under_ci(tmp_path: Path) -> None:
    """No ../shared/reference: collection is clean, reference tests skip; under CI they fail."""
    clone = tmp_path / "qbwc"
    shutil.copytree(ROOT, clone, ignore=_IGNORE)
    assert not (tmp_path / "shared").exists()
    modules = reference_modules()

    collected = _pytest(clone, "--collect-only", *modules, ci=False)
    assert collected.returncode == 0, collected.stdout + collected.stderr
    summary = collected.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"\d+ tests collected in [\d.]+s", summary), collected.stdout[-3000:]

    report = tmp_path / "run.xml"
    run = _pytest(clone, f"--junitxml={report}", *modules, ci=False)
    assert run.returncode == 0, run.stdout[-5000:] + run.stderr[-2000:]
    outcomes = _outcomes(report)
    assert {outcome for outcome, _ in outcomes.values()} == {"passed", "skipped"}, run.stdout[
        -5000:
    ]
    skipped = sorted(
        _node_id(name) for name, (outcome, _) in outcomes.items() if outcome == "skipped"
    )
    assert all(REASON in message for outcome, message in outcomes.values() if outcome == "skipped")
    assert any("[<reference absent>]" in node for node in skipped)

    # Under CI the very tests that skipped fail, each with the reason.
    ci_report = tmp_path / "ci.xml"
    ci_run = _pytest(clone, f"--junitxml={ci_report}", *skipped, ci=True)
    assert ci_run.returncode == 1, ci_run.stdout[-5000:] + ci_run.stderr[-2000:]
    ci_outcomes = _outcomes(ci_report)
    assert sorted(_node_id(name) for name in ci_outcomes) == skipped
    for name, (outcome, message) in ci_outcomes.items():
        assert outcome in ("failed", "error"), name
        assert REASON in message, (name, message)


@pytest.mark.parametrize(
    ("junit", "node"),
    [
        (
            "tests.test_soap.TestRealSession::test_x[a_b]",
            "tests/test_soap.py::TestRealSession::test_x[a_b]",
        ),
        ("tests.test_hcp::test_y", "tests/test_hcp.py::test_y"),
    ],
)
def test_node_id(junit: str, node: str) -> None:
    """JUnit names map back to pytest node ids."""
    assert _node_id(junit) == node
