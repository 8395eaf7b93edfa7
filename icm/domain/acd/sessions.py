"""Agents' sessions across an icm restart (ICM-3): what is kept of each signed-in agent, and
how the engine takes it back before the switch says which calls are still up."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from .engine import Acd
from .model import AgentState, CallKind

log = logging.getLogger(__name__)
S = AgentState


@dataclass(frozen=True, slots=True)
class AgentSession:
    """One agent's live state as icm last saved it."""

    agent_id: str
    state: AgentState
    since: float
    reason: str = ""
    prior_state: AgentState = AgentState.READY
    prior_reason: str = ""
    contact_id: str = ""
    queue: str = ""
    call_kind: CallKind | None = None
    logged_in_at: float = 0.0
    leg: str = ""  # the agent's own leg (ringing or talking)
    wrap_due: float = 0.0  # when its wrap-up ends


def session_of(acd: Acd, agent_id: str, leg: str) -> AgentSession:
    """What to save of `agent_id` now."""
    agent = acd.agents[agent_id]
    return AgentSession(
        agent_id=agent_id,
        state=agent.state,
        since=agent.state_since,
        reason=agent.reason,
        prior_state=agent.prior_state,
        prior_reason=agent.prior_reason,
        contact_id=agent.contact_id,
        queue=acd.contact_queue_of_agent.get(agent_id, ""),
        call_kind=agent.call_kind,
        logged_in_at=agent.logged_in_at,
        leg=leg if agent.state in (S.RESERVED, S.ON_CALL) else "",
        wrap_due=(acd.timers.due("wrap", agent_id) or 0.0) if agent.state is S.WRAP_UP else 0.0,
    )


def restore_sessions(acd: Acd, sessions: list[AgentSession], now: float) -> list[AgentSession]:
    """Put each signed-in agent back in its saved state (no transition: nothing changed).

    A ringing offer is lost with the icm that made it: the agent goes back to its prior state.
    Agents that were on a call come back on that call; the caller links them to their legs
    once the switch has listed its channels (or ends the call if the leg is gone). Returns
    the sessions whose calls must be linked.
    """
    to_link: list[AgentSession] = []
    for session in sessions:
        agent = acd.agents.get(session.agent_id)
        if agent is None or session.state is S.LOGGED_OUT:
            continue
        state = session.state
        if state is S.RESERVED and session.prior_state in (S.READY, S.NOT_READY):
            state = session.prior_state
        elif state is S.RESERVED:
            state = S.READY
        agent.state = state
        agent.state_since = session.since if state is session.state else now
        agent.reason = session.reason if state is S.NOT_READY else ""
        if session.state is S.RESERVED and state is S.NOT_READY:
            agent.reason = session.prior_reason
        agent.prior_state, agent.prior_reason = session.prior_state, session.prior_reason
        agent.logged_in_at = session.logged_in_at or session.since
        agent.idle_since = agent.state_since
        if state in (S.ON_CALL, S.WRAP_UP):
            agent.busy_since = session.since
            agent.contact_id = session.contact_id
            agent.call_kind = session.call_kind
            if session.queue and session.queue in acd.policies:
                acd.contact_queue_of_agent[session.agent_id] = session.queue
        if state is S.WRAP_UP:
            acd.timers.set(max(now, session.wrap_due), "wrap", session.agent_id)
        if state is S.ON_CALL:
            to_link.append(session)
        log.info(
            "agent %s: session restored as %s (saved %s since %.0f)",
            session.agent_id,
            state,
            session.state,
            session.since,
        )
    return to_link
