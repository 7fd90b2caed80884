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

With the login cache on (``login_secret``; docs/service.md, "Login cache") two more cases:
existing users that have a login verifier (each logs in with the right password, untimed, just
before its timed wrong one) against unknown names, and against existing users without one.  A
refused login must cost the same in each: one HMAC, one scrypt, the same reads, and the same
verifier drop.  ``--dsn`` runs every case on PostgreSQL (an empty database it may fill) instead
of SQLite.

Run: ``python benchmarks/bench_login_timing.py [--samples 400] [--accounts 20] [--dsn DSN]``.
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

from qbwc import WebConnectorService
from qbwc.protocol import AuthenticateCall
from qbwc.store import SQLiteStore, Store

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


SECRET = "a login secret of at least 32 bytes for the benchmark"
RIGHT = "the right password"


def _open(tmp: str, dsn: str | None) -> Store:
    if dsn is None:
        return SQLiteStore(Path(tmp) / "bench.sqlite", synchronous="NORMAL")
    import psycopg

    from qbwc.store import PostgresStore, postgres_upgrade

    postgres_upgrade(dsn)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "TRUNCATE qbwc_accounts, qbwc_jobs, qbwc_sessions, qbwc_in_flight, qbwc_settings, "
            "qbwc_login_verifiers"
        )
    return PostgresStore(dsn)


def measure(
    stored_cost: int,
    service_cost: int,
    samples: int,
    accounts: int,
    *,
    cache: str = "off",
    dsn: str | None = None,
) -> float:
    """
    The attacker's accuracy.  *cache*: ``"off"`` (no login secret), ``"verified"`` (existing
    users with a fresh verifier vs unknown names), ``"verifier or not"`` (existing users with
    a fresh verifier vs existing users without one).
    """
    with tempfile.TemporaryDirectory() as tmp:
        store = _open(tmp, dsn)
        creator = WebConnectorService(store=store, owner_id=OWNER, password_cost=stored_cost)
        names = [f"user{i}@example.com" for i in range(accounts)]
        for name in names:
            creator.add_account(name, RIGHT)
        secret = None if cache == "off" else SECRET
        service = WebConnectorService(
            store=store, owner_id=OWNER, password_cost=service_cost, login_secret=secret
        )
        plan = [True] * samples + [False] * samples
        random.shuffle(plan)
        existing: list[float] = []
        unknown: list[float] = []
        for _ in range(20):  # warm up caches
            service.respond(AuthenticateCall(username=names[0], password="wrong"))
        for is_existing in plan:
            if is_existing:
                name = random.choice(names)
                if cache != "off":  # a verifier for it, made now (untimed)
                    service.respond(AuthenticateCall(username=name, password=RIGHT))
            elif cache == "verifier or not":
                name = random.choice(names)  # no verifier: its last login was refused
            else:
                name = f"{secrets.token_hex(6)}@example.com"
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
    parser.add_argument("--dsn", help="PostgreSQL (an empty database) instead of SQLite")
    args = parser.parse_args()
    logging.getLogger("qbwc").setLevel(logging.ERROR)  # one refused login per sample
    cases = [
        (2**12, 2**10, "off"),
        (2**10, 2**12, "off"),
        (2**12, 2**12, "off"),
        (2**12, 2**12, "verified"),
        (2**12, 2**12, "verifier or not"),
    ]
    for stored, current, cache in cases:
        accuracy = measure(
            stored, current, args.samples, args.accounts, cache=cache, dsn=args.dsn
        )
        what = {
            "off": "",
            "verified": ", users with a login verifier vs unknown",
            "verifier or not": ", users with a login verifier vs without",
        }[cache]
        print(
            f"hashes at 2**{stored.bit_length() - 1}, service at 2**{current.bit_length() - 1}"
            f"{what}: best one-sample classifier {accuracy:.1%} (advantage {accuracy - 0.5:+.1%})"
        )


if __name__ == "__main__":
    main()
