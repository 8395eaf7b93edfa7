"""Domain events: what happened on a switch, in switch-independent terms (CTI-2)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class LegCreated:
    """A channel appeared (a call arrived, or we originated / bridged to a new leg)."""

    switch: str
    uuid: str
    call_uuid: str
    direction: str  # inbound | outbound (the channel's own direction)
    channel_name: str
    ani: str
    caller_name: str
    dnis: str
    context: str
    at: datetime
    other_leg_uuid: str = ""


@dataclass(frozen=True, slots=True)
class LegAnswered:
    switch: str
    uuid: str
    at: datetime


@dataclass(frozen=True, slots=True)
class LegBridged:
    switch: str
    uuid: str
    other_leg_uuid: str
    at: datetime


@dataclass(frozen=True, slots=True)
class LegUnbridged:
    switch: str
    uuid: str
    other_leg_uuid: str
    at: datetime


@dataclass(frozen=True, slots=True)
class LegHeld:
    switch: str
    uuid: str
    at: datetime


@dataclass(frozen=True, slots=True)
class LegUnheld:
    switch: str
    uuid: str
    at: datetime


@dataclass(frozen=True, slots=True)
class LegHungUp:
    switch: str
    uuid: str
    cause: str
    at: datetime


@dataclass(frozen=True, slots=True)
class CallQueued:
    """An IVR handed the call to a queue (the ACD takes it from here); `data` is what the
    IVR flow gathered (IVR-6), kept with the call."""

    switch: str
    call_uuid: str
    queue: str
    at: datetime
    data: dict[str, object] | None = None


@dataclass(frozen=True, slots=True)
class CallSurveyed:
    """The customer went back into a flow after the agent hung up (AG-7: a satisfaction
    survey); `answers` is what the flow gathered, kept with the call (BIZ-5)."""

    switch: str
    call_uuid: str
    flow: str
    answers: dict[str, object]


@dataclass(frozen=True, slots=True)
class LegSnapshot:
    """One channel as the switch reports it when icm (re)synchronises."""

    uuid: str
    call_uuid: str
    direction: str
    channel_name: str
    ani: str
    caller_name: str
    dnis: str
    context: str
    created_at: datetime
    answered: bool
    held: bool = False
    other_leg_uuid: str = ""


@dataclass(frozen=True, slots=True)
class CallAssigned:
    """The ACD connected the call to an agent; `routing` explains why that agent (R-7)."""

    switch: str
    call_uuid: str
    agent: str
    routing: dict[str, object]
    at: datetime


@dataclass(frozen=True, slots=True)
class LegExpected:
    """icm is about to originate `uuid` for the call `call_uuid` (e.g. to ring an agent):
    when the leg appears it belongs to that call."""

    switch: str
    uuid: str
    call_uuid: str


@dataclass(frozen=True, slots=True)
class LegRenamed:
    """FreeSWITCH gave a channel a new UUID (attended transfer with Replaces, intercept)."""

    switch: str
    old_uuid: str
    uuid: str
    at: datetime


@dataclass(frozen=True, slots=True)
class ResyncStarted:
    """icm asked the switch for its channel list; legs created from here on are newer than
    the snapshot may show (FreeSWITCH's channel table lags its event stream)."""

    switch: str
    at: datetime


@dataclass(frozen=True, slots=True)
class SwitchResynced:
    """The complete list of channels up on a switch, read after a (re)connect."""

    switch: str
    legs: tuple[LegSnapshot, ...]
    at: datetime


@dataclass(frozen=True, slots=True)
class SwitchConnectionChanged:
    switch: str
    connected: bool
    at: datetime
    detail: str = field(default="")


@dataclass(frozen=True, slots=True)
class RecordingFacts:
    """What the switch's stop event says of the recorded leg (a recording icm did not start
    is catalogued from these): its call, numbers, icm's channel variables, when it began."""

    call_uuid: str = ""
    ani: str = ""
    dnis: str = ""
    agent: str = ""
    queue: str = ""
    contact: str = ""
    started: float | None = None  # epoch seconds; None: unknown (the stop's time is used)


@dataclass(frozen=True, slots=True)
class RecordingStopped:
    """The switch closed a recording file (RECORD_STOP): its path, how it ended, and the
    audio it holds (record_ms)."""

    switch: str
    uuid: str
    path: str
    at: datetime
    cause: str = field(default="")
    milliseconds: int | None = field(default=None)
    facts: RecordingFacts = field(default_factory=RecordingFacts)


@dataclass(frozen=True, slots=True)
class GatewayStateChanged:
    """A SIP trunk's registration state or ping status changed (sofia::gateway_state)."""

    switch: str
    gateway: str
    state: str  # REGED, NOREG, FAILED, FAIL_WAIT, TRYING, UNREGED, DOWN, TIMEOUT …
    ping_status: str  # UP | DOWN
    at: datetime
    phrase: str = field(default="")

    @property
    def healthy(self) -> bool:
        """Calls can go out: registered (or registration not asked for) and reachable."""
        return gateway_healthy(self.state, self.ping_status)


def gateway_healthy(state: str, ping_status: str) -> bool:
    return state in ("REGED", "NOREG") and ping_status != "DOWN"


@dataclass(frozen=True, slots=True)
class JobDone:
    """A background command's reply arrived (its job id, the reply text)."""

    job_uuid: str
    result: str


DomainEvent = (
    LegCreated
    | LegAnswered
    | LegBridged
    | LegUnbridged
    | LegHeld
    | LegUnheld
    | LegHungUp
    | CallQueued
    | CallSurveyed
    | CallAssigned
    | LegExpected
    | LegRenamed
    | ResyncStarted
    | SwitchResynced
    | SwitchConnectionChanged
)

# What the switch reports that is not about the live call model (icm routes these apart)
SWITCH_NOTICES = (GatewayStateChanged, RecordingStopped)
