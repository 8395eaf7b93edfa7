"""The ``eavesdrop`` app as FreeSWITCH runs it (listen, whisper to either side, three-way,
DTMF and ``eavesdrop-command`` mode switches, MEDIA_BUG_START/STOP, when it ends) and
``sim_audio``'s audio paths: who hears whom with eavesdroppers, ``uuid_audio`` mutes (and the
order of media bugs), hold and conference rooms.

The call: an inbound trunk call (the customer) bridged by the dialplan to ``user/1001`` (the
agent's leg); the supervisor's phone ``user/1002`` is originated with ``&eavesdrop(<agent>)``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.switchsim.conftest import SwitchSim, start_switchsim, wait_for
from tests.switchsim.eslraw import EventLog, Events, named


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SwitchSim]:
    s = start_switchsim(
        ["--playback-seconds", "0.2", "--heartbeat-interval", "60"],
        tmp_path_factory.mktemp("eavesdrop"),
    )
    yield s
    s.stop()


def agent_call(log: EventLog) -> tuple[str, str]:
    """A customer bridged to an agent's phone: (customer uuid, agent leg uuid)."""
    assert log.api("sim_register 1001 answer:0.1").startswith("+OK")
    customer = log.api("sim_call 5551234 1001 context=default").split()[1]
    bridge = log.wait(lambda ev: named(ev, "CHANNEL_BRIDGE", customer))[0]
    return customer, bridge["Other-Leg-Unique-ID"]


def bugs(events: Events, name: str, uuid: str, function: str = "eavesdrop") -> Events:
    return [e for e in named(events, name, uuid) if e["Media-Bug-Function"] == function]


def supervise(log: EventLog, agent: str, **flags: str) -> str:
    """The supervisor's phone eavesdropping on ``agent`` with ``eavesdrop_<flag>=<value>``."""
    assert log.api("sim_register 1002 answer:0.1").startswith("+OK")
    mark = len(log.events)
    variables = ",".join(f"eavesdrop_{k}={v}" for k, v in flags.items())
    out = log.api(
        f"originate {{{variables}}}user/1002 &eavesdrop({agent})"
        if flags
        else f"originate user/1002 &eavesdrop({agent})"
    )
    assert out.startswith("+OK "), out
    log.wait(lambda ev: bugs(ev[mark:], "MEDIA_BUG_START", agent))
    return out.split()[1]


def audio(log: EventLog, uuid: str) -> dict:
    return json.loads(log.api(f"sim_audio {uuid}"))


def hears(log: EventLog, uuid: str) -> set[str]:
    return set(audio(log, uuid)["hears"])


def paths(log: EventLog, *uuids: str) -> list[set[str]]:
    return [hears(log, u) for u in uuids]


def test_listen_the_supervisor_hears_both_sides_and_nobody_hears_it(log: EventLog) -> None:
    customer, agent = agent_call(log)
    assert paths(log, customer, agent) == [{agent}, {customer}]
    mark = len(log.events)
    spy = supervise(log, agent)
    start = bugs(log.events[mark:], "MEDIA_BUG_START", agent)[0]
    assert start["Media-Bug-Target"] == agent and start["Channel-Name"].startswith("sofia/")
    assert start["Event-Calling-File"] == "switch_core_media_bug.c"
    assert start["Event-Calling-Function"] == "switch_core_media_bug_add"
    assert start["variable_bridge_uuid"] == customer  # the target's channel data
    ex = named(log.events[mark:], "CHANNEL_EXECUTE", spy)[-1]
    assert (ex["Application"], ex["Application-Data"]) == ("eavesdrop", agent)
    assert paths(log, spy, customer, agent) == [{agent, customer}, {agent}, {customer}]
    assert audio(log, spy)["eavesdrop"] == {
        "target": agent,
        "mux_read": False,
        "mux_write": False,
        "bridge_read": True,
        "bridge_write": True,
        "dtmf": True,
    }
    assert audio(log, agent)["eavesdroppers"] == [spy]
    assert "eavesdrop" not in audio(log, agent) and "eavesdroppers" not in audio(log, customer)
    assert log.api(f"uuid_getvar {spy} eavesdrop_target_uuid") == agent


def test_whisper_bleg_only_the_agent_hears_the_supervisor(log: EventLog) -> None:
    customer, agent = agent_call(log)
    spy = supervise(log, agent, whisper_bleg="true")
    assert audio(log, spy)["eavesdrop"]["mux_write"] is True
    assert paths(log, agent, customer, spy) == [{customer, spy}, {agent}, {agent, customer}]


def test_whisper_aleg_only_the_customer_hears_the_supervisor(log: EventLog) -> None:
    customer, agent = agent_call(log)
    spy = supervise(log, agent, whisper_aleg="true")
    assert audio(log, spy)["eavesdrop"]["mux_read"] is True
    # the supervisor does not hear its own whisper back (switch_unmerge_sln)
    assert paths(log, agent, customer, spy) == [{customer}, {agent, spy}, {agent, customer}]


def test_whisper_aleg_and_bleg_is_a_three_way_call(log: EventLog) -> None:
    customer, agent = agent_call(log)
    spy = supervise(log, agent, whisper_aleg="yes", whisper_bleg="yes")
    assert paths(log, agent, customer, spy) == [
        {customer, spy},
        {agent, spy},
        {agent, customer},
    ]


@pytest.mark.parametrize(("flag", "side"), [("bridge_aleg", "agent"), ("bridge_bleg", "customer")])
def test_bridge_aleg_hears_the_target_bleg_its_partner(log: EventLog, flag: str, side: str) -> None:
    customer, agent = agent_call(log)
    spy = supervise(log, agent, **{flag: "true"})
    assert hears(log, spy) == {"agent": {agent}, "customer": {customer}}[side]


def test_dtmf_1_2_3_0_switch_modes_and_star_ends_the_eavesdrop(log: EventLog) -> None:
    customer, agent = agent_call(log)
    spy = supervise(log, agent)
    for digit, agent_hears, customer_hears in (
        ("1", {customer}, {agent, spy}),  # mux read: the target's partner hears
        ("2", {customer, spy}, {agent}),  # mux write: the target hears
        ("3", {customer, spy}, {agent, spy}),
        ("0", {customer}, {agent}),
        ("2", {customer, spy}, {agent}),
        ("9", {customer, spy}, {agent}),  # not a mode: nothing changes
    ):
        assert log.api(f"sim_dtmf {spy} {digit}") == "+OK\n"
        wait_for(lambda a=agent_hears, c=customer_hears: paths(log, agent, customer) == [a, c])
        assert hears(log, spy) == {agent, customer}
    mode = audio(log, spy)["eavesdrop"]
    assert (mode["mux_read"], mode["mux_write"]) == (False, True)
    mark = len(log.events)
    log.api(f"sim_dtmf {spy} *")
    stop = log.wait(lambda ev: bugs(ev[mark:], "MEDIA_BUG_STOP", agent))[0]
    assert stop["Media-Bug-Target"] == agent
    assert stop["Event-Calling-Function"] == "switch_core_media_bug_destroy"
    log.wait(lambda ev: named(ev[mark:], "CHANNEL_EXECUTE_COMPLETE", spy))
    log.wait(lambda ev: named(ev[mark:], "CHANNEL_DESTROY", spy))  # nothing left to run
    assert paths(log, agent, customer) == [{customer}, {agent}]
    assert "eavesdroppers" not in audio(log, agent)


def test_without_dtmf_digits_do_nothing_but_eavesdrop_command_events_do(log: EventLog) -> None:
    customer, agent = agent_call(log)
    spy = supervise(log, agent, enable_dtmf="false")
    assert audio(log, spy)["eavesdrop"]["dtmf"] is False
    log.api(f"sim_dtmf {spy} 3")
    log.settle(0.2)
    assert paths(log, agent, customer) == [{customer}, {agent}]
    # sendevent with the eavesdropper's Unique-ID is queued to its session, not fired
    mark = len(log.events)
    reply = log.esl.command(f"sendevent CUSTOM\nUnique-ID: {spy}\neavesdrop-command: 3")
    assert reply.headers["Reply-Text"].startswith("+OK ")
    wait_for(lambda: paths(log, agent, customer) == [{customer, spy}, {agent, spy}])
    log.settle(0.1)
    assert not [e for e in log.events[mark:] if "eavesdrop-command" in e]
    log.esl.command(f"sendevent CUSTOM\nUnique-ID: {spy}\neavesdrop-command: *")
    log.wait(lambda ev: bugs(ev[mark:], "MEDIA_BUG_STOP", agent))


def test_the_eavesdrop_ends_when_the_target_hangs_up(log: EventLog) -> None:
    customer, agent = agent_call(log)
    spy = supervise(log, agent, whisper_bleg="true")
    mark = len(log.events)
    assert log.api(f"uuid_kill {agent}") == "+OK\n"
    done = log.wait(lambda ev: named(ev[mark:], "CHANNEL_EXECUTE_COMPLETE", spy))[0]
    assert done["Application"] == "eavesdrop"
    log.wait(lambda ev: named(ev[mark:], "CHANNEL_DESTROY", spy))
    log.wait(lambda ev: named(ev[mark:], "CHANNEL_DESTROY", agent))
    assert len(bugs(log.events[mark:], "MEDIA_BUG_STOP", agent)) == 1


def test_the_eavesdrop_ends_when_the_supervisor_hangs_up_or_is_transferred(log: EventLog) -> None:
    customer, agent = agent_call(log)
    spy = supervise(log, agent, whisper_aleg="true")
    mark = len(log.events)
    assert log.api(f"uuid_kill {spy}") == "+OK\n"
    log.wait(lambda ev: bugs(ev[mark:], "MEDIA_BUG_STOP", agent))
    assert paths(log, agent, customer) == [{customer}, {agent}]
    spy = supervise(log, agent, whisper_aleg="true")
    assert log.api(f"uuid_break {spy}") == "+OK\n"  # CF_BREAK: eavesdrop carries on
    log.settle(0.2)
    assert spy in hears(log, customer)
    mark = len(log.events)
    assert log.api(f"uuid_transfer {spy} 9199 XML default") == "+OK\n"
    log.wait(lambda ev: named(ev[mark:], "CHANNEL_PARK", spy))
    assert len(bugs(log.events[mark:], "MEDIA_BUG_STOP", agent)) == 1
    assert "eavesdrop" not in audio(log, spy)
    assert paths(log, spy, customer) == [set(), {agent}]


def test_eavesdrop_require_group_and_an_unknown_target(log: EventLog) -> None:
    customer, agent = agent_call(log)
    log.api("sim_register 1002 answer:0.1")
    mark = len(log.events)
    spy = log.api(f"originate {{eavesdrop_require_group=sales}}user/1002 &eavesdrop({agent})")
    spy = spy.split()[1]
    log.wait(lambda ev: named(ev[mark:], "CHANNEL_DESTROY", spy))  # not in the group
    assert not bugs(log.events[mark:], "MEDIA_BUG_START", agent)
    assert log.api(f"uuid_setvar {agent} eavesdrop_group support,sales") == "+OK\n"
    spy = supervise(log, agent, require_group="sales")
    assert hears(log, spy) == {agent, customer}
    mark = len(log.events)
    lone = log.api("originate user/1002 &eavesdrop(no-such-uuid)").split()[1]
    log.wait(lambda ev: named(ev[mark:], "CHANNEL_DESTROY", lone))
    assert not [e for e in log.events[mark:] if e.get("Event-Name") == "MEDIA_BUG_START"]


def test_a_read_muted_agent_is_heard_by_nobody(log: EventLog) -> None:
    customer, agent = agent_call(log)
    spy = supervise(log, agent)
    mark = len(log.events)
    assert log.api(f"uuid_audio {agent} start read mute 1") == "+OK\n"
    start = bugs(log.events[mark:], "MEDIA_BUG_START", agent, "audio")[0]
    assert start["Media-Bug-Target"] == "mute"
    state = audio(log, agent)
    assert state["read_mute"] == 1 and state["hears"] == [customer]
    # the eavesdrop's READ_STREAM gets the frame after uuid_audio replaced it
    assert paths(log, customer, spy) == [set(), {customer}]
    assert log.api(f"uuid_audio {agent} start read mute 5") == "+OK\n"  # comfort noise
    assert paths(log, customer, spy) == [set(), {customer}]
    assert log.api(f"uuid_audio {agent} stop") == "+OK\n"
    assert bugs(log.events[mark:], "MEDIA_BUG_STOP", agent, "audio")
    assert paths(log, customer, spy) == [{agent}, {agent, customer}]
    # a write mute: the agent hears nobody, the eavesdropper (its bug first) still does
    assert log.api(f"uuid_audio {agent} start write mute 1") == "+OK\n"
    assert paths(log, agent, customer, spy) == [set(), {agent}, {agent, customer}]
    assert log.api(f"uuid_audio {agent} stop") == "+OK\n"


def test_media_bug_order_decides_whether_a_whisper_survives_a_mute(log: EventLog) -> None:
    customer, agent = agent_call(log)
    spy = supervise(log, agent, whisper_aleg="true")
    # eavesdrop first, mute second: the mute silences the whisper mixed in before it
    log.api(f"uuid_audio {agent} start read mute 1")
    assert hears(log, customer) == set()
    log.api(f"uuid_audio {agent} stop")
    assert hears(log, customer) == {agent, spy}
    # mute first: a new supervisor's whisper is mixed in after the silence
    log.api(f"uuid_kill {spy}")
    wait_for(lambda: "eavesdroppers" not in audio(log, agent))
    log.api(f"uuid_audio {agent} start read mute 1")
    spy = supervise(log, agent, whisper_aleg="true")
    assert hears(log, customer) == {spy}
    assert hears(log, spy) == {customer}


def test_uuid_audio_levels_mute_resets_level_and_zero_removes_the_bug(log: EventLog) -> None:
    customer, agent = agent_call(log)
    mark = len(log.events)
    log.api(f"uuid_audio {agent} start read level 3")
    log.api(f"uuid_audio {agent} start write level 9")  # out of -4..4: ignored
    assert {k: v for k, v in audio(log, agent).items() if "_" in k and k != "hold_music"} == {
        "read_level": 3
    }
    log.api(f"uuid_audio {agent} start read mute 2")
    assert "read_level" not in audio(log, agent) and audio(log, agent)["read_mute"] == 2
    assert hears(log, customer) == set()
    log.api(f"uuid_audio {agent} start read mute 0")  # all zero: the bug goes
    assert bugs(log.events[mark:], "MEDIA_BUG_STOP", agent, "audio")
    assert "read_mute" not in audio(log, agent)
    assert hears(log, customer) == {agent}
    assert len(bugs(log.events[mark:], "MEDIA_BUG_START", agent, "audio")) == 1


def test_a_held_agent_leaves_the_customer_with_music_and_hears_nothing(log: EventLog) -> None:
    customer, agent = agent_call(log)
    spy = supervise(log, agent, whisper_bleg="true")
    assert log.api(f"uuid_hold {agent}") == "+OK Success\n"
    c, a = audio(log, customer), audio(log, agent)
    assert (c["hears"], c["hold_music"]) == ([], True)
    assert (a["hears"], a["hold_music"]) == ([], False)
    # the bridge is suspended: nothing is read from or written to the held leg
    assert hears(log, spy) == set()
    assert log.api(f"uuid_hold off {agent}") == "+OK Success\n"
    assert audio(log, customer)["hold_music"] is False
    assert paths(log, customer, agent, spy) == [{agent}, {customer, spy}, {agent, customer}]


def test_eavesdropping_on_a_conference_member(log: EventLog) -> None:
    room = "ev-room"
    legs = []
    for _ in range(2):
        mark = len(log.events)
        out = log.api(f"originate loopback/9199/default &conference({room}@default)")
        legs.append(out.split()[1])
        log.wait(
            lambda ev, u=legs[-1], m=mark: [
                e for e in ev[m:] if e.get("Action") == "add-member" and e["Unique-ID"] == u
            ]
        )
    a, b = legs
    spy = supervise(log, a, whisper_aleg="true")
    snap = {m["uuid"]: m for m in json.loads(log.api(f"sim_conference {room}"))["members"]}
    assert (set(snap[a]["hears"]), set(snap[b]["hears"])) == ({b}, {a, spy})
    assert hears(log, spy) == {a, b}
    member_a = snap[a]["id"]
    assert log.api(f"conference {room} mute {member_a}").startswith("+OK")
    # a muted member's frames (whisper included) are not mixed
    assert hears(log, b) == set() and hears(log, spy) == {a, b}


def test_audio_paths_is_pure_and_survives_eavesdroppers_on_each_other() -> None:
    """Called directly: two channels eavesdropping on each other (whispering both ways) and
    a third bridged to one of them; nothing changes and the cycle counts as silence."""
    from switchsim.audio_paths import Eavesdrop, audio_paths
    from switchsim.channel import Channel, Profile

    a, b, c = (Channel(u, f"sofia/internal/{u}", "inbound", Profile()) for u in "abc")
    a.bridge_peer, c.bridge_peer = c, a
    ab = Eavesdrop(a, b, mux_read=True, mux_write=True)
    ba = Eavesdrop(b, a, mux_read=True, mux_write=True)
    a.eavesdrop, b.bugs = ab, [ab]
    b.eavesdrop, a.bugs = ba, [ba]
    heard = audio_paths([a, b, c])
    assert set(heard["c"].uuids) == {"a", "b"}  # a's voice carries b's whisper
    assert set(heard["a"].uuids) == {"b", "c"} and set(heard["b"].uuids) == {"a", "c"}
    assert (a.bugs, b.bugs, a.audio) == ([ba], [ab], {})
