"""
Before publishing a tag: the tag names pyproject.toml's version, and CHANGELOG.md dates it.

``python tools/release_check.py v0.1.0`` exits 0 when ``pyproject.toml`` says
``version = "0.1.0"`` and ``CHANGELOG.md`` has a ``## [0.1.0] - YYYY-MM-DD``
section; otherwise it prints what to fix and exits 1.  The release workflow
(.github/workflows/release.yml) runs it on every version tag.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def problems(tag: str, root: Path = ROOT) -> list[str]:
    """What stops *tag* from being released from the checkout at *root* (empty: nothing)."""
    with (root / "pyproject.toml").open("rb") as file:
        version = str(tomllib.load(file)["project"]["version"])
    found: list[str] = []
    if tag != f"v{version}":
        found.append(f"tag {tag!r} is not v{version} (the version in pyproject.toml)")
    changelog = (root / "CHANGELOG.md").read_text(encoding="utf-8")
    heading = re.search(
        rf"^## \[{re.escape(version)}\] - (\d{{4}}-\d{{2}}-\d{{2}})$", changelog, re.MULTILINE
    )
    if heading is None:
        found.append(
            f"CHANGELOG.md has no '## [{version}] - YYYY-MM-DD' section: "
            "rename [Unreleased] and date it on tagging"
        )
    else:
        try:
            dt.date.fromisoformat(heading.group(1))
        except ValueError:
            found.append(f"CHANGELOG.md: {heading.group(1)!r} is not a date")
    return found


def main(argv: list[str]) -> int:
    """Check the tag in *argv*; print each problem."""
    if len(argv) != 1:
        print("usage: python tools/release_check.py vX.Y.Z", file=sys.stderr)
        return 2
    found = problems(argv[0])
    for problem in found:
        print(f"release: {problem}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
