"""Commands the domain asks of a switch, independent of FreeSWITCH syntax (CTI-1).

Every value here is plain data; only the FreeSWITCH adapter (`icm.daemon.freeswitch.render`) turns a
command into ESL text, checking each argument by its kind. Two families:

- call-control commands, run as `api`/`bgapi` on the inbound connection (`HangupLeg` …);
- applications, run on one call through its outbound-socket session (`Playback` …), also
  usable as the steps of an inline dialplan (`TransferInline`) or after an originate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

# --- applications: what a call does (outbound session `execute`, inline steps) ----------------


@dataclass(frozen=True, slots=True)
class Answer:
    pass


@dataclass(frozen=True, slots=True)
class Park:
    pass


@dataclass(frozen=True, slots=True)
class Hangup:
    cause: str = "NORMAL_CLEARING"


@dataclass(frozen=True, slots=True)
class Playback:
    """Play a file (absolute or under the switch's sound prefix) or a stream
    (`local_stream://moh`, `tone_stream://…`, `silence_stream://250`)."""

    sound: str


@dataclass(frozen=True, slots=True)
class Speak:
    """Text to speech; the text is free (cleaned, never refused)."""

    engine: str
    voice: str
    text: str


@dataclass(frozen=True, slots=True)
class Say:
    """mod_say: `language say_type method value`."""

    language: str
    say_type: str
    method: str
    value: str


@dataclass(frozen=True, slots=True)
class SoundFile:
    path: str


@dataclass(frozen=True, slots=True)
class SoundText:
    engine: str
    voice: str
    text: str


SoundPart = SoundFile | SoundText


@dataclass(frozen=True, slots=True)
class PlayAndGetDigits:
    min_digits: int
    max_digits: int
    tries: int
    timeout_ms: int
    terminators: str  # "none" or some of 0-9*#
    prompts: tuple[SoundPart, ...]
    variable: str
    digit_timeout_ms: int
    invalid_sound: str = "silence_stream://250"
    digits_regex: str = "[0-9*#]+"


@dataclass(frozen=True, slots=True)
class Record:
    path: str
    max_seconds: int


@dataclass(frozen=True, slots=True)
class SetVar:
    """`set` (this leg) or `export` (this leg and the legs it bridges to)."""

    name: str
    value: str
    export: bool = False


@dataclass(frozen=True, slots=True)
class UnsetVar:
    name: str


@dataclass(frozen=True, slots=True)
class SetVars:
    """`multiset`: several variables at once."""

    variables: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Transfer:
    """Continue the call in the dialplan: `destination` in `context`."""

    destination: str
    context: str = "default"


@dataclass(frozen=True, slots=True)
class StartAvmd:
    """mod_avmd's beep (answering machine) detection."""


@dataclass(frozen=True, slots=True)
class StopAvmd:
    pass


@dataclass(frozen=True, slots=True)
class DetectAmd:
    """mod_amd's voice / machine detection."""


@dataclass(frozen=True, slots=True)
class Eavesdrop:
    uuid: str


@dataclass(frozen=True, slots=True)
class Bridge:
    """Call `endpoint` and bridge it; `variables` apply to that new leg only."""

    endpoint: str
    variables: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Socket:
    """Hand the call to an outbound-socket server (`host:port`), asynchronously, with all
    of its events."""

    address: str


@dataclass(frozen=True, slots=True)
class JoinConference:
    room: str
    profile: str = "ipbx"


App = (
    Answer
    | Park
    | Hangup
    | Playback
    | Speak
    | Say
    | PlayAndGetDigits
    | Record
    | SetVar
    | UnsetVar
    | SetVars
    | Transfer
    | StartAvmd
    | StopAvmd
    | DetectAmd
    | Eavesdrop
    | Bridge
    | JoinConference
    | Socket
)

# --- call control: api / bgapi on the inbound connection -------------------------------------


@dataclass(frozen=True, slots=True)
class HangupLeg:
    uuid: str
    cause: str = "NORMAL_CLEARING"


@dataclass(frozen=True, slots=True)
class HoldLeg:
    uuid: str
    hold: bool = True


@dataclass(frozen=True, slots=True)
class OriginateCall:
    """Call `endpoint` (e.g. user/1001) and, once answered, run `destination` in `context`,
    or the applications of `then` (e.g. `(Park(),)`) when given."""

    endpoint: str
    destination: str = ""
    context: str = "default"
    caller_id_number: str = ""
    caller_id_name: str = ""
    uuid: str = ""
    variables: dict[str, str] = field(default_factory=dict)
    then: tuple[App, ...] = ()


@dataclass(frozen=True, slots=True)
class BridgeLegs:
    uuid: str
    other: str


@dataclass(frozen=True, slots=True)
class TransferLeg:
    """`uuid_transfer`: the leg (and its partner with `both`) continues at `destination`."""

    uuid: str
    destination: str
    context: str = "default"
    both: bool = False


@dataclass(frozen=True, slots=True)
class TransferInline:
    """`uuid_transfer … inline`: the leg (and its partner with `both`) runs `apps`."""

    uuid: str
    apps: tuple[App, ...]
    both: bool = False


@dataclass(frozen=True, slots=True)
class ParkLeg:
    uuid: str


@dataclass(frozen=True, slots=True)
class BreakLeg:
    """Stop what the leg is playing (`all`: and what is queued behind it)."""

    uuid: str
    all: bool = True


@dataclass(frozen=True, slots=True)
class BroadcastSound:
    uuid: str
    sound: str


@dataclass(frozen=True, slots=True)
class SetLegVariable:
    uuid: str
    name: str
    value: str


@dataclass(frozen=True, slots=True)
class KeepIfServerLost:
    """Whether the caller on `uuid` goes on in the switch's dialplan when the application
    server holding its call session (icm's socket) is lost (`keep`), rather than ending
    there: on while icm holds the caller in the IVR or a queue, off once it is bridged."""

    uuid: str
    keep: bool


@dataclass(frozen=True, slots=True)
class GetVariable:
    """Read one channel variable of a leg."""

    uuid: str
    name: str


@dataclass(frozen=True, slots=True)
class SendDtmf:
    uuid: str
    digits: str


@dataclass(frozen=True, slots=True)
class MuteLeg:
    """Silence what the leg's phone sends (nobody hears it) or undo it."""

    uuid: str
    mute: bool = True


@dataclass(frozen=True, slots=True)
class PhoneEvent:
    """`uuid_phone_event`: tell the leg's phone something (e.g. `talk`: answer hands-free)."""

    uuid: str
    event: Literal["talk", "hold"] = "talk"


@dataclass(frozen=True, slots=True)
class RecordLeg:
    """`uuid_record`: start, stop, pause or resume recording the leg to `path`."""

    uuid: str
    action: Literal["start", "stop", "pause", "resume"]
    path: str
    limit_seconds: int = 0
    variables: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class LegExists:
    uuid: str


@dataclass(frozen=True, slots=True)
class ConferenceHangupAll:
    room: str


@dataclass(frozen=True, slots=True)
class ModuleExists:
    name: str


@dataclass(frozen=True, slots=True)
class GatewayStatus:
    """`sofia xmlstatus gateway`: every gateway's registration state."""


@dataclass(frozen=True, slots=True)
class ShowChannels:
    """`show channels as json`: the resync snapshot."""


@dataclass(frozen=True, slots=True)
class ShowCalls:
    """`show calls as json`: the bridged pairs, for the resync snapshot."""


@dataclass(frozen=True, slots=True)
class ShowRegistrations:
    """`show registrations as json`: every phone registered on the switch (ICM-1)."""


@dataclass(frozen=True, slots=True)
class FlushDirectoryUser:
    """Forget the switch's cached directory entry of `user`@`domain` (it changed)."""

    user: str
    domain: str


@dataclass(frozen=True, slots=True)
class MessageWaiting:
    """A phone's message-waiting lamp (MWI, IVR-7): `user`@`domain` has `new` unheard and
    `old` heard voicemails; the switch tells the registered phone (a SIP NOTIFY)."""

    user: str
    domain: str
    new: int
    old: int = 0


SwitchCommand = (
    HangupLeg
    | HoldLeg
    | OriginateCall
    | BridgeLegs
    | TransferLeg
    | TransferInline
    | ParkLeg
    | BreakLeg
    | BroadcastSound
    | SetLegVariable
    | KeepIfServerLost
    | GetVariable
    | SendDtmf
    | MuteLeg
    | PhoneEvent
    | RecordLeg
    | LegExists
    | ConferenceHangupAll
    | ModuleExists
    | GatewayStatus
    | ShowChannels
    | ShowCalls
    | ShowRegistrations
    | FlushDirectoryUser
    | MessageWaiting
)


def plain_number(number: str) -> str:
    """A caller's number as a caller ID may carry it: letters, digits, `+`, `*` and `#` kept,
    anything else (spaces, punctuation, a hostile caller's text) dropped."""
    return "".join(ch for ch in number if ch.isalnum() or ch in "+*#")
