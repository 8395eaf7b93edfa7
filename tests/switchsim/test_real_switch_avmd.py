"""Real-switch behaviour: mod_avmd (FreeSWITCH's in-tree beep detector) as captured in
avmd.txt: the avmd_start app and the `avmd` api, MEDIA_BUG_START/STOP, CUSTOM avmd::start /
avmd::beep / avmd::stop each delivered twice with one Event-Sequence (first without the
channel's data), avmd_detect / avmd_total_time; a machine far end beeps, a person never."""

from __future__ import annotations

import time
import uuid as uuidlib
from collections.abc import Iterator

import pytest

from tests.switchsim.conftest import SwitchSim
from tests.switchsim.eslraw import Frame

# Header names of the first (channel-less) copy of each event in avmd.txt
CORE = [
    "Event-Subclass",
    "Event-Name",
    "Core-UUID",
    "FreeSWITCH-Hostname",
    "FreeSWITCH-Switchname",
    "FreeSWITCH-IPv4",
    "FreeSWITCH-IPv6",
    "Event-Date-Local",
    "Event-Date-GMT",
    "Event-Date-Timestamp",
    "Event-Calling-File",
    "Event-Calling-Function",
    "Event-Calling-Line-Number",
    "Event-Sequence",
    "Unique-ID",
    "Call-command",
]
CAPTURED = {
    "avmd::start": [*CORE, "Start-time"],
    "avmd::beep": [
        *CORE,
        "Beep-Status",
        "Frequency",
        "Frequency-variance",
        "Amplitude",
        "Amplitude-variance",
        "Detection-time",
        "Detector-resolution",
        "Detector-offset",
        "Detector-index",
    ],
    "avmd::stop": [*CORE, "Beep-Status", "Stop-status", "Total-time"],
}
USAGE = (
    "-USAGE: <uuid> < start | stop | set [inbound|outbound|default] | load [inbound|outbound] "
    "| reload | show >\n\n"
)


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SwitchSim]:
    s = SwitchSim(["--playback-seconds", "0.2"], tmp_path_factory.mktemp("avmd"))
    yield s
    s.stop()


class Frames:
    """`event plain ALL` frames as received, with the api replies in between."""

    def __init__(self, sim: SwitchSim) -> None:
        self.esl = sim.authed()
        self.esl.pending = []
        self.esl.command("event plain ALL")
        self.frames: list[Frame] = []

    def api(self, cmd: str) -> str:
        body = self.esl.command(f"api {cmd}").body
        self.frames += [f for f in self.esl.pending if f.content_type == "text/event-plain"]
        self.esl.pending.clear()
        return body

    def wait(self, pred, timeout: float = 6.0) -> list[Frame]:
        deadline = time.monotonic() + timeout
        while not (found := [f for f in self.frames if pred(f.event_dict())]):
            if time.monotonic() > deadline:
                raise AssertionError("condition not met in time")
            self.esl.sock.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                f = self.esl.read_frame()
            except TimeoutError:
                continue
            if f.content_type == "text/event-plain":
                self.frames.append(f)
        return found

    def settle(self, seconds: float) -> None:
        try:
            self.wait(lambda e: False, seconds)
        except AssertionError:
            pass

    def custom(self, subclass: str, uuid: str) -> list[Frame]:
        return [
            f
            for f in self.frames
            if f.event_dict().get("Event-Subclass") == subclass
            and f.event_dict().get("Unique-ID") == uuid
        ]


def is_custom(subclass: str, uuid: str, with_channel: bool):
    return lambda e: (
        e.get("Event-Subclass") == subclass
        and e.get("Unique-ID") == uuid
        and ("Channel-Name" in e) == with_channel
    )


def _twice(frames: Frames, subclass: str, uuid: str) -> dict[str, str]:
    """The two copies: same Event-Sequence; the first has exactly the captured headers, the
    second adds the channel's data."""
    frames.wait(is_custom(subclass, uuid, True))
    bare, full = frames.custom(subclass, uuid)
    names = [k for k, _ in bare.event()]
    assert names == CAPTURED[subclass]
    full_names = [k for k, _ in full.event()]
    assert full_names[: len(names)] == names
    assert {"Channel-Name", "Channel-State", "Caller-Unique-ID"} <= set(full_names)
    assert bare.event_dict()["Event-Sequence"] == full.event_dict()["Event-Sequence"]
    return full.event_dict()


def test_avmd_start_detects_the_beep_as_captured(sim: SwitchSim) -> None:
    frames = Frames(sim)
    try:
        leg = str(uuidlib.uuid4())
        dial = f"{{origination_uuid={leg}}}loopback/9700/default avmd_start,park inline"
        assert frames.api(f"originate {dial}") == f"+OK {leg}\n"
        bug = frames.wait(
            lambda e: e.get("Event-Name") == "MEDIA_BUG_START" and e.get("Unique-ID") == leg
        )[0].event_dict()
        assert (bug["Media-Bug-Function"], bug["Media-Bug-Target"]) == ("avmd", "N/A")
        start = _twice(frames, "avmd::start", leg)
        assert start["Call-command"] == "avmd" and int(start["Start-time"]) > 0
        beep = _twice(frames, "avmd::beep", leg)
        assert beep["Beep-Status"] == "DETECTED"
        assert float(beep["Frequency"]) == pytest.approx(1000, abs=5)
        # 9700: 2 s of silence, then the tone; captured Detection-time 2040021 µs
        assert 1_900_000 <= int(beep["Detection-time"]) <= 2_600_000
        assert frames.api(f"uuid_getvar {leg} avmd_detect") == "TRUE"
        total = frames.api(f"uuid_getvar {leg} avmd_total_time")
        assert total.startswith("[") and 1900 <= int(total.strip("[]")) <= 2600
        # a hang-up with avmd running: MEDIA_BUG_STOP, no avmd::stop
        assert frames.api(f"uuid_kill {leg}") == "+OK\n"
        frames.wait(lambda e: e.get("Event-Name") == "CHANNEL_DESTROY" and e["Unique-ID"] == leg)
        stops = [
            f
            for f in frames.frames
            if f.event_dict().get("Event-Name") == "MEDIA_BUG_STOP"
            and f.event_dict().get("Unique-ID") == leg
        ]
        assert [f.event_dict()["Media-Bug-Function"] for f in stops] == ["avmd"]
        assert frames.custom("avmd::stop", leg) == []
    finally:
        frames.api("hupall")
        frames.esl.close()


def test_avmd_api_replies_and_stop_event_as_captured(sim: SwitchSim) -> None:
    frames = Frames(sim)
    try:
        leg = str(uuidlib.uuid4())
        dial = f"{{origination_uuid={leg}}}loopback/9700/default &park()"
        assert frames.api(f"originate {dial}") == f"+OK {leg}\n"
        name = "loopback/9700-a"
        assert frames.api(f"avmd {leg} start") == f"+OK\n [{leg}] [{name}] started!\n\n"
        _twice(frames, "avmd::start", leg)
        assert frames.api(f"avmd {leg} show") == (
            f"-ERR, avmd for FreeSWITCH session [{leg}]\n already started\n\n"
        )
        frames.settle(2.5)  # the api-started session detects nothing (48 kHz init, captured)
        assert frames.custom("avmd::beep", leg) == []
        assert frames.api(f"avmd {leg} stop") == f"+OK\n [{leg}] [{name}] stopped\n\n"
        stop = _twice(frames, "avmd::stop", leg)
        assert stop["Stop-status"] == "ERROR (AVMD SESSION OBJECT NOT FOUND IN MEDIA BUG)"
        assert int(stop["Total-time"]) < 0
        nobody = "00000000-0000-0000-0000-000000000000"
        assert frames.api(f"avmd {nobody} start") == (
            f"-ERR, no FreeSWITCH session for uuid [{nobody}]!\n{USAGE}"
        )
    finally:
        frames.api("hupall")
        frames.esl.close()


@pytest.mark.parametrize(("far_end", "beeps"), [("machine", True), ("answered", False)])
def test_a_machine_beeps_a_person_does_not(sim: SwitchSim, far_end: str, beeps: bool) -> None:
    frames = Frames(sim)
    try:
        number = "5557001" if beeps else "5557002"
        rule = f"sim_far_end {number} {far_end} ring=0.1 talk=10 greeting=0.5"
        assert frames.api(rule).startswith("+OK")
        leg = str(uuidlib.uuid4())
        dial = f"{{origination_uuid={leg}}}sofia/gateway/carrier/{number} avmd_start,park inline"
        assert frames.api(f"originate {dial}") == f"+OK {leg}\n"
        frames.wait(is_custom("avmd::start", leg, True))
        frames.settle(1.5)
        assert bool(frames.custom("avmd::beep", leg)) is beeps
        expected = "TRUE" if beeps else "_undef_"
        assert frames.api(f"uuid_getvar {leg} avmd_detect") == expected
    finally:
        frames.api("hupall")
        frames.esl.close()


def test_avmd_stop_app_and_inbound_channels(sim: SwitchSim) -> None:
    """avmd_stop fires avmd::stop (NOTDETECTED, a positive Total-time) and removes the bug;
    on an inbound channel (the -b leg) the default configuration starts nothing."""
    frames = Frames(sim)
    try:
        leg = str(uuidlib.uuid4())
        dial = f"{{origination_uuid={leg}}}loopback/9199/default avmd_start,avmd_stop,park inline"
        assert frames.api(f"originate {dial}") == f"+OK {leg}\n"
        stop = _twice_stop_app(frames, leg)
        assert stop["Beep-Status"] == "NOTDETECTED" and int(stop["Total-time"]) >= 0
        b_leg = frames.api(f"uuid_getvar {leg} other_loopback_leg_uuid")
        assert frames.api(f"avmd {b_leg} start").startswith("-ERR, can't set direction")
    finally:
        frames.api("hupall")
        frames.esl.close()


def _twice_stop_app(frames: Frames, leg: str) -> dict[str, str]:
    frames.wait(is_custom("avmd::stop", leg, True))
    bare, full = frames.custom("avmd::stop", leg)
    assert [k for k, _ in bare.event()] == [*CORE, "Beep-Status", "Total-time"]
    assert bare.event_dict()["Event-Sequence"] == full.event_dict()["Event-Sequence"]
    frames.wait(lambda e: e.get("Event-Name") == "MEDIA_BUG_STOP" and e["Unique-ID"] == leg)
    return full.event_dict()
