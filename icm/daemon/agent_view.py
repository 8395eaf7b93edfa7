"""An agent's live view (what desktops and wallboards keep of it) and the switch's full state for
a bus reset: built from the ACD and what every feature adds (`Contract.agent_view`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from icm.bus.publisher import StatePublisher
from icm.daemon.acd.runtime import AcdRuntime
from icm.daemon.feature import Features
from icm.daemon.supervision.live_figures import LiveFigures
from icm.domain import events as ev


class AgentViews:
    def __init__(
        self,
        switch: str,
        acd: AcdRuntime,
        features: Features,
        live: LiveFigures,
        publisher: StatePublisher,
        publish_later: Callable[..., None],
    ) -> None:
        self.switch = switch
        self.acd = acd
        self.features = features
        self.live = live
        self.publisher = publisher
        self.publish_later = publish_later
        self.gateway_since: dict[str, float] = {}

    def publish(self, agent_id: str, state: str, reason: str, since: float) -> None:
        view = self.state(agent_id, state, reason, since)
        self.publish_later(self.publisher.publish_agent, self.switch, agent_id, view)

    def changed(self, agent_id: str) -> None:
        """Something the agent's view shows moved on (a consultation, a recording, a preview):
        republish it."""
        agent = self.acd.agent(agent_id)
        if agent is not None:
            self.publish(agent_id, str(agent.state), agent.reason, agent.state_since)

    def state(self, agent_id: str, state: str, reason: str, since: float) -> dict[str, Any]:
        """What desktops and wallboards keep of an agent (`ipbx:<switch>:agents`)."""
        agent = self.acd.agent(agent_id)
        contact = agent.contact_id if agent else ""
        return {
            "agent": agent_id,
            "state": state,
            "reason": reason,
            "since": since,
            "contact": contact,
            "offer": self.offer_card(agent_id) if contact else None,
            **self.features.agent_view(agent_id),
        }

    def offer_card(self, agent_id: str) -> dict[str, Any] | None:
        """What the desktop shows of the agent's contact (kept in the agent's snapshot so a
        page that reloads while the phone rings still shows the screen pop)."""
        return self.features.offer_card(agent_id)

    def gateways_json(self) -> dict[str, dict[str, Any]]:
        return {
            name: {
                "state": state,
                "ping": ping,
                "healthy": ev.gateway_healthy(state, ping),
                "since": self.gateway_since.get(name),
            }
            for name, (state, ping) in self.live.gateways.items()
        }

    def live_state(self, switch: str) -> dict[str, object]:
        """Everything but the calls a snapshot holds, for a reset (Redis lost it)."""
        agents = {
            a.agent_id: json.dumps(self.state(a.agent_id, str(a.state), a.reason, a.state_since))
            for a in self.acd.agents()
        }
        gateways = json.dumps(self.gateways_json()) if self.live.gateways else None
        return {
            "agents": agents,
            "queues": json.dumps(self.live.tiles()),
            "alarms": json.dumps(self.live.alarms.as_json()),
            "gateways": gateways,
        }
