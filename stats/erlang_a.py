"""The staffing calculator's Erlang A (issue 8): the M/M/N+M queue — Erlang C with callers who
hang up — giving, for N agents, the probability of waiting, of abandoning, the service level,
ASA and occupancy, and the fewest agents meeting a service-level target.

Rates per second: λ = calls / interval, μ = 1 / AHT, θ = 1 / patience (patience: the mean time
a caller waits before hanging up, exponentially distributed); A = λ / μ Erlangs.

The number of callers in the system is a birth-death chain: births λ; deaths j·μ in the states
j ≤ N, then N·μ + k·θ with k callers queued. Stationary weights relative to π_N (all busy):
- states 0..N together: π_N / B(N, A), Erlang B by its recurrence in log space;
- queue: π_{N+k} = π_N · Π_{i=1..k} λ / (Nμ + iθ), summed in log space and truncated once the
  rest of the tail is below 1e-16 of the total.
An arriving caller sees this distribution (PASTA). One who finds k callers queued ahead moves
up at rate Nμ + iθ (i = k..0) while its own patience runs out at rate θ, so
- P(answered | k) = Nμ / (Nμ + (k+1)θ);
- given answered, its stage times are exponential of rates Nμ + (i+1)θ, so
  E(wait | answered, k) = Σ_{i=1..k+1} 1 / (Nμ + iθ), and e^(−θ·wait) is
  Beta(Nμ/θ + 1, k + 1) (the two Laplace transforms agree), which gives exactly
  P(answered within T | k) = P(answered | k) · P(J ≥ k + 1), J negative binomial with
  r = Nμ/θ + 1 and success probability e^(−θT).
Then P(wait) = Σ_k π_{N+k}; P(abandon) = Σ_k π_{N+k} · (k+1)θ / (Nμ + (k+1)θ) (= θ·E(Q) / λ);
service level = callers answered within T ÷ callers offered (an abandoned call is a miss,
however soon it hung up); ASA = the mean wait of answered calls (0 for those answered at once);
occupancy = E(busy agents) / N, summed over the states (= A · (1 − P(abandon)) / N by Little's
law). As patience → ∞ these tend to Erlang C's (stats/erlang.py).
Pure: no Django.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from stats.erlang import MAX_AGENTS, StaffingError, traffic

MAX_QUEUE_STATES = 200_000  # about a fifth of a second
LOG_TAIL = math.log(1e-16)  # the truncated tail, relative to the whole


@dataclass(frozen=True, slots=True)
class StaffingA:
    agents: int  # on the phones
    scheduled: int  # with shrinkage
    traffic: float  # Erlangs offered
    service_level: float  # answered within the threshold ÷ offered, 0..1
    wait_probability: float  # of all callers
    abandon_probability: float  # of all callers
    asa: float  # seconds, of answered calls
    occupancy: float  # 0..1


def _log1p_exp(s: float) -> float:
    """ln(1 + e^s) without overflow."""
    return s + math.log1p(math.exp(-s)) if s > 0 else math.log1p(math.exp(s))


def _log_add(x: float, y: float) -> float:
    return max(x, y) + math.log1p(math.exp(-abs(x - y)))


def log_inverse_erlang_b(agents: int, erlangs: float) -> float:
    """ln(1 / B(N, A)) by 1/B(k) = 1 + (k / A) / B(k−1): Erlang B's recurrence, in logs so
    that B may be far below the smallest float."""
    y = 0.0
    for k in range(1, agents + 1):
        y = _log1p_exp(math.log(k / erlangs) + y)
    return y


def _queue_log_weights(
    agents: int, lam: float, mu: float, theta: float, log_below: float
) -> tuple[list[float], float]:
    """ln(π_{N+k} / π_N) for k = 0, 1, … and ln of the total weight."""
    logs, log_z, log_w = [0.0], log_below, 0.0
    for k in range(1, MAX_QUEUE_STATES + 1):
        ratio = lam / (agents * mu + k * theta)
        log_w += math.log(ratio)
        logs.append(log_w)
        log_z = _log_add(log_z, log_w)
        # the ratios only fall from here, so the rest is below w · ratio / (1 − ratio)
        if ratio < 1 and log_w + math.log(ratio / (1 - ratio)) < log_z + LOG_TAIL:
            return logs, log_z
    raise StaffingError(
        "the queue grows too long to compute: patience far too long for so "
        "few agents (Erlang C applies)"
    )


def staffing_for(
    agents: int,
    calls: float,
    aht: float,
    interval: float,
    threshold: float,
    patience: float,
    shrinkage: float = 0.0,
) -> StaffingA:
    """Erlang A's figures for `agents` on the phones."""
    if agents < 0:
        raise StaffingError("agents ≥ 0")
    if not 0 < patience < math.inf or threshold < 0:
        raise StaffingError("patience > 0 s and threshold ≥ 0 s")
    a = traffic(calls, aht, interval)
    scheduled = math.ceil(agents / (1 - shrinkage)) if agents else 0
    if a == 0:
        return StaffingA(agents, scheduled, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0)
    lam, mu, theta = calls / interval, 1 / aht, 1 / patience
    log_below = log_inverse_erlang_b(agents, a)  # ln of states 0..N's weight ÷ π_N
    logs, log_z = _queue_log_weights(agents, lam, mu, theta, log_below)
    wait, abandon, answered, within, answered_wait = _queue_sums(
        logs, log_z, agents * mu, theta, threshold
    )
    no_wait = math.exp(log_below - log_z) * -math.expm1(-log_below)  # states 0..N−1
    answered += no_wait
    # busy agents: Σ_{j≤N} j·π_j = A·Σ_{j<N} π_j, then N in each state with a queue
    busy = a * no_wait + agents * (wait - math.exp(-log_z)) if agents else 0.0
    return StaffingA(
        agents,
        scheduled,
        a,
        min(1.0, no_wait + within),
        min(1.0, wait),
        min(1.0, abandon),
        answered_wait / answered if answered else math.inf,
        min(1.0, busy / agents) if agents else 0.0,
    )


def _queue_sums(
    logs: list[float], log_z: float, serve: float, theta: float, threshold: float
) -> tuple[float, float, float, float, float]:
    """Over the callers who find k queued ahead: P(wait), P(abandon), P(answered after a
    wait), P(answered within the threshold after a wait), E(wait; answered)."""
    # J ~ negative binomial(r = Nμ/θ + 1, success e^(−θT)): ln P(J = 0), ln(failure);
    # with T = 0, J = 0 surely and only those answered at once count
    log_nb = -(serve + theta) * threshold
    fail = -math.expm1(-theta * threshold)  # 0 when θT underflows (a threshold of ~0 s)
    log_fail = math.log(fail) if fail > 0 else -math.inf
    cdf = harmonic = wait = abandon = answered = within = answered_wait = 0.0
    for k, log_w in enumerate(logs):
        p = math.exp(log_w - log_z)
        rate = serve + (k + 1) * theta
        harmonic += 1 / rate  # E(wait | answered, k)
        cdf += math.exp(log_nb)  # P(J ≤ k)
        log_nb += math.log((serve / theta + 1 + k) / (k + 1)) + log_fail
        wait += p
        abandon += p * (k + 1) * theta / rate
        answered += p * serve / rate
        within += p * serve / rate * max(0.0, 1 - cdf)
        answered_wait += p * serve / rate * harmonic
    return wait, abandon, answered, within, answered_wait


def agents_needed(
    calls: float,
    aht: float,
    interval: float,
    target: float,
    threshold: float,
    patience: float,
    max_occupancy: float | None = None,
    shrinkage: float = 0.0,
    max_abandon: float | None = None,
) -> StaffingA:
    """The fewest agents meeting the service-level `target` (0..1) within `threshold` s, and
    at most `max_occupancy` and `max_abandon` (0..1) when given.

    The service level rises and occupancy and abandonment fall as agents are added, so the
    search gallops up from a bound no answer can be below (answered ÷ offered ≤ N / A), then
    bisects."""
    if not 0 < target < 1:
        raise StaffingError("the service-level target is between 0 and 1 (e.g. 0.8)")
    if threshold < 0 or not 0 <= shrinkage < 1:
        raise StaffingError("threshold ≥ 0 s and shrinkage between 0 and 1")
    if max_occupancy is not None and not 0 < max_occupancy <= 1:
        raise StaffingError("the occupancy cap is above 0 and at most 1")
    if max_abandon is not None and not 0 < max_abandon <= 1:
        raise StaffingError("the abandonment cap is above 0 and at most 1")
    a = traffic(calls, aht, interval)

    def figures(n: int) -> StaffingA:
        return staffing_for(n, calls, aht, interval, threshold, patience, shrinkage)

    if a == 0:
        return figures(0)

    def good(s: StaffingA) -> bool:
        return (
            s.service_level >= target
            and (max_occupancy is None or s.occupancy <= max_occupancy)
            and (max_abandon is None or s.abandon_probability <= max_abandon)
        )

    floor = max(target, 1 - max_abandon if max_abandon is not None else 0.0) * a
    if floor >= MAX_AGENTS:
        raise StaffingError(f"more than {MAX_AGENTS} agents needed")
    return _fewest(max(1, math.floor(floor)), figures, good)


def _fewest(
    start: int, figures: Callable[[int], StaffingA], good: Callable[[StaffingA], bool]
) -> StaffingA:
    """The smallest n ≥ start with good(figures(n)); start − 1 is known not to be good."""
    bad, step, n = start - 1, 1, start
    while not good(best := figures(n)):
        if n == MAX_AGENTS:
            raise StaffingError(f"more than {MAX_AGENTS} agents needed")
        bad, n, step = n, min(n + step, MAX_AGENTS), step * 2
    while n - bad > 1:
        mid = (bad + n) // 2
        if good(s := figures(mid)):
            n, best = mid, s
        else:
            bad = mid
    return best
