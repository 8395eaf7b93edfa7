"""The wallboard's data (SV-2): its snapshot — queue tiles, agent grid, alarms, switch
status, what the supervisor may do — and which bus events a wallboard of a given scope
receives, trimmed to what it shows.

A team leader's wallboard holds only its work groups' queues and agents (ICM-8); the
switch's own status and alarms are everyone's.
"""

from __future__ import annotations

import json
import time
from typing import Any

from django.conf import settings

from agents.models import Agent, NotReadyReason, WorkGroup
from icm.bus import keys
from icm.bus.client import get_redis
from icm.bus.events import EventType, FrameType
from icm.models import Gateway, Queue, Switch
from supervision.roles import ACTIONS, role_of
from supervision.scope import Scope, scope_of

AGENT_FIELDS = ("agent", "state", "reason", "since", "party", "today", "contact", "phone")


def site_switches() -> dict[int, str]:
    """Site id → the name of its switch (the first one), as agents' desktops find it."""
    found: dict[int, str] = {}
    for site_id, name in (
        Switch.objects.filter(enabled=True).order_by("id").values_list("site_id", "name")
    ):
        if site_id is not None:
            found.setdefault(site_id, name)
    return found


def snapshot(user: Any) -> dict[str, Any]:
    """Everything a wallboard shows, at one sequence number per switch."""
    scope = scope_of(user)
    client = get_redis()
    queues = [
        q for q in Queue.objects.filter(enabled=True).order_by("name") if scope.has_queue(q.name)
    ]
    agents = [
        a
        for a in Agent.objects.filter(active=True)
        .select_related("extension")
        .prefetch_related("work_groups")
        .order_by("login_id")
        if scope.has_agent(a.login_id)
    ]
    by_site, default = site_switches(), settings.IPBX_SWITCH_NAME
    queue_switch = {q.name: by_site.get(q.site_id, default) for q in queues}
    agent_switch = {
        a.login_id: by_site.get(a.extension.site_id, default) if a.extension_id else default
        for a in agents
    }
    names = sorted({*queue_switch.values(), *agent_switch.values(), *by_site.values()} or {default})
    pipe = client.pipeline(transaction=True)
    for switch in names:
        pipe.get(keys.seq_key(switch))
        pipe.hgetall(keys.agents_key(switch))
        pipe.get(keys.queues_key(switch))
        pipe.get(keys.alarms_key(switch))
        pipe.hgetall(keys.status_key(switch))
        pipe.get(keys.gateways_key(switch))
    raw = pipe.execute()
    seqs: dict[str, int] = {}
    states: dict[tuple[str, str], dict[str, Any]] = {}
    tiles: dict[tuple[str, str], dict[str, Any]] = {}
    alarms: list[dict[str, Any]] = []
    status: dict[str, dict[str, Any]] = {}
    trunks: dict[str, dict[str, Any]] = {}
    for n, switch in enumerate(names):
        seq, agent_states, figures, active, sw_status, gateways = raw[6 * n : 6 * n + 6]
        for name, gw in (json.loads(gateways) if gateways else {}).items():
            trunks[name] = {**gw, "switch": switch}
        seqs[switch] = int(seq or 0)
        for value in (agent_states or {}).values():
            state = json.loads(value)
            states[switch, state.get("agent", "")] = agent_row(state)
        for name, tile in (json.loads(figures) if figures else {}).items():
            tiles[switch, name] = {**tile, "switch": switch}
        alarms += [{**a, "switch": switch} for a in (json.loads(active) if active else [])]
        sw = {_s(k): _s(v) for k, v in (sw_status or {}).items()}
        status[switch] = {
            "connected": sw.get("connected") == "1",
            "since": sw.get("since", ""),
            "detail": sw.get("detail", ""),
        }
    role = scope.role
    own = Agent.objects.filter(user=user).select_related("extension").first()
    return {
        "type": FrameType.SNAPSHOT,
        "seq": seqs,
        "switches": status,
        "me": {
            "username": user.get_username(),
            "role": role,
            "extension": own.extension.number if own and own.extension_id else "",
        },
        "can": sorted(a for a, roles in ACTIONS.items() if role in roles),
        "queues": [
            {
                "name": q.name,
                "display_name": q.display_name,
                **tiles.get((queue_switch[q.name], q.name), {}),
            }
            for q in queues
        ],
        "agents": [
            {
                "agent": a.login_id,
                "name": a.name,
                "extension": a.extension.number if a.extension_id else "",
                "groups": [g.name for g in a.work_groups.all()],
                **states.get(
                    (agent_switch[a.login_id], a.login_id), {"state": "logged_out", "since": None}
                ),
            }
            for a in agents
        ],
        "alarms": [a for a in alarms if alarm_in_scope(a, scope)],
        "gateways": gateway_rows(trunks),
        "groups": [g.name for g in work_groups_of(user, scope)],
        "reasons": list(NotReadyReason.objects.filter(active=True).values("code", "label")),
        "server_time": time.time(),
    }


def gateway_rows(live: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The configured gateways with the state their switch reports, and any other gateway
    a switch reports."""
    rows = [
        {
            "name": g.name,
            "enabled": g.enabled,
            "max_channels": g.max_channels,
            **live.get(g.name, {"state": "", "ping": "", "healthy": None}),
        }
        for g in Gateway.objects.order_by("name")
    ]
    known = {r["name"] for r in rows}
    rows += [
        {"name": name, "enabled": True, "max_channels": None, **gw}
        for name, gw in sorted(live.items())
        if name not in known
    ]
    return rows


def work_groups_of(user: Any, scope: Scope) -> list[WorkGroup]:
    if scope.everything:
        return list(WorkGroup.objects.order_by("name"))
    if role_of(user):
        return list(user.led_work_groups.order_by("name"))
    return []


def agent_row(state: dict[str, Any]) -> dict[str, Any]:
    """An agent's live state as the grid shows it (no screen-pop data)."""
    row = {k: state.get(k) for k in AGENT_FIELDS}
    offer = state.get("offer") or {}
    row["queue"] = offer.get("queue", "")
    return row


def alarm_in_scope(alarm: dict[str, Any], scope: Scope) -> bool:
    kind, subject = alarm.get("kind"), str(alarm.get("subject", ""))
    if kind == "not_ready":
        return scope.has_agent(subject)
    if kind in ("queue_waiting", "queue_wait", "service_level"):
        return scope.has_queue(subject)
    return True


def for_wallboard(event: dict[str, Any], scope: Scope) -> dict[str, Any] | None:
    """The bus event as this wallboard receives it, or None when it does not concern it."""
    kind = event.get("type")
    if kind == EventType.AGENT_STATE:
        state = event.get("agent") or {}
        if not scope.has_agent(str(state.get("agent", ""))):
            return None
        return {
            "type": kind,
            "switch": event.get("switch"),
            "seq": event.get("seq"),
            "agent": agent_row(state),
        }
    if kind == EventType.QUEUE_STATS:
        data = (event.get("data") or {}).get("queues") or {}
        switch = event.get("switch")
        mine = {
            name: {**tile, "switch": switch} for name, tile in data.items() if scope.has_queue(name)
        }
        if not mine:
            return None
        return {
            "type": kind,
            "switch": event.get("switch"),
            "seq": event.get("seq"),
            "queues": mine,
        }
    if kind == EventType.ALARM:
        alarm = {**(event.get("data") or {}), "switch": event.get("switch")}
        if not alarm_in_scope(alarm, scope):
            return None
        return {
            "type": kind,
            "switch": event.get("switch"),
            "seq": event.get("seq"),
            "alarm": alarm,
        }
    if kind == EventType.GATEWAY_STATE:
        return {
            "type": kind,
            "switch": event.get("switch"),
            "seq": event.get("seq"),
            "gateway": {**(event.get("data") or {}), "switch": event.get("switch")},
        }
    if kind == EventType.SWITCH_STATUS:
        return {
            "type": kind,
            "switch": event.get("switch"),
            "seq": event.get("seq"),
            "status": event.get("status"),
        }
    return None


def _s(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
