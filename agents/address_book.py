"""The agent's address book (AG-23): colleagues with their live state, the extensions that
are no agent's phone, the numbers the agent calls or is called by most (its own call
history) and the shared entries an administrator keeps (`AddressBookEntry`); searchable,
each row callable from the desktop (click-to-call, AG-8)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import redis

from agents.models import AddressBookEntry, Agent
from agents.placement import switch_of
from icm.bus import keys
from icm.bus.client import get_redis
from icm.models import Call, Extension

FREQUENT_DAYS = 90  # the history the frequent numbers come from
FREQUENT_CALLS = 500  # of at most this many recent calls
FREQUENT_SHOWN = 10
MAX_ROWS = 200  # per section


def address_book(agent: Agent, query: str = "") -> dict[str, Any]:
    """The sections, each filtered by `query` (a part of a name, an ID or a number)."""
    needle = query.strip().lower()[:64]

    def found(*texts: str) -> bool:
        return not needle or any(needle in (t or "").lower() for t in texts)

    return {
        "query": needle,
        "agents": [r for r in _agents(agent) if found(r["name"], r["login_id"], r["extension"])][
            :MAX_ROWS
        ],
        "extensions": [r for r in _extensions() if found(r["name"], r["number"])][:MAX_ROWS],
        "frequent": [r for r in _frequent(agent) if found(r["name"], r["number"])],
        "shared": [r for r in _shared() if found(r["name"], r["number"], r["note"])][:MAX_ROWS],
    }


def _agents(agent: Agent) -> list[dict[str, Any]]:
    live = _live_states(switch_of(agent))
    team = set(
        Agent.objects.filter(work_groups__in=agent.work_groups.all()).values_list("pk", flat=True)
    )
    rows = []
    for peer in Agent.objects.filter(active=True).exclude(pk=agent.pk).select_related("extension"):
        state = live.get(peer.login_id, {})
        in_team = peer.pk in team
        rows.append(
            {
                "login_id": peer.login_id,
                "name": peer.name,
                "extension": peer.extension.number if peer.extension_id else "",
                "state": str(state.get("state") or "logged_out"),
                "internal": bool(state.get("internal")),
                "team": in_team,
                # AG-19: the desktop offers listen / barge on a busy teammate's call
                "may_monitor": agent.may_monitor_colleagues and in_team,
            }
        )
    return rows


def _live_states(switch: str) -> dict[str, dict[str, Any]]:
    try:
        raw = get_redis().hgetall(keys.agents_key(switch))
    except redis.RedisError:
        return {}  # the book still lists everyone; states show as unknown (signed out)
    states = {}
    for key, value in raw.items():
        login = key.decode() if isinstance(key, bytes) else str(key)
        states[login] = json.loads(value)
    return states


def _extensions() -> list[dict[str, Any]]:
    """Enabled extensions that are no agent's phone (agents are listed as agents)."""
    phones = Extension.objects.filter(enabled=True, agents__isnull=True).order_by("number")
    return [{"name": e.display_name or e.number, "number": e.number} for e in phones]


def _frequent(agent: Agent) -> list[dict[str, Any]]:
    """The numbers of the agent's own calls of the last 90 days, most frequent first."""
    since = datetime.now(tz=UTC) - timedelta(days=FREQUENT_DAYS)
    own = agent.extension.number if agent.extension_id else ""
    calls = (
        Call.objects.filter(agent=agent, created_at__gte=since)
        .order_by("-created_at")
        .values_list("direction", "ani", "dnis", "caller_name")[:FREQUENT_CALLS]
    )
    counts: Counter[str] = Counter()
    names: dict[str, str] = {}
    for direction, ani, dnis, caller_name in calls:
        number = ani if direction == "inbound" else (dnis or ani)
        if not number or number == own or not number.lstrip("+").isdigit():
            continue
        counts[number] += 1
        if direction == "inbound" and caller_name:
            names.setdefault(number, caller_name)
    return [
        {"name": names.get(number, ""), "number": number, "calls": n}
        for number, n in counts.most_common(FREQUENT_SHOWN)
    ]


def _shared() -> list[dict[str, Any]]:
    entries = AddressBookEntry.objects.filter(active=True)
    return [{"name": e.name, "number": e.number, "note": e.note} for e in entries]
