"""Routing strategies: rank the eligible agents for one contact (R-1, R-5).

Each strategy is a pure function `(agents, context) -> [Candidate]`, best first. Policies are
validated here too, so a bad strategy or parameter is refused with a clear message.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .model import Agent, Candidate, Contact, QueuePolicy
from .overflows import NEEDS_TARGET, TARGET_KINDS


@dataclass(frozen=True, slots=True)
class RankContext:
    policy: QueuePolicy
    contact: Contact
    now: float
    required: dict[str, int]  # skill -> level after escalation
    last_offered: str  # the queue's last offered agent (round robin)
    rng: random.Random


Strategy = Callable[[Sequence[Agent], RankContext], list[Candidate]]


def longest_idle(agents: Sequence[Agent], ctx: RankContext) -> list[Candidate]:
    ranked = sorted(agents, key=lambda a: (a.idle_since, a.agent_id))
    return [Candidate(a.agent_id, ctx.now - a.idle_since, "idle seconds") for a in ranked]


def round_robin(agents: Sequence[Agent], ctx: RankContext) -> list[Candidate]:
    ordered = sorted(agents, key=lambda a: a.agent_id)
    after = [a for a in ordered if a.agent_id > ctx.last_offered]
    before = [a for a in ordered if a.agent_id <= ctx.last_offered]
    return [Candidate(a.agent_id, i, "turn") for i, a in enumerate(after + before)]


def top_down(agents: Sequence[Agent], ctx: RankContext) -> list[Candidate]:
    """The queue's fixed order (`agent_order`, lowest first); agents it does not place come
    after, by their own `order` then ID."""
    placed = ctx.policy.agent_order

    def key(a: Agent) -> tuple[int, int, str]:
        position = placed.get(a.agent_id)
        return (0, position, a.agent_id) if position is not None else (1, a.order, a.agent_id)

    ranked = sorted(agents, key=key)
    return [
        Candidate(a.agent_id, placed.get(a.agent_id, a.order), _placed(placed, a)) for a in ranked
    ]


def _placed(placed: dict[str, int], agent: Agent) -> str:
    return "position" if agent.agent_id in placed else "no position in the queue (after others)"


def ring_all(agents: Sequence[Agent], ctx: RankContext) -> list[Candidate]:
    ranked = sorted(agents, key=lambda a: a.agent_id)
    return [Candidate(a.agent_id, 0, "rings with all") for a in ranked]


def least_talk_time(agents: Sequence[Agent], ctx: RankContext) -> list[Candidate]:
    ranked = sorted(agents, key=lambda a: (a.talk_seconds, a.idle_since, a.agent_id))
    return [Candidate(a.agent_id, a.talk_seconds, "talk seconds") for a in ranked]


def fewest_calls(agents: Sequence[Agent], ctx: RankContext) -> list[Candidate]:
    ranked = sorted(agents, key=lambda a: (a.calls_handled, a.idle_since, a.agent_id))
    return [Candidate(a.agent_id, a.calls_handled, "calls handled") for a in ranked]


def random_agent(agents: Sequence[Agent], ctx: RankContext) -> list[Candidate]:
    ranked = sorted(agents, key=lambda a: a.agent_id)
    ctx.rng.shuffle(ranked)
    return [Candidate(a.agent_id, i, "random draw") for i, a in enumerate(ranked)]


def skills_best_match(agents: Sequence[Agent], ctx: RankContext) -> list[Candidate]:
    """Highest levels in the contact's skills first; `skills_best_match_closest` instead takes
    the smallest surplus over the required levels, keeping experts free. Ties: longest idle."""

    def score(agent: Agent) -> float:
        return float(sum(agent.skills.get(skill, 0) for skill in ctx.required))

    surplus_first = _prefer_closest(ctx.policy)
    if surplus_first:
        ranked = sorted(agents, key=lambda a: (score(a), a.idle_since, a.agent_id))
    else:
        ranked = sorted(agents, key=lambda a: (-score(a), a.idle_since, a.agent_id))
    return [Candidate(a.agent_id, score(a), "sum of skill levels") for a in ranked]


def _prefer_closest(policy: QueuePolicy) -> bool:
    return policy.strategy == "skills_best_match_closest"


STRATEGIES: dict[str, Strategy] = {
    "longest_idle": longest_idle,
    "round_robin": round_robin,
    "top_down": top_down,
    "ring_all": ring_all,
    "least_talk_time": least_talk_time,
    "fewest_calls": fewest_calls,
    "random": random_agent,
    "skills_best_match": skills_best_match,
    "skills_best_match_closest": skills_best_match,
}
OVERFLOW_TARGETS = frozenset(TARGET_KINDS)


class InvalidPolicy(ValueError):
    """A queue policy that cannot work; the message names the bad field."""


def validate_policy(policy: QueuePolicy) -> QueuePolicy:
    """Return `policy` unchanged, or raise InvalidPolicy naming what is wrong."""
    problems = []
    if policy.strategy not in STRATEGIES:
        problems.append(f"strategy {policy.strategy!r} is unknown (one of {sorted(STRATEGIES)})")
    if policy.ring_timeout <= 0:
        problems.append("ring_timeout must be > 0 seconds")
    if policy.wrap_up_seconds < 0:
        problems.append("wrap_up_seconds must be >= 0")
    if policy.max_missed < 1:
        problems.append("max_missed must be >= 1")
    if policy.priority_mode not in ("strict", "weighted"):
        problems.append("priority_mode must be 'strict' or 'weighted'")
    if policy.priority_weight_seconds <= 0:
        problems.append("priority_weight_seconds must be > 0")
    if policy.occupancy_cap is not None and not 0 < policy.occupancy_cap <= 1:
        problems.append("occupancy_cap must be between 0 (excluded) and 1")
    if policy.occupancy_window <= 0:
        problems.append("occupancy_window must be > 0 seconds")
    for skill, level in policy.skills.items():
        if not 1 <= level <= 10:
            problems.append(f"skill {skill!r}: minimum level {level} is not within 1-10")
    afters = [step.after_seconds for step in policy.escalation]
    if afters != sorted(afters) or any(a <= 0 for a in afters):
        problems.append("escalation steps must have increasing after_seconds > 0")
    if any(step.relax_levels < 1 for step in policy.escalation):
        problems.append("escalation relax_levels must be >= 1")
    for rule in policy.overflow:
        if rule.target_kind not in OVERFLOW_TARGETS:
            problems.append(
                f"overflow target {rule.target_kind!r} is not one of {sorted(OVERFLOW_TARGETS)}"
            )
        if rule.after_seconds is None and rule.expected_wait_over is None:
            problems.append("an overflow rule needs after_seconds or expected_wait_over")
        if rule.target_kind in NEEDS_TARGET and not rule.target:
            problems.append(f"overflow to a {rule.target_kind} needs a target")
        if rule.target_kind in ("extension", "number") and rule.target:
            if not re.fullmatch(r"\+?[0-9*#]{1,32}", rule.target):
                problems.append(f"overflow target {rule.target!r} is not a phone number")
        if rule.target_kind == "queue" and rule.target == policy.name:
            problems.append("a queue cannot overflow to itself")
    if policy.announce_seconds < 0:
        problems.append("announce_seconds must be >= 0 (0 turns announcements off)")
    if policy.reserve_service_level is not None and not 0 < policy.reserve_service_level <= 1:
        problems.append("reserve_service_level must be between 0 and 1")
    if policy.reserve_threshold is not None and policy.reserve_threshold < 0:
        problems.append("reserve_threshold must be >= 0 callers waiting")
    if any(position < 0 for position in policy.agent_order.values()):
        problems.append("an agent's top-down position must be >= 0")
    if problems:
        raise InvalidPolicy(f"queue {policy.name}: " + "; ".join(problems))
    return policy
