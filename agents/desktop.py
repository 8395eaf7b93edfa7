"""What the agent desktop (the phone bar, AG-1…AG-23) shows: its snapshot (agent state,
own calls, history since sign-in), the screen pop's customer card (INT-2, BIZ-1) and which bus
events concern an agent (`agent_of` and `switch_of` come from `agents.placement`)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Q
from django.utils import timezone

from agents import callbacks
from agents.models import Agent, AgentStateChange, Disposition, NotReadyReason
from agents.placement import switch_of
from icm.bus import keys
from icm.bus.client import get_redis
from icm.bus.events import EventType
from icm.models import Call, CustomerNumber, Queue
from outbound.screen_pop import campaign_card
from supervision.bulletins import unread_for as unread_bulletins
from voicemail import filing as voicemail

HISTORY_LIMIT = 50


def is_mine(event: dict[str, Any], login_id: str, extension: str) -> bool:
    """Does a bus event concern this agent (its state, its offers, its calls)?"""
    kind = event.get("type")
    if kind == EventType.AGENT_STATE:
        return (event.get("agent") or {}).get("agent") == login_id
    if kind in (EventType.CONTACT_OFFERED, EventType.BULLETIN, EventType.VOICEMAIL):
        # SV-12: a bulletin's recipients were resolved when it was sent; IVR-7: a mailbox's
        # agents are named in its change
        return login_id in ((event.get("data") or {}).get("agents") or [])
    if kind in (EventType.CALL_UPDATED, EventType.CALL_ENDED):
        return call_is_mine(event.get("call") or {}, login_id, extension)
    return kind in (EventType.SWITCH_STATUS, EventType.QUEUE_STATS)


def snapshot_frame(agent: Agent) -> dict[str, Any]:
    """The desktop's snapshot as its socket sends it (`seq`: {switch: n}, the live
    protocol's shape)."""
    snap = snapshot(agent)
    return {**snap, "seq": {snap["switch"]: snap["seq"]}}


def as_desktop_frame(event: dict[str, Any]) -> dict[str, Any]:
    """One of the agent's events as its desktop receives it: an `agent.state`'s offer with
    the screen pop; a bulletin or a mailbox's change without its list of recipients."""
    kind = event.get("type")
    if kind in (EventType.BULLETIN, EventType.VOICEMAIL):
        data = {k: v for k, v in (event.get("data") or {}).items() if k != "agents"}
        return {**event, "data": data}
    if kind != EventType.AGENT_STATE or not (event.get("agent") or {}).get("offer"):
        return event
    state = dict(event["agent"])
    state["offer"] = offer_card(state["offer"])
    return {**event, "agent": state}


def call_is_mine(call: dict[str, Any], login_id: str, extension: str) -> bool:
    if call.get("agent") == login_id:
        return True
    if not extension:
        return False
    marks = (f"user/{extension}", f"/{extension}@", f"sofia/internal/{extension}")
    return any(
        m in (leg.get("channel_name") or "") for leg in call.get("legs") or [] for m in marks
    )


def snapshot(agent: Agent) -> dict[str, Any]:
    """The desktop's state at one sequence number: apply events with a greater seq."""
    switch = switch_of(agent)
    extension = agent.extension.number if agent.extension_id else ""
    client = get_redis()
    pipe = client.pipeline(transaction=True)
    pipe.get(keys.seq_key(switch))
    pipe.hget(keys.agents_key(switch), agent.login_id)
    pipe.hgetall(keys.calls_key(switch))
    pipe.hgetall(keys.status_key(switch))
    pipe.get(keys.queues_key(switch))
    seq, state, calls, status, figures = pipe.execute()
    figures = json.loads(figures) if figures else {}
    calls = [json.loads(v) for v in (calls or {}).values()]
    state = json.loads(state) if state else {"agent": agent.login_id, "state": "logged_out"}
    if state.get("offer"):
        state["offer"] = offer_card(state["offer"])
    status = {_s(k): _s(v) for k, v in (status or {}).items()}
    return {
        "switch": switch,
        "seq": int(seq or 0),
        "connected": status.get("connected") == "1",
        "agent": {
            "login_id": agent.login_id,
            "name": agent.name,
            "level": agent.level,
            "level_label": agent.get_level_display(),
            "extension": extension,
        },
        "state": state,
        "calls": sorted(
            (c for c in calls if call_is_mine(c, agent.login_id, extension)),
            key=lambda c: c["created_at"],
        ),
        "history": history(agent),
        "callbacks": callbacks.for_agent(agent),
        "customers": my_customers(agent, {c["call_uuid"] for c in calls}),
        "bulletins": unread_bulletins(agent),
        "voicemail": voicemail.for_agent(agent),
        "queues": [
            {"name": q.name, "display_name": q.display_name, **figures.get(q.name, {})}
            for q in skill_group_queues(agent)
        ],
        "reasons": list(NotReadyReason.objects.filter(active=True).values("code", "label")),
        "dispositions": list(Disposition.objects.filter(active=True).values("code", "label")),
    }


def skill_group_queues(agent: Agent) -> list[Queue]:
    """The queues whose every required skill the agent has (AG-12), as the ACD counts
    members."""
    skills = set(agent.agent_skills.values_list("skill_id", flat=True))
    queues = Queue.objects.filter(enabled=True).prefetch_related("required_skills")
    return [q for q in queues if all(r.skill_id in skills for r in q.required_skills.all())]


def offer_card(offer: dict[str, Any]) -> dict[str, Any]:
    """The screen pop: the offer plus the customer found by caller number (INT-2) and how
    the contact arrived (AG-21)."""
    attached = offer.get("attached") or {}
    arrived = attached.get("arrived") or (
        "callback" if offer.get("media") == "callback" else "direct"
    )
    transferred_by = ""
    if attached.get("transferred_from"):
        found = Agent.objects.filter(login_id=attached["transferred_from"]).first()
        transferred_by = found.name if found else str(attached["transferred_from"])
    campaign = None
    if attached.get("attempt"):  # a campaign call: its contact, its earlier attempts
        campaign = campaign_card(attached)
    return {
        **offer,
        "arrived": arrived,
        "ivr": attached.get("ivr") or {},
        "transferred_by": transferred_by,
        "note": attached.get("transfer_note") or "",
        "customer_card": customer_card(str(offer.get("ani") or "")),
        "campaign_card": campaign,
        "voicemail": voicemail.callback_message(attached.get("callback")),
    }


def customer_card(number: str) -> dict[str, Any] | None:
    """Name, account, grade and recent contacts of the customer calling from `number`."""
    if not number:
        return None
    found = CustomerNumber.objects.filter(number=number).select_related("customer").first()
    if found is None:
        return None
    customer = found.customer
    numbers = list(customer.numbers.values_list("number", flat=True))
    recent = (
        Call.objects.filter(Q(customer=customer) | Q(ani__in=numbers), ended_at__isnull=False)
        .select_related("agent", "queue")
        .order_by("-created_at")[:5]
    )
    return {
        "name": customer.name,
        "account": customer.account,
        "grade": customer.grade,
        "grade_label": customer.get_grade_display(),
        "email": customer.email,
        "recent": [
            {
                "at": c.created_at.isoformat(),
                "queue": c.queue.name if c.queue else "",
                "agent": c.agent.name if c.agent else "",
                "cause": c.hangup_cause,
                "seconds": _seconds(c),
            }
            for c in recent
        ],
    }


def history(agent: Agent) -> list[dict[str, Any]]:
    """The agent's contacts since it last signed in (AG-15): answered calls and offers it
    missed or rejected, newest first."""
    since = _signed_in_at(agent) or timezone.now() - timedelta(hours=12)
    changes = list(
        AgentStateChange.objects.filter(agent=agent, at__gte=since)
        .order_by("at", "id")
        .values("at", "from_state", "to_state", "reason", "trigger", "call_uuid")
    )
    offered = []
    for index, change in enumerate(changes):
        if change["to_state"] != "reserved":
            continue
        following = changes[index + 1] if index + 1 < len(changes) else None
        if following is None:
            outcome = "ringing"
        elif following["to_state"] == "on_call":
            outcome = "answered"
        else:
            trigger = following["trigger"] or ""
            if trigger.startswith("reject") or "rejected" in following["reason"]:
                outcome = "rejected"
            else:
                outcome = "cancelled" if trigger == "cancelled" else "missed"
        # the contact is on the transition out of "reserved" (the one into it may lack it)
        contact = change["call_uuid"] or (following or {}).get("call_uuid") or ""
        offered.append((change["at"], contact, outcome))
    offered = offered[-HISTORY_LIMIT:]
    contacts = [u for _, u, _ in offered]
    found = Call.objects.filter(Q(call_uuid__in=contacts) | Q(legs__uuid__in=contacts))
    calls = {
        c.call_uuid: c for c in found.select_related("queue", "customer").prefetch_related("legs")
    }
    by_leg = {leg.uuid: c for c in calls.values() for leg in c.legs.all()}
    names = dict(
        CustomerNumber.objects.filter(number__in={c.ani for c in calls.values()}).values_list(
            "number", "customer__name"
        )
    )
    rows = []
    for at, contact, outcome in reversed(offered):
        call = calls.get(contact) or by_leg.get(contact)
        customer = ""
        if call is not None:
            customer = call.customer.name if call.customer else names.get(call.ani, "")
        rows.append(
            {
                "at": at.isoformat(),
                "outcome": outcome,
                "contact": contact,
                "ani": call.ani if call else "",
                "customer": customer,
                "queue": call.queue.name if call and call.queue else "",
                "seconds": _seconds(call) if call and outcome == "answered" else None,
            }
        )
    return rows


def my_customers(agent: Agent, live: set[str] | None = None) -> list[dict[str, Any]]:
    """The customers the agent served today (AG-11), latest first: name, account, grade, the
    last call's state, wait and talk time and queue (skill), and how many calls today.

    `live`: the calls up now (icm's live set on the bus, the truth: the CDR of a call that
    just ended may not be written yet); without it, the CDRs say."""
    start = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    calls = (
        Call.objects.filter(agent=agent, created_at__gte=start)
        .select_related("customer", "queue")
        .order_by("-created_at")[:200]
    )
    names = {}
    rows: dict[str, dict[str, Any]] = {}
    for call in calls:
        customer = call.customer
        key = f"c{customer.pk}" if customer else f"n{call.ani}"
        if key in rows:
            rows[key]["calls"] += 1
            continue
        if customer is None and call.ani not in names:
            names[call.ani] = customer_card(call.ani)
        card = names.get(call.ani) if customer is None else None
        routing = (call.attached_data or {}).get("routing") or {}
        rows[key] = {
            "name": customer.name if customer else (card or {}).get("name", ""),
            "account": customer.account if customer else (card or {}).get("account", ""),
            "grade": customer.grade if customer else (card or {}).get("grade", ""),
            "ani": call.ani,
            "queue": call.queue.name if call.queue else "",
            "state": _call_state(call, live),
            "waited": routing.get("waited"),
            "talk": _seconds(call),
            "calls": 1,
            "at": call.created_at.isoformat(),
        }
    return list(rows.values())[:HISTORY_LIMIT]


def _call_state(call: Call, live: set[str] | None) -> str:
    if live is not None:
        return "live" if call.call_uuid in live else "ended"
    return "live" if call.ended_at is None else "ended"


def _signed_in_at(agent: Agent) -> datetime | None:
    return (
        AgentStateChange.objects.filter(agent=agent, from_state="logged_out")
        .order_by("-at")
        .values_list("at", flat=True)
        .first()
    )


def _seconds(call: Call) -> int | None:
    """Talk time: from the bridge (on a real switch `answered` is the IVR's pick-up, long
    before an agent speaks), 0 for a call that never reached a bridge."""
    if call.ended_at is None:
        return None
    if call.bridged_at is None:
        return 0
    return max(0, int((call.ended_at - call.bridged_at).total_seconds()))


def _s(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
