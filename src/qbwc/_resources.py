"""Where the shipped schemas live, in a wheel and in a source checkout."""

from __future__ import annotations

from pathlib import Path

__all__ = ["schema_path"]

_PACKAGE = Path(__file__).resolve().parent


def schema_path(name: str) -> Path:
    """
    The path of ``schemas/<name>``.

    A wheel carries the top-level ``schemas/`` folder as ``qbwc/schemas``; a
    source checkout (or an editable install) reads it from the repository.
    """
    for folder in (_PACKAGE / "schemas", _PACKAGE.parents[1] / "schemas"):
        candidate = folder / name
        if candidate.is_file():
            return candidate
    msg = f"schema {name!r} is not installed (looked in qbwc/schemas and the checkout's schemas/)"
    raise FileNotFoundError(msg)
