"""The ``conference`` api command (mod_conference's conference_api.c) and ``sim_conference``.

Owns: ``conference list [count|summary]``, ``conference count``, ``conference NAME list
[count|delim D]``, ``conference NAME count``, and the member commands ``kick``, ``hup``,
``mute``, ``unmute``, ``deaf``, ``undeaf`` taking ``<member_id|all|last|non_moderator>``,
each with mod_conference's reply text and CUSTOM event (kick-member, hup-member …); plus the
switchsim-only ``sim_conference [NAME]``: who is in a room and whom each member hears.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from switchsim.audio_paths import NOTHING, Heard, audio_paths
from switchsim.conference import SUBCLASS, Member, Room, conferences
from switchsim.switch import Switch

MemberCommand = Callable[[Switch, Room, Member, str], str]
_W = "conference_api.c"


def member_line(room: Room, m: Member, delim: str = ";") -> str:
    """One line of conference_list: id;channel;uuid;cid name;cid number;flags;in;out;energy."""
    p = m.ch.profile
    flags = []
    if m.hear:
        flags.append("hear")
    if m.speak:
        flags.append("speak")
    if m.id == room.floor:
        flags.append("floor")
    if m.moderator:
        flags.append("moderator")
    if m.ghost:
        flags.append("ghost")
    fields = [str(m.id), m.ch.name, m.ch.uuid, p.caller_id_name, p.caller_id_number]
    fields += ["|".join(flags), "0", "0", str(m.energy_level)]
    return delim.join(fields) + "\n"


def _room_list(room: Room, words: list[str]) -> str:
    """``conference NAME list [count|delim D]`` (words after ``list``)."""
    if words[:1] == ["count"]:
        return str(room.count)
    delim = ";"
    if len(words) > 1 and words[0] == "delim":
        delim = words[1].strip('"') or ";"
    return "".join(member_line(room, m, delim) for m in room.members)


def _all_rooms(sw: Switch, words: list[str]) -> str:
    """``conference list`` with no room: a summary line per room, then its members."""
    rooms = list(conferences(sw).rooms.values())
    if not rooms:
        return "+OK No active conferences.\n"
    out = []
    for room in rooms:
        n = room.count
        out.append(
            f"+OK Conference {room.name} ({n} member{'' if n == 1 else 's'} "
            f"rate: {room.profile.rate} flags: {room.flags_text()})\n"
        )
        if words[:1] != ["summary"]:
            out.append(_room_list(room, []))
    return "".join(out)


def _event(sw: Switch, room: Room, m: Member, action: str, func: str, line: int) -> None:
    headers = [*room.member_headers(m), ("Action", action)]
    sw.bus.emit("CUSTOM", (_W, func, line), headers, subclass=SUBCLASS)


def _kick(sw: Switch, room: Room, m: Member, arg: str) -> str:
    m.running = False
    m.kicked = True
    m.kicked_sound = arg
    m.ch.wake_up()
    _event(sw, room, m, "kick-member", "conference_api_sub_kick", 902)
    return f"+OK kicked {m.id}\n"


def _hup(sw: Switch, room: Room, m: Member, arg: str) -> str:
    # mod_conference only ends the member's loop: the channel goes on with its dialplan
    m.running = False
    m.ch.wake_up()
    _event(sw, room, m, "hup-member", "conference_api_sub_hup", 871)
    return f"+OK hup {m.id}\n"


def _setter(attr: str, value: bool, word: str, line: int) -> MemberCommand:
    def command(sw: Switch, room: Room, m: Member, arg: str) -> str:
        setattr(m, attr, value)
        _event(sw, room, m, f"{word}-member", f"conference_api_sub_{word}", line)
        return f"+OK {word} {m.id}\n"

    return command


_ANY = "<[member_id|all|last|non_moderator]>"
_ANY2 = "<[member_id|all]|last|non_moderator>"
MEMBER_COMMANDS: dict[str, tuple[MemberCommand, str]] = {
    "kick": (_kick, f"{_ANY} [<optional sound file>]"),
    "hup": (_hup, _ANY),
    "mute": (_setter("speak", False, "mute", 339), f"{_ANY2} [<quiet>]"),
    "unmute": (_setter("speak", True, "unmute", 492), f"{_ANY2} [<quiet>]"),
    "deaf": (_setter("hear", False, "deaf", 797), _ANY2),
    "undeaf": (_setter("hear", True, "undeaf", 839), _ANY2),
}


def _member_target(sw: Switch, room: Room, name: str, words: list[str]) -> str:
    """conference_api_dispatch's CONF_API_SUB_MEMBER_TARGET: id, all, last, non_moderator."""
    func, syntax = MEMBER_COMMANDS[name]
    target = words[0] if words else ""
    arg = words[1] if len(words) > 1 else ""
    try:
        member_id = int(target)
    except ValueError:
        member_id = 0
    if target.lower() in ("all", "non_moderator"):
        out = []
        for m in list(room.members):
            if target.lower() == "non_moderator" and m.moderator:
                out.append(f"Skipping moderator (member id {m.id}).\n")
            else:
                out.append(func(sw, room, m, arg))
        return "".join(out)
    if target.lower() == "last":
        last = max(room.members, key=lambda m: m.id, default=None)  # the newest
        return func(sw, room, last, arg) if last is not None else ""
    if member_id:
        found = room.member(member_id)
        if found is None:
            return f"-ERR Non-Existant ID {member_id}\n"
        return func(sw, room, found, arg)
    return f"{name} {syntax}"


def api_conference(sw: Switch, arg: str) -> str:
    """conference_api_main_real."""
    words = arg.split()
    if not words or words[0].lower() in ("help", "commands"):
        names = ["list", "count", *MEMBER_COMMANDS]
        return "".join(f"<conf name> {n}\n" for n in names)
    room = conferences(sw).rooms.get(words[0])
    if room is None:
        first = words[0].lower()
        if first == "list":
            return _all_rooms(sw, words[1:])
        if first == "count":
            return str(len(conferences(sw).rooms))
        return f"-ERR Conference {words[0]} not found\n"
    if len(words) < 2:
        return "Conference command, not specified.\nTry 'help'\n"
    sub = words[1].lower()
    if sub == "list":
        return _room_list(room, words[2:])
    if sub == "count":
        return str(room.count)
    if sub in MEMBER_COMMANDS:
        return _member_target(sw, room, sub, words[2:])
    return f"-ERR Conference command '{words[1]}' not found.\n"


def snapshot(room: Room, paths: dict[str, Heard]) -> dict[str, Any]:
    """A room as ``sim_conference`` shows it: members by id and whom each one hears
    (``paths`` from :func:`switchsim.audio_paths.audio_paths`: the room's mix as
    :meth:`Room.heard_by` says, after uuid_audio mutes, hold and eavesdroppers)."""
    members = sorted(room.members, key=lambda m: m.id)
    return {
        "name": room.name,
        "uuid": room.uuid,
        "profile": room.profile.name,
        "size": room.count,
        "floor": room.floor,
        "members": [
            {
                "id": m.id,
                "uuid": m.ch.uuid,
                "channel": m.ch.name,
                "hear": m.hear,
                "speak": m.speak,
                "moderator": m.moderator,
                "hears": list(paths.get(m.ch.uuid, NOTHING).uuids),
            }
            for m in members
        ],
    }


def sim_conference(sw: Switch, arg: str) -> str:
    """``sim_conference [NAME]``: one room, or every room, as JSON."""
    rooms = conferences(sw).rooms
    name = arg.strip()
    room = rooms.get(name)
    if name and room is None:
        return f"-ERR Conference {name} not found\n"
    shown = [room] if room is not None else list(rooms.values())
    members = [m.ch for r in shown for m in r.members]
    paths = audio_paths(sw.channels.values(), rooms.values(), only=members)
    if not name:
        return json.dumps([snapshot(r, paths) for r in shown]) + "\n"
    return json.dumps(snapshot(shown[0], paths)) + "\n"
