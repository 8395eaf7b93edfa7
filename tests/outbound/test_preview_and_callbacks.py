"""Preview mode and call-backs through the pacer, icm and switchsim (issue 9 items 1, 2, 5):
- a preview contact is shown to a free agent (its list data in the screen pop) and nothing
  is dialed until the agent presses Call; then the agent's phone rings first, and the
  customer is dialed through the campaign's trunk and bridged;
- a skipped preview comes back after its delay without using up an attempt;
- the agent's wrap-up "call back at …" makes the contact's next attempt at that time, and
  it rings that agent first; when the agent is signed out it goes to the queue's agents.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest

from agents.actions import DesktopRefused, check_desktop_command
from agents.models import Agent, AgentSkill, ContactNote, Disposition, Skill
from icm.bus import keys
from icm.bus.client import get_redis
from icm.bus.commands import CommandError
from icm.models import Queue, QueueSkill, Switch
from outbound.dialer import tick
from outbound.models import Attempt, Campaign, Contact
from tests.fixtures.waiting import wait_until
from tests.supervision.conftest import (
    client_for,
    teams,  # noqa: F401
)

ALL_DAY = [{"days": [0, 1, 2, 3, 4, 5, 6], "start": "00:00", "end": "00:00"}]


@pytest.fixture
def preview(teams, platform_factory):  # noqa: F811
    site, users = teams
    skill = Skill.objects.create(name="sales")
    sales = Queue.objects.get(name="support")
    Queue.objects.filter(pk=sales.pk).update(wrap_up_seconds=30)
    QueueSkill.objects.create(queue=sales, skill=skill, minimum_level=1)
    for n in (1, 2):
        AgentSkill.objects.create(agent=users[f"agent{n}"].agent, skill=skill, level=5)
    platform = platform_factory()
    switch = Switch.objects.get(name=platform.switch)
    Switch.objects.filter(pk=switch.pk).update(site=site)
    esl = platform.control()
    esl.api("sim_register 1301 answer:0.3")
    esl.api("sim_register 1302 answer:0.3")
    c = Campaign.objects.create(
        name="winback",
        display_name="Win-back",
        mode="preview",
        state="running",
        switch=switch,
        queue=sales,
        gateway="carrier",
        windows=ALL_DAY,
        max_attempts=3,
        retry_delays={"busy": 60, "no_answer": 60, "skipped": 2},
        ring_seconds=10,
    )
    yield c, esl, users, platform.switch
    esl.api("hupall")
    esl.close()


def sign_in(users, n: int, switch: str) -> None:
    login = {"state": "login", "switch": switch}
    r = client_for(users[f"agent{n}"]).post(f"/api/agents/ag{n}/state/", login, format="json")
    assert r.status_code == 200, r.content


def live(switch: str, agent: str) -> dict:
    raw = get_redis().hget(keys.agents_key(switch), agent)
    return json.loads(raw) if raw else {}


def desktop(users, n: int) -> dict:
    r = client_for(users[f"agent{n}"]).get("/api/agent/desktop/")
    assert r.status_code == 200
    return r.json()


def until_done(c: Campaign, seconds: float = 40) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        tick(c.pk)
        if not Contact.objects.filter(campaign=c, status__in=("pending", "dialing")).exists():
            return
        time.sleep(0.3)
    raise AssertionError(list(Contact.objects.filter(campaign=c).values()))


def test_preview_shows_the_contact_then_the_agent_calls_it(preview):
    c, esl, users, switch = preview
    esl.api("sim_far_end 5550401 answered ring=0.3 talk=1.5")
    Contact.objects.create(
        campaign=c,
        number="5550401",
        name="Ada Lovelace",
        data={"plan": "gold", "renewal": "2027-01-31"},
    )
    sign_in(users, 1, switch)
    tick(c.pk)
    state = wait_until(
        lambda: (s := live(switch, "ag1")).get("state") == "reserved" and s,
        what="the preview shown to ag1",
    )
    assert state["offer"]["media"] == "preview" and state["offer"]["ani"] == "5550401"
    card = desktop(users, 1)["state"]["offer"]["campaign_card"]
    assert (card["name"], card["campaign"], card["attempt"], card["max_attempts"]) == (
        "Ada Lovelace",
        "Win-back",
        1,
        3,
    )
    assert card["fields"] == {"plan": "gold", "renewal": "2027-01-31"}
    # nothing rings while the agent reads
    time.sleep(1.0)
    tick(c.pk)
    attempt = Attempt.objects.get(campaign=c)
    assert attempt.started_at is None and attempt.agent == "ag1"
    assert "5550401" not in esl.api("show channels")
    # and nobody else is shown it, nor another one (one preview per agent)
    agent = Agent.objects.get(login_id="ag1")
    check_desktop_command(agent, switch, "preview_call", {})
    wait_until(
        lambda: Attempt.objects.get(pk=attempt.pk).ended_at,
        timeout=30,
        what="the previewed call to end",
    )
    attempt.refresh_from_db()
    assert (attempt.result, attempt.agent, attempt.gateway) == ("answered", "ag1", "carrier")
    assert attempt.talk_seconds >= 1.0 and attempt.ring_seconds >= 0.2
    # the agent handled it as the queue's call: wrap-up, then its disposition is logged
    wait_until(lambda: live(switch, "ag1").get("state") == "wrap_up", what="ag1 in wrap-up")
    Disposition.objects.get_or_create(code="sold", defaults={"label": "Sold"})
    check_desktop_command(agent, switch, "wrap_up", {"disposition": "sold"})
    assert ContactNote.objects.get(call_uuid=attempt.call_uuid).disposition.code == "sold"
    until_done(c)
    attempt.refresh_from_db()
    assert attempt.disposition == "sold"
    assert Contact.objects.get(campaign=c).status == "done"


def test_a_skipped_preview_comes_back_without_using_an_attempt(preview):
    c, esl, users, switch = preview
    Campaign.objects.filter(pk=c.pk).update(max_attempts=1)
    esl.api("sim_far_end 5550402 answered ring=0.3 talk=1")
    Contact.objects.create(campaign=c, number="5550402")
    sign_in(users, 1, switch)
    agent = Agent.objects.get(login_id="ag1")
    tick(c.pk)
    wait_until(lambda: live(switch, "ag1").get("state") == "reserved", what="the preview")
    check_desktop_command(agent, switch, "preview_skip", {})
    wait_until(lambda: live(switch, "ag1").get("state") == "ready", what="ag1 ready again")
    wait_until(
        lambda: Attempt.objects.filter(campaign=c, result="skipped").exists(),
        what="the skip in the attempt log",
    )
    tick(c.pk)  # settles the skip: back in 2 s (the campaign's skipped delay)
    contact = Contact.objects.get(campaign=c)
    assert contact.status == "pending" and contact.last_result == "skipped"
    # shown again once the delay is over, and this time called: the one attempt it has
    wait_until(
        lambda: tick(c.pk) and live(switch, "ag1").get("state") == "reserved",
        timeout=15,
        interval=0.3,
        what="the preview shown again",
    )
    check_desktop_command(agent, switch, "preview_call", {})
    wait_until(
        lambda: Attempt.objects.filter(campaign=c, result="answered").exists(),
        timeout=30,
        what="the second showing called",
    )
    log = list(
        Attempt.objects.filter(campaign=c)
        .order_by("attempt")
        .values_list("attempt", "result", "started_at")
    )
    assert [(n, r) for n, r, _ in log] == [(1, "skipped"), (2, "answered")]
    assert log[0][2] is None  # the skipped one never rang anything
    with pytest.raises(CommandError, match="no preview"):
        check_desktop_command(agent, switch, "preview_call", {})


def test_call_back_at_rings_the_booking_agent_first_else_the_queue(preview):
    c, esl, users, switch = preview
    Campaign.objects.filter(pk=c.pk).update(mode="progressive")
    esl.api("sim_far_end 5550403 answered ring=0.3 talk=1")
    Contact.objects.create(campaign=c, number="5550403", name="Grace")
    sign_in(users, 1, switch)
    agent1 = Agent.objects.get(login_id="ag1")
    deadline = time.monotonic() + 30
    while not Attempt.objects.filter(campaign=c, ended_at__isnull=False).exists():
        assert time.monotonic() < deadline, "the first call did not end"
        tick(c.pk)
        time.sleep(0.3)
    first = Attempt.objects.get(campaign=c)
    assert (first.result, first.agent) == ("answered", "ag1")
    wait_until(lambda: live(switch, "ag1").get("state") == "wrap_up", what="ag1 in wrap-up")
    tick(c.pk)  # settled: answered → done, before the agent's wrap-up comes
    assert Contact.objects.get(campaign=c).status == "done"
    # a time that has passed is refused, and the agent stays in wrap-up
    past = (datetime.now(tz=UTC) - timedelta(minutes=5)).isoformat()
    with pytest.raises(DesktopRefused, match="passed"):
        check_desktop_command(agent1, switch, "wrap_up", {"callback_at": past})
    assert live(switch, "ag1")["state"] == "wrap_up"
    at = datetime.now(tz=UTC) + timedelta(seconds=3)
    done = check_desktop_command(
        agent1, switch, "wrap_up", {"callback_at": at.isoformat(), "callback_to": "me"}
    )
    assert done["callback"]["agent"] == "ag1"
    contact = Contact.objects.get(campaign=c)
    assert (contact.status, contact.callback_agent) == ("pending", "ag1")
    assert abs((contact.next_attempt_at - at).total_seconds()) < 0.01
    # not before its time
    tick(c.pk)
    assert Attempt.objects.filter(campaign=c).count() == 1
    # at its time: ag1's phone rings first (its screen pop: the call-back, with the contact)
    seen = []
    deadline = time.monotonic() + 30
    while not Attempt.objects.filter(campaign=c, attempt=2, ended_at__isnull=False).exists():
        assert time.monotonic() < deadline, "the call-back did not happen"
        tick(c.pk)
        offer = live(switch, "ag1").get("offer")
        if offer:
            seen.append(offer)
        time.sleep(0.2)
    second = Attempt.objects.get(campaign=c, attempt=2)
    assert second.requested_at >= at
    assert (second.result, second.agent) == ("answered", "ag1")
    assert any(
        o["media"] == "callback" and o["ani"] == "5550403" and o["attached"]["name"] == "Grace"
        for o in seen
    )
    assert second.started_at > second.requested_at  # the customer was dialed once ag1 was on

    # a call-back for ag1 while ag1 is signed out goes to the queue: ag2 takes it
    wait_until(lambda: live(switch, "ag1").get("state") == "wrap_up", what="ag1 in wrap-up")
    at = datetime.now(tz=UTC) + timedelta(seconds=2)
    check_desktop_command(agent1, switch, "wrap_up", {"callback_at": at.isoformat()})
    until_settled = Contact.objects.get(campaign=c)
    assert until_settled.callback_agent == "ag1"
    r = client_for(users["agent1"]).post(
        "/api/agents/ag1/state/", {"state": "logout", "switch": switch}, format="json"
    )
    assert r.status_code == 200
    sign_in(users, 2, switch)
    until_done(c)
    third = Attempt.objects.get(campaign=c, attempt=3)
    assert (third.result, third.agent) == ("answered", "ag2")


def test_a_call_back_its_agent_does_not_take_goes_to_the_queue(preview):
    """The booked agent is signed in and ready, but its phone is busy: the queue's other
    agent gets the call-back (the attempt log says who)."""
    c, esl, users, switch = preview
    Campaign.objects.filter(pk=c.pk).update(mode="progressive")
    esl.api("sim_register 1301 busy")
    esl.api("sim_far_end 5550404 answered ring=0.3 talk=1")
    Contact.objects.create(
        campaign=c,
        number="5550404",
        callback_agent="ag1",
        attempts=1,
        next_attempt_at=datetime.now(tz=UTC),
    )
    sign_in(users, 1, switch)
    sign_in(users, 2, switch)
    until_done(c)
    (attempt,) = Attempt.objects.filter(campaign=c)
    assert (attempt.attempt, attempt.result, attempt.agent) == (2, "answered", "ag2")
    assert live(switch, "ag1")["state"] == "ready"  # back where it was


def test_an_attempt_an_earlier_icm_queued_but_never_placed_is_dialed_once(preview):
    """icm stopped with an attempt queued (its key claimed as "queued" by a call it no longer
    has): the pacer's re-send takes the key over and the number is dialed; a key marked
    "placed" is never dialed again."""
    c, esl, users, switch = preview
    Campaign.objects.filter(pk=c.pk).update(mode="agentless", queue=None, max_attempts=1)
    esl.api("sim_far_end 55504 answered ring=0.2 talk=0.3")
    queued = Contact.objects.create(campaign=c, number="5550405")
    placed = Contact.objects.create(campaign=c, number="5550406")
    redis = get_redis()
    redis.set(f"ipbx:attempt:c{c.pk}-{queued.pk}-1", f"queued:{switch}:gone-leg", ex=60)
    redis.set(f"ipbx:attempt:c{c.pk}-{placed.pk}-1", f"placed:{switch}:gone-leg", ex=60)
    deadline = time.monotonic() + 20
    while not Attempt.objects.filter(number="5550405", ended_at__isnull=False).exists():
        assert time.monotonic() < deadline, "the queued attempt was never dialed"
        tick(c.pk)
        time.sleep(0.3)
    assert Attempt.objects.get(number="5550405").result == "answered"
    time.sleep(1)
    tick(c.pk)
    never = Attempt.objects.get(number="5550406")
    assert never.started_at is None  # "placed" by the earlier icm: not dialed again
    assert "5550406" not in esl.api("show channels")


def test_pausing_withdraws_the_preview_shown_and_resuming_shows_it_again(preview):
    c, esl, users, switch = preview
    Contact.objects.create(campaign=c, number="5550407", name="Alan")
    sign_in(users, 1, switch)
    tick(c.pk)
    wait_until(lambda: live(switch, "ag1").get("state") == "reserved", what="the preview")
    admin = client_for(users["admin"])
    assert admin.post(f"/api/campaigns/{c.name}/pause/").status_code == 200
    wait_until(
        lambda: live(switch, "ag1").get("state") == "ready",
        what="ag1 free again once the campaign is paused",
    )
    attempt = Attempt.objects.get(campaign=c)
    assert attempt.started_at is None and attempt.ended_at is None  # nothing was dialed
    assert admin.post(f"/api/campaigns/{c.name}/resume/").status_code == 200
    # the same attempt (its key) is sent again and shown again
    state = wait_until(
        lambda: tick(c.pk) and (s := live(switch, "ag1")).get("state") == "reserved" and s,
        timeout=30,
        interval=0.5,
        what="the preview shown again",
    )
    assert state["offer"]["attached"]["attempt"] == attempt.key
    assert Attempt.objects.filter(campaign=c).count() == 1
