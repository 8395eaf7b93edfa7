"""The simulated switch core: channel registry and the primitive channel operations.

Owns the channel table, session counters, global variables and every operation that fires
a channel event (state changes, answer, progress, hangup, DTMF, hold). Higher-level
behaviour (what a channel does over time) lives in :mod:`switchsim.session`,
:mod:`switchsim.legs` and :mod:`switchsim.apps`.
"""

from __future__ import annotations

import logging
import time
from collections import ChainMap
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from switchsim.channel import CALLSTATE_NUMBERS, Channel, now_us, truthy
from switchsim.events import EventBus
from switchsim.far_end import FarEnds
from switchsim.gateways import Gateways
from switchsim.modules import Modules

if TYPE_CHECKING:
    from switchsim.config import Config
    from switchsim.dialplan import Dialplan

log = logging.getLogger(__name__)

# (file, function, line) triples FreeSWITCH reports in Event-Calling-* headers.
W_STATE = ("switch_channel.c", "switch_channel_perform_set_running_state", 2409)
W_CALLSTATE = ("switch_channel.c", "switch_channel_perform_set_callstate", 302)
W_CREATE = ("switch_core_state_machine.c", "switch_core_session_run", 626)
W_ORIGINATE = ("switch_core_state_machine.c", "switch_core_session_run", 632)
W_ANSWER = ("switch_channel.c", "switch_channel_perform_mark_answered", 3848)
W_PROGRESS = ("switch_channel.c", "switch_channel_perform_mark_ring_ready_value", 1096)
W_PROGRESS_MEDIA = ("switch_channel.c", "switch_channel_perform_mark_pre_answered", 3654)
W_HANGUP = ("switch_channel.c", "switch_channel_perform_hangup", 3447)
W_HANGUP_COMPLETE = ("switch_core_state_machine.c", "switch_core_session_reporting_state", 943)
W_OUTGOING = ("switch_core_session.c", "switch_core_session_outgoing_channel", 768)
W_DESTROY = ("switch_core_session.c", "switch_core_session_perform_destroy", 1588)
W_EXECUTE = ("switch_core_session.c", "switch_core_session_exec", 2949)
W_EXECUTE_COMPLETE = ("switch_core_session.c", "switch_core_session_exec", 2972)
W_DTMF = ("switch_channel.c", "switch_channel_dequeue_dtmf", 678)
W_HOLD = ("switch_ivr.c", "switch_ivr_hold", 1558)
W_UNHOLD = ("switch_ivr.c", "switch_ivr_unhold", 1608)
W_PARK = ("switch_ivr.c", "switch_ivr_park", 1002)
W_UNPARK = ("switch_ivr.c", "switch_ivr_park", 1213)
W_BRIDGE = ("switch_ivr_bridge.c", "switch_ivr_multi_threaded_bridge", 1689)
W_UNBRIDGE = ("switch_ivr_bridge.c", "switch_ivr_multi_threaded_bridge", 1879)
W_PLAYBACK_START = ("switch_ivr_play_say.c", "switch_ivr_play_file", 1649)
W_PLAYBACK_STOP = ("switch_ivr_play_say.c", "switch_ivr_play_file", 2023)
W_RECORD_START = ("switch_ivr_async.c", "record_callback", 1482)
W_RECORD_STOP = ("switch_ivr_async.c", "send_record_stop_event", 1241)
W_CHANNEL_DATA = ("mod_event_socket.c", "parse_command", 2029)
W_BUG_START = ("switch_core_media_bug.c", "switch_core_media_bug_add", 1014)
W_BUG_STOP = ("switch_core_media_bug.c", "switch_core_media_bug_destroy", 84)
W_BGJOB = ("mod_event_socket.c", "api_exec", 1580)

Q850 = {
    "UNSPECIFIED": 0,
    "UNALLOCATED_NUMBER": 1,
    "NO_ROUTE_DESTINATION": 3,
    "NORMAL_CLEARING": 16,
    "USER_BUSY": 17,
    "NO_USER_RESPONSE": 18,
    "NO_ANSWER": 19,
    "SUBSCRIBER_ABSENT": 20,
    "CALL_REJECTED": 21,
    "DESTINATION_OUT_OF_ORDER": 27,
    "INVALID_NUMBER_FORMAT": 28,
    "NORMAL_UNSPECIFIED": 31,
    "NORMAL_TEMPORARY_FAILURE": 41,
    "RECOVERY_ON_TIMER_EXPIRE": 102,
    "ORIGINATOR_CANCEL": 487,
    "LOSE_RACE": 502,
    "USER_NOT_REGISTERED": 606,
    "MANAGER_REQUEST": 503,
    "ALLOTTED_TIMEOUT": 602,
    "ATTENDED_TRANSFER": 601,
    "PICKED_OFF": 488,
    "CALL_AWARDED_DELIVERED": 7,
    "INCOMPATIBLE_DESTINATION": 88,
    "CHAN_NOT_IMPLEMENTED": 66,
    "SYSTEM_SHUTDOWN": 503,
    "GATEWAY_DOWN": 609,
}


# the SIP answer behind a hang-up cause the far end gave (sofia's proto_specific_hangup_cause)
SIP_REJECTIONS = {
    "USER_BUSY": "sip:486",
    "CALL_REJECTED": "sip:603",
    "UNALLOCATED_NUMBER": "sip:404",
    "NO_USER_RESPONSE": "sip:408",
    "NORMAL_TEMPORARY_FAILURE": "sip:503",
}


def valid_cause(name: str) -> bool:
    return name.upper() in Q850


class Switch:
    """Channel registry plus primitive, event-firing channel operations."""

    def __init__(self, config: Config, dialplan: Dialplan) -> None:
        self.config = config
        self.dialplan = dialplan
        self.bus = EventBus(config.hostname, config.ipv4, config.ipv6)
        self.channels: dict[str, Channel] = {}
        self.started = time.monotonic()
        self.session_counter = 0
        self.peak = 0
        self.globals: dict[str, str] = {}
        self.world: Any = None  # switchsim.world.World, set by the server
        self.outbound_factory: Any = None  # connects socket-app sessions
        self.conferences: Any = None  # switchsim.conference.Conferences, made on first use
        self.gateways = Gateways(self.bus)
        self.gateways.declare(config.gateways)
        self.far_ends = FarEnds()  # who answers trunk calls (switchsim.far_end)
        self.modules = Modules(config.with_modules, config.without_modules)
        # hung-up channels `show channels` still lists (--show-channels-lag): uuid -> (when
        # it hung up, monotonic; its rows as the core db had them)
        self.lagging: dict[str, tuple[float, dict[str, Any]]] = {}

    # -- registry ------------------------------------------------------------------------
    def next_session_id(self) -> int:
        self.session_counter += 1
        return self.session_counter

    def add(self, ch: Channel) -> None:
        self.channels[ch.uuid] = ch
        self.peak = max(self.peak, len(self.channels))

    def remove(self, ch: Channel) -> None:
        self.channels.pop(ch.uuid, None)

    def get(self, uuid: str) -> Channel | None:
        ch = self.channels.get(uuid)
        return ch if ch is not None and ch.state != "CS_DESTROY" else None

    # -- event helpers -------------------------------------------------------------------
    def chan_event(
        self,
        ch: Channel,
        name: str,
        where: tuple[str, str, int],
        after: list[tuple[str, str]] | None = None,
        before: list[tuple[str, str]] | None = None,
        with_vars: bool = True,
    ) -> None:
        headers = list(before) if before else []
        headers += ch.data_headers(with_vars)
        if after:
            headers += after
        self.bus.emit(name, where, headers)

    def set_state(self, ch: Channel, state: str, number: int | None = None) -> None:
        ch.set_state(state, number)
        self.chan_event(ch, "CHANNEL_STATE", W_STATE, with_vars=False)

    def set_callstate(self, ch: Channel, callstate: str) -> None:
        if ch.callstate == callstate:
            return
        original = ch.callstate
        ch.callstate = callstate
        self.chan_event(
            ch,
            "CHANNEL_CALLSTATE",
            W_CALLSTATE,
            after=[
                ("Original-Channel-Call-State", original),
                ("Channel-Call-State-Number", str(CALLSTATE_NUMBERS[callstate])),
            ],
            with_vars=False,
        )

    # -- call progress -------------------------------------------------------------------
    def ring(self, ch: Channel) -> None:
        """180 Ringing on an outbound leg: CHANNEL_PROGRESS and call state RINGING."""
        if ch.times["progress"] or not ch.is_up:
            return
        ch.times["progress"] = now_us()
        ch.far_end_responded(media=False)
        self.chan_event(ch, "CHANNEL_PROGRESS", W_PROGRESS)
        self.set_callstate(ch, "RINGING")

    def pre_answer(self, ch: Channel) -> None:
        """Early media: CHANNEL_PROGRESS_MEDIA and call state EARLY."""
        if ch.times["progress_media"] or ch.times["answered"] or not ch.is_up:
            return
        if ch.loopback_peer is not None and ch.loopback_leg == "B":
            self.pre_answer(ch.loopback_peer)
        ch.times["progress_media"] = now_us()
        ch.far_end_responded(media=True)
        ch.answer_state = "early"
        self.chan_event(ch, "CHANNEL_PROGRESS_MEDIA", W_PROGRESS_MEDIA)
        self.set_callstate(ch, "EARLY")

    def answer(self, ch: Channel) -> None:
        """Mark a channel answered (and its loopback peer first, as mod_loopback does)."""
        if ch.times["answered"] or not ch.is_up:
            return
        peer = ch.loopback_peer
        if peer is not None and ch.loopback_leg == "B" and not peer.times["answered"]:
            self.answer(peer)
        ch.times["answered"] = now_us()
        ch.far_end_responded(media=True)
        ch.answer_state = "answered"
        self.chan_event(ch, "CHANNEL_ANSWER", W_ANSWER)
        self.set_callstate(ch, "ACTIVE")
        if ch.kind == "sofia" and ch.direction == "outbound":
            # a SIP leg fires CHANNEL_OUTGOING again once answered (sip-call-hold.txt)
            self.chan_event(ch, "CHANNEL_OUTGOING", W_OUTGOING, with_vars=False)
        ch.answered.set()
        ch.wake_up()

    def hangup(self, ch: Channel, cause: str = "NORMAL_CLEARING") -> bool:
        """Hang a channel up now: fire CHANNEL_HANGUP and interrupt whatever it does."""
        if ch.hungup.is_set():
            return False
        cause = cause.upper() if valid_cause(cause) else "NORMAL_CLEARING"
        ch.hangup_cause = cause
        ch.far_end_responded(media=False)
        if ch.kind == "sofia" and ch.direction == "outbound" and cause in SIP_REJECTIONS:
            ch.vars["proto_specific_hangup_cause"] = SIP_REJECTIONS[cause]

        ch.answer_state = "hangup"
        ch.state_num = 10
        ch.times["hangup"] = now_us()
        ch.vars.pop("current_loop", None)
        ch.vars.pop("total_loops", None)
        if self.config.show_channels_lag > 0:
            from switchsim.api_show import remember_hangup

            remember_hangup(self, ch)
        self.chan_event(ch, "CHANNEL_HANGUP", W_HANGUP)
        peer = ch.loopback_peer
        if peer is not None and peer.is_up:
            self.soft_hangup(peer, cause)
        for bug in ch.bugs:  # an eavesdropper on this channel stops listening
            spy = getattr(bug, "eavesdropper", None)
            if spy is not None:
                spy.wake_up()
        peer = ch.bridge_peer
        if peer is not None and peer.is_up:
            # park_after_bridge / transfer_after_bridge: the bridge's ending decides instead
            stays = truthy(peer.vars.get("park_after_bridge")) or bool(
                peer.vars.get("transfer_after_bridge")
            )
            if peer.hangup_with_peer and not stays:
                self.soft_hangup(peer, cause)
            else:
                peer.wake_up()
        ch.hungup.set()
        ch.wake_up()
        return True

    def soft_hangup(self, ch: Channel, cause: str) -> None:
        """Ask a channel to hang up once its current application returns (media gone)."""
        if not ch.is_up:
            return
        ch.pending_hangup = cause
        ch.break_flag = True
        ch.wake_up()

    # -- media-ish operations ------------------------------------------------------------
    def receive_dtmf(self, ch: Channel, digits: str, duration: int = 2000) -> None:
        """DTMF arriving on a channel: one DTMF event per digit, buffered for apps."""
        for digit in digits:
            if not ch.is_up:
                return
            self.chan_event(
                ch,
                "DTMF",
                W_DTMF,
                after=[
                    ("DTMF-Digit", digit),
                    ("DTMF-Duration", str(duration)),
                    ("DTMF-Source", "UNKNOWN"),
                ],
                with_vars=False,
            )
            ch.dtmf.append(digit)
            ch.digits_dialed += digit
        ch.wake_up()

    def hold(self, ch: Channel) -> bool:
        if ch.held or not ch.is_up:
            return False
        ch.held = True
        ch.hold_started_us = now_us()
        ch.times["last_hold"] = ch.hold_started_us
        if ch.kind != "loopback":
            # sofia's hold bookkeeping, shown as hold_stamp / hold_events at hang-up
            ch.hold_spans.append([ch.hold_started_us, 0])
            # sofia marks the call state HELD before switch_ivr_hold fires CHANNEL_HOLD
            # (sip-call-hold.txt); mod_loopback never changes its call state
            self.set_callstate(ch, "HELD")
        self.chan_event(ch, "CHANNEL_HOLD", W_HOLD)
        return True

    def unhold(self, ch: Channel) -> bool:
        if not ch.held or not ch.is_up or ch.kind == "loopback":
            # mod_loopback channels never get CF_HOLD: FreeSWITCH answers -ERR Operation failed
            return False
        ch.held = False
        ch.times["hold_accum"] += now_us() - ch.hold_started_us
        if ch.hold_spans:
            ch.hold_spans[-1][1] = now_us()
        # sip-call-hold.txt: CALLSTATE UNHELD, CHANNEL_UNHOLD, then CALLSTATE ACTIVE
        self.set_callstate(ch, "UNHELD")
        self.chan_event(ch, "CHANNEL_UNHOLD", W_UNHOLD)
        self.set_callstate(ch, "ACTIVE")
        return True

    # -- media bugs ----------------------------------------------------------------------
    def add_bug(self, ch: Channel, bug: Any) -> None:
        """switch_core_media_bug_add: attach ``bug`` (``.function``, ``.bug_target``) last in
        ``ch.bugs`` and fire MEDIA_BUG_START with the channel's data."""
        ch.bugs.append(bug)
        self._bug_event(ch, bug, "MEDIA_BUG_START", W_BUG_START)

    def remove_bug(self, ch: Channel, bug: Any) -> bool:
        """switch_core_media_bug_remove: detach ``bug`` (MEDIA_BUG_STOP); False if it was
        not attached. An eavesdropper whose bug goes is woken up to notice."""
        if bug not in ch.bugs:
            return False
        ch.bugs.remove(bug)
        self._bug_event(ch, bug, "MEDIA_BUG_STOP", W_BUG_STOP)
        spy = getattr(bug, "eavesdropper", None)
        if spy is not None:
            spy.wake_up()
        return True

    def remove_all_bugs(self, ch: Channel) -> None:
        """switch_core_media_bug_remove_all (the hang-up state handler)."""
        for bug in list(ch.bugs):
            self.remove_bug(ch, bug)
        ch.audio.clear()

    def _bug_event(self, ch: Channel, bug: Any, name: str, where: tuple[str, str, int]) -> None:
        ids = [("Media-Bug-Function", bug.function), ("Media-Bug-Target", bug.bug_target)]
        self.chan_event(ch, name, where, before=ids)

    # -- misc ----------------------------------------------------------------------------
    def uptime_text(self) -> str:
        total_us = int((time.monotonic() - self.started) * 1_000_000)
        sec, us = divmod(total_us, 1_000_000)
        ms, mms = divmod(us, 1000)
        mins, sec = divmod(sec, 60)
        hrs, mins = divmod(mins, 60)
        days, hrs = divmod(hrs, 24)
        yrs, days = divmod(days, 365)
        return (
            f"{yrs} years, {days} days, {hrs} hours, {mins} minutes, {sec} seconds, "
            f"{ms} milliseconds, {mms} microseconds"
        )

    def expand(self, text: str, ch: Channel | None = None, captures: tuple[str, ...] = ()) -> str:
        from switchsim.dialplan import expand

        if "$" not in text:  # most actions: no variables to build
            return text
        return expand(text, channel_variables(ch) if ch else {}, self.globals, captures)


# switch_caller_get_field_by_name (switch_caller.c): a variable the channel does not have is
# looked up in its caller profile (switch_channel_get_variable_dup), so the dialplan's
# ${caller_id_number} is the caller's number.
_PROFILE_FIELDS = (
    "dialplan",
    "caller_id_name",
    "caller_id_number",
    "orig_caller_id_name",
    "orig_caller_id_number",
    "callee_id_name",
    "callee_id_number",
    "ani",
    "network_addr",
    "rdnis",
    "destination_number",
    "source",
    "context",
)


def channel_variables(ch: Channel) -> Mapping[str, str]:
    """The channel's variables, then its caller profile's fields."""
    profile = {name: str(getattr(ch.profile, name, "") or "") for name in _PROFILE_FIELDS}
    profile["uuid"] = ch.uuid
    return ChainMap(ch.vars, profile)
