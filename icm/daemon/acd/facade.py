"""What the other daemon features may ask of the ACD (consultations, booked call-backs,
campaigns, supervision): read its agents and contacts, and ring one chosen agent outside the
queues. They never reach into the engine; the runtime applies what the engine decides.
A part of AcdRuntime (mixed in), split out for size."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from icm.domain.acd.engine import Acd
from icm.domain.acd.model import Agent, AgentState, CallKind, Contact
from icm.domain.acd.outputs import Output


class AcdFacade:
    acd: Acd
    apply: Callable[[list[Output]], None]
    clock: Callable[[], float]

    def agent(self, agent_id: str) -> Agent | None:
        return self.acd.agents.get(agent_id)

    def agents(self) -> list[Agent]:
        return list(self.acd.agents.values())

    def contact(self, contact_id: str) -> Contact | None:
        return self.acd.contacts.get(contact_id)

    def queue_of_agent(self, agent_id: str) -> str:
        """The queue of the contact the agent is connected to ("" when none)."""
        return self.acd.contact_queue_of_agent.get(agent_id, "")

    def service_level_seconds(self, queue: str) -> float:
        policy = self.acd.policies.get(queue)
        return policy.service_level_seconds if policy is not None else 20.0

    def set_phone_unreachable(self, agent_id: str, why: str) -> None:
        """`why` the agent's phone cannot be rung ("": it can again): no offers meanwhile."""
        self.apply(self.acd.set_unreachable(agent_id, why, self.clock()))

    def next_deadline(self) -> float | None:
        return self.acd.next_deadline()

    def not_ready_after(self, agent_id: str, reason: str) -> None:
        """When the agent's ringing ends, it goes not ready with `reason` (a rejected call)."""
        agent = self.acd.agents[agent_id]
        agent.prior_state, agent.prior_reason = AgentState.NOT_READY, reason

    def contact_card(self, agent_id: str) -> dict[str, Any] | None:
        """The ACD contact the agent is offered or connected to, as the desktop shows it."""
        agent = self.acd.agents.get(agent_id)
        contact = self.acd.contacts.get(agent.contact_id) if agent and agent.contact_id else None
        if contact is None:
            return None
        return {
            "contact": contact.contact_id,
            "queue": contact.queue,
            "ani": contact.ani,
            "customer": contact.customer_id,
            "media": str(contact.media),
            "attached": contact.attached,
            "priority": contact.priority,
        }

    def queue_members(self, queue: str) -> list[Agent]:
        """The signed-in or not agents who serve `queue`."""
        agents = self.acd.agents
        return [agents[a] for a in self.acd.members.get(queue, ()) if a in agents]

    def has_queue(self, queue: str) -> bool:
        return queue in self.acd.policies

    def reserved_for(self, agent_id: str) -> str:
        """The contact a direct offer reserves the agent for ("" when none)."""
        return self.acd.direct_offers.get(agent_id, "")

    # --- direct offers: one chosen agent, outside the queues --------------------------------
    def offer_direct(self, agent_id: str, contact_id: str, now: float, trigger: str) -> None:
        """Reserve and ring the agent (IllegalTransition when it cannot take it now)."""
        self.apply(self.acd.offer_direct(agent_id, contact_id, now, trigger))

    def direct_answered(
        self, agent_id: str, now: float, queue: str = "", kind: CallKind = CallKind.INTERNAL
    ) -> None:
        self.apply(self.acd.direct_answered(agent_id, now, queue, kind))

    def direct_failed(self, agent_id: str, now: float, why: str) -> None:
        self.apply(self.acd.direct_failed(agent_id, now, why))

    def call_ended(self, agent_id: str, now: float) -> None:
        self.apply(self.acd.call_ended(agent_id, now))

    def take_over(self, agent_id: str, queue: str) -> None:
        """The agent now handles its call as `queue`'s (a completed consultative transfer)."""
        self.acd.take_over(agent_id, queue)

    def enqueue(self, contact: Contact, now: float) -> None:
        self.apply(self.acd.enqueue(contact, now))

    def abandon(self, contact_id: str, now: float) -> None:
        self.apply(self.acd.abandon(contact_id, now))
