"""The conformance lane (issue 17): the call-center scenarios that matter, each asserting what
a user sees — CDR rows, the agent state log, the agent's live state, the recording
catalogue, the campaign attempt log — identically on switchsim, on switchsim modelling a
real switch's races, and on a real FreeSWITCH with sipp phones and callers (conftest.py)."""

from __future__ import annotations

import json
import time

import pytest
import redis
from django.conf import settings

from agents.models import AgentSessionState, AgentSkill, Skill
from icm.bus import keys
from icm.bus.client import get_redis
from icm.bus.commands import CommandError, send_command
from icm.models import Call, CallLeg, Extension, InboundRoute, Queue, QueueSkill, Switch
from ivr.actions import check_publish
from ivr.models import Flow, FlowVersion
from tests.conformance.switch import Backend
from tests.fixtures.waiting import wait_until
from tests.integration.test_acd_switchsim import transitions
from tests.integration.test_icm_restart_agents import live_state
from tests.supervision.conftest import client_for, support_calls_reach_agent1, teams  # noqa: F401

pytestmark = pytest.mark.conformance

MENU = {
    "start": "menu",
    "nodes": {
        "menu": {
            "type": "menu",
            "prompt": "Press 1 for support.",
            "exits": {"1": "account", "timeout": "support"},
        },
        "account": {
            "type": "collect",
            "prompt": "Your account number, then hash.",
            "variable": "account",
            "min_digits": 4,
            "max_digits": 10,
            "exits": {"next": "support"},
        },
        "support": {"type": "enter_queue", "queue": "support", "attach": ["account"]},
    },
}


@pytest.fixture
def center(teams, backend: Backend):  # noqa: F811
    """Two teams (tests/supervision): queue support (ag1, ext 1301) behind an IVR menu on
    8140 and directly on 8131; queue billing (ag2, ext 1302); lead1 leads team 1."""
    site, users = teams
    support_calls_reach_agent1(site, users, "8131")
    billing = Skill.objects.create(name="billing")
    QueueSkill.objects.create(
        queue=Queue.objects.get(name="billing"), skill=billing, minimum_level=1
    )
    AgentSkill.objects.create(agent=users["agent2"].agent, skill=billing, level=5)
    Queue.objects.update(wrap_up_seconds=1, strategy_parameters={"ring_timeout": 8})
    flow = Flow.objects.create(name="conformance")
    check_publish(FlowVersion.objects.create(flow=flow, number=1, graph=MENU))
    InboundRoute.objects.create(site=site, name="menu", dnis="8140", flow=flow)
    Extension.objects.create(site=site, number="1390", password="x")  # the team leader's desk
    return site, users


def start(backend: Backend, center, **icm_env: str) -> None:
    site, _ = center
    backend.start(**icm_env)
    Switch.objects.filter(name=backend.switch).update(site=site)


def agent_state(backend: Backend, users, agent: str, state: str, **extra: str) -> dict:
    user = users["agent1" if agent == "ag1" else "agent2"]
    body = {"state": state, "switch": backend.switch, **extra}
    response = client_for(user).post(f"/api/agents/{agent}/state/", body, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def agent_call(backend: Backend, agent: str, action: str, **args: str) -> dict:
    return send_command(
        get_redis(), backend.switch, "agent_call", {"agent": agent, "action": action, **args}
    )


def on_call(agent: str, after: int = 0) -> None:
    wait_until(
        lambda: ("reserved", "on_call", "") in transitions(agent)[after:],
        timeout=30,
        what=f"{agent} on the call",
    )


def live_call(backend: Backend, call_uuid: str) -> dict:
    raw = redis.Redis.from_url(settings.REDIS_URL).hget(keys.calls_key(backend.switch), call_uuid)
    return json.loads(raw) if raw else {}


def agent_leg(ext: str, ani: str) -> CallLeg:
    return wait_until(
        lambda: CallLeg.objects.filter(
            call__ani=ani, channel_name__contains=ext, answered_at__isnull=False
        ).first(),
        what=f"{ext}'s answered leg of the call from {ani}",
    )


def ended(ani: str) -> Call:
    return wait_until(
        lambda: Call.objects.filter(ani=ani, ended_at__isnull=False).first(),
        timeout=30,
        what=f"the call from {ani} to end",
    )


def test_inbound_call_ivr_queue_agent_wrap_up(backend, center):
    """A caller presses 1 in the IVR menu, keys an account number, waits in the queue; the
    agent's phone rings and answers, they talk, the caller hangs up: CDR, state log, live
    state."""
    start(backend, center)
    backend.register_phone("1301", "answer:0.3")
    agent_state(backend, center[1], "ag1", "login")
    customer = backend.call_in("5550401", "8140", dtmf="1,4711#")
    on_call("ag1")
    leg = agent_leg("1301", "5550401")
    assert live_state(backend.switch, "ag1") == "on_call"
    time.sleep(1)  # they talk
    assert live_state(backend.switch, "ag1") == "on_call", "still talking: no wrap-up yet"
    backend.hangup(customer)
    call = ended("5550401")
    assert call.call_uuid == customer
    assert call.queue.name == "support" and call.agent.login_id == "ag1"
    assert call.attached_data["ivr"] == {"flow": "conformance", "account": "4711"}  # the DTMF
    assert call.attached_data["routing"]["outcome"] == "answered"
    leg.refresh_from_db()  # read when it answered: its bridge may have been saved after
    assert call.bridged_at is not None and leg.bridged_at is not None
    wait_until(lambda: ("wrap_up", "ready", "") in transitions("ag1"), what="wrap-up over")
    states = [t[1] for t in transitions("ag1")]
    assert states == ["ready", "reserved", "on_call", "wrap_up", "ready"], states
    assert live_state(backend.switch, "ag1") == "ready"


def test_hold_and_resume(backend, center):
    """The agent holds the customer (the switch holds the agent's leg, the live call shows
    held) and resumes; hanging up from the desktop wraps up."""
    start(backend, center)
    events = backend.events("CHANNEL_HOLD CHANNEL_UNHOLD")
    backend.register_phone("1301", "answer:0.2")
    agent_state(backend, center[1], "ag1", "login")
    customer = backend.call_in("5550402", "8131")
    on_call("ag1")
    leg = agent_leg("1301", "5550402")
    wait_until(
        lambda: live_call(backend, customer).get("state") == "bridged", what="the live call bridged"
    )
    agent_call(backend, "ag1", "hold")
    wait_until(
        lambda: [
            e for e in events.executed_events("CHANNEL_HOLD") if e.get("Unique-ID") == leg.uuid
        ],
        what="the switch to hold",
    )
    wait_until(
        lambda: live_call(backend, customer).get("state") == "held", what="the live call held"
    )
    assert live_state(backend.switch, "ag1") == "on_call"
    agent_call(backend, "ag1", "unhold")
    wait_until(
        lambda: [
            e for e in events.executed_events("CHANNEL_UNHOLD") if e.get("Unique-ID") == leg.uuid
        ],
        what="the switch to resume",
    )
    wait_until(
        lambda: live_call(backend, customer).get("state") == "bridged",
        what="the live call bridged again",
    )
    agent_call(backend, "ag1", "hangup")
    call = ended("5550402")
    assert call.agent.login_id == "ag1"
    wait_until(lambda: ("on_call", "wrap_up", "") in transitions("ag1"), what="ag1 wrapping up")
    events.close()


def test_blind_transfer_to_a_queue(backend, center):
    """ag1 transfers the customer to the billing queue: ag1 wraps up at once, the ACD offers
    the customer to ag2 (billing), who talks to it."""
    start(backend, center)
    backend.register_phone("1301", "answer:0.2")
    backend.register_phone("1302", "answer:0.3")
    agent_state(backend, center[1], "ag1", "login")
    agent_state(backend, center[1], "ag2", "login")
    customer = backend.call_in("5550403", "8131")
    on_call("ag1")
    agent_call(backend, "ag1", "transfer", kind="queue", target="billing", note="Invoice 42")
    wait_until(lambda: ("on_call", "wrap_up", "") in transitions("ag1"), what="ag1 wrapping up")
    on_call("ag2")
    second = agent_leg("1302", "5550403")
    wait_until(
        lambda: esl_var(backend, customer, "bridge_uuid") == second.uuid,
        what="the customer bridged to ag2",
    )
    call = Call.objects.get(call_uuid=customer)
    assert call.queue.name == "billing" and call.ended_at is None
    assert live_state(backend.switch, "ag2") == "on_call"
    backend.hangup(customer)
    wait_until(lambda: ("on_call", "wrap_up", "") in transitions("ag2"), what="ag2 wrapping up")
    assert Call.objects.get(call_uuid=customer).agent.login_id == "ag2"


def test_blind_transfer_to_an_agent(backend, center):
    """ag1 blind-transfers the customer to ag2 by its ID (issue 20 item 10): ag1 wraps up at
    once, ag2 (reserved, its phone ringing) answers and talks to the customer, then wraps
    up as the queue's agent."""
    start(backend, center)
    backend.register_phone("1301", "answer:0.2")
    backend.register_phone("1302", "answer:0.5")
    agent_state(backend, center[1], "ag1", "login")
    customer = backend.call_in("5550405", "8131")
    on_call("ag1")
    agent_state(backend, center[1], "ag2", "login")
    agent_call(backend, "ag1", "transfer", kind="agent", target="ag2", note="invoice 42")
    wait_until(lambda: ("on_call", "wrap_up", "") in transitions("ag1"), what="ag1 wrapping up")
    on_call("ag2")
    second = agent_leg("1302", "5550405")
    wait_until(
        lambda: esl_var(backend, customer, "bridge_uuid") == second.uuid,
        what="the customer bridged to ag2",
    )
    assert live_state(backend.switch, "ag2") == "on_call"
    backend.hangup(customer)
    wait_until(lambda: ("on_call", "wrap_up", "") in transitions("ag2"), what="ag2 wrapping up")
    assert ended("5550405").call_uuid == customer


def esl_var(backend: Backend, uuid: str, name: str) -> str:
    return backend.api(f"uuid_getvar {uuid} {name}").strip()


def test_consultative_transfer(backend, center):
    """ag1 consults ag2 (not ready: consultations still ring) while the customer waits,
    then completes the transfer: the customer talks to ag2, ag1 wraps up."""
    start(backend, center)
    backend.register_phone("1301", "answer:0.2")
    backend.register_phone("1302", "answer:0.3")
    agent_state(backend, center[1], "ag1", "login")
    agent_state(backend, center[1], "ag2", "login_not_ready", reason="meeting")
    customer = backend.call_in("5550404", "8131")
    on_call("ag1")
    agent_call(backend, "ag1", "consult", kind="agent", target="ag2", note="invoice 42")
    wait_until(
        lambda: live_state(backend.switch, "ag2") == "on_call",
        timeout=20,
        what="ag2 answering the consultation",
    )
    assert live_state(backend.switch, "ag1") == "on_call"
    wait_until(lambda: _complete(backend), what="the consultation completed")
    wait_until(
        lambda: "1302" in esl_var(backend, customer, "bridge_channel"),
        what="the customer bridged to ag2",
    )
    wait_until(lambda: ("on_call", "wrap_up", "") in transitions("ag1"), what="ag1 wrapping up")
    assert live_state(backend.switch, "ag2") == "on_call"
    backend.hangup(customer)
    wait_until(lambda: live_state(backend.switch, "ag2") != "on_call", what="ag2's call over")
    assert ended("5550404").call_uuid == customer


def _complete(backend: Backend) -> bool:
    try:
        agent_call(backend, "ag1", "consult_complete")
        return True
    except CommandError:  # the consulted leg is not bridged yet
        return False


def test_recording_with_pause(backend, center, tmp_path):
    """Every call recorded (a policy); the agent pauses 1.5 s: the catalogue row has the
    pause, a stereo file of the spoken length, the agent and the queue."""
    import soundfile

    from recording.catalogue import process_new
    from recording.models import Recording, RecordingPolicy

    RecordingPolicy.objects.create(name="everything")
    start(backend, center, IPBX_RECORDINGS_DIR=str(backend.recordings_dir(tmp_path)))
    backend.register_phone("1301", "answer:0.2")
    agent_state(backend, center[1], "ag1", "login")
    backend.call_in("5550405", "8131")
    on_call("ag1")

    def pause() -> bool:
        try:
            return agent_call(backend, "ag1", "record_pause")["paused"]
        except CommandError:  # the recording has not started yet
            return False

    wait_until(pause, what="the recording running, then paused")
    time.sleep(1.5)
    agent_call(backend, "ag1", "record_resume")
    time.sleep(0.6)
    agent_call(backend, "ag1", "hangup")
    row = wait_until(
        lambda: Recording.objects.filter(ended_at__isnull=False).first(),
        what="the recording catalogued",
    )
    assert process_new() == 1
    row.refresh_from_db()
    assert row.status == Recording.Status.READY, row.error
    assert row.agent.login_id == "ag1" and row.queue.name == "support" and row.ani == "5550405"
    assert row.paused_seconds == pytest.approx(1.5, abs=0.3)
    spoken = (row.ended_at - row.started_at).total_seconds() - row.paused_seconds
    assert row.duration_seconds == pytest.approx(spoken, abs=0.3)
    assert soundfile.info(row.file).channels == 2


def test_silent_monitor(backend, center):
    """The team leader listens to ag1's call: the leader's phone rings, answers and
    eavesdrops on the agent's leg (a media bug on it); agent and customer stay together;
    audited. Ending it leaves the call as it was."""
    from supervision.models import AuditEntry

    start(backend, center)
    events = backend.events("MEDIA_BUG_START MEDIA_BUG_STOP")
    backend.register_phone("1301", "answer:0.2")
    backend.register_phone("1390", "answer:0.2")
    agent_state(backend, center[1], "ag1", "login")
    customer = backend.call_in("5550406", "8131")
    on_call("ag1")
    leg = agent_leg("1301", "5550406")
    lead = client_for(center[1]["lead1"])
    r = lead.post("/api/supervision/agents/ag1/monitor/", {"extension": "1390"}, format="json")
    assert r.status_code == 200, r.content
    supervisor = wait_until(
        lambda: CallLeg.objects.filter(
            channel_name__contains="1390", answered_at__isnull=False
        ).first(),
        what="the leader's phone answered",
    )

    def bugs(name: str) -> list[dict]:
        return [
            e
            for e in events.executed_events(name)
            if e.get("Unique-ID") == leg.uuid and e.get("Media-Bug-Function") == "eavesdrop"
        ]

    wait_until(lambda: bugs("MEDIA_BUG_START"), what="the eavesdrop on the agent's leg")
    assert esl_var(backend, supervisor.uuid, "ipbx_monitor_mode") == "listen"
    assert esl_var(backend, customer, "bridge_uuid") == leg.uuid  # still talking together
    assert AuditEntry.objects.filter(username="lead1", action="monitor", outcome="ok").exists()
    backend.hangup(supervisor.uuid)
    wait_until(lambda: bugs("MEDIA_BUG_STOP"), what="the eavesdrop to end")
    assert esl_var(backend, customer, "bridge_uuid") == leg.uuid
    assert live_state(backend.switch, "ag1") == "on_call"
    events.close()


def test_icm_kill_9_and_restart(backend, center):
    """icm dies mid-call: after its restart ag1 is still signed in and on its call, ag2
    still not ready; a second caller goes to ag2 once ready, never to ag1; the first call's
    hang-up wraps ag1 up."""
    start(backend, center)
    support = Skill.objects.get(name="support")
    AgentSkill.objects.create(agent=center[1]["agent2"].agent, skill=support, level=1)
    backend.register_phone("1301", "answer:0.2")
    backend.register_phone("1302", "answer:0.2")
    agent_state(backend, center[1], "ag1", "login")
    customer = backend.call_in("5550407", "8131")
    on_call("ag1")
    agent_state(backend, center[1], "ag2", "login_not_ready", reason="meeting")
    # icm saves sessions just after a change (as test_icm_restart_agents waits for too)
    wait_until(
        lambda: AgentSessionState.objects.filter(agent__login_id="ag2", state="not_ready").exists(),
        what="ag2's session saved",
    )
    backend.restart_icm()
    backend.icm.wait_log("agent ag1: back on its call", timeout=30)
    assert live_state(backend.switch, "ag1") == "on_call"
    assert live_state(backend.switch, "ag2") == "not_ready"
    assert agent_state(backend, center[1], "ag1", "login")["state"] == "on_call"
    agent_state(backend, center[1], "ag2", "ready")
    backend.call_in("5550408", "8131")
    second = wait_until(
        lambda: Call.objects.filter(ani="5550408", agent__isnull=False).first(),
        timeout=30,
        what="the second call to reach an agent",
    )
    assert second.agent.login_id == "ag2", "ag1 is on a call: it must not be offered another"
    backend.hangup(customer)
    wait_until(lambda: ("on_call", "wrap_up", "") in transitions("ag1"), what="ag1 wrapping up")
    assert ended("5550407").agent.login_id == "ag1"


def test_switch_restart(backend, center):
    """The switch dies mid-call and comes back: icm reconnects, the lost call is ended in
    the CDRs, ag1 (still signed in) wraps up and takes the next call."""
    start(backend, center)
    backend.register_phone("1301", "answer:0.2")
    agent_state(backend, center[1], "ag1", "login")
    backend.call_in("5550409", "8131")
    on_call("ag1")
    backend.restart_switch()
    call = ended("5550409")
    assert call.agent.login_id == "ag1"
    wait_until(
        lambda: live_state(backend.switch, "ag1") == "ready",
        timeout=30,
        what="ag1 ready again after the switch came back",
    )
    before = len(transitions("ag1"))
    customer = backend.call_in("5550410", "8131")
    on_call("ag1", after=before)
    backend.hangup(customer)
    assert ended("5550410").agent.login_id == "ag1"


def test_outbound_progressive_campaign(backend, center):
    """A progressive campaign dials a contact when ag1 is free; the person answers, talks
    to ag1 and hangs up: the attempt log says answered by ag1 with its talk time."""
    from outbound.models import Attempt, Campaign, Contact
    from tests.outbound.test_campaign_switchsim import ALL_DAY, run_until_done

    start(backend, center)
    backend.register_phone("1301", "answer:0.2")
    agent_state(backend, center[1], "ag1", "login")
    backend.far_end("5550411", ring=0.2, talk=1.5)
    campaign = Campaign.objects.create(
        name="conformance",
        display_name="Conformance",
        mode="progressive",
        state="running",
        switch=Switch.objects.get(name=backend.switch),
        queue=Queue.objects.get(name="support"),
        gateway="carrier",
        windows=ALL_DAY,
        max_attempts=1,
        calls_per_second=5,
        ring_seconds=10,
    )
    Contact.objects.create(campaign=campaign, number="5550411")
    run_until_done(campaign)
    (attempt,) = Attempt.objects.filter(campaign=campaign)
    assert (attempt.result, attempt.agent) == ("answered", "ag1")
    assert attempt.talk_seconds >= 1.0
    wait_until(lambda: ("on_call", "wrap_up", "") in transitions("ag1"), what="ag1 wrapping up")
    assert Campaign.objects.get(pk=campaign.pk).state == "finished"


SURVEY = {
    "start": "rate",
    "nodes": {
        "rate": {
            "type": "collect",
            "prompt": "Please rate our service from 1 to 5.",
            "variable": "rating",
            "min_digits": 1,
            "max_digits": 1,
            "exits": {"next": "bye"},
        },
        "bye": {"type": "hangup"},
    },
}


def test_survey_after_the_agent_hangs_up(backend, center):
    """Issue 20 item 4 (AG-7): the customer's flow says `after_call`; the agent hangs up, the
    switch keeps the customer (park_after_bridge), the survey asks, the customer keys 4: the
    CDR keeps the answer and the agent wraps up as usual."""
    site, _ = center
    for name, graph in (
        ("survey", SURVEY),
        (
            "rated",
            {
                "start": "q",
                "nodes": {"q": {"type": "enter_queue", "queue": "support", "after_call": "survey"}},
            },
        ),
    ):
        flow = Flow.objects.create(name=name)
        check_publish(FlowVersion.objects.create(flow=flow, number=1, graph=graph))
    InboundRoute.objects.create(site=site, name="rated", dnis="8141", flow=flow)
    start(backend, center)
    heard = backend.events("CHANNEL_EXECUTE")
    backend.register_phone("1301", "answer:0.2")
    agent_state(backend, center[1], "ag1", "login")
    customer = backend.call_in("5550410", "8141")
    on_call("ag1")
    backend.hangup(agent_leg("1301", "5550410").uuid)  # the agent puts the phone down
    wait_until(
        lambda: (
            "Please rate our service" in " ".join(heard.executed("play_and_get_digits", customer))
        ),
        timeout=30,
        what="the survey question to the customer",
    )
    assert backend.api(f"uuid_recv_dtmf {customer} 4").startswith("+OK")
    call = ended("5550410")
    assert call.attached_data["survey"] == {"flow": "survey", "answers": {"rating": "4"}}
    assert call.agent.login_id == "ag1"
    wait_until(lambda: ("on_call", "wrap_up", "") in transitions("ag1"), what="ag1 wrapping up")
    heard.close()


def test_max_wait_leads_to_the_queue_voicemail(backend, center):
    """Issue 20 item 1 (R-7): nobody serves the queue; at its maximum wait the caller is told
    to leave a message and it is recorded — never a silent hang-up."""
    Queue.objects.filter(name="support").update(max_wait_seconds=2)
    start(backend, center)
    heard = backend.events("CHANNEL_EXECUTE")
    customer = backend.call_in("5550411", "8131")
    wait_until(lambda: heard.executed("record", customer), timeout=30, what="the message")
    said = [d.split("|", 2)[-1] for d in heard.executed("speak", customer)]
    assert "All our agents are busy. Please leave a message after the tone." in said
    backend.hangup(customer)
    assert ended("5550411").attached_data["routing"]["outcome"] == "overflowed"
    heard.close()


def test_call_back_nobody_answers_is_retried_and_connected(backend, center):
    """Issue 20 item 3 (AG-17): a booked call-back whose customer does not answer is dialled
    again after its queue's spacing, and connected on the second dial; each dial logged."""
    from datetime import timedelta

    from django.utils import timezone

    from agents.callbacks import dispatch_due
    from agents.models import Agent, CallbackAttempt, CallbackRetryRule, ScheduledCallback
    from icm.models import Gateway

    start(backend, center)
    queue = Queue.objects.get(name="support")
    CallbackRetryRule.objects.create(queue=queue, max_attempts=3, spacing_minutes=1, ring_seconds=5)
    switch = Switch.objects.get(name=backend.switch)
    Gateway.objects.get_or_create(switch=switch, name="carrier", defaults={"proxy": "192.0.2.9"})
    backend.register_phone("1301", "answer:0.2")
    backend.far_end_outcomes("5550412", "no_answer,answered")
    agent_state(backend, center[1], "ag1", "login")
    now = timezone.now()
    callback = ScheduledCallback.objects.create(
        agent=Agent.objects.get(login_id="ag1"),
        queue=queue,
        number="5550412",
        due_at=now - timedelta(seconds=1),
        next_attempt_at=now - timedelta(seconds=1),
    )

    def dials() -> list[tuple[int, str]]:
        rows = CallbackAttempt.objects.filter(callback=callback).order_by("number")
        return list(rows.values_list("number", "outcome"))

    assert dispatch_due() == 1
    wait_until(lambda: dials() == [(1, "no_answer")], timeout=40, what="dial 1 unanswered")
    pending = wait_until(
        lambda: ScheduledCallback.objects.filter(
            pk=callback.pk, status=ScheduledCallback.Status.PENDING
        ).first(),
        what="the call-back pending again",
    )
    wait_until(lambda: live_state(backend.switch, "ag1") == "ready", what="ag1 free again")
    assert dispatch_due(pending.next_attempt_at + timedelta(seconds=1)) == 1
    wait_until(lambda: dials() == [(1, "no_answer"), (2, "answered")], timeout=40, what="dial 2")
    on_call("ag1")
    assert ScheduledCallback.objects.get(pk=callback.pk).status == ScheduledCallback.Status.DONE


def test_feature_codes_from_the_desk_phone(backend, center):
    """Issue 20 item 6: *21 signs ag1 in from its own phone, *24 makes it not ready, *22 signs
    it out; each is confirmed aloud before the switch hangs the phone up."""
    start(backend, center)
    backend.register_phone("1301", "answer:0.2")
    heard = backend.events("CHANNEL_EXECUTE")
    for code, state in (("*21", "ready"), ("*24", "not_ready"), ("*22", "logged_out")):
        phone = backend.dial_from_phone("1301", code)
        wait_until(lambda s=state: live_state(backend.switch, "ag1") == s, what=f"ag1 {state}")
        wait_until(lambda p=phone: heard.executed("speak", p), what=f"the {code} confirmation")
    said = " ".join(heard.executed("speak"))
    assert "signed in" in said and "not ready" in said and "signed out" in said
    wait_until(  # the state log is written after the live state
        lambda: [t[1] for t in transitions("ag1")] == ["ready", "not_ready", "logged_out"],
        what="the state log",
    )
    heard.close()
