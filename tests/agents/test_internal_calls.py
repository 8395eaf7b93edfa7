"""Internal calls by agent ID (AG-8) through icm and switchsim, and the ringing internal call
on the colleague's desktop (AG-18): the caller's phone rings first, then the colleague's;
answered, the two phones are bridged; both agents are on an (internal) call and return to
where they were when it ends. Refusals: a colleague who is not signed in or busy, an unknown
agent, oneself, a malformed request, somebody else's agent."""

from __future__ import annotations

import json

import pytest

from agents.models import Agent
from icm import client as icm
from icm.bus import keys
from icm.bus.client import get_redis
from icm.models import CallLeg, Switch
from tests.fixtures.waiting import wait_until
from tests.supervision.conftest import client_for


def live(switch: str, agent: str) -> dict:
    raw = get_redis().hget(keys.agents_key(switch), agent)
    return json.loads(raw) if raw else {}


def phone_leg(extension: str, answered: bool | None = None):
    legs = CallLeg.objects.filter(channel_name__contains=f"/{extension}", hungup_at__isnull=True)
    if answered is not None:
        legs = legs.filter(answered_at__isnull=not answered)
    return legs.first()


@pytest.fixture
def signed_in(teams, platform):
    site, users = teams
    Switch.objects.filter(name=platform.switch).update(site=site)
    esl = platform.control()
    esl.api("sim_register 1301 answer:0.2")
    esl.api("sim_register 1302 noanswer")  # rings until accepted from the desktop
    for n in (1, 2):
        r = client_for(users[f"agent{n}"]).post(
            f"/api/agents/ag{n}/state/",
            {"state": "login", "switch": platform.switch},
            format="json",
        )
        assert r.status_code == 200, r.content
    yield platform.switch, esl, users
    esl.api("hupall")
    esl.close()


def test_an_agent_calls_a_colleague_by_agent_id(signed_in):
    switch, esl, users = signed_in
    r = client_for(users["agent1"]).post("/api/agents/ag1/call-agent/", {"target": "ag2"})
    assert r.status_code == 200, r.content

    # the caller's phone answers, then the colleague's rings: its desktop shows who calls
    ringing = wait_until(
        lambda: (
            (live(switch, "ag2").get("internal") or {}).get("state") == "ringing"
            and live(switch, "ag2")
        ),
        what="the colleague's phone ringing",
    )
    assert ringing["state"] == "reserved"
    assert ringing["internal"]["role"] == "callee" and ringing["internal"]["peer"] == "ag1"
    desk = client_for(users["agent2"]).get("/api/agent/desktop/").json()
    offer = desk["state"]["offer"]
    assert offer["arrived"] == "internal" and offer["transferred_by"] == "Agent 1"
    assert offer["ani"] == "1301"
    callee_leg = wait_until(lambda: phone_leg("1302"), what="the colleague's phone leg")
    assert live(switch, "ag1")["state"] == "on_call"  # the caller hears ring-back meanwhile

    icm.agent_call(switch, "ag2", "accept")  # the colleague accepts on the desktop
    caller_leg = wait_until(lambda: phone_leg("1301", answered=True), what="the caller's leg")
    wait_until(
        lambda: caller_leg.uuid in json.loads(esl.api(f"sim_audio {callee_leg.uuid}"))["hears"],
        what="the two phones bridged",
    )
    for agent, role, peer in (("ag1", "caller", "ag2"), ("ag2", "callee", "ag1")):
        view = wait_until(
            lambda a=agent: (
                (live(switch, a).get("internal") or {}).get("state") == "talking"
                and live(switch, a)
            ),
            what=f"{agent} on the call",
        )
        assert view["state"] == "on_call"
        assert view["internal"] == {**view["internal"], "role": role, "peer": peer}
        assert view["internal"]["state"] == "talking"
    ag1_desk = client_for(users["agent1"]).get("/api/agent/desktop/").json()
    assert any(c["call_uuid"] for c in ag1_desk["calls"])  # the call shows on both desktops

    icm.agent_call(switch, "ag2", "hangup")
    for agent in ("ag1", "ag2"):  # back to where they were (ready), no wrap-up
        wait_until(
            lambda a=agent: (
                live(switch, a).get("state") == "ready" and not live(switch, a)["internal"]
            ),
            what=f"{agent} ready again",
        )
    wait_until(lambda: not phone_leg("1301") and not phone_leg("1302"), what="both legs gone")


def test_a_colleague_who_does_not_answer_frees_both(signed_in):
    switch, esl, users = signed_in
    r = client_for(users["agent1"]).post("/api/agents/ag1/call-agent/", {"target": "ag2"})
    assert r.status_code == 200, r.content
    wait_until(lambda: phone_leg("1302"), what="the colleague's phone ringing")
    icm.send(switch, "agent_reject", {"agent": "ag2"})  # the colleague rejects it
    for agent in ("ag1", "ag2"):
        wait_until(
            lambda a=agent: live(switch, a).get("state") == "ready", what=f"{agent} ready again"
        )
    wait_until(lambda: not phone_leg("1301") and not phone_leg("1302"), what="both legs gone")


def test_refusals(signed_in):
    switch, esl, users = signed_in
    ag1 = client_for(users["agent1"])
    r = ag1.post("/api/agents/ag1/call-agent/", {}, format="json")
    assert r.status_code == 400 and "agent ID" in r.json()["detail"]
    r = ag1.post("/api/agents/ag1/call-agent/", {"target": "nobody"}, format="json")
    assert r.status_code == 404 and r.json()["detail"] == "there is no agent 'nobody'"
    r = ag1.post("/api/agents/ag1/call-agent/", {"target": "ag1"}, format="json")
    assert r.status_code == 403 and "yourself" in r.json()["detail"]
    r = client_for(users["agent2"]).post("/api/agents/ag1/call-agent/", {"target": "ag2"})
    assert r.status_code == 403  # somebody else's agent

    icm.agent_state(switch, "ag2", "logout", "")
    r = ag1.post("/api/agents/ag1/call-agent/", {"target": "ag2"}, format="json")
    assert r.status_code == 409 and r.json()["detail"] == "agent ag2 is not signed in"
    assert not phone_leg("1301")  # nothing rang

    icm.agent_state(switch, "ag2", "login", "")
    esl.api("sim_register 1302 answer:0.2")
    assert ag1.post("/api/agents/ag1/call-agent/", {"target": "ag2"}).status_code == 200
    wait_until(lambda: live(switch, "ag2").get("state") == "on_call", what="ag2 on the call")
    Agent.objects.create(login_id="ag3", name="Agent 3", extension=None)
    r = client_for(users["admin"]).post("/api/agents/ag3/call-agent/", {"target": "ag2"})
    assert r.status_code == 403 and "no phone" in r.json()["detail"]
    # the colleague is on a call now: busy, for anyone
    r = ag1.post("/api/agents/ag1/call-agent/", {"target": "ag2"}, format="json")
    assert r.status_code == 409 and r.json()["detail"] == "agent ag2 is busy (on a call)"


def test_the_caller_hanging_up_while_the_colleague_rings_frees_both(signed_in):
    """The other order of the reject above: the caller gives up first."""
    switch, esl, users = signed_in
    icm.agent_state(switch, "ag2", "not_ready", "meeting")
    r = client_for(users["agent1"]).post("/api/agents/ag1/call-agent/", {"target": "ag2"})
    assert r.status_code == 200, r.content
    callee = wait_until(lambda: phone_leg("1302"), what="the colleague's phone ringing")
    caller = wait_until(lambda: phone_leg("1301", answered=True), what="the caller's phone up")
    esl.api(f"uuid_kill {caller.uuid}")
    wait_until(lambda: esl.api(f"uuid_exists {callee.uuid}").strip() == "false", what="stopped")
    wait_until(lambda: live(switch, "ag1").get("state") == "ready", what="the caller ready")
    back = wait_until(
        lambda: live(switch, "ag2").get("state") == "not_ready" and live(switch, "ag2"),
        what="the colleague back to not ready",
    )
    assert back["reason"] == "meeting" and back["internal"] is None
