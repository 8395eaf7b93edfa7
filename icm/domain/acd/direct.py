"""Direct offers: the ACD rings one chosen agent outside any queue (a consultation, a booked
call-back, a preview) and agents' own internal and outbound calls. A part of the ACD engine
(mixed into `Acd`), split out for size."""

from __future__ import annotations

from .agent_fsm import IllegalTransition, change_state
from .model import Agent, AgentState, CallKind, QueuePolicy
from .outputs import Output
from .timers import Timers

S = AgentState


class DirectOffers:
    agents: dict[str, Agent]
    policies: dict[str, QueuePolicy]
    direct_offers: dict[str, str]  # agent -> contact ringing it outside queues
    contact_queue_of_agent: dict[str, str]
    timers: Timers

    def _agent(self, agent_id: str) -> Agent:
        raise NotImplementedError  # the engine's

    def _return_to_prior(self, agent: Agent, now: float, trigger: str) -> list[Output]:
        raise NotImplementedError  # the engine's

    def offer_direct(
        self, agent_id: str, contact_id: str, now: float, trigger: str
    ) -> list[Output]:
        """Ring one chosen agent for a contact (a consultation, a booked call-back): ready or
        not ready — never while on a call, ringing or in wrap-up. The agent is
        reserved (no queue offer meanwhile) and returns to where it was if it does not take
        the contact."""
        agent = self._agent(agent_id)
        if agent.state not in (S.READY, S.NOT_READY):  # wrap-up: it finishes its notes first
            raise IllegalTransition(f"agent {agent_id} is {agent.state.value.replace('_', ' ')}")
        agent.prior_state, agent.prior_reason = agent.state, agent.reason
        agent.contact_id = contact_id
        out: list[Output] = [change_state(agent, S.RESERVED, now, trigger)]
        self.direct_offers[agent_id] = contact_id
        return out

    def direct_answered(
        self, agent_id: str, now: float, queue: str = "", kind: CallKind = CallKind.INTERNAL
    ) -> list[Output]:
        """The chosen agent took the contact: on call (a queue's when `queue` is given: it
        then wraps up afterwards and the call counts as handled)."""
        agent = self._agent(agent_id)
        contact = self.direct_offers.pop(agent_id, None)
        if contact is None or agent.state is not S.RESERVED:
            return []
        agent.missed_in_a_row = 0
        out: list[Output] = [change_state(agent, S.ON_CALL, now, "answer")]
        agent.contact_id = contact
        self.take_over(agent_id, queue, kind)
        return out

    def direct_failed(self, agent_id: str, now: float, why: str) -> list[Output]:
        """The chosen agent did not take the contact (`why`: no_answer, busy, reject,
        cancelled): back to its earlier state."""
        agent = self._agent(agent_id)
        if self.direct_offers.pop(agent_id, None) is None or agent.state is not S.RESERVED:
            return []
        return self._return_to_prior(agent, now, why)

    def take_over(self, agent_id: str, queue: str, kind: CallKind = CallKind.INTERNAL) -> None:
        """The agent (on call) now handles its contact as `queue`'s (a completed consultative
        transfer): wrap-up follows its hang-up. Without a queue it stays an internal call."""
        agent = self._agent(agent_id)
        if queue and queue in self.policies:
            agent.call_kind = CallKind.INBOUND
            self.contact_queue_of_agent[agent_id] = queue
        else:
            agent.call_kind = kind

    def start_direct_call(self, agent_id: str, now: float, kind: CallKind) -> list[Output]:
        """An internal or outbound call, allowed also when not ready (AG-2, AG-8)."""
        agent = self._agent(agent_id)
        if agent.state is S.RESERVED:
            raise IllegalTransition(f"agent {agent_id} is being offered a call")
        if agent.state in (S.READY, S.NOT_READY):
            agent.prior_state, agent.prior_reason = agent.state, agent.reason
        self.timers.cancel("wrap", agent_id)
        out: list[Output] = [change_state(agent, S.ON_CALL, now, f"{kind} call")]
        agent.call_kind = kind
        return out
