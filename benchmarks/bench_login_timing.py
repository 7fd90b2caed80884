"""
Username enumeration by timing: can one ``authenticate`` tell an existing user from an unknown one?

Accounts are hashed at one scrypt cost, then the service's ``password_cost`` is changed
(2**12 -> 2**10, and the reverse), as docs/scale-out.md allows.  For each case the script times
``authenticate`` with a wrong password for existing users and for unknown user names, in random
order, through ``WebConnectorService.respond`` on a SQLite store (the whole call: account lookup,
scrypt, the refusal).  The attacker's best single-sample classifier is the best threshold on the
time (either direction); its accuracy over the two equally likely classes is reported with the
advantage over guessing (accuracy - 50 %); the threshold is
fitted on half of the samples and scored on the other half.

Run: ``python benchmarks/bench_login_timing.py [--samples 400] [--accounts 20]``.
"""

from __future__ import annotations

import argparse
import logging
import random
import secrets
import tempfile
import time
import uuid
from pathlib import Path

from qbwc import AuthenticateCall, WebConnectorService
from qbwc.store import SQLiteStore

OWNER = uuid.UUID("9A5D8F3B-1C2E-4B6A-8D7F-0E1F2A3B4C5D")


def _accuracy(existing: list[float], unknown: list[float], t: float, above: bool) -> float:
    """The accuracy of "time > t means existing" (*above*) or "<= t" (classes weighted equally)."""
    hit1 = sum((x > t) == above for x in existing) / len(existing)
    hit0 = sum((x > t) != above for x in unknown) / len(unknown)
    return (hit1 + hit0) / 2


def best_threshold(existing: list[float], unknown: list[float]) -> tuple[float, bool, float]:
    """The threshold rule with the best accuracy on these samples: (t, above, accuracy)."""
    best = (0.0, True, 0.5)
    for t in sorted(existing + unknown):
        for above in (True, False):
            accuracy = _accuracy(existing, unknown, t, above)
            if accuracy > best[2]:
                best = (t, above, accuracy)
    return best


def classifier_accuracy(existing: list[float], unknown: list[float]) -> float:
    """
    The best threshold classifier's accuracy on fresh samples.

    The threshold is fitted on the first half of each class and scored on the second half,
    so the figure is what an attacker achieves, not how well a threshold fits noise.
    """
    h1, h0 = len(existing) // 2, len(unknown) // 2
    t, above, _ = best_threshold(existing[:h1], unknown[:h0])
    return _accuracy(existing[h1:], unknown[h0:], t, above)


def measure(stored_cost: int, service_cost: int, samples: int, accounts: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(Path(tmp) / "bench.sqlite", synchronous="NORMAL")
        creator = WebConnectorService(store=store, owner_id=OWNER, password_cost=stored_cost)
        names = [f"user{i}@example.com" for i in range(accounts)]
        for name in names:
            creator.add_account(name, "the right password")
        service = WebConnectorService(store=store, owner_id=OWNER, password_cost=service_cost)
        plan = [True] * samples + [False] * samples
        random.shuffle(plan)
        existing: list[float] = []
        unknown: list[float] = []
        for _ in range(20):  # warm up caches
            service.respond(AuthenticateCall(username=names[0], password="wrong"))
        for is_existing in plan:
            name = random.choice(names) if is_existing else f"{secrets.token_hex(6)}@example.com"
            call = AuthenticateCall(username=name, password="wrong password")
            start = time.perf_counter()
            service.respond(call)
            elapsed = time.perf_counter() - start
            (existing if is_existing else unknown).append(elapsed)
        store.close()
    return classifier_accuracy(existing, unknown)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=400, help="per class and case")
    parser.add_argument("--accounts", type=int, default=20)
    args = parser.parse_args()
    logging.getLogger("qbwc").setLevel(logging.ERROR)  # one refused login per sample
    for stored, current in ((2**12, 2**10), (2**10, 2**12), (2**12, 2**12)):
        accuracy = measure(stored, current, args.samples, args.accounts)
        print(
            f"hashes at 2**{stored.bit_length() - 1}, service at 2**{current.bit_length() - 1}: "
            f"best one-sample classifier {accuracy:.1%} (advantage {accuracy - 0.5:+.1%})"
        )


if __name__ == "__main__":
    main()
