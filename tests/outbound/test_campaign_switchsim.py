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
    platform = platform_factory()
    switch = Switch.objects.get(name=platform.switch)
    Switch.objects.filter(pk=switch.pk).update(site=site)
    esl = platform.control()
    esl.api("sim_register 1301 answer:0.2")
    login = {"state": "login", "switch": platform.switch}
    assert client_for(users["agent1"]).post("/api/agents/ag1/state/", login,
                                            format="json").status_code == 200  # fmt: skip
    c = Campaign.objects.create(
        name="renewals", display_name="Renewals", mode="progressive", state="running",
        switch=switch, queue=sales, gateway="carrier", windows=ALL_DAY, max_attempts=3,
        retry_delays={"busy": 2, "no_answer": 60, "invalid": None}, calls_per_second=5,
        ring_seconds=10)  # fmt: skip
    yield c, esl, users
    esl.api("hupall")
    esl.close()


def run_until_done(campaign: Campaign, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        tick(campaign.pk)
        if not Contact.objects.filter(campaign=campaign,
                                      status__in=("pending", "dialing")).exists():  # fmt: skip
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
    log = {n: list(Attempt.objects.filter(campaign=c, number=n).order_by("attempt"))
           for n in ("5550301", "5550302", "5550303", "5550304")}  # fmt: skip
    assert [(a.attempt, a.result, a.agent) for a in log["5550301"]] == [(1, "answered", "ag1")]
    assert [(a.attempt, a.result) for a in log["5550302"]] == [(1, "busy"), (2, "answered")]
    busy, second = log["5550302"]
    assert busy.hangup_cause == "USER_BUSY"
    assert second.requested_at - busy.ended_at >= timedelta(seconds=2)  # the busy delay
    assert second.agent == "ag1" and second.talk_seconds >= 1.0
    assert [(a.attempt, a.result, a.hangup_cause) for a in log["5550303"]] == [
        (1, "invalid", "UNALLOCATED_NUMBER")]  # fmt: skip
    assert log["5550304"] == []  # do-not-call: never dialed
    statuses = dict(Contact.objects.filter(campaign=c).values_list("number", "status"))
    assert statuses == {"5550301": "done", "5550302": "done", "5550303": "done",
                        "5550304": "dnc"}  # fmt: skip
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
    window = [{"days": [later.weekday()], "start": f"{later:%H}:00",
               "end": f"{(later + timedelta(hours=1)):%H}:00"}]  # fmt: skip
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

    wait_until(lambda: ContactFact.objects.filter(campaign="renewals").exists(),
               what="the campaign call's contact fact")  # fmt: skip
    aggregate()
    row = ContactInterval.objects.get(period="day", dimension="campaign", key="renewals")
    assert (row.offered, row.answered) == (1, 1)
    report = client_for(users["admin"]).get("/api/stats/reports/campaigns/").json()
    (renewals,) = report["rows"]
    assert (renewals["attempts"], renewals["answered"], renewals["busy"],
            renewals["abandoned_pct"]) == (2, 1, 1, 0.0)  # fmt: skip
    assert renewals["connect_pct"] == 50.0
