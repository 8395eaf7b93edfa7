"""The web → icm client: one typed function per command family the web and Celery send.

Web views, consumers and Celery tasks never change live state themselves: they call these
functions, which put the command on the Redis command bus and wait for icm's reply (or, for
notifications, queue it without waiting). Every waiting call raises `CommandError` with icm's
refusal, `IcmUnavailable` when no icm took the command in time or the bus (Redis) cannot be
reached (it never ran), and `CommandOutcomeUnknown` when icm took it but no reply came (it may
have run: retry only with the same idempotency key). The functions that create something
(`originate`, `callback_ring`; `campaign_dial` too, though its attempt key already makes it
idempotent in icm's dialer) take the caller's idempotency `key`: a retry
with the same key is recognised by icm and answered with the first run's reply.
The arguments are the ones `icm.bus.command_schema` checks again on icm's side.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import redis
from django.conf import settings

from icm.bus.client import get_redis
from icm.bus.command_schema import AgentCallAction
from icm.bus.commands import (
    CommandError,
    CommandOutcomeUnknown,
    IcmUnavailable,
    post_command,
    send_command,
)

__all__ = [
    "AGENT_STATES",
    "CommandError",
    "CommandOutcomeUnknown",
    "IcmUnavailable",
    "agent_call",
    "agent_pick",
    "agent_state",
    "callback_ring",
    "campaign_dial",
    "campaign_floor",
    "campaign_stop",
    "flush_directory",
    "hangup",
    "intercepts_reload",
    "live_listen",
    "live_listen_stop",
    "message_waiting",
    "monitor",
    "originate",
    "queue_metric",
    "reload_agent",
    "reload_queue",
    "send",
]

AgentState = Literal[
    "login",
    "login_not_ready",
    "ready",
    "not_ready",
    "logout",
    "end_wrap_up",
    "extend_wrap_up",
    "reject",
    "reject_not_ready",
]
# a desktop's state change -> (icm's ACD command, its fixed arguments)
AGENT_STATES: dict[str, tuple[str, dict[str, Any]]] = {
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
MonitorMode = Literal["listen", "whisper", "barge"]


def send(
    switch: str,
    name: str,
    args: Mapping[str, Any],
    timeout: float | None = None,
    key: str | None = None,
) -> dict[str, Any]:
    """The transport under every function here: icm's reply to command `name`; the bus being
    down before the command was queued is `IcmUnavailable` like a silent icm. `timeout`
    defaults to ICM_COMMAND_REPLY_TIMEOUT (then ICM_COMMAND_GRACE more once icm took it);
    `key` is the idempotency key (default: new)."""
    wait = settings.ICM_COMMAND_REPLY_TIMEOUT if timeout is None else timeout
    try:
        return send_command(
            get_redis(),
            switch,
            name,
            dict(args),
            timeout=wait,
            key=key,
            grace=settings.ICM_COMMAND_GRACE,
        )
    except redis.RedisError as exc:
        raise IcmUnavailable(f"the command bus is unavailable: {exc}") from exc


# --- agents: state, their own calls, picking a caller ------------------------------------


def agent_state(
    switch: str, agent: str, state: AgentState | str, reason: str, timeout: float | None = None
) -> dict[str, Any]:
    """Ask icm's ACD to move an agent (AG-1, AG-2); icm refuses illegal changes."""
    name, extra = AGENT_STATES[state]
    return send(switch, name, {"agent": agent, "reason": reason, **extra}, timeout)


def agent_call(
    switch: str,
    agent: str,
    action: AgentCallAction | str,
    timeout: float | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """An action on the agent's own call (accept, hold, transfer, dial, record …); `extra`
    holds the action's own arguments (digits, kind / target / note, number / gateway …)."""
    return send(switch, "agent_call", {"agent": agent, "action": action, **extra}, timeout)


def agent_pick(
    switch: str, agent: str, contact: str, queue: str | None = None, timeout: float | None = None
) -> dict[str, Any]:
    """Give a chosen waiting caller to an agent (AG-3, SV-7); with `queue`, icm checks the
    caller waits in that queue."""
    args = {"agent": agent, "contact": contact}
    if queue is not None:
        args["queue"] = queue
    return send(switch, "agent_pick", args, timeout)


def callback_ring(
    switch: str, args: Mapping[str, Any], timeout: float | None = None, key: str | None = None
) -> dict[str, Any]:
    """Ring a booked call-back (callback, agent and / or queue, number, note, customer);
    `key`: the same for a retry of one dispatch (icm rings it once)."""
    return send(switch, "callback_ring", args, timeout, key)


# --- supervision ---------------------------------------------------------------------------


def monitor(
    switch: str, agent: str, extension: str, mode: MonitorMode | str, timeout: float | None = None
) -> dict[str, Any]:
    """Listen to, whisper to or barge in on an agent's call from a supervisor's phone."""
    return send(switch, "monitor", {"agent": agent, "extension": extension, "mode": mode}, timeout)


def live_listen(switch: str, agent: str, tap: str, timeout: float | None = None) -> dict[str, Any]:
    """Tap an agent's call for a browser (REC-3)."""
    return send(switch, "live_listen", {"agent": agent, "tap": tap}, timeout)


def live_listen_stop(switch: str, tap: str, timeout: float | None = None) -> dict[str, Any]:
    return send(switch, "live_listen_stop", {"tap": tap}, timeout)


# --- calls and live figures ---------------------------------------------------------------


def hangup(switch: str, call_uuid: str, cause: str, timeout: float | None = None) -> dict[str, Any]:
    """Hang up every leg of a live call."""
    return send(switch, "hangup", {"uuid": call_uuid, "cause": cause}, timeout)


def originate(
    switch: str, request: Mapping[str, Any], timeout: float | None = None, key: str | None = None
) -> dict[str, Any]:
    """Originate a call (endpoint, destination, context, caller_id_number), checked first by
    `icm.actions.check_originate`; `key`: the caller's idempotency key (a retry with it
    never places a second call)."""
    return send(switch, "originate", request, timeout, key)


def queue_metric(switch: str, metric: str, queue: str, timeout: float | None = None) -> float:
    """A live figure of a queue (as an IVR flow reads it)."""
    reply = send(switch, "queue_metric", {"metric": metric, "queue": queue}, timeout)
    return float(reply["value"])


# --- outbound campaigns -------------------------------------------------------------------


def campaign_dial(
    switch: str, attempt: Mapping[str, Any], timeout: float | None = None, key: str | None = None
) -> dict[str, Any]:
    """Hand one campaign attempt to icm's dialer. The attempt's own `key` makes it idempotent
    in icm's dialer (claimed in Redis: `duplicate` in the reply when it had it), which also
    re-judges a re-sent attempt (taken over, or "maybe dialled"); so the bus key is a new one
    per send unless `key` is given."""
    return send(switch, "campaign_dial", attempt, timeout, key)


def campaign_floor(
    switch: str, campaign: str, queue: str, timeout: float | None = None
) -> dict[str, Any]:
    """What icm's dialer knows of a campaign now (free agents, calls, the switch's detection)."""
    return send(switch, "campaign_floor", {"campaign": campaign, "queue": queue}, timeout)


def campaign_stop(switch: str, campaign: str, timeout: float | None = None) -> dict[str, Any]:
    """Drop a campaign's attempts icm has not placed yet."""
    return send(switch, "campaign_stop", {"campaign": campaign}, timeout)


# --- notifications (queued, no reply; redis.RedisError when the bus is down) --------------


def reload_queue(switch: str, queue: str) -> None:
    post_command(get_redis(), switch, "reload_queue", {"queue": queue})


def reload_agent(switch: str, agent: str) -> None:
    post_command(get_redis(), switch, "reload_agent", {"agent": agent})


def intercepts_reload(switch: str) -> None:
    """The standing intercepts (SV-9) changed: icm reads them again."""
    post_command(get_redis(), switch, "intercepts_reload", {})


def flush_directory(switch: str, user: str, domain: str) -> None:
    """The switch's cached directory entry of an extension is stale."""
    post_command(get_redis(), switch, "flush_directory", {"user": user, "domain": domain})


def message_waiting(switch: str, user: str, domain: str, new: int, old: int) -> None:
    """Set the message-waiting lamp of phone `user`@`domain` (IVR-7): `new` unheard and
    `old` heard voicemails (the latest state wins: a notification, not waited for)."""
    post_command(
        get_redis(),
        switch,
        "message_waiting",
        {"user": user, "domain": domain, "new": new, "old": old},
    )
