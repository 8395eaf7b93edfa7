"""Which calls are recorded, and how (REC-1, REC-5, REC-9, SV-5): recording policies and
supervisors' orders to record an agent, decided when an agent's call is connected.

A policy records all calls, the calls of chosen agents, or of chosen queues; "on demand"
policies record nothing by themselves (the agent or a supervisor starts them). A policy may
be narrowed to *only these numbers* and may exclude *never these numbers* (the caller's or
the called number; an entry ending in `*` is a prefix), and to up to three daily time windows
in the deployment's local time (a window whose end is before its start runs over midnight).
Policies are tried by priority (lower first); the first that matches decides the format and
the channels. A supervisor's order (record this agent from … until …) records the agent's
calls in its span even when no policy would — except numbers a policy says never to record.

Pure: no clock (the caller passes the local time and the timestamp).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time

FORMATS = ("pcm", "alaw", "ulaw", "ima_adpcm")
MODES = ("all", "agents", "queues", "on_demand")
MAX_WINDOWS = 3


class InvalidPolicy(ValueError):
    """A policy the recorder cannot follow; the message says what to correct."""


@dataclass(frozen=True, slots=True)
class RecordingPolicy:
    name: str
    mode: str = "all"
    agents: frozenset[str] = frozenset()
    queues: frozenset[str] = frozenset()
    only_numbers: tuple[str, ...] = ()
    never_numbers: tuple[str, ...] = ()
    windows: tuple[tuple[time, time], ...] = ()  # empty: all day
    format: str = "pcm"
    stereo: bool = True  # customer and agent on separate channels
    priority: int = 100
    retention_days: int | None = None

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise InvalidPolicy(f"{self.name}: mode is one of {', '.join(MODES)}")
        if self.format not in FORMATS:
            raise InvalidPolicy(f"{self.name}: format is one of {', '.join(FORMATS)}")
        if len(self.windows) > MAX_WINDOWS:
            raise InvalidPolicy(f"{self.name}: at most {MAX_WINDOWS} daily time windows")
        for start, end in self.windows:
            if start == end:
                raise InvalidPolicy(f"{self.name}: the window {start:%H:%M}–{end:%H:%M} is empty")


@dataclass(frozen=True, slots=True)
class RecordOrder:
    """A supervisor's order: record `agent`'s calls from `start` until `end` (None: until
    cancelled), epoch seconds."""

    agent: str
    start: float
    end: float | None = None
    format: str = "pcm"
    stereo: bool = True


@dataclass(frozen=True, slots=True)
class CallFacts:
    ani: str
    dnis: str
    agent: str
    queue: str
    local_time: time
    at: float  # epoch seconds


@dataclass(frozen=True, slots=True)
class Decision:
    """Record this call: in this format, stereo or mono, because of `why`."""

    format: str
    stereo: bool
    why: str  # "policy <name>" or "order"
    retention_days: int | None = field(default=None)


def number_matches(number: str, patterns: tuple[str, ...]) -> bool:
    digits = number.lstrip("+")
    for pattern in patterns:
        p = pattern.strip().lstrip("+")
        if p.endswith("*") and digits.startswith(p[:-1]):
            return True
        if p and digits == p:
            return True
    return False


def in_windows(t: time, windows: tuple[tuple[time, time], ...]) -> bool:
    if not windows:
        return True
    for start, end in windows:
        if start < end and start <= t < end:
            return True
        if end < start and (t >= start or t < end):  # over midnight
            return True
    return False


def _numbers(facts: CallFacts) -> tuple[str, ...]:
    return tuple(n for n in (facts.ani, facts.dnis) if n)


def _applies(policy: RecordingPolicy, facts: CallFacts) -> bool:
    if policy.mode == "on_demand":
        return False
    if policy.mode == "agents" and facts.agent not in policy.agents:
        return False
    if policy.mode == "queues" and facts.queue not in policy.queues:
        return False
    numbers = _numbers(facts)
    if any(number_matches(n, policy.never_numbers) for n in numbers):
        return False
    if policy.only_numbers and not any(number_matches(n, policy.only_numbers) for n in numbers):
        return False
    return in_windows(facts.local_time, policy.windows)


def decide(
    policies: list[RecordingPolicy], orders: list[RecordOrder], facts: CallFacts
) -> Decision | None:
    """Record the call, and how — or None."""
    for policy in sorted(policies, key=lambda p: (p.priority, p.name)):
        if _applies(policy, facts):
            return Decision(
                policy.format, policy.stereo, f"policy {policy.name}", policy.retention_days
            )
    vetoed = any(number_matches(n, p.never_numbers) for p in policies for n in _numbers(facts))
    for order in orders:
        live = order.start <= facts.at and (order.end is None or facts.at < order.end)
        if order.agent == facts.agent and live and not vetoed:
            return Decision(order.format, order.stereo, "order")
    return None
