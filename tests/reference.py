"""
Access to the authentic artifacts in ``../shared/reference`` (beside the checkout).

Where the folder is absent (a user's checkout) tests that need it skip with a
clear reason; when ``CI`` is set its absence is a failure.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

_ROOT = Path(__file__).resolve().parents[1]
REFERENCE_DIR = Path(
    os.environ.get("QBWC_REFERENCE_DIR", _ROOT.parent / "shared" / "reference")
).resolve()
ABSENT = "<reference absent>"


def require_reference() -> Path:
    """Return the reference folder, or skip (fail under CI) when it is absent."""
    if REFERENCE_DIR.is_dir():
        return REFERENCE_DIR
    reason = (
        f"reference artifacts not found at {REFERENCE_DIR} "
        "(expected ../shared/reference beside the checkout, or QBWC_REFERENCE_DIR)"
    )
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)
    raise AssertionError  # unreachable


def reference_files(pattern: str) -> list[str]:
    """
    Relative paths under the reference folder matching *pattern*, for parametrize.

    When the folder is absent this returns one placeholder (:data:`ABSENT`) so the
    test is still collected once; ``tests/conftest.py`` skips it (fails it under CI)
    before its body runs.
    """
    if not REFERENCE_DIR.is_dir():
        return [ABSENT]
    return sorted(str(p.relative_to(REFERENCE_DIR)) for p in REFERENCE_DIR.glob(pattern))


def reference_path(relative: str) -> Path:
    """The absolute path of one reference file (skips or fails when absent)."""
    return require_reference() / relative
