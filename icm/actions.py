"""icm actions for web and Celery: read the live snapshot, send call-control commands.

The web never changes live state itself: `check_*` validates and sends a command on the bus;
icm acts on the switch and publishes the result.
"""

from __future__ import annotations

from typing import Any

import redis
from django.conf import settings

from icm.bus.client import get_redis
from icm.bus.commands import CommandError, IcmUnavailable, send_command
from icm.bus.snapshot import SwitchSnapshot, known_switches, read_snapshot
from icm.domain.originate_policy import OriginateNotAllowed, originate_target
from icm.models import Gateway


class BusUnavailable(Exception):
    """Redis (the bus) cannot be reached."""


def live_snapshots(switch: str | None = None) -> list[SwitchSnapshot]:
    """The live snapshot of one switch or of every switch an icm has published for."""
    client = get_redis()
    try:
        names = [switch] if switch else known_switches(client)
        return [read_snapshot(client, name) for name in names]
    except redis.RedisError as exc:
        raise BusUnavailable(f"live state unavailable: {exc}") from exc


def _command(switch: str, name: str, args: dict[str, Any], timeout: float) -> dict[str, Any]:
    try:
        return send_command(get_redis(), switch, name, args, timeout=timeout)
    except redis.RedisError as exc:
        raise IcmUnavailable(f"the command bus is unavailable: {exc}") from exc


def check_hangup(switch: str, call_uuid: str, cause: str) -> dict[str, Any]:
    """Ask icm to hang up every leg of a live call."""
    timeout = settings.ICM_COMMAND_REPLY_TIMEOUT
    return _command(switch, "hangup", {"uuid": call_uuid, "cause": cause}, timeout=timeout)


class OriginateRefused(CommandError):
    """The request names a trunk or dialplan context callers may not use."""


def check_originate(switch: str, request: dict[str, Any]) -> dict[str, Any]:
    """Ask icm to originate a call (endpoint, destination, context, caller_id_number).

    Only contexts in ICM_ORIGINATE_CONTEXTS (the request's and a loopback endpoint's own) and
    enabled gateways of that switch may be used (an open originate is a toll-fraud hole), and
    a number that may leave through a trunk passes the company's dialling rules for system
    calls (issue 18 item 4).
    """
    from outbound.dialling import destination_refusal, system_refusal

    context = request.get("context") or "default"
    endpoint = str(request["endpoint"])
    try:
        target = originate_target(endpoint, context, settings.ICM_ORIGINATE_CONTEXTS)
    except OriginateNotAllowed as exc:
        raise OriginateRefused(str(exc)) from exc
    if target.gateway:
        gateway = target.gateway
        if not Gateway.objects.filter(switch__name=switch, name=gateway, enabled=True).exists():
            raise OriginateRefused(f"no enabled gateway {gateway!r} on switch {switch}")
    # what may reach the carrier: the trunk's number, and what runs in a dialplan context
    # (its outbound rule sends 5 to 15 digits to the trunk) unless it is an extension
    refusals = [system_refusal(target.number)] if target.gateway else []
    for dialled in (target.loopback_extension, str(request.get("destination") or "")):
        refusals.append(destination_refusal(dialled) if dialled else "")
    refused = next((why for why in refusals if why), "")
    if refused:
        raise OriginateRefused(f"refused by the dialling rules: {refused}")
    return _command(switch, "originate", request, timeout=settings.ICM_COMMAND_REPLY_TIMEOUT)


AGENT_COMMANDS = {
    "login": ("agent_login", {"ready": True}),
    "login_not_ready": ("agent_login", {"ready": False}),
    "ready": ("agent_ready", {}),
    "not_ready": ("agent_not_ready", {}),
    "logout": ("agent_logout", {}),
    "end_wrap_up": ("end_wrap_up", {}),
    "extend_wrap_up": ("extend_wrap_up", {"seconds": 30}),
    "reject": ("agent_reject", {}),
    "reject_not_ready": ("agent_reject", {"not_ready": True}),
}


def may_control_agent(user: Any, login_id: str) -> bool:
    """The agent itself, an administrator, a team leader of one of the agent's work groups
    (ICM-8), or another user allowed to change agents."""
    from supervision.roles import ADMINISTRATOR, TEAM_LEADER
    from supervision.scope import scope_of

    own = getattr(getattr(user, "agent", None), "login_id", None)
    if own == login_id:
        return True
    scope = scope_of(user)
    if scope.role == TEAM_LEADER:
        return scope.has_agent(login_id)
    return scope.role == ADMINISTRATOR or user.has_perm("agents.change_agent")


def check_agent_state(switch: str, login_id: str, state: str, reason: str) -> dict[str, Any]:
    """Ask icm's ACD to move an agent (AG-1, AG-2); icm refuses illegal changes."""
    name, extra = AGENT_COMMANDS[state]
    args = {"agent": login_id, "reason": reason, **extra}
    return _command(switch, name, args, timeout=settings.ICM_COMMAND_REPLY_TIMEOUT)
