"""The ACD engine: event-driven dispatch of contacts to agents (R-1…R-8, AG-2, AG-5, AG-7).

Every input method takes the current time and returns the outputs it caused; nothing waits
or polls. Time-based rules (ring time-out, wrap-up end, skill escalation, last-agent window,
overflow) are timers: the caller sleeps until `next_deadline()` and calls `tick(now)`.
"""

from __future__ import annotations

import logging
import random
from collections import deque

from .agent_fsm import AgentStateChanged, IllegalTransition, change_state
from .direct import DirectOffers
from .metrics import QueueMetrics, QueueStats
from .model import (
    Agent,
    AgentState,
    CallKind,
    Candidate,
    Contact,
    ContactOutcome,
    Explanation,
    Media,
    QueuePolicy,
)
from .outputs import CancelOffer, ContactFinished, OfferContact, Output
from .overflows import Overflows
from .reachability import PhoneReach
from .selection import contact_order_key, eligible_agents, in_order, may_take, serves_queue
from .strategies import STRATEGIES, RankContext, validate_policy
from .timers import Timers

log = logging.getLogger(__name__)
S = AgentState


class UnknownQueue(KeyError):
    """A contact names a queue the ACD does not know."""


class UnknownAgent(KeyError):
    """A command names an agent the ACD does not know."""


class Acd(DirectOffers, Overflows, QueueMetrics, PhoneReach):
    """Agents, queues and waiting contacts of one icm; the single writer of ACD state."""

    def __init__(self, rng: random.Random | None = None) -> None:
        self.agents: dict[str, Agent] = {}
        self.policies: dict[str, QueuePolicy] = {}
        self.contacts: dict[str, Contact] = {}
        self.waiting: dict[str, dict[str, Contact]] = {}
        self.offers: dict[str, set[str]] = {}  # contact -> agents ringing
        self.members: dict[str, set[str]] = {}  # queue -> agents with its skills (any level)
        self.agent_queues: dict[str, set[str]] = {}
        self.contact_queue_of_agent: dict[str, str] = {}  # agent -> queue of its queue call
        self.direct_offers: dict[str, str] = {}  # agent -> contact ringing it outside queues
        self._rr_last: dict[str, str] = {}
        self._stats: dict[str, QueueStats] = {}
        self.timers = Timers()
        self._contact_seq = 0
        self.rng = rng or random.Random()

    # --- configuration -------------------------------------------------------------------
    def set_policy(self, policy: QueuePolicy, now: float) -> list[Output]:
        """Add or change a queue live; waiting contacts stay and are re-dispatched."""
        validate_policy(policy)
        self.policies[policy.name] = policy
        self.waiting.setdefault(policy.name, {})
        self._stats.setdefault(
            policy.name, QueueStats(deque(maxlen=200), deque(maxlen=200), deque(maxlen=200))
        )
        members = {a.agent_id for a in self.agents.values() if serves_queue(a, policy)}
        for agent_id in self.members.get(policy.name, set()) - members:
            self.agent_queues[agent_id].discard(policy.name)
        for agent_id in members:
            self.agent_queues.setdefault(agent_id, set()).add(policy.name)
        self.members[policy.name] = members
        for contact in self.waiting[policy.name].values():
            self._schedule_contact_timers(contact)
        return self._dispatch_queue(policy.name, now)

    def set_agent(
        self, agent_id: str, skills: dict[str, int], order: int = 0, reserve: bool = False
    ) -> None:
        """Add an agent or change its skills; its live state is kept."""
        agent = self.agents.get(agent_id) or Agent(agent_id, {})
        agent.skills, agent.order, agent.reserve = dict(skills), order, reserve
        self.agents[agent_id] = agent
        queues = {name for name, p in self.policies.items() if serves_queue(agent, p)}
        for name in self.agent_queues.get(agent_id, set()) - queues:
            self.members[name].discard(agent_id)
        for name in queues:
            self.members[name].add(agent_id)
        self.agent_queues[agent_id] = queues

    def change_agent(self, agent_id: str, skills: dict[str, int], now: float) -> list[Output]:
        """Skills changed live: a ready agent takes a waiting contact it now may, at once."""
        old = self.agents.get(agent_id)
        self.set_agent(agent_id, skills, old.order if old else 0, bool(old and old.reserve))
        agent = self.agents[agent_id]
        return self._dispatch_agent(agent, now) if agent.state is S.READY else []

    # --- agent commands ------------------------------------------------------------------
    def login(self, agent_id: str, now: float, ready: bool = True) -> list[Output]:
        agent = self._agent(agent_id)
        if agent.state in (S.RESERVED, S.ON_CALL, S.WRAP_UP):
            # already signed in and busy (e.g. a page signing in again after an icm restart):
            # never free an agent that is on a call; its choice applies when the call is over
            agent.prior_state = S.READY if ready else S.NOT_READY
            agent.prior_reason = "" if ready else "login"
            return []
        agent.missed_in_a_row = 0
        to = S.READY if ready else S.NOT_READY
        out: list[Output] = [change_state(agent, to, now, "login", "" if ready else "login")]
        return out + (self._dispatch_agent(agent, now) if ready else [])

    def logout(self, agent_id: str, now: float) -> list[Output]:
        agent = self._agent(agent_id)
        if agent.state is S.LOGGED_OUT:
            return []
        offered = agent.contact_id if agent.state is S.RESERVED else ""
        if self.direct_offers.pop(agent_id, None) is not None:
            offered = ""  # not a queue offer: nothing to re-route
        self.timers.cancel("wrap", agent_id)
        out: list[Output] = [change_state(agent, S.LOGGED_OUT, now, "logout")]
        if offered:
            out += self._release_offer(offered, agent_id, now)
        return out

    def set_ready(self, agent_id: str, now: float) -> list[Output]:
        agent = self._agent(agent_id)
        if agent.state in (S.ON_CALL, S.RESERVED):
            agent.prior_state = S.READY  # takes effect when the call ends
            return []
        if agent.state is S.LOGGED_OUT:
            raise IllegalTransition(f"agent {agent_id} is signed out")
        self.timers.cancel("wrap", agent_id)
        agent.missed_in_a_row = 0
        return [change_state(agent, S.READY, now, "ready"), *self._dispatch_agent(agent, now)]

    def set_not_ready(self, agent_id: str, now: float, reason: str = "") -> list[Output]:
        agent = self._agent(agent_id)
        if agent.state is S.ON_CALL:
            agent.prior_state, agent.prior_reason = S.NOT_READY, reason
            return []
        if agent.state is S.RESERVED and agent_id in self.direct_offers:
            agent.prior_state, agent.prior_reason = S.NOT_READY, reason
            return []
        if agent.state is S.RESERVED:
            return self.offer_failed(agent.contact_id, agent_id, now, "rejected_not_ready")
        if agent.state is S.LOGGED_OUT:
            raise IllegalTransition(f"agent {agent_id} is signed out")
        self.timers.cancel("wrap", agent_id)
        return [change_state(agent, S.NOT_READY, now, "not ready", reason)]

    def pick(self, agent_id: str, contact_id: str, now: float) -> list[Output]:
        """The agent takes a chosen caller waiting in one of its queues (AG-3), whatever the
        caller's rank: offered to it alone, now. Ready or not ready, never while busy."""
        agent = self._agent(agent_id)
        contact = self.contacts.get(contact_id)
        if contact is None or contact_id not in self.waiting.get(contact.queue, {}):
            raise IllegalTransition("that caller is no longer waiting")
        if contact.offered_to:
            raise IllegalTransition("that caller is ringing another agent")
        if contact.queue not in self.agent_queues.get(agent_id, ()):
            raise IllegalTransition(f"queue {contact.queue} is not one of yours")
        if agent.state not in (S.READY, S.NOT_READY):
            raise IllegalTransition(f"agent {agent_id} is {agent.state.value.replace('_', ' ')}")
        self.timers.cancel("wrap", agent_id)
        policy = self.policies[contact.queue]
        explanation = Explanation(
            "picked",
            policy.version,
            {},
            0,
            (Candidate(agent_id, 0.0),),
            (agent_id,),
            {},
            "picked by the agent",
        )
        return self._offer(contact, (agent_id,), explanation, now)

    # --- contacts ------------------------------------------------------------------------
    def enqueue(self, contact: Contact, now: float) -> list[Output]:
        policy = self.policies.get(contact.queue)
        if policy is None:
            raise UnknownQueue(contact.queue)
        if contact.contact_id in self.contacts:
            return []
        self._contact_seq += 1
        contact.sequence = self._contact_seq
        self.contacts[contact.contact_id] = contact
        was_busy = self._reserves_needed(contact.queue)
        self.waiting[contact.queue][contact.contact_id] = contact
        for rule in policy.overflow:
            if rule.expected_wait_over is not None and (
                self.expected_wait(contact.queue) > rule.expected_wait_over
            ):
                return self._overflow(contact, now, rule.target_kind, rule.target)
        self._schedule_contact_timers(contact)
        if not was_busy and self._reserves_needed(contact.queue):
            return self._dispatch_queue(contact.queue, now)  # reserves join: serve the head
        return self._dispatch_contact(contact, now)

    def convert_to_callback(self, contact_id: str, now: float) -> bool:
        """The caller asked to be called back (item 9): the contact keeps its place in the
        queue (same arrival order and priority) and is served by reserving an agent first,
        then dialling the customer. False when it is already being offered."""
        contact = self.contacts.get(contact_id)
        if contact is None or contact.offered_to:
            return False
        contact.media = Media.CALLBACK
        log.info(
            "contact %s (%s): call-back requested, keeps position %d",
            contact_id,
            contact.queue,
            self.position(contact_id, now),
        )
        return True

    def abandon(self, contact_id: str, now: float) -> list[Output]:
        """The customer left (hung up while waiting or ringing)."""
        contact = self.contacts.get(contact_id)
        if contact is None:
            return []
        out, freed = self._withdraw_offer(contact, now, "caller left")
        out += self._finish(contact, now, ContactOutcome.ABANDONED)
        for agent in freed:
            out += self._dispatch_agent(agent, now)
        return out

    def offer_answered(self, contact_id: str, agent_id: str, now: float) -> list[Output]:
        agent = self._agent(agent_id)
        contact = self.contacts.get(contact_id)
        if contact is None or agent.state is not S.RESERVED or agent.contact_id != contact_id:
            log.warning("agent %s answered %s, which it was not offered", agent_id, contact_id)
            return []
        ringing = self.offers.pop(contact_id, set())
        ringing.discard(agent_id)
        out: list[Output] = []
        if ringing:
            out.append(CancelOffer(contact_id, tuple(sorted(ringing)), "answered by another agent"))
            for other_id in sorted(ringing):
                other = self.agents[other_id]
                out.append(change_state(other, S.READY, now, "offer taken"))
        agent.missed_in_a_row = 0
        out.append(change_state(agent, S.ON_CALL, now, "answer"))
        agent.contact_id = contact_id
        agent.call_kind = CallKind.INBOUND
        self.contact_queue_of_agent[agent_id] = contact.queue
        out += self._finish(contact, now, ContactOutcome.ANSWERED, agent_id)
        for other_id in sorted(ringing):
            out += self._dispatch_agent(self.agents[other_id], now)
        return out

    def offer_failed(self, contact_id: str, agent_id: str, now: float, why: str) -> list[Output]:
        """`why`: no_answer | busy | rejected | rejected_not_ready (AG-5)."""
        agent = self._agent(agent_id)
        contact = self.contacts.get(contact_id)
        if contact is None or agent.state is not S.RESERVED or agent.contact_id != contact_id:
            return []
        policy = self.policies[contact.queue]
        ringing = self.offers.get(contact_id, set())
        ringing.discard(agent_id)
        if not ringing:
            self.offers.pop(contact_id, None)
            contact.offered_to = frozenset()
            self.timers.cancel("ring", contact_id)
        contact.declined_by.add(agent_id)
        out: list[Output] = []
        if why in ("no_answer", "busy"):
            agent.missed_in_a_row += 1
            if agent.missed_in_a_row >= policy.max_missed:
                out.append(change_state(agent, S.NOT_READY, now, why, "no answer"))
            else:
                out.append(change_state(agent, S.READY, now, why))
        elif why == "rejected_not_ready":
            out.append(change_state(agent, S.NOT_READY, now, "reject", "rejected"))
        else:
            out.append(change_state(agent, S.READY, now, "reject"))
        if not ringing:
            # back in the queue: serve the queue in priority order, not this contact first
            out += self._overdue_overflow(contact, now) or self._dispatch_queue(contact.queue, now)
        if _is_ready(agent):  # (change_state moved it on)
            out += self._dispatch_agent(agent, now)
        return out

    def call_ended(self, agent_id: str, now: float) -> list[Output]:
        """The agent's call is over: wrap-up after a queue call, else back to its prior state."""
        agent = self._agent(agent_id)
        if agent.state is not S.ON_CALL:
            return []
        agent.talk_seconds += now - agent.state_since
        queue = self.contact_queue_of_agent.pop(agent_id, "")
        if queue and agent.call_kind is CallKind.INBOUND:
            agent.calls_handled += 1
            policy = self.policies.get(queue)
            if policy is not None and policy.wrap_up_seconds > 0:
                self._stats[queue].handle.append(now - agent.state_since + policy.wrap_up_seconds)
                out: list[Output] = [change_state(agent, S.WRAP_UP, now, "hang-up")]
                self.timers.set(now + policy.wrap_up_seconds, "wrap", agent_id)
                return out
            self._stats[queue].handle.append(now - agent.state_since)
        return self._return_to_prior(agent, now, "hang-up")

    def extend_wrap_up(self, agent_id: str, seconds: float, now: float) -> list[Output]:
        agent = self._agent(agent_id)
        if agent.state is S.WRAP_UP:
            due = max(self.timers.due("wrap", agent_id) or now, now) + seconds
            self.timers.set(due, "wrap", agent_id)
        return []

    def end_wrap_up(self, agent_id: str, now: float) -> list[Output]:
        agent = self._agent(agent_id)
        if agent.state is not S.WRAP_UP:
            return []
        self.timers.cancel("wrap", agent_id)
        return self._return_to_prior(agent, now, "wrap-up done")

    # --- time ----------------------------------------------------------------------------
    def next_deadline(self) -> float | None:
        return self.timers.next_deadline()

    def tick(self, now: float) -> list[Output]:
        out: list[Output] = []
        for kind, key in self.timers.pop_due(now):
            out += self._fire(kind, key, now)
        return out

    def _fire(self, kind: str, key: str, now: float) -> list[Output]:
        if kind == "wrap":
            agent = self.agents.get(key)
            if agent is not None and agent.state is S.WRAP_UP:
                return self._return_to_prior(agent, now, "wrap-up time")
            return []
        contact_id = key.split("|", 1)[0]
        contact = self.contacts.get(contact_id)
        if contact is None:
            return []
        if kind == "ring":
            out: list[Output] = []
            for agent_id in sorted(self.offers.get(contact_id, set())):  # the phone is stopped
                out.append(CancelOffer(contact_id, (agent_id,), "no answer"))  # (an answer lost)
                out += self.offer_failed(contact_id, agent_id, now, "no_answer")
            return out
        if kind == "overflow" and not self.offers.get(contact_id):
            return self._overdue_overflow(contact, now)
        if kind == "recheck" and not self.offers.get(contact_id):
            return self._dispatch_contact(contact, now)
        return []

    # --- internals -----------------------------------------------------------------------
    def _agent(self, agent_id: str) -> Agent:
        try:
            return self.agents[agent_id]
        except KeyError:
            raise UnknownAgent(agent_id) from None

    def _reserves_needed(self, queue: str) -> bool:
        policy = self.policies[queue]
        if policy.reserve_threshold is not None:
            waiting = sum(1 for c in self.waiting[queue].values() if not c.offered_to)
            if waiting > policy.reserve_threshold:
                return True
        if policy.reserve_service_level is not None:
            level = self.service_level(queue)
            if level is not None and level < policy.reserve_service_level:
                return True
        return False

    def _dispatch_contact(self, contact: Contact, now: float) -> list[Output]:
        if contact.offered_to or contact.contact_id not in self.contacts:
            return []
        policy = self.policies[contact.queue]
        members = map(self.agents.__getitem__, self.members[contact.queue])
        elig = eligible_agents(
            policy, contact, members, now, self._reserves_needed(contact.queue), self.agents
        )
        if not elig.agents:
            return []
        ctx = RankContext(
            policy, contact, now, elig.required, self._rr_last.get(contact.queue, ""), self.rng
        )
        ranked = STRATEGIES[policy.strategy](elig.agents, ctx)
        chosen = ranked if policy.strategy == "ring_all" else ranked[:1]
        explanation = Explanation(
            strategy=policy.strategy,
            policy_version=policy.version,
            required_levels=elig.required,
            escalation_step=elig.escalation_step,
            chosen=tuple(chosen),
            eligible=tuple(c.agent_id for c in ranked),
            excluded=elig.excluded,
            rule=elig.rule,
        )
        return self._offer(contact, tuple(c.agent_id for c in chosen), explanation, now)

    def _offer(
        self, contact: Contact, agent_ids: tuple[str, ...], explanation: Explanation, now: float
    ) -> list[Output]:
        policy = self.policies[contact.queue]
        out: list[Output] = []
        for agent_id in agent_ids:
            agent = self.agents[agent_id]
            if agent.state is S.READY:
                agent.prior_state = S.READY
            elif agent.state is S.NOT_READY:  # it picked this contact itself (AG-3)
                agent.prior_state, agent.prior_reason = S.NOT_READY, agent.reason
            out.append(change_state(agent, S.RESERVED, now, "offer"))
            agent.contact_id = contact.contact_id
        self.offers[contact.contact_id] = set(agent_ids)
        contact.offered_to = frozenset(agent_ids)
        if explanation.strategy != "picked":
            self._rr_last[contact.queue] = agent_ids[0]
        self.timers.set(now + policy.ring_timeout, "ring", contact.contact_id)
        log.info(
            "contact %s (%s): offered to %s by %s",
            contact.contact_id,
            contact.queue,
            ",".join(agent_ids),
            policy.strategy,
        )
        out.insert(
            0,
            OfferContact(
                contact.contact_id,
                contact.queue,
                agent_ids,
                policy.ring_timeout,
                explanation,
                contact.ani,
                dict(contact.attached),
                str(contact.media),
            ),
        )
        return out

    def _dispatch_agent(self, agent: Agent, now: float) -> list[Output]:
        """A ready agent looks for work: the best waiting contact it may take, repeatedly."""
        out: list[Output] = []
        tried: set[str] = set()
        while agent.state is S.READY:
            contact = self._best_contact_for(agent, now, tried)
            if contact is None:
                break
            tried.add(contact.contact_id)
            out += self._dispatch_contact(contact, now)
        return out

    def _best_contact_for(self, agent: Agent, now: float, tried: set[str]) -> Contact | None:
        best: tuple[tuple[float, int], Contact] | None = None
        for queue in self.agent_queues.get(agent.agent_id, ()):
            policy = self.policies[queue]
            reserves = policy.is_reserve(agent) and self._reserves_needed(queue)
            fits: dict[int, bool] = {}
            for contact in in_order(policy, self.waiting[queue].values(), now):
                if contact.offered_to or contact.contact_id in tried:
                    continue
                if may_take(policy, contact, agent, now, reserves, self.agents, fits):
                    key = contact_order_key(policy, contact, now)
                    if best is None or key < best[0]:
                        best = (key, contact)
                    break  # later contacts of this queue rank lower
        return best[1] if best else None

    def _dispatch_queue(self, queue: str, now: float) -> list[Output]:
        out: list[Output] = []
        policy = self.policies[queue]
        members = map(self.agents.__getitem__, self.members[queue])
        ready = [agent for agent in members if agent.state is S.READY]
        for contact in in_order(policy, self.waiting[queue].values(), now):
            # offers only take ready members: once none is left, no contact can be offered
            # (a missed offer re-dispatches its queue: each contact's explanation, with every
            # member's reason, was built for nothing)
            ready = [agent for agent in ready if agent.state is S.READY]
            if not ready:
                break
            out += self._dispatch_contact(contact, now)
        return out

    def _withdraw_offer(
        self, contact: Contact, now: float, reason: str
    ) -> tuple[list[Output], list[Agent]]:
        """Stop ringing every agent offered `contact`; returns the outputs and freed agents."""
        ringing = self.offers.pop(contact.contact_id, set())
        contact.offered_to = frozenset()
        self.timers.cancel("ring", contact.contact_id)
        if not ringing:
            return [], []
        out: list[Output] = [CancelOffer(contact.contact_id, tuple(sorted(ringing)), reason)]
        freed = []
        for agent_id in sorted(ringing):
            agent = self.agents[agent_id]
            if agent.state is S.RESERVED and agent.contact_id == contact.contact_id:
                out.append(change_state(agent, S.READY, now, reason))
                freed.append(agent)
        return out, freed

    def _release_offer(self, contact_id: str, agent_id: str, now: float) -> list[Output]:
        """`agent_id` no longer rings for the contact (it left): re-route if nobody else does."""
        contact = self.contacts.get(contact_id)
        if contact is None:
            return []
        ringing = self.offers.get(contact_id, set())
        ringing.discard(agent_id)
        out: list[Output] = [CancelOffer(contact_id, (agent_id,), "agent signed out")]
        if not ringing:
            self.offers.pop(contact_id, None)
            contact.offered_to = frozenset()
            self.timers.cancel("ring", contact_id)
            out += self._dispatch_contact(contact, now)
        return out

    def _finish(
        self,
        contact: Contact,
        now: float,
        outcome: ContactOutcome,
        agent_id: str = "",
        target_kind: str = "",
        target: str = "",
    ) -> list[Output]:
        self.contacts.pop(contact.contact_id, None)
        self.waiting[contact.queue].pop(contact.contact_id, None)
        for kind in ("ring", "overflow"):  # recheck timers find no contact and do nothing
            self.timers.cancel(kind, contact.contact_id)
        waited = now - contact.enqueued_at
        stats = self._stats[contact.queue]
        if outcome is ContactOutcome.ANSWERED:
            stats.answered.append((now, waited))
        elif outcome is ContactOutcome.ABANDONED:
            stats.abandoned.append((now, waited))
        return [
            ContactFinished(
                contact.contact_id,
                contact.queue,
                outcome,
                waited,
                agent_id,
                target_kind,
                target,
                str(contact.media),
            )
        ]

    def _return_to_prior(self, agent: Agent, now: float, trigger: str) -> list[Output]:
        to = agent.prior_state if agent.prior_state in (S.READY, S.NOT_READY) else S.READY
        reason = agent.prior_reason if to is S.NOT_READY else ""
        out: list[Output] = [change_state(agent, to, now, trigger, reason)]
        if to is S.READY:
            out += self._dispatch_agent(agent, now)
        return out

    def _schedule_contact_timers(self, contact: Contact) -> None:
        policy = self.policies[contact.queue]
        times = [contact.enqueued_at + step.after_seconds for step in policy.escalation]
        if contact.last_agent_id and policy.last_agent_seconds > 0:
            times.append(contact.enqueued_at + policy.last_agent_seconds)
        for i, due in enumerate(sorted(times)):
            self.timers.set(due, "recheck", f"{contact.contact_id}|{i}")
        deadlines = [
            contact.enqueued_at + r.after_seconds
            for r in policy.overflow
            if r.after_seconds is not None
        ]
        if policy.max_wait is not None:
            deadlines.append(contact.enqueued_at + policy.max_wait)
        if deadlines:
            self.timers.set(min(deadlines), "overflow", contact.contact_id)


def _is_ready(agent: Agent) -> bool:
    return agent.state is S.READY


__all__ = ["Acd", "AgentStateChanged", "UnknownAgent", "UnknownQueue"]
