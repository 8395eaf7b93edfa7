"""Pure translation between FreeSWITCH ESL and the domain: event headers → domain events,
`show channels as json` → a resync snapshot.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime

from icm.domain import events as ev
from icm.domain.registrations import PhoneRegistered, PhoneUnregistered

from .registrations import SUBCLASSES as REGISTRATION_SUBCLASSES
from .registrations import registration_event

Decoded = (
    ev.DomainEvent
    | ev.GatewayStateChanged
    | ev.RecordingStopped
    | PhoneRegistered
    | PhoneUnregistered
)

# Only these events feed the live model; everything else is ignored cheaply (and we do not
# subscribe to it: greenswitch's parser costs grow with every event received).
SUBSCRIBED_EVENTS = (
    "CHANNEL_CREATE",
    "CHANNEL_ANSWER",
    "CHANNEL_BRIDGE",
    "CHANNEL_UNBRIDGE",
    "CHANNEL_HOLD",
    "CHANNEL_UNHOLD",
    "CHANNEL_HANGUP_COMPLETE",
    "CHANNEL_UUID",
    "RECORD_STOP",
    "HEARTBEAT",
    "BACKGROUND_JOB",
)
SUBSCRIBED_CUSTOM = (*REGISTRATION_SUBCLASSES, "sofia::gateway_state")

ANSWERED_CALLSTATES = frozenset({"ACTIVE", "HELD", "UNHELD"})


def event_time(headers: Mapping[str, str]) -> datetime:
    """The event's own timestamp (Event-Date-Timestamp, microseconds since the epoch)."""
    raw = headers.get("Event-Date-Timestamp", "")
    try:
        return datetime.fromtimestamp(int(raw) / 1_000_000, tz=UTC)
    except (TypeError, ValueError):
        return datetime.now(tz=UTC)


def _leg_created(switch: str, h: Mapping[str, str], at: datetime) -> ev.LegCreated:
    uuid = h.get("Unique-ID", "")
    return ev.LegCreated(
        switch=switch,
        uuid=uuid,
        call_uuid=h.get("Channel-Call-UUID") or h.get("variable_call_uuid") or uuid,
        direction=h.get("Call-Direction", "inbound"),
        channel_name=h.get("Channel-Name", ""),
        ani=h.get("Caller-Caller-ID-Number", ""),
        caller_name=h.get("Caller-Caller-ID-Name", ""),
        dnis=h.get("Caller-Destination-Number", ""),
        context=h.get("Caller-Context", ""),
        at=at,
        other_leg_uuid=h.get("Other-Leg-Unique-ID", ""),
    )


def decode(switch: str, headers: Mapping[str, str]) -> Decoded | ev.JobDone | None:
    """One ESL event as the daemon's inbox item: a background job's reply (BACKGROUND_JOB),
    else its domain event (None: nothing the daemon follows)."""
    if headers.get("Event-Name") == "BACKGROUND_JOB":
        return ev.JobDone(headers.get("Job-UUID", ""), (headers.get("_body") or "").strip())
    return translate(switch, headers)


def translate(switch: str, headers: Mapping[str, str]) -> Decoded | None:
    """Turn one ESL event (plain or json, already decoded) into a domain event, or None."""
    name = headers.get("Event-Name")
    if name == "CUSTOM" and headers.get("Event-Subclass") in REGISTRATION_SUBCLASSES:
        return registration_event(switch, headers, event_time(headers))
    if name == "CUSTOM" and headers.get("Event-Subclass") == "sofia::gateway_state":
        return ev.GatewayStateChanged(
            switch,
            headers.get("Gateway", ""),
            headers.get("State", ""),
            headers.get("Ping-Status", ""),
            event_time(headers),
            headers.get("Phrase", ""),
        )
    uuid = headers.get("Unique-ID", "")
    if not uuid and name != "HEARTBEAT":
        return None
    at = event_time(headers)
    match name:
        case "CHANNEL_CREATE":
            return _leg_created(switch, headers, at)
        case "CHANNEL_ANSWER":
            return ev.LegAnswered(switch, uuid, at)
        case "CHANNEL_BRIDGE":
            other = headers.get("Other-Leg-Unique-ID") or headers.get("Bridge-B-Unique-ID", "")
            return ev.LegBridged(switch, uuid, other, at) if other else None
        case "CHANNEL_UNBRIDGE":
            other = headers.get("Other-Leg-Unique-ID") or headers.get("Bridge-B-Unique-ID", "")
            return ev.LegUnbridged(switch, uuid, other, at)
        case "CHANNEL_HOLD":
            return ev.LegHeld(switch, uuid, at)
        case "CHANNEL_UNHOLD":
            return ev.LegUnheld(switch, uuid, at)
        case "CHANNEL_UUID":
            old = headers.get("Old-Unique-ID", "")
            return ev.LegRenamed(switch, old, uuid, at) if old and old != uuid else None
        case "RECORD_STOP":
            ms = headers.get("variable_record_ms", "")
            return ev.RecordingStopped(
                switch,
                uuid,
                headers.get("Record-File-Path", ""),
                at,
                headers.get("Record-Completion-Cause", ""),
                int(ms) if ms.isdigit() else None,
                recording_facts(headers, at.timestamp()),
            )
        case "CHANNEL_HANGUP_COMPLETE":
            cause = headers.get("Hangup-Cause") or headers.get("variable_hangup_cause", "")
            return ev.LegHungUp(switch, uuid, cause, at)
    return None


def gateways_from_xmlstatus(switch: str, text: str, at: datetime) -> list[ev.GatewayStateChanged]:
    """Every gateway of `sofia xmlstatus gateway` (mod_sofia's xml_gateway_status), or []
    when the reply is not that XML (no mod_sofia, an error)."""
    import xml.etree.ElementTree as ET

    try:
        root = ET.fromstring(text.strip())  # noqa: S314
    except ET.ParseError:
        return []
    return [
        ev.GatewayStateChanged(
            switch, gw.findtext("name", ""), gw.findtext("state", ""), gw.findtext("status", ""), at
        )
        for gw in root.iter("gateway")
        if gw.findtext("name")
    ]


def resync_from_show(
    switch: str, channels_json: str, calls_json: str, at: datetime
) -> ev.SwitchResynced:
    """Build the resync snapshot from `show channels as json` and `show calls as json`."""
    rows = _rows(channels_json)
    partner: dict[str, str] = {}
    for row in _rows(calls_json):
        a, b = row.get("uuid", ""), row.get("b_uuid", "")
        if a and b:
            partner[a], partner[b] = b, a
    legs = []
    for row in rows:
        uuid = row.get("uuid", "")
        if not uuid:
            continue
        try:
            created = datetime.fromtimestamp(int(row.get("created_epoch") or 0), tz=UTC)
        except ValueError:
            created = at
        other = partner.get(uuid, "")
        legs.append(
            ev.LegSnapshot(
                uuid=uuid,
                # b-legs report an empty call_uuid; they belong to their partner's call.
                call_uuid=row.get("call_uuid") or other or uuid,
                direction=row.get("direction", "inbound"),
                channel_name=row.get("name", ""),
                ani=row.get("cid_num", ""),
                caller_name=row.get("cid_name", ""),
                dnis=row.get("dest", ""),
                context=row.get("context", ""),
                created_at=created,
                answered=row.get("callstate", "") in ANSWERED_CALLSTATES,
                held=row.get("callstate", "") == "HELD",
                other_leg_uuid=other,
            )
        )
    # Legs that join a partner's call must come after the partner.
    legs.sort(key=lambda leg: (leg.call_uuid != leg.uuid, leg.created_at))
    return ev.SwitchResynced(switch=switch, legs=tuple(legs), at=at)


def _rows(payload: str) -> list[dict[str, str]]:
    payload = payload.strip()
    if not payload.startswith("{"):
        raise ValueError(f"not a json api reply: {payload[:80]!r}")
    data = json.loads(payload)
    return list(data.get("rows") or [])


def _epoch(micros: str) -> float | None:
    """A FreeSWITCH microsecond timestamp header, or None when absent / zero."""
    try:
        value = int(micros)
    except (TypeError, ValueError):
        return None
    return value / 1_000_000 if value > 0 else None


def recording_facts(headers: Mapping[str, str], ended: float) -> ev.RecordingFacts:
    """What a RECORD_STOP says of a recording icm did not start (or no longer remembers):
    the leg's call, its numbers, icm's own channel variables (ipbx_agent, ipbx_queue,
    ipbx_contact) and when it started (the end less record_ms; else the leg's answer)."""
    h = headers
    ani = ""
    if h.get("Call-Direction") == "outbound":  # an originated leg's caller id is flipped
        ani = h.get("Caller-Orig-Caller-ID-Number") or h.get(
            "variable_origination_caller_id_number", ""
        )
    ani = ani or h.get("Caller-Caller-ID-Number") or h.get("Caller-ANI", "")
    ms = h.get("variable_record_ms", "")
    seconds = h.get("variable_record_seconds", "")
    if ms.isdigit():
        started = ended - int(ms) / 1000
    elif seconds.isdigit():
        started = ended - int(seconds)
    else:
        started = _epoch(h.get("Caller-Channel-Answered-Time", "")) or ended
    return ev.RecordingFacts(
        call_uuid=h.get("Channel-Call-UUID") or h.get("variable_call_uuid", ""),
        ani=ani,
        dnis=h.get("Caller-Destination-Number") or h.get("Caller-Callee-ID-Number", ""),
        agent=h.get("variable_ipbx_agent", ""),
        queue=h.get("variable_ipbx_queue", ""),
        contact=h.get("variable_ipbx_contact", ""),
        started=started,
    )
