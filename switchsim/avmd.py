"""mod_avmd (FreeSWITCH's in-tree voicemail beep detector): the ``avmd_start`` /
``avmd_stop`` / ``avmd`` applications, the ``avmd`` api and its CUSTOM events.

Owns mod_avmd's visible behaviour as captured (avmd.txt): a media bug ``avmd``
(MEDIA_BUG_START / STOP, ``Media-Bug-Target: N/A``) on an answered outbound channel (the
default configuration detects on outbound channels only), ``avmd::start``, ``avmd::beep``
(Beep-Status DETECTED, Frequency, Detection-time in µs since the start …) and
``avmd::stop``, each delivered twice with the same Event-Sequence (avmd_fire_event fires a
copy, then queues the event to the session, which adds the channel's data and fires it
again). On a beep the channel gets ``avmd_detect=TRUE`` and ``avmd_total_time=[ms]``; the
bug stays until avmd_stop or the hang-up (a hang-up fires MEDIA_BUG_STOP, no avmd::stop).

What is a beep: a single-frequency ``tone_stream://`` the channel hears (its loopback
partner or bridge partner plays it), detected 40 ms after the tone starts (as captured), or
the greeting's end of an answering machine far end (:mod:`switchsim.far_end`, outcome
``machine``). A person never beeps. As captured, a session started by the ``avmd <uuid>
start`` api (initialised at 48 kHz on an 8 kHz channel) detects nothing, and its ``stop``
reports ``Stop-status: ERROR (AVMD SESSION OBJECT NOT FOUND IN MEDIA BUG)`` with a negative
Total-time.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass, field

from switchsim.channel import Channel, now_us
from switchsim.events import Event
from switchsim.switch import Switch

log = logging.getLogger(__name__)

W_AVMD = ("mod_avmd.c", "avmd_fire_event", 700)
SYNTAX = (
    "<uuid> < start | stop | set [inbound|outbound|default] | load [inbound|outbound] "
    "| reload | show >"
)
DETECTION_DELAY = 0.04  # seconds of tone before avmd reports it (2040 ms for a tone at 2 s)
_SEGMENT = re.compile(r"%\((\d+),(\d+),([\d.+]+)\)")


@dataclass(eq=False)
class AvmdSession:
    """One running detector (avmd_session_t) and its media bug."""

    start_us: int
    detects: bool  # False for the api-started session (it hears nothing, as captured)
    detected: bool = False
    function: str = "avmd"
    bug_target: str = "N/A"
    timers: list[asyncio.TimerHandle] = field(default_factory=list)


def _fire_twice(sw: Switch, ch: Channel, subclass: str, headers: list[tuple[str, str]]) -> None:
    """avmd_fire_event: the event as is, then (from the session) with the channel's data."""
    ids = [("Unique-ID", ch.uuid), ("Call-command", "avmd")]
    first = sw.bus.make("CUSTOM", W_AVMD, ids + headers, None, subclass)
    sw.bus.fire(first)

    def again() -> None:
        if ch.state != "CS_DESTROY":
            sw.bus.fire(Event("CUSTOM", first.headers + ch.data_headers(), None, subclass))

    asyncio.get_running_loop().call_soon(again)


def _can_start(ch: Channel) -> str | None:
    """Why avmd cannot run on this channel (None: it can)."""
    if ch.direction != "outbound":
        return "direction"
    if not (ch.times["answered"] or ch.times["progress_media"]):
        return "codec"
    return None


def start(sw: Switch, ch: Channel, detects: bool = True) -> AvmdSession:
    session = AvmdSession(now_us(), detects)
    ch.avmd = session
    sw.add_bug(ch, session)
    _fire_twice(sw, ch, "avmd::start", [("Start-time", str(session.start_us))])
    beep = ch.far_beep
    if beep is not None:
        expect(sw, ch, beep[0], beep[1])
    return session


def _remove(sw: Switch, ch: Channel, session: AvmdSession) -> None:
    for timer in session.timers:
        timer.cancel()
    ch.avmd = None
    sw.remove_bug(ch, session)


def expect(sw: Switch, ch: Channel, at: float, freq: float) -> None:
    """A beep reaches ``ch`` at loop time ``at``: a running detector reports it."""
    session = ch.avmd
    if session is None or not session.detects or session.detected:
        return
    loop = asyncio.get_running_loop()
    if at + DETECTION_DELAY < loop.time() - 0.5:
        return  # it beeped before the detector listened
    delay = max(0.0, at - loop.time()) + DETECTION_DELAY
    session.timers.append(loop.call_later(delay, _beep, sw, ch, session, freq))


def _beep(sw: Switch, ch: Channel, session: AvmdSession, freq: float) -> None:
    if ch.avmd is not session or session.detected or not ch.is_up:
        return
    session.detected = True
    detection_us = now_us() - session.start_us
    ch.vars["avmd_total_time"] = f"[{detection_us // 1000}]"
    ch.vars["avmd_detect"] = "TRUE"
    _fire_twice(
        sw,
        ch,
        "avmd::beep",
        [
            ("Beep-Status", "DETECTED"),
            ("Frequency", f"{freq:f}"),
            ("Frequency-variance", "0.000018"),
            ("Amplitude", "14401.345206"),
            ("Amplitude-variance", "27176.962574"),
            ("Detection-time", str(detection_us)),
            ("Detector-resolution", "1"),
            ("Detector-offset", "0"),
            ("Detector-index", "0"),
        ],
    )


def tone_frequency(path: str) -> float | None:
    """The frequency of a single-tone ``tone_stream://`` of at least 100 ms (a beep), else
    None (dual tones such as ringback or DTMF, silence, files)."""
    if not path.startswith("tone_stream://"):
        return None
    for on, _off, freqs in _SEGMENT.findall(path):
        parts = [f for f in freqs.split(",") if f]
        if int(on) >= 100 and len(parts) == 1 and "+" not in parts[0]:
            try:
                return float(parts[0])
            except ValueError:
                return None
    return None


def heard_tone(sw: Switch, player: Channel, path: str, offset: float = 0.0) -> None:
    """``player`` starts playing ``path``: channels that hear it (its loopback partner, its
    bridge partner) may detect a beep."""
    freq = tone_frequency(path)
    if freq is None:
        return
    at = asyncio.get_running_loop().time() + offset
    for listener in (player.loopback_peer, player.bridge_peer):
        if listener is not None and listener.avmd is not None:
            expect(sw, listener, at, freq)


def far_end_beeps(sw: Switch, ch: Channel, greeting: float, freq: float = 1000.0) -> None:
    """An answering machine answered ``ch``: its beep comes after ``greeting`` seconds."""
    at = asyncio.get_running_loop().time() + greeting
    ch.far_beep = (at, freq)
    expect(sw, ch, at, freq)


# -- applications ---------------------------------------------------------------------------
async def app_avmd_start(sw: Switch, ch: Channel, arg: str) -> str | None:
    if ch.avmd is not None:
        log.error("%s: Avmd already started!", ch.name)
        return None
    why = _can_start(ch)
    if why == "direction":
        log.error("Can't set direction for channel [%s]", ch.name)
        return None
    if why == "codec":
        log.error("Channel [%s] has no codec assigned yet. Please try again", ch.name)
        return None
    start(sw, ch)
    return None


async def app_avmd_stop(sw: Switch, ch: Channel, arg: str) -> str | None:
    session = ch.avmd
    if session is None:
        log.error("Stop failed - no avmd session running on this channel [%s]!", ch.name)
        return None
    status = "DETECTED" if session.detected else "NOTDETECTED"
    total = now_us() - session.start_us
    _fire_twice(sw, ch, "avmd::stop", [("Beep-Status", status), ("Total-time", str(total))])
    _remove(sw, ch, session)
    return None


async def app_avmd(sw: Switch, ch: Channel, arg: str) -> str | None:
    """The deprecated ``avmd [start|stop]`` application."""
    if arg.strip().lower() == "stop":
        return await app_avmd_stop(sw, ch, arg)
    return await app_avmd_start(sw, ch, arg)


# -- api ------------------------------------------------------------------------------------
def api_avmd(sw: Switch, arg: str) -> str:
    """``avmd <uuid> start|stop`` (avmd_api_main, replies as mod_avmd writes them)."""
    words = arg.split()
    if not words:
        return f"-ERR, bad command!\n-USAGE: {SYNTAX}\n\n"
    if words[0].lower() in ("reload", "load", "set", "show"):
        return "+OK\n show\n\n" if words[0].lower() == "show" else "+OK\n\n"
    uuid = words[0]
    command = words[1].lower() if len(words) > 1 else ""
    ch = sw.get(uuid)
    if ch is None:
        return f"-ERR, no FreeSWITCH session for uuid [{uuid}]!\n-USAGE: {SYNTAX}\n\n"
    session = ch.avmd
    if session is not None:
        if command == "stop":
            _remove(sw, ch, session)
            # avmd_session->stop_time is never set on this path: Total-time = -start_time
            _fire_twice(
                sw,
                ch,
                "avmd::stop",
                [
                    ("Beep-Status", "DETECTED"),
                    ("Stop-status", "ERROR (AVMD SESSION OBJECT NOT FOUND IN MEDIA BUG)"),
                    ("Total-time", str(-session.start_us)),
                ],
            )
            return f"+OK\n [{uuid}] [{ch.name}] stopped\n\n"
        return f"-ERR, avmd for FreeSWITCH session [{uuid}]\n already started\n\n"
    if command == "stop":
        return f"+ERR, avmd has not yet been started on\n [{uuid}] [{ch.name}]\n\n"
    why = _can_start(ch)
    if why == "direction":
        return (
            f"-ERR, can't set direction for channel [{ch.name}]\n for FreeSWITCH session "
            f"[{uuid}]. Please check avmd configuration\n\n"
        )
    if why == "codec":
        return (
            f"-ERR, channel [{ch.name}] for FreeSWITCH session [{uuid}]\n has no read codec "
            "assigned yet. Please try again.\n\n"
        )
    if command != "start":
        return f"-ERR, did you mean\n api avmd {uuid} start ?\n-USAGE: {SYNTAX}\n\n"
    start(sw, ch, detects=False)
    return f"+OK\n [{uuid}] [{ch.name}] started!\n\n"
