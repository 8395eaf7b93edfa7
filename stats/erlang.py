"""The staffing calculator's mathematics (issue 8): Erlang C — how many agents a queue needs
for a forecast number of calls, an average handle time and a service-level target — with
the service level, probability of waiting, average speed of answer and occupancy it gives.

Traffic A = calls × AHT / interval (Erlangs). With N agents (N > A):
- Erlang B by the stable recurrence B(0) = 1, B(k) = A·B(k−1) / (k + A·B(k−1));
- P(wait) = C(N, A) = N·B / (N − A·(1 − B));
- service level = 1 − C·e^(−(N − A)·T / AHT) for the threshold T;
- ASA = C·AHT / (N − A); occupancy = A / N.
Shrinkage (breaks, training, absence) scales the agents to schedule: ⌈N / (1 − shrinkage)⌉.
Pure: no Django.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MAX_AGENTS = 100_000


class StaffingError(ValueError):
    """Inputs the calculator cannot use; the message says which."""


@dataclass(frozen=True, slots=True)
class Staffing:
    agents: int  # on the phones
    scheduled: int  # with shrinkage
    traffic: float  # Erlangs
    service_level: float  # 0..1
    wait_probability: float
    asa: float  # seconds
    occupancy: float  # 0..1


def traffic(calls: float, aht: float, interval: float) -> float:
    if not (0 <= calls < math.inf and 0 < aht < math.inf and 0 < interval < math.inf):  # NaN too
        raise StaffingError("calls ≥ 0, handle time and interval > 0 seconds")
    return calls * aht / interval


def erlang_b(agents: int, erlangs: float) -> float:
    b = 1.0
    for k in range(1, agents + 1):
        b = erlangs * b / (k + erlangs * b)
    return b


def erlang_c(agents: int, erlangs: float) -> float:
    """Probability a call waits; 1 when the agents cannot carry the traffic."""
    if agents <= erlangs:
        return 1.0
    b = erlang_b(agents, erlangs)
    return agents * b / (agents - erlangs * (1 - b))


def service_level(agents: int, erlangs: float, aht: float, threshold: float) -> float:
    if agents <= erlangs:
        return 0.0
    return 1 - erlang_c(agents, erlangs) * math.exp(-(agents - erlangs) * threshold / aht)


def asa(agents: int, erlangs: float, aht: float) -> float:
    if agents <= erlangs:
        return math.inf
    return erlang_c(agents, erlangs) * aht / (agents - erlangs)


def staffing_for(
    agents: int, calls: float, aht: float, interval: float, threshold: float, shrinkage: float = 0.0
) -> Staffing:
    a = traffic(calls, aht, interval)
    return Staffing(
        agents,
        math.ceil(agents / (1 - shrinkage)) if agents else 0,
        a,
        service_level(agents, a, aht, threshold),
        erlang_c(agents, a),
        asa(agents, a, aht),
        a / agents if agents else 0.0,
    )


def agents_needed(
    calls: float,
    aht: float,
    interval: float,
    target: float,
    threshold: float,
    max_occupancy: float | None = None,
    shrinkage: float = 0.0,
) -> Staffing:
    """The fewest agents meeting the service-level `target` (0..1) within `threshold` s
    (and at most `max_occupancy`, when given)."""
    if not 0 < target < 1:
        raise StaffingError("the service-level target is between 0 and 1 (e.g. 0.8)")
    if threshold < 0 or not 0 <= shrinkage < 1:
        raise StaffingError("threshold ≥ 0 s and shrinkage between 0 and 1")
    if max_occupancy is not None and not 0 < max_occupancy <= 1:
        raise StaffingError("the occupancy cap is above 0 and at most 1")
    a = traffic(calls, aht, interval)
    if a == 0:
        return staffing_for(0, calls, aht, interval, threshold, shrinkage)
    n = max(1, math.floor(a) + 1)
    if max_occupancy is not None:  # occupancy is A / N: start where the cap can hold
        n = max(n, math.ceil(min(a / max_occupancy, MAX_AGENTS + 1)) - 1)
    while n <= MAX_AGENTS:
        good = service_level(n, a, aht, threshold) >= target
        if good and (max_occupancy is None or a / n <= max_occupancy):
            return staffing_for(n, calls, aht, interval, threshold, shrinkage)
        n += 1
    raise StaffingError(f"more than {MAX_AGENTS} agents needed")
