"""
Password hashes of the built-in accounts, and logins that cannot enumerate usernames by timing.

A stored hash is ``scrypt$n$r$p$salt$hash``.  :class:`PasswordChecker` checks a login with
exactly one scrypt whoever asks: an unknown user (or one without a password) is checked
against a dummy hash whose cost is drawn from the costs of the stored hashes, fixed per
username by a keyed hash, so that one timing sample cannot tell a guessed name from an
account whatever ``password_cost`` was over time (``docs/service.md``, "Passwords").
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Callable, Mapping
from typing import Final, NamedTuple

__all__ = ["Login", "PasswordChecker", "hash_password", "verify_password"]

_SCRYPT_R: Final = 8
_SCRYPT_P: Final = 1
_HASH_BYTES: Final = 32

#: How long the stored hashes' cost distribution is kept before it is read again (seconds).
COSTS_TTL: Final = 60.0


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"),
        salt=salt,
        n=n,
        r=r,
        p=p,
        dklen=_HASH_BYTES,
        maxmem=256 * r * n + 1024 * 1024,
    )


def hash_password(password: str, *, cost: int = 2**14) -> str:
    """
    A salted scrypt hash of *password*: ``scrypt$<n>$<r>$<p>$<salt>$<hash>``.

    *cost* is scrypt's ``n`` (a power of two); the default takes some tens of
    milliseconds, which is what makes a stolen database expensive to attack.
    """
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, cost, _SCRYPT_R, _SCRYPT_P)
    return f"scrypt${cost}${_SCRYPT_R}${_SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, encoded: str | None, *, cost: int = 2**14) -> bool:
    """
    Whether *password* matches *encoded*, in constant time.

    With *encoded* None (an unknown user) a dummy hash of the same *cost* is
    still computed.  (The service picks that cost from the stored hashes
    instead: see :class:`PasswordChecker`.)
    """
    parsed = _parse_hash(encoded)
    if parsed is None:
        parsed = (cost, _SCRYPT_R, _SCRYPT_P, b"qbwc-dummy-salt!", b"")
    return _check_hash(password, parsed)


_Hash = tuple[int, int, int, bytes, bytes]  # n, r, p, salt, digest


def _parse_hash(encoded: str | None) -> _Hash | None:
    """The parts of ``scrypt$n$r$p$salt$hash``, or None when *encoded* is not one."""
    parts = encoded.split("$") if encoded else []
    try:
        if len(parts) != 6 or parts[0] != "scrypt":
            return None
        return int(parts[1]), int(parts[2]), int(parts[3]), _unb64(parts[4]), _unb64(parts[5])
    except ValueError:
        return None


def _check_hash(password: str, parsed: _Hash) -> bool:
    """One scrypt of *password* with *parsed*'s parameters, compared in constant time."""
    n, r, p, salt, expected = parsed
    return hmac.compare_digest(_scrypt(password, salt, n, r, p), expected)


def _usable_cost(n: int) -> bool:
    """A scrypt cost a dummy hash may take: a power of two from 2 to 2**20."""
    return 2 <= n <= 2**20 and not n & (n - 1)


class Login(NamedTuple):
    """The outcome of a login check."""

    ok: bool
    #: (the stored hash that matched, the same password hashed at the current cost)
    rehash: tuple[str, str] | None = None


class PasswordChecker:
    """
    Checks logins against stored hashes with one scrypt each, and rehashes old costs.

    Args:
        cost: the current cost (new hashes; dummies when nothing is stored).
        read_costs: how many stored hashes there are of each cost (the store's
            ``password_costs``); called at most every :data:`COSTS_TTL` seconds.
        clock: seconds, for that cache.
    """

    def __init__(
        self, cost: int, read_costs: Callable[[], Mapping[int, int]], clock: Callable[[], float]
    ) -> None:
        self.cost = cost
        self._read_costs = read_costs
        self._clock = clock
        #: The per-process secret that fixes each unknown name's dummy hash.
        self.key = secrets.token_bytes(32)
        self._costs: tuple[float, tuple[tuple[int, int], ...]] = (float("-inf"), ())

    def hash(self, password: str) -> str:
        """A new hash of *password* at the current cost."""
        return hash_password(password, cost=self.cost)

    def costs(self) -> tuple[tuple[int, int], ...]:
        """The stored hashes' (cost, count), by cost; read again after COSTS_TTL seconds."""
        now = self._clock()
        expires, costs = self._costs
        if now < expires:
            return costs
        counts = self._read_costs()
        costs = tuple(sorted((n, c) for n, c in counts.items() if c > 0 and _usable_cost(n)))
        self._costs = (now + COSTS_TTL, costs)
        return costs

    def check(
        self, username: str, password: str, stored: str | None, costs: tuple[tuple[int, int], ...]
    ) -> Login:
        """
        Check *password* against *stored* (None: no account, or no password): one scrypt.

        A good login whose hash has another cost also gets a rehash at the current
        cost (a second scrypt, once per account).
        """
        parsed = _parse_hash(stored)
        if stored is None or parsed is None:
            _check_hash(password, self.dummy(username, costs))
            return Login(ok=False)
        if not _check_hash(password, parsed):
            return Login(ok=False)
        if parsed[:3] == (self.cost, _SCRYPT_R, _SCRYPT_P):
            return Login(ok=True)
        return Login(ok=True, rehash=(stored, self.hash(password)))

    def dummy_cost(self, username: str, costs: tuple[tuple[int, int], ...]) -> int:
        """
        The cost of the dummy hash for *username*: drawn from *costs*, fixed per name.

        A keyed hash of the name picks a point in the cumulative distribution of the
        stored costs, so a share of unknown names equal to each cost's share of the
        accounts gets that cost, and a name always gets the same one.
        """
        total = sum(count for _, count in costs)
        if not total:
            return self.cost
        digest = hmac.new(self.key, username.encode("utf-8", "surrogatepass"), "sha256")
        point = int.from_bytes(digest.digest()[:8], "big") * total >> 64
        for cost, count in costs:
            point -= count
            if point < 0:
                return cost
        return costs[-1][0]  # pragma: no cover - point < total

    def dummy(self, username: str, costs: tuple[tuple[int, int], ...] = ()) -> _Hash:
        """A hash no password matches, shaped like a stored one, for an unknown *username*."""
        seed = hmac.new(
            self.key, b"salt:" + username.encode("utf-8", "surrogatepass"), "sha256"
        ).digest()
        return (self.dummy_cost(username, costs), _SCRYPT_R, _SCRYPT_P, seed[:16], b"\0" * 32)
