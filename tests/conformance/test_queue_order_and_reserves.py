"""Conformance (R-6): the queue's own top-down order is followed, and an agent made a reserve
in the admin (applied live) is offered a call only once more callers wait than the queue's
reserve threshold — on switchsim, switchsim modelling a real switch's races, and a real
FreeSWITCH."""

from __future__ import annotations

import pytest

from agents.models import AgentSkill, Skill
from icm.models import Queue, QueueAgent
from tests.conformance.switch import Backend
from tests.conformance.test_scenarios import agent_state, center, ended, on_call, start  # noqa: F401
from tests.fixtures.waiting import wait_until
from tests.integration.test_acd_switchsim import transitions
from tests.supervision.conftest import teams  # noqa: F401

pytestmark = pytest.mark.conformance


def test_top_down_order_then_a_reserve_only_when_the_queue_is_busy(backend: Backend, center):  # noqa: F811
    site, users = center
    support = Queue.objects.get(name="support")
    support.strategy, support.reserve_threshold = "top_down", 1
    support.save()
    ag1, ag2 = users["agent1"].agent, users["agent2"].agent
    AgentSkill.objects.create(agent=ag2, skill=Skill.objects.get(name="support"), level=5)
    QueueAgent.objects.create(queue=support, agent=ag2, position=1)  # ag2 before ag1
    placed = QueueAgent.objects.create(queue=support, agent=ag1, position=2)
    start(backend, center)
    backend.register_phone("1301", "answer:0.3")
    backend.register_phone("1302", "answer:0.3")
    agent_state(backend, users, "ag1", "login")
    agent_state(backend, users, "ag2", "login")
    backend.call_in("5550491", "8131", talk=1)
    first = ended("5550491")
    assert first.agent.login_id == "ag2"  # the queue's order, not the agents' IDs
    assert first.attached_data["routing"]["eligible"] == ["ag2", "ag1"]
    wait_until(lambda: ("wrap_up", "ready", "") in transitions("ag2"), what="ag2 ready again")

    placed.reserve = True  # the admin makes ag1 a reserve: icm applies it at once
    placed.save()
    backend.icm.wait_log("queue support now top_down (version 2)", timeout=15)
    backend.call_in("5550492", "8131", talk=30)
    on_call("ag2", after=len(transitions("ag2")))
    offers_before = len(transitions("ag1"))
    backend.call_in("5550493", "8131", talk=1, patience=60)  # 1 waiting: not above 1
    with pytest.raises(AssertionError):
        wait_until(lambda: len(transitions("ag1")) > offers_before, timeout=4)
    backend.call_in("5550494", "8131", talk=1, patience=60)  # 2 waiting: the reserve joins
    held_back = ended("5550493")
    assert held_back.agent.login_id == "ag1"  # the head of the queue went to the reserve
