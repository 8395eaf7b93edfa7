"""The ``uuid_*`` api commands (answer, bridge, kill, transfer, park, hold, vars, broadcast,
record, DTMF, dump, break) with FreeSWITCH's exact reply texts.
"""

from __future__ import annotations

import asyncio
import re

from switchsim.audio_paths import AudioBug
from switchsim.bridge import request_uuid_bridge
from switchsim.channel import Channel
from switchsim.events import Event
from switchsim.media import separate
from switchsim.recording import (
    pause_recording,
    recording_vars,
    start_recording,
    stop_recording,
)
from switchsim.session import execute, request_park, request_transfer, transfer_defaults
from switchsim.switch import W_CHANNEL_DATA, Switch, valid_cause
from switchsim.wire import serialize_json, serialize_plain

NO_CHANNEL = "-ERR No such channel!\n"
W_DUMP = ("mod_commands.c", "uuid_dump_function", 6495)
PROFILE_VARS = {
    "caller_id_name": "caller_id_name",
    "caller_id_number": "caller_id_number",
    "callee_id_name": "callee_id_name",
    "callee_id_number": "callee_id_number",
    "destination_number": "destination_number",
    "ani": "ani",
    "context": "context",
    "dialplan": "dialplan",
    "network_addr": "network_addr",
    "source": "source",
}


def get_var(ch: Channel, name: str) -> str | None:
    if name in ch.vars:
        return ch.vars[name]
    if name in PROFILE_VARS:
        return getattr(ch.profile, PROFILE_VARS[name]) or None
    if name == "channel_name":
        return ch.name
    if name == "uuid":
        return ch.uuid
    return None


def send_dtmf(sw: Switch, ch: Channel, digits: str) -> None:
    """DTMF sent *to* a channel's far end: a loopback peer receives it as DTMF events."""
    digits = "".join(d for d in digits.upper() if d in "0123456789*#ABCD")
    ch.vars["last_dtmf_duration"] = "2000"
    peer = ch.loopback_peer
    if peer is None or not digits:
        return
    loop = asyncio.get_running_loop()
    for i, d in enumerate(digits):
        loop.call_later(0.02 * (i + 1), sw.receive_dtmf, peer, d)


def dump_event(sw: Switch, ch: Channel, where: tuple[str, str, int] = W_DUMP) -> Event:
    return sw.bus.make("CHANNEL_DATA", where, ch.data_headers())


async def api_uuid(sw: Switch, cmd: str, arg: str) -> str | None:
    """Dispatch a uuid_* command; None when ``cmd`` is not one of them."""
    a = arg.split()
    func = _HANDLERS.get(cmd)
    if func is None:
        return None
    return await func(sw, a, arg)


async def _answer(sw: Switch, a: list[str], raw: str) -> str:
    if not a:
        return "-USAGE: <uuid>\n"
    ch = sw.get(a[0])
    if ch is None:
        return NO_CHANNEL
    sw.answer(ch)
    return "+OK\n"


async def _phone_event(sw: Switch, a: list[str], raw: str) -> str:
    """uuid_phone_event <uuid> talk|hold: a SIP NOTIFY asking the phone to pick up (talk) or
    hold. A simulated phone that rings on an outbound leg answers on `talk`."""
    if len(a) < 2:
        return "-USAGE: <uuid> talk|hold\n"
    ch = sw.get(a[0])
    if ch is None:
        return NO_CHANNEL
    if a[1].lower() == "talk" and ch.direction == "outbound" and not ch.times["answered"]:
        sw.answer(ch)
    return "+OK Success\n"  # sip-call-hold.txt


async def _bridge(sw: Switch, a: list[str], raw: str) -> str:
    if len(a) < 2:
        return "-USAGE: <uuid> <other_uuid>\n"
    x, y = sw.get(a[0]), sw.get(a[1])
    if x is None or y is None or x is y:
        return "-ERR Invalid uuid\n"
    request_uuid_bridge(sw, x, y)
    return f"+OK {y.uuid}\n"


async def _kill(sw: Switch, a: list[str], raw: str) -> str:
    if not a:
        return "-USAGE: <uuid> [cause]\n"
    ch = sw.get(a[0])
    if ch is None or not ch.is_up:
        return NO_CHANNEL
    cause = a[1].upper() if len(a) > 1 and valid_cause(a[1]) else "NORMAL_CLEARING"
    sw.hangup(ch, cause)
    return "+OK\n"


async def _transfer(sw: Switch, a: list[str], raw: str) -> str:
    """uuid_transfer <uuid> [-bleg|-both] <dest> [<dialplan>] [<context>]; ``inline`` as the
    dialplan runs ``app:arg,app:arg`` (quote the list when it holds blanks)."""
    usage = "-USAGE: <uuid> [-bleg|-both] <dest-exten> [<dialplan>] [<context>]\n"
    words = separate(raw)
    if len(words) < 2 or len(words) > 5:
        return usage
    ch = sw.get(words[0])
    if ch is None:
        return NO_CHANNEL
    rest = words[1:]
    who = ""
    if rest[0].startswith("-"):
        who, rest = rest[0].lower(), rest[1:]
        if not rest:
            return usage
    dest = rest[0]
    dialplan = rest[1] if len(rest) > 1 else ""
    context = rest[2] if len(rest) > 2 else ""
    peer = ch.bridge_peer
    targets = [ch]
    if who == "-bleg" and peer is not None:
        targets = [peer]  # no partner: FreeSWITCH transfers the channel itself
    elif who == "-both" and peer is not None:
        targets = [peer, ch]
    for t in targets:
        request_transfer(t, dest, *transfer_defaults(t, dialplan, context))
    return "+OK\n"


async def _park(sw: Switch, a: list[str], raw: str) -> str:
    if not a:
        return "-USAGE: <uuid>\n"
    ch = sw.get(a[0])
    if ch is None:
        return NO_CHANNEL
    if not ch.parked:
        request_park(ch)
    return "+OK\n"


async def _hold(sw: Switch, a: list[str], raw: str) -> str:
    usage = "-USAGE: [off|toggle] <uuid> [<display>]\n"
    if not a:
        return usage
    mode = "on"
    if a[0] in ("off", "toggle"):
        mode = a[0]
        a = a[1:]
        if not a:
            return usage
    ch = sw.get(a[0])
    if ch is None:
        # switch_ivr_{hold,unhold,hold_toggle}_uuid return SUCCESS when nothing is found
        # (originate-failures.txt: `uuid_hold <unknown>` answers +OK Success)
        return "+OK Success\n"
    if mode == "toggle":
        mode = "off" if ch.held else "on"
    ok = sw.hold(ch) if mode == "on" else sw.unhold(ch)
    return "+OK Success\n" if ok else "-ERR Operation failed\n"


async def _setvar(sw: Switch, a: list[str], raw: str) -> str:
    parts = raw.split(None, 2)
    if len(parts) < 2:
        return "-USAGE: <uuid> <var> [value]\n"
    ch = sw.get(parts[0])
    if ch is None:
        return NO_CHANNEL
    ch.set_var(parts[1], parts[2] if len(parts) > 2 else None)
    return "+OK\n"


async def _getvar(sw: Switch, a: list[str], raw: str) -> str:
    if len(a) < 2:
        return "-USAGE: <uuid> <var>\n"
    ch = sw.get(a[0])
    if ch is None:
        return NO_CHANNEL
    value = get_var(ch, a[1])
    return value if value is not None else "_undef_"


async def _exists(sw: Switch, a: list[str], raw: str) -> str:
    return "true" if a and sw.get(a[0]) is not None else "false"


async def _broadcast(sw: Switch, a: list[str], raw: str) -> str:
    if len(a) < 2:
        return "-USAGE: <uuid> <path> [aleg|bleg|holdb|both]\n"
    ch = sw.get(a[0])
    if ch is None:
        return "-ERR invalid uuid\n"
    leg = a[2] if len(a) > 2 else "aleg"
    targets = []
    if leg in ("aleg", "both"):
        targets.append(ch)
    if leg in ("bleg", "both", "holdb") and ch.bridge_peer is not None:
        targets.append(ch.bridge_peer)
    path = a[1]
    app, arg = ("playback", path)
    if "::" in path:
        app, _, arg = path.partition("::")
    for t in targets:
        # a parked (or about to park) channel runs it in its park loop
        idle = t.idle_wait and t.bridge_peer is None
        if t.parked or t.park_request or idle or t.bridge_peer is t:
            t.private.append(
                {"call-command": "execute", "execute-app-name": app, "execute-app-arg": arg}
            )
            t.wake_up()
        else:
            t.background = asyncio.create_task(execute(sw, t, app, arg))
    return "+OK Message sent\n"


async def _record(sw: Switch, a: list[str], raw: str) -> str:
    usage = "-USAGE: <uuid> [start|stop|mask|unmask] <path> [<limit>] [<recording_vars>]\n"
    if len(a) < 3:
        return usage
    ch = sw.get(a[0])
    if ch is None:
        return "-ERR Cannot locate session!\n"
    action, path = a[1].lower(), a[2]
    if action == "start":
        limit = float(a[3]) if len(a) > 3 and a[3].isdigit() else None
        variables = recording_vars(a[4]) if len(a) > 4 else {}
        ok = start_recording(sw, ch, path, limit, variables)
        return "+OK Success\n" if ok else "-ERR Cannot record session!\n"
    if action == "stop":
        return (
            "+OK Success\n"
            if stop_recording(sw, ch, path)
            else ("-ERR Cannot stop record session!\n")
        )
    if action in ("pause", "resume"):
        if pause_recording(sw, ch, path, action == "pause"):
            return "+OK Success\n"
        return f"-ERR Cannot {action} recording session!\n"
    if action in ("mask", "unmask"):
        return "+OK Success\n"
    return usage


async def _send_dtmf(sw: Switch, a: list[str], raw: str) -> str:
    if len(a) < 2:
        return "-USAGE: <uuid> <dtmf_data>\n"
    ch = sw.get(a[0])
    if ch is None:
        return "-ERR Cannot locate session!\n"
    send_dtmf(sw, ch, a[1].split("@")[0])
    return f"+OK {ch.uuid} sent DTMF {a[1]}.\n"


async def _recv_dtmf(sw: Switch, a: list[str], raw: str) -> str:
    if len(a) < 2:
        return "-USAGE: <uuid> <dtmf_data>\n"
    ch = sw.get(a[0])
    if ch is None:
        return "-ERR Cannot locate session!\n"
    sw.receive_dtmf(ch, "".join(d for d in a[1].upper() if d in "0123456789*#ABCD"))
    return f"+OK {ch.uuid} received DTMF {a[1]}.\n"


async def _dump(sw: Switch, a: list[str], raw: str) -> str:
    if not a:
        return "-USAGE: <uuid> [format]\n"
    ch = sw.get(a[0])
    if ch is None:
        return NO_CHANNEL
    ev = dump_event(sw, ch)
    fmt = a[1].lower() if len(a) > 1 else "txt"
    if fmt == "json":
        return serialize_json(ev.headers)
    if fmt == "plain":
        return "".join(f"{k}: [{v}]\n" for k, v in ev.headers) + "\n"
    return serialize_plain(ev.headers)


async def _audio(sw: Switch, a: list[str], raw: str) -> str:
    """uuid_audio <uuid> [start [read|write] [mute|level <level>]|stop] (mod_commands.c
    session_audio_function, switch_ivr_session_audio): one "audio" media bug per channel
    (MEDIA_BUG_START when the first ``start`` adds it, MEDIA_BUG_STOP at ``stop``).
    ``mute N`` sets that direction's mute to N and its level to 0 (any N != 0 silences it);
    ``level N`` is taken for -5 < N < 5 only. `ch.audio` keeps the non-zero values; once all
    are 0 the bug removes itself (session_audio_callback returns FALSE)."""
    usage = "-USAGE: <uuid> [start [read|write] [mute|level <level>]|stop]\n"
    if len(a) < 2:
        return usage
    ch = sw.get(a[0])
    if ch is None:
        return NO_CHANNEL
    bug = next((b for b in ch.bugs if isinstance(b, AudioBug)), None)
    if a[1].lower() == "stop":
        if bug is not None:
            sw.remove_bug(ch, bug)
        ch.audio.clear()
        return "+OK\n"
    if a[1].lower() != "start" or len(a) < 5 or a[2].lower() not in ("read", "write"):
        return usage
    cmd, direction = a[3].lower(), a[2].lower()
    if cmd not in ("mute", "level"):
        return usage
    level = _atoi(a[4])
    if bug is None:
        bug = AudioBug(cmd)
        sw.add_bug(ch, bug)
    if cmd == "mute":
        ch.audio[f"{direction}_mute"] = level
        ch.audio[f"{direction}_level"] = 0
    elif -5 < level < 5:
        ch.audio[f"{direction}_level"] = level
    for key in [k for k, v in ch.audio.items() if not v]:
        del ch.audio[key]
    if not ch.audio:
        sw.remove_bug(ch, bug)
    return "+OK\n"


def _atoi(text: str) -> int:
    """C atoi: optional sign and leading digits, else 0."""
    m = re.match(r"\s*([+-]?\d+)", text)
    return int(m.group(1)) if m else 0


async def _break(sw: Switch, a: list[str], raw: str) -> str:
    if not a:
        return "-USAGE: <uuid> [all]\n"
    ch = sw.get(a[0])
    if ch is None:
        return NO_CHANNEL
    ch.media_break = True
    ch.wake_up()
    return "+OK\n"


_HANDLERS = {
    "uuid_answer": _answer,
    "uuid_bridge": _bridge,
    "uuid_kill": _kill,
    "uuid_transfer": _transfer,
    "uuid_park": _park,
    "uuid_hold": _hold,
    "uuid_setvar": _setvar,
    "uuid_getvar": _getvar,
    "uuid_exists": _exists,
    "uuid_broadcast": _broadcast,
    "uuid_record": _record,
    "uuid_send_dtmf": _send_dtmf,
    "uuid_recv_dtmf": _recv_dtmf,
    "uuid_dump": _dump,
    "uuid_break": _break,
    "uuid_phone_event": _phone_event,
    "uuid_audio": _audio,
}

__all__ = ["W_CHANNEL_DATA", "api_uuid", "dump_event", "get_var", "send_dtmf"]
