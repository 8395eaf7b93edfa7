"""Back into a flow after the agent hangs up (issue 20 item 4; AG-7, BIZ-5): a flow whose
queue node says `after_call` keeps the customer when the agent hangs up (the switch parks
it: park_after_bridge), runs that flow (a satisfaction survey), and keeps the answers with
the call, where the survey report and its CSV export show them. A customer who hangs up
first gets no survey; a flow without `after_call` ends with the agent as before."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from icm.models import Call, CallLeg, InboundRoute, Site
from ivr.actions import check_publish
from ivr.engine.validation import FlowInvalid
from ivr.models import Flow, FlowVersion
from tests.fixtures.esl_client import EventCollector
from tests.fixtures.waiting import wait_until
from tests.integration.test_acd_switchsim import call_center, set_state, transitions

__all__ = ["call_center"]

SURVEY = {
    "start": "rate",
    "nodes": {
        "rate": {
            "type": "collect",
            "prompt": "Please rate our service from 1 to 5.",
            "variable": "rating",
            "min_digits": 1,
            "max_digits": 1,
            "exits": {"next": "thanks"},
        },
        "thanks": {"type": "play", "text": "Thank you. Goodbye.", "exits": {"next": "bye"}},
        "bye": {"type": "hangup"},
    },
}


def _front(after_call: str = "survey") -> dict:
    queue = {"type": "enter_queue", "queue": "helpdesk"}
    if after_call:
        queue["after_call"] = after_call
    return {"start": "q", "nodes": {"q": queue}}


def _publish(name: str, graph: dict) -> Flow:
    flow = Flow.objects.create(name=name)
    check_publish(FlowVersion.objects.create(flow=flow, number=1, graph=graph))
    return flow


@pytest.fixture
def surveyed_line(call_center):
    _publish("survey", SURVEY)
    front = _publish("front", _front())
    InboundRoute.objects.create(
        site=Site.objects.get(code="acd"), name="f", dnis="8125", flow=front
    )
    return call_center


def _agent_leg(agent_phone: str) -> str:
    leg = wait_until(
        lambda: CallLeg.objects.filter(
            channel_name__contains=agent_phone, bridged_at__isnull=False
        ).first(),
        timeout=20,
        what="the agent to be bridged to the caller",
    )
    return leg.uuid


def _said(events: EventCollector, uuid: str) -> list[str]:
    return [data.split("|", 2)[-1] for data in events.executed("speak", uuid)]


def test_the_customer_rates_the_call_after_the_agent_hangs_up(surveyed_line, platform_factory):
    platform = platform_factory()
    heard = EventCollector("127.0.0.1", platform.esl_port, "CHANNEL_EXECUTE")
    esl = platform.control()
    esl.api("sim_register 1101 answer:0.2")
    set_state(surveyed_line, platform, "ag1", "login")
    caller = esl.api("sim_call 5550301 8125 talk=600").split()[1]
    agent_leg = _agent_leg("1101")
    assert esl.api(f"uuid_kill {agent_leg}").startswith("+OK")  # the agent hangs up
    wait_until(
        lambda: (
            "say:Please rate our service from 1 to 5."
            in " ".join(heard.executed("play_and_get_digits", caller))
        ),
        timeout=20,
        what="the survey question on the caller's line",
    )
    assert esl.api(f"sim_dtmf {caller} 4").startswith("+OK")
    call = wait_until(
        lambda: Call.objects.filter(ani="5550301", ended_at__isnull=False).first(),
        timeout=20,
        what="the call to end after the survey",
    )
    assert call.attached_data["survey"] == {"flow": "survey", "answers": {"rating": "4"}}
    assert call.agent.login_id == "ag1"
    assert ("on_call", "wrap_up", "") in transitions("ag1")  # the agent's call ended as usual
    assert "Thank you. Goodbye." in _said(heard, caller)

    today = date.today().isoformat()
    report = surveyed_line.get(f"/api/stats/reports/surveys/?since={today}&until={today}")
    assert report.status_code == 200, report.content
    rows = report.json()["rows"]
    assert [(r["flow"], r["agent"], r["caller"], r["rating"]) for r in rows] == [
        ("survey", "ag1", "5550301", "4")
    ]
    assert report.json()["totals"]["rating"] == 4.0  # the average score
    exported = surveyed_line.get(f"/api/stats/reports/surveys/?since={today}&export=csv")
    table = list(csv.reader(io.StringIO(exported.content.decode())))
    assert "Rating" in table[0] and "4" in table[1]
    heard.close()
    esl.close()


def test_a_customer_who_hangs_up_first_gets_no_survey(surveyed_line, platform_factory):
    platform = platform_factory()
    esl = platform.control()
    esl.api("sim_register 1101 answer:0.2")
    set_state(surveyed_line, platform, "ag1", "login")
    caller = esl.api("sim_call 5550302 8125 talk=600").split()[1]
    _agent_leg("1101")
    assert esl.api(f"uuid_kill {caller}").startswith("+OK")  # the customer hangs up
    call = wait_until(
        lambda: Call.objects.filter(ani="5550302", ended_at__isnull=False).first(),
        timeout=20,
        what="the call to end",
    )
    assert "survey" not in call.attached_data
    assert "goes on to flow" not in platform.icm.log()
    esl.close()


def test_without_after_call_the_customer_leaves_with_the_agent(call_center, platform_factory):
    front = _publish("plain", _front(after_call=""))
    InboundRoute.objects.create(
        site=Site.objects.get(code="acd"), name="p", dnis="8126", flow=front
    )
    platform = platform_factory()
    esl = platform.control()
    esl.api("sim_register 1101 answer:0.2")
    set_state(call_center, platform, "ag1", "login")
    esl.api("sim_call 5550303 8126 talk=600")
    assert esl.api(f"uuid_kill {_agent_leg('1101')}").startswith("+OK")
    call = wait_until(
        lambda: Call.objects.filter(ani="5550303", ended_at__isnull=False).first(),
        timeout=20,
        what="the customer's side to end with the agent's (FreeSWITCH's default)",
    )
    assert "survey" not in call.attached_data
    esl.close()


def test_a_flow_naming_an_after_call_flow_that_does_not_exist_is_not_published(call_center):
    with pytest.raises(FlowInvalid, match="there is no flow named 'nosuchsurvey'"):
        _publish("broken", _front(after_call="nosuchsurvey"))
