"""
Password hashes of the built-in accounts, and logins that cannot enumerate usernames by timing.

A stored hash is ``scrypt$n$r$p$salt$hash``.  :class:`PasswordChecker` checks a login with
exactly one scrypt whoever asks: an unknown user (or one without a password) is checked
against a dummy hash whose cost is drawn from the costs of the stored hashes, fixed per
username by a keyed hash, so that one timing sample cannot tell a guessed name from an
account whatever ``password_cost`` was over time (``docs/service.md``, "Passwords").

:class:`LoginCache` keeps the scrypt check's result for a while: after a good login a
*login verifier* (an HMAC-SHA256 of the password, the stored hash and the expiry, keyed
with a secret the store never holds) is stored, and a later login with the same password
checks that in microseconds.  Without the secret the stored verifiers test nothing, so a
copy of the database is no faster to attack than its scrypt hashes (``docs/service.md``,
"Login cache").
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Final, NamedTuple

from qbwc.exceptions import ConfigurationError
from qbwc.store._protocol import LoginVerifier

if TYPE_CHECKING:
    from qbwc.store._protocol import Store

__all__ = [
    "LOGIN_CACHE_SECONDS",
    "LOGIN_SECRET_ENV",
    "Login",
    "LoginCache",
    "PasswordChecker",
    "check_login",
    "hash_password",
    "verify_password",
]

#: How long a login verifier stays good by default (seconds): one day.
LOGIN_CACHE_SECONDS: Final = 86_400.0
#: The longest ``login_cache_seconds`` accepted: 30 days.
_MAX_CACHE_SECONDS: Final = 30 * 86_400.0
#: The environment variable ``qbwc serve`` reads the login secret from.
LOGIN_SECRET_ENV: Final = "QBWC_LOGIN_SECRET"  # noqa: S105 - a variable's name
_MIN_SECRET_BYTES: Final = 32
_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

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
    #: a new login verifier to store with the login (a good scrypt check, cache on)
    verifier: LoginVerifier | None = None
    #: checked against a stored login verifier (no scrypt)
    cached: bool = False


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


def _field(value: str) -> bytes:
    data = value.encode("utf-8", "surrogatepass")
    return len(data).to_bytes(4, "big") + data


def _micros(value: dt.datetime) -> int:
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


class LoginCache:
    """
    Login verifiers: a good scrypt check remembered for *seconds*, under *secret*.

    Args:
        secret: at least 32 bytes (a str is taken as UTF-8) that the store never
            holds; None turns the cache off (every login pays scrypt).
        seconds: how long a verifier stays good (0 also turns the cache off).

    Raises:
        ConfigurationError: ``login_secret`` or ``login_cache_seconds`` is out of bounds.
    """

    def __init__(self, secret: bytes | str | None, seconds: float) -> None:
        if isinstance(secret, str):
            secret = secret.encode("utf-8", "surrogatepass")
        if secret is not None and (not isinstance(secret, bytes) or len(secret) < 32):
            rule = f"must be None or at least {_MIN_SECRET_BYTES} bytes (secrets.token_hex(32))"
            raise ConfigurationError("login_secret", rule)
        if (
            isinstance(seconds, bool)
            or not isinstance(seconds, int | float)
            or not 0 <= seconds <= _MAX_CACHE_SECONDS
        ):
            raise ConfigurationError("login_cache_seconds", "must be 0 to 2,592,000 seconds")
        self.seconds = float(seconds)
        self._ttl = dt.timedelta(seconds=self.seconds)
        self._key = hmac.new(secret or b"", b"qbwc login verifier v1", "sha256").digest()
        self.enabled = secret is not None and self.seconds > 0

    def digest(self, username: str, stored: str, password: str, expires_at: dt.datetime) -> str:
        """The verifier of *password* for *username*'s hash *stored*, good until *expires_at*."""
        message = b"".join(
            (_field(username), _field(stored), _field(password), _field(str(_micros(expires_at))))
        )
        return _b64(hmac.new(self._key, message, "sha256").digest())

    def issue(self, username: str, stored: str, password: str, now: dt.datetime) -> LoginVerifier:
        """A verifier of a password that scrypt just accepted against *stored*."""
        expires_at = now + self._ttl
        digest = self.digest(username, stored, password, expires_at)
        return LoginVerifier(username=username, digest=digest, expires_at=expires_at)

    def matches(
        self,
        verifier: LoginVerifier | None,
        username: str,
        stored: str | None,
        password: str,
        now: dt.datetime,
    ) -> bool:
        """
        Whether *verifier* proves *password*: made with our secret, for this account and
        hash, and not expired (nor further away than ``login_cache_seconds`` now allows).

        One HMAC whatever is stored, so that having a verifier costs nothing to tell.
        """
        expires_at = now if verifier is None else verifier.expires_at
        candidate = self.digest(username, stored or "", password, expires_at)
        if not self.enabled or verifier is None or stored is None:
            return False
        if not now < expires_at <= now + self._ttl or verifier.username != username:
            return False
        return hmac.compare_digest(candidate, verifier.digest)


def check_login(
    *,
    checker: PasswordChecker,
    cache: LoginCache,
    store: Store,
    username: str,
    password: str,
    now: dt.datetime,
) -> Login:
    """
    Check a login against the built-in accounts: a login verifier, else one scrypt.

    A good scrypt check brings a new verifier (cache on) for the caller to store with
    the login; a refused login drops the account's verifier in a transaction of its
    own that costs the same whether one existed (the store's ``refused``).  Existing
    and unknown names take the same reads and writes.
    """
    costs = checker.costs()
    with store.transaction() as tx:
        account = tx.get_account(username)
        verifier = tx.get_login_verifier(username) if cache.enabled else None
    stored = None if account is None else account.password_hash
    if cache.matches(verifier, username, stored, password, now):
        return Login(ok=True, cached=True)
    # The rehash of an old cost is made here, outside the transaction like the check;
    # the caller stores it unless the hash changed meanwhile.
    login = checker.check(username, password, stored, costs)
    if not login.ok:
        with store.transaction() as tx:
            tx.drop_login_verifier(username, refused=True)
        return login
    if cache.enabled and stored is not None:
        new_hash = stored if login.rehash is None else login.rehash[1]
        login = login._replace(verifier=cache.issue(username, new_hash, password, now))
    return login
