"""The brute-force limiter every credential check goes through, shared by all processes in Redis.

Two counters per try, changed together by one Lua script (atomic, whatever the number of web
processes): failures of one account from one client address (IPBX_SIGN_IN_FAILURES), and
failures from one client address over all accounts (IPBX_SIGN_IN_CLIENT_FAILURES, 0: off).
A try is counted *before* its password is checked and un-counted when it succeeds, so parallel
tries cannot pass the limit. When a counter reaches its limit the pair (or the address) is
locked for IPBX_SIGN_IN_LOCKOUT_SECONDS; the owner of the account signs in meanwhile from any
other address, and an administrator unlocks sooner with `manage.py reset_sign_in_lockouts`.
A Redis that cannot be reached refuses sign-ins (fails closed) rather than lifting the limit.
"""

from __future__ import annotations

import hashlib
import logging
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import redis
from django.conf import settings

log = logging.getLogger(__name__)

PREFIX = "ipbx:sign-in:"
WEB, PHONE_BAR = "web", "phone-bar"  # the kinds of credential: a user's password, an agent's
_REQUEST_ATTRIBUTE = "ipbx_sign_in_lockout"

# KEYS: pair, client. ARGV: pair limit, client limit (0: none), window seconds.
# Returns {0, 0} (counted, go on) or {1 pair | 2 client, seconds left of the lock-out}.
_BEGIN = """
local pair_limit, client_limit, window = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local function left(key)
  local ttl = redis.call('TTL', key)
  if ttl < 0 then redis.call('EXPIRE', key, window) return window end
  return ttl
end
if tonumber(redis.call('GET', KEYS[1]) or '0') >= pair_limit then return {1, left(KEYS[1])} end
if client_limit > 0 and tonumber(redis.call('GET', KEYS[2]) or '0') >= client_limit then
  return {2, left(KEYS[2])}
end
local n = redis.call('INCR', KEYS[1])
if n == 1 or n >= pair_limit then redis.call('EXPIRE', KEYS[1], window) end
if client_limit > 0 then
  local c = redis.call('INCR', KEYS[2])
  if c == 1 or c >= client_limit then redis.call('EXPIRE', KEYS[2], window) end
end
return {0, 0}
"""
# KEYS: pair, client. The try succeeded: forget the pair's failures, un-count it for the client.
_SUCCEED = """
redis.call('DEL', KEYS[1])
local c = tonumber(redis.call('GET', KEYS[2]) or '0')
if c > 1 then redis.call('DECR', KEYS[2]) elseif c == 1 then redis.call('DEL', KEYS[2]) end
return 1
"""


@dataclass(frozen=True)
class Lockout:
    """Why and for how long a sign-in is refused without looking at its password."""

    scope: str  # "account" (this account from this address), "client" (this address), "down"
    retry_after: int  # seconds

    @property
    def message(self) -> str:
        minutes = max(1, math.ceil(self.retry_after / 60))
        wait = f"{minutes} minute{'s' if minutes > 1 else ''}"
        if self.scope == "account":
            return (
                f"Too many attempts for this account from your address: try again in {wait}, "
                "or ask an administrator to unlock it."
            )
        if self.scope == "client":
            return f"Too many attempts from your address: try again in {wait}."
        return "Sign-in is unavailable for a moment: try again shortly."


class SignInLocked(Exception):
    """The account is locked for this client address (or the address is): no password check."""

    def __init__(self, lockout: Lockout) -> None:
        super().__init__(lockout.message)
        self.lockout = lockout


@lru_cache(maxsize=4)
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def _redis() -> redis.Redis:
    return _client(settings.REDIS_URL)


def account_digest(account: str) -> str:
    """The account as it appears in keys (any text a client typed, made key-safe)."""
    return hashlib.sha256(account.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def pair_key(kind: str, account: str, address: str) -> str:
    return f"{PREFIX}pair:{kind}:{account_digest(account)}:{address or '-'}"


def client_key(address: str) -> str:
    return f"{PREFIX}client:{address or '-'}"


@dataclass(frozen=True)
class Attempt:
    """One counted try of a credential; call succeeded() when the credential was right."""

    kind: str
    account: str
    address: str

    def succeeded(self) -> None:
        keys = [pair_key(self.kind, self.account, self.address), client_key(self.address)]
        try:
            _redis().eval(_SUCCEED, 2, *keys)
        except redis.RedisError:
            log.exception(
                "sign-in %s %r from %s: could not clear its failures",
                self.kind,
                self.account,
                self.address,
            )


def begin_attempt(kind: str, account: str, address: str) -> Attempt:
    """Count a try of `account`'s `kind` credential from `address`, or raise SignInLocked."""
    limit = max(1, int(settings.IPBX_SIGN_IN_FAILURES))
    client_limit = max(0, int(settings.IPBX_SIGN_IN_CLIENT_FAILURES))
    window = max(1, int(settings.IPBX_SIGN_IN_LOCKOUT_SECONDS))
    keys = [pair_key(kind, account, address), client_key(address)]
    try:
        locked, left = _redis().eval(_BEGIN, 2, *keys, limit, client_limit, window)
    except redis.RedisError:
        log.exception("sign-in %s %r from %s: limiter unavailable, refused", kind, account, address)
        raise SignInLocked(Lockout("down", 30)) from None
    if locked:
        scope = "account" if int(locked) == 1 else "client"
        log.warning(
            "sign-in %s %r from %s: locked out (%s), %s s left", kind, account, address, scope, left
        )
        raise SignInLocked(Lockout(scope, int(left)))
    return Attempt(kind, account, address)


def failures(kind: str, account: str, address: str) -> int:
    """The failures counted for this account from this address (0 when none or expired)."""
    return int(_redis().get(pair_key(kind, account, address)) or 0)


def note_lockout(request: Any, lockout: Lockout) -> None:
    """Remember on the request (the Django one under a DRF Request) that it was locked out, for
    SignInLockoutMiddleware to answer 429 with the reason."""
    if request is not None:
        setattr(getattr(request, "_request", request), _REQUEST_ATTRIBUTE, lockout)


def lockout_of(request: Any) -> Lockout | None:
    return getattr(getattr(request, "_request", request), _REQUEST_ATTRIBUTE, None)


def _glob(text: str) -> str:
    return "".join(f"\\{c}" if c in "*?[]\\" else c for c in text)


def reset(account: str | None = None, address: str | None = None) -> int:
    """Unlock: the account's failures (from every address), an address's failures (every
    account, and the address's own counter), both (that pair), or everything when neither is
    given. Returns the number of counters removed."""
    if account is None and address is None:
        patterns = [f"{PREFIX}*"]
    else:
        digest = account_digest(account) if account is not None else "*"
        where = _glob(address or "-") if address is not None else "*"
        patterns = [f"{PREFIX}pair:*:{digest}:{where}"]
        if account is None:
            patterns.append(_glob(client_key(address or "")))
    client = _redis()
    keys = {key for pattern in patterns for key in client.scan_iter(match=pattern, count=500)}
    removed = client.delete(*keys) if keys else 0
    log.warning(
        "sign-in lock-outs reset (account %r, address %r): %s counters", account, address, removed
    )
    return int(removed)
