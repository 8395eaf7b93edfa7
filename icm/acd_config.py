"""Build the ACD's queue policies and agents from CallCenterDB (Queue, QueueSkill, Agent)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from agents.models import Agent, AgentSkill
from icm.domain.acd.model import EscalationStep, Overflow, QueuePolicy
from icm.domain.acd.strategies import InvalidPolicy, validate_policy
from icm.models import Queue, QueueAgent

# set as the queue's own fields, no longer in its strategy parameters
MOVED_TO_FIELDS = {
    "reserve_threshold": "reserve threshold",
    "reserve_service_level": "reserve service level (percent)",
}

PARAMETERS = {
    "ring_timeout": float,
    "max_missed": int,
    "priority_mode": str,
    "priority_weight_seconds": float,
    "last_agent_seconds": float,
    "occupancy_cap": float,
    "occupancy_window": float,
    "announce_seconds": float,
}


def policy_from_queue(
    queue: Queue,
    skills: dict[str, int],
    version: int = 1,
    members: Iterable[tuple[str, int | None, bool]] = (),
) -> QueuePolicy:
    """The QueuePolicy of a Queue row and its agents' settings (login ID, top-down position,
    reserve); raises InvalidPolicy with a clear message."""
    params: dict[str, Any] = dict(queue.strategy_parameters or {})
    moved = sorted(set(params) & set(MOVED_TO_FIELDS))
    if moved:
        raise InvalidPolicy(
            f"queue {queue.name}: set "
            + ", ".join(f"{name} in the queue's {MOVED_TO_FIELDS[name]} field" for name in moved)
            + ", not in strategy_parameters"
        )
    unknown = set(params) - set(PARAMETERS) - {"escalation", "overflow", "greetings"}
    if unknown:
        raise InvalidPolicy(f"queue {queue.name}: unknown parameters {sorted(unknown)}")
    try:
        fields = {name: PARAMETERS[name](params[name]) for name in PARAMETERS if name in params}
        escalation = tuple(
            EscalationStep(float(step["after_seconds"]), int(step["relax_levels"]))
            for step in params.get("escalation", [])
        )
        overflow = tuple(
            Overflow(
                target_kind=str(rule["target_kind"]),
                target=str(rule.get("target", "")),
                after_seconds=_opt_float(rule.get("after_seconds")),
                expected_wait_over=_opt_float(rule.get("expected_wait_over")),
            )
            for rule in params.get("overflow", [])
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidPolicy(f"queue {queue.name}: bad strategy parameters ({exc})") from exc
    return validate_policy(
        QueuePolicy(
            name=queue.name,
            strategy=queue.strategy,
            skills=skills,
            wrap_up_seconds=float(queue.wrap_up_seconds),
            service_level_seconds=float(queue.service_level_seconds),
            max_wait=float(queue.max_wait_seconds) if queue.max_wait_seconds else None,
            escalation=escalation,
            overflow=overflow,
            version=version,
            reserve_threshold=queue.reserve_threshold,
            reserve_service_level=(
                queue.reserve_service_level / 100 if queue.reserve_service_level else None
            ),
            agent_order={login: pos for login, pos, _ in members if pos is not None},
            reserve_agents=frozenset(login for login, _, reserve in members if reserve),
            **fields,
        )
    )


def _opt_float(value: Any) -> float | None:
    return None if value in (None, "") else float(value)


def load_policies() -> tuple[list[QueuePolicy], dict[str, str]]:
    """Every enabled queue's policy, and the queues refused with why."""
    policies, refused = [], {}
    queues = Queue.objects.filter(enabled=True).prefetch_related(
        "required_skills__skill", "agent_settings__agent"
    )
    for queue in queues:
        skills = {qs.skill.name: qs.minimum_level for qs in queue.required_skills.all()}
        members = [_member(row) for row in queue.agent_settings.all()]
        try:
            policies.append(policy_from_queue(queue, skills, members=members))
        except InvalidPolicy as exc:
            refused[queue.name] = str(exc)
    return policies, refused


def load_agents() -> list[tuple[str, dict[str, int], str]]:
    """(login_id, skills, extension number) of every active agent."""
    skills: dict[int, dict[str, int]] = {}
    for row in AgentSkill.objects.select_related("skill"):
        skills.setdefault(row.agent_id, {})[row.skill.name] = row.level
    return [
        (
            agent.login_id,
            skills.get(agent.id, {}),
            agent.extension.number if agent.extension else "",
        )
        for agent in Agent.objects.filter(active=True).select_related("extension")
    ]


def load_policy(name: str) -> QueuePolicy | None:
    """One enabled queue's policy (None when missing or disabled); InvalidPolicy if bad."""
    queue = Queue.objects.filter(name=name, enabled=True).first()
    if queue is None:
        return None
    skills = {
        qs.skill.name: qs.minimum_level for qs in queue.required_skills.select_related("skill")
    }
    members = [_member(row) for row in queue.agent_settings.select_related("agent")]
    return policy_from_queue(queue, skills, members=members)


def _member(row: QueueAgent) -> tuple[str, int | None, bool]:
    return row.agent.login_id, row.position, row.reserve


def load_agent(login_id: str) -> tuple[dict[str, int], str] | None:
    """(skills, extension number) of one active agent, or None."""
    agent = Agent.objects.filter(login_id=login_id, active=True).select_related("extension").first()
    if agent is None:
        return None
    skills = {s.skill.name: s.level for s in agent.agent_skills.select_related("skill")}
    return skills, agent.extension.number if agent.extension else ""


def load_gateway() -> str | None:
    """The trunk used to dial customers back (the first enabled gateway)."""
    from icm.models import Gateway

    return (
        Gateway.objects.filter(enabled=True).order_by("id").values_list("name", flat=True).first()
    )
