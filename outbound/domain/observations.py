"""The predictive dialer's rolling window (issue 9): what the campaign's recent calls say
about the answer rate, the time to answer, the handle time and the abandon rate.

The window is the last `answered_calls` answered calls (default 100) — and every attempt
placed since the first of them, for the answer rate — plus the last `answered_calls` handle
times (talk + wrap-up). A count, not a span of time: the abandon rate's denominator is
answered calls, and 100 of them is what a 3 % cap needs to mean something (3 abandons);
15 minutes would be 25 answered calls for a 5-agent campaign and 500 for a 100-agent one.
"Answered" is a person (machines are detected and never need an agent).
Pure: the caller records what happened; times are the caller's seconds.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

DEFAULT_ANSWERED_CALLS = 100


@dataclass(frozen=True, slots=True)
class WindowStats:
    attempts: int  # in the window
    answered: int  # by a person
    abandoned: int  # of those answered: no agent within the grace time
    time_to_answer: float | None  # mean seconds from dial to answer, answered calls
    residual_time_to_answer: float | None  # mean left to ring, for a call seen ringing
    ringing_answer_share: float | None  # of the time calls spend ringing: future answers'
    handle_time: float | None  # mean talk + wrap-up seconds, calls that reached an agent
    total_answered: int = 0  # since the period began (the regulator's figure: a day, …)
    total_abandoned: int = 0

    @property
    def answer_rate(self) -> float | None:
        return self.answered / self.attempts if self.attempts else None

    @property
    def abandon_rate(self) -> float | None:
        return self.abandoned / self.answered if self.answered else None


class RollingWindow:
    def __init__(self, answered_calls: int = DEFAULT_ANSWERED_CALLS) -> None:
        if answered_calls < 1:
            raise ValueError("the window holds at least one answered call")
        self.size = answered_calls
        # each attempt: (seconds from dial to its outcome, answered, abandoned); oldest first
        self._attempts: deque[tuple[float, bool, bool]] = deque()
        self._answered = 0
        self._abandoned = 0
        self._ring = 0.0  # seconds ringing, all attempts
        self._answer = 0.0  # seconds to answer, answered ones
        self._answer_sq = 0.0
        self._handles: deque[float] = deque(maxlen=answered_calls)
        self._total_answered = 0
        self._total_abandoned = 0

    def start_period(self) -> None:
        """Start counting the period's totals again (the window itself is kept)."""
        self._total_answered = self._total_abandoned = 0

    def record_attempt(self, ring_seconds: float, answered: bool, abandoned: bool = False) -> None:
        """An attempt's outcome is known after `ring_seconds`: a person answered (then
        reached an agent or was abandoned), or not (busy, no answer, machine, …)."""
        if abandoned and not answered:
            raise ValueError("only an answered call can be abandoned")
        self._attempts.append((ring_seconds, answered, abandoned))
        self._total_answered += answered
        self._total_abandoned += abandoned
        self._add(ring_seconds, answered, abandoned, 1)
        while self._answered > self.size:
            self._drop_oldest()
        # then the attempts placed before the oldest answered call that is kept
        while self._answered == self.size and not self._attempts[0][1]:
            self._drop_oldest()

    def record_handle(self, seconds: float) -> None:
        """A call that reached an agent is over, wrap-up included."""
        self._handles.append(seconds)

    def _add(self, ring: float, answered: bool, abandoned: bool, sign: int) -> None:
        self._ring += sign * ring
        if answered:
            self._answered += sign
            self._abandoned += sign * abandoned
            self._answer += sign * ring
            self._answer_sq += sign * ring * ring

    def _drop_oldest(self) -> None:
        self._add(*self._attempts.popleft(), -1)

    def stats(self) -> WindowStats:
        n, answer = self._answered, max(self._answer, 0.0)
        return WindowStats(
            attempts=len(self._attempts),
            answered=n,
            abandoned=self._abandoned,
            time_to_answer=answer / n if n else None,
            # a call seen ringing at a random moment has E[τ²] / 2E[τ] left (the residual)
            residual_time_to_answer=self._answer_sq / (2 * answer) if answer > 0 else None,
            ringing_answer_share=answer / self._ring if self._ring > 0 else None,
            handle_time=sum(self._handles) / len(self._handles) if self._handles else None,
            total_answered=self._total_answered,
            total_abandoned=self._total_abandoned,
        )
