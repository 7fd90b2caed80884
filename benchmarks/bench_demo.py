"""
How long ``qbwc demo`` and each of its scenarios take, start to finish.

The tests (tests/test_demo.py) check the demo's bounded work (updates and calls),
not its time; this script reports the time: the median of *runs* runs of each, in
process (as ``qbwc demo`` runs it: a SQLite store, the standard library's WSGI server
on 127.0.0.1, the Web Connector double over real HTTP).

Run: ``python -m benchmarks.bench_demo [--runs 5]``.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time

from qbwc.cli._demo import SCENARIOS, run_demo


def measure(scenario: str | None, runs: int) -> list[float]:
    """Seconds per run of the demo (or one scenario); each run must behave as designed."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        code = run_demo(scenario, out=io.StringIO())
        times.append(time.perf_counter() - started)
        if code != 0:
            msg = f"qbwc demo {scenario or ''} did not behave as designed"
            raise SystemExit(msg)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    for scenario in (None, *SCENARIOS):
        times = measure(scenario, args.runs)
        name = f"--scenario {scenario}" if scenario else "(main run)"
        print(
            f"qbwc demo {name:<40} median {statistics.median(times) * 1000:7.0f} ms"
            f"  (min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f}; {args.runs} runs)"
        )


if __name__ == "__main__":
    main()
