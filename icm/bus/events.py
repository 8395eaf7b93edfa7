"""The live-event protocol's vocabulary: every bus event type's name and schema, and the
frame types a live WebSocket adds (the one module that spells them).

A bus event is one JSON object on `keys.events_channel` (one per Redis database). Sequenced
events carry `{"switch", "seq", "type"}` — `seq` grows by exactly one per switch, so a reader
that holds a snapshot at seq S applies the events with a greater seq and re-snapshots on a
gap — plus the event's body (`call`, `status`, `agent` or `data`). A bulletin and a
mailbox's change (`voicemail`) are not sequenced (`switch` null): they are stored in the
database and re-read with any snapshot.

icm builds its events from these models (`icm.bus.publisher`); the web side validates
every message it receives against them (`parse_event`) and drops, with a log line, what
does not fit, so a malformed message never reaches (or breaks) a socket.
"""

from __future__ import annotations

import logging
from enum import StrEnum
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

log = logging.getLogger(__name__)


class EventType(StrEnum):
    """Every event type that travels on the bus."""

    CALL_UPDATED = "call.updated"
    CALL_ENDED = "call.ended"
    SWITCH_STATUS = "switch.status"
    RESET = "reset"  # icm rewrote the switch's snapshot: readers re-snapshot
    AGENT_STATE = "agent.state"
    CONTACT_OFFERED = "contact.offered"  # the screen pop (no snapshot state)
    # the other media-independent contact messages (CTI-2; icm.domain.contacts)
    CONTACT_ACCEPTED = "contact.accepted"
    CONTACT_HELD = "contact.held"
    CONTACT_TRANSFERRED = "contact.transferred"
    CONTACT_ENDED = "contact.ended"
    QUEUE_STATS = "queue.stats"
    ALARM = "alarm"
    GATEWAY_STATE = "gateway.state"
    BULLETIN = "bulletin"  # not sequenced
    VOICEMAIL = "voicemail"  # not sequenced: a mailbox's counts and new messages (IVR-7)


class FrameType(StrEnum):
    """What a live WebSocket sends besides the bus events it relays (or asks of it)."""

    SNAPSHOT = "snapshot"  # the state at `seq` ({switch: n}); events after it apply on top
    RESYNC = "resync"  # fanout → consumer: events may be lost; page → server: send a snapshot
    SKIP = "skip"  # a numbered event the user may not see (live calls)
    CALL_HIDDEN = "call.hidden"  # a call that left the user's scope (live calls)
    PING = "ping"
    PONG = "pong"
    ERROR = "error"


class _Body(BaseModel):
    """A part of an event: the named fields are checked, anything else passes through."""

    model_config = ConfigDict(extra="allow")


class LegBody(_Body):
    uuid: str
    channel_name: str = ""
    state: str = ""


class CallBody(_Body):
    switch: str
    call_uuid: str
    state: str
    created_at: str
    queue: str = ""
    agent: str = ""
    legs: list[LegBody] = []


class SwitchStatusBody(_Body):
    connected: bool
    since: str = ""
    detail: str = ""


class AgentStateBody(_Body):
    """`ipbx:<switch>:agents`'s value for one agent (what desktops and wallboards show)."""

    agent: str
    state: str


class EventData(_Body):
    """The `data` of a data event; each subclass names the event type it is sent as."""

    event_type: ClassVar[EventType]

    def as_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class ContactOffered(EventData):
    event_type = EventType.CONTACT_OFFERED
    contact: str
    queue: str
    agents: list[str]
    ani: str = ""
    media: str = ""  # the medium, under the name the desktop's screen pop reads
    medium: str = ""
    at: float | None = None
    attached: dict[str, Any] = {}
    customer: str | int | None = ""


class ContactAccepted(EventData):
    event_type = EventType.CONTACT_ACCEPTED
    contact: str
    medium: str
    at: float
    agent: str
    queue: str = ""


class ContactHeld(EventData):
    event_type = EventType.CONTACT_HELD
    contact: str
    medium: str
    at: float
    agent: str
    held: bool


class ContactTransferred(EventData):
    event_type = EventType.CONTACT_TRANSFERRED
    contact: str
    medium: str
    at: float
    agent: str = ""  # "" when the ACD overflowed it
    target: str = ""  # kind:target


class ContactEnded(EventData):
    event_type = EventType.CONTACT_ENDED
    contact: str
    medium: str
    at: float
    outcome: str  # handled or abandoned
    agent: str = ""
    queue: str = ""


class QueueStats(EventData):
    """The queues whose tiles changed (the whole set is the keyed state)."""

    event_type = EventType.QUEUE_STATS
    queues: dict[str, dict[str, Any]]


class AlarmChanged(EventData):
    """An alarm raised or cleared (the active set is the keyed state)."""

    event_type = EventType.ALARM
    key: str
    kind: str
    subject: str | int = ""
    severity: str = ""
    text: str = ""
    since: float | None = None
    raised: bool
    at: float


class GatewayChanged(EventData):
    """A trunk's new state (every gateway's is the keyed state)."""

    event_type = EventType.GATEWAY_STATE
    gateway: str
    state: str = ""
    ping: str = ""
    healthy: bool | None = None
    since: float | None = None


class BulletinSent(EventData):
    event_type = EventType.BULLETIN
    agents: list[str]


class VoicemailChanged(EventData):
    """A mailbox's state after a change (a message left, heard, deleted, forwarded): the
    whole of what its agents' desktops show, so applying it equals a fresh snapshot."""

    event_type = EventType.VOICEMAIL
    mailbox: str
    new: int
    old: int
    messages: list[dict[str, Any]]
    agents: list[str]


class _Event(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str


class SequencedEvent(_Event):
    switch: str
    seq: int


class CallEvent(SequencedEvent):
    call: CallBody


class SwitchStatusEvent(SequencedEvent):
    status: SwitchStatusBody


class AgentStateEvent(SequencedEvent):
    agent: AgentStateBody


class ContactOfferedEvent(SequencedEvent):
    data: ContactOffered


class ContactAcceptedEvent(SequencedEvent):
    data: ContactAccepted


class ContactHeldEvent(SequencedEvent):
    data: ContactHeld


class ContactTransferredEvent(SequencedEvent):
    data: ContactTransferred


class ContactEndedEvent(SequencedEvent):
    data: ContactEnded


class QueueStatsEvent(SequencedEvent):
    data: QueueStats


class AlarmEvent(SequencedEvent):
    data: AlarmChanged


class GatewayEvent(SequencedEvent):
    data: GatewayChanged


class BulletinEvent(_Event):
    switch: None = None
    data: BulletinSent


class VoicemailEvent(_Event):
    switch: None = None
    data: VoicemailChanged


SCHEMAS: dict[EventType, type[_Event]] = {
    EventType.CALL_UPDATED: CallEvent,
    EventType.CALL_ENDED: CallEvent,
    EventType.SWITCH_STATUS: SwitchStatusEvent,
    EventType.RESET: SequencedEvent,
    EventType.AGENT_STATE: AgentStateEvent,
    EventType.CONTACT_OFFERED: ContactOfferedEvent,
    EventType.CONTACT_ACCEPTED: ContactAcceptedEvent,
    EventType.CONTACT_HELD: ContactHeldEvent,
    EventType.CONTACT_TRANSFERRED: ContactTransferredEvent,
    EventType.CONTACT_ENDED: ContactEndedEvent,
    EventType.QUEUE_STATS: QueueStatsEvent,
    EventType.ALARM: AlarmEvent,
    EventType.GATEWAY_STATE: GatewayEvent,
    EventType.BULLETIN: BulletinEvent,
    EventType.VOICEMAIL: VoicemailEvent,
}
UNSEQUENCED = frozenset({EventType.BULLETIN, EventType.VOICEMAIL})
SEQUENCED = frozenset(t for t in EventType if t not in UNSEQUENCED)
_JSON = TypeAdapter(dict[str, Any])


def bulletin_event(data: BulletinSent) -> dict[str, Any]:
    """The bus message of a bulletin (unsequenced: `switch` is null)."""
    return {"type": str(EventType.BULLETIN), "switch": None, "data": data.as_json()}


def voicemail_event(data: VoicemailChanged) -> dict[str, Any]:
    """The bus message of a mailbox's change (unsequenced: `switch` is null)."""
    return {"type": str(EventType.VOICEMAIL), "switch": None, "data": data.as_json()}


def parse_event(raw: str | bytes) -> dict[str, Any] | None:
    """The bus message as a dict when it is one of the protocol's events, else None (logged).

    The dict is the message as published (not re-serialised): what a socket relays is what
    icm sent."""
    try:
        event = _JSON.validate_json(raw)
    except ValidationError:
        log.warning("bus: undecodable message dropped")
        return None
    kind = event.get("type")
    try:
        schema = SCHEMAS[EventType(kind)]
    except ValueError:
        log.warning("bus: message of unknown type %r dropped", kind)
        return None
    try:
        schema.model_validate(event)
    except ValidationError as exc:
        where = [(e["loc"], e["msg"]) for e in exc.errors(include_url=False)[:3]]
        log.warning("bus: malformed %s dropped: %s", kind, where)
        return None
    return event
