"""The ACD's queue figures: expected wait, service level and a caller's position, from the
recent answered / abandoned contacts and handle times each queue keeps. A part of the ACD
engine (mixed into `Acd`), split out for size."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from .model import Agent, AgentState, Contact, QueuePolicy
from .selection import contact_order_key

S = AgentState
DEFAULT_HANDLE_SECONDS = 180.0


@dataclass(slots=True)
class QueueStats:
    answered: deque[tuple[float, float]]  # (at, waited)
    abandoned: deque[tuple[float, float]]
    handle: deque[float]


class QueueMetrics:
    agents: dict[str, Agent]
    policies: dict[str, QueuePolicy]
    contacts: dict[str, Contact]
    waiting: dict[str, dict[str, Contact]]
    members: dict[str, set[str]]
    _stats: dict[str, QueueStats]

    def expected_wait(self, queue: str) -> float:
        """Seconds a new contact may expect to wait: contacts ahead × handle time / agents."""
        stats = self._stats[queue]
        handle = sum(stats.handle) / len(stats.handle) if stats.handle else DEFAULT_HANDLE_SECONDS
        staffed = sum(
            1 for a in self.members.get(queue, ()) if self.agents[a].state is not S.LOGGED_OUT
        )
        ahead = sum(1 for c in self.waiting[queue].values() if not c.offered_to)
        if staffed == 0:
            return float("inf") if ahead else 0.0
        return ahead * handle / staffed

    def service_level(self, queue: str) -> float | None:
        """Share of recent contacts answered within the queue's service-level time."""
        stats, policy = self._stats[queue], self.policies[queue]
        total = len(stats.answered) + len(stats.abandoned)
        if total == 0:
            return None
        within = sum(1 for _, waited in stats.answered if waited <= policy.service_level_seconds)
        return within / total

    def position(self, contact_id: str, now: float) -> int:
        contact = self.contacts[contact_id]
        policy = self.policies[contact.queue]
        key = contact_order_key(policy, contact, now)
        return 1 + sum(
            1
            for other in self.waiting[contact.queue].values()
            if not other.offered_to and contact_order_key(policy, other, now) < key
        )
