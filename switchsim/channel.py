"""Channel model: state, caller profile, variables and the channel part of event headers.

Owns what ``switch_channel_event_set_data`` and ``switch_caller_profile_event_set_data``
would put into an event for one simulated channel. Behaviour (what a channel *does*) lives
in :mod:`switchsim.session`.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Any

STATE_NUMBERS = {
    "CS_NEW": 0,
    "CS_INIT": 1,
    "CS_ROUTING": 2,
    "CS_SOFT_EXECUTE": 3,
    "CS_EXECUTE": 4,
    "CS_EXCHANGE_MEDIA": 5,
    "CS_PARK": 6,
    "CS_CONSUME_MEDIA": 7,
    "CS_HIBERNATE": 8,
    "CS_RESET": 9,
    "CS_HANGUP": 10,
    "CS_REPORTING": 11,
    "CS_DESTROY": 12,
}
CALLSTATE_NUMBERS = {
    "DOWN": 0,
    "DIALING": 1,
    "RINGING": 2,
    "EARLY": 3,
    "ACTIVE": 4,
    "HELD": 5,
    "RING_WAIT": 6,
    "HANGUP": 7,
    "UNHELD": 8,
}
CODECS = {"L16": ("L16", "8000", "128000"), "PCMU": ("PCMU", "8000", "64000")}


TRUE_WORDS = frozenset(("yes", "on", "true", "t", "enabled", "active", "allow"))


def truthy(value: str | None) -> bool:
    """switch_true(): yes/on/true/t/enabled/active/allow or a non-zero number."""
    text = (value or "").strip().lower()
    if text in TRUE_WORDS:
        return True
    try:
        return int(text) != 0
    except ValueError:
        return False


FALSE_WORDS = frozenset(("no", "off", "false", "f", "disabled", "inactive", "disallow"))


def falsy(value: str | None) -> bool:
    """switch_false(): no/off/false/f/disabled/inactive/disallow or the number 0."""
    text = (value or "").strip().lower()
    if text in FALSE_WORDS:
        return True
    try:
        return int(text) == 0
    except ValueError:
        return False


def now_us() -> int:
    """Wall-clock time in microseconds, as FreeSWITCH timestamps are."""
    return time.time_ns() // 1000


class Profile:
    """A caller profile (switch_caller_profile_t) with its event-header serialization."""

    def __init__(self, **kw: Any) -> None:
        self.direction = kw.get("direction", "inbound")
        self.logical_direction = kw.get("logical_direction", self.direction)
        self.dialplan = kw.get("dialplan", "xml")
        self.caller_id_name = kw.get("caller_id_name", "")
        self.caller_id_number = kw.get("caller_id_number", "")
        self.orig_caller_id_name = kw.get("orig_caller_id_name", self.caller_id_name)
        self.orig_caller_id_number = kw.get("orig_caller_id_number", self.caller_id_number)
        self.callee_id_name = kw.get("callee_id_name", "")
        self.callee_id_number = kw.get("callee_id_number", "")
        self.ani = kw.get("ani", self.caller_id_number)
        self.destination_number = kw.get("destination_number", "")
        self.unique_id = kw.get("unique_id", "")
        self.source = kw.get("source", "mod_sofia")
        self.transfer_source = kw.get("transfer_source", "")
        self.context = kw.get("context", "default")
        self.rdnis = kw.get("rdnis", "")  # the number before a transfer
        self.network_addr = kw.get("network_addr", "")
        self.channel_name = kw.get("channel_name", "")
        self.profile_index = kw.get("profile_index", 1)
        self.created_us = kw.get("created_us", now_us())

    def headers(self, prefix: str, ch: Channel, index: bool = True) -> list[tuple[str, str]]:
        """Headers as switch_caller_profile_event_set_data writes them (empty ones omitted)."""
        out = []
        for name, value in (
            ("Direction", self.direction),
            ("Logical-Direction", self.logical_direction),
            ("Dialplan", self.dialplan),
            ("Caller-ID-Name", self.caller_id_name),
            ("Caller-ID-Number", self.caller_id_number),
            ("Orig-Caller-ID-Name", self.orig_caller_id_name),
            ("Orig-Caller-ID-Number", self.orig_caller_id_number),
            ("Callee-ID-Name", self.callee_id_name),
            ("Callee-ID-Number", self.callee_id_number),
            ("Network-Addr", self.network_addr),
            ("ANI", self.ani),
            ("Destination-Number", self.destination_number),
            ("Unique-ID", self.unique_id),
            ("Source", self.source),
            ("Transfer-Source", self.transfer_source),
            ("Context", self.context),
            ("RDNIS", self.rdnis),
            ("Channel-Name", self.channel_name),
        ):
            if value:
                out.append((f"{prefix}-{name}", value))
        if index:
            out.append((f"{prefix}-Profile-Index", str(self.profile_index)))
        t = ch.times
        out += [
            (f"{prefix}-Profile-Created-Time", str(self.created_us)),
            (f"{prefix}-Channel-Created-Time", str(t["created"])),
            (f"{prefix}-Channel-Answered-Time", str(t["answered"])),
            (f"{prefix}-Channel-Progress-Time", str(t["progress"])),
            (f"{prefix}-Channel-Progress-Media-Time", str(t["progress_media"])),
            (f"{prefix}-Channel-Hangup-Time", str(t["hangup"])),
            (f"{prefix}-Channel-Transfer-Time", str(t["transfer"])),
            (f"{prefix}-Channel-Resurrect-Time", "0"),
            (f"{prefix}-Channel-Bridged-Time", str(t["bridged"])),
            (f"{prefix}-Channel-Last-Hold", str(t["last_hold"])),
            (f"{prefix}-Channel-Hold-Accum", str(t["hold_accum"])),
            (f"{prefix}-Screen-Bit", "true"),
            (f"{prefix}-Privacy-Hide-Name", "false"),
            (f"{prefix}-Privacy-Hide-Number", "false"),
        ]
        return out


class Channel:
    """One simulated call leg."""

    def __init__(
        self,
        uuid: str,
        name: str,
        direction: str,
        profile: Profile,
        kind: str = "sofia",
        codec: str = "PCMU",
        session_id: int = 0,
    ) -> None:
        self.uuid = uuid
        self.name = name
        self.direction = direction
        self.kind = kind  # loopback | sofia
        self.codec = CODECS[codec]
        self.session_id = session_id
        self.profile = profile
        profile.unique_id = uuid
        profile.channel_name = name
        self.initial = {
            "cid_name": profile.caller_id_name,
            "cid_num": profile.caller_id_number,
            "ip_addr": profile.network_addr,
            "dest": profile.destination_number,
            "dialplan": profile.dialplan,
            "context": profile.context,
        }
        self.state = "CS_NEW"
        self.state_num = 0
        self.callstate = "DOWN"
        self.answer_state = "ringing"
        self.hit_dialplan = direction == "inbound"
        self.hangup_cause: str | None = None
        self.vars: dict[str, str] = {}
        created = profile.created_us
        self.times = {
            "created": created,
            "answered": 0,
            "progress": 0,
            "progress_media": 0,
            "hangup": 0,
            "transfer": 0,
            "bridged": 0,
            "last_hold": 0,
            "hold_accum": 0,
        }
        self.bridge_peer: Channel | None = None
        self.other_leg: Channel | None = None  # Other-Leg-* profile shown in events
        self.other_type = ""  # originator | originatee
        self.loopback_peer: Channel | None = None
        self.loopback_leg = ""
        self.held = False
        self.hold_started_us = 0
        self.hold_spans: list[list[int]] = []  # SIP holds [start, stop] µs (hold_events)
        # an originated SIP leg learns its codec (SDP) and the far end's address only once
        # the far end responds: until then FreeSWITCH shows neither (sip-call-hold.txt)
        self.media_ready = True
        self.far_addr = ""
        # session machinery
        self.apps: deque[tuple[str, str]] = deque()
        self.private: deque[dict[str, str]] = deque()
        self.dtmf: deque[str] = deque()
        self.wake = asyncio.Event()
        self.hungup = asyncio.Event()
        self.reported = asyncio.Event()
        self.destroyed = asyncio.Event()
        self.answered = asyncio.Event()
        self.holds: list[asyncio.Future[Any]] = []
        self.audio: dict[str, int] = {}  # uuid_audio: "read_mute" / "write_level" -> level
        # media bugs on this channel in the order attached (switchsim.audio_paths.AudioBug,
        # .Eavesdrop): the order decides how they mix, as in switch_core_media_bug_add
        self.bugs: list[Any] = []
        self.eavesdrop: Any = None  # the Eavesdrop this channel runs (eavesdrop app)
        self.avmd: Any = None  # switchsim.avmd.AvmdSession while mod_avmd listens
        self.far_beep: tuple[float, float] | None = None  # a machine's beep: (loop time, Hz)
        # switch_core_session_queue_event: `sendevent` with this Unique-ID (eavesdrop-command)
        self.events: deque[dict[str, str]] = deque(maxlen=256)
        self.break_flag = False
        self.pending_hangup: str | None = None
        self.idle_wait = False
        self.hangup_with_peer = False
        self.media_break = False
        self.outbound_done: Any = None
        # the socket app's server went away without `resume` (mod_event_socket clears
        # CF_CONTROLLED): the app's park ends once what it runs now is over
        self.socket_lost = False
        self.exports: set[str] = set()
        self.background: Any = None
        self.transfer_to: tuple[str, str, str] | None = None
        self.transfer_stamped: tuple[str, str, str] | None = None  # profile already moved
        self.bridge_request: Channel | None = None
        # bumped whenever something pulls the channel away from what it does (uuid_bridge,
        # uuid_transfer, uuid_park): a bridge partner watching it sees the change
        self.moves = 0
        self.park_request = False  # switch_ivr_park_session: park as soon as the app returns
        self.parked = False
        self.conference_member_id = 0  # kept for re-joins, as mod_conference's __confmid
        self.current_app = ""
        self.current_arg = ""
        self.last_app = ""
        self.last_arg = ""
        self.digits_dialed = ""
        self.recordings: dict[str, Any] = {}
        self.playback_file = ""
        self.task: asyncio.Task[None] | None = None
        self.caller: Any = None  # simulated caller behaviour (inbound trunk calls)
        self.phone: Any = None  # simulated agent phone (user/ legs)
        self.on_collect: Any = None  # hook used by DTMF-collecting apps
        self.outbound_conn: Any = None

    # -- variables -------------------------------------------------------------------------
    def set_var(self, name: str, value: str | None) -> None:
        if value is None or value == "":
            self.vars.pop(name, None)
        else:
            self.vars[name] = str(value)

    def get_var(self, name: str) -> str | None:
        return self.vars.get(name)

    @property
    def call_uuid(self) -> str:
        return self.vars.get("call_uuid", self.uuid)

    @property
    def is_up(self) -> bool:
        return not self.hungup.is_set()

    def set_state(self, state: str, number: int | None = None) -> None:
        self.state = state
        self.state_num = STATE_NUMBERS[state] if number is None else number

    def far_end_responded(self, media: bool) -> None:
        """The far end answered a SIP request: its address is known, and with SDP (183 or
        200) the codec too."""
        if self.far_addr:
            self.profile.network_addr, self.far_addr = self.far_addr, ""
        if media and not self.media_ready:
            self.media_ready = True
            c = self.codec
            self.vars.update(read_codec=c[0], read_rate=c[1], write_codec=c[0], write_rate=c[1])

    def wake_up(self) -> None:
        self.wake.set()

    # -- event headers ---------------------------------------------------------------------
    def data_headers(self, with_vars: bool = True) -> list[tuple[str, str]]:
        """Channel-*, Caller-*, Other-Leg-*, variable_* headers (switch_channel_event_set_data)."""
        h = [
            ("Channel-State", self.state),
            ("Channel-Call-State", self.callstate),
            ("Channel-State-Number", str(self.state_num)),
            ("Channel-Name", self.name),
            ("Unique-ID", self.uuid),
            ("Call-Direction", self.direction),
            ("Presence-Call-Direction", self.direction),
            ("Channel-HIT-Dialplan", "true" if self.hit_dialplan else "false"),
            ("Channel-Call-UUID", self.call_uuid),
            ("Answer-State", self.answer_state),
        ]
        if self.hangup_cause:
            h.append(("Hangup-Cause", self.hangup_cause))
        c = self.codec
        if self.media_ready:
            h += [
                ("Channel-Read-Codec-Name", c[0]),
                ("Channel-Read-Codec-Rate", c[1]),
                ("Channel-Read-Codec-Bit-Rate", c[2]),
                ("Channel-Write-Codec-Name", c[0]),
                ("Channel-Write-Codec-Rate", c[1]),
                ("Channel-Write-Codec-Bit-Rate", c[2]),
            ]
        h += self.profile.headers("Caller", self)
        other = self.other_leg
        if other is not None and self.other_type:
            h.append(("Other-Type", self.other_type))
            h += other.profile.headers("Other-Leg", other, index=False)
        if with_vars:
            h += [("variable_" + k, v) for k, v in self.vars.items()]
        return h

    def caller_id(self) -> str:
        p = self.profile
        if p.caller_id_name:
            return f'"{p.caller_id_name}" <{p.caller_id_number}>'
        return p.caller_id_number
