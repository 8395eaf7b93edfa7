"""Builders for ACD domain tests."""

from __future__ import annotations

from icm.domain.acd.agent_fsm import AgentStateChanged
from icm.domain.acd.engine import Acd
from icm.domain.acd.model import Contact, QueuePolicy
from icm.domain.acd.outputs import ContactFinished, OfferContact


def acd_with(
    policy: QueuePolicy,
    agents: dict[str, dict[str, int]],
    now: float = 0.0,
    ready: bool = True,
    **agent_options,
) -> Acd:
    acd = Acd()
    acd.set_policy(policy, now)
    for agent_id, skills in agents.items():
        acd.set_agent(agent_id, skills, **agent_options.get(agent_id, {}))
        if ready:
            acd.login(agent_id, now)
    return acd


def offers(outputs) -> list[OfferContact]:
    return [o for o in outputs if isinstance(o, OfferContact)]


def finished(outputs) -> list[ContactFinished]:
    return [o for o in outputs if isinstance(o, ContactFinished)]


def states(outputs) -> list[AgentStateChanged]:
    return [o for o in outputs if isinstance(o, AgentStateChanged)]


def contact(cid: str, queue: str = "q", at: float = 0.0, **kw) -> Contact:
    return Contact(cid, queue, at, **kw)


def serve(acd: Acd, cid: str, now: float) -> str:
    """Answer the pending offer of `cid` and return the agent that got it."""
    agent = next(a for a in acd.agents.values() if a.contact_id == cid)
    acd.offer_answered(cid, agent.agent_id, now)
    return agent.agent_id
