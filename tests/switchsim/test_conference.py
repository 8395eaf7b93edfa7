"""mod_conference as switchsim simulates it: the ``conference`` app (joined through an inline
uuid_transfer as icm does), conference::maintenance events, the ``conference`` api (list,
count, kick, hup, mute, deaf) with mod_conference's texts, ``sim_conference``'s audio paths,
and members leaving for a bridge, a park or a transfer."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest

from tests.switchsim.conftest import SwitchSim, start_switchsim
from tests.switchsim.eslraw import EventLog, bridge, named, parked, parked_leg

# conference_list: id;channel name;uuid;caller id name;number;flags;volume in;out;energy
LINE = re.compile(r"^\d+;[^;]+;[0-9a-f-]{36};[^;]*;[^;]*;[a-z|]*;-?\d+;-?\d+;\d+$")


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SwitchSim]:
    s = start_switchsim(
        ["--playback-seconds", "0.2", "--heartbeat-interval", "60"],
        tmp_path_factory.mktemp("conference"),
    )
    yield s
    s.stop()


def conf_events(log: EventLog, action: str, room: str, start: int = 0) -> list[dict[str, str]]:
    return [
        e
        for e in log.events[start:]
        if e.get("Event-Subclass") == "conference::maintenance"
        and e.get("Action") == action
        and e.get("Conference-Name") == room
    ]


def join(
    log: EventLog, uuid: str, room: str, flags: str = "", profile: str = "default"
) -> dict[str, str]:
    """Send a parked leg into a room (inline transfer); its add-member event."""
    mark = len(log.events)
    target = f"conference:{room}@{profile}{flags}"
    assert log.api(f"uuid_transfer {uuid} '{target}' inline") == "+OK\n"
    return log.wait(
        lambda ev: [e for e in conf_events(log, "add-member", room, mark) if e["Unique-ID"] == uuid]
    )[0]


def room_list(log: EventLog, room: str) -> list[list[str]]:
    out = log.api(f"conference {room} list")
    lines = out.splitlines()
    assert out.endswith("\n") and all(LINE.match(line) for line in lines), out
    return [line.split(";") for line in lines]


def test_members_join_a_room_with_mod_conference_events_and_list(log: EventLog) -> None:
    a, b, c = (parked_leg(log) for _ in range(3))
    mark = len(log.events)
    first = join(log, a, "ipbx-100")
    create = conf_events(log, "conference-create", "ipbx-100", mark)[0]
    assert log.events.index(create) < log.events.index(first)
    assert create["Event-Calling-Function"] == "conference_new"
    assert (create["Conference-Size"], create["Conference-Profile-Name"]) == ("0", "default")
    assert "Unique-ID" not in create
    for header in ("Conference-Domain", "Conference-Ghosts", "Conference-Unique-ID"):
        assert create[header]
    assert first["Conference-Size"] == "1" and first["Floor"] == "false"
    assert first["Conference-Unique-ID"] == create["Conference-Unique-ID"]
    assert first["Channel-Name"] == "loopback/9199-a" and first["Caller-Unique-ID"] == a
    for header, value in {
        "Video": "false",
        "Hear": "true",
        "See": "true",
        "Speak": "true",
        "Talking": "false",
        "Mute-Detect": "false",
        "Hold": "false",
        "Member-Type": "member",
        "Member-Ghost": "false",
        "Energy-Level": "100",
        "Current-Energy": "0",
    }.items():
        assert first[header] == value, header
    floor = log.wait(lambda ev: conf_events(log, "floor-change", "ipbx-100", mark))[0]
    assert (floor["Old-ID"], floor["New-ID"], floor["Unique-ID"]) == ("none", first["Member-ID"], a)
    second, third = join(log, b, "ipbx-100"), join(log, c, "ipbx-100")
    ids = [int(e["Member-ID"]) for e in (first, second, third)]
    assert ids == [ids[0], ids[0] + 1, ids[0] + 2]
    assert (second["Conference-Size"], third["Conference-Size"]) == ("2", "3")
    # conference_list: newest member first; the floor stays with the first one
    rows = room_list(log, "ipbx-100")
    assert [r[2] for r in rows] == [c, b, a]
    assert rows[2][:2] == [str(ids[0]), "loopback/9199-a"]
    assert [r[5] for r in rows] == ["hear|speak", "hear|speak", "hear|speak|floor"]
    assert rows[0][6:] == ["0", "0", "100"]
    assert log.api("conference ipbx-100 list count") == "3"
    assert log.api("conference ipbx-100 count") == "3"
    summary = log.api("conference list").splitlines()
    at = summary.index(
        "+OK Conference ipbx-100 (3 members rate: 8000 "
        "flags: running|enforce_min|dynamic|exit_sound|enter_sound)"
    )
    assert [line.split(";")[2] for line in summary[at + 1 : at + 4]] == [c, b, a]
    assert log.api(f"uuid_getvar {a} conference_name") == "ipbx-100"
    assert log.api(f"uuid_getvar {b} conference_member_id") == str(ids[1])
    assert log.api(f"uuid_getvar {a} conference_uuid") == create["Conference-Unique-ID"]
    chans = json.loads(log.api("show channels as json"))["rows"]
    row = next(r for r in chans if r["uuid"] == a)
    assert (row["application"], row["application_data"]) == ("conference", "ipbx-100@default")
    # every member hears every other member
    snap = json.loads(log.api("sim_conference ipbx-100"))
    assert [m["uuid"] for m in snap["members"]] == [a, b, c]
    hears = {m["uuid"]: set(m["hears"]) for m in snap["members"]}
    assert hears == {a: {b, c}, b: {a, c}, c: {a, b}}


def test_unknown_room_and_unknown_commands(log: EventLog) -> None:
    assert log.api("conference nosuch list") == "-ERR Conference nosuch not found\n"
    assert log.api("conference nosuch kick all") == "-ERR Conference nosuch not found\n"
    assert log.api("sim_conference nosuch") == "-ERR Conference nosuch not found\n"
    x = parked_leg(log)
    join(log, x, "ipbx-101")
    assert log.api("conference ipbx-101 frobnicate") == (
        "-ERR Conference command 'frobnicate' not found.\n"
    )
    assert log.api("conference ipbx-101") == "Conference command, not specified.\nTry 'help'\n"
    assert log.api("conference ipbx-101 kick 99999") == "-ERR Non-Existant ID 99999\n"
    assert log.api("conference ipbx-101 kick") == (
        "kick <[member_id|all|last|non_moderator]> [<optional sound file>]"
    )


def test_hup_all_members_leave_then_the_room_is_destroyed(log: EventLog) -> None:
    a, b = parked_leg(log), parked_leg(log)
    ids = [join(log, u, "ipbx-102")["Member-ID"] for u in (a, b)]
    mark = len(log.events)
    assert log.api("conference ipbx-102 hup all") == f"+OK hup {ids[1]}\n+OK hup {ids[0]}\n"
    destroy = log.wait(lambda ev: conf_events(log, "conference-destroy", "ipbx-102", mark))[0]
    assert destroy["Conference-Size"] == "0"
    later = log.events[mark:]
    hups = conf_events(log, "hup-member", "ipbx-102", mark)
    dels = conf_events(log, "del-member", "ipbx-102", mark)
    assert {e["Unique-ID"] for e in hups} == {e["Unique-ID"] for e in dels} == {a, b}
    assert all(later.index(e) < later.index(destroy) for e in dels)
    assert sorted(e["Conference-Size"] for e in dels) == ["0", "1"]
    # hup only ends the conference app: with nothing left to run the channels hang up
    for u in (a, b):
        hangup = log.wait(lambda ev, u=u: named(ev[mark:], "CHANNEL_HANGUP", u))[0]
        assert hangup["Hangup-Cause"] == "NORMAL_CLEARING"
    assert log.api("conference ipbx-102 list") == "-ERR Conference ipbx-102 not found\n"
    assert "ipbx-102" not in log.api("conference list")


def test_kick_plays_the_kicked_sound_and_the_dialplan_goes_on(log: EventLog) -> None:
    a, b = parked_leg(log), parked_leg(log)
    join(log, a, "ipbx-103")
    mid = join(log, b, "ipbx-103")["Member-ID"]
    mark = len(log.events)
    assert log.api("conference ipbx-103 kick last") == f"+OK kicked {mid}\n"
    log.wait(lambda ev: named(ev[mark:], "CHANNEL_HANGUP", b))
    later = log.events[mark:]
    kick = conf_events(log, "kick-member", "ipbx-103", mark)[0]
    leave = conf_events(log, "del-member", "ipbx-103", mark)[0]
    sound = named(later, "PLAYBACK_START", b)[0]
    assert sound["Playback-File-Path"] == "conference/conf-kicked.wav"  # the default profile's
    assert later.index(kick) < later.index(leave) < later.index(sound)
    assert kick["Conference-Size"] == "2" and leave["Conference-Size"] == "1"
    assert [r[2] for r in room_list(log, "ipbx-103")] == [a]
    # the ipbx profile has no kicked sound; a transfer after the room runs on
    c = parked_leg(log)
    assert join(log, c, "ipbx-104", profile="ipbx")["Conference-Profile-Name"] == "ipbx"
    mark = len(log.events)
    assert log.api("conference ipbx-104@ipbx list") == "-ERR Conference ipbx-104@ipbx not found\n"
    assert log.api("conference ipbx-104 kick all").startswith("+OK kicked ")
    log.wait(lambda ev: named(ev[mark:], "CHANNEL_HANGUP", c))
    assert not named(log.events[mark:], "PLAYBACK_START", c)


def test_a_member_bridged_away_leaves_the_room_and_the_bridge_happens(log: EventLog) -> None:
    a = parked_leg(log, park_after_bridge=True)
    b, d = parked_leg(log), parked_leg(log)
    mid_a = join(log, a, "ipbx-105")["Member-ID"]
    join(log, b, "ipbx-105")
    mark = bridge(log, a, d)
    leave = conf_events(log, "del-member", "ipbx-105", mark)
    assert [e["Unique-ID"] for e in leave] == [a]
    assert [r[2] for r in room_list(log, "ipbx-105")] == [b]
    # the floor moved to the member left in the room
    floor = conf_events(log, "floor-change", "ipbx-105", mark)
    assert [(e["Old-ID"], e["New-ID"]) for e in floor][-1][0] == "none"
    # as the other side of a uuid_bridge too (a, left behind, parks), and back in: the
    # member id is the channel's
    mark = bridge(log, d, b)
    log.wait(lambda ev: conf_events(log, "conference-destroy", "ipbx-105", mark))
    log.wait(lambda ev: parked(ev[mark:], a))
    assert join(log, a, "ipbx-105")["Member-ID"] == mid_a
    mark = len(log.events)
    assert log.api(f"uuid_park {a}") == "+OK\n"
    log.wait(lambda ev: parked(ev[mark:], a))
    assert conf_events(log, "conference-destroy", "ipbx-105", mark)


def test_both_legs_of_a_bridge_are_transferred_into_a_room(log: EventLog) -> None:
    a, b = parked_leg(log), parked_leg(log)
    bridge(log, a, b)
    mark = len(log.events)
    assert log.api(f"uuid_transfer {a} -both 'conference:ipbx-106@default' inline") == "+OK\n"
    log.wait(lambda ev: len(conf_events(log, "add-member", "ipbx-106", mark)) == 2)
    assert {r[2] for r in room_list(log, "ipbx-106")} == {a, b}
    assert named(log.events[mark:], "CHANNEL_UNBRIDGE", a)
    log.settle(0.2)
    assert not named(log.events[mark:], "CHANNEL_HANGUP", a)
    assert not named(log.events[mark:], "CHANNEL_HANGUP", b)


def test_member_ids_count_for_the_whole_switch_and_inbound_calls_answer_the_room(
    log: EventLog,
) -> None:
    a = parked_leg(log)
    first = int(join(log, a, "ipbx-107")["Member-ID"])
    call = log.api("sim_call 5550142 9199 context=default").split()[1]
    log.wait(lambda ev: parked(ev, call))
    other = join(log, call, "ipbx-108")
    assert int(other["Member-ID"]) > first  # mod_conference's one id pool, not per room
    assert other["Call-Direction"] == "inbound"
    line = next(s for s in log.api("conference list").splitlines() if "ipbx-108" in s)
    assert line == (
        "+OK Conference ipbx-108 (1 member rate: 8000 "
        "flags: running|answered|enforce_min|dynamic|exit_sound|enter_sound)"
    )
    assert int(log.api("conference count")) >= 2


def test_mute_deaf_and_member_flags_change_who_hears_whom(log: EventLog) -> None:
    a, b, c = (parked_leg(log) for _ in range(3))
    mid_a = join(log, a, "ipbx-109")["Member-ID"]
    mid_b = join(log, b, "ipbx-109", "+flags{mute|moderator}")["Member-ID"]
    join(log, c, "ipbx-109")
    mark = len(log.events)
    assert log.api(f"conference ipbx-109 deaf {mid_a}") == f"+OK deaf {mid_a}\n"
    deaf = log.wait(lambda ev: conf_events(log, "deaf-member", "ipbx-109", mark))[0]
    assert deaf["Hear"] == "false"
    snap = {m["uuid"]: m for m in json.loads(log.api("sim_conference ipbx-109"))["members"]}
    assert snap[a]["hears"] == [] and snap[b]["moderator"] is True
    assert set(snap[c]["hears"]) == {a}  # b is muted
    rows = {r[2]: r[5] for r in room_list(log, "ipbx-109")}
    assert rows == {a: "speak|floor", b: "hear|moderator", c: "hear|speak"}
    assert log.api(f"conference ipbx-109 unmute {mid_b}") == f"+OK unmute {mid_b}\n"
    snap = {m["uuid"]: m for m in json.loads(log.api("sim_conference ipbx-109"))["members"]}
    assert set(snap[c]["hears"]) == {a, b}
    out = log.api("conference ipbx-109 hup non_moderator")
    assert f"Skipping moderator (member id {mid_b}).\n" in out
    log.wait(lambda ev: len(conf_events(log, "del-member", "ipbx-109", mark)) == 2)
    assert [r[2] for r in room_list(log, "ipbx-109")] == [b]


def test_endconf_ends_the_room_and_hangs_up_who_is_left(log: EventLog) -> None:
    a, b, c = (parked_leg(log) for _ in range(3))
    mid_a = join(log, a, "ipbx-110", "+flags{endconf}")["Member-ID"]
    join(log, b, "ipbx-110")
    # hangup_after_conference=false: c leaves the ended room and runs the rest (park)
    assert log.api(f"uuid_setvar {c} hangup_after_conference false") == "+OK\n"
    mark = len(log.events)
    assert log.api(f"uuid_transfer {c} 'conference:ipbx-110@default,park' inline") == "+OK\n"
    log.wait(lambda ev: len(conf_events(log, "add-member", "ipbx-110", mark)) == 1)
    mark = len(log.events)
    assert log.api(f"conference ipbx-110 hup {mid_a}") == f"+OK hup {mid_a}\n"
    destroy = log.wait(lambda ev: conf_events(log, "conference-destroy", "ipbx-110", mark))[0]
    later = log.events[mark:]
    hangup_b = named(later, "CHANNEL_HANGUP", b)[0]
    assert hangup_b["Hangup-Cause"] == "NORMAL_CLEARING"
    assert later.index(hangup_b) < later.index(destroy)
    log.wait(lambda ev: parked(ev[mark:], c))
    assert not named(log.events[mark:], "CHANNEL_HANGUP", c)


def test_mintwo_room_ends_when_fewer_than_two_are_left(log: EventLog) -> None:
    a, b = parked_leg(log), parked_leg(log)
    join(log, a, "ipbx-111", "+flags{mintwo}")
    line = next(s for s in log.api("conference list").splitlines() if "ipbx-111" in s)
    assert "enforce_min" not in line  # not reached two members yet
    join(log, b, "ipbx-111")
    mark = len(log.events)
    assert log.api(f"uuid_kill {b}") == "+OK\n"
    log.wait(lambda ev: conf_events(log, "conference-destroy", "ipbx-111", mark))
    log.wait(lambda ev: named(ev[mark:], "CHANNEL_HANGUP", a))


def test_consultation_then_conference_as_icm_drives_it(log: EventLog) -> None:
    for ext in ("1011", "1012"):
        assert log.api(f"sim_register {ext} answer:0.1").startswith("+OK")
    customer = log.api("sim_call 5550199 9199 context=default").split()[1]
    log.wait(lambda ev: parked(ev, customer))
    agent = log.api("originate user/1011 &park()").split()[1]
    bridge(log, agent, customer)
    # consult: both legs kept by park_after_bridge, music and ring-back while parked
    mark = len(log.events)
    for line in (
        f"uuid_setvar {customer} park_after_bridge true",
        f"uuid_setvar {agent} park_after_bridge true",
        f"uuid_park {customer}",
        f"uuid_broadcast {customer} local_stream://moh aleg",
        f"uuid_broadcast {agent} tone_stream://%(2000,4000,440,480);loops=-1 aleg",
    ):
        assert log.api(line).startswith("+OK"), line
    log.wait(lambda ev: parked(ev[mark:], customer) and parked(ev[mark:], agent))
    log.wait(lambda ev: named(ev[mark:], "PLAYBACK_START", agent))
    assert named(log.events[mark:], "PLAYBACK_START", customer)
    colleague = log.api("originate user/1012 &park()").split()[1]
    mark = bridge(log, agent, colleague)  # the ring-back stops, agent and colleague talk
    assert named(log.events[mark:], "PLAYBACK_STOP", agent)
    # conference: everyone into the customer's room
    room = f"ipbx-{customer}"
    mark = len(log.events)
    assert log.api(f"uuid_transfer {customer} conference:{room}@default inline") == "+OK\n"
    assert log.api(f"uuid_transfer {agent} -both conference:{room}@default inline") == "+OK\n"
    log.wait(lambda ev: len(conf_events(log, "add-member", room, mark)) == 3)
    snap = json.loads(log.api(f"sim_conference {room}"))
    hears = {m["uuid"]: set(m["hears"]) for m in snap["members"]}
    legs = {customer, agent, colleague}
    assert hears == {u: legs - {u} for u in legs}
    line = next(s for s in log.api("conference list").splitlines() if room in s)
    assert "answered" in line  # the customer's inbound call
    # the customer leaves; icm ends the room: the agents hang up
    mark = len(log.events)
    assert log.api(f"uuid_kill {customer}") == "+OK\n"
    log.wait(lambda ev: conf_events(log, "del-member", room, mark))
    assert log.api(f"conference {room} hup all").count("+OK hup ") == 2
    log.wait(lambda ev: conf_events(log, "conference-destroy", room, mark))
    for u in (agent, colleague):
        log.wait(lambda ev, u=u: named(ev[mark:], "CHANNEL_HANGUP_COMPLETE", u))
    for ext in ("1011", "1012"):
        log.api(f"sim_unregister {ext}")
