"""Who may take a contact, and which contact an agent should take next (R-3…R-8)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .agent_fsm import occupancy
from .model import Agent, AgentState, Contact, QueuePolicy


@dataclass(frozen=True, slots=True)
class Eligibility:
    agents: list[Agent]
    excluded: dict[str, str]
    required: dict[str, int]
    escalation_step: int
    rule: str


def escalation(policy: QueuePolicy, waited: float) -> tuple[int, int]:
    """(step number, levels relaxed) reached after waiting `waited` seconds."""
    step, relax = 0, 0
    for i, rule in enumerate(policy.escalation, start=1):
        if waited >= rule.after_seconds:
            step, relax = i, rule.relax_levels
    return step, relax


def required_levels(policy: QueuePolicy, contact: Contact, relax: int) -> dict[str, int]:
    merged = dict(policy.skills)
    for skill, level in contact.required_skills.items():
        merged[skill] = max(level, merged.get(skill, 0))
    return {skill: max(1, level - relax) for skill, level in merged.items()}


def has_skills(agent: Agent, required: dict[str, int]) -> bool:
    skills = agent.skills
    return all(skills.get(skill, 0) >= level for skill, level in required.items())


def serves_queue(agent: Agent, policy: QueuePolicy) -> bool:
    """An agent serves a queue when it has every skill the queue needs, at any level."""
    return has_skills(agent, dict.fromkeys(policy.skills, 1))


def eligible_agents(
    policy: QueuePolicy,
    contact: Contact,
    members: Iterable[Agent],
    now: float,
    reserves_needed: bool,
    agents_by_id: dict[str, Agent],
) -> Eligibility:
    """The READY agents that may be offered `contact` now, and why the others may not."""
    waited = now - contact.enqueued_at
    step, relax = escalation(policy, waited)
    required = required_levels(policy, contact, relax)
    excluded: dict[str, str] = {}
    able: list[Agent] = []
    below = ""  # the skill-level reason, written once
    ready = AgentState.READY
    for agent in members:
        if agent.state is not ready:
            excluded[agent.agent_id] = str(agent.state)
        elif agent.unreachable:
            excluded[agent.agent_id] = agent.unreachable
        elif not has_skills(agent, required):
            below = below or "skill levels below " + ",".join(
                f"{s}>={lvl}" for s, lvl in required.items()
            )
            excluded[agent.agent_id] = below
        elif not reserves_needed and policy.is_reserve(agent):
            excluded[agent.agent_id] = _not_busy(policy)
        else:
            able.append(agent)
    rule = ""
    last = agents_by_id.get(contact.last_agent_id) if contact.last_agent_id else None
    if (
        last is not None
        and waited < policy.last_agent_seconds
        and last.state is not AgentState.LOGGED_OUT
        and has_skills(last, required)
    ):
        rule = f"last agent {last.agent_id} (waiting up to {policy.last_agent_seconds:.0f}s)"
        for agent in able:
            if agent is not last:
                excluded[agent.agent_id] = "waiting for the customer's last agent"
        able = [last] if last in able else []
    if contact.declined_by:
        fresh = [a for a in able if a.agent_id not in contact.declined_by]
        if fresh:
            for agent in able:
                if agent.agent_id in contact.declined_by:
                    excluded[agent.agent_id] = "already missed or rejected this contact"
            able = fresh
    if policy.occupancy_cap is not None and len(able) > 1:
        under = [
            a for a in able if occupancy(a, now, policy.occupancy_window) < policy.occupancy_cap
        ]
        if under:
            for agent in able:
                if agent not in under:
                    excluded[agent.agent_id] = f"occupancy over {policy.occupancy_cap:.0%}"
            able = under
            rule = rule or f"fair distribution: occupancy cap {policy.occupancy_cap:.0%}"
    return Eligibility(able, excluded, required, step, rule)


def _not_busy(policy: QueuePolicy) -> str:
    """Why a reserve agent is left out: the rule it waits for."""
    when = []
    if policy.reserve_threshold is not None:
        when.append(f"more than {policy.reserve_threshold} waiting")
    if policy.reserve_service_level is not None:
        when.append(f"service level below {policy.reserve_service_level:.0%}")
    return "reserve agent, queue not busy" + (f" (joins at {' or '.join(when)})" if when else "")


def may_take(
    policy: QueuePolicy,
    contact: Contact,
    agent: Agent,
    now: float,
    reserves_needed: bool,
    agents_by_id: dict[str, Agent],
    fits: dict[int, bool],
) -> bool:
    """Whether `agent` alone may be offered `contact` now: the answer of
    `bool(eligible_agents(policy, contact, [agent], …).agents)` without building the
    explanation (a ready agent looking for work asks it of each waiting contact of its
    queues: the routing decision's hot path). `fits` caches, for one agent and one queue,
    whether its skills meet the queue's own levels relaxed by n (contacts that require no
    skills of their own)."""
    if agent.state is not AgentState.READY or agent.unreachable:
        return False
    waited = now - contact.enqueued_at
    relax = escalation(policy, waited)[1]
    required: dict[str, int] | None = None
    if contact.required_skills:
        required = required_levels(policy, contact, relax)
        if not has_skills(agent, required):
            return False
    else:
        fit = fits.get(relax)
        if fit is None:
            fit = fits[relax] = has_skills(agent, required_levels(policy, contact, relax))
        if not fit:
            return False
    if not reserves_needed and policy.is_reserve(agent):
        return False
    last = agents_by_id.get(contact.last_agent_id) if contact.last_agent_id else None
    if (
        last is not None
        and waited < policy.last_agent_seconds
        and last.state is not AgentState.LOGGED_OUT
        and has_skills(
            last, required if required is not None else required_levels(policy, contact, relax)
        )
    ):
        return last == agent  # only the customer's last agent is offered it meanwhile
    # declined_by and the occupancy cap only choose among several able agents: one stays
    return True


def contact_order_key(policy: QueuePolicy, contact: Contact, now: float) -> tuple[float, int]:
    """Sort key, smallest first: strict priority then arrival, or weighted priority + wait."""
    if policy.priority_mode == "weighted":
        score = contact.priority * policy.priority_weight_seconds + (now - contact.enqueued_at)
        return (-score, contact.sequence)
    return (-float(contact.priority), contact.sequence)


def in_order(policy: QueuePolicy, contacts: Iterable[Contact], now: float) -> list[Contact]:
    """`contacts` sorted by `contact_order_key` (the same keys and the same stable order),
    without a Python call per contact."""
    contacts = list(contacts)
    if policy.priority_mode == "weighted":
        weight = policy.priority_weight_seconds
        keys = [(-(c.priority * weight + (now - c.enqueued_at)), c.sequence) for c in contacts]
    else:
        keys = [(-float(c.priority), c.sequence) for c in contacts]
    return [contacts[i] for i in sorted(range(len(contacts)), key=keys.__getitem__)]
