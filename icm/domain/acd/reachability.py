"""Whether an agent's phone can be rung (ICM-1): an agent whose phone is not registered is
never offered a contact, and the supervisor sees why in the routing explanation; once it can
be rung again, a ready agent takes a waiting contact at once. A part of the ACD engine (mixed
into `Acd`), split out for size."""

from __future__ import annotations

import logging

from .model import Agent, AgentState
from .outputs import Output

log = logging.getLogger(__name__)


class PhoneReach:
    agents: dict[str, Agent]

    def _dispatch_agent(self, agent: Agent, now: float) -> list[Output]:
        raise NotImplementedError  # the engine's

    def set_unreachable(self, agent_id: str, why: str, now: float) -> list[Output]:
        """`why` the agent's phone cannot be rung ("" when it can again). Its state is kept:
        a signed-in agent stays signed in, it is only left out of offers meanwhile."""
        agent = self.agents.get(agent_id)
        if agent is None or agent.unreachable == why:
            return []
        agent.unreachable = why
        log.info("agent %s: %s", agent_id, why or "phone reachable again")
        if why or agent.state is not AgentState.READY:
            return []
        return self._dispatch_agent(agent, now)
