"""One campaign call: its attempt, number, agent and state (moved only through
outbound.domain.campaign_call_state)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from icm.daemon.campaigns.constants import AVMD_WINDOW
from outbound.domain.campaign_call_state import CallEvent, CallState, next_state

log = logging.getLogger("icm.daemon.campaigns.dialer")


@dataclass
class CampaignCall:
    key: str
    leg: str
    campaign: str
    number: str
    gateway: str
    mode: str
    queue: str
    ring_seconds: int
    caller_id: str = ""
    amd: bool = False
    machine_action: str = "hangup"
    message: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    flow: str = ""
    requested: float = field(default_factory=time.time)
    placed: float | None = None
    answered: float | None = None
    agent: str = ""
    placed_job: str = ""
    attempt: int = 0
    agent_first: str = ""  # a call-back rings this agent before the customer is dialed
    preview_seconds: int = 0
    shown_to: str = ""  # preview: the agent looking at it
    shown_at: float | None = None
    slot: bool = False  # holds a place in the pacing caps
    agent_leg: str = ""  # an agent-first call: the agent's leg, on the line while it rings
    amd_method: str = ""  # the module detecting on this call: mod_amd, mod_avmd or none
    amd_window: float = AVMD_WINDOW
    stop_avmd: bool = False  # a person on a leg mod_avmd still listens to
    state: CallState = CallState.QUEUED  # outbound.domain.campaign_call_state

    @property
    def result(self) -> str:
        """answered, machine or abandoned once decided, else ""."""
        return self.state.result

    @property
    def from_preview(self) -> bool:
        """Its preview's agent pressed Call (or the preview time ran out)."""
        return self.state.from_preview

    def fire(self, event: CallEvent) -> CallState:
        """Move on by `event` (IllegalCallTransition when it cannot happen now)."""
        before, self.state = self.state, next_state(self.state, event)
        log.debug(
            "campaign %s: %s %s -[%s]-> %s", self.campaign, self.key, before, event, self.state
        )
        return self.state

    def attached(self) -> dict[str, Any]:
        """What the agent's screen pop shows of the contact (the web adds its history)."""
        return {
            **self.data,
            "campaign": self.campaign,
            "attempt": self.key,
            "attempt_no": self.attempt,
            "number": self.number,
        }
