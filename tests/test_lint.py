"""The type checker and the linter are part of the test command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=False)


def test_ruff_clean() -> None:
    """``ruff check`` finds nothing in the package, tests, benchmarks, docs and tools."""
    result = _run(
        sys.executable, "-m", "ruff", "check", "src", "tests", "benchmarks", "docs", "tools"
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_clean() -> None:
    """``mypy --strict`` (configured in pyproject.toml) finds nothing in src/qbwc."""
    result = _run(sys.executable, "-m", "mypy")

    assert result.returncode == 0, result.stdout + result.stderr
