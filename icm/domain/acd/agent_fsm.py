"""The agent state machine (AG-2, AG-5, AG-7): legal transitions, each logged and returned
as a record to persist (AgentStateChange) and publish."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from .model import Agent, AgentState

log = logging.getLogger(__name__)

S = AgentState
ALLOWED: dict[AgentState, frozenset[AgentState]] = {
    S.LOGGED_OUT: frozenset({S.READY, S.NOT_READY}),
    S.READY: frozenset({S.NOT_READY, S.RESERVED, S.ON_CALL, S.LOGGED_OUT}),
    # not ready still takes internal and outbound calls (ON_CALL), never queue offers
    # … and a direct offer (consultation, booked call-back) rings it while not ready too
    S.NOT_READY: frozenset({S.READY, S.RESERVED, S.ON_CALL, S.LOGGED_OUT}),
    S.RESERVED: frozenset({S.ON_CALL, S.READY, S.NOT_READY, S.LOGGED_OUT}),
    S.ON_CALL: frozenset({S.WRAP_UP, S.READY, S.NOT_READY, S.LOGGED_OUT}),
    S.WRAP_UP: frozenset({S.READY, S.NOT_READY, S.ON_CALL, S.LOGGED_OUT}),
}
BUSY = frozenset({S.ON_CALL, S.WRAP_UP})


class IllegalTransition(ValueError):
    """The agent cannot go from its state to the one asked (e.g. offer to a not-ready agent)."""


@dataclass(frozen=True, slots=True)
class AgentStateChanged:
    agent_id: str
    from_state: AgentState
    to_state: AgentState
    at: float
    trigger: str
    reason: str = ""
    contact_id: str = ""


def change_state(
    agent: Agent, to: AgentState, now: float, trigger: str, reason: str = ""
) -> AgentStateChanged:
    """Move `agent` to `to`; raise IllegalTransition when the state machine forbids it."""
    frm = agent.state
    if to == frm and to in (S.NOT_READY, S.READY):
        # re-asserting ready / changing the not-ready reason is a visible change
        agent.reason = reason
        return AgentStateChanged(agent.agent_id, frm, to, now, trigger, reason, agent.contact_id)
    if to not in ALLOWED[frm]:
        raise IllegalTransition(f"agent {agent.agent_id}: {frm} -[{trigger}]-> {to} is not allowed")
    if frm not in BUSY and to in BUSY:
        agent.busy_since = now
    if frm in BUSY and to not in BUSY:
        agent.busy_intervals.append((agent.busy_since, now))
    if to in (S.READY, S.NOT_READY) or frm == S.LOGGED_OUT:
        agent.idle_since = now
    if frm == S.LOGGED_OUT:
        agent.logged_in_at = now
        agent.busy_intervals.clear()
    agent.state = to
    agent.state_since = now
    agent.reason = reason if to == S.NOT_READY else ""
    contact = agent.contact_id
    if to in (S.READY, S.NOT_READY, S.LOGGED_OUT):
        agent.contact_id = ""
        agent.on_hold = False
        agent.call_kind = None
    log.info("agent %s: %s -[%s]-> %s %s", agent.agent_id, frm, trigger, to, reason)
    return AgentStateChanged(agent.agent_id, frm, to, now, trigger, reason, contact)


def occupancy(agent: Agent, now: float, window: float) -> float:
    """Share of the last `window` seconds (or of the time since sign-in, if shorter) the
    agent spent on calls and wrap-up."""
    start = max(now - window, agent.logged_in_at)
    span = now - start
    busy = 0.0
    for begin, end in agent.busy_intervals:
        if end > start:
            busy += end - max(begin, start)
    if agent.state in BUSY:
        busy += now - max(agent.busy_since, start)
    return min(1.0, busy / span) if span > 0 else 0.0
