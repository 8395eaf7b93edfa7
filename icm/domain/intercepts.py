"""Standing intercepts (SV-9): "listen to every call of agent X from now until T". Which
intercept must start listening to which of the agent's calls, which are over, and the
listener legs each one placed — pure bookkeeping, no I/O; icm's supervision feature acts on
what it says (icm.daemon.supervision.intercepts)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Intercept:
    id: int
    agent: str
    extension: str  # the phone that listens
    starts: float  # epoch seconds
    ends: float

    def active(self, now: float) -> bool:
        return self.starts <= now < self.ends


@dataclass(slots=True)
class _Tracked:
    intercept: Intercept
    agent_legs: set[str] = field(default_factory=set)  # the agent's calls listened to
    listeners: set[str] = field(default_factory=set)  # the listening phone's legs


class InterceptBook:
    def __init__(self) -> None:
        self._by_id: dict[int, _Tracked] = {}

    def replace(self, intercepts: list[Intercept], now: float) -> list[str]:
        """The intercepts in force now (a reload); returns the listener legs of those gone
        (cancelled or over): they are hung up."""
        fresh = {i.id: i for i in intercepts if i.ends > now}
        gone: list[str] = []
        for ident in list(self._by_id):
            if ident not in fresh:
                gone += self._by_id.pop(ident).listeners
        for ident, intercept in fresh.items():
            tracked = self._by_id.get(ident)
            if tracked is None:
                self._by_id[ident] = _Tracked(intercept)
            else:
                tracked.intercept = intercept  # (its end may have moved)
        return gone

    def expire(self, now: float) -> list[str]:
        """Intercepts whose end has come are dropped; their listener legs are returned."""
        over = [i for i, t in self._by_id.items() if t.intercept.ends <= now]
        return [leg for ident in over for leg in self._by_id.pop(ident).listeners]

    def agents(self, now: float) -> list[str]:
        """Agents intercepted now."""
        return sorted({t.intercept.agent for t in self._by_id.values() if t.intercept.active(now)})

    def due(self, agent: str, agent_leg: str, now: float) -> list[Intercept]:
        """The intercepts that must start listening to the agent's call on `agent_leg` (each
        once per call); they are marked as listening."""
        found = []
        for tracked in self._by_id.values():
            intercept = tracked.intercept
            if intercept.agent == agent and intercept.active(now):
                if agent_leg not in tracked.agent_legs:
                    tracked.agent_legs.add(agent_leg)
                    found.append(intercept)
        return found

    def listening(self, ident: int, listener_leg: str) -> bool:
        """The listening phone's leg of intercept `ident` was placed (False: the intercept is
        gone meanwhile — the leg must be hung up)."""
        tracked = self._by_id.get(ident)
        if tracked is None:
            return False
        tracked.listeners.add(listener_leg)
        return True

    def leg_gone(self, leg: str) -> None:
        for tracked in self._by_id.values():
            tracked.listeners.discard(leg)
            tracked.agent_legs.discard(leg)

    def next_end(self) -> float | None:
        return min((t.intercept.ends for t in self._by_id.values()), default=None)

    def __len__(self) -> int:
        return len(self._by_id)
