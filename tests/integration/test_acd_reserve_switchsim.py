"""Reserve agents and the top-down order set per queue (R-6), through switchsim: the queue's
order is followed, and a reserve agent is offered a call only once more callers wait than
the queue's reserve threshold."""

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from agents.models import Agent, AgentSkill, AgentStateChange, Skill
from icm.models import Call, Extension, InboundRoute, Queue, QueueAgent, QueueSkill, Site
from tests.fixtures.waiting import wait_until


@pytest.fixture
def sales(transactional_db):
    site = Site.objects.create(code="r6", name="R6 site", sip_domain="r6.local")
    skill = Skill.objects.create(name="sales")
    queue = Queue.objects.create(
        site=site,
        name="sales",
        display_name="Sales",
        strategy="top_down",
        wrap_up_seconds=1,
        strategy_parameters={"ring_timeout": 5, "announce_seconds": 0},
        reserve_threshold=1,
    )
    QueueSkill.objects.create(queue=queue, skill=skill, minimum_level=1)
    InboundRoute.objects.create(site=site, name="sales", dnis="8600", queue=queue)
    # the queue's order: second (1201), first (1202); the reserve (1203) has no position
    for login, number, position, reserve in (
        ("second", "1201", 2, False),
        ("first", "1202", 1, False),
        ("spare", "1203", None, True),
    ):
        ext = Extension.objects.create(site=site, number=number, password="x")
        agent = Agent.objects.create(login_id=login, name=login.title(), extension=ext)
        AgentSkill.objects.create(agent=agent, skill=skill, level=5)
        QueueAgent.objects.create(queue=queue, agent=agent, position=position, reserve=reserve)
    client = APIClient()
    client.force_authenticate(User.objects.create_superuser("sup6", "s@example.com", "pw"))
    return client


def _login(client, platform, agent):
    body = {"state": "login", "switch": platform.switch}
    response = client.post(f"/api/agents/{agent}/state/", body, format="json")
    assert response.status_code == 200, response.content


def _on_call(agent):
    return AgentStateChange.objects.filter(
        agent__login_id=agent, from_state="reserved", to_state="on_call"
    ).count()


def _call(ani):
    return Call.objects.filter(ani=ani, ended_at__isnull=False).first()


def test_top_down_order_then_the_reserve_only_when_the_queue_is_busy(sales, platform_factory):
    platform = platform_factory()
    esl = platform.control()
    for number in ("1201", "1202", "1203"):
        esl.api(f"sim_register {number} answer:0.2")
    for agent in ("second", "first", "spare"):
        _login(sales, platform, agent)
    assert esl.api("sim_call 5556001 8600 talk=8").startswith("+OK")
    wait_until(lambda: _on_call("first") == 1, timeout=20, what="the first in order to answer")
    assert esl.api("sim_call 5556002 8600 talk=8").startswith("+OK")
    wait_until(lambda: _on_call("second") == 1, timeout=20, what="the second in order to answer")
    # one caller waits: not more than the threshold (1), so the ready reserve is not offered
    assert esl.api("sim_call 5556003 8600 talk=1 patience=60").startswith("+OK")
    with pytest.raises(AssertionError):
        wait_until(lambda: _on_call("spare") > 0, timeout=3, what="the reserve kept back")
    # a second caller: 2 waiting > 1, the reserve takes the head of the queue
    assert esl.api("sim_call 5556004 8600 talk=1 patience=60").startswith("+OK")
    third = wait_until(lambda: _call("5556003"), timeout=30, what="the third call to end")
    assert third.agent.login_id == "spare"
    first = wait_until(lambda: _call("5556001"), timeout=30, what="the first call to end")
    routing = first.attached_data["routing"]
    assert [c["agent"] for c in routing["chosen"]] == ["first"]
    assert routing["eligible"] == ["first", "second"]
    assert routing["excluded"]["spare"].startswith("reserve agent, queue not busy")
    assert wait_until(lambda: _call("5556002"), timeout=30, what="call 2").agent.login_id == (
        "second"
    )
    esl.close()
