"""The ACD through switchsim: offer, answer + bridge, no answer, unregistered phones,
abandon, agent state log and the routing explanation on the CDR."""

import time

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from agents.models import Agent, AgentSkill, AgentStateChange, Skill
from icm.models import Call, CallLeg, Extension, InboundRoute, Queue, QueueSkill, Site, Switch
from tests.fixtures.waiting import wait_until


@pytest.fixture
def call_center(transactional_db):
    site = Site.objects.create(code="acd", name="ACD site", sip_domain="acd.local")
    skill = Skill.objects.create(name="support")
    queue = Queue.objects.create(
        site=site,
        name="helpdesk",
        display_name="Help desk",
        strategy="top_down",
        wrap_up_seconds=1,
        strategy_parameters={"ring_timeout": 3},
    )
    QueueSkill.objects.create(queue=queue, skill=skill, minimum_level=3)
    InboundRoute.objects.create(site=site, name="help", dnis="8123", queue=queue)
    for n in (1, 2, 3):
        ext = Extension.objects.create(site=site, number=f"110{n}", password="x")
        agent = Agent.objects.create(login_id=f"ag{n}", name=f"Agent {n}", extension=ext)
        AgentSkill.objects.create(agent=agent, skill=skill, level=5 if n < 3 else 2)
    client = APIClient()
    client.force_authenticate(User.objects.create_superuser("sup", "s@example.com", "pw"))
    return client


def set_state(client, platform, agent, state):
    response = client.post(
        f"/api/agents/{agent}/state/", {"state": state, "switch": platform.switch}, format="json"
    )
    assert response.status_code == 200, response.content
    return response.json()


def transitions(agent):
    return list(
        AgentStateChange.objects.filter(agent__login_id=agent)
        .order_by("at", "id")
        .values_list("from_state", "to_state", "reason")
    )


def ended(ani):
    return Call.objects.filter(ani=ani, ended_at__isnull=False).first()


def test_call_is_offered_answered_bridged_and_explained(call_center, platform_factory):
    platform = platform_factory()
    esl = platform.control()
    esl.api("sim_register 1101 answer:0.3")
    assert set_state(call_center, platform, "ag1", "login")["state"] == "ready"
    assert esl.api("sim_call 5550001 8123 talk=1.5").startswith("+OK")
    call = wait_until(lambda: ended("5550001"), timeout=30, what="the call to end")
    assert call.agent.login_id == "ag1"
    assert call.queue.name == "helpdesk"
    routing = call.attached_data["routing"]
    assert routing["strategy"] == "top_down"
    assert routing["outcome"] == "answered"
    assert [c["agent"] for c in routing["chosen"]] == ["ag1"]
    assert routing["required_levels"] == {"support": 3}
    assert "ag3" not in routing["eligible"]  # ag3 is signed out and only level 2
    legs = list(call.legs.order_by("created_at"))
    assert len(legs) == 2 and "1101" in legs[1].channel_name
    assert call.bridged_at is not None
    wait_until(lambda: ("wrap_up", "ready", "") in transitions("ag1"), what="wrap-up to end")
    states = [t[1] for t in transitions("ag1")]
    assert states[:5] == ["ready", "reserved", "on_call", "wrap_up", "ready"]
    esl.close()


def test_no_answer_and_unregistered_phones_reroute_the_call(call_center, platform_factory):
    platform = platform_factory()
    esl = platform.control()
    esl.api("sim_register 1101 noanswer")  # ag1 is first in top-down order but never answers
    esl.api("sim_register 1103 answer:0.2")
    set_state(call_center, platform, "ag1", "login")
    set_state(call_center, platform, "ag2", "login")  # 1102 is not registered at all
    esl.api("sim_register 1102 answer:0.2")
    assert esl.api("sim_call 5550002 8123 talk=1").startswith("+OK")
    call = wait_until(lambda: ended("5550002"), timeout=40, what="the call to end")
    assert call.agent.login_id == "ag2"
    assert ("reserved", "ready", "") in transitions("ag1")  # rang 3 s, then back to ready
    assert "ag1" in call.attached_data["routing"]["excluded"]  # it had missed this call
    esl.close()


def test_caller_who_gives_up_is_an_abandon(call_center, platform_factory):
    platform = platform_factory()
    esl = platform.control()
    assert esl.api("sim_call 5550003 8123 patience=4").startswith("+OK")
    call = wait_until(lambda: ended("5550003"), timeout=20, what="the caller to leave")
    assert call.agent is None
    assert call.attached_data["routing"]["outcome"] == "abandoned"
    esl.close()


def test_agent_commands_refuse_bad_requests(call_center, platform_factory):
    platform = platform_factory()
    body = {"state": "ready", "switch": platform.switch}
    response = call_center.post("/api/agents/nobody/state/", body, format="json")
    assert response.status_code == 409 and "unknown agent" in response.json()["detail"]
    response = call_center.post("/api/agents/ag1/state/", body, format="json")
    assert response.status_code == 409 and "signed out" in response.json()["detail"]
    response = call_center.post("/api/agents/ag1/state/", {"state": "dancing"}, format="json")
    assert response.status_code == 400


def test_reconciler_repairs_an_agent_stuck_by_lost_events(call_center, platform_factory):
    # FreeSWITCH's channel list lags hang-ups: with a long lag, the resyncs after the
    # reconnect still list the dead legs, and only the reconciler (uuid_exists) sees them gone
    platform = platform_factory(
        "--show-channels-lag", "60", ICM_RECONCILE_INTERVAL="1", ICM_RECONCILE_GRACE="1"
    )
    esl = platform.control()
    esl.api("sim_register 1101 answer:0.2")
    set_state(call_center, platform, "ag1", "login")
    assert esl.api("sim_call 5550004 8123 talk=600").startswith("+OK")
    wait_until(
        lambda: ("reserved", "on_call", "") in transitions("ag1"),
        timeout=20,
        what="the agent to be on the call",
    )
    # icm loses its connection and, meanwhile, the call ends: its hang-up events are lost
    assert esl.api("sim_drop_esl").startswith("+OK")
    esl.api("hupall NORMAL_CLEARING")
    platform.icm.wait_log("repaired agent ag1 stuck on_call", timeout=20)
    wait_until(
        lambda: ("wrap_up", "ready", "") in transitions("ag1"),
        timeout=20,
        what="the repaired agent to be ready again",
    )
    esl.close()


def test_agent_rejects_and_goes_not_ready_the_call_moves_on(call_center, platform_factory):
    platform = platform_factory()
    esl = platform.control()
    esl.api("sim_register 1101 noanswer")  # rings until someone acts
    esl.api("sim_register 1102 answer:0.2")
    set_state(call_center, platform, "ag1", "login")
    assert esl.api("sim_call 5550005 8123 talk=1").startswith("+OK")
    wait_until(
        lambda: ("ready", "reserved", "") in transitions("ag1"),
        timeout=20,
        what="ag1's phone to ring",
    )
    set_state(call_center, platform, "ag2", "login")  # ag2 is free, but ag1 holds the offer
    assert set_state(call_center, platform, "ag1", "reject_not_ready")["state"] == "not_ready"
    call = wait_until(lambda: ended("5550005"), timeout=30, what="the call to end")
    assert call.agent.login_id == "ag2"
    assert ("reserved", "not_ready", "rejected") in transitions("ag1")
    body = {"state": "reject", "switch": platform.switch}
    response = call_center.post("/api/agents/ag2/state/", body, format="json")
    assert response.status_code == 409 and "no call ringing" in response.json()["detail"]
    esl.close()


def test_waiting_callers_hear_their_position(call_center, platform_factory):
    Queue.objects.filter(name="helpdesk").update(
        strategy_parameters={"ring_timeout": 3, "announce_seconds": 1}
    )
    platform = platform_factory()
    esl = platform.control()
    assert esl.api("sim_call 5550006 8123 patience=6").startswith("+OK")
    assert esl.api("sim_call 5550007 8123 patience=6").startswith("+OK")
    platform.icm.wait_log("announced position 2", timeout=20)
    wait_until(lambda: ended("5550007"), timeout=20, what="the callers to give up")
    esl.close()


def test_strategy_changes_apply_live_and_bad_ones_are_refused(call_center, platform_factory):
    platform = platform_factory()
    queue = Queue.objects.get(name="helpdesk")
    queue.strategy = "round_robin"
    queue.save()  # the admin's save: icm is told after the commit
    platform.icm.wait_log("queue helpdesk now round_robin (version 2)", timeout=15)
    queue.strategy_parameters = {"ring_timeout": -5}
    queue.save()
    platform.icm.wait_log("ring_timeout must be > 0", timeout=15)
    esl = platform.control()
    esl.api("sim_register 1101 answer:0.2")
    set_state(call_center, platform, "ag1", "login")
    assert esl.api("sim_call 5550008 8123 talk=0.5").startswith("+OK")
    call = wait_until(lambda: ended("5550008"), timeout=30, what="the call to end")
    routing = call.attached_data["routing"]
    assert (routing["strategy"], routing["policy_version"]) == ("round_robin", 2)
    esl.close()


def test_call_back_keeps_the_place_reserves_the_agent_then_dials(call_center, platform_factory):
    from icm.models import Gateway

    platform = platform_factory()
    Gateway.objects.create(
        switch=Switch.objects.get(name=platform.switch), name="carrier", proxy="198.51.100.10"
    )
    esl = platform.control()
    uuid = esl.api("sim_call 5550009 8123 patience=600").split()[1]
    platform.icm.wait_log("handed to queue helpdesk")
    assert esl.api(f"sim_dtmf {uuid} 1").startswith("+OK")
    platform.icm.wait_log("call-back requested to 5550009")
    first = wait_until(lambda: ended("5550009"), timeout=20, what="the caller to hang up")
    assert "routing" not in first.attached_data  # not an abandon: the contact still waits
    esl.api("sim_register 1101 answer:0.2")
    set_state(call_center, platform, "ag1", "login")  # reserved first, then the customer is dialled
    platform.icm.wait_log("call-back ")
    dialled = wait_until(
        lambda: CallLeg.objects.filter(
            channel_name__contains="5550009", bridged_at__isnull=False
        ).first(),
        timeout=20,
        what="the customer to be dialled and bridged to the agent",
    )
    call = Call.objects.get(pk=dialled.call_id)
    assert call.attached_data["routing"]["media"] == "callback"
    assert call.attached_data["routing"]["outcome"] == "answered"
    assert ("reserved", "on_call", "") in transitions("ag1")
    esl.api("hupall NORMAL_CLEARING")
    esl.close()


def test_returning_caller_goes_to_its_last_agent_with_a_screen_pop(call_center, platform_factory):
    import json

    import redis
    from django.conf import settings

    from icm.bus import keys

    Queue.objects.filter(name="helpdesk").update(
        strategy="round_robin",
        strategy_parameters={
            "ring_timeout": 3,
            "last_agent_seconds": 10,
            "greetings": {"default": "ivr/queue.wav"},
        },
    )
    platform = platform_factory()
    bus = redis.Redis.from_url(settings.REDIS_URL)
    pubsub = bus.pubsub()
    pubsub.subscribe(keys.events_channel(bus))
    esl = platform.control()
    esl.api("sim_register 1101 answer:0.2")
    esl.api("sim_register 1102 answer:0.2")
    set_state(call_center, platform, "ag1", "login")
    assert esl.api("sim_call 5550010 8123 talk=0.5").startswith("+OK")
    first = wait_until(lambda: ended("5550010"), timeout=30, what="the first call")
    assert first.agent.login_id == "ag1"
    platform.icm.wait_log("greeting ivr/queue.wav")
    set_state(call_center, platform, "ag2", "login")  # round robin's turn: ag2 …
    assert esl.api("sim_call 5550010 8123 talk=0.5").startswith("+OK")
    second = wait_until(
        lambda: (
            Call.objects.filter(ani="5550010", ended_at__isnull=False).exclude(pk=first.pk).first()
        ),
        timeout=30,
        what="the second call",
    )
    assert second.agent.login_id == "ag1"  # … but the caller's last agent is free
    assert "last agent ag1" in second.attached_data["routing"]["rule"]
    pops = []
    while (message := pubsub.get_message(timeout=0.1)) is not None:
        if message["type"] == "message":
            event = json.loads(message["data"])
            if event["type"] == "contact.offered" and event["switch"] == platform.switch:
                pops.append(event["data"])
    assert [p["ani"] for p in pops] == ["5550010", "5550010"]
    assert pops[0]["queue"] == "helpdesk" and pops[0]["agents"] == ["ag1"]
    esl.close()


def test_not_ready_agent_takes_an_internal_call_and_stays_not_ready(call_center, platform_factory):
    platform = platform_factory()
    esl = platform.control()
    esl.api("sim_register 1101 answer:0.2")
    set_state(call_center, platform, "ag1", "login_not_ready")
    assert esl.api("sim_call 1199 1101 context=default talk=1").startswith("+OK")
    wait_until(
        lambda: ("not_ready", "on_call", "") in transitions("ag1"),
        timeout=20,
        what="the agent to be on the internal call",
    )
    wait_until(
        lambda: transitions("ag1")[-1][1] == "not_ready",
        timeout=20,
        what="the agent back to not ready after the call",
    )
    assert ("on_call", "wrap_up", "") not in transitions("ag1")  # no wrap-up for direct calls
    esl.close()


def test_a_skill_given_live_reaches_a_ready_agent_and_its_waiting_caller(
    call_center, platform_factory
):
    """The admin raises a ready agent's skill while a caller waits that nobody could take:
    icm is told (AgentSkill saved → reload_agent over the bus, read off the consumer) and
    offers the caller to that agent at once."""
    platform = platform_factory()
    esl = platform.control()
    esl.api("sim_register 1103 answer:0.2")
    set_state(call_center, platform, "ag3", "login")  # level 2: the queue needs 3
    assert esl.api("sim_call 5550077 8123 talk=1").startswith("+OK")
    wait_until(
        lambda: Call.objects.filter(ani="5550077", queue__name="helpdesk").exists(),
        what="the caller to wait in the queue",
    )
    time.sleep(2)
    assert "reserved" not in [t[1] for t in transitions("ag3")]
    skill = AgentSkill.objects.get(agent__login_id="ag3")
    skill.level = 5
    skill.save()
    call = wait_until(lambda: ended("5550077"), timeout=30, what="the call to be served")
    assert call.agent.login_id == "ag3"
    assert [t[1] for t in transitions("ag3")][:3] == ["ready", "reserved", "on_call"]
    esl.close()


def test_an_agent_without_the_desktop_works_from_its_desk_phone_with_feature_codes(
    call_center, platform_factory
):
    """*21 sign in, *24 not ready, *23 ready, *22 sign out, dialled from the agent's own
    extension (the dialplan hands *2N to icm), each confirmed aloud; a phone no agent has
    is told so and nothing changes."""
    platform = platform_factory()
    esl = platform.control()

    def dial(code: str, phone: str = "1101") -> None:
        assert esl.api(f"sim_call {phone} *2{code} context=default").startswith("+OK")

    def states() -> list[str]:
        return [t[1] for t in transitions("ag1")]

    dial("1")
    platform.icm.wait_log("feature code *21 from 1101: Agent ag1 signed in.")
    wait_until(lambda: states() == ["ready"], what="ag1 signed in and ready")
    dial("4")
    wait_until(lambda: states() == ["ready", "not_ready"], what="ag1 not ready")
    dial("3")
    wait_until(lambda: states() == ["ready", "not_ready", "ready"], what="ag1 ready again")
    dial("2")
    wait_until(lambda: states()[-1] == "logged_out", what="ag1 signed out")
    platform.icm.wait_log("Agent ag1 signed out.")
    dial("1", phone="1999")
    platform.icm.wait_log("feature code *21 from 1999: This phone belongs to no agent.")
    dial("9")
    platform.icm.wait_log("feature code *29 from 1101: Unknown feature code.")
    assert states()[-1] == "logged_out"
    esl.close()


def test_an_agent_who_hangs_up_during_the_feature_code_confirmation_is_still_signed_in(
    call_center, platform_factory
):
    """The agent dials *21 and puts the phone down while the confirmation is spoken: the sign-in
    stands, icm logs no error, and the next code from that phone works."""
    platform = platform_factory()
    esl = platform.control()
    reply = esl.api("sim_call 1101 *21 context=default")
    assert reply.startswith("+OK"), reply
    uuid = reply.split()[1]
    platform.icm.wait_log("feature code *21 from 1101: Agent ag1 signed in.")
    assert esl.api(f"uuid_kill {uuid}").startswith("+OK")  # mid-sentence
    wait_until(lambda: [t[1] for t in transitions("ag1")] == ["ready"], what="ag1 signed in")
    assert esl.api("sim_call 1101 *24 context=default").startswith("+OK")
    wait_until(
        lambda: [t[1] for t in transitions("ag1")] == ["ready", "not_ready"], what="not ready"
    )
    log = platform.icm.log()
    assert "Traceback" not in log and " ERROR " not in log, log[-3000:]
    esl.close()
