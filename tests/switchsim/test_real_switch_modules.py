"""Real-switch behaviour: loaded modules (`module_exists`), and what an application or api
of a module that is not loaded does: "Invalid Application" hangs the call up with
DESTINATION_OUT_OF_ORDER and no CHANNEL_EXECUTE (switch_core_session.c); the api answers
"-ERR <name> Command not found!" (issue 17, defect 5: mod_amd is not in FreeSWITCH's tree)."""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Iterator

import pytest

from tests.switchsim.conftest import SwitchSim
from tests.switchsim.eslraw import EventLog, named, parked_leg


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SwitchSim]:
    s = SwitchSim([], tmp_path_factory.mktemp("mods"))
    yield s
    s.stop()


@pytest.fixture(scope="module")
def amd_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SwitchSim]:
    s = SwitchSim(
        ["--with-module", "mod_amd", "--without-module", "mod_avmd"],
        tmp_path_factory.mktemp("mods2"),
    )
    yield s
    s.stop()


def test_module_exists_answers_as_freeswitch(sim: SwitchSim) -> None:
    log = EventLog(sim.authed())
    try:
        for mod in (
            "mod_avmd",
            "mod_sofia",
            "mod_loopback",
            "mod_spandsp",
            "mod_flite",
            "mod_local_stream",
            "mod_sndfile",
            "mod_conference",
            "mod_dptools",
            "mod_commands",
            "mod_event_socket",
            "mod_xml_curl",
        ):
            assert log.api(f"module_exists {mod}") == "true", mod
        assert log.api("module_exists mod_amd") == "false"
        assert log.api("module_exists mod_nosuch") == "false"
        assert log.api("module_exists") == "-ERR no reply\n"  # empty output, as mod_event_socket
    finally:
        log.close()


def test_with_and_without_module_change_the_set(amd_sim: SwitchSim) -> None:
    log = EventLog(amd_sim.authed())
    try:
        assert log.api("module_exists mod_amd") == "true"
        assert log.api("module_exists mod_avmd") == "false"
        assert log.api("avmd 00000000-0000-0000-0000-000000000000 start") == (
            "-ERR avmd Command not found!\n"
        )
    finally:
        log.close()


def _invalid_app_hangs_up(log: EventLog, leg: str, app: str) -> None:
    hangup = log.wait(lambda evs: named(evs, "CHANNEL_HANGUP", leg))[0]
    assert hangup["Hangup-Cause"] == "DESTINATION_OUT_OF_ORDER"
    assert not [e for e in named(log.events, "CHANNEL_EXECUTE", leg) if e["Application"] == app]


def test_amd_without_mod_amd_is_an_invalid_application(sim: SwitchSim) -> None:
    """The dialplan executor (here an inline extension): the call is hung up; the
    applications after it never run."""
    log = EventLog(sim.authed())
    try:
        leg = str(uuidlib.uuid4())
        out = log.api(f"originate {{origination_uuid={leg}}}loopback/9199/default amd,park inline")
        assert out == f"+OK {leg}\n"
        _invalid_app_hangs_up(log, leg, "amd")
        assert not named(log.events, "CHANNEL_PARK", leg)
    finally:
        log.close()


def test_sendmsg_execute_of_a_missing_module_app_hangs_up(sim: SwitchSim) -> None:
    log = EventLog(sim.authed())
    try:
        leg = parked_leg(log)
        reply = log.esl.command(
            f"sendmsg {leg}\ncall-command: execute\nexecute-app-name: amd\nexecute-app-arg: x"
        )
        assert reply.headers["Reply-Text"] == "+OK"
        _invalid_app_hangs_up(log, leg, "amd")
    finally:
        log.close()


def test_inline_transfer_to_an_unknown_app_hangs_up(sim: SwitchSim) -> None:
    log = EventLog(sim.authed())
    try:
        leg = parked_leg(log)
        assert log.api(f"uuid_transfer {leg} 'nosuch_app:1,park' inline") == "+OK\n"
        _invalid_app_hangs_up(log, leg, "nosuch_app")
    finally:
        log.close()


def test_avmd_app_without_mod_avmd_hangs_up(amd_sim: SwitchSim) -> None:
    log = EventLog(amd_sim.authed())
    try:
        leg = str(uuidlib.uuid4())
        dial = f"{{origination_uuid={leg}}}loopback/9199/default avmd_start,park inline"
        assert log.api(f"originate {dial}") == f"+OK {leg}\n"
        _invalid_app_hangs_up(log, leg, "avmd_start")
    finally:
        log.close()


def test_amd_with_mod_amd_runs(amd_sim: SwitchSim) -> None:
    log = EventLog(amd_sim.authed())
    try:
        leg = str(uuidlib.uuid4())
        dial = f"{{origination_uuid={leg}}}loopback/9199/default amd,park inline"
        assert log.api(f"originate {dial}") == f"+OK {leg}\n"
        done = log.wait(lambda evs: named(evs, "CHANNEL_EXECUTE_COMPLETE", leg), timeout=8)
        assert done[0]["Application"] == "amd"
        assert not named(log.events, "CHANNEL_HANGUP", leg)
    finally:
        log.api("hupall")
        log.close()
