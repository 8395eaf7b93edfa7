"""Today's figures of every queue and agent, kept live from the ACD's outputs: what the
wallboard's tiles and agent grid show (SV-2) besides the live counts.

Per queue: contacts answered / abandoned / overflowed today, answered within the queue's
service-level time, the waits of answered contacts (ASA) and the handle time of the calls
its agents finished (talk + wrap-up, AHT); the last 15 minutes' finishes for the short
service level. Per agent: seconds spent in each state today and calls handled.

Definitions (the same as the CDRs give, so the two always agree):
- offered = answered + abandoned + overflowed + waiting now;
- service level = answered within the threshold ÷ (answered + abandoned);
- ASA = mean wait of answered contacts; AHT = mean (talk + wrap-up) of handled calls;
- occupancy = (reserved + on call + wrap-up) ÷ (those + ready) — not-ready time is not
  available time, so it counts in neither.

A day is a local calendar day (`day_start` maps a timestamp to its day's first second); at
the first event of a new day everything starts again from zero. Pure: no clock, no I/O.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .model import AgentState, ContactOutcome

SHORT_WINDOW = 900.0  # the "last 15 minutes" service level
SLOT = 10.0  # … counted in slots of this many seconds (a contact leaves the window in its slot)
BUSY = (AgentState.RESERVED, AgentState.ON_CALL, AgentState.WRAP_UP)
_ON_A_CALL = (AgentState.ON_CALL, AgentState.WRAP_UP)  # a queue call is handled when it ends


@dataclass(slots=True)
class QueueDay:
    answered: int = 0
    abandoned: int = 0
    overflowed: int = 0
    answered_in_sl: int = 0
    answered_wait: float = 0.0
    max_wait: float = 0.0
    handled: int = 0
    handle_seconds: float = 0.0
    # [slot start, answered within threshold, finished] of the last 15 minutes: counts per
    # slot, not one entry per contact (a busy queue's list grew by the call; issue 21)
    recent: deque[list[float]] = field(default_factory=deque)


@dataclass(slots=True)
class AgentDay:
    state: str = str(AgentState.LOGGED_OUT)
    since: float = 0.0
    seconds: dict[str, float] = field(default_factory=dict)  # closed intervals of today
    handled: int = 0
    call_started: float | None = None  # went on a queue call at …
    call_queue: str = ""


class DayFigures:
    def __init__(
        self, day_start: Callable[[float], float], sl_seconds: Callable[[str], float]
    ) -> None:
        self.day_start = day_start
        self.sl_seconds = sl_seconds
        self.day: float | None = None
        self.queues: dict[str, QueueDay] = {}
        self.agents: dict[str, AgentDay] = {}

    # --- input ---------------------------------------------------------------------------
    def contact_finished(self, queue: str, outcome: str, waited: float, at: float) -> None:
        """A contact left `queue` (answered, abandoned or overflowed) after `waited` s."""
        self._roll(at)
        q = self.queues.setdefault(queue, QueueDay())
        within = waited <= self.sl_seconds(queue)
        q.max_wait = max(q.max_wait, waited)
        if outcome == ContactOutcome.ANSWERED:
            q.answered += 1
            q.answered_wait += waited
            q.answered_in_sl += within
            _count_recent(q, at, within)
        elif outcome == ContactOutcome.ABANDONED:
            q.abandoned += 1
            _count_recent(q, at, False)
        else:
            q.overflowed += 1

    def agent_changed(self, agent_id: str, to_state: str, at: float, queue: str = "") -> None:
        """The agent moved to `to_state` at `at`; `queue`: the queue of the call it went on
        (when it goes on a queue call)."""
        self._roll(at)
        a = self.agents.setdefault(agent_id, AgentDay(since=at))
        if a.state != AgentState.LOGGED_OUT:
            a.seconds[a.state] = a.seconds.get(a.state, 0.0) + max(0.0, at - a.since)
        was = a.state
        a.state, a.since = str(to_state), at
        if to_state == AgentState.ON_CALL and was != AgentState.ON_CALL and queue:
            a.call_started, a.call_queue = at, queue
        elif a.call_started is not None and to_state not in _ON_A_CALL:
            self._handled(a, at)

    def _handled(self, a: AgentDay, at: float) -> None:
        a.handled += 1
        q = self.queues.setdefault(a.call_queue, QueueDay())
        q.handled += 1
        q.handle_seconds += at - (a.call_started or at)
        a.call_started, a.call_queue = None, ""

    def _roll(self, at: float) -> None:
        day = self.day_start(at)
        if self.day is None:
            self.day = day
        if day == self.day:
            return
        self.day = day
        self.queues = {}
        for agent in self.agents.values():  # a state carried over midnight starts at zero
            agent.seconds, agent.handled = {}, 0
            agent.since = max(agent.since, day)
            if agent.call_started is not None:
                agent.call_started = max(agent.call_started, day)

    # --- output --------------------------------------------------------------------------
    def queue(self, name: str, now: float) -> dict[str, Any]:
        """The queue's figures of today (offered excludes callers still waiting)."""
        self._roll(now)
        q = self.queues.get(name) or QueueDay()
        _forget_recent(q, now)
        recent_in = int(sum(slot[1] for slot in q.recent))
        recent = int(sum(slot[2] for slot in q.recent))
        return {
            "answered": q.answered,
            "abandoned": q.abandoned,
            "overflowed": q.overflowed,
            "finished": q.answered + q.abandoned + q.overflowed,
            "answered_in_sl": q.answered_in_sl,
            "sl_today": _percent(q.answered_in_sl, q.answered + q.abandoned),
            "sl_15m": _percent(recent_in, recent),
            "finished_15m": recent,
            "asa": round(q.answered_wait / q.answered, 1) if q.answered else None,
            "aht": round(q.handle_seconds / q.handled, 1) if q.handled else None,
            "handled": q.handled,
            "max_wait": round(q.max_wait, 1),
        }

    def agent(self, agent_id: str, now: float) -> dict[str, Any]:
        """The agent's day: calls handled and seconds per state up to `since` (the page adds
        the running state's time itself)."""
        self._roll(now)
        a = self.agents.get(agent_id) or AgentDay(since=now)
        return {
            "handled": a.handled,
            "seconds": {k: round(v, 1) for k, v in a.seconds.items()},
            "since": a.since,
        }

    def occupancy(self, agent_id: str, now: float) -> float | None:
        """Busy share of available time today, the running state included (0..100)."""
        a = self.agents.get(agent_id)
        if a is None:
            return None
        seconds = dict(a.seconds)
        if a.state != AgentState.LOGGED_OUT:
            seconds[a.state] = seconds.get(a.state, 0.0) + max(0.0, now - a.since)
        busy = sum(seconds.get(str(s), 0.0) for s in BUSY)
        return _percent(busy, busy + seconds.get(str(AgentState.READY), 0.0))


def _percent(part: float, whole: float) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def _count_recent(q: QueueDay, at: float, within: bool) -> None:
    """One more finished contact in its slot of the short window."""
    start = at - at % SLOT
    if q.recent and q.recent[-1][0] >= start:  # its slot (or a later one: out of order)
        slot = q.recent[-1]
    else:
        slot = [start, 0.0, 0.0]
        q.recent.append(slot)
    slot[1] += within
    slot[2] += 1
    _forget_recent(q, at)


def _forget_recent(q: QueueDay, now: float) -> None:
    """Drop the slots that ended before the short window (at most its slots stay)."""
    while q.recent and q.recent[0][0] + SLOT <= now - SHORT_WINDOW:
        q.recent.popleft()
