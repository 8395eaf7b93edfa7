"""After a bridge, as switch_ivr_bridge.c does it: park_after_bridge on either leg (partner hung
up, pulled away by uuid_bridge / uuid_park / uuid_transfer), music on a parked leg until it
is bridged again, and uuid_transfer / the transfer app with an inline dialplan."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.switchsim.conftest import SwitchSim, start_switchsim
from tests.switchsim.eslraw import EventLog, bridge, bridged, named, parked, parked_leg


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SwitchSim]:
    # music on hold plays until interrupted, as local_stream:// does on FreeSWITCH
    s = start_switchsim(
        ["--playback-seconds", "0.2", "--local-stream-seconds", "0", "--heartbeat-interval", "60"],
        tmp_path_factory.mktemp("after_bridge"),
    )
    yield s
    s.stop()


def test_legs_are_re_paired_again_and_again_without_anyone_hanging_up(log: EventLog) -> None:
    a, b, c = (parked_leg(log, park_after_bridge=True) for _ in range(3))
    bridge(log, a, b)
    mark = bridge(log, a, c)  # b is left behind: it parks
    log.wait(lambda ev: parked(ev[mark:], b))
    later = log.events[mark:]
    unbridge = named(later, "CHANNEL_UNBRIDGE", a)[0]
    assert unbridge["Other-Leg-Unique-ID"] == b
    park_b = parked(later, b)[0]
    assert park_b["Channel-State"] == "CS_PARK"
    assert later.index(unbridge) < later.index(park_b)
    assert not [e for e in named(later, "CHANNEL_EXECUTE", b) if e["Application"] == "park"]
    mark = bridge(log, b, a)  # a leaves c: c parks
    log.wait(lambda ev: parked(ev[mark:], c))
    mark = bridge(log, c, b)  # b leaves a: a parks
    log.wait(lambda ev: parked(ev[mark:], a))
    mark = bridge(log, a, b)  # b leaves c (its driver): c parks
    log.wait(lambda ev: parked(ev[mark:], c))
    log.settle(0.3)
    for u in (a, b, c):
        assert not named(log.events, "CHANNEL_HANGUP", u)
        assert log.api(f"uuid_exists {u}") == "true"
    assert log.api(f"uuid_getvar {a} bridge_uuid") == b
    execs = [e for e in named(log.events, "CHANNEL_EXECUTE", c) if e["Application"] != "park"]
    assert [(e["Application"], e["Application-Data"]) for e in execs] == [
        ("uuid_bridge", a),
        ("uuid_bridge", b),
    ]


@pytest.mark.parametrize("leaving", ["originator", "originatee"])
@pytest.mark.parametrize("park_after_bridge", [True, False])
def test_partner_hangs_up(log: EventLog, leaving: str, park_after_bridge: bool) -> None:
    a = parked_leg(log, park_after_bridge)
    b = parked_leg(log, park_after_bridge)
    mark = bridge(log, a, b)
    gone, stays = (a, b) if leaving == "originator" else (b, a)
    assert log.api(f"uuid_kill {gone}") == "+OK\n"
    log.wait(lambda ev: named(ev[mark:], "CHANNEL_HANGUP_COMPLETE", gone))
    if park_after_bridge:
        log.wait(lambda ev: parked(ev[mark:], stays))
        log.settle(0.3)
        assert not named(log.events, "CHANNEL_HANGUP", stays)
        assert log.api(f"uuid_exists {stays}") == "true"
    else:
        hangup = log.wait(lambda ev: named(ev[mark:], "CHANNEL_HANGUP", stays))[0]
        assert hangup["Hangup-Cause"] == "NORMAL_CLEARING"
        assert not parked(log.events[mark:], stays)


@pytest.mark.parametrize("target", ["originator", "originatee"])
def test_uuid_park_on_a_bridged_leg_parks_both_with_the_variable(
    log: EventLog, target: str
) -> None:
    a = parked_leg(log, park_after_bridge=True)
    b = parked_leg(log)
    assert log.api(f"uuid_setvar {b} park_after_bridge true") == "+OK\n"
    mark = bridge(log, a, b)
    x = a if target == "originator" else b
    assert log.api(f"uuid_park {x}") == "+OK\n"
    log.wait(lambda ev: parked(ev[mark:], a) and parked(ev[mark:], b))
    later = log.events[mark:]
    assert named(later, "CHANNEL_UNBRIDGE", a)
    assert {parked(later, u)[0]["Channel-State"] for u in (a, b)} == {"CS_PARK"}
    log.settle(0.2)
    assert not named(log.events, "CHANNEL_HANGUP", a)
    assert not named(log.events, "CHANNEL_HANGUP", b)


def test_uuid_park_without_the_variable_hangs_the_partner_up(log: EventLog) -> None:
    a, b = parked_leg(log), parked_leg(log)
    mark = bridge(log, a, b)
    assert log.api(f"uuid_park {b}") == "+OK\n"
    log.wait(lambda ev: parked(ev[mark:], b))
    log.wait(lambda ev: named(ev[mark:], "CHANNEL_HANGUP", a))
    assert log.api(f"uuid_exists {b}") == "true"


@pytest.mark.parametrize("target", ["originator", "originatee"])
def test_music_on_a_parked_leg_plays_until_it_is_bridged_again(log: EventLog, target: str) -> None:
    a = parked_leg(log, park_after_bridge=True)
    b = parked_leg(log, park_after_bridge=True)
    x = a if target == "originator" else b
    mark = len(log.events)
    assert log.api(f"uuid_broadcast {x} local_stream://moh aleg") == "+OK Message sent\n"
    start = log.wait(lambda ev: named(ev[mark:], "PLAYBACK_START", x))[0]
    assert start["Playback-File-Path"] == "local_stream://moh"
    log.settle(0.6)  # longer than --playback-seconds: music does not end by itself
    assert not named(log.events[mark:], "PLAYBACK_STOP", x)
    mark = bridge(log, a, b)
    later = log.events[mark:]
    stop = named(later, "PLAYBACK_STOP", x)[0]
    assert later.index(stop) < later.index(bridged(later, a, b)[0])


def test_uuid_transfer_inline_runs_the_listed_apps(log: EventLog) -> None:
    x = parked_leg(log)
    mark = len(log.events)
    apps = "'set:ipbx_note=hello world,playback:silence_stream://200,park'"
    assert log.api(f"uuid_transfer {x} {apps} inline") == "+OK\n"
    log.wait(lambda ev: parked(ev[mark:], x))
    execs = named(log.events[mark:], "CHANNEL_EXECUTE", x)
    assert [(e["Application"], e.get("Application-Data", "")) for e in execs] == [
        ("set", "ipbx_note=hello world"),
        ("playback", "silence_stream://200"),
        ("park", ""),
    ]
    assert log.api(f"uuid_getvar {x} ipbx_note") == "hello world"
    park = parked(log.events[mark:], x)[0]
    # inline_dialplan_hunt keeps the destination number; the transfer is recorded
    assert park["Caller-Destination-Number"] == "9199"
    assert park["Caller-Dialplan"] == "inline"
    assert park["variable_transfer_history"].endswith(f":bl_xfer:{apps[1:-1]}/default/inline")
    assert log.api(f"uuid_transfer {x} -bogus") == (
        "-USAGE: <uuid> [-bleg|-both] <dest-exten> [<dialplan>] [<context>]\n"
    )


def test_uuid_transfer_bleg_and_both_move_the_bridged_legs(log: EventLog) -> None:
    a = parked_leg(log, park_after_bridge=True)
    b = parked_leg(log)
    bridge(log, a, b)
    mark = len(log.events)
    assert log.api(f"uuid_transfer {a} -bleg park inline") == "+OK\n"
    # b runs the inline app; a, left behind, parks after the bridge (no park app)
    log.wait(lambda ev: parked(ev[mark:], a) and parked(ev[mark:], b))
    later = log.events[mark:]
    assert [e["Application"] for e in named(later, "CHANNEL_EXECUTE", b)] == ["park"]
    assert parked(later, a)[0]["Channel-State"] == "CS_PARK"
    bridge(log, a, b)
    mark = len(log.events)
    assert log.api(f"uuid_transfer {b} -both park inline") == "+OK\n"
    log.wait(lambda ev: parked(ev[mark:], a) and parked(ev[mark:], b))
    later = log.events[mark:]
    for u in (a, b):
        assert [e["Application"] for e in named(later, "CHANNEL_EXECUTE", u)] == ["park"]


def test_inline_set_then_transfer_as_icm_requeues(log: EventLog) -> None:
    x = parked_leg(log)
    mark = len(log.events)
    apps = "'set:ipbx_transfer_queue=sales,transfer:9100 XML default'"
    assert log.api(f"uuid_transfer {x} {apps} inline") == "+OK\n"
    tone = log.wait(lambda ev: named(ev[mark:], "PLAYBACK_START", x))[0]
    assert tone["Caller-Destination-Number"] == "9100"
    assert tone["variable_ipbx_transfer_queue"] == "sales"
    transfer = named(log.events[mark:], "CHANNEL_EXECUTE", x)[1]
    assert transfer["Application-Data"] == "9100 XML default"


def test_bridge_app_legs_park_after_the_bridge(log: EventLog) -> None:
    assert log.api("sim_register 1005 answer:0.1").startswith("+OK")
    out = log.api(
        "originate {park_after_bridge=true}loopback/9199/default "
        "&bridge({park_after_bridge=true}user/1005)"
    )
    a = out.split()[1]
    bridge_ev = log.wait(lambda ev: named(ev, "CHANNEL_BRIDGE", a))[0]
    b = bridge_ev["Other-Leg-Unique-ID"]
    mark = len(log.events)
    assert log.api(f"uuid_kill {b}") == "+OK\n"
    park = log.wait(lambda ev: parked(ev[mark:], a))[0]
    assert park["Channel-State"] == "CS_PARK"
    assert log.api(f"uuid_exists {a}") == "true"
    # and the other way round: the caller hangs up, the agent's leg parks
    out = log.api("originate loopback/9199/default &bridge({park_after_bridge=true}user/1005)")
    a = out.split()[1]
    b = log.wait(lambda ev: named(ev, "CHANNEL_BRIDGE", a))[0]["Other-Leg-Unique-ID"]
    mark = len(log.events)
    assert log.api(f"uuid_kill {a}") == "+OK\n"
    log.wait(lambda ev: parked(ev[mark:], b))
    log.settle(0.2)
    assert not named(log.events[mark:], "CHANNEL_HANGUP", b)
    log.api("sim_unregister 1005")


def test_transfer_app_with_an_inline_dialplan(log: EventLog) -> None:
    out = log.api("originate loopback/9199/default &transfer('set:ipbx_x=1,park' inline)")
    x = out.split()[1]
    log.wait(lambda ev: parked(ev, x))
    assert [e["Application"] for e in named(log.events, "CHANNEL_EXECUTE", x)] == [
        "transfer",
        "set",
        "park",
    ]
    assert log.api(f"uuid_getvar {x} ipbx_x") == "1"
