"""SIP trunk gateways as mod_sofia reports them: the `sofia::gateway_state` event on a change,
`sofia xmlstatus gateway`, and a gateway that is down refusing calls with GATEWAY_DOWN —
and icm's reading of both (the translator)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from icm.daemon.freeswitch.translator import gateways_from_xmlstatus, translate
from tests.switchsim.conftest import SwitchSim, start_switchsim
from tests.switchsim.eslraw import EventLog


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SwitchSim]:
    s = start_switchsim(["--gateway-answer-delay", "0.1"], tmp_path_factory.mktemp("gateways"))
    yield s
    s.stop()


def gateway_events(events: list[dict[str, str]]) -> list[dict[str, str]]:
    return [e for e in events if e.get("Event-Subclass") == "sofia::gateway_state"]


def test_a_failing_trunk_is_reported_and_refuses_calls(log: EventLog) -> None:
    assert log.api("originate sofia/gateway/carrier1/5550100 &park()").startswith("+OK")
    assert "<state>REGED</state>" in log.api("sofia xmlstatus gateway carrier1")
    reply = log.api("sim_gateway carrier1 FAIL_WAIT DOWN 408 Request Timeout")
    assert reply.startswith("+OK carrier1 FAIL_WAIT DOWN")
    event = log.wait(lambda ev: gateway_events(ev))[0]
    fields = ("Event-Name", "Gateway", "State", "Ping-Status", "Phrase")
    assert [event[f] for f in fields] == [
        "CUSTOM",
        "carrier1",
        "FAIL_WAIT",
        "DOWN",
        "408 Request Timeout",
    ]
    assert log.api("originate sofia/gateway/carrier1/5550101 &park()").startswith(
        "-ERR GATEWAY_DOWN"
    )
    status = log.api("sofia xmlstatus gateway")
    assert status.startswith('<?xml version="1.0" encoding="ISO-8859-1"?>')
    assert "<failed-calls-out>1</failed-calls-out>" in status

    # icm's reading of the event and of the status
    change = translate("fs1", event)
    assert change is not None and not change.healthy
    assert (change.gateway, change.state, change.ping_status) == ("carrier1", "FAIL_WAIT", "DOWN")
    listed = gateways_from_xmlstatus("fs1", status, datetime.now(tz=UTC))
    assert [(g.gateway, g.state, g.ping_status) for g in listed] == [
        ("carrier1", "FAIL_WAIT", "DOWN")
    ]
    assert gateways_from_xmlstatus("fs1", "-ERR no reply", datetime.now(tz=UTC)) == []

    log.api("sim_gateway carrier1 REGED")
    back = log.wait(lambda ev: [e for e in gateway_events(ev) if e["State"] == "REGED"])[0]
    assert back["Ping-Status"] == "UP" and translate("fs1", back).healthy
    assert log.api("originate sofia/gateway/carrier1/5550102 &park()").startswith("+OK")
    assert log.api("sim_gateway carrier1 SLEEPING").startswith("-ERR state is one of")
    log.api("hupall")
