"""The call JSON that travels on the bus (built from icm's call records); every event
type's name and schema are in `icm.bus.events`."""

from __future__ import annotations

from datetime import datetime
from typing import TypedDict

from icm.domain.calls import CallRecord, LegRecord

from .events import EventType


class LegJSON(TypedDict):
    uuid: str
    direction: str
    channel_name: str
    ani: str
    dnis: str
    state: str
    held: bool
    other_leg_uuid: str
    created_at: str
    answered_at: str | None
    bridged_at: str | None
    hungup_at: str | None
    hangup_cause: str


class CallJSON(TypedDict):
    switch: str
    call_uuid: str
    direction: str
    ani: str
    caller_name: str
    dnis: str
    state: str
    created_at: str
    answered_at: str | None
    bridged_at: str | None
    ended_at: str | None
    hangup_cause: str
    queue: str
    agent: str
    legs: list[LegJSON]


class StateEvent(TypedDict):
    """One sequenced event: `seq` increases by exactly one per switch; a gap means re-snapshot."""

    switch: str
    seq: int
    type: EventType
    call: CallJSON | None
    status: dict | None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def leg_json(leg: LegRecord) -> LegJSON:
    return {
        "uuid": leg.uuid,
        "direction": leg.direction,
        "channel_name": leg.channel_name,
        "ani": leg.ani,
        "dnis": leg.dnis,
        "state": str(leg.state),
        "held": leg.held,
        "other_leg_uuid": leg.other_leg_uuid,
        "created_at": leg.created_at.isoformat(),
        "answered_at": _iso(leg.answered_at),
        "bridged_at": _iso(leg.bridged_at),
        "hungup_at": _iso(leg.hungup_at),
        "hangup_cause": leg.hangup_cause,
    }


def call_json(call: CallRecord) -> CallJSON:
    return {
        "switch": call.switch,
        "call_uuid": call.call_uuid,
        "direction": str(call.direction),
        "ani": call.ani,
        "caller_name": call.caller_name,
        "dnis": call.dnis,
        "state": "held" if str(call.state) == "held" else str(call.state),
        "created_at": call.created_at.isoformat(),
        "answered_at": _iso(call.answered_at),
        "bridged_at": _iso(call.bridged_at),
        "ended_at": _iso(call.ended_at),
        "hangup_cause": call.hangup_cause,
        "queue": call.queue,
        "agent": call.agent,
        "legs": [leg_json(leg) for leg in call.legs],
    }
