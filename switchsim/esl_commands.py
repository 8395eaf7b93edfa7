"""Handlers for the ESL commands that change listener state or target a session.

Owns ``event``/``nixevent``/``noevents`` parsing (format word, ``ALL``, ``CUSTOM`` followed
by subclasses), ``filter [add|delete]``, ``myevents``, ``linger``, ``sendmsg``,
``sendevent`` (fired, or queued to the session its ``Unique-ID`` names, as
switch_core_session_queue_event) and the outbound ``connect`` reply (CHANNEL_DATA headers).
"""

from __future__ import annotations

import asyncio
import uuid as uuidlib
from typing import TYPE_CHECKING

from switchsim.esl_reader import Command
from switchsim.events import EVENT_NAMES
from switchsim.switch import W_CHANNEL_DATA
from switchsim.wire import serialize_plain

if TYPE_CHECKING:
    from switchsim.esl_conn import EslConnection


def event_command(conn: EslConnection, line: str) -> str:
    words = line.split()[1:]
    key_count = 0
    custom = False
    for i, word in enumerate(words):
        if i == 0 and word.lower() in ("plain", "json", "xml"):
            conn.format = word.lower()
            continue
        if custom:
            conn.subclasses.add(word)
            continue
        name = word.upper()
        if name not in EVENT_NAMES:
            continue
        key_count += 1
        if name == "ALL":
            conn.all_events = True
        elif name == "CUSTOM":
            custom = True
        conn.names.add(name)
    if not key_count:
        return "-ERR no keywords supplied"
    conn.events_on = True
    if conn.format == "xml":
        conn.format = "plain"  # xml is not simulated; fall back to plain
        return "+OK event listener enabled xml"
    return f"+OK event listener enabled {conn.format}"


def nixevent(conn: EslConnection, line: str) -> str:
    key_count = 0
    custom = False
    for word in line.split()[1:]:
        if custom:
            conn.subclasses.discard(word)
            continue
        name = word.upper()
        if name not in EVENT_NAMES:
            continue
        key_count += 1
        if name == "CUSTOM":
            custom = True
        elif name == "ALL":
            conn.all_events = False
            conn.names.clear()
        else:
            if conn.all_events:
                conn.all_events = False
                conn.names = set(EVENT_NAMES) - {"ALL"}
            conn.names.discard(name)
    if not key_count:
        return "-ERR no keywords supplied"
    conn.events_on = True
    return "+OK events nixed"


def noevents(conn: EslConnection) -> str:
    if not conn.events_on:
        return "-ERR not listening for events"
    conn.events_on = False
    conn.all_events = False
    conn.names.clear()
    conn.subclasses.clear()
    return "+OK no longer listening for events"


def filter_command(conn: EslConnection, text: str) -> str:
    text = text.strip()
    name, _, value = text.partition(" ")
    if name.lower() == "delete" and value:
        name, _, val = value.partition(" ")
        if name.lower() == "all":
            conn.filters.clear()
        else:
            conn.filters = [
                (n, v)
                for n, v in conn.filters
                if not (n.lower() == name.lower() and (not val or v == val))
            ]
        return f"+OK filter deleted. [{name}][{val or '(null)'}]"
    if value:
        if name.lower() == "add":
            name, _, value = value.partition(" ")
        conn.filters.append((name, value))
        return f"+OK filter added. [{name}]=[{value}]"
    return "-ERR invalid syntax"


def myevents(conn: EslConnection, line: str) -> str:
    if conn.myevents:
        return "-ERR aready enabled."
    words = line.split()[1:]
    if conn.session is None:
        if not words:
            return "-ERR command not found"
        ch = conn.server.switch.get(words[0])
        if ch is None:
            if len(words) > 1:
                return "-ERR invalid uuid"
            return "-ERR command not found"
        conn.session = ch
    conn.names |= MY_EVENT_NAMES
    conn.myevents = True
    conn.server.switch.bus.narrow(conn, conn.session.uuid)
    conn.events_on = True
    if "json" in line.lower().split():
        conn.format = "json"
    elif "plain" in line.lower().split():
        conn.format = "plain"
    return "+OK Events Enabled"


MY_EVENT_NAMES = frozenset(
    """CHANNEL_ANSWER CHANNEL_APPLICATION CHANNEL_BRIDGE CHANNEL_CREATE CHANNEL_DATA
    CHANNEL_DESTROY CHANNEL_EXECUTE CHANNEL_EXECUTE_COMPLETE CHANNEL_HANGUP
    CHANNEL_HANGUP_COMPLETE CHANNEL_ORIGINATE CHANNEL_UUID CHANNEL_OUTGOING CHANNEL_PARK
    CHANNEL_PROGRESS CHANNEL_PROGRESS_MEDIA CHANNEL_STATE CHANNEL_UNBRIDGE CHANNEL_UNPARK
    DETECTED_SPEECH DTMF NOTALK TALK""".split()
)


def linger(conn: EslConnection, line: str) -> str:
    if conn.session is None:
        return "-ERR not controlling a session"
    arg = line[6:].strip()
    conn.linger = True
    if arg:
        try:
            conn.linger_time = int(arg)
        except ValueError:
            conn.linger_time = 0
        return f"+OK will linger {conn.linger_time} seconds"
    conn.linger_time = -1
    return "+OK will linger"


def sendmsg(conn: EslConnection, cmd: Command, target: str) -> str:
    sw = conn.server.switch
    uuid = target or cmd.header("session-id")
    if uuid and conn.session is not None and uuid == conn.session.uuid:
        uuid = ""
    ch = conn.session if not uuid else sw.get(uuid)
    if ch is None:
        return f"-ERR invalid session id [{uuid or '(null)'}]"
    msg = dict(cmd.headers)
    if cmd.body:
        msg["_body"] = cmd.body
    command = msg.get("call-command", "").lower()
    if command == "hangup":
        # queued like a private event: the +OK reply goes out before CHANNEL_HANGUP
        asyncio.get_running_loop().call_soon(
            sw.hangup, ch, msg.get("hangup-cause", "NORMAL_CLEARING")
        )
        return "+OK"
    if command == "execute":
        if not ch.is_up:
            return "+OK"
        ch.private.append(msg)
        ch.wake_up()
    return "+OK"


def sendevent(conn: EslConnection, cmd: Command, name: str) -> str:
    bus = conn.server.switch.bus
    event_uuid = str(uuidlib.uuid4())
    ename = name.split()[0].upper() if name else "CUSTOM"
    subclass = cmd.header("event-subclass") or None
    headers = [(k, v) for k, v in cmd.headers.items() if k not in ("content-length",)]
    headers.append(("Event-UUID", event_uuid))
    target = conn.server.switch.get(cmd.header("unique-id") or "")
    if target is not None:
        # switch_core_session_queue_event: the session gets it (eavesdrop reads its
        # eavesdrop-command header); it is not fired
        target.events.append({k.lower(): v for k, v in headers})
        target.wake_up()
        return f"+OK {event_uuid}"
    bus.emit(
        ename if ename in EVENT_NAMES else "CUSTOM",
        ("mod_event_socket.c", "parse_command", 2268),
        headers,
        cmd.body or None,
        subclass if ename == "CUSTOM" else None,
    )
    if ename == "MESSAGE_WAITING":  # mod_sofia notifies the phone (switchsim.mwi)
        world = conn.server.world
        conn.server.lamps.fired(cmd.headers, lambda user: world.registration(user) is not None)
    return f"+OK {event_uuid}"


def connect_reply(conn: EslConnection) -> bytes:
    """The reply to ``connect``: CHANNEL_DATA headers plus command/reply fields, url-encoded."""
    connected = getattr(conn, "connected", None)
    if connected is not None:
        connected.set()  # LFLAG_CONNECTED: the socket app may park the channel now
    ch = conn.session
    assert ch is not None
    sw = conn.server.switch
    headers = sw.bus.core_headers("CHANNEL_DATA", W_CHANNEL_DATA)
    headers += ch.profile.headers("Channel", ch)
    headers += ch.data_headers()
    headers += [
        ("Content-Type", "command/reply"),
        ("Reply-Text", "+OK\n"),
        ("Socket-Mode", "async" if conn.async_mode else "static"),
        ("Control", "full" if conn.full else "single-channel"),
    ]
    return serialize_plain(headers).encode()
