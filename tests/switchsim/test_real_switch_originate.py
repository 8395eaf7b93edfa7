"""Real-switch behaviour: an originate job that finishes after its leg was bridged answers
-ERR ORIGINATOR_CANCEL although the leg is up and bridged (issue 17, defect 1;
switch_ivr_originate: a peer with CF_BRIDGED/CF_TRANSFER is no longer the originate's)."""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Iterator

import pytest

from tests.switchsim.conftest import SwitchSim
from tests.switchsim.eslraw import EventLog, bridged, named, parked, parked_leg


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SwitchSim]:
    s = SwitchSim(["--playback-seconds", "0.2"], tmp_path_factory.mktemp("orig"))
    yield s
    s.stop()


@pytest.fixture(scope="module")
def sim_no_delay(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SwitchSim]:
    s = SwitchSim(["--originate-reply-delay", "0"], tmp_path_factory.mktemp("orig0"))
    yield s
    s.stop()


def _bgapi(log: EventLog, cmd: str) -> str:
    reply = log.esl.command(f"bgapi {cmd}")
    log._keep()
    return reply.headers["Job-UUID"]


def _bridge_on_answer(log: EventLog, leg: str, other: str) -> None:
    """What icm does: uuid_bridge as soon as the leg's CHANNEL_ANSWER arrives."""
    log.wait(lambda evs: named(evs, "CHANNEL_ANSWER", leg))
    assert log.api(f"uuid_bridge {leg} {other}") == f"+OK {other}\n"


def test_bgapi_originate_bridged_before_reply_answers_originator_cancel(sim: SwitchSim) -> None:
    log = EventLog(sim.authed())
    try:
        agent_park = parked_leg(log)
        leg = str(uuidlib.uuid4())
        job = _bgapi(log, f"originate {{origination_uuid={leg}}}loopback/9199/default &park()")
        _bridge_on_answer(log, leg, agent_park)
        log.wait(lambda evs: bridged(evs, leg, agent_park))
        body = _background_body(log, job)
        assert body == "-ERR ORIGINATOR_CANCEL\n"
        # the job's reply is not the truth about the leg: it is up and bridged
        assert log.api(f"uuid_exists {leg}") == "true"
        assert log.api(f"uuid_getvar {leg} bridge_uuid") == agent_park
        log.settle(0.3)
        assert not parked(log.events, leg)  # &park() never given to it
        assert not named(log.events, "CHANNEL_HANGUP", leg)
    finally:
        log.api("hupall")
        log.close()


def test_api_originate_bridged_before_reply_answers_originator_cancel(sim: SwitchSim) -> None:
    """The same through `api originate` (mod_commands' originate_function writes the same
    -ERR <cause>): a second connection bridges the leg on its answer."""
    log = EventLog(sim.authed())
    caller = sim.authed()
    try:
        other = parked_leg(log)
        leg = str(uuidlib.uuid4())
        caller.send(f"api originate {{origination_uuid={leg}}}loopback/9199/default &park()")
        _bridge_on_answer(log, leg, other)
        reply = caller.read_frame()
        assert reply.content_type == "api/response"
        assert reply.body == "-ERR ORIGINATOR_CANCEL\n"
        log.wait(lambda evs: bridged(evs, leg, other))
        assert log.api(f"uuid_exists {leg}") == "true"
    finally:
        log.api("hupall")
        caller.close()
        log.close()


def test_transfer_before_reply_also_cancels(sim: SwitchSim) -> None:
    log = EventLog(sim.authed())
    try:
        leg = str(uuidlib.uuid4())
        job = _bgapi(log, f"originate {{origination_uuid={leg}}}loopback/9199/default &park()")
        log.wait(lambda evs: named(evs, "CHANNEL_ANSWER", leg))
        assert log.api(f"uuid_transfer {leg} 9300 XML default") == "+OK\n"
        assert _background_body(log, job) == "-ERR ORIGINATOR_CANCEL\n"
        log.wait(lambda evs: parked(evs, leg))  # 9300 answers and parks it: it lives on
        assert log.api(f"uuid_exists {leg}") == "true"
    finally:
        log.api("hupall")
        log.close()


def test_untouched_leg_gets_ok_and_its_app(sim: SwitchSim) -> None:
    log = EventLog(sim.authed())
    try:
        leg = str(uuidlib.uuid4())
        job = _bgapi(log, f"originate {{origination_uuid={leg}}}loopback/9199/default &park()")
        assert _background_body(log, job) == f"+OK {leg}\n"
        log.wait(lambda evs: parked(evs, leg))
    finally:
        log.api("hupall")
        log.close()


def test_no_delay_replies_before_any_bridge(sim_no_delay: SwitchSim) -> None:
    """--originate-reply-delay 0: the old order, the job is +OK before anyone can bridge."""
    log = EventLog(sim_no_delay.authed())
    try:
        other = parked_leg(log)
        leg = str(uuidlib.uuid4())
        job = _bgapi(log, f"originate {{origination_uuid={leg}}}loopback/9199/default &park()")
        _bridge_on_answer(log, leg, other)
        assert _background_body(log, job) == f"+OK {leg}\n"
        log.wait(lambda evs: bridged(evs, leg, other))
    finally:
        log.api("hupall")
        log.close()


def _background_body(log: EventLog, job: str) -> str:
    """The body of the BACKGROUND_JOB for `job` (EventLog keeps headers only: read raw)."""
    found = log.wait(
        lambda evs: [
            e for e in evs if e.get("Event-Name") == "BACKGROUND_JOB" and e.get("Job-UUID") == job
        ]
    )
    return found[0]["_body"]
