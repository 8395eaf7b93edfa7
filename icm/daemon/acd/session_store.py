"""Saves agents' live sessions for icm (one row per agent, upserted) and loads them back when
icm restarts, so signed-in agents stay signed in and stay on their calls (ICM-3)."""

from __future__ import annotations

from agents.models import Agent, AgentSessionState
from icm.domain.acd.model import AgentState, CallKind
from icm.domain.acd.sessions import AgentSession
from icm.models import Switch

_FIELDS = [
    "switch",
    "state",
    "since",
    "reason",
    "prior_state",
    "prior_reason",
    "contact_id",
    "queue",
    "call_kind",
    "logged_in_at",
    "leg",
    "wrap_due",
]


def write_agent_sessions(switch: str, sessions: list[AgentSession]) -> int:
    """Upsert the latest session of each agent in `sessions` (later ones win)."""
    latest = {s.agent_id: s for s in sessions}
    if not latest:
        return 0
    agent_ids = dict(Agent.objects.filter(login_id__in=latest).values_list("login_id", "id"))
    switch_id = Switch.objects.filter(name=switch).values_list("id", flat=True).first()
    if switch_id is None:
        return 0
    rows = [
        AgentSessionState(
            agent_id=agent_ids[s.agent_id],
            switch_id=switch_id,
            state=str(s.state),
            since=s.since,
            reason=s.reason[:64],
            prior_state=str(s.prior_state),
            prior_reason=s.prior_reason[:64],
            contact_id=s.contact_id[:64],
            queue=s.queue[:64],
            call_kind=str(s.call_kind) if s.call_kind else "",
            logged_in_at=s.logged_in_at,
            leg=s.leg[:64],
            wrap_due=s.wrap_due,
        )
        for s in latest.values()
        if s.agent_id in agent_ids
    ]
    AgentSessionState.objects.bulk_create(
        rows, update_conflicts=True, unique_fields=["agent"], update_fields=_FIELDS
    )
    return len(rows)


def load_agent_sessions(switch: str) -> list[AgentSession]:
    """The signed-in agents' sessions saved by the icm of `switch`."""
    rows = (
        AgentSessionState.objects.filter(switch__name=switch, agent__active=True)
        .exclude(state=str(AgentState.LOGGED_OUT))
        .select_related("agent")
    )
    return [
        AgentSession(
            agent_id=row.agent.login_id,
            state=AgentState(row.state),
            since=row.since,
            reason=row.reason,
            prior_state=AgentState(row.prior_state or AgentState.READY),
            prior_reason=row.prior_reason,
            contact_id=row.contact_id,
            queue=row.queue,
            call_kind=CallKind(row.call_kind) if row.call_kind else None,
            logged_in_at=row.logged_in_at,
            leg=row.leg,
            wrap_due=row.wrap_due,
        )
        for row in rows
    ]
