"""The StatServer's facts (ST-1, ST-2), built from the ACD's outputs as they happen: the
append-only records the Celery aggregation (stats.aggregate) turns into interval tables.

- a **queue event** for every contact entering its queue, offered to an agent, answered,
  abandoned or overflowed, with the wait so far;
- a **contact** fact for every queue contact once it is over: at once when it is abandoned
  or overflowed; for an answered one when its agent's handling ends (talk, then wrap-up, if
  any), so it holds the wait, talk (on call, not on hold), hold and wrap-up seconds, the
  agent and whether the agent transferred it;
- an **agent state** fact for every closed state interval (state, reason, start, end, and
  the queue and contact of a call).

Times are epoch seconds; the facts are plain dicts (icm's persister writes them in batches,
off the routing path, and keeps them while PostgreSQL is away). Pure: no clock, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from icm.domain.acd.model import AgentState

Fact = dict[str, Any]
_HANDLING = (AgentState.ON_CALL, AgentState.WRAP_UP)


@dataclass(slots=True)
class _Handling:
    """An answered contact whose agent is still on it."""

    fact: Fact
    talk_since: float | None = None
    wrap_since: float | None = None
    hold_since: float | None = None


@dataclass(slots=True)
class _Interval:
    state: str
    since: float
    reason: str
    queue: str
    contact: str


class FactBuilder:
    def __init__(self, switch: str) -> None:
        self.switch = switch
        self.handling: dict[str, _Handling] = {}  # agent -> its answered contact
        self.intervals: dict[str, _Interval] = {}  # agent -> its open state interval
        self.out: list[tuple[str, Fact]] = []  # ("queue_event" | "contact" | "agent_state", …)

    def take(self) -> list[tuple[str, Fact]]:
        out, self.out = self.out, []
        return out

    # --- queue events -----------------------------------------------------------------
    def queue_event(
        self,
        kind: str,
        contact: str,
        queue: str,
        at: float,
        call_uuid: str = "",
        agent: str = "",
        wait: float = 0.0,
        target: str = "",
    ) -> None:
        self.out.append(
            (
                "queue_event",
                {
                    "switch": self.switch,
                    "kind": kind,
                    "contact_id": contact,
                    "call_uuid": call_uuid,
                    "queue": queue,
                    "at": at,
                    "agent": agent,
                    "wait_seconds": round(wait, 3),
                    "target": target,
                },
            )
        )

    def contact_finished(
        self,
        contact: str,
        queue: str,
        outcome: str,
        waited: float,
        at: float,
        agent: str = "",
        call_uuid: str = "",
        skill: str = "",
        media: str = "voice",
        target: str = "",
        campaign: str = "",
    ) -> None:
        """The contact left its queue (answered / abandoned / overflowed) at `at`."""
        self.queue_event(outcome, contact, queue, at, call_uuid, agent, waited, target)
        fact = {
            "switch": self.switch,
            "contact_id": contact,
            "call_uuid": call_uuid,
            "queue": queue,
            "skill": skill,
            "media": media,
            "agent": agent,
            "entered_at": at - waited,
            "answered_at": at if outcome == "answered" else None,
            "ended_at": at,
            "outcome": outcome,
            "wait_seconds": round(waited, 3),
            "talk_seconds": 0.0,
            "hold_seconds": 0.0,
            "wrap_seconds": 0.0,
            "transferred": False,
            "campaign": campaign,
        }
        if outcome != "answered" or not agent:
            self.out.append(("contact", fact))
            return
        previous = self.handling.pop(agent, None)
        if previous is not None:  # the agent took another contact before this one ended
            self._close_handling(previous, at)
        handling = _Handling(fact)
        interval = self.intervals.get(agent)
        if interval is not None and interval.state == AgentState.ON_CALL:
            handling.talk_since = at  # already talking (the answer came first)
        self.handling[agent] = handling

    def transferred(self, agent: str) -> None:
        """The agent's contact was transferred out (counted in its queue's transfers)."""
        handling = self.handling.get(agent)
        if handling is not None:
            handling.fact["transferred"] = True

    def held(self, agent: str, on: bool, at: float) -> None:
        """The agent's call went on hold (`on`) or came back: hold time is not talk time."""
        handling = self.handling.get(agent)
        if handling is None:
            return
        if on and handling.hold_since is None:
            if handling.talk_since is not None:
                handling.fact["talk_seconds"] += at - handling.talk_since
                handling.talk_since = None
            handling.hold_since = at
        elif not on and handling.hold_since is not None:
            handling.fact["hold_seconds"] += at - handling.hold_since
            handling.hold_since = None
            interval = self.intervals.get(agent)
            if interval is not None and interval.state == AgentState.ON_CALL:
                handling.talk_since = at

    # --- agent states -------------------------------------------------------------------
    def agent_changed(
        self,
        agent: str,
        to_state: str,
        at: float,
        reason: str = "",
        queue: str = "",
        contact: str = "",
    ) -> None:
        """The agent moved to `to_state` at `at`: close its interval, follow its contact."""
        interval = self.intervals.get(agent)
        if interval is not None and at >= interval.since:
            self.out.append(
                (
                    "agent_state",
                    {
                        "switch": self.switch,
                        "agent": agent,
                        "state": interval.state,
                        "reason": interval.reason,
                        "started_at": interval.since,
                        "ended_at": at,
                        "queue": interval.queue,
                        "contact_id": interval.contact,
                    },
                )
            )
        handling = self.handling.get(agent)
        if handling is not None:
            queue = queue or handling.fact["queue"]
            contact = contact or handling.fact["contact_id"]
        if to_state == AgentState.LOGGED_OUT:
            self.intervals.pop(agent, None)
        else:
            self.intervals[agent] = _Interval(
                to_state,
                at,
                reason if to_state == AgentState.NOT_READY else "",
                queue if to_state in _HANDLING else "",
                contact if to_state in _HANDLING else "",
            )
        if handling is None:
            return
        if to_state != AgentState.ON_CALL:
            if handling.talk_since is not None:
                handling.fact["talk_seconds"] += at - handling.talk_since
                handling.talk_since = None
            if handling.hold_since is not None:
                handling.fact["hold_seconds"] += at - handling.hold_since
                handling.hold_since = None
        if handling.wrap_since is not None and to_state != AgentState.WRAP_UP:
            handling.fact["wrap_seconds"] += at - handling.wrap_since
            handling.wrap_since = None
        resting = handling.talk_since is None and handling.hold_since is None
        if to_state == AgentState.ON_CALL and resting:
            handling.talk_since = at
        elif to_state == AgentState.WRAP_UP and handling.wrap_since is None:
            handling.wrap_since = at
        elif to_state not in _HANDLING:
            del self.handling[agent]
            self._close_handling(handling, at)

    def _close_handling(self, handling: _Handling, at: float) -> None:
        fact = handling.fact
        if handling.talk_since is not None:
            fact["talk_seconds"] += at - handling.talk_since
        if handling.wrap_since is not None:
            fact["wrap_seconds"] += at - handling.wrap_since
        if handling.hold_since is not None:
            fact["hold_seconds"] += at - handling.hold_since
        for key in ("talk_seconds", "hold_seconds", "wrap_seconds"):
            fact[key] = round(fact[key], 3)
        fact["ended_at"] = at
        self.out.append(("contact", fact))
