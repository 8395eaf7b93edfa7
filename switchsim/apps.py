"""Dialplan applications (answer, park, bridge, set, socket …) and the APPS registry.

Owns the non-media applications; media ones are in :mod:`switchsim.media`, ``conference``
in :mod:`switchsim.conference`, ``eavesdrop`` in :mod:`switchsim.eavesdrop`. Every app is
``async def app(sw, ch, arg) -> response | None``; CHANNEL_EXECUTE / _COMPLETE are fired
by :func:`switchsim.session.execute` around it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from switchsim import avmd, fax, media
from switchsim.bridge import run_bridge
from switchsim.channel import Channel
from switchsim.conference import app_conference
from switchsim.eavesdrop import app_eavesdrop
from switchsim.legs import OriginateError, originate_leg
from switchsim.recording import start_recording, stop_recording
from switchsim.session import park_loop, request_transfer, transfer_defaults, wait
from switchsim.switch import Switch, valid_cause

log = logging.getLogger(__name__)

App = Callable[[Switch, Channel, str], Awaitable[str | None]]


async def app_answer(sw: Switch, ch: Channel, arg: str) -> str | None:
    sw.answer(ch)
    ch.vars["endpoint_disposition"] = "ANSWER"
    return None


async def app_pre_answer(sw: Switch, ch: Channel, arg: str) -> str | None:
    sw.pre_answer(ch)
    ch.vars["endpoint_disposition"] = "EARLY MEDIA"
    return None


async def app_ring_ready(sw: Switch, ch: Channel, arg: str) -> str | None:
    sw.ring(ch)
    return None


async def app_park(sw: Switch, ch: Channel, arg: str) -> str | None:
    await park_loop(sw, ch)
    return None


async def app_hangup(sw: Switch, ch: Channel, arg: str) -> str | None:
    cause = arg.strip() or "NORMAL_CLEARING"
    sw.hangup(ch, cause if valid_cause(cause) else "NORMAL_CLEARING")
    return None


def _set_pairs(ch: Channel, arg: str, export: bool = False) -> None:
    name, sep, value = arg.partition("=")
    name = name.strip()
    if not name:
        return
    if name.startswith("nolocal:"):
        name = name[len("nolocal:") :]
        ch.exports.add(name)
        ch.vars.setdefault("export_vars", "")
        return
    ch.set_var(name, value if sep else None)
    if export:
        ch.exports.add(name)
        peer = ch.bridge_peer
        if peer is not None:
            peer.set_var(name, value)


async def app_set(sw: Switch, ch: Channel, arg: str) -> str | None:
    _set_pairs(ch, arg)
    return None


async def app_export(sw: Switch, ch: Channel, arg: str) -> str | None:
    _set_pairs(ch, arg, export=True)
    return None


async def app_unset(sw: Switch, ch: Channel, arg: str) -> str | None:
    ch.vars.pop(arg.strip(), None)
    return None


async def app_multiset(sw: Switch, ch: Channel, arg: str) -> str | None:
    for item in arg.split():
        _set_pairs(ch, item)
    return None


async def app_noop(sw: Switch, ch: Channel, arg: str) -> str | None:
    return None


async def app_log(sw: Switch, ch: Channel, arg: str) -> str | None:
    log.info("%s: %s", ch.name, arg)
    return None


async def app_transfer(sw: Switch, ch: Channel, arg: str) -> str | None:
    """transfer [-bleg|-both] <dest> [<dialplan>] [<context>] (``inline``: ``app:arg,…``)."""
    words = media.separate(arg)
    if not words:
        return None
    targets = [ch]
    if words[0].lower() in ("-bleg", "-both"):
        peer = ch.bridge_peer
        targets = [peer] if peer is not None else []
        if words[0].lower() == "-both":
            targets.append(ch)
        words = words[1:]
    if not words:
        return None
    dest = words[0]
    dialplan = words[1] if len(words) > 1 else ""
    context = words[2] if len(words) > 2 else ""
    for t in targets:
        request_transfer(t, dest, *transfer_defaults(t, dialplan, context))
    return None


def _timeout(ch: Channel) -> float:
    for name in ("call_timeout", "originate_timeout", "leg_timeout"):
        value = ch.vars.get(name)
        if value:
            try:
                return float(value)
            except ValueError:
                pass
    return 60.0


async def app_bridge(sw: Switch, ch: Channel, arg: str) -> str | None:
    try:
        b = await originate_leg(sw, arg, _timeout(ch), caller=ch)
    except OriginateError as exc:
        ch.vars["originate_disposition"] = exc.cause
        ch.vars["DIALSTATUS"] = exc.cause
        ch.vars["last_bridge_hangup_cause"] = exc.cause
        cof = (ch.vars.get("continue_on_fail") or "").lower()
        keep_going = cof in ("true", "yes", "1") or exc.cause.lower() in cof.split(",")
        if not keep_going and ch.is_up:
            sw.hangup(ch, exc.cause)
        return None
    if not ch.is_up:
        sw.hangup(b, "ORIGINATOR_CANCEL")
        return None
    ch.vars["originate_disposition"] = "SUCCESS"
    ch.vars["DIALSTATUS"] = "SUCCESS"
    await run_bridge(sw, ch, b)
    return None


async def app_record_session(sw: Switch, ch: Channel, arg: str) -> str | None:
    parts = arg.split()
    if parts:
        limit = float(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
        start_recording(sw, ch, parts[0], limit)
    return None


async def app_stop_record_session(sw: Switch, ch: Channel, arg: str) -> str | None:
    stop_recording(sw, ch, arg.strip() or "all")
    return None


async def app_send_dtmf(sw: Switch, ch: Channel, arg: str) -> str | None:
    from switchsim.api_uuid import send_dtmf

    send_dtmf(sw, ch, arg.split("@")[0].strip())
    return None


# mod_amd (the community module built on Asterisk's app_amd): how long its analysis takes
# and what it concludes for each kind of far end (amd_result / amd_cause, as it sets them)
AMD_VERDICTS = {"answered": (1.2, "HUMAN", "HUMAN"), "machine": (1.8, "MACHINE", "LONGGREETING")}
AMD_UNSURE = (5.0, "NOTSURE", "TOOLONG")  # total_analysis_time reached


async def app_amd(sw: Switch, ch: Channel, arg: str) -> str | None:
    """amd: listen to the answered far end, then set amd_result and amd_cause."""
    seconds, result, cause = AMD_VERDICTS.get(ch.vars.get("sim_far_end", ""), AMD_UNSURE)
    await wait(ch, seconds)
    if ch.is_up:
        ch.vars["amd_result"], ch.vars["amd_cause"] = result, cause
    return None


async def app_socket(sw: Switch, ch: Channel, arg: str) -> str | None:
    if sw.outbound_factory is None:
        return None
    await sw.outbound_factory(sw, ch, arg)
    return None


APPS: dict[str, App] = {
    "answer": app_answer,
    "pre_answer": app_pre_answer,
    "ring_ready": app_ring_ready,
    "park": app_park,
    "hangup": app_hangup,
    "set": app_set,
    "export": app_export,
    "unset": app_unset,
    "multiset": app_multiset,
    "log": app_log,
    "info": app_noop,
    "transfer": app_transfer,
    "bridge": app_bridge,
    "eavesdrop": app_eavesdrop,
    "record_session": app_record_session,
    "stop_record_session": app_stop_record_session,
    "send_dtmf": app_send_dtmf,
    "socket": app_socket,
    "amd": app_amd,
    "avmd_start": avmd.app_avmd_start,
    "avmd_stop": avmd.app_avmd_stop,
    "avmd": avmd.app_avmd,
    "conference": app_conference,
    "txfax": fax.app_txfax,
    "rxfax": fax.app_rxfax,
    "playback": media.app_playback,
    "endless_playback": media.app_endless_playback,
    "play_and_get_digits": media.app_play_and_get_digits,
    "read": media.app_read,
    "record": media.app_record,
    "sleep": media.app_sleep,
    "speak": media.app_speak,
    "say": media.app_say,
}
