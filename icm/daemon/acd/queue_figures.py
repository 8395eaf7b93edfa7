"""Live queue figures read from the ACD (read-only): what desktops, wallboards and IVR flows
see of a queue — waiting contacts, longest wait, agents ready / signed in, expected wait —
and a waiting caller's position for announcements (R-9, AG-12).

Called from other greenlets than the consumer: gevent switches only at I/O, never inside
these reads, so they always see a consistent engine.
"""

from __future__ import annotations

import time
from typing import Any

from icm.domain.acd.engine import Acd
from icm.domain.acd.model import AgentState

METRICS = ("queue_length", "agents_ready", "agents_logged_in", "expected_wait")
LISTED = 10  # waiting callers listed per queue (desktops pick from them, AG-3)


class QueueFigures:
    def __init__(self, acd: Acd) -> None:
        self.acd = acd

    def all_queues(self) -> dict[str, dict[str, Any]]:
        """Every queue's live figures."""
        now = time.time()
        figures = {}
        for queue in self.acd.policies:
            waiting = [c for c in self.acd.waiting.get(queue, {}).values() if not c.offered_to]
            figures[queue] = {
                "waiting": float(len(waiting)),
                "longest_wait": round(max((now - c.enqueued_at for c in waiting), default=0.0), 1),
                "agents_ready": self.metric("agents_ready", queue),
                "agents_logged_in": self.metric("agents_logged_in", queue),
                "expected_wait": round(self.metric("expected_wait", queue), 1),
                "callers": [
                    {
                        "contact": c.contact_id,
                        "ani": c.ani,
                        "since": round(c.enqueued_at, 1),
                        "priority": c.priority,
                        "media": str(c.media),
                    }
                    for c in sorted(waiting, key=lambda c: (-c.priority, c.enqueued_at))[:LISTED]
                ],
            }
        return figures

    def status(self, contact_id: str) -> tuple[int, float, float] | None:
        """(position, expected wait, announce interval) of a contact waiting unoffered."""
        contact = self.acd.contacts.get(contact_id)
        if contact is None or contact.offered_to:
            return None
        policy = self.acd.policies[contact.queue]
        return (
            self.acd.position(contact_id, time.time()),
            self.acd.expected_wait(contact.queue),
            policy.announce_seconds,
        )

    def metric(self, metric: str, queue: str) -> float:
        """queue_length, agents_ready, agents_logged_in or expected_wait (s; 86400 when nobody
        serves a queue that has callers). KeyError for an unknown queue or metric."""
        acd = self.acd
        if queue not in acd.policies:
            raise KeyError(f"unknown queue {queue!r}")
        members = [acd.agents[a] for a in acd.members.get(queue, ()) if a in acd.agents]
        if metric == "queue_length":
            return float(len(acd.waiting.get(queue, {})))
        if metric == "agents_ready":
            return float(sum(1 for a in members if a.state is AgentState.READY))
        if metric == "agents_logged_in":
            return float(sum(1 for a in members if a.state is not AgentState.LOGGED_OUT))
        if metric == "expected_wait":
            return min(acd.expected_wait(queue), 86400.0)
        raise KeyError(f"unknown metric {metric!r}")
