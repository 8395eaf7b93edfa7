"""Calls through the api with greenswitch: originate, bridge, show calls, hold, record …"""

from __future__ import annotations

import json
import wave

import gevent
import greenswitch
import pytest

from tests.switchsim.conftest import SwitchSim


@pytest.fixture
def inbound(switchsim: SwitchSim):
    esl = greenswitch.InboundESL("127.0.0.1", switchsim.port, "ClueCon")
    esl.connect()
    events: list[dict[str, str]] = []
    esl.register_handle("*", lambda e: events.append(e.headers))
    esl.send("event plain ALL")
    esl.events = events
    yield esl
    esl.send("api hupall")
    esl.stop()


def api(esl, cmd: str) -> str:
    return esl.send(f"api {cmd}").data


def gwait(pred, timeout: float = 5.0):
    deadline = gevent.get_hub().loop.now() + timeout
    while gevent.get_hub().loop.now() < deadline:
        value = pred()
        if value:
            return value
        gevent.sleep(0.02)
    raise AssertionError("condition not met in time")


def named(events, name: str, uuid: str | None = None):
    return [
        e
        for e in events
        if e.get("Event-Name") == name and (uuid is None or e.get("Unique-ID") == uuid)
    ]


def test_originate_user_bridges_with_other_leg_and_show_calls_pairs(inbound) -> None:
    assert api(inbound, "sim_register 1001 answer:0.1").startswith("+OK")
    out = api(inbound, "originate {origination_caller_id_number=5550001}user/1001 &park()")
    assert out.startswith("+OK ")
    agent = out.split()[1].strip()
    reply = api(inbound, "sim_call 5551234 1001 context=default")
    caller = reply.split()[1].strip()
    bridge = gwait(lambda: named(inbound.events, "CHANNEL_BRIDGE", caller))[0]
    other = bridge["Other-Leg-Unique-ID"]
    assert bridge["Other-Type"] == "originatee"
    assert bridge["Bridge-A-Unique-ID"] == caller and bridge["Bridge-B-Unique-ID"] == other
    assert bridge["Other-Leg-Channel-Name"].startswith("sofia/internal/1001@")
    assert bridge["Caller-Channel-Name"] == "sofia/external/5551234@198.51.100.10"
    assert bridge["Call-Direction"] == "inbound"
    calls = json.loads(api(inbound, "show calls as json"))
    row = next(r for r in calls["rows"] if r["uuid"] == caller)
    assert row["b_uuid"] == other and row["b_name"].startswith("sofia/internal/1001@")
    assert row["call_created_epoch"] != ""
    assert all(r["uuid"] != other for r in calls["rows"])
    chans = json.loads(api(inbound, "show channels as json"))
    assert {caller, other, agent} <= {r["uuid"] for r in chans["rows"]}
    assert api(inbound, f"uuid_kill {other}") == "+OK\n"
    gwait(lambda: named(inbound.events, "CHANNEL_UNBRIDGE", caller))
    done = gwait(lambda: named(inbound.events, "CHANNEL_HANGUP_COMPLETE", caller))[0]
    assert done["variable_bridge_hangup_cause"] == "NORMAL_CLEARING"
    gwait(lambda: named(inbound.events, "CHANNEL_DESTROY", caller))
    assert api(inbound, f"uuid_exists {caller}") == "false"
    api(inbound, f"uuid_kill {agent}")


@pytest.mark.parametrize(("behaviour", "cause"), [("busy", "USER_BUSY"), ("noanswer", "NO_ANSWER")])
def test_originate_failures_answer_the_hangup_cause(inbound, behaviour: str, cause: str) -> None:
    api(inbound, f"sim_register 1002 {behaviour}")
    out = api(inbound, "originate {originate_timeout=1}user/1002 &park()")
    assert out == f"-ERR {cause}\n"
    leg = gwait(lambda: named(inbound.events, "CHANNEL_HANGUP_COMPLETE"))[-1]
    assert leg["Hangup-Cause"] == cause
    api(inbound, "sim_unregister 1002")


def test_gateway_originate_progress_answer_and_events(inbound) -> None:
    out = api(inbound, "originate sofia/gateway/carrier/15551230000 &park()")
    uuid = out.split()[1].strip()
    names = [e["Event-Name"] for e in inbound.events if e.get("Unique-ID") == uuid]
    assert names[:5] == [
        "CHANNEL_STATE",
        "CHANNEL_CREATE",
        "CHANNEL_ORIGINATE",
        "CHANNEL_STATE",
        "CHANNEL_STATE",
    ] or gwait(lambda: named(inbound.events, "CHANNEL_PARK", uuid))
    gwait(lambda: named(inbound.events, "CHANNEL_PARK", uuid))
    names = [e["Event-Name"] for e in inbound.events if e.get("Unique-ID") == uuid]
    assert names.index("CHANNEL_PROGRESS") < names.index("CHANNEL_ANSWER")
    ans = named(inbound.events, "CHANNEL_ANSWER", uuid)[0]
    assert ans["Channel-Name"] == "sofia/external/15551230000@carrier"
    assert ans["Call-Direction"] == "outbound"
    # hold / unhold on a SIP leg, variables, dump
    assert api(inbound, f"uuid_hold {uuid}") == "+OK Success\n"
    assert api(inbound, f"uuid_hold off {uuid}") == "+OK Success\n"
    gwait(lambda: named(inbound.events, "CHANNEL_UNHOLD", uuid))
    assert named(inbound.events, "CHANNEL_HOLD", uuid)
    assert api(inbound, f"uuid_setvar {uuid} ipbx_test hello world") == "+OK\n"
    assert api(inbound, f"uuid_getvar {uuid} ipbx_test") == "hello world"
    assert api(inbound, f"uuid_getvar {uuid} nothing_here") == "_undef_"
    dump = json.loads(api(inbound, f"uuid_dump {uuid} json"))
    assert dump["Event-Name"] == "CHANNEL_DATA" and dump["variable_ipbx_test"] == "hello world"
    assert dump["Event-Calling-Function"] == "uuid_dump_function"
    assert api(inbound, f"uuid_kill {uuid} USER_BUSY") == "+OK\n"
    done = gwait(lambda: named(inbound.events, "CHANNEL_HANGUP_COMPLETE", uuid))[0]
    assert done["variable_hangup_cause"] == "USER_BUSY"
    assert done["variable_hangup_cause_q850"] == "17"


def test_uuid_record_writes_a_playable_wav(inbound, switchsim: SwitchSim) -> None:
    uuid = api(inbound, "originate loopback/9199/default &park()").split()[1].strip()
    assert api(inbound, f"uuid_record {uuid} start rec-{uuid}.wav") == "+OK Success\n"
    gevent.sleep(0.6)
    assert api(inbound, f"uuid_record {uuid} stop rec-{uuid}.wav") == "+OK Success\n"
    stop = gwait(lambda: named(inbound.events, "RECORD_STOP", uuid))[0]
    assert stop["Record-File-Path"] == f"rec-{uuid}.wav"
    path = switchsim.recordings / f"rec-{uuid}.wav"
    with wave.open(str(path)) as w:
        assert (w.getframerate(), w.getsampwidth(), w.getnchannels()) == (8000, 2, 1)
        assert 0.5 <= w.getnframes() / 8000 <= 1.5
    assert int(stop["variable_record_samples"]) == w.getnframes()
    # a recording still running at hang-up is finished then
    api(inbound, f"uuid_record {uuid} start at-hangup-{uuid}.wav")
    gevent.sleep(0.3)
    api(inbound, f"uuid_kill {uuid}")
    gwait(lambda: named(inbound.events, "CHANNEL_DESTROY", uuid))
    assert (switchsim.recordings / f"at-hangup-{uuid}.wav").stat().st_size > 44
    assert api(inbound, f"uuid_record {uuid} stop x.wav") == "-ERR Cannot locate session!\n"


def test_stereo_recording_leaves_the_paused_stretch_out(inbound, switchsim: SwitchSim) -> None:
    """RECORD_STEREO and record_sample_rate shape the file; a paused stretch is not in it
    (SMBF_PAUSE), so its length is the recording's time minus the pause."""
    import time

    uuid = api(inbound, "originate loopback/9199/default &park()").split()[1].strip()
    api(inbound, f"uuid_setvar {uuid} RECORD_STEREO true")
    api(inbound, f"uuid_setvar {uuid} record_sample_rate 16000")
    started = time.monotonic()
    assert api(inbound, f"uuid_record {uuid} start st-{uuid}.wav") == "+OK Success\n"
    gevent.sleep(0.4)
    assert api(inbound, f"uuid_record {uuid} pause st-{uuid}.wav") == "+OK Success\n"
    gevent.sleep(1.0)
    assert api(inbound, f"uuid_record {uuid} resume st-{uuid}.wav") == "+OK Success\n"
    gevent.sleep(0.4)
    assert api(inbound, f"uuid_record {uuid} stop st-{uuid}.wav") == "+OK Success\n"
    elapsed = time.monotonic() - started
    gwait(lambda: named(inbound.events, "RECORD_STOP", uuid))
    with wave.open(str(switchsim.recordings / f"st-{uuid}.wav")) as w:
        assert (w.getframerate(), w.getnchannels()) == (16000, 2)
        assert abs(w.getnframes() / 16000 - (elapsed - 1.0)) < 0.2
    assert api(inbound, f"uuid_record {uuid} pause nothing.wav").startswith("-ERR Cannot pause")
    api(inbound, f"uuid_kill {uuid}")


def test_a_recording_grows_while_the_call_runs(inbound, switchsim: SwitchSim) -> None:
    """uuid_record's bracketed variables (url-encoded as mod_commands takes them) come before
    the channel's; the file's audio is appended as the call runs, so a live reader (REC-3)
    can follow it, and its sizes are right once it is closed."""
    uuid = api(inbound, "originate loopback/9199/default &park()").split()[1].strip()
    api(inbound, f"uuid_setvar {uuid} RECORD_STEREO false")
    path = switchsim.recordings / f"live-{uuid}.wav"
    reply = api(inbound, f"uuid_record {uuid} start live-{uuid}.wav 60 %7BRECORD_STEREO%3Dtrue%7D")
    assert reply == "+OK Success\n"
    gevent.sleep(0.5)
    first = path.stat().st_size
    gevent.sleep(0.5)
    second = path.stat().st_size
    # stereo 16-bit 8 kHz: 32,000 bytes a second, appended every 0.1 s
    assert 44 + 0.3 * 32000 <= first < second
    assert 0.35 * 32000 <= second - first <= 0.65 * 32000
    with path.open("rb") as f:
        head = f.read(44)
    assert head[22] == 2  # channels, already in the header while growing
    api(inbound, f"uuid_record {uuid} stop live-{uuid}.wav")
    gwait(lambda: named(inbound.events, "RECORD_STOP", uuid))
    with wave.open(str(path)) as w:
        assert w.getnchannels() == 2
        assert w.getnframes() * 4 + 44 == path.stat().st_size
        assert 0.9 <= w.getnframes() / 8000 <= 1.4
    api(inbound, f"uuid_kill {uuid}")


def test_transfer_and_broadcast_and_dtmf(inbound) -> None:
    uuid = api(inbound, "originate loopback/9199/default &park()").split()[1].strip()
    b_leg = gwait(lambda: named(inbound.events, "CHANNEL_PARK", uuid))[0][
        "variable_other_loopback_leg_uuid"
    ]
    assert api(inbound, f"uuid_broadcast {uuid} silence_stream://200") == "+OK Message sent\n"
    stop = gwait(lambda: named(inbound.events, "PLAYBACK_STOP", uuid))[0]
    assert stop["Playback-File-Path"] == "silence_stream://200"
    assert api(inbound, f"uuid_send_dtmf {uuid} 12#") == f"+OK {uuid} sent DTMF 12#.\n"
    digits = gwait(
        lambda: (
            len(named(inbound.events, "DTMF", b_leg)) == 3 and named(inbound.events, "DTMF", b_leg)
        )
    )
    assert [d["DTMF-Digit"] for d in digits] == ["1", "2", "#"]
    assert api(inbound, f"uuid_transfer {uuid} 9100 XML default") == "+OK\n"
    pb = gwait(
        lambda: [
            e
            for e in named(inbound.events, "PLAYBACK_START", uuid)
            if e["Caller-Destination-Number"] == "9100"
        ]
    )[0]
    assert pb["Caller-Profile-Index"] == "2"
    assert api(inbound, f"uuid_kill {uuid}") == "+OK\n"
    gwait(lambda: named(inbound.events, "CHANNEL_DESTROY", b_leg))


def test_eavesdrop_and_uuid_bridge(inbound) -> None:
    a = api(inbound, "originate loopback/9300/default &park()").split()[1].strip()
    b = api(inbound, "originate loopback/9300/default &park()").split()[1].strip()
    assert api(inbound, f"uuid_bridge {a} {b}") == f"+OK {b}\n"
    br = gwait(lambda: named(inbound.events, "CHANNEL_BRIDGE", a))[0]
    assert br["Other-Leg-Unique-ID"] == b
    spy = api(inbound, f"originate loopback/9300/default &eavesdrop({a})").split()[1].strip()
    ex = gwait(lambda: named(inbound.events, "CHANNEL_EXECUTE", spy))[0]
    assert ex["Application"] == "eavesdrop" and ex["Application-Data"] == a
    assert api(inbound, f"uuid_kill {a}") == "+OK\n"
    for u in (a, b, spy):
        gwait(lambda u=u: named(inbound.events, "CHANNEL_DESTROY", u))
    assert named(inbound.events, "CHANNEL_UNBRIDGE", a)


def test_show_registrations(inbound) -> None:
    api(inbound, "sim_register 1003")
    regs = json.loads(api(inbound, "show registrations as json"))
    row = next(r for r in regs["rows"] if r["reg_user"] == "1003")
    assert row["network_proto"] == "udp" and row["realm"]
    plain = api(inbound, "show registrations")
    assert plain.startswith("reg_user,realm,token,url,expires,network_ip,network_port")
    api(inbound, "sim_unregister 1003")
    assert "1003" not in api(inbound, "show registrations")


def test_uuid_audio_mutes_what_a_channel_sends_and_stop_lifts_it(inbound) -> None:
    """mod_commands' uuid_audio: replies and what it leaves on the channel (sim_audio)."""
    uuid = api(inbound, "originate {origination_uuid=mute-me}loopback/9100 &park()").split()[-1]
    assert uuid == "mute-me"
    assert api(inbound, "uuid_audio mute-me start read mute 1") == "+OK\n"
    assert json.loads(api(inbound, "sim_audio mute-me"))["read_mute"] == 1
    assert api(inbound, "uuid_audio mute-me start write level 2") == "+OK\n"
    assert api(inbound, "uuid_audio mute-me start sideways mute 1").startswith("-USAGE:")
    assert api(inbound, "uuid_audio nobody stop") == "-ERR No such channel!\n"
    assert api(inbound, "uuid_audio mute-me stop") == "+OK\n"
    assert json.loads(api(inbound, "sim_audio mute-me")) == {
        "uuid": "mute-me",
        "hears": [],
        "hold_music": False,
    }
