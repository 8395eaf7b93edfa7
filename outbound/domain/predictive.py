"""How many calls to place now (issue 9), by dialing mode:
- `preview`: none — the agent reads the contact, then dials it;
- `progressive`: one per free agent, minus the calls already ringing or waiting for them: no
  answered call ever lacks an agent;
- `predictive`: dial ahead of the agents (below);
- `agentless`: up to the campaign's concurrency cap (answered calls go to a message or an
  IVR); the pacer (pacing.py) spreads them over time.

Predictive. Place the most new calls n such that the calls then in flight are predicted to
abandon at most the target rate. Their answers: A ~ Binomial — a new call is answered with
probability p (answered ÷ attempts), one already ringing with the share of ringing time
that belongs to calls a person answers (older ringing calls are likelier to be no-answers).
The agents to take them: the free ones, plus busy ones who finish within the time to answer
plus the grace time, X ~ Binomial(busy, q), q = 1 − e^(−(T + grace)/h), T the mean time to
answer (the residual one for ringing calls), h the mean talk + wrap-up — a memoryless guess
at a busy agent's remaining time, since only counts are known. The prediction is
E[(A − free − X)⁺] / E[A]. n runs from what progressive would place up to
⌈max_ratio × (free + busy·q)⌉ − ringing, so the ratio (calls in flight per agent expected to
take one) stays within max_ratio, and is never below progressive's; with nobody busy that is
the textbook calls = ⌈free × ratio⌉ − ringing, 1 ≤ ratio ≤ max_ratio. Until the window holds
`min_answered` answered calls the dialer is progressive: it is learning p, T and h.

The target is the cap less a safety margin set by the measured abandon rate m — the worse of
the rolling window's (observations.py: the last 100 answered calls) and the period's total
(the figure a regulator checks), each read cautiously: smoothed towards the aim by
`prior_calls` pseudo-calls, plus `confidence` standard errors. target = aim × (aim / m)^gain
within [cap / 10, cap], aim = `aim` × cap (0.6 × 3 % = 1.8 %). Over the aim the margin grows
(the target falls, quadratically); well under it the margin shrinks to none. The model alone
is off by a factor — in simulation the real rate is about 0.4 × its prediction with 5
agents, 1.8–2.4 × with 10–100 (answers and agents come one by one, not all at the horizon;
calls in flight are counted in several decisions) — and this feedback is what absorbs it.
Pure: the caller passes counts and the window's figures.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from outbound.domain.observations import WindowStats

_TAIL = 1e-9  # busy agents' finishing counts rarer than this are ignored


class DialMode(StrEnum):
    PREVIEW = "preview"
    PROGRESSIVE = "progressive"
    PREDICTIVE = "predictive"
    AGENTLESS = "agentless"


@dataclass(frozen=True, slots=True)
class Floor:
    """The campaign at the moment of the decision."""

    free_agents: int  # logged in, ready, no call
    busy_agents: int = 0  # talking or in wrap-up
    ringing: int = 0  # calls placed, neither answered nor failed yet
    waiting: int = 0  # answered by a person, waiting (within the grace time) for an agent
    connected: int = 0  # agentless: answered calls still up


@dataclass(frozen=True, slots=True)
class DialSettings:
    abandon_cap: float = 0.03  # abandoned ÷ answered
    max_ratio: float = 3.0
    grace: float = 2.0  # seconds an answered call waits for an agent before it is abandoned
    min_answered: int = 20  # in the window, before predictive dialing starts
    aim: float = 0.6  # of the cap: the rate the margin steers the measured rate to
    prior_calls: float = 20  # pseudo-calls at the aim that smooth the measured rate
    gain: float = 2.0  # how hard the margin reacts to the measured rate
    confidence: float = 1.0  # standard errors added to the measured rate
    max_concurrent: int | None = None  # agentless: calls up at once

    def __post_init__(self) -> None:
        if not 0 < self.abandon_cap < 1 or not 0 < self.aim <= 1:
            raise ValueError("abandon_cap is in (0, 1) and aim in (0, 1]")
        if self.max_ratio < 1:
            raise ValueError("max_ratio is at least 1")


@dataclass(frozen=True, slots=True)
class DialDecision:
    calls: int  # to place now (the pacer may spread them)
    ratio: float  # calls in flight per agent expected free to take them (0: none)
    predicted_abandon: float  # of the calls in flight, by the model (0 unless predictive)
    target: float  # the abandon rate the model was held under (0 unless predictive)


def calls_to_place(
    mode: DialMode, floor: Floor, window: WindowStats, settings: DialSettings
) -> DialDecision:
    if mode is DialMode.PREVIEW:
        return DialDecision(0, 0.0, 0.0, 0.0)
    if mode is DialMode.AGENTLESS:
        if settings.max_concurrent is None:
            raise ValueError("an agentless campaign needs max_concurrent")
        up = floor.ringing + floor.waiting + floor.connected
        return DialDecision(max(0, settings.max_concurrent - up), 0.0, 0.0, 0.0)
    if mode is DialMode.PROGRESSIVE or not _learned(window, settings):
        calls = max(0, floor.free_agents - floor.ringing - floor.waiting)
        return DialDecision(calls, 1.0 if floor.free_agents else 0.0, 0.0, 0.0)
    return _predictive(floor, window, settings)


def _learned(window: WindowStats, settings: DialSettings) -> bool:
    return (
        window.answered >= settings.min_answered
        and window.time_to_answer is not None
        and window.residual_time_to_answer is not None
        and window.ringing_answer_share is not None
        and window.handle_time is not None
    )


def abandon_target(window: WindowStats, settings: DialSettings) -> float:
    """The cap less the safety margin the measured rates call for."""
    aim = settings.aim * settings.abandon_cap
    measured = max(
        _upper_bound(window.abandoned, window.answered, aim, settings),
        _upper_bound(window.total_abandoned, window.total_answered, aim, settings),
    )
    target = aim * math.pow(aim / measured, settings.gain)
    return min(settings.abandon_cap, max(settings.abandon_cap / 10, target))


def _upper_bound(abandoned: int, answered: int, aim: float, settings: DialSettings) -> float:
    """A cautious reading of abandoned ÷ answered: smoothed towards the aim by
    `prior_calls` pseudo-calls, plus `confidence` standard errors."""
    n = answered + settings.prior_calls
    rate = (abandoned + aim * settings.prior_calls) / n
    return rate + settings.confidence * math.sqrt(rate * (1 - rate) / n)


@dataclass(frozen=True, slots=True)
class _Model:
    """What the window says, for one decision."""

    p_new: float  # a new call is answered by a person
    p_ringing: float  # a call seen ringing will be
    to_answer_new: float  # seconds
    to_answer_ringing: float
    handle: float
    grace: float

    def predicted(self, floor: Floor, new: int) -> float:
        """The abandon rate of the calls in flight once `new` more are placed."""
        ringing = floor.ringing
        a_ringing, a_new = ringing * self.p_ringing, new * self.p_new
        if a_ringing + a_new <= 0:
            return 0.0
        # the two binomials as one with their mean (a little more spread: on the safe side)
        k = ringing + new
        p = (a_ringing + a_new) / k
        to_answer = (a_ringing * self.to_answer_ringing + a_new * self.to_answer_new) / (
            a_ringing + a_new
        )
        q = 1.0 - math.exp(-(to_answer + self.grace) / self.handle)
        level = floor.free_agents - floor.waiting
        expected = _expected_abandons(_binomial(k, p), _binomial(floor.busy_agents, q), level)
        return expected / (k * p)


def _predictive(floor: Floor, window: WindowStats, settings: DialSettings) -> DialDecision:
    assert window.time_to_answer is not None and window.handle_time is not None
    assert window.residual_time_to_answer is not None
    assert window.ringing_answer_share is not None
    model = _Model(
        p_new=window.answered / window.attempts,
        p_ringing=window.ringing_answer_share,
        to_answer_new=window.time_to_answer,
        to_answer_ringing=window.residual_time_to_answer,
        handle=max(window.handle_time, 1.0),
        grace=settings.grace,
    )
    target = abandon_target(window, settings)
    free = max(0, floor.free_agents - floor.waiting - floor.ringing)  # progressive's calls
    q = 1.0 - math.exp(-(window.time_to_answer + settings.grace) / model.handle)
    expected_agents = max(0.0, floor.free_agents - floor.waiting + floor.busy_agents * q)
    most = max(free, math.ceil(settings.max_ratio * expected_agents) - floor.ringing)
    lo, hi = free, most
    if model.predicted(floor, hi) <= target:
        lo = hi
    else:  # the prediction rises with the calls placed: the most under the target
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if model.predicted(floor, mid) <= target:
                lo = mid
            else:
                hi = mid
    in_flight = floor.ringing + lo
    ratio = in_flight / expected_agents if expected_agents > 0 else 0.0
    return DialDecision(lo, ratio, model.predicted(floor, lo), target)


def _binomial(n: int, p: float) -> list[float]:
    """P(X = x) for x = 0..n (fewer when the tail is negligible)."""
    if n == 0 or p <= 0:
        return [1.0]
    if p >= 1:
        return [0.0] * n + [1.0]
    odds = p / (1 - p)
    pmf = [(1 - p) ** n]
    for x in range(n):
        nxt = pmf[-1] * (n - x) / (x + 1) * odds
        if nxt < _TAIL and x + 1 > n * p:
            break
        pmf.append(nxt)
    return pmf


def _expected_abandons(answered: list[float], freeing: list[float], level: int) -> float:
    """E[(A − level − X)⁺]: answered calls (pmf `answered`) beyond the agents free now
    (`level`) and those who finish in time (pmf `freeing`)."""
    # above[s] = E[(A − s)⁺] for s = 0..n, from the suffix sums of P(A > s) and E[A; A > s]
    n = len(answered)
    above = [0.0] * (n + 1)
    tail_p = tail_a = 0.0
    for s in range(n - 1, -1, -1):
        above[s] = tail_a - s * tail_p
        tail_p += answered[s]
        tail_a += s * answered[s]
    mean = tail_a
    total = 0.0
    for x, px in enumerate(freeing):
        agents = level + x
        if agents >= n:
            break
        total += px * (above[agents] if agents >= 0 else mean - agents)
    return total
