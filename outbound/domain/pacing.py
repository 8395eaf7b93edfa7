"""Pacing caps (issue 9): calls per second (a token bucket) and calls at once (concurrency
caps), for a campaign and for each gateway it dials through.

The bucket is kept as a GCRA schedule (`due`: when the next call conforms), which is a token
bucket of depth `burst` refilled at `rate`. A call that goes out a little late — the driver
woke up after `due`, by at most half an interval — is charged from when it was due, not from
when it went: so a driver polling with a coarse clock (or sleeping until `next_dial_at` and
waking a little late) keeps the configured rate instead of losing its lateness on every
call. After a longer pause the schedule restarts from now. Any span of w seconds still holds
at most ⌊w·rate + 1/2⌋ + burst calls (burst 1: no two calls less than half an interval
apart, and at most rate + 1 in any one-second span, as with a strict bucket).

Gateway limits may be shared by several campaigns' pacers: pass the same GatewayPacing.
A gateway with no entry has no limits of its own (the campaign's still apply).
Pure: `now` is the caller's clock, in seconds (a monotonic clock in production).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

_EPSILON = 1e-9  # float slack: 1/rate added n times must still meet a clock at n/rate
_LATE_CREDIT = 0.5  # of an interval


class PacingExceeded(RuntimeError):
    """A call was started that the caps did not allow (the driver skipped may_dial)."""


class TokenBucket:
    """At most `rate` calls per second, `burst` of them at once."""

    def __init__(self, rate: float, burst: int = 1) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate is positive and burst at least 1")
        self.rate = rate
        self.burst = burst
        self._interval = 1.0 / rate
        self._due = -math.inf  # the theoretical time of the next conforming call

    def next_at(self, now: float) -> float:
        """When the next call conforms (`now` if it does already)."""
        return max(now, self._due - (self.burst - 1) * self._interval)

    def conforms(self, now: float) -> bool:
        return now + _EPSILON >= self._due - (self.burst - 1) * self._interval

    def take(self, now: float) -> None:
        if not self.conforms(now):
            raise PacingExceeded(f"over {self.rate:g} calls/s")
        # charged from when it was due if it is a little late; after a pause, from now
        late = now - self._due
        base = self._due if late <= _LATE_CREDIT * self._interval else now
        self._due = base + self._interval


class ConcurrencyCap:
    """At most `limit` calls up at once."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("a concurrency cap is at least 1")
        self.limit = limit
        self.active = 0

    def has_room(self) -> bool:
        return self.active < self.limit

    def acquire(self) -> None:
        if not self.has_room():
            raise PacingExceeded(f"over {self.limit} calls at once")
        self.active += 1

    def release(self) -> None:
        if self.active == 0:
            raise PacingExceeded("a call ended that was never started")
        self.active -= 1


@dataclass(slots=True)
class GatewayPacing:
    bucket: TokenBucket | None = None
    cap: ConcurrencyCap | None = None


@dataclass(slots=True)
class Pacer:
    """A campaign's caps and its gateways'. `started` when a call is placed, `ended` when its
    channel is gone (answered calls included: they hold a channel until hangup)."""

    bucket: TokenBucket | None = None
    cap: ConcurrencyCap | None = None
    gateways: Mapping[str, GatewayPacing] = field(default_factory=dict)
    in_progress: dict[str, int] = field(default_factory=dict)  # calls up, per gateway

    def _limits(self, gateway: str) -> tuple[list[TokenBucket], list[ConcurrencyCap]]:
        g = self.gateways.get(gateway, GatewayPacing())
        buckets = [b for b in (self.bucket, g.bucket) if b is not None]
        return buckets, [c for c in (self.cap, g.cap) if c is not None]

    def may_dial(self, gateway: str, now: float) -> bool:
        buckets, caps = self._limits(gateway)
        return all(c.has_room() for c in caps) and all(b.conforms(now) for b in buckets)

    def next_dial_at(self, gateway: str, now: float) -> float | None:
        """When a call may go out through `gateway`; None while a concurrency cap is full
        (a call must end first)."""
        buckets, caps = self._limits(gateway)
        if not all(c.has_room() for c in caps):
            return None
        return max((b.next_at(now) for b in buckets), default=now)

    def started(self, gateway: str, now: float) -> None:
        if not self.may_dial(gateway, now):
            raise PacingExceeded(f"gateway {gateway}: the caps do not allow a call now")
        buckets, caps = self._limits(gateway)
        for b in buckets:
            b.take(now)
        for c in caps:
            c.acquire()
        self.in_progress[gateway] = self.in_progress.get(gateway, 0) + 1

    def ended(self, gateway: str) -> None:
        if self.in_progress.get(gateway, 0) == 0:
            raise PacingExceeded(f"gateway {gateway}: a call ended that was never started")
        _, caps = self._limits(gateway)
        for c in caps:
            c.release()
        self.in_progress[gateway] -= 1

    @property
    def active(self) -> int:
        return sum(self.in_progress.values())
