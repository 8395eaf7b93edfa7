"""The switchsim-only ``sim_*`` api commands used by tests, demos and benchmarks.

Owns: ``sim_call``, ``sim_load``, ``sim_drop_esl``, ``sim_pause_esl``, ``sim_hold_esl`` (new
inbound ESL connections wait for their auth/request), ``sim_hold_sockets`` (socket apps wait
before connecting out), ``sim_register``,
``sim_unregister``, ``sim_expire``, ``sim_dtmf``, ``sim_audio``, ``sim_conference``,
``sim_mwi`` and
``sim_stats`` (syntax in ``python -m switchsim --help``).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from switchsim.world import CallerSpec, PhoneBehaviour

log = logging.getLogger(__name__)


def _range(text: str) -> tuple[float, float]:
    lo, _, hi = text.partition("-")
    return (float(lo), float(hi or lo))


async def sim_call(server: Any, arg: str) -> str:
    words = arg.split()
    if len(words) < 2:
        return "-USAGE: sim_call <ani> <dnis> [answer_after=S] [talk=S] [patience=S] [dtmf=D]\n"
    ani, dnis = words[0], words[1]
    opts = {}
    for item in words[2:]:
        k, _, v = item.partition("=")
        opts[k.lower().replace("-", "_")] = v
    try:
        spec = CallerSpec(
            talk=_range(opts.get("talk", "3600")),
            patience=_range(opts["patience"]) if "patience" in opts else None,
            dtmf=opts.get("dtmf", ""),
            record_seconds=float(opts.get("record", "3")),
            dtmf_delay=float(opts.get("dtmf_delay", "0.3")),
        )
        answer_after = float(opts["answer_after"]) if "answer_after" in opts else None
    except ValueError as exc:
        return f"-ERR {exc}\n"
    ch = server.world.inbound_call(
        ani,
        dnis,
        spec,
        name=opts.get("name", ""),
        context=opts.get("context", "public"),
        answer_after=answer_after,
    )
    return f"+OK {ch.uuid}\n"


async def sim_load(server: Any, arg: str) -> str:
    words = arg.split()
    try:
        n = int(words[0])
        hold_ms = int(words[1]) if len(words) > 1 else 100
    except (IndexError, ValueError):
        return "-USAGE: sim_load <n> [hold_ms]\n"
    apps = [("answer", ""), ("sleep", str(hold_ms)), ("hangup", "")]
    world = server.world
    for i in range(n):
        world.inbound_call(f"555{i % 10_000_000:07d}", "load", None, apps=list(apps))
        if i % 50 == 49:
            await asyncio.sleep(0)
    return f"+OK {n} calls\n"


def audio_state(sw: Any, ch: Any) -> dict[str, Any]:
    """``sim_audio``: what uuid_audio set on the channel (non-zero ``read_mute``,
    ``write_mute``, ``read_level``, ``write_level``), whom it hears (sorted uuids) and whether
    hold music (:mod:`switchsim.audio_paths`), its eavesdrop when it runs one, and the
    eavesdroppers on it."""
    from switchsim.audio_paths import Eavesdrop, heard_by

    rooms = sw.conferences.rooms.values() if sw.conferences is not None else ()
    heard = heard_by(sw.channels.values(), rooms, ch)
    out: dict[str, Any] = {"uuid": ch.uuid, **ch.audio}
    out["hears"] = list(heard.uuids)
    out["hold_music"] = heard.music
    if isinstance(ch.eavesdrop, Eavesdrop):
        out["eavesdrop"] = ch.eavesdrop.as_json()
    spies = sorted(b.eavesdropper.uuid for b in ch.bugs if isinstance(b, Eavesdrop))
    if spies:
        out["eavesdroppers"] = spies
    return out


def _others(server: Any, conn: Any) -> list[Any]:
    return [c for c in list(server.connections) if c is not conn and not c.outbound]


async def sim_api(server: Any, conn: Any, cmd: str, arg: str) -> str | None:
    world = server.world
    sw = server.switch
    if cmd == "sim_call":
        return await sim_call(server, arg)
    if cmd == "sim_load":
        return await sim_load(server, arg)
    if cmd == "sim_drop_esl":
        others = _others(server, conn)
        for c in others:
            c.abort()
        return f"+OK dropped {len(others)} connection(s)\n"
    if cmd == "sim_pause_esl":
        try:
            seconds = float(arg.split()[0])
        except (IndexError, ValueError):
            return "-USAGE: sim_pause_esl <seconds>\n"
        others = _others(server, conn)
        for c in others:
            c.pause(seconds)
        return f"+OK paused {len(others)} connection(s) for {seconds:g}s\n"
    if cmd in ("sim_hold_esl", "sim_hold_sockets"):
        try:
            seconds = float(arg.split()[0])
        except (IndexError, ValueError):
            return f"-USAGE: {cmd} <seconds> (0: release)\n"
        knob = "hold_esl_until" if cmd == "sim_hold_esl" else "hold_sockets_until"
        setattr(server, knob, asyncio.get_running_loop().time() + seconds if seconds > 0 else 0.0)
        return f"+OK {cmd} {seconds:g}s\n"
    if cmd == "sim_register":
        words = arg.split()
        if not words:
            return "-USAGE: sim_register <ext> [answer|answer:<delay>|noanswer|busy]\n"
        try:
            behaviour = PhoneBehaviour.parse(words[1]) if len(words) > 1 else None
        except ValueError as exc:
            return f"-ERR {exc}\n"
        reg = world.register(words[0], behaviour)
        return f"+OK {reg.ext} registered\n"
    if cmd == "sim_gateway":
        words = arg.split(maxsplit=3)
        if len(words) < 2:
            return "-USAGE: sim_gateway <name> <state> [UP|DOWN] [phrase]\n"
        try:
            gw = sw.gateways.set(words[0], words[1], *(words[2:3] or [""]), *(words[3:4] or [""]))
        except ValueError as exc:
            return f"-ERR {exc}\n"
        return f"+OK {gw.name} {gw.state} {gw.status}\n"
    if cmd == "sim_far_end":
        return sw.far_ends.configure(arg.split())
    if cmd == "sim_unregister":
        words = arg.split()
        if not words:
            return "-USAGE: sim_unregister <ext>\n"
        if world.unregister(words[0]):
            return f"+OK {words[0]} unregistered\n"
        return f"-ERR {words[0]} not registered\n"
    if cmd == "sim_expire":
        words = arg.split()
        if not words:
            return "-USAGE: sim_expire <ext>\n"
        if world.expire(words[0]):
            return f"+OK {words[0]} expired\n"
        return f"-ERR {words[0]} not registered\n"
    if cmd == "sim_dtmf":
        words = arg.split()
        if len(words) < 2:
            return "-USAGE: sim_dtmf <uuid> <digits>\n"
        ch = sw.get(words[0])
        if ch is None:
            return "-ERR No such channel!\n"
        sw.receive_dtmf(ch, words[1])
        return "+OK\n"
    if cmd == "sim_audio":
        ch = sw.get(arg.strip())
        if ch is None:
            return "-ERR No such channel!\n"
        return json.dumps(audio_state(sw, ch)) + "\n"
    if cmd == "sim_conference":
        from switchsim.conference_api import sim_conference

        return sim_conference(sw, arg)
    if cmd == "sim_mwi":
        return server.lamps.show(arg.strip())
    if cmd == "sim_stats":
        stats = {
            "channels_up": sum(1 for c in sw.channels.values() if c.is_up),
            "channels": len(sw.channels),
            "sessions_since_startup": sw.session_counter,
            "events_emitted": sw.bus.emitted,
            "event_sequence": sw.bus.sequence,
            "esl_connections": len(server.connections),
            "registrations": len(world.regs),
            "inbound_calls_created": world.callers_created,
        }
        return json.dumps(stats) + "\n"
    return None
