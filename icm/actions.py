"""icm actions for web and Celery: read the live snapshot, send call-control commands.

The web never changes live state itself: `check_*` validates and sends a command on the bus;
icm acts on the switch and publishes the result.
"""

from __future__ import annotations

from typing import Any

import redis
from django.conf import settings

from icm.bus.client import get_redis
from icm.bus.commands import IcmUnavailable, send_command
from icm.bus.snapshot import SwitchSnapshot, known_switches, read_snapshot


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


def check_originate(switch: str, request: dict[str, Any]) -> dict[str, Any]:
    """Ask icm to originate a call (endpoint, destination, context, caller_id_number)."""
    return _command(switch, "originate", request, timeout=settings.ICM_COMMAND_REPLY_TIMEOUT + 5)
