"""Fidelity: SIP registration and a dead gateway (capture sofia-register-gateway.txt).

A phone registering (`sim_register`, the capture's sipp REGISTER) and un-registering must
fire the same events with the same headers; `show registrations as json` with no rows is
FreeSWITCH's odd `{"row_count": 0}`; an originate through a gateway that is down answers
GATEWAY_DOWN and leaves a lone nameless CHANNEL_DESTROY + CHANNEL_STATE."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.switchsim.captures import Event, compare_channels, drive, transcript
from tests.switchsim.conftest import SwitchSim

CAPTURE = "sofia-register-gateway.txt"

# The vanilla directory user 1000's params and variables, appended by sofia to
# sofia::register / sofia::unregister; switchsim's users have none (the project's
# xml_curl directory defines its own).
IGNORE_RE = {
    r"(record_stereo|default_gateway|default_areacode|transfer_fallback_extension)": "dir",
    r"(toll_allow|accountcode|user_context|callgroup)": "vanilla directory variable",
    r"(effective|outbound)_caller_id_(name|number)": "vanilla directory variable",
}
COMPARED = {
    "CUSTOM sofia::pre_register",
    "CUSTOM sofia::register_attempt",
    "CUSTOM sofia::register",
    "CUSTOM sofia::unregister",
    "MESSAGE_QUERY",
    "MESSAGE_WAITING",
    "PRESENCE_IN",
    "CHANNEL_DESTROY",
    "CHANNEL_STATE",
}


def _key(e: Event) -> str:
    h = dict(e)
    return f"CUSTOM {h.get('Event-Subclass')}" if h["Event-Name"] == "CUSTOM" else h["Event-Name"]


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SwitchSim]:
    s = SwitchSim(["--heartbeat-interval", "600"], tmp_path_factory.mktemp("reg"))
    yield s
    s.stop()


@pytest.fixture(scope="module")
def run(sim: SwitchSim) -> tuple[list, list]:
    esl = sim.raw()
    esl.pending = []
    assert esl.auth().headers["Reply-Text"] == "+OK accepted"
    plan = [
        "event plain ALL",
        "api sim_register 1000 answer",  # the capture's sipp REGISTER
        "api show registrations as json",
        "api sim_unregister 1000",  # its REGISTER with Expires: 0
        "api show registrations as json",
        "api sim_gateway capgw FAIL_WAIT DOWN",  # a gateway to a dead peer
        "api originate sofia/gateway/capgw/123 &park()",
        "bgapi originate sofia/gateway/capgw/123 &park()",
    ]
    replies, events = drive(esl, plan)
    esl.close()
    return replies, events


def test_register_and_unregister_fire_freeswitchs_events(run: tuple[list, list]) -> None:
    _, events = run
    expected = [e for _, _, evs in transcript(CAPTURE) for e in evs if _key(e) in COMPARED]
    got = [e for e in events if _key(e) in COMPARED]
    problems = compare_channels(expected, got, ignore_re=IGNORE_RE)
    assert not problems, "\n".join(problems)
    # and in the captured order: the REGISTER's four, MWI, then the un-REGISTER's
    order = [_key(e) for e in got if not _key(e).startswith("CHANNEL_")]
    assert order == [
        "CUSTOM sofia::pre_register",
        "CUSTOM sofia::register_attempt",
        "CUSTOM sofia::register",
        "MESSAGE_QUERY",
        "MESSAGE_WAITING",
        "CUSTOM sofia::pre_register",
        "CUSTOM sofia::register_attempt",
        "PRESENCE_IN",
        "CUSTOM sofia::unregister",
    ]


def test_replies(run: tuple[list, list]) -> None:
    replies, _ = run
    by = {}
    for command, frames in replies:
        by.setdefault(command, []).append(
            [f.event_body() if f.content_type.startswith("text/event") else f.body for f in frames]
        )
    assert by["api show registrations as json"][1] == ['{"row_count": 0}\n']
    assert by["api originate sofia/gateway/capgw/123 &park()"] == [["-ERR GATEWAY_DOWN\n"]]
    assert by["bgapi originate sofia/gateway/capgw/123 &park()"][0][-1] == "-ERR GATEWAY_DOWN\n"
