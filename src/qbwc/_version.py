"""The installed version, read once and only when asked (importlib.metadata is slow)."""

from __future__ import annotations

from functools import cache

__all__ = ["package_version"]


@cache
def package_version() -> str:
    """The version of ``qbwc-toolkit`` as installed; ``0.0.0`` when run from a bare source tree."""
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415

    try:
        return version("qbwc-toolkit")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0.0.0"
