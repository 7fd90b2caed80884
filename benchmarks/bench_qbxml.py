"""
The qbXML benchmarks in one command: build and typed parse, each against its raw-lxml floor.

Run: ``python benchmarks/bench_qbxml.py``.  Both floors are measured in the same run as the
code they are compared with; the figures are printed, never asserted.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_build
import bench_parse


def main() -> None:
    """Run the build benchmark, then the parse benchmark."""
    print("== build ==")
    bench_build.main()
    print()
    print("== typed parse ==")
    bench_parse.main()


if __name__ == "__main__":
    main()
