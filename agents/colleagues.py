"""What an agent may do to a colleague (AG-8, AG-19): call it by agent ID, and — with the
permission an administrator grants (`Agent.may_monitor_colleagues`) — listen to or barge into
the call of a colleague of its own work groups. Checked here, carried out by icm; every
listen or barge attempt, done or refused, is written to the audit log."""

from __future__ import annotations

import re
from typing import Any

from agents.models import Agent
from agents.placement import switch_of
from icm import client as icm
from icm.bus.commands import CommandError
from supervision.actions import audit
from supervision.models import AuditEntry
from supervision.roles import AGENT

AGENT_ID = re.compile(r"[A-Za-z0-9_.-]{1,32}")
MONITOR_MODES = ("listen", "barge")


class ColleagueRefused(PermissionError):
    """Not allowed (or not possible) for this agent; the message says why."""


class ColleagueNotFound(LookupError):
    """No such active agent."""


class BadColleagueRequest(ValueError):
    """The request is not well formed; the message says what is expected."""


def colleague(login_id: Any) -> Agent:
    target = str(login_id or "").strip()
    if not AGENT_ID.fullmatch(target):
        raise BadColleagueRequest('give the colleague\'s agent ID as {"target": "…"}')
    found = Agent.objects.filter(login_id=target, active=True).select_related("extension").first()
    if found is None:
        raise ColleagueNotFound(f"there is no agent {target!r}")
    return found


def call_colleague(agent: Agent, target: Any) -> dict[str, Any]:
    """Ring the agent's phone, then the colleague's (icm refuses a colleague who is not signed
    in or is busy: a CommandError with the reason)."""
    peer = colleague(target)
    if peer.pk == agent.pk:
        raise ColleagueRefused("you cannot call yourself")
    if not agent.extension_id:
        raise ColleagueRefused("you have no phone (extension) to call from")
    if not peer.extension_id:
        raise ColleagueRefused(f"agent {peer.login_id} has no phone")
    switch = switch_of(agent)
    if switch_of(peer) != switch:
        raise ColleagueRefused(f"agent {peer.login_id} works on another switch")
    return icm.agent_call(switch, agent.login_id, "call_agent", target=peer.login_id)


def same_team(agent: Agent, peer: Agent) -> bool:
    return peer.work_groups.filter(pk__in=agent.work_groups.values("pk")).exists()


def monitor_colleague(
    agent: Agent, target: Any, mode: Any, address: str | None = None
) -> dict[str, Any]:
    """Listen to (silently) or barge into a colleague's call: the agent's own phone rings and
    eavesdrops on the colleague's leg (the supervisors' monitor, icm.daemon.supervision)."""
    mode = str(mode or "listen")
    if mode not in MONITOR_MODES:
        raise BadColleagueRequest(f"mode: one of {', '.join(MONITOR_MODES)}")
    peer = colleague(target)
    detail: dict[str, Any] = {"mode": mode, "by_agent": agent.login_id}

    def refuse(why: str) -> ColleagueRefused:
        outcome = AuditEntry.Outcome.REFUSED
        audit(
            agent.user,
            AGENT,
            mode,
            "agent",
            peer.login_id,
            outcome,
            {**detail, "why": why},
            address,
        )
        return ColleagueRefused(why)

    if not agent.may_monitor_colleagues:
        raise refuse(
            "you may not listen to or barge into colleagues' calls: an administrator grants it"
        )
    if peer.pk == agent.pk:
        raise refuse("that is your own call")
    if not same_team(agent, peer):
        raise refuse(f"agent {peer.login_id} is not in your team (your work groups)")
    if not agent.extension_id or not agent.extension.enabled:
        raise refuse("you have no phone (extension) to listen on")
    detail["extension"] = agent.extension.number
    try:
        result = icm.monitor(switch_of(peer), peer.login_id, agent.extension.number, mode)
    except CommandError as exc:
        outcome = AuditEntry.Outcome.FAILED
        audit(
            agent.user,
            AGENT,
            mode,
            "agent",
            peer.login_id,
            outcome,
            {**detail, "why": str(exc)},
            address,
        )
        raise
    audit(agent.user, AGENT, mode, "agent", peer.login_id, AuditEntry.Outcome.OK, detail, address)
    return result


def desktop_command(agent: Agent, command: str, args: dict[str, Any]) -> dict[str, Any]:
    """The desktop's `call_agent {target}` and `monitor_colleague {target, mode}`; a refusal
    or a malformed request raises ValueError / PermissionError / LookupError with why."""
    if command == "call_agent":
        return call_colleague(agent, args.get("target"))
    return monitor_colleague(agent, args.get("target"), args.get("mode"))
