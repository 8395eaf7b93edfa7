"""Fixtures of the supervision tests: two teams, each with a team leader, an agent and a
queue, and an administrator."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User
from rest_framework.test import APIClient

from agents.models import Agent, NotReadyReason, WorkGroup
from icm.models import Extension, Queue, Site


@pytest.fixture
def teams(transactional_db):
    site = Site.objects.create(code="sv", name="Supervised", sip_domain="sv.local")
    support = Queue.objects.create(site=site, name="support", display_name="Support")
    billing = Queue.objects.create(site=site, name="billing", display_name="Billing")
    users = {}
    for n, queue in ((1, support), (2, billing)):
        ext = Extension.objects.create(site=site, number=f"130{n}", password="x")
        user = User.objects.create_user(f"agent{n}", password="pw")
        agent = Agent.objects.create(login_id=f"ag{n}", name=f"Agent {n}", extension=ext, user=user)
        agent.set_phone_bar_password(f"bar-{n}")
        agent.save()
        group = WorkGroup.objects.create(name=f"team {n}")
        group.queues.add(queue)
        agent.work_groups.add(group)
        lead = User.objects.create_user(f"lead{n}", password="pw")
        lead.groups.add(Group.objects.get_or_create(name="Team leaders")[0])
        group.leaders.add(lead)
        users[f"lead{n}"], users[f"agent{n}"] = lead, user
    users["admin"] = User.objects.create_superuser("boss", "b@example.com", "pw")
    NotReadyReason.objects.get_or_create(code="meeting", defaults={"label": "Meeting"})
    return site, users


def client_for(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def support_calls_reach_agent1(site, users, dnis: str) -> None:
    """Calls to `dnis` go to the queue "support", which agent 1 (skill support) serves."""
    from agents.models import AgentSkill, Skill
    from icm.models import InboundRoute, QueueSkill

    skill = Skill.objects.create(name="support")
    support = Queue.objects.get(name="support")
    QueueSkill.objects.create(queue=support, skill=skill, minimum_level=1)
    AgentSkill.objects.create(agent=users["agent1"].agent, skill=skill, level=5)
    InboundRoute.objects.create(site=site, name="support", dnis=dnis, queue=support)
