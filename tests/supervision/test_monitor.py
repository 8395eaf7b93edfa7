"""Silent monitor, whisper and barge-in (SV-4, SV-8) and force release (SV-6) through icm and
switchsim: the supervisor's phone rings, eavesdrops on the agent's leg in the chosen mode,
and switchsim's audio paths show who hears whom. Every action is audited."""

from __future__ import annotations

import json

import pytest

from icm.models import CallLeg, Extension, Switch
from supervision.models import AuditEntry
from tests.fixtures.esl_client import getvar
from tests.fixtures.waiting import wait_until
from tests.supervision.conftest import client_for, support_calls_reach_agent1


@pytest.fixture
def on_a_call(teams, platform):
    site, users = teams
    Switch.objects.filter(name=platform.switch).update(site=site)
    support_calls_reach_agent1(site, users, "8131")
    Extension.objects.create(site=site, number="1390", password="x")  # the team leader's desk
    esl = platform.control()
    esl.api("sim_register 1301 answer:0.2")
    esl.api("sim_register 1390 answer:0.2")
    assert (
        client_for(users["agent1"])
        .post(
            "/api/agents/ag1/state/", {"state": "login", "switch": platform.switch}, format="json"
        )
        .status_code
        == 200
    )
    assert esl.api("sim_call 5550101 8131 talk=600").startswith("+OK")
    agent_leg = wait_until(
        lambda: CallLeg.objects.filter(
            channel_name__contains="1301", answered_at__isnull=False
        ).first(),
        what="the agent on the call",
    )
    customer = agent_leg.call.call_uuid
    wait_until(
        lambda: customer in esl.api(getvar(agent_leg.uuid, "bridge_uuid")),
        what="agent and customer bridged",
    )
    yield esl, users, agent_leg.uuid, customer
    esl.api("hupall")
    esl.close()


def hears(esl, uuid: str) -> set[str]:
    return set(json.loads(esl.api(f"sim_audio {uuid}"))["hears"])


def supervisor_leg(esl, mode: str) -> str:
    def found():
        for leg in CallLeg.objects.filter(channel_name__contains="1390", hungup_at__isnull=True):
            if esl.api(getvar(leg.uuid, "ipbx_monitor_mode")).strip() == mode:
                return leg.uuid
        return None

    return wait_until(found, what=f"the supervisor's phone in {mode} mode")


def test_monitor_whisper_barge_and_release(on_a_call):
    esl, users, agent, customer = on_a_call
    lead = client_for(users["lead1"])
    r = lead.post("/api/supervision/agents/ag1/monitor/", {"extension": "1390"}, format="json")
    assert r.status_code == 200, r.content
    listen = supervisor_leg(esl, "listen")
    wait_until(lambda: hears(esl, listen) >= {agent, customer}, what="the supervisor to listen")
    assert listen not in hears(esl, agent) | hears(esl, customer)  # silent
    assert json.loads(esl.api(f"sim_audio {listen}"))["eavesdrop"]["target"] == agent
    esl.api(f"uuid_kill {listen}")

    assert (
        lead.post(
            "/api/supervision/agents/ag1/whisper/", {"extension": "1390"}, format="json"
        ).status_code
        == 200
    )
    whisper = supervisor_leg(esl, "whisper")
    wait_until(lambda: whisper in hears(esl, agent), what="the agent to hear the coach")
    assert whisper not in hears(esl, customer)
    esl.api(f"uuid_kill {whisper}")

    assert (
        lead.post(
            "/api/supervision/agents/ag1/barge/", {"extension": "1390"}, format="json"
        ).status_code
        == 200
    )
    barge = supervisor_leg(esl, "barge")
    wait_until(
        lambda: barge in hears(esl, agent) and barge in hears(esl, customer),
        what="a three-way call",
    )

    assert lead.post("/api/supervision/agents/ag1/force_release/").status_code == 200
    wait_until(
        lambda: esl.api(f"uuid_exists {customer}").strip() == "false", what="the call released"
    )
    wait_until(
        lambda: esl.api(f"uuid_exists {barge}").strip() == "false",
        what="the eavesdrop to end with the call",
    )
    done = list(
        AuditEntry.objects.filter(username="lead1").order_by("id").values_list("action", "outcome")
    )
    assert done == [("monitor", "ok"), ("whisper", "ok"), ("barge", "ok"), ("force_release", "ok")]


def test_monitoring_needs_a_phone_and_the_scope(on_a_call):
    esl, users, agent, customer = on_a_call
    r = client_for(users["lead1"]).post("/api/supervision/agents/ag1/monitor/")
    assert r.status_code == 403 and "extension" in r.json()["detail"]
    r = client_for(users["lead2"]).post(
        "/api/supervision/agents/ag1/barge/", {"extension": "1390"}, format="json"
    )
    assert r.status_code == 403 and "not in your work groups" in r.json()["detail"]
    assert not CallLeg.objects.filter(channel_name__contains="1390").exists()


def test_intercept_moves_the_call_to_the_qa_desk(on_a_call):
    """SV-9: the customer is transferred to the QA desk's phone; the agent's leg ends (it
    wraps up); audited with the desk's extension."""
    esl, users, agent, customer = on_a_call
    Extension.objects.create(
        site=Extension.objects.get(number="1390").site, number="1395", password="x"
    )
    esl.api("sim_register 1395 answer:0.2")
    lead = client_for(users["lead1"])
    r = lead.post("/api/supervision/agents/ag1/intercept/", {"extension": "1399"}, format="json")
    assert r.status_code == 403 and "QA desk" in r.json()["detail"]  # no such extension
    r = lead.post("/api/supervision/agents/ag1/intercept/", {"extension": "1395"}, format="json")
    assert r.status_code == 200, r.content
    wait_until(
        lambda: esl.api(f"uuid_exists {agent}").strip() == "false", what="the agent's leg to end"
    )
    desk = wait_until(
        lambda: CallLeg.objects.filter(
            channel_name__contains="1395", answered_at__isnull=False
        ).first(),
        what="the QA desk's phone to answer",
    )
    wait_until(lambda: hears(esl, customer) == {desk.uuid}, what="the customer with the QA desk")
    assert esl.api(f"uuid_exists {customer}").strip() == "true"
    entry = AuditEntry.objects.filter(action="intercept").order_by("id")
    assert list(entry.values_list("outcome", flat=True)) == ["refused", "ok"]
    assert entry.last().detail["extension"] == "1395"


def test_record_an_agent_now_and_for_minutes(on_a_call, tmp_path):
    """SV-5: the supervisor's order records the agent's current call at once and its calls
    for the next N minutes; audited; refused outside the scope."""
    from recording.models import Recording, RecordOrder

    esl, users, agent, customer = on_a_call
    r = client_for(users["lead2"]).post(
        "/api/supervision/agents/ag1/record/", {"minutes": 5}, format="json"
    )
    assert r.status_code == 403
    r = client_for(users["lead1"]).post(
        "/api/supervision/agents/ag1/record/", {"minutes": 5}, format="json"
    )
    assert r.status_code == 200, r.content
    assert r.json()["recording_now"] is True
    order = RecordOrder.objects.get()
    assert round((order.ends_at - order.starts_at).total_seconds()) == 300
    wait_until(
        lambda: esl.api(getvar(agent, "RECORD_STEREO")).strip() == "true",
        what="the switch told to record in stereo",
    )
    esl.api(f"uuid_kill {customer}")
    row = wait_until(lambda: Recording.objects.first(), what="the recording catalogued")
    assert row.policy == "order" and row.agent.login_id == "ag1"
    entry = AuditEntry.objects.get(action="record", outcome="ok")
    assert entry.detail["order"] == order.pk
    r = client_for(users["lead1"]).post(
        "/api/supervision/agents/ag1/record/", {"minutes": "soon"}, format="json"
    )
    assert r.status_code == 403 and "minutes" in r.json()["detail"]
