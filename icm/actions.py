"""icm actions for web and Celery: read the live snapshot, send call-control commands.

The web never changes live state itself: `check_*` validates and sends a command on the bus;
icm acts on the switch and publishes the result.
"""

from __future__ import annotations

from typing import Any

import redis
from django.conf import settings

from icm import client as icm
from icm.bus.client import get_redis
from icm.bus.commands import CommandError
from icm.bus.snapshot import SwitchSnapshot, known_switches, read_snapshot
from icm.domain.originate_policy import OriginateNotAllowed, originate_target
from icm.models import Gateway
from outbound.dialling import destination_refusal, system_refusal


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


def check_hangup(switch: str, call_uuid: str, cause: str) -> dict[str, Any]:
    """Ask icm to hang up every leg of a live call."""
    return icm.hangup(switch, call_uuid, cause)


class OriginateRefused(CommandError):
    """The request names a trunk or dialplan context callers may not use."""


def check_originate(switch: str, request: dict[str, Any], key: str | None = None) -> dict[str, Any]:
    """Ask icm to originate a call (endpoint, destination, context, caller_id_number);
    `key`: the caller's idempotency key (a retry with it places no second call).

    Only contexts in ICM_ORIGINATE_CONTEXTS (the request's and a loopback endpoint's own) and
    enabled gateways of that switch may be used (an open originate is a toll-fraud hole), and
    a number that may leave through a trunk passes the company's dialling rules for system
    calls (issue 18 item 4).
    """
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
    return icm.originate(switch, request, key=key)


def check_agent_state(switch: str, login_id: str, state: str, reason: str) -> dict[str, Any]:
    """Ask icm's ACD to move an agent (AG-1, AG-2); icm refuses illegal changes."""
    return icm.agent_state(switch, login_id, state, reason)
