"""A progressive campaign through the pacer, icm and switchsim (issue 9): scripted far ends
— a person, a busy line then a person, an invalid number, a do-not-call number, one outside
its calling window — give exactly the attempt log the retry rules say: attempts, results,
the retry delay, the agent who took each answered call, nothing dialed twice."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from agents.models import AgentSkill, Skill
from icm.models import Queue, QueueSkill, Switch
from outbound.dialer import tick
from outbound.models import Attempt, Campaign, Contact, DoNotCall
from tests.supervision.conftest import (
    client_for,
    teams,  # noqa: F401
)

ALL_DAY = [{"days": [0, 1, 2, 3, 4, 5, 6], "start": "00:00", "end": "00:00"}]


@pytest.fixture
def campaign(teams, platform_factory):  # noqa: F811
    site, users = teams
    skill = Skill.objects.create(name="sales")
    sales = Queue.objects.get(name="support")
    Queue.objects.filter(pk=sales.pk).update(wrap_up_seconds=1)
    QueueSkill.objects.create(queue=sales, skill=skill, minimum_level=1)
    AgentSkill.objects.create(agent=users["agent1"].agent, skill=skill, level=5)
    # the third-party mod_amd on the switch (a stock build lacks it): the AMD tests below run
    # its `amd`; FreeSWITCH's own mod_avmd is tested in test_amd_detection.py
    platform = platform_factory("--with-module", "mod_amd")
    switch = Switch.objects.get(name=platform.switch)
    Switch.objects.filter(pk=switch.pk).update(site=site)
    esl = platform.control()
    esl.api("sim_register 1301 answer:0.2")
    login = {"state": "login", "switch": platform.switch}
    assert (
        client_for(users["agent1"]).post("/api/agents/ag1/state/", login, format="json").status_code
        == 200
    )
    c = Campaign.objects.create(
        name="renewals",
        display_name="Renewals",
        mode="progressive",
        state="running",
        switch=switch,
        queue=sales,
        gateway="carrier",
        windows=ALL_DAY,
        max_attempts=3,
        retry_delays={"busy": 2, "no_answer": 60, "invalid": None},
        calls_per_second=5,
        ring_seconds=10,
    )
    yield c, esl, users
    esl.api("hupall")
    esl.close()


def run_until_done(campaign: Campaign, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        tick(campaign.pk)
        if not Contact.objects.filter(
            campaign=campaign, status__in=("pending", "dialing")
        ).exists():
            return
        time.sleep(0.3)
    raise AssertionError(
        "the campaign did not finish: "
        + repr(
            list(Contact.objects.filter(campaign=campaign).values("number", "status", "attempts"))
        )
    )


def test_retry_rules_dnc_and_windows_through_switchsim(campaign):
    c, esl, users = campaign
    esl.api("sim_far_end 5550301 answered ring=0.2 talk=1.5")
    esl.api("sim_far_end 5550302 busy,answered ring=0.2 talk=1.5")
    esl.api("sim_far_end 5550303 invalid")
    DoNotCall.objects.create(number="5550304")
    for number in ("5550301", "5550302", "5550303", "5550304"):
        Contact.objects.create(campaign=c, number=number)
    run_until_done(c)
    log = {
        n: list(Attempt.objects.filter(campaign=c, number=n).order_by("attempt"))
        for n in ("5550301", "5550302", "5550303", "5550304")
    }
    assert [(a.attempt, a.result, a.agent) for a in log["5550301"]] == [(1, "answered", "ag1")]
    assert [(a.attempt, a.result) for a in log["5550302"]] == [(1, "busy"), (2, "answered")]
    busy, second = log["5550302"]
    assert busy.hangup_cause == "USER_BUSY"
    assert second.requested_at - busy.ended_at >= timedelta(seconds=2)  # the busy delay
    assert second.agent == "ag1" and second.talk_seconds >= 1.0
    assert [(a.attempt, a.result, a.hangup_cause) for a in log["5550303"]] == [
        (1, "invalid", "UNALLOCATED_NUMBER")
    ]
    assert log["5550304"] == []  # do-not-call: never dialed
    statuses = dict(Contact.objects.filter(campaign=c).values_list("number", "status"))
    assert statuses == {"5550301": "done", "5550302": "done", "5550303": "done", "5550304": "dnc"}
    assert Campaign.objects.get(pk=c.pk).state == "finished"
    # every attempt went out once: one trunk leg on the switch per attempt placed
    placed = Attempt.objects.filter(campaign=c, started_at__isnull=False).count()
    assert placed == 4
    # two attempts of one number never overlap
    first_end = busy.ended_at
    assert second.started_at > first_end


def test_a_contact_outside_its_window_waits_for_the_opening(campaign):
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    c, esl, users = campaign
    now = datetime.now(tz=UTC)
    later = (now + timedelta(hours=2)).astimezone(ZoneInfo("UTC"))
    window = [
        {
            "days": [later.weekday()],
            "start": f"{later:%H}:00",
            "end": f"{(later + timedelta(hours=1)):%H}:00",
        }
    ]
    Campaign.objects.filter(pk=c.pk).update(windows=window)
    contact = Contact.objects.create(campaign=c, number="5550310")
    tick(c.pk)
    contact.refresh_from_db()
    assert contact.status == "pending" and contact.attempts == 0
    assert contact.next_attempt_at.astimezone(UTC).hour == later.hour
    assert not Attempt.objects.filter(campaign=c).exists()


def test_the_campaign_report_and_interval_rows(campaign):
    """The campaigns report counts the attempt log by result; the answered campaign call is
    a contact of the campaign in the interval tables."""
    from stats.aggregate import aggregate
    from stats.models import ContactFact, ContactInterval

    c, esl, users = campaign
    esl.api("sim_far_end 5550321 answered ring=0.2 talk=1")
    esl.api("sim_far_end 5550322 busy")
    Campaign.objects.filter(pk=c.pk).update(max_attempts=1)
    for number in ("5550321", "5550322"):
        Contact.objects.create(campaign=c, number=number)
    run_until_done(c)
    from tests.fixtures.waiting import wait_until

    wait_until(
        lambda: ContactFact.objects.filter(campaign="renewals").exists(),
        what="the campaign call's contact fact",
    )
    aggregate()
    row = ContactInterval.objects.get(period="day", dimension="campaign", key="renewals")
    assert (row.offered, row.answered) == (1, 1)
    report = client_for(users["admin"]).get("/api/stats/reports/campaigns/").json()
    (renewals,) = report["rows"]
    assert (
        renewals["attempts"],
        renewals["answered"],
        renewals["busy"],
        renewals["abandoned_pct"],
    ) == (2, 1, 1, 0.0)
    assert renewals["connect_pct"] == 50.0


def test_machines_and_an_abandoned_call(campaign):
    """AMD: a machine gets the campaign's message (leave a message) and is retried per the
    machine delay; a person answered when no agent is free within 2 s is abandoned — the
    message played, withdrawn from the queue — and counted so."""
    c, esl, users = campaign
    Campaign.objects.filter(pk=c.pk).update(
        amd=True, machine_action="message", message="silence_stream://300", max_attempts=1
    )
    esl.api("sim_far_end 5550331 machine ring=0.2 talk=20")
    Contact.objects.create(campaign=c, number="5550331")
    run_until_done(c)
    (machine,) = Attempt.objects.filter(campaign=c, number="5550331")
    assert machine.result == "machine" and machine.answered_at is not None
    assert machine.talk_seconds < 5  # the message, then the switch hung up (not the 20 s)
    # a person answers while the only agent has gone not ready: abandoned after the grace
    Campaign.objects.filter(pk=c.pk).update(amd=False, state="running")
    esl.api("sim_far_end 5550332 answered ring=1.5 talk=20")
    Contact.objects.create(campaign=c, number="5550332")
    tick(c.pk)  # the agent is free: the call is placed
    assert Attempt.objects.filter(campaign=c, number="5550332").exists()
    not_ready = {
        "state": "not_ready",
        "reason": "meeting",
        "switch": Campaign.objects.get(pk=c.pk).switch.name,
    }
    assert (
        client_for(users["agent1"])
        .post("/api/agents/ag1/state/", not_ready, format="json")
        .status_code
        == 200
    )
    run_until_done(c)
    (gone,) = Attempt.objects.filter(campaign=c, number="5550332")
    assert gone.result == "abandoned" and gone.agent == ""
    assert 1.5 <= gone.talk_seconds < 6  # the 2 s grace and the message, not the 20 s


def test_an_agentless_survey_flow(campaign):
    """BIZ-5: an agentless campaign runs an IVR flow on each answered call (a one-question
    survey); the answer pressed on the phone is in the attempt log."""
    from ivr.actions import check_publish
    from ivr.models import Flow, FlowVersion

    c, esl, users = campaign
    graph = {
        "start": "ask",
        "nodes": {
            "ask": {
                "type": "collect",
                "variable": "rating",
                "min_digits": 1,
                "max_digits": 1,
                "prompt": "How happy are you with us, from 1 to 5?",
                "timeout": 8,
                "exits": {"next": "thanks", "timeout": "thanks", "invalid": "thanks"},
            },
            "thanks": {"type": "play", "text": "Thank you.", "exits": {"next": "bye"}},
            "bye": {"type": "hangup"},
        },
    }
    flow = Flow.objects.create(name="survey")
    check_publish(FlowVersion.objects.create(flow=flow, number=1, graph=graph))
    Campaign.objects.filter(pk=c.pk).update(mode="agentless", flow=flow, max_attempts=1)
    esl.api("sim_far_end 5550341 answered ring=0.2 talk=30")
    Contact.objects.create(campaign=c, number="5550341")
    deadline = time.monotonic() + 30
    pressed = False
    while time.monotonic() < deadline:
        tick(c.pk)
        attempt = Attempt.objects.filter(campaign=c).first()
        if attempt and attempt.answered_at and not pressed:
            time.sleep(1.5)  # the question starts
            assert esl.api(f"sim_dtmf {attempt.call_uuid} 4").startswith("+OK")
            pressed = True
        if attempt and attempt.ended_at and attempt.answers:
            break
        time.sleep(0.3)
    attempt = Attempt.objects.get(campaign=c)
    assert attempt.result == "answered" and attempt.answers.get("rating") == "4"
