"""An agent listens to or barges into a teammate's call with the permission an administrator
grants (AG-19), and a team leader's standing intercept of all of an agent's calls for a
while (SV-9), through icm and switchsim: the listening phone rings and eavesdrops on the
agent's leg (switchsim's audio paths show who hears whom). Refusals are 403 with why."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from agents.models import Agent, WorkGroup
from icm.models import CallLeg, Extension, Switch
from supervision.models import AuditEntry, StandingIntercept
from tests.fixtures.waiting import wait_until
from tests.supervision.conftest import client_for, support_calls_reach_agent1


def hears(esl, uuid: str) -> set[str]:
    return set(json.loads(esl.api(f"sim_audio {uuid}"))["hears"])


def eavesdroppers(esl, uuid: str) -> set[str]:
    return set(json.loads(esl.api(f"sim_audio {uuid}")).get("eavesdroppers") or ())


def live_legs(extension: str):
    return CallLeg.objects.filter(channel_name__contains=f"/{extension}", hungup_at__isnull=True)


def gone(esl, uuid: str) -> bool:
    return esl.api(f"uuid_exists {uuid}").strip() == "false"


@pytest.fixture
def centre(teams, platform):
    """Agent 1 (team 1) takes support calls; agent 3, its teammate, and the team leader have
    phones; agent 2 is in team 2."""
    site, users = teams
    Switch.objects.filter(name=platform.switch).update(site=site)
    support_calls_reach_agent1(site, users, "8131")
    ext = Extension.objects.create(site=site, number="1303", password="x")
    from django.contrib.auth.models import User

    users["agent3"] = User.objects.create_user("agent3", password="pw")
    mate = Agent.objects.create(login_id="ag3", name="Agent 3", extension=ext, user=users["agent3"])
    mate.work_groups.add(WorkGroup.objects.get(name="team 1"))
    Extension.objects.create(site=site, number="1390", password="x")  # the team leader's desk
    esl = platform.control()
    for number in ("1301", "1302", "1303", "1390"):
        esl.api(f"sim_register {number} answer:0.2")
    r = client_for(users["agent1"]).post(
        "/api/agents/ag1/state/", {"state": "login", "switch": platform.switch}, format="json"
    )
    assert r.status_code == 200, r.content
    yield esl, users
    esl.api("hupall")
    esl.close()


def customer_call(esl) -> tuple[str, str]:
    """A support caller reaches agent 1: (agent 1's leg, the customer's leg), bridged."""
    assert esl.api("sim_call 5550101 8131 talk=600").startswith("+OK")
    agent_leg = wait_until(
        lambda: live_legs("1301").filter(answered_at__isnull=False).first(),
        what="agent 1 on a call",
    )
    customer = agent_leg.call.call_uuid
    wait_until(lambda: customer in hears(esl, agent_leg.uuid), what="agent and customer bridged")
    return agent_leg.uuid, customer


def test_a_teammate_with_the_permission_listens_and_barges(centre):
    esl, users = centre
    agent, customer = customer_call(esl)
    mate = client_for(users["agent3"])
    r = mate.post("/api/agents/ag3/monitor/", {"target": "ag1", "mode": "listen"}, format="json")
    assert r.status_code == 403
    assert r.json()["detail"] == (
        "you may not listen to or barge into colleagues' calls: an administrator grants it"
    )
    Agent.objects.filter(login_id__in=("ag2", "ag3")).update(may_monitor_colleagues=True)
    r = client_for(users["agent2"]).post(
        "/api/agents/ag2/monitor/", {"target": "ag1", "mode": "barge"}, format="json"
    )
    assert r.status_code == 403
    assert r.json()["detail"] == "agent ag1 is not in your team (your work groups)"
    r = mate.post("/api/agents/ag3/monitor/", {"target": "ag1", "mode": "whisper"}, format="json")
    assert r.status_code == 400 and "listen, barge" in r.json()["detail"]
    r = mate.post("/api/agents/ag1/monitor/", {"target": "ag1"}, format="json")
    assert r.status_code == 403  # only from one's own desktop
    assert not live_legs("1303").exists() and not live_legs("1302").exists()

    r = mate.post("/api/agents/ag3/monitor/", {"target": "ag1", "mode": "listen"}, format="json")
    assert r.status_code == 200, r.content
    listener = r.json()["leg"]
    wait_until(lambda: hears(esl, listener) >= {agent, customer}, what="the teammate listening")
    assert listener not in hears(esl, agent) | hears(esl, customer)  # silent
    esl.api(f"uuid_kill {listener}")

    r = mate.post("/api/agents/ag3/monitor/", {"target": "ag1", "mode": "barge"}, format="json")
    assert r.status_code == 200, r.content
    barge = r.json()["leg"]
    wait_until(
        lambda: barge in hears(esl, agent) and barge in hears(esl, customer),
        what="a three-way call",
    )
    done = AuditEntry.objects.filter(target="ag1", role="agent").order_by("id")
    assert list(done.values_list("username", "action", "outcome")) == [
        ("agent3", "listen", "refused"),
        ("agent2", "barge", "refused"),
        ("agent3", "listen", "ok"),
        ("agent3", "barge", "ok"),
    ]

    esl.api(f"uuid_kill {customer}")
    wait_until(lambda: gone(esl, agent), what="the call over")
    r = mate.post("/api/agents/ag3/monitor/", {"target": "ag1"}, format="json")
    assert r.status_code == 409 and "not on a call" in r.json()["detail"]


def _listener_on(esl, agent_leg: str) -> str:
    def found():
        for leg in live_legs("1390").filter(answered_at__isnull=False):
            if leg.uuid in eavesdroppers(esl, agent_leg):
                return leg.uuid
        return None

    return wait_until(found, what="the team leader's phone listening to the agent's call")


def test_a_standing_intercept_listens_to_every_call_until_cancelled(centre):
    esl, users = centre
    lead = client_for(users["lead1"])
    until = (datetime.now(tz=UTC) + timedelta(minutes=10)).isoformat()
    body = {"agent": "ag1", "until": until, "extension": "1390"}
    r = lead.post("/api/supervision/intercepts/", body, format="json")
    assert r.status_code == 200, r.content
    ident = r.json()["id"]
    assert not live_legs("1390").exists()  # nothing to listen to yet

    for _ in range(2):  # every call it connects to
        agent, customer = customer_call(esl)
        listener = _listener_on(esl, agent)
        both = {agent, customer}
        wait_until(lambda ear=listener, both=both: hears(esl, ear) >= both, what="listening")
        assert listener not in hears(esl, customer)
        esl.api(f"uuid_kill {customer}")
        wait_until(lambda ear=listener: gone(esl, ear), what="the listening leg over with the call")
        wait_until(lambda: not live_legs("1301").exists(), what="agent 1 free")

    listed = lead.get("/api/supervision/intercepts/").json()["intercepts"]
    assert [i["id"] for i in listed] == [ident] and listed[0]["extension"] == "1390"
    assert client_for(users["lead2"]).get("/api/supervision/intercepts/").json() == {
        "intercepts": []
    }
    r = client_for(users["lead2"]).post(f"/api/supervision/intercepts/{ident}/cancel/")
    assert r.status_code == 403 and "not in your work groups" in r.json()["detail"]

    agent, customer = customer_call(esl)
    listener = _listener_on(esl, agent)
    r = lead.post(f"/api/supervision/intercepts/{ident}/cancel/")
    assert r.status_code == 200, r.content
    wait_until(lambda: gone(esl, listener), what="the listening leg hung up at the cancel")
    assert not gone(esl, customer)  # the call itself goes on
    esl.api(f"uuid_kill {customer}")
    wait_until(lambda: not live_legs("1301").exists(), what="agent 1 free")
    agent, customer = customer_call(esl)
    with pytest.raises(AssertionError):
        wait_until(lambda: live_legs("1390").exists(), timeout=2, what="no listener any more")


def test_a_standing_intercept_ends_at_its_time(centre):
    esl, users = centre
    agent, customer = customer_call(esl)  # on a call already: listened at once
    until = datetime.now(tz=UTC) + timedelta(seconds=4)
    r = client_for(users["lead1"]).post(
        "/api/supervision/intercepts/",
        {"agent": "ag1", "until": until.isoformat(), "extension": "1390"},
        format="json",
    )
    assert r.status_code == 200, r.content
    listener = _listener_on(esl, agent)
    wait_until(lambda: gone(esl, listener), timeout=10, what="the listening leg hung up at T")
    assert datetime.now(tz=UTC) >= until
    assert not gone(esl, customer)


def test_intercept_refusals(centre):
    esl, users = centre
    until = (datetime.now(tz=UTC) + timedelta(minutes=10)).isoformat()
    body = {"agent": "ag1", "until": until, "extension": "1390"}
    r = client_for(users["agent3"]).post("/api/supervision/intercepts/", body, format="json")
    assert r.status_code == 403 and "team leaders" in r.json()["detail"]
    r = client_for(users["lead2"]).post("/api/supervision/intercepts/", body, format="json")
    assert r.status_code == 403 and r.json()["detail"] == "agent ag1 is not in your work groups"
    lead = client_for(users["lead1"])
    for bad, why in (
        ({**body, "until": "tonight"}, "ISO 8601"),
        ({**body, "until": "2026-12-07T18:00:00"}, "time zone"),
        ({**body, "until": "2020-01-01T00:00:00+00:00"}, "next 7 days"),
    ):
        r = lead.post("/api/supervision/intercepts/", bad, format="json")
        assert r.status_code == 400 and why in r.json()["detail"]
    r = lead.post("/api/supervision/intercepts/", {**body, "extension": "1999"}, format="json")
    assert r.status_code == 403 and "extension" in r.json()["detail"]
    r = lead.post("/api/supervision/intercepts/", {**body, "agent": "nobody"}, format="json")
    assert r.status_code == 403  # not one of its agents (an unknown one either)
    assert not StandingIntercept.objects.exists()
    assert AuditEntry.objects.filter(action="standing_intercept", outcome="refused").count() == 4
